/* uniform.c - uniform allocation at a budget: the one definition (see uniform.h). */
#include "uniform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void allot_tier_means(const double *acc, const double *cost, size_t n, size_t T, double *tier_acc,
                      double *tier_cost) {
    for (size_t t = 0; t < T; t++) {
        double a = 0, c = 0;
        for (size_t i = 0; i < n; i++) {
            a += acc[i * T + t];
            c += cost[i * T + t];
        }
        tier_acc[t] = n ? a / (double)n : 0;
        tier_cost[t] = n ? c / (double)n : 0;
    }
}

void allot_uniform_frontier_build(const double *tier_acc, const double *tier_cost, size_t T,
                                  allot_uniform_frontier *out) {
    memset(out, 0, sizeof *out);
    if (T > ALLOT_UNIFORM_MAX_TIERS) T = ALLOT_UNIFORM_MAX_TIERS;
    int ord[ALLOT_UNIFORM_MAX_TIERS];
    for (size_t t = 0; t < T; t++) ord[t] = (int)t;
    /* sort by (cost asc, acc desc, index asc) */
    for (size_t a = 1; a < T; a++)
        for (size_t b = a; b > 0; b--) {
            int x = ord[b - 1], y = ord[b];
            int swap =
                tier_cost[y] < tier_cost[x] || (tier_cost[y] == tier_cost[x] && tier_acc[y] > tier_acc[x]);
            if (!swap) break;
            ord[b - 1] = y;
            ord[b] = x;
        }
    size_t m = 0;
    for (size_t k = 0; k < T; k++) {
        int t = ord[k];
        if (m && !(tier_acc[t] > out->acc[m - 1]))
            continue; /* dominated: not more accurate than a cheaper one */
        /* pop vertices that fall on or below the chord (upper concave hull) */
        while (m >= 2) {
            double x1 = out->cost[m - 2], y1 = out->acc[m - 2], x2 = out->cost[m - 1], y2 = out->acc[m - 1];
            double cross = (x2 - x1) * (tier_acc[t] - y1) - (y2 - y1) * (tier_cost[t] - x1);
            if (cross >= 0)
                m--;
            else
                break;
        }
        out->tier[m] = t;
        out->cost[m] = tier_cost[t];
        out->acc[m] = tier_acc[t];
        m++;
    }
    out->n_pts = m;
}

double allot_uniform_at(const allot_uniform_frontier *u, double budget, int *lo, int *hi, double *w,
                        double *mean_cost) {
    size_t m = u->n_pts;
    int l = u->tier[0], h = u->tier[0];
    double ww = 0, a = u->acc[0], c = u->cost[0];
    if (m && budget >= u->cost[m - 1]) {
        l = h = u->tier[m - 1];
        a = u->acc[m - 1];
        c = u->cost[m - 1];
    } else if (m && budget > u->cost[0]) {
        for (size_t k = 0; k + 1 < m; k++) {
            if (budget >= u->cost[k] && budget < u->cost[k + 1]) {
                l = u->tier[k];
                h = u->tier[k + 1];
                ww = (budget - u->cost[k]) / (u->cost[k + 1] - u->cost[k]);
                a = (1 - ww) * u->acc[k] + ww * u->acc[k + 1];
                c = budget;
                if (ww == 0) h = l;
                break;
            }
        }
    }
    if (lo) *lo = l;
    if (hi) *hi = h;
    if (w) *w = ww;
    if (mean_cost) *mean_cost = c;
    return a;
}

double allot_uniform_budget_for(const allot_uniform_frontier *u, double a) {
    size_t m = u->n_pts;
    if (!m) return INFINITY;
    if (a <= u->acc[0]) return u->cost[0];
    for (size_t k = 0; k + 1 < m; k++)
        if (a <= u->acc[k + 1])
            return u->cost[k] + (a - u->acc[k]) / (u->acc[k + 1] - u->acc[k]) * (u->cost[k + 1] - u->cost[k]);
    return INFINITY;
}

int allot_best_single_tier(const double *tier_acc, const double *tier_cost, size_t T, double budget) {
    int best = -1;
    double tol = 1e-9 * (fabs(budget) > 1 ? fabs(budget) : 1);
    for (size_t t = 0; t < T; t++) {
        if (tier_cost[t] > budget + tol) continue;
        if (best < 0 || tier_acc[t] > tier_acc[best] ||
            (tier_acc[t] == tier_acc[best] && tier_cost[t] < tier_cost[best]))
            best = (int)t;
    }
    return best;
}

int allot_uniform_mix_choose(const double *acc, const double *cost, size_t n, size_t T, double budget,
                             allot_uniform_mix *out) {
    memset(out, 0, sizeof *out);
    double *ta = malloc((T ? T : 1) * sizeof *ta), *tc = malloc((T ? T : 1) * sizeof *tc);
    if (!ta || !tc) {
        free(ta);
        free(tc);
        return -1;
    }
    allot_tier_means(acc, cost, n, T, ta, tc);
    allot_uniform_frontier u;
    allot_uniform_frontier_build(ta, tc, T, &u);
    out->acc = allot_uniform_at(&u, budget, &out->lo, &out->hi, &out->w, &out->cost);
    free(ta);
    free(tc);
    return 0;
}

double allot_uniform_mix_query_acc(const allot_uniform_mix *m, const double *acc_row) {
    return (1 - m->w) * acc_row[m->lo] + m->w * acc_row[m->hi];
}

double allot_uniform_mix_query_cost(const allot_uniform_mix *m, const double *cost_row) {
    return (1 - m->w) * cost_row[m->lo] + m->w * cost_row[m->hi];
}
