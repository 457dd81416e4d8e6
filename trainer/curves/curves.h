/*
 * curves.h - compute tiers and per-query accuracy-versus-cost curves; read and write curves files.
 *
 * A tier is (model, k samples, selection rule). For each query and tier, acc is the expected
 * accuracy when the k samples are a uniformly random k-subset of the query's recorded samples of
 * that model, cost is k x the mean `cost` of those samples, and se is the standard error of acc
 * (0 for the exact estimators). Precomputed `tiers` lines pass straight through (se = 0).
 *
 * The curves file (docs/curves-format.md) is JSONL: a header line describing the tiers, then one
 * line per query in input order: {"id", "prompt", "meta", "features", "acc":[..], "cost":[..],
 * "se":[..]}, arrays in tier order.
 */
#ifndef ALLOT_CURVES_H
#define ALLOT_CURVES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "allot/allot_error.h"

/** Selection rules. */
typedef enum allot_select_rule {
    ALLOT_SELECT_PASS = 0,       /**< coverage: correct if any of the k is correct (perfect verifier) */
    ALLOT_SELECT_MAJORITY = 1,   /**< majority vote over answers; null never wins; ties split evenly */
    ALLOT_SELECT_BEST = 2,       /**< the highest-score sample; ties split evenly */
    ALLOT_SELECT_VOTE = 3,       /**< score-weighted vote over answers */
    ALLOT_SELECT_PRECOMPUTED = 4 /**< a `tiers` entry passed through */
} allot_select_rule;

/** How a sample's score is derived from `step_scores` when they exist (else `score` is used). */
typedef enum allot_step_agg {
    ALLOT_STEP_NONE = 0, /**< use `score` */
    ALLOT_STEP_MIN = 1,
    ALLOT_STEP_LAST = 2,
    ALLOT_STEP_MEAN = 3,
    ALLOT_STEP_PROD = 4
} allot_step_agg;

/** One compute tier. */
typedef struct allot_tier {
    char *name;  /**< display name, e.g. "majority@8" or "llama:best@4/min" (owned) */
    char *model; /**< model name; NULL = the query's only model (owned) */
    int k;       /**< samples drawn; 0 for precomputed */
    allot_select_rule rule;
    allot_step_agg agg;
} allot_tier;

/** An ordered set of tiers (owned). */
typedef struct allot_tier_set {
    size_t n;
    allot_tier *tiers;
} allot_tier_set;

/** Parse a command-line tier spec such as "majority@1,2,4,8" or "pass@1,best@4/min,m1:vote@8". */
allot_status allot_tier_set_parse(const char *spec, allot_tier_set *out, allot_error *err);
/** Load a tier set from a small JSON file (docs/curves-format.md). */
allot_status allot_tier_set_load(const char *path, allot_tier_set *out, allot_error *err);
void allot_tier_set_free(allot_tier_set *ts);

/** In-memory curves table: n_queries x n_tiers, row-major. Owned by whoever created it. */
typedef struct allot_curves {
    size_t n_queries, n_tiers;
    char **tier_names; /**< n_tiers */
    char **ids;        /**< n_queries */
    char **prompts;    /**< n_queries; entries may be NULL */
    char **meta_json;  /**< n_queries; compact JSON text or NULL */
    size_t n_features;
    char **feature_names; /**< n_features (union over queries, in order of first appearance) */
    double *features;     /**< n_queries x n_features; NaN where a query lacks the feature */
    /* A vector feature (an embedding: an array under the record's `features`; at most one per file,
     * every query's of the same dimension). Not among feature_names. */
    char *embed_name; /**< its name (without "features."), or NULL when the file has none */
    size_t embed_dim;
    double *embed; /**< n_queries x embed_dim; a row of NaN where a query lacks it */
    double *acc;   /**< n_queries x n_tiers, in [0,1] */
    double *cost;  /**< n_queries x n_tiers, >= 0 */
    double *se;    /**< n_queries x n_tiers, >= 0 */
    /* Provenance (added; all optional: a zeroed value means unknown and is written as such). */
    allot_tier_set tier_defs; /**< definitions of the n_tiers tiers, or n == 0 when unknown */
    uint64_t seed;            /**< permutation seed used */
    int permutations;         /**< permutations used for majority/vote (0: none / unknown) */
    int cap_k;                /**< 1 when k was capped to the pool size */
    long max_exact_subsets;   /**< the option of that name used (0: none / unknown) */
    char *source;             /**< the labelled-runs file the curves came from (owned), or NULL */
} allot_curves;

/** Options of allot_curves_compute. */
typedef struct allot_curves_options {
    uint64_t seed;          /**< permutation seed (default 1) */
    int permutations;       /**< permutations for majority/vote (default 256) */
    int cap_k;              /**< 1: a k larger than the pool is capped to the pool; 0: error */
    int progress;           /**< 1: progress on stderr */
    long max_exact_subsets; /**< majority/vote (added): when C(n,k) <= this, average over every
                                 k-subset exactly (se 0) instead of permutations; 0 = never */
    int threads;            /**< (added) 1: one thread; 2 or more: the reader parses the next lines
                                 while a second thread computes the values of the lines before
                                 (samples only; the same results and errors); 0: two when the
                                 machine has two cores */
} allot_curves_options;

/** Defaults: seed 1, 256 permutations, no capping, no progress, max_exact_subsets 256, threads 0. */
void allot_curves_options_default(allot_curves_options *o);

/**
 * Stream a labelled-runs file and compute every query's curve. tiers may be NULL or empty when
 * the file holds precomputed `tiers` (then the file's tier names, in the first line's order, are
 * used and every line must have exactly those). *out is allocated; free with allot_curves_free.
 */
allot_status allot_curves_compute(const char *runs_path, const allot_tier_set *tiers,
                                  const allot_curves_options *opt, allot_curves **out, allot_error *err);

/** Write a curves file atomically. */
allot_status allot_curves_write(const allot_curves *c, const char *path, allot_error *err);
/** Read a curves file written by allot_curves_write (errors name file, line, field). */
allot_status allot_curves_read(const char *path, allot_curves **out, allot_error *err);
/** Read a curves file from an open stream (added); name is used in errors; fp is not closed. */
allot_status allot_curves_read_stream(FILE *fp, const char *name, allot_curves **out, allot_error *err);
/**
 * Whether path holds labelled runs (*is_curves = 0: the first non-blank line is a JSON object with an
 * "id" and no "format", or longer than 1 MiB) or is to be read as a curves file (*is_curves = 1:
 * everything else, including unreadable, empty or malformed files, so that the curves reader names
 * the problem). "-" (stdin, which cannot be read twice) counts as curves. Reads the first line only.
 */
allot_status allot_curves_sniff(const char *path, int *is_curves, allot_error *err);
/**
 * A curves table from path, whichever format it holds: a curves file is read; labelled runs are
 * computed with tiers (NULL or empty: the file's precomputed tiers) and the default options (seed 1,
 * as `allot curves` computes them, so the content hash matches a curves file written by it).
 * *computed = 1 when the table was computed from runs.
 */
allot_status allot_curves_load(const char *path, const allot_tier_set *tiers, int progress,
                               allot_curves **out, int *computed, allot_error *err);
/**
 * The tier set whose names are names[0..n) (a bundle's tiers) when they parse as a tier spec
 * ("majority@4", "m:best@8/min"); *parsed = 0 and *out empty when they do not (precomputed tiers).
 */
allot_status allot_tier_set_from_names(const char *const *names, size_t n, allot_tier_set *out, int *parsed,
                                       allot_error *err);
/** Free a table (NULL allowed). */
void allot_curves_free(allot_curves *c);

#endif
