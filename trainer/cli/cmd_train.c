/* allot train - curves -> a policy bundle (XGBoost or LIBLINEAR) imitating the budgeted oracle. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "allot/allot_features.h"
#include "cli.h"
#include "curves.h"
#include "learn.h"
#include "linear_learner.h"

static const char *const CMD = "train";

static void help(FILE *out) {
    fprintf(
        out,
        "usage: allot train CURVES --budget B --out POLICY.json [options]\n"
        "\n"
        "Label each training query with the exact oracle's tier at mean budget B, learn a classifier\n"
        "that predicts it from cheap features (the runtime's featuriser), calibrate its decision rule\n"
        "to the budget, and write a policy bundle (docs/policy-bundle.md) atomically.\n"
        "\n"
        "  --budget B             mean cost per query (required)\n"
        "  --out PATH             policy bundle to write (required)\n"
        "  --learner NAME         xgboost (default) or liblinear\n"
        "  --target NAME          tier (default: a classifier of the oracle's tier) or value (one\n"
        "                         regressor per tier predicts the query's accuracy there; the value\n"
        "                         rule argmax_t acc_hat_t - lambda*cost_t, lambda >= 0 meets B)\n"
        "  --rule NAME            calibrated (default: argmax log p - mu*cost, mu of any sign meets B;\n"
        "                         value target: the value rule at the calibrated lambda) or argmax\n"
        "                         (value target: the value rule at lambda 0)\n"
        "  --test-fraction F      held out for `allot audit`, never trained on (default 0.2)\n"
        "  --folds K              k-fold cross-validation on the rest (default 5)\n"
        "  --seed S               split and learner seed (default 1)\n"
        "  --features a,b         record features to use (default: all of the curves file's; '' = none)\n"
        "  --meta-features a,b    meta fields to use as features (e.g. level); default none\n"
        "  --hash-dim N           hashed n-gram dimension for liblinear (default 4096; 0 = off)\n"
        "  --class-weights W      balanced (default: each class weighs the same in training, so rare dear\n"
        "                         tiers are not drowned and calibration can bring the spend down to B)\n"
        "                         or none; both learners\n"
        "  --no-validation        leave the training pool's out-of-fold probabilities out of the bundle\n"
        "                         (smaller for large data; the audit then uses in-sample predictions)\n"
        "  --json                 one JSON document on stdout instead of the table\n"
        "  --quiet                no progress on stderr\n"
        "XGBoost:\n"
        "  --rounds N (200)  --max-depth N (4)  --eta X (0.1)  --subsample X (0.8)\n"
        "  --min-child-weight X (1)  --lambda X (1)  --early-stopping N (20; 0 = off)  --nthread N (1)\n"
        "  --gap-weights     weight each training query by its oracle gap v(o) - min_t v(t), v = acc -\n"
        "                    lambda*cost (the loss the audit's data-dependent regret bound charges)\n"
        "LIBLINEAR:\n"
        "  --solver NAME (L2R_LR; also L2R_L2LOSS_SVC_DUAL, L2R_L2LOSS_SVC, L2R_L1LOSS_SVC_DUAL,\n"
        "                 MCSVM_CS, L1R_L2LOSS_SVC, L1R_LR, L2R_LR_DUAL)\n"
        "  --C X (default: chosen by k-fold CV over powers of 2 in [--C-min 1/64, --C-max 64])\n"
        "  value target: L2R_L2LOSS_SVR (p = 0) per tier, C per tier by out-of-fold squared error,\n"
        "                 predictions clipped to [0,1]; --solver and --C-search do not apply\n"
        "  --C-search grid|liblinear  grid (default): the seeded folds over [--C-min, --C-max];\n"
        "                 liblinear: LIBLINEAR's find_parameters from --C-min (L2R_LR, L2R_L2LOSS_SVC)\n"
        "  --eps X  --bias X (1; < 0 = none)\n"
        "\n%s",
        allot_cli_exit_codes_help);
}

static int parse_double(const char *s, double *out) {
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e == s || *e || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int *out) {
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < -2147483647L || v > 2147483647L) return -1;
    *out = (int)v;
    return 0;
}

enum {
    O_BUDGET = 256,
    O_OUT,
    O_LEARNER,
    O_RULE,
    O_TEST,
    O_FOLDS,
    O_SEED,
    O_FEATURES,
    O_META,
    O_HASH,
    O_JSON,
    O_QUIET,
    O_ROUNDS,
    O_DEPTH,
    O_ETA,
    O_SUBSAMPLE,
    O_MCW,
    O_LAMBDA,
    O_ES,
    O_NTHREAD,
    O_SOLVER,
    O_C,
    O_CMIN,
    O_CMAX,
    O_EPS,
    O_BIAS,
    O_CW,
    O_CSEARCH,
    O_GAPW,
    O_NOVAL,
    O_TARGET,
    O_HELP
};

int allot_cmd_train(int argc, char **argv) {
    static const struct option longopts[] = {{"budget", required_argument, 0, O_BUDGET},
                                             {"out", required_argument, 0, O_OUT},
                                             {"learner", required_argument, 0, O_LEARNER},
                                             {"rule", required_argument, 0, O_RULE},
                                             {"test-fraction", required_argument, 0, O_TEST},
                                             {"folds", required_argument, 0, O_FOLDS},
                                             {"seed", required_argument, 0, O_SEED},
                                             {"features", required_argument, 0, O_FEATURES},
                                             {"meta-features", required_argument, 0, O_META},
                                             {"hash-dim", required_argument, 0, O_HASH},
                                             {"json", no_argument, 0, O_JSON},
                                             {"quiet", no_argument, 0, O_QUIET},
                                             {"rounds", required_argument, 0, O_ROUNDS},
                                             {"max-depth", required_argument, 0, O_DEPTH},
                                             {"eta", required_argument, 0, O_ETA},
                                             {"subsample", required_argument, 0, O_SUBSAMPLE},
                                             {"min-child-weight", required_argument, 0, O_MCW},
                                             {"lambda", required_argument, 0, O_LAMBDA},
                                             {"early-stopping", required_argument, 0, O_ES},
                                             {"nthread", required_argument, 0, O_NTHREAD},
                                             {"solver", required_argument, 0, O_SOLVER},
                                             {"C", required_argument, 0, O_C},
                                             {"C-min", required_argument, 0, O_CMIN},
                                             {"C-max", required_argument, 0, O_CMAX},
                                             {"eps", required_argument, 0, O_EPS},
                                             {"bias", required_argument, 0, O_BIAS},
                                             {"class-weights", required_argument, 0, O_CW},
                                             {"C-search", required_argument, 0, O_CSEARCH},
                                             {"gap-weights", no_argument, 0, O_GAPW},
                                             {"no-validation", no_argument, 0, O_NOVAL},
                                             {"target", required_argument, 0, O_TARGET},
                                             {"help", no_argument, 0, O_HELP},
                                             {0, 0, 0, 0}};
    allot_train_options o;
    allot_train_options_default(&o);
    o.progress = 1;
    const char *out = NULL;
    int json = 0, have_budget = 0, ival;
    double dval;
    char msg[256];
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
#define NEED_D(field, cond, what, desc)                                                                      \
    do {                                                                                                     \
        if (parse_double(optarg, &dval) || !(cond)) {                                                        \
            snprintf(msg, sizeof msg, "--%s: expected %s, got '%s'", what, desc, optarg);                    \
            return allot_cli_usage_error(CMD, msg);                                                          \
        }                                                                                                    \
        field = dval;                                                                                        \
    } while (0)
#define NEED_I(field, cond, what, desc)                                                                      \
    do {                                                                                                     \
        if (parse_int(optarg, &ival) || !(cond)) {                                                           \
            snprintf(msg, sizeof msg, "--%s: expected %s, got '%s'", what, desc, optarg);                    \
            return allot_cli_usage_error(CMD, msg);                                                          \
        }                                                                                                    \
        field = ival;                                                                                        \
    } while (0)
        switch (ch) {
        case 'h':
        case O_HELP: help(stdout); return ALLOT_EXIT_OK;
        case O_BUDGET:
            NEED_D(o.budget, dval >= 0, "budget", "a finite number >= 0");
            have_budget = 1;
            break;
        case O_OUT: out = optarg; break;
        case O_LEARNER:
            if (!strcmp(optarg, "xgboost"))
                o.learner = ALLOT_LEARNER_XGBOOST;
            else if (!strcmp(optarg, "liblinear"))
                o.learner = ALLOT_LEARNER_LIBLINEAR;
            else
                return allot_cli_usage_error(CMD, "--learner must be xgboost or liblinear");
            break;
        case O_RULE:
            if (!strcmp(optarg, "calibrated"))
                o.rule = ALLOT_DECISION_CALIBRATED;
            else if (!strcmp(optarg, "argmax"))
                o.rule = ALLOT_DECISION_ARGMAX;
            else
                return allot_cli_usage_error(CMD, "--rule must be calibrated or argmax");
            break;
        case O_TARGET:
            if (!strcmp(optarg, "tier"))
                o.target = ALLOT_TARGET_TIER_LABEL;
            else if (!strcmp(optarg, "value"))
                o.target = ALLOT_TARGET_TIER_VALUE;
            else
                return allot_cli_usage_error(CMD, "--target must be tier or value");
            break;
        case O_TEST:
            NEED_D(o.test_fraction, dval >= 0 && dval < 1, "test-fraction", "a number in [0, 1)");
            break;
        case O_FOLDS: NEED_I(o.folds, ival >= 2, "folds", "an integer >= 2"); break;
        case O_SEED: {
            char *e;
            errno = 0;
            unsigned long long v = strtoull(optarg, &e, 10);
            if (errno || e == optarg || *e)
                return allot_cli_usage_error(CMD, "--seed: expected a non-negative integer");
            o.seed = (uint64_t)v;
            break;
        }
        case O_FEATURES: o.features = optarg; break;
        case O_META: o.meta_features = optarg; break;
        case O_HASH:
            NEED_I(o.hash_dim, ival >= 0 && (unsigned)ival <= ALLOT_FEATURES_MAX_HASH_DIM, "hash-dim",
                   "an integer in 0..1048576");
            break;
        case O_JSON: json = 1; break;
        case O_QUIET: o.progress = 0; break;
        case O_ROUNDS: NEED_I(o.xgb.rounds, ival >= 1, "rounds", "an integer >= 1"); break;
        case O_DEPTH:
            NEED_I(o.xgb.max_depth, ival >= 1 && ival <= 32, "max-depth", "an integer in 1..32");
            break;
        case O_ETA: NEED_D(o.xgb.eta, dval > 0 && dval <= 1, "eta", "a number in (0, 1]"); break;
        case O_SUBSAMPLE:
            NEED_D(o.xgb.subsample, dval > 0 && dval <= 1, "subsample", "a number in (0, 1]");
            break;
        case O_MCW: NEED_D(o.xgb.min_child_weight, dval >= 0, "min-child-weight", "a number >= 0"); break;
        case O_LAMBDA: NEED_D(o.xgb.reg_lambda, dval >= 0, "lambda", "a number >= 0"); break;
        case O_ES: NEED_I(o.xgb.early_stopping, ival >= 0, "early-stopping", "an integer >= 0"); break;
        case O_NTHREAD: NEED_I(o.xgb.nthread, ival >= 1, "nthread", "an integer >= 1"); break;
        case O_SOLVER:
            o.linear.solver = allot_linear_solver_parse(optarg);
            if (o.linear.solver < 0)
                return allot_cli_usage_error(CMD, "--solver: unknown LIBLINEAR classification solver");
            break;
        case O_C: NEED_D(o.linear.C, dval > 0, "C", "a number > 0"); break;
        case O_CMIN: NEED_D(o.linear.c_min, dval > 0, "C-min", "a number > 0"); break;
        case O_CMAX: NEED_D(o.linear.c_max, dval > 0, "C-max", "a number > 0"); break;
        case O_EPS: NEED_D(o.linear.eps, dval > 0, "eps", "a number > 0"); break;
        case O_BIAS: NEED_D(o.linear.bias, 1, "bias", "a number"); break;
        case O_GAPW: o.xgb.gap_weights = 1; break;
        case O_NOVAL: o.no_validation = 1; break;
        case O_CSEARCH:
            if (!strcmp(optarg, "grid"))
                o.linear.liblinear_search = 0;
            else if (!strcmp(optarg, "liblinear"))
                o.linear.liblinear_search = 1;
            else
                return allot_cli_usage_error(CMD, "--C-search must be grid or liblinear");
            break;
        case O_CW:
            if (!strcmp(optarg, "balanced"))
                o.linear.class_weights = o.xgb.class_weights = 1;
            else if (!strcmp(optarg, "none"))
                o.linear.class_weights = o.xgb.class_weights = 0;
            else
                return allot_cli_usage_error(CMD, "--class-weights must be balanced or none");
            break;
        default: return allot_cli_bad_option(CMD, ch, argv);
        }
#undef NEED_D
#undef NEED_I
    }
    if (optind != argc - 1) return allot_cli_usage_error(CMD, "expected exactly one CURVES file");
    if (!have_budget) return allot_cli_usage_error(CMD, "--budget is required");
    if (!out) return allot_cli_usage_error(CMD, "--out is required");
    if (o.linear.c_min > o.linear.c_max) return allot_cli_usage_error(CMD, "--C-min must be <= --C-max");
    if (o.learner == ALLOT_LEARNER_LIBLINEAR && o.hash_dim == 0) o.linear.hashed = 0;
    if (o.target == ALLOT_TARGET_TIER_VALUE && (o.xgb.gap_weights || o.linear.liblinear_search))
        return allot_cli_usage_error(CMD,
                                     "--gap-weights and --C-search liblinear apply to --target tier only");
    const char *path = argv[optind];

    allot_error err = {0};
    allot_curves *c = NULL;
    allot_status st = allot_curves_read(path, &c, &err);
    if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
    allot_train_report r;
    st = allot_train(c, path, &o, out, &r, &err);
    allot_curves_free(c);
    if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);

    const char *lname = o.learner == ALLOT_LEARNER_XGBOOST ? "xgboost" : "liblinear";
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "policy", out);
        cJSON_AddStringToObject(j, "learner", r.n_classes == 1 ? "constant" : lname);
        cJSON_AddNumberToObject(j, "budget", o.budget);
        cJSON_AddStringToObject(j, "target", o.target == ALLOT_TARGET_TIER_VALUE ? "value" : "tier");
        cJSON_AddStringToObject(j, "rule", o.rule == ALLOT_DECISION_ARGMAX ? "argmax" : "calibrated");
        cJSON_AddNumberToObject(j, "queries", (double)r.n_queries);
        cJSON_AddNumberToObject(j, "train", (double)r.n_train);
        cJSON_AddNumberToObject(j, "test", (double)r.n_test);
        cJSON_AddNumberToObject(j, "tiers", (double)r.n_tiers);
        cJSON_AddNumberToObject(j, "classes", (double)r.n_classes);
        cJSON_AddNumberToObject(j, "oracle_lambda", r.oracle_lambda);
        cJSON_AddNumberToObject(j, "oracle_train_acc", r.oracle_train_acc);
        cJSON_AddNumberToObject(j, "oracle_train_cost", r.oracle_train_cost);
        cJSON_AddNumberToObject(j, "cv_imitation_argmax", r.cv_imitation);
        cJSON_AddNumberToObject(j, "cv_imitation_calibrated", r.cv_imitation_calibrated);
        cJSON_AddNumberToObject(j, "oof_cost_argmax", r.oof_cost_argmax);
        cJSON_AddNumberToObject(j, "oof_cost_calibrated", r.oof_cost_calibrated);
        cJSON_AddNumberToObject(j, "mu", r.mu);
        if (o.learner == ALLOT_LEARNER_LIBLINEAR)
            cJSON_AddNumberToObject(j, "C", r.chosen_C);
        else
            cJSON_AddNumberToObject(j, "rounds", r.rounds_used);
        cJSON_AddNumberToObject(j, "test_oracle_acc", r.test_oracle_acc);
        cJSON_AddNumberToObject(j, "test_oracle_cost", r.test_oracle_cost);
        cJSON_AddNumberToObject(j, "test_imitation_argmax", r.test_imitation_argmax);
        cJSON_AddNumberToObject(j, "test_imitation_calibrated", r.test_imitation_calibrated);
        cJSON_AddNumberToObject(j, "test_acc_argmax", r.test_acc_argmax);
        cJSON_AddNumberToObject(j, "test_cost_argmax", r.test_cost_argmax);
        cJSON_AddNumberToObject(j, "test_acc_calibrated", r.test_acc_calibrated);
        cJSON_AddNumberToObject(j, "test_cost_calibrated", r.test_cost_calibrated);
        if (r.runtime_parity >= 0)
            cJSON_AddBoolToObject(j, "runtime_parity", r.runtime_parity);
        else
            cJSON_AddNullToObject(j, "runtime_parity");
        cJSON_AddNumberToObject(j, "seconds", r.seconds);
        char *s = cJSON_Print(j);
        if (s) printf("%s\n", s);
        free(s);
        cJSON_Delete(j);
    } else {
        int v = o.target == ALLOT_TARGET_TIER_VALUE;
        printf("policy %s (%s%s, rule %s) trained on %zu of %zu queries (%zu held out), %zu tiers, %zu "
               "classes\n",
               out, lname, v ? " value regressors" : "",
               v ? (o.rule == ALLOT_DECISION_ARGMAX ? "value, lambda 0" : "value")
                 : (o.rule == ALLOT_DECISION_ARGMAX ? "argmax" : "calibrated"),
               r.n_train, r.n_queries, r.n_test, r.n_tiers, r.n_classes);
        if (v)
            printf("(value target: 'argmax' = the value rule at lambda 0, 'calibrated' = at the calibrated "
                   "lambda)\n");
        if (r.n_classes == 1)
            printf("constant policy          the oracle picked one tier for the whole training pool: nothing "
                   "to learn\n");
        else if (v)
            printf("per-tier C / rounds      see provenance.learner_params\n");
        else if (o.learner == ALLOT_LEARNER_LIBLINEAR)
            printf("C (by %d-fold CV)        %g\n", o.folds, r.chosen_C);
        else
            printf("boosting rounds          %d\n", r.rounds_used);
        printf("oracle on training pool  acc %.4f  cost %.4f  lambda %.6g\n", r.oracle_train_acc,
               r.oracle_train_cost, r.oracle_lambda);
        printf("%-24s %10s %10s\n", "", "argmax", "calibrated");
        printf("%-24s %10.4f %10.4f\n", "CV imitation accuracy", r.cv_imitation, r.cv_imitation_calibrated);
        printf("%-24s %10.4f %10.4f\n", "CV mean cost", r.oof_cost_argmax, r.oof_cost_calibrated);
        printf("%-24s %10.4f %10.4f   (oracle %.4f)\n", "held-out accuracy", r.test_acc_argmax,
               r.test_acc_calibrated, r.test_oracle_acc);
        printf("%-24s %10.4f %10.4f   (budget %g)\n", "held-out mean cost", r.test_cost_argmax,
               r.test_cost_calibrated, o.budget);
        printf("%-24s %10.4f %10.4f\n", "held-out imitation", r.test_imitation_argmax,
               r.test_imitation_calibrated);
        printf("%-24s %.6g\n", v ? "lambda (value price)" : "mu (calibrated price)", r.mu);
        printf("runtime parity           %s\n", r.runtime_parity > 0    ? "same tier on every held-out query"
                                                : r.runtime_parity == 0 ? "MISMATCH"
                                                                        : "not checked");
        printf("seconds                  %.2f\n", r.seconds);
    }
    return ALLOT_EXIT_OK;
}
