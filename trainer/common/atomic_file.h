/*
 * atomic_file.h - write an output file so that readers never see a partial one.
 *
 * allot_atomic_open() creates "<path>.tmp.XXXXXX" in the same directory; allot_atomic_commit()
 * flushes, fsyncs and renames it over <path>; allot_atomic_abort() deletes it. On any error the
 * target path is left untouched (no partial output file).
 */
#ifndef ALLOT_ATOMIC_FILE_H
#define ALLOT_ATOMIC_FILE_H

#include <stdio.h>

#include "allot/allot_error.h"

typedef struct allot_atomic_file {
    FILE *fp;       /**< write here */
    char *path;     /**< final path (owned) */
    char *tmp_path; /**< temporary path (owned) */
} allot_atomic_file;

/** Open a temporary file beside path. On success af->fp is ready for writing. */
allot_status allot_atomic_open(allot_atomic_file *af, const char *path, allot_error *err);
/** Close and rename into place. Checks for write errors first. Frees af's strings either way. */
allot_status allot_atomic_commit(allot_atomic_file *af, allot_error *err);
/** Close and remove the temporary file; the target is untouched. Safe on a zeroed struct. */
void allot_atomic_abort(allot_atomic_file *af);

/** Convenience: atomically write len bytes to path. */
allot_status allot_atomic_write(const char *path, const void *data, size_t len, allot_error *err);

#endif
