/* train.c - `allot train` orchestration (see learn.h for the pipeline). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bundle.h"
#include "calibrate.h"
#include "dataset.h"
#include "learn.h"
#include "learn_internal.h"
#include "linear_learner.h"
#include "progress.h"
#include "runtime_adapter.h"
#include "xgb_learner.h"

void allot_train_options_default(allot_train_options *o) {
    memset(o, 0, sizeof *o);
    o->budget = NAN;
    o->learner = ALLOT_LEARNER_XGBOOST;
    o->rule = ALLOT_DECISION_CALIBRATED;
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
    o->xgb.class_weights = 1;
    o->linear.solver = 0; /* L2R_LR */
    o->linear.C = 0;
    o->linear.c_min = 1.0 / 64;
    o->linear.c_max = 64;
    o->linear.eps = 0;
    o->linear.bias = 1;
    o->linear.class_weights = 1;
    o->linear.hashed = 1;
}

/* ---- the learner behind one interface: fit on rows, predict probabilities of rows ---------- */

typedef struct learner_ctx {
    const allot_train_options *opt;
    const allot_feature_matrix *fm;
    const float *lin_dense; /* standardised dense block (LIBLINEAR), n x d */
    int K;
    const double *row_w;   /* per curves row: XGBoost row weight multiplier (gap weights), or NULL */
    const allot_curves *c; /* value target: the labels are c->acc */
} learner_ctx;

typedef struct fitted {
    allot_xgb_fit xgb;
    allot_linear_fit lin;
} fitted;

static void fitted_free(fitted *f) {
    allot_xgb_fit_free(&f->xgb);
    allot_linear_fit_free(&f->lin);
}

static float *gather_dense(const allot_feature_matrix *fm, const size_t *rows, size_t n) {
    float *x = malloc((n * fm->d > 0 ? n * fm->d : 1) * sizeof *x);
    if (!x) return NULL;
    for (size_t j = 0; j < n; j++) memcpy(x + j * fm->d, fm->dense + rows[j] * fm->d, fm->d * sizeof *x);
    return x;
}

static allot_status lin_data(const learner_ctx *lc, const size_t *rows, size_t n, allot_linear_data *dt,
                             allot_error *err) {
    const allot_feature_matrix *fm = lc->fm;
    int hashed = lc->opt->linear.hashed && fm->sp_start;
    return allot_linear_data_build(lc->lin_dense, fm->d, hashed ? fm->sp_start : NULL, fm->sp_index,
                                   fm->sp_value, hashed ? fm->hash_dim : 0, rows, n, lc->opt->linear.bias, dt,
                                   err);
}

/* Fit on rows (labels y); XGBoost early-stops on (val_rows, y_val) when given. */
static allot_status fit_rows(const learner_ctx *lc, const size_t *rows, const int *y, size_t n,
                             const size_t *val_rows, const int *y_val, size_t n_val, int rounds_override,
                             double C, fitted *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    allot_status st;
    if (lc->opt->learner == ALLOT_LEARNER_XGBOOST) {
        float *x = gather_dense(lc->fm, rows, n);
        float *xv = n_val ? gather_dense(lc->fm, val_rows, n_val) : NULL;
        double *w = lc->row_w ? malloc((n ? n : 1) * sizeof *w) : NULL;
        double *wv = lc->row_w ? malloc((n_val ? n_val : 1) * sizeof *wv) : NULL;
        if (!x || (n_val && !xv) || (lc->row_w && (!w || !wv))) {
            free(x);
            free(xv);
            free(w);
            free(wv);
            return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (XGBoost rows)");
        }
        if (lc->row_w) {
            for (size_t j = 0; j < n; j++) w[j] = lc->row_w[rows[j]];
            for (size_t j = 0; j < n_val; j++) wv[j] = lc->row_w[val_rows[j]];
        }
        st = allot_xgb_train(x, y, n, lc->fm->d, lc->K, xv, y_val, n_val, w, wv, &lc->opt->xgb,
                             rounds_override, lc->opt->seed, &out->xgb, err);
        free(x);
        free(xv);
        free(w);
        free(wv);
        return st;
    }
    allot_linear_data dt;
    st = lin_data(lc, rows, n, &dt, err);
    if (st != ALLOT_OK) return st;
    st = allot_linear_train(&dt, y, lc->K, &lc->opt->linear, C, lc->opt->seed, &out->lin, err);
    allot_linear_data_free(&dt);
    return st;
}

/* Class probabilities (n x K) of a tier policy's classifier, or, with value = 1, the predicted
 * accuracies (n) of one tier's regressor, for the given rows. */
static allot_status predict_rows(const learner_ctx *lc, const fitted *f, const size_t *rows, size_t n,
                                 int value, double *out, allot_error *err) {
    allot_status st;
    if (lc->opt->learner == ALLOT_LEARNER_XGBOOST) {
        float *x = gather_dense(lc->fm, rows, n);
        if (!x) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (XGBoost rows)");
        st = allot_xgb_predict(&f->xgb, x, n, out, err);
        free(x);
        return st;
    }
    allot_linear_data dt;
    st = lin_data(lc, rows, n, &dt, err);
    if (st != ALLOT_OK) return st;
    st = value ? allot_linear_predict_value(&f->lin, &dt, out, err)
               : allot_linear_predict(&f->lin, &dt, out, err);
    allot_linear_data_free(&dt);
    return st;
}

/* k-fold CV over the training pool: out-of-fold probabilities (n_train x K) and, for XGBoost, the
 * mean best number of rounds. */
static allot_status cross_validate(const learner_ctx *lc, const allot_split *sp, const int *y_train, double C,
                                   double *oof, double *mean_rounds, allot_progress *pg, size_t *pg_done,
                                   allot_error *err) {
    size_t nt = sp->n_train;
    size_t *tr = malloc(nt * sizeof *tr), *va = malloc(nt * sizeof *va),
           *va_pos = malloc(nt * sizeof *va_pos);
    int *ytr = malloc(nt * sizeof *ytr), *yva = malloc(nt * sizeof *yva);
    double *pr = malloc(nt * (size_t)lc->K * sizeof *pr);
    allot_status st = ALLOT_OK;
    double rounds_sum = 0;
    if (!tr || !va || !va_pos || !ytr || !yva || !pr) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (cross-validation)");
        goto done;
    }
    for (int f = 0; f < sp->folds; f++) {
        size_t a = 0, b = 0;
        for (size_t j = 0; j < nt; j++) {
            size_t r = sp->train_idx[j];
            if (sp->fold[r] == f) {
                va[b] = r;
                va_pos[b] = j;
                yva[b++] = y_train[j];
            } else {
                tr[a] = r;
                ytr[a++] = y_train[j];
            }
        }
        fitted m;
        st = fit_rows(lc, tr, ytr, a, va, yva, b, 0, C, &m, err);
        if (st != ALLOT_OK) goto done;
        st = predict_rows(lc, &m, va, b, 0, pr, err);
        rounds_sum += m.xgb.best_rounds;
        fitted_free(&m);
        if (st != ALLOT_OK) goto done;
        for (size_t j = 0; j < b; j++)
            memcpy(oof + va_pos[j] * (size_t)lc->K, pr + j * (size_t)lc->K, (size_t)lc->K * sizeof *pr);
        allot_progress_update(pg, ++*pg_done);
    }
    if (mean_rounds) *mean_rounds = rounds_sum / sp->folds;
done:
    free(tr);
    free(va);
    free(va_pos);
    free(ytr);
    free(yva);
    free(pr);
    return st;
}

/* ---- value target: one accuracy regressor per tier ------------------------------------------ */

/* Fit tier t's regressor on rows (labels acc(row, t)); XGBoost early-stops on val_rows when given. */
static allot_status fit_value_rows(const learner_ctx *lc, size_t t, const size_t *rows, size_t n,
                                   const size_t *val_rows, size_t n_val, int rounds_override, double C,
                                   fitted *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    size_t T = lc->c->n_tiers;
    allot_status st;
    if (lc->opt->learner == ALLOT_LEARNER_XGBOOST) {
        float *x = gather_dense(lc->fm, rows, n);
        float *xv = n_val ? gather_dense(lc->fm, val_rows, n_val) : NULL;
        float *y = malloc((n ? n : 1) * sizeof *y), *yv = malloc((n_val ? n_val : 1) * sizeof *yv);
        if (!x || (n_val && !xv) || !y || !yv) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (XGBoost rows)");
        } else {
            for (size_t j = 0; j < n; j++) y[j] = (float)lc->c->acc[rows[j] * T + t];
            for (size_t j = 0; j < n_val; j++) yv[j] = (float)lc->c->acc[val_rows[j] * T + t];
            st = allot_xgb_train_value(x, y, n, lc->fm->d, xv, yv, n_val, &lc->opt->xgb, rounds_override,
                                       lc->opt->seed, &out->xgb, err);
        }
        free(x);
        free(xv);
        free(y);
        free(yv);
        return st;
    }
    double *y = malloc((n ? n : 1) * sizeof *y);
    if (!y) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (labels)");
    for (size_t j = 0; j < n; j++) y[j] = lc->c->acc[rows[j] * T + t];
    allot_linear_data dt;
    st = lin_data(lc, rows, n, &dt, err);
    if (st == ALLOT_OK)
        st = allot_linear_train_value(&dt, y, &lc->opt->linear, C, lc->opt->seed, &out->lin, err);
    allot_linear_data_free(&dt);
    free(y);
    return st;
}

/* k-fold CV of every tier's regressor: out-of-fold predictions oof (n_train x T) and, for XGBoost,
 * the mean best number of rounds of each tier. C[t]: LIBLINEAR's C of tier t. */
static allot_status cross_validate_value(const learner_ctx *lc, const allot_split *sp, const double *C,
                                         double *oof, double *mean_rounds, allot_progress *pg,
                                         size_t *pg_done, allot_error *err) {
    size_t nt = sp->n_train, T = lc->c->n_tiers;
    size_t *tr = malloc(nt * sizeof *tr), *va = malloc(nt * sizeof *va),
           *va_pos = malloc(nt * sizeof *va_pos);
    double *pr = malloc(nt * sizeof *pr);
    allot_status st = ALLOT_OK;
    if (!tr || !va || !va_pos || !pr) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (cross-validation)");
        goto done;
    }
    if (mean_rounds)
        for (size_t t = 0; t < T; t++) mean_rounds[t] = 0;
    for (int f = 0; f < sp->folds; f++) {
        size_t a = 0, b = 0;
        for (size_t j = 0; j < nt; j++) {
            size_t r = sp->train_idx[j];
            if (sp->fold[r] == f) {
                va[b] = r;
                va_pos[b++] = j;
            } else {
                tr[a++] = r;
            }
        }
        for (size_t t = 0; t < T; t++) {
            fitted m;
            st = fit_value_rows(lc, t, tr, a, va, b, 0, C ? C[t] : 0, &m, err);
            if (st != ALLOT_OK) goto done;
            st = predict_rows(lc, &m, va, b, 1, pr, err);
            if (mean_rounds) mean_rounds[t] += (double)m.xgb.best_rounds / sp->folds;
            fitted_free(&m);
            if (st != ALLOT_OK) goto done;
            for (size_t j = 0; j < b; j++) oof[va_pos[j] * T + t] = pr[j];
        }
        allot_progress_update(pg, ++*pg_done);
    }
done:
    free(tr);
    free(va);
    free(va_pos);
    free(pr);
    return st;
}

/* Imitation accuracy (class == label) of rule at price mu. */
static double imitation(const double *prob, const int *y, size_t n, int K, const double *class_cost,
                        double mu, int rule) {
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

static const char *basename_of(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

allot_status allot_train(const allot_curves *curves, const char *curves_path, const allot_train_options *opt,
                         const char *out_path, allot_train_report *report, allot_error *err) {
    double t0 = allot_now_seconds();
    allot_train_report rep;
    memset(&rep, 0, sizeof rep);
    allot_status st = ALLOT_OK;
    allot_split sp;
    allot_class_map cm;
    allot_feature_matrix fm;
    allot_featurizer *fz = NULL;
    memset(&sp, 0, sizeof sp);
    memset(&cm, 0, sizeof cm);
    memset(&fm, 0, sizeof fm);
    char **extra = NULL;
    size_t n_extra = 0;
    int *tier_lab = NULL, *y = NULL, *y_test_tier = NULL, *choice = NULL;
    double *tier_cost = NULL, *class_cost = NULL, *oof = NULL, *test_prob = NULL, *realised_train = NULL;
    double *center = NULL, *scale = NULL, *row_w = NULL;
    float *lin_dense = NULL;
    char *model_text = NULL, *spec = NULL, *prov_text = NULL;
    fitted final;
    memset(&final, 0, sizeof final);
    cJSON *prov = NULL;
    allot_progress pg;
    memset(&pg, 0, sizeof pg);
    size_t T = curves->n_tiers;
    const int is_xgb = opt->learner == ALLOT_LEARNER_XGBOOST;
    const int value = opt->target == ALLOT_TARGET_TIER_VALUE;
    /* the calibrated rule and the uncalibrated one (at price 0): value policies use the value rule */
    const int rule_cal = value ? ALLOT_RT_VALUE : ALLOT_RT_CALIBRATED;
    const int rule_arg = value ? ALLOT_RT_VALUE : ALLOT_RT_ARGMAX;
    fitted *finals = NULL;    /* value target: one regressor per tier */
    char **tier_texts = NULL; /* value target: their model texts */
    double *C_t = NULL, *rounds_t = NULL;
    int *rounds_int = NULL;

    if (!(opt->budget >= 0) || !isfinite(opt->budget))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--budget must be a finite number >= 0");
    if (T < 1) return allot_error_set(err, ALLOT_E_INVALID, "%s: no tiers", curves_path);

    /* 1. split */
    st = allot_split_make(curves->n_queries, opt->test_fraction, opt->folds, opt->seed, &sp, err);
    if (st != ALLOT_OK) goto done;
    size_t nt = sp.n_train;

    /* 2. labels: the oracle on the training pool */
    tier_lab = malloc(nt * sizeof *tier_lab);
    y = malloc(nt * sizeof *y);
    tier_cost = malloc(T * sizeof *tier_cost);
    if (!tier_lab || !y || !tier_cost) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    st = allot_oracle_labels(curves, sp.train_idx, nt, opt->budget, tier_lab, &rep.oracle_lambda,
                             &rep.oracle_train_acc, &rep.oracle_train_cost, err);
    if (st != ALLOT_OK) goto done;
    if (value) {
        /* every tier is a class: each gets an accuracy regressor, whatever the oracle picked */
        int *all = malloc(T * sizeof *all);
        if (!all) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t t = 0; t < T; t++) all[t] = (int)t;
        st = allot_class_map_make(all, T, T, &cm, err);
        free(all);
    } else {
        st = allot_class_map_make(tier_lab, nt, T, &cm, err);
    }
    if (st != ALLOT_OK) goto done;
    for (size_t j = 0; j < nt; j++) y[j] = cm.tier_class[tier_lab[j]];
    allot_tier_mean_costs(curves, sp.train_idx, nt, tier_cost);

    /* One class only (the oracle picked a single tier on the whole training pool): no classifier
     * can be trained; the bundle gets the runtime's constant kind (classes [t], no model). */
    int K = cm.n_classes;
    int constant = !value && K == 1;
    class_cost = malloc((size_t)K * sizeof *class_cost);
    realised_train = malloc(nt * (size_t)K * sizeof *realised_train);
    if (!class_cost || !realised_train) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    for (int c = 0; c < K; c++) class_cost[c] = tier_cost[cm.class_tier[c]];
    for (size_t j = 0; j < nt; j++)
        for (int c = 0; c < K; c++)
            realised_train[j * (size_t)K + (size_t)c] =
                curves->cost[sp.train_idx[j] * T + (size_t)cm.class_tier[c]];

    /* 3. features through the runtime's featuriser */
    st = allot_extra_names(curves, opt->features, opt->meta_features, &extra, &n_extra, err);
    if (st != ALLOT_OK) goto done;
    int want_hash = !is_xgb && opt->linear.hashed && opt->hash_dim > 0;
    st = allot_featurizer_create_default((const char *const *)extra, n_extra, want_hash ? opt->hash_dim : 0,
                                         &fz, err);
    if (st != ALLOT_OK) goto done;
    st = allot_feature_matrix_build(fz, curves, want_hash, &fm, err);
    if (st != ALLOT_OK) goto done;
    /* a meta field that no query has (a typo, or a string without a number) would be an all-missing
     * feature: say so instead of training on nothing */
    for (size_t e = 0, nb = allot_featurizer_n_builtin_used(fz); e < allot_featurizer_n_extra(fz); e++) {
        size_t present = 0;
        for (size_t i = 0; i < fm.n; i++) present += !isnan(fm.dense[i * fm.d + nb + e]);
        if (!present) {
            st = allot_error_set(
                err, ALLOT_E_INVALID, "feature '%s' is missing (or not a number) in every query of %s",
                allot_featurizer_extra_name(fz, e), curves_path ? curves_path : "the curves");
            goto done;
        }
    }
    if (!is_xgb) {
        /* standardisation fitted on the training pool only, saved in the spec */
        center = malloc((fm.d ? fm.d : 1) * sizeof *center);
        scale = malloc((fm.d ? fm.d : 1) * sizeof *scale);
        lin_dense = malloc((fm.n * fm.d > 0 ? fm.n * fm.d : 1) * sizeof *lin_dense);
        if (!center || !scale || !lin_dense) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        allot_dense_moments(&fm, sp.train_idx, nt, center, scale);
        st = allot_featurizer_set_standardization(fz, center, scale, fm.d, err);
        if (st != ALLOT_OK) goto done;
        for (size_t i = 0; i < fm.n; i++)
            allot_featurizer_standardize(fz, fm.dense + i * fm.d, lin_dense + i * fm.d);
    }
    size_t spec_len = allot_featurizer_spec_json(fz, NULL, 0);
    spec = malloc(spec_len + 1);
    if (!spec) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    allot_featurizer_spec_json(fz, spec, spec_len + 1);

    /* gap weights (XGBoost): the audit's data-dependent regret bound is the sum of the gaps of the
     * misclassified queries, gap_i = v_i(o_i) - min_t v_i(t) with v = acc - lambda*cost at the
     * training oracle's lambda; weighting each row by its gap (normalised to mean 1) makes the
     * classifier's weighted error that bound */
    if (is_xgb && opt->xgb.gap_weights && !value) {
        row_w = calloc(curves->n_queries, sizeof *row_w);
        if (!row_w) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        double sum = 0;
        for (size_t j = 0; j < nt; j++) {
            size_t i = sp.train_idx[j];
            const double *a = curves->acc + i * T, *cc = curves->cost + i * T;
            double vmin = INFINITY, vo = a[tier_lab[j]] - rep.oracle_lambda * cc[tier_lab[j]];
            for (size_t t = 0; t < T; t++) vmin = fmin(vmin, a[t] - rep.oracle_lambda * cc[t]);
            row_w[i] = vo - vmin;
            sum += row_w[i];
        }
        for (size_t j = 0; j < nt; j++)
            row_w[sp.train_idx[j]] = sum > 0 ? row_w[sp.train_idx[j]] * (double)nt / sum : 1.0;
    }
    learner_ctx lc = {opt, &fm, lin_dense, K, row_w, curves};

    /* 4. cross-validation on the training pool */
    oof = malloc(nt * (size_t)K * sizeof *oof);
    choice = malloc(nt * sizeof *choice);
    if (!oof || !choice) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    size_t n_c = 1;
    double cgrid[64];
    if (!is_xgb && !constant && !value && opt->linear.C <= 0 && opt->linear.liblinear_search) {
        allot_linear_data dt;
        st = lin_data(&lc, sp.train_idx, nt, &dt, err);
        if (st != ALLOT_OK) goto done;
        double acc = 0;
        st = allot_linear_find_C(&dt, y, K, &opt->linear, opt->folds, opt->linear.c_min, opt->seed, &cgrid[0],
                                 &acc, err);
        allot_linear_data_free(&dt);
        if (st != ALLOT_OK) goto done;
    } else if (!is_xgb && opt->linear.C <= 0) {
        n_c = 0;
        for (double Cv = opt->linear.c_min; Cv <= opt->linear.c_max * (1 + 1e-12) && n_c < 64; Cv *= 2)
            cgrid[n_c++] = Cv;
        if (!n_c) {
            st = allot_error_set(err, ALLOT_E_ARGUMENT, "empty C grid");
            goto done;
        }
    } else {
        cgrid[0] = opt->linear.C;
    }
    size_t pg_done = 0;
    allot_progress_start(&pg, is_xgb ? "train xgboost (folds)" : "train liblinear (C x folds)",
                         n_c * (size_t)opt->folds + 1, opt->progress);
    double mean_rounds = 0;
    int rounds = 0;
    if (value) {
        C_t = calloc(T, sizeof *C_t);
        rounds_t = calloc(T, sizeof *rounds_t);
        rounds_int = calloc(T, sizeof *rounds_int);
        finals = calloc(T, sizeof *finals);
        tier_texts = calloc(T, sizeof *tier_texts);
        if (!C_t || !rounds_t || !rounds_int || !finals || !tier_texts) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        if (is_xgb) {
            st = cross_validate_value(&lc, &sp, NULL, oof, rounds_t, &pg, &pg_done, err);
            if (st != ALLOT_OK) goto done;
        } else {
            /* C of each tier's regression by out-of-fold squared error (ties: the smaller C) */
            double *tmp = malloc(nt * T * sizeof *tmp), *Cv = malloc(T * sizeof *Cv),
                   *best = malloc(T * sizeof *best);
            if (!tmp || !Cv || !best) {
                free(tmp);
                free(Cv);
                free(best);
                st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
                goto done;
            }
            for (size_t t = 0; t < T; t++) best[t] = INFINITY;
            for (size_t g = 0; g < n_c && st == ALLOT_OK; g++) {
                for (size_t t = 0; t < T; t++) Cv[t] = cgrid[g];
                st = cross_validate_value(&lc, &sp, Cv, tmp, NULL, &pg, &pg_done, err);
                for (size_t t = 0; t < T && st == ALLOT_OK; t++) {
                    double se = 0;
                    for (size_t j = 0; j < nt; j++) {
                        double r = tmp[j * T + t] - curves->acc[sp.train_idx[j] * T + t];
                        se += r * r;
                    }
                    if (se < best[t] * (1 - 1e-12)) {
                        best[t] = se;
                        C_t[t] = cgrid[g];
                        for (size_t j = 0; j < nt; j++) oof[j * T + t] = tmp[j * T + t];
                    }
                }
            }
            free(tmp);
            free(Cv);
            free(best);
            if (st != ALLOT_OK) goto done;
        }
        /* the final regressors on the whole training pool */
        for (size_t t = 0; t < T; t++) {
            rounds_int[t] = is_xgb ? (int)floor(rounds_t[t] + 0.5) : 0;
            if (is_xgb && rounds_int[t] < 1) rounds_int[t] = 1;
            st = fit_value_rows(&lc, t, sp.train_idx, nt, NULL, 0, rounds_int[t], C_t[t], &finals[t], err);
            if (st != ALLOT_OK) goto done;
        }
        rounds = rounds_int[0];
        rep.chosen_C = C_t[0];
    } else if (constant) {
        for (size_t j = 0; j < nt; j++) oof[j] = 1.0;
    } else if (is_xgb) {
        st = cross_validate(&lc, &sp, y, 0, oof, &mean_rounds, &pg, &pg_done, err);
        if (st != ALLOT_OK) goto done;
    } else {
        /* choose C by out-of-fold imitation accuracy (ties: smaller C) and keep that C's OOF probabilities */
        double best_acc = -1;
        double *tmp = malloc(nt * (size_t)K * sizeof *tmp);
        if (!tmp) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        for (size_t g = 0; g < n_c; g++) {
            st = cross_validate(&lc, &sp, y, cgrid[g], tmp, NULL, &pg, &pg_done, err);
            if (st != ALLOT_OK) {
                free(tmp);
                goto done;
            }
            double a = imitation(tmp, y, nt, K, class_cost, 0, 0);
            if (a > best_acc + 1e-12) {
                best_acc = a;
                rep.chosen_C = cgrid[g];
                memcpy(oof, tmp, nt * (size_t)K * sizeof *oof);
            }
        }
        free(tmp);
    }

    /* 5. the final model on the whole training pool */
    if (!value) rounds = is_xgb && !constant ? (int)floor(mean_rounds + 0.5) : 0;
    if (is_xgb && !constant && rounds < 1) rounds = 1;
    if (!constant && !value) {
        st = fit_rows(&lc, sp.train_idx, y, nt, NULL, NULL, 0, rounds, rep.chosen_C, &final, err);
        if (st != ALLOT_OK) goto done;
    }
    rep.rounds_used = rounds;
    allot_progress_finish(&pg, ++pg_done);

    /* 6. calibration on the out-of-fold probabilities */
    rep.mu = allot_calibrate_price(rule_cal, oof, nt, K, class_cost, realised_train, opt->budget);
    rep.cv_imitation = imitation(oof, y, nt, K, class_cost, 0, rule_arg);
    rep.cv_imitation_calibrated = imitation(oof, y, nt, K, class_cost, rep.mu, rule_cal);
    allot_rule_mean_cost(rule_arg, oof, nt, K, class_cost, realised_train, 0, choice);
    realised(curves, sp.train_idx, nt, &cm, choice, &rep.oof_acc_argmax, &rep.oof_cost_argmax);
    allot_rule_mean_cost(rule_cal, oof, nt, K, class_cost, realised_train, rep.mu, choice);
    realised(curves, sp.train_idx, nt, &cm, choice, &rep.oof_acc_calibrated, &rep.oof_cost_calibrated);

    /* 7. held-out figures (the audit computes the full set) */
    size_t ns = sp.n_test;
    if (ns) {
        test_prob = malloc(ns * (size_t)K * sizeof *test_prob);
        y_test_tier = malloc(ns * sizeof *y_test_tier);
        int *tc = malloc(ns * sizeof *tc);
        if (!test_prob || !y_test_tier || !tc) {
            free(tc);
            st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            goto done;
        }
        if (constant) {
            for (size_t j = 0; j < ns; j++) test_prob[j] = 1.0;
        } else if (value) {
            double *col = malloc(ns * sizeof *col);
            if (!col) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
            for (size_t t = 0; t < T && st == ALLOT_OK; t++) {
                st = predict_rows(&lc, &finals[t], sp.test_idx, ns, 1, col, err);
                for (size_t j = 0; j < ns && st == ALLOT_OK; j++) test_prob[j * T + t] = col[j];
            }
            free(col);
        } else {
            st = predict_rows(&lc, &final, sp.test_idx, ns, 0, test_prob, err);
        }
        if (st == ALLOT_OK)
            st = allot_oracle_labels(curves, sp.test_idx, ns, opt->budget, y_test_tier, NULL,
                                     &rep.test_oracle_acc, &rep.test_oracle_cost, err);
        if (st != ALLOT_OK) {
            free(tc);
            goto done;
        }
        size_t hit_a = 0, hit_c = 0;
        for (int rule = 0; rule < 2; rule++) {
            for (size_t j = 0; j < ns; j++) {
                const double *p = test_prob + j * (size_t)K;
                tc[j] = rule ? allot_decide_rule(rule_cal, p, K, class_cost, rep.mu)
                             : allot_decide_rule(rule_arg, p, K, class_cost, 0);
                if (cm.class_tier[tc[j]] == y_test_tier[j]) *(rule ? &hit_c : &hit_a) += 1;
            }
            if (rule)
                realised(curves, sp.test_idx, ns, &cm, tc, &rep.test_acc_calibrated,
                         &rep.test_cost_calibrated);
            else
                realised(curves, sp.test_idx, ns, &cm, tc, &rep.test_acc_argmax, &rep.test_cost_argmax);
        }
        rep.test_imitation_argmax = (double)hit_a / (double)ns;
        rep.test_imitation_calibrated = (double)hit_c / (double)ns;
        free(tc);
    }

    /* 8. the bundle */
    if (constant)
        st = ALLOT_OK;
    else if (value)
        for (size_t t = 0; t < T && st == ALLOT_OK; t++)
            st = is_xgb ? allot_xgb_save_json(&finals[t].xgb, &tier_texts[t], NULL, err)
                        : allot_linear_model_text(&finals[t].lin, &tier_texts[t], err);
    else if (is_xgb)
        st = allot_xgb_save_json(&final.xgb, &model_text, NULL, err);
    else
        st = allot_linear_model_text(&final.lin, &model_text, err);
    if (st != ALLOT_OK) goto done;

    rep.n_queries = curves->n_queries;
    rep.n_train = nt;
    rep.n_test = ns;
    rep.n_tiers = T;
    rep.n_classes = (size_t)K;

    char sha[65] = "";
    if (curves_path) {
        st = allot_learn_file_sha256(curves_path, sha, err);
        if (st != ALLOT_OK) goto done;
    }
    prov = cJSON_CreateObject();
    if (!prov) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    cJSON_AddStringToObject(prov, "tool", "allot train");
    cJSON_AddStringToObject(prov, "input", curves_path ? basename_of(curves_path) : "");
    cJSON_AddStringToObject(prov, "input_sha256", sha);
    cJSON_AddNumberToObject(prov, "budget", opt->budget);
    cJSON_AddNumberToObject(prov, "seed", (double)opt->seed);
    cJSON_AddStringToObject(prov, "learner", is_xgb ? "xgboost" : "liblinear");
    cJSON_AddStringToObject(prov, "target", value ? "value" : "tier");
    cJSON_AddStringToObject(prov, "rule_option",
                            opt->rule == ALLOT_DECISION_ARGMAX ? "argmax" : "calibrated");
    cJSON *lp = cJSON_AddObjectToObject(prov, "learner_params");
    if (value) {
        /* per-tier figures of the value target's regressors */
        cJSON *a = cJSON_AddArrayToObject(lp, is_xgb ? "rounds_per_tier" : "C_per_tier");
        for (size_t t = 0; t < T; t++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(is_xgb ? (double)rounds_int[t] : C_t[t]));
    }
    if (is_xgb) {
        cJSON_AddStringToObject(lp, "objective",
                                value    ? "reg:logistic"
                                : K == 2 ? "binary:logistic"
                                         : "multi:softprob");
        cJSON_AddNumberToObject(lp, "max_rounds", opt->xgb.rounds);
        cJSON_AddNumberToObject(lp, "rounds", rounds);
        cJSON_AddNumberToObject(lp, "max_depth", opt->xgb.max_depth);
        cJSON_AddNumberToObject(lp, "eta", opt->xgb.eta);
        cJSON_AddNumberToObject(lp, "subsample", opt->xgb.subsample);
        cJSON_AddNumberToObject(lp, "min_child_weight", opt->xgb.min_child_weight);
        cJSON_AddNumberToObject(lp, "lambda", opt->xgb.reg_lambda);
        cJSON_AddNumberToObject(lp, "early_stopping", opt->xgb.early_stopping);
        cJSON_AddNumberToObject(lp, "nthread", opt->xgb.nthread);
        cJSON_AddBoolToObject(lp, "class_weights_balanced", opt->xgb.class_weights);
        cJSON_AddBoolToObject(lp, "gap_weights", opt->xgb.gap_weights);
        cJSON_AddStringToObject(lp, "tree_method", "hist");
    } else {
        cJSON_AddStringToObject(
            lp, "solver", allot_linear_solver_name(value ? 11 /* L2R_L2LOSS_SVR */ : opt->linear.solver));
        if (value) cJSON_AddNumberToObject(lp, "svr_p", 0);
        cJSON_AddNumberToObject(lp, "C", rep.chosen_C);
        cJSON_AddBoolToObject(lp, "C_by_cv", opt->linear.C <= 0);
        if (opt->linear.C <= 0 && opt->linear.liblinear_search) {
            cJSON_AddStringToObject(lp, "C_search", "liblinear find_parameters");
            cJSON_AddNumberToObject(lp, "C_start", opt->linear.c_min);
        } else if (opt->linear.C <= 0) {
            cJSON_AddStringToObject(lp, "C_search", "seeded k-fold grid");
            cJSON_AddNumberToObject(lp, "C_min", opt->linear.c_min);
            cJSON_AddNumberToObject(lp, "C_max", opt->linear.c_max);
        }
        cJSON_AddNumberToObject(lp, "eps", opt->linear.eps);
        cJSON_AddNumberToObject(lp, "bias", opt->linear.bias);
        cJSON_AddBoolToObject(lp, "class_weights", opt->linear.class_weights);
        cJSON_AddBoolToObject(lp, "hashed", want_hash);
    }
    cJSON *spj = cJSON_AddObjectToObject(prov, "split");
    cJSON_AddNumberToObject(spj, "test_fraction", opt->test_fraction);
    cJSON_AddNumberToObject(spj, "folds", opt->folds);
    cJSON_AddNumberToObject(spj, "seed", (double)opt->seed);
    cJSON_AddNumberToObject(spj, "n_train", (double)nt);
    cJSON_AddNumberToObject(spj, "n_test", (double)ns);
    cJSON *tid = cJSON_AddArrayToObject(spj, "test_ids");
    for (size_t j = 0; j < ns; j++)
        cJSON_AddItemToArray(tid, cJSON_CreateString(curves->ids[sp.test_idx[j]]));
    cJSON *orc = cJSON_AddObjectToObject(prov, "oracle_train");
    cJSON_AddNumberToObject(orc, "lambda", rep.oracle_lambda);
    cJSON_AddNumberToObject(orc, "mean_acc", rep.oracle_train_acc);
    cJSON_AddNumberToObject(orc, "mean_cost", rep.oracle_train_cost);
    cJSON *cnt = cJSON_AddArrayToObject(orc, "tier_counts");
    for (size_t t = 0; t < T; t++) {
        size_t k = 0;
        for (size_t j = 0; j < nt; j++) k += (size_t)tier_lab[j] == t;
        cJSON_AddItemToArray(cnt, cJSON_CreateNumber((double)k));
    }
    cJSON_AddBoolToObject(prov, "constant_policy", constant);
    cJSON *met = cJSON_AddObjectToObject(prov, "metrics");
    cJSON_AddNumberToObject(met, "cv_imitation_argmax", rep.cv_imitation);
    cJSON_AddNumberToObject(met, "cv_imitation_calibrated", rep.cv_imitation_calibrated);
    cJSON_AddNumberToObject(met, "oof_acc_argmax", rep.oof_acc_argmax);
    cJSON_AddNumberToObject(met, "oof_cost_argmax", rep.oof_cost_argmax);
    cJSON_AddNumberToObject(met, "oof_acc_calibrated", rep.oof_acc_calibrated);
    cJSON_AddNumberToObject(met, "oof_cost_calibrated", rep.oof_cost_calibrated);
    cJSON_AddNumberToObject(met, "mu", rep.mu);
    cJSON_AddNumberToObject(met, "test_imitation_argmax", rep.test_imitation_argmax);
    cJSON_AddNumberToObject(met, "test_imitation_calibrated", rep.test_imitation_calibrated);
    cJSON_AddNumberToObject(met, "test_acc_argmax", rep.test_acc_argmax);
    cJSON_AddNumberToObject(met, "test_cost_argmax", rep.test_cost_argmax);
    cJSON_AddNumberToObject(met, "test_acc_calibrated", rep.test_acc_calibrated);
    cJSON_AddNumberToObject(met, "test_cost_calibrated", rep.test_cost_calibrated);
    cJSON_AddNumberToObject(met, "test_oracle_acc", rep.test_oracle_acc);
    cJSON_AddNumberToObject(met, "test_oracle_cost", rep.test_oracle_cost);
    /* out-of-fold probabilities of the training pool: the audit recalibrates mu for other budgets
     * and bins queries by predicted difficulty on them, never touching the held-out queries */
    cJSON *val = opt->no_validation ? NULL : cJSON_AddObjectToObject(prov, "validation");
    cJSON_AddStringToObject(val, "kind",
                            value ? "out-of-fold predicted accuracies of the training pool, tier order"
                                  : "out-of-fold probabilities of the training pool, class order");
    cJSON *vid = cJSON_AddArrayToObject(val, "ids");
    cJSON *vp = cJSON_AddArrayToObject(val, "prob");
    for (size_t j = 0; val && j < nt; j++) {
        cJSON_AddItemToArray(vid, cJSON_CreateString(curves->ids[sp.train_idx[j]]));
        cJSON *row = cJSON_CreateArray();
        for (int c = 0; c < K; c++) {
            /* 9 significant digits are plenty for recalibration; keeps the bundle small */
            char b[32];
            snprintf(b, sizeof b, "%.9g", oof[j * (size_t)K + (size_t)c]);
            cJSON_AddItemToArray(row, cJSON_CreateNumber(strtod(b, NULL)));
        }
        cJSON_AddItemToArray(vp, row);
    }
    prov_text = cJSON_PrintUnformatted(prov);
    if (!prov_text) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
        goto done;
    }
    allot_bundle_parts parts = {
        .n_tiers = T,
        .tier_names = (const char *const *)curves->tier_names,
        .tier_costs = tier_cost,
        .features_spec_json = spec,
        .kind = constant ? "constant"
                : is_xgb ? "xgboost"
                         : "liblinear",
        .n_classes = K,
        .class_tier = cm.class_tier,
        .input = (is_xgb || !want_hash || constant) ? "dense" : "dense+hashed",
        .xgboost_json = is_xgb && !constant && !value ? model_text : NULL,
        .liblinear_text = !is_xgb && !constant && !value ? model_text : NULL,
        .target = value ? "value" : NULL,
        .n_models = value ? T : 0,
        .xgboost_per_tier = value && is_xgb ? (const char *const *)tier_texts : NULL,
        .liblinear_per_tier = value && !is_xgb ? (const char *const *)tier_texts : NULL,
        .rule = value                                ? "value"
                : opt->rule == ALLOT_DECISION_ARGMAX ? "argmax"
                                                     : "calibrated",
        .mu = value && opt->rule == ALLOT_DECISION_ARGMAX ? 0.0 : rep.mu,
        .provenance_json = prov_text,
    };
    st = allot_bundle_write(&parts, out_path, err);
    if (st != ALLOT_OK) goto done;

    /* 9. the runtime must give the trainer's tier on every held-out query */
    if (ns) {
        int brule = value                                ? ALLOT_RT_VALUE
                    : opt->rule == ALLOT_DECISION_ARGMAX ? ALLOT_RT_ARGMAX
                                                         : ALLOT_RT_CALIBRATED;
        st = allot_learn_runtime_parity(
            out_path, curves, sp.test_idx, ns, test_prob, K, cm.class_tier, class_cost,
            value && opt->rule == ALLOT_DECISION_ARGMAX ? 0.0 : rep.mu, brule, &rep.runtime_parity, err);
        if (st != ALLOT_OK) goto done;
    }
    rep.seconds = allot_now_seconds() - t0;

done:
    if (report) *report = rep;
    allot_split_free(&sp);
    allot_class_map_free(&cm);
    allot_feature_matrix_free(&fm);
    allot_featurizer_free(fz);
    allot_free_names(extra, n_extra);
    fitted_free(&final);
    for (size_t t = 0; finals && t < T; t++) fitted_free(&finals[t]);
    free(finals);
    for (size_t t = 0; tier_texts && t < T; t++) free(tier_texts[t]);
    free(tier_texts);
    free(C_t);
    free(rounds_t);
    free(rounds_int);
    free(tier_lab);
    free(y);
    free(y_test_tier);
    free(choice);
    free(tier_cost);
    free(class_cost);
    free(oof);
    free(test_prob);
    free(realised_train);
    free(center);
    free(scale);
    free(row_w);
    free(lin_dense);
    free(model_text);
    free(spec);
    free(prov_text);
    cJSON_Delete(prov);
    return st;
}
