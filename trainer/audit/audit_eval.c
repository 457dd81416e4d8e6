/* audit_eval.c - the audit's figures: every method at one budget, the analyses at the audit budget,
 * the sweep and the retrain sweep (see audit_eval.h). */
#include "audit_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "audit_internal.h"
#include "cleanup.h"
#include "calibrate.h"
#include "identity.h"
#include "oracle.h"
#include "progress.h"
#include "rng.h"

static const char *const RULE_NAME[ALLOT_AUDIT_N_RULES] = {"calibrated", "refit", "argmax"};
static const char *const LEARNED_KEY[ALLOT_AUDIT_N_RULES] = {"learned_calibrated", "learned_refit",
                                                             "learned_argmax"};
static const char *const RETRAINED_KEY[ALLOT_AUDIT_N_RULES] = {"retrained_calibrated", "retrained_refit",
                                                               "retrained_argmax"};

const char *allot_audit_rule_name(int rule) {
    return rule >= 0 && rule < ALLOT_AUDIT_N_RULES ? RULE_NAME[rule] : "?";
}

const char *allot_audit_mode_name(allot_audit_mode m) {
    return m == ALLOT_AUDIT_FOREIGN ? "foreign file" : "held-out split";
}

/* ---- rows ------------------------------------------------------------------------------------ */

const allot_audit_row *allot_audit_point_find(const allot_audit_point *pt, const char *key) {
    for (size_t r = 0; r < pt->n_rows; r++)
        if (!strcmp(pt->row[r].key, key)) return &pt->row[r];
    return NULL;
}

const allot_audit_row *allot_audit_point_rule(const allot_audit_point *pt, allot_audit_role role, int rule) {
    for (size_t r = 0; r < pt->n_rows; r++)
        if (pt->row[r].role == role && (rule < 0 || pt->row[r].rule == rule)) return &pt->row[r];
    return NULL;
}

static allot_audit_row *learned_row(allot_audit_point *pt, int rule) {
    for (size_t r = 0; r < pt->n_rows; r++)
        if (pt->row[r].role == ALLOT_AUDIT_ROLE_LEARNED && pt->row[r].rule == rule) return &pt->row[r];
    return NULL;
}

static allot_audit_row *point_add(allot_audit_point *pt, const char *key, allot_audit_role role, int rule,
                                  double acc, double cost, double price) {
    if (pt->n_rows >= ALLOT_AUDIT_MAX_ROWS) return NULL; /* a programming error: raise the constant */
    allot_audit_row *r = &pt->row[pt->n_rows++];
    *r = (allot_audit_row){key, role, rule, acc, cost, price, {NAN, NAN, NAN, 0, 0}, {NAN, NAN, NAN, 0, 0}};
    return r;
}

static int near_budget(double a, double b) {
    return fabs(a - b) <= 1e-12 * (fabs(a) > 1 ? fabs(a) : 1);
}

static double safe_ratio(double a, double b) {
    return fabs(b) > 1e-15 ? a / b : NAN;
}

/* ---- one budget ------------------------------------------------------------------------------ */

/* Scratch of the evaluations of one policy, and the held-out tiers of the last one. */
typedef struct eval_ws {
    int *oracle, *learned[ALLOT_AUDIT_N_RULES], *length, *bins; /* nte: held-out tiers */
    int *train_oracle, *group;                                  /* ntr */
    size_t *cnt, *cnt_tr;                                       /* T */
    double *ta, *tc;              /* T: held-out tier means (uniform, efficiency) */
    double *mix, *ta_tr, *tc_tr;  /* T: oracle mix, training-pool tier means */
    double *mix_tr, *mix_s, *thr; /* T: prompt-length mixes and thresholds */
} eval_ws;

static void ws_free(eval_ws *w) {
    free(w->oracle);
    for (int r = 0; r < ALLOT_AUDIT_N_RULES; r++) free(w->learned[r]);
    free(w->length);
    free(w->bins);
    free(w->train_oracle);
    free(w->group);
    free(w->cnt);
    free(w->cnt_tr);
    free(w->ta);
    free(w->tc);
    free(w->mix);
    free(w->ta_tr);
    free(w->tc_tr);
    free(w->mix_tr);
    free(w->mix_s);
    free(w->thr);
    memset(w, 0, sizeof *w);
}

static allot_status ws_alloc(eval_ws *w, const allot_audit_bundle *b, allot_error *err) {
    memset(w, 0, sizeof *w);
    size_t nte = b->nte ? b->nte : 1, ntr = b->ntr ? b->ntr : 1, T = b->T;
    int ok = 1;
    int **te[] = {&w->oracle, &w->learned[0], &w->learned[1], &w->learned[2], &w->length, &w->bins};
    for (size_t i = 0; i < sizeof te / sizeof *te; i++) ok &= (*te[i] = malloc(nte * sizeof(int))) != NULL;
    ok &= (w->train_oracle = malloc(ntr * sizeof(int))) != NULL;
    ok &= (w->group = malloc(ntr * sizeof(int))) != NULL;
    ok &= (w->cnt = calloc(T, sizeof(size_t))) != NULL;
    ok &= (w->cnt_tr = calloc(T, sizeof(size_t))) != NULL;
    double **td[] = {&w->ta, &w->tc, &w->mix, &w->ta_tr, &w->tc_tr, &w->mix_tr, &w->mix_s, &w->thr};
    for (size_t i = 0; i < sizeof td / sizeof *td; i++) ok &= (*td[i] = malloc(T * sizeof(double))) != NULL;
    if (ok) return ALLOT_OK;
    ws_free(w);
    return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
}

/* The exact oracle on the held-out set. */
static allot_status eval_oracle(const allot_audit_bundle *b, double budget, eval_ws *w, allot_audit_point *pt,
                                allot_audit_choices *ch, allot_error *err) {
    allot_oracle_result r;
    allot_status st =
        allot_oracle_solve_exact(b->acc_te, b->cost_te, b->nte, b->T, budget, w->oracle, w->cnt, &r, err);
    if (st != ALLOT_OK) return st;
    ch->oracle_lambda = r.lambda;
    point_add(pt, "oracle", ALLOT_AUDIT_ROLE_ORACLE, -1, r.mean_acc, r.mean_cost, r.lambda);
    return ALLOT_OK;
}

/* The deployable uniform: the uniform mix at B chosen on the training pool (its tier means, as the
 * provenance records them), applied to the evaluation queries (expectations). */
static void eval_uniform_deployable(const allot_audit_bundle *b, double budget, allot_audit_point *pt,
                                    allot_audit_choices *ch) {
    if (!b->has_train_means) return;
    allot_uniform_frontier u;
    allot_uniform_frontier_build(b->train_tier_acc, b->train_tier_cost, b->T, &u);
    allot_uniform_mix m;
    allot_uniform_at(&u, budget, &m.lo, &m.hi, &m.w, NULL);
    double acc = 0, cost = 0;
    for (size_t j = 0; j < b->nte; j++) {
        acc += allot_uniform_mix_query_acc(&m, b->acc_te + j * b->T);
        cost += allot_uniform_mix_query_cost(&m, b->cost_te + j * b->T);
    }
    ch->deployable = 1;
    ch->deploy_lo = m.lo;
    ch->deploy_hi = m.hi;
    ch->deploy_w = m.w;
    double n = b->nte ? (double)b->nte : NAN;
    point_add(pt, "uniform_deployable", ALLOT_AUDIT_ROLE_BASELINE, -1, acc / n, cost / n, NAN);
}

/* Uniform allocation in hindsight (the evaluation set's own hull at B), the deployable uniform, and
 * the best single tier within B. */
static void eval_uniform_best(const allot_audit_bundle *b, double budget, eval_ws *w, allot_audit_point *pt,
                              allot_audit_choices *ch) {
    allot_tier_means(b->acc_te, b->cost_te, b->nte, b->T, w->ta, w->tc);
    allot_uniform_frontier u;
    allot_uniform_frontier_build(w->ta, w->tc, b->T, &u);
    double cost, acc = allot_uniform_at(&u, budget, &ch->uniform_lo, &ch->uniform_hi, &ch->uniform_w, &cost);
    point_add(pt, "uniform", ALLOT_AUDIT_ROLE_BASELINE, -1, acc, cost, NAN);
    eval_uniform_deployable(b, budget, pt, ch);
    int t = ch->best_tier = allot_best_single_tier(w->ta, w->tc, b->T, budget);
    point_add(pt, "best_single", ALLOT_AUDIT_ROLE_BASELINE, -1, t >= 0 ? w->ta[t] : NAN,
              t >= 0 ? w->tc[t] : NAN, NAN);
}

/* Random tiers with the oracle's tier mix: the expectation, and one seeded draw. */
static void eval_random_mix(const allot_audit_bundle *b, uint64_t seed, eval_ws *w, allot_audit_point *pt,
                            allot_audit_choices *ch) {
    size_t T = b->T, nte = b->nte;
    double *mix = w->mix, acc = 0, cost = 0;
    for (size_t t = 0; t < T; t++) {
        mix[t] = (double)w->cnt[t] / (double)nte;
        acc += mix[t] * w->ta[t];
        cost += mix[t] * w->tc[t];
    }
    point_add(pt, "random_mix", ALLOT_AUDIT_ROLE_BASELINE, -1, acc, cost, NAN);
    allot_rng rng;
    allot_rng_seed_stream(&rng, seed, 0xa110cu);
    double a = 0, cc = 0;
    for (size_t j = 0; j < nte; j++) {
        double x = allot_rng_uniform(&rng), F = 0;
        size_t t = 0;
        for (; t + 1 < T; t++) {
            F += mix[t];
            if (x < F) break;
        }
        a += b->acc_te[j * T + t];
        cc += b->cost_te[j * T + t];
    }
    ch->random_draw_acc = a / (double)nte;
    ch->random_draw_cost = cc / (double)nte;
}

/* Prompt-length thresholds for the mix (1-s) cheapest + s mix_tr; returns the training pool's mean
 * cost under them. */
static double shrunk_mix_cost(const allot_audit_bundle *b, eval_ws *w, size_t cheapest, double s) {
    size_t T = b->T;
    for (size_t t = 0; t < T; t++) w->mix_s[t] = s * w->mix_tr[t] + (t == cheapest ? 1 - s : 0);
    allot_score_thresholds(b->len_tr, b->ntr, w->mix_s, w->tc_tr, T, w->thr);
    double cc = 0;
    for (size_t j = 0; j < b->ntr; j++)
        cc += b->cost_tr[j * T + (size_t)allot_score_tier(w->thr, w->tc_tr, T, b->len_tr[j])];
    return cc / (double)b->ntr;
}

/* Prompt length: longer prompt -> dearer tier, thresholds on the training pool set to the training
 * oracle's tier mix. When per-query costs vary with the score (long prompts cost more per sample),
 * that mix can overspend: shrink it towards the cheapest tier, mix(s) = (1-s) cheapest + s mix, with
 * s found by bisection so that the training-pool mean cost meets the budget (the cumulative
 * fractions grow as s falls, so every query's tier gets cheaper: monotone). */
static allot_status eval_prompt_length(const allot_audit_bundle *b, double budget, eval_ws *w,
                                       allot_audit_point *pt, allot_audit_choices *ch, allot_error *err) {
    size_t T = b->T, ntr = b->ntr;
    allot_oracle_result r;
    allot_status st =
        allot_oracle_solve_exact(b->acc_tr, b->cost_tr, ntr, T, budget, w->train_oracle, w->cnt_tr, &r, err);
    if (st != ALLOT_OK) return st;
    for (size_t t = 0; t < T; t++) w->mix_tr[t] = (double)w->cnt_tr[t] / (double)ntr;
    allot_tier_means(b->acc_tr, b->cost_tr, ntr, T, w->ta_tr, w->tc_tr);
    size_t cheapest = 0;
    for (size_t t = 1; t < T; t++)
        if (w->tc_tr[t] < w->tc_tr[cheapest]) cheapest = t;
    double s_lo = 0, s_hi = 1, s = 1;
    for (int it = 0; it < 60; it++) {
        int ok = shrunk_mix_cost(b, w, cheapest, s) <= budget * (1 + 1e-12);
        if (it == 0 && ok) break; /* the oracle's own mix already meets the budget */
        if (ok)
            s_lo = s;
        else
            s_hi = s;
        s = it == 0 ? 0.5 : 0.5 * (s_lo + s_hi);
        if (it == 59 || s_hi - s_lo < 1e-9) {
            s = s_lo;
            shrunk_mix_cost(b, w, cheapest, s);
            break;
        }
    }
    ch->length_shrink = s;
    for (size_t j = 0; j < b->nte; j++) w->length[j] = allot_score_tier(w->thr, w->tc_tr, T, b->len_te[j]);
    double acc, cost;
    allot_alloc_eval(b->acc_te, b->cost_te, b->nte, T, w->length, &acc, &cost);
    point_add(pt, "prompt_length", ALLOT_AUDIT_ROLE_BASELINE, -1, acc, cost, NAN);
    return ALLOT_OK;
}

/* Difficulty bins: quintiles of the predicted difficulty (out-of-fold on the training pool), the
 * best tier per bin chosen on the training pool under the budget. */
static allot_status eval_difficulty_bins(const allot_audit_bundle *b, double budget, eval_ws *w,
                                         allot_audit_point *pt, allot_audit_choices *ch, allot_error *err) {
    enum { G = ALLOT_AUDIT_N_BINS };
    allot_quantile_edges(b->score_tr, b->ntr, G, ch->bins_edges);
    for (size_t j = 0; j < b->ntr; j++) w->group[j] = allot_bin_of(ch->bins_edges, G, b->score_tr[j]);
    if (allot_group_tiers(b->acc_tr, b->cost_tr, b->ntr, b->T, w->group, G, budget, ch->bins_tier))
        return allot_error_set(err, ALLOT_E_NOMEM, "difficulty bins: allocation failed");
    for (size_t j = 0; j < b->nte; j++)
        w->bins[j] = ch->bins_tier[allot_bin_of(ch->bins_edges, G, b->score_te[j])];
    double acc, cost;
    allot_alloc_eval(b->acc_te, b->cost_te, b->nte, b->T, w->bins, &acc, &cost);
    point_add(pt, "difficulty_bins", ALLOT_AUDIT_ROLE_BASELINE, -1, acc, cost, NAN);
    return ALLOT_OK;
}

/* The learned policy under each rule: calibrated (the bundle's price at its own budget, else
 * recalibrated on the training pool's out-of-fold scores at the budget; without any, the refit
 * price), refit (re-fitted to the evaluation batch's prices) and argmax (no price). */
static void eval_learned(const allot_audit_bundle *b, double budget, eval_ws *w, allot_audit_point *pt) {
    size_t K = b->K;
    allot_rule cal = allot_audit_bundle_rule_for(b, ALLOT_AUDIT_RULE_CALIBRATED);
    double refit =
        b->nte ? allot_calibrate_price(cal, b->prob_te, b->nte, (int)K, b->class_cost, b->price_te, budget)
               : 0;
    double mu[ALLOT_AUDIT_N_RULES] = {b->bundle_mu, refit, 0};
    if (fabs(budget - b->train_budget) > 1e-12 * (fabs(budget) > 1 ? fabs(budget) : 1))
        mu[ALLOT_AUDIT_RULE_CALIBRATED] = b->ntr
                                              ? allot_calibrate_price(cal, b->prob_tr, b->ntr, (int)K,
                                                                      b->class_cost, b->realised_tr, budget)
                                              : refit;
    for (int rule = 0; rule < ALLOT_AUDIT_N_RULES; rule++) {
        allot_rule rr = allot_audit_bundle_rule_for(b, rule);
        for (size_t j = 0; j < b->nte; j++)
            w->learned[rule][j] =
                b->class_tier[allot_rule_apply(rr, mu[rule], b->prob_te + j * K, b->class_cost, K)];
        double acc, cost;
        allot_alloc_eval(b->acc_te, b->cost_te, b->nte, b->T, w->learned[rule], &acc, &cost);
        point_add(pt, LEARNED_KEY[rule], ALLOT_AUDIT_ROLE_LEARNED, rule, acc, cost, mu[rule]);
    }
}

/* Every method at one budget on the bundle's held-out set; w keeps the held-out tiers. */
static allot_status eval_budget(const allot_audit_bundle *b, double budget, uint64_t seed, eval_ws *w,
                                allot_audit_point *pt, allot_audit_choices *ch, allot_error *err) {
    memset(pt, 0, sizeof *pt);
    memset(ch, 0, sizeof *ch);
    pt->budget = budget;
    allot_status st = eval_oracle(b, budget, w, pt, ch, err);
    if (st != ALLOT_OK) return st;
    eval_uniform_best(b, budget, w, pt, ch);
    eval_random_mix(b, seed, w, pt, ch);
    /* the heuristics are fitted on the training pool: only when it is in this file */
    if (b->mode == ALLOT_AUDIT_HELD_OUT) {
        st = eval_prompt_length(b, budget, w, pt, ch, err);
        if (st == ALLOT_OK) st = eval_difficulty_bins(b, budget, w, pt, ch, err);
    }
    if (st == ALLOT_OK) eval_learned(b, budget, w, pt);
    return st;
}

/* ---- the analyses at the audit budget -------------------------------------------------------- */

/* The runtime's own decision under the bundle's rule must be what the audit evaluates (comparable
 * at the training budget, where the bundle's price applies, or under argmax, which has none). */
static size_t runtime_mismatches(const allot_audit_bundle *b, const eval_ws *w, double budget) {
    int brule = b->bundle_rule == ALLOT_RULE_ARGMAX ? ALLOT_AUDIT_RULE_ARGMAX : ALLOT_AUDIT_RULE_CALIBRATED;
    size_t n = 0;
    if (near_budget(budget, b->train_budget) || brule == ALLOT_AUDIT_RULE_ARGMAX)
        for (size_t j = 0; j < b->nte; j++) n += (int)b->rt_tier_te[j] != w->learned[brule][j];
    return n;
}

/* Imitation, confusion, regret and its bounds, gain capture and efficiency of one rule. */
static allot_status analyse_rule(const allot_audit_bundle *b, const eval_ws *w, const allot_audit_point *pt,
                                 const allot_audit_choices *ch, int rule, allot_audit_rule_eval *re,
                                 allot_error *err) {
    size_t T = b->T, nte = b->nte;
    re->confusion = malloc(T * T * sizeof *re->confusion);
    if (!re->confusion) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
    allot_confusion(w->oracle, w->learned[rule], nte, T, re->confusion);
    size_t hit = 0;
    for (size_t t = 0; t < T; t++) hit += re->confusion[t * T + t];
    re->imitation = (double)hit / (double)nte;
    allot_regret_compute(b->acc_te, b->cost_te, nte, T, ch->oracle_lambda, w->oracle, w->learned[rule],
                         &re->regret);
    double learned = allot_audit_point_rule(pt, ALLOT_AUDIT_ROLE_LEARNED, rule)->acc;
    double uniform = allot_audit_point_find(pt, "uniform")->acc,
           oracle = allot_audit_point_find(pt, "oracle")->acc;
    re->gain_capture = safe_ratio(learned - uniform, oracle - uniform);
    /* efficiency: the budget uniform allocation needs for the learned accuracy */
    allot_uniform_frontier u;
    allot_uniform_frontier_build(w->ta, w->tc, T, &u);
    re->uniform_budget_for_same_acc = allot_uniform_budget_for(&u, learned);
    return ALLOT_OK;
}

/* Paired bootstrap of a row minus a uniform mix (lo, hi, w; per query its expected accuracy). */
static allot_status bootstrap_vs_mix(const allot_audit_bundle *b, const int *tier, int lo, int hi, double w,
                                     const allot_audit_options *o, allot_audit_ci *ci, allot_error *err) {
    size_t T = b->T, nte = b->nte;
    double *diff = malloc((nte ? nte : 1) * sizeof *diff);
    if (!diff) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
    for (size_t j = 0; j < nte; j++) {
        const double *a = b->acc_te + j * T;
        diff[j] = a[tier[j]] - ((1 - w) * a[lo] + w * a[hi]);
    }
    allot_bootstrap_mean(diff, nte, o->bootstrap, o->seed, 0.95, &ci->mean, &ci->lo, &ci->hi);
    ci->resamples = o->bootstrap;
    ci->seed = o->seed;
    free(diff);
    return ALLOT_OK;
}

/* Both intervals of a learned rule: against the hindsight uniform and the deployable one. */
static allot_status bootstrap_rule(const allot_audit_bundle *b, const int *tier,
                                   const allot_audit_choices *ch, const allot_audit_options *o,
                                   allot_audit_row *row, allot_error *err) {
    allot_status st =
        bootstrap_vs_mix(b, tier, ch->uniform_lo, ch->uniform_hi, ch->uniform_w, o, &row->vs_uniform, err);
    if (st == ALLOT_OK && ch->deployable)
        st = bootstrap_vs_mix(b, tier, ch->deploy_lo, ch->deploy_hi, ch->deploy_w, o, &row->vs_deployable,
                              err);
    return st;
}

/* A series of the compute-per-difficulty table: a per-query allocation, or a uniform mix (tiers NULL). */
typedef struct bucket_series {
    const char *name;
    const int *tiers;
    int lo, hi;
    double w;
} bucket_series;

/* Mean compute and accuracy per difficulty bucket (the query's mean accuracy over all tiers, five
 * equal-width buckets) of the allocations with per-query tiers, and of the uniform mixtures. */
static void analyse_buckets(const allot_audit_bundle *b, const eval_ws *w, const allot_audit_choices *ch,
                            allot_audit_buckets *bk) {
    enum { NB = ALLOT_AUDIT_N_BUCKETS };
    static const char *const BUCKET[NB] = {"0-0.2 (hardest)", "0.2-0.4", "0.4-0.6", "0.6-0.8",
                                           "0.8-1 (easiest)"};
    bucket_series se[ALLOT_AUDIT_MAX_SERIES];
    size_t ns = 0;
    se[ns++] = (bucket_series){"oracle", w->oracle, 0, 0, 0};
    se[ns++] = (bucket_series){"learned (calibrated)", w->learned[ALLOT_AUDIT_RULE_CALIBRATED], 0, 0, 0};
    se[ns++] = (bucket_series){"learned (refit)", w->learned[ALLOT_AUDIT_RULE_REFIT], 0, 0, 0};
    se[ns++] = (bucket_series){"learned (argmax)", w->learned[ALLOT_AUDIT_RULE_ARGMAX], 0, 0, 0};
    se[ns++] = (bucket_series){"uniform", NULL, ch->uniform_lo, ch->uniform_hi, ch->uniform_w};
    if (ch->deployable)
        se[ns++] = (bucket_series){"uniform (deployable)", NULL, ch->deploy_lo, ch->deploy_hi, ch->deploy_w};
    if (b->mode == ALLOT_AUDIT_HELD_OUT) {
        se[ns++] = (bucket_series){"prompt length", w->length, 0, 0, 0};
        se[ns++] = (bucket_series){"difficulty bins", w->bins, 0, 0, 0};
    }
    size_t T = b->T;
    memset(bk, 0, sizeof *bk);
    bk->bucket_by = "the query's mean accuracy over all tiers (evaluation set), 5 equal-width buckets";
    for (int g = 0; g < NB; g++) bk->bucket_name[g] = BUCKET[g];
    bk->n_series = ns;
    for (size_t s = 0; s < ns; s++) bk->series[s] = se[s].name;
    for (size_t j = 0; j < b->nte; j++) {
        const double *a = b->acc_te + j * T, *cc = b->cost_te + j * T;
        double m = 0;
        for (size_t t = 0; t < T; t++) m += a[t];
        m /= (double)T;
        int g = (int)floor(m * NB);
        if (g >= NB) g = NB - 1;
        if (g < 0) g = 0;
        bk->n[g]++;
        for (size_t s = 0; s < ns; s++) {
            const bucket_series *x = &se[s];
            bk->mean_cost[s * NB + (size_t)g] +=
                x->tiers ? cc[x->tiers[j]] : (1 - x->w) * cc[x->lo] + x->w * cc[x->hi];
            bk->mean_acc[s * NB + (size_t)g] +=
                x->tiers ? a[x->tiers[j]] : (1 - x->w) * a[x->lo] + x->w * a[x->hi];
        }
    }
    for (int g = 0; g < NB; g++)
        for (size_t s = 0; s < ns && bk->n[g]; s++) {
            bk->mean_cost[s * NB + (size_t)g] /= (double)bk->n[g];
            bk->mean_acc[s * NB + (size_t)g] /= (double)bk->n[g];
        }
}

/* The intervals of every learned rule at one point (w holds the point's learned tiers). */
static allot_status bootstrap_point(const allot_audit_bundle *b, const eval_ws *w,
                                    const allot_audit_choices *ch, const allot_audit_options *o,
                                    allot_audit_point *pt, allot_error *err) {
    allot_status st = ALLOT_OK;
    for (int rule = 0; rule < ALLOT_AUDIT_N_RULES && st == ALLOT_OK; rule++)
        st = bootstrap_rule(b, w->learned[rule], ch, o, learned_row(pt, rule), err);
    return st;
}

/* The figures at the audit budget without the queries that also occur in the training data. */
static allot_status audit_clean(const allot_audit_bundle *b, const allot_audit_options *o,
                                allot_audit_policy_result *pr, allot_error *err) {
    if (!b->n_leak || b->n_leak == b->nte) return ALLOT_OK;
    unsigned char *keep = malloc(b->nte);
    if (!keep) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
    for (size_t j = 0; j < b->nte; j++) keep[j] = b->leak[j] == 0;
    allot_audit_bundle v;
    allot_status st = allot_audit_bundle_subset(b, keep, &v, err);
    free(keep);
    if (st != ALLOT_OK) return st;
    eval_ws w;
    allot_audit_choices ch;
    st = ws_alloc(&w, &v, err);
    if (st == ALLOT_OK) st = eval_budget(&v, o->budget, o->seed, &w, &pr->at_budget_clean, &ch, err);
    if (st == ALLOT_OK) st = bootstrap_point(&v, &w, &ch, o, &pr->at_budget_clean, err);
    pr->has_clean = st == ALLOT_OK;
    pr->n_clean = v.nte;
    ws_free(&w);
    allot_audit_bundle_subset_free(&v);
    return st;
}

/* Everything at the audit budget: the rows, then the analyses of the evaluation tiers they chose. */
static allot_status audit_at_budget(const allot_audit_bundle *b, const allot_audit_options *o, eval_ws *w,
                                    allot_audit_policy_result *pr, allot_error *err) {
    allot_status st = eval_budget(b, o->budget, o->seed, w, &pr->at_budget, &pr->choices, err);
    if (st != ALLOT_OK) return st;
    pr->runtime_mismatches = runtime_mismatches(b, w, o->budget);
    pr->choices.oracle_tier_counts = calloc(b->T, sizeof(size_t));
    if (!pr->choices.oracle_tier_counts) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
    for (size_t j = 0; j < b->nte; j++) pr->choices.oracle_tier_counts[w->oracle[j]]++;
    for (int rule = 0; rule < ALLOT_AUDIT_N_RULES && st == ALLOT_OK; rule++)
        st = analyse_rule(b, w, &pr->at_budget, &pr->choices, rule, &pr->rules[rule], err);
    if (st == ALLOT_OK) st = bootstrap_point(b, w, &pr->choices, o, &pr->at_budget, err);
    if (st == ALLOT_OK) analyse_buckets(b, w, &pr->choices, &pr->buckets);
    if (st == ALLOT_OK) st = audit_clean(b, o, pr, err);
    return st;
}

/* ---- the sweeps ------------------------------------------------------------------------------ */

/* What every policy's sweep shares. */
typedef struct sweep_ctx {
    const allot_curves *c;
    const char *curves_path, *scratch_dir;
    const allot_audit_curves_id *id;
    const allot_audit_options *o;
    const double *budgets;
    size_t n_budgets;
    allot_progress pg;
    size_t pg_done;
} sweep_ctx;

/* Train policy b again at budget pt->budget (scratch bundle at tmp_path, removed after use) and add
 * its rows, evaluated on the same held-out set, to pt as retrained rows. */
static allot_status retrain_eval(const sweep_ctx *x, const allot_audit_bundle *b, const char *tmp_path,
                                 allot_audit_point *pt, allot_error *err) {
    allot_train_options o;
    char feat[8192], meta[8192];
    allot_status st = allot_audit_train_options(b, &o, feat, sizeof feat, meta, sizeof meta, err);
    if (st != ALLOT_OK) return st;
    o.budget = pt->budget;
    int slot = allot_cleanup_add_file(tmp_path); /* removed on SIGINT/SIGTERM too */
    st = !strcmp(b->learner, "uniform")
             ? allot_train_uniform(x->c, x->curves_path, &o, tmp_path, NULL, NULL, err)
             : allot_train(x->c, x->curves_path, &o, tmp_path, NULL, err);
    if (st == ALLOT_E_ARGUMENT) /* options read from the bundle: its provenance is at fault */
        st =
            allot_error_set(err, ALLOT_E_INVALID, "%s: provenance.learner_params: %.400s", b->path, err->msg);
    if (st != ALLOT_OK) {
        remove(tmp_path);
        allot_cleanup_remove(slot);
        return st;
    }
    allot_audit_bundle q;
    eval_ws w = {0};
    allot_audit_point qp;
    allot_audit_choices qc;
    st = allot_audit_bundle_load(&q, tmp_path, x->c, x->id, err);
    if (st == ALLOT_OK &&
        (q.nte != b->nte || memcmp(q.sp.test_idx, b->sp.test_idx, b->nte * sizeof *b->sp.test_idx)))
        st = allot_error_set(err, ALLOT_E_INTERNAL, "retraining %s did not reproduce its held-out split",
                             b->path);
    if (st == ALLOT_OK) st = ws_alloc(&w, &q, err);
    if (st == ALLOT_OK) st = eval_budget(&q, pt->budget, x->o->seed, &w, &qp, &qc, err);
    for (int r = 0; r < ALLOT_AUDIT_N_RULES && st == ALLOT_OK; r++) {
        const allot_audit_row *l = allot_audit_point_rule(&qp, ALLOT_AUDIT_ROLE_LEARNED, r);
        point_add(pt, RETRAINED_KEY[r], ALLOT_AUDIT_ROLE_RETRAINED, r, l->acc, l->cost, l->price);
    }
    ws_free(&w);
    allot_audit_bundle_free(&q);
    remove(tmp_path);
    allot_cleanup_remove(slot);
    return st;
}

/* Policy number k at every sweep budget (and retrained there with --sweep-retrain). */
static allot_status sweep_policy(sweep_ctx *x, const allot_audit_bundle *b, size_t k, eval_ws *w,
                                 allot_audit_policy_result *pr, allot_error *err) {
    pr->sweep = calloc(x->n_budgets ? x->n_budgets : 1, sizeof *pr->sweep);
    if (!pr->sweep) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
    pr->n_sweep = x->n_budgets;
    for (size_t s = 0; s < x->n_budgets; s++) {
        allot_audit_choices ch;
        allot_status st = eval_budget(b, x->budgets[s], x->o->seed, w, &pr->sweep[s], &ch, err);
        if (st != ALLOT_OK) return st;
        if (x->o->sweep_retrain) {
            char tmp_path[4200];
            const char *td = getenv("TMPDIR");
            snprintf(tmp_path, sizeof tmp_path, "%.4000s/retrain-%zu-%zu%s%ld.json",
                     x->scratch_dir ? x->scratch_dir : (td && *td ? td : "/tmp"), k, s, ALLOT_TMP_MARKER,
                     (long)getpid());
            st = retrain_eval(x, b, tmp_path, &pr->sweep[s], err);
            if (st != ALLOT_OK) return st;
        }
        allot_progress_update(&x->pg, ++x->pg_done);
    }
    return ALLOT_OK;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Budgets of the sweep: given, or 12 log-spaced between the cheapest and the dearest tier (mean
 * held-out cost of the first policy's held-out set); plus the audit budget; increasing. */
static allot_status sweep_budgets(const allot_audit_bundle *b, const allot_audit_options *o, double **out,
                                  size_t *n_out, allot_error *err) {
    size_t T = b->T, want = o->sweep ? o->n_sweep : 12, n = want;
    double *ta = malloc(T * sizeof *ta), *tc = malloc(T * sizeof *tc), *sw = malloc((want + 1) * sizeof *sw);
    if (!ta || !tc || !sw) {
        free(ta);
        free(tc);
        free(sw);
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
    }
    allot_tier_means(b->acc_te, b->cost_te, b->nte, T, ta, tc);
    double lo = INFINITY, hi = 0;
    for (size_t t = 0; t < T; t++) {
        if (tc[t] < lo) lo = tc[t];
        if (tc[t] > hi) hi = tc[t];
    }
    free(ta);
    free(tc);
    if (o->sweep) {
        memcpy(sw, o->sweep, want * sizeof *sw);
    } else {
        if (!(lo > 0)) lo = hi > 0 ? hi / 100 : 1;
        for (size_t s = 0; s < want; s++)
            sw[s] = want > 1 ? lo * pow(hi / lo, (double)s / (double)(want - 1)) : lo;
    }
    int has_b = 0;
    for (size_t s = 0; s < n; s++)
        if (fabs(sw[s] - o->budget) <= 1e-12 * (o->budget > 1 ? o->budget : 1)) has_b = 1;
    if (!has_b) sw[n++] = o->budget;
    qsort(sw, n, sizeof *sw, cmp_d);
    *out = sw;
    *n_out = n;
    return ALLOT_OK;
}

/* ---- the audit ------------------------------------------------------------------------------- */

/* A policy's identity and provenance, as the reports name it. */
static void describe_policy(allot_audit_bundle *b, allot_audit_policy_result *pr) {
    pr->path = b->path;
    snprintf(pr->name, sizeof pr->name, "%s", b->name);
    snprintf(pr->learner, sizeof pr->learner, "%s", b->learner);
    pr->value = b->value;
    pr->in_sample = b->in_sample;
    pr->mode = b->mode;
    pr->identity_by_content = b->identity_by_content;
    pr->leaks_checked = b->has_hashes;
    pr->n_leak_id = b->n_leak_id;
    pr->n_leak_prompt = b->n_leak_prompt;
    pr->n_leak = b->n_leak;
    pr->n_clean = b->nte - b->n_leak;
    pr->trained_budget = b->train_budget;
    pr->bundle_rule = b->bundle_rule;
    pr->bundle_mu = b->bundle_mu;
    pr->n_test = b->nte;
    pr->n_train = b->ntr;
    pr->n_classes = b->K;
    pr->training_metrics = b->train_metrics; /* moved */
    b->train_metrics = NULL;
}

/* One policy: at the audit budget, then the sweep. */
static allot_status audit_policy(sweep_ctx *x, allot_audit_bundle *b, size_t k, allot_audit_policy_result *pr,
                                 allot_error *err) {
    describe_policy(b, pr);
    eval_ws w;
    allot_status st = ws_alloc(&w, b, err);
    if (st != ALLOT_OK) return st;
    st = audit_at_budget(b, x->o, &w, pr, err);
    if (st == ALLOT_OK) st = sweep_policy(x, b, k, &w, pr, err);
    ws_free(&w);
    return st;
}

static int same_held_out_set(const allot_audit_bundle *bs, size_t n) {
    for (size_t k = 1; k < n; k++)
        if (bs[k].nte != bs[0].nte ||
            memcmp(bs[k].sp.test_idx, bs[0].sp.test_idx, bs[0].nte * sizeof(size_t)))
            return 0;
    return 1;
}

allot_status allot_audit_check_options(size_t n_policies, const allot_audit_options *o, allot_error *err) {
    if (!n_policies) return allot_error_set(err, ALLOT_E_ARGUMENT, "no policy to audit");
    if (!(o->budget >= 0) || !isfinite(o->budget))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "--budget must be >= 0");
    return ALLOT_OK;
}

/* The result's header: inputs and options. */
static allot_status result_start(allot_audit_result *r, const allot_curves *c, const char *curves_path,
                                 size_t n_policies, const allot_audit_options *o, allot_error *err) {
    memset(r, 0, sizeof *r);
    r->curves_path = curves_path;
    r->n_tiers = c->n_tiers;
    r->tier_names = (const char *const *)c->tier_names;
    r->budget = o->budget;
    r->seed = o->seed;
    r->bootstrap = o->bootstrap;
    r->sweep_retrain = o->sweep_retrain;
    allot_status st = ALLOT_OK;
    if (curves_path && strcmp(curves_path, "-"))
        st = allot_learn_file_sha256(curves_path, r->curves_sha256, err);
    if (st != ALLOT_OK) return st;
    allot_curves_content_sha256(c, r->curves_content_sha256);
    if (c->n_tiers > ALLOT_AUDIT_MAX_TIERS)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "the audit handles at most %d tiers, the curves file has %zu",
                               ALLOT_AUDIT_MAX_TIERS, c->n_tiers);
    r->policies = calloc(n_policies, sizeof *r->policies);
    if (!r->policies) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
    r->n_policies = n_policies;
    return ALLOT_OK;
}

/* Every policy (bundles loaded), at the audit budget and over the sweep. */
static allot_status audit_policies(allot_audit_result *r, allot_audit_bundle *bs, const allot_curves *c,
                                   const allot_audit_options *o, const char *scratch_dir, allot_error *err) {
    allot_status st = sweep_budgets(&bs[0], o, &r->sweep_budgets, &r->n_sweep, err);
    if (st != ALLOT_OK) return st;
    allot_audit_curves_id id = {r->curves_sha256, r->curves_content_sha256};
    sweep_ctx x = {c, r->curves_path, scratch_dir, &id, o, r->sweep_budgets, r->n_sweep, {0}, 0};
    allot_progress_start(&x.pg, "audit sweep (policy x budget)", r->n_policies * r->n_sweep, o->progress);
    for (size_t k = 0; k < r->n_policies && st == ALLOT_OK; k++)
        st = audit_policy(&x, &bs[k], k, &r->policies[k], err);
    if (st != ALLOT_OK) return st;
    allot_progress_finish(&x.pg, x.pg_done);
    r->same_held_out_set = same_held_out_set(bs, r->n_policies);
    r->all_regret_bounds_hold = 1;
    for (size_t k = 0; k < r->n_policies; k++)
        for (int rule = 0; rule < ALLOT_AUDIT_N_RULES; rule++)
            if (!r->policies[k].rules[rule].regret.holds) r->all_regret_bounds_hold = 0;
    return ALLOT_OK;
}

allot_status allot_audit_compute(const allot_curves *c, const char *curves_path, const char *const *policies,
                                 size_t n_policies, const allot_audit_options *o, const char *scratch_dir,
                                 allot_audit_result *out, allot_error *err) {
    memset(out, 0, sizeof *out);
    allot_status st = allot_audit_check_options(n_policies, o, err);
    if (st != ALLOT_OK) return st;
    st = result_start(out, c, curves_path, n_policies, o, err);
    allot_audit_bundle *bs = st == ALLOT_OK ? calloc(n_policies, sizeof *bs) : NULL;
    if (st == ALLOT_OK && !bs) st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory (audit)");
    allot_audit_curves_id id = {out->curves_sha256, out->curves_content_sha256};
    for (size_t k = 0; k < n_policies && st == ALLOT_OK; k++)
        st = allot_audit_bundle_load(&bs[k], policies[k], c, &id, err);
    for (size_t k = 0; k < n_policies && st == ALLOT_OK; k++)
        if (o->sweep_retrain && bs[k].mode != ALLOT_AUDIT_HELD_OUT)
            st = allot_error_set(
                err, ALLOT_E_ARGUMENT,
                "--sweep-retrain needs the curves file %s was trained on (this is another file)",
                policies[k]);
    if (st == ALLOT_OK) st = audit_policies(out, bs, c, o, scratch_dir, err);
    for (size_t k = 0; bs && k < n_policies; k++) allot_audit_bundle_free(&bs[k]);
    free(bs);
    if (st != ALLOT_OK) allot_audit_result_free(out);
    return st;
}

void allot_audit_result_free(allot_audit_result *r) {
    for (size_t k = 0; r->policies && k < r->n_policies; k++) {
        allot_audit_policy_result *p = &r->policies[k];
        cJSON_Delete(p->training_metrics);
        free(p->choices.oracle_tier_counts);
        for (int rule = 0; rule < ALLOT_AUDIT_N_RULES; rule++) free(p->rules[rule].confusion);
        free(p->sweep);
    }
    free(r->policies);
    free(r->sweep_budgets);
    memset(r, 0, sizeof *r);
}
