/* zmtp_peer: a blocking ZMTP client for tests, the other end of the
 * kernel's sockets: connect and handshake as DEALER or REQ, send and
 * receive whole messages, with a timeout on every read. */
#ifndef SM_TEST_ZMTP_PEER_H
#define SM_TEST_ZMTP_PEER_H

#include "zmtp.h"

typedef struct zpeer {
    int fd;
    sm_zmtp_decoder dec;
    unsigned char buf[65536];
    size_t have, at;
} zpeer;

/* Append a peer's greeting (version `major`.1, `mechanism`) and its READY
 * with Socket-Type `type` and, when not NULL, Identity `identity`. */
void zpeer_put_handshake(sm_zmtp_buf *b, int major, const char *mechanism,
                         const char *type, const char *identity);

/* Connect to 127.0.0.1:`port` as `type` and wait for the other side's
 * READY. 0, or -1 (then nothing is left open). */
int zpeer_connect(zpeer *self, int port, const char *type,
                  const char *identity);

/* Send a message of `n` frames. 0 or -1. */
int zpeer_send(zpeer *self, const sm_frame *frames, size_t n);

/* Wait up to 5 s for the next message: 0 with *frames (valid until the
 * next call) and *n set, or -1. */
int zpeer_recv(zpeer *self, const sm_frame **frames, size_t *n);

void zpeer_close(zpeer *self);

#endif
