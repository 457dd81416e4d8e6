/* bundle.c - policy bundle writer (see bundle.h). */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "atomic_file.h"

/*
 * The bundle text is assembled member by member: the verbatim parts (the feature spec, XGBoost's
 * models, the provenance, a sequential section) are copied in as they are, and everything else is
 * printed by cJSON one value at a time. No user string (a tier name, a model text) ever passes
 * through a search-and-replace, so none can corrupt the document whatever it contains. The bytes
 * are the ones cJSON_PrintUnformatted gives for the whole document.
 */
typedef struct text_buf {
    char *s;
    size_t n, cap;
    int failed; /* memory ran out: the text is incomplete */
} text_buf;

static void tb_put(text_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1) cap *= 2;
        char *g = realloc(b->s, cap);
        if (!g) {
            b->failed = 1;
            return;
        }
        b->s = g;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void tb_puts(text_buf *b, const char *s) {
    tb_put(b, s, strlen(s));
}

/* The value as cJSON prints it (the item is consumed). */
static void tb_item(text_buf *b, cJSON *item) {
    char *t = item ? cJSON_PrintUnformatted(item) : NULL;
    if (t)
        tb_puts(b, t);
    else
        b->failed = 1;
    cJSON_free(t);
    cJSON_Delete(item);
}

/* ,"key": (the first member of an object has no comma). Keys are this file's constants. */
static void tb_key(text_buf *b, int *first, const char *key) {
    tb_puts(b, *first ? "\"" : ",\"");
    tb_puts(b, key);
    tb_puts(b, "\":");
    *first = 0;
}

static cJSON *tiers_item(const allot_bundle_parts *p) {
    cJSON *tiers = cJSON_CreateArray();
    for (size_t t = 0; tiers && t < p->n_tiers; t++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->tier_names[t]);
        cJSON_AddNumberToObject(o, "cost", p->tier_costs[t]);
        cJSON_AddItemToArray(tiers, o);
    }
    return tiers;
}

static void put_classifier(text_buf *b, const allot_bundle_parts *p) {
    int first = 1;
    tb_puts(b, "{");
    tb_key(b, &first, "kind");
    tb_item(b, cJSON_CreateString(p->kind));
    tb_key(b, &first, "classes");
    cJSON *classes = cJSON_CreateArray();
    for (int c = 0; classes && c < p->n_classes; c++)
        cJSON_AddItemToArray(classes, cJSON_CreateNumber(p->class_tier[c]));
    tb_item(b, classes);
    if (p->class_weights) {
        tb_key(b, &first, "weights");
        cJSON *w = cJSON_CreateArray();
        for (int c = 0; w && c < p->n_classes; c++)
            cJSON_AddItemToArray(w, cJSON_CreateNumber(p->class_weights[c]));
        tb_item(b, w);
    }
    tb_key(b, &first, "input");
    tb_item(b, cJSON_CreateString(p->input));
    if (p->xgboost_json) {
        tb_key(b, &first, "xgboost");
        tb_puts(b, p->xgboost_json);
    }
    if (p->liblinear_text) {
        tb_key(b, &first, "liblinear");
        tb_item(b, cJSON_CreateString(p->liblinear_text));
    }
    if (p->target) {
        tb_key(b, &first, "target");
        tb_item(b, cJSON_CreateString(p->target));
    }
    if (p->xgboost_per_tier) {
        tb_key(b, &first, "xgboost_per_tier");
        tb_puts(b, "[");
        for (size_t m = 0; m < p->n_models; m++) {
            if (m) tb_puts(b, ",");
            tb_puts(b, p->xgboost_per_tier[m]);
        }
        tb_puts(b, "]");
    }
    if (p->liblinear_per_tier) {
        tb_key(b, &first, "liblinear_per_tier");
        cJSON *arr = cJSON_CreateArray();
        for (size_t m = 0; arr && m < p->n_models; m++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(p->liblinear_per_tier[m]));
        tb_item(b, arr);
    }
    tb_puts(b, "}");
}

allot_status allot_bundle_render(const allot_bundle_parts *p, char **text, allot_error *err) {
    *text = NULL;
    text_buf b = {0};
    int first = 1;
    tb_puts(&b, "{");
    tb_key(&b, &first, "format");
    tb_item(&b, cJSON_CreateString("allot-policy"));
    tb_key(&b, &first, "version");
    tb_item(&b, cJSON_CreateNumber(p->sequential_json ? 2 : 1));
    tb_key(&b, &first, "tiers");
    tb_item(&b, tiers_item(p));
    tb_key(&b, &first, "features");
    tb_puts(&b, p->features_spec_json);
    if (p->sequential_json) {
        tb_key(&b, &first, "sequential");
        tb_puts(&b, p->sequential_json);
    }
    tb_key(&b, &first, "classifier");
    put_classifier(&b, p);
    tb_key(&b, &first, "decision");
    cJSON *dec = cJSON_CreateObject();
    cJSON_AddStringToObject(dec, "rule", p->rule);
    cJSON_AddNumberToObject(dec, strcmp(p->rule, "value") ? "mu" : "lambda", p->mu);
    tb_item(&b, dec);
    tb_key(&b, &first, "provenance");
    tb_puts(&b, p->provenance_json ? p->provenance_json : "{}");
    tb_puts(&b, "}\n"); /* end with a newline, as every allot text file does */
    if (b.failed) {
        free(b.s);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (bundle text)");
    }
    *text = b.s;
    return ALLOT_OK;
}

allot_status allot_bundle_write(const allot_bundle_parts *p, const char *path, allot_error *err) {
    char *text = NULL;
    allot_status st = allot_bundle_render(p, &text, err);
    if (st != ALLOT_OK) return st;
    st = allot_atomic_write(path, text, strlen(text), err);
    free(text);
    return st;
}
