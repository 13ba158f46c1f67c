/* sha256: the SHA-256 digest of FIPS 180-4 and HMAC-SHA256 (RFC 2104) on
 * top of it, using the x86 SHA extensions when the CPU has them. Plain
 * data, no allocation, no globals but the test hook; thread-safe. */
#ifndef SM_SHA256_H
#define SM_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SM_SHA256_SIZE 32
#define SM_SHA256_BLOCK 64

/* A digest in progress. Plain data: copy it to fork a computation. */
typedef struct sm_sha256 {
    uint32_t state[8];
    uint64_t length; /* bytes hashed so far */
    unsigned char block[SM_SHA256_BLOCK];
    size_t block_len; /* bytes waiting in `block` */
} sm_sha256;

/* Start `self` afresh. */
void sm_sha256_init(sm_sha256 *self);

/* Hash `len` bytes of `data` (borrowed; may be NULL when len is 0). */
void sm_sha256_update(sm_sha256 *self, const void *data, size_t len);

/* Pad, and write the digest into `out`. `self` is spent (its buffered
 * bytes are wiped): start it again with sm_sha256_init. */
void sm_sha256_final(sm_sha256 *self, unsigned char out[SM_SHA256_SIZE]);

/* The digest of `len` bytes of `data` in one call. */
void sm_sha256_digest(const void *data, size_t len,
                      unsigned char out[SM_SHA256_SIZE]);

/* An HMAC-SHA256 in progress: the inner and outer states after their key
 * block, so a keyed one can be copied and reused without the key. The
 * states are as good as the key: wipe them with sm_hmac_sha256_wipe. */
typedef struct sm_hmac_sha256 {
    sm_sha256 inner, outer;
} sm_hmac_sha256;

/* Key `self` with `len` bytes of `key` (borrowed; hashed first when longer
 * than a block, as RFC 2104 says). Nothing of the key stays but the two
 * states. */
void sm_hmac_sha256_init(sm_hmac_sha256 *self, const void *key, size_t len);

/* Authenticate `len` more bytes of `data` (borrowed). */
void sm_hmac_sha256_update(sm_hmac_sha256 *self, const void *data, size_t len);

/* Write the MAC into `out` and wipe `self`, which is spent. */
void sm_hmac_sha256_final(sm_hmac_sha256 *self,
                          unsigned char out[SM_SHA256_SIZE]);

/* The MAC of `data` under `key` in one call; nothing keyed is left. */
void sm_hmac_sha256_mac(const void *key, size_t key_len, const void *data,
                        size_t len, unsigned char out[SM_SHA256_SIZE]);

/* Zero `self` in a way the compiler keeps. */
void sm_hmac_sha256_wipe(sm_hmac_sha256 *self);

/* Test hook: nonzero makes every digest take the portable code even on a
 * CPU with the SHA extensions; returns whether those are in use now. */
int sm_sha256_force_portable(int on);

#endif
