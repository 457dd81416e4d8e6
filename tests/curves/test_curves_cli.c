/*
 * test_curves_cli.c - `allot curves` as a user runs it (argv[1] = path of the allot binary):
 * --help, usage errors, exit codes, --json, and that a failed run leaves no output file behind.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/check_stop.h"

static char dir[256];
static const char *allot;

static void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    fputs(text, fp);
    CHECK(fclose(fp) == 0);
}

static char *slurp(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    CHECK(buf != NULL);
    CHECK(fread(buf, 1, (size_t)n, fp) == (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* Run "allot curves ARGS" with stdout/stderr captured in dir; returns the exit code. */
static int run(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' curves %s >'%s/stdout' 2>'%s/stderr'", allot, args, dir, dir);
    int st = system(cmd);
    CHECK(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static char *out_text(const char *which) {
    char p[300];
    snprintf(p, sizeof p, "%s/%s", dir, which);
    char *s = slurp(p);
    CHECK(s != NULL);
    return s;
}

static int dir_entries(void) {
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_curves_cli PATH-TO-ALLOT\n");
        return 2;
    }
    allot = argv[1];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/allot-test-cli-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    char runs[300], bad[300], args[1024];
    snprintf(runs, sizeof runs, "%s/runs.jsonl", dir);
    snprintf(bad, sizeof bad, "%s/bad.jsonl", dir);
    write_file(
        runs,
        "{\"id\":\"a\",\"samples\":[{\"correct\":true,\"answer\":\"1\"},{\"correct\":false,\"answer\":\"2\"},"
        "{\"correct\":true,\"answer\":\"1\"}]}\n"
        "{\"id\":\"b\",\"samples\":[{\"correct\":false,\"answer\":\"3\"},{\"correct\":false,\"answer\":null},"
        "{\"correct\":true,\"answer\":\"4\"}]}\n");
    write_file(
        bad,
        "{\"id\":\"a\",\"samples\":[{\"correct\":true}]}\n{\"id\":\"b\",\"samples\":[{\"correct\":true}]}\n"
        "{\"id\":\"c\",\"samples\":[{\"answer\":\"x\"}]}\n");

    CHECK(run("--help") == 0);
    char *s = out_text("stdout");
    CHECK(strstr(s, "Usage: allot curves") && strstr(s, "Exit codes") && strstr(s, "--tiers"));
    free(s);

    CHECK(run("--bogus x") == 1);
    CHECK(run("") == 1);
    snprintf(args, sizeof args, "--tiers 'foo@3' '%s'", runs);
    CHECK(run(args) == 1);
    snprintf(args, sizeof args, "--tiers pass@1 --tiers-file x '%s'", runs);
    CHECK(run(args) == 1);
    snprintf(args, sizeof args, "--permutations 1 --tiers pass@1 '%s'", runs);
    CHECK(run(args) == 1);

    /* a bad line: exit 2, the message names file, line and field, no output file, no temporary */
    int before = dir_entries();
    snprintf(args, sizeof args, "--quiet --tiers pass@1 --out '%s/out.jsonl' '%s'", dir, bad);
    CHECK(run(args) == 2);
    s = out_text("stderr");
    char want[400];
    snprintf(want, sizeof want, "%s:3: samples[0].correct: missing", bad);
    CHECKF(strstr(s, want) != NULL, "stderr: %s", s);
    free(s);
    snprintf(want, sizeof want, "%s/out.jsonl", dir);
    CHECK(access(want, F_OK) != 0);
    CHECK(dir_entries() == before);
    /* k too large: exit 2 as well, unless --cap-k */
    snprintf(args, sizeof args, "--quiet --tiers majority@4 --out '%s/out.jsonl' '%s'", dir, runs);
    CHECK(run(args) == 2);
    CHECK(access(want, F_OK) != 0);
    snprintf(args, sizeof args, "--quiet --cap-k --tiers majority@4 '%s'", runs);
    CHECK(run(args) == 0);
    /* a missing input: exit 3 */
    snprintf(args, sizeof args, "--quiet --tiers pass@1 '%s/none.jsonl'", dir);
    CHECK(run(args) == 3);

    /* the table and --json */
    snprintf(args, sizeof args, "--quiet --tiers pass@1,3,majority@1,2,3 --out '%s/out.jsonl' '%s'", dir,
             runs);
    CHECK(run(args) == 0);
    s = out_text("stdout");
    CHECK(strstr(s, "majority@2") && strstr(s, "mean acc"));
    free(s);
    CHECK(access(want, F_OK) == 0);
    char *first = slurp(want);
    snprintf(args, sizeof args, "--quiet --json --tiers pass@1,3,majority@1,2,3 --out '%s/out.jsonl' '%s'",
             dir, runs);
    CHECK(run(args) == 0);
    char *second = slurp(want);
    CHECK(first && second && strcmp(first, second) == 0); /* deterministic */
    free(second);
    s = out_text("stdout");
    cJSON *doc = cJSON_Parse(s);
    free(s);
    CHECK(doc != NULL);
    CHECK(cJSON_GetObjectItem(doc, "n_queries")->valuedouble == 2);
    cJSON *tiers = cJSON_GetObjectItem(doc, "tiers");
    CHECK(cJSON_GetArraySize(tiers) == 5);
    cJSON *t0 = cJSON_GetArrayItem(tiers, 0), *t1 = cJSON_GetArrayItem(tiers, 1),
          *t4 = cJSON_GetArrayItem(tiers, 4);
    CHECK(strcmp(cJSON_GetObjectItem(t0, "name")->valuestring, "pass@1") == 0);
    /* pass@1: (2/3 + 1/3)/2; pass@3: 1; majority@3: (1 + 0.5)/2 (query b: "3" and "4" tie) */
    CHECK(cJSON_GetObjectItem(t0, "mean_acc")->valuedouble > 0.4999 &&
          cJSON_GetObjectItem(t0, "mean_acc")->valuedouble < 0.5001);
    CHECK(cJSON_GetObjectItem(t1, "mean_acc")->valuedouble == 1.0);
    CHECK(cJSON_GetObjectItem(t4, "mean_acc")->valuedouble == 0.75);
    CHECK(cJSON_GetObjectItem(t4, "mean_cost")->valuedouble == 3.0);
    CHECK(cJSON_GetObjectItem(t4, "mean_se")->valuedouble == 0.0);
    cJSON_Delete(doc);
    /* --nthread 1 and 2 write the same file; other counts are a usage error naming the range */
    for (int t = 1; t <= 2; t++) {
        snprintf(args, sizeof args,
                 "--quiet --nthread %d --tiers pass@1,3,majority@1,2,3 --out '%s/out.jsonl' '%s'", t, dir,
                 runs);
        CHECK(run(args) == 0);
        char *again = slurp(want);
        CHECK(again && strcmp(first, again) == 0);
        free(again);
    }
    snprintf(args, sizeof args, "--quiet --nthread 3 --tiers pass@1 '%s'", runs);
    CHECK(run(args) == 1);
    s = out_text("stderr");
    CHECKF(strstr(s, "--nthread: not an integer in 1..2: '3'") != NULL, "stderr: %s", s);
    free(s);
    free(first);

    /* clean up: only our files are there */
    unlink(runs);
    unlink(bad);
    unlink(want);
    snprintf(want, sizeof want, "%s/stdout", dir);
    unlink(want);
    snprintf(want, sizeof want, "%s/stderr", dir);
    unlink(want);
    CHECK(rmdir(dir) == 0);
    return CHECK_DONE("curves-cli");
}
