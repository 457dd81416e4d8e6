/*
 * seq_eval.h - how good is a sequential policy on labelled runs it never saw (docs/sequential.md).
 *
 * For each evaluated query, `orderings` seeded orderings of its samples; every method sees the same
 * samples in the same order (paired comparisons):
 *   policy      the bundle's step rule through the runtime (allot_policy_step), at the price shipped
 *               in the bundle and at the price re-fitted to the evaluated batch (the smallest lambda
 *               whose mean spend on the batch is <= the budget: what the online budget controller
 *               converges to; it uses no labels), and driven by the online budget controller
 *               (allot_budget.h) over a seeded arrival order, as a gateway runs it;
 *   stage j     always stop at stage j (uniform allocation over the ladder's stages);
 *   adaptive-consistency  (one-model majority ladders) one sample at a time, stop when
 *               P(p_leader > p_runner-up) >= threshold (allot_beta_stop_prob), over a grid of thresholds;
 *   early-stop  windows of w samples, stop when a window's answers are all the same (non-null);
 *   oracle      the static oracle: per query, in hindsight, the stage that maximises mean accuracy at
 *               the same mean spend (the exact budgeted oracle of `allot solve` over the per-query
 *               stage curves). It bounds every allocation that fixes a query's stage in advance, not
 *               a sequential policy, which adapts to each ordering's samples (gain capture may
 *               exceed 1).
 * A family's accuracy AT EQUAL SPEND is read off the upper concave hull of its (mean spend, mean
 * accuracy) points at the policy's realised spend (a mixture of two neighbouring settings, query by
 * query), so every comparison is at the same mean spend, never at a nominal budget. Differences
 * carry paired bootstrap intervals over queries.
 */
#ifndef ALLOT_SEQ_EVAL_H
#define ALLOT_SEQ_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "seq_data.h"

typedef struct allot_sq_eval_options {
    double budget;   /**< the budget of the re-fitted price (NaN: the bundle's provenance budget) */
    int orderings;   /**< per query (default 8) */
    uint64_t seed;   /**< orderings and bootstrap (default 1) */
    int bootstrap;   /**< resamples (default 1000) */
    int all_queries; /**< 1: evaluate every query of the file (a foreign file); 0: the bundle's held-out
                          ids when the file is the training file, else every query */
    int progress;
} allot_sq_eval_options;

void allot_sq_eval_options_default(allot_sq_eval_options *o);

/** One method (or one setting of a method family): per-query means over the orderings. */
typedef struct allot_sq_point {
    char name[64];
    double param; /**< threshold, window, stage index, lambda (NaN when none) */
    double acc, cost;
    double *acc_q, *cost_q; /**< n_queries */
} allot_sq_point;

/** A family of settings (stages, AC thresholds, early-stop windows). */
typedef struct allot_sq_family {
    char name[32];
    size_t n;
    allot_sq_point *p;
} allot_sq_family;

/** A baseline read at the policy's spend, and the policy's gain over it. */
typedef struct allot_sq_compare {
    char name[32]; /**< "uniform", "adaptive-consistency", "early-stop", "oracle" */
    int available; /**< 0: the family does not apply (note says why) or the spend is out of its range */
    char note[96];
    double acc;           /**< the baseline's accuracy at the policy's spend */
    double delta, lo, hi; /**< policy - baseline, 95% paired bootstrap interval */
    double gain_capture;  /**< (policy - uniform) / (oracle - uniform), for the oracle row only */
} allot_sq_compare;

#define ALLOT_SQ_N_COMPARE 4

/** The policy at one price, with its comparisons. */
typedef struct allot_sq_policy_eval {
    allot_sq_point point;
    allot_sq_compare cmp[ALLOT_SQ_N_COMPARE];
} allot_sq_policy_eval;

typedef struct allot_sq_eval {
    char *bundle_path, *runs_path;
    int own_split; /**< 1: the bundle's held-out queries of its own training file */
    size_t n_queries, n_orderings, n_bundles;
    double budget, lambda_shipped, lambda_refit;
    size_t parity_steps; /**< steps where the runtime's allot_policy_step was checked against the replay */
    allot_sq_policy_eval shipped, refit;
    int has_controller;              /**< 1 when a budget is known: the online controller's run */
    allot_sq_policy_eval controller; /**< the online budget controller (allot_budget.h) deciding each
                                          query in a seeded arrival order, one stream per ordering */
    allot_sq_family stages, ac, es;
    /** A cascade's later stages drawn alone (their own model's samples and cost: the uniform
     *  allocations that skip the cheaper models); empty for one model. The uniform comparison and the
     *  static oracle read stages and alone together. */
    allot_sq_family alone;
} allot_sq_eval;

/**
 * Evaluate sequential bundles on a labelled-runs file. One bundle: its held-out queries when the file
 * is the one it was trained on (same SHA-256), else every query. Several bundles (cross-fitting, e.g.
 * trained with --test-part 0/2 and 1/2): each on its own held-out queries of its training file, pooled;
 * their held-out sets must be disjoint and their ladders equal. lambda_* report the first bundle's.
 */
allot_status allot_sq_evaluate(const char *const *bundles, size_t n_bundles, const char *runs_path,
                               const allot_sq_eval_options *o, allot_sq_eval *out, allot_error *err);
void allot_sq_eval_free(allot_sq_eval *e);

/**
 * A family read at mean spend x: query by query, the mixture of the two points of the family's upper
 * concave hull (in mean spend, mean accuracy) around x; out_q (nq values) and *out its mean. Returns 0
 * with a note when x is below the family's cheapest point (or the family is empty); above its
 * dearest point the dearest is used (and the note says so).
 */
int allot_sq_family_at(const allot_sq_family *f, double x, size_t nq, double *out_q, double *out, char *note,
                       size_t note_cap);
void allot_sq_family_free(allot_sq_family *f);
void allot_sq_point_free(allot_sq_point *p);

#endif
