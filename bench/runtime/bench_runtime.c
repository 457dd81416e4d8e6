/*
 * bench_runtime.c - latency of the runtime's model evaluators against the reference libraries,
 * measured in the same run (ratios are what matter on a noisy 2-core machine).
 *
 *   XGBoost: a 4-class multi:softprob model, 100 rounds x 4 classes = 400 trees of depth 6, on 32
 *   features with 5% missing, trained here through XGBoost's C API (fixed seed). Single-row latency
 *   (p50/p99) over DISTINCT rows for
 *     - allot_xgb_model_predict,
 *     - XGBoosterPredictFromDense called the default way (no proxy: XGBoost makes a new proxy
 *       DMatrix per call; default nthread),
 *     - XGBoosterPredictFromDense at its best (one reused proxy DMatrix, nthread = 1);
 *   batch throughput, load time, and a bit-for-bit check of every benchmarked output.
 *   LIBLINEAR: a 4-class L2R_LR model on 300 sparse features; allot_linear_model_predict_values
 *   vs LIBLINEAR's predict_values and predict.
 *   Allocations: malloc/calloc/realloc are wrapped at link time (-Wl,--wrap=...) and counted
 *   around the timed prediction loops: the runtime must show 0.
 *
 * Usage: bench_runtime [--rows N] [--quick]
 */
#include <inttypes.h>
#include <linear.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allot/allot_features.h"
#include "allot/allot_model.h"
#include "model_test_util.h"
#include "xgb_internal.h" /* allot_xgb_model_batch_kernel_name, allot_xgb_model_use_batch_kernel, ... */
#include "../bench_util.h"

/* ---- allocation counting (link with --wrap=malloc,--wrap=calloc,--wrap=realloc) ---------- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t s);
void *__wrap_realloc(void *p, size_t n);
/* Counts calls made from code linked statically into this executable (the bench and the
 * static allot_runtime); shared libraries (XGBoost, LIBLINEAR) are not wrapped. */
static unsigned long alloc_calls;
void *__wrap_malloc(size_t n) {
    alloc_calls++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t s) {
    alloc_calls++;
    return __real_calloc(n, s);
}
void *__wrap_realloc(void *p, size_t n) {
    alloc_calls++;
    return __real_realloc(p, n);
}

static void quiet_print(const char *s) {
    (void)s;
}

#define N_FEAT 32
#define N_CLASS 4
#define ROUNDS 100

typedef struct stats {
    double p50, p99, mean;
} stats;

static stats summarize(double *lat, size_t n) {
    stats s = {0, 0, 0};
    for (size_t i = 0; i < n; i++) s.mean += lat[i];
    s.mean /= (double)n;
    qsort(lat, n, sizeof *lat, cmp_double);
    s.p50 = lat[n / 2];
    s.p99 = lat[(size_t)((double)n * 0.99)];
    return s;
}

static void print_row(const char *name, stats s, size_t trees) {
    printf("  %-44s p50 %9.0f ns  p99 %9.0f ns  mean %9.0f ns  (%6.2f ns/tree/row at p50)\n", name, s.p50,
           s.p99, s.mean, s.p50 / (double)trees);
}

/* The gateway's LIBLINEAR path end to end: featurise a distinct ~500-byte prompt with the
 * default featuriser (built-in features + hashed uni/bigrams, allot_features.h), standardise,
 * then class probabilities of a 4-class L2R_LR model over all those features (random weights:
 * the cost does not depend on their values). */
static void bench_text_path(allot_error *err) {
    allot_featurizer *fz = NULL;
    if (allot_featurizer_create_default(NULL, 0, ALLOT_FEATURES_DEFAULT_HASH_DIM, &fz, err) != ALLOT_OK) {
        printf("  text path: featurizer: %s\n", err->msg);
        return;
    }
    size_t nd = allot_featurizer_n_dense(fz), hd = allot_featurizer_hash_dim(fz);
    size_t nf = nd + hd;
    mt_rng g = {321};
    size_t cap = 64 + (nf + 1) * 4 * 24, o = 0;
    char *txt = malloc(cap);
    o += (size_t)snprintf(txt + o, cap - o,
                          "solver_type L2R_LR\nnr_class 4\nlabel 0 1 2 3\nnr_feature %zu\nbias 1\nw\n", nf);
    for (size_t i = 0; i < nf + 1; i++) {
        for (int k = 0; k < 4; k++) o += (size_t)snprintf(txt + o, cap - o, "%.17g ", mt_normal(&g) * 0.1);
        o += (size_t)snprintf(txt + o, cap - o, "\n");
    }
    allot_linear_model *lm = NULL;
    if (allot_linear_model_load_memory(txt, o, &lm, err) != ALLOT_OK) {
        printf("  text path: model: %s\n", err->msg);
        free(txt);
        allot_featurizer_free(fz);
        return;
    }
    enum { NP = 4000, PLEN = 500 };
    static const char *words[] = {"prove",       "that", "the",    "sum",    "of",     "integer",
                                  "x",           "=",    "solve",  "for",    "if",     "and",
                                  "only",        "when", "2",      "17",     "matrix", "compute",
                                  "probability", "a",    "circle", "radius", "find",   "(3)"};
    char *prompts = malloc((size_t)NP * PLEN);
    for (size_t p = 0; p < NP; p++) {
        char *q = prompts + p * PLEN;
        size_t k = 0;
        while (k < PLEN) {
            const char *w = words[mt_next(&g) % (sizeof words / sizeof words[0])];
            for (size_t c = 0; w[c] && k < PLEN; c++) q[k++] = w[c];
            if (k < PLEN) q[k++] = (mt_next(&g) % 9 == 0) ? '\n' : ' ';
        }
    }
    float *dense = malloc(nd * sizeof *dense);
    uint32_t *sidx = malloc(hd * sizeof *sidx);
    float *sval = malloc(hd * sizeof *sval);
    allot_linear_feature *feat = malloc((nf + 1) * sizeof *feat);
    double *lat = malloc(NP * sizeof *lat), *lat_f = malloc(NP * sizeof *lat_f), prob[4], pred;
    unsigned long a0 = alloc_calls;
    size_t total_nnz = 0;
    for (size_t p = 0; p < NP; p++) {
        double s = now_ns();
        size_t cnt = 0, n = 0;
        allot_featurize(fz, prompts + p * PLEN, PLEN, NULL, 0, dense, sidx, sval, hd, &cnt, NULL);
        allot_featurizer_standardize(fz, dense, dense);
        double s2 = now_ns();
        for (size_t i = 0; i < nd; i++)
            if (dense[i] != 0) feat[n++] = (allot_linear_feature){(int32_t)(i + 1), dense[i]};
        for (size_t i = 0; i < cnt; i++)
            feat[n++] = (allot_linear_feature){(int32_t)(nd + 1 + sidx[i]), sval[i]};
        allot_linear_model_predict_probability(lm, feat, n, prob, 4, &pred, NULL);
        double e = now_ns();
        lat[p] = e - s;
        lat_f[p] = s2 - s;
        total_nnz += n;
    }
    unsigned long allocs = alloc_calls - a0;
    stats st = summarize(lat, NP), sf = summarize(lat_f, NP);
    printf("\ntext path: featurise a distinct %d-byte prompt (%zu dense + %zu hashed dims, ~%zu nonzeros) + "
           "LIBLINEAR 4-class probabilities\n",
           PLEN, nd, hd, total_nnz / NP);
    printf(
        "  featurise + predict_probability   p50 %6.0f ns  p99 %6.0f ns  (featurise alone p50 %.0f ns; %lu "
        "allocator calls in %d queries)\n",
        st.p50, st.p99, sf.p50, allocs, NP);
    allot_linear_model_free(lm);
    allot_featurizer_free(fz);
    free(txt);
    free(prompts);
    free(dense);
    free(sidx);
    free(sval);
    free(feat);
    free(lat);
    free(lat_f);
}

/* Best of 5 batch calls over n_rows rows (ns per row) with the named batch kernel, forced through the
 * runtime's internal hook on a fresh copy of the model; *mism counts outputs differing from ref. -1
 * when this CPU or model does not allow the kernel. */
static double time_kernel(const char *json, size_t json_len, const char *kernel, const float *xt,
                          size_t n_rows, float *out, const float *ref, size_t *mism) {
    allot_xgb_model *m = NULL;
    double best = -1;
    if (allot_xgb_model_load_memory(json, json_len, &m, NULL) == ALLOT_OK &&
        allot_xgb_model_use_batch_kernel(m, kernel)) {
        best = 1e300;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now_ns();
            allot_xgb_model_predict_batch(m, ALLOT_XGB_OUTPUT_VALUE, xt, n_rows, N_FEAT, out,
                                          n_rows * N_CLASS, NULL);
            double e = (now_ns() - t0) / (double)n_rows;
            if (e < best) best = e;
        }
        for (size_t i = 0; i < n_rows * N_CLASS; i++) *mism += memcmp(&out[i], &ref[i], sizeof(float)) != 0;
    }
    allot_xgb_model_free(m);
    return best;
}

int main(int argc, char **argv) {
    size_t n_rows = 20000;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            n_rows = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
    }
    if (n_rows < 1000) n_rows = 1000;
    size_t n_xgb_default = quick ? 500 : 3000; /* the default XGBoost call is slow: fewer rows */
    size_t n_train = quick ? 5000 : 20000;

    printf("bench_runtime: XGBoost %d rounds x %d classes, depth 6, %d features, 5%% missing; %zu distinct "
           "rows\n",
           ROUNDS, N_CLASS, N_FEAT, n_rows);
    float *x, *y, *xt, *yt;
    mt_make_data(2024, n_train, N_FEAT, 0.05, N_CLASS, &x, &y);
    mt_make_data(4242, n_rows, N_FEAT, 0.05, N_CLASS, &xt, &yt);
    const char *params[] = {
        "objective",   "multi:softprob", "num_class",        "4", "max_depth", "6",   "eta", "0.1",
        "tree_method", "hist",           "min_child_weight", "0", "lambda",    "0.1", NULL};
    double t0 = now_ns();
    BoosterHandle b = mt_xgb_train(x, y, n_train, N_FEAT, ROUNDS, params);
    printf("  trained in %.1f s\n", (now_ns() - t0) * 1e-9);
    size_t json_len;
    char *json = mt_xgb_save_json(b, &json_len);

    /* ---- load time ---- */
    allot_error err = {0};
    allot_xgb_model *m = NULL;
    int loads = quick ? 3 : 10;
    unsigned long a0 = alloc_calls;
    t0 = now_ns();
    for (int i = 0; i < loads; i++) {
        allot_xgb_model_free(m);
        if (allot_xgb_model_load_memory(json, json_len, &m, &err) != ALLOT_OK) {
            fprintf(stderr, "load failed: %s\n", err.msg);
            return 1;
        }
    }
    double allot_load = (now_ns() - t0) / loads;
    unsigned long load_allocs = (alloc_calls - a0) / (unsigned long)loads;
    BoosterHandle b2;
    mt_xgb_ok(XGBoosterCreate(NULL, 0, &b2), "XGBoosterCreate");
    t0 = now_ns();
    for (int i = 0; i < loads; i++) mt_xgb_ok(XGBoosterLoadModelFromBuffer(b2, json, json_len), "load");
    double xgb_load = (now_ns() - t0) / loads;
    XGBoosterFree(b2);
    size_t trees = allot_xgb_model_num_trees(m);
    printf("  model: %zu trees, %zu bytes of JSON\n", trees, json_len);
    printf("\nload time: allot %.2f ms (%lu allocator calls, counted), XGBoost %.2f ms  (ratio %.1fx)\n",
           allot_load * 1e-6, load_allocs, xgb_load * 1e-6, xgb_load / allot_load);

    double *lat = malloc(n_rows * sizeof *lat);
    float *out = malloc(n_rows * N_CLASS * sizeof *out);
    float *ref = malloc(n_rows * N_CLASS * sizeof *ref);

    /* ---- XGBoost, default call (new proxy per call, default nthread) ---- */
    for (size_t r = 0; r < 20; r++) { /* warm-up */
        size_t l;
        mt_xgb_predict_dense(b, NULL, xt + r * N_FEAT, 1, N_FEAT, 0, &l);
    }
    size_t mism_default = 0;
    for (size_t r = 0; r < n_xgb_default; r++) {
        size_t l;
        double s = now_ns();
        const float *p = mt_xgb_predict_dense(b, NULL, xt + r * N_FEAT, 1, N_FEAT, 0, &l);
        lat[r] = now_ns() - s;
        memcpy(ref + r * N_CLASS, p, sizeof(float) * N_CLASS);
    }
    stats s_default = summarize(lat, n_xgb_default);

    /* ---- XGBoost at its best: reused proxy, nthread = 1 ---- */
    mt_xgb_ok(XGBoosterSetParam(b, "nthread", "1"), "nthread");
    DMatrixHandle proxy;
    mt_xgb_ok(XGProxyDMatrixCreate(&proxy), "XGProxyDMatrixCreate");
    for (size_t r = 0; r < 20; r++) {
        size_t l;
        mt_xgb_predict_dense(b, proxy, xt + r * N_FEAT, 1, N_FEAT, 0, &l);
    }
    for (size_t r = 0; r < n_rows; r++) {
        size_t l;
        double s = now_ns();
        const float *p = mt_xgb_predict_dense(b, proxy, xt + r * N_FEAT, 1, N_FEAT, 0, &l);
        lat[r] = now_ns() - s;
        if (r < n_xgb_default) mism_default += memcmp(ref + r * N_CLASS, p, sizeof(float) * N_CLASS) != 0;
        memcpy(ref + r * N_CLASS, p, sizeof(float) * N_CLASS);
    }
    stats s_best = summarize(lat, n_rows);

    /* ---- allot, single row ---- */
    for (size_t r = 0; r < 200; r++)
        allot_xgb_model_predict(m, ALLOT_XGB_OUTPUT_VALUE, xt + r * N_FEAT, N_FEAT, out, N_CLASS, NULL);
    unsigned long a1 = alloc_calls;
    for (size_t r = 0; r < n_rows; r++) {
        double s = now_ns();
        allot_xgb_model_predict(m, ALLOT_XGB_OUTPUT_VALUE, xt + r * N_FEAT, N_FEAT, out + r * N_CLASS,
                                N_CLASS, NULL);
        lat[r] = now_ns() - s;
    }
    unsigned long single_allocs = alloc_calls - a1;
    stats s_allot = summarize(lat, n_rows);
    size_t mism = 0;
    for (size_t i = 0; i < n_rows * N_CLASS; i++) mism += memcmp(&out[i], &ref[i], sizeof(float)) != 0;

    /* Timer overhead, to read the figures honestly. */
    for (size_t r = 0; r < 1000; r++) {
        double s = now_ns();
        lat[r] = now_ns() - s;
    }
    stats s_timer = summarize(lat, 1000);

    printf("\nsingle-row latency over %zu distinct rows (XGBoost default call: %zu rows)\n", n_rows,
           n_xgb_default);
    print_row("XGBoost PredictFromDense, default call", s_default, trees);
    print_row("XGBoost PredictFromDense, reused proxy, nthread=1", s_best, trees);
    print_row("allot_xgb_model_predict", s_allot, trees);
    printf("  (clock_gettime overhead per sample: p50 %.0f ns, included above)\n", s_timer.p50);
    printf(
        "  speed-up at p50: %.1fx vs XGBoost default call, %.1fx vs XGBoost best   (goals: >= 15x, >= 8x)\n",
        s_default.p50 / s_allot.p50, s_best.p50 / s_allot.p50);
    printf("  speed-up at p99: %.1fx vs XGBoost default call, %.1fx vs XGBoost best\n",
           s_default.p99 / s_allot.p99, s_best.p99 / s_allot.p99);
    printf("  allocator calls during %zu allot predictions: %lu\n", n_rows, single_allocs);
    printf("  bit-for-bit check: %zu of %zu probabilities differ from XGBoost (default vs best call: %zu "
           "rows differ)\n",
           mism, n_rows * N_CLASS, mism_default);

    /* ---- batch throughput: best of 5 calls over all rows (one number per call is exposed to
     * the machine's noise; the minimum is the least disturbed) ---- */
    double allot_batch = 1e300, xgb_batch1 = 1e300, xgb_batchn = 1e300;
    unsigned long a2 = alloc_calls;
    for (int rep = 0; rep < 5; rep++) {
        t0 = now_ns();
        allot_xgb_model_predict_batch(m, ALLOT_XGB_OUTPUT_VALUE, xt, n_rows, N_FEAT, out, n_rows * N_CLASS,
                                      NULL);
        double e = (now_ns() - t0) / (double)n_rows;
        if (e < allot_batch) allot_batch = e;
    }
    unsigned long batch_allocs = alloc_calls - a2;
    size_t mism_b = 0;
    for (size_t i = 0; i < n_rows * N_CLASS; i++) mism_b += memcmp(&out[i], &ref[i], sizeof(float)) != 0;
    /* the portable block walk, and the AVX2 kernel where this CPU has AVX2 (chosen at load only without
     * AVX-512F and BW), on the same model: for comparison with the kernel chosen at load */
    size_t mism_p = 0, mism_a = 0;
    double portable_batch = time_kernel(json, json_len, "portable", xt, n_rows, out, ref, &mism_p);
    double avx2_batch = time_kernel(json, json_len, "avx2", xt, n_rows, out, ref, &mism_a);
    size_t l;
    for (int rep = 0; rep < 5; rep++) {
        t0 = now_ns();
        mt_xgb_predict_dense(b, NULL, xt, n_rows, N_FEAT, 0, &l);
        double e = (now_ns() - t0) / (double)n_rows;
        if (e < xgb_batch1) xgb_batch1 = e;
    }
    mt_xgb_ok(XGBoosterSetParam(b, "nthread", "0"), "nthread");
    for (int rep = 0; rep < 5; rep++) {
        t0 = now_ns();
        mt_xgb_predict_dense(b, NULL, xt, n_rows, N_FEAT, 0, &l);
        double e = (now_ns() - t0) / (double)n_rows;
        if (e < xgb_batchn) xgb_batchn = e;
    }
    printf("\nbatch of %zu rows in one call (best of 5 calls)\n", n_rows);
    printf("  allot_xgb_model_predict_batch (1 thread)   %8.0f ns/row  %6.2f ns/tree/row  (%lu allocator "
           "calls, %zu "
           "mismatches)\n",
           allot_batch, allot_batch / (double)trees, batch_allocs, mism_b);
    printf("    (batch kernel chosen at load: %s; the portable block walk: %.0f ns/row, %.2f ns/tree/row, "
           "%zu mismatches, %.2fx slower)\n",
           allot_xgb_model_batch_kernel_name(m), portable_batch, portable_batch / (double)trees, mism_p,
           portable_batch / allot_batch);
    if (avx2_batch >= 0)
        printf("    (the AVX2 kernel: %.0f ns/row, %.2f ns/tree/row, %zu mismatches, %.2fx faster than the "
               "portable walk)\n",
               avx2_batch, avx2_batch / (double)trees, mism_a, portable_batch / avx2_batch);
    printf("  XGBoost PredictFromDense, nthread=1        %8.0f ns/row  %6.2f ns/tree/row  (allot %.1fx "
           "faster)\n",
           xgb_batch1, xgb_batch1 / (double)trees, xgb_batch1 / allot_batch);
    printf("  XGBoost PredictFromDense, all threads      %8.0f ns/row  %6.2f ns/tree/row  (allot 1 thread "
           "%.1fx)\n",
           xgb_batchn, xgb_batchn / (double)trees, xgb_batchn / allot_batch);
    printf("  vs allot's single-row path (p50 above): %.2fx  (goals: <= 2.5 ns/tree/row: %s; >= 2x the "
           "single-row "
           "path: %s)\n",
           s_allot.p50 / allot_batch, allot_batch / (double)trees <= 2.5 ? "met" : "NOT met",
           s_allot.p50 / allot_batch >= 2 ? "met" : "NOT met");

    /* ---- LIBLINEAR ---- */
    {
        enum { LF = 300, LN = 4000, LT = 20000 };
        mt_rng g = {99};
        struct feature_node *pool = malloc(sizeof *pool * (size_t)(LN + LT) * 64);
        struct feature_node **rows = malloc(sizeof *rows * (LN + LT));
        double *ly = malloc(sizeof *ly * LN);
        for (int i = 0; i < LN + LT; i++) {
            struct feature_node *row = pool + (size_t)i * 64;
            int k = 0, idx = 0;
            double s = 0;
            while (k < 60) { /* ~40 sparse features per row, increasing indices */
                idx += 1 + (int)(mt_next(&g) % 13);
                if (idx > LF) break;
                row[k].index = idx;
                row[k].value = mt_normal(&g);
                s += row[k].value * ((idx % 5) - 2);
                k++;
            }
            row[k].index = LF + 1; /* bias node */
            row[k].value = 1.0;
            row[k + 1].index = -1;
            rows[i] = row;
            if (i < LN) ly[i] = s > 1 ? 3 : s > 0 ? 2 : s > -1 ? 1 : 0;
        }
        struct problem prob = {LN, LF + 1, ly, rows, 1.0};
        struct parameter param;
        memset(&param, 0, sizeof param);
        param.solver_type = L2R_LR;
        param.eps = 0.01;
        param.C = 1;
        set_print_string_function(quiet_print);
        struct model *lm = train(&prob, &param);
        char path[] = "/tmp/allot-bench-linear-XXXXXX";
        int fd = mkstemp(path);
        if (fd >= 0) fclose(fdopen(fd, "w"));
        save_model(path, lm);
        allot_linear_model *am = NULL;
        t0 = now_ns();
        if (allot_linear_model_load_file(path, &am, &err) != ALLOT_OK) {
            fprintf(stderr, "liblinear load: %s\n", err.msg);
            return 1;
        }
        double lload = now_ns() - t0;
        t0 = now_ns();
        struct model *lm2 = load_model(path);
        double lload_ref = now_ns() - t0;
        remove(path);
        allot_linear_feature *af = malloc(sizeof *af * 64 * LT);
        size_t *an = malloc(sizeof *an * LT);
        for (int i = 0; i < LT; i++) {
            size_t k = 0;
            for (const struct feature_node *p = rows[LN + i]; p->index != -1 && p->index <= LF; p++, k++) {
                af[(size_t)i * 64 + k].index = p->index;
                af[(size_t)i * 64 + k].value = p->value;
            }
            an[i] = k;
        }
        double dec[4], dref[4], *llat = malloc(sizeof *llat * LT);
        size_t lm_mism = 0;
        unsigned long a3 = alloc_calls;
        for (int i = 0; i < LT; i++) {
            double pred;
            double s = now_ns();
            allot_linear_model_predict_values(am, af + (size_t)i * 64, an[i], dec, 4, &pred, NULL);
            llat[i] = now_ns() - s;
            predict_values(lm, rows[LN + i], dref);
            lm_mism += memcmp(dec, dref, sizeof dec) != 0;
        }
        unsigned long lin_allocs = alloc_calls - a3;
        stats s_lin = summarize(llat, LT);
        for (int i = 0; i < LT; i++) {
            double s = now_ns();
            predict_values(lm, rows[LN + i], dref);
            llat[i] = now_ns() - s;
        }
        stats s_linref = summarize(llat, LT);
        for (int i = 0; i < LT; i++) {
            double s = now_ns();
            predict(lm, rows[LN + i]);
            llat[i] = now_ns() - s;
        }
        stats s_linpred = summarize(llat, LT);
        printf("\nLIBLINEAR L2R_LR, 4 classes, %d features, ~%d nonzeros/row, %d distinct rows\n", LF, 40,
               LT);
        printf("  allot_linear_model_predict_values   p50 %6.0f ns  p99 %6.0f ns  (%lu allocator calls)\n",
               s_lin.p50, s_lin.p99, lin_allocs);
        printf("  LIBLINEAR predict_values            p50 %6.0f ns  p99 %6.0f ns\n", s_linref.p50,
               s_linref.p99);
        printf("  LIBLINEAR predict (allocates)       p50 %6.0f ns  p99 %6.0f ns\n", s_linpred.p50,
               s_linpred.p99);
        printf("  decision values differing from predict_values: %zu of %d rows\n", lm_mism, LT);
        printf("  load: allot %.0f us, LIBLINEAR load_model %.0f us\n", lload * 1e-3, lload_ref * 1e-3);
        bench_text_path(&err);
        allot_linear_model_free(am);
        free_and_destroy_model(&lm);
        free_and_destroy_model(&lm2);
        free(af);
        free(an);
        free(llat);
        free(pool);
        free(rows);
        free(ly);
    }

    XGDMatrixFree(proxy);
    XGBoosterFree(b);
    allot_xgb_model_free(m);
    free(json);
    free(lat);
    free(out);
    free(ref);
    free(x);
    free(y);
    free(xt);
    free(yt);
    return (mism || mism_b) ? 1 : 0;
}
