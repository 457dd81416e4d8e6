/* audit.c - `allot audit` (see audit.h and docs/learn-and-audit.md): compute the result
 * (audit_eval.h), then render it (audit_report.h). */
#include "audit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit_eval.h"
#include "audit_report.h"
#include "outdir.h"

void allot_audit_options_default(allot_audit_options *o) {
    memset(o, 0, sizeof *o);
    o->budget = NAN;
    o->seed = 1;
    o->bootstrap = 1000;
    o->plots = 1;
}

_Static_assert(ALLOT_AUDIT_SUMMARY_RULES == ALLOT_AUDIT_N_RULES, "summary rules");

static double row_acc(const allot_audit_point *pt, const char *key) {
    const allot_audit_row *r = allot_audit_point_find(pt, key);
    return r ? r->acc : NAN;
}

/* The headline figures of one policy at the audit budget. */
static void summarize(const allot_audit_policy_result *p, allot_audit_summary *sm) {
    const allot_audit_point *pt = &p->at_budget;
    memset(sm, 0, sizeof *sm);
    sm->n_test = p->n_test;
    sm->foreign = p->mode == ALLOT_AUDIT_FOREIGN;
    sm->n_leak = p->n_leak;
    sm->leaks_checked = p->leaks_checked;
    sm->oracle_acc = allot_audit_point_find(pt, "oracle")->acc;
    sm->oracle_cost = allot_audit_point_find(pt, "oracle")->cost;
    for (int rule = 0; rule < ALLOT_AUDIT_N_RULES; rule++) {
        const allot_audit_row *row = allot_audit_point_rule(pt, ALLOT_AUDIT_ROLE_LEARNED, rule);
        const allot_regret *rg = &p->rules[rule].regret;
        sm->learned_acc[rule] = row->acc;
        sm->learned_cost[rule] = row->cost;
        sm->price[rule] = row->price;
        sm->imitation[rule] = 1 - rg->imitation_error;
        sm->regret_lagrangian[rule] = rg->regret_lagrangian;
        sm->bound_data_lagrangian[rule] = rg->bound_data_lagrangian;
        sm->bound_literature_lagrangian[rule] = rg->bound_literature_lagrangian;
        sm->regret_acc[rule] = rg->regret_acc;
        sm->bound_data_acc[rule] = rg->bound_data_acc;
        sm->bound_literature_acc[rule] = rg->bound_literature_acc;
        sm->gain_capture[rule] = p->rules[rule].gain_capture;
        sm->vs_deployable[rule][0] = row->vs_deployable.mean;
        sm->vs_deployable[rule][1] = row->vs_deployable.lo;
        sm->vs_deployable[rule][2] = row->vs_deployable.hi;
        sm->clean_learned_acc[rule] =
            p->has_clean ? allot_audit_point_rule(&p->at_budget_clean, ALLOT_AUDIT_ROLE_LEARNED, rule)->acc
                         : NAN;
    }
    const allot_audit_row *dep = allot_audit_point_find(pt, "uniform_deployable");
    sm->uniform_acc = row_acc(pt, "uniform");
    sm->deployable_acc = dep ? dep->acc : NAN;
    sm->deployable_cost = dep ? dep->cost : NAN;
    sm->clean_deployable_acc = p->has_clean ? row_acc(&p->at_budget_clean, "uniform_deployable") : NAN;
    sm->clean_oracle_acc = p->has_clean ? row_acc(&p->at_budget_clean, "oracle") : NAN;
    sm->best_single_acc = row_acc(pt, "best_single");
    sm->random_acc = row_acc(pt, "random_mix");
    sm->length_acc = row_acc(pt, "prompt_length");
    sm->bins_acc = row_acc(pt, "difficulty_bins");
    sm->bounds_hold = 1;
    for (int rule = 0; rule < ALLOT_AUDIT_N_RULES; rule++) sm->bounds_hold &= p->rules[rule].regret.holds;
}

/* Plots (into out_dir), then report.md and report.json (texts, and files in out_dir). A figure
 * that failed fails the audit, after the reports were written. */
static allot_status render(const allot_audit_result *r, const allot_audit_options *o, const char *out_dir,
                           char **json, char **md, size_t *md_len, allot_error *err) {
    allot_error plot_err = {0};
    allot_status plots = o->plots && out_dir ? allot_audit_report_plots(r, out_dir, &plot_err) : ALLOT_OK;
    *json = allot_audit_report_json(r);
    if (!*json) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (report)");
    allot_status st = allot_audit_report_markdown(r, md, md_len, err);
    if (st == ALLOT_OK && out_dir) st = allot_audit_report_write(out_dir, *json, *md, *md_len, err);
    if (st == ALLOT_OK && plots != ALLOT_OK)
        st = allot_error_set(err, plots,
                             "%.400s (report.md and report.json were written; --no-plots skips the "
                             "figures)",
                             plot_err.msg);
    return st;
}

allot_status allot_audit_run(const allot_curves *c, const char *curves_path, const char *const *policies,
                             size_t n_policies, const allot_audit_options *o, const char *out_dir,
                             char **report_json, char **report_md, allot_audit_summary *summaries,
                             allot_error *err) {
    if (report_json) *report_json = NULL;
    if (report_md) *report_md = NULL;
    allot_status st = allot_audit_check_options(n_policies, o, err);
    if (st != ALLOT_OK) return st;
    allot_outdir dir = {0};
    if (out_dir && (st = allot_outdir_create(&dir, out_dir, err)) != ALLOT_OK) return st;
    allot_audit_result r;
    st = allot_audit_compute(c, curves_path, policies, n_policies, o, out_dir, &r, err);
    if (st != ALLOT_OK) {
        allot_outdir_finish(&dir, 0); /* nothing was written: no empty directory stays behind */
        return st;
    }
    char *json = NULL, *md = NULL;
    size_t md_len = 0;
    st = render(&r, o, out_dir, &json, &md, &md_len, err);
    for (size_t k = 0; summaries && st == ALLOT_OK && k < n_policies; k++)
        summarize(&r.policies[k], &summaries[k]);
    if (st == ALLOT_OK && report_json) {
        *report_json = json;
        json = NULL;
    }
    if (st == ALLOT_OK && report_md) {
        *report_md = md;
        md = NULL;
    }
    if (st == ALLOT_OK && !r.all_regret_bounds_hold)
        st = allot_error_set(err, ALLOT_E_CHECK, "a regret exceeds its bound (see report.json): a bug");
    free(json);
    free(md);
    allot_audit_result_free(&r);
    allot_outdir_finish(&dir, st == ALLOT_OK); /* on failure only a still empty one goes */
    return st;
}
