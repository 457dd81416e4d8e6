/* provenance.c - the provenance object of a trained bundle (see provenance.h). */
#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <linear.h>

#include "identity.h"
#include "linear_learner.h"
#include "seed.h"
#include "uniform.h"

static const char *basename_of(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int is_value(const allot_provenance *p) {
    return p->opt->target == ALLOT_TARGET_TIER_VALUE;
}

static const char *weighting_name(int w) {
    return w == ALLOT_WEIGHTS_NONE ? "none" : w == ALLOT_WEIGHTS_SQRT ? "sqrt" : "balanced";
}

static void add_xgboost_params(cJSON *lp, const allot_provenance *p) {
    const allot_xgb_params *x = &p->opt->xgb;
    cJSON_AddStringToObject(lp, "objective",
                            is_value(p)              ? "reg:logistic"
                            : p->rep->n_classes == 2 ? "binary:logistic"
                                                     : "multi:softprob");
    cJSON_AddNumberToObject(lp, "max_rounds", x->rounds);
    cJSON_AddNumberToObject(lp, "rounds", p->rep->rounds_used);
    cJSON_AddNumberToObject(lp, "max_depth", x->max_depth);
    cJSON_AddNumberToObject(lp, "eta", x->eta);
    cJSON_AddNumberToObject(lp, "subsample", x->subsample);
    cJSON_AddNumberToObject(lp, "min_child_weight", x->min_child_weight);
    cJSON_AddNumberToObject(lp, "lambda", x->reg_lambda);
    cJSON_AddNumberToObject(lp, "early_stopping", x->early_stopping);
    cJSON_AddNumberToObject(lp, "nthread", x->nthread);
    cJSON_AddBoolToObject(lp, "class_weights_balanced", x->class_weights == ALLOT_WEIGHTS_BALANCED);
    cJSON_AddStringToObject(lp, "class_weighting", weighting_name(x->class_weights));
    cJSON_AddBoolToObject(lp, "gap_weights", x->gap_weights);
    cJSON_AddStringToObject(lp, "tree_method", "hist");
}

static void add_liblinear_params(cJSON *lp, const allot_provenance *p) {
    const allot_linear_params *l = &p->opt->linear;
    /* the value target's regressions always use L2R_L2LOSS_SVR (linear_learner.h) */
    cJSON_AddStringToObject(lp, "solver", allot_linear_solver_name(is_value(p) ? L2R_L2LOSS_SVR : l->solver));
    if (is_value(p)) cJSON_AddNumberToObject(lp, "svr_p", 0);
    cJSON_AddNumberToObject(lp, "C", p->rep->chosen_C);
    cJSON_AddBoolToObject(lp, "C_by_cv", l->C <= 0);
    if (l->C <= 0 && l->liblinear_search) {
        cJSON_AddStringToObject(lp, "C_search", "liblinear find_parameters");
        cJSON_AddNumberToObject(lp, "C_start", l->c_min);
    } else if (l->C <= 0) {
        cJSON_AddStringToObject(lp, "C_search", "seeded k-fold grid");
        cJSON_AddNumberToObject(lp, "C_min", l->c_min);
        cJSON_AddNumberToObject(lp, "C_max", l->c_max);
    }
    cJSON_AddNumberToObject(lp, "eps", l->eps);
    cJSON_AddNumberToObject(lp, "bias", l->bias);
    cJSON_AddBoolToObject(lp, "class_weights", l->class_weights == ALLOT_WEIGHTS_BALANCED);
    cJSON_AddStringToObject(lp, "class_weighting", weighting_name(l->class_weights));
    cJSON_AddBoolToObject(lp, "hashed", p->hashed);
}

static void add_learner_params(cJSON *prov, const allot_provenance *p) {
    int is_xgb = p->opt->learner == ALLOT_LEARNER_XGBOOST;
    cJSON *lp = cJSON_AddObjectToObject(prov, "learner_params");
    if (p->uniform) { /* the uniform mix at the budget, chosen on the training pool */
        const allot_uniform_mix *m = p->uniform;
        cJSON_AddStringToObject(lp, "tier_lo", p->curves->tier_names[m->lo]);
        cJSON_AddStringToObject(lp, "tier_hi", p->curves->tier_names[m->hi]);
        cJSON_AddNumberToObject(lp, "weight_hi", m->w);
        cJSON_AddStringToObject(lp, "draw", "a hash of the prompt (allot_mixture_draw)");
        return;
    }
    if (is_value(p)) {
        /* per-tier figures of the value target's regressors */
        cJSON *a = cJSON_AddArrayToObject(lp, is_xgb ? "rounds_per_tier" : "C_per_tier");
        for (size_t t = 0; t < p->curves->n_tiers; t++)
            cJSON_AddItemToArray(
                a, cJSON_CreateNumber(is_xgb ? (double)p->rounds_per_tier[t] : p->C_per_tier[t]));
    }
    if (is_xgb)
        add_xgboost_params(lp, p);
    else
        add_liblinear_params(lp, p);
}

static void add_split(cJSON *prov, const allot_provenance *p) {
    const allot_split *sp = p->split;
    cJSON *spj = cJSON_AddObjectToObject(prov, "split");
    cJSON_AddNumberToObject(spj, "test_fraction", sp->test_fraction);
    if (p->opt->test_parts >= 2) {
        cJSON_AddNumberToObject(spj, "test_part", p->opt->test_part);
        cJSON_AddNumberToObject(spj, "test_parts", p->opt->test_parts);
    }
    cJSON_AddNumberToObject(spj, "folds", p->opt->folds);
    allot_seed_add_to_object(spj, "seed", p->opt->seed);
    cJSON_AddNumberToObject(spj, "n_train", (double)sp->n_train);
    cJSON_AddNumberToObject(spj, "n_test", (double)sp->n_test);
    cJSON *tid = cJSON_AddArrayToObject(spj, "test_ids");
    for (size_t j = 0; j < sp->n_test; j++)
        cJSON_AddItemToArray(tid, cJSON_CreateString(p->curves->ids[sp->test_idx[j]]));
}

/* How many training queries have each tier in tiers (split->n_train entries). */
static void add_counts(cJSON *o, const char *key, const allot_provenance *p, const int *tiers) {
    cJSON *cnt = cJSON_AddArrayToObject(o, key);
    for (size_t t = 0; t < p->curves->n_tiers; t++) {
        size_t k = 0;
        for (size_t j = 0; j < p->split->n_train; j++) k += (size_t)tiers[j] == t;
        cJSON_AddItemToArray(cnt, cJSON_CreateNumber((double)k));
    }
}

static void add_oracle(cJSON *prov, const allot_provenance *p) {
    cJSON *orc = cJSON_AddObjectToObject(prov, "oracle_train");
    cJSON_AddNumberToObject(orc, "lambda", p->rep->oracle_lambda);
    cJSON_AddNumberToObject(orc, "mean_acc", p->rep->oracle_train_acc);
    cJSON_AddNumberToObject(orc, "mean_cost", p->rep->oracle_train_cost);
    add_counts(orc, "tier_counts", p, p->oracle_tiers);
    if (is_value(p) || p->uniform) return;
    /* the labels the classifier learned: the oracle's tiers with their ties broken */
    cJSON *lab = cJSON_AddObjectToObject(prov, "labels");
    cJSON_AddStringToObject(lab, "ties", p->opt->label_ties == ALLOT_TIES_ORACLE ? "oracle" : "pool");
    cJSON_AddNumberToObject(lab, "moved", (double)p->rep->labels_moved);
    add_counts(lab, "tier_counts", p, p->tier_labels);
}

static void add_metrics(cJSON *prov, const allot_train_report *r) {
    cJSON *met = cJSON_AddObjectToObject(prov, "metrics");
    cJSON_AddNumberToObject(met, "labels_moved", (double)r->labels_moved);
    cJSON_AddNumberToObject(met, "cv_imitation_argmax", r->cv_imitation);
    cJSON_AddNumberToObject(met, "cv_imitation_calibrated", r->cv_imitation_calibrated);
    cJSON_AddNumberToObject(met, "oof_acc_argmax", r->oof_acc_argmax);
    cJSON_AddNumberToObject(met, "oof_cost_argmax", r->oof_cost_argmax);
    cJSON_AddNumberToObject(met, "oof_acc_calibrated", r->oof_acc_calibrated);
    cJSON_AddNumberToObject(met, "oof_cost_calibrated", r->oof_cost_calibrated);
    cJSON_AddNumberToObject(met, "mu", r->mu);
    if (!r->n_test) { /* --test-fraction 0: no held-out figures (not zeros) */
        cJSON_AddStringToObject(met, "held_out", "none (--test-fraction 0)");
        return;
    }
    cJSON_AddNumberToObject(met, "test_imitation_argmax", r->test_imitation_argmax);
    cJSON_AddNumberToObject(met, "test_imitation_calibrated", r->test_imitation_calibrated);
    cJSON_AddNumberToObject(met, "test_acc_argmax", r->test_acc_argmax);
    cJSON_AddNumberToObject(met, "test_cost_argmax", r->test_cost_argmax);
    cJSON_AddNumberToObject(met, "test_acc_calibrated", r->test_acc_calibrated);
    cJSON_AddNumberToObject(met, "test_cost_calibrated", r->test_cost_calibrated);
    cJSON_AddNumberToObject(met, "test_oracle_acc", r->test_oracle_acc);
    cJSON_AddNumberToObject(met, "test_oracle_cost", r->test_oracle_cost);
}

/* 64-bit hashes of the training pool's ids and prompts (identity.h), as one hex string each: what an
 * audit on another file needs to find the queries it shares with the training data. */
static int add_hashes(cJSON *tp, const allot_provenance *p) {
    const allot_curves *c = p->curves;
    const allot_split *sp = p->split;
    uint64_t *h = malloc((sp->n_train ? sp->n_train : 1) * sizeof *h);
    if (!h) return -1;
    cJSON *hs = cJSON_AddObjectToObject(tp, "hashes");
    cJSON_AddStringToObject(hs, "function", "sha256-64");
    int bad = 0;
    for (int kind = 0; kind < 2 && !bad; kind++) {
        size_t n = 0;
        for (size_t j = 0; j < sp->n_train; j++) {
            size_t i = sp->train_idx[j];
            const char *s = kind == 0 ? c->ids[i] : c->prompts ? c->prompts[i] : NULL;
            if (s) h[n++] = allot_identity_hash(s);
        }
        allot_hash_set set;
        char *hex = NULL;
        if (allot_hash_set_make(h, n, &set, NULL) == ALLOT_OK) hex = allot_hash_set_hex(&set);
        allot_hash_set_free(&set);
        if (hex) cJSON_AddStringToObject(hs, kind == 0 ? "ids" : "prompts", hex);
        bad = hex == NULL;
        free(hex);
    }
    free(h);
    return bad ? -1 : 0;
}

/* What the training pool looked like: each tier's mean accuracy and cost (the deployable uniform
 * baseline at any budget, trainer/solve/uniform.h), the uniform mix at the training budget, and the
 * hashes of its ids and prompts. */
static int add_training_pool(cJSON *prov, const allot_provenance *p) {
    const allot_curves *c = p->curves;
    size_t T = c->n_tiers, nt = p->split->n_train;
    double *acc = allot_gather_rows(c->acc, T, p->split->train_idx, nt);
    double *cost = allot_gather_rows(c->cost, T, p->split->train_idx, nt);
    double *ta = malloc(T * sizeof *ta), *tc = malloc(T * sizeof *tc);
    int bad = !acc || !cost || !ta || !tc;
    if (!bad) {
        allot_tier_means(acc, cost, nt, T, ta, tc);
        cJSON *tp = cJSON_AddObjectToObject(prov, "training_pool");
        cJSON_AddNumberToObject(tp, "n", (double)nt);
        cJSON *ma = cJSON_AddArrayToObject(tp, "tier_mean_acc"),
              *mc = cJSON_AddArrayToObject(tp, "tier_mean_cost");
        for (size_t t = 0; t < T; t++) {
            cJSON_AddItemToArray(ma, cJSON_CreateNumber(ta[t]));
            cJSON_AddItemToArray(mc, cJSON_CreateNumber(tc[t]));
        }
        allot_uniform_mix m;
        if (T <= ALLOT_UNIFORM_MAX_TIERS &&
            allot_uniform_mix_choose(acc, cost, nt, T, p->opt->budget, &m) == 0) {
            cJSON *u = cJSON_AddObjectToObject(tp, "uniform");
            cJSON_AddStringToObject(u, "tier_lo", c->tier_names[m.lo]);
            cJSON_AddStringToObject(u, "tier_hi", c->tier_names[m.hi]);
            cJSON_AddNumberToObject(u, "weight_hi", m.w);
            cJSON_AddNumberToObject(u, "acc", m.acc);
            cJSON_AddNumberToObject(u, "cost", m.cost);
        }
        bad = add_hashes(tp, p);
    }
    free(acc);
    free(cost);
    free(ta);
    free(tc);
    return bad ? -1 : 0;
}

/* The training pool's out-of-fold predictions: the audit recalibrates mu for other budgets and
 * bins queries by predicted difficulty on them, never touching the held-out queries. */
static void add_validation(cJSON *prov, const allot_provenance *p) {
    size_t K = p->rep->n_classes;
    cJSON *val = cJSON_AddObjectToObject(prov, "validation");
    cJSON_AddStringToObject(val, "kind",
                            is_value(p) ? "out-of-fold predicted accuracies of the training pool, tier order"
                                        : "out-of-fold probabilities of the training pool, class order");
    cJSON *vid = cJSON_AddArrayToObject(val, "ids");
    cJSON *vp = cJSON_AddArrayToObject(val, "prob");
    for (size_t j = 0; j < p->split->n_train; j++) {
        cJSON_AddItemToArray(vid, cJSON_CreateString(p->curves->ids[p->split->train_idx[j]]));
        cJSON *row = cJSON_CreateArray();
        for (size_t c = 0; c < K; c++) {
            /* 9 significant digits are plenty for recalibration; keeps the bundle small */
            char b[32];
            snprintf(b, sizeof b, "%.9g", p->oof[j * K + c]);
            cJSON_AddItemToArray(row, cJSON_CreateNumber(strtod(b, NULL)));
        }
        cJSON_AddItemToArray(vp, row);
    }
}

allot_status allot_provenance_render(const allot_provenance *p, char **json, allot_error *err) {
    const allot_train_options *o = p->opt;
    *json = NULL;
    cJSON *prov = cJSON_CreateObject();
    if (!prov) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    cJSON_AddStringToObject(prov, "tool", "allot train");
    cJSON_AddStringToObject(prov, "input", p->curves_path ? basename_of(p->curves_path) : "");
    cJSON_AddStringToObject(prov, "input_sha256", p->input_sha256);
    cJSON_AddStringToObject(prov, "input_content_sha256", p->content_sha256 ? p->content_sha256 : "");
    cJSON_AddNumberToObject(prov, "budget", o->budget);
    allot_seed_add_to_object(prov, "seed", o->seed);
    cJSON_AddStringToObject(prov, "learner",
                            p->uniform                            ? "uniform"
                            : o->learner == ALLOT_LEARNER_XGBOOST ? "xgboost"
                                                                  : "liblinear");
    cJSON_AddStringToObject(prov, "target", is_value(p) ? "value" : "tier");
    cJSON_AddStringToObject(prov, "rule_option", o->rule == ALLOT_RULE_ARGMAX ? "argmax" : "calibrated");
    add_learner_params(prov, p);
    add_split(prov, p);
    add_oracle(prov, p);
    cJSON_AddBoolToObject(prov, "constant_policy", p->constant);
    add_metrics(prov, p->rep);
    int bad = add_training_pool(prov, p);
    if (!o->no_validation) add_validation(prov, p);
    *json = bad ? NULL : cJSON_PrintUnformatted(prov);
    cJSON_Delete(prov);
    return *json ? ALLOT_OK : allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
}
