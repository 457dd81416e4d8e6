/*
 * atomic_file.h - write an output file so that readers never see a partial one.
 *
 * allot_atomic_open() creates a temporary file beside the target, named
 * "<target>.allot-tmp.<pid>.XXXXXX" (cleanup.h: removed on SIGINT/SIGTERM/SIGHUP/SIGPIPE, and
 * recognisable after a SIGKILL); allot_atomic_commit() flushes, fsyncs and renames it over the
 * target; allot_atomic_abort() deletes it. On any error the target is left untouched (no partial
 * output file).
 *
 * What the target may be:
 *  - a new path: created with mode 0666 less the umask, like any new file;
 *  - an existing regular file: replaced, keeping its permission bits (a 0600 file stays 0600);
 *  - a symbolic link: written through; the file it points to is replaced (as above) and the link
 *    itself stays; a link to nothing is refused;
 *  - "-": stdout. The output is spooled to an anonymous temporary file (tmpfile(), so memory stays
 *    bounded) and copied to stdout only by allot_atomic_commit(); after an abort nothing at all
 *    reaches stdout. A command writing its data to stdout prints its tables and progress on stderr;
 *  - an existing device, FIFO or socket (/dev/null, /dev/stdout, a named pipe): spooled the same
 *    way and opened for writing only on commit, never replaced;
 *  - a directory: refused at open, before anything is written.
 */
#ifndef ALLOT_ATOMIC_FILE_H
#define ALLOT_ATOMIC_FILE_H

#include <stdio.h>

#include "allot/allot_error.h"

typedef struct allot_atomic_file {
    FILE *fp;       /**< write here */
    char *path;     /**< final path as given (owned) */
    char *target;   /**< the file the rename replaces: path, or where its symlink points (owned) */
    char *tmp_path; /**< temporary path (owned); NULL when spooled ("-", a device or a FIFO) */
    int slot;       /**< cleanup.h registration of tmp_path, -1 when none */
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

/**
 * Write several files as one: every temporary file is written and flushed first, and only when
 * all of them succeeded are they renamed into place, in the order given (so the last one appears
 * last: a reader that waits for it finds the others). On a write error nothing is renamed.
 */
allot_status allot_atomic_write_all(const char *const *paths, const void *const *data, const size_t *lens,
                                    size_t n, allot_error *err);

#endif
