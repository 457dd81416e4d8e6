/* alloc_count.h - counts heap allocations made through malloc/calloc/realloc (linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc: covers the statically linked runtime). */
#ifndef ALLOT_ALLOC_COUNT_H
#define ALLOT_ALLOC_COUNT_H
#include <stddef.h>
/* Number of allocations so far in the calling thread. */
size_t pt_alloc_count(void);
#endif
