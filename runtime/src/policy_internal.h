/*
 * policy_internal.h - the policy and workspace structs, shared by policy.c (static policies, loading)
 * and sequential.c (sequential policies). Not installed.
 */
#ifndef ALLOT_POLICY_INTERNAL_H
#define ALLOT_POLICY_INTERNAL_H

#include "allot/allot_model.h"
#include "allot/allot_policy.h"
#include "allot/allot_sequential.h"

/* Stack scratch limits for allot_policy_predict without a workspace. */
#define STACK_MAX_DENSE 256u
#define STACK_MAX_CLASSES 64u

struct allot_policy {
    size_t n_tiers;
    char **tier_name;
    double *tier_cost;
    size_t n_classes;
    size_t *class_tier;
    double *class_cost;
    allot_classifier_kind kind;
    int hashed_input; /* LIBLINEAR input includes the hashed block */
    allot_featurizer *feat;
    size_t n_dense;
    uint32_t hash_dim;
    allot_xgb_model *xgb;
    size_t xgb_width; /* PROBA width: n_classes, or 1 for a binary model */
    allot_linear_model *lin;
    size_t lin_n_labels;
    size_t *lin_label_class; /* label position -> class */
    int lin_prob;            /* logistic solver: predict_probability */
    size_t lin_n_dec;
    allot_rule rule;
    double mu;
    int needs_ws;
    allot_policy_target target;
    double *class_weight;       /* mixture: n_classes weights (sum 1) */
    allot_xgb_model **xgb_t;    /* value target: one reg:logistic model per class */
    allot_linear_model **lin_t; /* value target: one SVR model per class */
    /* sequential policies (the bundle's "sequential" section); NULL / 0 for static ones */
    allot_ladder *ladder;
    size_t n_inputs;              /* model input: n_dense (static) or n_dense + state features */
    double *in_center, *in_scale; /* LIBLINEAR: standardisation of the n_inputs input values */
};

struct allot_workspace {
    const allot_policy *p;
    float *dense;
    float *stdz;
    uint32_t *sidx;
    float *sval;
    float *xout;
    double *cprob;
    double *dec;
    void *scratch;        /* sequential: the ladder's scratch */
    double *stage_values; /* sequential: one value per stage */
    size_t scratch_size;
};

/** Evaluate the per-class value models of p on the model input x (n_inputs floats; LIBLINEAR
 *  standardises it with in_center/in_scale or the featuriser's) for classes [c0, c1) into
 *  ws->cprob; used by the sequential step. */
allot_status allot_policy_values(const allot_policy *p, allot_workspace *ws, const float *x, size_t c0,
                                 size_t c1, allot_error *err);

/** ALLOT_E_ARGUMENT (the message starting with fn) unless opts is NULL or of a version this library
 *  reads (allot_predict_options.version, 1 .. ALLOT_PREDICT_VERSION). */
allot_status allot_rt_check_options(const char *fn, const allot_predict_options *opts, allot_error *err);
/** ALLOT_E_ARGUMENT unless the query's reserved words are 0 (allot_policy.h). */
allot_status allot_rt_check_query(const char *fn, const allot_query_input *q, allot_error *err);

#endif
