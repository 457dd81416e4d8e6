/*
 * atomic_file.h - write an output file so that readers never see a partial one.
 *
 * allot_atomic_open() creates "<path>.tmp.XXXXXX" in the same directory; allot_atomic_commit()
 * flushes, fsyncs and renames it over <path>; allot_atomic_abort() deletes it. On any error the
 * target path is left untouched (no partial output file).
 *
 * Path "-" means stdout, with the same guarantee: the output is spooled to an anonymous temporary
 * file (tmpfile(), so memory stays bounded) and copied to stdout only by allot_atomic_commit();
 * after an abort nothing at all reaches stdout. A command writing its data to stdout prints its
 * tables and progress on stderr. An existing target that is not a regular file or a directory
 * (/dev/null, /dev/stdout, a named pipe) is spooled the same way and opened only on commit: a
 * rename would replace it.
 */
#ifndef ALLOT_ATOMIC_FILE_H
#define ALLOT_ATOMIC_FILE_H

#include <stdio.h>

#include "allot/allot_error.h"

typedef struct allot_atomic_file {
    FILE *fp;       /**< write here */
    char *path;     /**< final path (owned) */
    char *tmp_path; /**< temporary path (owned); NULL when spooled ("-", a device or a FIFO) */
} allot_atomic_file;

/** Open a temporary file beside path (or a spool, see above). On success af->fp is ready for writing. */
allot_status allot_atomic_open(allot_atomic_file *af, const char *path, allot_error *err);
/**
 * Close and rename into place (spooled: copy the spool to stdout or the target). Checks for write
 * errors first. Frees af's strings either way.
 */
allot_status allot_atomic_commit(allot_atomic_file *af, allot_error *err);
/** Close and remove the temporary file; the target is untouched. Safe on a zeroed struct. */
void allot_atomic_abort(allot_atomic_file *af);

/** Convenience: atomically write len bytes to path ("-" = stdout). */
allot_status allot_atomic_write(const char *path, const void *data, size_t len, allot_error *err);

#endif
