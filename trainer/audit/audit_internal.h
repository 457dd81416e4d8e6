/*
 * audit_internal.h - one policy bundle under audit (audit_bundle.c), shared by the audit's sources
 * (not installed, not for callers).
 *
 * Loading a bundle reads it once (at most ALLOT_AUDIT_MAX_BUNDLE_BYTES), checks that it was trained
 * on this curves file (SHA-256), loads it with the runtime (include/allot/allot_policy.h), and
 * gathers the two views of the curves table the audit evaluates on: the held-out queries recorded
 * in its provenance (decided by the runtime) and the training pool (out-of-fold probabilities from
 * the provenance, or the runtime's in-sample ones when the bundle has none).
 */
#ifndef ALLOT_AUDIT_INTERNAL_H
#define ALLOT_AUDIT_INTERNAL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "allot/allot_policy.h"
#include "audit_eval.h"
#include "curves.h"
#include "dataset.h"
#include "learn.h"

/** Largest bundle the audit reads: the runtime's own limit, since a larger one would not load. */
#define ALLOT_AUDIT_MAX_BUNDLE_BYTES ((size_t)ALLOT_POLICY_MAX_FILE_BYTES)

/** One policy bundle under audit. Rows x T matrices are row-major. */
typedef struct allot_audit_bundle {
    const char *path; /**< borrowed */
    char name[128];   /**< file name without directory and extension */
    char learner[32]; /**< provenance.learner, "?" when absent */
    allot_policy *rt;
    allot_workspace *ws;
    double *tier_probs;     /**< T: the runtime's per-tier output of one prediction */
    cJSON *provenance;      /**< the bundle's provenance without validation and metrics (owned) */
    cJSON *train_metrics;   /**< provenance.metrics (owned), or NULL */
    double train_budget;    /**< provenance.budget */
    allot_rule bundle_rule; /**< decision.rule */
    double bundle_mu;       /**< decision.mu or decision.lambda */
    int value;              /**< value policy: class scores are predicted accuracies */
    int in_sample;          /**< no out-of-fold block: training-pool probabilities are in-sample */
    allot_split sp;         /**< held-out (test_idx) and training pool (train_idx) */
    size_t T, K, nte, ntr;  /**< tiers, classes, held-out and training-pool queries */
    int *class_tier;        /**< K */
    double *class_cost;     /**< K: the bundle's cost of each class's tier */
    double *acc_te, *cost_te, *acc_tr, *cost_tr; /**< rows x T */
    double *prob_te;                             /**< nte x K runtime class scores */
    double *prob_tr;                             /**< ntr x K out-of-fold (or in-sample) class scores */
    double *realised_tr;                         /**< ntr x K: each query's own cost of each class's tier */
    size_t *rt_tier_te;          /**< nte: the runtime's decision under the bundle's rule and price */
    double *len_tr, *len_te;     /**< prompt length in bytes */
    double *score_tr, *score_te; /**< predicted difficulty (only its order matters) */
} allot_audit_bundle;

/** Load and check the bundle at path against curves c (whose SHA-256 is curves_sha). */
allot_status allot_audit_bundle_load(allot_audit_bundle *b, const char *path, const allot_curves *c,
                                     const char *curves_sha, allot_error *err);
void allot_audit_bundle_free(allot_audit_bundle *b);

/** The runtime rule behind report rule ALLOT_AUDIT_RULE_*: the value rule for value policies. */
allot_rule allot_audit_bundle_rule_for(const allot_audit_bundle *b, int report_rule);

/**
 * The training options recorded in a bundle (learner, parameters, split, seed, features), to train
 * it again at another budget. The comma lists of feature names are written into feat / meta
 * (caller-owned buffers that o then points to).
 */
allot_status allot_audit_train_options(const allot_audit_bundle *b, allot_train_options *o, char *feat,
                                       size_t feat_cap, char *meta, size_t meta_cap, allot_error *err);

#endif
