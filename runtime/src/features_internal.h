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

/** Parse the first decimal number in s ("Level 5" -> 5); NaN when there is none. */
double allot_features_first_number(const char *s);

#endif
