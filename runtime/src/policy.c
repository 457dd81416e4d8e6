/*
 * policy.c - policy bundles: loading, validation and prediction (include/allot/allot_policy.h).
 */
#include "allot/allot_policy.h"
#include "runtime_io.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_model.h"
#include "features_internal.h"
#include "ladder_internal.h"
#include "liblinear_internal.h"
#include "policy_internal.h"

/* ---- helpers ------------------------------------------------------------------------------------- */

void allot_policy_free(allot_policy *p) {
    if (!p) return;
    if (p->tier_name)
        for (size_t i = 0; i < p->n_tiers; i++) free(p->tier_name[i]);
    free(p->tier_name);
    free(p->tier_cost);
    free(p->class_tier);
    free(p->class_cost);
    free(p->class_weight);
    allot_featurizer_free(p->feat);
    allot_xgb_model_free(p->xgb);
    allot_linear_model_free(p->lin);
    free(p->lin_label_class);
    for (size_t c = 0; p->xgb_t && c < p->n_classes; c++) allot_xgb_model_free(p->xgb_t[c]);
    for (size_t c = 0; p->lin_t && c < p->n_classes; c++) allot_linear_model_free(p->lin_t[c]);
    free(p->xgb_t);
    free(p->lin_t);
    allot_ladder_free(p->ladder);
    free(p->in_center);
    free(p->in_scale);
    free(p);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

/* A short, printable rendering of a JSON value's type for error messages. */
static const char *json_type(const cJSON *it) {
    if (!it) return "missing";
    if (cJSON_IsNull(it)) return "null";
    if (cJSON_IsBool(it)) return "a boolean";
    if (cJSON_IsNumber(it)) return "a number";
    if (cJSON_IsString(it)) return "a string";
    if (cJSON_IsArray(it)) return "an array";
    if (cJSON_IsObject(it)) return "an object";
    return "invalid";
}

/*
 * Raw-text lookup: the byte range of root[k1][k2] in the original document, so that the XGBoost
 * model reaches its loader as the trainer wrote it (its float literals parsed once, directly to
 * float32, as XGBoost does). The document has already been validated by cJSON; this scanner is
 * still bounds-checked throughout. Returns 1 and the range on success, 0 when not found.
 */
static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

static size_t skip_string(const char *s, size_t n, size_t i) { /* s[i] == '"' */
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

static size_t skip_value(const char *s, size_t n, size_t i) {
    i = skip_ws(s, n, i);
    if (i >= n) return n;
    if (s[i] == '"') return skip_string(s, n, i);
    if (s[i] == '{' || s[i] == '[') {
        size_t depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = skip_string(s, n, i);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0) return i + 1;
            }
            i++;
        }
        return n;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
           s[i] != '\n' && s[i] != '\r')
        i++;
    return i;
}

/* In the object starting at s[*start] ('{'), find member `key` (compared raw, without unescaping). */
static int find_member(const char *s, size_t n, size_t obj, const char *key, size_t *vstart, size_t *vend) {
    size_t i = skip_ws(s, n, obj);
    if (i >= n || s[i] != '{') return 0;
    i++;
    size_t klen = strlen(key);
    for (;;) {
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != '"') return 0;
        size_t ks = i + 1, ke = skip_string(s, n, i);
        if (ke > n || ke < ks + 1) return 0;
        int match = (ke - 1 - ks) == klen && !memcmp(s + ks, key, klen);
        i = skip_ws(s, n, ke);
        if (i >= n || s[i] != ':') return 0;
        i = skip_ws(s, n, i + 1);
        size_t ve = skip_value(s, n, i);
        if (match) {
            *vstart = i;
            *vend = ve;
            return 1;
        }
        i = skip_ws(s, n, ve);
        if (i >= n || s[i] != ',') return 0;
        i++;
    }
}

/* In the array starting at s[arr] ('['), the byte range of element idx. */
static int find_element(const char *s, size_t n, size_t arr, size_t idx, size_t *vstart, size_t *vend) {
    size_t i = skip_ws(s, n, arr);
    if (i >= n || s[i] != '[') return 0;
    i++;
    for (size_t k = 0;; k++) {
        i = skip_ws(s, n, i);
        if (i >= n || s[i] == ']') return 0;
        size_t ve = skip_value(s, n, i);
        if (k == idx) {
            *vstart = i;
            *vend = ve;
            return 1;
        }
        i = skip_ws(s, n, ve);
        if (i >= n || s[i] != ',') return 0;
        i++;
    }
}

/* ---- loading ---------------------------------------------------------------------------------------- */

static allot_status parse_tiers(allot_policy *p, const cJSON *root, allot_error *err) {
    const cJSON *tiers = cJSON_GetObjectItemCaseSensitive(root, "tiers");
    if (!cJSON_IsArray(tiers))
        return allot_error_set(err, ALLOT_E_INVALID, "tiers: must be an array of {name, cost} (is %s)",
                               json_type(tiers));
    size_t n = (size_t)cJSON_GetArraySize(tiers);
    if (n == 0) return allot_error_set(err, ALLOT_E_INVALID, "tiers: must not be empty");
    if (n > ALLOT_POLICY_MAX_TIERS)
        return allot_error_set(err, ALLOT_E_INVALID, "tiers: %zu tiers, at most %u allowed", n,
                               ALLOT_POLICY_MAX_TIERS);
    p->tier_name = calloc(n, sizeof *p->tier_name);
    p->tier_cost = calloc(n, sizeof *p->tier_cost);
    if (!p->tier_name || !p->tier_cost) return allot_error_set(err, ALLOT_E_NOMEM, "tiers: out of memory");
    p->n_tiers = n;
    size_t i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tiers) {
        if (!cJSON_IsObject(t))
            return allot_error_set(err, ALLOT_E_INVALID, "tiers[%zu]: must be an object", i);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *cost = cJSON_GetObjectItemCaseSensitive(t, "cost");
        if (!cJSON_IsString(name) || !name->valuestring[0])
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "tiers[%zu].name: must be a non-empty string (is %s)", i, json_type(name));
        if (!cJSON_IsNumber(cost) || !isfinite(cost->valuedouble) || cost->valuedouble < 0)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "tiers[%zu].cost: must be a finite number >= 0 (is %s)", i,
                                   json_type(cost));
        for (size_t j = 0; j < i; j++)
            if (!strcmp(p->tier_name[j], name->valuestring))
                return allot_error_set(err, ALLOT_E_INVALID, "tiers[%zu].name: duplicate tier '%.64s'", i,
                                       name->valuestring);
        p->tier_name[i] = dup_str(name->valuestring);
        if (!p->tier_name[i]) return allot_error_set(err, ALLOT_E_NOMEM, "tiers[%zu].name: out of memory", i);
        p->tier_cost[i] = cost->valuedouble;
        i++;
    }
    return ALLOT_OK;
}

static allot_status parse_classes(allot_policy *p, const cJSON *cls, allot_error *err) {
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(cls, "classes");
    if (!cJSON_IsArray(classes))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.classes: must be an array of tier indices (is %s)",
                               json_type(classes));
    size_t n = (size_t)cJSON_GetArraySize(classes);
    if (n == 0) return allot_error_set(err, ALLOT_E_INVALID, "classifier.classes: must not be empty");
    if (n > p->n_tiers)
        return allot_error_set(err, ALLOT_E_INVALID, "classifier.classes: %zu classes but only %zu tiers", n,
                               p->n_tiers);
    p->class_tier = calloc(n, sizeof *p->class_tier);
    p->class_cost = calloc(n, sizeof *p->class_cost);
    if (!p->class_tier || !p->class_cost)
        return allot_error_set(err, ALLOT_E_NOMEM, "classifier.classes: out of memory");
    p->n_classes = n;
    size_t i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, classes) {
        if (!cJSON_IsNumber(c) || c->valuedouble != floor(c->valuedouble))
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "classifier.classes[%zu]: must be an integer tier index", i);
        if (c->valuedouble < 0 || c->valuedouble >= (double)p->n_tiers)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "classifier.classes[%zu]: tier index %g out of range [0, %zu)", i,
                                   c->valuedouble, p->n_tiers);
        size_t t = (size_t)c->valuedouble;
        for (size_t j = 0; j < i; j++)
            if (p->class_tier[j] == t)
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "classifier.classes[%zu]: tier %zu already has a class", i, t);
        p->class_tier[i] = t;
        p->class_cost[i] = p->tier_cost[t];
        i++;
    }
    return ALLOT_OK;
}

static allot_status prefix_error(allot_error *err, allot_status st, const char *where,
                                 const allot_error *sub) {
    return allot_error_set(err, st, "%s: %s", where, sub->msg[0] ? sub->msg : allot_status_string(st));
}

static allot_status load_xgboost(allot_policy *p, const cJSON *cls, const char *doc, size_t len,
                                 allot_error *err) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cls, "xgboost");
    allot_error sub;
    allot_error_clear(&sub);
    allot_status st;
    if (cJSON_IsString(m)) {
        st = allot_xgb_model_load_memory(m->valuestring, strlen(m->valuestring), &p->xgb, &sub);
    } else if (cJSON_IsObject(m)) {
        size_t cs, ce, xs, xe;
        if (find_member(doc, len, skip_ws(doc, len, 0), "classifier", &cs, &ce) &&
            find_member(doc, ce, cs, "xgboost", &xs, &xe) && xe > xs && doc[xs] == '{') {
            st = allot_xgb_model_load_memory(doc + xs, xe - xs, &p->xgb, &sub);
        } else { /* escaped key names: fall back to cJSON's rendering of the object */
            char *txt = cJSON_PrintUnformatted(m);
            if (!txt) return allot_error_set(err, ALLOT_E_NOMEM, "classifier.xgboost: out of memory");
            st = allot_xgb_model_load_memory(txt, strlen(txt), &p->xgb, &sub);
            cJSON_free(txt);
        }
    } else {
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.xgboost: must be XGBoost's JSON model object (is %s)",
                               json_type(m));
    }
    if (st) return prefix_error(err, st, "classifier.xgboost", &sub);
    size_t nf = allot_xgb_model_num_features(p->xgb);
    if (nf > p->n_dense)
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "classifier.xgboost: the model reads %zu features but the feature spec has %zu dense features",
            nf, p->n_dense);
    size_t w = allot_xgb_model_output_width(p->xgb, ALLOT_XGB_OUTPUT_PROBA);
    if (w == 0)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "classifier.xgboost: objective '%s' gives no class probabilities",
                               allot_xgb_model_objective_name(p->xgb));
    if (!(w == p->n_classes || (w == 1 && p->n_classes == 2)))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.xgboost: the model has %zu probability outputs but "
                               "classifier.classes has %zu classes",
                               w, p->n_classes);
    p->xgb_width = w;
    return ALLOT_OK;
}

static allot_status load_liblinear(allot_policy *p, const cJSON *cls, allot_error *err) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cls, "liblinear");
    if (!cJSON_IsString(m))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.liblinear: must be the text of a LIBLINEAR model file (is %s)",
                               json_type(m));
    allot_error sub;
    allot_error_clear(&sub);
    allot_status st = allot_linear_model_load_memory(m->valuestring, strlen(m->valuestring), &p->lin, &sub);
    if (st) return prefix_error(err, st, "classifier.liblinear", &sub);
    if (allot_linear_model_is_regression(p->lin))
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "classifier.liblinear: regression solver '%s' is not a classifier",
                               allot_linear_model_solver_name(p->lin));
    size_t nin = p->n_dense + (p->hashed_input ? p->hash_dim : 0);
    if (allot_linear_model_num_features(p->lin) > nin)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.liblinear: the model has %zu features but the input has %zu",
                               allot_linear_model_num_features(p->lin), nin);
    size_t nl = allot_linear_model_num_classes(p->lin);
    if (nl == 0 || nl > p->n_classes)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.liblinear: the model has %zu labels, classifier.classes %zu", nl,
                               p->n_classes);
    p->lin_label_class = calloc(nl, sizeof *p->lin_label_class);
    if (!p->lin_label_class)
        return allot_error_set(err, ALLOT_E_NOMEM, "classifier.liblinear: out of memory");
    for (size_t i = 0; i < nl; i++) {
        int lab = allot_linear_model_label(p->lin, i);
        if (lab < 0 || (size_t)lab >= p->n_classes)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "classifier.liblinear: label %d is not a class index in [0, %zu)", lab,
                                   p->n_classes);
        for (size_t j = 0; j < i; j++)
            if (p->lin_label_class[j] == (size_t)lab)
                return allot_error_set(err, ALLOT_E_INVALID, "classifier.liblinear: duplicate label %d", lab);
        p->lin_label_class[i] = (size_t)lab;
    }
    p->lin_n_labels = nl;
    p->lin_prob = allot_linear_model_has_probability(p->lin);
    p->lin_n_dec = allot_linear_model_num_decision_values(p->lin);
    return ALLOT_OK;
}

/* Value target, XGBoost: classifier.xgboost_per_tier, one reg:logistic model per class, each given
 * to the model loader as its original bytes (as load_xgboost does). */
static allot_status load_xgboost_value(allot_policy *p, const cJSON *cls, const char *doc, size_t len,
                                       allot_error *err) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(cls, "xgboost_per_tier");
    if (!cJSON_IsArray(arr))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.xgboost_per_tier: must be an array of XGBoost JSON models (is %s)",
                               json_type(arr));
    if ((size_t)cJSON_GetArraySize(arr) != p->n_classes)
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "classifier.xgboost_per_tier: %d models but classifier.classes has %zu classes",
            cJSON_GetArraySize(arr), p->n_classes);
    p->xgb_t = calloc(p->n_classes, sizeof *p->xgb_t);
    if (!p->xgb_t) return allot_error_set(err, ALLOT_E_NOMEM, "classifier.xgboost_per_tier: out of memory");
    size_t cs, ce, as, ae;
    int raw = find_member(doc, len, skip_ws(doc, len, 0), "classifier", &cs, &ce) &&
              find_member(doc, ce, cs, "xgboost_per_tier", &as, &ae);
    size_t c = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, arr) {
        char where[64];
        snprintf(where, sizeof where, "classifier.xgboost_per_tier[%zu]", c);
        allot_error sub;
        allot_error_clear(&sub);
        allot_status st;
        size_t vs, ve;
        if (cJSON_IsString(m)) {
            st = allot_xgb_model_load_memory(m->valuestring, strlen(m->valuestring), &p->xgb_t[c], &sub);
        } else if (cJSON_IsObject(m)) {
            if (raw && find_element(doc, ae, as, c, &vs, &ve) && ve > vs && doc[vs] == '{') {
                st = allot_xgb_model_load_memory(doc + vs, ve - vs, &p->xgb_t[c], &sub);
            } else {
                char *txt = cJSON_PrintUnformatted(m);
                if (!txt) return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", where);
                st = allot_xgb_model_load_memory(txt, strlen(txt), &p->xgb_t[c], &sub);
                cJSON_free(txt);
            }
        } else {
            return allot_error_set(err, ALLOT_E_INVALID, "%s: must be XGBoost's JSON model object (is %s)",
                                   where, json_type(m));
        }
        if (st) return prefix_error(err, st, where, &sub);
        if (allot_xgb_model_num_features(p->xgb_t[c]) > p->n_inputs)
            return allot_error_set(
                err, ALLOT_E_INVALID, "%s: the model reads %zu features but the %s has %zu", where,
                allot_xgb_model_num_features(p->xgb_t[c]),
                p->ladder ? "input (prompt + state features)" : "feature spec's dense vector", p->n_inputs);
        /* predicted accuracies must lie in [0,1]: a sigmoid-link model with one output */
        if (allot_xgb_model_objective(p->xgb_t[c]) != ALLOT_XGB_OBJ_LOGISTIC ||
            allot_xgb_model_output_width(p->xgb_t[c], ALLOT_XGB_OUTPUT_VALUE) != 1)
            return allot_error_set(
                err, ALLOT_E_UNSUPPORTED,
                "%s: objective '%s' does not predict an accuracy in [0,1] (need reg:logistic)", where,
                allot_xgb_model_objective_name(p->xgb_t[c]));
        c++;
    }
    p->xgb_width = 1;
    return ALLOT_OK;
}

/* Value target, LIBLINEAR: classifier.liblinear_per_tier, one regression (SVR) model text per class. */
static allot_status load_liblinear_value(allot_policy *p, const cJSON *cls, allot_error *err) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(cls, "liblinear_per_tier");
    if (!cJSON_IsArray(arr))
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "classifier.liblinear_per_tier: must be an array of LIBLINEAR model texts (is %s)",
            json_type(arr));
    if ((size_t)cJSON_GetArraySize(arr) != p->n_classes)
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "classifier.liblinear_per_tier: %d models but classifier.classes has %zu classes",
            cJSON_GetArraySize(arr), p->n_classes);
    p->lin_t = calloc(p->n_classes, sizeof *p->lin_t);
    if (!p->lin_t) return allot_error_set(err, ALLOT_E_NOMEM, "classifier.liblinear_per_tier: out of memory");
    size_t nin = p->n_inputs + (p->hashed_input ? p->hash_dim : 0);
    size_t c = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, arr) {
        char where[64];
        snprintf(where, sizeof where, "classifier.liblinear_per_tier[%zu]", c);
        if (!cJSON_IsString(m))
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s: must be the text of a LIBLINEAR model file (is %s)", where,
                                   json_type(m));
        allot_error sub;
        allot_error_clear(&sub);
        allot_status st =
            allot_linear_model_load_memory(m->valuestring, strlen(m->valuestring), &p->lin_t[c], &sub);
        if (st) return prefix_error(err, st, where, &sub);
        if (!allot_linear_model_is_regression(p->lin_t[c]) ||
            allot_linear_model_num_decision_values(p->lin_t[c]) != 1)
            return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                                   "%s: solver '%s' is not a regression (need an SVR solver)", where,
                                   allot_linear_model_solver_name(p->lin_t[c]));
        if (allot_linear_model_num_features(p->lin_t[c]) > nin)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s: the model has %zu features but the input has %zu", where,
                                   allot_linear_model_num_features(p->lin_t[c]), nin);
        c++;
    }
    p->lin_n_dec = 1;
    return ALLOT_OK;
}

/* A mixture's weights: one per class, each in [0,1], summing to 1 (within 1e-9). */
static allot_status load_mixture(allot_policy *p, const cJSON *cls, allot_error *err) {
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(cls, "weights");
    if (!cJSON_IsArray(w) || (size_t)cJSON_GetArraySize(w) != p->n_classes)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.weights: a mixture needs one weight per class (%zu; is %s)",
                               p->n_classes, json_type(w));
    p->class_weight = calloc(p->n_classes, sizeof *p->class_weight);
    if (!p->class_weight) return allot_error_set(err, ALLOT_E_NOMEM, "classifier.weights: out of memory");
    double sum = 0;
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, w) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
            return allot_error_set(err, ALLOT_E_INVALID, "classifier.weights[%zu]: must be a number in [0,1]",
                                   i);
        p->class_weight[i++] = v->valuedouble;
        sum += v->valuedouble;
    }
    if (fabs(sum - 1) > 1e-9)
        return allot_error_set(err, ALLOT_E_INVALID, "classifier.weights: must sum to 1 (sum %.17g)", sum);
    return ALLOT_OK;
}

/* A standardisation array of n finite numbers (scales > 0). */
static allot_status parse_std_array(const cJSON *arr, const char *where, size_t n, int scale, double **out,
                                    allot_error *err) {
    if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != n)
        return allot_error_set(err, ALLOT_E_INVALID, "%s: must be an array of %zu numbers", where, n);
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out) return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", where);
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || (scale && !(v->valuedouble > 0)))
            return allot_error_set(err, ALLOT_E_INVALID, "%s[%zu]: must be a finite number%s", where, i,
                                   scale ? " > 0" : "");
        (*out)[i++] = v->valuedouble;
    }
    return ALLOT_OK;
}

/* The "sequential" section (docs/sequential.md): the ladder and, for LIBLINEAR, the input's
 * standardisation. Static bundles have none. */
static allot_status load_sequential(allot_policy *p, const cJSON *root, double version, allot_error *err) {
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(root, "sequential");
    if (!seq) return ALLOT_OK;
    if (version < 2)
        return allot_error_set(err, ALLOT_E_INVALID, "sequential: needs bundle version 2 (is %g)", version);
    allot_status st = allot_ladder_create_cjson(seq, "sequential", &p->ladder, err);
    if (st) return st;
    p->n_inputs = p->n_dense + allot_ladder_n_state(p->ladder);
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(seq, "standardization");
    if (!sd) return ALLOT_OK;
    if (!cJSON_IsObject(sd))
        return allot_error_set(err, ALLOT_E_INVALID, "sequential.standardization: must be an object");
    st = parse_std_array(cJSON_GetObjectItemCaseSensitive(sd, "center"), "sequential.standardization.center",
                         p->n_inputs, 0, &p->in_center, err);
    if (!st)
        st = parse_std_array(cJSON_GetObjectItemCaseSensitive(sd, "scale"),
                             "sequential.standardization.scale", p->n_inputs, 1, &p->in_scale, err);
    return st;
}

/* A sequential bundle's classifier: value regressors, one per stage, tiers = stages in order. */
static allot_status check_sequential_classifier(const allot_policy *p, const cJSON *cls, allot_error *err) {
    size_t ns = allot_ladder_n_stages(p->ladder);
    if (p->target != ALLOT_TARGET_VALUE)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.target: a sequential policy predicts values (\"value\")");
    if (p->n_tiers != ns || p->n_classes != ns)
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "tiers: a sequential policy has one tier and one class per stage (%zu stages, %zu "
            "tiers, %zu classes)",
            ns, p->n_tiers, p->n_classes);
    for (size_t i = 0; i < ns; i++) {
        if (p->class_tier[i] != i)
            return allot_error_set(err, ALLOT_E_INVALID, "classifier.classes[%zu]: must be %zu (stage order)",
                                   i, i);
        if (strcmp(p->tier_name[i], allot_ladder_stage_name(p->ladder, i)))
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "tiers[%zu].name: '%.64s' is not stage %zu ('%.64s')", i, p->tier_name[i],
                                   i, allot_ladder_stage_name(p->ladder, i));
    }
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(cls, "input");
    if (!cJSON_IsString(input) || strcmp(input->valuestring, "state"))
        return allot_error_set(err, ALLOT_E_INVALID, "classifier.input: a sequential policy reads \"state\"");
    if (p->kind == ALLOT_CLASSIFIER_LIBLINEAR && !p->in_center)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "sequential.standardization: required by a LIBLINEAR sequential policy");
    return ALLOT_OK;
}

static allot_status load_doc(allot_policy *p, const cJSON *root, const char *doc, size_t len,
                             allot_error *err) {
    if (!cJSON_IsObject(root))
        return allot_error_set(err, ALLOT_E_INVALID, "policy: the document must be a JSON object");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, ALLOT_POLICY_FORMAT))
        return allot_error_set(err, ALLOT_E_INVALID, "format: must be \"%s\" (is %s)", ALLOT_POLICY_FORMAT,
                               json_type(fmt));
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(ver) || !isfinite(ver->valuedouble) || ver->valuedouble != floor(ver->valuedouble) ||
        ver->valuedouble < 1)
        return allot_error_set(err, ALLOT_E_INVALID, "version: must be a positive integer (is %s)",
                               json_type(ver));
    if (ver->valuedouble > ALLOT_POLICY_VERSION)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED, "version: %g is newer than this runtime reads (%d)",
                               ver->valuedouble, ALLOT_POLICY_VERSION);
    allot_status st = parse_tiers(p, root, err);
    if (st) return st;

    const cJSON *features = cJSON_GetObjectItemCaseSensitive(root, "features");
    if (!features) return allot_error_set(err, ALLOT_E_INVALID, "features: missing");
    st = allot_featurizer_create_cjson(features, "features", &p->feat, err);
    if (st) return st;
    p->n_dense = allot_featurizer_n_dense(p->feat);
    p->hash_dim = allot_featurizer_hash_dim(p->feat);
    p->n_inputs = p->n_dense;
    st = load_sequential(p, root, ver->valuedouble, err);
    if (st) return st;

    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(root, "classifier");
    if (!cJSON_IsObject(cls))
        return allot_error_set(err, ALLOT_E_INVALID, "classifier: must be an object (is %s)", json_type(cls));
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(cls, "kind");
    if (!cJSON_IsString(kind))
        return allot_error_set(err, ALLOT_E_INVALID, "classifier.kind: must be a string (is %s)",
                               json_type(kind));
    if (!strcmp(kind->valuestring, "xgboost"))
        p->kind = ALLOT_CLASSIFIER_XGBOOST;
    else if (!strcmp(kind->valuestring, "liblinear"))
        p->kind = ALLOT_CLASSIFIER_LIBLINEAR;
    else if (!strcmp(kind->valuestring, "constant"))
        p->kind = ALLOT_CLASSIFIER_CONSTANT;
    else if (!strcmp(kind->valuestring, "mixture"))
        p->kind = ALLOT_CLASSIFIER_MIXTURE;
    else
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "classifier.kind: '%.32s' is not one of xgboost, liblinear, constant, mixture",
                               kind->valuestring);
    st = parse_classes(p, cls, err);
    if (st) return st;
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(cls, "target");
    p->target = ALLOT_TARGET_TIER;
    if (target) {
        if (cJSON_IsString(target) && !strcmp(target->valuestring, "tier"))
            p->target = ALLOT_TARGET_TIER;
        else if (cJSON_IsString(target) && !strcmp(target->valuestring, "value"))
            p->target = ALLOT_TARGET_VALUE;
        else
            return allot_error_set(err, ALLOT_E_INVALID, "classifier.target: must be \"tier\" or \"value\"");
        if (p->target == ALLOT_TARGET_VALUE &&
            (p->kind == ALLOT_CLASSIFIER_CONSTANT || p->kind == ALLOT_CLASSIFIER_MIXTURE))
            return allot_error_set(
                err, ALLOT_E_INVALID,
                "classifier.target: \"value\" needs per-tier models (kind xgboost or liblinear)");
    }

    const cJSON *input = cJSON_GetObjectItemCaseSensitive(cls, "input");
    if (input && !cJSON_IsString(input))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.input: must be \"dense\" or \"dense+hashed\"");
    const char *in =
        input ? input->valuestring : (p->kind == ALLOT_CLASSIFIER_LIBLINEAR ? "dense+hashed" : "dense");
    if (p->ladder && !strcmp(in, "state"))
        p->hashed_input = 0;
    else if (!strcmp(in, "dense"))
        p->hashed_input = 0;
    else if (!strcmp(in, "dense+hashed"))
        p->hashed_input = 1;
    else
        return allot_error_set(err, ALLOT_E_INVALID,
                               "classifier.input: must be \"dense\" or \"dense+hashed\"");
    if (p->hashed_input && p->kind == ALLOT_CLASSIFIER_XGBOOST)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "classifier.input: xgboost policies take \"dense\" input");
    if (p->hashed_input && p->hash_dim == 0) p->hashed_input = 0; /* nothing to append */
    if (p->ladder) {
        st = check_sequential_classifier(p, cls, err);
        if (st) return st;
    }

    if (p->target == ALLOT_TARGET_VALUE && p->kind == ALLOT_CLASSIFIER_XGBOOST)
        st = load_xgboost_value(p, cls, doc, len, err);
    else if (p->target == ALLOT_TARGET_VALUE)
        st = load_liblinear_value(p, cls, err);
    else if (p->kind == ALLOT_CLASSIFIER_XGBOOST)
        st = load_xgboost(p, cls, doc, len, err);
    else if (p->kind == ALLOT_CLASSIFIER_LIBLINEAR)
        st = load_liblinear(p, cls, err);
    else if (p->kind == ALLOT_CLASSIFIER_MIXTURE)
        st = p->ladder ? allot_error_set(err, ALLOT_E_INVALID,
                                         "classifier.kind: a sequential policy is not a mixture")
                       : load_mixture(p, cls, err);
    else if (p->n_classes != 1)
        st = allot_error_set(err, ALLOT_E_INVALID,
                             "classifier.classes: a constant classifier has exactly one class");
    if (st) return st;

    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(root, "decision");
    /* default: argmax; the value rule at lambda 0 for value policies */
    p->rule = p->target == ALLOT_TARGET_VALUE ? ALLOT_RULE_VALUE : ALLOT_RULE_ARGMAX;
    p->mu = 0;
    if (dec) {
        if (!cJSON_IsObject(dec)) return allot_error_set(err, ALLOT_E_INVALID, "decision: must be an object");
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(dec, "rule");
        if (rule) {
            if (cJSON_IsString(rule) && !strcmp(rule->valuestring, "argmax"))
                p->rule = ALLOT_RULE_ARGMAX;
            else if (cJSON_IsString(rule) && !strcmp(rule->valuestring, "calibrated"))
                p->rule = ALLOT_RULE_CALIBRATED;
            else if (cJSON_IsString(rule) && !strcmp(rule->valuestring, "value"))
                p->rule = ALLOT_RULE_VALUE;
            else
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "decision.rule: must be \"argmax\", \"calibrated\" or \"value\"");
        }
        if (p->rule == ALLOT_RULE_VALUE && p->target != ALLOT_TARGET_VALUE)
            return allot_error_set(
                err, ALLOT_E_INVALID,
                "decision.rule: \"value\" needs predicted accuracies (classifier.target \"value\")");
        const cJSON *lambda = cJSON_GetObjectItemCaseSensitive(dec, "lambda");
        if (p->rule == ALLOT_RULE_VALUE) {
            if (!lambda || cJSON_IsNull(lambda))
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "decision.lambda: missing (required by the value rule)");
            if (!cJSON_IsNumber(lambda) || !isfinite(lambda->valuedouble) || lambda->valuedouble < 0)
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "decision.lambda: must be a finite number >= 0 (is %s)",
                                       json_type(lambda));
            p->mu = lambda->valuedouble;
        }
        const cJSON *mu = p->rule == ALLOT_RULE_VALUE ? NULL : cJSON_GetObjectItemCaseSensitive(dec, "mu");
        if (mu && !cJSON_IsNull(mu)) {
            if (!cJSON_IsNumber(mu) || !isfinite(mu->valuedouble)) /* mu < 0 raises the spend */
                return allot_error_set(err, ALLOT_E_INVALID, "decision.mu: must be a finite number (is %s)",
                                       json_type(mu));
            p->mu = mu->valuedouble;
        } else if (p->rule == ALLOT_RULE_CALIBRATED) {
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "decision.mu: missing (required by the calibrated rule)");
        }
    }
    p->needs_ws = p->ladder || p->hashed_input || p->n_dense > STACK_MAX_DENSE ||
                  p->n_classes > STACK_MAX_CLASSES || p->xgb_width > STACK_MAX_CLASSES ||
                  p->lin_n_dec > STACK_MAX_CLASSES;
    return ALLOT_OK;
}

/*
 * Parse the members of the bundle that serving reads: every top-level member but "provenance",
 * the training record (per-query ids and out-of-fold predictions, often most of the file). That
 * one is checked to be well-formed JSON but never turned into a tree, so a loaded policy costs
 * what its models cost, not what its training record would (docs/runtime.md). Each other member's
 * value is parsed on its own and attached to a fresh root, in document order.
 */
static allot_status parse_serving_members(const char *data, size_t len, cJSON **out, allot_error *err) {
    *out = NULL;
    size_t end = 0;
    if (!allot_rt_json_wellformed(data, len, &end))
        return allot_error_set(err, ALLOT_E_PARSE,
                               "policy: not valid JSON near byte %zu (truncated or malformed bundle)",
                               end + 1);
    for (size_t k = end; k < len; k++)
        if (data[k] != ' ' && data[k] != '\t' && data[k] != '\n' && data[k] != '\r')
            return allot_error_set(err, ALLOT_E_PARSE, "policy: text after the JSON document at byte %zu",
                                   k + 1);
    size_t i = skip_ws(data, len, 0);
    if (data[i] != '{') { /* not an object: load_doc says so */
        int nomem;
        *out = allot_rt_json_parse(data, len, NULL, &nomem);
        return *out ? ALLOT_OK
                    : allot_error_set(err, ALLOT_E_NOMEM, "policy: out of memory parsing the bundle");
    }
    cJSON *root = cJSON_CreateObject();
    if (!root) return allot_error_set(err, ALLOT_E_NOMEM, "policy: out of memory parsing the bundle");
    int provenance_seen = 0;
    i = skip_ws(data, len, i + 1);
    while (i < len && data[i] == '"') {
        size_t ke = skip_string(data, len, i);
        cJSON *key = cJSON_ParseWithLength(data + i, ke - i);
        size_t vs = skip_ws(data, len, skip_ws(data, len, ke) + 1); /* past the ':' */
        size_t ve = skip_value(data, len, vs);
        cJSON *val = NULL;
        int is_prov = cJSON_IsString(key) && !strcmp(key->valuestring, "provenance");
        if (is_prov && provenance_seen) {
            cJSON_Delete(key);
            cJSON_Delete(root);
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "provenance: duplicate member (each name may appear once)");
        }
        provenance_seen |= is_prov;
        if (!is_prov) val = key ? cJSON_ParseWithLengthOpts(data + vs, ve - vs, NULL, 0) : NULL;
        if (!key || (!is_prov && (!val || !cJSON_AddItemToObject(root, key->valuestring, val)))) {
            cJSON_Delete(val);
            cJSON_Delete(key);
            cJSON_Delete(root);
            return allot_error_set(err, ALLOT_E_NOMEM, "policy: out of memory parsing the bundle");
        }
        cJSON_Delete(key);
        i = skip_ws(data, len, ve);
        if (i < len && data[i] == ',') i = skip_ws(data, len, i + 1);
    }
    *out = root;
    return ALLOT_OK;
}

allot_status allot_policy_load_memory(const char *data, size_t len, allot_policy **out, allot_error *err) {
    if (out) *out = NULL;
    if (!out || (!data && len))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_policy_load_memory: NULL argument");
    if (!data) data = "";
    data = allot_rt_skip_bom(data, &len);
    cJSON *root = NULL;
    allot_status st = parse_serving_members(data, len, &root, err);
    if (st) return st;
    char msg[ALLOT_ERROR_MSG_SIZE];
    int strict = allot_rt_json_strict_check(root, data, len, NULL, msg, sizeof msg);
    if (strict) {
        cJSON_Delete(root);
        return allot_error_set(err, strict < 0 ? ALLOT_E_NOMEM : ALLOT_E_INVALID, "%s", msg);
    }
    allot_policy *p = calloc(1, sizeof *p);
    if (!p) {
        cJSON_Delete(root);
        return allot_error_set(err, ALLOT_E_NOMEM, "policy: out of memory");
    }
    st = load_doc(p, root, data, len, err);
    cJSON_Delete(root);
    if (st) {
        allot_policy_free(p);
        return st;
    }
    *out = p;
    return ALLOT_OK;
}

allot_status allot_policy_load_file(const char *path, allot_policy **out, allot_error *err) {
    if (out) *out = NULL;
    if (!path || !out) return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_policy_load_file: NULL argument");
    char *buf;
    size_t n;
    allot_status rs = allot_rt_read_file("policy bundle", path, ALLOT_POLICY_MAX_FILE_BYTES, &buf, &n, err);
    if (rs != ALLOT_OK) return rs;
    allot_status st = allot_policy_load_memory(buf, n, out, err);
    free(buf);
    return st == ALLOT_OK ? ALLOT_OK : allot_rt_error_prefix(err, st, path);
}

/* ---- inspection ------------------------------------------------------------------------------------- */

size_t allot_policy_n_tiers(const allot_policy *p) {
    return p ? p->n_tiers : 0;
}
const char *allot_policy_tier_name(const allot_policy *p, size_t i) {
    return p && i < p->n_tiers ? p->tier_name[i] : NULL;
}
double allot_policy_tier_cost(const allot_policy *p, size_t i) {
    return p && i < p->n_tiers ? p->tier_cost[i] : NAN;
}
long allot_policy_tier_index(const allot_policy *p, const char *name) {
    if (!p || !name) return -1;
    for (size_t i = 0; i < p->n_tiers; i++)
        if (!strcmp(p->tier_name[i], name)) return (long)i;
    return -1;
}
size_t allot_policy_n_classes(const allot_policy *p) {
    return p ? p->n_classes : 0;
}
long allot_policy_class_tier(const allot_policy *p, size_t c) {
    return p && c < p->n_classes ? (long)p->class_tier[c] : -1;
}
allot_classifier_kind allot_policy_classifier_kind(const allot_policy *p) {
    return p ? p->kind : ALLOT_CLASSIFIER_CONSTANT;
}
allot_rule allot_policy_rule(const allot_policy *p) {
    return p ? p->rule : ALLOT_RULE_ARGMAX;
}
double allot_policy_mu(const allot_policy *p) {
    return p ? p->mu : 0;
}
allot_policy_target allot_policy_target_kind(const allot_policy *p) {
    return p ? p->target : ALLOT_TARGET_TIER;
}
const allot_featurizer *allot_policy_featurizer(const allot_policy *p) {
    return p ? p->feat : NULL;
}
int allot_policy_needs_workspace(const allot_policy *p) {
    return p ? p->needs_ws : 0;
}

/* ---- workspaces --------------------------------------------------------------------------------------- */

static size_t align_up(size_t x) {
    return (x + 15u) & ~(size_t)15u;
}

allot_status allot_workspace_create(const allot_policy *p, allot_workspace **out, allot_error *err) {
    if (out) *out = NULL;
    if (!p || !out) return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_workspace_create: NULL argument");
    size_t nd = p->n_inputs ? p->n_inputs : 1; /* n_dense, or prompt + state for a sequential policy */
    size_t hd = p->hashed_input ? p->hash_dim : 0;
    size_t nc = p->n_classes;
    size_t nw = p->xgb_width > nc ? p->xgb_width : nc;
    size_t ndec = p->lin_n_dec > nc ? p->lin_n_dec : nc;
    size_t scratch = allot_ladder_scratch_size(p->ladder);
    size_t off[9], total = align_up(sizeof(allot_workspace));
    size_t sizes[9] = {nd * sizeof(float),
                       nd * sizeof(float),
                       (hd ? hd : 1) * sizeof(uint32_t),
                       (hd ? hd : 1) * sizeof(float),
                       nw * sizeof(float),
                       nc * sizeof(double),
                       ndec * sizeof(double),
                       scratch,
                       (p->ladder ? nc : 0) * sizeof(double)};
    for (int i = 0; i < 9; i++) {
        off[i] = total;
        total += align_up(sizes[i]);
    }
    char *mem = malloc(total);
    if (!mem) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (workspace of %zu bytes)", total);
    allot_workspace *ws = (allot_workspace *)mem;
    ws->p = p;
    ws->dense = (float *)(mem + off[0]);
    ws->stdz = (float *)(mem + off[1]);
    ws->sidx = (uint32_t *)(mem + off[2]);
    ws->sval = (float *)(mem + off[3]);
    ws->xout = (float *)(mem + off[4]);
    ws->cprob = (double *)(mem + off[5]);
    ws->dec = (double *)(mem + off[6]);
    ws->scratch = scratch ? mem + off[7] : NULL;
    ws->scratch_size = scratch;
    ws->stage_values = p->ladder ? (double *)(mem + off[8]) : NULL;
    *out = ws;
    return ALLOT_OK;
}

void allot_workspace_free(allot_workspace *ws) {
    free(ws);
}

/* ---- the decision rule -----------------------------------------------------------------------------------
 */

size_t allot_rule_apply(allot_rule rule, double mu, const double *probs, const double *costs, size_t n) {
    size_t best = 0;
    double best_s = -INFINITY;
    int have = 0;
    for (size_t c = 0; c < n; c++) {
        double s = rule == ALLOT_RULE_CALIBRATED ? log(probs[c]) - mu * costs[c]
                   : rule == ALLOT_RULE_VALUE    ? probs[c] - mu * costs[c]
                                                 : probs[c];
        if (isnan(s)) continue;
        /* value rule: equal net values go to the cheaper tier, as the oracle's per-query rule */
        if (!have || s > best_s || (rule == ALLOT_RULE_VALUE && s == best_s && costs[c] < costs[best])) {
            best = c;
            best_s = s;
            have = 1;
        }
    }
    return best;
}

/* ---- prediction -------------------------------------------------------------------------------------------
 */

/* LIBLINEAR input of the model input x (n_inputs floats): its standardised values (NaN -> the
 * center, i.e. 0) in ws->stdz, then the n_sparse hashed entries of ws->sidx/sval at indices
 * n_dense + j + 1 (liblinear_internal.h). */
static allot_linear_input linear_input(const allot_policy *p, allot_workspace *ws, const float *x,
                                       size_t n_sparse) {
    if (p->in_center) {
        for (size_t i = 0; i < p->n_inputs; i++)
            ws->stdz[i] = isnan(x[i]) ? 0.0f : (float)(((double)x[i] - p->in_center[i]) / p->in_scale[i]);
    } else {
        allot_featurizer_standardize(p->feat, x, ws->stdz);
    }
    /* hashed entries come only with a static policy's input, where n_inputs = n_dense */
    allot_linear_input in = {ws->stdz, p->n_inputs, ws->sidx, ws->sval, n_sparse};
    return in;
}

/* Value target: the predicted accuracies of classes [c0, c1) into ws->cprob, from the model input x
 * (XGBoost) or the LIBLINEAR input in (LIBLINEAR). */
static allot_status value_models(const allot_policy *p, allot_workspace *ws, const float *x,
                                 const allot_linear_input *in, size_t c0, size_t c1, allot_error *err) {
    for (size_t c = c0; c < c1; c++) {
        if (p->kind == ALLOT_CLASSIFIER_XGBOOST) { /* one reg:logistic model per class */
            allot_status st = allot_xgb_model_predict(p->xgb_t[c], ALLOT_XGB_OUTPUT_VALUE, x, p->n_inputs,
                                                      ws->xout, 1, err);
            if (st) return st;
            ws->cprob[c] = (double)ws->xout[0];
        } else { /* one SVR per class; clipping the regression value to [0,1] is part of the rule */
            allot_linear_model_values_input(p->lin_t[c], in, ws->dec);
            double v = ws->dec[0];
            ws->cprob[c] = v < 0 ? 0.0 : v > 1 ? 1.0 : v;
        }
    }
    return ALLOT_OK;
}

allot_status allot_policy_values(const allot_policy *p, allot_workspace *ws, const float *x, size_t c0,
                                 size_t c1, allot_error *err) {
    allot_linear_input in = {NULL, 0, NULL, NULL, 0};
    if (p->kind == ALLOT_CLASSIFIER_LIBLINEAR) in = linear_input(p, ws, x, 0);
    return value_models(p, ws, x, &in, c0, c1, err);
}

/* A tier classifier's class probabilities into ws->cprob (LIBLINEAR: from the input in). */
static allot_status class_probabilities(const allot_policy *p, allot_workspace *ws,
                                        const allot_linear_input *in, allot_error *err) {
    double *cprob = ws->cprob;
    allot_status st;
    if (p->kind == ALLOT_CLASSIFIER_XGBOOST) {
        st = allot_xgb_model_predict(p->xgb, ALLOT_XGB_OUTPUT_PROBA, ws->dense, p->n_dense, ws->xout,
                                     p->xgb_width, err);
        if (st) return st;
        if (p->xgb_width == 1) { /* binary:logistic: the output is p(class 1) */
            cprob[1] = (double)ws->xout[0];
            cprob[0] = 1.0 - cprob[1];
        } else {
            for (size_t c = 0; c < p->n_classes; c++) cprob[c] = (double)ws->xout[c];
        }
        return ALLOT_OK;
    }
    for (size_t c = 0; c < p->n_classes; c++) cprob[c] = 0;
    size_t nl = p->lin_n_labels;
    if (nl == 1) {
        cprob[p->lin_label_class[0]] = 1.0;
    } else if (p->lin_prob) {
        allot_linear_model_probability_input(p->lin, in, ws->dec);
        for (size_t i = 0; i < nl; i++) cprob[p->lin_label_class[i]] = ws->dec[i];
    } else {
        allot_linear_model_values_input(p->lin, in, ws->dec);
        if (p->lin_n_dec == 1) { /* two labels: sigmoid of the decision value, as LIBLINEAR's LR */
            double p0 = 1.0 / (1.0 + exp(-ws->dec[0]));
            cprob[p->lin_label_class[0]] = p0;
            cprob[p->lin_label_class[1]] = 1.0 - p0;
        } else { /* softmax of the decision values */
            double mx = ws->dec[0], sum = 0;
            for (size_t i = 1; i < nl; i++)
                if (ws->dec[i] > mx) mx = ws->dec[i];
            for (size_t i = 0; i < nl; i++) sum += exp(ws->dec[i] - mx);
            for (size_t i = 0; i < nl; i++) cprob[p->lin_label_class[i]] = exp(ws->dec[i] - mx) / sum;
        }
    }
    return ALLOT_OK;
}

allot_status allot_rt_check_options(const char *fn, const allot_predict_options *opts, allot_error *err) {
    if (!opts || (opts->version >= 1 && opts->version <= ALLOT_PREDICT_VERSION)) return ALLOT_OK;
    return allot_error_set(err, ALLOT_E_ARGUMENT,
                           "%s: allot_predict_options.version is %u, this library reads 1 to %u (use "
                           "ALLOT_PREDICT_OPTIONS_INIT)",
                           fn, opts->version, ALLOT_PREDICT_VERSION);
}

allot_status allot_rt_check_query(const char *fn, const allot_query_input *q, allot_error *err) {
    for (size_t i = 0; i < sizeof q->reserved / sizeof q->reserved[0]; i++)
        if (q->reserved[i])
            return allot_error_set(err, ALLOT_E_ARGUMENT,
                                   "%s: allot_query_input.reserved[%zu] is not 0 (use ALLOT_QUERY_INPUT_INIT "
                                   "or a designated initialiser)",
                                   fn, i);
    return ALLOT_OK;
}

size_t allot_mixture_draw(const double *weights, size_t n, const char *prompt, size_t prompt_len) {
    if (!weights || !n) return 0;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (size_t i = 0; prompt && i < prompt_len; i++) {
        h ^= (unsigned char)prompt[i];
        h *= 0x100000001b3ull;
    }
    /* FNV's high bits mix poorly for prompts that differ in their last bytes: finish with MurmurHash3's
     * 64-bit finaliser before taking the top 53 bits */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    double u = (double)(h >> 11) * 0x1p-53, cum = 0;
    for (size_t c = 0; c + 1 < n; c++) {
        cum += weights[c];
        if (u < cum) return c;
    }
    return n - 1;
}

double allot_policy_class_weight(const allot_policy *p, size_t c) {
    return p && p->class_weight && c < p->n_classes ? p->class_weight[c] : NAN;
}

static allot_status predict_core(const allot_policy *p, allot_workspace *ws, const allot_query_input *q,
                                 const float *emb, size_t emb_dim, allot_rule rule, double mu,
                                 double *tier_probs, allot_decision *out, allot_error *err) {
    allot_status st = allot_rt_check_query("allot_policy_predict", q, err);
    if (st) return st;
    double *cprob = ws->cprob;
    if (p->kind == ALLOT_CLASSIFIER_CONSTANT) {
        cprob[0] = 1.0;
    } else if (p->kind == ALLOT_CLASSIFIER_MIXTURE) { /* the drawn class, whatever the rule and price */
        size_t d =
            allot_mixture_draw(p->class_weight, p->n_classes, q->prompt, q->prompt ? q->prompt_len : 0);
        for (size_t c = 0; c < p->n_classes; c++) cprob[c] = c == d;
    } else {
        size_t n_sparse = 0;
        allot_linear_input in = {NULL, 0, NULL, NULL, 0};
        st = allot_featurize_ex(p->feat, q->prompt, q->prompt_len, q->extras, q->n_extras, emb, emb_dim,
                                ws->dense, p->hashed_input ? ws->sidx : NULL,
                                p->hashed_input ? ws->sval : NULL, p->hashed_input ? p->hash_dim : 0,
                                &n_sparse, err);
        if (st) return st;
        if (p->kind == ALLOT_CLASSIFIER_LIBLINEAR) in = linear_input(p, ws, ws->dense, n_sparse);
        st = p->target == ALLOT_TARGET_VALUE ? value_models(p, ws, ws->dense, &in, 0, p->n_classes, err)
                                             : class_probabilities(p, ws, &in, err);
        if (st) return st;
    }
    size_t c = allot_rule_apply(rule, mu, cprob, p->class_cost, p->n_classes);
    double ec = 0;
    if (p->target == ALLOT_TARGET_VALUE)
        ec = NAN; /* no probabilities: no expected cost */
    else
        for (size_t k = 0; k < p->n_classes; k++) ec += cprob[k] * p->class_cost[k];
    if (tier_probs) {
        for (size_t t = 0; t < p->n_tiers; t++) tier_probs[t] = 0;
        for (size_t k = 0; k < p->n_classes; k++) tier_probs[p->class_tier[k]] = cprob[k];
    }
    out->tier = p->class_tier[c];
    out->class_index = c;
    out->cost = p->class_cost[c];
    out->expected_cost = ec;
    out->probability = cprob[c];
    out->mu = rule == ALLOT_RULE_ARGMAX ? 0 : mu;
    out->rule = (int)rule;
    memset(out->reserved, 0, sizeof out->reserved);
    return ALLOT_OK;
}

static allot_status resolve_options(const allot_policy *p, const allot_predict_options *opts,
                                    allot_rule *rule, double *mu, allot_error *err) {
    *rule = p->rule;
    *mu = p->mu;
    if (!opts) return ALLOT_OK;
    allot_status st = allot_rt_check_options("allot_policy_predict", opts, err);
    if (st) return st;
    if (opts->rule == ALLOT_RULE_ARGMAX || opts->rule == ALLOT_RULE_CALIBRATED ||
        opts->rule == ALLOT_RULE_VALUE)
        *rule = (allot_rule)opts->rule;
    else if (opts->rule != -1)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_policy_predict: unknown rule %d", opts->rule);
    if (*rule == ALLOT_RULE_VALUE && p->target != ALLOT_TARGET_VALUE)
        return allot_error_set(
            err, ALLOT_E_ARGUMENT,
            "allot_policy_predict: the value rule needs predicted accuracies (a policy with "
            "classifier.target \"value\"); this one predicts tier probabilities");
    if (!isnan(opts->mu)) { /* NaN: the bundle's price */
        if (!isfinite(opts->mu))
            return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_policy_predict: mu must be finite");
        *mu = opts->mu;
    }
    return ALLOT_OK;
}

/* Scratch on the stack for small dense policies (allot_policy_needs_workspace() == 0). */
typedef struct {
    allot_workspace ws;
    float dense[STACK_MAX_DENSE];
    float stdz[STACK_MAX_DENSE];
    float xout[STACK_MAX_CLASSES];
    double cprob[STACK_MAX_CLASSES];
    double dec[STACK_MAX_CLASSES];
} stack_ws;

static void stack_ws_init(stack_ws *s, const allot_policy *p) {
    s->ws.p = p;
    s->ws.dense = s->dense;
    s->ws.stdz = s->stdz;
    s->ws.sidx = NULL;
    s->ws.sval = NULL;
    s->ws.xout = s->xout;
    s->ws.cprob = s->cprob;
    s->ws.dec = s->dec;
    s->ws.scratch = NULL;
    s->ws.scratch_size = 0;
    s->ws.stage_values = NULL;
}

static allot_status check_call(const allot_policy *p, allot_workspace *ws, const void *q,
                               const allot_decision *out, const double *tier_probs, size_t tier_probs_len,
                               size_t n, allot_error *err) {
    if (!p || !q || !out)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_policy_predict: NULL argument");
    if (p->ladder)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_policy_predict: a sequential policy decides stage by stage "
                               "(allot_policy_step, allot_sequential.h)");
    if (ws && ws->p != p)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_policy_predict: the workspace was made for another policy");
    if (!ws && p->needs_ws)
        return allot_error_set(
            err, ALLOT_E_ARGUMENT,
            "allot_policy_predict: this policy needs a workspace (allot_workspace_create)");
    if (tier_probs && tier_probs_len / (n ? n : 1) < p->n_tiers)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_policy_predict: tier_probs holds %zu values, need %zu", tier_probs_len,
                               p->n_tiers * n);
    return ALLOT_OK;
}

allot_status allot_policy_predict(const allot_policy *p, allot_workspace *ws, const allot_query_input *query,
                                  const allot_predict_options *opts, double *tier_probs,
                                  size_t tier_probs_len, allot_decision *out, allot_error *err) {
    allot_status st = check_call(p, ws, query, out, tier_probs, tier_probs_len, 1, err);
    if (st) return st;
    allot_rule rule;
    double mu;
    st = resolve_options(p, opts, &rule, &mu, err);
    if (st) return st;
    if (ws) return predict_core(p, ws, query, NULL, 0, rule, mu, tier_probs, out, err);
    stack_ws s;
    stack_ws_init(&s, p);
    return predict_core(p, &s.ws, query, NULL, 0, rule, mu, tier_probs, out, err);
}

allot_status allot_policy_predict_embedded(const allot_policy *p, allot_workspace *ws,
                                           const allot_query_input *query, const float *embedding,
                                           size_t embedding_dim, const allot_predict_options *opts,
                                           double *tier_probs, size_t tier_probs_len, allot_decision *out,
                                           allot_error *err) {
    allot_status st = check_call(p, ws, query, out, tier_probs, tier_probs_len, 1, err);
    if (st) return st;
    allot_rule rule;
    double mu;
    st = resolve_options(p, opts, &rule, &mu, err);
    if (st) return st;
    if (ws) return predict_core(p, ws, query, embedding, embedding_dim, rule, mu, tier_probs, out, err);
    stack_ws s;
    stack_ws_init(&s, p);
    return predict_core(p, &s.ws, query, embedding, embedding_dim, rule, mu, tier_probs, out, err);
}

allot_status allot_policy_predict_batch(const allot_policy *p, allot_workspace *ws,
                                        const allot_query_input *queries, size_t n,
                                        const allot_predict_options *opts, double *tier_probs,
                                        size_t tier_probs_len, allot_decision *out, allot_error *err) {
    if (n == 0) return ALLOT_OK;
    allot_status st = check_call(p, ws, queries, out, tier_probs, tier_probs_len, n, err);
    if (st) return st;
    allot_rule rule;
    double mu;
    st = resolve_options(p, opts, &rule, &mu, err);
    if (st) return st;
    stack_ws s;
    if (!ws) {
        stack_ws_init(&s, p);
        ws = &s.ws;
    }
    for (size_t i = 0; i < n; i++) {
        allot_error sub;
        allot_error_clear(&sub);
        st = predict_core(p, ws, &queries[i], NULL, 0, rule, mu,
                          tier_probs ? tier_probs + i * p->n_tiers : NULL, &out[i], &sub);
        if (st) return allot_error_set(err, st, "query %zu: %s", i, sub.msg);
    }
    return ALLOT_OK;
}
