/* seq_report.c - render a sequential policy audit (see seq_report.h): compute is seq_eval.c. */
#include "seq_report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "plot.h"
#include "seed.h"

/* ---- markdown ------------------------------------------------------------------------------------------ */

static void md_policy(FILE *f, const char *title, const allot_sq_policy_eval *pe, double lambda) {
    if (isfinite(lambda))
        fprintf(f, "\n### %s: lambda %.6g\n\n", title, lambda);
    else
        fprintf(f, "\n### %s\n\n", title);
    fprintf(f, "accuracy %.4f at mean spend %.4f\n\n", pe->point.acc, pe->point.cost);
    fprintf(f, "| at equal spend | accuracy | policy - it | 95%% paired bootstrap | note "
               "|\n|---|---|---|---|---|\n");
    for (int k = 0; k < ALLOT_SQ_N_COMPARE; k++) {
        const allot_sq_compare *c = &pe->cmp[k];
        if (!c->available) {
            fprintf(f, "| %s | n/a | | | %s |\n", c->name, c->note);
            continue;
        }
        fprintf(f, "| %s | %.4f | %+.4f | [%+.4f, %+.4f] | %s", c->name, c->acc, c->delta, c->lo, c->hi,
                c->note);
        if (isfinite(c->gain_capture)) fprintf(f, "gain capture %.2f", c->gain_capture);
        fprintf(f, " |\n");
    }
}

char *allot_sq_eval_markdown(const allot_sq_eval *e) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    const allot_sq_policy_eval *pe = &e->refit;
    const allot_sq_compare *u = &pe->cmp[0], *ac = &pe->cmp[1];
    int beats = u->available && u->lo > 0;
    fprintf(f,
            "# Sequential policy audit\n\n**Verdict: %s.** At mean spend %.4f (budget %.4g) the policy "
            "reaches %.4f; "
            "uniform at equal spend %.4f (%+.2f points, 95%% CI [%+.2f, %+.2f])",
            beats ? "beats uniform allocation"
                  : (u->available && u->hi < 0 ? "WORSE than uniform allocation"
                                               : "no clear gain over uniform allocation"),
            pe->point.cost, e->budget, pe->point.acc, u->acc, 100 * u->delta, 100 * u->lo, 100 * u->hi);
    if (ac->available)
        fprintf(f, "; Adaptive-Consistency at equal spend %.4f (%+.2f points, [%+.2f, %+.2f])", ac->acc,
                100 * ac->delta, 100 * ac->lo, 100 * ac->hi);
    fprintf(
        f,
        ".\n\n%zu queries (%s), %zu orderings each; the runtime's step decisions matched the replay on %zu "
        "steps.\n",
        e->n_queries, e->own_split ? "the bundle's held-out queries" : "every query of the file",
        e->n_orderings, e->parity_steps);
    md_policy(f, "Price re-fitted to this batch (what the budget controller converges to)", &e->refit,
              e->lambda_refit);
    md_policy(f, "Price as shipped in the bundle", &e->shipped, e->lambda_shipped);
    if (e->has_controller)
        md_policy(f, "The online budget controller (allot_budget.h), queries in a seeded arrival order",
                  &e->controller, NAN);
    const allot_sq_family *fam[4] = {&e->stages, &e->alone, &e->ac, &e->es};
    for (int k = 0; k < 4; k++) {
        if (!fam[k]->n) continue;
        fprintf(f, "\n### %s\n\n| setting | accuracy | mean spend |\n|---|---|---|\n", fam[k]->name);
        for (size_t i = 0; i < fam[k]->n; i++)
            fprintf(f, "| %s | %.4f | %.4f |\n", fam[k]->p[i].name, fam[k]->p[i].acc, fam[k]->p[i].cost);
    }
    fclose(f);
    return buf;
}

/* ---- JSON ---------------------------------------------------------------------------------------------- */

static cJSON *num(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *point_json(const allot_sq_point *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddItemToObject(o, "param", num(p->param));
    cJSON_AddItemToObject(o, "acc", num(p->acc));
    cJSON_AddItemToObject(o, "cost", num(p->cost));
    return o;
}

static cJSON *policy_json(const allot_sq_policy_eval *pe, double lambda) {
    cJSON *o = point_json(&pe->point);
    cJSON_AddItemToObject(o, "lambda", num(lambda));
    cJSON *cmp = cJSON_AddObjectToObject(o, "at_equal_spend");
    for (int k = 0; k < ALLOT_SQ_N_COMPARE; k++) {
        const allot_sq_compare *c = &pe->cmp[k];
        cJSON *r = cJSON_AddObjectToObject(cmp, c->name);
        cJSON_AddBoolToObject(r, "available", c->available);
        if (c->note[0]) cJSON_AddStringToObject(r, "note", c->note);
        if (!c->available) continue;
        cJSON_AddItemToObject(r, "acc", num(c->acc));
        cJSON_AddItemToObject(r, "delta", num(c->delta));
        cJSON_AddItemToObject(r, "ci95", cJSON_CreateDoubleArray((double[]){c->lo, c->hi}, 2));
        if (isfinite(c->gain_capture)) cJSON_AddItemToObject(r, "gain_capture", num(c->gain_capture));
    }
    return o;
}

char *allot_sq_eval_json(const allot_sq_eval *e) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "tool", "allot audit (sequential)");
    cJSON_AddStringToObject(root, "runs", e->runs_path);
    cJSON_AddStringToObject(root, "policy", e->bundle_path);
    cJSON_AddNumberToObject(root, "bundles", (double)e->n_bundles);
    cJSON_AddStringToObject(root, "queries_evaluated",
                            e->n_bundles > 1 ? "cross-fitted held-out queries"
                            : e->own_split   ? "held-out queries"
                                             : "every query of the file");
    cJSON_AddNumberToObject(root, "n_queries", (double)e->n_queries);
    cJSON_AddNumberToObject(root, "orderings", (double)e->n_orderings);
    cJSON_AddItemToObject(root, "budget", num(e->budget));
    cJSON_AddNumberToObject(root, "parity_steps", (double)e->parity_steps);
    cJSON_AddItemToObject(root, "policy_refit", policy_json(&e->refit, e->lambda_refit));
    cJSON_AddItemToObject(root, "policy_shipped", policy_json(&e->shipped, e->lambda_shipped));
    if (e->has_controller) cJSON_AddItemToObject(root, "policy_controller", policy_json(&e->controller, NAN));
    const allot_sq_family *fam[4] = {&e->stages, &e->alone, &e->ac, &e->es};
    cJSON *fj = cJSON_AddObjectToObject(root, "families");
    for (int k = 0; k < 4; k++) {
        if (k == 1 && !fam[k]->n) continue; /* one model: no "one model alone" family */
        cJSON *arr = cJSON_AddArrayToObject(fj, fam[k]->name);
        for (size_t i = 0; i < fam[k]->n; i++) cJSON_AddItemToArray(arr, point_json(&fam[k]->p[i]));
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    size_t n = s ? strlen(s) : 0;
    char *t = s ? realloc(s, n + 2) : NULL; /* end with a newline, as every allot text file does */
    if (!t) {
        free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
}

/* ---- the report directory ------------------------------------------------------------------------------ */

/* Accuracy against mean spend: each family's settings, the policy at both prices. */
static allot_status plot_curves(const allot_sq_eval *e, const char *dir, char *note, size_t cap,
                                allot_error *err) {
    const allot_sq_family *fam[4] = {&e->stages, &e->alone, &e->ac, &e->es};
    const char *names[4] = {"uniform (fixed stage)", "uniform (one model alone)", "adaptive-consistency",
                            "early-stop"};
    allot_plot_series sr[6];
    double *xy[4][2] = {{0}};
    size_t ns = 0;
    allot_status st = ALLOT_OK;
    for (int k = 0; k < 4 && !st; k++) {
        if (!fam[k]->n) continue;
        xy[k][0] = malloc(fam[k]->n * sizeof(double));
        xy[k][1] = malloc(fam[k]->n * sizeof(double));
        if (!xy[k][0] || !xy[k][1]) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < fam[k]->n; i++) {
            xy[k][0][i] = fam[k]->p[i].cost;
            xy[k][1][i] = fam[k]->p[i].acc;
        }
        sr[ns++] = (allot_plot_series){names[k], fam[k]->n, xy[k][0], xy[k][1], NULL, NULL, 0};
    }
    double px[2] = {e->refit.point.cost, e->shipped.point.cost},
           py[2] = {e->refit.point.acc, e->shipped.point.acc};
    sr[ns++] = (allot_plot_series){"sequential policy (price re-fitted)", 1, px, py, NULL, NULL, 1};
    sr[ns++] = (allot_plot_series){"sequential policy (price shipped)", 1, px + 1, py + 1, NULL, NULL, 1};
    if (!st) {
        char base[4096];
        snprintf(base, sizeof base, "%s/accuracy_vs_spend", dir);
        allot_plot_opts po = {"Accuracy at equal spend (held-out queries)", "mean spend per query",
                              "accuracy", 0};
        allot_error perr = {0};
        allot_status ps = allot_plot_lines(base, &po, sr, ns, &perr);
        if (ps == ALLOT_E_UNSUPPORTED)
            snprintf(note, cap, "%s", perr.msg);
        else if (ps)
            st = allot_error_set(err, ps, "%s", perr.msg);
    }
    for (int k = 0; k < 4; k++) {
        free(xy[k][0]);
        free(xy[k][1]);
    }
    return st;
}

allot_status allot_sq_eval_write(const allot_sq_eval *e, const char *dir, int plots, char *plot_note,
                                 size_t cap, allot_error *err) {
    if (plot_note && cap) plot_note[0] = '\0';
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return allot_error_set(err, ALLOT_E_IO, "cannot create %s: %s", dir, strerror(errno));
    char *md = allot_sq_eval_markdown(e), *js = allot_sq_eval_json(e);
    allot_status st = md && js ? ALLOT_OK : allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    char path[4096];
    if (!st) {
        snprintf(path, sizeof path, "%s/report.md", dir);
        st = allot_atomic_write(path, md, strlen(md), err);
    }
    if (!st) {
        snprintf(path, sizeof path, "%s/report.json", dir);
        st = allot_atomic_write(path, js, strlen(js), err);
    }
    if (!st && plots) st = plot_curves(e, dir, plot_note, cap, err);
    free(md);
    free(js);
    return st;
}
