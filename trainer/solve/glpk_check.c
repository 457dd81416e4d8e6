/*
 * glpk_check.c - the oracle's LP (and, when small, its integer problem) built and solved in GLPK.
 */
#include "glpk_check.h"

#include <glpk.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

/* Build max sum acc*x s.t. sum_t x[i][t] = 1, sum cost*x <= N*B, x >= 0 (binary when integer). */
static allot_status build_problem(const double *acc, const double *cost, size_t n, size_t t, double budget,
                                  int integer, glp_prob **out, allot_error *err) {
    *out = NULL;
    if (n == 0 || t == 0)
        return allot_error_set(err, ALLOT_E_INVALID, "glpk: nothing to check (%zu queries, %zu tiers)", n, t);
    if (t > (size_t)(INT_MAX / 2 - 1) / n || n >= (size_t)INT_MAX)
        return allot_error_set(err, ALLOT_E_INVALID, "glpk: instance too large for GLPK (%zu x %zu)", n, t);
    allot_status st = allot_oracle_validate(acc, cost, n, t, err);
    if (st != ALLOT_OK) return st;
    if (!isfinite(budget) || budget < 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "glpk: budget %g must be finite and >= 0", budget);

    int nv = (int)(n * t), nr = (int)n + 1;
    int *ia = malloc((2 * (size_t)nv + 1) * sizeof *ia), *ja = malloc((2 * (size_t)nv + 1) * sizeof *ja);
    double *ar = malloc((2 * (size_t)nv + 1) * sizeof *ar);
    if (!ia || !ja || !ar) {
        free(ia);
        free(ja);
        free(ar);
        return allot_error_set(err, ALLOT_E_NOMEM, "glpk: out of memory");
    }
    glp_prob *P = glp_create_prob();
    glp_set_obj_dir(P, GLP_MAX);
    glp_add_rows(P, nr);
    for (int i = 1; i <= (int)n; i++) glp_set_row_bnds(P, i, GLP_FX, 1.0, 1.0);
    glp_set_row_bnds(P, nr, GLP_UP, 0.0, budget * (double)n);
    glp_add_cols(P, nv);
    int ne = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < t; j++) {
            int col = (int)(i * t + j) + 1;
            if (integer)
                glp_set_col_kind(P, col, GLP_BV);
            else
                glp_set_col_bnds(P, col, GLP_LO, 0.0, 0.0);
            glp_set_obj_coef(P, col, acc[i * t + j]);
            ne++;
            ia[ne] = (int)i + 1;
            ja[ne] = col;
            ar[ne] = 1.0;
            if (cost[i * t + j] != 0) { /* GLPK stores no explicit zeros */
                ne++;
                ia[ne] = nr;
                ja[ne] = col;
                ar[ne] = cost[i * t + j];
            }
        }
    }
    glp_load_matrix(P, ne, ia, ja, ar);
    free(ia);
    free(ja);
    free(ar);
    *out = P;
    return ALLOT_OK;
}

/* GLPK's tm_lim: milliseconds, at least 1, at most INT_MAX. */
static int ms_of(double seconds) {
    double ms = seconds * 1000.0;
    return ms < 1 ? 1 : ms > (double)INT_MAX ? INT_MAX : (int)ms;
}

static double limit_or_default(double time_limit_s) {
    return time_limit_s > 0 ? time_limit_s : ALLOT_GLPK_TIME_LIMIT_S;
}

allot_status allot_glpk_solve_lp(const double *acc, const double *cost, size_t n, size_t t, double budget,
                                 double time_limit_s, double *value, int *feasible, double *seconds,
                                 allot_error *err) {
    *value = NAN;
    *feasible = 0;
    time_limit_s = limit_or_default(time_limit_s);
    glp_prob *P;
    allot_status st = build_problem(acc, cost, n, t, budget, 0, &P, err);
    if (st != ALLOT_OK) return st;
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.meth = GLP_PRIMAL;
    parm.presolve = GLP_ON;
    /* GLPK's default optimality tolerance (1e-7 on reduced costs) stops up to ~5e-9 (relative)
       short of the optimum on flat curves (slopes ~1e-16); the check's rule is 1e-9. */
    parm.tol_dj = 1e-12;
    parm.tm_lim = ms_of(time_limit_s);
    double t0 = allot_now_seconds();
    int ret = glp_simplex(P, &parm);
    if (seconds) *seconds = allot_now_seconds() - t0;
    if (ret == GLP_ENOPFS) {
        st = ALLOT_OK; /* the presolver proved the LP infeasible */
    } else if (ret == GLP_ETMLIM) {
        st = allot_error_set(err, ALLOT_E_UNSUPPORTED,
                             "glpk: gave up: the LP simplex hit its time limit (%g s) after %d iterations",
                             time_limit_s, glp_get_it_cnt(P));
    } else if (ret != 0) {
        st = allot_error_set(err, ALLOT_E_INTERNAL, "glpk: glp_simplex failed (code %d)", ret);
    } else {
        int s = glp_get_status(P);
        if (s == GLP_OPT) {
            *feasible = 1;
            *value = glp_get_obj_val(P) / (double)n;
        } else if (s != GLP_NOFEAS) {
            st = allot_error_set(err, ALLOT_E_INTERNAL, "glpk: simplex ended with status %d", s);
        }
    }
    glp_delete_prob(P);
    return st;
}

/* glp_intopt's callback: end the search at the deadline, wherever it is (cut rounds included,
 * which tm_lim alone does not interrupt). */
typedef struct intopt_deadline {
    double deadline;
    int stopped;
} intopt_deadline;

static void stop_at_deadline(glp_tree *tree, void *info) {
    intopt_deadline *d = info;
    if (!d->stopped && allot_now_seconds() >= d->deadline) {
        d->stopped = 1;
        glp_ios_terminate(tree);
    }
}

/* The root LP of the integer problem: a starting basis for branch and bound (no presolve, see below). */
static allot_status solve_root(glp_prob *P, double deadline, double time_limit_s, allot_error *err) {
    glp_smcp sparm;
    glp_init_smcp(&sparm);
    sparm.msg_lev = GLP_MSG_OFF;
    sparm.tol_dj = 1e-12; /* as the LP check: a looser root lets branch and bound stop short (~1e-8) */
    sparm.tm_lim = ms_of(deadline - allot_now_seconds());
    int sret = glp_simplex(P, &sparm);
    if (sret == GLP_ETMLIM)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "glpk: gave up: the integer problem's root LP hit the time limit (%g s)",
                               time_limit_s);
    int s = sret == 0 ? glp_get_status(P) : 0;
    if (s == GLP_OPT || s == GLP_NOFEAS) return ALLOT_OK;
    return allot_error_set(err, ALLOT_E_INTERNAL, "glpk: root LP failed (code %d, status %d)", sret, s);
}

allot_status allot_glpk_solve_int(const double *acc, const double *cost, size_t n, size_t t, double budget,
                                  double time_limit_s, double *value, int *feasible, int *choice,
                                  double *seconds, allot_error *err) {
    *value = NAN;
    *feasible = 0;
    time_limit_s = limit_or_default(time_limit_s);
    double t0 = allot_now_seconds(), deadline = t0 + time_limit_s;
    glp_prob *P;
    allot_status st = build_problem(acc, cost, n, t, budget, 1, &P, err);
    if (st != ALLOT_OK) return st;
    /* The MIP presolver is off: with it on, GLPK 5.0's cover-cut setup aborts (glp_add_cols with 0
       columns) whenever presolve removes every column. Branch and bound then starts from an optimal
       LP basis, found here by the simplex without presolve. */
    st = solve_root(P, deadline, time_limit_s, err);
    if (st != ALLOT_OK || glp_get_status(P) == GLP_NOFEAS) {
        if (seconds) *seconds = allot_now_seconds() - t0;
        glp_delete_prob(P);
        return st;
    }
    intopt_deadline dl = {deadline, 0};
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    parm.presolve = GLP_OFF;
    /* Plain branch and bound explodes on instances with many identical queries (symmetry); the
       cover, clique, MIR and Gomory cuts close the gap at the root in the cases we measured. */
    parm.cov_cuts = GLP_ON;
    parm.clq_cuts = GLP_ON;
    parm.mir_cuts = GLP_ON;
    parm.gmi_cuts = GLP_ON;
    parm.tm_lim = ms_of(deadline - allot_now_seconds());
    parm.cb_func = stop_at_deadline;
    parm.cb_info = &dl;
    parm.tol_obj = 1e-12; /* the default 1e-7 prunes nodes that are better by less than that */
    /* the cut generators print a few lines even with GLP_MSG_OFF: silence the terminal meanwhile */
    int old_term = glp_term_out(GLP_OFF);
    int ret = glp_intopt(P, &parm);
    glp_term_out(old_term);
    if (seconds) *seconds = allot_now_seconds() - t0;
    if (ret == GLP_ENOPFS || ret == GLP_ENOFEAS) {
        st = ALLOT_OK;
    } else if (ret == GLP_ETMLIM || ret == GLP_ESTOP) {
        st = allot_error_set(err, ALLOT_E_UNSUPPORTED,
                             "glpk: gave up: branch and bound hit the time limit (%g s)", time_limit_s);
    } else if (ret != 0) {
        st = allot_error_set(err, ALLOT_E_INTERNAL, "glpk: glp_intopt failed (code %d)", ret);
    } else {
        int s = glp_mip_status(P);
        if (s == GLP_OPT) {
            *feasible = 1;
            *value = glp_mip_obj_val(P) / (double)n;
            if (choice) {
                for (size_t i = 0; i < n; i++) {
                    choice[i] = -1;
                    for (size_t j = 0; j < t; j++)
                        if (glp_mip_col_val(P, (int)(i * t + j) + 1) > 0.5) choice[i] = (int)j;
                }
            }
        } else if (s != GLP_NOFEAS) {
            st = allot_error_set(err, ALLOT_E_INTERNAL, "glpk: branch and bound ended with status %d", s);
        }
    }
    glp_delete_prob(P);
    return st;
}

allot_status allot_glpk_check(const double *acc, const double *cost, size_t n, size_t t, double budget,
                              const allot_oracle_result *oracle, size_t intopt_max_vars, double time_limit_s,
                              allot_glpk_report *rep, allot_error *err) {
    if (!oracle || !rep) return allot_error_set(err, ALLOT_E_ARGUMENT, "glpk check: NULL argument");
    memset(rep, 0, sizeof *rep);
    rep->lp_value = rep->int_value = NAN;
    rep->n_vars = n * t;
    rep->intopt_max_vars = intopt_max_vars;
    rep->time_limit_s = limit_or_default(time_limit_s);
    double deadline = allot_now_seconds() + rep->time_limit_s;
    allot_status st = allot_glpk_solve_lp(acc, cost, n, t, budget, rep->time_limit_s, &rep->lp_value,
                                          &rep->lp_feasible, &rep->lp_seconds, err);
    if (st == ALLOT_E_UNSUPPORTED) { /* the LP gave up: nothing can be checked */
        rep->gave_up = 1;
        const char *why = err && !strncmp(err->msg, "glpk: ", 6) ? err->msg + 6 : "gave up";
        snprintf(rep->message, sizeof rep->message, "%.200s; the oracle was not checked", why);
        return allot_error_set(err, ALLOT_E_CHECK, "glpk check: %s", rep->message);
    }
    if (st != ALLOT_OK) return st;
    if (rep->lp_feasible && n * t <= intopt_max_vars) {
        int f = 0;
        double left = deadline - allot_now_seconds();
        st = left < 0.001 ? ALLOT_E_UNSUPPORTED
                          : allot_glpk_solve_int(acc, cost, n, t, budget, left, &rep->int_value, &f, NULL,
                                                 &rep->int_seconds, err);
        if (st == ALLOT_E_UNSUPPORTED) {
            rep->int_timed_out = 1; /* reported as skipped; the LP reference is used instead */
            f = 0;
        } else if (st != ALLOT_OK) {
            return st;
        }
        rep->int_solved = !rep->int_timed_out;
        if (rep->int_solved && !f) rep->int_value = NAN; /* LP feasible, no integral point: cannot happen */
    }
    rep->increment = allot_oracle_max_increment(acc, cost, n, t) / (double)n;

    /* LP rule */
    if (!oracle->feasible || !rep->lp_feasible) {
        rep->lp_ok = rep->int_ok = oracle->feasible == rep->lp_feasible;
        if (!rep->lp_ok)
            snprintf(rep->message, sizeof rep->message, "feasibility differs: oracle %s, GLPK %s",
                     oracle->feasible ? "feasible" : "infeasible",
                     rep->lp_feasible ? "feasible" : "infeasible");
    } else {
        double a = oracle->lp_value, b = rep->lp_value, scale = fmax(fabs(a), fabs(b));
        rep->lp_diff = a - b;
        rep->lp_rel_diff = scale > 0 ? fabs(a - b) / scale : 0;
        rep->lp_ok = fabs(a - b) <= ALLOT_GLPK_LP_REL_TOL * scale + 1e-12;
        if (!rep->lp_ok)
            snprintf(rep->message, sizeof rep->message,
                     "LP values differ: oracle %.12g, GLPK %.12g (relative %.3g > %.0e)", a, b,
                     rep->lp_rel_diff, ALLOT_GLPK_LP_REL_TOL);
        /* integral rule */
        double ref = rep->int_solved ? rep->int_value : rep->lp_value;
        rep->int_gap = ref - oracle->mean_acc;
        rep->int_ok = isfinite(ref) && rep->int_gap <= rep->increment + 1e-9 &&
                      (!rep->int_solved || rep->int_gap >= -1e-9);
        if (!rep->int_ok && rep->message[0] == '\0')
            snprintf(rep->message, sizeof rep->message,
                     "integral accuracy %.12g is not within one increment (%.6g) of GLPK's %s %.12g",
                     oracle->mean_acc, rep->increment, rep->int_solved ? "integer optimum" : "LP value", ref);
    }
    rep->ok = rep->lp_ok && rep->int_ok;
    if (!rep->ok) return allot_error_set(err, ALLOT_E_CHECK, "glpk check: %s", rep->message);
    return ALLOT_OK;
}
