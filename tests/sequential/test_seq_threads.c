/*
 * test_seq_threads.c - one sequential policy shared by 8 threads, each with its own workspace: every
 * thread's step decisions equal the single-threaded ones (run under ThreadSanitizer too, label tsan),
 * and a step allocates nothing (malloc/calloc/realloc wrapped at link time).
 */
#define CHECK_AREA "sequential threads"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check_continue.h"
#include "../policy/alloc_count.h"
#include "allot/allot.h"

#define N_STATES 400
#define N_THREADS 8

static const allot_policy *policy;
static char answers[N_STATES][32][4];
static allot_sample_view views[N_STATES][32];
static size_t n_seen[N_STATES];
static allot_step want[N_STATES];

static allot_status step_of(allot_workspace *ws, size_t s, allot_step *out) {
    allot_seq_query q = ALLOT_SEQ_QUERY_INIT;
    q.query.prompt = "How many eggs are left?";
    q.query.prompt_len = strlen(q.query.prompt);
    q.samples = views[s];
    q.n_samples = n_seen[s];
    allot_step st = ALLOT_STEP_INIT;
    *out = st;
    return allot_policy_step(policy, ws, &q, NULL, out, NULL);
}

static void *worker(void *arg) {
    size_t id = (size_t)arg, bad = 0;
    allot_workspace *ws = NULL;
    if (allot_workspace_create(policy, &ws, NULL)) return (void *)(size_t)N_STATES;
    for (size_t rep = 0; rep < 3; rep++)
        for (size_t k = 0; k < N_STATES; k++) {
            size_t s = (k * 7 + id * 13) % N_STATES;
            allot_step got;
            if (step_of(ws, s, &got) || got.stop != want[s].stop || got.stage != want[s].stage ||
                memcmp(&got.value_now, &want[s].value_now, sizeof got.value_now))
                bad++;
        }
    allot_workspace_free(ws);
    return (void *)bad;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "models/default-sequential.json";
    allot_policy *p = NULL;
    allot_error err = {0};
    REQUIRE_OK(allot_policy_load_file(path, &p, &err));
    policy = p;
    CHECK(allot_policy_is_sequential(p));
    const allot_ladder *l = allot_policy_ladder(p);
    size_t S = allot_ladder_n_stages(l);
    for (size_t s = 0; s < N_STATES; s++) { /* every stage, and no sample at all */
        allot_stage_info si;
        allot_ladder_stage(l, s % S, &si, NULL);
        n_seen[s] = s % (S + 1) == S ? 0 : si.k;
        for (size_t i = 0; i < n_seen[s]; i++) {
            snprintf(answers[s][i], sizeof answers[s][i], "%zu", (s * 31 + i * i) % (1 + s % 5));
            views[s][i] = (allot_sample_view){answers[s][i], strlen(answers[s][i]), NAN, 1, 0, 0};
        }
    }
    allot_workspace *ws = NULL;
    REQUIRE_OK(allot_workspace_create(p, &ws, &err));
    size_t stops = 0, a0 = pt_alloc_count();
    for (size_t s = 0; s < N_STATES; s++) {
        REQUIRE_OK(step_of(ws, s, &want[s]));
        stops += want[s].stop;
    }
    CHECKF(pt_alloc_count() == a0, "%zu allocations in %d steps (documented: none)", pt_alloc_count() - a0,
           N_STATES);
    CHECK(stops > 0 && stops < N_STATES); /* the states exercise both decisions */
    pthread_t th[N_THREADS];
    for (size_t t = 0; t < N_THREADS; t++) CHECK(pthread_create(&th[t], NULL, worker, (void *)t) == 0);
    for (size_t t = 0; t < N_THREADS; t++) {
        void *bad = NULL;
        pthread_join(th[t], &bad);
        CHECKF(bad == NULL, "thread %zu: %zu decisions differ", t, (size_t)bad);
    }
    allot_workspace_free(ws);
    allot_policy_free(p);
    return CHECK_DONE();
}
