/*
 * features_simd.h - the featuriser's vector code with AVX-512 (runtime-private): block scans, token
 * boundaries, the token pass (16 tokens per vector), the hashed block's counts or sort, the dense
 * picks and standardisation, each the same bits as the portable code in features.c.
 *
 * The token pass: features.c finds the token boundaries and counts the hashed n-grams; for a batch of tokens
 * it needs each token's keyword flags and, with hashing, its unigram and bigram FNV-1a hashes. The portable
 * code does that a token at a time (token_key, hash_classes in features.c); this does it for 16 tokens per
 * vector, with the same arithmetic on every lane, so the results are the same bits
 * (tests/policy/test_features_ref checks both paths against the previous featuriser). It is used only
 * when the processor and the operating system support AVX-512F (allot_features_avx512_usable), and
 * compiled only for x86-64 with GCC or clang.
 */
#ifndef ALLOT_FEATURES_SIMD_H
#define ALLOT_FEATURES_SIMD_H

#include <stddef.h>
#include <stdint.h>

#define ALLOT_KW_SLOTS_LOG2 10u
#define ALLOT_KW_WORD_MAX 12u /* bytes of the longest keyword word */
#define ALLOT_KW_MAX_PAIRS 8u /* two-word keywords */

/* A slot of the keyword table: a keyword word and what it does, or nothing (meta 0). */
typedef struct {
    uint32_t w[3]; /* the lower-cased word, zero-padded, as three host-order 32-bit words */
    uint32_t meta; /* its length | flag << 8 | prefix << 16 | second << 24 */
} allot_kw_slot;

/* The keyword table, read-only (see features.c). A token whose key k (four words) and length len
 * hash to slot s = ((k[0] + len) * mul[0] + k[1] * mul[1] + k[2] * mul[2]) >> (32 - LOG2) is that
 * slot's word when the three words and the length agree (then k[3] is 0, as the word's length is at
 * most ALLOT_KW_WORD_MAX); otherwise its meta is none_meta. Its
 * flags are 1 << flag, and 1 << the flag of the pair (previous token's prefix, its second): the
 * pair_flag of the pair_code prefix * 8 + second, or none_meta's flag. */
typedef struct {
    uint32_t mul[3];
    uint32_t none_meta;
    const allot_kw_slot *slot; /* 1 << ALLOT_KW_SLOTS_LOG2 slots */
    size_t n_pairs;
    uint32_t pair_code[ALLOT_KW_MAX_PAIRS], pair_flag[ALLOT_KW_MAX_PAIRS];
} allot_kw_view;

/* One batch of tokens of a prompt p[0..n), n < 2^31 - 64. tail holds p's last 16 bytes (all of a
 * shorter prompt) from position tail_at, then at least 16 zero bytes. */
typedef struct {
    const unsigned char *p;
    size_t n;
    const unsigned char *tail;
    size_t tail_at;
    const uint32_t *start, *end; /* the tokens [start, end): nt <= 128 of them, none empty */
    size_t nt;
    int vbmi; /* AVX-512 VBMI may be used (allot_features_vbmi2_usable) */
    int hash; /* compute the unigram hashes (and bigram ones when bigrams) */
    int bigrams;
    uint32_t prev_h; /* the previous token's unigram hash: the first bigram's seed */
} allot_token_batch_in;

/* The token state carried from batch to batch, and the batch's hashes. */
typedef struct {
    uint64_t flags;       /* keyword flags, or-ed in */
    unsigned prev_prefix; /* the last token's prefix number (two-word keywords) */
    uint32_t *uni, *big;  /* nt hashes each (big: only with bigrams; big[0] unused when no token came
                             before the batch) */
} allot_token_batch_out;

/* The counters of single punctuation bytes (features.c's special_kind, docs/features.md). */
enum {
    ALLOT_SC_NONE,
    ALLOT_SC_QUESTION, /* ? */
    ALLOT_SC_DOLLAR,   /* $ */
    ALLOT_SC_CARET,    /* ^ */
    ALLOT_SC_PERCENT,  /* % */
    ALLOT_SC_EQUALS,   /* = */
    ALLOT_SC_NEWLINE,  /* \n */
    ALLOT_SC_OPERATOR, /* + - * / < > */
    ALLOT_SC_BRACKET,  /* ( ) [ ] { } */
    ALLOT_SC_CODE,     /* ; _ ` # | & */
    ALLOT_SC_COUNT
};

/* What the 64-byte blocks of a prompt hold (bit j: byte j of the block; bytes past the prompt read as
 * spaces): the last block's masks, and counts summed over the blocks scanned into it (zero it before
 * the first). */
typedef struct {
    uint64_t space, token, digit; /* whitespace; letters, digits and bytes >= 0x80; digits */
    uint64_t rare;                /* '\\' and the UTF-8 lead bytes 0xC2, 0xC3, 0xE2 */
    uint64_t zero, sep;           /* '0'; ',' and '.' (the numbers' masks) */
    int last_term; /* position + 1 in the block of its last sentence end (0: the carried one), -1: none */
    /* summed over the blocks: */
    uint64_t digits, upper, high, cont, spaces, words; /* counts; words: non-space after space */
    uint64_t count[ALLOT_SC_COUNT];                    /* the punctuation counters ([0] unused) */
    uint64_t sentences; /* terminators ('.', '!', '?') followed by whitespace */
} allot_block_scan;

/* What a block carries to the next. */
typedef struct {
    int prev_space; /* the byte before the block is whitespace (1 before the prompt) */
    int term;       /* the block's last byte is a terminator: a sentence end if the next is whitespace */
} allot_block_carry;

/** 1 when this build has the AVX-512BW block scan and this processor and system can run it. */
int allot_features_avx512bw_usable(void);

/** Scan the block p[0..avail) (avail <= 64, the rest read as spaces) into out (its masks; its counts
 *  added), *carry from the block before (updated for the next). Call only when
 *  allot_features_avx512bw_usable(). */
void allot_features_scan_block_avx512bw(const unsigned char *p, size_t avail, allot_block_carry *carry,
                                        allot_block_scan *out);

/** allot_features_finish_avx512 with the counts in 16 bits apart from val: val[k] = count[idx[k]]
 *  (count[-1] must be readable), then the same L2 step. */
void allot_features_finish16_avx512(const uint32_t *idx, const uint16_t *count, float *val, size_t n, int l2);

/** The indices of the non-zero counts of count[0..dim), in increasing order, into out; returns their
 *  number, k. Writes whole vectors: out needs room for k + 64 entries. Call only when
 *  allot_features_vbmi2_usable(). */
size_t allot_features_nonzero16_vbmi2(const uint16_t *count, size_t dim, uint32_t *out);

/** allot_featurizer_standardize's values, 8 at a time: out[i] = 0 for a NaN x[i], else
 *  (float)((x[i] - center[i]) / scale[i]) (in double; infinite beyond the float range). Call only
 *  when allot_features_avx512_usable(). */
void allot_features_standardize_avx512(const float *x, const double *center, const double *scale, size_t n,
                                       float *out);

/** 1 when this build has the VBMI2 bitmap walk and this processor and system can run it. */
int allot_features_vbmi2_usable(void);

/** out[k] = (float)v[id[k]] for k < n, except that an id >= first_flag (< 64) gives bit id of flags
 *  (0 or 1) instead. Call only when allot_features_avx512_usable(). */
void allot_features_pick_avx512(const double *v, const int *id, size_t n, uint64_t flags, unsigned first_flag,
                                float *out);

/** key[i] = h[i] & mask for i < m (mask < 65536). Call only when allot_features_avx512_usable(). */
void allot_features_keys16_avx512(const uint32_t *h, size_t m, uint32_t mask, uint16_t *key);

#define ALLOT_SORT_KEYS_MAX 256u /* keys allot_features_sort_count_vbmi2 sorts at most */

/** The n <= ALLOT_SORT_KEYS_MAX hashed indices keys[0..n) (each below 0xFFFF, in any order), counted:
 *  the distinct ones in increasing order into idx[0..m), how often each occurs into val[0..m) (then
 *  with l2 the L2 step of allot_features_finish_avx512, the same operations); returns m. Writes whole
 *  vectors: idx and val need room for m + 16 entries; keys may overlap them (read first). Call only
 *  when allot_features_vbmi2_usable(). */
size_t allot_features_sort_count_vbmi2(const uint16_t *keys, size_t n, uint32_t *idx, float *val, int l2);

/** allot_features_scan_block_avx512bw with AVX-512 VBMI (a table lookup per byte): the same results.
 *  Call only when allot_features_vbmi2_usable(). */
void allot_features_scan_block_vbmi(const unsigned char *p, size_t avail, allot_block_carry *carry,
                                    allot_block_scan *out);

/** The positions of the set bits of bits[0..nwords) in increasing order into out; returns their
 *  number, k. Writes whole vectors: out[0..k + 64) must not overlap bits. Call only when
 *  allot_features_vbmi2_usable(). */
size_t allot_features_flatten_vbmi2(const uint32_t *bits, size_t nwords, uint32_t *out);

/** 1 when this build has the AVX-512 token pass and this processor and system can run it. */
int allot_features_avx512_usable(void);

/** The token boundaries of a block at position base: a token starts at byte j where bit j of starts
 *  is set, one ends before byte j where bit j of ends is. Their positions are appended to
 *  start[*ns..] and end[*ne..] (each array needs 32 entries of room past max_starts) and 1 returned;
 *  or, when the starts would take *ns past max_starts, nothing is written and 0 returned. */
int allot_features_events_avx512(uint64_t starts, uint64_t ends, uint32_t base, uint32_t *start, size_t *ns,
                                 uint32_t *end, size_t *ne, size_t max_starts);

/** allot_features_events_avx512 with VBMI2 (a byte compress per mask). Call only when
 *  allot_features_vbmi2_usable(). */
int allot_features_events_vbmi2(uint64_t starts, uint64_t ends, uint32_t base, uint32_t *start, size_t *ns,
                                uint32_t *end, size_t *ne, size_t max_starts);

/** The AVX-512 token pass over one batch; call only when allot_features_avx512_usable(). */
void allot_features_tokens_avx512(const allot_kw_view *kw, const allot_token_batch_in *in,
                                  allot_token_batch_out *out);

/** The direct hashed block's last step (features.c's sparse_finish and normalise_l2): val[k] =
 *  val[idx[k]] for k < n (idx sorted and distinct, so idx[k] >= k), then with l2 each value c
 *  becomes (float)(c / sqrt(sum of c^2)) in double, the sum taken as an integer (every count below
 *  2^24). Call only when allot_features_avx512_usable(). */
void allot_features_finish_avx512(const uint32_t *idx, float *val, size_t n, int l2);

#endif
