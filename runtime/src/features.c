/*
 * features.c - the shared featuriser (see include/allot/allot_features.h and docs/features.md).
 *
 * Everything here is integer arithmetic plus IEEE-754 double +,-,*,/ and sqrt (all correctly
 * rounded), with no transcendental libm call, so values are identical on every platform.
 */
#include "allot/allot_features.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features_internal.h"
#include "features_simd.h"
#include "runtime_io.h"

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

size_t allot_features_n_builtin(void) {
    return F_COUNT;
}

const char *allot_features_builtin_name(size_t i) {
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

/* ---- the featuriser ------------------------------------------------------------------------------ */

/*
 * The keyword table. A token is looked up by its lower-cased bytes when it has at most KW_KEY_MAX of
 * them (every keyword word has at most ALLOT_KW_WORD_MAX): zero-padded to 16 bytes and read as four
 * 32-bit words (in host order, as the table was built), with its length. A multilinear hash of the
 * first three words and the length picks one of KW_SLOTS slots, and the multipliers are chosen when
 * the featuriser is built so that no two keyword words share a slot: a lookup is one probe and one
 * comparison, without a branch. The slot holds the word itself and what it does: a word can set a
 * flag on its own, begin a two-word keyword (a "prefix": how, show) or end one (a "second": many,
 * much, that); kw_pair maps (prefix, second) to the two-word keyword's flag.
 */
#define KW_KEY_MAX 16u
#define KW_SLOTS_LOG2 ALLOT_KW_SLOTS_LOG2
#define KW_SLOTS (1u << KW_SLOTS_LOG2)
#define KW_MAX_WORDS 192u /* distinct keyword words */
#define KW_MAX_PAIR 8u    /* prefixes / seconds of two-word keywords, + 1 for "none" */
#define F_NONE F_COUNT    /* a flag slot nobody reads: where "no keyword" writes its 1 */

/* A keyword word while the table is built. */
typedef struct {
    uint32_t w[4];
    uint32_t len;
    uint8_t feature; /* the flag the word sets on its own, or F_NONE */
    uint8_t prefix;  /* 1.. when the word begins a two-word keyword, else 0 */
    uint8_t second;  /* 1.. when the word ends one, else 0 */
} kw_word;

/* A categorical field: its one-hot indicators are the extras [first, first + n_values). */
typedef struct {
    char *field;   /* "meta.<path>" (looked up as an extra) */
    char **values; /* n_values category strings, in indicator order */
    size_t n_values;
    size_t first; /* position of its first indicator among the extras */
} cat_field;

struct allot_featurizer {
    size_t n_builtin; /* built-ins used */
    int *builtin;     /* their ids, in dense order */
    size_t n_extra;   /* numeric extras, then the indicators of every categorical field */
    char **extra;     /* extra names (indicators: "<field>=<value>") */
    size_t n_numeric; /* the numeric extras (the spec's "extra") */
    size_t n_cat;
    cat_field *cat;
    char *embed_name; /* the embedding block ("features.<name>"), or NULL */
    size_t embed_dim;
    uint32_t hash_dim;
    int ngrams;     /* 1 or 2 */
    int norm_l2;    /* 1 = L2-normalise the hashed block, 0 = raw counts */
    double *center; /* n_dense, or NULL */
    double *scale;
    /* the keyword table (see above) */
    allot_kw_slot kw_table[KW_SLOTS];
    uint8_t
        kw_pair[KW_MAX_PAIR * KW_MAX_PAIR]; /* [prefix * KW_MAX_PAIR + second] -> flag, F_NONE when none */
    allot_kw_view kw; /* the multipliers, and the table as the vector code reads it (features_simd.h) */
    int simd;         /* features_simd.c's vector code (same results), by level: 0 none, 1 AVX-512F/BW, 2 also
                         VBMI/VBMI2 (allot_featurizer_set_simd) */
};

/* The key of a lower-cased word of at most KW_KEY_MAX bytes. */
static void kw_key(const char *w, size_t len, uint32_t key[4]) {
    unsigned char b[16] = {0};
    memcpy(b, w, len);
    memcpy(key, b, 16);
}

/* The slot of a key (see features_simd.h). */
static uint32_t kw_slot_of(const uint32_t mul[3], const uint32_t key[4], uint32_t len) {
    uint32_t k = (key[0] + len) * mul[0] + key[1] * mul[1] + key[2] * mul[2];
    return k >> (32u - KW_SLOTS_LOG2);
}

/* The word's entry in words[0..*n), added when new. */
static kw_word *kw_word_of(kw_word *words, size_t *n, const char *w) {
    uint32_t key[4], len = (uint32_t)strlen(w);
    assert(len <= ALLOT_KW_WORD_MAX);
    kw_key(w, len, key);
    for (size_t i = 0; i < *n; i++)
        if (!memcmp(words[i].w, key, sizeof key) && words[i].len == len) return &words[i];
    words[*n] = (kw_word){{key[0], key[1], key[2], key[3]}, len, F_NONE, 0, 0};
    return &words[(*n)++];
}

/* Place the n words in the table with multipliers mul; 0 when two share a slot. */
static int kw_place(allot_featurizer *f, const kw_word *words, size_t n, const uint32_t mul[3]) {
    memset(f->kw_table, 0, sizeof f->kw_table);
    for (size_t i = 0; i < n; i++) {
        const kw_word *w = &words[i];
        allot_kw_slot *s = &f->kw_table[kw_slot_of(mul, w->w, w->len)];
        if (s->meta) return 0;
        *s = (allot_kw_slot){{w->w[0], w->w[1], w->w[2]},
                             w->len | (uint32_t)w->feature << 8 | (uint32_t)w->prefix << 16 |
                                 (uint32_t)w->second << 24};
    }
    return 1;
}

/* Fill the table from keywords[]; the multipliers are the first of a fixed sequence that put every
 * word in a slot of its own (some hundreds of tries; the sequence is fixed, so every build agrees). */
static void kw_build(allot_featurizer *f) {
    /* at most one entry per keyword, plus the few second words of two-word keywords */
    _Static_assert(N_KEYWORDS + KW_MAX_PAIR <= KW_MAX_WORDS, "KW_MAX_WORDS too small");
    kw_word words[KW_MAX_WORDS] = {{{0}, 0, 0, 0, 0}}; /* entries [0, n) are filled */
    size_t n = 0;
    memset(f->kw_pair, F_NONE, sizeof f->kw_pair);
    uint8_t n_prefix = 0, n_second = 0;
    for (size_t e = 0; e < N_KEYWORDS; e++) {
        kw_word *w1 = kw_word_of(words, &n, keywords[e].first);
        if (!keywords[e].second) {
            w1->feature = (uint8_t)keywords[e].feature;
            continue;
        }
        if (!w1->prefix) w1->prefix = ++n_prefix;
        kw_word *w2 = kw_word_of(words, &n, keywords[e].second);
        if (!w2->second) w2->second = ++n_second;
        uint32_t code = w1->prefix * KW_MAX_PAIR + w2->second;
        assert(n_prefix < KW_MAX_PAIR && n_second < KW_MAX_PAIR && f->kw.n_pairs < ALLOT_KW_MAX_PAIRS);
        f->kw_pair[code] = (uint8_t)keywords[e].feature;
        f->kw.pair_code[f->kw.n_pairs] = code;
        f->kw.pair_flag[f->kw.n_pairs++] = (uint8_t)keywords[e].feature;
    }
    uint64_t seq = 0x2545F4914F6CDD1Dull;
    for (;;) {
        uint32_t mul[3];
        for (unsigned j = 0; j < 3; j++) { /* splitmix64 outputs, made odd */
            uint64_t z = (seq += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            mul[j] = (uint32_t)(z ^ (z >> 31)) | 1u;
        }
        if (kw_place(f, words, n, mul)) {
            memcpy(f->kw.mul, mul, sizeof mul);
            f->kw.none_meta = (uint32_t)F_NONE << 8;
            f->kw.slot = f->kw_table; /* the featuriser is never moved: it is only ever a pointer */
            return;
        }
    }
}

void allot_featurizer_free(allot_featurizer *f) {
    if (!f) return;
    if (f->extra)
        for (size_t i = 0; i < f->n_extra; i++) free(f->extra[i]);
    free(f->extra);
    for (size_t k = 0; f->cat && k < f->n_cat; k++) {
        free(f->cat[k].field);
        for (size_t v = 0; f->cat[k].values && v < f->cat[k].n_values; v++) free(f->cat[k].values[v]);
        free(f->cat[k].values);
    }
    free(f->cat);
    free(f->embed_name);
    free(f->builtin);
    free(f->center);
    free(f->scale);
    free(f);
}

int allot_featurizer_set_simd(allot_featurizer *f, int level) {
    int top = 0;
#if !defined(ALLOT_FEATURES_NO_SIMD)
    top = allot_features_vbmi2_usable()                                        ? 2
          : allot_features_avx512bw_usable() && allot_features_avx512_usable() ? 1
                                                                               : 0;
#endif
    int lv = level < top ? level : top;
    f->simd = lv;
    return lv;
}

static allot_featurizer *featurizer_new(void) {
    allot_featurizer *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->ngrams = 2;
    f->norm_l2 = 1;
    allot_featurizer_set_simd(f, 2);
    kw_build(f);
    return f;
}

static int builtin_id(const char *name) {
    for (int i = 0; i < F_COUNT; i++)
        if (!strcmp(builtin_names[i], name)) return i;
    return -1;
}

static allot_status check_extra_name(const char *name, const char *where, size_t i, allot_error *err) {
    if (!name || !name[0])
        return allot_error_set(err, ALLOT_E_INVALID, "%s[%zu]: empty extra feature name", where, i);
    if (strncmp(name, "features.", 9) && strncmp(name, "meta.", 5))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s[%zu]: extra feature '%s' must start with 'features.' or 'meta.'", where, i,
                               name);
    if (!strcmp(name, "features.") || !strcmp(name, "meta."))
        return allot_error_set(err, ALLOT_E_INVALID, "%s[%zu]: extra feature '%s' names no field", where, i,
                               name);
    return ALLOT_OK;
}

static allot_status set_extras(allot_featurizer *f, const char *const *names, size_t n, const char *where,
                               allot_error *err) {
    if (n > ALLOT_FEATURES_MAX_EXTRA)
        return allot_error_set(err, ALLOT_E_INVALID, "%s: %zu extra features, at most %u allowed", where, n,
                               ALLOT_FEATURES_MAX_EXTRA);
    if (n == 0) return ALLOT_OK;
    f->extra = calloc(n, sizeof *f->extra);
    if (!f->extra) return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", where);
    for (size_t i = 0; i < n; i++) {
        allot_status st = check_extra_name(names[i], where, i, err);
        if (st) return st;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(names[j], names[i]))
                return allot_error_set(err, ALLOT_E_INVALID, "%s[%zu]: duplicate extra feature '%s'", where,
                                       i, names[i]);
        size_t len = strlen(names[i]);
        f->extra[i] = malloc(len + 1);
        if (!f->extra[i]) return allot_error_set(err, ALLOT_E_NOMEM, "%s[%zu]: out of memory", where, i);
        memcpy(f->extra[i], names[i], len + 1);
        f->n_extra = f->n_numeric = i + 1;
    }
    return ALLOT_OK;
}

static char *dup_string(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

allot_status allot_featurizer_add_categorical(allot_featurizer *f, const char *field,
                                              const char *const *values, size_t n_values, allot_error *err) {
    if (!f || !field || (n_values && !values))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurizer_add_categorical: NULL argument");
    if (f->center)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_featurizer_add_categorical: the featuriser is already standardised");
    if (strncmp(field, "meta.", 5) || !field[5])
        return allot_error_set(err, ALLOT_E_INVALID, "categorical '%.64s': must be a 'meta.<path>' field",
                               field);
    if (n_values == 0 || n_values > ALLOT_FEATURES_MAX_CATEGORIES)
        return allot_error_set(err, ALLOT_E_INVALID, "categorical '%.64s': %zu values (1 to %u allowed)",
                               field, n_values, ALLOT_FEATURES_MAX_CATEGORIES);
    if (f->n_extra + n_values > ALLOT_FEATURES_MAX_EXTRA)
        return allot_error_set(err, ALLOT_E_INVALID, "categorical '%.64s': more than %u extra features",
                               field, ALLOT_FEATURES_MAX_EXTRA);
    for (size_t k = 0; k < f->n_cat; k++)
        if (!strcmp(f->cat[k].field, field))
            return allot_error_set(err, ALLOT_E_INVALID, "categorical '%.64s': given twice", field);
    for (size_t v = 0; v < n_values; v++) {
        if (!values[v])
            return allot_error_set(err, ALLOT_E_INVALID, "categorical '%.64s': value %zu is NULL", field, v);
        for (size_t u = 0; u < v; u++)
            if (!strcmp(values[u], values[v]))
                return allot_error_set(err, ALLOT_E_INVALID, "categorical '%.64s': duplicate value '%.64s'",
                                       field, values[v]);
    }
    cat_field *grown = realloc(f->cat, (f->n_cat + 1) * sizeof *grown);
    if (!grown) return allot_error_set(err, ALLOT_E_NOMEM, "categorical: out of memory");
    f->cat = grown;
    char **ex = realloc(f->extra, (f->n_extra + n_values) * sizeof *ex);
    if (!ex) return allot_error_set(err, ALLOT_E_NOMEM, "categorical: out of memory");
    f->extra = ex;
    cat_field *c = &f->cat[f->n_cat];
    memset(c, 0, sizeof *c);
    c->first = f->n_extra;
    c->field = dup_string(field);
    c->values = calloc(n_values, sizeof *c->values);
    f->n_cat++; /* from here on freed with the featuriser */
    if (!c->field || !c->values) return allot_error_set(err, ALLOT_E_NOMEM, "categorical: out of memory");
    for (size_t v = 0; v < n_values; v++) {
        size_t fl = strlen(field), vl = strlen(values[v]);
        char *name = malloc(fl + vl + 2);
        c->values[v] = dup_string(values[v]);
        if (!name || !c->values[v]) {
            free(name);
            return allot_error_set(err, ALLOT_E_NOMEM, "categorical: out of memory");
        }
        c->n_values = v + 1;
        memcpy(name, field, fl);
        name[fl] = '=';
        memcpy(name + fl + 1, values[v], vl + 1);
        f->extra[f->n_extra++] = name;
    }
    return ALLOT_OK;
}

allot_status allot_featurizer_set_embedding(allot_featurizer *f, const char *name, size_t dim,
                                            allot_error *err) {
    if (!f || !name)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurizer_set_embedding: NULL argument");
    if (f->center)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_featurizer_set_embedding: the featuriser is already standardised");
    if (strncmp(name, "features.", 9) || !name[9])
        return allot_error_set(err, ALLOT_E_INVALID, "embedding '%.64s': must be a 'features.<name>' field",
                               name);
    if (dim == 0 || dim > ALLOT_FEATURES_MAX_EMBED_DIM)
        return allot_error_set(err, ALLOT_E_INVALID, "embedding '%.64s': dimension %zu (1 to %u allowed)",
                               name, dim, ALLOT_FEATURES_MAX_EMBED_DIM);
    if (f->embed_name)
        return allot_error_set(err, ALLOT_E_INVALID, "embedding: a featuriser has at most one");
    f->embed_name = dup_string(name);
    if (!f->embed_name) return allot_error_set(err, ALLOT_E_NOMEM, "embedding: out of memory");
    f->embed_dim = dim;
    return ALLOT_OK;
}

allot_status allot_featurizer_create_default(const char *const *extra_names, size_t n_extra,
                                             uint32_t hash_dim, allot_featurizer **out, allot_error *err) {
    if (!out) return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurizer_create_default: out is NULL");
    if (n_extra && !extra_names)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurizer_create_default: extra_names is NULL");
    if (hash_dim > ALLOT_FEATURES_MAX_HASH_DIM)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "hash_dim %u exceeds the maximum %u", hash_dim,
                               ALLOT_FEATURES_MAX_HASH_DIM);
    allot_featurizer *f = featurizer_new();
    if (!f) return allot_error_set(err, ALLOT_E_NOMEM, "features: out of memory");
    f->builtin = malloc(F_COUNT * sizeof *f->builtin);
    if (!f->builtin) {
        allot_featurizer_free(f);
        return allot_error_set(err, ALLOT_E_NOMEM, "features: out of memory");
    }
    for (int i = 0; i < F_COUNT; i++) f->builtin[i] = i;
    f->n_builtin = F_COUNT;
    f->hash_dim = hash_dim;
    allot_status st = set_extras(f, extra_names, n_extra, "extra", err);
    if (st) {
        allot_featurizer_free(f);
        return st;
    }
    *out = f;
    return ALLOT_OK;
}

allot_status allot_featurizer_set_standardization(allot_featurizer *f, const double *center,
                                                  const double *scale, size_t n, allot_error *err) {
    if (!f) return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurizer_set_standardization: f is NULL");
    if (n == 0 && !center && !scale) {
        free(f->center);
        free(f->scale);
        f->center = f->scale = NULL;
        return ALLOT_OK;
    }
    size_t nd = allot_featurizer_n_dense(f);
    if (!center || !scale || n != nd)
        return allot_error_set(
            err, ALLOT_E_ARGUMENT,
            "standardisation needs center and scale arrays of n_dense = %zu values (got %zu)", nd, n);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(center[i]))
            return allot_error_set(err, ALLOT_E_INVALID, "standardize.center[%zu]: not a finite number", i);
        if (!isfinite(scale[i]) || !(scale[i] > 0))
            return allot_error_set(err, ALLOT_E_INVALID, "standardize.scale[%zu]: must be finite and > 0", i);
    }
    double *c = malloc((n ? n : 1) * sizeof *c), *s = malloc((n ? n : 1) * sizeof *s);
    if (!c || !s) {
        free(c);
        free(s);
        return allot_error_set(err, ALLOT_E_NOMEM, "standardize: out of memory");
    }
    memcpy(c, center, n * sizeof *c);
    memcpy(s, scale, n * sizeof *s);
    free(f->center);
    free(f->scale);
    f->center = c;
    f->scale = s;
    return ALLOT_OK;
}

/* ---- spec parsing -------------------------------------------------------------------------------- */

static allot_status parse_standardize(allot_featurizer *f, const cJSON *std, const char *where,
                                      allot_error *err) {
    if (!cJSON_IsObject(std))
        return allot_error_set(err, ALLOT_E_INVALID, "%s.standardize: must be an object", where);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(std, "center");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(std, "scale");
    size_t nd = allot_featurizer_n_dense(f);
    const char *nm[2] = {"center", "scale"};
    const cJSON *arr[2] = {c, s};
    for (int k = 0; k < 2; k++) {
        if (!arr[k]) return allot_error_set(err, ALLOT_E_INVALID, "%s.standardize.%s: missing", where, nm[k]);
        if (!cJSON_IsArray(arr[k]))
            return allot_error_set(err, ALLOT_E_INVALID, "%s.standardize.%s: must be an array", where, nm[k]);
        size_t n = (size_t)cJSON_GetArraySize(arr[k]);
        if (n != nd)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s.standardize.%s: has %zu values, the spec has %zu dense features",
                                   where, nm[k], n, nd);
    }
    double *cv = malloc((nd ? nd : 1) * sizeof *cv), *sv = malloc((nd ? nd : 1) * sizeof *sv);
    if (!cv || !sv) {
        free(cv);
        free(sv);
        return allot_error_set(err, ALLOT_E_NOMEM, "%s.standardize: out of memory", where);
    }
    for (int k = 0; k < 2; k++) {
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, arr[k]) {
            if (!cJSON_IsNumber(it)) {
                free(cv);
                free(sv);
                return allot_error_set(err, ALLOT_E_INVALID, "%s.standardize.%s[%zu]: must be a number",
                                       where, nm[k], i);
            }
            (k ? sv : cv)[i++] = it->valuedouble;
        }
    }
    allot_error sub;
    allot_error_clear(&sub);
    allot_status st = allot_featurizer_set_standardization(f, cv, sv, nd, &sub);
    free(cv);
    free(sv);
    if (st == ALLOT_E_NOMEM) return allot_error_set(err, st, "%s.standardize: out of memory", where);
    if (st) return allot_error_set(err, st, "%s.%s", where, sub.msg);
    return ALLOT_OK;
}

/* "categorical": [{"name": "meta.<path>", "values": [...]}, ...] and "embedding": {"name":
 * "features.<name>", "dim": D}; both need version 2. */
static allot_status parse_blocks(allot_featurizer *f, const cJSON *spec, const char *where, double version,
                                 allot_error *err) {
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(spec, "categorical");
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(spec, "embedding");
    if (ca && cJSON_IsNull(ca)) ca = NULL;
    if (em && cJSON_IsNull(em)) em = NULL;
    if ((ca || em) && version < 2)
        return allot_error_set(err, ALLOT_E_INVALID, "%s.%s: needs spec version 2", where,
                               ca ? "categorical" : "embedding");
    if (ca && !cJSON_IsArray(ca))
        return allot_error_set(err, ALLOT_E_INVALID, "%s.categorical: must be an array of {name, values}",
                               where);
    size_t k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, ca) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name"),
                    *vs = cJSON_GetObjectItemCaseSensitive(it, "values");
        if (!cJSON_IsString(nm) || !cJSON_IsArray(vs))
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s.categorical[%zu]: needs a string name and an array of values", where,
                                   k);
        size_t nv = (size_t)cJSON_GetArraySize(vs), v = 0;
        const char **vals = calloc(nv ? nv : 1, sizeof *vals);
        if (!vals) return allot_error_set(err, ALLOT_E_NOMEM, "%s.categorical: out of memory", where);
        const cJSON *x;
        cJSON_ArrayForEach(x, vs) {
            if (!cJSON_IsString(x)) {
                free(vals);
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "%s.categorical[%zu].values[%zu]: must be a string", where, k, v);
            }
            vals[v++] = x->valuestring;
        }
        allot_error sub;
        allot_error_clear(&sub);
        allot_status st = allot_featurizer_add_categorical(f, nm->valuestring, vals, nv, &sub);
        free(vals);
        if (st) return allot_error_set(err, st, "%s.categorical[%zu]: %s", where, k, sub.msg);
        k++;
    }
    if (!em) return ALLOT_OK;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(em, "name"),
                *dim = cJSON_GetObjectItemCaseSensitive(em, "dim");
    if (!cJSON_IsString(nm) || !cJSON_IsNumber(dim) || dim->valuedouble < 1 ||
        dim->valuedouble > ALLOT_FEATURES_MAX_EMBED_DIM || dim->valuedouble != floor(dim->valuedouble))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s.embedding: needs a string name and an integer dim in [1, %u]", where,
                               ALLOT_FEATURES_MAX_EMBED_DIM);
    allot_error sub;
    allot_error_clear(&sub);
    allot_status st = allot_featurizer_set_embedding(f, nm->valuestring, (size_t)dim->valuedouble, &sub);
    if (st) return allot_error_set(err, st, "%s.embedding: %s", where, sub.msg);
    return ALLOT_OK;
}

allot_status allot_featurizer_create_cjson(const cJSON *spec, const char *where, allot_featurizer **out,
                                           allot_error *err) {
    if (!where) where = "features";
    if (!out) return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurizer_create: out is NULL");
    if (!cJSON_IsObject(spec))
        return allot_error_set(err, ALLOT_E_INVALID, "%s: must be a JSON object", where);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(spec, "version");
    if (ver) {
        if (!cJSON_IsNumber(ver))
            return allot_error_set(err, ALLOT_E_INVALID, "%s.version: must be a number", where);
        if (ver->valuedouble != 1 && ver->valuedouble != ALLOT_FEATURES_SPEC_VERSION)
            return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                                   "%s.version: %g is not supported (this build reads 1 to %d)", where,
                                   ver->valuedouble, ALLOT_FEATURES_SPEC_VERSION);
    }
    allot_featurizer *f = featurizer_new();
    if (!f) return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", where);
    allot_status st = ALLOT_OK;

    /* builtin */
    const cJSON *bi = cJSON_GetObjectItemCaseSensitive(spec, "builtin");
    if (!bi) {
        st = allot_error_set(err, ALLOT_E_INVALID, "%s.builtin: missing", where);
        goto fail;
    }
    if (!cJSON_IsArray(bi)) {
        st = allot_error_set(err, ALLOT_E_INVALID, "%s.builtin: must be an array of feature names", where);
        goto fail;
    }
    size_t nb = (size_t)cJSON_GetArraySize(bi);
    if (nb > F_COUNT) {
        st = allot_error_set(err, ALLOT_E_INVALID,
                             "%s.builtin: %zu names but only %d built-in features exist", where, nb, F_COUNT);
        goto fail;
    }
    f->builtin = malloc((nb ? nb : 1) * sizeof *f->builtin);
    if (!f->builtin) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "%s.builtin: out of memory", where);
        goto fail;
    }
    {
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, bi) {
            if (!cJSON_IsString(it)) {
                st = allot_error_set(err, ALLOT_E_INVALID, "%s.builtin[%zu]: must be a string", where, i);
                goto fail;
            }
            int id = builtin_id(it->valuestring);
            if (id < 0) {
                st = allot_error_set(err, ALLOT_E_UNSUPPORTED,
                                     "%s.builtin[%zu]: unknown built-in feature '%.64s'", where, i,
                                     it->valuestring);
                goto fail;
            }
            for (size_t j = 0; j < i; j++)
                if (f->builtin[j] == id) {
                    st = allot_error_set(err, ALLOT_E_INVALID, "%s.builtin[%zu]: duplicate feature '%s'",
                                         where, i, it->valuestring);
                    goto fail;
                }
            f->builtin[i++] = id;
            f->n_builtin = i;
        }
    }

    /* extra */
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(spec, "extra");
    if (ex && !cJSON_IsNull(ex)) {
        if (!cJSON_IsArray(ex)) {
            st = allot_error_set(err, ALLOT_E_INVALID, "%s.extra: must be an array of names", where);
            goto fail;
        }
        size_t ne = (size_t)cJSON_GetArraySize(ex);
        if (ne > ALLOT_FEATURES_MAX_EXTRA) {
            st = allot_error_set(err, ALLOT_E_INVALID, "%s.extra: %zu names, at most %u allowed", where, ne,
                                 ALLOT_FEATURES_MAX_EXTRA);
            goto fail;
        }
        const char **names = calloc(ne ? ne : 1, sizeof *names);
        if (!names) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "%s.extra: out of memory", where);
            goto fail;
        }
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, ex) {
            if (!cJSON_IsString(it)) {
                free(names);
                st = allot_error_set(err, ALLOT_E_INVALID, "%s.extra[%zu]: must be a string", where, i);
                goto fail;
            }
            names[i++] = it->valuestring;
        }
        char w[96];
        snprintf(w, sizeof w, "%s.extra", where);
        st = set_extras(f, names, ne, w, err);
        free(names);
        if (st) goto fail;
    }

    /* categorical fields and the embedding (version 2) */
    st = parse_blocks(f, spec, where, ver ? ver->valuedouble : 1, err);
    if (st) goto fail;

    /* hash */
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(spec, "hash");
    if (hs && !cJSON_IsNull(hs)) {
        if (!cJSON_IsObject(hs)) {
            st = allot_error_set(err, ALLOT_E_INVALID, "%s.hash: must be an object", where);
            goto fail;
        }
        const cJSON *dim = cJSON_GetObjectItemCaseSensitive(hs, "dim");
        if (!cJSON_IsNumber(dim) || dim->valuedouble < 0 || dim->valuedouble > ALLOT_FEATURES_MAX_HASH_DIM ||
            dim->valuedouble != (double)(uint32_t)dim->valuedouble) {
            st = allot_error_set(err, ALLOT_E_INVALID, "%s.hash.dim: %s", where,
                                 dim ? "must be an integer in [0, 1048576]" : "missing");
            goto fail;
        }
        f->hash_dim = (uint32_t)dim->valuedouble;
        const cJSON *ng = cJSON_GetObjectItemCaseSensitive(hs, "ngrams");
        if (ng) {
            if (!cJSON_IsNumber(ng) || (ng->valuedouble != 1 && ng->valuedouble != 2)) {
                st = allot_error_set(err, ALLOT_E_INVALID, "%s.hash.ngrams: must be 1 or 2", where);
                goto fail;
            }
            f->ngrams = (int)ng->valuedouble;
        }
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(hs, "function");
        if (fn && (!cJSON_IsString(fn) || strcmp(fn->valuestring, "fnv1a32"))) {
            st = allot_error_set(err, ALLOT_E_UNSUPPORTED, "%s.hash.function: only \"fnv1a32\" is supported",
                                 where);
            goto fail;
        }
        const cJSON *tk = cJSON_GetObjectItemCaseSensitive(hs, "tokens");
        if (tk && (!cJSON_IsString(tk) || strcmp(tk->valuestring, "alnum-lower"))) {
            st = allot_error_set(err, ALLOT_E_UNSUPPORTED,
                                 "%s.hash.tokens: only \"alnum-lower\" is supported", where);
            goto fail;
        }
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(hs, "norm");
        if (nm) {
            if (cJSON_IsString(nm) && !strcmp(nm->valuestring, "l2"))
                f->norm_l2 = 1;
            else if (cJSON_IsString(nm) && !strcmp(nm->valuestring, "none"))
                f->norm_l2 = 0;
            else {
                st = allot_error_set(err, ALLOT_E_INVALID, "%s.hash.norm: must be \"l2\" or \"none\"", where);
                goto fail;
            }
        }
    }

    /* standardize */
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(spec, "standardize");
    if (sd && !cJSON_IsNull(sd)) {
        st = parse_standardize(f, sd, where, err);
        if (st) goto fail;
    }
    *out = f;
    return ALLOT_OK;
fail:
    allot_featurizer_free(f);
    return st;
}

allot_status allot_featurizer_create(const char *spec_json, size_t len, allot_featurizer **out,
                                     allot_error *err) {
    if (!out || (!spec_json && len))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurizer_create: NULL argument");
    int nomem;
    const char *text = spec_json ? allot_rt_skip_bom(spec_json, &len) : "";
    const char *end = NULL;
    cJSON *spec = allot_rt_json_parse(text, len, &end, &nomem);
    if (!spec && nomem)
        return allot_error_set(err, ALLOT_E_NOMEM, "features: out of memory parsing the spec");
    if (!spec) return allot_error_set(err, ALLOT_E_PARSE, "features: the spec is not valid JSON");
    for (const char *p = end; p && p < text + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(spec);
            return allot_error_set(err, ALLOT_E_PARSE, "features: text after the spec's JSON at byte %zu",
                                   (size_t)(p - text) + 1);
        }
    char msg[ALLOT_ERROR_MSG_SIZE];
    int strict = allot_rt_json_strict_check(spec, text, len, "features", msg, sizeof msg);
    if (strict) {
        cJSON_Delete(spec);
        return allot_error_set(err, strict < 0 ? ALLOT_E_NOMEM : ALLOT_E_INVALID, "%s", msg);
    }
    allot_status st = allot_featurizer_create_cjson(spec, "features", out, err);
    cJSON_Delete(spec);
    return st;
}

/* ---- serialisation ---------------------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t cap, len;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->len < b->cap) {
        size_t room = b->cap - b->len;
        memcpy(b->buf + b->len, s, n < room ? n : room);
    }
    b->len += n;
}

static void sb_puts(sbuf *b, const char *s) {
    sb_putn(b, s, strlen(s));
}

static void sb_json_string(sbuf *b, const char *s) {
    sb_putn(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        if (*p == '"' || *p == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)*p;
            sb_putn(b, tmp, 2);
        } else if (*p < 0x20) {
            snprintf(tmp, sizeof tmp, "\\u%04x", *p);
            sb_puts(b, tmp);
        } else {
            sb_putn(b, (const char *)p, 1);
        }
    }
    sb_putn(b, "\"", 1);
}

static void sb_double(sbuf *b, double v) {
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.17g", v);
    sb_puts(b, tmp);
}

size_t allot_featurizer_spec_json(const allot_featurizer *f, char *buf, size_t cap) {
    sbuf b = {buf, cap, 0};
    if (!f) {
        if (cap) buf[0] = '\0';
        return 0;
    }
    char tmp[64];
    /* version 1 unless the spec uses a block version 1 does not have (older specs stay byte-identical) */
    snprintf(tmp, sizeof tmp, "{\"version\":%d,\"builtin\":[", f->n_cat || f->embed_name ? 2 : 1);
    sb_puts(&b, tmp);
    for (size_t i = 0; i < f->n_builtin; i++) {
        if (i) sb_putn(&b, ",", 1);
        sb_json_string(&b, builtin_names[f->builtin[i]]);
    }
    sb_puts(&b, "],\"extra\":[");
    for (size_t i = 0; i < f->n_numeric; i++) {
        if (i) sb_putn(&b, ",", 1);
        sb_json_string(&b, f->extra[i]);
    }
    sb_putn(&b, "]", 1);
    if (f->n_cat) {
        sb_puts(&b, ",\"categorical\":[");
        for (size_t k = 0; k < f->n_cat; k++) {
            sb_puts(&b, k ? ",{\"name\":" : "{\"name\":");
            sb_json_string(&b, f->cat[k].field);
            sb_puts(&b, ",\"values\":[");
            for (size_t v = 0; v < f->cat[k].n_values; v++) {
                if (v) sb_putn(&b, ",", 1);
                sb_json_string(&b, f->cat[k].values[v]);
            }
            sb_puts(&b, "]}");
        }
        sb_putn(&b, "]", 1);
    }
    if (f->embed_name) {
        sb_puts(&b, ",\"embedding\":{\"name\":");
        sb_json_string(&b, f->embed_name);
        snprintf(tmp, sizeof tmp, ",\"dim\":%zu}", f->embed_dim);
        sb_puts(&b, tmp);
    }
    snprintf(tmp, sizeof tmp, ",\"hash\":{\"dim\":%u,\"ngrams\":%d,", f->hash_dim, f->ngrams);
    sb_puts(&b, tmp);
    sb_puts(&b, "\"function\":\"fnv1a32\",\"tokens\":\"alnum-lower\",\"norm\":");
    sb_puts(&b, f->norm_l2 ? "\"l2\"}" : "\"none\"}");
    if (f->center) {
        size_t nd = allot_featurizer_n_dense(f);
        sb_puts(&b, ",\"standardize\":{\"center\":[");
        for (size_t i = 0; i < nd; i++) {
            if (i) sb_putn(&b, ",", 1);
            sb_double(&b, f->center[i]);
        }
        sb_puts(&b, "],\"scale\":[");
        for (size_t i = 0; i < nd; i++) {
            if (i) sb_putn(&b, ",", 1);
            sb_double(&b, f->scale[i]);
        }
        sb_puts(&b, "]}");
    }
    sb_putn(&b, "}", 1);
    if (cap) buf[b.len < cap ? b.len : cap - 1] = '\0';
    return b.len;
}

/* double -> float32 with IEEE round-to-nearest, overflow to +-inf (no UB for out-of-range values). */
static float to_f32(double x) {
    if (x >= 0x1.ffffffp+127) return INFINITY;
    if (x <= -0x1.ffffffp+127) return -INFINITY;
    return (float)x;
}

/* ---- shape ------------------------------------------------------------------------------------------- */

size_t allot_featurizer_n_dense(const allot_featurizer *f) {
    return f ? f->n_builtin + f->n_extra + f->embed_dim : 0;
}

const char *allot_featurizer_dense_name(const allot_featurizer *f, size_t i) {
    if (!f) return NULL;
    if (i < f->n_builtin) return builtin_names[f->builtin[i]];
    if (i - f->n_builtin < f->n_extra) return f->extra[i - f->n_builtin];
    if (i - f->n_builtin - f->n_extra < f->embed_dim) return f->embed_name;
    return NULL;
}

size_t allot_featurizer_embedding_dim(const allot_featurizer *f) {
    return f ? f->embed_dim : 0;
}

const char *allot_featurizer_embedding_name(const allot_featurizer *f) {
    return f ? f->embed_name : NULL;
}

size_t allot_featurizer_n_categorical(const allot_featurizer *f) {
    return f ? f->n_cat : 0;
}

const char *allot_featurizer_categorical_name(const allot_featurizer *f, size_t k, size_t *n_values) {
    if (!f || k >= f->n_cat) return NULL;
    if (n_values) *n_values = f->cat[k].n_values;
    return f->cat[k].field;
}

allot_status allot_featurizer_set_category(const allot_featurizer *f, const char *field, const char *value,
                                           double *extras, allot_error *err) {
    if (!f || !field || !extras)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurizer_set_category: NULL argument");
    for (size_t k = 0; k < f->n_cat; k++) {
        const cat_field *c = &f->cat[k];
        if (strcmp(c->field, field)) continue;
        /* NULL: missing (NaN); a value seen in training: its indicator; any other: all zero */
        for (size_t v = 0; v < c->n_values; v++)
            extras[c->first + v] = value ? (double)(strcmp(c->values[v], value) == 0) : NAN;
        return ALLOT_OK;
    }
    return allot_error_set(err, ALLOT_E_ARGUMENT,
                           "allot_featurizer_set_category: '%.64s' is not a categorical field", field);
}

size_t allot_featurizer_n_builtin_used(const allot_featurizer *f) {
    return f ? f->n_builtin : 0;
}
size_t allot_featurizer_n_extra(const allot_featurizer *f) {
    return f ? f->n_extra : 0;
}

const char *allot_featurizer_extra_name(const allot_featurizer *f, size_t i) {
    return (f && i < f->n_extra) ? f->extra[i] : NULL;
}

long allot_featurizer_extra_index(const allot_featurizer *f, const char *name) {
    if (!f || !name) return -1;
    for (size_t i = 0; i < f->n_extra; i++)
        if (!strcmp(f->extra[i], name)) return (long)i;
    return -1;
}

uint32_t allot_featurizer_hash_dim(const allot_featurizer *f) {
    return f ? f->hash_dim : 0;
}
int allot_featurizer_has_standardization(const allot_featurizer *f) {
    return f && f->center ? 1 : 0;
}

void allot_featurizer_standardization(const allot_featurizer *f, size_t i, double *center, double *scale) {
    double c = 0, s = 1;
    if (f && f->center && i < allot_featurizer_n_dense(f)) {
        c = f->center[i];
        s = f->scale[i];
    }
    if (center) *center = c;
    if (scale) *scale = s;
}

void allot_featurizer_standardize(const allot_featurizer *f, const float *dense, float *out) {
    if (!f || !dense || !out) return;
    size_t nd = allot_featurizer_n_dense(f);
    if (f->simd >= 1 && f->center) {
        allot_features_standardize_avx512(dense, f->center, f->scale, nd, out);
        return;
    }
    for (size_t i = 0; i < nd; i++) {
        float x = dense[i];
        if (isnan(x)) {
            out[i] = 0.0f;
        } else if (f->center) {
            out[i] = to_f32(((double)x - f->center[i]) / f->scale[i]);
        } else {
            out[i] = x;
        }
    }
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

static unsigned ctz64(uint64_t x) { /* x != 0 */
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

static unsigned top_bit64(uint64_t x) { /* x != 0: position of the highest set bit */
#if defined(__GNUC__) || defined(__clang__)
    return 63u - (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    while (x >>= 1) n++;
    return n;
#endif
}

/* Unroll a loop of a constant trip count (a hint; results do not depend on it). */
#if defined(__clang__)
#define FEATURES_UNROLL(n) _Pragma("unroll")
#elif defined(__GNUC__)
#define FEATURES_STR(x) #x
#define FEATURES_UNROLL(n) _Pragma(FEATURES_STR(GCC unroll n))
#else
#define FEATURES_UNROLL(n)
#endif

/*
 * Sparse accumulator over the caller's arrays idx[cap], val[cap].
 * Direct mode (cap >= hash_dim): val[0..hash_dim) counts every index in place, valid where the
 * index's bit is set in a bitmap kept in the last nwords entries of idx; n counts the distinct
 * indices (or, for a small block zeroed first, the n-grams: a bound). Counting is free of
 * data-dependent branches, and so is most of the final walk of the bitmap (sparse_finish).
 * Otherwise: (index, count) pairs appended at idx/val[0..n), sorted and merged when full.
 */
typedef struct {
    uint32_t *idx;
    float *val;
    size_t cap, n;
    int direct;     /* cap >= hash_dim (see above) */
    uint32_t *bits; /* direct mode: bitmap of touched indices, in the last nwords entries of idx[] */
    size_t nwords;
    int zeroed;        /* direct mode with val[0..hash_dim) zeroed first: n counts the n-grams, an upper
                          bound of the distinct indices, until sparse_finish */
    uint16_t *count16; /* zeroed, with the vector code: 16-bit counts in val's upper half instead */
    uint16_t *keys16;  /* count16 with VBMI2: no bitmap, no counting; the n-grams' indices collected in
                          idx's upper half, sorted or counted at the end (finish_keys) */
    int sorted;        /* entries [0, n) are sorted and unique */
    int overflow;      /* a distinct index did not fit */
} sparse_acc;

#define DIRECT_ZERO_MAX 8192u /* hash dimensions up to this count in a zeroed block (sparse_acc.zeroed) */

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

/* Direct mode: count index. val[index] is read as its bits and cleared to +0 when its bit was not
 * yet set (whatever the caller's array held there), so no branch depends on the data. */
static void sparse_count(sparse_acc *a, uint32_t index) {
    uint32_t *w = &a->bits[index >> 5], m = 1u << (index & 31u);
    uint32_t seen = (*w & m) != 0, keep = 0u - seen, vb;
    *w |= m;
    memcpy(&vb, &a->val[index], sizeof vb);
    vb &= keep;
    float old;
    memcpy(&old, &vb, sizeof old);
    a->val[index] = old + 1.0f;
    a->n += 1u - seen;
}

static void sparse_add(sparse_acc *a, uint32_t index) {
    if (a->direct) {
        sparse_count(a, index);
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

/* The positions of the set bits of bits[0..nwords), in increasing order, into out; returns their
 * number. Each 64-bit word gives 6 positions without a branch (a zero word's are written and not
 * counted), the rare rest in a loop; so up to 7 entries past the returned count may be written. */
static size_t flatten_bits(const uint32_t *bits, size_t nwords, uint32_t *out) {
    size_t k = 0;
    for (size_t q = 0; q < nwords; q += 2) {
        uint64_t w = bits[q] | (q + 1 < nwords ? (uint64_t)bits[q + 1] << 32 : 0);
        uint32_t base = (uint32_t)(q * 32u);
        FEATURES_UNROLL(6)
        for (unsigned r = 0; r < 6; r++) {
            out[k] = base + ctz64(w | ((uint64_t)1 << 63));
            k += w != 0;
            w &= w - 1;
        }
        for (; w; w &= w - 1) out[k++] = base + ctz64(w);
    }
    return k;
}

/*
 * Finish accumulation: sorted unique (index, count) pairs in idx/val[0..n).
 * Direct mode: the bitmap lives in idx[hash_dim - nwords, hash_dim). While the outputs and
 * flatten_bits' scratch stay below it (n + 8 <= hash_dim - nwords), the positions are flattened
 * first, then val[k] = val[idx[k]] in increasing k: the sorted distinct indices satisfy idx[k] >= k,
 * so no count is overwritten before it is read. Otherwise the bitmap is walked word by word: word k
 * is read before any output of its bits is written, and outputs so far number at most 32 (k + 1)
 * <= hash_dim - nwords + k + 1, the position of word k + 1, so unread words are never overwritten;
 * val[j] moves down to val[w] with w <= j, in increasing order, so no count is overwritten early.
 */
static void sparse_finish(sparse_acc *a, uint32_t hash_dim) {
    if (a->direct && a->n + 8 <= hash_dim - a->nwords) {
        a->n = flatten_bits(a->bits, a->nwords, a->idx);
        for (size_t k = 0; k < a->n; k++) a->val[k] = a->val[a->idx[k]];
    } else if (a->direct) {
        size_t w = 0;
        for (size_t k = 0; k < a->nwords; k++) {
            uint32_t word = a->bits[k];
            while (word) {
                uint32_t j = (uint32_t)(k * 32u + ctz64(word));
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

static int is_space(unsigned char c) {
    return (byte_class[c] & BC_SPACE) != 0;
}

/*
 * The featurisation is one pass over the prompt in blocks of 64 bytes (the last one padded with
 * spaces, which no feature counts: a space ends a token and a number, starts no word, and is what
 * "the end" means to a sentence terminator). Each block is classified at once (SSE2 where the
 * compiler targets it, the byte_class table otherwise; both give the same masks and counts) into
 *   - counts: digits, capitals, bytes >= 0x80, UTF-8 continuation bytes, whitespace, word starts;
 *   - bit masks (bit j = byte j of the block): whitespace, token bytes, digits, and "special" bytes:
 *     the punctuation, controls, '\n' and UTF-8 lead bytes some counter looks at one by one.
 * Then three short loops visit only the set bits: the special bytes (their counters, sentence
 * ends, LaTeX commands, UTF-8 operators), the digit runs that start a number, and the token
 * boundaries (each finished token is hashed, counted and looked up once). Branches thus follow
 * events (a token, a number) instead of bytes, and every count is the same integer the byte-by-byte
 * definition gives (docs/features.md; test_features_ref checks it against the previous code).
 */
typedef struct {
    uint64_t space, token, digit, special;
    uint64_t zero, sep; /* vector code only: '0'; ',' and '.' */
} block_masks;

/* Counters of the byte classes (exact integers, summed over the blocks). */
typedef struct {
    size_t digits, upper, high, cont, spaces, words;
} class_counts;

#if defined(__SSE2__) && !defined(ALLOT_FEATURES_NO_SIMD)
#include <emmintrin.h>
#define FEATURES_SSE2 1

/* Per-lane byte counters, flushed into class_counts before any lane can pass 255. */
typedef struct {
    __m128i digits, upper, high, cont, spaces, words;
    __m128i prev_space; /* the previous vector's whitespace lanes (all set before the prompt) */
    unsigned pending;   /* vectors counted since the last flush */
} lane_counts;

static void lanes_init(lane_counts *l) {
    l->digits = l->upper = l->high = l->cont = l->spaces = l->words = _mm_setzero_si128();
    l->prev_space = _mm_set1_epi8(-1);
    l->pending = 0;
}

static size_t lanes_sum(__m128i v) {
    __m128i s = _mm_sad_epu8(v, _mm_setzero_si128());
    return (size_t)_mm_cvtsi128_si32(s) + (size_t)_mm_cvtsi128_si32(_mm_srli_si128(s, 8));
}

static void lanes_flush(lane_counts *l, class_counts *c) {
    c->digits += lanes_sum(l->digits);
    c->upper += lanes_sum(l->upper);
    c->high += lanes_sum(l->high);
    c->cont += lanes_sum(l->cont);
    c->spaces += lanes_sum(l->spaces);
    c->words += lanes_sum(l->words);
    l->digits = l->upper = l->high = l->cont = l->spaces = l->words = _mm_setzero_si128();
    l->pending = 0;
}

/* lo <= x <= hi for ASCII bounds (bytes >= 0x80 compare as negative: never inside). */
static __m128i in_range(__m128i x, char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8((char)(lo - 1))),
                         _mm_cmplt_epi8(x, _mm_set1_epi8((char)(hi + 1))));
}

static void classify_block(const unsigned char *b, lane_counts *l, block_masks *m) {
    uint64_t sp = 0, tk = 0, dg = 0, spc = 0;
    for (unsigned q = 0; q < 4; q++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + 16 * q));
        __m128i space = _mm_or_si128(in_range(x, '\t', '\r'), _mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));
        __m128i digit = in_range(x, '0', '9');
        __m128i upper = in_range(x, 'A', 'Z');
        __m128i high = _mm_cmplt_epi8(x, _mm_setzero_si128());
        __m128i cont = _mm_cmplt_epi8(x, _mm_set1_epi8((char)0xC0));
        __m128i token = _mm_or_si128(_mm_or_si128(digit, upper), _mm_or_si128(in_range(x, 'a', 'z'), high));
        __m128i lead = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8((char)0xC2)),
                                                 _mm_cmpeq_epi8(x, _mm_set1_epi8((char)0xC3))),
                                    _mm_cmpeq_epi8(x, _mm_set1_epi8((char)0xE2)));
        __m128i special = _mm_or_si128(_mm_andnot_si128(_mm_or_si128(token, space), _mm_set1_epi8(-1)),
                                       _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')), lead));
        /* a word starts at a non-space byte after a space (or the start) */
        __m128i before = _mm_or_si128(_mm_slli_si128(space, 1), _mm_srli_si128(l->prev_space, 15));
        __m128i start = _mm_andnot_si128(space, before);
        l->prev_space = space;
        /* equal lanes are -1: subtracting counts them */
        l->digits = _mm_sub_epi8(l->digits, digit);
        l->upper = _mm_sub_epi8(l->upper, upper);
        l->high = _mm_sub_epi8(l->high, high);
        l->cont = _mm_sub_epi8(l->cont, cont);
        l->spaces = _mm_sub_epi8(l->spaces, space);
        l->words = _mm_sub_epi8(l->words, start);
        unsigned sh = 16 * q;
        sp |= (uint64_t)(unsigned)_mm_movemask_epi8(space) << sh;
        tk |= (uint64_t)(unsigned)_mm_movemask_epi8(token) << sh;
        dg |= (uint64_t)(unsigned)_mm_movemask_epi8(digit) << sh;
        spc |= (uint64_t)(unsigned)_mm_movemask_epi8(special) << sh;
    }
    m->space = sp;
    m->token = tk;
    m->digit = dg;
    m->special = spc;
    l->pending += 4;
}
#else
/* The same classification a byte at a time. */
typedef struct {
    int prev_space;
    unsigned pending;
} lane_counts;

static void lanes_init(lane_counts *l) {
    l->prev_space = 1;
    l->pending = 0;
}

static void lanes_flush(lane_counts *l, class_counts *c) {
    (void)c;
    l->pending = 0;
}

static void classify_block_counted(const unsigned char *b, lane_counts *l, block_masks *m, class_counts *c) {
    uint64_t sp = 0, tk = 0, dg = 0, spc = 0;
    for (unsigned j = 0; j < 64; j++) {
        unsigned char x = b[j];
        unsigned k = byte_class[x];
        uint64_t bit = (uint64_t)1 << j;
        int space = (k & BC_SPACE) != 0;
        c->digits += (k & BC_DIGIT) != 0;
        c->upper += (k & BC_UPPER) != 0;
        c->high += x >= 0x80;
        c->cont += (k & BC_CONT) != 0;
        c->spaces += space;
        c->words += !space && l->prev_space;
        l->prev_space = space;
        if (space) sp |= bit;
        if (k & BC_TOKEN) tk |= bit;
        if (k & BC_DIGIT) dg |= bit;
        if ((!(k & BC_TOKEN) && !space) || x == '\n' || x == 0xC2 || x == 0xC3 || x == 0xE2) spc |= bit;
    }
    m->space = sp;
    m->token = tk;
    m->digit = dg;
    m->special = spc;
}
#endif

/* Counters of single punctuation bytes (a special byte's counter, SK_COUNTER bits of special_kind),
 * and what else a special byte starts. */
enum {
    SC_NONE = ALLOT_SC_NONE,
    SC_QUESTION = ALLOT_SC_QUESTION,
    SC_DOLLAR = ALLOT_SC_DOLLAR,
    SC_CARET = ALLOT_SC_CARET,
    SC_PERCENT = ALLOT_SC_PERCENT,
    SC_EQUALS = ALLOT_SC_EQUALS,
    SC_NEWLINE = ALLOT_SC_NEWLINE,
    SC_OPERATOR = ALLOT_SC_OPERATOR,
    SC_BRACKET = ALLOT_SC_BRACKET,
    SC_CODE = ALLOT_SC_CODE,
    SC_COUNT = ALLOT_SC_COUNT
};
#define SK_COUNTER 15u
#define SK_TERM 16u /* '.', '!', '?': ends a sentence when whitespace or the end follows */
#define SK_RARE 32u /* '\\' (LaTeX) and the UTF-8 lead bytes 0xC2, 0xC3, 0xE2 (operators) */

static const unsigned char special_kind[256] = {
    ['?'] = SC_QUESTION | SK_TERM,
    ['.'] = SK_TERM,
    ['!'] = SK_TERM,
    ['$'] = SC_DOLLAR,
    ['^'] = SC_CARET,
    ['%'] = SC_PERCENT,
    ['='] = SC_EQUALS,
    ['\n'] = SC_NEWLINE,
    ['+'] = SC_OPERATOR,
    ['-'] = SC_OPERATOR,
    ['*'] = SC_OPERATOR,
    ['/'] = SC_OPERATOR,
    ['<'] = SC_OPERATOR,
    ['>'] = SC_OPERATOR,
    ['('] = SC_BRACKET,
    [')'] = SC_BRACKET,
    ['['] = SC_BRACKET,
    [']'] = SC_BRACKET,
    ['{'] = SC_BRACKET,
    ['}'] = SC_BRACKET,
    [';'] = SC_CODE,
    ['_'] = SC_CODE,
    ['`'] = SC_CODE,
    ['#'] = SC_CODE,
    ['|'] = SC_CODE,
    ['&'] = SC_CODE,
    ['\\'] = SK_RARE,
    [0xC2] = SK_RARE,
    [0xC3] = SK_RARE,
    [0xE2] = SK_RARE,
};

/* What the special bytes add up to. */
typedef struct {
    size_t count[SC_COUNT];
    size_t sentences, last_term; /* sentence ends; position + 1 of the last one (0: none) */
    size_t latex, frac, sqrt_, utf8_ops;
} special_acc;

/* A LaTeX command or a UTF-8 operator at p[i] (a '\\' or a lead byte). */
static void special_rare(special_acc *s, const unsigned char *p, size_t n, size_t i) {
    unsigned c = p[i];
    if (c == '\\') {
        size_t rest = n - i - 1;
        if (rest == 0 || !is_alpha(p[i + 1])) return;
        s->latex++;
        const unsigned char *q = p + i + 1;
        if (starts_with(q, rest, "frac") || starts_with(q, rest, "dfrac") || starts_with(q, rest, "tfrac"))
            s->frac++;
        if (starts_with(q, rest, "sqrt")) s->sqrt_++;
    } else if (i + 1 < n) {
        if (c == 0xC2) { /* U+00B7 middle dot */
            s->utf8_ops += p[i + 1] == 0xB7;
        } else if (c == 0xC3) { /* U+00D7 times, U+00F7 division */
            s->utf8_ops += p[i + 1] == 0x97 || p[i + 1] == 0xB7;
        } else if (i + 2 < n) { /* 0xE2: U+2212 minus, U+2260 not equal, U+2264 <=, U+2265 >= */
            s->utf8_ops += (p[i + 1] == 0x88 && p[i + 2] == 0x92) ||
                           (p[i + 1] == 0x89 && (p[i + 2] == 0xA0 || p[i + 2] == 0xA4 || p[i + 2] == 0xA5));
        }
    }
}

static void special_bytes(special_acc *s, const unsigned char *p, size_t n, size_t base, uint64_t mask) {
    for (; mask; mask &= mask - 1) {
        size_t i = base + ctz64(mask);
        unsigned k = special_kind[p[i]];
        s->count[k & SK_COUNTER]++;
        /* a terminator followed by whitespace or the end, without a branch */
        size_t next = i + 1 < n ? i + 1 : i;
        size_t te = ((k / SK_TERM) & 1u) & ((size_t)(i + 1 >= n) | (size_t)is_space(p[next]));
        s->sentences += te;
        s->last_term = te ? i + 1 : s->last_term;
        if (k & SK_RARE) special_rare(s, p, n, i);
    }
}

/* Numbers (docs/features.md): digit runs joined by ',' (any number of times) or one '.'. The
 * largest is kept as key = int_digits * 100 + lead (lead = its two leading significant digits,
 * 10..99), which orders numbers as (int_digits, lead) does. */
typedef struct {
    size_t numbers, decimals, end; /* end: where the last number stopped */
    size_t best_key;               /* 0: no number >= 1 yet */
} number_acc;

/* The general case, a byte at a time. */
static void number_slow(number_acc *a, const unsigned char *p, size_t n, size_t i) {
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
                a->decimals++;
            }
            i++;
        } else {
            break;
        }
    }
    a->numbers++;
    a->end = i;
    if (started) {
        if (sig == 1) lead *= 10;
        size_t key = int_digits * 100 + lead;
        a->best_key = key > a->best_key ? key : a->best_key;
    }
}

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                                           \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !defined(ALLOT_FEATURES_NO_SIMD)
#define FEATURES_SWAR 1
/* Bit 7 of each byte of the result: that byte of x is not zero. */
static uint64_t nonzero_bytes(uint64_t x) {
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full;
    return (((x & low7) + low7) | x) & ~low7;
}
/* Bit 7 of each byte: that byte is not an ASCII digit. */
static uint64_t nondigit_bytes(uint64_t x) {
    uint64_t high = (x & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull;
    uint64_t big = ((x & 0x0F0F0F0F0F0F0F0Full) + 0x0606060606060606ull) & 0x1010101010101010ull;
    return nonzero_bytes(high | big);
}
#endif

/* A number starting at p[i] (a digit). The common case - a run of at most 6 digits that nothing
 * joins - is read from 8 bytes at once; anything else goes the general way. */
static void number_at(number_acc *a, const unsigned char *p, size_t n, size_t i) {
#ifdef FEATURES_SWAR
    if (n - i >= 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        uint64_t nd = nondigit_bytes(x);
        unsigned run = nd ? ctz64(nd) / 8 : 8;
        if (run <= 6) {
            unsigned sep = (unsigned)(x >> (8 * run)) & 0xFFu;
            int joins = (sep == ',' || sep == '.') && !((nd >> (8 * (run + 1) + 7)) & 1u);
            if (!joins) {
                /* leading zeros: the first byte that is not '0' among the run's */
                uint64_t nz = nonzero_bytes(x ^ 0x3030303030303030ull) | ((uint64_t)0x80 << (8 * run));
                unsigned fz = ctz64(nz) / 8;
                unsigned d0 = (unsigned)(x >> (8 * fz)) & 0x0Fu, d1 = (unsigned)(x >> (8 * fz + 8)) & 0x0Fu;
                unsigned lead = d0 * 10 + (fz + 1 < run ? d1 : 0);
                size_t key = fz < run ? (size_t)(run - fz) * 100 + lead : 0;
                a->best_key = key > a->best_key ? key : a->best_key;
                a->numbers++;
                a->end = i + run;
                return;
            }
        }
    }
#endif
    number_slow(a, p, n, i);
}

/* number_starts with the block's masks (vector code): a run that ends inside the block, alone or
 * joined by one '.' to a fraction that ends inside the block and that no ',' joins, is measured from
 * the masks, whatever its length; the rest goes to number_at. The same numbers, keys and counts. */
static void number_starts_masks(number_acc *a, const unsigned char *p, size_t n, size_t base,
                                const block_masks *m, uint64_t starts) {
    for (; starts; starts &= starts - 1) {
        unsigned j = ctz64(starts);
        size_t i = base + j;
        if (i < a->end) continue;
        uint64_t after = ~m->digit >> j; /* bit r: byte j + r is no digit */
        unsigned run = after ? ctz64(after) : 64;
        unsigned e = j + run, end = e; /* the byte after the run; after the number */
        if (e >= 63) {
            number_at(a, p, n, i);
            continue;
        }
        if ((m->sep >> e) & (m->digit >> (e + 1)) & 1u) { /* joined: one '.' and a fraction, or else */
            uint64_t frac_after = ~m->digit >> (e + 1);
            end = e + 1 + (frac_after ? ctz64(frac_after) : 64);
            /* a ',' joining the fraction to more digits: the general way (a second '.' ends it; the
             * masks say first whether a byte follows the fraction at all) */
            if (p[base + e] != '.' || end >= 63 ||
                (((m->sep >> end) & (m->digit >> (end + 1)) & 1u) && p[base + end] == ',')) {
                number_at(a, p, n, i);
                continue;
            }
            a->decimals++;
        }
        uint64_t sig = (m->digit & ~m->zero) >> j; /* the first significant digit of the run */
        unsigned fz = sig ? ctz64(sig) : 64;
        if (fz < run) { /* the second significant digit may be the fraction's first */
            unsigned second = fz + 1 < run ? (unsigned)(p[i + fz + 1] - '0')
                              : end > e    ? (unsigned)(p[base + e + 1] - '0')
                                           : 0;
            size_t key = (size_t)(run - fz) * 100 + (unsigned)(p[i + fz] - '0') * 10 + second;
            a->best_key = key > a->best_key ? key : a->best_key;
        }
        a->numbers++;
        a->end = base + end;
    }
}

/* Every digit run that starts outside the previous number starts a number. */
static void number_starts(number_acc *a, const unsigned char *p, size_t n, size_t base, uint64_t starts) {
    for (; starts; starts &= starts - 1) {
        size_t i = base + ctz64(starts);
        if (i >= a->end) number_at(a, p, n, i);
    }
}

/* (FNV prime)^-k mod 2^32: hashing k trailing zero bytes multiplies an FNV-1a state by FNV_PRIME^k
 * (x ^ 0 = x), which this undoes. */
static const uint32_t fnv_unpad[17] = {
    0x00000001u, 0x359c449bu, 0xdd4ab5d9u, 0x91c5be63u, 0x4ca091f1u, 0xdfd860ebu,
    0xb7f51a49u, 0x9dde4e33u, 0xd872e4e1u, 0xa078583bu, 0x1b4117b9u, 0x8c728103u,
    0xb06ce8d1u, 0xe4247a8bu, 0x46571e29u, 0x98be26d3u, 0x55058dc1u,
};

/*
 * Tokens are handled in batches of up to TOK_BATCH, in phases that are each a loop without
 * data-dependent branches (a branch per token that the processor cannot predict costs more than
 * all the arithmetic of a short token):
 *   1. lower-case each token's first 16 bytes, zero-padded;
 *   2. look every token up in the keyword table (one probe, see kw_build);
 *   3. with hashing, FNV-1a of every token (unigrams), then of every (previous token, ' ', token)
 *      (bigrams), each token over 4, 8 or 16 zero-padded bytes by its length class, the padding
 *      then undone (fnv_unpad); tokens of one class are hashed in one loop with a fixed number of
 *      steps, so the independent hash chains of successive tokens overlap;
 *   4. count the hashed n-grams in text order (unigram, then bigram, token by token: the order the
 *      sorting accumulator needs to report an overflow exactly as before).
 */
#define TOK_BATCH 128u
#define TOK_CLASSES 4u /* hashed over 4, 8 or 16 padded bytes, or longer than 16 */

/* The token pass: keyword flags, the token count, the hashed uni/bigrams. */
typedef struct {
    const allot_featurizer *f;
    sparse_acc *acc; /* NULL: nothing hashed */
    int bigrams;
    int have_prev;   /* a token came before (bigrams join consecutive tokens) */
    uint32_t prev_h; /* its FNV-1a hash */
    unsigned prev_prefix;
    uint64_t flags; /* keyword flags: bit i = built-in feature i (bit F_NONE: written, never read) */
    size_t n_tokens;
    unsigned char tail[32]; /* the prompt's last 16 bytes (all of a shorter one), then zeros */
    size_t tail_at;         /* their position in the prompt */
    int simd;               /* the AVX-512 token pass (features_simd.h): prompts under 2^31 - 64 bytes */
    size_t nev;             /* portable: token boundaries so far in ev: start, end, start, end, ... */
    size_t ns, ne;          /* AVX-512: token starts and ends so far in pos (ns = ne or ne + 1) */
    union {
        size_t ev[2 * TOK_BATCH]; /* a block adds at most 64 */
        struct {
            uint32_t start[TOK_BATCH + 32], end[TOK_BATCH + 32]; /* +32: room for 16-wide stores */
        } pos;
    };
} token_acc;

typedef struct {
    unsigned char key[TOK_BATCH][16]; /* lower-cased first 16 bytes, zero-padded */
    size_t len[TOK_BATCH];
    uint32_t uni[TOK_BATCH], big[TOK_BATCH], seed[TOK_BATCH];
    uint8_t order[TOK_CLASSES][TOK_BATCH]; /* the tokens of each length class */
    size_t count[TOK_CLASSES];
} token_batch;

/* Phase 1 for one token: its lower-cased first 16 bytes (zero-padded) into kb; its keyword flags. */
static void token_key(const token_acc *t, const unsigned char *p, size_t n, size_t s, size_t len,
                      unsigned char kb[16], uint64_t *flags, unsigned *prev_prefix) {
    const allot_featurizer *f = t->f;
    size_t kl = len > 16 ? 16 : len;
    /* 16 readable bytes at the token: the prompt's, or, near its end, the zero-padded copy of its tail */
    const unsigned char *src = n - s >= 16 ? p + s : t->tail + (s - t->tail_at);
#ifdef FEATURES_SSE2
    /* token bytes are letters, digits (which have bit 0x20 set already) and bytes >= 0x80: setting
     * bit 0x20 in the bytes below 0x80 lower-cases them; then the bytes past the token are cleared */
    static const unsigned char keep[32] = {255, 255, 255, 255, 255, 255, 255, 255,
                                           255, 255, 255, 255, 255, 255, 255, 255};
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)src);
    x = _mm_or_si128(x, _mm_andnot_si128(_mm_cmplt_epi8(x, _mm_setzero_si128()), _mm_set1_epi8(0x20)));
    x = _mm_and_si128(x, _mm_loadu_si128((const __m128i *)(const void *)(keep + 16 - kl)));
    _mm_storeu_si128((__m128i *)(void *)kb, x);
#else
    memset(kb, 0, 16);
    for (size_t j = 0; j < kl; j++) kb[j] = lower_ascii(src[j]);
#endif
    uint32_t key[4];
    memcpy(key, kb, sizeof key);
    /* a token longer than ALLOT_KW_WORD_MAX bytes is no keyword: no slot has its length */
    const allot_kw_slot *e = &f->kw_table[kw_slot_of(f->kw.mul, key, (uint32_t)len)];
    uint32_t hit = (uint32_t)((e->w[0] == key[0]) & (e->w[1] == key[1]) & (e->w[2] == key[2]) &
                              ((e->meta & 0xFFu) == len)); /* length <= ALLOT_KW_WORD_MAX: key[3] is 0 */
    /* a miss: the unread flag F_NONE, no prefix, no second */
    uint32_t meta = (e->meta & (0u - hit)) | ((uint32_t)F_NONE << 8 & (hit - 1u));
    unsigned second = meta >> 24;
    *flags |= ((uint64_t)1 << (meta >> 8 & 0xFFu)) |
              ((uint64_t)1 << f->kw_pair[*prev_prefix * KW_MAX_PAIR + second]);
    *prev_prefix = meta >> 16 & 0xFFu;
}

/* FNV-1a over `steps` zero-padded key bytes from seed[k] (or the FNV offset), padding undone. */
#define HASH_CLASS(NAME, STEPS)                                                                              \
    static void NAME(const token_batch *b, const uint8_t *ord, size_t cnt, const uint32_t *seed,             \
                     uint32_t *out) {                                                                        \
        for (size_t i = 0; i < cnt; i++) {                                                                   \
            size_t k = ord[i];                                                                               \
            const unsigned char *kb = b->key[k];                                                             \
            uint32_t h = seed ? seed[k] : FNV_OFFSET;                                                        \
            FEATURES_UNROLL(16)                                                                              \
            for (unsigned j = 0; j < (STEPS); j++) h = (h ^ kb[j]) * FNV_PRIME;                              \
            out[k] = h * fnv_unpad[(STEPS)-b->len[k]];                                                       \
        }                                                                                                    \
    }
HASH_CLASS(hash_class4, 4)
HASH_CLASS(hash_class8, 8)
HASH_CLASS(hash_class16, 16)

static void hash_classes(const token_batch *b, const unsigned char *p, const size_t *ev, const uint32_t *seed,
                         uint32_t *out) {
    hash_class4(b, b->order[0], b->count[0], seed, out);
    hash_class8(b, b->order[1], b->count[1], seed, out);
    hash_class16(b, b->order[2], b->count[2], seed, out);
    for (size_t i = 0; i < b->count[3]; i++) { /* longer than 16 bytes */
        size_t k = b->order[3][i];
        out[k] = fnv_update_lower(seed ? seed[k] : FNV_OFFSET, p + ev[2 * k], b->len[k]);
    }
}

/* Phase 4 in direct mode: count the hashed n-grams h[0..m) (see sparse_count), state in locals. */
static void count_direct(sparse_acc *a, const uint32_t *h, size_t m, uint32_t dim_mask, uint32_t dim) {
    uint32_t *bits = a->bits;
    float *val = a->val;
    if (a->keys16) { /* the indices alone (below hash_dim <= 8192) */
        uint16_t *key = a->keys16 + a->n;
        if (dim_mask)
            allot_features_keys16_avx512(h, m, dim_mask, key);
        else
            for (size_t i = 0; i < m; i++) key[i] = (uint16_t)(h[i] % dim);
        a->n += m;
        return;
    }
    if (a->count16) { /* as below, in 16-bit counts */
        uint16_t *count = a->count16;
        for (size_t i = 0; i < m; i++) {
            uint32_t index = dim_mask ? h[i] & dim_mask : h[i] % dim;
            bits[index >> 5] |= 1u << (index & 31u);
            count[index]++;
        }
        a->n += m;
        return;
    }
    if (a->zeroed) { /* every count starts at 0: no reset, n only bounds the distinct indices */
        for (size_t i = 0; i < m; i++) {
            uint32_t index = dim_mask ? h[i] & dim_mask : h[i] % dim;
            bits[index >> 5] |= 1u << (index & 31u);
            val[index] += 1.0f;
        }
        a->n += m;
        return;
    }
    size_t distinct = a->n;
    for (size_t i = 0; i < m; i++) {
        uint32_t index = h[i] & dim_mask;
        if (!dim_mask) index = h[i] % dim;
        uint32_t w = bits[index >> 5], sh = index & 31u;
        uint32_t seen = (w >> sh) & 1u, vb;
        bits[index >> 5] = w | (1u << sh);
        memcpy(&vb, &val[index], sizeof vb);
        vb &= 0u - seen;
        float old;
        memcpy(&old, &vb, sizeof old);
        val[index] = old + 1.0f;
        distinct += 1u - seen;
    }
    a->n = distinct;
}

/* Phase 4: count the batch's hashed n-grams (nt tokens, their hashes uni[] and big[]). */
static void count_ngrams(token_acc *t, const uint32_t *uni, const uint32_t *big, size_t nt) {
    size_t first_bigram = t->have_prev ? 0 : 1;
    sparse_acc *a = t->acc;
    uint32_t dim = t->f->hash_dim, dim_mask = (dim & (dim - 1)) == 0 ? dim - 1 : 0;
    if (a->direct) { /* the order does not matter: counts */
        count_direct(a, uni, nt, dim_mask, dim);
        if (t->bigrams) count_direct(a, big + first_bigram, nt - first_bigram, dim_mask, dim);
    } else { /* text order: unigram, then bigram, token by token (the overflow rule depends on it) */
        for (size_t k = 0; k < nt; k++) {
            sparse_add(a, dim_mask ? uni[k] & dim_mask : uni[k] % dim);
            if (t->bigrams && k >= first_bigram) sparse_add(a, dim_mask ? big[k] & dim_mask : big[k] % dim);
        }
    }
    t->prev_h = uni[nt - 1];
    t->have_prev = 1;
}

/* Phase 3: the batch's unigram and bigram hashes (portable code). */
static void batch_hash(token_acc *t, token_batch *b, const unsigned char *p, size_t nt) {
    hash_classes(b, p, t->ev, NULL, b->uni);
    if (t->bigrams) {
        b->seed[0] = (t->prev_h ^ (unsigned char)' ') * FNV_PRIME;
        for (size_t k = 1; k < nt; k++) b->seed[k] = (b->uni[k - 1] ^ (unsigned char)' ') * FNV_PRIME;
        hash_classes(b, p, t->ev, b->seed, b->big);
    }
}

/* Phases 1 to 3 with AVX-512 (features_simd.c), then phase 4, for the first nt tokens of pos. */
static void token_batch_simd(token_acc *t, const unsigned char *p, size_t n, size_t nt) {
    const allot_featurizer *f = t->f;
    uint32_t uni[TOK_BATCH], big[TOK_BATCH];
    allot_token_batch_in in = {p,          n,  t->tail,      t->tail_at,     t->pos.start,
                               t->pos.end, nt, f->simd >= 2, t->acc != NULL, t->bigrams,
                               t->prev_h};
    allot_token_batch_out out = {t->flags, t->prev_prefix, uni, big};
    allot_features_tokens_avx512(&f->kw, &in, &out);
    t->flags = out.flags;
    t->prev_prefix = out.prev_prefix;
    if (t->acc) count_ngrams(t, uni, big, nt);
}

/* The complete tokens collected so far; an open one (an odd last boundary) is kept for later. */
static void token_batch_run(token_acc *t, const unsigned char *p, size_t n) {
    static const uint8_t length_class[17] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2};
    if (t->simd) {
        size_t nt = t->ne;
        if (!nt) return;
        token_batch_simd(t, p, n, nt);
        t->n_tokens += nt;
        if (t->ns > nt) t->pos.start[0] = t->pos.start[nt]; /* the open token */
        t->ns -= nt;
        t->ne = 0;
        return;
    }
    size_t nt = t->nev / 2;
    if (!nt) return;
    {
        token_batch b;
        uint64_t flags = t->flags;
        unsigned prev_prefix = t->prev_prefix;
        size_t count[TOK_CLASSES] = {0, 0, 0, 0};
        for (size_t k = 0; k < nt; k++) {
            size_t s = t->ev[2 * k], len = t->ev[2 * k + 1] - s;
            b.len[k] = len;
            token_key(t, p, n, s, len, b.key[k], &flags, &prev_prefix);
            unsigned c = len > 16 ? 3u : length_class[len];
            b.order[c][count[c]++] = (uint8_t)k;
        }
        memcpy(b.count, count, sizeof count);
        t->flags = flags;
        t->prev_prefix = prev_prefix;
        if (t->acc) {
            batch_hash(t, &b, p, nt);
            count_ngrams(t, b.uni, b.big, nt);
        }
    }
    t->n_tokens += nt;
    if (t->nev % 2) t->ev[0] = t->ev[2 * nt];
    t->nev %= 2;
}

/* Token boundaries of a block: bit j of tok ^ (tok << 1 | before) is set where a token starts or
 * ends at byte j (they alternate). */
static void token_events(token_acc *t, const unsigned char *p, size_t n, size_t base, uint64_t tok,
                         uint64_t before) {
    if (t->simd) { /* starts and ends apart, 16 positions at a time (a block has at most 32 of each) */
        uint64_t prev = (tok << 1) | before, starts = tok & ~prev;
        int (*events)(uint64_t, uint64_t, uint32_t, uint32_t *, size_t *, uint32_t *, size_t *, size_t) =
            t->f->simd >= 2 ? allot_features_events_vbmi2 : allot_features_events_avx512;
        if (!events(starts, ~tok & prev, (uint32_t)base, t->pos.start, &t->ns, t->pos.end, &t->ne,
                    TOK_BATCH)) {
            token_batch_run(t, p, n); /* the starts did not fit: the batch so far first */
            events(starts, ~tok & prev, (uint32_t)base, t->pos.start, &t->ns, t->pos.end, &t->ne, TOK_BATCH);
        }
        return;
    }
    if (t->nev + 64 > 2 * TOK_BATCH) token_batch_run(t, p, n);
    size_t nev = t->nev;
    for (uint64_t ev = tok ^ ((tok << 1) | before); ev; ev &= ev - 1) t->ev[nev++] = base + ctz64(ev);
    t->nev = nev;
}

/* Block [base, base + 64) with AVX-512BW (features_simd.h): its masks into m, its counts added to
 * bs's (block_totals takes them at the end), the rare special bytes through special_rare as
 * special_bytes does. */
static void scan_block_simd(const unsigned char *p, size_t n, size_t base, int vbmi, allot_block_carry *carry,
                            allot_block_scan *bs, block_masks *m, special_acc *sp) {
    size_t avail = n - base < 64 ? n - base : 64;
    if (vbmi)
        allot_features_scan_block_vbmi(p + base, avail, carry, bs);
    else
        allot_features_scan_block_avx512bw(p + base, avail, carry, bs);
    m->space = bs->space;
    m->token = bs->token;
    m->digit = bs->digit;
    m->special = 0;
    m->zero = bs->zero;
    m->sep = bs->sep;
    if (bs->last_term >= 0) sp->last_term = base + (size_t)bs->last_term;
    for (uint64_t r = bs->rare; r; r &= r - 1) special_rare(sp, p, n, base + ctz64(r));
}

/* The counts the vector code summed over the blocks (scan_block_simd) into cc and sp. */
static void block_totals(const allot_block_scan *bs, class_counts *cc, special_acc *sp) {
    cc->digits = bs->digits;
    cc->upper = bs->upper;
    cc->high = bs->high;
    cc->cont = bs->cont;
    cc->spaces = bs->spaces;
    cc->words = bs->words;
    for (unsigned k = 1; k < SC_COUNT; k++) sp->count[k] = bs->count[k];
    sp->sentences = bs->sentences;
}

#define PREFETCH_BYTES 2048u /* of a prompt, requested before the scan (allot_featurize_ex) */

/* The byte, number and token passes over p[0..n) (see above); the flags and counts into v. */
static void scan_prompt(const unsigned char *p, size_t n, double *v, token_acc *t) {
    int simd = t->f->simd >= 1;
    allot_block_carry carry = {1, 0};
    special_acc sp;
    memset(&sp, 0, sizeof sp);
    number_acc num = {0, 0, 0, 0};
    class_counts cc = {0, 0, 0, 0, 0, 0};
    allot_block_scan bs; /* the vector code's block scan: counts summed over the blocks */
    memset(&bs, 0, sizeof bs);
    lane_counts lanes;
    lanes_init(&lanes);
    size_t last_nonspace = 0; /* position + 1 of the last non-whitespace byte; 0 = none */
    uint64_t tok_before = 0, digit_before = 0;
    unsigned char tail[64];
    for (size_t base = 0; base < n; base += 64) {
        block_masks m;
        if (simd) {
            scan_block_simd(p, n, base, t->f->simd >= 2, &carry, &bs, &m, &sp);
        } else {
            const unsigned char *b = p + base;
            if (n - base < 64) {
                memset(tail, ' ', sizeof tail);
                memcpy(tail, b, n - base);
                b = tail;
            }
#ifdef FEATURES_SSE2
            classify_block(b, &lanes, &m);
            if (lanes.pending >= 252) lanes_flush(&lanes, &cc);
#else
            classify_block_counted(b, &lanes, &m, &cc);
#endif
            m.zero = m.sep = 0; /* the vector code's number masks: unused here */
            if (m.special) special_bytes(&sp, p, n, base, m.special);
        }
        if (~m.space) last_nonspace = base + top_bit64(~m.space) + 1;
        uint64_t digit_starts = m.digit & ~((m.digit << 1) | digit_before);
        if (digit_starts) {
            if (simd)
                number_starts_masks(&num, p, n, base, &m, digit_starts);
            else
                number_starts(&num, p, n, base, digit_starts);
        }
        token_events(t, p, n, base, m.token, tok_before);
        tok_before = m.token >> 63;
        digit_before = m.digit >> 63;
    }
    if (simd)
        block_totals(&bs, &cc, &sp);
    else
        lanes_flush(&lanes, &cc);
    if (carry.term) { /* a terminator at the end of a full last block: the end follows it */
        sp.sentences++;
        sp.last_term = n;
    }
    if (t->nev % 2) t->ev[t->nev++] = n; /* a token running to the end of a full block */
    if (t->ns > t->ne) t->pos.end[t->ne++] = (uint32_t)n;
    token_batch_run(t, p, n);
    if (n % 64) cc.spaces -= 64 - n % 64; /* the padding */

    v[F_LEN_BYTES] = (double)n;
    v[F_LEN_CHARS] = (double)(n - cc.cont);
    v[F_N_NON_ASCII] = (double)cc.high;
    v[F_N_DIGITS] = (double)cc.digits;
    v[F_N_UPPERCASE] = (double)cc.upper;
    v[F_N_QUESTION_MARKS] = (double)sp.count[SC_QUESTION];
    v[F_N_DOLLARS] = (double)sp.count[SC_DOLLAR];
    v[F_N_CARETS] = (double)sp.count[SC_CARET];
    v[F_N_PERCENT_SIGNS] = (double)sp.count[SC_PERCENT];
    v[F_N_EQUALS] = (double)sp.count[SC_EQUALS];
    v[F_N_OPERATORS] =
        (double)(sp.count[SC_OPERATOR] + sp.count[SC_CARET] + sp.count[SC_EQUALS] + sp.utf8_ops);
    v[F_N_BRACKETS] = (double)sp.count[SC_BRACKET];
    v[F_N_CODE_PUNCT] = (double)sp.count[SC_CODE];
    v[F_N_LATEX_CMDS] = (double)sp.latex;
    v[F_N_LATEX_FRAC] = (double)sp.frac;
    v[F_N_LATEX_SQRT] = (double)sp.sqrt_;
    v[F_N_WORDS] = (double)cc.words;
    v[F_N_LINES] = n == 0 ? 0 : (double)(sp.count[SC_NEWLINE] + (p[n - 1] == '\n' ? 0 : 1));
    v[F_N_SENTENCES] = (double)(sp.sentences + (last_nonspace > sp.last_term ? 1 : 0));
    v[F_AVG_WORD_LEN] = cc.words ? (double)(n - cc.spaces) / (double)cc.words : 0;
    v[F_N_NUMBERS] = (double)num.numbers;
    v[F_N_DECIMALS] = (double)num.decimals;
    if (num.best_key)
        v[F_MAX_NUMBER_LOG10] = (double)(num.best_key / 100 - 1) + log10_lead2[num.best_key % 100 - 10];
    v[F_N_TOKENS] = (double)t->n_tokens;
    if (sp.count[SC_PERCENT] > 0) t->flags |= (uint64_t)1 << F_KW_PERCENT;
    if (!simd) /* the vector code reads the flags themselves (allot_features_pick_avx512) */
        for (unsigned k = F_Q_HOW_MANY; k < F_COUNT; k++) v[k] = (double)((t->flags >> k) & 1u);
}

/* L2 normalisation of the n hashed counts: val / sqrt(sum of val^2), the sum taken in index order
 * in double. The counts are integers: while every partial sum stays below 2^53 (prompts under
 * 2^24 bytes: at most n + 1 n-grams, so the sum of squares is below (n + 1)^2), summing them as
 * integers gives the same double, and each count's quotient is computed once for the small counts
 * (the same division, so the same float). */
static void normalise_l2(float *val, size_t n, size_t prompt_len) {
    double ss = 0;
    if (prompt_len < ((size_t)1 << 24)) {
        uint64_t s2 = 0;
        for (size_t k = 0; k < n; k++) {
            uint64_t c = (uint32_t)val[k];
            s2 += c * c;
        }
        ss = (double)s2;
    } else {
        for (size_t k = 0; k < n; k++) {
            /* product and sum in separate statements: no compiler may fuse them into an FMA
             * (clang's default -ffp-contract=on fuses within one expression), so the norm is
             * the same on every platform */
            double sq = (double)val[k] * (double)val[k];
            ss += sq;
        }
    }
    double norm = sqrt(ss);
    float small[8];
    for (unsigned c = 1; c < 8; c++) small[c] = (float)((double)c / norm);
    for (size_t k = 0; k < n; k++) {
        float c = val[k];
        val[k] = c < 8.0f ? small[(unsigned)c] : (float)((double)c / norm);
    }
}

/* The n-grams' indices collected in keys16 (VBMI2), as sorted (index, value) pairs: at most
 * ALLOT_SORT_KEYS_MAX sorted in registers and counted, more counted in count16 and found there. */
static void finish_keys(const allot_featurizer *f, sparse_acc *a) {
    if (a->n <= ALLOT_SORT_KEYS_MAX) {
        a->n = allot_features_sort_count_vbmi2(a->keys16, a->n, a->idx, a->val, f->norm_l2);
        return;
    }
    memset(a->count16, 0, f->hash_dim * sizeof *a->count16);
    for (size_t i = 0; i < a->n; i++) a->count16[a->keys16[i]]++;
    /* idx gets n + 64 <= hash_dim / 2 + 48 entries at most, over the keys (read by now) */
    a->n = allot_features_nonzero16_vbmi2(a->count16, f->hash_dim, a->idx);
    allot_features_finish16_avx512(a->idx, a->count16, a->val, a->n, f->norm_l2);
}

/* The hashed block's sorted (index, value) pairs, L2-normalised when the spec says so; 1 when they
 * overflowed the caller's capacity. With AVX-512 (features_simd.h), the common direct case gathers
 * and normalises 16 values at a time: the same operations, the same values. */
static int finish_hashed(const allot_featurizer *f, sparse_acc *a, size_t prompt_len) {
    if (a->keys16) {
        finish_keys(f, a);
        return 0;
    }
    if (f->simd >= 1 && a->direct && a->n + 8 <= f->hash_dim - a->nwords && prompt_len < ((size_t)1 << 24)) {
        if (f->simd >= 2 && a->n + 64 <= f->hash_dim - a->nwords)
            a->n = allot_features_flatten_vbmi2(a->bits, a->nwords, a->idx);
        else
            a->n = flatten_bits(a->bits, a->nwords, a->idx);
        if (a->count16)
            allot_features_finish16_avx512(a->idx, a->count16, a->val, a->n, f->norm_l2);
        else
            allot_features_finish_avx512(a->idx, a->val, a->n, f->norm_l2);
        return 0;
    }
    sparse_finish(a, f->hash_dim);
    if (a->overflow) return 1;
    if (f->norm_l2 && a->n) normalise_l2(a->val, a->n, prompt_len);
    return 0;
}

allot_status allot_featurize(const allot_featurizer *f, const char *prompt, size_t prompt_len,
                             const double *extras, size_t n_extras, float *dense_out, uint32_t *sparse_index,
                             float *sparse_value, size_t sparse_cap, size_t *sparse_count, allot_error *err) {
    return allot_featurize_ex(f, prompt, prompt_len, extras, n_extras, NULL, 0, dense_out, sparse_index,
                              sparse_value, sparse_cap, sparse_count, err);
}

/* The embedding block: the caller's dim float32 values, checked (dimension, finite), or all NaN
 * (missing) when embedding is NULL. */
static allot_status embedding_block(const allot_featurizer *f, const float *embedding, size_t dim, float *out,
                                    allot_error *err) {
    if (!embedding) {
        if (dim)
            return allot_error_set(err, ALLOT_E_ARGUMENT,
                                   "allot_featurize: embedding is NULL with dimension %zu", dim);
        for (size_t k = 0; k < f->embed_dim; k++) out[k] = NAN;
        return ALLOT_OK;
    }
    if (dim != f->embed_dim)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_featurize: embedding has %zu values, the spec's %s %zu", dim,
                               f->embed_name ? f->embed_name : "embedding", f->embed_dim);
    for (size_t k = 0; k < dim; k++) {
        if (!isfinite(embedding[k]))
            return allot_error_set(err, ALLOT_E_INVALID, "allot_featurize: %s[%zu] is not a finite number",
                                   f->embed_name, k);
        out[k] = embedding[k];
    }
    return ALLOT_OK;
}

allot_status allot_featurize_ex(const allot_featurizer *f, const char *prompt, size_t prompt_len,
                                const double *extras, size_t n_extras, const float *embedding,
                                size_t embedding_dim, float *dense_out, uint32_t *sparse_index,
                                float *sparse_value, size_t sparse_cap, size_t *sparse_count,
                                allot_error *err) {
    if (sparse_count) *sparse_count = 0;
    if (!f || !dense_out)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurize: NULL featuriser or dense_out");
    if (!prompt && prompt_len)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurize: prompt is NULL");
    if (!(n_extras == 0 && !extras) && !(n_extras == f->n_extra && extras))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_featurize: %zu extra values given, the spec has %zu", n_extras,
                               f->n_extra);
    if (sparse_index && (!sparse_value || !sparse_count))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_featurize: sparse_value and sparse_count are required");
    allot_status est =
        embedding_block(f, embedding, embedding_dim, dense_out + f->n_builtin + f->n_extra, err);
    if (est) return est;
    int do_hash = sparse_index != NULL && f->hash_dim > 0;

    const unsigned char *p = (const unsigned char *)(prompt ? prompt : "");
    double v[F_COUNT];
    for (int k = 0; k < F_COUNT; k++) v[k] = 0;
    sparse_acc acc;
    memset(&acc, 0, sizeof acc);
    acc.idx = sparse_index;
    acc.val = sparse_value;
    acc.cap = sparse_cap;
    acc.sorted = 1;
    if (do_hash && sparse_cap >= f->hash_dim) {
        acc.direct = 1;
        acc.nwords = ((size_t)f->hash_dim + 31u) / 32u;
        acc.bits = sparse_index + (f->hash_dim - acc.nwords);
        /* zeroing the counts of a small block costs less than resetting each on first sight; with the
         * vector code, a short prompt's counts (at most prompt_len + 1 n-grams) fit in 16 bits, in the
         * upper half of val, apart from the lower half where the outputs go */
        if (f->simd >= 1 && f->hash_dim <= DIRECT_ZERO_MAX && prompt_len + 17 <= f->hash_dim / 2 &&
            prompt_len + 80 <= f->hash_dim - acc.nwords) {
            acc.count16 = (uint16_t *)(void *)sparse_value + f->hash_dim;
            acc.zeroed = 1;
            if (f->simd >= 2) /* the indices collected in idx's upper half (ending before the bitmap) */
                acc.keys16 = (uint16_t *)(void *)sparse_index + f->hash_dim;
            else
                memset(acc.count16, 0, f->hash_dim * sizeof *acc.count16);
        } else if (f->hash_dim <= DIRECT_ZERO_MAX) {
            memset(sparse_value, 0, f->hash_dim * sizeof *sparse_value);
            acc.zeroed = 1;
        }
        if (!acc.keys16) memset(acc.bits, 0, acc.nwords * sizeof *acc.bits); /* collected keys need none */
    }
    token_acc t;
    t.f = f;
    t.acc = do_hash ? &acc : NULL;
    t.bigrams = f->ngrams >= 2;
    t.have_prev = 0;
    t.prev_h = 0;
    t.prev_prefix = 0;
    t.flags = 0;
    t.n_tokens = 0;
    t.simd = f->simd >= 1 && prompt_len < ((size_t)1 << 31) - 64;
    t.nev = t.ns = t.ne = 0;
    t.tail_at = prompt_len >= 16 ? prompt_len - 16 : 0;
    memset(t.tail, 0, sizeof t.tail);
    if (prompt_len) memcpy(t.tail, p + t.tail_at, prompt_len - t.tail_at);

    /* the prompt's first lines requested at once, so that their misses overlap (the block scan asks for
     * them one after another) */
    for (size_t at = 0; at < prompt_len && at < PREFETCH_BYTES; at += 64) __builtin_prefetch(p + at);
    scan_prompt(p, prompt_len, v, &t);

    /* built-in values are at most a few times the prompt length: within float range */
    if (f->simd >= 1)
        allot_features_pick_avx512(v, f->builtin, f->n_builtin, t.flags, F_Q_HOW_MANY, dense_out);
    else
        for (size_t k = 0; k < f->n_builtin; k++) dense_out[k] = (float)v[f->builtin[k]];
    for (size_t k = 0; k < f->n_extra; k++) dense_out[f->n_builtin + k] = n_extras ? to_f32(extras[k]) : NAN;

    if (do_hash) {
        if (finish_hashed(f, &acc, prompt_len))
            return allot_error_set(err, ALLOT_E_ARGUMENT,
                                   "allot_featurize: sparse capacity %zu is too small for this prompt "
                                   "(a capacity of hash_dim = %u always suffices)",
                                   sparse_cap, f->hash_dim);
        *sparse_count = acc.n;
    }
    return ALLOT_OK;
}

/* ---- extras from a labelled-runs record ------------------------------------------------------------- */

double allot_features_first_number(const char *s) {
    if (!s) return NAN;
    for (const char *p = s; *p; p++) {
        if (!is_digit((unsigned char)*p)) continue;
        int neg = p > s && p[-1] == '-';
        double ip = 0, fp = 0, scale = 1;
        while (is_digit((unsigned char)*p)) ip = ip * 10 + (double)(*p++ - '0');
        if (*p == '.' && is_digit((unsigned char)p[1])) {
            p++;
            int k = 0;
            while (is_digit((unsigned char)*p)) {
                if (k < 15) { /* keep fp and scale exact integers (< 2^53) */
                    fp = fp * 10 + (double)(*p - '0');
                    scale *= 10;
                    k++;
                }
                p++;
            }
        }
        double v = ip + fp / scale;
        return neg ? -v : v;
    }
    return NAN;
}

/* Find `path` in obj: the whole path as a key first, then split at each '.' into nested objects. */
static const cJSON *lookup_path(const cJSON *obj, const char *path, int depth) {
    if (!cJSON_IsObject(obj) || depth > 16) return NULL;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, path);
    if (it) return it;
    for (const char *dot = strchr(path, '.'); dot; dot = strchr(dot + 1, '.')) {
        size_t klen = (size_t)(dot - path);
        const cJSON *child;
        cJSON_ArrayForEach(child, obj) {
            if (child->string && strlen(child->string) == klen && !memcmp(child->string, path, klen) &&
                cJSON_IsObject(child)) {
                const cJSON *r = lookup_path(child, dot + 1, depth + 1);
                if (r) return r;
            }
        }
    }
    return NULL;
}

/* The record's value of an extra feature name: "features.<name>" in the features object, "meta.<path>"
 * in meta (lookup_path); NULL when absent. */
static const cJSON *record_field(const cJSON *feats, const cJSON *meta, const char *name) {
    if (!strncmp(name, "features.", 9))
        return cJSON_IsObject(feats) ? cJSON_GetObjectItemCaseSensitive(feats, name + 9) : NULL;
    if (!strncmp(name, "meta.", 5)) return lookup_path(meta, name + 5, 0);
    return NULL;
}

static double json_value_number(const cJSON *it) {
    if (!it) return NAN;
    if (cJSON_IsNumber(it)) return it->valuedouble;
    if (cJSON_IsTrue(it)) return 1;
    if (cJSON_IsFalse(it)) return 0;
    if (cJSON_IsString(it)) return allot_features_first_number(it->valuestring);
    return NAN;
}

allot_status allot_featurizer_extras_from_record(const allot_featurizer *f, const char *record_json,
                                                 size_t len, double *extras_out, allot_error *err) {
    if (!f || (!record_json && len) || (!extras_out && f->n_extra))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_featurizer_extras_from_record: NULL argument");
    if (f->n_extra == 0) return ALLOT_OK;
    int nomem;
    cJSON *rec = allot_rt_json_parse(record_json ? record_json : "", len, NULL, &nomem);
    if (!rec && nomem) return allot_error_set(err, ALLOT_E_NOMEM, "record: out of memory parsing the record");
    if (!rec) return allot_error_set(err, ALLOT_E_PARSE, "record: not valid JSON");
    char msg[ALLOT_ERROR_MSG_SIZE];
    int strict = allot_rt_json_strict_check(rec, record_json, len, "record", msg, sizeof msg);
    if (strict) {
        cJSON_Delete(rec);
        return allot_error_set(err, strict < 0 ? ALLOT_E_NOMEM : ALLOT_E_INVALID, "%s", msg);
    }
    if (!cJSON_IsObject(rec)) {
        cJSON_Delete(rec);
        return allot_error_set(err, ALLOT_E_INVALID, "record: must be a JSON object");
    }
    const cJSON *feats = cJSON_GetObjectItemCaseSensitive(rec, "features");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(rec, "meta");
    for (size_t i = 0; i < f->n_numeric; i++)
        extras_out[i] = json_value_number(record_field(feats, meta, f->extra[i]));
    for (size_t k = 0; k < f->n_cat; k++) {
        const cat_field *c = &f->cat[k];
        const cJSON *it = record_field(feats, meta, c->field);
        /* absent: missing (NaN); a string: its indicator (all zero when unseen in training); any other
         * value is no category either: all zero */
        for (size_t v = 0; v < c->n_values; v++)
            extras_out[c->first + v] = !it                                                            ? NAN
                                       : cJSON_IsString(it) && !strcmp(it->valuestring, c->values[v]) ? 1
                                                                                                      : 0;
    }
    cJSON_Delete(rec);
    return ALLOT_OK;
}

/* Parse a record (a JSON object); ALLOT_OK with *rec, or an error naming it. */
static allot_status parse_record(const char *record_json, size_t len, cJSON **rec, allot_error *err) {
    int nomem;
    *rec = allot_rt_json_parse(record_json ? record_json : "", len, NULL, &nomem);
    if (!*rec && nomem)
        return allot_error_set(err, ALLOT_E_NOMEM, "record: out of memory parsing the record");
    if (!*rec) return allot_error_set(err, ALLOT_E_PARSE, "record: not valid JSON");
    if (!cJSON_IsObject(*rec)) {
        cJSON_Delete(*rec);
        *rec = NULL;
        return allot_error_set(err, ALLOT_E_INVALID, "record: must be a JSON object");
    }
    return ALLOT_OK;
}

allot_status allot_featurizer_embedding_from_record(const allot_featurizer *f, const char *record_json,
                                                    size_t len, float *out, int *present, allot_error *err) {
    if (!f || (!record_json && len) || !present || (!out && f->embed_dim))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_featurizer_embedding_from_record: NULL argument");
    *present = 0;
    if (!f->embed_name) return ALLOT_OK;
    cJSON *rec;
    allot_status st = parse_record(record_json, len, &rec, err);
    if (st) return st;
    const cJSON *feats = cJSON_GetObjectItemCaseSensitive(rec, "features");
    const cJSON *it = record_field(feats, NULL, f->embed_name);
    if (it && !cJSON_IsArray(it))
        st = allot_error_set(err, ALLOT_E_INVALID, "record: %s: expected an array of %zu numbers",
                             f->embed_name, f->embed_dim);
    else if (it && (size_t)cJSON_GetArraySize(it) != f->embed_dim)
        st = allot_error_set(err, ALLOT_E_INVALID, "record: %s: %d values, the policy's embedding has %zu",
                             f->embed_name, cJSON_GetArraySize(it), f->embed_dim);
    size_t k = 0;
    const cJSON *v;
    if (it && !st) cJSON_ArrayForEach(v, it) {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
                st = allot_error_set(err, ALLOT_E_INVALID, "record: %s[%zu]: not a finite number",
                                     f->embed_name, k);
                break;
            }
            out[k++] = to_f32(v->valuedouble);
        }
    if (it && !st) *present = 1;
    cJSON_Delete(rec);
    return st;
}

allot_status allot_features_record_string(const char *record_json, size_t len, const char *name, char **out,
                                          allot_error *err) {
    if ((!record_json && len) || !name || !out)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_features_record_string: NULL argument");
    *out = NULL;
    cJSON *rec;
    allot_status st = parse_record(record_json, len, &rec, err);
    if (st) return st;
    const cJSON *it = record_field(cJSON_GetObjectItemCaseSensitive(rec, "features"),
                                   cJSON_GetObjectItemCaseSensitive(rec, "meta"), name);
    if (cJSON_IsString(it)) {
        *out = dup_string(it->valuestring);
        if (!*out) st = allot_error_set(err, ALLOT_E_NOMEM, "record: out of memory");
    }
    cJSON_Delete(rec);
    return st;
}
