/*
 * select.h - the default policy selection of `allot train` (docs/learn-and-audit.md, "Default
 * policy selection").
 *
 * Every candidate is trained on the same split of the curves (allot_train's: the seeded held-out
 * fraction and folds over the training pool) and reports, per training-pool query, its out-of-fold
 * accuracy and cost at the budget under its own rule and price (allot_train_outcome). The reference
 * is the uniform policy (the uniform mix at the budget chosen on the training pool, uniform.h; per
 * query its expected accuracy). A candidate's gain is the mean of acc_i - uniform_i over the training
 * pool, with a 95% paired bootstrap interval (1000 resamples, seeded by --seed); it is eligible when
 * the interval's lower end is above zero and its out-of-fold mean cost is within the budget. The
 * eligible candidate with the largest gain is shipped (ties: the earlier in the list); when none is
 * eligible, the uniform policy is shipped (a constant or mixture bundle, allot_train_uniform). The
 * shipped bundle's provenance records the selection.
 *
 * Another policy family joins the selection as one more allot_candidate: a name and a function that
 * trains it on the split of ctx->opt, writes its bundle and fills its outcome.
 */
#ifndef ALLOT_LEARN_SELECT_H
#define ALLOT_LEARN_SELECT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "allot/allot_error.h"
#include "curves.h"
#include "learn.h"

/** What every candidate trainer is given. */
typedef struct allot_candidate_ctx {
    const allot_curves *curves;
    const char *curves_path;
    const allot_train_options *opt; /**< budget, split (test fraction, folds, seed), features, learners */
} allot_candidate_ctx;

/**
 * A candidate trainer: train on ctx (the split allot_split_make makes from ctx->opt), write the bundle
 * to bundle_path, fill *report and *outcome (outcome->train_rows must be the split's training pool in
 * its order). arg: the candidate's own argument.
 */
typedef allot_status (*allot_candidate_fn)(const allot_candidate_ctx *ctx, const void *arg,
                                           const char *bundle_path, allot_train_report *report,
                                           allot_train_outcome *outcome, allot_error *err);

/** One candidate of the selection. */
typedef struct allot_candidate {
    const char *name; /**< e.g. "xgboost-tier" (also names its scratch bundle) */
    allot_candidate_fn train;
    const void *arg;
} allot_candidate;

/** The default candidates, in order: tier and value policies with XGBoost and with LIBLINEAR. */
size_t allot_default_candidates(const allot_candidate **out);

/** A candidate's figures (the uniform reference is the last entry of a selection). */
typedef struct allot_candidate_result {
    const char *name;
    allot_status status; /**< ALLOT_OK; ALLOT_E_UNSUPPORTED: its family does not apply here (skipped);
                            ALLOT_E_INTERNAL: its outcome was not on the split (skipped) */
    char error[ALLOT_ERROR_MSG_SIZE]; /**< the message when status != ALLOT_OK */
    allot_train_report report;
    double oof_acc, oof_cost;      /**< out-of-fold means over the training pool */
    double gain, gain_lo, gain_hi; /**< out-of-fold gain over uniform: mean, 95% paired bootstrap interval */
    int eligible;                  /**< gain_lo > 0 and oof_cost within the budget */
    double test_gain, test_lo,
        test_hi; /**< held-out: acc - the deployable uniform's expected acc (NaN: none) */
    double test_acc, test_cost;
} allot_candidate_result;

/** A selection. */
typedef struct allot_selection {
    size_t n;                  /**< candidates, the uniform policy last */
    allot_candidate_result *c; /**< n */
    size_t shipped;            /**< index of the shipped one */
    const char *reason;        /**< static text */
    size_t n_train, n_test;
    double uniform_acc, uniform_cost; /**< the reference on the training pool (expectation) */
    double seconds;
} allot_selection;

/** A candidate's figures as JSON: name and out-of-fold figures (or "skipped" and why); held_out 1 adds
 *  the held-out figures, runtime parity and seconds. The caller owns the object. */
cJSON *allot_candidate_json(const allot_candidate_result *r, int held_out);

/** One policy against the deployable uniform, judged as the selection judges a candidate. */
typedef struct allot_uniform_gain {
    double uniform_acc, uniform_cost;   /**< the uniform mix at B chosen on the training pool (expectation) */
    double oof_cost;                    /**< the policy's out-of-fold mean cost */
    double gain, gain_lo, gain_hi;      /**< out of fold: acc - uniform's, 95% paired bootstrap interval */
    double test_gain, test_lo, test_hi; /**< the same on the held-out queries (NaN: none) */
} allot_uniform_gain;

/**
 * The gains of a trained policy (its outcome, from allot_train_ex) over the uniform mix at budget
 * chosen on its training pool (trainer/solve/uniform.h): per query, the policy's accuracy minus the
 * mix's expected accuracy there (or the mix on the policy's own draws when the outcome has them),
 * out of fold and held out, each with a 95% paired bootstrap interval seeded by seed. For a policy
 * trained alone (`allot train --learner ...`), so that it never ships below uniform unannounced.
 */
allot_status allot_outcome_vs_uniform(const allot_curves *c, const allot_train_outcome *o, double budget,
                                      uint64_t seed, allot_uniform_gain *g, allot_error *err);

/**
 * Train every candidate and the uniform policy, pick one as described above, and write its bundle to
 * out_path (atomically, provenance.selection added). Scratch bundles go beside out_path (or $TMPDIR for
 * "-") and are removed. *sel is filled (release with allot_selection_free) also when a later step fails.
 */
allot_status allot_train_select(const allot_curves *curves, const char *curves_path,
                                const allot_train_options *opt, const allot_candidate *cands, size_t n_cands,
                                const char *out_path, allot_selection *sel, allot_error *err);
void allot_selection_free(allot_selection *sel);

#endif
