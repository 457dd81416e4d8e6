/* seed.c - seeds as text and in JSON (see seed.h). */
#include "seed.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

int allot_seed_parse(const char *s, uint64_t *out) {
    if (!s || !*s) return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return -1; /* v * 10 + d would wrap */
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

cJSON *allot_seed_add_to_object(cJSON *obj, const char *key, uint64_t seed) {
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRIu64, seed);
    /* raw digits rather than cJSON's number printer, which rounds 16-digit integers to 15
     * significant digits when the result is within its comparison tolerance */
    return seed <= ALLOT_SEED_JSON_NUMBER_MAX ? cJSON_AddRawToObject(obj, key, digits)
                                              : cJSON_AddStringToObject(obj, key, digits);
}

int allot_seed_from_json(const cJSON *item, uint64_t *out) {
    if (cJSON_IsString(item)) return allot_seed_parse(item->valuestring, out);
    if (!cJSON_IsNumber(item)) return -1;
    double v = item->valuedouble;
    if (!(v >= 0) || v > (double)ALLOT_SEED_JSON_NUMBER_MAX || v != floor(v)) return -1;
    *out = (uint64_t)v;
    return 0;
}
