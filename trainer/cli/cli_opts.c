/* cli_opts.c - option values of every subcommand (see cli_opts.h). */
#include "cli_opts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "seed.h"

/* "<opt>: <problem>: '<arg>'" as a usage error. */
static int reject(const char *cmd, const char *opt, const char *problem, const char *arg) {
    char msg[640];
    snprintf(msg, sizeof msg, "%s: %s: '%.400s%s'", opt, problem, arg, strlen(arg) > 400 ? "..." : "");
    return allot_cli_usage_error(cmd, msg);
}

static void describe_range(allot_opt_range r, char *buf, size_t n) {
    int lo = isfinite(r.lo), hi = isfinite(r.hi);
    if (lo && hi)
        snprintf(buf, n, "not a number in %c%g, %g%c", r.lo_open ? '(' : '[', r.lo, r.hi,
                 r.hi_open ? ')' : ']');
    else if (lo)
        snprintf(buf, n, "not a number %s %g", r.lo_open ? ">" : ">=", r.lo);
    else if (hi)
        snprintf(buf, n, "not a number %s %g", r.hi_open ? "<" : "<=", r.hi);
    else
        snprintf(buf, n, "not a finite number");
}

static int in_range(double v, allot_opt_range r) {
    return (r.lo_open ? v > r.lo : v >= r.lo) && (r.hi_open ? v < r.hi : v <= r.hi);
}

/* A finite number, the whole of s (strtod's syntax without leading space). */
static int parse_number(const char *s, double *out) {
    if (!*s || *s == ' ' || (*s >= '\t' && *s <= '\r')) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int allot_opt_number(const char *cmd, const char *opt, const char *arg, allot_opt_range r, double *out) {
    double v;
    if (parse_number(arg, &v) || !in_range(v, r)) {
        char what[96];
        describe_range(r, what, sizeof what);
        return reject(cmd, opt, what, arg);
    }
    *out = v;
    return 0;
}

int allot_opt_int(const char *cmd, const char *opt, const char *arg, int lo, int hi, int *out) {
    const char *d = arg + (*arg == '-');
    int ok = *d != '\0';
    for (const char *p = d; ok && *p; p++) ok = *p >= '0' && *p <= '9';
    long long v = 0;
    if (ok) {
        errno = 0;
        v = strtoll(arg, NULL, 10);
        ok = !errno && v >= lo && v <= hi;
    }
    if (!ok) {
        char what[96];
        if (hi == INT_MAX)
            snprintf(what, sizeof what, "not an integer >= %d", lo);
        else
            snprintf(what, sizeof what, "not an integer in %d..%d", lo, hi);
        return reject(cmd, opt, what, arg);
    }
    *out = (int)v;
    return 0;
}

int allot_opt_count(const char *cmd, const char *opt, const char *arg, uint64_t lo, uint64_t hi,
                    uint64_t *out) {
    uint64_t v;
    if (allot_seed_parse(arg, &v) || v < lo || v > hi) {
        char what[96];
        if (hi == UINT64_MAX)
            snprintf(what, sizeof what, "not an integer >= %llu", (unsigned long long)lo);
        else
            snprintf(what, sizeof what, "not an integer in %llu..%llu", (unsigned long long)lo,
                     (unsigned long long)hi);
        return reject(cmd, opt, what, arg);
    }
    *out = v;
    return 0;
}

int allot_opt_seed(const char *cmd, const char *opt, const char *arg, uint64_t *out) {
    if (allot_seed_parse(arg, out)) return reject(cmd, opt, "not an unsigned 64-bit integer", arg);
    return 0;
}

int allot_opt_budget(const char *cmd, const char *opt, const char *arg, double *out) {
    return allot_opt_number(cmd, opt, arg, ALLOT_OPT_NONNEG, out);
}

int allot_opt_choice(const char *cmd, const char *opt, const char *arg, const char *const *names, int *out) {
    char what[256] = "not one of ";
    for (int i = 0; names[i]; i++) {
        if (!strcmp(arg, names[i])) {
            *out = i;
            return 0;
        }
        size_t l = strlen(what);
        snprintf(what + l, sizeof what - l, "%s%s", i ? ", " : "", names[i]);
    }
    if (names[0] && !names[1]) snprintf(what, sizeof what, "not %s", names[0]);
    return reject(cmd, opt, what, arg);
}

void allot_opt_list_free(char **items, size_t n) {
    for (size_t i = 0; items && i < n; i++) free(items[i]);
    free(items);
}

int allot_opt_list(const char *cmd, const char *opt, const char *arg, size_t max, char ***items, size_t *n) {
    size_t count = 1;
    for (const char *p = arg; *p; p++) count += *p == ',';
    if (max && count > max) {
        char what[64];
        snprintf(what, sizeof what, "more than %zu items", max);
        return reject(cmd, opt, what, arg);
    }
    char **v = calloc(count, sizeof *v);
    if (!v) return reject(cmd, opt, "out of memory", arg);
    const char *s = arg;
    for (size_t i = 0; i < count; i++) {
        size_t len = strcspn(s, ",");
        if (len == 0) {
            allot_opt_list_free(v, count);
            return reject(cmd, opt, count == 1 ? "an empty list" : "an empty item in the comma list", arg);
        }
        v[i] = malloc(len + 1);
        if (!v[i]) {
            allot_opt_list_free(v, count);
            return reject(cmd, opt, "out of memory", arg);
        }
        memcpy(v[i], s, len);
        v[i][len] = '\0';
        s += len + (s[len] == ',');
    }
    *items = v;
    *n = count;
    return 0;
}

int allot_opt_number_list(const char *cmd, const char *opt, const char *arg, allot_opt_range r, size_t max,
                          double **out, size_t *n) {
    char **items = NULL;
    size_t k = 0;
    int rc = allot_opt_list(cmd, opt, arg, max, &items, &k);
    if (rc) return rc;
    double *v = malloc(k * sizeof *v);
    for (size_t i = 0; v && i < k; i++) {
        if (parse_number(items[i], &v[i]) || !in_range(v[i], r)) {
            char what[160], range[96];
            describe_range(r, range, sizeof range);
            snprintf(what, sizeof what, "item %zu ('%.20s') is %s", i + 1, items[i], range);
            free(v);
            allot_opt_list_free(items, k);
            return reject(cmd, opt, what, arg);
        }
    }
    allot_opt_list_free(items, k);
    if (!v) return reject(cmd, opt, "out of memory", arg);
    *out = v;
    *n = k;
    return 0;
}
