/*
 * progress.h - progress lines on stderr for work that takes more than a second.
 *
 * Quiet for the first second; then, on a terminal, one line rewritten in place at most ~10 times
 * a second, and elsewhere (logs, CI) a plain line at most every 5 seconds. Never writes to stdout,
 * so `--json` output stays clean. A value owned by the caller; no global state.
 */
#ifndef ALLOT_PROGRESS_H
#define ALLOT_PROGRESS_H

#include <stddef.h>

typedef struct allot_progress {
    const char *label;
    size_t total;       /**< 0 when unknown */
    double start, last; /**< monotonic seconds */
    int tty, shown, enabled;
} allot_progress;

/** Start a progress report; enabled=0 makes every call a no-op (e.g. --quiet). */
void allot_progress_start(allot_progress *p, const char *label, size_t total, int enabled);
/** Report that done units of total are complete (cheap: checks the clock at most every call). */
void allot_progress_update(allot_progress *p, size_t done);
/** Finish: prints the final count and elapsed time if anything was shown. */
void allot_progress_finish(allot_progress *p, size_t done);
/** Monotonic clock in seconds. */
double allot_now_seconds(void);

#endif
