/*
 * curves_io.c - write and read curves files (docs/curves-format.md).
 *
 * Writing is done with fprintf so that every double is printed with %.17g (exact read-back) and the
 * output is byte-for-byte deterministic; strings are escaped here. Reading uses cJSON, line by line,
 * through allot_input (input_stream.h), so a gzip-compressed curves file reads like a plain one.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "curves_internal.h"
#include "input_stream.h"
#include "json_line.h"
#include "allot_limits.h"
#include "rng.h"
#include "strmap.h"
#include "util.h"

#define ALLOT_CURVES_FORMAT "allot-curves"
#define ALLOT_CURVES_VERSION 1
/* Largest integer a double (and so cJSON) holds exactly. */
#define ALLOT_EXACT_INT_MAX 9007199254740992.0

static void put_string(FILE *fp, const char *s) {
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        case '\b': fputs("\\b", fp); break;
        case '\f': fputs("\\f", fp); break;
        default:
            if (*p < 0x20)
                fprintf(fp, "\\u%04x", *p);
            else
                fputc(*p, fp);
        }
    }
    fputc('"', fp);
}

static void put_array(FILE *fp, const char *key, const double *v, size_t n) {
    fprintf(fp, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) fprintf(fp, i ? ",%.17g" : "%.17g", v[i]);
    fputc(']', fp);
}

static void write_header(FILE *fp, const allot_curves *c) {
    fprintf(fp, "{\"format\":\"%s\",\"version\":%d,\"source\":", ALLOT_CURVES_FORMAT, ALLOT_CURVES_VERSION);
    if (c->source)
        put_string(fp, c->source);
    else
        fputs("null", fp);
    /* seeds above 2^53 are written as strings so that they read back exactly */
    if ((double)c->seed < ALLOT_EXACT_INT_MAX)
        fprintf(fp, ",\"seed\":%llu", (unsigned long long)c->seed);
    else
        fprintf(fp, ",\"seed\":\"%llu\"", (unsigned long long)c->seed);
    fprintf(fp,
            ",\"permutations\":%d,\"max_exact_subsets\":%ld,\"cap_k\":%s,\"n_queries\":%zu,\"features\":[",
            c->permutations, c->max_exact_subsets, c->cap_k ? "true" : "false", c->n_queries);
    for (size_t f = 0; f < c->n_features; f++) {
        if (f) fputc(',', fp);
        put_string(fp, c->feature_names[f]);
    }
    fputc(']', fp);
    if (c->embed_name) {
        fputs(",\"embedding\":{\"name\":", fp);
        put_string(fp, c->embed_name);
        fprintf(fp, ",\"dim\":%zu}", c->embed_dim);
    }
    fputs(",\"tiers\":[", fp);
    int have_defs = c->tier_defs.n == c->n_tiers && c->tier_defs.tiers;
    for (size_t t = 0; t < c->n_tiers; t++) {
        fputs(t ? ",{\"name\":" : "{\"name\":", fp);
        put_string(fp, c->tier_names[t]);
        if (have_defs) {
            const allot_tier *d = &c->tier_defs.tiers[t];
            fputs(",\"model\":", fp);
            if (d->model)
                put_string(fp, d->model);
            else
                fputs("null", fp);
            fprintf(fp, ",\"rule\":\"%s\",\"k\":%d,\"agg\":", allot_select_rule_name(d->rule), d->k);
            if (d->agg)
                fprintf(fp, "\"%s\"", allot_step_agg_name(d->agg));
            else
                fputs("null", fp);
        }
        fputc('}', fp);
    }
    fputs("]}\n", fp);
}

static void write_query(FILE *fp, const allot_curves *c, size_t i) {
    fputs("{\"id\":", fp);
    put_string(fp, c->ids[i]);
    if (c->prompts && c->prompts[i]) {
        fputs(",\"prompt\":", fp);
        put_string(fp, c->prompts[i]);
    }
    if (c->meta_json && c->meta_json[i]) fprintf(fp, ",\"meta\":%s", c->meta_json[i]);
    const double *e = c->embed_name ? c->embed + i * c->embed_dim : NULL;
    if (e && isnan(e[0])) e = NULL; /* this query has no embedding */
    if (c->n_features || e) {
        fputs(",\"features\":{", fp);
        int first = 1;
        for (size_t f = 0; f < c->n_features; f++) {
            double v = c->features[i * c->n_features + f];
            if (isnan(v)) continue;
            if (!first) fputc(',', fp);
            first = 0;
            put_string(fp, c->feature_names[f]);
            fprintf(fp, ":%.17g", v);
        }
        if (e) {
            if (!first) fputc(',', fp);
            put_string(fp, c->embed_name);
            for (size_t k = 0; k < c->embed_dim; k++) fprintf(fp, "%s%.17g", k ? "," : ":[", e[k]);
            fputc(']', fp);
        }
        fputc('}', fp);
    }
    put_array(fp, "acc", c->acc + i * c->n_tiers, c->n_tiers);
    put_array(fp, "cost", c->cost + i * c->n_tiers, c->n_tiers);
    put_array(fp, "se", c->se + i * c->n_tiers, c->n_tiers);
    fputs("}\n", fp);
}

allot_status allot_curves_write(const allot_curves *c, const char *path, allot_error *err) {
    if (!c || !path) return allot_error_set(err, ALLOT_E_ARGUMENT, "curves write: no table or no path");
    for (size_t i = 0; i < c->n_queries * c->n_tiers; i++)
        if (!isfinite(c->acc[i]) || !isfinite(c->cost[i]) || !isfinite(c->se[i]))
            return allot_error_set(err, ALLOT_E_ARGUMENT, "%s: query %s tier %s: value not finite", path,
                                   c->ids[i / c->n_tiers], c->tier_names[i % c->n_tiers]);
    if (strcmp(path, "-") == 0) {
        write_header(stdout, c);
        for (size_t i = 0; i < c->n_queries; i++) write_query(stdout, c, i);
        if (fflush(stdout) != 0 || ferror(stdout))
            return allot_error_set(err, ALLOT_E_IO, "stdout: write failed: %s", strerror(errno));
        return ALLOT_OK;
    }
    allot_atomic_file af;
    allot_status st = allot_atomic_open(&af, path, err);
    if (st) return st;
    write_header(af.fp, c);
    for (size_t i = 0; i < c->n_queries; i++) write_query(af.fp, c, i);
    return allot_atomic_commit(&af, err);
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct cread {
    const char *path;
    size_t line;
    allot_error *err;
    allot_strmap features; /* header feature name -> column */
    allot_strmap ids;      /* query id -> its line (duplicate ids) */
    allot_strmap tiers;    /* header tier name -> index (duplicate names) */
} cread;

static allot_status cerr(const cread *r, allot_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static allot_status cerr(const cread *r, allot_status code, const char *fmt, ...) {
    char msg[ALLOT_ERROR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return allot_error_set(r->err, code, "%s:%zu: %s", r->path, r->line, msg);
}

/* The header's identity: a JSON object of format "allot-curves", version 1. */
static allot_status check_format(const cread *r, const cJSON *h) {
    if (!cJSON_IsObject(h)) return cerr(r, ALLOT_E_INVALID, "header: expected a JSON object");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(h, "format");
    if (!fmt)
        return cerr(r, ALLOT_E_INVALID,
                    "format: missing (not a curves file; nor labelled runs, whose lines have an \"id\")");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, ALLOT_CURVES_FORMAT) != 0)
        return cerr(r, ALLOT_E_INVALID, "format: expected \"%s\"", ALLOT_CURVES_FORMAT);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(h, "version");
    if (!ver) return cerr(r, ALLOT_E_INVALID, "version: missing");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != ALLOT_CURVES_VERSION)
        return cerr(r, ALLOT_E_UNSUPPORTED, "version: only version %d is supported", ALLOT_CURVES_VERSION);
    return ALLOT_OK;
}

/* source: a string or null (optional). */
static allot_status read_source(const cread *r, const cJSON *h, allot_curves *c) {
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(h, "source");
    if (!src || cJSON_IsNull(src)) return ALLOT_OK;
    if (!cJSON_IsString(src)) return cerr(r, ALLOT_E_INVALID, "source: expected a string or null");
    if (!(c->source = allot_strdup(src->valuestring))) return cerr(r, ALLOT_E_NOMEM, "out of memory");
    return ALLOT_OK;
}

/* seed (optional): a number below 2^53 or a decimal string of the whole unsigned 64-bit range. */
static allot_status read_seed(const cread *r, const cJSON *h, allot_curves *c) {
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(h, "seed");
    if (!seed) return ALLOT_OK;
    if (cJSON_IsNumber(seed) && seed->valuedouble >= 0 && seed->valuedouble < ALLOT_EXACT_INT_MAX &&
        seed->valuedouble == floor(seed->valuedouble)) {
        c->seed = (uint64_t)seed->valuedouble;
        return ALLOT_OK;
    }
    if (!cJSON_IsString(seed) || seed->valuestring[0] < '0' || seed->valuestring[0] > '9')
        return cerr(r, ALLOT_E_INVALID, "seed: expected an unsigned integer");
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(seed->valuestring, &end, 10);
    if (errno || *end) return cerr(r, ALLOT_E_INVALID, "seed: not an unsigned 64-bit integer");
    c->seed = (uint64_t)v;
    return ALLOT_OK;
}

/* An optional member holding an integer in [0, 2^31 - 1]; *out is left alone when it is absent. */
static allot_status read_int_member(const cread *r, const cJSON *h, const char *key, long *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, key);
    if (!v) return ALLOT_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 2147483647.0 ||
        v->valuedouble != floor(v->valuedouble))
        return cerr(r, ALLOT_E_INVALID, "%s: expected a non-negative integer", key);
    *out = (long)v->valuedouble;
    return ALLOT_OK;
}

/* How the curves were computed: seed, permutations, max_exact_subsets, cap_k (all optional). */
static allot_status read_settings(const cread *r, const cJSON *h, allot_curves *c) {
    allot_status st = read_seed(r, h, c);
    if (st) return st;
    long perm = c->permutations;
    if ((st = read_int_member(r, h, "permutations", &perm))) return st;
    c->permutations = (int)perm;
    if ((st = read_int_member(r, h, "max_exact_subsets", &c->max_exact_subsets))) return st;
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(h, "cap_k");
    if (cap) {
        if (!cJSON_IsBool(cap)) return cerr(r, ALLOT_E_INVALID, "cap_k: expected true or false");
        c->cap_k = cJSON_IsTrue(cap) ? 1 : 0;
    }
    return ALLOT_OK;
}

/* n_queries (optional): *declared_n, or (size_t)-1 when the header does not declare it. */
static allot_status read_declared_n(const cread *r, const cJSON *h, size_t *declared_n) {
    const cJSON *nq = cJSON_GetObjectItemCaseSensitive(h, "n_queries");
    *declared_n = (size_t)-1;
    if (!nq) return ALLOT_OK;
    if (!cJSON_IsNumber(nq) || nq->valuedouble < 0 || nq->valuedouble >= ALLOT_EXACT_INT_MAX ||
        nq->valuedouble != floor(nq->valuedouble))
        return cerr(r, ALLOT_E_INVALID, "n_queries: expected a non-negative integer");
    if (nq->valuedouble > ALLOT_MAX_QUERIES)
        return cerr(r, ALLOT_E_INVALID, "n_queries: %.0f queries, at most %u allowed", nq->valuedouble,
                    ALLOT_MAX_QUERIES);
    *declared_n = (size_t)nq->valuedouble;
    return ALLOT_OK;
}

/* features (optional): the names of the scalar features, distinct, into r->features too. */
static allot_status read_feature_names(cread *r, const cJSON *h, allot_curves *c) {
    const cJSON *feats = cJSON_GetObjectItemCaseSensitive(h, "features");
    if (!feats) return ALLOT_OK;
    if (!cJSON_IsArray(feats)) return cerr(r, ALLOT_E_INVALID, "features: expected an array of names");
    size_t n = (size_t)cJSON_GetArraySize(feats), i = 0;
    if (n > ALLOT_MAX_FEATURES)
        return cerr(r, ALLOT_E_INVALID, "features: %zu names, at most %u allowed", n, ALLOT_MAX_FEATURES);
    if (n && !(c->feature_names = calloc(n, sizeof *c->feature_names)))
        return cerr(r, ALLOT_E_NOMEM, "out of memory");
    for (const cJSON *f = feats->child; f; f = f->next, i++) {
        if (!cJSON_IsString(f)) return cerr(r, ALLOT_E_INVALID, "features[%zu]: expected a string", i);
        if (!(c->feature_names[i] = allot_strdup(f->valuestring)))
            return cerr(r, ALLOT_E_NOMEM, "out of memory");
        c->n_features = i + 1;
        int put = allot_strmap_put(&r->features, c->feature_names[i], i, NULL);
        if (put < 0) return cerr(r, ALLOT_E_NOMEM, "out of memory");
        if (put > 0)
            return cerr(r, ALLOT_E_INVALID, "features[%zu]: duplicate name \"%s\"", i, f->valuestring);
    }
    return ALLOT_OK;
}

/* embedding (optional, or null): {"name": a name no scalar feature has, "dim": 1..65536}. */
static allot_status read_embedding_decl(const cread *r, const cJSON *h, allot_curves *c) {
    const cJSON *emb = cJSON_GetObjectItemCaseSensitive(h, "embedding");
    if (!emb || cJSON_IsNull(emb)) return ALLOT_OK;
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(emb, "name"),
                *ed = cJSON_GetObjectItemCaseSensitive(emb, "dim");
    if (!cJSON_IsString(en) || !en->valuestring[0])
        return cerr(r, ALLOT_E_INVALID, "embedding.name: expected a non-empty string");
    if (!cJSON_IsNumber(ed) || ed->valuedouble < 1 || ed->valuedouble > 65536 ||
        ed->valuedouble != floor(ed->valuedouble))
        return cerr(r, ALLOT_E_INVALID, "embedding.dim: expected an integer in [1, 65536]");
    for (size_t j = 0; j < c->n_features; j++)
        if (!strcmp(c->feature_names[j], en->valuestring))
            return cerr(r, ALLOT_E_INVALID, "embedding.name: \"%s\" is also a scalar feature",
                        en->valuestring);
    if (!(c->embed_name = allot_strdup(en->valuestring))) return cerr(r, ALLOT_E_NOMEM, "out of memory");
    c->embed_dim = (size_t)ed->valuedouble;
    return ALLOT_OK;
}

/* tiers[i]: an object with a distinct non-empty name, kept in c->tier_names and tier_defs. */
static allot_status read_tier_name(cread *r, const cJSON *t, size_t i, allot_curves *c) {
    if (!cJSON_IsObject(t)) return cerr(r, ALLOT_E_INVALID, "tiers[%zu]: expected an object", i);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    if (!name) return cerr(r, ALLOT_E_INVALID, "tiers[%zu].name: missing", i);
    if (!cJSON_IsString(name) || !name->valuestring[0])
        return cerr(r, ALLOT_E_INVALID, "tiers[%zu].name: expected a non-empty string", i);
    int put = allot_strmap_put(&r->tiers, name->valuestring, i, NULL);
    if (put) {
        return put < 0
                   ? cerr(r, ALLOT_E_NOMEM, "out of memory")
                   : cerr(r, ALLOT_E_INVALID, "tiers[%zu].name: duplicate tier \"%s\"", i, name->valuestring);
    }
    allot_tier *d = &c->tier_defs.tiers[i];
    c->tier_defs.n = i + 1;
    if (!(c->tier_names[i] = allot_strdup(name->valuestring)) || !(d->name = allot_strdup(name->valuestring)))
        return cerr(r, ALLOT_E_NOMEM, "out of memory");
    return ALLOT_OK;
}

/* tiers[i]'s definition, given its rule: the rule, then model, k and agg (each optional). */
static allot_status read_tier_def(const cread *r, const cJSON *t, size_t i, const cJSON *rule,
                                  allot_tier *d) {
    if (!cJSON_IsString(rule)) return cerr(r, ALLOT_E_INVALID, "tiers[%zu].rule: expected a string", i);
    if (strcmp(rule->valuestring, "precomputed") == 0)
        d->rule = ALLOT_SELECT_PRECOMPUTED;
    else if (allot_select_rule_from_name(rule->valuestring, &d->rule))
        return cerr(r, ALLOT_E_INVALID, "tiers[%zu].rule: unknown rule \"%s\"", i, rule->valuestring);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(t, "model");
    if (model && !cJSON_IsNull(model)) {
        if (!cJSON_IsString(model))
            return cerr(r, ALLOT_E_INVALID, "tiers[%zu].model: expected a string or null", i);
        if (!(d->model = allot_strdup(model->valuestring))) return cerr(r, ALLOT_E_NOMEM, "out of memory");
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(t, "k");
    if (k) {
        if (!cJSON_IsNumber(k) || k->valuedouble < 0 || k->valuedouble > 1e9 ||
            k->valuedouble != floor(k->valuedouble))
            return cerr(r, ALLOT_E_INVALID, "tiers[%zu].k: expected a non-negative integer", i);
        d->k = (int)k->valuedouble;
    }
    const cJSON *agg = cJSON_GetObjectItemCaseSensitive(t, "agg");
    if (agg && !cJSON_IsNull(agg) &&
        (!cJSON_IsString(agg) || allot_step_agg_from_name(agg->valuestring, &d->agg)))
        return cerr(r, ALLOT_E_INVALID, "tiers[%zu].agg: expected min, last, mean, prod or null", i);
    return ALLOT_OK;
}

/* tiers (required): a non-empty array of tiers; their definitions are kept only when every tier
 * has a rule. */
static allot_status read_tiers(cread *r, const cJSON *h, allot_curves *c) {
    const cJSON *tiers = cJSON_GetObjectItemCaseSensitive(h, "tiers");
    if (!tiers) return cerr(r, ALLOT_E_INVALID, "tiers: missing");
    if (!cJSON_IsArray(tiers) || !tiers->child)
        return cerr(r, ALLOT_E_INVALID, "tiers: expected a non-empty array");
    size_t n = (size_t)cJSON_GetArraySize(tiers), i = 0;
    if (n > ALLOT_MAX_TIERS)
        return cerr(r, ALLOT_E_INVALID, "tiers: %zu tiers, at most %u allowed", n, ALLOT_MAX_TIERS);
    c->tier_names = calloc(n, sizeof *c->tier_names);
    c->tier_defs.tiers = calloc(n, sizeof *c->tier_defs.tiers);
    if (!c->tier_names || !c->tier_defs.tiers) return cerr(r, ALLOT_E_NOMEM, "out of memory");
    c->n_tiers = n;
    int all_defs = 1;
    allot_status st;
    for (const cJSON *t = tiers->child; t; t = t->next, i++) {
        if ((st = read_tier_name(r, t, i, c))) return st;
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(t, "rule");
        if (!rule)
            all_defs = 0;
        else if ((st = read_tier_def(r, t, i, rule, &c->tier_defs.tiers[i])))
            return st;
    }
    if (!all_defs) allot_tier_set_free(&c->tier_defs); /* names only: definitions unknown */
    return ALLOT_OK;
}

/* The header line, member by member in a fixed order: the first error is the one reported. */
static allot_status read_header(cread *r, const cJSON *h, allot_curves *c, size_t *declared_n) {
    allot_status st;
    if ((st = check_format(r, h)) || (st = read_source(r, h, c)) || (st = read_settings(r, h, c)) ||
        (st = read_declared_n(r, h, declared_n)) || (st = read_feature_names(r, h, c)) ||
        (st = read_embedding_decl(r, h, c)))
        return st;
    return read_tiers(r, h, c);
}

/* A query's embedding: an array of exactly dim finite numbers (the header's dimension). */
static allot_status read_embedding(const cread *r, const cJSON *a, double *out, size_t dim) {
    if (!cJSON_IsArray(a))
        return cerr(r, ALLOT_E_INVALID, "features.%s: expected an array (the embedding)", a->string);
    size_t len = (size_t)cJSON_GetArraySize(a), i = 0;
    if (len != dim)
        return cerr(r, ALLOT_E_INVALID, "features.%s: %zu values, the header's embedding has %zu", a->string,
                    len, dim);
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return cerr(r, ALLOT_E_INVALID, "features.%s[%zu]: expected a finite number", a->string, i);
        out[i] = v->valuedouble;
    }
    return ALLOT_OK;
}

/* Read a numeric array of exactly n entries into out, each checked by kind. */
static allot_status read_row(const cread *r, const cJSON *q, const char *key, size_t n, double *out,
                             int is_acc) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(q, key);
    if (!a) return cerr(r, ALLOT_E_INVALID, "%s: missing", key);
    if (!cJSON_IsArray(a)) return cerr(r, ALLOT_E_INVALID, "%s: expected an array of numbers", key);
    size_t len = (size_t)cJSON_GetArraySize(a);
    if (len != n) return cerr(r, ALLOT_E_INVALID, "%s: %zu values for %zu tiers", key, len, n);
    size_t i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return cerr(r, ALLOT_E_INVALID, "%s[%zu]: expected a finite number", key, i);
        double x = v->valuedouble;
        if (is_acc && (x < 0 || x > 1))
            return cerr(r, ALLOT_E_INVALID, "%s[%zu]: outside [0,1] (%.17g)", key, i, x);
        if (x < 0) return cerr(r, ALLOT_E_INVALID, "%s[%zu]: negative (%.17g)", key, i, x);
        out[i] = x;
    }
    return ALLOT_OK;
}

static allot_status read_query(cread *r, const cJSON *q, allot_curves *c, size_t row) {
    if (!cJSON_IsObject(q)) return cerr(r, ALLOT_E_INVALID, "expected a JSON object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(q, "id");
    if (!id) return cerr(r, ALLOT_E_INVALID, "id: missing");
    if (!cJSON_IsString(id) || !id->valuestring[0])
        return cerr(r, ALLOT_E_INVALID, "id: expected a non-empty string");
    if (!(c->ids[row] = allot_strdup(id->valuestring))) return cerr(r, ALLOT_E_NOMEM, "out of memory");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(q, "prompt");
    if (prompt) {
        if (!cJSON_IsString(prompt)) return cerr(r, ALLOT_E_INVALID, "prompt: expected a string");
        if (!(c->prompts[row] = allot_strdup(prompt->valuestring)))
            return cerr(r, ALLOT_E_NOMEM, "out of memory");
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(q, "meta");
    if (meta) {
        if (!cJSON_IsObject(meta)) return cerr(r, ALLOT_E_INVALID, "meta: expected an object");
        char *m = cJSON_PrintUnformatted(meta);
        if (!m) return cerr(r, ALLOT_E_NOMEM, "out of memory");
        c->meta_json[row] = allot_strdup(m);
        cJSON_free(m);
        if (!c->meta_json[row]) return cerr(r, ALLOT_E_NOMEM, "out of memory");
    }
    double *frow = c->n_features ? c->features + row * c->n_features : NULL;
    for (size_t f = 0; f < c->n_features; f++) frow[f] = NAN;
    double *erow = c->embed_name ? c->embed + row * c->embed_dim : NULL;
    for (size_t k = 0; k < c->embed_dim; k++) erow[k] = NAN;
    const cJSON *feats = cJSON_GetObjectItemCaseSensitive(q, "features");
    if (feats) {
        if (!cJSON_IsObject(feats)) return cerr(r, ALLOT_E_INVALID, "features: expected an object");
        for (const cJSON *f = feats->child; f; f = f->next) {
            if (c->embed_name && !strcmp(f->string, c->embed_name)) {
                allot_status est = read_embedding(r, f, erow, c->embed_dim);
                if (est) return est;
                continue;
            }
            size_t j = 0;
            if (!allot_strmap_get(&r->features, f->string, &j))
                return cerr(r, ALLOT_E_INVALID, "features.%s: not listed in the header's features",
                            f->string);
            if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
                return cerr(r, ALLOT_E_INVALID, "features.%s: expected a finite number", f->string);
            if (!isnan(frow[j])) return cerr(r, ALLOT_E_INVALID, "features.%s: duplicate", f->string);
            frow[j] = f->valuedouble;
        }
    }
    allot_status st;
    if ((st = read_row(r, q, "acc", c->n_tiers, c->acc + row * c->n_tiers, 1))) return st;
    if ((st = read_row(r, q, "cost", c->n_tiers, c->cost + row * c->n_tiers, 0))) return st;
    return read_row(r, q, "se", c->n_tiers, c->se + row * c->n_tiers, 0);
}

static allot_status read_input(allot_input *in, const char *path, allot_curves **out, allot_error *err);

allot_status allot_curves_read(const char *path, allot_curves **out, allot_error *err) {
    *out = NULL;
    allot_input *in = NULL;
    allot_status st = allot_input_open(path, &in, err);
    if (st) return st;
    st = read_input(in, path, out, err);
    allot_input_close(in);
    return st;
}

/* Make room for `rows` query rows: every per-query array of c has capacity *cap_q rows (acc, cost
 * and se hold n_tiers doubles a row, features n_features). Each grows from the same old capacity,
 * so each ends at the same new one. 0 on success, -1 when memory runs out. */
static int reserve_rows(allot_curves *c, size_t *cap_q, size_t rows) {
    size_t cap = *cap_q;
#define GROW_ROWS(p, per) (cap = *cap_q, allot_reserve((void **)&(p), &cap, rows, (per) * sizeof *(p)))
    int failed = GROW_ROWS(c->ids, 1) || GROW_ROWS(c->prompts, 1) || GROW_ROWS(c->meta_json, 1) ||
                 GROW_ROWS(c->acc, c->n_tiers) || GROW_ROWS(c->cost, c->n_tiers) ||
                 GROW_ROWS(c->se, c->n_tiers) || (c->n_features && GROW_ROWS(c->features, c->n_features)) ||
                 (c->embed_name && GROW_ROWS(c->embed, c->embed_dim));
#undef GROW_ROWS
    if (failed) return -1;
    *cap_q = cap;
    return 0;
}

allot_status allot_curves_read_stream(FILE *fp, const char *path, allot_curves **out, allot_error *err) {
    *out = NULL;
    allot_input *in = NULL;
    allot_status st = allot_input_wrap(fp, &in, err);
    if (st) return st;
    st = read_input(in, path, out, err);
    allot_input_close(in);
    return st;
}

/* One query line (doc) as the next row of c: within the limits, its id not seen before. */
static allot_status add_query(cread *r, const cJSON *doc, allot_curves *c, size_t *cap_q) {
    size_t row = c->n_queries;
    if (row >= ALLOT_MAX_QUERIES || (row + 1) > ALLOT_MAX_CURVE_VALUES / c->n_tiers ||
        (c->n_features && (row + 1) > ALLOT_MAX_FEATURE_VALUES / c->n_features))
        return cerr(r, ALLOT_E_INVALID,
                    "too many queries: %zu queries x %zu tiers (and %zu features) exceed the limits of "
                    "docs/limits.md",
                    row + 1, c->n_tiers, c->n_features);
    if (reserve_rows(c, cap_q, row + 1)) return allot_error_set(r->err, ALLOT_E_NOMEM, "out of memory");
    c->ids[row] = c->prompts[row] = c->meta_json[row] = NULL;
    c->n_queries++;
    allot_status st = read_query(r, doc, c, row);
    size_t first = 0;
    int dup = st ? 0 : allot_strmap_put(&r->ids, c->ids[row], r->line, &first);
    if (dup < 0) st = allot_error_set(r->err, ALLOT_E_NOMEM, "out of memory");
    if (dup > 0)
        st = cerr(r, ALLOT_E_INVALID, "id: duplicate id \"%s\" (first on line %zu)", c->ids[row], first);
    return st;
}

/* After the last line: a header, at least one query, and as many as the header declares. */
static allot_status check_counts(const cread *r, const allot_curves *c, int have_header, size_t header_line,
                                 size_t declared) {
    if (!have_header)
        return allot_error_set(r->err, ALLOT_E_INVALID, "%s: empty file (no curves header)", r->path);
    if (c->n_queries == 0)
        return allot_error_set(r->err, ALLOT_E_INVALID, "%s:%zu: no queries: the file holds only its header",
                               r->path, header_line);
    if (declared != (size_t)-1 && declared != c->n_queries)
        return allot_error_set(r->err, ALLOT_E_INVALID,
                               "%s:%zu: n_queries: the header declares %zu queries but the file has %zu",
                               r->path, header_line, declared, c->n_queries);
    return ALLOT_OK;
}

/* Read the header and every query line of a curves file (plain or gzip) from in. */
static allot_status read_input(allot_input *in, const char *path, allot_curves **out, allot_error *err) {
    FILE *fp = allot_input_fp(in);
    allot_curves *c = calloc(1, sizeof *c);
    cread r = {path, 0, err, {0}, {0}, {0}};
    char *line = NULL;
    size_t line_cap = 0, cap_q = 0, declared = (size_t)-1;
    int have_header = 0;
    size_t header_line = 1;
    allot_status st = ALLOT_OK;
    if (!c) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    for (;;) {
        errno = 0;
        ssize_t got = allot_getline_max(&line, &line_cap, fp, ALLOT_MAX_LINE_BYTES);
        if (got == -2) {
            r.line++;
            st = errno == ENOMEM ? cerr(&r, ALLOT_E_NOMEM, "out of memory reading the line")
                                 : cerr(&r, ALLOT_E_INVALID, "line longer than %zu bytes (the limit)",
                                        ALLOT_MAX_LINE_BYTES);
            break;
        }
        /* A read error (a truncated .gz, say) may end a line early: report it, not the half line. */
        if (got <= 0 || (line[got - 1] != '\n' && ferror(fp))) {
            if (ferror(fp)) {
                const char *why = allot_input_problem(in);
                st = allot_error_set(err, ALLOT_E_IO, "%s:%zu: %s", path, r.line + 1,
                                     why ? why : "read error");
            }
            break;
        }
        r.line++;
        size_t len = (size_t)got, i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n')) i++;
        if (i == len) continue;
        cJSON *doc = allot_json_parse_strict(line, len, path, r.line, err);
        if (!doc) {
            st = err ? err->code : ALLOT_E_PARSE;
            break;
        }
        if (!st && !have_header) {
            st = read_header(&r, doc, c, &declared);
            have_header = 1;
            header_line = r.line;
        } else if (!st) {
            st = add_query(&r, doc, c, &cap_q);
        }
        cJSON_Delete(doc);
        if (st) break;
    }
    if (!st) st = check_counts(&r, c, have_header, header_line, declared);
done:
    free(line);
    allot_strmap_free(&r.ids);
    allot_strmap_free(&r.features);
    allot_strmap_free(&r.tiers);
    if (st) {
        allot_curves_free(c);
        return st;
    }
    *out = c;
    return ALLOT_OK;
}

/* ---- which format a file holds ------------------------------------------------------------------- */

enum { SNIFF_MAX_HEADER = 1 << 20 }; /* a curves header is a few KiB; a longer first line is not one */

allot_status allot_curves_sniff(const char *path, int *is_curves, allot_error *err) {
    *is_curves = 1;
    if (!strcmp(path, "-")) return ALLOT_OK;
    FILE *fp = fopen(path, "rb");
    if (!fp) return ALLOT_OK; /* the curves reader names the problem */
    char *line = malloc(SNIFF_MAX_HEADER + 1);
    if (!line) {
        fclose(fp);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    }
    size_t n = 0;
    int ch = 0, started = 0;
    while (n < SNIFF_MAX_HEADER && (ch = getc(fp)) != EOF) {
        if (!started && (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')) continue; /* blank lines */
        started = 1;
        if (ch == '\n') break;
        line[n++] = (char)ch;
    }
    int longer = n == SNIFF_MAX_HEADER && ch != EOF && getc(fp) != '\n', failed = ferror(fp);
    fclose(fp);
    if (longer) { /* far longer than any curves header: a labelled-runs line */
        *is_curves = 0;
    } else if (n && !failed) {
        cJSON *h = cJSON_ParseWithLength(line, n);
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(h, "format");
        *is_curves = !(cJSON_IsObject(h) && !fmt && cJSON_GetObjectItemCaseSensitive(h, "id"));
        cJSON_Delete(h);
    }
    free(line);
    return ALLOT_OK;
}
