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

/**
 * Skip a UTF-8 byte-order mark (EF BB BF) at the start of data[0..*len): returns the text after
 * it and shortens *len. Every allot reader of JSON or model text accepts one file-initial BOM.
 */
const char *allot_rt_skip_bom(const char *data, size_t *len);

/**
 * What allot refuses in JSON that cJSON accepts, checked on a parsed document (root, parsed from
 * text[0..len)):
 *  - a string holding the escape \u0000: C strings end at the NUL, so two different ids or names
 *    would silently become the same one;
 *  - an object with two members of the same name: JSON parsers disagree on which one counts
 *    (cJSON takes the first, jq and Python the last).
 * Returns 0 when neither occurs. Otherwise returns 1 and writes "<path>: <problem>" into msg,
 * e.g. "classifier.xgboost: duplicate member" or "samples[3].answer: contains \u0000 (a NUL
 * character)"; the path is prefix-qualified (prefix may be NULL or ""). Returns -1 when memory
 * runs out (msg says so). Linear in the size of the document.
 */
int allot_rt_json_strict_check(const cJSON *root, const char *text, size_t len, const char *prefix, char *msg,
                               size_t msg_size);

/**
 * 1 when data[0..len) starts with one well-formed JSON value that cJSON reads (the scanner of
 * allot_rt_json_parse: allocates nothing), *end = the index just after it; 0 otherwise.
 */
int allot_rt_json_wellformed(const char *data, size_t len, size_t *end);

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
