/*
 * allot predict on sequential policies: one step decision per record, from the samples it holds so
 * far (the record's `samples`: answer, score, cost, model), through the public runtime API only.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot.h"
#include "cli.h"

static const char *const CMD = "predict";

/* The record's samples as runtime views (answers point into rec). */
static allot_status samples_of(const allot_policy *p, const cJSON *rec, allot_sample_view *v, size_t cap,
                               size_t *n, const char *input, size_t lineno, allot_error *err) {
    const allot_ladder *l = allot_policy_ladder(p);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(rec, "samples"), *s;
    *n = 0;
    if (!arr) return ALLOT_OK;
    if (!cJSON_IsArray(arr))
        return allot_error_set(err, ALLOT_E_INVALID, "%s:%zu: samples: must be an array", input, lineno);
    cJSON_ArrayForEach(s, arr) {
        size_t i = *n;
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, "answer"),
                    *sc = cJSON_GetObjectItemCaseSensitive(s, "score"),
                    *c = cJSON_GetObjectItemCaseSensitive(s, "cost"),
                    *m = cJSON_GetObjectItemCaseSensitive(s, "model");
        if (i >= cap)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s:%zu: samples: more than the %zu samples the policy's ladder holds",
                                   input, lineno, cap);
        if (!cJSON_IsObject(s))
            return allot_error_set(err, ALLOT_E_INVALID, "%s:%zu: samples[%zu]: must be an object", input,
                                   lineno, i);
        if (a && !cJSON_IsString(a) && !cJSON_IsNull(a))
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s:%zu: samples[%zu].answer: must be a string or null", input, lineno, i);
        if ((sc && !cJSON_IsNumber(sc) && !cJSON_IsNull(sc)) ||
            (c && (!cJSON_IsNumber(c) || !(c->valuedouble >= 0))))
            return allot_error_set(
                err, ALLOT_E_INVALID, "%s:%zu: samples[%zu].%s: must be a %s", input, lineno, i,
                c && (!cJSON_IsNumber(c) || !(c->valuedouble >= 0)) ? "cost" : "score",
                c && (!cJSON_IsNumber(c) || !(c->valuedouble >= 0)) ? "number >= 0" : "number");
        long mi = m ? (cJSON_IsString(m) ? allot_ladder_model_index(l, m->valuestring) : -1)
                    : (allot_ladder_n_models(l) == 1 ? 0 : -1);
        if (mi < 0 && !m && allot_ladder_n_models(l) == 1) mi = 0;
        if (mi < 0 && m && cJSON_IsString(m) && allot_ladder_n_models(l) == 1 &&
            !allot_ladder_model_name(l, 0)[0])
            mi = 0; /* the ladder's unnamed model takes any one model */
        if (mi < 0)
            return allot_error_set(err, ALLOT_E_INVALID, "%s:%zu: samples[%zu].model: %s", input, lineno, i,
                                   m ? "not a model of the policy's ladder"
                                     : "missing (the ladder has several models)");
        v[i] = (allot_sample_view){cJSON_IsString(a) ? a->valuestring : NULL,
                                   cJSON_IsString(a) ? strlen(a->valuestring) : 0,
                                   cJSON_IsNumber(sc) ? sc->valuedouble : NAN,
                                   c ? c->valuedouble : 1.0,
                                   (uint32_t)mi,
                                   0};
        (*n)++;
    }
    return ALLOT_OK;
}

static const char *stage_name(const allot_policy *p, long s) {
    return s >= 0 ? allot_policy_tier_name(p, (size_t)s) : NULL;
}

static void print_step(const allot_policy *p, const char *id, const allot_sample_view *v,
                       const allot_step *st, int json) {
    const allot_ladder *l = allot_policy_ladder(p);
    const allot_sample_view *ans = st->stop && st->answer_sample >= 0 ? &v[st->answer_sample] : NULL;
    if (json) {
        fputs("{\"id\":", stdout);
        allot_cli_put_json_string(stdout, id, strlen(id));
        printf(",\"decision\":\"%s\",\"stage\":", st->stop ? "stop" : "draw");
        if (st->stage >= 0)
            allot_cli_put_json_string(stdout, stage_name(p, st->stage), strlen(stage_name(p, st->stage)));
        else
            fputs("null", stdout);
        printf(",\"stage_index\":%ld", st->stage);
        if (!st->stop) {
            fputs(",\"next_stage\":", stdout);
            allot_cli_put_json_string(stdout, stage_name(p, (long)st->next_stage),
                                      strlen(stage_name(p, (long)st->next_stage)));
            printf(",\"draw\":%zu,\"model\":", st->draw);
            const char *mn = allot_ladder_model_name(l, st->next_model);
            allot_cli_put_json_string(stdout, mn, strlen(mn));
        } else {
            fputs(",\"answer\":", stdout);
            if (ans && ans->answer)
                allot_cli_put_json_string(stdout, ans->answer, ans->answer_len);
            else
                fputs("null", stdout);
        }
        printf(",\"value_now\":%s", isfinite(st->value_now) ? "" : "null");
        if (isfinite(st->value_now)) printf("%.17g", st->value_now);
        printf(",\"lambda\":%.17g,\"cost_spent\":%.17g}\n", st->lambda, st->cost_spent);
        return;
    }
    allot_cli_put_tsv_field(stdout, id, strlen(id));
    printf("\t%s\t%s\t", st->stop ? "stop" : "draw", st->stage >= 0 ? stage_name(p, st->stage) : "-");
    if (st->stop) {
        if (ans && ans->answer)
            allot_cli_put_tsv_field(stdout, ans->answer, ans->answer_len);
        else
            fputs("-", stdout);
    } else {
        printf("%s +%zu", stage_name(p, (long)st->next_stage), st->draw);
    }
    printf("\t%.6f\t%.6g\n", st->value_now, st->lambda);
}

int allot_cli_predict_step(const allot_policy *p, allot_workspace *ws, const cJSON *rec, const char *id,
                           const allot_query_input *q, const allot_predict_options *opts, int json,
                           const char *input, size_t lineno) {
    allot_error err = {0};
    size_t cap = allot_ladder_max_samples(allot_policy_ladder(p)), n = 0;
    allot_sample_view *v = malloc((cap ? cap : 1) * sizeof *v);
    if (!v) {
        allot_error_set(&err, ALLOT_E_NOMEM, "out of memory");
        return allot_cli_fail(CMD, &err);
    }
    allot_status st = samples_of(p, rec, v, cap, &n, input, lineno, &err);
    if (!st) {
        allot_seq_query sq = ALLOT_SEQ_QUERY_INIT;
        sq.query = *q;
        sq.samples = v;
        sq.n_samples = n;
        allot_step step = ALLOT_STEP_INIT;
        allot_error sub = {0};
        if ((st = allot_policy_step(p, ws, &sq, opts, &step, &sub)))
            allot_error_set(&err, st, "%s:%zu: samples: %s", input, lineno, sub.msg);
        else
            print_step(p, id, v, &step, json);
    }
    free(v);
    return st ? allot_cli_fail(CMD, &err) : ALLOT_EXIT_OK;
}
