/*
 * liblinear_internal.h - runtime-private evaluation of a LIBLINEAR model on a policy's input, without
 * building the (index, value) list first.
 */
#ifndef ALLOT_LIBLINEAR_INTERNAL_H
#define ALLOT_LIBLINEAR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_model.h"

/*
 * The feature list this stands for: (i + 1, dense[i]) for every i < n_dense with dense[i] != 0, then
 * (n_dense + sparse_index[j] + 1, sparse_value[j]) for every j < n_sparse, in that order, values
 * converted to double. The evaluation is allot_linear_model_predict_values' (and so LIBLINEAR's) on
 * that list: the same operations in the same order, the same bits.
 */
typedef struct {
    const float *dense;
    size_t n_dense;
    const uint32_t *sparse_index;
    const float *sparse_value;
    size_t n_sparse;
} allot_linear_input;

/** The decision values (num_decision_values of them) into dec. */
void allot_linear_model_values_input(const allot_linear_model *m, const allot_linear_input *x, double *dec);

/** The class probabilities (num_classes of them, logistic solvers only) into prob, as
 *  allot_linear_model_predict_probability gives them for that list. */
void allot_linear_model_probability_input(const allot_linear_model *m, const allot_linear_input *x,
                                          double *prob);

/** The decision values of 4 to 8 columns with AVX2: on (1) by default where the processor has it;
 *  set_simd(m, 0) selects the portable code. Returns whether the vector code is used. For tests and
 *  benchmarks: both give the same bits. */
int allot_linear_model_set_simd(allot_linear_model *m, int on);

#endif
