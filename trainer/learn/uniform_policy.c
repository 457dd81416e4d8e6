/*
 * uniform_policy.c - the uniform policy as a bundle (learn.h allot_train_uniform): the uniform mix at
 * the budget chosen on the training pool (trainer/solve/uniform.h), as a constant bundle at a hull
 * vertex or a mixture bundle between two hull tiers (docs/policy-bundle.md). What `allot train`
 * ships when no learned candidate beats it (select.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_features.h"
#include "allot/allot_policy.h"
#include "atomic_file.h"
#include "bundle.h"
#include "dataset.h"
#include "identity.h"
#include "learn.h"
#include "learn_internal.h"
#include "progress.h"
#include "provenance.h"
#include "uniform.h"

/* Everything the steps share. */
typedef struct uniform_ctx {
    const allot_curves *c;
    const char *path, *out_path;
    const allot_train_options *opt;
    size_t T;
    allot_split sp;
    int *oracle_tier;    /* n_train */
    double *tier_cost;   /* T: training-pool mean costs (the bundle's prices) */
    allot_uniform_mix m; /* chosen on the training pool */
    int K, class_tier[2];
    double weight[2], class_cost[2];
    double *oof;              /* n_train x K: each training query's drawn class (one-hot) */
    double *test_prob;        /* n_test x K */
    char *spec, *prov, *text; /* text: the rendered bundle, written once the runtime reproduced it */
    allot_train_report rep;
} uniform_ctx;

static void ctx_free(uniform_ctx *u) {
    allot_split_free(&u->sp);
    free(u->oracle_tier);
    free(u->tier_cost);
    free(u->oof);
    free(u->test_prob);
    free(u->spec);
    free(u->prov);
    free(u->text);
}

static allot_status nomem(allot_error *err) {
    return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (uniform policy)");
}

/* 1-2. the split of allot_train, the oracle on the training pool (reported), the tiers' prices */
static allot_status step_split_oracle(uniform_ctx *u, allot_error *err) {
    const allot_train_options *o = u->opt;
    allot_status st = allot_train_split(u->c->n_queries, o, &u->sp, err);
    if (st != ALLOT_OK) return st;
    u->oracle_tier = malloc(u->sp.n_train * sizeof *u->oracle_tier);
    u->tier_cost = malloc(u->T * sizeof *u->tier_cost);
    if (!u->oracle_tier || !u->tier_cost) return nomem(err);
    allot_tier_mean_costs(u->c, u->sp.train_idx, u->sp.n_train, u->tier_cost);
    return allot_oracle_labels(u->c, u->sp.train_idx, u->sp.n_train, o->budget, u->oracle_tier,
                               &u->rep.oracle_lambda, &u->rep.oracle_train_acc, &u->rep.oracle_train_cost,
                               err);
}

/* 3. the uniform mix at the budget, chosen on the training pool */
static allot_status step_mix(uniform_ctx *u, allot_error *err) {
    if (u->T > ALLOT_UNIFORM_MAX_TIERS)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "the uniform policy handles at most %d tiers, not %zu",
                               ALLOT_UNIFORM_MAX_TIERS, u->T);
    double *acc = allot_gather_rows(u->c->acc, u->T, u->sp.train_idx, u->sp.n_train);
    double *cost = allot_gather_rows(u->c->cost, u->T, u->sp.train_idx, u->sp.n_train);
    int bad =
        !acc || !cost || allot_uniform_mix_choose(acc, cost, u->sp.n_train, u->T, u->opt->budget, &u->m);
    free(acc);
    free(cost);
    if (bad) return nomem(err);
    u->K = u->m.lo == u->m.hi || u->m.w <= 0 ? 1 : 2;
    u->class_tier[0] = u->m.lo;
    u->class_tier[1] = u->m.hi;
    u->weight[0] = u->K == 1 ? 1.0 : 1 - u->m.w;
    u->weight[1] = u->m.w;
    for (int k = 0; k < u->K; k++) u->class_cost[k] = u->tier_cost[u->class_tier[k]];
    return ALLOT_OK;
}

/* The drawn class of query i, as a one-hot row of K scores (what the runtime outputs). */
static void draw_row(const uniform_ctx *u, size_t i, double *row) {
    const char *p = u->c->prompts ? u->c->prompts[i] : NULL;
    size_t d = u->K == 1 ? 0 : allot_mixture_draw(u->weight, (size_t)u->K, p, p ? strlen(p) : 0);
    for (int k = 0; k < u->K; k++) row[k] = (size_t)k == d;
}

/* Mean accuracy and cost over rows of the drawn classes. */
static void drawn_means(const uniform_ctx *u, const size_t *rows, size_t n, const double *prob, double *acc,
                        double *cost) {
    double a = 0, k = 0;
    for (size_t j = 0; j < n; j++) {
        size_t t = (size_t)u->class_tier[prob[j * (size_t)u->K] > 0.5 ? 0 : 1];
        a += u->c->acc[rows[j] * u->T + t];
        k += u->c->cost[rows[j] * u->T + t];
    }
    *acc = n ? a / (double)n : NAN;
    *cost = n ? k / (double)n : NAN;
}

/* 4. the draws of every query and the report's figures (the mix's expectation on the training pool) */
static allot_status step_draws(uniform_ctx *u, allot_error *err) {
    size_t nt = u->sp.n_train, ns = u->sp.n_test, K = (size_t)u->K;
    u->oof = malloc((nt ? nt : 1) * K * sizeof *u->oof);
    u->test_prob = malloc((ns ? ns : 1) * K * sizeof *u->test_prob);
    if (!u->oof || !u->test_prob) return nomem(err);
    for (size_t j = 0; j < nt; j++) draw_row(u, u->sp.train_idx[j], u->oof + j * K);
    for (size_t j = 0; j < ns; j++) draw_row(u, u->sp.test_idx[j], u->test_prob + j * K);
    allot_train_report *r = &u->rep;
    r->n_queries = u->c->n_queries;
    r->n_train = nt;
    r->n_test = ns;
    r->n_tiers = u->T;
    r->n_classes = K;
    r->cv_imitation = r->cv_imitation_calibrated = NAN;
    r->oof_acc_argmax = r->oof_acc_calibrated = u->m.acc;
    r->oof_cost_argmax = r->oof_cost_calibrated = u->m.cost;
    r->test_imitation_argmax = r->test_imitation_calibrated = NAN;
    if (ns) {
        drawn_means(u, u->sp.test_idx, ns, u->test_prob, &r->test_acc_calibrated, &r->test_cost_calibrated);
        r->test_acc_argmax = r->test_acc_calibrated;
        r->test_cost_argmax = r->test_cost_calibrated;
        return allot_oracle_labels(u->c, u->sp.test_idx, ns, u->opt->budget, NULL, NULL, &r->test_oracle_acc,
                                   &r->test_oracle_cost, err);
    }
    r->test_acc_argmax = r->test_acc_calibrated = r->test_cost_argmax = r->test_cost_calibrated = NAN;
    r->test_oracle_acc = r->test_oracle_cost = NAN;
    return ALLOT_OK;
}

/* 5. the bundle: no features used (a default spec without extras or hashing), no model */
static allot_status step_bundle(uniform_ctx *u, allot_error *err) {
    allot_featurizer *fz = NULL;
    allot_status st = allot_featurizer_create_default(NULL, 0, 0, &fz, err);
    if (st != ALLOT_OK) return st;
    size_t len = allot_featurizer_spec_json(fz, NULL, 0);
    u->spec = malloc(len + 1);
    if (u->spec) allot_featurizer_spec_json(fz, u->spec, len + 1);
    allot_featurizer_free(fz);
    if (!u->spec) return nomem(err);
    char sha[65] = "", content[65];
    if (u->path && strcmp(u->path, "-")) {
        st = allot_learn_file_sha256(u->path, sha, err);
        if (st != ALLOT_OK) return st;
    }
    allot_curves_content_sha256(u->c, content);
    allot_provenance p = {.curves = u->c,
                          .curves_path = u->path,
                          .input_sha256 = sha,
                          .content_sha256 = content,
                          .opt = u->opt,
                          .rep = &u->rep,
                          .split = &u->sp,
                          .oracle_tiers = u->oracle_tier,
                          .tier_labels = u->oracle_tier,
                          .constant = u->K == 1,
                          .oof = u->oof,
                          .uniform = &u->m};
    st = allot_provenance_render(&p, &u->prov, err);
    if (st != ALLOT_OK) return st;
    allot_bundle_parts parts = {.n_tiers = u->T,
                                .tier_names = (const char *const *)u->c->tier_names,
                                .tier_costs = u->tier_cost,
                                .features_spec_json = u->spec,
                                .kind = u->K == 1 ? "constant" : "mixture",
                                .n_classes = u->K,
                                .class_tier = u->class_tier,
                                .class_weights = u->K == 1 ? NULL : u->weight,
                                .input = "dense",
                                .rule = "argmax",
                                .mu = 0,
                                .provenance_json = u->prov};
    return allot_bundle_render(&parts, &u->text, err);
}

/* 6. the runtime must draw what the trainer drew (held-out queries, else the training pool) */
static allot_status step_parity(uniform_ctx *u, allot_error *err) {
    int on_train = u->sp.n_test == 0;
    u->rep.parity_on_training_pool = on_train;
    return allot_learn_runtime_parity(
        u->text, strlen(u->text), u->c, on_train ? u->sp.train_idx : u->sp.test_idx,
        on_train ? u->sp.n_train : u->sp.n_test, on_train ? u->oof : u->test_prob, u->K, u->class_tier,
        u->class_cost, 0, ALLOT_RULE_ARGMAX, &u->rep.runtime_parity, err);
}

/* Per query: the mix's expected accuracy and cost, on the training pool (the reference every candidate
 * is compared with) and on the held-out queries (the uniform policy is that reference: its draws only
 * realise the expectation; the report's held-out figures are the draws'). */
static allot_status step_outcome(const uniform_ctx *u, allot_train_outcome *o, allot_error *err) {
    size_t nt = u->sp.n_train, ns = u->sp.n_test, T = u->T;
    o->n_train = nt;
    o->n_test = ns;
    o->train_rows = malloc((nt ? nt : 1) * sizeof(size_t));
    o->test_rows = malloc((ns ? ns : 1) * sizeof(size_t));
    o->oof_acc = malloc((nt ? nt : 1) * sizeof(double));
    o->oof_cost = malloc((nt ? nt : 1) * sizeof(double));
    o->test_acc = malloc((ns ? ns : 1) * sizeof(double));
    o->test_cost = malloc((ns ? ns : 1) * sizeof(double));
    if (!o->train_rows || !o->test_rows || !o->oof_acc || !o->oof_cost || !o->test_acc || !o->test_cost) {
        allot_train_outcome_free(o);
        return nomem(err);
    }
    for (size_t j = 0; j < nt; j++) {
        size_t i = o->train_rows[j] = u->sp.train_idx[j];
        o->oof_acc[j] = allot_uniform_mix_query_acc(&u->m, u->c->acc + i * T);
        o->oof_cost[j] = allot_uniform_mix_query_cost(&u->m, u->c->cost + i * T);
    }
    for (size_t j = 0; j < ns; j++) {
        size_t i = o->test_rows[j] = u->sp.test_idx[j];
        o->test_acc[j] = allot_uniform_mix_query_acc(&u->m, u->c->acc + i * T);
        o->test_cost[j] = allot_uniform_mix_query_cost(&u->m, u->c->cost + i * T);
    }
    return ALLOT_OK;
}

allot_status allot_train_uniform(const allot_curves *curves, const char *curves_path,
                                 const allot_train_options *opt, const char *out_path,
                                 allot_train_report *report, allot_train_outcome *outcome, allot_error *err) {
    if (outcome) memset(outcome, 0, sizeof *outcome);
    double t0 = allot_now_seconds();
    if (!(opt->budget >= 0) || !isfinite(opt->budget))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--budget must be a finite number >= 0");
    if (curves->n_tiers < 1) return allot_error_set(err, ALLOT_E_INVALID, "%s: no tiers", curves_path);
    uniform_ctx u;
    memset(&u, 0, sizeof u);
    u.c = curves;
    u.path = curves_path;
    u.out_path = out_path;
    u.opt = opt;
    u.T = curves->n_tiers;
    allot_status st = step_split_oracle(&u, err);
    if (st == ALLOT_OK) st = step_mix(&u, err);
    if (st == ALLOT_OK) st = step_draws(&u, err);
    if (st == ALLOT_OK) st = step_bundle(&u, err);
    if (st == ALLOT_OK) st = step_parity(&u, err);
    if (st == ALLOT_OK)
        st = allot_atomic_write(u.out_path, u.text, strlen(u.text), err); /* every check passed */
    if (st == ALLOT_OK && outcome) st = step_outcome(&u, outcome, err);
    u.rep.seconds = allot_now_seconds() - t0;
    if (report) *report = u.rep;
    ctx_free(&u);
    return st;
}
