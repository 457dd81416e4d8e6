/* allot audit - not implemented yet (placeholder until its issue lands). */
#include <stdio.h>

#include "cli.h"

int allot_cmd_audit(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "allot audit: not implemented in this version\n");
    return ALLOT_EXIT_INTERNAL;
}
