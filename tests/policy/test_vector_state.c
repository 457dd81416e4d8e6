/*
 * test_vector_state.c - every vector entry point of the featuriser (features_simd.h) returns with the
 * upper halves of the vector registers clear, and so do allot_featurize and allot_policy_predict /
 * predict_batch on every shipped policy, at every vector level this processor has (see
 * tests/common/vector_state.h for why: baseline code after a dirty return cost about 100 ns per
 * transition on this project's VM). The state is cleared before each call, so a dirty state after
 * it is the call's.
 *
 * Usage: test_vector_state POLICY.json...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check_stop.h"
#include "../common/vector_state.h"
#include "allot/allot.h"
#include "features_internal.h"
#include "features_simd.h"

#define PLEN 700

/* A prompt with every byte class: words, numbers, punctuation, LaTeX, UTF-8, long tokens. */
static void make_prompt(char *p, size_t n) {
    static const char *const parts[] = {"How many ",
                                        "apples ",
                                        "does Tom have? ",
                                        "He has 1,234.5 ",
                                        "\\frac{1}{3} ",
                                        "of $12.50 ",
                                        "≤ 3^2 = 9 ",
                                        "extraordinarilylongtokens ",
                                        "Find the average. ",
                                        "x_1 + y_2; ",
                                        "\n"};
    size_t k = 0, i = 0;
    while (k < n) {
        const char *s = parts[i++ % (sizeof parts / sizeof parts[0])];
        for (size_t j = 0; s[j] && k < n; j++) p[k++] = s[j];
    }
}

/* Declared in features_simd.h for the featuriser; each is called directly here. */
static void check_entry_points(int level, const unsigned char *p, size_t n) {
    static uint32_t start[128 + 32], end[128 + 32], out[4096 + 64], bits[128];
    static uint16_t count16[1 + 4096];
    static float val[4096], dense[32], std_out[32];
    static double center[32], scale[32];
    allot_block_carry carry = {1, 0};
    allot_block_scan bs = {0};
    size_t ns = 0, ne = 0;

    vs_clear();
    allot_features_events_avx512(0x0F0F0F0F0F0F0F0Full, 0xF0F0F0F0F0F0F0F0ull, 0, start, &ns, end, &ne, 128);
    CHECKF(!vs_upper_dirty(), "allot_features_events_avx512");
    for (size_t i = 0; i < 32; i++) dense[i] = (float)i - 7.5f, center[i] = 1.0, scale[i] = 2.0;
    vs_clear();
    allot_features_standardize_avx512(dense, center, scale, 32, std_out);
    CHECKF(!vs_upper_dirty(), "allot_features_standardize_avx512");
    for (uint32_t i = 0; i < 64; i++) out[i] = 3 * i, val[3 * (size_t)i] = (float)(i % 5 + 1);
    vs_clear();
    allot_features_finish_avx512(out, val, 64, 1);
    CHECKF(!vs_upper_dirty(), "allot_features_finish_avx512");
    for (uint32_t i = 0; i < 64; i++) out[i] = 5 * i, count16[1 + 5 * i] = (uint16_t)(i % 9 + 1);
    vs_clear();
    allot_features_finish16_avx512(out, count16 + 1, val, 64, 1);
    CHECKF(!vs_upper_dirty(), "allot_features_finish16_avx512");

    static const int ids[13] = {0, 5, 3, 1, 2, 4, 6, 7, 9, 8, 12, 11, 10};
    static double dv[16];
    vs_clear();
    allot_features_pick_avx512(dv, ids, 13, 0x5A5, 8, std_out);
    CHECKF(!vs_upper_dirty(), "allot_features_pick_avx512");
    static uint16_t key16[64];
    vs_clear();
    allot_features_keys16_avx512(out, 40, 4095, key16);
    CHECKF(!vs_upper_dirty(), "allot_features_keys16_avx512");

    /* the token pass on the first 16 tokens of p, no keywords, with bigrams */
    static allot_kw_slot slots[1u << ALLOT_KW_SLOTS_LOG2];
    allot_kw_view kw = {{0x9E3779B1u, 0x85EBCA77u, 0xC2B2AE3Du}, 0, slots, 0, {0}, {0}};
    static unsigned char tail[32];
    memcpy(tail, p + n - 16, 16);
    static uint32_t uni[128], big[128];
    size_t nt = 0;
    for (size_t i = 0; i < n && nt < 16; i++)
        if (p[i] != ' ' && (i == 0 || p[i - 1] == ' ')) {
            size_t j = i;
            while (j < n && p[j] != ' ') j++;
            start[nt] = (uint32_t)i, end[nt++] = (uint32_t)j;
        }
    allot_token_batch_in in = {p, n, tail, n - 16, start, end, nt, level >= 2, 1, 1, 12345u};
    allot_token_batch_out to = {0, 0, uni, big};
    vs_clear();
    allot_features_tokens_avx512(&kw, &in, &to);
    CHECKF(!vs_upper_dirty(), "allot_features_tokens_avx512 (level %d)", level);

    if (level >= 1) {
        vs_clear();
        allot_features_scan_block_avx512bw(p, 64, &carry, &bs);
        CHECKF(!vs_upper_dirty(), "allot_features_scan_block_avx512bw");
    }
    if (level >= 2) {
        vs_clear();
        allot_features_scan_block_vbmi(p, 64, &carry, &bs);
        CHECKF(!vs_upper_dirty(), "allot_features_scan_block_vbmi");
        ns = ne = 0;
        vs_clear();
        allot_features_events_vbmi2(0x0F0F0F0F0F0F0F0Full, 0xF0F0F0F0F0F0F0F0ull, 0, start, &ns, end, &ne,
                                    128);
        CHECKF(!vs_upper_dirty(), "allot_features_events_vbmi2");
        static uint16_t keys[ALLOT_SORT_KEYS_MAX];
        for (size_t i = 0; i < ALLOT_SORT_KEYS_MAX; i++) keys[i] = (uint16_t)(i * 37 % 4096);
        vs_clear();
        allot_features_sort_count_vbmi2(keys, ALLOT_SORT_KEYS_MAX, out, val, 1);
        CHECKF(!vs_upper_dirty(), "allot_features_sort_count_vbmi2");
        vs_clear();
        allot_features_nonzero16_vbmi2(count16 + 1, 4096, out);
        CHECKF(!vs_upper_dirty(), "allot_features_nonzero16_vbmi2");
        for (size_t i = 0; i < 128; i++) bits[i] = 0x80000001u * (uint32_t)(i % 3);
        vs_clear();
        allot_features_flatten_vbmi2(bits, 128, out);
        CHECKF(!vs_upper_dirty(), "allot_features_flatten_vbmi2");
    }
}

/* allot_featurize at every vector level the processor has; returns the highest. */
static int check_featurize(const char *p, size_t n) {
    const char *spec =
        "{\"version\":1,\"builtin\":[\"len_bytes\",\"n_tokens\",\"n_numbers\",\"q_how_many\",\"kw_average\"],"
        "\"hash\":{\"dim\":4096,\"ngrams\":2,\"norm\":\"l2\"}}";
    allot_featurizer *f;
    allot_error e;
    CHECKF(allot_featurizer_create(spec, strlen(spec), &f, &e) == ALLOT_OK, "%s", e.msg);
    static float dense[16], val[4096];
    static uint32_t idx[4096];
    int top = allot_featurizer_set_simd(f, 2);
    for (int level = 0; level <= top; level++) {
        CHECK(allot_featurizer_set_simd(f, level) == level);
        size_t cnt;
        vs_clear();
        CHECK(allot_featurize(f, p, n, NULL, 0, dense, idx, val, 4096, &cnt, NULL) == ALLOT_OK);
        CHECKF(!vs_upper_dirty(), "allot_featurize, hashed, level %d", level);
        vs_clear();
        CHECK(allot_featurize(f, p, n, NULL, 0, dense, NULL, NULL, 0, NULL, NULL) == ALLOT_OK);
        CHECKF(!vs_upper_dirty(), "allot_featurize, dense, level %d", level);
        if (level >= 1) check_entry_points(level, (const unsigned char *)p, n);
    }
    allot_featurizer_free(f);
    return top;
}

/* allot_policy_predict and predict_batch on a shipped policy. */
static void check_policy(const char *path, const char *p, size_t n) {
    allot_policy *pl;
    allot_error e;
    CHECKF(allot_policy_load_file(path, &pl, &e) == ALLOT_OK, "%s: %s", path, e.msg);
    allot_workspace *ws;
    CHECK(allot_workspace_create(pl, &ws, &e) == ALLOT_OK);
    double extra = 3.5;
    allot_query_input q[4];
    for (int i = 0; i < 4; i++) {
        allot_query_input one = ALLOT_QUERY_INPUT_INIT;
        one.prompt = p + 40 * (size_t)i;
        one.prompt_len = n - 40 * (size_t)i;
        one.extras = &extra;
        one.n_extras = 1;
        q[i] = one;
    }
    allot_decision d[4];
    vs_clear();
    CHECKF(allot_policy_predict(pl, ws, &q[0], NULL, NULL, 0, &d[0], &e) == ALLOT_OK, "%s", e.msg);
    CHECKF(!vs_upper_dirty(), "allot_policy_predict: %s", path);
    vs_clear();
    CHECKF(allot_policy_predict_batch(pl, ws, q, 4, NULL, NULL, 0, d, &e) == ALLOT_OK, "%s", e.msg);
    CHECKF(!vs_upper_dirty(), "allot_policy_predict_batch: %s", path);
    allot_workspace_free(ws);
    allot_policy_free(pl);
}

int main(int argc, char **argv) {
    if (!vs_available()) {
        printf("test_vector_state: SKIPPED: this processor does not report the vector state in use "
               "(XGETBV 1) or has no AVX\n");
        return 77;
    }
    static char prompt[PLEN];
    make_prompt(prompt, PLEN);
    int top = check_featurize(prompt, PLEN);
    for (int i = 1; i < argc; i++) check_policy(argv[i], prompt, PLEN);
    printf("test_vector_state: vector levels checked: 0..%d; %d policies\n", top, argc - 1);
    return CHECK_DONE("test_vector_state");
}
