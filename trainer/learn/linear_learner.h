/*
 * linear_learner.h - training and prediction through LIBLINEAR 2.3.
 *
 * Rows are LIBLINEAR sparse vectors: the standardised dense block at indices 1..d, then (when
 * hashing is on) the hashed n-gram block at d+1..d+hash_dim; the bias node is appended by this
 * module when bias >= 0. LIBLINEAR's printing is silenced with set_print_string_function. The
 * dual and L1 solvers shuffle with libc rand(): srand(seed) is called before every train() so
 * that the result is deterministic (LIBLINEAR offers no other seeding).
 * Class labels given to LIBLINEAR are the class indices 0..K-1.
 */
#ifndef ALLOT_LEARN_LINEAR_H
#define ALLOT_LEARN_LINEAR_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "learn.h"

/** A sparse design matrix in LIBLINEAR's layout (each row ends with index -1). */
typedef struct allot_linear_data {
    size_t n;
    int n_features; /**< highest feature index (without bias) */
    double bias;    /**< < 0: no bias node */
    void **rows;    /**< n pointers to struct feature_node arrays (owned through `pool`) */
    void *pool;     /**< one allocation holding every node */
} allot_linear_data;

/**
 * Build from CSR-like input: row r has dense values dense[r*d .. r*d+d) (standardised, NaN already
 * imputed; zeros skipped) followed by sparse entries sp_index/sp_value[sp_start[r]..sp_start[r+1])
 * at offset d (sp_start may be NULL: no sparse block). rows selects which input rows (NULL: all n).
 */
allot_status allot_linear_data_build(const float *dense, size_t d, const size_t *sp_start,
                                     const uint32_t *sp_index, const float *sp_value, uint32_t hash_dim,
                                     const size_t *rows, size_t n, double bias, allot_linear_data *out,
                                     allot_error *err);
void allot_linear_data_free(allot_linear_data *dt);

/** A trained model (struct model *). */
typedef struct allot_linear_fit {
    void *model;
    int n_classes;
} allot_linear_fit;

/** Train on rows with labels y in [0,K) and parameters p (C > 0 required here). */
allot_status allot_linear_train(const allot_linear_data *dt, const int *y, int n_classes,
                                const allot_linear_params *p, double C, uint64_t seed, allot_linear_fit *out,
                                allot_error *err);

/**
 * For the C search on several threads: 1 when the solver draws no random numbers (the primal
 * Newton solvers L2R_LR, L2R_L2LOSS_SVC and the value target's L2R_L2LOSS_SVR), so that trainings
 * can run at once without srand(); 0 for the others (they run one at a time, after srand()).
 */
int allot_linear_solver_thread_safe(int solver);
/** 1 when LIBLINEAR 2.3 takes an initial solution for the solver (L2R_LR, L2R_L2LOSS_SVC). */
int allot_linear_solver_warm_start(int solver);
/** Silence LIBLINEAR's printing (a global of LIBLINEAR's): once, before threads train. */
void allot_linear_quiet(void);

/**
 * allot_linear_train for a thread-safe solver (allot_linear_solver_thread_safe), callable from
 * several threads at once after allot_linear_quiet(): no srand(), no global touched. init: NULL, or
 * the weights of a model trained on the same rows (allot_linear_fit_weights) to start from (a warm
 * start along the C path, as LIBLINEAR's find_parameters does), for a warm-start solver only.
 */
allot_status allot_linear_train_from(const allot_linear_data *dt, const int *y, int n_classes,
                                     const allot_linear_params *p, double C, const double *init,
                                     allot_linear_fit *out, allot_error *err);
/** The model's weights (LIBLINEAR's w, in its layout), for allot_linear_train_from's init. */
const double *allot_linear_fit_weights(const allot_linear_fit *m);

/**
 * Value target: one L2-regularised L2-loss support vector regression (L2R_L2LOSS_SVR, primal,
 * epsilon p = 0, so plain regularised least squares on the residuals) on labels y in [0,1]
 * (a query's accuracy at one tier). The solver of p is ignored; p->eps (0: LIBLINEAR's default
 * 0.0001 for this solver) and the data's bias apply.
 */
allot_status allot_linear_train_value(const allot_linear_data *dt, const double *y,
                                      const allot_linear_params *p, double C, uint64_t seed,
                                      allot_linear_fit *out, allot_error *err);
/** allot_linear_train_value without srand() or any global, for several threads at once (after
 *  allot_linear_quiet()): the solver draws no random numbers. */
allot_status allot_linear_train_value_mt(const allot_linear_data *dt, const double *y,
                                         const allot_linear_params *p, double C, allot_linear_fit *out,
                                         allot_error *err);

/**
 * Predicted accuracies of every row: predict_values' value clipped to [0,1] (clipping is part of
 * the decision rule: the runtime clips the same way).
 */
allot_status allot_linear_predict_value(const allot_linear_fit *m, const allot_linear_data *dt, double *out,
                                        allot_error *err);

/**
 * LIBLINEAR's own C search (find_parameters, warm-started CV with LIBLINEAR's folds drawn from
 * rand() after srand(seed)); L2R_LR and L2R_L2LOSS_SVC only (ALLOT_E_UNSUPPORTED otherwise).
 * start_C <= 0 lets LIBLINEAR pick the smallest C. *best_C, *best_acc (CV accuracy) receive the result.
 */
allot_status allot_linear_find_C(const allot_linear_data *dt, const int *y, int n_classes,
                                 const allot_linear_params *p, int folds, double start_C, uint64_t seed,
                                 double *best_C, double *best_acc, allot_error *err);

/**
 * Class scores of every row: prob[r*K + k] = p(class k) by predict_probability for the logistic
 * solvers; for other solvers, as the runtime scores them: a sigmoid of the one decision value
 * (two classes) or a softmax of the decision values (used by the rules; not calibrated probabilities). Class
 * order is the class index, whatever LIBLINEAR's label order.
 */
allot_status allot_linear_predict(const allot_linear_fit *m, const allot_linear_data *dt, double *prob,
                                  allot_error *err);

/** The LIBLINEAR model file text (save_model into a temporary file); *text malloc'd. */
allot_status allot_linear_model_text(const allot_linear_fit *m, char **text, allot_error *err);

void allot_linear_fit_free(allot_linear_fit *m);

/** 1 for solvers with probability outputs (L2R_LR, L1R_LR, L2R_LR_DUAL). */
int allot_linear_solver_is_logistic(int solver);
/** Solver number for a name such as "L2R_LR" (case-insensitive) or a digit string; -1 if unknown. */
int allot_linear_solver_parse(const char *name);
/** Name of a solver number ("L2R_LR"...), "?" if unknown. */
const char *allot_linear_solver_name(int solver);

#endif
