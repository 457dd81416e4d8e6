/*
 * identity.h - identity by content (docs/learn-and-audit.md, "Identity by content"):
 *
 *   - a curves table's content digest: SHA-256 over a canonical serialisation of what training and
 *     evaluation read (tier names, feature names, the embedding's name and dimension, and per query
 *     its id, prompt, meta, features, embedding, accuracies and costs), so that the same content read from
 * any path (`./c.jsonl` or `c.jsonl`), gzip-compressed or not, with any header `source`, has one identity;
 *   - 64-bit hashes of query ids and prompts (the first 8 bytes of SHA-256 of their bytes), recorded
 *     for a bundle's training pool so that an evaluation file's queries that also occur in the
 *     training data (same id, or byte-identical prompt) can be found without the training file.
 */
#ifndef ALLOT_LEARN_IDENTITY_H
#define ALLOT_LEARN_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "allot/allot_error.h"
#include "curves.h"

/** Version tag of the canonical serialisation (recorded beside the digest). */
#define ALLOT_CURVES_CONTENT_VERSION 1

/** The content digest of a curves table as 64 lowercase hex digits + NUL. */
void allot_curves_content_sha256(const allot_curves *c, char hex[65]);

/** 64-bit hash of a string's bytes (the first 8 bytes of its SHA-256, big-endian). */
uint64_t allot_identity_hash(const char *s);

/** A set of 64-bit hashes, sorted ascending without duplicates. */
typedef struct allot_hash_set {
    size_t n;
    uint64_t *v;
} allot_hash_set;

/** The set of n hashes (copied, sorted, deduplicated). */
allot_status allot_hash_set_make(const uint64_t *v, size_t n, allot_hash_set *out, allot_error *err);
/** The set as one string of 16 lowercase hex digits per hash, in order (malloc'd; NULL: no memory). */
char *allot_hash_set_hex(const allot_hash_set *s);
/** Parse allot_hash_set_hex's form (what names the field in errors). */
allot_status allot_hash_set_parse(const char *hex, const char *what, allot_hash_set *out, allot_error *err);
int allot_hash_set_has(const allot_hash_set *s, uint64_t h);
void allot_hash_set_free(allot_hash_set *s);

#endif
