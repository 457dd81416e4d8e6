/* parity.c - trainer/runtime decision parity (see learn_internal.h). */
#include "learn_internal.h"

allot_status allot_learn_runtime_parity(const char *path, const allot_curves *c, const size_t *rows, size_t n,
                                        const double *prob, int K, const int *class_tier, const double *class_cost,
                                        double mu, int argmax_rule, int *parity, allot_error *err) {
    /* the runtime's policy loader has not landed yet: not checked */
    (void)path, (void)c, (void)rows, (void)n, (void)prob, (void)K, (void)class_tier, (void)class_cost, (void)mu;
    (void)argmax_rule, (void)err;
    *parity = -1;
    return ALLOT_OK;
}
