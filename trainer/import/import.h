/*
 * import.h - convert the runs users already have into labelled runs (docs/import.md).
 *
 * allot_import_run() reads every input of one source format, grades each generation with the
 * given grader (grader.h) and writes one labelled-runs line per query (docs/labelled-runs.md)
 * through the atomic writer: streaming (memory grows with the ids seen, and for openai with the
 * requests' prompts and references, never with the outputs), and on any error nothing is written
 * (out "-" = stdout, spooled). Inputs may be gzip-compressed; "-" reads stdin.
 *
 * Errors name file, line and field ("out.jsonl:12: response.body.choices: missing").
 */
#ifndef ALLOT_IMPORT_H
#define ALLOT_IMPORT_H

#include <stddef.h>

#include "allot/allot_error.h"
#include "grader.h"

typedef enum allot_import_format {
    ALLOT_IMPORT_LM_EVAL, /**< lm-evaluation-harness --log_samples (samples_<task>_<date>.jsonl) */
    ALLOT_IMPORT_OPENAI,  /**< OpenAI Batch API / vLLM run_batch output (+ the request file) */
    ALLOT_IMPORT_SAL,     /**< Hugging Face search-and-learn best-of-N / beam-search outputs */
    ALLOT_IMPORT_ROUTER   /**< router tables (RouterBench-style, CSV or JSONL) */
} allot_import_format;

/** "lm-eval", "openai", "sal" (also "search-and-learn"), "router"; returns 0 on success. */
int allot_import_format_from_name(const char *name, allot_import_format *out);
const char *allot_import_format_name(allot_import_format f);

/** How search-and-learn step scores become one `score`. */
typedef enum allot_import_agg {
    ALLOT_IMPORT_AGG_LAST,
    ALLOT_IMPORT_AGG_MIN,
    ALLOT_IMPORT_AGG_PROD,
    ALLOT_IMPORT_AGG_MEAN
} allot_import_agg;

typedef struct allot_import_options {
    allot_import_format format;
    const char *const *inputs; /**< source files ("-" = stdin, at most once over inputs and requests) */
    size_t n_inputs;
    const char *out_path;       /**< labelled runs ("-" = stdout) */
    const allot_grader *grader; /**< required except for router tables */
    const char *model; /**< model name of every sample (lm-eval, sal; openai: overrides body.model) */
    const char *task;  /**< lm-eval: task name (default: from the file name) */
    const char *const *requests; /**< openai: request files */
    size_t n_requests;
    const char *gold_field;    /**< openai: dotted path of the reference in a request line (default gold, then
                                    body.metadata.gold) */
    double prompt_price;       /**< openai: cost per prompt token (default 0) */
    double completion_price;   /**< openai: cost per completion token (default 1: cost in tokens) */
    allot_import_agg agg;      /**< sal: step-score aggregation (default last) */
    const char *id_column;     /**< router: id column (default sample_id) */
    const char *prompt_column; /**< router: prompt column (default prompt; optional) */
    const char *cost_suffix;   /**< router: cost column = model + suffix (default "|total_cost") */
    const char *models;        /**< router: comma-separated models to keep (default: every model) */
    int progress;              /**< progress lines on stderr */
} allot_import_options;

/** Defaults as documented above (everything else zero / NULL). */
void allot_import_options_default(allot_import_options *o);

/** Per-model (samples) or per-tier (router tables) totals. */
typedef struct allot_import_group {
    char *name;      /**< model or tier name ("" = no model) */
    size_t n;        /**< samples, or queries for a tier */
    double acc_sum;  /**< number correct, or the sum of a tier's acc */
    size_t n_null;   /**< samples with answer null */
    double cost_sum; /**< over the samples / queries that have a cost */
    size_t n_cost;   /**< how many have a cost */
} allot_import_group;

typedef struct allot_import_summary {
    size_t n_queries, n_samples;
    size_t n_rows_skipped; /**< lm-eval: rows that repeat a document for another filter */
    size_t n_null;         /**< samples whose answer could not be extracted */
    char first_null[256];  /**< "file:line: field" of the first of them */
    size_t n_no_cost;      /**< samples written without a cost (the source recorded none) */
    size_t n_even_split;   /**< openai: responses whose completion tokens were split evenly */
    int tiers;             /**< 1 when groups are tiers (router tables) */
    allot_import_group *groups;
    size_t n_groups;
} allot_import_summary;

/** Run the import; fills *summary (free with allot_import_summary_free, also after an error). */
allot_status allot_import_run(const allot_import_options *o, allot_import_summary *summary, allot_error *err);
void allot_import_summary_free(allot_import_summary *s);

#endif
