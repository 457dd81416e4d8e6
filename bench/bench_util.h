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

/* qsort order of doubles (for percentiles). */
static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
