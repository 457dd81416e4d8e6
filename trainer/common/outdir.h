/*
 * outdir.h - an output directory that is created when missing (like mkdir -p) and removed again
 * when the command fails or is interrupted before writing anything into it.
 *
 * Only the directories this call created are ever removed, deepest first, and only while empty
 * (rmdir), so nothing a user made, and nothing written there, is touched. While they exist they are
 * registered with cleanup.h, so SIGINT/SIGTERM removes them too.
 */
#ifndef ALLOT_OUTDIR_H
#define ALLOT_OUTDIR_H

#include <stddef.h>

#include "allot/allot_error.h"

#define ALLOT_OUTDIR_MAX_LEVELS 32

typedef struct allot_outdir {
    char *created[ALLOT_OUTDIR_MAX_LEVELS]; /**< directories made by this call, outermost first */
    int slot[ALLOT_OUTDIR_MAX_LEVELS];      /**< their cleanup.h registrations */
    size_t n;
} allot_outdir;

/** Create path and its missing parents (mode 0777 less the umask). Errors: ALLOT_E_IO naming the path. */
allot_status allot_outdir_create(allot_outdir *d, const char *path, allot_error *err);

/**
 * Finish: keep=1 keeps everything (the command succeeded); keep=0 removes the directories this call
 * created, deepest first, where they are still empty. Safe on a zeroed struct, and more than once.
 */
void allot_outdir_finish(allot_outdir *d, int keep);

#endif
