/*
 * methods.c - the allocation methods, each run on one replay order (view).
 *
 * Every method hands out samples through one dealer (deal_one): a query's next sample is the next
 * one of its fixed order; a sample is dealt only if the spend stays within the total budget, and
 * the run ends at the first sample that would overspend; a query asked for a sample beyond its pool
 * is marked exhausted (counted once) and skipped. Rounds deal "round-robin": pass r gives one
 * sample to every picked query whose quota for the round exceeds r, in the round's order, so a
 * round cut short by the budget leaves the picked queries within one sample of each other.
 *
 * The rules, exactly as implemented (docs/replay.md says the same in prose):
 *
 * uniform      rounds of one sample for every query, in the view's round order, until the budget
 *              or every pool runs out (a budget of k x N gives every query exactly k samples).
 * bandit       (elimination, ucb, gap, entropy; pure exploration over the batch)
 *              active set A = all queries. Round 0: every query in A gets K samples. Round t > 0:
 *              elimination picks every query in A; ucb, gap and entropy rank A by their index and
 *              pick the first ceil(pick_frac x |A|) (at least 1), and deal to them in rank order.
 *              After a round, a picked query leaves A when one of the samples it received in that
 *              round has reward >= gamma (reward = correct in {0,1}, or `score` with --reward
 *              score, NaN = never), or when its pool is exhausted. Ends when the budget runs out
 *              or A is empty (the rest of the budget is then unspent).
 *                ucb:     mean reward of the query's samples + c sqrt(ln T / m)  (T = samples dealt
 *                         in the batch so far, m = the query's samples; m = 0 ranks first)
 *                gap:     best reward so far - gamma (the query closest to the threshold first)
 *                entropy: Shannon entropy (nats) of the query's answers so far, null answers
 *                         counted as one more answer (most diverse first)
 *              Ties: fewer samples first, then the view's round order. With a perfect verifier
 *              every active query has reward 0 so far, so ucb and gap reduce to "fewest samples
 *              first" (round-robin over half the active set); entropy is the rule that sees data.
 * adaptive-consistency  per query, rounds of one sample for every unstopped query; after each
 *              sample, with a / b the vote counts of the leading and runner-up non-null answers,
 *              stop once P(p > 1/2 | p ~ Beta(a+1, b+1)) >= threshold (allot_replay_beta_stop_prob)
 *              or after ac_max samples.
 * early-stop   per query, rounds of one window of w samples (the last window cut at es_max);
 *              stop when the window just drawn holds w identical non-null answers, or at es_max.
 * bins-oracle / bins-predicted  queries split into two halves (a seeded permutation, the same for
 *              every replay order; fold 0 = the first floor(N/2)). For each half: difficulty bins
 *              from the other half (edges at the 20/40/60/80% quantiles of the other half's
 *              difficulty scores; a query's bin = number of edges <= its score, so tied scores
 *              share a bin and some bins may stay empty), then per bin a tier k in
 *              {0, 1, 2, 4, ..., pool max} chosen on the other half: maximise its total expected
 *              accuracy (the oracle's curves below) with its total expected cost <= budget x its
 *              size (exhaustive search over bins x tiers; ties to the cheaper, then the first
 *              found; a bin no fitting query falls in gets the largest k <= budget); then this
 *              half is dealt its bins' k round-robin within budget x its size.
 *              Oracle difficulty = pass rate over the whole pool (upper bound, not deployable).
 *              Predicted difficulty = ridge regression of pass rate on the runtime featuriser's
 *              built-in text features of the prompt (allot_features.h: lengths, numbers,
 *              operators, keywords...; standardised, lambda = 0.01 x rows), fitted on the other
 *              half (deployable: only the prompt, known before any generation, is used).
 * policy       a learned policy bundle (replay.h, allot_replay_policy): per query the tier of the
 *              calibrated rule at the smallest price mu whose mean tier cost is <= budget, dealt
 *              round-robin within the budget; the parameter column reports mu.
 * oracle       the budgeted oracle of `allot solve` on curves built from the same pools: tiers
 *              k = 0..pool max; acc = the expected accuracy of k samples drawn at random from the
 *              query's pool (majority / best: mean over 64 seeded permutations of the pool, the
 *              same permutations for every k; oracle-coverage: pass@k exactly); cost = k (or k x
 *              the pool's mean cost). allot_oracle_solve_exact gives each query its k (integral,
 *              mean expected cost <= budget); the replay then deals each query its k round-robin
 *              within the budget, and the allocation is scored on the replayed samples like every
 *              other method. It knows each query's curve, not the order of its samples.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot_features.h"
#include "replay.h"
#include "replay_internal.h"
#include "rng.h"

#ifdef ALLOT_REPLAY_HAVE_SOLVE
#include "oracle.h"
#endif

/* ---- the dealer --------------------------------------------------------------------------------- */

typedef struct dealer {
    const allot_replay_view *v;
    const allot_replay_options *o;
    size_t *alloc;
    double total, spent;
    int budget_out;
    unsigned char *exhausted;
    size_t n_exhausted;
    allot_replay_run_info *info;
} dealer;

static size_t pool_n(const allot_replay_view *v, size_t i) {
    return v->off[i + 1] - v->off[i];
}

static const allot_replay_sample *sample_at(const allot_replay_view *v, size_t i, size_t j) {
    return &v->s[v->off[i] + j];
}

/* 1: dealt; 0: pool exhausted (marked); -1: the budget would be exceeded (run over). */
static int deal_one(dealer *d, size_t i) {
    if (d->budget_out) return -1;
    if (d->alloc[i] >= pool_n(d->v, i)) {
        if (!d->exhausted[i]) {
            d->exhausted[i] = 1;
            d->n_exhausted++;
        }
        return 0;
    }
    double c = d->o->unit == ALLOT_REPLAY_UNIT_SAMPLES ? 1.0 : sample_at(d->v, i, d->alloc[i])->cost;
    if (d->spent + c > d->total + 1e-9 * (d->total > 1 ? d->total : 1)) {
        d->budget_out = 1;
        return -1;
    }
    d->spent += c;
    d->alloc[i]++;
    allot_replay_run_info *in = d->info;
    if (in->trace && in->trace_len < in->trace_cap) in->trace[in->trace_len] = i;
    in->trace_len++;
    return 1;
}

/* One round: quota[j] samples for picked[j], round-robin. Returns the number of samples dealt. */
static size_t deal_round(dealer *d, const size_t *picked, const size_t *quota, size_t np) {
    size_t maxq = 0, dealt = 0;
    for (size_t j = 0; j < np; j++)
        if (quota[j] > maxq) maxq = quota[j];
    for (size_t r = 0; r < maxq && !d->budget_out; r++)
        for (size_t j = 0; j < np; j++) {
            if (quota[j] <= r || d->exhausted[picked[j]]) continue;
            int got = deal_one(d, picked[j]);
            if (got < 0) return dealt;
            dealt += (size_t)got;
        }
    return dealt;
}

/* ---- rewards and per-query statistics ----------------------------------------------------------- */

static double reward_of(const allot_replay_sample *s, allot_replay_reward r) {
    if (r == ALLOT_REPLAY_REWARD_CORRECT) return s->correct ? 1.0 : 0.0;
    return isnan(s->score) ? -INFINITY : s->score;
}

/* Entropy (nats) of the answers among query i's first m samples; null answers are one category. */
static double answer_entropy(const allot_replay_view *v, size_t i, size_t m, int *cnt) {
    int na = v->pools->q[i].n_answers;
    for (int a = 0; a <= na; a++) cnt[a] = 0;
    for (size_t j = 0; j < m; j++) {
        int a = sample_at(v, i, j)->answer;
        cnt[a < 0 ? na : a]++;
    }
    double h = 0;
    for (int a = 0; a <= na; a++)
        if (cnt[a]) {
            double p = (double)cnt[a] / (double)m;
            h -= p * log(p);
        }
    return h;
}

/* Leading and runner-up vote counts among non-null answers of the first m samples. */
static void top_two(const allot_replay_view *v, size_t i, size_t m, int *cnt, int *a, int *b) {
    int na = v->pools->q[i].n_answers;
    for (int x = 0; x < na; x++) cnt[x] = 0;
    for (size_t j = 0; j < m; j++) {
        int x = sample_at(v, i, j)->answer;
        if (x >= 0) cnt[x]++;
    }
    *a = *b = 0;
    for (int x = 0; x < na; x++) {
        if (cnt[x] > *a) {
            *b = *a;
            *a = cnt[x];
        } else if (cnt[x] > *b) {
            *b = cnt[x];
        }
    }
}

static int max_answers(const allot_replay_view *v) {
    int m = 0;
    for (size_t i = 0; i < v->n; i++)
        if (v->pools->q[i].n_answers > m) m = v->pools->q[i].n_answers;
    return m;
}

/* ---- uniform ------------------------------------------------------------------------------------ */

static void run_uniform(dealer *d, size_t *picked, size_t *quota) {
    const allot_replay_view *v = d->v;
    for (size_t j = 0; j < v->n; j++) {
        picked[j] = v->round_order[j];
        quota[j] = 1;
    }
    while (!d->budget_out) {
        d->info->rounds++;
        if (deal_round(d, picked, quota, v->n) == 0) break;
    }
}

/* ---- bandits ------------------------------------------------------------------------------------ */

typedef struct ranked {
    double index;
    size_t m, pos, q;
} ranked;

static int ranked_cmp(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->index != b->index) return a->index > b->index ? -1 : 1; /* larger index first */
    if (a->m != b->m) return a->m < b->m ? -1 : 1;                 /* fewer samples first */
    return a->pos < b->pos ? -1 : (a->pos > b->pos);               /* then round order */
}

static allot_status run_bandit(dealer *d, allot_replay_method m, size_t *picked, size_t *quota,
                               allot_error *err) {
    const allot_replay_view *v = d->v;
    const allot_replay_options *o = d->o;
    size_t n = v->n;
    unsigned char *active = malloc(n ? n : 1);
    ranked *rk = malloc((n ? n : 1) * sizeof *rk);
    size_t *start = malloc((n ? n : 1) * sizeof *start);
    int *cnt = malloc(((size_t)max_answers(v) + 1) * sizeof *cnt);
    if (!active || !rk || !start || !cnt) {
        free(active);
        free(rk);
        free(start);
        free(cnt);
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    }
    memset(active, 1, n);
    size_t K = o->K > 0 ? (size_t)o->K : 1;
    for (size_t round = 0; !d->budget_out; round++) {
        size_t na = 0;
        for (size_t j = 0; j < n; j++) {
            size_t q = v->round_order[j];
            if (!active[q]) continue;
            ranked *r = &rk[na++];
            r->q = q;
            r->pos = j;
            r->m = d->alloc[q];
            r->index = 0;
            if (round == 0 || m == ALLOT_REPLAY_ELIMINATION) continue;
            if (r->m == 0) {
                r->index = INFINITY;
                continue;
            }
            double sum = 0, best = -INFINITY;
            for (size_t s = 0; s < r->m; s++) {
                double w = reward_of(sample_at(v, q, s), o->reward);
                if (w > best) best = w;
                if (isfinite(w)) sum += w;
            }
            if (m == ALLOT_REPLAY_UCB) {
                double T = d->info->trace_len > 1 ? (double)d->info->trace_len : 1.0;
                r->index = sum / (double)r->m + o->ucb_c * sqrt(log(T) / (double)r->m);
            } else if (m == ALLOT_REPLAY_GAP) {
                r->index = best - o->gamma;
            } else {
                r->index = answer_entropy(v, q, r->m, cnt);
            }
        }
        if (na == 0) break;
        size_t np = na;
        if (round > 0 && m != ALLOT_REPLAY_ELIMINATION) {
            qsort(rk, na, sizeof *rk, ranked_cmp);
            double want = ceil(o->pick_frac * (double)na);
            np = want < 1 ? 1 : (want > (double)na ? na : (size_t)want);
        }
        for (size_t j = 0; j < np; j++) {
            picked[j] = rk[j].q;
            quota[j] = K;
            start[j] = d->alloc[rk[j].q];
        }
        d->info->rounds++;
        size_t dealt = deal_round(d, picked, quota, np);
        for (size_t j = 0; j < np; j++) {
            size_t q = picked[j];
            for (size_t s = start[j]; s < d->alloc[q]; s++)
                if (reward_of(sample_at(v, q, s), o->reward) >= o->gamma) active[q] = 0;
            if (d->exhausted[q]) active[q] = 0;
        }
        if (dealt == 0 && !d->budget_out) {
            /* nothing could be dealt: every picked query is exhausted and has just left A */
            int any = 0;
            for (size_t j = 0; j < np; j++) any |= active[picked[j]];
            if (any) break; /* cannot happen; guards against a loop */
        }
    }
    free(active);
    free(rk);
    free(start);
    free(cnt);
    return ALLOT_OK;
}

/* ---- per-query stopping rules ------------------------------------------------------------------- */

static allot_status run_stopping(dealer *d, allot_replay_method m, double param, size_t *picked,
                                 size_t *quota, allot_error *err) {
    const allot_replay_view *v = d->v;
    const allot_replay_options *o = d->o;
    size_t n = v->n;
    unsigned char *stopped = calloc(n ? n : 1, 1);
    size_t *start = malloc((n ? n : 1) * sizeof *start);
    int *cnt = malloc(((size_t)max_answers(v) + 1) * sizeof *cnt);
    if (!stopped || !start || !cnt) {
        free(stopped);
        free(start);
        free(cnt);
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    }
    int ac = m == ALLOT_REPLAY_ADAPTIVE_CONSISTENCY;
    double thr = ac ? (isfinite(param) ? param : o->ac_threshold) : 0;
    size_t w = ac ? 1 : (size_t)(isfinite(param) ? param : o->es_window);
    if (w < 1) w = 1;
    size_t maxn = (size_t)(ac ? o->ac_max : o->es_max);
    if (maxn < 1) maxn = 1;
    d->info->param = ac ? thr : (double)w;
    while (!d->budget_out) {
        size_t np = 0;
        for (size_t j = 0; j < n; j++) {
            size_t q = v->round_order[j];
            if (stopped[q]) continue;
            picked[np] = q;
            size_t left = maxn - d->alloc[q];
            quota[np] = w < left ? w : left;
            start[np] = d->alloc[q];
            np++;
        }
        if (np == 0) break;
        d->info->rounds++;
        deal_round(d, picked, quota, np);
        if (d->budget_out) break;
        for (size_t j = 0; j < np; j++) {
            size_t q = picked[j];
            size_t mq = d->alloc[q];
            if (d->exhausted[q] || mq >= maxn) {
                stopped[q] = 1;
                continue;
            }
            if (ac) {
                int a, b;
                top_two(v, q, mq, cnt, &a, &b);
                if (allot_replay_beta_stop_prob(a, b) >= thr) stopped[q] = 1;
            } else if (mq - start[j] == w) {
                int first = sample_at(v, q, start[j])->answer, same = first >= 0;
                for (size_t s = start[j] + 1; s < mq && same; s++) same = sample_at(v, q, s)->answer == first;
                if (same) stopped[q] = 1;
            }
        }
    }
    free(stopped);
    free(start);
    free(cnt);
    return ALLOT_OK;
}

/* ---- difficulty bins ---------------------------------------------------------------------------- */

static int dbl_cmp(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : (a > b);
}

/*
 * Ridge regression of y on the d columns of X (n x d, row-major) over the rows idx[0..m):
 * columns standardised on those rows (NaN = the column mean; a constant column is ignored),
 * penalty lambda = 0.01 m on the standardised weights, intercept = mean of y. Fills pred[i] for
 * every row i of X. Normal equations solved by Gaussian elimination with partial pivoting.
 */
static allot_status ridge_predict(const double *X, const double *y, size_t n, size_t d, const size_t *idx,
                                  size_t m, double *pred, allot_error *err) {
    double *mu = calloc(d ? d : 1, sizeof *mu), *sd = calloc(d ? d : 1, sizeof *sd);
    double *A = calloc((d ? d : 1) * (d + 1), sizeof *A), *w = calloc(d ? d : 1, sizeof *w);
    if (!mu || !sd || !A || !w) {
        free(mu), free(sd), free(A), free(w);
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    }
    double ybar = 0;
    for (size_t r = 0; r < m; r++) ybar += y[idx[r]] / (double)(m ? m : 1);
    for (size_t j = 0; j < d; j++) {
        size_t cnt = 0;
        for (size_t r = 0; r < m; r++) {
            double x = X[idx[r] * d + j];
            if (isfinite(x)) {
                mu[j] += x;
                cnt++;
            }
        }
        mu[j] = cnt ? mu[j] / (double)cnt : 0;
        for (size_t r = 0; r < m; r++) {
            double x = X[idx[r] * d + j];
            if (isfinite(x)) sd[j] += (x - mu[j]) * (x - mu[j]);
        }
        sd[j] = cnt > 1 ? sqrt(sd[j] / (double)(cnt - 1)) : 0;
    }
#define Z(row, j) (sd[j] > 0 && isfinite(X[(row)*d + (j)]) ? (X[(row)*d + (j)] - mu[j]) / sd[j] : 0.0)
    /* A = [Z'Z + lambda I | Z'(y - ybar)] */
    double lambda = 0.01 * (double)m + 1e-9;
    for (size_t r = 0; r < m; r++) {
        size_t row = idx[r];
        for (size_t a = 0; a < d; a++) {
            double za = Z(row, a);
            if (za == 0) continue;
            for (size_t b = 0; b < d; b++) A[a * (d + 1) + b] += za * Z(row, b);
            A[a * (d + 1) + d] += za * (y[row] - ybar);
        }
    }
    for (size_t a = 0; a < d; a++) A[a * (d + 1) + a] += lambda;
    for (size_t c = 0; c < d; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < d; r++)
            if (fabs(A[r * (d + 1) + c]) > fabs(A[piv * (d + 1) + c])) piv = r;
        if (piv != c)
            for (size_t k = 0; k <= d; k++) {
                double t = A[c * (d + 1) + k];
                A[c * (d + 1) + k] = A[piv * (d + 1) + k];
                A[piv * (d + 1) + k] = t;
            }
        double pv = A[c * (d + 1) + c];
        if (pv == 0) continue; /* cannot happen with lambda > 0 */
        for (size_t r = c + 1; r < d; r++) {
            double f = A[r * (d + 1) + c] / pv;
            if (f == 0) continue;
            for (size_t k = c; k <= d; k++) A[r * (d + 1) + k] -= f * A[c * (d + 1) + k];
        }
    }
    for (size_t c = d; c-- > 0;) {
        double sum = A[c * (d + 1) + d];
        for (size_t k = c + 1; k < d; k++) sum -= A[c * (d + 1) + k] * w[k];
        w[c] = A[c * (d + 1) + c] != 0 ? sum / A[c * (d + 1) + c] : 0;
    }
    for (size_t i = 0; i < n; i++) {
        double s = ybar;
        for (size_t j = 0; j < d; j++) s += w[j] * Z(i, j);
        pred[i] = s;
    }
#undef Z
    free(mu), free(sd), free(A), free(w);
    return ALLOT_OK;
}

/* The deployable difficulty inputs: the runtime featuriser's built-in text features of the prompt
 * (include/allot/allot_features.h; no extras, no hashing). n x d into *X (malloc). */
static allot_status prompt_features(const allot_replay_view *v, double **X, size_t *d, allot_error *err) {
    allot_featurizer *f = NULL;
    allot_status st = allot_featurizer_create_default(NULL, 0, 0, &f, err);
    if (st != ALLOT_OK) return st;
    size_t nd = allot_featurizer_n_dense(f), n = v->n;
    float *row = malloc((nd ? nd : 1) * sizeof *row);
    *X = malloc((n ? n : 1) * (nd ? nd : 1) * sizeof **X);
    if (!row || !*X) {
        free(row);
        free(*X);
        *X = NULL;
        allot_featurizer_free(f);
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    }
    for (size_t i = 0; i < n && st == ALLOT_OK; i++) {
        const char *pr = v->pools->q[i].prompt;
        st = allot_featurize(f, pr, pr ? strlen(pr) : 0, NULL, 0, row, NULL, NULL, 0, NULL, err);
        for (size_t j = 0; j < nd; j++) (*X)[i * nd + j] = row[j];
    }
    free(row);
    allot_featurizer_free(f);
    *d = nd;
    if (st != ALLOT_OK) {
        free(*X);
        *X = NULL;
    }
    return st;
}

typedef struct bin_search {
    size_t T;
    const double *acc, *cost; /* bins x T */
    double limit;
    size_t cur[ALLOT_REPLAY_N_BINS], best[ALLOT_REPLAY_N_BINS];
    double best_acc, best_cost;
    int found;
} bin_search;

static void bin_enum(bin_search *s, int b, double acc, double cost) {
    if (cost > s->limit + 1e-9 * (s->limit > 1 ? s->limit : 1)) return; /* costs are >= 0: prune */
    if (b == ALLOT_REPLAY_N_BINS) {
        if (!s->found || acc > s->best_acc + 1e-12 ||
            (fabs(acc - s->best_acc) <= 1e-12 && cost < s->best_cost)) {
            s->found = 1;
            s->best_acc = acc;
            s->best_cost = cost;
            memcpy(s->best, s->cur, sizeof s->best);
        }
        return;
    }
    for (size_t t = 0; t < s->T; t++) {
        s->cur[b] = t;
        bin_enum(s, b + 1, acc + s->acc[(size_t)b * s->T + t], cost + s->cost[(size_t)b * s->T + t]);
    }
}

static int bin_of(double x, const double *edges) {
    int b = 0;
    for (int e = 0; e < ALLOT_REPLAY_N_BINS - 1; e++) b += x >= edges[e];
    return b;
}

/* Expected coverage of k samples drawn without replacement from a pool of n with c correct:
 * pass@k = 1 - C(n-c, k) / C(n, k), as a product so that it stays in range. */
static double pass_at_k(size_t n, size_t c, size_t k) {
    if (k == 0) return 0.0;
    if (n - c < k) return 1.0;
    double q = 1.0;
    for (size_t j = 0; j < k; j++) q *= (double)(n - c - j) / (double)(n - j);
    return 1.0 - q;
}

#define ALLOT_REPLAY_ORACLE_PERMUTATIONS 64

/*
 * Every query's expected curve over k = 0..T-1 samples drawn at random from its pool (k beyond
 * the pool = the whole pool): coverage = pass@k exactly; accuracy (majority / best) = the mean
 * over ALLOT_REPLAY_ORACLE_PERMUTATIONS seeded permutations of the pool of the accuracy of their
 * first k (the same permutations for every k; seeded by the query id, independent of the replay
 * order). cost = k, or k x the pool's mean cost. acc and cost are n x T, row-major.
 */
static allot_status expected_curves(const allot_replay_view *v, const allot_replay_options *o, int coverage,
                                    size_t T, double *acc, double *cost, allot_error *err) {
    const allot_replay_pools *p = v->pools;
    size_t n = v->n;
    double *curve = malloc(T * sizeof *curve);
    int *scratch = malloc(2 * ((size_t)max_answers(v) + 1) * sizeof *scratch);
    uint32_t *perm = malloc(T * sizeof *perm);
    allot_replay_sample *tmp = malloc(T * sizeof *tmp);
    if (!curve || !scratch || !perm || !tmp) {
        free(curve), free(scratch), free(perm), free(tmp);
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    }
    memset(acc, 0, (n ? n : 1) * T * sizeof *acc);
    for (size_t i = 0; i < n; i++) {
        const allot_replay_query *q = &p->q[i];
        size_t pn = q->n, c = 0;
        double mean_cost = 0;
        for (size_t j = 0; j < pn; j++) {
            c += (size_t)q->s[j].correct;
            mean_cost += q->s[j].cost / (double)pn;
        }
        double *a = &acc[i * T];
        if (coverage) {
            for (size_t k = 0; k < T; k++) a[k] = pass_at_k(pn, c, k < pn ? k : pn);
        } else {
            /* the first k of seeded random permutations of the pool, the same permutations for every
             * k (per query, independent of the replay order) */
            allot_rng rng;
            allot_rng_seed_stream(&rng, o->seed ^ 0x6f7261636c65ULL /* "oracle" */,
                                  allot_hash64(q->id, strlen(q->id)));
            allot_replay_query one = *q;
            one.s = tmp;
            allot_replay_pools pp = *p;
            pp.q = &one;
            pp.n = 1;
            size_t off[2] = {0, pn};
            allot_replay_view vv;
            memset(&vv, 0, sizeof vv);
            vv.pools = &pp;
            vv.n = 1;
            vv.off = off;
            vv.s = tmp;
            for (int r = 0; r < ALLOT_REPLAY_ORACLE_PERMUTATIONS; r++) {
                for (uint32_t j = 0; j < pn; j++) perm[j] = j;
                allot_rng_shuffle_u32(&rng, perm, pn);
                for (size_t j = 0; j < pn; j++) tmp[j] = q->s[perm[j]];
                allot_replay_query_curve(&vv, 0, o->select, curve, NULL, scratch);
                for (size_t k = 0; k < T; k++)
                    a[k] += curve[k < pn ? k : pn] / ALLOT_REPLAY_ORACLE_PERMUTATIONS;
            }
        }
        for (size_t k = 0; k < T; k++) {
            size_t kk = k < pn ? k : pn; /* beyond the pool: the same samples (dominated) */
            cost[i * T + k] = o->unit == ALLOT_REPLAY_UNIT_SAMPLES ? (double)kk : (double)kk * mean_cost;
        }
    }
    free(curve), free(scratch), free(perm), free(tmp);
    return ALLOT_OK;
}

static allot_status run_bins(dealer *d, int predicted, double budget, size_t *picked, size_t *quota,
                             allot_error *err) {
    const allot_replay_view *v = d->v;
    const allot_replay_options *o = d->o;
    size_t n = v->n, nmax = v->pools->n_max;
    size_t tiers[64], T = 0;
    tiers[T++] = 0;
    for (size_t k = 1; k < nmax && T < 63; k *= 2) tiers[T++] = k;
    tiers[T++] = nmax;
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    double *score = malloc((n ? n : 1) * sizeof *score);
    double *X = NULL; /* prompt features (bins-predicted) */
    size_t nx = 0;
    allot_status st = ALLOT_OK;
    double *sorted = malloc((n ? n : 1) * sizeof *sorted);
    double *curve = malloc((nmax + 1) * sizeof *curve);
    int *scratch = malloc(2 * ((size_t)max_answers(v) + 1) * sizeof *scratch);
    double *qacc = malloc((n ? n : 1) * T * sizeof *qacc);   /* per query x tier: expected accuracy */
    double *qcost = malloc((n ? n : 1) * T * sizeof *qcost); /* and expected cost */
    int *bin = malloc((n ? n : 1) * sizeof *bin);
    unsigned char *len_mark = malloc(n ? n : 1);
    if (!len_mark || !qcost || !perm || !score || !sorted || !curve || !scratch || !qacc || !bin) {
        free(perm), free(score), free(X), free(sorted), free(curve), free(scratch), free(qacc), free(qcost),
            free(bin), free(len_mark);
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    }
    /* each query's expected accuracy and cost at every k (what a tier choice is fitted on) */
    {
        size_t TT = nmax + 1;
        double *ea = malloc((n ? n : 1) * TT * sizeof *ea), *ec = malloc((n ? n : 1) * TT * sizeof *ec);
        if (!ea || !ec)
            st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        else
            st = expected_curves(v, o, 0, TT, ea, ec, err);
        for (size_t i = 0; st == ALLOT_OK && i < n; i++)
            for (size_t t = 0; t < T; t++) {
                qacc[i * T + t] = ea[i * TT + tiers[t]];
                qcost[i * T + t] = ec[i * TT + tiers[t]];
            }
        free(ea);
        free(ec);
    }
    if (predicted && st == ALLOT_OK) st = prompt_features(v, &X, &nx, err);
    /* the split does not depend on the shuffle: one seeded permutation of the queries */
    {
        allot_rng rng;
        allot_rng_seed_stream(&rng, o->seed, 0x666f6c6473ULL); /* "folds" */
        uint32_t *p32 = malloc((n ? n : 1) * sizeof *p32);
        if (!p32) {
            free(perm), free(score), free(X), free(sorted), free(curve), free(scratch), free(qacc),
                free(qcost), free(bin), free(len_mark);
            return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        }
        for (size_t i = 0; i < n; i++) p32[i] = (uint32_t)i;
        allot_rng_shuffle_u32(&rng, p32, n);
        for (size_t i = 0; i < n; i++) perm[i] = p32[i];
        free(p32);
    }
    size_t half = n / 2;
    double spent_all = 0;
    for (int fold = 0; fold < 2 && st == ALLOT_OK; fold++) {
        const size_t *eval = fold == 0 ? perm : perm + half;
        size_t n_eval = fold == 0 ? half : n - half;
        const size_t *fit = fold == 0 ? perm + half : perm;
        size_t n_fit = fold == 0 ? n - half : half;
        if (n_eval == 0) continue;
        /* difficulty scores (higher = easier) */
        if (!predicted) {
            for (size_t i = 0; i < n; i++) score[i] = v->pass_rate[i];
        } else {
            st = ridge_predict(X, v->pass_rate, n, nx, fit, n_fit, score, err);
            if (st != ALLOT_OK) break;
        }
        double edges[ALLOT_REPLAY_N_BINS - 1];
        for (size_t j = 0; j < n_fit; j++) sorted[j] = score[fit[j]];
        qsort(sorted, n_fit, sizeof *sorted, dbl_cmp);
        for (int e = 0; e < ALLOT_REPLAY_N_BINS - 1; e++)
            edges[e] = n_fit ? sorted[(size_t)((double)(e + 1) * (double)n_fit / ALLOT_REPLAY_N_BINS)] : 0;
        for (size_t i = 0; i < n; i++) bin[i] = bin_of(score[i], edges);
        /* per bin x tier totals on the fitting half */
        double bacc[ALLOT_REPLAY_N_BINS * 64] = {0}, bcost[ALLOT_REPLAY_N_BINS * 64] = {0};
        for (size_t j = 0; j < n_fit; j++) {
            size_t i = fit[j];
            for (size_t t = 0; t < T; t++) {
                bacc[(size_t)bin[i] * T + t] += qacc[i * T + t];
                bcost[(size_t)bin[i] * T + t] += qcost[i * T + t];
            }
        }
        bin_search bs;
        memset(&bs, 0, sizeof bs);
        bs.T = T;
        bs.acc = bacc;
        bs.cost = bcost;
        bs.limit = budget * (double)n_fit;
        bin_enum(&bs, 0, 0.0, 0.0);
        /* a bin without any fitting query has no evidence: it gets the largest tier within budget */
        size_t fit_n[ALLOT_REPLAY_N_BINS] = {0};
        for (size_t j = 0; j < n_fit; j++) fit_n[bin[fit[j]]]++;
        size_t fallback = 0;
        for (size_t t = 0; t < T; t++)
            if ((double)tiers[t] <= budget) fallback = t;
        for (int b = 0; b < ALLOT_REPLAY_N_BINS; b++)
            if (!fit_n[b]) bs.best[b] = fallback;
        /* deal this half its bins' tiers within budget x its size */
        dealer sub = *d;
        sub.total = isfinite(budget) ? budget * (double)n_eval : INFINITY;
        sub.spent = 0;
        sub.budget_out = 0;
        sub.n_exhausted = 0;
        /* round order restricted to this half */
        size_t np = 0;
        for (size_t i = 0; i < n; i++) len_mark[i] = 0;
        for (size_t e = 0; e < n_eval; e++) len_mark[eval[e]] = 1;
        for (size_t j = 0; j < n; j++) {
            size_t q = v->round_order[j];
            if (!len_mark[q]) continue;
            picked[np] = q;
            size_t want = bs.found ? tiers[bs.best[bin[q]]] : 1;
            quota[np] = want;
            np++;
        }
        deal_round(&sub, picked, quota, np);
        spent_all += sub.spent;
        d->n_exhausted += sub.n_exhausted;
        d->info->rounds++;
    }
    d->spent = spent_all;
    free(perm), free(score), free(X), free(sorted), free(curve), free(scratch), free(qacc), free(qcost),
        free(bin), free(len_mark);
    return st;
}

/* ---- oracle ------------------------------------------------------------------------------------- */

static allot_status run_oracle(dealer *d, int coverage, double budget, size_t *picked, size_t *quota,
                               allot_error *err) {
#ifdef ALLOT_REPLAY_HAVE_SOLVE
    const allot_replay_view *v = d->v;
    const allot_replay_options *o = d->o;
    size_t n = v->n, T = v->pools->n_max + 1;
    double *acc = calloc((n ? n : 1) * T, sizeof *acc);
    double *cost = malloc((n ? n : 1) * T * sizeof *cost);
    int *choice = malloc((n ? n : 1) * sizeof *choice);
    allot_status st = ALLOT_OK;
    if (!acc || !cost || !choice) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        goto done;
    }
    st = expected_curves(v, o, coverage, T, acc, cost, err);
    if (st != ALLOT_OK) goto done;
    allot_oracle_result res;
    st =
        allot_oracle_solve_exact(acc, cost, n, T, isfinite(budget) ? budget : 1e300, choice, NULL, &res, err);
    if (st != ALLOT_OK) goto done;
    /* deal each query its tier within the budget (realised costs may differ from expected ones) */
    for (size_t j = 0; j < n; j++) {
        picked[j] = v->round_order[j];
        quota[j] = (size_t)choice[v->round_order[j]];
    }
    deal_round(d, picked, quota, n);
    d->info->rounds = 1;
done:
    free(acc);
    free(cost);
    free(choice);
    return st;
#else
    (void)coverage;
    (void)budget;
    (void)picked;
    (void)quota;
    d->info->note = "oracle not built (trainer/solve missing in this tree)";
    return allot_error_set(err, ALLOT_E_UNSUPPORTED, "replay: %s", d->info->note);
#endif
}

/* ---- entry point -------------------------------------------------------------------------------- */

allot_status allot_replay_run(const allot_replay_view *v, allot_replay_method m, double budget, double param,
                              const allot_replay_options *o, size_t *alloc, allot_replay_run_info *info,
                              allot_error *err) {
    size_t *trace = info->trace, cap = info->trace_cap;
    memset(info, 0, sizeof *info);
    info->trace = trace;
    info->trace_cap = cap;
    info->param = NAN;
    if (!(budget >= 0)) return allot_error_set(err, ALLOT_E_ARGUMENT, "replay: budget must be >= 0");
    if (o->reward == ALLOT_REPLAY_REWARD_SCORE && !v->pools->has_scores &&
        (m >= ALLOT_REPLAY_ELIMINATION && m <= ALLOT_REPLAY_ENTROPY))
        return allot_error_set(err, ALLOT_E_INVALID, "replay: --reward score needs a score on every sample");
    size_t n = v->n;
    memset(alloc, 0, (n ? n : 1) * sizeof *alloc);
    dealer d;
    memset(&d, 0, sizeof d);
    d.v = v;
    d.o = o;
    d.alloc = alloc;
    d.total = budget * (double)n;
    d.info = info;
    d.exhausted = calloc(n ? n : 1, 1);
    size_t *picked = malloc((n ? n : 1) * sizeof *picked);
    size_t *quota = malloc((n ? n : 1) * sizeof *quota);
    allot_status st = ALLOT_OK;
    if (!d.exhausted || !picked || !quota) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        goto done;
    }
    switch (m) {
    case ALLOT_REPLAY_UNIFORM: run_uniform(&d, picked, quota); break;
    case ALLOT_REPLAY_ELIMINATION:
    case ALLOT_REPLAY_UCB:
    case ALLOT_REPLAY_GAP:
    case ALLOT_REPLAY_ENTROPY: st = run_bandit(&d, m, picked, quota, err); break;
    case ALLOT_REPLAY_ADAPTIVE_CONSISTENCY:
    case ALLOT_REPLAY_EARLY_STOP: st = run_stopping(&d, m, param, picked, quota, err); break;
    case ALLOT_REPLAY_BINS_ORACLE:
    case ALLOT_REPLAY_BINS_PREDICTED:
        st = run_bins(&d, m == ALLOT_REPLAY_BINS_PREDICTED, budget, picked, quota, err);
        break;
    case ALLOT_REPLAY_ORACLE:
    case ALLOT_REPLAY_ORACLE_COVERAGE:
        st = run_oracle(&d, m == ALLOT_REPLAY_ORACLE_COVERAGE, budget, picked, quota, err);
        break;
    case ALLOT_REPLAY_POLICY:
        if (!o->policy) {
            info->note = "no policy bundle given (--policy)";
            st = allot_error_set(err, ALLOT_E_UNSUPPORTED, "replay: %s", info->note);
            break;
        }
        if (allot_replay_policy_plan_view(o->policy, v, budget, o->unit, quota, &info->param, err) != n) {
            st = err && err->code ? err->code : ALLOT_E_ARGUMENT;
            break;
        }
        /* quota is indexed by query; deal in round order */
        for (size_t j = 0; j < n; j++) picked[j] = quota[j];
        for (size_t j = 0; j < n; j++) {
            quota[j] = picked[v->round_order[j]];
        }
        for (size_t j = 0; j < n; j++) picked[j] = v->round_order[j];
        deal_round(&d, picked, quota, n);
        info->rounds = 1;
        break;
    default: st = allot_error_set(err, ALLOT_E_ARGUMENT, "replay: unknown method %d", (int)m); break;
    }
    info->total = d.total;
    info->spent = d.spent;
    info->n_exhausted = d.n_exhausted;
done:
    free(d.exhausted);
    free(picked);
    free(quota);
    return st;
}
