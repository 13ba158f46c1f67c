/* zsock: one listening ZMTP socket (tcp or ipc) and the peers connected to
 * it, with the ROUTER, REP and XPUB behaviour a Jupyter kernel needs. One
 * I/O thread accepts, reads and flushes through the poll functions; any
 * thread may send. A slow peer never blocks a sender: its queue is bounded
 * and messages beyond it are dropped, as libzmq does at its high-water mark. */
#ifndef SM_ZSOCK_H
#define SM_ZSOCK_H

#include <poll.h>
#include <stddef.h>

#include "error.h"
#include "wire.h"

typedef enum sm_zsock_type {
    SM_ZSOCK_ROUTER, /* peers are DEALER, REQ or ROUTER; routed by id */
    SM_ZSOCK_REP,    /* peers are REQ or DEALER; replies routed by id */
    SM_ZSOCK_XPUB,   /* peers are SUB or XSUB; fan-out by topic prefix */
} sm_zsock_type;

typedef struct sm_zsock sm_zsock;

/* Connections one socket keeps at once; the kernel's five stay well inside
 * the usual limit of 1,024 open files. */
#define SM_ZSOCK_MAX_PEERS 128

/* Called on the I/O thread for each message; `frames` are borrowed for the
 * call. ROUTER and REP: frames[0] is the sending peer's routing id, then
 * its frames. XPUB: one frame, a subscription (first byte 1) or an
 * unsubscription (first byte 0). The handler may send on any socket. */
typedef void (*sm_zsock_handler)(void *ctx, sm_zsock *sock,
                                 const sm_frame *frames, size_t n);

typedef struct sm_zsock_config {
    sm_zsock_type type;
    const char *name; /* for log lines: "shell", "iopub"... (static) */
    size_t hwm;       /* bytes queued for one peer before dropping */
    int wake_fd;      /* written when output waits for the I/O thread */
    sm_zsock_handler handler;
    void *ctx;
} sm_zsock_config;

/* New socket listening on tcp ip:port or on the unix socket "ip-port"
 * (ipc). TCP sets SO_REUSEADDR, so a restarted kernel binds its ports at
 * once. NULL with `err` set when the address cannot be bound. */
sm_zsock *sm_zsock_bind(const sm_zsock_config *config, const char *transport,
                        const char *ip, int port, sm_error *err);

/* I/O thread: drop peers that are gone or stuck in their handshake, then
 * fill up to `max` entries of `fds` (the listener first, then each peer)
 * and return how many. */
size_t sm_zsock_poll_fill(sm_zsock *self, struct pollfd *fds, size_t max);

/* I/O thread: act on the revents of the entries poll_fill returned. */
void sm_zsock_poll_handle(sm_zsock *self, const struct pollfd *fds, size_t n);

/* Any thread: send a message of `n` frames. ROUTER and REP: frames[0] is
 * the routing id, the rest go to that peer (none when it is unknown).
 * XPUB: to every peer with a subscription that prefixes frames[0].
 * Returns 0, or -1 when out of memory. */
int sm_zsock_send(sm_zsock *self, const sm_frame *frames, size_t n);

/* Any thread: stop (1) or resume (0) reading from the peers, so a peer
 * that sends faster than the kernel handles is held back by TCP (libzmq's
 * receive high-water mark). Takes effect at the I/O thread's next poll. */
void sm_zsock_pause(sm_zsock *self, int paused);

/* Wait up to `ms` for queued output to reach the peers (the linger of a
 * closing socket). Not while the I/O thread runs. */
void sm_zsock_flush(sm_zsock *self, int ms);

/* Close the listener and every peer; an ipc socket's file is removed. */
void sm_zsock_destroy(sm_zsock **self);

#endif
