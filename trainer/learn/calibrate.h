/*
 * calibrate.h - the decision rules and the budget calibration of mu.
 *
 *   argmax:     class = argmax_c p(c|x)                      (first maximum wins)
 *   calibrated: class = argmax_c log p(c|x) - mu * cost_c    (cost_c = the bundle price of the
 *               class's tier; ties to the cheaper class, then the lower index)
 *
 * log p is taken of max(p, ALLOT_LEARN_MIN_PROB) so that a zero probability stays finite.
 * The mean realised cost of the calibrated rule is non-increasing in mu (for one query, raising mu
 * can only move the argmax to a class of lower or equal price); allot_calibrate_mu finds by
 * bisection the smallest mu (it may be negative: spend more than argmax does) whose mean cost on
 * the given queries is <= the budget.
 */
#ifndef ALLOT_LEARN_CALIBRATE_H
#define ALLOT_LEARN_CALIBRATE_H

#include <stddef.h>

#define ALLOT_LEARN_MIN_PROB 1e-300

/** The argmax class of K probabilities. */
int allot_decide_argmax(const double *prob, int K);
/** The calibrated class of K probabilities at price mu (class_cost: K prices). */
int allot_decide_calibrated(const double *prob, int K, const double *class_cost, double mu);

/**
 * Mean realised cost over n queries at price mu: query i choosing class c pays
 * realised[i*K + c] (its own cost of that class's tier). choice (may be NULL) gets the classes.
 */
double allot_calibrated_mean_cost(const double *prob, size_t n, int K, const double *class_cost,
                                  const double *realised, double mu, int *choice);

/**
 * The smallest mu with mean realised cost <= budget (bisection to ~1e-12 relative). When even the
 * cheapest-choice limit overspends, returns the largest mu tried (the cheapest choices); when
 * spending everything still meets the budget, returns the most negative mu tried.
 */
double allot_calibrate_mu(const double *prob, size_t n, int K, const double *class_cost, const double *realised,
                          double budget);

#endif
