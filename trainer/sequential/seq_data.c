/* seq_data.c - ladders from the command line, labelled runs as sample pools (see seq_data.h). */
#include "seq_data.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curves.h"
#include "progress.h"
#include "rng.h"
#include "runs_reader.h"
#include "util.h"

/* ---- ladders from the command line ----------------------------------------------------------- */

static const char *stage_rule_name(allot_select_rule r) {
    return r == ALLOT_SELECT_PASS   ? "pass"
           : r == ALLOT_SELECT_BEST ? "best"
           : r == ALLOT_SELECT_VOTE ? "vote"
                                    : "majority";
}

/* Add one segment's stages ("[model:]rule@k,k..") to the spec's models and stages arrays. */
static allot_status add_segment(const char *seg, cJSON *models, cJSON *stages, allot_error *err) {
    allot_tier_set ts;
    allot_status st = allot_tier_set_parse(seg, &ts, err);
    if (st) {
        char msg[ALLOT_ERROR_MSG_SIZE];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return allot_error_set(err, st, "--stages: %s", msg);
    }
    const char *model = ts.tiers[0].model ? ts.tiers[0].model : "";
    for (size_t i = 0; i < ts.n && !st; i++) {
        const allot_tier *t = &ts.tiers[i];
        const char *m = t->model ? t->model : "";
        if (strcmp(m, model) || t->rule != ts.tiers[0].rule)
            st = allot_error_set(
                err, ALLOT_E_ARGUMENT,
                "--stages: '%s': one segment is one model and one rule (use '>' between models)", seg);
        else if (t->agg != ALLOT_STEP_NONE)
            st = allot_error_set(
                err, ALLOT_E_UNSUPPORTED,
                "--stages: '%s': step-score aggregation is not supported in ladders (samples are "
                "ranked by their `score`)",
                seg);
        else if (i && t->k <= ts.tiers[i - 1].k)
            st = allot_error_set(err, ALLOT_E_ARGUMENT, "--stages: '%s': k must increase (%d after %d)", seg,
                                 t->k, ts.tiers[i - 1].k);
    }
    for (int m = 0; !st && m < cJSON_GetArraySize(models); m++)
        if (!strcmp(cJSON_GetArrayItem(models, m)->valuestring, model))
            st = allot_error_set(
                err, ALLOT_E_ARGUMENT,
                "--stages: model '%s' appears in two segments (a cascade never returns to a model)", model);
    int mi = cJSON_GetArraySize(models);
    if (!st) cJSON_AddItemToArray(models, cJSON_CreateString(model));
    for (size_t i = 0; i < ts.n && !st; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "model", mi);
        cJSON_AddNumberToObject(o, "k", ts.tiers[i].k);
        cJSON_AddStringToObject(o, "rule", stage_rule_name(ts.tiers[i].rule));
        cJSON_AddItemToArray(stages, o);
    }
    allot_tier_set_free(&ts);
    return st;
}

allot_status allot_sq_ladder_parse(const char *spec, allot_ladder **out, allot_error *err) {
    *out = NULL;
    if (!spec || !*spec) return allot_error_set(err, ALLOT_E_ARGUMENT, "--stages: empty");
    char *buf = allot_strdup(spec);
    cJSON *root = cJSON_CreateObject();
    cJSON *models = root ? cJSON_AddArrayToObject(root, "models") : NULL;
    cJSON *stages = root ? cJSON_AddArrayToObject(root, "stages") : NULL;
    allot_status st = buf && stages ? ALLOT_OK : allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    if (root) cJSON_AddNumberToObject(root, "version", ALLOT_SEQ_VERSION);
    for (char *seg = buf, *next; !st && seg; seg = next) {
        next = strchr(seg, '>');
        if (next) *next++ = '\0';
        while (*seg == ' ') seg++;
        for (char *e = seg + strlen(seg); e > seg && e[-1] == ' ';) *--e = '\0';
        st = *seg ? add_segment(seg, models, stages, err)
                  : allot_error_set(err, ALLOT_E_ARGUMENT, "--stages: an empty segment in '%s'", spec);
    }
    char *text = st ? NULL : cJSON_PrintUnformatted(root);
    if (!st && !text) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    if (!st) st = allot_ladder_create(text, strlen(text), out, err);
    free(text);
    cJSON_Delete(root);
    free(buf);
    return st;
}

/* ---- loading labelled runs ------------------------------------------------------------------ */

void allot_sq_data_free(allot_sq_data *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        allot_sq_query *q = &d->q[i];
        for (size_t a = 0; a < q->n_answers; a++) free(q->answers[a]);
        free(q->answers);
        free(q->answer_len);
        free(q->samples);
        free(q->id);
        free(q->prompt);
        free(q->record);
    }
    free(d->q);
    memset(d, 0, sizeof *d);
}

/* What the ladder needs of each model's samples. */
typedef struct model_need {
    size_t k;          /* samples at its last stage */
    int answers;       /* majority / vote stages vote on answers */
    int scores;        /* best / vote stages rank by score */
    long reader_model; /* ladder model "" : the reader's model it took (-1 none yet) */
} model_need;

static void model_needs(const allot_ladder *l, model_need *need) {
    for (size_t m = 0; m < allot_ladder_n_models(l); m++) need[m] = (model_need){0, 0, 0, -1};
    for (size_t s = 0; s < allot_ladder_n_stages(l); s++) {
        allot_stage_info si;
        allot_ladder_stage(l, s, &si, NULL);
        model_need *n = &need[si.model];
        n->k = si.k;
        n->answers |= si.rule == ALLOT_STAGE_MAJORITY || si.rule == ALLOT_STAGE_VOTE;
        n->scores |= si.rule == ALLOT_STAGE_BEST || si.rule == ALLOT_STAGE_VOTE;
    }
}

/* The ladder model of a sample (-1: a model the ladder does not use). */
static long ladder_model_of(const allot_ladder *l, allot_runs_reader *r, const allot_sample *smp,
                            model_need *need, const char *path, size_t line, allot_error *err,
                            allot_status *st) {
    const char *name = allot_runs_reader_model_name(r, smp->model);
    long m = allot_ladder_model_index(l, name);
    if (m >= 0 || allot_ladder_n_models(l) != 1 || allot_ladder_model_name(l, 0)[0]) return m;
    /* one unnamed ladder model: the file's only model */
    if (need[0].reader_model >= 0 && need[0].reader_model != smp->model) {
        *st = allot_error_set(
            err, ALLOT_E_INVALID,
            "%s:%zu: samples: the file holds several models ('%s', '%s'): name one in --stages, "
            "e.g. '%s:majority@1,2,4'",
            path, line, allot_runs_reader_model_name(r, (int)need[0].reader_model), name, name);
        return -1;
    }
    need[0].reader_model = smp->model;
    return 0;
}

/* Copy one line into d (samples grouped by ladder model, recorded order kept). */
static allot_status take_query(allot_sq_data *d, const allot_ladder *l, allot_runs_reader *r,
                               const allot_query *q, model_need *need, const char *path, allot_error *err) {
    size_t nm = allot_ladder_n_models(l), count[ALLOT_LADDER_MAX_MODELS] = {0};
    if (q->n_samples == 0)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s:%zu: samples: a sequential policy needs recorded samples (this line has "
                               "precomputed tiers)",
                               path, q->line);
    long *lm = malloc(q->n_samples * sizeof *lm);
    if (!lm) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    allot_status st = ALLOT_OK;
    for (size_t i = 0; i < q->n_samples && !st; i++) {
        const allot_sample *smp = &q->samples[i];
        lm[i] = ladder_model_of(l, r, smp, need, path, q->line, err, &st);
        if (st || lm[i] < 0) continue;
        const model_need *n = &need[lm[i]];
        if (n->answers && !smp->answer_present)
            st = allot_error_set(err, ALLOT_E_INVALID,
                                 "%s:%zu: samples[%zu].answer: missing (the ladder's stages vote on answers)",
                                 path, q->line, i);
        else if (n->scores && isnan(smp->score))
            st = allot_error_set(
                err, ALLOT_E_INVALID,
                "%s:%zu: samples[%zu].score: missing (the ladder's stages rank samples by score)", path,
                q->line, i);
        else
            count[lm[i]]++;
    }
    for (size_t m = 0; m < nm && !st; m++)
        if (count[m] < need[m].k)
            st = allot_error_set(err, ALLOT_E_INVALID,
                                 "%s:%zu: samples: %zu samples of model '%s', the ladder draws %zu of them",
                                 path, q->line, count[m], allot_ladder_model_name(l, m), need[m].k);
    if (!st && allot_reserve((void **)&d->q, &d->cap, d->n + 1, sizeof *d->q))
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    if (st) {
        free(lm);
        return st;
    }
    allot_sq_query *o = &d->q[d->n++];
    memset(o, 0, sizeof *o);
    o->line = q->line;
    o->id = allot_strdup(q->id);
    o->prompt = q->prompt ? allot_strdup(q->prompt) : NULL;
    o->record = allot_runs_record_json(q);
    o->n_answers = q->n_answers;
    o->answers = calloc(q->n_answers ? q->n_answers : 1, sizeof *o->answers);
    o->answer_len = calloc(q->n_answers ? q->n_answers : 1, sizeof *o->answer_len);
    size_t total = 0;
    for (size_t m = 0; m < nm; m++) total += count[m];
    o->samples = malloc((total ? total : 1) * sizeof *o->samples);
    int ok = o->id && (o->prompt || !q->prompt) && o->record && o->answers && o->answer_len && o->samples;
    for (size_t a = 0; ok && a < q->n_answers; a++) {
        o->answer_len[a] = strlen(q->answers[a]);
        ok = (o->answers[a] = allot_strdup(q->answers[a])) != NULL;
    }
    for (size_t m = 0, k = 0; ok && m < nm; m++) {
        o->off[m] = k;
        for (size_t i = 0; i < q->n_samples; i++) {
            if (lm[i] != (long)m) continue;
            const allot_sample *smp = &q->samples[i];
            o->samples[k++] = (allot_sq_sample){smp->answer, smp->correct, smp->score, smp->cost};
        }
        o->off[m + 1] = k;
    }
    free(lm);
    return ok ? ALLOT_OK : allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
}

allot_status allot_sq_load(const char *runs_path, const allot_ladder *l, allot_sq_data *out,
                           allot_error *err) {
    memset(out, 0, sizeof *out);
    model_need need[ALLOT_LADDER_MAX_MODELS];
    model_needs(l, need);
    allot_runs_reader *r;
    allot_status st = allot_runs_reader_open(runs_path, &r, err);
    if (st) return st;
    out->n_models = allot_ladder_n_models(l);
    for (;;) {
        allot_query q;
        int has = 0;
        if ((st = allot_runs_reader_next(r, &q, &has, err)) || !has) break;
        if ((st = take_query(out, l, r, &q, need, runs_path, err))) break;
    }
    allot_runs_reader_close(r);
    if (!st && out->n == 0) st = allot_error_set(err, ALLOT_E_INVALID, "%s: no queries", runs_path);
    if (st) {
        allot_sq_data_free(out);
        return st;
    }
    for (size_t m = 0; m < out->n_models; m++) {
        double sum = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < out->n; i++)
            for (size_t j = out->q[i].off[m]; j < out->q[i].off[m + 1]; j++, cnt++)
                sum += out->q[i].samples[j].cost;
        out->mean_sample_cost[m] = cnt ? sum / (double)cnt : 0;
    }
    return ALLOT_OK;
}

/* ---- orderings ------------------------------------------------------------------------------ */

/* Samples of model m at its last stage. */
static size_t model_take(const allot_ladder *l, size_t m) {
    size_t take = 0;
    for (size_t t = 0; t < allot_ladder_n_stages(l); t++) {
        allot_stage_info si;
        allot_ladder_stage(l, t, &si, NULL);
        if (si.model == m) take = si.k;
    }
    return take;
}

size_t allot_sq_stage_samples(const allot_ladder *l, size_t s) {
    allot_stage_info si;
    allot_ladder_stage(l, s, &si, NULL);
    size_t n = si.k;
    for (size_t m = 0; m < si.model; m++) n += model_take(l, m); /* earlier models are drawn in full */
    return n;
}

/* The seeded stream of (seed, query id, model, ordering, extra). */
static void stream_seed(allot_rng *rng, uint64_t seed, const char *id, size_t m, uint64_t r, uint64_t extra) {
    uint64_t h = allot_hash64(id, strlen(id));
    h ^= (uint64_t)(m + 1) * 0x9E3779B97F4A7C15ull;
    h ^= (r + 1) * 0xC2B2AE3D27D4EB4Full;
    h ^= (extra + 1) * 0x165667B19E3779F9ull;
    allot_rng_seed_stream(rng, seed, h);
}

/* Shuffle perm[from..n) partially: positions from..take-1 receive a uniformly random draw of the rest. */
static void partial_shuffle(allot_rng *rng, uint32_t *perm, size_t from, size_t take, size_t n) {
    for (size_t i = from; i < take && i < n; i++) {
        size_t j = i + (size_t)allot_rng_below(rng, n - i);
        uint32_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}

static allot_sample_view view_of(const allot_sq_query *q, const allot_sq_sample *smp, size_t m) {
    allot_sample_view v = {NULL, 0, smp->score, smp->cost, (uint32_t)m, 0};
    if (smp->answer >= 0) {
        v.answer = q->answers[smp->answer];
        v.answer_len = q->answer_len[smp->answer];
    }
    return v;
}

/* The draw sequence given each model's permutation (its first take_m entries are drawn). */
static void sequence_of(const allot_ladder *l, const allot_sq_query *q, uint32_t *const *perm,
                        allot_sample_view *views, const allot_sq_sample **samples) {
    size_t k = 0;
    for (size_t m = 0; m < allot_ladder_n_models(l); m++)
        for (size_t i = 0, take = model_take(l, m); i < take; i++, k++) {
            samples[k] = &q->samples[q->off[m] + perm[m][i]];
            if (views) views[k] = view_of(q, samples[k], m);
        }
}

/* Each model's permutation of ordering r (perm[m] holds the model's pool size entries). */
static void ordering_perms(const allot_ladder *l, const allot_sq_query *q, uint64_t seed, uint32_t r,
                           uint32_t *const *perm) {
    for (size_t m = 0; m < allot_ladder_n_models(l); m++) {
        size_t pool = q->off[m + 1] - q->off[m];
        allot_rng rng;
        stream_seed(&rng, seed, q->id, m, r, 0);
        for (size_t i = 0; i < pool; i++) perm[m][i] = (uint32_t)i;
        partial_shuffle(&rng, perm[m], 0, model_take(l, m), pool);
    }
}

/* ---- stage accuracy --------------------------------------------------------------------------- */

/* Per-answer scratch of one query. */
typedef struct tally {
    double *w;     /* n_answers weights (votes or score sums) */
    int8_t *right; /* n_answers: the answer is correct */
    size_t n_answers;
} tally;

static double stage_accuracy(const allot_ladder *l, size_t s, const allot_sq_query *q,
                             const allot_sq_sample *const *seen, size_t n_seen, tally *t) {
    allot_stage_info si;
    allot_ladder_stage(l, s, &si, NULL);
    const allot_sq_sample *lo = q->samples + q->off[si.model], *hi = q->samples + q->off[si.model + 1];
    if (si.rule == ALLOT_STAGE_PASS || si.rule == ALLOT_STAGE_BEST) {
        double best = -INFINITY;
        size_t n_best = 0, right = 0;
        for (size_t i = 0; i < n_seen; i++) {
            const allot_sq_sample *x = seen[i];
            if (x < lo || x >= hi) continue;
            if (si.rule == ALLOT_STAGE_PASS) {
                if (x->correct) return 1.0;
                continue;
            }
            if (x->score > best) {
                best = x->score;
                n_best = right = 0;
            }
            if (x->score == best) {
                n_best++;
                right += x->correct != 0;
            }
        }
        return n_best ? (double)right / (double)n_best : 0.0;
    }
    for (size_t a = 0; a < t->n_answers; a++) t->w[a] = 0;
    for (size_t i = 0; i < n_seen; i++) {
        const allot_sq_sample *x = seen[i];
        if (x < lo || x >= hi || x->answer < 0) continue;
        t->w[x->answer] += si.rule == ALLOT_STAGE_VOTE ? x->score : 1.0;
        t->right[x->answer] = (int8_t)(x->correct != 0);
    }
    double best = -INFINITY;
    size_t n_best = 0, right = 0;
    for (size_t i = 0; i < n_seen; i++) { /* the answers seen, each once (weights zeroed as visited) */
        const allot_sq_sample *x = seen[i];
        if (x < lo || x >= hi || x->answer < 0 || t->w[x->answer] == -INFINITY) continue;
        double w = t->w[x->answer];
        if (w > best) {
            best = w;
            n_best = right = 0;
        }
        if (w == best) {
            n_best++;
            right += t->right[x->answer] != 0;
        }
        t->w[x->answer] = -INFINITY;
    }
    return n_best ? (double)right / (double)n_best : 0.0;
}

static allot_status tally_make(const allot_sq_query *q, tally *t) {
    t->n_answers = q->n_answers;
    t->w = malloc((q->n_answers ? q->n_answers : 1) * sizeof *t->w);
    t->right = malloc(q->n_answers ? q->n_answers : 1);
    return t->w && t->right ? ALLOT_OK : ALLOT_E_NOMEM;
}

static void tally_free(tally *t) {
    free(t->w);
    free(t->right);
}

double allot_sq_stage_accuracy(const allot_ladder *l, size_t s, const allot_sq_query *q,
                               const allot_sq_sample *const *seen, size_t n_seen) {
    tally t;
    double a = NAN;
    if (tally_make(q, &t) == ALLOT_OK) a = stage_accuracy(l, s, q, seen, n_seen, &t);
    tally_free(&t);
    return a;
}

/* ---- rows --------------------------------------------------------------------------------------- */

void allot_sq_rows_free(allot_sq_rows *r) {
    if (!r) return;
    free(r->x);
    free(r->y);
    free(r->acc);
    free(r->cost);
    free(r->traj_query);
    memset(r, 0, sizeof *r);
}

void allot_sq_ordering(const allot_ladder *l, const allot_sq_query *q, uint64_t seed, uint32_t r,
                       uint32_t *perm, allot_sample_view *views, const allot_sq_sample **samples) {
    uint32_t *pm[ALLOT_LADDER_MAX_MODELS];
    for (size_t m = 0; m < allot_ladder_n_models(l); m++) pm[m] = perm + q->off[m];
    ordering_perms(l, q, seed, r, pm);
    sequence_of(l, q, pm, views, samples);
}

/* Per-query working memory of the row builder. */
typedef struct row_work {
    uint32_t *perm, *cperm;   /* the ordering's permutations, a continuation's */
    allot_sample_view *views; /* max_samples */
    const allot_sq_sample **seq, **cseq;
    tally t;
    double *prompt_extras;
    float *prompt_dense;
    void *scratch;
    size_t scratch_size;
} row_work;

static void row_work_free(row_work *w) {
    free(w->perm);
    free(w->cperm);
    free(w->views);
    free(w->seq);
    free(w->cseq);
    tally_free(&w->t);
    free(w->prompt_extras);
    free(w->prompt_dense);
    free(w->scratch);
    memset(w, 0, sizeof *w);
}

static allot_status row_work_make(const allot_ladder *l, const allot_featurizer *fz, const allot_sq_query *q,
                                  row_work *w) {
    memset(w, 0, sizeof *w);
    size_t pool = q->off[allot_ladder_n_models(l)], ms = allot_ladder_max_samples(l);
    size_t ne = allot_featurizer_n_extra(fz), nd = allot_featurizer_n_dense(fz);
    w->perm = malloc((pool ? pool : 1) * sizeof *w->perm);
    w->cperm = malloc((pool ? pool : 1) * sizeof *w->cperm);
    w->views = malloc(ms * sizeof *w->views);
    w->seq = malloc(ms * sizeof *w->seq);
    w->cseq = malloc(ms * sizeof *w->cseq);
    w->prompt_extras = malloc((ne ? ne : 1) * sizeof *w->prompt_extras);
    w->prompt_dense = malloc((nd ? nd : 1) * sizeof *w->prompt_dense);
    w->scratch_size = allot_ladder_scratch_size(l);
    w->scratch = malloc(w->scratch_size);
    allot_status st = tally_make(q, &w->t);
    if (st || !w->perm || !w->cperm || !w->views || !w->seq || !w->cseq || !w->prompt_extras ||
        !w->prompt_dense || !w->scratch) {
        row_work_free(w);
        return ALLOT_E_NOMEM;
    }
    return ALLOT_OK;
}

/* The prompt's dense features (extras from the query's record). */
static allot_status prompt_dense(const allot_featurizer *fz, const allot_sq_query *q, row_work *w,
                                 allot_error *err) {
    size_t ne = allot_featurizer_n_extra(fz);
    allot_status st = ALLOT_OK;
    if (ne) st = allot_featurizer_extras_from_record(fz, q->record, strlen(q->record), w->prompt_extras, err);
    if (st) return st;
    return allot_featurize(fz, q->prompt, q->prompt ? strlen(q->prompt) : 0, ne ? w->prompt_extras : NULL, ne,
                           w->prompt_dense, NULL, NULL, 0, NULL, err);
}

/* y[t] for t > s: the mean accuracy of stage t over `cont` continuations of the first n_s samples. */
static void continuation_targets(const allot_ladder *l, const allot_sq_query *q,
                                 const allot_sq_row_options *o, uint32_t r, size_t s, row_work *w, float *y) {
    size_t S = allot_ladder_n_stages(l), nm = allot_ladder_n_models(l), pool = q->off[nm];
    allot_stage_info si;
    allot_ladder_stage(l, s, &si, NULL);
    double sum[ALLOT_LADDER_MAX_STAGES] = {0};
    for (int c = 0; c < o->continuations; c++) {
        uint32_t *pm[ALLOT_LADDER_MAX_MODELS];
        memcpy(w->cperm, w->perm, pool * sizeof *w->cperm);
        for (size_t m = 0; m < nm; m++) {
            pm[m] = w->cperm + q->off[m];
            if (m < si.model) continue; /* drawn in full already */
            allot_rng rng;
            stream_seed(&rng, o->seed, q->id, m, r, 1 + (uint64_t)s * 65536u + (uint64_t)c);
            partial_shuffle(&rng, pm[m], m == si.model ? si.k : 0, model_take(l, m),
                            q->off[m + 1] - q->off[m]);
        }
        sequence_of(l, q, pm, NULL, w->cseq);
        for (size_t t = s + 1; t < S; t++)
            sum[t] += stage_accuracy(l, t, q, w->cseq, allot_sq_stage_samples(l, t), &w->t);
    }
    for (size_t t = s + 1; t < S; t++) y[t] = (float)(sum[t] / o->continuations);
}

/* The S rows of query q's ordering r, at row index base. */
static allot_status ordering_rows(const allot_ladder *l, const allot_sq_query *q,
                                  const allot_sq_row_options *o, uint32_t r, row_work *w, allot_sq_rows *out,
                                  size_t base, size_t nd, allot_error *err) {
    size_t S = out->S;
    allot_sq_ordering(l, q, o->seed, r, w->perm, w->views, w->seq);
    for (size_t s = 0; s < S; s++) {
        size_t row = base + s, n_s = allot_sq_stage_samples(l, s);
        float *x = out->x + row * out->d;
        memcpy(x, w->prompt_dense, nd * sizeof *x);
        allot_status st =
            allot_ladder_state(l, w->views, n_s, w->scratch, w->scratch_size, x + nd, NULL, err);
        if (st) return st;
        double cost = 0;
        for (size_t i = 0; i < n_s; i++) cost += w->seq[i]->cost;
        out->acc[row] = stage_accuracy(l, s, q, w->seq, n_s, &w->t);
        out->cost[row] = cost;
        if (!out->y) continue;
        float *y = out->y + row * S;
        for (size_t t = 0; t < s; t++) y[t] = NAN;
        y[s] = (float)out->acc[row];
        continuation_targets(l, q, o, r, s, w, y);
    }
    return ALLOT_OK;
}

allot_status allot_sq_rows_build(const allot_sq_data *d, const allot_ladder *l, const allot_featurizer *fz,
                                 const size_t *queries, size_t nq, const allot_sq_row_options *o,
                                 const char *progress, allot_sq_rows *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    size_t S = allot_ladder_n_stages(l), nd = allot_featurizer_n_dense(fz), R = (size_t)o->orderings;
    out->S = S;
    out->d = nd + allot_ladder_n_state(l);
    out->n_traj = nq * R;
    out->n = out->n_traj * S;
    if (R < 1 || (o->with_targets && o->continuations < 1))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "orderings and continuations must be >= 1");
    if (out->n && out->d > SIZE_MAX / sizeof(float) / out->n)
        return allot_error_set(err, ALLOT_E_INVALID, "too many rows (%zu x %zu)", out->n, out->d);
    out->x = malloc((out->n ? out->n : 1) * out->d * sizeof *out->x);
    out->y = o->with_targets ? malloc((out->n ? out->n : 1) * S * sizeof *out->y) : NULL;
    out->acc = malloc((out->n ? out->n : 1) * sizeof *out->acc);
    out->cost = malloc((out->n ? out->n : 1) * sizeof *out->cost);
    out->traj_query = malloc((out->n_traj ? out->n_traj : 1) * sizeof *out->traj_query);
    if (!out->x || (o->with_targets && !out->y) || !out->acc || !out->cost || !out->traj_query) {
        allot_sq_rows_free(out);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (%zu rows of %zu features)", out->n,
                               out->d);
    }
    allot_progress pg;
    allot_progress_start(&pg, progress ? progress : "", nq, progress != NULL);
    allot_status st = ALLOT_OK;
    for (size_t j = 0; j < nq && !st; j++) {
        const allot_sq_query *q = &d->q[queries[j]];
        row_work w;
        if (row_work_make(l, fz, q, &w)) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            break;
        }
        st = prompt_dense(fz, q, &w, err);
        for (size_t r = 0; r < R && !st; r++) {
            size_t traj = j * R + r;
            out->traj_query[traj] = (uint32_t)queries[j];
            st = ordering_rows(l, q, o, (uint32_t)r, &w, out, traj * S, nd, err);
        }
        row_work_free(&w);
        allot_progress_update(&pg, j + 1);
    }
    allot_progress_finish(&pg, nq);
    if (st) allot_sq_rows_free(out);
    return st;
}
