/* curves_load.c - a curves table from either input format (curves.h, allot_curves_load). */
#include <stdlib.h>
#include <string.h>

#include "curves.h"

allot_status allot_curves_load(const char *path, const allot_tier_set *tiers, int progress,
                               allot_curves **out, int *computed, allot_error *err) {
    int is_curves = 0;
    *out = NULL;
    *computed = 0;
    allot_status st = allot_curves_sniff(path, &is_curves, err);
    if (st) return st;
    if (is_curves) return allot_curves_read(path, out, err);
    allot_curves_options o;
    allot_curves_options_default(&o);
    o.progress = progress;
    *computed = 1;
    return allot_curves_compute(path, tiers && tiers->n ? tiers : NULL, &o, out, err);
}

allot_status allot_tier_set_from_names(const char *const *names, size_t n, allot_tier_set *out, int *parsed,
                                       allot_error *err) {
    memset(out, 0, sizeof *out);
    *parsed = 0;
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(names[i]) + 1;
    char *spec = malloc(len);
    if (!spec) return allot_error_set(err, ALLOT_E_NOMEM, "out of memory (tier names)");
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(names[i]);
        if (i) spec[at++] = ',';
        memcpy(spec + at, names[i], k);
        at += k;
    }
    spec[at] = '\0';
    allot_error ignored = {0};
    if (n && allot_tier_set_parse(spec, out, &ignored) == ALLOT_OK) *parsed = 1;
    free(spec);
    return ALLOT_OK;
}
