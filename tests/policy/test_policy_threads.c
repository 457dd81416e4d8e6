/* test_policy_threads.c - several threads predicting on one shared policy (each with its own
 * workspace, or none) give exactly the single-threaded results. Run under TSan too. */
#include <linear.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot.h"
#include "policy_test_util.h"

#define NQ 400
#define NT 8

static pt_counts C;

typedef struct {
    const allot_policy *p;
    allot_query_input *in;
    allot_decision *ref;
    double *ref_probs;
    size_t n_tiers;
    int use_ws;
    allot_budget *budget;
    int mismatches;
} job;

static void *worker(void *a) {
    job *j = a;
    allot_workspace *ws = NULL;
    if (j->use_ws && allot_workspace_create(j->p, &ws, NULL)) return NULL;
    double probs[16];
    for (int rep = 0; rep < 3; rep++)
        for (int i = 0; i < NQ; i++) {
            allot_decision d;
            int k = (i * 7 + rep * 13) % NQ; /* each thread walks the queries in its own order */
            if (allot_policy_predict(j->p, ws, &j->in[k], NULL, probs, j->n_tiers, &d, NULL) != ALLOT_OK ||
                d.tier != j->ref[k].tier ||
                (d.expected_cost != j->ref[k].expected_cost &&
                 !(isnan(d.expected_cost) && isnan(j->ref[k].expected_cost))) ||
                memcmp(probs, j->ref_probs + (size_t)k * j->n_tiers, j->n_tiers * sizeof *probs) != 0)
                j->mismatches++;
            if (j->budget) allot_budget_observe(j->budget, d.cost);
        }
    allot_workspace_free(ws);
    return NULL;
}

static void run(const char *what, const char *bundle, int use_ws) {
    allot_policy *p;
    allot_error e;
    if (allot_policy_load_memory(bundle, strlen(bundle), &p, &e)) {
        pt_check(&C, 0, "%s: %s", what, e.msg);
        return;
    }
    size_t nt = allot_policy_n_tiers(p);
    pt_rng r = {31337};
    char *prompts[NQ];
    double extras[NQ];
    allot_query_input in[NQ];
    size_t ne = allot_featurizer_n_extra(allot_policy_featurizer(p));
    for (int i = 0; i < NQ; i++) {
        prompts[i] = pt_make_prompt(&r, 3, NULL, &extras[i]);
        in[i] = (allot_query_input){.prompt = prompts[i],
                                    .prompt_len = strlen(prompts[i]),
                                    .extras = ne ? &extras[i] : NULL,
                                    .n_extras = ne};
    }
    allot_decision *ref = malloc(NQ * sizeof *ref);
    double *ref_probs = malloc(NQ * nt * sizeof *ref_probs);
    allot_workspace *ws;
    allot_workspace_create(p, &ws, NULL);
    allot_policy_predict_batch(p, ws, in, NQ, NULL, ref_probs, NQ * nt, ref, NULL);
    allot_workspace_free(ws);
    allot_budget_config cfg = ALLOT_BUDGET_CONFIG_INIT;
    allot_budget_config_default(&cfg, 2.0, allot_policy_mu(p));
    allot_budget *b;
    allot_budget_create(&cfg, &b, NULL);
    pthread_t th[NT];
    job jobs[NT];
    for (int t = 0; t < NT; t++) {
        jobs[t] = (job){p, in, ref, ref_probs, nt, use_ws, b, 0};
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    int mism = 0;
    for (int t = 0; t < NT; t++) {
        pthread_join(th[t], NULL);
        mism += jobs[t].mismatches;
    }
    allot_budget_state st = ALLOT_BUDGET_STATE_INIT;
    allot_budget_get_state(b, &st);
    pt_check(&C, mism == 0,
             "%s: %d threads x %d predictions equal the single-threaded results (%d mismatches)", what, NT,
             3 * NQ, mism);
    pt_check(&C, st.count == (uint64_t)NT * 3 * NQ, "%s: shared controller saw every observation", what);
    allot_budget_free(b);
    free(ref);
    free(ref_probs);
    for (int i = 0; i < NQ; i++) free(prompts[i]);
    allot_policy_free(p);
}

int main(void) {
    pt_bundle_opts ox = {4, 3, NULL, "calibrated", 0.1, 1, 0, 15};
    char *bx = pt_bundle_xgboost(&ox, 600, 1, NULL);
    run("xgboost, own workspaces", bx, 1);
    run("xgboost, no workspace", bx, 0);
    free(bx);
    pt_bundle_opts ol = {3, 3, NULL, "argmax", 0, 1, 512, 0};
    char *bl = pt_bundle_liblinear(&ol, 400, 2, L2R_LR);
    run("liblinear dense+hashed", bl, 1);
    free(bl);
    pt_bundle_opts ov = {4, 4, NULL, "value", 0.02, 1, 0, 15};
    char *bv = pt_bundle_value_xgboost(&ov, 500, 3);
    run("xgboost value policy (per-tier regressors), own workspaces", bv, 1);
    run("xgboost value policy, no workspace", bv, 0);
    free(bv);
    return pt_finish(&C);
}
