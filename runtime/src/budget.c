/* budget.c - the online budget controller (include/allot/allot_budget.h). */
#include "allot/allot_budget.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct allot_budget {
    double target, gain, mu_max;
    _Atomic uint64_t mu_bits;    /* double bits of mu */
    _Atomic uint64_t spent_bits; /* double bits of the sum of costs */
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

void allot_budget_config_default(allot_budget_config *cfg, double target, double mu0) {
    if (!cfg) return;
    cfg->target = target;
    cfg->mu0 = mu0;
    cfg->gain = 0.05;
    cfg->mu_max = target > 0 ? 1000.0 / target : 1000.0;
}

allot_status allot_budget_create(const allot_budget_config *cfg, allot_budget **out, allot_error *err) {
    if (out) *out = NULL;
    if (!cfg || !out) return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_budget_create: NULL argument");
    if (!isfinite(cfg->target) || !(cfg->target > 0))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "budget: target must be finite and > 0");
    if (!isfinite(cfg->gain) || !(cfg->gain > 0))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "budget: gain must be finite and > 0");
    if (!isfinite(cfg->mu0) || cfg->mu0 < 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "budget: mu0 must be finite and >= 0");
    if (!isfinite(cfg->mu_max) || !(cfg->mu_max > cfg->mu0))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "budget: mu_max must be finite and > mu0");
    allot_budget *b = malloc(sizeof *b);
    if (!b) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    b->target = cfg->target;
    b->gain = cfg->gain;
    b->mu_max = cfg->mu_max;
    atomic_init(&b->mu_bits, d2u(cfg->mu0));
    atomic_init(&b->spent_bits, d2u(0.0));
    atomic_init(&b->count, 0);
    *out = b;
    return ALLOT_OK;
}

void allot_budget_free(allot_budget *b) { free(b); }

double allot_budget_mu(const allot_budget *b) {
    if (!b) return 0;
    return u2d(atomic_load_explicit(&((allot_budget *)b)->mu_bits, memory_order_relaxed));
}

allot_status allot_budget_observe(allot_budget *b, double cost) {
    if (!b) return ALLOT_E_ARGUMENT;
    if (!isfinite(cost) || cost < 0) return ALLOT_E_ARGUMENT;
    atomic_fetch_add_explicit(&b->count, 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&b->spent_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&b->spent_bits, &old, d2u(u2d(old) + cost), memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
    double step = (b->gain / b->target) * ((cost - b->target) / b->target);
    old = atomic_load_explicit(&b->mu_bits, memory_order_relaxed);
    for (;;) {
        double mu = u2d(old) + step;
        if (mu < 0) mu = 0;
        if (mu > b->mu_max) mu = b->mu_max;
        if (atomic_compare_exchange_weak_explicit(&b->mu_bits, &old, d2u(mu), memory_order_relaxed,
                                                  memory_order_relaxed))
            break;
    }
    return ALLOT_OK;
}

void allot_budget_get_state(const allot_budget *b, allot_budget_state *state) {
    if (!state) return;
    memset(state, 0, sizeof *state);
    if (!b) return;
    allot_budget *m = (allot_budget *)b;
    state->target = b->target;
    state->mu = u2d(atomic_load(&m->mu_bits));
    state->spent = u2d(atomic_load(&m->spent_bits));
    state->count = atomic_load(&m->count);
    state->running_mean = state->count ? state->spent / (double)state->count : 0;
    state->overspend = state->spent - (double)state->count * b->target;
}

void allot_budget_reset(allot_budget *b, double mu0) {
    if (!b) return;
    if (!isfinite(mu0) || mu0 < 0) mu0 = 0;
    if (mu0 > b->mu_max) mu0 = b->mu_max;
    atomic_store(&b->mu_bits, d2u(mu0));
    atomic_store(&b->spent_bits, d2u(0.0));
    atomic_store(&b->count, 0);
}
