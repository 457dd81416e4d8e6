/*
 * test_policy_stack.c - the stack one allot_policy_predict needs (docs/runtime.md): each static policy
 * predicts on a thread whose whole stack is STACK_KIB KiB, the size the docs ask gateway threads for
 * at least, with a guard page below it (an overflow would crash the test). The deepest byte each
 * prediction touched is measured by filling the thread's stack below the caller's frame with a pattern
 * first, and printed, for a 500-byte and a 1,500-byte prompt (the short prompt's sort and the
 * counting paths); it must leave at least a quarter of the stack free.
 * Usage: test_policy_stack BUNDLE.json...
 */
#define _GNU_SOURCE /* pthread_getattr_np: where this thread's stack is */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/allot.h"
#include "policy_test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifdef SANITIZED
#define STACK_KIB 1024 /* a sanitizer's frames are several times larger: only the crash check runs */
#else
#define STACK_KIB 64
#endif
#define PAINT_MARGIN 4096 /* bytes kept clear below the painting frame */

typedef struct {
    const char *path;
    size_t prompt_len; /* the word problem's length: 500 (a short prompt's path) or 1,500 bytes */
    size_t deepest;    /* bytes below the caller's frame a prediction touched */
    int failed;
} job;

/* Fill [lo, hi) with the pattern; then predict; then the lowest byte not holding it. */
static size_t __attribute__((noinline))
measure(const allot_policy *pl, allot_workspace *ws, const allot_query_input *q, unsigned char *lo,
        unsigned char *hi, int *failed) {
    for (unsigned char *b = lo; b < hi; b++) *(volatile unsigned char *)b = 0xA5;
    allot_decision d;
    allot_error err;
    if (allot_policy_predict(pl, ws, q, NULL, NULL, 0, &d, &err)) {
        fprintf(stderr, "FAIL: predict: %s\n", err.msg);
        *failed = 1;
    }
    unsigned char *b = lo;
    while (b < hi && *(volatile unsigned char *)b == 0xA5) b++;
    return (size_t)(hi - b);
}

static void *run(void *arg) {
    job *jb = arg;
    allot_policy *pl;
    allot_error err;
    if (allot_policy_load_file(jb->path, &pl, &err)) {
        fprintf(stderr, "FAIL: %s: %s\n", jb->path, err.msg);
        jb->failed = 1;
        return NULL;
    }
    allot_workspace *ws = NULL;
    if (allot_policy_needs_workspace(pl) && allot_workspace_create(pl, &ws, &err)) {
        fprintf(stderr, "FAIL: workspace: %s\n", err.msg);
        jb->failed = 1;
        allot_policy_free(pl);
        return NULL;
    }
    /* a word problem of prompt_len bytes and one value per extra (NaN: missing) */
    pt_rng r = {7};
    char prompt[1600];
    size_t n = 0;
    double ex = 0;
    while (n < jb->prompt_len) {
        char *p = pt_make_prompt(&r, 4, NULL, &ex);
        for (size_t k = 0; p[k] && n < jb->prompt_len; k++) prompt[n++] = p[k];
        if (n < jb->prompt_len) prompt[n++] = ' ';
        free(p);
    }
    double extras[64];
    size_t n_extra = allot_featurizer_n_extra(allot_policy_featurizer(pl));
    for (size_t k = 0; k < n_extra && k < 64; k++) extras[k] = k == 0 ? ex : (double)NAN;
    allot_query_input q = ALLOT_QUERY_INPUT_INIT;
    q.prompt = prompt;
    q.prompt_len = n;
    q.extras = n_extra ? extras : NULL;
    q.n_extras = n_extra;
    /* this thread's stack: from here down to STACK_KIB below the thread's start, less a margin */
    pthread_attr_t at;
    void *base = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &at) == 0) {
        pthread_attr_getstack(&at, &base, &size);
        pthread_attr_destroy(&at);
    }
#ifndef SANITIZED
    if (base) {
        unsigned char *here = (unsigned char *)__builtin_frame_address(0) - PAINT_MARGIN;
        unsigned char *low = (unsigned char *)base + 256; /* keep off the guard page's edge */
        if (here > low) jb->deepest = measure(pl, ws, &q, low, here, &jb->failed) + PAINT_MARGIN;
    } else {
        fprintf(stderr, "FAIL: this thread's stack is unknown\n");
        jb->failed = 1;
    }
#else
    (void)base;
    (void)size;
    (void)measure;
    allot_decision d;
    if (allot_policy_predict(pl, ws, &q, NULL, NULL, 0, &d, &err)) jb->failed = 1;
#endif
    allot_workspace_free(ws);
    allot_policy_free(pl);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_policy_stack BUNDLE.json...\n");
        return 2;
    }
    int failures = 0;
    for (int i = 1; i < 2 * argc - 1; i++) {
        job jb = {argv[(i + 1) / 2], i % 2 ? 1500 : 500, 0, 0};
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, (size_t)STACK_KIB * 1024);
        pthread_t th;
        if (pthread_create(&th, &at, run, &jb)) {
            fprintf(stderr, "FAIL: pthread_create\n");
            return 1;
        }
        pthread_join(th, NULL);
        pthread_attr_destroy(&at);
        const char *name = strrchr(jb.path, '/') ? strrchr(jb.path, '/') + 1 : jb.path;
#ifndef SANITIZED
        int ok = !jb.failed && jb.deepest > 0 && jb.deepest <= (size_t)STACK_KIB * 1024 * 3 / 4;
        printf("%s %s: a prediction on a %zu-byte prompt touched %zu bytes of stack below its caller "
               "(thread stack %d KiB)\n",
               ok ? "ok  " : "FAIL", name, jb.prompt_len, jb.deepest, STACK_KIB);
#else
        int ok = !jb.failed;
        printf("%s %s: predicted on a %zu-byte prompt on a %d KiB thread stack (sanitized build: depth not "
               "measured)\n",
               ok ? "ok  " : "FAIL", name, jb.prompt_len, STACK_KIB);
#endif
        failures += !ok;
    }
    return failures ? 1 : 0;
}
