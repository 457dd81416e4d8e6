/* jobs.c - a fixed set of independent jobs on a few threads (see jobs.h). */
#include "jobs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct job_pool {
    size_t n_jobs, next;
    allot_job_fn fn;
    void *ctx;
    allot_progress *pg;
    size_t *pg_done;
    pthread_mutex_t lock;
    size_t failed_at; /* lowest failing index so far, n_jobs: none */
    allot_error failed_err;
} job_pool;

int allot_jobs_threads(int requested, size_t n_jobs) {
    long t = requested > 0 ? requested : sysconf(_SC_NPROCESSORS_ONLN);
    if (t < 1) t = 1;
    if ((size_t)t > n_jobs) t = n_jobs ? (long)n_jobs : 1;
    return (int)t;
}

/* Take jobs until none is left or one has failed. */
static void *worker(void *arg) {
    job_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->failed_at == p->n_jobs && p->next < p->n_jobs ? p->next++ : p->n_jobs;
        pthread_mutex_unlock(&p->lock);
        if (i == p->n_jobs) return NULL;
        allot_error e;
        allot_error_clear(&e);
        allot_status st = p->fn(p->ctx, i, &e);
        pthread_mutex_lock(&p->lock);
        if (st != ALLOT_OK && i < p->failed_at) {
            p->failed_at = i;
            p->failed_err = e;
            p->failed_err.code = st;
        }
        if (st == ALLOT_OK && p->pg) allot_progress_update(p->pg, ++*p->pg_done);
        pthread_mutex_unlock(&p->lock);
    }
}

allot_status allot_jobs_run(size_t n_jobs, int threads, allot_job_fn fn, void *ctx, allot_progress *pg,
                            size_t *pg_done, allot_error *err) {
    job_pool p;
    memset(&p, 0, sizeof p);
    p.n_jobs = n_jobs;
    p.fn = fn;
    p.ctx = ctx;
    p.pg = pg;
    p.pg_done = pg_done;
    p.failed_at = n_jobs;
    if (pthread_mutex_init(&p.lock, NULL))
        return allot_error_set(err, ALLOT_E_INTERNAL, "cannot create a mutex for the worker threads");
    int n_threads = allot_jobs_threads(threads, n_jobs);
    pthread_t *tid = n_threads > 1 ? malloc((size_t)(n_threads - 1) * sizeof *tid) : NULL;
    int started = 0;
    if (tid) /* too few threads (or none) is no error: the caller's thread runs what is left */
        while (started < n_threads - 1 && pthread_create(&tid[started], NULL, worker, &p) == 0) started++;
    worker(&p);
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    free(tid);
    pthread_mutex_destroy(&p.lock);
    if (p.failed_at < n_jobs) {
        if (err) *err = p.failed_err;
        return p.failed_err.code;
    }
    return ALLOT_OK;
}
