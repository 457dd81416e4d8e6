/*
 * test_strtod.c - the allot program's strtod (trainer/cli/strtod) against glibc's own conversion.
 *
 * This test links the interposing strtod, as the program does, and compares on every string:
 *   - allot_strtod_fast, where it takes the string, with glibc's __strtod_internal: the same bits
 *     and the same end;
 *   - strtod (the interposer) with __strtod_internal: the same bits, end and errno, whatever path;
 * over fixed cases (the forms a labelled-runs file holds must take the fast path; hexadecimal,
 * inf, nan and the like must not), about 1.9 million strings (random doubles printed in
 * every precision, random digit strings with points, exponents and junk after them, JSON-like
 * scores and costs), in the three directed rounding modes, under a locale whose radix
 * character is ',' when one can be loaded (run_strtod_test.sh builds de_DE with localedef if the
 * machine has its sources; otherwise that part says it is skipped), and every number of the
 * labelled runs in ../shared/datasets (the directory is the second argument; skipped with a
 * message where it is absent), with how many of them take the fast path.
 */
#include <errno.h>
#include <fenv.h>
#include <locale.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strtod_fast.h"

#define CHECK_AREA "strtod"
#include "../common/check_continue.h"

extern double __strtod_internal(const char *restrict s, char **restrict end, int group);

/* Strings compared and how many took the fast path; radix_dot: the locale's radix is '.', so that
 * allot_strtod_fast (which assumes it) is compared with glibc directly too. */
typedef struct {
    long strings, fast;
    int radix_dot;
} tally;

static uint64_t next_u64(uint64_t *state) { /* splitmix64 */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned below(uint64_t *state, unsigned n) {
    return (unsigned)(next_u64(state) % n);
}

static int same_double(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

/* One string through both comparisons; returns whether the fast path took it. */
static int compare(const char *s, tally *t) {
    char *ref_end = NULL, *fast_end = NULL, *end = NULL;
    errno = 12345;
    double ref = __strtod_internal(s, &ref_end, 0);
    int ref_errno = errno;
    double fast = 0;
    int took = t->radix_dot && allot_strtod_fast(s, &fast_end, &fast);
    if (took)
        CHECKF(same_double(fast, ref) && fast_end == ref_end,
               "fast path on \"%s\": %.17g end +%td, glibc %.17g end +%td", s, fast, fast_end - s, ref,
               ref_end - s);
    errno = 12345;
    double v = strtod(s, &end);
    CHECKF(same_double(v, ref) && end == ref_end && errno == ref_errno,
           "strtod(\"%s\"): %.17g end +%td errno %d, glibc %.17g end +%td errno %d", s, v, end - s, errno,
           ref, ref_end - s, ref_errno);
    t->strings++;
    t->fast += took;
    return took;
}

static void fixed_cases(tally *t) {
    static const char *fast[] = {"0.694263",
                                 "384",
                                 "-0",
                                 "0",
                                 "+5",
                                 "5.",
                                 ".5",
                                 "1e5",
                                 "1E-5",
                                 "1e+22",
                                 "-1e-22",
                                 "1e",
                                 "1e+",
                                 "2.5e",
                                 "7x",
                                 "1.5,3",
                                 "0.1",
                                 "0.3",
                                 "1e-05",
                                 "0001.250",
                                 "9007199254740992",
                                 "0.000000000000000000000000000001e30"};
    static const char *slow[] = {" 1",
                                 "\t2",
                                 "0x1p3",
                                 "-0X10",
                                 "inf",
                                 "-Infinity",
                                 "nan",
                                 "NAN(1)",
                                 "",
                                 ".",
                                 "-",
                                 "+.e5",
                                 "e5",
                                 "1e23",
                                 "1e-23",
                                 "9007199254740993",
                                 "12345678901234567890",
                                 "1e400",
                                 "4.9e-324",
                                 "1.00000000000000000000",
                                 "1e100000000000000000000",
                                 "123456789012345678e-10"};
    for (size_t i = 0; i < sizeof fast / sizeof *fast; i++)
        CHECKF(compare(fast[i], t), "\"%s\" not on the fast path", fast[i]);
    for (size_t i = 0; i < sizeof slow / sizeof *slow; i++)
        CHECKF(!compare(slow[i], t), "\"%s\" on the fast path", slow[i]);
}

/* Random finite doubles printed in every precision, as %g, %e and (moderate ones) %f. */
static void printed_doubles(uint64_t *rng, long n, tally *t) {
    char buf[512];
    for (long i = 0; i < n; i++) {
        uint64_t bits = next_u64(rng);
        double x;
        if (below(rng, 2)) { /* the whole range, or values near 1 where the fast path lives */
            memcpy(&x, &bits, sizeof x);
            if (x != x || x - x != 0) continue;
        } else {
            x = (double)(bits >> 11) / 9007199254740992.0 * (below(rng, 2) ? 1 : 1e6);
        }
        int p = (int)below(rng, 18);
        switch (below(rng, 3)) {
        case 0: snprintf(buf, sizeof buf, "%.*g", p, x); break;
        case 1: snprintf(buf, sizeof buf, "%.*e", p, x); break;
        default: snprintf(buf, sizeof buf, "%.*f", p, x < 1e30 && x > -1e30 ? x : 1.0); break;
        }
        compare(buf, t);
    }
}

static void append_digits(uint64_t *rng, char *buf, size_t *len, unsigned count) {
    for (unsigned i = 0; i < count; i++) buf[(*len)++] = (char)('0' + below(rng, 10));
}

/* Random digit strings: sign, digits, point, digits, exponent, then a character that may or may
 * not continue a number. */
static void digit_strings(uint64_t *rng, long n, tally *t) {
    static const char *after[] = {"", "x", ",", " ", "e", "e+", ".", "5", "E-", "-"};
    char buf[128];
    for (long i = 0; i < n; i++) {
        size_t len = 0;
        unsigned r = below(rng, 4);
        if (r == 0) buf[len++] = '-';
        if (r == 1) buf[len++] = '+';
        if (below(rng, 4) == 0)
            for (unsigned z = below(rng, 6); z; z--) buf[len++] = '0';
        append_digits(rng, buf, &len, below(rng, 23));
        if (below(rng, 3)) {
            buf[len++] = '.';
            append_digits(rng, buf, &len, below(rng, 26));
        }
        if (below(rng, 3) == 0) {
            buf[len++] = below(rng, 2) ? 'e' : 'E';
            unsigned sign = below(rng, 3);
            if (sign) buf[len++] = sign == 1 ? '-' : '+';
            append_digits(rng, buf, &len, below(rng, 4));
        }
        buf[len] = '\0';
        strcat(buf, after[below(rng, sizeof after / sizeof *after)]);
        compare(buf, t);
    }
}

/* What labelled runs hold: scores with a few decimals, integer costs, small exponents (at most 15
 * significant digits). All of these must take the fast path. */
static void json_like(uint64_t *rng, long n, tally *t) {
    char buf[64];
    long missed = 0;
    for (long i = 0; i < n; i++) {
        double u = (double)(next_u64(rng) >> 11) / 9007199254740992.0;
        switch (below(rng, 4)) {
        case 0: snprintf(buf, sizeof buf, "%.*f", 1 + (int)below(rng, 8), u); break;
        case 1: snprintf(buf, sizeof buf, "%u", below(rng, 100000)); break;
        case 2: snprintf(buf, sizeof buf, "%.4e", (0.001 + u) * 1e-3); break;
        default: snprintf(buf, sizeof buf, "-%.*f", 1 + (int)below(rng, 13), u * 100); break;
        }
        missed += !compare(buf, t);
    }
    CHECKF(missed == 0, "%ld of %ld JSON-like numbers missed the fast path", missed, n);
}

static void rounding_modes(uint64_t *rng, tally *t) {
    static const int modes[] = {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        CHECK(fesetround(modes[m]) == 0);
        digit_strings(rng, 100000, t);
        json_like(rng, 20000, t);
    }
    fesetround(FE_TONEAREST);
}

/* Under a ',' radix the fast path must stand aside: "1,5" is 1.5 there and "0.5" stops at '.'. */
static void comma_locale(uint64_t *rng, tally *t) {
    if (!setlocale(LC_NUMERIC, "de_DE.UTF-8")) {
        printf("strtod: skipped the ',' radix part: no de_DE.UTF-8 locale could be loaded\n");
        return;
    }
    char *end = NULL;
    CHECK(strtod("1,5", &end) == 1.5 && *end == '\0');
    CHECK(strtod("0.5", &end) == 0 && *end == '.');
    t->radix_dot = 0;
    digit_strings(rng, 100000, t);
    t->radix_dot = 1;
    setlocale(LC_NUMERIC, "C");
    printf("strtod: compared under de_DE.UTF-8 (radix ',')\n");
}

/* The number tokens of one JSON text (outside strings: a '-' or digit and what can continue it). */
static void json_numbers(const char *text, tally *t) {
    char num[128];
    for (const char *p = text; *p;) {
        if (*p == '"') { /* a string, escapes included */
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (*p) p++;
        } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
            size_t n = strspn(p, "0123456789.eE+-");
            if (n < sizeof num) {
                memcpy(num, p, n);
                num[n] = '\0';
                compare(num, t);
            }
            p += n;
        } else {
            p++;
        }
    }
}

/* Every number of every labelled-runs file in dir, through both comparisons. */
static void shared_datasets(const char *dir) {
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        printf("strtod: skipped the real-data part: %s%s\n", dir ? dir : "no datasets directory given",
               dir ? " is absent" : "");
        return;
    }
    tally t = {0, 0, 1};
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    struct dirent *e;
    while (line && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 6, ".jsonl")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "r");
        CHECKF(fp != NULL, "cannot open %s", path);
        if (!fp) continue;
        ssize_t got;
        while ((got = getline(&line, &cap, fp)) > 0) json_numbers(line, &t);
        fclose(fp);
    }
    closedir(d);
    free(line);
    CHECK(t.strings > 0);
    printf(
        "strtod: %ld numbers of the labelled runs in %s compared with glibc, %ld (%.2f%%) on the fast path\n",
        t.strings, dir, t.fast, t.strings ? 100.0 * (double)t.fast / (double)t.strings : 0.0);
}

int main(int argc, char **argv) {
    uint64_t rng = 20261207;
    tally t = {0, 0, 1};
    fixed_cases(&t);
    printed_doubles(&rng, 600000, &t);
    digit_strings(&rng, 600000, &t);
    json_like(&rng, 200000, &t);
    rounding_modes(&rng, &t);
    comma_locale(&rng, &t);
    shared_datasets(argc > 1 ? argv[1] : NULL);
    printf("strtod: %ld generated strings compared with glibc, %ld (%.0f%%) on the fast path\n", t.strings,
           t.fast, 100.0 * (double)t.fast / (double)t.strings);
    return CHECK_DONE();
}
