/*
 * replay_sequential.c - a sequential policy bundle (docs/sequential.md) replayed on a batch.
 *
 * On a replay order (view), each query's trajectory is its samples in the view's order: at every stage
 * of the bundle's ladder the runtime gives the step values (allot_policy_step_inputs) from the samples
 * the stage holds. The price is re-fitted to the batch so that the mean spend is within the budget
 * (spend only, no label: what the online budget controller converges to); each query's stop stage
 * under the step rule gives its number of samples, which the dealer then deals within the budget.
 * A query whose pool is smaller than a stage stops at its last complete stage.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_sequential.h"
#include "replay_internal.h"
#include "seq_train.h"

struct allot_replay_seq {
    allot_policy *p;
    allot_workspace *ws;
    size_t S;
    size_t *k;          /* S: samples at each stage */
    double *stage_cost; /* S: the bundle's stage costs */
};

void allot_replay_seq_free(allot_replay_seq *sq) {
    if (!sq) return;
    allot_workspace_free(sq->ws);
    allot_policy_free(sq->p);
    free(sq->k);
    free(sq->stage_cost);
    free(sq);
}

allot_status allot_replay_seq_load(allot_policy *p, const allot_replay_pools *pools, const char *path,
                                   allot_replay_seq **out, allot_error *err) {
    *out = NULL;
    const allot_ladder *l = allot_policy_ladder(p);
    const char *lm = allot_ladder_model_name(l, 0), *pm = pools->model ? pools->model : "";
    allot_status st = ALLOT_OK;
    if (allot_ladder_n_models(l) != 1)
        st = allot_error_set(
            err, ALLOT_E_UNSUPPORTED,
            "%s: a cascade over %zu models: replay deals one model's samples (evaluate it with "
            "allot audit RUNS --policy %s)",
            path, allot_ladder_n_models(l), path);
    else if (lm[0] && strcmp(lm, pm))
        st = allot_error_set(err, ALLOT_E_UNSUPPORTED,
                             "%s: its ladder draws from model '%s', the replay deals '%s'", path, lm, pm);
    for (size_t i = 0; !st && i < pools->n; i++)
        if (!pools->q[i].answers)
            st = allot_error_set(
                err, ALLOT_E_UNSUPPORTED,
                "replay: query '%s' carries no answer strings (a sequential policy reads them)",
                pools->q[i].id);
    allot_replay_seq *sq = st ? NULL : calloc(1, sizeof *sq);
    if (!st && !sq) st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    if (!st) {
        sq->S = allot_ladder_n_stages(l);
        sq->k = malloc(sq->S * sizeof *sq->k);
        sq->stage_cost = malloc(sq->S * sizeof *sq->stage_cost);
        if (!sq->k || !sq->stage_cost) st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    }
    for (size_t s = 0; !st && s < sq->S; s++) {
        allot_stage_info si;
        allot_ladder_stage(l, s, &si, NULL);
        sq->k[s] = si.k;
        sq->stage_cost[s] = allot_policy_tier_cost(p, s);
    }
    if (!st) st = allot_workspace_create(p, &sq->ws, err);
    if (st) {
        if (sq) sq->p = NULL; /* the caller still owns p on failure */
        allot_replay_seq_free(sq);
        return st;
    }
    sq->p = p;
    *out = sq;
    return ALLOT_OK;
}

/* The step values of query i at every stage it completes (NaN gains where its pool ends), and the
 * prefix spends. */
static allot_status query_values(const allot_replay_seq *sq, const allot_replay_view *v, size_t i,
                                 allot_replay_unit unit, allot_sample_view *views, double *extras,
                                 double *pred, double *cost, allot_error *err) {
    const allot_replay_query *q = &v->pools->q[i];
    size_t S = sq->S, n = v->off[i + 1] - v->off[i];
    const allot_featurizer *f = allot_policy_featurizer(sq->p);
    size_t ne = allot_featurizer_n_extra(f);
    allot_status st = ALLOT_OK;
    if (ne) {
        for (size_t e = 0; e < ne; e++) extras[e] = NAN;
        if (q->record) st = allot_featurizer_extras_from_record(f, q->record, strlen(q->record), extras, err);
    }
    for (size_t j = 0; !st && j < n && j < sq->k[S - 1]; j++) {
        const allot_replay_sample *x = &v->s[v->off[i] + j];
        views[j] = (allot_sample_view){x->answer >= 0 ? q->answers[x->answer] : NULL,
                                       x->answer >= 0 ? strlen(q->answers[x->answer]) : 0,
                                       x->score,
                                       x->cost,
                                       0,
                                       0};
    }
    allot_seq_query in = ALLOT_SEQ_QUERY_INIT;
    in.query.prompt = q->prompt;
    in.query.prompt_len = q->prompt ? strlen(q->prompt) : 0;
    in.query.extras = ne ? extras : NULL;
    in.query.n_extras = ne;
    in.samples = views;
    for (size_t s = 0; !st && s < S; s++) {
        double *row = pred + s * S;
        for (size_t t = 0; t < S; t++) row[t] = NAN;
        cost[s] = allot_replay_prefix_cost(v, i, sq->k[s] < n ? sq->k[s] : n, unit);
        if (sq->k[s] > n) continue; /* beyond the pool: NaN gains, so the trajectory stops before */
        in.n_samples = sq->k[s];
        st = allot_policy_step_inputs(sq->p, sq->ws, &in, NULL, 0, row, S, err);
        for (size_t t = s + 1; !st && t < S; t++)
            if (sq->k[t] > n) row[t] = NAN;
    }
    return st;
}

size_t allot_replay_seq_plan(const allot_replay_seq *sq, const allot_replay_view *v, double budget,
                             allot_replay_unit unit, size_t *k_out, double *lambda_out, allot_error *err) {
    size_t n = v->n, S = sq->S;
    allot_sq_rows rows = {.n = n * S, .S = S, .n_traj = n};
    double *pred = calloc((n ? n : 1) * S * S, sizeof *pred);
    rows.cost = malloc((n ? n : 1) * S * sizeof *rows.cost);
    rows.acc = calloc((n ? n : 1) * S, sizeof *rows.acc);
    size_t *traj = calloc(n ? n : 1, sizeof *traj), *stop = calloc(n ? n : 1, sizeof *stop);
    allot_sample_view *views = malloc((sq->k[S - 1] ? sq->k[S - 1] : 1) * sizeof *views);
    double *extras = malloc((ALLOT_FEATURES_MAX_EXTRA + 1) * sizeof *extras);
    allot_status st = pred && rows.cost && rows.acc && traj && stop && views && extras
                          ? ALLOT_OK
                          : allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    for (size_t i = 0; !st && i < n; i++) {
        traj[i] = i;
        st = query_values(sq, v, i, unit, views, extras, pred + i * S * S, rows.cost + i * S, err);
    }
    size_t done = 0;
    if (!st) {
        double lam = allot_sq_calibrate(pred, &rows, traj, n, sq->stage_cost, budget), acc, cost;
        allot_sq_replay(pred, &rows, traj, n, sq->stage_cost, lam, &acc, &cost, stop);
        for (size_t i = 0; i < n; i++) {
            size_t pool = v->off[i + 1] - v->off[i];
            k_out[i] = sq->k[stop[i]] < pool ? sq->k[stop[i]] : pool;
        }
        *lambda_out = lam;
        done = n;
    }
    free(pred);
    free(rows.cost);
    free(rows.acc);
    free(traj);
    free(stop);
    free(views);
    free(extras);
    return done;
}
