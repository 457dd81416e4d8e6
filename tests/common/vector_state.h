/* vector_state.h - whether the upper halves of the vector registers are in use, for tests of the
 * runtime's vector code.
 *
 * Code compiled for the baseline x86-64 (the runtime's scalar double arithmetic, SSE2) runs slowly
 * while the upper halves of ymm0..15 hold data: on the 2-core VM this project is measured on, each
 * such instruction after AVX code cost about 100 ns until a vzeroupper. Every vector function the
 * baseline code calls must therefore return with those halves clear. The compilers add the
 * vzeroupper themselves, except where they do not (GCC 12 omitted it in a function that passed
 * vectors to a static helper), so the tests check it: XGETBV with ECX = 1 reads which state
 * components are in use, and bit 2 is the upper halves of ymm0..15.
 */
#ifndef ALLOT_TEST_VECTOR_STATE_H
#define ALLOT_TEST_VECTOR_STATE_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <stdint.h>

/* 1 when this processor reports the state components in use (XGETBV with ECX = 1) and has AVX. */
static inline int vs_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) || !(c & (1u << 28)))
        return 0; /* OSXSAVE, AVX */
    if (__get_cpuid_max(0, 0) < 0xD) return 0;
    __cpuid_count(0xD, 1, a, b, c, d);
    return (a >> 2) & 1u;
}

/* 1 when the upper halves of ymm0..15 are in use now. Call only when vs_available(). */
static inline int vs_upper_dirty(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
    (void)hi;
    return (lo >> 2) & 1u;
}

/* Clear them (before a call whose exit is checked). Call only when vs_available(). */
static inline void vs_clear(void) {
    __asm__ volatile("vzeroupper" ::: "memory");
}
#else
static inline int vs_available(void) {
    return 0;
}
static inline int vs_upper_dirty(void) {
    return 0;
}
static inline void vs_clear(void) {}
#endif

#endif
