/*
 * fuzz_model_load.c - libFuzzer target over model files.
 *
 * Every input is offered to both loaders (XGBoost JSON and LIBLINEAR text). Whatever loads is
 * then evaluated on a few rows (all missing, zeros, huge values, values taken from the input)
 * through every output kind, single-row and batch, so that hostile-but-accepted structures
 * (deep chains, odd thresholds, extreme leaves) are exercised by the evaluator too.
 * Build: cmake -DALLOT_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ ...
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise_xgb(const allot_xgb_model *m, const uint8_t *data, size_t size) {
    size_t nf = allot_xgb_model_num_features(m);
    if (nf > 4096) return;
    float *rows = malloc(4 * nf * sizeof *rows);
    float out[4 * 4096];
    if (!rows) return;
    for (size_t j = 0; j < nf; j++) {
        rows[j] = NAN;
        rows[nf + j] = 0.0f;
        rows[2 * nf + j] = (j & 1) ? 1e30f : -1e30f;
        float v = 0;
        if (size >= 4) memcpy(&v, data + (j * 4) % (size - 3), 4);
        rows[3 * nf + j] = v;
    }
    for (int kind = 0; kind < 3; kind++) {
        size_t w = allot_xgb_model_output_width(m, (allot_xgb_output)kind);
        if (w == 0 || w > 4096) continue;
        for (size_t r = 0; r < 4; r++)
            allot_xgb_model_predict(m, (allot_xgb_output)kind, rows + r * nf, nf, out, w, NULL);
        allot_xgb_model_predict_batch(m, (allot_xgb_output)kind, rows, 4, nf, out, 4 * w, NULL);
    }
    free(rows);
}

static void exercise_linear(const allot_linear_model *m, const uint8_t *data, size_t size) {
    size_t nf = allot_linear_model_num_features(m);
    allot_linear_feature f[8];
    for (int i = 0; i < 8; i++) {
        f[i].index = (int32_t)(1 + (size_t)i * (nf / 8 + 1));
        f[i].value = size > (size_t)i ? (double)data[i] - 128.0 : 1.0;
    }
    double *buf = malloc((allot_linear_model_num_classes(m) + 1) * sizeof *buf);
    if (!buf) return;
    double pred;
    allot_linear_model_predict_values(m, f, 8, buf, allot_linear_model_num_decision_values(m), &pred, NULL);
    if (allot_linear_model_has_probability(m))
        allot_linear_model_predict_probability(m, f, 8, buf, allot_linear_model_num_classes(m), &pred, NULL);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    allot_error err;
    allot_xgb_model *xm = NULL;
    if (allot_xgb_model_load_memory((const char *)data, size, &xm, &err) == ALLOT_OK) {
        exercise_xgb(xm, data, size);
        allot_xgb_model_free(xm);
    } else if (err.msg[0] == '\0') {
        abort(); /* every refusal must say why */
    }
    allot_linear_model *lm = NULL;
    if (allot_linear_model_load_memory((const char *)data, size, &lm, &err) == ALLOT_OK) {
        exercise_linear(lm, data, size);
        allot_linear_model_free(lm);
    } else if (err.msg[0] == '\0') {
        abort();
    }
    return 0;
}
