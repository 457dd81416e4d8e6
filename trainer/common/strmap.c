/* strmap.c - see strmap.h. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

static size_t slot_of(const allot_strmap *m, const char *key) {
    size_t mask = m->n_slots - 1;
    size_t i = (size_t)allot_hash64(key, strlen(key)) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & mask;
    return i;
}

static int grow(allot_strmap *m) {
    if (m->n_slots > SIZE_MAX / 4 / sizeof(size_t)) return -1;
    size_t ns = m->n_slots ? m->n_slots * 2 : 64;
    allot_strmap g = {calloc(ns, sizeof *g.keys), malloc(ns * sizeof *g.vals), 0, ns};
    if (!g.keys || !g.vals) {
        free(g.keys);
        free(g.vals);
        return -1;
    }
    for (size_t i = 0; i < m->n_slots; i++)
        if (m->keys[i]) {
            size_t j = slot_of(&g, m->keys[i]);
            g.keys[j] = m->keys[i];
            g.vals[j] = m->vals[i];
            g.n++;
        }
    free(m->keys);
    free(m->vals);
    *m = g;
    return 0;
}

int allot_strmap_put(allot_strmap *m, const char *key, size_t val, size_t *existing) {
    if ((m->n + 1) * 2 > m->n_slots && grow(m) != 0) return -1;
    size_t i = slot_of(m, key);
    if (m->keys[i]) {
        if (existing) *existing = m->vals[i];
        return 1;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

int allot_strmap_get(const allot_strmap *m, const char *key, size_t *val) {
    if (!m->n_slots) return 0;
    size_t i = slot_of(m, key);
    if (!m->keys[i]) return 0;
    if (val) *val = m->vals[i];
    return 1;
}

void allot_strmap_free(allot_strmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
