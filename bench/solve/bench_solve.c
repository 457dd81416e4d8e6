/*
 * bench_solve - the budgeted oracle (exact and bisect) against GLPK's primal simplex on the same LP
 * at N = 10^3 and 10^4 queries x 8 tiers, then the oracle alone at 10^3 ... 10^7.
 *
 * Usage: bench_solve [--quick] [--max-n N] [--seed S]
 *   --quick    skip GLPK at 10^4 (about half a minute) and the 10^7 oracle run
 *   --max-n N  largest oracle-only size (default 10000000)
 * Curves are random and concave-ish (majority-vote-like: acc_k = 1 - (1 - p)^k plus noise, cost =
 * k x a per-query cost factor), fixed seed. The budget is the mean cost of the 4th tier.
 * Times are wall-clock on one core; ratios are measured in the same run. No time is asserted; the
 * objectives are compared (relative 1e-9) and a disagreement makes the exit status 1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glpk.h>

#include "glpk_check.h"
#include "oracle.h"
#include "progress.h"
#include "rng.h"

#define TIERS 8

typedef struct instance {
    size_t n;
    double *acc, *cost, budget;
} instance;

static int make_instance(instance *x, size_t n, uint64_t seed) {
    x->n = n;
    x->acc = malloc(n * TIERS * sizeof *x->acc);
    x->cost = malloc(n * TIERS * sizeof *x->cost);
    if (!x->acc || !x->cost) return -1;
    allot_rng r;
    allot_rng_seed(&r, seed);
    double bsum = 0;
    for (size_t i = 0; i < n; i++) {
        double p = allot_rng_uniform(&r), cf = 0.5 + allot_rng_uniform(&r);
        p = p * p; /* many hard queries */
        for (size_t j = 0; j < TIERS; j++) {
            double k = (double)(1u << j) * 0.5 + 0.5; /* 1, 1.5, 2.5, 4.5, ... */
            double a = 1 - pow(1 - p, k) + 0.03 * (allot_rng_uniform(&r) - 0.5);
            x->acc[i * TIERS + j] = a < 0 ? 0 : a > 1 ? 1 : a;
            x->cost[i * TIERS + j] = k * cf;
        }
        bsum += x->cost[i * TIERS + 3];
    }
    x->budget = bsum / (double)n;
    return 0;
}

static void free_instance(instance *x) {
    free(x->acc);
    free(x->cost);
}

typedef struct timing {
    double exact, bisect;
    allot_oracle_result re, rb;
} timing;

/* Best of `reps` runs for each oracle method. */
static int time_oracle(const instance *x, int reps, int *choice, timing *tm) {
    allot_error err = {0};
    tm->exact = tm->bisect = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = allot_now_seconds();
        if (allot_oracle_solve_exact(x->acc, x->cost, x->n, TIERS, x->budget, choice, NULL, &tm->re, &err)) {
            fprintf(stderr, "bench_solve: exact: %s\n", err.msg);
            return -1;
        }
        double t1 = allot_now_seconds();
        if (t1 - t0 < tm->exact) tm->exact = t1 - t0;
    }
    for (int r = 0; r < (reps > 2 ? (reps > 3 ? 5 : 2) : 1); r++) {
        double t0 = allot_now_seconds();
        if (allot_oracle_solve_bisect(x->acc, x->cost, x->n, TIERS, x->budget, 200, choice, NULL, &tm->rb,
                                      &err)) {
            fprintf(stderr, "bench_solve: bisect: %s\n", err.msg);
            return -1;
        }
        double t1 = allot_now_seconds();
        if (t1 - t0 < tm->bisect) tm->bisect = t1 - t0;
    }
    return 0;
}

static int agree(double a, double b) {
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)) + 1e-12;
}

int main(int argc, char **argv) {
    int quick = 0;
    size_t max_n = 10000000;
    uint64_t seed = 12345;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--max-n") && i + 1 < argc) {
            max_n = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_solve [--quick] [--max-n N] [--seed S]\n");
            return 2;
        }
    }
    if (quick && max_n > 1000000) max_n = 1000000;
    int bad = 0;
    printf("bench_solve: %d tiers, budget = mean cost of tier 4, seed %llu%s\n\n", TIERS,
           (unsigned long long)seed, quick ? " (--quick: no GLPK at 10^4, no 10^7)" : "");
    printf("oracle vs GLPK primal simplex (presolve on) on the same LP\n");
    printf("%9s  %11s  %11s  %11s  %12s  %12s  %10s  %s\n", "N", "exact s", "bisect s", "GLPK s",
           "GLPK/exact", "GLPK/bisect", "LP rel diff", "objective");
    size_t glpk_sizes[2] = {1000, 10000};
    for (int s = 0; s < 2; s++) {
        size_t n = glpk_sizes[s];
        if (quick && n > 1000) break;
        instance x;
        int *choice = malloc(n * sizeof *choice);
        if (make_instance(&x, n, seed) || !choice) {
            fprintf(stderr, "bench_solve: out of memory\n");
            return 1;
        }
        timing tm;
        if (time_oracle(&x, 50, choice, &tm)) return 1;
        double glpk_value = NAN, glpk_s = 0;
        int feasible = 0;
        allot_error err = {0};
        if (allot_glpk_solve_lp(x.acc, x.cost, n, TIERS, x.budget, 600, &glpk_value, &feasible, &glpk_s,
                                &err)) {
            fprintf(stderr, "bench_solve: GLPK: %s\n", err.msg);
            return 1;
        }
        int ok = feasible && agree(tm.re.lp_value, glpk_value) && agree(tm.rb.lp_value, glpk_value);
        bad |= !ok;
        printf("%9zu  %11.6f  %11.6f  %11.3f  %12.0f  %12.0f  %10.2e  %.10f %s\n", n, tm.exact, tm.bisect,
               glpk_s, glpk_s / tm.exact, glpk_s / tm.bisect,
               fabs(tm.re.lp_value - glpk_value) / fabs(glpk_value), tm.re.lp_value,
               ok ? "agree" : "DISAGREE");
        free(choice);
        free_instance(&x);
    }
    glp_free_env();

    printf("\noracle alone (best of 3 exact runs and 2 bisect runs (50 and 5 up to 10^4); 'ns/qt' = "
           "nanoseconds per "
           "query x tier)\n");
    printf("%9s  %11s  %8s  %11s  %8s  %12s  %s\n", "N", "exact s", "ns/qt", "bisect s", "ns/qt",
           "bisect/exact", "LP value (exact = bisect)");
    for (size_t n = 1000; n <= max_n; n *= 10) {
        instance x;
        int *choice = malloc(n * sizeof *choice);
        if (make_instance(&x, n, seed) || !choice) {
            fprintf(stderr, "bench_solve: out of memory at N = %zu\n", n);
            return 1;
        }
        timing tm;
        int reps = n <= 10000 ? 50 : 3;
        if (time_oracle(&x, reps, choice, &tm)) return 1;
        int ok = agree(tm.re.lp_value, tm.rb.lp_value);
        bad |= !ok;
        double qt = (double)n * TIERS;
        printf("%9zu  %11.4f  %8.1f  %11.4f  %8.1f  %12.1f  %.10f %s\n", n, tm.exact, 1e9 * tm.exact / qt,
               tm.bisect, 1e9 * tm.bisect / qt, tm.bisect / tm.exact, tm.re.lp_value,
               ok ? "agree" : "DISAGREE");
        free(choice);
        free_instance(&x);
    }
    return bad;
}
