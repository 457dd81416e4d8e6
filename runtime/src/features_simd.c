/*
 * features_simd.c - the featuriser's vector code (see features_simd.h and docs/features.md): the
 * block scans, token boundaries, the token pass, the hashed block's counts or sort, the dense picks,
 * standardisation. Every function returns with the vector registers' upper halves clear
 * (tests/policy/test_vector_state).
 *
 * The token pass, for 16 tokens per vector:
 *   1. keys: each token's first 16 bytes, gathered as four 32-bit words per lane, lower-cased (bit
 *      0x20 set in the bytes below 0x80, as token_key does) and zeroed past the token;
 *   2. keyword lookup: the slot hash, the slot, the word's fields gathered and compared; the flags of
 *      the hits and of two-word keywords (the previous lane's prefix) or-ed together;
 *   3. with hashing: FNV-1a over the zero-padded keys, every vector of the batch a step at a time (so
 *      the vectors' multiplication chains overlap), the padding undone as in features.c; tokens
 *      longer than 16 bytes go on a byte at a time; then the bigrams the same way from their seeds
 *      (previous unigram, ' ').
 * Everything is 32-bit integer arithmetic, lane by lane the same as the portable code.
 */
#include "features_simd.h"

#include "cpu.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(ALLOT_FEATURES_NO_SIMD) &&  \
    !defined(ALLOT_FEATURES_NO_AVX512)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,popcnt")))
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u
#define MAX_VECTORS 8u /* 128 tokens */

int allot_features_avx512_usable(void) {
    return allot_cpu_avx512f();
}

/* (FNV prime)^-k mod 2^32, k = 0..16 (features.c's fnv_unpad), padded to 32 entries. */
static const uint32_t unpad[32] = {
    0x00000001u, 0x359c449bu, 0xdd4ab5d9u, 0x91c5be63u, 0x4ca091f1u, 0xdfd860ebu,
    0xb7f51a49u, 0x9dde4e33u, 0xd872e4e1u, 0xa078583bu, 0x1b4117b9u, 0x8c728103u,
    0xb06ce8d1u, 0xe4247a8bu, 0x46571e29u, 0x98be26d3u, 0x55058dc1u,
};

/* The tokens of one vector: their keys (four words per lane), lengths and positions. */
typedef struct {
    __m512i key[4];
    __m512i len;  /* the token's length */
    __m512i klen; /* min(len, 16) */
    __mmask16 valid;
} token_vec;

/* keep[q][klen]: the bytes of key word q that belong to a token of klen (<= 16) bytes, as a mask */
static const uint32_t keep[4][32] = {
    {0x00000000u, 0x000000ffu, 0x0000ffffu, 0x00ffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
     0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
     0xffffffffu},
    {0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x000000ffu, 0x0000ffffu, 0x00ffffffu,
     0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
     0xffffffffu},
    {0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
     0x00000000u, 0x000000ffu, 0x0000ffffu, 0x00ffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
     0xffffffffu},
    {0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
     0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x000000ffu, 0x0000ffffu, 0x00ffffffu,
     0xffffffffu},
};

/* Key word q of 16 tokens of klen bytes from their raw bytes x: lower-cased (bit 0x20 in every byte
 * below 0x80), then only the token's bytes kept: (x | lower) & mask in one ternary operation. */
AVX512 static __m512i key_word(__m512i x, __m512i klen, int q) {
    __m512i lower = _mm512_srli_epi32(_mm512_andnot_si512(x, _mm512_set1_epi32((int)0x80808080u)), 2);
    __m512i mask = _mm512_permutex2var_epi32(_mm512_loadu_si512((const void *)keep[q]), klen,
                                             _mm512_loadu_si512((const void *)(keep[q] + 16)));
    return _mm512_ternarylogic_epi32(x, lower, mask, 0xA8);
}

/* Step 1: the keys of tokens [i, i + 16) of the batch (lanes past nt are invalid and zero). */
AVX512 static void load_keys(const allot_token_batch_in *in, size_t i, token_vec *tv) {
    size_t cnt = in->nt - i < 16 ? in->nt - i : 16;
    __mmask16 valid = (__mmask16)((1u << cnt) - 1u);
    __m512i start = _mm512_maskz_loadu_epi32(valid, in->start + i);
    __m512i len = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(valid, in->end + i), start);
    __m512i klen = _mm512_min_epu32(len, _mm512_set1_epi32(16));
    /* 16 readable bytes at the token: the prompt's, or near its end the zero-padded tail copy */
    __mmask16 in_p =
        in->n >= 16 ? valid & _mm512_cmple_epu32_mask(start, _mm512_set1_epi32((int)(in->n - 16))) : 0;
    __mmask16 in_tail = valid & (__mmask16)~in_p;
    __m512i at_tail = _mm512_sub_epi32(start, _mm512_set1_epi32((int)in->tail_at));
    for (int q = 0; q < 4; q++) {
        __m512i off = _mm512_set1_epi32(4 * q);
        __m512i x = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), in_p, _mm512_add_epi32(start, off),
                                                (const void *)in->p, 1);
        if (in_tail)
            x = _mm512_mask_i32gather_epi32(x, in_tail, _mm512_add_epi32(at_tail, off),
                                            (const void *)in->tail, 1);
        tv->key[q] = key_word(x, klen, q);
    }
    tv->len = len;
    tv->klen = klen;
    tv->valid = valid;
}

AVX512 int allot_features_events_avx512(uint64_t starts, uint64_t ends, uint32_t base, uint32_t *start,
                                        size_t *ns, uint32_t *end, size_t *ne, size_t max_starts) {
    if (*ns + (size_t)_mm_popcnt_u64(starts) > max_starts) return 0;
    __m512i at = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                  _mm512_set1_epi32((int)base));
    size_t s = *ns, e = *ne;
    for (int q = 0; q < 4; q++) {
        __mmask16 ms = (__mmask16)(starts >> (16 * q)), me = (__mmask16)(ends >> (16 * q));
        _mm512_storeu_si512((void *)(start + s), _mm512_maskz_compress_epi32(ms, at));
        _mm512_storeu_si512((void *)(end + e), _mm512_maskz_compress_epi32(me, at));
        s += (size_t)__builtin_popcount(ms);
        e += (size_t)__builtin_popcount(me);
        at = _mm512_add_epi32(at, _mm512_set1_epi32(16));
    }
    *ns = s;
    *ne = e;
    return 1;
}

/* The keyword flags of a batch: one-hot 32-bit halves or-ed lane by lane, reduced once. */
typedef struct {
    __m512i lo, hi; /* flags 0..31, 32..63 */
    __m512i prefix; /* the previous vector's prefixes (lane 15: the last token's) */
} kw_state;

/* Step 1 with AVX-512 VBMI when the 16 tokens start within 112 bytes: their bytes picked from the 128
 * bytes at the first token by one byte permutation per key word (no gathers); 0 when they are
 * spread wider (load_keys then). Bytes past the prompt read as zeros, and so do those of the tail
 * copy load_keys reads there. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static int
load_keys_vbmi(const allot_token_batch_in *in, size_t i, token_vec *tv) {
    size_t cnt = in->nt - i < 16 ? in->nt - i : 16;
    uint32_t s0 = in->start[i], last = in->start[i + cnt - 1];
    if (last - s0 > 112 - 16) return 0;
    __mmask16 valid = (__mmask16)((1u << cnt) - 1u);
    size_t avail = in->n - s0;
    __mmask64 m0 = avail >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << avail) - 1);
    __mmask64 m1 = avail >= 128 ? ~(__mmask64)0 : avail <= 64 ? 0 : (((__mmask64)1 << (avail - 64)) - 1);
    __m512i a = _mm512_maskz_loadu_epi8(m0, (const void *)(in->p + s0));
    __m512i b = _mm512_maskz_loadu_epi8(m1, (const void *)(in->p + s0 + 64));
    __m512i start = _mm512_maskz_loadu_epi32(valid, in->start + i);
    __m512i len = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(valid, in->end + i), start);
    __m512i klen = _mm512_min_epu32(len, _mm512_set1_epi32(16));
    /* each lane's offset from the first token, in all four of its bytes */
    __m512i rel = _mm512_maskz_sub_epi32(valid, start, _mm512_set1_epi32((int)s0));
    rel = _mm512_shuffle_epi8(rel, _mm512_set4_epi32(0x0C0C0C0C, 0x08080808, 0x04040404, 0x00000000));
    for (int q = 0; q < 4; q++) {
        __m512i at = _mm512_add_epi8(rel, _mm512_set1_epi32((int)(0x03020100u + 0x04040404u * (unsigned)q)));
        __m512i x = _mm512_permutex2var_epi8(a, at, b);
        tv->key[q] = key_word(x, klen, q);
    }
    tv->len = len;
    tv->klen = klen;
    tv->valid = valid;
    return 1;
}

/* Step 2: the keyword flags of one vector into st; the last lane's prefix carried in st->prefix. */
AVX512 static void keywords(const allot_kw_view *kw, const token_vec *tv, kw_state *st) {
    __m512i k =
        _mm512_mullo_epi32(_mm512_add_epi32(tv->key[0], tv->klen), _mm512_set1_epi32((int)kw->mul[0]));
    for (int q = 1; q < 3; q++)
        k = _mm512_add_epi32(k, _mm512_mullo_epi32(tv->key[q], _mm512_set1_epi32((int)kw->mul[q])));
    __m512i at = _mm512_slli_epi32(_mm512_srli_epi32(k, 32 - ALLOT_KW_SLOTS_LOG2), 2); /* 4 words per slot */
    const void *table = (const void *)kw->slot;
    /* the length check also clears key[3]: a word of <= ALLOT_KW_WORD_MAX bytes has it zero */
    __mmask16 hit = tv->valid;
    for (int q = 0; q < 3; q++)
        hit &= _mm512_cmpeq_epi32_mask(
            _mm512_i32gather_epi32(_mm512_add_epi32(at, _mm512_set1_epi32(q)), table, 4), tv->key[q]);
    __m512i byte = _mm512_set1_epi32(0xFF);
    __m512i meta = _mm512_i32gather_epi32(_mm512_add_epi32(at, _mm512_set1_epi32(3)), table, 4);
    hit &= _mm512_cmpeq_epi32_mask(_mm512_and_si512(meta, byte), tv->klen);
    meta = _mm512_mask_mov_epi32(_mm512_set1_epi32((int)kw->none_meta), hit, meta);
    __m512i feature = _mm512_and_si512(_mm512_srli_epi32(meta, 8), byte);
    __m512i prefix = _mm512_and_si512(_mm512_srli_epi32(meta, 16), byte);
    __m512i second = _mm512_srli_epi32(meta, 24);
    /* lane j pairs with lane j - 1's prefix; lane 0 with the previous vector's last */
    __m512i before = _mm512_alignr_epi32(prefix, st->prefix, 15);
    st->prefix = prefix;
    __m512i code = _mm512_add_epi32(_mm512_slli_epi32(before, 3), second);
    __m512i pair = _mm512_and_si512(_mm512_srli_epi32(_mm512_set1_epi32((int)kw->none_meta), 8), byte);
    for (size_t j = 0; j < kw->n_pairs; j++)
        pair = _mm512_mask_mov_epi32(pair,
                                     _mm512_cmpeq_epi32_mask(code, _mm512_set1_epi32((int)kw->pair_code[j])),
                                     _mm512_set1_epi32((int)kw->pair_flag[j]));
    /* 1 << flag in the half it falls in (a shift by 32 or more gives 0) */
    __m512i one = _mm512_set1_epi32(1), n32 = _mm512_set1_epi32(32);
    __m512i lo = _mm512_or_si512(_mm512_sllv_epi32(one, feature), _mm512_sllv_epi32(one, pair));
    __m512i hi = _mm512_or_si512(_mm512_sllv_epi32(one, _mm512_sub_epi32(feature, n32)),
                                 _mm512_sllv_epi32(one, _mm512_sub_epi32(pair, n32)));
    st->lo = _mm512_mask_or_epi32(st->lo, tv->valid, st->lo, lo);
    st->hi = _mm512_mask_or_epi32(st->hi, tv->valid, st->hi, hi);
}

/* FNV-1a step over key byte (q, b) of every vector (the shift is a constant). */
#define FNV_STEP(Q, B)                                                                                       \
    do {                                                                                                     \
        if (4 * (Q) + (B) >= steps) goto done;                                                               \
        for (size_t v = 0; v < nv; v++) {                                                                    \
            /* h ^ (byte & 0xFF) in one ternary operation */                                                 \
            __m512i c = _mm512_ternarylogic_epi32(h[v], _mm512_srli_epi32(tv[v].key[Q], 8 * (B)),            \
                                                  _mm512_set1_epi32(0xFF), 0x78);                            \
            h[v] = _mm512_mullo_epi32(c, _mm512_set1_epi32((int)FNV_PRIME));                                 \
        }                                                                                                    \
    } while (0)

/* Step 3: FNV-1a of every vector's keys from h[v] over `steps` (<= 16) padded bytes, padding undone. */
AVX512 static void fnv_keys(const token_vec *tv, size_t nv, unsigned steps, __m512i *h) {
    FNV_STEP(0, 0);
    FNV_STEP(0, 1);
    FNV_STEP(0, 2);
    FNV_STEP(0, 3);
    FNV_STEP(1, 0);
    FNV_STEP(1, 1);
    FNV_STEP(1, 2);
    FNV_STEP(1, 3);
    FNV_STEP(2, 0);
    FNV_STEP(2, 1);
    FNV_STEP(2, 2);
    FNV_STEP(2, 3);
    FNV_STEP(3, 0);
    FNV_STEP(3, 1);
    FNV_STEP(3, 2);
    FNV_STEP(3, 3);
done:;
    __m512i lo = _mm512_loadu_si512((const void *)unpad), hi = _mm512_loadu_si512((const void *)(unpad + 16));
    for (size_t v = 0; v < nv; v++) {
        __m512i pad = _mm512_sub_epi32(_mm512_set1_epi32((int)steps), tv[v].klen);
        h[v] = _mm512_mullo_epi32(h[v], _mm512_permutex2var_epi32(lo, pad, hi));
    }
}

/* Tokens longer than 16 bytes: their hashes go on over bytes 16.. (lower-cased), a byte at a time. */
static void fnv_long(const allot_token_batch_in *in, const uint16_t *longs, size_t n_long, uint32_t *hash) {
    for (size_t j = 0; j < n_long; j++) {
        size_t k = longs[j];
        const unsigned char *s = in->p + in->start[k];
        uint32_t h = hash[k];
        for (size_t i = 16; i < (size_t)(in->end[k] - in->start[k]); i++) {
            unsigned char c = s[i];
            h = (h ^ (c >= 'A' && c <= 'Z' ? (unsigned)c + 32u : c)) * FNV_PRIME;
        }
        hash[k] = h;
    }
}

AVX512 void allot_features_tokens_avx512(const allot_kw_view *kw, const allot_token_batch_in *in,
                                         allot_token_batch_out *out) {
    size_t nv = (in->nt + 15) / 16;
    if (nv == 0 || nv > MAX_VECTORS) return;
    token_vec tv[MAX_VECTORS];
    unsigned steps = 0;
    uint16_t longs[16 * MAX_VECTORS];
    size_t n_long = 0;
    kw_state st = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_set1_epi32((int)out->prev_prefix)};
    for (size_t v = 0; v < nv; v++) {
        if (!in->vbmi || !load_keys_vbmi(in, 16 * v, &tv[v])) load_keys(in, 16 * v, &tv[v]);
        keywords(kw, &tv[v], &st);
        unsigned top = (unsigned)_mm512_mask_reduce_max_epu32(tv[v].valid, tv[v].klen);
        steps = top > steps ? top : steps;
        for (unsigned m = _mm512_mask_cmpgt_epu32_mask(tv[v].valid, tv[v].len, _mm512_set1_epi32(16)); m;
             m &= m - 1)
            longs[n_long++] = (uint16_t)(16 * v + (unsigned)__builtin_ctz(m));
    }
    out->flags |= (uint64_t)(uint32_t)_mm512_reduce_or_epi32(st.lo) |
                  (uint64_t)(uint32_t)_mm512_reduce_or_epi32(st.hi) << 32;
    int last = (int)((in->nt - 1) % 16); /* the last token's lane in the last vector */
    out->prev_prefix = (unsigned)_mm_cvtsi128_si32(
        _mm512_castsi512_si128(_mm512_permutexvar_epi32(_mm512_set1_epi32(last), st.prefix)));
    if (!in->hash) return;
    __m512i h[MAX_VECTORS];
    for (size_t v = 0; v < nv; v++) h[v] = _mm512_set1_epi32((int)FNV_OFFSET);
    fnv_keys(tv, nv, steps, h);
    for (size_t v = 0; v < nv; v++) _mm512_mask_storeu_epi32(out->uni + 16 * v, tv[v].valid, h[v]);
    _mm256_zeroupper(); /* scalar code follows (GCC 12 leaves the upper halves dirty across this call) */
    fnv_long(in, longs, n_long, out->uni);
    if (!in->bigrams) return;
    /* bigram seeds: (previous unigram ^ ' ') * prime, the previous of lane 0 from the vector before */
    __m512i before = _mm512_set1_epi32((int)in->prev_h);
    for (size_t v = 0; v < nv; v++) {
        __m512i uni = _mm512_maskz_loadu_epi32(tv[v].valid, out->uni + 16 * v);
        h[v] =
            _mm512_mullo_epi32(_mm512_xor_si512(_mm512_alignr_epi32(uni, before, 15), _mm512_set1_epi32(' ')),
                               _mm512_set1_epi32((int)FNV_PRIME));
        before = uni;
    }
    fnv_keys(tv, nv, steps, h);
    for (size_t v = 0; v < nv; v++) _mm512_mask_storeu_epi32(out->big + 16 * v, tv[v].valid, h[v]);
    _mm256_zeroupper();
    fnv_long(in, longs, n_long, out->big);
}

/* The L2 step of allot_features_finish_avx512 over val[0..n), the sum of squares ss given. */
AVX512 static void normalise16(float *val, size_t n, uint64_t ss) {
    double norm = sqrt((double)ss);
    /* counts 0..15 through a table of their quotients, larger ones divided one lane at a time */
    __m512d vn = _mm512_set1_pd(norm);
    __m512 iota = _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    __m256 q_lo = _mm512_cvtpd_ps(_mm512_div_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(iota)), vn));
    __m256 q_hi = _mm512_cvtpd_ps(_mm512_div_pd(
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(iota), 1))), vn));
    __m512 table = _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(q_lo)), _mm256_castps_pd(q_hi), 1));
    for (size_t k = 0; k < n; k += 16) {
        __mmask16 m = n - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - k)) - 1u);
        __m512i ci = _mm512_cvttps_epi32(_mm512_maskz_loadu_ps(m, val + k));
        __mmask16 big = m & _mm512_cmpge_epu32_mask(ci, _mm512_set1_epi32(16));
        _mm512_mask_storeu_ps(val + k, m & (__mmask16)~big, _mm512_permutexvar_ps(ci, table));
        for (; big; big &= big - 1) {
            size_t j = k + (unsigned)__builtin_ctz(big);
            val[j] = (float)((double)val[j] / norm);
        }
    }
}

/* The sum of the squares of the 16 counts ci (as 64-bit lanes) added to ss. */
AVX512 static __m512i add_squares(__m512i ss, __m512i ci) {
    __m512i lo = _mm512_cvtepu32_epi64(_mm512_castsi512_si256(ci));
    __m512i hi = _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(ci, 1));
    return _mm512_add_epi64(ss, _mm512_add_epi64(_mm512_mul_epu32(lo, lo), _mm512_mul_epu32(hi, hi)));
}

AVX512 void allot_features_finish_avx512(const uint32_t *idx, float *val, size_t n, int l2) {
    __m512i ss = _mm512_setzero_si512(); /* the sum of squares, in 8 64-bit lanes */
    for (size_t k = 0; k < n; k += 16) {
        __mmask16 m = n - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - k)) - 1u);
        __m512i ix = _mm512_maskz_loadu_epi32(m, idx + k);
        __m512 c = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, ix, val, 4);
        _mm512_mask_storeu_ps(val + k, m, c); /* idx[j] >= j >= k + 16 for every later j */
        ss = add_squares(ss, _mm512_cvttps_epi32(c));
    }
    if (l2 && n) normalise16(val, n, (uint64_t)_mm512_reduce_add_epi64(ss));
}

AVX512 void allot_features_finish16_avx512(const uint32_t *idx, const uint16_t *count, float *val, size_t n,
                                           int l2) {
    __m512i ss = _mm512_setzero_si512();
    for (size_t k = 0; k < n; k += 16) {
        __mmask16 m = n - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - k)) - 1u);
        __m512i ix = _mm512_maskz_loadu_epi32(m, idx + k);
        /* the 32 bits ending with each count, its high 16 kept (count[-1] is readable: see the header) */
        __m512i ci = _mm512_srli_epi32(
            _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, ix, (const void *)(count - 1), 2), 16);
        _mm512_mask_storeu_ps(val + k, m, _mm512_cvtepi32_ps(ci));
        ss = add_squares(ss, ci);
    }
    if (l2 && n) normalise16(val, n, (uint64_t)_mm512_reduce_add_epi64(ss));
}

AVX512 void allot_features_keys16_avx512(const uint32_t *h, size_t m, uint32_t mask, uint16_t *key) {
    for (size_t i = 0; i < m; i += 16) {
        __mmask16 in = m - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (m - i)) - 1u);
        __m512i x = _mm512_and_si512(_mm512_maskz_loadu_epi32(in, h + i), _mm512_set1_epi32((int)mask));
        _mm512_mask_cvtepi32_storeu_epi16((void *)(key + i), in, x);
    }
}

AVX512 void allot_features_pick_avx512(const double *v, const int *id, size_t n, uint64_t flags,
                                       unsigned first_flag, float *out) {
    const __m512i one = _mm512_set1_epi64(1);
    for (size_t k = 0; k < n; k += 8) {
        __mmask8 in = n - k >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n - k)) - 1u);
        __m512i at = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(_mm512_maskz_loadu_epi32(in, id + k)));
        __mmask8 flag = _mm512_mask_cmpge_epi64_mask(in, at, _mm512_set1_epi64(first_flag));
        __m512d x = _mm512_mask_i64gather_pd(_mm512_setzero_pd(), in & (__mmask8)~flag, at, v, 8);
        __mmask8 set =
            flag & _mm512_test_epi64_mask(_mm512_srlv_epi64(_mm512_set1_epi64((long long)flags), at), one);
        x = _mm512_mask_mov_pd(x, set, _mm512_set1_pd(1.0)); /* the other flags gathered nothing: 0 */
        _mm512_mask_storeu_ps(out + k, in, _mm512_castps256_ps512(_mm512_cvtpd_ps(x)));
    }
}

/* 8 standardised values in double: t = (v - c) / s, infinite beyond the float range (to_f32). */
AVX512 static __m256 standardize8(__m512d v, __m512d c, __m512d s) {
    const __m512d big = _mm512_set1_pd(0x1.ffffffp+127), inf = _mm512_set1_pd((double)INFINITY);
    __m512d t = _mm512_div_pd(_mm512_sub_pd(v, c), s);
    t = _mm512_mask_mov_pd(t, _mm512_cmp_pd_mask(t, big, _CMP_GE_OQ), inf);
    t = _mm512_mask_mov_pd(t, _mm512_cmp_pd_mask(t, _mm512_sub_pd(_mm512_setzero_pd(), big), _CMP_LE_OQ),
                           _mm512_sub_pd(_mm512_setzero_pd(), inf));
    return _mm512_cvtpd_ps(t);
}

AVX512 void allot_features_standardize_avx512(const float *x, const double *center, const double *scale,
                                              size_t n, float *out) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        __mmask8 m0 = (__mmask8)m, m1 = (__mmask8)(m >> 8);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512d one = _mm512_set1_pd(1.0);
        __m256 lo =
            standardize8(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), _mm512_maskz_loadu_pd(m0, center + i),
                         _mm512_mask_loadu_pd(one, m0, scale + i));
        __m256 hi = standardize8(
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))),
            _mm512_maskz_loadu_pd(m1, center + i + 8), _mm512_mask_loadu_pd(one, m1, scale + i + 8));
        __m512 r = _mm512_castpd_ps(
            _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
        /* a missing value (NaN) is the center: 0 */
        _mm512_mask_storeu_ps(out + i, m, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), r));
    }
}

/* ---- the hashed block's bitmap (AVX-512 VBMI2) ---- */

#define VBMI2 __attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt")))

int allot_features_vbmi2_usable(void) {
    return allot_cpu_avx512vbmi2();
}

/* 0, 1, ..., 63 in the bytes of a vector. */
VBMI2 static __m512i byte_iota(void) {
    return _mm512_set_epi8(63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43,
                           42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22,
                           21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
}

/* The first cnt (<= 64) byte positions of pos, widened and added to base, into out[0..): whole vectors
 * of 16, so out needs room for cnt rounded up to 16. Always inlined, as append_positions: called out
 * of line with vector arguments, GCC 12 left its callers' returns without a vzeroupper, and each
 * return then cost the scalar code after it about 100 ns (tests/policy/test_vector_state). */
VBMI2 static inline __attribute__((always_inline)) void store_positions(__m512i pos, size_t cnt, __m512i base,
                                                                        uint32_t *out) {
    _mm512_storeu_si512((void *)out,
                        _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(pos)), base));
    if (cnt <= 16) return; /* more is rare */
    _mm512_storeu_si512((void *)(out + 16),
                        _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(pos, 1)), base));
    if (cnt <= 32) return;
    _mm512_storeu_si512((void *)(out + 32),
                        _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(pos, 2)), base));
    if (cnt <= 48) return;
    _mm512_storeu_si512((void *)(out + 48),
                        _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(pos, 3)), base));
}

VBMI2 size_t allot_features_flatten_vbmi2(const uint32_t *bits, size_t nwords, uint32_t *out) {
    __m512i iota = byte_iota();
    size_t k = 0;
    for (size_t q = 0; q < nwords; q += 2) { /* 64 bits at a time: their positions as bytes, widened */
        uint64_t w = bits[q] | (q + 1 < nwords ? (uint64_t)bits[q + 1] << 32 : 0);
        __m512i pos = _mm512_maskz_compress_epi8(w, iota);
        __m512i base = _mm512_set1_epi32((int)(32 * q));
        size_t c = (size_t)_mm_popcnt_u64(w);
        store_positions(pos, c, base, out + k);
        k += c;
    }
    return k;
}

/* Bytes equal to c. */
#define EQ(x, c) _mm512_cmpeq_epi8_mask((x), _mm512_set1_epi8((char)(c)))

VBMI2 size_t allot_features_nonzero16_vbmi2(const uint16_t *count, size_t dim, uint32_t *out) {
    __m512i iota = byte_iota();
    size_t k = 0;
    __m512i base =
        _mm512_setzero_si512(); /* c in every lane (kept by an addition: the shuffle port is busy) */
    for (size_t c = 0; c < dim; c += 64, base = _mm512_add_epi32(base, _mm512_set1_epi32(64))) {
        /* 64 counts: the positions of the non-zero ones */
        size_t left = dim - c;
        __mmask32 in0 = left >= 32 ? ~(__mmask32)0 : (__mmask32)((1u << left) - 1u);
        __mmask32 in1 = left >= 64 ? ~(__mmask32)0 : left <= 32 ? 0 : (__mmask32)((1u << (left - 32)) - 1u);
        __m512i x0 = _mm512_maskz_loadu_epi16(in0, (const void *)(count + c));
        __m512i x1 = _mm512_maskz_loadu_epi16(in1, (const void *)(count + c + 32));
        uint64_t nz = (uint64_t)_mm512_test_epi16_mask(x0, x0) | (uint64_t)_mm512_test_epi16_mask(x1, x1)
                                                                     << 32;
        __m512i pos = _mm512_maskz_compress_epi8(nz, iota);
        size_t cnt = (size_t)_mm_popcnt_u64(nz);
        store_positions(pos, cnt, base, out + k);
        k += cnt;
    }
    return k;
}

/* ---- the hashed indices sorted instead of counted (AVX-512BW and VBMI2) ---- */

/* 0, 1, ..., 31 in the 16-bit lanes of a vector. */
VBMI2 static __m512i word_iota(void) {
    return _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12,
                            11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
}

/* The lanes l of a 32-lane vector with l & j set (j = 1, 2, 4, 8, 16), as a mask. */
static inline uint32_t lanes_with(unsigned j) {
    return j == 1   ? 0xAAAAAAAAu
           : j == 2 ? 0xCCCCCCCCu
           : j == 4 ? 0xF0F0F0F0u
           : j == 8 ? 0xFF00FF00u
                    : 0xFFFF0000u;
}

/* The sort below, ascending, of the 32 R 16-bit keys in v[0..R) (R = 2, 4 or 8, a constant where it
 * is inlined, with every loop of a constant count, so that v stays in registers). While sorting,
 * element i is lane i / R of v[i % R] (columns): the steps between elements less than R apart are
 * then between whole vectors, one minimum and one maximum each, which is most of them. First each
 * lane's column of R elements is sorted by a sorting network; then sorted blocks of m = 2, 4, ..., 32
 * lanes are merged pairwise as in a bitonic merge of two ascending halves: the first step pairs each
 * element with its mirror in the other half, the others with the element j away (the lower keeps
 * the smaller key). Last, the columns are interleaved into order (element i in lane i % 32 of
 * v[i / 32]). */

/* x with lane l moved to lane l ^ t (t = 1, 2, 4, 8, 16): rotations and whole-part shuffles, which
 * the processor runs on more ports than a word permutation. */
VBMI2 static inline __attribute__((always_inline)) __m512i partner(__m512i x, unsigned t) {
    switch (t) {
    case 1: return _mm512_rol_epi32(x, 16);
    case 2: return _mm512_rol_epi64(x, 32);
    case 4: return _mm512_shuffle_epi32(x, _MM_PERM_BADC);
    case 8: return _mm512_shuffle_i64x2(x, x, _MM_SHUFFLE(2, 3, 0, 1));
    default: return _mm512_shuffle_i64x2(x, x, _MM_SHUFFLE(1, 0, 3, 2));
    }
}

/* Each lane of x against lane l ^ t: the lower lane keeps the smaller key, the upper the larger. */
VBMI2 static inline __attribute__((always_inline)) __m512i lane_step(__m512i x, unsigned t) {
    __m512i p = partner(x, t);
    return _mm512_mask_max_epu16(_mm512_min_epu16(x, p), (__mmask32)lanes_with(t), x, p);
}

/* Vectors a and b compared lane by lane: the smaller keys into a, the larger into b. */
#define EXCHANGE(a, b)                                                                                       \
    do {                                                                                                     \
        __m512i lo_ = _mm512_min_epu16((a), (b));                                                            \
        (b) = _mm512_max_epu16((a), (b));                                                                    \
        (a) = lo_;                                                                                           \
    } while (0)

/* Each lane's column v[0][l], ..., v[R - 1][l] sorted (Batcher's odd-even merge sort networks). */
VBMI2 static inline __attribute__((always_inline)) void sort_columns(__m512i *v, unsigned R) {
    EXCHANGE(v[0], v[1]);
    if (R == 2) return;
    EXCHANGE(v[2], v[3]);
    EXCHANGE(v[0], v[2]);
    EXCHANGE(v[1], v[3]);
    EXCHANGE(v[1], v[2]);
    if (R == 4) return;
    EXCHANGE(v[4], v[5]);
    EXCHANGE(v[6], v[7]);
    EXCHANGE(v[4], v[6]);
    EXCHANGE(v[5], v[7]);
    EXCHANGE(v[5], v[6]);
    EXCHANGE(v[0], v[4]);
    EXCHANGE(v[1], v[5]);
    EXCHANGE(v[2], v[6]);
    EXCHANGE(v[3], v[7]);
    EXCHANGE(v[2], v[4]);
    EXCHANGE(v[3], v[5]);
    EXCHANGE(v[1], v[2]);
    EXCHANGE(v[3], v[4]);
    EXCHANGE(v[5], v[6]);
}

/* x with its blocks of m lanes reversed (lane l moved to lane l ^ (m - 1)). */
VBMI2 static inline __attribute__((always_inline)) __m512i reverse_blocks(__m512i x, unsigned m) {
    return _mm512_permutexvar_epi16(_mm512_xor_si512(word_iota(), _mm512_set1_epi16((short)(m - 1))), x);
}

/* The mirror step of merging blocks of m lanes: element i against i ^ (m R - 1), which is in vector
 * R - 1 - r at lane l ^ (m - 1); the lanes of the lower half of each block keep the smaller key. */
VBMI2 static inline __attribute__((always_inline)) void mirror_step(__m512i *v, unsigned R, unsigned m) {
    __mmask32 upper = (__mmask32)lanes_with(m / 2);
    _Pragma("GCC unroll 4") for (unsigned r = 0; r < R / 2; r++) {
        __m512i b = reverse_blocks(v[R - 1 - r], m);
        __m512i lo = _mm512_min_epu16(v[r], b), hi = _mm512_max_epu16(v[r], b);
        v[r] = _mm512_mask_blend_epi16(upper, lo, hi);
        v[R - 1 - r] = reverse_blocks(_mm512_mask_blend_epi16(upper, hi, lo), m);
    }
}

/* Merge sorted blocks of m / 2 lanes pairwise into sorted blocks of m lanes (m R elements). */
VBMI2 static inline __attribute__((always_inline)) void merge_blocks(__m512i *v, unsigned R, unsigned m) {
    mirror_step(v, R, m);
    _Pragma("GCC unroll 4") for (unsigned t = m / 4; t >= 1; t /= 2) /* elements t R apart: lanes t apart */
        _Pragma("GCC unroll 8") for (unsigned r = 0; r < R; r++) v[r] = lane_step(v[r], t);
    _Pragma("GCC unroll 4") for (unsigned d = R / 2; d >= 1; d /= 2) /* elements d < R apart: vectors */
        _Pragma("GCC unroll 8") for (unsigned r = 0; r < R; r++) if (!(r & d)) EXCHANGE(v[r], v[r + d]);
}

/* Lanes 0..15 (lo) or 16..31 (hi) of a and b, interleaved: a[0], b[0], a[1], b[1], ... */
VBMI2 static inline __attribute__((always_inline)) __m512i interleave(__m512i a, __m512i b, int hi) {
    __m512i half = _mm512_srli_epi16(word_iota(), 1); /* l / 2 */
    __m512i from_b =
        _mm512_slli_epi16(_mm512_and_si512(word_iota(), _mm512_set1_epi16(1)), 5); /* 32 (l odd) */
    __m512i at = _mm512_add_epi16(_mm512_add_epi16(half, from_b), _mm512_set1_epi16((short)(hi ? 16 : 0)));
    return _mm512_permutex2var_epi16(a, at, b);
}

/* Columns into order: v[0..R) with element i at lane i / R of v[i % R] becomes element i at lane
 * i % 32 of v[i / 32]. Interleaving v[r] with v[r + R / 2] gives the first and the second half, each
 * in columns of R / 2; and so on down to R = 1. */
VBMI2 static inline __attribute__((always_inline)) void halve_columns(__m512i *v, unsigned R, __m512i *u) {
    _Pragma("GCC unroll 4") for (unsigned r = 0; r < R / 2; r++) {
        u[r] = interleave(v[r], v[r + R / 2], 0);
        u[R / 2 + r] = interleave(v[r], v[r + R / 2], 1);
    }
}

VBMI2 static inline __attribute__((always_inline)) void columns_to_rows(__m512i *v, unsigned R) {
    __m512i u[8], w[8];
    halve_columns(v, R, u);
    if (R == 2) {
        v[0] = u[0];
        v[1] = u[1];
        return;
    }
    halve_columns(u, R / 2, w);
    halve_columns(u + R / 2, R / 2, w + R / 2);
    if (R == 4) {
        _Pragma("GCC unroll 4") for (unsigned r = 0; r < 4; r++) v[r] = w[r];
        return;
    }
    _Pragma("GCC unroll 4") for (unsigned q = 0; q < 4; q++)
        halve_columns(w + 2 * (size_t)q, 2, v + 2 * (size_t)q);
}

VBMI2 static inline __attribute__((always_inline)) void sort_keys(__m512i *v, unsigned R) {
    sort_columns(v, R);
    merge_blocks(v, R, 2);
    merge_blocks(v, R, 4);
    merge_blocks(v, R, 8);
    merge_blocks(v, R, 16);
    merge_blocks(v, R, 32);
    columns_to_rows(v, R);
}

/* The sorted keys v[0..R) (n of them real, then 0xFFFF) as distinct keys and their run lengths:
 * keys into key[0..m), run starts into at[0..m) (whole vectors: room for 32 more each); returns m. */
VBMI2 static inline __attribute__((always_inline)) size_t runs(const __m512i *v, unsigned R, size_t n,
                                                               uint16_t *key, uint16_t *at) {
    /* lane l: element l - 1 (lane 31 of the vector before for l = 0) */
    __m512i back = _mm512_add_epi16(word_iota(), _mm512_set1_epi16(31));
    __m512i before = _mm512_set1_epi16(-1), pos = word_iota();
    size_t m = 0;
    _Pragma("GCC unroll 8") for (unsigned r = 0; r < R; r++) {
        size_t left = n > 32 * (size_t)r ? n - 32 * (size_t)r : 0;
        __mmask32 real = left >= 32 ? ~(__mmask32)0 : (__mmask32)((1u << left) - 1u);
        __mmask32 start =
            _mm512_mask_cmpneq_epu16_mask(real, v[r], _mm512_permutex2var_epi16(before, back, v[r]));
        _mm512_storeu_si512((void *)(key + m), _mm512_maskz_compress_epi16(start, v[r]));
        _mm512_storeu_si512((void *)(at + m), _mm512_maskz_compress_epi16(start, pos));
        m += (size_t)__builtin_popcount(start);
        before = v[r];
        pos = _mm512_add_epi16(pos, _mm512_set1_epi16(32));
    }
    return m;
}

/* Sort the n <= 32 R keys, then count: see allot_features_sort_count_vbmi2. */
VBMI2 static inline __attribute__((always_inline)) size_t sort_runs(const uint16_t *keys, size_t n,
                                                                    unsigned R, uint16_t *key, uint16_t *at) {
    __m512i v[16];
    _Pragma("GCC unroll 8") for (unsigned r = 0; r < R; r++) {
        size_t left = n > 32 * (size_t)r ? n - 32 * (size_t)r : 0;
        __mmask32 real = left >= 32 ? ~(__mmask32)0 : (__mmask32)((1u << left) - 1u);
        v[r] = _mm512_mask_loadu_epi16(_mm512_set1_epi16(-1), real, (const void *)(keys + 32 * (size_t)r));
    }
    sort_keys(v, R);
    return runs(v, R, n, key, at);
}

VBMI2 size_t allot_features_sort_count_vbmi2(const uint16_t *keys, size_t n, uint32_t *idx, float *val,
                                             int l2) {
    uint16_t key[ALLOT_SORT_KEYS_MAX + 32], at[ALLOT_SORT_KEYS_MAX + 48];
    size_t m = n <= 64    ? sort_runs(keys, n, 2, key, at)
               : n <= 128 ? sort_runs(keys, n, 4, key, at)
                          : sort_runs(keys, n, 8, key, at);
    at[m] = (uint16_t)n; /* the end of the last run */
    __m512i ss = _mm512_setzero_si512();
    for (size_t k = 0; k < m; k += 16) {
        __mmask16 in = m - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (m - k)) - 1u);
        __m512i first = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const void *)(at + k)));
        __m512i next = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const void *)(at + k + 1)));
        __m512i c = _mm512_maskz_sub_epi32(in, next, first);
        _mm512_mask_storeu_epi32(idx + k, in,
                                 _mm512_cvtepu16_epi32(_mm256_loadu_si256((const void *)(key + k))));
        _mm512_mask_storeu_ps(val + k, in, _mm512_cvtepi32_ps(c));
        ss = add_squares(ss, c);
    }
    if (l2 && m) normalise16(val, m, (uint64_t)_mm512_reduce_add_epi64(ss));
    return m;
}

/* The positions base + j of the set bits j of mask (at most 32 of them) appended to at[*n..]. */
VBMI2 static inline __attribute__((always_inline)) void append_positions(uint64_t mask, uint32_t base,
                                                                         uint32_t *at, size_t *n) {
    size_t c = (size_t)_mm_popcnt_u64(mask);
    store_positions(_mm512_maskz_compress_epi8(mask, byte_iota()), c, _mm512_set1_epi32((int)base), at + *n);
    *n += c;
}

VBMI2 int allot_features_events_vbmi2(uint64_t starts, uint64_t ends, uint32_t base, uint32_t *start,
                                      size_t *ns, uint32_t *end, size_t *ne, size_t max_starts) {
    if (*ns + (size_t)_mm_popcnt_u64(starts) > max_starts) return 0;
    append_positions(starts, base, start, ns);
    append_positions(ends, base, end, ne);
    return 1;
}

#define AVX512BW __attribute__((target("avx512f,avx512bw,popcnt")))

AVX512BW static uint32_t count64(uint64_t m) {
    return (uint32_t)_mm_popcnt_u64(m);
}

/* What both block scans do with the block x's class masks: the masks and counts into out, the word
 * starts, and the sentence ends (a terminator followed by whitespace; the padding past the prompt
 * reads as spaces; a terminator ending a full last block is the caller's), *carry updated. */
AVX512BW static inline __attribute__((always_inline)) void
block_common(__m512i x, uint64_t space, uint64_t token, uint64_t digit, uint64_t upper, uint64_t high,
             uint64_t cont, uint64_t term, allot_block_carry *carry, allot_block_scan *out) {
    uint64_t words = ~space & ((space << 1) | (uint64_t)(carry->prev_space != 0));
    carry->prev_space = (int)(space >> 63);
    out->space = space;
    out->token = token;
    out->digit = digit;
    uint64_t ends = term & (space >> 1);
    int carried = carry->term && (space & 1u);
    out->sentences += (uint64_t)carried + count64(ends);
    out->last_term = ends ? 64 - (int)__builtin_clzll(ends) : carried ? 0 : -1;
    carry->term = (int)(term >> 63);
    out->zero = EQ(x, '0');
    out->sep = EQ(x, ',') | EQ(x, '.');
    out->digits += count64(digit);
    out->upper += count64(upper);
    out->high += count64(high);
    out->cont += count64(cont);
    out->spaces += count64(space);
    out->words += count64(words);
}

/* ---- the block scan with AVX-512 VBMI: a byte's classes by one table lookup ---- */

/* scan_kind[c] for c < 0x80: bits 0-3 its punctuation counter (ALLOT_SC_*), or KIND_BACKSLASH;
 * then terminator, whitespace, digit, letter. */
#define KIND_BACKSLASH 10u
#define KIND_TERM 0x10u
#define KIND_SPACE 0x20u
#define KIND_DIGIT 0x40u
#define KIND_LETTER 0x80u
#define LETTERS8(c)                                                                                          \
    [(c)] = KIND_LETTER, [(c) + 1] = KIND_LETTER, [(c) + 2] = KIND_LETTER, [(c) + 3] = KIND_LETTER,          \
    [(c) + 4] = KIND_LETTER, [(c) + 5] = KIND_LETTER, [(c) + 6] = KIND_LETTER, [(c) + 7] = KIND_LETTER
static const uint8_t scan_kind[128] = {
    ['\t'] = KIND_SPACE,
    ['\n'] = KIND_SPACE | ALLOT_SC_NEWLINE,
    ['\v'] = KIND_SPACE,
    ['\f'] = KIND_SPACE,
    ['\r'] = KIND_SPACE,
    [' '] = KIND_SPACE,
    ['0'] = KIND_DIGIT,
    ['1'] = KIND_DIGIT,
    ['2'] = KIND_DIGIT,
    ['3'] = KIND_DIGIT,
    ['4'] = KIND_DIGIT,
    ['5'] = KIND_DIGIT,
    ['6'] = KIND_DIGIT,
    ['7'] = KIND_DIGIT,
    ['8'] = KIND_DIGIT,
    ['9'] = KIND_DIGIT,
    LETTERS8('A'),
    LETTERS8('I'),
    LETTERS8('Q'),
    ['Y'] = KIND_LETTER,
    ['Z'] = KIND_LETTER,
    LETTERS8('a'),
    LETTERS8('i'),
    LETTERS8('q'),
    ['y'] = KIND_LETTER,
    ['z'] = KIND_LETTER,
    ['.'] = KIND_TERM,
    ['!'] = KIND_TERM,
    ['?'] = KIND_TERM | ALLOT_SC_QUESTION,
    ['$'] = ALLOT_SC_DOLLAR,
    ['^'] = ALLOT_SC_CARET,
    ['%'] = ALLOT_SC_PERCENT,
    ['='] = ALLOT_SC_EQUALS,
    ['+'] = ALLOT_SC_OPERATOR,
    ['-'] = ALLOT_SC_OPERATOR,
    ['*'] = ALLOT_SC_OPERATOR,
    ['/'] = ALLOT_SC_OPERATOR,
    ['<'] = ALLOT_SC_OPERATOR,
    ['>'] = ALLOT_SC_OPERATOR,
    ['('] = ALLOT_SC_BRACKET,
    [')'] = ALLOT_SC_BRACKET,
    ['['] = ALLOT_SC_BRACKET,
    [']'] = ALLOT_SC_BRACKET,
    ['{'] = ALLOT_SC_BRACKET,
    ['}'] = ALLOT_SC_BRACKET,
    [';'] = ALLOT_SC_CODE,
    ['_'] = ALLOT_SC_CODE,
    ['`'] = ALLOT_SC_CODE,
    ['#'] = ALLOT_SC_CODE,
    ['|'] = ALLOT_SC_CODE,
    ['&'] = ALLOT_SC_CODE,
    ['\\'] = KIND_BACKSLASH,
};

#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi,popcnt")))

VBMI void allot_features_scan_block_vbmi(const unsigned char *p, size_t avail, allot_block_carry *carry,
                                         allot_block_scan *out) {
    __mmask64 in = avail >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << avail) - 1);
    __m512i x = _mm512_mask_loadu_epi8(_mm512_set1_epi8(' '), in, (const void *)p);
    __mmask64 high = _mm512_movepi8_mask(x);
    __m512i kind = _mm512_maskz_permutex2var_epi8(~high, _mm512_loadu_si512((const void *)scan_kind), x,
                                                  _mm512_loadu_si512((const void *)(scan_kind + 64)));
    __mmask64 space = _mm512_test_epi8_mask(kind, _mm512_set1_epi8((char)KIND_SPACE));
    __mmask64 digit = _mm512_test_epi8_mask(kind, _mm512_set1_epi8((char)KIND_DIGIT));
    __mmask64 letter = _mm512_test_epi8_mask(kind, _mm512_set1_epi8((char)KIND_LETTER));
    __mmask64 upper = letter & ~_mm512_test_epi8_mask(x, _mm512_set1_epi8(0x20));
    __mmask64 cont =
        _mm512_cmple_epu8_mask(_mm512_sub_epi8(x, _mm512_set1_epi8((char)0x80)), _mm512_set1_epi8(0x3F));
    __mmask64 term = _mm512_test_epi8_mask(kind, _mm512_set1_epi8((char)KIND_TERM));
    block_common(x, space, digit | letter | high, digit, upper, high, cont, term, carry, out);
    __m512i cls = _mm512_and_si512(kind, _mm512_set1_epi8(0x0F));
    out->rare = _mm512_cmpeq_epi8_mask(cls, _mm512_set1_epi8((char)KIND_BACKSLASH)) | EQ(x, 0xC2) |
                EQ(x, 0xC3) | EQ(x, 0xE2);
    for (int c = 1; c < ALLOT_SC_COUNT; c++)
        out->count[c] += count64(_mm512_cmpeq_epi8_mask(cls, _mm512_set1_epi8((char)c)));
}

/* ---- the block scan (AVX-512BW) ---- */

int allot_features_avx512bw_usable(void) {
    return allot_cpu_avx512bw();
}

/* lo <= x <= hi, unsigned */
AVX512BW static __mmask64 in_range(__m512i x, unsigned char lo, unsigned char hi) {
    return _mm512_cmple_epu8_mask(_mm512_sub_epi8(x, _mm512_set1_epi8((char)lo)),
                                  _mm512_set1_epi8((char)(hi - lo)));
}

AVX512BW void allot_features_scan_block_avx512bw(const unsigned char *p, size_t avail,
                                                 allot_block_carry *carry, allot_block_scan *out) {
    __mmask64 in = avail >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << avail) - 1);
    __m512i x = _mm512_mask_loadu_epi8(_mm512_set1_epi8(' '), in, (const void *)p);
    __mmask64 space = in_range(x, '\t', '\r') | _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(' '));
    __mmask64 digit = in_range(x, '0', '9');
    __mmask64 upper = in_range(x, 'A', 'Z');
    __mmask64 high = _mm512_movepi8_mask(x);
    __mmask64 cont = in_range(x, 0x80, 0xBF);
    __mmask64 token = digit | upper | in_range(x, 'a', 'z') | high;
    block_common(x, space, token, digit, upper, high, cont, EQ(x, '.') | EQ(x, '!') | EQ(x, '?'), carry, out);
    out->rare = EQ(x, '\\') | EQ(x, 0xC2) | EQ(x, 0xC3) | EQ(x, 0xE2);
    out->count[ALLOT_SC_QUESTION] += count64(EQ(x, '?'));
    out->count[ALLOT_SC_DOLLAR] += count64(EQ(x, '$'));
    out->count[ALLOT_SC_CARET] += count64(EQ(x, '^'));
    out->count[ALLOT_SC_PERCENT] += count64(EQ(x, '%'));
    out->count[ALLOT_SC_EQUALS] += count64(EQ(x, '='));
    out->count[ALLOT_SC_NEWLINE] += count64(EQ(x, '\n'));
    out->count[ALLOT_SC_OPERATOR] +=
        count64(EQ(x, '+') | EQ(x, '-') | EQ(x, '*') | EQ(x, '/') | EQ(x, '<') | EQ(x, '>'));
    out->count[ALLOT_SC_BRACKET] +=
        count64(EQ(x, '(') | EQ(x, ')') | EQ(x, '[') | EQ(x, ']') | EQ(x, '{') | EQ(x, '}'));
    out->count[ALLOT_SC_CODE] +=
        count64(EQ(x, ';') | EQ(x, '_') | EQ(x, '`') | EQ(x, '#') | EQ(x, '|') | EQ(x, '&'));
}

#else

int allot_features_events_vbmi2(uint64_t starts, uint64_t ends, uint32_t base, uint32_t *start, size_t *ns,
                                uint32_t *end, size_t *ne, size_t max_starts) {
    return allot_features_events_avx512(starts, ends, base, start, ns, end, ne, max_starts);
}

size_t allot_features_nonzero16_vbmi2(const uint16_t *count, size_t dim, uint32_t *out) {
    (void)count;
    (void)dim;
    (void)out;
    return 0;
}

void allot_features_finish16_avx512(const uint32_t *idx, const uint16_t *count, float *val, size_t n,
                                    int l2) {
    (void)idx;
    (void)count;
    (void)val;
    (void)n;
    (void)l2;
}

void allot_features_scan_block_vbmi(const unsigned char *p, size_t avail, allot_block_carry *carry,
                                    allot_block_scan *out) {
    (void)p;
    (void)avail;
    (void)carry;
    (void)out;
}

void allot_features_standardize_avx512(const float *x, const double *center, const double *scale, size_t n,
                                       float *out) {
    (void)x;
    (void)center;
    (void)scale;
    (void)n;
    (void)out;
}

int allot_features_vbmi2_usable(void) {
    return 0;
}

void allot_features_pick_avx512(const double *v, const int *id, size_t n, uint64_t flags, unsigned first_flag,
                                float *out) {
    (void)v;
    (void)id;
    (void)n;
    (void)flags;
    (void)first_flag;
    (void)out;
}

void allot_features_keys16_avx512(const uint32_t *h, size_t m, uint32_t mask, uint16_t *key) {
    (void)h;
    (void)m;
    (void)mask;
    (void)key;
}

size_t allot_features_sort_count_vbmi2(const uint16_t *keys, size_t n, uint32_t *idx, float *val, int l2) {
    (void)keys;
    (void)n;
    (void)idx;
    (void)val;
    (void)l2;
    return 0;
}

size_t allot_features_flatten_vbmi2(const uint32_t *bits, size_t nwords, uint32_t *out) {
    (void)bits;
    (void)nwords;
    (void)out;
    return 0;
}

int allot_features_events_avx512(uint64_t starts, uint64_t ends, uint32_t base, uint32_t *start, size_t *ns,
                                 uint32_t *end, size_t *ne, size_t max_starts) {
    (void)max_starts;
    (void)starts;
    (void)ends;
    (void)base;
    (void)start;
    (void)ns;
    (void)end;
    (void)ne;
    return 0;
}

void allot_features_finish_avx512(const uint32_t *idx, float *val, size_t n, int l2) {
    (void)idx;
    (void)val;
    (void)n;
    (void)l2;
}

int allot_features_avx512bw_usable(void) {
    return 0;
}

void allot_features_scan_block_avx512bw(const unsigned char *p, size_t avail, allot_block_carry *carry,
                                        allot_block_scan *out) {
    (void)p;
    (void)avail;
    (void)carry;
    (void)out;
}

int allot_features_avx512_usable(void) {
    return 0;
}

void allot_features_tokens_avx512(const allot_kw_view *kw, const allot_token_batch_in *in,
                                  allot_token_batch_out *out) {
    (void)kw;
    (void)in;
    (void)out;
}

#endif
