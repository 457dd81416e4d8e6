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
/** The report's decision rules, in report order:
 *   calibrated  the price as shipped in the bundle (at the training budget; at another budget
 *               recalibrated on the training pool's out-of-fold scores);
 *   refit       the price re-fitted to the evaluation batch: the smallest price whose batch mean of
 *               the chosen tiers' prices is within the budget (what an online budget controller
 *               converges to; it needs no labels);
 *   argmax      no price.
 *  For value policies all three are the value rule (at the calibrated lambda, the refitted lambda,
 *  and lambda 0). */
#define ALLOT_AUDIT_N_RULES 3
enum { ALLOT_AUDIT_RULE_CALIBRATED = 0, ALLOT_AUDIT_RULE_REFIT = 1, ALLOT_AUDIT_RULE_ARGMAX = 2 };
/** How a policy is evaluated (audit_internal.h). */
typedef enum allot_audit_mode {
    ALLOT_AUDIT_HELD_OUT = 0, /**< the curves file it was trained on: its recorded held-out queries */
    ALLOT_AUDIT_FOREIGN = 1   /**< another curves file (same tier set): all of its queries */
} allot_audit_mode;
/** "held-out split" or "foreign file". */
const char *allot_audit_mode_name(allot_audit_mode m);
/** "calibrated", "refit" or "argmax". */
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
    allot_audit_ci vs_uniform; /**< row minus the hindsight uniform, per query (learned rows, audit budget) */
    allot_audit_ci vs_deployable; /**< row minus the deployable uniform, per query (likewise) */
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
    size_t *oracle_tier_counts; /**< n_tiers held-out queries per oracle tier */
    int uniform_lo, uniform_hi; /**< the uniform mixture's tiers (equal at a hull vertex) */
    double uniform_w;           /**< weight of uniform_hi */
    int deployable;             /**< 1: the deployable uniform mix below is known */
    int deploy_lo, deploy_hi;   /**< the deployable uniform mix (chosen on the training pool) */
    double deploy_w;
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
    allot_audit_mode mode;
    int identity_by_content; /**< 1: the mode was decided by the content digest, 0: by the file's SHA-256 */
    int leaks_checked;       /**< 1: the bundle records training hashes */
    size_t n_leak_id, n_leak_prompt, n_leak; /**< evaluation queries also in the training data */
    int has_clean;                     /**< 1: at_budget_clean holds the figures without the leaked queries */
    size_t n_clean;                    /**< evaluation queries without a leak */
    allot_audit_point at_budget_clean; /**< every method at the audit budget without the leaked queries */
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
    const char *curves_path;        /**< borrowed */
    char curves_sha256[65];         /**< the file's SHA-256 ("" for stdin) */
    char curves_content_sha256[65]; /**< its content digest (trainer/learn/identity.h) */
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
