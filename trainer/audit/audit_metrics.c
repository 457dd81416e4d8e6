/* audit_metrics.c - the audit's figures (see audit_metrics.h). */
#include "audit_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "rng.h"

void allot_alloc_eval(const double *acc, const double *cost, size_t n, size_t T, const int *tier,
                      double *mean_acc, double *mean_cost) {
    double a = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        a += acc[i * T + (size_t)tier[i]];
        c += cost[i * T + (size_t)tier[i]];
    }
    if (mean_acc) *mean_acc = n ? a / (double)n : 0;
    if (mean_cost) *mean_cost = n ? c / (double)n : 0;
}

void allot_regret_compute(const double *acc, const double *cost, size_t n, size_t T, double lambda,
                          const int *oracle_tier, const int *policy_tier, allot_regret *out) {
    memset(out, 0, sizeof *out);
    out->lambda = lambda;
    double rl = 0, ra = 0, sml = 0, sma = 0;
    size_t mis = 0;
    for (size_t i = 0; i < n; i++) {
        const double *a = acc + i * T, *c = cost + i * T;
        int o = oracle_tier[i], p = policy_tier[i];
        double vo = a[o] - lambda * c[o], vmin = INFINITY, amin = INFINITY;
        for (size_t t = 0; t < T; t++) {
            double v = a[t] - lambda * c[t];
            if (v < vmin) vmin = v;
            if (a[t] < amin) amin = a[t];
        }
        double gl = vo - vmin, ga = a[o] - amin;
        if (gl > out->max_gap_lagrangian) out->max_gap_lagrangian = gl;
        if (ga > out->max_gap_acc) out->max_gap_acc = ga;
        rl += vo - (a[p] - lambda * c[p]);
        ra += a[o] - a[p];
        if (p != o) {
            mis++;
            sml += gl;
            sma += ga;
        }
    }
    double N = n ? (double)n : 1;
    out->imitation_error = (double)mis / N;
    out->regret_lagrangian = rl / N;
    out->regret_acc = ra / N;
    out->mean_gap_mis_lagrangian = mis ? sml / (double)mis : 0;
    out->mean_gap_mis_acc = mis ? sma / (double)mis : 0;
    out->bound_data_lagrangian = sml / N;
    out->bound_data_acc = sma / N;
    out->bound_literature_lagrangian = out->imitation_error * out->max_gap_lagrangian;
    out->bound_literature_acc = out->imitation_error * out->max_gap_acc;
    const double eps = 1e-12;
    out->holds = out->regret_lagrangian <= out->bound_data_lagrangian + eps &&
                 out->bound_data_lagrangian <= out->bound_literature_lagrangian + eps &&
                 out->regret_acc <= out->bound_data_acc + eps &&
                 out->bound_data_acc <= out->bound_literature_acc + eps;
}

void allot_confusion(const int *oracle_tier, const int *policy_tier, size_t n, size_t T, size_t *conf) {
    memset(conf, 0, T * T * sizeof *conf);
    for (size_t i = 0; i < n; i++) conf[(size_t)oracle_tier[i] * T + (size_t)policy_tier[i]]++;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int allot_group_tiers(const double *acc, const double *cost, size_t n, size_t T, const int *group, int G,
                      double budget, int *tier_out) {
    double *ga = calloc((size_t)G * T, sizeof *ga), *gc = calloc((size_t)G * T, sizeof *gc);
    if (!ga || !gc) {
        free(ga);
        free(gc);
        return -1;
    }
    /* aggregated query g: acc = sum over its queries * G / n, so that the oracle's mean over G
     * aggregated queries equals the mean over the n queries (same for cost) */
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < T; t++) {
            ga[(size_t)group[i] * T + t] += acc[i * T + t] * (double)G / (double)n;
            gc[(size_t)group[i] * T + t] += cost[i * T + t] * (double)G / (double)n;
        }
    /* an empty group: any tier; make it free so it never binds */
    allot_oracle_result r;
    allot_status st = allot_oracle_solve_exact(ga, gc, (size_t)G, T, budget, tier_out, NULL, &r, NULL);
    free(ga);
    free(gc);
    return st == ALLOT_OK ? 0 : -1;
}

void allot_score_thresholds(const double *train_score, size_t n_train, const double *mix,
                            const double *tier_cost, size_t T, double *thresholds_out) {
    double *s = malloc((n_train ? n_train : 1) * sizeof *s);
    int *ord = malloc((T ? T : 1) * sizeof *ord);
    if (!s || !ord) {
        free(s);
        free(ord);
        for (size_t t = 0; t < T; t++) thresholds_out[t] = INFINITY;
        return;
    }
    memcpy(s, train_score, n_train * sizeof *s);
    qsort(s, n_train, sizeof *s, cmp_double);
    for (size_t t = 0; t < T; t++) ord[t] = (int)t;
    for (size_t a = 1; a < T; a++)
        for (size_t b = a; b > 0 && tier_cost[ord[b]] < tier_cost[ord[b - 1]]; b--) {
            int x = ord[b];
            ord[b] = ord[b - 1];
            ord[b - 1] = x;
        }
    double F = 0;
    for (size_t k = 0; k < T; k++) {
        int t = ord[k];
        F += mix[t];
        if (k == T - 1 || F >= 1 - 1e-12) {
            thresholds_out[t] = INFINITY;
            for (size_t r = k + 1; r < T; r++) thresholds_out[ord[r]] = INFINITY;
            break;
        }
        size_t cnt = (size_t)floor(F * (double)n_train + 0.5); /* queries at tiers up to this one */
        thresholds_out[t] = cnt == 0 ? -INFINITY : s[cnt - 1];
    }
    free(s);
    free(ord);
}

int allot_score_tier(const double *thresholds, const double *tier_cost, size_t T, double score) {
    /* first tier in cost order (ties: lower index) whose threshold >= score */
    int best = -1;
    for (size_t t = 0; t < T; t++) {
        if (!(thresholds[t] >= score)) continue;
        if (best < 0 || tier_cost[t] < tier_cost[best]) best = (int)t;
    }
    if (best >= 0) return best;
    for (size_t t = 0; t < T; t++)
        if (best < 0 || tier_cost[t] > tier_cost[best]) best = (int)t;
    return best;
}

void allot_quantile_edges(const double *score, size_t n, int G, double *edges) {
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) {
        for (int g = 0; g + 1 < G; g++) edges[g] = INFINITY;
        return;
    }
    memcpy(s, score, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    for (int g = 1; g < G; g++) {
        size_t k = (size_t)floor((double)g * (double)n / (double)G);
        edges[g - 1] = n ? s[k ? k - 1 : 0] : INFINITY;
    }
    free(s);
}

int allot_bin_of(const double *edges, int G, double s) {
    int b = 0;
    for (int g = 0; g + 1 < G; g++)
        if (edges[g] < s) b = g + 1;
    return b;
}
