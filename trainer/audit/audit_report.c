/* audit_report.c - report.json, report.md and plots of an audit result (see audit_report.h). */
#include "audit_report.h"
#include "seed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "atomic_file.h"
#include "plot.h"

/* ---- method names in each report -------------------------------------------------------------- */

/* How each report names a method (row key): the sweep table's column, the accuracy-versus-budget
 * plot's series, the allocation table's row. NULL: the key itself. */
typedef struct method_label {
    const char *key, *column, *series, *table;
} method_label;

static const method_label LABELS[] = {
    {"oracle", "oracle", "oracle", "oracle"},
    {"uniform", "uniform (hindsight)", "uniform (hindsight hull)", "uniform, hindsight hull of this set"},
    {"uniform_deployable", "uniform (deployable)", "uniform (deployable)",
     "uniform, deployable (mix chosen on the training data)"},
    {"best_single", "best single", "best single tier", "best single tier"},
    {"random_mix", "random mix", "random (oracle mix)", "random, oracle's mix"},
    {"prompt_length", "prompt length", "prompt length", "prompt-length heuristic"},
    {"difficulty_bins", "difficulty bins", "difficulty bins", "difficulty-bin heuristic"},
    {"learned_calibrated", "learned cal.", NULL, "learned (calibrated, price as shipped)"},
    {"learned_refit", "learned refit", NULL, "learned (price refit to this batch)"},
    {"learned_argmax", "learned argmax", NULL, "learned (argmax)"},
    {"retrained_calibrated", "retrained cal.", NULL, "retrained (calibrated)"},
    {"retrained_refit", "retrained refit", NULL, "retrained (refit)"},
    {"retrained_argmax", "retrained argmax", NULL, "retrained (argmax)"},
};

static const method_label *label_of(const char *key) {
    for (size_t i = 0; i < sizeof LABELS / sizeof *LABELS; i++)
        if (!strcmp(LABELS[i].key, key)) return &LABELS[i];
    return NULL;
}
static const char *column_label(const char *key) {
    const method_label *l = label_of(key);
    return l && l->column ? l->column : key;
}
static const char *series_label(const char *key) {
    const method_label *l = label_of(key);
    return l && l->series ? l->series : key;
}
static const char *table_label(const char *key) {
    const method_label *l = label_of(key);
    return l && l->table ? l->table : key;
}

/* The bundle's rule as the reports name it. */
static const char *bundle_rule_name(const allot_audit_policy_result *p) {
    if (p->value) return "value";
    return allot_audit_rule_name(p->bundle_rule == ALLOT_RULE_ARGMAX ? ALLOT_AUDIT_RULE_ARGMAX
                                                                     : ALLOT_AUDIT_RULE_CALIBRATED);
}

/* ---- report.json ------------------------------------------------------------------------------ */

static cJSON *num_or_null(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}
static void add_num(cJSON *o, const char *k, double v) {
    cJSON_AddItemToObject(o, k, num_or_null(v));
}
static cJSON *acc_cost(const allot_audit_row *row) {
    cJSON *o = cJSON_CreateObject();
    add_num(o, "acc", row->acc);
    add_num(o, "cost", row->cost);
    return o;
}

static void json_definitions(cJSON *root) {
    cJSON *defs = cJSON_AddObjectToObject(root, "definitions");
    cJSON_AddStringToObject(
        defs, "uniform",
        "hindsight: the uniform mix at B (trainer/solve/uniform.h: upper concave hull of the single tiers' "
        "(mean cost, mean acc); at B one tier or the expected mixture of the two neighbouring hull tiers "
        "costing exactly B) chosen on the evaluation set itself");
    cJSON_AddStringToObject(defs, "uniform_deployable",
                            "the same uniform mix at B chosen on the policy's training pool (its tier means, "
                            "recorded in the bundle) and applied to the evaluation set: what a user without "
                            "the policy would deploy; learned_minus_uniform_deployable compares against it");
    cJSON_AddStringToObject(
        defs, "refit",
        "the policy's rule with its price re-fitted to the evaluation batch: the smallest "
        "price whose batch mean of the chosen tiers' prices is <= B (label-free, what an "
        "online budget controller converges to)");
    cJSON_AddStringToObject(
        defs, "foreign",
        "evaluation on a curves file other than the training one: every query of it; "
        "queries whose id or prompt also occur in the training pool (64-bit hashes in the "
        "provenance) are counted, and the figures at B are also given without them "
        "(`without_leaks`)");
    cJSON_AddStringToObject(defs, "best_single",
                            "the most accurate single tier whose held-out mean cost is <= B");
    cJSON_AddStringToObject(
        defs, "random_mix",
        "each query draws a tier independently with the held-out oracle's tier frequencies "
        "(expectation; one seeded draw beside)");
    cJSON_AddStringToObject(
        defs, "prompt_length",
        "longer prompt -> dearer tier: thresholds on training-pool prompt lengths (bytes) so "
        "that the tier frequencies equal the training-pool oracle's at B, shrunk towards the cheapest tier "
        "(mix_shrink "
        "s: (1-s) cheapest + s mix, bisection) when that overspends on the training pool");
    cJSON_AddStringToObject(
        defs, "difficulty_bins",
        "5 quantile bins of the policy's predicted expected cost sum_c p(c|x) cost_c "
        "(value policies: 1 - the mean predicted accuracy over tiers) "
        "(out-of-fold on the training pool); one tier per bin chosen by the exact oracle on "
        "the training pool under B");
    cJSON_AddStringToObject(
        defs, "gap",
        "gap_i = v_i(o_i) - min_t v_i(t), v_i(t) = acc_i(t) - lambda*cost_i(t) at the held-out "
        "oracle's lambda (Lagrangian) or v = acc (accuracy); o_i = the oracle's tier");
    cJSON_AddStringToObject(defs, "bound_literature", "imitation error x max_i gap_i");
    cJSON_AddStringToObject(defs, "bound_data", "(1/n) sum over misclassified queries of gap_i");
    cJSON_AddStringToObject(defs, "gain_capture", "(learned - uniform) / (oracle - uniform), accuracy at B");
    cJSON_AddStringToObject(
        defs, "efficiency",
        "budget the uniform frontier needs to reach the learned accuracy, and its ratio to the "
        "learned policy's realised mean cost");
    cJSON_AddStringToObject(
        defs, "sweep",
        "per budget b: oracle, baselines and heuristics re-solved at b; the learned classifier "
        "is kept and only mu is recalibrated on the out-of-fold probabilities at b");
}

static void json_header(cJSON *root, const allot_audit_result *r) {
    cJSON_AddStringToObject(root, "format", "allot-audit");
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "curves", r->curves_path);
    cJSON_AddStringToObject(root, "curves_sha256", r->curves_sha256);
    cJSON_AddStringToObject(root, "curves_content_sha256", r->curves_content_sha256);
    add_num(root, "budget", r->budget);
    allot_seed_add_to_object(root, "seed", r->seed);
    cJSON_AddNumberToObject(root, "bootstrap_resamples", r->bootstrap);
    cJSON *tiers = cJSON_AddArrayToObject(root, "tiers");
    for (size_t t = 0; t < r->n_tiers; t++) cJSON_AddItemToArray(tiers, cJSON_CreateString(r->tier_names[t]));
    json_definitions(root);
}

static void json_identity(cJSON *pj, const allot_audit_policy_result *p) {
    cJSON_AddStringToObject(pj, "policy", p->path);
    cJSON_AddStringToObject(pj, "name", p->name);
    cJSON_AddStringToObject(pj, "learner", p->learner);
    cJSON_AddStringToObject(pj, "target", p->value ? "value" : "tier");
    if (p->value)
        cJSON_AddStringToObject(
            pj, "rules",
            "value policy: 'calibrated' = the value rule argmax_t acc_hat_t - lambda cost_t at "
            "the calibrated lambda (reported as mu); 'argmax' = the value rule at lambda 0");
    cJSON *ev = cJSON_AddObjectToObject(pj, "evaluation");
    cJSON_AddStringToObject(ev, "mode", allot_audit_mode_name(p->mode));
    cJSON_AddStringToObject(ev, "identity",
                            p->identity_by_content ? "content digest" : "file SHA-256 (older bundle)");
    cJSON_AddNumberToObject(ev, "n", (double)p->n_test);
    cJSON *lk = cJSON_AddObjectToObject(ev, "also_in_training_data");
    cJSON_AddBoolToObject(lk, "checked", p->leaks_checked);
    cJSON_AddNumberToObject(lk, "same_id", (double)p->n_leak_id);
    cJSON_AddNumberToObject(lk, "same_prompt", (double)p->n_leak_prompt);
    cJSON_AddNumberToObject(lk, "either", (double)p->n_leak);
    add_num(pj, "trained_budget", p->trained_budget);
    cJSON_AddStringToObject(pj, "bundle_rule", bundle_rule_name(p));
    add_num(pj, "bundle_mu", p->bundle_mu);
    cJSON_AddNumberToObject(pj, "n_test", (double)p->n_test);
    cJSON_AddNumberToObject(pj, "n_train", (double)p->n_train);
    cJSON_AddNumberToObject(pj, "n_classes", (double)p->n_classes);
    cJSON_AddNumberToObject(pj, "runtime_decision_mismatches", (double)p->runtime_mismatches);
    cJSON_AddStringToObject(pj, "training_pool_probabilities",
                            p->in_sample ? "in-sample (the bundle has no out-of-fold block)" : "out-of-fold");
    if (p->training_metrics) /* from the bundle's provenance */
        cJSON_AddItemToObject(pj, "training_metrics", cJSON_Duplicate(p->training_metrics, 1));
}

static void json_oracle(cJSON *pj, const allot_audit_result *r, const allot_audit_policy_result *p) {
    const allot_audit_row *row = allot_audit_point_find(&p->at_budget, "oracle");
    cJSON *oj = cJSON_AddObjectToObject(pj, "oracle");
    add_num(oj, "acc", row->acc);
    add_num(oj, "cost", row->cost);
    add_num(oj, "lambda", p->choices.oracle_lambda);
    cJSON *oc = cJSON_AddArrayToObject(oj, "tier_counts");
    for (size_t t = 0; t < r->n_tiers; t++)
        cJSON_AddItemToArray(oc, cJSON_CreateNumber((double)p->choices.oracle_tier_counts[t]));
}

/* What a baseline chose, beside its accuracy and cost. */
static void json_baseline_choice(cJSON *o, const char *key, const allot_audit_result *r,
                                 const allot_audit_choices *ch) {
    const char *const *tn = r->tier_names;
    if (!strcmp(key, "uniform")) {
        cJSON_AddStringToObject(o, "tier_lo", tn[ch->uniform_lo]);
        cJSON_AddStringToObject(o, "tier_hi", tn[ch->uniform_hi]);
        add_num(o, "weight_hi", ch->uniform_w);
    } else if (!strcmp(key, "uniform_deployable")) {
        cJSON_AddStringToObject(o, "tier_lo", tn[ch->deploy_lo]);
        cJSON_AddStringToObject(o, "tier_hi", tn[ch->deploy_hi]);
        add_num(o, "weight_hi", ch->deploy_w);
    } else if (!strcmp(key, "best_single")) {
        if (ch->best_tier >= 0)
            cJSON_AddStringToObject(o, "tier", tn[ch->best_tier]);
        else
            cJSON_AddNullToObject(o, "tier");
    } else if (!strcmp(key, "random_mix")) {
        add_num(o, "draw_acc", ch->random_draw_acc);
        add_num(o, "draw_cost", ch->random_draw_cost);
    } else if (!strcmp(key, "prompt_length")) {
        add_num(o, "mix_shrink", ch->length_shrink);
    } else if (!strcmp(key, "difficulty_bins")) {
        cJSON *dt = cJSON_AddArrayToObject(o, "bin_tiers");
        for (int g = 0; g < ALLOT_AUDIT_N_BINS; g++)
            cJSON_AddItemToArray(dt, cJSON_CreateString(tn[ch->bins_tier[g]]));
        cJSON *de = cJSON_AddArrayToObject(o, "bin_edges");
        for (int g = 0; g + 1 < ALLOT_AUDIT_N_BINS; g++)
            cJSON_AddItemToArray(de, num_or_null(ch->bins_edges[g]));
    }
}

static void json_baselines(cJSON *pj, const allot_audit_result *r, const allot_audit_policy_result *p) {
    cJSON *base = cJSON_AddObjectToObject(pj, "baselines");
    for (size_t i = 0; i < p->at_budget.n_rows; i++) {
        const allot_audit_row *row = &p->at_budget.row[i];
        if (row->role != ALLOT_AUDIT_ROLE_BASELINE) continue;
        cJSON *o = acc_cost(row);
        json_baseline_choice(o, row->key, r, &p->choices);
        cJSON_AddItemToObject(base, row->key, o);
    }
}

/* Per tier: how often the oracle and the policy pick it, recall and precision; and the matrix. */
static void json_confusion(cJSON *x, const allot_audit_result *r, const size_t *conf) {
    size_t T = r->n_tiers;
    cJSON *pt = cJSON_AddArrayToObject(x, "per_tier");
    for (size_t t = 0; t < T; t++) {
        size_t row = 0, col = 0;
        for (size_t u = 0; u < T; u++) {
            row += conf[t * T + u];
            col += conf[u * T + t];
        }
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "tier", r->tier_names[t]);
        cJSON_AddNumberToObject(q, "oracle_n", (double)row);
        cJSON_AddNumberToObject(q, "policy_n", (double)col);
        add_num(q, "recall", row ? (double)conf[t * T + t] / (double)row : NAN);
        add_num(q, "precision", col ? (double)conf[t * T + t] / (double)col : NAN);
        cJSON_AddItemToArray(pt, q);
    }
    cJSON *cm = cJSON_AddArrayToObject(x, "confusion");
    for (size_t t = 0; t < T; t++) {
        cJSON *row = cJSON_CreateArray();
        for (size_t u = 0; u < T; u++) cJSON_AddItemToArray(row, cJSON_CreateNumber((double)conf[t * T + u]));
        cJSON_AddItemToArray(cm, row);
    }
}

static void json_regret(cJSON *x, const allot_regret *rg) {
    cJSON *rr = cJSON_AddObjectToObject(x, "regret");
    add_num(rr, "lambda", rg->lambda);
    add_num(rr, "imitation_error", rg->imitation_error);
    add_num(rr, "lagrangian", rg->regret_lagrangian);
    add_num(rr, "accuracy", rg->regret_acc);
    add_num(rr, "max_gap_lagrangian", rg->max_gap_lagrangian);
    add_num(rr, "max_gap_accuracy", rg->max_gap_acc);
    add_num(rr, "mean_gap_misclassified_lagrangian", rg->mean_gap_mis_lagrangian);
    add_num(rr, "mean_gap_misclassified_accuracy", rg->mean_gap_mis_acc);
    add_num(rr, "bound_literature_lagrangian", rg->bound_literature_lagrangian);
    add_num(rr, "bound_literature_accuracy", rg->bound_literature_acc);
    add_num(rr, "bound_data_lagrangian", rg->bound_data_lagrangian);
    add_num(rr, "bound_data_accuracy", rg->bound_data_acc);
    cJSON_AddBoolToObject(rr, "regret_le_bound", rg->holds);
}

static double safe_ratio(double a, double b) {
    return fabs(b) > 1e-15 ? a / b : NAN;
}

/* A paired bootstrap interval. */
static void json_ci(cJSON *x, const char *key, const allot_audit_ci *ci) {
    cJSON *bs = cJSON_AddObjectToObject(x, key);
    add_num(bs, "mean", ci->mean);
    add_num(bs, "ci95_lo", ci->lo);
    add_num(bs, "ci95_hi", ci->hi);
    cJSON_AddNumberToObject(bs, "resamples", ci->resamples);
    allot_seed_add_to_object(bs, "seed", ci->seed);
}

/* The figures at B without the evaluation queries that also occur in the training data. */
static void json_clean(cJSON *pj, const allot_audit_policy_result *p) {
    if (!p->has_clean) return;
    cJSON *cj = cJSON_AddObjectToObject(pj, "without_leaks");
    cJSON_AddNumberToObject(cj, "n", (double)p->n_clean);
    for (size_t i = 0; i < p->at_budget_clean.n_rows; i++) {
        const allot_audit_row *row = &p->at_budget_clean.row[i];
        cJSON *o = acc_cost(row);
        if (row->role == ALLOT_AUDIT_ROLE_LEARNED) {
            add_num(o, "mu", row->price);
            json_ci(o, "learned_minus_uniform", &row->vs_uniform);
            if (!isnan(row->vs_deployable.mean))
                json_ci(o, "learned_minus_uniform_deployable", &row->vs_deployable);
        }
        cJSON_AddItemToObject(cj, row->key, o);
    }
}

/* The learned policy under one rule. */
static cJSON *json_rule(const allot_audit_result *r, const allot_audit_row *row,
                        const allot_audit_rule_eval *re) {
    cJSON *x = cJSON_CreateObject();
    add_num(x, "acc", row->acc);
    add_num(x, "cost", row->cost);
    add_num(x, "mu", row->price);
    add_num(x, "budget_overspend", row->cost - r->budget);
    add_num(x, "imitation_accuracy", re->imitation);
    json_confusion(x, r, re->confusion);
    json_regret(x, &re->regret);
    add_num(x, "gain_capture", re->gain_capture);
    double eb = re->uniform_budget_for_same_acc;
    cJSON *ef = cJSON_AddObjectToObject(x, "efficiency");
    add_num(ef, "uniform_budget_for_same_acc", eb);
    add_num(ef, "ratio_to_learned_cost", safe_ratio(eb, row->cost));
    cJSON_AddBoolToObject(ef, "beyond_uniform_frontier", !isfinite(eb));
    json_ci(x, "learned_minus_uniform", &row->vs_uniform);
    if (!isnan(row->vs_deployable.mean)) json_ci(x, "learned_minus_uniform_deployable", &row->vs_deployable);
    return x;
}

static void json_learned(cJSON *pj, const allot_audit_result *r, const allot_audit_policy_result *p) {
    cJSON *lj = cJSON_AddObjectToObject(pj, "learned");
    for (int rule = 0; rule < ALLOT_AUDIT_N_RULES; rule++) {
        const allot_audit_row *row = allot_audit_point_rule(&p->at_budget, ALLOT_AUDIT_ROLE_LEARNED, rule);
        cJSON_AddItemToObject(lj, allot_audit_rule_name(rule), json_rule(r, row, &p->rules[rule]));
    }
}

static void json_buckets(cJSON *pj, const allot_audit_buckets *bk) {
    cJSON *bj = cJSON_AddObjectToObject(pj, "by_difficulty");
    cJSON_AddStringToObject(bj, "bucket_by", bk->bucket_by);
    cJSON *bb = cJSON_AddArrayToObject(bj, "buckets");
    for (int g = 0; g < ALLOT_AUDIT_N_BUCKETS; g++) {
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "bucket", bk->bucket_name[g]);
        cJSON_AddNumberToObject(q, "n", (double)bk->n[g]);
        cJSON *mc = cJSON_AddObjectToObject(q, "mean_cost");
        cJSON *ma = cJSON_AddObjectToObject(q, "mean_acc");
        for (size_t s = 0; s < bk->n_series; s++) {
            size_t i = s * ALLOT_AUDIT_N_BUCKETS + (size_t)g;
            add_num(mc, bk->series[s], bk->n[g] ? bk->mean_cost[i] : NAN);
            add_num(ma, bk->series[s], bk->n[g] ? bk->mean_acc[i] : NAN);
        }
        cJSON_AddItemToArray(bb, q);
    }
}

/* Every method at each sweep budget; the learned calibrated rule with its recalibrated mu. */
static void json_sweep(cJSON *pj, const allot_audit_policy_result *p) {
    cJSON *swj = cJSON_AddArrayToObject(pj, "sweep");
    for (size_t s = 0; s < p->n_sweep; s++) {
        const allot_audit_point *pt = &p->sweep[s];
        cJSON *q = cJSON_CreateObject();
        add_num(q, "budget", pt->budget);
        for (size_t i = 0; i < pt->n_rows; i++) {
            const allot_audit_row *row = &pt->row[i];
            cJSON *o = acc_cost(row);
            if (row->role == ALLOT_AUDIT_ROLE_LEARNED && row->rule != ALLOT_AUDIT_RULE_ARGMAX)
                add_num(o, "mu", row->price);
            cJSON_AddItemToObject(q, row->key, o);
        }
        cJSON_AddItemToArray(swj, q);
    }
}

static cJSON *json_policy(const allot_audit_result *r, const allot_audit_policy_result *p) {
    cJSON *pj = cJSON_CreateObject();
    json_identity(pj, p);
    json_oracle(pj, r, p);
    json_baselines(pj, r, p);
    json_learned(pj, r, p);
    json_clean(pj, p);
    json_buckets(pj, &p->buckets);
    json_sweep(pj, p);
    return pj;
}

char *allot_audit_report_json(const allot_audit_result *r) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    json_header(root, r);
    cJSON *pols = cJSON_AddArrayToObject(root, "policies");
    for (size_t k = 0; k < r->n_policies; k++) cJSON_AddItemToArray(pols, json_policy(r, &r->policies[k]));
    cJSON_AddBoolToObject(root, "same_held_out_set", r->same_held_out_set);
    cJSON_AddBoolToObject(root, "all_regret_bounds_hold", r->all_regret_bounds_hold);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

/* ---- report.md -------------------------------------------------------------------------------- */

static void md_header(FILE *md, const allot_audit_result *r) {
    fprintf(md, "# allot audit\n\ncurves `%s` (content `%.16s...`), budget **%g**, %zu tiers.\n\n",
            r->curves_path, r->curves_content_sha256, r->budget, r->n_tiers);
    fprintf(md,
            "Each policy is evaluated on the held-out queries recorded in its provenance when this is the "
            "curves file it was trained on (same content), otherwise on every query of this file (a foreign "
            "file). Definitions: docs/learn-and-audit.md.\n\n");
}

static void md_policy_intro(FILE *md, const allot_audit_policy_result *p) {
    fprintf(md, "## %s (%s%s, trained at budget %g, bundle rule %s)\n\n", p->name, p->learner,
            p->value ? " value regressors" : "", p->trained_budget, bundle_rule_name(p));
    if (p->mode == ALLOT_AUDIT_HELD_OUT)
        fprintf(
            md,
            "Evaluated on its own held-out split (this file has the content it was trained on): %zu held-out "
            "queries, %zu training queries, %zu classes. Runtime decisions differing from the audited ones: "
            "%zu.\n\n",
            p->n_test, p->n_train, p->n_classes, p->runtime_mismatches);
    else
        fprintf(md,
                "Evaluated on a **foreign file** (not its training data): all %zu queries, %zu classes. The "
                "heuristics fitted on the training pool (prompt length, difficulty bins) are not computed. "
                "Runtime "
                "decisions differing from the audited ones: %zu.\n\n",
                p->n_test, p->n_classes, p->runtime_mismatches);
    if (!p->leaks_checked)
        fprintf(md,
                "The bundle records no hashes of its training queries (an older bundle): queries shared with "
                "the training data were not looked for.\n\n");
    else if (p->n_leak)
        fprintf(md,
                "**%zu of the %zu evaluation queries also occur in the training data** (%zu by id, %zu by "
                "byte-identical prompt); the figures without them are in the table *Without the queries "
                "seen in training* below.\n\n",
                p->n_leak, p->n_test, p->n_leak_id, p->n_leak_prompt);
    else
        fprintf(md, "No evaluation query occurs in the training data (by id or byte-identical prompt).\n\n");
    if (p->in_sample)
        fprintf(md,
                "The bundle carries no out-of-fold probabilities (trained with --no-validation): the sweep's "
                "recalibration and the difficulty bins use in-sample predictions on the training pool "
                "(optimistic).\n\n");
    if (p->value)
        fprintf(
            md,
            "Value policy (per-tier accuracy regressors): *calibrated* is the value rule argmax_t "
            "acc_hat_t - lambda cost_t at the calibrated lambda (shown as mu), *argmax* the value rule at "
            "lambda 0 (the most accurate predicted tier).\n\n");
}

/* One row of the allocation table: label, accuracy, cost, and a note on what the method chose. */
static void md_allocation(FILE *md, const allot_audit_result *r, const allot_audit_policy_result *p,
                          const allot_audit_row *row) {
    const allot_audit_choices *ch = &p->choices;
    char note[256] = "";
    if (!strcmp(row->key, "best_single") && ch->best_tier < 0) {
        fprintf(md, "| %s | - | - | no tier within budget |\n", table_label(row->key));
        return;
    }
    if (row->role == ALLOT_AUDIT_ROLE_ORACLE) {
        snprintf(note, sizeof note, "lambda %.4g", row->price);
    } else if (row->role == ALLOT_AUDIT_ROLE_LEARNED) {
        const allot_audit_rule_eval *re = &p->rules[row->rule];
        snprintf(note, sizeof note, "mu %.4g; imitation %.4f; gain capture %.3f", row->price,
                 1 - re->regret.imitation_error, re->gain_capture);
    } else if (!strcmp(row->key, "uniform")) {
        snprintf(note, sizeof note, "%s/%s, w %.3f", r->tier_names[ch->uniform_lo],
                 r->tier_names[ch->uniform_hi], ch->uniform_w);
    } else if (!strcmp(row->key, "uniform_deployable")) {
        snprintf(note, sizeof note, "%s/%s, w %.3f", r->tier_names[ch->deploy_lo],
                 r->tier_names[ch->deploy_hi], ch->deploy_w);
    } else if (!strcmp(row->key, "best_single")) {
        snprintf(note, sizeof note, "%s", r->tier_names[ch->best_tier]);
    } else if (!strcmp(row->key, "random_mix")) {
        snprintf(note, sizeof note, "expectation; one draw %.4f", ch->random_draw_acc);
    }
    fprintf(md, "| %s | %.4f | %.3f |", table_label(row->key), row->acc, row->cost);
    if (note[0])
        fprintf(md, " %s |\n", note);
    else
        fprintf(md, " |\n");
}

/* The allocations at the audit budget: the oracle, the learned rules, then the baselines. */
static void md_allocations(FILE *md, const allot_audit_result *r, const allot_audit_policy_result *p) {
    static const allot_audit_role ORDER[] = {ALLOT_AUDIT_ROLE_ORACLE, ALLOT_AUDIT_ROLE_LEARNED,
                                             ALLOT_AUDIT_ROLE_BASELINE};
    fprintf(md, "| allocation | accuracy | mean cost | note |\n|---|---|---|---|\n");
    for (size_t o = 0; o < sizeof ORDER / sizeof *ORDER; o++)
        for (size_t i = 0; i < p->at_budget.n_rows; i++)
            if (p->at_budget.row[i].role == ORDER[o]) md_allocation(md, r, p, &p->at_budget.row[i]);
    fprintf(md, "\n");
}

static void md_regret(FILE *md, const allot_audit_result *r, const allot_audit_policy_result *p) {
    fprintf(md,
            "| rule | regret (Lagrangian) | data bound | literature bound | regret (accuracy) | data bound | "
            "literature bound | holds |\n|---|---|---|---|---|---|---|---|\n");
    for (int rule = 0; rule < ALLOT_AUDIT_N_RULES; rule++) {
        const allot_regret *rg = &p->rules[rule].regret;
        fprintf(md, "| %s | %.5f | %.5f | %.5f | %.5f | %.5f | %.5f | %s |\n", allot_audit_rule_name(rule),
                rg->regret_lagrangian, rg->bound_data_lagrangian, rg->bound_literature_lagrangian,
                rg->regret_acc, rg->bound_data_acc, rg->bound_literature_acc, rg->holds ? "yes" : "NO");
    }
    fprintf(
        md,
        "\n| rule | learned - deployable uniform [95%% CI] | learned - hindsight uniform [95%% CI] (paired "
        "bootstrap, %d) | uniform budget for same acc | ratio to learned cost |\n|---|---|---|---|---|\n",
        r->bootstrap);
    for (int rule = 0; rule < ALLOT_AUDIT_N_RULES; rule++) {
        const allot_audit_row *row = allot_audit_point_rule(&p->at_budget, ALLOT_AUDIT_ROLE_LEARNED, rule);
        double eb = p->rules[rule].uniform_budget_for_same_acc;
        char dep[96] = "- (not recorded)";
        if (!isnan(row->vs_deployable.mean))
            snprintf(dep, sizeof dep, "%+.4f [%+.4f, %+.4f]", row->vs_deployable.mean, row->vs_deployable.lo,
                     row->vs_deployable.hi);
        fprintf(md, "| %s | %s | %+.4f [%+.4f, %+.4f] | %s%.3f | %.3f |\n", allot_audit_rule_name(rule), dep,
                row->vs_uniform.mean, row->vs_uniform.lo, row->vs_uniform.hi,
                isfinite(eb) ? "" : "beyond frontier ", isfinite(eb) ? eb : 0.0, safe_ratio(eb, row->cost));
    }
}

/* Imitation per tier and the confusion matrix of the calibrated rule. */
static void md_confusion(FILE *md, const allot_audit_result *r, const allot_audit_policy_result *p) {
    size_t T = r->n_tiers;
    const size_t *conf = p->rules[ALLOT_AUDIT_RULE_CALIBRATED].confusion;
    const char *const *tn = r->tier_names;
    fprintf(md,
            "\nImitation per tier (calibrated rule; recall = policy picks the oracle's tier):\n\n| tier | "
            "oracle n | policy n | recall |\n|---|---|---|---|\n");
    for (size_t t = 0; t < T; t++) {
        size_t row = 0, col = 0;
        for (size_t u = 0; u < T; u++) {
            row += conf[t * T + u];
            col += conf[u * T + t];
        }
        if (row)
            fprintf(md, "| %s | %zu | %zu | %.3f |\n", tn[t], row, col,
                    (double)conf[t * T + t] / (double)row);
        else
            fprintf(md, "| %s | 0 | %zu | - |\n", tn[t], col);
    }
    fprintf(md, "\nConfusion matrix (rows: oracle tier, columns: policy tier, calibrated rule):\n\n| |");
    for (size_t u = 0; u < T; u++) fprintf(md, " %s |", tn[u]);
    fprintf(md, "\n|---|");
    for (size_t u = 0; u < T; u++) fprintf(md, "---|");
    fprintf(md, "\n");
    for (size_t t = 0; t < T; t++) {
        fprintf(md, "| %s |", tn[t]);
        for (size_t u = 0; u < T; u++) fprintf(md, " %zu |", conf[t * T + u]);
        fprintf(md, "\n");
    }
}

static void md_buckets(FILE *md, const allot_audit_buckets *bk) {
    fprintf(md, "\nMean compute per difficulty bucket (mean accuracy over tiers):\n\n| bucket | n |");
    for (size_t s = 0; s < bk->n_series; s++) fprintf(md, " %s |", bk->series[s]);
    fprintf(md, "\n|---|---|");
    for (size_t s = 0; s < bk->n_series; s++) fprintf(md, "---|");
    fprintf(md, "\n");
    for (int g = 0; g < ALLOT_AUDIT_N_BUCKETS; g++) {
        fprintf(md, "| %s | %zu |", bk->bucket_name[g], bk->n[g]);
        for (size_t s = 0; s < bk->n_series; s++)
            if (bk->n[g])
                fprintf(md, " %.2f |", bk->mean_cost[s * ALLOT_AUDIT_N_BUCKETS + (size_t)g]);
            else
                fprintf(md, " - |");
        fprintf(md, "\n");
    }
}

/* The sweep table's columns: the oracle, the learned rules, the baselines, the retrained rules. */
static size_t sweep_columns(const allot_audit_point *pt, size_t *col) {
    static const allot_audit_role ORDER[] = {ALLOT_AUDIT_ROLE_ORACLE, ALLOT_AUDIT_ROLE_LEARNED,
                                             ALLOT_AUDIT_ROLE_BASELINE, ALLOT_AUDIT_ROLE_RETRAINED};
    size_t n = 0;
    for (size_t o = 0; o < sizeof ORDER / sizeof *ORDER; o++)
        for (size_t i = 0; i < pt->n_rows; i++)
            if (pt->row[i].role == ORDER[o]) col[n++] = i;
    return n;
}

static void md_sweep(FILE *md, const allot_audit_result *r, const allot_audit_policy_result *p) {
    size_t col[ALLOT_AUDIT_MAX_ROWS], nc = p->n_sweep ? sweep_columns(&p->sweep[0], col) : 0;
    fprintf(md,
            "\nBudget sweep (accuracy / realised mean cost; learned: mu recalibrated per budget%s):\n\n| "
            "budget |",
            r->sweep_retrain ? "; retrained: trained again at each budget" : "");
    for (size_t i = 0; i < nc; i++) fprintf(md, " %s |", column_label(p->sweep[0].row[col[i]].key));
    fprintf(md, "\n|---|");
    for (size_t i = 0; i < nc; i++) fprintf(md, "---|");
    fprintf(md, "\n");
    for (size_t s = 0; s < p->n_sweep; s++) {
        const allot_audit_point *pt = &p->sweep[s];
        fprintf(md, "| %.3g |", pt->budget);
        nc = sweep_columns(pt, col);
        for (size_t i = 0; i < nc; i++) {
            const allot_audit_row *row = &pt->row[col[i]];
            if (isfinite(row->acc))
                fprintf(md, " %.4f / %.2f |", row->acc, row->cost);
            else
                fprintf(md, " - |");
        }
        fprintf(md, "\n");
    }
    fprintf(md, "\n");
}

/* The figures at B without the queries also in the training data. */
static void md_clean(FILE *md, const allot_audit_policy_result *p) {
    if (!p->has_clean) return;
    fprintf(md, "\nWithout the queries seen in training (%zu of %zu evaluation queries left):\n\n",
            p->n_clean, p->n_test);
    fprintf(md, "| allocation | accuracy | mean cost | learned - deployable uniform [95%% CI] "
                "|\n|---|---|---|---|\n");
    for (size_t i = 0; i < p->at_budget_clean.n_rows; i++) {
        const allot_audit_row *row = &p->at_budget_clean.row[i];
        fprintf(md, "| %s | %.4f | %.3f |", table_label(row->key), row->acc, row->cost);
        if (row->role == ALLOT_AUDIT_ROLE_LEARNED && !isnan(row->vs_deployable.mean))
            fprintf(md, " %+.4f [%+.4f, %+.4f] |\n", row->vs_deployable.mean, row->vs_deployable.lo,
                    row->vs_deployable.hi);
        else
            fprintf(md, " |\n");
    }
    fprintf(md, "\n");
}

static void md_policy(FILE *md, const allot_audit_result *r, const allot_audit_policy_result *p) {
    md_policy_intro(md, p);
    md_allocations(md, r, p);
    md_clean(md, p);
    md_regret(md, r, p);
    md_confusion(md, r, p);
    md_buckets(md, &p->buckets);
    md_sweep(md, r, p);
}

allot_status allot_audit_report_markdown(const allot_audit_result *r, char **text, size_t *len,
                                         allot_error *err) {
    *text = NULL;
    *len = 0;
    FILE *md = open_memstream(text, len);
    if (!md) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
    md_header(md, r);
    for (size_t k = 0; k < r->n_policies; k++) md_policy(md, r, &r->policies[k]);
    if (!r->same_held_out_set)
        fprintf(md, "Note: the policies were trained with different splits; each block above uses its own "
                    "held-out set, and the accuracy-vs-budget plot shows the baselines of the first.\n\n");
    fprintf(md, "Regret <= bound on every policy and rule: **%s**.\n",
            r->all_regret_bounds_hold ? "yes" : "NO");
    if (fclose(md) != 0 || !*text) {
        free(*text);
        *text = NULL;
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (report)");
    }
    return ALLOT_OK;
}

/* ---- plots ------------------------------------------------------------------------------------ */

/* Keep the first failure (with the figure's name) in *first. */
static void plot_failed(allot_status st, const char *base, const allot_error *perr, allot_status *first,
                        allot_error *err) {
    if (st == ALLOT_OK || *first != ALLOT_OK) return;
    const char *name = strrchr(base, '/');
    *first = allot_error_set(err, st, "figure %.80s: %.300s", name ? name + 1 : base, perr->msg);
}

/* Compute per difficulty bucket, and the calibrated rule's confusion heat map, of one policy. */
static void plot_policy(const allot_audit_result *r, const allot_audit_policy_result *p, const char *dir,
                        allot_status *first, allot_error *err) {
    char base[4096];
    allot_error perr = {0};
    const allot_audit_buckets *bk = &p->buckets;
    snprintf(base, sizeof base, "%s/%s-compute_by_difficulty", dir, p->name);
    allot_plot_opts po = {"Mean compute per difficulty bucket (held-out)", "mean accuracy over tiers",
                          "mean cost", 0};
    allot_status st = allot_plot_bars(base, &po, bk->bucket_name, ALLOT_AUDIT_N_BUCKETS, bk->series,
                                      bk->n_series, bk->mean_cost, &perr);
    plot_failed(st, base, &perr, first, err);
    size_t T = r->n_tiers;
    double *cv = malloc(T * T * sizeof *cv);
    if (!cv) {
        if (*first == ALLOT_OK) *first = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (plots)");
        return;
    }
    for (size_t q = 0; q < T * T; q++) cv[q] = (double)p->rules[ALLOT_AUDIT_RULE_CALIBRATED].confusion[q];
    snprintf(base, sizeof base, "%s/%s-confusion", dir, p->name);
    allot_plot_opts ph = {"Confusion (rows: oracle tier, columns: policy tier)", "policy tier", "oracle tier",
                          0};
    st = allot_plot_heatmap(base, &ph, r->tier_names, T, r->tier_names, T, cv, &perr);
    plot_failed(st, base, &perr, first, err);
    free(cv);
}

/* Series storage of the accuracy-versus-budget plot: n_series x n_sweep points. */
typedef struct plot_lines {
    size_t ns, m;
    double *xs, *ys;
    allot_plot_series *ser;
    char (*names)[160];
} plot_lines;

/* The next series: policy p's row `key` over the sweep (its first point only when one_point; points
 * where the method has no allocation are left out). */
static void add_series(plot_lines *pl, const allot_audit_policy_result *p, const char *key, int one_point) {
    double *x = pl->xs + pl->m * pl->ns, *y = pl->ys + pl->m * pl->ns;
    size_t n = 0;
    for (size_t s = 0; s < (one_point ? 1 : p->n_sweep); s++) {
        const allot_audit_row *rw = allot_audit_point_find(&p->sweep[s], key);
        if (!rw || !isfinite(rw->acc) || !isfinite(rw->cost)) continue;
        x[n] = rw->cost;
        y[n] = rw->acc;
        n++;
    }
    pl->ser[pl->m] = (allot_plot_series){pl->names[pl->m], n, x, y, NULL, NULL, one_point};
    pl->m++;
}

/* Every allocation of the first policy's held-out set, then each policy's learned curves (the argmax
 * rule does not depend on the budget: one point), then the retrained ones. */
static void plot_accuracy_vs_budget(const allot_audit_result *r, const char *dir, allot_status *first,
                                    allot_error *err) {
    const allot_audit_point *p0 = &r->policies[0].sweep[0]; /* every point holds the same rows */
    size_t max_series = p0->n_rows * r->n_policies;         /* at most one series per row and policy */
    plot_lines pl = {r->n_sweep,
                     0,
                     malloc(max_series * r->n_sweep * sizeof(double)),
                     malloc(max_series * r->n_sweep * sizeof(double)),
                     calloc(max_series, sizeof(allot_plot_series)),
                     calloc(max_series, sizeof *pl.names)};
    if (pl.xs && pl.ys && pl.ser && pl.names) {
        for (size_t i = 0; i < p0->n_rows; i++)
            if (p0->row[i].role == ALLOT_AUDIT_ROLE_ORACLE || p0->row[i].role == ALLOT_AUDIT_ROLE_BASELINE) {
                snprintf(pl.names[pl.m], sizeof pl.names[pl.m], "%s", series_label(p0->row[i].key));
                add_series(&pl, &r->policies[0], p0->row[i].key, 0);
            }
        for (size_t k = 0; k < r->n_policies; k++)
            for (size_t i = 0; i < p0->n_rows; i++)
                if (p0->row[i].role == ALLOT_AUDIT_ROLE_LEARNED) {
                    int rule = p0->row[i].rule;
                    snprintf(pl.names[pl.m], sizeof pl.names[pl.m], "%s (%s)", r->policies[k].name,
                             allot_audit_rule_name(rule));
                    add_series(&pl, &r->policies[k], p0->row[i].key, rule == ALLOT_AUDIT_RULE_ARGMAX);
                }
        for (size_t k = 0; k < r->n_policies; k++)
            for (size_t i = 0; i < p0->n_rows; i++)
                if (p0->row[i].role == ALLOT_AUDIT_ROLE_RETRAINED &&
                    p0->row[i].rule == ALLOT_AUDIT_RULE_CALIBRATED) {
                    snprintf(pl.names[pl.m], sizeof pl.names[pl.m], "%s (retrained per budget)",
                             r->policies[k].name);
                    add_series(&pl, &r->policies[k], p0->row[i].key, 0);
                }
        char base[4096];
        snprintf(base, sizeof base, "%s/accuracy_vs_budget", dir);
        allot_plot_opts po = {"Held-out accuracy vs realised mean cost", "mean cost per query", "accuracy",
                              1};
        allot_error perr = {0};
        plot_failed(allot_plot_lines(base, &po, pl.ser, pl.m, &perr), base, &perr, first, err);
    } else if (*first == ALLOT_OK) {
        *first = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (plots)");
    }
    free(pl.xs);
    free(pl.ys);
    free(pl.ser);
    free(pl.names);
}

allot_status allot_audit_report_plots(const allot_audit_result *r, const char *dir, allot_error *err) {
    allot_status first = ALLOT_OK;
    for (size_t k = 0; k < r->n_policies; k++) plot_policy(r, &r->policies[k], dir, &first, err);
    if (r->n_policies && r->n_sweep) plot_accuracy_vs_budget(r, dir, &first, err);
    return first;
}

/* ---- files ------------------------------------------------------------------------------------ */

allot_status allot_audit_report_write(const char *dir, const char *json, const char *md, size_t md_len,
                                      allot_error *err) {
    char md_path[4096], json_path[4096];
    snprintf(md_path, sizeof md_path, "%s/report.md", dir);
    snprintf(json_path, sizeof json_path, "%s/report.json", dir);
    size_t l = strlen(json);
    char *jn = malloc(l + 2);
    if (!jn) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (report)");
    memcpy(jn, json, l);
    jn[l] = '\n';
    jn[l + 1] = '\0';
    const char *paths[2] = {md_path, json_path};
    const void *data[2] = {md, jn};
    size_t lens[2] = {md_len, l + 1};
    allot_status st = allot_atomic_write_all(paths, data, lens, 2, err);
    free(jn);
    return st;
}
