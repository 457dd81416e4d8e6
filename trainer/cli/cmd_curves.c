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
    "  --json              print one JSON document on stdout instead of the table\n"
    "  --quiet             no progress on stderr\n"
    "  -h, --help          this text\n"
    "  -V, --version       print the version\n"
    "\n";

int allot_cmd_curves(int argc, char **argv) {
    static const struct option opts[] = {{"tiers", required_argument, NULL, 't'},
                                         {"tiers-file", required_argument, NULL, 'T'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"permutations", required_argument, NULL, 'p'},
                                         {"cap-k", no_argument, NULL, 'c'},
                                         {"exact-subsets", required_argument, NULL, 'x'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    const char *spec = NULL, *tiers_file = NULL, *out_path = NULL;
    int json = 0, quiet = 0, bad;
    uint64_t count;
    allot_curves_options opt;
    allot_curves_options_default(&opt);
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":hVo:", opts, NULL)) != -1) {
        switch (ch) {
        case 't': spec = optarg; break;
        case 'T': tiers_file = optarg; break;
        case 'o': out_path = optarg; break;
        case 's':
            if ((bad = allot_opt_seed(CMD, "--seed", optarg, &opt.seed))) return bad;
            break;
        case 'p':
            if ((bad = allot_opt_count(CMD, "--permutations", optarg, 2, ALLOT_MAX_PERMUTATIONS, &count)))
                return bad;
            opt.permutations = (int)count;
            break;
        case 'x':
            if ((bad = allot_opt_count(CMD, "--exact-subsets", optarg, 0, ALLOT_MAX_EXACT_SUBSETS, &count)))
                return bad;
            opt.max_exact_subsets = (long)count;
            break;
        case 'c': opt.cap_k = 1; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': return allot_cli_help(curves_usage);
        case 'V': return allot_cli_version(CMD);
        default: return allot_cli_bad_option(CMD, ch, argv);
        }
    }
    if (optind != argc - 1)
        return allot_cli_usage_error(CMD, optind >= argc ? "missing RUNS.jsonl"
                                                         : "exactly one RUNS.jsonl expected");
    if (spec && tiers_file) return allot_cli_usage_error(CMD, "give --tiers or --tiers-file, not both");
    const char *runs = argv[optind];
    opt.progress = !quiet;

    allot_error err = {0};
    allot_tier_set ts = {0};
    allot_status st = ALLOT_OK;
    if (spec) {
        st = allot_tier_set_parse(spec, &ts, &err);
        if (st) return allot_cli_usage_error(CMD, err.msg);
    } else if (tiers_file) {
        st = allot_tier_set_load(tiers_file, &ts, &err);
        if (st) return allot_cli_fail(CMD, &err);
    }
    allot_curves *c = NULL;
    st = allot_curves_compute(runs, &ts, &opt, &c, &err);
    allot_tier_set_free(&ts);
    if (st) return allot_cli_fail(CMD, &err);
    if (out_path && (st = allot_curves_write(c, out_path, &err))) {
        allot_curves_free(c);
        return allot_cli_fail(CMD, &err);
    }
    if (out_path && !strcmp(out_path, "-"))
        dup2(STDERR_FILENO, STDOUT_FILENO); /* data on stdout: table on stderr */

    size_t n = c->n_queries, T = c->n_tiers;
    double *mean_acc = calloc(T, sizeof *mean_acc), *mean_cost = calloc(T, sizeof *mean_cost);
    double *mean_se = calloc(T, sizeof *mean_se), *se_of_mean = calloc(T, sizeof *se_of_mean);
    if (!mean_acc || !mean_cost || !mean_se || !se_of_mean) {
        free(mean_acc);
        free(mean_cost);
        free(mean_se);
        free(se_of_mean);
        allot_curves_free(c);
        allot_error_set(&err, ALLOT_E_NOMEM, "out of memory");
        return allot_cli_fail(CMD, &err);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < T; t++) {
            mean_acc[t] += c->acc[i * T + t];
            mean_cost[t] += c->cost[i * T + t];
            mean_se[t] += c->se[i * T + t];
            se_of_mean[t] += c->se[i * T + t] * c->se[i * T + t];
        }
    for (size_t t = 0; t < T; t++) {
        mean_acc[t] /= (double)n;
        mean_cost[t] /= (double)n;
        mean_se[t] /= (double)n;
        /* queries are estimated independently, so the variances of the per-query means add */
        se_of_mean[t] = sqrt(se_of_mean[t]) / (double)n;
    }
    int rc = ALLOT_EXIT_OK;
    if (json) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "command", "curves");
        cJSON_AddStringToObject(doc, "input", runs);
        if (out_path)
            cJSON_AddStringToObject(doc, "out", out_path);
        else
            cJSON_AddNullToObject(doc, "out");
        cJSON_AddNumberToObject(doc, "n_queries", (double)n);
        allot_seed_add_to_object(doc, "seed", c->seed);
        cJSON_AddNumberToObject(doc, "permutations", c->permutations);
        cJSON_AddNumberToObject(doc, "max_exact_subsets", (double)c->max_exact_subsets);
        cJSON_AddBoolToObject(doc, "cap_k", c->cap_k);
        cJSON *arr = cJSON_AddArrayToObject(doc, "tiers");
        for (size_t t = 0; t < T; t++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", c->tier_names[t]);
            if (c->tier_defs.n == T) {
                const allot_tier *d = &c->tier_defs.tiers[t];
                if (d->model)
                    cJSON_AddStringToObject(o, "model", d->model);
                else
                    cJSON_AddNullToObject(o, "model");
                static const char *const rules[] = {"pass", "majority", "best", "vote", "precomputed"};
                static const char *const aggs[] = {"", "min", "last", "mean", "prod"};
                cJSON_AddStringToObject(o, "rule", rules[d->rule]);
                cJSON_AddNumberToObject(o, "k", d->k);
                if (d->agg)
                    cJSON_AddStringToObject(o, "agg", aggs[d->agg]);
                else
                    cJSON_AddNullToObject(o, "agg");
            }
            cJSON_AddNumberToObject(o, "mean_acc", mean_acc[t]);
            cJSON_AddNumberToObject(o, "mean_cost", mean_cost[t]);
            cJSON_AddNumberToObject(o, "mean_se", mean_se[t]);
            cJSON_AddNumberToObject(o, "se_of_mean_acc", se_of_mean[t]);
            cJSON_AddItemToArray(arr, o);
        }
        char *text = cJSON_Print(doc);
        if (text) {
            puts(text);
            cJSON_free(text);
        } else {
            rc = ALLOT_EXIT_INTERNAL;
        }
        cJSON_Delete(doc);
    } else {
        printf("%s: %zu queries, %zu tiers%s%s\n", runs, n, T, out_path ? " -> " : "",
               out_path ? out_path : "");
        int w = 4;
        for (size_t t = 0; t < T; t++) {
            int l = (int)strlen(c->tier_names[t]);
            if (l > w) w = l;
        }
        printf("%-*s  %10s  %12s  %10s  %12s\n", w, "tier", "mean acc", "mean cost", "mean se",
               "se(mean acc)");
        for (size_t t = 0; t < T; t++)
            printf("%-*s  %10.4f  %12.4f  %10.4f  %12.6f\n", w, c->tier_names[t], mean_acc[t], mean_cost[t],
                   mean_se[t], se_of_mean[t]);
    }
    free(mean_acc);
    free(mean_cost);
    free(mean_se);
    free(se_of_mean);
    allot_curves_free(c);
    return rc;
}
