#include "alloc_count.h"

#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);

static _Thread_local size_t allocs;

size_t pt_alloc_count(void) {
    return allocs;
}
void *__wrap_malloc(size_t n) {
    allocs++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t a, size_t b) {
    allocs++;
    return __real_calloc(a, b);
}
void *__wrap_realloc(void *p, size_t n) {
    allocs++;
    return __real_realloc(p, n);
}
