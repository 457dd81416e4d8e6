/*
 * learn_test_util.h - synthetic curves for the learn and audit tests.
 *
 * n queries, tiers "k@1,2,4,8,16" with cost k (times a per-query cost factor when vary_cost);
 * query i has a latent per-sample success rate p_i; acc_i(k) = 1 - (1 - p_i)^k damped for hard
 * queries; the prompt has as many words as the query is hard (so the built-in length features
 * carry the difficulty), and a record feature "hint" = p_i + noise.
 */
#ifndef ALLOT_LEARN_TEST_UTIL_H
#define ALLOT_LEARN_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curves.h"
#include "rng.h"

static char *tu_strdup(const char *s) {
    size_t l = strlen(s);
    char *d = malloc(l + 1);
    memcpy(d, s, l + 1);
    return d;
}

__attribute__((unused)) static allot_curves *tu_make_curves(size_t n, int vary_cost, uint64_t seed) {
    static const int ks[] = {1, 2, 4, 8, 16};
    size_t T = 5;
    allot_curves *c = calloc(1, sizeof *c);
    c->n_queries = n;
    c->n_tiers = T;
    c->tier_names = calloc(T, sizeof(char *));
    for (size_t t = 0; t < T; t++) {
        char b[32];
        snprintf(b, sizeof b, "k@%d", ks[t]);
        c->tier_names[t] = tu_strdup(b);
    }
    c->ids = calloc(n, sizeof(char *));
    c->prompts = calloc(n, sizeof(char *));
    c->meta_json = calloc(n, sizeof(char *));
    c->n_features = 1;
    c->feature_names = calloc(1, sizeof(char *));
    c->feature_names[0] = tu_strdup("hint");
    c->features = calloc(n, sizeof(double));
    c->acc = calloc(n * T, sizeof(double));
    c->cost = calloc(n * T, sizeof(double));
    c->se = calloc(n * T, sizeof(double));
    allot_rng rng;
    allot_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        char b[64];
        snprintf(b, sizeof b, "q%05zu", i);
        c->ids[i] = tu_strdup(b);
        double p = allot_rng_uniform(&rng);
        int hard = (int)((1 - p) * 40) + 1, level = (int)((1 - p) * 5) + 1;
        char *pr = malloc((size_t)hard * 8 + 64);
        strcpy(pr, "Compute");
        for (int w = 0; w < hard; w++) strcat(pr, w % 3 ? " step" : " 12 +");
        strcat(pr, " ?");
        c->prompts[i] = pr;
        snprintf(b, sizeof b, "{\"level\":\"Level %d\"}", level);
        c->meta_json[i] = tu_strdup(b);
        c->features[i] = p + 0.2 * (allot_rng_uniform(&rng) - 0.5);
        double unsolv = p < 0.15 ? 0.1 : 1.0, factor = vary_cost ? 0.5 + allot_rng_uniform(&rng) : 1.0;
        for (size_t t = 0; t < T; t++) {
            c->acc[i * T + t] = unsolv * (1 - pow(1 - p * 0.6, ks[t]));
            c->cost[i * T + t] = ks[t] * factor;
        }
    }
    return c;
}

/* Write c to path and read it back (so a file with a SHA-256 exists). */
__attribute__((unused)) static allot_curves *tu_roundtrip(allot_curves *c, const char *path) {
    allot_error err = {0};
    if (allot_curves_write(c, path, &err) != ALLOT_OK) {
        fprintf(stderr, "allot_curves_write: %s\n", err.msg);
        exit(1);
    }
    allot_curves_free(c);
    allot_curves *r = NULL;
    if (allot_curves_read(path, &r, &err) != ALLOT_OK) {
        fprintf(stderr, "allot_curves_read: %s\n", err.msg);
        exit(1);
    }
    return r;
}

__attribute__((unused)) static char *tu_slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    size_t got = fread(b, 1, (size_t)sz, fp);
    fclose(fp);
    b[got] = '\0';
    if (len) *len = got;
    return b;
}

/* A private temporary directory (mkdtemp) under $TMPDIR or /tmp. */
static char *tu_tmpdir(void) {
    const char *d = getenv("TMPDIR");
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/allot-learn-test-XXXXXX", d && *d ? d : "/tmp");
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(1);
    }
    return p;
}

#endif
