/*
 * audit_internal.h - one policy bundle under audit (audit_bundle.c), shared by the audit's sources
 * (not installed, not for callers).
 *
 * Loading a bundle reads it once (at most ALLOT_AUDIT_MAX_BUNDLE_BYTES), loads it with the runtime
 * (include/allot/allot_policy.h), maps its tiers onto the curves file's (the same set of names, in
 * any order; another set is an error) and decides how to evaluate it:
 *
 *   held-out  the curves file has the content the bundle was trained on (its content digest,
 *             identity.h; bundles older than the digest: the file's SHA-256): evaluated on the
 *             held-out queries recorded in its provenance; the training pool (out-of-fold scores
 *             from the provenance, or the runtime's in-sample ones when the bundle has none, and the
 *             curves' accuracies and costs) fits the heuristics and recalibrates the price;
 *   foreign   any other curves file: evaluated on every query of the file; queries that also occur
 *             in the training data (same id, or byte-identical prompt, by the hashes the provenance
 *             records) are counted and the headline figures are also given without them; there is
 *             no training pool in the file, so the heuristics fitted on it are not computed and
 *             the price is recalibrated on the out-of-fold scores with the tiers' prices.
 */
#ifndef ALLOT_AUDIT_INTERNAL_H
#define ALLOT_AUDIT_INTERNAL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "allot/allot_policy.h"
#include "audit_eval.h"
#include "curves.h"
#include "dataset.h"
#include "identity.h"
#include "learn.h"

/** Largest bundle the audit reads: the runtime's own limit, since a larger one would not load. */
#define ALLOT_AUDIT_MAX_BUNDLE_BYTES ((size_t)ALLOT_POLICY_MAX_FILE_BYTES)

/** Leak flags of an evaluation query (bit set). */
enum { ALLOT_AUDIT_LEAK_ID = 1, ALLOT_AUDIT_LEAK_PROMPT = 2 };

/** One policy bundle under audit. Rows x T matrices are row-major, in the bundle's tier order. */
typedef struct allot_audit_bundle {
    const char *path; /**< borrowed */
    char name[128];   /**< file name without directory and extension */
    char learner[32]; /**< provenance.learner, "?" when absent */
    allot_policy *rt;
    allot_workspace *ws;
    double *tier_probs;          /**< T: the runtime's per-tier output of one prediction */
    cJSON *provenance;           /**< the bundle's provenance without validation and metrics (owned) */
    cJSON *train_metrics;        /**< provenance.metrics (owned), or NULL */
    double train_budget;         /**< provenance.budget */
    allot_rule bundle_rule;      /**< decision.rule */
    double bundle_mu;            /**< decision.mu or decision.lambda */
    int value;                   /**< value policy: class scores are predicted accuracies */
    int in_sample;               /**< no out-of-fold block: training-pool probabilities are in-sample */
    allot_audit_mode mode;       /**< held-out split or foreign file */
    int identity_by_content;     /**< 1: the mode was decided by the content digest (else by file SHA-256) */
    allot_split sp;              /**< evaluation rows (test_idx) and, held-out only, the training pool */
    size_t T, K, nte, ntr;       /**< tiers, classes, evaluation queries and training-pool rows */
    size_t *col;                 /**< T: the curves column of each bundle tier */
    int *class_tier;             /**< K */
    double *class_cost;          /**< K: the bundle's cost of each class's tier */
    double *acc_te, *cost_te;    /**< nte x T */
    double *acc_tr, *cost_tr;    /**< ntr x T (held-out only; NULL in foreign mode) */
    double *prob_te;             /**< nte x K runtime class scores */
    double *price_te;            /**< nte x K: each class's price (what the online controller sees) */
    double *prob_tr;             /**< ntr x K out-of-fold (or in-sample) class scores, or NULL */
    double *realised_tr;         /**< ntr x K: each query's own cost of each class's tier (foreign: prices) */
    size_t *rt_tier_te;          /**< nte: the runtime's decision under the bundle's rule and price */
    double *len_tr, *len_te;     /**< prompt length in bytes */
    double *score_tr, *score_te; /**< predicted difficulty (only its order matters) */
    /* the training data as the provenance records it (allot train: provenance.training_pool) */
    int has_train_means;     /**< 1: deployable uniform available */
    double *train_tier_acc;  /**< T: each tier's mean accuracy over the training pool */
    double *train_tier_cost; /**< T */
    int has_hashes;          /**< 1: training ids / prompts hashes recorded */
    allot_hash_set train_ids, train_prompts;
    unsigned char *leak; /**< nte: ALLOT_AUDIT_LEAK_* bits */
    size_t n_leak_id, n_leak_prompt, n_leak;
} allot_audit_bundle;

/** The evaluated curves file's identity. */
typedef struct allot_audit_curves_id {
    const char *file_sha256;    /**< 64 hex digits ("" when unknown, e.g. stdin) */
    const char *content_sha256; /**< identity.h */
} allot_audit_curves_id;

/** Load and check the bundle at path against curves c. */
allot_status allot_audit_bundle_load(allot_audit_bundle *b, const char *path, const allot_curves *c,
                                     const allot_audit_curves_id *id, allot_error *err);
void allot_audit_bundle_free(allot_audit_bundle *b);

/**
 * A bundle view restricted to the evaluation rows keep[j] != 0 (the queries without a leak): the
 * evaluation arrays are copies (freed by allot_audit_bundle_subset_free), everything else is
 * borrowed from b. nte of the view may be 0.
 */
allot_status allot_audit_bundle_subset(const allot_audit_bundle *b, const unsigned char *keep,
                                       allot_audit_bundle *view, allot_error *err);
void allot_audit_bundle_subset_free(allot_audit_bundle *view);

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
