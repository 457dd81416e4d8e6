/*
 * audit.h - `allot audit`: how good is a learned policy, and why (docs/learn-and-audit.md).
 *
 * For each policy bundle, on the held-out queries recorded in its provenance (never a training
 * query; the curves file must be the one the policy was trained on, checked by SHA-256):
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

/** The headline figures of one policy at the audit budget (everything else is in report.json). */
typedef struct allot_audit_summary {
    size_t n_test;
    double oracle_acc, oracle_cost;
    double learned_acc[2], learned_cost[2], imitation[2]; /**< [0] calibrated, [1] argmax */
    double regret_lagrangian[2], bound_data_lagrangian[2], bound_literature_lagrangian[2];
    double regret_acc[2], bound_data_acc[2], bound_literature_acc[2];
    double gain_capture[2];
    double uniform_acc, best_single_acc, random_acc, length_acc, bins_acc;
    int bounds_hold; /**< 1 when regret <= bound for both rules (a theorem: 0 means a bug) */
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
