/*
 * test_xgb_batch.c - allot_xgb_model_predict_batch (blocks of rows walked tree group by tree
 * group) against allot_xgb_model_predict row by row and against XGBoost, bit for bit: every
 * output kind, row counts around the block size (1, 63, 64, 65, 129, 1000), a row stride wider
 * than the features, tree counts that are not a multiple of the lane width, deep and shallow
 * trees, 5% missing values, and the same models declared with 64, 65 and 2000 features (the last
 * use the generic walk used above 1024 features, whose rows are read in place).
 * Every batch kernel available on this machine is exercised, each forced through an internal hook:
 * the portable block walk, and for trees of depth <= 6 and at most 64 features the AVX2 kernel (where
 * the CPU has AVX2) and the AVX-512 one (AVX-512F and BW); the one chosen at load is checked to be the
 * best of those. Row counts around the vector kernels' passes of 64 rows,
 * their halves of 32 and its minimum of 24 (a call's last block of fewer rows takes the portable
 * walk: 88 = 64 + 24, 1000 = 15 x 64 + 40 use it alone, 65 and 129 mix the two).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/vector_state.h"
#include "allot/allot_model.h"
#include "model_test_util.h"
#include "xgb_internal.h" /* allot_xgb_model_use_batch_kernel, allot_xgb_model_batch_kernel_name */

#define NF 12
#define NTRAIN 3000
#define NROWS 1000

static mt_counts C;

/* The model re-declared with nf_decl features (rows are then read with that stride). */
static char *redeclare(const char *json, size_t nf_decl) {
    cJSON *root = cJSON_Parse(json);
    cJSON *lmp = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "learner"), "learner_model_param");
    char s[32];
    snprintf(s, sizeof s, "%zu", nf_decl);
    cJSON_ReplaceItemInObject(lmp, "num_feature", cJSON_CreateString(s));
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* x (NROWS x NF) copied into rows of `stride` floats (the extra slots hold garbage-like values). */
static float *widen(const float *x, size_t stride) {
    float *w = malloc(NROWS * stride * sizeof *w);
    for (size_t r = 0; r < NROWS; r++)
        for (size_t j = 0; j < stride; j++)
            w[r * stride + j] = j < NF ? x[r * NF + j] : (float)(r % 7) - 3.0f;
    return w;
}

/* The batch kernels, each run on every model where this machine and the model allow it. */
static const char *const KERNELS[] = {"portable", "avx2", "avx512"};
#define N_KERNELS (sizeof KERNELS / sizeof KERNELS[0])

/* Whether this machine can run the named batch kernel (AVX2; AVX-512F and BW). */
static int have_kernel(const char *kernel) {
    if (strcmp(kernel, "portable") == 0) return 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (strcmp(kernel, "avx2") == 0) return __builtin_cpu_supports("avx2");
    if (strcmp(kernel, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
    return 0;
}

/* Load json and force the named batch kernel; NULL (the model freed) when the machine or the model
 * does not allow it. The kernel chosen at load must be the AVX-512 one when the model allows a vector
 * kernel (vector_ok 1) and the machine has AVX-512F and BW, else the AVX2 one where the machine has
 * AVX2, and the portable one when the model does not allow one (vector_ok 0); vector_ok -1: any
 * (max_depth > 6, but the trees trained may be shallower). The hook must succeed exactly when the
 * machine has the kernel and the model allows it. */
static allot_xgb_model *load(const char *name, const char *json, size_t len, const char *kernel,
                             int vector_ok) {
    allot_xgb_model *m = NULL;
    allot_error err;
    if (!mt_check(&C, allot_xgb_model_load_memory(json, len, &m, &err) == ALLOT_OK, "%s: load: %s", name,
                  err.msg))
        return NULL;
    const char *chosen = allot_xgb_model_batch_kernel_name(m);
    const char *want = vector_ok != 1          ? "portable"
                       : have_kernel("avx512") ? "avx512"
                       : have_kernel("avx2")   ? "avx2"
                                               : "portable";
    mt_check(&C, vector_ok == -1 || strcmp(chosen, want) == 0,
             "%s: batch kernel %s chosen at load, expected %s", name, chosen, want);
    int ok = allot_xgb_model_use_batch_kernel(m, kernel);
    int portable = strcmp(kernel, "portable") == 0;
    mt_check(&C, vector_ok == -1 || ok == (portable || (vector_ok == 1 && have_kernel(kernel))),
             "%s: kernel %s %s", name, kernel, ok ? "allowed" : "refused");
    if (!ok) {
        allot_xgb_model_free(m);
        return NULL;
    }
    mt_check(&C, strcmp(allot_xgb_model_batch_kernel_name(m), kernel) == 0,
             "%s: batch kernel %s, expected %s", name, allot_xgb_model_batch_kernel_name(m), kernel);
    return m;
}

static void check_model(const char *name, const char *json, size_t len, const float *x,
                        const float *ref_value, const char *kernel, int vector_ok) {
    allot_xgb_model *m = load(name, json, len, kernel, vector_ok);
    if (!m) return;
    printf("  %-40s batch kernel %s\n", name, allot_xgb_model_batch_kernel_name(m));
    allot_error err;
    size_t nf = allot_xgb_model_num_features(m);
    const allot_xgb_output kinds[] = {ALLOT_XGB_OUTPUT_VALUE, ALLOT_XGB_OUTPUT_MARGIN,
                                      ALLOT_XGB_OUTPUT_PROBA};
    const size_t counts[] = {1, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 63, 64, 65, 88, 129, NROWS};
    const size_t strides[] = {nf, nf + 5};
    for (size_t si = 0; si < 2; si++) {
        size_t stride = strides[si];
        float *rows = widen(x, stride);
        for (size_t ki = 0; ki < 3; ki++) {
            size_t w = allot_xgb_model_output_width(m, kinds[ki]);
            if (!w) continue;
            float *one = malloc(NROWS * w * sizeof *one), *batch = malloc(NROWS * w * sizeof *batch);
            for (size_t r = 0; r < NROWS; r++)
                allot_xgb_model_predict(m, kinds[ki], rows + r * stride, stride, one + r * w, w, NULL);
            for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
                size_t n = counts[ci], off = NROWS - n; /* the last n rows */
                memset(batch, 0xFF, NROWS * w * sizeof *batch);
                if (vs_available()) vs_clear();
                allot_status st = allot_xgb_model_predict_batch(m, kinds[ki], rows + off * stride, n, stride,
                                                                batch, n * w, &err);
                mt_check(&C, !vs_available() || !vs_upper_dirty(),
                         "%s (%s): predict_batch returned with the vector registers' upper halves in use",
                         name, allot_xgb_model_batch_kernel_name(m));
                size_t bad = memcmp(batch, one + off * w, n * w * sizeof *batch) != 0;
                mt_check(&C, st == ALLOT_OK && !bad,
                         "%s (%s): kind %d, %zu rows, stride %zu: batch differs from single rows", name,
                         allot_xgb_model_batch_kernel_name(m), (int)kinds[ki], n, stride);
            }
            if (kinds[ki] == ALLOT_XGB_OUTPUT_VALUE && ref_value) {
                size_t bad = 0;
                for (size_t i = 0; i < NROWS * w; i++)
                    bad += memcmp(&one[i], &ref_value[i], sizeof *one) != 0;
                mt_check(&C, bad == 0, "%s: stride %zu: %zu values differ from XGBoost", name, stride, bad);
            }
            free(one);
            free(batch);
        }
        free(rows);
    }
    allot_xgb_model_free(m);
}

/* ---- synthetic models: the rank layout's edge cases, batch against single rows ---------------- */

static unsigned long long rng_state;
static unsigned rnd(unsigned n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng_state >> 33) % n;
}

/* Thresholds and values that tie, differ only in sign (-0, +0), are subnormal or repeat across
 * trees; rows also hold NaN and +-inf. */
static const float TVALS[] = {-2.0f, -1.0f, -0.5f, -0.0f, 0.0f, 1e-40f, 0.5f, 1.0f, 2.0f, 3.25f};
#define N_TVALS (sizeof TVALS / sizeof TVALS[0])

typedef struct {
    cJSON *left, *right, *idx, *cond, *dl;
    int n;
} tree_arrays;

/* Append a subtree at node id `id` (already reserved) of depth at most `depth`. */
static void gen_node(tree_arrays *ta, int id, int depth, int nf, int *next) {
    while (cJSON_GetArraySize(ta->left) <= id) {
        cJSON_AddItemToArray(ta->left, cJSON_CreateNumber(-1));
        cJSON_AddItemToArray(ta->right, cJSON_CreateNumber(-1));
        cJSON_AddItemToArray(ta->idx, cJSON_CreateNumber(0));
        cJSON_AddItemToArray(ta->cond, cJSON_CreateNumber(0));
        cJSON_AddItemToArray(ta->dl, cJSON_CreateNumber(0));
    }
    if (depth == 0 || rnd(5) == 0) { /* leaf */
        cJSON_ReplaceItemInArray(ta->cond, id,
                                 cJSON_CreateNumber((double)((float)rnd(2001) / 1000.0f - 1.0f)));
        return;
    }
    int l = (*next)++, r = (*next)++;
    cJSON_ReplaceItemInArray(ta->left, id, cJSON_CreateNumber(l));
    cJSON_ReplaceItemInArray(ta->right, id, cJSON_CreateNumber(r));
    cJSON_ReplaceItemInArray(ta->idx, id, cJSON_CreateNumber(rnd((unsigned)nf)));
    cJSON_ReplaceItemInArray(ta->cond, id, cJSON_CreateNumber((double)TVALS[rnd(N_TVALS)]));
    cJSON_ReplaceItemInArray(ta->dl, id, cJSON_CreateNumber(rnd(2)));
    gen_node(ta, l, depth - 1, nf, next);
    gen_node(ta, r, depth - 1, nf, next);
}

/* A multi:softprob model of n_trees random trees of depth <= max_depth (some a single leaf). */
static char *gen_model(int n_trees, int n_class, int nf, int max_depth) {
    cJSON *root = cJSON_CreateObject(), *learner = cJSON_AddObjectToObject(root, "learner");
    cJSON *lmp = cJSON_AddObjectToObject(learner, "learner_model_param");
    char buf[32];
    cJSON_AddStringToObject(lmp, "base_score", "5E-1");
    snprintf(buf, sizeof buf, "%d", n_class);
    cJSON_AddStringToObject(lmp, "num_class", buf);
    snprintf(buf, sizeof buf, "%d", nf);
    cJSON_AddStringToObject(lmp, "num_feature", buf);
    cJSON_AddStringToObject(lmp, "num_target", "1");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(learner, "objective"), "name", "multi:softprob");
    cJSON *gb = cJSON_AddObjectToObject(learner, "gradient_booster");
    cJSON_AddStringToObject(gb, "name", "gbtree");
    cJSON *model = cJSON_AddObjectToObject(gb, "model");
    cJSON *trees = cJSON_AddArrayToObject(model, "trees"), *info = cJSON_AddArrayToObject(model, "tree_info");
    for (int t = 0; t < n_trees; t++) {
        cJSON *tree = cJSON_CreateObject();
        tree_arrays ta = {
            cJSON_AddArrayToObject(tree, "left_children"), cJSON_AddArrayToObject(tree, "right_children"),
            cJSON_AddArrayToObject(tree, "split_indices"), cJSON_AddArrayToObject(tree, "split_conditions"),
            cJSON_AddArrayToObject(tree, "default_left"),  0};
        int next = 1;
        gen_node(&ta, 0, (int)rnd((unsigned)max_depth + 1), nf, &next);
        cJSON_AddItemToArray(trees, tree);
        cJSON_AddItemToArray(info, cJSON_CreateNumber(t % n_class));
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

static void check_synthetic(unsigned long long seed, int n_trees, int n_class, int nf, int max_depth) {
    rng_state = seed;
    char *json = gen_model(n_trees, n_class, nf, max_depth), name[96];
    snprintf(name, sizeof name, "synthetic %d trees, depth <= %d, seed %llu", n_trees, max_depth, seed);
    enum { N = 300 };
    float *x = malloc((size_t)N * nf * sizeof *x);
    for (size_t i = 0; i < (size_t)N * nf; i++) {
        unsigned k = rnd(N_TVALS + 4);
        x[i] = k < N_TVALS        ? TVALS[k]
               : k == N_TVALS     ? NAN
               : k == N_TVALS + 1 ? INFINITY
               : k == N_TVALS + 2 ? -INFINITY
                                  : 0.75f;
    }
    for (size_t ki = 0; ki < N_KERNELS; ki++) {
        allot_xgb_model *m = load(name, json, strlen(json), KERNELS[ki], max_depth <= 6 ? 1 : -1);
        if (!m) continue;
        size_t w = allot_xgb_model_output_width(m, ALLOT_XGB_OUTPUT_MARGIN);
        float *one = malloc(N * w * sizeof *one), *batch = malloc(N * w * sizeof *batch);
        for (size_t r = 0; r < N; r++)
            allot_xgb_model_predict(m, ALLOT_XGB_OUTPUT_MARGIN, x + r * nf, (size_t)nf, one + r * w, w, NULL);
        allot_xgb_model_predict_batch(m, ALLOT_XGB_OUTPUT_MARGIN, x, N, (size_t)nf, batch, N * w, NULL);
        mt_check(&C, !memcmp(one, batch, N * w * sizeof *one), "%s (%s): batch differs from single rows",
                 name, allot_xgb_model_batch_kernel_name(m));
        free(one);
        free(batch);
        allot_xgb_model_free(m);
    }
    free(x);
    free(json);
}

typedef struct {
    const char *name, *objective;
    int n_classes, rounds, depth;
} shape;

int main(void) {
    const shape shapes[] = {
        {"softprob, 3 classes, 7 rounds, depth 8", "multi:softprob", 3, 7, 8},
        {"softmax, 4 classes, 9 rounds, depth 3", "multi:softmax", 4, 9, 3},
        {"binary:logistic, 37 rounds, depth 6", "binary:logistic", 2, 37, 6},
        {"reg:squarederror, 5 rounds, depth 10", "reg:squarederror", 1, 5, 10},
        {"softprob, 4 classes, 25 rounds, depth 6", "multi:softprob", 4, 25, 6},
        {"binary:logitraw, 19 rounds, depth 5", "binary:logitraw", 2, 19, 5},
        {"reg:squarederror, 3 rounds, depth 1", "reg:squarederror", 1, 3, 1},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape *k = &shapes[s];
        float *x, *y, *xt, *yt;
        mt_make_data(77 + s, NTRAIN, NF, 0.05, k->n_classes > 1 ? k->n_classes : 0, &x, &y);
        mt_make_data(99 + s, NROWS, NF, 0.05, k->n_classes > 1 ? k->n_classes : 0, &xt, &yt);
        char nc[16], depth[16];
        snprintf(nc, sizeof nc, "%d", k->n_classes);
        snprintf(depth, sizeof depth, "%d", k->depth);
        const char *params[] = {"objective", k->objective, "num_class", nc,  "max_depth", depth,
                                "eta",       "0.3",        "nthread",   "1", NULL,        NULL};
        if (k->n_classes <= 2) params[2] = NULL; /* no num_class */
        BoosterHandle b = mt_xgb_train(x, y, NTRAIN, NF, k->rounds, params);
        size_t len, rl;
        char *json = mt_xgb_save_json(b, &len);
        const float *ref = mt_xgb_predict_dense(b, NULL, xt, NROWS, NF, 0, &rl);
        float *refc = malloc(rl * sizeof *refc);
        memcpy(refc, ref, rl * sizeof *refc);
        for (size_t ki = 0; ki < N_KERNELS; ki++) {
            const int vec = k->depth <= 6 ? 1 : -1;
            check_model(k->name, json, len, xt, refc, KERNELS[ki], vec);
            /* the same model declared with more features (rows of that many floats): 64 is the
             * vector kernels' limit, 65 and 2000 take the portable walks (2000: the generic one) */
            const size_t decl[] = {64, 65, 2000};
            for (size_t di = 0; di < 3; di++) {
                size_t nfd = decl[di];
                char *wide = redeclare(json, nfd), wname[96];
                snprintf(wname, sizeof wname, "%s, %zu features", k->name, nfd);
                float *xw = calloc((size_t)NROWS * nfd, sizeof *xw);
                for (size_t r = 0; r < NROWS; r++) memcpy(xw + r * nfd, xt + r * NF, NF * sizeof *xw);
                allot_xgb_model *mw = load(wname, wide, strlen(wide), KERNELS[ki], nfd > 64 ? 0 : vec);
                allot_xgb_model *mc = mw ? load(k->name, json, len, "portable", vec) : NULL;
                if (mw && mc) {
                    size_t w = allot_xgb_model_output_width(mc, ALLOT_XGB_OUTPUT_VALUE);
                    float *a = malloc(NROWS * w * sizeof *a), *bb = malloc(NROWS * w * sizeof *bb);
                    allot_xgb_model_predict_batch(mc, ALLOT_XGB_OUTPUT_VALUE, xt, NROWS, NF, a, NROWS * w,
                                                  NULL);
                    allot_xgb_model_predict_batch(mw, ALLOT_XGB_OUTPUT_VALUE, xw, NROWS, nfd, bb, NROWS * w,
                                                  NULL);
                    mt_check(&C, !memcmp(a, bb, NROWS * w * sizeof *a), "%s (%s): batch differs", wname,
                             allot_xgb_model_batch_kernel_name(mw));
                    free(a);
                    free(bb);
                }
                allot_xgb_model_free(mw);
                allot_xgb_model_free(mc);
                free(xw);
                free(wide);
            }
        }
        free(refc);
        free(json);
        XGBoosterFree(b);
        free(x);
        free(y);
        free(xt);
        free(yt);
    }
    for (unsigned long long seed = 1; seed <= 20; seed++) check_synthetic(seed, 3 + (int)seed * 7, 3, 5, 6);
    check_synthetic(99, 50, 3, 64, 6);
    check_synthetic(98, 30, 2, 5, 8); /* deeper than 6: the portable walk */
    return mt_finish(&C);
}
