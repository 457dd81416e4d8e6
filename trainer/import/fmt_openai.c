/*
 * fmt_openai.c - OpenAI Batch API / vLLM run_batch output, and OpenAI-compatible chat or completion
 * responses, joined with the batch input (request) file (docs/import.md, "openai").
 *
 * The request files are read first (custom_id -> prompt, reference, line); then every response
 * line is graded and written as it comes, so the output follows the response files' order. A
 * response line is a batch output line ({"custom_id", "response": {"status_code", "body"},
 * "error"}) or a bare completion object ({"choices", "usage", ...}); a bare one without custom_id
 * answers the request at its own position. Each choice is one sample; its cost comes from usage.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "util.h"

typedef struct request {
    char *prompt; /* NULL: none */
    char *gold;   /* normalised reference */
    const char *path;
    size_t line;
    const char *answered_path; /* NULL: no response yet */
    size_t answered_line;
} request;

typedef struct oa_state {
    imp_map ids; /* custom_id -> index into reqs */
    request *reqs;
    size_t n_reqs, reqs_cap;
    size_t n_responses; /* response lines so far (for positional joins) */
    imp_sample *samples;
    size_t samples_cap;
} oa_state;

/* ---- the request files -------------------------------------------------------------------------- */

/* The item at dotted path inside obj, or NULL. */
static const cJSON *at_path(const cJSON *obj, const char *path) {
    char part[128];
    while (obj && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part) return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        obj = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, part) : NULL;
        path += n + (path[n] == '.');
    }
    return obj;
}

/* Text of a chat message content: a string, or the "text" parts of an array joined by newlines. */
static allot_status content_text(const imp_lines *l, const cJSON *content, const char *field, char **out,
                                 allot_error *err) {
    *out = NULL;
    if (cJSON_IsString(content)) {
        *out = allot_strdup(content->valuestring);
        return *out ? ALLOT_OK : allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    }
    if (!cJSON_IsArray(content))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%s: expected a string or an array of parts",
                       field);
    size_t len = 0;
    for (const cJSON *p = content->child; p; p = p->next) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (cJSON_IsString(t)) len += strlen(t->valuestring) + 1;
    }
    char *s = malloc(len + 1), *w = s;
    if (!s) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    for (const cJSON *p = content->child; p; p = p->next) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!cJSON_IsString(t)) continue;
        if (w != s) *w++ = '\n';
        size_t n = strlen(t->valuestring);
        memcpy(w, t->valuestring, n);
        w += n;
    }
    *w = '\0';
    *out = s;
    return ALLOT_OK;
}

/* The prompt of a request: the last user message (chat) or body.prompt (completions). */
static allot_status request_prompt(const imp_lines *l, const cJSON *body, char **prompt, allot_error *err) {
    *prompt = NULL;
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(body, "messages");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    if (messages) {
        if (!cJSON_IsArray(messages))
            return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "body.messages: expected an array");
        const cJSON *user = NULL;
        size_t i = 0, at = 0;
        for (const cJSON *m = messages->child; m; m = m->next, i++) {
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
            if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0) user = m, at = i;
        }
        if (!user) return ALLOT_OK;
        char field[64];
        snprintf(field, sizeof field, "body.messages[%zu].content", at);
        return content_text(l, cJSON_GetObjectItemCaseSensitive(user, "content"), field, prompt, err);
    }
    if (!p) return ALLOT_OK;
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1) p = p->child;
    if (!cJSON_IsString(p))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "body.prompt: expected a string (or an array of one)");
    *prompt = allot_strdup(p->valuestring);
    return *prompt ? ALLOT_OK : allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
}

static allot_status request_gold(imp_ctx *c, const imp_lines *l, char **gold, allot_error *err) {
    static const char *const defaults[] = {"gold", "body.metadata.gold"};
    const cJSON *ref = NULL;
    const char *field = c->o->gold_field;
    if (field) {
        ref = at_path(l->doc, field);
    } else {
        for (size_t k = 0; k < 2 && !ref; k++) ref = at_path(l->doc, field = defaults[k]);
        if (!ref) field = "gold";
    }
    if (!ref)
        return imp_err(
            err, ALLOT_E_INVALID, l->path, l->lineno,
            "%s: missing (the reference answer: \"gold\" or body.metadata.gold in each request line, or "
            "name its field with --gold-field)",
            field);
    char num[64];
    const char *text = imp_scalar_text(ref, num, sizeof num);
    if (!text)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%s: expected a string or a number", field);
    return imp_gold(c->o->grader, text, gold, l->path, l->lineno, field, err);
}

static allot_status request_line(imp_ctx *c, oa_state *s, const imp_lines *l, allot_error *err) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(l->doc, "custom_id");
    if (!id) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "custom_id: missing");
    if (!cJSON_IsString(id) || !id->valuestring[0])
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "custom_id: expected a non-empty string");
    const imp_map_entry *seen = imp_map_find(&s->ids, id->valuestring);
    if (seen)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "custom_id: duplicate \"%s\" (first at %s:%zu)", id->valuestring,
                       s->reqs[seen->value].path, s->reqs[seen->value].line);
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(l->doc, "body");
    if (!body) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "body: missing");
    if (!cJSON_IsObject(body))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "body: expected an object");
    if (allot_reserve((void **)&s->reqs, &s->reqs_cap, s->n_reqs + 1, sizeof *s->reqs))
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    request *r = &s->reqs[s->n_reqs];
    memset(r, 0, sizeof *r);
    allot_status st = request_prompt(l, body, &r->prompt, err);
    if (!st) st = request_gold(c, l, &r->gold, err);
    if (!st && !imp_map_add(&s->ids, id->valuestring, s->n_reqs, 0))
        st = allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    if (st) {
        free(r->prompt);
        free(r->gold);
        return st;
    }
    r->path = l->path;
    r->line = l->lineno;
    s->n_reqs++;
    return ALLOT_OK;
}

static allot_status read_requests(imp_ctx *c, oa_state *s, allot_error *err) {
    if (c->o->n_requests == 0)
        return allot_error_set(err, ALLOT_E_ARGUMENT,
                               "openai: give the batch input file with --requests FILE");
    allot_status st = ALLOT_OK;
    for (size_t f = 0; f < c->o->n_requests && !st; f++) {
        imp_lines l;
        st = imp_lines_open(&l, c->o->requests[f], err);
        int has = 1;
        while (!st && (st = imp_lines_next_json(&l, &has, err)) == ALLOT_OK && has)
            st = request_line(c, s, &l, err);
        imp_lines_close(&l);
    }
    return st;
}

/* ---- the response files ------------------------------------------------------------------------- */

/* The request a response line answers: by custom_id, else by position. */
static allot_status match_request(oa_state *s, const imp_lines *l, size_t *idx, const char **id,
                                  allot_error *err) {
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(l->doc, "custom_id");
    size_t pos = s->n_responses++;
    if (cid) {
        if (!cJSON_IsString(cid))
            return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "custom_id: expected a string");
        const imp_map_entry *e = imp_map_find(&s->ids, cid->valuestring);
        if (!e)
            return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                           "custom_id: no request \"%s\" in the request file(s)", cid->valuestring);
        *idx = e->value;
    } else {
        if (pos >= s->n_reqs)
            return imp_err(
                err, ALLOT_E_INVALID, l->path, l->lineno,
                "custom_id: missing, and there are only %zu requests to pair responses with by position",
                s->n_reqs);
        *idx = pos;
    }
    *id = s->ids.entries[*idx].key;
    request *r = &s->reqs[*idx];
    if (r->answered_path)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "custom_id: a second response to \"%s\" (first at %s:%zu)", *id, r->answered_path,
                       r->answered_line);
    r->answered_path = l->path;
    r->answered_line = l->lineno;
    return ALLOT_OK;
}

/* The completion object of a response line, and the prefix its fields are named with. */
static allot_status response_body(const imp_lines *l, const cJSON **body, const char **prefix,
                                  allot_error *err) {
    const cJSON *doc = l->doc, *error = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *response = cJSON_GetObjectItemCaseSensitive(doc, "response");
    const cJSON *msg = cJSON_IsObject(error) ? cJSON_GetObjectItemCaseSensitive(error, "message") : NULL;
    if (error && !cJSON_IsNull(error))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "error: the request failed (%s)",
                       cJSON_IsString(msg) ? msg->valuestring : "no message");
    if (!response) {
        if (!cJSON_GetObjectItemCaseSensitive(doc, "choices"))
            return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                           "response: missing (neither a batch output line nor a completion response)");
        *body = doc; /* a bare chat.completion / text_completion object */
        *prefix = "";
        return ALLOT_OK;
    }
    if (!cJSON_IsObject(response))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "response: expected an object (the request failed?)");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(response, "status_code");
    if (code && (!cJSON_IsNumber(code) || code->valuedouble != 200))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "response.status_code: %g, not 200 (the request failed)",
                       cJSON_IsNumber(code) ? code->valuedouble : -1.0);
    *body = cJSON_GetObjectItemCaseSensitive(response, "body");
    *prefix = "response.body.";
    if (!*body) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "response.body: missing");
    if (!cJSON_IsObject(*body))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "response.body: expected an object");
    return ALLOT_OK;
}

/* A token count: a number >= 0. */
static allot_status tokens(const imp_lines *l, const cJSON *usage, const char *prefix, const char *key,
                           double *v, allot_error *err) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(usage, key);
    if (!t) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%susage.%s: missing", prefix, key);
    if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || t->valuedouble < 0)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%susage.%s: expected a number >= 0", prefix,
                       key);
    *v = t->valuedouble;
    return ALLOT_OK;
}

/* Tokens of one choice where the response gives them (its logprobs), else -1. */
static double choice_tokens(const cJSON *choice) {
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(choice, "logprobs");
    const cJSON *seq = cJSON_IsObject(lp) ? cJSON_GetObjectItemCaseSensitive(lp, "content") : NULL;
    if (!cJSON_IsArray(seq) && cJSON_IsObject(lp)) seq = cJSON_GetObjectItemCaseSensitive(lp, "tokens");
    return cJSON_IsArray(seq) ? (double)cJSON_GetArraySize(seq) : -1;
}

/* Per-sample costs from usage: each choice's completion tokens (split evenly when not given). */
static allot_status costs(imp_ctx *c, const imp_lines *l, const cJSON *body, const char *prefix,
                          const cJSON *choices, size_t n, imp_sample *samples, allot_error *err) {
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(body, "usage");
    if (!usage)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%susage: missing (the cost comes from it)",
                       prefix);
    if (!cJSON_IsObject(usage))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%susage: expected an object", prefix);
    double prompt_tokens, completion_tokens;
    allot_status st = tokens(l, usage, prefix, "prompt_tokens", &prompt_tokens, err);
    if (!st) st = tokens(l, usage, prefix, "completion_tokens", &completion_tokens, err);
    if (st) return st;
    int per_choice = 1;
    for (const cJSON *ch = choices->child; ch; ch = ch->next) per_choice &= choice_tokens(ch) >= 0;
    if (!per_choice && n > 1) c->sum->n_even_split++;
    size_t i = 0;
    for (const cJSON *ch = choices->child; ch; ch = ch->next, i++) {
        double t = per_choice ? choice_tokens(ch) : completion_tokens / (double)n;
        samples[i].has_cost = 1;
        samples[i].cost = c->o->completion_price * t + c->o->prompt_price * prompt_tokens / (double)n;
    }
    return ALLOT_OK;
}

/* The text of one choice: message.content (chat; null counts as empty) or text (completions). */
static allot_status choice_text(const imp_lines *l, const cJSON *ch, const char *prefix, size_t i,
                                const char **text, allot_error *err) {
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
    const cJSON *t =
        msg ? cJSON_GetObjectItemCaseSensitive(msg, "content") : cJSON_GetObjectItemCaseSensitive(ch, "text");
    const char *key = msg ? "message.content" : "text";
    if (!cJSON_IsObject(ch))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%schoices[%zu]: expected an object", prefix,
                       i);
    if (msg && !cJSON_IsObject(msg))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%schoices[%zu].message: expected an object",
                       prefix, i);
    if (!t && !msg)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%schoices[%zu]: neither message nor text",
                       prefix, i);
    if (t && !cJSON_IsString(t) && !cJSON_IsNull(t))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%schoices[%zu].%s: expected a string",
                       prefix, i, key);
    *text = cJSON_IsString(t) ? t->valuestring : "";
    return ALLOT_OK;
}

static allot_status response_line(imp_ctx *c, oa_state *s, const imp_lines *l, allot_error *err) {
    size_t idx = 0;
    const char *id = NULL, *prefix = "";
    const cJSON *body = NULL;
    allot_status st = match_request(s, l, &idx, &id, err);
    if (!st) st = response_body(l, &body, &prefix, err);
    if (st) return st;
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(body, "choices");
    if (!choices) return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%schoices: missing", prefix);
    if (!cJSON_IsArray(choices))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%schoices: expected an array", prefix);
    size_t n = (size_t)cJSON_GetArraySize(choices);
    if (n == 0)
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno,
                       "%schoices: empty (a response without choices)", prefix);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(body, "model");
    if (model && !cJSON_IsString(model))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "%smodel: expected a string", prefix);
    const char *model_name = c->o->model ? c->o->model : model ? model->valuestring : NULL;
    if (allot_reserve((void **)&s->samples, &s->samples_cap, n, sizeof *s->samples))
        return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    memset(s->samples, 0, n * sizeof *s->samples);
    const request *r = &s->reqs[idx];
    size_t i = 0;
    char field[96];
    for (const cJSON *ch = choices->child; ch && !st; ch = ch->next, i++) {
        const char *text = NULL;
        s->samples[i].model = model_name;
        if (!(st = choice_text(l, ch, prefix, i, &text, err))) {
            snprintf(field, sizeof field, "%schoices[%zu]", prefix, i);
            st = imp_grade(c->o->grader, c->sum, text, r->gold, &s->samples[i], l->path, l->lineno, field,
                           err);
        }
    }
    if (!st) st = costs(c, l, body, prefix, choices, n, s->samples, err);
    if (!st) {
        imp_query q = {.id = id,
                       .prompt = r->prompt,
                       .gold = r->gold,
                       .samples = s->samples,
                       .n_samples = n,
                       .src = l->path,
                       .line = l->lineno};
        st = imp_sink_put(c->sink, &q, err);
    }
    for (size_t x = 0; x < n; x++) free(s->samples[x].answer);
    return st;
}

/* Every request must have been answered. */
static allot_status check_answered(const oa_state *s, allot_error *err) {
    for (size_t i = 0; i < s->n_reqs; i++)
        if (!s->reqs[i].answered_path)
            return imp_err(err, ALLOT_E_INVALID, s->reqs[i].path, s->reqs[i].line,
                           "custom_id: no response to \"%s\" in the output file(s)", s->ids.entries[i].key);
    return ALLOT_OK;
}

allot_status imp_run_openai(imp_ctx *c, allot_error *err) {
    oa_state s = {0};
    allot_status st = read_requests(c, &s, err);
    for (size_t f = 0; f < c->o->n_inputs && !st; f++) {
        imp_lines l;
        st = imp_lines_open(&l, c->o->inputs[f], err);
        int has = 1;
        while (!st && (st = imp_lines_next_json(&l, &has, err)) == ALLOT_OK && has)
            st = response_line(c, &s, &l, err);
        imp_lines_close(&l);
    }
    if (!st) st = check_answered(&s, err);
    for (size_t i = 0; i < s.n_reqs; i++) {
        free(s.reqs[i].prompt);
        free(s.reqs[i].gold);
    }
    free(s.reqs);
    free(s.samples);
    imp_map_free(&s.ids);
    return st;
}
