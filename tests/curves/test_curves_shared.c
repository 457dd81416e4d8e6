/*
 * test_curves_shared.c - end to end on every labelled-runs file of ../shared/datasets (argv[1]).
 *
 * Every *.jsonl there is read, its curves computed (precomputed tiers as they are; otherwise pass
 * and, where samples carry answers, majority tiers for each model), written, read back and
 * compared; pass curves must be monotone in k. Known files are checked against the figures of the
 * datasets' README. Exits 77 ("skipped") when the folder is absent.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/check_stop.h"
#include "curves.h"
#include "runs_reader.h"

static char tmpdir[256];

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static double mean_col(const allot_curves *c, size_t t) {
    double s = 0;
    for (size_t i = 0; i < c->n_queries; i++) s += c->acc[i * c->n_tiers + t];
    return s / (double)c->n_queries;
}

static long tier_index(const allot_curves *c, const char *name) {
    for (size_t t = 0; t < c->n_tiers; t++)
        if (strcmp(c->tier_names[t], name) == 0) return (long)t;
    return -1;
}

/* |mean acc of tier name - want| <= tol */
static void check_mean(const allot_curves *c, const char *file, const char *name, double want, double tol) {
    long t = tier_index(c, name);
    CHECKF(t >= 0, "%s: tier %s missing", file, name);
    double got = mean_col(c, (size_t)t);
    CHECKF(fabs(got - want) <= tol, "%s: %s mean acc %.6f, README says %.4f", file, name, got, want);
    printf("  %-48s mean acc %.4f (README %.4f)\n", name, got, want);
}

/* Tier spec for a samples file: per model pass@1..max (powers of two and max) and, where samples
 * carry answers, majority over the same ks; k = the smallest pool over the file's queries. */
static char *spec_for(const char *path) {
    allot_runs_reader *r = NULL;
    allot_error err = {0};
    CHECKF(allot_runs_reader_open(path, &r, &err) == ALLOT_OK, "%s", err.msg);
    size_t min_pool[64], answers[64];
    for (int m = 0; m < 64; m++) min_pool[m] = (size_t)-1, answers[m] = 0;
    allot_query q;
    int has = 0;
    size_t counts[64];
    while (allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has) {
        if (q.n_samples == 0) {
            allot_runs_reader_close(r);
            return NULL;
        }
        memset(counts, 0, sizeof counts);
        for (size_t i = 0; i < q.n_samples; i++) {
            if (q.samples[i].model >= 64) CHECKF(0, "%s: more than 64 models", path);
            counts[q.samples[i].model]++;
            answers[q.samples[i].model] |= (size_t)q.samples[i].answer_present;
        }
        for (size_t m = 0; m < allot_runs_reader_n_models(r); m++)
            if (counts[m] < min_pool[m]) min_pool[m] = counts[m];
    }
    CHECKF(err.code == ALLOT_OK, "%s", err.msg);
    size_t nm = allot_runs_reader_n_models(r);
    size_t cap = 256 + nm * 512;
    char *spec = malloc(cap);
    CHECK(spec != NULL);
    spec[0] = '\0';
    for (size_t m = 0; m < nm; m++) {
        const char *name = allot_runs_reader_model_name(r, (int)m);
        size_t n = min_pool[m];
        if (n == (size_t)-1 || n == 0) continue;
        for (int rule = 0; rule < 2; rule++) {
            if (rule == 1 && !answers[m]) continue;
            size_t len = strlen(spec);
            snprintf(spec + len, cap - len, "%s%s%s%s@", len ? "," : "", nm > 1 ? name : "",
                     nm > 1 ? ":" : "", rule ? "majority" : "pass");
            for (size_t k = 1; k < n; k *= 2) {
                len = strlen(spec);
                snprintf(spec + len, cap - len, "%zu,", k);
            }
            len = strlen(spec);
            snprintf(spec + len, cap - len, "%zu", n);
        }
    }
    allot_runs_reader_close(r);
    return spec;
}

static void run_file(const char *dirpath, const char *name) {
    char path[1024], out[512];
    snprintf(path, sizeof path, "%s/%s", dirpath, name);
    snprintf(out, sizeof out, "%s/curves.jsonl", tmpdir);
    char *spec = spec_for(path);
    allot_tier_set ts = {0};
    allot_error err = {0};
    if (spec) CHECKF(allot_tier_set_parse(spec, &ts, &err) == ALLOT_OK, "%s: %s", spec, err.msg);
    allot_curves_options opt;
    allot_curves_options_default(&opt);
    allot_curves *c = NULL;
    CHECKF(allot_curves_compute(path, &ts, &opt, &c, &err) == ALLOT_OK, "%s", err.msg);
    printf("%s: %zu queries, %zu tiers\n", name, c->n_queries, c->n_tiers);
    /* pass curves are monotone in k (within rounding) for every query and model */
    int bad = 0;
    for (size_t i = 0; i < c->n_queries; i++)
        for (size_t t = 1; t < ts.n; t++) {
            const allot_tier *a = &ts.tiers[t - 1], *b = &ts.tiers[t];
            if (a->rule != ALLOT_SELECT_PASS || b->rule != ALLOT_SELECT_PASS) continue;
            if ((a->model == NULL) != (b->model == NULL) || (a->model && strcmp(a->model, b->model)))
                continue;
            if (c->acc[i * c->n_tiers + t] < c->acc[i * c->n_tiers + t - 1] - 1e-12) bad++;
        }
    CHECKF(bad == 0, "%s: %d non-monotone pass steps", name, bad);
    int out_of_range = 0;
    for (size_t i = 0; i < c->n_queries * c->n_tiers; i++)
        out_of_range += !(c->acc[i] >= 0 && c->acc[i] <= 1 && c->se[i] >= 0);
    CHECK(out_of_range == 0);
    /* write, read back, compare */
    CHECKF(allot_curves_write(c, out, &err) == ALLOT_OK, "%s", err.msg);
    allot_curves *rd = NULL;
    CHECKF(allot_curves_read(out, &rd, &err) == ALLOT_OK, "%s", err.msg);
    CHECK(rd->n_queries == c->n_queries && rd->n_tiers == c->n_tiers);
    int diff = 0;
    for (size_t i = 0; i < c->n_queries * c->n_tiers; i++)
        diff += rd->acc[i] != c->acc[i] || rd->cost[i] != c->cost[i] || rd->se[i] != c->se[i];
    for (size_t i = 0; i < c->n_queries; i++) diff += strcmp(rd->ids[i], c->ids[i]) != 0;
    CHECKF(diff == 0, "%s: %d differences after the round trip", name, diff);
    allot_curves_free(rd);
    unlink(out);

    /* figures of the datasets' README */
    if (strcmp(name, "gsm8k-llama2-13b-pot48.jsonl") == 0) {
        check_mean(c, name, "pass@1", 0.2999, 5e-5);
        check_mean(c, name, "pass@48", 0.7375, 5e-5);
        check_mean(c, name, "majority@1", 0.2999, 5e-5);
        check_mean(c, name, "majority@48", 0.4521, 5e-5); /* k = n: exact, se 0 */
        long t = tier_index(c, "majority@48");
        int nonzero = 0;
        for (size_t i = 0; i < c->n_queries; i++) nonzero += c->se[i * c->n_tiers + (size_t)t] != 0;
        CHECK(nonzero == 0);
        /* the issue's tier set, with majority@8 between its neighbours */
        allot_tier_set maj;
        CHECK(allot_tier_set_parse("majority@1,2,4,8,16,32,48", &maj, &err) == ALLOT_OK);
        allot_curves *m = NULL;
        CHECK(allot_curves_compute(path, &maj, &opt, &m, &err) == ALLOT_OK);
        double prev = 0;
        for (size_t k = 0; k < m->n_tiers; k++) {
            double v = mean_col(m, k);
            printf("  %-48s mean acc %.4f\n", m->tier_names[k], v);
            CHECKF(v >= prev - 1e-3, "majority curve decreases at %s", m->tier_names[k]);
            prev = v;
        }
        CHECK(fabs(mean_col(m, 6) - 0.4521) <= 5e-5);
        allot_curves_free(m);
        allot_tier_set_free(&maj);
    } else if (strcmp(name, "gsm8k-train-codex10.jsonl") == 0) {
        check_mean(c, name, "pass@1", 0.5620, 5e-5);
        check_mean(c, name, "pass@10", 0.9090, 5e-5);
        check_mean(c, name, "majority@10", 0.7373, 5e-5);
    } else if (strcmp(name, "gsm8k-test-gpt3-tiers.jsonl") == 0) {
        check_mean(c, name, "6b", 0.2168, 5e-5);
        check_mean(c, name, "6b-verifier-100", 0.3904, 5e-5);
        check_mean(c, name, "175b", 0.3472, 5e-5);
        check_mean(c, name, "175b-verifier-100", 0.5625, 5e-5);
        CHECK(c->cost[0] == 6 && c->cost[3] == 35000);
    } else if (strcmp(name, "livecodebench-open-models.jsonl") == 0) {
        check_mean(c, name, "deepseek-ai/deepseek-coder-33b-instruct:pass@1", 0.3028, 5e-5);
        check_mean(c, name, "deepseek-ai/deepseek-coder-33b-instruct:pass@10", 0.4075, 5e-5);
        check_mean(c, name, "stabilityai/stable-code-3b:pass@10", 0.1000, 5e-5);
        long t = tier_index(c, "deepseek-ai/deepseek-coder-33b-instruct:pass@10");
        CHECK(t >= 0 && c->cost[(size_t)t] == 330);
    }
    allot_curves_free(c);
    allot_tier_set_free(&ts);
    free(spec);
}

int main(int argc, char **argv) {
    const char *dirpath = argc > 1 ? argv[1] : "../shared/datasets";
    DIR *d = opendir(dirpath);
    if (!d) {
        printf("skipped: shared datasets folder %s not found\n", dirpath);
        return 77;
    }
    char *names[256];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 256;)
        if (ends_with(e->d_name, ".jsonl")) {
            names[n] = malloc(strlen(e->d_name) + 1);
            CHECK(names[n] != NULL);
            strcpy(names[n++], e->d_name);
        }
    closedir(d);
    if (n == 0) {
        printf("skipped: no .jsonl file in %s\n", dirpath);
        return 77;
    }
    /* a fixed order (readdir's is not) */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/allot-test-shared-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(tmpdir) != NULL);
    for (size_t i = 0; i < n; i++) {
        run_file(dirpath, names[i]);
        free(names[i]);
    }
    CHECK(rmdir(tmpdir) == 0);
    return CHECK_DONE("curves-shared");
}
