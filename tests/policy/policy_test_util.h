/*
 * policy_test_util.h - helpers for the policy/feature/budget tests: check counting, a
 * deterministic prompt generator, and policy bundles built from models trained in the test
 * through XGBoost's and LIBLINEAR's own C APIs (reference libraries, linked by tests only).
 */
#ifndef ALLOT_POLICY_TEST_UTIL_H
#define ALLOT_POLICY_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot.h"

typedef struct pt_counts {
    int passed, failed;
} pt_counts;

/* Record one check; prints failures. Returns cond. */
int pt_check(pt_counts *c, int cond, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Print "policy: N passed, M failed" and return the exit status. */
int pt_finish(const pt_counts *c);

/* splitmix64 */
typedef struct pt_rng {
    uint64_t s;
} pt_rng;
uint64_t pt_next(pt_rng *r);
double pt_uniform(pt_rng *r);

/* A deterministic synthetic word-problem prompt (malloc'd, NUL-terminated) and a "difficulty"
 * label in [0, n_classes) correlated with its features. */
char *pt_make_prompt(pt_rng *r, int n_classes, int *label, double *extra);

/* Tiers used by the test bundles: n tiers "t0".."t{n-1}" with costs 1, 2, 4, 8, ... */
typedef struct pt_bundle_opts {
    int n_tiers;
    int n_classes;         /* classes map to tiers class_tier[c] */
    const int *class_tier; /* NULL: class c -> tier c */
    const char *rule;      /* "argmax" or "calibrated" */
    double mu;
    int with_extra; /* one extra feature "meta.level" */
    uint32_t hash_dim;
    int rounds; /* xgboost rounds */
} pt_bundle_opts;

/* Train an XGBoost (multi:softprob, or binary:logistic for 2 classes) policy on n generated
 * prompts and return the bundle text (malloc'd); *model_json (if not NULL) receives a malloc'd
 * copy of XGBoost's JSON model text as embedded. */
char *pt_bundle_xgboost(const pt_bundle_opts *o, size_t n, uint64_t seed, char **model_json);
/* The same with trees of the given max_depth (pt_bundle_xgboost: 4). */
char *pt_bundle_xgboost_depth(const pt_bundle_opts *o, size_t n, uint64_t seed, int max_depth,
                              char **model_json);
/* Same with LIBLINEAR (L2R_LR, dense+hashed input, standardised dense block). */
char *pt_bundle_liblinear(const pt_bundle_opts *o, size_t n, uint64_t seed, int solver);

/* A value policy (classifier.target "value"): one XGBoost reg:logistic regressor per tier (o->n_tiers
 * of them; o->n_classes, class_tier, rule and hash_dim are ignored) predicting a synthetic accuracy
 * that falls with the prompt's difficulty label and rises with the tier; decision {"rule": "value",
 * "lambda": o->mu}. Bundle text, malloc'd. */
char *pt_bundle_value_xgboost(const pt_bundle_opts *o, size_t n, uint64_t seed);

/* Write text to a temporary file; returns the malloc'd path. */
char *pt_write_temp(const char *text, size_t len, const char *suffix);

#endif
