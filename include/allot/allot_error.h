/*
 * allot_error.h - status codes and error reports shared by every allot library.
 *
 * Every fallible allot function returns an allot_status and, when given a non-NULL
 * allot_error*, fills it with a human-readable message naming what went wrong and where
 * (file, line, field). The error struct is caller-owned storage: no allocation, no global
 * state, safe to use from any thread.
 */
#ifndef ALLOT_ERROR_H
#define ALLOT_ERROR_H

#include <stddef.h>

#include "allot/allot_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes. ALLOT_OK is zero; every error is positive. */
typedef enum allot_status {
    ALLOT_OK = 0,
    ALLOT_E_IO = 1,          /**< a file could not be opened, read, written or renamed */
    ALLOT_E_PARSE = 2,       /**< input is not well-formed (JSON syntax, truncated model, ...) */
    ALLOT_E_INVALID = 3,     /**< well-formed input with an invalid value (missing field, NaN, range) */
    ALLOT_E_NOMEM = 4,       /**< memory allocation failed */
    ALLOT_E_UNSUPPORTED = 5, /**< valid input that this version does not handle */
    ALLOT_E_ARGUMENT = 6,    /**< a caller passed a bad argument (NULL, size mismatch, ...) */
    ALLOT_E_CHECK = 7,       /**< a cross-check against a reference failed */
    ALLOT_E_INTERNAL = 8     /**< a library call failed unexpectedly */
} allot_status;

/** Size of the message buffer inside allot_error, including the terminating NUL. */
#define ALLOT_ERROR_MSG_SIZE 512

/**
 * A status with its message. Caller-owned; zero-initialise or pass NULL to ignore details.
 * Unlike the other caller-allocated structs it carries no version: every call writes it, a call
 * with bad arguments included, so its layout (a code, then ALLOT_ERROR_MSG_SIZE bytes) is fixed
 * for the whole major version. Later versions may add status codes: treat an unknown one as an error.
 */
typedef struct allot_error {
    allot_status code;
    char msg[ALLOT_ERROR_MSG_SIZE];
} allot_error;

/** Static, never-NULL name of a status code ("ok", "I/O error", ...). */
ALLOT_API const char *allot_status_string(allot_status code);

/**
 * Record an error: sets err->code and formats err->msg (printf-style, truncated to fit).
 * Returns code so callers can write `return allot_error_set(err, ALLOT_E_IO, "...", ...);`.
 * err may be NULL, in which case only the code is returned.
 */
ALLOT_API allot_status allot_error_set(allot_error *err, allot_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** Reset err to ALLOT_OK with an empty message (err may be NULL). */
ALLOT_API void allot_error_clear(allot_error *err);

#ifdef __cplusplus
}
#endif
#endif /* ALLOT_ERROR_H */
