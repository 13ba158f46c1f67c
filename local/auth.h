/* auth: who signed a request and whether the signature holds. Reads the
 * Authorization header or a presigned query, checks the access key and
 * the clock, recomputes the signature with sm_sigv4_verify, and names
 * every failure with the code and status the service's protocol uses
 * (S3's SignatureDoesNotMatch, the JSON services' InvalidSignatureException,
 * STS's SignatureDoesNotMatch in an ErrorResponse, ...). */
#ifndef SM_AUTH_H
#define SM_AUTH_H

#include <time.h>

#include "http.h"

#define SM_AUTH_MAX_SKEW 900 /* seconds: AWS's 15 minutes */

/* How a service words its errors. */
typedef enum sm_auth_protocol {
    SM_AUTH_S3,    /* REST-XML: <Error><Code>, 403 for most auth errors */
    SM_AUTH_QUERY, /* STS: <ErrorResponse><Error><Type><Code> */
    SM_AUTH_JSON,  /* SageMaker, Logs, Runtime: {"__type", "message"} */
} sm_auth_protocol;

/* The ways a request's authentication fails. */
typedef enum sm_auth_failure {
    SM_AUTH_OK = 0,
    SM_AUTH_MISSING,       /* not signed at all */
    SM_AUTH_MALFORMED,     /* an Authorization header or query we can't read */
    SM_AUTH_UNSUPPORTED,   /* signed, but not with AWS4-HMAC-SHA256 */
    SM_AUTH_NO_DATE,       /* no X-Amz-Date */
    SM_AUTH_UNKNOWN_KEY,   /* an access key that is not ours */
    SM_AUTH_BAD_SIGNATURE, /* the signature does not match */
    SM_AUTH_SKEWED,        /* X-Amz-Date more than 15 minutes off */
    SM_AUTH_EXPIRED,       /* a presigned request past X-Amz-Expires */
    SM_AUTH_HASH_MISSING,  /* S3 without x-amz-content-sha256 */
    SM_AUTH_HASH_INVALID,  /* an x-amz-content-sha256 S3 does not take */
    SM_AUTH_HASH_MISMATCH, /* the body's SHA-256 is not the one signed */
    SM_AUTH_FAILURE_COUNT,
} sm_auth_failure;

/* What the request says about its signature. */
typedef struct sm_auth_info {
    int presigned;
    int v2; /* an S3 query signed with Signature Version 2 (AWSAccessKeyId,
             * Expires, Signature), as boto3 presigns URLs by default */
    char access_key[64];
    char date[9]; /* of the credential scope */
    char region[32];
    char service[32];
    char scope[128]; /* date/region/service/aws4_request */
    char signed_headers[1024];
    char signature[65];
    char amz_date[17];
    time_t time;  /* X-Amz-Date */
    long expires; /* presigned: X-Amz-Expires (v2: when, in epoch seconds) */
} sm_auth_info;

/* The service's one key pair and its clock. All borrowed. */
typedef struct sm_auth_keys {
    const char *access_key;
    const char *secret_key;
} sm_auth_keys;

/* Read the request's signature into `out`. 0, or -1 with `err` filled
 * in `protocol`'s words (the server guesses the protocol for a request
 * whose credential scope it can't read). */
int sm_auth_parse(const sm_http_request *req, sm_auth_protocol protocol,
                  sm_auth_info *out, sm_http_error *err);

/* The access key is ours and the request's time is within 15 minutes of
 * `now` (a presigned one: not expired). 0, or -1 with `err`. */
int sm_auth_check(const sm_auth_keys *keys, const sm_auth_info *info,
                  time_t now, sm_auth_protocol protocol, sm_http_error *err);

/* Recompute the signature over `req` (its headers, path and query as on
 * the wire) with `payload_hash` (borrowed: hex SHA-256, UNSIGNED-PAYLOAD
 * or a STREAMING-* value; not used by v2) and compare. 0, or -1 with
 * `err`. */
int sm_auth_verify(const sm_auth_keys *keys, const sm_http_request *req,
                   const sm_auth_info *info, const char *payload_hash,
                   sm_auth_protocol protocol, sm_http_error *err);

/* Fill `err` for `failure` in `protocol`'s words; `detail` (may be NULL)
 * is added to the message. Returns -1. */
int sm_auth_fail(sm_auth_protocol protocol, sm_auth_failure failure,
                 const char *detail, sm_http_error *err);

/* The SigV4 signing key for the request's scope, for chunk signatures;
 * wipe it after use. 0, or -1 when HMAC failed. */
int sm_auth_signing_key(const sm_auth_keys *keys, const sm_auth_info *info,
                        unsigned char key[32]);

/* The signature of one aws-chunked chunk (`chunk_sha256`: hex of its
 * data), chained from `previous` (the request's signature for the first
 * chunk); and of the trailer (`trailer_sha256`: hex of its lines). */
int sm_auth_chunk_signature(const unsigned char key[32],
                            const sm_auth_info *info, const char *previous,
                            const char *chunk_sha256, char out[65]);
int sm_auth_trailer_signature(const unsigned char key[32],
                              const sm_auth_info *info, const char *previous,
                              const char *trailer_sha256, char out[65]);

/* Nonzero when `value` is a payload hash S3 takes: 64 lower-case hex
 * digits, UNSIGNED-PAYLOAD or a STREAMING-* value. */
int sm_auth_payload_hash_valid(const char *value);

#endif
