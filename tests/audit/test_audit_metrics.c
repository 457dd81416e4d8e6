/*
 * test_audit_metrics.c - the audit's figures on a small hand-worked case (every expected number
 * worked out by hand in the comments), and regret <= bound on thousands of random instances.
 */
#define CHECK_AREA "audit"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_metrics.h"
#include "../common/check_continue.h"
#include "oracle.h"
#include "rng.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

/* 4 queries x 3 tiers of cost 1, 2, 4 */
static const double ACC[12] = {0.2, 0.5, 0.6, 0.9, 0.9, 0.95, 0.0, 0.0, 0.1, 0.4, 0.8, 0.9};
static const double COST[12] = {1, 2, 4, 1, 2, 4, 1, 2, 4, 1, 2, 4};

static void test_hand_case(void) {
    double ta[3], tc[3];
    allot_tier_means(ACC, COST, 4, 3, ta, tc);
    CHECK(NEAR(ta[0], 0.375) && NEAR(ta[1], 0.55) && NEAR(ta[2], 0.6375));
    CHECK(NEAR(tc[0], 1) && NEAR(tc[1], 2) && NEAR(tc[2], 4));
    /* hull slopes 0.175 then 0.04375: all three tiers are vertices */
    allot_uniform_frontier u;
    allot_uniform_frontier_build(ta, tc, 3, &u);
    CHECK(u.n_pts == 3);
    int lo, hi;
    double w, uc;
    /* B = 3: half way from tier 1 to tier 2: 0.55 + 0.5 * 0.0875 */
    CHECK(NEAR(allot_uniform_at(&u, 3, &lo, &hi, &w, &uc), 0.59375));
    CHECK(lo == 1 && hi == 2 && NEAR(w, 0.5) && NEAR(uc, 3));
    /* at a vertex: one tier */
    CHECK(NEAR(allot_uniform_at(&u, 2, &lo, &hi, &w, &uc), 0.55) && lo == 1 && hi == 1 && w == 0);
    /* below the cheapest tier: the cheapest tier; above the dearest: the dearest */
    CHECK(NEAR(allot_uniform_at(&u, 0.5, &lo, &hi, &w, &uc), 0.375) && lo == 0 && NEAR(uc, 1));
    CHECK(NEAR(allot_uniform_at(&u, 9, &lo, &hi, &w, &uc), 0.6375) && lo == 2 && NEAR(uc, 4));
    /* efficiency: acc 0.6 needs 2 + (0.05 / 0.0875) * 2 = 3.142857... */
    CHECK(NEAR(allot_uniform_budget_for(&u, 0.6), 2 + 0.05 / 0.0875 * 2));
    CHECK(isinf(allot_uniform_budget_for(&u, 0.7)));
    CHECK(allot_best_single_tier(ta, tc, 3, 3) == 1);
    CHECK(allot_best_single_tier(ta, tc, 3, 0.5) == -1);

    /* a dominated tier (dearer and less accurate) is never a vertex */
    double ta2[3] = {0.5, 0.4, 0.7}, tc2[3] = {1, 2, 3};
    allot_uniform_frontier_build(ta2, tc2, 3, &u);
    CHECK(u.n_pts == 2 && u.tier[0] == 0 && u.tier[1] == 2);

    /* regret at lambda = 0.1, oracle tiers [1,0,2,1], policy [1,2,0,1]:
     * v = acc - 0.1 cost: q0 [.1 .3 .2], q1 [.8 .7 .55], q2 [-.1 -.2 -.3], q3 [.3 .6 .5]
     * Lagrangian regret = (0 + (.8-.55) + (-.3+.1) + 0)/4 = 0.0125
     * gaps: q0 .3-.1=.2, q1 .8-.55=.25, q2 -.3-(-.3)=0, q3 .6-.3=.3; max .3
     * misclassified: q1, q2 -> eps .5; data bound (.25+0)/4 = .0625; literature .5*.3 = .15
     * accuracy: regret (0 - .05 + .1 + 0)/4 = .0125; gaps .3, 0, .1, .4: data (0+.1)/4 = .025, literature .2
     */
    int o[4] = {1, 0, 2, 1}, p[4] = {1, 2, 0, 1};
    allot_regret r;
    allot_regret_compute(ACC, COST, 4, 3, 0.1, o, p, &r);
    CHECK(NEAR(r.imitation_error, 0.5));
    CHECK(NEAR(r.regret_lagrangian, 0.0125));
    CHECK(NEAR(r.max_gap_lagrangian, 0.3));
    CHECK(NEAR(r.bound_data_lagrangian, 0.0625));
    CHECK(NEAR(r.mean_gap_mis_lagrangian, 0.125));
    CHECK(NEAR(r.bound_literature_lagrangian, 0.15));
    CHECK(NEAR(r.regret_acc, 0.0125));
    CHECK(NEAR(r.max_gap_acc, 0.4));
    CHECK(NEAR(r.bound_data_acc, 0.025));
    CHECK(NEAR(r.bound_literature_acc, 0.2));
    CHECK(r.holds == 1);

    double a, c;
    allot_alloc_eval(ACC, COST, 4, 3, p, &a, &c);
    CHECK(NEAR(a, (0.5 + 0.95 + 0.0 + 0.8) / 4) && NEAR(c, (2 + 4 + 1 + 2) / 4.0));

    size_t conf[9];
    allot_confusion(o, p, 4, 3, conf);
    size_t want[9] = {0, 0, 1, 0, 2, 0, 1, 0, 0};
    CHECK(!memcmp(conf, want, sizeof want));

    /* one tier per group under a budget: group 0 = {q0, q1}, group 1 = {q2, q3}; B = 2.5.
     * Options (mean cost): (t1,t1) 2 acc .55; (t2,t1) 3 > B; (t1,t2) 3 > B; (t0,t2) 2.5 acc
     * (.2+.9+.1+.9)/4 = .525; (t2,t0) 2.5 acc (.6+.95+0+.4)/4 = .4875 -> (t1,t1) */
    int grp[4] = {0, 0, 1, 1}, gt[2];
    CHECK(allot_group_tiers(ACC, COST, 4, 3, grp, 2, 2.5, gt) == 0);
    CHECK(gt[0] == 1 && gt[1] == 1);
    /* B = 3: (t2,t1) acc (.6+.95+0+.8)/4 = .5875, (t1,t2) (.5+.9+.1+.9)/4 = .6 -> (t1,t2) */
    CHECK(allot_group_tiers(ACC, COST, 4, 3, grp, 2, 3, gt) == 0);
    CHECK(gt[0] == 1 && gt[1] == 2);

    /* thresholds: scores 1..10, mix [.5 .3 .2] over tiers of cost 1 2 4:
     * tier 0 up to the 5th score (5), tier 1 up to the 8th (8), tier 2 above */
    double sc[10], mix[3] = {0.5, 0.3, 0.2}, costs[3] = {1, 2, 4}, thr[3];
    for (int i = 0; i < 10; i++) sc[i] = 10 - i; /* any order */
    allot_score_thresholds(sc, 10, mix, costs, 3, thr);
    CHECK(thr[0] == 5 && thr[1] == 8 && isinf(thr[2]));
    CHECK(allot_score_tier(thr, costs, 3, 5) == 0 && allot_score_tier(thr, costs, 3, 6) == 1 &&
          allot_score_tier(thr, costs, 3, 9) == 2);
    /* a tier with no mass is never chosen */
    double mix0[3] = {0.5, 0, 0.5};
    allot_score_thresholds(sc, 10, mix0, costs, 3, thr);
    for (int s = 0; s <= 11; s++) CHECK(allot_score_tier(thr, costs, 3, s) != 1);

    /* quintile edges of 1..10: 2, 4, 6, 8; a score on an edge goes to the lower bin */
    double edges[4];
    allot_quantile_edges(sc, 10, 5, edges);
    CHECK(edges[0] == 2 && edges[1] == 4 && edges[2] == 6 && edges[3] == 8);
    CHECK(allot_bin_of(edges, 5, 2) == 0 && allot_bin_of(edges, 5, 3) == 1 &&
          allot_bin_of(edges, 5, 10) == 4);

    /* bootstrap: mean exact, interval around it, deterministic for a seed, degenerate for constants */
    double d[6] = {1, 0, 0, 1, 1, 0}, m, l1, h1, l2, h2;
    allot_bootstrap_mean(d, 6, 1000, 3, 0.95, &m, &l1, &h1);
    CHECK(NEAR(m, 0.5) && l1 <= m && m <= h1 && l1 >= 0 && h1 <= 1);
    allot_bootstrap_mean(d, 6, 1000, 3, 0.95, &m, &l2, &h2);
    CHECK(l1 == l2 && h1 == h2);
    double k3[3] = {0.25, 0.25, 0.25};
    allot_bootstrap_mean(k3, 3, 200, 1, 0.95, &m, &l1, &h1);
    CHECK(NEAR(l1, 0.25) && NEAR(h1, 0.25));
}

/* regret <= data bound <= literature bound for any allocations (a theorem; checked on random
 * instances with the real oracle, random policies, ties and dominated tiers) */
static void test_random_bounds(void) {
    allot_rng rng;
    allot_rng_seed(&rng, 2024);
    for (int inst = 0; inst < 3000; inst++) {
        size_t n = 1 + allot_rng_below(&rng, 40), T = 1 + allot_rng_below(&rng, 6);
        double *a = malloc(n * T * sizeof *a), *c = malloc(n * T * sizeof *c);
        int *o = malloc(n * sizeof *o), *p = malloc(n * sizeof *p);
        for (size_t i = 0; i < n * T; i++) {
            a[i] = allot_rng_below(&rng, 4) == 0 ? 0.5 : allot_rng_uniform(&rng); /* ties */
            c[i] = (double)(1 + allot_rng_below(&rng, 8));
        }
        double B = 1 + 8 * allot_rng_uniform(&rng);
        allot_oracle_result res;
        allot_error err = {0};
        CHECK(allot_oracle_solve_exact(a, c, n, T, B, o, NULL, &res, &err) == ALLOT_OK);
        double lambda = inst % 3 == 0 ? allot_rng_uniform(&rng) : res.lambda; /* any lambda works */
        for (size_t i = 0; i < n; i++) p[i] = allot_rng_below(&rng, 3) ? (int)allot_rng_below(&rng, T) : o[i];
        allot_regret r;
        allot_regret_compute(a, c, n, T, lambda, o, p, &r);
        CHECK(r.holds == 1);
        /* and independently of allot_regret_compute */
        double reg = 0, bound = 0, gmax = 0;
        size_t mis = 0;
        for (size_t i = 0; i < n; i++) {
            double vo = a[i * T + o[i]] - lambda * c[i * T + o[i]], vmin = INFINITY;
            for (size_t t = 0; t < T; t++) vmin = fmin(vmin, a[i * T + t] - lambda * c[i * T + t]);
            reg += vo - (a[i * T + p[i]] - lambda * c[i * T + p[i]]);
            gmax = fmax(gmax, vo - vmin);
            if (p[i] != o[i]) {
                bound += vo - vmin;
                mis++;
            }
        }
        reg /= (double)n;
        bound /= (double)n;
        CHECK(reg <= bound + 1e-12);
        CHECK(bound <= (double)mis / (double)n * gmax + 1e-12);
        CHECK(fabs(reg - r.regret_lagrangian) < 1e-12 && fabs(bound - r.bound_data_lagrangian) < 1e-12);
        free(a);
        free(c);
        free(o);
        free(p);
    }
}

int main(void) {
    test_hand_case();
    test_random_bounds();
    return CHECK_DONE();
}
