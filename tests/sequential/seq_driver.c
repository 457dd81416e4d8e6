/* seq_driver.c - development driver: train a sequential policy (to be replaced by allot train --stages). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq_train.h"

int main(int argc, char **argv) {
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
    o.progress = 1;
    o.xgb.nthread = 2;
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
