/*
 * learn_bundle_check.h - check a trained bundle against the libraries themselves: load the held-out
 * queries, compute their features with the policy's featuriser, and compare the runtime's class
 * probabilities and tiers with XGBoost's own prediction (XGBoosterPredictFromDMatrix on the
 * bundle's model text) or LIBLINEAR's own predict_probability (load_model on the bundle's model
 * text). Value bundles (classifier.target "value"): every tier's model, XGBoost's reg:logistic
 * prediction or LIBLINEAR's predict_values clipped to [0,1], compared bit for bit with the runtime's
 * predicted accuracies. Used by test_learn and test_learn_shared.
 */
#ifndef ALLOT_LEARN_BUNDLE_CHECK_H
#define ALLOT_LEARN_BUNDLE_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <linear.h>
#include <xgboost/c_api.h>

#include "calibrate.h"
#include "../common/check_continue.h"
#include "dataset.h"
#include "learn_test_util.h"
#include "allot/allot_policy.h"

/* A bundle loaded by the runtime (allot_policy.h) with a workspace and room for the tier scores. */
typedef struct bc_runtime {
    allot_policy *p;
    allot_workspace *ws;
    double *tier_probs;
} bc_runtime;

__attribute__((unused)) static void bc_runtime_free(bc_runtime *rt) {
    allot_workspace_free(rt->ws);
    allot_policy_free(rt->p);
    free(rt->tier_probs);
    memset(rt, 0, sizeof *rt);
}

__attribute__((unused)) static allot_status bc_runtime_load(const char *path, bc_runtime *rt,
                                                            allot_error *err) {
    memset(rt, 0, sizeof *rt);
    allot_status st = allot_policy_load_file(path, &rt->p, err);
    if (st == ALLOT_OK) st = allot_workspace_create(rt->p, &rt->ws, err);
    if (st == ALLOT_OK) rt->tier_probs = calloc(allot_policy_n_tiers(rt->p) + 1, sizeof *rt->tier_probs);
    if (st == ALLOT_OK && !rt->tier_probs) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    if (st != ALLOT_OK) bc_runtime_free(rt);
    return st;
}

/* Decide one query with the bundle's rule and price; class_prob (may be NULL) receives the
 * runtime's score of every class (probabilities, or predicted accuracies for value bundles). */
__attribute__((unused)) static allot_status bc_runtime_predict(bc_runtime *rt, const char *prompt,
                                                               const double *extras, size_t n_extras,
                                                               size_t *tier, double *class_prob,
                                                               allot_error *err) {
    size_t T = allot_policy_n_tiers(rt->p);
    allot_query_input q = {.prompt = prompt,
                           .prompt_len = prompt ? strlen(prompt) : 0,
                           .extras = n_extras ? extras : NULL,
                           .n_extras = n_extras};
    allot_decision d;
    allot_status st = allot_policy_predict(rt->p, rt->ws, &q, NULL, rt->tier_probs, T, &d, err);
    if (st != ALLOT_OK) return st;
    *tier = d.tier;
    for (size_t c = 0; class_prob && c < allot_policy_n_classes(rt->p); c++) {
        long t = allot_policy_class_tier(rt->p, c);
        class_prob[c] = t >= 0 && (size_t)t < T ? rt->tier_probs[t] : NAN;
    }
    return ALLOT_OK;
}

/* The raw text of the JSON object value of "key" (first occurrence), malloc'd. */
static char *bc_raw_object(const char *doc, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(doc, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != '{') return NULL;
    int depth = 0, in_str = 0;
    const char *q = p;
    for (; *q; q++) {
        if (in_str) {
            if (*q == '\\' && q[1])
                q++;
            else if (*q == '"')
                in_str = 0;
            continue;
        }
        if (*q == '"')
            in_str = 1;
        else if (*q == '{')
            depth++;
        else if (*q == '}' && --depth == 0)
            break;
    }
    size_t len = (size_t)(q - p) + 1;
    char *out = malloc(len + 1);
    memcpy(out, p, len);
    out[len] = '\0';
    return out;
}

/* The raw text of the idx-th object of the array value of "key" (first occurrence), malloc'd. */
static char *bc_raw_array_object(const char *doc, const char *key, size_t idx) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":[", key);
    const char *p = strstr(doc, pat);
    if (!p) return NULL;
    p += strlen(pat);
    for (size_t k = 0;; k++) {
        while (*p == ' ' || *p == ',') p++;
        if (*p != '{') return NULL;
        int depth = 0, in_str = 0;
        const char *q = p;
        for (; *q; q++) {
            if (in_str) {
                if (*q == '\\' && q[1])
                    q++;
                else if (*q == '"')
                    in_str = 0;
                continue;
            }
            if (*q == '"')
                in_str = 1;
            else if (*q == '{')
                depth++;
            else if (*q == '}' && --depth == 0)
                break;
        }
        if (!*q) return NULL;
        if (k == idx) {
            size_t len = (size_t)(q - p) + 1;
            char *out = malloc(len + 1);
            memcpy(out, p, len);
            out[len] = '\0';
            return out;
        }
        p = q + 1;
    }
}

typedef struct bc_result {
    size_t n_test, tier_mismatch, prob_mismatch;
    double max_prob_diff;
    const char *kind;
    int value; /* a value bundle: probabilities are predicted accuracies, compared exactly */
} bc_result;

/* Compare runtime and library predictions on the bundle's held-out queries. */
static void bc_check_bundle(const char *bundle_path, const allot_curves *c, bc_result *res) {
    memset(res, 0, sizeof *res);
    size_t len = 0;
    char *text = tu_slurp(bundle_path, &len);
    CHECK(text != NULL);
    if (!text) return;
    cJSON *root = cJSON_Parse(text);
    CHECK(root != NULL);
    cJSON *cl = cJSON_GetObjectItem(root, "classifier");
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(cl, "kind"));
    res->kind = !kind                        ? "?"
                : !strcmp(kind, "xgboost")   ? "xgboost"
                : !strcmp(kind, "liblinear") ? "liblinear"
                                             : "constant";
    const char *target = cJSON_GetStringValue(cJSON_GetObjectItem(cl, "target"));
    res->value = target && !strcmp(target, "value");
    cJSON *tid = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "provenance"), "split"),
                                     "test_ids");
    size_t nt = (size_t)cJSON_GetArraySize(tid);
    const char **ids = malloc((nt ? nt : 1) * sizeof *ids);
    for (size_t j = 0; j < nt; j++) ids[j] = cJSON_GetArrayItem(tid, (int)j)->valuestring;
    allot_split sp;
    allot_error err = {0};
    CHECK(allot_split_from_test_ids(c, ids, nt, &sp, &err) == ALLOT_OK);
    res->n_test = sp.n_test;

    bc_runtime rt;
    CHECKF(bc_runtime_load(bundle_path, &rt, &err) == ALLOT_OK, "%s", err.msg);
    if (!rt.p) return;
    const allot_featurizer *f = allot_policy_featurizer(rt.p);
    size_t K = allot_policy_n_classes(rt.p), ne = allot_featurizer_n_extra(f);
    allot_feature_matrix fm;
    int hashed = !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cl, "input")), "dense+hashed");
    CHECK(allot_feature_matrix_build(f, c, hashed, &fm, &err) == ALLOT_OK);
    double *extras = malloc((ne ? ne : 1) * sizeof *extras);
    double *rt_prob = malloc(sp.n_test * K * sizeof *rt_prob),
           *lib_prob = malloc(sp.n_test * K * sizeof *lib_prob);
    size_t *rt_tier = malloc(sp.n_test * sizeof *rt_tier);
    double *class_cost = malloc(K * sizeof *class_cost);
    int *class_tier = malloc(K * sizeof *class_tier);
    for (size_t k = 0; k < K; k++) {
        class_tier[k] = (int)allot_policy_class_tier(rt.p, k);
        class_cost[k] = allot_policy_tier_cost(rt.p, (size_t)class_tier[k]);
    }
    for (size_t j = 0; j < sp.n_test; j++) {
        size_t i = sp.test_idx[j];
        CHECK(allot_curves_query_extras(f, c, i, extras, &err) == ALLOT_OK);
        const char *pr = c->prompts[i];
        CHECKF(bc_runtime_predict(&rt, pr, extras, ne, &rt_tier[j], rt_prob + j * K, &err) == ALLOT_OK, "%s",
               err.msg);
    }

    if (res->value && !strcmp(res->kind, "xgboost")) {
        float *x = malloc(sp.n_test * fm.d * sizeof *x);
        for (size_t j = 0; j < sp.n_test; j++)
            memcpy(x + j * fm.d, fm.dense + sp.test_idx[j] * fm.d, fm.d * sizeof *x);
        DMatrixHandle dm = NULL;
        CHECK(XGDMatrixCreateFromMat(x, sp.n_test, fm.d, NAN, &dm) == 0);
        for (size_t k = 0; k < K; k++) {
            char *model = bc_raw_array_object(text, "xgboost_per_tier", k);
            CHECK(model != NULL);
            if (!model) break;
            BoosterHandle b = NULL;
            CHECK(XGBoosterCreate(NULL, 0, &b) == 0);
            CHECK(XGBoosterLoadModelFromBuffer(b, model, strlen(model)) == 0);
            const bst_ulong *shape = NULL;
            bst_ulong dim = 0;
            const float *out = NULL;
            CHECK(XGBoosterPredictFromDMatrix(
                      b, dm,
                      "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
                      "\"strict_shape\":false}",
                      &shape, &dim, &out) == 0);
            for (size_t j = 0; j < sp.n_test; j++) lib_prob[j * K + k] = (double)out[j];
            XGBoosterFree(b);
            free(model);
        }
        XGDMatrixFree(dm);
        free(x);
    } else if (res->value && !strcmp(res->kind, "liblinear")) {
        cJSON *arr = cJSON_GetObjectItem(cl, "liblinear_per_tier");
        CHECK(cJSON_GetArraySize(arr) == (int)K);
        size_t d = fm.d;
        float *z = malloc((d ? d : 1) * sizeof *z);
        struct feature_node *xn = malloc((d + fm.hash_dim + 2) * sizeof *xn);
        for (size_t k = 0; k < K && k < (size_t)cJSON_GetArraySize(arr); k++) {
            const char *mt = cJSON_GetStringValue(cJSON_GetArrayItem(arr, (int)k));
            char path[4200];
            snprintf(path, sizeof path, "%.4000s.liblinear-model", bundle_path);
            FILE *fp = fopen(path, "w");
            fputs(mt, fp);
            fclose(fp);
            struct model *m = load_model(path);
            unlink(path);
            CHECK(m != NULL);
            if (!m) break;
            for (size_t j = 0; j < sp.n_test; j++) {
                size_t i = sp.test_idx[j], at = 0;
                allot_featurizer_standardize(f, fm.dense + i * d, z);
                for (size_t q = 0; q < d; q++)
                    if (z[q] != 0.0f) xn[at++] = (struct feature_node){(int)q + 1, z[q]};
                if (hashed)
                    for (size_t e = fm.sp_start[i]; e < fm.sp_start[i + 1]; e++)
                        xn[at++] = (struct feature_node){(int)d + 1 + (int)fm.sp_index[e], fm.sp_value[e]};
                if (m->bias >= 0) xn[at++] = (struct feature_node){m->nr_feature + 1, m->bias};
                xn[at].index = -1;
                double v;
                predict_values(m, xn, &v);
                lib_prob[j * K + k] = v < 0 ? 0.0 : v > 1 ? 1.0 : v;
            }
            free_and_destroy_model(&m);
        }
        free(z);
        free(xn);
    } else if (!strcmp(res->kind, "xgboost")) {
        char *model = bc_raw_object(text, "xgboost");
        CHECK(model != NULL);
        BoosterHandle b = NULL;
        CHECK(XGBoosterCreate(NULL, 0, &b) == 0);
        CHECK(XGBoosterLoadModelFromBuffer(b, model, strlen(model)) == 0);
        float *x = malloc(sp.n_test * fm.d * sizeof *x);
        for (size_t j = 0; j < sp.n_test; j++)
            memcpy(x + j * fm.d, fm.dense + sp.test_idx[j] * fm.d, fm.d * sizeof *x);
        DMatrixHandle dm = NULL;
        CHECK(XGDMatrixCreateFromMat(x, sp.n_test, fm.d, NAN, &dm) == 0);
        const bst_ulong *shape = NULL;
        bst_ulong dim = 0;
        const float *out = NULL;
        CHECK(XGBoosterPredictFromDMatrix(
                  b, dm,
                  "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
                  "\"strict_shape\":false}",
                  &shape, &dim, &out) == 0);
        for (size_t j = 0; j < sp.n_test; j++) {
            if (K == 2) {
                lib_prob[j * 2 + 1] = out[j];
                lib_prob[j * 2] = 1.0 - (double)out[j];
            } else {
                for (size_t k = 0; k < K; k++) lib_prob[j * K + k] = out[j * K + k];
            }
        }
        XGDMatrixFree(dm);
        XGBoosterFree(b);
        free(x);
        free(model);
    } else if (!strcmp(res->kind, "liblinear")) {
        const char *mt = cJSON_GetStringValue(cJSON_GetObjectItem(cl, "liblinear"));
        char path[4200];
        snprintf(path, sizeof path, "%.4000s.liblinear-model", bundle_path);
        FILE *fp = fopen(path, "w");
        fputs(mt, fp);
        fclose(fp);
        struct model *m = load_model(path);
        unlink(path);
        CHECK(m != NULL);
        int nc = get_nr_class(m), lab[256];
        get_labels(m, lab);
        size_t d = fm.d;
        float *z = malloc((d ? d : 1) * sizeof *z);
        struct feature_node *xn = malloc((d + fm.hash_dim + 2) * sizeof *xn);
        double pr[256];
        for (size_t j = 0; j < sp.n_test; j++) {
            size_t i = sp.test_idx[j], at = 0;
            allot_featurizer_standardize(f, fm.dense + i * d, z);
            for (size_t k = 0; k < d; k++)
                if (z[k] != 0.0f) xn[at++] = (struct feature_node){(int)k + 1, z[k]};
            if (hashed)
                for (size_t e = fm.sp_start[i]; e < fm.sp_start[i + 1]; e++)
                    xn[at++] = (struct feature_node){(int)d + 1 + (int)fm.sp_index[e], fm.sp_value[e]};
            if (m->bias >= 0) xn[at++] = (struct feature_node){m->nr_feature + 1, m->bias};
            xn[at].index = -1;
            predict_probability(m, xn, pr);
            for (int k = 0; k < nc; k++) lib_prob[j * K + (size_t)lab[k]] = pr[k];
        }
        free(z);
        free(xn);
        free_and_destroy_model(&m);
    } else {
        for (size_t j = 0; j < sp.n_test * K; j++) lib_prob[j] = 1.0;
    }
    allot_rule rule = allot_policy_rule(rt.p);
    double mu = allot_policy_mu(rt.p);
    for (size_t j = 0; j < sp.n_test; j++) {
        for (size_t k = 0; k < K; k++) {
            double dlt = fabs(rt_prob[j * K + k] - lib_prob[j * K + k]);
            if (dlt > res->max_prob_diff) res->max_prob_diff = dlt;
            /* predicted accuracies must be the libraries' values bit for bit */
            if (res->value ? rt_prob[j * K + k] != lib_prob[j * K + k] : dlt > 1e-12) res->prob_mismatch++;
        }
        size_t cls = allot_rule_apply(rule, mu, lib_prob + j * K, class_cost, K);
        if ((size_t)class_tier[cls] != rt_tier[j]) res->tier_mismatch++;
    }
    free(extras);
    free(rt_prob);
    free(lib_prob);
    free(rt_tier);
    free(class_cost);
    free(class_tier);
    free(ids);
    allot_feature_matrix_free(&fm);
    allot_split_free(&sp);
    bc_runtime_free(&rt);
    cJSON_Delete(root);
    free(text);
}

#endif
