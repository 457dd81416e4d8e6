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
