#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void allot_rng_seed(allot_rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

void allot_rng_seed_stream(allot_rng *rng, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
    allot_rng_seed(rng, splitmix64(&x));
}

/* the external definition of the inline function in rng.h */
extern inline uint64_t allot_rng_next(allot_rng *rng);

double allot_rng_uniform(allot_rng *rng) {
    return (double)(allot_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t allot_rng_below(allot_rng *rng, uint64_t n) {
    /* Lemire's rejection on the high bits would need 128-bit products; plain rejection is enough. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = allot_rng_next(rng);
    } while (x >= limit);
    return x % n;
}

double allot_rng_normal(allot_rng *rng) {
    double u1 = allot_rng_uniform(rng);
    double u2 = allot_rng_uniform(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void allot_rng_shuffle_u32(allot_rng *rng, uint32_t *idx, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)allot_rng_below(rng, (uint64_t)i);
        uint32_t tmp = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
}

uint64_t allot_hash64(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
