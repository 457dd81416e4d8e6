/*
 * audit_metrics.h - the audit's figures as pure functions over an acc/cost table.
 *
 * Every function takes a set of n queries (acc and cost row-major n x T) and allocations given as
 * one tier per query. Definitions (docs/learn-and-audit.md has the long form):
 *
 *   uniform           trainer/solve/uniform.h (the one definition, shared with solve and train).
 *   Lagrangian value  v_i(t) = acc_i(t) - lambda * cost_i(t) at the oracle's lambda.
 *   gap               gap_i = v_i(o_i) - min_t v_i(t), o_i the oracle's tier (and the accuracy gap
 *                     gapacc_i = acc_i(o_i) - min_t acc_i(t)). A query whose policy tier p_i != o_i
 *                     loses v_i(o_i) - v_i(p_i) <= gap_i; a query with p_i = o_i loses nothing. Hence
 *                     regret = (1/n) sum_i [v_i(o_i) - v_i(p_i)]
 *                            <= (1/n) sum_{p_i != o_i} gap_i            (data-dependent bound)
 *                            <= eps * max_i gap_i                       (the literature's bound),
 *                     eps = the imitation error; the same holds with acc in place of v.
 */
#ifndef ALLOT_AUDIT_METRICS_H
#define ALLOT_AUDIT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "bootstrap.h"
#include "uniform.h"

/** Most tiers the audit handles (allot audit refuses more): the uniform frontier's limit. */
#define ALLOT_AUDIT_MAX_TIERS ALLOT_UNIFORM_MAX_TIERS

/** Mean accuracy and cost of an allocation (one tier per query). */
void allot_alloc_eval(const double *acc, const double *cost, size_t n, size_t T, const int *tier,
                      double *mean_acc, double *mean_cost);

/** Regret figures of a policy against the oracle (see the header comment). */
typedef struct allot_regret {
    double lambda;
    double imitation_error;   /**< fraction of queries with p_i != o_i */
    double regret_lagrangian; /**< (1/n) sum v_i(o_i) - v_i(p_i) */
    double regret_acc;        /**< oracle mean acc - policy mean acc */
    double max_gap_lagrangian, max_gap_acc;
    double mean_gap_mis_lagrangian, mean_gap_mis_acc; /**< mean gap over misclassified queries (0 if none) */
    double bound_literature_lagrangian, bound_literature_acc; /**< eps * max gap */
    double bound_data_lagrangian, bound_data_acc;             /**< eps * mean gap over misclassified */
    int holds; /**< 1 when every regret <= its bounds (1e-12 slack for rounding) */
} allot_regret;

void allot_regret_compute(const double *acc, const double *cost, size_t n, size_t T, double lambda,
                          const int *oracle_tier, const int *policy_tier, allot_regret *out);

/** Confusion matrix (T x T, row = oracle tier, column = policy tier) and per-tier recall. */
void allot_confusion(const int *oracle_tier, const int *policy_tier, size_t n, size_t T, size_t *conf);

/** Paired bootstrap of mean(d): trainer/common/bootstrap.h. */

/**
 * Tier per group under a budget: groups g = 0..G-1 of queries (group[i]); choose one tier per group
 * maximising total accuracy subject to the mean cost over all n queries <= budget (the exact
 * oracle on the G aggregated "queries"). tier_out: G tiers. Returns 0, or -1 on allocation failure.
 */
int allot_group_tiers(const double *acc, const double *cost, size_t n, size_t T, const int *group, int G,
                      double budget, int *tier_out);

/**
 * Monotone score heuristic: thresholds on a score (e.g. prompt length) set on training queries so
 * that the fractions of queries at each tier equal `mix` (T fractions, tiers taken in increasing
 * mean cost `tier_cost`): the lowest scores get the cheapest tier in the mix. thresholds_out
 * (T entries): a query with score s takes the first tier (in cost order) whose threshold >= s.
 */
void allot_score_thresholds(const double *train_score, size_t n_train, const double *mix,
                            const double *tier_cost, size_t T, double *thresholds_out);
int allot_score_tier(const double *thresholds, const double *tier_cost, size_t T, double score);

/** Quantile edges for G bins of scores (G-1 inner edges, sorted copy); bin of s = number of edges < s. */
void allot_quantile_edges(const double *score, size_t n, int G, double *edges);
int allot_bin_of(const double *edges, int G, double s);

#endif
