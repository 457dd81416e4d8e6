/*
 * sink.c - the output of allot import: unique ids, one labelled-runs line per query through the
 * atomic writer, and the summary; plus grading one generation and normalising a reference.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "util.h"

allot_status imp_sink_open(imp_sink *s, const char *path, allot_import_summary *sum, int progress,
                           allot_error *err) {
    memset(s, 0, sizeof *s);
    s->sum = sum;
    allot_status st = allot_atomic_open(&s->af, path, err);
    if (st) return st;
    s->open = 1;
    allot_progress_start(&s->progress, "import: queries", 0, progress);
    return ALLOT_OK;
}

/* The summary group called name (created on first use), or NULL when memory runs out. */
static allot_import_group *group(allot_import_summary *sum, const char *name) {
    for (size_t i = 0; i < sum->n_groups; i++)
        if (strcmp(sum->groups[i].name, name) == 0) return &sum->groups[i];
    allot_import_group *g = realloc(sum->groups, (sum->n_groups + 1) * sizeof *g);
    if (!g) return NULL;
    sum->groups = g;
    g = &sum->groups[sum->n_groups];
    memset(g, 0, sizeof *g);
    if (!(g->name = allot_strdup(name))) return NULL;
    sum->n_groups++;
    return g;
}

static allot_status count(imp_sink *s, const imp_query *q, allot_error *err) {
    allot_import_summary *sum = s->sum;
    sum->n_queries++;
    sum->tiers = q->n_tiers > 0;
    for (size_t i = 0; i < q->n_samples; i++) {
        const imp_sample *x = &q->samples[i];
        allot_import_group *g = group(sum, x->model ? x->model : "");
        if (!g) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        g->n++;
        g->acc_sum += x->correct;
        g->n_null += !x->answer;
        sum->n_null += !x->answer;
        if (x->has_cost) {
            g->cost_sum += x->cost;
            g->n_cost++;
        } else {
            sum->n_no_cost++;
        }
        sum->n_samples++;
    }
    for (size_t t = 0; t < q->n_tiers; t++) {
        allot_import_group *g = group(sum, q->tiers[t].name);
        if (!g) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        g->n++;
        g->acc_sum += q->tiers[t].acc;
        g->cost_sum += q->tiers[t].cost;
        g->n_cost++;
    }
    return ALLOT_OK;
}

static cJSON *sample_json(const imp_sample *x) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
    if (x->model) ok &= cJSON_AddStringToObject(o, "model", x->model) != NULL;
    ok &= (x->answer ? cJSON_AddStringToObject(o, "answer", x->answer)
                     : cJSON_AddNullToObject(o, "answer")) != NULL;
    ok &= cJSON_AddBoolToObject(o, "correct", x->correct) != NULL;
    if (x->has_score) ok &= cJSON_AddNumberToObject(o, "score", x->score) != NULL;
    if (x->steps) {
        cJSON *a = cJSON_AddArrayToObject(o, "step_scores");
        ok &= a != NULL;
        for (size_t j = 0; a && j < x->n_steps; j++) {
            cJSON *v = cJSON_CreateNumber(x->steps[j]);
            ok &= v && cJSON_AddItemToArray(a, v);
        }
    }
    if (x->has_cost) ok &= cJSON_AddNumberToObject(o, "cost", x->cost) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The labelled-runs line of q as a cJSON tree (meta is referenced, not copied). */
static cJSON *query_json(const imp_query *q) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddStringToObject(o, "id", q->id) != NULL;
    if (q->prompt) ok &= cJSON_AddStringToObject(o, "prompt", q->prompt) != NULL;
    if (q->gold) ok &= cJSON_AddStringToObject(o, "gold", q->gold) != NULL;
    if (q->meta && q->meta->child) {
        cJSON *m = cJSON_CreateObjectReference(q->meta->child);
        ok &= m && cJSON_AddItemToObject(o, "meta", m);
    }
    if (q->n_samples) {
        cJSON *a = cJSON_AddArrayToObject(o, "samples");
        ok &= a != NULL;
        for (size_t i = 0; a && ok && i < q->n_samples; i++) {
            cJSON *x = sample_json(&q->samples[i]);
            ok &= x && cJSON_AddItemToArray(a, x);
        }
    } else {
        cJSON *t = cJSON_AddObjectToObject(o, "tiers");
        ok &= t != NULL;
        for (size_t i = 0; t && ok && i < q->n_tiers; i++) {
            cJSON *x = cJSON_CreateObject();
            ok &= x && cJSON_AddNumberToObject(x, "acc", q->tiers[i].acc) &&
                  cJSON_AddNumberToObject(x, "cost", q->tiers[i].cost);
            ok &= x && cJSON_AddItemToObject(t, q->tiers[i].name, x);
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

allot_status imp_sink_put(imp_sink *s, const imp_query *q, allot_error *err) {
    const imp_map_entry *seen = imp_map_find(&s->ids, q->id);
    if (seen)
        return imp_err(err, ALLOT_E_INVALID, q->src, q->line, "id: duplicate id \"%s\" (first at line %zu)",
                       q->id, seen->value);
    if (!imp_map_add(&s->ids, q->id, q->line, 0)) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    cJSON *o = query_json(q);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    errno = 0;
    int bad = fputs(text, s->af.fp) < 0 || fputc('\n', s->af.fp) == EOF;
    cJSON_free(text);
    if (bad) /* stop at the first failed write (a full disk), naming why */
        return allot_error_set(err, ALLOT_E_IO, "%s: write failed: %s",
                               strcmp(s->af.path, "-") ? s->af.path : "stdout",
                               errno ? strerror(errno) : "an earlier write failed");
    allot_status st = count(s, q, err);
    allot_progress_update(&s->progress, s->sum->n_queries);
    return st;
}

allot_status imp_sink_close(imp_sink *s, allot_status st, allot_error *err) {
    if (s->open) {
        if (st == ALLOT_OK)
            st = allot_atomic_commit(&s->af, err);
        else
            allot_atomic_abort(&s->af);
        allot_progress_finish(&s->progress, s->sum->n_queries);
    }
    imp_map_free(&s->ids);
    s->open = 0;
    return st;
}

allot_status imp_grade(const allot_grader *g, allot_import_summary *sum, const char *text, const char *gold,
                       imp_sample *smp, const char *path, size_t line, const char *field, allot_error *err) {
    char *a = NULL;
    if (allot_grader_answer(g, text, &a)) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    smp->answer = a;
    smp->correct = allot_grader_correct(g, a, gold);
    if (!a && !sum->first_null[0])
        snprintf(sum->first_null, sizeof sum->first_null, "%s:%zu: %s", path, line, field);
    return ALLOT_OK;
}

allot_status imp_gold(const allot_grader *g, const char *reference, char **gold, const char *path,
                      size_t line, const char *field, allot_error *err) {
    const char *why = NULL;
    allot_status st = allot_grader_gold(g, reference, gold, &why);
    if (st == ALLOT_E_NOMEM) return allot_error_set(err, st, "out of memory");
    if (st) return imp_err(err, st, path, line, "%s: %s (grader %s)", field, why, g->name);
    return ALLOT_OK;
}

const char *imp_scalar_text(const cJSON *item, char *buf, size_t size) {
    if (cJSON_IsString(item)) return item->valuestring;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) return NULL;
    double v = item->valuedouble;
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.17g", v);
    return buf;
}
