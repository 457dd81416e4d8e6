/*
 * estimators.h - expected accuracy of a selection rule when k samples are drawn uniformly without
 * replacement from a recorded pool of n samples. Pure functions: no allocation, no I/O; callers
 * pass the working memory.
 *
 *   pass@k     exact: 1 - C(n-c,k)/C(n,k), computed as a product.
 *   best@k     exact by order statistics. Group the pool by equal score; for a group G of size g
 *              with c_G correct samples and L samples scoring strictly lower,
 *                P(max of the k-subset has G's score) = (C(L+g,k) - C(L,k)) / C(n,k)
 *              and, given that, the winners are a uniformly random non-empty subset of G, so the
 *              even tie split gives expected accuracy c_G/g. Hence
 *                best@k = sum_G (c_G/g) (C(L+g,k) - C(L,k)) / C(n,k).
 *              (Without ties g = 1 and this is C(L,k-1)/C(n,k), the textbook formula.)
 *   majority / score-weighted vote: no closed form. The outcome of one k-subset: each non-null
 *              answer gets the sum of its samples' weights (1 for majority); the answers with the
 *              largest sum win, ties split evenly: the outcome is (number of correct winners) /
 *              (number of winners), 0 when every drawn answer is null. The expectation over
 *              k-subsets is estimated with permutations: the first k entries of a uniformly random
 *              permutation are a uniformly random k-subset, and one permutation serves every k.
 */
#ifndef ALLOT_ESTIMATORS_H
#define ALLOT_ESTIMATORS_H

#include <stddef.h>
#include <stdint.h>

/** C(a,k)/C(n,k) for 0 <= a <= n, 0 <= k <= n, as a product (0 when a < k). */
double allot_est_choose_ratio(size_t a, size_t n, size_t k);

/** pass@k: probability that a k-subset of n samples, c of them correct, holds a correct one. */
double allot_est_pass(size_t n, size_t c, size_t k);

/** A (score, correct) pair; the working array of allot_est_best. */
typedef struct allot_scored {
    double score;
    int correct;
} allot_scored;

/**
 * best@k for every k in ks[0..nk) (each 1 <= k <= n), written to out[0..nk).
 * items: the pool (n entries, finite scores); it is sorted in place by score.
 */
void allot_est_best(allot_scored *items, size_t n, const int *ks, size_t nk, double *out);

/** A pool for the vote rules. */
typedef struct allot_vote_pool {
    size_t n;             /**< pool size */
    const int *answer;    /**< n answer ids in [0, n_answers), -1 = null (never wins) */
    const double *weight; /**< n weights >= 0 (all 1 for majority); NULL means all 1 */
    size_t n_answers;
    const unsigned char *answer_correct; /**< n_answers flags: 1 when that answer is correct */
} allot_vote_pool;

/**
 * Outcome of the vote on every prefix of order: prefix_out[j] is the outcome of the samples
 * order[0..j] (j+1 samples), for j < len. Incremental, O(len + n_answers).
 * work: n_answers doubles.
 */
void allot_est_vote_prefixes(const allot_vote_pool *pool, const uint32_t *order, size_t len,
                             double *prefix_out, double *work);

/**
 * Majority (every weight 1) on the prefixes of slots[0..len): each entry is an answer id, the null
 * answer being the last slot (n_slots - 1, never a winner; slot_correct holds n_slots flags, the
 * null's 0). out[i] is the outcome of the first at[i] entries (at ascending, 1 <= at[i] <= len),
 * for i < n_at: the value allot_est_vote_prefixes gives at position at[i] - 1 with weight 1.
 * Integer counts, one addition per entry; the winners are found only at the prefixes asked for,
 * without branches. work: n_slots ints.
 */
void allot_est_majority_at(const int *slots, size_t len, const unsigned char *slot_correct, size_t n_slots,
                           const size_t *at, size_t n_at, double *out, int *work);

/** Outcome of the vote on one explicit set of samples idx[0..len). work as above. */
double allot_est_vote_set(const allot_vote_pool *pool, const uint32_t *idx, size_t len, double *work);

#endif
