/*
 * test_linear_input.c - the policy's LIBLINEAR evaluation (allot_linear_model_values_input and
 * _probability_input, liblinear_internal.h), with its AVX2 code (4 to 8 decision values) and with its
 * portable code, against the public allot_linear_model_predict_values / _predict_probability on the
 * (index, value) list it stands for (test_linear_parity checks those against LIBLINEAR itself): bit for bit,
 * over random models of 1 to 12 decision values, with and without bias, inputs with zeros, negative zeros,
 * indices past the model's features, and no input at all.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/vector_state.h"
#include "allot/allot_model.h"
#include "liblinear_internal.h"

static int failures, checks;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double uniform(void) {
    return (double)(next() >> 11) * 0x1p-53;
}

/* A LIBLINEAR model text: solver, nr_class labels, nr_feature rows (+ the bias row) of nr_w weights. */
static char *model_text(const char *solver, int nr_class, int nr_w, int nr_feature, double bias) {
    size_t rows = (size_t)nr_feature + (bias >= 0), cap = 256 + rows * (size_t)nr_w * 32;
    char *t = malloc(cap);
    size_t n = (size_t)snprintf(t, cap, "solver_type %s\nnr_class %d\n", solver, nr_class);
    if (strcmp(solver, "L2R_L2LOSS_SVR") != 0) {
        n += (size_t)snprintf(t + n, cap - n, "label");
        for (int c = 0; c < nr_class; c++)
            n += (size_t)snprintf(t + n, cap - n, " %d", (c * 7 + 3) % nr_class);
        n += (size_t)snprintf(t + n, cap - n, "\n");
    }
    n += (size_t)snprintf(t + n, cap - n, "nr_feature %d\nbias %.17g\nw\n", nr_feature, bias);
    for (size_t r = 0; r < rows; r++) {
        for (int k = 0; k < nr_w; k++) {
            double w = (uniform() - 0.5) * 4;
            if (next() % 11 == 0) w = 0;
            n += (size_t)snprintf(t + n, cap - n, "%.17g ", w);
        }
        n += (size_t)snprintf(t + n, cap - n, "\n");
    }
    return t;
}

static void same_bits(const double *a, const double *b, size_t n, const char *what, int simd) {
    checks++;
    if (memcmp(a, b, n * sizeof *a) != 0) {
        failures++;
        if (failures <= 10)
            fprintf(stderr, "FAIL: %s (%s code): %.17g vs %.17g\n", what, simd ? "AVX2" : "portable", a[0],
                    b[0]);
    }
}

static void run_model(const char *solver, int nr_class, int nr_w, int nr_feature, double bias, int logistic) {
    char *text = model_text(solver, nr_class, nr_w, nr_feature, bias);
    allot_linear_model *m;
    allot_error err;
    if (allot_linear_model_load_memory(text, strlen(text), &m, &err)) {
        fprintf(stderr, "FAIL: model: %s\n", err.msg);
        failures++;
        free(text);
        return;
    }
    if ((int)allot_linear_model_num_decision_values(m) != nr_w) {
        fprintf(stderr, "FAIL: %s with %d classes has %zu decision values, expected %d\n", solver, nr_class,
                allot_linear_model_num_decision_values(m), nr_w);
        failures++;
    }
    enum { MAXD = 64, MAXS = 200 };
    float dense[MAXD], sval[MAXS];
    uint32_t sidx[MAXS];
    allot_linear_feature lx[MAXD + MAXS];
    double ref[16], got[16];
    for (int trial = 0; trial < 300; trial++) {
        size_t nd = (size_t)(next() % MAXD), ns = (size_t)(next() % MAXS), n = 0;
        if (trial == 0) nd = ns = 0;
        for (size_t i = 0; i < nd; i++) {
            uint64_t r = next() % 8;
            dense[i] = r == 0 ? 0.0f : r == 1 ? -0.0f : (float)((uniform() - 0.5) * 6);
            if (dense[i] != 0.0f) lx[n++] = (allot_linear_feature){(int32_t)(i + 1), (double)dense[i]};
        }
        uint32_t at = 0;
        for (size_t j = 0; j < ns; j++) { /* increasing indices, some past the model's features */
            at += 1 + (uint32_t)(next() % 5);
            sidx[j] = at;
            sval[j] = (float)(uniform() * 2);
            lx[n++] = (allot_linear_feature){(int32_t)(nd + at + 1), (double)sval[j]};
        }
        allot_linear_input in = {dense, nd, sidx, sval, ns};
        if (allot_linear_model_predict_values(m, lx, n, ref, 16, NULL, &err)) {
            fprintf(stderr, "FAIL: predict_values: %s\n", err.msg);
            failures++;
            continue;
        }
        for (int simd = 0; simd < 2; simd++) {
            if (allot_linear_model_set_simd(m, simd) != simd) continue;
            memset(got, 0xA5, sizeof got);
            if (vs_available()) vs_clear();
            allot_linear_model_values_input(m, &in, got);
            if (vs_available() && vs_upper_dirty()) {
                fprintf(stderr, "FAIL: values_input (simd %d) returned with the upper halves in use\n", simd);
                failures++;
            }
            same_bits(got, ref, (size_t)nr_w, "decision values", simd);
        }
        if (!logistic) continue;
        double pref[16], pgot[16];
        if (allot_linear_model_predict_probability(m, lx, n, pref, 16, NULL, &err)) {
            fprintf(stderr, "FAIL: predict_probability: %s\n", err.msg);
            failures++;
            continue;
        }
        for (int simd = 0; simd < 2; simd++) {
            if (allot_linear_model_set_simd(m, simd) != simd) continue;
            allot_linear_model_probability_input(m, &in, pgot);
            same_bits(pgot, pref, (size_t)nr_class, "probabilities", simd);
        }
    }
    allot_linear_model_free(m);
    free(text);
}

int main(void) {
    int vector = 0;
    for (int nr_class = 2; nr_class <= 12; nr_class++) {
        int nr_w = nr_class == 2 ? 1 : nr_class;
        for (int b = 0; b < 2; b++) {
            double bias = b ? 1.0 : -1.0;
            int nr_feature = 20 + (int)(next() % 300);
            run_model("L2R_LR", nr_class, nr_w, nr_feature, bias, 1);
            run_model("MCSVM_CS", nr_class, nr_class, nr_feature, bias, 0);
        }
    }
    run_model("L2R_L2LOSS_SVR", 2, 1, 100, 1.0, 0);
    {
        char *text = model_text("L2R_LR", 6, 6, 10, -1);
        allot_linear_model *m;
        allot_error err;
        if (!allot_linear_model_load_memory(text, strlen(text), &m, &err)) {
            vector = allot_linear_model_set_simd(m, 1);
            allot_linear_model_free(m);
        }
        free(text);
    }
    printf("%d comparisons with the model API (%s)\n", checks,
           vector ? "portable code, and AVX2 code for 4 to 8 decision values"
                  : "portable code; no AVX2 here, its code not run");
    printf("linear_input: %d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
