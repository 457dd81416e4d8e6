/*
 * bench_text.c - what a gateway pays per query on the text path: featurise a distinct 500-byte
 * prompt and decide through allot_policy_predict, for
 *   - LIBLINEAR: models/default-liblinear.json (L2R_LR, 6 classes; 52 built-ins + 1 extra,
 *     standardised, + 4096 hashed uni/bigram dimensions);
 *   - XGBoost: a 400-tree policy (100 rounds x 4 classes, depth 6) trained here, through XGBoost's
 *     C API, on the same featuriser;
 * each beside the reference measured in the same run: the previous featuriser (the code before the
 * single-pass rewrite, kept in tests/policy/features_ref.c) followed by the same model evaluation
 * through the public model API. Also featurisation alone (dense only, as the XGBoost path needs;
 * dense + hashed), previous vs now, with a bit-for-bit check of every output and of every decision,
 * and the allocator calls made by the timed loops (the runtime must make none).
 *
 * Prompts: 4,000 distinct word problems of exactly 500 bytes (numbers, money, LaTeX, keywords),
 * visited in passes so that no prompt is hot in the cache; the previous and current code take
 * turns pass by pass. Latency per call (CLOCK_MONOTONIC, p50 and p99 over every call).
 *
 * Usage: bench_text [--quick] [--policy LIBLINEAR_BUNDLE.json]
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc_count.h"
#include "allot/allot.h"
#include "features_ref.h"
#include "policy_test_util.h"
#include "../bench_util.h"

#define NP 4000
#define PLEN 500

typedef struct {
    double p50, p99;
} stats;

static stats summarize(double *lat, size_t n) {
    qsort(lat, n, sizeof *lat, cmp_double);
    return (stats){lat[n / 2], lat[(size_t)((double)n * 0.99)]};
}

/* Distinct 500-byte prompts: generated word problems, concatenated and cut at 500 bytes. */
static char *make_prompts(double *extra) {
    char *all = malloc((size_t)NP * PLEN);
    pt_rng r = {20251};
    for (size_t i = 0; i < NP; i++) {
        char *q = all + i * PLEN;
        size_t n = 0;
        while (n < PLEN) {
            char *p = pt_make_prompt(&r, 4, NULL, &extra[i]);
            for (size_t k = 0; p[k] && n < PLEN; k++) q[n++] = p[k];
            if (n < PLEN) q[n++] = ' ';
            free(p);
        }
    }
    return all;
}

/* One timed pass: fn(i) for every prompt, latencies appended to lat. */
typedef struct bench_ctx bench_ctx;
typedef int (*call_fn)(bench_ctx *c, size_t i);

struct bench_ctx {
    const char *prompts;
    const double *extra;
    /* featurisation */
    const allot_featurizer *fz;
    const ref_featurizer *rf;
    size_t nd, hd;
    float *dense, *stdz;
    uint32_t *sidx;
    float *sval;
    size_t cnt;
    /* a policy and its model seen through the public model API (the reference path) */
    const allot_policy *pol;
    allot_workspace *ws;
    allot_linear_model *lm;
    allot_xgb_model *xm;
    allot_linear_feature *lx;
    double prob[16];
    float xout[16];
    size_t *choice; /* per prompt: the class each path chose */
    size_t *choice_ref;
    /* every prompt's features, computed once (the LIBLINEAR evaluation timed alone) */
    float *pre_dense, *pre_val;
    uint32_t *pre_idx;
    size_t *pre_off;
    double dense_p50; /* featurisation, dense only: p50 ns */
};

static int call_feat_new(bench_ctx *c, size_t i) {
    return (int)allot_featurize(c->fz, c->prompts + i * PLEN, PLEN, &c->extra[i], 1, c->dense, c->sidx,
                                c->sval, c->hd, &c->cnt, NULL);
}
static int call_feat_ref(bench_ctx *c, size_t i) {
    return ref_featurize(c->rf, c->prompts + i * PLEN, PLEN, &c->extra[i], 1, c->dense, c->sidx, c->sval,
                         c->hd, &c->cnt);
}
static int call_dense_new(bench_ctx *c, size_t i) {
    return (int)allot_featurize(c->fz, c->prompts + i * PLEN, PLEN, &c->extra[i], 1, c->dense, NULL, NULL, 0,
                                NULL, NULL);
}
static int call_dense_ref(bench_ctx *c, size_t i) {
    return ref_featurize(c->rf, c->prompts + i * PLEN, PLEN, &c->extra[i], 1, c->dense, NULL, NULL, 0, NULL);
}

static int call_policy(bench_ctx *c, size_t i) {
    allot_query_input q = ALLOT_QUERY_INPUT_INIT;
    q.prompt = c->prompts + i * PLEN;
    q.prompt_len = PLEN;
    q.extras = &c->extra[i];
    q.n_extras = 1;
    allot_decision d;
    allot_status st = allot_policy_predict(c->pol, c->ws, &q, NULL, NULL, 0, &d, NULL);
    c->choice[i] = d.class_index;
    return (int)st;
}

/* The reference LIBLINEAR path: previous featuriser, standardisation, the model's probabilities,
 * the bundle's rule. */
static int call_linear_ref(bench_ctx *c, size_t i) {
    if (ref_featurize(c->rf, c->prompts + i * PLEN, PLEN, &c->extra[i], 1, c->dense, c->sidx, c->sval, c->hd,
                      &c->cnt))
        return 1;
    allot_featurizer_standardize(c->fz, c->dense, c->stdz);
    size_t n = 0;
    for (size_t k = 0; k < c->nd; k++)
        if (c->stdz[k] != 0.0f) c->lx[n++] = (allot_linear_feature){(int32_t)(k + 1), (double)c->stdz[k]};
    for (size_t k = 0; k < c->cnt; k++)
        c->lx[n++] = (allot_linear_feature){(int32_t)(c->nd + c->sidx[k] + 1), (double)c->sval[k]};
    size_t nc = allot_linear_model_num_classes(c->lm);
    if (allot_linear_model_predict_probability(c->lm, c->lx, n, c->prob, nc, NULL, NULL)) return 1;
    double cprob[16] = {0}, cost[16];
    for (size_t k = 0; k < nc; k++) cprob[allot_linear_model_label(c->lm, k)] = c->prob[k];
    size_t K = allot_policy_n_classes(c->pol);
    for (size_t k = 0; k < K; k++)
        cost[k] = allot_policy_tier_cost(c->pol, (size_t)allot_policy_class_tier(c->pol, k));
    c->choice_ref[i] = allot_rule_apply(allot_policy_rule(c->pol), allot_policy_mu(c->pol), cprob, cost, K);
    return 0;
}

/* The LIBLINEAR evaluation alone, on prompt i's precomputed features: standardisation, the model's
 * probabilities through the model API (the reference path's second half). */
static int call_eval(bench_ctx *c, size_t i) {
    allot_featurizer_standardize(c->fz, c->pre_dense + i * c->nd, c->stdz);
    size_t n = 0;
    for (size_t k = 0; k < c->nd; k++)
        if (c->stdz[k] != 0.0f) c->lx[n++] = (allot_linear_feature){(int32_t)(k + 1), (double)c->stdz[k]};
    for (size_t k = c->pre_off[i]; k < c->pre_off[i + 1]; k++)
        c->lx[n++] = (allot_linear_feature){(int32_t)(c->nd + c->pre_idx[k] + 1), (double)c->pre_val[k]};
    size_t nc = allot_linear_model_num_classes(c->lm);
    return allot_linear_model_predict_probability(c->lm, c->lx, n, c->prob, nc, NULL, NULL) != ALLOT_OK;
}

/* Every prompt's dense and hashed features, stored one after the other for call_eval. */
static int precompute_features(bench_ctx *c) {
    size_t cap = 0, used = 0;
    c->pre_dense = malloc(NP * c->nd * sizeof *c->pre_dense);
    c->pre_off = malloc((NP + 1) * sizeof *c->pre_off);
    if (!c->pre_dense || !c->pre_off) return 1;
    for (size_t i = 0; i < NP; i++) {
        if (call_feat_new(c, i)) return 1;
        if (used + c->cnt > cap) {
            cap = 2 * (used + c->cnt);
            c->pre_idx = realloc(c->pre_idx, cap * sizeof *c->pre_idx);
            c->pre_val = realloc(c->pre_val, cap * sizeof *c->pre_val);
            if (!c->pre_idx || !c->pre_val) return 1;
        }
        memcpy(c->pre_dense + i * c->nd, c->dense, c->nd * sizeof *c->dense);
        memcpy(c->pre_idx + used, c->sidx, c->cnt * sizeof *c->sidx);
        memcpy(c->pre_val + used, c->sval, c->cnt * sizeof *c->sval);
        c->pre_off[i] = used;
        used += c->cnt;
    }
    c->pre_off[NP] = used;
    return 0;
}

/* The reference XGBoost path: previous featuriser (dense), the model's probabilities, the rule. */
static int call_xgb_ref(bench_ctx *c, size_t i) {
    if (ref_featurize(c->rf, c->prompts + i * PLEN, PLEN, &c->extra[i], 1, c->dense, NULL, NULL, 0, NULL))
        return 1;
    size_t K = allot_policy_n_classes(c->pol);
    if (allot_xgb_model_predict(c->xm, ALLOT_XGB_OUTPUT_PROBA, c->dense, c->nd, c->xout, K, NULL)) return 1;
    double cprob[16], cost[16];
    for (size_t k = 0; k < K; k++) {
        cprob[k] = (double)c->xout[k];
        cost[k] = allot_policy_tier_cost(c->pol, (size_t)allot_policy_class_tier(c->pol, k));
    }
    c->choice_ref[i] = allot_rule_apply(allot_policy_rule(c->pol), allot_policy_mu(c->pol), cprob, cost, K);
    return 0;
}

/* passes x NP calls of each of two functions, taking turns pass by pass. */
static void race(bench_ctx *c, call_fn a, call_fn b, int passes, stats *sa, stats *sb, size_t *allocs_a) {
    size_t n = (size_t)passes * NP;
    double *la = malloc(n * sizeof *la), *lb = malloc(n * sizeof *lb);
    size_t k = 0, allocs = 0;
    for (size_t i = 0; i < 200; i++) { /* warm-up */
        a(c, i);
        b(c, i);
    }
    for (int ps = 0; ps < passes; ps++) {
        size_t a0 = pt_alloc_count();
        for (size_t i = 0; i < NP; i++) {
            double s = now_ns();
            if (a(c, i)) {
                fprintf(stderr, "bench_text: a call failed\n");
                exit(1);
            }
            la[k + i] = now_ns() - s;
        }
        allocs += pt_alloc_count() - a0;
        for (size_t i = 0; i < NP; i++) {
            double s = now_ns();
            if (b(c, i)) {
                fprintf(stderr, "bench_text: a reference call failed\n");
                exit(1);
            }
            lb[k + i] = now_ns() - s;
        }
        k += NP;
    }
    *sa = summarize(la, n);
    *sb = summarize(lb, n);
    if (allocs_a) *allocs_a = allocs;
    free(la);
    free(lb);
}

/* passes x NP calls of fn alone. */
static stats time_alone(bench_ctx *c, call_fn fn, int passes) {
    size_t n = (size_t)passes * NP;
    double *lat = malloc(n * sizeof *lat);
    for (size_t i = 0; i < 200; i++) fn(c, i); /* warm-up */
    for (size_t k = 0; k < n; k++) {
        double s = now_ns();
        if (fn(c, k % NP)) {
            fprintf(stderr, "bench_text: a call failed\n");
            exit(1);
        }
        lat[k] = now_ns() - s;
    }
    stats st = summarize(lat, n);
    free(lat);
    return st;
}

static void row(const char *what, stats now, stats ref, size_t allocs) {
    printf(
        "  %-40s p50 %6.0f ns  p99 %6.0f ns | previous p50 %6.0f ns  p99 %6.0f ns | %4.1fx  (%zu allocator "
        "calls)\n",
        what, now.p50, now.p99, ref.p50, ref.p99, ref.p50 / now.p50, allocs);
}

/* Featurisation alone, previous vs now, with a bit-for-bit check of every prompt. */
static int bench_featurise(bench_ctx *c, int passes) {
    size_t mism = 0;
    static float d2[64];
    static uint32_t i2[ALLOT_FEATURES_DEFAULT_HASH_DIM];
    static float v2[ALLOT_FEATURES_DEFAULT_HASH_DIM];
    for (size_t i = 0; i < NP; i++) {
        size_t c2 = 0;
        call_feat_new(c, i);
        ref_featurize(c->rf, c->prompts + i * PLEN, PLEN, &c->extra[i], 1, d2, i2, v2, c->hd, &c2);
        mism += c->cnt != c2 || memcmp(c->dense, d2, c->nd * sizeof *d2) ||
                memcmp(c->sidx, i2, c2 * sizeof *i2) || memcmp(c->sval, v2, c2 * sizeof *v2);
    }
    stats sn, sr;
    size_t allocs;
    printf("\nfeaturise a distinct %d-byte prompt (%zu dense features, %zu hashed dimensions)\n", PLEN, c->nd,
           c->hd);
    race(c, call_dense_new, call_dense_ref, passes, &sn, &sr, &allocs);
    row("dense only (the XGBoost input)", sn, sr, allocs);
    c->dense_p50 = sn.p50;
    race(c, call_feat_new, call_feat_ref, passes, &sn, &sr, &allocs);
    row("dense + hashed n-grams (LIBLINEAR)", sn, sr, allocs);
    printf("  bit-for-bit: %zu of %d prompts differ from the previous featuriser\n", mism, NP);
    return mism != 0;
}

static size_t count_diff(const size_t *a, const size_t *b) {
    size_t d = 0;
    for (size_t i = 0; i < NP; i++) d += a[i] != b[i];
    return d;
}

/* The bundle's classifier member `key` (LIBLINEAR text, or XGBoost's JSON as a string), malloc'd. */
static char *classifier_member(const char *bundle, const char *key) {
    cJSON *root = cJSON_Parse(bundle);
    const cJSON *m =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "classifier"), key);
    char *out = NULL;
    if (cJSON_IsString(m)) {
        out = malloc(strlen(m->valuestring) + 1);
        strcpy(out, m->valuestring);
    }
    cJSON_Delete(root);
    return out;
}

static int bench_policy(bench_ctx *c, const char *label, call_fn ref, int passes, double goal_ns) {
    stats sn, sr;
    size_t allocs;
    race(c, call_policy, ref, passes, &sn, &sr, &allocs);
    row(label, sn, sr, allocs);
    size_t diff = count_diff(c->choice, c->choice_ref);
    printf("  goal p50 <= %.0f ns: %s (%.0f ns); decisions differing from the reference path: %zu of %d\n",
           goal_ns, sn.p50 <= goal_ns ? "met" : "NOT met", sn.p50, diff, NP);
    return diff != 0 || allocs != 0;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

int main(int argc, char **argv) {
    int quick = 0;
    const char *lin_path = ALLOT_SOURCE_DIR "/models/default-liblinear.json";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--policy") && i + 1 < argc)
            lin_path = argv[++i];
        else {
            fprintf(stderr, "usage: bench_text [--quick] [--policy LIBLINEAR_BUNDLE.json]\n");
            return 1;
        }
    }
    int passes = quick ? 2 : 5, fails = 0;
    double *extra = malloc(NP * sizeof *extra);
    char *prompts = make_prompts(extra);
    printf("bench_text: %d distinct prompts of %d bytes, %d passes over them per measurement\n", NP, PLEN,
           passes);
    printf(
        "host speed: one dependent double addition takes %.3f ns (absolute figures compare only between runs "
        "where it is the same)\n",
        bench_add_latency_ns());

    /* ---- LIBLINEAR: the shipped default bundle ---- */
    bench_ctx c;
    memset(&c, 0, sizeof c);
    c.prompts = prompts;
    c.extra = extra;
    c.choice = calloc(NP, sizeof *c.choice);
    c.choice_ref = calloc(NP, sizeof *c.choice_ref);
    allot_policy *pl;
    allot_error err;
    if (allot_policy_load_file(lin_path, &pl, &err)) {
        fprintf(stderr, "bench_text: %s\n", err.msg);
        return 1;
    }
    char *lin_bundle = read_text(lin_path),
         *lin_text = lin_bundle ? classifier_member(lin_bundle, "liblinear") : NULL;
    if (!lin_text || allot_linear_model_load_memory(lin_text, strlen(lin_text), &c.lm, &err)) {
        fprintf(stderr, "bench_text: %s: no LIBLINEAR classifier\n", lin_path);
        return 1;
    }
    c.pol = pl;
    c.fz = allot_policy_featurizer(pl);
    c.nd = allot_featurizer_n_dense(c.fz);
    c.hd = allot_featurizer_hash_dim(c.fz);
    if (allot_featurizer_n_builtin_used(c.fz) != allot_features_n_builtin() ||
        allot_featurizer_n_extra(c.fz) != 1) {
        fprintf(stderr, "bench_text: %s: expected every built-in and one extra\n", lin_path);
        return 1;
    }
    c.rf = ref_featurizer_create(1, (uint32_t)c.hd, 2, 1);
    c.dense = malloc(c.nd * sizeof *c.dense);
    c.stdz = malloc(c.nd * sizeof *c.stdz);
    c.sidx = malloc(c.hd * sizeof *c.sidx);
    c.sval = malloc(c.hd * sizeof *c.sval);
    c.lx = malloc((c.nd + c.hd) * sizeof *c.lx);
    allot_workspace_create(pl, &c.ws, NULL);
    fails += bench_featurise(&c, passes);

    printf("\nfeaturise + decide (allot_policy_predict), vs previous featuriser + the same model through the "
           "model API\n");
    char label[128];
    snprintf(label, sizeof label, "LIBLINEAR, %zu classes (%s)", allot_policy_n_classes(pl),
             strrchr(lin_path, '/') ? strrchr(lin_path, '/') + 1 : lin_path);
    fails += bench_policy(&c, label, call_linear_ref, passes, 1500);
    if (precompute_features(&c)) {
        fprintf(stderr, "bench_text: out of memory\n");
        return 1;
    }
    stats ev = time_alone(&c, call_eval, passes);
    printf(
        "  the LIBLINEAR evaluation alone (standardise + the model API, precomputed features): p50 %.0f ns\n"
        "  dense featurisation + that evaluation, without any hashed n-gram: p50 %.0f + %.0f = %.0f ns "
        "(goal %s)\n",
        ev.p50, c.dense_p50, ev.p50, c.dense_p50 + ev.p50,
        c.dense_p50 + ev.p50 > 1500 ? "1500 ns: already above it" : "1500 ns");
    allot_workspace_free(c.ws);

    /* ---- XGBoost: 400 trees of depth 6 ---- */
    int rounds = quick ? 30 : 100;
    pt_bundle_opts o = {4, 4, NULL, "calibrated", 0.1, 1, 0, rounds};
    double t0 = now_ns();
    char *xjson = NULL;
    char *xb = pt_bundle_xgboost_depth(&o, quick ? 2000 : 6000, 7, 6, &xjson);
    allot_policy *px;
    if (allot_policy_load_memory(xb, strlen(xb), &px, &err) ||
        allot_xgb_model_load_memory(xjson, strlen(xjson), &c.xm, &err)) {
        fprintf(stderr, "bench_text: xgboost bundle: %s\n", err.msg);
        return 1;
    }
    printf("  (XGBoost policy: %zu trees of depth <= 6, trained in %.1f s)\n",
           allot_xgb_model_num_trees(c.xm), (now_ns() - t0) * 1e-9);
    c.pol = px;
    allot_workspace_create(px, &c.ws, NULL);
    ref_featurizer_free((ref_featurizer *)c.rf);
    c.rf = ref_featurizer_create(1, 0, 2, 1);
    snprintf(label, sizeof label, "XGBoost, %zu trees", allot_xgb_model_num_trees(c.xm));
    fails += bench_policy(&c, label, call_xgb_ref, passes, 3500);

    allot_workspace_free(c.ws);
    allot_policy_free(px);
    allot_policy_free(pl);
    allot_xgb_model_free(c.xm);
    allot_linear_model_free(c.lm);
    ref_featurizer_free((ref_featurizer *)c.rf);
    free(xb);
    free(xjson);
    free(lin_bundle);
    free(lin_text);
    free(c.dense);
    free(c.stdz);
    free(c.sidx);
    free(c.sval);
    free(c.lx);
    free(c.choice);
    free(c.choice_ref);
    free(c.pre_dense);
    free(c.pre_idx);
    free(c.pre_val);
    free(c.pre_off);
    free(prompts);
    free(extra);
    return fails ? 1 : 0;
}
