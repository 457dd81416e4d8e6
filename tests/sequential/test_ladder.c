/*
 * test_ladder.c - the runtime's stage ladders and state features (include/allot/allot_sequential.h)
 * against hand computation and brute force: spec parsing and its errors, locating the stage, every
 * state feature on hand-made samples, Adaptive-Consistency's posterior and the overtake
 * probabilities against exact references, determinism and scratch handling.
 */
#define CHECK_AREA "ladder"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check_continue.h"
#include "allot/allot_sequential.h"

#define NEAR(a, b, tol) (fabs((a) - (b)) <= (tol))

static allot_ladder *make(const char *spec) {
    allot_ladder *l = NULL;
    allot_error err = {0};
    if (allot_ladder_create(spec, strlen(spec), &l, &err) != ALLOT_OK) {
        fprintf(stderr, "ladder %s: %s\n", spec, err.msg);
        return NULL;
    }
    return l;
}

/* A spec must be refused with status want and a message mentioning `field`. */
static void refused(const char *spec, allot_status want, const char *field) {
    allot_ladder *l = NULL;
    allot_error err = {0};
    allot_status st = allot_ladder_create(spec, strlen(spec), &l, &err);
    CHECKF(st == want && strstr(err.msg, field) && !l, "%s: status %d (want %d), message '%s'", spec, st,
           want, err.msg);
    allot_ladder_free(l);
}

static void test_specs(void) {
    refused("{", ALLOT_E_PARSE, "JSON");
    refused("{\"models\":[\"\"],\"stages\":[{\"model\":0,\"k\":1}]}", ALLOT_E_INVALID, "version");
    refused("{\"version\":2,\"models\":[\"\"],\"stages\":[{\"model\":0,\"k\":1}]}", ALLOT_E_UNSUPPORTED,
            "version");
    refused("{\"version\":1,\"models\":[],\"stages\":[{\"model\":0,\"k\":1}]}", ALLOT_E_INVALID, "models");
    refused("{\"version\":1,\"models\":[\"a\",\"a\"],\"stages\":[{\"model\":0,\"k\":1}]}", ALLOT_E_INVALID,
            "duplicate");
    refused("{\"version\":1,\"models\":[\"\"],\"stages\":[{\"model\":0,\"k\":2},{\"model\":0,\"k\":2}]}",
            ALLOT_E_INVALID, "stages[1].k");
    refused("{\"version\":1,\"models\":[\"\"],\"stages\":[{\"model\":0,\"k\":0}]}", ALLOT_E_INVALID,
            "stages[0].k");
    refused("{\"version\":1,\"models\":[\"\"],\"stages\":[{\"model\":1,\"k\":1}]}", ALLOT_E_INVALID,
            "stages[0].model");
    refused(
        "{\"version\":1,\"models\":[\"a\",\"b\"],\"stages\":[{\"model\":1,\"k\":1},{\"model\":0,\"k\":2}]}",
        ALLOT_E_INVALID, "never returns");
    refused("{\"version\":1,\"models\":[\"a\",\"b\"],\"stages\":[{\"model\":0,\"k\":1}]}", ALLOT_E_INVALID,
            "models[1]");
    refused("{\"version\":1,\"models\":[\"\"],\"stages\":[{\"model\":0,\"k\":1,\"rule\":\"mode\"}]}",
            ALLOT_E_INVALID, "rule");
    refused("{\"version\":1,\"models\":[\"\"],\"stages\":[{\"model\":0,\"k\":1,\"rule\":\"best\"},{\"model\":"
            "0,\"k\":2}]}",
            ALLOT_E_INVALID, "share one rule");
    /* a cascade and its round trip through the spec text */
    allot_ladder *l =
        make("{\"version\":1,\"models\":[\"small\",\"large\"],\"stages\":[{\"model\":0,\"k\":1},"
             "{\"model\":0,\"k\":2},{\"model\":0,\"k\":4},{\"model\":1,\"k\":1,\"rule\":\"best\"},"
             "{\"model\":1,\"k\":2,\"rule\":\"best\"}]}");
    CHECK(l != NULL);
    if (!l) return;
    CHECK(allot_ladder_n_stages(l) == 5 && allot_ladder_n_models(l) == 2 && allot_ladder_max_samples(l) == 6);
    allot_stage_info si;
    REQUIRE_OK(allot_ladder_stage(l, 3, &si, NULL));
    CHECK(si.model == 1 && si.k == 1 && si.rule == ALLOT_STAGE_BEST && !strcmp(si.name, "large:best@1"));
    CHECK(allot_ladder_model_index(l, "large") == 1 && allot_ladder_model_index(l, "medium") == -1);
    CHECK(allot_ladder_stage(l, 5, &si, NULL) == ALLOT_E_ARGUMENT);
    char spec[512];
    size_t n = allot_ladder_spec_json(l, spec, sizeof spec);
    CHECK(n < sizeof spec);
    allot_ladder *r = make(spec);
    char spec2[512];
    CHECK(r && allot_ladder_spec_json(r, spec2, sizeof spec2) == n && !strcmp(spec, spec2));
    CHECK(allot_ladder_spec_json(l, NULL, 0) == n); /* snprintf-like */
    /* state names: globals, 18 per model, one flip per stage */
    CHECK(allot_ladder_n_state(l) == 3 + 2 * 18 + 5);
    CHECK(!strcmp(allot_ladder_state_name(l, 0), "seq.stage") &&
          !strcmp(allot_ladder_state_name(l, 4), "m0.lead_count"));
    CHECK(!strcmp(allot_ladder_state_name(l, 3 + 36 + 4), "stage4.flip") && !allot_ladder_state_name(l, 44));
    allot_ladder_free(r);
    allot_ladder_free(l);
}

static allot_sample_view sv(const char *answer, double score, double cost, uint32_t model) {
    allot_sample_view v = {answer, answer ? strlen(answer) : 0, score, cost, model, 0};
    return v;
}

static void test_locate(void) {
    allot_ladder *l =
        make("{\"version\":1,\"models\":[\"small\",\"large\"],\"stages\":[{\"model\":0,\"k\":1},"
             "{\"model\":0,\"k\":2},{\"model\":0,\"k\":4},{\"model\":1,\"k\":1},{\"model\":1,\"k\":2}]}");
    if (!l) return;
    allot_sample_view s[8];
    for (int i = 0; i < 4; i++) s[i] = sv("1", NAN, 1, 0);
    for (int i = 4; i < 8; i++) s[i] = sv("1", NAN, 5, 1);
    long stage = 99;
    allot_error err = {0};
    REQUIRE_OK(allot_ladder_locate(l, s, 0, &stage, &err));
    CHECK(stage == -1);
    REQUIRE_OK(allot_ladder_locate(l, s, 2, &stage, &err));
    CHECK(stage == 1);
    CHECK(allot_ladder_locate(l, s, 3, &stage, &err) == ALLOT_E_INVALID && strstr(err.msg, "1, 2, 4"));
    REQUIRE_OK(allot_ladder_locate(l, s, 6, &stage, &err));
    CHECK(stage == 4);
    CHECK(allot_ladder_locate(l, s, 7, &stage, &err) == ALLOT_E_INVALID);  /* more than the ladder holds */
    allot_sample_view early[2] = {sv("1", NAN, 1, 0), sv("1", NAN, 5, 1)}; /* large before small is done */
    CHECK(allot_ladder_locate(l, early, 2, &stage, &err) == ALLOT_E_INVALID && strstr(err.msg, "first"));
    allot_sample_view bad = sv("1", NAN, -1, 0);
    CHECK(allot_ladder_locate(l, &bad, 1, &stage, &err) == ALLOT_E_INVALID && strstr(err.msg, "cost"));
    bad = sv("1", NAN, 1, 2);
    CHECK(allot_ladder_locate(l, &bad, 1, &stage, &err) == ALLOT_E_INVALID && strstr(err.msg, "model"));
    allot_ladder_free(l);
}

/* Brute force of P(Bin(a+b+1, 1/2) <= a) with exact binomial coefficients in long double. */
static double beta_ref(unsigned a, unsigned b) {
    unsigned n = a + b + 1;
    long double c = 1, sum = 0, all = 0;
    for (unsigned i = 0; i <= n; i++) {
        if (i <= a) sum += c;
        all += c;
        c = c * (n - i) / (i + 1);
    }
    return (double)(sum / all);
}

/* P(runner-up overtakes) by Beta-binomial pmf through lgamma (the reference may use libm). */
static double overtake_ref(unsigned a, unsigned b, unsigned m) {
    double al = a + 1.0, be = b + 1.0, over = 0;
    for (unsigned x = 0; x <= m; x++) {
        double lp = lgamma(m + 1.0) - lgamma(x + 1.0) - lgamma(m - x + 1.0) + lgamma(x + al) +
                    lgamma(m - x + be) - lgamma(m + al + be) - (lgamma(al) + lgamma(be) - lgamma(al + be));
        double lead = a + (double)x, run = b + (double)(m - x);
        over += (run > lead ? 1.0 : run == lead ? 0.5 : 0.0) * exp(lp);
    }
    return over;
}

static void test_probabilities(void) {
    for (unsigned a = 0; a <= 40; a++)
        for (unsigned b = 0; b <= a; b++) {
            double p = allot_beta_stop_prob(a, b), r = beta_ref(a, b);
            CHECKF(NEAR(p, r, 1e-13), "beta(%u,%u) = %.17g, reference %.17g", a, b, p, r);
        }
    CHECK(allot_beta_stop_prob(1, 0) == 0.75);
    CHECK(allot_beta_stop_prob(0, 0) == 0.5);
    CHECK(allot_beta_stop_prob(100000, 0) == 1.0);
    CHECK(NEAR(allot_beta_stop_prob(50000, 50000), 0.5, 1e-2));
    /* the overtake probabilities through state features of a one-model ladder with stages 1..12 */
    allot_ladder *l =
        make("{\"version\":1,\"models\":[\"\"],\"stages\":[{\"model\":0,\"k\":1},{\"model\":0,\"k\":2},"
             "{\"model\":0,\"k\":3},{\"model\":0,\"k\":4},{\"model\":0,\"k\":5},{\"model\":0,\"k\":6},"
             "{\"model\":0,\"k\":7},{\"model\":0,\"k\":8},{\"model\":0,\"k\":9},{\"model\":0,\"k\":10},"
             "{\"model\":0,\"k\":11},{\"model\":0,\"k\":12}]}");
    if (!l) return;
    const char *ans[6] = {"7", "7", "3", "7", "3", "x"};
    allot_sample_view s[6];
    for (int i = 0; i < 6; i++) s[i] = sv(ans[i], NAN, 1, 0);
    size_t ns = allot_ladder_n_state(l), cap = allot_ladder_scratch_size(l);
    float *f = malloc(ns * sizeof *f);
    void *scratch = malloc(cap);
    allot_error err = {0};
    REQUIRE_OK(allot_ladder_state(l, s, 6, scratch, cap, f, NULL, &err));
    const float *flip = f + 3 + 18;
    for (unsigned t = 0; t < 12; t++) {
        double want = t + 1 > 6 ? overtake_ref(3, 2, t + 1 - 6) : NAN;
        CHECKF(isnan(want) ? isnan(flip[t]) : NEAR(flip[t], want, 1e-6), "flip of stage %u: %g, reference %g",
               t, (double)flip[t], want);
    }
    free(f);
    free(scratch);
    allot_ladder_free(l);
}

/* Every state feature of a two-model cascade on hand-made samples. */
static void test_features(void) {
    allot_ladder *l =
        make("{\"version\":1,\"models\":[\"small\",\"large\"],\"stages\":[{\"model\":0,\"k\":2},"
             "{\"model\":0,\"k\":5},{\"model\":1,\"k\":1,\"rule\":\"best\"},"
             "{\"model\":1,\"k\":3,\"rule\":\"best\"}]}");
    if (!l) return;
    allot_sample_view s[6] = {sv("-12.0", 0.5, 1, 0), sv("x", 0.2, 1, 0), sv("-12.0", 0.9, 1, 0),
                              sv(NULL, NAN, 1, 0),    sv("x", 0.4, 2, 0), sv("-12.0", 0.7, 10, 1)};
    size_t ns = allot_ladder_n_state(l), cap = allot_ladder_scratch_size(l);
    float *f = malloc(ns * sizeof *f), *g = malloc(ns * sizeof *g);
    char *scratch = malloc(cap + 7);
    allot_stage_summary sum;
    allot_error err = {0};
    REQUIRE_OK(allot_ladder_state(l, s, 6, scratch, cap, f, &sum, &err));
    CHECK(sum.stage == 2 && sum.answer_sample == 5 && sum.cost_spent == 16);
    CHECK(f[0] == 2 && f[1] == 6 && f[2] == 16);
    const float *m0 = f + 3, *m1 = f + 3 + 18;
    /* model 0: answers -12.0 x2, x x2, null x1: a tie between two answers, the first drawn leads */
    CHECK(m0[0] == 5 && m0[1] == 2 && m0[2] == 0.4f && m0[3] == 2 && m0[4] == 2 && m0[5] == 2 && m0[6] == 1);
    CHECK(NEAR(m0[7], 0.5, 1e-7)); /* P(Bin(5,1/2) <= 2) */
    CHECK(m0[8] == 1 && m0[9] == 1 && m0[10] == 1 &&
          m0[11] == 2);                               /* "-12.0": numeric, integer, negative, 2 digits */
    CHECK(m0[12] == 5);                               /* its length */
    CHECK(m0[13] == 0.9f && NEAR(m0[14], 0.5, 1e-7)); /* score max, mean of the 4 scores */
    CHECK(NEAR(m0[15], 1.4 / 2.0, 1e-7));             /* the leader's share of the scores */
    CHECK(m0[16] == 6 && isnan(m0[17]));              /* cost; no previous model */
    /* model 1: one sample agreeing with model 0's leader */
    CHECK(m1[0] == 1 && m1[1] == 1 && m1[2] == 1 && m1[3] == 0 && m1[16] == 10 && m1[17] == 1);
    const float *flip = f + 3 + 36;
    CHECK(isnan(flip[0]) && isnan(flip[1]) && isnan(flip[2]) && NEAR(flip[3], overtake_ref(1, 0, 2), 1e-6));
    /* the same features from any scratch alignment, and twice in a row */
    REQUIRE_OK(allot_ladder_state(l, s, 6, scratch + 7, cap, g, NULL, &err));
    CHECK(!memcmp(f, g, ns * sizeof *f));
    CHECK(allot_ladder_state(l, s, 6, scratch, cap - 1, g, NULL, &err) == ALLOT_E_ARGUMENT);
    /* answer forms */
    const char *forms[][2] = {{"18", "1 1 0 2"},  {"0.50", "1 0 0 0"}, {"+.5", "1 0 0 0"},
                              {"007", "1 1 0 1"}, {"1,000", "0"},      {"12a", "0"},
                              {"-", "0"},         {"3.000", "1 1 0 1"}};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        allot_sample_view two[2] = {sv(forms[i][0], NAN, 1, 0),
                                    sv(forms[i][0], NAN, 1, 0)}; /* stage 0 is k = 2 */
        REQUIRE_OK(allot_ladder_state(l, two, 2, scratch, cap, f, NULL, &err));
        char got[64];
        if (m0[8] == 1)
            snprintf(got, sizeof got, "1 %g %g %g", (double)m0[9], (double)m0[10], (double)m0[11]);
        else
            snprintf(got, sizeof got, "0");
        CHECKF(!strcmp(got, forms[i][1]), "form of '%s': '%s', want '%s'", forms[i][0], got, forms[i][1]);
    }
    /* no samples: stage -1, counts 0, shares undefined */
    REQUIRE_OK(allot_ladder_state(l, NULL, 0, scratch, cap, f, &sum, &err));
    CHECK(sum.stage == -1 && f[0] == -1 && m0[0] == 0 && isnan(m0[2]) && isnan(m0[7]));
    free(f);
    free(g);
    free(scratch);
    allot_ladder_free(l);
}

int main(void) {
    test_specs();
    test_locate();
    test_probabilities();
    test_features();
    return CHECK_DONE();
}
