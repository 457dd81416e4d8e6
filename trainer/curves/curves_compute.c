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
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curves_batch.h"
#include "curves_internal.h"
#include "estimators.h"
#include "perm_majority.h"
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

/* What a line's values need of the reader besides the line: its path (for errors) and its models. */
typedef struct runs_models {
    const char *path;
    size_t n;
    const char *const *names;
} runs_models;

static runs_models reader_models(const allot_runs_reader *r) {
    runs_models m = {allot_runs_reader_path(r), allot_runs_reader_n_models(r),
                     allot_runs_reader_model_names(r)};
    return m;
}

/* Per-query working memory (reused). */
typedef struct workspace {
    size_t cap_n;   /* samples */
    uint32_t *pool; /* sample index of each pool entry */
    uint32_t *perm;
    int *answer;
    double *weight;
    double *prefix;
    double *vote_work;
    void *maj_block; /* majority: allot_majority_block's working memory (maj_cap bytes) */
    size_t maj_cap;
    allot_scored *scored;
    unsigned char *ans_correct;
    signed char *ans_seen; /* -1 unseen, else the correct flag of its first sample */
    size_t *ans_first;
    int *midx;            /* per tier: model index */
    size_t *ptier, *pk;   /* the tiers of one group left to the permutations, and their k */
    double *wmean, *wm2;  /* their Welford accumulators (the same order) */
    int *kbuf;            /* per tier: ks of one best group */
    unsigned char *exact; /* per tier: value computed exactly (no permutations) */
    double *kout;         /* per tier: their values */
    double *maj_out;      /* per tier and permutation of a block: majority outcomes */
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
    free(w->maj_block);
    free(w->scored);
    free(w->ans_correct);
    free(w->ans_seen);
    free(w->ans_first);
    free(w->midx);
    free(w->ptier);
    free(w->pk);
    free(w->wmean);
    free(w->wm2);
    free(w->kbuf);
    free(w->exact);
    free(w->kout);
    free(w->maj_out);
    free(w->model_done);
}

static int ws_reserve(workspace *w, size_t n) {
    /* Every per-sample array has capacity w->cap_n: each grows from the same old capacity, so each
     * ends at the same new one (after a failure some may be larger than cap_n, which is harmless). */
    size_t c = w->cap_n;
#define GROW(p) (c = w->cap_n, allot_reserve((void **)&(p), &c, n, sizeof *(p)))
    int failed = GROW(w->pool) || GROW(w->perm) || GROW(w->answer) || GROW(w->weight) || GROW(w->prefix) ||
                 GROW(w->vote_work) || GROW(w->scored) || GROW(w->ans_correct) || GROW(w->ans_seen) ||
                 GROW(w->ans_first);
#undef GROW
    /* a pool of n - 1 samples has at most n answer slots (its answers and the null) */
    allot_majority_job largest = {NULL, n, NULL, n, NULL, 0};
    if (failed || allot_reserve(&w->maj_block, &w->maj_cap, allot_majority_block_work(&largest), 1))
        return -1;
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

/* The first kmax entries of permutation number p of 0..n-1 for one (query, model) stream: a
 * forward Fisher-Yates shuffle, so entry i depends only on draws 0..i and the k-prefix is the
 * same whatever kmax (>= k) is. */
static void perm_prefix(uint64_t seed, uint64_t stream, uint64_t p, uint32_t *perm, size_t n, size_t kmax) {
    allot_rng rng;
    allot_perm_seed(&rng, seed, stream, p);
    for (size_t j = 0; j < n; j++) perm[j] = (uint32_t)j;
    for (size_t i = 0; i < kmax && i + 1 < n; i++) {
        size_t j = i + allot_perm_draw_below(&rng, (uint32_t)(n - i));
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
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
/* One (query, model): its pool and the tiers of that model. */
typedef struct model_job {
    const allot_query *q;
    int model;
    const char *model_name, *path;
    const allot_tier_set *ts;
    const allot_curves_options *opt;
    workspace *w;
    double *acc, *cost, *se;
    allot_error *err;
    size_t n; /* pool size */
} model_job;

/* Tier u belongs to the group (model, rule, agg) of tier g. */
static int in_group(const model_job *j, size_t u, const allot_tier *g) {
    const allot_tier *t = &j->ts->tiers[u];
    return j->w->midx[u] == j->model && t->rule == g->rule && t->agg == g->agg;
}

/* g is the first tier of its group. */
static int group_first(const model_job *j, size_t g) {
    for (size_t u = 0; u < g; u++)
        if (in_group(j, u, &j->ts->tiers[g])) return 0;
    return 1;
}

static size_t k_in_pool(const model_job *j, size_t t) {
    size_t k = (size_t)j->ts->tiers[t].k;
    return k < j->n ? k : j->n;
}

/* All best tiers of one aggregation at once: score and sort the pool once. */
static allot_status best_group(const model_job *j, size_t t) {
    workspace *w = j->w;
    const allot_tier *tier = &j->ts->tiers[t];
    for (size_t i = 0; i < j->n; i++) {
        allot_status st = sample_score(j->q, w->pool[i], tier, j->path, &w->scored[i].score, j->err);
        if (st) return st;
        w->scored[i].correct = j->q->samples[w->pool[i]].correct;
    }
    size_t nk = 0;
    for (size_t u = t; u < j->ts->n; u++)
        if (in_group(j, u, tier)) w->kbuf[nk++] = (int)k_in_pool(j, u);
    allot_est_best(w->scored, j->n, w->kbuf, nk, w->kout);
    nk = 0;
    for (size_t u = t; u < j->ts->n; u++)
        if (in_group(j, u, tier)) j->acc[u] = w->kout[nk++];
    return ALLOT_OK;
}

/* Costs, pass and best tiers (exact); *any_vote when a vote tier needs the permutation pass. */
static allot_status exact_tiers(const model_job *j, double cost_mean, size_t n_correct, int any_answer_key,
                                int *any_vote) {
    const workspace *w = j->w;
    *any_vote = 0;
    for (size_t t = 0; t < j->ts->n; t++) {
        if (w->midx[t] != j->model) continue;
        const allot_tier *tier = &j->ts->tiers[t];
        size_t k = (size_t)tier->k;
        if (k > j->n && !j->opt->cap_k)
            return qerr(j->err, ALLOT_E_INVALID, j->path, j->q->line,
                        "tier %s: k = %zu but model \"%s\" has only %zu samples for this query (use "
                        "--cap-k to cap k)",
                        tier->name, k, j->model_name, j->n);
        k = k_in_pool(j, t);
        j->cost[t] = (double)k * cost_mean;
        j->se[t] = 0.0;
        if (tier->rule == ALLOT_SELECT_PASS) {
            j->acc[t] = allot_est_pass(j->n, n_correct, k);
        } else if (tier->rule == ALLOT_SELECT_BEST) {
            if (!group_first(j, t)) continue;
            allot_status st = best_group(j, t);
            if (st) return st;
        } else if (is_vote_rule(tier->rule)) {
            if (!any_answer_key)
                return qerr(
                    j->err, ALLOT_E_INVALID, j->path, j->q->line,
                    "samples[%zu].answer: missing (tier %s needs answers; no sample of model \"%s\" has one)",
                    (size_t)w->pool[0], tier->name, j->model_name);
            *any_vote = 1;
        }
    }
    return ALLOT_OK;
}

/* The vote weights of group g: 1 for majority, else each sample's score (>= 0). */
static allot_status group_weights(const model_job *j, const allot_tier *gt) {
    workspace *w = j->w;
    if (gt->rule == ALLOT_SELECT_MAJORITY) {
        for (size_t i = 0; i < j->n; i++) w->weight[i] = 1.0;
        return ALLOT_OK;
    }
    for (size_t i = 0; i < j->n; i++) {
        allot_status st = sample_score(j->q, w->pool[i], gt, j->path, &w->weight[i], j->err);
        if (st) return st;
        if (w->weight[i] < 0)
            return qerr(j->err, ALLOT_E_INVALID, j->path, j->q->line,
                        "samples[%zu].score: negative (%.17g); tier %s sums scores as vote weights, "
                        "which must be >= 0",
                        (size_t)w->pool[i], w->weight[i], gt->name);
    }
    return ALLOT_OK;
}

/* The group's tiers computed exactly (k = n, k = 1, few subsets); returns the largest k left to the
 * permutations (0: none). */
static size_t group_exact(const model_job *j, size_t g, const allot_vote_pool *pool) {
    workspace *w = j->w;
    size_t n = j->n, kmax = 0;
    for (size_t t = g; t < j->ts->n; t++) {
        if (!in_group(j, t, &j->ts->tiers[g])) continue;
        size_t k = k_in_pool(j, t);
        w->exact[t] = 1;
        if (k == n) {
            for (size_t i = 0; i < n; i++) w->perm[i] = (uint32_t)i;
            j->acc[t] = allot_est_vote_set(pool, w->perm, n, w->vote_work);
        } else if (k == 1) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++)
                s += w->answer[i] >= 0 ? (double)w->ans_correct[w->answer[i]] : 0.0;
            j->acc[t] = s / (double)n;
        } else if (j->opt->max_exact_subsets > 0 && choose_upto(n, k, j->opt->max_exact_subsets) > 0) {
            /* few subsets: the exact average costs no more than the permutations */
            j->acc[t] = vote_all_subsets(pool, n, k, w->perm, w->vote_work);
        } else {
            w->exact[t] = 0;
            if (k > kmax) kmax = k;
        }
    }
    return kmax;
}

/* The tiers of group g left to the permutations into w->ptier and w->pk, their accumulators zeroed;
 * returns their number. */
static size_t group_perm_tiers(const model_job *j, size_t g) {
    workspace *w = j->w;
    size_t n = 0;
    for (size_t t = g; t < j->ts->n; t++) {
        if (!in_group(j, t, &j->ts->tiers[g]) || w->exact[t]) continue;
        w->ptier[n] = t;
        w->pk[n] = k_in_pool(j, t);
        w->wmean[n] = w->wm2[n] = 0.0;
        n++;
    }
    return n;
}

/* majority: the distinct k (ascending, at most kmax) of the n permuted tiers listed in w->pk. */
static size_t majority_ks(const workspace *w, size_t n, size_t kmax, size_t *at) {
    size_t n_at = 0;
    for (size_t kk = 1; kk <= kmax; kk++)
        for (size_t i = 0; i < n; i++)
            if (w->pk[i] == kk) {
                at[n_at++] = kk;
                break;
            }
    return n_at;
}

/* Permutation p's values at the n permuted tiers (w->prefix) into their running mean and variance. */
static void accumulate_permutation(workspace *w, size_t n, int p) {
    for (size_t i = 0; i < n; i++) {
        double x = w->prefix[w->pk[i] - 1], d = x - w->wmean[i];
        w->wmean[i] += d / (double)(p + 1);
        w->wm2[i] += d * (x - w->wmean[i]);
    }
}

/* majority: permutations p0 .. p0 + count - 1 drawn and scored together, out[l * n_at + i] being
 * permutation p0 + l's outcome at prefix at[i]. */
static void majority_block(const model_job *j, uint64_t stream, int p0, size_t count,
                           const allot_majority_job *job, double *out) {
    allot_rng rng[ALLOT_PERM_BLOCK];
    allot_perm_seed_block(rng, count, j->opt->seed, stream, (uint64_t)p0);
    allot_majority_block(job, rng, count, out, j->w->maj_block);
}

/* The group's other tiers: the mean (and standard error) over opt->permutations permutations of the
 * pool. Permutation p of this (query, model) comes from its own stream, so it is the same for every
 * group and tier set, and only its first kmax entries need to be drawn. */
static void group_permutations(const model_job *j, size_t g, const allot_vote_pool *pool, size_t kmax) {
    workspace *w = j->w;
    const allot_query *q = j->q;
    size_t n = j->n, at[ALLOT_MAX_TIERS];
    uint64_t stream = allot_hash64(q->id, strlen(q->id)) ^
                      (allot_hash64(j->model_name, strlen(j->model_name)) * 0x9e3779b97f4a7c15ULL);
    double *block = w->maj_out;
    int majority = j->ts->tiers[g].rule == ALLOT_SELECT_MAJORITY, perms = j->opt->permutations;
    int *slot = (int *)w->perm; /* the pool's answers, null as slot n_answers (perm is free here) */
    allot_majority_job job = {slot, n, w->ans_correct, q->n_answers + 1, at, 0};
    size_t n_perm = group_perm_tiers(j, g);
    if (majority) {
        for (size_t i = 0; i < n; i++) slot[i] = w->answer[i] >= 0 ? w->answer[i] : (int)q->n_answers;
        w->ans_correct[q->n_answers] = 0;
        job.n_at = majority_ks(w, n_perm, kmax, at);
    }
    for (int p0 = 0; p0 < perms; p0 += ALLOT_PERM_BLOCK) {
        size_t count = (size_t)(perms - p0) < ALLOT_PERM_BLOCK ? (size_t)(perms - p0) : ALLOT_PERM_BLOCK;
        if (majority) majority_block(j, stream, p0, count, &job, block);
        for (size_t l = 0; l < count; l++) {
            if (majority) {
                for (size_t i = 0; i < job.n_at; i++) w->prefix[at[i] - 1] = block[l * job.n_at + i];
            } else {
                perm_prefix(j->opt->seed, stream, (uint64_t)p0 + l, w->perm, n, kmax);
                allot_est_vote_prefixes(pool, w->perm, kmax, w->prefix, w->vote_work);
            }
            accumulate_permutation(w, n_perm, p0 + (int)l);
        }
    }
    double P = (double)perms;
    for (size_t i = 0; i < n_perm; i++) {
        j->acc[w->ptier[i]] = w->wmean[i];
        j->se[w->ptier[i]] = sqrt(w->wm2[i] / (P - 1.0) / P);
    }
}

/* Vote tiers: one pass per distinct (rule, agg) group and permutation. Groups are few, so a group is
 * identified by its first tier and found again by a linear scan. */
static allot_status vote_tiers(const model_job *j) {
    workspace *w = j->w;
    allot_vote_pool pool = {j->n, w->answer, w->weight, j->q->n_answers, w->ans_correct};
    for (size_t i = 0; i < j->n; i++) w->answer[i] = j->q->samples[w->pool[i]].answer;
    for (size_t g = 0; g < j->ts->n; g++) {
        const allot_tier *gt = &j->ts->tiers[g];
        if (w->midx[g] != j->model || !is_vote_rule(gt->rule) || !group_first(j, g)) continue;
        allot_status st = group_weights(j, gt);
        if (st) return st;
        size_t kmax = group_exact(j, g, &pool);
        if (kmax) group_permutations(j, g, &pool, kmax);
    }
    return ALLOT_OK;
}

static allot_status model_tiers(const allot_query *q, int model, const char *model_name,
                                const allot_tier_set *ts, const allot_curves_options *opt, workspace *w,
                                double *acc, double *cost, double *se, const char *path, allot_error *err) {
    model_job j = {q, model, model_name, path, ts, opt, w, acc, cost, se, err, 0};
    size_t n_correct = 0;
    double cost_sum = 0.0;
    int any_answer_key = 0, any_vote = 0;
    for (size_t i = 0; i < q->n_samples; i++) /* the pool: this model's samples in file order */
        if (q->samples[i].model == model) {
            w->pool[j.n++] = (uint32_t)i;
            n_correct += (size_t)q->samples[i].correct;
            cost_sum += q->samples[i].cost;
            any_answer_key |= q->samples[i].answer_present;
        }
    allot_status st = exact_tiers(&j, cost_sum / (double)j.n, n_correct, any_answer_key, &any_vote);
    return st || !any_vote ? st : vote_tiers(&j);
}

static allot_status compute_samples_line(const allot_query *q, const runs_models *rm,
                                         const allot_tier_set *ts, const allot_curves_options *opt,
                                         workspace *w, double *acc, double *cost, double *se,
                                         allot_error *err) {
    const char *path = rm->path;
    size_t n_models = rm->n;
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
            if (w->model_done[m] && strcmp(rm->names[m], tier->model) == 0) w->midx[t] = (int)m;
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
        allot_status st = model_tiers(q, m, rm->names[m], ts, opt, w, acc, cost, se, path, err);
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

static allot_status check_compute_options(const allot_tier_set *tiers, const allot_curves_options *opt,
                                          allot_error *err) {
    if (opt->permutations < 2 || (unsigned)opt->permutations > ALLOT_MAX_PERMUTATIONS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "curves: permutations must be in 2..%u (got %d)",
                               ALLOT_MAX_PERMUTATIONS, opt->permutations);
    if (opt->max_exact_subsets < 0 || opt->max_exact_subsets > (long)ALLOT_MAX_EXACT_SUBSETS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "curves: exact subsets must be in 0..%u (got %ld)",
                               ALLOT_MAX_EXACT_SUBSETS, opt->max_exact_subsets);
    if (tiers && tiers->n > ALLOT_MAX_TIERS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "curves: %zu tiers, at most %u allowed", tiers->n,
                               ALLOT_MAX_TIERS);
    return ALLOT_OK;
}

static allot_status nomem(allot_error *err) {
    allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    return ALLOT_E_NOMEM;
}

/* The table's header fields, and for a tier set its tiers and the per-tier working memory. */
static allot_status start_table(allot_curves *c, workspace *w, const char *runs_path,
                                const allot_tier_set *tiers, const allot_curves_options *opt,
                                allot_error *err) {
    c->seed = opt->seed;
    c->cap_k = opt->cap_k ? 1 : 0;
    c->max_exact_subsets = opt->max_exact_subsets;
    if (!(c->source = allot_strdup(runs_path))) return nomem(err);
    if (!tiers || tiers->n == 0) return ALLOT_OK; /* precomputed: the first line names the tiers */
    allot_status st = allot_tier_set_copy(tiers, &c->tier_defs, err);
    if (st) return st;
    c->n_tiers = tiers->n;
    c->permutations = 0;
    for (size_t t = 0; t < tiers->n; t++)
        if (is_vote_rule(tiers->tiers[t].rule)) c->permutations = opt->permutations;
    w->midx = calloc(tiers->n, sizeof *w->midx);
    w->ptier = calloc(tiers->n, sizeof *w->ptier);
    w->pk = calloc(tiers->n, sizeof *w->pk);
    w->wmean = calloc(tiers->n, sizeof *w->wmean);
    w->wm2 = calloc(tiers->n, sizeof *w->wm2);
    w->kbuf = calloc(tiers->n, sizeof *w->kbuf);
    w->exact = calloc(tiers->n, sizeof *w->exact);
    w->kout = calloc(tiers->n, sizeof *w->kout);
    w->maj_out = calloc(tiers->n * ALLOT_PERM_BLOCK, sizeof *w->maj_out);
    c->tier_names = calloc(tiers->n, sizeof *c->tier_names);
    if (!w->midx || !w->ptier || !w->pk || !w->wmean || !w->wm2 || !w->kbuf || !w->kout || !w->maj_out ||
        !w->exact || !c->tier_names)
        return nomem(err);
    for (size_t t = 0; t < tiers->n; t++)
        if (!(c->tier_names[t] = allot_strdup(tiers->tiers[t].name))) return nomem(err);
    return ALLOT_OK;
}

/* Precomputed tiers: the first line's tier names, in its order, are the file's. */
static allot_status precomputed_tiers(allot_curves *c, const allot_query *q, const char *runs_path,
                                      allot_error *err) {
    if (!q->n_tiers)
        return qerr(err, ALLOT_E_INVALID, runs_path, q->line,
                    "samples: no tier set given (e.g. --tiers majority@1,4,16) and this line has samples");
    c->n_tiers = q->n_tiers;
    c->tier_names = calloc(q->n_tiers, sizeof *c->tier_names);
    c->tier_defs.tiers = calloc(q->n_tiers, sizeof *c->tier_defs.tiers);
    if (!c->tier_names || !c->tier_defs.tiers) return nomem(err);
    for (size_t t = 0; t < q->n_tiers; t++) {
        c->tier_names[t] = allot_strdup(q->tiers[t].name);
        c->tier_defs.tiers[t].name = allot_strdup(q->tiers[t].name);
        c->tier_defs.tiers[t].rule = ALLOT_SELECT_PRECOMPUTED;
        c->tier_defs.n = t + 1;
        if (!c->tier_names[t] || !c->tier_defs.tiers[t].name) return nomem(err);
    }
    return ALLOT_OK;
}

/* One line's accuracies, costs and standard errors: copied (precomputed) or computed from samples. */
static allot_status line_values(const allot_query *q, const runs_models *rm, const allot_tier_set *tiers,
                                const allot_curves_options *opt, workspace *w, size_t n_tiers, double *acc,
                                double *cost, double *se, allot_error *err) {
    const char *path = rm->path;
    if (tiers && tiers->n) {
        if (q->n_tiers)
            return qerr(
                err, ALLOT_E_INVALID, path, q->line,
                "tiers: this line has precomputed tiers; a tier set (--tiers) applies only to samples");
        return compute_samples_line(q, rm, tiers, opt, w, acc, cost, se, err);
    }
    if (!q->n_tiers)
        return qerr(
            err, ALLOT_E_INVALID, path, q->line,
            "samples: the first line has precomputed tiers, so every line must (no tier set was given)");
    for (size_t t = 0; t < n_tiers; t++) {
        acc[t] = q->tiers[t].acc;
        cost[t] = q->tiers[t].cost;
        se[t] = 0.0;
    }
    return ALLOT_OK;
}

/* Before a line's values: the limits on rows, then room for one more row. */
static allot_status start_row(builder *b, const allot_runs_reader *r, const allot_query *q,
                              allot_error *err) {
    allot_curves *c = b->c;
    if (c->n_queries >= ALLOT_MAX_QUERIES || c->n_queries + 1 > ALLOT_MAX_CURVE_VALUES / c->n_tiers)
        return qerr(err, ALLOT_E_INVALID, allot_runs_reader_path(r), q->line,
                    "id: too many queries (%zu queries x %zu tiers exceed the limits of docs/limits.md)",
                    c->n_queries + 1, c->n_tiers);
    return builder_grow(b, c->n_tiers) ? nomem(err) : ALLOT_OK;
}

/* After a line's values (or once they are on their way): its features, id, prompt and meta; the row
 * is then counted. */
static allot_status finish_row(builder *b, const allot_query *q, const char *runs_path, allot_error *err) {
    allot_curves *c = b->c;
    size_t row = c->n_queries;
    b->foff[row] = b->n_fv;
    allot_status st = add_features(b, row, q, runs_path, err);
    if (st) return st;
    c->ids[row] = allot_strdup(q->id);
    c->prompts[row] = q->prompt ? allot_strdup(q->prompt) : NULL;
    c->meta_json[row] = q->meta_json ? allot_strdup(q->meta_json) : NULL;
    c->n_queries++;
    if (!c->ids[row] || (q->prompt && !c->prompts[row]) || (q->meta_json && !c->meta_json[row]))
        return nomem(err);
    return ALLOT_OK;
}

/* Append one line as a row: its values, features, id, prompt and meta. */
static allot_status add_query(builder *b, workspace *w, const allot_runs_reader *r, const allot_query *q,
                              const allot_tier_set *tiers, const allot_curves_options *opt,
                              allot_error *err) {
    allot_status st = start_row(b, r, q, err);
    if (st) return st;
    allot_curves *c = b->c;
    size_t row = c->n_queries, T = c->n_tiers;
    runs_models rm = reader_models(r);
    st = line_values(q, &rm, tiers, opt, w, T, c->acc + row * T, c->cost + row * T, c->se + row * T, err);
    return st ? st : finish_row(b, q, rm.path, err);
}

/* ---- two threads: the reader parses lines while a worker computes the values of the lines before */

/* Lines per batch handed to the worker. */
#define VALUES_BATCH 256

/* One batch of lines and their values. */
typedef struct values_job {
    curves_batch batch;
    runs_models rm; /* names: a copy of the reader's array when the batch was handed over */
    const char **names;
    size_t names_cap;
    const allot_tier_set *tiers;
    const allot_curves_options *opt;
    workspace *w; /* one computation runs at a time, so the jobs share it */
    size_t n_tiers;
    double *out; /* per line: acc, cost, se (n_tiers each) */
    size_t out_cap;
    size_t done; /* lines computed */
    allot_status st;
    allot_error err;
} values_job;

typedef struct pipeline {
    values_job jobs[2];
    int filling; /* the job the reader adds lines to; the other may be running */
    int running;
    pthread_t thread;
} pipeline;

static void *values_run(void *arg) {
    values_job *j = arg;
    size_t T = j->n_tiers;
    for (j->done = 0; j->done < j->batch.n; j->done++) {
        const curves_batch_line *l = &j->batch.lines[j->done];
        double *o = j->out + j->done * 3 * T;
        j->st = line_values(&l->q, &j->rm, j->tiers, j->opt, j->w, T, o, o + T, o + 2 * T, &j->err);
        if (j->st) break;
    }
    return NULL;
}

/* The computed lines' values into their rows; the job's error, if any, into err. */
static allot_status values_store(values_job *j, allot_curves *c, allot_error *err) {
    size_t T = j->n_tiers;
    for (size_t i = 0; i < j->done; i++) {
        const double *o = j->out + i * 3 * T;
        size_t row = j->batch.lines[i].row;
        memcpy(c->acc + row * T, o, T * sizeof *o);
        memcpy(c->cost + row * T, o + T, T * sizeof *o);
        memcpy(c->se + row * T, o + 2 * T, T * sizeof *o);
    }
    if (j->st && err) *err = j->err;
    curves_batch_clear(&j->batch);
    return j->st;
}

/* Make the filling job ready to run: its queries pointed at their copies, the models as of now. */
static int values_prepare(values_job *j, const allot_runs_reader *r) {
    j->rm = reader_models(r);
    if (curves_batch_seal(&j->batch) ||
        allot_reserve((void **)&j->names, &j->names_cap, j->rm.n + 1, sizeof *j->names) ||
        allot_reserve((void **)&j->out, &j->out_cap, j->batch.n * 3 * j->n_tiers, sizeof *j->out))
        return -1;
    if (j->rm.n) memcpy(j->names, j->rm.names, j->rm.n * sizeof *j->names);
    j->rm.names = j->names;
    j->st = ALLOT_OK;
    j->done = 0;
    return 0;
}

/* Wait for the running job, if any, and store its values. */
static allot_status pipe_wait(pipeline *p, allot_curves *c, allot_error *err) {
    if (!p->running) return ALLOT_OK;
    pthread_join(p->thread, NULL);
    p->running = 0;
    return values_store(&p->jobs[!p->filling], c, err);
}

/* Hand the filling job to the worker (once the previous one is stored), or run it here when no
 * thread can be started. */
static allot_status pipe_hand_over(pipeline *p, const allot_runs_reader *r, allot_curves *c,
                                   allot_error *err) {
    allot_status st = pipe_wait(p, c, err);
    if (st) return st;
    values_job *j = &p->jobs[p->filling];
    if (values_prepare(j, r)) return nomem(err);
    if (pthread_create(&p->thread, NULL, values_run, j) != 0) {
        values_run(j);
        return values_store(j, c, err);
    }
    p->running = 1;
    p->filling = !p->filling;
    return ALLOT_OK;
}

/* Every line handed over or still filling, computed and stored in line order; the first error. */
static allot_status pipe_drain(pipeline *p, const allot_runs_reader *r, allot_curves *c, allot_error *err) {
    allot_status st = pipe_wait(p, c, err);
    if (st || p->jobs[p->filling].batch.n == 0) return st;
    values_job *j = &p->jobs[p->filling];
    if (values_prepare(j, r)) return nomem(err);
    values_run(j);
    return values_store(j, c, err);
}

static void pipe_free(pipeline *p) {
    for (int i = 0; i < 2; i++) {
        curves_batch_free(&p->jobs[i].batch);
        free(p->jobs[i].names);
        free(p->jobs[i].out);
    }
}

/* Every line, the reader one batch ahead of the values. Errors are those of the one-thread loop: a
 * line's values are checked before its features and before any later line, so when the reader
 * stops on an error the values of the lines before it (and of its own, for a features error) are
 * computed first, and their first error is the one reported. */
static allot_status read_lines_pipelined(builder *b, workspace *w, allot_runs_reader *r,
                                         const allot_tier_set *tiers, const allot_curves_options *opt,
                                         allot_progress *prog, allot_error *err) {
    allot_curves *c = b->c;
    pipeline p = {0};
    for (int i = 0; i < 2; i++) {
        p.jobs[i].tiers = tiers;
        p.jobs[i].opt = opt;
        p.jobs[i].w = w;
        p.jobs[i].n_tiers = c->n_tiers;
    }
    allot_status st = ALLOT_OK, values_st = ALLOT_OK;
    for (;;) {
        allot_query q;
        int has = 0;
        if ((st = allot_runs_reader_next(r, &q, &has, err)) || !has) break;
        if ((st = start_row(b, r, &q, err))) break;
        if (curves_batch_add(&p.jobs[p.filling].batch, &q, c->n_queries)) {
            st = nomem(err);
            break;
        }
        if ((st = finish_row(b, &q, allot_runs_reader_path(r), err))) break;
        allot_progress_update(prog, c->n_queries);
        if (p.jobs[p.filling].batch.n == VALUES_BATCH && (values_st = pipe_hand_over(&p, r, c, err))) break;
    }
    if (!values_st) {
        allot_error reader_err = err ? *err : (allot_error){0};
        values_st = pipe_drain(&p, r, c, err);
        if (!values_st && st && err) *err = reader_err;
    }
    pipe_wait(&p, c, NULL);
    pipe_free(&p);
    return values_st ? values_st : st;
}

/* After the last line: the embedding's trailing rows (NaN) and the dense feature matrix (NaN where a
 * query lacks a feature). */
static allot_status finish_table(builder *b, const char *runs_path, allot_error *err) {
    allot_curves *c = b->c;
    if (c->n_queries == 0)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s: no queries: the file is empty (or holds only blank lines)", runs_path);
    if (c->embed_name) {
        size_t old = b->embed_cap;
        if (allot_reserve((void **)&c->embed, &b->embed_cap, c->n_queries, c->embed_dim * sizeof *c->embed))
            return nomem(err);
        for (size_t k = old * c->embed_dim; k < b->embed_cap * c->embed_dim; k++) c->embed[k] = NAN;
    }
    if (!c->n_features) return ALLOT_OK;
    if (c->n_queries > ALLOT_MAX_FEATURE_VALUES / c->n_features)
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "%s: features: %zu queries x %zu feature names exceed the limit of docs/limits.md", runs_path,
            c->n_queries, c->n_features);
    c->features = malloc(c->n_queries * c->n_features * sizeof *c->features);
    if (!c->features) return nomem(err);
    for (size_t i = 0; i < c->n_queries * c->n_features; i++) c->features[i] = NAN;
    b->foff[c->n_queries] = b->n_fv;
    for (size_t i = 0; i < c->n_queries; i++)
        for (size_t v = b->foff[i]; v < b->foff[i + 1]; v++)
            c->features[i * c->n_features + b->fidx[v]] = b->fval[v];
    return ALLOT_OK;
}

/* Two threads when asked for (or, with opt->threads 0, when the machine has two cores) and the values
 * are computed from samples. */
static int use_two_threads(const allot_tier_set *tiers, const allot_curves_options *opt) {
    if (!tiers || tiers->n == 0 || opt->threads == 1) return 0;
    if (opt->threads >= 2) return 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores >= 2;
}

/* Every line of the file, with progress. */
static allot_status read_lines(builder *b, workspace *w, allot_runs_reader *r, const allot_tier_set *tiers,
                               const allot_curves_options *opt, allot_error *err) {
    allot_curves *c = b->c;
    int precomputed = !tiers || tiers->n == 0;
    allot_progress prog;
    allot_progress_start(&prog, "curves", 0, opt->progress);
    allot_status st = ALLOT_OK;
    if (use_two_threads(tiers, opt)) {
        st = read_lines_pipelined(b, w, r, tiers, opt, &prog, err);
    } else {
        for (;;) {
            allot_query q;
            int has = 0;
            if ((st = allot_runs_reader_next(r, &q, &has, err)) || !has) break;
            if (c->n_queries == 0 && precomputed &&
                (st = precomputed_tiers(c, &q, allot_runs_reader_path(r), err)))
                break;
            if ((st = add_query(b, w, r, &q, tiers, opt, err))) break;
            allot_progress_update(&prog, c->n_queries);
        }
    }
    if (!st) allot_progress_finish(&prog, c->n_queries);
    return st;
}

allot_status allot_curves_compute(const char *runs_path, const allot_tier_set *tiers,
                                  const allot_curves_options *opt, allot_curves **out, allot_error *err) {
    *out = NULL;
    allot_curves_options defaults;
    if (!opt) {
        allot_curves_options_default(&defaults);
        opt = &defaults;
    }
    allot_status st = check_compute_options(tiers, opt, err);
    if (st) return st;
    allot_runs_reader *r = NULL;
    if ((st = allot_runs_reader_open(runs_path, &r, err))) return st;
    builder b = {0};
    workspace w = {0};
    b.c = calloc(1, sizeof *b.c);
    st = b.c ? start_table(b.c, &w, runs_path, tiers, opt, err) : nomem(err);
    if (!st) st = read_lines(&b, &w, r, tiers, opt, err);
    if (!st) st = finish_table(&b, runs_path, err);
    allot_runs_reader_close(r);
    ws_free(&w);
    free(b.fidx);
    free(b.fval);
    free(b.foff);
    allot_strmap_free(&b.feature_index);
    if (st) {
        allot_curves_free(b.c);
        return st;
    }
    *out = b.c;
    return ALLOT_OK;
}
