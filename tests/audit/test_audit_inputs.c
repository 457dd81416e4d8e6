/*
 * test_audit_inputs.c - the audit at its edges: a directory given as a policy is refused (not read),
 * seeds beyond 2^53 are written to report.json as decimal strings (exact numbers up to 2^53), a bundle's
 * provenance.seed is read as a number or a decimal string (the retrain sweep then gives the same
 * figures) and an invalid one is named; and the compute/render split: allot_audit_compute's rows
 * rendered by audit_report.h are exactly what allot_audit_run returns.
 */
#define CHECK_AREA "audit"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit.h"
#include "audit_eval.h"
#include "audit_report.h"
#include "../common/check_continue.h"
#include "learn.h"
#include "learn_test_util.h"

/* report.json of one audit (plots off, no files). */
static char *audit_json(const allot_curves *c, const char *cpath, const char *policy,
                        const allot_audit_options *o, allot_status *st, allot_error *err) {
    const char *pols[1] = {policy};
    char *js = NULL;
    *st = allot_audit_run(c, cpath, pols, 1, o, NULL, &js, NULL, NULL, err);
    return js;
}

static const cJSON *jget(const cJSON *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *x = o;
    for (char *s = strtok(buf, "."); s && x; s = strtok(NULL, "."))
        x = cJSON_IsArray(x) ? cJSON_GetArrayItem(x, atoi(s)) : cJSON_GetObjectItemCaseSensitive(x, s);
    return x;
}

/* The audit's seed in report.json: a number up to 2^53, a decimal string beyond. */
static void check_report_seeds(const allot_curves *c, const char *cpath, const char *policy,
                               allot_audit_options o) {
    static const struct {
        uint64_t seed;
        const char *text; /* NULL: a JSON number */
    } cases[] = {{1, NULL},
                 {UINT64_C(3000000000), NULL},
                 {UINT64_C(4503599627370497), NULL},
                 {UINT64_C(9007199254740992), NULL},
                 {UINT64_C(9007199254740993), "9007199254740993"},
                 {UINT64_MAX, "18446744073709551615"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        allot_error err = {0};
        allot_status st;
        o.seed = cases[i].seed;
        char *js = audit_json(c, cpath, policy, &o, &st, &err);
        CHECKF(st == ALLOT_OK, "%s", err.msg);
        cJSON *r = cJSON_Parse(js);
        const cJSON *top = jget(r, "seed");
        const cJSON *boot = jget(r, "policies.0.learned.calibrated.learned_minus_uniform.seed");
        for (int k = 0; k < 2; k++) {
            const cJSON *s = k ? boot : top;
            if (cases[i].text)
                CHECKF(cJSON_IsString(s) && !strcmp(s->valuestring, cases[i].text), "seed %s", cases[i].text);
            else
                CHECKF(cJSON_IsNumber(s) && s->valuedouble == (double)cases[i].seed, "seed %llu",
                       (unsigned long long)cases[i].seed);
        }
        cJSON_Delete(r);
        free(js);
    }
}

/* A copy of bundle src at dst whose provenance.seed is replaced by seed (a number or a string). */
static void rewrite_seed(const char *src, const char *dst, cJSON *seed) {
    char *text = tu_slurp(src, NULL);
    cJSON *root = cJSON_Parse(text);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "provenance"), "seed",
                                           seed);
    char *out = cJSON_PrintUnformatted(root);
    FILE *fp = fopen(dst, "wb");
    fputs(out, fp);
    fclose(fp);
    free(out);
    cJSON_Delete(root);
    free(text);
}

/* provenance.seed 1 as a number and as a string: the same retrained figures; "x1" is refused. */
static void check_provenance_seeds(const allot_curves *c, const char *cpath, const char *policy,
                                   const char *dir, allot_audit_options o) {
    char as_string[4096], invalid[4096];
    snprintf(as_string, sizeof as_string, "%s/policy-seed-string.json", dir);
    snprintf(invalid, sizeof invalid, "%s/policy-seed-invalid.json", dir);
    rewrite_seed(policy, as_string, cJSON_CreateString("1"));
    rewrite_seed(policy, invalid, cJSON_CreateString("x1"));
    double sweep[1] = {2.0};
    o.sweep = sweep;
    o.n_sweep = 1;
    o.sweep_retrain = 1;
    allot_error err = {0};
    allot_status st;
    char *a = audit_json(c, cpath, policy, &o, &st, &err);
    CHECKF(st == ALLOT_OK, "%s", err.msg);
    char *b = audit_json(c, cpath, as_string, &o, &st, &err);
    CHECKF(st == ALLOT_OK, "%s", err.msg);
    cJSON *ra = cJSON_Parse(a), *rb = cJSON_Parse(b);
    static const char *const keys[] = {"retrained_calibrated.acc", "retrained_calibrated.cost",
                                       "retrained_argmax.acc", "retrained_argmax.cost"};
    for (int s = 0; s < 2; s++)
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            char path[128];
            snprintf(path, sizeof path, "policies.0.sweep.%d.%s", s, keys[k]);
            const cJSON *x = jget(ra, path), *y = jget(rb, path);
            CHECKF(cJSON_IsNumber(x) && cJSON_IsNumber(y) && x->valuedouble == y->valuedouble, "%s", path);
        }
    cJSON_Delete(ra);
    cJSON_Delete(rb);
    free(a);
    free(b);
    char *bad = audit_json(c, cpath, invalid, &o, &st, &err);
    CHECK(st == ALLOT_E_INVALID && bad == NULL);
    CHECKF(strstr(err.msg, "provenance.seed") && strstr(err.msg, "policy-seed-invalid.json"), "%s", err.msg);
}

/* A directory is not a bundle: an I/O error naming it. */
static void check_directory_policy(const allot_curves *c, const char *cpath, const char *dir,
                                   allot_audit_options o) {
    allot_error err = {0};
    allot_status st;
    char *js = audit_json(c, cpath, dir, &o, &st, &err);
    CHECK(st == ALLOT_E_IO && js == NULL);
    CHECKF(strstr(err.msg, "is a directory") != NULL, "%s", err.msg);
}

/* allot_audit_compute's result: one row per method at a budget, in report order, and the renderers
 * give exactly allot_audit_run's reports. */
static void check_compute_render(const allot_curves *c, const char *cpath, const char *policy,
                                 allot_audit_options o) {
    static const char *const KEYS[] = {
        "oracle",        "uniform",         "uniform_deployable", "best_single",   "random_mix",
        "prompt_length", "difficulty_bins", "learned_calibrated", "learned_refit", "learned_argmax"};
    static const allot_audit_role ROLES[] = {ALLOT_AUDIT_ROLE_ORACLE,   ALLOT_AUDIT_ROLE_BASELINE,
                                             ALLOT_AUDIT_ROLE_BASELINE, ALLOT_AUDIT_ROLE_BASELINE,
                                             ALLOT_AUDIT_ROLE_BASELINE, ALLOT_AUDIT_ROLE_BASELINE,
                                             ALLOT_AUDIT_ROLE_BASELINE, ALLOT_AUDIT_ROLE_LEARNED,
                                             ALLOT_AUDIT_ROLE_LEARNED,  ALLOT_AUDIT_ROLE_LEARNED};
    const char *pols[1] = {policy};
    allot_error err = {0};
    allot_audit_result r;
    REQUIRE_OK(allot_audit_compute(c, cpath, pols, 1, &o, NULL, &r, &err));
    CHECK(r.n_policies == 1 && r.n_sweep >= 1);
    const allot_audit_point *pt = &r.policies[0].at_budget;
    CHECK(pt->budget == o.budget && pt->n_rows == sizeof KEYS / sizeof *KEYS);
    for (size_t i = 0; i < pt->n_rows && i < sizeof KEYS / sizeof *KEYS; i++) {
        CHECKF(!strcmp(pt->row[i].key, KEYS[i]) && pt->row[i].role == ROLES[i], "row %zu: %s", i,
               pt->row[i].key);
        CHECK(allot_audit_point_find(pt, KEYS[i]) == &pt->row[i]);
    }
    const allot_audit_row *cal =
        allot_audit_point_rule(pt, ALLOT_AUDIT_ROLE_LEARNED, ALLOT_AUDIT_RULE_CALIBRATED);
    CHECK(cal && !strcmp(cal->key, "learned_calibrated"));
    CHECK(cal && cal->vs_uniform.lo <= cal->vs_uniform.mean + 1e-12 &&
          cal->vs_uniform.mean <= cal->vs_uniform.hi + 1e-12);
    CHECK(isnan(allot_audit_point_find(pt, "uniform")->vs_uniform.mean)); /* only learned rows have one */
    for (size_t s = 0; s < r.policies[0].n_sweep; s++)
        CHECK(r.policies[0].sweep[s].n_rows == pt->n_rows &&
              r.policies[0].sweep[s].budget == r.sweep_budgets[s]);
    char *json = allot_audit_report_json(&r), *md = NULL, *run_json = NULL, *run_md = NULL;
    size_t md_len = 0;
    REQUIRE_OK(allot_audit_report_markdown(&r, &md, &md_len, &err));
    REQUIRE_OK(allot_audit_run(c, cpath, pols, 1, &o, NULL, &run_json, &run_md, NULL, &err));
    CHECK(json && run_json && !strcmp(json, run_json));
    CHECK(md && run_md && strlen(md) == md_len && !strcmp(md, run_md));
    free(json);
    free(md);
    free(run_json);
    free(run_md);
    allot_audit_result_free(&r);
    CHECK(r.policies == NULL && r.n_policies == 0);
}

int main(void) {
    char *dir = tu_tmpdir();
    char cpath[4096], policy[4096];
    snprintf(cpath, sizeof cpath, "%s/curves.jsonl", dir);
    snprintf(policy, sizeof policy, "%s/policy-liblinear.json", dir);
    allot_curves *c = tu_roundtrip(tu_make_curves(300, 1, 5), cpath);
    allot_error err = {0};
    allot_train_options to;
    allot_train_options_default(&to);
    to.budget = 4;
    to.learner = ALLOT_LEARNER_LIBLINEAR;
    to.linear.c_min = 0.5;
    to.linear.c_max = 2;
    to.hash_dim = 256;
    REQUIRE_OK(allot_train(c, cpath, &to, policy, NULL, &err));
    allot_audit_options o;
    allot_audit_options_default(&o);
    o.budget = 4;
    o.bootstrap = 50;
    o.plots = 0;
    check_directory_policy(c, cpath, dir, o);
    check_report_seeds(c, cpath, policy, o);
    check_provenance_seeds(c, cpath, policy, dir, o);
    check_compute_render(c, cpath, policy, o);
    allot_curves_free(c);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
    return CHECK_DONE();
}
