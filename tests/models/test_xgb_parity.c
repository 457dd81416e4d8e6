/*
 * test_xgb_parity.c - allot_xgb_model against XGBoost 1.7.4 itself, bit for bit.
 *
 * Each case trains a booster through XGBoost's C API on synthetic data with ~10% missing
 * values, saves it as JSON (to a buffer and to a .json file), loads it into the runtime and
 * compares, for every one of >= 10,000 held-out rows, the runtime's output with
 * XGBoosterPredictFromDense (missing = NaN) by memcmp on the float32 values: transformed
 * output (type 0) and margins (type 1), single-row and batch paths.
 *
 * Then hand-converted variants imitating what XGBoost 2.x / 3.x write (only 1.7.4 is
 * installed, so these documents are edited from a 1.7.4 model, not produced by 2.x/3.x):
 * base_score as "[5E-1]" / per-class "[...]" arrays, iteration_indptr, size_leaf_vector "1",
 * boolean default_left. Per-class base scores are checked against XGBoost given the same
 * per-class base margins through a proxy DMatrix.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allot/allot_model.h"
#include "model_test_util.h"

#define N_TRAIN 10000
#define N_TEST 10000
#define N_FEAT 24

typedef struct xcase {
    const char *name;
    const char *objective;
    int n_classes; /* labels; 1 = regression */
    int rounds;
    const char *depth;
    const char *base_score; /* NULL = default */
    const char *parallel;   /* num_parallel_tree, NULL = 1 (boosted random forest otherwise) */
} xcase;

static size_t first_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) return i;
    return n;
}

/* Compare runtime and XGBoost on all test rows for one output kind. */
static void compare(mt_counts *c, const char *name, const char *how, const allot_xgb_model *m,
                    BoosterHandle b, const float *x, size_t n, size_t f, allot_xgb_output kind, int type) {
    size_t ref_len;
    const float *ref = mt_xgb_predict_dense(b, NULL, x, n, f, type, &ref_len);
    size_t w = allot_xgb_model_output_width(m, kind);
    if (!mt_check(c, ref_len == n * w, "%s/%s: width %zu x %zu rows but XGBoost returned %zu", name, how, w,
                  n, ref_len))
        return;
    float *got = malloc(n * w * sizeof *got);
    float *gotb = malloc(n * w * sizeof *gotb);
    allot_error err = {0};
    size_t bad_status = 0;
    for (size_t r = 0; r < n; r++)
        if (allot_xgb_model_predict(m, kind, x + r * f, f, got + r * w, w, &err) != ALLOT_OK) bad_status++;
    mt_check(c, bad_status == 0, "%s/%s: predict failed: %s", name, how, err.msg);
    mt_check(c, allot_xgb_model_predict_batch(m, kind, x, n, f, gotb, n * w, &err) == ALLOT_OK,
             "%s/%s: predict_batch failed: %s", name, how, err.msg);
    size_t d = first_diff(got, ref, n * w);
    size_t mism = 0;
    for (size_t i = 0; i < n * w; i++) mism += memcmp(&got[i], &ref[i], sizeof(float)) != 0;
    mt_check(c, d == n * w, "%s/%s: %zu of %zu values differ; first at row %zu: %.9g vs XGBoost %.9g", name,
             how, mism, n * w, d / w, (double)got[d < n * w ? d : 0], (double)ref[d < n * w ? d : 0]);
    mt_check(c, first_diff(gotb, ref, n * w) == n * w, "%s/%s: batch differs from XGBoost", name, how);
    printf("  %-28s %-8s %zu rows x %zu outputs: %zu mismatches (memcmp on float32)\n", name, how, n, w,
           mism);
    free(got);
    free(gotb);
}

static void check_model_against(mt_counts *c, const char *name, const allot_xgb_model *m, BoosterHandle b,
                                const float *x, size_t n, size_t f) {
    compare(c, name, "value", m, b, x, n, f, ALLOT_XGB_OUTPUT_VALUE, 0);
    compare(c, name, "margin", m, b, x, n, f, ALLOT_XGB_OUTPUT_MARGIN, 1);
}

/* Edit a saved 1.7.4 document the way 2.x/3.x would write it. */
static char *convert_like_newer(const char *json, const char *base_score_str, int bool_default_left) {
    cJSON *root = cJSON_Parse(json);
    if (!root) return NULL;
    cJSON *learner = cJSON_GetObjectItem(root, "learner");
    cJSON *lmp = cJSON_GetObjectItem(learner, "learner_model_param");
    cJSON_ReplaceItemInObject(lmp, "base_score", cJSON_CreateString(base_score_str));
    cJSON *model = cJSON_GetObjectItem(cJSON_GetObjectItem(learner, "gradient_booster"), "model");
    cJSON *trees = cJSON_GetObjectItem(model, "trees");
    cJSON *info = cJSON_GetObjectItem(model, "tree_info");
    int n_trees = cJSON_GetArraySize(trees);
    /* iteration_indptr: one boosting round = the trees of all groups in it. */
    int max_group = 0;
    for (int i = 0; i < n_trees; i++) {
        int g = cJSON_GetArrayItem(info, i)->valueint;
        if (g > max_group) max_group = g;
    }
    int per_round = max_group + 1;
    cJSON *indptr = cJSON_CreateArray();
    for (int i = 0; i <= n_trees; i += per_round) cJSON_AddItemToArray(indptr, cJSON_CreateNumber(i));
    cJSON_AddItemToObject(model, "iteration_indptr", indptr);
    cJSON *tree;
    cJSON_ArrayForEach(tree, trees) {
        cJSON *tp = cJSON_GetObjectItem(tree, "tree_param");
        cJSON_ReplaceItemInObject(tp, "size_leaf_vector", cJSON_CreateString("1"));
        if (bool_default_left) {
            cJSON *dl = cJSON_GetObjectItem(tree, "default_left");
            cJSON *nb = cJSON_CreateArray();
            cJSON *v;
            cJSON_ArrayForEach(v, dl) cJSON_AddItemToArray(nb, cJSON_CreateBool(v->valueint != 0));
            cJSON_ReplaceItemInObject(tree, "default_left", nb);
        }
    }
    cJSON *ver = cJSON_CreateArray();
    cJSON_AddItemToArray(ver, cJSON_CreateNumber(3));
    cJSON_AddItemToArray(ver, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(ver, cJSON_CreateNumber(0));
    cJSON_ReplaceItemInObject(root, "version", ver);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* XGBoost margins given explicit per-row, per-group base margins on a proxy DMatrix. */
static const float *xgb_margin_with_base(BoosterHandle b, const float *x, size_t n, size_t f,
                                         const float *base, size_t groups, size_t *len,
                                         DMatrixHandle *proxy_out) {
    DMatrixHandle proxy;
    mt_xgb_ok(XGProxyDMatrixCreate(&proxy), "XGProxyDMatrixCreate");
    float *bm = malloc(n * groups * sizeof *bm);
    for (size_t r = 0; r < n; r++)
        for (size_t g = 0; g < groups; g++) bm[r * groups + g] = base[g];
    char arr[256];
    snprintf(arr, sizeof arr,
             "{\"data\": [%" PRIuPTR ", true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", \"version\": 3}",
             (uintptr_t)bm, n, groups);
    mt_xgb_ok(XGDMatrixSetInfoFromInterface(proxy, "base_margin", arr), "set base_margin");
    *proxy_out = proxy;
    const float *res = mt_xgb_predict_dense(b, proxy, x, n, f, 1, len);
    free(bm);
    return res;
}

static void run_case(mt_counts *c, const xcase *k, const char *tmpdir) {
    float *x, *y, *xt, *yt;
    mt_make_data(1000 + (uint64_t)k->rounds, N_TRAIN, N_FEAT, 0.10, k->n_classes, &x, &y);
    mt_make_data(5000 + (uint64_t)k->rounds, N_TEST, N_FEAT, 0.10, k->n_classes, &xt, &yt);
    char ncls[16];
    snprintf(ncls, sizeof ncls, "%d", k->n_classes);
    const char *params[32];
    int p = 0;
    params[p++] = "objective";
    params[p++] = k->objective;
    params[p++] = "max_depth";
    params[p++] = k->depth;
    params[p++] = "eta";
    params[p++] = "0.3";
    params[p++] = "nthread";
    params[p++] = "1";
    params[p++] = "tree_method";
    params[p++] = "hist";
    if (k->n_classes > 2) {
        params[p++] = "num_class";
        params[p++] = ncls;
    }
    if (k->base_score) {
        params[p++] = "base_score";
        params[p++] = k->base_score;
    }
    if (k->parallel) {
        params[p++] = "num_parallel_tree";
        params[p++] = k->parallel;
        params[p++] = "subsample";
        params[p++] = "0.8";
        params[p++] = "colsample_bynode";
        params[p++] = "0.8";
    }
    params[p] = NULL;
    BoosterHandle b = mt_xgb_train(x, y, N_TRAIN, N_FEAT, k->rounds, params);

    size_t len;
    char *json = mt_xgb_save_json(b, &len);
    allot_error err = {0};
    allot_xgb_model *m = NULL;
    allot_status st = allot_xgb_model_load_memory(json, len, &m, &err);
    if (mt_check(c, st == ALLOT_OK, "%s: load from buffer: %s", k->name, err.msg)) {
        mt_check(c, allot_xgb_model_num_features(m) == N_FEAT, "%s: num_features", k->name);
        mt_check(c, strcmp(allot_xgb_model_objective_name(m), k->objective) == 0, "%s: objective", k->name);
        printf("%s: %zu trees, %zu bytes of JSON\n", k->name, allot_xgb_model_num_trees(m), len);
        check_model_against(c, k->name, m, b, xt, N_TEST, N_FEAT);
        if (k->n_classes > 2 && strcmp(k->objective, "multi:softprob") == 0)
            compare(c, k->name, "proba", m, b, xt, N_TEST, N_FEAT, ALLOT_XGB_OUTPUT_PROBA, 0);
    }
    allot_xgb_model_free(m);

    /* File path: XGBoosterSaveModel with a .json name. */
    char path[512];
    snprintf(path, sizeof path, "%s/%s.json", tmpdir, k->name);
    mt_xgb_ok(XGBoosterSaveModel(b, path), "XGBoosterSaveModel");
    st = allot_xgb_model_load_file(path, &m, &err);
    if (mt_check(c, st == ALLOT_OK, "%s: load file: %s", k->name, err.msg)) {
        compare(c, k->name, "file", m, b, xt, N_TEST, N_FEAT, ALLOT_XGB_OUTPUT_VALUE, 0);
    }
    allot_xgb_model_free(m);
    unlink(path);

    /* Hand-converted 2.x/3.x-style documents with the same base score: same outputs. */
    /* The base score as saved (XGBoost may have estimated it from the labels). */
    float bsf = 0.5f;
    {
        cJSON *r = cJSON_Parse(json);
        cJSON *b0 = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(r, "learner"), "learner_model_param"), "base_score");
        if (cJSON_IsString(b0)) bsf = strtof(b0->valuestring, NULL);
        cJSON_Delete(r);
    }
    char scalar[64], bracket[1024];
    snprintf(scalar, sizeof scalar, "%.9g", (double)bsf);
    int groups = k->n_classes > 2 ? k->n_classes : 1;
    int o = snprintf(bracket, sizeof bracket, "[");
    for (int g = 0; g < groups; g++)
        o += snprintf(bracket + o, sizeof bracket - o, "%s%.9E", g ? "," : "", (double)bsf);
    snprintf(bracket + o, sizeof bracket - o, "]");
    const char *forms[2] = {scalar, bracket};
    for (int fi = 0; fi < 2; fi++) {
        char *conv = convert_like_newer(json, forms[fi], fi == 1);
        char nm[96];
        snprintf(nm, sizeof nm, "%s[3.x %s]", k->name, fi ? "bracket" : "scalar");
        st = allot_xgb_model_load_memory(conv, strlen(conv), &m, &err);
        if (mt_check(c, st == ALLOT_OK, "%s: load: %s", nm, err.msg))
            check_model_against(c, nm, m, b, xt, N_TEST, N_FEAT);
        allot_xgb_model_free(m);
        free(conv);
    }

    /* Per-class base scores (3.1+ multi-class), checked against XGBoost's margins with the same
     * base margins supplied explicitly. Only identity-link objectives: base_score is a margin. */
    if (k->n_classes > 2) {
        float base[16];
        o = snprintf(bracket, sizeof bracket, "[");
        for (int g = 0; g < groups; g++) {
            base[g] = (float)(0.25 * g - 0.4);
            o += snprintf(bracket + o, sizeof bracket - o, "%s%.9E", g ? "," : "", (double)base[g]);
        }
        snprintf(bracket + o, sizeof bracket - o, "]");
        char *conv = convert_like_newer(json, bracket, 0);
        st = allot_xgb_model_load_memory(conv, strlen(conv), &m, &err);
        if (mt_check(c, st == ALLOT_OK, "%s per-class base: load: %s", k->name, err.msg)) {
            size_t rl;
            DMatrixHandle proxy;
            const float *ref = xgb_margin_with_base(b, xt, N_TEST, N_FEAT, base, (size_t)groups, &rl, &proxy);
            float *got = malloc(rl * sizeof *got);
            for (size_t r = 0; r < N_TEST; r++)
                allot_xgb_model_predict(m, ALLOT_XGB_OUTPUT_MARGIN, xt + r * N_FEAT, N_FEAT, got + r * groups,
                                        (size_t)groups, NULL);
            size_t mism = 0;
            for (size_t i = 0; i < rl; i++) mism += memcmp(&got[i], &ref[i], sizeof(float)) != 0;
            mt_check(c, rl == (size_t)N_TEST * groups && mism == 0, "%s per-class base: %zu mismatches",
                     k->name, mism);
            printf("  %-28s %-8s %d rows x %d outputs: %zu mismatches (memcmp on float32)\n", k->name,
                   "perclass", N_TEST, groups, mism);
            free(got);
            XGDMatrixFree(proxy);
        }
        allot_xgb_model_free(m);
        free(conv);
    }

    free(json);
    XGBoosterFree(b);
    free(x);
    free(y);
    free(xt);
    free(yt);
}

int main(void) {
    mt_counts c = {0, 0};
    char tmpdir[] = "/tmp/allot-models-XXXXXX";
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    static const xcase cases[] = {
        {"softprob4_d3", "multi:softprob", 4, 40, "3", NULL, NULL},
        {"softprob4_d6", "multi:softprob", 4, 25, "6", NULL, NULL},
        {"softprob4_d8", "multi:softprob", 4, 8, "8", NULL, NULL},
        {"softmax3_d4", "multi:softmax", 3, 20, "4", NULL, NULL},
        {"logistic_d5", "binary:logistic", 2, 30, "5", "0.3", NULL},
        {"logistic_d2", "binary:logistic", 2, 50, "2", NULL, NULL},
        {"logitraw_d4", "binary:logitraw", 2, 20, "4", "0.6", NULL},
        {"sqerr_d6", "reg:squarederror", 1, 30, "6", NULL, NULL},
        {"sqerr_d3_base", "reg:squarederror", 1, 30, "3", "1.75", NULL},
        {"pseudohuber_d4", "reg:pseudohubererror", 1, 15, "4", NULL, NULL},
        {"sqerr_d11", "reg:squarederror", 1, 6, "11", NULL, NULL}, /* deeper than 8 levels */
        {"reglogistic_d4", "reg:logistic", 2, 12, "4", "0.4", NULL},
        {"abserr_d5", "reg:absoluteerror", 1, 12, "5", NULL, NULL},
        {"forest_softprob4", "multi:softprob", 4, 4, "5", NULL, "3"}, /* 3 parallel trees per class */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&c, &cases[i], tmpdir);
    rmdir(tmpdir);
    return mt_finish(&c);
}
