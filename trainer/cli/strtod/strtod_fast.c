/*
 * strtod_fast.c - the exact fast path of decimal strtod (strtod_fast.h).
 */
#include "strtod_fast.h"

#include <stdint.h>

/* Powers of ten that doubles hold exactly (5^22 < 2^53). */
static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define MAX_DIGITS 19      /* significant digits a uint64_t holds whatever they are */
#define MAX_FRACTION 1000  /* fraction digits counted before giving up (leading zeros included) */
#define MAX_EXPONENT 10000 /* beyond this the exponent cannot come back within 22 */

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* The significand at *p: digits with at most one '.' among them, *p moved past them. One loop over
 * local counters (the compiler keeps them in registers); a significand longer than 19 digits wraps w,
 * which the caller then refuses by its count of significant digits. */
typedef struct significand {
    uint64_t w;       /* the digits as an integer, the point ignored */
    long digits;      /* all digits */
    long fraction;    /* digits after the point */
    long significant; /* digits from the first non-zero one on */
} significand;

static significand read_significand(const char **p) {
    significand v = {0, 0, 0, 0};
    int point = 0;
    const char *q = *p;
    for (;; q++) {
        unsigned d = (unsigned)(unsigned char)*q - '0';
        if (d < 10) {
            v.significant += v.w != 0 || d != 0;
            v.w = v.w * 10 + d;
            v.digits++;
            v.fraction += point;
        } else if (*q == '.' && !point) {
            point = 1;
        } else {
            break;
        }
    }
    *p = q;
    return v;
}

/* The exponent part at *p, if there is one (an 'e' with digits): its value in *e, *p past it.
 * Returns 0 when it is too large for the fast path. */
static int read_exponent(const char **p, long *e) {
    const char *q = *p;
    *e = 0;
    if (*q != 'e' && *q != 'E') return 1;
    q++;
    int negative = *q == '-';
    if (*q == '-' || *q == '+') q++;
    if (!is_digit(*q)) return 1; /* "1e", "1e+": the number ends before the 'e' */
    long v = 0;
    for (; is_digit(*q); q++) {
        v = v * 10 + (*q - '0');
        if (v > MAX_EXPONENT) return 0;
    }
    *e = negative ? -v : v;
    *p = q;
    return 1;
}

int allot_strtod_fast(const char *s, char **end, double *out) {
    const char *p = s;
    int negative = *p == '-';
    if (*p == '-' || *p == '+') p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) return 0; /* hexadecimal */
    significand v = read_significand(&p);
    if (v.digits == 0) return 0; /* no digits: not a number */
    if (v.significant > MAX_DIGITS || v.fraction > MAX_FRACTION) return 0;
    long e;
    if (!read_exponent(&p, &e)) return 0;
    e -= v.fraction;
    if (v.w > (UINT64_C(1) << 53) || e < -22 || e > 22) return 0;
    /* w converts exactly as a signed integer (w <= 2^53): a compiler's unsigned conversion may
     * subtract, which gives -0 for 0 when rounding downwards. The sign goes in before the one
     * rounding, so that directed rounding modes round the signed value as the C library does. */
    double x = (double)(int64_t)v.w;
    if (negative) x = -x;
    *out = e < 0 ? x / exact_pow10[-e] : x * exact_pow10[e];
    if (end) *end = (char *)p;
    return 1;
}
