/*
 * train.c - `allot train` (the pipeline of learn.h): one training context that every step reads
 * and fills, one function per step, one cleanup.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linear.h>

#include "allot/allot_policy.h"
#include "atomic_file.h"
#include "bundle.h"
#include "calibrate.h"
#include "dataset.h"
#include "fit.h"
#include "identity.h"
#include "learn.h"
#include "learn_internal.h"
#include "allot_limits.h"
#include "progress.h"
#include "provenance.h"

void allot_train_options_default(allot_train_options *o) {
    memset(o, 0, sizeof *o);
    o->budget = NAN;
    o->learner = ALLOT_LEARNER_XGBOOST;
    o->rule = ALLOT_RULE_CALIBRATED;
    o->label_ties = ALLOT_TIES_POOL;
    o->test_fraction = 0.2;
    o->folds = 5;
    o->seed = 1;
    o->hash_dim = 4096;
    o->xgb.rounds = 200;
    o->xgb.max_depth = 4;
    o->xgb.eta = 0.1;
    o->xgb.subsample = 0.8;
    o->xgb.min_child_weight = 1.0;
    o->xgb.reg_lambda = 1.0;
    o->xgb.early_stopping = 20;
    o->xgb.nthread = 1;
    o->xgb.class_weights = ALLOT_WEIGHTS_NONE;
    o->linear.solver = L2R_LR;
    o->linear.C = 0;
    o->linear.c_min = 1.0 / 64;
    o->linear.c_max = 64;
    o->linear.eps = 0;
    o->linear.bias = 1;
    o->linear.class_weights = ALLOT_WEIGHTS_NONE;
    o->linear.hashed = 1;
}

/* ---- the training context: everything the steps share ----------------------------------------- */

#define MAX_C_CANDIDATES 64

typedef struct train_ctx {
    /* the run */
    const allot_curves *curves;
    const char *curves_path, *out_path;
    const allot_train_options *opt;
    size_t T;                      /* tiers */
    int is_xgb, value;             /* XGBoost (else LIBLINEAR); value target (else tier target) */
    allot_rule rule_cal, rule_arg; /* the calibrated rule, and the uncalibrated one (at price 0) */
    allot_train_report rep;
    /* 1. split */
    allot_split sp;
    /* 2. labels */
    int *oracle_tier; /* n_train: the oracle's tier of each training query */
    int *tier_lab;    /* n_train: its label (the oracle's tier, ties broken by opt->label_ties) */
    /* 3. classes */
    allot_class_map cm;
    int K, constant;        /* classes; constant: a single class (tier target), no model */
    int *y;                 /* n_train: class labels */
    double *tier_cost;      /* T: the tiers' mean cost over the training pool (the bundle's prices) */
    double *class_cost;     /* K: the price of each class's tier */
    double *realised_train; /* n_train x K: each training query's own cost of each class's tier */
    /* 4. features */
    allot_featurizer *fz;
    allot_feature_matrix fm;
    int want_hash;    /* LIBLINEAR with the hashed n-gram block */
    float *lin_dense; /* LIBLINEAR: the standardised dense block */
    char *spec;       /* the featuriser's spec JSON */
    double *row_w;    /* XGBoost gap weights per curves row, or NULL */
    allot_fit_ctx lc;
    /* 5. cross-validation */
    double cgrid[MAX_C_CANDIDATES]; /* LIBLINEAR: the candidate values of C */
    size_t n_c;
    allot_progress pg;
    size_t pg_done;
    double *oof; /* n_train x K: out-of-fold class probabilities (value target: accuracies) */
    int *choice; /* n_train: the classes a rule chose */
    double mean_rounds;
    /* 6. final model(s) */
    allot_fitted final;     /* tier target */
    allot_fitted *finals;   /* value target: one regressor per tier */
    double *C_t, *rounds_t; /* value target: each tier's C and mean CV rounds */
    int *rounds_int;        /* value target: each tier's boosting rounds */
    /* 8. held-out figures */
    double *test_prob; /* n_test x K */
    int *y_test_tier;  /* n_test: the oracle's tier on the held-out queries */
    /* 9. bundle */
    char *model_text;  /* tier target: the model's text */
    char **tier_texts; /* value target: each tier's model text */
    char *prov_text;
    char *bundle_text; /* the rendered bundle: written only after every check passed */
} train_ctx;

static void train_ctx_init(train_ctx *tc, const allot_curves *curves, const char *curves_path,
                           const allot_train_options *opt, const char *out_path) {
    memset(tc, 0, sizeof *tc);
    tc->curves = curves;
    tc->curves_path = curves_path;
    tc->out_path = out_path;
    tc->opt = opt;
    tc->T = curves->n_tiers;
    tc->is_xgb = opt->learner == ALLOT_LEARNER_XGBOOST;
    tc->value = opt->target == ALLOT_TARGET_TIER_VALUE;
    /* value policies use the value rule for both */
    tc->rule_cal = tc->value ? ALLOT_RULE_VALUE : ALLOT_RULE_CALIBRATED;
    tc->rule_arg = tc->value ? ALLOT_RULE_VALUE : ALLOT_RULE_ARGMAX;
}

static void train_ctx_free(train_ctx *tc) {
    allot_split_free(&tc->sp);
    free(tc->tier_lab);
    free(tc->oracle_tier);
    allot_class_map_free(&tc->cm);
    free(tc->y);
    free(tc->tier_cost);
    free(tc->class_cost);
    free(tc->realised_train);
    allot_featurizer_free(tc->fz);
    allot_feature_matrix_free(&tc->fm);
    free(tc->lin_dense);
    free(tc->spec);
    free(tc->row_w);
    free(tc->oof);
    free(tc->choice);
    allot_fitted_free(&tc->final);
    for (size_t t = 0; tc->finals && t < tc->T; t++) allot_fitted_free(&tc->finals[t]);
    free(tc->finals);
    free(tc->C_t);
    free(tc->rounds_t);
    free(tc->rounds_int);
    free(tc->test_prob);
    free(tc->y_test_tier);
    free(tc->model_text);
    for (size_t t = 0; tc->tier_texts && t < tc->T; t++) free(tc->tier_texts[t]);
    free(tc->tier_texts);
    free(tc->prov_text);
    free(tc->bundle_text);
}

double allot_class_weight(int weighting, size_t n, int K, size_t count) {
    if (weighting == ALLOT_WEIGHTS_NONE) return 1.0;
    if (!count || K < 1) return 0.0;
    double w = (double)n / ((double)K * (double)count);
    return weighting == ALLOT_WEIGHTS_SQRT ? sqrt(w) : w;
}

static allot_status out_of_memory(allot_error *err) {
    return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
}

/* The rule the bundle names and its price (the value target's "argmax" is the value rule at 0). */
static allot_rule bundle_rule(const train_ctx *tc) {
    if (tc->value) return ALLOT_RULE_VALUE;
    return tc->opt->rule;
}

static double bundle_price(const train_ctx *tc) {
    return tc->value && tc->opt->rule == ALLOT_RULE_ARGMAX ? 0.0 : tc->rep.mu;
}

static const char *rule_name(allot_rule rule) {
    return rule == ALLOT_RULE_VALUE ? "value" : rule == ALLOT_RULE_ARGMAX ? "argmax" : "calibrated";
}

/* Imitation accuracy (class == label) of rule at price mu. */
static double imitation(const double *prob, const int *y, size_t n, int K, const double *class_cost,
                        double mu, allot_rule rule) {
    size_t hit = 0;
    for (size_t i = 0; i < n; i++)
        hit += allot_decide_rule(rule, prob + i * (size_t)K, K, class_cost, mu) == y[i];
    return n ? (double)hit / (double)n : 0.0;
}

/* Mean accuracy and cost over rows of the choices (classes). */
static void realised(const allot_curves *c, const size_t *rows, size_t n, const allot_class_map *cm,
                     const int *cls, double *acc, double *cost) {
    double a = 0, s = 0;
    for (size_t j = 0; j < n; j++) {
        size_t t = (size_t)cm->class_tier[cls[j]];
        a += c->acc[rows[j] * c->n_tiers + t];
        s += c->cost[rows[j] * c->n_tiers + t];
    }
    *acc = n ? a / (double)n : 0;
    *cost = n ? s / (double)n : 0;
}

/* ---- 1. split: a seeded held-out test fraction and k folds over the training pool ------------- */

allot_status allot_train_split(size_t n, const allot_train_options *o, allot_split *sp, allot_error *err) {
    if (o->test_parts >= 2)
        return allot_split_make_part(n, o->test_parts, o->test_part, o->folds, o->seed, sp, err);
    return allot_split_make(n, o->test_fraction, o->folds, o->seed, sp, err);
}

static allot_status step_split(train_ctx *tc, allot_error *err) {
    return allot_train_split(tc->curves->n_queries, tc->opt, &tc->sp, err);
}

/* ---- 2. labels: the exact oracle on the training pool ---------------------------------------- */

static allot_status step_labels(train_ctx *tc, allot_error *err) {
    allot_train_report *r = &tc->rep;
    size_t nt = tc->sp.n_train;
    tc->tier_lab = malloc(nt * sizeof *tc->tier_lab);
    tc->oracle_tier = malloc(nt * sizeof *tc->oracle_tier);
    if (!tc->tier_lab || !tc->oracle_tier) return out_of_memory(err);
    allot_status st =
        allot_oracle_labels(tc->curves, tc->sp.train_idx, nt, tc->opt->budget, tc->oracle_tier,
                            &r->oracle_lambda, &r->oracle_train_acc, &r->oracle_train_cost, err);
    if (st != ALLOT_OK) return st;
    memcpy(tc->tier_lab, tc->oracle_tier, nt * sizeof *tc->tier_lab);
    /* the value target does not learn labels (they only report imitation): the oracle's own */
    if (tc->value) return ALLOT_OK;
    return allot_labels_break_ties(tc->curves, tc->sp.train_idx, nt, tc->opt->budget, tc->opt->label_ties,
                                   tc->tier_lab, &r->labels_moved, err);
}

/* ---- 3. classes: the tiers the oracle picked (tier target) or every tier (value target) ------- */

static allot_status make_class_map(train_ctx *tc, allot_error *err) {
    if (!tc->value) return allot_class_map_make(tc->tier_lab, tc->sp.n_train, tc->T, &tc->cm, err);
    /* every tier is a class: each gets an accuracy regressor, whatever the oracle picked */
    int *all = malloc(tc->T * sizeof *all);
    if (!all) return out_of_memory(err);
    for (size_t t = 0; t < tc->T; t++) all[t] = (int)t;
    allot_status st = allot_class_map_make(all, tc->T, tc->T, &tc->cm, err);
    free(all);
    return st;
}

static allot_status step_classes(train_ctx *tc, allot_error *err) {
    allot_status st = make_class_map(tc, err);
    if (st != ALLOT_OK) return st;
    size_t nt = tc->sp.n_train, T = tc->T;
    /* One class only (the oracle picked a single tier on the whole training pool): no classifier
     * can be trained; the bundle gets the runtime's constant kind (classes [t], no model). */
    tc->K = tc->cm.n_classes;
    tc->constant = !tc->value && tc->K == 1;
    size_t K = (size_t)tc->K;
    tc->y = malloc(nt * sizeof *tc->y);
    tc->tier_cost = malloc(T * sizeof *tc->tier_cost);
    tc->class_cost = malloc(K * sizeof *tc->class_cost);
    tc->realised_train = malloc(nt * K * sizeof *tc->realised_train);
    if (!tc->y || !tc->tier_cost || !tc->class_cost || !tc->realised_train) return out_of_memory(err);
    for (size_t j = 0; j < nt; j++) tc->y[j] = tc->cm.tier_class[tc->tier_lab[j]];
    allot_tier_mean_costs(tc->curves, tc->sp.train_idx, nt, tc->tier_cost);
    for (size_t c = 0; c < K; c++) tc->class_cost[c] = tc->tier_cost[tc->cm.class_tier[c]];
    for (size_t j = 0; j < nt; j++)
        for (size_t c = 0; c < K; c++)
            tc->realised_train[j * K + c] =
                tc->curves->cost[tc->sp.train_idx[j] * T + (size_t)tc->cm.class_tier[c]];
    return ALLOT_OK;
}

/* ---- 4. features through the runtime's featuriser -------------------------------------------- */

/* A meta field that no query has (a typo, or a string without a number) would be an all-missing
 * feature: say so instead of training on nothing. */
static allot_status check_extras_present(const train_ctx *tc, allot_error *err) {
    const allot_feature_matrix *fm = &tc->fm;
    size_t nb = allot_featurizer_n_builtin_used(tc->fz);
    for (size_t e = 0; e < allot_featurizer_n_extra(tc->fz); e++) {
        size_t present = 0;
        for (size_t i = 0; i < fm->n; i++) present += !isnan(fm->dense[i * fm->d + nb + e]);
        if (!present)
            return allot_error_set(
                err, ALLOT_E_INVALID, "feature '%s' is missing (or not a number) in every query of %s",
                allot_featurizer_extra_name(tc->fz, e), tc->curves_path ? tc->curves_path : "the curves");
    }
    size_t ed = allot_featurizer_embedding_dim(tc->fz), first = nb + allot_featurizer_n_extra(tc->fz),
           present = 0;
    for (size_t i = 0; ed && i < fm->n; i++) present += !isnan(fm->dense[i * fm->d + first]);
    if (ed && !present)
        return allot_error_set(err, ALLOT_E_INVALID, "the embedding %s is missing in every query of %s",
                               allot_featurizer_embedding_name(tc->fz),
                               tc->curves_path ? tc->curves_path : "the curves");
    return ALLOT_OK;
}

/* LIBLINEAR: standardisation fitted on the training pool only, saved in the spec. */
static allot_status standardise(train_ctx *tc, allot_error *err) {
    allot_feature_matrix *fm = &tc->fm;
    size_t d = fm->d;
    double *center = malloc((d ? d : 1) * sizeof *center), *scale = malloc((d ? d : 1) * sizeof *scale);
    tc->lin_dense = malloc((fm->n * d > 0 ? fm->n * d : 1) * sizeof *tc->lin_dense);
    allot_status st = ALLOT_OK;
    if (!center || !scale || !tc->lin_dense) st = out_of_memory(err);
    if (st == ALLOT_OK) {
        allot_dense_moments(fm, tc->sp.train_idx, tc->sp.n_train, center, scale);
        st = allot_featurizer_set_standardization(tc->fz, center, scale, d, err);
    }
    for (size_t i = 0; st == ALLOT_OK && i < fm->n; i++)
        allot_featurizer_standardize(tc->fz, fm->dense + i * d, tc->lin_dense + i * d);
    free(center);
    free(scale);
    return st;
}

static allot_status render_spec(train_ctx *tc, allot_error *err) {
    size_t len = allot_featurizer_spec_json(tc->fz, NULL, 0);
    tc->spec = malloc(len + 1);
    if (!tc->spec) return out_of_memory(err);
    allot_featurizer_spec_json(tc->fz, tc->spec, len + 1);
    return ALLOT_OK;
}

static allot_status step_features(train_ctx *tc, allot_error *err) {
    const allot_train_options *o = tc->opt;
    tc->want_hash = !tc->is_xgb && o->linear.hashed && o->hash_dim > 0;
    allot_status st = allot_featurizer_for(tc->curves, tc->sp.train_idx, tc->sp.n_train, o->features,
                                           o->meta_features, tc->want_hash ? o->hash_dim : 0, &tc->fz, err);
    if (st == ALLOT_OK) st = allot_feature_matrix_build(tc->fz, tc->curves, tc->want_hash, &tc->fm, err);
    if (st == ALLOT_OK) st = check_extras_present(tc, err);
    if (st == ALLOT_OK && !tc->is_xgb) st = standardise(tc, err);
    if (st == ALLOT_OK) st = render_spec(tc, err);
    return st;
}

/* Gap weights (XGBoost, tier target): the audit's data-dependent regret bound is the sum of the
 * gaps of the misclassified queries, gap_i = v_i(o_i) - min_t v_i(t) with v = acc - lambda*cost at
 * the training oracle's lambda; weighting each row by its gap (normalised to mean 1) makes the
 * classifier's weighted error that bound. */
static allot_status step_gap_weights(train_ctx *tc, allot_error *err) {
    if (!(tc->is_xgb && tc->opt->xgb.gap_weights && !tc->value)) return ALLOT_OK;
    const allot_curves *c = tc->curves;
    size_t nt = tc->sp.n_train, T = tc->T;
    double lambda = tc->rep.oracle_lambda, sum = 0;
    tc->row_w = calloc(c->n_queries, sizeof *tc->row_w);
    if (!tc->row_w) return out_of_memory(err);
    for (size_t j = 0; j < nt; j++) {
        size_t i = tc->sp.train_idx[j];
        const double *a = c->acc + i * T, *cc = c->cost + i * T;
        double vmin = INFINITY, vo = a[tc->oracle_tier[j]] - lambda * cc[tc->oracle_tier[j]];
        for (size_t t = 0; t < T; t++) vmin = fmin(vmin, a[t] - lambda * cc[t]);
        tc->row_w[i] = vo - vmin;
        sum += tc->row_w[i];
    }
    for (size_t j = 0; j < nt; j++) {
        size_t i = tc->sp.train_idx[j];
        tc->row_w[i] = sum > 0 ? tc->row_w[i] * (double)nt / sum : 1.0;
    }
    return ALLOT_OK;
}

/* The learner's view of the context, for every fit from here on. */
static void set_fit_context(train_ctx *tc) {
    tc->lc = (allot_fit_ctx){tc->opt, &tc->fm, tc->lin_dense, tc->K, tc->row_w, tc->curves};
}

/* ---- 5. cross-validation on the training pool ------------------------------------------------ */

/* LIBLINEAR's own search for C (find_parameters, its own folds). */
static allot_status liblinear_find_c(train_ctx *tc, allot_error *err) {
    const allot_train_options *o = tc->opt;
    allot_linear_data dt;
    allot_status st = allot_fit_linear_data(&tc->lc, tc->sp.train_idx, tc->sp.n_train, &dt, err);
    if (st != ALLOT_OK) return st;
    double acc = 0;
    st = allot_linear_find_C(&dt, tc->y, tc->K, &o->linear, o->folds, o->linear.c_min, o->seed, &tc->cgrid[0],
                             &acc, err);
    allot_linear_data_free(&dt);
    return st;
}

/* The candidate values of C: LIBLINEAR's search, the seeded grid of powers of 2 over
 * [c_min, c_max], or the one fixed C (XGBoost: unused). */
static allot_status step_c_candidates(train_ctx *tc, allot_error *err) {
    const allot_linear_params *lp = &tc->opt->linear;
    tc->n_c = 1;
    if (!tc->is_xgb && !tc->constant && !tc->value && lp->C <= 0 && lp->liblinear_search)
        return liblinear_find_c(tc, err);
    if (tc->is_xgb || lp->C > 0) {
        tc->cgrid[0] = lp->C;
        return ALLOT_OK;
    }
    tc->n_c = 0;
    for (double C = lp->c_min; C <= lp->c_max * (1 + 1e-12) && tc->n_c < MAX_C_CANDIDATES; C *= 2)
        tc->cgrid[tc->n_c++] = C;
    return tc->n_c ? ALLOT_OK : allot_error_set(err, ALLOT_E_ARGUMENT, "empty C grid");
}

/* Queries of out-of-fold imitation accuracy within which a warm-started C is checked cold. */
#define WARM_MARGIN_QUERIES 8

/*
 * Tier target, LIBLINEAR: C by out-of-fold imitation accuracy (ties: the smaller C), keeping that
 * C's out-of-fold probabilities, with cold trainings. The search walks the C grid warm-started (each
 * fold's training at a C starts from its model at the previous C, as LIBLINEAR's find_parameters
 * does), the folds on several threads. A warm start stops at a slightly different point than a
 * cold training (a few queries of imitation accuracy apart), so the warm pass only ranks the grid:
 * every C within WARM_MARGIN_QUERIES of the best warm accuracy is then cross-validated cold (all of
 * them at once on the threads) and the best cold one kept (ties: the smaller C). That is the cold search's
 * choice whenever it is among those candidates (the expensive large C, far from the optimum, are never
 * trained cold), and the calibration, the report and the final model (cold, at that C) are then exactly the
 * cold search's.
 */
static allot_status cv_tier_liblinear(train_ctx *tc, allot_error *err) {
    size_t nt = tc->sp.n_train, K = (size_t)tc->K, n_c = tc->n_c;
    int warm =
        n_c > 1 && !tc->opt->linear.cold_search && allot_linear_solver_warm_start(tc->opt->linear.solver);
    double *grid = malloc(n_c * nt * K * sizeof *grid), *acc = malloc(n_c * sizeof *acc);
    if (!grid || !acc) {
        free(grid);
        free(acc);
        return out_of_memory(err);
    }
    allot_status st = allot_fit_linear_grid(&tc->lc, &tc->sp, tc->y, tc->cgrid, n_c, warm, grid, &tc->pg,
                                            &tc->pg_done, err);
    double top = -1, best_acc = -1;
    for (size_t g = 0; g < n_c && st == ALLOT_OK; g++) {
        acc[g] = imitation(grid + g * nt * K, tc->y, nt, tc->K, tc->class_cost, 0, ALLOT_RULE_ARGMAX);
        if (acc[g] > top) top = acc[g];
    }
    /* the candidates (every C when the path was cold: its probabilities are the cold ones already) */
    size_t *cand = malloc(n_c * sizeof *cand), n_cand = 0;
    if (!cand && st == ALLOT_OK) st = out_of_memory(err);
    for (size_t g = 0; g < n_c && st == ALLOT_OK; g++)
        if (!warm || acc[g] >= top - (double)WARM_MARGIN_QUERIES / (double)nt - 1e-12) cand[n_cand++] = g;
    if (warm && st == ALLOT_OK) {
        tc->pg.total =
            tc->pg_done + n_cand * (size_t)tc->opt->folds + 1; /* the cold checks, then the final */
        st = allot_fit_linear_cold(&tc->lc, &tc->sp, tc->y, tc->cgrid, cand, n_cand, grid, &tc->pg,
                                   &tc->pg_done, err);
    }
    for (size_t i = 0; i < n_cand && st == ALLOT_OK; i++) {
        const double *oof = grid + cand[i] * nt * K;
        double a = imitation(oof, tc->y, nt, tc->K, tc->class_cost, 0, ALLOT_RULE_ARGMAX);
        if (a > best_acc + 1e-12) {
            best_acc = a;
            tc->rep.chosen_C = tc->cgrid[cand[i]];
            memcpy(tc->oof, oof, nt * K * sizeof *tc->oof);
        }
    }
    free(cand);
    free(grid);
    free(acc);
    return st;
}

static allot_status cv_tier(train_ctx *tc, allot_error *err) {
    if (tc->constant) {
        for (size_t j = 0; j < tc->sp.n_train; j++) tc->oof[j] = 1.0;
        return ALLOT_OK;
    }
    if (!tc->is_xgb) return cv_tier_liblinear(tc, err);
    return allot_fit_cross_validate(&tc->lc, &tc->sp, tc->y, 0, tc->oof, &tc->mean_rounds, &tc->pg,
                                    &tc->pg_done, err);
}

/* Sum of squared errors of tier t's out-of-fold predictions pred (n_train x T). */
static double value_sse(const train_ctx *tc, const double *pred, size_t t) {
    double se = 0;
    for (size_t j = 0; j < tc->sp.n_train; j++) {
        double r = pred[j * tc->T + t] - tc->curves->acc[tc->sp.train_idx[j] * tc->T + t];
        se += r * r;
    }
    return se;
}

/* Value target, LIBLINEAR: the C of each tier's regression by out-of-fold squared error (ties: the
 * smaller C), keeping that C's out-of-fold predictions. Every (fold, tier) on several threads. */
static allot_status cv_value_liblinear(train_ctx *tc, allot_error *err) {
    size_t nt = tc->sp.n_train, T = tc->T;
    double *grid = malloc(tc->n_c * nt * T * sizeof *grid), *best = malloc(T * sizeof *best);
    allot_status st = !grid || !best ? out_of_memory(err) : ALLOT_OK;
    if (st == ALLOT_OK)
        st = allot_fit_linear_value_grid(&tc->lc, &tc->sp, tc->cgrid, tc->n_c, grid, &tc->pg, &tc->pg_done,
                                         err);
    for (size_t t = 0; st == ALLOT_OK && t < T; t++) best[t] = INFINITY;
    for (size_t g = 0; g < tc->n_c && st == ALLOT_OK; g++) {
        const double *tmp = grid + g * nt * T;
        for (size_t t = 0; t < T; t++) {
            double se = value_sse(tc, tmp, t);
            if (se < best[t] * (1 - 1e-12)) {
                best[t] = se;
                tc->C_t[t] = tc->cgrid[g];
                for (size_t j = 0; j < nt; j++) tc->oof[j * T + t] = tmp[j * T + t];
            }
        }
    }
    free(grid);
    free(best);
    return st;
}

static allot_status cv_value(train_ctx *tc, allot_error *err) {
    size_t T = tc->T;
    tc->C_t = calloc(T, sizeof *tc->C_t);
    tc->rounds_t = calloc(T, sizeof *tc->rounds_t);
    tc->rounds_int = calloc(T, sizeof *tc->rounds_int);
    tc->finals = calloc(T, sizeof *tc->finals);
    tc->tier_texts = calloc(T, sizeof *tc->tier_texts);
    if (!tc->C_t || !tc->rounds_t || !tc->rounds_int || !tc->finals || !tc->tier_texts)
        return out_of_memory(err);
    if (!tc->is_xgb) return cv_value_liblinear(tc, err);
    return allot_fit_cross_validate_value(&tc->lc, &tc->sp, NULL, tc->oof, tc->rounds_t, &tc->pg,
                                          &tc->pg_done, err);
}

static allot_status step_cross_validate(train_ctx *tc, allot_error *err) {
    size_t nt = tc->sp.n_train;
    tc->oof = malloc(nt * (size_t)tc->K * sizeof *tc->oof);
    tc->choice = malloc(nt * sizeof *tc->choice);
    if (!tc->oof || !tc->choice) return out_of_memory(err);
    /* LIBLINEAR's search advances once per fold along the C path (then per fold and C checked cold),
     * or per (fold, tier) for the value target */
    size_t folds = (size_t)tc->opt->folds, total = tc->n_c * folds + 1;
    if (!tc->is_xgb)
        total =
            tc->value
                ? folds * tc->T + 1
                : folds * (tc->n_c > 1 && allot_linear_solver_warm_start(tc->opt->linear.solver) ? 2 : 1) + 1;
    allot_progress_start(&tc->pg, tc->is_xgb ? "train xgboost (folds)" : "train liblinear (C x folds)", total,
                         tc->opt->progress);
    return tc->value ? cv_value(tc, err) : cv_tier(tc, err);
}

/* ---- 6. the final model(s) on the whole training pool ---------------------------------------- */

/* XGBoost's boosting rounds from a mean over the folds (at least 1). */
static int rounds_of(double mean_rounds) {
    int r = (int)floor(mean_rounds + 0.5);
    return r < 1 ? 1 : r;
}

static allot_status final_tier(train_ctx *tc, allot_error *err) {
    if (tc->constant) return ALLOT_OK;
    tc->rep.rounds_used = tc->is_xgb ? rounds_of(tc->mean_rounds) : 0;
    return allot_fit_rows(&tc->lc, tc->sp.train_idx, tc->y, tc->sp.n_train, NULL, NULL, 0,
                          tc->rep.rounds_used, tc->rep.chosen_C, &tc->final, err);
}

static allot_status final_value(train_ctx *tc, allot_error *err) {
    for (size_t t = 0; t < tc->T; t++) {
        tc->rounds_int[t] = tc->is_xgb ? rounds_of(tc->rounds_t[t]) : 0;
        allot_status st = allot_fit_value_rows(&tc->lc, t, tc->sp.train_idx, tc->sp.n_train, NULL, 0,
                                               tc->rounds_int[t], tc->C_t[t], &tc->finals[t], err);
        if (st != ALLOT_OK) return st;
    }
    /* the report's single figures: the first tier's */
    tc->rep.rounds_used = tc->rounds_int[0];
    tc->rep.chosen_C = tc->C_t[0];
    return ALLOT_OK;
}

static allot_status step_final_model(train_ctx *tc, allot_error *err) {
    allot_status st = tc->value ? final_value(tc, err) : final_tier(tc, err);
    if (st == ALLOT_OK) allot_progress_finish(&tc->pg, ++tc->pg_done);
    return st;
}

/* ---- 7. calibration on the out-of-fold predictions ------------------------------------------- */

static void step_calibrate(train_ctx *tc) {
    allot_train_report *r = &tc->rep;
    size_t nt = tc->sp.n_train;
    int K = tc->K;
    r->mu = allot_calibrate_price(tc->rule_cal, tc->oof, nt, K, tc->class_cost, tc->realised_train,
                                  tc->opt->budget);
    r->cv_imitation = imitation(tc->oof, tc->y, nt, K, tc->class_cost, 0, tc->rule_arg);
    r->cv_imitation_calibrated = imitation(tc->oof, tc->y, nt, K, tc->class_cost, r->mu, tc->rule_cal);
    allot_rule_mean_cost(tc->rule_arg, tc->oof, nt, K, tc->class_cost, tc->realised_train, 0, tc->choice);
    realised(tc->curves, tc->sp.train_idx, nt, &tc->cm, tc->choice, &r->oof_acc_argmax, &r->oof_cost_argmax);
    allot_rule_mean_cost(tc->rule_cal, tc->oof, nt, K, tc->class_cost, tc->realised_train, r->mu, tc->choice);
    realised(tc->curves, tc->sp.train_idx, nt, &tc->cm, tc->choice, &r->oof_acc_calibrated,
             &r->oof_cost_calibrated);
}

/* ---- 8. held-out figures (the audit computes the full set) ----------------------------------- */

/* The final model's scores of the held-out queries (n_test x K). */
static allot_status predict_held_out(train_ctx *tc, allot_error *err) {
    size_t ns = tc->sp.n_test, T = tc->T;
    if (tc->constant) {
        for (size_t j = 0; j < ns; j++) tc->test_prob[j] = 1.0;
        return ALLOT_OK;
    }
    if (!tc->value)
        return allot_fit_predict_rows(&tc->lc, &tc->final, tc->sp.test_idx, ns, 0, tc->test_prob, err);
    double *col = malloc(ns * sizeof *col);
    allot_status st = col ? ALLOT_OK : out_of_memory(err);
    for (size_t t = 0; t < T && st == ALLOT_OK; t++) {
        st = allot_fit_predict_rows(&tc->lc, &tc->finals[t], tc->sp.test_idx, ns, 1, col, err);
        for (size_t j = 0; j < ns && st == ALLOT_OK; j++) tc->test_prob[j * T + t] = col[j];
    }
    free(col);
    return st;
}

/* Held-out imitation, mean accuracy and mean cost of rule at price mu (cls: n_test scratch). */
static void held_out_rule(const train_ctx *tc, allot_rule rule, double mu, int *cls, double *imit,
                          double *acc, double *cost) {
    size_t ns = tc->sp.n_test, hit = 0, K = (size_t)tc->K;
    for (size_t j = 0; j < ns; j++) {
        cls[j] = allot_decide_rule(rule, tc->test_prob + j * K, tc->K, tc->class_cost, mu);
        hit += tc->cm.class_tier[cls[j]] == tc->y_test_tier[j];
    }
    realised(tc->curves, tc->sp.test_idx, ns, &tc->cm, cls, acc, cost);
    *imit = (double)hit / (double)ns;
}

static allot_status step_held_out(train_ctx *tc, allot_error *err) {
    size_t ns = tc->sp.n_test;
    allot_train_report *r = &tc->rep;
    if (!ns) { /* --test-fraction 0: nothing held out, no held-out figures */
        r->test_imitation_argmax = r->test_imitation_calibrated = NAN;
        r->test_cost_argmax = r->test_cost_calibrated = r->test_acc_argmax = r->test_acc_calibrated = NAN;
        r->test_oracle_acc = r->test_oracle_cost = NAN;
        return ALLOT_OK;
    }
    tc->test_prob = malloc(ns * (size_t)tc->K * sizeof *tc->test_prob);
    tc->y_test_tier = malloc(ns * sizeof *tc->y_test_tier);
    int *cls = malloc(ns * sizeof *cls);
    allot_status st = !tc->test_prob || !tc->y_test_tier || !cls ? out_of_memory(err) : ALLOT_OK;
    if (st == ALLOT_OK) st = predict_held_out(tc, err);
    if (st == ALLOT_OK)
        st = allot_oracle_labels(tc->curves, tc->sp.test_idx, ns, tc->opt->budget, tc->y_test_tier, NULL,
                                 &r->test_oracle_acc, &r->test_oracle_cost, err);
    if (st == ALLOT_OK) {
        held_out_rule(tc, tc->rule_arg, 0, cls, &r->test_imitation_argmax, &r->test_acc_argmax,
                      &r->test_cost_argmax);
        held_out_rule(tc, tc->rule_cal, r->mu, cls, &r->test_imitation_calibrated, &r->test_acc_calibrated,
                      &r->test_cost_calibrated);
    }
    free(cls);
    return st;
}

/* ---- 9. the bundle --------------------------------------------------------------------------- */

/* The final models' own texts: XGBoost's JSON or the LIBLINEAR model file. */
static allot_status model_text(const train_ctx *tc, const allot_fitted *f, char **text, allot_error *err) {
    return tc->is_xgb ? allot_xgb_save_json(&f->xgb, text, NULL, err)
                      : allot_linear_model_text(&f->lin, text, err);
}

static allot_status model_texts(train_ctx *tc, allot_error *err) {
    if (tc->constant) return ALLOT_OK;
    if (!tc->value) return model_text(tc, &tc->final, &tc->model_text, err);
    allot_status st = ALLOT_OK;
    for (size_t t = 0; t < tc->T && st == ALLOT_OK; t++)
        st = model_text(tc, &tc->finals[t], &tc->tier_texts[t], err);
    return st;
}

static allot_status render_provenance(train_ctx *tc, allot_error *err) {
    char sha[65] = "", content[65];
    if (tc->curves_path && strcmp(tc->curves_path, "-")) {
        allot_status st = allot_learn_file_sha256(tc->curves_path, sha, err);
        if (st != ALLOT_OK) return st;
    }
    allot_curves_content_sha256(tc->curves, content);
    allot_provenance p = {
        .curves = tc->curves,
        .curves_path = tc->curves_path,
        .input_sha256 = sha,
        .content_sha256 = content,
        .opt = tc->opt,
        .rep = &tc->rep,
        .split = &tc->sp,
        .oracle_tiers = tc->oracle_tier,
        .tier_labels = tc->tier_lab,
        .constant = tc->constant,
        .hashed = tc->want_hash,
        .rounds_per_tier = tc->rounds_int,
        .C_per_tier = tc->C_t,
        .oof = tc->oof,
    };
    return allot_provenance_render(&p, &tc->prov_text, err);
}

static allot_status render_bundle(train_ctx *tc, allot_error *err) {
    int is_xgb = tc->is_xgb, value = tc->value, constant = tc->constant;
    allot_bundle_parts parts = {
        .n_tiers = tc->T,
        .tier_names = (const char *const *)tc->curves->tier_names,
        .tier_costs = tc->tier_cost,
        .features_spec_json = tc->spec,
        .kind = constant ? "constant"
                : is_xgb ? "xgboost"
                         : "liblinear",
        .n_classes = tc->K,
        .class_tier = tc->cm.class_tier,
        .input = (is_xgb || !tc->want_hash || constant) ? "dense" : "dense+hashed",
        .xgboost_json = is_xgb && !constant && !value ? tc->model_text : NULL,
        .liblinear_text = !is_xgb && !constant && !value ? tc->model_text : NULL,
        .target = value ? "value" : NULL,
        .n_models = value ? tc->T : 0,
        .xgboost_per_tier = value && is_xgb ? (const char *const *)tc->tier_texts : NULL,
        .liblinear_per_tier = value && !is_xgb ? (const char *const *)tc->tier_texts : NULL,
        .rule = rule_name(bundle_rule(tc)),
        .mu = bundle_price(tc),
        .provenance_json = tc->prov_text,
    };
    return allot_bundle_render(&parts, &tc->bundle_text, err);
}

static allot_status step_bundle(train_ctx *tc, allot_error *err) {
    allot_train_report *r = &tc->rep;
    allot_status st = model_texts(tc, err);
    if (st != ALLOT_OK) return st;
    r->n_queries = tc->curves->n_queries;
    r->n_train = tc->sp.n_train;
    r->n_test = tc->sp.n_test;
    r->n_tiers = tc->T;
    r->n_classes = (size_t)tc->K;
    st = render_provenance(tc, err);
    if (st == ALLOT_OK) st = render_bundle(tc, err);
    return st;
}

/* ---- 10. the runtime must give the trainer's tier on every held-out query -------------------- */

/* Without held-out queries (--test-fraction 0) the check runs on the training pool instead, with the
 * final model's in-sample scores: the bundle is still checked, the held-out figures are not computed. */
static allot_status parity_on_training_pool(train_ctx *tc, allot_error *err) {
    size_t nt = tc->sp.n_train, K = (size_t)tc->K, T = tc->T;
    double *prob = malloc(nt * K * sizeof *prob), *col = tc->value ? malloc(nt * sizeof *col) : NULL;
    allot_status st = !prob || (tc->value && !col) ? out_of_memory(err) : ALLOT_OK;
    if (st == ALLOT_OK && tc->constant)
        for (size_t j = 0; j < nt; j++) prob[j] = 1.0;
    else if (st == ALLOT_OK && !tc->value)
        st = allot_fit_predict_rows(&tc->lc, &tc->final, tc->sp.train_idx, nt, 0, prob, err);
    for (size_t t = 0; t < T && tc->value && st == ALLOT_OK; t++) {
        st = allot_fit_predict_rows(&tc->lc, &tc->finals[t], tc->sp.train_idx, nt, 1, col, err);
        for (size_t j = 0; j < nt && st == ALLOT_OK; j++) prob[j * T + t] = col[j];
    }
    if (st == ALLOT_OK)
        st = allot_learn_runtime_parity(tc->bundle_text, strlen(tc->bundle_text), tc->curves,
                                        tc->sp.train_idx, nt, prob, tc->K, tc->cm.class_tier, tc->class_cost,
                                        bundle_price(tc), bundle_rule(tc), &tc->rep.runtime_parity, err);
    tc->rep.parity_on_training_pool = 1;
    free(prob);
    free(col);
    return st;
}

static allot_status step_runtime_parity(train_ctx *tc, allot_error *err) {
    if (!tc->sp.n_test) return parity_on_training_pool(tc, err); /* nothing held out */
    return allot_learn_runtime_parity(tc->bundle_text, strlen(tc->bundle_text), tc->curves, tc->sp.test_idx,
                                      tc->sp.n_test, tc->test_prob, tc->K, tc->cm.class_tier, tc->class_cost,
                                      bundle_price(tc), bundle_rule(tc), &tc->rep.runtime_parity, err);
}

/* ---- 11. only now, every check passed: the bundle replaces the output atomically ------------- */

static allot_status step_write(const train_ctx *tc, allot_error *err) {
    return allot_atomic_write(tc->out_path, tc->bundle_text, strlen(tc->bundle_text), err);
}

/* ---- the pipeline ---------------------------------------------------------------------------- */

/* Every option within its documented range (docs/limits.md), named as the command line names it. */
static allot_status check_options(const allot_train_options *o, allot_error *err) {
    const allot_xgb_params *x = &o->xgb;
    const allot_linear_params *l = &o->linear;
    if (!(o->budget >= 0) || !isfinite(o->budget))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--budget must be a finite number >= 0");
    if (o->rule != ALLOT_RULE_CALIBRATED && o->rule != ALLOT_RULE_ARGMAX)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "allot_train: rule %d: not ALLOT_RULE_CALIBRATED or ALLOT_RULE_ARGMAX",
                               (int)o->rule);
    if (!(o->test_fraction >= 0 && o->test_fraction < 1))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--test-fraction must be in [0, 1), got %g",
                               o->test_fraction);
    if (o->folds < 2 || o->folds > ALLOT_MAX_FOLDS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--folds must be in 2..%d, got %d", ALLOT_MAX_FOLDS,
                               o->folds);
    if (o->test_parts &&
        (o->test_parts < 2 || o->test_parts > 1000 || o->test_part < 0 || o->test_part >= o->test_parts))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--test-part %d/%d: need 0 <= I < K, 2 <= K <= 1000",
                               o->test_part, o->test_parts);
    if (x->nthread < 1 || x->nthread > ALLOT_MAX_THREADS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--nthread must be in 1..%d, got %d", ALLOT_MAX_THREADS,
                               x->nthread);
    if (x->rounds < 1 || x->rounds > ALLOT_MAX_ROUNDS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--rounds must be in 1..%d, got %d", ALLOT_MAX_ROUNDS,
                               x->rounds);
    if (x->early_stopping < 0 || x->early_stopping > ALLOT_MAX_ROUNDS)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--early-stopping must be in 0..%d, got %d",
                               ALLOT_MAX_ROUNDS, x->early_stopping);
    if (x->max_depth < 1 || x->max_depth > 32)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--max-depth must be in 1..32, got %d", x->max_depth);
    if (!(x->eta > 0 && x->eta <= 1) || !(x->subsample > 0 && x->subsample <= 1) ||
        !(x->min_child_weight >= 0 && isfinite(x->min_child_weight)) ||
        !(x->reg_lambda >= 0 && isfinite(x->reg_lambda)))
        return allot_error_set(
            err, ALLOT_E_ARGUMENT,
            "--eta and --subsample must be in (0, 1], --min-child-weight and --lambda finite "
            "and >= 0");
    if (!isfinite(l->C) || !(l->c_min > 0 && l->c_max >= l->c_min && isfinite(l->c_max)) ||
        !isfinite(l->eps) || l->eps < 0 || !isfinite(l->bias))
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "--C, --C-min <= --C-max (both > 0), --eps >= 0 and --bias must be finite");
    if (o->hash_dim > ALLOT_FEATURES_MAX_HASH_DIM)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--hash-dim must be at most %u, got %u",
                               ALLOT_FEATURES_MAX_HASH_DIM, (unsigned)o->hash_dim);
    return ALLOT_OK;
}

void allot_train_outcome_free(allot_train_outcome *o) {
    if (!o) return;
    free(o->train_rows);
    free(o->test_rows);
    free(o->oof_acc);
    free(o->oof_cost);
    free(o->test_acc);
    free(o->test_cost);
    free(o->oof_tier_acc);
    free(o->test_tier_acc);
    memset(o, 0, sizeof *o);
}

/* ---- 12. per-query figures under the bundle's rule (allot_train_ex) --------------------------- */

/* The class rule chooses for each of n score rows at price mu, as curves rows' accuracies and costs. */
static void rule_outcome(const train_ctx *tc, const double *score, const size_t *rows, size_t n, double *acc,
                         double *cost) {
    size_t K = (size_t)tc->K, T = tc->T;
    for (size_t j = 0; j < n; j++) {
        int c = allot_decide_rule(bundle_rule(tc), score + j * K, tc->K, tc->class_cost, bundle_price(tc));
        size_t t = (size_t)tc->cm.class_tier[c];
        acc[j] = tc->curves->acc[rows[j] * T + t];
        cost[j] = tc->curves->cost[rows[j] * T + t];
    }
}

static allot_status step_outcome(train_ctx *tc, allot_train_outcome *o, allot_error *err) {
    size_t nt = tc->sp.n_train, ns = tc->sp.n_test;
    memset(o, 0, sizeof *o);
    o->n_train = nt;
    o->n_test = ns;
    o->train_rows = malloc((nt ? nt : 1) * sizeof *o->train_rows);
    o->test_rows = malloc((ns ? ns : 1) * sizeof *o->test_rows);
    o->oof_acc = malloc((nt ? nt : 1) * sizeof(double));
    o->oof_cost = malloc((nt ? nt : 1) * sizeof(double));
    o->test_acc = malloc((ns ? ns : 1) * sizeof(double));
    o->test_cost = malloc((ns ? ns : 1) * sizeof(double));
    if (!o->train_rows || !o->test_rows || !o->oof_acc || !o->oof_cost || !o->test_acc || !o->test_cost) {
        allot_train_outcome_free(o);
        return out_of_memory(err);
    }
    memcpy(o->train_rows, tc->sp.train_idx, nt * sizeof *o->train_rows);
    memcpy(o->test_rows, tc->sp.test_idx, ns * sizeof *o->test_rows);
    rule_outcome(tc, tc->oof, tc->sp.train_idx, nt, o->oof_acc, o->oof_cost);
    if (ns) rule_outcome(tc, tc->test_prob, tc->sp.test_idx, ns, o->test_acc, o->test_cost);
    return ALLOT_OK;
}

/* ---- the pipeline ---------------------------------------------------------------------------- */

allot_status allot_train(const allot_curves *curves, const char *curves_path, const allot_train_options *opt,
                         const char *out_path, allot_train_report *report, allot_error *err) {
    return allot_train_ex(curves, curves_path, opt, out_path, report, NULL, err);
}

allot_status allot_train_ex(const allot_curves *curves, const char *curves_path,
                            const allot_train_options *opt, const char *out_path, allot_train_report *report,
                            allot_train_outcome *outcome, allot_error *err) {
    if (outcome) memset(outcome, 0, sizeof *outcome);
    double t0 = allot_now_seconds();
    allot_status cst = check_options(opt, err);
    if (cst != ALLOT_OK) return cst;
    if (curves->n_tiers < 1) return allot_error_set(err, ALLOT_E_INVALID, "%s: no tiers", curves_path);

    train_ctx tc;
    train_ctx_init(&tc, curves, curves_path, opt, out_path);
    allot_status st = step_split(&tc, err);                              /* 1 */
    if (st == ALLOT_OK) st = step_labels(&tc, err);                      /* 2 */
    if (st == ALLOT_OK) st = step_classes(&tc, err);                     /* 3 */
    if (st == ALLOT_OK) st = step_features(&tc, err);                    /* 4 */
    if (st == ALLOT_OK) st = step_gap_weights(&tc, err);                 /* 4 */
    if (st == ALLOT_OK) set_fit_context(&tc);                            /* 4 */
    if (st == ALLOT_OK) st = step_c_candidates(&tc, err);                /* 5 */
    if (st == ALLOT_OK) st = step_cross_validate(&tc, err);              /* 5 */
    if (st == ALLOT_OK) st = step_final_model(&tc, err);                 /* 6 */
    if (st == ALLOT_OK) step_calibrate(&tc);                             /* 7 */
    if (st == ALLOT_OK) st = step_held_out(&tc, err);                    /* 8 */
    if (st == ALLOT_OK) st = step_bundle(&tc, err);                      /* 9 */
    if (st == ALLOT_OK) st = step_runtime_parity(&tc, err);              /* 10 */
    if (st == ALLOT_OK) st = step_write(&tc, err);                       /* 11 */
    if (st == ALLOT_OK && outcome) st = step_outcome(&tc, outcome, err); /* 12 */
    if (st == ALLOT_OK) tc.rep.seconds = allot_now_seconds() - t0;
    if (report) *report = tc.rep;
    train_ctx_free(&tc);
    return st;
}
