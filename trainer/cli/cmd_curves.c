/* allot curves - per-query accuracy-versus-cost curves over a tier set (docs/curves-format.md). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opts.h"
#include "curves.h"
#include "allot_limits.h"
#include "seed.h"

static const char *const CMD = "curves";

static const char curves_usage[] =
    "Usage: allot curves [options] RUNS.jsonl\n"
    "\n"
    "Read labelled runs (docs/labelled-runs.md; '-' reads stdin) and compute, for every query and\n"
    "tier, the expected accuracy when k samples are a uniformly random k-subset of the query's\n"
    "recorded samples, the tier's cost (k x the mean sample cost) and the standard error of the\n"
    "estimate. Prints the mean accuracy, cost and standard error of each tier; --out writes the\n"
    "curves file (docs/curves-format.md) that `allot solve` and `allot train` read.\n"
    "\n"
    "Options:\n"
    "  --tiers SPEC        tier set, e.g. 'majority@1,2,4,8,16,32,48' or 'pass@1,best@4/min,MODEL:vote@8'\n"
    "                      (ITEM := [MODEL:]RULE@K[,K...][/AGG]; RULE pass|majority|best|vote;\n"
    "                      AGG min|last|mean|prod scores a sample from its step_scores; MODEL is\n"
    "                      everything before the last ':' of the item)\n"
    "  --tiers-file FILE   tier set from a JSON file "
    "({\"tiers\":[{\"model\":..,\"rule\":..,\"k\":..,\"agg\":..}]})\n"
    "                      Without --tiers/--tiers-file the input must hold precomputed `tiers`.\n"
    "  -o, --out FILE      write the curves file (atomically; nothing is left behind on error)\n"
    "  --seed N            permutation seed for majority/vote (default 1)\n"
    "  --permutations N    permutations for majority/vote, 2..100000 (default 256)\n"
    "  --exact-subsets N   majority/vote: average over every k-subset exactly when there are at\n"
    "                      most N of them (default 256, at most 100000; 0 = always permutations)\n"
    "  --cap-k             cap a k larger than a query's pool to the pool size (default: error)\n"
    "  --nthread N         1: one thread; 2 (the default on a machine with two cores or more): a\n"
    "                      second thread computes the values of the lines read so far while the\n"
    "                      next are read (tiers from samples only); the output is the same\n"
    "  --json              print one JSON document on stdout instead of the table\n"
    "  --quiet             no progress on stderr\n"
    "  -h, --help          this text\n"
    "  -V, --version       print the version\n"
    "\n";

/* The command line, parsed. */
typedef struct curves_cli {
    const char *runs;                         /* the labelled runs file ('-': stdin) */
    const char *spec, *tiers_file, *out_path; /* --tiers, --tiers-file, --out (or NULL) */
    int json, quiet;
    allot_curves_options opt;
} curves_cli;

/* Per tier, over the queries: the means of acc, cost and se, and the standard error of the mean acc. */
typedef struct tier_summary {
    double *mean_acc, *mean_cost, *mean_se, *se_of_mean;
} tier_summary;

/* One option's value into a; returns 0 or the exit code of a bad value. */
static int set_option(curves_cli *a, int ch, const char *arg) {
    uint64_t count;
    int bad;
    switch (ch) {
    case 't': a->spec = arg; return 0;
    case 'T': a->tiers_file = arg; return 0;
    case 'o': a->out_path = arg; return 0;
    case 's': return allot_opt_seed(CMD, "--seed", arg, &a->opt.seed);
    case 'p':
        if ((bad = allot_opt_count(CMD, "--permutations", arg, 2, ALLOT_MAX_PERMUTATIONS, &count)))
            return bad;
        a->opt.permutations = (int)count;
        return 0;
    case 'x':
        if ((bad = allot_opt_count(CMD, "--exact-subsets", arg, 0, ALLOT_MAX_EXACT_SUBSETS, &count)))
            return bad;
        a->opt.max_exact_subsets = (long)count;
        return 0;
    case 'c': a->opt.cap_k = 1; return 0;
    case 'n': return allot_opt_int(CMD, "--nthread", arg, 1, 2, &a->opt.threads);
    case 'j': a->json = 1; return 0;
    case 'q': a->quiet = 1; return 0;
    default: return ALLOT_EXIT_INTERNAL; /* not an option of the table */
    }
}

/* The operands after the options: exactly one runs file, and at most one source of tiers. */
static int check_args(curves_cli *a, int argc, char **argv) {
    if (optind != argc - 1)
        return allot_cli_usage_error(CMD, optind >= argc ? "missing RUNS.jsonl"
                                                         : "exactly one RUNS.jsonl expected");
    if (a->spec && a->tiers_file) return allot_cli_usage_error(CMD, "give --tiers or --tiers-file, not both");
    a->runs = argv[optind];
    a->opt.progress = !a->quiet;
    return ALLOT_EXIT_OK;
}

/* The tier set of --tiers (a bad spec is a usage error) or --tiers-file; empty without either. */
static int load_tiers(const curves_cli *a, allot_tier_set *ts) {
    allot_error err = {0};
    if (a->spec && allot_tier_set_parse(a->spec, ts, &err)) return allot_cli_usage_error(CMD, err.msg);
    if (!a->spec && a->tiers_file && allot_tier_set_load(a->tiers_file, ts, &err))
        return allot_cli_fail(CMD, &err);
    return ALLOT_EXIT_OK;
}

/* The curves of the runs over the tier set, written to --out when given. */
static int compute_curves(const curves_cli *a, allot_curves **c) {
    allot_error err = {0};
    allot_tier_set ts = {0};
    int rc = load_tiers(a, &ts);
    if (rc) return rc;
    allot_status st = allot_curves_compute(a->runs, &ts, &a->opt, c, &err);
    allot_tier_set_free(&ts);
    if (st) return allot_cli_fail(CMD, &err);
    if (a->out_path && allot_curves_write(*c, a->out_path, &err)) {
        allot_curves_free(*c);
        *c = NULL;
        return allot_cli_fail(CMD, &err);
    }
    return ALLOT_EXIT_OK;
}

static void tier_summary_free(tier_summary *s) {
    free(s->mean_acc);
    free(s->mean_cost);
    free(s->mean_se);
    free(s->se_of_mean);
}

/* The per-tier means of c; -1 when memory runs out. */
static int summarise(const allot_curves *c, tier_summary *s) {
    size_t n = c->n_queries, T = c->n_tiers;
    s->mean_acc = calloc(T, sizeof *s->mean_acc);
    s->mean_cost = calloc(T, sizeof *s->mean_cost);
    s->mean_se = calloc(T, sizeof *s->mean_se);
    s->se_of_mean = calloc(T, sizeof *s->se_of_mean);
    if (!s->mean_acc || !s->mean_cost || !s->mean_se || !s->se_of_mean) return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < T; t++) {
            s->mean_acc[t] += c->acc[i * T + t];
            s->mean_cost[t] += c->cost[i * T + t];
            s->mean_se[t] += c->se[i * T + t];
            s->se_of_mean[t] += c->se[i * T + t] * c->se[i * T + t];
        }
    for (size_t t = 0; t < T; t++) {
        s->mean_acc[t] /= (double)n;
        s->mean_cost[t] /= (double)n;
        s->mean_se[t] /= (double)n;
        /* queries are estimated independently, so the variances of the per-query means add */
        s->se_of_mean[t] = sqrt(s->se_of_mean[t]) / (double)n;
    }
    return 0;
}

/* A tier's definition (model, rule, k, agg) into its JSON object. */
static void json_tier_def(cJSON *o, const allot_tier *d) {
    static const char *const rules[] = {"pass", "majority", "best", "vote", "precomputed"};
    static const char *const aggs[] = {"", "min", "last", "mean", "prod"};
    if (d->model)
        cJSON_AddStringToObject(o, "model", d->model);
    else
        cJSON_AddNullToObject(o, "model");
    cJSON_AddStringToObject(o, "rule", rules[d->rule]);
    cJSON_AddNumberToObject(o, "k", d->k);
    if (d->agg)
        cJSON_AddStringToObject(o, "agg", aggs[d->agg]);
    else
        cJSON_AddNullToObject(o, "agg");
}

static void json_tiers(cJSON *doc, const allot_curves *c, const tier_summary *s) {
    cJSON *arr = cJSON_AddArrayToObject(doc, "tiers");
    for (size_t t = 0; t < c->n_tiers; t++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", c->tier_names[t]);
        if (c->tier_defs.n == c->n_tiers) json_tier_def(o, &c->tier_defs.tiers[t]);
        cJSON_AddNumberToObject(o, "mean_acc", s->mean_acc[t]);
        cJSON_AddNumberToObject(o, "mean_cost", s->mean_cost[t]);
        cJSON_AddNumberToObject(o, "mean_se", s->mean_se[t]);
        cJSON_AddNumberToObject(o, "se_of_mean_acc", s->se_of_mean[t]);
        cJSON_AddItemToArray(arr, o);
    }
}

/* Print the JSON document; 0, or ALLOT_EXIT_INTERNAL when it cannot be rendered. */
static int print_json(const curves_cli *a, const allot_curves *c, const tier_summary *s) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "command", "curves");
    cJSON_AddStringToObject(doc, "input", a->runs);
    if (a->out_path)
        cJSON_AddStringToObject(doc, "out", a->out_path);
    else
        cJSON_AddNullToObject(doc, "out");
    cJSON_AddNumberToObject(doc, "n_queries", (double)c->n_queries);
    allot_seed_add_to_object(doc, "seed", c->seed);
    cJSON_AddNumberToObject(doc, "permutations", c->permutations);
    cJSON_AddNumberToObject(doc, "max_exact_subsets", (double)c->max_exact_subsets);
    cJSON_AddBoolToObject(doc, "cap_k", c->cap_k);
    json_tiers(doc, c, s);
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

static void print_table(const curves_cli *a, const allot_curves *c, const tier_summary *s) {
    const char *out = a->out_path;
    printf("%s: %zu queries, %zu tiers%s%s\n", a->runs, c->n_queries, c->n_tiers, out ? " -> " : "",
           out ? out : "");
    int w = 4;
    for (size_t t = 0; t < c->n_tiers; t++) {
        int l = (int)strlen(c->tier_names[t]);
        if (l > w) w = l;
    }
    printf("%-*s  %10s  %12s  %10s  %12s\n", w, "tier", "mean acc", "mean cost", "mean se", "se(mean acc)");
    for (size_t t = 0; t < c->n_tiers; t++)
        printf("%-*s  %10.4f  %12.4f  %10.4f  %12.6f\n", w, c->tier_names[t], s->mean_acc[t], s->mean_cost[t],
               s->mean_se[t], s->se_of_mean[t]);
}

/* Compute (and write) the curves, then report the per-tier summary. */
static int run_curves(const curves_cli *a) {
    allot_curves *c = NULL;
    int rc = compute_curves(a, &c);
    if (rc) return rc;
    if (a->out_path && !strcmp(a->out_path, "-"))
        dup2(STDERR_FILENO, STDOUT_FILENO); /* data on stdout: table on stderr */
    tier_summary s = {0};
    if (summarise(c, &s)) {
        allot_error err = {0};
        allot_error_set(&err, ALLOT_E_NOMEM, "out of memory");
        rc = allot_cli_fail(CMD, &err);
    } else if (a->json) {
        rc = print_json(a, c, &s);
    } else {
        print_table(a, c, &s);
    }
    tier_summary_free(&s);
    allot_curves_free(c);
    return rc;
}

int allot_cmd_curves(int argc, char **argv) {
    static const struct option opts[] = {{"tiers", required_argument, NULL, 't'},
                                         {"tiers-file", required_argument, NULL, 'T'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"permutations", required_argument, NULL, 'p'},
                                         {"cap-k", no_argument, NULL, 'c'},
                                         {"nthread", required_argument, NULL, 'n'},
                                         {"exact-subsets", required_argument, NULL, 'x'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    curves_cli a = {0};
    allot_curves_options_default(&a.opt);
    optind = 1;
    opterr = 0;
    int ch, rc;
    while ((ch = getopt_long(argc, argv, ":hVo:", opts, NULL)) != -1) {
        if (ch == 'h') return allot_cli_help(curves_usage);
        if (ch == 'V') return allot_cli_version(CMD);
        if (ch == '?' || ch == ':') return allot_cli_bad_option(CMD, ch, argv);
        if ((rc = set_option(&a, ch, optarg))) return rc;
    }
    if ((rc = check_args(&a, argc, argv))) return rc;
    return run_curves(&a);
}
