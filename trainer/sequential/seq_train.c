/* seq_train.c - `allot train --stages` (see seq_train.h for the steps). */
#include "seq_train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_sequential.h"
#include "atomic_file.h"
#include "bootstrap.h"
#include "bundle.h"
#include "dataset.h"
#include "linear_learner.h"
#include "progress.h"
#include "seed.h"
#include "seq_eval.h"
#include "util.h"
#include "xgb_learner.h"

void allot_sq_train_options_default(allot_sq_train_options *o) {
    allot_train_options t;
    allot_train_options_default(&t);
    memset(o, 0, sizeof *o);
    o->budget = NAN;
    o->learner = ALLOT_LEARNER_XGBOOST;
    o->test_fraction = 0.2;
    o->folds = 5;
    o->seed = 1;
    o->orderings = 8;
    o->continuations = 16;
    o->xgb = t.xgb;
    /* the rows of one query (orderings x stages) are strongly correlated: shallower trees with
     * larger leaves than a static policy's (docs/sequential.md) */
    o->xgb.max_depth = 3;
    o->xgb.min_child_weight = 10;
    o->linear = t.linear;
    o->linear.C = 1.0;
}

double allot_sq_alone_cost(const allot_ladder *l, const double *stage_costs, size_t s) {
    allot_stage_info si, first, prev;
    if (allot_ladder_stage(l, s, &si, NULL) || allot_ladder_stage(l, 0, &first, NULL) ||
        si.model == first.model)
        return NAN;
    size_t s0 = s;
    while (s0 > 0 && !allot_ladder_stage(l, s0 - 1, &prev, NULL) && prev.model == si.model) s0--;
    return stage_costs[s] - stage_costs[s0 - 1];
}

/* ---- the step rule on predictions (the runtime's allot_policy_step arithmetic) ------------------- */

/* At stage s with values v (v[t > s]: predicted gains of stopping at t instead of now): the stage
 * maximising gain_t - lambda (c_t - c_s), the current one scoring 0; ties go to the earlier stage. */
size_t allot_sq_best_stage(const double *v, size_t s, size_t S, const double *c, double lambda) {
    size_t best = s;
    double bv = 0;
    for (size_t t = s + 1; t < S; t++) {
        double x = v[t] - lambda * (c[t] - c[s]);
        if (x > bv) {
            best = t;
            bv = x;
        }
    }
    return best;
}

/* The stage trajectory `base` (its stage-0 row) stops at, at price lambda. */
static size_t stop_stage(const double *pred, size_t base, size_t S, const double *c, double lambda) {
    for (size_t s = 0; s + 1 < S; s++)
        if (allot_sq_best_stage(pred + (base + s) * S, s, S, c, lambda) == s) return s;
    return S - 1;
}

void allot_sq_replay(const double *pred, const allot_sq_rows *rows, const size_t *traj, size_t n_traj,
                     const double *stage_cost, double lambda, double *acc, double *cost, size_t *stop) {
    double a = 0, c = 0;
    size_t S = rows->S;
    for (size_t j = 0; j < n_traj; j++) {
        size_t base = traj[j] * S, s = stop_stage(pred, base, S, stage_cost, lambda);
        a += rows->acc[base + s];
        c += rows->cost[base + s];
        if (stop) stop[j] = s;
    }
    *acc = n_traj ? a / (double)n_traj : NAN;
    *cost = n_traj ? c / (double)n_traj : NAN;
}

double allot_sq_calibrate(const double *pred, const allot_sq_rows *rows, const size_t *traj, size_t n_traj,
                          const double *stage_cost, double budget) {
    /* beyond 2.5 / (smallest stage step) no predicted gain (in [-1, 1]) outweighs a step's price:
     * every trajectory stops at stage 0. At price 0 a stage is drawn only where a later stage is
     * predicted to gain accuracy; budget left over then stays unspent (a negative price would buy
     * stages predicted to lose accuracy). */
    double step = INFINITY, acc, cost;
    for (size_t s = 0; s + 1 < rows->S; s++)
        if (stage_cost[s + 1] - stage_cost[s] > 0) step = fmin(step, stage_cost[s + 1] - stage_cost[s]);
    double lo = 0, hi = isfinite(step) ? 2.5 / step : 1.0;
    allot_sq_replay(pred, rows, traj, n_traj, stage_cost, 0, &acc, &cost, NULL);
    if (cost <= budget) return 0;
    for (int it = 0; it < 200 && hi - lo > 1e-15 * fabs(hi - lo + 1e-300) + 1e-18; it++) {
        double mid = 0.5 * (lo + hi);
        allot_sq_replay(pred, rows, traj, n_traj, stage_cost, mid, &acc, &cost, NULL);
        if (cost <= budget)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* ---- the training context ------------------------------------------------------------------------ */

typedef struct stage_model {
    allot_xgb_fit xgb;
    allot_linear_fit lin;
} stage_model;

typedef struct sq_ctx {
    const allot_sq_train_options *o;
    const char *runs_path, *stages;
    allot_ladder *ladder;
    allot_sq_data data;
    allot_featurizer *fz;
    char **extra;
    size_t n_extra;
    allot_split split;
    allot_sq_rows train, test;
    size_t S;
    size_t *train_traj, *test_traj; /* 0..n_traj-1 */
    double *stage_cost;             /* S: mean cumulative cost over the training rows */
    double *center, *scale;         /* LIBLINEAR input standardisation (n_inputs) */
    float *lin_train, *lin_test;    /* standardised inputs (LIBLINEAR) */
    double *oof, *test_pred;        /* n x S predictions */
    stage_model *final;             /* S */
    int *rounds;                    /* S: XGBoost rounds of the final models */
    allot_progress pg;
    size_t pg_done;
    allot_sq_train_report rep;
} sq_ctx;

static void ctx_free(sq_ctx *c) {
    allot_ladder_free(c->ladder);
    allot_sq_data_free(&c->data);
    allot_featurizer_free(c->fz);
    allot_free_names(c->extra, c->n_extra);
    allot_split_free(&c->split);
    allot_sq_rows_free(&c->train);
    allot_sq_rows_free(&c->test);
    free(c->train_traj);
    free(c->test_traj);
    free(c->stage_cost);
    free(c->center);
    free(c->scale);
    free(c->lin_train);
    free(c->lin_test);
    free(c->oof);
    free(c->test_pred);
    for (size_t t = 0; c->final && t < c->S; t++) {
        allot_xgb_fit_free(&c->final[t].xgb);
        allot_linear_fit_free(&c->final[t].lin);
    }
    free(c->final);
    free(c->rounds);
}

static allot_status nomem(allot_error *err) {
    return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
}

/* 1. the ladder and the runs */
static allot_status load_inputs(sq_ctx *c, allot_error *err) {
    allot_status st = allot_sq_ladder_parse(c->stages, &c->ladder, err);
    if (!st) st = allot_sq_load(c->runs_path, c->ladder, &c->data, err);
    if (!st) c->S = allot_ladder_n_stages(c->ladder);
    return st;
}

/* The featuriser's extra names: record features ("a,b") and meta fields ("a,b"). */
static allot_status extra_names(sq_ctx *c, allot_error *err) {
    const char *lists[2] = {c->o->features, c->o->meta_features};
    for (int kind = 0; kind < 2; kind++) {
        char *buf = lists[kind] ? allot_strdup(lists[kind]) : NULL;
        if (lists[kind] && !buf) return nomem(err);
        char *save = NULL;
        for (char *tok = buf ? strtok_r(buf, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
            char name[512];
            snprintf(name, sizeof name, "%s.%s", kind ? "meta" : "features", tok);
            char **g = realloc(c->extra, (c->n_extra + 1) * sizeof *g);
            if (g) c->extra = g;
            if (!g || !(g[c->n_extra] = allot_strdup(name))) {
                free(buf);
                return nomem(err);
            }
            c->n_extra++;
        }
        free(buf);
    }
    return ALLOT_OK;
}

/* The prompt featuriser: the built-in text features when asked for, then the extra features. */
static allot_status make_featurizer(sq_ctx *c, allot_error *err) {
    if (c->o->prompt_features)
        return allot_featurizer_create_default((const char *const *)c->extra, c->n_extra, 0, &c->fz, err);
    cJSON *spec = cJSON_CreateObject();
    cJSON_AddNumberToObject(spec, "version", 1);
    cJSON_AddArrayToObject(spec, "builtin");
    cJSON *ex = cJSON_AddArrayToObject(spec, "extra");
    for (size_t i = 0; ex && i < c->n_extra; i++) cJSON_AddItemToArray(ex, cJSON_CreateString(c->extra[i]));
    char *text = cJSON_PrintUnformatted(spec);
    cJSON_Delete(spec);
    if (!text) return nomem(err);
    allot_status st = allot_featurizer_create(text, strlen(text), &c->fz, err);
    free(text);
    return st;
}

/* A requested extra feature that no query has (a typo, or a string without a number) would be an
 * all-missing input: say so instead of training on nothing. */
static allot_status check_extras(const sq_ctx *c, allot_error *err) {
    size_t ne = allot_featurizer_n_extra(c->fz);
    if (!ne) return ALLOT_OK;
    double *v = malloc(ne * sizeof *v);
    size_t *present = calloc(ne, sizeof *present);
    allot_status st = v && present ? ALLOT_OK : nomem(err);
    for (size_t i = 0; i < c->data.n && !st; i++) {
        const char *rec = c->data.q[i].record;
        st = allot_featurizer_extras_from_record(c->fz, rec, strlen(rec), v, err);
        for (size_t e = 0; e < ne && !st; e++) present[e] += !isnan(v[e]);
    }
    for (size_t e = 0; e < ne && !st; e++)
        if (!present[e])
            st = allot_error_set(err, ALLOT_E_INVALID,
                                 "feature '%s' is missing (or not a number) in every query of %s",
                                 allot_featurizer_extra_name(c->fz, e), c->runs_path);
    free(v);
    free(present);
    return st;
}

/* 2. the prompt featuriser and the split */
static allot_status featurizer_and_split(sq_ctx *c, allot_error *err) {
    allot_status st = extra_names(c, err);
    if (!st) st = make_featurizer(c, err);
    if (!st) st = check_extras(c, err);
    if (!st && c->o->test_parts >= 2)
        st = allot_split_make_part(c->data.n, c->o->test_parts, c->o->test_part, c->o->folds, c->o->seed,
                                   &c->split, err);
    else if (!st)
        st = allot_split_make(c->data.n, c->o->test_fraction, c->o->folds, c->o->seed, &c->split, err);
    return st;
}

static size_t *iota(size_t n) {
    size_t *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++) v[i] = i;
    return v;
}

/* 3. rows of the training pool (with targets) and of the held-out queries */
static allot_status build_rows(sq_ctx *c, allot_error *err) {
    allot_sq_row_options ro = {c->o->orderings, c->o->continuations, c->o->seed, 1};
    allot_status st =
        allot_sq_rows_build(&c->data, c->ladder, c->fz, c->split.train_idx, c->split.n_train, &ro,
                            c->o->progress ? "rows (training queries)" : NULL, &c->train, err);
    ro.with_targets = 0;
    if (!st)
        st = allot_sq_rows_build(&c->data, c->ladder, c->fz, c->split.test_idx, c->split.n_test, &ro,
                                 c->o->progress ? "rows (held-out queries)" : NULL, &c->test, err);
    if (st) return st;
    c->train_traj = iota(c->train.n_traj);
    c->test_traj = iota(c->test.n_traj);
    c->stage_cost = calloc(c->S, sizeof *c->stage_cost);
    if (!c->train_traj || !c->test_traj || !c->stage_cost) return nomem(err);
    for (size_t j = 0; j < c->train.n_traj; j++)
        for (size_t s = 0; s < c->S; s++)
            c->stage_cost[s] += c->train.cost[j * c->S + s] / (double)c->train.n_traj;
    c->rep.n_rows = c->train.n;
    c->rep.n_inputs = c->train.d;
    return ALLOT_OK;
}

/* LIBLINEAR: the input standardisation of the training rows (mean, population sd; 1 when 0), NaN
 * skipped, and the standardised matrices (NaN -> 0), exactly as the runtime standardises. */
static float *standardize(const allot_sq_rows *r, const double *center, const double *scale) {
    float *z = malloc((r->n ? r->n : 1) * r->d * sizeof *z);
    for (size_t i = 0; z && i < r->n * r->d; i++) {
        float x = r->x[i];
        size_t k = i % r->d;
        z[i] = isnan(x) ? 0.0f : (float)(((double)x - center[k]) / scale[k]);
    }
    return z;
}

static allot_status linear_inputs(sq_ctx *c, allot_error *err) {
    if (c->o->learner != ALLOT_LEARNER_LIBLINEAR) return ALLOT_OK;
    size_t d = c->train.d;
    c->center = calloc(d, sizeof *c->center);
    c->scale = calloc(d, sizeof *c->scale);
    if (!c->center || !c->scale) return nomem(err);
    for (size_t k = 0; k < d; k++) {
        double sum = 0, sq = 0;
        size_t n = 0;
        for (size_t i = 0; i < c->train.n; i++) {
            float x = c->train.x[i * d + k];
            if (isnan(x)) continue;
            sum += x;
            n++;
        }
        double mean = n ? sum / (double)n : 0;
        for (size_t i = 0; i < c->train.n; i++) {
            float x = c->train.x[i * d + k];
            if (!isnan(x)) sq += ((double)x - mean) * ((double)x - mean);
        }
        double sd = n ? sqrt(sq / (double)n) : 0;
        c->center[k] = mean;
        c->scale[k] = sd > 0 && isfinite(sd) ? sd : 1.0;
    }
    c->lin_train = standardize(&c->train, c->center, c->scale);
    c->lin_test = standardize(&c->test, c->center, c->scale);
    return c->lin_train && c->lin_test ? ALLOT_OK : nomem(err);
}

/* ---- one stage's regressor ------------------------------------------------------------------------ */

/* Rows (of r) of the given trajectories whose stage is <= t. */
/* The rows model t learns from: model 0 (the accuracy of stopping now) every row; model t >= 1 (the
 * gain of going on to stage t) the rows of the stages before t. */
static size_t stage_rows(const allot_sq_rows *r, const size_t *traj, size_t n_traj, size_t t, size_t *out) {
    size_t n = 0, last = t == 0 ? r->S : t;
    for (size_t j = 0; j < n_traj; j++)
        for (size_t s = 0; s < last; s++) out[n++] = traj[j] * r->S + s;
    return n;
}

/* Model t's label of a row: the accuracy now (t = 0), or the gain of stopping at t instead of now
 * mapped from [-1, 1] to [0, 1] (t >= 1). */
static double stage_label(const allot_sq_rows *r, size_t row, size_t t) {
    size_t s = row % r->S;
    const float *y = r->y + row * r->S;
    return t == 0 ? (double)y[s] : ((double)y[t] - (double)y[s] + 1.0) / 2.0;
}

static float *gather_x(const float *x, size_t d, const size_t *rows, size_t n) {
    float *g = malloc((n ? n : 1) * d * sizeof *g);
    for (size_t j = 0; g && j < n; j++) memcpy(g + j * d, x + rows[j] * d, d * sizeof *g);
    return g;
}

/* Fit model t on rows tr (labels stage_label); XGBoost early-stops on va when given. */
static allot_status fit_stage(const sq_ctx *c, size_t t, const size_t *tr, size_t ntr, const size_t *va,
                              size_t nva, int rounds, stage_model *m, allot_error *err) {
    memset(m, 0, sizeof *m);
    size_t d = c->train.d;
    allot_status st;
    if (c->o->learner == ALLOT_LEARNER_XGBOOST) {
        float *x = gather_x(c->train.x, d, tr, ntr), *xv = nva ? gather_x(c->train.x, d, va, nva) : NULL;
        float *y = malloc((ntr ? ntr : 1) * sizeof *y), *yv = malloc((nva ? nva : 1) * sizeof *yv);
        if (!x || (nva && !xv) || !y || !yv) {
            st = nomem(err);
        } else {
            for (size_t j = 0; j < ntr; j++) y[j] = (float)stage_label(&c->train, tr[j], t);
            for (size_t j = 0; j < nva; j++) yv[j] = (float)stage_label(&c->train, va[j], t);
            st = allot_xgb_train_value(x, y, ntr, d, xv, yv, nva, &c->o->xgb, rounds, c->o->seed, &m->xgb,
                                       err);
        }
        free(x);
        free(xv);
        free(y);
        free(yv);
        return st;
    }
    double *y = malloc((ntr ? ntr : 1) * sizeof *y);
    if (!y) return nomem(err);
    for (size_t j = 0; j < ntr; j++) y[j] = stage_label(&c->train, tr[j], t);
    allot_linear_data dt;
    st = allot_linear_data_build(c->lin_train, d, NULL, NULL, NULL, 0, tr, ntr, c->o->linear.bias, &dt, err);
    if (!st) st = allot_linear_train_value(&dt, y, &c->o->linear, c->o->linear.C, c->o->seed, &m->lin, err);
    allot_linear_data_free(&dt);
    free(y);
    return st;
}

/* Stage t's predictions of the given rows (x: their matrix, standardised for LIBLINEAR) into
 * pred[row * S + t]. */
static allot_status predict_stage(const sq_ctx *c, const stage_model *m, size_t t, const float *x,
                                  const size_t *rows, size_t n, double *pred, allot_error *err) {
    size_t d = c->train.d;
    double *out = malloc((n ? n : 1) * sizeof *out);
    if (!out) return nomem(err);
    allot_status st;
    if (c->o->learner == ALLOT_LEARNER_XGBOOST) {
        float *g = gather_x(x, d, rows, n);
        st = g ? allot_xgb_predict(&m->xgb, g, n, out, err) : nomem(err);
        free(g);
    } else {
        allot_linear_data dt;
        st = allot_linear_data_build(x, d, NULL, NULL, NULL, 0, rows, n, c->o->linear.bias, &dt, err);
        if (!st) st = allot_linear_predict_value(&m->lin, &dt, out, err);
        allot_linear_data_free(&dt);
    }
    /* as the runtime reports them: the accuracy now at the row's own stage (model 0), gains after it */
    for (size_t j = 0; !st && j < n; j++) {
        size_t s = rows[j] % c->S;
        if (t == 0)
            pred[rows[j] * c->S + s] = out[j];
        else
            pred[rows[j] * c->S + t] = 2.0 * out[j] - 1.0;
    }
    free(out);
    return st;
}

static void stage_model_free(stage_model *m) {
    allot_xgb_fit_free(&m->xgb);
    allot_linear_fit_free(&m->lin);
}

static double *nan_matrix(size_t n, size_t S) {
    double *m = malloc((n ? n : 1) * S * sizeof *m);
    for (size_t i = 0; m && i < n * S; i++) m[i] = NAN;
    return m;
}

/* ---- 4. out-of-fold predictions ---------------------------------------------------------------- */

/* Training trajectories in fold f (in = 1) or outside it (in = 0). */
static size_t fold_traj(const sq_ctx *c, int f, int in, size_t *out) {
    size_t n = 0;
    for (size_t j = 0; j < c->train.n_traj; j++) {
        int fj = c->split.fold[c->train.traj_query[j]];
        if ((fj == f) == in) out[n++] = j;
    }
    return n;
}

static allot_status cross_validate(sq_ctx *c, double *mean_rounds, allot_error *err) {
    size_t nt = c->train.n_traj, S = c->S;
    size_t *tin = malloc((nt ? nt : 1) * sizeof *tin), *tout = malloc((nt ? nt : 1) * sizeof *tout);
    size_t *rin = malloc((c->train.n ? c->train.n : 1) * sizeof *rin);
    size_t *rout = malloc((c->train.n ? c->train.n : 1) * sizeof *rout);
    c->oof = nan_matrix(c->train.n, S);
    allot_status st = tin && tout && rin && rout && c->oof ? ALLOT_OK : nomem(err);
    const float *x = c->lin_train ? c->lin_train : c->train.x;
    for (int f = 0; f < c->split.folds && !st; f++) {
        size_t ni = fold_traj(c, f, 1, tin), no = fold_traj(c, f, 0, tout);
        for (size_t t = 0; t < S && !st; t++) {
            size_t nri = stage_rows(&c->train, tin, ni, t, rin),
                   nro = stage_rows(&c->train, tout, no, t, rout);
            stage_model m;
            st = fit_stage(c, t, rout, nro, rin, nri, 0, &m, err);
            if (!st) st = predict_stage(c, &m, t, x, rin, nri, c->oof, err);
            mean_rounds[t] += (double)m.xgb.best_rounds / c->split.folds;
            stage_model_free(&m);
            allot_progress_update(&c->pg, ++c->pg_done);
        }
    }
    free(tin);
    free(tout);
    free(rin);
    free(rout);
    return st;
}

/* ---- 5-6. calibration, final models, held-out figures ----------------------------------------------- */

static allot_status final_models(sq_ctx *c, const double *mean_rounds, allot_error *err) {
    size_t S = c->S;
    size_t *rows = malloc((c->train.n ? c->train.n : 1) * sizeof *rows);
    size_t *trows = malloc((c->test.n ? c->test.n : 1) * sizeof *trows);
    c->final = calloc(S, sizeof *c->final);
    c->rounds = calloc(S, sizeof *c->rounds);
    c->test_pred = nan_matrix(c->test.n, S);
    allot_status st = rows && trows && c->final && c->rounds && c->test_pred ? ALLOT_OK : nomem(err);
    for (size_t t = 0; t < S && !st; t++) {
        int r = (int)floor(mean_rounds[t] + 0.5);
        c->rounds[t] = c->o->learner == ALLOT_LEARNER_XGBOOST ? (r < 1 ? 1 : r) : 0;
        size_t n = stage_rows(&c->train, c->train_traj, c->train.n_traj, t, rows);
        st = fit_stage(c, t, rows, n, NULL, 0, c->rounds[t], &c->final[t], err);
        size_t nt = stage_rows(&c->test, c->test_traj, c->test.n_traj, t, trows);
        if (!st && nt)
            st = predict_stage(c, &c->final[t], t, c->lin_test ? c->lin_test : c->test.x, trows, nt,
                               c->test_pred, err);
        allot_progress_update(&c->pg, ++c->pg_done);
    }
    free(rows);
    free(trows);
    return st;
}

/* ---- out of fold against uniform allocation at equal spend ----------------------------------------- */

/* Per query of rows with nt trajectories (R orderings each), the means over its orderings of a
 * per-trajectory value v[traj * stride + k]. */
static void per_query(size_t R, size_t nt, const double *v, size_t stride, size_t k, double *out) {
    for (size_t q = 0; q < nt / R; q++) {
        out[q] = 0;
        for (size_t r = 0; r < R; r++) out[q] += v[(q * R + r) * stride + k] / (double)R;
    }
}

/* The uniform allocations on rows r as a family, each point per query (the means over its
 * orderings) and overall: the ladder's fixed stages and, in a cascade, its later models' stages drawn
 * alone (allot_sq_alone_cost). */
static allot_status uniform_family(const sq_ctx *c, const allot_sq_rows *r, allot_sq_family *f,
                                   allot_error *err) {
    size_t S = c->S, R = (size_t)c->o->orderings, nt = r->n_traj, nq = nt / R, n_alone = 0;
    size_t alone[ALLOT_LADDER_MAX_STAGES];
    for (size_t s = 0; s < S && nt; s++) /* a cascade's later stages drawn alone are uniform settings too */
        if (!isnan(allot_sq_alone_cost(c->ladder, r->cost, s))) alone[n_alone++] = s;
    *f = (allot_sq_family){"uniform", S + n_alone, calloc(S + n_alone, sizeof(allot_sq_point))};
    double *a = malloc((nt ? nt : 1) * sizeof *a);
    allot_status st = f->p && a ? ALLOT_OK : nomem(err);
    for (size_t i = 0; i < f->n && !st; i++) {
        allot_sq_point *p = &f->p[i];
        size_t s = i < S ? i : alone[i - S];
        p->acc_q = malloc((nq ? nq : 1) * sizeof *p->acc_q);
        p->cost_q = malloc((nq ? nq : 1) * sizeof *p->cost_q);
        if (!p->acc_q || !p->cost_q) {
            st = nomem(err);
            break;
        }
        per_query(R, nt, r->acc, S, s, p->acc_q);
        if (i < S) {
            per_query(R, nt, r->cost, S, s, p->cost_q);
        } else {
            for (size_t t = 0; t < nt; t++) a[t] = allot_sq_alone_cost(c->ladder, r->cost + t * S, s);
            per_query(R, nt, a, 1, 0, p->cost_q);
        }
        for (size_t q = 0; q < nq; q++) {
            p->acc += p->acc_q[q] / (double)nq;
            p->cost += p->cost_q[q] / (double)nq;
        }
    }
    free(a);
    if (st) allot_sq_family_free(f);
    return st;
}

/* The replayed figures: out of fold, then held out beside uniform allocation at the same spend (NaN
 * when the policy spends less than the cheapest uniform setting). */
static allot_status figures(sq_ctx *c, allot_error *err) {
    allot_sq_train_report *r = &c->rep;
    allot_sq_replay(c->oof, &c->train, c->train_traj, c->train.n_traj, c->stage_cost, r->lambda, &r->oof_acc,
                    &r->oof_cost, NULL);
    r->test_uniform_acc = NAN;
    if (!c->test.n_traj) return ALLOT_OK;
    allot_sq_replay(c->test_pred, &c->test, c->test_traj, c->test.n_traj, c->stage_cost, r->lambda,
                    &r->test_acc, &r->test_cost, NULL);
    allot_sq_family f;
    size_t nq = c->test.n_traj / (size_t)c->o->orderings;
    double *base = malloc((nq ? nq : 1) * sizeof *base);
    allot_status st = base ? uniform_family(c, &c->test, &f, err) : nomem(err);
    if (!st) {
        char note[96];
        if (!allot_sq_family_at(&f, r->test_cost, nq, base, &r->test_uniform_acc, note, sizeof note))
            r->test_uniform_acc = NAN;
        allot_sq_family_free(&f);
    }
    free(base);
    return st;
}

/*
 * The out-of-fold policy against uniform allocation over the ladder's fixed stages (and, in a cascade,
 * its later models' stages drawn alone) at the same mean
 * spend (the upper hull's mixture, query by query), with a 95% paired bootstrap interval: the figure
 * that says, before any held-out query is touched, whether this policy is worth shipping.
 */
static allot_status oof_versus_uniform(sq_ctx *c, allot_error *err) {
    size_t S = c->S, R = (size_t)c->o->orderings, nt = c->train.n_traj, nq = nt / R;
    allot_sq_family f = {"uniform", 0, NULL};
    size_t *stop = malloc((nt ? nt : 1) * sizeof *stop);
    double *a = malloc((nt ? nt : 1) * sizeof *a), *pa = malloc((nq ? nq : 1) * sizeof *pa);
    double *pc = malloc((nq ? nq : 1) * sizeof *pc), *base = malloc((nq ? nq : 1) * sizeof *base);
    allot_status st = stop && a && pa && pc && base ? uniform_family(c, &c->train, &f, err) : nomem(err);
    double ma, mc;
    if (!st) {
        allot_sq_replay(c->oof, &c->train, c->train_traj, nt, c->stage_cost, c->rep.lambda, &ma, &mc, stop);
        for (size_t t = 0; t < nt; t++) a[t] = c->train.acc[t * S + stop[t]];
        per_query(R, nt, a, 1, 0, pa);
        for (size_t t = 0; t < nt; t++) a[t] = c->train.cost[t * S + stop[t]];
        per_query(R, nt, a, 1, 0, pc);
        char note[96];
        double uni = NAN;
        c->rep.oof_vs_uniform_available = allot_sq_family_at(&f, mc, nq, base, &uni, note, sizeof note);
        c->rep.oof_uniform_acc = uni;
        for (size_t q = 0; q < nq; q++) pa[q] -= base[q];
        if (c->rep.oof_vs_uniform_available)
            allot_bootstrap_mean(pa, nq, 1000, c->o->seed, 0.95, &c->rep.oof_gain, &c->rep.oof_gain_lo,
                                 &c->rep.oof_gain_hi);
    }
    allot_sq_family_free(&f);
    free(stop);
    free(a);
    free(pa);
    free(pc);
    free(base);
    return st;
}

/* ---- per-query outcomes (the default policy selection compares candidates on them) --------------- */

/* Per query of rows r (R orderings each, queries in split order): the means of the realised accuracy
 * and cost at each trajectory's stop stage under pred at price lambda, and (stage_acc: q x S) of each
 * stage's realised accuracy on the same orderings. */
static allot_status outcome_of(const sq_ctx *c, const allot_sq_rows *r, const size_t *traj,
                               const double *pred, double *acc, double *cost, double *stage_acc,
                               allot_error *err) {
    size_t S = c->S, R = (size_t)c->o->orderings, nt = r->n_traj,
           *stop = malloc((nt ? nt : 1) * sizeof *stop);
    double ma, mc;
    if (!stop) return nomem(err);
    allot_sq_replay(pred, r, traj, nt, c->stage_cost, c->rep.lambda, &ma, &mc, stop);
    for (size_t q = 0; q < nt / R; q++) {
        acc[q] = cost[q] = 0;
        for (size_t s = 0; s < S; s++) stage_acc[q * S + s] = 0;
        for (size_t k = 0; k < R; k++) {
            size_t t = q * R + k;
            acc[q] += r->acc[t * S + stop[t]] / (double)R;
            cost[q] += r->cost[t * S + stop[t]] / (double)R;
            for (size_t s = 0; s < S; s++) stage_acc[q * S + s] += r->acc[t * S + s] / (double)R;
        }
    }
    free(stop);
    return ALLOT_OK;
}

static allot_status make_outcome(const sq_ctx *c, allot_train_outcome *o, allot_error *err) {
    size_t nt = c->split.n_train, ns = c->split.n_test;
    memset(o, 0, sizeof *o);
    o->n_train = nt;
    o->n_test = ns;
    o->train_rows = malloc((nt ? nt : 1) * sizeof *o->train_rows);
    o->test_rows = malloc((ns ? ns : 1) * sizeof *o->test_rows);
    o->oof_acc = malloc((nt ? nt : 1) * sizeof *o->oof_acc);
    o->oof_cost = malloc((nt ? nt : 1) * sizeof *o->oof_cost);
    o->test_acc = malloc((ns ? ns : 1) * sizeof *o->test_acc);
    o->test_cost = malloc((ns ? ns : 1) * sizeof *o->test_cost);
    o->oof_tier_acc = malloc((nt ? nt : 1) * c->S * sizeof *o->oof_tier_acc);
    o->test_tier_acc = malloc((ns ? ns : 1) * c->S * sizeof *o->test_tier_acc);
    allot_status st = o->train_rows && o->test_rows && o->oof_acc && o->oof_cost && o->test_acc &&
                              o->test_cost && o->oof_tier_acc && o->test_tier_acc
                          ? ALLOT_OK
                          : nomem(err);
    if (!st) {
        memcpy(o->train_rows, c->split.train_idx, nt * sizeof *o->train_rows);
        memcpy(o->test_rows, c->split.test_idx, ns * sizeof *o->test_rows);
        st = outcome_of(c, &c->train, c->train_traj, c->oof, o->oof_acc, o->oof_cost, o->oof_tier_acc, err);
    }
    if (!st && ns)
        st = outcome_of(c, &c->test, c->test_traj, c->test_pred, o->test_acc, o->test_cost, o->test_tier_acc,
                        err);
    if (st) allot_train_outcome_free(o);
    return st;
}

/* ---- 7. the bundle ------------------------------------------------------------------------------------- */

/* The "sequential" object: the ladder's spec, plus the input standardisation for LIBLINEAR. */
static char *sequential_json(const sq_ctx *c) {
    size_t len = allot_ladder_spec_json(c->ladder, NULL, 0);
    char *spec = malloc(len + 1);
    if (!spec) return NULL;
    allot_ladder_spec_json(c->ladder, spec, len + 1);
    cJSON *o = cJSON_Parse(spec);
    free(spec);
    if (!o) return NULL;
    if (c->center) {
        cJSON *sd = cJSON_AddObjectToObject(o, "standardization");
        cJSON_AddItemToObject(sd, "center", cJSON_CreateDoubleArray(c->center, (int)c->train.d));
        cJSON_AddItemToObject(sd, "scale", cJSON_CreateDoubleArray(c->scale, (int)c->train.d));
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static char *provenance_json(const sq_ctx *c, const char *sha) {
    const allot_sq_train_options *o = c->o;
    const allot_sq_train_report *r = &c->rep;
    const char *base = strrchr(c->runs_path, '/');
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "tool", "allot train --stages");
    cJSON_AddStringToObject(p, "input", base ? base + 1 : c->runs_path);
    cJSON_AddStringToObject(p, "input_sha256", sha);
    cJSON_AddStringToObject(p, "stages", c->stages);
    cJSON_AddNumberToObject(p, "budget", o->budget);
    allot_seed_add_to_object(p, "seed", o->seed);
    cJSON_AddStringToObject(p, "learner", o->learner == ALLOT_LEARNER_XGBOOST ? "xgboost" : "liblinear");
    cJSON_AddStringToObject(p, "target", "sequential");
    cJSON_AddNumberToObject(p, "orderings", o->orderings);
    cJSON_AddNumberToObject(p, "continuations", o->continuations);
    cJSON *lp = cJSON_AddObjectToObject(p, "learner_params");
    if (o->learner == ALLOT_LEARNER_XGBOOST) {
        cJSON_AddStringToObject(lp, "objective", "reg:logistic");
        cJSON_AddItemToObject(lp, "rounds_per_stage", cJSON_CreateIntArray(c->rounds, (int)c->S));
        cJSON_AddNumberToObject(lp, "max_rounds", o->xgb.rounds);
        cJSON_AddNumberToObject(lp, "max_depth", o->xgb.max_depth);
        cJSON_AddNumberToObject(lp, "eta", o->xgb.eta);
        cJSON_AddNumberToObject(lp, "subsample", o->xgb.subsample);
        cJSON_AddNumberToObject(lp, "early_stopping", o->xgb.early_stopping);
    } else {
        cJSON_AddStringToObject(lp, "solver", "L2R_L2LOSS_SVR");
        cJSON_AddNumberToObject(lp, "C", o->linear.C);
        cJSON_AddNumberToObject(lp, "bias", o->linear.bias);
    }
    cJSON *sp = cJSON_AddObjectToObject(p, "split");
    cJSON_AddNumberToObject(sp, "test_fraction", c->split.test_fraction);
    if (o->test_parts >= 2) {
        cJSON_AddNumberToObject(sp, "test_part", o->test_part);
        cJSON_AddNumberToObject(sp, "test_parts", o->test_parts);
    }
    cJSON_AddNumberToObject(sp, "folds", o->folds);
    allot_seed_add_to_object(sp, "seed", o->seed);
    cJSON_AddNumberToObject(sp, "n_train", (double)c->split.n_train);
    cJSON_AddNumberToObject(sp, "n_test", (double)c->split.n_test);
    cJSON *ids = cJSON_AddArrayToObject(sp, "test_ids");
    for (size_t j = 0; j < c->split.n_test; j++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(c->data.q[c->split.test_idx[j]].id));
    cJSON *m = cJSON_AddObjectToObject(p, "metrics");
    cJSON_AddNumberToObject(m, "lambda", r->lambda);
    cJSON_AddNumberToObject(m, "oof_acc", r->oof_acc);
    cJSON_AddNumberToObject(m, "oof_cost", r->oof_cost);
    if (r->oof_vs_uniform_available) {
        cJSON *u = cJSON_AddObjectToObject(m, "oof_vs_uniform_at_equal_spend");
        cJSON_AddNumberToObject(u, "uniform_acc", r->oof_uniform_acc);
        cJSON_AddNumberToObject(u, "gain", r->oof_gain);
        cJSON_AddItemToObject(u, "ci95",
                              cJSON_CreateDoubleArray((double[]){r->oof_gain_lo, r->oof_gain_hi}, 2));
    }
    if (c->test.n_traj) {
        cJSON_AddNumberToObject(m, "test_acc", r->test_acc);
        cJSON_AddNumberToObject(m, "test_cost", r->test_cost);
        cJSON_AddNumberToObject(m, "test_uniform_acc_at_cost", r->test_uniform_acc);
    }
    char *text = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    return text;
}

/* 7. the bundle's text (written only once the runtime reproduced it, step 8) */
static allot_status render_bundle(sq_ctx *c, char **text, allot_error *err) {
    size_t S = c->S;
    int is_xgb = c->o->learner == ALLOT_LEARNER_XGBOOST;
    char **texts = calloc(S, sizeof *texts), **names = calloc(S, sizeof *names), *spec = NULL, *seq = NULL,
         *prov = NULL, sha[65] = "";
    int *classes = calloc(S, sizeof *classes);
    allot_status st = texts && names && classes ? ALLOT_OK : nomem(err);
    for (size_t t = 0; t < S && !st; t++) {
        classes[t] = (int)t;
        allot_stage_info si;
        allot_ladder_stage(c->ladder, t, &si, NULL);
        names[t] = (char *)si.name;
        st = is_xgb ? allot_xgb_save_json(&c->final[t].xgb, &texts[t], NULL, err)
                    : allot_linear_model_text(&c->final[t].lin, &texts[t], err);
    }
    if (!st) {
        size_t len = allot_featurizer_spec_json(c->fz, NULL, 0);
        if ((spec = malloc(len + 1))) allot_featurizer_spec_json(c->fz, spec, len + 1);
        seq = sequential_json(c);
        st = allot_learn_file_sha256(c->runs_path, sha, err);
        prov = st ? NULL : provenance_json(c, sha);
        if (!st && (!spec || !seq || !prov)) st = nomem(err);
    }
    if (!st) {
        allot_bundle_parts parts = {
            .n_tiers = S,
            .tier_names = (const char *const *)names,
            .tier_costs = c->stage_cost,
            .features_spec_json = spec,
            .kind = is_xgb ? "xgboost" : "liblinear",
            .n_classes = (int)S,
            .class_tier = classes,
            .input = "state",
            .target = "value",
            .n_models = S,
            .xgboost_per_tier = is_xgb ? (const char *const *)texts : NULL,
            .liblinear_per_tier = is_xgb ? NULL : (const char *const *)texts,
            .rule = "value",
            .mu = c->rep.lambda,
            .provenance_json = prov,
            .sequential_json = seq,
        };
        st = allot_bundle_render(&parts, text, err);
    }
    for (size_t t = 0; texts && t < S; t++) free(texts[t]);
    free(texts);
    free(names);
    free(classes);
    free(spec);
    free(seq);
    free(prov);
    return st;
}

/* ---- 8. the runtime must reproduce every held-out step -------------------------------------------- */

typedef struct parity_work {
    allot_policy *p;
    allot_workspace *ws;
    float *in;
    double *vals, *extras;
    allot_sample_view *views;
    const allot_sq_sample **seq;
    uint32_t *perm;
} parity_work;

static void parity_free(parity_work *w) {
    allot_workspace_free(w->ws);
    allot_policy_free(w->p);
    free(w->in);
    free(w->vals);
    free(w->extras);
    free(w->views);
    free(w->seq);
    free(w->perm);
}

/* Compare one held-out step (trajectory j, stage s) with the runtime's. */
static allot_status parity_step(const sq_ctx *c, parity_work *w, const allot_sq_query *q, size_t j, size_t s,
                                allot_error *err) {
    size_t S = c->S, row = j * S + s, d = c->test.d;
    allot_seq_query sq = ALLOT_SEQ_QUERY_INIT;
    size_t ne = allot_featurizer_n_extra(allot_policy_featurizer(w->p));
    sq.query = (allot_query_input){.prompt = q->prompt,
                                   .prompt_len = q->prompt ? strlen(q->prompt) : 0,
                                   .extras = ne ? w->extras : NULL,
                                   .n_extras = ne};
    sq.samples = w->views;
    sq.n_samples = allot_sq_stage_samples(c->ladder, s);
    allot_status st = allot_policy_step_inputs(w->p, w->ws, &sq, w->in, d, w->vals, S, err);
    if (st) return st;
    for (size_t k = 0; k < d; k++)
        if (memcmp(&w->in[k], &c->test.x[row * d + k], sizeof *w->in))
            return allot_error_set(
                err, ALLOT_E_CHECK,
                "runtime parity: query '%s' stage %zu: input %zu is %.9g in the runtime, %.9g in "
                "the trainer",
                q->id, s, k, (double)w->in[k], (double)c->test.x[row * d + k]);
    for (size_t t = s; t < S; t++)
        if (memcmp(&w->vals[t], &c->test_pred[row * S + t], sizeof(double)))
            return allot_error_set(
                err, ALLOT_E_CHECK,
                "runtime parity: query '%s' stage %zu: stage %zu's prediction %.17g differs from "
                "the trainer's %.17g",
                q->id, s, t, w->vals[t], c->test_pred[row * S + t]);
    allot_step step = ALLOT_STEP_INIT;
    if ((st = allot_policy_step(w->p, w->ws, &sq, NULL, &step, err))) return st;
    size_t want = allot_sq_best_stage(c->test_pred + row * S, s, S, c->stage_cost, c->rep.lambda);
    if (step.stop != (want == s || s + 1 == S))
        return allot_error_set(err, ALLOT_E_CHECK,
                               "runtime parity: query '%s' stage %zu: the decision differs", q->id, s);
    return ALLOT_OK;
}

static allot_status runtime_parity(sq_ctx *c, const char *text, allot_error *err) {
    if (!c->test.n_traj) return ALLOT_OK;
    parity_work w;
    memset(&w, 0, sizeof w);
    size_t ms = allot_ladder_max_samples(c->ladder), pool = 0, S = c->S;
    for (size_t i = 0; i < c->data.n; i++)
        pool = c->data.q[i].off[c->data.n_models] > pool ? c->data.q[i].off[c->data.n_models] : pool;
    allot_status st = allot_policy_load_memory(text, strlen(text), &w.p, err);
    if (!st) st = allot_workspace_create(w.p, &w.ws, err);
    if (!st) {
        size_t ne = allot_featurizer_n_extra(allot_policy_featurizer(w.p));
        w.in = malloc(c->test.d * sizeof *w.in);
        w.vals = malloc(S * sizeof *w.vals);
        w.extras = malloc((ne ? ne : 1) * sizeof *w.extras);
        w.views = malloc(ms * sizeof *w.views);
        w.seq = malloc(ms * sizeof *w.seq);
        w.perm = malloc((pool ? pool : 1) * sizeof *w.perm);
        if (!w.in || !w.vals || !w.extras || !w.views || !w.seq || !w.perm) st = nomem(err);
    }
    size_t R = (size_t)c->o->orderings;
    for (size_t j = 0; j < c->test.n_traj && !st; j++) {
        const allot_sq_query *q = &c->data.q[c->test.traj_query[j]];
        const allot_featurizer *f = allot_policy_featurizer(w.p);
        if (allot_featurizer_n_extra(f))
            st = allot_featurizer_extras_from_record(f, q->record, strlen(q->record), w.extras, err);
        allot_sq_ordering(c->ladder, q, c->o->seed, (uint32_t)(j % R), w.perm, w.views, w.seq);
        for (size_t s = 0; s < S && !st; s++) st = parity_step(c, &w, q, j, s, err);
        if (!st) c->rep.parity_steps += S;
    }
    c->rep.runtime_parity = !st && c->test.n_traj > 0;
    parity_free(&w);
    return st;
}

/* ---- the orchestrator ------------------------------------------------------------------------------- */

static allot_status check_options(const allot_sq_train_options *o, allot_error *err) {
    if (!(o->budget >= 0) || !isfinite(o->budget))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--budget must be a finite number >= 0");
    if (o->orderings < 1 || o->orderings > 1024 || o->continuations < 1 || o->continuations > 4096)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "--orderings must be in [1, 1024], --continuations in [1, 4096]");
    if (o->learner == ALLOT_LEARNER_LIBLINEAR && !(o->linear.C > 0))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--C must be > 0 for a sequential LIBLINEAR policy");
    return ALLOT_OK;
}

allot_status allot_sq_train(const char *runs_path, const char *stages, const allot_sq_train_options *o,
                            const char *out_path, allot_sq_train_report *report, allot_error *err) {
    return allot_sq_train_ex(runs_path, stages, o, out_path, report, NULL, err);
}

allot_status allot_sq_train_ex(const char *runs_path, const char *stages, const allot_sq_train_options *o,
                               const char *out_path, allot_sq_train_report *report,
                               allot_train_outcome *outcome, allot_error *err) {
    double t0 = allot_now_seconds();
    sq_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.runs_path = runs_path;
    c.stages = stages;
    double mean_rounds[ALLOT_LADDER_MAX_STAGES] = {0};
    allot_status st = check_options(o, err);
    if (!st) st = load_inputs(&c, err);
    if (!st) st = featurizer_and_split(&c, err);
    if (!st) st = build_rows(&c, err);
    if (!st) st = linear_inputs(&c, err);
    if (!st) {
        allot_progress_start(&c.pg, "train sequential (folds x stages, then final)",
                             (size_t)c.split.folds * c.S + c.S, o->progress);
        st = cross_validate(&c, mean_rounds, err);
    }
    if (!st)
        c.rep.lambda =
            allot_sq_calibrate(c.oof, &c.train, c.train_traj, c.train.n_traj, c.stage_cost, o->budget);
    if (!st) st = oof_versus_uniform(&c, err);
    if (!st) st = final_models(&c, mean_rounds, err);
    allot_progress_finish(&c.pg, c.pg_done);
    char *text = NULL;
    if (!st) st = figures(&c, err);
    if (!st) st = render_bundle(&c, &text, err);
    if (!st) st = runtime_parity(&c, text, err);
    if (!st) st = allot_atomic_write(out_path, text, strlen(text), err);
    free(text);
    if (!st && outcome) st = make_outcome(&c, outcome, err);
    c.rep.n_queries = c.data.n;
    c.rep.n_train = c.split.n_train;
    c.rep.n_test = c.split.n_test;
    c.rep.n_stages = c.S;
    c.rep.seconds = allot_now_seconds() - t0;
    if (report) *report = c.rep;
    ctx_free(&c);
    return st;
}
