/*
 * xgb_learner.h - training and prediction through XGBoost's C API (libxgboost 1.7).
 *
 * Objective: multi:softprob with num_class = K when K >= 3 classes, binary:logistic when K == 2
 * (probabilities reported as [1-p, p]). tree_method "hist", a fixed seed and a fixed nthread make
 * the model deterministic. Early stopping watches the validation set's (m)logloss and the booster
 * is sliced to its best iteration with XGBoosterSlice.
 * Value target (allot_xgb_train_value): objective reg:logistic on labels in [0,1] (a query's
 * accuracy at one tier), early stopping on the validation RMSE, no row weights.
 */
#ifndef ALLOT_LEARN_XGB_H
#define ALLOT_LEARN_XGB_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "learn.h"

/** A trained booster (opaque XGBoost handle). */
typedef struct allot_xgb_fit {
    void *booster;   /**< BoosterHandle */
    int n_classes;   /**< K >= 2; 1 for a reg:logistic model (value target) */
    size_t d;        /**< features */
    int best_rounds; /**< rounds kept (best iteration + 1 when early stopping, else rounds) */
} allot_xgb_fit;

/**
 * Train on n rows of d float features (row-major, NaN missing) with class labels y in [0,K).
 * When n_val > 0 the validation rows drive early stopping; rounds_override > 0 trains exactly
 * that many rounds without early stopping. row_w / row_w_val (may be NULL) multiply the rows'
 * weights (the balanced class weights when p->class_weights is set, else 1).
 */
allot_status allot_xgb_train(const float *x, const int *y, size_t n, size_t d, int n_classes,
                             const float *x_val, const int *y_val, size_t n_val, const double *row_w,
                             const double *row_w_val, const allot_xgb_params *p, int rounds_override,
                             uint64_t seed, allot_xgb_fit *out, allot_error *err);

/**
 * One reg:logistic regressor on n rows with labels y in [0,1] (same parameters, early stopping and
 * rounds_override as allot_xgb_train; the class/gap weights do not apply).
 */
allot_status allot_xgb_train_value(const float *x, const float *y, size_t n, size_t d, const float *x_val,
                                   const float *y_val, size_t n_val, const allot_xgb_params *p,
                                   int rounds_override, uint64_t seed, allot_xgb_fit *out, allot_error *err);

/** Class probabilities of n rows: prob[r*K + k] (XGBoost's float output widened to double);
 *  a reg:logistic model (K = 1): its prediction, prob[r]. */
allot_status allot_xgb_predict(const allot_xgb_fit *m, const float *x, size_t n, double *prob,
                               allot_error *err);

/** XGBoost's own JSON model text (XGBoosterSaveModelToBuffer {"format":"json"}); *json is malloc'd,
 * NUL-terminated. */
allot_status allot_xgb_save_json(const allot_xgb_fit *m, char **json, size_t *len, allot_error *err);

void allot_xgb_fit_free(allot_xgb_fit *m);

#endif
