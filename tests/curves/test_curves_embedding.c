/*
 * test_curves_embedding.c - a vector feature (an embedding) from labelled runs to a curves file and
 * back: the runs reader takes an array of finite numbers under `features`, the curves table holds it
 * as its one embedding (NaN rows for queries without it), the curves file writes and reads it exactly;
 * every kind of bad input is an error naming file, line and field, and nothing is written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curves.h"
#include "runs_reader.h"

static int passed, failed;
#define CHECK(c, ...)                                                                                        \
    do {                                                                                                     \
        if (c)                                                                                               \
            passed++;                                                                                        \
        else {                                                                                               \
            failed++;                                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #c);                            \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
        }                                                                                                    \
    } while (0)

static char dir[] = "/tmp/allot-curves-emb-XXXXXX";

static void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

static const char *LINE_SAMPLES =
    "\"samples\":[{\"correct\":true,\"answer\":\"1\"},{\"correct\":false,\"answer\":\"2\"}]";

static allot_status compute(const char *runs_text, allot_curves **c, allot_error *err) {
    char path[256];
    snprintf(path, sizeof path, "%s/runs.jsonl", dir);
    write_file(path, runs_text);
    allot_tier_set ts;
    allot_tier_set_parse("majority@1,2", &ts, NULL);
    allot_curves_options o;
    allot_curves_options_default(&o);
    allot_status st = allot_curves_compute(path, &ts, &o, c, err);
    allot_tier_set_free(&ts);
    return st;
}

static void check_good(void) {
    char text[4096];
    snprintf(text, sizeof text,
             "{\"id\":\"a\",\"prompt\":\"p\",\"features\":{\"len\":3,\"emb\":[0.5,-1.25,1e-300]},%s}\n"
             "{\"id\":\"b\",\"features\":{\"len\":4},%s}\n"
             "{\"id\":\"c\",\"features\":{\"emb\":[1,2,3]},%s}\n",
             LINE_SAMPLES, LINE_SAMPLES, LINE_SAMPLES);
    allot_curves *c = NULL;
    allot_error err = {0};
    allot_status st = compute(text, &c, &err);
    CHECK(st == ALLOT_OK, "%s", err.msg);
    if (!c) return;
    CHECK(c->embed_name && !strcmp(c->embed_name, "emb") && c->embed_dim == 3, "embedding %s",
          c->embed_name ? c->embed_name : "-");
    CHECK(c->n_features == 1 && !strcmp(c->feature_names[0], "len"), "the scalar features only");
    CHECK(c->embed[0] == 0.5 && c->embed[1] == -1.25 && c->embed[2] == 1e-300, "row 0");
    CHECK(isnan(c->embed[3]) && isnan(c->embed[5]), "row 1 has none");
    CHECK(c->embed[6] == 1 && c->embed[8] == 3, "row 2");
    char path[256];
    snprintf(path, sizeof path, "%s/curves.jsonl", dir);
    CHECK(allot_curves_write(c, path, &err) == ALLOT_OK, "%s", err.msg);
    allot_curves *r = NULL;
    CHECK(allot_curves_read(path, &r, &err) == ALLOT_OK, "%s", err.msg);
    if (r) {
        CHECK(r->embed_name && !strcmp(r->embed_name, "emb") && r->embed_dim == 3, "read back");
        int same = 1;
        for (size_t i = 0; i < 9; i++)
            same &= (isnan(c->embed[i]) && isnan(r->embed[i])) || c->embed[i] == r->embed[i];
        CHECK(same, "values read back exactly");
        allot_curves_free(r);
    }
    allot_curves_free(c);
}

/* Bad runs: the error names the line and field. */
static void check_bad_runs(void) {
    static const struct {
        const char *line2, *want;
    } BAD[] = {
        {"\"features\":{\"emb\":[1,2]}", ":2: features.emb: 2 values, earlier lines have 3"},
        {"\"features\":{\"emb\":[1,null,3]}", ":2: features.emb[1]"},
        {"\"features\":{\"emb\":[]}", ":2: features.emb: an empty array"},
        {"\"features\":{\"vec\":[1,2,3]}", ":2: features.vec: a second vector feature"},
        {"\"features\":{\"emb\":4}", ":2: features.emb: a number here, a vector before"},
        {"\"features\":{\"emb\":[1,\"x\",3]}", ":2: features.emb[1]"},
    };
    for (size_t k = 0; k < sizeof BAD / sizeof *BAD; k++) {
        char text[4096];
        snprintf(text, sizeof text,
                 "{\"id\":\"a\",\"features\":{\"emb\":[1,2,3]},%s}\n{\"id\":\"b\",%s,%s}\n", LINE_SAMPLES,
                 BAD[k].line2, LINE_SAMPLES);
        allot_curves *c = NULL;
        allot_error err = {0};
        allot_status st = compute(text, &c, &err);
        CHECK(st == ALLOT_E_INVALID && strstr(err.msg, BAD[k].want), "case %zu: %d %s", k, (int)st, err.msg);
        allot_curves_free(c);
    }
}

/* Bad curves files: a line's embedding disagrees with the header. */
static void check_bad_curves(void) {
    static const char *const LINES[] = {
        "{\"id\":\"a\",\"features\":{\"emb\":[1,2]},\"acc\":[0.5],\"cost\":[1],\"se\":[0]}",
        "{\"id\":\"a\",\"features\":{\"emb\":[1,null,3]},\"acc\":[0.5],\"cost\":[1],\"se\":[0]}",
        "{\"id\":\"a\",\"features\":{\"emb\":7},\"acc\":[0.5],\"cost\":[1],\"se\":[0]}",
    };
    static const char *const WANT[] = {"features.emb: 2 values, the header's embedding has 3",
                                       "features.emb[1]", "features.emb: expected an array"};
    for (size_t k = 0; k < 3; k++) {
        char path[256], text[2048];
        snprintf(path, sizeof path, "%s/bad-curves.jsonl", dir);
        snprintf(text, sizeof text,
                 "{\"format\":\"allot-curves\",\"version\":1,\"features\":[],\"embedding\":{\"name\":\"emb\","
                 "\"dim\":3},"
                 "\"tiers\":[{\"name\":\"t\"}]}\n%s\n",
                 LINES[k]);
        write_file(path, text);
        allot_curves *c = NULL;
        allot_error err = {0};
        allot_status st = allot_curves_read(path, &c, &err);
        CHECK(st == ALLOT_E_INVALID && strstr(err.msg, ":2: ") && strstr(err.msg, WANT[k]), "case %zu: %s", k,
              err.msg);
        allot_curves_free(c);
    }
}

int main(void) {
    if (!mkdtemp(dir)) return 2;
    check_good();
    check_bad_runs();
    check_bad_curves();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    printf("curves: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
