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
 * The featuriser's vector code (features_simd.h), by level: 0 the portable code; 1 AVX-512F and BW;
 * 2 also AVX-512 VBMI and VBMI2. A featuriser starts at the highest level this processor runs;
 * set_simd(f, level) selects min(level, that) and returns it. For tests and benchmarks: every
 * level gives the same bits.
 */
int allot_featurizer_set_simd(allot_featurizer *f, int level);

/** Parse the first decimal number in s ("Level 5" -> 5); NaN when there is none. */
double allot_features_first_number(const char *s);

#endif
