/* allot solve - the exact budgeted oracle on a curves file, beside the uniform baselines (docs/oracle.md). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <glpk.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "cli.h"
#include "cli_opts.h"
#include "curves.h"
#include "glpk_check.h"
#include "oracle.h"
#include "progress.h"
#include "uniform.h"

static const char *const CMD = "solve";

static const char solve_usage[] =
    "Usage: allot solve [options] CURVES.jsonl --budget B\n"
    "\n"
    "The exact budgeted oracle: choose one tier per query to maximise the mean accuracy subject to\n"
    "a mean cost per query <= B (in the curves' cost unit, e.g. samples). Prints lambda* (the price\n"
    "at which the budget runs out), the integral allocation's accuracy and cost, the LP relaxation's\n"
    "value with its one fractional query, the Lagrangian dual bound, how many queries take each tier,\n"
    "and the uniform baselines (every query at one tier) with the best one within the budget.\n"
    "\n"
    "Options:\n"
    "  --budget B              mean cost per query (required, >= 0)\n"
    "  --method M              exact (default; per-query concave hulls, segments by slope),\n"
    "                          bisect (binary search on lambda) or both (both, and their agreement)\n"
    "  --check glpk            solve the same LP with GLPK's simplex and, when N*T <= the limit, the\n"
    "                          integer problem with its branch and bound; exit 4 when they disagree\n"
    "                          (LP beyond 1e-9 relative, or the integral accuracy not within one\n"
    "                          query's largest hull step / N of GLPK's integer optimum); it checks\n"
    "                          exact's allocation (bisect's with --method bisect, which at a tie can\n"
    "                          fall further short: the price allocation leaves tied segments unbought)\n"
    "  --intopt-max-vars N     limit on N*T for GLPK's branch and bound (default 10000)\n"
    "  --check-time-limit S    wall-clock seconds for the whole GLPK check (default 60, at most\n"
    "                          86400): the LP simplex gets S, branch and bound what is left. When\n"
    "                          the LP hits the limit the check says it gave up and exits 4; when\n"
    "                          branch and bound does, the integral rule uses the LP value instead\n"
    "  --frontier              also print the whole oracle accuracy-versus-budget frontier\n"
    "  --out-allocation FILE   write the allocation as CSV 'id,tier' (header line, then one query\n"
    "                          per line, tier by name), atomically\n"
    "  --json                  print one JSON document on stdout instead of the tables\n"
    "  -h, --help              this text\n"
    "  -V, --version           print the version\n"
    "\n"
    "An infeasible budget (below the all-cheapest allocation's mean cost) is reported with\n"
    "feasible = false and the cheapest allocation; it is not an error.\n"
    "\n";

typedef struct solve_run {
    const char *method;
    allot_oracle_result res;
    int *choice;
    size_t *counts;
    double seconds;
} solve_run;

static int run_method(const allot_curves *c, double budget, int bisect, solve_run *r, allot_error *err) {
    size_t n = c->n_queries, T = c->n_tiers;
    r->method = bisect ? "bisect" : "exact";
    r->choice = malloc((n ? n : 1) * sizeof *r->choice);
    r->counts = calloc(T ? T : 1, sizeof *r->counts);
    if (!r->choice || !r->counts) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    double t0 = allot_now_seconds();
    allot_status st =
        bisect ? allot_oracle_solve_bisect(c->acc, c->cost, n, T, budget, 200, r->choice, r->counts, &r->res,
                                           err)
               : allot_oracle_solve_exact(c->acc, c->cost, n, T, budget, r->choice, r->counts, &r->res, err);
    r->seconds = allot_now_seconds() - t0;
    return st;
}

static void free_run(solve_run *r) {
    free(r->choice);
    free(r->counts);
}

/* CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *fp, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static allot_status write_allocation(const char *path, const allot_curves *c, const int *choice,
                                     allot_error *err) {
    allot_atomic_file af;
    memset(&af, 0, sizeof af);
    allot_status st = allot_atomic_open(&af, path, err);
    if (st != ALLOT_OK) return st;
    fputs("id,tier\n", af.fp);
    for (size_t i = 0; i < c->n_queries; i++) {
        csv_field(af.fp, c->ids[i]);
        fputc(',', af.fp);
        csv_field(af.fp, c->tier_names[choice[i]]);
        fputc('\n', af.fp);
    }
    return allot_atomic_commit(&af, err);
}

static cJSON *run_json(const allot_curves *c, const solve_run *r) {
    const allot_oracle_result *x = &r->res;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", r->method);
    cJSON_AddBoolToObject(o, "feasible", x->feasible);
    cJSON_AddNumberToObject(o, "lambda", x->lambda);
    cJSON_AddNumberToObject(o, "mean_acc", x->mean_acc);
    cJSON_AddNumberToObject(o, "mean_cost", x->mean_cost);
    cJSON_AddNumberToObject(o, "lp_value", x->lp_value);
    cJSON_AddNumberToObject(o, "dual_bound", x->dual_bound);
    if (x->frac_query >= 0) {
        cJSON *f = cJSON_AddObjectToObject(o, "fractional");
        cJSON_AddNumberToObject(f, "query_index", (double)x->frac_query);
        cJSON_AddStringToObject(f, "id", c->ids[x->frac_query]);
        cJSON_AddStringToObject(f, "from", c->tier_names[x->frac_from]);
        cJSON_AddStringToObject(f, "to", c->tier_names[x->frac_to]);
        cJSON_AddNumberToObject(f, "weight", x->frac_weight);
    } else {
        cJSON_AddNullToObject(o, "fractional");
    }
    cJSON *counts = cJSON_AddArrayToObject(o, "tier_counts");
    for (size_t t = 0; t < c->n_tiers; t++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "tier", c->tier_names[t]);
        cJSON_AddNumberToObject(e, "count", (double)r->counts[t]);
        cJSON_AddItemToArray(counts, e);
    }
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    return o;
}

/* A single tier fits the budget (the tolerance of allot_best_single_tier). */
static int within_budget(double cost, double budget) {
    return cost <= budget + 1e-9 * (fabs(budget) > 1 ? fabs(budget) : 1);
}

/* The uniform mix at B (trainer/solve/uniform.h), and the oracle's gain over it. */
static void print_uniform_mix(const allot_curves *c, const allot_uniform_mix *m, const solve_run *r) {
    if (m->lo < 0) {
        printf("  uniform mix at the budget: n/a (more than %d tiers)\n", ALLOT_UNIFORM_MAX_TIERS);
        return;
    }
    if (m->lo == m->hi)
        printf("  uniform allocation at the budget (hull of the tier means): %s", c->tier_names[m->lo]);
    else
        printf("  uniform allocation at the budget (hull of the tier means): %s w %.4f + %s w %.4f",
               c->tier_names[m->lo], 1 - m->w, c->tier_names[m->hi], m->w);
    printf(" (acc %.6f, cost %.4f; oracle %+.2f points)\n", m->acc, m->cost,
           100 * (r->res.mean_acc - m->acc));
}

static void json_uniform_mix(cJSON *doc, const allot_curves *c, const allot_uniform_mix *m,
                             const solve_run *r) {
    if (m->lo < 0) {
        cJSON_AddNullToObject(doc, "uniform_mix");
        return;
    }
    cJSON *u = cJSON_AddObjectToObject(doc, "uniform_mix");
    cJSON_AddStringToObject(u, "tier_lo", c->tier_names[m->lo]);
    cJSON_AddStringToObject(u, "tier_hi", c->tier_names[m->hi]);
    cJSON_AddNumberToObject(u, "weight_hi", m->w);
    cJSON_AddNumberToObject(u, "mean_acc", m->acc);
    cJSON_AddNumberToObject(u, "mean_cost", m->cost);
    cJSON_AddNumberToObject(u, "oracle_gain", r->res.mean_acc - m->acc);
}

static void run_print(const allot_curves *c, const solve_run *r, double budget, int best_uniform,
                      const double *u_acc) {
    const allot_oracle_result *x = &r->res;
    printf("\noracle (%s, %.4f s)%s\n", r->method, r->seconds,
           x->feasible ? "" : "  INFEASIBLE: the cheapest allocation exceeds the budget");
    printf("  lambda*           %.6g\n", x->lambda);
    printf("  integral          acc %.6f  mean cost %.6f  (budget %g)", x->mean_acc, x->mean_cost, budget);
    if (best_uniform >= 0)
        printf("  %+.2f points vs %s", 100 * (x->mean_acc - u_acc[best_uniform]),
               c->tier_names[best_uniform]);
    printf("\n");
    printf("  LP relaxation     %.6f", x->lp_value);
    if (x->frac_query >= 0)
        printf("  (fractional query %s: %s -> %s, weight %.4f)", c->ids[x->frac_query],
               c->tier_names[x->frac_from], c->tier_names[x->frac_to], x->frac_weight);
    else
        printf("  (no fractional query)");
    printf("\n  dual bound        %.6f\n  tier counts      ", x->dual_bound);
    for (size_t t = 0; t < c->n_tiers; t++)
        printf(" %s %zu%s", c->tier_names[t], r->counts[t], t + 1 < c->n_tiers ? "," : "");
    printf("\n");
}

/* The command line, parsed. */
typedef struct solve_opts {
    const char *path;      /* the curves file */
    const char *out_alloc; /* --out-allocation, or NULL */
    double budget, time_limit;
    uint64_t intopt_max;
    int json, frontier, check, use_exact, use_bisect;
} solve_opts;

/* Everything the report shows, computed before anything is printed. */
typedef struct solve_result {
    double *u_acc, *u_cost; /* uniform baselines: every query at tier t */
    int best_uniform;       /* the best single tier within the budget, -1 if none */
    allot_uniform_mix mix;  /* the uniform mix at the budget (lo < 0: not computed) */
    solve_run runs[2];      /* exact and/or bisect; runs[0] is the one checked and written */
    int n_runs;
    int methods_agree; /* with --method both */
    size_t n_differ;   /* queries the two methods allocate differently */
    allot_frontier_point *pts;
    size_t np;
    allot_glpk_report rep; /* --check glpk */
    allot_status check_st;
    allot_error check_err;
} solve_result;

/* One option's value into o; returns 0 or the exit code of a bad value. */
static int set_option(solve_opts *o, int ch, const char *arg) {
    static const char *const methods[] = {"exact", "bisect", "both", NULL};
    static const char *const checks[] = {"glpk", NULL};
    int choice = 0, bad = 0;
    switch (ch) {
    case 'b': return allot_opt_budget(CMD, "--budget", arg, &o->budget);
    case 'm':
        if ((bad = allot_opt_choice(CMD, "--method", arg, methods, &choice))) return bad;
        o->use_exact = choice != 1;
        o->use_bisect = choice != 0;
        return 0;
    case 'c':
        if ((bad = allot_opt_choice(CMD, "--check", arg, checks, &choice))) return bad;
        o->check = 1;
        return 0;
    case 'I': return allot_opt_count(CMD, "--intopt-max-vars", arg, 0, SIZE_MAX, &o->intopt_max);
    case 'L':
        return allot_opt_number(CMD, "--check-time-limit", arg,
                                (allot_opt_range){0, ALLOT_GLPK_MAX_TIME_LIMIT_S, 1, 0}, &o->time_limit);
    case 'f': o->frontier = 1; return 0;
    case 'o': o->out_alloc = arg; return 0;
    case 'j': o->json = 1; return 0;
    default: return ALLOT_EXIT_INTERNAL; /* not an option of the table */
    }
}

/* The operands after the options: exactly one curves file, and a budget. */
static int check_args(solve_opts *o, int argc, char **argv) {
    if (optind != argc - 1)
        return allot_cli_usage_error(CMD, optind >= argc ? "missing CURVES.jsonl"
                                                         : "exactly one CURVES.jsonl expected");
    if (isnan(o->budget)) return allot_cli_usage_error(CMD, "--budget is required");
    o->path = argv[optind];
    return ALLOT_EXIT_OK;
}

/* ---- compute -------------------------------------------------------------------------------- */

/* Uniform baselines: every query at one tier, the best one within budget, and the uniform mix at B
 * (trainer/solve/uniform.h: the definition the audit and allot train use too). */
static void uniform_baselines(const allot_curves *c, double budget, solve_result *r) {
    size_t n = c->n_queries, T = c->n_tiers;
    allot_tier_means(c->acc, c->cost, n, T, r->u_acc, r->u_cost);
    r->best_uniform = n ? allot_best_single_tier(r->u_acc, r->u_cost, T, budget) : -1;
    r->mix = (allot_uniform_mix){-1, -1, 0, NAN, NAN};
    if (n && T <= ALLOT_UNIFORM_MAX_TIERS) {
        allot_uniform_frontier uf;
        allot_uniform_frontier_build(r->u_acc, r->u_cost, T, &uf);
        r->mix.acc = allot_uniform_at(&uf, budget, &r->mix.lo, &r->mix.hi, &r->mix.w, &r->mix.cost);
    }
}

/* The oracle by each method asked for; returns 0 or the exit code after reporting the failure. */
static int run_methods(const solve_opts *o, const allot_curves *c, solve_result *r) {
    allot_error err = {0};
    if (o->use_exact && run_method(c, o->budget, 0, &r->runs[r->n_runs++], &err) != ALLOT_OK)
        return allot_cli_fail(CMD, &err);
    if (o->use_bisect && run_method(c, o->budget, 1, &r->runs[r->n_runs++], &err) != ALLOT_OK)
        return allot_cli_fail(CMD, &err);
    return ALLOT_EXIT_OK;
}

/* With --method both: they must agree on lambda* and the LP value. */
static void compare_methods(const allot_curves *c, solve_result *r) {
    r->methods_agree = 1;
    r->n_differ = 0;
    if (r->n_runs != 2) return;
    const allot_oracle_result *a = &r->runs[0].res, *b = &r->runs[1].res;
    r->methods_agree =
        a->feasible == b->feasible &&
        fabs(a->lp_value - b->lp_value) <= 1e-9 * fmax(fabs(a->lp_value), fabs(b->lp_value)) + 1e-12 &&
        fabs(a->lambda - b->lambda) <= 1e-9 * fmax(a->lambda, b->lambda) + 1e-15;
    for (size_t i = 0; i < c->n_queries; i++) r->n_differ += r->runs[0].choice[i] != r->runs[1].choice[i];
}

/* GLPK on the same problem; a disagreement is a result (check_st), any other failure an exit code. */
static int glpk_check(const solve_opts *o, const allot_curves *c, solve_result *r) {
    r->check_st = allot_glpk_check(c->acc, c->cost, c->n_queries, c->n_tiers, o->budget, &r->runs[0].res,
                                   (size_t)o->intopt_max, o->time_limit, &r->rep, &r->check_err);
    glp_free_env();
    if (r->check_st != ALLOT_OK && r->check_st != ALLOT_E_CHECK) return allot_cli_fail(CMD, &r->check_err);
    return ALLOT_EXIT_OK;
}

/* Every figure of the report, and the allocation file; returns 0 or the exit code of a failure. */
static int solve_compute(const solve_opts *o, const allot_curves *c, solve_result *r) {
    size_t T = c->n_tiers;
    allot_error err = {0};
    int rc;
    r->u_acc = calloc(T ? T : 1, sizeof *r->u_acc);
    r->u_cost = calloc(T ? T : 1, sizeof *r->u_cost);
    if (!r->u_acc || !r->u_cost) {
        allot_error_set(&err, ALLOT_E_NOMEM, "out of memory");
        return allot_cli_fail(CMD, &err);
    }
    uniform_baselines(c, o->budget, r);
    if ((rc = run_methods(o, c, r))) return rc;
    compare_methods(c, r);
    if (o->frontier &&
        allot_oracle_frontier(c->acc, c->cost, c->n_queries, T, &r->pts, &r->np, &err) != ALLOT_OK)
        return allot_cli_fail(CMD, &err);
    if (o->check && (rc = glpk_check(o, c, r))) return rc;
    if (o->out_alloc && write_allocation(o->out_alloc, c, r->runs[0].choice, &err) != ALLOT_OK)
        return allot_cli_fail(CMD, &err);
    return ALLOT_EXIT_OK;
}

/* The exit code of a computed report: 4 when the methods or GLPK disagree, else 0. */
static int solve_verdict(const solve_opts *o, const solve_result *r) {
    if (r->n_runs == 2 && !r->methods_agree) return ALLOT_EXIT_CHECK;
    if (o->check && r->check_st == ALLOT_E_CHECK) return ALLOT_EXIT_CHECK;
    return ALLOT_EXIT_OK;
}

static void solve_result_free(solve_result *r) {
    for (int k = 0; k < 2; k++) free_run(&r->runs[k]);
    free(r->u_acc);
    free(r->u_cost);
    free(r->pts);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void json_uniform(cJSON *doc, const allot_curves *c, const solve_opts *o, const solve_result *r) {
    cJSON *tiers = cJSON_AddArrayToObject(doc, "uniform");
    for (size_t t = 0; t < c->n_tiers; t++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "tier", c->tier_names[t]);
        cJSON_AddNumberToObject(u, "mean_acc", r->u_acc[t]);
        cJSON_AddNumberToObject(u, "mean_cost", r->u_cost[t]);
        cJSON_AddBoolToObject(u, "within_budget", within_budget(r->u_cost[t], o->budget));
        cJSON_AddItemToArray(tiers, u);
    }
    int best = r->best_uniform;
    if (best < 0) {
        cJSON_AddNullToObject(doc, "best_uniform");
        return;
    }
    cJSON *b = cJSON_AddObjectToObject(doc, "best_uniform");
    cJSON_AddStringToObject(b, "tier", c->tier_names[best]);
    cJSON_AddNumberToObject(b, "mean_acc", r->u_acc[best]);
    cJSON_AddNumberToObject(b, "mean_cost", r->u_cost[best]);
    cJSON_AddNumberToObject(b, "oracle_gain", r->runs[0].res.mean_acc - r->u_acc[best]);
}

/* With --method both: the bisect run and the agreement of the two. */
static void json_methods(cJSON *doc, const allot_curves *c, const solve_result *r) {
    cJSON_AddItemToObject(doc, "bisect", run_json(c, &r->runs[1]));
    cJSON *ag = cJSON_AddObjectToObject(doc, "methods");
    cJSON_AddBoolToObject(ag, "agree", r->methods_agree);
    cJSON_AddNumberToObject(ag, "lp_diff", r->runs[0].res.lp_value - r->runs[1].res.lp_value);
    cJSON_AddNumberToObject(ag, "lambda_diff", r->runs[0].res.lambda - r->runs[1].res.lambda);
    cJSON_AddNumberToObject(ag, "queries_differing", (double)r->n_differ);
}

/* Why GLPK's integer problem was not solved. */
static void glpk_skip_reason(const allot_glpk_report *rep, char *why, size_t size) {
    if (rep->gave_up)
        snprintf(why, size, "the LP gave up at the time limit (%g s)", rep->time_limit_s);
    else if (rep->int_timed_out)
        snprintf(why, size, "gave up at the time limit (%g s)", rep->time_limit_s);
    else if (!rep->lp_feasible)
        snprintf(why, size, "LP infeasible");
    else
        snprintf(why, size, "N*T = %zu > %zu", rep->n_vars, rep->intopt_max_vars);
}

static void json_glpk(cJSON *doc, const allot_glpk_report *rep) {
    cJSON *g = cJSON_AddObjectToObject(doc, "glpk");
    cJSON_AddBoolToObject(g, "gave_up", rep->gave_up);
    cJSON_AddNumberToObject(g, "time_limit_seconds", rep->time_limit_s);
    cJSON_AddBoolToObject(g, "lp_feasible", rep->lp_feasible);
    cJSON_AddNumberToObject(g, "lp_value", rep->lp_value);
    cJSON_AddNumberToObject(g, "lp_diff", rep->lp_diff);
    cJSON_AddNumberToObject(g, "lp_rel_diff", rep->lp_rel_diff);
    cJSON_AddNumberToObject(g, "lp_seconds", rep->lp_seconds);
    cJSON_AddBoolToObject(g, "int_solved", rep->int_solved);
    if (rep->int_solved) {
        cJSON_AddNumberToObject(g, "int_value", rep->int_value);
        cJSON_AddNumberToObject(g, "int_seconds", rep->int_seconds);
        cJSON_AddNullToObject(g, "int_skipped");
    } else {
        cJSON_AddNullToObject(g, "int_value");
        char why[160];
        glpk_skip_reason(rep, why, sizeof why);
        cJSON_AddStringToObject(g, "int_skipped", why);
    }
    cJSON_AddNumberToObject(g, "int_gap", rep->int_gap);
    cJSON_AddNumberToObject(g, "increment", rep->increment);
    cJSON_AddBoolToObject(g, "lp_ok", rep->lp_ok);
    cJSON_AddBoolToObject(g, "int_ok", rep->int_ok);
    cJSON_AddBoolToObject(g, "ok", rep->ok);
    cJSON_AddStringToObject(g, "message", rep->message);
}

static void json_frontier(cJSON *doc, const allot_frontier_point *pts, size_t np) {
    cJSON *fa = cJSON_AddArrayToObject(doc, "frontier");
    for (size_t k = 0; k < np; k++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "mean_cost", pts[k].mean_cost);
        cJSON_AddNumberToObject(p, "mean_acc", pts[k].mean_acc);
        if (isfinite(pts[k].lambda))
            cJSON_AddNumberToObject(p, "lambda", pts[k].lambda);
        else
            cJSON_AddNullToObject(p, "lambda");
        cJSON_AddItemToArray(fa, p);
    }
}

static cJSON *solve_json(const solve_opts *o, const allot_curves *c, const solve_result *r) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "command", "solve");
    cJSON_AddStringToObject(doc, "input", o->path);
    cJSON_AddNumberToObject(doc, "n_queries", (double)c->n_queries);
    cJSON_AddNumberToObject(doc, "n_tiers", (double)c->n_tiers);
    cJSON_AddNumberToObject(doc, "budget", o->budget);
    json_uniform(doc, c, o, r);
    json_uniform_mix(doc, c, &r->mix, &r->runs[0]);
    cJSON_AddItemToObject(doc, "oracle", run_json(c, &r->runs[0]));
    if (r->n_runs == 2) json_methods(doc, c, r);
    if (o->check) json_glpk(doc, &r->rep);
    if (o->frontier) json_frontier(doc, r->pts, r->np);
    if (o->out_alloc)
        cJSON_AddStringToObject(doc, "out_allocation", o->out_alloc);
    else
        cJSON_AddNullToObject(doc, "out_allocation");
    return doc;
}

/* Print the JSON document; 0, or ALLOT_EXIT_INTERNAL when it cannot be rendered. */
static int print_json(const solve_opts *o, const allot_curves *c, const solve_result *r) {
    cJSON *doc = solve_json(o, c, r);
    char *text = cJSON_Print(doc);
    int rc = ALLOT_EXIT_OK;
    if (text) {
        puts(text);
        cJSON_free(text);
    } else {
        rc = ALLOT_EXIT_INTERNAL;
    }
    cJSON_Delete(doc);
    return rc;
}

/* ---- text ----------------------------------------------------------------------------------- */

static void print_uniform(const solve_opts *o, const allot_curves *c, const solve_result *r) {
    int w = 4, best = r->best_uniform;
    for (size_t t = 0; t < c->n_tiers; t++) {
        int l = (int)strlen(c->tier_names[t]);
        if (l > w) w = l;
    }
    printf("\nuniform baselines (every query at one tier)\n");
    printf("  %-*s  %10s  %12s  %s\n", w, "tier", "mean acc", "mean cost", "within budget");
    for (size_t t = 0; t < c->n_tiers; t++)
        printf("  %-*s  %10.6f  %12.4f  %s\n", w, c->tier_names[t], r->u_acc[t], r->u_cost[t],
               within_budget(r->u_cost[t], o->budget) ? "yes" : "no");
    if (best >= 0)
        printf("  best single tier within budget: %s (acc %.6f, cost %.4f)\n", c->tier_names[best],
               r->u_acc[best], r->u_cost[best]);
    else
        printf("  no single tier fits the budget\n");
    print_uniform_mix(c, &r->mix, &r->runs[0]);
}

static void print_methods(const solve_result *r) {
    printf("\nexact vs bisect: %s (LP diff %.3g, lambda diff %.3g, %zu queries allocated "
           "differently%s)\n",
           r->methods_agree ? "agree" : "DISAGREE", r->runs[0].res.lp_value - r->runs[1].res.lp_value,
           r->runs[0].res.lambda - r->runs[1].res.lambda, r->n_differ,
           r->n_differ ? ": a tie at lambda*" : "");
}

/* The GLPK check against x, the checked run's result. */
static void print_glpk(const allot_glpk_report *rep, const allot_oracle_result *x) {
    printf("\nGLPK check (%s)\n", rep->ok ? "agrees" : rep->gave_up ? "GAVE UP" : "DISAGREES");
    if (rep->gave_up)
        printf("  LP (simplex)      gave up after %.3f s (--check-time-limit %g): nothing checked\n",
               rep->lp_seconds, rep->time_limit_s);
    else if (rep->lp_feasible)
        printf("  LP (simplex)      %.10f  oracle %.10f  diff %.3g (relative %.3g, limit 1e-9)  %s  "
               "[%.3f s]\n",
               rep->lp_value, x->lp_value, rep->lp_diff, rep->lp_rel_diff, rep->lp_ok ? "ok" : "FAIL",
               rep->lp_seconds);
    else
        printf("  LP (simplex)      infeasible  %s\n", rep->lp_ok ? "ok" : "FAIL");
    if (rep->int_solved)
        printf("  integer (B&B)     %.10f  oracle integral %.10f  gap %.3g (allowed %.3g)  %s  [%.3f "
               "s]\n",
               rep->int_value, x->mean_acc, rep->int_gap, rep->increment, rep->int_ok ? "ok" : "FAIL",
               rep->int_seconds);
    else if (rep->lp_feasible && rep->int_timed_out)
        printf("  integer (B&B)     gave up at the time limit (%g s, N*T = %zu); oracle integral %.10f "
               "vs GLPK LP: gap %.3g (allowed %.3g)  %s\n",
               rep->time_limit_s, rep->n_vars, x->mean_acc, rep->int_gap, rep->increment,
               rep->int_ok ? "ok" : "FAIL");
    else if (rep->lp_feasible)
        printf("  integer (B&B)     skipped (N*T = %zu > --intopt-max-vars); oracle integral %.10f vs "
               "GLPK LP: gap %.3g (allowed %.3g)  %s\n",
               rep->n_vars, x->mean_acc, rep->int_gap, rep->increment, rep->int_ok ? "ok" : "FAIL");
    if (!rep->ok) printf("  %s\n", rep->message);
}

static void print_frontier(const allot_frontier_point *pts, size_t np) {
    printf("\noracle frontier (%zu breakpoints; the LP value is linear between them)\n", np);
    printf("  %14s  %10s  %12s\n", "mean cost", "mean acc", "lambda");
    for (size_t k = 0; k < np; k++)
        printf("  %14.6f  %10.6f  %12.6g\n", pts[k].mean_cost, pts[k].mean_acc, pts[k].lambda);
}

static void print_text(const solve_opts *o, const allot_curves *c, const solve_result *r) {
    printf("%s: %zu queries, %zu tiers, budget %g (mean cost per query, in the curves' cost unit)\n", o->path,
           c->n_queries, c->n_tiers, o->budget);
    print_uniform(o, c, r);
    for (int k = 0; k < r->n_runs; k++) run_print(c, &r->runs[k], o->budget, r->best_uniform, r->u_acc);
    if (r->n_runs == 2) print_methods(r);
    if (o->check) print_glpk(&r->rep, &r->runs[0].res);
    if (o->frontier) print_frontier(r->pts, r->np);
    if (o->out_alloc) printf("\nallocation written to %s\n", o->out_alloc);
}

/* ---- the command ---------------------------------------------------------------------------- */

/* Read, compute, then report (JSON or text, then any disagreement on stderr). */
static int run_solve(const solve_opts *o) {
    allot_error err = {0};
    allot_curves *c = NULL;
    if (allot_curves_read(o->path, &c, &err) != ALLOT_OK) return allot_cli_fail(CMD, &err);
    solve_result r;
    memset(&r, 0, sizeof r);
    int rc = solve_compute(o, c, &r);
    if (rc == ALLOT_EXIT_OK) {
        rc = solve_verdict(o, &r);
        if (o->json) {
            int printed = print_json(o, c, &r);
            if (rc == ALLOT_EXIT_OK) rc = printed;
        } else {
            print_text(o, c, &r);
        }
        if (o->check && r.check_st == ALLOT_E_CHECK) fprintf(stderr, "allot solve: %s\n", r.check_err.msg);
        if (r.n_runs == 2 && !r.methods_agree) fprintf(stderr, "allot solve: exact and bisect disagree\n");
    }
    solve_result_free(&r);
    allot_curves_free(c);
    return rc;
}

int allot_cmd_solve(int argc, char **argv) {
    static const struct option opts[] = {{"budget", required_argument, NULL, 'b'},
                                         {"method", required_argument, NULL, 'm'},
                                         {"check", required_argument, NULL, 'c'},
                                         {"intopt-max-vars", required_argument, NULL, 'I'},
                                         {"check-time-limit", required_argument, NULL, 'L'},
                                         {"frontier", no_argument, NULL, 'f'},
                                         {"out-allocation", required_argument, NULL, 'o'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    solve_opts o = {NULL, NULL, NAN, ALLOT_GLPK_TIME_LIMIT_S, ALLOT_GLPK_INTOPT_MAX_VARS, 0, 0, 0, 1, 0};
    optind = 1;
    opterr = 0;
    int ch, rc;
    while ((ch = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
        if (ch == 'h') return allot_cli_help(solve_usage);
        if (ch == 'V') return allot_cli_version(CMD);
        if (ch == '?' || ch == ':') return allot_cli_bad_option(CMD, ch, argv);
        if ((rc = set_option(&o, ch, optarg))) return rc;
    }
    if ((rc = check_args(&o, argc, argv))) return rc;
    return run_solve(&o);
}
