/*
 * allot_limits.h - the upper bounds of every size option and input dimension (docs/limits.md).
 *
 * Each is checked before anything of that size is allocated or iterated over, and exceeding it is
 * an error naming the option (exit 1) or the file, line and field (exit 2), never a hang or a
 * crash. They are far above what real runs need (the shared datasets: <= 1319 queries, 280
 * samples, 50 tiers) and low enough that the work they allow finishes.
 */
#ifndef ALLOT_LIMITS_H
#define ALLOT_LIMITS_H

#include "allot/allot_features.h"
#include "allot/allot_policy.h"
#include "json_line.h"

/* ---- input dimensions ---------------------------------------------------------------------- */

/** Queries in one file (labelled runs, curves). */
#define ALLOT_MAX_QUERIES 100000000u
/** Samples of one query. */
#define ALLOT_MAX_SAMPLES 1000000u
/** Tiers: of one query (`tiers`), of a tier set, of a curves file; a policy bundle holds as many. */
#define ALLOT_MAX_TIERS ALLOT_POLICY_MAX_TIERS
/** `features` of one query, and their union over a file (a curves file stores every one per query). */
#define ALLOT_MAX_FEATURES ALLOT_FEATURES_MAX_EXTRA
/** queries x tiers of one curves table (three doubles each: acc, cost, se). */
#define ALLOT_MAX_CURVE_VALUES ((size_t)1 << 30)
/** queries x features of one curves table. */
#define ALLOT_MAX_FEATURE_VALUES ((size_t)1 << 30)

/* ---- options ------------------------------------------------------------------------------- */

/** curves --permutations (each one reorders a query's pool once per model). */
#define ALLOT_MAX_PERMUTATIONS 100000u
/** curves --exact-subsets (k-subsets enumerated per query and tier). */
#define ALLOT_MAX_EXACT_SUBSETS 100000u
/** train --nthread (XGBoost's threads). */
#define ALLOT_MAX_THREADS 256
/** train --rounds (boosting rounds) and --early-stopping. */
#define ALLOT_MAX_ROUNDS 100000
/** train --folds. */
#define ALLOT_MAX_FOLDS 1000

#endif
