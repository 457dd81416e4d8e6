/*
 * test_features_blocks.c - the feature spec's version-2 blocks and the mixture policy:
 *   - categorical fields: one-hot indicators among the extras, from a record or set directly; a value
 *     unseen in training gives all zeros, an absent field all NaN, a number all zeros;
 *   - the embedding block: dimension and finiteness checked, NULL = missing (NaN), copied bit for bit,
 *     from a record (float32 of the JSON numbers); allocation-free;
 *   - spec round trips (version 2 only with a block; older specs byte-identical), spec errors;
 *   - a mixture bundle: loads, weights checked, each query's tier is allot_mixture_draw's for its prompt
 *     whatever the rule or price, identical prompts get identical tiers, the draw follows the weights.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_count.h"
#include "allot/allot.h"
#include "policy_test_util.h"

static pt_counts C;

static allot_featurizer *mk_spec(const char *spec) {
    allot_featurizer *f = NULL;
    allot_error e;
    allot_error_clear(&e);
    allot_status st = allot_featurizer_create(spec, strlen(spec), &f, &e);
    pt_check(&C, st == ALLOT_OK, "spec loads: %s", e.msg);
    return f;
}

static void check_categorical(void) {
    allot_featurizer *f = NULL;
    const char *extra[] = {"features.len"};
    const char *vals[] = {"code", "gsm8k", "math"};
    pt_check(&C, allot_featurizer_create_default(extra, 1, 0, &f, NULL) == ALLOT_OK, "default featuriser");
    pt_check(&C, allot_featurizer_add_categorical(f, "meta.dataset", vals, 3, NULL) == ALLOT_OK,
             "add categorical");
    pt_check(&C, allot_featurizer_n_extra(f) == 4, "1 numeric + 3 indicators");
    pt_check(&C, allot_featurizer_extra_index(f, "meta.dataset=gsm8k") == 2, "indicator name and position");
    double ex[4];
    const char *rec = "{\"features\":{\"len\":7},\"meta\":{\"dataset\":\"gsm8k\"}}";
    pt_check(&C, allot_featurizer_extras_from_record(f, rec, strlen(rec), ex, NULL) == ALLOT_OK, "record");
    pt_check(&C, ex[0] == 7 && ex[1] == 0 && ex[2] == 1 && ex[3] == 0, "one-hot of gsm8k (not the number 8)");
    rec = "{\"meta\":{\"dataset\":\"medqa\"}}";
    allot_featurizer_extras_from_record(f, rec, strlen(rec), ex, NULL);
    pt_check(&C, isnan(ex[0]) && ex[1] == 0 && ex[2] == 0 && ex[3] == 0, "unseen value: all zero");
    rec = "{\"meta\":{\"dataset\":3}}";
    allot_featurizer_extras_from_record(f, rec, strlen(rec), ex, NULL);
    pt_check(&C, ex[1] == 0 && ex[2] == 0 && ex[3] == 0, "a number: no category");
    rec = "{\"meta\":{}}";
    allot_featurizer_extras_from_record(f, rec, strlen(rec), ex, NULL);
    pt_check(&C, isnan(ex[1]) && isnan(ex[2]) && isnan(ex[3]), "absent: missing");
    size_t before = pt_alloc_count();
    pt_check(&C, allot_featurizer_set_category(f, "meta.dataset", "math", ex, NULL) == ALLOT_OK,
             "set category");
    pt_check(&C, ex[1] == 0 && ex[2] == 0 && ex[3] == 1, "set category: indicator");
    pt_check(&C,
             allot_featurizer_set_category(f, "meta.dataset", "other", ex, NULL) == ALLOT_OK &&
                 ex[1] + ex[2] + ex[3] == 0,
             "set category: unseen");
    pt_check(&C, allot_featurizer_set_category(f, "meta.level", "x", ex, NULL) == ALLOT_E_ARGUMENT,
             "set category: not a categorical field");
    pt_check(&C, pt_alloc_count() == before, "set category allocates nothing");
    /* spec round trip: version 2, the block after the numeric extras */
    char spec[4096];
    allot_featurizer_spec_json(f, spec, sizeof spec);
    pt_check(
        &C,
        strstr(spec, "\"version\":2") && strstr(spec, "\"extra\":[\"features.len\"]") &&
            strstr(spec,
                   "\"categorical\":[{\"name\":\"meta.dataset\",\"values\":[\"code\",\"gsm8k\",\"math\"]}]"),
        "spec: %s", spec);
    allot_featurizer *g = mk_spec(spec);
    char spec2[4096];
    allot_featurizer_spec_json(g, spec2, sizeof spec2);
    pt_check(&C, !strcmp(spec, spec2), "spec round trip");
    allot_featurizer_free(g);
    /* errors */
    const char *dup[] = {"a", "a"};
    pt_check(&C, allot_featurizer_add_categorical(f, "meta.x", dup, 2, NULL) == ALLOT_E_INVALID,
             "duplicate value");
    pt_check(&C, allot_featurizer_add_categorical(f, "features.x", vals, 1, NULL) == ALLOT_E_INVALID,
             "not meta");
    pt_check(&C, allot_featurizer_add_categorical(f, "meta.dataset", vals, 1, NULL) == ALLOT_E_INVALID,
             "twice");
    allot_featurizer_free(f);
    allot_error e;
    allot_error_clear(&e);
    const char *v1 =
        "{\"version\":1,\"builtin\":[],\"categorical\":[{\"name\":\"meta.a\",\"values\":[\"x\"]}]}";
    pt_check(&C,
             allot_featurizer_create(v1, strlen(v1), &g, &e) == ALLOT_E_INVALID && strstr(e.msg, "version 2"),
             "a block needs version 2: %s", e.msg);
}

static void check_embedding(void) {
    allot_featurizer *f = NULL;
    pt_check(&C, allot_featurizer_create_default(NULL, 0, 64, &f, NULL) == ALLOT_OK, "default featuriser");
    pt_check(&C, allot_featurizer_set_embedding(f, "features.emb", 4, NULL) == ALLOT_OK, "embedding");
    size_t nb = allot_featurizer_n_builtin_used(f), nd = allot_featurizer_n_dense(f);
    pt_check(&C, nd == nb + 4 && allot_featurizer_embedding_dim(f) == 4, "dense = built-ins + embedding");
    pt_check(&C, !strcmp(allot_featurizer_dense_name(f, nb + 3), "features.emb"), "the block's name");
    float d[128], emb[4] = {0.25f, -1.5f, 3e-7f, 12345.678f};
    uint32_t si[64];
    float sv[64];
    size_t cnt;
    size_t before = pt_alloc_count();
    allot_status st = allot_featurize_ex(f, "how many eggs", 13, NULL, 0, emb, 4, d, si, sv, 64, &cnt, NULL);
    pt_check(&C, st == ALLOT_OK && pt_alloc_count() == before, "featurize with an embedding, no allocation");
    pt_check(&C, !memcmp(d + nb, emb, sizeof emb), "the block is the embedding, bit for bit");
    pt_check(&C,
             allot_featurize(f, "x", 1, NULL, 0, d, NULL, NULL, 0, NULL, NULL) == ALLOT_OK && isnan(d[nb]) &&
                 isnan(d[nb + 3]),
             "no embedding: missing (NaN)");
    allot_error e;
    allot_error_clear(&e);
    st = allot_featurize_ex(f, "x", 1, NULL, 0, emb, 3, d, NULL, NULL, 0, NULL, &e);
    pt_check(&C, st == ALLOT_E_ARGUMENT && strstr(e.msg, "3 values"), "wrong dimension: %s", e.msg);
    float bad[4] = {1, NAN, 0, 0};
    st = allot_featurize_ex(f, "x", 1, NULL, 0, bad, 4, d, NULL, NULL, 0, NULL, &e);
    pt_check(&C, st == ALLOT_E_INVALID && strstr(e.msg, "features.emb[1]"), "NaN: %s", e.msg);
    /* from a record: float32 of the numbers */
    const char *rec = "{\"features\":{\"emb\":[0.1,0.2,0.3,0.4]}}";
    float out[4];
    int present = 0;
    pt_check(&C,
             allot_featurizer_embedding_from_record(f, rec, strlen(rec), out, &present, NULL) == ALLOT_OK &&
                 present && out[0] == (float)0.1 && out[3] == (float)0.4,
             "record embedding");
    rec = "{\"features\":{\"emb\":[0.1,0.2]}}";
    pt_check(
        &C, allot_featurizer_embedding_from_record(f, rec, strlen(rec), out, &present, &e) == ALLOT_E_INVALID,
        "record embedding of the wrong dimension: %s", e.msg);
    rec = "{\"features\":{\"emb\":[0.1,null,0.3,0.4]}}";
    pt_check(&C,
             allot_featurizer_embedding_from_record(f, rec, strlen(rec), out, &present, &e) ==
                     ALLOT_E_INVALID &&
                 strstr(e.msg, "emb[1]"),
             "record embedding with null: %s", e.msg);
    rec = "{\"features\":{}}";
    pt_check(&C,
             allot_featurizer_embedding_from_record(f, rec, strlen(rec), out, &present, NULL) == ALLOT_OK &&
                 !present,
             "record without the embedding");
    /* standardisation covers the block; the spec round trips */
    double *cen = calloc(nd, sizeof *cen), *sc = malloc(nd * sizeof *sc);
    for (size_t i = 0; i < nd; i++) sc[i] = 2;
    pt_check(&C, allot_featurizer_set_standardization(f, cen, sc, nd, NULL) == ALLOT_OK,
             "standardise n_dense");
    pt_check(&C, allot_featurizer_set_embedding(f, "features.e2", 2, NULL) == ALLOT_E_ARGUMENT,
             "no embedding after standardisation");
    char spec[65536], spec2[65536];
    allot_featurizer_spec_json(f, spec, sizeof spec);
    allot_featurizer *g = mk_spec(spec);
    allot_featurizer_spec_json(g, spec2, sizeof spec2);
    pt_check(&C, !strcmp(spec, spec2) && strstr(spec, "\"embedding\":{\"name\":\"features.emb\",\"dim\":4}"),
             "embedding spec round trip");
    allot_featurizer_free(g);
    free(cen);
    free(sc);
    allot_featurizer_free(f);
    /* an older spec stays version 1, byte for byte */
    pt_check(&C, allot_featurizer_create_default(NULL, 0, 16, &f, NULL) == ALLOT_OK, "plain featuriser");
    allot_featurizer_spec_json(f, spec, sizeof spec);
    pt_check(&C,
             !strncmp(spec, "{\"version\":1,", 13) && !strstr(spec, "categorical") &&
                 !strstr(spec, "embedding"),
             "version 1 without blocks");
    allot_featurizer_free(f);
}

/* A mixture bundle between tiers 0 and 2 (weights 0.7 / 0.3). */
static const char MIXTURE[] = "{\"format\":\"allot-policy\",\"version\":1,\"tiers\":[{\"name\":\"a\","
                              "\"cost\":1},{\"name\":\"b\",\"cost\":2},"
                              "{\"name\":\"c\",\"cost\":4}],\"features\":{\"version\":1,\"builtin\":[],"
                              "\"extra\":[]},\"classifier\":{\"kind\":"
                              "\"mixture\",\"classes\":[0,2],\"weights\":[0.7,0.3],\"input\":\"dense\"},"
                              "\"decision\":{\"rule\":\"argmax\",\"mu\":0}}";

static void check_mixture(void) {
    allot_policy *p = NULL;
    allot_error e;
    allot_error_clear(&e);
    pt_check(&C, allot_policy_load_memory(MIXTURE, strlen(MIXTURE), &p, &e) == ALLOT_OK, "mixture loads: %s",
             e.msg);
    if (!p) return;
    pt_check(&C,
             allot_policy_classifier_kind(p) == ALLOT_CLASSIFIER_MIXTURE &&
                 allot_policy_class_weight(p, 1) == 0.3,
             "kind and weights");
    const double w[2] = {0.7, 0.3};
    size_t hi = 0, n = 2000;
    for (size_t i = 0; i < n; i++) {
        char prompt[64];
        int len = snprintf(prompt, sizeof prompt, "query number %zu", i);
        allot_query_input q = {.prompt = prompt, .prompt_len = (size_t)len};
        allot_decision d, d2;
        allot_predict_options o = ALLOT_PREDICT_OPTIONS_INIT;
        o.rule = ALLOT_RULE_CALIBRATED;
        o.mu = 5.0;
        allot_policy_predict(p, NULL, &q, NULL, NULL, 0, &d, NULL);
        allot_policy_predict(p, NULL, &q, &o, NULL, 0, &d2, NULL);
        size_t want = allot_mixture_draw(w, 2, prompt, (size_t)len) == 0 ? 0 : 2;
        if (d.tier != want || d2.tier != want || d.probability != 1) {
            pt_check(&C, 0, "query %zu: tier %zu / %zu, draw %zu", i, d.tier, d2.tier, want);
            break;
        }
        hi += d.tier == 2;
    }
    pt_check(&C, fabs((double)hi / (double)n - 0.3) < 0.04, "the draws follow the weights (%zu of %zu)", hi,
             n);
    allot_policy_free(p);
    /* weights that do not sum to 1, or one per class missing */
    static const char *const BAD[] = {"[0.7,0.4]", "[1]", "[-0.5,1.5]", "\"x\""};
    for (size_t k = 0; k < sizeof BAD / sizeof *BAD; k++) {
        char doc[2048];
        const char *at = strstr(MIXTURE, "[0.7,0.3]");
        snprintf(doc, sizeof doc, "%.*s%s%s", (int)(at - MIXTURE), MIXTURE, BAD[k], at + 9);
        allot_error_clear(&e);
        pt_check(&C,
                 allot_policy_load_memory(doc, strlen(doc), &p, &e) == ALLOT_E_INVALID &&
                     strstr(e.msg, "classifier.weights"),
                 "bad weights %s: %s", BAD[k], e.msg);
    }
}

int main(void) {
    check_categorical();
    check_embedding();
    check_mixture();
    return pt_finish(&C);
}
