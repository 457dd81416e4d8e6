/* budget.c - the online budget controller (include/allot/allot_budget.h). */
#include "allot/allot_budget.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct allot_budget {
    double target, gain, log_min, log_max;
    _Atomic uint64_t log_mu_bits; /* double bits of log mu */
    _Atomic uint64_t spent_bits;  /* double bits of the sum of costs */
    _Atomic uint64_t count;
};

static uint64_t d2u(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double u2d(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static double clampd(double x, double lo, double hi) {
    return x < lo ? lo : x > hi ? hi : x;
}

/* A caller-set struct version this library reads (1 .. ALLOT_BUDGET_VERSION); the message names the
 * struct type and its initialiser. */
static allot_status check_version(const char *fn, const char *type, const char *init, unsigned version,
                                  allot_error *err) {
    if (version >= 1 && version <= ALLOT_BUDGET_VERSION) return ALLOT_OK;
    return allot_error_set(err, ALLOT_E_ARGUMENT, "%s: %s.version is %u, this library reads 1 to %u (use %s)",
                           fn, type, version, ALLOT_BUDGET_VERSION, init);
}

allot_status allot_budget_config_default(allot_budget_config *cfg, double target, double mu0) {
    if (!cfg) return ALLOT_E_ARGUMENT;
    allot_status st = check_version("allot_budget_config_default", "allot_budget_config",
                                    "ALLOT_BUDGET_CONFIG_INIT", cfg->version, NULL);
    if (st) return st;
    double b = (isfinite(target) && target > 0) ? target : 1.0;
    cfg->target = target;
    cfg->gain = 0.05;
    cfg->mu_min = 1e-6 / b;
    cfg->mu_max = 1e3 / b;
    if (!(mu0 > 0) || !isfinite(mu0)) mu0 = 0.1 / b;
    cfg->mu0 = clampd(mu0, cfg->mu_min, cfg->mu_max);
    return ALLOT_OK;
}

allot_status allot_budget_create(const allot_budget_config *cfg, allot_budget **out, allot_error *err) {
    if (out) *out = NULL;
    if (!cfg || !out) return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_budget_create: NULL argument");
    allot_status st = check_version("allot_budget_create", "allot_budget_config", "ALLOT_BUDGET_CONFIG_INIT",
                                    cfg->version, err);
    if (st) return st;
    if (!isfinite(cfg->target) || !(cfg->target > 0))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "budget: target must be finite and > 0");
    if (!isfinite(cfg->gain) || !(cfg->gain > 0))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "budget: gain must be finite and > 0");
    if (!isfinite(cfg->mu_min) || !(cfg->mu_min > 0) || !isfinite(cfg->mu_max) ||
        !(cfg->mu_max > cfg->mu_min))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "budget: need 0 < mu_min < mu_max, both finite");
    if (!(cfg->mu0 >= cfg->mu_min && cfg->mu0 <= cfg->mu_max))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "budget: mu0 = %g is outside [mu_min, mu_max] = [%g, %g]", cfg->mu0,
                               cfg->mu_min, cfg->mu_max);
    allot_budget *b = malloc(sizeof *b);
    if (!b) return allot_error_set(err, ALLOT_E_NOMEM, "budget: out of memory");
    b->target = cfg->target;
    b->gain = cfg->gain;
    b->log_min = log(cfg->mu_min);
    b->log_max = log(cfg->mu_max);
    atomic_init(&b->log_mu_bits, d2u(clampd(log(cfg->mu0), b->log_min, b->log_max)));
    atomic_init(&b->spent_bits, d2u(0.0));
    atomic_init(&b->count, 0);
    *out = b;
    return ALLOT_OK;
}

void allot_budget_free(allot_budget *b) {
    free(b);
}

double allot_budget_mu(const allot_budget *b) {
    if (!b) return 0;
    return exp(u2d(atomic_load_explicit(&((allot_budget *)b)->log_mu_bits, memory_order_relaxed)));
}

allot_status allot_budget_observe(allot_budget *b, double cost) {
    if (!b) return ALLOT_E_ARGUMENT;
    if (!isfinite(cost) || cost < 0) return ALLOT_E_ARGUMENT;
    atomic_fetch_add_explicit(&b->count, 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&b->spent_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&b->spent_bits, &old, d2u(u2d(old) + cost),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    double step = b->gain * ((cost - b->target) / b->target);
    old = atomic_load_explicit(&b->log_mu_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&b->log_mu_bits, &old,
                                                  d2u(clampd(u2d(old) + step, b->log_min, b->log_max)),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    return ALLOT_OK;
}

allot_status allot_budget_get_state(const allot_budget *b, allot_budget_state *state) {
    if (!state) return ALLOT_E_ARGUMENT;
    allot_status st = check_version("allot_budget_get_state", "allot_budget_state", "ALLOT_BUDGET_STATE_INIT",
                                    state->version, NULL);
    if (st) return st;
    unsigned version = state->version;
    memset(state, 0, sizeof *state);
    state->version = version;
    if (!b) return ALLOT_E_ARGUMENT;
    allot_budget *m = (allot_budget *)b;
    state->target = b->target;
    state->mu = exp(u2d(atomic_load(&m->log_mu_bits)));
    state->spent = u2d(atomic_load(&m->spent_bits));
    state->count = atomic_load(&m->count);
    state->running_mean = state->count ? state->spent / (double)state->count : 0;
    state->overspend = state->spent - (double)state->count * b->target;
    return ALLOT_OK;
}

void allot_budget_reset(allot_budget *b, double mu0) {
    if (!b) return;
    double lm = (mu0 > 0 && isfinite(mu0)) ? log(mu0) : b->log_min;
    atomic_store(&b->log_mu_bits, d2u(clampd(lm, b->log_min, b->log_max)));
    atomic_store(&b->spent_bits, d2u(0.0));
    atomic_store(&b->count, 0);
}
