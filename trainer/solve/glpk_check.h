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

/** Time limit of one glp_intopt call; when hit, the integer check falls back to the LP value. */
#define ALLOT_GLPK_INTOPT_TIME_LIMIT_MS 60000

/** Relative tolerance of the LP comparison. */
#define ALLOT_GLPK_LP_REL_TOL 1e-9

typedef struct allot_glpk_report {
    int lp_feasible;        /**< GLPK found the LP feasible */
    double lp_value;        /**< GLPK LP optimum, mean accuracy (NAN when infeasible) */
    double lp_seconds;      /**< glp_simplex wall time */
    int int_solved;         /**< 1 if glp_intopt ran (N*T <= limit and the LP was feasible) */
    int int_timed_out;      /**< 1 if glp_intopt hit ALLOT_GLPK_INTOPT_TIME_LIMIT_MS (then int_solved = 0) */
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
 * Solve the LP relaxation with GLPK. *value receives the optimum (mean), *feasible 0 or 1.
 * *seconds (may be NULL) the solver time.
 */
allot_status allot_glpk_solve_lp(const double *acc, const double *cost, size_t n, size_t t, double budget,
                                 double *value, int *feasible, double *seconds, allot_error *err);

/**
 * Solve the integer problem (one tier per query) with GLPK's branch and bound. choice (n ints,
 * may be NULL) receives GLPK's allocation.
 */
allot_status allot_glpk_solve_int(const double *acc, const double *cost, size_t n, size_t t, double budget,
                                  double *value, int *feasible, int *choice, double *seconds,
                                  allot_error *err);

/**
 * Run both solves (intopt only when n*t <= intopt_max_vars) and compare with an oracle result for
 * the same instance and budget. Fills *rep. Returns ALLOT_OK when the checks pass, ALLOT_E_CHECK
 * (with err naming the failed rule) when they do not, another status when GLPK could not run.
 */
allot_status allot_glpk_check(const double *acc, const double *cost, size_t n, size_t t, double budget,
                              const allot_oracle_result *oracle, size_t intopt_max_vars,
                              allot_glpk_report *rep, allot_error *err);

#endif
