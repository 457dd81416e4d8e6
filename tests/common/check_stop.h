/* check_stop.h - assertion counting for plain C tests that stop at the first failed check (file:line
 * and the condition on stderr); CHECK_DONE(name) prints "<name>: N passed, M failed". */
#ifndef ALLOT_TEST_CHECK_STOP_H
#define ALLOT_TEST_CHECK_STOP_H

#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;

/* Count a check; on failure print where and the condition, then exit 1. */
#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (cond) {                                                                                          \
            check_passed++;                                                                                  \
        } else {                                                                                             \
            check_failed++;                                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                         \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

/* Like CHECK, with a printf-style explanation. */
#define CHECKF(cond, ...)                                                                                    \
    do {                                                                                                     \
        if (cond) {                                                                                          \
            check_passed++;                                                                                  \
        } else {                                                                                             \
            check_failed++;                                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                         \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

/* Print the summary line and return the exit code. */
#define CHECK_DONE(name)                                                                                     \
    (printf("%s: %d passed, %d failed\n", (name), check_passed, check_failed), check_failed ? 1 : 0)

#endif
