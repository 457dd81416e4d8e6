/* allot - learn how much test-time compute to spend on each query. Dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "allot/allot.h"
#include "cleanup.h"
#include "cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} allot_subcommand;

static const allot_subcommand subcommands[] = {
    {"import", allot_cmd_import, "other tools' runs (lm-eval, OpenAI/vLLM batches, ...) -> labelled runs"},
    {"curves", allot_cmd_curves, "labelled runs -> per-query accuracy-versus-cost curves over tiers"},
    {"solve", allot_cmd_solve, "curves -> the exact budgeted oracle allocation (cross-checked by GLPK)"},
    {"train", allot_cmd_train, "curves -> a policy bundle (XGBoost or LIBLINEAR) imitating the oracle"},
    {"audit", allot_cmd_audit, "policy + held-out curves -> regret audit, report and plots"},
    {"predict", allot_cmd_predict, "policy + queries -> one tier decision per query (the runtime)"},
    {"replay", allot_cmd_replay, "adaptive allocators of the literature replayed on recorded samples"},
};

static void usage(FILE *out) {
    fprintf(out, "Usage: allot <command> [options]   (allot <command> --help for details)\n"
                 "       allot -V | --version\n\nCommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n%s", allot_cli_exit_codes_help);
}

int main(int argc, char **argv) {
    allot_cleanup_install(); /* temporary outputs go away on SIGINT/SIGTERM; SIGXFSZ becomes EFBIG */
    if (argc < 2) {
        usage(stderr);
        return ALLOT_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return ALLOT_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("allot %s\n", allot_version_string());
        return ALLOT_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name)) return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "allot: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return ALLOT_EXIT_USAGE;
}
