/* transport: one HTTP exchange over libcurl, with connections, DNS and TLS
 * sessions shared by every request of one sm_transport and safe to use from
 * several threads at once. Knows nothing of AWS. */
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
    long connect_timeout_ms;   /* 0: 10 s */
    long read_timeout_ms;      /* no byte either way for this long ends
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
    sm_buf body; /* empty when a 2xx went to response_file */
} sm_transport_response;

/* How an exchange ended. */
typedef enum sm_transport_result {
    SM_TRANSPORT_OK = 0,   /* a response arrived (any status) */
    SM_TRANSPORT_ECONNECT, /* no connection, or it broke: worth retrying */
    SM_TRANSPORT_ETIMEOUT, /* connect or read timeout: worth retrying */
    SM_TRANSPORT_EFATAL,   /* TLS verification, a bad URL, a local file */
} sm_transport_result;

/* New client for up to `max_connections` (0: 8) parallel requests. NULL
 * with `err` set when libcurl cannot start. */
sm_transport *sm_transport_new(int max_connections, sm_error *err);
void sm_transport_destroy(sm_transport **self);

/* Send `req` and fill `resp` (cleared first). Returns how it ended; for
 * anything but SM_TRANSPORT_OK `err` says what happened in one sentence and
 * `resp` is empty. TLS peers are always verified (AWS_CA_BUNDLE names
 * another CA file). Thread-safe. */
sm_transport_result sm_transport_send(sm_transport *self,
                                      const sm_transport_request *req,
                                      sm_transport_response *resp,
                                      sm_error *err);

/* Value of header `name` (any case) in `resp`, or NULL. Borrowed. */
const char *sm_transport_response_header(const sm_transport_response *resp,
                                         const char *name);

void sm_transport_response_clear(sm_transport_response *resp);

#endif
