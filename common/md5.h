/* md5: the MD5 message digest of RFC 1321, for S3's Content-MD5 and ETag
 * checks only (MD5 is no protection against anyone choosing the bytes). */
#ifndef SM_MD5_H
#define SM_MD5_H

#include <stddef.h>
#include <stdint.h>

#define SM_MD5_SIZE 16

/* floor(2^32 * abs(sin(i + 1))), RFC 1321 section 3.4: the constant each
 * of the 64 steps adds. */
extern const uint32_t sm_md5_sines[64];

/* A digest in progress. Plain data: copy it to fork a computation. */
typedef struct sm_md5 {
    uint32_t state[4]; /* A, B, C, D */
    uint64_t length;   /* bytes hashed so far */
    unsigned char block[64];
    size_t block_len; /* bytes waiting in `block` */
} sm_md5;

/* Start `self` afresh. */
void sm_md5_init(sm_md5 *self);

/* Hash `len` bytes of `data` (borrowed; may be NULL when len is 0). */
void sm_md5_update(sm_md5 *self, const void *data, size_t len);

/* Pad, and write the 16-byte digest into `out`. `self` is spent: start it
 * again with sm_md5_init before another use. */
void sm_md5_final(sm_md5 *self, unsigned char out[SM_MD5_SIZE]);

/* The digest of `len` bytes of `data` in one call. */
void sm_md5_digest(const void *data, size_t len,
                   unsigned char out[SM_MD5_SIZE]);

#endif
