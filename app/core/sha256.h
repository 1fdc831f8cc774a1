/* sha256: SHA-256 (FIPS 180-4), self-contained. Used for token hashes and
 * for long or unsafe cache keys. Pure. */
#ifndef TALLY_SHA256_H
#define TALLY_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256_ctx {
    uint32_t state[8];
    uint64_t bytes;              /* total length so far */
    uint8_t block[64];
    size_t block_len;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[32]);
void sha256(const void *data, size_t len, uint8_t out[32]);
/* HMAC-SHA256 (RFC 2104). */
void sha256_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[32]);
/* Lower-case hex digest, NUL-terminated. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
