/* zsock: listening, accepting and the per-peer state of a ZMTP socket.
 * Only the I/O thread reads from peers and adds or frees them; senders on
 * any thread hold the socket's lock while they queue and write. */
#include "zsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "zmtp.h"

#define MAX_PEERS SM_ZSOCK_MAX_PEERS
#define MAX_SUBSCRIPTIONS 4096 /* per XPUB peer */
#define HANDSHAKE_SECONDS 30   /* libzmq's default handshake interval */
#define READ_CHUNK 65536
#define READS_PER_POLL 16         /* so one busy peer cannot starve the rest */
#define SMALL_MESSAGE (64 * 1024) /* REP and XPUB peers send no more */

typedef struct peer {
    int fd;
    int dead, ready;
    unsigned char id[SM_ZMTP_MAX_IDENTITY];
    size_t id_len;
    sm_zmtp_decoder dec; /* I/O thread only */
    sm_zmtp_buf out;
    sm_frame *subs; /* XPUB: subscribed prefixes, owned */
    size_t n_subs;
    size_t dropped;
    time_t since;
} peer;

struct sm_zsock {
    sm_zsock_config cfg;
    int fd, is_tcp;
    char path[4200]; /* ipc: the file to remove at close */
    pthread_mutex_t lock;
    peer **peers;
    size_t n_peers, cap_peers;
    uint32_t next_id;
    atomic_int paused;
    time_t accept_after; /* out of file descriptors: wait before accepting */
};

static const char *const socket_types[] = {"ROUTER", "REP", "XPUB"};

/* ---- binding ------------------------------------------------------------ */

static int parse_tcp(const char *ip, int port, struct sockaddr_storage *ss,
                     socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    char host[256];
    size_t n = strlen(ip);
    memset(ss, 0, sizeof *ss);
    if (strcmp(ip, "*") == 0 || inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return 0;
    }
    if (n >= 2 && n < sizeof host && ip[0] == '[' && ip[n - 1] == ']')
        snprintf(host, sizeof host, "%.*s", (int)(n - 2), ip + 1);
    else
        snprintf(host, sizeof host, "%s", ip);
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1)
        return -1;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
    return 0;
}

static int listen_tcp(sm_zsock *self, const char *ip, int port, sm_error *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_tcp(ip, port, &ss, &len))
        return sm_error_set(err, "cannot bind tcp://%s:%d: not an IP address",
                            ip, port);
    self->fd =
        socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (self->fd < 0 ||
        setsockopt(self->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(self->fd, (struct sockaddr *)&ss, len) || listen(self->fd, 100))
        return sm_error_set(err, "cannot bind tcp://%s:%d: %s", ip, port,
                            strerror(errno));
    self->is_tcp = 1;
    return 0;
}

static int listen_ipc(sm_zsock *self, const char *ip, int port, sm_error *err)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int n = snprintf(sun.sun_path, sizeof sun.sun_path, "%s-%d", ip, port);
    if (n < 0 || (size_t)n >= sizeof sun.sun_path)
        return sm_error_set(err, "cannot bind ipc://%s-%d: path too long", ip,
                            port);
    /* A file left by a kernel that died is in the way; libzmq removes it. */
    unlink(sun.sun_path);
    self->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (self->fd < 0 || bind(self->fd, (struct sockaddr *)&sun, sizeof sun) ||
        listen(self->fd, 100))
        return sm_error_set(err, "cannot bind ipc://%s: %s", sun.sun_path,
                            strerror(errno));
    /* Remembered absolute, so the file is removed even after a chdir. */
    char cwd[4096];
    if (sun.sun_path[0] != '/' && getcwd(cwd, sizeof cwd))
        snprintf(self->path, sizeof self->path, "%s/%s", cwd, sun.sun_path);
    else
        snprintf(self->path, sizeof self->path, "%s", sun.sun_path);
    return 0;
}

sm_zsock *sm_zsock_bind(const sm_zsock_config *config, const char *transport,
                        const char *ip, int port, sm_error *err)
{
    sm_zsock *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    self->cfg = *config;
    self->fd = -1;
    self->next_id = randombytes_random();
    pthread_mutex_init(&self->lock, NULL);
    int rc = strcmp(transport, "ipc") == 0 ? listen_ipc(self, ip, port, err)
                                           : listen_tcp(self, ip, port, err);
    if (rc)
        sm_zsock_destroy(&self);
    return self;
}

/* ---- peers -------------------------------------------------------------- */

static void peer_free(peer *p)
{
    close(p->fd);
    sm_zmtp_decoder_clear(&p->dec);
    sm_zmtp_buf_free(&p->out);
    for (size_t i = 0; i < p->n_subs; i++)
        free((void *)p->subs[i].data);
    free(p->subs);
    free(p);
}

static void wake_io(sm_zsock *self)
{
    char c = 1;
    if (self->cfg.wake_fd >= 0) {
        ssize_t n = write(self->cfg.wake_fd, &c, 1);
        (void)n; /* a full pipe means the I/O thread is already woken */
    }
}

/* Write what is queued for `p`; the caller holds the lock. */
static void peer_flush(peer *p)
{
    while (!p->dead && p->out.len > p->out.head) {
        ssize_t n = send(p->fd, p->out.data + p->out.head,
                         p->out.len - p->out.head, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            sm_zmtp_buf_consume(&p->out, (size_t)n);
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        else
            p->dead = 1;
    }
}

/* A routing id libzmq's way: a zero byte then a 32-bit counter. */
static void generate_id(sm_zsock *self, peer *p)
{
    uint32_t v = self->next_id++;
    p->id[0] = 0;
    for (int i = 4; i >= 1; i--, v >>= 8)
        p->id[i] = (unsigned char)(v & 0xff);
    p->id_len = 5;
}

static int grow_peers(sm_zsock *self)
{
    if (self->n_peers < self->cap_peers)
        return 0;
    size_t cap = self->cap_peers ? self->cap_peers * 2 : 4;
    peer **a = realloc(self->peers, cap * sizeof *a);
    if (!a)
        return -1;
    self->peers = a;
    self->cap_peers = cap;
    return 0;
}

static void accept_one(sm_zsock *self, int fd)
{
    if (self->n_peers >= MAX_PEERS) {
        sm_warn("%s: more than %d connections; refused one", self->cfg.name,
                MAX_PEERS);
        close(fd);
        return;
    }
    int one = 1;
    if (self->is_tcp) /* as libzmq: small messages go out at once */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    peer *p = calloc(1, sizeof *p);
    pthread_mutex_lock(&self->lock);
    if (!p || grow_peers(self)) {
        pthread_mutex_unlock(&self->lock);
        free(p);
        close(fd);
        return;
    }
    p->fd = fd;
    p->since = time(NULL);
    sm_zmtp_decoder_init(&p->dec, socket_types[self->cfg.type]);
    if (self->cfg.type != SM_ZSOCK_ROUTER) /* pings and subscriptions */
        p->dec.max_message = SMALL_MESSAGE;
    if (sm_zmtp_put_handshake(&p->out, socket_types[self->cfg.type]))
        p->dead = 1;
    peer_flush(p);
    self->peers[self->n_peers++] = p;
    pthread_mutex_unlock(&self->lock);
}

static void accept_all(sm_zsock *self)
{
    for (int i = 0; i < MAX_PEERS; i++) {
        int fd = accept4(self->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
            /* The connection stays pending; polling for it meanwhile
             * would spin. */
            sm_warn("%s: cannot accept: %s", self->cfg.name, strerror(errno));
            self->accept_after = time(NULL) + 1;
            return;
        }
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sm_warn("%s: accept: %s", self->cfg.name, strerror(errno));
            return;
        }
        accept_one(self, fd);
    }
}

static peer *find_peer(sm_zsock *self, const void *id, size_t len,
                       const peer *except)
{
    for (size_t i = 0; i < self->n_peers; i++) {
        peer *p = self->peers[i];
        if (p != except && p->ready && !p->dead && p->id_len == len &&
            memcmp(p->id, id, len) == 0)
            return p;
    }
    return NULL;
}

/* READY arrived. A ROUTER peer that names itself takes that name over from
 * a connection that had it (libzmq's ROUTER_HANDOVER, which Jupyter's
 * kernels set), the old one gets a generated id. */
static void on_ready(sm_zsock *self, peer *p)
{
    pthread_mutex_lock(&self->lock);
    if (self->cfg.type == SM_ZSOCK_ROUTER && p->dec.identity_len) {
        peer *old = find_peer(self, p->dec.identity, p->dec.identity_len, p);
        if (old)
            generate_id(self, old);
        memcpy(p->id, p->dec.identity, p->dec.identity_len);
        p->id_len = p->dec.identity_len;
    } else {
        generate_id(self, p);
    }
    p->ready = 1;
    pthread_mutex_unlock(&self->lock);
    sm_debug("%s: a %s connected", self->cfg.name, p->dec.peer_type);
}

/* ---- subscriptions ------------------------------------------------------ */

static void unsubscribe(peer *p, const unsigned char *topic, size_t len)
{
    for (size_t i = 0; i < p->n_subs; i++) {
        if (p->subs[i].size == len &&
            memcmp(p->subs[i].data, topic, len) == 0) {
            free((void *)p->subs[i].data);
            p->subs[i] = p->subs[--p->n_subs];
            return;
        }
    }
}

static int subscribe(peer *p, const unsigned char *topic, size_t len)
{
    if (p->n_subs >= MAX_SUBSCRIPTIONS)
        return -1;
    sm_frame *a = realloc(p->subs, (p->n_subs + 1) * sizeof *a);
    if (!a)
        return -1;
    p->subs = a;
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    if (len)
        memcpy(copy, topic, len);
    p->subs[p->n_subs++] = (sm_frame){copy, len};
    return 0;
}

static int subscribed(const peer *p, const sm_frame *topic)
{
    for (size_t i = 0; i < p->n_subs; i++)
        if (p->subs[i].size <= topic->size &&
            memcmp(p->subs[i].data, topic->data, p->subs[i].size) == 0)
            return 1;
    return 0;
}

/* A (un)subscription, as a message (ZMTP 3.0) or a command (3.1): change
 * the peer's list, then tell the handler, as XPUB_VERBOSE does. */
static void on_subscription(sm_zsock *self, peer *p, int on,
                            const unsigned char *topic, size_t len)
{
    pthread_mutex_lock(&self->lock);
    int rc = on ? subscribe(p, topic, len) : 0;
    if (!on)
        unsubscribe(p, topic, len);
    pthread_mutex_unlock(&self->lock);
    if (rc) {
        sm_warn("%s: too many subscriptions; one ignored", self->cfg.name);
        return;
    }
    unsigned char *msg = malloc(len + 1);
    if (!msg)
        return;
    msg[0] = (unsigned char)on;
    if (len)
        memcpy(msg + 1, topic, len);
    sm_frame f = {msg, len + 1};
    self->cfg.handler(self->cfg.ctx, self, &f, 1);
    free(msg);
}

/* ---- reading ------------------------------------------------------------ */

static int has_envelope(const sm_frame *frames, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (frames[i].size == 0)
            return 1;
    return 0;
}

static void on_message(sm_zsock *self, peer *p)
{
    sm_frame *parts = p->dec.parts;
    size_t n = p->dec.n_frames;
    if (self->cfg.type == SM_ZSOCK_XPUB) {
        const unsigned char *b = parts[1].data;
        if (n == 1 && parts[1].size >= 1 && b[0] <= 1)
            on_subscription(self, p, b[0], b + 1, parts[1].size - 1);
        return;
    }
    if (self->cfg.type == SM_ZSOCK_REP && !has_envelope(parts + 1, n)) {
        sm_debug("%s: dropped a request without an envelope", self->cfg.name);
        return;
    }
    parts[0] = (sm_frame){p->id, p->id_len};
    self->cfg.handler(self->cfg.ctx, self, parts, n + 1);
}

static void on_command(sm_zsock *self, peer *p)
{
    const char *name = p->dec.command;
    if (strcmp(name, "PING") == 0) {
        pthread_mutex_lock(&self->lock);
        if (sm_zmtp_put_pong(&p->out, p->dec.cmd_body, p->dec.cmd_len) == 0)
            peer_flush(p);
        pthread_mutex_unlock(&self->lock);
    } else if (self->cfg.type == SM_ZSOCK_XPUB &&
               (strcmp(name, "SUBSCRIBE") == 0 ||
                strcmp(name, "CANCEL") == 0)) {
        on_subscription(self, p, name[0] == 'S', p->dec.cmd_body,
                        p->dec.cmd_len);
    }
    /* PONG and unknown commands need nothing (ZMTP 3.1 says ignore them). */
}

/* Decode what was read. -1 when the peer must be dropped. */
static int peer_feed(sm_zsock *self, peer *p, const unsigned char *data,
                     size_t len)
{
    size_t used = 0;
    while (used < len) {
        sm_zmtp_event ev;
        used += sm_zmtp_decode(&p->dec, data + used, len - used, &ev);
        if (ev == SM_ZMTP_READY)
            on_ready(self, p);
        else if (ev == SM_ZMTP_COMMAND)
            on_command(self, p);
        else if (ev == SM_ZMTP_MESSAGE)
            on_message(self, p);
        else if (ev == SM_ZMTP_DROPPED)
            sm_warn("%s: %s", self->cfg.name, p->dec.error);
        else if (ev == SM_ZMTP_ERROR) {
            sm_info("%s: dropped a connection: %s", self->cfg.name,
                    p->dec.error);
            return -1;
        }
    }
    return 0;
}

static void mark_dead(sm_zsock *self, peer *p)
{
    pthread_mutex_lock(&self->lock);
    p->dead = 1;
    pthread_mutex_unlock(&self->lock);
}

static void peer_read(sm_zsock *self, peer *p)
{
    unsigned char buf[READ_CHUNK];
    for (int round = 0; round < READS_PER_POLL; round++) {
        ssize_t n = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0 || peer_feed(self, p, buf, (size_t)n)) {
            mark_dead(self, p);
            return;
        }
        if ((size_t)n < sizeof buf)
            return;
    }
}

/* ---- the I/O thread's poll ---------------------------------------------- */

static void reap(sm_zsock *self)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&self->lock);
    size_t kept = 0;
    for (size_t i = 0; i < self->n_peers; i++) {
        peer *p = self->peers[i];
        if (!p->ready && !p->dead && now - p->since > HANDSHAKE_SECONDS) {
            sm_info("%s: dropped a connection that never finished its "
                    "handshake",
                    self->cfg.name);
            p->dead = 1;
        }
        if (p->dead)
            peer_free(p);
        else
            self->peers[kept++] = p;
    }
    self->n_peers = kept;
    pthread_mutex_unlock(&self->lock);
}

size_t sm_zsock_poll_fill(sm_zsock *self, struct pollfd *fds, size_t max)
{
    reap(self);
    size_t n = 0;
    if (n < max) {
        short events = time(NULL) >= self->accept_after ? POLLIN : 0;
        fds[n++] = (struct pollfd){self->fd, events, 0};
    }
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n_peers && n < max; i++) {
        peer *p = self->peers[i];
        short events = atomic_load(&self->paused) ? 0 : POLLIN;
        if (p->out.len > p->out.head)
            events |= POLLOUT;
        fds[n++] = (struct pollfd){p->fd, events, 0};
    }
    pthread_mutex_unlock(&self->lock);
    return n;
}

void sm_zsock_poll_handle(sm_zsock *self, const struct pollfd *fds, size_t n)
{
    /* Peers first: accepting may move the array they are in. */
    for (size_t i = 1; i < n && i - 1 < self->n_peers; i++) {
        peer *p = self->peers[i - 1];
        if (fds[i].revents & POLLOUT) {
            pthread_mutex_lock(&self->lock);
            peer_flush(p);
            pthread_mutex_unlock(&self->lock);
        }
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
            peer_read(self, p);
    }
    if (n >= 1 && (fds[0].revents & POLLIN))
        accept_all(self);
}

/* ---- sending ------------------------------------------------------------ */

/* Queue a message for `p` and start writing it; the caller holds the lock. */
static int enqueue(sm_zsock *self, peer *p, const sm_frame *frames, size_t n)
{
    size_t total = 0, pending = p->out.len - p->out.head, before = p->out.len;
    for (size_t i = 0; i < n; i++)
        total += sm_zmtp_frame_size(frames[i].size);
    if (pending && pending + total > self->cfg.hwm) {
        if (p->dropped++ % 1000 == 0)
            sm_warn("%s: a peer is not reading; dropped %zu message(s)",
                    self->cfg.name, p->dropped);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (sm_zmtp_put_frame(&p->out, frames[i].data, frames[i].size,
                              i + 1 < n ? SM_ZMTP_FLAG_MORE : 0)) {
            p->out.len = before; /* never half a message on the wire */
            return -1;
        }
    }
    if (pending)
        return 0; /* the I/O thread is already flushing this peer */
    peer_flush(p);
    if (p->out.len > p->out.head)
        wake_io(self);
    return 0;
}

int sm_zsock_send(sm_zsock *self, const sm_frame *frames, size_t n)
{
    int rc = 0;
    if (n == 0 || (self->cfg.type != SM_ZSOCK_XPUB && n < 2))
        return 0;
    pthread_mutex_lock(&self->lock);
    if (self->cfg.type == SM_ZSOCK_XPUB) {
        for (size_t i = 0; i < self->n_peers; i++) {
            peer *p = self->peers[i];
            if (p->ready && !p->dead && subscribed(p, &frames[0]))
                rc |= enqueue(self, p, frames, n);
        }
    } else {
        peer *p = find_peer(self, frames[0].data, frames[0].size, NULL);
        if (p)
            rc = enqueue(self, p, frames + 1, n - 1);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void sm_zsock_pause(sm_zsock *self, int paused)
{
    atomic_store(&self->paused, paused);
}

void sm_zsock_flush(sm_zsock *self, int ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct pollfd fds[MAX_PEERS];
        size_t n = 0;
        pthread_mutex_lock(&self->lock);
        for (size_t i = 0; i < self->n_peers; i++) {
            peer *p = self->peers[i];
            peer_flush(p);
            if (!p->dead && p->out.len > p->out.head)
                fds[n++] = (struct pollfd){p->fd, POLLOUT, 0};
        }
        pthread_mutex_unlock(&self->lock);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = ms - ((now.tv_sec - start.tv_sec) * 1000 +
                          (now.tv_nsec - start.tv_nsec) / 1000000);
        if (n == 0 || left <= 0 || poll(fds, n, (int)left) < 0)
            return;
    }
}

void sm_zsock_destroy(sm_zsock **pself)
{
    sm_zsock *self = *pself;
    if (!self)
        return;
    for (size_t i = 0; i < self->n_peers; i++)
        peer_free(self->peers[i]);
    free(self->peers);
    if (self->fd >= 0)
        close(self->fd);
    if (self->path[0])
        unlink(self->path);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *pself = NULL;
}
