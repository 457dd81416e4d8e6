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
