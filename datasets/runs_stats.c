/*
 * runs_stats.c - the `--stats` mode of allot-gen-runs (see runs_stats.h).
 *
 * The file is read by the project's labelled-runs reader (trainer/runs/runs_reader.h: every line
 * validated, errors name file, line and field) and every k-of-n figure comes from the curves
 * estimators (trainer/curves/estimators.h): pass@k exactly; majority@k and best@k on STATS_PERMS
 * seeded random orders of each query's samples (the first k of an order are a uniformly random
 * k-subset; the same orders serve every k, so the estimated curves are coherent). Local to this
 * file is only what the estimators do not cover: the pooled verifier AUROC and the least-squares
 * fit of per-query accuracy on a few surface features.
 *
 * Groups: "all samples", each model (up to STATS_MAX_GROUPS - 1, in order of first appearance)
 * and each meta.level 1..5 (all samples; 0 = absent or outside 1..5).
 */
#include "runs_stats.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimators.h"
#include "rng.h"
#include "runs_reader.h"
#include "util.h"

#define STATS_MAX_GROUPS 9 /* "all" + up to 8 models */
#define STATS_LEVELS 6     /* meta.level 1..5, 0 = absent */
#define STATS_NK 7
static const int STATS_K[STATS_NK] = {1, 2, 4, 8, 16, 32, 64};
#define STATS_PERMS 64   /* random orders per query for the majority@k / best@k estimates */
#define STATS_SEED 12345 /* their seed; query stream = line number */
#define STATS_ALL_MODELS -1

/* ---- verifier AUROC ------------------------------------------------------------------------- */

/* (score, correct) pairs pooled over the samples of a group. */
typedef struct scored_vec {
    allot_scored *v;
    size_t n, cap;
} scored_vec;

static int scored_push(scored_vec *d, double score, int correct) {
    if (allot_reserve((void **)&d->v, &d->cap, d->n + 1, sizeof *d->v)) return -1;
    d->v[d->n].score = score;
    d->v[d->n++].correct = correct;
    return 0;
}

static int by_score_asc(const void *a, const void *b) {
    double x = ((const allot_scored *)a)->score, y = ((const allot_scored *)b)->score;
    return (x > y) - (x < y);
}

/* Area under the ROC curve (Mann-Whitney with tied ranks averaged); NaN if a class is empty. */
static double auroc(scored_vec *d) {
    qsort(d->v, d->n, sizeof *d->v, by_score_asc);
    double pos = 0, rank_sum = 0;
    for (size_t i = 0; i < d->n;) {
        size_t j = i;
        while (j < d->n && d->v[j].score == d->v[i].score) j++;
        double avg_rank = (double)(i + 1 + j) / 2.0;
        for (size_t t = i; t < j; t++)
            if (d->v[t].correct) pos += 1, rank_sum += avg_rank;
        i = j;
    }
    double neg = (double)d->n - pos;
    if (pos == 0 || neg == 0) return NAN;
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

/* ---- one group's accumulators ---------------------------------------------------------------- */

typedef struct group_stats {
    char name[128];
    size_t queries, samples, correct, nulls, zero, all;
    double sum_frac, sum_majority, sum_best, sum_best_min, sum_cost;
    double sum_pass[STATS_NK], sum_maj_k[STATS_NK], sum_best_k[STATS_NK], sum_best_min_k[STATS_NK];
    size_t n_pass[STATS_NK];
    scored_vec score, step_min, step_last;
} group_stats;

static void group_free(group_stats *g) {
    free(g->score.v);
    free(g->step_min.v);
    free(g->step_last.v);
}

/* ---- per-query working memory ---------------------------------------------------------------- */

/* A value and the pool entry it belongs to (for ranking scores). */
typedef struct ranked {
    double value;
    uint32_t entry;
} ranked;

/*
 * The pool of one group in one query (n entries) and the three vote pools built on it:
 *   majority: each entry votes for its answer (query-wide answer ids), weight 1; an answer is
 *             correct when an entry of the group with that answer is graded correct.
 *   best (score / minimum step score): every entry with a value is its own candidate, weighted by
 *             the rank of its value, so the vote picks the highest value and splits ties evenly:
 *             exactly best-of-k (ranks, because the vote needs weights >= 0). No value: -1, never
 *             wins.
 * Every array is reused across queries; capacities in entries.
 */
typedef struct query_scratch {
    size_t cap, ans_cap;
    uint32_t *sample;           /* entry -> index in the query's samples */
    int *answer;                /* majority candidate of each entry */
    int *cand_score, *cand_min; /* best candidates (entry index or -1) */
    double *w_score, *w_min;    /* their weights (ranks) */
    double *score, *smin;       /* the entry's score / minimum step score, NaN when absent */
    unsigned char *y;           /* correct, per entry (the best pools' answer_correct) */
    uint32_t *order;            /* identity or a random order of the entries */
    double *prefix;             /* vote outcome of each prefix of an order */
    double *work;               /* vote work: max(n, n_answers) doubles */
    ranked *rank;
    unsigned char *answer_correct; /* per query-wide answer id */
} query_scratch;

static int scratch_reserve(query_scratch *w, size_t n, size_t n_answers) {
    size_t c = w->cap;
#define GROW(p) (c = w->cap, allot_reserve((void **)&(p), &c, n, sizeof *(p)))
    int failed = GROW(w->sample) || GROW(w->answer) || GROW(w->cand_score) || GROW(w->cand_min) ||
                 GROW(w->w_score) || GROW(w->w_min) || GROW(w->score) || GROW(w->smin) || GROW(w->y) ||
                 GROW(w->order) || GROW(w->prefix) || GROW(w->work) || GROW(w->rank);
#undef GROW
    if (failed) return -1;
    w->cap = c;
    return allot_reserve((void **)&w->answer_correct, &w->ans_cap, n_answers, sizeof *w->answer_correct);
}

static void scratch_free(query_scratch *w) {
    free(w->sample), free(w->answer), free(w->cand_score), free(w->cand_min), free(w->w_score);
    free(w->w_min), free(w->score), free(w->smin), free(w->y), free(w->order), free(w->prefix);
    free(w->work), free(w->rank), free(w->answer_correct);
}

static int by_value_asc(const void *a, const void *b) {
    double x = ((const ranked *)a)->value, y = ((const ranked *)b)->value;
    return (x > y) - (x < y);
}

/* Best-of-k candidates of the values v[0..n) (NaN = none): cand[i] = i and w[i] = the dense rank
 * of v[i] among the values (0 = lowest, equal values equal ranks), cand[i] = -1 for NaN. */
static void best_candidates(const double *v, size_t n, ranked *tmp, int *cand, double *w) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        cand[i] = isnan(v[i]) ? -1 : (int)i;
        w[i] = 0.0;
        if (!isnan(v[i])) tmp[m].value = v[i], tmp[m++].entry = (uint32_t)i;
    }
    qsort(tmp, m, sizeof *tmp, by_value_asc);
    double rank = 0.0;
    for (size_t j = 0; j < m; j++) {
        if (j > 0 && tmp[j].value != tmp[j - 1].value) rank += 1.0;
        w[tmp[j].entry] = rank;
    }
}

/* ---- one query ----------------------------------------------------------------------------- */

/* Collect the group's samples (model index, or STATS_ALL_MODELS) into the scratch pool, count
 * them into g and pool their scores for the AUROC. Returns the pool size, or -1 out of memory. */
static long collect_pool(group_stats *g, query_scratch *w, const allot_query *q, int model) {
    size_t n = 0;
    if (q->n_answers) memset(w->answer_correct, 0, q->n_answers);
    for (size_t i = 0; i < q->n_samples; i++) {
        const allot_sample *s = &q->samples[i];
        if (model != STATS_ALL_MODELS && s->model != model) continue;
        w->sample[n] = (uint32_t)i;
        w->y[n] = (unsigned char)s->correct;
        w->answer[n] = s->answer;
        if (s->answer >= 0 && s->correct) w->answer_correct[s->answer] = 1;
        if (s->answer < 0) g->nulls++;
        g->sum_cost += s->cost;
        w->score[n] = s->score;
        if (!isnan(s->score) && scored_push(&g->score, s->score, s->correct)) return -1;
        w->smin[n] = NAN;
        if (s->n_steps > 0) {
            const double *st = q->step_scores + s->step_offset;
            double mn = INFINITY;
            for (size_t k = 0; k < s->n_steps; k++)
                if (st[k] < mn) mn = st[k];
            w->smin[n] = mn;
            if (scored_push(&g->step_min, mn, s->correct) ||
                scored_push(&g->step_last, st[s->n_steps - 1], s->correct))
                return -1;
        }
        n++;
    }
    return (long)n;
}

/* Accumulate one query's samples of group g (model index, or STATS_ALL_MODELS). */
static int stats_query(group_stats *g, query_scratch *w, const allot_query *q, int model) {
    long got = collect_pool(g, w, q, model);
    if (got <= 0) return (int)got;
    size_t n = (size_t)got, c = 0;
    for (size_t i = 0; i < n; i++) c += w->y[i];
    g->queries++;
    g->samples += n;
    g->correct += c;
    g->zero += c == 0;
    g->all += c == n;
    g->sum_frac += (double)c / (double)n;
    for (int i = 0; i < STATS_NK; i++)
        if ((size_t)STATS_K[i] <= n)
            g->sum_pass[i] += allot_est_pass(n, c, (size_t)STATS_K[i]), g->n_pass[i]++;

    best_candidates(w->score, n, w->rank, w->cand_score, w->w_score);
    best_candidates(w->smin, n, w->rank, w->cand_min, w->w_min);
    const allot_vote_pool majority = {n, w->answer, NULL, q->n_answers, w->answer_correct};
    const allot_vote_pool best = {n, w->cand_score, w->w_score, n, w->y};
    const allot_vote_pool best_min = {n, w->cand_min, w->w_min, n, w->y};

    /* the whole pool: maj@max, best@max, best@max/min */
    for (size_t i = 0; i < n; i++) w->order[i] = (uint32_t)i;
    g->sum_majority += allot_est_vote_set(&majority, w->order, n, w->work);
    g->sum_best += allot_est_vote_set(&best, w->order, n, w->work);
    g->sum_best_min += allot_est_vote_set(&best_min, w->order, n, w->work);

    /* majority@k and best@k: the prefixes of STATS_PERMS seeded random orders */
    size_t len = n < (size_t)STATS_K[STATS_NK - 1] ? n : (size_t)STATS_K[STATS_NK - 1];
    allot_rng r;
    allot_rng_seed_stream(&r, STATS_SEED, (uint64_t)q->line);
    const allot_vote_pool *pools[3] = {&majority, &best, &best_min};
    double *sums[3] = {g->sum_maj_k, g->sum_best_k, g->sum_best_min_k};
    for (int p = 0; p < STATS_PERMS; p++) {
        for (size_t i = 0; i < n; i++) w->order[i] = (uint32_t)i;
        allot_rng_shuffle_u32(&r, w->order, n);
        for (int v = 0; v < 3; v++) {
            allot_est_vote_prefixes(pools[v], w->order, len, w->prefix, w->work);
            for (int i = 0; i < STATS_NK && (size_t)STATS_K[i] <= n; i++)
                sums[v][i] += w->prefix[STATS_K[i] - 1] / STATS_PERMS;
        }
    }
    return 0;
}

/* ---- printing ---------------------------------------------------------------------------------- */

/* "%.4f" of v, or "-" when the figure does not apply (no answers / no scores in the file). */
static const char *fig(char *buf, size_t n, int applies, double v) {
    if (applies)
        snprintf(buf, n, "%.4f", v);
    else
        snprintf(buf, n, "-");
    return buf;
}

static void print_group(group_stats *g) {
    double q = (double)g->queries;
    int has_answers = g->nulls<g->samples, has_scores = g->score.n> 0, has_steps = g->step_min.n > 0;
    char b1[32], b2[32], b3[32];
    printf("%s: %zu queries, %zu samples (%.1f / query), %zu null or absent answers (%.4f)\n", g->name,
           g->queries, g->samples, (double)g->samples / q, g->nulls, (double)g->nulls / (double)g->samples);
    printf("  mean acc %.4f | 0 correct %.4f | all correct %.4f | pass@1 %.4f | pass@max %.4f | maj@max %s"
           " | best@max %s | best@max/min %s\n",
           (double)g->correct / (double)g->samples, (double)g->zero / q, (double)g->all / q, g->sum_frac / q,
           (double)(g->queries - g->zero) / q, fig(b1, sizeof b1, has_answers, g->sum_majority / q),
           fig(b2, sizeof b2, has_scores, g->sum_best / q),
           fig(b3, sizeof b3, has_steps, g->sum_best_min / q));
    printf("  k                 ");
    for (int i = 0; i < STATS_NK; i++)
        if (g->n_pass[i] == g->queries) printf(" %7d", STATS_K[i]);
    printf("\n  pass@k (exact)    ");
    for (int i = 0; i < STATS_NK; i++)
        if (g->n_pass[i] == g->queries) printf(" %7.4f", g->sum_pass[i] / q);
    if (has_answers) {
        printf("\n  majority@k (est.) ");
        for (int i = 0; i < STATS_NK; i++)
            if (g->n_pass[i] == g->queries) printf(" %7.4f", g->sum_maj_k[i] / q);
    }
    if (has_scores) {
        printf("\n  best@k (est.)     ");
        for (int i = 0; i < STATS_NK; i++)
            if (g->n_pass[i] == g->queries) printf(" %7.4f", g->sum_best_k[i] / q);
    }
    if (has_steps) {
        printf("\n  best@k/min (est.) ");
        for (int i = 0; i < STATS_NK; i++)
            if (g->n_pass[i] == g->queries) printf(" %7.4f", g->sum_best_min_k[i] / q);
    }
    printf("\n");
    if (has_scores)
        printf("  verifier AUROC (pooled over samples): score %.4f | step min %.4f | step last %.4f\n",
               auroc(&g->score), auroc(&g->step_min), auroc(&g->step_last));
    printf("  mean cost per sample %.4f\n", g->sum_cost / (double)g->samples);
}

static void print_levels(const group_stats *lv) {
    printf("by meta.level (all samples):\n");
    printf("  level | queries | mean acc | 0 correct | all correct | pass@max | maj@max | mean cost\n");
    for (int l = 0; l < STATS_LEVELS; l++) {
        const group_stats *x = &lv[l];
        if (!x->queries) continue;
        double q = (double)x->queries;
        printf("  %5d | %7zu | %8.4f | %9.4f | %11.4f | %8.4f | %7.4f | %9.4f\n", l, x->queries,
               (double)x->correct / (double)x->samples, (double)x->zero / q, (double)x->all / q,
               (double)(x->queries - x->zero) / q, x->sum_majority / q, x->sum_cost / (double)x->samples);
    }
}

/* ---- surface features vs accuracy ------------------------------------------------------------- */

/* How much of the per-query accuracy the cheap surface carries: Pearson correlations and the R^2
 * of an ordinary least-squares fit on SURF_N surface features (plus an intercept). */
#define SURF_N 4
static const char *const SURF_NAMES[SURF_N] = {"prompt bytes", "numbers in prompt", "meta.level",
                                               "first features entry"};

typedef struct surface_fit {
    double n, sy, syy;
    double sx[SURF_N], sxx[SURF_N], sxy[SURF_N];
    double xtx[SURF_N + 1][SURF_N + 1], xty[SURF_N + 1];
} surface_fit;

/* A numeric meta.level of the query: 1 and *level when there is one, 0 when not, -1 when memory
 * runs out (meta reaches us as compact JSON text). */
static int meta_level(const allot_query *q, double *level) {
    if (!q->meta_json) return 0;
    cJSON *meta = cJSON_Parse(q->meta_json);
    if (!meta) return -1; /* the reader printed it, so it parses unless memory runs out */
    const cJSON *lvl = cJSON_GetObjectItemCaseSensitive(meta, "level");
    int found = cJSON_IsNumber(lvl);
    if (found) *level = lvl->valuedouble;
    cJSON_Delete(meta);
    return found;
}

static void surface_add(surface_fit *f, const allot_query *q, int has_level, double level, double acc) {
    if (!q->prompt) return;
    double x[SURF_N + 1] = {1.0, 0, 0, 0, 0};
    const char *p = q->prompt;
    x[1] = (double)strlen(p);
    for (size_t i = 0; p[i]; i++)
        if (p[i] >= '0' && p[i] <= '9' && (i == 0 || p[i - 1] < '0' || p[i - 1] > '9')) x[2] += 1;
    x[3] = has_level ? level : 0.0;
    x[4] = q->n_features > 0 ? q->features[0].value : 0.0;
    f->n += 1, f->sy += acc, f->syy += acc * acc;
    for (int a = 0; a < SURF_N; a++) {
        f->sx[a] += x[a + 1], f->sxx[a] += x[a + 1] * x[a + 1], f->sxy[a] += x[a + 1] * acc;
    }
    for (int a = 0; a <= SURF_N; a++) {
        f->xty[a] += x[a] * acc;
        for (int b = 0; b <= SURF_N; b++) f->xtx[a][b] += x[a] * x[b];
    }
}

static void surface_print(const surface_fit *f) {
    if (f->n < 10) return;
    double syy = f->syy - f->sy * f->sy / f->n;
    printf("surface vs per-query accuracy (all samples), Pearson r:");
    for (int a = 0; a < SURF_N; a++) {
        double sxx = f->sxx[a] - f->sx[a] * f->sx[a] / f->n, sxy = f->sxy[a] - f->sx[a] * f->sy / f->n;
        printf("%s %s %.3f", a ? "," : "", SURF_NAMES[a], sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0.0);
    }
    /* Normal equations with a tiny ridge (constant columns stay solvable), Gaussian elimination. */
    double m[SURF_N + 1][SURF_N + 2];
    for (int a = 0; a <= SURF_N; a++) {
        for (int b = 0; b <= SURF_N; b++) m[a][b] = f->xtx[a][b] + (a == b && a > 0 ? 1e-6 * f->n : 0.0);
        m[a][SURF_N + 1] = f->xty[a];
    }
    for (int c = 0; c <= SURF_N; c++) {
        int piv = c;
        for (int r = c + 1; r <= SURF_N; r++)
            if (fabs(m[r][c]) > fabs(m[piv][c])) piv = r;
        for (int k = 0; k <= SURF_N + 1; k++) {
            double t = m[c][k];
            m[c][k] = m[piv][k];
            m[piv][k] = t;
        }
        if (m[c][c] == 0) return;
        for (int r = 0; r <= SURF_N; r++) {
            if (r == c) continue;
            double q = m[r][c] / m[c][c];
            for (int k = c; k <= SURF_N + 1; k++) m[r][k] -= q * m[c][k];
        }
    }
    double beta[SURF_N + 1], sse = f->syy;
    for (int a = 0; a <= SURF_N; a++) beta[a] = m[a][SURF_N + 1] / m[a][a];
    for (int a = 0; a <= SURF_N; a++) {
        sse -= 2 * beta[a] * f->xty[a];
        for (int b = 0; b <= SURF_N; b++) sse += beta[a] * beta[b] * f->xtx[a][b];
    }
    printf("\n  least-squares R^2 of accuracy on these %d features: %.3f\n", SURF_N,
           syy > 0 ? 1 - sse / syy : 0.0);
}

/* ---- the file ---------------------------------------------------------------------------------- */

typedef struct file_stats {
    group_stats group[STATS_MAX_GROUPS]; /* [0] all samples, [1 + m] model m */
    int n_groups;
    group_stats level[STATS_LEVELS];
    surface_fit surface;
    query_scratch scratch;
} file_stats;

static void file_stats_free(file_stats *fs) {
    for (int k = 0; k < STATS_MAX_GROUPS; k++) group_free(&fs->group[k]);
    for (int l = 0; l < STATS_LEVELS; l++) group_free(&fs->level[l]);
    scratch_free(&fs->scratch);
}

/* Accumulate one query into every group it belongs to. */
static allot_status add_query(file_stats *fs, const allot_runs_reader *r, const allot_query *q,
                              allot_error *err) {
    const char *path = allot_runs_reader_path(r);
    if (q->n_samples == 0)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s:%zu: samples: missing (only files with samples are summarised)", path,
                               q->line);
    size_t n_models = allot_runs_reader_n_models(r);
    while (fs->n_groups < STATS_MAX_GROUPS && (size_t)(fs->n_groups - 1) < n_models) {
        group_stats *g = &fs->group[fs->n_groups];
        snprintf(g->name, sizeof g->name, "%s", allot_runs_reader_model_name(r, fs->n_groups - 1));
        fs->n_groups++;
    }
    double level = 0.0;
    int has_level = meta_level(q, &level);
    if (has_level < 0 || scratch_reserve(&fs->scratch, q->n_samples, q->n_answers))
        return allot_error_set(err, ALLOT_E_NOMEM, "%s:%zu: out of memory", path, q->line);
    int li = has_level && level >= 1 && level <= 5 ? (int)level : 0;
    group_stats *all = &fs->group[0];
    size_t before_c = all->correct, before_n = all->samples;
    int bad = stats_query(all, &fs->scratch, q, STATS_ALL_MODELS) ||
              stats_query(&fs->level[li], &fs->scratch, q, STATS_ALL_MODELS);
    if (!bad)
        surface_add(&fs->surface, q, has_level, level,
                    (double)(all->correct - before_c) / (double)(all->samples - before_n));
    for (int k = 1; k < fs->n_groups && !bad; k++) bad = stats_query(&fs->group[k], &fs->scratch, q, k - 1);
    if (bad) return allot_error_set(err, ALLOT_E_NOMEM, "%s:%zu: out of memory", path, q->line);
    return ALLOT_OK;
}

static void print_stats(file_stats *fs, const char *path) {
    printf("file: %s\n", path);
    for (int k = 0; k < fs->n_groups; k++)
        if (k > 0 || fs->n_groups > 2) print_group(&fs->group[k]); /* "all" only with several models */
    print_levels(fs->level);
    surface_print(&fs->surface);
}

int gen_runs_stats(const char *path) {
    file_stats *fs = calloc(1, sizeof *fs);
    allot_runs_reader *r = NULL;
    allot_error err = {0};
    allot_status st = fs ? allot_runs_reader_open(path, &r, &err)
                         : allot_error_set(&err, ALLOT_E_NOMEM, "%s: out of memory", path);
    if (fs) {
        snprintf(fs->group[0].name, sizeof fs->group[0].name, "all samples");
        fs->n_groups = 1;
    }
    for (int has = 1; st == ALLOT_OK && has;) {
        allot_query q;
        st = allot_runs_reader_next(r, &q, &has, &err);
        if (st == ALLOT_OK && has) st = add_query(fs, r, &q, &err);
    }
    if (st == ALLOT_OK && fs->group[0].queries == 0)
        st = allot_error_set(&err, ALLOT_E_INVALID, "%s: no queries", path);
    allot_runs_reader_close(r);
    if (st == ALLOT_OK)
        print_stats(fs, path);
    else
        fprintf(stderr, "allot-gen-runs: %s\n", err.msg);
    if (fs) file_stats_free(fs);
    free(fs);
    return st == ALLOT_OK ? 0 : 1;
}
