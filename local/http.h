/* http: one request and one response as the local services see them,
 * with no socket or HTTP library behind them: the server fills a request
 * in, a service handler fills a response (or an error) out. */
#ifndef SM_HTTP_H
#define SM_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "checksum.h"

struct sm_store_blob;   /* store.h: a streamed body in a file */
struct sm_store_reader; /* store.h: a stored object's bytes */

/* A name and a value, owned by whatever holds the pair: one allocation,
 * at `name`, holds both. */
typedef struct sm_http_pair {
    char *name;
    char *value;
} sm_http_pair;

typedef struct sm_http_request {
    char *method;
    char *path;            /* as on the request line, still percent-encoded */
    char *query;           /* after the '?', as on the wire; "" when none */
    sm_http_pair *headers; /* as received, in order */
    size_t header_count;
    sm_http_pair *params; /* the query, decoded; "" for "?name" */
    size_t param_count;

    /* The body once it has arrived: in memory, or (for the routes that
     * stream) in a finished blob that a handler may take (steals). */
    const char *body;
    size_t body_len;
    struct sm_store_blob *blob;
    unsigned char body_md5[16]; /* of the decoded body, when streamed */
    int body_md5_known;
    /* The flexible checksum the body came with (header or trailer),
     * already verified against the bytes; NONE when it had none. */
    sm_checksum_algorithm checksum_algorithm;
    char checksum[SM_CHECKSUM_B64_MAX];

    /* Who signed it (filled by the server after verifying). */
    char service[32];
    char region[32];
    char access_key[64];
    char request_id[40];
    time_t now; /* the time the request arrived */
    int op;     /* the route's note from planning to handling */
} sm_http_request;

/* The error a handler or the server answers with: the protocol's code, a
 * message for the user, the HTTP status, and a few extra fields some
 * codes carry (S3's <Key>, <BucketName>, ...). */
#define SM_HTTP_ERROR_EXTRAS 4
typedef struct sm_http_error {
    int status; /* 0: no error */
    char code[64];
    char message[512];
    struct {
        char name[40];
        char value[2048];
    } extra[SM_HTTP_ERROR_EXTRAS];
    size_t extra_count;
} sm_http_error;

typedef struct sm_http_response {
    int status;
    sm_http_pair *headers; /* owned */
    size_t header_count;
    sm_buf body;
    /* Or the body is [offset, offset + length) of a stored object
     * (owned; closed with the response). HEAD sends its length only. */
    struct sm_store_reader *reader;
    uint64_t offset, length;
} sm_http_response;

/* ---- requests ----------------------------------------------------------- */

/* The first header named `name` (any case), or NULL. Borrowed. */
const char *sm_http_header(const sm_http_request *req, const char *name);

/* The first query parameter named `name` (exact case), or NULL. */
const char *sm_http_param(const sm_http_request *req, const char *name);

/* Split the request target ("/a/b?x=1&y") into req->path, req->query and
 * the decoded req->params. Returns 0, or -1 when out of memory. */
int sm_http_request_set_target(sm_http_request *req, const char *target);

/* Add one received header (copied). 0, or -1 when out of memory. */
int sm_http_request_add_header(sm_http_request *req, const char *name,
                               const char *value);

/* Free what `req` owns (not the body or blob, which the server owns) and
 * zero it. */
void sm_http_request_clear(sm_http_request *req);

/* ---- responses ---------------------------------------------------------- */

/* Add a response header (both copied). 0, or -1 when out of memory. */
int sm_http_response_header(sm_http_response *resp, const char *name,
                            const char *value);
int sm_http_response_headerf(sm_http_response *resp, const char *name,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value of response header `name` (any case), or NULL. Borrowed. */
const char *sm_http_response_get(const sm_http_response *resp,
                                 const char *name);

/* Free what `resp` holds and zero it. */
void sm_http_response_clear(sm_http_response *resp);

/* ---- errors ------------------------------------------------------------- */

/* Fill `err` unless it already holds an error (the first error wins).
 * Always returns -1, so a handler can `return sm_http_fail(...)`. */
int sm_http_fail(sm_http_error *err, int status, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Add an extra field to the error (ignored past SM_HTTP_ERROR_EXTRAS). */
void sm_http_error_extra(sm_http_error *err, const char *name, const char *fmt,
                         ...) __attribute__((format(printf, 3, 4)));

/* A new request id: 16 upper-case hex digits. */
void sm_http_request_id(char out[40]);

#endif
