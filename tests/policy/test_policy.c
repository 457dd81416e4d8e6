/* test_policy.c - policy bundles: parity with XGBoost / LIBLINEAR through the whole path
 * (prompt -> features -> classifier -> rule), decision rules by hand, batch, loader errors,
 * truncated and corrupted bundles, no allocation per prediction. */
#include <cjson/cJSON.h>
#include <inttypes.h>
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

#define NQ 600

static void xgb_ok(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "xgboost: %s: %s\n", what, XGBGetLastError());
        exit(2);
    }
}

/* Generated evaluation queries (a different seed from training). */
typedef struct {
    char *prompt[NQ];
    double extra[NQ];
} queries;

static void make_queries(queries *q, uint64_t seed) {
    pt_rng r = {seed};
    for (int i = 0; i < NQ; i++) q->prompt[i] = pt_make_prompt(&r, 3, NULL, &q->extra[i]);
}

static void free_queries(queries *q) {
    for (int i = 0; i < NQ; i++) free(q->prompt[i]);
}

static int dec_eq(const allot_decision *a, const allot_decision *b) {
    return a->tier == b->tier && a->class_index == b->class_index && a->cost == b->cost &&
           a->expected_cost == b->expected_cost && a->probability == b->probability && a->mu == b->mu &&
           a->rule == b->rule;
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

/* XGBoost parity: the runtime's probabilities equal XGBoost's own prediction on the featuriser's rows. */
static void test_xgboost_parity(int n_classes, const int *class_tier, int with_extra) {
    pt_bundle_opts o = {4, n_classes, class_tier, "calibrated", 0.05, with_extra, 0, 25};
    char *model;
    char *text = pt_bundle_xgboost(&o, 1500, 11 + (uint64_t)n_classes, &model);
    allot_policy *p = load(text);
    const allot_featurizer *f = allot_policy_featurizer(p);
    size_t nd = allot_featurizer_n_dense(f);
    pt_check(&C, allot_policy_n_tiers(p) == 4 && allot_policy_n_classes(p) == (size_t)n_classes,
             "xgb %d: shape", n_classes);
    pt_check(&C, allot_policy_rule(p) == ALLOT_RULE_CALIBRATED && allot_policy_mu(p) == 0.05,
             "xgb: rule and mu");
    pt_check(&C, allot_policy_classifier_kind(p) == ALLOT_CLASSIFIER_XGBOOST, "xgb: kind");
    BoosterHandle b;
    xgb_ok(XGBoosterCreate(NULL, 0, &b), "create");
    xgb_ok(XGBoosterLoadModelFromBuffer(b, model, strlen(model)), "load");
    queries q;
    make_queries(&q, 777);
    float *rows = malloc(NQ * nd * sizeof *rows);
    for (int i = 0; i < NQ; i++)
        allot_featurize(f, q.prompt[i], strlen(q.prompt[i]), with_extra ? &q.extra[i] : NULL,
                        with_extra ? 1 : 0, rows + (size_t)i * nd, NULL, NULL, 0, NULL, NULL);
    char arr[256];
    snprintf(arr, sizeof arr,
             "{\"data\": [%" PRIuPTR ", true], \"shape\": [%d, %zu], \"typestr\": \"<f4\", \"version\": 3}",
             (uintptr_t)rows, NQ, nd);
    const char *cfg = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
                      "\"strict_shape\": false, \"missing\": NaN, \"cache_id\": 0}";
    const bst_ulong *shape;
    bst_ulong dim;
    const float *ref;
    xgb_ok(XGBoosterPredictFromDense(b, arr, cfg, NULL, &shape, &dim, &ref), "predict");
    allot_workspace *ws;
    allot_workspace_create(p, &ws, NULL);
    double costs[4], tp[4];
    for (int c = 0; c < n_classes; c++)
        costs[c] = allot_policy_tier_cost(p, (size_t)allot_policy_class_tier(p, (size_t)c));
    int bit_equal = 1, rule_equal = 1, ec_ok = 1, zero_ok = 1, mu_zero_is_argmax = 1;
    int seen[4] = {0, 0, 0, 0};
    for (int i = 0; i < NQ; i++) {
        allot_query_input in = {.prompt = q.prompt[i],
                                .prompt_len = strlen(q.prompt[i]),
                                .extras = with_extra ? &q.extra[i] : NULL,
                                .n_extras = with_extra ? 1u : 0u};
        allot_decision d;
        allot_error e;
        if (allot_policy_predict(p, ws, &in, NULL, tp, 4, &d, &e)) {
            pt_check(&C, 0, "predict: %s", e.msg);
            break;
        }
        double pc[4];
        for (int c = 0; c < n_classes; c++) {
            if (n_classes == 2)
                pc[c] = c == 1 ? (double)ref[i] : 1.0 - (double)ref[i];
            else
                pc[c] = (double)ref[(size_t)i * (size_t)n_classes + (size_t)c];
            size_t t = (size_t)allot_policy_class_tier(p, (size_t)c);
            if (tp[t] != pc[c]) bit_equal = 0;
        }
        size_t want = allot_rule_apply(ALLOT_RULE_CALIBRATED, 0.05, pc, costs, (size_t)n_classes);
        if (d.class_index != want || d.tier != (size_t)allot_policy_class_tier(p, want)) rule_equal = 0;
        double ec = 0;
        for (int c = 0; c < n_classes; c++) ec += pc[c] * costs[c];
        if (fabs(ec - d.expected_cost) > 1e-12 * ec) ec_ok = 0;
        for (size_t t = 0; t < 4; t++) {
            int has = 0;
            for (int c = 0; c < n_classes; c++) has |= (size_t)allot_policy_class_tier(p, (size_t)c) == t;
            if (!has && tp[t] != 0) zero_ok = 0;
        }
        seen[d.tier]++;
        allot_predict_options o0 = {ALLOT_PREDICT_VERSION, ALLOT_RULE_CALIBRATED, 0.0};
        allot_predict_options oa = {ALLOT_PREDICT_VERSION, ALLOT_RULE_ARGMAX, -1};
        allot_decision d0, da;
        allot_policy_predict(p, ws, &in, &o0, NULL, 0, &d0, NULL);
        allot_policy_predict(p, ws, &in, &oa, NULL, 0, &da, NULL);
        if (d0.class_index != da.class_index && d0.probability != da.probability) mu_zero_is_argmax = 0;
    }
    pt_check(&C, bit_equal,
             "xgb %d classes%s: probabilities bit-equal to XGBoosterPredictFromDense on %d queries",
             n_classes, with_extra ? " (+extra)" : "", NQ);
    pt_check(&C, rule_equal, "xgb %d: decisions equal the calibrated rule on XGBoost's probabilities",
             n_classes);
    pt_check(&C, ec_ok, "xgb %d: expected cost = sum p * cost", n_classes);
    pt_check(&C, zero_ok, "xgb %d: tiers without a class have probability 0", n_classes);
    pt_check(&C, mu_zero_is_argmax, "xgb %d: calibrated with mu 0 = argmax", n_classes);
    pt_check(&C, seen[allot_policy_class_tier(p, 0)] > 0, "xgb %d: the cheap tier is chosen sometimes",
             n_classes);

    /* a large price always buys the cheapest class */
    allot_predict_options big = {ALLOT_PREDICT_VERSION, ALLOT_RULE_CALIBRATED, 1e6};
    int cheapest = 1;
    for (int i = 0; i < 50; i++) {
        allot_query_input in = {.prompt = q.prompt[i],
                                .prompt_len = strlen(q.prompt[i]),
                                .extras = with_extra ? &q.extra[i] : NULL,
                                .n_extras = with_extra ? 1u : 0u};
        allot_decision d;
        allot_policy_predict(p, ws, &in, &big, NULL, 0, &d, NULL);
        if (d.cost != costs[0]) cheapest = 0;
    }
    pt_check(&C, cheapest, "xgb %d: mu = 1e6 always picks the cheapest class", n_classes);

    /* batch = single */
    allot_query_input *ins = malloc(NQ * sizeof *ins);
    allot_decision *ds = malloc(NQ * sizeof *ds);
    double *tps = malloc(NQ * 4 * sizeof *tps);
    for (int i = 0; i < NQ; i++)
        ins[i] = (allot_query_input){.prompt = q.prompt[i],
                                     .prompt_len = strlen(q.prompt[i]),
                                     .extras = with_extra ? &q.extra[i] : NULL,
                                     .n_extras = with_extra ? 1u : 0u};
    allot_error e;
    allot_status st = allot_policy_predict_batch(p, ws, ins, NQ, NULL, tps, NQ * 4, ds, &e);
    int same = st == ALLOT_OK;
    for (int i = 0; same && i < NQ; i++) {
        allot_decision d;
        allot_policy_predict(p, ws, &ins[i], NULL, tp, 4, &d, NULL);
        same = dec_eq(&d, &ds[i]) && !memcmp(tp, tps + i * 4, sizeof tp);
    }
    pt_check(&C, same, "xgb %d: batch equals single predictions", n_classes);
    /* without a workspace (small dense policy: stack scratch) */
    pt_check(&C, !allot_policy_needs_workspace(p), "xgb: dense policy needs no workspace");
    allot_decision dn;
    st = allot_policy_predict(p, NULL, &ins[0], NULL, tp, 4, &dn, &e);
    pt_check(&C, st == ALLOT_OK && dec_eq(&dn, &ds[0]), "xgb: NULL workspace gives the same decision");

    /* no allocation per call */
    size_t before = pt_alloc_count();
    for (int i = 0; i < NQ; i++) {
        allot_decision d;
        allot_policy_predict(p, ws, &ins[i], NULL, tp, 4, &d, NULL);
        allot_policy_predict(p, NULL, &ins[i], NULL, NULL, 0, &d, NULL);
    }
    allot_policy_predict_batch(p, ws, ins, NQ, NULL, tps, NQ * 4, ds, NULL);
    pt_check(&C, pt_alloc_count() == before, "xgb: %d predictions allocate nothing (%zu)", 3 * NQ,
             pt_alloc_count() - before);

    /* argument errors */
    allot_predict_options badrule = {ALLOT_PREDICT_VERSION, 7, -1},
                          badmu = {ALLOT_PREDICT_VERSION, ALLOT_RULE_CALIBRATED, INFINITY};
    allot_decision d;
    pt_check(&C, allot_policy_predict(p, ws, &ins[0], &badrule, NULL, 0, &d, &e) == ALLOT_E_ARGUMENT,
             "bad rule refused");
    pt_check(&C, allot_policy_predict(p, ws, &ins[0], &badmu, NULL, 0, &d, &e) == ALLOT_E_ARGUMENT,
             "infinite mu refused");
    pt_check(&C, allot_policy_predict(p, ws, &ins[0], NULL, tp, 3, &d, &e) == ALLOT_E_ARGUMENT,
             "short tier_probs refused");
    if (with_extra) {
        allot_query_input bad = {
            .prompt = ins[0].prompt, .prompt_len = ins[0].prompt_len, .extras = ins[0].extras, .n_extras = 2};
        pt_check(&C, allot_policy_predict(p, ws, &bad, NULL, NULL, 0, &d, &e) == ALLOT_E_ARGUMENT,
                 "wrong number of extras refused");
        allot_query_input none = {
            .prompt = ins[0].prompt, .prompt_len = ins[0].prompt_len, .extras = NULL, .n_extras = 0};
        pt_check(&C, allot_policy_predict(p, ws, &none, NULL, NULL, 0, &d, &e) == ALLOT_OK,
                 "extras omitted = missing");
    }
    free(ins);
    free(ds);
    free(tps);
    free(rows);
    allot_workspace_free(ws);
    XGBoosterFree(b);
    free_queries(&q);
    allot_policy_free(p);
    free(model);
    free(text);
}

/* LIBLINEAR parity: probabilities / decision values equal LIBLINEAR's on the documented input. */
static void test_liblinear_parity(int n_classes, int solver) {
    pt_bundle_opts o = {3, n_classes, NULL, "argmax", 0, 1, 256, 0};
    char *text = pt_bundle_liblinear(&o, 800, 5 + (uint64_t)n_classes, solver);
    allot_policy *p = load(text);
    const allot_featurizer *f = allot_policy_featurizer(p);
    size_t nd = allot_featurizer_n_dense(f);
    pt_check(&C, allot_policy_needs_workspace(p), "liblinear: hashed input needs a workspace");
    pt_check(&C, allot_featurizer_has_standardization(f), "liblinear: standardisation loaded");
    cJSON *doc = cJSON_Parse(text);
    const char *mt = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "classifier"), "liblinear")->valuestring;
    char *path = pt_write_temp(mt, strlen(mt), NULL);
    struct model *m = load_model(path);
    unlink(path);
    free(path);
    cJSON_Delete(doc);
    if (!m) {
        pt_check(&C, 0, "liblinear: load_model");
        return;
    }
    queries q;
    make_queries(&q, 4242);
    allot_workspace *ws;
    allot_workspace_create(p, &ws, NULL);
    static uint32_t si[256];
    static float sv[256];
    float dense[64], z[64];
    struct feature_node x[64 + 256 + 2];
    int nl = get_nr_class(m), labels[8];
    get_labels(m, labels);
    int equal = 1, rule_ok = 1;
    for (int i = 0; i < NQ; i++) {
        size_t cnt;
        allot_featurize(f, q.prompt[i], strlen(q.prompt[i]), &q.extra[i], 1, dense, si, sv, 256, &cnt, NULL);
        allot_featurizer_standardize(f, dense, z);
        int k = 0;
        for (size_t j = 0; j < nd; j++)
            if (z[j] != 0.0f) x[k++] = (struct feature_node){(int)j + 1, (double)z[j]};
        for (size_t j = 0; j < cnt; j++) x[k++] = (struct feature_node){(int)(nd + si[j] + 1), (double)sv[j]};
        x[k++] = (struct feature_node){get_nr_feature(m) + 1, m->bias};
        x[k] = (struct feature_node){-1, 0};
        double pr[8], ref[8] = {0};
        if (check_probability_model(m)) {
            predict_probability(m, x, pr);
            for (int c = 0; c < nl; c++) ref[labels[c]] = pr[c];
        } else {
            double dv[8];
            predict_values(m, x, dv);
            if (nl == 2) {
                ref[labels[0]] = 1.0 / (1.0 + exp(-dv[0]));
                ref[labels[1]] = 1.0 - ref[labels[0]];
            } else {
                double mx = dv[0], s = 0;
                for (int c = 1; c < nl; c++) mx = dv[c] > mx ? dv[c] : mx;
                for (int c = 0; c < nl; c++) s += exp(dv[c] - mx);
                for (int c = 0; c < nl; c++) ref[labels[c]] = exp(dv[c] - mx) / s;
            }
        }
        allot_query_input in = {
            .prompt = q.prompt[i], .prompt_len = strlen(q.prompt[i]), .extras = &q.extra[i], .n_extras = 1};
        allot_decision d;
        double tp[3];
        allot_error e;
        if (allot_policy_predict(p, ws, &in, NULL, tp, 3, &d, &e)) {
            pt_check(&C, 0, "liblinear predict: %s", e.msg);
            break;
        }
        for (int c = 0; c < n_classes; c++)
            if (tp[c] != ref[c]) equal = 0;
        double costs[3] = {1, 2, 4};
        if (d.class_index != allot_rule_apply(ALLOT_RULE_ARGMAX, 0, ref, costs, (size_t)n_classes))
            rule_ok = 0;
    }
    pt_check(&C, equal, "liblinear solver %d, %d classes: probabilities equal LIBLINEAR's on %d queries",
             solver, n_classes, NQ);
    pt_check(&C, rule_ok, "liblinear solver %d, %d classes: argmax decisions", solver, n_classes);
    allot_decision d;
    allot_query_input in = {
        .prompt = q.prompt[0], .prompt_len = strlen(q.prompt[0]), .extras = &q.extra[0], .n_extras = 1};
    allot_error e;
    pt_check(&C,
             allot_policy_predict(p, NULL, &in, NULL, NULL, 0, &d, &e) == ALLOT_E_ARGUMENT &&
                 strstr(e.msg, "workspace"),
             "liblinear: NULL workspace refused with a message");
    size_t before = pt_alloc_count();
    for (int i = 0; i < 200; i++) allot_policy_predict(p, ws, &in, NULL, NULL, 0, &d, NULL);
    pt_check(&C, pt_alloc_count() == before, "liblinear: predictions allocate nothing");
    allot_workspace_free(ws);
    free_and_destroy_model(&m);
    free_queries(&q);
    allot_policy_free(p);
    free(text);
}

static void test_rule(void) {
    double p1[3] = {0.5, 0.3, 0.2}, c1[3] = {1, 2, 4};
    pt_check(&C, allot_rule_apply(ALLOT_RULE_ARGMAX, 0, p1, c1, 3) == 0, "argmax of .5 .3 .2");
    double p2[3] = {0.2, 0.5, 0.3};
    /* scores: log .2 - mu, log .5 - 2 mu, log .3 - 4 mu */
    pt_check(&C, allot_rule_apply(ALLOT_RULE_CALIBRATED, 0, p2, c1, 3) == 1, "calibrated mu 0 -> class 1");
    pt_check(&C, allot_rule_apply(ALLOT_RULE_CALIBRATED, 0.9, p2, c1, 3) == 1,
             "mu 0.9: -2.509 < -2.493 -> class 1");
    pt_check(&C, allot_rule_apply(ALLOT_RULE_CALIBRATED, 1.0, p2, c1, 3) == 0,
             "mu 1.0: -2.609 > -2.693 -> class 0");
    /* the switch point is mu = log(.5/.2) = 0.9163 */
    pt_check(&C,
             allot_rule_apply(ALLOT_RULE_CALIBRATED, 0.916, p2, c1, 3) == 1 &&
                 allot_rule_apply(ALLOT_RULE_CALIBRATED, 0.9164, p2, c1, 3) == 0,
             "switch at mu = log 2.5");
    double p3[3] = {0.0, 0.0, 1.0};
    pt_check(&C, allot_rule_apply(ALLOT_RULE_CALIBRATED, 100, p3, c1, 3) == 2,
             "p = 0 is never bought (log 0 = -inf)");
    /* a negative price raises the spend: class 1 up to mu = -log(.5/.3)/2, then class 2 */
    pt_check(&C,
             allot_rule_apply(ALLOT_RULE_CALIBRATED, -0.25, p2, c1, 3) == 1 &&
                 allot_rule_apply(ALLOT_RULE_CALIBRATED, -0.26, p2, c1, 3) == 2,
             "negative mu buys dearer classes (switch 1 -> 2 at mu = -log(.5/.3)/2 = -0.2554)");
    pt_check(&C, allot_rule_apply(ALLOT_RULE_CALIBRATED, -100, p3, c1, 3) == 2,
             "negative mu: p = 0 still never bought");
    /* the value rule on predicted accuracies: acc - lambda * cost, ties to the cheaper class */
    double v1[3] = {0.5, 0.625, 0.75}, cv[3] = {4, 1, 2};
    pt_check(&C, allot_rule_apply(ALLOT_RULE_VALUE, 0, v1, cv, 3) == 2, "value lambda 0: most accurate");
    pt_check(&C, allot_rule_apply(ALLOT_RULE_VALUE, 0.125, v1, cv, 3) == 1,
             "value lambda 1/8: 0, .5, .5 -> the cheaper");
    pt_check(&C, allot_rule_apply(ALLOT_RULE_VALUE, 0.25, v1, cv, 3) == 1,
             "value lambda 1/4: -.5, .375, .25");
    double v2[3] = {0.5, 0.5, 0.25}, cv2[3] = {1, 1, 0};
    pt_check(&C, allot_rule_apply(ALLOT_RULE_VALUE, 0, v2, cv2, 3) == 0,
             "value: equal value and cost -> smaller index");
    pt_check(&C, allot_rule_apply(ALLOT_RULE_VALUE, 0.25, v2, cv2, 3) == 2,
             "value: .25 .25 .25 -> the cheapest");
    double p4[3] = {0.25, 0.5, 0.25};
    pt_check(&C, allot_rule_apply(ALLOT_RULE_ARGMAX, 0, p4, c1, 3) == 1, "argmax .25 .5 .25");
    double p5[3] = {0.4, 0.4, 0.2};
    pt_check(&C, allot_rule_apply(ALLOT_RULE_ARGMAX, 0, p5, c1, 3) == 0, "ties go to the smaller class");
    double c5[3] = {2, 2, 2};
    pt_check(&C, allot_rule_apply(ALLOT_RULE_CALIBRATED, 1, p5, c5, 3) == 0,
             "calibrated ties go to the smaller class");
    double p6[3] = {NAN, 0.1, 0.9};
    pt_check(&C, allot_rule_apply(ALLOT_RULE_ARGMAX, 0, p6, c1, 3) == 2, "NaN is never chosen");
    double p7[1] = {1};
    pt_check(&C, allot_rule_apply(ALLOT_RULE_CALIBRATED, 5, p7, c1, 1) == 0, "one class");
}

static const char *SMALL = "{\"format\":\"allot-policy\",\"version\":1,"
                           "\"tiers\":[{\"name\":\"a\",\"cost\":1},{\"name\":\"b\",\"cost\":4}],"
                           "\"features\":{\"builtin\":[\"len_bytes\"]},"
                           "\"classifier\":{\"kind\":\"constant\",\"classes\":[1]},"
                           "\"decision\":{\"rule\":\"calibrated\",\"mu\":0.5}}";

/* Replace the first occurrence of `from` in SMALL by `to`. */
static char *mutate(const char *base, const char *from, const char *to) {
    const char *at = strstr(base, from);
    if (!at) {
        fprintf(stderr, "mutate: '%s' not found\n", from);
        exit(2);
    }
    size_t n = strlen(base) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    size_t pre = (size_t)(at - base);
    memcpy(s, base, pre);
    strcpy(s + pre, to);
    strcat(s, at + strlen(from));
    return s;
}

static void test_constant_and_errors(void) {
    allot_policy *p = load(SMALL);
    allot_decision d;
    double tp[2];
    allot_query_input in = {.prompt = "hello", .prompt_len = 5, .extras = NULL, .n_extras = 0};
    allot_status st = allot_policy_predict(p, NULL, &in, NULL, tp, 2, &d, NULL);
    pt_check(&C,
             st == ALLOT_OK && d.tier == 1 && d.cost == 4 && tp[0] == 0 && tp[1] == 1 &&
                 d.expected_cost == 4 && d.mu == 0.5,
             "constant policy: tier b, p = (0, 1), expected cost 4");
    pt_check(&C, allot_policy_tier_index(p, "b") == 1 && allot_policy_tier_index(p, "z") == -1, "tier_index");
    pt_check(&C, !strcmp(allot_policy_tier_name(p, 0), "a") && allot_policy_tier_name(p, 2) == NULL,
             "tier_name");
    allot_policy_free(p);

    struct {
        const char *from, *to;
        allot_status code;
        const char *field;
    } cases[] = {
        {"\"format\":\"allot-policy\"", "\"format\":\"other\"", ALLOT_E_INVALID, "format"},
        {"\"format\":\"allot-policy\",", "", ALLOT_E_INVALID, "format"},
        {"\"version\":1", "\"version\":3", ALLOT_E_UNSUPPORTED, "version"},
        {"\"version\":1", "\"version\":\"1\"", ALLOT_E_INVALID, "version"},
        {"\"version\":1", "\"version\":0.5", ALLOT_E_INVALID, "version"},
        {"\"tiers\":[", "\"tiers\":{\"x\":[", ALLOT_E_PARSE, "JSON"},
        {"\"tiers\":[{\"name\":\"a\",\"cost\":1},{\"name\":\"b\",\"cost\":4}]", "\"tiers\":[]",
         ALLOT_E_INVALID, "tiers"},
        {"\"tiers\":[{\"name\":\"a\",\"cost\":1},{\"name\":\"b\",\"cost\":4}]", "\"tierz\":[]",
         ALLOT_E_INVALID, "tiers"},
        {"{\"name\":\"a\",\"cost\":1}", "7", ALLOT_E_INVALID, "tiers[0]"},
        {"{\"name\":\"a\",\"cost\":1}", "{\"cost\":1}", ALLOT_E_INVALID, "tiers[0].name"},
        {"{\"name\":\"a\",\"cost\":1}", "{\"name\":\"\",\"cost\":1}", ALLOT_E_INVALID, "tiers[0].name"},
        {"{\"name\":\"a\",\"cost\":1}", "{\"name\":\"a\",\"cost\":-1}", ALLOT_E_INVALID, "tiers[0].cost"},
        {"{\"name\":\"a\",\"cost\":1}", "{\"name\":\"a\",\"cost\":\"1\"}", ALLOT_E_INVALID, "tiers[0].cost"},
        {"{\"name\":\"a\",\"cost\":1}", "{\"name\":\"b\",\"cost\":1}", ALLOT_E_INVALID, "tiers[1].name"},
        {"\"features\":{\"builtin\":[\"len_bytes\"]},", "", ALLOT_E_INVALID, "features"},
        {"\"builtin\":[\"len_bytes\"]", "\"builtin\":[\"len_bites\"]", ALLOT_E_UNSUPPORTED,
         "features.builtin[0]"},
        {"\"features\":{\"builtin\":[\"len_bytes\"]}", "\"features\":3", ALLOT_E_INVALID, "features"},
        {"\"classifier\":{\"kind\":\"constant\",\"classes\":[1]},", "", ALLOT_E_INVALID, "classifier"},
        {"\"kind\":\"constant\"", "\"kind\":\"forest\"", ALLOT_E_UNSUPPORTED, "classifier.kind"},
        {"\"kind\":\"constant\"", "\"kind\":1", ALLOT_E_INVALID, "classifier.kind"},
        {"\"classes\":[1]", "\"classes\":[2]", ALLOT_E_INVALID, "classifier.classes[0]"},
        {"\"classes\":[1]", "\"classes\":[-1]", ALLOT_E_INVALID, "classifier.classes[0]"},
        {"\"classes\":[1]", "\"classes\":[0.5]", ALLOT_E_INVALID, "classifier.classes[0]"},
        {"\"classes\":[1]", "\"classes\":[1,1]", ALLOT_E_INVALID, "classifier.classes[1]"},
        {"\"classes\":[1]", "\"classes\":[0,1]", ALLOT_E_INVALID, "classifier.classes"},
        {"\"classes\":[1]", "\"classes\":[]", ALLOT_E_INVALID, "classifier.classes"},
        {"\"classes\":[1]", "\"classes\":{}", ALLOT_E_INVALID, "classifier.classes"},
        {"\"classes\":[1]", "\"classes\":[1],\"input\":\"sparse\"", ALLOT_E_INVALID, "classifier.input"},
        {"\"kind\":\"constant\"", "\"kind\":\"xgboost\"", ALLOT_E_INVALID, "classifier.xgboost"},
        {"\"kind\":\"constant\",", "\"kind\":\"xgboost\",\"xgboost\":{\"learner\":7},", ALLOT_E_INVALID,
         "classifier.xgboost"},
        {"\"kind\":\"constant\",", "\"kind\":\"xgboost\",\"xgboost\":\"{\",", ALLOT_E_PARSE,
         "classifier.xgboost"},
        {"\"kind\":\"constant\"", "\"kind\":\"liblinear\"", ALLOT_E_INVALID, "classifier.liblinear"},
        {"\"kind\":\"constant\",",
         "\"kind\":\"liblinear\",\"liblinear\":\"solver_type L2R_LR\\nnr_class 2\\n\",", ALLOT_E_PARSE,
         "classifier.liblinear"},
        {"\"rule\":\"calibrated\"", "\"rule\":\"greedy\"", ALLOT_E_INVALID, "decision.rule"},
        {"\"mu\":0.5", "\"mu\":1e999", ALLOT_E_INVALID, "decision.mu"},
        {"\"mu\":0.5", "\"mu\":\"x\"", ALLOT_E_INVALID, "decision.mu"},
        {",\"mu\":0.5", "", ALLOT_E_INVALID, "decision.mu"},
        {"\"decision\":{", "\"decision\":7,\"x\":{", ALLOT_E_INVALID, "decision"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = mutate(SMALL, cases[i].from, cases[i].to);
        allot_policy *q = NULL;
        allot_error e;
        allot_error_clear(&e);
        st = allot_policy_load_memory(s, strlen(s), &q, &e);
        int ok = st == cases[i].code && q == NULL && strstr(e.msg, cases[i].field) != NULL;
        if (!ok && st == ALLOT_E_INVALID && cases[i].code == ALLOT_E_PARSE) ok = 0;
        pt_check(&C, ok, "bad bundle %zu (%s): want %d '%s', got %d '%s'", i, cases[i].to, cases[i].code,
                 cases[i].field, st, e.msg);
        if (q) allot_policy_free(q);
        free(s);
    }
    allot_error e;
    allot_policy *q = NULL;
    pt_check(&C,
             allot_policy_load_file("/nonexistent/policy.json", &q, &e) == ALLOT_E_IO &&
                 strstr(e.msg, "/nonexistent"),
             "missing file: I/O error naming the path");
    pt_check(&C, allot_policy_load_file("/", &q, &e) == ALLOT_E_IO, "a directory: I/O error");
    pt_check(&C, allot_policy_load_memory("", 0, &q, &e) == ALLOT_E_PARSE, "empty document");
    pt_check(&C, allot_policy_load_memory(NULL, 0, &q, &e) == ALLOT_E_PARSE, "NULL, 0 document");
    pt_check(&C, allot_policy_load_memory("[1]", 3, &q, &e) == ALLOT_E_INVALID, "a non-object document");
    pt_check(&C, allot_policy_load_memory(SMALL, strlen(SMALL), NULL, &e) == ALLOT_E_ARGUMENT, "NULL out");
}

/* Truncated and corrupted real bundles: a clean error or a valid policy, never a crash (ASan). */
static void test_hostile(void) {
    pt_bundle_opts o = {3, 3, NULL, "argmax", 0, 1, 0, 6};
    char *text = pt_bundle_xgboost(&o, 300, 3, NULL);
    size_t n = strlen(text);
    char *path = pt_write_temp(text, n, NULL);
    allot_policy *p = NULL;
    allot_error e;
    pt_check(&C, allot_policy_load_file(path, &p, &e) == ALLOT_OK, "bundle loads from a file");
    allot_policy_free(p);
    int trunc_ok = 1, tried = 0;
    for (size_t cut = 0; cut < n; cut += (cut + 200 > n ? 1 : 37)) {
        p = NULL;
        allot_status st = allot_policy_load_memory(text, cut, &p, &e);
        if (st == ALLOT_OK || p != NULL || e.msg[0] == 0) trunc_ok = 0;
        allot_policy_free(p);
        tried++;
    }
    pt_check(&C, trunc_ok, "%d truncations of an XGBoost bundle: clean errors", tried);
    /* truncated file */
    FILE *fp = fopen(path, "wb");
    fwrite(text, 1, n / 2, fp);
    fclose(fp);
    pt_check(&C, allot_policy_load_file(path, &p, &e) == ALLOT_E_PARSE && strstr(e.msg, path),
             "truncated file");
    unlink(path);
    free(path);
    pt_rng r = {2024};
    int loaded = 0, failed = 0;
    char *mut = malloc(n + 1);
    for (int k = 0; k < 400; k++) {
        memcpy(mut, text, n + 1);
        int flips = 1 + (int)(pt_next(&r) % 4);
        for (int j = 0; j < flips; j++) {
            size_t at = pt_next(&r) % n;
            const char set[] = "0123456789-.eE,:{}[]\"x ";
            mut[at] = set[pt_next(&r) % (sizeof set - 1)];
        }
        p = NULL;
        if (allot_policy_load_memory(mut, n, &p, &e) == ALLOT_OK) {
            loaded++;
            allot_decision d;
            allot_query_input in = {
                .prompt = "How many eggs? 12 or 13.", .prompt_len = 24, .extras = NULL, .n_extras = 0};
            allot_workspace *ws;
            allot_workspace_create(p, &ws, NULL);
            allot_policy_predict(p, ws, &in, NULL, NULL, 0, &d, NULL);
            allot_workspace_free(ws);
            allot_policy_free(p);
        } else {
            failed++;
        }
    }
    pt_check(&C, loaded + failed == 400,
             "400 corrupted bundles: %d loaded and predicted, %d refused, no crash", loaded, failed);
    free(mut);
    free(text);
}

int main(void) {
    test_rule();
    test_constant_and_errors();
    int ct3[3] = {0, 1, 3};
    test_xgboost_parity(3, ct3, 1);
    int ct2[2] = {1, 2};
    test_xgboost_parity(2, ct2, 0);
    test_xgboost_parity(4, NULL, 1);
    test_liblinear_parity(3, L2R_LR);
    test_liblinear_parity(2, L2R_LR);
    test_liblinear_parity(3, L2R_L2LOSS_SVC_DUAL);
    test_hostile();
    return pt_finish(&C);
}
