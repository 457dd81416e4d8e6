/*
 * runtime_adapter.h - the serving runtime's policy API (include/allot/allot_policy.h) seen from the
 * trainer, without including allot_policy.h next to trainer/curves/curves.h: both headers define
 * an `allot_rule` enum (selection rule vs decision rule), so no translation unit can include both.
 * This module is the only one of allot_learn/allot_audit that includes allot_policy.h.
 */
#ifndef ALLOT_LEARN_RUNTIME_ADAPTER_H
#define ALLOT_LEARN_RUNTIME_ADAPTER_H

#include <stddef.h>

#include "allot/allot_error.h"
#include "allot/allot_features.h"

/** A loaded policy bundle with one workspace (not thread-safe: one per thread). */
typedef struct allot_rt_policy allot_rt_policy;

/** Decision rule selectors for allot_rt_predict (values match allot_policy.h's allot_rule). */
enum { ALLOT_RT_BUNDLE_RULE = -1, ALLOT_RT_ARGMAX = 0, ALLOT_RT_CALIBRATED = 1, ALLOT_RT_VALUE = 2 };

allot_status allot_rt_load(const char *path, allot_rt_policy **out, allot_error *err);
void allot_rt_free(allot_rt_policy *p);

size_t allot_rt_n_tiers(const allot_rt_policy *p);
const char *allot_rt_tier_name(const allot_rt_policy *p, size_t t);
double allot_rt_tier_cost(const allot_rt_policy *p, size_t t);
size_t allot_rt_n_classes(const allot_rt_policy *p);
long allot_rt_class_tier(const allot_rt_policy *p, size_t c);
/** The bundle's rule (ALLOT_RT_ARGMAX, ALLOT_RT_CALIBRATED or ALLOT_RT_VALUE) and its price (mu or lambda).
 */
int allot_rt_rule(const allot_rt_policy *p);
double allot_rt_mu(const allot_rt_policy *p);
const allot_featurizer *allot_rt_featurizer(const allot_rt_policy *p);
/** 1 for a value policy (classifier.target "value": the class scores are predicted accuracies). */
int allot_rt_is_value(const allot_rt_policy *p);

/**
 * Decide one query with the runtime (rule: ALLOT_RT_*; mu: the price, any finite value, or NaN for
 * the bundle's). class_prob (may be NULL): allot_rt_n_classes() values p(class|x).
 */
allot_status allot_rt_predict(allot_rt_policy *p, const char *prompt, size_t prompt_len, const double *extras,
                              size_t n_extras, int rule, double mu, size_t *tier, double *class_prob,
                              allot_error *err);

/** The runtime's decision rule on class probabilities (allot_rule_apply); costs = class tier costs. */
size_t allot_rt_rule_apply(int rule, double mu, const double *probs, const double *costs, size_t n);

#endif
