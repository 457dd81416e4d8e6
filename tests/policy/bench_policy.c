/*
 * bench_policy - featurisation and whole-policy prediction cost on distinct ~500-byte prompts.
 *
 *   bench_policy [POLICY.json ...]
 *
 * Prints the mean CPU time per featurisation (dense only, dense + 4096 hashed n-grams), and for
 * each policy the p50/p99 of per-call CPU time of allot_policy_predict, with the number of heap
 * allocations made by all timed calls (linked with the malloc-counting wrapper). Prompts are
 * generated once (2,000 distinct, about 500 bytes each) and cycled, never the same one twice in
 * a row. CPU time (CLOCK_THREAD_CPUTIME_ID) rather than wall time, so a loaded machine does not
 * inflate the figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc_count.h"
#include "allot/allot.h"
#include "policy_test_util.h"

#define N 2000
#define REPS 10

static double cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    static char *prompt[N];
    static size_t len[N];
    static double extra[N];
    pt_rng r = {2026};
    size_t total = 0;
    for (int i = 0; i < N; i++) { /* concatenate generated problems up to ~500 bytes */
        char *s = malloc(1200);
        size_t n = 0;
        s[0] = '\0';
        while (n < 480) {
            char *p = pt_make_prompt(&r, 3, NULL, &extra[i]);
            size_t l = strlen(p);
            if (n + l + 1 >= 1200) {
                free(p);
                break;
            }
            memcpy(s + n, p, l + 1);
            n += l;
            s[n++] = ' ';
            s[n] = '\0';
            free(p);
        }
        prompt[i] = s;
        len[i] = n;
        total += n;
    }
    printf("%d distinct prompts, mean %.0f bytes\n", N, (double)total / N);

    allot_featurizer *f;
    allot_featurizer_create_default(NULL, 0, 4096, &f, NULL);
    static float dense[256];
    static uint32_t si[4096];
    static float sv[4096];
    size_t cnt;
    for (int mode = 0; mode < 2; mode++) {
        size_t a0 = pt_alloc_count();
        double t0 = cpu_ns();
        for (int rep = 0; rep < REPS; rep++)
            for (int i = 0; i < N; i++)
                allot_featurize(f, prompt[i], len[i], NULL, 0, dense, mode ? si : NULL, mode ? sv : NULL,
                                4096, &cnt, NULL);
        double t = (cpu_ns() - t0) / (REPS * N);
        printf("featurize %-22s %7.0f ns per prompt, %zu allocations in %d calls\n",
               mode ? "dense + hashed (4096):" : "dense only:", t, pt_alloc_count() - a0, REPS * N);
    }
    allot_featurizer_free(f);

    for (int a = 1; a < argc; a++) {
        allot_policy *p;
        allot_error e;
        double t0 = cpu_ns();
        if (allot_policy_load_file(argv[a], &p, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        double load = cpu_ns() - t0;
        allot_workspace *ws;
        allot_workspace_create(p, &ws, NULL);
        size_t ne = allot_featurizer_n_extra(allot_policy_featurizer(p));
        double *lat = malloc(sizeof(double) * REPS * N);
        size_t k = 0, a0 = pt_alloc_count();
        for (int rep = 0; rep < REPS; rep++)
            for (int i = 0; i < N; i++) {
                allot_query_input q = {.prompt = prompt[i],
                                       .prompt_len = len[i],
                                       .extras = ne == 1 ? &extra[i] : NULL,
                                       .n_extras = ne == 1 ? 1u : 0u};
                allot_decision d;
                double s = cpu_ns();
                allot_policy_predict(p, ws, &q, NULL, NULL, 0, &d, NULL);
                lat[k++] = cpu_ns() - s;
            }
        size_t allocs = pt_alloc_count() - a0;
        qsort(lat, k, sizeof *lat, cmp);
        printf("%s: load %.2f ms; predict p50 %.0f ns, p99 %.0f ns; %zu allocations in %zu calls\n", argv[a],
               load / 1e6, lat[k / 2], lat[(size_t)(0.99 * (double)(k - 1))], allocs, k);
        free(lat);
        allot_workspace_free(ws);
        allot_policy_free(p);
    }
    for (int i = 0; i < N; i++) free(prompt[i]);
    return 0;
}
