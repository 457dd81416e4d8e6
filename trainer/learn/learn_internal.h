/* learn_internal.h - pieces of allot_learn shared between its modules (not installed). */
#ifndef ALLOT_LEARN_INTERNAL_H
#define ALLOT_LEARN_INTERNAL_H

#include <stddef.h>

#include "allot/allot_error.h"
#include "allot/allot_policy.h"
#include "curves.h"
#include "dataset.h"
#include "learn.h"

/**
 * Load the bundle text[0..len) (what is about to be written) with the runtime's policy loader
 * (include/allot/allot_policy.h), decide every query of rows with it, and compare with the
 * trainer's decision from its own XGBoost/LIBLINEAR probabilities (prob: n x K, class order; value
 * policies: predicted accuracies) under rule (the bundle's) at price mu.
 * *parity = 1 when every tier matches; ALLOT_E_CHECK (naming the first mismatch) otherwise.
 */
allot_status allot_learn_runtime_parity(const char *text, size_t len, const allot_curves *c,
                                        const size_t *rows, size_t n, const double *prob, int K,
                                        const int *class_tier, const double *class_cost, double mu,
                                        allot_rule rule, int *parity, allot_error *err);

/** The split every static trainer uses: allot_split_make_part when o->test_parts >= 2 (cross-fitting),
 *  else allot_split_make with o->test_fraction. */
allot_status allot_train_split(size_t n, const allot_train_options *o, allot_split *sp, allot_error *err);

#endif
