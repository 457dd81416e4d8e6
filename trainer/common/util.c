/* util.c - see util.h. */
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *allot_strdup(const char *s) {
    return s ? allot_strndup(s, strlen(s)) : NULL;
}

char *allot_strndup(const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int allot_reserve(void **buf, size_t *cap, size_t need, size_t elem_size) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2) return -1;
        c *= 2;
    }
    if (elem_size && c > SIZE_MAX / elem_size) return -1;
    void *p = realloc(*buf, c * elem_size);
    if (!p) return -1;
    *buf = p;
    *cap = c;
    return 0;
}

allot_status allot_read_file(const char *path, size_t max_bytes, char **data, size_t *len, allot_error *err) {
    *data = NULL;
    *len = 0;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) return allot_error_set(err, ALLOT_E_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat stt;
    if (fstat(fileno(f), &stt) == 0 && S_ISDIR(stt.st_mode)) {
        if (!is_stdin) fclose(f);
        return allot_error_set(err, ALLOT_E_IO, "%s: is a directory", path);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    allot_status st = ALLOT_OK;
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break; /* end of file or a read error (checked below) */
        if (max_bytes && cap >= max_bytes) {
            st = allot_error_set(err, ALLOT_E_INVALID, "%s: larger than %zu bytes", path, max_bytes);
            break;
        }
        size_t nc = cap > SIZE_MAX / 4 ? 0 : cap * 2;
        if (max_bytes && nc > max_bytes) nc = max_bytes + 1; /* one byte past the limit detects it */
        char *nb = nc ? realloc(buf, nc + 1) : NULL;
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap = nc;
    }
    int read_failed = ferror(f);
    if (!is_stdin) fclose(f);
    if (!buf) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory reading %s", path);
    if (st == ALLOT_OK && read_failed) st = allot_error_set(err, ALLOT_E_IO, "read error on %s", path);
    if (st == ALLOT_OK && max_bytes && n > max_bytes)
        st = allot_error_set(err, ALLOT_E_INVALID, "%s: larger than %zu bytes", path, max_bytes);
    if (st != ALLOT_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return ALLOT_OK;
}
