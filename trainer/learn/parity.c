/* parity.c - trainer/runtime decision parity (see learn_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_policy.h"
#include "dataset.h"
#include "learn_internal.h"

/* The first held-out query on which the runtime and the trainer disagree, and how many do. */
typedef struct parity_mismatch {
    size_t n, first;
    int want;
    size_t got;
} parity_mismatch;

/* Decide every query of rows with the loaded policy (its own rule and price) and compare. */
static allot_status compare_decisions(const allot_policy *p, allot_workspace *ws, const allot_curves *c,
                                      const size_t *rows, size_t n, const double *prob, int K,
                                      const int *class_tier, const double *class_cost, double mu,
                                      allot_rule rule, parity_mismatch *mm, allot_error *err) {
    const allot_featurizer *f = allot_policy_featurizer(p);
    size_t ne = allot_featurizer_n_extra(f), ed = allot_featurizer_embedding_dim(f);
    double *extras = malloc((ne ? ne : 1) * sizeof *extras);
    float *ebuf = malloc((ed ? ed : 1) * sizeof *ebuf);
    if (!extras || !ebuf) {
        free(extras);
        free(ebuf);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (parity)");
    }
    allot_status st = ALLOT_OK;
    for (size_t j = 0; j < n && st == ALLOT_OK; j++) {
        size_t i = rows[j];
        st = allot_curves_query_extras(f, c, i, extras, err);
        const float *emb = NULL;
        if (st == ALLOT_OK) st = allot_curves_query_embedding(f, c, i, ebuf, &emb, err);
        if (st != ALLOT_OK) break;
        const char *pr = c->prompts ? c->prompts[i] : NULL;
        allot_query_input q = {
            .prompt = pr, .prompt_len = pr ? strlen(pr) : 0, .extras = ne ? extras : NULL, .n_extras = ne};
        allot_decision d;
        st = allot_policy_predict_embedded(p, ws, &q, emb, emb ? ed : 0, NULL, NULL, 0, &d, err);
        if (st != ALLOT_OK) break;
        size_t cls = allot_rule_apply(rule, mu, prob + j * (size_t)K, class_cost, (size_t)K);
        if ((long)d.tier != (long)class_tier[cls]) {
            if (!mm->n) {
                mm->first = i;
                mm->want = class_tier[cls];
                mm->got = d.tier;
            }
            mm->n++;
        }
    }
    free(extras);
    free(ebuf);
    return st;
}

allot_status allot_learn_runtime_parity(const char *text, size_t len, const allot_curves *c,
                                        const size_t *rows, size_t n, const double *prob, int K,
                                        const int *class_tier, const double *class_cost, double mu,
                                        allot_rule rule, int *parity, allot_error *err) {
    *parity = 0;
    allot_policy *p = NULL;
    allot_workspace *ws = NULL;
    parity_mismatch mm = {0, 0, 0, 0};
    allot_status st = allot_policy_load_memory(text, len, &p, err);
    if (st != ALLOT_OK)
        st = allot_error_set(err, st == ALLOT_E_NOMEM ? ALLOT_E_NOMEM : ALLOT_E_INTERNAL,
                             "the runtime cannot load the bundle just rendered: %.400s", err ? err->msg : "");
    if (st == ALLOT_OK) st = allot_workspace_create(p, &ws, err);
    if (st == ALLOT_OK)
        st = compare_decisions(p, ws, c, rows, n, prob, K, class_tier, class_cost, mu, rule, &mm, err);
    if (st == ALLOT_OK && mm.n)
        st = allot_error_set(
            err, ALLOT_E_CHECK,
            "runtime parity: the runtime's tier differs from the trainer's on %zu of %zu checked "
            "queries (first: %s, trainer tier %d, runtime tier %zu)",
            mm.n, n, c->ids[mm.first], mm.want, mm.got);
    if (st == ALLOT_OK) *parity = 1;
    allot_workspace_free(ws);
    allot_policy_free(p);
    return st;
}
