/*
 * test_curves_threads.c - allot_curves_compute on two threads (the reader one batch ahead of the
 * values) gives what one thread gives: the same values bit for bit, and the same error when lines
 * fail, whichever of the reader (bad JSON, a feature changing kind) and the values (an answer
 * graded both ways) meets its error first, on either side of a batch boundary. Run under TSan too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/check_stop.h"
#include "curves.h"
#include "rng.h"

enum { N_LINES = 1000, N_SAMPLES = 24 };

/* What goes wrong on a line. */
typedef enum { FINE, BAD_GRADE, BAD_JSON, FEATURE_KIND } fault;

typedef struct injected {
    size_t line; /* 1-based */
    fault what;
} injected;

static int has_fault(const injected *inj, size_t n_inj, size_t line, fault what) {
    for (size_t i = 0; i < n_inj; i++)
        if (inj[i].line == line && inj[i].what == what) return 1;
    return 0;
}

static void write_runs(const char *path, const injected *inj, size_t n_inj) {
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    allot_rng rng;
    allot_rng_seed(&rng, 99);
    for (size_t line = 1; line <= N_LINES; line++) {
        if (has_fault(inj, n_inj, line, BAD_JSON)) {
            fputs("{\"id\":\"broken\",\n", fp);
            continue;
        }
        int kind_fault = has_fault(inj, n_inj, line, FEATURE_KIND);
        int grade_fault = has_fault(inj, n_inj, line, BAD_GRADE);
        fprintf(fp, "{\"id\":\"q%zu\",\"features\":{\"len\":%zu,", line, line % 7);
        if (kind_fault)
            fputs("\"emb\":1.5}", fp);
        else
            fprintf(fp, "\"emb\":[%zu,0.25]}", line % 3);
        fputs(",\"samples\":[", fp);
        double p = allot_rng_uniform(&rng);
        for (int s = 0; s < N_SAMPLES; s++) {
            int ok = allot_rng_uniform(&rng) < p;
            int wrong = (int)allot_rng_below(&rng, 4);
            int null = !ok && allot_rng_below(&rng, 6) == 0;
            if (grade_fault && s < 2) ok = s == 0, null = 0; /* "right" graded correct, then not */
            fprintf(fp, "%s{\"model\":\"%s\",\"correct\":%s,\"answer\":", s ? "," : "", s % 2 ? "m2" : "m1",
                    ok ? "true" : "false");
            if (null)
                fputs("null", fp);
            else if (ok || (grade_fault && s < 2))
                fputs("\"right\"", fp);
            else
                fprintf(fp, "\"w%d\"", wrong);
            fprintf(fp, ",\"score\":%.4f,\"step_scores\":[%.3f,%.3f],\"cost\":%d}", allot_rng_uniform(&rng),
                    allot_rng_uniform(&rng), allot_rng_uniform(&rng), 10 + (int)allot_rng_below(&rng, 90));
        }
        fputs("]}\n", fp);
    }
    CHECK(fclose(fp) == 0);
}

static int same_doubles(const double *a, const double *b, size_t n) {
    return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

/* The curves of path with one thread and with two: the same status and message, or the same curves. */
static void compare_threads(const char *path, const allot_tier_set *ts, const char *expect) {
    allot_curves *c[2] = {NULL, NULL};
    allot_error err[2] = {{0}, {0}};
    allot_status st[2];
    for (int t = 0; t < 2; t++) {
        allot_curves_options opt;
        allot_curves_options_default(&opt);
        opt.threads = t + 1;
        opt.permutations = 64;
        opt.max_exact_subsets = 0;
        st[t] = allot_curves_compute(path, ts, &opt, &c[t], &err[t]);
    }
    CHECKF(st[0] == st[1] && strcmp(err[0].msg, err[1].msg) == 0, "one thread: %d '%s'; two: %d '%s'",
           (int)st[0], err[0].msg, (int)st[1], err[1].msg);
    if (expect)
        CHECKF(st[0] != ALLOT_OK && strstr(err[0].msg, expect), "expected '%s', got '%s'", expect,
               err[0].msg);
    if (!st[0] && !st[1]) {
        size_t n = c[0]->n_queries * c[0]->n_tiers;
        CHECK(c[0]->n_queries == N_LINES && c[1]->n_queries == N_LINES && c[1]->n_tiers == c[0]->n_tiers);
        CHECK(same_doubles(c[0]->acc, c[1]->acc, n) && same_doubles(c[0]->cost, c[1]->cost, n) &&
              same_doubles(c[0]->se, c[1]->se, n));
        CHECK(c[0]->n_features == c[1]->n_features);
        CHECK(same_doubles(c[0]->features, c[1]->features, c[0]->n_queries * c[0]->n_features));
        CHECK(same_doubles(c[0]->embed, c[1]->embed, c[0]->n_queries * c[0]->embed_dim));
        int ids = 0;
        for (size_t q = 0; q < c[0]->n_queries; q++) ids += strcmp(c[0]->ids[q], c[1]->ids[q]) != 0;
        CHECK(ids == 0);
    }
    allot_curves_free(c[0]);
    allot_curves_free(c[1]);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s/allot-test-curves-threads-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/runs.jsonl", dir);
    allot_tier_set ts;
    allot_error err = {0};
    CHECKF(allot_tier_set_parse("m1:majority@1,3,6,12,m2:vote@2,5,m1:pass@2,4,m2:best@3/min,m1:best@2", &ts,
                                &err) == ALLOT_OK,
           "%s", err.msg);
    static const struct {
        injected inj[2];
        size_t n;
        const char *expect; /* in the error, NULL: no error */
    } cases[] = {
        {{{0, FINE}}, 0, NULL},
        {{{300, BAD_GRADE}, {700, BAD_JSON}}, 2, ":300: samples[1].correct"},
        {{{600, BAD_GRADE}, {650, BAD_JSON}}, 2, ":600: samples[1].correct"},
        {{{400, BAD_GRADE}, {400, FEATURE_KIND}}, 2, ":400: samples[1].correct"},
        {{{400, FEATURE_KIND}, {401, BAD_GRADE}}, 2, ":400: features.emb"},
        {{{900, BAD_JSON}}, 1, ":900: invalid JSON"},
        {{{5, BAD_GRADE}}, 1, ":5: samples[1].correct"},
        {{{1000, BAD_GRADE}}, 1, ":1000: samples[1].correct"},
        {{{256, BAD_GRADE}, {257, BAD_JSON}}, 2, ":256: samples[1].correct"},
        {{{257, BAD_GRADE}, {256, BAD_JSON}}, 2, ":256: invalid JSON"},
        {{{513, FEATURE_KIND}, {512, BAD_GRADE}}, 2, ":512: samples[1].correct"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_runs(path, cases[i].inj, cases[i].n);
        compare_threads(path, &ts, cases[i].expect);
    }
    allot_tier_set_free(&ts);
    unlink(path);
    CHECK(rmdir(dir) == 0);
    return CHECK_DONE("curves threads");
}
