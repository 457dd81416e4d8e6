/* allot train - curves -> a policy bundle (XGBoost or LIBLINEAR) imitating the budgeted oracle. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "allot/allot_features.h"
#include "cli.h"
#include "cli_opts.h"
#include "curves.h"
#include "learn.h"
#include "allot_limits.h"
#include "linear_learner.h"
#include "seq_select.h"
#include "seq_train.h"
#include "select.h"

static const char *const CMD = "train";

static const char train_usage[] =
    "Usage: allot train CURVES|RUNS --budget B --out POLICY.json [options]\n"
    "\n"
    "Label each training query with the exact oracle's tier at mean budget B, learn a classifier\n"
    "that predicts it from cheap features (the runtime's featuriser), calibrate its decision rule\n"
    "to the budget, and write a policy bundle (docs/policy-bundle.md) atomically.\n"
    "\n"
    "Without --learner and --target: the default policy selection. Tier and value policies with each\n"
    "learner and the uniform policy (the uniform mix at B chosen on the training pool) are trained on\n"
    "the same split; each one's out-of-fold gain over uniform at B gets a 95% paired bootstrap\n"
    "interval; the best candidate whose interval lies above zero is shipped, else the uniform policy\n"
    "(a constant or mixture bundle), and the choice is printed and recorded in the provenance.\n"
    "With --learner or --target exactly that one policy is trained.\n"
    "\n"
    "Given LABELLED RUNS instead of curves (docs/sequential.md), the selection also trains a sequential\n"
    "policy with each learner (it stops or draws more samples as the votes come in) on a ladder of\n"
    "stages (--stages; default: the file's one model, majority vote, k = 1, 2, 4, ... up to the\n"
    "smallest pool), and the static candidates on the curves of the ladder's tiers. On labelled runs\n"
    "--learner (or --test-part) trains exactly one sequential policy.\n"
    "\n"
    "Options:\n"
    "  --budget B             mean cost per query (required)\n"
    "  -o, --out PATH         policy bundle to write (required)\n"
    "  --learner NAME         xgboost or liblinear (default: the selection; with --target alone: xgboost)\n"
    "  --target NAME          tier (a classifier of the oracle's tier; with --learner alone) or value (one\n"
    "                         regressor per tier predicts the query's accuracy there; the value\n"
    "                         rule argmax_t acc_hat_t - lambda*cost_t, lambda >= 0 meets B)\n"
    "  --rule NAME            calibrated (default: argmax log p - mu*cost, mu of any sign meets B;\n"
    "                         value target: the value rule at the calibrated lambda) or argmax\n"
    "                         (value target: the value rule at lambda 0)\n"
    "  --test-fraction F      held out for `allot audit`, never trained on (default 0.2; 0 = train on\n"
    "                         everything, then audit on another file)\n"
    "  --test-part I/K        hold out part I (0-based) of a seeded K-part partition instead of\n"
    "                         --test-fraction; training I = 0..K-1 holds every query out once\n"
    "                         (cross-fitting; on labelled runs: one sequential policy)\n"
    "  --folds K              k-fold cross-validation on the rest (default 5, at most 1000)\n"
    "  --seed S               split and learner seed, 0 .. 2^64-1 (default 1)\n"
    "  --features a,b         record features to use (default: all of the curves file's; '' = none);\n"
    "                         the file's vector feature (an embedding) is a dense block of its dimension\n"
    "  --meta-features a,b    meta fields to use as features (default none): a field holding strings is\n"
    "                         categorical (one-hot over the training values; unseen -> all zero), else\n"
    "                         numeric; force with name:category or name:number (\"Level 5\" -> 5)\n"
    "  --hash-dim N           hashed n-gram dimension for liblinear (default 4096; 0 = off)\n"
    "  --class-weights W      none (default), balanced (each class weighs the same in training) or\n"
    "                         sqrt (the square root of balanced); tier target, both learners\n"
    "  --label-ties T         pool (default: a query on which several tiers are equally accurate is\n"
    "                         labelled with the one a user would pick: the best training-pool mean\n"
    "                         accuracy on the uniform frontier within B) or oracle (the oracle's own\n"
    "                         tier, the cheapest of them)\n"
    "  --no-validation        leave the training pool's out-of-fold probabilities out of the bundle\n"
    "                         (smaller for large data; the audit then uses in-sample predictions)\n"
    "  --json                 one JSON document on stdout instead of the table\n"
    "  --quiet                no progress on stderr\n"
    "  -h, --help             this text\n"
    "  -V, --version          print the version\n"
    "XGBoost:\n"
    "  --rounds N (200, at most 100000)  --max-depth N (4, at most 32)  --eta X (0.1)  --subsample X (0.8)\n"
    "  --min-child-weight X (1)  --lambda X (1)  --early-stopping N (20; 0 = off)\n"
    "  --nthread N (1, at most 256; also caps LIBLINEAR's cross-validation threads, every online core\n"
    "              by default; results never depend on it)\n"
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
    "Sequential policies (docs/sequential.md; the input is LABELLED RUNS): the policy decides after each\n"
    "stage of samples whether to stop or draw the next stage:\n"
    "  --stages SPEC         the ladder, e.g. majority@1,2,4,8,16 or 'small:majority@1,2 > "
    "large:majority@1,2'\n"
    "  --orderings N         seeded orderings of each training query's samples (default 8)\n"
    "  --continuations N     continuations per row for the expected accuracies of later stages (default 16)\n"
    "  --prompt-features     let the prompt's built-in text features join the state (default off)\n"
    "  (--features / --meta-features add record features; XGBoost defaults --max-depth 3\n"
    "   --min-child-weight 10; LIBLINEAR fits L2R_L2LOSS_SVR with --C, default 1)\n"
    "\n";

enum {
    O_BUDGET = 256,
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
    O_TIES,
    O_STAGES,
    O_ORDERINGS,
    O_CONTS,
    O_TESTPART,
    O_PROMPTF,
    O_END
};

/* What the command line sets: the library's options and the command's own. */
typedef struct train_cli {
    allot_train_options o;
    allot_sq_train_options sq; /* with --stages */
    const char *out, *stages;
    int json, have_budget;
    unsigned char set[O_END - O_BUDGET]; /* options given on the command line */
    int explicit_policy;                 /* --learner or --target: train exactly that one, no selection */
    int runs_input;                      /* the input is labelled runs (not a curves file) */
} train_cli;

/* XGBoost's and LIBLINEAR's parameters. */
static int set_learner_option(train_cli *t, int ch, const char *arg) {
    static const char *const searches[] = {"grid", "liblinear", NULL};
    allot_xgb_params *x = &t->o.xgb;
    allot_linear_params *l = &t->o.linear;
    int k = 0, rc = 0;
    switch (ch) {
    case O_ROUNDS: return allot_opt_int(CMD, "--rounds", arg, 1, ALLOT_MAX_ROUNDS, &x->rounds);
    case O_DEPTH: return allot_opt_int(CMD, "--max-depth", arg, 1, 32, &x->max_depth);
    case O_ETA: return allot_opt_number(CMD, "--eta", arg, ALLOT_OPT_FRACTION, &x->eta);
    case O_SUBSAMPLE: return allot_opt_number(CMD, "--subsample", arg, ALLOT_OPT_FRACTION, &x->subsample);
    case O_MCW:
        return allot_opt_number(CMD, "--min-child-weight", arg, ALLOT_OPT_NONNEG, &x->min_child_weight);
    case O_LAMBDA: return allot_opt_number(CMD, "--lambda", arg, ALLOT_OPT_NONNEG, &x->reg_lambda);
    case O_ES: return allot_opt_int(CMD, "--early-stopping", arg, 0, ALLOT_MAX_ROUNDS, &x->early_stopping);
    case O_NTHREAD: return allot_opt_int(CMD, "--nthread", arg, 1, ALLOT_MAX_THREADS, &x->nthread);
    case O_GAPW: x->gap_weights = 1; return 0;
    case O_SOLVER:
        l->solver = allot_linear_solver_parse(arg);
        if (l->solver >= 0) return 0;
        char msg[160];
        snprintf(msg, sizeof msg, "--solver: not a LIBLINEAR classification solver: '%.80s'", arg);
        return allot_cli_usage_error(CMD, msg);
    case O_C: return allot_opt_number(CMD, "--C", arg, ALLOT_OPT_POSITIVE, &l->C);
    case O_CMIN: return allot_opt_number(CMD, "--C-min", arg, ALLOT_OPT_POSITIVE, &l->c_min);
    case O_CMAX: return allot_opt_number(CMD, "--C-max", arg, ALLOT_OPT_POSITIVE, &l->c_max);
    case O_EPS: return allot_opt_number(CMD, "--eps", arg, ALLOT_OPT_POSITIVE, &l->eps);
    case O_BIAS: return allot_opt_number(CMD, "--bias", arg, ALLOT_OPT_FINITE, &l->bias);
    case O_CSEARCH:
        if (!(rc = allot_opt_choice(CMD, "--C-search", arg, searches, &k))) l->liblinear_search = k;
        return rc;
    }
    return allot_cli_usage_error(CMD, "internal: unhandled option");
}

/* "I/K": hold out part I of K (0 <= I < K, 2 <= K <= 1000). */
static int parse_test_part(const char *arg, int *part, int *parts) {
    int i, k, used = 0;
    if (sscanf(arg, "%d/%d%n", &i, &k, &used) != 2 || arg[used] || k < 2 || k > 1000 || i < 0 || i >= k) {
        char msg[160];
        snprintf(msg, sizeof msg, "--test-part: expected I/K with 0 <= I < K, 2 <= K <= 1000: '%.60s'", arg);
        return allot_cli_usage_error(CMD, msg);
    }
    *part = i;
    *parts = k;
    return 0;
}

/* One option's value (0, or the usage error's exit code). */
static int set_option(train_cli *t, int ch, const char *arg) {
    static const char *const learners[] = {"xgboost", "liblinear", NULL};
    static const allot_learner_kind learner_of[] = {ALLOT_LEARNER_XGBOOST, ALLOT_LEARNER_LIBLINEAR};
    static const char *const rules[] = {"calibrated", "argmax", NULL};
    static const allot_rule rule_of[] = {ALLOT_RULE_CALIBRATED, ALLOT_RULE_ARGMAX};
    static const char *const targets[] = {"tier", "value", NULL};
    static const allot_train_target target_of[] = {ALLOT_TARGET_TIER_LABEL, ALLOT_TARGET_TIER_VALUE};
    static const char *const weights[] = {"balanced", "none", "sqrt", NULL};
    static const int weight_of[] = {ALLOT_WEIGHTS_BALANCED, ALLOT_WEIGHTS_NONE, ALLOT_WEIGHTS_SQRT};
    static const char *const ties[] = {"pool", "oracle", NULL};
    static const allot_label_ties ties_of[] = {ALLOT_TIES_POOL, ALLOT_TIES_ORACLE};
    allot_train_options *o = &t->o;
    int k = 0, rc = 0;
    switch (ch) {
    case O_BUDGET: t->have_budget = 1; return allot_opt_budget(CMD, "--budget", arg, &o->budget);
    case 'o': t->out = arg; return 0;
    case O_LEARNER:
        t->explicit_policy = 1;
        if (!(rc = allot_opt_choice(CMD, "--learner", arg, learners, &k))) o->learner = learner_of[k];
        return rc;
    case O_RULE:
        if (!(rc = allot_opt_choice(CMD, "--rule", arg, rules, &k))) o->rule = rule_of[k];
        return rc;
    case O_TARGET:
        t->explicit_policy = 1;
        if (!(rc = allot_opt_choice(CMD, "--target", arg, targets, &k))) o->target = target_of[k];
        return rc;
    case O_TEST:
        return allot_opt_number(CMD, "--test-fraction", arg, (allot_opt_range){0, 1, 0, 1},
                                &o->test_fraction);
    case O_FOLDS: return allot_opt_int(CMD, "--folds", arg, 2, ALLOT_MAX_FOLDS, &o->folds);
    case O_SEED: return allot_opt_seed(CMD, "--seed", arg, &o->seed);
    case O_FEATURES: o->features = arg; return 0;
    case O_META: o->meta_features = arg; return 0;
    case O_HASH:
        if (!(rc = allot_opt_int(CMD, "--hash-dim", arg, 0, (int)ALLOT_FEATURES_MAX_HASH_DIM, &k)))
            o->hash_dim = (uint32_t)k;
        return rc;
    case O_CW:
        if (!(rc = allot_opt_choice(CMD, "--class-weights", arg, weights, &k)))
            o->linear.class_weights = o->xgb.class_weights = weight_of[k];
        return rc;
    case O_TIES:
        if (!(rc = allot_opt_choice(CMD, "--label-ties", arg, ties, &k))) o->label_ties = ties_of[k];
        return rc;
    case O_JSON: t->json = 1; return 0;
    case O_QUIET: o->progress = 0; return 0;
    case O_NOVAL: o->no_validation = 1; return 0;
    case O_STAGES: t->stages = arg; return 0;
    case O_ORDERINGS: return allot_opt_int(CMD, "--orderings", arg, 1, 1024, &t->sq.orderings);
    case O_CONTS: return allot_opt_int(CMD, "--continuations", arg, 1, 4096, &t->sq.continuations);
    case O_TESTPART:
        if ((rc = parse_test_part(arg, &t->sq.test_part, &t->sq.test_parts))) return rc;
        o->test_part = t->sq.test_part;
        o->test_parts = t->sq.test_parts;
        return 0;
    case O_PROMPTF: t->sq.prompt_features = 1; return 0;
    }
    return set_learner_option(t, ch, arg);
}

/* One sequential policy (not the selection): labelled runs with --learner, or --test-part. */
static int one_sequential(const train_cli *t) {
    return t->runs_input && (t->explicit_policy || t->set[O_TESTPART - O_BUDGET]);
}

/* Options that do not apply to what the input and the options ask for. */
static int check_family(const train_cli *t, const char *path) {
    static const int static_only[] = {O_TARGET, O_RULE, O_HASH, O_CW,      O_GAPW, O_NOVAL,
                                      O_SOLVER, O_CMIN, O_CMAX, O_CSEARCH, O_TIES};
    static const int seq_only[] = {O_STAGES, O_ORDERINGS, O_CONTS, O_PROMPTF};
    static const char *const static_names[] = {
        "--target", "--rule",  "--hash-dim", "--class-weights", "--gap-weights", "--no-validation",
        "--solver", "--C-min", "--C-max",    "--C-search",      "--label-ties"};
    static const char *const seq_names[] = {"--stages", "--orderings", "--continuations",
                                            "--prompt-features"};
    char msg[320];
    if (t->set[O_TESTPART - O_BUDGET] && t->set[O_TEST - O_BUDGET])
        return allot_cli_usage_error(CMD, "--test-part and --test-fraction exclude each other: give one");
    if (t->runs_input && t->set[O_TARGET - O_BUDGET]) {
        snprintf(msg, sizeof msg,
                 "--target trains one static policy on curves: compute them first (allot curves %.80s "
                 "--tiers SPEC --out C), or drop --target for the default selection",
                 path);
        return allot_cli_usage_error(CMD, msg);
    }
    for (size_t i = 0; one_sequential(t) && i < sizeof static_only / sizeof *static_only; i++)
        if (t->set[static_only[i] - O_BUDGET]) {
            snprintf(msg, sizeof msg, "%s applies to static policies, not to one sequential policy",
                     static_names[i]);
            return allot_cli_usage_error(CMD, msg);
        }
    for (size_t i = 0; !t->runs_input && i < sizeof seq_only / sizeof *seq_only; i++)
        if (t->set[seq_only[i] - O_BUDGET]) {
            snprintf(msg, sizeof msg,
                     "%s applies to sequential policies: its input is labelled runs, and %.80s "
                     "is a curves file",
                     seq_names[i], path);
            return allot_cli_usage_error(CMD, msg);
        }
    return 0;
}

/* What no single option can check. */
static int check_options(train_cli *t, int n_args) {
    allot_train_options *o = &t->o;
    if (n_args != 1) return allot_cli_usage_error(CMD, "expected exactly one CURVES or labelled-runs file");
    if (!t->have_budget) return allot_cli_usage_error(CMD, "--budget is required");
    if (!t->out) return allot_cli_usage_error(CMD, "--out is required");
    if (o->linear.c_min > o->linear.c_max) return allot_cli_usage_error(CMD, "--C-min must be <= --C-max");
    if (o->learner == ALLOT_LEARNER_LIBLINEAR && o->hash_dim == 0) o->linear.hashed = 0;
    if (t->set[O_NTHREAD - O_BUDGET]) o->linear.threads = o->xgb.nthread; /* else every online core */
    if (o->target == ALLOT_TARGET_TIER_VALUE && (o->xgb.gap_weights || o->linear.liblinear_search))
        return allot_cli_usage_error(CMD,
                                     "--gap-weights and --C-search liblinear apply to --target tier only");
    return 0;
}

/* A number, or null when it was not computed (NaN: no held-out queries). */
static void add_num(cJSON *j, const char *key, double v) {
    if (isfinite(v))
        cJSON_AddNumberToObject(j, key, v);
    else
        cJSON_AddNullToObject(j, key);
}

static void print_json(const train_cli *t, const allot_train_report *r, const allot_uniform_gain *g) {
    const char *lname = t->o.learner == ALLOT_LEARNER_XGBOOST ? "xgboost" : "liblinear";
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "policy", t->out);
    cJSON_AddStringToObject(j, "learner", r->n_classes == 1 ? "constant" : lname);
    cJSON_AddNumberToObject(j, "budget", t->o.budget);
    cJSON_AddStringToObject(j, "target", t->o.target == ALLOT_TARGET_TIER_VALUE ? "value" : "tier");
    cJSON_AddStringToObject(j, "rule", t->o.rule == ALLOT_RULE_ARGMAX ? "argmax" : "calibrated");
    cJSON_AddNumberToObject(j, "queries", (double)r->n_queries);
    cJSON_AddNumberToObject(j, "train", (double)r->n_train);
    cJSON_AddNumberToObject(j, "test", (double)r->n_test);
    cJSON_AddNumberToObject(j, "tiers", (double)r->n_tiers);
    cJSON_AddNumberToObject(j, "classes", (double)r->n_classes);
    cJSON_AddNumberToObject(j, "oracle_lambda", r->oracle_lambda);
    cJSON_AddNumberToObject(j, "oracle_train_acc", r->oracle_train_acc);
    cJSON_AddNumberToObject(j, "oracle_train_cost", r->oracle_train_cost);
    cJSON_AddNumberToObject(j, "cv_imitation_argmax", r->cv_imitation);
    cJSON_AddNumberToObject(j, "cv_imitation_calibrated", r->cv_imitation_calibrated);
    cJSON_AddNumberToObject(j, "oof_cost_argmax", r->oof_cost_argmax);
    cJSON_AddNumberToObject(j, "oof_cost_calibrated", r->oof_cost_calibrated);
    cJSON_AddNumberToObject(j, "mu", r->mu);
    if (t->o.learner == ALLOT_LEARNER_LIBLINEAR)
        cJSON_AddNumberToObject(j, "C", r->chosen_C);
    else
        cJSON_AddNumberToObject(j, "rounds", r->rounds_used);
    cJSON *vu = cJSON_AddObjectToObject(j, "vs_uniform");
    add_num(vu, "uniform_acc", g->uniform_acc);
    add_num(vu, "uniform_cost", g->uniform_cost);
    add_num(vu, "oof_gain", g->gain);
    add_num(vu, "oof_gain_lo", g->gain_lo);
    add_num(vu, "oof_gain_hi", g->gain_hi);
    add_num(vu, "test_gain", g->test_gain);
    add_num(vu, "test_gain_lo", g->test_lo);
    add_num(vu, "test_gain_hi", g->test_hi);
    cJSON_AddBoolToObject(vu, "beats_uniform_out_of_fold", g->gain_lo > 0);
    add_num(j, "test_oracle_acc", r->test_oracle_acc);
    add_num(j, "test_oracle_cost", r->test_oracle_cost);
    add_num(j, "test_imitation_argmax", r->test_imitation_argmax);
    add_num(j, "test_imitation_calibrated", r->test_imitation_calibrated);
    add_num(j, "test_acc_argmax", r->test_acc_argmax);
    add_num(j, "test_cost_argmax", r->test_cost_argmax);
    add_num(j, "test_acc_calibrated", r->test_acc_calibrated);
    add_num(j, "test_cost_calibrated", r->test_cost_calibrated);
    if (r->runtime_parity >= 0)
        cJSON_AddBoolToObject(j, "runtime_parity", r->runtime_parity);
    else
        cJSON_AddNullToObject(j, "runtime_parity");
    cJSON_AddStringToObject(j, "runtime_parity_checked_on",
                            r->parity_on_training_pool ? "training pool (no held-out queries)"
                                                       : "held-out queries");
    cJSON_AddNumberToObject(j, "labels_moved", (double)r->labels_moved);
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    char *s = cJSON_Print(j);
    if (s) printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

/* The policy against the deployable uniform (its bundle's rule), and a warning when it does not win. */
static void print_vs_uniform(const allot_uniform_gain *g) {
    printf("uniform at B             acc %.4f  cost %.4f  (the uniform mix chosen on the training pool)\n",
           g->uniform_acc, g->uniform_cost);
    printf("out of fold vs uniform   %+.2f points [%+.2f, %+.2f]  (policy's cost %.4f)\n", 100 * g->gain,
           100 * g->gain_lo, 100 * g->gain_hi, g->oof_cost);
    if (!isnan(g->test_gain))
        printf("held out vs uniform      %+.2f points [%+.2f, %+.2f]\n", 100 * g->test_gain, 100 * g->test_lo,
               100 * g->test_hi);
    if (!(g->gain_lo > 0))
        printf("WARNING                  out of fold this policy does %s the uniform policy (95%% interval "
               "%s):\n"
               "                         `allot train` without --learner/--target ships the uniform\n"
               "                         policy in that case; audit this one (allot audit) before using it\n",
               g->gain_hi < 0 ? "WORSE than" : "not clearly beat",
               g->gain_hi < 0 ? "below zero" : "includes zero");
}

static void print_table(const train_cli *t, const allot_train_report *r, const allot_uniform_gain *g) {
    const char *lname = t->o.learner == ALLOT_LEARNER_XGBOOST ? "xgboost" : "liblinear";
    int v = t->o.target == ALLOT_TARGET_TIER_VALUE;
    printf("policy %s (%s%s, rule %s) trained on %zu of %zu queries (%zu held out), %zu tiers, %zu "
           "classes\n",
           t->out, lname, v ? " value regressors" : "",
           v ? (t->o.rule == ALLOT_RULE_ARGMAX ? "value, lambda 0" : "value")
             : (t->o.rule == ALLOT_RULE_ARGMAX ? "argmax" : "calibrated"),
           r->n_train, r->n_queries, r->n_test, r->n_tiers, r->n_classes);
    if (v)
        printf("(value target: 'argmax' = the value rule at lambda 0, 'calibrated' = at the calibrated "
               "lambda)\n");
    if (!v && r->labels_moved)
        printf(
            "labels                   %zu of %zu moved off the oracle's tier (ties: equally accurate tiers "
            "-> the one a user would pick)\n",
            r->labels_moved, r->n_train);
    if (r->n_classes == 1)
        printf("constant policy          the oracle picked one tier for the whole training pool: nothing "
               "to learn\n");
    else if (v)
        printf("per-tier C / rounds      see provenance.learner_params\n");
    else if (t->o.learner == ALLOT_LEARNER_LIBLINEAR)
        printf("C (by %d-fold CV)        %g\n", t->o.folds, r->chosen_C);
    else
        printf("boosting rounds          %d\n", r->rounds_used);
    printf("oracle on training pool  acc %.4f  cost %.4f  lambda %.6g\n", r->oracle_train_acc,
           r->oracle_train_cost, r->oracle_lambda);
    printf("%-24s %10s %10s\n", "", "argmax", "calibrated");
    printf("%-24s %10.4f %10.4f\n", "CV imitation accuracy", r->cv_imitation, r->cv_imitation_calibrated);
    printf("%-24s %10.4f %10.4f\n", "CV mean cost", r->oof_cost_argmax, r->oof_cost_calibrated);
    if (r->n_test) {
        printf("%-24s %10.4f %10.4f   (oracle %.4f)\n", "held-out accuracy", r->test_acc_argmax,
               r->test_acc_calibrated, r->test_oracle_acc);
        printf("%-24s %10.4f %10.4f   (budget %g)\n", "held-out mean cost", r->test_cost_argmax,
               r->test_cost_calibrated, t->o.budget);
        printf("%-24s %10.4f %10.4f\n", "held-out imitation", r->test_imitation_argmax,
               r->test_imitation_calibrated);
    } else {
        printf("held-out figures         none: --test-fraction 0 holds nothing out (evaluate the policy on "
               "another file with allot audit)\n");
    }
    printf("%-24s %.6g\n", v ? "lambda (value price)" : "mu (calibrated price)", r->mu);
    print_vs_uniform(g);
    printf("runtime parity           %s\n",
           r->runtime_parity <= 0       ? (r->runtime_parity == 0 ? "MISMATCH" : "not checked")
           : r->parity_on_training_pool ? "same tier on every training query (no held-out queries to check)"
                                        : "same tier on every held-out query");
    printf("seconds                  %.2f\n", r->seconds);
}

/* The shared options into the sequential trainer's (its own defaults where not given). */
static void sequential_options(train_cli *t) {
    allot_sq_train_options *q = &t->sq;
    const allot_train_options *o = &t->o;
    q->budget = o->budget;
    q->learner = o->learner;
    q->progress = o->progress;
    q->features = o->features;
    q->meta_features = o->meta_features;
    if (t->set[O_TEST - O_BUDGET]) q->test_fraction = o->test_fraction;
    if (t->set[O_FOLDS - O_BUDGET]) q->folds = o->folds;
    if (t->set[O_SEED - O_BUDGET]) q->seed = o->seed;
    const int xo[] = {O_ROUNDS, O_DEPTH, O_ETA, O_SUBSAMPLE, O_MCW, O_LAMBDA, O_ES, O_NTHREAD};
    allot_xgb_params d = q->xgb;
    for (size_t i = 0; i < sizeof xo / sizeof *xo; i++) { /* each XGBoost option given replaces the default */
        if (!t->set[xo[i] - O_BUDGET]) continue;
        d.rounds = xo[i] == O_ROUNDS ? o->xgb.rounds : d.rounds;
        d.max_depth = xo[i] == O_DEPTH ? o->xgb.max_depth : d.max_depth;
        d.eta = xo[i] == O_ETA ? o->xgb.eta : d.eta;
        d.subsample = xo[i] == O_SUBSAMPLE ? o->xgb.subsample : d.subsample;
        d.min_child_weight = xo[i] == O_MCW ? o->xgb.min_child_weight : d.min_child_weight;
        d.reg_lambda = xo[i] == O_LAMBDA ? o->xgb.reg_lambda : d.reg_lambda;
        d.early_stopping = xo[i] == O_ES ? o->xgb.early_stopping : d.early_stopping;
        d.nthread = xo[i] == O_NTHREAD ? o->xgb.nthread : d.nthread;
    }
    q->xgb = d;
    if (t->set[O_C - O_BUDGET]) q->linear.C = o->linear.C;
    if (t->set[O_EPS - O_BUDGET]) q->linear.eps = o->linear.eps;
    if (t->set[O_BIAS - O_BUDGET]) q->linear.bias = o->linear.bias;
}

/* The ladder: --stages, else the file's default (allot_sq_default_stages; "" for precomputed tiers). */
static allot_status ladder_of(const train_cli *t, const char *path, char spec[ALLOT_SQ_STAGES_MAX],
                              allot_error *err) {
    if (t->stages) {
        snprintf(spec, ALLOT_SQ_STAGES_MAX, "%s", t->stages);
        return ALLOT_OK;
    }
    char note[1024];
    allot_status st = allot_sq_default_stages(path, spec, note, sizeof note, err);
    if (!st && spec[0] && t->o.progress)
        fprintf(stderr, "ladder (default; choose with --stages): %s\n", spec);
    if (!st && note[0]) fprintf(stderr, "allot train: note: %s\n", note); /* also with --quiet */
    return st;
}

/* One sequential policy: labelled runs with --learner or --test-part. */
static int train_sequential(train_cli *t, const char *path) {
    char spec[ALLOT_SQ_STAGES_MAX];
    allot_error err = {0};
    if (ladder_of(t, path, spec, &err)) return allot_cli_fail(CMD, &err);
    if (!spec[0])
        return allot_cli_usage_error(CMD,
                                     "the labelled runs hold precomputed tiers, no samples: a sequential "
                                     "policy needs sampled runs (drop --learner for the default selection)");
    sequential_options(t);
    return allot_cli_train_sequential(&t->sq, path, spec, t->out, t->json);
}

/* ---- the default policy selection ------------------------------------------------------------- */

static void print_selection_json(const train_cli *t, const allot_selection *sel) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "policy", t->out);
    cJSON_AddStringToObject(j, "selection", "default");
    cJSON_AddNumberToObject(j, "budget", t->o.budget);
    cJSON_AddNumberToObject(j, "train", (double)sel->n_train);
    cJSON_AddNumberToObject(j, "test", (double)sel->n_test);
    cJSON_AddNumberToObject(j, "uniform_oof_acc", sel->uniform_acc);
    cJSON_AddNumberToObject(j, "uniform_oof_cost", sel->uniform_cost);
    cJSON *arr = cJSON_AddArrayToObject(j, "candidates");
    for (size_t k = 0; k < sel->n; k++) cJSON_AddItemToArray(arr, allot_candidate_json(&sel->c[k], 1));
    cJSON_AddStringToObject(j, "shipped", sel->c[sel->shipped].name);
    cJSON_AddStringToObject(j, "reason", sel->reason);
    cJSON_AddNumberToObject(j, "seconds", sel->seconds);
    char *s = cJSON_Print(j);
    if (s) printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

static void print_selection(const train_cli *t, const allot_selection *sel) {
    printf("policy %s: default selection at budget %g over %zu training queries (%zu held out)\n", t->out,
           t->o.budget, sel->n_train, sel->n_test);
    printf("reference: the uniform policy (the uniform mix at B chosen on the training pool): acc %.4f, cost "
           "%.4f\n\n",
           sel->uniform_acc, sel->uniform_cost);
    printf("%-20s %8s %9s  %-28s %-9s %-28s %7s\n", "candidate", "oof acc", "oof cost",
           "out-of-fold gain [95% CI]", "eligible", "held-out gain [95% CI]", "seconds");
    for (size_t k = 0; k < sel->n; k++) {
        const allot_candidate_result *r = &sel->c[k];
        if (r->status != ALLOT_OK) {
            printf("%-20s skipped: %s\n", r->name, r->error);
            continue;
        }
        char g[64], h[64] = "-";
        snprintf(g, sizeof g, "%+.4f [%+.4f, %+.4f]", r->gain, r->gain_lo, r->gain_hi);
        if (isfinite(r->test_gain))
            snprintf(h, sizeof h, "%+.4f [%+.4f, %+.4f]", r->test_gain, r->test_lo, r->test_hi);
        printf("%-20s %8.4f %9.3f  %-28s %-9s %-28s %7.1f\n", r->name, r->oof_acc, r->oof_cost, g,
               k + 1 == sel->n ? "reference"
               : r->eligible   ? "yes"
                               : "no",
               h, r->report.seconds);
    }
    const allot_candidate_result *w = &sel->c[sel->shipped];
    printf("\nshipped: %s - %s\n", w->name, sel->reason);
    if (isfinite(w->test_gain))
        printf("held-out check (not used to choose): %s - deployable uniform = %+.4f [%+.4f, %+.4f] on %zu "
               "queries: %s\n",
               w->name, w->test_gain, w->test_lo, w->test_hi, sel->n_test,
               w->test_hi < 0 ? "BELOW uniform" : "not below uniform");
    else
        printf("held-out check: none (--test-fraction 0)\n");
    printf("runtime parity           %s\n", w->report.runtime_parity > 0
                                                ? "same decisions on every checked query"
                                            : w->report.runtime_parity < 0 ? "not checked (nothing held out)"
                                                                           : "MISMATCH");
    printf("seconds                  %.2f\n", sel->seconds);
}

static int finish_selection(const train_cli *t, const allot_selection *sel, allot_status st,
                            allot_error *err) {
    if (st == ALLOT_OK && t->json)
        print_selection_json(t, sel);
    else if (st == ALLOT_OK)
        print_selection(t, sel);
    return st == ALLOT_OK ? ALLOT_EXIT_OK : allot_cli_fail(CMD, err);
}

/* The default selection on a curves file: the static candidates and the uniform policy. */
static int run_selection(const train_cli *t, const allot_curves *c, const char *path) {
    const allot_candidate *cands;
    size_t n = allot_default_candidates(&cands);
    allot_selection sel;
    allot_error err = {0};
    allot_status st = allot_train_select(c, path, &t->o, cands, n, t->out, &sel, &err);
    int rc = finish_selection(t, &sel, st, &err);
    allot_selection_free(&sel);
    return rc;
}

enum { N_STATIC_MAX = 8 };

/* The default selection on labelled runs: the static candidates on the curves of the ladder's tiers,
 * a sequential policy with each learner, and the uniform policy (precomputed tiers: static only). */
static int run_selection_runs(train_cli *t, const char *path) {
    char spec[ALLOT_SQ_STAGES_MAX];
    allot_error err = {0};
    allot_tier_set ts = {0};
    allot_curves *c = NULL;
    int computed = 0;
    allot_status st = ladder_of(t, path, spec, &err);
    if (!st && spec[0]) st = allot_sq_stage_tiers(spec, &ts, &err);
    if (!st) st = allot_curves_load(path, &ts, t->o.progress, &c, &computed, &err);
    allot_tier_set_free(&ts);
    if (st) return allot_cli_fail(CMD, &err);
    sequential_options(t);
    allot_sq_candidate_arg ax = {path, spec, &t->sq, ALLOT_LEARNER_XGBOOST};
    allot_sq_candidate_arg al = {path, spec, &t->sq, ALLOT_LEARNER_LIBLINEAR};
    const allot_candidate *stat;
    size_t n = allot_default_candidates(&stat);
    allot_candidate cands[N_STATIC_MAX + 2];
    if (n > N_STATIC_MAX) n = N_STATIC_MAX;
    memcpy(cands, stat, n * sizeof *cands);
    if (spec[0]) {
        cands[n++] = (allot_candidate){"xgboost-sequential", allot_sq_candidate_train, &ax};
        cands[n++] = (allot_candidate){"liblinear-sequential", allot_sq_candidate_train, &al};
    }
    allot_selection sel;
    st = allot_train_select(c, path, &t->o, cands, n, t->out, &sel, &err);
    allot_curves_free(c);
    if (st == ALLOT_OK && !t->json && spec[0]) printf("ladder                   %s\n", spec);
    int rc = finish_selection(t, &sel, st, &err);
    allot_selection_free(&sel);
    return rc;
}

int allot_cmd_train(int argc, char **argv) {
    static const struct option longopts[] = {{"budget", required_argument, 0, O_BUDGET},
                                             {"out", required_argument, 0, 'o'},
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
                                             {"stages", required_argument, 0, O_STAGES},
                                             {"orderings", required_argument, 0, O_ORDERINGS},
                                             {"continuations", required_argument, 0, O_CONTS},
                                             {"test-part", required_argument, 0, O_TESTPART},
                                             {"prompt-features", no_argument, 0, O_PROMPTF},
                                             {"label-ties", required_argument, 0, O_TIES},
                                             {"help", no_argument, 0, 'h'},
                                             {"version", no_argument, 0, 'V'},
                                             {0, 0, 0, 0}};
    train_cli t;
    memset(&t, 0, sizeof t);
    allot_train_options_default(&t.o);
    allot_sq_train_options_default(&t.sq);
    t.o.progress = 1;
    optind = 1;
    opterr = 0;
    int ch, rc;
    while ((ch = getopt_long(argc, argv, ":hVo:", longopts, NULL)) != -1) {
        if (ch == 'h') return allot_cli_help(train_usage);
        if (ch == 'V') return allot_cli_version(CMD);
        if (ch == '?' || ch == ':') return allot_cli_bad_option(CMD, ch, argv);
        if ((rc = set_option(&t, ch, optarg))) return rc;
        if (ch >= O_BUDGET && ch < O_END) t.set[ch - O_BUDGET] = 1;
    }
    if ((rc = check_options(&t, argc - optind))) return rc;
    const char *path = argv[optind];
    allot_error err = {0};
    int is_curves = 0;
    if (allot_curves_sniff(path, &is_curves, &err)) return allot_cli_fail(CMD, &err);
    t.runs_input = !is_curves;
    if ((rc = check_family(&t, path))) return rc;
    if (one_sequential(&t)) return train_sequential(&t, path);
    if (t.runs_input) return run_selection_runs(&t, path);

    allot_curves *c = NULL;
    allot_status st = allot_curves_read(path, &c, &err);
    if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
    if (!t.explicit_policy) {
        int rc2 = run_selection(&t, c, path);
        allot_curves_free(c);
        return rc2;
    }
    allot_train_report r;
    allot_train_outcome oc;
    allot_uniform_gain g;
    memset(&oc, 0, sizeof oc);
    st = allot_train_ex(c, path, &t.o, t.out, &r, &oc, &err);
    if (st == ALLOT_OK) st = allot_outcome_vs_uniform(c, &oc, t.o.budget, t.o.seed, &g, &err);
    allot_train_outcome_free(&oc);
    allot_curves_free(c);
    if (st != ALLOT_OK) return allot_cli_fail(CMD, &err);
    if (t.json)
        print_json(&t, &r, &g);
    else
        print_table(&t, &r, &g);
    return ALLOT_EXIT_OK;
}
