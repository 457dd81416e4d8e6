/* ladder_internal.h - runtime-private entry points of the stage ladder (not installed). */
#ifndef ALLOT_LADDER_INTERNAL_H
#define ALLOT_LADDER_INTERNAL_H

#include <cjson/cJSON.h>

#include "allot/allot_sequential.h"

/** Create a ladder from an already parsed spec; `where` prefixes field names in errors. */
allot_status allot_ladder_create_cjson(const cJSON *spec, const char *where, allot_ladder **out,
                                       allot_error *err);
/** Stage i's model, k and name (i < n_stages, unchecked). */
size_t allot_ladder_stage_model(const allot_ladder *l, size_t i);
size_t allot_ladder_stage_k(const allot_ladder *l, size_t i);
const char *allot_ladder_stage_name(const allot_ladder *l, size_t i);

#endif
