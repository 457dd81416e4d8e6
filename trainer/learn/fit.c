/* fit.c - the learner behind one interface (see fit.h). */
#include "fit.h"

#include <stdlib.h>
#include <string.h>

#include "jobs.h"

void allot_fitted_free(allot_fitted *f) {
    allot_xgb_fit_free(&f->xgb);
    allot_linear_fit_free(&f->lin);
}

static float *gather_dense(const allot_feature_matrix *fm, const size_t *rows, size_t n) {
    float *x = malloc((n * fm->d > 0 ? n * fm->d : 1) * sizeof *x);
    if (!x) return NULL;
    for (size_t j = 0; j < n; j++) memcpy(x + j * fm->d, fm->dense + rows[j] * fm->d, fm->d * sizeof *x);
    return x;
}

allot_status allot_fit_linear_data(const allot_fit_ctx *lc, const size_t *rows, size_t n,
                                   allot_linear_data *dt, allot_error *err) {
    const allot_feature_matrix *fm = lc->fm;
    int hashed = lc->opt->linear.hashed && fm->sp_start;
    return allot_linear_data_build(lc->lin_dense, fm->d, hashed ? fm->sp_start : NULL, fm->sp_index,
                                   fm->sp_value, hashed ? fm->hash_dim : 0, rows, n, lc->opt->linear.bias, dt,
                                   err);
}

/* Fit on rows (labels y); XGBoost early-stops on (val_rows, y_val) when given. */
allot_status allot_fit_rows(const allot_fit_ctx *lc, const size_t *rows, const int *y, size_t n,
                            const size_t *val_rows, const int *y_val, size_t n_val, int rounds_override,
                            double C, allot_fitted *out, allot_error *err) {
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
    st = allot_fit_linear_data(lc, rows, n, &dt, err);
    if (st != ALLOT_OK) return st;
    st = allot_linear_train(&dt, y, lc->K, &lc->opt->linear, C, lc->opt->seed, &out->lin, err);
    allot_linear_data_free(&dt);
    return st;
}

/* Class probabilities (n x K) of a tier policy's classifier, or, with value = 1, the predicted
 * accuracies (n) of one tier's regressor, for the given rows. */
allot_status allot_fit_predict_rows(const allot_fit_ctx *lc, const allot_fitted *f, const size_t *rows,
                                    size_t n, int value, double *out, allot_error *err) {
    allot_status st;
    if (lc->opt->learner == ALLOT_LEARNER_XGBOOST) {
        float *x = gather_dense(lc->fm, rows, n);
        if (!x) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (XGBoost rows)");
        st = allot_xgb_predict(&f->xgb, x, n, out, err);
        free(x);
        return st;
    }
    allot_linear_data dt;
    st = allot_fit_linear_data(lc, rows, n, &dt, err);
    if (st != ALLOT_OK) return st;
    st = value ? allot_linear_predict_value(&f->lin, &dt, out, err)
               : allot_linear_predict(&f->lin, &dt, out, err);
    allot_linear_data_free(&dt);
    return st;
}

/* ---- LIBLINEAR's cross-validation on several threads ------------------------------------------ */

/* The rows of fold f: training rows (curves rows) with their labels, validation rows with their
 * positions in the training pool. */
typedef struct fold_rows {
    size_t *tr, *va, *va_pos;
    int *ytr;
    size_t a, b; /* training and validation counts */
} fold_rows;

static void folds_free(fold_rows *fr, int folds) {
    for (int f = 0; fr && f < folds; f++) {
        free(fr[f].tr);
        free(fr[f].va);
        free(fr[f].va_pos);
        free(fr[f].ytr);
    }
    free(fr);
}

/* Every fold's rows, in the training pool's order (as allot_fit_cross_validate's loop makes them). */
static allot_status folds_make(const allot_split *sp, const int *y_train, fold_rows **out, allot_error *err) {
    size_t nt = sp->n_train;
    fold_rows *fr = calloc((size_t)sp->folds, sizeof *fr);
    if (!fr) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (cross-validation)");
    for (int f = 0; f < sp->folds; f++) {
        fold_rows *x = &fr[f];
        x->tr = malloc((nt ? nt : 1) * sizeof *x->tr);
        x->va = malloc((nt ? nt : 1) * sizeof *x->va);
        x->va_pos = malloc((nt ? nt : 1) * sizeof *x->va_pos);
        x->ytr = malloc((nt ? nt : 1) * sizeof *x->ytr);
        if (!x->tr || !x->va || !x->va_pos || !x->ytr) {
            folds_free(fr, sp->folds);
            return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (cross-validation)");
        }
        for (size_t j = 0; j < nt; j++) {
            size_t r = sp->train_idx[j];
            if (sp->fold[r] == f) {
                x->va[x->b] = r;
                x->va_pos[x->b++] = j;
            } else {
                x->tr[x->a] = r;
                x->ytr[x->a++] = y_train ? y_train[j] : 0;
            }
        }
    }
    *out = fr;
    return ALLOT_OK;
}

/* Every fold's rows and LIBLINEAR data (training, validation), built once for every job. */
typedef struct fold_data {
    fold_rows *fr;
    allot_linear_data *train, *val;
    int folds;
} fold_data;

static void fold_data_free(fold_data *d) {
    for (int f = 0; f < d->folds; f++) {
        if (d->train) allot_linear_data_free(&d->train[f]);
        if (d->val) allot_linear_data_free(&d->val[f]);
    }
    free(d->train);
    free(d->val);
    folds_free(d->fr, d->folds);
    memset(d, 0, sizeof *d);
}

static allot_status fold_data_make(const allot_fit_ctx *lc, const allot_split *sp, const int *y_train,
                                   fold_data *d, allot_error *err) {
    memset(d, 0, sizeof *d);
    allot_status st = folds_make(sp, y_train, &d->fr, err);
    if (st != ALLOT_OK) return st;
    d->folds = sp->folds;
    d->train = calloc((size_t)d->folds, sizeof *d->train);
    d->val = calloc((size_t)d->folds, sizeof *d->val);
    if (!d->train || !d->val) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (cross-validation)");
    for (int f = 0; f < d->folds && st == ALLOT_OK; f++) {
        st = allot_fit_linear_data(lc, d->fr[f].tr, d->fr[f].a, &d->train[f], err);
        if (st == ALLOT_OK) st = allot_fit_linear_data(lc, d->fr[f].va, d->fr[f].b, &d->val[f], err);
    }
    if (st != ALLOT_OK) fold_data_free(d);
    return st;
}

/* The tier target's trainings: fold f at C = cgrid[c] (from init when not NULL), its validation rows'
 * probabilities into oof[c * nt * K + pool position * K]; *out keeps the model. */
typedef struct grid_ctx {
    const allot_fit_ctx *lc;
    const fold_data *fd;
    const double *cgrid;
    size_t n_c, nt;
    int warm, threaded;
    const size_t *which; /* cold set: the C indices to train */
    size_t n_which;
    double *oof;
} grid_ctx;

static allot_status fold_at(const grid_ctx *g, size_t f, size_t c, const double *init, allot_linear_fit *out,
                            allot_error *err) {
    const allot_fit_ctx *lc = g->lc;
    const fold_rows *x = &g->fd->fr[f];
    size_t K = (size_t)lc->K;
    allot_status st = g->threaded ? allot_linear_train_from(&g->fd->train[f], x->ytr, lc->K, &lc->opt->linear,
                                                            g->cgrid[c], init, out, err)
                                  : allot_linear_train(&g->fd->train[f], x->ytr, lc->K, &lc->opt->linear,
                                                       g->cgrid[c], lc->opt->seed, out, err);
    if (st != ALLOT_OK) return st;
    double *pr = malloc((x->b ? x->b : 1) * K * sizeof *pr);
    if (!pr) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (cross-validation)");
    st = allot_linear_predict(out, &g->fd->val[f], pr, err);
    for (size_t j = 0; st == ALLOT_OK && j < x->b; j++)
        memcpy(g->oof + (c * g->nt + x->va_pos[j]) * K, pr + j * K, K * sizeof *pr);
    free(pr);
    return st;
}

/* Job f: the whole C path of fold f, each training warm from the previous one when g->warm. */
static allot_status path_job(void *vctx, size_t f, allot_error *err) {
    const grid_ctx *g = vctx;
    allot_linear_fit prev;
    memset(&prev, 0, sizeof prev);
    allot_status st = ALLOT_OK;
    for (size_t c = 0; c < g->n_c && st == ALLOT_OK; c++) {
        allot_linear_fit m;
        st = fold_at(g, f, c, g->warm && c ? allot_linear_fit_weights(&prev) : NULL, &m, err);
        allot_linear_fit_free(&prev);
        prev = m;
    }
    allot_linear_fit_free(&prev);
    return st;
}

/* Job i of a cold set: C index which[i / folds], fold i % folds. */
static allot_status cold_job(void *vctx, size_t i, allot_error *err) {
    const grid_ctx *g = vctx;
    size_t folds = (size_t)g->fd->folds;
    allot_linear_fit m;
    allot_status st = fold_at(g, i % folds, g->which[i / folds], NULL, &m, err);
    allot_linear_fit_free(&m);
    return st;
}

/* Run the C path (which == NULL) or a cold set on the folds (see fit.h). */
static allot_status linear_cv_run(const allot_fit_ctx *lc, const allot_split *sp, const int *y_train,
                                  const double *cgrid, size_t n_c, int warm, const size_t *which,
                                  size_t n_which, double *oof, allot_progress *pg, size_t *pg_done,
                                  allot_error *err) {
    fold_data fd;
    allot_status st = fold_data_make(lc, sp, y_train, &fd, err);
    if (st != ALLOT_OK) return st;
    int solver = lc->opt->linear.solver;
    grid_ctx g = {lc,
                  &fd,
                  cgrid,
                  n_c,
                  sp->n_train,
                  warm && allot_linear_solver_warm_start(solver),
                  allot_linear_solver_thread_safe(solver),
                  which,
                  n_which,
                  oof};
    allot_linear_quiet();
    /* solvers that draw random numbers run one training at a time, each after srand() */
    int threads = g.threaded ? lc->opt->linear.threads : 1;
    if (which)
        st = allot_jobs_run(n_which * (size_t)sp->folds, threads, cold_job, &g, pg, pg_done, err);
    else
        st = allot_jobs_run((size_t)sp->folds, threads, path_job, &g, pg, pg_done, err);
    fold_data_free(&fd);
    return st;
}

allot_status allot_fit_linear_grid(const allot_fit_ctx *lc, const allot_split *sp, const int *y_train,
                                   const double *cgrid, size_t n_c, int warm, double *oof, allot_progress *pg,
                                   size_t *pg_done, allot_error *err) {
    return linear_cv_run(lc, sp, y_train, cgrid, n_c, warm, NULL, 0, oof, pg, pg_done, err);
}

allot_status allot_fit_linear_cold(const allot_fit_ctx *lc, const allot_split *sp, const int *y_train,
                                   const double *cgrid, const size_t *which, size_t n_which, double *oof,
                                   allot_progress *pg, size_t *pg_done, allot_error *err) {
    return linear_cv_run(lc, sp, y_train, cgrid, 0, 0, which, n_which, oof, pg, pg_done, err);
}

/* One (fold, tier) of the value target's C search: cold trainings at every C of the grid (L2R_L2LOSS_SVR
 * takes no initial solution in LIBLINEAR 2.3), predictions into oof[g * nt * T + position * T + t]. */
typedef struct value_grid_ctx {
    const allot_fit_ctx *lc;
    const fold_rows *fr;
    const allot_linear_data *train_data, *val_data; /* per fold */
    const double *cgrid;
    size_t n_c, nt;
    double *oof;
} value_grid_ctx;

static allot_status value_grid_job(void *vctx, size_t i, allot_error *err) {
    const value_grid_ctx *g = vctx;
    const allot_fit_ctx *lc = g->lc;
    size_t T = lc->c->n_tiers, f = i / T, t = i % T;
    const fold_rows *x = &g->fr[f];
    double *y = malloc((x->a ? x->a : 1) * sizeof *y), *pr = malloc((x->b ? x->b : 1) * sizeof *pr);
    allot_status st = !y || !pr ? allot_error_set(err, ALLOT_E_NOMEM, "out of memory (labels)") : ALLOT_OK;
    for (size_t j = 0; st == ALLOT_OK && j < x->a; j++) y[j] = lc->c->acc[x->tr[j] * T + t];
    for (size_t c = 0; c < g->n_c && st == ALLOT_OK; c++) {
        allot_linear_fit m;
        st = allot_linear_train_value_mt(&g->train_data[f], y, &lc->opt->linear, g->cgrid[c], &m, err);
        if (st == ALLOT_OK) st = allot_linear_predict_value(&m, &g->val_data[f], pr, err);
        allot_linear_fit_free(&m);
        for (size_t j = 0; st == ALLOT_OK && j < x->b; j++)
            g->oof[(c * g->nt + x->va_pos[j]) * T + t] = pr[j];
    }
    free(y);
    free(pr);
    return st;
}

allot_status allot_fit_linear_value_grid(const allot_fit_ctx *lc, const allot_split *sp, const double *cgrid,
                                         size_t n_c, double *oof, allot_progress *pg, size_t *pg_done,
                                         allot_error *err) {
    fold_data fd;
    allot_status st = fold_data_make(lc, sp, NULL, &fd, err);
    if (st != ALLOT_OK) return st;
    value_grid_ctx g = {lc, fd.fr, fd.train, fd.val, cgrid, n_c, sp->n_train, oof};
    allot_linear_quiet();
    st = allot_jobs_run((size_t)sp->folds * lc->c->n_tiers, lc->opt->linear.threads, value_grid_job, &g, pg,
                        pg_done, err);
    fold_data_free(&fd);
    return st;
}

/* k-fold CV over the training pool: out-of-fold probabilities (n_train x K) and, for XGBoost, the
 * mean best number of rounds. */
allot_status allot_fit_cross_validate(const allot_fit_ctx *lc, const allot_split *sp, const int *y_train,
                                      double C, double *oof, double *mean_rounds, allot_progress *pg,
                                      size_t *pg_done, allot_error *err) {
    if (lc->opt->learner == ALLOT_LEARNER_LIBLINEAR) { /* the folds at once where the solver allows */
        size_t zero = 0;
        return allot_fit_linear_cold(lc, sp, y_train, &C, &zero, 1, oof, pg, pg_done, err);
    }
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
        allot_fitted m;
        st = allot_fit_rows(lc, tr, ytr, a, va, yva, b, 0, C, &m, err);
        if (st != ALLOT_OK) goto done;
        st = allot_fit_predict_rows(lc, &m, va, b, 0, pr, err);
        rounds_sum += m.xgb.best_rounds;
        allot_fitted_free(&m);
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
allot_status allot_fit_value_rows(const allot_fit_ctx *lc, size_t t, const size_t *rows, size_t n,
                                  const size_t *val_rows, size_t n_val, int rounds_override, double C,
                                  allot_fitted *out, allot_error *err) {
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
    st = allot_fit_linear_data(lc, rows, n, &dt, err);
    if (st == ALLOT_OK)
        st = allot_linear_train_value(&dt, y, &lc->opt->linear, C, lc->opt->seed, &out->lin, err);
    allot_linear_data_free(&dt);
    free(y);
    return st;
}

/* k-fold CV of every tier's regressor: out-of-fold predictions oof (n_train x T) and, for XGBoost,
 * the mean best number of rounds of each tier. C[t]: LIBLINEAR's C of tier t. */
allot_status allot_fit_cross_validate_value(const allot_fit_ctx *lc, const allot_split *sp, const double *C,
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
            allot_fitted m;
            st = allot_fit_value_rows(lc, t, tr, a, va, b, 0, C ? C[t] : 0, &m, err);
            if (st != ALLOT_OK) goto done;
            st = allot_fit_predict_rows(lc, &m, va, b, 1, pr, err);
            if (mean_rounds) mean_rounds[t] += (double)m.xgb.best_rounds / sp->folds;
            allot_fitted_free(&m);
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
