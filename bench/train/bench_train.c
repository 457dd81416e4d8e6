/*
 * bench_train.c - what `allot train` costs on the case size: 5,608 queries x 9 tiers.
 *
 * The case: `allot-gen-runs --seed 7 --queries 5608 --models 2` (synthetic word problems; two
 * simulated models), curves over 9 tiers (sim-small majority@1,2,4,8,16 and sim-large
 * majority@1,2,4,8), budget 8, the default options otherwise (5 folds, the C grid 1/64 .. 64).
 * Each figure beside its reference, measured in the same run, with a byte-for-byte check:
 *   LIBLINEAR tier policy   the previous search (cold trainings, one C and one fold at a time:
 *                           linear.cold_search, 1 thread) vs the warm-started search on every core
 *   LIBLINEAR value policy  1 thread vs every core (every (fold, tier) regression is cold)
 *   XGBoost tier policy     --nthread 1 vs 2 (the classifier, rule and price must be equal; the
 *                           provenance records nthread)
 * Usage: bench_train [--quick] [--curves CURVES.jsonl]   (--quick: 1,500 queries)
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curves.h"
#include "learn.h"
#include "progress.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    *len = fread(s, 1, (size_t)n, f);
    s[*len] = '\0';
    fclose(f);
    return s;
}

/* Train; the seconds and the chosen C through r. */
static double train(const allot_curves *c, const char *cpath, const allot_train_options *o, const char *out,
                    allot_train_report *r) {
    allot_error err = {0};
    double t0 = allot_now_seconds();
    if (allot_train(c, cpath, o, out, r, &err) != ALLOT_OK) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        exit(1);
    }
    return allot_now_seconds() - t0;
}

static int same_bytes(const char *a, const char *b) {
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return same;
}

/* The bundles' classifier, decision and features are equal (provenance aside). */
static int same_model(const char *a, const char *b) {
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    cJSON *ja = cJSON_Parse(x), *jb = cJSON_Parse(y);
    int same = ja && jb;
    const char *keys[] = {"classifier", "decision", "features", "tiers"};
    for (size_t i = 0; same && i < 4; i++)
        same = cJSON_Compare(cJSON_GetObjectItem(ja, keys[i]), cJSON_GetObjectItem(jb, keys[i]), 1);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    free(x);
    free(y);
    return same;
}

int main(int argc, char **argv) {
    int quick = 0;
    const char *given = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--curves") && i + 1 < argc)
            given = argv[++i];
        else {
            fprintf(stderr, "usage: bench_train [--quick] [--curves CURVES.jsonl]\n");
            return 1;
        }
    }
    const char *tmp = getenv("TMPDIR");
    char dir[256], runs[320], cpath[320], a[320], b[320], cmd[1024];
    snprintf(dir, sizeof dir, "%s/allot-bench-train-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(runs, sizeof runs, "%s/runs.jsonl", dir);
    snprintf(cpath, sizeof cpath, "%s/curves.jsonl", dir);
    snprintf(a, sizeof a, "%s/a.json", dir);
    snprintf(b, sizeof b, "%s/b.json", dir);
    allot_error err = {0};
    allot_curves *c = NULL;
    if (given) {
        snprintf(cpath, sizeof cpath, "%s", given);
    } else {
        int n = quick ? 1500 : 5608;
        snprintf(cmd, sizeof cmd, "'%s' --seed 7 --queries %d --models 2 --out '%s'", ALLOT_GEN_RUNS, n,
                 runs);
        if (system(cmd) != 0) {
            fprintf(stderr, "bench_train: %s failed\n", cmd);
            return 1;
        }
        allot_tier_set ts;
        allot_curves_options co;
        allot_curves_options_default(&co);
        if (allot_tier_set_parse("sim-small:majority@1,sim-small:majority@2,sim-small:majority@4,"
                                 "sim-small:majority@8,sim-small:majority@16,sim-large:majority@1,"
                                 "sim-large:majority@2,sim-large:majority@4,sim-large:majority@8",
                                 &ts, &err) ||
            allot_curves_compute(runs, &ts, &co, &c, &err) || allot_curves_write(c, cpath, &err)) {
            fprintf(stderr, "bench_train: %s\n", err.msg);
            return 1;
        }
        allot_curves_free(c);
        allot_tier_set_free(&ts);
    }
    if (allot_curves_read(cpath, &c, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    printf("bench_train: %zu queries x %zu tiers, budget 8, default options (%ld online cores)\n",
           c->n_queries, c->n_tiers, sysconf(_SC_NPROCESSORS_ONLN));
    allot_train_options o;
    allot_train_options_default(&o);
    o.budget = 8;
    o.learner = ALLOT_LEARNER_LIBLINEAR;
    allot_train_report ra, rb;
    int fails = 0;

    /* LIBLINEAR tier policy */
    allot_train_options ref = o;
    ref.linear.cold_search = 1;
    ref.linear.threads = 1;
    double t_ref = train(c, cpath, &ref, a, &ra), t_new = train(c, cpath, &o, b, &rb);
    int same = same_bytes(a, b);
    fails += !same;
    printf("LIBLINEAR tier policy   %7.2f s  (previous search, cold, 1 thread: %7.2f s; %.1fx)  C %g / %g, "
           "bundles %s  (goal < 20 s: %s)\n",
           t_new, t_ref, t_ref / t_new, rb.chosen_C, ra.chosen_C, same ? "byte-identical" : "DIFFER",
           t_new < 20 ? "met" : "NOT met");

    /* LIBLINEAR value policy */
    o.target = ALLOT_TARGET_TIER_VALUE;
    ref = o;
    ref.linear.threads = 1;
    t_ref = train(c, cpath, &ref, a, &ra);
    t_new = train(c, cpath, &o, b, &rb);
    same = same_bytes(a, b);
    fails += !same;
    printf("LIBLINEAR value policy  %7.2f s  (1 thread: %7.2f s; %.1fx)  bundles %s\n", t_new, t_ref,
           t_ref / t_new, same ? "byte-identical" : "DIFFER");

    /* XGBoost tier policy */
    o.target = ALLOT_TARGET_TIER_LABEL;
    o.learner = ALLOT_LEARNER_XGBOOST;
    o.xgb.nthread = 1;
    t_ref = train(c, cpath, &o, a, &ra);
    o.xgb.nthread = 2;
    t_new = train(c, cpath, &o, b, &rb);
    same = same_model(a, b);
    fails += !same;
    printf("XGBoost tier policy     %7.2f s  (--nthread 2; --nthread 1: %7.2f s; %.1fx)  classifier, rule "
           "and price "
           "%s\n",
           t_new, t_ref, t_ref / t_new, same ? "identical" : "DIFFER");

    allot_curves_free(c);
    if (!given) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
    return fails ? 1 : 0;
}
