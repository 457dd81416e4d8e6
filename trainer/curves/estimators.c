/*
 * estimators.c - pure estimators of k-of-n accuracy (see estimators.h for the formulas).
 */
#include "estimators.h"

#include "majority_outcome.h"

#include <stdlib.h>

double allot_est_choose_ratio(size_t a, size_t n, size_t k) {
    if (a < k) return 0.0;
    double r = 1.0;
    for (size_t i = 0; i < k; i++) r *= (double)(a - i) / (double)(n - i);
    return r;
}

double allot_est_pass(size_t n, size_t c, size_t k) {
    return 1.0 - allot_est_choose_ratio(n - c, n, k);
}

static int by_score_desc(const void *pa, const void *pb) {
    const allot_scored *a = pa, *b = pb;
    return (a->score < b->score) - (a->score > b->score);
}

void allot_est_best(allot_scored *items, size_t n, const int *ks, size_t nk, double *out) {
    qsort(items, n, sizeof *items, by_score_desc);
    for (size_t t = 0; t < nk; t++) {
        size_t k = (size_t)ks[t];
        /* Walk the score groups from the top. r_top = C(top,k)/C(n,k) where top is the number of
         * samples scoring at most the current group's score; stepping a down by one multiplies the
         * ratio by (a-k)/a, so no binomial is ever formed. */
        double acc = 0.0, r_top = 1.0;
        size_t i = 0;
        while (i < n && r_top > 0.0) {
            size_t j = i, c = 0;
            while (j < n && items[j].score == items[i].score) c += (size_t)(items[j++].correct != 0);
            size_t g = j - i, top = n - i, low = top - g;
            double r_low = r_top;
            for (size_t a = top; a > low; a--) r_low = a > k ? r_low * (double)(a - k) / (double)a : 0.0;
            if (c) acc += (double)c / (double)g * (r_top - r_low);
            r_top = r_low;
            i = j;
        }
        out[t] = acc;
    }
}

void allot_est_vote_prefixes(const allot_vote_pool *pool, const uint32_t *order, size_t len,
                             double *prefix_out, double *work) {
    double *sum = work; /* -1 marks an answer not drawn yet (weights are >= 0) */
    for (size_t a = 0; a < pool->n_answers; a++) sum[a] = -1.0;
    double best = -1.0; /* largest sum among drawn answers */
    size_t n_win = 0, n_win_correct = 0;
    for (size_t j = 0; j < len; j++) {
        uint32_t s = order[j];
        int a = pool->answer[s];
        if (a >= 0) {
            double w = pool->weight ? pool->weight[s] : 1.0;
            double old = sum[a];
            double now = (old < 0 ? 0.0 : old) + w;
            sum[a] = now;
            if (now > best) {
                best = now;
                n_win = 1;
                n_win_correct = pool->answer_correct[a];
            } else if (now == best && old != best) {
                /* a joins the winners (old == best only when w == 0 and it already was one) */
                n_win++;
                n_win_correct += pool->answer_correct[a];
            }
        }
        prefix_out[j] = n_win ? (double)n_win_correct / (double)n_win : 0.0;
    }
}

void allot_est_majority_at(const int *slots, size_t len, const unsigned char *slot_correct, size_t n_slots,
                           const size_t *at, size_t n_at, double *out, int *work) {
    /* Each draw only counts; the winners are found at the n_at prefixes asked for. */
    size_t next = 0;
    if (n_slots <= 8 && len < 256) {
        /* the counts as 8 bytes of one register (a count never exceeds len < 256) */
        uint64_t packed = 0;
        for (size_t j = 0; j < len && next < n_at; j++) {
            packed += (uint64_t)1 << (8u * (unsigned)slots[j]);
            if (j + 1 == at[next]) {
#define PACKED_COUNT(a) ((packed >> (8u * (a))) & 0xFFu)
                MAJORITY_OUTCOME(PACKED_COUNT, n_slots, slot_correct, out[next]);
#undef PACKED_COUNT
                next++;
            }
        }
        return;
    }
    int *cnt = work; /* draws of each answer so far */
    for (size_t a = 0; a < n_slots; a++) cnt[a] = 0;
    for (size_t j = 0; j < len && next < n_at; j++) {
        cnt[slots[j]]++;
        if (j + 1 == at[next]) {
#define ARRAY_COUNT(a) (cnt[a])
            MAJORITY_OUTCOME(ARRAY_COUNT, n_slots, slot_correct, out[next]);
#undef ARRAY_COUNT
            next++;
        }
    }
}

double allot_est_vote_set(const allot_vote_pool *pool, const uint32_t *idx, size_t len, double *work) {
    /* Same rule, whole set at once: sums first, then the winners. */
    double *sum = work;
    for (size_t a = 0; a < pool->n_answers; a++) sum[a] = -1.0;
    for (size_t j = 0; j < len; j++) {
        int a = pool->answer[idx[j]];
        if (a < 0) continue;
        double w = pool->weight ? pool->weight[idx[j]] : 1.0;
        sum[a] = (sum[a] < 0 ? 0.0 : sum[a]) + w;
    }
    double best = -1.0;
    size_t n_win = 0, n_win_correct = 0;
    for (size_t a = 0; a < pool->n_answers; a++) {
        if (sum[a] < 0) continue;
        if (sum[a] > best) {
            best = sum[a];
            n_win = 0;
            n_win_correct = 0;
        }
        if (sum[a] == best) {
            n_win++;
            n_win_correct += pool->answer_correct[a];
        }
    }
    return n_win ? (double)n_win_correct / (double)n_win : 0.0;
}
