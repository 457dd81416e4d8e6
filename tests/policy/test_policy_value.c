/* test_policy_value.c - value policies (classifier.target "value"): one regressor per tier predicts
 * the query's accuracy there and the value rule argmax_t acc_t - lambda * cost_t decides.
 * The runtime's predicted accuracies equal XGBoost's own reg:logistic predictions bit for bit and
 * LIBLINEAR's predict_values (clipped to [0,1]); the tier is the value rule on them; per-call
 * prices; no allocation per prediction; loader errors for the new fields. */
#include <linear.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#include "alloc_count.h"
#include "allot/allot.h"
#include "policy_test_util.h"

static pt_counts C;

#define NT 4 /* tiers t0..t3, costs 1, 2, 4, 8 */
#define NTRAIN 500
#define NQ 600
#define LAMBDA 0.02

static void xgb_ok(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "xgboost: %s: %s\n", what, XGBGetLastError());
        exit(2);
    }
}

static void quiet(const char *s) {
    (void)s;
}

/* A query's accuracy at tier t: rises with the tier, falls with the prompt's difficulty label. */
static double true_acc(int label, int t, pt_rng *r) {
    double a = 0.85 - 0.3 * label + 0.08 * t + 0.1 * (pt_uniform(r) - 0.5);
    return a < 0 ? 0 : a > 1 ? 1 : a;
}

static char *spec_of(const allot_featurizer *f) {
    size_t n = allot_featurizer_spec_json(f, NULL, 0);
    char *s = malloc(n + 1);
    allot_featurizer_spec_json(f, s, n + 1);
    return s;
}

/* The bundle around per-tier models (models[t]: JSON values, already quoted for LIBLINEAR). */
static char *assemble_value(const allot_featurizer *f, const char *kind, const char *input, const char *key,
                            char *const *models, int n_models) {
    char *spec = spec_of(f);
    size_t cap = strlen(spec) + 4096;
    for (int t = 0; t < n_models; t++) cap += strlen(models[t]) + 4;
    char *b = malloc(cap);
    size_t n = (size_t)snprintf(b, cap, "{\"format\":\"allot-policy\",\"version\":1,\"tiers\":[");
    for (int t = 0; t < NT; t++)
        n += (size_t)snprintf(b + n, cap - n, "%s{\"name\":\"t%d\",\"cost\":%g}", t ? "," : "", t,
                              ldexp(1.0, t));
    n += (size_t)snprintf(
        b + n, cap - n,
        "],\"features\":%s,\"classifier\":{\"kind\":\"%s\",\"target\":\"value\",\"classes\":[0,1,2,3],"
        "\"input\":\"%s\",\"%s\":[",
        spec, kind, input, key);
    for (int t = 0; t < n_models; t++) n += (size_t)snprintf(b + n, cap - n, "%s%s", t ? "," : "", models[t]);
    snprintf(b + n, cap - n, "]},\"decision\":{\"rule\":\"value\",\"lambda\":%.17g},\"provenance\":{}}",
             LAMBDA);
    free(spec);
    return b;
}

static allot_policy *load(const char *text) {
    allot_policy *p = NULL;
    allot_error e;
    if (allot_policy_load_memory(text, strlen(text), &p, &e)) {
        fprintf(stderr, "load: %s\n", e.msg);
        exit(2);
    }
    return p;
}

static char *mutate(const char *base, const char *from, const char *to) {
    const char *at = strstr(base, from);
    if (!at) {
        fprintf(stderr, "mutate: '%s' not found\n", from);
        exit(2);
    }
    size_t pre = (size_t)(at - base);
    char *s = malloc(strlen(base) - strlen(from) + strlen(to) + 1);
    memcpy(s, base, pre);
    strcpy(s + pre, to);
    strcat(s, at + strlen(from));
    return s;
}

static void expect_error(const char *text, allot_status code, const char *field, const char *what) {
    allot_policy *p = NULL;
    allot_error e;
    allot_error_clear(&e);
    allot_status st = allot_policy_load_memory(text, strlen(text), &p, &e);
    pt_check(&C, st == code && p == NULL && strstr(e.msg, field) != NULL, "%s: want %d '%s', got %d '%s'",
             what, (int)code, field, (int)st, e.msg);
    allot_policy_free(p);
}

/* Queries for evaluation (a different seed from training). */
static char *eval_prompt[NQ];

/* ---- XGBoost ---------------------------------------------------------------------------------- */

static void test_xgboost(void) {
    allot_featurizer *f;
    allot_error e;
    if (allot_featurizer_create_default(NULL, 0, 0, &f, &e)) exit(2);
    size_t nd = allot_featurizer_n_dense(f);
    float *x = malloc(NTRAIN * nd * sizeof *x), *y = malloc(NTRAIN * sizeof *y);
    int *lab = malloc(NTRAIN * sizeof *lab);
    pt_rng r = {11};
    for (size_t i = 0; i < NTRAIN; i++) {
        char *pr = pt_make_prompt(&r, 3, &lab[i], NULL);
        allot_featurize(f, pr, strlen(pr), NULL, 0, x + i * nd, NULL, NULL, 0, NULL, NULL);
        free(pr);
    }
    BoosterHandle bst[NT];
    char *models[NT];
    DMatrixHandle d;
    xgb_ok(XGDMatrixCreateFromMat(x, NTRAIN, (bst_ulong)nd, NAN, &d), "DMatrix");
    for (int t = 0; t < NT; t++) {
        for (size_t i = 0; i < NTRAIN; i++) y[i] = (float)true_acc(lab[i], t, &r);
        xgb_ok(XGDMatrixSetFloatInfo(d, "label", y, NTRAIN), "label");
        xgb_ok(XGBoosterCreate(&d, 1, &bst[t]), "Booster");
        xgb_ok(XGBoosterSetParam(bst[t], "verbosity", "0"), "param");
        xgb_ok(XGBoosterSetParam(bst[t], "nthread", "1"), "param");
        xgb_ok(XGBoosterSetParam(bst[t], "max_depth", "4"), "param");
        xgb_ok(XGBoosterSetParam(bst[t], "objective", "reg:logistic"), "param");
        for (int it = 0; it < 25; it++) xgb_ok(XGBoosterUpdateOneIter(bst[t], it, d), "update");
        bst_ulong ml;
        const char *mj;
        xgb_ok(XGBoosterSaveModelToBuffer(bst[t], "{\"format\": \"json\"}", &ml, &mj), "save");
        models[t] = malloc((size_t)ml + 1);
        memcpy(models[t], mj, (size_t)ml);
        models[t][ml] = '\0';
    }
    char *bundle = assemble_value(f, "xgboost", "dense", "xgboost_per_tier", models, NT);
    allot_policy *p = load(bundle);
    pt_check(&C,
             allot_policy_target_kind(p) == ALLOT_TARGET_VALUE && allot_policy_rule(p) == ALLOT_RULE_VALUE &&
                 allot_policy_mu(p) == LAMBDA && allot_policy_n_classes(p) == NT,
             "xgb value: target, rule, lambda, classes");

    /* XGBoost's own predictions of every evaluation query, per tier */
    float *ex = malloc(NQ * nd * sizeof *ex);
    for (int i = 0; i < NQ; i++)
        allot_featurize(f, eval_prompt[i], strlen(eval_prompt[i]), NULL, 0, ex + (size_t)i * nd, NULL, NULL,
                        0, NULL, NULL);
    double *ref = malloc(NQ * NT * sizeof *ref);
    DMatrixHandle de;
    xgb_ok(XGDMatrixCreateFromMat(ex, NQ, (bst_ulong)nd, NAN, &de), "DMatrix");
    for (int t = 0; t < NT; t++) {
        const bst_ulong *shape;
        bst_ulong dim;
        const float *out;
        xgb_ok(XGBoosterPredictFromDMatrix(
                   bst[t], de,
                   "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
                   "\"strict_shape\":false}",
                   &shape, &dim, &out),
               "predict");
        for (int i = 0; i < NQ; i++) ref[i * NT + t] = (double)out[i];
    }
    XGDMatrixFree(de);

    allot_workspace *ws = NULL;
    allot_workspace_create(p, &ws, NULL);
    double costs[NT] = {1, 2, 4, 8};
    int bit_equal = 1, tier_ok = 1, fields_ok = 1, lambda0_ok = 1, big_ok = 1, neg_ok = 1, nan_ok = 1;
    int seen[NT] = {0};
    for (int i = 0; i < NQ; i++) {
        allot_query_input in = {
            .prompt = eval_prompt[i], .prompt_len = strlen(eval_prompt[i]), .extras = NULL, .n_extras = 0};
        allot_decision dd;
        double tp[NT];
        if (allot_policy_predict(p, ws, &in, NULL, tp, NT, &dd, &e)) {
            pt_check(&C, 0, "predict: %s", e.msg);
            break;
        }
        const double *rf = ref + i * NT;
        for (int t = 0; t < NT; t++)
            if (tp[t] != rf[t]) bit_equal = 0;
        size_t want = allot_rule_apply(ALLOT_RULE_VALUE, LAMBDA, rf, costs, NT);
        if (dd.tier != want || dd.class_index != want) tier_ok = 0;
        if (!isnan(dd.expected_cost) || dd.probability != rf[want] || dd.mu != LAMBDA ||
            dd.rule != ALLOT_RULE_VALUE || dd.cost != costs[want])
            fields_ok = 0;
        seen[dd.tier]++;
        allot_predict_options o0 = {ALLOT_PREDICT_VERSION, ALLOT_RULE_VALUE, 0.0},
                              ob = {ALLOT_PREDICT_VERSION, -1, 1e6}, on = {ALLOT_PREDICT_VERSION, -1, -1.0},
                              onan = ALLOT_PREDICT_OPTIONS_INIT;
        allot_decision d0, db, dn, dnan;
        allot_policy_predict(p, ws, &in, &o0, NULL, 0, &d0, NULL);
        allot_policy_predict(p, ws, &in, &ob, NULL, 0, &db, NULL);
        allot_policy_predict(p, ws, &in, &on, NULL, 0, &dn, NULL);
        allot_policy_predict(p, ws, &in, &onan, NULL, 0, &dnan, NULL);
        size_t best = 0;
        for (size_t t = 1; t < NT; t++)
            if (rf[t] > rf[best]) best = t;
        if (d0.tier != best) lambda0_ok = 0;
        if (db.tier != 0) big_ok = 0;
        if (dn.tier != allot_rule_apply(ALLOT_RULE_VALUE, -1.0, rf, costs, NT) || dn.mu != -1.0) neg_ok = 0;
        if (dnan.tier != dd.tier || dnan.mu != LAMBDA) nan_ok = 0;
    }
    pt_check(&C, bit_equal,
             "xgb value: predicted accuracies equal XGBoost's reg:logistic predictions bit for bit");
    pt_check(&C, tier_ok, "xgb value: tier = the value rule on XGBoost's predictions (%d queries)", NQ);
    pt_check(&C, fields_ok,
             "xgb value: decision fields (accuracy as probability, NaN expected cost, lambda)");
    pt_check(&C, lambda0_ok, "xgb value: lambda 0 = the most accurate predicted tier");
    pt_check(&C, big_ok, "xgb value: a huge lambda = the cheapest tier");
    pt_check(&C, neg_ok, "xgb value: a negative per-call price is a price");
    pt_check(&C, nan_ok, "xgb value: NaN per-call price = the bundle's lambda");
    pt_check(&C, seen[0] + seen[1] + seen[2] + seen[3] == NQ && (seen[0] < NQ),
             "xgb value: tiers used %d %d %d %d", seen[0], seen[1], seen[2], seen[3]);

    /* batch = single; no allocation per call */
    {
        allot_query_input ins[8];
        allot_decision db[8], ds;
        for (int i = 0; i < 8; i++)
            ins[i] = (allot_query_input){.prompt = eval_prompt[i],
                                         .prompt_len = strlen(eval_prompt[i]),
                                         .extras = NULL,
                                         .n_extras = 0};
        int same = allot_policy_predict_batch(p, ws, ins, 8, NULL, NULL, 0, db, NULL) == ALLOT_OK;
        for (int i = 0; i < 8 && same; i++) {
            allot_policy_predict(p, ws, &ins[i], NULL, NULL, 0, &ds, NULL);
            same = ds.tier == db[i].tier && ds.probability == db[i].probability;
        }
        pt_check(&C, same, "xgb value: batch = single calls");
        size_t before = pt_alloc_count();
        for (int i = 0; i < NQ; i++) allot_policy_predict(p, ws, &ins[i % 8], NULL, NULL, 0, &ds, NULL);
        pt_check(&C, pt_alloc_count() == before, "xgb value: %d predictions allocate nothing", NQ);
    }
    allot_workspace_free(ws);
    allot_policy_free(p);

    /* loader errors for the new fields */
    struct {
        const char *from, *to;
        allot_status code;
        const char *field;
    } cases[] = {
        {"\"target\":\"value\"", "\"target\":\"values\"", ALLOT_E_INVALID, "classifier.target"},
        {"\"target\":\"value\"", "\"target\":1", ALLOT_E_INVALID, "classifier.target"},
        {"\"xgboost_per_tier\"", "\"xgboost_per_tie\"", ALLOT_E_INVALID, "classifier.xgboost_per_tier"},
        {"\"classes\":[0,1,2,3]", "\"classes\":[0,1,2]", ALLOT_E_INVALID, "classifier.xgboost_per_tier"},
        {"\"lambda\":", "\"mu\":", ALLOT_E_INVALID, "decision.lambda"},
        {"\"lambda\":", "\"lambda\":-1,\"x\":", ALLOT_E_INVALID, "decision.lambda"},
        {"\"lambda\":", "\"lambda\":\"a\",\"x\":", ALLOT_E_INVALID, "decision.lambda"},
        {"\"rule\":\"value\"", "\"rule\":\"values\"", ALLOT_E_INVALID, "decision.rule"},
        {"\"xgboost_per_tier\":[", "\"xgboost_per_tier\":[7,", ALLOT_E_INVALID,
         "classifier.xgboost_per_tier"},
        {"\"kind\":\"xgboost\"", "\"kind\":\"constant\"", ALLOT_E_INVALID, "classifier.target"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *s = mutate(bundle, cases[k].from, cases[k].to);
        char what[64];
        snprintf(what, sizeof what, "xgb value bad bundle %zu", k);
        expect_error(s, cases[k].code, cases[k].field, what);
        free(s);
    }
    /* a classifier as a per-tier model: its output is no accuracy */
    {
        char *mc;
        pt_bundle_opts o = {NT, 3, NULL, "argmax", 0, 0, 0, 5};
        char *tier_bundle = pt_bundle_xgboost(&o, 200, 3, &mc);
        char *bad_models[NT] = {models[0], mc, models[2], models[3]};
        char *s = assemble_value(f, "xgboost", "dense", "xgboost_per_tier", bad_models, NT);
        expect_error(s, ALLOT_E_UNSUPPORTED, "classifier.xgboost_per_tier[1]",
                     "softprob model as a per-tier model");
        free(s);
        /* the value rule needs predicted accuracies */
        s = mutate(tier_bundle, "\"rule\": \"argmax\", \"mu\": 0", "\"rule\": \"value\", \"lambda\": 0");
        expect_error(s, ALLOT_E_INVALID, "decision.rule", "value rule on a tier classifier");
        free(s);
        /* an explicit "tier" target is the default */
        s = mutate(tier_bundle, "\"kind\": \"xgboost\"", "\"kind\": \"xgboost\", \"target\": \"tier\"");
        allot_policy *pt = load(s);
        pt_check(&C, allot_policy_target_kind(pt) == ALLOT_TARGET_TIER, "target \"tier\" accepted");
        allot_policy_free(pt);
        free(s);
        free(tier_bundle);
        free(mc);
    }
    /* no decision: the value rule at lambda 0 */
    {
        char *s = mutate(bundle, ",\"decision\":{", ",\"nodecision\":{");
        allot_policy *pd = load(s);
        pt_check(&C, allot_policy_rule(pd) == ALLOT_RULE_VALUE && allot_policy_mu(pd) == 0,
                 "value bundle without decision: value rule, lambda 0");
        allot_policy_free(pd);
        free(s);
    }
    /* every truncation fails cleanly */
    {
        size_t L = strlen(bundle), bad = 0;
        for (size_t cut = 0; cut < L; cut += 1 + L / 700) {
            allot_policy *pq = NULL;
            if (allot_policy_load_memory(bundle, cut, &pq, NULL) == ALLOT_OK) bad++;
            allot_policy_free(pq);
        }
        pt_check(&C, bad == 0, "xgb value: truncated bundles refused (%zu loaded)", bad);
    }
    for (int t = 0; t < NT; t++) {
        XGBoosterFree(bst[t]);
        free(models[t]);
    }
    XGDMatrixFree(d);
    free(bundle);
    free(ref);
    free(ex);
    free(x);
    free(y);
    free(lab);
    allot_featurizer_free(f);
}

/* ---- LIBLINEAR ---------------------------------------------------------------------------------- */

static char *json_quote(const char *txt) {
    size_t L = strlen(txt), e = 0;
    char *esc = malloc(L * 2 + 3);
    esc[e++] = '"';
    for (size_t i = 0; i < L; i++) {
        if (txt[i] == '\n') {
            esc[e++] = '\\';
            esc[e++] = 'n';
        } else {
            if (txt[i] == '"' || txt[i] == '\\') esc[e++] = '\\';
            esc[e++] = txt[i];
        }
    }
    esc[e++] = '"';
    esc[e] = '\0';
    return esc;
}

static char *model_text(const struct model *m) {
    char *path = pt_write_temp("", 0, ".liblinear");
    if (save_model(path, m)) exit(2);
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long L = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *txt = malloc((size_t)L + 1);
    if (fread(txt, 1, (size_t)L, fp) != (size_t)L) exit(2);
    txt[L] = '\0';
    fclose(fp);
    unlink(path);
    free(path);
    return txt;
}

/* LIBLINEAR rows of a prompt: standardised dense block, hashed block, bias node (index nd+hd+1). */
static struct feature_node *lin_row(const allot_featurizer *f, const char *pr, float *x, float *z,
                                    uint32_t *si, float *sv) {
    size_t nd = allot_featurizer_n_dense(f), cnt = 0, k = 0;
    uint32_t hd = allot_featurizer_hash_dim(f);
    allot_featurize(f, pr, strlen(pr), NULL, 0, x, si, sv, hd, &cnt, NULL);
    allot_featurizer_standardize(f, x, z);
    struct feature_node *row = malloc((nd + cnt + 2) * sizeof *row);
    for (size_t j = 0; j < nd; j++)
        if (z[j] != 0.0f) row[k++] = (struct feature_node){(int)j + 1, (double)z[j]};
    for (size_t j = 0; j < cnt; j++) row[k++] = (struct feature_node){(int)(nd + si[j] + 1), (double)sv[j]};
    row[k++] = (struct feature_node){(int)(nd + hd + 1), 1.0};
    row[k] = (struct feature_node){-1, 0};
    return row;
}

static void test_liblinear(void) {
    allot_featurizer *f;
    allot_error e;
    const uint32_t hd = 256;
    if (allot_featurizer_create_default(NULL, 0, hd, &f, &e)) exit(2);
    size_t nd = allot_featurizer_n_dense(f);
    float *x = malloc(NTRAIN * nd * sizeof *x), *z = malloc(nd * sizeof *z), *sv = malloc(hd * sizeof *sv);
    uint32_t *si = malloc(hd * sizeof *si);
    int *lab = malloc(NTRAIN * sizeof *lab);
    char **prompts = malloc(NTRAIN * sizeof *prompts);
    pt_rng r = {12};
    for (size_t i = 0; i < NTRAIN; i++) {
        prompts[i] = pt_make_prompt(&r, 3, &lab[i], NULL);
        allot_featurize(f, prompts[i], strlen(prompts[i]), NULL, 0, x + i * nd, NULL, NULL, 0, NULL, NULL);
    }
    double *c = calloc(nd, sizeof *c), *s = calloc(nd, sizeof *s);
    for (size_t j = 0; j < nd; j++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < NTRAIN; i++) sum += x[i * nd + j];
        c[j] = sum / NTRAIN;
        for (size_t i = 0; i < NTRAIN; i++) sq += (x[i * nd + j] - c[j]) * (x[i * nd + j] - c[j]);
        s[j] = sq > 0 ? sqrt(sq / (NTRAIN - 1)) : 1;
    }
    allot_featurizer_set_standardization(f, c, s, nd, NULL);
    struct feature_node **rows = malloc(NTRAIN * sizeof *rows);
    for (size_t i = 0; i < NTRAIN; i++) rows[i] = lin_row(f, prompts[i], x + i * nd, z, si, sv);
    double *y = malloc(NTRAIN * sizeof *y);
    struct model *m[NT];
    char *models[NT];
    set_print_string_function(quiet);
    for (int t = 0; t < NT; t++) {
        for (size_t i = 0; i < NTRAIN; i++) y[i] = true_acc(lab[i], t, &r);
        struct problem prob = {NTRAIN, (int)(nd + hd + 1), y, rows, 1.0};
        struct parameter param;
        memset(&param, 0, sizeof param);
        param.solver_type = L2R_L2LOSS_SVR;
        param.C = 1;
        param.eps = 0.0001;
        param.p = 0;
        m[t] = train(&prob, &param);
        char *txt = model_text(m[t]);
        models[t] = json_quote(txt);
        free(txt);
    }
    char *bundle = assemble_value(f, "liblinear", "dense+hashed", "liblinear_per_tier", models, NT);
    allot_policy *p = load(bundle);
    allot_workspace *ws = NULL;
    allot_workspace_create(p, &ws, NULL);
    double costs[NT] = {1, 2, 4, 8};
    int equal = 1, tier_ok = 1, clipped = 0;
    float *xe = malloc(nd * sizeof *xe);
    for (int i = 0; i < NQ; i++) {
        struct feature_node *row = lin_row(f, eval_prompt[i], xe, z, si, sv);
        double rf[NT];
        for (int t = 0; t < NT; t++) {
            double v;
            predict_values(m[t], row, &v);
            if (v < 0 || v > 1) clipped++;
            rf[t] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        free(row);
        allot_query_input in = {
            .prompt = eval_prompt[i], .prompt_len = strlen(eval_prompt[i]), .extras = NULL, .n_extras = 0};
        allot_decision dd;
        double tp[NT];
        if (allot_policy_predict(p, ws, &in, NULL, tp, NT, &dd, &e)) {
            pt_check(&C, 0, "predict: %s", e.msg);
            break;
        }
        for (int t = 0; t < NT; t++)
            if (tp[t] != rf[t]) equal = 0;
        if (dd.tier != allot_rule_apply(ALLOT_RULE_VALUE, LAMBDA, rf, costs, NT)) tier_ok = 0;
    }
    pt_check(&C, equal,
             "liblinear value: predicted accuracies = predict_values clipped to [0,1] (%d clipped)", clipped);
    pt_check(&C, tier_ok, "liblinear value: tier = the value rule on LIBLINEAR's predictions (%d queries)",
             NQ);
    {
        allot_query_input in = {
            .prompt = eval_prompt[0], .prompt_len = strlen(eval_prompt[0]), .extras = NULL, .n_extras = 0};
        allot_decision dd;
        size_t before = pt_alloc_count();
        for (int i = 0; i < 200; i++) allot_policy_predict(p, ws, &in, NULL, NULL, 0, &dd, NULL);
        pt_check(&C, pt_alloc_count() == before, "liblinear value: predictions allocate nothing");
    }
    allot_workspace_free(ws);
    allot_policy_free(p);
    /* a classifier model text as a per-tier model is refused; so are a wrong count and non-strings */
    {
        char *s2 = mutate(bundle, "solver_type L2R_L2LOSS_SVR", "solver_type L2R_LR");
        allot_policy *pq = NULL;
        allot_error e2;
        allot_error_clear(&e2);
        allot_status st = allot_policy_load_memory(s2, strlen(s2), &pq, &e2);
        pt_check(&C, st != ALLOT_OK && strstr(e2.msg, "classifier.liblinear_per_tier[0]") != NULL,
                 "liblinear value: a classification model text refused (%s)", e2.msg);
        allot_policy_free(pq);
        free(s2);
        s2 = mutate(bundle, "\"classes\":[0,1,2,3]", "\"classes\":[0,1,2]");
        expect_error(s2, ALLOT_E_INVALID, "classifier.liblinear_per_tier",
                     "liblinear value: 4 models, 3 classes");
        free(s2);
        s2 = mutate(bundle, "\"liblinear_per_tier\":[", "\"liblinear_per_tier\":[{},");
        expect_error(s2, ALLOT_E_INVALID, "classifier.liblinear_per_tier",
                     "liblinear value: an object per tier");
        free(s2);
    }
    for (int t = 0; t < NT; t++) {
        free_and_destroy_model(&m[t]);
        free(models[t]);
    }
    for (size_t i = 0; i < NTRAIN; i++) {
        free(rows[i]);
        free(prompts[i]);
    }
    free(rows);
    free(prompts);
    free(bundle);
    free(y);
    free(x);
    free(xe);
    free(z);
    free(sv);
    free(si);
    free(lab);
    free(c);
    free(s);
    allot_featurizer_free(f);
}

int main(void) {
    pt_rng r = {99};
    for (int i = 0; i < NQ; i++) eval_prompt[i] = pt_make_prompt(&r, 3, NULL, NULL);
    test_xgboost();
    test_liblinear();
    for (int i = 0; i < NQ; i++) free(eval_prompt[i]);
    return pt_finish(&C);
}
