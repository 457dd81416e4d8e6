/*
 * test_util.h - the tiny assert macro and random instances shared by the solve tests.
 */
#ifndef ALLOT_TEST_SOLVE_UTIL_H
#define ALLOT_TEST_SOLVE_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "rng.h"

/* Counters live in a caller-owned struct (no global state). */
typedef struct tcount {
    long pass, fail;
} tcount;

#define CHECK(tc, cond, ...)                                                                                 \
    do {                                                                                                     \
        if (cond) {                                                                                          \
            (tc)->pass++;                                                                                    \
        } else {                                                                                             \
            (tc)->fail++;                                                                                    \
            if ((tc)->fail <= 30) {                                                                          \
                fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                     \
                fprintf(stderr, __VA_ARGS__);                                                                \
                fputc('\n', stderr);                                                                         \
            }                                                                                                \
        }                                                                                                    \
    } while (0)

static inline int close_rel(double a, double b, double rel, double abs_tol) {
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + abs_tol;
}

/*
 * A random small instance designed to hit ties: kind selects the value grids.
 *  kind 0: continuous acc in [0,1], continuous costs
 *  kind 1: acc on a grid of eighths, integer costs 0..6 (ties, duplicates, zero costs, dominance)
 *  kind 2: concave-ish curves (pass@k style) with cost = k, some queries identical
 *  kind 3: kind 1 with duplicated tiers copied across columns and identical queries
 */
static inline void random_instance(allot_rng *r, int kind, size_t n, size_t t, double *acc, double *cost) {
    for (size_t i = 0; i < n; i++) {
        double p = allot_rng_uniform(r);
        for (size_t j = 0; j < t; j++) {
            double *a = &acc[i * t + j], *c = &cost[i * t + j];
            switch (kind) {
            case 0:
                *a = allot_rng_uniform(r);
                *c = 5 * allot_rng_uniform(r);
                break;
            case 2: {
                double k = (double)(j + 1);
                *a = 1 - pow(1 - p, k);
                *c = k;
                break;
            }
            default:
                *a = (double)allot_rng_below(r, 9) / 8.0;
                *c = (double)allot_rng_below(r, 7);
                break;
            }
        }
        if (kind == 3 && t > 1) {
            /* duplicate a tier and sometimes copy the previous query */
            size_t src = (size_t)allot_rng_below(r, t), dst = (size_t)allot_rng_below(r, t);
            acc[i * t + dst] = acc[i * t + src];
            cost[i * t + dst] = cost[i * t + src];
            if (i > 0 && allot_rng_below(r, 2) == 0)
                for (size_t j = 0; j < t; j++) {
                    acc[i * t + j] = acc[(i - 1) * t + j];
                    cost[i * t + j] = cost[(i - 1) * t + j];
                }
        }
        if (kind == 2 && i > 0 && allot_rng_below(r, 3) == 0)
            for (size_t j = 0; j < t; j++) acc[i * t + j] = acc[(i - 1) * t + j];
    }
}

#endif
