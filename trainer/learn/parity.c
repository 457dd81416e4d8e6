/* parity.c - trainer/runtime decision parity (see learn_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "learn_internal.h"
#include "runtime_adapter.h"

allot_status allot_learn_runtime_parity(const char *path, const allot_curves *c, const size_t *rows, size_t n,
                                        const double *prob, int K, const int *class_tier,
                                        const double *class_cost, double mu, int rule, int *parity,
                                        allot_error *err) {
    *parity = 0;
    allot_rt_policy *p = NULL;
    double *extras = NULL;
    allot_status st = allot_rt_load(path, &p, err);
    if (st != ALLOT_OK) return st;
    const allot_featurizer *f = allot_rt_featurizer(p);
    size_t ne = allot_featurizer_n_extra(f);
    extras = malloc((ne ? ne : 1) * sizeof *extras);
    if (!extras) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (parity)");
        goto done;
    }
    size_t bad = 0, first = 0;
    int want = 0;
    size_t got = 0;
    for (size_t j = 0; j < n; j++) {
        size_t i = rows[j];
        st = allot_curves_query_extras(f, c, i, extras, err);
        if (st != ALLOT_OK) goto done;
        const char *pr = c->prompts ? c->prompts[i] : NULL;
        size_t tier = 0;
        st = allot_rt_predict(p, pr, pr ? strlen(pr) : 0, extras, ne, ALLOT_RT_BUNDLE_RULE, NAN, &tier, NULL,
                              err);
        if (st != ALLOT_OK) goto done;
        size_t cls = allot_rt_rule_apply(rule, mu, prob + j * (size_t)K, class_cost, (size_t)K);
        if ((long)tier != (long)class_tier[cls]) {
            if (!bad) {
                first = i;
                want = class_tier[cls];
                got = tier;
            }
            bad++;
        }
    }
    if (bad) {
        st = allot_error_set(
            err, ALLOT_E_CHECK,
            "runtime parity: the runtime's tier differs from the trainer's on %zu of %zu held-out "
            "queries (first: %s, trainer tier %d, runtime tier %zu)",
            bad, n, c->ids[first], want, got);
        goto done;
    }
    *parity = 1;
done:
    free(extras);
    allot_rt_free(p);
    return st;
}
