/*
 * allot.h - umbrella header of the allot serving runtime (liballot).
 *
 * The runtime predicts, in microseconds, how much test-time compute tier to spend on an LLM query:
 *
 *   allot_error.h     status codes and caller-owned error messages
 *   allot_features.h  the featuriser shared with the trainer (prompt -> dense + hashed features)
 *   allot_model.h     XGBoost JSON and LIBLINEAR model evaluators (bit-exact)
 *   allot_policy.h    policy bundles: tiers + features + classifier + decision rule -> a tier
 *   allot_budget.h    an online controller keeping the mean spent cost at a target
 *   allot_sequential.h  sequential policies: stop or draw more samples, stage by stage
 *
 * Depends on libc, libm and cJSON only. See docs/runtime.md for how to embed it.
 */
#ifndef ALLOT_H
#define ALLOT_H

#include "allot/allot_error.h"
#include "allot/allot_features.h"
#include "allot/allot_model.h"
#include "allot/allot_policy.h"
#include "allot/allot_budget.h"
#include "allot/allot_sequential.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Version of this header (semantic versioning), the one place it is written: CMake reads it for the
 * project version, allot.pc and allotConfigVersion.cmake. MAJOR is the ABI: the shared library is
 * liballot.so.MAJOR, and MAJOR changes whenever a program built against an older header of the same
 * MAJOR could break (a changed struct layout or signature, a removed function). MINOR adds
 * functions or struct versions, PATCH fixes. Caller-allocated structs carry a version or reserved
 * room (see allot_policy.h and allot_budget.h; allot_error's layout is fixed for a MAJOR).
 */
#define ALLOT_VERSION_MAJOR 1
#define ALLOT_VERSION_MINOR 0
#define ALLOT_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH, comparable with allot_version_number(). */
#define ALLOT_VERSION_NUMBER (ALLOT_VERSION_MAJOR * 10000 + ALLOT_VERSION_MINOR * 100 + ALLOT_VERSION_PATCH)

/** Version of the linked library as "MAJOR.MINOR.PATCH" (static storage). */
ALLOT_API const char *allot_version_string(void);
/** Version of the linked library as MAJOR * 10000 + MINOR * 100 + PATCH. */
ALLOT_API unsigned allot_version_number(void);

#ifdef __cplusplus
}
#endif
#endif /* ALLOT_H */
