/* allot audit - policy bundles + their held-out curves -> regret audit, report.json, report.md, plots. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_policy.h"
#include "audit.h"
#include "cli.h"
#include "cli_opts.h"
#include "curves.h"

static const char *const CMD = "audit";

static const char audit_usage[] =
    "Usage: allot audit CURVES|RUNS --policy P.json [--policy P2.json ...] --budget B --out DIR [options]\n"
    "\n"
    "Audit learned policies on labelled curves (or on labelled runs: their curves for the policy's\n"
    "tiers are computed as `allot curves` computes them). On the curves a policy was trained on (same\n"
    "content, whatever its path) it is evaluated on the held-out queries recorded in its provenance;\n"
    "on any other curves file with the same tier set, on all of its queries, counting the queries\n"
    "that also occur in the training data (same id or prompt) and reporting the figures without them\n"
    "too. Compares the oracle, the learned policy (price as shipped, price refit to this batch, no\n"
    "price; evaluated through the runtime's policy loader), the deployable uniform mix (chosen on\n"
    "the training data) and the hindsight one, the best single tier, random allocation with the\n"
    "oracle's tier mix, and on the training file a prompt-length and a difficulty-bin heuristic;\n"
    "reports imitation accuracy and the\n"
    "confusion matrix, regret with the literature's and the data-dependent bound (exit 4 if a\n"
    "regret exceeds its bound), gain capture, efficiency and a paired bootstrap interval, and a\n"
    "budget sweep (mu recalibrated per budget). Writes DIR/report.json, DIR/report.md and plots\n"
    "(PNG + SVG, with their .gp gnuplot scripts and .dat data beside).\n"
    "\n"
    "Options:\n"
    "  --policy PATH      a policy bundle written by allot train (repeatable, required)\n"
    "  --budget B         the audit budget (mean cost per query, required)\n"
    "  -o, --out DIR      output directory (created if missing, required)\n"
    "  --sweep b1,b2,...  budgets of the sweep (default: 12 log-spaced between the cheapest and the\n"
    "                     dearest tier; B is always included; at most 256)\n"
    "  --sweep-retrain    also train each policy again at every sweep budget (same learner, parameters\n"
    "                     and split, read from the bundle) and plot that curve too (slower)\n"
    "  --seed S           bootstrap and random-allocation seed, 0 .. 2^64-1 (default 1)\n"
    "  --bootstrap N      paired bootstrap resamples (default 1000)\n"
    "  --no-plots         skip the plots\n"
    "  --orderings N      sequential policies: orderings of each query's samples (default 32)\n"
    "  --all-queries      sequential policies: every query of the file, even the bundle's training ones\n"
    "  --json             print report.json on stdout instead of the summary table\n"
    "  --quiet            no progress on stderr\n"
    "  -h, --help         this text\n"
    "  -V, --version      print the version\n"
    "\n"
    "Sequential policies (allot train --stages; docs/sequential.md): give the LABELLED RUNS file instead\n"
    "of CURVES. Each policy is replayed sample by sample through the runtime on the queries it held out\n"
    "(several bundles trained with --test-part I/K are pooled: cross-fitting), or on every query of\n"
    "another file, beside uniform, Adaptive-Consistency, early stopping and the oracle, all compared at\n"
    "the policy's realised mean spend with paired bootstrap intervals. --budget (default: the bundle's)\n"
    "is the budget the price is re-fitted to; --sweep does not apply.\n"
    "\n";

enum {
    O_POLICY = 256,
    O_BUDGET,
    O_SWEEP,
    O_SEED,
    O_BOOT,
    O_NOPLOTS,
    O_JSON,
    O_QUIET,
    O_RETRAIN,
    O_ORDERINGS,
    O_ALLQ
};

/* The parsed command line. */
typedef struct audit_cli {
    allot_audit_options o;
    const char *pols[64];
    size_t n_pols;
    const char *out;
    int json, have_budget;
    double *sweep;
    size_t n_sweep;
    int orderings, all_queries; /* sequential policies */
} audit_cli;

/* One option's value (0, or the usage error's exit code). */
static int set_option(audit_cli *a, int ch, const char *arg) {
    switch (ch) {
    case O_POLICY:
        if (a->n_pols >= 64) return allot_cli_usage_error(CMD, "at most 64 --policy");
        a->pols[a->n_pols++] = arg;
        return 0;
    case O_BUDGET: a->have_budget = 1; return allot_opt_budget(CMD, "--budget", arg, &a->o.budget);
    case 'o': a->out = arg; return 0;
    case O_SWEEP:
        free(a->sweep);
        a->sweep = NULL;
        return allot_opt_number_list(CMD, "--sweep", arg, ALLOT_OPT_NONNEG, 256, &a->sweep, &a->n_sweep);
    case O_SEED: return allot_opt_seed(CMD, "--seed", arg, &a->o.seed);
    case O_BOOT: return allot_opt_int(CMD, "--bootstrap", arg, 0, 1000000, &a->o.bootstrap);
    case O_NOPLOTS: a->o.plots = 0; return 0;
    case O_RETRAIN: a->o.sweep_retrain = 1; return 0;
    case O_JSON: a->json = 1; return 0;
    case O_QUIET: a->o.progress = 0; return 0;
    case O_ORDERINGS: return allot_opt_int(CMD, "--orderings", arg, 1, 4096, &a->orderings);
    case O_ALLQ: a->all_queries = 1; return 0;
    }
    return allot_cli_usage_error(CMD, "internal: unhandled option");
}

/* One figure with its interval ("+0.0123 [-0.0010, +0.0250]"), or "-" when not computed. */
static void fmt_ci(char *buf, size_t cap, const double *v) {
    if (isnan(v[0]))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%+.4f [%+.4f, %+.4f]", v[0], v[1], v[2]);
}

/* The summary table: every rule of every policy, against the deployable uniform, and whether every
 * regret is within its bound. */
static void print_summary(const audit_cli *a, const allot_audit_summary *sm, allot_status st) {
    static const char *const RULE[ALLOT_AUDIT_SUMMARY_RULES] = {"calibr.", "refit", "argmax"};
    size_t n_pols = a->n_pols;
    printf("audit at budget %g; report in %s/report.md\n\n", a->o.budget, a->out);
    /* the policy column is as wide as the longest file name (without directory and .json) */
    int name_len[64], width = (int)strlen("policy (rule)");
    const char *base[64];
    for (size_t k = 0; k < n_pols; k++) {
        const char *b = strrchr(a->pols[k], '/');
        base[k] = b = b ? b + 1 : a->pols[k];
        int bl = (int)strlen(b);
        if (bl > 5 && !strcmp(b + bl - 5, ".json")) bl -= 5;
        if (bl > 60) bl = 60;
        name_len[k] = bl;
        if (bl + 10 > width) width = bl + 10;
    }
    printf("%-*s %9s %9s %9s %9s %9s  %s\n", width, "policy (rule)", "acc", "cost", "oracle", "imitat.",
           "regretL", "learned - deployable uniform [95% CI]");
    for (size_t k = 0; k < n_pols; k++) {
        const allot_audit_summary *m = &sm[k];
        printf("%.*s: %s, %zu queries", name_len[k], base[k],
               m->foreign ? "foreign file (all its queries)" : "its held-out split", m->n_test);
        if (!m->leaks_checked)
            printf(", shared queries with the training data not checked (older bundle)");
        else
            printf(", %zu also in the training data", m->n_leak);
        printf("\n");
        for (int r = 0; r < ALLOT_AUDIT_SUMMARY_RULES; r++) {
            char name[80], ci[96];
            snprintf(name, sizeof name, "  (%s)", RULE[r]);
            fmt_ci(ci, sizeof ci, m->vs_deployable[r]);
            printf("%-*s %9.4f %9.3f %9.4f %9.4f %9.5f  %s\n", width, name, m->learned_acc[r],
                   m->learned_cost[r], m->oracle_acc, m->imitation[r], m->regret_lagrangian[r], ci);
        }
        printf("%-*s uniform: deployable %.4f (cost %.3f), hindsight %.4f; best single %.4f; random mix %.4f",
               width, "", m->deployable_acc, m->deployable_cost, m->uniform_acc, m->best_single_acc,
               m->random_acc);
        if (!m->foreign) printf("; prompt length %.4f; difficulty bins %.4f", m->length_acc, m->bins_acc);
        printf("\n");
        if (!isnan(m->clean_learned_acc[0]))
            printf("%-*s without the %zu shared queries: learned %.4f / %.4f / %.4f, deployable uniform "
                   "%.4f, oracle "
                   "%.4f\n",
                   width, "", m->n_leak, m->clean_learned_acc[0], m->clean_learned_acc[1],
                   m->clean_learned_acc[2], m->clean_deployable_acc, m->clean_oracle_acc);
    }
    printf("\nregret <= bound: %s\n",
           st == ALLOT_E_CHECK ? "VIOLATED (a bug; see report.json)" : "holds for every policy and rule");
}

/* The curves of path: a curves file as it is; labelled runs computed for the first policy's tiers (as
 * `allot train` computed them from runs, so the content hash, and with it the held-out split, match). */
static allot_status curves_for(const audit_cli *a, const char *path, allot_curves **c, allot_error *err) {
    allot_policy *p = NULL;
    allot_status st = allot_policy_load_file(a->pols[0], &p, err);
    size_t n = st ? 0 : allot_policy_n_tiers(p);
    const char **names = st ? NULL : calloc(n ? n : 1, sizeof *names);
    if (!st && !names) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < n; i++) names[i] = allot_policy_tier_name(p, i);
    allot_tier_set ts = {0};
    int parsed = 0, computed = 0;
    if (!st) st = allot_tier_set_from_names(names, n, &ts, &parsed, err);
    if (!st) st = allot_curves_load(path, &ts, a->o.progress, c, &computed, err);
    allot_tier_set_free(&ts);
    free(names);
    allot_policy_free(p);
    return st;
}

static int run_audit(audit_cli *a, const char *path) {
    if (a->n_sweep) {
        a->o.sweep = a->sweep;
        a->o.n_sweep = a->n_sweep;
    }
    allot_error err = {0};
    allot_curves *c = NULL;
    allot_status st = curves_for(a, path, &c, &err);
    if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
    allot_audit_summary sm[64];
    char *js = NULL;
    st = allot_audit_run(c, path, a->pols, a->n_pols, &a->o, a->out, a->json ? &js : NULL, NULL, sm, &err);
    allot_curves_free(c);
    if (st != ALLOT_OK && st != ALLOT_E_CHECK) return allot_cli_fail(CMD, &err);
    if (a->json) {
        if (js) printf("%s\n", js);
        free(js);
    } else {
        print_summary(a, sm, st);
    }
    if (st == ALLOT_E_CHECK) return allot_cli_fail(CMD, &err);
    return ALLOT_EXIT_OK;
}

static int parse_and_run(audit_cli *a, int argc, char **argv) {
    static const struct option longopts[] = {{"policy", required_argument, 0, O_POLICY},
                                             {"budget", required_argument, 0, O_BUDGET},
                                             {"out", required_argument, 0, 'o'},
                                             {"sweep", required_argument, 0, O_SWEEP},
                                             {"seed", required_argument, 0, O_SEED},
                                             {"bootstrap", required_argument, 0, O_BOOT},
                                             {"no-plots", no_argument, 0, O_NOPLOTS},
                                             {"json", no_argument, 0, O_JSON},
                                             {"quiet", no_argument, 0, O_QUIET},
                                             {"help", no_argument, 0, 'h'},
                                             {"sweep-retrain", no_argument, 0, O_RETRAIN},
                                             {"orderings", required_argument, 0, O_ORDERINGS},
                                             {"all-queries", no_argument, 0, O_ALLQ},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int ch, rc;
    while ((ch = getopt_long(argc, argv, ":hVo:", longopts, NULL)) != -1) {
        if (ch == 'h') return allot_cli_help(audit_usage);
        if (ch == 'V') return allot_cli_version(CMD);
        if (ch == '?' || ch == ':') return allot_cli_bad_option(CMD, ch, argv);
        if ((rc = set_option(a, ch, optarg))) return rc;
    }
    if (optind != argc - 1) return allot_cli_usage_error(CMD, "expected exactly one CURVES (or runs) file");
    if (!a->n_pols) return allot_cli_usage_error(CMD, "at least one --policy is required");
    if (!a->out) return allot_cli_usage_error(CMD, "--out is required");
    int seq = 0;
    rc = allot_cli_bundle_is_sequential(a->pols[0], &seq);
    if (rc) return rc;
    if (seq) {
        if (a->n_sweep || a->o.sweep_retrain)
            return allot_cli_usage_error(CMD, "--sweep and --sweep-retrain apply to static policies");
        allot_cli_seq_audit sa = {
            a->pols,    a->n_pols,      a->out,       a->have_budget ? a->o.budget : NAN,
            a->o.seed,  a->o.bootstrap, a->orderings, a->all_queries,
            a->o.plots, a->o.progress,  a->json};
        return allot_cli_audit_sequential(&sa, argv[optind]);
    }
    if (a->orderings || a->all_queries)
        return allot_cli_usage_error(CMD, "--orderings and --all-queries apply to sequential policies");
    if (!a->have_budget) return allot_cli_usage_error(CMD, "--budget is required");
    return run_audit(a, argv[optind]);
}

int allot_cmd_audit(int argc, char **argv) {
    audit_cli a;
    memset(&a, 0, sizeof a);
    allot_audit_options_default(&a.o);
    a.o.progress = 1;
    int rc = parse_and_run(&a, argc, argv);
    free(a.sweep);
    return rc;
}
