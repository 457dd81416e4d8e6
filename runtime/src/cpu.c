/*
 * cpu.c - see cpu.h. The compiler's own detection (__builtin_cpu_supports) checks the processor's
 * feature bits and that the operating system saves the AVX-512 registers.
 */
#include "cpu.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(ALLOT_NO_AVX512)

int allot_cpu_avx512f(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt");
}

int allot_cpu_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
}

int allot_cpu_avx512bw(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("popcnt");
}

int allot_cpu_avx512vbmi2(void) {
    return allot_cpu_avx512bw() && __builtin_cpu_supports("avx512vbmi") &&
           __builtin_cpu_supports("avx512vbmi2");
}

#else

int allot_cpu_avx512f(void) {
    return 0;
}

int allot_cpu_avx2(void) {
    return 0;
}

int allot_cpu_avx512bw(void) {
    return 0;
}

int allot_cpu_avx512vbmi2(void) {
    return 0;
}

#endif
