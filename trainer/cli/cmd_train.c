/* allot train - not implemented yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int allot_cmd_train(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "allot train: not implemented in this version\n");
    return ALLOT_EXIT_INTERNAL;
}
