/*
 * test_estimators.c - the pure estimators against brute-force enumeration of every k-subset.
 *
 * Pools are small (n <= 10) and random, with tied scores, null answers and distractor answers.
 * Scores are multiples of 1/8, so sums of vote weights are exact in any order and the brute force
 * sees exactly the same ties as the incremental code.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../common/check_stop.h"
#include "estimators.h"
#include "rng.h"

#define NMAX 10

typedef struct pool {
    size_t n, n_answers;
    int correct[NMAX];
    int answer[NMAX];
    double score[NMAX];
    unsigned char answer_correct[NMAX];
} pool;

static void random_pool(allot_rng *rng, size_t n, pool *p) {
    memset(p, 0, sizeof *p);
    p->n = n;
    p->n_answers = 1 + (size_t)allot_rng_below(rng, 4);
    if (p->n_answers > n) p->n_answers = n;
    for (size_t a = 0; a < p->n_answers; a++)
        p->answer_correct[a] = a == 0 ? (allot_rng_below(rng, 4) != 0) : 0;
    for (size_t i = 0; i < n; i++) {
        /* about one in five null */
        p->answer[i] = allot_rng_below(rng, 5) == 0 ? -1 : (int)allot_rng_below(rng, p->n_answers);
        p->correct[i] = p->answer[i] >= 0 ? p->answer_correct[p->answer[i]] : 0;
        p->score[i] = (double)allot_rng_below(rng, 5) / 8.0; /* many ties */
    }
}

static int popcount(unsigned x) {
    int c = 0;
    for (; x; x &= x - 1) c++;
    return c;
}

/* Outcome of one rule on the subset mask. rule: 0 pass, 1 best, 2 majority, 3 vote. */
static double subset_outcome(const pool *p, unsigned mask, int rule) {
    if (rule == 0) {
        for (size_t i = 0; i < p->n; i++)
            if ((mask >> i & 1) && p->correct[i]) return 1.0;
        return 0.0;
    }
    if (rule == 1) {
        double best = -INFINITY;
        for (size_t i = 0; i < p->n; i++)
            if ((mask >> i & 1) && p->score[i] > best) best = p->score[i];
        int w = 0, wc = 0;
        for (size_t i = 0; i < p->n; i++)
            if ((mask >> i & 1) && p->score[i] == best) {
                w++;
                wc += p->correct[i];
            }
        return (double)wc / w;
    }
    double sum[NMAX];
    int seen[NMAX] = {0};
    for (size_t a = 0; a < p->n_answers; a++) sum[a] = 0;
    for (size_t i = 0; i < p->n; i++)
        if ((mask >> i & 1) && p->answer[i] >= 0) {
            sum[p->answer[i]] += rule == 2 ? 1.0 : p->score[i];
            seen[p->answer[i]] = 1;
        }
    double best = -1;
    for (size_t a = 0; a < p->n_answers; a++)
        if (seen[a] && sum[a] > best) best = sum[a];
    int w = 0, wc = 0;
    for (size_t a = 0; a < p->n_answers; a++)
        if (seen[a] && sum[a] == best) {
            w++;
            wc += p->answer_correct[a];
        }
    return w ? (double)wc / w : 0.0;
}

static double brute(const pool *p, size_t k, int rule) {
    double s = 0;
    long cnt = 0;
    for (unsigned m = 0; m < (1u << p->n); m++)
        if ((size_t)popcount(m) == k) {
            s += subset_outcome(p, m, rule);
            cnt++;
        }
    return s / (double)cnt;
}

/* Next permutation in lexicographic order; 0 when it wraps. */
static int next_perm(uint32_t *a, size_t n) {
    if (n < 2) return 0;
    size_t i = n - 1;
    while (i > 0 && a[i - 1] >= a[i]) i--;
    if (i == 0) return 0;
    size_t j = n - 1;
    while (a[j] <= a[i - 1]) j--;
    uint32_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
    for (size_t l = i, r = n - 1; l < r; l++, r--) {
        t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return 1;
}

static void test_choose_and_pass(void) {
    CHECK(allot_est_choose_ratio(3, 10, 4) == 0.0);
    CHECK(fabs(allot_est_choose_ratio(8, 10, 2) - 28.0 / 45.0) < 1e-15);
    CHECK(allot_est_pass(10, 0, 5) == 0.0);
    CHECK(allot_est_pass(10, 10, 1) == 1.0);
    CHECK(fabs(allot_est_pass(10, 1, 1) - 0.1) < 1e-15);
    CHECK(allot_est_pass(10, 6, 5) == 1.0); /* n-c < k: a correct one is certain */
    /* large pools stay in range */
    double v = allot_est_pass(100000, 3, 50000);
    CHECK(v > 0.87 && v < 0.88); /* 1 - 0.5^3 approximately */
}

static void test_against_brute_force(void) {
    allot_rng rng;
    allot_rng_seed(&rng, 2024);
    double work[NMAX], prefix[NMAX];
    int pools = 0;
    for (int iter = 0; iter < 1500; iter++) {
        pool p;
        size_t n = 1 + (size_t)allot_rng_below(&rng, NMAX);
        random_pool(&rng, n, &p);
        size_t c = 0;
        for (size_t i = 0; i < n; i++) c += (size_t)p.correct[i];
        int ks[NMAX];
        for (size_t k = 1; k <= n; k++) ks[k - 1] = (int)k;
        allot_scored items[NMAX];
        for (size_t i = 0; i < n; i++) items[i] = (allot_scored){p.score[i], p.correct[i]};
        double best[NMAX];
        allot_est_best(items, n, ks, n, best);
        for (size_t k = 1; k <= n; k++) {
            double bp = brute(&p, k, 0), bb = brute(&p, k, 1);
            CHECKF(fabs(allot_est_pass(n, c, k) - bp) < 1e-12, "pass n=%zu c=%zu k=%zu", n, c, k);
            CHECKF(fabs(best[k - 1] - bb) < 1e-12, "best n=%zu k=%zu: %.17g vs %.17g", n, k, best[k - 1], bb);
        }
        /* majority and vote: exact enumeration of ALL n! permutations for n <= 6 must give the
         * subset average exactly (each k-subset is the prefix of k!(n-k)! permutations). */
        if (n <= 6) {
            for (int rule = 2; rule <= 3; rule++) {
                allot_vote_pool vp = {n, p.answer, rule == 3 ? p.score : NULL, p.n_answers, p.answer_correct};
                uint32_t perm[NMAX];
                for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
                double sum[NMAX] = {0};
                long count = 0, mismatches = 0;
                do {
                    allot_est_vote_prefixes(&vp, perm, n, prefix, work);
                    for (size_t k = 1; k <= n; k++) {
                        sum[k - 1] += prefix[k - 1];
                        /* the incremental prefix equals the from-scratch evaluation */
                        mismatches += prefix[k - 1] != allot_est_vote_set(&vp, perm, k, work);
                    }
                    count++;
                } while (next_perm(perm, n));
                CHECKF(mismatches == 0, "rule %d n=%zu: %ld prefixes differ from the set evaluation", rule, n,
                       mismatches);
                for (size_t k = 1; k <= n; k++) {
                    double b = brute(&p, k, rule);
                    CHECKF(fabs(sum[k - 1] / (double)count - b) < 1e-12,
                           "rule %d n=%zu k=%zu: %.17g vs %.17g", rule, n, k, sum[k - 1] / (double)count, b);
                }
            }
        }
        pools++;
    }
    CHECK(pools == 1500);
}

/* Hand-checked cases of the tie rules. */
static void test_ties_by_hand(void) {
    /* best: three samples with equal score, one correct: best@1 = best@2 = best@3 = 1/3 */
    allot_scored items[3] = {{0.5, 1}, {0.5, 0}, {0.5, 0}};
    int ks[3] = {1, 2, 3};
    double out[3];
    allot_est_best(items, 3, ks, 3, out);
    for (int i = 0; i < 3; i++) CHECK(fabs(out[i] - 1.0 / 3.0) < 1e-15);
    /* majority: answers A(correct), B, null; all three drawn: A and B tie -> 1/2 */
    int answer[3] = {0, 1, -1};
    unsigned char ac[2] = {1, 0};
    allot_vote_pool vp = {3, answer, NULL, 2, ac};
    uint32_t idx[3] = {0, 1, 2};
    double work[3];
    CHECK(allot_est_vote_set(&vp, idx, 3, work) == 0.5);
    /* only the null drawn -> 0 */
    uint32_t only_null[1] = {2};
    CHECK(allot_est_vote_set(&vp, only_null, 1, work) == 0.0);
    /* vote: weights break the tie: A 0.25, B 0.75 -> B wins -> 0 */
    double w[3] = {0.25, 0.75, 1.0};
    allot_vote_pool vv = {3, answer, w, 2, ac};
    CHECK(allot_est_vote_set(&vv, idx, 3, work) == 0.0);
    /* zero weights still count as drawn answers (a tie at 0) */
    double z[3] = {0.0, 0.0, 0.0};
    allot_vote_pool vz = {3, answer, z, 2, ac};
    CHECK(allot_est_vote_set(&vz, idx, 3, work) == 0.5);
    double prefix[3];
    allot_est_vote_prefixes(&vz, idx, 3, prefix, work);
    CHECK(prefix[0] == 1.0 && prefix[1] == 0.5 && prefix[2] == 0.5);
}

/* The majority fast path (integer counts: packed in a register for at most 8 answer slots, in memory
 * beyond) gives allot_est_vote_prefixes' value with weight 1 at every requested prefix: random
 * pools of 1..300 samples with 1..20 answers and nulls, random permutations, every prefix length
 * and sparse subsets of them. */
static void test_majority_fast_path(void) {
    enum { N = 300 };
    allot_rng rng;
    allot_rng_seed(&rng, 77);
    static int answer[N], slots[N], cnt[N + 1];
    static unsigned char correct[N + 1];
    static uint32_t perm[N];
    static double prefix[N], work[N], out[N];
    static size_t at[N];
    long checked = 0, differ = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 1 + (size_t)allot_rng_below(&rng, iter % 3 == 0 ? N : 64);
        size_t na = 1 + (size_t)allot_rng_below(&rng, iter % 2 ? 20 : 6);
        for (size_t a = 0; a < na; a++) correct[a] = (unsigned char)allot_rng_below(&rng, 2);
        correct[na] = 0;
        for (size_t i = 0; i < n; i++) {
            answer[i] = allot_rng_below(&rng, 8) == 0 ? -1 : (int)allot_rng_below(&rng, na);
            perm[i] = (uint32_t)i;
        }
        allot_rng_shuffle_u32(&rng, perm, n);
        allot_vote_pool vp = {n, answer, NULL, na, correct};
        allot_est_vote_prefixes(&vp, perm, n, prefix, work);
        for (size_t i = 0; i < n; i++) slots[i] = answer[perm[i]] >= 0 ? answer[perm[i]] : (int)na;
        size_t n_at = 0;
        for (size_t k = 1; k <= n; k++)
            if (iter % 4 == 0 || allot_rng_below(&rng, 3) == 0) at[n_at++] = k;
        if (!n_at) continue;
        allot_est_majority_at(slots, n, correct, na + 1, at, n_at, out, cnt);
        for (size_t i = 0; i < n_at; i++) {
            checked++;
            differ += memcmp(&out[i], &prefix[at[i] - 1], sizeof out[i]) != 0;
        }
    }
    CHECKF(differ == 0, "majority fast path: %ld of %ld prefixes differ from allot_est_vote_prefixes", differ,
           checked);
}

int main(void) {
    test_choose_and_pass();
    test_ties_by_hand();
    test_against_brute_force();
    test_majority_fast_path();
    return CHECK_DONE("estimators");
}
