/*
 * test_runs.c - the labelled-runs reader: valid input, every error case (file:line: field), and a
 * file with many lines read through the streaming interface.
 */
#define _GNU_SOURCE /* fopencookie */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/check_stop.h"
#include "json_line.h"
#include "rng.h"
#include "runs_reader.h"

static char dir[256];

static void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    fputs(text, fp);
    CHECK(fclose(fp) == 0);
}

static void test_valid(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/ok.jsonl", dir);
    write_file(path,
               "{\"id\":\"a\",\"prompt\":\"p\",\"gold\":\"4\",\"meta\":{\"level\":3, "
               "\"s\":\"x\"},\"features\":{\"len\":12,\"z\":-1.5},"
               "\"samples\":[{\"correct\":true,\"answer\":\"4\",\"score\":0.5,\"cost\":2},"
               "{\"correct\":false,\"answer\":\"5\",\"step_scores\":[0.1,0.2]},"
               "{\"correct\":true,\"answer\":\"4\",\"model\":\"m/x-1\"},{\"correct\":false,\"answer\":null},"
               "{\"correct\":false}]}\n"
               "\n   \r\n"
               "{\"id\":\"b\",\"tiers\":{\"t1\":{\"acc\":0.25,\"cost\":3},\"t2\":{\"acc\":1,\"cost\":0}}}\n"
               "{\"id\":\"c\",\"tiers\":{\"t2\":{\"acc\":0,\"cost\":1},\"t1\":{\"acc\":0.5,\"cost\":2}},"
               "\"extra\":1}");
    allot_runs_reader *r = NULL;
    allot_error err = {0};
    CHECK(allot_runs_reader_open(path, &r, &err) == ALLOT_OK);
    allot_query q;
    int has = 0;
    CHECK(allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has);
    CHECK(q.line == 1 && strcmp(q.id, "a") == 0 && strcmp(q.prompt, "p") == 0 && strcmp(q.gold, "4") == 0);
    CHECK(strcmp(q.meta_json, "{\"level\":3,\"s\":\"x\"}") == 0);
    CHECK(q.n_features == 2 && strcmp(q.features[1].name, "z") == 0 && q.features[1].value == -1.5);
    CHECK(q.n_samples == 5 && q.n_tiers == 0 && q.n_answers == 2);
    CHECK(q.samples[0].answer == 0 && q.samples[1].answer == 1 && q.samples[2].answer == 0);
    CHECK(q.samples[3].answer == -1 && q.samples[3].answer_present == 1);
    CHECK(q.samples[4].answer == -1 && q.samples[4].answer_present == 0);
    CHECK(strcmp(q.answers[0], "4") == 0 && strcmp(q.answers[1], "5") == 0);
    CHECK(q.samples[0].cost == 2 && q.samples[1].cost == 1 && q.samples[0].score == 0.5 &&
          isnan(q.samples[1].score));
    CHECK(q.samples[1].n_steps == 2 && q.step_scores[q.samples[1].step_offset + 1] == 0.2);
    CHECK(q.samples[0].model == q.samples[1].model && q.samples[2].model != q.samples[0].model);
    CHECK(allot_runs_reader_n_models(r) == 2);
    CHECK(strcmp(allot_runs_reader_model_name(r, q.samples[0].model), "") == 0);
    CHECK(strcmp(allot_runs_reader_model_name(r, q.samples[2].model), "m/x-1") == 0);
    CHECK(q.samples[0].correct == 1 && q.samples[1].correct == 0);
    CHECK(allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has);
    CHECK(q.line == 4 && q.n_tiers == 2 && q.n_samples == 0 && strcmp(q.tiers[0].name, "t1") == 0);
    CHECK(q.tiers[0].acc == 0.25 && q.tiers[1].cost == 0 && q.prompt == NULL && q.meta_json == NULL);
    CHECK(allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has);
    /* tiers come back in the first line's order whatever the JSON order */
    CHECK(q.line == 5 && strcmp(q.tiers[0].name, "t1") == 0 && q.tiers[0].acc == 0.5 && q.tiers[1].acc == 0);
    CHECK(allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && !has);
    allot_runs_reader_close(r);
}

typedef struct bad_case {
    const char *text;   /* file content */
    size_t line;        /* expected line of the error */
    const char *needle; /* expected field / phrase in the message */
} bad_case;

static const char *const G = "{\"id\":\"g\",\"samples\":[{\"correct\":true}]}\n"; /* a good line */

static void test_errors(void) {
    static const bad_case cases[] = {
        {"{\"id\":\"a\",\"samples\":[{\"correct\":true}]\n", 1, "invalid JSON"},
        {"{\"id\":\"a\",\"samples\":[{\"correct\":true}]} x\n", 1, "trailing"},
        {"[1,2]\n", 1, "expected a JSON object"},
        {"{\"samples\":[{\"correct\":true}]}\n", 1, "id: missing"},
        {"{\"id\":7,\"samples\":[{\"correct\":true}]}\n", 1, "id: expected a string"},
        {"{\"id\":\"\",\"samples\":[{\"correct\":true}]}\n", 1, "id: empty"},
        {"G{\"id\":\"g\",\"samples\":[{\"correct\":false}]}\n", 2, "id: duplicate"},
        {"G{\"id\":\"h\",\"samples\":[{\"correct\":true},{\"answer\":\"1\"}]}\n", 2,
         "samples[1].correct: missing"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":1}]}\n", 1, "samples[0].correct: expected true or false"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true,\"cost\":-1}]}\n", 1, "samples[0].cost: negative"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true,\"cost\":\"1\"}]}\n", 1,
         "samples[0].cost: expected a number"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true,\"cost\":1e999}]}\n", 1,
         "samples[0].cost: not a finite number"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true,\"cost\":NaN}]}\n", 1, "invalid JSON"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true,\"score\":null}]}\n", 1,
         "samples[0].score: expected a number"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true,\"step_scores\":[1,\"x\"]}]}\n", 1,
         "samples[0].step_scores[1]: expected a number"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true,\"step_scores\":3}]}\n", 1,
         "samples[0].step_scores: expected an array"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true,\"answer\":4}]}\n", 1,
         "samples[0].answer: expected a string or null"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true,\"model\":null}]}\n", 1,
         "samples[0].model: expected a string"},
        {"{\"id\":\"h\",\"samples\":[3]}\n", 1, "samples[0]: expected an object"},
        {"{\"id\":\"h\",\"samples\":[]}\n", 1, "samples: empty"},
        {"{\"id\":\"h\",\"samples\":{}}\n", 1, "samples: expected an array"},
        {"{\"id\":\"h\"}\n", 1, "samples: missing"},
        {"{\"id\":\"h\",\"samples\":[{\"correct\":true}],\"tiers\":{\"t\":{\"acc\":1,\"cost\":1}}}\n", 1,
         "not both"},
        {"{\"id\":\"h\",\"tiers\":{\"t\":{\"acc\":1.5,\"cost\":1}}}\n", 1, "tiers.t.acc: outside [0,1]"},
        {"{\"id\":\"h\",\"tiers\":{\"t\":{\"acc\":-0.1,\"cost\":1}}}\n", 1, "tiers.t.acc: outside [0,1]"},
        {"{\"id\":\"h\",\"tiers\":{\"t\":{\"acc\":1,\"cost\":-2}}}\n", 1, "tiers.t.cost: negative"},
        {"{\"id\":\"h\",\"tiers\":{\"t\":{\"cost\":1}}}\n", 1, "tiers.t.acc: missing"},
        {"{\"id\":\"h\",\"tiers\":{\"t\":{\"acc\":1}}}\n", 1, "tiers.t.cost: missing"},
        {"{\"id\":\"h\",\"tiers\":{\"t\":{\"acc\":true,\"cost\":1}}}\n", 1, "tiers.t.acc: expected a number"},
        {"{\"id\":\"h\",\"tiers\":{}}\n", 1, "tiers: empty"},
        {"{\"id\":\"h\",\"tiers\":{\"t\":{\"acc\":1,\"cost\":1},\"t\":{\"acc\":1,\"cost\":1}}}\n", 1,
         "tiers.t: duplicate"},
        {"{\"id\":\"h\",\"tiers\":{\"t\":{\"acc\":1,\"cost\":1},\"u\":{\"acc\":1,\"cost\":1}}}\n"
         "{\"id\":\"i\",\"tiers\":{\"t\":{\"acc\":1,\"cost\":1}}}\n",
         2, "tiers.u: missing"},
        {"{\"id\":\"h\",\"tiers\":{\"t\":{\"acc\":1,\"cost\":1}}}\n"
         "{\"id\":\"i\",\"tiers\":{\"t\":{\"acc\":1,\"cost\":1},\"v\":{\"acc\":1,\"cost\":1}}}\n",
         2, "tiers.v: not a tier of the first tiers line"},
        {"{\"id\":\"h\",\"meta\":[1],\"samples\":[{\"correct\":true}]}\n", 1, "meta: expected an object"},
        {"{\"id\":\"h\",\"features\":{\"a\":\"x\"},\"samples\":[{\"correct\":true}]}\n", 1,
         "features.a: expected a number"},
        {"{\"id\":\"h\",\"features\":{\"a\":1,\"a\":2},\"samples\":[{\"correct\":true}]}\n", 1,
         "features.a: duplicate"},
        {"{\"id\":\"h\",\"prompt\":5,\"samples\":[{\"correct\":true}]}\n", 1, "prompt: expected a string"},
        {"{\"id\":\"h\",\"gold\":5,\"samples\":[{\"correct\":true}]}\n", 1, "gold: expected a string"},
    };
    char path[300];
    snprintf(path, sizeof path, "%s/runs.jsonl", dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* a leading 'G' stands for one good line */
        char text[1024];
        const char *t = cases[i].text;
        if (t[0] == 'G')
            snprintf(text, sizeof text, "%s%s", G, t + 1);
        else
            snprintf(text, sizeof text, "%s", t);
        write_file(path, text);
        allot_runs_reader *r = NULL;
        allot_error err = {0};
        CHECK(allot_runs_reader_open(path, &r, &err) == ALLOT_OK);
        allot_query q;
        int has = 0;
        allot_status st = ALLOT_OK;
        while ((st = allot_runs_reader_next(r, &q, &has, &err)) == ALLOT_OK && has) {
        }
        allot_runs_reader_close(r);
        char where[320];
        snprintf(where, sizeof where, "%s:%zu: ", path, cases[i].line);
        CHECKF(st == ALLOT_E_PARSE || st == ALLOT_E_INVALID, "case %zu: status %d", i, (int)st);
        CHECKF(strncmp(err.msg, where, strlen(where)) == 0, "case %zu: message '%s' does not start with '%s'",
               i, err.msg, where);
        CHECKF(strstr(err.msg, cases[i].needle) != NULL, "case %zu: message '%s' lacks '%s'", i, err.msg,
               cases[i].needle);
    }
    allot_runs_reader *r = NULL;
    allot_error err = {0};
    CHECK(allot_runs_reader_open("/nonexistent/x.jsonl", &r, &err) == ALLOT_E_IO && r == NULL);
    CHECK(strstr(err.msg, "/nonexistent/x.jsonl") != NULL);
}

/* Many lines with a long one in the middle; ids and line numbers come back in order. */
static void test_many_lines(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/many.jsonl", dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        fprintf(fp, "{\"id\":\"q%d\",\"samples\":[", i);
        int m = i == 777 ? 5000 : 3;
        for (int j = 0; j < m; j++)
            fprintf(fp, "%s{\"correct\":%s,\"answer\":\"%d\"}", j ? "," : "", (i + j) % 2 ? "true" : "false",
                    j % 7);
        fputs("]}\n", fp);
    }
    CHECK(fclose(fp) == 0);
    allot_runs_reader *r = NULL;
    allot_error err = {0};
    CHECK(allot_runs_reader_open(path, &r, &err) == ALLOT_OK);
    allot_query q;
    int has = 0, count = 0, ok = 1;
    while (allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has) {
        char want[32];
        snprintf(want, sizeof want, "q%d", count);
        if (strcmp(q.id, want) != 0 || q.line != (size_t)count + 1) ok = 0;
        if (count == 777 && (q.n_samples != 5000 || q.n_answers != 7)) ok = 0;
        count++;
    }
    allot_runs_reader_close(r);
    CHECK(ok && count == n);
    unlink(path);
}

/* open_stream: a caller-owned stream, named in the errors. */
static void test_stream(void) {
    static char text[] = "{\"id\":\"s1\",\"samples\":[{\"correct\":true}]}\n{\"id\":\"s2\"}\n";
    FILE *fp = fmemopen(text, strlen(text), "r");
    CHECK(fp != NULL);
    allot_runs_reader *r = NULL;
    allot_error err = {0};
    CHECK(allot_runs_reader_open_stream(fp, "<pipe>", &r, &err) == ALLOT_OK);
    CHECK(strcmp(allot_runs_reader_path(r), "<pipe>") == 0);
    allot_query q;
    int has = 0;
    CHECK(allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has && strcmp(q.id, "s1") == 0);
    CHECK(allot_runs_reader_next(r, &q, &has, &err) == ALLOT_E_INVALID && !has);
    CHECK(strncmp(err.msg, "<pipe>:2: samples: missing", 26) == 0);
    allot_runs_reader_close(r);
    CHECK(fclose(fp) == 0); /* still open: the reader did not close it */
}

/* A stream over a buffer that hands out at most `piece` bytes per read and fails (read error) once
 * `fail_at` bytes have been read, so chunked reading meets short reads and errors mid-line. */
typedef struct piece_stream {
    const char *data;
    size_t len, pos, piece, fail_at;
} piece_stream;

static ssize_t piece_read(void *cookie, char *buf, size_t size) {
    piece_stream *s = cookie;
    if (s->pos >= s->fail_at) return -1;
    size_t n = s->len - s->pos;
    if (n > size) n = size;
    if (n > s->piece) n = s->piece;
    if (n > s->fail_at - s->pos) n = s->fail_at - s->pos;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

static FILE *piece_open(piece_stream *s) {
    cookie_io_functions_t io = {piece_read, NULL, NULL, NULL};
    return fopencookie(s, "r", io);
}

/* allot_line_reader_next returns what allot_getline_max returns, call by call: random texts with
 * lines from 0 bytes to beyond the 64 KiB chunk, NUL bytes, CRs, no final newline, read in pieces
 * of 1 byte to 100 KiB, with a line limit and a read error somewhere or nowhere. */
static void test_line_reader(void) {
    enum { MAXT = 400000 };
    static char text[MAXT];
    allot_rng rng;
    allot_rng_seed(&rng, 5);
    long calls = 0, differ = 0, limited = 0, failed = 0;
    for (int iter = 0; iter < 120; iter++) {
        size_t len = 0;
        while (len < MAXT - 200000 && allot_rng_below(&rng, 12)) {
            size_t ll = allot_rng_below(&rng, 4) == 0 ? (size_t)allot_rng_below(&rng, 150000)
                                                      : (size_t)allot_rng_below(&rng, 300);
            for (size_t i = 0; i < ll; i++) {
                uint64_t x = allot_rng_below(&rng, 100);
                text[len++] = x == 0 ? '\0' : x == 1 ? '\r' : (char)('a' + x % 26);
            }
            if (iter % 5 || allot_rng_below(&rng, 8)) text[len++] = '\n';
        }
        size_t piece =
            iter % 3 == 0 ? 1 + (size_t)allot_rng_below(&rng, 16) : 1 + (size_t)allot_rng_below(&rng, 100000);
        size_t fail_at = iter % 4 == 1 && len ? (size_t)allot_rng_below(&rng, len) : (size_t)-1;
        size_t max_bytes = iter % 6 == 2 ? 1 + (size_t)allot_rng_below(&rng, 100000) : ALLOT_MAX_LINE_BYTES;
        piece_stream s1 = {text, len, 0, piece, fail_at}, s2 = s1;
        FILE *f1 = piece_open(&s1), *f2 = piece_open(&s2);
        CHECK(f1 && f2);
        allot_line_reader lr;
        CHECK(allot_line_reader_init(&lr, f2) == 0);
        char *b1 = NULL, *b2 = NULL;
        size_t c1 = 0, c2 = 0;
        for (;;) {
            ssize_t g1 = allot_getline_max(&b1, &c1, f1, max_bytes);
            ssize_t g2 = allot_line_reader_next(&lr, &b2, &c2, max_bytes);
            calls++;
            if (g1 != g2 || (g1 > 0 && memcmp(b1, b2, (size_t)g1 + 1) != 0)) {
                differ++;
                break;
            }
            limited += g1 == -2;
            failed += g1 == -1;
            if (g1 <= 0) break;
        }
        allot_line_reader_free(&lr);
        free(b1);
        free(b2);
        fclose(f1);
        fclose(f2);
    }
    CHECKF(differ == 0, "line reader: %ld of %ld calls differ from allot_getline_max", differ, calls);
    CHECKF(limited > 0 && failed > 0, "line reader: the limit (%ld) and read errors (%ld) were both met",
           limited, failed);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/allot-test-runs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    test_valid();
    test_errors();
    test_many_lines();
    test_stream();
    test_line_reader();
    char path[300];
    snprintf(path, sizeof path, "%s/ok.jsonl", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/runs.jsonl", dir);
    unlink(path);
    rmdir(dir);
    return CHECK_DONE("runs");
}
