/*
 * seed.h - seeds as text and in JSON, without loss over the whole 64-bit unsigned range.
 *
 * A JSON number is a double to most readers, exact for integers only up to 2^53. A seed is
 * therefore written as a JSON number when it is <= 2^53 (so every file written before keeps its
 * bytes) and as a decimal string above; readers accept both forms.
 */
#ifndef ALLOT_LEARN_SEED_H
#define ALLOT_LEARN_SEED_H

#include <stdint.h>

#include <cjson/cJSON.h>

/** The largest seed written as a JSON number (2^53). */
#define ALLOT_SEED_JSON_NUMBER_MAX 9007199254740992ULL

/**
 * Parse a decimal seed: one or more ASCII digits and nothing else (no sign, no spaces, no
 * suffix), at most 2^64 - 1. Returns 0 and sets *out, or -1 (then *out is unchanged).
 */
int allot_seed_parse(const char *s, uint64_t *out);

/**
 * Add seed to the JSON object obj under key: a JSON number written with every digit when
 * seed <= ALLOT_SEED_JSON_NUMBER_MAX, a decimal string otherwise. Returns the new item, or NULL
 * when memory runs out (cJSON's convention).
 */
cJSON *allot_seed_add_to_object(cJSON *obj, const char *key, uint64_t seed);

/**
 * Read a seed from a JSON item: a number that is an integer in [0, 2^53], or a string
 * allot_seed_parse accepts. Returns 0 and sets *out, or -1 (NULL item, another type, a fraction,
 * a negative number, a number above 2^53, or a malformed string).
 */
int allot_seed_from_json(const cJSON *item, uint64_t *out);

#endif
