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
 *
 * Input rules (checked by the solvers, ALLOT_E_INVALID naming query and tier otherwise): every
 * cost finite and >= 0, every acc finite; budget finite and >= 0 (ALLOT_E_ARGUMENT otherwise);
 * t in 1..65535 and n < 2^32. n = 0 gives an all-zero, feasible result.
 *
 * Tie rules (docs/oracle.md has the long form):
 *  - Per query, tiers are ordered by (cost ascending, acc descending, index ascending); a tier that
 *    is not strictly more accurate than every cheaper-or-equal tier before it is dominated and never
 *    chosen (so duplicates resolve to the lowest index, equal-cost tiers to the most accurate one).
 *    Hull points that are exactly collinear (equal computed slopes) are kept as separate segments.
 *  - The exact walk orders hull segments by (slope descending, query ascending, segment ascending)
 *    and takes whole segments until the first one that does not fit (running total cost <= N*B,
 *    totals as compensated sums). lambda* is that segment's slope; it is the fractional one in the
 *    LP.
 *  - Budget on a breakpoint: if that segment is short of fitting, or has a remainder, by at most
 *    min(8 ulps of N*B, 1e-9 x its cost), it is taken whole (or not at all) and frac_query = -1;
 *    lambda* is then the smallest optimal price, the slope of the next segment (0 if none).
 *  - When no other segment has the same slope as the crossing one, exact and bisect return the same
 *    integral allocation: every segment steeper than lambda*. At a tie (several segments with slope
 *    lambda*) exact additionally takes the tied segments that precede the crossing one in the order
 *    above, while bisect (the pure price allocation, ties to the cheaper tier) takes none of them:
 *    both are optimal for the same lambda*, both LP values are equal, exact's integral accuracy is
 *    >= bisect's. (When the budget is on a breakpoint inside or at the end of the tied group,
 *    bisect takes the same queries as exact: those its LP moves whole, in query order.)
 *  - Budget below the cheapest allocation (by more than 8 ulps): the cheapest allocation,
 *    feasible = 0, lambda = the largest hull slope (the smallest price at which every query
 *    chooses its cheapest tier), lp_value = dual_bound = mean_acc (the LP itself is infeasible),
 *    frac_query = -1.
 *  - Budget at or above the all-max-accuracy allocation: lambda = 0, every query at its most
 *    accurate tier (the cheapest among equally accurate ones), frac_query = -1.
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
    double lambda;    /**< slope of the segment that ends here (+INFINITY for the first point) */
    double mean_cost; /**< mean cost after taking every segment up to this one */
    double mean_acc;  /**< mean accuracy there (the LP frontier is piecewise linear between points) */
} allot_frontier_point;

/**
 * The whole accuracy-versus-budget frontier in one pass: *points (allocated, free()) holds the
 * breakpoints in increasing cost, starting from the all-cheapest allocation.
 */
allot_status allot_oracle_frontier(const double *acc, const double *cost, size_t n, size_t t,
                                   allot_frontier_point **points, size_t *n_points, allot_error *err);

/**
 * The LP value (mean accuracy) at mean budget B read off a frontier by linear interpolation between
 * breakpoints. Below the first point returns the first point's accuracy (infeasible), above the
 * last the last one's.
 */
double allot_oracle_frontier_value(const allot_frontier_point *points, size_t n_points, double budget);

/**
 * The Lagrangian dual in means: (1/N) sum_i max_t (acc - lambda*cost) + lambda*B. At lambda* it
 * equals the LP value; at any lambda >= 0 it is an upper bound on it.
 */
double allot_oracle_dual(const double *acc, const double *cost, size_t n, size_t t, double lambda,
                         double budget);

/**
 * One query's largest increment: the largest accuracy step between neighbouring points of any
 * query's upper concave hull (not divided by N). Rounding the LP's fractional query down loses at
 * most this / N in mean accuracy, so the integral allocation is within it of the integer optimum.
 */
double allot_oracle_max_increment(const double *acc, const double *cost, size_t n, size_t t);

/** Check the input rules above; ALLOT_OK or an error naming the first bad query and tier. */
allot_status allot_oracle_validate(const double *acc, const double *cost, size_t n, size_t t,
                                   allot_error *err);

#endif
