/*
 * strtod_interpose.c - the allot program's strtod: the exact fast path (strtod_fast.h), else the C
 * library's own conversion.
 *
 * Linked into the allot program only (no library carries it): the dynamic linker binds every
 * strtod call in that process to this definition, cJSON's included. The value, the end pointer
 * and errno are the C library's in every case: the fast path only takes numbers that it converts
 * exactly, and only while the radix character of the thread's locale is '.'.
 */
#include <langinfo.h>
#include <stdlib.h>

#include "strtod_fast.h"

/* glibc's conversion under its internal name (part of the LSB's ABI), which nothing interposes. */
extern double __strtod_internal(const char *restrict s, char **restrict end, int group);

double strtod(const char *restrict s, char **restrict end) {
    const char *radix = nl_langinfo(RADIXCHAR);
    double v;
    if (radix[0] == '.' && radix[1] == '\0' && allot_strtod_fast(s, end, &v)) return v;
    return __strtod_internal(s, end, 0);
}
