/* seq_select.c - sequential candidates of the default selection; the default ladder (seq_select.h). */
#include "seq_select.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs_reader.h"
#include "seq_data.h"
#include "util.h"

/* ---- the candidate ---------------------------------------------------------------------------------- */

/* The sequential report in the static report's terms (what the selection prints). */
static void report_of(const allot_sq_train_report *q, allot_train_report *r) {
    memset(r, 0, sizeof *r);
    r->n_queries = q->n_queries;
    r->n_train = q->n_train;
    r->n_test = q->n_test;
    r->n_tiers = r->n_classes = q->n_stages;
    r->mu = q->lambda;
    r->oof_acc_calibrated = q->oof_acc;
    r->oof_cost_calibrated = q->oof_cost;
    r->test_acc_calibrated = q->n_test ? q->test_acc : NAN;
    r->test_cost_calibrated = q->n_test ? q->test_cost : NAN;
    r->runtime_parity = q->n_test ? q->runtime_parity : -1; /* -1: not checked (nothing held out) */
    r->seconds = q->seconds;
}

/* The outcome's per-stage accuracies stand for the curves' tiers only when those are the ladder's stages
 * (allot_sq_stage_tiers); otherwise the selection compares with uniform's expectation. */
static void match_tiers(const allot_curves *c, const char *stages, allot_train_outcome *o) {
    allot_ladder *l = NULL;
    allot_error ignored = {0};
    int same =
        allot_sq_ladder_parse(stages, &l, &ignored) == ALLOT_OK && allot_ladder_n_stages(l) == c->n_tiers;
    for (size_t s = 0; same && s < c->n_tiers; s++) {
        allot_stage_info si;
        allot_ladder_stage(l, s, &si, NULL);
        same = !strcmp(si.name, c->tier_names[s]);
    }
    allot_ladder_free(l);
    if (same) return;
    free(o->oof_tier_acc);
    free(o->test_tier_acc);
    o->oof_tier_acc = o->test_tier_acc = NULL;
}

allot_status allot_sq_candidate_train(const allot_candidate_ctx *ctx, const void *arg,
                                      const char *bundle_path, allot_train_report *report,
                                      allot_train_outcome *outcome, allot_error *err) {
    const allot_sq_candidate_arg *a = arg;
    allot_ladder *l = NULL;
    allot_status st = allot_sq_ladder_parse(a->stages, &l, err);
    size_t S = st ? 0 : allot_ladder_n_stages(l);
    allot_ladder_free(l);
    if (st) return st;
    if (S < 2)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "the ladder '%.200s' has one stage: there is no stop-or-continue decision",
                               a->stages);
    allot_sq_train_options o = *a->opt;
    o.learner = a->learner;
    o.budget = ctx->opt->budget;
    o.test_fraction = ctx->opt->test_fraction;
    o.test_parts = o.test_part = 0;
    o.folds = ctx->opt->folds;
    o.seed = ctx->opt->seed;
    o.progress = 0;
    allot_sq_train_report q;
    st = allot_sq_train_ex(a->runs_path, a->stages, &o, bundle_path, &q, outcome, err);
    if (st == ALLOT_OK && outcome->n_train + outcome->n_test != ctx->curves->n_queries)
        st = allot_error_set(err, ALLOT_E_INTERNAL, "the sequential policy saw %zu queries, the curves %zu",
                             outcome->n_train + outcome->n_test, ctx->curves->n_queries);
    if (st == ALLOT_OK) match_tiers(ctx->curves, a->stages, outcome);
    if (st == ALLOT_OK) report_of(&q, report);
    return st;
}

/* ---- the static tiers of a ladder ---------------------------------------------------------------------- */

allot_status allot_sq_stage_tiers(const char *stages, allot_tier_set *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    allot_ladder *l = NULL;
    allot_status st = allot_sq_ladder_parse(stages, &l, err);
    if (st) return st;
    size_t S = allot_ladder_n_stages(l);
    out->tiers = calloc(S ? S : 1, sizeof *out->tiers);
    if (!out->tiers) {
        allot_ladder_free(l);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (ladder tiers)");
    }
    for (size_t s = 0; s < S && !st; s++) {
        allot_stage_info si;
        allot_ladder_stage(l, s, &si, NULL);
        const char *model = allot_ladder_model_name(l, si.model);
        allot_tier *t = &out->tiers[out->n++];
        t->name = allot_strdup(si.name);
        t->model = model && *model ? allot_strdup(model) : NULL;
        t->k = (int)si.k;
        t->rule = (allot_select_rule)si.rule;
        t->agg = ALLOT_STEP_NONE;
        if (!t->name || (model && *model && !t->model))
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (ladder tiers)");
    }
    allot_ladder_free(l);
    if (st) allot_tier_set_free(out);
    return st;
}

/* ---- the default ladder ------------------------------------------------------------------------------- */

/* What the default ladder depends on, over the whole file. */
typedef struct model_stats {
    double cost; /* summed sample cost */
    size_t n;    /* samples */
} model_stats;

typedef struct runs_shape {
    size_t n_queries, n_models, min_pool, max_pool;
    size_t n_at_min, min_line; /* queries whose pool is the smallest; the first one's line */
    char min_id[64];           /* its id (cut) */
    int precomputed, answers, scores;
    model_stats *model; /* per model (reader index); cap entries */
    size_t cap;
} runs_shape;

static allot_status count_sample(runs_shape *sh, const allot_sample *x, allot_error *err) {
    size_t m = (size_t)x->model;
    if (m >= sh->cap || !sh->model) {
        size_t cap = 2 * m + 8;
        model_stats *grown = realloc(sh->model, cap * sizeof *grown);
        if (!grown) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (runs scan)");
        memset(grown + sh->cap, 0, (cap - sh->cap) * sizeof *grown);
        sh->model = grown;
        sh->cap = cap;
    }
    sh->model[m].cost += x->cost;
    sh->model[m].n++;
    sh->answers |= x->answer >= 0;
    sh->scores |= !isnan(x->score);
    return ALLOT_OK;
}

static allot_status scan_query(const allot_query *q, runs_shape *sh, allot_error *err) {
    sh->n_queries++;
    if (q->n_tiers) {
        sh->precomputed = 1;
        return ALLOT_OK;
    }
    if (q->n_samples < sh->min_pool) {
        sh->min_pool = q->n_samples;
        sh->n_at_min = 0;
        sh->min_line = q->line;
        snprintf(sh->min_id, sizeof sh->min_id, "%s", q->id ? q->id : "");
    }
    sh->n_at_min += q->n_samples == sh->min_pool;
    sh->max_pool = q->n_samples > sh->max_pool ? q->n_samples : sh->max_pool;
    allot_status st = ALLOT_OK;
    for (size_t i = 0; i < q->n_samples && !st; i++) st = count_sample(sh, &q->samples[i], err);
    return st;
}

static void shape_free(runs_shape *sh) {
    free(sh->model);
}

static double mean_cost(const runs_shape *sh, size_t m) {
    return m < sh->cap && sh->model[m].n ? sh->model[m].cost / (double)sh->model[m].n : NAN;
}

/* k = 1, 2, 4, ... below n, then n. */
static size_t write_ks(char *spec, size_t cap, size_t len, size_t n);

/* The error for several models: a cascade from the cheapest model (by mean sample cost) to the dearest. */
static allot_status several_models(const char *path, const runs_shape *sh, allot_runs_reader *r,
                                   allot_error *err) {
    size_t lo = 0, hi = 0;
    for (size_t m = 1; m < sh->n_models; m++) { /* NaN (no samples) never wins a comparison */
        if (mean_cost(sh, m) < mean_cost(sh, lo) || isnan(mean_cost(sh, lo))) lo = m;
        if (mean_cost(sh, m) > mean_cost(sh, hi) || isnan(mean_cost(sh, hi))) hi = m;
    }
    const char *rule = sh->answers ? "majority" : sh->scores ? "best" : "pass";
    char ex[600];
    size_t len =
        (size_t)snprintf(ex, sizeof ex, "%.120s:%s@", allot_runs_reader_model_name(r, (int)lo), rule);
    len = write_ks(ex, sizeof ex, len, 4);
    if (len < sizeof ex)
        len += (size_t)snprintf(ex + len, sizeof ex - len, " > %.120s:%s@",
                                allot_runs_reader_model_name(r, (int)hi), rule);
    write_ks(ex, sizeof ex, len, 2);
    return allot_error_set(
        err, ALLOT_E_INVALID,
        "%s: samples of %zu models: choose the ladder with --stages, a cascade cheaper model "
        "first, e.g. --stages '%s'%s",
        path, sh->n_models, ex,
        sh->answers || sh->scores ? ""
                                  : " (the samples carry no answers or scores: pass@k stands "
                                    "for a perfect verifier, such as unit tests)");
}

static allot_status scan_runs(const char *path, runs_shape *sh, allot_runs_reader **r, allot_error *err) {
    memset(sh, 0, sizeof *sh);
    sh->min_pool = (size_t)-1;
    allot_status st = allot_runs_reader_open(path, r, err);
    int has = 1;
    allot_query q;
    while (!st && has && !(st = allot_runs_reader_next(*r, &q, &has, err)) && has)
        st = scan_query(&q, sh, err);
    if (!st) sh->n_models = allot_runs_reader_n_models(*r);
    return st;
}

/* k = 1, 2, 4, ... below n, then n; returns the new length. */
static size_t write_ks(char *spec, size_t cap, size_t len, size_t n) {
    if (n > ALLOT_LADDER_MAX_K) n = ALLOT_LADDER_MAX_K;
    for (size_t k = 1; k < n && len < cap; k *= 2) len += (size_t)snprintf(spec + len, cap - len, "%zu,", k);
    if (len < cap) len += (size_t)snprintf(spec + len, cap - len, "%zu", n);
    return len;
}

/* One model's ladder: its rule, k up to the smallest pool. */
static allot_status one_model(const char *path, const runs_shape *sh, const char *m, char *spec,
                              allot_error *err) {
    if (!sh->answers && !sh->scores)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s: the samples carry neither answers nor scores: a sequential policy has "
                               "nothing to watch (give --stages pass@... for a perfect verifier such as unit "
                               "tests)",
                               path);
    if (strpbrk(m, ",>"))
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "%s: the model name '%.100s' cannot be written in a ladder spec: give --stages", path, m);
    if (!sh->min_pool) return allot_error_set(err, ALLOT_E_INVALID, "%s: a query without samples", path);
    size_t len = (size_t)snprintf(spec, ALLOT_SQ_STAGES_MAX, "%.1000s%s%s@", m, *m ? ":" : "",
                                  sh->answers ? "majority" : "best");
    write_ks(spec, ALLOT_SQ_STAGES_MAX, len, sh->min_pool);
    return ALLOT_OK;
}

/* Why the ladder stops where it does, when some queries hold more samples than the smallest pool. */
static void pool_note(const char *path, const runs_shape *sh, char *note, size_t cap) {
    if (!note || !cap) return;
    note[0] = '\0';
    if (sh->precomputed || sh->n_models != 1 || !sh->min_pool || sh->min_pool >= sh->max_pool ||
        sh->min_pool >= ALLOT_LADDER_MAX_K)
        return;
    snprintf(note, cap,
             "the default ladder ends at the smallest pool (%zu sample%s): %zu of %zu queries hold no more "
             "(first: id '%s', line %zu); the largest pool holds %zu. Every query must hold the ladder's "
             "last stage: for a longer ladder, keep the queries that do (e.g. jq -c 'select(.samples | "
             "length >= %zu)' %.200s > longer.jsonl) and give --stages",
             sh->min_pool, sh->min_pool == 1 ? "" : "s", sh->n_at_min, sh->n_queries, sh->min_id,
             sh->min_line, sh->max_pool, sh->max_pool, path);
}

allot_status allot_sq_default_stages(const char *runs_path, char spec[ALLOT_SQ_STAGES_MAX], char *note,
                                     size_t note_cap, allot_error *err) {
    spec[0] = '\0';
    if (note && note_cap) note[0] = '\0';
    runs_shape sh;
    allot_runs_reader *r = NULL;
    allot_status st = scan_runs(runs_path, &sh, &r, err);
    if (!st && !sh.n_queries) st = allot_error_set(err, ALLOT_E_INVALID, "%s: no queries", runs_path);
    if (!st && !sh.precomputed)
        st = sh.n_models > 1 ? several_models(runs_path, &sh, r, err)
                             : one_model(runs_path, &sh, allot_runs_reader_model_name(r, 0), spec, err);
    if (!st) pool_note(runs_path, &sh, note, note_cap);
    allot_runs_reader_close(r);
    shape_free(&sh);
    return st;
}
