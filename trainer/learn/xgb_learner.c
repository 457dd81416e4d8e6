/* xgb_learner.c - XGBoost through its C API (see xgb_learner.h). */
#include "xgb_learner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#define XGB_CHECK(call, what)                                                                                \
    do {                                                                                                     \
        if ((call) != 0) {                                                                                   \
            st = allot_error_set(err, ALLOT_E_INTERNAL, "XGBoost %s failed: %s", what, XGBGetLastError());   \
            goto done;                                                                                       \
        }                                                                                                    \
    } while (0)

static allot_status make_dmatrix(const float *x, const int *y, size_t n, size_t d, int balanced, int K,
                                 const double *row_w, DMatrixHandle *out, allot_error *err) {
    allot_status st = ALLOT_OK;
    float *lab = NULL;
    *out = NULL;
    XGB_CHECK(XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)d, NAN, out), "DMatrix creation");
    if (y) {
        lab = malloc((n ? n : 1) * sizeof *lab);
        if (!lab) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (labels)");
            goto done;
        }
        for (size_t i = 0; i < n; i++) lab[i] = (float)y[i];
        XGB_CHECK(XGDMatrixSetFloatInfo(*out, "label", lab, (bst_ulong)n), "setting labels");
        if (balanced || row_w) {
            /* class weights (allot_class_weight: balanced n / (K * n_class), every class carries the
             * same total weight, or its square root), times the caller's row weights when given */
            size_t *cnt = calloc((size_t)(K > 0 ? K : 1), sizeof *cnt);
            if (!cnt) {
                st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (weights)");
                goto done;
            }
            for (size_t i = 0; i < n; i++)
                if (y[i] >= 0 && y[i] < K) cnt[y[i]]++;
            for (size_t i = 0; i < n; i++) {
                size_t k = y[i] >= 0 && y[i] < K ? cnt[y[i]] : 0;
                double w = balanced ? allot_class_weight(balanced, n, K, k ? k : 1) : 1.0;
                lab[i] = (float)(w * (row_w ? row_w[i] : 1.0));
            }
            free(cnt);
            XGB_CHECK(XGDMatrixSetFloatInfo(*out, "weight", lab, (bst_ulong)n), "setting weights");
        }
    }
done:
    free(lab);
    if (st != ALLOT_OK && *out) {
        XGDMatrixFree(*out);
        *out = NULL;
    }
    return st;
}

/* The metric value of XGBoosterEvalOneIter's "[i]\tval-mlogloss:0.123" text. */
static double parse_eval(const char *s) {
    const char *c = s ? strrchr(s, ':') : NULL;
    return c ? strtod(c + 1, NULL) : NAN;
}

/*
 * Configure a booster on dtrain (and dval for early stopping when use_val) and boost it.
 * n_classes >= 2: classification as the header says; n_classes == 1: reg:logistic (labels in [0,1],
 * predictions sigmoid(margin) in (0,1)), early stopping on the validation RMSE.
 */
static allot_status boost(DMatrixHandle dtrain, DMatrixHandle dval, int use_val, size_t d, int n_classes,
                          const allot_xgb_params *p, int rounds_override, uint64_t seed, allot_xgb_fit *out,
                          allot_error *err) {
    allot_status st = ALLOT_OK;
    BoosterHandle bst = NULL, sliced = NULL;
    char buf[64];
    DMatrixHandle cache[2] = {dtrain, dval};
    XGB_CHECK(XGBoosterCreate(cache, use_val ? 2 : 1, &bst), "booster creation");
    XGB_CHECK(XGBoosterSetParam(bst, "verbosity", "0"), "setting verbosity");
    XGB_CHECK(XGBoosterSetParam(bst, "tree_method", "hist"), "setting tree_method");
    if (n_classes == 1) {
        XGB_CHECK(XGBoosterSetParam(bst, "objective", "reg:logistic"), "setting objective");
        XGB_CHECK(XGBoosterSetParam(bst, "eval_metric", "rmse"), "setting eval_metric");
    } else if (n_classes == 2) {
        XGB_CHECK(XGBoosterSetParam(bst, "objective", "binary:logistic"), "setting objective");
        XGB_CHECK(XGBoosterSetParam(bst, "eval_metric", "logloss"), "setting eval_metric");
    } else {
        XGB_CHECK(XGBoosterSetParam(bst, "objective", "multi:softprob"), "setting objective");
        snprintf(buf, sizeof buf, "%d", n_classes);
        XGB_CHECK(XGBoosterSetParam(bst, "num_class", buf), "setting num_class");
        XGB_CHECK(XGBoosterSetParam(bst, "eval_metric", "mlogloss"), "setting eval_metric");
    }
    snprintf(buf, sizeof buf, "%d", p->max_depth);
    XGB_CHECK(XGBoosterSetParam(bst, "max_depth", buf), "setting max_depth");
    snprintf(buf, sizeof buf, "%.17g", p->eta);
    XGB_CHECK(XGBoosterSetParam(bst, "eta", buf), "setting eta");
    snprintf(buf, sizeof buf, "%.17g", p->subsample);
    XGB_CHECK(XGBoosterSetParam(bst, "subsample", buf), "setting subsample");
    snprintf(buf, sizeof buf, "%.17g", p->min_child_weight);
    XGB_CHECK(XGBoosterSetParam(bst, "min_child_weight", buf), "setting min_child_weight");
    snprintf(buf, sizeof buf, "%.17g", p->reg_lambda);
    XGB_CHECK(XGBoosterSetParam(bst, "lambda", buf), "setting lambda");
    snprintf(buf, sizeof buf, "%d", p->nthread > 0 ? p->nthread : 1);
    XGB_CHECK(XGBoosterSetParam(bst, "nthread", buf), "setting nthread");
    /* XGBoost's seed parameter is a 32-bit int in 1.7 */
    snprintf(buf, sizeof buf, "%d", (int)(seed % 2147483647u));
    XGB_CHECK(XGBoosterSetParam(bst, "seed", buf), "setting seed");

    int rounds = rounds_override > 0 ? rounds_override : p->rounds;
    if (rounds < 1) rounds = 1;
    double best = INFINITY;
    int best_iter = rounds - 1, since = 0;
    for (int it = 0; it < rounds; it++) {
        XGB_CHECK(XGBoosterUpdateOneIter(bst, it, dtrain), "boosting");
        if (!use_val) continue;
        const char *names[1] = {"val"};
        const char *res = NULL;
        DMatrixHandle ev[1] = {dval};
        XGB_CHECK(XGBoosterEvalOneIter(bst, it, ev, names, 1, &res), "evaluation");
        double v = parse_eval(res);
        if (v < best - 1e-12) {
            best = v;
            best_iter = it;
            since = 0;
        } else if (++since >= p->early_stopping) {
            break;
        }
    }
    out->best_rounds = best_iter + 1;
    if (use_val) {
        int boosted = 0;
        XGB_CHECK(XGBoosterBoostedRounds(bst, &boosted), "counting rounds");
        if (out->best_rounds < boosted) {
            XGB_CHECK(XGBoosterSlice(bst, 0, out->best_rounds, 1, &sliced), "slicing to the best iteration");
            XGBoosterFree(bst);
            bst = sliced;
            sliced = NULL;
        }
    }
    out->booster = bst;
    bst = NULL;
    out->n_classes = n_classes;
    out->d = d;
done:
    if (bst) XGBoosterFree(bst);
    return st;
}

allot_status allot_xgb_train(const float *x, const int *y, size_t n, size_t d, int n_classes,
                             const float *x_val, const int *y_val, size_t n_val, const double *row_w,
                             const double *row_w_val, const allot_xgb_params *p, int rounds_override,
                             uint64_t seed, allot_xgb_fit *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    if (n_classes < 2) return allot_error_set(err, ALLOT_E_ARGUMENT, "XGBoost needs >= 2 classes");
    if (n == 0 || d == 0) return allot_error_set(err, ALLOT_E_ARGUMENT, "XGBoost: empty training matrix");
    allot_status st = ALLOT_OK;
    DMatrixHandle dtrain = NULL, dval = NULL;
    st = make_dmatrix(x, y, n, d, p->class_weights, n_classes, row_w, &dtrain, err);
    if (st != ALLOT_OK) return st;
    int use_val = n_val > 0 && rounds_override <= 0 && p->early_stopping > 0;
    if (use_val) {
        st = make_dmatrix(x_val, y_val, n_val, d, p->class_weights, n_classes, row_w_val, &dval, err);
        if (st != ALLOT_OK) goto done;
    }
    st = boost(dtrain, dval, use_val, d, n_classes, p, rounds_override, seed, out, err);
done:
    if (dtrain) XGDMatrixFree(dtrain);
    if (dval) XGDMatrixFree(dval);
    return st;
}

/* A DMatrix with real-valued labels (no weights). */
static allot_status make_dmatrix_reg(const float *x, const float *y, size_t n, size_t d, DMatrixHandle *out,
                                     allot_error *err) {
    allot_status st = ALLOT_OK;
    *out = NULL;
    XGB_CHECK(XGDMatrixCreateFromMat(x, (bst_ulong)n, (bst_ulong)d, NAN, out), "DMatrix creation");
    XGB_CHECK(XGDMatrixSetFloatInfo(*out, "label", y, (bst_ulong)n), "setting labels");
done:
    if (st != ALLOT_OK && *out) {
        XGDMatrixFree(*out);
        *out = NULL;
    }
    return st;
}

allot_status allot_xgb_train_value(const float *x, const float *y, size_t n, size_t d, const float *x_val,
                                   const float *y_val, size_t n_val, const allot_xgb_params *p,
                                   int rounds_override, uint64_t seed, allot_xgb_fit *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    if (n == 0 || d == 0) return allot_error_set(err, ALLOT_E_ARGUMENT, "XGBoost: empty training matrix");
    for (size_t i = 0; i < n; i++)
        if (!(y[i] >= 0.0f && y[i] <= 1.0f))
            return allot_error_set(err, ALLOT_E_ARGUMENT,
                                   "XGBoost reg:logistic: label %zu (%g) is not in [0, 1]", i, (double)y[i]);
    allot_status st = ALLOT_OK;
    DMatrixHandle dtrain = NULL, dval = NULL;
    st = make_dmatrix_reg(x, y, n, d, &dtrain, err);
    if (st != ALLOT_OK) return st;
    int use_val = n_val > 0 && rounds_override <= 0 && p->early_stopping > 0;
    if (use_val) {
        st = make_dmatrix_reg(x_val, y_val, n_val, d, &dval, err);
        if (st != ALLOT_OK) goto done;
    }
    st = boost(dtrain, dval, use_val, d, 1, p, rounds_override, seed, out, err);
done:
    if (dtrain) XGDMatrixFree(dtrain);
    if (dval) XGDMatrixFree(dval);
    return st;
}

allot_status allot_xgb_predict(const allot_xgb_fit *m, const float *x, size_t n, double *prob,
                               allot_error *err) {
    if (n == 0) return ALLOT_OK;
    allot_status st = ALLOT_OK;
    DMatrixHandle dm = NULL;
    st = make_dmatrix(x, NULL, n, m->d, 0, m->n_classes, NULL, &dm, err);
    if (st != ALLOT_OK) return st;
    const char *cfg = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
                      "\"strict_shape\": false}";
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    XGB_CHECK(XGBoosterPredictFromDMatrix(m->booster, dm, cfg, &shape, &dim, &res), "prediction");
    size_t K = (size_t)m->n_classes;
    if (K == 1) { /* reg:logistic: one value per row */
        for (size_t i = 0; i < n; i++) prob[i] = (double)res[i];
    } else if (K == 2) {
        for (size_t i = 0; i < n; i++) {
            prob[i * 2 + 1] = (double)res[i];
            prob[i * 2] = 1.0 - (double)res[i];
        }
    } else {
        for (size_t i = 0; i < n * K; i++) prob[i] = (double)res[i];
    }
done:
    if (dm) XGDMatrixFree(dm);
    return st;
}

allot_status allot_xgb_save_json(const allot_xgb_fit *m, char **json, size_t *len, allot_error *err) {
    allot_status st = ALLOT_OK;
    bst_ulong olen = 0;
    const char *data = NULL;
    *json = NULL;
    XGB_CHECK(XGBoosterSaveModelToBuffer(m->booster, "{\"format\": \"json\"}", &olen, &data),
              "saving the model");
    *json = malloc((size_t)olen + 1);
    if (!*json) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (model text)");
    memcpy(*json, data, (size_t)olen);
    (*json)[olen] = '\0';
    if (len) *len = (size_t)olen;
done:
    return st;
}

void allot_xgb_fit_free(allot_xgb_fit *m) {
    if (!m) return;
    if (m->booster) XGBoosterFree(m->booster);
    memset(m, 0, sizeof *m);
}
