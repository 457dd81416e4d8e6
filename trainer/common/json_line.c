/* json_line.c - see json_line.h. The strict rules themselves are the runtime's (runtime_io.h). */
#include "json_line.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_io.h"
#include "util.h"

ssize_t allot_getline_max(char **buf, size_t *cap, FILE *fp, size_t max_bytes) {
    size_t n = 0;
    int ch = EOF, failed = 0;
    flockfile(fp);
    while ((ch = getc_unlocked(fp)) != EOF) {
        if (n + 2 > *cap && (n >= max_bytes || allot_reserve((void **)buf, cap, n + 2, 1))) {
            failed = 1;
            if (n < max_bytes) errno = ENOMEM;
            break;
        }
        if (n >= max_bytes) {
            failed = 1;
            break;
        }
        char *b = *buf;
        b[n++] = (char)ch;
        if (ch == '\n') break;
    }
    funlockfile(fp);
    int read_error = ch == EOF && ferror(fp);
    if (failed) return -2;
    if (read_error) return -1;
    if (n == 0) return 0;
    (*buf)[n] = '\0';
    return (ssize_t)n;
}

/* Bytes read ahead at a time: a few lines of a typical runs file, well within the cache. */
#define LINE_CHUNK ((size_t)64 << 10)

int allot_line_reader_init(allot_line_reader *lr, FILE *fp) {
    lr->fp = fp;
    lr->pos = lr->end = 0;
    lr->chunk = malloc(LINE_CHUNK);
    return lr->chunk ? 0 : -1;
}

void allot_line_reader_free(allot_line_reader *lr) {
    free(lr->chunk);
    lr->chunk = NULL;
    lr->pos = lr->end = 0;
}

/* Appends chunk[pos, pos + take) to the line at *n, within max_bytes; -2 (errno ENOMEM when memory
 * ran out first) when it does not fit. */
static int line_append(allot_line_reader *lr, char **buf, size_t *cap, size_t *n, size_t take,
                       size_t max_bytes) {
    if (take > max_bytes - *n) return -2;
    if (*n + take + 1 > *cap && allot_reserve((void **)buf, cap, *n + take + 1, 1)) {
        errno = ENOMEM;
        return -2;
    }
    memcpy(*buf + *n, lr->chunk + lr->pos, take);
    *n += take;
    lr->pos += take;
    return 0;
}

ssize_t allot_line_reader_next(allot_line_reader *lr, char **buf, size_t *cap, size_t max_bytes) {
    size_t n = 0;
    for (;;) {
        if (lr->pos == lr->end) {
            lr->pos = 0;
            lr->end = fread(lr->chunk, 1, LINE_CHUNK, lr->fp);
            if (lr->end == 0) {
                if (ferror(lr->fp)) return -1;
                break; /* end of file */
            }
        }
        const char *nl = memchr(lr->chunk + lr->pos, '\n', lr->end - lr->pos);
        size_t take = nl ? (size_t)(nl - (lr->chunk + lr->pos)) + 1 : lr->end - lr->pos;
        if (line_append(lr, buf, cap, &n, take, max_bytes)) return -2;
        if (nl) break;
    }
    if (n == 0) return 0;
    (*buf)[n] = '\0';
    return (ssize_t)n;
}

static allot_status line_error(allot_error *err, allot_status code, const char *name, size_t line,
                               const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static allot_status line_error(allot_error *err, allot_status code, const char *name, size_t line,
                               const char *fmt, ...) {
    char msg[ALLOT_ERROR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line) return allot_error_set(err, code, "%s:%zu: %s", name, line, msg);
    return allot_error_set(err, code, "%s: %s", name, msg);
}

/* A whole document's errors name the line of the offending byte. */
static size_t line_of(const char *text, size_t off, size_t line) {
    if (line) return line;
    size_t l = 1;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + off - p))) != NULL; p++) l++;
    return l;
}

cJSON *allot_json_parse_strict(const char *text, size_t len, const char *name, size_t line,
                               allot_error *err) {
    if (line == 0) text = allot_rt_skip_bom(text, &len); /* a whole file: it may start with a BOM */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        size_t off = (size_t)(nul - text);
        line_error(err, ALLOT_E_PARSE, name, line_of(text, off, line), "invalid JSON: a NUL byte at byte %zu",
                   off + 1);
        return NULL;
    }
    const char *end = NULL;
    int nomem = 0;
    cJSON *doc = allot_rt_json_parse(text, len, &end, &nomem);
    if (!doc) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        if (nomem)
            line_error(err, ALLOT_E_NOMEM, name, line, "out of memory parsing the JSON");
        else if (off >= len)
            line_error(err, ALLOT_E_PARSE, name, line_of(text, len, line),
                       "invalid JSON: the text ends early (truncated?)");
        else
            line_error(err, ALLOT_E_PARSE, name, line_of(text, off, line), "invalid JSON near byte %zu",
                       off + 1);
        return NULL;
    }
    for (const char *p = end; p < text + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            size_t off = (size_t)(p - text);
            line_error(err, ALLOT_E_PARSE, name, line_of(text, off, line),
                       "invalid JSON: trailing text after the JSON value at byte %zu", off + 1);
            cJSON_Delete(doc);
            return NULL;
        }
    char msg[ALLOT_ERROR_MSG_SIZE / 2];
    int strict = allot_rt_json_strict_check(doc, text, len, NULL, msg, sizeof msg);
    if (strict) {
        line_error(err, strict < 0 ? ALLOT_E_NOMEM : ALLOT_E_INVALID, name, line, "%s", msg);
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}
