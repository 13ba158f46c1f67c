/* s3_private: what s3.c and s3_transfer.c share; not for other modules. */
#ifndef SM_S3_PRIVATE_H
#define SM_S3_PRIVATE_H

#include <stddef.h>

#include "aws.h"
#include "s3.h"
#include "xml.h"

/* Fill `err` for a failure found here, not by S3 (http_status 0), unless
 * it already holds one. Always returns -1. */
int sm_s3_fail(sm_aws_error *err, const char *operation, const char *code,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Copy `from` into `to` unless `to` already holds an error. */
void sm_s3_error_keep(sm_aws_error *to, const sm_aws_error *from);

/* When `root` is an <Error> document (S3 sends one with 200 from
 * CompleteMultipartUpload), fill `err` from it and return -1; else 0. */
int sm_s3_xml_error(const sm_xml_node *root, const char *operation, long status,
                    sm_aws_error *err);

/* Parse a response body as XML for `operation`; NULL with `err` set. */
sm_xml_node *sm_s3_parse_body(const sm_aws_response *resp,
                              const char *operation, sm_aws_error *err);

/* Digests: MD5 as base64 (Content-MD5) and as hex, SHA-256 as hex. */
typedef struct sm_s3_digest {
    unsigned char md5[16];
    char md5_base64[25];
    char md5_hex[33];
    char sha256_hex[65];
} sm_s3_digest;

/* Digest of `len` bytes in memory (data may be NULL when len is 0).
 * Always 0: it cannot fail, and reads like sm_s3_digest_file. */
int sm_s3_digest_bytes(const void *data, size_t len, sm_s3_digest *out);

/* Digest of the bytes [offset, offset + len) of the open file `fd`,
 * read with pread (safe from several threads on one descriptor). */
int sm_s3_digest_file(int fd, uint64_t offset, uint64_t len, sm_s3_digest *out);

/* Nonzero when `etag` (quotes allowed) is a plain MD5, i.e. 32 hex
 * digits; then it is copied without quotes, lower-cased, into hex[33]. */
int sm_s3_etag_md5(const char *etag, char hex[33]);

/* Zero when the response says the object is encrypted with KMS or a
 * customer key, so that its ETag is not the MD5 of its bytes. */
int sm_s3_etag_checkable(const sm_aws_response *resp);

/* Fill `out` from HeadObject or GetObject response headers. */
void sm_s3_head_from_response(const sm_aws_response *resp, sm_s3_head *out);

#endif
