/*
 * liblinear_model.c - LIBLINEAR 2.3 model text loader and evaluator (see allot_model.h).
 *
 * The loader is a strict tokenizer over the bytes given (no NUL terminator needed, no locale):
 * numbers are checked against a decimal grammar and converted with the decimal point removed,
 * so the result never depends on LC_NUMERIC (LIBLINEAR's own load_model switches the process
 * locale to "C" for the same reason, which is not thread-safe).
 *
 * Evaluation mirrors predict_values: per feature in the order given, per column k,
 * dec[k] += w[(idx-1)*nr_w + k] * value, then the bias node last. Same operations in the same
 * order, in double, so the results are bit-identical.
 */
#include "allot/allot_model.h"
#include "cpu.h"
#include "liblinear_internal.h"
#include "runtime_io.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINEAR_MAX_CLASSES 65536
#define LINEAR_MAX_FEATURES 0x7ffffffe

struct allot_linear_model {
    int simd;       /* 4 to 8 decision values summed with AVX2 (allot_linear_model_set_simd) */
    double *w8;     /* for it: w's rows padded to 8 columns, one 64-byte line each (NULL: none) */
    void *w8_block; /* the allocation w8 is aligned in */
    allot_linear_solver solver;
    size_t nr_class;
    size_t nr_feature;
    size_t nr_w;
    double bias;
    int *labels; /* nr_class entries, NULL for regression */
    double *w;   /* (nr_feature + (bias >= 0)) * nr_w */
};

static const struct {
    const char *name;
    allot_linear_solver solver;
} solver_table[] = {
    {"L2R_LR", ALLOT_LINEAR_L2R_LR},
    {"L2R_L2LOSS_SVC_DUAL", ALLOT_LINEAR_L2R_L2LOSS_SVC_DUAL},
    {"L2R_L2LOSS_SVC", ALLOT_LINEAR_L2R_L2LOSS_SVC},
    {"L2R_L1LOSS_SVC_DUAL", ALLOT_LINEAR_L2R_L1LOSS_SVC_DUAL},
    {"MCSVM_CS", ALLOT_LINEAR_MCSVM_CS},
    {"L1R_L2LOSS_SVC", ALLOT_LINEAR_L1R_L2LOSS_SVC},
    {"L1R_LR", ALLOT_LINEAR_L1R_LR},
    {"L2R_LR_DUAL", ALLOT_LINEAR_L2R_LR_DUAL},
    {"L2R_L2LOSS_SVR", ALLOT_LINEAR_L2R_L2LOSS_SVR},
    {"L2R_L2LOSS_SVR_DUAL", ALLOT_LINEAR_L2R_L2LOSS_SVR_DUAL},
    {"L2R_L1LOSS_SVR_DUAL", ALLOT_LINEAR_L2R_L1LOSS_SVR_DUAL},
};

static int solver_is_regression(allot_linear_solver s) {
    return s == ALLOT_LINEAR_L2R_L2LOSS_SVR || s == ALLOT_LINEAR_L2R_L2LOSS_SVR_DUAL ||
           s == ALLOT_LINEAR_L2R_L1LOSS_SVR_DUAL;
}

static int solver_is_logistic(allot_linear_solver s) {
    return s == ALLOT_LINEAR_L2R_LR || s == ALLOT_LINEAR_L1R_LR || s == ALLOT_LINEAR_L2R_LR_DUAL;
}

/* ---------------------------------------------------------------------------------------- */
/* Tokenizer                                                                                 */

typedef struct lexer {
    const char *p, *end;
    size_t line;
} lexer;

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Next whitespace-separated token; returns its length (0 at end of input). */
static size_t next_token(lexer *lx, const char **tok) {
    while (lx->p < lx->end && is_space(*lx->p)) {
        if (*lx->p == '\n') lx->line++;
        lx->p++;
    }
    *tok = lx->p;
    while (lx->p < lx->end && !is_space(*lx->p)) lx->p++;
    return (size_t)(lx->p - *tok);
}

static int tok_is(const char *t, size_t n, const char *word) {
    return strlen(word) == n && memcmp(t, word, n) == 0;
}

/* Locale-independent decimal to double: [+-]digits[.digits][(e|E)[+-]digits], correctly rounded
 * (strtod on a string without a decimal point does not consult the locale). */
static int parse_double(const char *s, size_t n, double *out) {
    char buf[160];
    if (!allot_rt_decimal_canonical(s, n, 120, buf, sizeof buf)) return 0;
    *out = strtod(buf, NULL);
    return 1;
}

static int parse_long(const char *s, size_t n, long long lo, long long hi, long long *out) {
    size_t i = 0;
    int neg = 0;
    if (n == 0 || n > 20) return 0;
    if (s[0] == '+' || s[0] == '-') neg = s[i++] == '-';
    if (i == n) return 0;
    long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        if (v > (LLONG_MAX - 9) / 10) return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (neg) v = -v;
    if (v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                   */

void allot_linear_model_free(allot_linear_model *m) {
    if (!m) return;
    free(m->labels);
    free(m->w);
    free(m->w8_block);
    free(m);
}

#define LERR(code, ...) allot_error_set(err, code, __VA_ARGS__)

/* For the AVX2 sums (4 to 8 columns): a copy of the weights whose rows are padded with zeros to 8
 * columns and aligned to 64 bytes, so that a row is one cache line (the hashed rows are read at
 * random). Fewer columns keep the portable sums: their rows are short already, and the copy would
 * cost more than twice the weights' memory. Without the memory, the portable sums are used: the same
 * values. */
#define SIMD_MIN_COLUMNS 4
static void pad_rows(allot_linear_model *m, size_t rows) {
    if (m->nr_w < SIMD_MIN_COLUMNS || m->nr_w > 8 || !allot_cpu_avx2() || rows > (SIZE_MAX - 63) / 64) return;
    m->w8_block = malloc((rows ? rows : 1) * 64 + 63); /* malloc, aligned here: one allocator to count */
    if (!m->w8_block) return;
    size_t skip = (64 - (size_t)((uintptr_t)m->w8_block % 64)) % 64;
    m->w8 = (double *)(void *)((char *)m->w8_block + skip);
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < 8; k++) m->w8[r * 8 + k] = k < m->nr_w ? m->w[r * m->nr_w + k] : 0.0;
}

static allot_status parse_model(allot_linear_model *m, const char *data, size_t len, allot_error *err) {
    lexer lx = {data, data + len, 1};
    const char *t;
    size_t n;
    int have_solver = 0, have_class = 0, have_feature = 0, have_bias = 0;
    long long v;
    for (;;) {
        n = next_token(&lx, &t);
        if (n == 0)
            return LERR(ALLOT_E_PARSE, "liblinear model: line %zu: unexpected end of file before \"w\"",
                        lx.line);
        if (tok_is(t, n, "solver_type")) {
            n = next_token(&lx, &t);
            size_t k;
            for (k = 0; k < sizeof solver_table / sizeof solver_table[0]; k++)
                if (tok_is(t, n, solver_table[k].name)) break;
            if (k == sizeof solver_table / sizeof solver_table[0])
                return LERR(ALLOT_E_UNSUPPORTED, "liblinear model: line %zu: unknown solver_type \"%.*s\"",
                            lx.line, (int)(n > 40 ? 40 : n), t);
            m->solver = solver_table[k].solver;
            have_solver = 1;
        } else if (tok_is(t, n, "nr_class")) {
            n = next_token(&lx, &t);
            if (!parse_long(t, n, 1, LINEAR_MAX_CLASSES, &v))
                return LERR(ALLOT_E_INVALID, "liblinear model: line %zu: bad nr_class", lx.line);
            if (m->labels)
                return LERR(ALLOT_E_INVALID, "liblinear model: line %zu: nr_class after label", lx.line);
            m->nr_class = (size_t)v;
            have_class = 1;
        } else if (tok_is(t, n, "nr_feature")) {
            n = next_token(&lx, &t);
            if (!parse_long(t, n, 0, LINEAR_MAX_FEATURES, &v))
                return LERR(ALLOT_E_INVALID, "liblinear model: line %zu: bad nr_feature", lx.line);
            m->nr_feature = (size_t)v;
            have_feature = 1;
        } else if (tok_is(t, n, "bias")) {
            n = next_token(&lx, &t);
            if (!parse_double(t, n, &m->bias) || !isfinite(m->bias))
                return LERR(ALLOT_E_INVALID, "liblinear model: line %zu: bad bias", lx.line);
            have_bias = 1;
        } else if (tok_is(t, n, "label")) {
            if (!have_class)
                return LERR(ALLOT_E_INVALID, "liblinear model: line %zu: label before nr_class", lx.line);
            if (m->labels)
                return LERR(ALLOT_E_INVALID, "liblinear model: line %zu: label given twice", lx.line);
            m->labels = malloc(m->nr_class * sizeof *m->labels);
            if (!m->labels) return LERR(ALLOT_E_NOMEM, "liblinear model: out of memory");
            for (size_t i = 0; i < m->nr_class; i++) {
                n = next_token(&lx, &t);
                if (!parse_long(t, n, INT32_MIN, INT32_MAX, &v))
                    return LERR(ALLOT_E_INVALID, "liblinear model: line %zu: label %zu is not an integer",
                                lx.line, i);
                m->labels[i] = (int)v;
            }
        } else if (tok_is(t, n, "w")) {
            break;
        } else {
            return LERR(ALLOT_E_PARSE, "liblinear model: line %zu: unknown text \"%.*s\"", lx.line,
                        (int)(n > 40 ? 40 : n), t);
        }
    }
    if (!have_solver || !have_class || !have_feature || !have_bias)
        return LERR(ALLOT_E_INVALID, "liblinear model: header lacks %s",
                    !have_solver    ? "solver_type"
                    : !have_class   ? "nr_class"
                    : !have_feature ? "nr_feature"
                                    : "bias");
    int regression = solver_is_regression(m->solver);
    if (regression && m->nr_class != 2)
        return LERR(ALLOT_E_INVALID, "liblinear model: regression model with nr_class %zu (expected 2)",
                    m->nr_class);
    if (!regression && !m->labels)
        return LERR(ALLOT_E_INVALID, "liblinear model: classification model without a label line");
    m->nr_w = (m->nr_class == 2 && m->solver != ALLOT_LINEAR_MCSVM_CS) || regression ? 1 : m->nr_class;
    size_t rows = m->nr_feature + (m->bias >= 0 ? 1 : 0);
    /* Every weight takes at least two bytes of text: refuse sizes the input cannot hold before
     * allocating (a hostile header must not make us allocate gigabytes). */
    size_t remaining = (size_t)(lx.end - lx.p);
    if (rows != 0 && m->nr_w > remaining / 2 / rows)
        return LERR(ALLOT_E_PARSE, "liblinear model: truncated: %zu x %zu weights announced, input too short",
                    rows, m->nr_w);
    size_t nw = rows * m->nr_w;
    m->w = malloc((nw ? nw : 1) * sizeof *m->w);
    if (!m->w) return LERR(ALLOT_E_NOMEM, "liblinear model: out of memory");
    for (size_t i = 0; i < nw; i++) {
        n = next_token(&lx, &t);
        if (n == 0) return LERR(ALLOT_E_PARSE, "liblinear model: truncated: %zu of %zu weights read", i, nw);
        if (!parse_double(t, n, &m->w[i]) || !isfinite(m->w[i]))
            return LERR(ALLOT_E_INVALID, "liblinear model: line %zu: weight %zu is not a finite number",
                        lx.line, i);
    }
    n = next_token(&lx, &t);
    if (n != 0)
        return LERR(ALLOT_E_PARSE, "liblinear model: line %zu: unexpected text after the weights", lx.line);
    pad_rows(m, rows);
    allot_linear_model_set_simd(m, 1);
    return ALLOT_OK;
}

allot_status allot_linear_model_load_memory(const char *data, size_t len, allot_linear_model **out,
                                            allot_error *err) {
    if (!out) return LERR(ALLOT_E_ARGUMENT, "liblinear model: out is NULL");
    *out = NULL;
    if (!data && len) return LERR(ALLOT_E_ARGUMENT, "liblinear model: data is NULL");
    if (data) data = allot_rt_skip_bom(data, &len);
    allot_linear_model *m = calloc(1, sizeof *m);
    if (!m) return LERR(ALLOT_E_NOMEM, "liblinear model: out of memory");
    allot_status st = parse_model(m, data, len, err);
    if (st) {
        allot_linear_model_free(m);
        return st;
    }
    *out = m;
    return ALLOT_OK;
}

allot_status allot_linear_model_load_file(const char *path, allot_linear_model **out, allot_error *err) {
    if (!out) return LERR(ALLOT_E_ARGUMENT, "liblinear model: out is NULL");
    *out = NULL;
    if (!path) return LERR(ALLOT_E_ARGUMENT, "liblinear model: path is NULL");
    char *buf;
    size_t len;
    allot_status rs = allot_rt_read_file("liblinear model", path, 0, &buf, &len, err);
    if (rs != ALLOT_OK) return rs;
    allot_status st = allot_linear_model_load_memory(buf, len, out, err);
    free(buf);
    return st == ALLOT_OK ? ALLOT_OK : allot_rt_error_prefix(err, st, path);
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors and evaluation                                                                  */

allot_linear_solver allot_linear_model_solver(const allot_linear_model *m) {
    return m ? m->solver : ALLOT_LINEAR_L2R_LR;
}
const char *allot_linear_model_solver_name(const allot_linear_model *m) {
    if (!m) return "";
    for (size_t k = 0; k < sizeof solver_table / sizeof solver_table[0]; k++)
        if (solver_table[k].solver == m->solver) return solver_table[k].name;
    return "";
}
size_t allot_linear_model_num_classes(const allot_linear_model *m) {
    return m ? m->nr_class : 0;
}
size_t allot_linear_model_num_features(const allot_linear_model *m) {
    return m ? m->nr_feature : 0;
}
double allot_linear_model_bias(const allot_linear_model *m) {
    return m ? m->bias : -1.0;
}
int allot_linear_model_label(const allot_linear_model *m, size_t i) {
    return m && m->labels && i < m->nr_class ? m->labels[i] : 0;
}
size_t allot_linear_model_num_decision_values(const allot_linear_model *m) {
    return m ? m->nr_w : 0;
}
int allot_linear_model_has_probability(const allot_linear_model *m) {
    return m && solver_is_logistic(m->solver);
}
int allot_linear_model_is_regression(const allot_linear_model *m) {
    return m && solver_is_regression(m->solver);
}

/*
 * The decision values dec[k] = sum over the features, in input order, of w[index][k] * value, then
 * + w[bias][k] * bias: LIBLINEAR's predict_values, in its order. The sums of up to DEC_LOCAL
 * classes are kept in local variables (the compiler's registers) rather than in the caller's
 * array, which could alias the weights and would make every addition wait for the previous
 * store; the arithmetic and its order are the same.
 */
#define DEC_LOCAL 8
/* Unrolled fully, so that the sums stay in registers. */
#if defined(__clang__)
#define DEC_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define DEC_UNROLL _Pragma("GCC unroll 8")
#else
#define DEC_UNROLL
#endif

static allot_status bad_index(size_t j, int32_t idx, allot_error *err) {
    return LERR(ALLOT_E_ARGUMENT, "liblinear predict: feature %zu has index %d (indices start at 1)", j,
                (int)idx);
}

/* The bias row's terms, last, then the K sums into dec (the end of both DEC_SUMS macros). */
#define DEC_BIAS_AND_STORE(K)                                                                                \
    do {                                                                                                     \
        if (m->bias >= 0) {                                                                                  \
            const double *wb = w + m->nr_feature * (K);                                                      \
            for (size_t k = 0; k < (K); k++) a[k] += wb[k] * m->bias;                                        \
        }                                                                                                    \
        for (size_t k = 0; k < (K); k++) dec[k] = a[k];                                                      \
    } while (0)

#define DEC_SUMS(K)                                                                                          \
    static allot_status dec_sums_##K(const allot_linear_model *m, const allot_linear_feature *x, size_t n,   \
                                     double *dec, allot_error *err) {                                        \
        const double *w = m->w;                                                                              \
        double a[K];                                                                                         \
        for (size_t k = 0; k < (K); k++) a[k] = 0;                                                           \
        for (size_t j = 0; j < n; j++) {                                                                     \
            int32_t idx = x[j].index;                                                                        \
            if (idx < 1) return bad_index(j, idx, err);                                                      \
            if ((size_t)idx > m->nr_feature) continue; /* unseen in training: ignored, as LIBLINEAR does */  \
            const double *wi = w + ((size_t)idx - 1) * (K);                                                  \
            double v = x[j].value;                                                                           \
            DEC_UNROLL for (size_t k = 0; k < (K); k++) a[k] += wi[k] * v;                                   \
        }                                                                                                    \
        DEC_BIAS_AND_STORE(K);                                                                               \
        return ALLOT_OK;                                                                                     \
    }
/* The same sums over an allot_linear_input (dense values, zeros omitted, then the sparse entries). */
#define DEC_SUMS_INPUT(K)                                                                                    \
    static void dec_input_##K(const allot_linear_model *m, const allot_linear_input *x, double *dec) {       \
        const double *w = m->w;                                                                              \
        double a[K];                                                                                         \
        for (size_t k = 0; k < (K); k++) a[k] = 0;                                                           \
        size_t nd = x->n_dense < m->nr_feature ? x->n_dense : m->nr_feature;                                 \
        for (size_t i = 0; i < nd; i++) {                                                                    \
            if (x->dense[i] == 0.0f) continue;                                                               \
            const double *wi = w + i * (K);                                                                  \
            double v = (double)x->dense[i];                                                                  \
            DEC_UNROLL for (size_t k = 0; k < (K); k++) a[k] += wi[k] * v;                                   \
        }                                                                                                    \
        for (size_t j = 0; j < x->n_sparse; j++) {                                                           \
            size_t idx = x->n_dense + x->sparse_index[j] + 1;                                                \
            if (idx > m->nr_feature) continue; /* unseen in training: ignored, as LIBLINEAR does */          \
            const double *wi = w + (idx - 1) * (K);                                                          \
            double v = (double)x->sparse_value[j];                                                           \
            DEC_UNROLL for (size_t k = 0; k < (K); k++) a[k] += wi[k] * v;                                   \
        }                                                                                                    \
        DEC_BIAS_AND_STORE(K);                                                                               \
    }
DEC_SUMS_INPUT(1)
DEC_SUMS_INPUT(2)
DEC_SUMS_INPUT(3)
DEC_SUMS_INPUT(4)
DEC_SUMS_INPUT(5)
DEC_SUMS_INPUT(6)
DEC_SUMS_INPUT(7)
DEC_SUMS_INPUT(8)

DEC_SUMS(1)
DEC_SUMS(2)
DEC_SUMS(3)
DEC_SUMS(4)
DEC_SUMS(5)
DEC_SUMS(6)
DEC_SUMS(7)
DEC_SUMS(8)

/* More classes: the sums in dec itself. */
static allot_status dec_sums_n(const allot_linear_model *m, const allot_linear_feature *x, size_t n,
                               double *dec, allot_error *err) {
    const size_t nr_w = m->nr_w;
    const double *w = m->w;
    for (size_t k = 0; k < nr_w; k++) dec[k] = 0;
    for (size_t j = 0; j < n; j++) {
        int32_t idx = x[j].index;
        if (idx < 1) return bad_index(j, idx, err);
        if ((size_t)idx > m->nr_feature) continue; /* unseen in training: ignored, as LIBLINEAR does */
        const double *wi = w + ((size_t)idx - 1) * nr_w;
        double v = x[j].value;
        for (size_t k = 0; k < nr_w; k++) dec[k] += wi[k] * v;
    }
    if (m->bias >= 0) {
        const double *wi = w + m->nr_feature * nr_w;
        for (size_t k = 0; k < nr_w; k++) dec[k] += wi[k] * m->bias;
    }
    return ALLOT_OK;
}

/* More classes, over an allot_linear_input: the sums in dec itself. */
static void dec_input_n(const allot_linear_model *m, const allot_linear_input *x, double *dec) {
    const size_t nr_w = m->nr_w;
    const double *w = m->w;
    for (size_t k = 0; k < nr_w; k++) dec[k] = 0;
    size_t nd = x->n_dense < m->nr_feature ? x->n_dense : m->nr_feature;
    for (size_t i = 0; i < nd; i++) {
        if (x->dense[i] == 0.0f) continue;
        const double *wi = w + i * nr_w;
        double v = (double)x->dense[i];
        for (size_t k = 0; k < nr_w; k++) dec[k] += wi[k] * v;
    }
    for (size_t j = 0; j < x->n_sparse; j++) {
        size_t idx = x->n_dense + x->sparse_index[j] + 1;
        if (idx > m->nr_feature) continue;
        const double *wi = w + (idx - 1) * nr_w;
        double v = (double)x->sparse_value[j];
        for (size_t k = 0; k < nr_w; k++) dec[k] += wi[k] * v;
    }
    if (m->bias >= 0) {
        const double *wi = w + m->nr_feature * nr_w;
        for (size_t k = 0; k < nr_w; k++) dec[k] += wi[k] * m->bias;
    }
}

int allot_linear_model_set_simd(allot_linear_model *m, int on) {
    m->simd = on && m->w8 && allot_cpu_avx2();
    return m->simd;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(ALLOT_NO_AVX512)
#include <immintrin.h>
#define LINEAR_AVX2 1
#define AVX2 __attribute__((target("avx2")))

/* Row wi's weights (8, padded with zeros) w[k] * v added to lane k of a (columns 0..3) and b (4..7):
 * per column a product rounded, then a sum rounded, as the scalar code (no fused multiply-add: see
 * runtime/CMakeLists.txt). Two 4-wide sums: shorter chains than one 8-wide one. */
#define DEC_AVX2_ADD(wi, v)                                                                                  \
    do {                                                                                                     \
        __m256d vv = _mm256_set1_pd(v);                                                                      \
        a = _mm256_add_pd(a, _mm256_mul_pd(_mm256_load_pd(wi), vv));                                         \
        b = _mm256_add_pd(b, _mm256_mul_pd(_mm256_load_pd((wi) + 4), vv));                                   \
    } while (0)

AVX2 static void dec_input_avx2(const allot_linear_model *m, const allot_linear_input *x, double *dec) {
    const double *w = m->w8;
    __m256d a = _mm256_setzero_pd(), b = _mm256_setzero_pd();
    size_t nd = x->n_dense < m->nr_feature ? x->n_dense : m->nr_feature;
    /* zeros too, without a branch: LIBLINEAR skips them, but adding w * 0 (+0 or -0: the loader
     * takes finite weights only) leaves every sum the same bits when rounding to nearest, the
     * default (x + 0 is x, and a sum started at +0 is never -0). Under rounding downwards a sum of
     * zero may come out -0 instead of +0: the same value. The branch on zero cost 47 ns per
     * prediction in mispredictions (bench/text). */
    for (size_t i = 0; i < nd; i++) DEC_AVX2_ADD(w + i * 8, (double)x->dense[i]);
    /* the indices increase: those past the model (unseen in training, ignored as LIBLINEAR does) last */
    size_t ns = x->n_sparse;
    while (ns && x->n_dense + x->sparse_index[ns - 1] + 1 > m->nr_feature) ns--;
    const double *ws = w + x->n_dense * 8;
    for (size_t j = 0; j < ns; j++)
        DEC_AVX2_ADD(ws + (size_t)x->sparse_index[j] * 8, (double)x->sparse_value[j]);
    if (m->bias >= 0) DEC_AVX2_ADD(w + m->nr_feature * 8, m->bias);
    double out[8];
    _mm256_storeu_pd(out, a);
    _mm256_storeu_pd(out + 4, b);
    memcpy(dec, out, m->nr_w * sizeof *dec);
}
#endif

void allot_linear_model_values_input(const allot_linear_model *m, const allot_linear_input *x, double *dec) {
#ifdef LINEAR_AVX2
    if (m->simd) {
        dec_input_avx2(m, x, dec);
        return;
    }
#endif
    static void (*const sums[DEC_LOCAL + 1])(const allot_linear_model *, const allot_linear_input *,
                                             double *) = {dec_input_n, dec_input_1, dec_input_2,
                                                          dec_input_3, dec_input_4, dec_input_5,
                                                          dec_input_6, dec_input_7, dec_input_8};
    (m->nr_w <= DEC_LOCAL ? sums[m->nr_w] : dec_input_n)(m, x, dec);
}

/* Logistic decision values in prob[0..nr_w) -> the nr_class probabilities, as LIBLINEAR. */
static void logistic_probabilities(const allot_linear_model *m, double *prob) {
    for (size_t k = 0; k < m->nr_w; k++) prob[k] = 1 / (1 + exp(-prob[k]));
    if (m->nr_class == 2) {
        prob[1] = 1. - prob[0];
    } else {
        double sum = 0;
        for (size_t k = 0; k < m->nr_class; k++) sum += prob[k];
        for (size_t k = 0; k < m->nr_class; k++) prob[k] = prob[k] / sum;
    }
}

void allot_linear_model_probability_input(const allot_linear_model *m, const allot_linear_input *x,
                                          double *prob) {
    allot_linear_model_values_input(m, x, prob); /* nr_w <= nr_class: prob holds the decision values */
    logistic_probabilities(m, prob);
}

/* Shared by both predict functions: dec must hold nr_w doubles. */
static allot_status decision(const allot_linear_model *m, const allot_linear_feature *x, size_t n,
                             double *dec, double *predicted, allot_error *err) {
    static allot_status (*const sums[DEC_LOCAL + 1])(const allot_linear_model *, const allot_linear_feature *,
                                                     size_t, double *, allot_error *) = {
        dec_sums_n, dec_sums_1, dec_sums_2, dec_sums_3, dec_sums_4,
        dec_sums_5, dec_sums_6, dec_sums_7, dec_sums_8};
    allot_status st = (m->nr_w <= DEC_LOCAL ? sums[m->nr_w] : dec_sums_n)(m, x, n, dec, err);
    if (st) return st;
    if (predicted) {
        if (solver_is_regression(m->solver)) {
            *predicted = dec[0];
        } else if (m->nr_class == 2) {
            *predicted = dec[0] > 0 ? m->labels[0] : m->labels[1];
        } else {
            size_t best = 0;
            for (size_t k = 1; k < m->nr_class; k++)
                if (dec[k] > dec[best]) best = k;
            *predicted = m->labels[best];
        }
    }
    return ALLOT_OK;
}

allot_status allot_linear_model_predict_values(const allot_linear_model *m, const allot_linear_feature *x,
                                               size_t n, double *dec, size_t dec_len, double *predicted,
                                               allot_error *err) {
    if (!m || (n && !x)) return LERR(ALLOT_E_ARGUMENT, "liblinear predict: NULL argument");
    if (dec && dec_len < m->nr_w)
        return LERR(ALLOT_E_ARGUMENT, "liblinear predict: %zu decision values needed, buffer holds %zu",
                    m->nr_w, dec_len);
    if (dec) return decision(m, x, n, dec, predicted, err);
    /* Only the prediction: use a small stack buffer, or the caller must pass dec. */
    double tmp[256];
    if (m->nr_w > sizeof tmp / sizeof tmp[0])
        return LERR(ALLOT_E_ARGUMENT, "liblinear predict: pass a decision buffer for %zu classes", m->nr_w);
    return decision(m, x, n, tmp, predicted, err);
}

allot_status allot_linear_model_predict_probability(const allot_linear_model *m,
                                                    const allot_linear_feature *x, size_t n, double *prob,
                                                    size_t prob_len, double *predicted, allot_error *err) {
    if (!m || !prob || (n && !x)) return LERR(ALLOT_E_ARGUMENT, "liblinear predict: NULL argument");
    if (!solver_is_logistic(m->solver))
        return LERR(ALLOT_E_UNSUPPORTED,
                    "liblinear predict: %s gives no probabilities (logistic solvers only)",
                    allot_linear_model_solver_name(m));
    if (prob_len < m->nr_class)
        return LERR(ALLOT_E_ARGUMENT, "liblinear predict: %zu probabilities needed, buffer holds %zu",
                    m->nr_class, prob_len);
    /* nr_w <= nr_class, so prob doubles as the decision buffer, as in LIBLINEAR. */
    allot_status st = decision(m, x, n, prob, predicted, err);
    if (st) return st;
    logistic_probabilities(m, prob);
    return ALLOT_OK;
}
