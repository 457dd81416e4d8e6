/*
 * test_train_inputs_cli.c - `allot train` / `allot audit` / `allot predict` on the inputs users have:
 *   - the curves file's identity does not depend on how its path was typed (./runs.jsonl);
 *   - --test-fraction 0: no parity MISMATCH and no zero figures, what was not checked is said; the
 *     audit refuses that bundle on its own training file and evaluates it on another one;
 *   - categorical meta fields (one-hot; an unseen value is not an error) and an embedding (a dense
 *     block; a wrong dimension or a missing value is a clear error, nothing written);
 *   - the default policy selection prints its candidates and what it shipped.
 * argv[1] = the allot binary.
 */
#define CHECK_AREA "audit"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../common/check_continue.h"
#include "learn_test_util.h"

static const char *allot_bin;

/* Run "cd dir && allot ARGS" with stdout (and stderr) to out_path; returns the exit code. */
static int run_in(const char *dir, const char *args, const char *out_path) {
    char cmd[20000];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s > '%s' 2>&1", dir, allot_bin, args,
             out_path ? out_path : "/dev/null");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int contains(const char *path, const char *needle) {
    char *t = tu_slurp(path, NULL);
    int yes = t && strstr(t, needle);
    free(t);
    return yes;
}

static const char *work_dir;

/* Does work_dir/name exist? */
static int exists(const char *name) {
    char p[1300];
    snprintf(p, sizeof p, "%s/%s", work_dir, name);
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Labelled runs: a categorical dataset name that decides the difficulty, an embedding of emb_dim. */
static void make_runs(const char *path, int n, int emb_dim, uint64_t seed) {
    static const char *const DS[] = {"gsm8k", "math", "code"};
    FILE *fp = fopen(path, "w");
    allot_rng rng;
    allot_rng_seed(&rng, seed);
    for (int i = 0; fp && i < n; i++) {
        int ds = (int)allot_rng_below(&rng, 3);
        double p = ds == 0 ? 0.8 : ds == 1 ? 0.4 : 0.1;
        fprintf(
            fp,
            "{\"id\":\"q%d\",\"prompt\":\"problem %d\",\"meta\":{\"dataset\":\"%s\"},\"features\":{\"emb\":[",
            i, i, DS[ds]);
        for (int k = 0; k < emb_dim; k++)
            fprintf(fp, "%s%.3f", k ? "," : "", allot_rng_uniform(&rng) + (k == 0 ? p : 0));
        fprintf(fp, "]},\"samples\":[");
        for (int k = 0; k < 8; k++) {
            int ok = allot_rng_uniform(&rng) < p;
            fprintf(fp, "%s{\"correct\":%s,\"answer\":\"%s\"}", k ? "," : "", ok ? "true" : "false",
                    ok ? "r" : "w");
        }
        fprintf(fp, "]}\n");
    }
    if (fp) fclose(fp);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_train_inputs_cli ALLOT\n");
        return 2;
    }
    allot_bin = argv[1];
    char *dir = tu_tmpdir(), out[1200], path[1200];
    work_dir = dir;
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(path, sizeof path, "%s/runs.jsonl", dir);
    make_runs(path, 300, 4, 5);
    snprintf(path, sizeof path, "%s/other-runs.jsonl", dir);
    make_runs(path, 120, 4, 6);

    /* the same runs typed two ways give curves files of one identity: the audit takes the bundle's
     * held-out split on either */
    CHECK(run_in(dir, "curves ./runs.jsonl --tiers majority@1,2,4,8 --out c1.jsonl", NULL) == 0);
    CHECK(run_in(dir, "curves runs.jsonl --tiers majority@1,2,4,8 --out c2.jsonl", NULL) == 0);
    CHECK(run_in(dir, "train c1.jsonl --budget 3 --learner xgboost --quiet --out p.json", NULL) == 0);
    CHECK(run_in(dir, "audit c2.jsonl --policy p.json --budget 3 --out a --quiet --no-plots --json", out) ==
          0);
    CHECK(contains(out, "\"held-out split\""));

    /* --test-fraction 0: what was not checked is said, no MISMATCH, no zeros */
    CHECK(run_in(dir, "train c1.jsonl --budget 3 --learner liblinear --test-fraction 0 --quiet --out p0.json",
                 out) == 0);
    CHECK(!contains(out, "MISMATCH") && contains(out, "none: --test-fraction 0") &&
          contains(out, "same tier on every training query"));
    CHECK(
        run_in(dir,
               "train c1.jsonl --budget 3 --learner liblinear --test-fraction 0 --quiet --json --out p0.json",
               out) == 0);
    CHECK(contains(out, "\"test_acc_calibrated\":\tnull") && contains(out, "\"runtime_parity\":\ttrue"));
    CHECK(run_in(dir, "audit c1.jsonl --policy p0.json --budget 3 --out a0 --quiet --no-plots", out) == 2);
    CHECK(contains(out, "--test-fraction 0") && !exists("a0"));
    CHECK(run_in(dir, "curves other-runs.jsonl --tiers majority@1,2,4,8 --out other.jsonl", NULL) == 0);
    CHECK(run_in(dir, "audit other.jsonl --policy p0.json --budget 3 --out a1 --quiet --no-plots --json",
                 out) == 0);
    CHECK(contains(out, "\"foreign file\""));

    /* categorical meta and the embedding: trained, audited, predicted; bad inputs refused */
    CHECK(run_in(dir,
                 "train c1.jsonl --budget 3 --learner xgboost --meta-features dataset --quiet --out pc.json",
                 NULL) == 0);
    char bp[1300];
    snprintf(bp, sizeof bp, "%s/pc.json", dir);
    char *bt = tu_slurp(bp, NULL);
    CHECK(bt &&
          strstr(bt,
                 "\"categorical\":[{\"name\":\"meta.dataset\",\"values\":[\"code\",\"gsm8k\",\"math\"]}]") &&
          strstr(bt, "\"embedding\":{\"name\":\"features.emb\",\"dim\":4}"));
    free(bt);
    CHECK(run_in(dir, "audit other.jsonl --policy pc.json --budget 3 --out a2 --quiet --no-plots", NULL) ==
          0);
    FILE *fp = fopen(out, "w");
    fclose(fp);
    snprintf(path, sizeof path, "%s/q.jsonl", dir);
    fp = fopen(path, "w");
    fputs("{\"id\":\"u\",\"prompt\":\"p\",\"meta\":{\"dataset\":\"never "
          "seen\"},\"features\":{\"emb\":[1,2,3,4]}}\n",
          fp);
    fclose(fp);
    CHECK(run_in(dir, "predict --model pc.json q.jsonl", out) == 0); /* unseen category: all-zero one-hot */
    fp = fopen(path, "w");
    fputs("{\"id\":\"u\",\"prompt\":\"p\",\"features\":{\"emb\":[1,2,3]}}\n", fp);
    fclose(fp);
    CHECK(run_in(dir, "predict --model pc.json q.jsonl", out) == 2 && contains(out, "3 values"));
    /* an evaluation file whose embedding has another dimension: refused, nothing written */
    snprintf(path, sizeof path, "%s/runs3.jsonl", dir);
    make_runs(path, 60, 3, 7);
    CHECK(run_in(dir, "curves runs3.jsonl --tiers majority@1,2,4,8 --out c3.jsonl", NULL) == 0);
    CHECK(run_in(dir, "audit c3.jsonl --policy pc.json --budget 3 --out a3 --quiet --no-plots", out) == 2);
    CHECK(contains(out, "dimension 4") && !exists("a3"));
    /* ... or another tier set */
    CHECK(run_in(dir, "curves other-runs.jsonl --tiers majority@1,2,4 --out c4.jsonl", NULL) == 0);
    CHECK(run_in(dir, "audit c4.jsonl --policy pc.json --budget 3 --out a4 --quiet --no-plots", out) == 2);
    CHECK(contains(out, "tier") && !exists("a4"));
    /* a curves file whose line has a NaN-like value in the embedding: the reader names it */
    snprintf(path, sizeof path, "%s/bad-runs.jsonl", dir);
    fp = fopen(path, "w");
    fputs("{\"id\":\"x\",\"features\":{\"emb\":[1,null,3,4]},\"samples\":[{\"correct\":true,\"answer\":\"r\"}"
          "]}\n",
          fp);
    fclose(fp);
    CHECK(run_in(dir, "curves bad-runs.jsonl --tiers majority@1 --out bad.jsonl", out) == 2);
    CHECK(contains(out, "features.emb[1]") && !exists("bad.jsonl"));

    /* the default selection: candidates, the uniform reference, what was shipped */
    CHECK(run_in(dir, "train c1.jsonl --budget 3 --quiet --out pd.json", out) == 0);
    CHECK(contains(out, "xgboost-tier") && contains(out, "liblinear-value") && contains(out, "shipped: ") &&
          contains(out, "held-out check"));
    CHECK(run_in(dir, "audit c1.jsonl --policy pd.json --budget 3 --out a5 --quiet --no-plots", NULL) == 0);

    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
    return CHECK_DONE();
}
