/* bundle.c - policy bundle writer (see bundle.h). */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "atomic_file.h"

/* Placeholders replaced by verbatim text after cJSON has printed the rest. */
#define PH_FEATURES "@@ALLOT_FEATURES@@"
#define PH_XGBOOST "@@ALLOT_XGBOOST@@"
#define PH_PROVENANCE "@@ALLOT_PROVENANCE@@"
#define PH_SEQUENTIAL "@@ALLOT_SEQUENTIAL@@"

/* Replace the first quoted occurrence of ph ("ph") in *s by rep. */
static int splice(char **s, const char *ph, const char *rep) {
    char q[64];
    snprintf(q, sizeof q, "\"%s\"", ph);
    char *at = strstr(*s, q);
    if (!at) return -1;
    size_t pre = (size_t)(at - *s), ql = strlen(q), rl = strlen(rep), tl = strlen(*s);
    char *out = malloc(tl - ql + rl + 1);
    if (!out) return -1;
    memcpy(out, *s, pre);
    memcpy(out + pre, rep, rl);
    memcpy(out + pre + rl, at + ql, tl - pre - ql + 1);
    free(*s);
    *s = out;
    return 0;
}

allot_status allot_bundle_render(const allot_bundle_parts *p, char **text, allot_error *err) {
    *text = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (bundle)");
    cJSON_AddStringToObject(root, "format", "allot-policy");
    cJSON_AddNumberToObject(root, "version", p->sequential_json ? 2 : 1);
    cJSON *tiers = cJSON_AddArrayToObject(root, "tiers");
    for (size_t t = 0; t < p->n_tiers; t++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->tier_names[t]);
        cJSON_AddNumberToObject(o, "cost", p->tier_costs[t]);
        cJSON_AddItemToArray(tiers, o);
    }
    cJSON_AddStringToObject(root, "features", PH_FEATURES);
    if (p->sequential_json) cJSON_AddStringToObject(root, "sequential", PH_SEQUENTIAL);
    cJSON *cl = cJSON_AddObjectToObject(root, "classifier");
    cJSON_AddStringToObject(cl, "kind", p->kind);
    cJSON *classes = cJSON_AddArrayToObject(cl, "classes");
    for (int c = 0; c < p->n_classes; c++)
        cJSON_AddItemToArray(classes, cJSON_CreateNumber(p->class_tier[c]));
    if (p->class_weights) {
        cJSON *w = cJSON_AddArrayToObject(cl, "weights");
        for (int c = 0; c < p->n_classes; c++)
            cJSON_AddItemToArray(w, cJSON_CreateNumber(p->class_weights[c]));
    }
    cJSON_AddStringToObject(cl, "input", p->input);
    if (p->xgboost_json) cJSON_AddStringToObject(cl, "xgboost", PH_XGBOOST);
    if (p->liblinear_text) cJSON_AddStringToObject(cl, "liblinear", p->liblinear_text);
    if (p->target) cJSON_AddStringToObject(cl, "target", p->target);
    if (p->xgboost_per_tier) {
        cJSON *arr = cJSON_AddArrayToObject(cl, "xgboost_per_tier");
        for (size_t m = 0; m < p->n_models; m++) {
            char ph[64];
            snprintf(ph, sizeof ph, "%s%zu@@", PH_XGBOOST, m);
            cJSON_AddItemToArray(arr, cJSON_CreateString(ph));
        }
    }
    if (p->liblinear_per_tier) {
        cJSON *arr = cJSON_AddArrayToObject(cl, "liblinear_per_tier");
        for (size_t m = 0; m < p->n_models; m++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(p->liblinear_per_tier[m]));
    }
    cJSON *dec = cJSON_AddObjectToObject(root, "decision");
    cJSON_AddStringToObject(dec, "rule", p->rule);
    cJSON_AddNumberToObject(dec, strcmp(p->rule, "value") ? "mu" : "lambda", p->mu);
    cJSON_AddStringToObject(root, "provenance", PH_PROVENANCE);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (bundle text)");
    if (splice(&s, PH_FEATURES, p->features_spec_json) ||
        (p->xgboost_json && splice(&s, PH_XGBOOST, p->xgboost_json)) ||
        (p->sequential_json && splice(&s, PH_SEQUENTIAL, p->sequential_json)) ||
        splice(&s, PH_PROVENANCE, p->provenance_json ? p->provenance_json : "{}")) {
        free(s);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (bundle text)");
    }
    for (size_t m = 0; p->xgboost_per_tier && m < p->n_models; m++) {
        char ph[64];
        snprintf(ph, sizeof ph, "%s%zu@@", PH_XGBOOST, m);
        if (splice(&s, ph, p->xgboost_per_tier[m])) {
            free(s);
            return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (bundle text)");
        }
    }
    /* end with a newline, as every allot text file does */
    size_t l = strlen(s);
    char *t = realloc(s, l + 2);
    if (!t) {
        free(s);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (bundle text)");
    }
    t[l] = '\n';
    t[l + 1] = '\0';
    *text = t;
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
