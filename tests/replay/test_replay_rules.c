/*
 * test_replay_rules.c - every replay rule on tiny hand-made pools whose sequence of choices is
 * worked out by hand (the exact order of samples dealt is asserted), the Beta stopping probability
 * against numeric integration, budget accounting on random pools, and "K large + gamma
 * unreachable = uniform" for every bandit rule.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"
#include "replay_internal.h" /* allot_replay_policy_plan */
#include "rng.h"

static int g_pass, g_fail; /* counters of this test program only */

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (cond) {                                                                                          \
            g_pass++;                                                                                        \
        } else {                                                                                             \
            g_fail++;                                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                         \
        }                                                                                                    \
    } while (0)

/* answers: a string, one char per sample: 'A'..'Z' answer ids 0..25, '.' null; correct: '1'/'0';
 * scores: NULL or an array. */
static void add_query(allot_replay_pools *p, const char *id, const char *answers, const char *correct,
                      const double *scores) {
    size_t n = strlen(answers);
    allot_replay_sample s[64];
    int na = 0;
    for (size_t j = 0; j < n; j++) {
        s[j].answer = answers[j] == '.' ? -1 : answers[j] - 'A';
        if (s[j].answer + 1 > na) na = s[j].answer + 1;
        s[j].correct = correct[j] == '1';
        s[j].score = scores ? scores[j] : NAN;
        s[j].cost = 1;
    }
    allot_error err = {0};
    if (allot_replay_pools_add(p, id, NULL, s, n, na, &err) != ALLOT_OK) {
        fprintf(stderr, "add_query: %s\n", err.msg);
        exit(2);
    }
}

/* Run m in the recorded order; check the dealt sequence equals want[0..nw). */
static void expect_trace(const allot_replay_pools *p, allot_replay_method m, double budget, double param,
                         const allot_replay_options *o, const size_t *want, size_t nw, size_t *alloc_out,
                         allot_replay_run_info *info_out) {
    allot_replay_view v;
    allot_error err = {0};
    CHECK(allot_replay_view_make(p, -1, 1, &v, &err) == ALLOT_OK);
    size_t alloc[64], trace[256];
    allot_replay_run_info info;
    memset(&info, 0, sizeof info);
    info.trace = trace;
    info.trace_cap = 256;
    allot_status st = allot_replay_run(&v, m, budget, param, o, alloc, &info, &err);
    CHECK(st == ALLOT_OK);
    int same = info.trace_len == nw;
    for (size_t j = 0; same && j < nw; j++) same = trace[j] == want[j];
    if (!same) {
        fprintf(stderr, "%s: trace", allot_replay_method_name(m));
        for (size_t j = 0; j < info.trace_len && j < 256; j++) fprintf(stderr, " %zu", trace[j]);
        fprintf(stderr, "  (want");
        for (size_t j = 0; j < nw; j++) fprintf(stderr, " %zu", want[j]);
        fprintf(stderr, ")\n");
    }
    CHECK(same);
    if (alloc_out) memcpy(alloc_out, alloc, v.n * sizeof *alloc);
    if (info_out) *info_out = info;
    allot_replay_view_free(&v);
}

static void test_uniform(void) {
    allot_replay_pools p = {0};
    add_query(&p, "q0", "AAA", "111", NULL);
    add_query(&p, "q1", "ABC", "100", NULL);
    add_query(&p, "q2", "BBB", "000", NULL);
    allot_replay_options o;
    allot_replay_options_default(&o);
    size_t w1[] = {0, 1, 2, 0, 1, 2};
    expect_trace(&p, ALLOT_REPLAY_UNIFORM, 2.0, NAN, &o, w1, 6, NULL, NULL);
    /* 4.5 samples in total: one full round, then the partial round stops at the 5th sample */
    size_t w2[] = {0, 1, 2, 0};
    size_t alloc[3];
    allot_replay_run_info info;
    expect_trace(&p, ALLOT_REPLAY_UNIFORM, 1.5, NAN, &o, w2, 4, alloc, &info);
    CHECK(alloc[0] == 2 && alloc[1] == 1 && alloc[2] == 1);
    CHECK(info.spent == 4 && info.total == 4.5);
    /* more than the pools hold: every query is exhausted and the rest is unspent */
    size_t w3[] = {0, 1, 2, 0, 1, 2, 0, 1, 2};
    expect_trace(&p, ALLOT_REPLAY_UNIFORM, 5.0, NAN, &o, w3, 9, alloc, &info);
    CHECK(info.n_exhausted == 3 && info.spent == 9);
    allot_replay_pools_free(&p);
}

static void test_elimination(void) {
    allot_replay_pools p = {0};
    add_query(&p, "solved-first", "AAA", "111", NULL);
    add_query(&p, "solved-second", "BAA", "011", NULL);
    add_query(&p, "never", "BCD", "000", NULL);
    allot_replay_options o;
    allot_replay_options_default(&o);
    /* round 0: 0 1 2 (q0 leaves); round 1: 1 2 (q1 leaves); rounds 2, 3: q2 until its pool is
     * empty (exhausted, leaves); the active set is empty with 3 of 9 samples unspent */
    size_t w[] = {0, 1, 2, 1, 2, 2};
    size_t alloc[3];
    allot_replay_run_info info;
    expect_trace(&p, ALLOT_REPLAY_ELIMINATION, 3.0, NAN, &o, w, 6, alloc, &info);
    CHECK(alloc[0] == 1 && alloc[1] == 2 && alloc[2] == 3);
    CHECK(info.n_exhausted == 1 && info.spent == 6);
    /* K = 2: round 0 deals two samples to each, round-robin; q0 and q1 both saw a correct one */
    o.K = 2;
    size_t w2[] = {0, 1, 2, 0, 1, 2, 2};
    expect_trace(&p, ALLOT_REPLAY_ELIMINATION, 3.0, NAN, &o, w2, 7, alloc, &info);
    CHECK(alloc[0] == 2 && alloc[1] == 2 && alloc[2] == 3);
    allot_replay_pools_free(&p);
}

static void test_ucb(void) {
    allot_replay_pools p = {0};
    double s0[] = {0.1, 0.1, 0.1, 0.1}, s1[] = {0.5, 0.5, 0.5, 0.5}, s2[] = {0.3, 0.3, 0.3, 0.3},
           s3[] = {0.8, 0.8, 0.8, 0.8};
    add_query(&p, "q0", "AAAA", "0000", s0);
    add_query(&p, "q1", "AAAA", "0000", s1);
    add_query(&p, "q2", "AAAA", "0000", s2);
    add_query(&p, "q3", "AAAA", "0000", s3);
    allot_replay_options o;
    allot_replay_options_default(&o);
    o.reward = ALLOT_REPLAY_REWARD_SCORE;
    o.gamma = 0.9;
    o.ucb_c = 1.0;
    /* round 0: all. Round 1 (T = 4, m = 1 each, same bonus): means rank q3, q1 -> picks 3 1.
     * Round 2 (T = 6): q3 0.8 + sqrt(ln 6 / 2) = 1.746, q2 0.3 + sqrt(ln 6) = 1.639,
     * q1 0.5 + 0.946 = 1.446, q0 0.1 + 1.339 = 1.439 -> picks 3 2. */
    size_t w[] = {0, 1, 2, 3, 3, 1, 3, 2};
    expect_trace(&p, ALLOT_REPLAY_UCB, 2.0, NAN, &o, w, 8, NULL, NULL);
    /* c = 0: pure means, q3 and q1 every round */
    o.ucb_c = 0;
    size_t w0[] = {0, 1, 2, 3, 3, 1, 3, 1};
    expect_trace(&p, ALLOT_REPLAY_UCB, 2.0, NAN, &o, w0, 8, NULL, NULL);
    allot_replay_pools_free(&p);
}

static void test_gap(void) {
    allot_replay_pools p = {0};
    double s0[] = {0.1, 0.1, 0.1, 0.1}, s1[] = {0.2, 0.85, 0.2, 0.2}, s2[] = {0.15, 0.15, 0.15, 0.15},
           s3[] = {0.8, 0.8, 0.8, 0.8};
    add_query(&p, "q0", "AAAA", "0000", s0);
    add_query(&p, "q1", "AAAA", "0000", s1);
    add_query(&p, "q2", "AAAA", "0000", s2);
    add_query(&p, "q3", "AAAA", "0000", s3);
    allot_replay_options o;
    allot_replay_options_default(&o);
    o.reward = ALLOT_REPLAY_REWARD_SCORE;
    o.gamma = 0.9;
    /* round 1: best-so-far q3 .8, q1 .2, q2 .15, q0 .1 -> 3 1; q1 draws 0.85. Round 2: q1 .85,
     * q3 .8 -> 1 3; round 3 again 1 3 (10 samples in total) */
    size_t w[] = {0, 1, 2, 3, 3, 1, 1, 3, 1, 3};
    expect_trace(&p, ALLOT_REPLAY_GAP, 2.5, NAN, &o, w, 10, NULL, NULL);
    /* gamma reachable: q1 leaves after drawing 0.85 >= 0.85 */
    o.gamma = 0.85;
    size_t w2[] = {0, 1, 2, 3, 3, 1, 3, 2, 3, 2};
    expect_trace(&p, ALLOT_REPLAY_GAP, 2.5, NAN, &o, w2, 10, NULL, NULL);
    allot_replay_pools_free(&p);
}

static void test_entropy(void) {
    allot_replay_pools p = {0};
    add_query(&p, "same", "AAAA", "0000", NULL);
    add_query(&p, "two", "ABAB", "0000", NULL);
    add_query(&p, "four", "ABCD", "0000", NULL);
    add_query(&p, "nulls", "....", "0000", NULL);
    allot_replay_options o;
    allot_replay_options_default(&o);
    /* round 0: all (every entropy 0). Round 1: all tied at 0 with one sample -> round order: 0 1.
     * Round 2: q1 (A,B: ln 2) first; ties at 0: fewer samples first -> q2 (1) before q0 (2): 1 2.
     * Round 3: q2 (A,B: 0.693) > q1 (A,B,A: 0.637): 2 1. Budget 10. */
    size_t w[] = {0, 1, 2, 3, 0, 1, 1, 2, 2, 1};
    expect_trace(&p, ALLOT_REPLAY_ENTROPY, 2.5, NAN, &o, w, 10, NULL, NULL);
    allot_replay_pools_free(&p);
}

static void test_adaptive_consistency(void) {
    allot_replay_pools p = {0};
    add_query(&p, "leader", "ABAAAAAAAA", "1011111111", NULL);
    add_query(&p, "nulls", ".....", "00000", NULL);
    allot_replay_options o;
    allot_replay_options_default(&o);
    /* q0 after each sample: (1,0) .75, (1,1) .5, (2,1) .6875, (3,1) .8125, (4,1) .8906,
     * (5,1) .9375, (6,1) .9648 >= .95 -> stops at 7. q1: no votes, P = .5 forever; its pool of 5
     * runs out (exhausted). Round-robin until then. */
    size_t w[] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0};
    size_t alloc[2];
    allot_replay_run_info info;
    expect_trace(&p, ALLOT_REPLAY_ADAPTIVE_CONSISTENCY, INFINITY, NAN, &o, w, 12, alloc, &info);
    CHECK(alloc[0] == 7 && alloc[1] == 5 && info.n_exhausted == 1);
    /* a lower threshold: 0.9 stops q0 at (5,1) = .9375 after 6 */
    expect_trace(&p, ALLOT_REPLAY_ADAPTIVE_CONSISTENCY, INFINITY, 0.9, &o, w, 11, alloc, &info);
    CHECK(alloc[0] == 6 && info.param == 0.9);
    /* max samples caps it */
    o.ac_max = 3;
    size_t w3[] = {0, 1, 0, 1, 0, 1};
    expect_trace(&p, ALLOT_REPLAY_ADAPTIVE_CONSISTENCY, INFINITY, NAN, &o, w3, 6, alloc, &info);
    CHECK(alloc[0] == 3 && alloc[1] == 3 && info.n_exhausted == 0);
    allot_replay_pools_free(&p);
}

static void test_early_stop(void) {
    allot_replay_pools p = {0};
    add_query(&p, "second-window", "ABAA", "1011", NULL);
    add_query(&p, "first-window", "AA", "11", NULL);
    add_query(&p, "nulls", "A...", "0000", NULL);
    allot_replay_options o;
    allot_replay_options_default(&o);
    o.es_window = 2;
    /* round 1: windows dealt round-robin 0 1 2 0 1 2 -> q1 unanimous, stops. Round 2: 0 2 0 2 ->
     * q0's window A A stops it; q2's null window does not. Round 3: q2's pool is empty. */
    size_t w[] = {0, 1, 2, 0, 1, 2, 0, 2, 0, 2};
    size_t alloc[3];
    allot_replay_run_info info;
    expect_trace(&p, ALLOT_REPLAY_EARLY_STOP, INFINITY, NAN, &o, w, 10, alloc, &info);
    CHECK(alloc[0] == 4 && alloc[1] == 2 && alloc[2] == 4 && info.n_exhausted == 1);
    /* capped at a budget of 2 per query (6 in total): the first round only */
    size_t w2[] = {0, 1, 2, 0, 1, 2};
    expect_trace(&p, ALLOT_REPLAY_EARLY_STOP, 2.0, NAN, &o, w2, 6, alloc, &info);
    allot_replay_pools_free(&p);
}

static void test_bins(void) {
    allot_replay_pools p = {0};
    /* ten queries: five never solved, five always solved */
    for (int i = 0; i < 10; i++) {
        char id[32];
        snprintf(id, sizeof id, "q%d", i);
        if (i % 2)
            add_query(&p, id, "AAAA", "1111", NULL);
        else
            add_query(&p, id, "BCDE", "0000", NULL);
    }
    allot_replay_options o;
    allot_replay_options_default(&o);
    allot_replay_view v;
    allot_error err = {0};
    CHECK(allot_replay_view_make(&p, -1, 1, &v, &err) == ALLOT_OK);
    size_t alloc[10];
    allot_replay_run_info info;
    memset(&info, 0, sizeof info);
    /* oracle difficulty: the hopeless bin takes 0 samples, the easy bin 1 (accuracy 1 at the least cost) */
    CHECK(allot_replay_run(&v, ALLOT_REPLAY_BINS_ORACLE, 1.0, NAN, &o, alloc, &info, &err) == ALLOT_OK);
    for (int i = 0; i < 10; i++) CHECK(alloc[i] == (size_t)(i % 2));
    allot_replay_metrics mt;
    allot_replay_evaluate(&v, alloc, &o, &mt);
    CHECK(mt.accuracy == 0.5 && mt.mean_spent == 0.5);
    /* prompt-length difficulty without prompts: one bin for all -> the best single tier within 1 */
    CHECK(allot_replay_run(&v, ALLOT_REPLAY_BINS_PREDICTED, 1.0, NAN, &o, alloc, &info, &err) == ALLOT_OK);
    for (int i = 0; i < 10; i++) CHECK(alloc[i] == 1);
    allot_replay_view_free(&v);
    allot_replay_pools_free(&p);
}

static void test_oracle(void) {
    allot_replay_pools p = {0};
    add_query(&p, "easy", "AAAA", "1111", NULL);
    add_query(&p, "quarter", "ABCD", "1000", NULL);
    add_query(&p, "never", "BBBB", "0000", NULL);
    allot_replay_options o;
    allot_replay_options_default(&o);
    allot_replay_view v;
    allot_error err = {0};
    CHECK(allot_replay_view_make(&p, -1, 1, &v, &err) == ALLOT_OK);
    size_t alloc[3];
    allot_replay_run_info info;
    memset(&info, 0, sizeof info);
    /* coverage curves: easy pass@k = 1 (k >= 1), quarter pass@k = k/4, never 0. Budget 2 (6 in
     * total): easy 1 sample (gain 1), quarter all 4 (gain 1/4 each), never 0 (no gain) */
    allot_status st = allot_replay_run(&v, ALLOT_REPLAY_ORACLE_COVERAGE, 2.0, NAN, &o, alloc, &info, &err);
    if (st == ALLOT_E_UNSUPPORTED) {
        printf("note: oracle not built in this tree (%s)\n", err.msg);
    } else {
        CHECK(st == ALLOT_OK);
        CHECK(alloc[0] == 1 && alloc[1] == 4 && alloc[2] == 0);
        /* majority: "easy" is right and "never" wrong whatever k; budget 1 (3): easy 1, the rest
         * on "quarter" (expected majority accuracy 1/4 for every k, so 1 sample, the cheapest) */
        CHECK(allot_replay_run(&v, ALLOT_REPLAY_ORACLE, 1.0, NAN, &o, alloc, &info, &err) == ALLOT_OK);
        CHECK(alloc[0] == 1 && alloc[1] == 1 && alloc[2] == 0);
    }
    allot_replay_view_free(&v);
    allot_replay_pools_free(&p);
}

static void test_metrics(void) {
    allot_replay_pools p = {0};
    double sc[] = {0.2, 0.9, 0.9, 0.1};
    add_query(&p, "tie", "AB", "10", NULL);
    add_query(&p, "nullnowin", "..B", "000", NULL);
    add_query(&p, "allnull", "...", "000", NULL);
    add_query(&p, "scores", "ABCD", "0101", sc);
    allot_replay_view v;
    allot_error err = {0};
    CHECK(allot_replay_view_make(&p, -1, 1, &v, &err) == ALLOT_OK);
    CHECK(allot_replay_query_accuracy(&v, 0, 2, ALLOT_REPLAY_SELECT_MAJORITY) == 0.5);
    CHECK(allot_replay_query_accuracy(&v, 0, 1, ALLOT_REPLAY_SELECT_MAJORITY) == 1.0);
    CHECK(allot_replay_query_accuracy(&v, 1, 3, ALLOT_REPLAY_SELECT_MAJORITY) == 0.0);
    CHECK(allot_replay_query_accuracy(&v, 2, 3, ALLOT_REPLAY_SELECT_MAJORITY) == 0.0);
    /* best: 0.9 twice (one correct, one not) -> 0.5 */
    CHECK(allot_replay_query_accuracy(&v, 3, 4, ALLOT_REPLAY_SELECT_BEST) == 0.5);
    CHECK(allot_replay_query_accuracy(&v, 3, 2, ALLOT_REPLAY_SELECT_BEST) == 1.0);
    size_t alloc[4] = {2, 3, 3, 4};
    allot_replay_options o;
    allot_replay_options_default(&o);
    allot_replay_metrics mt;
    allot_replay_evaluate(&v, alloc, &o, &mt);
    CHECK(mt.coverage == 0.5);
    CHECK(fabs(mt.accuracy - (0.5 + 0 + 0 + 0.5) / 4) < 1e-15); /* "scores" majority: 4-way tie, 2 right */
    CHECK(mt.total_spent == 12);
    allot_replay_view_free(&v);
    allot_replay_pools_free(&p);
}

/* Beta(a+1, b+1) density integrated over (1/2, 1) by composite Simpson with many panels. */
static double beta_numeric(int a, int b) {
    double lnB = lgamma(a + 1.0) + lgamma(b + 1.0) - lgamma(a + b + 2.0);
    int n = 20000;
    double h = 0.5 / n, sum = 0;
    for (int k = 0; k <= n; k++) {
        double x = 0.5 + k * h;
        double f = (x >= 1.0) ? (b == 0 ? exp(-lnB) : 0.0) : exp(a * log(x) + b * log1p(-x) - lnB);
        sum += f * (k == 0 || k == n ? 1 : (k % 2 ? 4 : 2));
    }
    return sum * h / 3;
}

static void test_beta(void) {
    double worst = 0;
    for (int a = 0; a <= 25; a++)
        for (int b = 0; b <= 25; b++) {
            double d = fabs(allot_replay_beta_stop_prob(a, b) - beta_numeric(a, b));
            if (d > worst) worst = d;
        }
    if (worst > 1e-9) fprintf(stderr, "beta: worst difference %.3g\n", worst);
    CHECK(worst < 1e-9);
    CHECK(allot_replay_beta_stop_prob(0, 0) == 0.5);
    CHECK(allot_replay_beta_stop_prob(1, 0) == 0.75);
    CHECK(fabs(allot_replay_beta_stop_prob(4, 0) - 31.0 / 32) < 1e-15);
    CHECK(fabs(allot_replay_beta_stop_prob(3, 3) - 0.5) < 1e-15);
}

/* Random pools: no method ever spends more than the total, nor more than a pool holds. */
static void test_budget_property(void) {
    allot_rng rng;
    allot_rng_seed(&rng, 42);
    int over = 0, beyond_pool = 0, runs = 0;
    for (int trial = 0; trial < 60; trial++) {
        allot_replay_pools p = {0};
        size_t nq = 1 + allot_rng_below(&rng, 12);
        for (size_t i = 0; i < nq; i++) {
            size_t n = 1 + allot_rng_below(&rng, 12);
            allot_replay_sample s[16];
            int na = 1 + (int)allot_rng_below(&rng, 4);
            for (size_t j = 0; j < n; j++) {
                s[j].answer = (int)allot_rng_below(&rng, (uint64_t)na + 1) - 1;
                s[j].correct = s[j].answer == 0;
                s[j].score = allot_rng_uniform(&rng);
                s[j].cost = 0.25 + 3 * allot_rng_uniform(&rng);
            }
            char id[32];
            snprintf(id, sizeof id, "r%zu", i);
            allot_error err = {0};
            allot_replay_pools_add(&p, id, NULL, s, n, na, &err);
        }
        allot_replay_options o;
        allot_replay_options_default(&o);
        o.unit = trial % 2 ? ALLOT_REPLAY_UNIT_COST : ALLOT_REPLAY_UNIT_SAMPLES;
        o.reward = trial % 3 == 0 ? ALLOT_REPLAY_REWARD_SCORE : ALLOT_REPLAY_REWARD_CORRECT;
        o.K = 1 + (int)allot_rng_below(&rng, 4);
        o.gamma = trial % 3 == 0 ? 0.95 : (trial % 3 == 1 ? 1.0 : 2.0);
        o.select = trial % 4 == 3 ? ALLOT_REPLAY_SELECT_BEST : ALLOT_REPLAY_SELECT_MAJORITY;
        allot_replay_view v;
        allot_error err = {0};
        allot_replay_view_make(&p, trial % 5 == 0 ? -1 : trial, 7, &v, &err);
        for (int bi = 0; bi < 4; bi++) {
            double budget = allot_rng_uniform(&rng) * 9;
            for (int m = 0; m < ALLOT_REPLAY_POLICY; m++) {
                size_t alloc[16];
                allot_replay_run_info info;
                memset(&info, 0, sizeof info);
                allot_status st =
                    allot_replay_run(&v, (allot_replay_method)m, budget, NAN, &o, alloc, &info, &err);
                if (st == ALLOT_E_UNSUPPORTED) continue;
                if (st != ALLOT_OK) {
                    fprintf(stderr, "%s: %s\n", allot_replay_method_name((allot_replay_method)m), err.msg);
                    over++;
                    continue;
                }
                runs++;
                allot_replay_metrics mt;
                allot_replay_evaluate(&v, alloc, &o, &mt);
                double total = budget * (double)nq;
                if (mt.total_spent > total + 1e-9 * (total > 1 ? total : 1)) {
                    fprintf(stderr, "%s spent %g > %g (trial %d)\n",
                            allot_replay_method_name((allot_replay_method)m), mt.total_spent, total, trial);
                    over++;
                }
                if (fabs(mt.total_spent - info.spent) > 1e-9 * (total > 1 ? total : 1)) over++;
                for (size_t i = 0; i < nq; i++) beyond_pool += alloc[i] > p.q[i].n;
            }
        }
        allot_replay_view_free(&v);
        allot_replay_pools_free(&p);
    }
    CHECK(over == 0);
    CHECK(beyond_pool == 0);
    CHECK(runs > 1000);
}

/* K at least the largest pool and gamma unreachable: every bandit rule deals exactly as uniform. */
static void test_bandits_equal_uniform(void) {
    allot_rng rng;
    allot_rng_seed(&rng, 9);
    int diff = 0;
    for (int trial = 0; trial < 30; trial++) {
        allot_replay_pools p = {0};
        size_t nq = 2 + allot_rng_below(&rng, 10);
        for (size_t i = 0; i < nq; i++) {
            size_t n = 1 + allot_rng_below(&rng, 10);
            allot_replay_sample s[16];
            for (size_t j = 0; j < n; j++) {
                s[j].answer = (int)allot_rng_below(&rng, 3);
                s[j].correct = s[j].answer == 0;
                s[j].score = allot_rng_uniform(&rng);
                s[j].cost = 1;
            }
            char id[32];
            snprintf(id, sizeof id, "u%zu", i);
            allot_replay_pools_add(&p, id, NULL, s, n, 3, NULL);
        }
        allot_replay_options o;
        allot_replay_options_default(&o);
        o.K = 1000;
        o.gamma = 2.0; /* rewards are 0/1 */
        allot_replay_view v;
        allot_replay_view_make(&p, trial, 3, &v, NULL);
        double budget = allot_rng_uniform(&rng) * 12;
        size_t ua[16], ut[256];
        allot_replay_run_info ui;
        memset(&ui, 0, sizeof ui);
        ui.trace = ut;
        ui.trace_cap = 256;
        allot_replay_run(&v, ALLOT_REPLAY_UNIFORM, budget, NAN, &o, ua, &ui, NULL);
        for (int m = ALLOT_REPLAY_ELIMINATION; m <= ALLOT_REPLAY_ENTROPY; m++) {
            size_t ba[16], bt[256];
            allot_replay_run_info bi;
            memset(&bi, 0, sizeof bi);
            bi.trace = bt;
            bi.trace_cap = 256;
            allot_replay_run(&v, (allot_replay_method)m, budget, NAN, &o, ba, &bi, NULL);
            int same = bi.trace_len == ui.trace_len && memcmp(ba, ua, nq * sizeof *ua) == 0;
            for (size_t j = 0; same && j < ui.trace_len && j < 256; j++) same = bt[j] == ut[j];
            if (!same) {
                fprintf(stderr, "trial %d: %s differs from uniform\n", trial,
                        allot_replay_method_name((allot_replay_method)m));
                diff++;
            }
        }
        allot_replay_view_free(&v);
        allot_replay_pools_free(&p);
    }
    CHECK(diff == 0);
}

/* Write text to a new temporary file named from the template path (mkstemp); 1 on success. */
static int write_temp(char *path, const char *text) {
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return 0;
    FILE *fp = fdopen(fd, "w");
    CHECK(fp != NULL);
    if (!fp) return 0;
    fputs(text, fp);
    fclose(fp);
    return 1;
}

/* A constant-classifier bundle (one class: tier majority@2) through the runtime loader. */
static void test_policy(void) {
    const char *bundle =
        "{\"format\":\"allot-policy\",\"version\":1,"
        "\"tiers\":[{\"name\":\"majority@1\",\"cost\":1},{\"name\":\"majority@2\",\"cost\":2}],"
        "\"features\":{\"version\":1,\"builtin\":[\"len_bytes\"]},"
        "\"classifier\":{\"kind\":\"constant\",\"classes\":[1]},\"decision\":{\"rule\":\"argmax\"}}";
    char path[] = "/tmp/allot-test-replay-policy-XXXXXX";
    if (!write_temp(path, bundle)) return;
    allot_replay_pools p = {0};
    add_query(&p, "q0", "AAA", "111", NULL);
    add_query(&p, "q1", "ABA", "010", NULL);
    allot_replay_policy *pol = NULL;
    allot_error err = {0};
    allot_status st = allot_replay_policy_load(path, &p, &pol, &err);
    if (st != ALLOT_OK) fprintf(stderr, "policy: %s\n", err.msg);
    CHECK(st == ALLOT_OK);
    allot_replay_options o;
    allot_replay_options_default(&o);
    o.policy = pol;
    /* budget 3: the policy's tier (2 samples each) fits: 0 1 0 1 */
    size_t w[] = {0, 1, 0, 1};
    size_t alloc[2];
    expect_trace(&p, ALLOT_REPLAY_POLICY, 3.0, NAN, &o, w, 4, alloc, NULL);
    CHECK(alloc[0] == 2 && alloc[1] == 2);
    /* budget 1: no price makes the constant policy cheaper; the budget cuts it round-robin */
    expect_trace(&p, ALLOT_REPLAY_POLICY, 1.0, NAN, &o, w, 2, alloc, NULL);
    CHECK(alloc[0] == 1 && alloc[1] == 1);
    /* without a bundle the method reports itself unavailable */
    o.policy = NULL;
    allot_replay_view v;
    allot_replay_view_make(&p, -1, 1, &v, NULL);
    allot_replay_run_info info;
    memset(&info, 0, sizeof info);
    CHECK(allot_replay_run(&v, ALLOT_REPLAY_POLICY, 1.0, NAN, &o, alloc, &info, &err) == ALLOT_E_UNSUPPORTED);
    CHECK(info.note != NULL);
    allot_replay_view_free(&v);
    allot_replay_policy_free(pol);
    allot_replay_pools_free(&p);
    remove(path);
}

/* A value bundle (one LIBLINEAR regression per tier, constant predictions 0.5, 0.7, 0.75): replay
 * applies the value rule with the smallest lambda >= 0 meeting the budget. */
static void test_policy_value(void) {
    const char *bundle =
        "{\"format\":\"allot-policy\",\"version\":1,"
        "\"tiers\":[{\"name\":\"majority@1\",\"cost\":1},{\"name\":\"majority@2\",\"cost\":2},"
        "{\"name\":\"majority@4\",\"cost\":4}],"
        "\"features\":{\"version\":1,\"builtin\":[\"len_bytes\"]},"
        "\"classifier\":{\"kind\":\"liblinear\",\"target\":\"value\",\"classes\":[0,1,2],\"input\":\"dense\","
        "\"liblinear_per_tier\":["
        "\"solver_type L2R_L2LOSS_SVR\\nnr_class 2\\nnr_feature 0\\nbias 1\\nw\\n0.5\\n\","
        "\"solver_type L2R_L2LOSS_SVR\\nnr_class 2\\nnr_feature 0\\nbias 1\\nw\\n0.7\\n\","
        "\"solver_type L2R_L2LOSS_SVR\\nnr_class 2\\nnr_feature 0\\nbias 1\\nw\\n0.75\\n\"]},"
        "\"decision\":{\"rule\":\"value\",\"lambda\":0}}";
    char path[] = "/tmp/allot-test-replay-policy-XXXXXX";
    if (!write_temp(path, bundle)) return;
    allot_replay_pools p = {0};
    add_query(&p, "q0", "AAA", "111", NULL);
    add_query(&p, "q1", "ABA", "010", NULL);
    allot_replay_policy *pol = NULL;
    allot_error err = {0};
    allot_status st = allot_replay_policy_load(path, &p, &pol, &err);
    if (st != ALLOT_OK) fprintf(stderr, "value policy: %s\n", err.msg);
    CHECK(st == ALLOT_OK);
    if (st != ALLOT_OK) {
        allot_replay_pools_free(&p);
        remove(path);
        return;
    }
    /* budget 3: lambda 0 picks majority@4 (4 > 3); from lambda 0.025 majority@2 (2 samples each) */
    size_t k[2];
    double mu = -1;
    CHECK(allot_replay_policy_plan(pol, 2, 3.0, k, &mu) == 2);
    CHECK(k[0] == 2 && k[1] == 2);
    CHECK(fabs(mu - 0.025) < 1e-6);
    /* budget 1.5: majority@1 from lambda 0.2 */
    CHECK(allot_replay_policy_plan(pol, 2, 1.5, k, &mu) == 2);
    CHECK(k[0] == 1 && k[1] == 1);
    CHECK(fabs(mu - 0.2) < 1e-6);
    /* budget 4: lambda 0, the most accurate predicted tier */
    CHECK(allot_replay_policy_plan(pol, 2, 4.0, k, &mu) == 2);
    CHECK(k[0] == 4 && k[1] == 4 && mu == 0);
    allot_replay_policy_free(pol);
    allot_replay_pools_free(&p);
    remove(path);
}

static void test_keep(void) {
    allot_replay_pools p = {0};
    add_query(&p, "a", "AAA", "111", NULL);
    add_query(&p, "b", "ABCDE", "10000", NULL);
    add_query(&p, "c", "AB", "10", NULL);
    const char *ids[] = {"c", "zz", "a"};
    size_t kept = 0;
    CHECK(allot_replay_pools_keep(&p, ids, 3, &kept, NULL) == ALLOT_OK);
    CHECK(kept == 2 && p.n == 2 && p.n_skipped == 1 && p.n_max == 3);
    CHECK(strcmp(p.q[0].id, "a") == 0 && strcmp(p.q[1].id, "c") == 0);
    allot_replay_pools_free(&p);
}

static void test_efficiency(void) {
    double cx[] = {0, 1, 2, 4}, cy[] = {0, 0.4, 0.5, 0.6};
    CHECK(fabs(allot_replay_efficiency(cx, cy, 4, 0.45, 1.0) - 1.5) < 1e-12);
    CHECK(fabs(allot_replay_efficiency(cx, cy, 4, 0.55, 2.0) - 1.5) < 1e-12);
    CHECK(isinf(allot_replay_efficiency(cx, cy, 4, 0.61, 2.0)));
    CHECK(isnan(allot_replay_efficiency(cx, cy, 4, 0.5, 0.0)));
    /* a non-monotone curve (majority@2 below majority@1): the reference is its upper concave
     * envelope (0,0) (1,.5) (4,.65), cut at its top; (2,.4), (3,.55) and (5,.6) lie below it */
    double nx[] = {0, 1, 2, 3, 4, 5}, ny[] = {0, 0.5, 0.4, 0.55, 0.65, 0.6};
    CHECK(fabs(allot_replay_efficiency(nx, ny, 6, 0.4, 2.0) - 0.4) < 1e-12);      /* 0.8 on the envelope */
    CHECK(fabs(allot_replay_efficiency(nx, ny, 6, 0.55, 3.0) - 2.0 / 3) < 1e-12); /* the raw curve: 1 */
    CHECK(fabs(allot_replay_efficiency(nx, ny, 6, 0.65, 4.0) - 1.0) < 1e-12);
    CHECK(fabs(allot_replay_efficiency(nx, ny, 6, 0.6, 5.0) - (1 + 3 * (0.1 / 0.15)) / 5) < 1e-12);
    CHECK(isinf(allot_replay_efficiency(nx, ny, 6, 0.66, 5.0)));
    /* a point of the envelope is worth exactly its own budget, whatever the raw curve does */
    for (size_t k = 0; k < 6; k++)
        if (k == 1 || k == 4) CHECK(fabs(allot_replay_efficiency(nx, ny, 6, ny[k], nx[k]) - 1.0) < 1e-12);
}

int main(void) {
    test_uniform();
    test_elimination();
    test_ucb();
    test_gap();
    test_entropy();
    test_adaptive_consistency();
    test_early_stop();
    test_bins();
    test_oracle();
    test_metrics();
    test_beta();
    test_budget_property();
    test_bandits_equal_uniform();
    test_policy();
    test_policy_value();
    test_keep();
    test_efficiency();
    printf("replay: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
