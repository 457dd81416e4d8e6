#include "allot/allot_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *allot_status_string(allot_status code) {
    switch (code) {
    case ALLOT_OK: return "ok";
    case ALLOT_E_IO: return "I/O error";
    case ALLOT_E_PARSE: return "parse error";
    case ALLOT_E_INVALID: return "invalid input";
    case ALLOT_E_NOMEM: return "out of memory";
    case ALLOT_E_UNSUPPORTED: return "unsupported";
    case ALLOT_E_ARGUMENT: return "bad argument";
    case ALLOT_E_CHECK: return "check failed";
    case ALLOT_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}

allot_status allot_error_set(allot_error *err, allot_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void allot_error_clear(allot_error *err) {
    if (err) {
        err->code = ALLOT_OK;
        err->msg[0] = '\0';
    }
}
