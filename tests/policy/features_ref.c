/*
 * features_ref.c - the featuriser as it was before the single-pass rewrite (runtime/src/features.c
 * at commit 40f9906), kept as the reference that test_features_ref and bench/text compare the
 * runtime against: the same prompts must give the same bits. The featurisation code below is that
 * file's, unchanged; only what featurisation needs is kept (no spec parsing, categorical fields,
 * embeddings or standardisation) and the public names are prefixed ref_ so that it links beside
 * the runtime. Do not "improve" it: its job is to stay what the runtime used to compute.
 */
#include "features_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- built-in feature table ------------------------------------------------------------------- */

enum {
    F_LEN_BYTES,
    F_LEN_CHARS,
    F_N_WORDS,
    F_N_LINES,
    F_N_SENTENCES,
    F_N_QUESTION_MARKS,
    F_AVG_WORD_LEN,
    F_N_TOKENS,
    F_N_DIGITS,
    F_N_NUMBERS,
    F_MAX_NUMBER_LOG10,
    F_N_DECIMALS,
    F_N_OPERATORS,
    F_N_EQUALS,
    F_N_LATEX_CMDS,
    F_N_LATEX_FRAC,
    F_N_LATEX_SQRT,
    F_N_DOLLARS,
    F_N_CARETS,
    F_N_BRACKETS,
    F_N_CODE_PUNCT,
    F_N_UPPERCASE,
    F_N_NON_ASCII,
    F_N_PERCENT_SIGNS,
    /* question-word flags */
    F_Q_HOW_MANY,
    F_Q_HOW_MUCH,
    F_Q_HOW,
    F_Q_WHAT,
    F_Q_WHICH,
    F_Q_WHY,
    F_Q_WHEN,
    F_Q_WHERE,
    F_Q_WHO,
    F_Q_FIND,
    F_Q_COMPUTE,
    F_Q_PROVE,
    /* keyword flags */
    F_KW_PERCENT,
    F_KW_RATIO,
    F_KW_AVERAGE,
    F_KW_PROBABILITY,
    F_KW_FRACTION,
    F_KW_REMAINDER,
    F_KW_TOTAL,
    F_KW_EACH,
    F_KW_MULTIPLE,
    F_KW_MONEY,
    F_KW_TIME,
    F_KW_GEOMETRY,
    F_KW_NUMBER_THEORY,
    F_KW_ALGEBRA,
    F_KW_CODE,
    F_KW_NEGATION,
    F_COUNT
};

static const char *const builtin_names[F_COUNT] = {
    "len_bytes",        "len_chars",    "n_words",     "n_lines",          "n_sentences",
    "n_question_marks", "avg_word_len", "n_tokens",    "n_digits",         "n_numbers",
    "max_number_log10", "n_decimals",   "n_operators", "n_equals",         "n_latex_cmds",
    "n_latex_frac",     "n_latex_sqrt", "n_dollars",   "n_carets",         "n_brackets",
    "n_code_punct",     "n_uppercase",  "n_non_ascii", "n_percent_signs",  "q_how_many",
    "q_how_much",       "q_how",        "q_what",      "q_which",          "q_why",
    "q_when",           "q_where",      "q_who",       "q_find",           "q_compute",
    "q_prove",          "kw_percent",   "kw_ratio",    "kw_average",       "kw_probability",
    "kw_fraction",      "kw_remainder", "kw_total",    "kw_each",          "kw_multiple",
    "kw_money",         "kw_time",      "kw_geometry", "kw_number_theory", "kw_algebra",
    "kw_code",          "kw_negation",
};

/* Keyword -> flag feature. A two-word entry matches the bigram "first second". */
typedef struct {
    const char *first;
    const char *second; /* NULL for a single word */
    int feature;
} keyword_entry;

static const keyword_entry keywords[] = {
    {"how", "many", F_Q_HOW_MANY},
    {"how", "much", F_Q_HOW_MUCH},
    {"how", NULL, F_Q_HOW},
    {"what", NULL, F_Q_WHAT},
    {"which", NULL, F_Q_WHICH},
    {"why", NULL, F_Q_WHY},
    {"when", NULL, F_Q_WHEN},
    {"where", NULL, F_Q_WHERE},
    {"who", NULL, F_Q_WHO},
    {"whom", NULL, F_Q_WHO},
    {"whose", NULL, F_Q_WHO},
    {"find", NULL, F_Q_FIND},
    {"determine", NULL, F_Q_FIND},
    {"compute", NULL, F_Q_COMPUTE},
    {"calculate", NULL, F_Q_COMPUTE},
    {"evaluate", NULL, F_Q_COMPUTE},
    {"simplify", NULL, F_Q_COMPUTE},
    {"solve", NULL, F_Q_COMPUTE},
    {"prove", NULL, F_Q_PROVE},
    {"show", "that", F_Q_PROVE},
    {"percent", NULL, F_KW_PERCENT},
    {"percentage", NULL, F_KW_PERCENT},
    {"percents", NULL, F_KW_PERCENT},
    {"ratio", NULL, F_KW_RATIO},
    {"ratios", NULL, F_KW_RATIO},
    {"proportion", NULL, F_KW_RATIO},
    {"proportional", NULL, F_KW_RATIO},
    {"rate", NULL, F_KW_RATIO},
    {"average", NULL, F_KW_AVERAGE},
    {"mean", NULL, F_KW_AVERAGE},
    {"median", NULL, F_KW_AVERAGE},
    {"probability", NULL, F_KW_PROBABILITY},
    {"chance", NULL, F_KW_PROBABILITY},
    {"likely", NULL, F_KW_PROBABILITY},
    {"random", NULL, F_KW_PROBABILITY},
    {"randomly", NULL, F_KW_PROBABILITY},
    {"expected", NULL, F_KW_PROBABILITY},
    {"fraction", NULL, F_KW_FRACTION},
    {"fractions", NULL, F_KW_FRACTION},
    {"half", NULL, F_KW_FRACTION},
    {"third", NULL, F_KW_FRACTION},
    {"quarter", NULL, F_KW_FRACTION},
    {"remainder", NULL, F_KW_REMAINDER},
    {"remaining", NULL, F_KW_REMAINDER},
    {"left", NULL, F_KW_REMAINDER},
    {"rest", NULL, F_KW_REMAINDER},
    {"total", NULL, F_KW_TOTAL},
    {"altogether", NULL, F_KW_TOTAL},
    {"sum", NULL, F_KW_TOTAL},
    {"combined", NULL, F_KW_TOTAL},
    {"each", NULL, F_KW_EACH},
    {"per", NULL, F_KW_EACH},
    {"every", NULL, F_KW_EACH},
    {"times", NULL, F_KW_MULTIPLE},
    {"twice", NULL, F_KW_MULTIPLE},
    {"double", NULL, F_KW_MULTIPLE},
    {"triple", NULL, F_KW_MULTIPLE},
    {"dollar", NULL, F_KW_MONEY},
    {"dollars", NULL, F_KW_MONEY},
    {"cent", NULL, F_KW_MONEY},
    {"cents", NULL, F_KW_MONEY},
    {"price", NULL, F_KW_MONEY},
    {"cost", NULL, F_KW_MONEY},
    {"costs", NULL, F_KW_MONEY},
    {"pay", NULL, F_KW_MONEY},
    {"paid", NULL, F_KW_MONEY},
    {"earn", NULL, F_KW_MONEY},
    {"earns", NULL, F_KW_MONEY},
    {"profit", NULL, F_KW_MONEY},
    {"hour", NULL, F_KW_TIME},
    {"hours", NULL, F_KW_TIME},
    {"minute", NULL, F_KW_TIME},
    {"minutes", NULL, F_KW_TIME},
    {"second", NULL, F_KW_TIME},
    {"seconds", NULL, F_KW_TIME},
    {"day", NULL, F_KW_TIME},
    {"days", NULL, F_KW_TIME},
    {"week", NULL, F_KW_TIME},
    {"weeks", NULL, F_KW_TIME},
    {"month", NULL, F_KW_TIME},
    {"months", NULL, F_KW_TIME},
    {"year", NULL, F_KW_TIME},
    {"years", NULL, F_KW_TIME},
    {"triangle", NULL, F_KW_GEOMETRY},
    {"circle", NULL, F_KW_GEOMETRY},
    {"square", NULL, F_KW_GEOMETRY},
    {"rectangle", NULL, F_KW_GEOMETRY},
    {"area", NULL, F_KW_GEOMETRY},
    {"perimeter", NULL, F_KW_GEOMETRY},
    {"radius", NULL, F_KW_GEOMETRY},
    {"angle", NULL, F_KW_GEOMETRY},
    {"volume", NULL, F_KW_GEOMETRY},
    {"polygon", NULL, F_KW_GEOMETRY},
    {"integer", NULL, F_KW_NUMBER_THEORY},
    {"integers", NULL, F_KW_NUMBER_THEORY},
    {"prime", NULL, F_KW_NUMBER_THEORY},
    {"primes", NULL, F_KW_NUMBER_THEORY},
    {"divisible", NULL, F_KW_NUMBER_THEORY},
    {"divisor", NULL, F_KW_NUMBER_THEORY},
    {"divisors", NULL, F_KW_NUMBER_THEORY},
    {"digit", NULL, F_KW_NUMBER_THEORY},
    {"digits", NULL, F_KW_NUMBER_THEORY},
    {"gcd", NULL, F_KW_NUMBER_THEORY},
    {"lcm", NULL, F_KW_NUMBER_THEORY},
    {"modulo", NULL, F_KW_NUMBER_THEORY},
    {"equation", NULL, F_KW_ALGEBRA},
    {"equations", NULL, F_KW_ALGEBRA},
    {"polynomial", NULL, F_KW_ALGEBRA},
    {"variable", NULL, F_KW_ALGEBRA},
    {"function", NULL, F_KW_ALGEBRA},
    {"roots", NULL, F_KW_ALGEBRA},
    {"real", NULL, F_KW_ALGEBRA},
    {"return", NULL, F_KW_CODE},
    {"input", NULL, F_KW_CODE},
    {"output", NULL, F_KW_CODE},
    {"array", NULL, F_KW_CODE},
    {"string", NULL, F_KW_CODE},
    {"print", NULL, F_KW_CODE},
    {"implement", NULL, F_KW_CODE},
    {"program", NULL, F_KW_CODE},
    {"constraints", NULL, F_KW_CODE},
    {"stdin", NULL, F_KW_CODE},
    {"queries", NULL, F_KW_CODE},
    {"not", NULL, F_KW_NEGATION},
    {"no", NULL, F_KW_NEGATION},
    {"never", NULL, F_KW_NEGATION},
    {"except", NULL, F_KW_NEGATION},
    {"without", NULL, F_KW_NEGATION},
};
#define N_KEYWORDS (sizeof keywords / sizeof keywords[0])

size_t ref_features_n_keywords(void) {
    return N_KEYWORDS;
}
const char *ref_features_keyword(size_t i, const char **second) {
    *second = keywords[i].second;
    return keywords[i].first;
}

/* log10(n / 10) for n = 10..99, used by max_number_log10 (two significant digits). */
static const double log10_lead2[90] = {
    0,
    0.04139268515822507,
    0.079181246047624818,
    0.11394335230683678,
    0.14612803567823801,
    0.17609125905568124,
    0.20411998265592482,
    0.23044892137827391,
    0.25527250510330607,
    0.27875360095282892,
    0.3010299956639812,
    0.3222192947339193,
    0.34242268082220628,
    0.36172783601759284,
    0.38021124171160603,
    0.3979400086720376,
    0.41497334797081797,
    0.43136376415898736,
    0.44715803134221921,
    0.46239799789895608,
    0.47712125471966244,
    0.49136169383427269,
    0.50514997831990605,
    0.51851393987788741,
    0.53147891704225514,
    0.54406804435027567,
    0.55630250076728727,
    0.56820172406699498,
    0.57978359661681012,
    0.59106460702649921,
    0.6020599913279624,
    0.61278385671973545,
    0.62324929039790045,
    0.63346845557958653,
    0.64345267648618742,
    0.65321251377534373,
    0.66275783168157409,
    0.67209785793571752,
    0.68124123737558717,
    0.69019608002851374,
    0.69897000433601886,
    0.70757017609793638,
    0.71600334363479923,
    0.72427586960078905,
    0.7323937598229685,
    0.74036268949424389,
    0.74818802700620046,
    0.75587485567249146,
    0.76342799356293733,
    0.77085201164214423,
    0.77815125038364363,
    0.78532983501076703,
    0.79239168949825389,
    0.79934054945358168,
    0.80617997398388719,
    0.81291335664285558,
    0.81954393554186866,
    0.82607480270082645,
    0.83250891270623628,
    0.83884909073725533,
    0.84509804001425681,
    0.85125834871907524,
    0.85733249643126852,
    0.86332286012045589,
    0.86923171973097624,
    0.87506126339170009,
    0.88081359228079137,
    0.88649072517248184,
    0.89209460269048035,
    0.89762709129044138,
    0.90308998699194354,
    0.90848501887864974,
    0.91381385238371671,
    0.91907809237607396,
    0.9242792860618817,
    0.92941892571429274,
    0.93449845124356767,
    0.93951925261861846,
    0.94448267215016868,
    0.9493900066449128,
    0.95424250943932487,
    0.95904139232109353,
    0.96378782734555524,
    0.96848294855393513,
    0.97312785359969867,
    0.97772360528884772,
    0.98227123303956843,
    0.98677173426624476,
    0.99122607569249488,
    0.9956351945975499,
};

const char *ref_features_builtin_name(size_t i) {
    return i < F_COUNT ? builtin_names[i] : NULL;
}

/* ---- FNV-1a ------------------------------------------------------------------------------------ */

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static unsigned char lower_ascii(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static uint32_t fnv_update_lower(uint32_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= lower_ascii(p[i]);
        h *= FNV_PRIME;
    }
    return h;
}

static uint32_t fnv_str(const char *s) {
    return fnv_update_lower(FNV_OFFSET, (const unsigned char *)s, strlen(s));
}

/* ---- the featuriser ------------------------------------------------------------------------------ */

#define KW_TABLE_SIZE 512u /* power of two, > 2 * N_KEYWORDS */
#define KW_MAX_LEN 32u     /* tokens at least this long never match a keyword */

typedef struct {
    uint32_t hash;
    int16_t entry; /* index into keywords[], -1 = empty */
} kw_slot;

struct ref_featurizer {
    size_t n_extra;
    uint32_t hash_dim;
    int ngrams;  /* 1 or 2 */
    int norm_l2; /* 1 = L2-normalise the hashed block, 0 = raw counts */
    kw_slot kw[KW_TABLE_SIZE];
    size_t n_prefix;
    const char *prefix[8];
    size_t prefix_len[8];
    uint32_t prefix_hash[8];
};
typedef struct ref_featurizer allot_featurizer;

static void kw_build(allot_featurizer *f) {
    for (size_t i = 0; i < KW_TABLE_SIZE; i++) f->kw[i].entry = -1;
    for (size_t e = 0; e < N_KEYWORDS; e++) {
        uint32_t h = fnv_str(keywords[e].first);
        if (keywords[e].second) {
            h ^= (unsigned char)' ';
            h *= FNV_PRIME;
            h = fnv_update_lower(h, (const unsigned char *)keywords[e].second, strlen(keywords[e].second));
        }
        uint32_t s = h & (KW_TABLE_SIZE - 1);
        while (f->kw[s].entry >= 0) s = (s + 1) & (KW_TABLE_SIZE - 1);
        f->kw[s].hash = h;
        f->kw[s].entry = (int16_t)e;
        if (keywords[e].second) {
            size_t k = 0;
            while (k < f->n_prefix && strcmp(f->prefix[k], keywords[e].first)) k++;
            if (k == f->n_prefix && k < sizeof f->prefix / sizeof f->prefix[0]) {
                f->prefix[k] = keywords[e].first;
                f->prefix_len[k] = strlen(keywords[e].first);
                f->prefix_hash[k] = fnv_str(keywords[e].first);
                f->n_prefix++;
            }
        }
    }
}

/* Look up a (lower-cased) word or bigram; returns the keyword entry or -1. */
static int kw_find(const allot_featurizer *f, uint32_t h, const char *w1, size_t n1, const char *w2,
                   size_t n2) {
    uint32_t s = h & (KW_TABLE_SIZE - 1);
    while (f->kw[s].entry >= 0) {
        if (f->kw[s].hash == h) {
            const keyword_entry *k = &keywords[f->kw[s].entry];
            int ok = strlen(k->first) == n1 && !memcmp(k->first, w1, n1);
            if (ok) {
                if (w2)
                    ok = k->second && strlen(k->second) == n2 && !memcmp(k->second, w2, n2);
                else
                    ok = k->second == NULL;
            }
            if (ok) return f->kw[s].entry;
        }
        s = (s + 1) & (KW_TABLE_SIZE - 1);
    }
    return -1;
}

/* double -> float32 with IEEE round-to-nearest, overflow to +-inf (no UB for out-of-range values). */
static float to_f32(double x) {
    if (x >= 0x1.ffffffp+127) return INFINITY;
    if (x <= -0x1.ffffffp+127) return -INFINITY;
    return (float)x;
}
/* ---- featurisation ------------------------------------------------------------------------------------- */

/* Byte classes (a constant table: whitespace, digit, letter, capital, token byte, sentence end,
 * UTF-8 continuation byte, and "special": a byte some counter of pass 1 looks at individually). */
enum {
    BC_SPACE = 1,
    BC_DIGIT = 2,
    BC_ALPHA = 4,
    BC_UPPER = 8,
    BC_TOKEN = 16,
    BC_TERM = 32,
    BC_CONT = 64,
    BC_SPECIAL = 128
};
static const unsigned char byte_class[256] = {
    0,  0,   0,  0,   0,   0,   0,   0,   0,   1,  1,  1,  1,  1,   0,   0,   0,   0,   0,   0,   0,   0,
    0,  0,   0,  0,   0,   0,   0,   0,   0,   0,  1,  32, 0,  128, 128, 128, 128, 0,   128, 128, 128, 128,
    0,  128, 32, 128, 18,  18,  18,  18,  18,  18, 18, 18, 18, 18,  0,   128, 128, 128, 128, 160, 0,   28,
    28, 28,  28, 28,  28,  28,  28,  28,  28,  28, 28, 28, 28, 28,  28,  28,  28,  28,  28,  28,  28,  28,
    28, 28,  28, 128, 128, 128, 128, 128, 128, 20, 20, 20, 20, 20,  20,  20,  20,  20,  20,  20,  20,  20,
    20, 20,  20, 20,  20,  20,  20,  20,  20,  20, 20, 20, 20, 128, 128, 128, 0,   0,   80,  80,  80,  80,
    80, 80,  80, 80,  80,  80,  80,  80,  80,  80, 80, 80, 80, 80,  80,  80,  80,  80,  80,  80,  80,  80,
    80, 80,  80, 80,  80,  80,  80,  80,  80,  80, 80, 80, 80, 80,  80,  80,  80,  80,  80,  80,  80,  80,
    80, 80,  80, 80,  80,  80,  80,  80,  80,  80, 80, 80, 80, 80,  80,  80,  16,  16,  144, 144, 16,  16,
    16, 16,  16, 16,  16,  16,  16,  16,  16,  16, 16, 16, 16, 16,  16,  16,  16,  16,  16,  16,  16,  16,
    16, 16,  16, 16,  16,  16,  144, 16,  16,  16, 16, 16, 16, 16,  16,  16,  16,  16,  16,  16,  16,  16,
    16, 16,  16, 16,  16,  16,  16,  16,  16,  16, 16, 16, 16, 16,
};

static int is_digit(unsigned char c) {
    return (byte_class[c] & BC_DIGIT) != 0;
}
static int is_alpha(unsigned char c) {
    return (byte_class[c] & BC_ALPHA) != 0;
}
static int is_token_byte(unsigned char c) {
    return (byte_class[c] & BC_TOKEN) != 0;
}

/* Sparse accumulator over the caller's arrays. */
typedef struct {
    uint32_t *idx;
    float *val;
    size_t cap, n;
    int direct;     /* cap >= hash_dim: count directly in val[0..hash_dim), see sparse_finish */
    uint32_t *bits; /* direct mode: bitmap of touched indices, in the last nwords entries of idx[] */
    size_t nwords;
    int sorted;   /* entries [0, n) are sorted and unique */
    int overflow; /* a distinct index did not fit */
} sparse_acc;

static void sift_down(uint32_t *idx, float *val, size_t root, size_t n) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && idx[child + 1] > idx[child]) child++;
        if (idx[root] >= idx[child]) return;
        uint32_t ti = idx[root];
        idx[root] = idx[child];
        idx[child] = ti;
        float tv = val[root];
        val[root] = val[child];
        val[child] = tv;
        root = child;
    }
}

/* Heap-sort by index, then merge equal indices by summing their values. In place, no allocation. */
static size_t sort_merge(uint32_t *idx, float *val, size_t n) {
    if (n < 2) return n;
    for (size_t i = n / 2; i-- > 0;) sift_down(idx, val, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        uint32_t ti = idx[0];
        idx[0] = idx[end];
        idx[end] = ti;
        float tv = val[0];
        val[0] = val[end];
        val[end] = tv;
        sift_down(idx, val, 0, end);
    }
    size_t w = 0;
    for (size_t r = 1; r < n; r++) {
        if (idx[r] == idx[w])
            val[w] += val[r];
        else {
            w++;
            idx[w] = idx[r];
            val[w] = val[r];
        }
    }
    return w + 1;
}

static void sparse_add(sparse_acc *a, uint32_t index) {
    if (a->direct) { /* val[] is a dense count array of hash_dim entries, valid where bits are set */
        uint32_t *w = &a->bits[index >> 5], m = 1u << (index & 31u);
        if (*w & m) {
            a->val[index] += 1.0f;
        } else {
            *w |= m;
            a->val[index] = 1.0f;
        }
        return;
    }
    if (a->overflow) return;
    if (a->n == a->cap) {
        if (!a->sorted) {
            a->n = sort_merge(a->idx, a->val, a->n);
            a->sorted = 1;
        }
        if (a->n == a->cap) { /* still full: only an index already present can be counted */
            size_t lo = 0, hi = a->n;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (a->idx[mid] < index)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < a->n && a->idx[lo] == index)
                a->val[lo] += 1.0f;
            else
                a->overflow = 1;
            return;
        }
    }
    a->idx[a->n] = index;
    a->val[a->n] = 1.0f;
    a->n++;
    a->sorted = 0;
}

static unsigned ctz32(uint32_t x) { /* x != 0 */
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctz(x);
#else
    unsigned n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/*
 * Finish accumulation: sorted unique (index, count) pairs in idx/val[0..n).
 * Direct mode walks the bitmap, which lives in idx[hash_dim - nwords, hash_dim): word k is read
 * before any output of its bits is written, and outputs so far number at most 32 (k + 1) <=
 * hash_dim - nwords + k + 1, the position of word k + 1, so unread words are never overwritten;
 * val[j] moves down to val[w] with w <= j, in increasing order, so no count is overwritten early.
 */
static void sparse_finish(sparse_acc *a, uint32_t hash_dim) {
    (void)hash_dim;
    if (a->direct) {
        size_t w = 0;
        for (size_t k = 0; k < a->nwords; k++) {
            uint32_t word = a->bits[k];
            while (word) {
                uint32_t j = (uint32_t)(k * 32u + ctz32(word));
                word &= word - 1u;
                a->idx[w] = j;
                a->val[w] = a->val[j];
                w++;
            }
        }
        a->n = w;
    } else if (!a->sorted) {
        a->n = sort_merge(a->idx, a->val, a->n);
        a->sorted = 1;
    }
}

/* 1 when p[0..n) starts with the literal lit. */
static int starts_with(const unsigned char *p, size_t n, const char *lit) {
    size_t m = strlen(lit);
    return n >= m && !memcmp(p, lit, m);
}

static size_t hist_sum(const uint32_t *h, unsigned lo, unsigned hi) { /* h[lo..hi] */
    size_t s = 0;
    for (unsigned c = lo; c <= hi; c++) s += h[c];
    return s;
}

/*
 * Pass 1: every byte-level count from one branch-free loop: a byte histogram, word starts, and
 * sentence ends (a '.', '!' or '?' followed by whitespace or the end is the last byte of a
 * terminating run, so counting those bytes counts the runs); a final unterminated sentence exists
 * when a non-whitespace byte follows the last such terminator. Sequences (LaTeX commands, UTF-8
 * operators) are looked for only when the histogram says their first byte occurs.
 */
static void pass_bytes(const unsigned char *p, size_t n, double *v) {
    uint32_t h[256];
    memset(h, 0, sizeof h);
    size_t words = 0, sentences = 0, last_nonspace = 0, last_term = 0; /* positions + 1; 0 = none */
    unsigned prev_space = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i], k = byte_class[c];
        unsigned sp = (k & BC_SPACE) != 0;
        unsigned next_sp = i + 1 < n ? (byte_class[p[i + 1]] & BC_SPACE) != 0 : 1u;
        unsigned te = ((k & BC_TERM) != 0) & next_sp;
        h[c]++;
        words += (!sp) & prev_space;
        prev_space = sp;
        sentences += te;
        last_term = te ? i + 1 : last_term;
        last_nonspace = sp ? last_nonspace : i + 1;
    }
    size_t spaces = h[' '] + h['\t'] + h['\n'] + h['\r'] + h['\v'] + h['\f'];
    size_t ops = h['+'] + h['-'] + h['*'] + h['/'] + h['<'] + h['>'] + h['^'] + h['='];
    size_t latex = 0, frac = 0, sqrt_ = 0;
    if (h['\\']) {
        for (const unsigned char *q = memchr(p, '\\', n); q;
             q = memchr(q + 1, '\\', n - (size_t)(q + 1 - p))) {
            size_t rest = n - (size_t)(q + 1 - p);
            if (rest == 0) break;
            if (!is_alpha(q[1])) continue;
            latex++;
            if (starts_with(q + 1, rest, "frac") || starts_with(q + 1, rest, "dfrac") ||
                starts_with(q + 1, rest, "tfrac"))
                frac++;
            if (starts_with(q + 1, rest, "sqrt")) sqrt_++;
        }
    }
    if (h[0xC2] | h[0xC3] | h[0xE2]) {
        for (size_t i = 0; i + 1 < n; i++) {
            unsigned c = p[i];
            if (c == 0xC2) { /* U+00B7 middle dot */
                ops += p[i + 1] == 0xB7;
            } else if (c == 0xC3) { /* U+00D7 times, U+00F7 division */
                ops += p[i + 1] == 0x97 || p[i + 1] == 0xB7;
            } else if (c == 0xE2 && i + 2 < n) { /* U+2212 minus, U+2260 not equal, U+2264 <=, U+2265 >= */
                ops += (p[i + 1] == 0x88 && p[i + 2] == 0x92) ||
                       (p[i + 1] == 0x89 && (p[i + 2] == 0xA0 || p[i + 2] == 0xA4 || p[i + 2] == 0xA5));
            }
        }
    }
    v[F_LEN_BYTES] = (double)n;
    v[F_LEN_CHARS] = (double)(n - hist_sum(h, 0x80, 0xBF));
    v[F_N_NON_ASCII] = (double)hist_sum(h, 0x80, 0xFF);
    v[F_N_DIGITS] = (double)hist_sum(h, '0', '9');
    v[F_N_UPPERCASE] = (double)hist_sum(h, 'A', 'Z');
    v[F_N_QUESTION_MARKS] = (double)h['?'];
    v[F_N_DOLLARS] = (double)h['$'];
    v[F_N_CARETS] = (double)h['^'];
    v[F_N_PERCENT_SIGNS] = (double)h['%'];
    v[F_N_EQUALS] = (double)h['='];
    v[F_N_OPERATORS] = (double)ops;
    v[F_N_BRACKETS] = (double)(h['('] + h[')'] + h['['] + h[']'] + h['{'] + h['}']);
    v[F_N_CODE_PUNCT] = (double)(h[';'] + h['_'] + h['`'] + h['#'] + h['|'] + h['&']);
    v[F_N_LATEX_CMDS] = (double)latex;
    v[F_N_LATEX_FRAC] = (double)frac;
    v[F_N_LATEX_SQRT] = (double)sqrt_;
    v[F_N_WORDS] = (double)words;
    v[F_N_LINES] = n == 0 ? 0 : (double)(h['\n'] + (p[n - 1] == '\n' ? 0 : 1));
    v[F_N_SENTENCES] = (double)(sentences + (last_nonspace > last_term ? 1 : 0));
    v[F_AVG_WORD_LEN] = words ? (double)(n - spaces) / (double)words : 0;
    if (h['%'] > 0) v[F_KW_PERCENT] = 1;
}

/* Pass 3: numbers = digit runs joined by ',' (any number of times) or one '.' between digits. */
static void pass_numbers(const unsigned char *p, size_t n, double *v) {
    size_t best_digits = 0;
    unsigned best_lead = 0;
    int have_best = 0;
    size_t i = 0;
    while (i < n) {
        if (!is_digit(p[i])) {
            i++;
            continue;
        }
        size_t int_digits = 0;
        unsigned lead = 0;
        int sig = 0, started = 0, seen_dot = 0;
        while (i < n) {
            unsigned char c = p[i];
            if (is_digit(c)) {
                if (!seen_dot && (started || c != '0')) {
                    started = 1;
                    int_digits++;
                }
                if (started && sig < 2) {
                    lead = lead * 10 + (unsigned)(c - '0');
                    sig++;
                }
                i++;
            } else if ((c == ',' || (c == '.' && !seen_dot)) && i + 1 < n && is_digit(p[i + 1])) {
                if (c == '.') {
                    seen_dot = 1;
                    v[F_N_DECIMALS] += 1;
                }
                i++;
            } else {
                break;
            }
        }
        v[F_N_NUMBERS] += 1;
        if (started) {
            if (sig == 1) lead *= 10;
            if (!have_best || int_digits > best_digits || (int_digits == best_digits && lead > best_lead)) {
                best_digits = int_digits;
                best_lead = lead;
                have_best = 1;
            }
        }
    }
    if (have_best) v[F_MAX_NUMBER_LOG10] = (double)(best_digits - 1) + log10_lead2[best_lead - 10];
}

/* Pass 4: tokens (runs of ASCII letters/digits and bytes >= 0x80), keyword flags, hashed n-grams. */
static void pass_tokens(const allot_featurizer *f, const unsigned char *p, size_t n, double *v,
                        sparse_acc *acc) {
    const int bigrams = acc != NULL && f->ngrams >= 2;
    uint32_t prev_hash = 0;
    size_t prev_len = 0;
    int have_prev = 0, prev_prefix = 0;
    char prev_low[KW_MAX_LEN], low[KW_MAX_LEN];
    size_t i = 0, n_tokens = 0;
    while (i < n) {
        if (!is_token_byte(p[i])) {
            i++;
            continue;
        }
        /* one loop: find the token's end, hash it, keep a lower-cased copy of its first bytes */
        size_t s = i;
        uint32_t h = FNV_OFFSET;
        do {
            unsigned char c = lower_ascii(p[i]);
            if (i - s < KW_MAX_LEN) low[i - s] = (char)c;
            h = (h ^ c) * FNV_PRIME;
            i++;
        } while (i < n && is_token_byte(p[i]));
        size_t len = i - s;
        n_tokens++;
        if (acc) sparse_add(acc, h % f->hash_dim);
        int short_tok = len < KW_MAX_LEN, prefix = 0;
        if (short_tok) {
            int e = kw_find(f, h, low, len, NULL, 0);
            if (e >= 0) v[keywords[e].feature] = 1;
            for (size_t k = 0; k < f->n_prefix; k++)
                if (f->prefix_hash[k] == h && f->prefix_len[k] == len && !memcmp(f->prefix[k], low, len))
                    prefix = 1;
        }
        if (have_prev && (bigrams || (prev_prefix && short_tok))) {
            uint32_t bh = (prev_hash ^ (unsigned char)' ') * FNV_PRIME;
            bh = short_tok ? fnv_update_lower(bh, (const unsigned char *)low, len)
                           : fnv_update_lower(bh, p + s, len);
            if (bigrams) sparse_add(acc, bh % f->hash_dim);
            if (prev_prefix && short_tok) {
                int e = kw_find(f, bh, prev_low, prev_len, low, len);
                if (e >= 0) v[keywords[e].feature] = 1;
            }
        }
        prev_hash = h;
        prev_len = len;
        have_prev = 1;
        prev_prefix = prefix;
        if (prefix) memcpy(prev_low, low, len);
    }
    v[F_N_TOKENS] = (double)n_tokens;
}

ref_featurizer *ref_featurizer_create(size_t n_extra, uint32_t hash_dim, int ngrams, int norm_l2) {
    ref_featurizer *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->n_extra = n_extra;
    f->hash_dim = hash_dim;
    f->ngrams = ngrams;
    f->norm_l2 = norm_l2;
    kw_build(f);
    return f;
}

void ref_featurizer_free(ref_featurizer *f) {
    free(f);
}

size_t ref_featurizer_n_dense(const ref_featurizer *f) {
    return F_COUNT + f->n_extra;
}

/* allot_featurize_ex of commit 40f9906 without the embedding block and the error messages: every
 * built-in in table order, then the extras. Returns 0, or -1 where it returned an error. */
int ref_featurize(const ref_featurizer *f, const char *prompt, size_t prompt_len, const double *extras,
                  size_t n_extras, float *dense_out, uint32_t *sparse_index, float *sparse_value,
                  size_t sparse_cap, size_t *sparse_count) {
    if (sparse_count) *sparse_count = 0;
    if (!f || !dense_out || (!prompt && prompt_len)) return -1;
    if (!(n_extras == 0 && !extras) && !(n_extras == f->n_extra && extras)) return -1;
    if (sparse_index && (!sparse_value || !sparse_count)) return -1;

    int do_hash = sparse_index != NULL && f->hash_dim > 0;

    const unsigned char *p = (const unsigned char *)(prompt ? prompt : "");
    double v[F_COUNT];
    for (int k = 0; k < F_COUNT; k++) v[k] = 0;
    sparse_acc acc = {sparse_index, sparse_value, sparse_cap, 0, 0, NULL, 0, 1, 0};
    if (do_hash && sparse_cap >= f->hash_dim) {
        acc.direct = 1;
        acc.nwords = ((size_t)f->hash_dim + 31u) / 32u;
        acc.bits = sparse_index + (f->hash_dim - acc.nwords);
        memset(acc.bits, 0, acc.nwords * sizeof *acc.bits);
    }

    pass_bytes(p, prompt_len, v);
    pass_numbers(p, prompt_len, v);
    pass_tokens(f, p, prompt_len, v, do_hash ? &acc : NULL);

    for (size_t k = 0; k < F_COUNT; k++) dense_out[k] = to_f32(v[k]);
    for (size_t k = 0; k < f->n_extra; k++) dense_out[F_COUNT + k] = n_extras ? to_f32(extras[k]) : NAN;

    if (do_hash) {
        sparse_finish(&acc, f->hash_dim);
        if (acc.overflow) return -1;
        if (f->norm_l2 && acc.n) {
            double ss = 0;
            for (size_t k = 0; k < acc.n; k++) {
                /* product and sum in separate statements: no compiler may fuse them into an FMA
                 * (clang's default -ffp-contract=on fuses within one expression), so the norm is
                 * the same on every platform */
                double sq = (double)acc.val[k] * (double)acc.val[k];
                ss += sq;
            }
            double norm = sqrt(ss);
            for (size_t k = 0; k < acc.n; k++) acc.val[k] = (float)((double)acc.val[k] / norm);
        }
        *sparse_count = acc.n;
    }
    return 0;
}
