/*
 * bench_sequential.c - what a sequential policy costs to train and to serve.
 *
 *   1. Training: `allot train --stages` on 10^4 synthetic queries x 40 samples (ladder
 *      majority@1,2,4,8,16,40,64 on pools of 64; --quick: 2,000 queries), XGBoost, 8 orderings.
 *   2. Serving: one allot_policy_step with 40 samples seen (the stage before the last, so two
 *      regressors are evaluated), over 20,000 DISTINCT states, state features included; p50 / p99,
 *      and the allocator calls made by the loop (the goal is none). Beside it, in the same run: a
 *      static value policy's allot_policy_predict on distinct prompts (the reference a gateway pays
 *      today), and allot_ladder_state alone.
 * Synthetic data: each query has a per-sample accuracy drawn from a Beta-like mix; wrong answers
 * spread over a few values. Figures are printed, never asserted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc_count.h"
#include "allot/allot.h"
#include "rng.h"
#include "seq_train.h"

#define POOL 64
#define N_STATES 20000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *lat, size_t n, size_t allocs) {
    qsort(lat, n, sizeof *lat, cmp_d);
    printf("  %-52s p50 %8.0f ns  p99 %8.0f ns  allocator calls %zu\n", name, lat[n / 2],
           lat[(size_t)(0.99 * (double)n)], allocs);
}

/* Synthetic runs: n queries x POOL samples. */
static void write_runs(const char *path, int n) {
    FILE *f = fopen(path, "w");
    allot_rng rng;
    allot_rng_seed(&rng, 5);
    for (int q = 0; q < n; q++) {
        double u = allot_rng_uniform(&rng), p = u < 0.3 ? 0.9 : u < 0.6 ? 0.05 + 0.1 * u : 0.3 + 0.4 * u;
        fprintf(f,
                "{\"id\":\"b%05d\",\"prompt\":\"synthetic question %d with some words in it\",\"samples\":[",
                q, q);
        for (int i = 0; i < POOL; i++) {
            int right = allot_rng_uniform(&rng) < p;
            fprintf(f, "%s{\"answer\":\"%d\",\"correct\":%s}", i ? "," : "",
                    right ? 7 : (int)allot_rng_below(&rng, 4), right ? "true" : "false");
        }
        fprintf(f, "]}\n");
    }
    fclose(f);
}

static int train(const char *runs, const char *out, int n) {
    allot_sq_train_options o;
    allot_sq_train_options_default(&o);
    o.budget = 8;
    o.progress = 1;
    allot_sq_train_report r;
    allot_error err = {0};
    double t0 = now_s();
    if (allot_sq_train(runs, "majority@1,2,4,8,16,40,64", &o, out, &r, &err)) {
        fprintf(stderr, "train: %s\n", err.msg);
        return 1;
    }
    double dt = now_s() - t0;
    printf("training: %d queries x %d samples, %zu rows x %zu inputs, %zu stages: %.1f s (%.0f rows/s); "
           "held-out "
           "acc %.4f at spend %.3f\n",
           n, POOL, r.n_rows, r.n_inputs, r.n_stages, dt, (double)r.n_rows / dt, r.test_acc, r.test_cost);
    return 0;
}

/* One step decision over distinct states, the state features alone, and the reference. */
static void serve(const char *bundle) {
    allot_policy *p = NULL;
    allot_workspace *ws = NULL;
    allot_error err = {0};
    if (allot_policy_load_file(bundle, &p, &err) || allot_workspace_create(p, &ws, &err)) {
        fprintf(stderr, "load: %s\n", err.msg);
        return;
    }
    /* distinct states: 20,000 random orderings of random answer pools, 40 samples seen */
    static char answers[N_STATES][40][4];
    static allot_sample_view views[N_STATES][40];
    allot_rng rng;
    allot_rng_seed(&rng, 9);
    for (size_t s = 0; s < N_STATES; s++)
        for (size_t i = 0; i < 40; i++) {
            snprintf(answers[s][i], 4, "%d", (int)allot_rng_below(&rng, 1 + s % 6));
            views[s][i] = (allot_sample_view){answers[s][i], strlen(answers[s][i]), NAN, 1, 0, 0};
        }
    double *lat = malloc(N_STATES * sizeof *lat);
    allot_seq_query q = ALLOT_SEQ_QUERY_INIT;
    q.query.prompt = "synthetic question 1 with some words in it";
    q.query.prompt_len = strlen(q.query.prompt);
    allot_step step = ALLOT_STEP_INIT;
    for (size_t s = 0; s < 1000; s++) { /* warm up */
        q.samples = views[s];
        q.n_samples = 40;
        allot_policy_step(p, ws, &q, NULL, &step, NULL);
    }
    size_t a0 = pt_alloc_count(), stops = 0;
    for (size_t s = 0; s < N_STATES; s++) {
        q.samples = views[s];
        q.n_samples = 40;
        double t0 = now_s();
        allot_policy_step(p, ws, &q, NULL, &step, NULL);
        lat[s] = 1e9 * (now_s() - t0);
        stops += step.stop;
    }
    printf("serving (%zu of %d states stopped):\n", stops, N_STATES);
    report("allot_policy_step, 40 samples seen (2 regressors)", lat, N_STATES, pt_alloc_count() - a0);
    /* the state features alone */
    const allot_ladder *l = allot_policy_ladder(p);
    size_t cap = allot_ladder_scratch_size(l), ns = allot_ladder_n_state(l);
    void *scratch = malloc(cap);
    float *feat = malloc(ns * sizeof *feat);
    a0 = pt_alloc_count();
    for (size_t s = 0; s < N_STATES; s++) {
        double t0 = now_s();
        allot_ladder_state(l, views[s], 40, scratch, cap, feat, NULL, NULL);
        lat[s] = 1e9 * (now_s() - t0);
    }
    report("allot_ladder_state alone (40 samples)", lat, N_STATES, pt_alloc_count() - a0);
    /* reference: a static policy's predict on distinct prompts (models/ when built from the tree) */
    allot_policy *sp = NULL;
    allot_workspace *sws = NULL;
    if (!allot_policy_load_file("models/default-value-xgboost.json", &sp, &err) &&
        !allot_workspace_create(sp, &sws, &err)) {
        char prompt[600];
        allot_decision d;
        a0 = pt_alloc_count();
        for (size_t s = 0; s < N_STATES; s++) {
            snprintf(prompt, sizeof prompt,
                     "Liam has %zu stickers and gives %zu of them to Farid; then he buys %zu more. How many "
                     "does he "
                     "have at the end of the week, if he loses a third of them on Monday?",
                     s, s % 97, s % 13);
            allot_query_input pq = ALLOT_QUERY_INPUT_INIT;
            pq.prompt = prompt;
            pq.prompt_len = strlen(prompt);
            double t0 = now_s();
            allot_policy_predict(sp, sws, &pq, NULL, NULL, 0, &d, NULL);
            lat[s] = 1e9 * (now_s() - t0);
        }
        report("reference: static value policy predict (models/)", lat, N_STATES, pt_alloc_count() - a0);
    } else {
        printf("  (reference skipped: run from the source tree so that models/default-value-xgboost.json is "
               "found)\n");
    }
    allot_workspace_free(sws);
    allot_policy_free(sp);
    free(scratch);
    free(feat);
    free(lat);
    allot_workspace_free(ws);
    allot_policy_free(p);
}

int main(int argc, char **argv) {
    int n = argc > 1 && !strcmp(argv[1], "--quick") ? 2000 : 10000;
    char runs[] = "/tmp/allot-bench-seq-XXXXXX";
    int fd = mkstemp(runs);
    if (fd < 0) return 1;
    char bundle[64];
    snprintf(bundle, sizeof bundle, "%s.json", runs);
    write_runs(runs, n);
    int rc = train(runs, bundle, n);
    if (!rc) serve(bundle);
    remove(runs);
    remove(bundle);
    return rc;
}
