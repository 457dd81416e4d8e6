/*
 * xgb_model.c - XGBoost JSON model loader, compiler and evaluator (see allot_model.h).
 *
 * Loading validates the document and compiles every tree into one flat node array:
 *   - nodes are renumbered breadth-first so that the two children of a split are adjacent
 *     (right == left + 1): the next node is `left + go_right`, with no branch;
 *   - a leaf points to itself (threshold NaN, missing goes left), so a tree can be walked for a fixed
 *     number of steps (the depth of its group) and several trees can be walked in lockstep to
 *     overlap their memory latency;
 *   - for models with <= 1024 features the nodes are re-encoded as 8-byte compact nodes walked
 *     with a single comparison per step (see step_compact);
 *   - for models whose trees have depth <= 6 (at most 64 features, 64 groups) the splits are also
 *     laid out by position in the complete tree of depth 6, with thresholds replaced by ranks among
 *     their feature's thresholds, for the vector batch kernel chosen at load when the CPU has one
 *     (see build_level_layout, accumulate_block_avx512, accumulate_block_avx2).
 * Evaluation then reproduces XGBoost 1.7.4's CPU predictor: float32 comparisons, NaN follows
 * the default direction, one float32 accumulator per output group, leaves added in tree order.
 */
#include "allot/allot_model.h"
#include "runtime_io.h"
#include "xgb_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Trees walked in lockstep: 16 independent walks hide the load latency best on the x86-64
 * machines measured (8: -20%; see bench/runtime). */
#define XGB_LANES 16
/* Fully unroll the per-lane loops so each walk keeps its index in a register. */
#if defined(__clang__)
#define XGB_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define XGB_UNROLL _Pragma("GCC unroll 16")
#else
#define XGB_UNROLL
#endif
/* Upper bound on output groups: the per-call accumulators live on the stack. */
#define XGB_MAX_GROUPS 1024
/* Batch prediction walks blocks of up to XGB_BLOCK_ROWS rows, their copies and accumulators in two
 * stack arrays of XGB_BLOCK_FLOATS floats (16 KiB each: with a tree group's nodes, within a core's
 * first-level data cache). */
#define XGB_BLOCK_ROWS 64
#define XGB_BLOCK_FLOATS 4096
/* Rows per pass of the vector batch kernel, in two vectors of XGB_VHALF rows (see
 * accumulate_block_avx512); a block of fewer than XGB_VMIN rows takes the portable walk. */
#define XGB_VROWS 64
#define XGB_VHALF 32
#define XGB_VMIN 24
/* Upper bound on features and nodes: indices are stored in 32 bits. */
#define XGB_MAX_FEATURES (1u << 30)
/* Models with at most this many features use the one-comparison walk, which needs a per-call
 * stack copy of the row (2 x num_feature floats, 8 KiB at most). */
#define XGB_FAST_FEATURES 1024

/* One compiled node, 16 bytes. For a split, `left` is the left child and left + 1 the right
 * child; for a leaf, left is the node itself and `value` is the leaf value. */
typedef struct xgb_node {
    float thr;     /* split threshold (NaN for leaves) */
    uint32_t feat; /* feature index << 1 | (missing value goes right, i.e. !default_left) */
    uint32_t left; /* absolute index of the left child in the model's node array */
    float value;   /* leaf value (0 for splits) */
} xgb_node;

/* The compact node used when the model has at most XGB_FAST_FEATURES features and no tree is so
 * large that a left child lies more than 65535 nodes after its parent: 8 bytes, so twice as many
 * per cache line, and addressable with a scaled index. `feat` indexes the per-call row buffer
 * (see step_compact), `delta` is left child - node (0 for a leaf, which thus stays put). */
typedef struct xgb_cnode {
    float thr;
    uint16_t feat;
    uint16_t delta;
} xgb_cnode;

/* A split node of the level layout used by the vector batch kernel (trees of depth <= 6): `off` is
 * the byte offset of its feature's slot in the block's rank buffer (slot * XGB_VROWS uint16), `thr2`
 * its threshold's rank (1 + its index among the feature's distinct thresholds) and `bit2` its bit in
 * the 16-bit outcome word of its level range, both repeated in the two halves (one 32-bit broadcast
 * fills 32 16-bit lanes). See build_level_layout and accumulate_block_avx512. */
typedef struct xgb_vnode {
    uint32_t off;
    uint32_t thr2;
    uint32_t bit2;
} xgb_vnode;

/* A step of the AVX2 kernel's outcome words (see place_steps, accumulate_block_avx2): the split at
 * one position of a word, `off` and `thr2` as in xgb_vnode, or {0, 0} at a position without a split
 * (its outcome bit is never used). */
typedef struct xgb_vstep {
    uint32_t off;
    uint32_t thr2;
} xgb_vstep;

/* A vector batch kernel: n_rows rows (row r at rows + r * stride) into acc (n_rows x n_groups,
 * initialised with the base margins by the caller); scratch: XGB_BLOCK_FLOATS floats, 64-byte aligned. */
typedef void (*xgb_batch_kernel)(const allot_xgb_model *m, const float *rows, size_t stride, size_t n_rows,
                                 float *acc, float *scratch);

struct allot_xgb_model {
    xgb_node *nodes;      /* all trees, each tree's root first */
    uint32_t *roots;      /* root node index per tree */
    uint32_t *groups;     /* output group (class) per tree */
    uint32_t *lane_depth; /* steps needed for trees [g*XGB_LANES, (g+1)*XGB_LANES) */
    size_t n_trees;
    size_t n_nodes;
    size_t n_features;
    size_t n_groups;    /* margin width: num_class for multi-class, else 1 */
    size_t n_classes;   /* reported number of classes */
    float *base_margin; /* per group, after the objective's ProbToMargin */
    float *base_score;  /* per group, as saved */
    xgb_cnode *cnodes;  /* compact nodes (one-comparison walk), or NULL: use `nodes` */
    float *cvalues;     /* leaf value per compact node */
    /* The batch kernel chosen at load (see xgb_choose_batch_kernel), or NULL: the portable block walk. */
    xgb_batch_kernel batch_kernel;
    xgb_vnode *vnodes; /* split nodes in the level layout: tree t's word w in [vword[4t+w], vword[4t+w+1]) */
    uint32_t *vword;   /* 4 n_trees + 1 entries */
    float *vleaf;      /* 64 leaf values per tree, by complete-tree position at depth 6 */
    xgb_vstep *vsteps; /* the AVX2 kernel's steps: tree t's word w in [vsword[4t+w], vsword[4t+w+1]) */
    uint32_t *vsword;  /* 4 n_trees + 1 entries */
    float *rthr;       /* per feature: its distinct split thresholds, ascending, padded with +inf to rpow */
    uint32_t *rfirst;  /* per feature: the first of its thresholds in rthr */
    uint32_t *rpow;    /* per feature: a power of two > its number of distinct thresholds, or 0 if unused */
    float *rpiv; /* per feature: 16 pivots, rthr[(j + 1) u - 1] for u = max(rpow / 16, 1) (+inf past rpow) */
    allot_xgb_objective objective;
    char objective_name[64];
};

static xgb_batch_kernel xgb_choose_batch_kernel(const allot_xgb_model *m);

/* ---------------------------------------------------------------------------------------- */
/* JSON helpers                                                                              */

static const cJSON *obj_get(const cJSON *o, const char *key) {
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static allot_status need_obj(const cJSON *parent, const char *key, const char *where, const cJSON **out,
                             allot_error *err) {
    const cJSON *v = obj_get(parent, key);
    if (!v) return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: missing %s.%s", where, key);
    if (!cJSON_IsObject(v))
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s.%s is not an object", where, key);
    *out = v;
    return ALLOT_OK;
}

static allot_status need_array(const cJSON *parent, const char *key, const char *where, const cJSON **out,
                               size_t *len, allot_error *err) {
    const cJSON *v = obj_get(parent, key);
    if (!v) return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: missing %s.%s", where, key);
    if (!cJSON_IsArray(v))
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s.%s is not an array", where, key);
    *out = v;
    *len = (size_t)cJSON_GetArraySize(v);
    return ALLOT_OK;
}

/* Parse a decimal integer from a JSON string or number into [lo, hi]. */
static allot_status get_int(const cJSON *parent, const char *key, const char *where, long long lo,
                            long long hi, long long *out, allot_error *err) {
    const cJSON *v = obj_get(parent, key);
    if (!v) return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: missing %s.%s", where, key);
    long long x;
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        char *end = NULL;
        errno = 0;
        x = strtoll(s, &end, 10);
        if (end == s || *end != '\0' || errno != 0)
            return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s.%s = \"%.40s\" is not an integer",
                                   where, key, s);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= -9e15 && d <= 9e15) || d != floor(d))
            return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s.%s is not an integer", where,
                                   key);
        x = (long long)d;
    } else {
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s.%s has the wrong type", where, key);
    }
    if (x < lo || x > hi)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "xgboost model: %s.%s = %lld is out of range [%lld, %lld]", where, key, x, lo,
                               hi);
    *out = x;
    return ALLOT_OK;
}

/* Parse one float written by XGBoost ("5E-1", "-1.25E0", "0.5"), correctly rounded to float32.
 * Locale-independent: the syntax is checked here and the decimal point removed (the exponent
 * is adjusted instead), so strtof never sees a character whose meaning depends on the locale. */
static int parse_float_token(const char *s, size_t n, float *out) {
    char digits[96];
    if (!allot_rt_decimal_canonical(s, n, 64, digits, sizeof digits)) return 0;
    *out = strtof(digits, NULL); /* straight to float32: no double rounding */
    return 1;
}

/* base_score: "5E-1" or (3.1+) "[5E-1,4E-1,...]". Fills up to n_groups values; a single value is
 * broadcast to every group. */
static allot_status parse_base_score(const char *s, size_t n_groups, float *out, allot_error *err) {
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ')) len--;
    while (len > 0 && *s == ' ') s++, len--;
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        size_t count = 0, i = 1;
        while (i < len - 1) {
            while (i < len - 1 && s[i] == ' ') i++;
            size_t j = i;
            while (j < len - 1 && s[j] != ',') j++;
            size_t e = j;
            while (e > i && s[e - 1] == ' ') e--;
            float v;
            if (!parse_float_token(s + i, e - i, &v) || !isfinite(v))
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "xgboost model: bad number in base_score \"%.60s\"", s);
            if (count >= n_groups)
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "xgboost model: base_score has more than %zu values", n_groups);
            out[count++] = v;
            i = j + 1;
            if (j == len - 1) break;
            if (i == len - 1)
                return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: trailing comma in base_score");
        }
        if (count == 1) {
            for (size_t g = 1; g < n_groups; g++) out[g] = out[0];
        } else if (count != n_groups) {
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "xgboost model: base_score has %zu values, expected 1 or %zu", count,
                                   n_groups);
        }
        return ALLOT_OK;
    }
    float v;
    if (!parse_float_token(s, len, &v) || !isfinite(v))
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: bad base_score \"%.60s\"", s);
    for (size_t g = 0; g < n_groups; g++) out[g] = v;
    return ALLOT_OK;
}

/* Read a JSON array of numbers into floats (exact float32 values as XGBoost wrote them). */
static allot_status read_floats(const cJSON *arr, size_t n, float *out, const char *what, size_t tree,
                                allot_error *err) {
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (i >= n) break;
        if (!cJSON_IsNumber(it))
            return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: tree %zu: %s[%zu] is not a number",
                                   tree, what, i);
        out[i++] = (float)it->valuedouble;
    }
    return ALLOT_OK;
}

static allot_status read_ints(const cJSON *arr, size_t n, long long lo, long long hi, int64_t *out,
                              const char *what, size_t tree, allot_error *err) {
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (i >= n) break;
        double d = cJSON_IsNumber(it) ? it->valuedouble : NAN;
        if (cJSON_IsBool(it)) d = cJSON_IsTrue(it) ? 1.0 : 0.0;
        if (!(d >= (double)lo && d <= (double)hi) || d != floor(d))
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "xgboost model: tree %zu: %s[%zu] is not an integer in [%lld, %lld]", tree,
                                   what, i, lo, hi);
        out[i++] = (int64_t)d;
    }
    return ALLOT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                   */

typedef struct tree_scratch {
    int64_t *left, *right, *split_idx, *dflt, *stype, *parent;
    float *cond;
    uint32_t *queue, *newid;
    size_t cap;
} tree_scratch;

static void scratch_free(tree_scratch *s) {
    free(s->left);
    free(s->right);
    free(s->split_idx);
    free(s->dflt);
    free(s->stype);
    free(s->parent);
    free(s->cond);
    free(s->queue);
    free(s->newid);
    memset(s, 0, sizeof *s);
}

static int scratch_reserve(tree_scratch *s, size_t n) {
    if (n <= s->cap) return 1;
    size_t cap = n;
    tree_scratch t = {0};
    t.left = malloc(cap * sizeof *t.left);
    t.right = malloc(cap * sizeof *t.right);
    t.split_idx = malloc(cap * sizeof *t.split_idx);
    t.dflt = malloc(cap * sizeof *t.dflt);
    t.stype = malloc(cap * sizeof *t.stype);
    t.parent = malloc(cap * sizeof *t.parent);
    t.cond = malloc(cap * sizeof *t.cond);
    t.queue = malloc(cap * sizeof *t.queue);
    t.newid = malloc(cap * sizeof *t.newid);
    t.cap = cap;
    if (!t.left || !t.right || !t.split_idx || !t.dflt || !t.stype || !t.parent || !t.cond || !t.queue ||
        !t.newid) {
        scratch_free(&t);
        return 0;
    }
    scratch_free(s);
    *s = t;
    return 1;
}

/* Validate one tree and append its compiled nodes at m->nodes[m->n_nodes...]. */
static allot_status compile_tree(allot_xgb_model *m, const cJSON *tree, size_t t, tree_scratch *s,
                                 size_t *node_cap, uint32_t *depth_out, allot_error *err) {
    char where[48];
    snprintf(where, sizeof where, "trees[%zu]", t);
    if (!cJSON_IsObject(tree))
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s is not an object", where);

    const cJSON *tp = obj_get(tree, "tree_param");
    if (tp) {
        const cJSON *slv = obj_get(tp, "size_leaf_vector");
        if (slv) {
            long long v = 0;
            allot_status st = get_int(tp, "size_leaf_vector", where, 0, LLONG_MAX, &v, err);
            if (st) return st;
            if (v > 1)
                return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                                       "xgboost model: %s is a vector-leaf tree (size_leaf_vector %lld); "
                                       "multi-target trees are not supported",
                                       where, v);
        }
    }

    /* Out-parameters are only written on success; initialised for the static analyser. */
    const cJSON *a_left = NULL, *a_right = NULL, *a_idx = NULL, *a_cond = NULL, *a_dl = NULL, *a_type = NULL;
    size_t n = 0, n2 = 0, n3 = 0, n4 = 0, n5 = 0, n6 = 0;
    allot_status st;
    if ((st = need_array(tree, "left_children", where, &a_left, &n, err))) return st;
    if ((st = need_array(tree, "right_children", where, &a_right, &n2, err))) return st;
    if ((st = need_array(tree, "split_indices", where, &a_idx, &n3, err))) return st;
    if ((st = need_array(tree, "split_conditions", where, &a_cond, &n4, err))) return st;
    if ((st = need_array(tree, "default_left", where, &a_dl, &n5, err))) return st;
    if (obj_get(tree, "split_type") && (st = need_array(tree, "split_type", where, &a_type, &n6, err)))
        return st;
    if (n == 0) return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s has no nodes", where);
    if (n2 != n || n3 != n || n4 != n || n5 != n || (a_type && n6 != n))
        return allot_error_set(
            err, ALLOT_E_INVALID,
            "xgboost model: %s: node arrays differ in length (left_children %zu, "
            "right_children %zu, split_indices %zu, split_conditions %zu, default_left %zu)",
            where, n, n2, n3, n4, n5);
    if (n > (size_t)INT32_MAX / 2)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED, "xgboost model: %s has too many nodes", where);
    if (tp && obj_get(tp, "num_nodes")) {
        long long nn = 0;
        if ((st = get_int(tp, "num_nodes", where, 0, LLONG_MAX, &nn, err))) return st;
        if ((size_t)nn != n)
            return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s: num_nodes %lld but %zu nodes",
                                   where, nn, n);
    }
    if (!scratch_reserve(s, n)) return allot_error_set(err, ALLOT_E_NOMEM, "xgboost model: out of memory");
    if ((st = read_ints(a_left, n, -1, (long long)n - 1, s->left, "left_children", t, err))) return st;
    if ((st = read_ints(a_right, n, -1, (long long)n - 1, s->right, "right_children", t, err))) return st;
    if ((st = read_ints(a_idx, n, 0, UINT32_MAX, s->split_idx, "split_indices", t, err))) return st;
    if ((st = read_ints(a_dl, n, 0, 1, s->dflt, "default_left", t, err))) return st;
    if (a_type && (st = read_ints(a_type, n, 0, 1, s->stype, "split_type", t, err))) return st;
    if ((st = read_floats(a_cond, n, s->cond, "split_conditions", t, err))) return st;

    for (size_t i = 0; i < n; i++) s->parent[i] = -1;
    for (size_t i = 0; i < n; i++) {
        int64_t l = s->left[i], r = s->right[i];
        if (l == -1 || r == -1) {
            if (l != r)
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "xgboost model: %s node %zu has one child only (%lld, %lld)", where, i,
                                       (long long)l, (long long)r);
            if (!isfinite(s->cond[i]))
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "xgboost model: %s leaf %zu has a non-finite value", where, i);
            continue;
        }
        /* Children come after their parent (XGBoost allocates them so): no cycles possible. */
        if (l <= (int64_t)i || r <= (int64_t)i || l == r)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "xgboost model: %s node %zu has children %lld, %lld (must be distinct and "
                                   "greater than the node: cycle or malformed tree)",
                                   where, i, (long long)l, (long long)r);
        if (s->parent[l] != -1 || s->parent[r] != -1)
            return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s: a node of %zu has two parents",
                                   where, i);
        s->parent[l] = (int64_t)i;
        s->parent[r] = (int64_t)i;
        if (a_type && s->stype[i] != 0)
            return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                                   "xgboost model: %s node %zu is a categorical split; categorical "
                                   "features are not supported by this runtime",
                                   where, i);
        if ((uint64_t)s->split_idx[i] >= m->n_features)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "xgboost model: %s node %zu splits on feature %lld >= num_feature %zu",
                                   where, i, (long long)s->split_idx[i], m->n_features);
        if (isnan(s->cond[i]))
            return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s node %zu has a NaN threshold",
                                   where, i);
    }

    /* Breadth-first renumbering from the root; children of a split get adjacent slots. The
     * number of reachable nodes bounds everything; unreachable nodes are dropped. */
    size_t base = m->n_nodes;
    size_t head = 0, tail = 1, next_id = 1;
    s->queue[0] = 0;
    s->newid[0] = 0;
    uint32_t depth = 0;
    /* depth tracking: process level by level */
    size_t level_end = 1;
    while (head < tail) {
        uint32_t old = s->queue[head];
        uint32_t nid = s->newid[old];
        if (base + nid >= *node_cap) {
            size_t cap = *node_cap ? *node_cap * 2 : 1024;
            while (cap <= base + nid) cap *= 2;
            xgb_node *nn = realloc(m->nodes, cap * sizeof *nn);
            if (!nn) return allot_error_set(err, ALLOT_E_NOMEM, "xgboost model: out of memory");
            m->nodes = nn;
            *node_cap = cap;
        }
        xgb_node *dst = &m->nodes[base + nid];
        if (s->left[old] == -1) {
            dst->thr = NAN;
            dst->feat = 0u; /* feature 0, missing goes left: a NaN threshold always stays on self */
            dst->left = (uint32_t)(base + nid);
            dst->value = s->cond[old];
        } else {
            uint32_t l = (uint32_t)s->left[old], r = (uint32_t)s->right[old];
            s->newid[l] = (uint32_t)next_id;
            s->newid[r] = (uint32_t)next_id + 1;
            dst->thr = s->cond[old];
            dst->feat = ((uint32_t)s->split_idx[old] << 1) | (uint32_t)(s->dflt[old] == 0);
            dst->left = (uint32_t)(base + next_id);
            dst->value = 0.0f;
            next_id += 2;
            s->queue[tail++] = l;
            s->queue[tail++] = r;
        }
        head++;
        if (head == level_end && head < tail) {
            depth++;
            level_end = tail;
        }
    }
    if (base + next_id > UINT32_MAX)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED, "xgboost model: too many nodes in total");
    m->n_nodes = base + next_id;
    *depth_out = depth;
    return ALLOT_OK;
}

static int objective_from_name(const char *name, allot_xgb_objective *obj) {
    static const struct {
        const char *name;
        allot_xgb_objective obj;
    } table[] = {
        {"multi:softprob", ALLOT_XGB_OBJ_SOFTPROB},    {"multi:softmax", ALLOT_XGB_OBJ_SOFTMAX},
        {"binary:logistic", ALLOT_XGB_OBJ_LOGISTIC},   {"reg:logistic", ALLOT_XGB_OBJ_LOGISTIC},
        {"binary:logitraw", ALLOT_XGB_OBJ_LOGITRAW},   {"reg:squarederror", ALLOT_XGB_OBJ_IDENTITY},
        {"reg:linear", ALLOT_XGB_OBJ_IDENTITY},        {"reg:pseudohubererror", ALLOT_XGB_OBJ_IDENTITY},
        {"reg:absoluteerror", ALLOT_XGB_OBJ_IDENTITY}, {"reg:squaredlogerror", ALLOT_XGB_OBJ_IDENTITY},
        {"reg:quantileerror", ALLOT_XGB_OBJ_IDENTITY},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(name, table[i].name) == 0) {
            *obj = table[i].obj;
            return 1;
        }
    }
    return 0;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void free_level_layout(allot_xgb_model *m) {
    free(m->vnodes);
    free(m->vword);
    free(m->vleaf);
    free(m->vsteps);
    free(m->vsword);
    free(m->rthr);
    free(m->rfirst);
    free(m->rpow);
    free(m->rpiv);
    m->vnodes = NULL;
    m->vword = NULL;
    m->vleaf = NULL;
    m->vsteps = NULL;
    m->vsword = NULL;
    m->rthr = NULL;
    m->rfirst = NULL;
    m->rpow = NULL;
    m->rpiv = NULL;
}

/* The distinct split thresholds of each feature, ascending (equal as floats: -0 and +0 are one),
 * into m->rthr (padded with +inf to a power of two, m->rpow) with their 16 pivots (m->rpiv); cnt[f]
 * becomes feature f's number of distinct thresholds (cnt has F + 1 entries, zeroed). sorted: one
 * float per node. 1, 0 when a feature has too many thresholds, -1 when out of memory. */
static int rank_thresholds(allot_xgb_model *m, uint32_t *cnt, uint32_t *fstart, float *sorted) {
    const size_t F = m->n_features;
    for (size_t i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].left != i) cnt[(m->nodes[i].feat >> 1) + 1]++;
    for (size_t f = 0; f < F; f++) cnt[f + 1] += cnt[f];
    for (size_t i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].left != i) sorted[cnt[m->nodes[i].feat >> 1]++] = m->nodes[i].thr;
    size_t total = 0; /* padded thresholds */
    for (size_t f = 0, start = 0; f < F; f++) {
        size_t end = cnt[f], u = 0; /* cnt[f] is now the end of feature f's thresholds */
        qsort(sorted + start, end - start, sizeof *sorted, cmp_float);
        for (size_t i = start; i < end; i++)
            if (u == 0 || sorted[i] != sorted[start + u - 1]) sorted[start + u++] = sorted[i];
        if (u > 32767) return 0;
        size_t p2 = 0;
        if (u) {
            p2 = 1;
            while (p2 <= u) p2 *= 2;
        }
        m->rfirst[f] = (uint32_t)total;
        m->rpow[f] = (uint32_t)p2;
        total += p2;
        cnt[f] = (uint32_t)u; /* now: distinct thresholds of f, at sorted + start */
        fstart[f] = (uint32_t)start;
        start = end;
    }
    m->rthr = malloc((total ? total : 1) * sizeof *m->rthr);
    if (!m->rthr) return -1;
    for (size_t f = 0; f < F; f++) {
        float *dst = m->rthr + m->rfirst[f];
        memcpy(dst, sorted + fstart[f], cnt[f] * sizeof *dst);
        for (size_t i = cnt[f]; i < m->rpow[f]; i++) dst[i] = INFINITY;
        size_t u = m->rpow[f] >= 16 ? m->rpow[f] / 16 : 1;
        for (size_t j = 0; j < 16; j++)
            m->rpiv[f * 16 + j] = (j + 1) * u <= m->rpow[f] ? dst[(j + 1) * u - 1] : INFINITY;
    }
    return 1;
}

/* Every split of every tree into m->vnodes by its position in the complete tree (its words' ranges in
 * m->vword), every leaf's value into the depth-6 positions below it (m->vleaf). cnt[f]: feature f's
 * distinct thresholds (rank_thresholds); pos: one entry per node. */
static void place_nodes(allot_xgb_model *m, const uint32_t *cnt, uint32_t *pos) {
    const size_t n = m->n_trees, F = m->n_features;
    size_t k = 0;
    for (size_t t = 0; t < n; t++) {
        size_t first = m->roots[t], end = t + 1 < n ? m->roots[t + 1] : m->n_nodes;
        uint32_t word = 0; /* breadth-first order: positions, hence words, never decrease */
        m->vword[4 * t] = (uint32_t)k;
        pos[first] = 1;
        for (size_t i = first; i < end; i++) {
            const xgb_node *nd = &m->nodes[i];
            uint32_t p = pos[i];
            if (nd->left == i) { /* leaf */
                uint32_t L = 0;
                while ((p >> (L + 1)) != 0) L++;
                for (uint32_t q = p << (6 - L); q < (p + 1) << (6 - L); q++)
                    m->vleaf[t * 64 + q - 64] = nd->value;
                continue;
            }
            for (; word < p / 16; word++) m->vword[4 * t + word + 1] = (uint32_t)k;
            uint32_t f = nd->feat >> 1, slot = f + (nd->feat & 1u) * (uint32_t)F;
            const float *T = m->rthr + m->rfirst[f];
            uint32_t lo = 0, hi = cnt[f]; /* index of thr among the distinct thresholds */
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (T[mid] < nd->thr)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            uint32_t rank = lo + 1, bit = 1u << (p % 16);
            m->vnodes[k++] =
                (xgb_vnode){slot * XGB_VROWS * (uint32_t)sizeof(uint16_t), rank * 0x10001u, bit * 0x10001u};
            pos[nd->left] = 2 * p;
            pos[nd->left + 1] = 2 * p + 1;
        }
        for (; word < 4; word++) m->vword[4 * t + word + 1] = (uint32_t)k;
    }
}

/* The AVX2 kernel's steps (m->vsteps, their words' ranges in m->vsword) from the splits placed by
 * place_nodes: each word's positions from its first split's up to 15, in increasing order, a split
 * where there is one, else {0, 0}. The kernel shifts each step's outcome in at the top of the word
 * (see accumulate_block_avx2), so that after the word's last step each split's outcome lands on the
 * bit of its position; the positions without a split are those below a leaf (or not reached), whose
 * bits the walk may read either way (the leaf's value fills every depth-6 position below it). */
static void place_steps(allot_xgb_model *m) {
    size_t k = 0;
    for (size_t t = 0; t < m->n_trees; t++)
        for (size_t q = 0; q < 4; q++) {
            uint32_t i = m->vword[4 * t + q], end = m->vword[4 * t + q + 1], p = 0;
            m->vsword[4 * t + q] = (uint32_t)k;
            if (i == end) continue;
            while (!((m->vnodes[i].bit2 >> p) & 1u)) p++;
            for (; p < 16; p++) {
                if (i < end && (m->vnodes[i].bit2 & 0xFFFFu) == 1u << p) {
                    m->vsteps[k++] = (xgb_vstep){m->vnodes[i].off, m->vnodes[i].thr2};
                    i++;
                } else {
                    m->vsteps[k++] = (xgb_vstep){0, 0};
                }
            }
        }
    m->vsword[4 * m->n_trees] = (uint32_t)k;
}

/* The level layout for the vector batch kernel, built when every tree has depth <= 6, the block's
 * ranks (2 x XGB_VROWS uint16 per feature) fit in its scratch (XGB_BLOCK_FLOATS floats) and its
 * values (XGB_VHALF floats per feature) and accumulators (XGB_VROWS floats per group) in
 * XGB_BLOCK_FLOATS / 2 and XGB_BLOCK_FLOATS floats (at most 64 features and 64 groups), and no
 * feature has more than 32767 distinct thresholds.
 *   - Ranks: a feature value x becomes the number of the feature's distinct thresholds t <= x
 *     (0 for NaN), so that x >= thr exactly when rank(x) >= 1 + index of thr: one 16-bit
 *     comparison per node. The NaN -> +inf slot of the feature gets 0xFFFF for NaN (always right).
 *   - Positions: a node's place is its position p in the complete binary tree (root 1, children 2p
 *     and 2p + 1); a split sets bit p % 16 of outcome word p / 16 (words 0-3: positions 1-15,
 *     16-31, 32-47, 48-63); a leaf at level L fills the 2^(6-L) positions below it at depth 6 (the
 *     walk goes left under it: no outcome bit is set there).
 * Returns 0 when the model does not qualify (nothing kept), -1 when out of memory. */
static int build_level_layout(allot_xgb_model *m) {
    const size_t n = m->n_trees, F = m->n_features;
    if (n == 0 || 2 * F * XGB_VROWS * sizeof(uint16_t) > XGB_BLOCK_FLOATS * sizeof(float) ||
        F * XGB_VHALF > XGB_BLOCK_FLOATS / 2 || m->n_groups * XGB_VROWS > XGB_BLOCK_FLOATS)
        return 0;
    for (size_t lane = 0; lane < (n + XGB_LANES - 1) / XGB_LANES; lane++)
        if (m->lane_depth[lane] > 6) return 0;
    const size_t nn = m->n_nodes ? m->n_nodes : 1;
    uint32_t *pos = malloc(nn * sizeof *pos), *cnt = calloc(F + 1, sizeof *cnt);
    uint32_t *fstart = malloc(F * sizeof *fstart);
    float *sorted = malloc(nn * sizeof *sorted);
    m->vnodes = malloc(nn * sizeof *m->vnodes);
    m->vword = malloc((4 * n + 1) * sizeof *m->vword);
    m->vleaf = calloc(n * 64, sizeof *m->vleaf);
    m->vsteps = malloc(n * 64 * sizeof *m->vsteps); /* at most 16 steps per word */
    m->vsword = malloc((4 * n + 1) * sizeof *m->vsword);
    m->rfirst = malloc(F * sizeof *m->rfirst);
    m->rpow = calloc(F, sizeof *m->rpow);
    m->rpiv = malloc(F * 16 * sizeof *m->rpiv);
    int ok = pos && cnt && fstart && sorted && m->vnodes && m->vword && m->vleaf && m->vsteps && m->vsword &&
                     m->rfirst && m->rpow && m->rpiv
                 ? rank_thresholds(m, cnt, fstart, sorted)
                 : -1;
    if (ok == 1) {
        place_nodes(m, cnt, pos);
        place_steps(m);
    }
    free(pos);
    free(cnt);
    free(fstart);
    free(sorted);
    if (ok != 1) free_level_layout(m); /* keep nothing: the portable walks need none of it */
    return ok;
}

static allot_status load_doc(allot_xgb_model *m, const cJSON *root, allot_error *err) {
    allot_status st;
    const cJSON *learner = NULL, *lmp = NULL, *objective = NULL, *gb = NULL, *model = NULL;
    if (!cJSON_IsObject(root))
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: the document is not a JSON object");
    if ((st = need_obj(root, "learner", "model", &learner, err))) return st;
    if ((st = need_obj(learner, "learner_model_param", "learner", &lmp, err))) return st;
    if ((st = need_obj(learner, "objective", "learner", &objective, err))) return st;
    if ((st = need_obj(learner, "gradient_booster", "learner", &gb, err))) return st;

    const cJSON *oname = obj_get(objective, "name");
    if (!cJSON_IsString(oname))
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: learner.objective.name is missing");
    if (!objective_from_name(oname->valuestring, &m->objective))
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "xgboost model: objective \"%.40s\" is not supported", oname->valuestring);
    snprintf(m->objective_name, sizeof m->objective_name, "%s", oname->valuestring);

    const cJSON *gbname = obj_get(gb, "name");
    if (!cJSON_IsString(gbname))
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: gradient_booster.name is missing");
    if (strcmp(gbname->valuestring, "gbtree") != 0)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "xgboost model: booster \"%.40s\" is not supported (only gbtree)",
                               gbname->valuestring);
    if ((st = need_obj(gb, "model", "gradient_booster", &model, err))) return st;

    long long num_feature = 0, num_class = 0, num_target = 1;
    if ((st = get_int(lmp, "num_feature", "learner_model_param", 1, XGB_MAX_FEATURES, &num_feature, err)))
        return st;
    if (obj_get(lmp, "num_class") &&
        (st = get_int(lmp, "num_class", "learner_model_param", 0, XGB_MAX_GROUPS, &num_class, err)))
        return st;
    if (obj_get(lmp, "num_target") &&
        (st = get_int(lmp, "num_target", "learner_model_param", 0, LLONG_MAX, &num_target, err)))
        return st;
    if (num_target > 1)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "xgboost model: num_target %lld: multi-target models are not supported",
                               num_target);
    int multi = m->objective == ALLOT_XGB_OBJ_SOFTPROB || m->objective == ALLOT_XGB_OBJ_SOFTMAX;
    if (multi && num_class < 2)
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %s needs num_class >= 2 (got %lld)",
                               m->objective_name, num_class);
    if (!multi && num_class > 1)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED, "xgboost model: %s with num_class %lld",
                               m->objective_name, num_class);
    m->n_features = (size_t)num_feature;
    m->n_groups = multi ? (size_t)num_class : 1;
    m->n_classes = multi ? (size_t)num_class : (m->objective == ALLOT_XGB_OBJ_IDENTITY ? 1 : 2);

    m->base_margin = malloc(m->n_groups * sizeof *m->base_margin);
    m->base_score = calloc(m->n_groups, sizeof *m->base_score);
    if (!m->base_margin || !m->base_score)
        return allot_error_set(err, ALLOT_E_NOMEM, "xgboost model: out of memory");
    const cJSON *bs = obj_get(lmp, "base_score");
    if (!cJSON_IsString(bs))
        return allot_error_set(err, ALLOT_E_INVALID,
                               "xgboost model: learner_model_param.base_score is missing");
    if ((st = parse_base_score(bs->valuestring, m->n_groups, m->base_score, err))) return st;
    for (size_t g = 0; g < m->n_groups; g++) {
        float b = m->base_score[g];
        /* binary:logitraw keeps base_score as the margin in XGBoost 1.7.4 (measured by the
         * parity suite), unlike binary:logistic. */
        if (m->objective == ALLOT_XGB_OBJ_LOGISTIC) {
            if (!(b > 0.0f && b < 1.0f))
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "xgboost model: base_score %g must be in (0, 1) for %s", (double)b,
                                       m->objective_name);
            m->base_margin[g] = -logf(1.0f / b - 1.0f); /* XGBoost's ProbToMargin */
        } else {
            m->base_margin[g] = b;
        }
    }

    const cJSON *trees = NULL, *tree_info = NULL;
    size_t n_trees = 0, n_info = 0;
    if ((st = need_array(model, "trees", "model", &trees, &n_trees, err))) return st;
    if ((st = need_array(model, "tree_info", "model", &tree_info, &n_info, err))) return st;
    if (n_info != n_trees)
        return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: %zu trees but %zu tree_info entries",
                               n_trees, n_info);
    const cJSON *gmp = obj_get(model, "gbtree_model_param");
    if (gmp && obj_get(gmp, "num_trees")) {
        long long nt = 0;
        if ((st = get_int(gmp, "num_trees", "gbtree_model_param", 0, LLONG_MAX, &nt, err))) return st;
        if ((size_t)nt != n_trees)
            return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: num_trees %lld but %zu trees", nt,
                                   n_trees);
    }
    if (gmp && obj_get(gmp, "size_leaf_vector")) {
        long long v = 0;
        if ((st = get_int(gmp, "size_leaf_vector", "gbtree_model_param", 0, LLONG_MAX, &v, err))) return st;
        if (v > 1)
            return allot_error_set(
                err, ALLOT_E_UNSUPPORTED,
                "xgboost model: vector-leaf trees (size_leaf_vector %lld) are not supported", v);
    }
    const cJSON *indptr = obj_get(model, "iteration_indptr");
    if (indptr) {
        if (!cJSON_IsArray(indptr))
            return allot_error_set(err, ALLOT_E_INVALID, "xgboost model: iteration_indptr is not an array");
        long long prev = -1;
        size_t k = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, indptr) {
            double d = cJSON_IsNumber(it) ? it->valuedouble : NAN;
            if (!(d >= 0 && d <= (double)n_trees) || d != floor(d) || (k == 0 && d != 0) ||
                (long long)d < prev)
                return allot_error_set(
                    err, ALLOT_E_INVALID,
                    "xgboost model: iteration_indptr[%zu] is not a non-decreasing tree count "
                    "starting at 0",
                    k);
            prev = (long long)d;
            k++;
        }
        if (k == 0 || prev != (long long)n_trees)
            return allot_error_set(
                err, ALLOT_E_INVALID,
                "xgboost model: iteration_indptr does not end at the number of trees (%zu)", n_trees);
    }

    m->n_trees = n_trees;
    size_t n_lanes = (n_trees + XGB_LANES - 1) / XGB_LANES;
    m->roots = malloc((n_trees ? n_trees : 1) * sizeof *m->roots);
    m->groups = malloc((n_trees ? n_trees : 1) * sizeof *m->groups);
    m->lane_depth = calloc(n_lanes ? n_lanes : 1, sizeof *m->lane_depth);
    if (!m->roots || !m->groups || !m->lane_depth)
        return allot_error_set(err, ALLOT_E_NOMEM, "xgboost model: out of memory");
    {
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, tree_info) {
            double d = cJSON_IsNumber(it) ? it->valuedouble : NAN;
            if (!(d >= 0 && d < (double)m->n_groups) || d != floor(d))
                return allot_error_set(err, ALLOT_E_INVALID,
                                       "xgboost model: tree_info[%zu] is not a class index below %zu", i,
                                       m->n_groups);
            m->groups[i++] = (uint32_t)d;
        }
    }
    tree_scratch s = {0};
    size_t node_cap = 0;
    size_t t = 0;
    const cJSON *tree;
    st = ALLOT_OK;
    cJSON_ArrayForEach(tree, trees) {
        uint32_t depth = 0;
        m->roots[t] = (uint32_t)m->n_nodes;
        st = compile_tree(m, tree, t, &s, &node_cap, &depth, err);
        if (st) break;
        if (depth > m->lane_depth[t / XGB_LANES]) m->lane_depth[t / XGB_LANES] = depth;
        t++;
    }
    scratch_free(&s);
    if (st == ALLOT_OK && m->n_features <= XGB_FAST_FEATURES) {
        /* Compact encoding for step_compact: feature f whose missing value goes right reads slot
         * F + f of the per-call buffer, where a missing value has been replaced by +inf. */
        m->cnodes = malloc((m->n_nodes ? m->n_nodes : 1) * sizeof *m->cnodes);
        m->cvalues = malloc((m->n_nodes ? m->n_nodes : 1) * sizeof *m->cvalues);
        if (!m->cnodes || !m->cvalues)
            return allot_error_set(err, ALLOT_E_NOMEM, "xgboost model: out of memory");
        for (size_t i = 0; i < m->n_nodes; i++) {
            const xgb_node *nd = &m->nodes[i];
            size_t delta = nd->left - i; /* left >= i: children follow their parent */
            if (delta > UINT16_MAX) {    /* a huge tree: keep the generic walk */
                free(m->cnodes);
                free(m->cvalues);
                m->cnodes = NULL;
                m->cvalues = NULL;
                break;
            }
            uint32_t f = (nd->feat >> 1) + (nd->feat & 1u) * (uint32_t)m->n_features;
            m->cnodes[i] = (xgb_cnode){nd->thr, (uint16_t)f, (uint16_t)delta};
            m->cvalues[i] = nd->value;
        }
    }
    if (st == ALLOT_OK) {
        int lay = build_level_layout(m);
        if (lay < 0) return allot_error_set(err, ALLOT_E_NOMEM, "xgboost model: out of memory");
        m->batch_kernel = xgb_choose_batch_kernel(m);
    }
    return st;
}

static void model_free_parts(allot_xgb_model *m) {
    free(m->nodes);
    free(m->roots);
    free(m->groups);
    free(m->lane_depth);
    free(m->cnodes);
    free(m->cvalues);
    free_level_layout(m);
    free(m->base_margin);
    free(m->base_score);
    free(m);
}

void allot_xgb_model_free(allot_xgb_model *model) {
    if (model) model_free_parts(model);
}

allot_status allot_xgb_model_load_memory(const char *data, size_t len, allot_xgb_model **out,
                                         allot_error *err) {
    if (!out) return allot_error_set(err, ALLOT_E_ARGUMENT, "xgboost model: out is NULL");
    *out = NULL;
    if (!data && len) return allot_error_set(err, ALLOT_E_ARGUMENT, "xgboost model: data is NULL");
    data = allot_rt_skip_bom(data, &len);
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')) i++;
    if (i == len) return allot_error_set(err, ALLOT_E_PARSE, "xgboost model: empty input");
    if (data[i] == '{') {
        /* UBJSON also opens with '{', followed by a type or length marker, not a '"' key. */
        size_t j = i + 1;
        while (j < len && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r')) j++;
        if (j < len && data[j] != '"' && data[j] != '}')
            return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                                   "xgboost model: this looks like UBJSON (binary JSON); save the model as "
                                   "text JSON (a file name ending in .json, or format \"json\")");
    } else {
        if (len - i >= 4 && memcmp(data + i, "binf", 4) == 0)
            return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                                   "xgboost model: legacy binary model format; save it as JSON");
        return allot_error_set(err, ALLOT_E_PARSE,
                               "xgboost model: not a JSON object (first byte 0x%02x); only text JSON models "
                               "are supported",
                               (unsigned)(unsigned char)data[i]);
    }
    const char *end = NULL;
    int nomem;
    cJSON *root = allot_rt_json_parse(data, len, &end, &nomem);
    if (!root && nomem)
        return allot_error_set(err, ALLOT_E_NOMEM, "xgboost model: out of memory parsing the JSON");
    if (!root) {
        size_t off = end && end >= data && end <= data + len ? (size_t)(end - data) : 0;
        return allot_error_set(
            err, ALLOT_E_PARSE,
            "xgboost model: JSON syntax error near byte %zu (truncated file, or NaN/Infinity "
            "values?)",
            off);
    }
    for (const char *p = end; p && p < data + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return allot_error_set(err, ALLOT_E_PARSE,
                                   "xgboost model: text after the JSON document at byte %zu",
                                   (size_t)(p - data) + 1);
        }
    char msg[ALLOT_ERROR_MSG_SIZE];
    int strict = allot_rt_json_strict_check(root, data, len, "xgboost model", msg, sizeof msg);
    if (strict) {
        cJSON_Delete(root);
        return allot_error_set(err, strict < 0 ? ALLOT_E_NOMEM : ALLOT_E_INVALID, "%s", msg);
    }
    allot_xgb_model *m = calloc(1, sizeof *m);
    if (!m) {
        cJSON_Delete(root);
        return allot_error_set(err, ALLOT_E_NOMEM, "xgboost model: out of memory");
    }
    allot_status st = load_doc(m, root, err);
    cJSON_Delete(root);
    if (st) {
        model_free_parts(m);
        return st;
    }
    if (m->n_nodes > 0) {
        xgb_node *shrunk = realloc(m->nodes, m->n_nodes * sizeof *shrunk);
        if (shrunk) m->nodes = shrunk;
    }
    *out = m;
    return ALLOT_OK;
}

allot_status allot_xgb_model_load_file(const char *path, allot_xgb_model **out, allot_error *err) {
    if (!out) return allot_error_set(err, ALLOT_E_ARGUMENT, "xgboost model: out is NULL");
    *out = NULL;
    if (!path) return allot_error_set(err, ALLOT_E_ARGUMENT, "xgboost model: path is NULL");
    char *buf;
    size_t len;
    allot_status rs = allot_rt_read_file("xgboost model", path, 0, &buf, &len, err);
    if (rs != ALLOT_OK) return rs;
    allot_status st = allot_xgb_model_load_memory(buf, len, out, err);
    free(buf);
    return st == ALLOT_OK ? ALLOT_OK : allot_rt_error_prefix(err, st, path);
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors                                                                                 */

size_t allot_xgb_model_num_features(const allot_xgb_model *m) {
    return m ? m->n_features : 0;
}
size_t allot_xgb_model_num_classes(const allot_xgb_model *m) {
    return m ? m->n_classes : 0;
}
size_t allot_xgb_model_num_trees(const allot_xgb_model *m) {
    return m ? m->n_trees : 0;
}
allot_xgb_objective allot_xgb_model_objective(const allot_xgb_model *m) {
    return m ? m->objective : ALLOT_XGB_OBJ_IDENTITY;
}
const char *allot_xgb_model_objective_name(const allot_xgb_model *m) {
    return m ? m->objective_name : "";
}
float allot_xgb_model_base_score(const allot_xgb_model *m, size_t group) {
    return m && group < m->n_groups ? m->base_score[group] : 0.0f;
}

size_t allot_xgb_model_output_width(const allot_xgb_model *m, allot_xgb_output kind) {
    if (!m) return 0;
    switch (kind) {
    case ALLOT_XGB_OUTPUT_MARGIN: return m->n_groups;
    case ALLOT_XGB_OUTPUT_VALUE: return m->objective == ALLOT_XGB_OBJ_SOFTPROB ? m->n_groups : 1;
    case ALLOT_XGB_OUTPUT_PROBA:
        switch (m->objective) {
        case ALLOT_XGB_OBJ_SOFTPROB:
        case ALLOT_XGB_OBJ_SOFTMAX: return m->n_groups;
        case ALLOT_XGB_OBJ_LOGITRAW: return 1;
        case ALLOT_XGB_OBJ_LOGISTIC: return strcmp(m->objective_name, "binary:logistic") == 0 ? 1 : 0;
        case ALLOT_XGB_OBJ_IDENTITY: return 0;
        }
        return 0;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Evaluation                                                                                */

/* One step of a walk, without branches: x >= thr goes right, x < thr left, and a missing
 * value (NaN: both comparisons false) goes right only when the node's bit 0 says so. A leaf
 * (thr NaN, bit 0 clear) goes "left" to itself. */
static inline uint32_t step(const xgb_node *nodes, uint32_t i, const float *row) {
    const xgb_node *nd = &nodes[i];
    float x = row[nd->feat >> 1];
    uint32_t ge = x >= nd->thr;
    uint32_t lt = x < nd->thr;
    uint32_t missing_right = nd->feat & 1u;
    return nd->left + (ge | (missing_right & ~(ge | lt)));
}

/* One step of the one-comparison walk. `xb` holds the row twice: slots [0, F) as given (a
 * missing value stays NaN, and NaN >= thr is false: left), slots [F, 2F) with NaN replaced by
 * +inf (+inf >= any non-NaN threshold: right). The node's feat field already points at the
 * copy matching its default direction, so the walk is x >= thr ? right : left, a single
 * comparison. A leaf (thr NaN, delta 0) compares false and stays on itself. Split thresholds
 * are never NaN (checked at load). */
static inline uint32_t step_compact(const xgb_cnode *nodes, uint32_t i, const float *xb) {
    const xgb_cnode *nd = &nodes[i];
    return i + nd->delta + (uint32_t)(xb[nd->feat] >= nd->thr);
}

/* The same steps on 64-bit indices (the batch walk: no zero-extension before each address). The
 * row pointer is kept in a register (an empty asm makes it opaque to the compiler, which would
 * otherwise fold it into every address as an offset from the stack), a hint only. */
#if defined(__GNUC__) || defined(__clang__)
#define XGB_IN_REGISTER(p) __asm__("" : "+r"(p))
#else
#define XGB_IN_REGISTER(p) ((void)0)
#endif
static inline size_t step_wide(const xgb_node *nodes, size_t i, const float *row) {
    return step(nodes, (uint32_t)i, row);
}
static inline size_t step_compact_wide(const xgb_cnode *nodes, size_t i, const float *xb) {
    const xgb_cnode *nd = &nodes[i];
    return i + nd->delta + (size_t)(xb[nd->feat] >= nd->thr);
}

/* Accumulate all trees into acc (n_groups floats, initialised by the caller): XGB_LANES trees
 * walked in lockstep (independent dependency chains overlap their load latency), their leaves
 * then added in tree order. The last, partial group is padded with copies of its last tree,
 * walked but not added. */
#define XGB_DEFINE_ACCUMULATE(NAME, STEP, NODE_T, NODES, VALUE)                                              \
    static void NAME(const allot_xgb_model *m, const float *row, float *acc) {                               \
        const NODE_T *nodes = m->NODES;                                                                      \
        const size_t n = m->n_trees;                                                                         \
        for (size_t t = 0, lane = 0; t < n; t += XGB_LANES, lane++) {                                        \
            uint32_t ix[XGB_LANES];                                                                          \
            const size_t real = n - t < XGB_LANES ? n - t : XGB_LANES;                                       \
            if (real == XGB_LANES) {                                                                         \
                XGB_UNROLL for (size_t k = 0; k < XGB_LANES; k++) ix[k] = m->roots[t + k];                   \
            } else {                                                                                         \
                for (size_t k = 0; k < XGB_LANES; k++) ix[k] = m->roots[t + (k < real ? k : real - 1)];      \
            }                                                                                                \
            for (uint32_t d = m->lane_depth[lane]; d > 0; d--) {                                             \
                XGB_UNROLL for (size_t k = 0; k < XGB_LANES; k++) ix[k] = STEP(nodes, ix[k], row);           \
            }                                                                                                \
            const uint32_t *g = m->groups + t;                                                               \
            if (real == XGB_LANES) {                                                                         \
                XGB_UNROLL for (size_t k = 0; k < XGB_LANES; k++) acc[g[k]] += VALUE(ix[k]);                 \
            } else {                                                                                         \
                for (size_t k = 0; k < real; k++) acc[g[k]] += VALUE(ix[k]);                                 \
            }                                                                                                \
        }                                                                                                    \
    }

#define XGB_NODE_VALUE(i) nodes[i].value
#define XGB_CNODE_VALUE(i) m->cvalues[i]
XGB_DEFINE_ACCUMULATE(accumulate_generic, step, xgb_node, nodes, XGB_NODE_VALUE)
XGB_DEFINE_ACCUMULATE(accumulate_compact, step_compact, xgb_cnode, cnodes, XGB_CNODE_VALUE)

/* The batch form: the same walks for a block of rows at once, tree group by tree group, so that a
 * group's nodes are read from the cache closest to the core for every row of the block instead of
 * once per row. Each row still adds its leaves tree by tree in tree order, into its own
 * accumulators (acc + r * n_groups): the results are those of the single-row walk, bit for bit. */
#define XGB_DEFINE_ACCUMULATE_BLOCK(NAME, STEP, NODE_T, NODES, VALUE)                                        \
    static void NAME(const allot_xgb_model *m, const float *rows, size_t stride, size_t n_rows,              \
                     float *acc) {                                                                           \
        const NODE_T *nodes = m->NODES;                                                                      \
        const size_t n = m->n_trees, G = m->n_groups;                                                        \
        for (size_t t = 0, lane = 0; t < n; t += XGB_LANES, lane++) {                                        \
            size_t root[XGB_LANES];                                                                          \
            const size_t real = n - t < XGB_LANES ? n - t : XGB_LANES;                                       \
            for (size_t k = 0; k < XGB_LANES; k++) root[k] = m->roots[t + (k < real ? k : real - 1)];        \
            const uint32_t depth = m->lane_depth[lane];                                                      \
            const uint32_t *g = m->groups + t;                                                               \
            for (size_t r = 0; r < n_rows; r++) {                                                            \
                const float *row = rows + r * stride;                                                        \
                XGB_IN_REGISTER(row);                                                                        \
                float *a = acc + r * G;                                                                      \
                size_t ix[XGB_LANES];                                                                        \
                XGB_UNROLL for (size_t k = 0; k < XGB_LANES; k++) ix[k] = root[k];                           \
                for (uint32_t d = depth; d > 0; d--) {                                                       \
                    XGB_UNROLL for (size_t k = 0; k < XGB_LANES; k++) ix[k] =                                \
                        STEP##_wide(nodes, ix[k], row);                                                      \
                }                                                                                            \
                if (real == XGB_LANES) {                                                                     \
                    XGB_UNROLL for (size_t k = 0; k < XGB_LANES; k++) a[g[k]] += VALUE(ix[k]);               \
                } else {                                                                                     \
                    for (size_t k = 0; k < real; k++) a[g[k]] += VALUE(ix[k]);                               \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
    }

XGB_DEFINE_ACCUMULATE_BLOCK(accumulate_block_generic, step, xgb_node, nodes, XGB_NODE_VALUE)
XGB_DEFINE_ACCUMULATE_BLOCK(accumulate_block_compact, step_compact, xgb_cnode, cnodes, XGB_CNODE_VALUE)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The accumulator slot of row r of a pass in the AVX2 kernel: within each 16 rows, rows 4-7 and 8-11
 * swap places, the order in which xgb_avx2_add_leaves's unpacks deliver them (bits 2 and 3 of r
 * exchanged; its own inverse). */
static inline size_t xgb_avx2_slot(size_t r) {
    return (r & ~(size_t)12) | ((r & 4) << 1) | ((r & 8) >> 1);
}

/* The parts of a pass both vector kernels share (plain C, no vector instructions). */

/* The feature values of rows [r0, r0 + XGB_VHALF) of a pass (those from nb on repeat row 0),
 * feature-major into X (XGB_VHALF floats per feature). */
static inline void xgb_pass_values(const float *rows, size_t stride, size_t nb, size_t r0, size_t F,
                                   float *X) {
    for (size_t r = 0; r < XGB_VHALF; r++) {
        const float *row = rows + (r0 + r < nb ? r0 + r : 0) * stride;
        for (size_t f = 0; f < F; f++) X[f * XGB_VHALF + r] = row[f];
    }
}

/* The slot of row r in a group's XGB_VROWS accumulators: r itself, or xgb_avx2_slot(r) for the AVX2
 * kernel (avx2_order). */
static inline size_t xgb_pass_slot(size_t r, int avx2_order) {
    return avx2_order ? xgb_avx2_slot(r) : r;
}

/* The pass's accumulators A, group-major (XGB_VROWS per group), from acc (nb rows of G, row-major);
 * the slots of rows from nb on get 0. */
static inline void xgb_pass_accumulators(const float *acc, size_t nb, size_t G, int avx2_order, float *A) {
    for (size_t g = 0; g < G; g++)
        for (size_t r = 0; r < XGB_VROWS; r++)
            A[g * XGB_VROWS + xgb_pass_slot(r, avx2_order)] = r < nb ? acc[r * G + g] : 0.0f;
}

/* The pass's accumulators back into acc, for its nb rows. */
static inline void xgb_pass_results(const float *A, size_t nb, size_t G, int avx2_order, float *acc) {
    for (size_t g = 0; g < G; g++)
        for (size_t r = 0; r < nb; r++) acc[r * G + g] = A[g * XGB_VROWS + xgb_pass_slot(r, avx2_order)];
}

#define XGB_HAVE_AVX512_KERNEL 1
#define XGB_AVX512 __attribute__((target("avx512f,avx512bw")))
/* Features whose ranks are searched together (see accumulate_block_avx512). */
#define XGB_RANK_FEATURES 4

/* b + bit in the 16-bit lanes selected by k, in b's own register (GCC 12 copies the accumulator
 * around a masked intrinsic in the kernel's node loop). The bits of a word's nodes are distinct,
 * so the sum is their OR. */
XGB_AVX512 static inline __m512i xgb_add16_masked(__m512i b, __mmask32 k, __m512i bit) {
    __asm__("vpaddw %[bit], %[b], %[b]%{%[k]%}" : [b] "+v"(b) : [bit] "v"(bit), [k] "Yk"(k));
    return b;
}

/* The leaf values of 16 rows whose leaf slots (0-63) are in the 32-bit lanes of `leaf`. */
XGB_AVX512 static inline __m512 xgb_leaf16(__m512i leaf, const __m512 *lv) {
    __m512 lo = _mm512_permutex2var_ps(lv[0], leaf, lv[1]);
    __m512 hi = _mm512_permutex2var_ps(lv[2], leaf, lv[3]);
    return _mm512_mask_blend_ps(_mm512_test_epi32_mask(leaf, _mm512_set1_epi32(32)), lo, hi);
}

/* The ranks of rows [r0, r0 + XGB_VHALF) of a pass (those from nb on repeat row 0) into their half
 * (h0 = 0 or XGB_VHALF) of R's slots, by a branchless binary search of 16 rows at a time over the
 * feature's thresholds: its first steps on 16 pivots in a register, the rest with gathers,
 * XGB_RANK_FEATURES features' searches advancing together so that the gathers' latencies overlap.
 * X: XGB_VHALF floats per feature. */
XGB_AVX512 static void xgb_avx512_ranks(const allot_xgb_model *m, const float *rows, size_t stride, size_t nb,
                                        size_t r0, size_t h0, uint16_t *R, float *X) {
    const size_t F = m->n_features;
    xgb_pass_values(rows, stride, nb, r0, F, X);
    for (size_t f0 = 0; f0 < F; f0 += XGB_RANK_FEATURES) {
        __m512 x[2 * XGB_RANK_FEATURES];
        __m512i rank[2 * XGB_RANK_FEATURES];
        uint32_t umax = 0;
        for (size_t c = 0; c < 2 * XGB_RANK_FEATURES; c++) {
            size_t f = f0 + c / 2 < F ? f0 + c / 2 : F - 1;
            x[c] = _mm512_load_ps(X + f * XGB_VHALF + (c % 2) * 16);
            /* rank = number of T[i] <= x: T ascending, P a power of two, T[P-1] = +inf; the search
             * takes the steps P/2, ..., 1; those of u = P/16 or more (all if P <= 16) probe the 16
             * pivots T[(j+1)u - 1] in a register, the others gather */
            const uint32_t P = m->rpow[f], u = P >= 16 ? P / 16 : 1;
            const __m512 piv = _mm512_loadu_ps(m->rpiv + f * 16);
            __m512i j = _mm512_setzero_si512();
            for (uint32_t step = (P >= 16 ? 16 : P) / 2; step; step /= 2) {
                __m512 tv = _mm512_permutexvar_ps(_mm512_add_epi32(j, _mm512_set1_epi32((int)step - 1)), piv);
                j = _mm512_mask_add_epi32(j, _mm512_cmp_ps_mask(tv, x[c], _CMP_LE_OQ), j,
                                          _mm512_set1_epi32((int)step));
            }
            rank[c] = _mm512_mullo_epi32(j, _mm512_set1_epi32((int)u));
            if (P && u > umax) umax = u;
        }
        for (uint32_t step = umax / 2; step; step /= 2) {
            const __m512i sm1 = _mm512_set1_epi32((int)step - 1), sv = _mm512_set1_epi32((int)step);
            for (size_t c = 0; c < 2 * XGB_RANK_FEATURES; c++) {
                size_t f = f0 + c / 2 < F ? f0 + c / 2 : F - 1;
                if (step >= m->rpow[f] / 16) continue;
                const float *T = m->rthr + m->rfirst[f];
                __m512 tv = _mm512_i32gather_ps(_mm512_add_epi32(rank[c], sm1), T, 4);
                rank[c] =
                    _mm512_mask_add_epi32(rank[c], _mm512_cmp_ps_mask(tv, x[c], _CMP_LE_OQ), rank[c], sv);
            }
        }
        for (size_t c = 0; c < 2 * XGB_RANK_FEATURES && f0 + c / 2 < F; c++) {
            size_t f = f0 + c / 2, h = h0 + (c % 2) * 16;
            __m512i right = _mm512_mask_mov_epi32(rank[c], _mm512_cmp_ps_mask(x[c], x[c], _CMP_UNORD_Q),
                                                  _mm512_set1_epi32(0xFFFF));
            _mm256_store_si256((__m256i *)(R + f * XGB_VROWS + h), _mm512_cvtepi32_epi16(rank[c]));
            _mm256_store_si256((__m256i *)(R + (F + f) * XGB_VROWS + h), _mm512_cvtepi32_epi16(right));
        }
    }
}

/* The leaf values of XGB_VHALF rows from their outcome words w[0..3] (16-bit lanes) added to
 * their accumulators a[0..XGB_VHALF). */
XGB_AVX512 static inline void xgb_avx512_add_leaves(const __m512i *w, const __m512 *lv, float *a) {
    const __m512i one = _mm512_set1_epi16(1);
    __m512i p = one;
    for (int d = 0; d < 4; d++) /* positions 1-15: word 0 */
        p = _mm512_ternarylogic_epi32(_mm512_add_epi16(p, p), _mm512_srlv_epi16(w[0], p), one, 0xF8);
    p = _mm512_ternarylogic_epi32(_mm512_add_epi16(p, p),
                                  _mm512_srlv_epi16(w[1], _mm512_sub_epi16(p, _mm512_set1_epi16(16))), one,
                                  0xF8);
    /* positions 32-63: words 2 and 3; a shift by 16 or more (p - 32 >= 16, or p - 48 < 0 wrapped
     * around) gives 0, so the OR picks the right word's bit */
    __m512i b23 = _mm512_or_si512(_mm512_srlv_epi16(w[2], _mm512_sub_epi16(p, _mm512_set1_epi16(32))),
                                  _mm512_srlv_epi16(w[3], _mm512_sub_epi16(p, _mm512_set1_epi16(48))));
    p = _mm512_ternarylogic_epi32(_mm512_add_epi16(p, p), b23, one, 0xF8);
    __m512i leaf = _mm512_sub_epi16(p, _mm512_set1_epi16(64));
    __m512 v0 = xgb_leaf16(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(leaf)), lv);
    __m512 v1 = xgb_leaf16(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(leaf, 1)), lv);
    _mm512_store_ps(a, _mm512_add_ps(_mm512_load_ps(a), v0));
    _mm512_store_ps(a + 16, _mm512_add_ps(_mm512_load_ps(a + 16), v1));
}

/* The AVX-512 batch kernel on the level layout: passes of XGB_VROWS (64) rows, in two vectors of
 * 32 rows, one per 16-bit lane.
 *   1. Each row's feature values become ranks (see build_level_layout, xgb_avx512_ranks) in a
 *      feature-major buffer R in scratch (slot s: 64 uint16, one per row; slots [F, 2F): NaN ->
 *      0xFFFF).
 *   2. For each tree, every split node is evaluated for each 32 rows with one 16-bit comparison
 *      whose mask sets the node's bit in the rows' outcome words. The node's offset, rank and bit
 *      are loaded once for the 64 rows: 1.08 instead of 1.41 ns/tree/row with passes of 32.
 *   3. The walk then reads no memory: from position 1, p = 2p + (bit p of the outcome words), six
 *      times, and the leaf value is picked from the tree's 64 by two permutes and a blend.
 *   4. Each row's accumulator of the tree's group gets the leaf value: per row, leaves are added
 *      in tree order into one float32 per group, as in the single-row walk (bit for bit). */
XGB_AVX512 static void accumulate_block_avx512(const allot_xgb_model *m, const float *rows, size_t stride,
                                               size_t n_rows, float *acc, float *scratch) {
    const size_t G = m->n_groups, n = m->n_trees;
    uint16_t *R = (uint16_t *)scratch;
    const char *rbytes = (const char *)scratch;
    _Alignas(64) float A[XGB_BLOCK_FLOATS];
    _Alignas(64) float X[XGB_BLOCK_FLOATS / 2];
    for (size_t r0 = 0; r0 < n_rows; r0 += XGB_VROWS) {
        const size_t nb = n_rows - r0 < XGB_VROWS ? n_rows - r0 : XGB_VROWS;
        const float *src = rows + r0 * stride;
        xgb_avx512_ranks(m, src, stride, nb, 0, 0, R, X);
        xgb_avx512_ranks(m, src, stride, nb, XGB_VHALF, XGB_VHALF, R, X);
        xgb_pass_accumulators(acc + r0 * G, nb, G, 0, A);
        const xgb_vnode *v = m->vnodes;
        const uint32_t *vw = m->vword;
        for (size_t t = 0; t < n; t++, vw += 4) {
            __m512i w0[4], w1[4];
            for (int q = 0; q < 4; q++) {
                __m512i b0 = _mm512_setzero_si512(), b1 = _mm512_setzero_si512();
                for (size_t k = vw[q]; k < vw[q + 1]; k++) {
                    const char *r = rbytes + v[k].off;
                    const __m512i thr = _mm512_set1_epi32((int)v[k].thr2),
                                  bit = _mm512_set1_epi32((int)v[k].bit2);
                    b0 = xgb_add16_masked(
                        b0, _mm512_cmpge_epu16_mask(_mm512_load_si512((const void *)r), thr), bit);
                    b1 = xgb_add16_masked(
                        b1, _mm512_cmpge_epu16_mask(_mm512_load_si512((const void *)(r + 64)), thr), bit);
                }
                w0[q] = b0;
                w1[q] = b1;
            }
            const float *lf = m->vleaf + t * 64;
            const __m512 lv[4] = {_mm512_loadu_ps(lf), _mm512_loadu_ps(lf + 16), _mm512_loadu_ps(lf + 32),
                                  _mm512_loadu_ps(lf + 48)};
            float *a = A + m->groups[t] * XGB_VROWS;
            xgb_avx512_add_leaves(w0, lv, a);
            xgb_avx512_add_leaves(w1, lv, a + XGB_VHALF);
        }
        xgb_pass_results(A, nb, G, 0, acc + r0 * G);
    }
}

/* ---- AVX2 (CPUs without AVX-512): the same level layout, 16 rows per vector of 16-bit lanes ---- */
#define XGB_AVX2 __attribute__((target("avx2")))

/* The ranks of rows [r0, r0 + XGB_VHALF) of a pass (those from nb on repeat row 0) into their half
 * (h0 = 0 or XGB_VHALF) of R's slots, 8 rows at a time: the same branchless binary search as
 * xgb_avx512_ranks (its first steps on the 16 pivots, in two registers, the rest with gathers), so
 * the same ranks, except that the NaN -> right slot gets 32767 for NaN, not 0xFFFF: every value is
 * then a non-negative signed 16-bit number (a rank is at most rpow - 1 <= 32767), and 32767 is still
 * >= every threshold's rank (at most 32767 distinct thresholds). X: XGB_VHALF floats per feature. */
XGB_AVX2 static void xgb_avx2_ranks(const allot_xgb_model *m, const float *rows, size_t stride, size_t nb,
                                    size_t r0, size_t h0, uint16_t *R, float *X) {
    const size_t F = m->n_features;
    xgb_pass_values(rows, stride, nb, r0, F, X);
    const __m256i top = _mm256_set1_epi32(32767);
    for (size_t f = 0; f < F; f++) {
        const uint32_t P = m->rpow[f], u = P >= 16 ? P / 16 : 1;
        const __m256 piv0 = _mm256_loadu_ps(m->rpiv + f * 16), piv1 = _mm256_loadu_ps(m->rpiv + f * 16 + 8);
        const float *T = m->rthr + m->rfirst[f];
        __m256 x[4];
        __m256i rank[4];
        for (int c = 0; c < 4; c++) {
            x[c] = _mm256_load_ps(X + f * XGB_VHALF + 8 * c);
            __m256i j = _mm256_setzero_si256();
            for (uint32_t step = (P >= 16 ? 16 : P) / 2; step; step /= 2) {
                __m256i ix = _mm256_add_epi32(j, _mm256_set1_epi32((int)step - 1));
                __m256 tv =
                    _mm256_blendv_ps(_mm256_permutevar8x32_ps(piv0, ix), _mm256_permutevar8x32_ps(piv1, ix),
                                     _mm256_castsi256_ps(_mm256_slli_epi32(ix, 28)));
                j = _mm256_add_epi32(
                    j, _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(tv, x[c], _CMP_LE_OQ)),
                                        _mm256_set1_epi32((int)step)));
            }
            rank[c] = _mm256_mullo_epi32(j, _mm256_set1_epi32((int)u));
        }
        if (P > 16) {
            for (uint32_t step = u / 2; step; step /= 2) {
                const __m256i sm1 = _mm256_set1_epi32((int)step - 1), sv = _mm256_set1_epi32((int)step);
                for (int c = 0; c < 4; c++) {
                    __m256 tv = _mm256_i32gather_ps(T, _mm256_add_epi32(rank[c], sm1), 4);
                    rank[c] = _mm256_add_epi32(
                        rank[c],
                        _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(tv, x[c], _CMP_LE_OQ)), sv));
                }
            }
        }
        for (int c = 0; c < 4; c += 2) {
            __m256i l0 = rank[c], l1 = rank[c + 1];
            __m256i g0 = _mm256_castps_si256(_mm256_blendv_ps(
                _mm256_castsi256_ps(l0), _mm256_castsi256_ps(top), _mm256_cmp_ps(x[c], x[c], _CMP_UNORD_Q)));
            __m256i g1 =
                _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(l1), _mm256_castsi256_ps(top),
                                                     _mm256_cmp_ps(x[c + 1], x[c + 1], _CMP_UNORD_Q)));
            /* packs interleaves the two vectors' 128-bit halves: 0xD8 puts rows back in order */
            size_t h = h0 + 8 * (size_t)c;
            _mm256_store_si256((__m256i *)(R + f * XGB_VROWS + h),
                               _mm256_permute4x64_epi64(_mm256_packs_epi32(l0, l1), 0xD8));
            _mm256_store_si256((__m256i *)(R + (F + f) * XGB_VROWS + h),
                               _mm256_permute4x64_epi64(_mm256_packs_epi32(g0, g1), 0xD8));
        }
    }
}

/* The leaf values of 16 rows from their outcome words w0..w3 (16-bit lanes, a bit set where the
 * row goes left) added to their accumulators a[0..16) (in xgb_avx2_slot order). In 32-bit lanes, 8
 * rows at a time: w01 holds positions 0-31 (w0 low, w1 high), w23 positions 32-63; p = 2p + (bit p
 * clear), five times in w01, then once in w23, and the leaf value gathered from the tree's 64. */
XGB_AVX2 static inline void xgb_avx2_add_leaves(__m256i w0, __m256i w1, __m256i w2, __m256i w3,
                                                const float *lf, float *a) {
    const __m256i one = _mm256_set1_epi32(1), k32 = _mm256_set1_epi32(32);
    const __m256i w01[2] = {_mm256_unpacklo_epi16(w0, w1), _mm256_unpackhi_epi16(w0, w1)};
    const __m256i w23[2] = {_mm256_unpacklo_epi16(w2, w3), _mm256_unpackhi_epi16(w2, w3)};
    for (int h = 0; h < 2; h++) {
        __m256i p = one;
        for (int d = 0; d < 5; d++)
            p = _mm256_add_epi32(_mm256_add_epi32(p, p),
                                 _mm256_andnot_si256(_mm256_srlv_epi32(w01[h], p), one));
        p = _mm256_sub_epi32(p, k32);
        __m256i leaf =
            _mm256_add_epi32(_mm256_add_epi32(p, p), _mm256_andnot_si256(_mm256_srlv_epi32(w23[h], p), one));
        __m256 v = _mm256_i32gather_ps(lf, leaf, 4);
        _mm256_store_ps(a + 8 * h, _mm256_add_ps(_mm256_load_ps(a + 8 * h), v));
    }
}

/* The AVX2 batch kernel on the level layout, as accumulate_block_avx512 without mask registers:
 * passes of XGB_VROWS (64) rows, four vectors of 16 rows. Ranks are signed 16-bit numbers
 * (xgb_avx2_ranks), so a split is one signed comparison rank(thr) > rank(x), all ones where the row
 * goes left, shifted in at the top of the rows' outcome word by an unsigned average with it
 * ((w + c + 1) >> 1: c = 0xFFFF sets bit 15, c = 0 adds nothing as bit 0 of w is still clear, at
 * most 16 steps per word): two instructions per split and 16 rows (AND and OR of the node's bit
 * would be three); the steps of a word cover its positions from its first split's up to 15 (see
 * place_steps), so each split's bit lands on its position. The words of a tree go through a small
 * buffer W (16 registers for 64 rows' four words: too many to keep). Leaves are then added per row in
 * tree order into one float32 per group, as in the single-row walk. */
XGB_AVX2 static void accumulate_block_avx2(const allot_xgb_model *m, const float *rows, size_t stride,
                                           size_t n_rows, float *acc, float *scratch) {
    const size_t G = m->n_groups, n = m->n_trees;
    uint16_t *R = (uint16_t *)scratch;
    const char *rbytes = (const char *)scratch;
    _Alignas(64) float A[XGB_BLOCK_FLOATS];
    _Alignas(64) float X[XGB_BLOCK_FLOATS / 2];
    _Alignas(64) uint16_t W[4 * XGB_VROWS];
    for (size_t r0 = 0; r0 < n_rows; r0 += XGB_VROWS) {
        const size_t nb = n_rows - r0 < XGB_VROWS ? n_rows - r0 : XGB_VROWS;
        const float *src = rows + r0 * stride;
        xgb_avx2_ranks(m, src, stride, nb, 0, 0, R, X);
        xgb_avx2_ranks(m, src, stride, nb, XGB_VHALF, XGB_VHALF, R, X);
        xgb_pass_accumulators(acc + r0 * G, nb, G, 1, A);
        const xgb_vstep *v = m->vsteps;
        const uint32_t *vw = m->vsword;
        for (size_t t = 0; t < n; t++, vw += 4) {
            for (int q = 0; q < 4; q++) {
                __m256i b0 = _mm256_setzero_si256(), b1 = b0, b2 = b0, b3 = b0;
                for (size_t k = vw[q]; k < vw[q + 1]; k++) {
                    const __m256i *r = (const __m256i *)(rbytes + v[k].off);
                    const __m256i thr = _mm256_set1_epi32((int)v[k].thr2);
                    b0 = _mm256_avg_epu16(b0, _mm256_cmpgt_epi16(thr, _mm256_load_si256(r)));
                    b1 = _mm256_avg_epu16(b1, _mm256_cmpgt_epi16(thr, _mm256_load_si256(r + 1)));
                    b2 = _mm256_avg_epu16(b2, _mm256_cmpgt_epi16(thr, _mm256_load_si256(r + 2)));
                    b3 = _mm256_avg_epu16(b3, _mm256_cmpgt_epi16(thr, _mm256_load_si256(r + 3)));
                }
                __m256i *wq = (__m256i *)(W + q * XGB_VROWS);
                _mm256_store_si256(wq, b0);
                _mm256_store_si256(wq + 1, b1);
                _mm256_store_si256(wq + 2, b2);
                _mm256_store_si256(wq + 3, b3);
            }
            const float *lf = m->vleaf + t * 64;
            float *a = A + m->groups[t] * XGB_VROWS;
            const __m256i *w = (const __m256i *)W;
            for (int s = 0; s < 4; s++)
                xgb_avx2_add_leaves(_mm256_load_si256(w + s), _mm256_load_si256(w + 4 + s),
                                    _mm256_load_si256(w + 8 + s), _mm256_load_si256(w + 12 + s), lf,
                                    a + 16 * s);
        }
        xgb_pass_results(A, nb, G, 1, acc + r0 * G);
    }
}
#endif

/* The vector kernel of that name ("avx512", "avx2") when this CPU and model can run it, else NULL. */
static xgb_batch_kernel xgb_vector_kernel(const allot_xgb_model *m, const char *name) {
#if defined(XGB_HAVE_AVX512_KERNEL)
    /* (the CPU features were read by libgcc's or compiler-rt's constructor: no __builtin_cpu_init) */
    if (!m->vnodes) return NULL;
    if (strcmp(name, "avx512") == 0 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw"))
        return accumulate_block_avx512;
    if (strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2")) return accumulate_block_avx2;
#endif
    (void)m;
    (void)name;
    return NULL;
}

/* The batch kernel for this machine and model, chosen once at load: the widest that runs, else the
 * portable walk (NULL). */
static xgb_batch_kernel xgb_choose_batch_kernel(const allot_xgb_model *m) {
    xgb_batch_kernel k = xgb_vector_kernel(m, "avx512");
    return k ? k : xgb_vector_kernel(m, "avx2");
}

const char *allot_xgb_model_batch_kernel_name(const allot_xgb_model *m) {
#if defined(XGB_HAVE_AVX512_KERNEL)
    if (m->batch_kernel == accumulate_block_avx512) return "avx512";
    if (m->batch_kernel == accumulate_block_avx2) return "avx2";
#endif
    return "portable";
}

int allot_xgb_model_use_batch_kernel(allot_xgb_model *m, const char *name) {
    if (strcmp(name, "portable") == 0) {
        m->batch_kernel = NULL;
        return 1;
    }
    xgb_batch_kernel k = xgb_vector_kernel(m, name);
    if (k) m->batch_kernel = k;
    return k != NULL;
}

/* Margins of one row into acc. */
static void accumulate(const allot_xgb_model *m, const float *row, float *acc) {
    memcpy(acc, m->base_margin, m->n_groups * sizeof *acc);
    if (m->cnodes) {
        float xb[2 * XGB_FAST_FEATURES];
        size_t nf = m->n_features;
        for (size_t j = 0; j < nf; j++) {
            float v = row[j];
            xb[j] = v;
            xb[nf + j] = isnan(v) ? INFINITY : v;
        }
        accumulate_compact(m, xb, acc);
    } else {
        accumulate_generic(m, row, acc);
    }
}

/* XGBoost 1.7.4's sigmoid, in float: the exponent is clamped at 88.7 (no overflow to inf, so a
 * very negative margin gives a tiny denormal instead of 0) and 1e-16f is added to the
 * denominator, in this order (checked bit for bit against XGBoost in test_xgb_errors). */
static inline float xgb_sigmoid(float x) {
    const float eps = 1e-16f;
    float nx = -x;
    float e = 88.7f < nx ? 88.7f : nx; /* std::min(-x, 88.7f) */
    float denom = expf(e) + 1.0f + eps;
    return 1.0f / denom;
}

/* XGBoost's softmax: max in float, expf(m - max) in float, sum in double, divide by (float)sum. */
static void xgb_softmax(const float *m, size_t k, float *out) {
    float mx = m[0];
    for (size_t i = 1; i < k; i++) mx = fmaxf(m[i], mx);
    double sum = 0.0;
    for (size_t i = 0; i < k; i++) {
        out[i] = expf(m[i] - mx);
        sum += out[i];
    }
    float fs = (float)sum;
    for (size_t i = 0; i < k; i++) out[i] /= fs;
}

static void transform(const allot_xgb_model *m, allot_xgb_output kind, const float *acc, float *out) {
    size_t k = m->n_groups;
    if (kind == ALLOT_XGB_OUTPUT_MARGIN) {
        memcpy(out, acc, k * sizeof *out);
        return;
    }
    switch (m->objective) {
    case ALLOT_XGB_OBJ_SOFTPROB: xgb_softmax(acc, k, out); return;
    case ALLOT_XGB_OBJ_SOFTMAX:
        if (kind == ALLOT_XGB_OUTPUT_PROBA) {
            xgb_softmax(acc, k, out);
        } else {
            /* first maximum wins, as XGBoost's FindMaxIndex */
            size_t best = 0;
            for (size_t i = 1; i < k; i++)
                if (acc[i] > acc[best]) best = i;
            out[0] = (float)best;
        }
        return;
    case ALLOT_XGB_OBJ_LOGISTIC: out[0] = xgb_sigmoid(acc[0]); return;
    case ALLOT_XGB_OBJ_LOGITRAW:
        out[0] = kind == ALLOT_XGB_OUTPUT_PROBA ? xgb_sigmoid(acc[0]) : acc[0];
        return;
    case ALLOT_XGB_OBJ_IDENTITY: out[0] = acc[0]; return;
    }
}

/* The portable batch walk of n_rows rows into acc (n_rows x n_groups, initialised by the caller);
 * xb holds n_rows x width floats (width = 2 x num_feature, the one-comparison walk's doubled rows,
 * or 0 for the generic walk, which reads the rows in place). */
static void accumulate_block(const allot_xgb_model *m, const float *rows, size_t stride, size_t n_rows,
                             float *acc, float *xb, size_t width) {
    if (m->cnodes) {
        const size_t nf = m->n_features;
        for (size_t r = 0; r < n_rows; r++) {
            const float *row = rows + r * stride;
            float *x = xb + r * width;
            for (size_t j = 0; j < nf; j++) {
                float v = row[j];
                x[j] = v;
                x[nf + j] = isnan(v) ? INFINITY : v;
            }
        }
        accumulate_block_compact(m, xb, width, n_rows, acc);
    } else {
        accumulate_block_generic(m, rows, stride, n_rows, acc);
    }
}

allot_status allot_xgb_model_predict(const allot_xgb_model *m, allot_xgb_output kind, const float *row,
                                     size_t row_len, float *out, size_t out_len, allot_error *err) {
    if (!m || !row || !out) return allot_error_set(err, ALLOT_E_ARGUMENT, "xgb predict: NULL argument");
    size_t w = allot_xgb_model_output_width(m, kind);
    if (w == 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "xgb predict: output kind %d is not available for %s",
                               (int)kind, m->objective_name);
    if (row_len < m->n_features)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "xgb predict: row has %zu values, the model needs %zu",
                               row_len, m->n_features);
    if (out_len < w)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "xgb predict: output holds %zu floats, %zu needed",
                               out_len, w);
    float acc[XGB_MAX_GROUPS];
    accumulate(m, row, acc);
    transform(m, kind, acc, out);
    return ALLOT_OK;
}

allot_status allot_xgb_model_predict_batch(const allot_xgb_model *m, allot_xgb_output kind, const float *rows,
                                           size_t n_rows, size_t row_stride, float *out, size_t out_len,
                                           allot_error *err) {
    if (!m || (n_rows && (!rows || !out)))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "xgb predict_batch: NULL argument");
    size_t w = allot_xgb_model_output_width(m, kind);
    if (w == 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "xgb predict_batch: output kind %d is not available for %s", (int)kind,
                               m->objective_name);
    if (row_stride < m->n_features)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "xgb predict_batch: row stride %zu < %zu features",
                               row_stride, m->n_features);
    if (n_rows && out_len / n_rows < w)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "xgb predict_batch: output holds %zu floats, %zu needed", out_len, n_rows * w);
    /* blocks of rows: their working copies (the one-comparison walk's doubled rows) and accumulators
     * on the stack, XGB_BLOCK_FLOATS floats each, at most XGB_BLOCK_ROWS rows */
    _Alignas(64) float xb[XGB_BLOCK_FLOATS];
    float acc[XGB_BLOCK_FLOATS];
    size_t nf = m->n_features, G = m->n_groups;
    size_t width = m->cnodes ? 2 * nf : 0; /* floats per row in xb */
    size_t block = XGB_BLOCK_ROWS;
    /* the vector kernel uses xb as its own scratch; only a last block of fewer than XGB_VMIN rows (it
     * needs at most 64 features) is doubled into xb for the block walk */
    if (width && !m->batch_kernel && block > XGB_BLOCK_FLOATS / width) block = XGB_BLOCK_FLOATS / width;
    if (block > XGB_BLOCK_FLOATS / G) block = XGB_BLOCK_FLOATS / G;
    if (block == 0) block = 1; /* G <= XGB_MAX_GROUPS and width <= 2 * XGB_FAST_FEATURES: never */
    for (size_t r0 = 0; r0 < n_rows; r0 += block) {
        size_t nb = n_rows - r0 < block ? n_rows - r0 : block;
        const float *src = rows + r0 * row_stride;
        for (size_t r = 0; r < nb; r++) memcpy(acc + r * G, m->base_margin, G * sizeof *acc);
        /* rows [0, nk) of the block go to the vector kernel, which works on XGB_VROWS rows at a
         * time: a part-filled pass only with at least XGB_VMIN rows (a pass costs about as much as
         * 20 rows of the block walk), else the block walk */
        size_t nk = 0;
        if (m->batch_kernel) {
            nk = nb - nb % XGB_VROWS;
            if (nb - nk >= XGB_VMIN) nk = nb;
            if (nk) m->batch_kernel(m, src, row_stride, nk, acc, xb);
        }
        if (nk < nb) accumulate_block(m, src + nk * row_stride, row_stride, nb - nk, acc + nk * G, xb, width);
        for (size_t r = 0; r < nb; r++) transform(m, kind, acc + r * G, out + (r0 + r) * w);
    }
    return ALLOT_OK;
}
