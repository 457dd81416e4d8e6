/* audit_bundle.c - one policy bundle under audit: load, check, predict (see audit_internal.h). */
#include "audit_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_line.h"
#include "linear_learner.h"
#include "util.h"

void allot_audit_bundle_free(allot_audit_bundle *b) {
    allot_workspace_free(b->ws);
    allot_policy_free(b->rt);
    free(b->tier_probs);
    cJSON_Delete(b->provenance);
    cJSON_Delete(b->train_metrics);
    allot_split_free(&b->sp);
    free(b->col);
    free(b->class_tier);
    free(b->class_cost);
    free(b->acc_te);
    free(b->cost_te);
    free(b->acc_tr);
    free(b->cost_tr);
    free(b->prob_te);
    free(b->price_te);
    free(b->prob_tr);
    free(b->realised_tr);
    free(b->rt_tier_te);
    free(b->len_tr);
    free(b->len_te);
    free(b->score_tr);
    free(b->score_te);
    free(b->train_tier_acc);
    free(b->train_tier_cost);
    allot_hash_set_free(&b->train_ids);
    allot_hash_set_free(&b->train_prompts);
    free(b->leak);
    memset(b, 0, sizeof *b);
}

allot_rule allot_audit_bundle_rule_for(const allot_audit_bundle *b, int report_rule) {
    if (b->value) return ALLOT_RULE_VALUE;
    return report_rule == ALLOT_AUDIT_RULE_ARGMAX ? ALLOT_RULE_ARGMAX : ALLOT_RULE_CALIBRATED;
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
    cJSON *root = allot_json_parse_strict(text, len, path, 0, err);
    free(text);
    if (!root) return err ? err->code : ALLOT_E_PARSE;
    *prov = cJSON_DetachItemFromObjectCaseSensitive(root, "provenance");
    cJSON_Delete(root);
    return ALLOT_OK;
}

/* Was the bundle trained on this very content? By the content digest when the bundle records one
 * (any path, compression or header), else (older bundles) by the file's SHA-256. */
static void decide_mode(allot_audit_bundle *b, const allot_audit_curves_id *id) {
    const cJSON *csha = cJSON_GetObjectItemCaseSensitive(b->provenance, "input_content_sha256");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(b->provenance, "input_sha256");
    int same;
    if (cJSON_IsString(csha) && csha->valuestring[0]) {
        b->identity_by_content = 1;
        same = !strcmp(csha->valuestring, id->content_sha256);
    } else {
        same = cJSON_IsString(sha) && id->file_sha256[0] && !strcmp(sha->valuestring, id->file_sha256);
    }
    b->mode = same ? ALLOT_AUDIT_HELD_OUT : ALLOT_AUDIT_FOREIGN;
}

/* Provenance: at which budget, by which learner, and which file it was trained on. */
static allot_status check_provenance(allot_audit_bundle *b, const allot_audit_curves_id *id,
                                     allot_error *err) {
    cJSON *prov = b->provenance;
    const cJSON *bud = cJSON_GetObjectItemCaseSensitive(prov, "budget");
    const cJSON *lrn = cJSON_GetObjectItemCaseSensitive(prov, "learner");
    const cJSON *tid =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(prov, "split"), "test_ids");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(prov, "validation");
    if (!cJSON_IsNumber(bud) || !cJSON_IsArray(tid))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s: provenance lacks budget or split.test_ids (not written by allot train?)",
                               b->path);
    /* without the out-of-fold block (allot train --no-validation) the runtime's in-sample
     * predictions on the training pool stand in (optimistic; reported) */
    b->in_sample = !(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(val, "ids")) &&
                     cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(val, "prob")));
    decide_mode(b, id);
    b->train_budget = bud->valuedouble;
    cJSON *met = cJSON_DetachItemFromObjectCaseSensitive(prov, "metrics");
    if (cJSON_IsObject(met))
        b->train_metrics = met;
    else
        cJSON_Delete(met);
    snprintf(b->learner, sizeof b->learner, "%s", cJSON_IsString(lrn) ? lrn->valuestring : "?");
    return ALLOT_OK;
}

/* The bundle's tiers on the curves file's columns: the same set of names, in any order. */
static allot_status map_tiers(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    size_t T = allot_policy_n_tiers(b->rt);
    b->col = malloc((T ? T : 1) * sizeof *b->col);
    if (!b->col) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    for (size_t t = 0; t < T; t++) {
        const char *name = allot_policy_tier_name(b->rt, t);
        size_t k = 0;
        while (k < c->n_tiers && strcmp(c->tier_names[k], name)) k++;
        if (k == c->n_tiers)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s: the curves file has no tier '%s' (the policy's tiers must be the "
                                   "curves file's tier set: %zu tiers there, %zu in the policy)",
                                   b->path, name, c->n_tiers, T);
        b->col[t] = k;
    }
    if (c->n_tiers != T) {
        for (size_t k = 0; k < c->n_tiers; k++) {
            size_t t = 0;
            while (t < T && b->col[t] != k) t++;
            if (t == T)
                return allot_error_set(
                    err, ALLOT_E_INVALID,
                    "%s: the curves file's tier '%s' is not one of the policy's (a different "
                    "tier set: %zu tiers there, %zu in the policy)",
                    b->path, c->tier_names[k], c->n_tiers, T);
        }
    }
    b->T = T;
    return ALLOT_OK;
}

/* The runtime's policy: tiers mapped onto the curves file's; rule, price and classes. */
static allot_status load_runtime(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    allot_status st = allot_policy_load_file(b->path, &b->rt, err);
    if (st == ALLOT_OK) st = allot_workspace_create(b->rt, &b->ws, err);
    if (st == ALLOT_OK) st = map_tiers(b, c, err);
    if (st != ALLOT_OK) return st;
    size_t T = b->T;
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

/* Held-out: the split recorded in the provenance. */
static allot_status load_held_out_split(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
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
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "%s was trained on this very curves file with --test-fraction 0: no query of it "
            "is held out (evaluate it on another file)",
            b->path);
    /* the heuristics and the recalibration are fitted on the training pool */
    if (b->sp.n_train == 0)
        return allot_error_set(err, ALLOT_E_INVALID, "%s holds every query out (no training pool)", b->path);
    b->nte = b->sp.n_test;
    b->ntr = b->sp.n_train;
    return ALLOT_OK;
}

/* Foreign: every query of the file is evaluated; the training pool is not in it. */
static allot_status load_foreign_split(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    size_t n = c->n_queries;
    if (!n) return allot_error_set(err, ALLOT_E_INVALID, "the curves file has no queries");
    b->sp.test_idx = malloc(n * sizeof *b->sp.test_idx);
    b->sp.fold = malloc(n * sizeof *b->sp.fold);
    b->sp.train_idx = malloc(sizeof *b->sp.train_idx);
    if (!b->sp.test_idx || !b->sp.fold || !b->sp.train_idx)
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        b->sp.test_idx[i] = i;
        b->sp.fold[i] = -1;
    }
    b->sp.n = b->sp.n_test = n;
    b->nte = n;
    /* the out-of-fold block stands for the training pool (recalibration at other budgets) */
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(b->provenance, "validation");
    b->ntr = b->in_sample ? 0 : (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(val, "prob"));
    return ALLOT_OK;
}

static allot_status load_split(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    return b->mode == ALLOT_AUDIT_HELD_OUT ? load_held_out_split(b, c, err) : load_foreign_split(b, c, err);
}

/* Rows idx of an n x c->n_tiers matrix of the curves file, in the bundle's tier order. */
static double *gather_mapped(const allot_audit_bundle *b, const allot_curves *c, const double *m,
                             const size_t *idx, size_t n) {
    double *out = malloc((n ? n : 1) * b->T * sizeof *out);
    if (!out) return NULL;
    for (size_t j = 0; j < n; j++)
        for (size_t t = 0; t < b->T; t++) out[j * b->T + t] = m[idx[j] * c->n_tiers + b->col[t]];
    return out;
}

/* The per-query arrays of the evaluation set and the training pool. */
static allot_status alloc_views(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    size_t K = b->K, nte = b->nte, ntr = b->ntr ? b->ntr : 1;
    int held = b->mode == ALLOT_AUDIT_HELD_OUT;
    b->acc_te = gather_mapped(b, c, c->acc, b->sp.test_idx, b->nte);
    b->cost_te = gather_mapped(b, c, c->cost, b->sp.test_idx, b->nte);
    if (held) {
        b->acc_tr = gather_mapped(b, c, c->acc, b->sp.train_idx, b->ntr);
        b->cost_tr = gather_mapped(b, c, c->cost, b->sp.train_idx, b->ntr);
    }
    b->prob_te = malloc(nte * K * sizeof(double));
    b->price_te = malloc(nte * K * sizeof(double));
    b->prob_tr = malloc(ntr * K * sizeof(double));
    b->realised_tr = malloc(ntr * K * sizeof(double));
    b->rt_tier_te = malloc(nte * sizeof(size_t));
    b->len_tr = malloc(ntr * sizeof(double));
    b->len_te = malloc(nte * sizeof(double));
    b->score_tr = malloc(ntr * sizeof(double));
    b->score_te = malloc(nte * sizeof(double));
    b->leak = calloc(nte, 1);
    if (!b->acc_te || !b->cost_te || (held && (!b->acc_tr || !b->cost_tr)) || !b->prob_te || !b->price_te ||
        !b->prob_tr || !b->realised_tr || !b->rt_tier_te || !b->len_tr || !b->len_te || !b->score_tr ||
        !b->score_te || !b->leak)
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    for (size_t j = 0; j < nte; j++)
        for (size_t k = 0; k < K; k++) b->price_te[j * K + k] = b->class_cost[k];
    return ALLOT_OK;
}

/* Put `what: ` before err's message (a copy: the message is rewritten in place). */
static allot_status prefix_error(allot_error *err, allot_status st, const char *what) {
    if (!err) return st;
    char tmp[ALLOT_ERROR_MSG_SIZE];
    snprintf(tmp, sizeof tmp, "%s", err->msg);
    return allot_error_set(err, st, "%s: %s", what, tmp);
}

/* Curves query i through the runtime under the bundle's rule and price: its tier and class scores. */
static allot_status runtime_decide(allot_audit_bundle *b, const allot_curves *c, size_t i, double *extras,
                                   float *ebuf, size_t *tier, double *class_prob, allot_error *err) {
    const allot_featurizer *f = allot_policy_featurizer(b->rt);
    const float *emb = NULL;
    allot_status st = allot_curves_query_extras(f, c, i, extras, err);
    if (st == ALLOT_OK) st = allot_curves_query_embedding(f, c, i, ebuf, &emb, err);
    char what[200];
    snprintf(what, sizeof what, "query %.150s", c->ids[i]);
    if (st != ALLOT_OK) return prefix_error(err, st, what);
    size_t ne = allot_featurizer_n_extra(f);
    const char *pr = c->prompts ? c->prompts[i] : NULL;
    allot_query_input q = {
        .prompt = pr, .prompt_len = pr ? strlen(pr) : 0, .extras = ne ? extras : NULL, .n_extras = ne};
    allot_predict_options po = ALLOT_PREDICT_OPTIONS_DEFAULT;
    allot_decision d;
    st = allot_policy_predict_embedded(b->rt, b->ws, &q, emb, emb ? allot_featurizer_embedding_dim(f) : 0,
                                       &po, b->tier_probs, b->T, &d, err);
    if (st != ALLOT_OK) return prefix_error(err, st, what);
    *tier = d.tier;
    for (size_t k = 0; k < b->K; k++) {
        long t = b->class_tier[k];
        class_prob[k] = t >= 0 && (size_t)t < b->T ? b->tier_probs[t] : NAN;
    }
    return ALLOT_OK;
}

/* The evaluation queries through the runtime. */
static allot_status predict_held_out(allot_audit_bundle *b, const allot_curves *c, double *extras,
                                     float *ebuf, allot_error *err) {
    for (size_t j = 0; j < b->nte; j++) {
        size_t i = b->sp.test_idx[j];
        allot_status st =
            runtime_decide(b, c, i, extras, ebuf, &b->rt_tier_te[j], b->prob_te + j * b->K, err);
        if (st != ALLOT_OK) return st;
        b->len_te[j] = c->prompts && c->prompts[i] ? (double)strlen(c->prompts[i]) : 0.0;
        b->score_te[j] = difficulty_score(b, b->prob_te + j * b->K);
    }
    return ALLOT_OK;
}

/* One out-of-fold row of the provenance's validation block into prob_tr row j. */
static allot_status validation_row(allot_audit_bundle *b, size_t j, const cJSON *row, allot_error *err) {
    if (cJSON_GetArraySize(row) != (int)b->K)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s: provenance.validation.prob[%zu] has %d values, not %zu", b->path, j,
                               cJSON_GetArraySize(row), b->K);
    size_t k = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, row) b->prob_tr[j * b->K + k++] = cJSON_IsNumber(v) ? v->valuedouble : 0.0;
    return ALLOT_OK;
}

/* Training-pool class scores (held-out mode): the out-of-fold block matched by id, or in-sample
 * predictions. */
static allot_status training_pool_scores(allot_audit_bundle *b, const allot_curves *c, double *extras,
                                         float *ebuf, allot_error *err) {
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
        allot_status st = ALLOT_OK;
        if (b->in_sample) {
            st = runtime_decide(b, c, i, extras, ebuf, &tier, b->prob_tr + j * K, err);
        } else {
            if (!cJSON_IsString(idj) || strcmp(idj->valuestring, c->ids[i]))
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "%s: provenance.validation row %zu does not match query %s", b->path,
                                       j, c->ids[i]);
            st = validation_row(b, j, row, err);
            idj = idj->next;
            row = row->next;
        }
        if (st != ALLOT_OK) return st;
        for (size_t k = 0; k < K; k++)
            b->realised_tr[j * K + k] = c->cost[i * c->n_tiers + b->col[b->class_tier[k]]];
        b->score_tr[j] = difficulty_score(b, b->prob_tr + j * K);
        b->len_tr[j] = c->prompts && c->prompts[i] ? (double)strlen(c->prompts[i]) : 0.0;
    }
    return ALLOT_OK;
}

/* Foreign mode: the out-of-fold rows as they are (their queries are not in this file); each class
 * costs its price. */
static allot_status validation_scores(allot_audit_bundle *b, allot_error *err) {
    const cJSON *vpr = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(b->provenance, "validation"), "prob");
    size_t j = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, vpr) {
        if (j >= b->ntr) break;
        allot_status st = validation_row(b, j, row, err);
        if (st != ALLOT_OK) return st;
        for (size_t k = 0; k < b->K; k++) b->realised_tr[j * b->K + k] = b->class_cost[k];
        b->score_tr[j] = difficulty_score(b, b->prob_tr + j * b->K);
        b->len_tr[j] = 0;
        j++;
    }
    return ALLOT_OK;
}

/* Both views through the runtime (one scratch vector of extra features). */
static allot_status predict_views(allot_audit_bundle *b, const allot_curves *c, allot_error *err) {
    const allot_featurizer *f = allot_policy_featurizer(b->rt);
    size_t ne = allot_featurizer_n_extra(f), ed = allot_featurizer_embedding_dim(f);
    double *extras = malloc((ne ? ne : 1) * sizeof *extras);
    float *ebuf = malloc((ed ? ed : 1) * sizeof *ebuf);
    allot_status st = extras && ebuf ? ALLOT_OK : allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    if (st == ALLOT_OK) st = predict_held_out(b, c, extras, ebuf, err);
    if (st == ALLOT_OK)
        st = b->mode == ALLOT_AUDIT_HELD_OUT ? training_pool_scores(b, c, extras, ebuf, err)
                                             : validation_scores(b, err);
    free(extras);
    free(ebuf);
    return st;
}

/* provenance.training_pool: the tiers' means (in the bundle's tier order) and the hashes. */
static allot_status load_training_record(allot_audit_bundle *b, allot_error *err) {
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(b->provenance, "training_pool");
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(tp, "tier_mean_acc");
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(tp, "tier_mean_cost");
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(tp, "hashes");
    size_t T = b->T;
    b->train_tier_acc = malloc(T * sizeof(double));
    b->train_tier_cost = malloc(T * sizeof(double));
    if (!b->train_tier_acc || !b->train_tier_cost)
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    if (cJSON_GetArraySize(ma) == (int)T && cJSON_GetArraySize(mc) == (int)T) {
        b->has_train_means = 1;
        for (size_t t = 0; t < T; t++) {
            const cJSON *a = cJSON_GetArrayItem(ma, (int)t), *k = cJSON_GetArrayItem(mc, (int)t);
            if (!cJSON_IsNumber(a) || !cJSON_IsNumber(k))
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "%s: provenance.training_pool.tier_mean_*[%zu]: not a number", b->path,
                                       t);
            b->train_tier_acc[t] = a->valuedouble;
            b->train_tier_cost[t] = k->valuedouble;
        }
    } else if (b->mode == ALLOT_AUDIT_HELD_OUT) { /* an older bundle: the pool is in this file */
        b->has_train_means = 1;
        allot_tier_means(b->acc_tr, b->cost_tr, b->ntr, T, b->train_tier_acc, b->train_tier_cost);
    }
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(hs, "ids"),
                *prs = cJSON_GetObjectItemCaseSensitive(hs, "prompts");
    if (!cJSON_IsString(ids) || !cJSON_IsString(prs)) return ALLOT_OK;
    allot_status st =
        allot_hash_set_parse(ids->valuestring, "provenance.training_pool.hashes.ids", &b->train_ids, err);
    if (st == ALLOT_OK)
        st = allot_hash_set_parse(prs->valuestring, "provenance.training_pool.hashes.prompts",
                                  &b->train_prompts, err);
    if (st != ALLOT_OK) return prefix_error(err, st, b->path);
    b->has_hashes = 1;
    return ALLOT_OK;
}

/* Evaluation queries that also occur in the training data: same id, or byte-identical prompt. */
static void detect_leaks(allot_audit_bundle *b, const allot_curves *c) {
    if (!b->has_hashes) return;
    for (size_t j = 0; j < b->nte; j++) {
        size_t i = b->sp.test_idx[j];
        unsigned char f = 0;
        if (allot_hash_set_has(&b->train_ids, allot_identity_hash(c->ids[i]))) f |= ALLOT_AUDIT_LEAK_ID;
        if (c->prompts && c->prompts[i] &&
            allot_hash_set_has(&b->train_prompts, allot_identity_hash(c->prompts[i])))
            f |= ALLOT_AUDIT_LEAK_PROMPT;
        b->leak[j] = f;
        b->n_leak_id += (f & ALLOT_AUDIT_LEAK_ID) != 0;
        b->n_leak_prompt += (f & ALLOT_AUDIT_LEAK_PROMPT) != 0;
        b->n_leak += f != 0;
    }
}

allot_status allot_audit_bundle_load(allot_audit_bundle *b, const char *path, const allot_curves *c,
                                     const allot_audit_curves_id *id, allot_error *err) {
    memset(b, 0, sizeof *b);
    b->path = path;
    const char *base = strrchr(path, '/');
    snprintf(b->name, sizeof b->name, "%s", base ? base + 1 : path);
    char *dot = strrchr(b->name, '.');
    if (dot && dot != b->name) *dot = '\0';
    allot_status st = read_provenance(path, &b->provenance, err);
    if (st == ALLOT_OK) st = check_provenance(b, id, err);
    if (st == ALLOT_OK) st = load_runtime(b, c, err);
    if (st == ALLOT_OK) st = load_split(b, c, err);
    if (st == ALLOT_OK) st = alloc_views(b, c, err);
    if (st == ALLOT_OK) st = predict_views(b, c, err);
    if (st == ALLOT_OK) st = load_training_record(b, err);
    if (st == ALLOT_OK) detect_leaks(b, c);
    /* the out-of-fold block now lives in prob_tr */
    if (b->provenance) cJSON_DeleteItemFromObjectCaseSensitive(b->provenance, "validation");
    return st;
}

/* ---- a view without the leaked queries ----------------------------------------------------- */

/* Rows keep[j] != 0 of an nte x w matrix. */
static void *keep_rows(const void *m, size_t w, size_t elem, size_t nte, const unsigned char *keep,
                       size_t n_keep) {
    char *out = malloc((n_keep ? n_keep : 1) * w * elem);
    if (!out) return NULL;
    size_t r = 0;
    for (size_t j = 0; j < nte; j++)
        if (keep[j]) memcpy(out + (r++) * w * elem, (const char *)m + j * w * elem, w * elem);
    return out;
}

allot_status allot_audit_bundle_subset(const allot_audit_bundle *b, const unsigned char *keep,
                                       allot_audit_bundle *view, allot_error *err) {
    *view = *b;
    size_t n = 0;
    for (size_t j = 0; j < b->nte; j++) n += keep[j] != 0;
    view->nte = n;
    view->acc_te = keep_rows(b->acc_te, b->T, sizeof(double), b->nte, keep, n);
    view->cost_te = keep_rows(b->cost_te, b->T, sizeof(double), b->nte, keep, n);
    view->prob_te = keep_rows(b->prob_te, b->K, sizeof(double), b->nte, keep, n);
    view->price_te = keep_rows(b->price_te, b->K, sizeof(double), b->nte, keep, n);
    view->rt_tier_te = keep_rows(b->rt_tier_te, 1, sizeof(size_t), b->nte, keep, n);
    view->len_te = keep_rows(b->len_te, 1, sizeof(double), b->nte, keep, n);
    view->score_te = keep_rows(b->score_te, 1, sizeof(double), b->nte, keep, n);
    view->leak = keep_rows(b->leak, 1, 1, b->nte, keep, n);
    if (!view->acc_te || !view->cost_te || !view->prob_te || !view->price_te || !view->rt_tier_te ||
        !view->len_te || !view->score_te || !view->leak) {
        allot_audit_bundle_subset_free(view);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    }
    return ALLOT_OK;
}

void allot_audit_bundle_subset_free(allot_audit_bundle *view) {
    free(view->acc_te);
    free(view->cost_te);
    free(view->prob_te);
    free(view->price_te);
    free(view->rt_tier_te);
    free(view->len_te);
    free(view->score_te);
    free(view->leak);
    memset(view, 0, sizeof *view);
}

/* ---- training again at another budget --------------------------------------------------------- */

static double jget(const cJSON *o, const char *k, double dflt) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : cJSON_IsBool(x) ? (cJSON_IsTrue(x) ? 1 : 0) : dflt;
}

/* An integer parameter: out of int's range (or not an integer) becomes INT_MIN, which every range
 * check of allot_train refuses (converting such a double to int would be undefined). */
static int jget_int(const cJSON *o, const char *k, int dflt) {
    double v = jget(o, k, dflt);
    return v >= INT_MIN + 1.0 && v <= INT_MAX && v == floor(v) ? (int)v : INT_MIN;
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
    x->rounds = jget_int(lp, "max_rounds", x->rounds);
    x->max_depth = jget_int(lp, "max_depth", x->max_depth);
    x->eta = jget(lp, "eta", x->eta);
    x->subsample = jget(lp, "subsample", x->subsample);
    x->min_child_weight = jget(lp, "min_child_weight", x->min_child_weight);
    x->reg_lambda = jget(lp, "lambda", x->reg_lambda);
    x->early_stopping = jget_int(lp, "early_stopping", x->early_stopping);
    x->nthread = jget_int(lp, "nthread", x->nthread);
    x->class_weights = weighting(lp, "class_weights_balanced", x->class_weights);
    x->gap_weights = jget(lp, "gap_weights", 0) != 0;
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
    l->hashed = jget(lp, "hashed", l->hashed) != 0;
}

/* The featuriser's extra features as the comma lists --features and --meta-features take. */
/* Append ",item" (or "item") to buf. */
static allot_status list_add(char *buf, size_t cap, size_t *l, const char *item, const char *suffix,
                             allot_error *err) {
    int w = snprintf(buf + *l, cap - *l, "%s%s%s", *l ? "," : "", item, suffix);
    if (w < 0 || (size_t)w >= cap - *l)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED, "too many feature names");
    *l += (size_t)w;
    return ALLOT_OK;
}

/* The featuriser's extra features as the comma lists --features and --meta-features take: numeric
 * record features and the embedding; meta fields as name:number or name:category (so that a retrain
 * reads them as the bundle does). */
static allot_status feature_lists(const allot_audit_bundle *b, allot_train_options *o, char *feat,
                                  size_t feat_cap, char *meta, size_t meta_cap, allot_error *err) {
    const allot_featurizer *f = allot_policy_featurizer(b->rt);
    o->hash_dim = allot_featurizer_hash_dim(f) ? allot_featurizer_hash_dim(f) : o->hash_dim;
    size_t fl = 0, ml = 0, n_ind = 0;
    feat[0] = meta[0] = '\0';
    allot_status st = ALLOT_OK;
    for (size_t k = 0; k < allot_featurizer_n_categorical(f); k++) {
        size_t nv = 0;
        st =
            list_add(meta, meta_cap, &ml, allot_featurizer_categorical_name(f, k, &nv) + 5, ":category", err);
        n_ind += nv;
        if (st != ALLOT_OK) return st;
    }
    size_t n_numeric = allot_featurizer_n_extra(f) - n_ind; /* the indicators follow the numeric extras */
    for (size_t e = 0; e < n_numeric && st == ALLOT_OK; e++) {
        const char *name = allot_featurizer_extra_name(f, e);
        if (!strncmp(name, "meta.", 5))
            st = list_add(meta, meta_cap, &ml, name + 5, ":number", err);
        else
            st = list_add(feat, feat_cap, &fl, !strncmp(name, "features.", 9) ? name + 9 : name, "", err);
    }
    const char *emb = allot_featurizer_embedding_name(f);
    if (st == ALLOT_OK && emb) st = list_add(feat, feat_cap, &fl, emb + 9, "", err);
    o->features = feat;
    o->meta_features = ml ? meta : NULL;
    return st;
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
    o->folds = jget_int(sp, "folds", 5);
    o->test_part = jget_int(sp, "test_part", 0);
    o->test_parts = jget_int(sp, "test_parts", 0);
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
