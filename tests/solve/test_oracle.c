/*
 * test_oracle.c - property tests of the budgeted oracle: exact vs bisect vs brute force (and GLPK's
 * simplex and branch and bound when built with it), frontier consistency, monotonicity of the
 * price choice, tie and edge cases.
 *
 * Usage: test_oracle [instances]   (default 4000 random small instances)
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "rng.h"
#include "test_util.h"
#ifdef ALLOT_TEST_WITH_GLPK
#include <glpk.h>

#include "glpk_check.h"
#endif

#define MAXN 30
#define MAXT 8

/* Brute-force integer optimum (total accuracy) over all T^N allocations; -INFINITY if infeasible. */
static double brute_force(const double *acc, const double *cost, size_t n, size_t t, double budget) {
    int idx[MAXN] = {0};
    double best = -INFINITY, cap = budget * (double)n;
    for (;;) {
        double sa = 0, sc = 0;
        for (size_t i = 0; i < n; i++) {
            sa += acc[i * t + (size_t)idx[i]];
            sc += cost[i * t + (size_t)idx[i]];
        }
        if (sc <= cap * (1 + 1e-14) && sa > best) best = sa;
        size_t i = 0;
        while (i < n && ++idx[i] == (int)t) idx[i++] = 0;
        if (i == n) break;
    }
    return best;
}

/* Number of frontier segments whose slope equals lambda (relative 1e-9): > 1 means a tie. */
static size_t slope_multiplicity(const allot_frontier_point *pts, size_t np, double lambda) {
    size_t k = 0;
    for (size_t i = 1; i < np; i++)
        if (fabs(pts[i].lambda - lambda) <= 1e-9 * fabs(lambda) + 1e-15) k++;
    return k;
}

typedef struct stats {
    long instances, ties, brute, glpk_lp, glpk_int, infeasible, unbound, breakpoints;
} stats;

static void check_instance(tcount *tc, stats *st, const double *acc, const double *cost, size_t n, size_t t,
                           double budget, int do_brute, int do_glpk, int at_breakpoint) {
    int ce[MAXN], cb[MAXN];
    size_t cnt_e[MAXT], cnt_b[MAXT];
    allot_oracle_result re, rb;
    allot_error err = {0};
    st->instances++;
    allot_status s1 = allot_oracle_solve_exact(acc, cost, n, t, budget, ce, cnt_e, &re, &err);
    CHECK(tc, s1 == ALLOT_OK, "exact: %s", err.msg);
    allot_status s2 = allot_oracle_solve_bisect(acc, cost, n, t, budget, 200, cb, cnt_b, &rb, &err);
    CHECK(tc, s2 == ALLOT_OK, "bisect: %s", err.msg);
    if (s1 != ALLOT_OK || s2 != ALLOT_OK) return;
    double inc = allot_oracle_max_increment(acc, cost, n, t) / (double)n;

    CHECK(tc, re.feasible == rb.feasible, "feasible %d vs %d", re.feasible, rb.feasible);
    /* tier counts and choices agree with each other */
    size_t sum = 0;
    for (size_t j = 0; j < t; j++) sum += cnt_e[j];
    CHECK(tc, sum == n, "tier counts sum %zu != %zu", sum, n);
    double sa = 0, sc = 0;
    for (size_t i = 0; i < n; i++) {
        sa += acc[i * t + (size_t)ce[i]];
        sc += cost[i * t + (size_t)ce[i]];
    }
    CHECK(tc, close_rel(sa / (double)n, re.mean_acc, 1e-12, 1e-15), "mean_acc mismatch");
    CHECK(tc, close_rel(sc / (double)n, re.mean_cost, 1e-12, 1e-15), "mean_cost mismatch");

    if (!re.feasible) {
        st->infeasible++;
        for (size_t i = 0; i < n; i++) CHECK(tc, ce[i] == cb[i], "infeasible: cheapest allocation differs");
        CHECK(tc, re.mean_cost > budget, "infeasible but cost %g <= %g", re.mean_cost, budget);
        return;
    }
    CHECK(tc, re.mean_cost <= budget * (1 + 1e-12) + 1e-15, "exact over budget %.17g > %.17g", re.mean_cost,
          budget);
    CHECK(tc, rb.mean_cost <= budget * (1 + 1e-12) + 1e-15, "bisect over budget %.17g > %.17g", rb.mean_cost,
          budget);
    CHECK(tc, close_rel(re.lp_value, re.dual_bound, 1e-9, 1e-12), "exact lp %.17g != dual %.17g", re.lp_value,
          re.dual_bound);
    CHECK(tc, close_rel(rb.lp_value, rb.dual_bound, 1e-9, 1e-12), "bisect lp %.17g != dual %.17g",
          rb.lp_value, rb.dual_bound);
    CHECK(tc, close_rel(re.lp_value, rb.lp_value, 1e-9, 1e-12), "lp exact %.17g != bisect %.17g", re.lp_value,
          rb.lp_value);
    CHECK(tc, close_rel(re.lambda, rb.lambda, 1e-9, 1e-12), "lambda exact %.17g != bisect %.17g", re.lambda,
          rb.lambda);
    CHECK(tc, re.lp_value >= re.mean_acc - 1e-12, "lp below integral");
    CHECK(tc, re.lp_value - re.mean_acc <= inc + 1e-12, "integral more than one increment below lp");
    if (re.frac_query >= 0) {
        CHECK(tc, re.frac_weight > 0 && re.frac_weight < 1, "frac weight %g", re.frac_weight);
        CHECK(tc, ce[re.frac_query] == re.frac_from, "frac query not at its from tier");
    }
    if (re.lambda == 0) st->unbound++;
    if (at_breakpoint) {
        CHECK(tc, re.frac_query == -1, "budget on a breakpoint but fractional query %ld weight %.17g",
              re.frac_query, re.frac_weight);
        CHECK(tc, close_rel(re.mean_acc, re.lp_value, 1e-12, 1e-15),
              "budget on a breakpoint: integral != LP");
    }

    /* frontier: the LP value is the interpolation of the frontier at the budget */
    allot_frontier_point *pts = NULL;
    size_t np = 0;
    allot_status s3 = allot_oracle_frontier(acc, cost, n, t, &pts, &np, &err);
    CHECK(tc, s3 == ALLOT_OK, "frontier: %s", err.msg);
    if (s3 == ALLOT_OK) {
        double fv = allot_oracle_frontier_value(pts, np, budget);
        CHECK(tc, close_rel(fv, re.lp_value, 1e-9, 1e-12), "frontier %.17g != lp %.17g (budget %g)", fv,
              re.lp_value, budget);
        for (size_t k = 1; k < np; k++) {
            CHECK(tc, pts[k].mean_cost > pts[k - 1].mean_cost, "frontier cost not increasing");
            CHECK(tc, pts[k].mean_acc >= pts[k - 1].mean_acc, "frontier acc decreasing");
            if (k > 1) CHECK(tc, pts[k].lambda <= pts[k - 1].lambda, "frontier slopes not non-increasing");
        }
        /* where the price is not at a tie, exact and bisect choose the same allocation */
        if (re.lambda > 0 && slope_multiplicity(pts, np, re.lambda) <= 1) {
            int same = 1;
            for (size_t i = 0; i < n; i++) same &= ce[i] == cb[i];
            CHECK(tc, same, "exact and bisect differ away from a tie (lambda %.17g)", re.lambda);
        } else if (re.lambda > 0) {
            /* at a tie both are optimal for lambda*; exact also fills the budget with tied segments */
            st->ties++;
        }
        free(pts);
    }

    if (do_brute) {
        double opt = brute_force(acc, cost, n, t, budget) / (double)n;
        st->brute++;
        CHECK(tc, re.mean_acc <= opt + 1e-12, "exact integral %.17g above the optimum %.17g", re.mean_acc,
              opt);
        CHECK(tc, opt - re.mean_acc <= inc + 1e-12, "exact integral %.17g more than %.3g below optimum %.17g",
              re.mean_acc, inc, opt);
        CHECK(tc, opt <= re.lp_value + 1e-12, "optimum %.17g above the LP %.17g", opt, re.lp_value);
    }
#ifdef ALLOT_TEST_WITH_GLPK
    if (do_glpk) {
        allot_glpk_report rep;
        allot_status s4 =
            allot_glpk_check(acc, cost, n, t, budget, &re, ALLOT_GLPK_INTOPT_MAX_VARS, 0, &rep, &err);
        CHECK(tc, s4 == ALLOT_OK, "glpk check: %s", err.msg);
        st->glpk_lp++;
        if (rep.int_solved) st->glpk_int++;
        if (do_brute && rep.int_solved) {
            double opt = brute_force(acc, cost, n, t, budget) / (double)n;
            CHECK(tc, close_rel(opt, rep.int_value, 1e-9, 1e-12), "glpk intopt %.17g != brute %.17g",
                  rep.int_value, opt);
        }
    }
#else
    (void)do_glpk;
#endif
}

/* Budgets that matter: extremes, breakpoints of the frontier, and random in between. */
static double pick_budget(allot_rng *r, const double *acc, const double *cost, size_t n, size_t t, int mode,
                          stats *st) {
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        double mn = INFINITY, mx = 0;
        for (size_t j = 0; j < t; j++) {
            mn = fmin(mn, cost[i * t + j]);
            mx = fmax(mx, cost[i * t + j]);
        }
        lo += mn;
        hi += mx;
    }
    lo /= (double)n;
    hi /= (double)n;
    switch (mode) {
    case 0: return lo > 0 ? lo * 0.5 : 0; /* below the cheapest (or zero) */
    case 1: return lo;                    /* exactly the cheapest */
    case 2: return hi * 1.5 + 1;          /* above everything */
    case 3: {                             /* exactly at a frontier breakpoint */
        allot_frontier_point *pts = NULL;
        size_t np = 0;
        if (allot_oracle_frontier(acc, cost, n, t, &pts, &np, NULL) != ALLOT_OK || np == 0) return lo;
        double b = pts[allot_rng_below(r, np)].mean_cost;
        free(pts);
        st->breakpoints++;
        return b;
    }
    default: return lo + (hi - lo) * allot_rng_uniform(r);
    }
}

static void test_random(tcount *tc, stats *st, long count) {
    allot_rng r;
    allot_rng_seed(&r, 20261122);
    double acc[MAXN * MAXT], cost[MAXN * MAXT];
    for (long it = 0; it < count; it++) {
        size_t n = 1 + (size_t)allot_rng_below(&r, MAXN), t = 1 + (size_t)allot_rng_below(&r, MAXT);
        int kind = (int)allot_rng_below(&r, 4);
        random_instance(&r, kind, n, t, acc, cost);
        int mode = (int)allot_rng_below(&r, 8);
        double budget = pick_budget(&r, acc, cost, n, t, mode, st);
        /* brute force while T^N stays small */
        double combos = pow((double)t, (double)n);
        check_instance(tc, st, acc, cost, n, t, budget, combos <= 20000, 1, mode == 3);
    }
}

/* Mean cost is non-increasing in lambda, accuracy too. */
static void test_monotone(tcount *tc) {
    allot_rng r;
    allot_rng_seed(&r, 7);
    double acc[MAXN * MAXT], cost[MAXN * MAXT];
    for (int it = 0; it < 300; it++) {
        size_t n = 1 + (size_t)allot_rng_below(&r, MAXN), t = 1 + (size_t)allot_rng_below(&r, MAXT);
        random_instance(&r, (int)allot_rng_below(&r, 4), n, t, acc, cost);
        double prev_c = INFINITY, prev_a = INFINITY;
        for (int k = 0; k <= 200; k++) {
            double lambda = k == 0 ? 0 : pow(10, -4 + 6 * k / 200.0);
            double ma, mc = allot_oracle_choose(acc, cost, n, t, lambda, NULL, &ma);
            CHECK(tc, mc <= prev_c + 1e-12, "cost rose with lambda %g: %g > %g", lambda, mc, prev_c);
            CHECK(tc, ma <= prev_a + 1e-12, "acc rose with lambda %g", lambda);
            prev_c = mc;
            prev_a = ma;
        }
    }
}

static void test_edges(tcount *tc) {
    allot_error err = {0};
    allot_oracle_result res;
    int ch[4];
    size_t cnt[4];
    /* n = 0 */
    CHECK(tc, allot_oracle_solve_exact(NULL, NULL, 0, 3, 1.0, NULL, NULL, &res, &err) == ALLOT_OK, "n=0");
    CHECK(tc, res.feasible && res.frac_query == -1 && res.mean_acc == 0, "n=0 result");
    /* invalid inputs */
    double a1[2] = {0.5, NAN}, c1[2] = {1, 2};
    CHECK(tc, allot_oracle_solve_exact(a1, c1, 1, 2, 1.0, NULL, NULL, &res, &err) == ALLOT_E_INVALID,
          "NaN acc");
    CHECK(tc, strstr(err.msg, "query 0 tier 1") != NULL, "message names query and tier: %s", err.msg);
    double a2[2] = {0.5, 0.6}, c2[2] = {1, -2};
    CHECK(tc, allot_oracle_solve_bisect(a2, c2, 1, 2, 1.0, 64, NULL, NULL, &res, &err) == ALLOT_E_INVALID,
          "negative cost");
    CHECK(tc, allot_oracle_solve_exact(a2, c1, 1, 2, -1.0, NULL, NULL, &res, &err) == ALLOT_E_ARGUMENT,
          "negative budget");
    CHECK(tc, allot_oracle_solve_exact(a2, c1, 1, 2, NAN, NULL, NULL, &res, &err) == ALLOT_E_ARGUMENT,
          "NaN budget");
    CHECK(tc, allot_oracle_solve_exact(a2, c1, 1, 0, 1.0, NULL, NULL, &res, &err) == ALLOT_E_ARGUMENT,
          "t = 0");

    /* duplicates and zero costs: tiers (0.5,0) (0.5,0) (0.9,2) (0.9,2) (0.7,0) -> hull (0.7,0),(0.9,2) */
    double a3[5] = {0.5, 0.5, 0.9, 0.9, 0.7}, c3[5] = {0, 0, 2, 2, 0};
    CHECK(tc, allot_oracle_solve_exact(a3, c3, 1, 5, 0.0, ch, NULL, &res, &err) == ALLOT_OK, "zero cost");
    CHECK(tc, ch[0] == 4 && res.feasible, "zero budget picks the free most accurate tier (got %d)", ch[0]);
    CHECK(tc, allot_oracle_solve_exact(a3, c3, 1, 5, 5.0, ch, NULL, &res, &err) == ALLOT_OK, "big budget");
    CHECK(tc, ch[0] == 2 && res.lambda == 0, "max accuracy, lowest index among duplicates (got %d)", ch[0]);
    CHECK(tc, allot_oracle_solve_bisect(a3, c3, 1, 5, 5.0, 200, ch, NULL, &res, &err) == ALLOT_OK,
          "bisect big");
    CHECK(tc, ch[0] == 2, "bisect: lowest index among duplicates (got %d)", ch[0]);
    CHECK(tc, allot_oracle_solve_exact(a3, c3, 1, 5, 1.0, ch, NULL, &res, &err) == ALLOT_OK, "half");
    CHECK(tc,
          ch[0] == 4 && res.frac_query == 0 && res.frac_from == 4 && res.frac_to == 2 &&
              fabs(res.frac_weight - 0.5) < 1e-15 && fabs(res.lp_value - 0.8) < 1e-15 &&
              fabs(res.lambda - 0.1) < 1e-15,
          "fractional half step: ch %d w %g lp %g lambda %g", ch[0], res.frac_weight, res.lp_value,
          res.lambda);

    /* infeasible: cheapest allocation */
    double a4[4] = {0.2, 0.8, 0.3, 0.9}, c4[4] = {2, 4, 2, 4};
    CHECK(tc, allot_oracle_solve_exact(a4, c4, 2, 2, 1.0, ch, cnt, &res, &err) == ALLOT_OK, "infeasible");
    CHECK(tc, !res.feasible && ch[0] == 0 && ch[1] == 0 && cnt[0] == 2 && res.frac_query == -1,
          "infeasible gives cheapest");
    CHECK(tc, fabs(res.lambda - 0.3) < 1e-15, "infeasible lambda = largest slope (%g)", res.lambda);

    /* a tie: three identical queries, budget for one and a half upgrades. Exact upgrades query 0
       (lower index first) and leaves query 1 fractional; bisect, the price allocation, upgrades
       none (its LP moves query 0 wholly and query 1 by half); same LP value. */
    double a5[6] = {0.2, 0.6, 0.2, 0.6, 0.2, 0.6}, c5[6] = {1, 3, 1, 3, 1, 3};
    allot_oracle_result rb;
    int cb[3];
    CHECK(tc, allot_oracle_solve_exact(a5, c5, 3, 2, 2.0, ch, NULL, &res, &err) == ALLOT_OK, "tie exact");
    CHECK(tc, allot_oracle_solve_bisect(a5, c5, 3, 2, 2.0, 200, cb, NULL, &rb, &err) == ALLOT_OK,
          "tie bisect");
    CHECK(tc,
          ch[0] == 1 && ch[1] == 0 && ch[2] == 0 && res.frac_query == 1 &&
              fabs(res.frac_weight - 0.5) < 1e-15,
          "tie: exact upgrades query 0 only, query 1 fractional");
    CHECK(tc,
          cb[0] == 0 && cb[1] == 0 && cb[2] == 0 && rb.frac_query == 1 && fabs(rb.frac_weight - 0.5) < 1e-15,
          "tie: bisect upgrades none, LP fraction on query 1");
    CHECK(tc, fabs(res.lp_value - 0.4) < 1e-15 && fabs(rb.lp_value - 0.4) < 1e-15,
          "tie: LP values 0.4 (%g %g)", res.lp_value, rb.lp_value);
    CHECK(tc, fabs(res.lambda - 0.2) < 1e-15 && fabs(rb.lambda - 0.2) < 1e-15, "tie: lambda 0.2");
}

/* Large instances exercise the sampled bracket (more than 16384 segments) against bisect and the
   full-sort frontier. */
static void test_large(tcount *tc, long n) {
    const size_t t = 8;
    double *acc = malloc((size_t)n * t * sizeof *acc), *cost = malloc((size_t)n * t * sizeof *cost);
    int *ce = malloc((size_t)n * sizeof *ce), *cb = malloc((size_t)n * sizeof *cb);
    allot_rng r;
    allot_rng_seed(&r, 99);
    for (int kind = 0; kind < 4; kind++) {
        random_instance(&r, kind < 3 ? kind : 2, (size_t)n, t, acc, cost);
        if (kind == 3) /* heavy-tailed per-query cost scales: the sampled cost estimate is noisy */
            for (long i = 0; i < n; i++) {
                double f = exp(4 * allot_rng_normal(&r));
                for (size_t j = 0; j < t; j++) cost[(size_t)i * t + j] *= f;
            }
        allot_frontier_point *pts = NULL;
        size_t np = 0;
        allot_error err = {0};
        CHECK(tc, allot_oracle_frontier(acc, cost, (size_t)n, t, &pts, &np, &err) == ALLOT_OK, "frontier");
        const double fr[] = {0.0, 0.001, 0.02, 0.3, 0.5, 0.77, 0.98, 0.999, 1.0};
        for (size_t b = 0; b < sizeof fr / sizeof fr[0]; b++) {
            double lo = pts[0].mean_cost, hi = pts[np - 1].mean_cost, budget = lo + fr[b] * (hi - lo);
            allot_oracle_result re, rb;
            CHECK(tc,
                  allot_oracle_solve_exact(acc, cost, (size_t)n, t, budget, ce, NULL, &re, &err) == ALLOT_OK,
                  "large exact");
            CHECK(tc,
                  allot_oracle_solve_bisect(acc, cost, (size_t)n, t, budget, 200, cb, NULL, &rb, &err) ==
                      ALLOT_OK,
                  "large bisect");
            double fv = allot_oracle_frontier_value(pts, np, budget);
            /* Conditioning: the LP moves by lambda per unit of mean budget, and one rounding of the
               budget (B = total / N, N*B) is ~1e-16*B; L(lambda) subtracts lambda*cost from acc and
               loses ~eps*lambda*B. Only kind 3 (cost scales e^(4 x normal)) makes lambda*B large. */
            double cond = 1e-14 * re.lambda * budget;
            CHECK(tc, close_rel(re.lp_value, fv, 1e-9, 1e-12 + cond),
                  "large kind %d: lp %.17g frontier %.17g", kind, re.lp_value, fv);
            CHECK(tc, close_rel(re.lp_value, rb.lp_value, 1e-9, 1e-12 + cond),
                  "large kind %d: exact %.17g bisect %.17g", kind, re.lp_value, rb.lp_value);
            CHECK(tc, close_rel(re.lp_value, re.dual_bound, 1e-9, 1e-12 + cond),
                  "large kind %d: lp %.17g != dual %.17g (lambda*B %g)", kind, re.lp_value, re.dual_bound,
                  re.lambda * budget);
            CHECK(tc, re.mean_cost <= budget * (1 + 1e-12), "large: over budget");
            if (kind == 0 && re.lambda > 0 && slope_multiplicity(pts, np, re.lambda) <= 1) {
                long diff = 0;
                for (long i = 0; i < n; i++) diff += ce[i] != cb[i];
                CHECK(tc, diff == 0, "large: %ld choices differ away from a tie", diff);
            }
        }
        free(pts);
    }
    free(acc);
    free(cost);
    free(ce);
    free(cb);
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 4000;
    tcount tc = {0, 0};
    stats st;
    memset(&st, 0, sizeof st);
    test_edges(&tc);
    test_monotone(&tc);
    test_random(&tc, &st, count);
    test_large(&tc, 3000); /* just above the sampling threshold (16384 segments) */
    test_large(&tc, 100000);
    fprintf(stderr,
            "instances %ld (brute force %ld, GLPK LP %ld, GLPK intopt %ld, ties %ld, infeasible %ld, "
            "lambda=0 %ld, "
            "budget at a breakpoint %ld)\n",
            st.instances, st.brute, st.glpk_lp, st.glpk_int, st.ties, st.infeasible, st.unbound,
            st.breakpoints);
#ifdef ALLOT_TEST_WITH_GLPK
    glp_free_env(); /* GLPK keeps an environment per thread until told to free it */
#endif
    printf("solve: %ld passed, %ld failed\n", tc.pass, tc.fail);
    return tc.fail ? 1 : 0;
}
