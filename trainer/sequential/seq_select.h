/*
 * seq_select.h - sequential policies in the default policy selection of `allot train` (select.h), and
 * the default ladder of a labelled-runs file (docs/sequential.md, "In the default selection").
 *
 * On labelled runs `allot train RUNS --budget B` (no --learner) compares, on one split, the static
 * candidates trained on the curves of the ladder's tiers, a sequential policy with each learner and the
 * uniform policy, and ships the best that beats uniform out of fold (select.h's rule).
 */
#ifndef ALLOT_SEQ_SELECT_H
#define ALLOT_SEQ_SELECT_H

#include <stddef.h>

#include "allot/allot_error.h"
#include "curves.h"
#include "select.h"
#include "seq_train.h"

/** The argument of a sequential candidate. */
typedef struct allot_sq_candidate_arg {
    const char *runs_path;
    const char *stages;                /**< the ladder (allot_sq_ladder_parse) */
    const allot_sq_train_options *opt; /**< orderings, continuations, prompt features, learner parameters;
                                            budget, split, seed and progress come from the selection */
    allot_learner_kind learner;
} allot_sq_candidate_arg;

/**
 * An allot_candidate_fn training a sequential policy on the selection's split (ctx->opt's budget, test
 * fraction, folds and seed; ctx->curves must be the runs' curves, queries in file order). Returns
 * ALLOT_E_UNSUPPORTED (the candidate is skipped) when the ladder has a single stage.
 */
allot_status allot_sq_candidate_train(const allot_candidate_ctx *ctx, const void *arg,
                                      const char *bundle_path, allot_train_report *report,
                                      allot_train_outcome *outcome, allot_error *err);

/** Longest ladder spec allot_sq_default_stages writes. */
#define ALLOT_SQ_STAGES_MAX 4096u

/**
 * The default ladder of a labelled-runs file: one model's samples (several models: an error that
 * suggests a --stages cascade), majority vote when the samples carry answers (else best-of-k when they
 * carry scores; neither: an error), k = 1, 2, 4, ... up to the smallest pool of any query, that pool
 * size last. *spec = "" when the file holds precomputed tiers (no samples: only static policies apply).
 * note (note_cap bytes, may be NULL): "" or, when some queries hold more samples than the smallest
 * pool, one sentence naming that pool's first query and how to get a longer ladder.
 */
allot_status allot_sq_default_stages(const char *runs_path, char spec[ALLOT_SQ_STAGES_MAX], char *note,
                                     size_t note_cap, allot_error *err);

/**
 * The static tier set of a ladder: each stage's (model, rule, k) as a tier (a cascade's later stages
 * count only their own model's samples there: a static policy draws from one model).
 */
allot_status allot_sq_stage_tiers(const char *stages, allot_tier_set *out, allot_error *err);

#endif
