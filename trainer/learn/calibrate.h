/*
 * calibrate.h - the decision rules and the budget calibration of mu.
 *
 *   argmax:     class = argmax_c p(c|x)
 *   calibrated: class = argmax_c log p(c|x) - mu * cost_c    (cost_c = the bundle price of the
 *               class's tier)
 *
 * Both rules are the runtime's allot_rule_apply (include/allot/allot_policy.h), so the trainer,
 * the audit and serving use the very same arithmetic and tie rules.
 * The mean realised cost of the calibrated rule is non-increasing in mu (for one query, raising mu
 * can only move the argmax to a class of lower or equal price); allot_calibrate_mu finds by
 * bisection the smallest mu (any sign) whose mean cost on the given queries is <= the budget:
 * mu > 0 when argmax overspends, mu < 0 when it underspends (a negative price raises the spend
 * towards B; it stays finite, so a class of probability 0 is still never chosen).
 */
#ifndef ALLOT_LEARN_CALIBRATE_H
#define ALLOT_LEARN_CALIBRATE_H

#include <stddef.h>

#include "allot/allot_policy.h"

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
 * cheapest-choice limit overspends, returns the largest mu tried (the cheapest choices); when even
 * the dearest-choice limit stays within budget (no price binds), the least negative mu that spends
 * as much as any price does (0 when no price changes the spend, e.g. a single class).
 */
double allot_calibrate_mu(const double *prob, size_t n, int K, const double *class_cost,
                          const double *realised, double budget);

/* ---- any rule of the runtime's allot_rule (allot_policy.h) ------------------------------------ */

/**
 * The class chosen by rule at price mu among K scores (probabilities, or predicted accuracies for
 * the value rule: argmax_c score_c - mu * class_cost_c, ties to the cheaper class).
 */
int allot_decide_rule(allot_rule rule, const double *score, int K, const double *class_cost, double mu);

/** allot_calibrated_mean_cost for any rule. */
double allot_rule_mean_cost(allot_rule rule, const double *score, size_t n, int K, const double *class_cost,
                            const double *realised, double mu, int *choice);

/**
 * The calibrated price for rule: ALLOT_RULE_CALIBRATED as allot_calibrate_mu (any sign);
 * ALLOT_RULE_VALUE: the smallest lambda >= 0 with mean realised cost <= budget (0 when lambda 0
 * already meets it: beyond the most accurate predicted tier more spend buys no predicted
 * accuracy). ALLOT_RULE_ARGMAX: 0.
 */
double allot_calibrate_price(allot_rule rule, const double *score, size_t n, int K, const double *class_cost,
                             const double *realised, double budget);

#endif
