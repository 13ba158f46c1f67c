/* sigv4: AWS Signature Version 4 for one request, as an Authorization header
 * or a presigned query, and the same computation to verify a received one.
 * No I/O, no clock; thread-safe. Its one piece of global state is a small
 * locked cache of derived signing keys (never a secret key). */
#ifndef SM_SIGV4_H
#define SM_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "error.h"

#define SM_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SM_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SM_SIGV4_EMPTY_SHA256                                                  \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SM_SIGV4_MAX_EXPIRES 604800 /* seven days, AWS's limit */

/* One header as sent or received; both strings borrowed. Names may repeat
 * and match without regard to case; values may carry runs of whitespace
 * and folded lines ("a\n  b"), which signing collapses to one space. */
typedef struct sm_sigv4_header {
    const char *name;
    const char *value;
} sm_sigv4_header;

/* Borrowed. The secret key is never copied; the session token is copied
 * into the result (header or query), which wipes it when cleared. */
typedef struct sm_sigv4_credentials {
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* NULL or "" for long-term keys */
} sm_sigv4_credentials;

typedef struct sm_sigv4_options {
    int normalize_path;      /* drop "." "..", and empty segments (not S3) */
    int double_encode_path;  /* encode the wire path once more (not S3) */
    int sign_content_sha256; /* header form: add, sign x-amz-content-sha256 */
    int omit_session_token;  /* send the token but leave it out of the
                              * signature (the suite's omit_session_token) */
    long expires;            /* query form: X-Amz-Expires, in seconds */
} sm_sigv4_options;

/* The request to sign or verify. Every pointer is borrowed. */
typedef struct sm_sigv4_request {
    const char *method;
    const char *path;  /* as on the request line, before any '?': already
                        * percent-encoded for the wire (S3 keys with
                        * sm_uri_encode(key, len, 1)); raw bytes allowed */
    const char *query; /* after the '?', as on the wire; NULL or "". Names
                        * and values are decoded and encoded again strictly,
                        * so raw UTF-8 and %-escapes sign alike; "name"
                        * signs as "name=", empty pieces ("&&") not at all */
    const sm_sigv4_header *headers; /* must include Host */
    size_t header_count;
    const void *body; /* hashed when payload_hash is NULL */
    size_t body_len;
    const char *payload_hash; /* NULL, or used as given: a lower-case hex
                               * SHA-256, SM_SIGV4_UNSIGNED_PAYLOAD, or a
                               * STREAMING-* marker */
    const char *region;
    const char *service; /* "s3", "sagemaker", "logs", "sts", ... */
    sm_sigv4_credentials credentials;
    time_t time; /* the signing time (a seam: tests pin it) */
    sm_sigv4_options options;
} sm_sigv4_request;

/* What signing produced. Every pointer is owned by the result (all point
 * into one block) and freed (and wiped: the query can carry the session
 * token) by sm_sigv4_result_clear. */
typedef struct sm_sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char signature[65];  /* lower-case hex */
    char amz_date[17];   /* 20150830T123600Z */
    char *payload_hash;  /* the canonical request's last line */
    char *authorization; /* header form: the Authorization value */
    char *query;         /* query form: the query to send (the original one,
                          * then the X-Amz-* parameters) */
    char *session_token; /* header form: X-Amz-Security-Token to send */
    int content_sha256;  /* header form: x-amz-content-sha256 is sent */
    char *text;          /* private: every string above lives in it */
    size_t text_size;
} sm_sigv4_result;

/* Defaults for `service`: S3 neither normalises nor double-encodes the path
 * and signs x-amz-content-sha256; every other service does the opposite.
 * expires is 3600, omit_session_token 0. */
sm_sigv4_options sm_sigv4_options_for(const char *service);

/* Every function taking `err` sets it the way sm_error_set says (the first
 * error wins), so pass one that holds no message yet. */

/* Sign `req` (borrowed) for an Authorization header. Headers named
 * Authorization and X-Amz-Date (and X-Amz-Security-Token when the
 * credentials carry one, x-amz-content-sha256 when that option is set) are
 * replaced, not signed twice; hop-by-hop headers, User-Agent, Expect and
 * tracing headers are never signed. Fills `out` (new strings; clear it
 * even on failure) and returns 0, or -1 with `err` set. */
int sm_sigv4_sign(const sm_sigv4_request *req, sm_sigv4_result *out,
                  sm_error *err);

/* Presign `req` (borrowed): the X-Amz-* parameters go into the query, which
 * `out->query` holds, and no header is added. The payload is what
 * payload_hash says, else the body's hash (presigned S3 URLs pass
 * SM_SIGV4_UNSIGNED_PAYLOAD). Same ownership and errors as sm_sigv4_sign. */
int sm_sigv4_presign(const sm_sigv4_request *req, sm_sigv4_result *out,
                     sm_error *err);

/* Recompute the signature of a request as it was received (for a server):
 * nothing is added or replaced, only the headers named in `signed_headers`
 * (borrowed, "host;x-amz-date" as in the Authorization header) are signed,
 * and the query's X-Amz-Signature parameter (and X-Amz-Security-Token, with
 * omit_session_token) is left out of the canonical query. `req->time` is
 * the request's X-Amz-Date and payload_hash its x-amz-content-sha256, if
 * it has one. Fills `out` in any case and returns 0 when `signature`
 * (borrowed hex) matches in constant time; -1 with `err` set otherwise. */
int sm_sigv4_verify(const sm_sigv4_request *req, const char *signed_headers,
                    const char *signature, sm_sigv4_result *out, sm_error *err);

/* The headers the header form adds to the request, in the order the
 * suite writes them: X-Amz-Security-Token (with a token), X-Amz-Date,
 * x-amz-content-sha256 (when signed), Authorization. Fills `out` with
 * strings borrowed from `self` and returns how many (0 after presigning). */
size_t sm_sigv4_result_headers(const sm_sigv4_result *self,
                               sm_sigv4_header out[4]);

/* Free and wipe what `self` holds and zero it; safe on a zeroed result. */
void sm_sigv4_result_clear(sm_sigv4_result *self);

/* Wipe and forget every cached signing key (kSigning per access key,
 * date, region and service). Signing works the same without them. */
void sm_sigv4_key_cache_clear(void);

/* Write `t` as 20150830T123600Z into `out`. Returns 0, or -1 when `t` is
 * before 1970 or after 9999. */
int sm_sigv4_format_time(time_t t, char out[17]);

/* Read an X-Amz-Date (20150830T123600Z) or ISO 8601 UTC time
 * (2015-08-30T12:36:00Z) from `s` (borrowed) into *out. Returns 0, or -1
 * with `err` set when `s` is neither. */
int sm_sigv4_parse_time(const char *s, time_t *out, sm_error *err);

#endif
