/* map.c - the string -> (value, aux) map of import_internal.h (open addressing, owned keys). */
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "rng.h"
#include "util.h"

static size_t slot_of(const char *key, size_t mask) {
    return (size_t)allot_hash64(key, strlen(key)) & mask;
}

imp_map_entry *imp_map_find(const imp_map *m, const char *key) {
    if (!m->n_slots) return NULL;
    size_t mask = m->n_slots - 1;
    for (size_t i = slot_of(key, mask);; i = (i + 1) & mask) {
        uint32_t v = m->slots[i];
        if (!v) return NULL;
        if (strcmp(m->entries[v - 1].key, key) == 0) return &m->entries[v - 1];
    }
}

static int rehash(imp_map *m, size_t n_slots) {
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots) return -1;
    for (size_t k = 0; k < m->n; k++) {
        size_t i = slot_of(m->entries[k].key, n_slots - 1);
        while (slots[i]) i = (i + 1) & (n_slots - 1);
        slots[i] = (uint32_t)(k + 1);
    }
    free(m->slots);
    m->slots = slots;
    m->n_slots = n_slots;
    return 0;
}

imp_map_entry *imp_map_add(imp_map *m, const char *key, size_t value, uint64_t aux) {
    if (m->n >= UINT32_MAX - 1) return NULL;
    if ((m->n + 1) * 2 > m->n_slots && rehash(m, m->n_slots ? m->n_slots * 2 : 64) != 0) return NULL;
    if (allot_reserve((void **)&m->entries, &m->cap, m->n + 1, sizeof *m->entries)) return NULL;
    char *copy = allot_strdup(key);
    if (!copy) return NULL;
    imp_map_entry *e = &m->entries[m->n];
    e->key = copy;
    e->value = value;
    e->aux = aux;
    size_t mask = m->n_slots - 1, i = slot_of(key, mask);
    while (m->slots[i]) i = (i + 1) & mask;
    m->slots[i] = (uint32_t)(++m->n);
    return e;
}

void imp_map_free(imp_map *m) {
    for (size_t i = 0; i < m->n; i++) free(m->entries[i].key);
    free(m->entries);
    free(m->slots);
    memset(m, 0, sizeof *m);
}
