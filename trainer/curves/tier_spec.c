/*
 * tier_spec.c - tier sets: the command-line spec syntax and the JSON tier file.
 *
 * Spec grammar (docs/curves-format.md):
 *   spec  := group { "," group-or-k }
 *   group := [ MODEL ":" ] RULE [ "/" AGG ] "@" K [ "/" AGG ]
 *   a bare K (digits, optionally with a final "/" AGG) continues the previous group.
 * MODEL is everything before the LAST ':' of the item, so model names may contain '/', '-', '.',
 * '@' and even ':' (e.g. "llama3:8b:vote@8"); they may not contain ',' (use the JSON file).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curves_internal.h"
#include "json_line.h"
#include "allot_limits.h"
#include "strmap.h"
#include "util.h"

#define ALLOT_MAX_K 1000000

static const char *const rule_names[] = {"pass", "majority", "best", "vote", "precomputed"};
static const char *const agg_names[] = {"", "min", "last", "mean", "prod"};

const char *allot_select_rule_name(allot_select_rule r) {
    return (unsigned)r < sizeof rule_names / sizeof *rule_names ? rule_names[r] : "?";
}
const char *allot_step_agg_name(allot_step_agg a) {
    return (unsigned)a < sizeof agg_names / sizeof *agg_names ? agg_names[a] : "?";
}
int allot_select_rule_from_name(const char *s, allot_select_rule *r) {
    for (int i = 0; i < 4; i++) /* "precomputed" is not selectable */
        if (strcmp(s, rule_names[i]) == 0) {
            *r = (allot_select_rule)i;
            return 0;
        }
    return -1;
}
int allot_step_agg_from_name(const char *s, allot_step_agg *a) {
    for (int i = 1; i < 5; i++)
        if (strcmp(s, agg_names[i]) == 0) {
            *a = (allot_step_agg)i;
            return 0;
        }
    return -1;
}

char *allot_tier_make_name(const char *model, allot_select_rule rule, int k, allot_step_agg agg) {
    const char *rn = allot_select_rule_name(rule), *an = allot_step_agg_name(agg);
    size_t len = (model ? strlen(model) + 1 : 0) + strlen(rn) + 1 + 12 + 1 + strlen(an) + 1;
    char *s = malloc(len);
    if (!s) return NULL;
    snprintf(s, len, "%s%s%s@%d%s%s", model ? model : "", model ? ":" : "", rn, k, agg ? "/" : "",
             agg ? an : "");
    return s;
}

void allot_tier_set_free(allot_tier_set *ts) {
    if (!ts) return;
    for (size_t i = 0; i < ts->n; i++) {
        free(ts->tiers[i].name);
        free(ts->tiers[i].model);
    }
    free(ts->tiers);
    ts->tiers = NULL;
    ts->n = 0;
}

allot_status allot_tier_set_copy(const allot_tier_set *src, allot_tier_set *dst, allot_error *err) {
    memset(dst, 0, sizeof *dst);
    if (!src || !src->n) return ALLOT_OK;
    dst->tiers = calloc(src->n, sizeof *dst->tiers);
    if (!dst->tiers) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    dst->n = src->n;
    for (size_t i = 0; i < src->n; i++) {
        dst->tiers[i] = src->tiers[i];
        dst->tiers[i].name = allot_strdup(src->tiers[i].name);
        dst->tiers[i].model = allot_strdup(src->tiers[i].model);
        if (!dst->tiers[i].name || (src->tiers[i].model && !dst->tiers[i].model)) {
            allot_tier_set_free(dst);
            return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        }
    }
    return ALLOT_OK;
}

/* Append one tier (takes a copy of model); checks the rule/agg combination and duplicate names. */
static allot_status add_tier(allot_tier_set *ts, size_t *cap, const char *where, const char *model,
                             allot_select_rule rule, int k, allot_step_agg agg, allot_error *err) {
    if (agg != ALLOT_STEP_NONE && (rule == ALLOT_SELECT_PASS || rule == ALLOT_SELECT_MAJORITY))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "%s: a step aggregation (/%s) applies only to best and vote", where,
                               allot_step_agg_name(agg));
    if (k < 1 || k > ALLOT_MAX_K)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "%s: k must be an integer in [1, %d]", where,
                               ALLOT_MAX_K);
    if (model && !model[0]) return allot_error_set(err, ALLOT_E_ARGUMENT, "%s: empty model name", where);
    if (ts->n >= ALLOT_MAX_TIERS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "%.60s%s: more than %u tiers (the limit)", where,
                               strlen(where) > 60 ? "..." : "", ALLOT_MAX_TIERS);
    if (allot_reserve((void **)&ts->tiers, cap, ts->n + 1, sizeof *ts->tiers))
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    allot_tier t = {0};
    t.name = allot_tier_make_name(model, rule, k, agg);
    t.model = allot_strdup(model);
    if (!t.name || (model && !t.model)) {
        free(t.name);
        free(t.model);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    }
    t.k = k;
    t.rule = rule;
    t.agg = agg;
    ts->tiers[ts->n++] = t;
    return ALLOT_OK;
}

/* After the whole set is read: no tier twice (a hash set: linear in the number of tiers). */
static allot_status check_unique(const allot_tier_set *ts, const char *where, allot_status code,
                                 allot_error *err) {
    allot_strmap seen = {0};
    allot_status st = ALLOT_OK;
    for (size_t i = 0; i < ts->n && st == ALLOT_OK; i++) {
        int put = allot_strmap_put(&seen, ts->tiers[i].name, i, NULL);
        if (put < 0) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        if (put > 0) st = allot_error_set(err, code, "%s: tier %s given twice", where, ts->tiers[i].name);
    }
    allot_strmap_free(&seen);
    return st;
}

/* Parse a positive decimal integer occupying all of s; -1 when not. */
static int parse_k(const char *s) {
    if (!*s) return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
        if (v > ALLOT_MAX_K) return ALLOT_MAX_K + 1;
    }
    return (int)v;
}

static int all_digits(const char *s, size_t n) {
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* One group being collected: the ks are emitted when the group ends (its agg may come last). */
typedef struct spec_group {
    char *model;
    allot_select_rule rule;
    allot_step_agg agg;
    int agg_from_suffix;
    int *ks;
    size_t nk, cap;
    int open;
} spec_group;

static allot_status flush_group(spec_group *g, allot_tier_set *ts, size_t *cap, const char *spec,
                                allot_error *err) {
    allot_status st = ALLOT_OK;
    for (size_t i = 0; i < g->nk && st == ALLOT_OK; i++)
        st = add_tier(ts, cap, spec, g->model, g->rule, g->ks[i], g->agg, err);
    free(g->model);
    g->model = NULL;
    g->nk = 0;
    g->open = 0;
    g->agg_from_suffix = 0;
    g->agg = ALLOT_STEP_NONE;
    return st;
}

/* The next comma-separated item of *save, spaces trimmed (cut in place); *save moves past it, to
 * NULL after the last item. */
static char *next_item(char **save) {
    char *item = *save;
    char *comma = strchr(item, ',');
    if (comma) *comma = '\0';
    *save = comma ? comma + 1 : NULL;
    while (*item == ' ') item++;
    size_t len = strlen(item);
    while (len && item[len - 1] == ' ') item[--len] = '\0';
    return item;
}

/* A bare K[/AGG] (digits, no '@'): it continues the open group. */
static int is_continuation(const char *item) {
    const char *slash = strrchr(item, '/');
    size_t head = slash ? (size_t)(slash - item) : strlen(item);
    return !strchr(item, '@') && all_digits(item, head);
}

/* One more k for the group. */
static allot_status push_k(spec_group *g, int k, allot_error *err) {
    if (allot_reserve((void **)&g->ks, &g->cap, g->nk + 1, sizeof *g->ks))
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    g->ks[g->nk++] = k;
    return ALLOT_OK;
}

/* K[/AGG] of the open group; an /AGG suffix closes the group's list of ks. */
static allot_status continue_group(spec_group *g, char *item, const char *spec, allot_error *err) {
    char *slash = strrchr(item, '/');
    if (!g->open)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "tier spec '%s': '%s' has no rule (write e.g. majority@%s)", spec, item, item);
    if (g->agg_from_suffix == 2)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "tier spec '%s': a '/agg' suffix must follow the last k of its group", spec);
    if (slash) {
        *slash = '\0';
        allot_step_agg a;
        if (allot_step_agg_from_name(slash + 1, &a))
            return allot_error_set(err, ALLOT_E_ARGUMENT,
                                   "tier spec '%s': unknown step aggregation '%s' (min, last, mean, prod)",
                                   spec, slash + 1);
        if (g->agg && g->agg != a)
            return allot_error_set(err, ALLOT_E_ARGUMENT,
                                   "tier spec '%s': two different aggregations in one group", spec);
        g->agg = a;
        g->agg_from_suffix = 2;
    }
    return push_k(g, parse_k(item), err);
}

/* The aggregations of RULE[/AGG] (*a1) and K[/AGG] (*a2), cut off both strings: each known, and the
 * same when both are given. */
static allot_status split_aggs(char *rule_s, char *ks, allot_step_agg *a1, allot_step_agg *a2,
                               const char *spec, allot_error *err) {
    char *rs = strchr(rule_s, '/'), *ksl = strchr(ks, '/');
    const char *bad_agg = NULL;
    *a1 = *a2 = ALLOT_STEP_NONE;
    if (rs) {
        *rs = '\0';
        if (allot_step_agg_from_name(rs + 1, a1)) bad_agg = rs + 1;
    }
    if (ksl) {
        *ksl = '\0';
        if (allot_step_agg_from_name(ksl + 1, a2)) bad_agg = ksl + 1;
    }
    if (bad_agg)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "tier spec '%s': unknown step aggregation '%s' (min, last, mean, prod)", spec,
                               bad_agg);
    if (*a1 && *a2 && *a1 != *a2)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "tier spec '%s': two different aggregations in one group", spec);
    return ALLOT_OK;
}

/* [MODEL:]RULE[/AGG]@K[/AGG]: opens a new group (the previous one has been flushed). */
static allot_status start_group(spec_group *g, char *item, const char *spec, allot_error *err) {
    char *colon = strrchr(item, ':'), *rest = item;
    if (colon) {
        *colon = '\0';
        rest = colon + 1;
        if (!*item)
            return allot_error_set(err, ALLOT_E_ARGUMENT, "tier spec '%s': empty model name before ':'",
                                   spec);
        if (!(g->model = allot_strdup(item))) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    }
    char *at = strchr(rest, '@');
    if (!at || strchr(at + 1, '@'))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "tier spec '%s': item '%s' must look like [MODEL:]RULE@K[,K...][/AGG]", spec,
                               rest);
    *at = '\0';
    char *rule_s = rest, *ks = at + 1;
    allot_step_agg a1, a2;
    allot_status st = split_aggs(rule_s, ks, &a1, &a2, spec, err);
    if (st) return st;
    if (allot_select_rule_from_name(rule_s, &g->rule))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "tier spec '%s': unknown rule '%s' (pass, majority, best, vote)", spec,
                               rule_s);
    int k = parse_k(ks);
    if (k < 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "tier spec '%s': '%s' is not a positive integer k",
                               spec, ks);
    g->agg = a1 ? a1 : a2;
    g->agg_from_suffix = a2 ? 2 : 0;
    g->open = 1;
    return push_k(g, k, err);
}

allot_status allot_tier_set_parse(const char *spec, allot_tier_set *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    if (!spec || !*spec) return allot_error_set(err, ALLOT_E_ARGUMENT, "tier spec: empty");
    char *buf = allot_strdup(spec);
    if (!buf) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    size_t cap = 0;
    spec_group g = {0};
    allot_status st = ALLOT_OK;
    for (char *save = buf; save && st == ALLOT_OK;) {
        char *item = next_item(&save);
        if (!*item) {
            st = allot_error_set(err, ALLOT_E_ARGUMENT, "tier spec '%s': empty item", spec);
        } else if (is_continuation(item)) {
            st = continue_group(&g, item, spec, err);
        } else {
            if (g.open) st = flush_group(&g, out, &cap, spec, err);
            if (st == ALLOT_OK) st = start_group(&g, item, spec, err);
        }
    }
    if (st == ALLOT_OK && g.open) st = flush_group(&g, out, &cap, spec, err);
    if (st == ALLOT_OK) st = check_unique(out, "tier spec", ALLOT_E_ARGUMENT, err);
    free(g.model);
    free(g.ks);
    free(buf);
    if (st != ALLOT_OK) allot_tier_set_free(out);
    return st;
}

/* One entry of a JSON tier file. */
static allot_status load_entry(const cJSON *e, size_t idx, const char *path, allot_tier_set *ts, size_t *cap,
                               allot_error *err) {
    char where[ALLOT_ERROR_MSG_SIZE / 2];
    snprintf(where, sizeof where, "%s: tiers[%zu]", path, idx);
    if (!cJSON_IsObject(e)) return allot_error_set(err, ALLOT_E_INVALID, "%s: expected an object", where);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(e, "model");
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(e, "rule");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "k");
    const cJSON *agg = cJSON_GetObjectItemCaseSensitive(e, "agg");
    if (model && !cJSON_IsNull(model) && !cJSON_IsString(model))
        return allot_error_set(err, ALLOT_E_INVALID, "%s.model: expected a string", where);
    if (!rule) return allot_error_set(err, ALLOT_E_INVALID, "%s.rule: missing", where);
    allot_select_rule r;
    if (!cJSON_IsString(rule) || allot_select_rule_from_name(rule->valuestring, &r))
        return allot_error_set(err, ALLOT_E_INVALID, "%s.rule: expected one of pass, majority, best, vote",
                               where);
    allot_step_agg a = ALLOT_STEP_NONE;
    if (agg && !cJSON_IsNull(agg) &&
        (!cJSON_IsString(agg) || (agg->valuestring[0] && allot_step_agg_from_name(agg->valuestring, &a))))
        return allot_error_set(err, ALLOT_E_INVALID, "%s.agg: expected one of min, last, mean, prod", where);
    if (!k) return allot_error_set(err, ALLOT_E_INVALID, "%s.k: missing", where);
    const char *mname = cJSON_IsString(model) ? model->valuestring : NULL;
    const cJSON *ks = cJSON_IsArray(k) ? k->child : k;
    if (cJSON_IsArray(k) && !ks) return allot_error_set(err, ALLOT_E_INVALID, "%s.k: empty array", where);
    for (; ks; ks = cJSON_IsArray(k) ? ks->next : NULL) {
        double v = cJSON_IsNumber(ks) ? ks->valuedouble : -1;
        if (!(v >= 1 && v <= ALLOT_MAX_K && v == (double)(int)v))
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s.k: expected an integer in [1, %d] or an array of them", where,
                                   ALLOT_MAX_K);
        allot_status st = add_tier(ts, cap, where, mname, r, (int)v, a, err);
        if (st == ALLOT_E_ARGUMENT) { /* bad content of a file: input error, not usage */
            if (err) err->code = ALLOT_E_INVALID;
            return ALLOT_E_INVALID;
        }
        if (st) return st;
    }
    return ALLOT_OK;
}

allot_status allot_tier_set_load(const char *path, allot_tier_set *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    allot_status rs = allot_read_file(path, 1u << 24, &text, &len, err);
    if (rs != ALLOT_OK) return rs;
    cJSON *doc = allot_json_parse_strict(text, len, path, 0, err);
    free(text);
    if (!doc) return err ? err->code : ALLOT_E_PARSE;
    allot_status st = ALLOT_OK;
    const cJSON *arr = doc;
    if (cJSON_IsObject(doc)) {
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
        if (fmt && (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "allot-tiers") != 0))
            st = allot_error_set(err, ALLOT_E_INVALID, "%s: format: expected \"allot-tiers\"", path);
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
        if (!st && ver && !(cJSON_IsNumber(ver) && ver->valuedouble == 1))
            st = allot_error_set(err, ALLOT_E_UNSUPPORTED, "%s: version: only version 1 is supported", path);
        arr = cJSON_GetObjectItemCaseSensitive(doc, "tiers");
        if (!st && !arr) st = allot_error_set(err, ALLOT_E_INVALID, "%s: tiers: missing", path);
    }
    if (!st && !cJSON_IsArray(arr))
        st = allot_error_set(err, ALLOT_E_INVALID, "%s: tiers: expected an array of tier objects", path);
    if (!st && !arr->child) st = allot_error_set(err, ALLOT_E_INVALID, "%s: tiers: empty", path);
    size_t tcap = 0, i = 0;
    for (const cJSON *e = st ? NULL : arr->child; e && !st; e = e->next, i++)
        st = load_entry(e, i, path, out, &tcap, err);
    if (!st) st = check_unique(out, path, ALLOT_E_INVALID, err);
    cJSON_Delete(doc);
    if (st) allot_tier_set_free(out);
    return st;
}
