/*
 * test_curves.c - tier specs and tier files, allot_curves_compute on random multi-model runs
 * against brute force, every compute error, determinism, write/read round trip, read errors.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/check_stop.h"
#include "curves.h"
#include "rng.h"

static char dir[256];

static void path_in(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    fputs(text, fp);
    CHECK(fclose(fp) == 0);
}

static char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    CHECK(buf != NULL);
    CHECK(fread(buf, 1, (size_t)n, fp) == (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* ---- tier specs ------------------------------------------------------------------------- */

static void test_spec(void) {
    allot_tier_set ts;
    allot_error err = {0};
    CHECK(allot_tier_set_parse("majority@1,2,4,8,16,32,48", &ts, &err) == ALLOT_OK);
    CHECK(ts.n == 7 && ts.tiers[6].k == 48 && ts.tiers[6].rule == ALLOT_SELECT_MAJORITY &&
          ts.tiers[6].model == NULL);
    CHECK(strcmp(ts.tiers[3].name, "majority@8") == 0);
    allot_tier_set_free(&ts);

    CHECK(allot_tier_set_parse("pass@1,best@4/min", &ts, &err) == ALLOT_OK);
    CHECK(ts.n == 2 && ts.tiers[1].rule == ALLOT_SELECT_BEST && ts.tiers[1].agg == ALLOT_STEP_MIN);
    CHECK(strcmp(ts.tiers[1].name, "best@4/min") == 0);
    allot_tier_set_free(&ts);

    CHECK(allot_tier_set_parse("meta-llama/Llama-3-8B:vote@8, best/last@1,4,ollama:llama3:8b:pass@2,3", &ts,
                               &err) == ALLOT_OK);
    CHECK(ts.n == 5);
    CHECK(strcmp(ts.tiers[0].model, "meta-llama/Llama-3-8B") == 0 && ts.tiers[0].rule == ALLOT_SELECT_VOTE);
    CHECK(strcmp(ts.tiers[0].name, "meta-llama/Llama-3-8B:vote@8") == 0);
    CHECK(ts.tiers[1].agg == ALLOT_STEP_LAST && ts.tiers[2].agg == ALLOT_STEP_LAST && ts.tiers[2].k == 4);
    CHECK(strcmp(ts.tiers[3].model, "ollama:llama3:8b") == 0 && ts.tiers[4].k == 3);
    allot_tier_set_free(&ts);

    CHECK(allot_tier_set_parse("best@1,4,16/mean", &ts, &err) == ALLOT_OK);
    CHECK(ts.n == 3 && ts.tiers[0].agg == ALLOT_STEP_MEAN && ts.tiers[2].agg == ALLOT_STEP_MEAN);
    CHECK(strcmp(ts.tiers[0].name, "best@1/mean") == 0);
    allot_tier_set_free(&ts);

    /* a model name that starts with digits is not a continuation */
    CHECK(allot_tier_set_parse("pass@1,123/x:pass@1", &ts, &err) == ALLOT_OK);
    CHECK(ts.n == 2 && strcmp(ts.tiers[1].model, "123/x") == 0);
    allot_tier_set_free(&ts);

    static const char *const bad[] = {"",           "majority",        "majority@", "majority@0",
                                      "majority@x", "4,pass@1",        "foo@3",     "pass@1/min",
                                      "best@4/max", ":pass@1",         "pass@1,,2", "best@4/min,8",
                                      "pass@2,2",   "best/min@4/last", "pass@1@2",  "majority@9999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        allot_error e = {0};
        CHECKF(allot_tier_set_parse(bad[i], &ts, &e) == ALLOT_E_ARGUMENT, "spec '%s' accepted", bad[i]);
        CHECK(ts.n == 0 && ts.tiers == NULL && e.msg[0]);
    }
}

static void test_tier_file(void) {
    char path[300];
    path_in(path, sizeof path, "tiers.json");
    write_file(path,
               "{\"format\":\"allot-tiers\",\"version\":1,\"tiers\":[{\"rule\":\"majority\",\"k\":[1,2,4]},"
               "{\"model\":\"m1\",\"rule\":\"best\",\"k\":4,\"agg\":\"min\"},{\"rule\":\"pass\",\"k\":3,"
               "\"agg\":null}]}");
    allot_tier_set ts;
    allot_error err = {0};
    CHECK(allot_tier_set_load(path, &ts, &err) == ALLOT_OK);
    CHECK(ts.n == 5 && ts.tiers[2].k == 4 && strcmp(ts.tiers[3].name, "m1:best@4/min") == 0 &&
          ts.tiers[4].k == 3);
    allot_tier_set_free(&ts);
    write_file(path, "[{\"rule\":\"vote\",\"k\":2}]");
    CHECK(allot_tier_set_load(path, &ts, &err) == ALLOT_OK && ts.n == 1);
    allot_tier_set_free(&ts);
    static const char *const bad[][2] = {
        {"{\"tiers\":[{\"rule\":\"majority\"}]}", "tiers[0].k: missing"},
        {"{\"tiers\":[{\"k\":1}]}", "tiers[0].rule: missing"},
        {"{\"tiers\":[{\"rule\":\"pass\",\"k\":1},{\"rule\":\"zz\",\"k\":1}]}", "tiers[1].rule"},
        {"{\"tiers\":[{\"rule\":\"pass\",\"k\":1.5}]}", "tiers[0].k"},
        {"{\"tiers\":[{\"rule\":\"pass\",\"k\":1,\"agg\":\"min\"}]}", "tiers[0]"},
        {"{\"tiers\":[]}", "tiers: empty"},
        {"{\"tiers\":[{\"rule\":\"pass\",\"k\":1}", "invalid JSON"},
        {"{\"format\":\"other\",\"tiers\":[{\"rule\":\"pass\",\"k\":1}]}", "format"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(path, bad[i][0]);
        allot_error e = {0};
        CHECKF(allot_tier_set_load(path, &ts, &e) != ALLOT_OK, "tier file %zu accepted", i);
        CHECKF(strstr(e.msg, bad[i][1]) && strstr(e.msg, path), "tier file %zu: '%s'", i, e.msg);
    }
    allot_error e = {0};
    CHECK(allot_tier_set_load("/nonexistent/t.json", &ts, &e) == ALLOT_E_IO);
    unlink(path);
}

/* ---- compute against brute force ----------------------------------------------------------- */

#define PMAX 8
typedef struct tpool {
    int n, n_answers;
    int answer[PMAX], correct[PMAX], n_steps[PMAX];
    double score[PMAX], steps[PMAX][3], cost[PMAX];
    int has_cost[PMAX];
    unsigned char ac[PMAX];
} tpool;

static void make_pool(allot_rng *rng, tpool *p) {
    memset(p, 0, sizeof *p);
    p->n = 3 + (int)allot_rng_below(rng, PMAX - 2);
    p->n_answers = 1 + (int)allot_rng_below(rng, 3);
    for (int a = 0; a < p->n_answers; a++) p->ac[a] = a == 0 && allot_rng_below(rng, 5) != 0;
    for (int i = 0; i < p->n; i++) {
        p->answer[i] = allot_rng_below(rng, 5) == 0 ? -1 : (int)allot_rng_below(rng, (uint64_t)p->n_answers);
        p->correct[i] = p->answer[i] >= 0 ? p->ac[p->answer[i]] : 0;
        p->score[i] = (double)allot_rng_below(rng, 5) / 8.0;
        p->n_steps[i] = 1 + (int)allot_rng_below(rng, 3);
        for (int s = 0; s < p->n_steps[i]; s++) p->steps[i][s] = (double)(1 + allot_rng_below(rng, 4)) / 4.0;
        p->has_cost[i] = allot_rng_below(rng, 3) != 0;
        p->cost[i] = p->has_cost[i] ? (double)allot_rng_below(rng, 6) / 2.0 : 1.0;
    }
}

/* Sample score as the library computes it (same operation order). agg: 0 score, 1 min, 2 last, 3 mean, 4 prod
 */
static double agg_score(const tpool *p, int i, int agg) {
    const double *v = p->steps[i];
    int n = p->n_steps[i];
    double x = v[0];
    switch (agg) {
    case 0: return p->score[i];
    case 1:
        for (int j = 1; j < n; j++) x = v[j] < x ? v[j] : x;
        return x;
    case 2: return v[n - 1];
    case 3:
        for (int j = 1; j < n; j++) x += v[j];
        return x / n;
    default:
        for (int j = 1; j < n; j++) x *= v[j];
        return x;
    }
}

/* rule: 0 pass, 1 best, 2 majority, 3 vote */
static double bf(const tpool *p, int k, int rule, int agg) {
    double total = 0;
    int count = 0;
    for (unsigned m = 0; m < (1u << p->n); m++) {
        int bits = 0;
        for (int i = 0; i < p->n; i++) bits += (int)(m >> i & 1);
        if (bits != k) continue;
        count++;
        if (rule == 0) {
            int any = 0;
            for (int i = 0; i < p->n; i++) any |= (m >> i & 1) && p->correct[i];
            total += any;
        } else if (rule == 1) {
            double best = -INFINITY;
            for (int i = 0; i < p->n; i++)
                if ((m >> i & 1) && agg_score(p, i, agg) > best) best = agg_score(p, i, agg);
            int w = 0, wc = 0;
            for (int i = 0; i < p->n; i++)
                if ((m >> i & 1) && agg_score(p, i, agg) == best) {
                    w++;
                    wc += p->correct[i];
                }
            total += (double)wc / w;
        } else {
            double sum[PMAX];
            int seen[PMAX] = {0};
            for (int a = 0; a < p->n_answers; a++) sum[a] = 0;
            for (int i = 0; i < p->n; i++)
                if ((m >> i & 1) && p->answer[i] >= 0) {
                    sum[p->answer[i]] += rule == 2 ? 1.0 : agg_score(p, i, agg);
                    seen[p->answer[i]] = 1;
                }
            double best = -1;
            for (int a = 0; a < p->n_answers; a++)
                if (seen[a] && sum[a] > best) best = sum[a];
            int w = 0, wc = 0;
            for (int a = 0; a < p->n_answers; a++)
                if (seen[a] && sum[a] == best) {
                    w++;
                    wc += p->ac[a];
                }
            total += w ? (double)wc / w : 0.0;
        }
    }
    return total / count;
}

static void put_sample(FILE *fp, const tpool *p, int i, const char *model, int first) {
    fprintf(fp, "%s{\"correct\":%s,\"model\":\"%s\"", first ? "" : ",", p->correct[i] ? "true" : "false",
            model);
    if (p->answer[i] >= 0)
        fprintf(fp, ",\"answer\":\"ans%d\"", p->answer[i]);
    else
        fputs(",\"answer\":null", fp);
    fprintf(fp, ",\"score\":%.17g,\"step_scores\":[", p->score[i]);
    for (int s = 0; s < p->n_steps[i]; s++) fprintf(fp, s ? ",%.17g" : "%.17g", p->steps[i][s]);
    fputc(']', fp);
    if (p->has_cost[i]) fprintf(fp, ",\"cost\":%.17g", p->cost[i]);
    fputc('}', fp);
}

#define NQ 300
static const char *const MODEL_A = "org/model-7b";
static const char *const MODEL_B = "ollama:x:1";

/* Writes NQ queries with two models each (interleaved samples); order reversed when reverse. */
static void write_random_runs(const char *path, tpool *pa, tpool *pb, int reverse) {
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    for (int jj = 0; jj < NQ; jj++) {
        int q = reverse ? NQ - 1 - jj : jj;
        fprintf(fp, "{\"id\":\"q%d\",\"prompt\":\"question \\\"%d\\\"\\n\",\"meta\":{\"i\":%d}", q, q, q);
        /* one `features` object (a second member of the same name is refused) */
        if (q % 15 == 0)
            fprintf(fp, ",\"features\":{\"len\":%d.25,\"alt\":-%d}", q, q);
        else if (q % 3 == 0)
            fprintf(fp, ",\"features\":{\"len\":%d.25}", q);
        else if (q % 5 == 0)
            fprintf(fp, ",\"features\":{\"alt\":-%d}", q);
        fputs(",\"samples\":[", fp);
        /* answers are per query: the two models share answer strings (same grades) */
        int first = 1;
        for (int i = 0; i < PMAX; i++) {
            if (i < pa[q].n) put_sample(fp, &pa[q], i, MODEL_A, first), first = 0;
            if (i < pb[q].n) put_sample(fp, &pb[q], i, MODEL_B, first), first = 0;
        }
        fputs("]}\n", fp);
    }
    CHECK(fclose(fp) == 0);
}

typedef struct ttier {
    const char *model;
    int rule, k, agg;
} ttier;

static void test_compute_vs_brute_force(void) {
    allot_rng rng;
    allot_rng_seed(&rng, 77);
    static tpool pa[NQ], pb[NQ];
    for (int q = 0; q < NQ; q++) {
        make_pool(&rng, &pa[q]);
        make_pool(&rng, &pb[q]);
        /* shared answer strings must be graded alike: model B uses A's answer grades */
        pb[q].n_answers = pa[q].n_answers;
        for (int a = 0; a < PMAX; a++) pb[q].ac[a] = pa[q].ac[a];
        for (int i = 0; i < pb[q].n; i++) {
            if (pb[q].answer[i] >= pb[q].n_answers) pb[q].answer[i] = pb[q].n_answers - 1;
            pb[q].correct[i] = pb[q].answer[i] >= 0 ? pb[q].ac[pb[q].answer[i]] : 0;
        }
    }
    char runs[300], runs_rev[300];
    path_in(runs, sizeof runs, "random.jsonl");
    path_in(runs_rev, sizeof runs_rev, "random-reversed.jsonl");
    write_random_runs(runs, pa, pb, 0);
    write_random_runs(runs_rev, pa, pb, 1);
    const char *spec = "org/model-7b:pass@1,2,3,org/model-7b:best@1,2,3,org/model-7b:best@2,3/min,"
                       "org/model-7b:majority@1,2,3,org/model-7b:vote@2,3,org/model-7b:vote/min@3,"
                       "ollama:x:1:majority@2,3,ollama:x:1:best@2/last,ollama:x:1:best@2/prod,"
                       "ollama:x:1:best@3/mean,ollama:x:1:pass@3";
    static const ttier want[] = {
        {"org/model-7b", 0, 1, 0}, {"org/model-7b", 0, 2, 0}, {"org/model-7b", 0, 3, 0},
        {"org/model-7b", 1, 1, 0}, {"org/model-7b", 1, 2, 0}, {"org/model-7b", 1, 3, 0},
        {"org/model-7b", 1, 2, 1}, {"org/model-7b", 1, 3, 1}, {"org/model-7b", 2, 1, 0},
        {"org/model-7b", 2, 2, 0}, {"org/model-7b", 2, 3, 0}, {"org/model-7b", 3, 2, 0},
        {"org/model-7b", 3, 3, 0}, {"org/model-7b", 3, 3, 1}, {"ollama:x:1", 2, 2, 0},
        {"ollama:x:1", 2, 3, 0},   {"ollama:x:1", 1, 2, 2},   {"ollama:x:1", 1, 2, 4},
        {"ollama:x:1", 1, 3, 3},   {"ollama:x:1", 0, 3, 0}};
    const size_t T = sizeof want / sizeof *want;
    allot_tier_set ts;
    allot_error err = {0};
    CHECKF(allot_tier_set_parse(spec, &ts, &err) == ALLOT_OK, "%s", err.msg);
    CHECK(ts.n == T);
    allot_curves_options opt;
    allot_curves_options_default(&opt);
    opt.seed = 12345;
    allot_curves *c = NULL;
    /* by default every pool here is small enough for the exact average over all k-subsets */
    CHECKF(allot_curves_compute(runs, &ts, &opt, &c, &err) == ALLOT_OK, "%s", err.msg);
    int enum_bad = 0;
    for (int q = 0; q < NQ; q++)
        for (size_t t = 0; t < T; t++) {
            const tpool *p = strcmp(want[t].model, MODEL_A) == 0 ? &pa[q] : &pb[q];
            double b = bf(p, want[t].k, want[t].rule, want[t].agg);
            enum_bad += fabs(c->acc[q * T + t] - b) > 1e-12 || c->se[q * T + t] != 0;
        }
    CHECKF(enum_bad == 0, "%d exact (enumerated) values differ from brute force", enum_bad);
    allot_curves_free(c);
    /* the rest of this test exercises the permutations */
    opt.max_exact_subsets = 0;
    CHECKF(allot_curves_compute(runs, &ts, &opt, &c, &err) == ALLOT_OK, "%s", err.msg);
    CHECK(c->n_queries == NQ && c->n_tiers == T && c->n_features == 2);
    CHECK(strcmp(c->feature_names[0], "len") == 0 && strcmp(c->feature_names[1], "alt") == 0);
    CHECK(c->features[3 * 2 + 0] == 3.25 && isnan(c->features[3 * 2 + 1]) && c->features[5 * 2 + 1] == -5);
    CHECK(isnan(c->features[1 * 2 + 0]) && isnan(c->features[1 * 2 + 1]));
    CHECK(strcmp(c->prompts[7], "question \"7\"\n") == 0 && strcmp(c->meta_json[7], "{\"i\":7}") == 0);
    double z2 = 0;
    int nz = 0, exact_bad = 0, z_bad = 0, cost_bad = 0;
    for (int q = 0; q < NQ; q++) {
        char want_id[16];
        snprintf(want_id, sizeof want_id, "q%d", q);
        CHECK(strcmp(c->ids[q], want_id) == 0);
        for (size_t t = 0; t < T; t++) {
            const tpool *p = strcmp(want[t].model, MODEL_A) == 0 ? &pa[q] : &pb[q];
            double b = bf(p, want[t].k, want[t].rule, want[t].agg);
            double acc = c->acc[q * T + t], se = c->se[q * T + t];
            double mc = 0;
            for (int i = 0; i < p->n; i++) mc += p->cost[i];
            mc /= p->n;
            if (fabs(c->cost[q * T + t] - want[t].k * mc) > 1e-12) cost_bad++;
            if (want[t].rule <= 1 || want[t].k == 1 || want[t].k == p->n) {
                if (fabs(acc - b) > 1e-12 || se != 0) exact_bad++;
            } else {
                if (se > 0) {
                    z2 += (acc - b) * (acc - b) / (se * se);
                    nz++;
                }
                if (fabs(acc - b) > 5 * se + 1e-12) z_bad++;
            }
        }
    }
    CHECKF(exact_bad == 0, "%d exact values differ from brute force", exact_bad);
    CHECKF(cost_bad == 0, "%d costs wrong", cost_bad);
    CHECKF(z_bad == 0, "%d permutation estimates more than 5 se from brute force", z_bad);
    /* the standard errors are calibrated: mean z^2 near 1 */
    CHECKF(nz > 500 && z2 / nz > 0.7 && z2 / nz < 1.3, "mean z^2 = %g over %d", z2 / nz, nz);

    /* determinism: byte-identical files; line order does not change any value */
    char out1[300], out2[300];
    path_in(out1, sizeof out1, "c1.jsonl");
    path_in(out2, sizeof out2, "c2.jsonl");
    CHECK(allot_curves_write(c, out1, &err) == ALLOT_OK);
    allot_curves *c2 = NULL;
    CHECK(allot_curves_compute(runs, &ts, &opt, &c2, &err) == ALLOT_OK);
    CHECK(allot_curves_write(c2, out2, &err) == ALLOT_OK);
    size_t l1, l2;
    char *b1 = slurp(out1, &l1), *b2 = slurp(out2, &l2);
    CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
    free(b1);
    free(b2);
    allot_curves_free(c2);
    CHECK(allot_curves_compute(runs_rev, &ts, &opt, &c2, &err) == ALLOT_OK);
    int order_bad = 0;
    for (int q = 0; q < NQ; q++)
        for (size_t t = 0; t < T; t++) {
            size_t r = (size_t)(NQ - 1 - q);
            if (c2->acc[r * T + t] != c->acc[q * T + t] || c2->se[r * T + t] != c->se[q * T + t]) order_bad++;
        }
    CHECKF(order_bad == 0, "%d values depend on line order", order_bad);
    allot_curves_free(c2);
    /* a different seed gives different estimates (but the same exact values) */
    opt.seed = 99;
    CHECK(allot_curves_compute(runs, &ts, &opt, &c2, &err) == ALLOT_OK);
    int differ = 0;
    for (size_t i = 0; i < NQ * T; i++) differ += c2->acc[i] != c->acc[i];
    CHECK(differ > 0 && c2->acc[0] == c->acc[0]);
    allot_curves_free(c2);
    /* the same tier computed alone gives the same value (permutations independent of the tier set) */
    allot_tier_set one;
    CHECK(allot_tier_set_parse("org/model-7b:majority@2", &one, &err) == ALLOT_OK);
    opt.seed = 12345;
    CHECK(allot_curves_compute(runs, &one, &opt, &c2, &err) == ALLOT_OK);
    int alone_bad = 0;
    for (int q = 0; q < NQ; q++) alone_bad += c2->acc[q] != c->acc[q * T + 9];
    CHECK(alone_bad == 0);
    allot_curves_free(c2);
    allot_tier_set_free(&one);

    /* round trip */
    allot_curves *rd = NULL;
    CHECKF(allot_curves_read(out1, &rd, &err) == ALLOT_OK, "%s", err.msg);
    CHECK(rd->n_queries == c->n_queries && rd->n_tiers == T && rd->n_features == 2 && rd->seed == 12345);
    CHECK(rd->permutations == 256 && rd->cap_k == 0 && strcmp(rd->source, runs) == 0 &&
          rd->max_exact_subsets == 0);
    CHECK(rd->tier_defs.n == T);
    int rt_bad = 0;
    for (size_t t = 0; t < T; t++) {
        rt_bad += strcmp(rd->tier_names[t], c->tier_names[t]) != 0;
        rt_bad += rd->tier_defs.tiers[t].k != ts.tiers[t].k ||
                  rd->tier_defs.tiers[t].rule != ts.tiers[t].rule ||
                  rd->tier_defs.tiers[t].agg != ts.tiers[t].agg ||
                  strcmp(rd->tier_defs.tiers[t].model, ts.tiers[t].model);
    }
    for (size_t i = 0; i < NQ * T; i++)
        rt_bad += rd->acc[i] != c->acc[i] || rd->cost[i] != c->cost[i] || rd->se[i] != c->se[i];
    for (size_t q = 0; q < NQ; q++) {
        rt_bad += strcmp(rd->ids[q], c->ids[q]) != 0 || strcmp(rd->prompts[q], c->prompts[q]) != 0 ||
                  strcmp(rd->meta_json[q], c->meta_json[q]) != 0;
        for (size_t f = 0; f < 2; f++) {
            double x = rd->features[q * 2 + f], y = c->features[q * 2 + f];
            rt_bad += !(x == y || (isnan(x) && isnan(y)));
        }
    }
    CHECKF(rt_bad == 0, "%d round-trip differences", rt_bad);
    /* writing what was read gives the same bytes */
    CHECK(allot_curves_write(rd, out2, &err) == ALLOT_OK);
    b1 = slurp(out1, &l1);
    b2 = slurp(out2, &l2);
    CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
    free(b1);
    free(b2);
    allot_curves_free(rd);
    allot_curves_free(c);
    allot_tier_set_free(&ts);
    unlink(out1);
    unlink(out2);
    unlink(runs);
    unlink(runs_rev);
}

/* ---- compute errors ---------------------------------------------------------------------- */

typedef struct cerr_case {
    const char *text, *spec; /* spec NULL: no tier set */
    size_t line;
    const char *needle;
} cerr_case;

#define S2                                                                                                   \
    "\"samples\":[{\"correct\":true,\"answer\":\"1\",\"score\":0.5},{\"correct\":false,\"answer\":\"2\","    \
    "\"score\":0.25}]"

static void test_compute_errors(void) {
    static const cerr_case cases[] = {
        {"{\"id\":\"a\"," S2 "}\n", "pass@3", 1, "tier pass@3: k = 3 but model \"\" has only 2 samples"},
        {"{\"id\":\"a\"," S2 "}\n{\"id\":\"b\",\"samples\":[{\"correct\":true}]}\n", "pass@2", 2,
         "only 1 samples"},
        {"{\"id\":\"a\",\"samples\":[{\"correct\":true,\"answer\":\"1\"}]}\n", "best@1", 1,
         "samples[0].score: missing"},
        {"{\"id\":\"a\"," S2 "}\n", "best@1/min", 1, "samples[0].step_scores: missing or empty"},
        {"{\"id\":\"a\",\"samples\":[{\"correct\":true,\"answer\":\"1\",\"score\":-1}]}\n", "vote@1", 1,
         "samples[0].score: negative"},
        {"{\"id\":\"a\",\"samples\":[{\"correct\":true},{\"correct\":false}]}\n", "majority@2", 1,
         "samples[0].answer: missing"},
        {"{\"id\":\"a\",\"samples\":[{\"correct\":true,\"model\":\"x\"},{\"correct\":false,\"model\":\"y\"}]}"
         "\n",
         "pass@1", 1, "names no model but the query has samples of 2 models"},
        {"{\"id\":\"a\",\"samples\":[{\"correct\":true,\"model\":\"x\"}]}\n", "y:pass@1", 1,
         "no sample of model \"y\""},
        {"{\"id\":\"a\",\"tiers\":{\"t\":{\"acc\":1,\"cost\":1}}}\n", "pass@1", 1,
         "tiers: this line has precomputed tiers"},
        {"{\"id\":\"a\",\"tiers\":{\"t\":{\"acc\":1,\"cost\":1}}}\n{\"id\":\"b\"," S2 "}\n", NULL, 2,
         "every line must"},
        {"{\"id\":\"a\"," S2 "}\n", NULL, 1, "no tier set given"},
        {"{\"id\":\"a\",\"samples\":[{\"correct\":true,\"answer\":\"1\"},{\"correct\":false,\"answer\":\"1\"}"
         "]}\n",
         "majority@2", 1,
         "samples[1].correct: answer \"1\" is graded incorrect here but correct in samples[0]"},
        {"{\"id\":\"a\"," S2 "}\n{\"id\":\"a\"," S2 "}\n", "pass@1", 2, "id: duplicate"},
    };
    char path[300];
    path_in(path, sizeof path, "bad.jsonl");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file(path, cases[i].text);
        allot_tier_set ts = {0};
        allot_error err = {0};
        if (cases[i].spec) CHECK(allot_tier_set_parse(cases[i].spec, &ts, &err) == ALLOT_OK);
        allot_curves *c = NULL;
        allot_status st = allot_curves_compute(path, &ts, NULL, &c, &err);
        allot_tier_set_free(&ts);
        char where[320];
        snprintf(where, sizeof where, "%s:%zu: ", path, cases[i].line);
        CHECKF(st == ALLOT_E_INVALID && c == NULL, "case %zu: status %d (%s)", i, (int)st, err.msg);
        CHECKF(strncmp(err.msg, where, strlen(where)) == 0 && strstr(err.msg, cases[i].needle),
               "case %zu: '%s'", i, err.msg);
    }
    /* --cap-k: k is capped to the pool, value and cost */
    write_file(path, "{\"id\":\"a\"," S2 "}\n");
    allot_tier_set ts;
    allot_error err = {0};
    CHECK(allot_tier_set_parse("pass@5,majority@5,best@5", &ts, &err) == ALLOT_OK);
    allot_curves_options opt;
    allot_curves_options_default(&opt);
    opt.cap_k = 1;
    allot_curves *c = NULL;
    CHECKF(allot_curves_compute(path, &ts, &opt, &c, &err) == ALLOT_OK, "%s", err.msg);
    CHECK(c->acc[0] == 1.0 && c->cost[0] == 2.0 && c->acc[1] == 0.5 && c->se[1] == 0 && c->acc[2] == 1.0);
    CHECK(c->cap_k == 1);
    allot_curves_free(c);
    opt.permutations = 1;
    CHECK(allot_curves_compute(path, &ts, &opt, &c, &err) == ALLOT_E_ARGUMENT && c == NULL);
    allot_tier_set_free(&ts);
    /* all answers null: majority is 0, not an error */
    write_file(path, "{\"id\":\"a\",\"samples\":[{\"correct\":false,\"answer\":null},{\"correct\":false,"
                     "\"answer\":null}]}\n");
    CHECK(allot_tier_set_parse("majority@1,2", &ts, &err) == ALLOT_OK);
    CHECK(allot_curves_compute(path, &ts, NULL, &c, &err) == ALLOT_OK);
    CHECK(c->acc[0] == 0 && c->acc[1] == 0);
    allot_curves_free(c);
    allot_tier_set_free(&ts);
    unlink(path);
}

/* ---- read errors -------------------------------------------------------------------------- */

#define HDR "{\"format\":\"allot-curves\",\"version\":1,\"tiers\":[{\"name\":\"a\"},{\"name\":\"b\"}]"

static void test_read_errors(void) {
    static const cerr_case cases[] = {
        {"{\"version\":1,\"tiers\":[{\"name\":\"a\"}]}\n", NULL, 1, "format: missing"},
        {"{\"format\":\"allot-curves\",\"version\":2,\"tiers\":[{\"name\":\"a\"}]}\n", NULL, 1, "version"},
        {"{\"format\":\"allot-curves\",\"version\":1}\n", NULL, 1, "tiers: missing"},
        {HDR "}\n{\"id\":\"q\",\"acc\":[0,1.5],\"cost\":[1,2],\"se\":[0,0]}\n", NULL, 2,
         "acc[1]: outside [0,1]"},
        {HDR "}\n{\"id\":\"q\",\"acc\":[0,1],\"cost\":[1,-2],\"se\":[0,0]}\n", NULL, 2, "cost[1]: negative"},
        {HDR "}\n{\"id\":\"q\",\"acc\":[0,1],\"cost\":[1,2],\"se\":[0]}\n", NULL, 2,
         "se: 1 values for 2 tiers"},
        {HDR "}\n{\"id\":\"q\",\"acc\":[0,1],\"cost\":[1,2]}\n", NULL, 2, "se: missing"},
        {HDR "}\n{\"acc\":[0,1],\"cost\":[1,2],\"se\":[0,0]}\n", NULL, 2, "id: missing"},
        {HDR "}\n{\"id\":\"q\",\"acc\":[0,1],\"cost\":[1,2],\"se\":[0,0]}\n\n{\"id\":\"q\",\"acc\":[0,1],"
             "\"cost\":[1,2],\"se\":[0,0]}\n",
         NULL, 4, "id: duplicate"},
        {HDR ",\"features\":[\"f\"]}\n{\"id\":\"q\",\"features\":{\"g\":1},\"acc\":[0,1],\"cost\":[1,2],"
             "\"se\":[0,0]}\n",
         NULL, 2, "features.g: not listed"},
        {HDR ",\"n_queries\":2}\n{\"id\":\"q\",\"acc\":[0,1],\"cost\":[1,2],\"se\":[0,0]}\n", NULL, 1,
         "n_queries"},
        {HDR "}\n{\"id\":\"q\",\"acc\":[0,1],\"cost\":[1,2],\"se\":[0,0]\n", NULL, 2, "invalid JSON"},
        {"{\"format\":\"allot-curves\",\"version\":1,\"tiers\":[{\"name\":\"a\"},{\"name\":\"a\"}]}\n", NULL,
         1, "tiers[1].name: duplicate"},
    };
    char path[300];
    path_in(path, sizeof path, "bad-curves.jsonl");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file(path, cases[i].text);
        allot_error err = {0};
        allot_curves *c = NULL;
        allot_status st = allot_curves_read(path, &c, &err);
        char where[320];
        snprintf(where, sizeof where, "%s:%zu: ", path, cases[i].line);
        CHECKF(st != ALLOT_OK && c == NULL, "read case %zu accepted", i);
        CHECKF(strncmp(err.msg, where, strlen(where)) == 0 && strstr(err.msg, cases[i].needle),
               "read case %zu: '%s'", i, err.msg);
    }
    /* a minimal hand-written file without provenance reads fine */
    write_file(path, HDR "}\n{\"id\":\"q\",\"acc\":[0,1],\"cost\":[1,2],\"se\":[0,0]}\n");
    allot_error err = {0};
    allot_curves *c = NULL;
    CHECKF(allot_curves_read(path, &c, &err) == ALLOT_OK, "%s", err.msg);
    CHECK(c->n_queries == 1 && c->n_tiers == 2 && c->tier_defs.n == 0 && c->prompts[0] == NULL &&
          c->acc[1] == 1);
    allot_curves_free(c);
    unlink(path);
}

/* Precomputed tiers pass through and survive a round trip. */
static void test_precomputed(void) {
    char path[300], out[300];
    path_in(path, sizeof path, "pre.jsonl");
    path_in(out, sizeof out, "pre-curves.jsonl");
    write_file(
        path,
        "{\"id\":\"a\",\"tiers\":{\"small\":{\"acc\":0.25,\"cost\":6},\"big\":{\"acc\":1,\"cost\":175}}}\n"
        "{\"id\":\"b\",\"tiers\":{\"big\":{\"acc\":0,\"cost\":175.5},\"small\":{\"acc\":0.1,\"cost\":6}}}\n");
    allot_error err = {0};
    allot_curves *c = NULL;
    CHECKF(allot_curves_compute(path, NULL, NULL, &c, &err) == ALLOT_OK, "%s", err.msg);
    CHECK(c->n_tiers == 2 && strcmp(c->tier_names[0], "small") == 0 && c->acc[2] == 0.1 &&
          c->cost[3] == 175.5);
    CHECK(c->tier_defs.n == 2 && c->tier_defs.tiers[1].rule == ALLOT_SELECT_PRECOMPUTED &&
          c->permutations == 0);
    CHECK(allot_curves_write(c, out, &err) == ALLOT_OK);
    allot_curves *rd = NULL;
    CHECKF(allot_curves_read(out, &rd, &err) == ALLOT_OK, "%s", err.msg);
    CHECK(rd->tier_defs.n == 2 && rd->tier_defs.tiers[0].rule == ALLOT_SELECT_PRECOMPUTED &&
          rd->acc[2] == 0.1);
    allot_curves_free(rd);
    /* a write that cannot happen leaves no file and no temporary behind */
    char bad[320];
    path_in(bad, sizeof bad, "no-such-dir/out.jsonl");
    CHECK(allot_curves_write(c, bad, &err) == ALLOT_E_IO);
    CHECK(access(bad, F_OK) != 0);
    allot_curves_free(c);
    unlink(path);
    unlink(out);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/allot-test-curves-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    test_spec();
    test_tier_file();
    test_compute_vs_brute_force();
    test_compute_errors();
    test_read_errors();
    test_precomputed();
    CHECK(rmdir(dir) == 0); /* every test removed its files: nothing left behind */
    return CHECK_DONE("curves");
}
