/*
 * test_select.c - the default policy selection of `allot train` (trainer/learn/select.h).
 *
 *   - informative synthetic data: every candidate and the uniform policy are trained; the shipped one
 *     is an eligible candidate (out-of-fold interval above zero) or the uniform policy, its bundle
 *     loads, its provenance records the selection;
 *   - uninformative data (one prompt, no features): the uniform policy is shipped, as a constant or
 *     mixture bundle the runtime loads and decides with;
 *   - another family plugs in as one more candidate (a fake one that claims a gain is shipped; one
 *     that fails is skipped and reported); one with its own random draws is compared with uniform on
 *     those draws (the draws' noise cancels exactly);
 *   - the shared datasets (argv[1], when present), two budgets each: the shipped policy is not below
 *     the deployable uniform on the held-out queries (its 95% interval's upper end >= 0);
 *   - the labels the candidates learn: ties between equally accurate tiers go to the tier a user would
 *     pick (hand-worked case).
 */
#define CHECK_AREA "learn"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../common/check_continue.h"
#include "allot/allot_policy.h"
#include "learn_test_util.h"
#include "dataset.h"
#include "select.h"

static void check_shipped(const allot_selection *sel, const char *bundle_path) {
    CHECK(sel->n >= 1 && !strcmp(sel->c[sel->n - 1].name, "uniform"));
    const allot_candidate_result *w = &sel->c[sel->shipped];
    CHECKF(sel->shipped == sel->n - 1 || (w->eligible && w->gain_lo > 0), "shipped %s, gain_lo %g", w->name,
           w->gain_lo);
    for (size_t k = 0; k + 1 < sel->n; k++)
        if (sel->c[k].status == ALLOT_OK && sel->c[k].eligible) CHECK(sel->c[k].gain <= w->gain + 1e-15);
    allot_policy *p = NULL;
    allot_error err = {0};
    CHECKF(allot_policy_load_file(bundle_path, &p, &err) == ALLOT_OK, "%s", err.msg);
    allot_policy_free(p);
    char *t = tu_slurp(bundle_path, NULL);
    cJSON *b = t ? cJSON_Parse(t) : NULL;
    const cJSON *s = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "provenance"), "selection");
    CHECK(s && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(s, "shipped")), w->name));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(s, "candidates")) == (int)sel->n);
    cJSON_Delete(b);
    free(t);
}

/* A candidate of another family: the uniform bundle, with a claimed out-of-fold gain of 0.1. */
static allot_status fake_better(const allot_candidate_ctx *ctx, const void *arg, const char *bundle_path,
                                allot_train_report *report, allot_train_outcome *outcome, allot_error *err) {
    (void)arg;
    allot_status st =
        allot_train_uniform(ctx->curves, ctx->curves_path, ctx->opt, bundle_path, report, outcome, err);
    for (size_t j = 0; st == ALLOT_OK && j < outcome->n_train; j++) outcome->oof_acc[j] += 0.1;
    return st;
}

/* A candidate with its own random draws (as a sequential policy's orderings): per query a draw effect
 * e_j moves its accuracy and every tier's realised accuracy alike; its true gain is 0.05 on every query.
 * The selection compares on the same draws (common random numbers), so e_j cancels exactly. */
static allot_status fake_draws(const allot_candidate_ctx *ctx, const void *arg, const char *bundle_path,
                               allot_train_report *report, allot_train_outcome *outcome, allot_error *err) {
    (void)arg;
    allot_status st =
        allot_train_uniform(ctx->curves, ctx->curves_path, ctx->opt, bundle_path, report, outcome, err);
    size_t T = ctx->curves->n_tiers, n = outcome->n_train;
    outcome->oof_tier_acc = st == ALLOT_OK ? malloc((n ? n : 1) * T * sizeof(double)) : NULL;
    if (st == ALLOT_OK && !outcome->oof_tier_acc) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    for (size_t j = 0; st == ALLOT_OK && j < n; j++) {
        double e = (j % 3 == 0 ? 0.2 : j % 3 == 1 ? -0.15 : -0.05);
        outcome->oof_acc[j] += 0.05 + e;
        for (size_t t = 0; t < T; t++)
            outcome->oof_tier_acc[j * T + t] = ctx->curves->acc[outcome->train_rows[j] * T + t] + e;
    }
    return st;
}

static allot_status fails(const allot_candidate_ctx *ctx, const void *arg, const char *bundle_path,
                          allot_train_report *report, allot_train_outcome *outcome, allot_error *err) {
    (void)ctx, (void)arg, (void)bundle_path, (void)report, (void)outcome;
    return allot_error_set(err, ALLOT_E_UNSUPPORTED, "this family does not apply here");
}

static void check_synthetic(const char *dir) {
    char cpath[1024], out[1024];
    snprintf(cpath, sizeof cpath, "%s/curves.jsonl", dir);
    snprintf(out, sizeof out, "%s/policy.json", dir);
    allot_curves *c = tu_roundtrip(tu_make_curves(600, 1, 41), cpath);
    allot_train_options o;
    allot_train_options_default(&o);
    o.budget = 4;
    o.linear.c_min = 0.5;
    o.linear.c_max = 2;
    o.hash_dim = 256;
    const allot_candidate *cands;
    size_t n = allot_default_candidates(&cands);
    CHECK(n == 4);
    allot_selection sel;
    allot_error err = {0};
    REQUIRE_OK(allot_train_select(c, cpath, &o, cands, n, out, &sel, &err));
    CHECK(sel.n == 5);
    for (size_t k = 0; k < sel.n; k++)
        CHECKF(sel.c[k].status == ALLOT_OK, "%s: %s", sel.c[k].name, sel.c[k].error);
    check_shipped(&sel, out);
    /* the "hint" feature tells the difficulty: some candidate beats uniform */
    CHECKF(sel.shipped != sel.n - 1, "shipped %s", sel.c[sel.shipped].name);
    printf("informative: shipped %s (gain %+.4f [%+.4f, %+.4f])\n", sel.c[sel.shipped].name,
           sel.c[sel.shipped].gain, sel.c[sel.shipped].gain_lo, sel.c[sel.shipped].gain_hi);
    allot_selection_free(&sel);
    /* no scratch bundle is left beside the output */
    char scratch[1200];
    snprintf(scratch, sizeof scratch, "%s.allot-tmp.%ld.xgboost-tier", out, (long)getpid());
    FILE *fp = fopen(scratch, "r");
    CHECK(fp == NULL);
    if (fp) fclose(fp);

    /* another family plugs in: it is trained, compared and shipped; a failing one is skipped */
    allot_candidate more[] = {cands[0], {"fails", fails, NULL}, {"fake-better", fake_better, NULL}};
    REQUIRE_OK(allot_train_select(c, cpath, &o, more, 3, out, &sel, &err));
    CHECK(sel.n == 4 && sel.c[1].status == ALLOT_E_UNSUPPORTED && strstr(sel.c[1].error, "does not apply"));
    CHECK(!strcmp(sel.c[sel.shipped].name, "fake-better"));
    CHECK(fabs(sel.c[2].gain - 0.1) < 1e-9 && sel.c[2].gain_lo > 0.09);
    check_shipped(&sel, out);
    allot_selection_free(&sel);

    /* a candidate with its own draws is compared with uniform on the same draws: the draw noise cancels */
    allot_candidate draws[] = {{"draws", fake_draws, NULL}};
    REQUIRE_OK(allot_train_select(c, cpath, &o, draws, 1, out, &sel, &err));
    CHECKF(fabs(sel.c[0].gain - 0.05) < 1e-9 && sel.c[0].gain_hi - sel.c[0].gain_lo < 1e-9,
           "gain %.6f [%.6f, %.6f]", sel.c[0].gain, sel.c[0].gain_lo, sel.c[0].gain_hi);
    CHECK(!strcmp(sel.c[sel.shipped].name, "draws"));
    allot_selection_free(&sel);

    /* nothing to learn: one prompt for every query and no record features */
    for (size_t i = 0; i < c->n_queries; i++) {
        free(c->prompts[i]);
        c->prompts[i] = tu_strdup("the same question");
    }
    o.features = "";
    o.budget = 3; /* between the k@2 and k@4 tiers: a mixture */
    allot_curves_free(tu_roundtrip(c, cpath));
    c = NULL;
    allot_curves *c2 = NULL;
    REQUIRE_OK(allot_curves_read(cpath, &c2, &err));
    REQUIRE_OK(allot_train_select(c2, cpath, &o, cands, n, out, &sel, &err));
    CHECKF(sel.shipped == sel.n - 1, "shipped %s", sel.c[sel.shipped].name);
    check_shipped(&sel, out);
    allot_policy *p = NULL;
    REQUIRE_OK(allot_policy_load_file(out, &p, &err));
    CHECK(allot_policy_classifier_kind(p) == ALLOT_CLASSIFIER_MIXTURE ||
          allot_policy_classifier_kind(p) == ALLOT_CLASSIFIER_CONSTANT);
    allot_policy_free(p);
    allot_selection_free(&sel);
    allot_curves_free(c2);
}

/* The shared datasets: curves as docs/learn-and-audit.md makes them, two budgets each. */
static void check_shared(const char *shared, const char *dir) {
    static const struct {
        const char *file, *tiers;
        double budgets[2];
    } SETS[] = {
        {"gsm8k-llama2-13b-pot48.jsonl", "majority@1,2,4,8,16,32,48", {4, 8}},
        {"gsm8k-train-codex10.jsonl", "majority@1,2,4,8,10", {2, 4}},
        {"livecodebench-open-models.jsonl",
         "deepseek-ai/deepseek-coder-1.3b-instruct:pass@1,deepseek-ai/deepseek-coder-6.7b-instruct:pass@1,"
         "deepseek-ai/deepseek-coder-33b-instruct:pass@1,deepseek-ai/deepseek-coder-33b-instruct:pass@2,"
         "deepseek-ai/deepseek-coder-33b-instruct:pass@4,deepseek-ai/deepseek-coder-33b-instruct:pass@10",
         {10, 40}},
        {"gsm8k-test-gpt3-tiers.jsonl", NULL, {175, 1200}},
    };
    for (size_t k = 0; k < sizeof SETS / sizeof *SETS; k++) {
        char runs[1200], cpath[1200], out[1200];
        snprintf(runs, sizeof runs, "%s/%s", shared, SETS[k].file);
        FILE *fp = fopen(runs, "r");
        if (!fp) continue;
        fclose(fp);
        snprintf(cpath, sizeof cpath, "%s/shared%zu.jsonl", dir, k);
        snprintf(out, sizeof out, "%s/shared%zu-policy.json", dir, k);
        allot_tier_set ts = {0};
        allot_error err = {0};
        if (SETS[k].tiers) REQUIRE_OK(allot_tier_set_parse(SETS[k].tiers, &ts, &err));
        allot_curves_options co;
        allot_curves_options_default(&co);
        allot_curves *c = NULL;
        REQUIRE_OK(allot_curves_compute(runs, SETS[k].tiers ? &ts : NULL, &co, &c, &err));
        allot_tier_set_free(&ts);
        allot_curves_free(tu_roundtrip(c, cpath));
        REQUIRE_OK(allot_curves_read(cpath, &c, &err));
        for (int b = 0; b < 2; b++) {
            allot_train_options o;
            allot_train_options_default(&o);
            o.budget = SETS[k].budgets[b];
            const allot_candidate *cands;
            size_t n = allot_default_candidates(&cands);
            allot_selection sel;
            REQUIRE_OK(allot_train_select(c, cpath, &o, cands, n, out, &sel, &err));
            check_shipped(&sel, out);
            const allot_candidate_result *w = &sel.c[sel.shipped];
            CHECKF(w->test_hi >= 0,
                   "%s B=%g: shipped %s is below uniform on the held-out queries: %+.4f [%+.4f, %+.4f]",
                   SETS[k].file, o.budget, w->name, w->test_gain, w->test_lo, w->test_hi);
            printf("%s B=%g: shipped %s, held-out %+.4f [%+.4f, %+.4f] (%.1f s)\n", SETS[k].file, o.budget,
                   w->name, w->test_gain, w->test_lo, w->test_hi, sel.seconds);
            allot_selection_free(&sel);
        }
        allot_curves_free(c);
    }
}

/* Label ties by hand. Tiers a (cost 1), b (cost 2), c (cost 4), d (cost 8); pool means: a 0.3, b 0.3
 * (same as a: not on the frontier), c 0.5, d 0.6. At B = 4 the frontier within B is {a, c}. */
static void check_label_ties(void) {
    static const double ACC[] = {
        0,   0,   0,   0,   /* q0: nothing helps: the oracle's a, a user's c */
        1,   1,   1,   1,   /* q1: everything works: a -> c */
        0,   0,   1,   1,   /* q2: c and d equally good; the oracle's c stays */
        0.2, 0.2, 0,   0.4, /* q3: a and b tie at 0.2; b is not on the frontier: a stays */
        0.5, 0.5, 0.5, 1,   /* q4: whatever the oracle picks among a, b, c, a user's c */
    };
    allot_curves c = {0};
    char *names[] = {"a", "b", "c", "d"};
    double cost[20];
    for (size_t i = 0; i < 5; i++)
        for (size_t t = 0; t < 4; t++) cost[i * 4 + t] = t == 0 ? 1 : t == 1 ? 2 : t == 2 ? 4 : 8;
    c.n_queries = 5;
    c.n_tiers = 4;
    c.tier_names = names;
    c.acc = (double *)ACC;
    c.cost = cost;
    size_t idx[5] = {0, 1, 2, 3, 4}, moved = 0;
    int tier[5] = {0, 0, 2, 0, 0}; /* what the oracle picked */
    REQUIRE_OK(allot_labels_break_ties(&c, idx, 5, 4.0, ALLOT_TIES_POOL, tier, &moved, NULL));
    CHECKF(tier[0] == 2 && tier[1] == 2 && tier[2] == 2 && tier[3] == 0 && tier[4] == 2 && moved == 3,
           "labels %d %d %d %d %d, moved %zu", tier[0], tier[1], tier[2], tier[3], tier[4], moved);
    int orig[5] = {0, 0, 2, 0, 0};
    REQUIRE_OK(allot_labels_break_ties(&c, idx, 5, 4.0, ALLOT_TIES_ORACLE, orig, &moved, NULL));
    CHECK(orig[0] == 0 && orig[1] == 0 && moved == 0);
    /* at B = 2 the frontier within B is {a}: nothing moves */
    int low[5] = {0, 0, 2, 0, 0};
    REQUIRE_OK(allot_labels_break_ties(&c, idx, 5, 2.0, ALLOT_TIES_POOL, low, &moved, NULL));
    CHECK(moved == 0 && low[0] == 0);
}

int main(int argc, char **argv) {
    char *dir = tu_tmpdir();
    check_label_ties();
    check_synthetic(dir);
    if (argc > 1) check_shared(argv[1], dir);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
    return CHECK_DONE();
}
