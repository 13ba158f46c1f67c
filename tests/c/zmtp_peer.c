/* zmtp_peer: the test client's sockets, encoded and decoded with kernel/zmtp.c.
 */
#include "zmtp_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

void zpeer_put_handshake(sm_zmtp_buf *b, int major, const char *mechanism,
                         const char *type, const char *identity)
{
    unsigned char g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f};
    g[10] = (unsigned char)major;
    g[11] = 1;
    memcpy(g + 12, mechanism, strlen(mechanism));
    sm_zmtp_buf_append(b, g, sizeof g);
    unsigned char r[600];
    size_t n = 0;
    const char *names[2] = {"Socket-Type", "Identity"};
    const char *values[2] = {type, identity};
    r[n++] = 5;
    memcpy(r + n, "READY", 5);
    n += 5;
    for (int i = 0; i < (identity ? 2 : 1); i++) {
        size_t k = strlen(names[i]), v = strlen(values[i]);
        r[n++] = (unsigned char)k;
        memcpy(r + n, names[i], k);
        n += k;
        unsigned char len[4] = {0, 0, (unsigned char)(v >> 8),
                                (unsigned char)v};
        memcpy(r + n, len, 4);
        memcpy(r + n + 4, values[i], v);
        n += 4 + v;
    }
    sm_zmtp_put_frame(b, r, n, SM_ZMTP_FLAG_COMMAND);
}

static int send_all(int fd, const unsigned char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Decode buffered bytes, reading more as needed, until `want` happens. */
static int next_event(zpeer *self, sm_zmtp_event want)
{
    for (;;) {
        while (self->at < self->have) {
            sm_zmtp_event ev;
            self->at += sm_zmtp_decode(&self->dec, self->buf + self->at,
                                       self->have - self->at, &ev);
            if (ev == want)
                return 0;
            if (ev == SM_ZMTP_ERROR)
                return -1;
        }
        ssize_t n = recv(self->fd, self->buf, sizeof self->buf, 0);
        if (n <= 0)
            return -1;
        self->have = (size_t)n;
        self->at = 0;
    }
}

int zpeer_connect(zpeer *self, int port, const char *type, const char *identity)
{
    memset(self, 0, sizeof *self);
    sm_zmtp_decoder_init(&self->dec, type);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    sm_zmtp_buf b = {0};
    zpeer_put_handshake(&b, 3, "NULL", type, identity);
    self->fd = socket(AF_INET, SOCK_STREAM, 0);
    int rc =
        self->fd < 0 ||
                setsockopt(self->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
                connect(self->fd, (struct sockaddr *)&a, sizeof a) ||
                send_all(self->fd, b.data, b.len) ||
                next_event(self, SM_ZMTP_READY)
            ? -1
            : 0;
    sm_zmtp_buf_free(&b);
    if (rc)
        zpeer_close(self);
    return rc;
}

int zpeer_send(zpeer *self, const sm_frame *frames, size_t n)
{
    sm_zmtp_buf b = {0};
    for (size_t i = 0; i < n; i++)
        sm_zmtp_put_frame(&b, frames[i].data, frames[i].size,
                          i + 1 < n ? SM_ZMTP_FLAG_MORE : 0);
    int rc = send_all(self->fd, b.data, b.len);
    sm_zmtp_buf_free(&b);
    return rc;
}

int zpeer_recv(zpeer *self, const sm_frame **frames, size_t *n)
{
    if (next_event(self, SM_ZMTP_MESSAGE))
        return -1;
    *frames = self->dec.parts + 1;
    *n = self->dec.n_frames;
    return 0;
}

void zpeer_close(zpeer *self)
{
    if (self->fd >= 0)
        close(self->fd);
    self->fd = -1;
    sm_zmtp_decoder_clear(&self->dec);
}
