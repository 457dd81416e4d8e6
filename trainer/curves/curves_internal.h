/*
 * curves_internal.h - helpers shared by the files of allot_curves (not part of the public API).
 */
#ifndef ALLOT_CURVES_INTERNAL_H
#define ALLOT_CURVES_INTERNAL_H

#include <stddef.h>

#include "curves.h"

/** Name of a rule ("pass", ...) and of an aggregation ("min", ...; "" for none). */
const char *allot_select_rule_name(allot_select_rule r);
const char *allot_step_agg_name(allot_step_agg a);
/** Parse a rule / aggregation name; 0 on success, -1 when unknown. */
int allot_select_rule_from_name(const char *s, allot_select_rule *r);
int allot_step_agg_from_name(const char *s, allot_step_agg *a);
/** Canonical display name "[model:]rule@k[/agg]" (malloc'd; NULL on out of memory). */
char *allot_tier_make_name(const char *model, allot_select_rule rule, int k, allot_step_agg agg);
/** Deep copy of a tier set (dst zeroed first); ALLOT_E_NOMEM on failure. */
allot_status allot_tier_set_copy(const allot_tier_set *src, allot_tier_set *dst, allot_error *err);

#endif
