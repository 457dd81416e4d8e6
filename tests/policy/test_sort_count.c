/*
 * test_sort_count.c - allot_features_sort_count_vbmi2 (the featuriser's sorting network for at most
 * ALLOT_SORT_KEYS_MAX hashed indices, features_simd.h) against counting by brute force: the distinct
 * indices in order, their counts, and with L2 the quotients (float)(count / sqrt(sum of counts^2))
 * in double, bit for bit. Key sets: every size from 0 to the maximum, uniform over small and large
 * ranges (many and few repeats), one key repeated throughout, already sorted and reversed input,
 * the extreme indices 0 and 8191, and keys that overlap the output arrays (the featuriser's case).
 * Skipped (77) where the processor has no AVX-512 VBMI2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check_stop.h"
#include "features_simd.h"

#define DIM 8192u

static uint64_t rng = 88172645463325252ull;
static uint32_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* The brute-force answer: distinct keys ascending into idx, their values into val; returns m. */
static size_t brute(const uint16_t *keys, size_t n, uint32_t *idx, float *val, int l2) {
    static uint32_t count[DIM];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) count[keys[i]]++;
    size_t m = 0;
    uint64_t ss = 0;
    for (uint32_t k = 0; k < DIM; k++)
        if (count[k]) {
            idx[m] = k;
            val[m++] = (float)count[k];
            ss += (uint64_t)count[k] * count[k];
        }
    if (l2)
        for (size_t j = 0; j < m; j++) val[j] = (float)((double)val[j] / sqrt((double)ss));
    return m;
}

static int n_cases;

/* keys[0..n) through both; the keys are first copied into the output arrays' storage when
 * overlap is set (the featuriser keeps them in the upper half of its index array). */
static void compare(const uint16_t *keys, size_t n, int l2, int overlap, const char *what) {
    static uint32_t idx[ALLOT_SORT_KEYS_MAX + 16 + ALLOT_SORT_KEYS_MAX], ridx[ALLOT_SORT_KEYS_MAX];
    static float val[ALLOT_SORT_KEYS_MAX + 16], rval[ALLOT_SORT_KEYS_MAX];
    const uint16_t *in = keys;
    if (overlap) {
        uint16_t *at = (uint16_t *)(void *)idx + 64; /* inside idx's first entries */
        memmove(at, keys, n * sizeof *keys);
        in = at;
    }
    size_t rm = brute(keys, n, ridx, rval, l2);
    size_t m = allot_features_sort_count_vbmi2(in, n, idx, val, l2);
    n_cases++;
    CHECKF(m == rm, "%s: n %zu: %zu distinct, brute force %zu", what, n, m, rm);
    CHECKF(!memcmp(idx, ridx, m * sizeof *idx), "%s: n %zu, l2 %d: indices differ", what, n, l2);
    CHECKF(!memcmp(val, rval, m * sizeof *val), "%s: n %zu, l2 %d: values differ", what, n, l2);
}

int main(void) {
    if (!allot_features_vbmi2_usable()) {
        printf("test_sort_count: SKIPPED: this processor has no AVX-512 VBMI2\n");
        return 77;
    }
    static uint16_t keys[ALLOT_SORT_KEYS_MAX];
    const uint32_t ranges[] = {1, 3, 64, 300, 4096, DIM};
    for (size_t n = 0; n <= ALLOT_SORT_KEYS_MAX; n++)
        for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
            for (size_t i = 0; i < n; i++) keys[i] = (uint16_t)(next() % ranges[r]);
            compare(keys, n, (int)(n % 2), (int)(n % 3 == 0), "uniform");
            compare(keys, n, (int)(n % 2 == 0), 0, "uniform");
        }
    const size_t sizes[] = {1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, ALLOT_SORT_KEYS_MAX};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (size_t i = 0; i < n; i++) keys[i] = 7;
        compare(keys, n, 1, 0, "one key");
        for (size_t i = 0; i < n; i++) keys[i] = (uint16_t)(i * 31 % DIM);
        compare(keys, n, 1, 0, "sorted");
        for (size_t i = 0; i < n; i++) keys[i] = (uint16_t)(DIM - 1 - i * 29 % DIM);
        compare(keys, n, 1, 1, "reversed");
        for (size_t i = 0; i < n; i++) keys[i] = (uint16_t)(i % 2 ? DIM - 1 : 0);
        compare(keys, n, 0, 0, "0 and 8191");
        compare(keys, n, 1, 0, "0 and 8191");
    }
    printf("test_sort_count: %d key sets of 0 to %u keys\n", n_cases, ALLOT_SORT_KEYS_MAX);
    return CHECK_DONE("test_sort_count");
}
