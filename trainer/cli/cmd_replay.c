/* allot replay - adaptive allocators replayed on recorded samples, beside the oracle (docs/replay.md). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_opts.h"
#include "outdir.h"
#include "replay.h"

static const char *const CMD = "replay";

static const char replay_usage[] =
    "Usage: allot replay RUNS.jsonl --budget B [options]\n"
    "       allot replay RUNS.jsonl --sweep[=B1,B2,...] [options]\n"
    "\n"
    "Replay allocation methods on the recorded samples of a labelled-runs file: every method draws\n"
    "each query's samples in the recorded order (or a seeded shuffle), so all see the same\n"
    "responses. Reports, per method and budget, the spend, coverage (any correct among the samples\n"
    "spent), accuracy (the final answer), samples per pass-rate bucket and the efficiency ratio\n"
    "against uniform (the budget uniform needs for the same coverage / accuracy, '>max' when it\n"
    "never gets there). No method spends more than budget x queries.\n"
    "\n"
    "Options:\n"
    "  --budget B          mean samples (or cost, see --budget-unit) per query\n"
    "  --sweep[=LIST]      run every budget of LIST (default 1,2,4,8,16,32): one table, one plot\n"
    "                      ('--sweep LIST' works too)\n"
    "  --methods LIST      comma list of uniform,elimination,ucb,gap,entropy,adaptive-consistency,\n"
    "                      early-stop,bins-oracle,bins-predicted,oracle,policy (default: all but policy;\n"
    "                      'oracle' gives two rows: the accuracy and the coverage optimum)\n"
    "  --budget-unit U     samples (default) or cost (the samples' `cost` field)\n"
    "  --reward R          bandit reward: correct (a perfect verifier, default) or score\n"
    "  --select S          final answer: majority (default; null never wins, ties split) or best (score)\n"
    "  --K N               bandit: samples per picked query per round (default 1)\n"
    "  --gamma G           bandit: a query leaves once a sample's reward >= G (default 1)\n"
    "  --ucb-c C           UCB exploration constant (default 1)\n"
    "  --pick-frac F       UCB/Gap/Entropy: share of the active queries picked per round (default 0.5)\n"
    "  --ac-threshold P    Adaptive-Consistency stopping probability (default 0.95)\n"
    "  --ac-max N          Adaptive-Consistency maximum samples per query (default 40)\n"
    "  --window W          early stopping window (default 5)\n"
    "  --es-max N          early stopping maximum samples per query (default 40)\n"
    "  --shuffles S        S seeded shuffles of every pool, reported as mean ± sd [min-max]\n"
    "                      (default 5; 0 = the recorded order only)\n"
    "  --seed N            seed of shuffles, round order and the bins' folds (default 1)\n"
    "  --model NAME        the model to replay (required when the file holds several)\n"
    "  --policy BUNDLE     also replay a learned policy bundle (`allot train`): at each budget its\n"
    "                      calibrated rule with the price mu that brings the batch's mean tier cost\n"
    "                      within the budget (tiers must be RULE@K). Its training queries count as\n"
    "                      replayed queries too: replay held-out data for an honest figure\n"
    "  --heldout-only      replay (every method) only on the queries the bundle lists as held out\n"
    "                      from its training (provenance.split.test_ids of `allot train`)\n"
    "  -o, --out DIR       write DIR/table.md, DIR/table.json and the figures (gnuplot; the .dat and\n"
    "                      .gp scripts are saved beside): accuracy_vs_budget, coverage_vs_budget,\n"
    "                      spend_per_bucket (at --budget, or the sweep budget nearest 8)\n"
    "  --json              print one JSON document on stdout instead of the table\n"
    "  --quiet             no progress on stderr\n"
    "  -h, --help          this text\n"
    "  -V, --version       print the version\n"
    "\n";

/* Digits, dots and commas only, starting with a digit: a budget list rather than a file name. */
static int looks_like_budgets(const char *s) {
    if (!s || !(*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || *s == '.' || *s == ',')) return 0;
    return 1;
}

/* The parsed command line. */
typedef struct replay_cli {
    allot_replay_options o;
    double budget; /* NaN: --sweep */
    int sweep, shuffles, json, quiet, heldout;
    const char *sweep_list, *methods, *model, *policy, *out_dir;
} replay_cli;

/* The allocation methods' parameters. */
static int set_method_option(replay_cli *r, int ch, const char *arg) {
    static const char *const units[] = {"samples", "cost", NULL};
    static const allot_replay_unit unit_of[] = {ALLOT_REPLAY_UNIT_SAMPLES, ALLOT_REPLAY_UNIT_COST};
    static const char *const rewards[] = {"correct", "score", NULL};
    static const allot_replay_reward reward_of[] = {ALLOT_REPLAY_REWARD_CORRECT, ALLOT_REPLAY_REWARD_SCORE};
    static const char *const selects[] = {"majority", "best", NULL};
    static const allot_replay_select select_of[] = {ALLOT_REPLAY_SELECT_MAJORITY, ALLOT_REPLAY_SELECT_BEST};
    allot_replay_options *o = &r->o;
    int k = 0, rc = 0;
    switch (ch) {
    case 'u':
        if (!(rc = allot_opt_choice(CMD, "--budget-unit", arg, units, &k))) o->unit = unit_of[k];
        return rc;
    case 'r':
        if (!(rc = allot_opt_choice(CMD, "--reward", arg, rewards, &k))) o->reward = reward_of[k];
        return rc;
    case 'l':
        if (!(rc = allot_opt_choice(CMD, "--select", arg, selects, &k))) o->select = select_of[k];
        return rc;
    case 'K': return allot_opt_int(CMD, "--K", arg, 1, 1000000, &o->K);
    case 'g': return allot_opt_number(CMD, "--gamma", arg, ALLOT_OPT_FINITE, &o->gamma);
    case 'c': return allot_opt_number(CMD, "--ucb-c", arg, ALLOT_OPT_NONNEG, &o->ucb_c);
    case 'f': return allot_opt_number(CMD, "--pick-frac", arg, ALLOT_OPT_FRACTION, &o->pick_frac);
    case 'a':
        return allot_opt_number(CMD, "--ac-threshold", arg, (allot_opt_range){0, 1, 1, 1}, &o->ac_threshold);
    case 'A': return allot_opt_int(CMD, "--ac-max", arg, 1, 1000000, &o->ac_max);
    case 'w': return allot_opt_int(CMD, "--window", arg, 1, 1000000, &o->es_window);
    case 'E': return allot_opt_int(CMD, "--es-max", arg, 1, 1000000, &o->es_max);
    case 'd': return allot_opt_seed(CMD, "--seed", arg, &o->seed);
    }
    return allot_cli_usage_error(CMD, "internal: unhandled option");
}

/* One option's value (0, or the usage error's exit code). --sweep's list may also be the next
 * word (argv[optind]) when that is a budget list. */
static int set_option(replay_cli *r, int ch, const char *arg, int argc, char **argv) {
    switch (ch) {
    case 'b': return allot_opt_number(CMD, "--budget", arg, ALLOT_OPT_POSITIVE, &r->budget);
    case 'S':
        r->sweep = 1;
        r->sweep_list = arg;
        if (!arg && optind < argc && looks_like_budgets(argv[optind])) r->sweep_list = argv[optind++];
        return 0;
    case 'm': r->methods = arg; return 0;
    case 's': return allot_opt_int(CMD, "--shuffles", arg, 0, 100000, &r->shuffles);
    case 'M': r->model = arg; return 0;
    case 'P': r->policy = arg; return 0;
    case 'o': r->out_dir = arg; return 0;
    case 'j': r->json = 1; return 0;
    case 'q': r->quiet = 1; return 0;
    case 'H': r->heldout = 1; return 0;
    }
    return set_method_option(r, ch, arg);
}

/* Which methods run (--methods, or all but policy; policy too when a bundle is given). */
static int method_flags(const replay_cli *r, int *mflags) {
    if (!r->methods) {
        for (int m = 0; m < ALLOT_REPLAY_N_METHODS; m++) mflags[m] = m != ALLOT_REPLAY_POLICY;
        if (r->policy) mflags[ALLOT_REPLAY_POLICY] = 1;
    } else {
        char **items = NULL;
        size_t n = 0;
        int rc = allot_opt_list(CMD, "--methods", r->methods, 0, &items, &n);
        for (size_t i = 0; !rc && i < n; i++) {
            int m = allot_replay_method_parse(items[i]);
            if (m < 0) {
                char msg[160];
                snprintf(msg, sizeof msg, "--methods: unknown method '%.60s'", items[i]);
                rc = allot_cli_usage_error(CMD, msg);
                break;
            }
            mflags[m] = 1;
            if (m == ALLOT_REPLAY_ORACLE) mflags[ALLOT_REPLAY_ORACLE_COVERAGE] = 1;
        }
        allot_opt_list_free(items, n);
        if (rc) return rc;
    }
    if (mflags[ALLOT_REPLAY_POLICY] && !r->policy)
        return allot_cli_usage_error(CMD, "method policy needs --policy BUNDLE");
    if (r->heldout && !r->policy) return allot_cli_usage_error(CMD, "--heldout-only needs --policy BUNDLE");
    mflags[ALLOT_REPLAY_UNIFORM] = 1; /* the efficiency ratios are against uniform */
    return 0;
}

/* The budgets: --sweep's list (default 1,2,4,8,16,32) or the one --budget. */
static int budgets_of(const replay_cli *r, double **budgets, size_t *nb) {
    if (r->sweep)
        return allot_opt_number_list(CMD, "--sweep", r->sweep_list ? r->sweep_list : "1,2,4,8,16,32",
                                     ALLOT_OPT_POSITIVE, 0, budgets, nb);
    *budgets = malloc(sizeof **budgets);
    if (!*budgets) return ALLOT_EXIT_INTERNAL;
    (*budgets)[0] = r->budget;
    *nb = 1;
    return 0;
}

/* --heldout-only: keep only the queries the bundle lists as held out from its training. */
static allot_status keep_heldout(const replay_cli *r, const char *runs, allot_replay_pools *pools,
                                 allot_error *err) {
    char **ids = NULL;
    size_t n_ids = 0, kept = 0;
    allot_status st = allot_replay_policy_heldout_ids(r->policy, &ids, &n_ids, err);
    if (st == ALLOT_OK && n_ids == 0)
        st = allot_error_set(err, ALLOT_E_INVALID, "%s: provenance.split.test_ids: missing or empty",
                             r->policy);
    if (st == ALLOT_OK) st = allot_replay_pools_keep(pools, (const char *const *)ids, n_ids, &kept, err);
    for (size_t k = 0; k < n_ids; k++) free(ids[k]);
    free(ids);
    if (st == ALLOT_OK && kept == 0)
        st = allot_error_set(err, ALLOT_E_INVALID, "%s: none of the bundle's held-out ids is in %s",
                             r->policy, runs);
    if (st == ALLOT_OK && !r->quiet)
        fprintf(stderr, "allot replay: %zu held-out queries of the bundle kept\n", kept);
    return st;
}

/* Load the pools (and the policy), replay every budget into rep. */
static allot_status replay_all(replay_cli *r, const char *runs, const int *mflags, const double *budgets,
                               size_t nb, allot_replay_report *rep, allot_error *err) {
    allot_replay_pools pools;
    allot_status st = allot_replay_pools_load(runs, r->model, &pools, err);
    if (st != ALLOT_OK) return st;
    allot_replay_policy *pol = NULL;
    if (r->o.reward == ALLOT_REPLAY_REWARD_SCORE && !pools.has_scores)
        st =
            allot_error_set(err, ALLOT_E_INVALID, "%s: --reward score needs a `score` on every sample", runs);
    if (st == ALLOT_OK && r->heldout) st = keep_heldout(r, runs, &pools, err);
    if (st == ALLOT_OK && r->policy) st = allot_replay_policy_load(r->policy, &pools, &pol, err);
    if (st == ALLOT_OK) {
        r->o.policy = pol;
        allot_replay_sweep_options so = {budgets, nb, mflags, r->shuffles, !r->quiet};
        st = allot_replay_sweep(&pools, &r->o, &so, runs, rep, err);
    }
    allot_replay_policy_free(pol);
    allot_replay_pools_free(&pools);
    return st;
}

/* DIR/table.md, table.json and the figures (--out), then the table or JSON on stdout. */
static int write_outputs(const replay_cli *r, allot_replay_report *rep) {
    allot_error err = {0};
    if (r->out_dir) {
        allot_outdir dir;
        allot_status st = allot_outdir_create(&dir, r->out_dir, &err);
        if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
        char note[ALLOT_ERROR_MSG_SIZE];
        st = allot_replay_report_write(rep, r->out_dir, isnan(r->budget) ? 8.0 : r->budget, note, sizeof note,
                                       &err);
        allot_outdir_finish(&dir, st == ALLOT_OK); /* a failure leaves no empty directory behind */
        if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
        if (note[0])
            fprintf(stderr, "allot replay: figures not rendered: %s\n", note);
        else if (!r->quiet)
            fprintf(stderr, "allot replay: wrote %s/table.md, table.json, accuracy_vs_budget.png/.svg\n",
                    r->out_dir);
    }
    if (!r->json) {
        allot_replay_report_markdown(rep, stdout);
        return ALLOT_EXIT_OK;
    }
    if (allot_replay_report_json(rep, stdout, &err) != ALLOT_OK) return allot_cli_fail(CMD, &err);
    return ALLOT_EXIT_OK;
}

int allot_cmd_replay(int argc, char **argv) {
    static const struct option opts[] = {{"budget", required_argument, 0, 'b'},
                                         {"sweep", optional_argument, 0, 'S'},
                                         {"methods", required_argument, 0, 'm'},
                                         {"budget-unit", required_argument, 0, 'u'},
                                         {"reward", required_argument, 0, 'r'},
                                         {"select", required_argument, 0, 'l'},
                                         {"K", required_argument, 0, 'K'},
                                         {"gamma", required_argument, 0, 'g'},
                                         {"ucb-c", required_argument, 0, 'c'},
                                         {"pick-frac", required_argument, 0, 'f'},
                                         {"ac-threshold", required_argument, 0, 'a'},
                                         {"ac-max", required_argument, 0, 'A'},
                                         {"window", required_argument, 0, 'w'},
                                         {"es-max", required_argument, 0, 'E'},
                                         {"shuffles", required_argument, 0, 's'},
                                         {"seed", required_argument, 0, 'd'},
                                         {"model", required_argument, 0, 'M'},
                                         {"policy", required_argument, 0, 'P'},
                                         {"out", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {"heldout-only", no_argument, 0, 'H'},
                                         {0, 0, 0, 0}};
    replay_cli r;
    memset(&r, 0, sizeof r);
    allot_replay_options_default(&r.o);
    r.budget = NAN;
    r.shuffles = 5;
    optind = 1;
    opterr = 0;
    int ch, rc;
    while ((ch = getopt_long(argc, argv, ":hVo:", opts, NULL)) != -1) {
        if (ch == 'h') return allot_cli_help(replay_usage);
        if (ch == 'V') return allot_cli_version(CMD);
        if (ch == '?' || ch == ':') return allot_cli_bad_option(CMD, ch, argv);
        if ((rc = set_option(&r, ch, optarg, argc, argv))) return rc;
    }
    if (optind != argc - 1) return allot_cli_usage_error(CMD, "expected exactly one RUNS file");
    const char *runs = argv[optind];
    if (!r.sweep && isnan(r.budget)) return allot_cli_usage_error(CMD, "give --budget B or --sweep");
    int mflags[ALLOT_REPLAY_N_METHODS] = {0};
    if ((rc = method_flags(&r, mflags))) return rc;
    double *budgets = NULL;
    size_t nb = 0;
    if ((rc = budgets_of(&r, &budgets, &nb))) return rc;

    allot_error err = {0};
    allot_replay_report rep;
    allot_status st = replay_all(&r, runs, mflags, budgets, nb, &rep, &err);
    free(budgets);
    if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
    rc = write_outputs(&r, &rep);
    allot_replay_report_free(&rep);
    return rc;
}
