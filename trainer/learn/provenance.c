/* provenance.c - the provenance object of a trained bundle (see provenance.h). */
#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <linear.h>

#include "linear_learner.h"
#include "seed.h"

static const char *basename_of(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int is_value(const allot_provenance *p) {
    return p->opt->target == ALLOT_TARGET_TIER_VALUE;
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
    cJSON_AddBoolToObject(lp, "class_weights_balanced", x->class_weights);
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
    cJSON_AddBoolToObject(lp, "class_weights", l->class_weights);
    cJSON_AddBoolToObject(lp, "hashed", p->hashed);
}

static void add_learner_params(cJSON *prov, const allot_provenance *p) {
    int is_xgb = p->opt->learner == ALLOT_LEARNER_XGBOOST;
    cJSON *lp = cJSON_AddObjectToObject(prov, "learner_params");
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
    cJSON_AddNumberToObject(spj, "test_fraction", p->opt->test_fraction);
    cJSON_AddNumberToObject(spj, "folds", p->opt->folds);
    allot_seed_add_to_object(spj, "seed", p->opt->seed);
    cJSON_AddNumberToObject(spj, "n_train", (double)sp->n_train);
    cJSON_AddNumberToObject(spj, "n_test", (double)sp->n_test);
    cJSON *tid = cJSON_AddArrayToObject(spj, "test_ids");
    for (size_t j = 0; j < sp->n_test; j++)
        cJSON_AddItemToArray(tid, cJSON_CreateString(p->curves->ids[sp->test_idx[j]]));
}

static void add_oracle(cJSON *prov, const allot_provenance *p) {
    cJSON *orc = cJSON_AddObjectToObject(prov, "oracle_train");
    cJSON_AddNumberToObject(orc, "lambda", p->rep->oracle_lambda);
    cJSON_AddNumberToObject(orc, "mean_acc", p->rep->oracle_train_acc);
    cJSON_AddNumberToObject(orc, "mean_cost", p->rep->oracle_train_cost);
    cJSON *cnt = cJSON_AddArrayToObject(orc, "tier_counts");
    for (size_t t = 0; t < p->curves->n_tiers; t++) {
        size_t k = 0;
        for (size_t j = 0; j < p->split->n_train; j++) k += (size_t)p->tier_labels[j] == t;
        cJSON_AddItemToArray(cnt, cJSON_CreateNumber((double)k));
    }
}

static void add_metrics(cJSON *prov, const allot_train_report *r) {
    cJSON *met = cJSON_AddObjectToObject(prov, "metrics");
    cJSON_AddNumberToObject(met, "cv_imitation_argmax", r->cv_imitation);
    cJSON_AddNumberToObject(met, "cv_imitation_calibrated", r->cv_imitation_calibrated);
    cJSON_AddNumberToObject(met, "oof_acc_argmax", r->oof_acc_argmax);
    cJSON_AddNumberToObject(met, "oof_cost_argmax", r->oof_cost_argmax);
    cJSON_AddNumberToObject(met, "oof_acc_calibrated", r->oof_acc_calibrated);
    cJSON_AddNumberToObject(met, "oof_cost_calibrated", r->oof_cost_calibrated);
    cJSON_AddNumberToObject(met, "mu", r->mu);
    cJSON_AddNumberToObject(met, "test_imitation_argmax", r->test_imitation_argmax);
    cJSON_AddNumberToObject(met, "test_imitation_calibrated", r->test_imitation_calibrated);
    cJSON_AddNumberToObject(met, "test_acc_argmax", r->test_acc_argmax);
    cJSON_AddNumberToObject(met, "test_cost_argmax", r->test_cost_argmax);
    cJSON_AddNumberToObject(met, "test_acc_calibrated", r->test_acc_calibrated);
    cJSON_AddNumberToObject(met, "test_cost_calibrated", r->test_cost_calibrated);
    cJSON_AddNumberToObject(met, "test_oracle_acc", r->test_oracle_acc);
    cJSON_AddNumberToObject(met, "test_oracle_cost", r->test_oracle_cost);
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
    cJSON_AddNumberToObject(prov, "budget", o->budget);
    allot_seed_add_to_object(prov, "seed", o->seed);
    cJSON_AddStringToObject(prov, "learner", o->learner == ALLOT_LEARNER_XGBOOST ? "xgboost" : "liblinear");
    cJSON_AddStringToObject(prov, "target", is_value(p) ? "value" : "tier");
    cJSON_AddStringToObject(prov, "rule_option", o->rule == ALLOT_RULE_ARGMAX ? "argmax" : "calibrated");
    add_learner_params(prov, p);
    add_split(prov, p);
    add_oracle(prov, p);
    cJSON_AddBoolToObject(prov, "constant_policy", p->constant);
    add_metrics(prov, p->rep);
    if (!o->no_validation) add_validation(prov, p);
    *json = cJSON_PrintUnformatted(prov);
    cJSON_Delete(prov);
    return *json ? ALLOT_OK : allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
}
