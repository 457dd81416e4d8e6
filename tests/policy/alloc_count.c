#include "alloc_count.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
/* Weak: programs linked without --wrap=free never call __wrap_free, and need no __real_free. */
extern void __real_free(void *p) __attribute__((weak));

typedef struct alloc_state {
    size_t allocs;   /* every allocation call */
    size_t fail_at;  /* 0: no injection; else the armed call that fails (1-based) */
    int persist;     /* every call after fail_at fails too */
    size_t armed;    /* calls since pt_alloc_fail_at() */
    size_t failures; /* calls made to fail since pt_alloc_fail_at() */
    long live;       /* blocks allocated minus blocks freed */
} alloc_state;

static _Thread_local alloc_state state;

size_t pt_alloc_count(void) {
    return state.allocs;
}

void pt_alloc_fail_at(size_t n, int persist) {
    state.fail_at = n;
    state.persist = persist;
    state.armed = 0;
    state.failures = 0;
}

size_t pt_alloc_failures(void) {
    return state.failures;
}

long pt_alloc_live(void) {
    return state.live;
}

/* Count one allocation call; 1 when injection makes it fail. */
static int next_fails(void) {
    state.allocs++;
    if (!state.fail_at) return 0;
    state.armed++;
    if (state.armed == state.fail_at || (state.persist && state.armed > state.fail_at)) {
        state.failures++;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n) {
    if (next_fails()) return NULL;
    void *p = __real_malloc(n);
    if (p) state.live++;
    return p;
}
void *__wrap_calloc(size_t a, size_t b) {
    if (next_fails()) return NULL;
    void *p = __real_calloc(a, b);
    if (p) state.live++;
    return p;
}
void *__wrap_realloc(void *p, size_t n) {
    if (next_fails()) return NULL;
    void *q = __real_realloc(p, n);
    if (!p && q) state.live++;           /* realloc(NULL, n) allocates */
    if (p && n == 0 && !q) state.live--; /* realloc(p, 0) frees (glibc) */
    return q;
}
void __wrap_free(void *p) {
    if (p) state.live--;
    __real_free(p);
}

/* cJSON's hooks: plain calls, which --wrap redirects to the wrappers above. */
static void *cjson_malloc(size_t n) {
    return malloc(n);
}
static void cjson_free(void *p) {
    free(p);
}

void pt_alloc_route_cjson(void) {
    cJSON_Hooks hooks = {cjson_malloc, cjson_free};
    cJSON_InitHooks(&hooks);
}
