/*
 * perm_majority.h - majority outcomes of a block of permutations of one pool, computed together.
 *
 * Permutation p of a (query, model) pool comes from its own generator (allot_perm_seed), drawn by a
 * forward Fisher-Yates shuffle with allot_perm_draw_below. allot_majority_block draws up to
 * ALLOT_PERM_BLOCK such permutations side by side and scores each with the majority rule at the
 * prefixes asked for: the values, bit for bit, of shuffling each permutation on its own and scoring
 * it with allot_est_majority_at (the portable kernel does exactly that). Where the CPU has AVX-512F,
 * the block's sixteen generators run in vector lanes, and a step's sixteen swaps are one gather and
 * one scatter (perm_majority.c).
 */
#ifndef ALLOT_PERM_MAJORITY_H
#define ALLOT_PERM_MAJORITY_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/** Permutations drawn together. */
#define ALLOT_PERM_BLOCK 16

/** The generator of permutation p of the pool whose stream is stream (seeded from the run's seed). */
void allot_perm_seed(allot_rng *rng, uint64_t seed, uint64_t stream, uint64_t p);

/** allot_perm_seed of permutations p0 .. p0 + count - 1 into rng[0..count), count <= ALLOT_PERM_BLOCK
 *  (a full block's sixteen in vector lanes where the CPU has AVX-512DQ: the same states). */
void allot_perm_seed_block(allot_rng *rng, size_t count, uint64_t seed, uint64_t stream, uint64_t p0);

/** Uniform integer in [0, n), 1 <= n <= 2^32 - 1, from the high 32 bits of one draw (Lemire's
 *  multiply-and-reject; further draws only in the rare rejection). */
uint32_t allot_perm_draw_below(allot_rng *rng, uint32_t n);

/** One pool and the prefixes scored. */
typedef struct allot_majority_job {
    const int *slots;                  /**< n answer slots; the null answer is slot n_slots - 1 */
    size_t n;                          /**< pool size, >= 1 */
    const unsigned char *slot_correct; /**< n_slots flags (the null's 0) */
    size_t n_slots;                    /**< >= 1 */
    const size_t *at;                  /**< n_at prefixes, ascending, 1 <= at[i] <= n */
    size_t n_at;                       /**< >= 1 */
} allot_majority_job;

/** Bytes of working memory allot_majority_block needs for this job. */
size_t allot_majority_block_work(const allot_majority_job *job);

/**
 * Draw the first at[n_at - 1] entries of count (1..ALLOT_PERM_BLOCK) permutations of the pool, each
 * from its generator rng[l] (advanced), and write out[l * n_at + i], the majority outcome of
 * permutation l's first at[i] entries. work: allot_majority_block_work(job) bytes.
 */
void allot_majority_block(const allot_majority_job *job, allot_rng *rng, size_t count, double *out,
                          void *work);

/** One named kernel, for tests and benchmarks: "portable" or "avx512". Returns 1 when it ran, 0 when
 *  it cannot run here (CPU, compiler) or for this call (the vector kernel needs a full block, count =
 *  ALLOT_PERM_BLOCK), without touching rng or out. allot_majority_block runs "avx512" where it can,
 *  else "portable". */
int allot_majority_block_kernel(const char *kernel, const allot_majority_job *job, allot_rng *rng,
                                size_t count, double *out, void *work);

#endif
