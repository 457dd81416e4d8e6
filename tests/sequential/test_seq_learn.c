/*
 * test_seq_learn.c - the trainer side of sequential policies (trainer/sequential):
 *   - ladders from the command line (--stages) and their errors;
 *   - loading labelled runs for a ladder, and its errors (file:line: field);
 *   - stage accuracy with ties split, against hand computation;
 *   - training rows: orderings independent of the file's line order, y[s] = the stage's accuracy,
 *     y[t] exact when stage t draws the whole pool, and close to brute force otherwise;
 *   - calibration: the replayed spend meets the budget and is non-increasing in lambda;
 *   - training end to end on synthetic runs (XGBoost and LIBLINEAR): the runtime reproduces every
 *     held-out step, retraining gives the same bytes, and the held-out policy beats the fixed stages
 *     at its own spend on data where the first samples reveal the difficulty;
 *   - evaluation: pooled cross-fitted bundles cover every query once.
 */
#define CHECK_AREA "sequential"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/check_continue.h"
#include "allot/allot_sequential.h"
#include "rng.h"
#include "seq_data.h"
#include "seq_eval.h"
#include "seq_train.h"
#include "util.h"

#define NEAR(a, b, tol) (fabs((a) - (b)) <= (tol))

static char tmpdir[] = "/tmp/allot-seq-test-XXXXXX";

static const char *path_in(const char *name) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* ---- ladders from the command line ---------------------------------------------------------------- */

static void test_ladder_parse(void) {
    allot_ladder *l = NULL;
    allot_error err = {0};
    REQUIRE_OK(allot_sq_ladder_parse("majority@1,2,4", &l, &err));
    CHECK(allot_ladder_n_stages(l) == 3 && allot_ladder_max_samples(l) == 4);
    allot_ladder_free(l);
    REQUIRE_OK(allot_sq_ladder_parse(" small:majority@1,2 > large:best@1,3 ", &l, &err));
    allot_stage_info si;
    allot_ladder_stage(l, 3, &si, NULL);
    CHECK(allot_ladder_n_models(l) == 2 && si.k == 3 && si.rule == ALLOT_STAGE_BEST &&
          !strcmp(si.name, "large:best@3"));
    allot_ladder_free(l);
    const char *bad[][2] = {{"majority@4,2", "increase"},
                            {"majority@1,best@2", "one model and one rule"},
                            {"a:majority@1 > a:majority@2", "two segments"},
                            {"majority@1 >", "empty segment"},
                            {"best@1/min", "aggregation"},
                            {"", "empty"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        allot_status st = allot_sq_ladder_parse(bad[i][0], &l, &err);
        CHECKF(st != ALLOT_OK && strstr(err.msg, bad[i][1]) && !l, "'%s': %s", bad[i][0], err.msg);
    }
}

/* ---- loading and stage accuracy ------------------------------------------------------------------- */

static const char *runs_small =
    "{\"id\":\"q1\",\"prompt\":\"p1\",\"samples\":[{\"answer\":\"a\",\"correct\":true},{\"answer\":\"b\","
    "\"correct\":false},"
    "{\"answer\":\"a\",\"correct\":true},{\"answer\":null,\"correct\":false}]}\n"
    "{\"id\":\"q2\",\"prompt\":\"p2\",\"samples\":[{\"answer\":\"x\",\"correct\":false},{\"answer\":\"y\","
    "\"correct\":true},"
    "{\"answer\":\"x\",\"correct\":false},{\"answer\":\"y\",\"correct\":true}]}\n";

static void test_load_and_accuracy(void) {
    allot_ladder *l = NULL;
    allot_error err = {0};
    REQUIRE_OK(allot_sq_ladder_parse("majority@1,2,4", &l, &err));
    write_file(path_in("small.jsonl"), runs_small);
    allot_sq_data d;
    REQUIRE_OK(allot_sq_load(path_in("small.jsonl"), l, &d, &err));
    CHECK(d.n == 2 && d.q[0].off[1] == 4 && d.mean_sample_cost[0] == 1);
    /* q2: x, y after two draws: a tie, split evenly; x x y: x wins (wrong) */
    const allot_sq_query *q = &d.q[1];
    const allot_sq_sample *seen[4] = {&q->samples[0], &q->samples[1], &q->samples[2], &q->samples[3]};
    CHECK(allot_sq_stage_accuracy(l, 1, q, seen, 2) == 0.5);
    CHECK(allot_sq_stage_accuracy(l, 2, q, seen, 4) == 0.5);
    const allot_sq_sample *xxy[3] = {seen[0], seen[2], seen[1]};
    CHECK(allot_sq_stage_accuracy(l, 1, q, xxy, 3) == 0.0);
    /* q1: a null answer never wins */
    q = &d.q[0];
    const allot_sq_sample *nul[2] = {&q->samples[3], &q->samples[1]};
    CHECK(allot_sq_stage_accuracy(l, 1, q, nul, 2) == 0.0);
    allot_sq_data_free(&d);
    /* errors name file, line and field */
    const char *bad[][2] = {{"{\"id\":\"q\",\"samples\":[{\"correct\":true},{\"correct\":true},{\"correct\":"
                             "true},{\"correct\":true}]}\n",
                             ":1: samples[0].answer: missing"},
                            {"{\"id\":\"q\",\"samples\":[{\"answer\":\"1\",\"correct\":true}]}\n",
                             ":1: samples: 1 samples of model"},
                            {"{\"id\":\"q\",\"tiers\":{\"t\":{\"acc\":1,\"cost\":1}}}\n",
                             ":1: samples: a sequential policy needs"},
                            {"{\"id\":\"q\",\"samples\":[{\"answer\":\"1\",\"correct\":true,\"model\":\"m1\"}"
                             ",{\"answer\":\"1\",\"correct\":"
                             "true,\"model\":\"m2\"}]}\n",
                             "several models"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(path_in("bad.jsonl"), bad[i][0]);
        allot_status st = allot_sq_load(path_in("bad.jsonl"), l, &d, &err);
        CHECKF(st == ALLOT_E_INVALID && strstr(err.msg, bad[i][1]), "case %zu: %s", i, err.msg);
    }
    allot_ladder_free(l);
    /* a cascade naming a model the file lacks */
    REQUIRE_OK(allot_sq_ladder_parse("small:majority@1 > large:majority@1", &l, &err));
    write_file(path_in("bad.jsonl"),
               "{\"id\":\"q\",\"samples\":[{\"answer\":\"1\",\"correct\":true,\"model\":\"small\"}]}\n");
    CHECK(allot_sq_load(path_in("bad.jsonl"), l, &d, &err) == ALLOT_E_INVALID && strstr(err.msg, "'large'"));
    allot_ladder_free(l);
}

/* ---- rows ------------------------------------------------------------------------------------------ */

/* Brute force of E[acc of stage t | the first n_s samples of seq] over every continuation subset. */
static double brute_target(const allot_ladder *l, const allot_sq_query *q, const allot_sq_sample **seq,
                           size_t n_s, size_t t) {
    size_t pool = q->off[1], need = allot_sq_stage_samples(l, t) - n_s, rest[16], nr = 0;
    for (size_t i = 0; i < pool; i++) {
        int used = 0;
        for (size_t j = 0; j < n_s; j++) used |= seq[j] == &q->samples[i];
        if (!used) rest[nr++] = i;
    }
    double sum = 0;
    size_t cnt = 0;
    for (unsigned mask = 0; mask < (1u << nr); mask++) {
        if ((size_t)__builtin_popcount(mask) != need) continue;
        const allot_sq_sample *all[16];
        size_t k = 0;
        for (size_t j = 0; j < n_s; j++) all[k++] = seq[j];
        for (size_t i = 0; i < nr; i++)
            if (mask & (1u << i)) all[k++] = &q->samples[rest[i]];
        sum += allot_sq_stage_accuracy(l, t, q, all, k);
        cnt++;
    }
    return sum / (double)cnt;
}

static void test_rows(void) {
    allot_ladder *l = NULL;
    allot_error err = {0};
    REQUIRE_OK(allot_sq_ladder_parse("majority@1,2,3,6", &l, &err));
    /* pools of 7: stage 3 (k = 6) leaves one sample out, so its target is an expectation */
    char text[4096];
    size_t w = 0;
    const char *pat[3] = {"aababca", "xyzxyzz", "mmmnnnm"};
    for (int q = 0; q < 3; q++) {
        w += (size_t)snprintf(text + w, sizeof text - w,
                              "{\"id\":\"r%d\",\"prompt\":\"prompt %d\",\"samples\":[", q, q);
        for (int i = 0; i < 7; i++)
            w += (size_t)snprintf(text + w, sizeof text - w, "%s{\"answer\":\"%c\",\"correct\":%s}",
                                  i ? "," : "", pat[q][i], pat[q][i] == pat[q][0] ? "true" : "false");
        w += (size_t)snprintf(text + w, sizeof text - w, "]}\n");
    }
    write_file(path_in("rows.jsonl"), text);
    allot_sq_data d;
    REQUIRE_OK(allot_sq_load(path_in("rows.jsonl"), l, &d, &err));
    allot_featurizer *fz = NULL;
    REQUIRE_OK(allot_featurizer_create("{\"version\":1,\"builtin\":[]}", 26, &fz, &err));
    size_t qs[3] = {0, 1, 2};
    allot_sq_row_options o = {4, 4000, 7, 1};
    allot_sq_rows r;
    REQUIRE_OK(allot_sq_rows_build(&d, l, fz, qs, 3, &o, NULL, &r, &err));
    CHECK(r.n == 3 * 4 * 4 && r.S == 4 && r.n_traj == 12 && r.d == allot_ladder_n_state(l));
    uint32_t perm[7];
    const allot_sq_sample *seq[6];
    allot_sample_view views[6];
    double worst = 0;
    for (size_t j = 0; j < r.n_traj; j++) {
        const allot_sq_query *q = &d.q[r.traj_query[j]];
        allot_sq_ordering(l, q, 7, (uint32_t)(j % 4), perm, views, seq);
        for (size_t s = 0; s < 4; s++) {
            size_t row = j * 4 + s, n_s = allot_sq_stage_samples(l, s);
            const float *y = r.y + row * 4;
            CHECK(y[s] == (float)r.acc[row] && r.acc[row] == allot_sq_stage_accuracy(l, s, q, seq, n_s));
            for (size_t t = 0; t < s; t++) CHECK(isnan(y[t]));
            for (size_t t = s + 1; t < 4; t++)
                worst = fmax(worst, fabs(y[t] - brute_target(l, q, seq, n_s, t)));
        }
    }
    CHECKF(worst < 0.03, "largest target error against brute force: %g (4000 continuations)", worst);
    /* the same rows whatever the order of the file's lines */
    allot_sq_data d2;
    char swapped[4096];
    const char *second = strchr(text, '\n') + 1, *third = strchr(second, '\n') + 1;
    snprintf(swapped, sizeof swapped, "%s%.*s%.*s", third, (int)(second - text), text, (int)(third - second),
             second);
    write_file(path_in("rows2.jsonl"), swapped);
    REQUIRE_OK(allot_sq_load(path_in("rows2.jsonl"), l, &d2, &err));
    size_t qs2[3] = {1, 2, 0}; /* r0, r1, r2 in the swapped file */
    allot_sq_rows r2;
    REQUIRE_OK(allot_sq_rows_build(&d2, l, fz, qs2, 3, &o, NULL, &r2, &err));
    CHECK(!memcmp(r.x, r2.x, r.n * r.d * sizeof *r.x) && !memcmp(r.acc, r2.acc, r.n * sizeof *r.acc));
    CHECK(!memcmp(r.y, r2.y, r.n * r.S * sizeof *r.y));
    /* calibration: spend non-increasing in lambda, the calibrated price meets the budget */
    double *pred = malloc(r.n * r.S * sizeof *pred), c[4] = {1, 2, 3, 6}, prev = INFINITY, acc, cost;
    size_t traj[12];
    for (size_t i = 0; i < r.n * r.S; i++) pred[i] = isnan(r.y[i]) ? NAN : r.y[i];
    for (size_t row = 0; row < r.n; row++) /* as values: gains after the row's own stage */
        for (size_t t = row % 4 + 1; t < 4; t++)
            pred[row * 4 + t] = r.y[row * 4 + t] - r.y[row * 4 + row % 4];
    for (size_t j = 0; j < 12; j++) traj[j] = j;
    for (double lam = 0; lam < 1; lam += 0.01) {
        allot_sq_replay(pred, &r, traj, 12, c, lam, &acc, &cost, NULL);
        CHECK(cost <= prev + 1e-12);
        prev = cost;
    }
    double lam = allot_sq_calibrate(pred, &r, traj, 12, c, 2.0);
    allot_sq_replay(pred, &r, traj, 12, c, lam, &acc, &cost, NULL);
    CHECK(cost <= 2.0 && lam >= 0);
    free(pred);
    allot_sq_rows_free(&r);
    allot_sq_rows_free(&r2);
    allot_sq_data_free(&d);
    allot_sq_data_free(&d2);
    allot_featurizer_free(fz);
    allot_ladder_free(l);
}

/* ---- training and evaluation end to end --------------------------------------------------------------- */

/*
 * Synthetic runs where the first samples reveal the difficulty: each query has a per-sample accuracy
 * p (easy 0.9, hard 0.15, contested 0.5) and 16 samples; wrong samples spread over 3 wrong answers.
 */
static void write_synthetic(const char *path, int n) {
    FILE *f = fopen(path, "w");
    allot_rng rng;
    allot_rng_seed(&rng, 42);
    for (int q = 0; q < n; q++) {
        double p = q % 3 == 0 ? 0.9 : q % 3 == 1 ? 0.15 : 0.5;
        fprintf(f, "{\"id\":\"s%04d\",\"prompt\":\"question %d\",\"gold\":\"%d\",\"samples\":[", q, q, q);
        for (int i = 0; i < 16; i++) {
            int right = allot_rng_uniform(&rng) < p;
            fprintf(f, "%s{\"answer\":\"%d\",\"correct\":%s}", i ? "," : "",
                    right ? q : 100000 + (int)allot_rng_below(&rng, 3), right ? "true" : "false");
        }
        fprintf(f, "]}\n");
    }
    fclose(f);
}

static char *slurp(const char *path) { /* the trainer's bounded whole-file read */
    char *text = NULL;
    size_t len = 0;
    return allot_read_file(path, 0, &text, &len, NULL) == ALLOT_OK ? text : NULL;
}

static void test_train(allot_learner_kind learner) {
    const char *runs = path_in("synthetic.jsonl");
    write_synthetic(runs, 300);
    allot_sq_train_options o;
    allot_sq_train_options_default(&o);
    o.budget = 4;
    o.learner = learner;
    o.orderings = 4;
    o.continuations = 8;
    o.test_parts = 2;
    const char *b0 = path_in("b0.json"), *b1 = path_in("b1.json"), *again = path_in("again.json");
    allot_sq_train_report rep;
    allot_error err = {0};
    o.test_part = 0;
    REQUIRE_OK(allot_sq_train(runs, "majority@1,2,4,8,16", &o, b0, &rep, &err));
    CHECK(rep.runtime_parity == 1 && rep.parity_steps == rep.n_test * 4 * 5 && rep.n_test == 150);
    CHECKF(rep.oof_cost <= 4 + 1e-9 && rep.lambda >= 0, "oof cost %g lambda %g", rep.oof_cost, rep.lambda);
    CHECKF(rep.test_acc > rep.test_uniform_acc, "held-out %.4f, fixed stages at its spend %.4f", rep.test_acc,
           rep.test_uniform_acc);
    REQUIRE_OK(allot_sq_train(runs, "majority@1,2,4,8,16", &o, again, &rep, &err));
    char *x = slurp(b0), *y = slurp(again);
    CHECK(x && y && !strcmp(x, y)); /* deterministic */
    free(x);
    free(y);
    o.test_part = 1;
    REQUIRE_OK(allot_sq_train(runs, "majority@1,2,4,8,16", &o, b1, &rep, &err));
    /* pooled: every query once, the policy above uniform at equal spend */
    allot_sq_eval_options eo;
    allot_sq_eval_options_default(&eo);
    eo.orderings = 8;
    eo.bootstrap = 200;
    const char *bundles[2] = {b0, b1};
    allot_sq_eval e;
    REQUIRE_OK(allot_sq_evaluate(bundles, 2, runs, &eo, &e, &err));
    CHECK(e.n_queries == 300 && e.n_bundles == 2 && e.parity_steps > 0);
    CHECKF(e.refit.point.cost <= 4 + 1e-9, "re-fitted spend %g", e.refit.point.cost);
    CHECKF(e.refit.cmp[0].available && e.refit.cmp[0].lo > 0, "vs uniform %+.4f [%+.4f, %+.4f]",
           e.refit.cmp[0].delta, e.refit.cmp[0].lo, e.refit.cmp[0].hi);
    /* the static oracle (each query's best fixed stage in hindsight) bounds uniform, not a sequential
     * policy (which adapts to each ordering's samples) */
    CHECK(e.refit.cmp[3].available && e.refit.cmp[3].acc >= e.refit.cmp[0].acc - 1e-12);
    allot_sq_eval_free(&e);
    /* the same bundle twice: held-out sets overlap */
    const char *twice[2] = {b0, b0};
    CHECK(allot_sq_evaluate(twice, 2, runs, &eo, &e, &err) == ALLOT_E_INVALID &&
          strstr(err.msg, "two bundles"));
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 2;
    test_ladder_parse();
    test_load_and_accuracy();
    test_rows();
    test_train(ALLOT_LEARNER_XGBOOST);
    test_train(ALLOT_LEARNER_LIBLINEAR);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return CHECK_DONE();
}
