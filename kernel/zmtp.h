/* zmtp: ZMTP 3.0 with the NULL mechanism (rfc.zeromq.org 23/ZMTP), no
 * sockets: our greeting and READY, frames to send, and a decoder fed
 * whatever bytes arrive that yields the peer's READY, its commands and its
 * whole messages. */
#ifndef SM_ZMTP_H
#define SM_ZMTP_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define SM_ZMTP_GREETING_SIZE 64
#define SM_ZMTP_MAX_MESSAGE ((uint64_t)256 << 20) /* bytes of one message */
#define SM_ZMTP_MAX_FRAMES 4096                   /* frames of one message */
#define SM_ZMTP_MAX_COMMAND 65536                 /* bytes of one command */
#define SM_ZMTP_MAX_IDENTITY 255

/* Frame flags. */
#define SM_ZMTP_FLAG_MORE 0x01
#define SM_ZMTP_FLAG_LONG 0x02
#define SM_ZMTP_FLAG_COMMAND 0x04

/* A growable byte buffer; `head` bytes at the front were already used. */
typedef struct sm_zmtp_buf {
    unsigned char *data;
    size_t head, len, cap;
} sm_zmtp_buf;

/* Append bytes. 0, or -1 when out of memory (the buffer is unchanged). */
int sm_zmtp_buf_append(sm_zmtp_buf *self, const void *data, size_t n);
/* Drop the first `n` unused bytes; an emptied buffer gives back a large
 * allocation so a big message leaves no resident memory behind. */
void sm_zmtp_buf_consume(sm_zmtp_buf *self, size_t n);
void sm_zmtp_buf_free(sm_zmtp_buf *self);

/* Append our greeting (version 3.0, NULL, not as-server) and our READY
 * with Socket-Type `socket_type` (and an empty Identity for a ROUTER). */
int sm_zmtp_put_handshake(sm_zmtp_buf *out, const char *socket_type);

/* Append one frame of `size` bytes with `flags` (MORE, COMMAND). */
int sm_zmtp_put_frame(sm_zmtp_buf *out, const void *data, size_t size,
                      int flags);

/* Bytes a frame of `size` takes on the wire. */
size_t sm_zmtp_frame_size(size_t size);

/* Append a PONG answering a PING whose body (after the name) is `ping`. */
int sm_zmtp_put_pong(sm_zmtp_buf *out, const unsigned char *ping, size_t len);

/* 1 when a peer of type `peer` may talk to our `ours` (ZMTP's table). */
int sm_zmtp_compatible(const char *ours, const char *peer);

typedef enum sm_zmtp_event {
    SM_ZMTP_NEED_MORE, /* everything given was consumed */
    SM_ZMTP_READY,     /* the peer's READY: peer_type and identity are set */
    SM_ZMTP_COMMAND,   /* another command: command and body are set */
    SM_ZMTP_MESSAGE,   /* a whole message: frames 1..n_frames of `parts` */
    SM_ZMTP_DROPPED,   /* a message over the limits was skipped: see error */
    SM_ZMTP_ERROR,     /* the stream is unusable: see error; close it */
} sm_zmtp_event;

/* Decoder state of one connection. The fields after the comment "results"
 * are what the last event reported; they stay valid until the next call. */
typedef struct sm_zmtp_decoder {
    const char *our_type;
    uint64_t max_message; /* SM_ZMTP_MAX_MESSAGE unless lowered after init */
    int state, flags, ready, discard;
    unsigned char greeting[SM_ZMTP_GREETING_SIZE];
    unsigned char head[9];
    size_t have, need;   /* bytes of greeting or head so far / wanted */
    uint64_t size, done; /* the current frame's size and bytes read */
    unsigned char *body; /* the current frame's bytes */
    size_t body_cap;
    uint64_t total; /* bytes of the message so far */
    size_t n_frames, frames_cap;
    /* results */
    sm_frame *parts; /* parts[0] is left for a routing id; data is owned */
    char peer_type[32];
    unsigned char identity[SM_ZMTP_MAX_IDENTITY];
    size_t identity_len;
    char command[256];
    const unsigned char *cmd_body;
    size_t cmd_len;
    char error[160];
} sm_zmtp_decoder;

/* Start decoding a connection of our socket type `our_type` (a static
 * string such as "ROUTER"). */
void sm_zmtp_decoder_init(sm_zmtp_decoder *self, const char *our_type);

/* Consume bytes from `data[0..len)` until one event happens; returns how
 * many were consumed and sets *event. Call again with the rest. After
 * SM_ZMTP_ERROR nothing more is decoded. */
size_t sm_zmtp_decode(sm_zmtp_decoder *self, const unsigned char *data,
                      size_t len, sm_zmtp_event *event);

/* Free everything the decoder holds. */
void sm_zmtp_decoder_clear(sm_zmtp_decoder *self);

#endif
