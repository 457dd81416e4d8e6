/*
 * replay_policy.c - a learned policy bundle replayed on a batch (see replay.h).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <stdio.h>

#include "allot/allot_policy.h"
#include "allot/allot_sequential.h"
#include "replay.h"
#include "json_line.h"
#include "replay_internal.h"
#include "util.h"

struct allot_replay_policy {
    size_t n, t;
    double *probs; /* n x t: p(tier | query) */
    double *cost;  /* t: the bundle's tier costs */
    size_t *k;     /* t: samples of each tier */
    double bundle_mu;
    allot_rule rule;       /* calibrated (classifier bundles) or value (value bundles) */
    allot_replay_seq *seq; /* a sequential bundle (then nothing above is used) */
};

void allot_replay_policy_free(allot_replay_policy *pp) {
    if (!pp) return;
    allot_replay_seq_free(pp->seq);
    free(pp->probs);
    free(pp->cost);
    free(pp->k);
    free(pp);
}

/* Samples of a tier from its name: the number after the last '@' ("majority@8", "m:best@4/min"). */
static int tier_k(const char *name, size_t *k) {
    const char *at = name ? strrchr(name, '@') : NULL;
    if (!at || !isdigit((unsigned char)at[1])) return -1;
    char *end = NULL;
    unsigned long v = strtoul(at + 1, &end, 10);
    if (*end && *end != '/') return -1;
    *k = (size_t)v;
    return 0;
}

allot_status allot_replay_policy_load(const char *path, const allot_replay_pools *p,
                                      allot_replay_policy **out, allot_error *err) {
    *out = NULL;
    allot_policy *pol = NULL;
    allot_status st = allot_policy_load_file(path, &pol, err);
    if (st != ALLOT_OK) return st;
    if (allot_policy_is_sequential(pol)) { /* decided on each view's sample order, in the plan */
        allot_replay_policy *sp = calloc(1, sizeof *sp);
        if (!sp) st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        if (!st) st = allot_replay_seq_load(pol, p, path, &sp->seq, err);
        if (st) {
            allot_policy_free(pol);
            free(sp);
            return st;
        }
        sp->n = p->n;
        *out = sp;
        return ALLOT_OK;
    }
    allot_workspace *ws = NULL;
    const allot_featurizer *f = allot_policy_featurizer(pol);
    size_t n_extra = allot_featurizer_n_extra(f);
    double *extras = malloc((n_extra ? n_extra : 1) * sizeof *extras);
    size_t ed = allot_featurizer_embedding_dim(f);
    float *embed = malloc((ed ? ed : 1) * sizeof *embed);
    allot_replay_policy *pp = calloc(1, sizeof *pp);
    size_t t = allot_policy_n_tiers(pol);
    if (!extras || !embed || !pp) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        goto done;
    }
    pp->n = p->n;
    pp->t = t;
    pp->bundle_mu = allot_policy_mu(pol);
    pp->rule = allot_policy_rule(pol) == ALLOT_RULE_VALUE ? ALLOT_RULE_VALUE : ALLOT_RULE_CALIBRATED;
    pp->probs = malloc((p->n ? p->n : 1) * t * sizeof *pp->probs);
    pp->cost = malloc(t * sizeof *pp->cost);
    pp->k = malloc(t * sizeof *pp->k);
    if (!pp->probs || !pp->cost || !pp->k) {
        st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        goto done;
    }
    for (size_t j = 0; j < t; j++) {
        const char *name = allot_policy_tier_name(pol, j);
        pp->cost[j] = allot_policy_tier_cost(pol, j);
        const char *colon = strrchr(name, ':');
        const char *model = p->model ? p->model : "";
        if (colon &&
            ((size_t)(colon - name) != strlen(model) || strncmp(name, model, (size_t)(colon - name)))) {
            st = allot_error_set(
                err, ALLOT_E_UNSUPPORTED,
                "%s: tier '%s' draws from another model than the one replayed (%s%s%s): replay deals "
                "the samples of one model, so a policy over several models' tiers is evaluated "
                "with allot audit on their curves (allot curves RUNS --tiers ... --out C.jsonl)",
                path, name, model[0] ? "'" : "the file's only model", model, model[0] ? "', --model" : "");
            goto done;
        }
        if (tier_k(name, &pp->k[j]) != 0) {
            st = allot_error_set(
                err, ALLOT_E_UNSUPPORTED,
                "%s: tier '%s' does not name a number of samples (RULE@K): replay cannot deal it (a policy "
                "over precomputed tiers is evaluated with allot audit on a curves file of those tiers)",
                path, name);
            goto done;
        }
    }
    if (allot_policy_needs_workspace(pol)) {
        st = allot_workspace_create(pol, &ws, err);
        if (st != ALLOT_OK) goto done;
    }
    for (size_t i = 0; i < p->n; i++) {
        const allot_replay_query *q = &p->q[i];
        for (size_t e = 0; e < n_extra; e++) extras[e] = NAN;
        if (n_extra && q->record) {
            st = allot_featurizer_extras_from_record(f, q->record, strlen(q->record), extras, err);
            if (st != ALLOT_OK) goto done;
        }
        int has_embed = 0;
        if (ed && q->record) {
            st = allot_featurizer_embedding_from_record(f, q->record, strlen(q->record), embed, &has_embed,
                                                        err);
            if (st != ALLOT_OK) goto done;
        }
        allot_query_input in = {.prompt = q->prompt,
                                .prompt_len = q->prompt ? strlen(q->prompt) : 0,
                                .extras = n_extra ? extras : NULL,
                                .n_extras = n_extra};
        allot_decision dec;
        st = allot_policy_predict_embedded(pol, ws, &in, has_embed ? embed : NULL, has_embed ? ed : 0, NULL,
                                           &pp->probs[i * t], t, &dec, err);
        if (st != ALLOT_OK) goto done;
    }
done:
    allot_workspace_free(ws);
    allot_policy_free(pol);
    free(extras);
    free(embed);
    if (st != ALLOT_OK) {
        allot_replay_policy_free(pp);
        return st;
    }
    *out = pp;
    return ALLOT_OK;
}

/* Tier of query i at price mu (the runtime's own rule arithmetic). */
static size_t choose(const allot_replay_policy *pp, size_t i, double mu) {
    return allot_rule_apply(pp->rule, mu, &pp->probs[i * pp->t], pp->cost, pp->t);
}

static double mean_cost_at(const allot_replay_policy *pp, double mu) {
    double s = 0;
    for (size_t i = 0; i < pp->n; i++) s += pp->cost[choose(pp, i, mu)];
    return pp->n ? s / (double)pp->n : 0;
}

size_t allot_replay_policy_plan(const allot_replay_policy *pp, size_t n, double budget, size_t *k_out,
                                double *mu_out) {
    if (!pp || pp->n != n) return 0;
    /* the smallest mu whose mean tier cost is within budget (mean cost is non-increasing in mu);
     * the calibrated rule also takes mu < 0 when mu = 0 underspends (raising the spend to B), the
     * value rule's lambda stays >= 0 (beyond lambda 0 more spend buys no predicted accuracy) */
    double lo = 0, hi = 1;
    double mu = 0;
    if (mean_cost_at(pp, 0) > budget) {
        while (mean_cost_at(pp, hi) > budget && hi < 1e12) hi *= 2;
    } else if (pp->rule == ALLOT_RULE_CALIBRATED) {
        hi = 0;
        lo = -1;
        while (mean_cost_at(pp, lo) <= budget && lo > -1e12) {
            hi = lo;
            lo *= 2;
        }
        if (mean_cost_at(pp, lo) <= budget) { /* no price binds: the least negative one at full spend */
            double sat = mean_cost_at(pp, lo);
            hi = 0;
            if (mean_cost_at(pp, 0) >= sat) lo = hi = 0;
            for (int it = 0; it < 100 && lo != hi; it++) {
                double mid = 0.5 * (lo + hi);
                if (mean_cost_at(pp, mid) >= sat)
                    lo = mid;
                else
                    hi = mid;
            }
            mu = lo;
            hi = lo; /* nothing left to bisect */
        }
    }
    if (hi != lo && (mean_cost_at(pp, 0) > budget || pp->rule == ALLOT_RULE_CALIBRATED)) {
        for (int it = 0; it < 100; it++) {
            double mid = 0.5 * (lo + hi);
            if (mean_cost_at(pp, mid) > budget)
                lo = mid;
            else
                hi = mid;
        }
        mu = hi;
    }
    for (size_t i = 0; i < n; i++) k_out[i] = pp->k[choose(pp, i, mu)];
    if (mu_out) *mu_out = mu;
    return n;
}

allot_status allot_replay_policy_heldout_ids(const char *path, char ***ids, size_t *n, allot_error *err) {
    *ids = NULL;
    *n = 0;
    char *text = NULL;
    size_t len = 0;
    allot_status rs = allot_read_file(path, ALLOT_POLICY_MAX_FILE_BYTES, &text, &len, err);
    if (rs != ALLOT_OK) return rs;
    cJSON *root = allot_json_parse_strict(text, len, path, 0, err);
    free(text);
    if (!root) return err ? err->code : ALLOT_E_PARSE;
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(root, "provenance");
    const cJSON *split = prov ? cJSON_GetObjectItemCaseSensitive(prov, "split") : NULL;
    const cJSON *list = split ? cJSON_GetObjectItemCaseSensitive(split, "test_ids") : NULL;
    allot_status st = ALLOT_OK;
    if (cJSON_IsArray(list)) {
        size_t m = (size_t)cJSON_GetArraySize(list), k = 0;
        char **out = calloc(m ? m : 1, sizeof *out);
        if (!out) st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
        const cJSON *it;
        cJSON_ArrayForEach(it, list) {
            if (st != ALLOT_OK) break;
            if (!cJSON_IsString(it)) {
                st = allot_error_set(err, ALLOT_E_INVALID, "%s: provenance.split.test_ids[%zu]: not a string",
                                     path, k);
                break;
            }
            out[k] = allot_strdup(it->valuestring);
            if (!out[k]) st = allot_error_set(err, ALLOT_E_NOMEM, "replay: out of memory");
            k++;
        }
        if (st != ALLOT_OK) {
            for (size_t j = 0; out && j < k; j++) free(out[j]);
            free(out);
        } else {
            *ids = out;
            *n = k;
        }
    }
    cJSON_Delete(root);
    return st;
}

size_t allot_replay_policy_plan_view(const allot_replay_policy *pp, const allot_replay_view *v, double budget,
                                     allot_replay_unit unit, size_t *k_out, double *mu_out,
                                     allot_error *err) {
    if (!pp || pp->n != v->n) {
        allot_error_set(err, ALLOT_E_ARGUMENT, "replay: the policy was loaded for another batch");
        return 0;
    }
    if (pp->seq) return allot_replay_seq_plan(pp->seq, v, budget, unit, k_out, mu_out, err);
    size_t n = allot_replay_policy_plan(pp, v->n, budget, k_out, mu_out);
    if (n != v->n)
        allot_error_set(err, ALLOT_E_ARGUMENT, "replay: the policy was predicted for another batch");
    return n;
}
