/*
 * audit.h - `allot audit`: how good is a learned policy, and why (docs/learn-and-audit.md).
 *
 * For each policy bundle, on the held-out queries recorded in its provenance when the curves file has
 * the content it was trained on (never a training query), or on every query of any other curves
 * file with the same tier set (queries also in the training data counted, and left out of a second
 * set of figures; audit_internal.h):
 * the oracle, the learned policy under both decision rules (through the runtime's policy loader),
 * uniform allocation, the best single tier, random allocation with the oracle's tier mix, a
 * prompt-length heuristic and a difficulty-bin heuristic; imitation accuracy and confusion
 * matrix, regret with its two bounds, gain capture, efficiency and a paired bootstrap interval;
 * a budget sweep. Writes report.json, report.md and plots (trainer/common/plot.h) into a
 * directory, every file atomically.
 */
#ifndef ALLOT_AUDIT_H
#define ALLOT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "curves.h"

typedef struct allot_audit_options {
    double budget;       /**< the audit budget (mean cost per query) */
    const double *sweep; /**< budgets of the sweep, or NULL for the default (12 log-spaced between the
                            cheapest and the dearest tier) */
    size_t n_sweep;
    uint64_t seed;     /**< bootstrap and random-allocation seed (default 1) */
    int bootstrap;     /**< resamples (default 1000) */
    int plots;         /**< 1: render plots (default 1) */
    int progress;      /**< 1: progress on stderr */
    int sweep_retrain; /**< 1: also retrain each policy at every sweep budget (same learner, parameters
                            and split, from the bundle's provenance), beside the recalibrated curve */
} allot_audit_options;

void allot_audit_options_default(allot_audit_options *o);

/** Rules of the summary: [0] calibrated (price as shipped), [1] refit (to the evaluation batch),
 *  [2] argmax (audit_eval.h ALLOT_AUDIT_RULE_*). */
#define ALLOT_AUDIT_SUMMARY_RULES 3

/** The headline figures of one policy at the audit budget (everything else is in report.json). */
typedef struct allot_audit_summary {
    size_t n_test; /**< evaluation queries */
    int foreign;   /**< 1: evaluated on a file other than its training file */
    size_t n_leak; /**< evaluation queries also in the training data (same id or prompt) */
    int leaks_checked;
    double oracle_acc, oracle_cost;
    double learned_acc[ALLOT_AUDIT_SUMMARY_RULES], learned_cost[ALLOT_AUDIT_SUMMARY_RULES];
    double imitation[ALLOT_AUDIT_SUMMARY_RULES], price[ALLOT_AUDIT_SUMMARY_RULES];
    double regret_lagrangian[ALLOT_AUDIT_SUMMARY_RULES], bound_data_lagrangian[ALLOT_AUDIT_SUMMARY_RULES];
    double bound_literature_lagrangian[ALLOT_AUDIT_SUMMARY_RULES];
    double regret_acc[ALLOT_AUDIT_SUMMARY_RULES], bound_data_acc[ALLOT_AUDIT_SUMMARY_RULES];
    double bound_literature_acc[ALLOT_AUDIT_SUMMARY_RULES];
    double gain_capture[ALLOT_AUDIT_SUMMARY_RULES];
    double vs_deployable[ALLOT_AUDIT_SUMMARY_RULES][3]; /**< learned - deployable uniform: mean, lo, hi */
    double uniform_acc;                                 /**< hindsight uniform hull of the evaluation set */
    double deployable_acc; /**< the uniform mix chosen on the training data (NaN when unknown) */
    double deployable_cost;
    double clean_learned_acc[ALLOT_AUDIT_SUMMARY_RULES]; /**< without leaked queries (NaN when none) */
    double clean_deployable_acc, clean_oracle_acc;
    double best_single_acc, random_acc;
    double length_acc, bins_acc; /**< NaN on a foreign file (fitted on the training pool) */
    int bounds_hold;             /**< 1 when regret <= bound for both rules (a theorem: 0 means a bug) */
} allot_audit_summary;

/**
 * Run the audit. report_json / report_md (may be NULL) receive malloc'd copies of the reports;
 * summaries (may be NULL) receives n_policies entries. Returns ALLOT_E_CHECK after writing the
 * reports if a regret exceeds its bound.
 */
allot_status allot_audit_run(const allot_curves *c, const char *curves_path, const char *const *policies,
                             size_t n_policies, const allot_audit_options *o, const char *out_dir,
                             char **report_json, char **report_md, allot_audit_summary *summaries,
                             allot_error *err);

#endif
