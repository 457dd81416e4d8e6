/* audit.c - `allot audit` (see audit.h and docs/learn-and-audit.md). */
#include "audit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "atomic_file.h"
#include "audit_metrics.h"
#include "calibrate.h"
#include "dataset.h"
#include "learn.h"
#include "linear_learner.h"
#include "oracle.h"
#include "plot.h"
#include "progress.h"
#include "rng.h"
#include "runtime_adapter.h"

#define N_BINS 5
#define N_BUCKETS 5

void allot_audit_options_default(allot_audit_options *o) {
    memset(o, 0, sizeof *o);
    o->budget = NAN;
    o->seed = 1;
    o->bootstrap = 1000;
    o->plots = 1;
}

/* Rules, in report order. */
enum { R_CAL = 0, R_ARG = 1 };
static const char *const RULE_NAME[2] = {"calibrated", "argmax"};

/* One policy under audit. */
typedef struct pol {
    const char *path;
    char name[128];
    char learner[32];
    allot_rt_policy *rt;
    double train_budget, bundle_mu;
    allot_split sp;
    size_t T, K, nte, ntr;
    int *class_tier;
    double *class_cost;
    double *acc_te, *cost_te, *acc_tr, *cost_tr; /* rows x T */
    double *prob_te;                             /* runtime probabilities, nte x K */
    double *prob_tr;                             /* out-of-fold probabilities, ntr x K */
    double *realised_tr;                         /* ntr x K: cost of each class's tier */
    size_t *rt_tier_te;                          /* the runtime's decision under the bundle rule */
    int bundle_rule;                             /* ALLOT_RT_* */
    double *len_tr, *len_te;                     /* prompt length in bytes */
    double *score_tr, *score_te;                 /* predicted difficulty: expected class cost */
    cJSON *train_metrics;                        /* a copy of provenance.metrics (may be NULL) */
    int in_sample; /* no out-of-fold block: training-pool probabilities are in-sample */
    int value;     /* value policy: the scores are predicted accuracies */
} pol;

/* The runtime rule behind a report rule: for value policies both are the value rule (calibrated
 * lambda, and lambda 0 = the most accurate predicted tier). */
static int rt_rule_of(const pol *p, int rule) {
    if (p->value) return ALLOT_RT_VALUE;
    return rule == R_CAL ? ALLOT_RT_CALIBRATED : ALLOT_RT_ARGMAX;
}

/* Predicted difficulty of one query: the expected class cost sum_c p(c|x) cost_c for classifiers;
 * for value policies 1 - the mean predicted accuracy over tiers. Only its order matters (bins). */
static double difficulty_score(const pol *p, const double *score) {
    double e = 0;
    if (p->value) {
        for (size_t k = 0; k < p->K; k++) e += score[k];
        return 1.0 - e / (double)p->K;
    }
    for (size_t k = 0; k < p->K; k++) e += score[k] * p->class_cost[k];
    return e;
}

static void pol_free(pol *p) {
    allot_rt_free(p->rt);
    allot_split_free(&p->sp);
    free(p->class_tier);
    free(p->class_cost);
    free(p->acc_te);
    free(p->cost_te);
    free(p->acc_tr);
    free(p->cost_tr);
    free(p->prob_te);
    free(p->prob_tr);
    free(p->realised_tr);
    free(p->rt_tier_te);
    free(p->len_tr);
    free(p->len_te);
    free(p->score_tr);
    free(p->score_te);
    cJSON_Delete(p->train_metrics);
    memset(p, 0, sizeof *p);
}

static char *slurp(const char *path, size_t *len, allot_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        allot_error_set(err, ALLOT_E_IO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = sz >= 0 ? malloc((size_t)sz + 1) : NULL;
    size_t got = buf ? fread(buf, 1, (size_t)sz, fp) : 0;
    fclose(fp);
    if (!buf || got != (size_t)sz) {
        free(buf);
        allot_error_set(err, ALLOT_E_IO, "cannot read %s", path);
        return NULL;
    }
    buf[got] = '\0';
    if (len) *len = got;
    return buf;
}

/* Load one bundle: runtime handle, provenance (split, validation probabilities), test predictions. */
static allot_status pol_load(pol *p, const char *path, const allot_curves *c, const char *curves_sha,
                             allot_error *err) {
    memset(p, 0, sizeof *p);
    p->path = path;
    const char *b = strrchr(path, '/');
    snprintf(p->name, sizeof p->name, "%s", b ? b + 1 : path);
    char *dot = strrchr(p->name, '.');
    if (dot && dot != p->name) *dot = '\0';
    allot_status st = ALLOT_OK;
    char *text = NULL, **vids = NULL;
    const char **tids = NULL;
    cJSON *root = NULL;
    double *extras = NULL;
    size_t T = c->n_tiers;
    p->T = T;

    text = slurp(path, NULL, err);
    if (!text) return err ? err->code : ALLOT_E_IO;
    root = cJSON_Parse(text);
    if (!root) {
        st = allot_error_set(err, ALLOT_E_PARSE, "%s: not valid JSON", path);
        goto done;
    }
    cJSON *prov = cJSON_GetObjectItemCaseSensitive(root, "provenance");
    cJSON *sha = cJSON_GetObjectItemCaseSensitive(prov, "input_sha256");
    cJSON *bud = cJSON_GetObjectItemCaseSensitive(prov, "budget");
    cJSON *lrn = cJSON_GetObjectItemCaseSensitive(prov, "learner");
    cJSON *split = cJSON_GetObjectItemCaseSensitive(prov, "split");
    cJSON *tid = cJSON_GetObjectItemCaseSensitive(split, "test_ids");
    cJSON *val = cJSON_GetObjectItemCaseSensitive(prov, "validation");
    cJSON *vid = cJSON_GetObjectItemCaseSensitive(val, "ids");
    cJSON *vpr = cJSON_GetObjectItemCaseSensitive(val, "prob");
    if (!cJSON_IsString(sha) || !cJSON_IsNumber(bud) || !cJSON_IsArray(tid)) {
        st = allot_error_set(
            err, ALLOT_E_INVALID,
            "%s: provenance lacks input_sha256, budget or split.test_ids (not written by allot "
            "train?)",
            path);
        goto done;
    }
    /* without the out-of-fold block (allot train --no-validation) the runtime's in-sample
     * predictions on the training pool stand in (optimistic; reported) */
    p->in_sample = !(cJSON_IsArray(vid) && cJSON_IsArray(vpr));
    if (strcmp(sha->valuestring, curves_sha)) {
        st = allot_error_set(
            err, ALLOT_E_INVALID,
            "%s was trained on a different curves file (SHA-256 %.12s..., this file %.12s...): "
            "its held-out split would not be held out",
            path, sha->valuestring, curves_sha);
        goto done;
    }
    p->train_budget = bud->valuedouble;
    cJSON *met = cJSON_GetObjectItemCaseSensitive(prov, "metrics");
    if (cJSON_IsObject(met)) p->train_metrics = cJSON_Duplicate(met, 1);
    snprintf(p->learner, sizeof p->learner, "%s", cJSON_IsString(lrn) ? lrn->valuestring : "?");

    st = allot_rt_load(path, &p->rt, err);
    if (st != ALLOT_OK) goto done;
    if (allot_rt_n_tiers(p->rt) != T) {
        st = allot_error_set(err, ALLOT_E_INVALID, "%s has %zu tiers, the curves file %zu", path,
                             allot_rt_n_tiers(p->rt), T);
        goto done;
    }
    for (size_t t = 0; t < T; t++)
        if (strcmp(allot_rt_tier_name(p->rt, t), c->tier_names[t])) {
            st = allot_error_set(err, ALLOT_E_INVALID, "%s: tier %zu is '%s', the curves file's '%s'", path,
                                 t, allot_rt_tier_name(p->rt, t), c->tier_names[t]);
            goto done;
        }
    p->K = allot_rt_n_classes(p->rt);
    p->bundle_rule = allot_rt_rule(p->rt);
    p->bundle_mu = allot_rt_mu(p->rt);
    p->value = allot_rt_is_value(p->rt);
    size_t K = p->K;

    /* split: the bundle's held-out ids */
    size_t nt = (size_t)cJSON_GetArraySize(tid);
    tids = malloc((nt ? nt : 1) * sizeof *tids);
    if (!tids) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    {
        size_t j = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, tid) {
            if (!cJSON_IsString(e)) {
                st = allot_error_set(err, ALLOT_E_INVALID,
                                     "%s: provenance.split.test_ids[%zu] is not a string", path, j);
                goto done;
            }
            tids[j++] = e->valuestring;
        }
    }
    st = allot_split_from_test_ids(c, tids, nt, &p->sp, err);
    if (st != ALLOT_OK) goto done;
    if (p->sp.n_test == 0) {
        st = allot_error_set(err, ALLOT_E_INVALID,
                             "%s has no held-out queries (trained with --test-fraction 0)", path);
        goto done;
    }
    p->nte = p->sp.n_test;
    p->ntr = p->sp.n_train;

    p->class_tier = malloc(K * sizeof(int));
    p->class_cost = malloc(K * sizeof(double));
    p->acc_te = allot_gather_rows(c->acc, T, p->sp.test_idx, p->nte);
    p->cost_te = allot_gather_rows(c->cost, T, p->sp.test_idx, p->nte);
    p->acc_tr = allot_gather_rows(c->acc, T, p->sp.train_idx, p->ntr);
    p->cost_tr = allot_gather_rows(c->cost, T, p->sp.train_idx, p->ntr);
    p->prob_te = malloc(p->nte * K * sizeof(double));
    p->prob_tr = malloc((p->ntr ? p->ntr : 1) * K * sizeof(double));
    p->realised_tr = malloc((p->ntr ? p->ntr : 1) * K * sizeof(double));
    p->rt_tier_te = malloc(p->nte * sizeof(size_t));
    p->len_tr = malloc((p->ntr ? p->ntr : 1) * sizeof(double));
    p->len_te = malloc(p->nte * sizeof(double));
    p->score_tr = malloc((p->ntr ? p->ntr : 1) * sizeof(double));
    p->score_te = malloc(p->nte * sizeof(double));
    size_t ne = allot_featurizer_n_extra(allot_rt_featurizer(p->rt));
    extras = malloc((ne ? ne : 1) * sizeof(double));
    if (!p->class_tier || !p->class_cost || !p->acc_te || !p->cost_te || !p->acc_tr || !p->cost_tr ||
        !p->prob_te || !p->prob_tr || !p->realised_tr || !p->rt_tier_te || !p->len_tr || !p->len_te ||
        !p->score_tr || !p->score_te || !extras) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < K; k++) {
        long t = allot_rt_class_tier(p->rt, k);
        p->class_tier[k] = (int)t;
        p->class_cost[k] = allot_rt_tier_cost(p->rt, (size_t)t);
    }

    /* the held-out queries through the runtime */
    for (size_t j = 0; j < p->nte; j++) {
        size_t i = p->sp.test_idx[j];
        st = allot_curves_query_extras(allot_rt_featurizer(p->rt), c, i, extras, err);
        if (st != ALLOT_OK) goto done;
        const char *pr = c->prompts ? c->prompts[i] : NULL;
        size_t pl = pr ? strlen(pr) : 0;
        st = allot_rt_predict(p->rt, pr, pl, extras, ne, ALLOT_RT_BUNDLE_RULE, NAN, &p->rt_tier_te[j],
                              p->prob_te + j * K, err);
        if (st != ALLOT_OK) goto done;
        p->len_te[j] = (double)pl;
        p->score_te[j] = difficulty_score(p, p->prob_te + j * K);
    }

    /* validation (out-of-fold) probabilities of the training pool, matched by id */
    size_t nv = p->in_sample ? p->ntr : (size_t)cJSON_GetArraySize(vid);
    if (nv != p->ntr || (!p->in_sample && (size_t)cJSON_GetArraySize(vpr) != nv)) {
        st =
            allot_error_set(err, ALLOT_E_INVALID,
                            "%s: provenance.validation has %zu ids, the training pool %zu", path, nv, p->ntr);
        goto done;
    }
    /* train rows are in curves order; validation ids were written in the same order by allot train */
    const cJSON *idj = p->in_sample ? NULL : vid->child, *row = p->in_sample ? NULL : vpr->child;
    for (size_t j = 0; j < nv; j++) {
        size_t i = p->sp.train_idx[j];
        if (p->in_sample) {
            st = allot_curves_query_extras(allot_rt_featurizer(p->rt), c, i, extras, err);
            if (st != ALLOT_OK) goto done;
            const char *pr = c->prompts ? c->prompts[i] : NULL;
            size_t tier;
            st = allot_rt_predict(p->rt, pr, pr ? strlen(pr) : 0, extras, ne, ALLOT_RT_BUNDLE_RULE, NAN,
                                  &tier, p->prob_tr + j * K, err);
            if (st != ALLOT_OK) goto done;
        } else {
            if (!cJSON_IsString(idj) || strcmp(idj->valuestring, c->ids[i]) ||
                cJSON_GetArraySize(row) != (int)K) {
                st = allot_error_set(err, ALLOT_E_INVALID,
                                     "%s: provenance.validation row %zu does not match query %s", path, j,
                                     c->ids[i]);
                goto done;
            }
            size_t k = 0;
            const cJSON *v;
            cJSON_ArrayForEach(v, row) p->prob_tr[j * K + k++] = cJSON_IsNumber(v) ? v->valuedouble : 0.0;
            idj = idj->next;
            row = row->next;
        }
        for (size_t k = 0; k < K; k++) p->realised_tr[j * K + k] = c->cost[i * T + (size_t)p->class_tier[k]];
        p->score_tr[j] = difficulty_score(p, p->prob_tr + j * K);
        p->len_tr[j] = c->prompts && c->prompts[i] ? (double)strlen(c->prompts[i]) : 0.0;
    }
done:
    free(text);
    free(vids);
    free(tids);
    free(extras);
    cJSON_Delete(root);
    return st;
}

/* Everything evaluated at one budget on one policy's held-out set. */
typedef struct beval {
    double budget;
    double oracle_acc, oracle_cost, oracle_lambda;
    double uniform_acc, uniform_cost, uniform_w;
    int uniform_lo, uniform_hi;
    int best_tier;
    double best_acc, best_cost;
    double random_acc, random_cost, random_draw_acc, random_draw_cost;
    double length_acc, length_cost, length_shrink;
    double bins_acc, bins_cost;
    int bins_tier[N_BINS];
    double bins_edges[N_BINS - 1];
    double learned_acc[2], learned_cost[2], mu[2];
    int has_retrained;
    double retrained_acc[2], retrained_cost[2]; /* the policy retrained at this budget (--sweep-retrain) */
} beval;

typedef struct tiers_out {
    int *oracle, *learned[2], *length, *bins;
} tiers_out;

static allot_status eval_budget(const pol *p, double b, uint64_t seed, beval *e, tiers_out *to,
                                allot_error *err) {
    memset(e, 0, sizeof *e);
    e->budget = b;
    size_t T = p->T, K = p->K, nte = p->nte, ntr = p->ntr;
    allot_status st = ALLOT_OK;
    int *orc = malloc(nte * sizeof *orc), *lt = malloc(nte * sizeof *lt),
        *trc = malloc((ntr ? ntr : 1) * sizeof *trc);
    int *grp = malloc((ntr ? ntr : 1) * sizeof *grp);
    size_t *cnt = calloc(T, sizeof *cnt);
    double *ta = malloc(T * sizeof *ta), *tc = malloc(T * sizeof *tc), *mix = malloc(T * sizeof *mix);
    double *thr = malloc(T * sizeof *thr), *trc_cost = malloc(T * sizeof *trc_cost);
    if (!orc || !lt || !trc || !grp || !cnt || !ta || !tc || !mix || !thr || !trc_cost) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
        goto done;
    }
    /* oracle on the held-out set */
    allot_oracle_result r;
    st = allot_oracle_solve_exact(p->acc_te, p->cost_te, nte, T, b, orc, cnt, &r, err);
    if (st != ALLOT_OK) goto done;
    e->oracle_acc = r.mean_acc;
    e->oracle_cost = r.mean_cost;
    e->oracle_lambda = r.lambda;
    /* uniform and best single tier */
    allot_tier_means(p->acc_te, p->cost_te, nte, T, ta, tc);
    allot_uniform_frontier u;
    allot_uniform_frontier_build(ta, tc, T, &u);
    e->uniform_acc = allot_uniform_at(&u, b, &e->uniform_lo, &e->uniform_hi, &e->uniform_w, &e->uniform_cost);
    e->best_tier = allot_best_single_tier(ta, tc, T, b);
    if (e->best_tier >= 0) {
        e->best_acc = ta[e->best_tier];
        e->best_cost = tc[e->best_tier];
    } else {
        e->best_acc = e->best_cost = NAN;
    }
    /* random with the oracle's tier mix: the expectation, and one seeded draw */
    for (size_t t = 0; t < T; t++) {
        mix[t] = (double)cnt[t] / (double)nte;
        e->random_acc += mix[t] * ta[t];
        e->random_cost += mix[t] * tc[t];
    }
    {
        allot_rng rng;
        allot_rng_seed_stream(&rng, seed, 0xa110cu);
        double a = 0, cc = 0;
        for (size_t j = 0; j < nte; j++) {
            double x = allot_rng_uniform(&rng), F = 0;
            size_t t = 0;
            for (; t + 1 < T; t++) {
                F += mix[t];
                if (x < F) break;
            }
            a += p->acc_te[j * T + t];
            cc += p->cost_te[j * T + t];
        }
        e->random_draw_acc = a / (double)nte;
        e->random_draw_cost = cc / (double)nte;
    }
    /* prompt length: thresholds on the training pool, the training oracle's tier mix */
    if (ntr) {
        size_t *cnt_tr = calloc(T, sizeof *cnt_tr);
        if (!cnt_tr) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
            goto done;
        }
        st = allot_oracle_solve_exact(p->acc_tr, p->cost_tr, ntr, T, b, trc, cnt_tr, &r, err);
        if (st != ALLOT_OK) {
            free(cnt_tr);
            goto done;
        }
        double *mix_tr = malloc(T * sizeof *mix_tr);
        if (!mix_tr) {
            free(cnt_tr);
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
            goto done;
        }
        for (size_t t = 0; t < T; t++) mix_tr[t] = (double)cnt_tr[t] / (double)ntr;
        allot_tier_means(p->acc_tr, p->cost_tr, ntr, T, ta, trc_cost);
        /* when per-query costs vary with the score (long prompts cost more per sample), the oracle's
         * mix can overspend: shrink it towards the cheapest tier, mix(s) = (1-s) cheapest + s mix,
         * with s found by bisection so that the training-pool mean cost meets the budget (the
         * cumulative fractions grow as s falls, so every query's tier gets cheaper: monotone) */
        double *mix_s = malloc(T * sizeof *mix_s);
        if (!mix_s) {
            free(mix_tr);
            free(cnt_tr);
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
            goto done;
        }
        size_t cheapest = 0;
        for (size_t t = 1; t < T; t++)
            if (trc_cost[t] < trc_cost[cheapest]) cheapest = t;
        double s_lo = 0, s_hi = 1, s = 1;
        for (int it = 0; it < 60; it++) {
            for (size_t t = 0; t < T; t++) mix_s[t] = s * mix_tr[t] + (t == cheapest ? 1 - s : 0);
            allot_score_thresholds(p->len_tr, ntr, mix_s, trc_cost, T, thr);
            double cc = 0;
            for (size_t j = 0; j < ntr; j++)
                cc += p->cost_tr[j * T + (size_t)allot_score_tier(thr, trc_cost, T, p->len_tr[j])];
            cc /= (double)ntr;
            int ok = cc <= b * (1 + 1e-12);
            if (it == 0 && ok) break; /* the oracle's own mix already meets the budget */
            if (ok)
                s_lo = s;
            else
                s_hi = s;
            s = it == 0 ? 0.5 : 0.5 * (s_lo + s_hi);
            if (it == 59 || s_hi - s_lo < 1e-9) {
                s = s_lo;
                for (size_t t = 0; t < T; t++) mix_s[t] = s * mix_tr[t] + (t == cheapest ? 1 - s : 0);
                allot_score_thresholds(p->len_tr, ntr, mix_s, trc_cost, T, thr);
                break;
            }
        }
        e->length_shrink = s;
        free(mix_s);
        free(mix_tr);
        free(cnt_tr);
        for (size_t j = 0; j < nte; j++) lt[j] = allot_score_tier(thr, trc_cost, T, p->len_te[j]);
        allot_alloc_eval(p->acc_te, p->cost_te, nte, T, lt, &e->length_acc, &e->length_cost);
        if (to && to->length) memcpy(to->length, lt, nte * sizeof *lt);
        /* difficulty bins: quintiles of the predicted expected cost (out-of-fold on the training
         * pool), the best tier per bin chosen on the training pool under the budget */
        allot_quantile_edges(p->score_tr, ntr, N_BINS, e->bins_edges);
        for (size_t j = 0; j < ntr; j++) grp[j] = allot_bin_of(e->bins_edges, N_BINS, p->score_tr[j]);
        if (allot_group_tiers(p->acc_tr, p->cost_tr, ntr, T, grp, N_BINS, b, e->bins_tier)) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "difficulty bins: allocation failed");
            goto done;
        }
        for (size_t j = 0; j < nte; j++)
            lt[j] = e->bins_tier[allot_bin_of(e->bins_edges, N_BINS, p->score_te[j])];
        allot_alloc_eval(p->acc_te, p->cost_te, nte, T, lt, &e->bins_acc, &e->bins_cost);
        if (to && to->bins) memcpy(to->bins, lt, nte * sizeof *lt);
    }
    /* the learned policy: calibrated (mu from the bundle at its own budget, else recalibrated on the
     * out-of-fold probabilities at b) and argmax */
    double mu = p->bundle_mu;
    if (fabs(b - p->train_budget) > 1e-12 * (fabs(b) > 1 ? fabs(b) : 1) && ntr)
        mu = allot_calibrate_price(rt_rule_of(p, R_CAL), p->prob_tr, ntr, (int)K, p->class_cost,
                                   p->realised_tr, b);
    e->mu[R_CAL] = mu;
    e->mu[R_ARG] = 0;
    for (int rule = 0; rule < 2; rule++) {
        for (size_t j = 0; j < nte; j++) {
            size_t cls =
                allot_rt_rule_apply(rt_rule_of(p, rule), e->mu[rule], p->prob_te + j * K, p->class_cost, K);
            lt[j] = p->class_tier[cls];
        }
        allot_alloc_eval(p->acc_te, p->cost_te, nte, T, lt, &e->learned_acc[rule], &e->learned_cost[rule]);
        if (to && to->learned[rule]) memcpy(to->learned[rule], lt, nte * sizeof *lt);
    }
    if (to && to->oracle) memcpy(to->oracle, orc, nte * sizeof *orc);
done:
    free(orc);
    free(lt);
    free(trc);
    free(grp);
    free(cnt);
    free(ta);
    free(tc);
    free(mix);
    free(thr);
    free(trc_cost);
    return st;
}

/* ---- report helpers ------------------------------------------------------------------------ */

static cJSON *num_or_null(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}
static void add_num(cJSON *o, const char *k, double v) {
    cJSON_AddItemToObject(o, k, num_or_null(v));
}

static cJSON *acc_cost(double acc, double cost) {
    cJSON *o = cJSON_CreateObject();
    add_num(o, "acc", acc);
    add_num(o, "cost", cost);
    return o;
}

/* mkdir -p */
static int ensure_dir(const char *dir, allot_error *err) {
    char buf[4096];
    size_t l = strlen(dir);
    if (l >= sizeof buf) {
        allot_error_set(err, ALLOT_E_IO, "output directory path too long");
        return -1;
    }
    memcpy(buf, dir, l + 1);
    for (size_t i = 1; i <= l; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char keep = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            allot_error_set(err, ALLOT_E_IO, "cannot create directory %s: %s", buf, strerror(errno));
            return -1;
        }
        buf[i] = keep;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        allot_error_set(err, ALLOT_E_IO, "%s is not a directory", dir);
        return -1;
    }
    return 0;
}

static double safe_ratio(double a, double b) {
    return fabs(b) > 1e-15 ? a / b : NAN;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- retraining at another budget (--sweep-retrain) ----------------------------------------- */

static double jget(const cJSON *o, const char *k, double dflt) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : cJSON_IsBool(x) ? (cJSON_IsTrue(x) ? 1 : 0) : dflt;
}

/* The training options recorded in a bundle (learner, parameters, split, features); the comma
 * lists of feature names are written into feat/meta (caller-owned buffers). */
static allot_status options_from_bundle(const pol *p, allot_train_options *o, char *feat, size_t feat_cap,
                                        char *meta, size_t meta_cap, allot_error *err) {
    allot_train_options_default(o);
    size_t len = 0;
    char *text = slurp(p->path, &len, err);
    if (!text) return err ? err->code : ALLOT_E_IO;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return allot_error_set(err, ALLOT_E_PARSE, "%s: not valid JSON", p->path);
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(root, "provenance");
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(prov, "learner_params");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(prov, "split");
    o->learner = !strcmp(p->learner, "liblinear") ? ALLOT_LEARNER_LIBLINEAR : ALLOT_LEARNER_XGBOOST;
    o->seed = (uint64_t)jget(prov, "seed", 1);
    o->test_fraction = jget(sp, "test_fraction", 0.2);
    o->folds = (int)jget(sp, "folds", 5);
    o->rule = p->bundle_rule == ALLOT_RT_ARGMAX ? ALLOT_DECISION_ARGMAX : ALLOT_DECISION_CALIBRATED;
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(prov, "target");
    o->target = cJSON_IsString(tg) && !strcmp(tg->valuestring, "value") ? ALLOT_TARGET_TIER_VALUE
                                                                        : ALLOT_TARGET_TIER_LABEL;
    /* a value bundle's rule is "value" either way: the training option is in the provenance */
    const cJSON *ro = cJSON_GetObjectItemCaseSensitive(prov, "rule_option");
    if (p->value)
        o->rule = cJSON_IsString(ro) && !strcmp(ro->valuestring, "argmax") ? ALLOT_DECISION_ARGMAX
                                                                           : ALLOT_DECISION_CALIBRATED;
    o->xgb.rounds = (int)jget(lp, "max_rounds", o->xgb.rounds);
    o->xgb.max_depth = (int)jget(lp, "max_depth", o->xgb.max_depth);
    o->xgb.eta = jget(lp, "eta", o->xgb.eta);
    o->xgb.subsample = jget(lp, "subsample", o->xgb.subsample);
    o->xgb.min_child_weight = jget(lp, "min_child_weight", o->xgb.min_child_weight);
    o->xgb.reg_lambda = jget(lp, "lambda", o->xgb.reg_lambda);
    o->xgb.early_stopping = (int)jget(lp, "early_stopping", o->xgb.early_stopping);
    o->xgb.nthread = (int)jget(lp, "nthread", o->xgb.nthread);
    o->xgb.class_weights = (int)jget(lp, "class_weights_balanced", o->xgb.class_weights);
    o->xgb.gap_weights = (int)jget(lp, "gap_weights", 0);
    const cJSON *solver = cJSON_GetObjectItemCaseSensitive(lp, "solver");
    if (cJSON_IsString(solver) && allot_linear_solver_parse(solver->valuestring) >= 0)
        o->linear.solver = allot_linear_solver_parse(solver->valuestring);
    if (!jget(lp, "C_by_cv", 1)) o->linear.C = jget(lp, "C", 1);
    o->linear.c_min = jget(lp, "C_min", jget(lp, "C_start", o->linear.c_min));
    o->linear.c_max = jget(lp, "C_max", o->linear.c_max);
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(lp, "C_search");
    o->linear.liblinear_search = cJSON_IsString(cs) && strstr(cs->valuestring, "find_parameters") != NULL;
    o->linear.eps = jget(lp, "eps", 0);
    o->linear.bias = jget(lp, "bias", o->linear.bias);
    o->linear.class_weights = (int)jget(lp, "class_weights", o->linear.class_weights);
    o->linear.hashed = (int)jget(lp, "hashed", o->linear.hashed);
    cJSON_Delete(root);
    const allot_featurizer *f = allot_rt_featurizer(p->rt);
    o->hash_dim = allot_featurizer_hash_dim(f) ? allot_featurizer_hash_dim(f) : o->hash_dim;
    size_t fl = 0, ml = 0;
    feat[0] = meta[0] = '\0';
    for (size_t e = 0; e < allot_featurizer_n_extra(f); e++) {
        const char *name = allot_featurizer_extra_name(f, e);
        int is_f = !strncmp(name, "features.", 9), is_m = !strncmp(name, "meta.", 5);
        const char *bare = is_f ? name + 9 : is_m ? name + 5 : name;
        char *buf = is_m ? meta : feat;
        size_t *l = is_m ? &ml : &fl, cap = is_m ? meta_cap : feat_cap;
        int w = snprintf(buf + *l, cap - *l, "%s%s", *l ? "," : "", bare);
        if (w < 0 || (size_t)w >= cap - *l)
            return allot_error_set(err, ALLOT_E_UNSUPPORTED, "too many feature names");
        *l += (size_t)w;
    }
    o->features = feat;
    o->meta_features = ml ? meta : NULL;
    o->no_validation = 0;
    o->progress = 0;
    return ALLOT_OK;
}

/* Retrain policy p at budget b into tmp_path and evaluate it on the same held-out set. */
static allot_status retrain_eval(const pol *p, const allot_curves *c, const char *curves_path,
                                 const char *sha, double b, uint64_t seed, const char *tmp_path, beval *x,
                                 allot_error *err) {
    allot_train_options o;
    char feat[8192], meta[8192];
    allot_status st = options_from_bundle(p, &o, feat, sizeof feat, meta, sizeof meta, err);
    if (st != ALLOT_OK) return st;
    o.budget = b;
    st = allot_train(c, curves_path, &o, tmp_path, NULL, err);
    if (st != ALLOT_OK) return st;
    pol q;
    st = pol_load(&q, tmp_path, c, sha, err);
    if (st == ALLOT_OK &&
        (q.nte != p->nte || memcmp(q.sp.test_idx, p->sp.test_idx, p->nte * sizeof *p->sp.test_idx)))
        st = allot_error_set(err, ALLOT_E_INTERNAL, "retraining %s did not reproduce its held-out split",
                             p->path);
    beval e;
    if (st == ALLOT_OK) st = eval_budget(&q, b, seed, &e, NULL, err);
    if (st == ALLOT_OK) {
        x->has_retrained = 1;
        for (int r = 0; r < 2; r++) {
            x->retrained_acc[r] = e.learned_acc[r];
            x->retrained_cost[r] = e.learned_cost[r];
        }
    }
    pol_free(&q);
    remove(tmp_path);
    return st;
}

/* ---- the audit ----------------------------------------------------------------------------- */

allot_status allot_audit_run(const allot_curves *c, const char *curves_path, const char *const *policies,
                             size_t n_policies, const allot_audit_options *o, const char *out_dir,
                             char **report_json, char **report_md, allot_audit_summary *summaries,
                             allot_error *err) {
    if (report_json) *report_json = NULL;
    if (report_md) *report_md = NULL;
    if (!n_policies) return allot_error_set(err, ALLOT_E_ARGUMENT, "no policy to audit");
    if (!(o->budget >= 0) || !isfinite(o->budget))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--budget must be >= 0");
    char sha[65];
    allot_status st = allot_learn_file_sha256(curves_path, sha, err);
    if (st != ALLOT_OK) return st;
    if (out_dir && ensure_dir(out_dir, err)) return ALLOT_E_IO;

    size_t T = c->n_tiers;
    if (T > ALLOT_AUDIT_MAX_TIERS)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "the audit handles at most %d tiers, the curves file has %zu",
                               ALLOT_AUDIT_MAX_TIERS, T);
    pol *ps = calloc(n_policies, sizeof *ps);
    cJSON *root = cJSON_CreateObject();
    char *md = NULL;
    size_t md_len = 0;
    FILE *mdf = open_memstream(&md, &md_len);
    double *sweep = NULL;
    size_t n_sweep = 0;
    beval **sw = calloc(n_policies, sizeof *sw);
    int all_hold = 1;
    if (!ps || !root || !mdf || !sw) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
        goto done;
    }
    for (size_t k = 0; k < n_policies; k++) {
        st = pol_load(&ps[k], policies[k], c, sha, err);
        if (st != ALLOT_OK) goto done;
    }

    /* budgets of the sweep: given, or 12 log-spaced between the cheapest and dearest tier; plus B */
    {
        double *ta = malloc(T * sizeof *ta), *tc = malloc(T * sizeof *tc);
        if (!ta || !tc) {
            free(ta);
            free(tc);
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
            goto done;
        }
        allot_tier_means(ps[0].acc_te, ps[0].cost_te, ps[0].nte, T, ta, tc);
        double lo = INFINITY, hi = 0;
        for (size_t t = 0; t < T; t++) {
            if (tc[t] < lo) lo = tc[t];
            if (tc[t] > hi) hi = tc[t];
        }
        free(ta);
        free(tc);
        size_t want = o->sweep ? o->n_sweep : 12;
        sweep = malloc((want + 1) * sizeof *sweep);
        if (!sweep) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
            goto done;
        }
        if (o->sweep) {
            memcpy(sweep, o->sweep, want * sizeof *sweep);
        } else {
            if (!(lo > 0)) lo = hi > 0 ? hi / 100 : 1;
            for (size_t s = 0; s < want; s++)
                sweep[s] = want > 1 ? lo * pow(hi / lo, (double)s / (double)(want - 1)) : lo;
        }
        n_sweep = want;
        int has_b = 0;
        for (size_t s = 0; s < n_sweep; s++)
            if (fabs(sweep[s] - o->budget) <= 1e-12 * (o->budget > 1 ? o->budget : 1)) has_b = 1;
        if (!has_b) sweep[n_sweep++] = o->budget;
        qsort(sweep, n_sweep, sizeof *sweep, cmp_d);
    }

    cJSON_AddStringToObject(root, "format", "allot-audit");
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "curves", curves_path);
    cJSON_AddStringToObject(root, "curves_sha256", sha);
    add_num(root, "budget", o->budget);
    cJSON_AddNumberToObject(root, "seed", (double)o->seed);
    cJSON_AddNumberToObject(root, "bootstrap_resamples", o->bootstrap);
    cJSON *tiers_j = cJSON_AddArrayToObject(root, "tiers");
    for (size_t t = 0; t < T; t++) cJSON_AddItemToArray(tiers_j, cJSON_CreateString(c->tier_names[t]));
    cJSON *defs = cJSON_AddObjectToObject(root, "definitions");
    cJSON_AddStringToObject(
        defs, "uniform",
        "upper concave hull of the single tiers' (mean cost, mean acc) on the held-out set; at B "
        "one tier or the expected mixture of the two neighbouring hull tiers costing exactly B");
    cJSON_AddStringToObject(defs, "best_single",
                            "the most accurate single tier whose held-out mean cost is <= B");
    cJSON_AddStringToObject(
        defs, "random_mix",
        "each query draws a tier independently with the held-out oracle's tier frequencies "
        "(expectation; one seeded draw beside)");
    cJSON_AddStringToObject(
        defs, "prompt_length",
        "longer prompt -> dearer tier: thresholds on training-pool prompt lengths (bytes) so "
        "that the tier frequencies equal the training-pool oracle's at B, shrunk towards the cheapest tier "
        "(mix_shrink "
        "s: (1-s) cheapest + s mix, bisection) when that overspends on the training pool");
    cJSON_AddStringToObject(
        defs, "difficulty_bins",
        "5 quantile bins of the policy's predicted expected cost sum_c p(c|x) cost_c "
        "(value policies: 1 - the mean predicted accuracy over tiers) "
        "(out-of-fold on the training pool); one tier per bin chosen by the exact oracle on "
        "the training pool under B");
    cJSON_AddStringToObject(
        defs, "gap",
        "gap_i = v_i(o_i) - min_t v_i(t), v_i(t) = acc_i(t) - lambda*cost_i(t) at the held-out "
        "oracle's lambda (Lagrangian) or v = acc (accuracy); o_i = the oracle's tier");
    cJSON_AddStringToObject(defs, "bound_literature", "imitation error x max_i gap_i");
    cJSON_AddStringToObject(defs, "bound_data", "(1/n) sum over misclassified queries of gap_i");
    cJSON_AddStringToObject(defs, "gain_capture", "(learned - uniform) / (oracle - uniform), accuracy at B");
    cJSON_AddStringToObject(
        defs, "efficiency",
        "budget the uniform frontier needs to reach the learned accuracy, and its ratio to the "
        "learned policy's realised mean cost");
    cJSON_AddStringToObject(
        defs, "sweep",
        "per budget b: oracle, baselines and heuristics re-solved at b; the learned classifier "
        "is kept and only mu is recalibrated on the out-of-fold probabilities at b");
    cJSON *pols_j = cJSON_AddArrayToObject(root, "policies");

    fprintf(mdf, "# allot audit\n\ncurves `%s` (SHA-256 `%.16s...`), budget **%g**, %zu tiers.\n\n",
            curves_path, sha, o->budget, T);
    fprintf(
        mdf,
        "Every figure is on the held-out queries recorded in each policy's provenance (never trained on).\n"
        "Definitions: docs/learn-and-audit.md.\n\n");

    allot_progress pg;
    allot_progress_start(&pg, "audit sweep (policy x budget)", n_policies * n_sweep, o->progress);
    size_t pg_done = 0;

    for (size_t k = 0; k < n_policies; k++) {
        pol *p = &ps[k];
        size_t nte = p->nte, K = p->K;
        int *to_orc = malloc(nte * sizeof(int)),
            *to_l[2] = {malloc(nte * sizeof(int)), malloc(nte * sizeof(int))};
        int *to_len = malloc(nte * sizeof(int)), *to_bins = malloc(nte * sizeof(int));
        size_t *conf = malloc(T * T * sizeof *conf);
        double *diff = malloc(nte * sizeof *diff);
        if (!to_orc || !to_l[0] || !to_l[1] || !to_len || !to_bins || !conf || !diff) {
            free(to_orc);
            free(to_l[0]);
            free(to_l[1]);
            free(to_len);
            free(to_bins);
            free(conf);
            free(diff);
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
            goto done;
        }
        tiers_out to = {to_orc, {to_l[0], to_l[1]}, to_len, to_bins};
        beval e;
        st = eval_budget(p, o->budget, o->seed, &e, &to, err);
        if (st != ALLOT_OK) goto policy_done;

        /* the runtime's own decision under the bundle's rule must be what we evaluate */
        size_t rt_mismatch = 0;
        int brule = p->bundle_rule == ALLOT_RT_ARGMAX ? R_ARG : R_CAL;
        if (fabs(o->budget - p->train_budget) <= 1e-12 * (o->budget > 1 ? o->budget : 1) || brule == R_ARG)
            for (size_t j = 0; j < nte; j++) rt_mismatch += (int)p->rt_tier_te[j] != to_l[brule][j];

        cJSON *pj = cJSON_CreateObject();
        cJSON_AddItemToArray(pols_j, pj);
        cJSON_AddStringToObject(pj, "policy", p->path);
        cJSON_AddStringToObject(pj, "name", p->name);
        cJSON_AddStringToObject(pj, "learner", p->learner);
        cJSON_AddStringToObject(pj, "target", p->value ? "value" : "tier");
        if (p->value)
            cJSON_AddStringToObject(
                pj, "rules",
                "value policy: 'calibrated' = the value rule argmax_t acc_hat_t - lambda cost_t at "
                "the calibrated lambda (reported as mu); 'argmax' = the value rule at lambda 0");
        add_num(pj, "trained_budget", p->train_budget);
        cJSON_AddStringToObject(pj, "bundle_rule", p->value ? "value" : RULE_NAME[brule]);
        add_num(pj, "bundle_mu", p->bundle_mu);
        cJSON_AddNumberToObject(pj, "n_test", (double)nte);
        cJSON_AddNumberToObject(pj, "n_train", (double)p->ntr);
        cJSON_AddNumberToObject(pj, "n_classes", (double)K);
        cJSON_AddNumberToObject(pj, "runtime_decision_mismatches", (double)rt_mismatch);
        cJSON_AddStringToObject(pj, "training_pool_probabilities",
                                p->in_sample ? "in-sample (the bundle has no out-of-fold block)"
                                             : "out-of-fold");
        if (p->train_metrics) {
            cJSON_AddItemToObject(pj, "training_metrics",
                                  p->train_metrics); /* from the bundle's provenance */
            p->train_metrics = NULL;
        }

        cJSON *oj = cJSON_AddObjectToObject(pj, "oracle");
        add_num(oj, "acc", e.oracle_acc);
        add_num(oj, "cost", e.oracle_cost);
        add_num(oj, "lambda", e.oracle_lambda);
        cJSON *oc = cJSON_AddArrayToObject(oj, "tier_counts");
        for (size_t t = 0; t < T; t++) {
            size_t n = 0;
            for (size_t j = 0; j < nte; j++) n += (size_t)to_orc[j] == t;
            cJSON_AddItemToArray(oc, cJSON_CreateNumber((double)n));
        }

        cJSON *base = cJSON_AddObjectToObject(pj, "baselines");
        cJSON *uj = acc_cost(e.uniform_acc, e.uniform_cost);
        cJSON_AddStringToObject(uj, "tier_lo", c->tier_names[e.uniform_lo]);
        cJSON_AddStringToObject(uj, "tier_hi", c->tier_names[e.uniform_hi]);
        add_num(uj, "weight_hi", e.uniform_w);
        cJSON_AddItemToObject(base, "uniform", uj);
        cJSON *bj = acc_cost(e.best_acc, e.best_cost);
        if (e.best_tier >= 0)
            cJSON_AddStringToObject(bj, "tier", c->tier_names[e.best_tier]);
        else
            cJSON_AddNullToObject(bj, "tier");
        cJSON_AddItemToObject(base, "best_single", bj);
        cJSON *rj = acc_cost(e.random_acc, e.random_cost);
        add_num(rj, "draw_acc", e.random_draw_acc);
        add_num(rj, "draw_cost", e.random_draw_cost);
        cJSON_AddItemToObject(base, "random_mix", rj);
        cJSON *plj = acc_cost(e.length_acc, e.length_cost);
        add_num(plj, "mix_shrink", e.length_shrink);
        cJSON_AddItemToObject(base, "prompt_length", plj);
        cJSON *dj = acc_cost(e.bins_acc, e.bins_cost);
        cJSON *dt = cJSON_AddArrayToObject(dj, "bin_tiers");
        for (int g = 0; g < N_BINS; g++)
            cJSON_AddItemToArray(dt, cJSON_CreateString(c->tier_names[e.bins_tier[g]]));
        cJSON *de = cJSON_AddArrayToObject(dj, "bin_edges");
        for (int g = 0; g + 1 < N_BINS; g++) cJSON_AddItemToArray(de, num_or_null(e.bins_edges[g]));
        cJSON_AddItemToObject(base, "difficulty_bins", dj);

        cJSON *lj = cJSON_AddObjectToObject(pj, "learned");
        allot_regret rg[2];
        double gain[2], eff_budget[2], ci[2][3];
        for (int rule = 0; rule < 2; rule++) {
            cJSON *x = cJSON_AddObjectToObject(lj, RULE_NAME[rule]);
            add_num(x, "acc", e.learned_acc[rule]);
            add_num(x, "cost", e.learned_cost[rule]);
            add_num(x, "mu", e.mu[rule]);
            add_num(x, "budget_overspend", e.learned_cost[rule] - o->budget);
            allot_confusion(to_orc, to_l[rule], nte, T, conf);
            size_t hit = 0;
            for (size_t t = 0; t < T; t++) hit += conf[t * T + t];
            add_num(x, "imitation_accuracy", (double)hit / (double)nte);
            cJSON *pt = cJSON_AddArrayToObject(x, "per_tier");
            for (size_t t = 0; t < T; t++) {
                size_t row = 0, col = 0;
                for (size_t u = 0; u < T; u++) {
                    row += conf[t * T + u];
                    col += conf[u * T + t];
                }
                cJSON *q = cJSON_CreateObject();
                cJSON_AddStringToObject(q, "tier", c->tier_names[t]);
                cJSON_AddNumberToObject(q, "oracle_n", (double)row);
                cJSON_AddNumberToObject(q, "policy_n", (double)col);
                add_num(q, "recall", row ? (double)conf[t * T + t] / (double)row : NAN);
                add_num(q, "precision", col ? (double)conf[t * T + t] / (double)col : NAN);
                cJSON_AddItemToArray(pt, q);
            }
            cJSON *cm = cJSON_AddArrayToObject(x, "confusion");
            for (size_t t = 0; t < T; t++) {
                cJSON *row = cJSON_CreateArray();
                for (size_t u = 0; u < T; u++)
                    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)conf[t * T + u]));
                cJSON_AddItemToArray(cm, row);
            }
            allot_regret_compute(p->acc_te, p->cost_te, nte, T, e.oracle_lambda, to_orc, to_l[rule],
                                 &rg[rule]);
            if (!rg[rule].holds) all_hold = 0;
            cJSON *rr = cJSON_AddObjectToObject(x, "regret");
            add_num(rr, "lambda", rg[rule].lambda);
            add_num(rr, "imitation_error", rg[rule].imitation_error);
            add_num(rr, "lagrangian", rg[rule].regret_lagrangian);
            add_num(rr, "accuracy", rg[rule].regret_acc);
            add_num(rr, "max_gap_lagrangian", rg[rule].max_gap_lagrangian);
            add_num(rr, "max_gap_accuracy", rg[rule].max_gap_acc);
            add_num(rr, "mean_gap_misclassified_lagrangian", rg[rule].mean_gap_mis_lagrangian);
            add_num(rr, "mean_gap_misclassified_accuracy", rg[rule].mean_gap_mis_acc);
            add_num(rr, "bound_literature_lagrangian", rg[rule].bound_literature_lagrangian);
            add_num(rr, "bound_literature_accuracy", rg[rule].bound_literature_acc);
            add_num(rr, "bound_data_lagrangian", rg[rule].bound_data_lagrangian);
            add_num(rr, "bound_data_accuracy", rg[rule].bound_data_acc);
            cJSON_AddBoolToObject(rr, "regret_le_bound", rg[rule].holds);
            gain[rule] = safe_ratio(e.learned_acc[rule] - e.uniform_acc, e.oracle_acc - e.uniform_acc);
            add_num(x, "gain_capture", gain[rule]);
            /* efficiency: the budget uniform allocation needs for the learned accuracy */
            {
                double *ta = malloc(T * sizeof *ta), *tc = malloc(T * sizeof *tc);
                if (ta && tc) {
                    allot_tier_means(p->acc_te, p->cost_te, nte, T, ta, tc);
                    allot_uniform_frontier u;
                    allot_uniform_frontier_build(ta, tc, T, &u);
                    eff_budget[rule] = allot_uniform_budget_for(&u, e.learned_acc[rule]);
                } else {
                    eff_budget[rule] = NAN;
                }
                free(ta);
                free(tc);
            }
            cJSON *ef = cJSON_AddObjectToObject(x, "efficiency");
            add_num(ef, "uniform_budget_for_same_acc", eff_budget[rule]);
            add_num(ef, "ratio_to_learned_cost", safe_ratio(eff_budget[rule], e.learned_cost[rule]));
            cJSON_AddBoolToObject(ef, "beyond_uniform_frontier", !isfinite(eff_budget[rule]));
            /* paired bootstrap of learned - uniform (uniform per query = its expected mixture accuracy) */
            for (size_t j = 0; j < nte; j++) {
                const double *a = p->acc_te + j * T;
                double uacc = (1 - e.uniform_w) * a[e.uniform_lo] + e.uniform_w * a[e.uniform_hi];
                diff[j] = a[to_l[rule][j]] - uacc;
            }
            allot_bootstrap_mean(diff, nte, o->bootstrap, o->seed, 0.95, &ci[rule][0], &ci[rule][1],
                                 &ci[rule][2]);
            cJSON *bs = cJSON_AddObjectToObject(x, "learned_minus_uniform");
            add_num(bs, "mean", ci[rule][0]);
            add_num(bs, "ci95_lo", ci[rule][1]);
            add_num(bs, "ci95_hi", ci[rule][2]);
            cJSON_AddNumberToObject(bs, "resamples", o->bootstrap);
            cJSON_AddNumberToObject(bs, "seed", (double)o->seed);
        }

        /* compute per difficulty bucket: the query's mean accuracy over all tiers, 5 equal-width buckets */
        static const char *const BUCKET[N_BUCKETS] = {"0-0.2 (hardest)", "0.2-0.4", "0.4-0.6", "0.6-0.8",
                                                      "0.8-1 (easiest)"};
        enum { S_ORACLE, S_CAL, S_ARG, S_UNIFORM, S_LENGTH, S_BINS, N_SER };
        static const char *const SER[N_SER] = {"oracle",  "learned (calibrated)", "learned (argmax)",
                                               "uniform", "prompt length",        "difficulty bins"};
        double bucket_cost[N_SER * N_BUCKETS], bucket_acc[N_SER * N_BUCKETS];
        size_t bucket_n[N_BUCKETS] = {0};
        memset(bucket_cost, 0, sizeof bucket_cost);
        memset(bucket_acc, 0, sizeof bucket_acc);
        for (size_t j = 0; j < nte; j++) {
            const double *a = p->acc_te + j * T, *cc = p->cost_te + j * T;
            double m = 0;
            for (size_t t = 0; t < T; t++) m += a[t];
            m /= (double)T;
            int g = (int)floor(m * N_BUCKETS);
            if (g >= N_BUCKETS) g = N_BUCKETS - 1;
            if (g < 0) g = 0;
            bucket_n[g]++;
            const int *tt[N_SER] = {to_orc, to_l[R_CAL], to_l[R_ARG], NULL, to_len, to_bins};
            for (int s = 0; s < N_SER; s++) {
                double ci_ = 0, ai = 0;
                if (s == S_UNIFORM) {
                    ci_ = (1 - e.uniform_w) * cc[e.uniform_lo] + e.uniform_w * cc[e.uniform_hi];
                    ai = (1 - e.uniform_w) * a[e.uniform_lo] + e.uniform_w * a[e.uniform_hi];
                } else {
                    ci_ = cc[tt[s][j]];
                    ai = a[tt[s][j]];
                }
                bucket_cost[s * N_BUCKETS + g] += ci_;
                bucket_acc[s * N_BUCKETS + g] += ai;
            }
        }
        cJSON *bk = cJSON_AddObjectToObject(pj, "by_difficulty");
        cJSON_AddStringToObject(bk, "bucket_by",
                                "the query's mean accuracy over all tiers (held-out), 5 equal-width buckets");
        cJSON *bb = cJSON_AddArrayToObject(bk, "buckets");
        for (int g = 0; g < N_BUCKETS; g++) {
            cJSON *q = cJSON_CreateObject();
            cJSON_AddStringToObject(q, "bucket", BUCKET[g]);
            cJSON_AddNumberToObject(q, "n", (double)bucket_n[g]);
            cJSON *mc = cJSON_AddObjectToObject(q, "mean_cost");
            cJSON *ma = cJSON_AddObjectToObject(q, "mean_acc");
            for (int s = 0; s < N_SER; s++) {
                if (bucket_n[g]) {
                    bucket_cost[s * N_BUCKETS + g] /= (double)bucket_n[g];
                    bucket_acc[s * N_BUCKETS + g] /= (double)bucket_n[g];
                }
                add_num(mc, SER[s], bucket_n[g] ? bucket_cost[s * N_BUCKETS + g] : NAN);
                add_num(ma, SER[s], bucket_n[g] ? bucket_acc[s * N_BUCKETS + g] : NAN);
            }
            cJSON_AddItemToArray(bb, q);
        }

        /* the sweep */
        sw[k] = calloc(n_sweep, sizeof(beval));
        if (!sw[k]) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
            goto policy_done;
        }
        cJSON *swj = cJSON_AddArrayToObject(pj, "sweep");
        for (size_t s = 0; s < n_sweep; s++) {
            st = eval_budget(p, sweep[s], o->seed, &sw[k][s], NULL, err);
            if (st != ALLOT_OK) goto policy_done;
            beval *x = &sw[k][s];
            if (o->sweep_retrain) {
                char tmp_path[4200];
                const char *td = getenv("TMPDIR");
                /* a scratch bundle, removed after use */
                snprintf(tmp_path, sizeof tmp_path, "%.4000s/.allot-retrain-%ld-%zu-%zu.json",
                         out_dir ? out_dir : (td && *td ? td : "/tmp"), (long)getpid(), k, s);
                st = retrain_eval(p, c, curves_path, sha, sweep[s], o->seed, tmp_path, x, err);
                if (st != ALLOT_OK) goto policy_done;
            }
            cJSON *q = cJSON_CreateObject();
            add_num(q, "budget", x->budget);
            cJSON_AddItemToObject(q, "oracle", acc_cost(x->oracle_acc, x->oracle_cost));
            cJSON_AddItemToObject(q, "uniform", acc_cost(x->uniform_acc, x->uniform_cost));
            cJSON_AddItemToObject(q, "best_single", acc_cost(x->best_acc, x->best_cost));
            cJSON_AddItemToObject(q, "random_mix", acc_cost(x->random_acc, x->random_cost));
            cJSON_AddItemToObject(q, "prompt_length", acc_cost(x->length_acc, x->length_cost));
            cJSON_AddItemToObject(q, "difficulty_bins", acc_cost(x->bins_acc, x->bins_cost));
            cJSON *lc = acc_cost(x->learned_acc[R_CAL], x->learned_cost[R_CAL]);
            add_num(lc, "mu", x->mu[R_CAL]);
            cJSON_AddItemToObject(q, "learned_calibrated", lc);
            cJSON_AddItemToObject(q, "learned_argmax",
                                  acc_cost(x->learned_acc[R_ARG], x->learned_cost[R_ARG]));
            if (x->has_retrained) {
                cJSON_AddItemToObject(q, "retrained_calibrated",
                                      acc_cost(x->retrained_acc[R_CAL], x->retrained_cost[R_CAL]));
                cJSON_AddItemToObject(q, "retrained_argmax",
                                      acc_cost(x->retrained_acc[R_ARG], x->retrained_cost[R_ARG]));
            }
            cJSON_AddItemToArray(swj, q);
            allot_progress_update(&pg, ++pg_done);
        }

        /* report.md */
        fprintf(mdf, "## %s (%s%s, trained at budget %g, bundle rule %s)\n\n", p->name, p->learner,
                p->value ? " value regressors" : "", p->train_budget, p->value ? "value" : RULE_NAME[brule]);
        fprintf(
            mdf,
            "%zu held-out queries, %zu training queries, %zu classes. Runtime decisions differing from the "
            "audited ones: %zu.\n\n",
            nte, p->ntr, K, rt_mismatch);
        if (p->in_sample)
            fprintf(
                mdf,
                "The bundle carries no out-of-fold probabilities (trained with --no-validation): the sweep's "
                "recalibration and the difficulty bins use in-sample predictions on the training pool "
                "(optimistic).\n\n");
        if (p->value)
            fprintf(mdf,
                    "Value policy (per-tier accuracy regressors): *calibrated* is the value rule argmax_t "
                    "acc_hat_t - lambda cost_t at the calibrated lambda (shown as mu), *argmax* the value "
                    "rule at "
                    "lambda 0 (the most accurate predicted tier).\n\n");
        fprintf(mdf, "| allocation | accuracy | mean cost | note |\n|---|---|---|---|\n");
        fprintf(mdf, "| oracle | %.4f | %.3f | lambda %.4g |\n", e.oracle_acc, e.oracle_cost,
                e.oracle_lambda);
        for (int rule = 0; rule < 2; rule++)
            fprintf(mdf, "| learned (%s) | %.4f | %.3f | mu %.4g; imitation %.4f; gain capture %.3f |\n",
                    RULE_NAME[rule], e.learned_acc[rule], e.learned_cost[rule], e.mu[rule],
                    1 - rg[rule].imitation_error, gain[rule]);
        fprintf(mdf, "| uniform | %.4f | %.3f | %s/%s, w %.3f |\n", e.uniform_acc, e.uniform_cost,
                c->tier_names[e.uniform_lo], c->tier_names[e.uniform_hi], e.uniform_w);
        if (e.best_tier >= 0)
            fprintf(mdf, "| best single tier | %.4f | %.3f | %s |\n", e.best_acc, e.best_cost,
                    c->tier_names[e.best_tier]);
        else
            fprintf(mdf, "| best single tier | - | - | no tier within budget |\n");
        fprintf(mdf, "| random, oracle's mix | %.4f | %.3f | expectation; one draw %.4f |\n", e.random_acc,
                e.random_cost, e.random_draw_acc);
        fprintf(mdf, "| prompt-length heuristic | %.4f | %.3f | |\n", e.length_acc, e.length_cost);
        fprintf(mdf, "| difficulty-bin heuristic | %.4f | %.3f | |\n\n", e.bins_acc, e.bins_cost);
        fprintf(
            mdf,
            "| rule | regret (Lagrangian) | data bound | literature bound | regret (accuracy) | data bound | "
            "literature bound | holds |\n|---|---|---|---|---|---|---|---|\n");
        for (int rule = 0; rule < 2; rule++)
            fprintf(mdf, "| %s | %.5f | %.5f | %.5f | %.5f | %.5f | %.5f | %s |\n", RULE_NAME[rule],
                    rg[rule].regret_lagrangian, rg[rule].bound_data_lagrangian,
                    rg[rule].bound_literature_lagrangian, rg[rule].regret_acc, rg[rule].bound_data_acc,
                    rg[rule].bound_literature_acc, rg[rule].holds ? "yes" : "NO");
        fprintf(
            mdf,
            "\n| rule | learned - uniform | 95%% CI (paired bootstrap, %d) | uniform budget for same acc | "
            "ratio to learned cost |\n|---|---|---|---|---|\n",
            o->bootstrap);
        for (int rule = 0; rule < 2; rule++)
            fprintf(mdf, "| %s | %+.4f | [%+.4f, %+.4f] | %s%.3f | %.3f |\n", RULE_NAME[rule], ci[rule][0],
                    ci[rule][1], ci[rule][2], isfinite(eff_budget[rule]) ? "" : "beyond frontier ",
                    isfinite(eff_budget[rule]) ? eff_budget[rule] : 0.0,
                    safe_ratio(eff_budget[rule], e.learned_cost[rule]));
        fprintf(
            mdf,
            "\nImitation per tier (calibrated rule; recall = policy picks the oracle's tier):\n\n| tier | "
            "oracle n | policy n | recall |\n|---|---|---|---|\n");
        allot_confusion(to_orc, to_l[R_CAL], nte, T, conf);
        for (size_t t = 0; t < T; t++) {
            size_t row = 0, col = 0;
            for (size_t u = 0; u < T; u++) {
                row += conf[t * T + u];
                col += conf[u * T + t];
            }
            if (row)
                fprintf(mdf, "| %s | %zu | %zu | %.3f |\n", c->tier_names[t], row, col,
                        (double)conf[t * T + t] / (double)row);
            else
                fprintf(mdf, "| %s | 0 | %zu | - |\n", c->tier_names[t], col);
        }
        fprintf(mdf, "\nConfusion matrix (rows: oracle tier, columns: policy tier, calibrated rule):\n\n| |");
        for (size_t u = 0; u < T; u++) fprintf(mdf, " %s |", c->tier_names[u]);
        fprintf(mdf, "\n|---|");
        for (size_t u = 0; u < T; u++) fprintf(mdf, "---|");
        fprintf(mdf, "\n");
        for (size_t t = 0; t < T; t++) {
            fprintf(mdf, "| %s |", c->tier_names[t]);
            for (size_t u = 0; u < T; u++) fprintf(mdf, " %zu |", conf[t * T + u]);
            fprintf(mdf, "\n");
        }
        fprintf(mdf, "\nMean compute per difficulty bucket (mean accuracy over tiers):\n\n| bucket | n |");
        for (int s = 0; s < N_SER; s++) fprintf(mdf, " %s |", SER[s]);
        fprintf(mdf, "\n|---|---|");
        for (int s = 0; s < N_SER; s++) fprintf(mdf, "---|");
        fprintf(mdf, "\n");
        for (int g = 0; g < N_BUCKETS; g++) {
            fprintf(mdf, "| %s | %zu |", BUCKET[g], bucket_n[g]);
            for (int s = 0; s < N_SER; s++)
                if (bucket_n[g])
                    fprintf(mdf, " %.2f |", bucket_cost[s * N_BUCKETS + g]);
                else
                    fprintf(mdf, " - |");
            fprintf(mdf, "\n");
        }
        fprintf(
            mdf,
            "\nBudget sweep (accuracy / realised mean cost; learned: mu recalibrated per budget%s):\n\n| "
            "budget | "
            "oracle | learned cal. | learned argmax | uniform | best single | random mix | prompt length | "
            "difficulty bins |%s\n|---|---|---|---|---|---|---|---|---|%s\n",
            o->sweep_retrain ? "; retrained: trained again at each budget" : "",
            o->sweep_retrain ? " retrained cal. | retrained argmax |" : "",
            o->sweep_retrain ? "---|---|" : "");
        for (size_t s = 0; s < n_sweep; s++) {
            beval *x = &sw[k][s];
            fprintf(mdf, "| %.3g | %.4f / %.2f | %.4f / %.2f | %.4f / %.2f | %.4f / %.2f | ", x->budget,
                    x->oracle_acc, x->oracle_cost, x->learned_acc[R_CAL], x->learned_cost[R_CAL],
                    x->learned_acc[R_ARG], x->learned_cost[R_ARG], x->uniform_acc, x->uniform_cost);
            if (x->best_tier >= 0)
                fprintf(mdf, "%.4f / %.2f | ", x->best_acc, x->best_cost);
            else
                fprintf(mdf, "- | ");
            fprintf(mdf, "%.4f / %.2f | %.4f / %.2f | %.4f / %.2f |", x->random_acc, x->random_cost,
                    x->length_acc, x->length_cost, x->bins_acc, x->bins_cost);
            if (x->has_retrained)
                fprintf(mdf, " %.4f / %.2f | %.4f / %.2f |", x->retrained_acc[R_CAL],
                        x->retrained_cost[R_CAL], x->retrained_acc[R_ARG], x->retrained_cost[R_ARG]);
            fprintf(mdf, "\n");
        }
        fprintf(mdf, "\n");

        /* plots */
        if (o->plots && out_dir) {
            char pbase[4096];
            allot_error perr = {0};
            /* compute per difficulty bucket */
            snprintf(pbase, sizeof pbase, "%s/%s-compute_by_difficulty", out_dir, p->name);
            const char *gnames[N_BUCKETS];
            for (int g = 0; g < N_BUCKETS; g++) gnames[g] = BUCKET[g];
            allot_plot_opts po = {"Mean compute per difficulty bucket (held-out)", "mean accuracy over tiers",
                                  "mean cost", 0};
            if (allot_plot_bars(pbase, &po, gnames, N_BUCKETS, SER, N_SER, bucket_cost, &perr) != ALLOT_OK &&
                o->progress)
                fprintf(stderr, "allot audit: plot %s: %s\n", pbase, perr.msg);
            /* confusion matrix heat map (calibrated rule) */
            double *cv = malloc(T * T * sizeof *cv);
            if (cv) {
                for (size_t q = 0; q < T * T; q++) cv[q] = (double)conf[q];
                snprintf(pbase, sizeof pbase, "%s/%s-confusion", out_dir, p->name);
                allot_plot_opts ph = {"Confusion (rows: oracle tier, columns: policy tier)", "policy tier",
                                      "oracle tier", 0};
                if (allot_plot_heatmap(pbase, &ph, (const char *const *)c->tier_names, T,
                                       (const char *const *)c->tier_names, T, cv, &perr) != ALLOT_OK &&
                    o->progress)
                    fprintf(stderr, "allot audit: plot %s: %s\n", pbase, perr.msg);
                free(cv);
            }
        }

        if (summaries) {
            allot_audit_summary *sm = &summaries[k];
            memset(sm, 0, sizeof *sm);
            sm->n_test = nte;
            sm->oracle_acc = e.oracle_acc;
            sm->oracle_cost = e.oracle_cost;
            for (int rule = 0; rule < 2; rule++) {
                sm->learned_acc[rule] = e.learned_acc[rule];
                sm->learned_cost[rule] = e.learned_cost[rule];
                sm->imitation[rule] = 1 - rg[rule].imitation_error;
                sm->regret_lagrangian[rule] = rg[rule].regret_lagrangian;
                sm->bound_data_lagrangian[rule] = rg[rule].bound_data_lagrangian;
                sm->bound_literature_lagrangian[rule] = rg[rule].bound_literature_lagrangian;
                sm->regret_acc[rule] = rg[rule].regret_acc;
                sm->bound_data_acc[rule] = rg[rule].bound_data_acc;
                sm->bound_literature_acc[rule] = rg[rule].bound_literature_acc;
                sm->gain_capture[rule] = gain[rule];
            }
            sm->uniform_acc = e.uniform_acc;
            sm->best_single_acc = e.best_acc;
            sm->random_acc = e.random_acc;
            sm->length_acc = e.length_acc;
            sm->bins_acc = e.bins_acc;
            sm->bounds_hold = rg[0].holds && rg[1].holds;
        }
    policy_done:
        free(to_orc);
        free(to_l[0]);
        free(to_l[1]);
        free(to_len);
        free(to_bins);
        free(conf);
        free(diff);
        if (st != ALLOT_OK) goto done;
    }
    allot_progress_finish(&pg, pg_done);

    /* accuracy-versus-budget: every allocation of the first policy's held-out set, plus each
     * policy's learned curves (on its own held-out set) */
    {
        int same = 1;
        for (size_t k = 1; k < n_policies; k++)
            same = same && ps[k].nte == ps[0].nte &&
                   !memcmp(ps[k].sp.test_idx, ps[0].sp.test_idx, ps[0].nte * sizeof *ps[0].sp.test_idx);
        cJSON_AddBoolToObject(root, "same_held_out_set", same);
        if (!same)
            fprintf(mdf,
                    "Note: the policies were trained with different splits; each block above uses its own "
                    "held-out set, and the accuracy-vs-budget plot shows the baselines of the first.\n\n");
    }
    if (o->plots && out_dir) {
        enum { NB = 7 };
        size_t ns = n_sweep, nser = NB + 3 * n_policies;
        double *xs = malloc(nser * ns * sizeof *xs), *ys = malloc(nser * ns * sizeof *ys);
        allot_plot_series *ser = calloc(nser, sizeof *ser);
        char(*names)[160] = calloc(nser, sizeof *names);
        if (xs && ys && ser && names) {
            size_t m = 0;
            static const char *const BN[NB] = {
                "oracle",        "uniform",         "best single tier",    "random (oracle mix)",
                "prompt length", "difficulty bins", "oracle frontier (LP)"};
            for (int b = 0; b < NB - 1; b++, m++) {
                size_t cnt = 0;
                for (size_t s = 0; s < ns; s++) {
                    beval *x = &sw[0][s];
                    double xa[6] = {x->oracle_cost, x->uniform_cost, x->best_cost,
                                    x->random_cost, x->length_cost,  x->bins_cost};
                    double ya[6] = {x->oracle_acc, x->uniform_acc, x->best_acc,
                                    x->random_acc, x->length_acc,  x->bins_acc};
                    if (!isfinite(xa[b]) || !isfinite(ya[b])) continue;
                    xs[m * ns + cnt] = xa[b];
                    ys[m * ns + cnt] = ya[b];
                    cnt++;
                }
                snprintf(names[m], sizeof names[m], "%s", BN[b]);
                ser[m] = (allot_plot_series){names[m], cnt, xs + m * ns, ys + m * ns, NULL, NULL, 0};
            }
            for (size_t k = 0; k < n_policies; k++)
                for (int rule = 0; rule < 2; rule++, m++) {
                    for (size_t s = 0; s < ns; s++) {
                        xs[m * ns + s] = sw[k][s].learned_cost[rule];
                        ys[m * ns + s] = sw[k][s].learned_acc[rule];
                    }
                    snprintf(names[m], sizeof names[m], "%s (%s)", ps[k].name, RULE_NAME[rule]);
                    /* argmax does not depend on the budget: one point */
                    ser[m] =
                        (allot_plot_series){names[m], rule == R_ARG ? 1 : ns, xs + m * ns, ys + m * ns, NULL,
                                            NULL,     rule == R_ARG};
                }
            if (o->sweep_retrain)
                for (size_t k = 0; k < n_policies; k++, m++) {
                    for (size_t s = 0; s < ns; s++) {
                        xs[m * ns + s] = sw[k][s].retrained_cost[R_CAL];
                        ys[m * ns + s] = sw[k][s].retrained_acc[R_CAL];
                    }
                    snprintf(names[m], sizeof names[m], "%s (retrained per budget)", ps[k].name);
                    ser[m] = (allot_plot_series){names[m], ns, xs + m * ns, ys + m * ns, NULL, NULL, 0};
                }
            char base[4096];
            snprintf(base, sizeof base, "%s/accuracy_vs_budget", out_dir);
            allot_plot_opts po = {"Held-out accuracy vs realised mean cost", "mean cost per query",
                                  "accuracy", 1};
            allot_error perr = {0};
            if (allot_plot_lines(base, &po, ser, m, &perr) != ALLOT_OK && o->progress)
                fprintf(stderr, "allot audit: plot %s: %s\n", base, perr.msg);
        }
        free(xs);
        free(ys);
        free(ser);
        free(names);
    }

    cJSON_AddBoolToObject(root, "all_regret_bounds_hold", all_hold);
    fprintf(mdf, "Regret <= bound on every policy and rule: **%s**.\n", all_hold ? "yes" : "NO");
    fclose(mdf);
    mdf = NULL;
    {
        char *js = cJSON_Print(root);
        if (!js) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (report)");
            goto done;
        }
        if (out_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/report.json", out_dir);
            size_t l = strlen(js);
            char *jn = malloc(l + 2);
            if (jn) {
                memcpy(jn, js, l);
                jn[l] = '\n';
                jn[l + 1] = '\0';
                st = allot_atomic_write(path, jn, l + 1, err);
                free(jn);
            } else {
                st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (report)");
            }
            if (st == ALLOT_OK) {
                snprintf(path, sizeof path, "%s/report.md", out_dir);
                st = allot_atomic_write(path, md, md_len, err);
            }
        }
        if (st == ALLOT_OK && report_json)
            *report_json = js;
        else
            free(js);
        if (st != ALLOT_OK) goto done;
    }
    if (report_md) {
        *report_md = md;
        md = NULL;
    }
    if (!all_hold)
        st = allot_error_set(err, ALLOT_E_CHECK, "a regret exceeds its bound (see report.json): a bug");
done:
    if (mdf) fclose(mdf);
    free(md);
    if (ps)
        for (size_t k = 0; k < n_policies; k++) pol_free(&ps[k]);
    free(ps);
    if (sw)
        for (size_t k = 0; k < n_policies; k++) free(sw[k]);
    free(sw);
    free(sweep);
    cJSON_Delete(root);
    return st;
}
