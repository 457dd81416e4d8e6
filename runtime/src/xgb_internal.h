/*
 * xgb_internal.h - internal (not exported) hooks of the XGBoost evaluator, for the tests.
 */
#ifndef ALLOT_XGB_INTERNAL_H
#define ALLOT_XGB_INTERNAL_H

#include "allot/allot_model.h"

/* The batch kernel the model chose at load for this machine: "avx512" (the vector kernel on the
 * level layout: AVX-512F and BW, trees of depth <= 6, at most 64 features and 64 groups), "avx2"
 * (the same layout where the CPU has AVX2 but not AVX-512F and BW) or "portable" (the block walk). */
const char *allot_xgb_model_batch_kernel_name(const allot_xgb_model *m);

/* Make the model's batch prediction use the named kernel ("portable", "avx2" or "avx512") when this
 * machine and the model allow it: 1, or 0 (the kernel is then unchanged). Call before sharing the
 * model between threads. */
int allot_xgb_model_use_batch_kernel(allot_xgb_model *m, const char *name);

#endif
