/*
 * curves_compute.c - the driver: stream labelled runs, compute every query's curve over a tier set.
 *
 * Per query and model the pool is that model's samples in file order. pass and best are exact
 * (estimators.h). majority and vote use opt->permutations permutations of the pool, permutation p
 * drawn from a stream seeded by (seed, hash(id), hash(model), p), so a query's values do not depend
 * on its line or on which other tiers were asked for; one permutation serves every k (coherent
 * curves). k = 1, k = pool size and k with at most opt->max_exact_subsets subsets are computed
 * exactly (se = 0): there is only one k-subset up to order for k = n,
 * and for k = 1 the expectation is a plain mean over the pool.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curves_internal.h"
#include "estimators.h"
#include "allot_limits.h"
#include "progress.h"
#include "rng.h"
#include "runs_reader.h"
#include "strmap.h"
#include "util.h"

void allot_curves_options_default(allot_curves_options *o) {
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->permutations = 256;
    o->max_exact_subsets = 256;
}

void allot_curves_free(allot_curves *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_tiers && c->tier_names; i++) free(c->tier_names[i]);
    for (size_t i = 0; i < c->n_queries; i++) {
        if (c->ids) free(c->ids[i]);
        if (c->prompts) free(c->prompts[i]);
        if (c->meta_json) free(c->meta_json[i]);
    }
    for (size_t i = 0; i < c->n_features && c->feature_names; i++) free(c->feature_names[i]);
    free(c->tier_names);
    free(c->ids);
    free(c->prompts);
    free(c->meta_json);
    free(c->feature_names);
    free(c->features);
    free(c->embed_name);
    free(c->embed);
    free(c->acc);
    free(c->cost);
    free(c->se);
    allot_tier_set_free(&c->tier_defs);
    free(c->source);
    free(c);
}

static allot_status qerr(allot_error *err, allot_status code, const char *path, size_t line, const char *fmt,
                         ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static allot_status qerr(allot_error *err, allot_status code, const char *path, size_t line, const char *fmt,
                         ...) {
    char msg[ALLOT_ERROR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return allot_error_set(err, code, "%s:%zu: %s", path, line, msg);
}

/* Growing table plus the sparse features of every query (made dense at the end). */
typedef struct builder {
    allot_curves *c;
    size_t cap_q, feat_cap;
    uint32_t *fidx;
    double *fval;
    size_t n_fv, fv_cap;
    size_t *foff; /* one entry per row plus one */
    size_t foff_cap;
    allot_strmap feature_index; /* feature name (c->feature_names) -> column */
    size_t embed_cap;           /* rows of c->embed allocated */
} builder;

/* Per-query working memory (reused). */
typedef struct workspace {
    size_t cap_n;   /* samples */
    uint32_t *pool; /* sample index of each pool entry */
    uint32_t *perm;
    int *answer;
    double *weight;
    double *prefix;
    double *vote_work;
    int *ans_perm; /* majority: the pool's answers in one permutation's order */
    int *maj_work; /* majority: a count per answer, + 1 for the null answer */
    allot_scored *scored;
    unsigned char *ans_correct;
    signed char *ans_seen; /* -1 unseen, else the correct flag of its first sample */
    size_t *ans_first;
    int *midx;            /* per tier: model index */
    double *wmean, *wm2;  /* per tier Welford accumulators */
    int *kbuf;            /* per tier: ks of one best group */
    unsigned char *exact; /* per tier: value computed exactly (no permutations) */
    double *kout;         /* per tier: their values */
    unsigned char *model_done;
    size_t cap_models;
} workspace;

static void ws_free(workspace *w) {
    free(w->pool);
    free(w->perm);
    free(w->answer);
    free(w->weight);
    free(w->prefix);
    free(w->vote_work);
    free(w->ans_perm);
    free(w->maj_work);
    free(w->scored);
    free(w->ans_correct);
    free(w->ans_seen);
    free(w->ans_first);
    free(w->midx);
    free(w->wmean);
    free(w->wm2);
    free(w->kbuf);
    free(w->exact);
    free(w->kout);
    free(w->model_done);
}

static int ws_reserve(workspace *w, size_t n) {
    /* Every per-sample array has capacity w->cap_n: each grows from the same old capacity, so each
     * ends at the same new one (after a failure some may be larger than cap_n, which is harmless). */
    size_t c = w->cap_n;
#define GROW(p) (c = w->cap_n, allot_reserve((void **)&(p), &c, n, sizeof *(p)))
    int failed = GROW(w->pool) || GROW(w->perm) || GROW(w->answer) || GROW(w->weight) || GROW(w->prefix) ||
                 GROW(w->vote_work) || GROW(w->ans_perm) || GROW(w->maj_work) || GROW(w->scored) ||
                 GROW(w->ans_correct) || GROW(w->ans_seen) || GROW(w->ans_first);
#undef GROW
    if (failed) return -1;
    w->cap_n = c;
    return 0;
}

/* Score of sample i under agg; error naming the sample when it has none. */
static allot_status sample_score(const allot_query *q, size_t i, const allot_tier *t, const char *path,
                                 double *out, allot_error *err) {
    const allot_sample *s = &q->samples[i];
    if (t->agg == ALLOT_STEP_NONE) {
        if (isnan(s->score))
            return qerr(err, ALLOT_E_INVALID, path, q->line,
                        "samples[%zu].score: missing (tier %s needs it; with step_scores use /min, /last, "
                        "/mean or /prod)",
                        i, t->name);
        *out = s->score;
        return ALLOT_OK;
    }
    if (s->n_steps == 0)
        return qerr(err, ALLOT_E_INVALID, path, q->line,
                    "samples[%zu].step_scores: missing or empty (tier %s needs them)", i, t->name);
    const double *v = q->step_scores + s->step_offset;
    double x = v[0];
    switch (t->agg) {
    case ALLOT_STEP_MIN:
        for (size_t j = 1; j < s->n_steps; j++) x = v[j] < x ? v[j] : x;
        break;
    case ALLOT_STEP_LAST: x = v[s->n_steps - 1]; break;
    case ALLOT_STEP_MEAN:
        for (size_t j = 1; j < s->n_steps; j++) x += v[j];
        x /= (double)s->n_steps;
        break;
    case ALLOT_STEP_PROD:
        for (size_t j = 1; j < s->n_steps; j++) x *= v[j];
        break;
    default: break;
    }
    if (!isfinite(x))
        return qerr(err, ALLOT_E_INVALID, path, q->line,
                    "samples[%zu].step_scores: the %s is not finite (tier %s)", i,
                    allot_step_agg_name(t->agg), t->name);
    *out = x;
    return ALLOT_OK;
}

static int is_vote_rule(allot_select_rule r) {
    return r == ALLOT_SELECT_MAJORITY || r == ALLOT_SELECT_VOTE;
}

/* Fill w->ans_correct for the query; conflicting grades of one answer string are an error. */
static allot_status answer_grades(const allot_query *q, workspace *w, const char *path, allot_error *err) {
    for (size_t a = 0; a < q->n_answers; a++) w->ans_seen[a] = -1;
    for (size_t i = 0; i < q->n_samples; i++) {
        int a = q->samples[i].answer;
        if (a < 0) continue;
        int c = q->samples[i].correct;
        if (w->ans_seen[a] < 0) {
            w->ans_seen[a] = (signed char)c;
            w->ans_first[a] = i;
            w->ans_correct[a] = (unsigned char)c;
        } else if (w->ans_seen[a] != c) {
            return qerr(err, ALLOT_E_INVALID, path, q->line,
                        "samples[%zu].correct: answer \"%s\" is graded %s here but %s in samples[%zu]", i,
                        q->answers[a], c ? "correct" : "incorrect", c ? "incorrect" : "correct",
                        w->ans_first[a]);
        }
    }
    return ALLOT_OK;
}

/* Uniform integer in [0, n) for n <= 2^32 from the high 32 bits of one draw (Lemire's
 * multiply-and-reject: no division except in the rare rejection branch). */
static uint32_t draw_below(allot_rng *rng, uint32_t n) {
    uint64_t m = (allot_rng_next(rng) >> 32) * (uint64_t)n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (allot_rng_next(rng) >> 32) * (uint64_t)n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* The first kmax entries of permutation number p of 0..n-1 for one (query, model) stream: a
 * forward Fisher-Yates shuffle, so entry i depends only on draws 0..i and the k-prefix is the
 * same whatever kmax (>= k) is. */
static void perm_prefix(uint64_t seed, uint64_t stream, uint64_t p, uint32_t *perm, size_t n, size_t kmax) {
    allot_rng rng;
    allot_rng_seed_stream(&rng, seed, stream ^ ((p + 1) * 0xbf58476d1ce4e5b9ULL));
    for (size_t j = 0; j < n; j++) perm[j] = (uint32_t)j;
    for (size_t i = 0; i < kmax && i + 1 < n; i++) {
        size_t j = i + draw_below(&rng, (uint32_t)(n - i));
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* perm_prefix's permutation applied to the pool's answers directly: out[i] = answer[perm[i]] for
 * i < kmax (the same swaps on a copy of the answers; the same draws). */
static void perm_answers(uint64_t seed, uint64_t stream, uint64_t p, const int *answer, int *out, size_t n,
                         size_t kmax) {
    allot_rng seeded;
    allot_rng_seed_stream(&seeded, seed, stream ^ ((p + 1) * 0xbf58476d1ce4e5b9ULL));
    allot_rng rng = seeded; /* a copy whose address stays here: its state can live in registers */
    memcpy(out, answer, n * sizeof *out);
    for (size_t i = 0; i < kmax && i + 1 < n; i++) {
        size_t j = i + draw_below(&rng, (uint32_t)(n - i));
        int t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

/* C(n,k) when it is at most limit, else -1. */
static long choose_upto(size_t n, size_t k, long limit) {
    if (k > n) return 0;
    if (k > n - k) k = n - k;
    double c = 1.0;
    for (size_t i = 0; i < k; i++) {
        c = c * (double)(n - i) / (double)(i + 1);
        if (c > (double)limit + 0.5) return -1;
    }
    return (long)(c + 0.5);
}

/* Mean vote outcome over every k-subset of 0..n-1 (lexicographic combinations in idx[0..k)). */
static double vote_all_subsets(const allot_vote_pool *pool, size_t n, size_t k, uint32_t *idx, double *work) {
    for (size_t i = 0; i < k; i++) idx[i] = (uint32_t)i;
    double sum = 0.0;
    long count = 0;
    for (;;) {
        sum += allot_est_vote_set(pool, idx, k, work);
        count++;
        size_t i = k;
        while (i > 0 && idx[i - 1] == n - k + i - 1) i--;
        if (i == 0) break;
        idx[i - 1]++;
        for (size_t j = i; j < k; j++) idx[j] = idx[j - 1] + 1;
    }
    return sum / (double)count;
}

/* All tiers of one model for one query. */
static allot_status model_tiers(const allot_query *q, int model, const char *model_name,
                                const allot_tier_set *ts, const allot_curves_options *opt, workspace *w,
                                double *acc, double *cost, double *se, const char *path, allot_error *err) {
    size_t n = 0, c = 0;
    double cost_sum = 0.0;
    int any_answer_key = 0;
    for (size_t i = 0; i < q->n_samples; i++)
        if (q->samples[i].model == model) {
            w->pool[n++] = (uint32_t)i;
            c += (size_t)q->samples[i].correct;
            cost_sum += q->samples[i].cost;
            any_answer_key |= q->samples[i].answer_present;
        }
    double cost_mean = cost_sum / (double)n;
    int any_perm = 0;
    for (size_t t = 0; t < ts->n; t++) {
        if (w->midx[t] != model) continue;
        const allot_tier *tier = &ts->tiers[t];
        size_t k = (size_t)tier->k;
        if (k > n) {
            if (!opt->cap_k)
                return qerr(err, ALLOT_E_INVALID, path, q->line,
                            "tier %s: k = %zu but model \"%s\" has only %zu samples for this query (use "
                            "--cap-k to cap k)",
                            tier->name, k, model_name, n);
            k = n;
        }
        cost[t] = (double)k * cost_mean;
        se[t] = 0.0;
        if (tier->rule == ALLOT_SELECT_PASS) {
            acc[t] = allot_est_pass(n, c, k);
        } else if (tier->rule == ALLOT_SELECT_BEST) {
            /* all best tiers of one aggregation at once: score and sort the pool once */
            int first = 1;
            for (size_t u = 0; u < t; u++)
                if (w->midx[u] == model && ts->tiers[u].rule == ALLOT_SELECT_BEST &&
                    ts->tiers[u].agg == tier->agg)
                    first = 0;
            if (!first) continue;
            for (size_t j = 0; j < n; j++) {
                allot_status st = sample_score(q, w->pool[j], tier, path, &w->scored[j].score, err);
                if (st) return st;
                w->scored[j].correct = q->samples[w->pool[j]].correct;
            }
            size_t nk = 0;
            for (size_t u = t; u < ts->n; u++)
                if (w->midx[u] == model && ts->tiers[u].rule == ALLOT_SELECT_BEST &&
                    ts->tiers[u].agg == tier->agg)
                    w->kbuf[nk++] = ts->tiers[u].k < (int)n ? ts->tiers[u].k : (int)n;
            allot_est_best(w->scored, n, w->kbuf, nk, w->kout);
            nk = 0;
            for (size_t u = t; u < ts->n; u++)
                if (w->midx[u] == model && ts->tiers[u].rule == ALLOT_SELECT_BEST &&
                    ts->tiers[u].agg == tier->agg)
                    acc[u] = w->kout[nk++];
        } else if (is_vote_rule(tier->rule)) {
            if (!any_answer_key)
                return qerr(
                    err, ALLOT_E_INVALID, path, q->line,
                    "samples[%zu].answer: missing (tier %s needs answers; no sample of model \"%s\" has one)",
                    (size_t)w->pool[0], tier->name, model_name);
            any_perm = 1;
        }
    }
    if (!any_perm) return ALLOT_OK;

    /* Vote tiers: one pass per distinct (rule, agg) group and permutation. Groups are few, so a
     * group is identified by its first tier and found again by a linear scan. */
    allot_vote_pool pool = {n, w->answer, w->weight, q->n_answers, w->ans_correct};
    for (size_t j = 0; j < n; j++) w->answer[j] = q->samples[w->pool[j]].answer;
    for (size_t t = 0; t < ts->n; t++) {
        if (w->midx[t] != model || !is_vote_rule(ts->tiers[t].rule)) continue;
        w->wmean[t] = w->wm2[t] = 0.0;
    }
    for (size_t g = 0; g < ts->n; g++) {
        const allot_tier *gt = &ts->tiers[g];
        if (w->midx[g] != model || !is_vote_rule(gt->rule)) continue;
        int first = 1;
        for (size_t t = 0; t < g; t++)
            if (w->midx[t] == model && ts->tiers[t].rule == gt->rule && ts->tiers[t].agg == gt->agg)
                first = 0;
        if (!first) continue;
        /* weights of this group */
        if (gt->rule == ALLOT_SELECT_MAJORITY) {
            for (size_t j = 0; j < n; j++) w->weight[j] = 1.0;
        } else {
            for (size_t j = 0; j < n; j++) {
                allot_status st = sample_score(q, w->pool[j], gt, path, &w->weight[j], err);
                if (st) return st;
                if (w->weight[j] < 0)
                    return qerr(err, ALLOT_E_INVALID, path, q->line,
                                "samples[%zu].score: negative (%.17g); tier %s sums scores as vote weights, "
                                "which must be >= 0",
                                (size_t)w->pool[j], w->weight[j], gt->name);
            }
        }
        size_t kmax = 0;
        int need_perm = 0;
        for (size_t t = g; t < ts->n; t++) {
            const allot_tier *tier = &ts->tiers[t];
            if (w->midx[t] != model || tier->rule != gt->rule || tier->agg != gt->agg) continue;
            size_t k = (size_t)tier->k < n ? (size_t)tier->k : n;
            w->exact[t] = 1;
            if (k == n) {
                for (size_t j = 0; j < n; j++) w->perm[j] = (uint32_t)j;
                acc[t] = allot_est_vote_set(&pool, w->perm, n, w->vote_work);
            } else if (k == 1) {
                double s = 0.0;
                for (size_t j = 0; j < n; j++)
                    s += w->answer[j] >= 0 ? (double)w->ans_correct[w->answer[j]] : 0.0;
                acc[t] = s / (double)n;
            } else if (opt->max_exact_subsets > 0 && choose_upto(n, k, opt->max_exact_subsets) > 0) {
                /* few subsets: the exact average costs no more than the permutations */
                acc[t] = vote_all_subsets(&pool, n, k, w->perm, w->vote_work);
            } else {
                w->exact[t] = 0;
                need_perm = 1;
                if (k > kmax) kmax = k;
            }
        }
        if (!need_perm) continue;
        /* Permutation p of this (query, model) comes from its own stream, so it is the same for
         * every group and tier set, and only its first kmax entries need to be drawn. */
        uint64_t stream = allot_hash64(q->id, strlen(q->id)) ^
                          (allot_hash64(model_name, strlen(model_name)) * 0x9e3779b97f4a7c15ULL);
        /* majority: the distinct k of the tiers estimated here, ascending (their outcomes only) */
        size_t at[ALLOT_MAX_TIERS], n_at = 0;
        double at_out[ALLOT_MAX_TIERS];
        int majority = gt->rule == ALLOT_SELECT_MAJORITY;
        int *slot = (int *)w->perm; /* the pool's answers, null as slot n_answers (perm is free here) */
        if (majority) {
            for (size_t j = 0; j < n; j++) slot[j] = w->answer[j] >= 0 ? w->answer[j] : (int)q->n_answers;
            w->ans_correct[q->n_answers] = 0;
        }
        if (majority)
            for (size_t kk = 1; kk <= kmax; kk++)
                for (size_t t = g; t < ts->n; t++) {
                    const allot_tier *tier = &ts->tiers[t];
                    if (w->midx[t] != model || tier->rule != gt->rule || tier->agg != gt->agg || w->exact[t])
                        continue;
                    if (((size_t)tier->k < n ? (size_t)tier->k : n) == kk) {
                        at[n_at++] = kk;
                        break;
                    }
                }
        for (int p = 0; p < opt->permutations; p++) {
            if (majority) {
                perm_answers(opt->seed, stream, (uint64_t)p, slot, w->ans_perm, n, kmax);
                allot_est_majority_at(w->ans_perm, kmax, w->ans_correct, q->n_answers + 1, at, n_at, at_out,
                                      w->maj_work);
                for (size_t i = 0; i < n_at; i++) w->prefix[at[i] - 1] = at_out[i];
            } else {
                perm_prefix(opt->seed, stream, (uint64_t)p, w->perm, n, kmax);
                allot_est_vote_prefixes(&pool, w->perm, kmax, w->prefix, w->vote_work);
            }
            for (size_t t = g; t < ts->n; t++) {
                const allot_tier *tier = &ts->tiers[t];
                if (w->midx[t] != model || tier->rule != gt->rule || tier->agg != gt->agg) continue;
                if (w->exact[t]) continue;
                size_t k = (size_t)tier->k < n ? (size_t)tier->k : n;
                double x = w->prefix[k - 1], d = x - w->wmean[t];
                w->wmean[t] += d / (double)(p + 1);
                w->wm2[t] += d * (x - w->wmean[t]);
            }
        }
        for (size_t t = g; t < ts->n; t++) {
            const allot_tier *tier = &ts->tiers[t];
            if (w->midx[t] != model || tier->rule != gt->rule || tier->agg != gt->agg) continue;
            if (w->exact[t]) continue;
            double P = (double)opt->permutations;
            acc[t] = w->wmean[t];
            se[t] = sqrt(w->wm2[t] / (P - 1.0) / P);
        }
    }
    return ALLOT_OK;
}

static allot_status compute_samples_line(const allot_query *q, const allot_runs_reader *r,
                                         const allot_tier_set *ts, const allot_curves_options *opt,
                                         workspace *w, double *acc, double *cost, double *se,
                                         allot_error *err) {
    const char *path = allot_runs_reader_path(r);
    size_t n_models = allot_runs_reader_n_models(r);
    if (ws_reserve(w, q->n_samples + 1) ||
        allot_reserve((void **)&w->model_done, &w->cap_models, n_models, sizeof *w->model_done))
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    memset(w->model_done, 0, n_models);
    size_t distinct = 0;
    for (size_t i = 0; i < q->n_samples; i++)
        if (!w->model_done[q->samples[i].model]) {
            w->model_done[q->samples[i].model] = 1;
            distinct++;
        }
    int any_vote = 0;
    for (size_t t = 0; t < ts->n; t++) {
        const allot_tier *tier = &ts->tiers[t];
        if (tier->rule == ALLOT_SELECT_PRECOMPUTED)
            return qerr(err, ALLOT_E_INVALID, path, q->line,
                        "samples: tier %s is precomputed but this line has samples", tier->name);
        any_vote |= is_vote_rule(tier->rule);
        if (!tier->model) {
            if (distinct > 1)
                return qerr(err, ALLOT_E_INVALID, path, q->line,
                            "samples: tier %s names no model but the query has samples of %zu models (write "
                            "MODEL:%s)",
                            tier->name, distinct, tier->name);
            w->midx[t] = q->samples[0].model;
            continue;
        }
        w->midx[t] = -1;
        for (size_t m = 0; m < n_models; m++)
            if (w->model_done[m] && strcmp(allot_runs_reader_model_name(r, (int)m), tier->model) == 0)
                w->midx[t] = (int)m;
        if (w->midx[t] < 0)
            return qerr(err, ALLOT_E_INVALID, path, q->line,
                        "samples: tier %s: no sample of model \"%s\" in this query", tier->name, tier->model);
    }
    if (any_vote) {
        allot_status st = answer_grades(q, w, path, err);
        if (st) return st;
    }
    memset(w->model_done, 0, n_models);
    for (size_t t = 0; t < ts->n; t++) {
        int m = w->midx[t];
        if (w->model_done[m]) continue;
        w->model_done[m] = 1;
        allot_status st =
            model_tiers(q, m, allot_runs_reader_model_name(r, m), ts, opt, w, acc, cost, se, path, err);
        if (st) return st;
    }
    return ALLOT_OK;
}

/* Make room for one more query row: the per-query arrays share the capacity cap_q (in rows; acc,
 * cost and se hold n_tiers doubles a row), foff has one entry more and its own capacity. */
static int builder_grow(builder *b, size_t n_tiers) {
    allot_curves *c = b->c;
    size_t rows = c->n_queries + 1, cap = b->cap_q;
#define GROWQ(p, per) (cap = b->cap_q, allot_reserve((void **)&(p), &cap, rows, (per) * sizeof *(p)))
    int failed = GROWQ(c->ids, 1) || GROWQ(c->prompts, 1) || GROWQ(c->meta_json, 1) ||
                 GROWQ(c->acc, n_tiers) || GROWQ(c->cost, n_tiers) || GROWQ(c->se, n_tiers);
#undef GROWQ
    if (failed || allot_reserve((void **)&b->foff, &b->foff_cap, rows + 1, sizeof *b->foff)) return -1;
    b->cap_q = cap;
    return 0;
}

/* A vector feature of row `row` (the query being added): the file's one embedding, same name and
 * dimension in every line; rows before its first appearance get NaN. */
static allot_status add_embedding(builder *b, size_t row, const allot_query *q, const allot_named_value *v,
                                  const char *path, allot_error *err) {
    allot_curves *c = b->c;
    if (!c->embed_name) {
        for (size_t j = 0; j < c->n_features; j++)
            if (!strcmp(c->feature_names[j], v->name))
                return qerr(err, ALLOT_E_INVALID, path, q->line,
                            "features.%s: a vector here, a number before", v->name);
        if (!(c->embed_name = allot_strdup(v->name)))
            return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        c->embed_dim = v->dim;
    } else if (strcmp(c->embed_name, v->name)) {
        return qerr(err, ALLOT_E_INVALID, path, q->line,
                    "features.%s: a second vector feature (the file's embedding is features.%s; at most one)",
                    v->name, c->embed_name);
    } else if (v->dim != c->embed_dim) {
        return qerr(err, ALLOT_E_INVALID, path, q->line, "features.%s: %zu values, earlier lines have %zu",
                    v->name, v->dim, c->embed_dim);
    }
    size_t old = b->embed_cap;
    if (allot_reserve((void **)&c->embed, &b->embed_cap, row + 1, c->embed_dim * sizeof *c->embed))
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    for (size_t k = old * c->embed_dim; k < b->embed_cap * c->embed_dim; k++) c->embed[k] = NAN;
    memcpy(c->embed + row * c->embed_dim, v->vec, v->dim * sizeof *c->embed);
    return ALLOT_OK;
}

static allot_status add_features(builder *b, size_t row, const allot_query *q, const char *path,
                                 allot_error *err) {
    allot_curves *c = b->c;
    for (size_t i = 0; i < q->n_features; i++) {
        const char *name = q->features[i].name;
        if (q->features[i].vec) {
            allot_status st = add_embedding(b, row, q, &q->features[i], path, err);
            if (st) return st;
            continue;
        }
        if (c->embed_name && !strcmp(c->embed_name, name))
            return qerr(err, ALLOT_E_INVALID, path, q->line, "features.%s: a number here, a vector before",
                        name);
        size_t f = c->n_features;
        if (!allot_strmap_get(&b->feature_index, name, &f)) {
            if (c->n_features >= ALLOT_MAX_FEATURES)
                return qerr(err, ALLOT_E_INVALID, path, q->line,
                            "features.%s: more than %u distinct feature names in the file (the limit)", name,
                            ALLOT_MAX_FEATURES);
            if (allot_reserve((void **)&c->feature_names, &b->feat_cap, c->n_features + 1,
                              sizeof *c->feature_names))
                return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            if (!(c->feature_names[c->n_features] = allot_strdup(name)))
                return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            f = c->n_features++;
            if (allot_strmap_put(&b->feature_index, c->feature_names[f], f, NULL) < 0)
                return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        }
        size_t cap = b->fv_cap;
        if (allot_reserve((void **)&b->fidx, &cap, b->n_fv + 1, sizeof *b->fidx) ||
            allot_reserve((void **)&b->fval, &b->fv_cap, b->n_fv + 1, sizeof *b->fval))
            return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        b->fidx[b->n_fv] = (uint32_t)f;
        b->fval[b->n_fv++] = q->features[i].value;
    }
    return ALLOT_OK;
}

allot_status allot_curves_compute(const char *runs_path, const allot_tier_set *tiers,
                                  const allot_curves_options *opt, allot_curves **out, allot_error *err) {
    *out = NULL;
    allot_curves_options defaults;
    if (!opt) {
        allot_curves_options_default(&defaults);
        opt = &defaults;
    }
    if (opt->permutations < 2 || (unsigned)opt->permutations > ALLOT_MAX_PERMUTATIONS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "curves: permutations must be in 2..%u (got %d)",
                               ALLOT_MAX_PERMUTATIONS, opt->permutations);
    if (opt->max_exact_subsets < 0 || opt->max_exact_subsets > (long)ALLOT_MAX_EXACT_SUBSETS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "curves: exact subsets must be in 0..%u (got %ld)",
                               ALLOT_MAX_EXACT_SUBSETS, opt->max_exact_subsets);
    if (tiers && tiers->n > ALLOT_MAX_TIERS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "curves: %zu tiers, at most %u allowed", tiers->n,
                               ALLOT_MAX_TIERS);
    allot_runs_reader *r = NULL;
    allot_status st = allot_runs_reader_open(runs_path, &r, err);
    if (st) return st;
    builder b = {0};
    workspace w = {0};
    allot_curves *c = calloc(1, sizeof *c);
    int precomputed = !tiers || tiers->n == 0;
    if (!c) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    b.c = c;
    c->seed = opt->seed;
    c->cap_k = opt->cap_k ? 1 : 0;
    c->max_exact_subsets = opt->max_exact_subsets;
    c->source = allot_strdup(runs_path);
    if (!c->source) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    if (!precomputed) {
        if ((st = allot_tier_set_copy(tiers, &c->tier_defs, err))) goto done;
        c->n_tiers = tiers->n;
        c->permutations = 0;
        for (size_t t = 0; t < tiers->n; t++)
            if (is_vote_rule(tiers->tiers[t].rule)) c->permutations = opt->permutations;
        w.midx = calloc(tiers->n, sizeof *w.midx);
        w.wmean = calloc(tiers->n, sizeof *w.wmean);
        w.wm2 = calloc(tiers->n, sizeof *w.wm2);
        w.kbuf = calloc(tiers->n, sizeof *w.kbuf);
        w.exact = calloc(tiers->n, sizeof *w.exact);
        w.kout = calloc(tiers->n, sizeof *w.kout);
        c->tier_names = calloc(tiers->n, sizeof *c->tier_names);
        if (!w.midx || !w.wmean || !w.wm2 || !w.kbuf || !w.kout || !w.exact || !c->tier_names) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t t = 0; t < tiers->n; t++)
            if (!(c->tier_names[t] = allot_strdup(tiers->tiers[t].name))) {
                st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
                goto done;
            }
    }
    allot_progress prog;
    allot_progress_start(&prog, "curves", 0, opt->progress);
    for (;;) {
        allot_query q;
        int has = 0;
        if ((st = allot_runs_reader_next(r, &q, &has, err))) goto done;
        if (!has) break;
        if (c->n_queries == 0 && precomputed) {
            if (!q.n_tiers) {
                st = qerr(
                    err, ALLOT_E_INVALID, runs_path, q.line,
                    "samples: no tier set given (e.g. --tiers majority@1,4,16) and this line has samples");
                goto done;
            }
            c->n_tiers = q.n_tiers;
            c->tier_names = calloc(q.n_tiers, sizeof *c->tier_names);
            c->tier_defs.tiers = calloc(q.n_tiers, sizeof *c->tier_defs.tiers);
            if (!c->tier_names || !c->tier_defs.tiers) {
                st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
                goto done;
            }
            for (size_t t = 0; t < q.n_tiers; t++) {
                c->tier_names[t] = allot_strdup(q.tiers[t].name);
                c->tier_defs.tiers[t].name = allot_strdup(q.tiers[t].name);
                c->tier_defs.tiers[t].rule = ALLOT_SELECT_PRECOMPUTED;
                c->tier_defs.n = t + 1;
                if (!c->tier_names[t] || !c->tier_defs.tiers[t].name) {
                    st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
                    goto done;
                }
            }
        }
        if (c->n_queries >= ALLOT_MAX_QUERIES || c->n_queries + 1 > ALLOT_MAX_CURVE_VALUES / c->n_tiers) {
            st = qerr(err, ALLOT_E_INVALID, runs_path, q.line,
                      "id: too many queries (%zu queries x %zu tiers exceed the limits of docs/limits.md)",
                      c->n_queries + 1, c->n_tiers);
            goto done;
        }
        if (builder_grow(&b, c->n_tiers)) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        size_t row = c->n_queries;
        double *acc = c->acc + row * c->n_tiers, *cost = c->cost + row * c->n_tiers,
               *se = c->se + row * c->n_tiers;
        if (precomputed) {
            if (!q.n_tiers) {
                st = qerr(err, ALLOT_E_INVALID, runs_path, q.line,
                          "samples: the first line has precomputed tiers, so every line must (no tier set "
                          "was given)");
                goto done;
            }
            for (size_t t = 0; t < c->n_tiers; t++) {
                acc[t] = q.tiers[t].acc;
                cost[t] = q.tiers[t].cost;
                se[t] = 0.0;
            }
        } else {
            if (q.n_tiers) {
                st = qerr(
                    err, ALLOT_E_INVALID, runs_path, q.line,
                    "tiers: this line has precomputed tiers; a tier set (--tiers) applies only to samples");
                goto done;
            }
            if ((st = compute_samples_line(&q, r, tiers, opt, &w, acc, cost, se, err))) goto done;
        }
        b.foff[row] = b.n_fv;
        if ((st = add_features(&b, row, &q, runs_path, err))) goto done;
        c->ids[row] = allot_strdup(q.id);
        c->prompts[row] = q.prompt ? allot_strdup(q.prompt) : NULL;
        c->meta_json[row] = q.meta_json ? allot_strdup(q.meta_json) : NULL;
        c->n_queries++;
        if (!c->ids[row] || (q.prompt && !c->prompts[row]) || (q.meta_json && !c->meta_json[row])) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        allot_progress_update(&prog, c->n_queries);
    }
    allot_progress_finish(&prog, c->n_queries);
    if (c->n_queries == 0) {
        st = allot_error_set(err, ALLOT_E_INVALID,
                             "%s: no queries: the file is empty (or holds only blank lines)", runs_path);
        goto done;
    }
    /* The embedding's rows after the last line that had one: NaN. */
    if (c->embed_name) {
        size_t old = b.embed_cap;
        if (allot_reserve((void **)&c->embed, &b.embed_cap, c->n_queries, c->embed_dim * sizeof *c->embed)) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t k = old * c->embed_dim; k < b.embed_cap * c->embed_dim; k++) c->embed[k] = NAN;
    }
    /* Dense features, NaN where a query lacks one. */
    if (c->n_features && c->n_queries > ALLOT_MAX_FEATURE_VALUES / c->n_features) {
        st = allot_error_set(
            err, ALLOT_E_INVALID,
            "%s: features: %zu queries x %zu feature names exceed the limit of docs/limits.md", runs_path,
            c->n_queries, c->n_features);
        goto done;
    }
    if (c->n_features) {
        c->features = malloc(c->n_queries * c->n_features * sizeof *c->features);
        if (!c->features) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < c->n_queries * c->n_features; i++) c->features[i] = NAN;
        b.foff[c->n_queries] = b.n_fv;
        for (size_t i = 0; i < c->n_queries; i++)
            for (size_t v = b.foff[i]; v < b.foff[i + 1]; v++)
                c->features[i * c->n_features + b.fidx[v]] = b.fval[v];
    }
done:
    allot_runs_reader_close(r);
    ws_free(&w);
    free(b.fidx);
    free(b.fval);
    free(b.foff);
    allot_strmap_free(&b.feature_index);
    if (st) {
        allot_curves_free(c);
        return st;
    }
    *out = c;
    return ALLOT_OK;
}
