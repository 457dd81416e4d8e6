/*
 * cleanup.h - temporary outputs removed when the process is interrupted (SIGINT, SIGTERM, SIGHUP,
 * SIGPIPE).
 *
 * Every temporary file allot writes beside an output (atomic_file.h, the images of plot.h, the
 * LIBLINEAR model text) is registered here while it exists, every output directory a command
 * created while it may still be empty, and every child process (gnuplot) while it runs. The
 * handler installed by allot_cleanup_install() kills and reaps those children, unlinks those
 * files, removes those directories when they are empty, and then lets the signal take its default
 * course (the process ends as killed by it, as a shell expects). Nothing survives SIGKILL; that is
 * why every temporary file has one recognisable name, ALLOT_TMP_MARKER:
 *
 *     <output>.allot-tmp.<pid>.<6 random characters>      e.g. curves.jsonl.allot-tmp.4242.Xk3q9a
 *
 * so `find DIR -name '*.allot-tmp.*'` lists what a killed run left behind, and the pid tells which
 * run (still alive or not) made it.
 *
 * allot_cleanup_install() also ignores SIGXFSZ: a write beyond the file-size limit (`ulimit -f`)
 * then fails with EFBIG, is reported as an I/O error (exit 3) and the temporary file is removed,
 * instead of the process dying with the file left behind.
 *
 * This module holds the only process-wide mutable state of the trainer: a signal handler can only
 * reach static storage. The registry is a fixed table of ALLOT_CLEANUP_SLOTS entries claimed with
 * atomic operations (no lock, so the handler never waits); registering more at once fails, which
 * callers report as an error before writing anything. Registration works (and is harmless)
 * whether or not the handler is installed: library users who install nothing get no handler.
 */
#ifndef ALLOT_CLEANUP_H
#define ALLOT_CLEANUP_H

#include <stddef.h>
#include <sys/types.h>

/** The infix of every temporary file name (see above). */
#define ALLOT_TMP_MARKER ".allot-tmp."

/** How many files, directories and children can be registered at the same time. */
#define ALLOT_CLEANUP_SLOTS 64

/** Longest path that can be registered (longer ones are refused: -1). */
#define ALLOT_CLEANUP_PATH_MAX 4096

/** Install the handler (idempotent) and ignore SIGXFSZ. Call once from main(). */
void allot_cleanup_install(void);

/** Register a temporary file: returns a slot id >= 0, or -1 (table full or path too long). */
int allot_cleanup_add_file(const char *path);
/** Register a directory this process created (removed on a signal only if empty). */
int allot_cleanup_add_dir(const char *path);
/** Register a running child process (killed and reaped on a signal). */
int allot_cleanup_add_child(pid_t pid);
/** Forget a registration (the file was renamed or removed, the child reaped). id -1 is a no-op. */
void allot_cleanup_remove(int id);

/**
 * Create a new temporary file for target: "<target>.allot-tmp.<pid>.XXXXXX" in target's directory,
 * opened for writing with O_EXCL, mode 0666 less the umask (like any new file), registered for
 * cleanup. On success returns the descriptor, *tmp_path (malloc'd) and *slot; on failure -1 with
 * errno set (ENAMETOOLONG when the name does not fit, ENOSPC when the registry is full).
 */
int allot_cleanup_create_tmp(const char *target, char **tmp_path, int *slot);

#endif
