/*
 * test_alloc_failures - allocation-failure injection over every runtime loader and call, as
 * SQLite's malloc tests do.
 *
 * For each call and N = 1, 2, 3, ...: make the N-th allocation of the call fail (first only that
 * one, then, in a second sweep, that one and every later one), run the call, and stop at the first
 * N where the call succeeds with no failure injected (N - 1 is then the number of allocations the
 * call makes: its injection points). Every iteration with an injected failure must
 *   - return ALLOT_E_NOMEM with a message saying "out of memory" (or succeed, when the failing
 *     allocation was optional, such as shrinking a buffer),
 *   - leave its outputs as the API documents (an out handle NULL, or untouched where the header
 *     says "set only on success"; buffers and the object being modified untouched),
 *   - leak nothing: blocks allocated minus blocks freed over the call is zero (the program is
 *     linked with --wrap for malloc, calloc, realloc and free; under the ASan build LeakSanitizer
 *     checks the same at exit).
 * cJSON is a shared library, so its own malloc calls do not pass through --wrap (checked below);
 * cJSON_InitHooks routes it through the wrappers so that its allocations fail too.
 *
 * usage: test_alloc_failures POLICY_CORPUS_DIR MODEL_CORPUS_DIR [BUNDLE...]
 *   BUNDLE: full-size policy bundles (the files in models/), checked only for the classification of a
 *   failed parse (a sweep over them would take too long).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_count.h"
#include "allot/allot.h"
#include "policy_test_util.h"
#include "runtime_io.h"

static pt_counts C;

/* ---- inputs --------------------------------------------------------------------------------- */

enum { B_XGB, B_XGB_ESCAPED, B_LIN, B_CONST, B_VALUE_LIN, B_VALUE_XGB, N_BUNDLES };
static const char *const BUNDLE_NAMES[N_BUNDLES] = {"xgboost tier",    "xgboost tier (escaped keys)",
                                                    "liblinear tier",  "constant",
                                                    "value liblinear", "value xgboost"};

enum { M_XGB_SOFTPROB, M_XGB_V3, M_XGB_TRAINED, M_LIN_LR3, M_LIN_SVR, N_MODELS };
static const char *const MODEL_FILES[N_MODELS] = {"xgb_small_softprob.json", "xgb_small_logistic_v3.json",
                                                  "xgb_trained_softprob3.json", "linear_lr3.model",
                                                  "linear_svr.model"};

typedef struct fixture {
    char *bundle[N_BUNDLES];
    char *bundle_path[N_BUNDLES];
    char *model[N_MODELS];
    char *model_path[N_MODELS];
    char *spec, *record, *prompt;
    allot_policy *policy[N_BUNDLES];
    allot_workspace *ws[N_BUNDLES];
    allot_featurizer *spec_feat; /* from spec: extras meta.level, standardised */
    allot_xgb_model *xgb;        /* xgb_trained_softprob3.json */
    allot_linear_model *lin;     /* linear_lr3.model */
} fixture;

static char *read_text(const char *dir, const char *name, int skip_selector_byte) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, fp)) > 0;) {
        n += got;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    if (!buf) exit(2);
    buf[n] = '\0';
    if (skip_selector_byte && n > 0) memmove(buf, buf + 1, n); /* the fuzz corpus's selector byte */
    return buf;
}

/* s with the first occurrence of `from` replaced by `to` (malloc'd). */
static char *replace_once(const char *s, const char *from, const char *to) {
    const char *at = strstr(s, from);
    if (!at) {
        fprintf(stderr, "fixture: '%s' not found\n", from);
        exit(2);
    }
    size_t a = (size_t)(at - s), lf = strlen(from), lt = strlen(to), n = strlen(s);
    char *out = malloc(n - lf + lt + 1);
    if (!out) exit(2);
    memcpy(out, s, a);
    memcpy(out + a, to, lt);
    memcpy(out + a + lt, at + lf, n - a - lf + 1);
    return out;
}

/* A value policy with one reg:logistic-like (binary:logistic) XGBoost model per tier. */
static char *value_xgboost_bundle(const char *model) {
    const char *head =
        "{\"format\":\"allot-policy\",\"version\":1,\"tiers\":[{\"name\":\"a\",\"cost\":1},{\"name\":\"b\","
        "\"cost\":2},"
        "{\"name\":\"c\",\"cost\":4}],\"features\":{\"version\":1,\"builtin\":[\"len_bytes\",\"n_digits\"]},"
        "\"classifier\":{\"kind\":\"xgboost\",\"target\":\"value\",\"classes\":[0,1,2],\"input\":\"dense\","
        "\"xgboost_per_tier\":[";
    const char *tail = "]},\"decision\":{\"rule\":\"value\",\"lambda\":0.02}}";
    size_t n = strlen(head) + 3 * strlen(model) + 2 + strlen(tail) + 1;
    char *b = malloc(n);
    if (!b) exit(2);
    snprintf(b, n, "%s%s,%s,%s%s", head, model, model, model, tail);
    return b;
}

static void fixture_load(fixture *fx, const char *policy_dir, const char *model_dir) {
    memset(fx, 0, sizeof *fx);
    fx->bundle[B_XGB] = read_text(policy_dir, "bundle_xgboost", 1);
    fx->bundle[B_XGB_ESCAPED] = replace_once(fx->bundle[B_XGB], "\"xgboost\": {", "\"xgb\\u006fost\": {");
    fx->bundle[B_LIN] = read_text(policy_dir, "bundle_liblinear", 1);
    fx->bundle[B_CONST] = read_text(policy_dir, "bundle_constant", 1);
    fx->bundle[B_VALUE_LIN] = read_text(policy_dir, "bundle_value_liblinear", 1);
    fx->spec = read_text(policy_dir, "spec", 1);
    fx->record = read_text(policy_dir, "record", 1);
    fx->prompt = read_text(policy_dir, "prompt", 1);
    for (int m = 0; m < N_MODELS; m++) {
        fx->model[m] = read_text(model_dir, MODEL_FILES[m], 0);
        fx->model_path[m] = pt_write_temp(fx->model[m], strlen(fx->model[m]), ".model");
    }
    fx->bundle[B_VALUE_XGB] = value_xgboost_bundle(fx->model[M_XGB_V3]);
    for (int b = 0; b < N_BUNDLES; b++) {
        fx->bundle_path[b] = pt_write_temp(fx->bundle[b], strlen(fx->bundle[b]), ".json");
        allot_error err;
        allot_error_clear(&err);
        if (allot_policy_load_memory(fx->bundle[b], strlen(fx->bundle[b]), &fx->policy[b], &err) ||
            allot_workspace_create(fx->policy[b], &fx->ws[b], &err)) {
            fprintf(stderr, "fixture: bundle %s: %s\n", BUNDLE_NAMES[b], err.msg);
            exit(2);
        }
    }
    allot_error err;
    allot_error_clear(&err);
    if (allot_featurizer_create(fx->spec, strlen(fx->spec), &fx->spec_feat, &err) ||
        allot_xgb_model_load_file(fx->model_path[M_XGB_TRAINED], &fx->xgb, &err) ||
        allot_linear_model_load_file(fx->model_path[M_LIN_LR3], &fx->lin, &err)) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        exit(2);
    }
}

static void fixture_free(fixture *fx) {
    for (int b = 0; b < N_BUNDLES; b++) {
        allot_workspace_free(fx->ws[b]);
        allot_policy_free(fx->policy[b]);
        unlink(fx->bundle_path[b]);
        free(fx->bundle_path[b]);
        free(fx->bundle[b]);
    }
    for (int m = 0; m < N_MODELS; m++) {
        unlink(fx->model_path[m]);
        free(fx->model_path[m]);
        free(fx->model[m]);
    }
    allot_featurizer_free(fx->spec_feat);
    allot_xgb_model_free(fx->xgb);
    allot_linear_model_free(fx->lin);
    free(fx->spec);
    free(fx->record);
    free(fx->prompt);
}

/* ---- one call under injection ---------------------------------------------------------------- */

/* Out handles of an OUT_UNTOUCHED case start here (run_release skips it). */
static char SENTINEL_OBJ;
#define SENTINEL ((void *)&SENTINEL_OBJ)
#define EXTRAS_SENTINEL 12345.0
#define NQ 3 /* queries of a batch */

/* Everything one call may produce. run_setup() and the case's prepare() fill it before injection
 * starts; the call runs with injection on; the checks and run_release() run with it off. */
typedef struct run {
    const fixture *fx;
    int index; /* bundle or model index of the case */
    allot_policy *policy;
    allot_xgb_model *xgb;
    allot_linear_model *lin;
    allot_featurizer *feat;
    allot_workspace *ws;
    allot_budget *budget;
    allot_featurizer *target_feat; /* set_standardization modifies it */
    double extras[4];
    allot_query_input q[NQ];
    allot_decision dec[NQ];
    double probs[NQ * 16];
} run;

typedef enum out_rule {
    OUT_NULL_ON_FAILURE, /* the documented *out = NULL */
    OUT_UNTOUCHED        /* "set only on success" / a buffer or object left as it was */
} out_rule;

typedef struct alloc_case {
    const char *name;
    int index;
    allot_status (*call)(run *r, allot_error *err);
    out_rule rule;
    int (*untouched)(const run *r);                    /* outputs as documented after a failure */
    allot_status (*prepare)(run *r, allot_error *err); /* optional, before injection starts */
} alloc_case;

static void run_setup(run *r, const fixture *fx, const alloc_case *c) {
    memset(r, 0, sizeof *r);
    r->fx = fx;
    r->index = c->index;
    void *s = c->rule == OUT_UNTOUCHED ? SENTINEL : NULL;
    r->policy = s, r->xgb = s, r->lin = s, r->feat = s, r->ws = s, r->budget = s;
    for (int i = 0; i < 4; i++) r->extras[i] = EXTRAS_SENTINEL;
    for (int i = 0; i < NQ; i++) {
        r->q[i].prompt = fx->prompt;
        r->q[i].prompt_len = strlen(fx->prompt) - (size_t)i;
        r->dec[i].tier = 999;
    }
    for (size_t i = 0; i < sizeof r->probs / sizeof *r->probs; i++) r->probs[i] = -1;
}

static void run_release(run *r) {
    if (r->policy != SENTINEL) allot_policy_free(r->policy);
    if (r->xgb != SENTINEL) allot_xgb_model_free(r->xgb);
    if (r->lin != SENTINEL) allot_linear_model_free(r->lin);
    if (r->feat != SENTINEL) allot_featurizer_free(r->feat);
    if (r->ws != SENTINEL) allot_workspace_free(r->ws);
    if (r->budget != SENTINEL) allot_budget_free(r->budget);
    allot_featurizer_free(r->target_feat);
}

/* Every out handle is NULL (rule NULL) or still the sentinel (rule UNTOUCHED). */
static int handles_as_documented(const run *r, out_rule rule) {
    void *want = rule == OUT_UNTOUCHED ? SENTINEL : NULL;
    return r->policy == want && r->xgb == want && r->lin == want && r->feat == want && r->ws == want &&
           r->budget == want;
}

typedef struct sweep_result {
    size_t points;    /* allocations of a successful call */
    size_t tolerated; /* iterations that succeeded despite an injected failure */
    int ok;
} sweep_result;

/* With ALLOT_ALLOC_MESSAGES set in the environment, each new error message a case produces is
 * printed (to review what a caller sees when memory runs out). */
static void show_message(const alloc_case *c, size_t n, const char *msg, char *last, size_t last_size) {
    if (!getenv("ALLOT_ALLOC_MESSAGES") || !strcmp(msg, last)) return;
    printf("  %s, allocation %zu: %s\n", c->name, n, msg);
    snprintf(last, last_size, "%s", msg);
}

/* Run c for N = 1, 2, ... with the N-th allocation failing (and, with persist, all after it). */
static sweep_result sweep(const fixture *fx, const alloc_case *c, int persist) {
    sweep_result res = {0, 0, 1};
    char last[ALLOT_ERROR_MSG_SIZE] = "";
    for (size_t n = 1; n < 1000000; n++) {
        run r;
        run_setup(&r, fx, c);
        allot_error err;
        allot_error_clear(&err);
        long live = pt_alloc_live();
        if (c->prepare && c->prepare(&r, &err)) {
            pt_check(&C, 0, "%s: preparing the call: %s", c->name, err.msg);
            res.ok = 0;
            return res;
        }
        pt_alloc_fail_at(n, persist);
        allot_status st = c->call(&r, &err);
        size_t injected = pt_alloc_failures();
        pt_alloc_fail_at(0, 0);
        int outputs_ok = 1;
        if (st != ALLOT_OK) {
            outputs_ok = handles_as_documented(&r, c->rule) && (!c->untouched || c->untouched(&r));
        }
        run_release(&r);
        long leaked = pt_alloc_live() - live;
        if (injected == 0) {
            res.ok &=
                pt_check(&C, st == ALLOT_OK, "%s: fails with no injected failure: %s", c->name, err.msg);
            res.ok &= pt_check(&C, leaked == 0, "%s: a successful call leaks %ld blocks", c->name, leaked);
            res.points = n - 1;
            return res;
        }
        if (st == ALLOT_OK) {
            res.tolerated++;
        } else {
            if (!persist) show_message(c, n, err.msg, last, sizeof last);
            res.ok &= pt_check(&C, st == ALLOT_E_NOMEM && strstr(err.msg, "out of memory"),
                               "%s: allocation %zu%s failing: status %d (%s), message '%s'", c->name, n,
                               persist ? " and later ones" : "", (int)st, allot_status_string(st), err.msg);
            res.ok &= pt_check(&C, outputs_ok, "%s: allocation %zu%s failing: outputs touched", c->name, n,
                               persist ? " and later ones" : "");
        }
        res.ok &= pt_check(&C, leaked == 0, "%s: allocation %zu%s failing: %ld blocks leaked", c->name, n,
                           persist ? " and later ones" : "", leaked);
        if (!res.ok) return res; /* one report per case is enough */
    }
    pt_check(&C, 0, "%s: still failing after 10^6 injection points", c->name);
    res.ok = 0;
    return res;
}

/* ---- the calls ------------------------------------------------------------------------------- */

static allot_status call_policy_memory(run *r, allot_error *err) {
    const char *b = r->fx->bundle[r->index];
    return allot_policy_load_memory(b, strlen(b), &r->policy, err);
}
static allot_status call_policy_file(run *r, allot_error *err) {
    return allot_policy_load_file(r->fx->bundle_path[r->index], &r->policy, err);
}
static allot_status call_xgb_memory(run *r, allot_error *err) {
    const char *m = r->fx->model[r->index];
    return allot_xgb_model_load_memory(m, strlen(m), &r->xgb, err);
}
static allot_status call_xgb_file(run *r, allot_error *err) {
    return allot_xgb_model_load_file(r->fx->model_path[r->index], &r->xgb, err);
}
static allot_status call_lin_memory(run *r, allot_error *err) {
    const char *m = r->fx->model[r->index];
    return allot_linear_model_load_memory(m, strlen(m), &r->lin, err);
}
static allot_status call_lin_file(run *r, allot_error *err) {
    return allot_linear_model_load_file(r->fx->model_path[r->index], &r->lin, err);
}
static allot_status call_featurizer_create(run *r, allot_error *err) {
    return allot_featurizer_create(r->fx->spec, strlen(r->fx->spec), &r->feat, err);
}
static allot_status call_featurizer_default(run *r, allot_error *err) {
    static const char *const extra[] = {"meta.level", "features.n_steps_hint", "meta.a.b"};
    return allot_featurizer_create_default(extra, 3, ALLOT_FEATURES_DEFAULT_HASH_DIM, &r->feat, err);
}

/* set_standardization on a fresh copy of the spec's featuriser (made before injection starts). */
static allot_status prepare_target_featurizer(run *r, allot_error *err) {
    return allot_featurizer_create(r->fx->spec, strlen(r->fx->spec), &r->target_feat, err);
}
static const double NEW_CENTER[3] = {5, 6, 7}, NEW_SCALE[3] = {2, 2, 2};
static allot_status call_set_standardization(run *r, allot_error *err) {
    return allot_featurizer_set_standardization(r->target_feat, NEW_CENTER, NEW_SCALE, 3, err);
}
static int standardization_untouched(const run *r) {
    static const double center[3] = {1, 2, 3}, scale[3] = {1, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        double c, s;
        allot_featurizer_standardization(r->target_feat, i, &c, &s);
        if (c != center[i] || s != scale[i]) return 0;
    }
    return 1;
}

static allot_status call_workspace(run *r, allot_error *err) {
    return allot_workspace_create(r->fx->policy[r->index], &r->ws, err);
}
static allot_status call_predict(run *r, allot_error *err) {
    const allot_policy *p = r->fx->policy[r->index];
    return allot_policy_predict(p, r->fx->ws[r->index], &r->q[0], NULL, r->probs, allot_policy_n_tiers(p),
                                &r->dec[0], err);
}
static allot_status call_predict_no_ws(run *r, allot_error *err) {
    const allot_policy *p = r->fx->policy[r->index];
    return allot_policy_predict(p, NULL, &r->q[0], NULL, NULL, 0, &r->dec[0], err);
}
static allot_status call_predict_batch(run *r, allot_error *err) {
    const allot_policy *p = r->fx->policy[r->index];
    return allot_policy_predict_batch(p, r->fx->ws[r->index], r->q, NQ, NULL, r->probs,
                                      NQ * allot_policy_n_tiers(p), r->dec, err);
}
static int decisions_untouched(const run *r) {
    for (int i = 0; i < NQ; i++)
        if (r->dec[i].tier != 999) return 0;
    for (size_t i = 0; i < sizeof r->probs / sizeof *r->probs; i++)
        if (r->probs[i] != -1) return 0;
    return 1;
}

/* The model evaluators and the featuriser on their own (documented: no heap allocation). */
static allot_status call_xgb_predict(run *r, allot_error *err) {
    const allot_xgb_model *m = r->fx->xgb;
    size_t nf = allot_xgb_model_num_features(m), w = allot_xgb_model_output_width(m, ALLOT_XGB_OUTPUT_PROBA);
    float rows[2 * 64], out[2 * 16];
    if (nf > 64 || w > 16) return allot_error_set(err, ALLOT_E_ARGUMENT, "fixture model too large");
    for (size_t i = 0; i < 2 * nf; i++) rows[i] = (float)i * 0.25f - 1.0f;
    allot_status st = allot_xgb_model_predict(m, ALLOT_XGB_OUTPUT_PROBA, rows, nf, out, w, err);
    if (!st) st = allot_xgb_model_predict_batch(m, ALLOT_XGB_OUTPUT_MARGIN, rows, 2, nf, out, 2 * w, err);
    return st;
}
static allot_status call_linear_predict(run *r, allot_error *err) {
    const allot_linear_feature x[3] = {{1, 0.5}, {2, -1.0}, {7, 2.0}};
    double dec[16], predicted;
    allot_status st = allot_linear_model_predict_values(r->fx->lin, x, 3, dec, 16, &predicted, err);
    if (!st) st = allot_linear_model_predict_probability(r->fx->lin, x, 3, dec, 16, &predicted, err);
    return st;
}
static allot_status call_featurize(run *r, allot_error *err) {
    const allot_featurizer *f = r->fx->spec_feat;
    float dense[64], sval[64];
    uint32_t sidx[64];
    size_t count = 0;
    char spec[4096];
    if (allot_featurizer_n_dense(f) > 64 || allot_featurizer_hash_dim(f) > 64)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "fixture featuriser too large");
    allot_status st =
        allot_featurize(f, r->fx->prompt, strlen(r->fx->prompt), NULL, 0, dense, sidx, sval, 64, &count, err);
    allot_featurizer_standardize(f, dense, dense);
    allot_featurizer_spec_json(f, spec, sizeof spec);
    return st;
}

static allot_status call_budget(run *r, allot_error *err) {
    allot_budget_config cfg = ALLOT_BUDGET_CONFIG_INIT;
    allot_budget_config_default(&cfg, 4.0, 0.2);
    allot_status st = allot_budget_create(&cfg, &r->budget, err);
    if (st) return st;
    /* the per-request calls: no allocation expected */
    allot_budget_state s = ALLOT_BUDGET_STATE_INIT;
    for (int i = 0; i < 10 && !st; i++) st = allot_budget_observe(r->budget, (double)(i % 5));
    allot_budget_get_state(r->budget, &s);
    allot_budget_reset(r->budget, allot_budget_mu(r->budget));
    return st;
}

static allot_status call_extras(run *r, allot_error *err) {
    const char *rec = r->fx->record;
    return allot_featurizer_extras_from_record(r->fx->spec_feat, rec, strlen(rec), r->extras, err);
}
static int extras_untouched(const run *r) {
    for (int i = 0; i < 4; i++)
        if (r->extras[i] != EXTRAS_SENTINEL) return 0;
    return 1;
}

/* ---- the cases ------------------------------------------------------------------------------- */

static void report(const alloc_case *c, const sweep_result *one, const sweep_result *all) {
    printf("alloc: %-58s %5zu injection points", c->name, one->points);
    if (one->tolerated || all->tolerated) /* e.g. shrinking the XGBoost node array */
        printf(" (optional allocations, the call succeeds without them: %zu failing once, %zu failing on)",
               one->tolerated, all->tolerated);
    printf("\n");
}

/* Both sweeps of one case; returns its injection points. */
static size_t check_case(const fixture *fx, const alloc_case *c) {
    sweep_result one = sweep(fx, c, 0), all = sweep(fx, c, 1);
    if (one.ok && all.ok)
        pt_check(&C, one.points == all.points, "%s: %zu injection points failing once, %zu failing on",
                 c->name, one.points, all.points);
    report(c, &one, &all);
    return one.points;
}

/* ---- cJSON: through --wrap or not, and the scanner that tells syntax errors from memory ------- */

static void check_cjson_routing(void) {
    size_t before = pt_alloc_count();
    cJSON *j = cJSON_Parse("{\"a\":[1,2,3],\"b\":\"x\"}");
    size_t counted = pt_alloc_count() - before;
    cJSON_Delete(j);
    printf("alloc: cJSON (shared library) without hooks: %zu of its allocations pass through --wrap\n",
           counted);
    pt_check(&C, j != NULL, "cJSON parses");
    pt_alloc_route_cjson();
    before = pt_alloc_count();
    j = cJSON_Parse("{\"a\":[1,2,3],\"b\":\"x\"}");
    counted = pt_alloc_count() - before;
    cJSON_Delete(j);
    pt_check(&C, counted >= 7, "cJSON through cJSON_InitHooks: %zu allocations counted", counted);
}

/* allot_rt_json_parse must never call a text malformed for cJSON "out of memory": on every input
 * cJSON rejects while memory is plentiful, *nomem must be 0. */
static int scanner_agrees(const char *text, size_t len) {
    int nomem = 0;
    cJSON *j = allot_rt_json_parse(text, len, NULL, &nomem);
    cJSON_Delete(j);
    return j != NULL || nomem == 0;
}

static void check_json_scanner(const fixture *fx) {
    static const char *const rejected[] = {
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\":}",
        "{\"a\" 1}",
        "[1 2]",
        "\"abc",
        "\"\\x\"",
        "[-]",
        "[01x]",
        "[\"\\ud800\"]",
        "[\"\\udc00\"]",
        "[\"\\ud800\\u0041\"]",
        "[\"\\ud800x\"]",
        "tru",
        "nul",
        "[1e]",
        "[1.]",
        "[.5]",
        "{\"a\":1,}",
        "[\"\\u12\"]",
        "[1234567890123456789012345678901234567890123456789012345678901234567890]"};
    for (size_t i = 0; i < sizeof rejected / sizeof *rejected; i++)
        pt_check(&C, scanner_agrees(rejected[i], strlen(rejected[i])), "json scanner: '%s'", rejected[i]);
    /* nesting: cJSON refuses more than CJSON_NESTING_LIMIT levels of valid JSON */
    size_t depth = CJSON_NESTING_LIMIT + 1;
    char *deep = malloc(2 * depth + 1);
    for (size_t i = 0; i < depth; i++) deep[i] = '[', deep[2 * depth - 1 - i] = ']';
    deep[2 * depth] = '\0';
    pt_check(&C, scanner_agrees(deep, 2 * depth), "json scanner: %zu nested arrays", depth);
    free(deep);
    /* every prefix and many one-byte mutations of the bundles and the spec */
    static const char subst[] = {'"', '{', '}', '[', ']', ',', ':', '\\', 'x', '0', ' ', '\x01'};
    size_t checked = 0, disagreements = 0;
    const char *docs[] = {fx->bundle[B_XGB], fx->bundle[B_VALUE_LIN], fx->spec, fx->record};
    for (size_t d = 0; d < sizeof docs / sizeof *docs; d++) {
        size_t n = strlen(docs[d]);
        char *m = malloc(n + 1);
        for (size_t k = 0; k <= n; k++, checked++) disagreements += !scanner_agrees(docs[d], k);
        for (size_t k = 0; k < n; k++)
            for (size_t s = 0; s < sizeof subst; s++, checked++) {
                memcpy(m, docs[d], n + 1);
                m[k] = subst[s];
                disagreements += !scanner_agrees(m, n);
            }
        free(m);
    }
    pt_check(&C, disagreements == 0, "json scanner: %zu of %zu malformed texts reported as out of memory",
             disagreements, checked);
    printf("alloc: json scanner agrees with cJSON on %zu truncated or mutated documents\n", checked);
}

/* Full-size bundles (what the trainer writes): too large for a sweep over every allocation, so 32
 * injection points spread over a successful load, each failing on (the first one fails cJSON's
 * first allocation, so the whole text goes to the scanner; later ones fall in the embedded model's
 * parse, in the featuriser, ...). Each must report running out of memory and leak nothing. */
#define LARGE_POINTS 32
static void check_large_bundle(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *base = strrchr(dir, '/');
    if (base) *base++ = '\0';
    char *text = read_text(base ? dir : ".", base ? base : dir, 0);
    allot_policy *p = NULL;
    allot_error err;
    allot_error_clear(&err);
    size_t before = pt_alloc_count();
    allot_status st = allot_policy_load_memory(text, strlen(text), &p, &err);
    size_t total = pt_alloc_count() - before;
    pt_check(&C, st == ALLOT_OK, "%s loads: %s", path, err.msg);
    allot_policy_free(p);
    int ok = 1;
    for (size_t k = 0; k < LARGE_POINTS && ok; k++) {
        size_t n = 1 + k * (total / LARGE_POINTS);
        long live = pt_alloc_live();
        p = SENTINEL;
        pt_alloc_fail_at(n, 1);
        st = allot_policy_load_memory(text, strlen(text), &p, &err);
        pt_alloc_fail_at(0, 0);
        if (st == ALLOT_OK) allot_policy_free(p);
        ok = pt_check(&C, st == ALLOT_E_NOMEM && p == NULL && pt_alloc_live() == live,
                      "%s, allocation %zu of %zu and later ones failing: status %d, message '%s', %ld leaked",
                      path, n, total, (int)st, err.msg, pt_alloc_live() - live);
    }
    free(text);
    printf("alloc: %s: %d injection points of %zu report running out of memory\n", path, LARGE_POINTS, total);
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_alloc_failures POLICY_CORPUS_DIR MODEL_CORPUS_DIR [BUNDLE...]\n");
        return 2;
    }
    check_cjson_routing();
    fixture fx;
    fixture_load(&fx, argv[1], argv[2]);
    check_json_scanner(&fx);
    for (int i = 3; i < argc; i++) check_large_bundle(argv[i]);

    alloc_case cases[64];
    char names[64][96];
    size_t nc = 0;
#define ADD(fmt, arg, idx, fn, rule, untouched)                                                              \
    do {                                                                                                     \
        snprintf(names[nc], sizeof names[nc], fmt, arg);                                                     \
        cases[nc] = (alloc_case){names[nc], idx, fn, rule, untouched, NULL};                                 \
        nc++;                                                                                                \
    } while (0)
    for (int b = 0; b < N_BUNDLES; b++) {
        ADD("allot_policy_load_memory (%s)", BUNDLE_NAMES[b], b, call_policy_memory, OUT_NULL_ON_FAILURE,
            NULL);
        ADD("allot_policy_load_file (%s)", BUNDLE_NAMES[b], b, call_policy_file, OUT_NULL_ON_FAILURE, NULL);
    }
    for (int m = M_XGB_SOFTPROB; m <= M_XGB_TRAINED; m++) {
        ADD("allot_xgb_model_load_memory (%s)", MODEL_FILES[m], m, call_xgb_memory, OUT_NULL_ON_FAILURE,
            NULL);
        ADD("allot_xgb_model_load_file (%s)", MODEL_FILES[m], m, call_xgb_file, OUT_NULL_ON_FAILURE, NULL);
    }
    for (int m = M_LIN_LR3; m <= M_LIN_SVR; m++) {
        ADD("allot_linear_model_load_memory (%s)", MODEL_FILES[m], m, call_lin_memory, OUT_NULL_ON_FAILURE,
            NULL);
        ADD("allot_linear_model_load_file (%s)", MODEL_FILES[m], m, call_lin_file, OUT_NULL_ON_FAILURE, NULL);
    }
    ADD("%s", "allot_featurizer_create (spec)", 0, call_featurizer_create, OUT_UNTOUCHED, NULL);
    ADD("%s", "allot_featurizer_create_default", 0, call_featurizer_default, OUT_UNTOUCHED, NULL);
    ADD("%s", "allot_featurizer_extras_from_record", 0, call_extras, OUT_NULL_ON_FAILURE, extras_untouched);
    ADD("%s", "allot_featurizer_set_standardization", 0, call_set_standardization, OUT_NULL_ON_FAILURE,
        standardization_untouched);
    cases[nc - 1].prepare = prepare_target_featurizer;
    ADD("%s", "allot_budget_create, _observe, _get_state, _reset", 0, call_budget, OUT_NULL_ON_FAILURE, NULL);
    ADD("%s", "allot_xgb_model_predict, _predict_batch", 0, call_xgb_predict, OUT_NULL_ON_FAILURE, NULL);
    ADD("%s", "allot_linear_model_predict_values, _probability", 0, call_linear_predict, OUT_NULL_ON_FAILURE,
        NULL);
    ADD("%s", "allot_featurize, _standardize, _spec_json", 0, call_featurize, OUT_NULL_ON_FAILURE, NULL);
    for (int b = 0; b < N_BUNDLES; b++) {
        ADD("allot_workspace_create (%s)", BUNDLE_NAMES[b], b, call_workspace, OUT_NULL_ON_FAILURE, NULL);
        ADD("allot_policy_predict (%s)", BUNDLE_NAMES[b], b, call_predict, OUT_NULL_ON_FAILURE,
            decisions_untouched);
        ADD("allot_policy_predict_batch (%s)", BUNDLE_NAMES[b], b, call_predict_batch, OUT_NULL_ON_FAILURE,
            decisions_untouched);
        if (!allot_policy_needs_workspace(fx.policy[b]))
            ADD("allot_policy_predict without workspace (%s)", BUNDLE_NAMES[b], b, call_predict_no_ws,
                OUT_NULL_ON_FAILURE, decisions_untouched);
    }
#undef ADD
    size_t total = 0;
    for (size_t i = 0; i < nc; i++) {
        size_t points = check_case(&fx, &cases[i]);
        total += points;
        if (strstr(cases[i].name, "predict") || strstr(cases[i].name, "allot_featurize,"))
            pt_check(&C, points == 0, "%s: allocates %zu times (documented: no heap allocation)",
                     cases[i].name, points);
        if (strstr(cases[i].name, "allot_budget"))
            pt_check(&C, points == 1, "%s: %zu allocations (documented: one)", cases[i].name, points);
        if (strstr(cases[i].name, "allot_workspace_create"))
            pt_check(&C, points == 1, "%s: %zu allocations (documented: one)", cases[i].name, points);
    }
    printf("alloc: %zu cases, %zu injection points in all (each swept failing once and failing on)\n", nc,
           total);
    fixture_free(&fx);
    return pt_finish(&C);
}
