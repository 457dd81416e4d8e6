/*
 * cpu.h - which vector instructions this processor and operating system can run (runtime-private).
 * Each answer is read once by the code that keeps it (a featuriser, a model), never cached here.
 */
#ifndef ALLOT_CPU_H
#define ALLOT_CPU_H

/** 1 when AVX-512F and POPCNT can run here (x86-64 builds with GCC or clang; 0 elsewhere). */
int allot_cpu_avx512f(void);

/** 1 when AVX2 can run here. */
int allot_cpu_avx2(void);

/** 1 when AVX-512F, AVX-512BW and POPCNT can run here. */
int allot_cpu_avx512bw(void);

/** 1 when AVX-512F, AVX-512BW, AVX-512 VBMI, VBMI2 and POPCNT can run here. */
int allot_cpu_avx512vbmi2(void);

#endif
