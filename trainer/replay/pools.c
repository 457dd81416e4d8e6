/*
 * pools.c - sample pools: loading, replay orders (views), and the metrics of an allocation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "replay_internal.h"
#include "rng.h"
#include "util.h"

#ifdef ALLOT_REPLAY_HAVE_RUNS
#include <cjson/cJSON.h>

#include "runs_reader.h"
#endif

/* ---- options and names -------------------------------------------------------------------------- */

void allot_replay_options_default(allot_replay_options *o) {
    memset(o, 0, sizeof *o);
    o->unit = ALLOT_REPLAY_UNIT_SAMPLES;
    o->reward = ALLOT_REPLAY_REWARD_CORRECT;
    o->select = ALLOT_REPLAY_SELECT_MAJORITY;
    o->K = 1;
    o->gamma = 1.0;
    o->ucb_c = 1.0;
    o->pick_frac = 0.5;
    o->ac_threshold = 0.95;
    o->ac_max = 40;
    o->es_window = 5;
    o->es_max = 40;
    o->seed = 1;
}

static const char *const method_names[ALLOT_REPLAY_N_METHODS] = {
    "uniform",    "elimination",     "ucb",
    "gap",        "entropy",         "adaptive-consistency",
    "early-stop", "bins-oracle",     "bins-predicted",
    "oracle",     "oracle-coverage", "policy"};

const char *allot_replay_method_name(allot_replay_method m) {
    return (m >= 0 && m < ALLOT_REPLAY_N_METHODS) ? method_names[m] : "?";
}

int allot_replay_method_parse(const char *name) {
    for (int m = 0; m < ALLOT_REPLAY_N_METHODS; m++)
        if (strcmp(name, method_names[m]) == 0) return m;
    return -1;
}

int allot_replay_bucket(double pass_rate) {
    int b = (int)floor(pass_rate * ALLOT_REPLAY_N_BINS);
    if (b < 0) b = 0;
    if (b >= ALLOT_REPLAY_N_BINS) b = ALLOT_REPLAY_N_BINS - 1;
    return b;
}

const char *allot_replay_bucket_name(int b) {
    static const char *const names[ALLOT_REPLAY_N_BINS] = {"p<0.2", "0.2<=p<0.4", "0.4<=p<0.6", "0.6<=p<0.8",
                                                           "p>=0.8"};
    return (b >= 0 && b < ALLOT_REPLAY_N_BINS) ? names[b] : "?";
}

/* ---- pools -------------------------------------------------------------------------------------- */

allot_status allot_replay_pools_add(allot_replay_pools *p, const char *id, const char *prompt,
                                    const allot_replay_sample *s, size_t n, int n_answers, allot_error *err) {
    if (!id || !s || n == 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "replay: query needs an id and samples");
    for (size_t j = 0; j < n; j++) {
        if (s[j].answer < -1 || s[j].answer >= n_answers)
            return allot_error_set(err, ALLOT_E_ARGUMENT, "replay: %s: sample %zu: answer id %d out of range",
                                   id, j, s[j].answer);
        if (!(s[j].cost >= 0) || !isfinite(s[j].cost))
            return allot_error_set(err, ALLOT_E_INVALID, "replay: %s: sample %zu: bad cost", id, j);
    }
    if (allot_reserve((void **)&p->q, &p->cap, p->n + 1, sizeof *p->q))
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    allot_replay_query *q = &p->q[p->n];
    memset(q, 0, sizeof *q);
    q->id = allot_strdup(id);
    q->prompt = prompt ? allot_strdup(prompt) : NULL;
    q->s = malloc(n * sizeof *q->s);
    if (!q->id || (prompt && !q->prompt) || !q->s) {
        free(q->id);
        free(q->prompt);
        free(q->s);
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    }
    memcpy(q->s, s, n * sizeof *s);
    q->n = n;
    q->n_answers = n_answers;
    if (p->n == 0) p->has_scores = 1;
    for (size_t j = 0; j < n; j++)
        if (isnan(s[j].score)) p->has_scores = 0;
    if (n > p->n_max) p->n_max = n;
    p->n++;
    return ALLOT_OK;
}

static void query_free(allot_replay_query *q) {
    free(q->id);
    free(q->prompt);
    free(q->record);
    for (int a = 0; q->answers && a < q->n_answers; a++) free(q->answers[a]);
    free(q->answers);
    free(q->s);
}

void allot_replay_pools_free(allot_replay_pools *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) query_free(&p->q[i]);
    free(p->q);
    free(p->model);
    memset(p, 0, sizeof *p);
}

#ifdef ALLOT_REPLAY_HAVE_RUNS
allot_status allot_replay_pools_load(const char *path, const char *model, allot_replay_pools *out,
                                     allot_error *err) {
    memset(out, 0, sizeof *out);
    allot_runs_reader *r = NULL;
    allot_status st = allot_runs_reader_open(path, &r, err);
    if (st != ALLOT_OK) return st;
    allot_replay_sample *buf = NULL;
    size_t cap = 0;
    for (;;) {
        allot_query q;
        int has = 0;
        st = allot_runs_reader_next(r, &q, &has, err);
        if (st != ALLOT_OK || !has) break;
        if (q.n_samples == 0) {
            st = allot_error_set(
                err, ALLOT_E_UNSUPPORTED,
                "%s:%zu: samples: replay deals recorded samples and this line has precomputed tier outcomes "
                "only; to evaluate a policy on such a file: allot curves FILE --out C.jsonl, then allot "
                "audit "
                "C.jsonl --policy P --budget B (any curves file with the policy's tiers)",
                path, q.line);
            break;
        }
        if (allot_reserve((void **)&buf, &cap, q.n_samples, sizeof *buf)) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
            break;
        }
        size_t n = 0;
        int any_answer = 0;
        for (size_t j = 0; j < q.n_samples; j++) {
            const allot_sample *s = &q.samples[j];
            if (model && strcmp(allot_runs_reader_model_name(r, s->model), model) != 0) continue;
            any_answer |= s->answer_present;
            buf[n].correct = s->correct ? 1 : 0;
            buf[n].answer = s->answer;
            buf[n].score = s->score;
            buf[n].cost = s->cost;
            n++;
        }
        if (n == 0) {
            out->n_skipped++;
            continue;
        }
        if (!any_answer && !out->no_answer_line) out->no_answer_line = q.line;
        st = allot_replay_pools_add(out, q.id, q.prompt, buf, n, (int)q.n_answers, err);
        if (st != ALLOT_OK) break;
        allot_replay_query *added = &out->q[out->n - 1];
        added->answers = calloc(q.n_answers ? q.n_answers : 1, sizeof *added->answers);
        for (size_t a = 0; added->answers && a < q.n_answers; a++)
            if (!(added->answers[a] = allot_strdup(q.answers[a]))) break;
        if (!added->answers || (q.n_answers && !added->answers[q.n_answers - 1])) {
            st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
            break;
        }
        if (q.n_features || q.meta_json) {
            char *rec = allot_runs_record_json(&q);
            if (!rec) {
                st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
                break;
            }
            out->q[out->n - 1].record = rec;
        }
    }
    if (st == ALLOT_OK) {
        size_t nm = allot_runs_reader_n_models(r);
        if (!model && nm > 1) {
            char list[300] = "";
            size_t used = 0;
            for (size_t m = 0; m < nm && used + 2 < sizeof list; m++) {
                int w = snprintf(list + used, sizeof list - used, "%s'%s'", m ? ", " : "",
                                 allot_runs_reader_model_name(r, (int)m));
                if (w < 0) break;
                used += (size_t)w;
            }
            st = allot_error_set(err, ALLOT_E_ARGUMENT, "%s: %zu models (%s): choose one with --model", path,
                                 nm, list);
        } else if (out->n == 0) {
            st = allot_error_set(err, ALLOT_E_INVALID, "%s: no query has samples%s%s", path,
                                 model ? " of model " : "", model ? model : "");
        } else {
            out->model = allot_strdup(model ? model : (nm == 1 ? allot_runs_reader_model_name(r, 0) : ""));
            if (!out->model) st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        }
    }
    free(buf);
    allot_runs_reader_close(r);
    if (st != ALLOT_OK) allot_replay_pools_free(out);
    return st;
}
#else
allot_status allot_replay_pools_load(const char *path, const char *model, allot_replay_pools *out,
                                     allot_error *err) {
    (void)model;
    memset(out, 0, sizeof *out);
    return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                           "%s: this build has no labelled-runs reader (trainer/runs)", path);
}
#endif

static int str_ptr_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

allot_status allot_replay_pools_keep(allot_replay_pools *p, const char *const *ids, size_t n_ids,
                                     size_t *n_kept, allot_error *err) {
    const char **sorted = malloc((n_ids ? n_ids : 1) * sizeof *sorted);
    if (!sorted) return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    for (size_t k = 0; k < n_ids; k++) sorted[k] = ids[k];
    qsort(sorted, n_ids, sizeof *sorted, str_ptr_cmp);
    size_t w = 0;
    p->n_max = 0;
    p->has_scores = 1;
    for (size_t i = 0; i < p->n; i++) {
        const char *key = p->q[i].id;
        if (n_ids && bsearch(&key, sorted, n_ids, sizeof *sorted, str_ptr_cmp)) {
            p->q[w++] = p->q[i];
            if (p->q[i].n > p->n_max) p->n_max = p->q[i].n;
            for (size_t j = 0; j < p->q[i].n; j++)
                if (isnan(p->q[i].s[j].score)) p->has_scores = 0;
        } else {
            query_free(&p->q[i]);
            p->n_skipped++;
        }
    }
    p->n = w;
    if (w == 0) p->has_scores = 0;
    free(sorted);
    if (n_kept) *n_kept = w;
    return ALLOT_OK;
}

/* ---- views -------------------------------------------------------------------------------------- */

void allot_replay_view_free(allot_replay_view *v) {
    if (!v) return;
    free(v->off);
    free(v->s);
    free(v->prefix_cost);
    free(v->round_order);
    free(v->pass_rate);
    memset(v, 0, sizeof *v);
}

allot_status allot_replay_view_make(const allot_replay_pools *p, long shuffle, uint64_t seed,
                                    allot_replay_view *v, allot_error *err) {
    memset(v, 0, sizeof *v);
    v->pools = p;
    v->n = p->n;
    size_t total = 0;
    for (size_t i = 0; i < p->n; i++) total += p->q[i].n;
    v->off = malloc((p->n + 1) * sizeof *v->off);
    v->s = malloc((total ? total : 1) * sizeof *v->s);
    v->prefix_cost = malloc((total + p->n + 1) * sizeof *v->prefix_cost);
    v->round_order = malloc((p->n ? p->n : 1) * sizeof *v->round_order);
    v->pass_rate = malloc((p->n ? p->n : 1) * sizeof *v->pass_rate);
    uint32_t *perm = malloc((p->n_max ? p->n_max : 1) * sizeof *perm);
    if (!v->off || !v->s || !v->prefix_cost || !v->round_order || !v->pass_rate || !perm) {
        free(perm);
        allot_replay_view_free(v);
        return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
    }
    size_t at = 0;
    for (size_t i = 0; i < p->n; i++) {
        const allot_replay_query *q = &p->q[i];
        v->off[i] = at;
        for (uint32_t j = 0; j < q->n; j++) perm[j] = j;
        if (shuffle >= 0) {
            /* one stream per (seed, shuffle, query id): a query's order does not depend on the others */
            allot_rng rng;
            uint64_t h = allot_hash64(q->id, strlen(q->id));
            allot_rng_seed_stream(&rng, seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(shuffle + 1)), h);
            allot_rng_shuffle_u32(&rng, perm, q->n);
        }
        size_t c = 0;
        double *pc = &v->prefix_cost[at + i];
        pc[0] = 0;
        for (size_t j = 0; j < q->n; j++) {
            v->s[at + j] = q->s[perm[j]];
            pc[j + 1] = pc[j] + q->s[perm[j]].cost;
            c += (size_t)q->s[j].correct;
        }
        v->pass_rate[i] = (double)c / (double)q->n;
        at += q->n;
        v->round_order[i] = i;
    }
    v->off[p->n] = at;
    if (shuffle >= 0 && p->n > 1) {
        allot_rng rng;
        allot_rng_seed_stream(&rng, seed, 0x726f756e64ULL + (uint64_t)shuffle); /* "round" */
        uint32_t *qp = malloc(p->n * sizeof *qp);
        if (!qp) {
            free(perm);
            allot_replay_view_free(v);
            return allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        }
        for (size_t i = 0; i < p->n; i++) qp[i] = (uint32_t)i;
        allot_rng_shuffle_u32(&rng, qp, p->n);
        for (size_t i = 0; i < p->n; i++) v->round_order[i] = qp[i];
        free(qp);
    }
    free(perm);
    return ALLOT_OK;
}

double allot_replay_prefix_cost(const allot_replay_view *v, size_t i, size_t k, allot_replay_unit unit) {
    size_t n = v->off[i + 1] - v->off[i];
    if (k > n) k = n;
    if (unit == ALLOT_REPLAY_UNIT_SAMPLES) return (double)k;
    return v->prefix_cost[v->off[i] + i + k];
}

/* ---- metrics ------------------------------------------------------------------------------------ */

double allot_replay_query_accuracy(const allot_replay_view *v, size_t i, size_t k, allot_replay_select sel) {
    size_t n = v->off[i + 1] - v->off[i];
    if (k > n) k = n;
    if (k == 0) return 0.0;
    const allot_replay_sample *s = &v->s[v->off[i]];
    if (sel == ALLOT_REPLAY_SELECT_BEST) {
        /* highest score wins; samples tied at the top split the credit; NaN scores rank lowest */
        double best = -INFINITY;
        int any = 0;
        for (size_t j = 0; j < k; j++)
            if (!isnan(s[j].score) && (!any || s[j].score > best)) {
                best = s[j].score;
                any = 1;
            }
        double c = 0;
        size_t t = 0;
        for (size_t j = 0; j < k; j++)
            if (any ? (!isnan(s[j].score) && s[j].score == best) : 1) {
                c += s[j].correct;
                t++;
            }
        return c / (double)t;
    }
    /* majority: count votes per answer id over the prefix; null answers never win; the leaders
     * (ties) split the credit evenly; an answer's credit is the share of its samples graded correct */
    int na = v->pools->q[i].n_answers;
    if (na <= 0) return 0.0;
    int top = 0;
    /* small pools: count by scanning (k x distinct answers is tiny in practice) */
    for (size_t j = 0; j < k; j++) {
        if (s[j].answer < 0) continue;
        int cnt = 0;
        for (size_t l = 0; l < k; l++) cnt += s[l].answer == s[j].answer;
        if (cnt > top) top = cnt;
    }
    if (top == 0) return 0.0;
    double credit = 0;
    int leaders = 0;
    for (size_t j = 0; j < k; j++) {
        int a = s[j].answer;
        if (a < 0) continue;
        int cnt = 0, first = 1, correct = 0;
        for (size_t l = 0; l < k; l++)
            if (s[l].answer == a) {
                if (l < j) first = 0;
                cnt++;
                correct += s[l].correct;
            }
        if (!first || cnt != top) continue;
        leaders++;
        credit += (double)correct / (double)cnt;
    }
    return credit / (double)leaders;
}

static int any_correct(const allot_replay_view *v, size_t i, size_t k) {
    const allot_replay_sample *s = &v->s[v->off[i]];
    size_t n = v->off[i + 1] - v->off[i];
    if (k > n) k = n;
    for (size_t j = 0; j < k; j++)
        if (s[j].correct) return 1;
    return 0;
}

void allot_replay_evaluate(const allot_replay_view *v, const size_t *alloc, const allot_replay_options *o,
                           allot_replay_metrics *out) {
    memset(out, 0, sizeof *out);
    double cov = 0, acc = 0, spent = 0;
    double bs[ALLOT_REPLAY_N_BINS] = {0};
    for (size_t i = 0; i < v->n; i++) {
        cov += any_correct(v, i, alloc[i]);
        acc += allot_replay_query_accuracy(v, i, alloc[i], o->select);
        double c = allot_replay_prefix_cost(v, i, alloc[i], o->unit);
        spent += c;
        int b = allot_replay_bucket(v->pass_rate[i]);
        bs[b] += c;
        out->bucket_n[b]++;
    }
    double n = v->n ? (double)v->n : 1.0;
    out->coverage = cov / n;
    out->accuracy = acc / n;
    out->total_spent = spent;
    out->mean_spent = spent / n;
    for (int b = 0; b < ALLOT_REPLAY_N_BINS; b++)
        out->bucket_spent[b] = out->bucket_n[b] ? bs[b] / (double)out->bucket_n[b] : 0.0;
}

/* ---- Adaptive-Consistency's Beta rule ------------------------------------------------------------- */

/*
 * p ~ Beta(a+1, b+1); P(p > 1/2) = 1 - I_{1/2}(a+1, b+1). For integer shape parameters the
 * regularised incomplete beta is a binomial tail: I_x(a+1, b+1) = P(Bin(a+b+1, x) >= a+1), so
 * P(p > 1/2) = P(Bin(a+b+1, 1/2) <= a) = sum_{j=0..a} C(a+b+1, j) / 2^(a+b+1).
 * The terms are built by the ratio C(n,j+1) = C(n,j) (n-j)/(j+1) in log-free doubles scaled by
 * 2^-n up front, which stays in range for any n this rule meets (n <= a few thousand).
 */
double allot_replay_beta_stop_prob(int a, int b) {
    if (a < 0 || b < 0) return NAN;
    int n = a + b + 1;
    /* term_0 = 2^-n; accumulate in log space when n is large enough to underflow */
    double lt = -n * log(2.0), sum = 0;
    for (int j = 0; j <= a; j++) {
        sum += exp(lt);
        lt += log((double)(n - j)) - log((double)(j + 1));
    }
    return sum > 1.0 ? 1.0 : sum;
}

void allot_replay_query_curve(const allot_replay_view *v, size_t i, allot_replay_select sel, double *out,
                              double *cov, int *scratch) {
    size_t n = v->off[i + 1] - v->off[i];
    const allot_replay_sample *s = &v->s[v->off[i]];
    int na = v->pools->q[i].n_answers;
    out[0] = 0;
    if (cov) cov[0] = 0;
    int covered = 0;
    if (sel == ALLOT_REPLAY_SELECT_BEST) {
        double best = -INFINITY;
        int any = 0;
        size_t tied = 0, tied_ok = 0, all = 0, all_ok = 0;
        for (size_t k = 1; k <= n; k++) {
            const allot_replay_sample *x = &s[k - 1];
            covered |= x->correct;
            all++;
            all_ok += (size_t)x->correct;
            if (!isnan(x->score)) {
                if (!any || x->score > best) {
                    best = x->score;
                    any = 1;
                    tied = 0;
                    tied_ok = 0;
                }
                if (x->score == best) {
                    tied++;
                    tied_ok += (size_t)x->correct;
                }
            }
            out[k] = any ? (double)tied_ok / (double)tied : (double)all_ok / (double)all;
            if (cov) cov[k] = covered;
        }
        return;
    }
    int *cnt = scratch, *ok = scratch + (na + 1);
    for (int a = 0; a < na; a++) cnt[a] = ok[a] = 0;
    int top = 0;
    for (size_t k = 1; k <= n; k++) {
        const allot_replay_sample *x = &s[k - 1];
        covered |= x->correct;
        if (x->answer >= 0) {
            cnt[x->answer]++;
            ok[x->answer] += x->correct;
            if (cnt[x->answer] > top) top = cnt[x->answer];
        }
        double credit = 0;
        int leaders = 0;
        if (top > 0)
            for (int a = 0; a < na; a++)
                if (cnt[a] == top) {
                    leaders++;
                    credit += (double)ok[a] / (double)cnt[a];
                }
        out[k] = leaders ? credit / leaders : 0.0;
        if (cov) cov[k] = covered;
    }
}

allot_replay_stat allot_replay_stats(const double *x, size_t n) {
    allot_replay_stat st = {NAN, NAN, NAN, NAN};
    if (n == 0) return st;
    double sum = 0;
    st.min = st.max = x[0];
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        if (x[i] < st.min) st.min = x[i];
        if (x[i] > st.max) st.max = x[i];
    }
    st.mean = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (x[i] - st.mean) * (x[i] - st.mean);
    st.sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    return st;
}
