/*
 * test_audit_crossfile.c - `allot audit` on a file the policy never saw, against a hand computation
 * from `allot predict`.
 *
 * Labelled runs are split by id into a training file A and an evaluation file B (B also gets some of
 * A's queries: some under their own id, some under a new id with the same prompt). A policy trained
 * on all of A (--test-fraction 0) is audited on B's curves; its figures must be what one computes by
 * hand from `allot predict`'s decisions on B's records and B's curves:
 *   - learned at the price as shipped (audit budget = training budget) and with the refit price
 *     (`allot predict --mu` with the price the report names) and argmax (`--rule argmax`);
 *   - the deployable uniform: the uniform hull of A's tier means (from the bundle's provenance,
 *     recomputed here) applied to B's curves;
 *   - the queries shared with the training data (by id, by prompt) and the figures without them.
 * Part 1 runs on synthetic runs; part 2 on every file of the shared datasets (argv[2], when present).
 * argv[1] = the allot binary.
 */
#define CHECK_AREA "audit"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "../common/check_continue.h"
#include "curves.h"
#include "learn_test_util.h"

#define NEAR(a, b) (fabs((a) - (b)) <= 1e-9 * (1 + fabs(a) + fabs(b)))

static const char *allot_bin;

static int run(const char *args, const char *out_path) {
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2>/dev/null", allot_bin, args,
             out_path ? out_path : "/dev/null");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const cJSON *jget(const cJSON *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, "."))
        o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(tok)) : cJSON_GetObjectItemCaseSensitive(o, tok);
    return o;
}

static double jnum(const cJSON *o, const char *path) {
    const cJSON *x = jget(o, path);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

/* FNV-1a 32 of the id: which file a query of the split goes to. */
static unsigned id_bucket(const char *id) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) h = (h ^ *p) * 16777619u;
    return h % 10;
}

/* The runs file split by id: 30% of the ids to B, the rest to A; B also gets the first n_same_id of
 * A's lines as they are and the next n_same_prompt under a new id. Returns the lines copied. */
static void split_runs(const char *in, const char *a, const char *b, int n_same_id, int n_same_prompt) {
    FILE *fi = fopen(in, "r"), *fa = fopen(a, "w"), *fb = fopen(b, "w");
    char *line = NULL;
    size_t cap = 0;
    int copied = 0;
    while (fi && fa && fb && getline(&line, &cap, fi) > 0) {
        cJSON *q = cJSON_Parse(line);
        const cJSON *id = q ? cJSON_GetObjectItem(q, "id") : NULL;
        if (!cJSON_IsString(id)) {
            cJSON_Delete(q);
            continue;
        }
        if (id_bucket(id->valuestring) < 3) {
            fputs(line, fb);
        } else {
            fputs(line, fa);
            if (copied < n_same_id) {
                fputs(line, fb);
            } else if (copied < n_same_id + n_same_prompt) {
                char nid[512];
                snprintf(nid, sizeof nid, "%s-again", id->valuestring);
                cJSON_ReplaceItemInObject(q, "id", cJSON_CreateString(nid));
                char *t = cJSON_PrintUnformatted(q);
                fprintf(fb, "%s\n", t);
                free(t);
            }
            copied++;
        }
        cJSON_Delete(q);
    }
    free(line);
    if (fi) fclose(fi);
    if (fa) fclose(fa);
    if (fb) fclose(fb);
}

/* Synthetic runs: one model, 8 samples with answers; longer prompts are harder. */
static void make_runs(const char *path, int n) {
    FILE *fp = fopen(path, "w");
    allot_rng rng;
    allot_rng_seed(&rng, 7);
    for (int i = 0; fp && i < n; i++) {
        double p = allot_rng_uniform(&rng);
        int words = 2 + (int)((1 - p) * 30);
        fprintf(fp, "{\"id\":\"s%04d\",\"prompt\":\"Problem %d: how many", i, i);
        for (int w = 0; w < words; w++) fprintf(fp, " step%d", (i + w) % 7);
        fprintf(fp, " ?\",\"samples\":[");
        for (int k = 0; k < 8; k++) {
            int ok = allot_rng_uniform(&rng) < p;
            fprintf(fp, "%s{\"correct\":%s,\"answer\":\"%s\"}", k ? "," : "", ok ? "true" : "false",
                    ok ? "right" : (allot_rng_uniform(&rng) < 0.5 ? "w1" : "w2"));
        }
        fprintf(fp, "]}\n");
    }
    if (fp) fclose(fp);
}

/* Row of B's curves by id (linear; the files are small). */
static long row_of(const allot_curves *c, const char *id) {
    for (size_t i = 0; i < c->n_queries; i++)
        if (!strcmp(c->ids[i], id)) return (long)i;
    return -1;
}

static long tier_of(const allot_curves *c, const char *name) {
    for (size_t t = 0; t < c->n_tiers; t++)
        if (!strcmp(c->tier_names[t], name)) return (long)t;
    return -1;
}

/* Mean accuracy and cost on B of `allot predict`'s decisions (pred: its --json output), over all
 * queries (skip NULL) or those with skip[i] == 0. */
static int hand_figures(const allot_curves *c, const char *pred, const unsigned char *skip, double *acc,
                        double *cost) {
    FILE *fp = fopen(pred, "r");
    char *line = NULL;
    size_t cap = 0, n = 0;
    double a = 0, k = 0;
    int bad = !fp;
    while (fp && getline(&line, &cap, fp) > 0) {
        cJSON *d = cJSON_Parse(line);
        long i = d ? row_of(c, cJSON_GetStringValue(cJSON_GetObjectItem(d, "id"))) : -1;
        long t = d ? tier_of(c, cJSON_GetStringValue(cJSON_GetObjectItem(d, "tier"))) : -1;
        cJSON_Delete(d);
        if (i < 0 || t < 0) {
            bad = 1;
            continue;
        }
        if (skip && skip[i]) continue;
        a += c->acc[(size_t)i * c->n_tiers + (size_t)t];
        k += c->cost[(size_t)i * c->n_tiers + (size_t)t];
        n++;
    }
    free(line);
    if (fp) fclose(fp);
    *acc = n ? a / (double)n : NAN;
    *cost = n ? k / (double)n : NAN;
    return bad ? -1 : (int)n;
}

/* The uniform mix at B of tier means (ta, tc): the upper hull from the cheapest tier, interpolated. */
static void hand_uniform(const double *ta, const double *tc, size_t T, double B, int *lo, int *hi,
                         double *w) {
    int ord[64] = {0}, hull[64] = {0};
    size_t m = 0;
    for (size_t t = 0; t < T; t++) ord[t] = (int)t;
    for (size_t a = 0; a < T; a++)
        for (size_t b = a + 1; b < T; b++)
            if (tc[ord[b]] < tc[ord[a]] || (tc[ord[b]] == tc[ord[a]] && ta[ord[b]] > ta[ord[a]])) {
                int x = ord[a];
                ord[a] = ord[b];
                ord[b] = x;
            }
    for (size_t k = 0; k < T; k++) {
        int t = ord[k];
        if (m && !(ta[t] > ta[hull[m - 1]])) continue;
        while (m >= 2) {
            int p = hull[m - 2], q = hull[m - 1];
            if ((tc[q] - tc[p]) * (ta[t] - ta[p]) - (ta[q] - ta[p]) * (tc[t] - tc[p]) >= 0)
                m--;
            else
                break;
        }
        hull[m++] = t;
    }
    *lo = *hi = hull[0];
    *w = 0;
    if (B >= tc[hull[m - 1]]) {
        *lo = *hi = hull[m - 1];
        return;
    }
    for (size_t k = 0; k + 1 < m; k++)
        if (B >= tc[hull[k]] && B < tc[hull[k + 1]]) {
            *lo = hull[k];
            *hi = hull[k + 1];
            *w = (B - tc[hull[k]]) / (tc[hull[k + 1]] - tc[hull[k]]);
            if (*w == 0) *hi = *lo;
        }
}

/* One data set: split, curves, train on A, audit B, and the hand computation. */
static void check_dataset(const char *dir, const char *name, const char *runs, const char *tiers, double B,
                          const char *learner_args) {
    char a[1200], b[1200], ca[1200], cb[1200], pol[1200], rep[1200], pred[1200], args[16000];
    snprintf(a, sizeof a, "%s/%s-A.jsonl", dir, name);
    snprintf(b, sizeof b, "%s/%s-B.jsonl", dir, name);
    snprintf(ca, sizeof ca, "%s/%s-A.curves.jsonl", dir, name);
    snprintf(cb, sizeof cb, "%s/%s-B.curves.jsonl", dir, name);
    snprintf(pol, sizeof pol, "%s/%s.policy.json", dir, name);
    snprintf(rep, sizeof rep, "%s/%s.report.json", dir, name);
    snprintf(pred, sizeof pred, "%s/%s.pred.jsonl", dir, name);
    split_runs(runs, a, b, 3, 2);
    const char *ts = tiers ? tiers : "";
    snprintf(args, sizeof args, "curves '%s' %s%s%s --out '%s'", a, tiers ? "--tiers '" : "", ts,
             tiers ? "'" : "", ca);
    CHECKF(run(args, NULL) == 0, "%s", args);
    snprintf(args, sizeof args, "curves '%s' %s%s%s --out '%s'", b, tiers ? "--tiers '" : "", ts,
             tiers ? "'" : "", cb);
    CHECKF(run(args, NULL) == 0, "%s", args);
    snprintf(args, sizeof args, "train '%s' --budget %.17g %s --test-fraction 0 --quiet --out '%s'", ca, B,
             learner_args, pol);
    CHECKF(run(args, NULL) == 0, "%s", args);
    snprintf(args, sizeof args,
             "audit '%s' --policy '%s' --budget %.17g --out '%s/%s-audit' --no-plots --quiet --json", cb, pol,
             B, dir, name);
    CHECKF(run(args, rep) == 0, "%s", args);
    char *rt = tu_slurp(rep, NULL), *bt = tu_slurp(pol, NULL);
    cJSON *r = rt ? cJSON_Parse(rt) : NULL, *bundle = bt ? cJSON_Parse(bt) : NULL;
    const cJSON *p = jget(r, "policies.0");
    allot_curves *c = NULL;
    allot_error err = {0};
    if (!p || !bundle || allot_curves_read(cb, &c, &err) != ALLOT_OK) {
        CHECKF(0, "%s: no report, bundle or curves (%s)", name, err.msg);
        goto done;
    }
    CHECK(!strcmp(cJSON_GetStringValue(jget(p, "evaluation.mode")), "foreign file"));
    CHECK(jnum(p, "n_test") == (double)c->n_queries);
    /* the queries shared with A: by id (the copies), by prompt (the copies and the renamed ones) */
    unsigned char *leak = calloc(c->n_queries, 1);
    size_t by_id = 0, either = 0;
    for (size_t i = 0; i < c->n_queries; i++) {
        size_t l = strlen(c->ids[i]);
        int again = l > 6 && !strcmp(c->ids[i] + l - 6, "-again");
        int copy = id_bucket(c->ids[i]) >= 3 && !again;
        by_id += copy;
        leak[i] = copy || again;
        either += leak[i];
    }
    CHECKF(jnum(p, "evaluation.also_in_training_data.same_id") == (double)by_id, "%s: same_id %g, want %zu",
           name, jnum(p, "evaluation.also_in_training_data.same_id"), by_id);
    CHECKF(jnum(p, "evaluation.also_in_training_data.either") >= (double)either, "%s: either %g < %zu", name,
           jnum(p, "evaluation.also_in_training_data.either"), either);
    /* queries whose prompt happens to repeat another training prompt count too: mark them from the report's
     * count only when they agree; otherwise the hand figures without leaks would differ */
    int exact_leaks = jnum(p, "evaluation.also_in_training_data.either") == (double)either;
    /* the rules: price as shipped, refit (the report's price given to predict), argmax */
    static const char *const RULE[] = {"calibrated", "refit", "argmax"};
    for (int k = 0; k < 3; k++) {
        char key[64], extra[128] = "";
        snprintf(key, sizeof key, "learned.%s.mu", RULE[k]);
        double mu = jnum(p, key);
        int value = !strcmp(cJSON_GetStringValue(jget(p, "target")), "value");
        if (k == 1) snprintf(extra, sizeof extra, "--mu %.17g", mu);
        /* argmax: a classifier's most probable tier; a value policy's value rule at lambda 0 */
        if (k == 2) snprintf(extra, sizeof extra, "%s", value ? "--mu 0" : "--rule argmax");
        snprintf(args, sizeof args, "predict --model '%s' %s --json '%s'", pol, extra, b);
        CHECKF(run(args, pred) == 0, "%s", args);
        double ha, hc;
        int n = hand_figures(c, pred, NULL, &ha, &hc);
        CHECKF(n == (int)c->n_queries, "%s: predict gave %d decisions for %zu queries", name, n,
               c->n_queries);
        snprintf(key, sizeof key, "learned.%s.acc", RULE[k]);
        CHECKF(NEAR(jnum(p, key), ha), "%s %s: audit acc %.17g, by hand %.17g", name, RULE[k], jnum(p, key),
               ha);
        snprintf(key, sizeof key, "learned.%s.cost", RULE[k]);
        CHECKF(NEAR(jnum(p, key), hc), "%s %s: audit cost %.17g, by hand %.17g", name, RULE[k], jnum(p, key),
               hc);
        if (k == 0 && exact_leaks && either < c->n_queries) {
            hand_figures(c, pred, leak, &ha, &hc);
            CHECKF(NEAR(jnum(p, "without_leaks.learned_calibrated.acc"), ha),
                   "%s: clean acc %.17g, by hand %.17g", name,
                   jnum(p, "without_leaks.learned_calibrated.acc"), ha);
            CHECK(jnum(p, "without_leaks.n") == (double)(c->n_queries - either));
        }
    }
    CHECK(jnum(p, "runtime_decision_mismatches") == 0);
    /* the deployable uniform: the hull of the training pool's tier means (provenance) at B, on B */
    const cJSON *tp = jget(bundle, "provenance.training_pool");
    size_t T = c->n_tiers;
    double ta[64] = {0}, tc[64] = {0};
    for (size_t t = 0; t < T && t < 64; t++) {
        ta[t] = cJSON_GetArrayItem(cJSON_GetObjectItem(tp, "tier_mean_acc"), (int)t)->valuedouble;
        tc[t] = cJSON_GetArrayItem(cJSON_GetObjectItem(tp, "tier_mean_cost"), (int)t)->valuedouble;
    }
    int lo, hi;
    double w, ua = 0;
    hand_uniform(ta, tc, T, B, &lo, &hi, &w);
    for (size_t i = 0; i < c->n_queries; i++)
        ua += (1 - w) * c->acc[i * T + (size_t)lo] + w * c->acc[i * T + (size_t)hi];
    ua /= (double)c->n_queries;
    CHECKF(NEAR(jnum(p, "baselines.uniform_deployable.acc"), ua),
           "%s: deployable uniform %.17g, by hand %.17g", name, jnum(p, "baselines.uniform_deployable.acc"),
           ua);
    CHECK(NEAR(jnum(p, "learned.calibrated.learned_minus_uniform_deployable.mean"),
               jnum(p, "learned.calibrated.acc") - ua));
    printf(
        "%s: B=%g, %zu queries (%zu shared with the training data): learned %.4f, deployable uniform %.4f\n",
        name, B, c->n_queries, either, jnum(p, "learned.calibrated.acc"), ua);
    free(leak);
done:
    allot_curves_free(c);
    cJSON_Delete(r);
    cJSON_Delete(bundle);
    free(rt);
    free(bt);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_audit_crossfile ALLOT [SHARED_DATASETS]\n");
        return 2;
    }
    allot_bin = argv[1];
    char *dir = tu_tmpdir(), runs[1200];
    /* part 1: synthetic runs, a tier policy and a value policy */
    snprintf(runs, sizeof runs, "%s/synthetic.jsonl", dir);
    make_runs(runs, 400);
    check_dataset(dir, "synthetic", runs, "majority@1,2,4,8", 3, "--learner xgboost");
    check_dataset(dir, "synthetic-value", runs, "majority@1,2,4,8", 3, "--learner liblinear --target value");
    /* part 2: the shared datasets */
    static const struct {
        const char *file, *tiers;
        double budget;
        const char *learner;
    } SHARED[] = {
        {"gsm8k-llama2-13b-pot48.jsonl", "majority@1,2,4,8,16,32,48", 8, "--learner xgboost"},
        {"gsm8k-train-codex10.jsonl", "majority@1,2,4,8,10", 4, "--learner xgboost --target value"},
        {"livecodebench-open-models.jsonl",
         "deepseek-ai/deepseek-coder-1.3b-instruct:pass@1,deepseek-ai/deepseek-coder-6.7b-instruct:pass@1,"
         "deepseek-ai/deepseek-coder-33b-instruct:pass@1,deepseek-ai/deepseek-coder-33b-instruct:pass@2,"
         "deepseek-ai/deepseek-coder-33b-instruct:pass@4,deepseek-ai/deepseek-coder-33b-instruct:pass@10",
         40, "--learner liblinear"},
        {"gsm8k-test-gpt3-tiers.jsonl", NULL, 175, "--learner xgboost"},
    };
    int shared = 0;
    for (size_t k = 0; argc > 2 && k < sizeof SHARED / sizeof *SHARED; k++) {
        char path[1200], name[64];
        snprintf(path, sizeof path, "%s/%s", argv[2], SHARED[k].file);
        FILE *fp = fopen(path, "r");
        if (!fp) continue;
        fclose(fp);
        snprintf(name, sizeof name, "shared%zu", k);
        check_dataset(dir, name, path, SHARED[k].tiers, SHARED[k].budget, SHARED[k].learner);
        shared++;
    }
    printf("shared datasets checked: %d\n", shared);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
    return CHECK_DONE();
}
