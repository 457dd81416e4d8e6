/* allot audit - policy bundles + their held-out curves -> regret audit, report.json, report.md, plots. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "curves.h"

static const char *const CMD = "audit";

static void help(FILE *out) {
    fprintf(
        out,
        "usage: allot audit CURVES --policy P.json [--policy P2.json ...] --budget B --out DIR [options]\n"
        "\n"
        "Audit learned policies on the held-out queries recorded in each bundle's provenance (the curves\n"
        "file must be the one the policy was trained on: its SHA-256 is checked). Compares the oracle,\n"
        "the learned policy under both decision rules (evaluated through the runtime's policy loader),\n"
        "uniform allocation, the best single tier, random allocation with the oracle's tier mix, a\n"
        "prompt-length heuristic and a difficulty-bin heuristic; reports imitation accuracy and the\n"
        "confusion matrix, regret with the literature's and the data-dependent bound (exit 4 if a\n"
        "regret exceeds its bound), gain capture, efficiency and a paired bootstrap interval, and a\n"
        "budget sweep (mu recalibrated per budget). Writes DIR/report.json, DIR/report.md and plots\n"
        "(PNG + SVG, with their .gp gnuplot scripts and .dat data beside).\n"
        "\n"
        "  --policy PATH      a policy bundle written by allot train (repeatable, required)\n"
        "  --budget B         the audit budget (mean cost per query, required)\n"
        "  --out DIR          output directory (created if missing, required)\n"
        "  --sweep b1,b2,...  budgets of the sweep (default: 12 log-spaced between the cheapest and the\n"
        "                     dearest tier; B is always included)\n"
        "  --sweep-retrain    also train each policy again at every sweep budget (same learner, parameters\n"
        "                     and split, read from the bundle) and plot that curve too (slower)\n"
        "  --seed S           bootstrap and random-allocation seed (default 1)\n"
        "  --bootstrap N      paired bootstrap resamples (default 1000)\n"
        "  --no-plots         skip the plots\n"
        "  --json             print report.json on stdout instead of the summary table\n"
        "  --quiet            no progress on stderr\n"
        "\n%s",
        allot_cli_exit_codes_help);
}

enum {
    O_POLICY = 256,
    O_BUDGET,
    O_OUT,
    O_SWEEP,
    O_SEED,
    O_BOOT,
    O_NOPLOTS,
    O_JSON,
    O_QUIET,
    O_RETRAIN,
    O_HELP
};

int allot_cmd_audit(int argc, char **argv) {
    static const struct option longopts[] = {
        {"policy", required_argument, 0, O_POLICY},   {"budget", required_argument, 0, O_BUDGET},
        {"out", required_argument, 0, O_OUT},         {"sweep", required_argument, 0, O_SWEEP},
        {"seed", required_argument, 0, O_SEED},       {"bootstrap", required_argument, 0, O_BOOT},
        {"no-plots", no_argument, 0, O_NOPLOTS},      {"json", no_argument, 0, O_JSON},
        {"quiet", no_argument, 0, O_QUIET},           {"help", no_argument, 0, O_HELP},
        {"sweep-retrain", no_argument, 0, O_RETRAIN}, {0, 0, 0, 0}};
    allot_audit_options o;
    allot_audit_options_default(&o);
    o.progress = 1;
    const char *pols[64];
    size_t n_pols = 0;
    const char *out = NULL;
    int json = 0, have_budget = 0;
    double sweep[256];
    size_t n_sweep = 0;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *e;
        switch (ch) {
        case 'h':
        case O_HELP: help(stdout); return ALLOT_EXIT_OK;
        case O_POLICY:
            if (n_pols >= 64) return allot_cli_usage_error(CMD, "at most 64 --policy");
            pols[n_pols++] = optarg;
            break;
        case O_BUDGET:
            errno = 0;
            o.budget = strtod(optarg, &e);
            if (errno || e == optarg || *e || !isfinite(o.budget) || o.budget < 0)
                return allot_cli_usage_error(CMD, "--budget: expected a finite number >= 0");
            have_budget = 1;
            break;
        case O_OUT: out = optarg; break;
        case O_SWEEP: {
            const char *s = optarg;
            n_sweep = 0;
            while (*s) {
                errno = 0;
                double v = strtod(s, &e);
                if (errno || e == s || !isfinite(v) || v < 0 || n_sweep >= 256 || (*e && *e != ','))
                    return allot_cli_usage_error(
                        CMD, "--sweep: expected budgets b1,b2,... (finite, >= 0, at most 256)");
                sweep[n_sweep++] = v;
                s = *e ? e + 1 : e;
            }
            if (!n_sweep) return allot_cli_usage_error(CMD, "--sweep: empty list");
            break;
        }
        case O_SEED: {
            errno = 0;
            unsigned long long v = strtoull(optarg, &e, 10);
            if (errno || e == optarg || *e)
                return allot_cli_usage_error(CMD, "--seed: expected a non-negative integer");
            o.seed = (uint64_t)v;
            break;
        }
        case O_BOOT: {
            errno = 0;
            long v = strtol(optarg, &e, 10);
            if (errno || e == optarg || *e || v < 0 || v > 1000000)
                return allot_cli_usage_error(CMD, "--bootstrap: expected an integer in 0..1000000");
            o.bootstrap = (int)v;
            break;
        }
        case O_NOPLOTS: o.plots = 0; break;
        case O_RETRAIN: o.sweep_retrain = 1; break;
        case O_JSON: json = 1; break;
        case O_QUIET: o.progress = 0; break;
        default: return allot_cli_bad_option(CMD, ch, argv);
        }
    }
    if (optind != argc - 1) return allot_cli_usage_error(CMD, "expected exactly one CURVES file");
    if (!n_pols) return allot_cli_usage_error(CMD, "at least one --policy is required");
    if (!have_budget) return allot_cli_usage_error(CMD, "--budget is required");
    if (!out) return allot_cli_usage_error(CMD, "--out is required");
    if (n_sweep) {
        o.sweep = sweep;
        o.n_sweep = n_sweep;
    }
    const char *path = argv[optind];
    allot_error err = {0};
    allot_curves *c = NULL;
    allot_status st = allot_curves_read(path, &c, &err);
    if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
    allot_audit_summary sm[64];
    char *js = NULL;
    st = allot_audit_run(c, path, pols, n_pols, &o, out, json ? &js : NULL, NULL, sm, &err);
    allot_curves_free(c);
    if (st != ALLOT_OK && st != ALLOT_E_CHECK) return allot_cli_fail(CMD, &err);
    if (json) {
        if (js) printf("%s\n", js);
        free(js);
    } else {
        printf("audit at budget %g on held-out queries; report in %s/report.md\n\n", o.budget, out);
        /* the policy column is as wide as the longest file name (without directory and .json) */
        int name_len[64], width = (int)strlen("policy (rule)");
        const char *base[64];
        for (size_t k = 0; k < n_pols; k++) {
            const char *b = strrchr(pols[k], '/');
            base[k] = b = b ? b + 1 : pols[k];
            int bl = (int)strlen(b);
            if (bl > 5 && !strcmp(b + bl - 5, ".json")) bl -= 5;
            if (bl > 60) bl = 60;
            name_len[k] = bl;
            if (bl + 10 > width) width = bl + 10;
        }
        printf("%-*s %9s %9s %9s %9s %9s %9s %9s %9s\n", width, "policy (rule)", "acc", "cost", "oracle",
               "uniform", "imitat.", "regretL", "boundD", "boundLit");
        for (size_t k = 0; k < n_pols; k++) {
            for (int r = 0; r < 2; r++) {
                char name[80];
                snprintf(name, sizeof name, "%.*s (%s)", name_len[k], base[k], r ? "argmax" : "calibr.");
                printf("%-*s %9.4f %9.3f %9.4f %9.4f %9.4f %9.5f %9.5f %9.5f\n", width, name,
                       sm[k].learned_acc[r], sm[k].learned_cost[r], sm[k].oracle_acc, sm[k].uniform_acc,
                       sm[k].imitation[r], sm[k].regret_lagrangian[r], sm[k].bound_data_lagrangian[r],
                       sm[k].bound_literature_lagrangian[r]);
            }
            printf("%-*s best single %.4f  random mix %.4f  prompt length %.4f  difficulty bins %.4f  gain "
                   "capture %.3f / %.3f\n",
                   width, "", sm[k].best_single_acc, sm[k].random_acc, sm[k].length_acc, sm[k].bins_acc,
                   sm[k].gain_capture[0], sm[k].gain_capture[1]);
        }
        printf("\nregret <= bound: %s\n",
               st == ALLOT_E_CHECK ? "VIOLATED (a bug; see report.json)" : "holds for every policy and rule");
    }
    if (st == ALLOT_E_CHECK) return allot_cli_fail(CMD, &err);
    return ALLOT_EXIT_OK;
}
