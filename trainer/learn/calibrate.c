/* calibrate.c - decision rules and the bisection on mu (see calibrate.h). */
#include "calibrate.h"

#include <math.h>

#include "allot/allot_policy.h"

int allot_decide_argmax(const double *prob, int K) {
    return (int)allot_rule_apply(ALLOT_RULE_ARGMAX, 0.0, prob, NULL, (size_t)K);
}

int allot_decide_calibrated(const double *prob, int K, const double *class_cost, double mu) {
    return (int)allot_rule_apply(ALLOT_RULE_CALIBRATED, mu, prob, class_cost, (size_t)K);
}

int allot_decide_rule(allot_rule rule, const double *score, int K, const double *class_cost, double mu) {
    return (int)allot_rule_apply(rule, mu, score, class_cost, (size_t)K);
}

double allot_rule_mean_cost(allot_rule rule, const double *score, size_t n, int K, const double *class_cost,
                            const double *realised, double mu, int *choice) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        int c = allot_decide_rule(rule, score + i * (size_t)K, K, class_cost, mu);
        if (choice) choice[i] = c;
        s += realised[i * (size_t)K + (size_t)c];
    }
    return n ? s / (double)n : 0.0;
}

double allot_calibrate_price(allot_rule rule, const double *score, size_t n, int K, const double *class_cost,
                             const double *realised, double budget) {
    if (rule == ALLOT_RULE_CALIBRATED) return allot_calibrate_mu(score, n, K, class_cost, realised, budget);
    if (rule != ALLOT_RULE_VALUE) return 0.0;
    double tol = 1e-9 * (fabs(budget) > 1 ? fabs(budget) : 1);
    if (allot_rule_mean_cost(rule, score, n, K, class_cost, realised, 0.0, NULL) <= budget + tol) return 0.0;
    /* lambda is in accuracy per unit of cost: start the bracket at 1 / (largest price) */
    double cmax = 0;
    for (int c = 0; c < K; c++) cmax = class_cost[c] > cmax ? class_cost[c] : cmax;
    double lo = 0.0, hi = cmax > 0 ? 1.0 / cmax : 1.0;
    int it = 0;
    while (allot_rule_mean_cost(rule, score, n, K, class_cost, realised, hi, NULL) > budget + tol &&
           it++ < 200) {
        lo = hi;
        hi *= 2;
    }
    if (it > 200) return hi;
    for (int k = 0; k < 200 && hi - lo > 1e-12 * (hi > 1 ? hi : 1); k++) {
        double mid = 0.5 * (lo + hi);
        if (allot_rule_mean_cost(rule, score, n, K, class_cost, realised, mid, NULL) <= budget + tol)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

double allot_calibrated_mean_cost(const double *prob, size_t n, int K, const double *class_cost,
                                  const double *realised, double mu, int *choice) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        int c = allot_decide_calibrated(prob + i * (size_t)K, K, class_cost, mu);
        if (choice) choice[i] = c;
        s += realised[i * (size_t)K + (size_t)c];
    }
    return n ? s / (double)n : 0.0;
}

double allot_calibrate_mu(const double *prob, size_t n, int K, const double *class_cost,
                          const double *realised, double budget) {
    /* slack for rounding in the mean */
    double tol = 1e-9 * (fabs(budget) > 1 ? fabs(budget) : 1);
    double lo, hi; /* invariant: cost(lo) > budget, cost(hi) <= budget */
    if (allot_calibrated_mean_cost(prob, n, K, class_cost, realised, 0.0, NULL) <= budget + tol) {
        /* argmax meets B: raise the spend with a negative price while it still does */
        hi = 0.0;
        lo = -1.0;
        int it = 0;
        while (allot_calibrated_mean_cost(prob, n, K, class_cost, realised, lo, NULL) <= budget + tol) {
            if (++it > 64) {
                /* even the dearest choices fit: no price binds. Return the least negative price
                 * that already spends as much as any (0 when no price changes the spend, e.g. a
                 * single class), rather than an arbitrary huge one */
                double sat = allot_calibrated_mean_cost(prob, n, K, class_cost, realised, lo, NULL);
                double a = lo, b = 0.0; /* cost(a) == sat; find the largest such price */
                if (allot_calibrated_mean_cost(prob, n, K, class_cost, realised, b, NULL) >= sat - tol)
                    return 0.0;
                for (int k = 0; k < 200 && b - a > 1e-12 * (fabs(a) > 1 ? fabs(a) : 1); k++) {
                    double mid = 0.5 * (a + b);
                    if (allot_calibrated_mean_cost(prob, n, K, class_cost, realised, mid, NULL) >= sat - tol)
                        a = mid;
                    else
                        b = mid;
                }
                return a;
            }
            hi = lo;
            lo *= 2;
        }
    } else {
        lo = 0.0;
        hi = 1.0;
        int it = 0;
        while (allot_calibrated_mean_cost(prob, n, K, class_cost, realised, hi, NULL) > budget + tol &&
               it++ < 200) {
            lo = hi;
            hi *= 2;
        }
        if (it > 200) return hi;
    }
    for (int k = 0; k < 200 && hi - lo > 1e-12 * (fabs(hi) > 1 ? fabs(hi) : 1); k++) {
        double mid = 0.5 * (lo + hi);
        if (allot_calibrated_mean_cost(prob, n, K, class_cost, realised, mid, NULL) <= budget + tol)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}
