/* sha256.h - SHA-256 (FIPS 180-4), incremental: the curves content digest and the training-set hashes
 * of a bundle's provenance (identity.h). allot_learn_file_sha256 (learn.h) hashes a file. */
#ifndef ALLOT_LEARN_SHA256_H
#define ALLOT_LEARN_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct allot_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t fill;
} allot_sha256;

void allot_sha256_init(allot_sha256 *c);
void allot_sha256_update(allot_sha256 *c, const void *p, size_t n);
/** The 32-byte digest (c is spent). */
void allot_sha256_final(allot_sha256 *c, unsigned char out[32]);
/** 64 lowercase hex digits + NUL. */
void allot_sha256_hex(const unsigned char digest[32], char hex[65]);
/** The first 8 bytes of SHA-256(p[0..n)) as a big-endian 64-bit number. */
uint64_t allot_sha256_u64(const void *p, size_t n);

#endif
