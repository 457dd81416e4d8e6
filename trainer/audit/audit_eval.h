/*
 * audit_eval.h - the audit's COMPUTE half: load policy bundles, evaluate every allocation method on
 * each policy's held-out queries, and fill an allot_audit_result (no report text, no files).
 * audit_report.h renders a result into report.json, report.md and plots; audit.c runs both.
 *
 * A result is organised as rows: at one budget every allocation method (the oracle, each baseline,
 * the learned policy under each decision rule, the policy retrained at that budget) is one named
 * row with its held-out accuracy and mean cost (allot_audit_row). An audit adds a method by adding
 * a row; the renderers lay out whatever rows a point holds. What only some methods have (the
 * oracle's tier counts, the uniform mixture's two tiers, the imitation and regret figures of a
 * learned rule...) sits beside the rows in its own struct.
 *
 * Ownership: allot_audit_compute fills a caller-owned result; allot_audit_result_free releases it.
 * Strings marked "borrowed" point into the curves table or the caller's arguments, which must
 * outlive the result.
 */
#ifndef ALLOT_AUDIT_EVAL_H
#define ALLOT_AUDIT_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "allot/allot_policy.h"
#include "audit.h"
#include "audit_metrics.h"
#include "curves.h"

struct cJSON;

/** Bins of the difficulty-bin heuristic and buckets of the compute-per-difficulty table. */
#define ALLOT_AUDIT_N_BINS 5
#define ALLOT_AUDIT_N_BUCKETS 5
/** Most rows one point holds (every method at one budget). */
#define ALLOT_AUDIT_MAX_ROWS 16
/** Most series of the compute-per-difficulty table. */
#define ALLOT_AUDIT_MAX_SERIES 8
/** The report's decision rules, in report order: the bundle's calibrated price (recalibrated away
 *  from the training budget), and no price. For value policies both are the value rule (at the
 *  calibrated lambda, and at lambda 0). */
#define ALLOT_AUDIT_N_RULES 2
enum { ALLOT_AUDIT_RULE_CALIBRATED = 0, ALLOT_AUDIT_RULE_ARGMAX = 1 };
/** "calibrated" or "argmax". */
const char *allot_audit_rule_name(int rule);

/** What a row is: it decides how reports group it. */
typedef enum allot_audit_role {
    ALLOT_AUDIT_ROLE_ORACLE = 0,    /**< the exact oracle on the held-out set (hindsight) */
    ALLOT_AUDIT_ROLE_BASELINE = 1,  /**< an allocation that needs no learned policy */
    ALLOT_AUDIT_ROLE_LEARNED = 2,   /**< the audited policy under one rule */
    ALLOT_AUDIT_ROLE_RETRAINED = 3, /**< the policy trained again at this budget (--sweep-retrain) */
} allot_audit_role;

/** A paired bootstrap interval of a mean difference. */
typedef struct allot_audit_ci {
    double mean, lo, hi; /**< NaN when not computed */
    int resamples;
    uint64_t seed;
} allot_audit_ci;

/** One allocation method on a held-out set at one budget. */
typedef struct allot_audit_row {
    const char *key; /**< stable name (static string; report.json's key): "oracle", "uniform", ... */
    allot_audit_role role;
    int rule;     /**< ALLOT_AUDIT_RULE_* for learned and retrained rows, else -1 */
    double acc;   /**< mean accuracy; NaN when the method has no allocation at this budget */
    double cost;  /**< realised mean cost; NaN likewise */
    double price; /**< the price the method used (oracle lambda, policy mu or lambda), NaN when none */
    allot_audit_ci vs_uniform; /**< row minus uniform, per query (computed at the audit budget only) */
} allot_audit_row;

/** Every method at one budget. */
typedef struct allot_audit_point {
    double budget;
    size_t n_rows;
    allot_audit_row row[ALLOT_AUDIT_MAX_ROWS];
} allot_audit_point;

/** The row called key, or NULL. */
const allot_audit_row *allot_audit_point_find(const allot_audit_point *pt, const char *key);
/** The row of role and rule (rule -1: the first of that role), or NULL. */
const allot_audit_row *allot_audit_point_rule(const allot_audit_point *pt, allot_audit_role role, int rule);

/** What the oracle and the baselines chose at one budget, beside their rows. */
typedef struct allot_audit_choices {
    double oracle_lambda;
    size_t *oracle_tier_counts;               /**< n_tiers held-out queries per oracle tier */
    int uniform_lo, uniform_hi;               /**< the uniform mixture's tiers (equal at a hull vertex) */
    double uniform_w;                         /**< weight of uniform_hi */
    int best_tier;                            /**< best single tier, -1 when none is within the budget */
    double random_draw_acc, random_draw_cost; /**< one seeded draw of the random mix */
    double length_shrink;                     /**< the prompt-length mix's shrink s */
    int bins_tier[ALLOT_AUDIT_N_BINS];
    double bins_edges[ALLOT_AUDIT_N_BINS - 1];
} allot_audit_choices;

/** A learned rule against the oracle on the held-out set (imitation, regret, efficiency). */
typedef struct allot_audit_rule_eval {
    size_t *confusion; /**< n_tiers x n_tiers: row = oracle tier, column = policy tier */
    double imitation;  /**< fraction of queries on the oracle's tier */
    allot_regret regret;
    double gain_capture;                /**< (learned - uniform) / (oracle - uniform), accuracy */
    double uniform_budget_for_same_acc; /**< +INFINITY beyond the uniform frontier, NaN when unknown */
} allot_audit_rule_eval;

/** Mean compute and accuracy per difficulty bucket of several allocations. */
typedef struct allot_audit_buckets {
    const char *bucket_by;                          /**< static description */
    const char *bucket_name[ALLOT_AUDIT_N_BUCKETS]; /**< static */
    size_t n[ALLOT_AUDIT_N_BUCKETS];
    size_t n_series;
    const char *series[ALLOT_AUDIT_MAX_SERIES]; /**< static names */
    double
        mean_cost[ALLOT_AUDIT_MAX_SERIES * ALLOT_AUDIT_N_BUCKETS]; /**< [s * N_BUCKETS + g]; 0 if n[g] is 0 */
    double mean_acc[ALLOT_AUDIT_MAX_SERIES * ALLOT_AUDIT_N_BUCKETS]; /**< likewise */
} allot_audit_buckets;

/** One audited policy. */
typedef struct allot_audit_policy_result {
    const char *path; /**< borrowed */
    char name[128];   /**< file name without directory and extension */
    char learner[32];
    int value;     /**< 1: value policy (per-tier accuracy regressors) */
    int in_sample; /**< 1: no out-of-fold block, training-pool probabilities are in-sample */
    double trained_budget;
    allot_rule bundle_rule;
    double bundle_mu;
    size_t n_test, n_train, n_classes;
    size_t runtime_mismatches;      /**< held-out queries where the runtime decided otherwise */
    struct cJSON *training_metrics; /**< a copy of provenance.metrics (owned), or NULL */
    allot_audit_point at_budget;    /**< every method at the audit budget */
    allot_audit_choices choices;    /**< at the audit budget */
    allot_audit_rule_eval rules[ALLOT_AUDIT_N_RULES];
    allot_audit_buckets buckets;
    size_t n_sweep;
    allot_audit_point *sweep; /**< every method at each sweep budget, increasing */
} allot_audit_policy_result;

/** An audit. */
typedef struct allot_audit_result {
    const char *curves_path; /**< borrowed */
    char curves_sha256[65];
    size_t n_tiers;
    const char *const *tier_names; /**< borrowed from the curves table */
    double budget;
    uint64_t seed;
    int bootstrap;     /**< resamples */
    int sweep_retrain; /**< 1: sweep points hold retrained rows */
    size_t n_sweep;
    double *sweep_budgets;
    size_t n_policies;
    allot_audit_policy_result *policies;
    int same_held_out_set;      /**< 1: every policy has the same held-out queries */
    int all_regret_bounds_hold; /**< 1: regret <= bound for every policy and rule */
} allot_audit_result;

/** The checks allot_audit_compute makes on its arguments first (no policy, a bad budget). */
allot_status allot_audit_check_options(size_t n_policies, const allot_audit_options *o, allot_error *err);

/**
 * Evaluate the policies (see audit.h for what). scratch_dir: where --sweep-retrain writes its
 * temporary bundles (NULL: $TMPDIR or /tmp). On error *out is released and zeroed.
 */
allot_status allot_audit_compute(const allot_curves *c, const char *curves_path, const char *const *policies,
                                 size_t n_policies, const allot_audit_options *o, const char *scratch_dir,
                                 allot_audit_result *out, allot_error *err);
void allot_audit_result_free(allot_audit_result *r);

#endif
