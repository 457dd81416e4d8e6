/*
 * util.h - small helpers every trainer module shares: strdup, growable arrays, bounded reads.
 *
 * One copy of each, so that an out-of-memory path or a size limit behaves the same everywhere.
 */
#ifndef ALLOT_UTIL_H
#define ALLOT_UTIL_H

#include <stddef.h>

#include "allot/allot_error.h"

/** malloc'ed copy of s (NULL when s is NULL or memory runs out). */
char *allot_strdup(const char *s);
/** malloc'ed copy of the n bytes at s plus a NUL (NULL when memory runs out). */
char *allot_strndup(const char *s, size_t n);

/**
 * Grow the array *buf (elements of elem_size bytes, capacity *cap elements) so that it holds at
 * least need elements: doubling from 16, checked for size_t overflow. Returns 0 on success, -1
 * when memory runs out or the size overflows (then *buf and *cap are unchanged).
 */
int allot_reserve(void **buf, size_t *cap, size_t need, size_t elem_size);

/**
 * Read a whole regular file (or a pipe / character device such as stdin) into a new malloc'ed
 * buffer, NUL-terminated (the NUL is not counted in *len). Refuses a directory with ALLOT_E_IO
 * ("<path>: is a directory") and anything larger than max_bytes with ALLOT_E_INVALID, checked
 * before the buffer grows past the limit. path "-" reads stdin.
 */
allot_status allot_read_file(const char *path, size_t max_bytes, char **data, size_t *len, allot_error *err);

#endif
