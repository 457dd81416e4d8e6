/*
 * uniform.h - uniform allocation at a budget: THE one definition used by `allot solve`, `allot audit`
 * and `allot train` (docs/oracle.md, "Uniform allocation").
 *
 * Every query gets the same allocation. From the single tiers' mean accuracy and mean cost over a
 * set of queries, the *uniform frontier* is the upper concave hull of the points (mean cost, mean
 * acc), starting at the cheapest tier; a tier that is dearer and not more accurate than a cheaper
 * one is dominated and skipped. uniform(B) is the frontier at B: a single tier when B is a vertex,
 * otherwise the mixture of the two neighbouring hull tiers whose expected mean cost is exactly B
 * (each query takes the dearer one with probability w, the cheaper one otherwise); below the
 * cheapest tier, the cheapest tier (over budget); at or above the dearest hull tier, that tier.
 *
 * The mix is CHOSEN on one set of queries (its tier means) and may be APPLIED to another: chosen on
 * a training pool it is the *deployable* uniform baseline (what a user without a policy would run);
 * chosen on the evaluation set itself it is the *hindsight* uniform hull. On any set of queries the
 * mix's figures are expectations: query i's accuracy (1-w) acc_i(lo) + w acc_i(hi), likewise cost.
 */
#ifndef ALLOT_UNIFORM_H
#define ALLOT_UNIFORM_H

#include <stddef.h>

/** Most tiers the frontier holds (callers with more tiers refuse or skip the uniform figures). */
#define ALLOT_UNIFORM_MAX_TIERS 256

/** Single tiers' mean accuracy and cost over n queries (acc, cost: n x T row-major; out arrays of T). */
void allot_tier_means(const double *acc, const double *cost, size_t n, size_t T, double *tier_acc,
                      double *tier_cost);

/** The uniform frontier (see the header comment). */
typedef struct allot_uniform_frontier {
    size_t n_pts;
    int tier[ALLOT_UNIFORM_MAX_TIERS]; /**< hull vertices: tiers in increasing mean cost */
    double cost[ALLOT_UNIFORM_MAX_TIERS];
    double acc[ALLOT_UNIFORM_MAX_TIERS];
} allot_uniform_frontier;

/** Build the frontier of T tiers (T <= ALLOT_UNIFORM_MAX_TIERS; extra tiers are ignored). */
void allot_uniform_frontier_build(const double *tier_acc, const double *tier_cost, size_t T,
                                  allot_uniform_frontier *out);
/** uniform(B): accuracy; lo/hi tiers and weight w on hi (hi == lo, w = 0 at a vertex or outside). */
double allot_uniform_at(const allot_uniform_frontier *u, double budget, int *lo, int *hi, double *w,
                        double *mean_cost);
/** The smallest budget at which the uniform frontier reaches accuracy a (+INFINITY if never). */
double allot_uniform_budget_for(const allot_uniform_frontier *u, double a);

/** A uniform mix: tier lo with probability 1 - w, tier hi with probability w (lo == hi, w = 0: one tier). */
typedef struct allot_uniform_mix {
    int lo, hi;
    double w;
    double acc, cost; /**< expected mean accuracy and cost on the queries it was chosen on */
} allot_uniform_mix;

/**
 * Choose the uniform mix at budget on n queries (acc, cost: n x T; T <= ALLOT_UNIFORM_MAX_TIERS).
 * Returns 0, or -1 when memory runs out.
 */
int allot_uniform_mix_choose(const double *acc, const double *cost, size_t n, size_t T, double budget,
                             allot_uniform_mix *out);

/** The mix's expected accuracy and cost on one query (its row of T accuracies and costs). */
double allot_uniform_mix_query_acc(const allot_uniform_mix *m, const double *acc_row);
double allot_uniform_mix_query_cost(const allot_uniform_mix *m, const double *cost_row);

/** The best single tier: the most accurate one with mean cost <= budget (-1 if none). */
int allot_best_single_tier(const double *tier_acc, const double *tier_cost, size_t T, double budget);

#endif
