/* dataset.c - split, oracle labels, class map and feature matrices (see dataset.h). */
#include "dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_features.h"
#include "learn.h"
#include "oracle.h"
#include "uniform.h"
#include "util.h"
#include "rng.h"
#include "strmap.h"
#include "util.h"

allot_status allot_split_make(size_t n, double test_fraction, int folds, uint64_t seed, allot_split *out,
                              allot_error *err) {
    memset(out, 0, sizeof *out);
    if (!(test_fraction >= 0.0 && test_fraction < 1.0))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--test-fraction must be in [0, 1), got %g",
                               test_fraction);
    if (folds < 2) return allot_error_set(err, ALLOT_E_ARGUMENT, "--folds must be >= 2, got %d", folds);
    size_t n_test = (size_t)floor(test_fraction * (double)n + 0.5);
    if (n_test >= n) n_test = n ? n - 1 : 0;
    if (n < 2 || n - n_test < (size_t)folds)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "--test-fraction %g holds out %zu of the %zu queries, which leaves %zu for "
                               "training: too few for --folds %d (each fold needs a query); lower "
                               "--test-fraction or --folds, or add queries",
                               test_fraction, n_test, n, n - n_test, folds);
    uint32_t *perm = malloc(n * sizeof *perm);
    out->train_idx = malloc((n - n_test) * sizeof(size_t));
    out->test_idx = malloc((n_test ? n_test : 1) * sizeof(size_t));
    out->fold = malloc(n * sizeof(int));
    if (!perm || !out->train_idx || !out->test_idx || !out->fold) {
        free(perm);
        allot_split_free(out);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (split)");
    }
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    allot_rng rng;
    allot_rng_seed_stream(&rng, seed, 0x5b117u);
    allot_rng_shuffle_u32(&rng, perm, n);
    for (size_t j = 0; j < n; j++) out->fold[perm[j]] = j < n_test ? -1 : (int)((j - n_test) % (size_t)folds);
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        if (out->fold[i] < 0)
            out->test_idx[b++] = i;
        else
            out->train_idx[a++] = i;
    }
    free(perm);
    out->n = n;
    out->n_train = a;
    out->n_test = b;
    out->folds = folds;
    out->seed = seed;
    out->test_fraction = test_fraction;
    return ALLOT_OK;
}

allot_status allot_split_make_part(size_t n, int parts, int part, int folds, uint64_t seed, allot_split *out,
                                   allot_error *err) {
    memset(out, 0, sizeof *out);
    if (parts < 2 || part < 0 || part >= parts)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "test part %d/%d: need 0 <= part < parts, parts >= 2",
                               part, parts);
    if (n < (size_t)parts)
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "--test-part %d/%d: %zu quer%s cannot make %d parts; use fewer parts, or add queries", part,
            parts, n, n == 1 ? "y" : "ies", parts);
    if (folds < 2) return allot_error_set(err, ALLOT_E_ARGUMENT, "folds must be >= 2, got %d", folds);
    size_t lo = n * (size_t)part / (size_t)parts, hi = n * (size_t)(part + 1) / (size_t)parts;
    if (n - (hi - lo) < (size_t)folds)
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "--test-part %d/%d holds out %zu of the %zu queries, which leaves %zu for training: "
            "too few for --folds %d (each fold needs a query); lower --folds, or add queries",
            part, parts, hi - lo, n, n - (hi - lo), folds);
    uint32_t *perm = malloc(n * sizeof *perm);
    out->train_idx = malloc((n - (hi - lo)) * sizeof(size_t));
    out->test_idx = malloc((hi - lo ? hi - lo : 1) * sizeof(size_t));
    out->fold = malloc(n * sizeof(int));
    if (!perm || !out->train_idx || !out->test_idx || !out->fold) {
        free(perm);
        allot_split_free(out);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (split)");
    }
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    allot_rng rng;
    allot_rng_seed_stream(&rng, seed, 0x5b117u); /* the permutation of allot_split_make */
    allot_rng_shuffle_u32(&rng, perm, n);
    for (size_t j = 0, k = 0; j < n; j++)
        out->fold[perm[j]] = j >= lo && j < hi ? -1 : (int)(k++ % (size_t)folds);
    for (size_t i = 0; i < n; i++) {
        if (out->fold[i] < 0)
            out->test_idx[out->n_test++] = i;
        else
            out->train_idx[out->n_train++] = i;
    }
    free(perm);
    out->n = n;
    out->folds = folds;
    out->seed = seed;
    out->test_fraction = (double)(hi - lo) / (double)n;
    return ALLOT_OK;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

allot_status allot_split_from_test_ids(const allot_curves *c, const char *const *test_ids, size_t n_test,
                                       allot_split *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    size_t n = c->n_queries;
    const char **sorted = malloc((n_test ? n_test : 1) * sizeof *sorted);
    out->train_idx = malloc((n ? n : 1) * sizeof(size_t));
    out->test_idx = malloc((n ? n : 1) * sizeof(size_t));
    out->fold = malloc((n ? n : 1) * sizeof(int));
    if (!sorted || !out->train_idx || !out->test_idx || !out->fold) {
        free(sorted);
        allot_split_free(out);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (split)");
    }
    memcpy(sorted, test_ids, n_test * sizeof *sorted);
    qsort(sorted, n_test, sizeof *sorted, cmp_str_ptr);
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = c->ids[i];
        int hit = n_test && bsearch(&key, sorted, n_test, sizeof *sorted, cmp_str_ptr) != NULL;
        if (hit) {
            out->test_idx[out->n_test++] = i;
            out->fold[i] = -1;
            found++;
        } else {
            out->train_idx[out->n_train++] = i;
            out->fold[i] = 0;
        }
    }
    free(sorted);
    out->n = n;
    out->folds = 1;
    if (found != n_test) {
        allot_split_free(out);
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%zu of the policy's %zu held-out ids are not in the curves file",
                               n_test - found, n_test);
    }
    return ALLOT_OK;
}

void allot_split_free(allot_split *s) {
    if (!s) return;
    free(s->train_idx);
    free(s->test_idx);
    free(s->fold);
    memset(s, 0, sizeof *s);
}

double *allot_gather_rows(const double *m, size_t t, const size_t *idx, size_t n_idx) {
    double *out = malloc((n_idx ? n_idx : 1) * t * sizeof *out);
    if (!out) return NULL;
    for (size_t j = 0; j < n_idx; j++) memcpy(out + j * t, m + idx[j] * t, t * sizeof *out);
    return out;
}

allot_status allot_oracle_labels(const allot_curves *c, const size_t *idx, size_t n_idx, double budget,
                                 int *tier_out, double *lambda, double *mean_acc, double *mean_cost,
                                 allot_error *err) {
    if (n_idx == 0) return allot_error_set(err, ALLOT_E_INVALID, "no queries to label");
    double *acc = allot_gather_rows(c->acc, c->n_tiers, idx, n_idx);
    double *cost = allot_gather_rows(c->cost, c->n_tiers, idx, n_idx);
    if (!acc || !cost) {
        free(acc);
        free(cost);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (labels)");
    }
    allot_oracle_result r;
    allot_status st = allot_oracle_solve_exact(acc, cost, n_idx, c->n_tiers, budget, tier_out, NULL, &r, err);
    free(acc);
    free(cost);
    if (st != ALLOT_OK) return st;
    if (lambda) *lambda = r.lambda;
    if (mean_acc) *mean_acc = r.mean_acc;
    if (mean_cost) *mean_cost = r.mean_cost;
    return ALLOT_OK;
}

/* Is tier a preferable to tier b as a label (pool means ta, tc)? Better mean accuracy, then cheaper
 * mean cost, then the lower index. */
static int label_better(const double *ta, const double *tc, size_t a, size_t b) {
    if (ta[a] != ta[b]) return ta[a] > ta[b];
    if (tc[a] != tc[b]) return tc[a] < tc[b];
    return a < b;
}

allot_status allot_labels_break_ties(const allot_curves *c, const size_t *idx, size_t n_idx, double budget,
                                     int ties, int *tier, size_t *n_changed, allot_error *err) {
    size_t T = c->n_tiers, moved = 0;
    if (n_changed) *n_changed = 0;
    if (ties == ALLOT_TIES_ORACLE || !n_idx) return ALLOT_OK;
    double *ta = calloc(T, sizeof *ta), *tc = calloc(T, sizeof *tc);
    char *pick = calloc(T, 1);
    if (!ta || !tc || !pick) {
        free(ta);
        free(tc);
        free(pick);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (labels)");
    }
    /* the tiers a user would pick at this budget: the training pool's uniform frontier
     * (trainer/solve/uniform.h) up to the budget */
    for (size_t j = 0; j < n_idx; j++)
        for (size_t t = 0; t < T; t++) {
            ta[t] += c->acc[idx[j] * T + t];
            tc[t] += c->cost[idx[j] * T + t];
        }
    for (size_t t = 0; t < T; t++) {
        ta[t] /= (double)n_idx;
        tc[t] /= (double)n_idx;
    }
    allot_uniform_frontier u;
    allot_uniform_frontier_build(ta, tc, T, &u);
    double tol = 1e-9 * (fabs(budget) > 1 ? fabs(budget) : 1);
    for (size_t k = 0; k < u.n_pts; k++) pick[u.tier[k]] = u.cost[k] <= budget + tol || k == 0;
    for (size_t j = 0; j < n_idx; j++) {
        const double *a = c->acc + idx[j] * T;
        size_t o = (size_t)tier[j], best = o;
        for (size_t t = 0; t < T; t++)
            if (t != o && pick[t] && a[t] == a[o] && label_better(ta, tc, t, best)) best = t;
        moved += best != o;
        tier[j] = (int)best;
    }
    free(ta);
    free(tc);
    free(pick);
    if (n_changed) *n_changed = moved;
    return ALLOT_OK;
}

allot_status allot_class_map_make(const int *tiers, size_t n, size_t n_tiers, allot_class_map *out,
                                  allot_error *err) {
    memset(out, 0, sizeof *out);
    out->tier_class = malloc((n_tiers ? n_tiers : 1) * sizeof(int));
    out->class_tier = malloc((n_tiers ? n_tiers : 1) * sizeof(int));
    if (!out->tier_class || !out->class_tier) {
        allot_class_map_free(out);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (classes)");
    }
    for (size_t t = 0; t < n_tiers; t++) out->tier_class[t] = -1;
    for (size_t i = 0; i < n; i++) {
        if (tiers[i] < 0 || (size_t)tiers[i] >= n_tiers) {
            allot_class_map_free(out);
            return allot_error_set(err, ALLOT_E_INTERNAL, "label %d out of range", tiers[i]);
        }
        out->tier_class[tiers[i]] = 1;
    }
    int k = 0;
    for (size_t t = 0; t < n_tiers; t++) {
        if (out->tier_class[t] == 1) {
            out->class_tier[k] = (int)t;
            out->tier_class[t] = k++;
        }
    }
    out->n_classes = k;
    out->n_tiers = n_tiers;
    return ALLOT_OK;
}

void allot_class_map_free(allot_class_map *m) {
    if (!m) return;
    free(m->class_tier);
    free(m->tier_class);
    memset(m, 0, sizeof *m);
}

void allot_tier_mean_costs(const allot_curves *c, const size_t *idx, size_t n_idx, double *out) {
    for (size_t t = 0; t < c->n_tiers; t++) {
        double s = 0;
        for (size_t j = 0; j < n_idx; j++) s += c->cost[idx[j] * c->n_tiers + t];
        out[t] = n_idx ? s / (double)n_idx : 0.0;
    }
}

void allot_free_names(char **names, size_t n) {
    if (!names) return;
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* The extra feature names being collected: duplicate checks and lookups by hash (linear). */
typedef struct names_ctx {
    char **names;
    size_t n, cap;
    allot_strmap seen;  /* names pushed so far */
    allot_strmap known; /* the curves file's feature names */
} names_ctx;

static allot_status push_name(names_ctx *nc, const char *prefix, const char *name, size_t len,
                              allot_error *err) {
    if (nc->n >= ALLOT_FEATURES_MAX_EXTRA)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "more than %u extra features (the limit)",
                               ALLOT_FEATURES_MAX_EXTRA);
    if (allot_reserve((void **)&nc->names, &nc->cap, nc->n + 1, sizeof *nc->names))
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (feature names)");
    size_t pl = strlen(prefix);
    char *s = malloc(pl + len + 1);
    if (!s) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (feature names)");
    memcpy(s, prefix, pl);
    memcpy(s + pl, name, len);
    s[pl + len] = '\0';
    int put = allot_strmap_put(&nc->seen, s, nc->n, NULL);
    if (put) {
        free(s);
        return put < 0 ? allot_error_set(err, ALLOT_E_NOMEM, "out of memory (feature names)")
                       : allot_error_set(err, ALLOT_E_ARGUMENT, "feature '%.*s' named twice", (int)len, name);
    }
    nc->names[nc->n++] = s;
    return ALLOT_OK;
}

static allot_status push_list(names_ctx *nc, const char *prefix, const char *list, int check,
                              allot_error *err) {
    const char *p = list;
    char key[512];
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            if (check) {
                snprintf(key, sizeof key, "%.*s", (int)len, p);
                if (len >= sizeof key || !allot_strmap_get(&nc->known, key, NULL))
                    return allot_error_set(err, ALLOT_E_ARGUMENT,
                                           "--features: the curves file has no feature '%.*s'",
                                           (int)(len > 200 ? 200 : len), p);
            }
            allot_status st = push_name(nc, prefix, p, len, err);
            if (st != ALLOT_OK) return st;
        }
        p += len;
        if (*p == ',') p++;
    }
    return ALLOT_OK;
}

allot_status allot_extra_names(const allot_curves *c, const char *features, const char *meta, char ***names,
                               size_t *n_names, allot_error *err) {
    *names = NULL;
    *n_names = 0;
    names_ctx nc;
    memset(&nc, 0, sizeof nc);
    allot_status st = ALLOT_OK;
    for (size_t f = 0; f < c->n_features && st == ALLOT_OK; f++)
        if (allot_strmap_put(&nc.known, c->feature_names[f], f, NULL) < 0)
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (feature names)");
    if (st == ALLOT_OK && !features) {
        for (size_t f = 0; f < c->n_features && st == ALLOT_OK; f++)
            st = push_name(&nc, "features.", c->feature_names[f], strlen(c->feature_names[f]), err);
    } else if (st == ALLOT_OK) {
        st = push_list(&nc, "features.", features, 1, err);
    }
    if (st == ALLOT_OK && meta) st = push_list(&nc, "meta.", meta, 0, err);
    allot_strmap_free(&nc.seen);
    allot_strmap_free(&nc.known);
    if (st != ALLOT_OK) {
        allot_free_names(nc.names, nc.n);
        return st;
    }
    *names = nc.names;
    *n_names = nc.n;
    return ALLOT_OK;
}

/* ---- the featuriser of a training run ----------------------------------------------------------- */

/* One more name in a plan's list (a few thousand at most: ALLOT_FEATURES_MAX_EXTRA), refused when the
 * list already holds it. */
static allot_status plan_push_name(char ***names, size_t *n, const char *prefix, const char *name, size_t len,
                                   allot_error *err) {
    if (*n >= ALLOT_FEATURES_MAX_EXTRA)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "more than %u extra features (the limit)",
                               ALLOT_FEATURES_MAX_EXTRA);
    char **grown = realloc(*names, (*n + 1) * sizeof *grown);
    if (!grown) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (feature names)");
    *names = grown;
    size_t pl = strlen(prefix);
    char *s = malloc(pl + len + 1);
    if (!s) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (feature names)");
    memcpy(s, prefix, pl);
    memcpy(s + pl, name, len);
    s[pl + len] = '\0';
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*names)[i], s)) {
            free(s);
            return allot_error_set(err, ALLOT_E_ARGUMENT, "feature '%.*s' named twice", (int)len, name);
        }
    (*names)[(*n)++] = s;
    return ALLOT_OK;
}

/* A comma list of record feature names, each one the curves file must have. */
static allot_status plan_push_list(char ***names, size_t *n, const char *prefix, const char *list,
                                   const allot_curves *c, allot_error *err) {
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            int known = 0;
            for (size_t f = 0; f < c->n_features && !known; f++)
                known = strlen(c->feature_names[f]) == len && !memcmp(c->feature_names[f], p, len);
            if (!known)
                return allot_error_set(err, ALLOT_E_ARGUMENT,
                                       "--features: the curves file has no feature '%.*s'",
                                       (int)(len > 200 ? 200 : len), p);
            allot_status st = plan_push_name(names, n, prefix, p, len, err);
            if (st != ALLOT_OK) return st;
        }
        p += len;
        if (*p == ',') p++;
    }
    return ALLOT_OK;
}

/* A list item "name[:kind]": kind 0 (auto), 1 (:number), 2 (:category). */
static int split_kind(const char *item, size_t len, size_t *name_len) {
    static const char *const KINDS[] = {":number", ":category"};
    for (int k = 0; k < 2; k++) {
        size_t kl = strlen(KINDS[k]);
        if (len > kl && !memcmp(item + len - kl, KINDS[k], kl)) {
            *name_len = len - kl;
            return k + 1;
        }
    }
    *name_len = len;
    return 0;
}

/* A category value and how often the training rows hold it. */
typedef struct cat_count {
    char *value;
    size_t n;
} cat_count;

static int by_count_then_bytes(const void *a, const void *b) {
    const cat_count *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->value, y->value);
}

static int by_bytes(const void *a, const void *b) {
    return strcmp(((const cat_count *)a)->value, ((const cat_count *)b)->value);
}

/* The string values of meta field `name` over rows idx (counted; malloc'd strings). */
static allot_status meta_strings(const allot_curves *c, const size_t *idx, size_t n_idx, const char *name,
                                 cat_count **vals, size_t *n_vals, allot_error *err) {
    *vals = NULL;
    *n_vals = 0;
    size_t cap = 0;
    allot_status st = ALLOT_OK;
    for (size_t j = 0; j < n_idx && st == ALLOT_OK; j++) {
        const char *meta = c->meta_json ? c->meta_json[idx[j]] : NULL;
        if (!meta) continue;
        size_t len = strlen(meta) + 16;
        char *rec = malloc(len), *v = NULL;
        if (!rec) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (categories)");
        int n = snprintf(rec, len, "{\"meta\":%s}", meta);
        st = allot_features_record_string(rec, (size_t)n, name, &v, err);
        free(rec);
        if (st != ALLOT_OK || !v) continue;
        size_t k = 0;
        while (k < *n_vals && strcmp((*vals)[k].value, v)) k++;
        if (k < *n_vals) {
            (*vals)[k].n++;
            free(v);
            continue;
        }
        cat_count *grown = *vals;
        if (allot_reserve((void **)&grown, &cap, *n_vals + 1, sizeof *grown)) {
            free(v);
            return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (categories)");
        }
        *vals = grown;
        (*vals)[(*n_vals)++] = (cat_count){v, 1};
    }
    return st;
}

static void free_counts(cat_count *v, size_t n) {
    for (size_t k = 0; k < n; k++) free(v[k].value);
    free(v);
}

/* What the options ask for: numeric extras, categorical fields with their values, the embedding. */
typedef struct feature_plan {
    char **numeric;
    size_t n_numeric;
    char **cat;           /* "meta.<name>" */
    cat_count **cat_vals; /* each field's kept values */
    size_t *cat_n;
    size_t n_cat;
    int embed;
} feature_plan;

static void plan_free(feature_plan *pl) {
    allot_free_names(pl->numeric, pl->n_numeric);
    allot_free_names(pl->cat, pl->n_cat);
    for (size_t k = 0; pl->cat_vals && k < pl->n_cat; k++) free_counts(pl->cat_vals[k], pl->cat_n[k]);
    free(pl->cat_vals);
    free(pl->cat_n);
    memset(pl, 0, sizeof *pl);
}

/* The kept values of a categorical field: the most frequent, then in byte order. */
static void keep_categories(cat_count *v, size_t *n) {
    qsort(v, *n, sizeof *v, by_count_then_bytes);
    for (size_t k = ALLOT_LEARN_MAX_CATEGORIES; k < *n; k++) free(v[k].value);
    if (*n > ALLOT_LEARN_MAX_CATEGORIES) *n = ALLOT_LEARN_MAX_CATEGORIES;
    qsort(v, *n, sizeof *v, by_bytes);
}

/* Meta field "meta.<name>": categorical when asked (:category) or when a training row holds a string
 * there (unless :number), else numeric. */
static allot_status plan_meta(feature_plan *pl, const allot_curves *c, const size_t *idx, size_t n_idx,
                              const char *item, size_t len, allot_error *err) {
    size_t nl;
    int kind = split_kind(item, len, &nl);
    if (!nl)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--meta-features: an empty name in '%.*s'", (int)len,
                               item);
    char name[512];
    snprintf(name, sizeof name, "meta.%.*s", (int)(nl < 500 ? nl : 500), item);
    for (size_t k = 0; k < pl->n_numeric; k++)
        if (!strcmp(pl->numeric[k], name))
            return allot_error_set(err, ALLOT_E_ARGUMENT, "feature '%s' named twice", name);
    for (size_t k = 0; k < pl->n_cat; k++)
        if (!strcmp(pl->cat[k], name))
            return allot_error_set(err, ALLOT_E_ARGUMENT, "feature '%s' named twice", name);
    cat_count *vals = NULL;
    size_t nv = 0;
    allot_status st = kind == 1 ? ALLOT_OK : meta_strings(c, idx, n_idx, name, &vals, &nv, err);
    if (st != ALLOT_OK) return st;
    if (kind == 2 && !nv) {
        free_counts(vals, nv);
        return allot_error_set(err, ALLOT_E_INVALID,
                               "--meta-features %s:category: no training query has a string there", name + 5);
    }
    if (!nv) { /* numeric, as a number or the first number of a string ("Level 5" -> 5) */
        free_counts(vals, nv);
        return plan_push_name(&pl->numeric, &pl->n_numeric, "", name, strlen(name), err);
    }
    keep_categories(vals, &nv);
    cat_count **cv = realloc(pl->cat_vals, (pl->n_cat + 1) * sizeof *cv);
    if (cv) pl->cat_vals = cv;
    size_t *cn = realloc(pl->cat_n, (pl->n_cat + 1) * sizeof *cn);
    if (cn) pl->cat_n = cn;
    size_t before = pl->n_cat;
    st = !cv || !cn ? allot_error_set(err, ALLOT_E_NOMEM, "out of memory (categories)")
                    : plan_push_name(&pl->cat, &pl->n_cat, "", name, strlen(name), err);
    if (st != ALLOT_OK || pl->n_cat == before) {
        free_counts(vals, nv);
        return st;
    }
    pl->cat_vals[before] = vals;
    pl->cat_n[before] = nv;
    return ALLOT_OK;
}

/* Record features: numeric ones and the embedding (NULL: all of them; "" none). */
static allot_status plan_features(feature_plan *pl, const allot_curves *c, const char *features,
                                  allot_error *err) {
    if (!features) {
        pl->embed = c->embed_name != NULL;
        for (size_t f = 0; f < c->n_features; f++) {
            allot_status st = plan_push_name(&pl->numeric, &pl->n_numeric, "features.", c->feature_names[f],
                                             strlen(c->feature_names[f]), err);
            if (st != ALLOT_OK) return st;
        }
        return ALLOT_OK;
    }
    for (const char *p = features; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && c->embed_name && strlen(c->embed_name) == len && !memcmp(c->embed_name, p, len)) {
            if (pl->embed)
                return allot_error_set(err, ALLOT_E_ARGUMENT, "feature '%s' named twice", c->embed_name);
            pl->embed = 1;
        } else if (len) {
            char one[512];
            snprintf(one, sizeof one, "%.*s", (int)(len < 500 ? len : 500), p);
            allot_status st = plan_push_list(&pl->numeric, &pl->n_numeric, "features.", one, c, err);
            if (st != ALLOT_OK) return st;
        }
        p += len;
        if (*p == ',') p++;
    }
    return ALLOT_OK;
}

allot_status allot_featurizer_for(const allot_curves *c, const size_t *idx, size_t n_idx,
                                  const char *features, const char *meta, uint32_t hash_dim,
                                  allot_featurizer **out, allot_error *err) {
    *out = NULL;
    feature_plan pl;
    memset(&pl, 0, sizeof pl);
    allot_status st = plan_features(&pl, c, features, err);
    for (const char *p = meta; st == ALLOT_OK && p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) st = plan_meta(&pl, c, idx, n_idx, p, len, err);
        p += len;
        if (*p == ',') p++;
    }
    allot_featurizer *f = NULL;
    if (st == ALLOT_OK)
        st =
            allot_featurizer_create_default((const char *const *)pl.numeric, pl.n_numeric, hash_dim, &f, err);
    for (size_t k = 0; st == ALLOT_OK && k < pl.n_cat; k++) {
        const char **v = malloc(pl.cat_n[k] * sizeof *v);
        if (!v) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (categories)");
            break;
        }
        for (size_t j = 0; j < pl.cat_n[k]; j++) v[j] = pl.cat_vals[k][j].value;
        st = allot_featurizer_add_categorical(f, pl.cat[k], v, pl.cat_n[k], err);
        free(v);
    }
    if (st == ALLOT_OK && pl.embed) {
        char name[600];
        snprintf(name, sizeof name, "features.%.500s", c->embed_name);
        st = allot_featurizer_set_embedding(f, name, c->embed_dim, err);
    }
    plan_free(&pl);
    if (st != ALLOT_OK) {
        allot_featurizer_free(f);
        return st;
    }
    *out = f;
    return ALLOT_OK;
}

allot_status allot_curves_query_embedding(const allot_featurizer *f, const allot_curves *c, size_t i,
                                          float *buf, const float **emb, allot_error *err) {
    *emb = NULL;
    size_t dim = allot_featurizer_embedding_dim(f);
    if (!dim) return ALLOT_OK;
    const char *name = allot_featurizer_embedding_name(f);
    if (!c->embed_name || strcmp(name + 9, c->embed_name))
        return allot_error_set(
            err, ALLOT_E_INVALID, "the policy reads the embedding %s, which the curves file has not%s%s",
            name, c->embed_name ? " (its embedding is features." : "", c->embed_name ? c->embed_name : "");
    if (c->embed_dim != dim)
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "the policy reads the embedding %s of dimension %zu, the curves file's has %zu", name, dim,
            c->embed_dim);
    const double *row = c->embed + i * dim;
    if (isnan(row[0])) return ALLOT_OK; /* this query has none: missing */
    for (size_t k = 0; k < dim; k++) {
        double x = row[k];
        buf[k] = x >= 0x1.ffffffp+127 ? INFINITY : x <= -0x1.ffffffp+127 ? -INFINITY : (float)x;
    }
    *emb = buf;
    return ALLOT_OK;
}

void allot_feature_matrix_free(allot_feature_matrix *m) {
    if (!m) return;
    free(m->dense);
    free(m->sp_start);
    free(m->sp_index);
    free(m->sp_value);
    memset(m, 0, sizeof *m);
}

/* Extras of query i: "features.X" from the curves table's columns, "meta.X" through the
 * featuriser's own record parser (so strings such as "Level 5" convert as at serving time). */
static allot_status query_extras(const allot_featurizer *f, const allot_curves *c, size_t i, const long *col,
                                 double *extras, char *rec, size_t rec_cap, allot_error *err) {
    size_t ne = allot_featurizer_n_extra(f);
    if (!ne) return ALLOT_OK;
    const char *meta = c->meta_json ? c->meta_json[i] : NULL;
    int n = snprintf(rec, rec_cap, "{\"meta\":%s}", meta ? meta : "{}");
    if (n < 0 || (size_t)n >= rec_cap)
        return allot_error_set(err, ALLOT_E_INVALID, "query %s: meta too long", c->ids[i]);
    allot_status st = allot_featurizer_extras_from_record(f, rec, (size_t)n, extras, err);
    if (st != ALLOT_OK) return st;
    for (size_t e = 0; e < ne; e++)
        if (col[e] >= 0) extras[e] = c->features[i * c->n_features + (size_t)col[e]];
    return ALLOT_OK;
}

allot_status allot_curves_query_extras(const allot_featurizer *f, const allot_curves *c, size_t i,
                                       double *extras, allot_error *err) {
    size_t ne = allot_featurizer_n_extra(f);
    if (!ne) return ALLOT_OK;
    long *col = malloc(ne * sizeof *col);
    const char *meta = c->meta_json ? c->meta_json[i] : NULL;
    size_t cap = (meta ? strlen(meta) : 2) + 32;
    char *rec = malloc(cap);
    allot_status st;
    if (!col || !rec) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (extras)");
    } else {
        for (size_t e = 0; e < ne; e++) {
            const char *name = allot_featurizer_extra_name(f, e);
            col[e] = -1;
            if (name && !strncmp(name, "features.", 9))
                for (size_t k = 0; k < c->n_features; k++)
                    if (!strcmp(c->feature_names[k], name + 9)) col[e] = (long)k;
        }
        st = query_extras(f, c, i, col, extras, rec, cap, err);
    }
    free(col);
    free(rec);
    return st;
}

allot_status allot_feature_matrix_build(const allot_featurizer *f, const allot_curves *c, int want_sparse,
                                        allot_feature_matrix *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    size_t n = c->n_queries, d = allot_featurizer_n_dense(f), ne = allot_featurizer_n_extra(f);
    uint32_t hd = want_sparse ? allot_featurizer_hash_dim(f) : 0;
    out->n = n;
    out->d = d;
    out->hash_dim = hd;
    out->dense = malloc((n * d > 0 ? n * d : 1) * sizeof(float));
    double *extras = malloc((ne ? ne : 1) * sizeof(double));
    long *col = malloc((ne ? ne : 1) * sizeof(long));
    size_t meta_max = 0;
    for (size_t i = 0; i < n; i++)
        if (c->meta_json && c->meta_json[i] && strlen(c->meta_json[i]) > meta_max)
            meta_max = strlen(c->meta_json[i]);
    size_t rec_cap = meta_max + 32;
    char *rec = malloc(rec_cap);
    uint32_t *sidx = hd ? malloc(hd * sizeof *sidx) : NULL;
    float *sval = hd ? malloc(hd * sizeof *sval) : NULL;
    size_t ed = allot_featurizer_embedding_dim(f);
    float *ebuf = malloc((ed ? ed : 1) * sizeof *ebuf);
    size_t sp_cap = 0, sp_n = 0;
    allot_status st = ALLOT_OK;
    if (!out->dense || !extras || !col || !rec || !ebuf || (hd && (!sidx || !sval))) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (features)");
        goto done;
    }
    for (size_t e = 0; e < ne; e++) {
        const char *name = allot_featurizer_extra_name(f, e);
        col[e] = -1;
        if (name && !strncmp(name, "features.", 9))
            for (size_t k = 0; k < c->n_features; k++)
                if (!strcmp(c->feature_names[k], name + 9)) col[e] = (long)k;
    }
    if (hd) {
        out->sp_start = calloc(n + 1, sizeof(size_t));
        if (!out->sp_start) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (features)");
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        st = query_extras(f, c, i, col, extras, rec, rec_cap, err);
        if (st != ALLOT_OK) goto done;
        const float *emb = NULL;
        st = allot_curves_query_embedding(f, c, i, ebuf, &emb, err);
        if (st != ALLOT_OK) goto done;
        const char *p = c->prompts ? c->prompts[i] : NULL;
        size_t cnt = 0;
        st = allot_featurize_ex(f, p, p ? strlen(p) : 0, ne ? extras : NULL, ne, emb, emb ? ed : 0,
                                out->dense + i * d, sidx, sval, hd, hd ? &cnt : NULL, err);
        if (st != ALLOT_OK) {
            char tmp[ALLOT_ERROR_MSG_SIZE];
            snprintf(tmp, sizeof tmp, "%s", err ? err->msg : "");
            st = allot_error_set(err, st, "query %.200s: %s", c->ids[i], tmp);
            goto done;
        }
        if (hd) {
            if (sp_n + cnt > sp_cap) {
                size_t nc = sp_cap ? sp_cap * 2 : 4096;
                while (nc < sp_n + cnt) nc *= 2;
                uint32_t *ni = realloc(out->sp_index, nc * sizeof *ni);
                if (ni) out->sp_index = ni;
                float *nv = realloc(out->sp_value, nc * sizeof *nv);
                if (nv) out->sp_value = nv;
                if (!ni || !nv) {
                    st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (hashed features)");
                    goto done;
                }
                sp_cap = nc;
            }
            memcpy(out->sp_index + sp_n, sidx, cnt * sizeof *sidx);
            memcpy(out->sp_value + sp_n, sval, cnt * sizeof *sval);
            sp_n += cnt;
            out->sp_start[i + 1] = sp_n;
        }
    }
done:
    free(extras);
    free(col);
    free(rec);
    free(ebuf);
    free(sidx);
    free(sval);
    if (st != ALLOT_OK) allot_feature_matrix_free(out);
    return st;
}

void allot_dense_moments(const allot_feature_matrix *m, const size_t *idx, size_t n_idx, double *center,
                         double *scale) {
    for (size_t j = 0; j < m->d; j++) {
        double s = 0, s2 = 0;
        size_t cnt = 0;
        for (size_t r = 0; r < n_idx; r++) {
            float v = m->dense[idx[r] * m->d + j];
            if (isnan(v)) continue;
            s += v;
            cnt++;
        }
        double mean = cnt ? s / (double)cnt : 0.0;
        for (size_t r = 0; r < n_idx; r++) {
            float v = m->dense[idx[r] * m->d + j];
            if (isnan(v)) continue;
            s2 += ((double)v - mean) * ((double)v - mean);
        }
        double sd = cnt ? sqrt(s2 / (double)cnt) : 0.0;
        center[j] = isfinite(mean) ? mean : 0.0;
        scale[j] = (isfinite(sd) && sd > 1e-12) ? sd : 1.0;
    }
}
