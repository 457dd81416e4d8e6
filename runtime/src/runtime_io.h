/*
 * runtime_io.h - internal helpers shared by the runtime's loaders (not part of the public API).
 *
 * One way to read a whole file, one way to parse JSON that reports running out of memory as
 * such, and one locale-independent scanner of decimal numbers, so that the XGBoost, LIBLINEAR and
 * policy loaders validate and convert numbers identically.
 */
#ifndef ALLOT_RUNTIME_IO_H
#define ALLOT_RUNTIME_IO_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "allot/allot_error.h"

/**
 * Read the whole file at path into a new malloc'ed buffer (*data, NUL-terminated; the NUL is not
 * counted in *len). max_bytes > 0 refuses larger files with ALLOT_E_INVALID. Errors read
 * "<what>: cannot open <path>: <reason>", "<what>: read error on <path>", ...
 */
allot_status allot_rt_read_file(const char *what, const char *path, size_t max_bytes, char **data,
                                size_t *len, allot_error *err);

/**
 * Parse the JSON value at the start of data[0..len) with cJSON (text after it is left to the
 * caller). cJSON returns NULL both for malformed text and when memory runs out; on NULL, *nomem
 * tells the two apart: 1 when the text is well-formed JSON that cJSON reads (checked again by a
 * scanner that allocates nothing), so memory must have run out, 0 when it is malformed. *end, if
 * not NULL, receives cJSON's parse end (on failure: near the error).
 */
cJSON *allot_rt_json_parse(const char *data, size_t len, const char **end, int *nomem);

/** Set err's code to st and prefix its message with "<prefix>: "; err may be NULL. Returns st. */
allot_status allot_rt_error_prefix(allot_error *err, allot_status st, const char *prefix);

/**
 * Check that s[0..n) is a plain decimal number ([+-]digits[.digits][(e|E)[+-]digits], at least one
 * digit, n <= max_len) and rewrite it into out (size out_size) without a decimal point, the
 * exponent adjusted instead ("-1.25E0" -> "-125e-2"), so that strtod/strtof never meet a
 * character whose meaning depends on the locale. Returns 1 on success, 0 if s is not such a number.
 */
int allot_rt_decimal_canonical(const char *s, size_t n, size_t max_len, char *out, size_t out_size);

#endif
