/*
 * allot_sequential.h - sequential policies: decide, after each stage of samples, whether to stop
 * or to draw the next stage (docs/sequential.md).
 *
 * A static policy (allot_policy.h) decides a query's compute once, from its prompt. A sequential
 * policy works over a LADDER of stages, e.g. "majority@1,2,4,8,16" (draw 1 sample, decide; draw up
 * to 2, decide; ...) or a cascade "small:majority@1,2 > large:majority@1,2" (the dearer model only
 * after the cheaper one's stages). After each stage it looks at what the samples so far show (how
 * strongly the answers agree, the form of the leading answer, verifier scores, the prompt) and
 * either stops (answering with the stage's selection: majority vote, best score, score-weighted
 * vote) or draws the next stage.
 *
 * Two objects:
 *   allot_ladder     the stages and the STATE FEATURES: the one function (allot_ladder_state)
 *                    that turns the samples seen so far into numbers. The trainer builds its
 *                    training rows with it and the runtime decides with it, so serving computes
 *                    what training saw, bit for bit (integer arithmetic and IEEE +,-,*,/ only).
 *   a sequential allot_policy   a bundle (docs/policy-bundle.md, "sequential") holding a ladder,
 *                    one regressor per stage (XGBoost or LIBLINEAR) and a price lambda. Model 0
 *                    predicts the accuracy of stopping now; model t >= 1 the accuracy GAINED by
 *                    stopping at stage t instead of now. allot_policy_step() stops unless some later
 *                    stage's predicted gain exceeds lambda times its extra cost; otherwise it names
 *                    the next stage.
 *
 * Threads and memory: ladders and policies are immutable after loading; any number of threads may
 * use one concurrently. Per-call scratch comes from the caller (allot_ladder_scratch_size(), or the
 * policy's allot_workspace): no call below allocates except the constructors.
 *
 * Versioned structs: allot_seq_query and allot_step carry a `version` field the caller sets to
 * ALLOT_SEQ_VERSION (use the _INIT macros); a later library reads older versions, and refuses a
 * version it does not know with ALLOT_E_ARGUMENT.
 */
#ifndef ALLOT_SEQUENTIAL_H
#define ALLOT_SEQUENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "allot/allot_policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the structs below (and of the ladder spec format). */
#define ALLOT_SEQ_VERSION 1u
/** Limits (checked by allot_ladder_create before allocating). */
#define ALLOT_LADDER_MAX_STAGES 256u
#define ALLOT_LADDER_MAX_MODELS 16u
#define ALLOT_LADDER_MAX_K 100000u /**< samples of one model at its last stage */

/** How a stage picks the answer among its model's samples (as the curves tiers do). */
typedef enum allot_stage_rule {
    ALLOT_STAGE_PASS = 0,     /**< coverage: right if any sample is right (a perfect verifier) */
    ALLOT_STAGE_MAJORITY = 1, /**< the most frequent non-null answer (ties: the first drawn) */
    ALLOT_STAGE_BEST = 2,     /**< the answer of the highest-score sample (ties: the first drawn) */
    ALLOT_STAGE_VOTE = 3      /**< the answer with the largest sum of scores (ties: the first drawn) */
} allot_stage_rule;

/** One sample seen so far, in the order drawn. */
typedef struct allot_sample_view {
    const char *answer; /**< the extracted final answer's bytes (compared byte for byte); NULL = no
                             answer (a null answer never wins a vote) */
    size_t answer_len;
    double score;      /**< verifier score (higher is better); NaN when there is none */
    double cost;       /**< what this sample cost (>= 0, finite) */
    uint32_t model;    /**< index of the model that produced it (allot_ladder_model_index) */
    uint32_t reserved; /**< must be 0 */
} allot_sample_view;

typedef struct allot_ladder allot_ladder;

/** One stage (an output: the library fills every field, reserved ones with 0; its size is fixed
 *  for the major version, the reserved words taking later fields). */
typedef struct allot_stage_info {
    size_t model;          /**< model index */
    size_t k;              /**< samples of that model drawn when the stage is complete */
    allot_stage_rule rule; /**< how the stage answers */
    const char *name;      /**< display name, e.g. "majority@4" or "large:majority@2" (the ladder's) */
    uint64_t reserved[2];  /**< written as 0 */
} allot_stage_info;

/**
 * What allot_ladder_state() found besides the features: the stage the samples complete and the
 * answer that stage would give.
 */
typedef struct allot_stage_summary {
    long stage;           /**< index of the stage the samples complete; -1 when there are none */
    long answer_sample;   /**< index (into the samples) of a sample carrying the stage's answer; -1 when
                               the stage has no answer (all null, or the pass rule) */
    double cost_spent;    /**< sum of the samples' costs */
    uint64_t reserved[2]; /**< written as 0 (fixed size for the major version) */
} allot_stage_summary;

/**
 * Create a ladder from its JSON spec (the "sequential" object of a bundle, docs/sequential.md):
 *   {"version": 1, "models": ["small", "large"],
 *    "stages": [{"model": 0, "k": 1, "rule": "majority"}, ...]}
 * Stages of one model are consecutive with strictly increasing k; a cascade never returns to an
 * earlier model. Errors name the field ("sequential.stages[2].k: must increase (4 after 4)").
 */
ALLOT_API allot_status allot_ladder_create(const char *spec_json, size_t len, allot_ladder **out,
                                           allot_error *err);
ALLOT_API void allot_ladder_free(allot_ladder *l);
/** The spec as compact JSON (snprintf-like: returns the full length; create(spec) == l). */
ALLOT_API size_t allot_ladder_spec_json(const allot_ladder *l, char *buf, size_t cap);

ALLOT_API size_t allot_ladder_n_stages(const allot_ladder *l);
ALLOT_API size_t allot_ladder_n_models(const allot_ladder *l);
/** Model m's name ("" = a file's only, unnamed model); NULL when out of range. */
ALLOT_API const char *allot_ladder_model_name(const allot_ladder *l, size_t m);
/** Index of the model called name, or -1. */
ALLOT_API long allot_ladder_model_index(const allot_ladder *l, const char *name);
/** Stage i (ALLOT_E_ARGUMENT when out of range). */
ALLOT_API allot_status allot_ladder_stage(const allot_ladder *l, size_t i, allot_stage_info *out,
                                          allot_error *err);
/** Samples drawn in all when the last stage is complete. */
ALLOT_API size_t allot_ladder_max_samples(const allot_ladder *l);

/** Number of state features (they follow the prompt's dense features in a policy's input). */
ALLOT_API size_t allot_ladder_n_state(const allot_ladder *l);
/** Stable name of state feature i ("seq.stage", "m0.lead_share", ...); NULL when out of range. */
ALLOT_API const char *allot_ladder_state_name(const allot_ladder *l, size_t i);
/** Bytes of scratch allot_ladder_state() needs. */
ALLOT_API size_t allot_ladder_scratch_size(const allot_ladder *l);

/**
 * Which stage do these samples complete? *stage = -1 for none; the samples of each model must
 * match a stage exactly (ALLOT_E_INVALID otherwise, naming the model and its count: "3 samples of
 * model 'small' seen; its stages end at 1, 2 or 4"; more than the ladder holds is an error too).
 */
ALLOT_API allot_status allot_ladder_locate(const allot_ladder *l, const allot_sample_view *s, size_t n,
                                           long *stage, allot_error *err);

/**
 * The state features of the samples seen so far (allot_ladder_n_state() floats into out, in the
 * order of allot_ladder_state_name(); NaN = not defined, e.g. a share with no sample), computed
 * with integer arithmetic and IEEE +,-,*,/ only. sum (may be NULL) receives the stage and its answer.
 * scratch: allot_ladder_scratch_size() bytes (any alignment). Fails as allot_ladder_locate() does.
 * No allocation; thread-safe.
 */
ALLOT_API allot_status allot_ladder_state(const allot_ladder *l, const allot_sample_view *s, size_t n,
                                          void *scratch, size_t scratch_size, float *out,
                                          allot_stage_summary *sum, allot_error *err);

/**
 * Adaptive-Consistency's stopping quantity: with a votes for the leading answer and b for the
 * runner-up, P(p > 1/2) for p ~ Beta(a+1, b+1) = P(Binomial(a+b+1, 1/2) <= a). Exact up to rounding
 * (IEEE arithmetic only; terms below 2^-60 of the sum are dropped). NaN for negative counts.
 */
ALLOT_API double allot_beta_stop_prob(uint32_t a, uint32_t b);

/* ---- sequential policies ------------------------------------------------------------------------ */

/** 1 when p is a sequential policy (the bundle has a "sequential" section), else 0. */
ALLOT_API int allot_policy_is_sequential(const allot_policy *p);
/** The policy's ladder (owned by the policy), or NULL for a static policy. */
ALLOT_API const allot_ladder *allot_policy_ladder(const allot_policy *p);

/** One query at one point of its sequence. */
typedef struct allot_seq_query {
    unsigned version;                 /**< ALLOT_SEQ_VERSION */
    allot_query_input query;          /**< prompt and extra features (allot_policy.h) */
    const float *prompt_dense;        /**< optional: this query's allot_policy_prompt_features() (computed
                                           once per query instead of at every stage); NULL = from query */
    const allot_sample_view *samples; /**< the samples drawn so far, in order (NULL when none) */
    size_t n_samples;
} allot_seq_query;
#define ALLOT_SEQ_QUERY_INIT                                                                                 \
    { ALLOT_SEQ_VERSION, ALLOT_QUERY_INPUT_INIT, NULL, NULL, 0 }

/** A step decision. */
typedef struct allot_step {
    unsigned version;    /**< the caller sets ALLOT_SEQ_VERSION */
    int stop;            /**< 1: stop and answer; 0: draw `draw` more samples of `next_model` */
    long stage;          /**< the stage the samples complete (-1: none yet) */
    size_t next_stage;   /**< when !stop: the stage to complete next */
    size_t next_model;   /**< when !stop: the model to draw from */
    size_t draw;         /**< when !stop: how many more samples of next_model */
    long answer_sample;  /**< when stopping: a sample carrying the answer (-1: none) */
    double value_now;    /**< predicted accuracy of stopping now (NaN before any sample) */
    double value_target; /**< predicted accuracy gain at the stage the rule aims for (0 when stopping) */
    size_t target_stage; /**< the stage maximising predicted gain - lambda * extra cost */
    double lambda;       /**< the price used */
    double cost_spent;   /**< the samples' summed cost */
} allot_step;
#define ALLOT_STEP_INIT                                                                                      \
    { ALLOT_SEQ_VERSION, 0, -1, 0, 0, 0, -1, 0, 0, 0, 0, 0 }

/**
 * The prompt's dense features for a sequential policy (allot_featurizer_n_dense() floats of the
 * policy's featuriser), to pass as allot_seq_query.prompt_dense at every stage of that query.
 */
ALLOT_API allot_status allot_policy_prompt_features(const allot_policy *p, const allot_query_input *q,
                                                    float *out, size_t out_len, allot_error *err);

/**
 * Decide one step. opts: NULL, or a per-call price (opts->mu, e.g. the budget controller's; the
 * rule must be -1 or ALLOT_RULE_VALUE). Before any sample the decision is always "draw stage 0".
 * At the last stage it is always "stop". In between, at stage s: with g_t = 2 o_t - 1 the predicted
 * gain of stopping at stage t > s instead of now (o_t: model t's output in (0,1), in double) and c_t
 * the stage's cost in the bundle (its mean cumulative cost in training), the target is the stage
 * maximising g_t - lambda * (c_t - c_s), the current stage scoring 0 and ties going to the earlier
 * stage; stop when the target is s, else draw the next stage. ws: a workspace of p (required). No
 * allocation; thread-safe with one workspace per thread.
 */
ALLOT_API allot_status allot_policy_step(const allot_policy *p, allot_workspace *ws, const allot_seq_query *q,
                                         const allot_predict_options *opts, allot_step *out,
                                         allot_error *err);

/**
 * The full model input of a step (allot_policy_n_inputs() floats: the prompt's dense features,
 * then the state features) and, in values (may be NULL; allot_ladder_n_stages() doubles), what
 * allot_policy_step() decides from: values[s] the predicted accuracy of stopping now at the stage
 * s the samples complete, values[t > s] the predicted gains g_t, NaN for t < s (and everywhere
 * before any sample). Exposed for audits and tests.
 */
ALLOT_API allot_status allot_policy_step_inputs(const allot_policy *p, allot_workspace *ws,
                                                const allot_seq_query *q, float *inputs, size_t inputs_len,
                                                double *values, size_t values_len, allot_error *err);
/** Length of a sequential policy's model input (prompt dense + state), 0 for a static policy. */
ALLOT_API size_t allot_policy_n_inputs(const allot_policy *p);

#ifdef __cplusplus
}
#endif
#endif /* ALLOT_SEQUENTIAL_H */
