/*
 * gateway.c - embedding allot in a (simulated) LLM gateway.
 *
 *   allot_gateway_example POLICY [QUERIES.jsonl] [--threads N] [--budget B] [--requests N]
 *
 * The policy bundle is loaded once and shared by every request thread. Each thread owns a
 * workspace (so predictions never allocate), asks the shared budget controller for the current
 * price mu, decides the query's tier with the calibrated rule at that price, "serves" the query
 * (here: pretends the tier cost was spent, with +-30% noise) and feeds the spent cost back to the
 * controller, which keeps the running mean cost at the target B. A summary is printed at the end.
 *
 * QUERIES is a labelled-runs JSONL file (id, prompt, optional features/meta); without it,
 * synthetic prompts are used. Default budget: 75% of the way from the cheapest tier's cost to what
 * the bundle's own rule would spend.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "allot/allot.h"

typedef struct request {
    char *prompt;
    size_t prompt_len;
    double *extras; /* n_extra values (NaN = missing) */
} request;

typedef struct shared {
    const allot_policy *policy;
    allot_budget *budget;
    const request *req;
    size_t n_req, n_threads, n_extra, n_tiers;
} shared;

typedef struct worker {
    const shared *sh;
    size_t id;
    size_t *tier_count; /* n_tiers */
    double *latency_us; /* one per request handled */
    size_t handled;
    int failed;
    char error[ALLOT_ERROR_MSG_SIZE + 64];
} worker;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Deterministic +-30% noise for request i (the "actual" spend differs from the tier's mean cost). */
static double noise(size_t i) {
    uint64_t z = (uint64_t)i * 0x9E3779B97F4A7C15ull + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return 0.7 + 0.6 * (double)(z >> 11) / 9007199254740992.0;
}

static void *serve(void *arg) {
    worker *w = arg;
    const shared *sh = w->sh;
    allot_error err;
    allot_workspace *ws = NULL;
    if (allot_workspace_create(sh->policy, &ws, &err) != ALLOT_OK) {
        w->failed = 1;
        snprintf(w->error, sizeof w->error, "%s", err.msg);
        return NULL;
    }
    for (size_t i = w->id; i < sh->n_req; i += sh->n_threads) {
        const request *r = &sh->req[i];
        allot_query_input q = {.prompt = r->prompt,
                               .prompt_len = r->prompt_len,
                               .extras = sh->n_extra ? r->extras : NULL,
                               .n_extras = sh->n_extra};
        /* the controller's price is mu for classifier bundles, lambda for value bundles */
        allot_predict_options opts = ALLOT_PREDICT_OPTIONS_INIT;
        opts.rule =
            allot_policy_rule(sh->policy) == ALLOT_RULE_VALUE ? ALLOT_RULE_VALUE : ALLOT_RULE_CALIBRATED;
        opts.mu = allot_budget_mu(sh->budget);
        allot_decision d;
        double t0 = now_us();
        allot_status st = allot_policy_predict(sh->policy, ws, &q, &opts, NULL, 0, &d, &err);
        double t1 = now_us();
        if (st != ALLOT_OK) {
            w->failed = 1;
            snprintf(w->error, sizeof w->error, "request %zu: %s", i, err.msg);
            break;
        }
        w->latency_us[w->handled++] = t1 - t0;
        w->tier_count[d.tier]++;
        /* ... the gateway would now run the LLM at tier d.tier and measure what it really cost ... */
        allot_budget_observe(sh->budget, d.cost * noise(i));
    }
    allot_workspace_free(ws);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The request's prompt (a gateway has its own JSON parser; the example uses cJSON, which the
 * runtime already depends on). Returns a malloc'd copy or NULL. */
static char *json_prompt(const char *line, size_t len) {
    cJSON *rec = cJSON_ParseWithLength(line, len);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(rec, "prompt");
    char *out = cJSON_IsString(p) ? strdup(p->valuestring) : NULL;
    cJSON_Delete(rec);
    return out;
}

static const char *const synth[] = {
    "Janet has 16 eggs. She eats 3 and bakes with 4. How many are left?",
    "A train travels 120 km in 1.5 hours. What is its average speed?",
    "Compute \\frac{3}{4} + \\frac{5}{6} and simplify.",
    "Prove that the sum of two even integers is even.",
    ("A shop sells 1,250 items per week at $3.20 each. Each month it pays $2,000 in rent. "
     "What is the profit over 6 months, and what percent of revenue is rent?"),
    "Write a function that returns the longest palindromic substring of a string of length up to 10^5.",
};

int main(int argc, char **argv) {
    const char *policy_path = NULL, *queries_path = NULL;
    size_t n_threads = 4, n_requests = 0;
    double budget = NAN;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            n_threads = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--budget") && i + 1 < argc)
            budget = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
            n_requests = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!policy_path)
            policy_path = argv[i];
        else if (!queries_path)
            queries_path = argv[i];
        else {
            fprintf(stderr, "usage: %s POLICY [QUERIES.jsonl] [--threads N] [--budget B] [--requests N]\n",
                    argv[0]);
            return 1;
        }
    }
    if (!policy_path || n_threads == 0 || n_threads > 256) {
        fprintf(stderr, "usage: %s POLICY [QUERIES.jsonl] [--threads N] [--budget B] [--requests N]\n",
                argv[0]);
        return 1;
    }
    printf("allot %s (header %d.%d.%d)\n", allot_version_string(), ALLOT_VERSION_MAJOR, ALLOT_VERSION_MINOR,
           ALLOT_VERSION_PATCH);

    /* 1. load the policy once */
    allot_error err;
    allot_policy *policy = NULL;
    double t0 = now_us();
    if (allot_policy_load_file(policy_path, &policy, &err) != ALLOT_OK) {
        fprintf(stderr, "gateway: %s\n", err.msg);
        return 2;
    }
    double load_ms = (now_us() - t0) / 1e3;
    const allot_featurizer *feat = allot_policy_featurizer(policy);
    size_t n_tiers = allot_policy_n_tiers(policy), n_extra = allot_featurizer_n_extra(feat);
    printf("policy %s: %zu tiers, %zu classes, %zu features (+%u hashed), loaded in %.2f ms\n", policy_path,
           n_tiers, allot_policy_n_classes(policy), allot_featurizer_n_dense(feat),
           allot_featurizer_hash_dim(feat), load_ms);

    /* 2. the request stream */
    size_t cap = 1024, n = 0;
    request *req = malloc(cap * sizeof *req);
    if (queries_path) {
        FILE *fp = fopen(queries_path, "rb");
        if (!fp) {
            fprintf(stderr, "gateway: %s: cannot open\n", queries_path);
            return 3;
        }
        char *line = NULL;
        size_t lcap = 0;
        ssize_t got;
        while ((got = getline(&line, &lcap, fp)) != -1) {
            char *prompt = json_prompt(line, (size_t)got);
            if (!prompt) continue;
            if (n == cap) req = realloc(req, (cap *= 2) * sizeof *req);
            req[n].prompt = prompt;
            req[n].prompt_len = strlen(prompt);
            req[n].extras = calloc(n_extra ? n_extra : 1, sizeof(double));
            if (n_extra && allot_featurizer_extras_from_record(feat, line, (size_t)got, req[n].extras,
                                                               &err) != ALLOT_OK) {
                fprintf(stderr, "gateway: %s:%zu: %s\n", queries_path, n + 1, err.msg);
                return 2;
            }
            n++;
        }
        free(line);
        fclose(fp);
    } else {
        for (; n < 6; n++) {
            req[n].prompt = strdup(synth[n]);
            req[n].prompt_len = strlen(synth[n]);
            req[n].extras = malloc((n_extra ? n_extra : 1) * sizeof(double));
            for (size_t k = 0; k < n_extra; k++) req[n].extras[k] = NAN;
        }
    }
    if (n == 0) {
        fprintf(stderr, "gateway: no requests\n");
        return 2;
    }
    if (n_requests == 0) n_requests = n < 20000 ? 20000 : n;
    request *stream = malloc(n_requests * sizeof *stream);
    for (size_t i = 0; i < n_requests; i++) stream[i] = req[i % n];

    /* 3. the budget: by default 75% of the way from the cheapest class's cost to what the bundle's own
     * rule spends on the first requests (always reachable) */
    if (isnan(budget)) {
        allot_workspace *ws;
        allot_workspace_create(policy, &ws, NULL);
        double s = 0;
        size_t m = n < 500 ? n : 500;
        for (size_t i = 0; i < m; i++) {
            allot_query_input q = {.prompt = req[i].prompt,
                                   .prompt_len = req[i].prompt_len,
                                   .extras = n_extra ? req[i].extras : NULL,
                                   .n_extras = n_extra};
            allot_decision d;
            allot_policy_predict(policy, ws, &q, NULL, NULL, 0, &d, NULL);
            s += d.cost;
        }
        allot_workspace_free(ws);
        double cheapest = INFINITY;
        for (size_t c = 0; c < allot_policy_n_classes(policy); c++) {
            double cc = allot_policy_tier_cost(policy, (size_t)allot_policy_class_tier(policy, c));
            if (cc < cheapest) cheapest = cc;
        }
        budget = cheapest + 0.75 * (s / (double)m - cheapest);
    }
    allot_budget_config cfg = ALLOT_BUDGET_CONFIG_INIT;
    allot_budget_config_default(&cfg, budget, allot_policy_mu(policy));
    allot_budget *ctl = NULL;
    if (allot_budget_create(&cfg, &ctl, &err) != ALLOT_OK) {
        fprintf(stderr, "gateway: %s\n", err.msg);
        return 2;
    }

    /* 4. serve from several threads */
    shared sh = {policy, ctl, stream, n_requests, n_threads, n_extra, n_tiers};
    pthread_t *th = malloc(n_threads * sizeof *th);
    worker *w = calloc(n_threads, sizeof *w);
    for (size_t t = 0; t < n_threads; t++) {
        w[t].sh = &sh;
        w[t].id = t;
        w[t].tier_count = calloc(n_tiers, sizeof(size_t));
        w[t].latency_us = malloc((n_requests / n_threads + 1) * sizeof(double));
        pthread_create(&th[t], NULL, serve, &w[t]);
    }
    int failed = 0;
    size_t *tiers = calloc(n_tiers, sizeof *tiers);
    double *lat = malloc(n_requests * sizeof *lat);
    size_t nl = 0;
    for (size_t t = 0; t < n_threads; t++) {
        pthread_join(th[t], NULL);
        if (w[t].failed) {
            fprintf(stderr, "gateway: thread %zu: %s\n", t, w[t].error);
            failed = 1;
        }
        for (size_t k = 0; k < n_tiers; k++) tiers[k] += w[t].tier_count[k];
        memcpy(lat + nl, w[t].latency_us, w[t].handled * sizeof *lat);
        nl += w[t].handled;
    }

    /* 5. summary */
    allot_budget_state st = ALLOT_BUDGET_STATE_INIT;
    allot_budget_get_state(ctl, &st);
    qsort(lat, nl, sizeof *lat, cmp_double);
    printf("served %llu requests from %zu threads (%zu distinct prompts)\n", (unsigned long long)st.count,
           n_threads, n);
    printf("budget: target %.4f, running mean %.4f (%+.2f%%), final mu %.6g (started at %.6g)\n", st.target,
           st.running_mean, 100.0 * (st.running_mean - st.target) / st.target, st.mu, cfg.mu0);
    printf("tiers:");
    for (size_t k = 0; k < n_tiers; k++)
        printf(" %s=%zu (%.1f%%)", allot_policy_tier_name(policy, k), tiers[k],
               100.0 * (double)tiers[k] / (double)nl);
    printf("\n");
    if (nl)
        printf("predict latency: p50 %.2f us, p99 %.2f us\n", lat[nl / 2],
               lat[(size_t)(0.99 * (double)(nl - 1))]);
    int on_target = fabs(st.running_mean - st.target) / st.target < 0.05;
    printf("%s\n",
           on_target ? "budget kept (within 5%)" : "budget NOT within 5% (target may be unreachable)");

    for (size_t t = 0; t < n_threads; t++) {
        free(w[t].tier_count);
        free(w[t].latency_us);
    }
    for (size_t i = 0; i < n; i++) {
        free(req[i].prompt);
        free(req[i].extras);
    }
    free(req);
    free(stream);
    free(th);
    free(w);
    free(tiers);
    free(lat);
    allot_budget_free(ctl);
    allot_policy_free(policy);
    return failed ? 2 : 0;
}
