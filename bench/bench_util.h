/* bench_util.h - what every benchmark under bench/ times with (header-only). */
#ifndef ALLOT_BENCH_UTIL_H
#define ALLOT_BENCH_UTIL_H

#include <time.h>

/* Monotonic clock in nanoseconds. */
static inline double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* How fast this run's cores go: the time of one double addition in a chain where each waits for the
 * previous (its latency), the fastest of 5 chains of 2^24. A VM's host can change it under a session;
 * absolute figures of runs compare only at the same value. */
static inline double bench_add_latency_ns(void) {
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        volatile double seed = 1.0, step = 1e-9;
        double x = seed, d = step;
        double t0 = now_ns();
        for (long i = 0; i < (1L << 24); i++) x += d;
        double ns = (now_ns() - t0) / (double)(1L << 24);
        volatile double sink = x;
        (void)sink;
        if (ns < best) best = ns;
    }
    return best;
}

/* qsort order of doubles (for percentiles). */
static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
