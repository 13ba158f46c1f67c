/* checksum: the flexible checksums S3 clients send with a body
 * (x-amz-checksum-crc32, -crc32c, -sha1, -sha256), computed as the bytes
 * stream past and written in base64 as S3 writes them. */
#ifndef SM_CHECKSUM_H
#define SM_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

typedef enum sm_checksum_algorithm {
    SM_CHECKSUM_NONE = 0,
    SM_CHECKSUM_CRC32,
    SM_CHECKSUM_CRC32C,
    SM_CHECKSUM_SHA1,
    SM_CHECKSUM_SHA256,
} sm_checksum_algorithm;

#define SM_CHECKSUM_B64_MAX 48 /* base64 of a SHA-256 and its NUL */

typedef struct sm_checksum sm_checksum;

/* The algorithm S3 names `name` ("CRC32", any case), or NONE. */
sm_checksum_algorithm sm_checksum_from_name(const char *name);

/* The algorithm a header names ("x-amz-checksum-crc32", any case), or
 * NONE for any other header. */
sm_checksum_algorithm sm_checksum_from_header(const char *header);

/* "CRC32" and "x-amz-checksum-crc32" for `alg` (static); NULL for NONE. */
const char *sm_checksum_name(sm_checksum_algorithm alg);
const char *sm_checksum_header(sm_checksum_algorithm alg);

/* New running checksum, or NULL for NONE or when out of memory. */
sm_checksum *sm_checksum_new(sm_checksum_algorithm alg);
sm_checksum_algorithm sm_checksum_algorithm_of(const sm_checksum *self);
void sm_checksum_update(sm_checksum *self, const void *data, size_t len);

/* The base64 value of everything seen so far into `out`. Returns 0, or
 * -1 when the digest failed. */
int sm_checksum_final(sm_checksum *self, char out[SM_CHECKSUM_B64_MAX]);
void sm_checksum_destroy(sm_checksum **self);

#endif
