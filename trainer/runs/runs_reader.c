/*
 * runs_reader.c - streaming reader of labelled-runs JSONL (see runs_reader.h, docs/labelled-runs.md).
 *
 * One line at a time: getline() into a reused buffer, cJSON parse, validate, convert into reused
 * arrays. The cJSON tree of the current line is kept until the next call so that string pointers
 * in allot_query can point straight into it (no copies). The only state that grows with the file
 * is the duplicate-id set (one copy of each id) and the model-name table. Input goes through
 * allot_input (input_stream.h), so a gzip-compressed file or stream reads like a plain one.
 */
#include "runs_reader.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input_stream.h"
#include "json_line.h"
#include "allot_limits.h"
#include "rng.h"
#include "util.h"

/* Open-addressing set of owned strings (ids, model names). Index table holds entry+1, 0 = empty. */
typedef struct strset {
    char **items; /* insertion order */
    size_t n, items_cap;
    uint32_t *slots; /* capacity: power of two */
    size_t n_slots;
} strset;

struct allot_runs_reader {
    char *path;
    allot_input *in;         /* decompresses gzip; owns nothing of a caller's stream */
    FILE *fp;                /* allot_input_fp(in) */
    allot_line_reader lines; /* reads fp ahead in chunks */
    char *line;
    size_t line_cap;
    size_t lineno;
    cJSON *doc;      /* current line's tree */
    char *meta_json; /* current line's compact meta */
    strset ids;
    strset models;
    allot_sample *samples;
    size_t samples_cap;
    double *steps;
    size_t steps_cap;
    allot_named_value *feats;
    size_t feats_cap;
    double *vecs; /* the vector features' values of the current line */
    size_t vecs_cap;
    allot_tier_outcome *tiers;
    size_t tiers_cap;
    /* per-line answer interning: open addressing over answer strings (pointers into doc) */
    const char **answers;
    size_t answers_cap;
    uint32_t *ans_slots;
    size_t ans_slots_cap;
    /* tier names fixed by the first line with `tiers` (insertion order = tier order) */
    strset tier_names;
    size_t tier_names_line;
};

static uint64_t hash_str(const char *s) {
    return allot_hash64(s, strlen(s));
}

static void strset_free(strset *s) {
    for (size_t i = 0; i < s->n; i++) free(s->items[i]);
    free(s->items);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* Look s up; returns its index or -1. */
static long strset_find(const strset *s, const char *key) {
    if (!s->n_slots) return -1;
    size_t mask = s->n_slots - 1;
    for (size_t i = (size_t)hash_str(key) & mask;; i = (i + 1) & mask) {
        uint32_t v = s->slots[i];
        if (!v) return -1;
        if (strcmp(s->items[v - 1], key) == 0) return (long)(v - 1);
    }
}

static int strset_rehash(strset *s, size_t n_slots) {
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots) return -1;
    size_t mask = n_slots - 1;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = (size_t)hash_str(s->items[k]) & mask;
        while (slots[i]) i = (i + 1) & mask;
        slots[i] = (uint32_t)(k + 1);
    }
    free(s->slots);
    s->slots = slots;
    s->n_slots = n_slots;
    return 0;
}

/* Add key (copied); returns its index, or -1 on out of memory. Caller checks absence first. */
static long strset_add(strset *s, const char *key) {
    if ((s->n + 1) * 2 > s->n_slots && strset_rehash(s, s->n_slots ? s->n_slots * 2 : 64) != 0) return -1;
    if (allot_reserve((void **)&s->items, &s->items_cap, s->n + 1, sizeof *s->items)) return -1;
    char *copy = allot_strdup(key);
    if (!copy) return -1;
    s->items[s->n] = copy;
    size_t mask = s->n_slots - 1;
    size_t i = (size_t)hash_str(key) & mask;
    while (s->slots[i]) i = (i + 1) & mask;
    s->slots[i] = (uint32_t)(s->n + 1);
    return (long)s->n++;
}

/* Errors are "path:line: field: problem". */
#define RERR(r, err, code, ...) reader_error((r), (err), (code), __VA_ARGS__)
static allot_status reader_error(const allot_runs_reader *r, allot_error *err, allot_status code,
                                 const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static allot_status reader_error(const allot_runs_reader *r, allot_error *err, allot_status code,
                                 const char *fmt, ...) {
    char msg[ALLOT_ERROR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return allot_error_set(err, code, "%s:%zu: %s", r->path, r->lineno, msg);
}

/* The rest of opening, once the input is open (st == ALLOT_OK) or failed; r is freed on failure. */
static allot_status reader_start(allot_runs_reader *r, allot_status st, allot_runs_reader **out,
                                 allot_error *err) {
    if (!st) {
        r->fp = allot_input_fp(r->in);
        if (allot_line_reader_init(&r->lines, r->fp)) {
            allot_input_close(r->in);
            st = allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", r->path);
        }
    }
    if (st) {
        free(r->path);
        free(r);
        return st;
    }
    *out = r;
    return ALLOT_OK;
}

allot_status allot_runs_reader_open(const char *path, allot_runs_reader **out, allot_error *err) {
    *out = NULL;
    if (!path) return allot_error_set(err, ALLOT_E_ARGUMENT, "runs reader: no path");
    allot_runs_reader *r = calloc(1, sizeof *r);
    if (!r) return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", path);
    r->path = allot_strdup(path);
    if (!r->path) {
        free(r);
        return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", path);
    }
    return reader_start(r, allot_input_open(path, &r->in, err), out, err);
}

allot_status allot_runs_reader_open_stream(FILE *fp, const char *name, allot_runs_reader **out,
                                           allot_error *err) {
    *out = NULL;
    if (!fp || !name) return allot_error_set(err, ALLOT_E_ARGUMENT, "runs reader: no stream or no name");
    allot_runs_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = allot_strdup(name))) {
        free(r);
        return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", name);
    }
    return reader_start(r, allot_input_wrap(fp, &r->in, err), out, err);
}

size_t allot_runs_reader_n_models(const allot_runs_reader *r) {
    return r->models.n;
}

const char *allot_runs_reader_model_name(const allot_runs_reader *r, int idx) {
    if (idx < 0 || (size_t)idx >= r->models.n) return NULL;
    return r->models.items[idx];
}

const char *const *allot_runs_reader_model_names(const allot_runs_reader *r) {
    return (const char *const *)r->models.items;
}

const char *allot_runs_reader_path(const allot_runs_reader *r) {
    return r->path;
}

static void release_line(allot_runs_reader *r) {
    cJSON_Delete(r->doc);
    r->doc = NULL;
    cJSON_free(r->meta_json);
    r->meta_json = NULL;
}

void allot_runs_reader_close(allot_runs_reader *r) {
    if (!r) return;
    release_line(r);
    allot_line_reader_free(&r->lines);
    allot_input_close(r->in);
    free(r->path);
    free(r->line);
    strset_free(&r->ids);
    strset_free(&r->models);
    free(r->samples);
    free(r->steps);
    free(r->feats);
    free(r->vecs);
    free(r->tiers);
    free(r->answers);
    free(r->ans_slots);
    strset_free(&r->tier_names);
    free(r);
}

/* A finite JSON number, or an error naming field. */
static allot_status get_number(allot_runs_reader *r, const cJSON *item, const char *field, double *v,
                               allot_error *err);

/* A vector feature (an embedding): a non-empty array of finite numbers, appended to r->vecs at *used. */
static allot_status get_vector(allot_runs_reader *r, const cJSON *arr, const char *field,
                               allot_named_value *out, size_t *used, allot_error *err) {
    size_t dim = (size_t)cJSON_GetArraySize(arr), k = 0;
    if (dim == 0)
        return RERR(r, err, ALLOT_E_INVALID, "%s: an empty array (a vector feature needs values)", field);
    if (dim > ALLOT_RUNS_MAX_VECTOR)
        return RERR(r, err, ALLOT_E_INVALID, "%s: %zu values (at most %u)", field, dim,
                    ALLOT_RUNS_MAX_VECTOR);
    if (allot_reserve((void **)&r->vecs, &r->vecs_cap, *used + dim, sizeof *r->vecs))
        return RERR(r, err, ALLOT_E_NOMEM, "out of memory");
    char el[ALLOT_ERROR_MSG_SIZE / 2];
    for (const cJSON *v = arr->child; v; v = v->next, k++) {
        snprintf(el, sizeof el, "%.200s[%zu]", field, k);
        allot_status st = get_number(r, v, el, &r->vecs[*used + k], err);
        if (st) return st;
    }
    out->value = NAN;
    out->dim = dim;
    *used += dim;
    return ALLOT_OK;
}

static allot_status get_number(allot_runs_reader *r, const cJSON *item, const char *field, double *v,
                               allot_error *err) {
    if (!cJSON_IsNumber(item)) return RERR(r, err, ALLOT_E_INVALID, "%s: expected a number", field);
    double x = item->valuedouble;
    if (!isfinite(x)) return RERR(r, err, ALLOT_E_INVALID, "%s: not a finite number", field);
    *v = x;
    return ALLOT_OK;
}

/* 1 with *v set when item is a finite number (get_number's success, without naming the field). */
static int finite_number(const cJSON *item, double *v) {
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) return 0;
    *v = item->valuedouble;
    return 1;
}

/* a == b, for short strings: member names, answers (inlined: a call to strcmp costs more than the
 * comparison of a few bytes). */
static inline int same_string(const char *a, const char *b) {
    while (*b && *a == *b) a++, b++;
    return *a == *b;
}

/* Intern answer string s for the current line; returns its id or -1 on out of memory. */
static long intern_answer(allot_runs_reader *r, size_t *n_answers, const char *s) {
    size_t mask = r->ans_slots_cap - 1;
    for (size_t i = (size_t)hash_str(s) & mask;; i = (i + 1) & mask) {
        uint32_t v = r->ans_slots[i];
        if (!v) {
            r->answers[*n_answers] = s;
            r->ans_slots[i] = (uint32_t)(*n_answers + 1);
            return (long)(*n_answers)++;
        }
        if (same_string(r->answers[v - 1], s)) return (long)(v - 1);
    }
}

/* The members of a sample that allot reads, found in one pass over its members (each name appears at
 * most once: the strict parse refused duplicates), NULL when absent. */
typedef struct sample_fields {
    const cJSON *correct, *model, *answer, *score, *cost, *step_scores;
} sample_fields;

static void sample_members(const cJSON *s, sample_fields *f) {
    memset(f, 0, sizeof *f);
    for (const cJSON *c = s->child; c; c = c->next) {
        const char *k = c->string;
        const cJSON **slot = NULL;
        switch (k[0]) {
        case 'a': slot = same_string(k, "answer") ? &f->answer : NULL; break;
        case 'c':
            slot = same_string(k, "correct") ? &f->correct : same_string(k, "cost") ? &f->cost : NULL;
            break;
        case 'm': slot = same_string(k, "model") ? &f->model : NULL; break;
        case 's':
            slot = same_string(k, "score")         ? &f->score
                   : same_string(k, "step_scores") ? &f->step_scores
                                                   : NULL;
            break;
        default: break;
        }
        if (slot) *slot = c;
    }
}

static allot_status parse_samples(allot_runs_reader *r, const cJSON *arr, allot_query *q, allot_error *err) {
    if (!cJSON_IsArray(arr)) return RERR(r, err, ALLOT_E_INVALID, "samples: expected an array");
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n == 0) return RERR(r, err, ALLOT_E_INVALID, "samples: empty array");
    if (n > ALLOT_MAX_SAMPLES)
        return RERR(r, err, ALLOT_E_INVALID, "samples: %zu samples, at most %u allowed", n,
                    ALLOT_MAX_SAMPLES);
    /* The answer hash table has at least 2n slots; allot_reserve doubles from 16, so its capacity
     * stays a power of two (intern_answer masks with it). */
    if (allot_reserve((void **)&r->samples, &r->samples_cap, n, sizeof *r->samples) ||
        allot_reserve((void **)&r->answers, &r->answers_cap, n, sizeof *r->answers) ||
        allot_reserve((void **)&r->ans_slots, &r->ans_slots_cap, 2 * n, sizeof *r->ans_slots))
        return RERR(r, err, ALLOT_E_NOMEM, "out of memory");
    memset(r->ans_slots, 0, r->ans_slots_cap * sizeof *r->ans_slots);
    size_t n_answers = 0, n_steps = 0, i = 0;
    long last_model = -1;
    const char *last_model_name = NULL;
    char field[64];
    for (const cJSON *s = arr->child; s; s = s->next, i++) {
        allot_sample *out = &r->samples[i];
        if (!cJSON_IsObject(s)) return RERR(r, err, ALLOT_E_INVALID, "samples[%zu]: expected an object", i);
        sample_fields f;
        sample_members(s, &f);
        const cJSON *c = f.correct, *m = f.model, *a = f.answer, *sc = f.score, *co = f.cost,
                    *ss = f.step_scores;
        if (!c) return RERR(r, err, ALLOT_E_INVALID, "samples[%zu].correct: missing", i);
        if (!cJSON_IsBool(c))
            return RERR(r, err, ALLOT_E_INVALID, "samples[%zu].correct: expected true or false", i);
        out->correct = cJSON_IsTrue(c) ? 1 : 0;

        const char *mname = "";
        if (m) {
            if (!cJSON_IsString(m))
                return RERR(r, err, ALLOT_E_INVALID, "samples[%zu].model: expected a string", i);
            mname = m->valuestring;
        }
        if (last_model_name && strcmp(last_model_name, mname) == 0) {
            out->model = (int)last_model;
        } else {
            long idx = strset_find(&r->models, mname);
            if (idx < 0 && (idx = strset_add(&r->models, mname)) < 0)
                return RERR(r, err, ALLOT_E_NOMEM, "out of memory");
            last_model = idx;
            last_model_name = r->models.items[idx];
            out->model = (int)idx;
        }

        out->answer = -1;
        out->answer_present = a != NULL;
        if (a && !cJSON_IsNull(a)) {
            if (!cJSON_IsString(a))
                return RERR(r, err, ALLOT_E_INVALID, "samples[%zu].answer: expected a string or null", i);
            out->answer = (int)intern_answer(r, &n_answers, a->valuestring);
        }

        out->score = NAN;
        if (sc && !finite_number(sc, &out->score)) { /* the field's name is formatted only for the error */
            snprintf(field, sizeof field, "samples[%zu].score", i);
            return get_number(r, sc, field, &out->score, err);
        }

        out->cost = 1.0;
        if (co) {
            if (!finite_number(co, &out->cost)) {
                snprintf(field, sizeof field, "samples[%zu].cost", i);
                return get_number(r, co, field, &out->cost, err);
            }
            if (out->cost < 0)
                return RERR(r, err, ALLOT_E_INVALID, "samples[%zu].cost: negative (%.17g)", i, out->cost);
        }

        out->step_offset = n_steps;
        out->n_steps = 0;
        if (ss) {
            if (!cJSON_IsArray(ss))
                return RERR(r, err, ALLOT_E_INVALID, "samples[%zu].step_scores: expected an array of numbers",
                            i);
            size_t ns = (size_t)cJSON_GetArraySize(ss);
            if (allot_reserve((void **)&r->steps, &r->steps_cap, n_steps + ns, sizeof *r->steps))
                return RERR(r, err, ALLOT_E_NOMEM, "out of memory");
            size_t j = 0;
            for (const cJSON *v = ss->child; v; v = v->next, j++) {
                if (finite_number(v, &r->steps[n_steps + j])) continue;
                snprintf(field, sizeof field, "samples[%zu].step_scores[%zu]", i, j);
                return get_number(r, v, field, &r->steps[n_steps + j], err);
            }
            out->n_steps = ns;
            n_steps += ns;
        }
    }
    q->n_samples = n;
    q->samples = r->samples;
    q->step_scores = r->steps;
    q->n_answers = n_answers;
    q->answers = r->answers;
    return ALLOT_OK;
}

static allot_status parse_tiers(allot_runs_reader *r, const cJSON *obj, allot_query *q, allot_error *err) {
    if (!cJSON_IsObject(obj)) return RERR(r, err, ALLOT_E_INVALID, "tiers: expected an object");
    size_t n = (size_t)cJSON_GetArraySize(obj);
    if (n == 0) return RERR(r, err, ALLOT_E_INVALID, "tiers: empty object");
    if (n > ALLOT_MAX_TIERS)
        return RERR(r, err, ALLOT_E_INVALID, "tiers: %zu tiers, at most %u allowed", n, ALLOT_MAX_TIERS);
    if (r->tier_names.n == 0) {
        /* The first line with tiers fixes the names and their order (the strict parse refused
         * duplicate names already). */
        for (const cJSON *t = obj->child; t; t = t->next)
            if (strset_add(&r->tier_names, t->string) < 0) {
                strset_free(&r->tier_names);
                return RERR(r, err, ALLOT_E_NOMEM, "out of memory");
            }
        r->tier_names_line = r->lineno;
    }
    size_t T = r->tier_names.n;
    if (allot_reserve((void **)&r->tiers, &r->tiers_cap, T, sizeof *r->tiers))
        return RERR(r, err, ALLOT_E_NOMEM, "out of memory");
    for (size_t j = 0; j < T; j++) r->tiers[j].name = NULL; /* not seen yet */
    char field[ALLOT_ERROR_MSG_SIZE / 2];
    /* Every key must be one of the fixed names (each at most once: the strict parse saw to that). */
    for (const cJSON *t = obj->child; t; t = t->next) {
        long j = strset_find(&r->tier_names, t->string);
        const char *name = t->string;
        if (j < 0)
            return RERR(r, err, ALLOT_E_INVALID, "tiers.%s: not a tier of the first tiers line (line %zu)",
                        name, r->tier_names_line);
        if (!cJSON_IsObject(t)) return RERR(r, err, ALLOT_E_INVALID, "tiers.%s: expected an object", name);
        allot_tier_outcome *o = &r->tiers[j];
        o->name = r->tier_names.items[j];
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(t, "acc");
        if (!acc) return RERR(r, err, ALLOT_E_INVALID, "tiers.%s.acc: missing", name);
        snprintf(field, sizeof field, "tiers.%s.acc", name);
        allot_status st = get_number(r, acc, field, &o->acc, err);
        if (st) return st;
        if (o->acc < 0 || o->acc > 1)
            return RERR(r, err, ALLOT_E_INVALID, "tiers.%s.acc: outside [0,1] (%.17g)", name, o->acc);
        const cJSON *cost = cJSON_GetObjectItemCaseSensitive(t, "cost");
        if (!cost) return RERR(r, err, ALLOT_E_INVALID, "tiers.%s.cost: missing", name);
        snprintf(field, sizeof field, "tiers.%s.cost", name);
        st = get_number(r, cost, field, &o->cost, err);
        if (st) return st;
        if (o->cost < 0)
            return RERR(r, err, ALLOT_E_INVALID, "tiers.%s.cost: negative (%.17g)", name, o->cost);
    }
    for (size_t j = 0; j < T; j++)
        if (!r->tiers[j].name)
            return RERR(r, err, ALLOT_E_INVALID,
                        "tiers.%s: missing (every line must have the tiers of line %zu)",
                        r->tier_names.items[j], r->tier_names_line);
    q->n_tiers = T;
    q->tiers = r->tiers;
    return ALLOT_OK;
}

static allot_status parse_line(allot_runs_reader *r, const char *text, size_t len, allot_query *q,
                               allot_error *err) {
    r->doc = allot_json_parse_strict(text, len, r->path, r->lineno, err);
    if (!r->doc) return err ? err->code : ALLOT_E_PARSE;
    const cJSON *doc = r->doc;
    if (!cJSON_IsObject(doc)) return RERR(r, err, ALLOT_E_INVALID, "expected a JSON object");

    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    if (!id) return RERR(r, err, ALLOT_E_INVALID, "id: missing");
    if (!cJSON_IsString(id)) return RERR(r, err, ALLOT_E_INVALID, "id: expected a string");
    if (id->valuestring[0] == '\0') return RERR(r, err, ALLOT_E_INVALID, "id: empty string");
    q->id = id->valuestring;

    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(doc, "prompt");
    if (prompt && !cJSON_IsString(prompt)) return RERR(r, err, ALLOT_E_INVALID, "prompt: expected a string");
    q->prompt = prompt ? prompt->valuestring : NULL;
    const cJSON *gold = cJSON_GetObjectItemCaseSensitive(doc, "gold");
    if (gold && !cJSON_IsString(gold)) return RERR(r, err, ALLOT_E_INVALID, "gold: expected a string");
    q->gold = gold ? gold->valuestring : NULL;

    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "meta");
    if (meta) {
        if (!cJSON_IsObject(meta)) return RERR(r, err, ALLOT_E_INVALID, "meta: expected an object");
        r->meta_json = cJSON_PrintUnformatted(meta);
        if (!r->meta_json) return RERR(r, err, ALLOT_E_NOMEM, "out of memory");
        q->meta_json = r->meta_json;
    }

    const cJSON *feats = cJSON_GetObjectItemCaseSensitive(doc, "features");
    if (feats) {
        if (!cJSON_IsObject(feats)) return RERR(r, err, ALLOT_E_INVALID, "features: expected an object");
        size_t n = (size_t)cJSON_GetArraySize(feats), i = 0, n_vec = 0;
        if (n > ALLOT_MAX_FEATURES)
            return RERR(r, err, ALLOT_E_INVALID, "features: %zu features, at most %u allowed", n,
                        ALLOT_MAX_FEATURES);
        if (allot_reserve((void **)&r->feats, &r->feats_cap, n, sizeof *r->feats))
            return RERR(r, err, ALLOT_E_NOMEM, "out of memory");
        char field[ALLOT_ERROR_MSG_SIZE / 2];
        /* (duplicate names were refused by the strict parse, in linear time) */
        for (const cJSON *f = feats->child; f; f = f->next, i++) {
            snprintf(field, sizeof field, "features.%s", f->string);
            r->feats[i].name = f->string;
            r->feats[i].vec = NULL;
            r->feats[i].dim = 0;
            allot_status st = cJSON_IsArray(f) ? get_vector(r, f, field, &r->feats[i], &n_vec, err)
                                               : get_number(r, f, field, &r->feats[i].value, err);
            if (st) return st;
        }
        /* the vectors' values now stay put: point into them */
        for (size_t k = 0, off = 0; k < n; k++)
            if (r->feats[k].dim) {
                r->feats[k].vec = r->vecs + off;
                off += r->feats[k].dim;
            }
        q->n_features = n;
        q->features = r->feats;
    }

    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(doc, "samples");
    const cJSON *tiers = cJSON_GetObjectItemCaseSensitive(doc, "tiers");
    if (!samples && !tiers)
        return RERR(r, err, ALLOT_E_INVALID, "samples: missing (a query needs samples or tiers)");
    if (samples && tiers)
        return RERR(r, err, ALLOT_E_INVALID, "tiers: a query has samples or tiers, not both");
    allot_status st = samples ? parse_samples(r, samples, q, err) : parse_tiers(r, tiers, q, err);
    if (st) return st;

    /* Duplicate check last, so that the id is recorded only for a valid line. */
    if (r->ids.n >= ALLOT_MAX_QUERIES)
        return RERR(r, err, ALLOT_E_INVALID, "id: more than %u queries in one file", ALLOT_MAX_QUERIES);
    if (strset_find(&r->ids, q->id) >= 0)
        return RERR(r, err, ALLOT_E_INVALID, "id: duplicate id \"%s\"", q->id);
    if (strset_add(&r->ids, q->id) < 0) return RERR(r, err, ALLOT_E_NOMEM, "out of memory");
    q->line = r->lineno;
    return ALLOT_OK;
}

allot_status allot_runs_reader_next(allot_runs_reader *r, allot_query *q, int *has_query, allot_error *err) {
    *has_query = 0;
    memset(q, 0, sizeof *q);
    release_line(r);
    for (;;) {
        errno = 0;
        ssize_t got = allot_line_reader_next(&r->lines, &r->line, &r->line_cap, ALLOT_MAX_LINE_BYTES);
        if (got == -2) {
            r->lineno++;
            if (errno == ENOMEM) return RERR(r, err, ALLOT_E_NOMEM, "out of memory reading the line");
            return RERR(r, err, ALLOT_E_INVALID, "line longer than %zu bytes (the limit)",
                        ALLOT_MAX_LINE_BYTES);
        }
        /* A read error (a truncated .gz, say) may end a line early: report it, not the half line. */
        if (got <= 0 || (r->line[got - 1] != '\n' && ferror(r->fp))) {
            if (ferror(r->fp)) {
                const char *why = allot_input_problem(r->in);
                if (why) return allot_error_set(err, ALLOT_E_IO, "%s:%zu: %s", r->path, r->lineno + 1, why);
                return allot_error_set(err, ALLOT_E_IO, "%s:%zu: read error: %s", r->path, r->lineno + 1,
                                       strerror(errno));
            }
            return ALLOT_OK; /* end of file */
        }
        r->lineno++;
        size_t len = (size_t)got;
        int blank = 1;
        for (size_t i = 0; i < len && blank; i++)
            if (r->line[i] != ' ' && r->line[i] != '\t' && r->line[i] != '\r' && r->line[i] != '\n')
                blank = 0;
        if (blank) continue;
        allot_status st = parse_line(r, r->line, len, q, err);
        if (st) {
            memset(q, 0, sizeof *q);
            return st;
        }
        *has_query = 1;
        return ALLOT_OK;
    }
}

char *allot_runs_record_json(const allot_query *q) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    if (q->n_features) {
        cJSON *f = cJSON_AddObjectToObject(root, "features");
        for (size_t k = 0; f && k < q->n_features; k++) {
            const allot_named_value *nv = &q->features[k];
            if (nv->vec)
                cJSON_AddItemToObject(f, nv->name, cJSON_CreateDoubleArray(nv->vec, (int)nv->dim));
            else
                cJSON_AddNumberToObject(f, nv->name, nv->value);
        }
    }
    if (q->meta_json) {
        cJSON *m = cJSON_Parse(q->meta_json);
        if (m) cJSON_AddItemToObject(root, "meta", m);
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text; /* cJSON's allocator is malloc by default: free() releases it */
}
