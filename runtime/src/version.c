/* version.c - the runtime's version (allot.h). */
#include "allot/allot.h"

#define ALLOT_STR2(x) #x
#define ALLOT_STR(x) ALLOT_STR2(x)

const char *allot_version_string(void) {
    return ALLOT_STR(ALLOT_VERSION_MAJOR) "." ALLOT_STR(ALLOT_VERSION_MINOR) "." ALLOT_STR(
        ALLOT_VERSION_PATCH);
}

unsigned allot_version_number(void) {
    return ALLOT_VERSION_NUMBER;
}
