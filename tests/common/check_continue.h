/* check_continue.h - assertion counting for plain C tests that keep going after a failed check;
 * the last line printed is "<CHECK_AREA>: N passed, M failed". */
#ifndef ALLOT_TEST_CHECK_CONTINUE_H
#define ALLOT_TEST_CHECK_CONTINUE_H

#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (cond)                                                                                            \
            check_passed++;                                                                                  \
        else {                                                                                               \
            check_failed++;                                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                         \
        }                                                                                                    \
    } while (0)

#define CHECKF(cond, ...)                                                                                    \
    do {                                                                                                     \
        if (cond)                                                                                            \
            check_passed++;                                                                                  \
        else {                                                                                               \
            check_failed++;                                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                         \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
        }                                                                                                    \
    } while (0)

/* a failed library call cannot be continued from */
#define REQUIRE_OK(call)                                                                                     \
    do {                                                                                                     \
        allot_error req_err_ = {0};                                                                          \
        allot_status req_st_ = (call);                                                                       \
        (void)req_err_;                                                                                      \
        if (req_st_ != ALLOT_OK) {                                                                           \
            fprintf(stderr, "%s:%d: %s failed (status %d)\n", __FILE__, __LINE__, #call, (int)req_st_);      \
            printf("%s: %d passed, %d failed\n", CHECK_AREA, check_passed, check_failed + 1);                \
            exit(1);                                                                                         \
        }                                                                                                    \
        check_passed++;                                                                                      \
    } while (0)

#define CHECK_DONE()                                                                                         \
    (printf("%s: %d passed, %d failed\n", CHECK_AREA, check_passed, check_failed), check_failed ? 1 : 0)

#endif
