/*
 * test_linear_parity.c - allot_linear_model against LIBLINEAR 2.3 itself, bit for bit.
 *
 * Each case trains a model with liblinear's train() on sparse synthetic data, writes it with
 * save_model, loads the file (and the same bytes from memory) into the runtime, and compares on
 * 10,000 held-out rows: every decision value (memcmp on double) against predict_values, the
 * predicted label, and for logistic solvers the probabilities against predict_probability. The
 * LIBLINEAR input gets the bias node appended last, as LIBLINEAR's predict program does; test
 * rows also carry indices above nr_feature (both sides must ignore them).
 * The runtime parses with the process in a non-C LC_NUMERIC locale when one is installed.
 */
#include <linear.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allot/allot_model.h"
#include "model_test_util.h"

#define N_TRAIN 4000
#define N_TEST 10000
#define N_FEAT 40

typedef struct lcase {
    const char *name;
    int solver;
    int n_classes; /* 1 = regression */
    double bias;
} lcase;

static void quiet(const char *s) {
    (void)s;
}

/* Sparse rows: about a third of the features present, increasing indices. Test rows may use
 * indices up to N_FEAT + 5 (unseen in training). Leaves room for the bias node and -1. */
typedef struct rows {
    struct feature_node **x;
    struct feature_node *pool;
    double *y;
    size_t n;
} rows;

static void make_rows(rows *r, uint64_t seed, size_t n, int max_index, int n_classes, double bias,
                      const int *labels) {
    mt_rng g = {seed};
    r->n = n;
    r->x = malloc(n * sizeof *r->x);
    r->pool = malloc(n * (size_t)(max_index + 2) * sizeof *r->pool);
    r->y = malloc(n * sizeof *r->y);
    for (size_t i = 0; i < n; i++) {
        struct feature_node *row = r->pool + i * (size_t)(max_index + 2);
        size_t k = 0;
        double s = 0;
        for (int j = 1; j <= max_index; j++) {
            if (mt_uniform(&g) < 0.35) {
                double v = mt_normal(&g);
                if (j % 7 == 0) v = floor(v * 3);
                row[k].index = j;
                row[k].value = v;
                k++;
                if (j <= N_FEAT) s += v * ((j % 4) - 1.5) * 0.6;
            }
        }
        s += 0.5 * mt_normal(&g);
        if (bias >= 0) {
            row[k].index = N_FEAT + 1; /* training only: prob.n = N_FEAT + 1 */
            row[k].value = bias;
            k++;
        }
        row[k].index = -1;
        r->x[i] = row;
        if (n_classes <= 1) {
            r->y[i] = s;
        } else {
            int c = (int)floor((s + 2.0) / 4.0 * n_classes);
            if (c < 0) c = 0;
            if (c >= n_classes) c = n_classes - 1;
            r->y[i] = labels[c];
        }
    }
}

static void free_rows(rows *r) {
    free(r->x);
    free(r->pool);
    free(r->y);
}

static void run_case(mt_counts *c, const lcase *k, const char *tmpdir) {
    static const int labels[4] = {3, -1, 7, 2};
    rows tr, te;
    make_rows(&tr, 11 + (uint64_t)k->solver, N_TRAIN, N_FEAT, k->n_classes, k->bias, labels);
    make_rows(&te, 99 + (uint64_t)k->solver, N_TEST, N_FEAT + 5, k->n_classes, -1, labels);
    struct problem prob = {(int)tr.n, N_FEAT + (k->bias >= 0 ? 1 : 0), tr.y, tr.x, k->bias};
    struct parameter param;
    memset(&param, 0, sizeof param);
    param.solver_type = k->solver;
    param.eps = 0.01;
    param.C = 1.0;
    param.p = 0.1;
    const char *perr = check_parameter(&prob, &param);
    if (!mt_check(c, perr == NULL, "%s: check_parameter: %s", k->name, perr ? perr : "")) return;
    struct model *ref = train(&prob, &param);
    char path[512];
    snprintf(path, sizeof path, "%s/%s.model", tmpdir, k->name);
    mt_check(c, save_model(path, ref) == 0, "%s: save_model", k->name);

    allot_error err = {0};
    allot_linear_model *m = NULL;
    if (!mt_check(c, allot_linear_model_load_file(path, &m, &err) == ALLOT_OK, "%s: load: %s", k->name,
                  err.msg)) {
        free_and_destroy_model(&ref);
        free_rows(&tr);
        free_rows(&te);
        return;
    }
    /* Same bytes from memory, without a terminating NUL. */
    {
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc((size_t)len);
        size_t got = fread(buf, 1, (size_t)len, f);
        fclose(f);
        allot_linear_model *m2 = NULL;
        mt_check(
            c, got == (size_t)len && allot_linear_model_load_memory(buf, (size_t)len, &m2, &err) == ALLOT_OK,
            "%s: load_memory: %s", k->name, err.msg);
        allot_linear_model_free(m2);
        free(buf);
    }
    unlink(path);
    size_t nr_w = allot_linear_model_num_decision_values(m);
    int expect_nr_w = (ref->nr_class == 2 && k->solver != MCSVM_CS) ? 1 : ref->nr_class;
    mt_check(c, nr_w == (size_t)expect_nr_w, "%s: nr_w %zu, expected %d", k->name, nr_w, expect_nr_w);
    mt_check(c, allot_linear_model_num_classes(m) == (size_t)ref->nr_class, "%s: nr_class", k->name);
    mt_check(c, allot_linear_model_num_features(m) == (size_t)ref->nr_feature, "%s: nr_feature", k->name);
    for (int i = 0; ref->label && i < ref->nr_class; i++)
        mt_check(c, allot_linear_model_label(m, (size_t)i) == ref->label[i], "%s: label %d", k->name, i);

    size_t dec_mism = 0, label_mism = 0, prob_mism = 0, status_bad = 0;
    struct feature_node buf[N_FEAT + 8];
    allot_linear_feature feats[N_FEAT + 8];
    double dref[8], dgot[8], pref[8], pgot[8];
    int probs = check_probability_model(ref);
    mt_check(c, probs == allot_linear_model_has_probability(m), "%s: has_probability", k->name);
    for (size_t i = 0; i < te.n; i++) {
        size_t n = 0;
        for (const struct feature_node *p = te.x[i]; p->index != -1; p++) {
            buf[n] = *p;
            feats[n].index = p->index;
            feats[n].value = p->value;
            n++;
        }
        size_t nf = n;
        /* LIBLINEAR's predict program drops nothing and appends the bias node. Our test rows
         * may contain index N_FEAT+1 (== bias index): keep LIBLINEAR's input identical to what
         * predict.c would build, i.e. features > nr_feature removed first when bias >= 0 so the
         * comparison is on the documented contract (indices > nr_feature ignored). */
        size_t w = 0;
        for (size_t j = 0; j < n; j++)
            if (buf[j].index <= ref->nr_feature) buf[w++] = buf[j];
        n = w;
        if (ref->bias >= 0) {
            buf[n].index = ref->nr_feature + 1;
            buf[n].value = ref->bias;
            n++;
        }
        buf[n].index = -1;
        double lref = predict_values(ref, buf, dref);
        double lgot = 0;
        if (allot_linear_model_predict_values(m, feats, nf, dgot, 8, &lgot, &err) != ALLOT_OK) status_bad++;
        if (memcmp(dref, dgot, nr_w * sizeof(double)) != 0) dec_mism++;
        if (memcmp(&lref, &lgot, sizeof lref) != 0) label_mism++;
        if (probs) {
            double lpr = predict_probability(ref, buf, pref);
            double lpg = 0;
            if (allot_linear_model_predict_probability(m, feats, nf, pgot, 8, &lpg, &err) != ALLOT_OK)
                status_bad++;
            if (memcmp(pref, pgot, (size_t)ref->nr_class * sizeof(double)) != 0 || lpr != lpg) prob_mism++;
        }
    }
    mt_check(c, status_bad == 0, "%s: %zu predict calls failed: %s", k->name, status_bad, err.msg);
    mt_check(c, dec_mism == 0, "%s: %zu of %zu rows with decision values differing from predict_values",
             k->name, dec_mism, te.n);
    mt_check(c, label_mism == 0, "%s: %zu predicted labels differ", k->name, label_mism);
    mt_check(c, prob_mism == 0, "%s: %zu probability rows differ", k->name, prob_mism);
    printf("  %-24s %-20s nr_class %d nr_w %zu bias %g: %zu rows, decision mismatches %zu, label %zu, prob "
           "%s%zu\n",
           k->name, allot_linear_model_solver_name(m), ref->nr_class, nr_w, ref->bias, te.n, dec_mism,
           label_mism, probs ? "" : "(n/a) ", prob_mism);
    /* Probabilities refused for non-logistic solvers. */
    if (!probs)
        mt_check(c,
                 allot_linear_model_predict_probability(m, feats, 1, pgot, 8, NULL, &err) ==
                     ALLOT_E_UNSUPPORTED,
                 "%s: probabilities must be refused", k->name);
    allot_linear_model_free(m);
    free_and_destroy_model(&ref);
    free_rows(&tr);
    free_rows(&te);
}

int main(void) {
    mt_counts c = {0, 0};
    set_print_string_function(quiet);
    /* A locale with a decimal comma, if installed, must not change how the runtime parses. */
    const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!loc) loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    char tmpdir[] = "/tmp/allot-linear-XXXXXX";
    if (!mkdtemp(tmpdir)) return 2;
    static const lcase cases[] = {
        {"lr2_bias", L2R_LR, 2, 1.0},
        {"lr2_nobias", L2R_LR, 2, -1},
        {"lr4_bias", L2R_LR, 4, 1.0},
        {"lr4_nobias", L2R_LR, 4, -1},
        {"lrdual3_bias", L2R_LR_DUAL, 3, 0.5},
        {"l1lr4_bias", L1R_LR, 4, 1.0},
        {"l2svc2_bias", L2R_L2LOSS_SVC, 2, 1.0},
        {"l2svc4_nobias", L2R_L2LOSS_SVC, 4, -1},
        {"l2svcdual2_nobias", L2R_L2LOSS_SVC_DUAL, 2, -1},
        {"mcsvm2_bias", MCSVM_CS, 2, 1.0},
        {"mcsvm4_bias", MCSVM_CS, 4, 1.0},
        {"svr_bias", L2R_L2LOSS_SVR, 1, 1.0},
    };
    /* save_model/load in LIBLINEAR switch LC_ALL to "C" and back, so write models under C. */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&c, &cases[i], tmpdir);
    printf("LC_NUMERIC during the run: %s\n", loc ? loc : "C (no comma locale installed)");
    rmdir(tmpdir);
    return mt_finish(&c);
}
