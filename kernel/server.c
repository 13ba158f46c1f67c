/* server: the kernel's five ZMTP sockets (zsock.c) and the one I/O thread
 * that accepts, reads and flushes them all. Heartbeats are echoed and
 * control requests handled on that thread, so both are answered while a
 * shell request runs; shell and stdin messages are handed to the caller's
 * thread through queues. Any thread sends straight to the peers. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "zsock.h"

#define MAX_FRAMES 64 /* frames of one message; more is malformed */
#define IOPUB_HWM ((size_t)64 << 20) /* bytes queued for one subscriber */
#define ROUTER_HWM ((size_t)512 << 20)
#define LINGER_MS 1000 /* how long queued output may take at close */
#define WATCH_MS 200   /* how often the parent process is checked */
/* Messages waiting for the shell thread before their socket stops being
 * read (as libzmq's default receive high-water mark), and how few make it
 * read again. */
#define INBOX_HWM 1000
#define INBOX_LWM 500

enum { SOCK_SHELL, SOCK_STDIN, SOCK_CONTROL, SOCK_HB, SOCK_IOPUB, N_SOCKS };

/* A message as it came off the wire, frames and bytes in one block: the
 * shell thread verifies and parses it, so a big message never holds up
 * the heartbeat. */
typedef struct queued {
    struct queued *next;
    size_t n;
    sm_frame frames[]; /* then the bytes they point to */
} queued;

typedef struct inbox {
    queued *head, *tail;
    size_t count;
    int sock; /* the socket its messages come from */
} inbox;

struct sm_server {
    sm_zsock *socks[N_SOCKS];
    sm_wire_auth *auth;
    char session[64];
    pthread_mutex_t inbox_lock; /* guards both inboxes */
    inbox shell_in, stdin_in;
    pthread_t io_thread;
    int io_started;
    atomic_int io_stop;
    sm_server_handler handler;
    void *core;
    int wake[2];    /* self-pipe: signals and the I/O thread wake the shell */
    int io_wake[2]; /* self-pipe: output waiting, or stop, wakes the I/O thread
                     */
    pid_t parent, jupyter_parent; /* watched: the kernel stops when gone */
    struct sigaction old_int, old_term;
};

/* The one server of this process, for the signal handlers. */
static sm_server *signal_target;
/* Lock-free atomics: safe in a signal handler and between threads. */
static atomic_int interrupted_flag, stopping_flag;

static void poke(int fd)
{
    char c = 1;
    ssize_t n = write(fd, &c, 1); /* async-signal-safe */
    (void)n;                      /* full pipe: already awake */
}

static void drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) == (ssize_t)sizeof buf)
        ; /* a short read took all there was: no second system call */
}

static void on_signal(int sig)
{
    if (sig == SIGINT)
        interrupted_flag = 1;
    else
        stopping_flag = 1;
    if (signal_target)
        poke(signal_target->wake[1]);
}

/* ---- queues between the I/O thread and the shell thread ----------------- */

/* Verify and parse a Jupyter message. 1 with `msg` filled, 0 when it was
 * invalid (logged and dropped). */
static int decode(sm_server *self, const sm_frame *frames, size_t n,
                  sm_wire_msg *msg)
{
    if (n > MAX_FRAMES) {
        sm_error("dropped a message of %zu frames", n);
        return 0;
    }
    sm_error err = {0};
    if (sm_wire_decode(self->auth, frames, n, msg, &err) != 0) {
        sm_error("dropped an invalid message: %s", err.message);
        return 0;
    }
    return 1;
}

/* Copy a message into `box` (I/O thread). */
static void inbox_push(sm_server *self, inbox *box, const sm_frame *frames,
                       size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += frames[i].size;
    queued *q = malloc(sizeof *q + n * sizeof(sm_frame) + bytes);
    if (!q) {
        sm_error("out of memory; dropped a message of %zu bytes", bytes);
        return;
    }
    q->next = NULL;
    q->n = n;
    char *at = (char *)(q->frames + n);
    for (size_t i = 0; i < n; i++) {
        if (frames[i].size)
            memcpy(at, frames[i].data, frames[i].size);
        q->frames[i] = (sm_frame){at, frames[i].size};
        at += frames[i].size;
    }
    pthread_mutex_lock(&self->inbox_lock);
    if (box->tail)
        box->tail->next = q;
    else
        box->head = q;
    box->tail = q;
    if (++box->count == INBOX_HWM && self->socks[box->sock])
        sm_zsock_pause(self->socks[box->sock], 1);
    pthread_mutex_unlock(&self->inbox_lock);
    poke(self->wake[1]);
}

/* The oldest message of `box` (the caller frees it), or NULL. */
static queued *inbox_take(sm_server *self, inbox *box)
{
    pthread_mutex_lock(&self->inbox_lock);
    queued *q = box->head;
    if (q) {
        box->head = q->next;
        if (!box->head)
            box->tail = NULL;
        if (box->count-- == INBOX_LWM && self->socks[box->sock]) {
            sm_zsock_pause(self->socks[box->sock], 0);
            poke(self->io_wake[1]);
        }
    }
    pthread_mutex_unlock(&self->inbox_lock);
    return q;
}

/* 1 with the oldest valid message decoded into `msg` (invalid ones are
 * logged and dropped on the way), 0 when the inbox is empty. */
static int inbox_pop(sm_server *self, inbox *box, sm_wire_msg *msg)
{
    queued *q;
    while ((q = inbox_take(self, box))) {
        int ok = decode(self, q->frames, q->n, msg);
        free(q);
        if (ok)
            return 1;
    }
    return 0;
}

static void inbox_clear(sm_server *self, inbox *box)
{
    queued *q;
    while ((q = inbox_take(self, box)))
        free(q);
}

/* ---- what arrives on each socket (I/O thread) --------------------------- */

static void on_shell(void *ctx, sm_zsock *sock, const sm_frame *frames,
                     size_t n)
{
    sm_server *self = ctx;
    inbox_push(self, &self->shell_in, frames, n);
}

static void on_stdin(void *ctx, sm_zsock *sock, const sm_frame *frames,
                     size_t n)
{
    sm_server *self = ctx;
    inbox_push(self, &self->stdin_in, frames, n);
}

static void on_control(void *ctx, sm_zsock *sock, const sm_frame *frames,
                       size_t n)
{
    sm_server *self = ctx;
    sm_wire_msg msg;
    if (!decode(self, frames, n, &msg))
        return;
    self->handler(self->core, SM_CHANNEL_CONTROL, &msg);
    sm_wire_msg_clear(&msg);
}

/* Heartbeat: the request goes back as it came, envelope and all. */
static void on_heartbeat(void *ctx, sm_zsock *sock, const sm_frame *frames,
                         size_t n)
{
    sm_zsock_send(sock, frames, n);
}

static int send_to(sm_server *self, sm_zsock *sock, const sm_frame *idents,
                   size_t n_idents, const json_t *parent, const char *msg_type,
                   json_t *content, json_t *metadata)
{
    json_t *header = sm_wire_header_new(self->session, msg_type);
    sm_wire_out out;
    int rc = -1;
    if (header && content &&
        sm_wire_encode(self->auth, idents, n_idents, header, parent, metadata,
                       content, &out) == 0) {
        rc = sm_zsock_send(sock, out.frames, out.count);
        sm_wire_out_clear(&out);
    }
    if (rc)
        sm_error("cannot send %s", msg_type);
    json_decref(header);
    json_decref(content);
    json_decref(metadata);
    return rc;
}

/* A new iopub subscription is answered with iopub_welcome (JEP 65). */
static void on_subscription(void *ctx, sm_zsock *sock, const sm_frame *frames,
                            size_t n)
{
    sm_server *self = ctx;
    const char *data = frames[0].data;
    if (frames[0].size < 1 || data[0] != 1)
        return; /* an unsubscription needs no answer */
    size_t len = frames[0].size - 1;
    json_t *content = json_pack("{s:s%}", "subscription", data + 1, len);
    sm_frame ident = {data + 1, len};
    send_to(self, sock, &ident, len ? 1 : 0, NULL, "iopub_welcome", content,
            NULL);
}

/* ---- setup -------------------------------------------------------------- */

static const struct {
    const char *name;
    sm_zsock_type type;
    size_t hwm;
    sm_zsock_handler handler;
} sockets[N_SOCKS] = {
    [SOCK_SHELL] = {"shell", SM_ZSOCK_ROUTER, ROUTER_HWM, on_shell},
    [SOCK_STDIN] = {"stdin", SM_ZSOCK_ROUTER, ROUTER_HWM, on_stdin},
    [SOCK_CONTROL] = {"control", SM_ZSOCK_ROUTER, ROUTER_HWM, on_control},
    [SOCK_HB] = {"hb", SM_ZSOCK_REP, ROUTER_HWM, on_heartbeat},
    [SOCK_IOPUB] = {"iopub", SM_ZSOCK_XPUB, IOPUB_HWM, on_subscription},
};

static int open_sockets(sm_server *self, const sm_connection *conn,
                        sm_error *err)
{
    const int ports[N_SOCKS] = {[SOCK_SHELL] = conn->shell_port,
                                [SOCK_STDIN] = conn->stdin_port,
                                [SOCK_CONTROL] = conn->control_port,
                                [SOCK_HB] = conn->hb_port,
                                [SOCK_IOPUB] = conn->iopub_port};
    for (int i = 0; i < N_SOCKS; i++) {
        sm_zsock_config cfg = {sockets[i].type,    sockets[i].name,
                               sockets[i].hwm,     self->io_wake[1],
                               sockets[i].handler, self};
        self->socks[i] =
            sm_zsock_bind(&cfg, conn->transport, conn->ip, ports[i], err);
        if (!self->socks[i])
            return -1;
    }
    return 0;
}

sm_server *sm_server_new(const sm_connection *conn, sm_wire_auth *auth,
                         const char *session, sm_error *err)
{
    sm_server *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    self->auth = auth;
    interrupted_flag = stopping_flag = 0; /* a new server is not stopping */
    self->parent = getppid();
    const char *jpy = getenv("JPY_PARENT_PID");
    self->jupyter_parent = jpy ? (pid_t)atol(jpy) : 0;
    snprintf(self->session, sizeof self->session, "%s", session);
    pthread_mutex_init(&self->inbox_lock, NULL);
    self->shell_in.sock = SOCK_SHELL;
    self->stdin_in.sock = SOCK_STDIN;
    self->wake[0] = self->wake[1] = self->io_wake[0] = self->io_wake[1] = -1;
    if (pipe2(self->wake, O_NONBLOCK | O_CLOEXEC) != 0 ||
        pipe2(self->io_wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        sm_error_set(err, "cannot create a pipe: %s", strerror(errno));
        goto fail;
    }
    if (open_sockets(self, conn, err))
        goto fail;
    return self;
fail:
    sm_error_set(err, "cannot start the kernel's sockets");
    sm_server_destroy(&self);
    return NULL;
}

/* ---- the I/O thread ----------------------------------------------------- */

/* A kernel whose parent (the Jupyter server or client that started it)
 * has died is an orphan nobody can reach: stop, as ipykernel's parent
 * poller does. The parent is JPY_PARENT_PID, which jupyter_client sets,
 * else the parent the process had when the server was made; nothing is
 * watched when that was init. */
static int parent_gone(const sm_server *self)
{
    if (self->jupyter_parent > 1 && kill(self->jupyter_parent, 0) != 0 &&
        errno == ESRCH)
        return 1;
    return self->parent > 1 && getppid() != self->parent;
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static void watch_parent(sm_server *self, long *last)
{
    long now = now_ms();
    if (now - *last < WATCH_MS)
        return;
    *last = now;
    if (!stopping_flag && parent_gone(self)) {
        sm_warn("the process that started the kernel is gone; stopping");
        sm_server_stop(self);
    }
}

static void *io_main(void *arg)
{
    sm_server *self = arg;
    static struct pollfd fds[1 + N_SOCKS * (1 + SM_ZSOCK_MAX_PEERS)];
    const size_t max = sizeof fds / sizeof *fds;
    long last_watch = now_ms();
    while (!atomic_load(&self->io_stop)) {
        size_t counts[N_SOCKS], n = 1;
        fds[0] = (struct pollfd){self->io_wake[0], POLLIN, 0};
        for (int i = 0; i < N_SOCKS; i++) {
            counts[i] = sm_zsock_poll_fill(self->socks[i], fds + n, max - n);
            n += counts[i];
        }
        int rc = poll(fds, n, WATCH_MS);
        if (rc < 0 && errno != EINTR) {
            sm_error("I/O poll failed: %s", strerror(errno));
            break;
        }
        if (rc > 0 && (fds[0].revents & POLLIN))
            drain(self->io_wake[0]);
        for (size_t i = 0, at = 1; rc > 0 && i < N_SOCKS; at += counts[i++])
            sm_zsock_poll_handle(self->socks[i], fds + at, counts[i]);
        watch_parent(self, &last_watch);
    }
    return NULL;
}

static int start_thread(pthread_t *t, void *(*fn)(void *), sm_server *self)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(t, NULL, fn, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int sm_server_start(sm_server *self, sm_server_handler handler, void *core)
{
    self->handler = handler;
    self->core = core;
    signal_target = self;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &self->old_int);
    sigaction(SIGTERM, &sa, &self->old_term);
    signal(SIGPIPE, SIG_IGN);
    if (start_thread(&self->io_thread, io_main, self)) {
        sm_error("cannot start the kernel's I/O thread");
        return -1;
    }
    self->io_started = 1;
    return sm_server_publish(self, NULL, "status",
                             json_pack("{s:s}", "execution_state", "starting"),
                             NULL);
}

/* ---- the shell thread --------------------------------------------------- */

/* Wait for the wake pipe (a message, a signal, a stop) up to `ms` (-1:
 * forever). 1 when it was written. */
static int wait_wake(sm_server *self, int ms)
{
    struct pollfd p = {self->wake[0], POLLIN, 0};
    if (poll(&p, 1, ms) <= 0)
        return 0;
    drain(self->wake[0]);
    return 1;
}

int sm_server_run(sm_server *self)
{
    while (!stopping_flag) {
        sm_wire_msg msg;
        if (inbox_pop(self, &self->shell_in, &msg)) {
            self->handler(self->core, SM_CHANNEL_SHELL, &msg);
            sm_wire_msg_clear(&msg);
            continue;
        }
        if (wait_wake(self, -1))
            interrupted_flag =
                0; /* an interrupt while idle interrupts nothing */
    }
    return 0;
}

int sm_server_next_queued(sm_server *self, sm_wire_msg *msg)
{
    return inbox_pop(self, &self->shell_in, msg);
}

int sm_server_reply(sm_server *self, sm_channel channel,
                    const sm_wire_msg *request, const char *msg_type,
                    json_t *content)
{
    sm_zsock *s =
        self->socks[channel == SM_CHANNEL_CONTROL ? SOCK_CONTROL : SOCK_SHELL];
    return send_to(self, s, request->idents, request->n_idents, request->header,
                   msg_type, content, NULL);
}

int sm_server_publish(sm_server *self, const json_t *parent,
                      const char *msg_type, json_t *content, json_t *metadata)
{
    char topic[128];
    snprintf(topic, sizeof topic, "kernel.%.40s.%.60s", self->session,
             msg_type);
    sm_frame ident = {topic, strlen(topic)};
    return send_to(self, self->socks[SOCK_IOPUB], &ident, 1, parent, msg_type,
                   content, metadata);
}

int sm_server_wait(sm_server *self, long ms)
{
    long start = now_ms();
    for (;;) {
        if (interrupted_flag || stopping_flag)
            return 1;
        long elapsed = now_ms() - start;
        if (elapsed >= ms)
            return 0;
        wait_wake(self, (int)(ms - elapsed));
    }
}

int sm_server_input(sm_server *self, const sm_wire_msg *request,
                    json_t *content, json_t **reply, sm_error *err)
{
    *reply = NULL;
    inbox_clear(self, &self->stdin_in); /* replies to an earlier request */
    if (send_to(self, self->socks[SOCK_STDIN], request->idents,
                request->n_idents, request->header, "input_request", content,
                NULL))
        return sm_error_set(err, "cannot send the input request");
    for (;;) {
        if (interrupted_flag || stopping_flag)
            return sm_error_set(err, "interrupted while waiting for input");
        sm_wire_msg msg;
        if (!inbox_pop(self, &self->stdin_in, &msg)) {
            wait_wake(self, -1);
            continue;
        }
        if (strcmp(msg.msg_type, "input_reply") == 0)
            *reply = json_incref(msg.content);
        sm_wire_msg_clear(&msg);
        if (*reply)
            return 0;
    }
}

void sm_server_interrupt(sm_server *self)
{
    interrupted_flag = 1;
    poke(self->wake[1]);
}

int sm_server_interrupted(sm_server *self)
{
    return interrupted_flag != 0;
}

void sm_server_clear_interrupt(sm_server *self)
{
    interrupted_flag = 0;
}

void sm_server_stop(sm_server *self)
{
    stopping_flag = 1;
    poke(self->wake[1]);
}

int sm_server_stopping(sm_server *self)
{
    return stopping_flag != 0;
}

/* ---- teardown ----------------------------------------------------------- */

void sm_server_destroy(sm_server **pself)
{
    sm_server *self = *pself;
    if (!self)
        return;
    if (self->io_started) {
        /* The I/O thread may still be in a control handler publishing the
         * idle of the shutdown_request that stopped us: it finishes that
         * first. Then what is queued gets LINGER_MS to reach the peers. */
        stopping_flag = 1;
        atomic_store(&self->io_stop, 1);
        poke(self->io_wake[1]);
        pthread_join(self->io_thread, NULL);
        long start = now_ms();
        for (int i = N_SOCKS - 1; i >= 0; i--) {
            long left = LINGER_MS - (now_ms() - start);
            if (self->socks[i] && left > 0)
                sm_zsock_flush(self->socks[i], (int)left);
        }
    }
    if (signal_target == self) { /* the handlers from before start */
        sigaction(SIGINT, &self->old_int, NULL);
        sigaction(SIGTERM, &self->old_term, NULL);
    }
    inbox_clear(self, &self->shell_in);
    inbox_clear(self, &self->stdin_in);
    for (int i = 0; i < N_SOCKS; i++)
        sm_zsock_destroy(&self->socks[i]);
    signal_target = NULL;
    int fds[] = {self->wake[0], self->wake[1], self->io_wake[0],
                 self->io_wake[1]};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    pthread_mutex_destroy(&self->inbox_lock);
    free(self);
    *pself = NULL;
}
