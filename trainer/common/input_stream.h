/*
 * input_stream.h - open a data input that may be gzip-compressed, as an ordinary FILE *.
 *
 * Every trainer reader of runs, curves or import sources reads through this: the first two bytes
 * decide (0x1f 0x8b = gzip, anything else = plain text, passed through unchanged), so a file, a
 * pipe or stdin can be compressed or not without an option. Concatenated gzip members (as written
 * by `cat a.gz b.gz`) are read as one stream; a corrupt or truncated gzip stream is a read error
 * whose text allot_input_problem() gives ("gzip: unexpected end of data (truncated file?)").
 * A UTF-8 byte-order mark (EF BB BF) at the start of the data (after decompression) is dropped,
 * so every reader accepts files saved with one, as docs/labelled-runs.md says; a directory is
 * refused when it is opened.
 *
 * Only the trainer links zlib; the serving runtime never reads these files.
 */
#ifndef ALLOT_INPUT_STREAM_H
#define ALLOT_INPUT_STREAM_H

#include <stdio.h>

#include "allot/allot_error.h"

typedef struct allot_input allot_input;

/** Open path for reading ("-" = stdin, which is never closed). Errors: ALLOT_E_IO, ALLOT_E_NOMEM. */
allot_status allot_input_open(const char *path, allot_input **out, allot_error *err);

/** Read from a caller-owned stream (e.g. fmemopen or a pipe); close() leaves src open. */
allot_status allot_input_wrap(FILE *src, allot_input **out, allot_error *err);

/** The decompressed stream: read it with getline/fread; never fclose it (use allot_input_close). */
FILE *allot_input_fp(allot_input *in);

/**
 * After a read on allot_input_fp() failed (ferror), what went wrong: "read error: <strerror>" or
 * "gzip: <problem>". NULL when nothing failed.
 */
const char *allot_input_problem(const allot_input *in);

/** 1 when the data turned out to be gzip-compressed (known after the first read), else 0. */
int allot_input_is_gzip(const allot_input *in);

/** Close and free; NULL is allowed. */
void allot_input_close(allot_input *in);

#endif
