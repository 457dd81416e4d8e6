/* identity.c - identity by content (see identity.h). */
#include "identity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static void put_u64(allot_sha256 *c, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    allot_sha256_update(c, b, 8);
}

/* A string as its length then its bytes; NULL as a 0 byte (present strings get a 1 byte first). */
static void put_str(allot_sha256 *c, const char *s, int optional) {
    if (optional) {
        unsigned char present = s != NULL;
        allot_sha256_update(c, &present, 1);
        if (!s) return;
    }
    size_t n = s ? strlen(s) : 0;
    put_u64(c, n);
    allot_sha256_update(c, s ? s : "", n);
}

/* A double by its bits; every NaN (a missing value) as one canonical NaN. */
static void put_double(allot_sha256 *c, double v) {
    uint64_t bits = 0x7ff8000000000000ull;
    if (!isnan(v)) memcpy(&bits, &v, sizeof bits);
    put_u64(c, bits);
}

void allot_curves_content_sha256(const allot_curves *c, char hex[65]) {
    allot_sha256 h;
    allot_sha256_init(&h);
    static const char tag[] = "allot-curves-content-1";
    allot_sha256_update(&h, tag, sizeof tag);
    size_t T = c->n_tiers, F = c->n_features;
    put_u64(&h, T);
    for (size_t t = 0; t < T; t++) put_str(&h, c->tier_names[t], 0);
    put_u64(&h, F);
    for (size_t f = 0; f < F; f++) put_str(&h, c->feature_names[f], 0);
    size_t E = c->embed_name ? c->embed_dim : 0;
    put_str(&h, c->embed_name, 1);
    put_u64(&h, E);
    put_u64(&h, c->n_queries);
    for (size_t i = 0; i < c->n_queries; i++) {
        put_str(&h, c->ids[i], 0);
        put_str(&h, c->prompts ? c->prompts[i] : NULL, 1);
        put_str(&h, c->meta_json ? c->meta_json[i] : NULL, 1);
        for (size_t f = 0; f < F; f++) put_double(&h, c->features[i * F + f]);
        for (size_t k = 0; k < E; k++) put_double(&h, c->embed[i * E + k]);
        for (size_t t = 0; t < T; t++) put_double(&h, c->acc[i * T + t]);
        for (size_t t = 0; t < T; t++) put_double(&h, c->cost[i * T + t]);
    }
    unsigned char d[32];
    allot_sha256_final(&h, d);
    allot_sha256_hex(d, hex);
}

uint64_t allot_identity_hash(const char *s) {
    return allot_sha256_u64(s ? s : "", s ? strlen(s) : 0);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

allot_status allot_hash_set_make(const uint64_t *v, size_t n, allot_hash_set *out, allot_error *err) {
    out->n = 0;
    out->v = malloc((n ? n : 1) * sizeof *out->v);
    if (!out->v) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (hash set)");
    if (n) memcpy(out->v, v, n * sizeof *v);
    qsort(out->v, n, sizeof *out->v, cmp_u64);
    for (size_t i = 0; i < n; i++)
        if (out->n == 0 || out->v[out->n - 1] != out->v[i]) out->v[out->n++] = out->v[i];
    return ALLOT_OK;
}

char *allot_hash_set_hex(const allot_hash_set *s) {
    static const char digits[] = "0123456789abcdef";
    char *t = malloc(s->n * 16 + 1);
    if (!t) return NULL;
    for (size_t i = 0; i < s->n; i++)
        for (int k = 0; k < 16; k++) t[i * 16 + (size_t)k] = digits[(s->v[i] >> (60 - 4 * k)) & 15u];
    t[s->n * 16] = '\0';
    return t;
}

static int hex_val(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

allot_status allot_hash_set_parse(const char *hex, const char *what, allot_hash_set *out, allot_error *err) {
    out->n = 0;
    out->v = NULL;
    size_t len = hex ? strlen(hex) : 0;
    if (len % 16)
        return allot_error_set(err, ALLOT_E_INVALID, "%s: %zu hex digits, not a multiple of 16", what, len);
    uint64_t *v = malloc((len / 16 ? len / 16 : 1) * sizeof *v);
    if (!v) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (hash set)");
    for (size_t i = 0; i < len / 16; i++) {
        uint64_t x = 0;
        for (int k = 0; k < 16; k++) {
            int d = hex_val(hex[i * 16 + (size_t)k]);
            if (d < 0) {
                free(v);
                return allot_error_set(err, ALLOT_E_INVALID, "%s: not a lowercase hex digit at %zu", what,
                                       i * 16 + (size_t)k);
            }
            x = x << 4 | (uint64_t)d;
        }
        v[i] = x;
    }
    allot_status st = allot_hash_set_make(v, len / 16, out, err);
    free(v);
    return st;
}

int allot_hash_set_has(const allot_hash_set *s, uint64_t h) {
    return s->n && bsearch(&h, s->v, s->n, sizeof h, cmp_u64) != NULL;
}

void allot_hash_set_free(allot_hash_set *s) {
    if (!s) return;
    free(s->v);
    s->v = NULL;
    s->n = 0;
}
