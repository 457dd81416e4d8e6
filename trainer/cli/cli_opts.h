/*
 * cli_opts.h - one parser for the option values of every `allot` subcommand.
 *
 * Each function parses one option's value (getopt's optarg). When the value is acceptable it is
 * stored and the function returns 0; otherwise nothing is stored, the function prints
 *     allot <cmd>: <option>: <what was expected>: '<value>'
 * and the --help hint to stderr, and returns ALLOT_EXIT_USAGE. A subcommand's switch reads
 *     case 'b': if ((rc = allot_opt_budget(CMD, "--budget", optarg, &budget))) return rc; break;
 *
 *   numbers   what strtod reads, the whole argument: finite, no leading space, no trailing
 *             characters, not out of range; then within an allot_opt_range
 *   integers  decimal digits with an optional leading '-', within [lo, hi]
 *   counts    decimal digits only (unsigned), within [lo, hi]
 *   seeds     decimal digits only, the whole unsigned 64-bit range (0 .. 18446744073709551615)
 *   budgets   numbers >= 0
 *   choices   one of a list of names
 *   lists     comma lists of items (no empty list, no empty item), e.g. of numbers
 */
#ifndef ALLOT_CLI_OPTS_H
#define ALLOT_CLI_OPTS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/** An interval of numbers: lo / hi may be -INFINITY / INFINITY (no bound). */
typedef struct allot_opt_range {
    double lo, hi;
    int lo_open, hi_open; /**< 1: the bound itself is excluded */
} allot_opt_range;

/** Any finite number. */
#define ALLOT_OPT_FINITE ((allot_opt_range){-INFINITY, INFINITY, 0, 0})
/** Numbers >= 0. */
#define ALLOT_OPT_NONNEG ((allot_opt_range){0, INFINITY, 0, 0})
/** Numbers > 0. */
#define ALLOT_OPT_POSITIVE ((allot_opt_range){0, INFINITY, 1, 0})
/** Numbers in (0, 1]. */
#define ALLOT_OPT_FRACTION ((allot_opt_range){0, 1, 1, 0})

int allot_opt_number(const char *cmd, const char *opt, const char *arg, allot_opt_range r, double *out);
/** An int in [lo, hi] ("an integer >= lo" when hi is INT_MAX). */
int allot_opt_int(const char *cmd, const char *opt, const char *arg, int lo, int hi, int *out);
/** An unsigned count in [lo, hi]. */
int allot_opt_count(const char *cmd, const char *opt, const char *arg, uint64_t lo, uint64_t hi,
                    uint64_t *out);
int allot_opt_seed(const char *cmd, const char *opt, const char *arg, uint64_t *out);
int allot_opt_budget(const char *cmd, const char *opt, const char *arg, double *out);
/** *out = the index of arg in names (NULL-terminated). */
int allot_opt_choice(const char *cmd, const char *opt, const char *arg, const char *const *names, int *out);

/**
 * The items of a comma list (at most max of them; 0 = no limit): *items is a malloc'd array of
 * n malloc'd strings, released with allot_opt_list_free.
 */
int allot_opt_list(const char *cmd, const char *opt, const char *arg, size_t max, char ***items, size_t *n);
void allot_opt_list_free(char **items, size_t n);
/** A comma list of numbers within r (at most max; 0 = no limit): *out malloc'd, n values. */
int allot_opt_number_list(const char *cmd, const char *opt, const char *arg, allot_opt_range r, size_t max,
                          double **out, size_t *n);

#endif
