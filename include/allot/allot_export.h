/*
 * allot_export.h - ALLOT_API, the mark of every function the runtime library exports.
 *
 * liballot.so is compiled with hidden default visibility (-fvisibility=hidden, as zstd and lz4 do):
 * only the declarations of include/allot/ marked ALLOT_API are exported, so the runtime's internal
 * helpers never reach the dynamic symbol table (tests/abi compares the exported symbols with these
 * headers). A program compiling the runtime sources into itself may define ALLOT_API (e.g. empty)
 * before including an allot header.
 */
#ifndef ALLOT_EXPORT_H
#define ALLOT_EXPORT_H

#ifndef ALLOT_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define ALLOT_API __attribute__((visibility("default")))
#else
#define ALLOT_API
#endif
#endif

#endif /* ALLOT_EXPORT_H */
