/*
 * features_internal.h - runtime-private entry points of the featuriser (not installed).
 */
#ifndef ALLOT_FEATURES_INTERNAL_H
#define ALLOT_FEATURES_INTERNAL_H

#include <cjson/cJSON.h>

#include "allot/allot_features.h"

/**
 * Create a featuriser from an already parsed spec object. `where` prefixes field names in error
 * messages (e.g. "features" gives "features.hash.dim: ...").
 */
allot_status allot_featurizer_create_cjson(const cJSON *spec, const char *where, allot_featurizer **out,
                                           allot_error *err);

/**
 * The token pass's vector code (features_simd.h): on (1) by default where the processor has it;
 * set_simd(f, 0) selects the portable code, set_simd(f, 1) the vector code where it can run.
 * Returns whether the vector code is now used. For tests and benchmarks: both give the same bits.
 */
int allot_featurizer_set_simd(allot_featurizer *f, int on);

/** Parse the first decimal number in s ("Level 5" -> 5); NaN when there is none. */
double allot_features_first_number(const char *s);

#endif
