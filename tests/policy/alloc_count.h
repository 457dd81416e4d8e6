/* alloc_count.h - counts heap allocations made through malloc/calloc/realloc (linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc: covers the statically linked runtime), and
 * makes chosen ones fail, as SQLite's malloc tests do.
 *
 * Everything is per thread: the counters and the injection state belong to the calling thread.
 * A shared library's own calls to malloc (cJSON's, for one) do not pass through --wrap; route
 * cJSON through the wrappers with pt_alloc_route_cjson(). */
#ifndef ALLOT_ALLOC_COUNT_H
#define ALLOT_ALLOC_COUNT_H
#include <stddef.h>
/* Number of allocations so far in the calling thread. */
size_t pt_alloc_count(void);

/* Failure injection: from this call on, the n-th allocation (1-based: malloc, calloc or realloc)
 * returns NULL and, when persist is nonzero, so does every allocation after it. n == 0 turns
 * injection off. Resets the count of injected failures. */
void pt_alloc_fail_at(size_t n, int persist);
/* Number of allocations made to fail since the last pt_alloc_fail_at(). */
size_t pt_alloc_failures(void);

/* Blocks allocated minus blocks freed so far in the calling thread. Meaningful only when the
 * program is also linked with -Wl,--wrap=free (otherwise frees are not seen). */
long pt_alloc_live(void);

/* Make cJSON allocate and free through these wrappers (cJSON_InitHooks; process-wide). */
void pt_alloc_route_cjson(void);
#endif
