/*
 * json_line.h - the one way the trainer reads a line of JSONL (or a small JSON document): bounded
 * in length, parsed strictly, errors naming file, line and field.
 *
 * Strict means: besides what cJSON refuses, a NUL byte in the text, anything but white space
 * after the value, a string holding the escape \u0000 (C strings would silently end there, so two
 * ids differing after it would become one) and an object with two members of the same name
 * (parsers disagree on which counts) are errors. A UTF-8 byte-order mark at the start of a file
 * is dropped by input_stream.h before any line is read.
 */
#ifndef ALLOT_JSON_LINE_H
#define ALLOT_JSON_LINE_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <sys/types.h>

#include "allot/allot_error.h"

/** Longest line any JSONL reader accepts (docs/limits.md): longer lines are an error, not a hang. */
#define ALLOT_MAX_LINE_BYTES ((size_t)256 << 20)

/**
 * getline() with a limit: reads one line (with its '\n', NUL-terminated) into *buf (grown as
 * needed, *cap its capacity). Returns the line's length; 0 at end of file; -1 on a read error
 * (ferror(fp) set); -2 when the line is longer than max_bytes (what was read of it is dropped and
 * the rest of it is left unread) or memory runs out before the limit (errno ENOMEM).
 */
ssize_t allot_getline_max(char **buf, size_t *cap, FILE *fp, size_t max_bytes);

/**
 * The same lines, read ahead in chunks and cut with memchr instead of a byte at a time (about 10x
 * faster on long lines): for a reader that owns its stream and reads nothing else from it.
 * allot_line_reader_next has allot_getline_max's contract exactly (a read error ends the line
 * being read: -1; bytes read ahead past a line are returned by the next calls).
 */
typedef struct allot_line_reader {
    FILE *fp;
    char *chunk; /* bytes read from fp, not yet returned: chunk[pos, end) */
    size_t pos, end;
} allot_line_reader;

/** Binds lr to fp (nothing is read yet); 0, or -1 when out of memory. */
int allot_line_reader_init(allot_line_reader *lr, FILE *fp);
void allot_line_reader_free(allot_line_reader *lr);
ssize_t allot_line_reader_next(allot_line_reader *lr, char **buf, size_t *cap, size_t max_bytes);

/**
 * Parse text[0..len) strictly (see above). Errors read "<name>:<line>: <problem>" (line 0:
 * "<name>: <problem>"), e.g. "runs.jsonl:7: samples[2].answer: contains \u0000 (a NUL
 * character), which allot refuses" or "runs.jsonl:3: invalid JSON near byte 17"; codes
 * ALLOT_E_PARSE (not JSON), ALLOT_E_INVALID (the strict rules), ALLOT_E_NOMEM. Returns the tree
 * (the caller deletes it) or NULL.
 */
cJSON *allot_json_parse_strict(const char *text, size_t len, const char *name, size_t line, allot_error *err);

#endif
