/*
 * strmap.h - a map from strings to indices (open addressing, linear probing): the trainer's
 * duplicate checks and name lookups in linear time.
 *
 * Keys are borrowed: they must stay valid (and unchanged) while the map is used. A zeroed struct
 * is an empty map.
 */
#ifndef ALLOT_STRMAP_H
#define ALLOT_STRMAP_H

#include <stddef.h>

typedef struct allot_strmap {
    const char **keys; /**< n_slots entries, NULL = empty */
    size_t *vals;
    size_t n, n_slots; /**< entries, slots (a power of two, at least twice n) */
} allot_strmap;

/**
 * Insert key -> val. Returns 0 when inserted, 1 when key was already there (the map is unchanged
 * and *existing, if not NULL, receives its value), -1 when memory runs out.
 */
int allot_strmap_put(allot_strmap *m, const char *key, size_t val, size_t *existing);
/** 1 and *val when key is in the map, else 0. */
int allot_strmap_get(const allot_strmap *m, const char *key, size_t *val);
void allot_strmap_free(allot_strmap *m);

#endif
