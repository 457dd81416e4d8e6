/*
 * allot_policy.h - load a policy bundle and decide a query's compute tier.
 *
 * A policy bundle (docs/policy-bundle.md) holds the tier table with costs, the feature spec, a
 * classifier (XGBoost JSON model or LIBLINEAR model) whose classes map to tiers, and a decision
 * rule. allot_policy_load_*() validates it and builds an immutable allot_policy; predicting a
 * query then featurises the raw prompt (allot_features.h), evaluates the classifier
 * (allot_model.h) and applies the rule:
 *
 *   argmax      the tier of the most probable class;
 *   calibrated  the tier of argmax_c [ log p(c|x) - mu * cost(tier(c)) ], mu the price of
 *               compute (the bundle's decision.mu, or a per-call override such as the budget
 *               controller's current price, allot_budget.h). Any finite mu: mu > 0 spends less
 *               than argmax, mu < 0 more (calibration raises an underspending classifier's spend).
 *   value       value policies (classifier.target "value"): the model predicts each tier's
 *               accuracy acc_t(x) instead of class probabilities; the tier of
 *               argmax_t [ acc_t(x) - lambda * cost_t ] (ties to the cheaper tier, then the lower
 *               index): the oracle's per-query rule on predicted curves. lambda = decision.lambda
 *               or the per-call price.
 *
 * Ownership and threads
 *   - allot_policy: created by a loader, released by allot_policy_free(). Immutable: any number of
 *     threads may predict on one shared policy concurrently.
 *   - allot_workspace: per-thread scratch for predictions, created for one policy with
 *     allot_workspace_create() and reused across calls (never used by two threads at once). With
 *     a workspace, predictions perform no heap allocation. A workspace may be NULL when
 *     allot_policy_needs_workspace() is 0 (small dense policies: scratch then lives on the stack).
 *   - Strings returned by accessors belong to the policy and live as long as it does.
 *
 * Errors: fallible functions return an allot_status and fill an optional allot_error whose message
 * names the offending bundle field ("classifier.classes[2]: tier index 7 out of range").
 */
#ifndef ALLOT_POLICY_H
#define ALLOT_POLICY_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "allot/allot_features.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bundle format name and the highest version this build reads (1: static policies; 2: adds
 *  sequential policies, allot_sequential.h). */
#define ALLOT_POLICY_FORMAT "allot-policy"
#define ALLOT_POLICY_VERSION 2
/** Limits enforced by the loader (hostile input). */
#define ALLOT_POLICY_MAX_TIERS 4096u
#define ALLOT_POLICY_MAX_FILE_BYTES (1024u * 1024u * 1024u)

typedef struct allot_policy allot_policy;
typedef struct allot_workspace allot_workspace;

/** Decision rules. */
typedef enum allot_rule {
    ALLOT_RULE_ARGMAX = 0,     /**< tier of the most probable class */
    ALLOT_RULE_CALIBRATED = 1, /**< tier of argmax_c log p(c|x) - mu * cost(tier(c)) */
    ALLOT_RULE_VALUE =
        2 /**< tier of argmax_t acc_t(x) - mu * cost_t, ties to the cheaper tier (value policies) */
} allot_rule;

/** What the model predicts (the bundle's classifier.target). */
typedef enum allot_policy_target {
    ALLOT_TARGET_TIER = 0, /**< class probabilities p(class|x) over the oracle's tiers (default) */
    ALLOT_TARGET_VALUE =
        1 /**< one regressor per class (tier) predicting the query's accuracy there, in [0,1] */
} allot_policy_target;

/** Classifier families. */
typedef enum allot_classifier_kind {
    ALLOT_CLASSIFIER_XGBOOST = 0,
    ALLOT_CLASSIFIER_LIBLINEAR = 1,
    ALLOT_CLASSIFIER_CONSTANT = 2, /**< a single class, no model (the oracle picked one tier only, or the
                                        uniform policy at a hull vertex) */
    ALLOT_CLASSIFIER_MIXTURE = 3   /**< no model: every query draws its class from fixed weights (the uniform
                                        policy between two hull tiers), deterministically from a hash of its
                                        prompt (allot_mixture_draw); the drawn class gets probability 1 */
} allot_classifier_kind;

/* ---- loading ------------------------------------------------------------------------------------ */

/** Load a bundle from `len` bytes of JSON in memory (need not be NUL-terminated; not kept). */
ALLOT_API allot_status allot_policy_load_memory(const char *data, size_t len, allot_policy **out,
                                                allot_error *err);
/** Load a bundle from a file (at most ALLOT_POLICY_MAX_FILE_BYTES). */
ALLOT_API allot_status allot_policy_load_file(const char *path, allot_policy **out, allot_error *err);
/** Release a policy (NULL allowed). No prediction may be running on it. */
ALLOT_API void allot_policy_free(allot_policy *p);

/* ---- inspection --------------------------------------------------------------------------------- */

ALLOT_API size_t allot_policy_n_tiers(const allot_policy *p);
/** Tier i's name (NULL when out of range). */
ALLOT_API const char *allot_policy_tier_name(const allot_policy *p, size_t i);
/** Tier i's cost (NaN when out of range). */
ALLOT_API double allot_policy_tier_cost(const allot_policy *p, size_t i);
/** Index of the tier called `name`, or -1. */
ALLOT_API long allot_policy_tier_index(const allot_policy *p, const char *name);
/** Mixture policies: the weight of class c (NaN for other kinds or out of range). */
ALLOT_API double allot_policy_class_weight(const allot_policy *p, size_t c);
/**
 * The class a mixture of n classes with the given weights draws for a prompt (what allot_policy_predict
 * decides for a mixture policy): h = FNV-1a 64 of the prompt bytes, then MurmurHash3's fmix64
 * finaliser (h ^= h >> 33; h *= 0xff51afd7ed558ccd; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53;
 * h ^= h >> 33); u = (h >> 11) / 2^53 in [0,1); the first
 * class whose cumulative weight (summed in class order, in double) exceeds u, the last class
 * otherwise. Identical prompts always get the same class. n must be >= 1.
 */
ALLOT_API size_t allot_mixture_draw(const double *weights, size_t n, const char *prompt, size_t prompt_len);
/** Number of classifier classes (tiers the oracle picked during training). */
ALLOT_API size_t allot_policy_n_classes(const allot_policy *p);
/** Tier index of class c, or -1 when out of range. */
ALLOT_API long allot_policy_class_tier(const allot_policy *p, size_t c);
ALLOT_API allot_classifier_kind allot_policy_classifier_kind(const allot_policy *p);
/** The bundle's decision rule and price: decision.mu (argmax, calibrated) or decision.lambda (value). */
ALLOT_API allot_rule allot_policy_rule(const allot_policy *p);
ALLOT_API double allot_policy_mu(const allot_policy *p);
/** ALLOT_TARGET_TIER (a classifier) or ALLOT_TARGET_VALUE (per-tier accuracy regressors). */
ALLOT_API allot_policy_target allot_policy_target_kind(const allot_policy *p);
/** The policy's featuriser (owned by the policy): names and order of the extra features. */
ALLOT_API const allot_featurizer *allot_policy_featurizer(const allot_policy *p);
/** 1 when predictions need a workspace (hashed input or large dense vectors), else 0. */
ALLOT_API int allot_policy_needs_workspace(const allot_policy *p);

/* ---- prediction --------------------------------------------------------------------------------- */

/** Create a workspace sized for policy p (one allocation). The policy must outlive it. */
ALLOT_API allot_status allot_workspace_create(const allot_policy *p, allot_workspace **out, allot_error *err);
/** Release a workspace (NULL allowed). */
ALLOT_API void allot_workspace_free(allot_workspace *ws);

/*
 * Structs the caller allocates, and how they stay compatible within a major version (the soname,
 * liballot.so.MAJOR):
 *   allot_predict_options  a leading `version` the caller sets (ALLOT_PREDICT_OPTIONS_INIT); the
 *                          library reads every version up to ALLOT_PREDICT_VERSION and refuses
 *                          others with ALLOT_E_ARGUMENT (as allot_sequential.h's structs do).
 *   allot_query_input,     elements of the batch arrays (allot_seq_query embeds the first): a fixed
 *   allot_decision         size with reserved room at the end instead of a version, so that the
 *                          array stride never changes. A query's reserved words must be 0 (a
 *                          positional or ALLOT_QUERY_INPUT_INIT initialiser does it); a later
 *                          version gives them a meaning whose zero is today's behaviour, and refuses
 *                          non-zero ones it does not know. A decision's reserved words are written
 *                          as 0; a later version may return more there.
 */

/** Version of allot_predict_options (its leading field). */
#define ALLOT_PREDICT_VERSION 1u

/**
 * Per-call options; pass NULL for the bundle's rule and price.
 * The sentinel for "the bundle's price" is NaN (any finite mu, negative included, is a price;
 * +-infinity is ALLOT_E_ARGUMENT). Any rule may be used with any policy: the rules only differ in
 * the arithmetic on the per-class scores (probabilities, or predicted accuracies for value policies).
 * Start from ALLOT_PREDICT_OPTIONS_INIT: `allot_predict_options o = ALLOT_PREDICT_OPTIONS_INIT;
 * o.rule = ALLOT_RULE_CALIBRATED; o.mu = price;`.
 */
typedef struct allot_predict_options {
    unsigned version; /**< ALLOT_PREDICT_VERSION */
    int rule;         /**< an allot_rule, or -1 for the bundle's rule (ALLOT_RULE_VALUE needs a value
                           policy: ALLOT_E_ARGUMENT otherwise) */
    double mu;        /**< price mu (calibrated) or lambda (value), any finite value; NaN: the bundle's */
} allot_predict_options;

/** Options meaning "the bundle's rule and price". */
#define ALLOT_PREDICT_OPTIONS_INIT                                                                           \
    { ALLOT_PREDICT_VERSION, -1, NAN }
/** The same as ALLOT_PREDICT_OPTIONS_INIT (the name of version 0.x). */
#define ALLOT_PREDICT_OPTIONS_DEFAULT ALLOT_PREDICT_OPTIONS_INIT

/** One query's input: the raw prompt and its extra features by position (see allot_features.h). */
typedef struct allot_query_input {
    const char *prompt; /**< prompt bytes (NULL allowed when prompt_len is 0) */
    size_t prompt_len;
    const double *extras; /**< allot_featurizer_n_extra() values, NaN = missing; or NULL = all missing */
    size_t n_extras;      /**< allot_featurizer_n_extra(), or 0 with extras NULL */
    uint64_t reserved[4]; /**< must be 0 (room for later fields; see above) */
} allot_query_input;
/** A query with every field 0; set prompt, prompt_len, extras and n_extras after it (or use C99
 *  designated initialisers: `{.prompt = p, .prompt_len = n}`). */
// clang-format off
#define ALLOT_QUERY_INPUT_INIT { NULL, 0, NULL, 0, { 0, 0, 0, 0 } }
// clang-format on

/** One decision. */
typedef struct allot_decision {
    size_t tier;          /**< the chosen tier index */
    size_t class_index;   /**< the chosen class (tier == allot_policy_class_tier(p, class_index)) */
    double cost;          /**< the chosen tier's cost */
    double expected_cost; /**< sum over tiers of p(tier|x) * cost(tier); value policies: NaN (no
                             probabilities) */
    double probability;   /**< p(chosen class | x); value policies: the chosen tier's predicted accuracy */
    double mu;            /**< the price used (mu or lambda; 0 for the argmax rule) */
    int rule;             /**< the rule used (an allot_rule) */
    uint64_t reserved[4]; /**< written as 0 (room for later outputs; see above) */
} allot_decision;

/**
 * Decide one query.
 *   ws         a workspace created for p, or NULL when allot_policy_needs_workspace(p) is 0.
 *   opts       NULL, or a per-call rule/mu override (version ALLOT_PREDICT_VERSION).
 *   tier_probs optional: tier_probs_len >= allot_policy_n_tiers(p) doubles receiving p(tier|x)
 *              (0 for tiers without a class); for value policies the predicted accuracies
 *              acc_t(x) in [0,1] (0 for tiers without a model); NULL with 0 to skip.
 *   out        the decision.
 * No heap allocation; thread-safe on a shared policy (each thread with its own workspace).
 */
ALLOT_API allot_status allot_policy_predict(const allot_policy *p, allot_workspace *ws,
                                            const allot_query_input *query, const allot_predict_options *opts,
                                            double *tier_probs, size_t tier_probs_len, allot_decision *out,
                                            allot_error *err);

/**
 * allot_policy_predict for a policy whose feature spec has an embedding block (allot_features.h): the
 * query's embedding is embedding_dim float32 values, which must equal allot_featurizer_embedding_dim()
 * of the policy's featuriser (ALLOT_E_ARGUMENT otherwise) and be finite (ALLOT_E_INVALID otherwise);
 * NULL with 0 means missing (allot_policy_predict does that). No heap allocation; thread-safe.
 */
ALLOT_API allot_status allot_policy_predict_embedded(const allot_policy *p, allot_workspace *ws,
                                                     const allot_query_input *query, const float *embedding,
                                                     size_t embedding_dim, const allot_predict_options *opts,
                                                     double *tier_probs, size_t tier_probs_len,
                                                     allot_decision *out, allot_error *err);

/**
 * Decide n queries: out[i] for queries[i]; tier_probs (optional) holds n * n_tiers values, row i
 * at tier_probs + i * n_tiers. Same results as n calls of allot_policy_predict(). Stops at the first
 * failing query and names its index in the message.
 */
ALLOT_API allot_status allot_policy_predict_batch(const allot_policy *p, allot_workspace *ws,
                                                  const allot_query_input *queries, size_t n,
                                                  const allot_predict_options *opts, double *tier_probs,
                                                  size_t tier_probs_len, allot_decision *out,
                                                  allot_error *err);

/**
 * The decision rule on its own (what allot_policy_predict applies, exposed so that trainers and
 * tests use the very same arithmetic): returns the chosen class among n classes with
 * probabilities probs[c] and costs costs[c] (the cost of class c's tier). argmax: the largest
 * probability; calibrated: the largest log(probs[c]) - mu * costs[c] in double, log(0) = -inf;
 * ties go to the smaller class index. value (probs = predicted accuracies): the largest
 * probs[c] - mu * costs[c] in double; ties go to the cheaper class, then the smaller index.
 * Classes whose score is NaN are never chosen (class 0 when all are). n must be >= 1.
 */
ALLOT_API size_t allot_rule_apply(allot_rule rule, double mu, const double *probs, const double *costs,
                                  size_t n);

#ifdef __cplusplus
}
#endif
#endif /* ALLOT_POLICY_H */
