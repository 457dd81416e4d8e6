/*
 * cli.h - the `allot` command-line tool: one subcommand per pipeline stage.
 *
 * Each subcommand lives in its own cmd_<name>.c, parses its options with getopt_long (option
 * values through cli_opts.h), calls the stage's library and prints a table (or, with --json,
 * exactly one JSON document on stdout with the same figures). Errors go to stderr as
 * "allot <cmd>: <message>"; a bad option value is named with the value:
 * "allot train: --seed: not an unsigned 64-bit integer: '-1'".
 *
 * Conventions every subcommand follows: its help starts with "Usage: allot <cmd> ...", lists its
 * options under "Options:" and ends with the exit-code paragraph (allot_cli_help); -h/--help,
 * -V/--version ("allot <cmd> <version>") and, where there is an --out, -o.
 *
 * Exit codes (documented in README.md and every --help):
 *   0  success
 *   1  usage error (unknown option, missing argument)
 *   2  bad input data (parse error or invalid value; the message names file, line and field)
 *   3  I/O error (cannot open, read, write or rename a file)
 *   4  a check failed (e.g. --check glpk disagrees, regret above its bound)
 *   5  internal or unsupported (a library call failed, a feature not available)
 */
#ifndef ALLOT_CLI_H
#define ALLOT_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "allot/allot_error.h"

enum {
    ALLOT_EXIT_OK = 0,
    ALLOT_EXIT_USAGE = 1,
    ALLOT_EXIT_INPUT = 2,
    ALLOT_EXIT_IO = 3,
    ALLOT_EXIT_CHECK = 4,
    ALLOT_EXIT_INTERNAL = 5
};

/** The exit code for a library status. */
int allot_cli_exit_code(allot_status st);
/** Print "allot <cmd>: <err->msg>" to stderr and return the matching exit code. */
int allot_cli_fail(const char *cmd, const allot_error *err);
/** Print "allot <cmd>: <message>" + a hint to run --help, return ALLOT_EXIT_USAGE. */
int allot_cli_usage_error(const char *cmd, const char *message);
/**
 * The usage error for an option getopt_long rejected (call it from the switch's default case, with
 * opterr = 0): "option --x needs an argument" for ':' (optstring starting with ':'), else "unknown
 * or incomplete option --x". Returns ALLOT_EXIT_USAGE.
 */
int allot_cli_bad_option(const char *cmd, int opt, char **argv);
/** The exit-code paragraph every --help ends with. */
extern const char allot_cli_exit_codes_help[];
/** Print a subcommand's help text and then the exit-code paragraph on stdout; returns ALLOT_EXIT_OK. */
int allot_cli_help(const char *text);
/** Print "allot <cmd> <version>" (allot_version_string()) on stdout; returns ALLOT_EXIT_OK. */
int allot_cli_version(const char *cmd);

/* Subcommands: argv[0] is the subcommand name. */
int allot_cmd_import(int argc, char **argv);
int allot_cmd_curves(int argc, char **argv);
int allot_cmd_solve(int argc, char **argv);
int allot_cmd_train(int argc, char **argv);
/* Print s (n bytes) as a JSON string literal: UTF-8 passed through, quotes, backslashes and control
 * characters (NUL included) escaped. */
void allot_cli_put_json_string(FILE *out, const char *s, size_t n);
/* Print s (n bytes) as one TSV field: backslash, tab, newline and carriage return escaped as \\, \t,
 * \n, \r (other control characters as \xHH), so a field never splits a line or a column. */
void allot_cli_put_tsv_field(FILE *out, const char *s, size_t n);

/* allot predict on a sequential bundle: one step decision for a parsed record (cmd_predict_seq.c). */
struct cJSON;
struct allot_policy;
struct allot_workspace;
struct allot_query_input;
struct allot_predict_options;
int allot_cli_predict_step(const struct allot_policy *p, struct allot_workspace *ws, const struct cJSON *rec,
                           const char *id, const struct allot_query_input *q,
                           const struct allot_predict_options *opts, int json, const char *input,
                           size_t lineno);

/* allot audit on sequential bundles, after option parsing (cmd_audit_seq.c). */
typedef struct allot_cli_seq_audit {
    const char *const *policies;
    size_t n_policies;
    const char *out;
    double budget; /* NaN: the first bundle's */
    uint64_t seed;
    int bootstrap, orderings, all_queries, plots, progress, json;
} allot_cli_seq_audit;
int allot_cli_audit_sequential(const allot_cli_seq_audit *a, const char *runs);
/* *seq = 1 when the bundle at path is a sequential policy, 0 for a static one. Returns 0, or the exit
 * code after reporting why the bundle cannot be loaded. */
int allot_cli_bundle_is_sequential(const char *path, int *seq);
/* allot train --stages, after option parsing (cmd_train_seq.c). */
struct allot_sq_train_options;
int allot_cli_train_sequential(const struct allot_sq_train_options *o, const char *runs, const char *stages,
                               const char *out, int json);
int allot_cmd_audit(int argc, char **argv);
int allot_cmd_predict(int argc, char **argv);
int allot_cmd_replay(int argc, char **argv);

#endif
