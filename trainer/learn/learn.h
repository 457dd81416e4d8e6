/*
 * learn.h - `allot train`: learn a policy that imitates the budgeted oracle from cheap features.
 *
 * Pipeline (docs/learn-and-audit.md):
 *   1. split the curves table: a seeded held-out test fraction (never trained on, used by
 *      `allot audit`) and k seeded folds over the rest (the training pool);
 *   2. labels: the exact oracle (trainer/solve/oracle.h) solved on the training pool at the budget;
 *      each training query's integral tier is its label; tiers never picked get no class;
 *   3. features: the runtime's featuriser (include/allot/allot_features.h), so serving computes
 *      exactly what training saw;
 *   4. a classifier: XGBoost (C API) or LIBLINEAR, its hyper-parameters chosen by k-fold
 *      cross-validation on the training pool, whose out-of-fold probabilities are kept;
 *   5. the calibrated rule argmax_c log p(c|x) - mu * cost(tier of c), mu set by binary search on
 *      the out-of-fold probabilities so that the mean cost on the training pool meets the budget;
 *   6. the policy bundle (docs/policy-bundle.md), written atomically.
 *
 * Target "value" (--target value) replaces steps 4-5: one regressor per tier predicts the query's
 * accuracy at that tier (XGBoost reg:logistic, or LIBLINEAR L2R_L2LOSS_SVR clipped to [0,1]), and
 * the value rule argmax_t acc_hat_t(x) - lambda * cost_t decides (ties to the cheaper tier), lambda
 * >= 0 the smallest price whose out-of-fold mean realised cost meets the budget; the oracle's tiers
 * are then only used to report imitation.
 */
#ifndef ALLOT_LEARN_H
#define ALLOT_LEARN_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "allot/allot_policy.h"
#include "curves.h"

/** Which classifier. */
typedef enum allot_learner_kind { ALLOT_LEARNER_XGBOOST = 0, ALLOT_LEARNER_LIBLINEAR = 1 } allot_learner_kind;

/** What the learner predicts: the oracle's tier (a classifier, default) or each tier's accuracy. */
typedef enum allot_train_target {
    ALLOT_TARGET_TIER_LABEL = 0,
    ALLOT_TARGET_TIER_VALUE = 1
} allot_train_target;

/**
 * How the training labels break ties between tiers a query scores equally on (exactly the same
 * accuracy as the oracle's tier). The oracle itself prefers the cheapest of them (its objective);
 * as a label that teaches "cheapest" for every query where no tier helps (all wrong, all right),
 * which on multi-model tiers is the weakest model. docs/learn-and-audit.md, "Labels".
 */
typedef enum allot_label_ties {
    ALLOT_TIES_ORACLE = 0, /**< the oracle's tier as it is (cheapest of the equally accurate) */
    ALLOT_TIES_POOL = 1    /**< default: the tier a user would pick among the equally accurate ones:
                                those on the training pool's uniform frontier (trainer/solve/uniform.h)
                                with mean cost within the budget, and the oracle's own; the best
                                training-pool mean accuracy, then the cheaper mean cost, then the
                                lower index */
} allot_label_ties;

/** Class weights (both learners, tier target). */
typedef enum allot_class_weighting {
    ALLOT_WEIGHTS_NONE = 0,     /**< every row weighs 1 */
    ALLOT_WEIGHTS_BALANCED = 1, /**< n / (K n_c): every class carries the same total weight */
    ALLOT_WEIGHTS_SQRT = 2      /**< sqrt(n / (K n_c)): halfway (in log) between none and balanced */
} allot_class_weighting;

/** The weight of a row of a class with count rows out of n, K classes (0 when count is 0). */
double allot_class_weight(int weighting, size_t n, int K, size_t count);

/** XGBoost parameters (defaults in allot_train_options_default). */
typedef struct allot_xgb_params {
    int rounds;              /**< maximum boosting rounds (default 200) */
    int max_depth;           /**< default 4 */
    double eta;              /**< learning rate (default 0.1) */
    double subsample;        /**< row subsample per tree (default 0.8) */
    double min_child_weight; /**< default 1 */
    double reg_lambda;       /**< L2 on leaf weights (default 1) */
    int early_stopping; /**< stop after this many rounds without validation improvement (default 20; 0 = off)
                         */
    int nthread;        /**< default 1 (results do not depend on it) */
    int class_weights;  /**< an allot_class_weighting (default: see allot_train_options_default) */
    int gap_weights; /**< 1: also weight each row by its oracle gap (regret-weighted imitation; default 0) */
} allot_xgb_params;

/** LIBLINEAR parameters. */
typedef struct allot_linear_params {
    int solver;           /**< linear.h solver_type (default L2R_LR) */
    double C;             /**< > 0: fixed C; <= 0: chosen by k-fold CV over c_grid (default) */
    double c_min, c_max;  /**< CV grid: powers of 2 from c_min to c_max (default 2^-6 .. 2^6) */
    double eps;           /**< stopping tolerance (0: LIBLINEAR's default for the solver) */
    double bias;          /**< bias feature value (default 1; < 0: no bias) */
    int class_weights;    /**< an allot_class_weighting (default: see allot_train_options_default) */
    int hashed;           /**< 1: feed the hashed n-gram block too (default 1) */
    int liblinear_search; /**< 1: choose C with LIBLINEAR's find_parameters (its own folds) instead of
                               the seeded grid; the seeded folds then only give the out-of-fold
                               probabilities for calibration */
    int threads;          /**< threads of the cross-validation (0: the online cores; default 0; results do
                               not depend on it) */
    int cold_search;      /**< 1: search the C grid with cold trainings only (the search before warm
                               starts: the same choice and bytes, slower; for benchmarks) */
} allot_linear_params;

/** Everything `allot train` takes. */
typedef struct allot_train_options {
    double budget; /**< mean cost per query */
    allot_learner_kind learner;
    allot_train_target target; /**< tier labels (default) or per-tier accuracy values */
    /** The decision rule the bundle names (both are always reported), one of the runtime's
     *  (allot_policy.h): ALLOT_RULE_CALIBRATED (default) or ALLOT_RULE_ARGMAX; any other value is
     *  ALLOT_E_ARGUMENT. For the value target the bundle's rule is always the value rule:
     *  ALLOT_RULE_CALIBRATED puts it at the calibrated lambda, ALLOT_RULE_ARGMAX at lambda = 0 (the
     *  most accurate predicted tier). */
    allot_rule rule;
    allot_label_ties label_ties; /**< tier target: how labels break ties (default ALLOT_TIES_POOL) */
    double test_fraction;        /**< held out for the audit (default 0.2) */
    /** Cross-fitting instead of test_fraction when test_parts >= 2: hold out part test_part
     *  (0-based) of the seeded test_parts-part partition of allot_split_make_part; training every
     *  part in turn holds each query out once. Default 0/0 (test_fraction). */
    int test_part, test_parts;
    int folds;                 /**< k of k-fold CV on the training pool (default 5, >= 2) */
    uint64_t seed;             /**< split, XGBoost and LIBLINEAR seeds (default 1) */
    const char *meta_features; /**< comma list of meta fields to use as features, or NULL */
    const char *features;      /**< comma list of record features to use; NULL = all of them; "" = none */
    uint32_t hash_dim;         /**< hashed n-gram dimension (default 4096; LIBLINEAR only uses it) */
    allot_xgb_params xgb;
    allot_linear_params linear;
    int progress;      /**< 1: progress on stderr */
    int no_validation; /**< 1: leave the out-of-fold probabilities out of the bundle (smaller; the
                            audit then falls back on in-sample predictions) */
} allot_train_options;

void allot_train_options_default(allot_train_options *o);

/** Figures of a training run (also written under provenance.metrics). */
typedef struct allot_train_report {
    size_t n_queries, n_train, n_test, n_tiers, n_classes;
    double oracle_lambda; /**< oracle price on the training pool */
    double oracle_train_acc, oracle_train_cost;
    size_t labels_moved; /**< training labels that differ from the oracle's tier (label_ties) */
    double cv_imitation; /**< out-of-fold imitation accuracy (argmax rule) */
    double cv_imitation_calibrated;
    double oof_cost_argmax; /**< out-of-fold mean cost of the argmax rule */
    double oof_acc_argmax, oof_acc_calibrated, oof_cost_calibrated;
    double mu;       /**< calibrated price (value target: lambda) */
    double chosen_C; /**< LIBLINEAR: C used (0 for XGBoost; value target: the first tier's) */
    int rounds_used; /**< XGBoost: boosting rounds of the final model (0 for LIBLINEAR; value
                          target: the first tier's) */
    double test_imitation_argmax, test_imitation_calibrated; /**< on the held-out set */
    double test_cost_argmax, test_cost_calibrated, test_acc_argmax, test_acc_calibrated;
    double test_oracle_acc, test_oracle_cost;
    int runtime_parity; /**< 1: the runtime loaded the bundle and gave the trainer's tier on every held-out
                           query (on every training query when parity_on_training_pool) */
    int parity_on_training_pool; /**< 1: no held-out queries (--test-fraction 0): parity was checked on the
                                      training pool's in-sample scores; the held-out figures are NaN */
    double seconds;
} allot_train_report;

/**
 * Train on a curves table (its source path and SHA-256 go into the provenance) and write the
 * policy bundle atomically to out_path. report may be NULL.
 */
allot_status allot_train(const allot_curves *curves, const char *curves_path, const allot_train_options *opt,
                         const char *out_path, allot_train_report *report, allot_error *err);

/**
 * Per-query figures of a trained policy under its bundle's rule and price: out-of-fold on the training
 * pool (each query decided by the model of the folds that did not see it, at the price calibrated on
 * all out-of-fold scores), and the final model's on the held-out queries. Rows are curves rows, in the
 * split's order. What the default policy selection (select.h) compares candidates on.
 */
typedef struct allot_train_outcome {
    size_t n_train, n_test;
    size_t *train_rows, *test_rows;
    double *oof_acc, *oof_cost;   /**< n_train */
    double *test_acc, *test_cost; /**< n_test */
    /** Optional (NULL: none): n_train (n_test) x the curves' tiers, per query the mean realised accuracy
     *  of each tier on the candidate's own random draws (a sequential policy's sample orderings). The
     *  selection then compares the candidate with the uniform mix on the same draws (common random
     *  numbers: the same expected gain, far less noise). */
    double *oof_tier_acc, *test_tier_acc;
} allot_train_outcome;

void allot_train_outcome_free(allot_train_outcome *o);

/**
 * The uniform policy: the uniform mix at the budget chosen on the training pool of allot_train's split
 * (trainer/solve/uniform.h), written as a bundle the runtime loads: kind "constant" at a hull vertex,
 * else "mixture" (each query draws its tier from the weights by a hash of its prompt,
 * allot_mixture_draw). Provenance, parity check and outcome as allot_train_ex's; the outcome's
 * figures are the mix's expectations per query (the reference of the default selection, select.h),
 * the report's held-out figures the drawn tiers' (what serving does).
 */
allot_status allot_train_uniform(const allot_curves *curves, const char *curves_path,
                                 const allot_train_options *opt, const char *out_path,
                                 allot_train_report *report, allot_train_outcome *outcome, allot_error *err);

/** allot_train, also filling *outcome (may be NULL; release with allot_train_outcome_free). */
allot_status allot_train_ex(const allot_curves *curves, const char *curves_path,
                            const allot_train_options *opt, const char *out_path, allot_train_report *report,
                            allot_train_outcome *outcome, allot_error *err);

/** SHA-256 of a file as 64 lowercase hex digits + NUL. */
allot_status allot_learn_file_sha256(const char *path, char out_hex[65], allot_error *err);

#endif
