/*
 * rng.h - the one seeded pseudo-random generator used everywhere in the trainer.
 *
 * xoshiro256** seeded through splitmix64 (Blackman & Vigna). Deterministic across platforms:
 * the same seed gives the same stream, so the same input and seed give byte-identical output.
 * A generator is a plain value owned by the caller; there is no global generator.
 */
#ifndef ALLOT_RNG_H
#define ALLOT_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct allot_rng {
    uint64_t s[4];
} allot_rng;

/** Seed a generator. Any seed (including 0) is valid. */
void allot_rng_seed(allot_rng *rng, uint64_t seed);
/** Seed from (seed, stream): independent-looking streams for e.g. one query each. */
void allot_rng_seed_stream(allot_rng *rng, uint64_t seed, uint64_t stream);
/** Next 64 random bits. Defined here (C99 inline; rng.c holds the external definition) so that hot
 *  loops keep the state in registers. */
inline uint64_t allot_rng_next(allot_rng *rng) {
    uint64_t *s = rng->s;
    const uint64_t x = s[1] * 5;
    const uint64_t result = ((x << 7) | (x >> 57)) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}
/** Uniform double in [0, 1) with 53 random bits. */
double allot_rng_uniform(allot_rng *rng);
/** Uniform integer in [0, n) without modulo bias; n must be > 0. */
uint64_t allot_rng_below(allot_rng *rng, uint64_t n);
/** Standard normal deviate (Box-Muller, one value per call). */
double allot_rng_normal(allot_rng *rng);
/** Fisher-Yates shuffle of idx[0..n). */
void allot_rng_shuffle_u32(allot_rng *rng, uint32_t *idx, size_t n);

/** 64-bit FNV-1a hash of a byte string (stable; used to derive per-query streams from ids). */
uint64_t allot_hash64(const void *data, size_t len);

#endif
