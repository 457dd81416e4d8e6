/*
 * oracle.c - exact budgeted allocation: per-query upper concave hulls, a selection (not a full
 * sort) of the hull segment where the budget runs out, and the binary search on lambda.
 *
 * Exact method, O(N T log T) for the hulls plus expected O(N T) for the rest:
 *   1. per query: sort tiers by (cost asc, acc desc, index asc), drop dominated tiers, keep the
 *      upper concave hull (vertex tier indices, 2 bytes each). While building, draw a stratified
 *      random sample of hull segments (one per block of `stride` segments).
 *   2. the sample, sorted by slope and weighted by cost, brackets the slope where the budget runs
 *      out; one pass then takes every segment steeper than the bracket and collects the segments
 *      inside it (a few percent of all);
 *   3. a weighted quickselect over those candidates, in the total order (slope desc, query asc,
 *      segment asc), finds the first segment that does not fit: everything before it is taken.
 *   If the bracket missed (rare), the pass is retried with a wider bracket, then with everything.
 * Memory: 2 bytes per (query, tier) for hull vertices plus 4 bytes per query, plus the candidates.
 */
#include "oracle.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint16_t hv_t; /* a hull vertex: tier index */

#define ORACLE_MAX_TIERS 65535u
#define SAMPLE_MAX 32768u          /* at most this many sampled segments for the bracket */
#define SAMPLE_MIN_SEGMENTS 16384u /* below this many segments, no sampling: select over all */

/* ---------------------------------------------------------------------------------------------- */
/* small helpers                                                                                    */

static uint64_t mix64(uint64_t *s) {
    /* splitmix64: a local, seeded stream (no global state) */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Slack of every "fits in the budget" test: 8 units in the last place of the total budget. Totals
 * are compensated sums (within about one rounding of exact), so a budget computed as the cost of
 * some allocation (a frontier breakpoint, B = total / N) compares as exactly on it, while the slack
 * can buy no more than lambda* x 8 ulps of budget in the LP. */
static double budget_tol(double cap) {
    return 8 * DBL_EPSILON * fabs(cap);
}

/* Neumaier's compensated sum. */
typedef struct ksum {
    double s, c;
} ksum;

static inline void ks_add(ksum *k, double x) {
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

static inline double ks_val(const ksum *k) {
    return k->s + k->c;
}

/* k - x without losing k's small parts (x close to k). */
static inline double ks_minus(const ksum *k, double x) {
    return (k->s - x) + k->c;
}

/*
 * The segment (cost dc) where the budget runs out, with `left` of the budget remaining before it.
 * A remainder or shortfall within rounding - at most min(8 ulps of the budget, 1e-9 x dc) - counts
 * as exactly on a breakpoint: returns 1 (take the segment whole), 0 (nothing fractional), or -1 (a
 * genuine fraction left / dc). The LP value moves by at most 1e-9 of one hull step.
 */
static int breakpoint_rule(double left, double dc, double tol) {
    double eps = fmin(tol, 1e-9 * dc);
    if (dc - left <= eps) return 1;
    if (left <= eps) return 0;
    return -1;
}

static double seg_slope(const double *a, const double *c, int from, int to) {
    return (a[to] - a[from]) / (c[to] - c[from]);
}

/*
 * The smallest optimal price when the budget sits exactly on a breakpoint: the steepest slope from
 * any query's current tier (cur_tier(i)) to a costlier, more accurate tier, 0 if there is none.
 * Scans all tiers (O(N T)); used only in that case, identically by exact and bisect.
 */
static double next_price(const double *acc, const double *cost, size_t n, size_t t, const hv_t *hull,
                         const hv_t *pos, const int *ch) {
    double best = 0;
    for (size_t i = 0; i < n; i++) {
        const double *a = acc + i * t, *c = cost + i * t;
        int b = hull ? hull[i * t + pos[i]] : ch[i];
        for (size_t j = 0; j < t; j++) {
            if (c[j] > c[b] && a[j] > a[b]) {
                double sl = seg_slope(a, c, b, (int)j);
                if (sl > best) best = sl;
            }
        }
    }
    return best;
}

/* Tier order: cheaper first; at equal cost more accurate first; then lower index. */
static int tier_before(const double *a, const double *c, int x, int y) {
    if (c[x] != c[y]) return c[x] < c[y];
    if (a[x] != a[y]) return a[x] > a[y];
    return x < y;
}

static void sort_tiers(const double *a, const double *c, size_t t, int *order, int *scratch) {
    for (size_t j = 0; j < t; j++) order[j] = (int)j;
    if (t <= 32) {
        /* insertion sort: tiers usually arrive in cost order, making this linear */
        for (size_t j = 1; j < t; j++) {
            int x = order[j];
            size_t k = j;
            while (k > 0 && tier_before(a, c, x, order[k - 1])) {
                order[k] = order[k - 1];
                k--;
            }
            order[k] = x;
        }
        return;
    }
    /* bottom-up merge sort for many tiers */
    int *src = order, *dst = scratch;
    for (size_t w = 1; w < t; w *= 2) {
        for (size_t lo = 0; lo < t; lo += 2 * w) {
            size_t mid = lo + w < t ? lo + w : t, hi = lo + 2 * w < t ? lo + 2 * w : t;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = tier_before(a, c, src[j], src[i]) ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        int *tmp = src;
        src = dst;
        dst = tmp;
    }
    if (src != order) memcpy(order, src, t * sizeof *order);
}

/*
 * One query's upper concave hull over its non-dominated tiers. hull receives vertex tier indices
 * in increasing cost (strictly increasing cost and accuracy); returns the vertex count (>= 1).
 * Slopes are compared exactly as they are later recomputed (same division), so consecutive
 * computed slopes are non-increasing: a query's segments are always taken as a prefix.
 */
static size_t build_hull(const double *a, const double *c, size_t t, int *order, int *scratch, hv_t *hull,
                         double *sl) {
    /* sl[k] (k >= 1) caches the slope of the segment ending at hull[k], computed once */
    sort_tiers(a, c, t, order, scratch);
    size_t h = 0;
    for (size_t j = 0; j < t; j++) {
        int x = order[j];
        /* dominated: not strictly more accurate than a cheaper (or equally cheap) kept tier */
        if (h > 0 && !(a[x] > a[hull[h - 1]])) continue;
        double s_new = 0;
        if (h > 0) {
            s_new = seg_slope(a, c, hull[h - 1], x);
            while (h >= 2 && s_new > sl[h - 1]) {
                h--;
                s_new = seg_slope(a, c, hull[h - 1], x);
            }
        }
        sl[h] = s_new;
        hull[h++] = (hv_t)x;
    }
    return h;
}

/* ---------------------------------------------------------------------------------------------- */
/* validation                                                                                      */

/* Input rules for one row (query i). */
static allot_status validate_row(const double *a, const double *c, size_t t, size_t i, allot_error *err) {
    for (size_t j = 0; j < t; j++) {
        if (!isfinite(a[j]))
            return allot_error_set(err, ALLOT_E_INVALID, "oracle: query %zu tier %zu: acc is not finite", i,
                                   j);
        if (!isfinite(c[j]) || c[j] < 0)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "oracle: query %zu tier %zu: cost %g is negative or not finite", i, j,
                                   c[j]);
    }
    return ALLOT_OK;
}

/* Everything but the per-value scan (done row by row where the rows are read anyway). */
static allot_status check_shape(const double *acc, const double *cost, size_t n, size_t t, allot_error *err) {
    if (n > 0 && (!acc || !cost))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "oracle: acc or cost is NULL");
    if (n > 0 && (t == 0 || t > ORACLE_MAX_TIERS))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "oracle: %zu tiers (need 1..%u)", t, ORACLE_MAX_TIERS);
    if ((uint64_t)n >= UINT32_MAX)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "oracle: too many queries (%zu)", n);
    return ALLOT_OK;
}

allot_status allot_oracle_validate(const double *acc, const double *cost, size_t n, size_t t,
                                   allot_error *err) {
    allot_status st = check_shape(acc, cost, n, t, err);
    for (size_t i = 0; i < n && st == ALLOT_OK; i++) st = validate_row(acc + i * t, cost + i * t, t, i, err);
    return st;
}

/* full: also scan every value (bisect); exact and frontier validate rows while building hulls */
static allot_status check_args(const double *acc, const double *cost, size_t n, size_t t, double budget,
                               allot_oracle_result *out, int full, allot_error *err) {
    if (!out) return allot_error_set(err, ALLOT_E_ARGUMENT, "oracle: out is NULL");
    if (!isfinite(budget) || budget < 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "oracle: budget %g must be finite and >= 0", budget);
    return full ? allot_oracle_validate(acc, cost, n, t, err) : check_shape(acc, cost, n, t, err);
}

/* ---------------------------------------------------------------------------------------------- */
/* hulls of all queries                                                                            */

typedef struct seg_sample {
    double slope, dc;
} seg_sample;

typedef struct hull_set {
    size_t n, t;
    hv_t *v;            /* n x t vertex tier indices (first nv[i] valid) */
    hv_t *nv;           /* vertices per query */
    size_t m;           /* total hull segments */
    ksum base_k, top_k; /* the same two totals, compensated */
    double base_cost;   /* total cost of the all-cheapest allocation */
    double top_cost;    /* total cost of the all-most-accurate allocation */
    double max_slope;   /* largest segment slope (0 if none) */
    double max_step;    /* largest segment accuracy step */
    /* the sample (only when sampling) */
    seg_sample *samples;
    size_t n_samples;
} hull_set;

static void hull_set_free(hull_set *hs) {
    free(hs->v);
    free(hs->nv);
    free(hs->samples);
    memset(hs, 0, sizeof *hs);
}

static allot_status hull_set_build(const double *acc, const double *cost, size_t n, size_t t, int sample,
                                   hull_set *hs, allot_error *err) {
    memset(hs, 0, sizeof *hs);
    hs->n = n;
    hs->t = t;
    hs->v = malloc(n * t * sizeof *hs->v);
    hs->nv = malloc(n * sizeof *hs->nv);
    int *order = malloc(2 * t * sizeof *order);
    double *sl = malloc(t * sizeof *sl);
    size_t m_upper = n * (t - 1), stride = 0, next_pick = 0, block = 0;
    uint64_t rs = 0x5EED0F0A11070ull;
    if (sample && m_upper > SAMPLE_MIN_SEGMENTS) {
        /* about m^(2/3) samples balances sorting the sample (S log S) against the candidates
           inside the bracket (~8 m / sqrt(S)) */
        size_t target = (size_t)pow((double)m_upper, 2.0 / 3.0);
        if (target > SAMPLE_MAX) target = SAMPLE_MAX;
        stride = m_upper / target;
        hs->samples = malloc((m_upper / stride + 2) * sizeof *hs->samples);
        if (!hs->samples) goto nomem;
        next_pick = (size_t)(mix64(&rs) % stride);
    }
    if (!hs->v || !hs->nv || !order || !sl) goto nomem;
    size_t g = 0; /* global segment counter */
    ksum base = {0, 0}, top = {0, 0};
    for (size_t i = 0; i < n; i++) {
        const double *a = acc + i * t, *c = cost + i * t;
        hv_t *hv = hs->v + i * t;
        allot_status st = validate_row(a, c, t, i, err);
        if (st != ALLOT_OK) {
            free(order);
            free(sl);
            hull_set_free(hs);
            return st;
        }
        size_t h = build_hull(a, c, t, order, order + t, hv, sl);
        hs->nv[i] = (hv_t)h;
        ks_add(&base, c[hv[0]]);
        ks_add(&top, c[hv[h - 1]]);
        if (h > 1 && sl[1] > hs->max_slope) hs->max_slope = sl[1];
        for (size_t j = 0; j + 1 < h; j++) {
            double step = a[hv[j + 1]] - a[hv[j]];
            if (step > hs->max_step) hs->max_step = step;
            if (stride && g == next_pick) {
                hs->samples[hs->n_samples].slope = sl[j + 1];
                hs->samples[hs->n_samples].dc = c[hv[j + 1]] - c[hv[j]];
                hs->n_samples++;
                block++;
                next_pick = block * stride + (size_t)(mix64(&rs) % stride);
            }
            g++;
        }
    }
    hs->m = g;
    hs->base_k = base;
    hs->top_k = top;
    hs->base_cost = ks_val(&base);
    hs->top_cost = ks_val(&top);
    free(order);
    free(sl);
    return ALLOT_OK;
nomem:
    free(order);
    free(sl);
    hull_set_free(hs);
    return allot_error_set(err, ALLOT_E_NOMEM, "oracle: out of memory for %zu x %zu hulls", n, t);
}

/* ---------------------------------------------------------------------------------------------- */
/* candidates and the weighted selection                                                           */

typedef struct cand {
    double slope, dc;
    uint32_t q;
    uint32_t seg;
} cand;

/* The walk order: steeper first, then lower query, then earlier segment (a query's prefix). */
static int cand_before(const cand *x, const cand *y) {
    if (x->slope != y->slope) return x->slope > y->slope;
    if (x->q != y->q) return x->q < y->q;
    return x->seg < y->seg;
}

static void cand_swap(cand *x, cand *y) {
    cand tmp = *x;
    *x = *y;
    *y = tmp;
}

/*
 * Weighted quickselect. Finds the first candidate c (in walk order) whose cumulative cost,
 * including itself, exceeds rem. On return a[0..c) are exactly the candidates before it, *left is
 * rem minus their cost. Returns k when everything fits. Requires rem >= 0.
 */
static size_t select_crossing(cand *a, size_t k, double rem, double *left) {
    size_t lo = 0, hi = k;
    uint64_t rs = 0xC0FFEEull;
    while (hi > lo) {
        size_t len = hi - lo, p = lo;
        if (len > 2) {
            /* median of three random positions */
            size_t p1 = lo + (size_t)(mix64(&rs) % len), p2 = lo + (size_t)(mix64(&rs) % len),
                   p3 = lo + (size_t)(mix64(&rs) % len);
            if (cand_before(&a[p2], &a[p1])) {
                size_t x = p1;
                p1 = p2;
                p2 = x;
            }
            /* now a[p1] <= a[p2]; the median is p2, p3 or p1 */
            if (cand_before(&a[p3], &a[p2])) p2 = cand_before(&a[p3], &a[p1]) ? p1 : p3;
            p = p2;
        }
        cand_swap(&a[p], &a[hi - 1]);
        const cand piv = a[hi - 1];
        size_t store = lo;
        ksum wk = {0, 0};
        for (size_t i = lo; i + 1 < hi; i++) {
            if (cand_before(&a[i], &piv)) {
                ks_add(&wk, a[i].dc);
                cand_swap(&a[i], &a[store]);
                store++;
            }
        }
        cand_swap(&a[store], &a[hi - 1]);
        double w = ks_val(&wk);
        if (w > rem) {
            hi = store; /* the crossing is before the pivot */
        } else if (w + piv.dc > rem) {
            *left = rem - w;
            return store;
        } else {
            rem = fmax(0.0, (rem - w) - piv.dc); /* rounding must not make it negative */
            lo = store + 1;
        }
    }
    *left = rem;
    return k;
}

static int cmp_sample_desc(const void *x, const void *y) {
    double a = ((const seg_sample *)x)->slope, b = ((const seg_sample *)y)->slope;
    return (a < b) - (a > b);
}

static int cmp_cand(const void *x, const void *y) {
    const cand *a = x, *b = y;
    if (cand_before(a, b)) return -1;
    if (cand_before(b, a)) return 1;
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* result helpers                                                                                  */

static void finish_alloc(const double *acc, const double *cost, size_t n, size_t t, const int *ch,
                         int *choice, size_t *tier_counts, double *sum_acc, double *sum_cost) {
    ksum ka = {0, 0}, kc = {0, 0};
    if (tier_counts) memset(tier_counts, 0, t * sizeof *tier_counts);
    for (size_t i = 0; i < n; i++) {
        int j = ch[i];
        ks_add(&ka, acc[i * t + (size_t)j]);
        ks_add(&kc, cost[i * t + (size_t)j]);
        if (tier_counts) tier_counts[j]++;
        if (choice) choice[i] = j;
    }
    *sum_acc = ks_val(&ka);
    *sum_cost = ks_val(&kc);
}

double allot_oracle_dual(const double *acc, const double *cost, size_t n, size_t t, double lambda,
                         double budget) {
    if (n == 0) return lambda * budget;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        const double *a = acc + i * t, *c = cost + i * t;
        double best = a[0] - lambda * c[0];
        for (size_t j = 1; j < t; j++) {
            double v = a[j] - lambda * c[j];
            if (v > best) best = v;
        }
        s += best;
    }
    return s / (double)n + lambda * budget;
}

static void result_empty(allot_oracle_result *out) {
    memset(out, 0, sizeof *out);
    out->frac_query = -1;
    out->frac_from = out->frac_to = -1;
    out->feasible = 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* exact                                                                                           */

/* One counting pass with bracket [lo, hi]: segments steeper than hi are taken (pos, *cum),
 * segments inside are appended to the candidates. */
static allot_status bracket_pass(const double *acc, const double *cost, const hull_set *hs, double lo,
                                 double hi, hv_t *pos, ksum *cum, cand **cands, size_t *n_cands,
                                 size_t *cap_cands, allot_error *err) {
    size_t n = hs->n, t = hs->t, k = 0;
    ksum s_cum = hs->base_k;
    for (size_t i = 0; i < n; i++) {
        const double *a = acc + i * t, *c = cost + i * t;
        const hv_t *hv = hs->v + i * t;
        size_t h = hs->nv[i], p = 0;
        for (size_t j = 0; j + 1 < h; j++) {
            double s = seg_slope(a, c, hv[j], hv[j + 1]);
            if (s > hi) {
                p++;
                ks_add(&s_cum, c[hv[j + 1]] - c[hv[j]]);
            } else if (s >= lo) {
                if (k == *cap_cands) {
                    size_t nc = *cap_cands ? 2 * *cap_cands : 1024;
                    cand *tmp = realloc(*cands, nc * sizeof *tmp);
                    if (!tmp)
                        return allot_error_set(err, ALLOT_E_NOMEM, "oracle: out of memory for candidates");
                    *cands = tmp;
                    *cap_cands = nc;
                }
                cand *x = &(*cands)[k++];
                x->slope = s;
                x->dc = c[hv[j + 1]] - c[hv[j]];
                x->q = (uint32_t)i;
                x->seg = (uint32_t)j;
            } else {
                break; /* slopes are non-increasing along a hull */
            }
        }
        pos[i] = (hv_t)p;
    }
    *cum = s_cum;
    *n_cands = k;
    return ALLOT_OK;
}

allot_status allot_oracle_solve_exact(const double *acc, const double *cost, size_t n, size_t t,
                                      double budget, int *choice, size_t *tier_counts,
                                      allot_oracle_result *out, allot_error *err) {
    allot_status st = check_args(acc, cost, n, t, budget, out, 0, err);
    if (st != ALLOT_OK) return st;
    result_empty(out);
    if (tier_counts) memset(tier_counts, 0, t * sizeof *tier_counts);
    if (n == 0) return ALLOT_OK;

    hull_set hs;
    st = hull_set_build(acc, cost, n, t, 1, &hs, err);
    if (st != ALLOT_OK) return st;

    const double cap = budget * (double)n, tol = budget_tol(cap);
    hv_t *pos = calloc(n, sizeof *pos);
    cand *cands = NULL;
    size_t n_cands = 0, cap_cands = 0;
    if (!pos) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "oracle: out of memory");
        goto done;
    }

    long frac_q = -1;
    size_t frac_seg = 0;
    double frac_w = 0, lambda = 0;
    if (!(ks_minus(&hs.base_k, cap) <= tol)) {
        /* infeasible: everyone at the cheapest tier (pos = 0) */
        out->feasible = 0;
        lambda = hs.max_slope;
    } else if (ks_minus(&hs.top_k, cap) <= 0) {
        /* the budget never binds */
        for (size_t i = 0; i < n; i++) pos[i] = (hv_t)(hs.nv[i] - 1);
        lambda = 0;
    } else {
        double lo = -1.0, hi = INFINITY;
        size_t margin = 0;
        if (hs.n_samples > 0) {
            qsort(hs.samples, hs.n_samples, sizeof *hs.samples, cmp_sample_desc);
            margin = 4 * (size_t)sqrt((double)hs.n_samples) + 16;
        }
        size_t crossing = 0;
        double left = 0;
        int found = 0;
        for (int attempt = 0; attempt < 3 && !found; attempt++) {
            lo = -1.0;
            hi = INFINITY;
            if (hs.n_samples > 0 && attempt < 2) {
                double scale = (double)hs.m / (double)hs.n_samples, est = hs.base_cost;
                size_t p = 0, mg = attempt == 0 ? margin : 8 * margin;
                while (p < hs.n_samples && est + scale * hs.samples[p].dc <= cap) {
                    est += scale * hs.samples[p].dc;
                    p++;
                }
                if (p >= mg) hi = hs.samples[p - mg].slope;
                if (p + mg < hs.n_samples) lo = hs.samples[p + mg].slope;
            }
            ksum cum;
            st = bracket_pass(acc, cost, &hs, lo, hi, pos, &cum, &cands, &n_cands, &cap_cands, err);
            if (st != ALLOT_OK) goto done;
            double rem = -ks_minus(&cum, cap);
            if (rem < 0) {
                if (hi < INFINITY) continue; /* crossing is steeper than the bracket */
                rem = 0; /* the cheapest allocation is over the budget by less than the slack */
            }
            crossing = select_crossing(cands, n_cands, rem, &left);
            if (crossing == n_cands && lo >= 0) continue; /* crossing is flatter than the bracket */
            found = 1;
        }
        if (!found) {
            st = allot_error_set(err, ALLOT_E_INTERNAL, "oracle: the budget crossing was not found");
            goto done;
        }
        for (size_t k = 0; k < crossing; k++) pos[cands[k].q]++;
        if (crossing < n_cands) {
            const cand *x = &cands[crossing];
            lambda = x->slope;
            switch (breakpoint_rule(left, x->dc, tol)) {
            case 1: /* on the breakpoint at its end: taken whole; lambda* the next segment's slope */
                pos[x->q]++;
                lambda = next_price(acc, cost, n, t, hs.v, pos, NULL);
                break;
            case 0: break; /* on the breakpoint at its start: nothing fractional */
            default:
                frac_q = (long)x->q;
                frac_seg = x->seg;
                frac_w = left / x->dc;
                break;
            }
        } else {
            lambda = 0; /* everything fit after all (rounding at the very top) */
        }
    }

    /* one pass: the allocation, its totals, the counts and L(lambda) over all tiers */
    ksum ka = {0, 0}, kc = {0, 0}, kd = {0, 0};
    for (size_t i = 0; i < n; i++) {
        const double *a = acc + i * t, *c = cost + i * t;
        int j = hs.v[i * t + pos[i]];
        ks_add(&ka, a[j]);
        ks_add(&kc, c[j]);
        if (choice) choice[i] = j;
        if (tier_counts) tier_counts[j]++;
        double best = a[0] - lambda * c[0];
        for (size_t k = 1; k < t; k++) {
            double v = a[k] - lambda * c[k];
            if (v > best) best = v;
        }
        ks_add(&kd, best);
    }
    const double sa = ks_val(&ka), sc = ks_val(&kc), dual = ks_val(&kd);
    out->lambda = lambda;
    out->mean_acc = sa / (double)n;
    out->mean_cost = sc / (double)n;
    out->lp_value = out->mean_acc;
    if (frac_q >= 0) {
        const hv_t *hv = hs.v + (size_t)frac_q * t;
        const double *a = acc + (size_t)frac_q * t;
        out->frac_query = frac_q;
        out->frac_from = hv[frac_seg];
        out->frac_to = hv[frac_seg + 1];
        out->frac_weight = frac_w;
        out->lp_value = (sa + frac_w * (a[out->frac_to] - a[out->frac_from])) / (double)n;
    }
    out->dual_bound = out->feasible ? dual / (double)n + lambda * budget : out->lp_value;

done:
    free(cands);
    free(pos);
    hull_set_free(&hs);
    return st;
}

/* ---------------------------------------------------------------------------------------------- */
/* price choice and bisection                                                                      */

/* Argmax of acc - lambda*cost per query, ties to the cheaper tier, then the lower index. */
static void choose_totals(const double *acc, const double *cost, size_t n, size_t t, double lambda,
                          int *choice, ksum *tot_cost, double *tot_acc) {
    ksum kc = {0, 0};
    double sa = 0;
    for (size_t i = 0; i < n; i++) {
        const double *a = acc + i * t, *c = cost + i * t;
        size_t b = 0;
        double bv = a[0] - lambda * c[0];
        for (size_t j = 1; j < t; j++) {
            double v = a[j] - lambda * c[j];
            if (v > bv || (v == bv && c[j] < c[b])) {
                b = j;
                bv = v;
            }
        }
        if (choice) choice[i] = (int)b;
        ks_add(&kc, c[b]); /* compared with the budget: compensated */
        sa += a[b];
    }
    *tot_cost = kc;
    *tot_acc = sa;
}

double allot_oracle_choose(const double *acc, const double *cost, size_t n, size_t t, double lambda,
                           int *choice, double *mean_acc) {
    if (n == 0) {
        if (mean_acc) *mean_acc = 0;
        return 0;
    }
    ksum sc;
    double sa;
    choose_totals(acc, cost, n, t, lambda, choice, &sc, &sa);
    if (mean_acc) *mean_acc = sa / (double)n;
    return ks_val(&sc) / (double)n;
}

static uint64_t dbits(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double bitsd(uint64_t u) {
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

allot_status allot_oracle_solve_bisect(const double *acc, const double *cost, size_t n, size_t t,
                                       double budget, int iters, int *choice, size_t *tier_counts,
                                       allot_oracle_result *out, allot_error *err) {
    allot_status st = check_args(acc, cost, n, t, budget, out, 1, err);
    if (st != ALLOT_OK) return st;
    result_empty(out);
    if (tier_counts) memset(tier_counts, 0, t * sizeof *tier_counts);
    if (n == 0) return ALLOT_OK;

    const double cap = budget * (double)n, tol = budget_tol(cap);
    int *hi_ch = malloc(n * sizeof *hi_ch), *lo_ch = malloc(n * sizeof *lo_ch);
    if (!hi_ch || !lo_ch) {
        free(hi_ch);
        free(lo_ch);
        return allot_error_set(err, ALLOT_E_NOMEM, "oracle: out of memory");
    }

    /* the cheapest allocation and the steepest first hull segment (the largest useful price) */
    double max_slope = 0;
    ksum kbase = {0, 0};
    for (size_t i = 0; i < n; i++) {
        const double *a = acc + i * t, *c = cost + i * t;
        size_t b = 0;
        for (size_t j = 1; j < t; j++)
            if (tier_before(a, c, (int)j, (int)b)) b = j;
        hi_ch[i] = (int)b;
        ks_add(&kbase, c[b]);
        for (size_t j = 0; j < t; j++) {
            if (c[j] > c[b] && a[j] > a[b]) {
                double s = seg_slope(a, c, (int)b, (int)j);
                if (s > max_slope) max_slope = s;
            }
        }
    }

    long frac_q = -1;
    int frac_from = -1, frac_to = -1;
    double frac_w = 0, lambda = 0, extra_acc = 0;
    ksum tc;
    double ta;
    if (!(ks_minus(&kbase, cap) <= tol)) {
        out->feasible = 0;
        lambda = max_slope;
    } else if (ks_minus(&kbase, cap) > 0) {
        /* the cheapest allocation is over the budget by less than the slack: on its breakpoint */
        lambda = max_slope;
    } else {
        choose_totals(acc, cost, n, t, 0.0, hi_ch, &tc, &ta);
        if (ks_minus(&tc, cap) > 0) {
            /* binding: invariant cost(lo) > cap >= cost(hi); search over the ordered doubles */
            double hi = max_slope > 0 ? max_slope * (1 + 1e-9) + DBL_MIN : DBL_MIN;
            choose_totals(acc, cost, n, t, hi, NULL, &tc, &ta);
            for (int g = 0; g < 64 && ks_minus(&tc, cap) > 0; g++) {
                hi *= 2;
                choose_totals(acc, cost, n, t, hi, NULL, &tc, &ta);
            }
            if (ks_minus(&tc, cap) > 0) {
                free(hi_ch);
                free(lo_ch);
                return allot_error_set(err, ALLOT_E_INTERNAL, "oracle: no price reaches the budget");
            }
            uint64_t lob = dbits(0.0), hib = dbits(hi);
            for (int it = 0; it < iters && hib - lob > 1; it++) {
                uint64_t mid = lob + (hib - lob) / 2;
                choose_totals(acc, cost, n, t, bitsd(mid), NULL, &tc, &ta);
                if (ks_minus(&tc, cap) <= 0)
                    hib = mid;
                else
                    lob = mid;
            }
            lambda = bitsd(hib);
            ksum lc;
            double la;
            choose_totals(acc, cost, n, t, lambda, hi_ch, &tc, &ta);
            choose_totals(acc, cost, n, t, bitsd(lob), lo_ch, &lc, &la);
            /* LP: move the queries whose choice differs, in index order (the order exact takes tied
               segments in), until the budget runs out */
            double rem = -ks_minus(&tc, cap);
            int crossed = 0;
            for (size_t i = 0; i < n && !crossed; i++) {
                if (hi_ch[i] == lo_ch[i]) continue;
                const double *a = acc + i * t, *c = cost + i * t;
                double dc = c[lo_ch[i]] - c[hi_ch[i]], da = a[lo_ch[i]] - a[hi_ch[i]];
                if (!(dc > 0)) continue;
                if (dc <= rem) {
                    rem -= dc;
                    extra_acc += da;
                    continue;
                }
                int rule = breakpoint_rule(rem, dc, tol);
                if (rule == 1) {
                    /* the budget sits on the breakpoint after this query: the integral allocation
                       takes every query moved so far and this one, like exact */
                    for (size_t q = 0; q <= i; q++) hi_ch[q] = lo_ch[q];
                    extra_acc = 0;
                    lambda = next_price(acc, cost, n, t, NULL, NULL, hi_ch);
                } else if (rule < 0) {
                    frac_q = (long)i;
                    frac_from = hi_ch[i];
                    frac_to = lo_ch[i];
                    frac_w = rem / dc;
                }
                crossed = 1;
            }
            if (!crossed && extra_acc != 0) {
                /* every differing query fit: cost(lo) exceeded the budget only by rounding, the
                   budget is on the breakpoint after all of them */
                memcpy(hi_ch, lo_ch, n * sizeof *hi_ch);
                extra_acc = 0;
                lambda = next_price(acc, cost, n, t, NULL, NULL, hi_ch);
            }
        }
    }

    double sa, sc;
    finish_alloc(acc, cost, n, t, hi_ch, choice, tier_counts, &sa, &sc);
    out->lambda = lambda;
    out->mean_acc = sa / (double)n;
    out->mean_cost = sc / (double)n;
    out->lp_value = out->mean_acc;
    if (frac_q >= 0 || extra_acc != 0) {
        double fa = 0;
        if (frac_q >= 0) {
            const double *a = acc + (size_t)frac_q * t;
            out->frac_query = frac_q;
            out->frac_from = frac_from;
            out->frac_to = frac_to;
            out->frac_weight = frac_w;
            fa = frac_w * (a[frac_to] - a[frac_from]);
        }
        out->lp_value = (sa + extra_acc + fa) / (double)n;
    }
    out->dual_bound = out->feasible ? allot_oracle_dual(acc, cost, n, t, lambda, budget) : out->lp_value;
    free(hi_ch);
    free(lo_ch);
    return ALLOT_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* frontier and small helpers                                                                      */

allot_status allot_oracle_frontier(const double *acc, const double *cost, size_t n, size_t t,
                                   allot_frontier_point **points, size_t *n_points, allot_error *err) {
    if (!points || !n_points) return allot_error_set(err, ALLOT_E_ARGUMENT, "oracle: points is NULL");
    *points = NULL;
    *n_points = 0;
    allot_status st = check_shape(acc, cost, n, t, err);
    if (st != ALLOT_OK) return st;
    if (n == 0) {
        allot_frontier_point *p = malloc(sizeof *p);
        if (!p) return allot_error_set(err, ALLOT_E_NOMEM, "oracle: out of memory");
        p->lambda = INFINITY;
        p->mean_cost = p->mean_acc = 0;
        *points = p;
        *n_points = 1;
        return ALLOT_OK;
    }
    hull_set hs;
    st = hull_set_build(acc, cost, n, t, 0, &hs, err);
    if (st != ALLOT_OK) return st;
    cand *cands = NULL;
    size_t n_cands = 0, cap_cands = 0;
    hv_t *pos = malloc(n * sizeof *pos);
    allot_frontier_point *pts = NULL;
    ksum cum = {0, 0};
    if (!pos) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "oracle: out of memory");
        goto done;
    }
    st = bracket_pass(acc, cost, &hs, -1.0, INFINITY, pos, &cum, &cands, &n_cands, &cap_cands, err);
    if (st != ALLOT_OK) goto done;
    if (n_cands > 1) qsort(cands, n_cands, sizeof *cands, cmp_cand);
    pts = malloc((n_cands + 1) * sizeof *pts);
    if (!pts) {
        st =
            allot_error_set(err, ALLOT_E_NOMEM, "oracle: out of memory for %zu frontier points", n_cands + 1);
        goto done;
    }
    ksum sc = hs.base_k, sa = {0, 0};
    for (size_t i = 0; i < n; i++) ks_add(&sa, acc[i * t + hs.v[i * t]]);
    pts[0].lambda = INFINITY;
    pts[0].mean_cost = ks_val(&sc) / (double)n;
    pts[0].mean_acc = ks_val(&sa) / (double)n;
    for (size_t k = 0; k < n_cands; k++) {
        const cand *x = &cands[k];
        const hv_t *hv = hs.v + (size_t)x->q * t;
        const double *a = acc + (size_t)x->q * t;
        ks_add(&sc, x->dc);
        ks_add(&sa, a[hv[x->seg + 1]] - a[hv[x->seg]]);
        pts[k + 1].lambda = x->slope;
        pts[k + 1].mean_cost = ks_val(&sc) / (double)n;
        pts[k + 1].mean_acc = ks_val(&sa) / (double)n;
    }
    *points = pts;
    *n_points = n_cands + 1;
    pts = NULL;
done:
    free(pts);
    free(pos);
    free(cands);
    hull_set_free(&hs);
    return st;
}

double allot_oracle_frontier_value(const allot_frontier_point *points, size_t n_points, double budget) {
    if (!points || n_points == 0) return 0;
    if (budget <= points[0].mean_cost) return points[0].mean_acc;
    if (budget >= points[n_points - 1].mean_cost) return points[n_points - 1].mean_acc;
    /* binary search for the segment [k-1, k] containing budget */
    size_t lo = 0, hi = n_points - 1; /* cost(lo) < budget <= cost(hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (points[mid].mean_cost < budget)
            lo = mid;
        else
            hi = mid;
    }
    double dc = points[hi].mean_cost - points[lo].mean_cost;
    if (!(dc > 0)) return points[hi].mean_acc;
    double w = (budget - points[lo].mean_cost) / dc;
    return points[lo].mean_acc + w * (points[hi].mean_acc - points[lo].mean_acc);
}

double allot_oracle_max_increment(const double *acc, const double *cost, size_t n, size_t t) {
    if (n == 0 || t == 0 || t > ORACLE_MAX_TIERS) return 0;
    hv_t *hv = malloc(t * sizeof *hv);
    int *order = malloc(2 * t * sizeof *order);
    double *sl = malloc(t * sizeof *sl), best = 0;
    if (hv && order && sl) {
        for (size_t i = 0; i < n; i++) {
            const double *a = acc + i * t, *c = cost + i * t;
            size_t h = build_hull(a, c, t, order, order + t, hv, sl);
            for (size_t j = 0; j + 1 < h; j++) {
                double step = a[hv[j + 1]] - a[hv[j]];
                if (step > best) best = step;
            }
        }
    }
    free(hv);
    free(order);
    free(sl);
    return best;
}
