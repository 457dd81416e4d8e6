/*
 * strtod_fast.h - the exact fast path of decimal strtod (Clinger's), for the allot program.
 *
 * cJSON converts every number of a labelled-runs line with the C library's strtod, and glibc's
 * multi-precision conversion is the largest single cost of reading such files. Most numbers there
 * are short decimals ("0.694263", "384", "1e-5"): a significand w of at most 19 digits and
 * w <= 2^53, scaled by 10^e with |e| <= 22. Then w and 10^|e| are both exact doubles, and one IEEE
 * multiplication or division rounds their exact product or quotient once, in the current rounding
 * mode: the correctly rounded value, which is what glibc's strtod returns.
 */
#ifndef ALLOT_STRTOD_FAST_H
#define ALLOT_STRTOD_FAST_H

/*
 * Converts the decimal number at the start of s as strtod(s, end) would with '.' as the radix
 * character, when it takes the fast path: [+-]digits[.digits][(e|E)[+-]digits] (digits on at least
 * one side of the '.'; an 'e' not followed by digits is not part of the number), w <= 2^53 with at
 * most 19 significant digits, |e| <= 22. Then stores the value in *out, the end of the number in
 * *end (when end is not NULL) and returns 1. Returns 0, touching neither, for anything else (leading
 * space, hexadecimal, inf, nan, no digits, more digits, larger exponents): the caller falls back to
 * the C library. Reads s up to its first character that cannot continue a number (as the C
 * library does: "1e+x" is read to the 'x'), never past its terminating NUL; never sets errno.
 */
int allot_strtod_fast(const char *s, char **end, double *out);

#endif
