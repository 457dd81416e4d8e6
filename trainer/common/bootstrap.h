/* bootstrap.h - the paired bootstrap interval of a mean difference, shared by `allot audit` (learned
 * minus uniform) and `allot train`'s default policy selection (out-of-fold gain over uniform). */
#ifndef ALLOT_BOOTSTRAP_H
#define ALLOT_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

/**
 * Mean of d[0..n) and its percentile interval at `level` (e.g. 0.95) over `resamples` resamples of
 * the n values with replacement (allot_rng seeded by seed, stream 0xb0075). With n == 0 or fewer
 * than 2 resamples lo = hi = mean.
 */
void allot_bootstrap_mean(const double *d, size_t n, int resamples, uint64_t seed, double level, double *mean,
                          double *lo, double *hi);

#endif
