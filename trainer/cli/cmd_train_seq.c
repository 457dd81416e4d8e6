/* allot train --stages - labelled runs -> a sequential policy bundle (trainer/sequential). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "seq_train.h"

static const char *const CMD = "train";

static void print_json(const allot_sq_train_options *o, const char *stages, const char *out,
                       const allot_sq_train_report *r) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "policy", out);
    cJSON_AddStringToObject(j, "kind", "sequential");
    cJSON_AddStringToObject(j, "stages", stages);
    cJSON_AddStringToObject(j, "learner", o->learner == ALLOT_LEARNER_XGBOOST ? "xgboost" : "liblinear");
    cJSON_AddNumberToObject(j, "budget", o->budget);
    cJSON_AddNumberToObject(j, "queries", (double)r->n_queries);
    cJSON_AddNumberToObject(j, "train", (double)r->n_train);
    cJSON_AddNumberToObject(j, "test", (double)r->n_test);
    cJSON_AddNumberToObject(j, "stages_n", (double)r->n_stages);
    cJSON_AddNumberToObject(j, "rows", (double)r->n_rows);
    cJSON_AddNumberToObject(j, "inputs", (double)r->n_inputs);
    cJSON_AddNumberToObject(j, "lambda", r->lambda);
    cJSON_AddNumberToObject(j, "oof_acc", r->oof_acc);
    cJSON_AddNumberToObject(j, "oof_cost", r->oof_cost);
    if (r->oof_vs_uniform_available) {
        cJSON_AddNumberToObject(j, "oof_uniform_acc", r->oof_uniform_acc);
        cJSON_AddNumberToObject(j, "oof_gain", r->oof_gain);
        cJSON_AddItemToObject(j, "oof_gain_ci95",
                              cJSON_CreateDoubleArray((double[]){r->oof_gain_lo, r->oof_gain_hi}, 2));
        cJSON_AddBoolToObject(j, "oof_beats_uniform", r->oof_gain_lo > 0);
    }
    if (r->n_test) {
        cJSON_AddNumberToObject(j, "test_acc", r->test_acc);
        cJSON_AddNumberToObject(j, "test_cost", r->test_cost);
        cJSON_AddNumberToObject(j, "test_uniform_acc_at_cost", r->test_uniform_acc);
        cJSON_AddNumberToObject(j, "parity_steps", (double)r->parity_steps);
        cJSON_AddBoolToObject(j, "runtime_parity", r->runtime_parity);
    } else {
        cJSON_AddNullToObject(j, "runtime_parity");
    }
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    char *s = cJSON_Print(j);
    if (s) printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

static void print_table(const allot_sq_train_options *o, const char *stages, const char *out,
                        const allot_sq_train_report *r) {
    printf("sequential policy %s (%s, stages %s) trained on %zu of %zu queries (%zu held out)\n", out,
           o->learner == ALLOT_LEARNER_XGBOOST ? "xgboost" : "liblinear", stages, r->n_train, r->n_queries,
           r->n_test);
    printf("training rows            %zu (%zu stages x %d orderings per query), %zu inputs\n", r->n_rows,
           r->n_stages, o->orderings, r->n_inputs);
    printf("lambda (price)           %.6g\n", r->lambda);
    printf("out-of-fold replay       acc %.4f  mean spend %.4f  (budget %g)\n", r->oof_acc, r->oof_cost,
           o->budget);
    if (r->oof_vs_uniform_available) {
        printf("out of fold vs uniform   %+.2f points [%+.2f, %+.2f] at equal spend (uniform %.4f)\n",
               100 * r->oof_gain, 100 * r->oof_gain_lo, 100 * r->oof_gain_hi, r->oof_uniform_acc);
        if (!(r->oof_gain_lo > 0))
            printf(
                "WARNING                  out of fold this policy does %s uniform allocation (95%% interval "
                "%s):\n"
                "                         stopping at a fixed stage may serve as well; audit it on held-out\n"
                "                         queries (allot audit) before deploying it\n",
                r->oof_gain_hi < 0 ? "WORSE than" : "not clearly beat",
                r->oof_gain_hi < 0 ? "below zero" : "includes zero");
    }
    if (r->n_test) {
        if (isnan(r->test_uniform_acc))
            printf("held-out replay          acc %.4f  mean spend %.4f  (less than the cheapest uniform "
                   "setting)\n",
                   r->test_acc, r->test_cost);
        else
            printf("held-out replay          acc %.4f  mean spend %.4f  (uniform at that spend: %.4f)\n",
                   r->test_acc, r->test_cost, r->test_uniform_acc);
        printf("runtime parity           %s (%zu held-out steps)\n",
               r->runtime_parity ? "same inputs, predictions and decisions at every step" : "MISMATCH",
               r->parity_steps);
    } else {
        printf("runtime parity           not checked: no query held out (audit it on another file)\n");
    }
    printf("seconds                  %.2f\n", r->seconds);
}

int allot_cli_train_sequential(const allot_sq_train_options *o, const char *runs, const char *stages,
                               const char *out, int json) {
    allot_error err = {0};
    allot_sq_train_report r;
    allot_status st = allot_sq_train(runs, stages, o, out, &r, &err);
    if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
    if (json)
        print_json(o, stages, out, &r);
    else
        print_table(o, stages, out, &r);
    return ALLOT_EXIT_OK;
}
