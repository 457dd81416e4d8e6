/* calibrate.c - decision rules and the bisection on mu (see calibrate.h). */
#include "calibrate.h"

#include <math.h>

int allot_decide_argmax(const double *prob, int K) {
    int best = 0;
    for (int c = 1; c < K; c++)
        if (prob[c] > prob[best]) best = c;
    return best;
}

int allot_decide_calibrated(const double *prob, int K, const double *class_cost, double mu) {
    int best = 0;
    double bs = -INFINITY;
    for (int c = 0; c < K; c++) {
        double p = prob[c] > ALLOT_LEARN_MIN_PROB ? prob[c] : ALLOT_LEARN_MIN_PROB;
        double s = log(p) - mu * class_cost[c];
        if (s > bs || (s == bs && class_cost[c] < class_cost[best])) {
            bs = s;
            best = c;
        }
    }
    return best;
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

double allot_calibrate_mu(const double *prob, size_t n, int K, const double *class_cost, const double *realised,
                          double budget) {
    /* slack for rounding in the mean */
    double tol = 1e-9 * (fabs(budget) > 1 ? fabs(budget) : 1);
    double hi = 1.0;
    int it = 0;
    while (allot_calibrated_mean_cost(prob, n, K, class_cost, realised, hi, NULL) > budget + tol && it++ < 200)
        hi *= 2;
    if (it > 200) return hi;
    double lo = -1.0;
    it = 0;
    while (allot_calibrated_mean_cost(prob, n, K, class_cost, realised, lo, NULL) <= budget + tol && it++ < 200)
        lo *= 2;
    if (it > 200) return lo;
    /* invariant: cost(lo) > budget, cost(hi) <= budget */
    for (int k = 0; k < 200 && hi - lo > 1e-12 * (fabs(hi) > 1 ? fabs(hi) : 1); k++) {
        double mid = 0.5 * (lo + hi);
        if (allot_calibrated_mean_cost(prob, n, K, class_cost, realised, mid, NULL) <= budget + tol) hi = mid;
        else lo = mid;
    }
    return hi;
}
