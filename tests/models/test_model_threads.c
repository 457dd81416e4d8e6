/*
 * test_model_threads.c - one loaded model shared by several threads.
 *
 * A random 4-class XGBoost JSON model (120 trees up to depth 6, thresholds and NaN routing
 * exercised) and a random 4-class LIBLINEAR model are generated here (no XGBoost needed, so the
 * test is meaningful under ThreadSanitizer: only allot code runs in the threads). Reference
 * outputs are computed single-threaded; then 4 threads predict every row concurrently on the same
 * handles (single-row and batch calls) and must reproduce them bit for bit. Built with
 * ALLOT_TSAN=ON this is the ThreadSanitizer check of "a loaded model is immutable".
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_model.h"

#define N_ROWS 2000
#define N_FEAT 16
#define N_CLASS 4
#define N_TREES 120
#define N_THREADS 4

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double rng_unif(uint64_t *s) {
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* Random tree in XGBoost's layout (children allocated in pairs after their parent). */
static cJSON *random_tree(uint64_t *s, int id) {
    int left[127], right[127], feat[127], dl[127];
    double cond[127];
    int depth[127];
    int n = 1;
    depth[0] = 0;
    for (int i = 0; i < n; i++) {
        if (depth[i] < 6 && n + 2 <= 127 && rng_unif(s) < 0.85) {
            left[i] = n;
            right[i] = n + 1;
            depth[n] = depth[n + 1] = depth[i] + 1;
            n += 2;
            feat[i] = (int)(rng_next(s) % N_FEAT);
            cond[i] = (float)(rng_unif(s) * 4 - 2);
            dl[i] = (int)(rng_next(s) & 1);
        } else {
            left[i] = right[i] = -1;
            feat[i] = 0;
            dl[i] = 0;
            cond[i] = (float)(rng_unif(s) - 0.5);
        }
    }
    cJSON *t = cJSON_CreateObject();
    cJSON *a[5] = {cJSON_CreateArray(), cJSON_CreateArray(), cJSON_CreateArray(), cJSON_CreateArray(),
                   cJSON_CreateArray()};
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(a[0], cJSON_CreateNumber(left[i]));
        cJSON_AddItemToArray(a[1], cJSON_CreateNumber(right[i]));
        cJSON_AddItemToArray(a[2], cJSON_CreateNumber(feat[i]));
        cJSON_AddItemToArray(a[3], cJSON_CreateNumber(cond[i]));
        cJSON_AddItemToArray(a[4], cJSON_CreateNumber(dl[i]));
    }
    cJSON_AddItemToObject(t, "left_children", a[0]);
    cJSON_AddItemToObject(t, "right_children", a[1]);
    cJSON_AddItemToObject(t, "split_indices", a[2]);
    cJSON_AddItemToObject(t, "split_conditions", a[3]);
    cJSON_AddItemToObject(t, "default_left", a[4]);
    cJSON_AddNumberToObject(t, "id", id);
    return t;
}

static char *random_xgb_json(uint64_t seed) {
    uint64_t s = seed;
    cJSON *root = cJSON_CreateObject();
    cJSON *learner = cJSON_AddObjectToObject(root, "learner");
    cJSON *lmp = cJSON_AddObjectToObject(learner, "learner_model_param");
    cJSON_AddStringToObject(lmp, "base_score", "5E-1");
    cJSON_AddStringToObject(lmp, "num_class", "4");
    cJSON_AddStringToObject(lmp, "num_feature", "16");
    cJSON *obj = cJSON_AddObjectToObject(learner, "objective");
    cJSON_AddStringToObject(obj, "name", "multi:softprob");
    cJSON *gb = cJSON_AddObjectToObject(learner, "gradient_booster");
    cJSON_AddStringToObject(gb, "name", "gbtree");
    cJSON *model = cJSON_AddObjectToObject(gb, "model");
    cJSON *trees = cJSON_AddArrayToObject(model, "trees");
    cJSON *info = cJSON_AddArrayToObject(model, "tree_info");
    for (int t = 0; t < N_TREES; t++) {
        cJSON_AddItemToArray(trees, random_tree(&s, t));
        cJSON_AddItemToArray(info, cJSON_CreateNumber(t % N_CLASS));
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

static char *random_linear_text(uint64_t seed) {
    uint64_t s = seed;
    size_t cap = 64 * 1024, o = 0;
    char *b = malloc(cap);
    o += (size_t)snprintf(
        b + o, cap - o, "solver_type L2R_LR\nnr_class 4\nlabel 0 1 2 3\nnr_feature %d\nbias 1\nw\n", N_FEAT);
    for (int i = 0; i < N_FEAT + 1; i++) {
        for (int k = 0; k < N_CLASS; k++)
            o += (size_t)snprintf(b + o, cap - o, "%.17g ", rng_unif(&s) * 2 - 1);
        o += (size_t)snprintf(b + o, cap - o, "\n");
    }
    return b;
}

typedef struct shared {
    const allot_xgb_model *xm;
    const allot_linear_model *lm;
    const float *rows;
    const float *ref_prob; /* N_ROWS x N_CLASS */
    const double *ref_lin; /* N_ROWS x N_CLASS */
} shared;

typedef struct job {
    const shared *sh;
    int id;
    size_t mismatches;
} job;

static void to_sparse(const float *row, allot_linear_feature *f, size_t *n) {
    size_t k = 0;
    for (int j = 0; j < N_FEAT; j++)
        if (!isnan(row[j])) {
            f[k].index = j + 1;
            f[k].value = row[j];
            k++;
        }
    *n = k;
}

static void *worker(void *arg) {
    job *jb = arg;
    const shared *sh = jb->sh;
    float out[N_CLASS];
    double prob[N_CLASS];
    allot_linear_feature f[N_FEAT];
    float *batch = malloc(sizeof(float) * 64 * N_CLASS);
    for (int pass = 0; pass < 3; pass++) {
        for (size_t r0 = 0; r0 < N_ROWS; r0++) {
            size_t r = (r0 * 7 + (size_t)jb->id * 131) % N_ROWS; /* different order per thread */
            const float *row = sh->rows + r * N_FEAT;
            allot_xgb_model_predict(sh->xm, ALLOT_XGB_OUTPUT_VALUE, row, N_FEAT, out, N_CLASS, NULL);
            jb->mismatches += memcmp(out, sh->ref_prob + r * N_CLASS, sizeof out) != 0;
            size_t n;
            to_sparse(row, f, &n);
            allot_linear_model_predict_probability(sh->lm, f, n, prob, N_CLASS, NULL, NULL);
            jb->mismatches += memcmp(prob, sh->ref_lin + r * N_CLASS, sizeof prob) != 0;
        }
        for (size_t r = 0; r + 64 <= N_ROWS; r += 64) {
            allot_xgb_model_predict_batch(sh->xm, ALLOT_XGB_OUTPUT_VALUE, sh->rows + r * N_FEAT, 64, N_FEAT,
                                          batch, 64 * N_CLASS, NULL);
            jb->mismatches += memcmp(batch, sh->ref_prob + r * N_CLASS, sizeof(float) * 64 * N_CLASS) != 0;
        }
    }
    free(batch);
    return NULL;
}

int main(void) {
    int passed = 0, failed = 0;
    char *js = random_xgb_json(42);
    char *lt = random_linear_text(43);
    allot_error err = {0};
    allot_xgb_model *xm = NULL;
    allot_linear_model *lm = NULL;
    if (allot_xgb_model_load_memory(js, strlen(js), &xm, &err) != ALLOT_OK ||
        allot_linear_model_load_memory(lt, strlen(lt), &lm, &err) != ALLOT_OK) {
        fprintf(stderr, "FAIL: load: %s\n", err.msg);
        printf("models: 0 passed, 1 failed\n");
        return 1;
    }
    float *rows = malloc(sizeof(float) * N_ROWS * N_FEAT);
    uint64_t s = 7;
    for (size_t i = 0; i < (size_t)N_ROWS * N_FEAT; i++)
        rows[i] = rng_unif(&s) < 0.1 ? NAN : (float)(rng_unif(&s) * 5 - 2.5);
    float *ref_prob = malloc(sizeof(float) * N_ROWS * N_CLASS);
    double *ref_lin = malloc(sizeof(double) * N_ROWS * N_CLASS);
    for (size_t r = 0; r < N_ROWS; r++) {
        allot_linear_feature f[N_FEAT];
        size_t n;
        allot_xgb_model_predict(xm, ALLOT_XGB_OUTPUT_VALUE, rows + r * N_FEAT, N_FEAT, ref_prob + r * N_CLASS,
                                N_CLASS, NULL);
        to_sparse(rows + r * N_FEAT, f, &n);
        allot_linear_model_predict_probability(lm, f, n, ref_lin + r * N_CLASS, N_CLASS, NULL, NULL);
    }
    shared sh = {xm, lm, rows, ref_prob, ref_lin};
    pthread_t th[N_THREADS];
    job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i].sh = &sh;
        jobs[i].id = i;
        jobs[i].mismatches = 0;
        if (pthread_create(&th[i], NULL, worker, &jobs[i]) != 0) {
            fprintf(stderr, "FAIL: pthread_create\n");
            return 1;
        }
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].mismatches == 0) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL: thread %d: %zu results differ from the single-thread reference\n", i,
                    jobs[i].mismatches);
        }
    }
    printf("%d threads x 3 passes x %d rows on one shared XGBoost (%zu trees) and LIBLINEAR model\n",
           N_THREADS, N_ROWS, allot_xgb_model_num_trees(xm));
    allot_xgb_model_free(xm);
    allot_linear_model_free(lm);
    free(rows);
    free(ref_prob);
    free(ref_lin);
    free(js);
    free(lt);
    printf("models: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
