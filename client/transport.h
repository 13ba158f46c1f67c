/* transport: one HTTP exchange over libcurl, with connections, DNS and TLS
 * sessions shared by every request of one sm_transport and safe to use from
 * several threads at once. Knows nothing of AWS. libcurl is loaded with
 * dlopen on the first exchange of the process, not when it starts:
 * SAGEMAGIC_LIBCURL names another library than libcurl.so.4. */
#ifndef SM_TRANSPORT_H
#define SM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

typedef struct sm_transport sm_transport;

/* A request header; both strings borrowed. */
typedef struct sm_transport_header {
    const char *name, *value;
} sm_transport_header;

/* One request. Every pointer is borrowed. */
typedef struct sm_transport_request {
    const char *method; /* "GET", "PUT", "POST", "HEAD", "DELETE" */
    const char *url;    /* complete, already encoded */
    const sm_transport_header *headers;
    size_t header_count;
    const void *body; /* or body_file; NULL and 0 for none */
    size_t body_len;
    const char *body_file; /* send bytes [body_offset, +body_len) of it */
    uint64_t body_offset;
    const char *response_file; /* a 2xx body goes here: written to a
                                * temporary file in the same directory and
                                * renamed over it only when complete */
    int response_fd;           /* > 0 (and no response_file): a 2xx body is
                                * written into this open file from
                                * response_offset on, with pwrite; after a
                                * failure those bytes are undefined. 0:
                                * none (descriptor 0 is standard input) */
    uint64_t response_offset;
    uint64_t response_max; /* with response_fd: a longer 2xx body fails the
                            * exchange before a byte past it is written;
                            * 0: no limit */
    /* Called as bytes move, and about once a second while none do, with
     * the body bytes sent and received so far in this exchange (on the
     * thread that called sm_transport_send). Nonzero ends the exchange at
     * once with SM_TRANSPORT_EINTERRUPTED. NULL: none. */
    int (*progress)(void *ctx, uint64_t sent, uint64_t received);
    void *progress_ctx;
    long connect_timeout_ms; /* 0: 10 s */
    long read_timeout_ms;    /* no byte either way for this long ends
                              * the exchange; 0: 70 s */
} sm_transport_request;

/* A response header: both strings owned, the name in lower case. */
typedef struct sm_transport_field {
    char *name, *value;
} sm_transport_field;

/* What came back. Owned; free with sm_transport_response_clear. */
typedef struct sm_transport_response {
    long status;
    sm_transport_field *headers;
    size_t header_count;
    sm_buf body; /* empty when a 2xx went to response_file or response_fd */
    uint64_t body_written; /* bytes of a 2xx body written to either */
} sm_transport_response;

/* How an exchange ended. */
typedef enum sm_transport_result {
    SM_TRANSPORT_OK = 0,       /* a response arrived (any status) */
    SM_TRANSPORT_ECONNECT,     /* no connection, or it broke: worth retrying */
    SM_TRANSPORT_ETIMEOUT,     /* connect or read timeout: worth retrying */
    SM_TRANSPORT_EFATAL,       /* TLS verification, a bad URL, a local file,
                                * libcurl that cannot be loaded */
    SM_TRANSPORT_EINTERRUPTED, /* the progress callback said stop */
} sm_transport_result;

/* New client for up to `max_connections` (0: 8) parallel requests. Does
 * not load libcurl yet. NULL with `err` set when out of memory. */
sm_transport *sm_transport_new(int max_connections, sm_error *err);
void sm_transport_destroy(sm_transport **self);

/* Send `req` and fill `resp` (cleared first). Returns how it ended; for
 * anything but SM_TRANSPORT_OK `err` says what happened in one sentence and
 * `resp` is empty. The URL's path goes out as it is ("/./" and "/../"
 * included: a signed S3 key must not change). TLS peers are always
 * verified (AWS_CA_BUNDLE names another CA file). The first call loads
 * libcurl; when that fails, every call returns SM_TRANSPORT_EFATAL with
 * "cannot load libcurl (libcurl4): <why>". Thread-safe. */
sm_transport_result sm_transport_send(sm_transport *self,
                                      const sm_transport_request *req,
                                      sm_transport_response *resp,
                                      sm_error *err);

/* Value of header `name` (any case) in `resp`, or NULL. Borrowed. */
const char *sm_transport_response_header(const sm_transport_response *resp,
                                         const char *name);

void sm_transport_response_clear(sm_transport_response *resp);

#endif
