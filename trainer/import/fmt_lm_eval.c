/*
 * fmt_lm_eval.c - lm-evaluation-harness `--log_samples` output (docs/import.md, "lm-eval").
 *
 * A samples_<task>_<date>.jsonl line is one document under one filter: doc_id, doc, target,
 * arguments, resps (the generations, one list per request: N of them with `repeats: N`),
 * filtered_resps and the metrics of the filtered response. A task with several filters logs every
 * document once per filter, so a document is written once, at its first row; later rows must carry
 * the same generations (checked by hash) and are skipped. Every generation is graded on its own:
 * the logged metrics belong to the filtered response only and are not used.
 */
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "rng.h"
#include "util.h"

/* --task, else the <task> of samples_<task>_<date>.jsonl[.gz] (the date has no '_'). */
static allot_status task_of(const char *path, const char *given, char *task, size_t size, allot_error *err) {
    if (given) {
        snprintf(task, size, "%s", given);
        return ALLOT_OK;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *last = strrchr(base, '_');
    if (strncmp(base, "samples_", 8) != 0 || !last || last < base + 9 || (size_t)(last - base - 8) >= size)
        return allot_error_set(
            err, ALLOT_E_ARGUMENT,
            "%s: cannot tell the task from the file name (expected samples_<task>_<date>.jsonl); "
            "give --task",
            path);
    memcpy(task, base + 8, (size_t)(last - base - 8));
    task[last - base - 8] = '\0';
    return ALLOT_OK;
}

/* The prompt: arguments.gen_args_0.arg_0 (lm-eval >= 0.4.3) or arguments[0][0] (older). NULL: none. */
static allot_status prompt_of(const imp_lines *l, const cJSON *doc, const char **prompt, allot_error *err) {
    *prompt = NULL;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(doc, "arguments");
    if (!args) return ALLOT_OK;
    const cJSON *first = NULL, *text = NULL;
    const char *field = NULL;
    if (cJSON_IsObject(args)) {
        first = cJSON_GetObjectItemCaseSensitive(args, "gen_args_0");
        text = cJSON_IsObject(first) ? cJSON_GetObjectItemCaseSensitive(first, "arg_0") : NULL;
        field = "arguments.gen_args_0.arg_0";
    } else if (cJSON_IsArray(args)) {
        first = args->child;
        text = cJSON_IsArray(first) ? first->child : NULL;
        field = "arguments[0][0]";
    } else {
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "arguments: expected an object or an array");
    }
    if (!text) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%s: missing", field);
    if (!cJSON_IsString(text))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%s: expected a string", field);
    *prompt = text->valuestring;
    return ALLOT_OK;
}

/* Check resps is an array of arrays of strings; count them and hash them in order. */
static allot_status check_resps(const imp_lines *l, const cJSON *resps, size_t *n, uint64_t *hash,
                                allot_error *err) {
    *n = 0;
    *hash = 1469598103934665603ULL;
    if (!resps) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "resps: missing");
    if (!cJSON_IsArray(resps))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "resps: expected an array of arrays of generations");
    size_t i = 0;
    for (const cJSON *req = resps->child; req; req = req->next, i++) {
        if (!cJSON_IsArray(req))
            return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                           "resps[%zu]: expected an array of generations", i);
        size_t j = 0;
        for (const cJSON *g = req->child; g; g = g->next, j++) {
            if (!cJSON_IsString(g))
                return imp_err(
                    err, ALLOT_E_INVALID, l->path, l->lineno,
                    "resps[%zu][%zu]: expected a string (a generation; loglikelihood tasks have none "
                    "to grade)",
                    i, j);
            *hash = (*hash ^ allot_hash64(g->valuestring, strlen(g->valuestring))) * 1099511628211ULL;
            (*n)++;
        }
    }
    if (*n == 0) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "resps: no generations");
    return ALLOT_OK;
}

typedef struct lm_state {
    imp_map docs; /* "<task>/<doc_id>" -> first line, hash of the generations */
    imp_sample *samples;
    size_t samples_cap;
} lm_state;

/* Grade every generation of one document and write it. */
static allot_status write_doc(imp_ctx *c, lm_state *s, const imp_lines *l, const char *task, const char *id,
                              const cJSON *doc_id, size_t n, allot_error *err) {
    const cJSON *doc = l->doc;
    const char *prompt = NULL;
    allot_status st = prompt_of(l, doc, &prompt, err);
    if (st) return st;
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(doc, "target");
    char num[64];
    const char *reference = target ? imp_scalar_text(target, num, sizeof num) : NULL;
    if (!target) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "target: missing");
    if (!reference) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "target: expected a string");
    char *gold = NULL;
    if ((st = imp_gold(c->o->grader, reference, &gold, l->path, l->lineno, "target", err))) return st;
    if (allot_reserve((void **)&s->samples, &s->samples_cap, n, sizeof *s->samples)) {
        free(gold);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    }
    memset(s->samples, 0, n * sizeof *s->samples);
    size_t k = 0, i = 0;
    char field[64];
    for (const cJSON *req = cJSON_GetObjectItemCaseSensitive(doc, "resps")->child; req && !st;
         req = req->next, i++) {
        size_t j = 0;
        for (const cJSON *g = req->child; g && !st; g = g->next, j++, k++) {
            s->samples[k].model = c->o->model;
            snprintf(field, sizeof field, "resps[%zu][%zu]", i, j);
            st = imp_grade(c->o->grader, c->sum, g->valuestring, gold, &s->samples[k], l->path, l->lineno,
                           field, err);
        }
    }
    cJSON *meta = cJSON_CreateObject();
    if (!st && (!meta || !cJSON_AddStringToObject(meta, "task", task) ||
                !cJSON_AddItemToObject(meta, "doc_id", cJSON_Duplicate(doc_id, 1))))
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    if (!st) {
        imp_query q = {.id = id,
                       .prompt = prompt,
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

/* One row: the first of its document is written, a repeat (another filter) checked and skipped. */
static allot_status row(imp_ctx *c, lm_state *s, const imp_lines *l, const char *task, allot_error *err) {
    const cJSON *doc_id = cJSON_GetObjectItemCaseSensitive(l->doc, "doc_id");
    char num[64];
    const char *doc_text = doc_id ? imp_scalar_text(doc_id, num, sizeof num) : NULL;
    if (!doc_id) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "doc_id: missing");
    if (!doc_text)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "doc_id: expected a number or a string");
    size_t n;
    uint64_t hash;
    allot_status st = check_resps(l, cJSON_GetObjectItemCaseSensitive(l->doc, "resps"), &n, &hash, err);
    if (st) return st;
    size_t len = strlen(task) + strlen(doc_text) + 2;
    char *id = malloc(len);
    if (!id) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    snprintf(id, len, "%s/%s", task, doc_text);
    const imp_map_entry *seen = imp_map_find(&s->docs, id);
    if (seen && seen->aux != hash)
        st =
            imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                    "resps: document %s repeats line %zu with different generations (two runs in one input?)",
                    id, seen->value);
    else if (seen)
        c->sum->n_rows_skipped++;
    else if (!imp_map_add(&s->docs, id, l->lineno, hash))
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    else
        st = write_doc(c, s, l, task, id, doc_id, n, err);
    free(id);
    return st;
}

allot_status imp_run_lm_eval(imp_ctx *c, allot_error *err) {
    lm_state s = {0};
    allot_status st = ALLOT_OK;
    for (size_t f = 0; f < c->o->n_inputs && !st; f++) {
        char task[256];
        const char *path = c->o->inputs[f];
        if ((st = task_of(path, c->o->task, task, sizeof task, err))) break;
        imp_lines l;
        st = imp_lines_open(&l, path, err);
        int has = 1;
        while (!st && (st = imp_lines_next_json(&l, &has, err)) == ALLOT_OK && has)
            st = row(c, &s, &l, task, err);
        imp_lines_close(&l);
    }
    imp_map_free(&s.docs);
    free(s.samples);
    return st;
}
