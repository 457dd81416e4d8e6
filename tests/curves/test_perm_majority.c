/*
 * test_perm_majority.c - the many-permutation majority kernels (perm_majority.h).
 *
 * 1. The portable kernel against an independent path: each permutation shuffled here with
 *    allot_perm_draw_below and scored by allot_est_vote_prefixes (weights 1), outcome for outcome.
 * 2. The AVX-512 kernel (where the CPU has it) against the portable kernel, bit for bit, outcomes and
 *    the generators' final states, on random pools: sizes around the block and byte limits, one to
 *    hundreds of slots, every prefix or a few, the last prefix the whole pool.
 * 3. Lemire's rejection inside the vector kernel: generators built so that a lane's first draw is
 *    rejected once or twice, or falls under the bound without being rejected.
 * 4. allot_perm_seed_block (vector lanes for a full block where the CPU has AVX-512DQ) against
 *    allot_perm_seed one permutation at a time: the same states, full and partial blocks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check_stop.h"
#include "estimators.h"
#include "perm_majority.h"
#include "rng.h"

#define NMAX 320
#define SMAX 330

typedef struct pool {
    size_t n, n_slots, n_at;
    int slots[NMAX];
    unsigned char correct[SMAX];
    size_t at[NMAX];
} pool;

static void random_pool(allot_rng *rng, size_t n, size_t n_slots, int all_prefixes, pool *p) {
    memset(p, 0, sizeof *p);
    p->n = n;
    p->n_slots = n_slots;
    for (size_t a = 0; a + 1 < n_slots; a++) p->correct[a] = allot_rng_below(rng, 3) == 0;
    for (size_t i = 0; i < n; i++) p->slots[i] = (int)allot_rng_below(rng, n_slots);
    size_t kmax = allot_rng_below(rng, 4) == 0 ? n : 1 + (size_t)allot_rng_below(rng, n);
    for (size_t k = 1; k <= kmax; k++)
        if (all_prefixes || k == kmax || allot_rng_below(rng, 5) == 0) p->at[p->n_at++] = k;
}

static allot_majority_job job_of(const pool *p) {
    allot_majority_job j = {p->slots, p->n, p->correct, p->n_slots, p->at, p->n_at};
    return j;
}

static void seed_block(allot_rng *rng, uint64_t stream) {
    for (size_t l = 0; l < ALLOT_PERM_BLOCK; l++) allot_perm_seed(&rng[l], 1, stream, l);
}

/* 1. One permutation shuffled here, scored by the vote estimator. */
static void reference(const pool *p, allot_rng *rng, double *out) {
    uint32_t perm[NMAX];
    int answer[NMAX];
    double prefix[NMAX], work[SMAX];
    size_t kmax = p->at[p->n_at - 1];
    for (size_t i = 0; i < p->n; i++) perm[i] = (uint32_t)i;
    for (size_t i = 0; i < kmax && i + 1 < p->n; i++) {
        size_t j = i + allot_perm_draw_below(rng, (uint32_t)(p->n - i));
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < p->n; i++) answer[i] = p->slots[i] == (int)p->n_slots - 1 ? -1 : p->slots[i];
    allot_vote_pool vp = {p->n, answer, NULL, p->n_slots - 1, p->correct};
    allot_est_vote_prefixes(&vp, perm, kmax, prefix, work);
    for (size_t i = 0; i < p->n_at; i++) out[i] = prefix[p->at[i] - 1];
}

static void test_portable_against_votes(void) {
    allot_rng g;
    allot_rng_seed(&g, 11);
    static double out[ALLOT_PERM_BLOCK * NMAX], want[NMAX];
    static int work[4 * (NMAX + SMAX)];
    long differ = 0, checked = 0;
    for (int iter = 0; iter < 300; iter++) {
        pool p;
        size_t n = 1 + (size_t)allot_rng_below(&g, 80);
        random_pool(&g, n, 1 + (size_t)allot_rng_below(&g, 12), iter % 2, &p);
        allot_majority_job job = job_of(&p);
        allot_rng rng[ALLOT_PERM_BLOCK], ref[ALLOT_PERM_BLOCK];
        seed_block(rng, (uint64_t)iter);
        memcpy(ref, rng, sizeof rng);
        size_t count = 1 + (size_t)allot_rng_below(&g, ALLOT_PERM_BLOCK);
        CHECK(allot_majority_block_kernel("portable", &job, rng, count, out, work) == 1);
        for (size_t l = 0; l < count; l++) {
            reference(&p, &ref[l], want);
            for (size_t i = 0; i < p.n_at; i++, checked++)
                differ += memcmp(&out[l * p.n_at + i], &want[i], sizeof want[i]) != 0;
        }
    }
    CHECKF(differ == 0, "portable kernel: %ld of %ld outcomes differ from allot_est_vote_prefixes", differ,
           checked);
}

/* Both kernels on one block; 1 when they agree bit for bit (outcomes and final states). */
static int kernels_agree(const pool *p, const allot_rng *start) {
    static double a[ALLOT_PERM_BLOCK * NMAX], b[ALLOT_PERM_BLOCK * NMAX];
    static int32_t work[ALLOT_PERM_BLOCK * (NMAX + SMAX)];
    allot_majority_job job = job_of(p);
    CHECK(allot_majority_block_work(&job) <= sizeof work);
    allot_rng ra[ALLOT_PERM_BLOCK], rb[ALLOT_PERM_BLOCK];
    memcpy(ra, start, sizeof ra);
    memcpy(rb, start, sizeof rb);
    CHECK(allot_majority_block_kernel("portable", &job, ra, ALLOT_PERM_BLOCK, a, work) == 1);
    CHECK(allot_majority_block_kernel("avx512", &job, rb, ALLOT_PERM_BLOCK, b, work) == 1);
    return !memcmp(a, b, ALLOT_PERM_BLOCK * p->n_at * sizeof *a) && !memcmp(ra, rb, sizeof ra);
}

/* One named kernel on a block of count permutations of a random pool of n; its return value. */
static int run_named(const char *kernel, size_t n, size_t count) {
    pool p;
    allot_rng g;
    allot_rng_seed(&g, n);
    random_pool(&g, n, 5, 1, &p);
    allot_majority_job job = job_of(&p);
    allot_rng rng[ALLOT_PERM_BLOCK];
    seed_block(rng, 7);
    static double out[ALLOT_PERM_BLOCK * NMAX];
    static int32_t work[ALLOT_PERM_BLOCK * (NMAX + SMAX)];
    return allot_majority_block_kernel(kernel, &job, rng, count, out, work);
}

static void test_vector_kernel(void) {
    static const size_t sizes[] = {1, 2, 3, 7, 15, 16, 17, 33, 63, 64, 65, 127, 200, 254, 255, 256, 257, 300};
    static const size_t slot_counts[] = {1, 2, 3, 8, 9, 17, 64, 300};
    allot_rng g;
    allot_rng_seed(&g, 12);
    long differ = 0, blocks = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
        for (size_t ci = 0; ci < sizeof slot_counts / sizeof *slot_counts; ci++)
            for (int rep = 0; rep < 4; rep++) {
                pool p;
                random_pool(&g, sizes[si], slot_counts[ci], rep % 2, &p);
                allot_rng rng[ALLOT_PERM_BLOCK];
                seed_block(rng, si * 1000 + ci * 10 + (size_t)rep);
                differ += !kernels_agree(&p, rng);
                blocks++;
            }
    CHECKF(differ == 0, "avx512 kernel: %ld of %ld blocks differ from the portable kernel", differ, blocks);
    /* a short block is left to the portable kernel; an unknown kernel is refused */
    CHECK(!run_named("avx512", 40, ALLOT_PERM_BLOCK - 1));
    CHECK(!run_named("nonesuch", 40, ALLOT_PERM_BLOCK));
}

/* Inverse of an odd number modulo 2^64 (Newton). */
static uint64_t inverse64(uint64_t a) {
    uint64_t x = a;
    for (int i = 0; i < 6; i++) x *= 2 - a * x;
    return x;
}

/* s1 such that allot_rng_next's output from a state holding s1 is out. */
static uint64_t s1_for_output(uint64_t out) {
    uint64_t r = out * inverse64(9);
    uint64_t x = (r >> 7) | (r << 57);
    return x * inverse64(5);
}

/* A generator whose first two outputs are x1 and x2. */
static allot_rng with_outputs(uint64_t x1, uint64_t x2, uint64_t s0, uint64_t s3) {
    allot_rng r;
    r.s[0] = s0;
    r.s[1] = s1_for_output(x1);
    r.s[3] = s3;
    r.s[2] = s1_for_output(x2) ^ r.s[1] ^ s0; /* the next s1 is s1 ^ s2 ^ s0 */
    return r;
}

static void test_rejections(void) {
    /* the first bound is n = 63: 2^32 mod 63 = 4, so a draw is rejected when (hi * 63) mod 2^32 < 4 */
    uint32_t inv63 = (uint32_t)inverse64(63);
    uint64_t rejected = (uint64_t)(uint32_t)(2u * inv63) << 32 | 0x1234u; /* low product 2 */
    uint64_t flagged = (uint64_t)(uint32_t)(40u * inv63) << 32 | 0x5678u; /* 40: under 63, kept */
    uint64_t plain = 0x9e3779b97f4a7c15ULL;
    allot_rng r;
    r = with_outputs(rejected, plain, 1, 2);
    CHECK(allot_rng_next(&r) == rejected && allot_rng_next(&r) == plain);
    allot_rng probe = with_outputs(rejected, rejected, 3, 4);
    allot_rng copy = probe;
    (void)allot_perm_draw_below(&copy, 63);
    allot_rng three = probe;
    for (int i = 0; i < 3; i++) allot_rng_next(&three);
    CHECKF(!memcmp(&copy, &three, sizeof copy), "two rejections take three draws");

    allot_rng g;
    allot_rng_seed(&g, 13);
    long differ = 0;
    for (int rep = 0; rep < 20; rep++) {
        pool p;
        random_pool(&g, 63, 1 + (size_t)(rep % 12), rep % 2, &p);
        allot_rng rng[ALLOT_PERM_BLOCK];
        seed_block(rng, 500 + (size_t)rep);
        rng[rep % ALLOT_PERM_BLOCK] = with_outputs(rejected, plain, (uint64_t)rep, 5);
        rng[(rep + 3) % ALLOT_PERM_BLOCK] = with_outputs(rejected, rejected, 6, (uint64_t)rep);
        rng[(rep + 8) % ALLOT_PERM_BLOCK] = with_outputs(flagged, plain, 7, 8);
        rng[(rep + 11) % ALLOT_PERM_BLOCK] = with_outputs(rejected, flagged, 9, 10);
        differ += !kernels_agree(&p, rng);
    }
    CHECKF(differ == 0, "avx512 kernel with rejections: %ld of 20 blocks differ from the portable kernel",
           differ);
}

static void test_seed_block(void) {
    allot_rng g;
    allot_rng_seed(&g, 14);
    long differ = 0, blocks = 0;
    for (int trial = 0; trial < 200; trial++) {
        uint64_t seed = trial < 2 ? (uint64_t)trial : allot_rng_next(&g);
        uint64_t stream = allot_rng_next(&g),
                 p0 = trial % 3 == 0 ? UINT64_MAX - 5 : allot_rng_below(&g, 1u << 20);
        size_t count = trial % 4 == 3 ? 1 + (size_t)allot_rng_below(&g, ALLOT_PERM_BLOCK) : ALLOT_PERM_BLOCK;
        allot_rng a[ALLOT_PERM_BLOCK], b[ALLOT_PERM_BLOCK];
        memset(a, 0, sizeof a);
        memset(b, 0, sizeof b);
        allot_perm_seed_block(a, count, seed, stream, p0);
        for (size_t l = 0; l < count; l++) allot_perm_seed(&b[l], seed, stream, p0 + l);
        differ += memcmp(a, b, sizeof a) != 0;
        blocks++;
    }
    CHECKF(differ == 0, "allot_perm_seed_block: %ld of %ld blocks differ from allot_perm_seed", differ,
           blocks);
}

int main(void) {
    test_portable_against_votes();
    test_seed_block();
    if (run_named("avx512", 4, ALLOT_PERM_BLOCK)) {
        test_vector_kernel();
        test_rejections();
    } else {
        printf("perm_majority: SKIP the avx512 kernel checks: this CPU (or compiler) has no AVX-512F\n");
    }
    return CHECK_DONE("perm_majority");
}
