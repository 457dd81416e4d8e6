/* linear_learner.c - LIBLINEAR 2.3 (see linear_learner.h). */
#include "linear_learner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <linear.h>

#include "cleanup.h"
#include "util.h"

static void silent_print(const char *s) {
    (void)s;
}

static const struct {
    int id;
    const char *name;
} solver_names[] = {
    {L2R_LR, "L2R_LR"},
    {L2R_L2LOSS_SVC_DUAL, "L2R_L2LOSS_SVC_DUAL"},
    {L2R_L2LOSS_SVC, "L2R_L2LOSS_SVC"},
    {L2R_L1LOSS_SVC_DUAL, "L2R_L1LOSS_SVC_DUAL"},
    {MCSVM_CS, "MCSVM_CS"},
    {L1R_L2LOSS_SVC, "L1R_L2LOSS_SVC"},
    {L1R_LR, "L1R_LR"},
    {L2R_LR_DUAL, "L2R_LR_DUAL"},
};

int allot_linear_solver_is_logistic(int solver) {
    return solver == L2R_LR || solver == L1R_LR || solver == L2R_LR_DUAL;
}

int allot_linear_solver_parse(const char *name) {
    for (size_t i = 0; i < sizeof solver_names / sizeof solver_names[0]; i++) {
        char num[8];
        snprintf(num, sizeof num, "%d", solver_names[i].id);
        if (!strcasecmp(name, solver_names[i].name) || !strcmp(name, num)) return solver_names[i].id;
    }
    return -1; /* regression solvers are not classifiers: refused */
}

const char *allot_linear_solver_name(int solver) {
    for (size_t i = 0; i < sizeof solver_names / sizeof solver_names[0]; i++)
        if (solver_names[i].id == solver) return solver_names[i].name;
    return "?";
}

allot_status allot_linear_data_build(const float *dense, size_t d, const size_t *sp_start,
                                     const uint32_t *sp_index, const float *sp_value, uint32_t hash_dim,
                                     const size_t *rows, size_t n, double bias, allot_linear_data *out,
                                     allot_error *err) {
    memset(out, 0, sizeof *out);
    size_t total = 0;
    for (size_t j = 0; j < n; j++) {
        size_t r = rows ? rows[j] : j;
        for (size_t k = 0; k < d; k++)
            if (dense[r * d + k] != 0.0f) total++;
        if (sp_start) total += sp_start[r + 1] - sp_start[r];
        total += 2; /* bias + terminator */
    }
    struct feature_node *pool = malloc((total ? total : 1) * sizeof *pool);
    struct feature_node **rp = malloc((n ? n : 1) * sizeof *rp);
    if (!pool || !rp) {
        free(pool);
        free(rp);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (LIBLINEAR rows)");
    }
    int nf = (int)d + (sp_start ? (int)hash_dim : 0);
    size_t at = 0;
    for (size_t j = 0; j < n; j++) {
        size_t r = rows ? rows[j] : j;
        rp[j] = pool + at;
        for (size_t k = 0; k < d; k++) {
            float v = dense[r * d + k];
            if (v == 0.0f) continue;
            pool[at].index = (int)k + 1;
            pool[at++].value = (double)v;
        }
        if (sp_start)
            for (size_t e = sp_start[r]; e < sp_start[r + 1]; e++) {
                pool[at].index = (int)d + 1 + (int)sp_index[e];
                pool[at++].value = (double)sp_value[e];
            }
        if (bias >= 0) {
            pool[at].index = nf + 1;
            pool[at++].value = bias;
        }
        pool[at].index = -1;
        pool[at++].value = 0;
    }
    out->n = n;
    out->n_features = nf;
    out->bias = bias;
    out->rows = (void **)rp;
    out->pool = pool;
    return ALLOT_OK;
}

void allot_linear_data_free(allot_linear_data *dt) {
    if (!dt) return;
    free(dt->rows);
    free(dt->pool);
    memset(dt, 0, sizeof *dt);
}

/* A classification problem and its parameters as LIBLINEAR takes them, with the buffers they own. */
typedef struct classify_setup {
    struct problem prob;
    struct parameter par;
    int *weight_label;
    double *weight;
} classify_setup;

static void classify_setup_free(classify_setup *s) {
    free(s->prob.y);
    free(s->weight_label);
    free(s->weight);
}

/* Labels y (class indices), solver, C, LIBLINEAR's default stopping tolerance for the solver, and
 * balanced class weights w_c = n / (K n_c) for the classes present when asked. Checked with
 * check_parameter(). */
static allot_status classify_setup_init(classify_setup *s, const allot_linear_data *dt, const int *y,
                                        int n_classes, const allot_linear_params *p, double C,
                                        allot_error *err) {
    memset(s, 0, sizeof *s);
    s->prob.l = (int)dt->n;
    s->prob.n = dt->n_features + (dt->bias >= 0 ? 1 : 0);
    s->prob.bias = dt->bias;
    s->prob.x = (struct feature_node **)dt->rows;
    s->prob.y = malloc(dt->n * sizeof(double));
    s->weight_label = malloc((size_t)(n_classes > 0 ? n_classes : 1) * sizeof(int));
    s->weight = malloc((size_t)(n_classes > 0 ? n_classes : 1) * sizeof(double));
    if (!s->prob.y || !s->weight_label || !s->weight) {
        classify_setup_free(s);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (LIBLINEAR problem)");
    }
    for (size_t i = 0; i < dt->n; i++) s->prob.y[i] = (double)y[i];
    s->par.solver_type = p->solver;
    s->par.C = C;
    s->par.p = 0.1;
    if (p->eps > 0)
        s->par.eps = p->eps;
    else
        s->par.eps = (p->solver == L2R_LR || p->solver == L2R_L2LOSS_SVC || p->solver == L1R_LR ||
                      p->solver == L1R_L2LOSS_SVC)
                         ? 0.01
                         : 0.1; /* LIBLINEAR's own defaults (train.c) */
    if (p->class_weights && n_classes > 0) {
        int k = 0;
        for (int c = 0; c < n_classes; c++) {
            size_t cnt = 0;
            for (size_t i = 0; i < dt->n; i++) cnt += y[i] == c;
            if (!cnt) continue;
            s->weight_label[k] = c;
            s->weight[k++] = allot_class_weight(p->class_weights, dt->n, n_classes, cnt);
        }
        s->par.nr_weight = k;
        s->par.weight_label = s->weight_label;
        s->par.weight = s->weight;
    }
    const char *msg = check_parameter(&s->prob, &s->par);
    if (msg) {
        classify_setup_free(s);
        return allot_error_set(err, ALLOT_E_ARGUMENT, "LIBLINEAR: %s", msg);
    }
    return ALLOT_OK;
}

void allot_linear_quiet(void) {
    set_print_string_function(silent_print);
}

int allot_linear_solver_thread_safe(int solver) {
    return solver == L2R_LR || solver == L2R_L2LOSS_SVC || solver == L2R_L2LOSS_SVR;
}

int allot_linear_solver_warm_start(int solver) {
    return solver == L2R_LR || solver == L2R_L2LOSS_SVC;
}

const double *allot_linear_fit_weights(const allot_linear_fit *m) {
    return m->model ? ((const struct model *)m->model)->w : NULL;
}

allot_status allot_linear_train_from(const allot_linear_data *dt, const int *y, int n_classes,
                                     const allot_linear_params *p, double C, const double *init,
                                     allot_linear_fit *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    if (dt->n == 0) return allot_error_set(err, ALLOT_E_ARGUMENT, "LIBLINEAR: no training rows");
    if (!allot_linear_solver_thread_safe(p->solver) || (init && !allot_linear_solver_warm_start(p->solver)))
        return allot_error_set(err, ALLOT_E_INTERNAL, "LIBLINEAR: %s cannot train this way",
                               allot_linear_solver_name(p->solver));
    classify_setup s;
    allot_status st = classify_setup_init(&s, dt, y, n_classes, p, C, err);
    if (st != ALLOT_OK) return st;
    s.par.init_sol = (double *)init; /* read only by train() */
    struct model *m = train(&s.prob, &s.par);
    classify_setup_free(&s);
    if (!m) return allot_error_set(err, ALLOT_E_INTERNAL, "LIBLINEAR train() failed");
    out->model = m;
    out->n_classes = n_classes;
    return ALLOT_OK;
}

allot_status allot_linear_train(const allot_linear_data *dt, const int *y, int n_classes,
                                const allot_linear_params *p, double C, uint64_t seed, allot_linear_fit *out,
                                allot_error *err) {
    memset(out, 0, sizeof *out);
    if (dt->n == 0) return allot_error_set(err, ALLOT_E_ARGUMENT, "LIBLINEAR: no training rows");
    allot_linear_quiet();
    classify_setup s;
    allot_status st = classify_setup_init(&s, dt, y, n_classes, p, C, err);
    if (st != ALLOT_OK) return st;
    srand((unsigned)(seed & 0xffffffffu)); /* see the header: LIBLINEAR's only source of randomness */
    struct model *m = train(&s.prob, &s.par);
    classify_setup_free(&s);
    if (!m) return allot_error_set(err, ALLOT_E_INTERNAL, "LIBLINEAR train() failed");
    out->model = m;
    out->n_classes = n_classes;
    return ALLOT_OK;
}

/* The value target's regression; srand(seed) first unless seed_rand is 0 (the solver draws no
 * random numbers, so the result is the same either way). */
static allot_status train_value(const allot_linear_data *dt, const double *y, const allot_linear_params *p,
                                double C, int seed_rand, uint64_t seed, allot_linear_fit *out,
                                allot_error *err) {
    memset(out, 0, sizeof *out);
    if (dt->n == 0) return allot_error_set(err, ALLOT_E_ARGUMENT, "LIBLINEAR: no training rows");
    struct problem prob;
    prob.l = (int)dt->n;
    prob.n = dt->n_features + (dt->bias >= 0 ? 1 : 0);
    prob.bias = dt->bias;
    prob.x = (struct feature_node **)dt->rows;
    prob.y = malloc(dt->n * sizeof(double));
    if (!prob.y) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (LIBLINEAR problem)");
    memcpy(prob.y, y, dt->n * sizeof(double));
    struct parameter par;
    memset(&par, 0, sizeof par);
    par.solver_type = L2R_L2LOSS_SVR;
    par.C = C;
    par.p = 0; /* no epsilon-insensitive zone: squared loss on every residual (accuracies live in [0,1]) */
    par.eps = p->eps > 0 ? p->eps : 0.0001; /* LIBLINEAR's default for L2R_L2LOSS_SVR (train.c) */
    const char *msg = check_parameter(&prob, &par);
    if (msg) {
        free(prob.y);
        return allot_error_set(err, ALLOT_E_ARGUMENT, "LIBLINEAR: %s", msg);
    }
    if (seed_rand) srand((unsigned)(seed & 0xffffffffu));
    struct model *m = train(&prob, &par);
    free(prob.y);
    if (!m) return allot_error_set(err, ALLOT_E_INTERNAL, "LIBLINEAR train() failed");
    out->model = m;
    out->n_classes = 1;
    return ALLOT_OK;
}

allot_status allot_linear_train_value(const allot_linear_data *dt, const double *y,
                                      const allot_linear_params *p, double C, uint64_t seed,
                                      allot_linear_fit *out, allot_error *err) {
    allot_linear_quiet();
    return train_value(dt, y, p, C, 1, seed, out, err);
}

allot_status allot_linear_train_value_mt(const allot_linear_data *dt, const double *y,
                                         const allot_linear_params *p, double C, allot_linear_fit *out,
                                         allot_error *err) {
    return train_value(dt, y, p, C, 0, 0, out, err);
}

allot_status allot_linear_predict_value(const allot_linear_fit *m, const allot_linear_data *dt, double *out,
                                        allot_error *err) {
    struct model *mod = m->model;
    double dec[2];
    for (size_t r = 0; r < dt->n; r++) {
        predict_values(mod, dt->rows[r], dec);
        out[r] = dec[0] < 0 ? 0.0 : dec[0] > 1 ? 1.0 : dec[0]; /* the decision rule's clip, as the runtime */
    }
    (void)err;
    return ALLOT_OK;
}

allot_status allot_linear_find_C(const allot_linear_data *dt, const int *y, int n_classes,
                                 const allot_linear_params *p, int folds, double start_C, uint64_t seed,
                                 double *best_C, double *best_acc, allot_error *err) {
    if (p->solver != L2R_LR && p->solver != L2R_L2LOSS_SVC)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "LIBLINEAR's find_parameters searches C for L2R_LR and L2R_L2LOSS_SVC only");
    if (dt->n < (size_t)folds) return allot_error_set(err, ALLOT_E_INVALID, "fewer rows than folds");
    allot_linear_quiet();
    classify_setup su;
    allot_status st = classify_setup_init(&su, dt, y, n_classes, p, 1.0, err);
    if (st != ALLOT_OK) return st;
    double bp = 0, score = 0;
    srand((unsigned)(seed & 0xffffffffu)); /* find_parameters shuffles its folds with rand() */
    find_parameters(&su.prob, &su.par, folds, start_C, -1, best_C, &bp, &score);
    if (best_acc) *best_acc = score / 100.0; /* LIBLINEAR reports accuracy in percent */
    classify_setup_free(&su);
    return ALLOT_OK;
}

allot_status allot_linear_predict(const allot_linear_fit *m, const allot_linear_data *dt, double *prob,
                                  allot_error *err) {
    struct model *mod = m->model;
    int nc = get_nr_class(mod);
    int K = m->n_classes;
    int *labels = malloc((size_t)(nc > 0 ? nc : 1) * sizeof(int));
    double *buf = malloc((size_t)(nc > 0 ? nc : 1) * sizeof(double));
    if (!labels || !buf) {
        free(labels);
        free(buf);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (LIBLINEAR prediction)");
    }
    get_labels(mod, labels);
    int logistic = check_probability_model(mod);
    for (size_t r = 0; r < dt->n; r++) {
        const struct feature_node *x = dt->rows[r];
        double *pr = prob + r * (size_t)K;
        for (int k = 0; k < K; k++) pr[k] = 0.0;
        if (nc == 1) { /* one label seen in training: certain */
            pr[labels[0]] = 1.0;
            continue;
        }
        if (logistic) {
            predict_probability(mod, x, buf);
        } else {
            /* as the runtime scores them (runtime/src/policy.c): one decision value -> a sigmoid,
             * as LIBLINEAR's logistic regression; several -> a softmax */
            predict_values(mod, x, buf);
            if (nc == 2 && mod->param.solver_type != MCSVM_CS) {
                double p0 = 1.0 / (1.0 + exp(-buf[0]));
                buf[0] = p0;
                buf[1] = 1.0 - p0;
            } else {
                double mx = buf[0], s = 0;
                for (int k = 1; k < nc; k++)
                    if (buf[k] > mx) mx = buf[k];
                for (int k = 0; k < nc; k++) s += exp(buf[k] - mx);
                for (int k = 0; k < nc; k++) buf[k] = exp(buf[k] - mx) / s;
            }
        }
        for (int k = 0; k < nc; k++)
            if (labels[k] >= 0 && labels[k] < K) pr[labels[k]] = buf[k];
    }
    free(labels);
    free(buf);
    (void)err;
    return ALLOT_OK;
}

allot_status allot_linear_model_text(const allot_linear_fit *m, char **text, allot_error *err) {
    *text = NULL;
    const char *dir = getenv("TMPDIR");
    char target[4096];
    snprintf(target, sizeof target, "%s/allot-liblinear", dir && *dir ? dir : "/tmp");
    /* "<TMPDIR>/allot-liblinear.allot-tmp.<pid>.XXXXXX", removed on SIGINT/SIGTERM too (cleanup.h) */
    char *path = NULL;
    int slot = -1;
    int fd = allot_cleanup_create_tmp(target, &path, &slot);
    if (fd < 0)
        return allot_error_set(err, ALLOT_E_IO, "cannot create a temporary file in %s: %s",
                               dir && *dir ? dir : "/tmp", strerror(errno));
    close(fd);
    /* LIBLINEAR 2.3 can only save to a file (and switches the locale to "C" while doing so) */
    allot_status st = ALLOT_OK;
    if (save_model(path, m->model) != 0)
        st = allot_error_set(err, ALLOT_E_IO, "LIBLINEAR save_model(%s) failed", path);
    size_t len = 0;
    if (st == ALLOT_OK) st = allot_read_file(path, 0, text, &len, err);
    unlink(path);
    allot_cleanup_remove(slot);
    free(path);
    return st;
}

void allot_linear_fit_free(allot_linear_fit *m) {
    if (!m) return;
    if (m->model) {
        struct model *mod = m->model;
        free_and_destroy_model(&mod);
    }
    memset(m, 0, sizeof *m);
}
