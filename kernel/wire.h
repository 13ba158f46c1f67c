/* wire: Jupyter messages as frames: HMAC signing, verification before parsing,
 * replay guard, and the header fields every message carries. No sockets. */
#ifndef SM_WIRE_H
#define SM_WIRE_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

#define SM_WIRE_DELIMITER "<IDS|MSG>"
#define SM_WIRE_PROTOCOL_VERSION "5.5"
#define SM_WIRE_MAX_IDENTS 16

typedef struct sm_wire_auth sm_wire_auth;

/* One frame: borrowed bytes. */
typedef struct sm_frame {
    const void *data;
    size_t size;
} sm_frame;

/* A decoded message. Every pointer is owned by the message. */
typedef struct sm_wire_msg {
    sm_frame idents[SM_WIRE_MAX_IDENTS]; /* copies of the routing prefix */
    size_t n_idents;
    json_t *header, *parent, *metadata, *content;
    const char *msg_type; /* borrowed from header */
    const char *msg_id;   /* borrowed from header */
} sm_wire_msg;

/* Frames to send; the buffers are owned by the list. */
typedef struct sm_wire_out {
    sm_frame frames[SM_WIRE_MAX_IDENTS + 6];
    size_t count;
} sm_wire_out;

/* New authenticator for `scheme` ("hmac-sha256" and the other hmac-<hash>
 * names OpenSSL knows, or "" / "none") and `key` (raw bytes; an empty key
 * turns authentication off). The key is copied and wiped on destroy.
 * NULL with `err` set for an unknown scheme. */
sm_wire_auth *sm_wire_auth_new(const char *scheme, const char *key,
                               size_t key_len, sm_error *err);
void sm_wire_auth_destroy(sm_wire_auth **self);

/* Decode `frames[0..n)`: split off identities at the delimiter, verify the
 * signature in constant time before any JSON is parsed, reject a replayed
 * signature, then parse the four JSON parts. On success fills `out` (which
 * the caller clears with sm_wire_msg_clear) and returns 0. On failure returns
 * -1 with `err` saying why; `out` is left empty. Thread-safe. */
int sm_wire_decode(sm_wire_auth *self, const sm_frame *frames, size_t n,
                   sm_wire_msg *out, sm_error *err);

/* Free what a decoded message owns and empty it. */
void sm_wire_msg_clear(sm_wire_msg *msg);

/* Encode a message: identities (borrowed, copied), delimiter, signature and
 * the four JSON parts (borrowed; NULL parent or metadata means {}). Fills
 * `out`, released with sm_wire_out_clear. Thread-safe. Returns 0, or -1 when
 * a part cannot be serialised. */
int sm_wire_encode(sm_wire_auth *self, const sm_frame *idents,
                   size_t n_idents, const json_t *header, const json_t *parent,
                   const json_t *metadata, const json_t *content,
                   sm_wire_out *out);
void sm_wire_out_clear(sm_wire_out *out);

/* New header object: a fresh msg_id, `session`, the username, the current
 * time in ISO 8601 UTC with microseconds, `msg_type` and the protocol
 * version. */
json_t *sm_wire_header_new(const char *session, const char *msg_type);

/* Write a new random UUID (36 characters + NUL) into `buf`. */
void sm_wire_uuid(char buf[37]);

/* Format `sec`.`usec` as 2024-01-02T03:04:05.000006Z into buf (>= 32). */
void sm_wire_iso8601(char *buf, size_t size, long long sec, long usec);

#endif
