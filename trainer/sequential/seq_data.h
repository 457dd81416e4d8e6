/*
 * seq_data.h - the data of sequential policies: ladders from the command line, labelled runs as
 * per-model sample pools, and the training rows (one per query x ordering x stage).
 *
 * Rows (docs/sequential.md): for each query, `orderings` seeded random orderings of each model's
 * recorded samples; the samples are drawn in ladder order (the first model's pool in its order, then
 * the next model's ...). At each stage s of an ordering, the row holds
 *   x    the model input: the prompt's dense features then the ladder's state features, computed
 *        by the runtime's allot_ladder_state() exactly as serving computes them;
 *   y[t] for t >= s, the expected accuracy of stopping at stage t given the samples seen, the
 *        expectation taken over `continuations` seeded random continuations of the query's
 *        remaining samples (y[s] is exact: the stage's accuracy on the samples seen); NaN for t < s;
 *   acc  the stage's accuracy on the samples seen (ties split evenly), cost their summed cost.
 * Everything is seeded by (seed, query id, ordering, stage): the same input and seed give the same
 * rows whatever the order of the file's lines.
 */
#ifndef ALLOT_SEQ_DATA_H
#define ALLOT_SEQ_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "allot/allot_features.h"
#include "allot/allot_sequential.h"

/**
 * Parse a ladder given on the command line: segments separated by '>' (a cascade, cheaper model
 * first), each a tier spec of one model and one rule with increasing k: "majority@1,2,4,8",
 * "small:majority@1,2,4 > large:majority@1,2". *out is a runtime ladder (allot_sequential.h).
 */
allot_status allot_sq_ladder_parse(const char *spec, allot_ladder **out, allot_error *err);

/** One recorded sample. */
typedef struct allot_sq_sample {
    int32_t answer; /**< answer id within the query (-1: null) */
    int correct;
    double score; /**< NaN when absent */
    double cost;
} allot_sq_sample;

/** One query: its samples grouped by ladder model. */
typedef struct allot_sq_query {
    char *id, *prompt; /**< prompt may be NULL */
    char *record;      /**< {"features":{..},"meta":{..}} of the line, or NULL */
    size_t line;
    size_t n_answers;
    char **answers; /**< n_answers distinct answer strings */
    size_t *answer_len;
    size_t off[ALLOT_LADDER_MAX_MODELS + 1]; /**< samples of ladder model m: samples[off[m] .. off[m+1]) */
    allot_sq_sample *samples;
} allot_sq_query;

/** Labelled runs loaded for a ladder. */
typedef struct allot_sq_data {
    size_t n, cap;
    allot_sq_query *q;
    size_t n_models;
    double mean_sample_cost[ALLOT_LADDER_MAX_MODELS]; /**< over every loaded sample of each model */
} allot_sq_data;

/**
 * Load a labelled-runs file for a ladder: every query must hold at least the ladder's samples of
 * each of its models (samples of other models are ignored); stages that vote need `answer`, stages
 * that rank need `score`. Errors name file, line and field. A ladder model named "" takes the file's
 * only model (an error lists the models when there are several).
 */
allot_status allot_sq_load(const char *runs_path, const allot_ladder *l, allot_sq_data *out,
                           allot_error *err);
void allot_sq_data_free(allot_sq_data *d);

/** The accuracy of stage s on the samples seen (views of one query; ties split evenly). */
double allot_sq_stage_accuracy(const allot_ladder *l, size_t s, const allot_sq_query *q,
                               const allot_sq_sample *const *seen, size_t n_seen);

/** Rows options. */
typedef struct allot_sq_row_options {
    int orderings;     /**< per query (default 8) */
    int continuations; /**< per row, for the expected accuracies of later stages (default 16) */
    uint64_t seed;
    int with_targets; /**< 0: skip y (evaluation rows need only x, acc and cost) */
} allot_sq_row_options;

/** Training or evaluation rows of a set of queries (see the top of this file). */
typedef struct allot_sq_rows {
    size_t n, d, S;       /**< rows, model input width, stages */
    size_t n_traj;        /**< trajectories (query x ordering); row of (traj, stage) = traj * S + stage */
    float *x;             /**< n x d */
    float *y;             /**< n x S, or NULL */
    double *acc;          /**< n */
    double *cost;         /**< n */
    uint32_t *traj_query; /**< n_traj: query index in the data */
} allot_sq_rows;

/**
 * Build the rows of queries[0..nq) (indices into d). fz: the prompt featuriser (its extra features
 * read from each query's record). progress: a label for progress on stderr, or NULL.
 */
allot_status allot_sq_rows_build(const allot_sq_data *d, const allot_ladder *l, const allot_featurizer *fz,
                                 const size_t *queries, size_t nq, const allot_sq_row_options *o,
                                 const char *progress, allot_sq_rows *out, allot_error *err);
void allot_sq_rows_free(allot_sq_rows *r);

/**
 * The samples of query q drawn in ordering r, in draw order (allot_ladder_max_samples() of them) as
 * runtime views (answers point into q; views may be NULL) and as the recorded samples. perm: scratch
 * of q->off[n_models] entries. The same (seed, id, r) give the same ordering, whatever the file order.
 */
void allot_sq_ordering(const allot_ladder *l, const allot_sq_query *q, uint64_t seed, uint32_t r,
                       uint32_t *perm, allot_sample_view *views, const allot_sq_sample **samples);

/** Samples drawn when stage s is complete. */
size_t allot_sq_stage_samples(const allot_ladder *l, size_t s);

#endif
