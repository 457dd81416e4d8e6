/* select.c - the default policy selection of `allot train` (see select.h). */
#include "select.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "allot/allot_policy.h"
#include "atomic_file.h"
#include "bootstrap.h"
#include "cleanup.h"
#include "dataset.h"
#include "progress.h"
#include "uniform.h"
#include "util.h"

/* ---- the static candidates -------------------------------------------------------------------- */

typedef struct static_arg {
    allot_learner_kind learner;
    allot_train_target target;
} static_arg;

static allot_status train_static(const allot_candidate_ctx *ctx, const void *arg, const char *bundle_path,
                                 allot_train_report *report, allot_train_outcome *outcome, allot_error *err) {
    const static_arg *a = arg;
    allot_train_options o = *ctx->opt;
    o.learner = a->learner;
    o.target = a->target;
    o.progress = 0;
    return allot_train_ex(ctx->curves, ctx->curves_path, &o, bundle_path, report, outcome, err);
}

static const static_arg XGB_TIER = {ALLOT_LEARNER_XGBOOST, ALLOT_TARGET_TIER_LABEL};
static const static_arg XGB_VALUE = {ALLOT_LEARNER_XGBOOST, ALLOT_TARGET_TIER_VALUE};
static const static_arg LIN_TIER = {ALLOT_LEARNER_LIBLINEAR, ALLOT_TARGET_TIER_LABEL};
static const static_arg LIN_VALUE = {ALLOT_LEARNER_LIBLINEAR, ALLOT_TARGET_TIER_VALUE};

static const allot_candidate DEFAULT_CANDIDATES[] = {
    {"xgboost-tier", train_static, &XGB_TIER},
    {"xgboost-value", train_static, &XGB_VALUE},
    {"liblinear-tier", train_static, &LIN_TIER},
    {"liblinear-value", train_static, &LIN_VALUE},
};

size_t allot_default_candidates(const allot_candidate **out) {
    *out = DEFAULT_CANDIDATES;
    return sizeof DEFAULT_CANDIDATES / sizeof *DEFAULT_CANDIDATES;
}

/* ---- the selection ---------------------------------------------------------------------------- */

enum { RESAMPLES = 1000 };

/* Everything the steps share. */
typedef struct select_ctx {
    allot_candidate_ctx cc;
    const char *out_path;
    allot_selection *sel;
    char (*scratch)[4200];        /* n: each candidate's scratch bundle */
    int *slot;                    /* n: its cleanup registration (removed on a signal), -1: none */
    allot_train_outcome *outcome; /* n */
    double *ref_tr, *ref_te;      /* the deployable uniform's expected accuracy per query */
    allot_uniform_mix mix;        /* that uniform mix (tiers of the curves) */
    double *diff;                 /* scratch */
} select_ctx;

static allot_status nomem(allot_error *err) {
    allot_error_set(err, ALLOT_E_NOMEM, "out of memory (policy selection)");
    return ALLOT_E_NOMEM;
}

/* Scratch bundle of candidate `name`: beside out_path, or in $TMPDIR when writing to stdout; named as
 * every temporary file (cleanup.h: "<output>.allot-tmp.<pid>.<name>"). */
static void scratch_path(const char *out_path, const char *name, char *buf, size_t cap) {
    if (strcmp(out_path, "-") != 0) {
        snprintf(buf, cap, "%.3900s" ALLOT_TMP_MARKER "%ld.%s", out_path, (long)getpid(), name);
        return;
    }
    const char *td = getenv("TMPDIR");
    snprintf(buf, cap, "%.3800s/allot-select" ALLOT_TMP_MARKER "%ld.%s", td && *td ? td : "/tmp",
             (long)getpid(), name);
}

/* Train candidate k (the uniform policy when cand is NULL) into its scratch bundle. A candidate whose
 * family does not apply to this data (ALLOT_E_UNSUPPORTED) is skipped and reported; any other error
 * (bad options or input, memory, I/O, a failed check) stops the selection: it would stop every
 * candidate alike, and shipping uniform over it would hide it. */
static allot_status run_candidate(select_ctx *x, size_t k, const allot_candidate *cand, allot_error *err) {
    allot_candidate_result *r = &x->sel->c[k];
    r->name = cand ? cand->name : "uniform";
    scratch_path(x->out_path, r->name, x->scratch[k], sizeof x->scratch[k]);
    if ((x->slot[k] = allot_cleanup_add_file(x->scratch[k])) < 0)
        return allot_error_set(err, ALLOT_E_IO, "%s: cannot register the scratch bundle for cleanup",
                               x->scratch[k]);
    allot_error sub = {0};
    double t0 = allot_now_seconds();
    r->status = cand ? cand->train(&x->cc, cand->arg, x->scratch[k], &r->report, &x->outcome[k], &sub)
                     : allot_train_uniform(x->cc.curves, x->cc.curves_path, x->cc.opt, x->scratch[k],
                                           &r->report, &x->outcome[k], &sub);
    r->report.seconds = allot_now_seconds() - t0;
    if (x->cc.opt->progress)
        fprintf(stderr, "selection: candidate %-20s %s (%.1f s)\n", r->name,
                r->status == ALLOT_OK                      ? "trained"
                : r->status == ALLOT_E_UNSUPPORTED && cand ? "skipped (does not apply)"
                                                           : "failed",
                r->report.seconds);
    if (r->status == ALLOT_OK) return ALLOT_OK;
    snprintf(r->error, sizeof r->error, "%s", sub.msg);
    if (r->status != ALLOT_E_UNSUPPORTED || !cand)
        return allot_error_set(err, r->status, "candidate %s: %s", r->name, sub.msg);
    return ALLOT_OK;
}

/* The reference per query: the deployable uniform's expected accuracy (training pool: the uniform
 * policy's out-of-fold figures; held-out: the same mix's expectation, not its draws). */
static allot_status reference(select_ctx *x, size_t iu, allot_error *err) {
    const allot_train_outcome *u = &x->outcome[iu];
    const allot_curves *c = x->cc.curves;
    size_t nt = u->n_train, ns = u->n_test, T = c->n_tiers;
    x->ref_tr = malloc((nt ? nt : 1) * sizeof(double));
    x->ref_te = malloc((ns ? ns : 1) * sizeof(double));
    x->diff = malloc((nt > ns ? nt : ns ? ns : 1) * sizeof(double));
    if (!x->ref_tr || !x->ref_te || !x->diff) return nomem(err);
    if (nt) memcpy(x->ref_tr, u->oof_acc, nt * sizeof(double));
    double *acc = allot_gather_rows(c->acc, T, u->train_rows, nt),
           *cost = allot_gather_rows(c->cost, T, u->train_rows, nt);
    allot_uniform_mix m;
    int bad = !acc || !cost || allot_uniform_mix_choose(acc, cost, nt, T, x->cc.opt->budget, &m);
    free(acc);
    free(cost);
    if (bad) return nomem(err);
    for (size_t j = 0; j < ns; j++)
        x->ref_te[j] = allot_uniform_mix_query_acc(&m, c->acc + u->test_rows[j] * T);
    x->mix = m;
    x->sel->n_train = nt;
    x->sel->n_test = ns;
    x->sel->uniform_acc = m.acc;
    x->sel->uniform_cost = m.cost;
    return ALLOT_OK;
}

static double mean_of(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return n ? s / (double)n : NAN;
}

/* Per query of the training pool (held_out 0) or the held-out set (1): the policy's accuracy minus the
 * reference's (ref, per query), or minus the uniform mix on the policy's own draws when it has them. */
static void gains_over(const allot_train_outcome *o, int held_out, const allot_uniform_mix *m,
                       const double *ref, size_t T, double *diff) {
    size_t n = held_out ? o->n_test : o->n_train;
    const double *acc = held_out ? o->test_acc : o->oof_acc;
    const double *draws = held_out ? o->test_tier_acc : o->oof_tier_acc;
    for (size_t j = 0; j < n; j++)
        diff[j] = acc[j] - (draws ? allot_uniform_mix_query_acc(m, draws + j * T) : ref[j]);
}

allot_status allot_outcome_vs_uniform(const allot_curves *c, const allot_train_outcome *o, double budget,
                                      uint64_t seed, allot_uniform_gain *g, allot_error *err) {
    size_t T = c->n_tiers, nt = o->n_train, ns = o->n_test, nmax = nt > ns ? nt : ns;
    memset(g, 0, sizeof *g);
    g->test_gain = g->test_lo = g->test_hi = NAN;
    double *acc = allot_gather_rows(c->acc, T, o->train_rows, nt),
           *cost = allot_gather_rows(c->cost, T, o->train_rows, nt);
    double *ref = malloc((nmax ? nmax : 1) * sizeof *ref), *diff = malloc((nmax ? nmax : 1) * sizeof *diff);
    allot_uniform_mix m;
    int bad = !acc || !cost || !ref || !diff || allot_uniform_mix_choose(acc, cost, nt, T, budget, &m);
    free(acc);
    free(cost);
    if (bad) {
        free(ref);
        free(diff);
        return nomem(err);
    }
    g->uniform_acc = m.acc;
    g->uniform_cost = m.cost;
    g->oof_cost = mean_of(o->oof_cost, nt);
    for (size_t j = 0; j < nt; j++) ref[j] = allot_uniform_mix_query_acc(&m, c->acc + o->train_rows[j] * T);
    gains_over(o, 0, &m, ref, T, diff);
    allot_bootstrap_mean(diff, nt, RESAMPLES, seed, 0.95, &g->gain, &g->gain_lo, &g->gain_hi);
    if (ns) {
        for (size_t j = 0; j < ns; j++)
            ref[j] = allot_uniform_mix_query_acc(&m, c->acc + o->test_rows[j] * T);
        gains_over(o, 1, &m, ref, T, diff);
        allot_bootstrap_mean(diff, ns, RESAMPLES, seed, 0.95, &g->test_gain, &g->test_lo, &g->test_hi);
    }
    free(ref);
    free(diff);
    return ALLOT_OK;
}

/* A candidate's outcome must cover the reference's queries in the same order (the same split). */
static int same_split(const allot_train_outcome *a, const allot_train_outcome *u) {
    return a->n_train == u->n_train && a->n_test == u->n_test &&
           !memcmp(a->train_rows, u->train_rows, u->n_train * sizeof *u->train_rows) &&
           !memcmp(a->test_rows, u->test_rows, u->n_test * sizeof *u->test_rows);
}

/* A candidate's gains over the reference, out of fold and held out, with their intervals. */
static void score_candidate(select_ctx *x, size_t k) {
    allot_candidate_result *r = &x->sel->c[k];
    const allot_train_outcome *o = &x->outcome[k];
    if (!same_split(o, &x->outcome[x->sel->n - 1])) { /* a plugged-in trainer that used another split */
        r->status = ALLOT_E_INTERNAL;
        snprintf(r->error, sizeof r->error, "its outcome is not on the selection's split");
        return;
    }
    uint64_t seed = x->cc.opt->seed;
    r->oof_acc = mean_of(o->oof_acc, o->n_train);
    r->oof_cost = mean_of(o->oof_cost, o->n_train);
    size_t T = x->cc.curves->n_tiers;
    gains_over(o, 0, &x->mix, x->ref_tr, T, x->diff);
    allot_bootstrap_mean(x->diff, o->n_train, RESAMPLES, seed, 0.95, &r->gain, &r->gain_lo, &r->gain_hi);
    double B = x->cc.opt->budget, tol = 1e-9 * (fabs(B) > 1 ? fabs(B) : 1);
    r->eligible = r->gain_lo > 0 && r->oof_cost <= B + tol;
    r->test_gain = r->test_lo = r->test_hi = r->test_acc = r->test_cost = NAN;
    if (!o->n_test) return;
    gains_over(o, 1, &x->mix, x->ref_te, T, x->diff);
    allot_bootstrap_mean(x->diff, o->n_test, RESAMPLES, seed, 0.95, &r->test_gain, &r->test_lo, &r->test_hi);
    r->test_acc = mean_of(o->test_acc, o->n_test);
    r->test_cost = mean_of(o->test_cost, o->n_test);
}

/* The eligible candidate with the largest out-of-fold gain, else the uniform policy (index iu). */
static void choose(allot_selection *sel, size_t iu) {
    sel->shipped = iu;
    sel->reason = "no candidate beats the uniform policy out of fold with a 95% interval above zero "
                  "(within the budget): the uniform policy is shipped";
    for (size_t k = 0; k < iu; k++) {
        const allot_candidate_result *r = &sel->c[k];
        if (r->status != ALLOT_OK || !r->eligible) continue;
        if (sel->shipped == iu || r->gain > sel->c[sel->shipped].gain) sel->shipped = k;
    }
    if (sel->shipped != iu)
        sel->reason =
            "the candidate with the largest out-of-fold gain over the uniform policy among those whose "
            "95% interval lies above zero (within the budget)";
}

static void add_num(cJSON *o, const char *k, double v) {
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *allot_candidate_json(const allot_candidate_result *r, int held_out) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "name", r->name);
    if (r->status != ALLOT_OK) {
        cJSON_AddStringToObject(o, "skipped", r->error);
        return o;
    }
    add_num(o, "oof_acc", r->oof_acc);
    add_num(o, "oof_cost", r->oof_cost);
    add_num(o, "gain", r->gain);
    add_num(o, "gain_ci95_lo", r->gain_lo);
    add_num(o, "gain_ci95_hi", r->gain_hi);
    cJSON_AddBoolToObject(o, "eligible", r->eligible);
    if (!held_out) return o;
    add_num(o, "test_acc", r->test_acc);
    add_num(o, "test_cost", r->test_cost);
    add_num(o, "test_gain", r->test_gain);
    add_num(o, "test_gain_ci95_lo", r->test_lo);
    add_num(o, "test_gain_ci95_hi", r->test_hi);
    cJSON_AddBoolToObject(o, "runtime_parity", r->report.runtime_parity > 0);
    cJSON_AddNumberToObject(o, "seconds", r->report.seconds);
    return o;
}

/* provenance.selection of the shipped bundle. */
static char *selection_json(const allot_selection *sel, double budget) {
    cJSON *s = cJSON_CreateObject();
    if (!s) return NULL;
    cJSON_AddStringToObject(s, "method",
                            "out-of-fold gain over the uniform policy, 95% paired bootstrap (1000)");
    add_num(s, "budget", budget);
    cJSON_AddStringToObject(s, "shipped", sel->c[sel->shipped].name);
    cJSON_AddStringToObject(s, "reason", sel->reason);
    cJSON *arr = cJSON_AddArrayToObject(s, "candidates");
    for (size_t k = 0; k < sel->n; k++) cJSON_AddItemToArray(arr, allot_candidate_json(&sel->c[k], 0));
    char *t = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return t;
}

/* The shipped bundle: its scratch text with "selection" added as the provenance's last member (the
 * bundle writer puts the provenance last: the text ends with "}}\n"), loaded by the runtime from memory,
 * then written atomically. */
static allot_status write_shipped(select_ctx *x, allot_error *err) {
    const allot_selection *sel = x->sel;
    char *text = NULL, *js = selection_json(sel, x->cc.opt->budget);
    size_t len = 0;
    allot_status st =
        js ? allot_read_file(x->scratch[sel->shipped], (size_t)ALLOT_POLICY_MAX_FILE_BYTES, &text, &len, err)
           : nomem(err);
    if (st == ALLOT_OK && (len < 3 || strcmp(text + len - 3, "}}\n") != 0))
        st = allot_error_set(err, ALLOT_E_INTERNAL, "%s: the bundle does not end with its provenance",
                             x->scratch[sel->shipped]);
    char *out = NULL;
    size_t ol = 0;
    if (st == ALLOT_OK) {
        static const char key[] = ",\"selection\":";
        ol = len - 2 + strlen(key) + strlen(js) + 2;
        out = malloc(ol + 1);
        if (!out) st = nomem(err);
    }
    if (st == ALLOT_OK) { /* render, check that the runtime loads it, then write */
        snprintf(out, ol + 1, "%.*s,\"selection\":%s}}\n", (int)(len - 3), text, js);
        allot_policy *p = NULL;
        st = allot_policy_load_memory(out, strlen(out), &p, err);
        allot_policy_free(p);
    }
    if (st == ALLOT_OK) st = allot_atomic_write(x->out_path, out, strlen(out), err);
    free(out);
    free(text);
    cJSON_free(js);
    return st;
}

void allot_selection_free(allot_selection *sel) {
    if (!sel) return;
    free(sel->c);
    memset(sel, 0, sizeof *sel);
}

allot_status allot_train_select(const allot_curves *curves, const char *curves_path,
                                const allot_train_options *opt, const allot_candidate *cands, size_t n_cands,
                                const char *out_path, allot_selection *sel, allot_error *err) {
    memset(sel, 0, sizeof *sel);
    double t0 = allot_now_seconds();
    size_t n = n_cands + 1, iu = n_cands;
    select_ctx x;
    memset(&x, 0, sizeof x);
    x.cc = (allot_candidate_ctx){curves, curves_path, opt};
    x.out_path = out_path;
    x.sel = sel;
    sel->c = calloc(n, sizeof *sel->c);
    x.scratch = calloc(n, sizeof *x.scratch);
    x.slot = malloc(n * sizeof *x.slot);
    x.outcome = calloc(n, sizeof *x.outcome);
    allot_status st = !sel->c || !x.scratch || !x.slot || !x.outcome ? nomem(err) : ALLOT_OK;
    for (size_t k = 0; x.slot && k < n; k++) x.slot[k] = -1;
    if (st == ALLOT_OK) sel->n = n;
    if (st == ALLOT_OK) st = run_candidate(&x, iu, NULL, err); /* the reference first */
    for (size_t k = 0; k < n_cands && st == ALLOT_OK; k++) st = run_candidate(&x, k, &cands[k], err);
    if (st == ALLOT_OK) st = reference(&x, iu, err);
    for (size_t k = 0; k < n && st == ALLOT_OK; k++)
        if (sel->c[k].status == ALLOT_OK) score_candidate(&x, k);
    if (st == ALLOT_OK) choose(sel, iu);
    if (st == ALLOT_OK) st = write_shipped(&x, err);
    for (size_t k = 0; x.scratch && x.slot && k < n; k++) {
        if (x.scratch[k][0]) remove(x.scratch[k]);
        allot_cleanup_remove(x.slot[k]);
    }
    for (size_t k = 0; x.outcome && k < n; k++) allot_train_outcome_free(&x.outcome[k]);
    free(x.scratch);
    free(x.slot);
    free(x.outcome);
    free(x.ref_tr);
    free(x.ref_te);
    free(x.diff);
    sel->seconds = allot_now_seconds() - t0;
    return st;
}
