/*
 * oracle.h - the exact budgeted allocation (multiple-choice knapsack and its LP relaxation).
 *
 *   maximise (1/N) sum_i acc[i][t_i]   subject to   (1/N) sum_i cost[i][t_i] <= B,  one t_i per query.
 *
 * For a price lambda >= 0 each query independently takes argmax_t acc - lambda*cost (ties to the
 * cheaper tier, then to the lower index). Mean cost is non-increasing in lambda. Two solvers give
 * the same answer: allot_oracle_solve_exact (per-query upper concave hulls, all hull segments sorted
 * by slope, walked until the budget runs out) and allot_oracle_solve_bisect (binary search on
 * lambda, the method of the literature). Both report the integral allocation, the LP relaxation
 * value (with its single fractional query) and the Lagrangian dual bound.
 *
 * Arrays acc and cost are n x t, row-major. All outputs are caller-owned.
 */
#ifndef ALLOT_ORACLE_H
#define ALLOT_ORACLE_H

#include <stddef.h>

#include "allot/allot_error.h"

typedef struct allot_oracle_result {
    double lambda;          /**< lambda*: the price at which the budget runs out (0 if it never binds) */
    double mean_acc;        /**< integral allocation's mean accuracy (within budget) */
    double mean_cost;       /**< integral allocation's mean cost (<= budget when feasible) */
    double lp_value;        /**< LP relaxation optimum (mean accuracy) */
    double dual_bound;      /**< min over lambda of the Lagrangian dual (mean), equals lp_value */
    long frac_query;        /**< the LP's fractional query, -1 if none */
    int frac_from, frac_to; /**< its two tiers (hull neighbours) */
    double frac_weight;     /**< weight on frac_to in the LP solution, in (0,1) */
    int feasible;           /**< 0 when even the cheapest tier of every query exceeds the budget */
} allot_oracle_result;

/**
 * Exact solver. choice (n ints, may be NULL) receives the integral allocation. tier_counts
 * (t sizes, may be NULL) receives how many queries take each tier.
 * When the budget is infeasible (cheapest allocation costs more than B) the cheapest allocation
 * is returned with feasible = 0 and ALLOT_OK.
 */
allot_status allot_oracle_solve_exact(const double *acc, const double *cost, size_t n, size_t t,
                                      double budget, int *choice, size_t *tier_counts,
                                      allot_oracle_result *out, allot_error *err);

/** Binary search on lambda (tolerance on lambda given by iters; 200 is plenty for doubles). */
allot_status allot_oracle_solve_bisect(const double *acc, const double *cost, size_t n, size_t t,
                                       double budget, int iters, int *choice, size_t *tier_counts,
                                       allot_oracle_result *out, allot_error *err);

/** Each query's choice at a fixed price lambda; returns the mean cost, *mean_acc gets the accuracy. */
double allot_oracle_choose(const double *acc, const double *cost, size_t n, size_t t, double lambda,
                           int *choice, double *mean_acc);

/** One point of the oracle frontier. */
typedef struct allot_frontier_point {
    double lambda;    /**< slope of the segment that ends here */
    double mean_cost; /**< mean cost after taking every segment up to this one */
    double mean_acc;  /**< mean accuracy there (the LP frontier is piecewise linear between points) */
} allot_frontier_point;

/**
 * The whole accuracy-versus-budget frontier in one pass: *points (allocated, free()) holds the
 * breakpoints in increasing cost, starting from the all-cheapest allocation.
 */
allot_status allot_oracle_frontier(const double *acc, const double *cost, size_t n, size_t t,
                                   allot_frontier_point **points, size_t *n_points, allot_error *err);

#endif
