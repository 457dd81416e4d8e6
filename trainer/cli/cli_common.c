#include <stdio.h>
#include <unistd.h>

#include "allot/allot.h"
#include "cli.h"

const char allot_cli_exit_codes_help[] =
    "Exit codes: 0 success, 1 usage error, 2 bad input data (file:line: field: problem),\n"
    "            3 I/O error, 4 a check failed, 5 internal or unsupported.\n";

int allot_cli_exit_code(allot_status st) {
    switch (st) {
    case ALLOT_OK: return ALLOT_EXIT_OK;
    case ALLOT_E_ARGUMENT: return ALLOT_EXIT_USAGE;
    case ALLOT_E_PARSE:
    case ALLOT_E_INVALID: return ALLOT_EXIT_INPUT;
    case ALLOT_E_IO: return ALLOT_EXIT_IO;
    case ALLOT_E_CHECK: return ALLOT_EXIT_CHECK;
    case ALLOT_E_NOMEM:
    case ALLOT_E_UNSUPPORTED:
    case ALLOT_E_INTERNAL: return ALLOT_EXIT_INTERNAL;
    }
    return ALLOT_EXIT_INTERNAL;
}

int allot_cli_fail(const char *cmd, const allot_error *err) {
    fprintf(stderr, "allot %s: %s\n", cmd, err->msg[0] ? err->msg : allot_status_string(err->code));
    return allot_cli_exit_code(err->code);
}

int allot_cli_usage_error(const char *cmd, const char *message) {
    fprintf(stderr, "allot %s: %s\nRun 'allot %s --help' for usage.\n", cmd, message, cmd);
    return ALLOT_EXIT_USAGE;
}

int allot_cli_bad_option(const char *cmd, int opt, char **argv) {
    char msg[160];
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (opt == ':')
        snprintf(msg, sizeof msg, "option %s needs an argument", arg);
    else
        snprintf(msg, sizeof msg, "unknown or incomplete option %s", arg);
    return allot_cli_usage_error(cmd, msg);
}

int allot_cli_help(const char *text) {
    fputs(text, stdout);
    fputs(allot_cli_exit_codes_help, stdout);
    return ALLOT_EXIT_OK;
}

int allot_cli_version(const char *cmd) {
    printf("allot %s %s\n", cmd, allot_version_string());
    return ALLOT_EXIT_OK;
}

void allot_cli_put_json_string(FILE *out, const char *s, size_t n) {
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
        } else if (c == '\n') {
            fputs("\\n", out);
        } else if (c == '\t') {
            fputs("\\t", out);
        } else if (c < 0x20) {
            fprintf(out, "\\u%04x", c);
        } else {
            fputc(c, out);
        }
    }
    fputc('"', out);
}

void allot_cli_put_tsv_field(FILE *out, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\')
            fputs("\\\\", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c < 0x20)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}
