#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double allot_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void allot_progress_start(allot_progress *p, const char *label, size_t total, int enabled) {
    p->label = label;
    p->total = total;
    p->start = p->last = allot_now_seconds();
    p->tty = isatty(2);
    p->shown = 0;
    p->enabled = enabled;
}

static void print_line(allot_progress *p, size_t done, double now, int final) {
    double el = now - p->start;
    if (p->total)
        fprintf(stderr, "%s%s: %zu/%zu (%.0f%%) %.1fs%s", p->tty ? "\r" : "", p->label, done, p->total,
                100.0 * (double)done / (double)p->total, el, (final || !p->tty) ? "\n" : "");
    else
        fprintf(stderr, "%s%s: %zu %.1fs%s", p->tty ? "\r" : "", p->label, done, el,
                (final || !p->tty) ? "\n" : "");
    fflush(stderr);
}

void allot_progress_update(allot_progress *p, size_t done) {
    if (!p->enabled) return;
    double now = allot_now_seconds();
    if (now - p->start < 1.0) return;
    if (now - p->last < (p->tty ? 0.1 : 5.0) && p->shown) return;
    p->last = now;
    p->shown = 1;
    print_line(p, done, now, 0);
}

void allot_progress_finish(allot_progress *p, size_t done) {
    if (!p->enabled || !p->shown) return;
    print_line(p, done, allot_now_seconds(), 1);
}
