/* csv.c - CSV records of import_internal.h (RFC 4180), read line by line from imp_lines. */
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"
#include "util.h"

static int put(imp_csv_row *row, char c) {
    if (allot_reserve((void **)&row->buf, &row->cap, row->len + 1, 1)) return -1;
    row->buf[row->len++] = c;
    return 0;
}

static int start_field(imp_csv_row *row) {
    if (allot_reserve((void **)&row->offs, &row->offs_cap, row->n + 1, sizeof *row->offs)) return -1;
    row->offs[row->n++] = row->len;
    return 0;
}

allot_status imp_csv_parse(imp_lines *l, imp_csv_row *row, allot_error *err) {
    row->len = row->n = 0;
    row->line = l->lineno;
    int quoted = 0, after_quote = 0, oom = start_field(row);
    for (size_t i = 0; !oom;) {
        if (i == l->len) {
            if (!quoted) break;
            /* a newline inside a quoted field: the record goes on on the next line */
            int has = 0;
            allot_status st = imp_lines_next_raw(l, &has, err);
            if (st) return st;
            if (!has)
                return imp_err(err, ALLOT_E_PARSE, l->path, row->line, "field %zu: quoted field not closed",
                               row->n);
            oom = put(row, '\n');
            i = 0;
            continue;
        }
        char ch = l->buf[i++];
        if (quoted) {
            if (ch == '"' && i < l->len && l->buf[i] == '"') {
                oom = put(row, '"');
                i++;
            } else if (ch == '"') {
                quoted = 0;
                after_quote = 1;
            } else {
                oom = put(row, ch);
            }
        } else if (ch == ',') {
            oom = put(row, '\0') || start_field(row);
            after_quote = 0;
        } else if (after_quote) {
            return imp_err(err, ALLOT_E_PARSE, l->path, l->lineno, "field %zu: text after a closing quote",
                           row->n);
        } else if (ch == '"' && row->len == row->offs[row->n - 1]) {
            quoted = 1;
        } else {
            oom = put(row, ch);
        }
    }
    if (oom || put(row, '\0')) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory");
    return ALLOT_OK;
}

const char *imp_csv_field(const imp_csv_row *row, size_t i) {
    return row->buf + row->offs[i];
}

void imp_csv_free(imp_csv_row *row) {
    free(row->buf);
    free(row->offs);
    memset(row, 0, sizeof *row);
}
