/*
 * ladder.c - stage ladders and the state features of sequential policies (allot_sequential.h).
 *
 * Everything computed here is integer arithmetic plus IEEE-754 double +,-,*,/ (correctly rounded),
 * with no libm call, so the state features are bit-identical on every platform, in the trainer and
 * in the runtime.
 */
#include "allot/allot_sequential.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ladder_internal.h"

/* ---- the state feature table ------------------------------------------------------------------- */

enum { G_STAGE, G_SAMPLES, G_COST, G_COUNT };
static const char *const global_names[G_COUNT] = {"seq.stage", "seq.samples", "seq.cost"};

enum {
    M_DRAWN,
    M_LEAD_COUNT,
    M_LEAD_SHARE,
    M_SECOND_COUNT,
    M_LEAD_TIES,
    M_DISTINCT,
    M_NULLS,
    M_POSTERIOR,
    M_LEAD_NUMERIC,
    M_LEAD_INTEGER,
    M_LEAD_NEGATIVE,
    M_LEAD_DIGITS,
    M_LEAD_LENGTH,
    M_SCORE_MAX,
    M_SCORE_MEAN,
    M_LEAD_SCORE_SHARE,
    M_COST,
    M_LEAD_AGREES_PREV,
    M_COUNT
};
static const char *const model_names[M_COUNT] = {
    "drawn",       "lead_count", "lead_share",   "second_count",     "lead_ties",     "distinct",
    "nulls",       "posterior",  "lead_numeric", "lead_integer",     "lead_negative", "lead_digits",
    "lead_length", "score_max",  "score_mean",   "lead_score_share", "cost",          "lead_agrees_prev"};

static const char *const rule_names[] = {"pass", "majority", "best", "vote"};

typedef struct ladder_stage {
    size_t model, k;
    allot_stage_rule rule;
    char *name;
} ladder_stage;

struct allot_ladder {
    size_t n_models;
    char **models;
    size_t n_stages;
    ladder_stage *stages;
    size_t *model_last; /* per model: index of its last stage */
    size_t max_samples;
    size_t max_k;     /* largest k of any model */
    size_t table_cap; /* answer table entries (power of two >= 2 * max_k) */
    size_t n_state;
    char **state_names;
};

/* One distinct answer of one model's samples. */
typedef struct answer_slot {
    uint64_t hash;
    uint32_t first; /* index of its first sample; UINT32_MAX = empty slot */
    uint32_t count;
    double score_sum; /* sum of its samples' scores (NaN scores skipped) */
} answer_slot;

/* ---- construction ----------------------------------------------------------------------------- */

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void allot_ladder_free(allot_ladder *l) {
    if (!l) return;
    for (size_t m = 0; l->models && m < l->n_models; m++) free(l->models[m]);
    for (size_t s = 0; l->stages && s < l->n_stages; s++) free(l->stages[s].name);
    for (size_t i = 0; l->state_names && i < l->n_state; i++) free(l->state_names[i]);
    free(l->models);
    free(l->stages);
    free(l->model_last);
    free(l->state_names);
    free(l);
}

static allot_status parse_models(allot_ladder *l, const cJSON *spec, const char *where, allot_error *err) {
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(spec, "models");
    if (!cJSON_IsArray(models))
        return allot_error_set(err, ALLOT_E_INVALID, "%s.models: must be an array of model names", where);
    int n = cJSON_GetArraySize(models);
    if (n < 1 || (size_t)n > ALLOT_LADDER_MAX_MODELS)
        return allot_error_set(err, ALLOT_E_INVALID, "%s.models: must hold 1 to %u names (holds %d)", where,
                               ALLOT_LADDER_MAX_MODELS, n);
    l->models = calloc((size_t)n, sizeof *l->models);
    if (!l->models) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (ladder)");
    l->n_models = (size_t)n;
    size_t m = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, models) {
        if (!cJSON_IsString(it))
            return allot_error_set(err, ALLOT_E_INVALID, "%s.models[%zu]: must be a string", where, m);
        for (size_t j = 0; j < m; j++)
            if (!strcmp(l->models[j], it->valuestring))
                return allot_error_set(err, ALLOT_E_INVALID, "%s.models[%zu]: duplicate name '%.64s'", where,
                                       m, it->valuestring);
        if (!(l->models[m] = dup_str(it->valuestring)))
            return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (ladder)");
        m++;
    }
    return ALLOT_OK;
}

static allot_status parse_stage(allot_ladder *l, const cJSON *it, size_t i, const char *where,
                                allot_error *err) {
    ladder_stage *s = &l->stages[i];
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(it, "model");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "k");
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(it, "rule");
    if (!cJSON_IsObject(it))
        return allot_error_set(err, ALLOT_E_INVALID, "%s.stages[%zu]: must be an object", where, i);
    if (!cJSON_IsNumber(model) || model->valuedouble != floor(model->valuedouble) || model->valuedouble < 0 ||
        model->valuedouble >= (double)l->n_models)
        return allot_error_set(err, ALLOT_E_INVALID,
                               "%s.stages[%zu].model: must be a model index in [0, %zu)", where, i,
                               l->n_models);
    if (!cJSON_IsNumber(k) || k->valuedouble != floor(k->valuedouble) || k->valuedouble < 1 ||
        k->valuedouble > ALLOT_LADDER_MAX_K)
        return allot_error_set(err, ALLOT_E_INVALID, "%s.stages[%zu].k: must be an integer in [1, %u]", where,
                               i, ALLOT_LADDER_MAX_K);
    s->model = (size_t)model->valuedouble;
    s->k = (size_t)k->valuedouble;
    s->rule = ALLOT_STAGE_MAJORITY;
    if (rule) {
        size_t r = 0;
        while (r < 4 && !(cJSON_IsString(rule) && !strcmp(rule->valuestring, rule_names[r]))) r++;
        if (r == 4)
            return allot_error_set(
                err, ALLOT_E_INVALID,
                "%s.stages[%zu].rule: must be \"pass\", \"majority\", \"best\" or \"vote\"", where, i);
        s->rule = (allot_stage_rule)r;
    }
    if (i > 0) {
        const ladder_stage *p = &l->stages[i - 1];
        if (s->model < p->model)
            return allot_error_set(
                err, ALLOT_E_INVALID,
                "%s.stages[%zu].model: a cascade never returns to an earlier model (%zu after "
                "%zu)",
                where, i, s->model, p->model);
        if (s->model == p->model && s->k <= p->k)
            return allot_error_set(err, ALLOT_E_INVALID, "%s.stages[%zu].k: must increase (%zu after %zu)",
                                   where, i, s->k, p->k);
        if (s->model == p->model && s->rule != p->rule)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%s.stages[%zu].rule: the stages of one model share one rule", where, i);
    }
    char name[160];
    if (l->models[s->model][0])
        snprintf(name, sizeof name, "%.100s:%s@%zu", l->models[s->model], rule_names[s->rule], s->k);
    else
        snprintf(name, sizeof name, "%s@%zu", rule_names[s->rule], s->k);
    if (!(s->name = dup_str(name))) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (ladder)");
    return ALLOT_OK;
}

static allot_status parse_stages(allot_ladder *l, const cJSON *spec, const char *where, allot_error *err) {
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(spec, "stages");
    if (!cJSON_IsArray(stages))
        return allot_error_set(err, ALLOT_E_INVALID, "%s.stages: must be an array of stages", where);
    int n = cJSON_GetArraySize(stages);
    if (n < 1 || (size_t)n > ALLOT_LADDER_MAX_STAGES)
        return allot_error_set(err, ALLOT_E_INVALID, "%s.stages: must hold 1 to %u stages (holds %d)", where,
                               ALLOT_LADDER_MAX_STAGES, n);
    l->stages = calloc((size_t)n, sizeof *l->stages);
    l->model_last = calloc(l->n_models, sizeof *l->model_last);
    if (!l->stages || !l->model_last) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (ladder)");
    l->n_stages = (size_t)n;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, stages) {
        allot_status st = parse_stage(l, it, i, where, err);
        if (st) return st;
        i++;
    }
    /* every model has stages (models are listed in cascade order) */
    for (size_t m = 0; m < l->n_models; m++) {
        size_t last = SIZE_MAX;
        for (size_t s = 0; s < l->n_stages; s++)
            if (l->stages[s].model == m) last = s;
        if (last == SIZE_MAX)
            return allot_error_set(err, ALLOT_E_INVALID, "%s.models[%zu]: no stage uses model '%.64s'", where,
                                   m, l->models[m]);
        l->model_last[m] = last;
        size_t k = l->stages[last].k;
        l->max_samples += k;
        if (k > l->max_k) l->max_k = k;
    }
    return ALLOT_OK;
}

static allot_status make_state_names(allot_ladder *l, allot_error *err) {
    size_t per_model = l->n_models * M_COUNT;
    l->n_state = G_COUNT + per_model + l->n_stages;
    l->state_names = calloc(l->n_state, sizeof *l->state_names);
    if (!l->state_names) return allot_error_set(err, ALLOT_E_NOMEM, "sequential: out of memory");
    for (size_t i = 0; i < l->n_state; i++) {
        char name[48];
        if (i < G_COUNT)
            snprintf(name, sizeof name, "%s", global_names[i]);
        else if (i < G_COUNT + per_model)
            snprintf(name, sizeof name, "m%zu.%s", (i - G_COUNT) / M_COUNT,
                     model_names[(i - G_COUNT) % M_COUNT]);
        else
            snprintf(name, sizeof name, "stage%zu.flip", i - G_COUNT - per_model);
        if (!(l->state_names[i] = dup_str(name)))
            return allot_error_set(err, ALLOT_E_NOMEM, "sequential: out of memory");
    }
    return ALLOT_OK;
}

allot_status allot_ladder_create_cjson(const cJSON *spec, const char *where, allot_ladder **out,
                                       allot_error *err) {
    *out = NULL;
    if (!cJSON_IsObject(spec)) return allot_error_set(err, ALLOT_E_INVALID, "%s: must be an object", where);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(spec, "version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != floor(ver->valuedouble) || ver->valuedouble < 1)
        return allot_error_set(err, ALLOT_E_INVALID, "%s.version: must be a positive integer", where);
    if (ver->valuedouble > ALLOT_SEQ_VERSION)
        return allot_error_set(err, ALLOT_E_UNSUPPORTED,
                               "%s.version: %g is newer than this runtime reads (%u)", where,
                               ver->valuedouble, ALLOT_SEQ_VERSION);
    allot_ladder *l = calloc(1, sizeof *l);
    if (!l) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (ladder)");
    allot_status st = parse_models(l, spec, where, err);
    if (!st) st = parse_stages(l, spec, where, err);
    if (!st) st = make_state_names(l, err);
    if (st) {
        allot_ladder_free(l);
        return st;
    }
    size_t cap = 16;
    while (cap < 2 * l->max_k) cap *= 2;
    l->table_cap = cap;
    *out = l;
    return ALLOT_OK;
}

allot_status allot_ladder_create(const char *spec_json, size_t len, allot_ladder **out, allot_error *err) {
    if (out) *out = NULL;
    if (!out || (!spec_json && len))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_ladder_create: NULL argument");
    cJSON *root = cJSON_ParseWithLength(spec_json ? spec_json : "", len);
    if (!root) return allot_error_set(err, ALLOT_E_PARSE, "sequential: not valid JSON");
    allot_status st = allot_ladder_create_cjson(root, "sequential", out, err);
    cJSON_Delete(root);
    return st;
}

size_t allot_ladder_spec_json(const allot_ladder *l, char *buf, size_t cap) {
    size_t n = 0;
#define EMIT(...)                                                                                            \
    do {                                                                                                     \
        int w_ = snprintf(buf && n < cap ? buf + n : NULL, buf && n < cap ? cap - n : 0, __VA_ARGS__);       \
        if (w_ > 0) n += (size_t)w_;                                                                         \
    } while (0)
    EMIT("{\"version\":%u,\"models\":[", ALLOT_SEQ_VERSION);
    for (size_t m = 0; m < l->n_models; m++) {
        EMIT("%s\"", m ? "," : "");
        for (const unsigned char *c = (const unsigned char *)l->models[m]; *c; c++) {
            if (*c == '"' || *c == '\\')
                EMIT("\\%c", *c);
            else if (*c < 0x20)
                EMIT("\\u%04x", *c);
            else
                EMIT("%c", *c);
        }
        EMIT("\"");
    }
    EMIT("],\"stages\":[");
    for (size_t s = 0; s < l->n_stages; s++)
        EMIT("%s{\"model\":%zu,\"k\":%zu,\"rule\":\"%s\"}", s ? "," : "", l->stages[s].model, l->stages[s].k,
             rule_names[l->stages[s].rule]);
    EMIT("]}");
#undef EMIT
    return n;
}

/* ---- inspection ------------------------------------------------------------------------------- */

size_t allot_ladder_n_stages(const allot_ladder *l) {
    return l ? l->n_stages : 0;
}
size_t allot_ladder_n_models(const allot_ladder *l) {
    return l ? l->n_models : 0;
}
const char *allot_ladder_model_name(const allot_ladder *l, size_t m) {
    return l && m < l->n_models ? l->models[m] : NULL;
}
long allot_ladder_model_index(const allot_ladder *l, const char *name) {
    for (size_t m = 0; l && name && m < l->n_models; m++)
        if (!strcmp(l->models[m], name)) return (long)m;
    return -1;
}
allot_status allot_ladder_stage(const allot_ladder *l, size_t i, allot_stage_info *out, allot_error *err) {
    if (!l || !out || i >= l->n_stages)
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_ladder_stage: stage %zu out of range", i);
    memset(out, 0, sizeof *out);
    out->model = l->stages[i].model;
    out->k = l->stages[i].k;
    out->rule = l->stages[i].rule;
    out->name = l->stages[i].name;
    return ALLOT_OK;
}
size_t allot_ladder_max_samples(const allot_ladder *l) {
    return l ? l->max_samples : 0;
}
size_t allot_ladder_n_state(const allot_ladder *l) {
    return l ? l->n_state : 0;
}
const char *allot_ladder_state_name(const allot_ladder *l, size_t i) {
    return l && i < l->n_state ? l->state_names[i] : NULL;
}
size_t allot_ladder_scratch_size(const allot_ladder *l) {
    return l ? l->table_cap * sizeof(answer_slot) + 16 : 0; /* + 16: alignment */
}

/* ---- locating the stage ---------------------------------------------------------------------- */

/* The stage the per-model counts complete (-1: no sample), or an error naming the model. */
static allot_status locate_counts(const allot_ladder *l, const size_t *count, size_t n, long *stage,
                                  allot_error *err) {
    *stage = -1;
    if (n == 0) return ALLOT_OK;
    size_t j = 0; /* the last model (in cascade order) with samples */
    for (size_t m = 0; m < l->n_models; m++)
        if (count[m]) j = m;
    for (size_t m = 0; m < j; m++) {
        size_t full = l->stages[l->model_last[m]].k;
        if (count[m] != full)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "%zu samples of model '%.64s' seen before model '%.64s': the ladder draws "
                                   "%zu of it first",
                                   count[m], l->models[m], l->models[j], full);
    }
    for (size_t s = 0; s < l->n_stages; s++)
        if (l->stages[s].model == j && l->stages[s].k == count[j]) {
            *stage = (long)s;
            return ALLOT_OK;
        }
    char ks[160];
    size_t w = 0;
    ks[0] = '\0';
    for (size_t s = 0; s < l->n_stages && w < sizeof ks - 24; s++)
        if (l->stages[s].model == j)
            w += (size_t)snprintf(ks + w, sizeof ks - w, "%s%zu", w ? ", " : "", l->stages[s].k);
    return allot_error_set(
        err, ALLOT_E_INVALID,
        "%zu samples of model '%.64s' seen: its stages end at %s (the samples must complete "
        "a stage, and never exceed the ladder)",
        count[j], l->models[j], ks);
}

static allot_status check_samples(const allot_ladder *l, const allot_sample_view *s, size_t n, size_t *count,
                                  allot_error *err) {
    if (n && !s) return allot_error_set(err, ALLOT_E_ARGUMENT, "samples: NULL with n = %zu", n);
    if (n > l->max_samples)
        return allot_error_set(err, ALLOT_E_INVALID, "%zu samples seen: the ladder holds at most %zu", n,
                               l->max_samples);
    for (size_t m = 0; m < l->n_models; m++) count[m] = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].model >= l->n_models)
            return allot_error_set(err, ALLOT_E_INVALID,
                                   "samples[%zu].model: %u is not a model index (< %zu)", i,
                                   (unsigned)s[i].model, l->n_models);
        if (!(s[i].cost >= 0) || !isfinite(s[i].cost))
            return allot_error_set(err, ALLOT_E_INVALID, "samples[%zu].cost: must be finite and >= 0", i);
        if (s[i].reserved != 0)
            return allot_error_set(err, ALLOT_E_ARGUMENT, "samples[%zu].reserved: must be 0", i);
        if (!s[i].answer && s[i].answer_len)
            return allot_error_set(err, ALLOT_E_ARGUMENT, "samples[%zu].answer: NULL with a length", i);
        count[s[i].model]++;
    }
    return ALLOT_OK;
}

allot_status allot_ladder_locate(const allot_ladder *l, const allot_sample_view *s, size_t n, long *stage,
                                 allot_error *err) {
    size_t count[ALLOT_LADDER_MAX_MODELS];
    if (!l || !stage) return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_ladder_locate: NULL argument");
    allot_status st = check_samples(l, s, n, count, err);
    return st ? st : locate_counts(l, count, n, stage, err);
}

/* ---- the posterior of Adaptive-Consistency ------------------------------------------------------ */

double allot_beta_stop_prob(uint32_t a, uint32_t b) {
    /* P(Bin(N, 1/2) <= a), N = a + b + 1: binomial weights relative to the mode (no underflow),
     * summed outwards until a term falls below 2^-60 of the running total */
    uint64_t N = (uint64_t)a + b + 1, mode = N / 2;
    double below = 0, total = 1, w = 1;
    if (mode <= a) below = 1;
    for (uint64_t i = mode; i < N; i++) { /* w_{i+1} = w_i (N - i) / (i + 1) */
        w = w * (double)(N - i) / (double)(i + 1);
        total += w;
        if (i + 1 <= a) below += w;
        if (w < total * 0x1p-60) break;
    }
    w = 1;
    for (uint64_t i = mode; i > 0; i--) { /* w_{i-1} = w_i i / (N - i + 1) */
        w = w * (double)i / (double)(N - i + 1);
        total += w;
        if (i - 1 <= a) below += w;
        if (w < total * 0x1p-60) break;
    }
    return below / total;
}

/*
 * The probability that the runner-up overtakes the leader within m more draws, with a votes for the
 * leader and b for the runner-up, the draws between the two following p ~ Beta(a+1, b+1) (the
 * Adaptive-Consistency model): X ~ BetaBinomial(m, a+1, b+1) more votes for the leader; overtaken
 * when b + m - X > a + X, a tie at the end counting one half. Weights by the ratio recurrence
 * w(x+1)/w(x) = (m-x)(a+1+x) / ((x+1)(b+m-x)) from the mode's neighbourhood, IEEE arithmetic only.
 */
static double overtake_prob(uint32_t a, uint32_t b, uint64_t m) {
    if (m == 0) return 0.0;
    double alpha = (double)a + 1, beta = (double)b + 1;
    /* start at x = 0 and rescale when the weights grow large, so nothing overflows */
    double w = 1, total = 0, over = 0;
    for (uint64_t x = 0; x <= m; x++) {
        double lead = (double)a + (double)x, run = (double)b + (double)(m - x);
        total += w;
        if (run > lead)
            over += w;
        else if (run == lead)
            over += 0.5 * w;
        if (x < m)
            w = w * (double)(m - x) * (alpha + (double)x) / ((double)(x + 1) * (beta + (double)(m - x) - 1));
        if (w > 0x1p+500 || total > 0x1p+500) {
            w *= 0x1p-500;
            total *= 0x1p-500;
            over *= 0x1p-500;
        }
    }
    return total > 0 ? over / total : 0.0;
}

/* ---- state features --------------------------------------------------------------------------- */

static uint64_t answer_hash(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static int same_answer(const allot_sample_view *a, const allot_sample_view *b) {
    return a->answer_len == b->answer_len &&
           (a->answer_len == 0 || !memcmp(a->answer, b->answer, a->answer_len));
}

/* The numeric form of an answer: [+-]digits[.digits] (or [+-].digits). */
typedef struct answer_form {
    int numeric, integer, negative;
    double digits; /* digits of the integer part without leading zeros */
} answer_form;

static answer_form parse_form(const char *p, size_t n) {
    answer_form f = {0, 0, 0, 0};
    size_t i = 0, int_digits = 0, frac_digits = 0, nonzero_frac = 0, lead = 1, sig = 0;
    if (i < n && (p[i] == '+' || p[i] == '-')) f.negative = p[i++] == '-';
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        if (p[i] != '0' || !lead) {
            lead = 0;
            sig++;
        }
        int_digits++;
        i++;
    }
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            nonzero_frac |= p[i] != '0';
            frac_digits++;
            i++;
        }
    }
    if (i != n || int_digits + frac_digits == 0) {
        f.negative = 0;
        return f;
    }
    f.numeric = 1;
    f.integer = !nonzero_frac;
    f.digits = (double)sig;
    return f;
}

/* Per-model tallies of the samples seen. */
typedef struct model_tally {
    size_t drawn, nulls, distinct, n_scored;
    double cost, score_max, score_sum, score_pos_ok; /* score_pos_ok: 1 while every score is >= 0 */
    const answer_slot *lead, *vote;        /* the leading answer (count), the vote leader (scores) */
    size_t lead_ties, second, best_sample; /* best_sample: highest score, SIZE_MAX = none */
} model_tally;

static answer_slot *slot_for(answer_slot *tab, size_t cap, const allot_sample_view *s, size_t i) {
    uint64_t h = answer_hash(s[i].answer, s[i].answer_len);
    for (size_t j = (size_t)h & (cap - 1);; j = (j + 1) & (cap - 1)) {
        answer_slot *e = &tab[j];
        if (e->first == UINT32_MAX) {
            e->hash = h;
            e->first = (uint32_t)i;
            e->count = 0;
            e->score_sum = 0;
            return e;
        }
        if (e->hash == h && same_answer(&s[e->first], &s[i])) return e;
    }
}

static void tally_model(const allot_ladder *l, const allot_sample_view *s, size_t n, size_t m,
                        answer_slot *tab, model_tally *t) {
    memset(t, 0, sizeof *t);
    t->score_max = -INFINITY;
    t->score_pos_ok = 1;
    t->best_sample = SIZE_MAX;
    for (size_t j = 0; j < l->table_cap; j++) tab[j].first = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (s[i].model != m) continue;
        t->drawn++;
        t->cost += s[i].cost;
        double sc = s[i].score;
        if (!isnan(sc)) {
            t->n_scored++;
            t->score_sum += sc;
            if (sc < 0) t->score_pos_ok = 0;
            if (sc > t->score_max) {
                t->score_max = sc;
                t->best_sample = i;
            }
        }
        if (!s[i].answer) {
            t->nulls++;
            continue;
        }
        answer_slot *e = slot_for(tab, l->table_cap, s, i);
        if (e->count++ == 0) t->distinct++;
        if (!isnan(sc)) e->score_sum += sc;
    }
    /* the leader (ties: the first drawn), the runner-up's count, the vote leader */
    for (size_t j = 0; j < l->table_cap; j++) {
        const answer_slot *e = &tab[j];
        if (e->first == UINT32_MAX) continue;
        if (!t->lead || e->count > t->lead->count ||
            (e->count == t->lead->count && e->first < t->lead->first))
            t->lead = e;
        if (t->n_scored && (!t->vote || e->score_sum > t->vote->score_sum ||
                            (e->score_sum == t->vote->score_sum && e->first < t->vote->first)))
            t->vote = e;
    }
    for (size_t j = 0; t->lead && j < l->table_cap; j++) {
        const answer_slot *e = &tab[j];
        if (e->first == UINT32_MAX) continue;
        if (e->count == t->lead->count) t->lead_ties++;
        if (e != t->lead && e->count > t->second) t->second = e->count;
    }
}

/* Model m's block of features; prev_lead: the previous model's leading answer (NULL: none). */
static void model_features(const allot_sample_view *s, const model_tally *t,
                           const allot_sample_view *prev_lead, float *o) {
    const double nan = NAN;
    double lead = t->lead ? (double)t->lead->count : 0;
    o[M_DRAWN] = (float)t->drawn;
    o[M_LEAD_COUNT] = (float)lead;
    o[M_LEAD_SHARE] = (float)(t->drawn ? lead / (double)t->drawn : nan);
    o[M_SECOND_COUNT] = (float)t->second;
    o[M_LEAD_TIES] = (float)t->lead_ties;
    o[M_DISTINCT] = (float)t->distinct;
    o[M_NULLS] = (float)t->nulls;
    o[M_POSTERIOR] = (float)(t->drawn ? allot_beta_stop_prob((uint32_t)lead, (uint32_t)t->second) : nan);
    if (t->lead) {
        const allot_sample_view *a = &s[t->lead->first];
        answer_form f = parse_form(a->answer, a->answer_len);
        o[M_LEAD_NUMERIC] = (float)f.numeric;
        o[M_LEAD_INTEGER] = (float)(f.numeric ? f.integer : nan);
        o[M_LEAD_NEGATIVE] = (float)(f.numeric ? f.negative : nan);
        o[M_LEAD_DIGITS] = (float)(f.numeric ? f.digits : nan);
        o[M_LEAD_LENGTH] = (float)a->answer_len;
    } else {
        o[M_LEAD_NUMERIC] = o[M_LEAD_INTEGER] = o[M_LEAD_NEGATIVE] = o[M_LEAD_DIGITS] = o[M_LEAD_LENGTH] =
            (float)nan;
    }
    o[M_SCORE_MAX] = (float)(t->n_scored ? t->score_max : nan);
    o[M_SCORE_MEAN] = (float)(t->n_scored ? t->score_sum / (double)t->n_scored : nan);
    o[M_LEAD_SCORE_SHARE] = (float)(t->lead && t->n_scored && t->score_pos_ok && t->score_sum > 0
                                        ? t->lead->score_sum / t->score_sum
                                        : nan);
    o[M_COST] = (float)t->cost;
    o[M_LEAD_AGREES_PREV] =
        (float)(prev_lead && t->lead ? (double)same_answer(prev_lead, &s[t->lead->first]) : nan);
}

/* The sample carrying the answer of stage st's rule for its model's tally. */
static long stage_answer(allot_stage_rule rule, const model_tally *t) {
    switch (rule) {
    case ALLOT_STAGE_MAJORITY: return t->lead ? (long)t->lead->first : -1;
    case ALLOT_STAGE_BEST: return t->best_sample != SIZE_MAX ? (long)t->best_sample : -1;
    case ALLOT_STAGE_VOTE: return t->vote ? (long)t->vote->first : -1;
    case ALLOT_STAGE_PASS: return -1;
    }
    return -1;
}

allot_status allot_ladder_state(const allot_ladder *l, const allot_sample_view *s, size_t n, void *scratch,
                                size_t scratch_size, float *out, allot_stage_summary *sum, allot_error *err) {
    size_t count[ALLOT_LADDER_MAX_MODELS];
    if (!l || !out || (!scratch && l->table_cap))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_ladder_state: NULL argument");
    if (scratch_size < allot_ladder_scratch_size(l))
        return allot_error_set(err, ALLOT_E_ARGUMENT, "allot_ladder_state: scratch of %zu bytes, need %zu",
                               scratch_size, allot_ladder_scratch_size(l));
    long stage;
    allot_status st = check_samples(l, s, n, count, err);
    if (!st) st = locate_counts(l, count, n, &stage, err);
    if (st) return st;
    /* align the answer table inside the caller's scratch */
    uintptr_t base = ((uintptr_t)scratch + 15u) & ~(uintptr_t)15u;
    answer_slot *tab = (answer_slot *)base;
    double cost = 0;
    for (size_t i = 0; i < n; i++) cost += s[i].cost;
    out[G_STAGE] = (float)stage;
    out[G_SAMPLES] = (float)n;
    out[G_COST] = (float)cost;
    model_tally t;
    const allot_sample_view *prev_lead = NULL;
    long answer = -1;
    uint32_t lead[ALLOT_LADDER_MAX_MODELS], second[ALLOT_LADDER_MAX_MODELS];
    for (size_t m = 0; m < l->n_models; m++) {
        tally_model(l, s, n, m, tab, &t);
        model_features(s, &t, prev_lead, out + G_COUNT + m * M_COUNT);
        if (stage >= 0 && l->stages[stage].model == m) answer = stage_answer(l->stages[stage].rule, &t);
        prev_lead = t.lead ? &s[t.lead->first] : NULL; /* the table is reused: keep the sample */
        lead[m] = t.lead ? t.lead->count : 0;
        second[m] = (uint32_t)t.second;
    }
    /* per stage t: the probability that the leader of t's model is overtaken before t completes */
    float *flip = out + G_COUNT + l->n_models * M_COUNT;
    for (size_t i = 0; i < l->n_stages; i++) {
        size_t m = l->stages[i].model, k = l->stages[i].k;
        flip[i] =
            count[m] && k > count[m] ? (float)overtake_prob(lead[m], second[m], k - count[m]) : (float)NAN;
    }
    if (sum) {
        memset(sum, 0, sizeof *sum);
        sum->stage = stage;
        sum->answer_sample = answer;
        sum->cost_spent = cost;
    }
    return ALLOT_OK;
}

/* ---- internal accessors ------------------------------------------------------------------------ */

size_t allot_ladder_stage_model(const allot_ladder *l, size_t i) {
    return l->stages[i].model;
}
size_t allot_ladder_stage_k(const allot_ladder *l, size_t i) {
    return l->stages[i].k;
}
const char *allot_ladder_stage_name(const allot_ladder *l, size_t i) {
    return l->stages[i].name;
}
