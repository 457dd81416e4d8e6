/* audit_bundle.c - one policy bundle under audit: load, check, predict (see audit_internal.h). */
#include "audit_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linear_learner.h"
#include "util.h"

void allot_audit_bundle_free(allot_audit_bundle *b) {
    allot_workspace_free(b->ws);
    allot_policy_free(b->rt);
    free(b->tier_probs);
    cJSON_Delete(b->provenance);
    cJSON_Delete(b->train_metrics);
    allot_split_free(&b->sp);
    free(b->class_tier);
    free(b->class_cost);
    free(b->acc_te);
    free(b->cost_te);
    free(b->acc_tr);
    free(b->cost_tr);
    free(b->prob_te);
    free(b->prob_tr);
    free(b->realised_tr);
    free(b->rt_tier_te);
    free(b->len_tr);
    free(b->len_te);
    free(b->score_tr);
    free(b->score_te);
    memset(b, 0, sizeof *b);
}

allot_rule allot_audit_bundle_rule_for(const allot_audit_bundle *b, int report_rule) {
    if (b->value) return ALLOT_RULE_VALUE;
    return report_rule == ALLOT_AUDIT_RULE_CALIBRATED ? ALLOT_RULE_CALIBRATED : ALLOT_RULE_ARGMAX;
}

/* Predicted difficulty of one query: the expected class cost sum_c p(c|x) cost_c for classifiers;
 * for value policies 1 - the mean predicted accuracy over tiers. Only its order matters (bins). */
static double difficulty_score(const allot_audit_bundle *b, const double *score) {
    double e = 0;
    if (b->value) {
        for (size_t k = 0; k < b->K; k++) e += score[k];
        return 1.0 - e / (double)b->K;
    }
    for (size_t k = 0; k < b->K; k++) e += score[k] * b->class_cost[k];
    return e;
}

/* ---- loading, step by step ------------------------------------------------------------------ */

/* The bundle's provenance (detached; the rest of the document is dropped). */
static allot_status read_provenance(const char *path, cJSON **prov, allot_error *err) {
    char *text = NULL;
    size_t len = 0;
    allot_status st = allot_read_file(path, ALLOT_AUDIT_MAX_BUNDLE_BYTES, &text, &len, err);
    if (st != ALLOT_OK) return st;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return allot_error_set(err, ALLOT_E_PARSE, "%s: not valid JSON", path);
    *prov = cJSON_DetachItemFromObjectCaseSensitive(root, "provenance");
    cJSON_Delete(root);
    return ALLOT_OK;
}

/* Provenance: trained on this curves file, at which budget, by which learner. */
static allot_status check_provenance(allot_audit_bundle *b, const char *curves_sha, allot_error *err) {
    cJSON *prov = b->provenance;
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(prov, "input_sha256");
    const cJSON *bud = cJSON_GetObjectItemCaseSensitive(prov, "budget");
    const cJSON *lrn = cJSON_GetObjectItemCaseSensitive(prov, "learner");
    const cJSON *tid =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(prov, "split"), "test_ids");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(prov, "validation");
    if (!cJSON_IsString(sha) || !cJSON_IsNumber(bud) || !cJSON_IsArray(tid))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s: provenance lacks input_sha256, budget or split.test_ids (not written by "
                               "allot train?)",
                               b->path);
    /* without the out-of-fold block (allot train --no-validation) the runtime's in-sample
     * predictions on the training pool stand in (optimistic; reported) */
    b->in_sample = !(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(val, "ids")) &&
                     cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(val, "prob")));
    if (strcmp(sha->valuestring, curves_sha))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s was trained on a different curves file (SHA-256 %.12s..., this file "
                               "%.12s...): its held-out split would not be held out",
                               b->path, sha->valuestring, curves_sha);
    b->train_budget = bud->valuedouble;
    cJSON *met = cJSON_DetachItemFromObjectCaseSensitive(prov, "metrics");
    if (cJSON_IsObject(met))
        b->train_metrics = met;
    else
        cJSON_Delete(met);
    snprintf(b->learner, sizeof b->learner, "%s", cJSON_IsString(lrn) ? lrn->valuestring : "?");
    return ALLOT_OK;
}

/* The runtime's policy: same tiers as the curves file; rule, price and classes. */
static allot_status load_runtime(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    allot_status st = allot_policy_load_file(b->path, &b->rt, err);
    if (st == ALLOT_OK) st = allot_workspace_create(b->rt, &b->ws, err);
    if (st != ALLOT_OK) return st;
    size_t T = c->n_tiers;
    if (allot_policy_n_tiers(b->rt) != T)
        return allot_error_set(err, ALLOT_E_INVALID, "%s has %zu tiers, the curves file %zu", b->path,
                               allot_policy_n_tiers(b->rt), T);
    for (size_t t = 0; t < T; t++)
        if (strcmp(allot_policy_tier_name(b->rt, t), c->tier_names[t]))
            return allot_error_set(err, ALLOT_E_INVALID, "%s: tier %zu is '%s', the curves file's '%s'",
                                   b->path, t, allot_policy_tier_name(b->rt, t), c->tier_names[t]);
    b->T = T;
    b->K = allot_policy_n_classes(b->rt);
    b->bundle_rule = allot_policy_rule(b->rt);
    b->bundle_mu = allot_policy_mu(b->rt);
    b->value = allot_policy_target_kind(b->rt) == ALLOT_TARGET_VALUE;
    b->tier_probs = malloc((T ? T : 1) * sizeof *b->tier_probs);
    b->class_tier = malloc((b->K ? b->K : 1) * sizeof *b->class_tier);
    b->class_cost = malloc((b->K ? b->K : 1) * sizeof *b->class_cost);
    if (!b->tier_probs || !b->class_tier || !b->class_cost)
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    for (size_t k = 0; k < b->K; k++) {
        long t = allot_policy_class_tier(b->rt, k);
        b->class_tier[k] = (int)t;
        b->class_cost[k] = allot_policy_tier_cost(b->rt, (size_t)t);
    }
    return ALLOT_OK;
}

/* The held-out split recorded in the provenance. */
static allot_status load_split(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(b->provenance, "split"), "test_ids");
    size_t nt = (size_t)cJSON_GetArraySize(tid), j = 0;
    const char **tids = malloc((nt ? nt : 1) * sizeof *tids);
    if (!tids) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, tid) {
        if (!cJSON_IsString(e)) {
            free(tids);
            return allot_error_set(err, ALLOT_E_INVALID, "%s: provenance.split.test_ids[%zu] is not a string",
                                   b->path, j);
        }
        tids[j++] = e->valuestring;
    }
    allot_status st = allot_split_from_test_ids(c, tids, nt, &b->sp, err);
    free(tids);
    if (st != ALLOT_OK) return st;
    if (b->sp.n_test == 0)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s has no held-out queries (trained with --test-fraction 0)", b->path);
    /* the heuristics and the recalibration are fitted on the training pool */
    if (b->sp.n_train == 0)
        return allot_error_set(err, ALLOT_E_INVALID, "%s holds every query out (no training pool)", b->path);
    b->nte = b->sp.n_test;
    b->ntr = b->sp.n_train;
    return ALLOT_OK;
}

/* The per-query arrays of both views. */
static allot_status alloc_views(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    size_t T = b->T, K = b->K, nte = b->nte, ntr = b->ntr ? b->ntr : 1;
    b->acc_te = allot_gather_rows(c->acc, T, b->sp.test_idx, b->nte);
    b->cost_te = allot_gather_rows(c->cost, T, b->sp.test_idx, b->nte);
    b->acc_tr = allot_gather_rows(c->acc, T, b->sp.train_idx, b->ntr);
    b->cost_tr = allot_gather_rows(c->cost, T, b->sp.train_idx, b->ntr);
    b->prob_te = malloc(nte * K * sizeof(double));
    b->prob_tr = malloc(ntr * K * sizeof(double));
    b->realised_tr = malloc(ntr * K * sizeof(double));
    b->rt_tier_te = malloc(nte * sizeof(size_t));
    b->len_tr = malloc(ntr * sizeof(double));
    b->len_te = malloc(nte * sizeof(double));
    b->score_tr = malloc(ntr * sizeof(double));
    b->score_te = malloc(nte * sizeof(double));
    if (!b->acc_te || !b->cost_te || !b->acc_tr || !b->cost_tr || !b->prob_te || !b->prob_tr ||
        !b->realised_tr || !b->rt_tier_te || !b->len_tr || !b->len_te || !b->score_tr || !b->score_te)
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    return ALLOT_OK;
}

/* Curves query i through the runtime under the bundle's rule and price: its tier and class scores. */
static allot_status runtime_decide(allot_audit_bundle *b, const allot_curves *c, size_t i, double *extras,
                                   size_t *tier, double *class_prob, allot_error *err) {
    const allot_featurizer *f = allot_policy_featurizer(b->rt);
    allot_status st = allot_curves_query_extras(f, c, i, extras, err);
    if (st != ALLOT_OK) return st;
    size_t ne = allot_featurizer_n_extra(f);
    const char *pr = c->prompts ? c->prompts[i] : NULL;
    allot_query_input q = {pr, pr ? strlen(pr) : 0, ne ? extras : NULL, ne};
    allot_predict_options po = ALLOT_PREDICT_OPTIONS_DEFAULT;
    allot_decision d;
    st = allot_policy_predict(b->rt, b->ws, &q, &po, b->tier_probs, b->T, &d, err);
    if (st != ALLOT_OK) return st;
    *tier = d.tier;
    for (size_t k = 0; k < b->K; k++) {
        long t = b->class_tier[k];
        class_prob[k] = t >= 0 && (size_t)t < b->T ? b->tier_probs[t] : NAN;
    }
    return ALLOT_OK;
}

/* The held-out queries through the runtime. */
static allot_status predict_held_out(allot_audit_bundle *b, const allot_curves *c, double *extras,
                                     allot_error *err) {
    for (size_t j = 0; j < b->nte; j++) {
        size_t i = b->sp.test_idx[j];
        allot_status st = runtime_decide(b, c, i, extras, &b->rt_tier_te[j], b->prob_te + j * b->K, err);
        if (st != ALLOT_OK) return st;
        b->len_te[j] = c->prompts && c->prompts[i] ? (double)strlen(c->prompts[i]) : 0.0;
        b->score_te[j] = difficulty_score(b, b->prob_te + j * b->K);
    }
    return ALLOT_OK;
}

/* Training-pool class scores: the out-of-fold block matched by id, or in-sample predictions. */
static allot_status training_pool_scores(allot_audit_bundle *b, const allot_curves *c, double *extras,
                                         allot_error *err) {
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(b->provenance, "validation");
    const cJSON *vid = cJSON_GetObjectItemCaseSensitive(val, "ids");
    const cJSON *vpr = cJSON_GetObjectItemCaseSensitive(val, "prob");
    size_t K = b->K, nv = b->in_sample ? b->ntr : (size_t)cJSON_GetArraySize(vid);
    if (nv != b->ntr || (!b->in_sample && (size_t)cJSON_GetArraySize(vpr) != nv))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s: provenance.validation has %zu ids, the training pool %zu", b->path, nv,
                               b->ntr);
    /* train rows are in curves order; validation ids were written in the same order by allot train */
    const cJSON *idj = b->in_sample ? NULL : vid->child, *row = b->in_sample ? NULL : vpr->child;
    for (size_t j = 0; j < nv; j++) {
        size_t i = b->sp.train_idx[j], tier;
        if (b->in_sample) {
            allot_status st = runtime_decide(b, c, i, extras, &tier, b->prob_tr + j * K, err);
            if (st != ALLOT_OK) return st;
        } else {
            if (!cJSON_IsString(idj) || strcmp(idj->valuestring, c->ids[i]) ||
                cJSON_GetArraySize(row) != (int)K)
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "%s: provenance.validation row %zu does not match query %s", b->path,
                                       j, c->ids[i]);
            size_t k = 0;
            const cJSON *v;
            cJSON_ArrayForEach(v, row) b->prob_tr[j * K + k++] = cJSON_IsNumber(v) ? v->valuedouble : 0.0;
            idj = idj->next;
            row = row->next;
        }
        for (size_t k = 0; k < K; k++)
            b->realised_tr[j * K + k] = c->cost[i * b->T + (size_t)b->class_tier[k]];
        b->score_tr[j] = difficulty_score(b, b->prob_tr + j * K);
        b->len_tr[j] = c->prompts && c->prompts[i] ? (double)strlen(c->prompts[i]) : 0.0;
    }
    return ALLOT_OK;
}

/* Both views through the runtime (one scratch vector of extra features). */
static allot_status predict_views(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    size_t ne = allot_featurizer_n_extra(allot_policy_featurizer(b->rt));
    double *extras = malloc((ne ? ne : 1) * sizeof *extras);
    if (!extras) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    allot_status st = predict_held_out(b, c, extras, err);
    if (st == ALLOT_OK) st = training_pool_scores(b, c, extras, err);
    free(extras);
    return st;
}

allot_status allot_audit_bundle_load(allot_audit_bundle *b, const char *path, const allot_curves *c,
                                     const char *curves_sha, allot_error *err) {
    memset(b, 0, sizeof *b);
    b->path = path;
    const char *base = strrchr(path, '/');
    snprintf(b->name, sizeof b->name, "%s", base ? base + 1 : path);
    char *dot = strrchr(b->name, '.');
    if (dot && dot != b->name) *dot = '\0';
    allot_status st = read_provenance(path, &b->provenance, err);
    if (st == ALLOT_OK) st = check_provenance(b, curves_sha, err);
    if (st == ALLOT_OK) st = load_runtime(b, c, err);
    if (st == ALLOT_OK) st = load_split(b, c, err);
    if (st == ALLOT_OK) st = alloc_views(b, c, err);
    if (st == ALLOT_OK) st = predict_views(b, c, err);
    /* the out-of-fold block now lives in prob_tr */
    if (b->provenance) cJSON_DeleteItemFromObjectCaseSensitive(b->provenance, "validation");
    return st;
}

/* ---- training again at another budget --------------------------------------------------------- */

static double jget(const cJSON *o, const char *k, double dflt) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : cJSON_IsBool(x) ? (cJSON_IsTrue(x) ? 1 : 0) : dflt;
}

/* provenance.seed: a JSON number (<= 2^53) or a decimal string (any uint64); absent: 1. */
static allot_status provenance_seed(const allot_audit_bundle *b, uint64_t *seed, allot_error *err) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(b->provenance, "seed");
    *seed = 1;
    if (!s || cJSON_IsNull(s)) return ALLOT_OK;
    if (cJSON_IsNumber(s) && s->valuedouble >= 0 && s->valuedouble < 18446744073709551616.0 &&
        s->valuedouble == floor(s->valuedouble)) {
        *seed = (uint64_t)s->valuedouble;
        return ALLOT_OK;
    }
    if (cJSON_IsString(s) && s->valuestring[0] >= '0' && s->valuestring[0] <= '9') {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s->valuestring, &end, 10);
        if (!errno && !*end) {
            *seed = (uint64_t)v;
            return ALLOT_OK;
        }
    }
    return allot_error_set(
        err, ALLOT_E_INVALID,
        "%s: provenance.seed: expected a non-negative integer (a number, or a decimal string)", b->path);
}

/* The class weighting: learner_params.class_weighting ("none", "balanced", "sqrt"), else the older
 * boolean `key` (balanced or none). */
static int weighting(const cJSON *lp, const char *key, int dflt) {
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(lp, "class_weighting");
    if (cJSON_IsString(w))
        return !strcmp(w->valuestring, "none")   ? ALLOT_WEIGHTS_NONE
               : !strcmp(w->valuestring, "sqrt") ? ALLOT_WEIGHTS_SQRT
                                                 : ALLOT_WEIGHTS_BALANCED;
    return jget(lp, key, dflt != ALLOT_WEIGHTS_NONE) ? ALLOT_WEIGHTS_BALANCED : ALLOT_WEIGHTS_NONE;
}

/* provenance.learner_params of an XGBoost bundle. */
static void xgb_params(const cJSON *lp, allot_xgb_params *x) {
    x->rounds = (int)jget(lp, "max_rounds", x->rounds);
    x->max_depth = (int)jget(lp, "max_depth", x->max_depth);
    x->eta = jget(lp, "eta", x->eta);
    x->subsample = jget(lp, "subsample", x->subsample);
    x->min_child_weight = jget(lp, "min_child_weight", x->min_child_weight);
    x->reg_lambda = jget(lp, "lambda", x->reg_lambda);
    x->early_stopping = (int)jget(lp, "early_stopping", x->early_stopping);
    x->nthread = (int)jget(lp, "nthread", x->nthread);
    x->class_weights = weighting(lp, "class_weights_balanced", x->class_weights);
    x->gap_weights = (int)jget(lp, "gap_weights", 0);
}

/* provenance.learner_params of a LIBLINEAR bundle. */
static void linear_params(const cJSON *lp, allot_linear_params *l) {
    const cJSON *solver = cJSON_GetObjectItemCaseSensitive(lp, "solver");
    if (cJSON_IsString(solver) && allot_linear_solver_parse(solver->valuestring) >= 0)
        l->solver = allot_linear_solver_parse(solver->valuestring);
    if (!jget(lp, "C_by_cv", 1)) l->C = jget(lp, "C", 1);
    l->c_min = jget(lp, "C_min", jget(lp, "C_start", l->c_min));
    l->c_max = jget(lp, "C_max", l->c_max);
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(lp, "C_search");
    l->liblinear_search = cJSON_IsString(cs) && strstr(cs->valuestring, "find_parameters") != NULL;
    l->eps = jget(lp, "eps", 0);
    l->bias = jget(lp, "bias", l->bias);
    l->class_weights = weighting(lp, "class_weights", l->class_weights);
    l->hashed = (int)jget(lp, "hashed", l->hashed);
}

/* The featuriser's extra features as the comma lists --features and --meta-features take. */
static allot_status feature_lists(const allot_audit_bundle *b, allot_train_options *o, char *feat,
                                  size_t feat_cap, char *meta, size_t meta_cap, allot_error *err) {
    const allot_featurizer *f = allot_policy_featurizer(b->rt);
    o->hash_dim = allot_featurizer_hash_dim(f) ? allot_featurizer_hash_dim(f) : o->hash_dim;
    size_t fl = 0, ml = 0;
    feat[0] = meta[0] = '\0';
    for (size_t e = 0; e < allot_featurizer_n_extra(f); e++) {
        const char *name = allot_featurizer_extra_name(f, e);
        int is_f = !strncmp(name, "features.", 9), is_m = !strncmp(name, "meta.", 5);
        const char *bare = is_f ? name + 9 : is_m ? name + 5 : name;
        char *buf = is_m ? meta : feat;
        size_t *l = is_m ? &ml : &fl, cap = is_m ? meta_cap : feat_cap;
        int w = snprintf(buf + *l, cap - *l, "%s%s", *l ? "," : "", bare);
        if (w < 0 || (size_t)w >= cap - *l)
            return allot_error_set(err, ALLOT_E_UNSUPPORTED, "too many feature names");
        *l += (size_t)w;
    }
    o->features = feat;
    o->meta_features = ml ? meta : NULL;
    return ALLOT_OK;
}

/* Everything allot train needs to train the bundle again (the rule: the bundle's, or for a value
 * bundle, whose rule is "value" either way, the training option recorded in the provenance). */
allot_status allot_audit_train_options(const allot_audit_bundle *b, allot_train_options *o, char *feat,
                                       size_t feat_cap, char *meta, size_t meta_cap, allot_error *err) {
    allot_train_options_default(o);
    const cJSON *prov = b->provenance;
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(prov, "split");
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(prov, "target");
    const cJSON *ro = cJSON_GetObjectItemCaseSensitive(prov, "rule_option");
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(prov, "learner_params");
    allot_status st = provenance_seed(b, &o->seed, err);
    if (st != ALLOT_OK) return st;
    o->learner = !strcmp(b->learner, "liblinear") ? ALLOT_LEARNER_LIBLINEAR : ALLOT_LEARNER_XGBOOST;
    o->test_fraction = jget(sp, "test_fraction", 0.2);
    o->folds = (int)jget(sp, "folds", 5);
    o->target = cJSON_IsString(tg) && !strcmp(tg->valuestring, "value") ? ALLOT_TARGET_TIER_VALUE
                                                                        : ALLOT_TARGET_TIER_LABEL;
    int argmax = b->value ? cJSON_IsString(ro) && !strcmp(ro->valuestring, "argmax")
                          : b->bundle_rule == ALLOT_RULE_ARGMAX;
    o->rule = argmax ? ALLOT_RULE_ARGMAX : ALLOT_RULE_CALIBRATED;
    xgb_params(lp, &o->xgb);
    linear_params(lp, &o->linear);
    o->no_validation = 0;
    o->progress = 0;
    return feature_lists(b, o, feat, feat_cap, meta, meta_cap, err);
}
