/* seq_driver.c - development driver: train a sequential policy (to be replaced by allot train --stages). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq_eval.h"
#include "seq_report.h"
#include "seq_train.h"

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "eval")) {
        allot_sq_eval_options eo;
        allot_sq_eval_options_default(&eo);
        if (getenv("EB")) eo.budget = atof(getenv("EB"));
        if (getenv("ER")) eo.orderings = atoi(getenv("ER"));
        allot_sq_eval e;
        allot_error er;
        allot_error_clear(&er);
        if (allot_sq_evaluate((const char *const *)argv + 3, (size_t)argc - 3, argv[2], &eo, &e, &er)) {
            fprintf(stderr, "error: %s\n", er.msg);
            return 2;
        }
        char *md = allot_sq_eval_markdown(&e);
        fputs(md, stdout);
        free(md);
        allot_sq_eval_free(&e);
        return 0;
    }
    if (argc < 5) {
        fprintf(stderr,
                "usage: seq_driver RUNS STAGES BUDGET OUT [learner] [test_fraction] [seed] [orderings]\n");
        return 1;
    }
    allot_sq_train_options o;
    allot_sq_train_options_default(&o);
    o.budget = atof(argv[3]);
    if (argc > 5 && !strcmp(argv[5], "liblinear")) o.learner = ALLOT_LEARNER_LIBLINEAR;
    if (argc > 6) o.test_fraction = atof(argv[6]);
    if (argc > 7) o.seed = strtoull(argv[7], NULL, 10);
    if (argc > 8) o.orderings = atoi(argv[8]);
    if (argc > 9) {
        o.test_parts = 2;
        o.test_part = atoi(argv[9]);
    }
    o.progress = 1;
    if (getenv("XD")) o.xgb.max_depth = atoi(getenv("XD"));
    if (getenv("XE")) o.xgb.eta = atof(getenv("XE"));
    if (getenv("XM")) o.xgb.min_child_weight = atof(getenv("XM"));
    if (getenv("XS")) o.xgb.subsample = atof(getenv("XS"));
    if (getenv("XC")) o.continuations = atoi(getenv("XC"));
    o.xgb.nthread = 1;
    allot_sq_train_report r;
    allot_error err;
    allot_error_clear(&err);
    allot_status st = allot_sq_train(argv[1], argv[2], &o, argv[4], &r, &err);
    if (st) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 2;
    }
    printf("queries %zu train %zu test %zu stages %zu rows %zu inputs %zu\n", r.n_queries, r.n_train,
           r.n_test, r.n_stages, r.n_rows, r.n_inputs);
    printf("lambda %.6g  oof acc %.4f cost %.3f | test acc %.4f cost %.3f uniform@cost %.4f | parity %d (%zu "
           "steps) "
           "%.1fs\n",
           r.lambda, r.oof_acc, r.oof_cost, r.test_acc, r.test_cost, r.test_uniform_acc, r.runtime_parity,
           r.parity_steps, r.seconds);
    return 0;
}
