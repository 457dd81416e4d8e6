/* lines.c - numbered lines of one import input, and the "file:line: " error prefix. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "json_line.h"

allot_status imp_err(allot_error *err, allot_status code, const char *path, size_t line, const char *fmt,
                     ...) {
    char msg[ALLOT_ERROR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return allot_error_set(err, code, "%s:%zu: %s", path, line, msg);
}

allot_status imp_lines_open(imp_lines *l, const char *path, allot_error *err) {
    memset(l, 0, sizeof *l);
    l->path = path;
    allot_status st = allot_input_open(path, &l->in, err);
    if (st) return st;
    if (allot_line_reader_init(&l->lines, allot_input_fp(l->in))) {
        allot_input_close(l->in);
        l->in = NULL;
        return allot_error_set(err, ALLOT_E_NOMEM, "%s: out of memory", path);
    }
    return ALLOT_OK;
}

allot_status imp_lines_next_raw(imp_lines *l, int *has, allot_error *err) {
    *has = 0;
    FILE *fp = allot_input_fp(l->in);
    errno = 0;
    ssize_t got = allot_line_reader_next(&l->lines, &l->buf, &l->cap, ALLOT_MAX_LINE_BYTES);
    if (got == -2)
        return errno == ENOMEM
                   ? imp_err(err, ALLOT_E_NOMEM, l->path, l->lineno + 1, "out of memory reading the line")
                   : imp_err(err, ALLOT_E_INVALID, l->path, l->lineno + 1,
                             "line longer than %zu bytes (the limit)", ALLOT_MAX_LINE_BYTES);
    /* A read error (a truncated .gz, say) may end a line early: report it, not the half line. */
    if (got <= 0 || (l->buf[got - 1] != '\n' && ferror(fp))) {
        if (!ferror(fp)) return ALLOT_OK;
        const char *why = allot_input_problem(l->in);
        return imp_err(err, ALLOT_E_IO, l->path, l->lineno + 1, "%s", why ? why : "read error");
    }
    l->lineno++;
    size_t len = (size_t)got;
    if (memchr(l->buf, '\0', len)) return imp_err(err, ALLOT_E_PARSE, l->path, l->lineno, "NUL byte in line");
    if (len && l->buf[len - 1] == '\n') l->buf[--len] = '\0';
    if (len && l->buf[len - 1] == '\r') l->buf[--len] = '\0';
    l->len = len;
    *has = 1;
    return ALLOT_OK;
}

int imp_lines_blank(const imp_lines *l) {
    for (size_t i = 0; i < l->len; i++)
        if (l->buf[i] != ' ' && l->buf[i] != '\t') return 0;
    return 1;
}

allot_status imp_lines_parse(imp_lines *l, allot_error *err) {
    cJSON_Delete(l->doc);
    l->doc = allot_json_parse_strict(l->buf, l->len, l->path, l->lineno, err);
    if (!l->doc) return err ? err->code : ALLOT_E_PARSE;
    if (!cJSON_IsObject(l->doc))
        return imp_err(err, ALLOT_E_INVALID, l->path, l->lineno, "expected a JSON object");
    return ALLOT_OK;
}

allot_status imp_lines_next_json(imp_lines *l, int *has, allot_error *err) {
    cJSON_Delete(l->doc);
    l->doc = NULL;
    for (;;) {
        allot_status st = imp_lines_next_raw(l, has, err);
        if (st || !*has) return st;
        if (imp_lines_blank(l)) continue;
        if ((st = imp_lines_parse(l, err))) *has = 0;
        return st;
    }
}

void imp_lines_close(imp_lines *l) {
    cJSON_Delete(l->doc);
    allot_line_reader_free(&l->lines);
    allot_input_close(l->in);
    free(l->buf);
    memset(l, 0, sizeof *l);
}
