/* test_budget.c - the online budget controller: convergence on simulated streams, the exact
 * overspend identity, clamps, configuration errors, concurrent observations. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "allot/allot.h"
#include "policy_test_util.h"

static pt_counts C;

/* A simulated gateway: per query, class probabilities over 4 tiers (costs 1, 2, 4, 8) drawn at
 * random, the calibrated rule at the controller's price, the spent cost = tier cost x noise. */
static double simulate(double target, size_t n, uint64_t seed, double mu0, allot_budget_state *st,
                       double *max_ident_err) {
    allot_budget_config cfg = ALLOT_BUDGET_CONFIG_INIT;
    allot_budget_config_default(&cfg, target, mu0);
    allot_budget *b;
    allot_error e;
    if (allot_budget_create(&cfg, &b, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(2);
    }
    const double costs[4] = {1, 2, 4, 8};
    pt_rng r = {seed};
    double worst = 0;
    int clamped = 0; /* the identity holds until the first clamp */
    for (size_t i = 0; i < n; i++) {
        double p[4], s = 0;
        /* harder queries put more mass on expensive tiers */
        double hard = pt_uniform(&r);
        for (int k = 0; k < 4; k++) {
            p[k] = pt_uniform(&r) + 2.0 * hard * k / 3.0 + 0.05;
            s += p[k];
        }
        for (int k = 0; k < 4; k++) p[k] /= s;
        double mu = allot_budget_mu(b);
        size_t c = allot_rule_apply(ALLOT_RULE_CALIBRATED, mu, p, costs, 4);
        double spent = costs[c] * (0.7 + 0.6 * pt_uniform(&r));
        allot_budget_observe(b, spent);
        allot_budget_state s2 = ALLOT_BUDGET_STATE_INIT;
        allot_budget_get_state(b, &s2);
        if (s2.mu <= cfg.mu_min * (1 + 1e-9) || s2.mu >= cfg.mu_max * (1 - 1e-9)) clamped = 1;
        if (!clamped) {
            double ident = (target / cfg.gain) * log(s2.mu / cfg.mu0);
            double err = fabs(ident - s2.overspend) / (1 + fabs(s2.overspend));
            if (err > worst) worst = err;
        }
    }
    allot_budget_get_state(b, st);
    allot_budget_free(b);
    if (max_ident_err) *max_ident_err = worst;
    return st->running_mean;
}

typedef struct {
    allot_budget *b;
    double cost;
    int n;
} obs_arg;

/* Alternates cost and 0: with target cost / 2 the log-price steps cancel. */
static void *observer(void *a) {
    obs_arg *o = a;
    for (int i = 0; i < o->n; i++) allot_budget_observe(o->b, i % 2 ? 0.0 : o->cost);
    return NULL;
}

int main(void) {
    /* convergence at several targets */
    double targets[3] = {1.8, 3.0, 5.0};
    for (int t = 0; t < 3; t++) {
        allot_budget_state st = ALLOT_BUDGET_STATE_INIT;
        double ident;
        double mean = simulate(targets[t], 20000, 7 + (uint64_t)t, 0.0, &st, &ident);
        double rel = fabs(mean - targets[t]) / targets[t];
        printf("target %.2f: running mean %.4f after %llu queries (rel. error %.2e), mu %.4f\n", targets[t],
               mean, (unsigned long long)st.count, rel, st.mu);
        pt_check(&C, rel < 0.01, "target %.1f: running mean %.4f within 1%% after 20000 queries", targets[t],
                 mean);
        pt_check(&C, ident < 1e-6, "target %.1f: overspend = (B / gain) log(mu / mu0) holds (err %.2e)",
                 targets[t], ident);
        pt_check(&C, st.count == 20000 && st.mu > 0, "target %.1f: count and a positive price", targets[t]);
    }
    /* the same from a bad initial price converges too */
    allot_budget_state st = ALLOT_BUDGET_STATE_INIT;
    double mean = simulate(3.0, 20000, 99, 2.0, &st, NULL);
    pt_check(&C, fabs(mean - 3.0) / 3.0 < 0.01, "from mu0 = 2 (too stingy): mean %.4f within 1%%", mean);
    mean = simulate(3.0, 20000, 98, 1e-5, &st, NULL);
    pt_check(&C, fabs(mean - 3.0) / 3.0 < 0.01, "from mu0 = 1e-5 (too generous): mean %.4f within 1%%", mean);
    /* generous target: mu rests at mu_min, mean below target */
    mean = simulate(100.0, 5000, 5, 0.0, &st, NULL);
    pt_check(&C, st.mu < 1.0001e-8 && mean < 100.0,
             "unreachable-from-above target: mu at mu_min (%g), mean %.2f < 100", st.mu, mean);
    /* impossible target: mu climbs to the clamp, spends the cheapest tier */
    mean = simulate(0.5, 5000, 5, 0.0, &st, NULL);
    pt_check(&C, st.mu > 1.0 && mean < 1.31,
             "target below the cheapest tier: mu %.1f grows, mean %.3f ~ cheapest", st.mu, mean);

    /* one update by hand: log mu1 = log mu0 + gain * (c - B) / B */
    allot_budget_config cfg = ALLOT_BUDGET_CONFIG_INIT;
    allot_budget_config_default(&cfg, 4.0, 0.25);
    pt_check(&C, cfg.gain == 0.05 && cfg.mu_min == 1e-6 / 4.0 && cfg.mu_max == 1e3 / 4.0 && cfg.mu0 == 0.25,
             "defaults");
    allot_budget *b;
    allot_budget_create(&cfg, &b, NULL);
    allot_budget_observe(b, 6.0);
    double want = 0.25 * exp(0.05 * (6.0 - 4.0) / 4.0);
    pt_check(&C, fabs(allot_budget_mu(b) - want) < 1e-15, "one update by hand (%.17g vs %.17g)",
             allot_budget_mu(b), want);
    allot_budget_observe(b, 0.0);
    allot_budget_get_state(b, &st);
    pt_check(&C, st.count == 2 && st.spent == 6.0 && st.running_mean == 3.0 && st.overspend == -2.0,
             "state fields");
    pt_check(&C,
             allot_budget_observe(b, -1) == ALLOT_E_ARGUMENT &&
                 allot_budget_observe(b, NAN) == ALLOT_E_ARGUMENT,
             "negative / NaN costs refused");
    allot_budget_reset(b, 0.1);
    allot_budget_get_state(b, &st);
    pt_check(&C, st.count == 0 && st.spent == 0 && fabs(st.mu - 0.1) < 1e-15 && st.running_mean == 0,
             "reset");
    allot_budget_config c0 = ALLOT_BUDGET_CONFIG_INIT;
    allot_budget_config_default(&c0, 4.0, 0.0);
    pt_check(&C, c0.mu0 == 0.025, "an argmax bundle's mu 0 starts at 0.1 / B");
    allot_budget_free(b);

    /* concurrent observations: every one applied exactly once */
    allot_budget_config_default(&cfg, 1.0, 1.0);
    allot_budget_create(&cfg, &b, NULL);
    pthread_t th[8];
    obs_arg a = {b, 2.0, 10000};
    for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, observer, &a);
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    allot_budget_get_state(b, &st);
    pt_check(&C, st.count == 80000 && st.spent == 80000.0,
             "8 threads x 10000 observations: count and spent exact");
    pt_check(&C, fabs(log(st.mu)) < 1e-9, "8 threads: 40000 up and 40000 down steps cancel (mu %.12f)",
             st.mu);
    allot_budget_free(b);

    /* configuration errors */
    allot_error e;
    allot_budget_config bad = ALLOT_BUDGET_CONFIG_INIT;
    allot_budget_config_default(&bad, 0, 0);
    pt_check(&C, allot_budget_create(&bad, &b, &e) == ALLOT_E_ARGUMENT, "target 0 refused: %s", e.msg);
    allot_budget_config_default(&bad, 1, 1);
    bad.mu0 = -1;
    pt_check(&C, allot_budget_create(&bad, &b, &e) == ALLOT_E_ARGUMENT, "mu0 < 0 refused");
    allot_budget_config_default(&bad, 1, 1);
    bad.mu_min = 0;
    pt_check(&C, allot_budget_create(&bad, &b, &e) == ALLOT_E_ARGUMENT, "mu_min 0 refused");
    allot_budget_config_default(&bad, 1, 0);
    bad.gain = 0;
    pt_check(&C, allot_budget_create(&bad, &b, &e) == ALLOT_E_ARGUMENT, "gain 0 refused");
    allot_budget_config_default(&bad, 1, 5);
    bad.mu_max = 1;
    pt_check(&C, allot_budget_create(&bad, &b, &e) == ALLOT_E_ARGUMENT, "mu0 above mu_max refused");
    pt_check(&C, allot_budget_create(NULL, &b, &e) == ALLOT_E_ARGUMENT, "NULL config refused");
    return pt_finish(&C);
}
