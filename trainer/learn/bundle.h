/*
 * bundle.h - write a policy bundle (docs/policy-bundle.md, format "allot-policy" version 1).
 *
 * The classifier's own text (XGBoost's JSON model, the feature spec) is copied into the document
 * verbatim, so the runtime reads exactly the numbers XGBoost and the featuriser wrote; every other
 * value (tier names, model texts, the rule) is printed by cJSON on its own, so no user string can
 * change the document's structure. The file is written atomically (trainer/common/atomic_file.h).
 */
#ifndef ALLOT_LEARN_BUNDLE_H
#define ALLOT_LEARN_BUNDLE_H

#include <stddef.h>

#include "allot/allot_error.h"

/** Everything that goes into a bundle. Strings are borrowed. */
typedef struct allot_bundle_parts {
    size_t n_tiers;
    const char *const *tier_names;
    const double *tier_costs;       /**< the tiers' mean cost over the training queries */
    const char *features_spec_json; /**< allot_featurizer_spec_json() text */
    const char *kind;               /**< "xgboost" | "liblinear" | "constant" | "mixture" */
    int n_classes;
    const int *class_tier;                 /**< class -> tier */
    const double *class_weights;           /**< kind mixture: n_classes weights, else NULL */
    const char *input;                     /**< "dense" | "dense+hashed" */
    const char *xgboost_json;              /**< kind xgboost: XGBoost's JSON model text */
    const char *liblinear_text;            /**< kind liblinear: the model file text */
    const char *target;                    /**< NULL (tier classifier) | "value" */
    size_t n_models;                       /**< target value: one model per class (= tier) */
    const char *const *xgboost_per_tier;   /**< target value, kind xgboost: n_models JSON model texts */
    const char *const *liblinear_per_tier; /**< target value, kind liblinear: n_models model file texts */
    const char *rule;                      /**< "calibrated" | "argmax" | "value" */
    double mu;                             /**< decision.mu, or decision.lambda for the value rule */
    const char *provenance_json;           /**< a JSON object's text (built by the caller with cJSON) */
    const char *sequential_json; /**< a sequential policy's "sequential" object text (docs/sequential.md),
                                      spliced verbatim; the bundle is then version 2. NULL: static */
} allot_bundle_parts;

/** Render the bundle as text (malloc'd, NUL-terminated). */
allot_status allot_bundle_render(const allot_bundle_parts *p, char **text, allot_error *err);
/** Render and write atomically to path. */
allot_status allot_bundle_write(const allot_bundle_parts *p, const char *path, allot_error *err);

#endif
