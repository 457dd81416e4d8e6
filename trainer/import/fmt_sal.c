/*
 * fmt_sal.c - Hugging Face search-and-learn outputs (docs/import.md, "sal").
 *
 * scripts/test_time_compute.py saves the dataset it ran on (MATH-500: problem, solution, answer,
 * subject, level, unique_id) with the search results added: completions (N strings), scores (N
 * lists of per-step PRM scores), completion_tokens (N counts; -1 where the approach does not
 * record them, as DVTS does), pred and the pred_*@n columns. One line is one query; every
 * completion is one sample, graded against `answer`.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "util.h"

typedef struct sal_state {
    imp_sample *samples;
    size_t samples_cap;
    double *steps;
    size_t steps_cap;
} sal_state;

static double aggregate(allot_import_agg agg, const double *v, size_t n) {
    double r = agg == ALLOT_IMPORT_AGG_PROD ? 1 : agg == ALLOT_IMPORT_AGG_MIN ? INFINITY : 0;
    for (size_t i = 0; i < n; i++) {
        if (agg == ALLOT_IMPORT_AGG_PROD)
            r *= v[i];
        else if (agg == ALLOT_IMPORT_AGG_MIN)
            r = v[i] < r ? v[i] : r;
        else
            r += v[i];
    }
    if (agg == ALLOT_IMPORT_AGG_LAST) return v[n - 1];
    return agg == ALLOT_IMPORT_AGG_MEAN ? r / (double)n : r;
}

/* id: unique_id, else id, else "<file>:<line>". */
static const char *query_id(const imp_lines *l, char *buf, size_t size) {
    static const char *const keys[] = {"unique_id", "id"};
    for (size_t k = 0; k < 2; k++) {
        const char *t = imp_scalar_text(cJSON_GetObjectItemCaseSensitive(l->doc, keys[k]), buf, size);
        if (t && *t) return t;
    }
    snprintf(buf, size, "%s:%zu", l->path, l->lineno);
    return buf;
}

/* The step scores of every completion into s->steps (offsets in samples[].steps set after). */
static allot_status read_scores(const imp_ctx *c, sal_state *s, const imp_lines *l, size_t n,
                                allot_error *err) {
    const cJSON *scores = cJSON_GetObjectItemCaseSensitive(l->doc, "scores");
    if (!scores) return ALLOT_OK;
    if (!cJSON_IsArray(scores) || (size_t)cJSON_GetArraySize(scores) != n)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "scores: expected an array of %zu arrays (one per completion)", n);
    size_t total = 0, i = 0;
    for (const cJSON *sc = scores->child; sc; sc = sc->next) total += (size_t)cJSON_GetArraySize(sc);
    if (allot_reserve((void **)&s->steps, &s->steps_cap, total + 1, sizeof *s->steps))
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    size_t k = 0;
    for (const cJSON *sc = scores->child; sc; sc = sc->next, i++) {
        if (!cJSON_IsArray(sc))
            return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                           "scores[%zu]: expected an array of step scores", i);
        size_t j = 0, first = k;
        for (const cJSON *v = sc->child; v; v = v->next, j++) {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                               "scores[%zu][%zu]: expected a finite number", i, j);
            s->steps[k++] = v->valuedouble;
        }
        s->samples[i].steps = j ? s->steps + first : NULL; /* s->steps does not move after the reserve */
        s->samples[i].n_steps = j;
        if (j) {
            s->samples[i].has_score = 1;
            s->samples[i].score = aggregate(c->o->agg, s->steps + first, j);
        }
    }
    return ALLOT_OK;
}

/* cost = completion_tokens[i]; -1 (not recorded) leaves every sample without a cost. */
static allot_status read_costs(sal_state *s, const imp_lines *l, size_t n, allot_error *err) {
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(l->doc, "completion_tokens");
    if (!ct || (cJSON_IsNumber(ct) && ct->valuedouble == -1)) return ALLOT_OK;
    if (!cJSON_IsArray(ct) || (size_t)cJSON_GetArraySize(ct) != n)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "completion_tokens: expected an array of %zu token counts (one per completion)", n);
    size_t i = 0;
    for (const cJSON *v = ct->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
            return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                           "completion_tokens[%zu]: expected a number >= 0", i);
        s->samples[i].has_cost = 1;
        s->samples[i].cost = v->valuedouble;
    }
    return ALLOT_OK;
}

/* meta: subject and level when present (strings or numbers). */
static cJSON *meta_of(const cJSON *doc) {
    cJSON *meta = cJSON_CreateObject();
    static const char *const keys[] = {"subject", "level"};
    for (size_t k = 0; meta && k < 2; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, keys[k]);
        if ((cJSON_IsString(v) || cJSON_IsNumber(v)) &&
            !cJSON_AddItemToObject(meta, keys[k], cJSON_Duplicate(v, 0))) {
            cJSON_Delete(meta);
            return NULL;
        }
    }
    return meta;
}

static allot_status sal_line(imp_ctx *c, sal_state *s, const imp_lines *l, allot_error *err) {
    const cJSON *doc = l->doc;
    const cJSON *problem = cJSON_GetObjectItemCaseSensitive(doc, "problem");
    const cJSON *answer = cJSON_GetObjectItemCaseSensitive(doc, "answer");
    const cJSON *completions = cJSON_GetObjectItemCaseSensitive(doc, "completions");
    if (problem && !cJSON_IsString(problem))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "problem: expected a string");
    char num[64], idbuf[512];
    const char *reference = answer ? imp_scalar_text(answer, num, sizeof num) : NULL;
    if (!answer) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "answer: missing");
    if (!reference) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "answer: expected a string");
    if (!completions) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "completions: missing");
    if (!cJSON_IsArray(completions) || !completions->child)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "completions: expected a non-empty array of strings");
    size_t n = (size_t)cJSON_GetArraySize(completions);
    if (allot_reserve((void **)&s->samples, &s->samples_cap, n, sizeof *s->samples))
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    memset(s->samples, 0, n * sizeof *s->samples);
    char *gold = NULL;
    allot_status st = imp_gold(c->o->grader, reference, &gold, l->path, l->lineno, "answer", err);
    if (!st) st = read_scores(c, s, l, n, err);
    if (!st) st = read_costs(s, l, n, err);
    size_t i = 0;
    char field[48];
    for (const cJSON *t = completions->child; t && !st; t = t->next, i++) {
        s->samples[i].model = c->o->model;
        snprintf(field, sizeof field, "completions[%zu]", i);
        if (!cJSON_IsString(t))
            st = imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%s: expected a string", field);
        else
            st = imp_grade(c->o->grader, c->sum, t->valuestring, gold, &s->samples[i], l->path, l->lineno,
                           field, err);
    }
    cJSON *meta = st ? NULL : meta_of(doc);
    if (!st && !meta) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    if (!st) {
        imp_query q = {.id = query_id(l, idbuf, sizeof idbuf),
                       .prompt = problem ? problem->valuestring : NULL,
                       .gold = gold,
                       .meta = meta,
                       .samples = s->samples,
                       .n_samples = n,
                       .src = l->path,
                       .line = l->lineno};
        st = imp_sink_put(c->sink, &q, err);
    }
    cJSON_Delete(meta);
    for (size_t x = 0; x < n; x++) free(s->samples[x].answer);
    free(gold);
    return st;
}

allot_status imp_run_sal(imp_ctx *c, allot_error *err) {
    sal_state s = {0};
    allot_status st = ALLOT_OK;
    for (size_t f = 0; f < c->o->n_inputs && !st; f++) {
        imp_lines l;
        st = imp_lines_open(&l, c->o->inputs[f], err);
        int has = 1;
        while (!st && (st = imp_lines_next_json(&l, &has, err)) == ALLOT_OK && has)
            st = sal_line(c, &s, &l, err);
        imp_lines_close(&l);
    }
    free(s.samples);
    free(s.steps);
    return st;
}
