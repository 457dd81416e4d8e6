/*
 * fmt_router.c - router tables (docs/import.md, "router"): RouterBench-style, one row per prompt,
 * for each model M a score column "M" (correctness or a score in [0,1]) and a cost column
 * "M|total_cost". CSV with a header row, or JSONL with one object per row; the first non-blank
 * character decides ('{' = JSONL). Each row becomes one query with precomputed tiers, one per model.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "util.h"

#define NO_COLUMN SIZE_MAX

typedef struct table {
    int jsonl;
    char **cols; /* column names in order */
    size_t n_cols;
    size_t id, prompt, eval; /* column indices, NO_COLUMN when absent */
    size_t *score, *cost;    /* per model: column indices */
    char **models;           /* per model: name (borrowed from cols) */
    size_t n_models;
    imp_tier *tiers;
    imp_csv_row row;
} table;

static void table_free(table *t) {
    for (size_t i = 0; i < t->n_cols; i++) free(t->cols[i]);
    free(t->cols);
    free(t->score);
    free(t->cost);
    free(t->models);
    free(t->tiers);
    imp_csv_free(&t->row);
}

static size_t column(const table *t, const char *name) {
    for (size_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i], name) == 0) return i;
    return NO_COLUMN;
}

/* Column names: the CSV header, or the keys of the first JSONL object. */
static allot_status read_columns(table *t, imp_lines *l, allot_error *err) {
    size_t n = 0;
    if (t->jsonl) {
        for (const cJSON *c = l->doc->child; c; c = c->next) n++;
    } else {
        allot_status st = imp_csv_parse(l, &t->row, err);
        if (st) return st;
        n = t->row.n;
    }
    if (!(t->cols = calloc(n, sizeof *t->cols))) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    const cJSON *c = t->jsonl ? l->doc->child : NULL;
    for (size_t i = 0; i < n; i++, c = c ? c->next : NULL) {
        const char *name = t->jsonl ? c->string : imp_csv_field(&t->row, i);
        if (i == 0 && strncmp(name, "\xef\xbb\xbf", 3) == 0) name += 3; /* a UTF-8 byte order mark */
        if (!(t->cols[i] = allot_strdup(name))) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        t->n_cols = i + 1;
        if (column(t, name) != i)
            return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%s: duplicate column", name);
    }
    return ALLOT_OK;
}

static allot_status add_model(table *t, const imp_lines *l, const char *name, const char *suffix,
                              allot_error *err) {
    size_t sc = column(t, name), len = strlen(name) + strlen(suffix) + 1;
    char *cost_name = malloc(len);
    if (!cost_name) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    snprintf(cost_name, len, "%s%s", name, suffix);
    size_t co = column(t, cost_name);
    free(cost_name);
    size_t line = t->jsonl ? l->lineno : t->row.line;
    if (sc == NO_COLUMN || co == NO_COLUMN)
        return imp_err(err, ALLOT_E_INVALID, l->path, line,
                       "%s: not a model of the table (needs columns \"%s\" and \"%s%s\")", name, name, name,
                       suffix);
    for (size_t m = 0; m < t->n_models; m++)
        if (t->score[m] == sc)
            return imp_err(err, ALLOT_E_INVALID, l->path, line, "%s: model named twice", name);
    if (t->n_models == t->n_cols) return imp_err(err, ALLOT_E_INVALID, l->path, line, "models: too many");
    t->score[t->n_models] = sc;
    t->cost[t->n_models] = co;
    t->models[t->n_models++] = t->cols[sc];
    return ALLOT_OK;
}

/* Every file must have the models of the rows already written (labelled runs need one tier set). */
static allot_status same_models_as_before(const table *t, const allot_import_summary *sum, const char *path,
                                          size_t line, allot_error *err) {
    if (sum->n_groups == 0) return ALLOT_OK;
    for (size_t m = 0; m < t->n_models; m++) {
        size_t g = 0;
        while (g < sum->n_groups && strcmp(sum->groups[g].name, t->models[m]) != 0) g++;
        if (g == sum->n_groups)
            return imp_err(err, ALLOT_E_INVALID, path, line, "%s: a model the earlier tables do not have",
                           t->models[m]);
    }
    if (t->n_models != sum->n_groups)
        return imp_err(err, ALLOT_E_INVALID, path, line, "%zu models where the earlier tables have %zu",
                       t->n_models, sum->n_groups);
    return ALLOT_OK;
}

/* The models: --models in that order, else every column M with a column M<suffix>, in column order. */
static allot_status find_models(table *t, const imp_ctx *c, const imp_lines *l, allot_error *err) {
    const allot_import_options *o = c->o;
    size_t line = t->jsonl ? l->lineno : t->row.line;
    t->score = calloc(t->n_cols + 1, sizeof *t->score);
    t->cost = calloc(t->n_cols + 1, sizeof *t->cost);
    t->models = calloc(t->n_cols + 1, sizeof *t->models);
    if (!t->score || !t->cost || !t->models) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    t->id = column(t, o->id_column);
    t->prompt = column(t, o->prompt_column);
    t->eval = column(t, "eval_name");
    if (t->id == NO_COLUMN)
        return imp_err(err, ALLOT_E_INVALID, l->path, line,
                       "%s: no such column (name the id column with --id-column)", o->id_column);
    allot_status st = ALLOT_OK;
    if (o->models) {
        char *list = allot_strdup(o->models), *save = NULL;
        if (!list) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        for (char *m = strtok_r(list, ",", &save); m && !st; m = strtok_r(NULL, ",", &save))
            st = add_model(t, l, m, o->cost_suffix, err);
        free(list);
    } else {
        size_t ls = strlen(o->cost_suffix);
        for (size_t i = 0; i < t->n_cols && !st; i++) {
            size_t n = strlen(t->cols[i]);
            if (n <= ls || strcmp(t->cols[i] + n - ls, o->cost_suffix) != 0) continue;
            char *name = allot_strndup(t->cols[i], n - ls);
            if (!name) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            if (column(t, name) != NO_COLUMN) st = add_model(t, l, name, o->cost_suffix, err);
            free(name);
        }
    }
    if (!st && t->n_models == 0)
        st = imp_err(err, ALLOT_E_INVALID, l->path, line,
                     "no model columns (a score column M and a cost column M%s for each model)",
                     o->cost_suffix);
    if (!st && !(t->tiers = calloc(t->n_models, sizeof *t->tiers)))
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    return st ? st : same_models_as_before(t, c->sum, l->path, line, err);
}

/* A CSV cell as a number; booleans (True/False as pandas writes them) when allow_bool. */
static int csv_number(const char *s, int allow_bool, double *v) {
    if (allow_bool &&
        (!strcmp(s, "True") || !strcmp(s, "true") || !strcmp(s, "False") || !strcmp(s, "false"))) {
        *v = s[0] == 'T' || s[0] == 't';
        return 1;
    }
    char *end = NULL;
    errno = 0;
    *v = strtod(s, &end);
    while (end && (*end == ' ' || *end == '\t')) end++;
    return *s && end && !*end && !errno && isfinite(*v);
}

/* The acc (is_acc) or cost cell of column col of the current row, checked. */
static allot_status cell_value(const table *t, const imp_lines *l, size_t col, int is_acc, double *v,
                               allot_error *err) {
    const char *name = t->cols[col];
    size_t line = t->jsonl ? l->lineno : t->row.line;
    if (t->jsonl) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(l->doc, name);
        if (!x) return imp_err(err, ALLOT_E_INVALID, l->path, line, "%s: missing", name);
        if (is_acc && cJSON_IsBool(x))
            *v = cJSON_IsTrue(x);
        else if (cJSON_IsNumber(x) && isfinite(x->valuedouble))
            *v = x->valuedouble;
        else
            return imp_err(err, ALLOT_E_INVALID, l->path, line, "%s: expected a number%s", name,
                           is_acc ? " or a boolean" : " (a cost)");
    } else if (!csv_number(imp_csv_field(&t->row, col), is_acc, v)) {
        return imp_err(err, ALLOT_E_INVALID, l->path, line, "%s: expected a number%s, found \"%.40s\"", name,
                       is_acc ? " or True/False" : " (a cost)", imp_csv_field(&t->row, col));
    }
    if (is_acc && (*v < 0 || *v > 1))
        return imp_err(err, ALLOT_E_INVALID, l->path, line, "%s: outside [0,1] (%.17g)", name, *v);
    if (!is_acc && *v < 0)
        return imp_err(err, ALLOT_E_INVALID, l->path, line, "%s: negative cost (%.17g)", name, *v);
    return ALLOT_OK;
}

/* A text cell (id, prompt, eval_name): NULL when the column is absent; numbers as text in buf. */
static allot_status cell_text(const table *t, const imp_lines *l, size_t col, char *buf, size_t size,
                              const char **out, allot_error *err) {
    *out = NULL;
    if (col == NO_COLUMN) return ALLOT_OK;
    if (!t->jsonl) {
        *out = imp_csv_field(&t->row, col);
        return ALLOT_OK;
    }
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(l->doc, t->cols[col]);
    if (!x || cJSON_IsNull(x)) return ALLOT_OK;
    if (!(*out = imp_scalar_text(x, buf, size)))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%s: expected a string or a number",
                       t->cols[col]);
    return ALLOT_OK;
}

static allot_status table_row(imp_ctx *c, table *t, imp_lines *l, allot_error *err) {
    size_t line = l->lineno;
    if (t->jsonl) {
        allot_status st = imp_lines_parse(l, err);
        if (st) return st;
    } else {
        allot_status st = imp_csv_parse(l, &t->row, err);
        if (st) return st;
        if (t->row.n != t->n_cols)
            return imp_err(err, ALLOT_E_INVALID, l->path, line,
                           "expected %zu fields (the header's), found %zu", t->n_cols, t->row.n);
    }
    char idbuf[64], promptbuf[64], evalbuf[64];
    const char *id, *prompt, *eval;
    allot_status st = cell_text(t, l, t->id, idbuf, sizeof idbuf, &id, err);
    if (!st) st = cell_text(t, l, t->prompt, promptbuf, sizeof promptbuf, &prompt, err);
    if (!st) st = cell_text(t, l, t->eval, evalbuf, sizeof evalbuf, &eval, err);
    if (st) return st;
    if (!id || !*id)
        return imp_err(err, ALLOT_E_INVALID, l->path, line, "%s: missing or empty id", t->cols[t->id]);
    for (size_t m = 0; m < t->n_models && !st; m++) {
        t->tiers[m].name = t->models[m];
        st = cell_value(t, l, t->score[m], 1, &t->tiers[m].acc, err);
        if (!st) st = cell_value(t, l, t->cost[m], 0, &t->tiers[m].cost, err);
    }
    if (st) return st;
    cJSON *meta = eval ? cJSON_CreateObject() : NULL;
    if (eval && (!meta || !cJSON_AddStringToObject(meta, "eval_name", eval))) {
        cJSON_Delete(meta);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    }
    imp_query q = {.id = id,
                   .prompt = prompt,
                   .meta = meta,
                   .tiers = t->tiers,
                   .n_tiers = t->n_models,
                   .src = l->path,
                   .line = line};
    st = imp_sink_put(c->sink, &q, err);
    cJSON_Delete(meta);
    return st;
}

static allot_status read_table(imp_ctx *c, const char *path, allot_error *err) {
    imp_lines l;
    table t = {0};
    allot_status st = imp_lines_open(&l, path, err);
    int has = 1, header = 1;
    while (!st && (st = imp_lines_next_raw(&l, &has, err)) == ALLOT_OK && has) {
        if (imp_lines_blank(&l)) continue;
        if (header) {
            size_t i = 0;
            while (i < l.len && (l.buf[i] == ' ' || l.buf[i] == '\t')) i++;
            t.jsonl = l.buf[i] == '{';
            if (t.jsonl && (st = imp_lines_parse(&l, err))) break;
            if (!(st = read_columns(&t, &l, err))) st = find_models(&t, c, &l, err);
            header = 0;
            if (st || !t.jsonl) continue; /* a CSV header is not a row */
        }
        st = table_row(c, &t, &l, err);
    }
    if (!st && header) st = allot_error_set(err, ALLOT_E_INVALID, "%s: empty table (no header row)", path);
    table_free(&t);
    imp_lines_close(&l);
    return st;
}

allot_status imp_run_router(imp_ctx *c, allot_error *err) {
    allot_status st = ALLOT_OK;
    for (size_t f = 0; f < c->o->n_inputs && !st; f++) st = read_table(c, c->o->inputs[f], err);
    return st;
}
