/* seq_eval.c - evaluate a sequential policy on labelled runs (see seq_eval.h). */
#include "seq_eval.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_budget.h"
#include "allot/allot_sequential.h"
#include "bootstrap.h"
#include "learn.h"
#include "oracle.h"
#include "progress.h"
#include "rng.h"
#include "seq_train.h"
#include "util.h"

void allot_sq_eval_options_default(allot_sq_eval_options *o) {
    memset(o, 0, sizeof *o);
    o->budget = NAN;
    o->orderings = 32;
    o->seed = 1;
    o->bootstrap = 1000;
}

static const double ac_grid[] = {0.5,  0.6,  0.7,  0.75, 0.8,   0.85,  0.9,    0.925,
                                 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 0.9999, 1.0};
static const int es_grid[] = {2, 3, 4, 5, 6, 8, 10};
#define N_AC (sizeof ac_grid / sizeof *ac_grid)
#define N_ES (sizeof es_grid / sizeof *es_grid)

/* The evaluation orderings' seed: a stream of their own, so that they differ from training's. */
static uint64_t eval_seed(uint64_t seed) {
    return seed ^ 0x5EC0E7A1C0FFEE11ull;
}

/* ---- the evaluation context ---------------------------------------------------------------------- */

/* One bundle and the queries it evaluates (held out from its training). */
typedef struct ev_bundle {
    const char *path;
    allot_policy *p;
    allot_workspace *ws;
    cJSON *json;        /* the bundle document (provenance) */
    double *stage_cost; /* the bundle's stage costs */
    double lambda_shipped, lambda_refit;
    size_t q0, q1; /* its queries: c->queries[q0 .. q1) */
} ev_bundle;

typedef struct ev_ctx {
    const allot_sq_eval_options *o;
    ev_bundle *b;
    size_t nb;
    const allot_ladder *l; /* the first bundle's (every bundle's ladder must be the same) */
    allot_sq_data data;
    size_t *queries, nq; /* evaluated queries (data indices), bundle by bundle */
    size_t S, R, K;      /* stages, orderings, samples of a one-model ladder (AC / early-stop), 0 if n/a */
    allot_sq_rows rows;  /* acc, cost per (trajectory, stage); trajectory j * R + r of query j */
    double *pred;        /* n_traj * S x S: predicted accuracies at each step */
    double *ac_acc, *ac_cost; /* n_traj x N_AC */
    double *es_acc, *es_cost; /* n_traj x N_ES */
    size_t *traj_all;
} ev_ctx;

static void ev_free(ev_ctx *c) {
    for (size_t i = 0; c->b && i < c->nb; i++) {
        allot_workspace_free(c->b[i].ws);
        allot_policy_free(c->b[i].p);
        cJSON_Delete(c->b[i].json);
        free(c->b[i].stage_cost);
    }
    free(c->b);
    allot_sq_data_free(&c->data);
    free(c->queries);
    allot_sq_rows_free(&c->rows);
    free(c->pred);
    free(c->ac_acc);
    free(c->ac_cost);
    free(c->es_acc);
    free(c->es_cost);
    free(c->traj_all);
}

static allot_status nomem(allot_error *err) {
    return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
}

/* 1. a bundle (runtime policy + its JSON for the provenance) */
static allot_status load_bundle(ev_bundle *b, const char *path, allot_error *err) {
    char *text;
    size_t len;
    b->path = path;
    allot_status st = allot_read_file(path, ALLOT_POLICY_MAX_FILE_BYTES, &text, &len, err);
    if (st) return st;
    st = allot_policy_load_memory(text, len, &b->p, err);
    if (st) {
        char msg[ALLOT_ERROR_MSG_SIZE];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        st = allot_error_set(err, st, "%s: %s", path, msg);
    }
    if (!st && !allot_policy_is_sequential(b->p))
        st = allot_error_set(err, ALLOT_E_INVALID, "%s: not a sequential policy (no \"sequential\" section)",
                             path);
    if (!st) st = allot_workspace_create(b->p, &b->ws, err);
    if (!st && !(b->json = cJSON_ParseWithLength(text, len))) st = nomem(err);
    free(text);
    if (st) return st;
    size_t S = allot_ladder_n_stages(allot_policy_ladder(b->p));
    if (!(b->stage_cost = malloc(S * sizeof *b->stage_cost))) return nomem(err);
    for (size_t s = 0; s < S; s++) b->stage_cost[s] = allot_policy_tier_cost(b->p, s);
    b->lambda_shipped = allot_policy_mu(b->p);
    return ALLOT_OK;
}

/* Every bundle's ladder must be the first one's (pooled figures compare like with like). */
static allot_status load_bundles(ev_ctx *c, const char *const *paths, size_t nb, allot_error *err) {
    if (!(c->b = calloc(nb, sizeof *c->b))) return nomem(err);
    c->nb = nb;
    for (size_t i = 0; i < nb; i++) {
        allot_status st = load_bundle(&c->b[i], paths[i], err);
        if (st) return st;
        char a[4096], b[4096];
        allot_ladder_spec_json(allot_policy_ladder(c->b[0].p), a, sizeof a);
        allot_ladder_spec_json(allot_policy_ladder(c->b[i].p), b, sizeof b);
        if (strcmp(a, b))
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s: its stages differ from %s's: pooled figures need one ladder",
                                   paths[i], paths[0]);
    }
    c->l = allot_policy_ladder(c->b[0].p);
    c->S = allot_ladder_n_stages(c->l);
    /* AC and early stopping draw one model's samples one by one: one-model majority ladders only */
    allot_stage_info si;
    allot_ladder_stage(c->l, c->S - 1, &si, NULL);
    c->K = allot_ladder_n_models(c->l) == 1 && si.rule == ALLOT_STAGE_MAJORITY ? si.k : 0;
    return ALLOT_OK;
}

static const cJSON *prov_item(const ev_bundle *b, const char *k1, const char *k2) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(b->json, "provenance");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, k1);
    return k2 ? cJSON_GetObjectItemCaseSensitive(v, k2) : v;
}

/* 2. the queries: each bundle's held-out ids on its own training file (same content); on another file
 *    every query (one bundle only). A query held out by two bundles is an error. */
static allot_status select_queries(ev_ctx *c, const char *runs_path, allot_sq_eval *e, allot_error *err) {
    char sha[65];
    allot_status st = allot_learn_file_sha256(runs_path, sha, err);
    if (st) return st;
    c->queries = malloc((c->data.n * c->nb + 1) * sizeof *c->queries);
    unsigned char *taken = calloc(c->data.n + 1, 1);
    if (!c->queries || !taken) {
        free(taken);
        return nomem(err);
    }
    e->own_split = 1;
    for (size_t k = 0; k < c->nb && !st; k++) {
        ev_bundle *b = &c->b[k];
        const cJSON *want = prov_item(b, "input_sha256", NULL), *ids = prov_item(b, "split", "test_ids");
        int own = !c->o->all_queries && cJSON_IsString(want) && !strcmp(want->valuestring, sha);
        if (!own && c->nb > 1) {
            st = allot_error_set(
                err, ALLOT_E_INVALID,
                "%s: was not trained on %s (or --all-queries): several bundles are pooled over their "
                "held-out queries of their training file",
                b->path, runs_path);
            break;
        }
        e->own_split &= own;
        b->q0 = c->nq;
        for (size_t i = 0; i < c->data.n && !st; i++) {
            int take = !own;
            const cJSON *id;
            cJSON_ArrayForEach(id, ids) if (own && cJSON_IsString(id) &&
                                            !strcmp(id->valuestring, c->data.q[i].id)) take = 1;
            if (!take) continue;
            if (taken[i])
                st = allot_error_set(err, ALLOT_E_INVALID,
                                     "query '%s' is held out by two bundles: pooled figures need "
                                     "disjoint held-out sets",
                                     c->data.q[i].id);
            taken[i] = 1;
            c->queries[c->nq++] = i;
        }
        b->q1 = c->nq;
    }
    free(taken);
    if (!st && !c->nq)
        st = allot_error_set(err, ALLOT_E_INVALID,
                             "%s: no query to evaluate (the bundles hold out none of them)", runs_path);
    return st;
}

/* ---- 3. replaying every ordering ------------------------------------------------------------------ */

/* Majority accuracy (ties split, null never wins) of each prefix n = 1..K of one model's draws, the
 * prefix costs, and AC's posterior after each prefix. cnt: n_answers scratch. */
static void prefix_curves(const allot_sq_query *q, const allot_sq_sample *const *seq, size_t K, double *cnt,
                          double *acc, double *cost, double *post) {
    for (size_t a = 0; a < q->n_answers; a++) cnt[a] = 0;
    double spent = 0;
    for (size_t n = 1; n <= K; n++) {
        const allot_sq_sample *x = seq[n - 1];
        spent += x->cost;
        if (x->answer >= 0) cnt[x->answer] += 1;
        double top = 0, second = 0;
        size_t ties = 0, right = 0;
        for (size_t a = 0; a < q->n_answers; a++) {
            if (cnt[a] > top) {
                second = top;
                top = cnt[a];
            } else if (cnt[a] > second) {
                second = cnt[a];
            }
        }
        for (size_t i = 0; top > 0 && i < n; i++) { /* each tied leader once: scan the draws */
            const allot_sq_sample *y = seq[i];
            if (y->answer < 0 || cnt[y->answer] != top) continue;
            ties++;
            right += y->correct != 0;
            cnt[y->answer] = -cnt[y->answer]; /* mark visited */
        }
        for (size_t i = 0; i < n; i++)
            if (seq[i]->answer >= 0 && cnt[seq[i]->answer] < 0) cnt[seq[i]->answer] = -cnt[seq[i]->answer];
        acc[n] = ties ? (double)right / (double)ties : 0.0;
        cost[n] = spent;
        post[n] = allot_beta_stop_prob((uint32_t)top, (uint32_t)second);
    }
}

/* AC at each threshold and early stopping at each window, on one ordering's prefixes. */
static void stopping_rules(const ev_ctx *c, size_t traj, const allot_sq_sample *const *seq, const double *acc,
                           const double *cost, const double *post) {
    size_t K = c->K;
    for (size_t g = 0; g < N_AC; g++) {
        size_t n = 1;
        while (n < K && post[n] < ac_grid[g]) n++;
        c->ac_acc[traj * N_AC + g] = acc[n];
        c->ac_cost[traj * N_AC + g] = cost[n];
    }
    for (size_t g = 0; g < N_ES; g++) {
        size_t w = (size_t)es_grid[g], n = w < K ? w : K;
        for (;;) {
            int same = seq[n - 1]->answer >= 0;
            for (size_t i = n - (w < n ? w : n); same && i + 1 < n; i++)
                same = seq[i]->answer == seq[n - 1]->answer;
            if (same || n == K) break;
            n = n + w < K ? n + w : K;
        }
        c->es_acc[traj * N_ES + g] = acc[n];
        c->es_cost[traj * N_ES + g] = cost[n];
    }
}

typedef struct replay_work {
    allot_sample_view *views;
    const allot_sq_sample **seq;
    uint32_t *perm;
    double *extras, *cnt, *pacc, *pcost, *post;
} replay_work;

static void replay_work_free(replay_work *w) {
    free(w->views);
    free(w->seq);
    free(w->perm);
    free(w->extras);
    free(w->cnt);
    free(w->pacc);
    free(w->pcost);
    free(w->post);
}

/* The predictions of every stage of one ordering through the runtime, and (at the shipped price)
 * the runtime's own step decisions checked against the replay rule. */
static allot_status replay_ordering(ev_ctx *c, const ev_bundle *b, const allot_sq_query *q, size_t traj,
                                    replay_work *w, size_t *parity, allot_error *err) {
    size_t S = c->S, ne = allot_featurizer_n_extra(allot_policy_featurizer(b->p));
    allot_seq_query sq = ALLOT_SEQ_QUERY_INIT;
    sq.query = (allot_query_input){.prompt = q->prompt,
                                   .prompt_len = q->prompt ? strlen(q->prompt) : 0,
                                   .extras = ne ? w->extras : NULL,
                                   .n_extras = ne};
    sq.samples = w->views;
    int stopped = 0;
    for (size_t s = 0; s < S; s++) {
        size_t row = traj * S + s;
        sq.n_samples = allot_sq_stage_samples(c->l, s);
        allot_status st = allot_policy_step_inputs(b->p, b->ws, &sq, NULL, 0, c->pred + row * S, S, err);
        if (st) return st;
        double cost = 0;
        for (size_t i = 0; i < sq.n_samples; i++) cost += w->seq[i]->cost;
        c->rows.cost[row] = cost;
        c->rows.acc[row] = allot_sq_stage_accuracy(c->l, s, q, w->seq, sq.n_samples);
        if (stopped) continue;
        allot_step step = ALLOT_STEP_INIT;
        if ((st = allot_policy_step(b->p, b->ws, &sq, NULL, &step, err))) return st;
        size_t best = allot_sq_best_stage(c->pred + row * S, s, S, b->stage_cost, b->lambda_shipped);
        if (step.stop != (best == s || s + 1 == S))
            return allot_error_set(err, ALLOT_E_CHECK,
                                   "query '%s' stage %zu: the runtime's decision differs from the replay's",
                                   q->id, s);
        (*parity)++;
        stopped = step.stop;
    }
    return ALLOT_OK;
}

static allot_status replay_all(ev_ctx *c, size_t *parity, allot_error *err) {
    size_t S = c->S, R = c->R, nt = c->nq * R, ms = allot_ladder_max_samples(c->l), pool = 0;
    for (size_t i = 0; i < c->data.n; i++)
        pool = c->data.q[i].off[c->data.n_models] > pool ? c->data.q[i].off[c->data.n_models] : pool;
    c->rows.S = S;
    c->rows.n_traj = nt;
    c->rows.n = nt * S;
    c->rows.acc = malloc((c->rows.n ? c->rows.n : 1) * sizeof *c->rows.acc);
    c->rows.cost = malloc((c->rows.n ? c->rows.n : 1) * sizeof *c->rows.cost);
    c->pred = malloc((c->rows.n ? c->rows.n : 1) * S * sizeof *c->pred);
    c->ac_acc = malloc((nt ? nt : 1) * N_AC * sizeof *c->ac_acc);
    c->ac_cost = malloc((nt ? nt : 1) * N_AC * sizeof *c->ac_cost);
    c->es_acc = malloc((nt ? nt : 1) * N_ES * sizeof *c->es_acc);
    c->es_cost = malloc((nt ? nt : 1) * N_ES * sizeof *c->es_cost);
    c->traj_all = malloc((nt ? nt : 1) * sizeof *c->traj_all);
    replay_work w = {malloc(ms * sizeof *w.views),
                     malloc(ms * sizeof *w.seq),
                     malloc((pool ? pool : 1) * sizeof *w.perm),
                     malloc((ALLOT_FEATURES_MAX_EXTRA + 1) * sizeof *w.extras),
                     NULL,
                     malloc((ms + 1) * sizeof *w.pacc),
                     malloc((ms + 1) * sizeof *w.pcost),
                     malloc((ms + 1) * sizeof *w.post)};
    allot_status st = c->rows.acc && c->rows.cost && c->pred && c->ac_acc && c->ac_cost && c->es_acc &&
                              c->es_cost && c->traj_all && w.views && w.seq && w.perm && w.extras && w.pacc &&
                              w.pcost && w.post
                          ? ALLOT_OK
                          : nomem(err);
    allot_progress pg;
    allot_progress_start(&pg, "evaluate (queries)", c->nq, c->o->progress);
    for (size_t k = 0; k < c->nb && !st; k++) {
        const ev_bundle *b = &c->b[k];
        const allot_featurizer *f = allot_policy_featurizer(b->p);
        for (size_t j = b->q0; j < b->q1 && !st; j++) {
            const allot_sq_query *q = &c->data.q[c->queries[j]];
            if (allot_featurizer_n_extra(f))
                st = allot_featurizer_extras_from_record(f, q->record, strlen(q->record), w.extras, err);
            free(w.cnt);
            if (!st && !(w.cnt = malloc((q->n_answers ? q->n_answers : 1) * sizeof *w.cnt))) st = nomem(err);
            for (size_t r = 0; r < R && !st; r++) {
                size_t traj = j * R + r;
                c->traj_all[traj] = traj;
                allot_sq_ordering(c->l, q, eval_seed(c->o->seed), (uint32_t)r, w.perm, w.views, w.seq);
                st = replay_ordering(c, b, q, traj, &w, parity, err);
                if (!st && c->K) {
                    prefix_curves(q, w.seq, c->K, w.cnt, w.pacc, w.pcost, w.post);
                    stopping_rules(c, traj, w.seq, w.pacc, w.pcost, w.post);
                }
            }
            allot_progress_update(&pg, j + 1);
        }
    }
    allot_progress_finish(&pg, c->nq);
    replay_work_free(&w);
    return st;
}

/* ---- 4. per-query means, families, comparisons ------------------------------------------------------ */

/* A point from per-trajectory values v[traj * stride + k]: per-query means over the orderings. */
static allot_status make_point(const ev_ctx *c, const char *name, double param, const double *acc,
                               const double *cost, size_t stride, size_t k, allot_sq_point *pt,
                               allot_error *err) {
    memset(pt, 0, sizeof *pt);
    snprintf(pt->name, sizeof pt->name, "%s", name);
    pt->param = param;
    pt->acc_q = calloc(c->nq, sizeof *pt->acc_q);
    pt->cost_q = calloc(c->nq, sizeof *pt->cost_q);
    if (!pt->acc_q || !pt->cost_q) return nomem(err);
    for (size_t j = 0; j < c->nq; j++) {
        for (size_t r = 0; r < c->R; r++) {
            size_t t = j * c->R + r;
            pt->acc_q[j] += acc[t * stride + k] / (double)c->R;
            pt->cost_q[j] += cost[t * stride + k] / (double)c->R;
        }
        pt->acc += pt->acc_q[j] / (double)c->nq;
        pt->cost += pt->cost_q[j] / (double)c->nq;
    }
    return ALLOT_OK;
}

void allot_sq_point_free(allot_sq_point *p) {
    free(p->acc_q);
    free(p->cost_q);
}

void allot_sq_family_free(allot_sq_family *f) {
    for (size_t i = 0; f->p && i < f->n; i++) allot_sq_point_free(&f->p[i]);
    free(f->p);
    memset(f, 0, sizeof *f);
}

static allot_status make_family(allot_sq_family *f, const char *name, size_t n, allot_error *err) {
    snprintf(f->name, sizeof f->name, "%s", name);
    f->p = calloc(n ? n : 1, sizeof *f->p);
    f->n = n;
    return f->p ? ALLOT_OK : nomem(err);
}

/* The policy (each bundle on its own queries, at its shipped or re-fitted price): per-query means. */
static allot_status policy_point(const ev_ctx *c, int refit, const char *name, allot_sq_point *pt,
                                 allot_error *err) {
    size_t nt = c->rows.n_traj, *stop = malloc((nt ? nt : 1) * sizeof *stop);
    double *a = malloc((nt ? nt : 1) * sizeof *a), *k = malloc((nt ? nt : 1) * sizeof *k), ma, mc;
    allot_status st = stop && a && k ? ALLOT_OK : nomem(err);
    for (size_t i = 0; i < c->nb && !st; i++) {
        const ev_bundle *b = &c->b[i];
        size_t t0 = b->q0 * c->R, n = (b->q1 - b->q0) * c->R;
        allot_sq_replay(c->pred, &c->rows, c->traj_all + t0, n, b->stage_cost,
                        refit ? b->lambda_refit : b->lambda_shipped, &ma, &mc, stop + t0);
    }
    for (size_t t = 0; t < nt && !st; t++) {
        a[t] = c->rows.acc[t * c->S + stop[t]];
        k[t] = c->rows.cost[t * c->S + stop[t]];
    }
    if (!st) st = make_point(c, name, NAN, a, k, 1, 0, pt, err);
    free(stop);
    free(a);
    free(k);
    return st;
}

/*
 * The online budget controller (allot_budget.h) as a gateway runs it: each ordering r is one stream
 * of the queries in a seeded order; every query is decided at the controller's current price and its
 * spend observed. Each bundle has its own controller, started at its shipped price.
 */
static allot_status controller_point(const ev_ctx *c, double budget, allot_sq_point *pt, allot_error *err) {
    size_t nt = c->rows.n_traj, S = c->S;
    double *a = malloc((nt ? nt : 1) * sizeof *a), *k = malloc((nt ? nt : 1) * sizeof *k);
    size_t *order = malloc((c->nq ? c->nq : 1) * sizeof *order);
    allot_status st = a && k && order ? ALLOT_OK : nomem(err);
    for (size_t i = 0; i < c->nb && !st; i++) {
        const ev_bundle *b = &c->b[i];
        for (size_t r = 0; r < c->R && !st; r++) {
            allot_budget_config cfg = ALLOT_BUDGET_CONFIG_INIT;
            allot_budget *bc = NULL;
            if ((st = allot_budget_config_default(&cfg, budget, b->lambda_shipped)) ||
                (st = allot_budget_create(&cfg, &bc, err)))
                break;
            size_t n = b->q1 - b->q0;
            for (size_t j = 0; j < n; j++) order[j] = b->q0 + j;
            allot_rng rng;
            allot_rng_seed_stream(&rng, c->o->seed, 0xB0D6E7u + r);
            for (size_t j = n; j > 1; j--) { /* a seeded arrival order */
                size_t x = (size_t)allot_rng_below(&rng, j), tmp = order[j - 1];
                order[j - 1] = order[x];
                order[x] = tmp;
            }
            for (size_t j = 0; j < n; j++) {
                size_t t = order[j] * c->R + r, stop = S - 1;
                double lam = allot_budget_mu(bc);
                for (size_t s = 0; s + 1 < S; s++)
                    if (allot_sq_best_stage(c->pred + (t * S + s) * S, s, S, b->stage_cost, lam) == s) {
                        stop = s;
                        break;
                    }
                a[t] = c->rows.acc[t * S + stop];
                k[t] = c->rows.cost[t * S + stop];
                allot_budget_observe(bc, k[t]);
            }
            allot_budget_free(bc);
        }
    }
    if (!st) st = make_point(c, "policy (online budget controller)", NAN, a, k, 1, 0, pt, err);
    free(a);
    free(k);
    free(order);
    return st;
}

/* Each bundle's price re-fitted to its own batch (no labels: spend only). */
static void refit_prices(ev_ctx *c, double budget) {
    for (size_t i = 0; i < c->nb; i++) {
        ev_bundle *b = &c->b[i];
        size_t t0 = b->q0 * c->R, n = (b->q1 - b->q0) * c->R;
        b->lambda_refit = isfinite(budget) ? allot_sq_calibrate(c->pred, &c->rows, c->traj_all + t0, n,
                                                                b->stage_cost, budget)
                                           : b->lambda_shipped;
    }
}

/* A cascade's later stages drawn alone: the stage's accuracy at its own model's cost. */
static allot_status alone_family(const ev_ctx *c, allot_sq_family *f, allot_error *err) {
    size_t S = c->S, nt = c->rows.n_traj, n = 0;
    for (size_t s = 0; s < S && nt; s++) n += !isnan(allot_sq_alone_cost(c->l, c->rows.cost, s));
    allot_status st = make_family(f, "one model alone", n, err);
    double *acc = n && !st ? malloc(2 * nt * sizeof *acc) : NULL, *cost = acc ? acc + nt : NULL;
    if (n && !st && !acc) st = nomem(err);
    for (size_t s = 0, i = 0; s < S && i < n && !st; s++) {
        if (isnan(allot_sq_alone_cost(c->l, c->rows.cost, s))) continue;
        for (size_t t = 0; t < nt; t++) {
            acc[t] = c->rows.acc[t * S + s];
            cost[t] = allot_sq_alone_cost(c->l, c->rows.cost + t * S, s);
        }
        allot_stage_info si;
        allot_ladder_stage(c->l, s, &si, NULL);
        char nm[64];
        snprintf(nm, sizeof nm, "%.50s alone", si.name);
        st = make_point(c, nm, (double)s, acc, cost, 1, 0, &f->p[i++], err);
    }
    free(acc);
    return st;
}

/* Uniform allocation's settings: the fixed stages, then a cascade's stages drawn alone (the points are
 * shared, not copied: free only out->p). */
static allot_status uniform_settings(const allot_sq_eval *e, allot_sq_family *out, allot_error *err) {
    allot_status st = make_family(out, "uniform", e->stages.n + e->alone.n, err);
    if (st) return st;
    memcpy(out->p, e->stages.p, e->stages.n * sizeof *out->p);
    if (e->alone.n) memcpy(out->p + e->stages.n, e->alone.p, e->alone.n * sizeof *out->p);
    return ALLOT_OK;
}

static allot_status families(const ev_ctx *c, allot_sq_eval *e, allot_error *err) {
    allot_status st = make_family(&e->stages, "stage", c->S, err);
    for (size_t s = 0; s < c->S && !st; s++) {
        allot_stage_info si;
        allot_ladder_stage(c->l, s, &si, NULL);
        st = make_point(c, si.name, (double)s, c->rows.acc, c->rows.cost, c->S, s, &e->stages.p[s], err);
    }
    if (!st) st = alone_family(c, &e->alone, err);
    if (!st) st = make_family(&e->ac, "adaptive-consistency", c->K ? N_AC : 0, err);
    for (size_t g = 0; g < e->ac.n && !st; g++) {
        char nm[64];
        snprintf(nm, sizeof nm, "ac@%g", ac_grid[g]);
        st = make_point(c, nm, ac_grid[g], c->ac_acc, c->ac_cost, N_AC, g, &e->ac.p[g], err);
    }
    if (!st) st = make_family(&e->es, "early-stop", c->K ? N_ES : 0, err);
    for (size_t g = 0; g < e->es.n && !st; g++) {
        char nm[64];
        snprintf(nm, sizeof nm, "early-stop@%d", es_grid[g]);
        st = make_point(c, nm, es_grid[g], c->es_acc, c->es_cost, N_ES, g, &e->es.p[g], err);
    }
    return st;
}

/* A family read at mean spend x: per-query mixture of the two upper-hull points around x. Returns 0
 * (with a note) when x is below the family's cheapest point. */
int allot_sq_family_at(const allot_sq_family *f, double x, size_t nq, double *out_q, double *out, char *note,
                       size_t note_cap) {
    if (!f->n) {
        snprintf(note, note_cap, "not applicable to this ladder");
        return 0;
    }
    /* the upper concave hull of the points, by increasing cost */
    size_t nh = 0, n = f->n, *ord = malloc(2 * n * sizeof *ord), *h = ord + n;
    if (!ord) {
        snprintf(note, note_cap, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < n; i++) ord[i] = i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && (f->p[ord[j]].cost < f->p[ord[j - 1]].cost ||
                                     (f->p[ord[j]].cost == f->p[ord[j - 1]].cost &&
                                      f->p[ord[j]].acc > f->p[ord[j - 1]].acc));
             j--) {
            size_t t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        const allot_sq_point *p = &f->p[ord[i]];
        if (nh && p->cost == f->p[h[nh - 1]].cost) continue; /* same cost: the first (most accurate) stays */
        if (nh && p->acc <= f->p[h[nh - 1]].acc) continue;   /* dearer and no better: never on the hull */
        while (nh >= 2) {
            const allot_sq_point *a = &f->p[h[nh - 2]], *b = &f->p[h[nh - 1]];
            if ((b->acc - a->acc) * (p->cost - a->cost) <= (p->acc - a->acc) * (b->cost - a->cost))
                nh--;
            else
                break;
        }
        h[nh++] = ord[i];
    }
    const allot_sq_point *lo = &f->p[h[0]], *hi = lo;
    if (x < lo->cost - 1e-12 * fabs(lo->cost)) {
        snprintf(note, note_cap, "spends less than the cheapest %s setting (%.4g)", f->name, lo->cost);
        free(ord);
        return 0;
    }
    double w = 0;
    for (size_t i = 0; i + 1 < nh; i++)
        if (f->p[h[i + 1]].cost >= x) {
            lo = &f->p[h[i]];
            hi = &f->p[h[i + 1]];
            w = (x - lo->cost) / (hi->cost - lo->cost);
            break;
        } else {
            lo = hi = &f->p[h[i + 1]];
        }
    note[0] = '\0';
    if (x > f->p[h[nh - 1]].cost)
        snprintf(note, note_cap, "at its dearest setting (%.4g): spends less", f->p[h[nh - 1]].cost);
    free(ord);
    *out = 0;
    for (size_t j = 0; j < nq; j++) {
        out_q[j] = (1 - w) * lo->acc_q[j] + w * hi->acc_q[j];
        *out += out_q[j] / (double)nq;
    }
    return 1;
}

/* 95% paired bootstrap interval of mean(a - b) over queries (trainer/common/bootstrap.h). */
static allot_status paired_interval(const double *a, const double *b, size_t n, int B, uint64_t seed,
                                    double *lo, double *hi, allot_error *err) {
    double *d = malloc((n ? n : 1) * sizeof *d), mean;
    if (!d) return nomem(err);
    for (size_t i = 0; i < n; i++) d[i] = a[i] - b[i];
    allot_bootstrap_mean(d, n, B, seed, 0.95, &mean, lo, hi);
    free(d);
    return ALLOT_OK;
}

/* The hindsight oracle over the per-query stage curves at mean spend x. */
static allot_status oracle_at(const ev_ctx *c, const allot_sq_family *u, double x, double *out_q, double *out,
                              allot_error *err) {
    size_t n = c->nq, S = u->n;
    double *acc = malloc(n * S * sizeof *acc), *cost = malloc(n * S * sizeof *cost);
    int *choice = malloc(n * sizeof *choice);
    allot_oracle_result r;
    allot_status st = acc && cost && choice ? ALLOT_OK : nomem(err);
    for (size_t j = 0; j < n && !st; j++)
        for (size_t s = 0; s < S; s++) {
            acc[j * S + s] = u->p[s].acc_q[j];
            cost[j * S + s] = u->p[s].cost_q[j];
        }
    if (!st) st = allot_oracle_solve_exact(acc, cost, n, S, x, choice, NULL, &r, err);
    *out = 0;
    for (size_t j = 0; j < n && !st; j++) {
        out_q[j] = acc[j * S + (size_t)choice[j]];
        *out += out_q[j] / (double)n;
    }
    free(acc);
    free(cost);
    free(choice);
    return st;
}

static allot_status compare_policy(const ev_ctx *c, const allot_sq_eval *e, allot_sq_policy_eval *pe,
                                   allot_error *err) {
    allot_sq_family u;
    allot_status st = uniform_settings(e, &u, err);
    if (st) return st;
    const allot_sq_family *fam[3] = {&u, &e->ac, &e->es};
    const char *names[ALLOT_SQ_N_COMPARE] = {"uniform", "adaptive-consistency", "early-stop", "oracle"};
    double *base = malloc((c->nq ? c->nq : 1) * sizeof *base), uni = NAN;
    if (!base) {
        free(u.p);
        return nomem(err);
    }
    for (int k = 0; k < ALLOT_SQ_N_COMPARE && !st; k++) {
        allot_sq_compare *cm = &pe->cmp[k];
        memset(cm, 0, sizeof *cm);
        snprintf(cm->name, sizeof cm->name, "%s", names[k]);
        if (k < 3)
            cm->available =
                allot_sq_family_at(fam[k], pe->point.cost, c->nq, base, &cm->acc, cm->note, sizeof cm->note);
        else if (!(st = oracle_at(c, &u, pe->point.cost, base, &cm->acc, err)))
            cm->available = 1;
        if (!cm->available) continue;
        cm->delta = pe->point.acc - cm->acc;
        st = paired_interval(pe->point.acc_q, base, c->nq, c->o->bootstrap, c->o->seed + (uint64_t)k, &cm->lo,
                             &cm->hi, err);
        if (k == 0) uni = cm->acc;
        cm->gain_capture =
            k == 3 && isfinite(uni) && cm->acc > uni ? (pe->point.acc - uni) / (cm->acc - uni) : NAN;
    }
    free(base);
    free(u.p);
    return st;
}

/* ---- the orchestrator ------------------------------------------------------------------------------- */

void allot_sq_eval_free(allot_sq_eval *e) {
    if (!e) return;
    free(e->bundle_path);
    free(e->runs_path);
    allot_sq_point_free(&e->shipped.point);
    allot_sq_point_free(&e->refit.point);
    allot_sq_point_free(&e->controller.point);
    allot_sq_family_free(&e->stages);
    allot_sq_family_free(&e->ac);
    allot_sq_family_free(&e->es);
    allot_sq_family_free(&e->alone);
    memset(e, 0, sizeof *e);
}

allot_status allot_sq_evaluate(const char *const *bundles, size_t n_bundles, const char *runs_path,
                               const allot_sq_eval_options *o, allot_sq_eval *e, allot_error *err) {
    memset(e, 0, sizeof *e);
    if (!n_bundles) return allot_error_set(err, ALLOT_E_ARGUMENT, "no policy bundle to evaluate");
    ev_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.R = o->orderings > 0 ? (size_t)o->orderings : 1;
    allot_status st = load_bundles(&c, bundles, n_bundles, err);
    if (!st) st = allot_sq_load(runs_path, c.l, &c.data, err);
    if (!st) st = select_queries(&c, runs_path, e, err);
    if (!st) st = replay_all(&c, &e->parity_steps, err);
    if (!st) st = families(&c, e, err);
    if (!st) {
        const cJSON *b = prov_item(&c.b[0], "budget", NULL);
        e->budget = isfinite(o->budget) ? o->budget : cJSON_IsNumber(b) ? b->valuedouble : NAN;
        refit_prices(&c, e->budget);
        e->lambda_shipped = c.b[0].lambda_shipped;
        e->lambda_refit = c.b[0].lambda_refit;
        st = policy_point(&c, 0, "policy (price shipped)", &e->shipped.point, err);
    }
    if (!st) st = policy_point(&c, 1, "policy (price re-fitted)", &e->refit.point, err);
    if (!st && isfinite(e->budget) && e->budget > 0) {
        e->has_controller = 1;
        st = controller_point(&c, e->budget, &e->controller.point, err);
    }
    if (!st) st = compare_policy(&c, e, &e->shipped, err);
    if (!st) st = compare_policy(&c, e, &e->refit, err);
    if (!st && e->has_controller) st = compare_policy(&c, e, &e->controller, err);
    e->n_queries = c.nq;
    e->n_orderings = c.R;
    e->n_bundles = n_bundles;
    e->bundle_path = allot_strdup(bundles[0]);
    e->runs_path = allot_strdup(runs_path);
    ev_free(&c);
    if (st) allot_sq_eval_free(e);
    return st;
}
