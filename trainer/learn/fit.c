/* fit.c - the learner behind one interface (see fit.h). */
#include "fit.h"

#include <stdlib.h>
#include <string.h>

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

/* k-fold CV over the training pool: out-of-fold probabilities (n_train x K) and, for XGBoost, the
 * mean best number of rounds. */
allot_status allot_fit_cross_validate(const allot_fit_ctx *lc, const allot_split *sp, const int *y_train,
                                      double C, double *oof, double *mean_rounds, allot_progress *pg,
                                      size_t *pg_done, allot_error *err) {
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
