/*
 * runs_reader.h - streaming reader of the labelled-runs JSONL format (docs/labelled-runs.md).
 *
 * One query per line. The reader parses a line with cJSON, validates it, converts it into the
 * compact allot_query view below and frees the JSON: memory grows with the size of the largest
 * line and the number of distinct ids (duplicate check), never with the file. Every error names
 * file, line and field ("runs.jsonl:17: samples[3].correct: missing").
 *
 * Ownership: every pointer inside an allot_query belongs to the reader and stays valid until the
 * next call to allot_runs_reader_next() or allot_runs_reader_close().
 */
#ifndef ALLOT_RUNS_READER_H
#define ALLOT_RUNS_READER_H

#include <stddef.h>
#include <stdio.h>

#include "allot/allot_error.h"

typedef struct allot_runs_reader allot_runs_reader;

/** One graded sample. */
typedef struct allot_sample {
    int model;          /**< index into the reader's model table (allot_runs_reader_model_name) */
    int correct;        /**< 0 or 1 */
    int answer;         /**< per-query answer id (equal strings, equal ids), -1 = null / absent */
    double score;       /**< verifier score; NaN when absent */
    double cost;        /**< sample cost; 1 when absent */
    size_t step_offset; /**< first step score in allot_query.step_scores */
    size_t n_steps;     /**< number of step scores (0 when absent) */
    int answer_present; /**< 1 when the sample has an `answer` key (even null); 0 when absent (added) */
} allot_sample;

/** A precomputed tier outcome ("tiers" object). */
typedef struct allot_tier_outcome {
    const char *name;
    double acc;  /**< in [0,1] */
    double cost; /**< >= 0 */
} allot_tier_outcome;

/** A `features` entry: a named number, or a named vector (an embedding: a non-empty array of finite
 *  numbers, at most ALLOT_RUNS_MAX_VECTOR of them). */
typedef struct allot_named_value {
    const char *name;
    double value;      /**< a number; NaN for a vector */
    const double *vec; /**< a vector's values (reader-owned), or NULL for a number */
    size_t dim;        /**< a vector's length; 0 for a number */
} allot_named_value;

/** Longest vector feature the reader accepts. */
#define ALLOT_RUNS_MAX_VECTOR 65536u

/** One query (one line), as a view into reader-owned memory. */
typedef struct allot_query {
    size_t line; /**< 1-based line number in the file */
    const char *id;
    const char *prompt;    /**< NULL when absent */
    const char *gold;      /**< NULL when absent */
    const char *meta_json; /**< compact JSON text of `meta`, NULL when absent */
    size_t n_features;
    const allot_named_value *features;
    size_t n_samples; /**< 0 when the line has `tiers` instead */
    const allot_sample *samples;
    const double *step_scores;
    size_t n_answers; /**< number of distinct non-null answers (ids 0..n_answers-1) */
    size_t n_tiers;   /**< 0 when the line has `samples` instead */
    const allot_tier_outcome *tiers;
    const char *const *answers; /**< n_answers answer strings, indexed by allot_sample.answer (added) */
} allot_query;

/** Open path for reading ("-" reads stdin). */
allot_status allot_runs_reader_open(const char *path, allot_runs_reader **out, allot_error *err);

/**
 * Read from an already open stream (added; e.g. a pipe or fmemopen). name is used in error
 * messages. The stream stays the caller's: close() does not close it. The reader reads the stream
 * ahead in chunks, so nothing else should read from it while the reader is open.
 */
allot_status allot_runs_reader_open_stream(FILE *fp, const char *name, allot_runs_reader **out,
                                           allot_error *err);

/**
 * Read and validate the next query. On success sets *has_query to 1 and fills *q, or sets it to 0
 * at end of file. Blank lines are skipped. Duplicate ids are an error.
 */
allot_status allot_runs_reader_next(allot_runs_reader *r, allot_query *q, int *has_query, allot_error *err);

/** Number of distinct model names seen so far (a sample without `model` uses model "" ). */
size_t allot_runs_reader_n_models(const allot_runs_reader *r);
/** Name of model idx (reader-owned, valid until close). */
const char *allot_runs_reader_model_name(const allot_runs_reader *r, int idx);
/** The n_models names, indexed by model (the array is reader-owned and may move when a later line
 *  adds a model; the names themselves stay valid until close). */
const char *const *allot_runs_reader_model_names(const allot_runs_reader *r);
/** Path as given to open (reader-owned). */
const char *allot_runs_reader_path(const allot_runs_reader *r);
/**
 * {"features":{...},"meta":...} of a query as compact JSON (malloc'd; NULL when memory runs out):
 * what a policy's featuriser reads extra features from (allot_featurizer_extras_from_record).
 */
char *allot_runs_record_json(const allot_query *q);

/** Close and free; NULL is allowed. */
void allot_runs_reader_close(allot_runs_reader *r);

#endif
