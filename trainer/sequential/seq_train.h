/*
 * seq_train.h - `allot train --stages`: learn a sequential policy from labelled runs.
 *
 * Steps (docs/sequential.md):
 *   1. the ladder (--stages) and the labelled runs, as per-model sample pools;
 *   2. a seeded split: held-out queries (never trained on; recorded in the bundle) and k folds;
 *   3. rows: for every training query, seeded orderings of its samples, and at every stage the
 *      state features (the runtime's allot_ladder_state) and the expected accuracy of stopping at
 *      each later stage (seq_data.h);
 *   4. one accuracy regressor per stage (XGBoost reg:logistic or LIBLINEAR L2-loss SVR through
 *      trainer/learn), trained on the rows of the stages up to it, with out-of-fold predictions by
 *      query folds;
 *   5. calibration: the smallest price lambda >= 0 whose replayed mean spend on the out-of-fold
 *      training trajectories is <= the budget (the decision is the runtime's allot_policy_step rule);
 *   6. the final regressors on every training row, the bundle (version 2, "sequential"), and a check
 *      that the runtime reproduces the trainer's inputs, predictions and decisions on every
 *      held-out step.
 */
#ifndef ALLOT_SEQ_TRAIN_H
#define ALLOT_SEQ_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "learn.h"
#include "seq_data.h"

typedef struct allot_sq_train_options {
    double budget;              /**< mean cost per query */
    allot_learner_kind learner; /**< XGBoost (default) or LIBLINEAR */
    double test_fraction;       /**< held out (default 0.2; 0 trains on everything) */
    int test_parts, test_part;  /**< test_parts >= 2: hold out part test_part of test_parts instead
                                     (cross-fitting, allot_split_make_part); 0: test_fraction */
    int folds;                  /**< query folds for out-of-fold predictions (default 5) */
    uint64_t seed;              /**< split, orderings, continuations, learners (default 1) */
    int orderings;              /**< orderings per training query (default 8) */
    int continuations;          /**< continuations per row for the targets (default 16) */
    int prompt_features;        /**< 1: the prompt's built-in text features join the state (default 0:
                                     on held-out real runs they cost accuracy, docs/sequential.md) */
    const char *features;       /**< record features for the prompt block: NULL none, "a,b" those */
    const char *meta_features;  /**< meta fields as features ("a,b"), or NULL */
    allot_xgb_params xgb;       /**< defaults as allot train's but max_depth 3, min_child_weight 10 */
    allot_linear_params linear; /**< C > 0 fixed (default 1) */
    int progress;
} allot_sq_train_options;

void allot_sq_train_options_default(allot_sq_train_options *o);

typedef struct allot_sq_train_report {
    size_t n_queries, n_train, n_test, n_stages, n_rows, n_inputs;
    double lambda;
    double oof_acc, oof_cost;                  /**< training pool, out-of-fold predictions, at lambda */
    int oof_vs_uniform_available;              /**< 0 when the policy spends less than the cheapest stage */
    double oof_uniform_acc;                    /**< uniform over the stages at the out-of-fold spend */
    double oof_gain, oof_gain_lo, oof_gain_hi; /**< out-of-fold policy - uniform, 95% paired bootstrap */
    double test_acc, test_cost; /**< held-out queries (their orderings), final models, at lambda */
    double test_uniform_acc;    /**< held-out: uniform allocation at test_cost, as oof_uniform_acc (the
                                     upper hull's mixture); NaN below the cheapest uniform setting */
    size_t parity_steps;        /**< held-out steps the runtime reproduced bit for bit */
    int runtime_parity;         /**< 1: every held-out step matched; 0: nothing held out */
    double seconds;
} allot_sq_train_report;

/** Train and write the bundle atomically to out_path. report may be NULL. */
allot_status allot_sq_train(const char *runs_path, const char *stages, const allot_sq_train_options *o,
                            const char *out_path, allot_sq_train_report *report, allot_error *err);
/**
 * allot_sq_train, and (outcome not NULL) per query of the split, in its order, the mean accuracy and
 * cost over the query's orderings at the stop stages: out of fold on the training pool, with the final
 * models on the held-out queries (what the default policy selection compares candidates on, select.h),
 * and each stage's mean realised accuracy on the same orderings (outcome->oof_tier_acc / test_tier_acc,
 * stage s = tier s of allot_sq_stage_tiers).
 */
allot_status allot_sq_train_ex(const char *runs_path, const char *stages, const allot_sq_train_options *o,
                               const char *out_path, allot_sq_train_report *report,
                               allot_train_outcome *outcome, allot_error *err);

/**
 * Replay trajectories (rows of seq_data.h: trajectory j's stage s at row traj[j] * S + s) under the
 * step rule at price lambda with per-row predictions pred (n x S; entries for passed stages unused):
 * *acc / *cost receive the means of the realised accuracy and cost at the stop stages; stop (may
 * be NULL) the stop stage of each trajectory.
 */
void allot_sq_replay(const double *pred, const allot_sq_rows *rows, const size_t *traj, size_t n_traj,
                     const double *stage_cost, double lambda, double *acc, double *cost, size_t *stop);

/** The step rule at stage s with values v (S values; v[t > s] the predicted gains of stopping at t
 *  instead of now): the stage maximising v_t - lambda (c_t - c_s) over t > s, the current stage scoring
 *  0, ties to the earlier stage (a NaN gain never wins); the runtime's allot_policy_step arithmetic. */
size_t allot_sq_best_stage(const double *v, size_t s, size_t S, const double *stage_cost, double lambda);

/**
 * A cascade's stage s drawn alone: the same answer (a stage answers from its own model's samples) at
 * the cost of its own model's samples only. Returns that cost from a trajectory's S cumulative stage
 * costs, or NAN when stage s belongs to the ladder's first model (nothing to leave out).
 */
double allot_sq_alone_cost(const allot_ladder *l, const double *stage_costs, size_t s);

/** The smallest lambda >= 0 whose replayed mean cost is <= budget (0 when lambda 0 meets it). */
double allot_sq_calibrate(const double *pred, const allot_sq_rows *rows, const size_t *traj, size_t n_traj,
                          const double *stage_cost, double budget);

#endif
