#include "runtime_io.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

allot_status allot_rt_read_file(const char *what, const char *path, size_t max_bytes, char **data,
                                size_t *len, allot_error *err) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return allot_error_set(err, ALLOT_E_IO, "%s: cannot open %s: %s", what, path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    allot_status st = ALLOT_OK;
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break; /* end of file or a read error (checked below) */
        if (max_bytes && cap >= max_bytes) {
            st = allot_error_set(err, ALLOT_E_INVALID, "%s: %s is larger than %zu bytes", what, path,
                                 max_bytes);
            break;
        }
        char *nb = cap > SIZE_MAX / 4 ? NULL : realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int read_failed = ferror(f);
    fclose(f);
    if (!buf) return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory reading %s", what, path);
    if (st == ALLOT_OK && read_failed)
        st = allot_error_set(err, ALLOT_E_IO, "%s: read error on %s", what, path);
    if (st == ALLOT_OK && max_bytes && n > max_bytes)
        st = allot_error_set(err, ALLOT_E_INVALID, "%s: %s is larger than %zu bytes", what, path, max_bytes);
    if (st != ALLOT_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return ALLOT_OK;
}

/* ---- JSON: telling a syntax error from running out of memory ------------------------------------ */

/*
 * A well-formedness check of one RFC 8259 JSON value that allocates nothing. It must never accept
 * a text that cJSON (1.7.x) rejects, or a syntax error would be reported as running out of memory;
 * so besides the grammar it refuses what cJSON refuses in valid JSON: nesting deeper than
 * CJSON_NESTING_LIMIT, unpaired UTF-16 surrogates, and numbers longer than the 63 characters
 * cJSON 1.7.15 reads. (Where cJSON is more lenient than the grammar, e.g. control characters in
 * strings, the check is stricter: such a text merely reports a parse error when memory runs out.)
 */
typedef struct json_scan {
    const unsigned char *s;
    size_t n, i;
} json_scan;

#define JSON_MAX_NUMBER_CHARS 63

static void js_ws(json_scan *c) {
    while (c->i < c->n &&
           (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

static int js_literal(json_scan *c, const char *lit) {
    size_t k = strlen(lit);
    if (c->n - c->i < k || memcmp(c->s + c->i, lit, k) != 0) return 0;
    c->i += k;
    return 1;
}

static int js_digits(json_scan *c) {
    size_t start = c->i;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') c->i++;
    return c->i > start;
}

static int js_hex4(json_scan *c, unsigned *u) {
    if (c->n - c->i < 4) return 0;
    *u = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char h = c->s[c->i++];
        unsigned d = 16u;
        if (h >= '0' && h <= '9') d = (unsigned)(h - '0');
        if (h >= 'a' && h <= 'f') d = (unsigned)(h - 'a') + 10u;
        if (h >= 'A' && h <= 'F') d = (unsigned)(h - 'A') + 10u;
        if (d > 15) return 0;
        *u = *u * 16 + d;
    }
    return 1;
}

static int js_string(json_scan *c) { /* c->s[c->i] == '"' */
    c->i++;
    while (c->i < c->n) {
        unsigned char ch = c->s[c->i++];
        if (ch == '"') return 1;
        if (ch < 0x20) return 0;
        if (ch != '\\') continue;
        if (c->i >= c->n) return 0;
        ch = c->s[c->i++];
        if (ch == '"' || ch == '\\' || ch == '/' || ch == 'b' || ch == 'f' || ch == 'n' || ch == 'r' ||
            ch == 't')
            continue;
        unsigned u;
        if (ch != 'u' || !js_hex4(c, &u) || (u >= 0xDC00 && u <= 0xDFFF)) return 0;
        if (u >= 0xD800 && u <= 0xDBFF) { /* a high surrogate needs a low one right after it */
            if (c->n - c->i < 2 || c->s[c->i] != '\\' || c->s[c->i + 1] != 'u') return 0;
            c->i += 2;
            if (!js_hex4(c, &u) || u < 0xDC00 || u > 0xDFFF) return 0;
        }
    }
    return 0;
}

static int js_number(json_scan *c) {
    size_t start = c->i;
    if (c->s[c->i] == '-') c->i++;
    if (c->i < c->n && c->s[c->i] == '0')
        c->i++;
    else if (!js_digits(c))
        return 0;
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (!js_digits(c)) return 0;
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-')) c->i++;
        if (!js_digits(c)) return 0;
    }
    return c->i - start <= JSON_MAX_NUMBER_CHARS;
}

static int js_value(json_scan *c, size_t depth);

/* The members of an object or the elements of an array, after its opening bracket. */
static int js_container(json_scan *c, size_t depth, unsigned char close) {
    if (depth >= CJSON_NESTING_LIMIT) return 0;
    c->i++;
    js_ws(c);
    if (c->i < c->n && c->s[c->i] == close) {
        c->i++;
        return 1;
    }
    for (;;) {
        if (close == '}') {
            js_ws(c);
            if (c->i >= c->n || c->s[c->i] != '"' || !js_string(c)) return 0;
            js_ws(c);
            if (c->i >= c->n || c->s[c->i] != ':') return 0;
            c->i++;
        }
        if (!js_value(c, depth + 1)) return 0;
        js_ws(c);
        if (c->i >= c->n) return 0;
        if (c->s[c->i] == close) {
            c->i++;
            return 1;
        }
        if (c->s[c->i++] != ',') return 0;
    }
}

static int js_value(json_scan *c, size_t depth) {
    js_ws(c);
    if (c->i >= c->n) return 0;
    switch (c->s[c->i]) {
    case '{': return js_container(c, depth, '}');
    case '[': return js_container(c, depth, ']');
    case '"': return js_string(c);
    case 't': return js_literal(c, "true");
    case 'f': return js_literal(c, "false");
    case 'n': return js_literal(c, "null");
    default: return js_number(c);
    }
}

cJSON *allot_rt_json_parse(const char *data, size_t len, const char **end, int *nomem) {
    const char *e = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(data, len, &e, 0);
    if (end) *end = e;
    *nomem = 0;
    if (!root && data) {
        json_scan c = {(const unsigned char *)data, len, 0};
        *nomem = js_value(&c, 0);
    }
    return root;
}

int allot_rt_json_wellformed(const char *data, size_t len, size_t *end) {
    json_scan c = {(const unsigned char *)data, data ? len : 0, 0};
    int ok = data && js_value(&c, 0);
    if (end) *end = c.i;
    return ok;
}

allot_status allot_rt_error_prefix(allot_error *err, allot_status st, const char *prefix) {
    if (!err) return st;
    char tmp[ALLOT_ERROR_MSG_SIZE];
    snprintf(tmp, sizeof tmp, "%s", err->msg);
    return allot_error_set(err, st, "%s: %s", prefix, tmp);
}

int allot_rt_decimal_canonical(const char *s, size_t n, size_t max_len, char *out, size_t out_size) {
    size_t i = 0, k = 0, frac = 0, nd = 0;
    /* the digits, a sign and "e-NNNNNN" must fit */
    if (n == 0 || n > max_len || out_size < n + 16) return 0;
    if (s[i] == '+' || s[i] == '-') out[k++] = s[i++];
    while (i < n && s[i] >= '0' && s[i] <= '9') out[k++] = s[i++], nd++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') out[k++] = s[i++], nd++, frac++;
    }
    if (nd == 0) return 0;
    long exp10 = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int neg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
        size_t e0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (exp10 < 100000) exp10 = exp10 * 10 + (s[i] - '0'); /* beyond this every value is 0 or inf */
            i++;
        }
        if (i == e0) return 0;
        if (neg) exp10 = -exp10;
    }
    if (i != n) return 0;
    snprintf(out + k, out_size - k, "e%ld", exp10 - (long)frac);
    return 1;
}

const char *allot_rt_skip_bom(const char *data, size_t *len) {
    if (data && *len >= 3 && (unsigned char)data[0] == 0xef && (unsigned char)data[1] == 0xbb &&
        (unsigned char)data[2] == 0xbf) {
        *len -= 3;
        return data + 3;
    }
    return data;
}

/* ---- strict checks: \u0000 in strings, duplicate members ------------------------------------------- */

/* A dotted path being built while walking a document ("a.b[3].c"), truncated to its buffer. */
typedef struct json_path {
    char buf[256];
    size_t len;
} json_path;

static size_t path_push_key(json_path *p, const char *key, size_t klen) {
    size_t old = p->len;
    int n = snprintf(p->buf + p->len, sizeof p->buf - p->len, "%s%.*s", p->len ? "." : "",
                     (int)(klen > 64 ? 64 : klen), key);
    if (n > 0) p->len = p->len + (size_t)n < sizeof p->buf ? p->len + (size_t)n : sizeof p->buf - 1;
    return old;
}

static size_t path_push_index(json_path *p, size_t idx) {
    size_t old = p->len;
    int n = snprintf(p->buf + p->len, sizeof p->buf - p->len, "[%zu]", idx);
    if (n > 0) p->len = p->len + (size_t)n < sizeof p->buf ? p->len + (size_t)n : sizeof p->buf - 1;
    return old;
}

static void path_pop(json_path *p, size_t old) {
    p->len = old;
    p->buf[old] = '\0';
}

static void strict_msg(char *msg, size_t size, const char *prefix, const json_path *p, const char *problem) {
    const char *sep = prefix && *prefix && p->len ? "." : "";
    snprintf(msg, size, "%s%s%s: %s", prefix ? prefix : "", sep,
             p->len ? p->buf : (prefix && *prefix ? "" : "(document)"), problem);
}

/*
 * The raw text is walked once, tracking the path, to find a string whose escapes decode to a NUL
 * (cJSON's tree cannot tell: its strings end there). Only called when the text holds "\u0000" at
 * all, so ordinary documents pay one memchr-speed scan.
 */
typedef struct nul_scan {
    const char *s;
    size_t n, i;
    json_path path;
} nul_scan;

static int ns_has_nul_escape(const char *s, size_t n) {
    for (const char *p = s; (p = memchr(p, '\\', (size_t)(s + n - p))) != NULL; p++)
        if ((size_t)(s + n - p) >= 6 && p[1] == 'u' && !memcmp(p + 2, "0000", 4)) return 1;
    return 0;
}

/* Scan the string at s[i] == '"'; *nul = 1 when it holds \u0000. Returns the index after it. */
static size_t ns_string(const nul_scan *c, size_t i, int *nul, size_t *start, size_t *end) {
    *nul = 0;
    *start = ++i;
    while (i < c->n && c->s[i] != '"') {
        if (c->s[i] == '\\') {
            if (i + 5 < c->n && c->s[i + 1] == 'u' && !memcmp(c->s + i + 2, "0000", 4)) *nul = 1;
            i += 2;
        } else {
            i++;
        }
    }
    *end = i < c->n ? i : c->n;
    return i < c->n ? i + 1 : c->n;
}

/* cJSON's whitespace: every byte <= 32 (it skips control characters, NUL included, between
 * tokens), so that this walk stays aligned with the tree cJSON built from the same text. */
static size_t ns_ws(const nul_scan *c, size_t i) {
    while (i < c->n && (unsigned char)c->s[i] <= 32) i++;
    return i;
}

/* Returns 1 and leaves the path at the offending value when found; *i advances past the value. */
static int ns_value(nul_scan *c, size_t *i, size_t depth) {
    size_t k = ns_ws(c, *i);
    if (k >= c->n || depth > CJSON_NESTING_LIMIT) {
        *i = c->n;
        return 0;
    }
    int nul;
    size_t a, b;
    if (c->s[k] == '"') {
        *i = ns_string(c, k, &nul, &a, &b);
        return nul;
    }
    if (c->s[k] != '{' && c->s[k] != '[') {
        while (k < c->n && c->s[k] != ',' && c->s[k] != '}' && c->s[k] != ']') k++;
        *i = k;
        return 0;
    }
    int obj = c->s[k] == '{';
    k = ns_ws(c, k + 1);
    for (size_t idx = 0; k < c->n && c->s[k] != (obj ? '}' : ']'); idx++) {
        size_t mark, at = k;
        if (obj) {
            k = ns_string(c, ns_ws(c, k), &nul, &a, &b);
            mark = path_push_key(&c->path, c->s + a, b - a);
            if (nul) return 1;
            k = ns_ws(c, k);
            if (k < c->n && c->s[k] == ':') k++;
        } else {
            mark = path_push_index(&c->path, idx);
        }
        if (ns_value(c, &k, depth + 1)) return 1;
        path_pop(&c->path, mark);
        k = ns_ws(c, k);
        if (k < c->n && c->s[k] == ',') k = ns_ws(c, k + 1);
        if (k == at) k = c->n; /* no progress (a text out of step with the grammar): stop, never spin */
    }
    *i = k < c->n ? k + 1 : c->n;
    return 0;
}

/* Duplicate member names, over the tree: a hash set of the names of each object with many members. */
static uint64_t name_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* The walk's way down, one frame per level on the stack: the path of a duplicate is spelled out
 * from it only when one is found, so a valid document formats nothing. */
typedef struct walk_frame {
    const struct walk_frame *up;
    const char *key; /* the member's name, or NULL for an array element */
    size_t idx;      /* the element's index */
} walk_frame;

static void path_of(json_path *p, const walk_frame *f) {
    if (!f) return;
    path_of(p, f->up);
    if (f->key)
        path_push_key(p, f->key, strlen(f->key));
    else
        path_push_index(p, f->idx);
}

/* a == b, for member names (inlined: a call to strcmp costs more than comparing a few bytes). */
static inline int same_name(const char *a, const char *b) {
    while (*b && *a == *b) a++, b++;
    return *a == *b;
}

/* Objects of at most this many members are checked pairwise, larger ones with a hash set. */
#define SMALL_OBJECT 8

/* 1 when two members of a large object are named alike (a hash set of the names), -1 when out of
 * memory, else 0; *dup_key: the first member whose name an earlier one has. */
static int hashed_duplicate(const cJSON *obj, const char **dup_key, char *msg, size_t msg_size) {
    size_t n = 0, slots = 1;
    for (const cJSON *c = obj->child; c; c = c->next) n++;
    while (slots < 2 * n) slots *= 2;
    const cJSON **set = calloc(slots, sizeof *set);
    if (!set) {
        snprintf(msg, msg_size, "out of memory checking for duplicate members");
        return -1;
    }
    int dup = 0;
    for (const cJSON *c = obj->child; c && !dup; c = c->next) {
        const char *key = c->string ? c->string : "";
        size_t h = (size_t)name_hash(key) & (slots - 1);
        while (set[h] && strcmp(set[h]->string ? set[h]->string : "", key)) h = (h + 1) & (slots - 1);
        dup = set[h] != NULL;
        set[h] = c;
        if (dup) *dup_key = key;
    }
    free(set);
    return dup;
}

/* 1 when two members of an object are named alike, -1 when out of memory, else 0; *dup_key: the
 * first member whose name an earlier one has. The members are visited once: a small object's names
 * are compared with the earlier ones kept here (first bytes first, which rule out most), and a large
 * object goes to the hash set as soon as it shows itself large. (Each walk of a line's tree misses
 * the cache node after node, so the walks are kept few.) */
static int has_duplicate(const cJSON *obj, const char **dup_key, char *msg, size_t msg_size) {
    const char *keys[SMALL_OBJECT];
    unsigned char first[SMALL_OBJECT];
    size_t n = 0;
    for (const cJSON *c = obj->child; c; c = c->next, n++) {
        if (n == SMALL_OBJECT) return hashed_duplicate(obj, dup_key, msg, msg_size);
        const char *key = c->string ? c->string : "";
        for (size_t i = 0; i < n; i++)
            if (first[i] == (unsigned char)key[0] && same_name(keys[i], key)) {
                *dup_key = key;
                return 1;
            }
        keys[n] = key;
        first[n] = (unsigned char)key[0];
    }
    return 0;
}

static int dup_walk(const cJSON *it, const walk_frame *here, size_t depth, const char *prefix, char *msg,
                    size_t msg_size) {
    if (!it || depth > CJSON_NESTING_LIMIT) return 0;
    int is_obj = cJSON_IsObject(it);
    if (is_obj) {
        const char *key = NULL;
        int dup = has_duplicate(it, &key, msg, msg_size);
        if (dup > 0) {
            json_path path = {{0}, 0};
            walk_frame f = {here, key, 0};
            path_of(&path, &f);
            strict_msg(msg, msg_size, prefix, &path, "duplicate member (each name may appear once)");
        }
        if (dup) return dup;
    }
    size_t idx = 0;
    for (const cJSON *c = it->child; c; c = c->next, idx++) {
        if (!c->child) continue;
        walk_frame f = {here, is_obj ? (c->string ? c->string : "") : NULL, idx};
        int r = dup_walk(c, &f, depth + 1, prefix, msg, msg_size);
        if (r) return r;
    }
    return 0;
}

int allot_rt_json_strict_check(const cJSON *root, const char *text, size_t len, const char *prefix, char *msg,
                               size_t msg_size) {
    if (text && ns_has_nul_escape(text, len)) {
        nul_scan c = {text, len, 0, {{0}, 0}};
        if (ns_value(&c, &c.i, 0)) {
            strict_msg(msg, msg_size, prefix, &c.path,
                       "contains \\u0000 (a NUL character), which allot refuses");
            return 1;
        }
    }
    return dup_walk(root, NULL, 0, prefix, msg, msg_size);
}
