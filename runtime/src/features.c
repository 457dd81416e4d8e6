/*
 * features.c - the shared featuriser (see include/allot/allot_features.h and docs/features.md).
 *
 * Everything here is integer arithmetic plus IEEE-754 double +,-,*,/ and sqrt (all correctly
 * rounded), with no transcendental libm call, so values are identical on every platform.
 */
#include "allot/allot_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features_internal.h"
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
    kw_slot kw[KW_TABLE_SIZE];
    /* first words of the two-word keywords ("how", "show"): only after one of them is a bigram looked up */
    size_t n_prefix;
    const char *prefix[8];
    size_t prefix_len[8];
    uint32_t prefix_hash[8];
};

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

static allot_featurizer *featurizer_new(void) {
    allot_featurizer *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->ngrams = 2;
    f->norm_l2 = 1;
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

    for (size_t k = 0; k < f->n_builtin; k++) dense_out[k] = to_f32(v[f->builtin[k]]);
    for (size_t k = 0; k < f->n_extra; k++) dense_out[f->n_builtin + k] = n_extras ? to_f32(extras[k]) : NAN;

    if (do_hash) {
        sparse_finish(&acc, f->hash_dim);
        if (acc.overflow)
            return allot_error_set(err, ALLOT_E_ARGUMENT,
                                   "allot_featurize: sparse capacity %zu is too small for this prompt "
                                   "(a capacity of hash_dim = %u always suffices)",
                                   sparse_cap, f->hash_dim);
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
