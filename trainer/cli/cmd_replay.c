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
#include "replay.h"

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
    "  --out DIR           write DIR/table.md, DIR/table.json and the figures (gnuplot; the .dat and\n"
    "                      .gp scripts are saved beside): accuracy_vs_budget, coverage_vs_budget,\n"
    "                      spend_per_bucket (at --budget, or the sweep budget nearest 8)\n"
    "  --json              print one JSON document on stdout instead of the table\n"
    "  --quiet             no progress on stderr\n"
    "  --help              this text\n"
    "\n";

static int parse_double(const char *s, double *out) {
    if (!s || !*s) return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, long lo, long hi, int *out) {
    if (!s || !*s) return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

/* Comma list of budgets > 0. */
static int parse_budgets(const char *s, double **out, size_t *n) {
    size_t cap = 1;
    for (const char *c = s; *c; c++) cap += *c == ',';
    double *b = malloc(cap * sizeof *b);
    if (!b) return -1;
    char *copy = malloc(strlen(s) + 1);
    if (!copy) {
        free(b);
        return -1;
    }
    strcpy(copy, s);
    size_t k = 0;
    int bad = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        double v;
        if (parse_double(tok, &v) != 0 || !(v > 0))
            bad = 1;
        else
            b[k++] = v;
    }
    free(copy);
    if (bad || k == 0) {
        free(b);
        return -1;
    }
    *out = b;
    *n = k;
    return 0;
}

/* Digits, dots and commas only, starting with a digit: a budget list rather than a file name. */
static int looks_like_budgets(const char *s) {
    if (!s || !(*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || *s == '.' || *s == ',')) return 0;
    return 1;
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
                                         {"heldout-only", no_argument, 0, 'H'},
                                         {0, 0, 0, 0}};
    const char *cmd = "replay";
    allot_replay_options o;
    allot_replay_options_default(&o);
    double budget = NAN;
    int sweep = 0, shuffles = 5, json = 0, quiet = 0, heldout = 0;
    const char *sweep_list = NULL, *methods = NULL, *model = NULL, *policy = NULL, *out_dir = NULL;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            if (parse_double(optarg, &budget) != 0 || !(budget > 0))
                return allot_cli_usage_error(cmd, "--budget needs a number > 0");
            break;
        case 'S':
            sweep = 1;
            sweep_list = optarg;
            /* also accept "--sweep 1,2,4" (a separate word that is a budget list) */
            if (!optarg && optind < argc && looks_like_budgets(argv[optind])) sweep_list = argv[optind++];
            break;
        case 'm': methods = optarg; break;
        case 'u':
            if (!strcmp(optarg, "samples"))
                o.unit = ALLOT_REPLAY_UNIT_SAMPLES;
            else if (!strcmp(optarg, "cost"))
                o.unit = ALLOT_REPLAY_UNIT_COST;
            else
                return allot_cli_usage_error(cmd, "--budget-unit is samples or cost");
            break;
        case 'r':
            if (!strcmp(optarg, "correct"))
                o.reward = ALLOT_REPLAY_REWARD_CORRECT;
            else if (!strcmp(optarg, "score"))
                o.reward = ALLOT_REPLAY_REWARD_SCORE;
            else
                return allot_cli_usage_error(cmd, "--reward is correct or score");
            break;
        case 'l':
            if (!strcmp(optarg, "majority"))
                o.select = ALLOT_REPLAY_SELECT_MAJORITY;
            else if (!strcmp(optarg, "best"))
                o.select = ALLOT_REPLAY_SELECT_BEST;
            else
                return allot_cli_usage_error(cmd, "--select is majority or best");
            break;
        case 'K':
            if (parse_int(optarg, 1, 1000000, &o.K) != 0)
                return allot_cli_usage_error(cmd, "--K needs an integer >= 1");
            break;
        case 'g':
            if (parse_double(optarg, &o.gamma) != 0)
                return allot_cli_usage_error(cmd, "--gamma needs a number");
            break;
        case 'c':
            if (parse_double(optarg, &o.ucb_c) != 0 || o.ucb_c < 0)
                return allot_cli_usage_error(cmd, "--ucb-c needs a number >= 0");
            break;
        case 'f':
            if (parse_double(optarg, &o.pick_frac) != 0 || !(o.pick_frac > 0 && o.pick_frac <= 1))
                return allot_cli_usage_error(cmd, "--pick-frac needs a number in (0, 1]");
            break;
        case 'a':
            if (parse_double(optarg, &o.ac_threshold) != 0 || !(o.ac_threshold > 0 && o.ac_threshold < 1))
                return allot_cli_usage_error(cmd, "--ac-threshold needs a number in (0, 1)");
            break;
        case 'A':
            if (parse_int(optarg, 1, 1000000, &o.ac_max) != 0)
                return allot_cli_usage_error(cmd, "--ac-max needs an integer >= 1");
            break;
        case 'w':
            if (parse_int(optarg, 1, 1000000, &o.es_window) != 0)
                return allot_cli_usage_error(cmd, "--window needs an integer >= 1");
            break;
        case 'E':
            if (parse_int(optarg, 1, 1000000, &o.es_max) != 0)
                return allot_cli_usage_error(cmd, "--es-max needs an integer >= 1");
            break;
        case 's':
            if (parse_int(optarg, 0, 100000, &shuffles) != 0)
                return allot_cli_usage_error(cmd, "--shuffles needs an integer >= 0");
            break;
        case 'd': {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg || *optarg == '-')
                return allot_cli_usage_error(cmd, "--seed needs an integer >= 0");
            o.seed = (uint64_t)v;
            break;
        }
        case 'M': model = optarg; break;
        case 'P': policy = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'H': heldout = 1; break;
        case 'h':
            fputs(replay_usage, stdout);
            fputs(allot_cli_exit_codes_help, stdout);
            return ALLOT_EXIT_OK;
        default: return allot_cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind != argc - 1) return allot_cli_usage_error(cmd, "expected exactly one RUNS file");
    const char *runs = argv[optind];
    if (!sweep && isnan(budget)) return allot_cli_usage_error(cmd, "give --budget B or --sweep");

    int mflags[ALLOT_REPLAY_N_METHODS] = {0};
    if (!methods) {
        for (int m = 0; m < ALLOT_REPLAY_N_METHODS; m++) mflags[m] = m != ALLOT_REPLAY_POLICY;
        if (policy) mflags[ALLOT_REPLAY_POLICY] = 1;
    } else {
        char *copy = malloc(strlen(methods) + 1);
        if (!copy) return ALLOT_EXIT_INTERNAL;
        strcpy(copy, methods);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int m = allot_replay_method_parse(tok);
            if (m < 0) {
                char msg[160];
                snprintf(msg, sizeof msg, "unknown method '%s'", tok);
                free(copy);
                return allot_cli_usage_error(cmd, msg);
            }
            mflags[m] = 1;
            if (m == ALLOT_REPLAY_ORACLE) mflags[ALLOT_REPLAY_ORACLE_COVERAGE] = 1;
        }
        free(copy);
    }
    if (mflags[ALLOT_REPLAY_POLICY] && !policy)
        return allot_cli_usage_error(cmd, "method policy needs --policy BUNDLE");
    mflags[ALLOT_REPLAY_UNIFORM] = 1; /* the efficiency ratios are against uniform */

    double *budgets = NULL;
    size_t nb = 0;
    if (sweep) {
        if (parse_budgets(sweep_list ? sweep_list : "1,2,4,8,16,32", &budgets, &nb) != 0)
            return allot_cli_usage_error(cmd, "--sweep needs a comma list of budgets > 0");
    } else {
        budgets = malloc(sizeof *budgets);
        if (!budgets) return ALLOT_EXIT_INTERNAL;
        budgets[0] = budget;
        nb = 1;
    }

    allot_error err = {0};
    allot_replay_pools pools;
    allot_status st = allot_replay_pools_load(runs, model, &pools, &err);
    if (st != ALLOT_OK) {
        free(budgets);
        return allot_cli_fail(cmd, &err);
    }
    if (o.reward == ALLOT_REPLAY_REWARD_SCORE && !pools.has_scores) {
        allot_replay_pools_free(&pools);
        free(budgets);
        allot_error_set(&err, ALLOT_E_INVALID, "%s: --reward score needs a `score` on every sample", runs);
        return allot_cli_fail(cmd, &err);
    }
    if (heldout) {
        if (!policy) {
            allot_replay_pools_free(&pools);
            free(budgets);
            return allot_cli_usage_error(cmd, "--heldout-only needs --policy BUNDLE");
        }
        char **ids = NULL;
        size_t n_ids = 0, kept = 0;
        st = allot_replay_policy_heldout_ids(policy, &ids, &n_ids, &err);
        if (st == ALLOT_OK && n_ids == 0)
            st = allot_error_set(&err, ALLOT_E_INVALID, "%s: provenance.split.test_ids: missing or empty",
                                 policy);
        if (st == ALLOT_OK)
            st = allot_replay_pools_keep(&pools, (const char *const *)ids, n_ids, &kept, &err);
        for (size_t k = 0; k < n_ids; k++) free(ids[k]);
        free(ids);
        if (st == ALLOT_OK && kept == 0)
            st = allot_error_set(&err, ALLOT_E_INVALID, "%s: none of the bundle's held-out ids is in %s",
                                 policy, runs);
        if (st != ALLOT_OK) {
            allot_replay_pools_free(&pools);
            free(budgets);
            return allot_cli_fail(cmd, &err);
        }
        if (!quiet) fprintf(stderr, "allot replay: %zu held-out queries of the bundle kept\n", kept);
    }
    allot_replay_policy *pol = NULL;
    if (policy) {
        st = allot_replay_policy_load(policy, &pools, &pol, &err);
        if (st != ALLOT_OK) {
            allot_replay_pools_free(&pools);
            free(budgets);
            return allot_cli_fail(cmd, &err);
        }
        o.policy = pol;
    }
    allot_replay_sweep_options so = {budgets, nb, mflags, shuffles, !quiet};
    allot_replay_report rep;
    st = allot_replay_sweep(&pools, &o, &so, runs, &rep, &err);
    allot_replay_policy_free(pol);
    allot_replay_pools_free(&pools);
    free(budgets);
    if (st != ALLOT_OK) return allot_cli_fail(cmd, &err);

    int rc = ALLOT_EXIT_OK;
    if (out_dir) {
        if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
            allot_error_set(&err, ALLOT_E_IO, "%s: cannot create directory: %s", out_dir, strerror(errno));
            allot_replay_report_free(&rep);
            return allot_cli_fail(cmd, &err);
        }
        char note[ALLOT_ERROR_MSG_SIZE];
        st = allot_replay_report_write(&rep, out_dir, isnan(budget) ? 8.0 : budget, note, sizeof note, &err);
        if (st != ALLOT_OK) {
            allot_replay_report_free(&rep);
            return allot_cli_fail(cmd, &err);
        }
        if (note[0])
            fprintf(stderr, "allot replay: figures not rendered: %s\n", note);
        else if (!quiet)
            fprintf(stderr, "allot replay: wrote %s/table.md, table.json, accuracy_vs_budget.png/.svg\n",
                    out_dir);
    }
    if (json) {
        st = allot_replay_report_json(&rep, stdout, &err);
        if (st != ALLOT_OK) rc = allot_cli_fail(cmd, &err);
    } else {
        allot_replay_report_markdown(&rep, stdout);
    }
    allot_replay_report_free(&rep);
    return rc;
}
