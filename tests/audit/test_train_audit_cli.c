/*
 * test_train_audit_cli.c - the `allot train` / `allot audit` command lines as the README's demo runs
 * them, their --json output and their exit codes (1 usage, 2 bad input, 3 I/O).
 * argv[1] = the allot binary.
 */
#define CHECK_AREA "audit"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "../common/check_continue.h"
#include "learn_test_util.h"

static const char *allot_bin;

/* Run "allot ARGS" with stdout to out_path (or /dev/null); returns the exit code. */
static int run(const char *args, const char *out_path) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2>/dev/null", allot_bin, args,
             out_path ? out_path : "/dev/null");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_train_audit_cli ALLOT\n");
        return 2;
    }
    allot_bin = argv[1];
    char *dir = tu_tmpdir();
    char cpath[1024], other[1024], px[1024], pl[1024], out[1024], js[1024], args[16000];
    snprintf(cpath, sizeof cpath, "%s/curves.jsonl", dir);
    snprintf(other, sizeof other, "%s/other.jsonl", dir);
    snprintf(px, sizeof px, "%s/policy-xgboost.json", dir);
    snprintf(pl, sizeof pl, "%s/policy-liblinear.json", dir);
    snprintf(out, sizeof out, "%s/audit/sub", dir);
    snprintf(js, sizeof js, "%s/out.json", dir);
    allot_curves_free(tu_roundtrip(tu_make_curves(400, 1, 31), cpath));
    allot_curves_free(tu_roundtrip(tu_make_curves(400, 1, 32), other));

    /* the demo's commands */
    snprintf(args, sizeof args, "train '%s' --budget 4 --learner xgboost --out '%s' --quiet", cpath, px);
    CHECK(run(args, NULL) == 0);
    snprintf(args, sizeof args,
             "train '%s' --budget 4 --learner liblinear --out '%s' --quiet --C-min 0.5 --C-max 2 --json",
             cpath, pl);
    CHECK(run(args, js) == 0);
    char *t = tu_slurp(js, NULL);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    CHECK(j != NULL);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "runtime_parity")));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "learner")), "liblinear"));
    cJSON_Delete(j);
    free(t);
    snprintf(args, sizeof args,
             "audit '%s' --policy '%s' --policy '%s' --budget 4 --out '%s' --quiet --sweep 1,2,8 --json",
             cpath, px, pl, out);
    CHECK(run(args, js) == 0);
    t = tu_slurp(js, NULL);
    j = t ? cJSON_Parse(t) : NULL;
    CHECK(j != NULL);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "policies")) == 2);
    /* the sweep holds the given budgets plus B */
    CHECK(cJSON_GetArraySize(
              cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "policies"), 0), "sweep")) == 4);
    cJSON_Delete(j);
    free(t);
    struct stat sb;
    char path[1200];
    snprintf(path, sizeof path, "%s/report.md", out);
    CHECK(stat(path, &sb) == 0);

    /* help and exit codes */
    CHECK(run("train --help", NULL) == 0);
    CHECK(run("audit --help", NULL) == 0);
    snprintf(args, sizeof args, "train '%s' --out '%s'", cpath, px); /* no --budget */
    CHECK(run(args, NULL) == 1);
    snprintf(args, sizeof args, "train '%s' --budget 4 --learner forest --out '%s'", cpath, px);
    CHECK(run(args, NULL) == 1);
    snprintf(args, sizeof args, "train '%s' --budget -1 --out '%s'", cpath, px);
    CHECK(run(args, NULL) == 1);
    snprintf(args, sizeof args, "train '%s/missing.jsonl' --budget 4 --out '%s'", dir, px);
    CHECK(run(args, NULL) == 3);
    snprintf(args, sizeof args, "audit '%s' --budget 4 --out '%s'", cpath, out); /* no --policy */
    CHECK(run(args, NULL) == 1);
    /* another curves file with the same tiers: evaluated on all of its queries (a foreign file) */
    snprintf(args, sizeof args, "audit '%s' --policy '%s' --budget 4 --out '%s' --quiet --json", other, px,
             out);
    CHECK(run(args, js) == 0);
    t = tu_slurp(js, NULL);
    CHECK(t && strstr(t, "\"mode\":\t\"foreign file\""));
    free(t);
    /* ... but not one with another tier set */
    {
        char *o = tu_slurp(other, NULL), other2[1100];
        char *at = o ? strstr(o, "\"k@16\"") : NULL;
        if (at) at[4] = '7'; /* the header's tier k@16 becomes k@17 */
        snprintf(other2, sizeof other2, "%s/other-tiers.jsonl", dir);
        FILE *fp = fopen(other2, "w");
        if (fp && o) fputs(o, fp);
        if (fp) fclose(fp);
        free(o);
        snprintf(args, sizeof args, "audit '%s' --policy '%s' --budget 4 --out '%s' --quiet", other2, px,
                 out);
        CHECK(run(args, NULL) == 2);
    }
    snprintf(args, sizeof args, "audit '%s' --policy '%s/none.json' --budget 4 --out '%s' --quiet", cpath,
             dir, out);
    CHECK(run(args, NULL) == 3);

    /* value policies: train, predict (per-tier predicted accuracies), audit */
    {
        char pv[4096], q[4096], po[4096];
        snprintf(pv, sizeof pv, "%s/policy-value.json", dir);
        snprintf(q, sizeof q, "%s/queries.jsonl", dir);
        snprintf(po, sizeof po, "%s/pred.jsonl", dir);
        snprintf(args, sizeof args, "train '%s' --budget 4 --target value --out '%s' --quiet", cpath, pv);
        CHECK(run(args, NULL) == 0);
        FILE *fp = fopen(q, "w");
        fputs("{\"id\":\"a\",\"prompt\":\"Compute 12 + step ?\",\"features\":{\"hint\":0.5}}\n"
              "{\"id\":\"b\",\"prompt\":\"Compute 12 + step step 12 + step step 12 + ?\"}\n",
              fp);
        fclose(fp);
        snprintf(args, sizeof args, "predict --model '%s' --json '%s'", pv, q);
        CHECK(run(args, po) == 0);
        char *pt = tu_slurp(po, NULL);
        CHECK(pt && strstr(pt, "\"rule\":\"value\"") && strstr(pt, "\"accuracies\":{\"k@1\":") &&
              strstr(pt, "\"expected_cost\":null"));
        free(pt);
        snprintf(args, sizeof args, "predict --model '%s' --mu 0 --json '%s'", pv, q);
        CHECK(run(args, po) == 0);
        pt = tu_slurp(po, NULL);
        CHECK(pt && strstr(pt, "\"rule\":\"value\",\"mu\":0,"));
        free(pt);
        snprintf(args, sizeof args, "audit '%s' --policy '%s' --policy '%s' --budget 4 --out '%s' --quiet",
                 cpath, px, pv, out);
        CHECK(run(args, NULL) == 0);
        snprintf(args, sizeof args, "train '%s' --budget 4 --target values --out '%s'", cpath, pv);
        CHECK(run(args, NULL) == 1);
        snprintf(args, sizeof args, "train '%s' --budget 4 --target value --gap-weights --out '%s'", cpath,
                 pv);
        CHECK(run(args, NULL) == 1);
    }

    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
    return CHECK_DONE();
}
