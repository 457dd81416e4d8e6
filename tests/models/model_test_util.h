/*
 * model_test_util.h - helpers shared by the model parity tests and the runtime benchmark:
 * synthetic data, XGBoost training through its C API, pass/fail counting.
 */
#ifndef ALLOT_MODEL_TEST_UTIL_H
#define ALLOT_MODEL_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xgboost/c_api.h>

typedef struct mt_counts {
    int passed, failed;
} mt_counts;

/* Record one check; prints a line for failures only. Returns cond. */
int mt_check(mt_counts *c, int cond, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Print "models: N passed, M failed" and return the process exit status. */
int mt_finish(const mt_counts *c);

/* splitmix64-based deterministic generator. */
typedef struct mt_rng {
    uint64_t s;
} mt_rng;
uint64_t mt_next(mt_rng *r);
double mt_uniform(mt_rng *r); /* [0, 1) */
double mt_normal(mt_rng *r);

/* Dense synthetic data: n x f floats, a fraction `missing` of them NaN, and labels for
 * `n_classes` classes (n_classes 1 = regression target). Caller frees both. */
void mt_make_data(uint64_t seed, size_t n, size_t f, double missing, int n_classes, float **x, float **y);

/* Abort with a message if an XGBoost call failed. */
void mt_xgb_ok(int rc, const char *what);

/* Train a booster on dense data. params: NULL-terminated name/value pairs. */
BoosterHandle mt_xgb_train(const float *x, const float *y, size_t n, size_t f, int rounds,
                           const char *const *params);

/* Inplace prediction of n rows, the way XGBoost documents it (missing NaN, all trees).
 * type 0 = value, 1 = margin. proxy may be NULL (a new proxy per call). Returns XGBoost's
 * buffer (valid until the next call on the booster) and the number of floats. */
const float *mt_xgb_predict_dense(BoosterHandle b, DMatrixHandle proxy, const float *x, size_t n, size_t f,
                                  int type, size_t *out_len);

/* Save to a JSON buffer (caller frees the copy). */
char *mt_xgb_save_json(BoosterHandle b, size_t *len);

#endif
