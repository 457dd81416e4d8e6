/*
 * sequential.c - sequential policies: one step of the stop-or-draw decision (allot_sequential.h).
 *
 * The model input of a step is the prompt's dense features followed by the ladder's state features
 * (allot_ladder_state); each stage has one accuracy regressor (the bundle's value models, one
 * class per stage); the decision is the value rule restricted to the stages still reachable.
 */
#include "allot/allot_sequential.h"

#include <math.h>
#include <string.h>

#include "ladder_internal.h"
#include "policy_internal.h"

int allot_policy_is_sequential(const allot_policy *p) {
    return p && p->ladder;
}

const allot_ladder *allot_policy_ladder(const allot_policy *p) {
    return p ? p->ladder : NULL;
}

size_t allot_policy_n_inputs(const allot_policy *p) {
    return p && p->ladder ? p->n_inputs : 0;
}

static allot_status check_seq_call(const char *fn, const allot_policy *p, const allot_workspace *ws,
                                   const allot_seq_query *q, allot_error *err) {
    if (!p || !ws || !q) return allot_error_set(err, ALLOT_E_ARGUMENT, "%s: NULL argument", fn);
    if (!p->ladder)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "%s: not a sequential policy (use allot_policy_predict)", fn);
    if (ws->p != p)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "%s: the workspace was made for another policy", fn);
    if (q->version < 1 || q->version > ALLOT_SEQ_VERSION)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "%s: allot_seq_query.version %u is not %u", fn,
                               q->version, ALLOT_SEQ_VERSION);
    return ALLOT_OK;
}

allot_status allot_policy_prompt_features(const allot_policy *p, const allot_query_input *q, float *out,
                                          size_t out_len, allot_error *err) {
    if (!p || !q || !out)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_policy_prompt_features: NULL argument");
    if (out_len < p->n_dense)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_policy_prompt_features: out holds %zu, need %zu",
                               out_len, p->n_dense);
    allot_status st = allot_rt_check_query("allot_policy_prompt_features", q, err);
    if (st) return st;
    return allot_featurize(p->feat, q->prompt, q->prompt_len, q->extras, q->n_extras, out, NULL, NULL, 0,
                           NULL, err);
}

/* The model input of q into ws->dense (prompt features, then state) and the stage summary. */
static allot_status step_input(const allot_policy *p, allot_workspace *ws, const allot_seq_query *q,
                               allot_stage_summary *sum, allot_error *err) {
    allot_status st;
    if (q->prompt_dense)
        memcpy(ws->dense, q->prompt_dense, p->n_dense * sizeof *ws->dense);
    else if ((st = allot_policy_prompt_features(p, &q->query, ws->dense, p->n_dense, err)))
        return st;
    return allot_ladder_state(p->ladder, q->samples, q->n_samples, ws->scratch, ws->scratch_size,
                              ws->dense + p->n_dense, sum, err);
}

/* The step values of a completed stage s into v: v[s] the predicted accuracy of stopping now (model
 * 0), v[t > s] the predicted gain of stopping at t instead (model t's output o mapped to 2o - 1). */
static allot_status step_values(const allot_policy *p, allot_workspace *ws, size_t s, double *v,
                                allot_error *err) {
    size_t ns = allot_ladder_n_stages(p->ladder);
    allot_status st = allot_policy_values(p, ws, ws->dense, 0, 1, err);
    if (st) return st;
    v[s] = ws->cprob[0];
    if (s + 1 < ns && (st = allot_policy_values(p, ws, ws->dense, s + 1, ns, err))) return st;
    for (size_t t = s + 1; t < ns; t++) v[t] = 2.0 * ws->cprob[t] - 1.0;
    return ALLOT_OK;
}

allot_status allot_policy_step_inputs(const allot_policy *p, allot_workspace *ws, const allot_seq_query *q,
                                      float *inputs, size_t inputs_len, double *values, size_t values_len,
                                      allot_error *err) {
    allot_status st = check_seq_call("allot_policy_step_inputs", p, ws, q, err);
    if (st) return st;
    size_t ns = allot_ladder_n_stages(p->ladder);
    if ((inputs && inputs_len < p->n_inputs) || (values && values_len < ns))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_policy_step_inputs: need %zu inputs and %zu values", p->n_inputs, ns);
    allot_stage_summary sum;
    if ((st = step_input(p, ws, q, &sum, err))) return st;
    if (inputs) memcpy(inputs, ws->dense, p->n_inputs * sizeof *inputs);
    if (!values) return ALLOT_OK;
    for (size_t t = 0; t < ns; t++) values[t] = NAN;
    return sum.stage < 0 ? ALLOT_OK : step_values(p, ws, (size_t)sum.stage, values, err);
}

/* The price of a call: the bundle's lambda, or a finite per-call one (value rule only). */
static allot_status step_price(const allot_policy *p, const allot_predict_options *opts, double *lambda,
                               allot_error *err) {
    *lambda = p->mu;
    if (!opts) return ALLOT_OK;
    allot_status st = allot_rt_check_options("allot_policy_step", opts, err);
    if (st) return st;
    if (opts->rule != -1 && opts->rule != ALLOT_RULE_VALUE)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_policy_step: a sequential policy uses the value rule");
    if (!isnan(opts->mu)) {
        if (!isfinite(opts->mu))
            return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_policy_step: the price must be finite");
        *lambda = opts->mu;
    }
    return ALLOT_OK;
}

/* Point out at stage `next` (draw to complete it). */
static void set_next(const allot_policy *p, const allot_seq_query *q, size_t next, allot_step *out) {
    size_t m = allot_ladder_stage_model(p->ladder, next), have = 0;
    for (size_t i = 0; i < q->n_samples; i++) have += q->samples[i].model == m;
    out->stop = 0;
    out->next_stage = next;
    out->next_model = m;
    out->draw = allot_ladder_stage_k(p->ladder, next) - have;
}

allot_status allot_policy_step(const allot_policy *p, allot_workspace *ws, const allot_seq_query *q,
                               const allot_predict_options *opts, allot_step *out, allot_error *err) {
    allot_status st = check_seq_call("allot_policy_step", p, ws, q, err);
    if (st) return st;
    if (!out || out->version < 1 || out->version > ALLOT_SEQ_VERSION)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_policy_step: out must be an allot_step of version %u",
                               ALLOT_SEQ_VERSION);
    double lambda;
    if ((st = step_price(p, opts, &lambda, err))) return st;
    allot_stage_summary sum;
    if ((st = step_input(p, ws, q, &sum, err))) return st;
    size_t ns = allot_ladder_n_stages(p->ladder);
    out->stage = sum.stage;
    out->lambda = lambda;
    out->cost_spent = sum.cost_spent;
    out->answer_sample = -1;
    out->value_now = out->value_target = NAN;
    if (sum.stage < 0) { /* nothing drawn yet: always the first stage */
        out->target_stage = 0;
        set_next(p, q, 0, out);
        return ALLOT_OK;
    }
    size_t s = (size_t)sum.stage;
    double *v = ws->stage_values;
    if ((st = step_values(p, ws, s, v, err))) return st;
    /* stop unless some later stage's predicted gain beats its extra cost (ties: the earlier stage) */
    size_t best = s;
    double best_v = 0;
    for (size_t t = s + 1; t < ns; t++) {
        double x = v[t] - lambda * (p->class_cost[t] - p->class_cost[s]);
        if (x > best_v) {
            best = t;
            best_v = x;
        }
    }
    out->value_now = v[s];
    out->value_target = best == s ? 0.0 : v[best];
    out->target_stage = best;
    if (best == s || s + 1 == ns) {
        out->stop = 1;
        out->next_stage = s;
        out->next_model = allot_ladder_stage_model(p->ladder, s);
        out->draw = 0;
        out->answer_sample = sum.answer_sample;
        return ALLOT_OK;
    }
    set_next(p, q, s + 1, out);
    return ALLOT_OK;
}
