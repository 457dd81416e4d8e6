/*
 * provenance.h - the `provenance` object of a policy bundle written by `allot train`
 * (docs/policy-bundle.md): the input file and its SHA-256, the options and learner parameters,
 * the split with its held-out ids, the training oracle, the training metrics and the training
 * pool's out-of-fold predictions (the audit's validation data). The bundle writer (bundle.h)
 * splices the text in verbatim.
 */
#ifndef ALLOT_LEARN_PROVENANCE_H
#define ALLOT_LEARN_PROVENANCE_H

#include "allot/allot_error.h"
#include "curves.h"
#include "dataset.h"
#include "learn.h"
#include "uniform.h"

/** What the provenance records (borrowed). */
typedef struct allot_provenance {
    const allot_curves *curves;
    const char *curves_path;    /**< the curves file (its base name is recorded), or NULL */
    const char *input_sha256;   /**< its SHA-256 (64 hex digits), or "" */
    const char *content_sha256; /**< the curves table's content digest (identity.h), 64 hex digits */
    const allot_train_options *opt;
    const allot_train_report *rep; /**< n_classes, rounds_used, chosen_C and the metrics */
    const allot_split *split;
    const int *oracle_tiers;          /**< split->n_train: the oracle's tier of each training query */
    const int *tier_labels;           /**< split->n_train: each training query's label (ties broken) */
    int constant;                     /**< 1: a constant policy (one class) */
    int hashed;                       /**< LIBLINEAR: the hashed n-gram block was used */
    const int *rounds_per_tier;       /**< value target, XGBoost: n_tiers boosting rounds */
    const double *C_per_tier;         /**< value target, LIBLINEAR: n_tiers values of C */
    const double *oof;                /**< split->n_train x rep->n_classes out-of-fold scores */
    const allot_uniform_mix *uniform; /**< the uniform policy (learner "uniform"): its mix; NULL otherwise */
} allot_provenance;

/** Render the provenance as one line of JSON (malloc'd, NUL-terminated). */
allot_status allot_provenance_render(const allot_provenance *p, char **json, allot_error *err);

#endif
