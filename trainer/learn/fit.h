/*
 * fit.h - the learner behind one interface (internal to allot_learn): fit XGBoost or LIBLINEAR on
 * rows of the feature matrix, predict rows, and k-fold cross-validation over a split's training
 * pool. The tier target fits one classifier (labels: class indices); the value target fits one
 * accuracy regressor per tier (labels: the curves' accuracies at that tier).
 */
#ifndef ALLOT_LEARN_FIT_H
#define ALLOT_LEARN_FIT_H

#include <stddef.h>

#include "allot/allot_error.h"
#include "curves.h"
#include "dataset.h"
#include "learn.h"
#include "linear_learner.h"
#include "progress.h"
#include "xgb_learner.h"

/** What every fit shares (borrowed pointers). */
typedef struct allot_fit_ctx {
    const allot_train_options *opt;
    const allot_feature_matrix *fm;
    const float *lin_dense; /**< standardised dense block (LIBLINEAR), n x d */
    int K;                  /**< classes */
    const double *row_w;    /**< per curves row: XGBoost row weight multiplier (gap weights), or NULL */
    const allot_curves *c;  /**< value target: the labels are c->acc */
} allot_fit_ctx;

/** A fitted model of either learner (the other member stays zeroed). */
typedef struct allot_fitted {
    allot_xgb_fit xgb;
    allot_linear_fit lin;
} allot_fitted;

void allot_fitted_free(allot_fitted *f);

/**
 * Fit a classifier on rows (labels y, class indices); XGBoost early-stops on (val_rows, y_val)
 * when n_val > 0, or trains exactly rounds_override rounds when > 0. C: LIBLINEAR's C.
 */
allot_status allot_fit_rows(const allot_fit_ctx *lc, const size_t *rows, const int *y, size_t n,
                            const size_t *val_rows, const int *y_val, size_t n_val, int rounds_override,
                            double C, allot_fitted *out, allot_error *err);

/** Fit tier t's accuracy regressor on rows (labels acc(row, t)); validation and rounds as above. */
allot_status allot_fit_value_rows(const allot_fit_ctx *lc, size_t t, const size_t *rows, size_t n,
                                  const size_t *val_rows, size_t n_val, int rounds_override, double C,
                                  allot_fitted *out, allot_error *err);

/** LIBLINEAR's design matrix of rows: the standardised dense block, the hashed block when used. */
allot_status allot_fit_linear_data(const allot_fit_ctx *lc, const size_t *rows, size_t n,
                                   allot_linear_data *dt, allot_error *err);

/**
 * Class probabilities (n x K) of a classifier, or, with value = 1, the predicted accuracies (n) of
 * one tier's regressor, for the given rows.
 */
allot_status allot_fit_predict_rows(const allot_fit_ctx *lc, const allot_fitted *f, const size_t *rows,
                                    size_t n, int value, double *out, allot_error *err);

/**
 * k-fold cross-validation of the classifier over sp's training pool (labels y_train, training
 * pool order): out-of-fold probabilities oof (n_train x K) and, for XGBoost, the mean best number
 * of rounds (mean_rounds may be NULL). Each fold advances the progress pg (*pg_done counts).
 * LIBLINEAR's folds run as allot_fit_linear_grid's (cold, at C).
 */
allot_status allot_fit_cross_validate(const allot_fit_ctx *lc, const allot_split *sp, const int *y_train,
                                      double C, double *oof, double *mean_rounds, allot_progress *pg,
                                      size_t *pg_done, allot_error *err);

/**
 * LIBLINEAR's C search for the tier target: k-fold out-of-fold probabilities for every C of
 * cgrid[0..n_c) (ascending), into oof (n_c blocks of n_train x K). With `warm` (and a solver that
 * takes an initial solution) each fold's training at a C starts from its model at the previous C,
 * as LIBLINEAR's own find_parameters does: faster, but not bit-identical to a cold training. The
 * folds run on lc->opt->linear.threads threads when the solver draws no random numbers, else one
 * at a time; either way the results do not depend on the number of threads.
 */
allot_status allot_fit_linear_grid(const allot_fit_ctx *lc, const allot_split *sp, const int *y_train,
                                   const double *cgrid, size_t n_c, int warm, double *oof, allot_progress *pg,
                                   size_t *pg_done, allot_error *err);

/**
 * Cold k-fold out-of-fold probabilities of the C values cgrid[which[0..n_which)] at once (every
 * (C, fold) a job), each into its block of oof (block which[i] of n_train x K; the others untouched).
 */
allot_status allot_fit_linear_cold(const allot_fit_ctx *lc, const allot_split *sp, const int *y_train,
                                   const double *cgrid, const size_t *which, size_t n_which, double *oof,
                                   allot_progress *pg, size_t *pg_done, allot_error *err);

/**
 * LIBLINEAR's C search for the value target: every tier's regressor at every C of cgrid, k-fold
 * out-of-fold predictions into oof (n_c blocks of n_train x T); cold trainings (the regression
 * solver takes no initial solution), (fold, tier) pairs on lc->opt->linear.threads threads.
 */
allot_status allot_fit_linear_value_grid(const allot_fit_ctx *lc, const allot_split *sp, const double *cgrid,
                                         size_t n_c, double *oof, allot_progress *pg, size_t *pg_done,
                                         allot_error *err);

/**
 * k-fold cross-validation of every tier's regressor: out-of-fold predictions oof (n_train x T) and,
 * for XGBoost, the mean best number of rounds of each tier (mean_rounds: T values, may be NULL).
 * C: LIBLINEAR's C of each tier (NULL for XGBoost).
 */
allot_status allot_fit_cross_validate_value(const allot_fit_ctx *lc, const allot_split *sp, const double *C,
                                            double *oof, double *mean_rounds, allot_progress *pg,
                                            size_t *pg_done, allot_error *err);

#endif
