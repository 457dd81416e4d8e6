/*
 * replay.h - run online allocation methods on recorded sample pools, side by side (docs/replay.md).
 *
 * A pool is one query's recorded samples of one model. Every method consumes each query's samples
 * as a prefix of one fixed order (the recorded order, or a seeded shuffle of it), so every method
 * sees the same responses; a method's outcome is therefore just how many samples of each query it
 * spent (alloc[i], a prefix length). Coverage, accuracy and spend are computed from alloc by one
 * function for every method.
 *
 * Budget: `budget` is a mean per query (samples, or cost with ALLOT_REPLAY_UNIT_COST); the total
 * is budget x N. A method deals samples one at a time and stops at the first sample that would take
 * the spend above the total, so no method ever spends more than the total. A query whose pool is
 * exhausted cannot take more; the run counts such queries (n_exhausted).
 *
 * Ownership: every struct is caller-owned; *_free releases what a function allocated.
 * No global state; deterministic given the inputs and seeds.
 */
#ifndef ALLOT_REPLAY_H
#define ALLOT_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "allot/allot_error.h"

/* ---- pools -------------------------------------------------------------------------------------- */

/** One recorded sample. */
typedef struct allot_replay_sample {
    int correct;  /**< 0 or 1 */
    int answer;   /**< per-query answer id, -1 = null (never wins a vote) */
    double score; /**< verifier score; NaN when absent */
    double cost;  /**< >= 0; 1 when absent */
} allot_replay_sample;

/** One query's pool, samples in recorded order. */
typedef struct allot_replay_query {
    char *id;
    char *prompt; /**< NULL when absent */
    char *record; /**< {"features":{..},"meta":{..}} of the line (for a policy's extra features), or NULL */
    size_t n;     /**< number of samples (>= 1) */
    allot_replay_sample *s;
    int n_answers;  /**< answer ids are 0..n_answers-1 */
    char **answers; /**< n_answers answer strings by id (files read by allot_replay_pools_load; NULL
                         for queries added by hand): what a sequential policy's state features read */
} allot_replay_query;

/** A batch of pools (owned). */
typedef struct allot_replay_pools {
    size_t n;
    allot_replay_query *q;
    char *model;           /**< the model replayed ("" = the file's unnamed model) */
    size_t n_skipped;      /**< queries of the file without any sample of that model (excluded, reported) */
    size_t n_max;          /**< largest pool */
    int has_scores;        /**< 1 when every sample has a score */
    size_t cap;            /**< allocated entries of q (internal) */
    size_t no_answer_line; /**< allot_replay_pools_load: 0, or the line of the first query none of whose
                                samples (of the model) has an `answer` key: --select majority cannot
                                score it (allot_replay_sweep refuses it, as curves does) */
} allot_replay_pools;

/**
 * Load pools from a labelled-runs file through the runs reader. model may be NULL when the file
 * holds a single model; with several models and model == NULL the error lists them. Lines with
 * precomputed `tiers` only are an error (replay needs samples).
 */
allot_status allot_replay_pools_load(const char *path, const char *model, allot_replay_pools *out,
                                     allot_error *err);
/**
 * Append one query built by hand (tests, callers without a file): n samples are copied, answer ids
 * must lie in [-1, n_answers). id and prompt are copied (prompt may be NULL).
 */
allot_status allot_replay_pools_add(allot_replay_pools *p, const char *id, const char *prompt,
                                    const allot_replay_sample *s, size_t n, int n_answers, allot_error *err);
void allot_replay_pools_free(allot_replay_pools *p);
/**
 * Keep only the queries whose id is among ids[0..n_ids) (order kept); the others are dropped and
 * counted in p->n_skipped. Ids that match no query are ignored; *n_kept receives the queries left.
 */
allot_status allot_replay_pools_keep(allot_replay_pools *p, const char *const *ids, size_t n_ids,
                                     size_t *n_kept, allot_error *err);
/** The held-out ids of a policy bundle (provenance.split.test_ids), owned by the caller
 *  (free each string and the array); *n = 0 when the bundle lists none. */
allot_status allot_replay_policy_heldout_ids(const char *bundle_path, char ***ids, size_t *n,
                                             allot_error *err);

/* ---- options ------------------------------------------------------------------------------------ */

typedef enum allot_replay_unit {
    ALLOT_REPLAY_UNIT_SAMPLES = 0,
    ALLOT_REPLAY_UNIT_COST = 1
} allot_replay_unit;
typedef enum allot_replay_reward {
    ALLOT_REPLAY_REWARD_CORRECT = 0,
    ALLOT_REPLAY_REWARD_SCORE = 1
} allot_replay_reward;
typedef enum allot_replay_select {
    ALLOT_REPLAY_SELECT_MAJORITY = 0,
    ALLOT_REPLAY_SELECT_BEST = 1
} allot_replay_select;

/** The methods. The order is the order of tables and plots. */
typedef enum allot_replay_method {
    ALLOT_REPLAY_UNIFORM = 0,
    ALLOT_REPLAY_ELIMINATION,
    ALLOT_REPLAY_UCB,
    ALLOT_REPLAY_GAP,
    ALLOT_REPLAY_ENTROPY,
    ALLOT_REPLAY_ADAPTIVE_CONSISTENCY,
    ALLOT_REPLAY_EARLY_STOP,
    ALLOT_REPLAY_BINS_ORACLE,
    ALLOT_REPLAY_BINS_PREDICTED,
    ALLOT_REPLAY_ORACLE,          /**< hindsight optimum for the accuracy metric */
    ALLOT_REPLAY_ORACLE_COVERAGE, /**< hindsight optimum for coverage */
    ALLOT_REPLAY_POLICY,          /**< a learned policy bundle (when available) */
    ALLOT_REPLAY_N_METHODS
} allot_replay_method;

/** Stable CLI / JSON name of a method ("uniform", "elimination", ...). */
const char *allot_replay_method_name(allot_replay_method m);
/** Parse a method name; returns -1 when unknown. "oracle" selects both oracle rows. */
int allot_replay_method_parse(const char *name);

/** Number of difficulty bins / buckets. */
#define ALLOT_REPLAY_N_BINS 5

typedef struct allot_replay_options {
    allot_replay_unit unit;
    allot_replay_reward reward;
    allot_replay_select select;
    int K;            /**< bandit: samples per picked query per round (default 1) */
    double gamma;     /**< bandit: a query leaves once a sample's reward >= gamma (default 1) */
    double ucb_c;     /**< UCB exploration constant (default 1) */
    double pick_frac; /**< UCB/Gap/Entropy: a round picks ceil(pick_frac x |active|) queries (default 0.5) */
    double ac_threshold;                      /**< Adaptive-Consistency stopping probability (default 0.95) */
    int ac_max;                               /**< Adaptive-Consistency maximum samples (default 40) */
    int es_window;                            /**< early stopping window (default 5) */
    int es_max;                               /**< early stopping maximum samples (default 40) */
    uint64_t seed;                            /**< shuffles, round order, folds (default 1) */
    const struct allot_replay_policy *policy; /**< for ALLOT_REPLAY_POLICY (NULL: not available) */
} allot_replay_options;

void allot_replay_options_default(allot_replay_options *o);

/* ---- a learned policy --------------------------------------------------------------------------- */

/**
 * A policy bundle's view of a batch: each query's tier probabilities p(tier | x) (computed once by
 * the runtime, include/allot/allot_policy.h, from the prompt and the line's features/meta), and
 * each tier's number of samples (parsed from its name, "majority@8" -> 8) and bundle cost.
 * At budget B the replay applies the calibrated rule argmax log p - mu x cost with mu set by
 * bisection so that the batch's mean tier cost is at most B (a deployable budget controller: it
 * looks at predicted costs only), then deals each query its tier's samples within the budget.
 */
typedef struct allot_replay_policy allot_replay_policy;

/** Load a bundle and predict every query of p (same order). */
allot_status allot_replay_policy_load(const char *path, const allot_replay_pools *p,
                                      allot_replay_policy **out, allot_error *err);
void allot_replay_policy_free(allot_replay_policy *pp);

/* ---- one replay order --------------------------------------------------------------------------- */

/**
 * A replay order: every query's samples in one fixed order (a copy), and the round order of the
 * queries (used when a round is cut short by the budget). shuffle < 0: the recorded order and the
 * file's query order; shuffle >= 0: per-query Fisher-Yates shuffles seeded by (seed, shuffle, id).
 */
typedef struct allot_replay_view {
    const allot_replay_pools *pools;
    size_t n;
    size_t *off;            /**< n + 1 offsets into s */
    allot_replay_sample *s; /**< ordered samples */
    double *prefix_cost;    /**< off[n] + n entries: prefix_cost[off[i] + i + k] = cost of first k samples */
    size_t *round_order;    /**< n query indices */
    double *pass_rate;      /**< per query: fraction of the whole pool correct */
} allot_replay_view;

allot_status allot_replay_view_make(const allot_replay_pools *p, long shuffle, uint64_t seed,
                                    allot_replay_view *v, allot_error *err);
void allot_replay_view_free(allot_replay_view *v);

/** Cost of query i's first k samples in the view (k clipped to the pool) in the given unit. */
double allot_replay_prefix_cost(const allot_replay_view *v, size_t i, size_t k, allot_replay_unit unit);

/* ---- running one method ------------------------------------------------------------------------- */

/** What a run did besides alloc. */
typedef struct allot_replay_run_info {
    size_t n_exhausted; /**< queries that wanted another sample but whose pool was empty */
    double param;       /**< the stopping parameter used (AC threshold, window), else NaN */
    double total;       /**< the budget total (budget x N) */
    double spent;       /**< what was spent (<= total) */
    size_t rounds;      /**< bandit / stopping rounds */
    size_t *trace;      /**< optional caller array: the query index of every sample dealt, in order */
    size_t trace_cap;
    size_t trace_len; /**< samples dealt (may exceed trace_cap; only trace_cap are stored) */
    const char *note; /**< static text when a method could not run (e.g. oracle not built) */
} allot_replay_run_info;

/**
 * Run method m on view v at mean budget `budget`; alloc (v->n) receives each query's prefix length.
 * param overrides the method's stopping parameter when finite (AC threshold, window size).
 * Returns ALLOT_E_UNSUPPORTED (with info->note) for a method this build cannot run.
 */
allot_status allot_replay_run(const allot_replay_view *v, allot_replay_method m, double budget, double param,
                              const allot_replay_options *o, size_t *alloc, allot_replay_run_info *info,
                              allot_error *err);

/**
 * Adaptive-Consistency's stopping probability: with a votes for the leading answer and b for the
 * runner-up, P(p > 1/2) for p ~ Beta(a+1, b+1), i.e. the posterior probability that the leader's
 * share among the two exceeds the runner-up's. Exact for integer counts (a binomial tail).
 */
double allot_replay_beta_stop_prob(int a, int b);

/* ---- metrics ------------------------------------------------------------------------------------ */

typedef struct allot_replay_metrics {
    double coverage;   /**< mean over queries: any correct among the spent samples */
    double accuracy;   /**< mean over queries: final answer (majority, ties split; or best score) */
    double mean_spent; /**< total spent / N, in the budget unit */
    double total_spent;
    double bucket_spent[ALLOT_REPLAY_N_BINS]; /**< mean spend per query of each pass-rate bucket */
    size_t bucket_n[ALLOT_REPLAY_N_BINS];
} allot_replay_metrics;

/** Pass-rate bucket of a query: [0,.2), [.2,.4), [.4,.6), [.6,.8), [.8,1]. */
int allot_replay_bucket(double pass_rate);
/** Bucket label ("p<0.2", ...). */
const char *allot_replay_bucket_name(int b);

/** Metrics of an allocation. */
void allot_replay_evaluate(const allot_replay_view *v, const size_t *alloc, const allot_replay_options *o,
                           allot_replay_metrics *out);
/** Accuracy of query i's first k samples under the selection rule (ties split evenly). */
double allot_replay_query_accuracy(const allot_replay_view *v, size_t i, size_t k, allot_replay_select sel);

/* ---- sweeps and reports ------------------------------------------------------------------------- */

/** Mean, spread over shuffles. */
typedef struct allot_replay_stat {
    double mean, sd, min, max;
} allot_replay_stat;

/** One method at one budget, over the shuffles. */
typedef struct allot_replay_cell {
    int ran; /**< 0 when the method could not run (note says why) */
    const char *note;
    allot_replay_stat coverage, accuracy, spent; /**< spent = mean per query */
    double exhausted;                            /**< mean number of exhausted queries */
    double param;                                /**< stopping parameter used (NaN when none) */
    double bucket_spent[ALLOT_REPLAY_N_BINS];
    double eff_coverage, eff_accuracy; /**< efficiency ratio vs uniform; INFINITY = ">max"; NaN = n/a */
} allot_replay_cell;

/** A parameter sweep point of a data-dependent method (uncapped). */
typedef struct allot_replay_param_point {
    double param;
    allot_replay_stat coverage, accuracy, spent;
} allot_replay_param_point;

typedef struct allot_replay_report {
    char *runs_path;
    char *model;
    size_t n_queries, n_skipped, n_max;
    int shuffles; /**< 0 = recorded order only */
    allot_replay_options opts;
    int methods[ALLOT_REPLAY_N_METHODS]; /**< 1 = requested */
    size_t n_budgets;
    double *budgets;
    allot_replay_cell *cells; /**< n_budgets x ALLOT_REPLAY_N_METHODS */
    size_t bucket_n[ALLOT_REPLAY_N_BINS];
    /* uniform's full curve (k = 0..n_max samples each), means over shuffles, for the ratios */
    size_t n_curve;
    double *curve_spent, *curve_coverage, *curve_accuracy;
    /* data-dependent methods at their defaults (no budget cap) and their parameter sweeps */
    allot_replay_param_point ac_default, es_default;
    size_t n_ac, n_es;
    allot_replay_param_point *ac_sweep, *es_sweep;
    char *predicted_difficulty; /**< how bins-predicted predicts difficulty */
} allot_replay_report;

/** Options of allot_replay_sweep. */
typedef struct allot_replay_sweep_options {
    const double *budgets;
    size_t n_budgets;
    const int *methods; /**< ALLOT_REPLAY_N_METHODS flags */
    int shuffles;       /**< 0: recorded order only; S > 0: S seeded shuffles */
    int progress;       /**< progress on stderr */
} allot_replay_sweep_options;

/** Run every requested method at every budget over the shuffles; fills *out (free with _report_free). */
allot_status allot_replay_sweep(const allot_replay_pools *p, const allot_replay_options *o,
                                const allot_replay_sweep_options *so, const char *runs_path,
                                allot_replay_report *out, allot_error *err);
void allot_replay_report_free(allot_replay_report *r);

/**
 * Efficiency ratio: budget uniform needs to reach y / spent, on the upper concave envelope of
 * uniform's curve (linear between its vertices, cut at its highest point; uniform's accuracy is not
 * monotone in k, the envelope is). NaN when spent <= 0, INFINITY when the envelope never reaches y.
 */
double allot_replay_efficiency(const double *curve_x, const double *curve_y, size_t n, double y,
                               double spent);

/** Human-readable table (markdown) to fp. */
void allot_replay_report_markdown(const allot_replay_report *r, FILE *fp);
/** One JSON document (compact, deterministic) to fp. */
allot_status allot_replay_report_json(const allot_replay_report *r, FILE *fp, allot_error *err);
/** Write DIR/table.md, DIR/table.json, DIR/accuracy_vs_budget.*, DIR/coverage_vs_budget.*,
 *  DIR/samples_per_bucket.* (plots through plot.h). A missing gnuplot is reported in *plot_note. */
allot_status allot_replay_report_write(const allot_replay_report *r, const char *dir, double bars_budget,
                                       char *plot_note, size_t plot_note_cap, allot_error *err);

#endif
