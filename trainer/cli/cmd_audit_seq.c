/* allot audit on sequential policies - labelled runs + bundles -> report at equal spend (trainer/sequential).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "allot/allot_sequential.h"
#include "cli.h"
#include "seq_eval.h"
#include "seq_report.h"
#include "util.h"

static const char *const CMD = "audit";

int allot_cli_bundle_is_sequential(const char *path, int *seq) {
    char *text = NULL;
    size_t len = 0;
    allot_policy *p = NULL;
    allot_error err = {0};
    allot_status st = allot_read_file(path, ALLOT_POLICY_MAX_FILE_BYTES, &text, &len, &err);
    if (!st && (st = allot_policy_load_memory(text, len, &p, &err))) {
        char msg[ALLOT_ERROR_MSG_SIZE];
        snprintf(msg, sizeof msg, "%s", err.msg);
        allot_error_set(&err, st, "%s: %s", path, msg);
    }
    free(text);
    if (st) return allot_cli_fail(CMD, &err);
    *seq = allot_policy_is_sequential(p);
    allot_policy_free(p);
    return ALLOT_EXIT_OK;
}

/* The summary: the verdict line, then each comparison at equal spend. */
static void print_summary(const allot_sq_eval *e, const char *out, const char *plot_note) {
    printf("sequential audit of %zu queries (%s), %zu orderings each; report in %s/report.md\n", e->n_queries,
           e->n_bundles > 1 ? "cross-fitted"
           : e->own_split   ? "held out"
                            : "every query of the file",
           e->n_orderings, out);
    const allot_sq_policy_eval *pes[3] = {&e->refit, &e->shipped, &e->controller};
    const char *names[3] = {"price re-fitted", "price shipped", "online budget controller"};
    const double lambdas[3] = {e->lambda_refit, e->lambda_shipped, NAN};
    for (int k = 0; k < 2 + e->has_controller; k++) {
        const allot_sq_policy_eval *pe = pes[k];
        printf("\npolicy (%s, lambda %.6g): accuracy %.4f at mean spend %.4f (budget %g)\n", names[k],
               lambdas[k], pe->point.acc, pe->point.cost, e->budget);
        printf("  %-22s %9s %9s %22s\n", "at equal spend", "accuracy", "policy-it", "95% paired bootstrap");
        for (int c = 0; c < ALLOT_SQ_N_COMPARE; c++) {
            const allot_sq_compare *cm = &pe->cmp[c];
            if (!cm->available) {
                printf("  %-22s %9s   (%s)\n", cm->name, "n/a", cm->note);
                continue;
            }
            printf("  %-22s %9.4f %+9.4f   [%+.4f, %+.4f]%s%s\n", cm->name, cm->acc, cm->delta, cm->lo,
                   cm->hi, cm->note[0] ? "  " : "", cm->note);
        }
    }
    printf("\nruntime step decisions checked against the replay: %zu\n", e->parity_steps);
    if (plot_note[0]) printf("plots: %s\n", plot_note);
}

int allot_cli_audit_sequential(const allot_cli_seq_audit *a, const char *runs) {
    allot_sq_eval_options o;
    allot_sq_eval_options_default(&o);
    o.budget = a->budget;
    o.seed = a->seed;
    o.bootstrap = a->bootstrap;
    if (a->orderings) o.orderings = a->orderings;
    o.all_queries = a->all_queries;
    o.progress = a->progress;
    allot_error err = {0};
    allot_sq_eval e;
    allot_status st = allot_sq_evaluate(a->policies, a->n_policies, runs, &o, &e, &err);
    if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
    char note[256] = "";
    st = allot_sq_eval_write(&e, a->out, a->plots, note, sizeof note, &err);
    if (st == ALLOT_OK && a->json) {
        char *js = allot_sq_eval_json(&e);
        if (js) fputs(js, stdout);
        free(js);
    } else if (st == ALLOT_OK) {
        print_summary(&e, a->out, note);
    }
    allot_sq_eval_free(&e);
    return st == ALLOT_OK ? ALLOT_EXIT_OK : allot_cli_fail(CMD, &err);
}
