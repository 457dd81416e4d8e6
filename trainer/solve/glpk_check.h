/*
 * glpk_check.h - cross-check the oracle against GLPK on the same problem.
 *
 * The LP handed to GLPK: variables x[i][t] >= 0, rows sum_t x[i][t] = 1 (one per query) and
 * sum_{i,t} cost[i][t] x[i][t] <= N*B, objective maximise sum acc[i][t] x[i][t]. It is solved with
 * glp_simplex (primal, presolve on, messages off). For small instances (N*T <= intopt_max_vars)
 * the same problem with binary x is solved with glp_intopt (from the simplex's optimal basis, MIP
 * presolve off, cover, clique, MIR and Gomory cuts on, messages and terminal output off). Values are reported
 * as means (divided by N), like the oracle's.
 *
 * Check rules (both must hold for rep->ok):
 *  - LP: |oracle lp_value - GLPK LP| <= 1e-9 * max(|oracle|, |GLPK|) + 1e-12 (the absolute
 *    1e-12 only matters when both are ~0), and both agree on feasibility.
 *  - integral: with inc = allot_oracle_max_increment() / N (the largest accuracy step between
 *    neighbouring points of any one query's upper concave hull, in mean accuracy), the oracle's
 *    integral mean accuracy must lie in [GLPK integer optimum - inc - 1e-9, GLPK integer optimum
 *    + 1e-9]. When intopt is skipped, the GLPK LP value is the reference instead (the integer
 *    optimum is at most the LP value, so this is the same bound, only looser).
 *
 * Time: every GLPK call is bounded. The check as a whole has a wall-clock limit (time_limit_s,
 * default ALLOT_GLPK_TIME_LIMIT_S): glp_simplex gets it as tm_lim, the integer solve (root LP,
 * then glp_intopt with tm_lim and a callback that terminates the search, cut rounds included, at
 * the deadline) gets what is left. When the LP gives up the check cannot conclude: rep->gave_up
 * is set and ALLOT_E_CHECK returned ("gave up", exit 4 in the CLI), never a hang. When only the
 * integer solve gives up, the integral rule falls back to the LP value (int_timed_out), as when
 * it is skipped for size.
 *
 * GLPK keeps a per-thread environment: a program that is done with GLPK may call glp_free_env()
 * (the CLI and the tests do) so that leak checkers stay quiet.
 */
#ifndef ALLOT_GLPK_CHECK_H
#define ALLOT_GLPK_CHECK_H

#include <stddef.h>

#include "allot/allot_error.h"
#include "oracle.h"

/**
 * Default limit on N*T for running glp_intopt: branch and bound is exponential in the worst case;
 * on the shared datasets (up to ~5300 variables) it takes 0.1-0.3 s with the cuts described above.
 */
#define ALLOT_GLPK_INTOPT_MAX_VARS 10000

/** Default wall-clock limit of the whole check (LP, then the integer problem in what is left). */
#define ALLOT_GLPK_TIME_LIMIT_S 60.0

/** Largest accepted time limit (a day). */
#define ALLOT_GLPK_MAX_TIME_LIMIT_S 86400.0

/** Relative tolerance of the LP comparison. */
#define ALLOT_GLPK_LP_REL_TOL 1e-9

typedef struct allot_glpk_report {
    int lp_feasible;        /**< GLPK found the LP feasible */
    double lp_value;        /**< GLPK LP optimum, mean accuracy (NAN when infeasible) */
    double lp_seconds;      /**< glp_simplex wall time */
    int int_solved;         /**< 1 if glp_intopt ran (N*T <= limit and the LP was feasible) */
    int int_timed_out;      /**< 1 if the integer solve hit the time limit (then int_solved = 0) */
    int gave_up;            /**< 1 if the LP hit the time limit: nothing was checked */
    double time_limit_s;    /**< the limit that was applied */
    double int_value;       /**< GLPK integer optimum, mean accuracy (NAN when not solved) */
    double int_seconds;     /**< glp_intopt wall time */
    size_t n_vars;          /**< N*T */
    size_t intopt_max_vars; /**< the limit that was applied */
    double lp_diff;         /**< oracle lp_value - GLPK LP */
    double lp_rel_diff;     /**< |lp_diff| / max(|oracle|, |GLPK|) (0 when both are 0) */
    double int_gap;         /**< reference (GLPK integer optimum, else GLPK LP) - oracle integral */
    double increment;       /**< one query's largest increment, mean accuracy (the allowed gap) */
    int lp_ok, int_ok, ok;  /**< the check rules above */
    char message[256];      /**< why a check failed, empty when ok */
} allot_glpk_report;

/**
 * Solve the LP relaxation with GLPK within time_limit_s seconds (<= 0: the default).
 * *value receives the optimum (mean), *feasible 0 or 1. *seconds (may be NULL) the solver time.
 * When the limit is hit: ALLOT_E_UNSUPPORTED, "glpk: gave up: ...".
 */
allot_status allot_glpk_solve_lp(const double *acc, const double *cost, size_t n, size_t t, double budget,
                                 double time_limit_s, double *value, int *feasible, double *seconds,
                                 allot_error *err);

/**
 * Solve the integer problem (one tier per query) with GLPK's branch and bound within time_limit_s
 * seconds (<= 0: the default). choice (n ints, may be NULL) receives GLPK's allocation. When the
 * limit is hit: ALLOT_E_UNSUPPORTED, "glpk: gave up: ...".
 */
allot_status allot_glpk_solve_int(const double *acc, const double *cost, size_t n, size_t t, double budget,
                                  double time_limit_s, double *value, int *feasible, int *choice,
                                  double *seconds, allot_error *err);

/**
 * Run both solves (intopt only when n*t <= intopt_max_vars) within time_limit_s seconds in all
 * (<= 0: ALLOT_GLPK_TIME_LIMIT_S) and compare with an oracle result for the same instance and
 * budget. Fills *rep. Returns ALLOT_OK when the checks pass, ALLOT_E_CHECK (with err naming the
 * failed rule, or saying that the check gave up) when they do not, another status when GLPK could
 * not run.
 */
allot_status allot_glpk_check(const double *acc, const double *cost, size_t n, size_t t, double budget,
                              const allot_oracle_result *oracle, size_t intopt_max_vars, double time_limit_s,
                              allot_glpk_report *rep, allot_error *err);

#endif
