/*
 * test_learn.c - allot_learn on synthetic curves: split, class map, calibration, both learners
 * through the real XGBoost and LIBLINEAR APIs, bundle round trip through the runtime's policy
 * loader (same probabilities as XGBoost/LIBLINEAR themselves, same tier on every held-out query),
 * determinism, the constant and two-class cases, and errors. Value policies (--target value):
 * per-tier regressors through both libraries, bit-for-bit parity of the predicted accuracies, the
 * value rule's calibration, and the uninformative-features case (the allocation reduces to the
 * single-tier/hull choice on the training mean curve). Negative mu: calibration raises an
 * underspending classifier's spend to the budget.
 */
#define CHECK_AREA "learn"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "calibrate.h"
#include "../common/check_continue.h"
#include "dataset.h"
#include "learn.h"
#include "learn_bundle_check.h"
#include "learn_test_util.h"
#include "linear_learner.h"
#include "oracle.h"
#include "seed.h"
#include "xgb_learner.h"

/* The two rules a bundle may name, in the order of the tests' file names (p-L-0 is calibrated). */
static const allot_rule rules[] = {ALLOT_RULE_CALIBRATED, ALLOT_RULE_ARGMAX};

static void test_split(void) {
    allot_split a, b;
    allot_error err = {0};
    REQUIRE_OK(allot_split_make(1000, 0.2, 5, 7, &a, &err));
    REQUIRE_OK(allot_split_make(1000, 0.2, 5, 7, &b, &err));
    CHECK(a.n_test == 200 && a.n_train == 800);
    CHECK(!memcmp(a.test_idx, b.test_idx, a.n_test * sizeof *a.test_idx));
    size_t fold_n[5] = {0};
    for (size_t j = 0; j < a.n_train; j++) fold_n[a.fold[a.train_idx[j]]]++;
    for (int f = 0; f < 5; f++) CHECK(fold_n[f] == 160);
    for (size_t j = 0; j < a.n_test; j++) CHECK(a.fold[a.test_idx[j]] == -1);
    allot_split_free(&b);
    REQUIRE_OK(allot_split_make(1000, 0.2, 5, 8, &b, &err));
    CHECK(memcmp(a.test_idx, b.test_idx, a.n_test * sizeof *a.test_idx) !=
          0); /* another seed, another split */
    allot_split_free(&a);
    allot_split_free(&b);
    CHECK(allot_split_make(1, 0.2, 5, 1, &a, &err) != ALLOT_OK);
    CHECK(allot_split_make(10, 0.2, 9, 1, &a, &err) != ALLOT_OK); /* 8 training queries, 9 folds */
    CHECK(allot_split_make(10, 1.0, 2, 1, &a, &err) == ALLOT_E_ARGUMENT);
}

static void test_class_map(void) {
    int tiers[] = {3, 0, 3, 5, 0};
    allot_class_map m;
    allot_error err = {0};
    REQUIRE_OK(allot_class_map_make(tiers, 5, 7, &m, &err));
    CHECK(m.n_classes == 3);
    CHECK(m.class_tier[0] == 0 && m.class_tier[1] == 3 && m.class_tier[2] == 5);
    CHECK(m.tier_class[0] == 0 && m.tier_class[1] == -1 && m.tier_class[3] == 1 && m.tier_class[5] == 2 &&
          m.tier_class[6] == -1);
    allot_class_map_free(&m);
}

static void test_calibration(void) {
    /* 200 queries, 3 classes of price 1, 4, 16; random probabilities */
    size_t n = 200;
    int K = 3;
    double price[3] = {1, 4, 16};
    double *p = malloc(n * 3 * sizeof *p), *real = malloc(n * 3 * sizeof *real);
    allot_rng rng;
    allot_rng_seed(&rng, 3);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += (p[i * 3 + k] = allot_rng_uniform(&rng) + 0.01);
        for (int k = 0; k < K; k++) {
            p[i * 3 + k] /= s;
            real[i * 3 + k] = price[k] * (0.8 + 0.4 * allot_rng_uniform(&rng));
        }
    }
    double prev = INFINITY;
    for (double mu = 0; mu < 2; mu += 0.01) {
        double cst = allot_calibrated_mean_cost(p, n, K, price, real, mu, NULL);
        CHECK(cst <= prev + 1e-12);
        prev = cst;
    }
    double argmax_cost = allot_calibrated_mean_cost(p, n, K, price, real, 0, NULL);
    for (double B = 1.5; B < 12; B += 1.3) {
        double mu = allot_calibrate_mu(p, n, K, price, real, B);
        double cst = allot_calibrated_mean_cost(p, n, K, price, real, mu, NULL);
        CHECKF(cst <= B + 1e-9, "B %g cost %g", B, cst);
        if (mu > 1e-9) {
            /* the smallest such mu: a little less overspends */
            CHECK(allot_calibrated_mean_cost(p, n, K, price, real, mu * (1 - 1e-6), NULL) > B || mu < 1e-6);
            CHECK(argmax_cost > B);
        } else {
            /* argmax underspends: a negative price raises the spend to B (a little lower overspends) */
            CHECK(argmax_cost <= B + 1e-9);
            CHECKF(mu < 0 || argmax_cost > B - 1e-9, "B %g mu %g argmax cost %g", B, mu, argmax_cost);
            if (mu < -1e-6) {
                CHECK(cst > argmax_cost - 1e-12);
                CHECK(allot_calibrated_mean_cost(p, n, K, price, real, mu * (1 + 1e-6), NULL) > B);
            }
        }
    }
    /* no price binds: one class -> mu 0; two classes whose dearest choices fit -> the least
     * negative price at full spend (the switch point log(.8/.2) / (2 - 1) = -1.386...) */
    {
        double p1[2] = {1.0, 1.0}, c1[1] = {3}, r1[2] = {3, 3};
        CHECK(allot_calibrate_mu(p1, 2, 1, c1, r1, 10) == 0);
        double p2[4] = {0.8, 0.2, 0.8, 0.2}, c2[2] = {1, 2}, r2[4] = {1, 2, 1, 2};
        double m2 = allot_calibrate_mu(p2, 2, 2, c2, r2, 10);
        CHECKF(fabs(m2 + log(4.0)) < 1e-9, "saturated mu %g", m2);
        CHECK(allot_calibrated_mean_cost(p2, 2, 2, c2, r2, m2, NULL) == 2);
    }
    free(p);
    free(real);
}

/* A 3-class problem the learners must beat chance on: class = which third x0 falls in. */
static void test_learners_direct(void) {
    size_t n = 600, d = 3;
    float *x = malloc(n * d * sizeof *x);
    int *y = malloc(n * sizeof *y), *y2 = malloc(n * sizeof *y2);
    allot_rng rng;
    allot_rng_seed(&rng, 11);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) x[i * d + j] = (float)allot_rng_uniform(&rng);
        if (i % 17 == 0) x[i * d + 2] = NAN; /* missing values are fine */
        y[i] = x[i * d] < 1.0f / 3 ? 0 : x[i * d] < 2.0f / 3 ? 1 : 2;
        y2[i] = y[i] == 2;
    }
    allot_train_options o;
    allot_train_options_default(&o);
    allot_error err = {0};
    for (int K = 2; K <= 3; K++) {
        allot_xgb_fit m;
        REQUIRE_OK(allot_xgb_train(x, K == 3 ? y : y2, 500, d, K, x + 500 * d, (K == 3 ? y : y2) + 500, 100,
                                   NULL, NULL, &o.xgb, 0, 1, &m, &err));
        CHECK(m.best_rounds >= 1 && m.best_rounds <= o.xgb.rounds);
        double *pr = malloc(100 * (size_t)K * sizeof *pr);
        REQUIRE_OK(allot_xgb_predict(&m, x + 500 * d, 100, pr, &err));
        size_t hit = 0;
        for (size_t i = 0; i < 100; i++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += pr[i * (size_t)K + (size_t)k];
            CHECK(fabs(s - 1) < 1e-5);
            hit += allot_decide_argmax(pr + i * (size_t)K, K) == (K == 3 ? y : y2)[500 + i];
        }
        CHECKF(hit >= 85, "xgboost K=%d: %zu/100", K, hit);
        char *js = NULL;
        REQUIRE_OK(allot_xgb_save_json(&m, &js, NULL, &err));
        CHECK(strstr(js, K == 3 ? "multi:softprob" : "binary:logistic") != NULL);
        free(js);
        free(pr);
        allot_xgb_fit_free(&m);
    }
    /* LIBLINEAR, dense only (NaN imputed at 0 as the featuriser's standardisation does) */
    for (size_t i = 0; i < n * d; i++)
        if (isnan(x[i])) x[i] = 0;
    allot_linear_data dt;
    REQUIRE_OK(allot_linear_data_build(x, d, NULL, NULL, NULL, 0, NULL, 500, 1.0, &dt, &err));
    allot_linear_fit lm;
    REQUIRE_OK(allot_linear_train(&dt, y, 3, &o.linear, 4.0, 1, &lm, &err));
    allot_linear_data te;
    size_t rows[100];
    for (size_t i = 0; i < 100; i++) rows[i] = 500 + i;
    REQUIRE_OK(allot_linear_data_build(x, d, NULL, NULL, NULL, 0, rows, 100, 1.0, &te, &err));
    double pr[300];
    REQUIRE_OK(allot_linear_predict(&lm, &te, pr, &err));
    size_t hit = 0;
    for (size_t i = 0; i < 100; i++) hit += allot_decide_argmax(pr + i * 3, 3) == y[500 + i];
    CHECKF(hit >= 70, "liblinear: %zu/100", hit);
    char *txt = NULL;
    REQUIRE_OK(allot_linear_model_text(&lm, &txt, &err));
    CHECK(strstr(txt, "solver_type L2R_LR") != NULL);
    free(txt);
    allot_linear_fit_free(&lm);
    allot_linear_data_free(&dt);
    allot_linear_data_free(&te);
    free(x);
    free(y);
    free(y2);
}

static void train_and_check(const allot_curves *c, const char *curves_path, const char *out,
                            allot_learner_kind l, double budget, allot_rule rule, allot_train_report *r) {
    allot_train_options o;
    allot_train_options_default(&o);
    o.budget = budget;
    o.learner = l;
    o.rule = rule;
    o.meta_features = "level";
    o.linear.c_min = 0.25;
    o.linear.c_max = 4;
    o.hash_dim = 512;
    allot_error err = {0};
    allot_status st = allot_train(c, curves_path, &o, out, r, &err);
    CHECKF(st == ALLOT_OK, "%s", err.msg);
    if (st != ALLOT_OK) return;
    CHECK(r->runtime_parity == 1);
    bc_result bc;
    bc_check_bundle(out, c, &bc);
    CHECK(bc.n_test == r->n_test);
    CHECKF(bc.tier_mismatch == 0, "%zu tiers differ", bc.tier_mismatch);
    CHECKF(bc.prob_mismatch == 0, "%s: %zu probabilities differ (max %g)", bc.kind, bc.prob_mismatch,
           bc.max_prob_diff);
}

static void test_end_to_end(const char *dir) {
    char cpath[4096], b1[4096], b2[4096];
    snprintf(cpath, sizeof cpath, "%s/curves.jsonl", dir);
    allot_curves *c = tu_roundtrip(tu_make_curves(500, 1, 5), cpath);
    allot_train_report r;
    for (int l = 0; l < 2; l++)
        for (int rule = 0; rule < 2; rule++) {
            snprintf(b1, sizeof b1, "%s/p-%d-%d.json", dir, l, rule);
            train_and_check(c, cpath, b1, (allot_learner_kind)l, 4.0, rules[rule], &r);
            CHECK(r.n_test == 100 && r.n_train == 400);
            CHECK(r.n_classes >= 2);
            CHECKF(r.cv_imitation > 0.3, "learner %d CV imitation %g", l, r.cv_imitation);
            CHECK(r.oof_cost_calibrated <= 4.0 + 1e-9 || r.mu == 0);
        }
    /* the bundle carries what the contract says */
    snprintf(b1, sizeof b1, "%s/p-0-0.json", dir);
    char *t = tu_slurp(b1, NULL);
    cJSON *root = cJSON_Parse(t);
    CHECK(root != NULL);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(root, "format")), "allot-policy"));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(root, "tiers")) == 5);
    cJSON *prov = cJSON_GetObjectItem(root, "provenance");
    CHECK(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(prov, "input_sha256"))) == 64);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(prov, "split"), "test_ids")) == 100);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(prov, "validation"), "prob")) == 400);
    char sha[65];
    allot_error err = {0};
    REQUIRE_OK(allot_learn_file_sha256(cpath, sha, &err));
    CHECK(!strcmp(sha, cJSON_GetStringValue(cJSON_GetObjectItem(prov, "input_sha256"))));
    cJSON_Delete(root);
    free(t);
    /* deterministic: the same input and seed give the same bytes */
    snprintf(b2, sizeof b2, "%s/again.json", dir);
    for (int l = 0; l < 2; l++) {
        snprintf(b1, sizeof b1, "%s/p-%d-0.json", dir, l);
        train_and_check(c, cpath, b2, (allot_learner_kind)l, 4.0, ALLOT_RULE_CALIBRATED, &r);
        size_t l1 = 0, l2 = 0;
        char *x1 = tu_slurp(b1, &l1), *x2 = tu_slurp(b2, &l2);
        CHECKF(l1 == l2 && !memcmp(x1, x2, l1), "learner %d not deterministic", l);
        free(x1);
        free(x2);
    }
    /* gap-weighted XGBoost */
    {
        allot_train_options o;
        allot_train_options_default(&o);
        o.budget = 4;
        o.xgb.gap_weights = 1;
        snprintf(b1, sizeof b1, "%s/gapw.json", dir);
        allot_error e2 = {0};
        CHECKF(allot_train(c, cpath, &o, b1, &r, &e2) == ALLOT_OK, "%s", e2.msg);
        CHECK(r.runtime_parity == 1);
        t = tu_slurp(b1, NULL);
        CHECK(t && strstr(t, "\"gap_weights\":true") != NULL);
        free(t);
    }
    /* LIBLINEAR's own C search (find_parameters) */
    {
        allot_train_options o;
        allot_train_options_default(&o);
        o.budget = 4;
        o.learner = ALLOT_LEARNER_LIBLINEAR;
        o.linear.liblinear_search = 1;
        o.linear.c_min = 0.25;
        o.hash_dim = 512;
        snprintf(b1, sizeof b1, "%s/findc.json", dir);
        allot_error e2 = {0};
        allot_status st = allot_train(c, cpath, &o, b1, &r, &e2);
        CHECKF(st == ALLOT_OK, "%s", e2.msg);
        CHECK(r.runtime_parity == 1 && r.chosen_C >= 0.25);
        t = tu_slurp(b1, NULL);
        CHECK(t && strstr(t, "find_parameters") != NULL);
        free(t);
        o.linear.solver = 4; /* MCSVM_CS: find_parameters cannot search it */
        CHECK(allot_train(c, cpath, &o, b1, &r, &e2) == ALLOT_E_UNSUPPORTED);
    }
    /* a tiny budget: the oracle picks the cheapest tier only -> a constant policy */
    snprintf(b1, sizeof b1, "%s/const.json", dir);
    train_and_check(c, cpath, b1, ALLOT_LEARNER_XGBOOST, 0.0, ALLOT_RULE_CALIBRATED, &r);
    CHECK(r.n_classes == 1);
    t = tu_slurp(b1, NULL);
    CHECK(t && strstr(t, "\"kind\":\"constant\"") != NULL);
    free(t);
    /* errors */
    allot_train_options o;
    allot_train_options_default(&o);
    o.budget = -1;
    CHECK(allot_train(c, cpath, &o, b1, NULL, &err) == ALLOT_E_ARGUMENT);
    o.budget = 4;
    o.features = "nope";
    CHECK(allot_train(c, cpath, &o, b1, NULL, &err) == ALLOT_E_ARGUMENT);
    o.features = NULL;
    o.meta_features = "no_such_field";
    CHECK(allot_train(c, cpath, &o, b1, NULL, &err) == ALLOT_E_INVALID);
    allot_curves_free(c);
}

/* LIBLINEAR's C search (warm-started along the C path, the best candidates checked cold, folds on
 * threads): it picks the C a cold search picks (the best cold out-of-fold imitation accuracy over the
 * grid, ties to the smaller C, computed here one fixed C at a time), and the bundle's bytes do not
 * depend on the number of threads; nor do the value target's. */
static void test_liblinear_search(const char *dir) {
    char cpath[4096], b1[4096], b2[4096];
    snprintf(cpath, sizeof cpath, "%s/curves-ls.jsonl", dir);
    allot_curves *c = tu_roundtrip(tu_make_curves(600, 1, 6), cpath);
    allot_train_options o;
    allot_train_options_default(&o);
    o.budget = 4;
    o.learner = ALLOT_LEARNER_LIBLINEAR;
    o.meta_features = "level";
    o.hash_dim = 512;
    o.linear.c_min = 1.0 / 32;
    o.linear.c_max = 32;
    allot_train_report r;
    allot_error err = {0};
    for (int value = 0; value < 2; value++) {
        o.target = value ? ALLOT_TARGET_TIER_VALUE : ALLOT_TARGET_TIER_LABEL;
        char *first = NULL;
        size_t first_len = 0;
        double chosen = 0;
        const int threads[] = {1, 3, 0};
        for (int i = 0; i < 3; i++) {
            o.linear.threads = threads[i];
            snprintf(b1, sizeof b1, "%s/ls-%d-%d.json", dir, value, threads[i]);
            CHECKF(allot_train(c, cpath, &o, b1, &r, &err) == ALLOT_OK, "%s", err.msg);
            size_t len = 0;
            char *txt = tu_slurp(b1, &len);
            if (!first) {
                first = txt;
                first_len = len;
                chosen = r.chosen_C;
            } else {
                CHECKF(len == first_len && !memcmp(txt, first, len),
                       "target %d: %d threads change the bundle", value, threads[i]);
                free(txt);
            }
        }
        free(first);
        if (value) continue;
        double best_c = 0, best_acc = -1;
        for (double C = o.linear.c_min; C <= o.linear.c_max * (1 + 1e-12); C *= 2) {
            allot_train_options f = o;
            f.linear.C = C;
            snprintf(b2, sizeof b2, "%s/ls-fixed.json", dir);
            CHECKF(allot_train(c, cpath, &f, b2, &r, &err) == ALLOT_OK, "%s", err.msg);
            if (r.cv_imitation > best_acc + 1e-12) {
                best_acc = r.cv_imitation;
                best_c = C;
            }
        }
        CHECKF(chosen == best_c, "the search chose C = %g, a cold search %g", chosen, best_c);
    }
    allot_curves_free(c);
}

/* Two tiers only: XGBoost's binary:logistic path and LIBLINEAR's two-class path. */
static void test_two_classes(const char *dir) {
    allot_curves *c = tu_make_curves(300, 0, 9);
    /* keep tiers k@1 and k@16 */
    size_t n = c->n_queries, T = c->n_tiers;
    for (size_t i = 0; i < n; i++) {
        double a0 = c->acc[i * T], a1 = c->acc[i * T + 4], c0 = c->cost[i * T], c1 = c->cost[i * T + 4];
        c->acc[i * 2] = a0;
        c->acc[i * 2 + 1] = a1;
        c->cost[i * 2] = c0;
        c->cost[i * 2 + 1] = c1;
        c->se[i * 2] = c->se[i * 2 + 1] = 0;
    }
    for (size_t t = 1; t < 4; t++) free(c->tier_names[t]);
    c->tier_names[1] = c->tier_names[4];
    c->n_tiers = 2;
    char cpath[4096], b[4096];
    snprintf(cpath, sizeof cpath, "%s/two.jsonl", dir);
    c = tu_roundtrip(c, cpath);
    allot_train_report r;
    for (int l = 0; l < 2; l++) {
        snprintf(b, sizeof b, "%s/two-%d.json", dir, l);
        train_and_check(c, cpath, b, (allot_learner_kind)l, 6.0, ALLOT_RULE_CALIBRATED, &r);
        CHECK(r.n_classes == 2);
    }
    char *t = tu_slurp(b, NULL);
    CHECK(t && strstr(t, "solver_type L2R_LR") != NULL);
    free(t);
    snprintf(b, sizeof b, "%s/two-0.json", dir);
    t = tu_slurp(b, NULL);
    CHECK(t && strstr(t, "binary:logistic") != NULL);
    free(t);
    allot_curves_free(c);
}

/* A tier no query should ever take (dominated: k@2 made useless) gets no class and is never predicted. */
static void test_unpicked_tier(const char *dir) {
    allot_curves *c = tu_make_curves(300, 0, 13);
    for (size_t i = 0; i < c->n_queries; i++) c->acc[i * c->n_tiers + 1] = 0.0;
    char cpath[4096], b[4096];
    snprintf(cpath, sizeof cpath, "%s/unpicked.jsonl", dir);
    c = tu_roundtrip(c, cpath);
    allot_train_report r;
    for (int l = 0; l < 2; l++) {
        snprintf(b, sizeof b, "%s/unpicked-%d.json", dir, l);
        train_and_check(c, cpath, b, (allot_learner_kind)l, 4.0, ALLOT_RULE_CALIBRATED, &r);
        CHECKF(r.n_classes >= 2 && r.n_classes <= 4, "%zu classes", r.n_classes);
        allot_policy *rt = NULL;
        allot_error err = {0};
        REQUIRE_OK(allot_policy_load_file(b, &rt, &err));
        CHECK(allot_policy_n_classes(rt) == r.n_classes && allot_policy_n_tiers(rt) == 5);
        for (size_t k = 0; k < r.n_classes; k++) CHECK(allot_policy_class_tier(rt, k) != 1);
        allot_policy_free(rt);
    }
    allot_curves_free(c);
}

/* Train a value policy (defaults as the CLI's unless o is given) and check it against the libraries. */
static void train_value_and_check(const allot_curves *c, const char *curves_path, const char *out,
                                  allot_learner_kind l, double budget, allot_rule rule,
                                  const allot_train_options *given, allot_train_report *r) {
    allot_train_options o;
    if (given)
        o = *given;
    else {
        allot_train_options_default(&o);
        o.linear.c_min = 0.25;
        o.linear.c_max = 4;
        o.hash_dim = 512;
    }
    o.budget = budget;
    o.learner = l;
    o.rule = rule;
    o.target = ALLOT_TARGET_TIER_VALUE;
    allot_error err = {0};
    allot_status st = allot_train(c, curves_path, &o, out, r, &err);
    CHECKF(st == ALLOT_OK, "%s", err.msg);
    if (st != ALLOT_OK) return;
    CHECK(r->runtime_parity == 1);
    CHECK(r->n_classes == c->n_tiers);
    bc_result bc;
    bc_check_bundle(out, c, &bc);
    CHECK(bc.value == 1);
    CHECK(bc.n_test == r->n_test);
    CHECKF(bc.tier_mismatch == 0, "value %s: %zu tiers differ", bc.kind, bc.tier_mismatch);
    CHECKF(bc.prob_mismatch == 0, "value %s: %zu predicted accuracies differ from the library's (max %g)",
           bc.kind, bc.prob_mismatch, bc.max_prob_diff);
}

static void test_value(const char *dir) {
    char cpath[4096], b1[4096], b2[4096];
    snprintf(cpath, sizeof cpath, "%s/value-curves.jsonl", dir);
    allot_curves *c = tu_roundtrip(tu_make_curves(500, 1, 5), cpath);
    allot_train_report r;
    for (int l = 0; l < 2; l++)
        for (int rule = 0; rule < 2; rule++) {
            snprintf(b1, sizeof b1, "%s/v-%d-%d.json", dir, l, rule);
            train_value_and_check(c, cpath, b1, (allot_learner_kind)l, 4.0, rules[rule], NULL, &r);
            CHECK(r.n_test == 100 && r.n_train == 400 && r.n_classes == 5);
            CHECKF(r.mu >= 0, "lambda %g", r.mu);
            /* lambda is the smallest price meeting B on the out-of-fold predictions */
            CHECKF(r.oof_cost_calibrated <= 4.0 + 1e-9, "value %d: OOF cost %g", l, r.oof_cost_calibrated);
            CHECK(r.mu > 0 || r.oof_cost_argmax <= 4.0 + 1e-9);
            printf("value %-9s rule %d: OOF cost %.3f (lambda 0: %.3f), lambda %.5g, held-out acc %.4f cost "
                   "%.3f "
                   "(lambda 0: %.4f / %.3f), oracle %.4f\n",
                   l ? "liblinear" : "xgboost", rule, r.oof_cost_calibrated, r.oof_cost_argmax, r.mu,
                   r.test_acc_calibrated, r.test_cost_calibrated, r.test_acc_argmax, r.test_cost_argmax,
                   r.test_oracle_acc);
            /* the bundle: target, per-tier models, the value rule */
            char *t = tu_slurp(b1, NULL);
            cJSON *root = cJSON_Parse(t);
            cJSON *cl = cJSON_GetObjectItem(root, "classifier"), *dec = cJSON_GetObjectItem(root, "decision");
            CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cl, "target")), "value"));
            CHECK(cJSON_GetArraySize(
                      cJSON_GetObjectItem(cl, l ? "liblinear_per_tier" : "xgboost_per_tier")) == 5);
            CHECK(cJSON_GetObjectItem(cl, l ? "xgboost_per_tier" : "liblinear_per_tier") == NULL);
            CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(dec, "rule")), "value"));
            double lam = cJSON_GetNumberValue(cJSON_GetObjectItem(dec, "lambda"));
            CHECKF(rules[rule] == ALLOT_RULE_ARGMAX ? lam == 0 : lam == r.mu,
                   "decision.lambda %g, trained %g", lam, r.mu);
            cJSON *prov = cJSON_GetObjectItem(root, "provenance");
            CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(prov, "target")), "value"));
            CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(prov, "validation"), "prob")) ==
                  400);
            cJSON_Delete(root);
            free(t);
        }
    /* deterministic */
    for (int l = 0; l < 2; l++) {
        snprintf(b1, sizeof b1, "%s/v-%d-0.json", dir, l);
        snprintf(b2, sizeof b2, "%s/v-again.json", dir);
        train_value_and_check(c, cpath, b2, (allot_learner_kind)l, 4.0, ALLOT_RULE_CALIBRATED, NULL, &r);
        size_t l1 = 0, l2 = 0;
        char *x1 = tu_slurp(b1, &l1), *x2 = tu_slurp(b2, &l2);
        CHECKF(l1 == l2 && !memcmp(x1, x2, l1), "value learner %d not deterministic", l);
        free(x1);
        free(x2);
    }
    allot_curves_free(c);
}

/* Uninformative features (one prompt for every query, no record features): every regressor predicts
 * about its tier's training mean for every query, so the value policy gives every query the same
 * tier: at a budget equal to a hull tier's cost, exactly the oracle's choice on the training pool's
 * mean curve (one "query" with the mean accuracies and costs: the uniform allocation, a single
 * tier); between two hull tiers, uniform mixes them and the value policy gives every query one of
 * the two (which one depends on where the folds' switch points fall: lambda is calibrated on
 * out-of-fold predictions of five slightly different fold models). */
static void test_value_uninformative(const char *dir) {
    char cpath[4096], b[4096];
    snprintf(cpath, sizeof cpath, "%s/flat-curves.jsonl", dir);
    allot_curves *c = tu_make_curves(400, 0, 21);
    for (size_t i = 0; i < c->n_queries; i++) {
        free(c->prompts[i]);
        c->prompts[i] = tu_strdup("Compute 12 + step step ?");
    }
    c = tu_roundtrip(c, cpath);
    size_t T = c->n_tiers;
    static const double budgets[] = {1, 2, 4, 8, 3, 6};
    for (size_t bi = 0; bi < sizeof budgets / sizeof budgets[0]; bi++) {
        double B = budgets[bi];
        int vertex = B == 1 || B == 2 || B == 4 || B == 8; /* tier costs are exactly 1, 2, 4, 8, 16 */
        for (int l = 0; l < 2; l++) {
            allot_train_options o;
            allot_train_options_default(&o);
            o.features = "";
            o.hash_dim = 64;
            o.linear.c_min = 0.25;
            o.linear.c_max = 4;
            /* let the boosted constant converge to the mean */
            o.xgb.eta = 0.3;
            o.xgb.early_stopping = 0;
            snprintf(b, sizeof b, "%s/flat-%d.json", dir, l);
            allot_train_report r;
            train_value_and_check(c, cpath, b, (allot_learner_kind)l, B, ALLOT_RULE_CALIBRATED, &o, &r);
            /* the training pool's mean curve, from the bundle's split */
            char *t = tu_slurp(b, NULL);
            cJSON *root = cJSON_Parse(t);
            cJSON *tid = cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(root, "provenance"), "split"), "test_ids");
            size_t nt = (size_t)cJSON_GetArraySize(tid);
            const char **ids = malloc(nt * sizeof *ids);
            for (size_t j = 0; j < nt; j++) ids[j] = cJSON_GetArrayItem(tid, (int)j)->valuestring;
            allot_split sp;
            allot_error err = {0};
            REQUIRE_OK(allot_split_from_test_ids(c, ids, nt, &sp, &err));
            double ma[16] = {0}, mc[16] = {0};
            for (size_t j = 0; j < sp.n_train; j++)
                for (size_t k = 0; k < T; k++) {
                    ma[k] += c->acc[sp.train_idx[j] * T + k];
                    mc[k] += c->cost[sp.train_idx[j] * T + k];
                }
            for (size_t k = 0; k < T; k++) { /* sums first: integer costs give exact means */
                ma[k] /= (double)sp.n_train;
                mc[k] /= (double)sp.n_train;
            }
            int want = -1, lo = -1, hi = -1;
            allot_oracle_result orr;
            REQUIRE_OK(allot_oracle_solve_exact(ma, mc, 1, T, B, &want, NULL, &orr, &err));
            /* the hull neighbours around B: the oracle's tiers just below and just above it */
            REQUIRE_OK(allot_oracle_solve_exact(ma, mc, 1, T, B, &lo, NULL, &orr, &err));
            for (size_t k = 0; k < T; k++)
                if (mc[k] > B && hi < 0) {
                    int h = -1;
                    REQUIRE_OK(allot_oracle_solve_exact(ma, mc, 1, T, mc[k], &h, NULL, &orr, &err));
                    hi = h;
                }
            /* every held-out query, through the runtime */
            bc_runtime rt;
            REQUIRE_OK(bc_runtime_load(b, &rt, &err));
            size_t same = 0, first = 99;
            for (size_t j = 0; j < sp.n_test; j++) {
                size_t i = sp.test_idx[j], tier = 99;
                REQUIRE_OK(bc_runtime_predict(&rt, c->prompts[i], NULL, 0, &tier, NULL, &err));
                if (j == 0) first = tier;
                same += tier == first;
            }
            CHECKF(same == sp.n_test, "%s B=%g: one tier for every held-out query (%zu of %zu)",
                   l ? "liblinear" : "xgboost", B, same, sp.n_test);
            if (vertex) {
                CHECKF((int)first == want, "%s B=%g: held-out tier %zu, the mean curve's hull tier %d",
                       l ? "liblinear" : "xgboost", B, first, want);
                CHECKF(fabs(r.oof_cost_calibrated - mc[want]) < 1e-9, "B=%g: OOF cost %g, tier %d costs %g",
                       B, r.oof_cost_calibrated, want, mc[want]);
            } else {
                CHECKF((int)first == lo || (int)first == hi,
                       "%s B=%g: held-out tier %zu, hull neighbours %d / %d", l ? "liblinear" : "xgboost", B,
                       first, lo, hi);
            }
            bc_runtime_free(&rt);
            allot_split_free(&sp);
            free(ids);
            cJSON_Delete(root);
            free(t);
        }
    }
    allot_curves_free(c);
}

/* Unweighted classifiers lean to the cheap majority and underspend: the calibrated rule now takes a
 * negative mu and raises the out-of-fold spend to the budget. */
static void test_negative_mu(const char *dir) {
    char cpath[4096], b[4096];
    snprintf(cpath, sizeof cpath, "%s/neg-curves.jsonl", dir);
    allot_curves *c = tu_roundtrip(tu_make_curves(500, 1, 5), cpath);
    int negative_seen = 0;
    for (int l = 0; l < 2; l++) {
        for (double B = 3; B <= 9; B += 3) {
            allot_train_options o;
            allot_train_options_default(&o);
            o.budget = B;
            o.learner = (allot_learner_kind)l;
            o.xgb.class_weights = 0;
            o.linear.class_weights = 0;
            o.linear.c_min = 0.25;
            o.linear.c_max = 4;
            o.hash_dim = 512;
            snprintf(b, sizeof b, "%s/neg-%d.json", dir, l);
            allot_train_report r;
            allot_error err = {0};
            CHECKF(allot_train(c, cpath, &o, b, &r, &err) == ALLOT_OK, "%s", err.msg);
            CHECK(r.runtime_parity == 1);
            CHECKF(r.oof_cost_calibrated <= B + 1e-9, "B %g: OOF cost %g", B, r.oof_cost_calibrated);
            if (r.oof_cost_argmax < B - 1e-9) {
                CHECKF(r.mu < 0, "argmax underspends (%g < %g) but mu = %g", r.oof_cost_argmax, B, r.mu);
                CHECK(r.oof_cost_calibrated >= r.oof_cost_argmax);
                negative_seen += r.mu < 0 && r.oof_cost_calibrated > r.oof_cost_argmax;
            }
            printf("unweighted %-9s B=%g: argmax OOF cost %.3f, calibrated %.3f (mu %.4g), held-out %.3f / "
                   "%.3f\n",
                   l ? "liblinear" : "xgboost", B, r.oof_cost_argmax, r.oof_cost_calibrated, r.mu,
                   r.test_cost_argmax, r.test_cost_calibrated);
            /* the bundle carries the negative mu and the runtime accepts it */
            allot_policy *rt = NULL;
            REQUIRE_OK(allot_policy_load_file(b, &rt, &err));
            CHECK(allot_policy_mu(rt) == r.mu);
            allot_policy_free(rt);
        }
    }
    CHECKF(negative_seen > 0, "no case where a negative mu raised the spend");
    allot_curves_free(c);
}

/* FIPS 180-4 test vectors: "abc", the empty string, and a two-block message. */
static void test_sha256(const char *dir) {
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    char path[4096], hex[65];
    snprintf(path, sizeof path, "%s/sha.txt", dir);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        FILE *fp = fopen(path, "wb");
        fputs(v[i].in, fp);
        fclose(fp);
        allot_error err = {0};
        REQUIRE_OK(allot_learn_file_sha256(path, hex, &err));
        CHECKF(!strcmp(hex, v[i].hex), "sha256(%s) = %s", v[i].in, hex);
    }
    allot_error err = {0};
    CHECK(allot_learn_file_sha256("/nonexistent/x", hex, &err) == ALLOT_E_IO);
}

/* Seeds in text and JSON: the whole 64-bit range, numbers up to 2^53 and strings above. */
static void test_seed_json(void) {
    uint64_t v = 0;
    CHECK(allot_seed_parse("0", &v) == 0 && v == 0);
    CHECK(allot_seed_parse("007", &v) == 0 && v == 7);
    CHECK(allot_seed_parse("18446744073709551615", &v) == 0 && v == UINT64_MAX);
    v = 42;
    const char *bad[] = {"",
                         "-1",
                         "+1",
                         " 1",
                         "1 ",
                         "1x",
                         "0x10",
                         "1e3",
                         "1.0",
                         "18446744073709551616",
                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(allot_seed_parse(bad[i], &v) == -1 && v == 42, "'%s' accepted", bad[i]);
    CHECK(allot_seed_parse(NULL, &v) == -1);

    static const struct {
        uint64_t seed;
        const char *json;
    } w[] = {{1, "{\"seed\":1}"},
             {4294967296ULL, "{\"seed\":4294967296}"},
             {1234567890123456ULL, "{\"seed\":1234567890123456}"}, /* cJSON's printer would round it */
             {9007199254740992ULL, "{\"seed\":9007199254740992}"},
             {9007199254740993ULL, "{\"seed\":\"9007199254740993\"}"},
             {UINT64_MAX, "{\"seed\":\"18446744073709551615\"}"}};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        cJSON *o = cJSON_CreateObject();
        CHECK(allot_seed_add_to_object(o, "seed", w[i].seed) != NULL);
        char *text = cJSON_PrintUnformatted(o);
        CHECKF(!strcmp(text, w[i].json), "seed %llu written as %s", (unsigned long long)w[i].seed, text);
        cJSON *back = cJSON_Parse(text);
        v = 0;
        CHECK(allot_seed_from_json(cJSON_GetObjectItem(back, "seed"), &v) == 0 && v == w[i].seed);
        cJSON_Delete(back);
        free(text);
        cJSON_Delete(o);
    }
    const char *bad_json[] = {"-1",   "1.5",  "1e300", "9007199254740994", "\"-1\"", "\"x\"",
                              "true", "null", "[1]"};
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        cJSON *j = cJSON_Parse(bad_json[i]);
        v = 42;
        CHECKF(allot_seed_from_json(j, &v) == -1 && v == 42, "seed %s accepted", bad_json[i]);
        cJSON_Delete(j);
    }
    CHECK(allot_seed_from_json(NULL, &v) == -1);
}

/* A seed above 2^53 reaches the bundle's provenance exactly (as a string), and trains like any. */
static void test_seed_provenance(const char *dir) {
    char cpath[4096], b[4096];
    snprintf(cpath, sizeof cpath, "%s/curves-seed.jsonl", dir);
    snprintf(b, sizeof b, "%s/seed.json", dir);
    allot_curves *c = tu_roundtrip(tu_make_curves(200, 1, 3), cpath);
    static const uint64_t seeds[] = {9007199254740992ULL, 9007199254740993ULL, UINT64_MAX};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        allot_train_options o;
        allot_train_options_default(&o);
        o.budget = 4;
        o.seed = seeds[i];
        o.progress = 0;
        allot_train_report r;
        allot_error err = {0};
        CHECKF(allot_train(c, cpath, &o, b, &r, &err) == ALLOT_OK, "%s", err.msg);
        char *t = tu_slurp(b, NULL);
        cJSON *root = cJSON_Parse(t);
        cJSON *prov = cJSON_GetObjectItem(root, "provenance");
        const cJSON *s1 = cJSON_GetObjectItem(prov, "seed");
        const cJSON *s2 = cJSON_GetObjectItem(cJSON_GetObjectItem(prov, "split"), "seed");
        CHECK(seeds[i] > ALLOT_SEED_JSON_NUMBER_MAX ? cJSON_IsString(s1) && cJSON_IsString(s2)
                                                    : cJSON_IsNumber(s1) && cJSON_IsNumber(s2));
        uint64_t v1 = 0, v2 = 0;
        CHECK(allot_seed_from_json(s1, &v1) == 0 && v1 == seeds[i]);
        CHECK(allot_seed_from_json(s2, &v2) == 0 && v2 == seeds[i]);
        cJSON_Delete(root);
        free(t);
    }
    allot_curves_free(c);
}

/* allot_train_options.rule takes the runtime's ALLOT_RULE_CALIBRATED or ALLOT_RULE_ARGMAX only. */
static void test_rule_option(const char *dir) {
    char cpath[4096], b[4096];
    snprintf(cpath, sizeof cpath, "%s/curves-rule.jsonl", dir);
    snprintf(b, sizeof b, "%s/rule.json", dir);
    allot_curves *c = tu_roundtrip(tu_make_curves(100, 1, 4), cpath);
    allot_train_options o;
    allot_train_options_default(&o);
    CHECK(o.rule == ALLOT_RULE_CALIBRATED);
    o.budget = 4;
    o.progress = 0;
    allot_train_report r;
    allot_error err = {0};
    static const int bad[] = {ALLOT_RULE_VALUE, -1, 7};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.rule = (allot_rule)bad[i];
        CHECKF(allot_train(c, cpath, &o, b, &r, &err) == ALLOT_E_ARGUMENT, "rule %d accepted", bad[i]);
        CHECK(access(b, F_OK) != 0);
    }
    allot_curves_free(c);
}

int main(void) {
    char *dir = tu_tmpdir();
    test_sha256(dir);
    test_seed_json();
    test_seed_provenance(dir);
    test_rule_option(dir);
    test_split();
    test_class_map();
    test_calibration();
    test_learners_direct();
    test_end_to_end(dir);
    test_liblinear_search(dir);
    test_two_classes(dir);
    test_unpicked_tier(dir);
    test_value(dir);
    test_value_uninformative(dir);
    test_negative_mu(dir);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
    return CHECK_DONE();
}
