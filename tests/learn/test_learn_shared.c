/*
 * test_learn_shared.c - both learners train and predict on the real shared datasets
 * (ALLOT_SHARED_DATASETS): curves -> allot_train -> the runtime gives the trainer's tier on every
 * held-out query and the same probabilities as XGBoost / LIBLINEAR themselves; value policies
 * (--target value) too, with predicted accuracies equal to the libraries' bit for bit.
 * Exits 77 ("skipped") when the folder or a file is absent.
 */
#define CHECK_AREA "learn"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/check_continue.h"
#include "learn.h"
#include "learn_bundle_check.h"
#include "learn_test_util.h"

typedef struct ds {
    const char *file, *tiers;
    double budget;
} ds;

#define LCB "deepseek-ai/deepseek-coder"
static const ds SETS[] = {
    {"gsm8k-llama2-13b-pot48.jsonl", "majority@1,2,4,8,16,32,48", 8},
    {"gsm8k-train-codex10.jsonl", "majority@1,2,4,8,10", 4},
    {"livecodebench-open-models.jsonl",
     LCB "-1.3b-instruct:pass@1," LCB "-6.7b-instruct:pass@1," LCB "-33b-instruct:pass@1," LCB
         "-33b-instruct:pass@2," LCB "-33b-instruct:pass@4," LCB "-33b-instruct:pass@10",
     40},
    {"gsm8k-test-gpt3-tiers.jsonl", NULL, 400},
};

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "../shared/datasets";
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        printf("skipped: shared datasets folder %s not found\n", dir);
        return 77;
    }
    char *tmp = tu_tmpdir();
    int ran = 0;
    for (size_t s = 0; s < sizeof SETS / sizeof SETS[0]; s++) {
        char path[4096], cpath[4096], bpath[4096];
        snprintf(path, sizeof path, "%s/%s", dir, SETS[s].file);
        if (stat(path, &sb) != 0) {
            printf("note: %s not found, not tested\n", path);
            continue;
        }
        allot_error err = {0};
        allot_tier_set ts = {0};
        if (SETS[s].tiers) REQUIRE_OK(allot_tier_set_parse(SETS[s].tiers, &ts, &err));
        allot_curves_options co;
        allot_curves_options_default(&co);
        allot_curves *c = NULL;
        REQUIRE_OK(allot_curves_compute(path, SETS[s].tiers ? &ts : NULL, &co, &c, &err));
        allot_tier_set_free(&ts);
        snprintf(cpath, sizeof cpath, "%s/curves-%zu.jsonl", tmp, s);
        c = tu_roundtrip(c, cpath);
        for (int lt = 0; lt < 4; lt++) {
            int l = lt % 2, value = lt / 2;
            allot_train_options o;
            allot_train_options_default(&o);
            o.budget = SETS[s].budget;
            o.learner = (allot_learner_kind)l;
            o.target = value ? ALLOT_TARGET_TIER_VALUE : ALLOT_TARGET_TIER_LABEL;
            o.linear.c_min = 0.125; /* a shorter C grid keeps the suite fast */
            o.linear.c_max = 2;
            snprintf(bpath, sizeof bpath, "%s/policy-%zu-%d.json", tmp, s, lt);
            allot_train_report r;
            allot_status st = allot_train(c, cpath, &o, bpath, &r, &err);
            CHECKF(st == ALLOT_OK, "%s %s: %s", SETS[s].file, l ? "liblinear" : "xgboost", err.msg);
            if (st != ALLOT_OK) continue;
            CHECK(r.runtime_parity == 1);
            CHECK(r.n_test > 0 && r.n_train + r.n_test == c->n_queries);
            bc_result bc;
            bc_check_bundle(bpath, c, &bc);
            CHECKF(bc.tier_mismatch == 0, "%s: %zu tiers differ", SETS[s].file, bc.tier_mismatch);
            CHECKF(bc.prob_mismatch == 0, "%s %s: %zu probabilities differ (max %g)", SETS[s].file, bc.kind,
                   bc.prob_mismatch, bc.max_prob_diff);
            CHECK(bc.value == value);
            printf("%s %-9s%s B=%g: %zu classes, held-out imitation %.3f (calibrated), acc %.4f cost %.3f, "
                   "oracle "
                   "%.4f, parity ok\n",
                   SETS[s].file, l ? "liblinear" : "xgboost", value ? " value" : "", SETS[s].budget,
                   r.n_classes, r.test_imitation_calibrated, r.test_acc_calibrated, r.test_cost_calibrated,
                   r.test_oracle_acc);
            ran++;
        }
        allot_curves_free(c);
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    free(tmp);
    if (!ran) {
        printf("skipped: no shared dataset found in %s\n", dir);
        return 77;
    }
    return CHECK_DONE();
}
