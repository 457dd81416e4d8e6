/*
 * allot_budget.h - an online budget controller for a serving gateway.
 *
 * The calibrated decision rule (allot_policy.h) picks argmax_c log p(c|x) - mu * cost(c): a
 * larger price mu buys cheaper tiers. The controller keeps the running mean of the costs actually
 * spent at a target B by adjusting mu after every observed cost c_n. The update is multiplicative
 * (integral control on log mu), so it needs no knowledge of the policy's price scale, which
 * varies by orders of magnitude with how confident the classifier is:
 *
 *     log mu_n = clamp( log mu_{n-1} + gain * (c_n - B) / B,  log mu_min,  log mu_max )
 *
 * Unrolled, while mu stays strictly inside [mu_min, mu_max]:
 *
 *     spent_n - n * B = (B / gain) * log(mu_n / mu_0)
 *
 * so the cumulative overspend is bounded by (B / gain) * log(mu_max / mu_min) and the running
 * mean spent_n / n converges to B at rate 1/n whenever some price in [mu_min, mu_max] reaches it.
 * When even the smallest price spends less than B, mu rests at mu_min (essentially the argmax
 * rule) and the mean stays below the target (a budget is a cap); when B is below the cheapest
 * tier, mu rests at mu_max (every query gets the cheapest class). gain is dimensionless
 * (default 0.05: one query costing twice the target raises mu by 5%).
 *
 * Setup:
 *     allot_budget_config cfg = ALLOT_BUDGET_CONFIG_INIT;
 *     allot_budget_config_default(&cfg, B, allot_policy_mu(policy));
 *     allot_budget_create(&cfg, &b, &err);
 * Per request:
 *     allot_predict_options opts = ALLOT_PREDICT_OPTIONS_INIT;
 *     opts.rule = ALLOT_RULE_CALIBRATED;
 *     opts.mu = allot_budget_mu(b);
 *     allot_policy_predict(..., &opts, ...); serve; allot_budget_observe(b, cost);
 * For a value bundle (allot_policy_rule() == ALLOT_RULE_VALUE) use opts.rule = ALLOT_RULE_VALUE:
 * the controller's price is then the value rule's lambda, which is >= 0 by construction.
 *
 * Prices are positive: the controller works on log mu. The calibrated rule also accepts mu < 0
 * (an underspending classifier raised to B by calibration); the controller does not go there: a
 * bundle whose decision.mu is <= 0 starts at the default 0.1 / B, and the lowest price it reaches,
 * mu_min, spends about what argmax spends, so with such a bundle the running mean can settle below
 * the target. (A budget is a cap; raising the spend online is left to the value rule's lambda or a
 * recalibrated bundle.)
 *
 * Threads: one controller may be shared by every request thread. allot_budget_mu() and
 * allot_budget_observe() are lock-free (C11 atomics; each observation is applied exactly once,
 * in some order). allot_budget_get_state() reads each field atomically but the fields together
 * are only a snapshot when no observe() runs concurrently. Create/free are not concurrent-safe.
 */
#ifndef ALLOT_BUDGET_H
#define ALLOT_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct allot_budget allot_budget;

/** Version of allot_budget_config and allot_budget_state (their leading field). The caller sets it
 *  (the _INIT macros); the library reads every version up to this one and refuses others with
 *  ALLOT_E_ARGUMENT. */
#define ALLOT_BUDGET_VERSION 1u

/** Controller parameters. */
typedef struct allot_budget_config {
    unsigned version; /**< ALLOT_BUDGET_VERSION */
    double target;    /**< B, the target mean cost per query (> 0, finite) */
    double mu0;       /**< initial price, in [mu_min, mu_max]; usually the policy's decision.mu */
    double gain;      /**< dimensionless step on log mu (> 0); default 0.05 */
    double mu_min;    /**< lower clamp (> 0); default 1e-6 / B */
    double mu_max;    /**< upper clamp (> mu_min); default 1e3 / B */
} allot_budget_config;
// clang-format off
#define ALLOT_BUDGET_CONFIG_INIT { ALLOT_BUDGET_VERSION, 0, 0, 0, 0, 0 }
// clang-format on

/**
 * Fill cfg with the defaults for a target and an initial price; an initial price <= 0 (an argmax
 * bundle) is replaced by 0.1 / B, and one outside [mu_min, mu_max] is clamped into it. cfg->version
 * must be set first (`allot_budget_config cfg = ALLOT_BUDGET_CONFIG_INIT;`): ALLOT_E_ARGUMENT
 * otherwise, and for a NULL cfg.
 */
ALLOT_API allot_status allot_budget_config_default(allot_budget_config *cfg, double target, double mu0);

/** Create a controller (one allocation; the caller owns it). Invalid parameters: ALLOT_E_ARGUMENT
 *  (target, gain, mu_min, mu_max finite and > 0, mu_min < mu_max, mu0 in [mu_min, mu_max]). */
ALLOT_API allot_status allot_budget_create(const allot_budget_config *cfg, allot_budget **out,
                                           allot_error *err);
/** Release a controller (NULL allowed). */
ALLOT_API void allot_budget_free(allot_budget *b);

/** The current price mu (lock-free). */
ALLOT_API double allot_budget_mu(const allot_budget *b);

/**
 * Record the cost actually spent on one query and update mu (lock-free). A negative or
 * non-finite cost is ignored and returns ALLOT_E_ARGUMENT.
 */
ALLOT_API allot_status allot_budget_observe(allot_budget *b, double cost);

/** The controller's state. */
typedef struct allot_budget_state {
    unsigned version;    /**< the caller sets ALLOT_BUDGET_VERSION (ALLOT_BUDGET_STATE_INIT) */
    double target;       /**< B */
    double mu;           /**< current price */
    double spent;        /**< sum of observed costs */
    uint64_t count;      /**< number of observations */
    double running_mean; /**< spent / count (0 before the first observation) */
    double overspend;    /**< spent - count * target */
} allot_budget_state;
// clang-format off
#define ALLOT_BUDGET_STATE_INIT { ALLOT_BUDGET_VERSION, 0, 0, 0, 0, 0, 0 }
// clang-format on

/** Read the state (see the threading note above) into `state`, whose version the caller sets.
 *  ALLOT_E_ARGUMENT for a NULL state, an unknown version, or a NULL b (the state is then zero). */
ALLOT_API allot_status allot_budget_get_state(const allot_budget *b, allot_budget_state *state);

/** Forget the observations and restart from price mu0 (clamped into [mu_min, mu_max]). Not
 *  concurrent-safe. */
ALLOT_API void allot_budget_reset(allot_budget *b, double mu0);

#ifdef __cplusplus
}
#endif
#endif /* ALLOT_BUDGET_H */
