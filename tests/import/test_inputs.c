/*
 * test_inputs.c - the plumbing allot import added to the trainer: gzip-or-plain input
 * (common/input_stream.h) and its use by the runs and curves readers, the atomic writer's "-"
 * (stdout, nothing on abort) and the cost formatter.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "atomic_file.h"
#include "cost_format.h"
#include "curves.h"
#include "input_stream.h"
#include "runs_reader.h"

#define CHECK_AREA "import.inputs"
#include "../common/check_continue.h"

/* gzip-compress text (one member) into a new buffer. */
static unsigned char *gzip_bytes(const char *text, size_t *len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&zs, strlen(text)) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (unsigned char *)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *len = cap - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* Read all of a stream of bytes through allot_input; returns the text (or NULL) and the problem. */
static char *read_through(const void *data, size_t len, char *problem, size_t psize) {
    FILE *src = fmemopen((void *)data, len, "r");
    allot_input *in = NULL;
    problem[0] = '\0';
    if (!src || allot_input_wrap(src, &in, NULL) != ALLOT_OK) {
        if (src) fclose(src);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap + 1);
    size_t got;
    while ((got = fread(out + n, 1, cap - n, allot_input_fp(in))) > 0) n += got;
    out[n] = '\0';
    if (ferror(allot_input_fp(in))) {
        snprintf(problem, psize, "%s", allot_input_problem(in) ? allot_input_problem(in) : "?");
        free(out);
        out = NULL;
    }
    allot_input_close(in);
    fclose(src);
    return out;
}

static void check_input_stream(void) {
    static const char text[] = "{\"id\":\"q1\"}\n{\"id\":\"q2\"}\nlast line without a newline";
    char problem[200];
    char *plain = read_through(text, strlen(text), problem, sizeof problem);
    CHECK(plain && strcmp(plain, text) == 0);
    free(plain);
    char *one = read_through("x", 1, problem, sizeof problem); /* shorter than the gzip magic */
    CHECK(one && strcmp(one, "x") == 0);
    free(one);
    char *none = read_through("", 0, problem, sizeof problem);
    CHECK(none && none[0] == '\0');
    free(none);

    size_t n;
    unsigned char *gz = gzip_bytes(text, &n);
    REQUIRE_OK(gz ? ALLOT_OK : ALLOT_E_INTERNAL);
    char *back = read_through(gz, n, problem, sizeof problem);
    CHECK(back && strcmp(back, text) == 0);
    free(back);

    /* two members, as `cat a.gz b.gz` writes them, read as one stream */
    unsigned char *two = malloc(2 * n);
    memcpy(two, gz, n);
    memcpy(two + n, gz, n);
    char *both = read_through(two, 2 * n, problem, sizeof problem);
    CHECK(both && strlen(both) == 2 * strlen(text) && strncmp(both + strlen(text), text, strlen(text)) == 0);
    free(both);
    free(two);

    /* truncated: an error naming the problem, not a short text */
    char *cut = read_through(gz, n - 9, problem, sizeof problem);
    CHECKF(!cut && strstr(problem, "gzip") && strstr(problem, "truncated"), "problem: %s", problem);
    free(cut);
    /* corrupt data after a valid header */
    unsigned char *bad = malloc(n);
    memcpy(bad, gz, n);
    for (size_t i = 12; i < n - 8; i++) bad[i] ^= 0x5a;
    char *garbled = read_through(bad, n, problem, sizeof problem);
    CHECKF(!garbled && strstr(problem, "gzip"), "problem: %s", problem);
    free(garbled);
    free(bad);
    free(gz);
}

static char *write_temp(const char *dir, const char *name, const void *data, size_t len) {
    size_t l = strlen(dir) + strlen(name) + 2;
    char *path = malloc(l);
    snprintf(path, l, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    return path;
}

/* The runs reader gives the same queries from a .gz file as from the plain one; a cut .gz fails. */
static void check_runs_reader(const char *dir) {
    static const char runs[] =
        "{\"id\":\"a\",\"samples\":[{\"correct\":true,\"answer\":\"1\"}]}\n"
        "\n"
        "{\"id\":\"b\",\"samples\":[{\"correct\":false,\"answer\":\"2\",\"cost\":3}]}\n";
    size_t n;
    unsigned char *gz = gzip_bytes(runs, &n);
    char *path = write_temp(dir, "runs.jsonl.gz", gz, n);
    allot_runs_reader *r = NULL;
    allot_error err = {0};
    REQUIRE_OK(allot_runs_reader_open(path, &r, &err));
    allot_query q;
    int has = 0;
    CHECK(allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has && strcmp(q.id, "a") == 0);
    CHECK(allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && has && strcmp(q.id, "b") == 0 &&
          q.line == 3 && q.samples[0].cost == 3);
    CHECK(allot_runs_reader_next(r, &q, &has, &err) == ALLOT_OK && !has);
    allot_runs_reader_close(r);
    free(path);

    path = write_temp(dir, "cut.jsonl.gz", gz, n - 6);
    REQUIRE_OK(allot_runs_reader_open(path, &r, &err));
    allot_status st = ALLOT_OK;
    while ((st = allot_runs_reader_next(r, &q, &has, &err)) == ALLOT_OK && has) {
    }
    CHECKF(st == ALLOT_E_IO && strstr(err.msg, "cut.jsonl.gz:") && strstr(err.msg, "gzip"), "%s", err.msg);
    allot_runs_reader_close(r);
    free(path);
    free(gz);
}

static void check_curves_reader(const char *dir) {
    static const char curves[] = "{\"format\":\"allot-curves\",\"version\":1,\"n_queries\":1,\"tiers\":[{"
                                 "\"name\":\"t1\"},{\"name\":\"t2\"}]}\n"
                                 "{\"id\":\"q\",\"acc\":[0.5,1],\"cost\":[1,2],\"se\":[0,0]}\n";
    size_t n;
    unsigned char *gz = gzip_bytes(curves, &n);
    char *path = write_temp(dir, "c.curves.jsonl.gz", gz, n);
    allot_curves *c = NULL;
    allot_error err = {0};
    CHECKF(allot_curves_read(path, &c, &err) == ALLOT_OK, "%s", err.msg);
    CHECK(c && c->n_queries == 1 && c->n_tiers == 2 && c->acc[1] == 1 && c->cost[1] == 2);
    allot_curves_free(c);
    free(path);
    path = write_temp(dir, "cut.curves.jsonl.gz", gz, n / 2);
    c = NULL;
    CHECKF(allot_curves_read(path, &c, &err) == ALLOT_E_IO && strstr(err.msg, "gzip"), "%s", err.msg);
    allot_curves_free(c);
    free(path);
    free(gz);
}

/* Run body with stdout redirected to a file; returns what reached stdout. */
static char *capture_stdout(const char *dir, void (*body)(void)) {
    size_t l = strlen(dir) + 16;
    char *path = malloc(l);
    snprintf(path, l, "%s/stdout.txt", dir);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    body();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    FILE *f = fopen(path, "rb");
    char *text = calloc(1, 4096);
    if (f) {
        size_t got = fread(text, 1, 4095, f);
        text[got] = '\0';
        fclose(f);
    }
    remove(path);
    free(path);
    return text;
}

static void write_then_abort(void) {
    allot_atomic_file af;
    if (allot_atomic_open(&af, "-", NULL) != ALLOT_OK) return;
    fputs("partial output\n", af.fp);
    allot_atomic_abort(&af);
}

static void write_then_commit(void) {
    allot_atomic_file af;
    if (allot_atomic_open(&af, "-", NULL) != ALLOT_OK) return;
    for (int i = 0; i < 5000; i++) fprintf(af.fp, "line %d\n", i);
    allot_atomic_commit(&af, NULL);
}

static void check_atomic_stdout(const char *dir) {
    char *aborted = capture_stdout(dir, write_then_abort);
    CHECKF(aborted[0] == '\0', "an aborted write to '-' reached stdout: %s", aborted);
    free(aborted);
    char *committed = capture_stdout(dir, write_then_commit);
    CHECK(strncmp(committed, "line 0\nline 1\n", 14) == 0);
    free(committed);
}

/* A target that is not a regular file (here a FIFO; /dev/null in real life) is written, not replaced. */
static void check_atomic_fifo(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/fifo", dir);
    REQUIRE_OK(mkfifo(path, 0600) == 0 ? ALLOT_OK : ALLOT_E_IO);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) { /* the reader: exits 0 when it read exactly what was written */
        FILE *f = fopen(path, "r");
        char buf[64] = "";
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        buf[n] = '\0';
        _exit(strcmp(buf, "through the fifo\n") == 0 ? 0 : 1);
    }
    allot_atomic_file af;
    allot_error err = {0};
    CHECKF(allot_atomic_open(&af, path, &err) == ALLOT_OK, "%s", err.msg);
    fputs("through the fifo\n", af.fp);
    CHECKF(allot_atomic_commit(&af, &err) == ALLOT_OK, "%s", err.msg);
    struct stat st;
    int still_fifo = stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
    CHECK(still_fifo);
    if (!still_fifo) kill(child, SIGKILL); /* it would wait on the replaced FIFO forever */
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    remove(path);
}

static void check_cost_format(void) {
    char b[ALLOT_COST_STR_SIZE];
    CHECK(strcmp(allot_format_cost(0, b), "0") == 0);
    CHECK(strcmp(allot_format_cost(2.5e-6, b), "2.5e-06") == 0);
    CHECK(strcmp(allot_format_cost(0.000123456, b), "0.0001235") == 0);
    CHECK(strcmp(allot_format_cost(0.01234, b), "0.01234") == 0);
    CHECK(strcmp(allot_format_cost(0.5, b), "0.5000") == 0);
    CHECK(strcmp(allot_format_cost(61.25, b), "61.2500") == 0);
    CHECK(strcmp(allot_format_cost(123456789.0, b), "123456789.0000") == 0);
    CHECK(strcmp(allot_format_cost(2.5e12, b), "2.5e+12") == 0);
    CHECK(strcmp(allot_format_cost(NAN, b), "nan") == 0);
    CHECK(strcmp(allot_format_cost(-0.00002, b), "-2e-05") == 0);
}

int main(void) {
    char dir[] = "/tmp/allot-import-inputs-XXXXXX";
    REQUIRE_OK(mkdtemp(dir) ? ALLOT_OK : ALLOT_E_IO);
    check_input_stream();
    check_runs_reader(dir);
    check_curves_reader(dir);
    check_atomic_stdout(dir);
    check_atomic_fifo(dir);
    check_cost_format();
    static const char *const left[] = {"runs.jsonl.gz", "cut.jsonl.gz", "c.curves.jsonl.gz",
                                       "cut.curves.jsonl.gz"};
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", dir, left[i]);
        remove(p);
    }
    rmdir(dir);
    return CHECK_DONE();
}
