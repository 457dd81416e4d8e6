/* bootstrap.c - paired bootstrap interval of a mean (see bootstrap.h). */
#include "bootstrap.h"

#include <math.h>
#include <stdlib.h>

#include "rng.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void allot_bootstrap_mean(const double *d, size_t n, int resamples, uint64_t seed, double level, double *mean,
                          double *lo, double *hi) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += d[i];
    *mean = n ? s / (double)n : 0;
    *lo = *hi = *mean;
    if (!n || resamples < 2) return;
    double *m = malloc((size_t)resamples * sizeof *m);
    if (!m) return;
    allot_rng rng;
    allot_rng_seed_stream(&rng, seed, 0xb0075u);
    for (int r = 0; r < resamples; r++) {
        double t = 0;
        for (size_t k = 0; k < n; k++) t += d[allot_rng_below(&rng, n)];
        m[r] = t / (double)n;
    }
    qsort(m, (size_t)resamples, sizeof *m, cmp_double);
    double alpha = (1 - level) / 2;
    size_t il = (size_t)floor(alpha * (resamples - 1) + 0.5),
           ih = (size_t)floor((1 - alpha) * (resamples - 1) + 0.5);
    *lo = m[il];
    *hi = m[ih];
    free(m);
}
