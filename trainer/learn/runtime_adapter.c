/* runtime_adapter.c - see runtime_adapter.h. */
#include "runtime_adapter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_policy.h"

_Static_assert(ALLOT_RT_ARGMAX == (int)ALLOT_RULE_ARGMAX &&
                   ALLOT_RT_CALIBRATED == (int)ALLOT_RULE_CALIBRATED &&
                   ALLOT_RT_VALUE == (int)ALLOT_RULE_VALUE,
               "runtime_adapter.h rule numbers must match allot_policy.h");

struct allot_rt_policy {
    allot_policy *p;
    allot_workspace *ws;
    double *tier_probs;
    size_t n_tiers;
};

allot_status allot_rt_load(const char *path, allot_rt_policy **out, allot_error *err) {
    *out = NULL;
    allot_rt_policy *r = calloc(1, sizeof *r);
    if (!r) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (policy)");
    allot_status st = allot_policy_load_file(path, &r->p, err);
    if (st == ALLOT_OK) st = allot_workspace_create(r->p, &r->ws, err);
    if (st == ALLOT_OK) {
        r->n_tiers = allot_policy_n_tiers(r->p);
        r->tier_probs = malloc((r->n_tiers ? r->n_tiers : 1) * sizeof *r->tier_probs);
        if (!r->tier_probs) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (policy)");
    }
    if (st != ALLOT_OK) {
        allot_rt_free(r);
        return st;
    }
    *out = r;
    return ALLOT_OK;
}

void allot_rt_free(allot_rt_policy *r) {
    if (!r) return;
    allot_workspace_free(r->ws);
    allot_policy_free(r->p);
    free(r->tier_probs);
    free(r);
}

size_t allot_rt_n_tiers(const allot_rt_policy *r) {
    return allot_policy_n_tiers(r->p);
}
const char *allot_rt_tier_name(const allot_rt_policy *r, size_t t) {
    return allot_policy_tier_name(r->p, t);
}
double allot_rt_tier_cost(const allot_rt_policy *r, size_t t) {
    return allot_policy_tier_cost(r->p, t);
}
size_t allot_rt_n_classes(const allot_rt_policy *r) {
    return allot_policy_n_classes(r->p);
}
long allot_rt_class_tier(const allot_rt_policy *r, size_t c) {
    return allot_policy_class_tier(r->p, c);
}
int allot_rt_rule(const allot_rt_policy *r) {
    return (int)allot_policy_rule(r->p);
}
double allot_rt_mu(const allot_rt_policy *r) {
    return allot_policy_mu(r->p);
}
const allot_featurizer *allot_rt_featurizer(const allot_rt_policy *r) {
    return allot_policy_featurizer(r->p);
}
int allot_rt_is_value(const allot_rt_policy *r) {
    return allot_policy_target_kind(r->p) == ALLOT_TARGET_VALUE;
}

allot_status allot_rt_predict(allot_rt_policy *r, const char *prompt, size_t prompt_len, const double *extras,
                              size_t n_extras, int rule, double mu, size_t *tier, double *class_prob,
                              allot_error *err) {
    allot_query_input q = {prompt, prompt_len, n_extras ? extras : NULL, n_extras};
    allot_predict_options o = {rule < 0 ? -1 : rule,
                               mu}; /* ALLOT_RT_* == allot_rule values; NaN mu: the bundle's */
    allot_decision d;
    allot_status st = allot_policy_predict(r->p, r->ws, &q, &o, r->tier_probs, r->n_tiers, &d, err);
    if (st != ALLOT_OK) return st;
    *tier = d.tier;
    if (class_prob) {
        size_t K = allot_policy_n_classes(r->p);
        for (size_t c = 0; c < K; c++) {
            long t = allot_policy_class_tier(r->p, c);
            class_prob[c] = t >= 0 && (size_t)t < r->n_tiers ? r->tier_probs[t] : NAN;
        }
    }
    return ALLOT_OK;
}

size_t allot_rt_rule_apply(int rule, double mu, const double *probs, const double *costs, size_t n) {
    return allot_rule_apply((allot_rule)rule, mu, probs, costs, n);
}
