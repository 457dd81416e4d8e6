/*
 * test_audit_e2e.c - train two policies on synthetic curves, audit them, and recompute the
 * report's headline figures independently: the held-out set from the bundle, the oracle with
 * allot_oracle_solve_exact, the learned tiers from the runtime's own decisions, uniform from tier
 * means by hand, imitation/confusion/regret/bounds/gain capture from their definitions. Also: the
 * report files and plots exist, another curves file is evaluated as a foreign file (shared ids
 * counted) and one with another tier set is refused, the sweep is
 * monotone for the oracle, and the same inputs give the same report. Value policies (--target
 * value, both learners) are audited beside the tier policies with the same checks (their
 * 'calibrated' rule is the value rule at the calibrated lambda, 'argmax' the value rule at 0).
 */
#define CHECK_AREA "audit"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "../common/check_continue.h"
#include "dataset.h"
#include "learn.h"
#include "learn_test_util.h"
#include "oracle.h"
#include "allot/allot_policy.h"

static double jnum(const cJSON *o, const char *path) {
    /* "a.b.c" */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *x = o;
    for (char *s = strtok(buf, "."); s && x; s = strtok(NULL, "."))
        x = cJSON_GetObjectItemCaseSensitive(x, s);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

static void check_policy(const cJSON *pj, const char *bundle, const allot_curves *c, double B) {
    allot_policy *rt = NULL;
    allot_workspace *ws = NULL;
    allot_error err = {0};
    REQUIRE_OK(allot_policy_load_file(bundle, &rt, &err));
    REQUIRE_OK(allot_workspace_create(rt, &ws, &err));
    char *text = tu_slurp(bundle, NULL);
    cJSON *root = cJSON_Parse(text);
    cJSON *tid = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "provenance"), "split"),
                                     "test_ids");
    size_t nt = (size_t)cJSON_GetArraySize(tid), T = c->n_tiers;
    const char **ids = malloc(nt * sizeof *ids);
    for (size_t j = 0; j < nt; j++) ids[j] = cJSON_GetArrayItem(tid, (int)j)->valuestring;
    allot_split sp;
    REQUIRE_OK(allot_split_from_test_ids(c, ids, nt, &sp, &err));
    CHECK(jnum(pj, "n_test") == (double)nt);
    double *a = allot_gather_rows(c->acc, T, sp.test_idx, nt),
           *cc = allot_gather_rows(c->cost, T, sp.test_idx, nt);
    /* the oracle */
    int *o = malloc(nt * sizeof *o), *pt = malloc(nt * sizeof *pt);
    allot_oracle_result r;
    REQUIRE_OK(allot_oracle_solve_exact(a, cc, nt, T, B, o, NULL, &r, &err));
    CHECK(NEAR(jnum(pj, "oracle.acc"), r.mean_acc));
    CHECK(NEAR(jnum(pj, "oracle.cost"), r.mean_cost));
    /* the learned policy under the bundle's rule (calibrated), decided by the runtime itself */
    const allot_featurizer *f = allot_policy_featurizer(rt);
    size_t ne = allot_featurizer_n_extra(f);
    double *ex = malloc((ne ? ne : 1) * sizeof *ex), la = 0, lc = 0;
    for (size_t j = 0; j < nt; j++) {
        size_t i = sp.test_idx[j];
        REQUIRE_OK(allot_curves_query_extras(f, c, i, ex, &err));
        allot_query_input q = {.prompt = c->prompts[i],
                               .prompt_len = strlen(c->prompts[i]),
                               .extras = ne ? ex : NULL,
                               .n_extras = ne};
        allot_decision d;
        REQUIRE_OK(allot_policy_predict(rt, ws, &q, NULL, NULL, 0, &d, &err));
        size_t tier = d.tier;
        pt[j] = (int)tier;
        la += a[j * T + tier];
        lc += cc[j * T + tier];
    }
    la /= (double)nt;
    lc /= (double)nt;
    CHECK(NEAR(jnum(pj, "learned.calibrated.acc"), la));
    CHECK(NEAR(jnum(pj, "learned.calibrated.cost"), lc));
    /* imitation and confusion */
    size_t hit = 0;
    for (size_t j = 0; j < nt; j++) hit += o[j] == pt[j];
    CHECK(NEAR(jnum(pj, "learned.calibrated.imitation_accuracy"), (double)hit / (double)nt));
    cJSON *conf = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pj, "learned"), "calibrated"),
                                      "confusion");
    for (size_t t = 0; t < T; t++)
        for (size_t u = 0; u < T; u++) {
            size_t k = 0;
            for (size_t j = 0; j < nt; j++) k += (size_t)o[j] == t && (size_t)pt[j] == u;
            CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(conf, (int)t), (int)u)->valuedouble == (double)k);
        }
    /* regret and bounds from the definitions */
    double lam = r.lambda, reg = 0, regacc = 0, dbound = 0, gmax = 0;
    for (size_t j = 0; j < nt; j++) {
        const double *aj = a + j * T, *cj = cc + j * T;
        double vo = aj[o[j]] - lam * cj[o[j]], vmin = INFINITY;
        for (size_t t = 0; t < T; t++) vmin = fmin(vmin, aj[t] - lam * cj[t]);
        reg += vo - (aj[pt[j]] - lam * cj[pt[j]]);
        regacc += aj[o[j]] - aj[pt[j]];
        gmax = fmax(gmax, vo - vmin);
        if (o[j] != pt[j]) dbound += vo - vmin;
    }
    CHECK(NEAR(jnum(pj, "learned.calibrated.regret.lagrangian"), reg / (double)nt));
    CHECK(NEAR(jnum(pj, "learned.calibrated.regret.accuracy"), regacc / (double)nt));
    CHECK(NEAR(jnum(pj, "learned.calibrated.regret.bound_data_lagrangian"), dbound / (double)nt));
    CHECK(NEAR(jnum(pj, "learned.calibrated.regret.bound_literature_lagrangian"),
               (1 - (double)hit / (double)nt) * gmax));
    CHECK(reg / (double)nt <= dbound / (double)nt + 1e-12);
    /* uniform by hand: tiers k@1..16 cost k x factor; mean costs and accuracies, then interpolate */
    double ta[16], tc[16];
    for (size_t t = 0; t < T; t++) {
        ta[t] = tc[t] = 0;
        for (size_t j = 0; j < nt; j++) {
            ta[t] += a[j * T + t] / (double)nt;
            tc[t] += cc[j * T + t] / (double)nt;
        }
    }
    /* the synthetic curves are concave in cost, so the hull is every tier: find B's segment */
    double ua = ta[T - 1];
    for (size_t t = 0; t + 1 < T; t++)
        if (B >= tc[t] && B < tc[t + 1]) ua = ta[t] + (B - tc[t]) / (tc[t + 1] - tc[t]) * (ta[t + 1] - ta[t]);
    CHECK(NEAR(jnum(pj, "baselines.uniform.acc"), ua));
    CHECK(NEAR(jnum(pj, "learned.calibrated.gain_capture"), (la - ua) / (r.mean_acc - ua)));
    /* random with the oracle's mix: expectation = sum_t freq_t * tier mean acc */
    double ra = 0;
    for (size_t t = 0; t < T; t++) {
        size_t k = 0;
        for (size_t j = 0; j < nt; j++) k += (size_t)o[j] == t;
        ra += (double)k / (double)nt * ta[t];
    }
    CHECK(NEAR(jnum(pj, "baselines.random_mix.acc"), ra));
    /* the bootstrap interval brackets the mean difference */
    double m = jnum(pj, "learned.calibrated.learned_minus_uniform.mean");
    CHECK(NEAR(m, la - ua));
    CHECK(jnum(pj, "learned.calibrated.learned_minus_uniform.ci95_lo") <= m + 1e-12 &&
          m <= jnum(pj, "learned.calibrated.learned_minus_uniform.ci95_hi") + 1e-12);
    CHECK(jnum(pj, "runtime_decision_mismatches") == 0);
    /* the sweep: the oracle's accuracy never falls as the budget grows */
    cJSON *sw = cJSON_GetObjectItem((cJSON *)pj, "sweep");
    double prev = -1;
    for (int s = 0; s < cJSON_GetArraySize(sw); s++) {
        double x = jnum(cJSON_GetArrayItem(sw, s), "oracle.acc");
        CHECK(x >= prev - 1e-12);
        prev = x;
    }
    free(ex);
    free(o);
    free(pt);
    free(a);
    free(cc);
    free(ids);
    allot_split_free(&sp);
    cJSON_Delete(root);
    free(text);
    allot_workspace_free(ws);
    allot_policy_free(rt);
}

int main(void) {
    char *dir = tu_tmpdir();
    char cpath[4096], p1[4096], p2[4096], p4[4096], p5[4096], out[4096], path[4200];
    snprintf(cpath, sizeof cpath, "%s/curves.jsonl", dir);
    allot_curves *c = tu_roundtrip(tu_make_curves(600, 1, 21), cpath);
    allot_error err = {0};
    const double B = 4.0;
    for (int l = 0; l < 2; l++) {
        allot_train_options o;
        allot_train_options_default(&o);
        o.budget = B;
        o.learner = (allot_learner_kind)l;
        o.linear.c_min = 0.5;
        o.linear.c_max = 2;
        o.hash_dim = 256;
        snprintf(l ? p2 : p1, sizeof p1, "%s/policy-%s.json", dir, l ? "liblinear" : "xgboost");
        REQUIRE_OK(allot_train(c, cpath, &o, l ? p2 : p1, NULL, &err));
        o.target = ALLOT_TARGET_TIER_VALUE;
        snprintf(l ? p5 : p4, sizeof p4, "%s/policy-value-%s.json", dir, l ? "liblinear" : "xgboost");
        REQUIRE_OK(allot_train(c, cpath, &o, l ? p5 : p4, NULL, &err));
    }
    snprintf(out, sizeof out, "%s/audit", dir);
    allot_audit_options ao;
    allot_audit_options_default(&ao);
    ao.budget = B;
    ao.bootstrap = 300;
    const char *pols[4] = {p1, p2, p4, p5};
    allot_audit_summary sm[4];
    char *js = NULL, *md = NULL;
    allot_status st = allot_audit_run(c, cpath, pols, 4, &ao, out, &js, &md, sm, &err);
    CHECKF(st == ALLOT_OK, "%s", err.msg);
    CHECK(js && md);
    cJSON *rep = cJSON_Parse(js);
    CHECK(rep != NULL);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(rep, "all_regret_bounds_hold")));
    cJSON *pols_j = cJSON_GetObjectItem(rep, "policies");
    CHECK(cJSON_GetArraySize(pols_j) == 4);
    for (int k = 0; k < 4; k++) {
        check_policy(cJSON_GetArrayItem(pols_j, k), pols[k], c, B);
        CHECK(sm[k].bounds_hold);
        const char *tg = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(pols_j, k), "target"));
        CHECKF(tg && !strcmp(tg, k < 2 ? "tier" : "value"), "policy %d target %s", k, tg ? tg : "?");
    }
    CHECK(strstr(md, "Value policy") != NULL);
    /* files */
    struct stat sb;
    snprintf(path, sizeof path, "%s/report.json", out);
    CHECK(stat(path, &sb) == 0 && sb.st_size > 0);
    snprintf(path, sizeof path, "%s/report.md", out);
    CHECK(stat(path, &sb) == 0 && sb.st_size > 0);
    snprintf(path, sizeof path, "%s/accuracy_vs_budget.gp", out);
    CHECK(stat(path, &sb) == 0);
    snprintf(path, sizeof path, "%s/policy-xgboost-confusion.dat", out);
    CHECK(stat(path, &sb) == 0);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        snprintf(path, sizeof path, "%s/accuracy_vs_budget.png", out);
        CHECK(stat(path, &sb) == 0 && sb.st_size > 0);
        snprintf(path, sizeof path, "%s/policy-liblinear-compute_by_difficulty.svg", out);
        CHECK(stat(path, &sb) == 0 && sb.st_size > 0);
    }
    /* same inputs, same report */
    char *js2 = NULL;
    ao.plots = 0;
    REQUIRE_OK(allot_audit_run(c, cpath, pols, 4, &ao, NULL, &js2, NULL, NULL, &err));
    CHECK(js2 && !strcmp(js, js2));
    free(js2);
    /* --sweep-retrain: training again at the policy's own budget reproduces it exactly */
    {
        double sw2[2] = {2.0, B};
        allot_audit_options ro = ao;
        ro.sweep = sw2;
        ro.n_sweep = 2;
        ro.sweep_retrain = 1;
        char *jr = NULL;
        REQUIRE_OK(allot_audit_run(c, cpath, pols, 4, &ro, NULL, &jr, NULL, NULL, &err));
        cJSON *rr = cJSON_Parse(jr);
        for (int k = 0; k < 4; k++) {
            cJSON *sw =
                cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(rr, "policies"), k), "sweep");
            CHECK(cJSON_GetArraySize(sw) == 2);
            cJSON *atb = cJSON_GetArrayItem(sw, 1);
            CHECK(jnum(atb, "budget") == B);
            CHECK(jnum(atb, "retrained_calibrated.acc") == jnum(atb, "learned_calibrated.acc"));
            CHECK(jnum(atb, "retrained_argmax.cost") == jnum(atb, "learned_argmax.cost"));
            CHECK(!isnan(jnum(cJSON_GetArrayItem(sw, 0), "retrained_calibrated.acc")));
        }
        cJSON_Delete(rr);
        free(jr);
    }
    /* a bundle without the out-of-fold block: the audit falls back on in-sample predictions, says so */
    {
        char p3[4096];
        snprintf(p3, sizeof p3, "%s/policy-noval.json", dir);
        allot_train_options o;
        allot_train_options_default(&o);
        o.budget = B;
        o.no_validation = 1;
        REQUIRE_OK(allot_train(c, cpath, &o, p3, NULL, &err));
        char *t = tu_slurp(p3, NULL);
        CHECK(t && !strstr(t, "\"validation\""));
        free(t);
        const char *one[1] = {p3};
        char *js3 = NULL;
        REQUIRE_OK(allot_audit_run(c, cpath, one, 1, &ao, NULL, &js3, NULL, NULL, &err));
        cJSON *r3 = cJSON_Parse(js3);
        cJSON *q = cJSON_GetArrayItem(cJSON_GetObjectItem(r3, "policies"), 0);
        CHECK(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(q, "training_pool_probabilities")),
                     "in-sample") != NULL);
        /* the held-out figures do not depend on it */
        CHECK(NEAR(jnum(q, "learned.calibrated.acc"),
                   jnum(cJSON_GetArrayItem(pols_j, 0), "learned.calibrated.acc")));
        cJSON_Delete(r3);
        free(js3);
    }
    /* another curves file with the same tiers: a foreign evaluation on all of its queries; its ids are
     * the training file's (q00000...), so every training-pool id is found as shared */
    char other[4096];
    snprintf(other, sizeof other, "%s/other.jsonl", dir);
    allot_curves *c2 = tu_roundtrip(tu_make_curves(600, 1, 22), other);
    {
        char *jf = NULL;
        REQUIRE_OK(allot_audit_run(c2, other, pols, 1, &ao, NULL, &jf, NULL, NULL, &err));
        cJSON *rf = cJSON_Parse(jf);
        cJSON *q = cJSON_GetArrayItem(cJSON_GetObjectItem(rf, "policies"), 0);
        CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(q, "evaluation"), "mode")),
                      "foreign file"));
        CHECK(jnum(q, "evaluation.n") == 600 && jnum(q, "n_test") == 600);
        /* the training pool's 480 ids occur in it (the 120 held-out ones were not trained on) */
        CHECK(jnum(q, "evaluation.also_in_training_data.same_id") == 480);
        /* the synthetic prompts repeat, so byte-identical prompts add to the shared queries */
        double either = jnum(q, "evaluation.also_in_training_data.either");
        CHECKF(either >= 480 && either >= jnum(q, "evaluation.also_in_training_data.same_prompt"), "%g",
               either);
        if (either < 600) {
            CHECK(jnum(q, "without_leaks.n") == 600 - either);
            CHECK(!isnan(jnum(q, "without_leaks.learned_calibrated.acc")));
        } else {
            CHECK(!cJSON_GetObjectItem(q, "without_leaks"));
        }
        CHECK(!isnan(jnum(q, "baselines.uniform_deployable.acc")));
        CHECK(!cJSON_GetObjectItem(cJSON_GetObjectItem(q, "baselines"), "prompt_length"));
        cJSON_Delete(rf);
        free(jf);
    }
    /* a different tier set: a clear error naming the tier */
    free(c2->tier_names[0]);
    c2->tier_names[0] = tu_strdup("k@3");
    CHECK(allot_audit_run(c2, other, pols, 1, &ao, NULL, NULL, NULL, NULL, &err) == ALLOT_E_INVALID);
    CHECKF(strstr(err.msg, "no tier 'k@1'") != NULL, "%s", err.msg);
    allot_curves_free(c2);
    cJSON_Delete(rep);
    free(js);
    free(md);
    allot_curves_free(c);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
    return CHECK_DONE();
}
