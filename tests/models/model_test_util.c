#include "model_test_util.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int mt_check(mt_counts *c, int cond, const char *fmt, ...) {
    if (cond) {
        c->passed++;
    } else {
        va_list ap;
        c->failed++;
        fprintf(stderr, "FAIL: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    return cond;
}

int mt_finish(const mt_counts *c) {
    printf("models: %d passed, %d failed\n", c->passed, c->failed);
    return c->failed ? 1 : 0;
}

uint64_t mt_next(mt_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double mt_uniform(mt_rng *r) {
    return (double)(mt_next(r) >> 11) * 0x1.0p-53;
}

double mt_normal(mt_rng *r) {
    double u = mt_uniform(r), v = mt_uniform(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

void mt_make_data(uint64_t seed, size_t n, size_t f, double missing, int n_classes, float **xo, float **yo) {
    mt_rng r = {seed};
    float *x = malloc(n * f * sizeof *x);
    float *y = malloc(n * sizeof *y);
    if (!x || !y) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < f; j++) {
            double v = mt_normal(&r);
            /* a few coarse features so that thresholds and ties repeat */
            if (j % 5 == 4) v = floor(v * 2.0);
            x[i * f + j] = (float)v;
            s += v * (j % 3 == 0 ? 1.0 : (j % 3 == 1 ? -0.5 : 0.25)) + (j == 1 ? v * x[i * f] : 0);
        }
        s += 0.7 * mt_normal(&r);
        for (size_t j = 0; j < f; j++)
            if (mt_uniform(&r) < missing) x[i * f + j] = NAN;
        if (n_classes <= 1) {
            y[i] = (float)s;
        } else {
            int k = (int)floor((s + 2.5) / 5.0 * n_classes);
            if (k < 0) k = 0;
            if (k >= n_classes) k = n_classes - 1;
            y[i] = (float)k;
        }
    }
    *xo = x;
    *yo = y;
}

void mt_xgb_ok(int rc, const char *what) {
    if (rc != 0) {
        fprintf(stderr, "xgboost: %s failed: %s\n", what, XGBGetLastError());
        exit(2);
    }
}

BoosterHandle mt_xgb_train(const float *x, const float *y, size_t n, size_t f, int rounds,
                           const char *const *params) {
    DMatrixHandle d;
    BoosterHandle b;
    mt_xgb_ok(XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)f, NAN, &d), "XGDMatrixCreateFromMat");
    mt_xgb_ok(XGDMatrixSetFloatInfo(d, "label", y, (bst_ulong)n), "XGDMatrixSetFloatInfo");
    mt_xgb_ok(XGBoosterCreate(&d, 1, &b), "XGBoosterCreate");
    mt_xgb_ok(XGBoosterSetParam(b, "verbosity", "0"), "SetParam");
    mt_xgb_ok(XGBoosterSetParam(b, "seed", "7"), "SetParam");
    for (size_t i = 0; params && params[i]; i += 2)
        mt_xgb_ok(XGBoosterSetParam(b, params[i], params[i + 1]), params[i]);
    for (int it = 0; it < rounds; it++) mt_xgb_ok(XGBoosterUpdateOneIter(b, it, d), "XGBoosterUpdateOneIter");
    mt_xgb_ok(XGDMatrixFree(d), "XGDMatrixFree");
    return b;
}

const float *mt_xgb_predict_dense(BoosterHandle b, DMatrixHandle proxy, const float *x, size_t n, size_t f,
                                  int type, size_t *out_len) {
    char arr[256], cfg[256];
    snprintf(arr, sizeof arr,
             "{\"data\": [%" PRIuPTR ", true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", \"version\": 3}",
             (uintptr_t)x, n, f);
    snprintf(cfg, sizeof cfg,
             "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
             "\"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}",
             type);
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    mt_xgb_ok(XGBoosterPredictFromDense(b, arr, cfg, proxy, &shape, &dim, &res), "XGBoosterPredictFromDense");
    size_t total = 1;
    for (bst_ulong i = 0; i < dim; i++) total *= (size_t)shape[i];
    *out_len = total;
    return res;
}

char *mt_xgb_save_json(BoosterHandle b, size_t *len) {
    bst_ulong l;
    const char *p;
    mt_xgb_ok(XGBoosterSaveModelToBuffer(b, "{\"format\": \"json\"}", &l, &p), "XGBoosterSaveModelToBuffer");
    char *copy = malloc((size_t)l + 1);
    if (!copy) exit(2);
    memcpy(copy, p, (size_t)l);
    copy[l] = '\0';
    *len = (size_t)l;
    return copy;
}
