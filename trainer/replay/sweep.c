/*
 * sweep.c - every requested method at every budget over the replay orders, with the spread over
 * shuffles, uniform's full curve and the efficiency ratios.
 *
 * Data-dependent methods (adaptive-consistency, early-stop) spend what their stopping rule asks
 * for. They are run (1) at their default parameter with no budget cap (reported as is), (2) over a
 * parameter grid with no cap (their own accuracy-versus-budget curve), and (3) in the table at
 * budget B with the grid parameter whose mean uncapped spend is the smallest at or above B (the
 * most spending one when none reaches B), capped at B (a hard budget: every unstopped query takes
 * one sample, or window, per round until the budget runs out).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "replay.h"
#include "replay_internal.h"
#include "util.h"

static const double ac_grid[] = {0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999, 0.99999, 0.999999};
static const double es_grid[] = {2, 3, 4, 5, 6, 8, 10, 12, 16};
#define N_AC_GRID (sizeof ac_grid / sizeof ac_grid[0])
#define N_ES_GRID (sizeof es_grid / sizeof es_grid[0])

void allot_replay_report_free(allot_replay_report *r) {
    if (!r) return;
    free(r->runs_path);
    free(r->model);
    free(r->budgets);
    free(r->cells);
    free(r->curve_spent);
    free(r->curve_coverage);
    free(r->curve_accuracy);
    free(r->ac_sweep);
    free(r->es_sweep);
    free(r->predicted_difficulty);
    memset(r, 0, sizeof *r);
}

/*
 * The reference is uniform's upper concave envelope, cut at its highest point: what mixing two
 * uniform budgets over the queries reaches (accuracy is not monotone in k: majority@2 can lose to
 * majority@1 on ties). Against the raw curve the first crossing would flatter or punish a method at
 * random, and uniform would not even score 1 against itself.
 */
double allot_replay_efficiency(const double *cx, const double *cy, size_t n, double y, double spent) {
    if (!(spent > 0) || n == 0 || isnan(y)) return NAN;
    const double tol = 1e-12; /* means summed in different orders differ in the last bits */
    size_t *h = malloc(n * sizeof *h), m = 0;
    if (!h) return NAN;
    /* upper hull (monotone chain) over points in increasing x; equal x keeps the highest */
    for (size_t k = 0; k < n; k++) {
        if (m && cx[k] == cx[h[m - 1]]) {
            if (cy[k] <= cy[h[m - 1]]) continue;
            m--;
        }
        while (m >= 2) {
            size_t a = h[m - 2], b = h[m - 1];
            /* drop b when it lies on or below the chord from a to k */
            double cross = (cx[b] - cx[a]) * (cy[k] - cy[a]) - (cy[b] - cy[a]) * (cx[k] - cx[a]);
            if (cross < 0) break;
            m--;
        }
        h[m++] = k;
    }
    size_t top = 0; /* past the highest vertex the envelope only falls: cut it there */
    for (size_t j = 1; j < m; j++)
        if (cy[h[j]] > cy[h[top]]) top = j;
    double r = INFINITY; /* uniform never gets there: ">max" */
    if (y <= cy[h[0]] + tol) {
        r = cx[h[0]] / spent;
    } else {
        for (size_t j = 1; j <= top; j++) {
            size_t k = h[j], p = h[j - 1];
            if (cy[k] < y - tol) continue;
            if (cy[k] <= y) {
                r = cx[k] / spent;
            } else {
                double dy = cy[k] - cy[p];
                double t = dy > 0 ? (y - cy[p]) / dy : 1.0;
                r = (cx[p] + t * (cx[k] - cx[p])) / spent;
            }
            break;
        }
    }
    free(h);
    return r;
}

/* Run method m with parameter param at budget over every view; metrics per view into arrays. */
static allot_status run_views(const allot_replay_view *views, size_t nv, allot_replay_method m, double budget,
                              double param, const allot_replay_options *o, size_t *alloc, double *cov,
                              double *acc, double *spent, double *exhausted, double *bucket,
                              double *param_used, const char **note, allot_error *err) {
    if (bucket) memset(bucket, 0, ALLOT_REPLAY_N_BINS * sizeof *bucket);
    for (size_t s = 0; s < nv; s++) {
        allot_replay_run_info info;
        memset(&info, 0, sizeof info);
        allot_status st = allot_replay_run(&views[s], m, budget, param, o, alloc, &info, err);
        if (st != ALLOT_OK) {
            if (note) *note = info.note;
            return st;
        }
        allot_replay_metrics mt;
        allot_replay_evaluate(&views[s], alloc, o, &mt);
        cov[s] = mt.coverage;
        acc[s] = mt.accuracy;
        spent[s] = mt.mean_spent;
        if (exhausted) exhausted[s] = (double)info.n_exhausted;
        if (param_used) *param_used = info.param;
        if (bucket)
            for (int b = 0; b < ALLOT_REPLAY_N_BINS; b++) bucket[b] += mt.bucket_spent[b] / (double)nv;
        /* the accounting invariant every method must keep */
        if (isfinite(budget) && mt.total_spent > budget * (double)views[s].n * (1 + 1e-9) + 1e-9)
            return allot_error_set(err, ALLOT_E_CHECK, "replay: %s spent %.17g above the total %.17g",
                                   allot_replay_method_name(m), mt.total_spent, budget * (double)views[s].n);
    }
    return ALLOT_OK;
}

static allot_status param_sweep(const allot_replay_view *views, size_t nv, allot_replay_method m,
                                const double *grid, size_t ng, const allot_replay_options *o, size_t *alloc,
                                double *cov, double *acc, double *spent, allot_replay_param_point *out,
                                allot_error *err) {
    for (size_t g = 0; g < ng; g++) {
        allot_status st = run_views(views, nv, m, INFINITY, grid[g], o, alloc, cov, acc, spent, NULL, NULL,
                                    NULL, NULL, err);
        if (st != ALLOT_OK) return st;
        out[g].param = grid[g];
        out[g].coverage = allot_replay_stats(cov, nv);
        out[g].accuracy = allot_replay_stats(acc, nv);
        out[g].spent = allot_replay_stats(spent, nv);
    }
    return ALLOT_OK;
}

/* The grid parameter with the smallest mean uncapped spend >= budget (so that, capped at the
 * budget, it uses the budget as the other methods do); when none reaches the budget, the one that
 * spends the most. Chosen from spend alone, never from accuracy. */
static double pick_param(const allot_replay_param_point *pts, size_t n, double budget) {
    double best = NAN, best_spend = INFINITY, most = NAN, most_spend = -1;
    for (size_t g = 0; g < n; g++) {
        double s = pts[g].spent.mean;
        if (s >= budget - 1e-12 && s < best_spend) {
            best_spend = s;
            best = pts[g].param;
        }
        if (s > most_spend) {
            most_spend = s;
            most = pts[g].param;
        }
    }
    return isnan(best) ? most : best;
}

allot_status allot_replay_sweep(const allot_replay_pools *p, const allot_replay_options *o,
                                const allot_replay_sweep_options *so, const char *runs_path,
                                allot_replay_report *r, allot_error *err) {
    memset(r, 0, sizeof *r);
    if (p->n == 0) return allot_error_set(err, ALLOT_E_ARGUMENT, "replay: no queries");
    if (so->n_budgets == 0) return allot_error_set(err, ALLOT_E_ARGUMENT, "replay: no budget");
    if (o->select == ALLOT_REPLAY_SELECT_MAJORITY && p->no_answer_line)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s:%zu: samples[0].answer: missing (the accuracy, by majority vote, needs "
                               "answers; no sample of model \"%s\" on this line has one: give answers, or "
                               "--select best with scores)",
                               runs_path ? runs_path : "replay", p->no_answer_line, p->model ? p->model : "");
    size_t nv = so->shuffles > 0 ? (size_t)so->shuffles : 1;
    allot_replay_view *views = calloc(nv, sizeof *views);
    size_t *alloc = malloc(p->n * sizeof *alloc);
    double *cov = malloc(nv * sizeof *cov), *acc = malloc(nv * sizeof *acc),
           *spent = malloc(nv * sizeof *spent);
    double *exh = malloc(nv * sizeof *exh);
    size_t nc = p->n_max + 1;
    r->runs_path = allot_strdup(runs_path ? runs_path : "");
    r->model = allot_strdup(p->model ? p->model : "");
    r->budgets = malloc(so->n_budgets * sizeof *r->budgets);
    r->cells = calloc(so->n_budgets * ALLOT_REPLAY_N_METHODS, sizeof *r->cells);
    r->curve_spent = calloc(nc, sizeof(double));
    r->curve_coverage = calloc(nc, sizeof(double));
    r->curve_accuracy = calloc(nc, sizeof(double));
    r->ac_sweep = calloc(N_AC_GRID, sizeof *r->ac_sweep);
    r->es_sweep = calloc(N_ES_GRID, sizeof *r->es_sweep);
    r->predicted_difficulty =
        allot_strdup("ridge regression of pass rate on the runtime featuriser's built-in prompt "
                     "features, fitted on the other half (deployable)");
    allot_status st = ALLOT_OK;
    if (!views || !alloc || !cov || !acc || !spent || !exh || !r->runs_path || !r->model || !r->budgets ||
        !r->cells || !r->curve_spent || !r->curve_coverage || !r->curve_accuracy || !r->ac_sweep ||
        !r->es_sweep || !r->predicted_difficulty) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        goto done;
    }
    r->n_queries = p->n;
    r->n_skipped = p->n_skipped;
    r->n_max = p->n_max;
    r->shuffles = so->shuffles;
    r->opts = *o;
    memcpy(r->methods, so->methods, sizeof r->methods);
    r->n_budgets = so->n_budgets;
    memcpy(r->budgets, so->budgets, so->n_budgets * sizeof *r->budgets);
    r->n_curve = nc;
    r->n_ac = N_AC_GRID;
    r->n_es = N_ES_GRID;
    for (size_t s = 0; s < nv; s++) {
        st = allot_replay_view_make(p, so->shuffles > 0 ? (long)s : -1, o->seed, &views[s], err);
        if (st != ALLOT_OK) goto done;
    }
    for (size_t i = 0; i < p->n; i++) r->bucket_n[allot_replay_bucket(views[0].pass_rate[i])]++;

    /* uniform's curve: k samples for every query (capped by its pool), k = 0..n_max */
    for (size_t k = 0; k < nc; k++) {
        for (size_t s = 0; s < nv; s++) {
            for (size_t i = 0; i < p->n; i++) alloc[i] = k;
            allot_replay_metrics mt;
            allot_replay_evaluate(&views[s], alloc, o, &mt);
            r->curve_spent[k] += mt.mean_spent / (double)nv;
            r->curve_coverage[k] += mt.coverage / (double)nv;
            r->curve_accuracy[k] += mt.accuracy / (double)nv;
        }
    }
    allot_progress prog;
    size_t total_steps = so->n_budgets * ALLOT_REPLAY_N_METHODS + 2, step = 0;
    allot_progress_start(&prog, "replay", total_steps, so->progress);
    if (so->methods[ALLOT_REPLAY_ADAPTIVE_CONSISTENCY]) {
        st = param_sweep(views, nv, ALLOT_REPLAY_ADAPTIVE_CONSISTENCY, ac_grid, N_AC_GRID, o, alloc, cov, acc,
                         spent, r->ac_sweep, err);
        if (st != ALLOT_OK) goto done;
        st = run_views(views, nv, ALLOT_REPLAY_ADAPTIVE_CONSISTENCY, INFINITY, o->ac_threshold, o, alloc, cov,
                       acc, spent, NULL, NULL, NULL, NULL, err);
        if (st != ALLOT_OK) goto done;
        r->ac_default.param = o->ac_threshold;
        r->ac_default.coverage = allot_replay_stats(cov, nv);
        r->ac_default.accuracy = allot_replay_stats(acc, nv);
        r->ac_default.spent = allot_replay_stats(spent, nv);
    }
    allot_progress_update(&prog, ++step);
    if (so->methods[ALLOT_REPLAY_EARLY_STOP]) {
        st = param_sweep(views, nv, ALLOT_REPLAY_EARLY_STOP, es_grid, N_ES_GRID, o, alloc, cov, acc, spent,
                         r->es_sweep, err);
        if (st != ALLOT_OK) goto done;
        st = run_views(views, nv, ALLOT_REPLAY_EARLY_STOP, INFINITY, (double)o->es_window, o, alloc, cov, acc,
                       spent, NULL, NULL, NULL, NULL, err);
        if (st != ALLOT_OK) goto done;
        r->es_default.param = o->es_window;
        r->es_default.coverage = allot_replay_stats(cov, nv);
        r->es_default.accuracy = allot_replay_stats(acc, nv);
        r->es_default.spent = allot_replay_stats(spent, nv);
    }
    allot_progress_update(&prog, ++step);

    for (size_t b = 0; b < so->n_budgets; b++) {
        double budget = so->budgets[b];
        for (int m = 0; m < ALLOT_REPLAY_N_METHODS; m++) {
            allot_progress_update(&prog, ++step);
            allot_replay_cell *c = &r->cells[b * ALLOT_REPLAY_N_METHODS + (size_t)m];
            c->param = NAN;
            c->eff_coverage = c->eff_accuracy = NAN;
            if (!so->methods[m]) continue;
            double param = NAN;
            if (m == ALLOT_REPLAY_ADAPTIVE_CONSISTENCY) param = pick_param(r->ac_sweep, N_AC_GRID, budget);
            if (m == ALLOT_REPLAY_EARLY_STOP) param = pick_param(r->es_sweep, N_ES_GRID, budget);
            allot_error e2 = {0};
            const char *note = NULL;
            allot_status rs = run_views(views, nv, (allot_replay_method)m, budget, param, o, alloc, cov, acc,
                                        spent, exh, c->bucket_spent, &c->param, &note, &e2);
            if (rs == ALLOT_E_UNSUPPORTED) {
                c->ran = 0;
                c->note = note ? note : "not available in this build";
                continue;
            }
            if (rs != ALLOT_OK) {
                st = rs;
                if (err) *err = e2;
                goto done;
            }
            c->ran = 1;
            c->coverage = allot_replay_stats(cov, nv);
            c->accuracy = allot_replay_stats(acc, nv);
            c->spent = allot_replay_stats(spent, nv);
            allot_replay_stat ex = allot_replay_stats(exh, nv);
            c->exhausted = ex.mean;
            c->eff_coverage = allot_replay_efficiency(r->curve_spent, r->curve_coverage, nc, c->coverage.mean,
                                                      c->spent.mean);
            c->eff_accuracy = allot_replay_efficiency(r->curve_spent, r->curve_accuracy, nc, c->accuracy.mean,
                                                      c->spent.mean);
        }
    }
    allot_progress_finish(&prog, step);
done:
    if (views)
        for (size_t s = 0; s < nv; s++) allot_replay_view_free(&views[s]);
    free(views);
    free(alloc);
    free(cov);
    free(acc);
    free(spent);
    free(exh);
    if (st != ALLOT_OK) allot_replay_report_free(r);
    return st;
}
