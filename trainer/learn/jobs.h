/*
 * jobs.h - run n independent jobs on a few threads (internal to allot_learn).
 *
 * Jobs are taken in index order by threads-1 pthreads and the caller; each job writes only its own
 * outputs, so results do not depend on the number of threads or on timing. After a job fails no new
 * job starts; the error reported is that of the lowest failing index (every lower index has started,
 * so this is the error a single thread would report when failures depend on the job alone).
 * Progress, when given, advances by one per finished job (under a lock).
 */
#ifndef ALLOT_LEARN_JOBS_H
#define ALLOT_LEARN_JOBS_H

#include <stddef.h>

#include "allot/allot_error.h"
#include "progress.h"

/** One job: index i of the batch, its own error buffer. */
typedef allot_status (*allot_job_fn)(void *ctx, size_t i, allot_error *err);

/** Threads to use for `requested` (0: the online cores), at most n_jobs, at least 1. */
int allot_jobs_threads(int requested, size_t n_jobs);

/** Run jobs 0..n_jobs-1 on `threads` threads (allot_jobs_threads); see above. */
allot_status allot_jobs_run(size_t n_jobs, int threads, allot_job_fn fn, void *ctx, allot_progress *pg,
                            size_t *pg_done, allot_error *err);

#endif
