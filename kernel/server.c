/* server: ZeroMQ sockets and the threads that own them (xeus-zmq's layout:
 * one owner per socket, inproc bridges between threads). */
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
#include <unistd.h>
#include <zmq.h>

#include "log.h"

#define MAX_FRAMES 64 /* frames kept of one message; more means malformed */
#define IOPUB_BRIDGE "inproc://sagemagic-iopub"
#define IOPUB_HWM 10000

struct sm_server {
    void *ctx;
    void *shell, *stdin_sock, *control, *hb, *iopub, *bridge_in, *bridge_out;
    sm_wire_auth *auth;
    char session[64];
    pthread_mutex_t publish_lock; /* guards bridge_in, which any thread uses */
    pthread_t control_thread, hb_thread, iopub_thread;
    int threads_started;
    sm_server_handler handler;
    void *core;
    int wake[2]; /* self-pipe: signals and other threads wake the shell loop */
    pid_t parent, jupyter_parent; /* watched: the kernel stops when gone */
};

/* The one server of this process, for the signal handlers. */
static sm_server *signal_target;
static volatile sig_atomic_t interrupted_flag, stopping_flag;

static void wake_up(sm_server *self)
{
    char c = 1;
    ssize_t n = write(self->wake[1], &c, 1); /* async-signal-safe */
    (void)n;                                  /* full pipe: already awake */
}

static void drain_wake(sm_server *self)
{
    char buf[64];
    while (read(self->wake[0], buf, sizeof buf) > 0)
        ;
}

static void on_signal(int sig)
{
    if (sig == SIGINT)
        interrupted_flag = 1;
    else
        stopping_flag = 1;
    if (signal_target)
        wake_up(signal_target);
}

static void *new_socket(sm_server *self, int type, int handover)
{
    void *s = zmq_socket(self->ctx, type);
    if (!s)
        return NULL;
    int linger = 1000, one = 1;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (handover)
        zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    return s;
}

static int bind_socket(void *s, const sm_connection *conn, int port,
                       sm_error *err)
{
    char endpoint[300];
    sm_connection_endpoint(conn, port, endpoint, sizeof endpoint);
    if (zmq_bind(s, endpoint) != 0)
        return sm_error_set(err, "cannot bind %s: %s", endpoint,
                            zmq_strerror(zmq_errno()));
    return 0;
}

static int open_sockets(sm_server *self, const sm_connection *conn,
                        sm_error *err)
{
    self->shell = new_socket(self, ZMQ_ROUTER, 1);
    self->stdin_sock = new_socket(self, ZMQ_ROUTER, 1);
    self->control = new_socket(self, ZMQ_ROUTER, 1);
    self->hb = new_socket(self, ZMQ_ROUTER, 0);
    self->iopub = new_socket(self, ZMQ_XPUB, 0);
    self->bridge_out = new_socket(self, ZMQ_PULL, 0);
    self->bridge_in = new_socket(self, ZMQ_PUSH, 0);
    if (!self->shell || !self->stdin_sock || !self->control || !self->hb ||
        !self->iopub || !self->bridge_out || !self->bridge_in)
        return sm_error_set(err, "cannot create sockets: %s",
                            zmq_strerror(zmq_errno()));
    int one = 1, hwm = IOPUB_HWM;
    zmq_setsockopt(self->iopub, ZMQ_XPUB_VERBOSE, &one, sizeof one);
    zmq_setsockopt(self->iopub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    int rc = bind_socket(self->shell, conn, conn->shell_port, err);
    if (!rc)
        rc = bind_socket(self->stdin_sock, conn, conn->stdin_port, err);
    if (!rc)
        rc = bind_socket(self->control, conn, conn->control_port, err);
    if (!rc)
        rc = bind_socket(self->hb, conn, conn->hb_port, err);
    if (!rc)
        rc = bind_socket(self->iopub, conn, conn->iopub_port, err);
    if (!rc && (zmq_bind(self->bridge_out, IOPUB_BRIDGE) ||
                zmq_connect(self->bridge_in, IOPUB_BRIDGE)))
        rc = sm_error_set(err, "cannot open the iopub bridge");
    return rc;
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
    self->parent = getppid();
    const char *jpy = getenv("JPY_PARENT_PID");
    self->jupyter_parent = jpy ? (pid_t)atol(jpy) : 0;
    snprintf(self->session, sizeof self->session, "%s", session);
    pthread_mutex_init(&self->publish_lock, NULL);
    self->wake[0] = self->wake[1] = -1;
    if (pipe2(self->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        sm_error_set(err, "cannot create a pipe: %s", strerror(errno));
        goto fail;
    }
    self->ctx = zmq_ctx_new();
    if (!self->ctx || open_sockets(self, conn, err))
        goto fail;
    return self;
fail:
    sm_error_set(err, "cannot start the kernel's sockets");
    sm_server_destroy(&self);
    return NULL;
}

/* Send encoded frames on `s`; the caller holds whatever lock `s` needs. */
static int send_frames(void *s, const sm_wire_out *out)
{
    for (size_t i = 0; i < out->count; i++) {
        int flags = i + 1 < out->count ? ZMQ_SNDMORE : 0;
        while (zmq_send(s, out->frames[i].data, out->frames[i].size, flags) < 0) {
            if (zmq_errno() != EINTR)
                return -1;
        }
    }
    return 0;
}

/* Receive one multipart message and decode it. Returns 1 with `msg` filled,
 * 0 when the message was invalid (logged and dropped), -1 on socket error. */
static int recv_message(sm_server *self, void *s, int flags, sm_wire_msg *msg)
{
    zmq_msg_t parts[MAX_FRAMES];
    size_t n = 0, total = 0;
    int more = 1, rc = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, s, total ? 0 : flags) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&part);
            if (total == 0) {
                rc = e == EAGAIN ? 0 : -1;
                goto out;
            }
            if (e == EINTR)
                continue;
            rc = -1;
            goto out;
        }
        more = zmq_msg_more(&part);
        total++;
        if (n < MAX_FRAMES)
            parts[n++] = part;
        else
            zmq_msg_close(&part);
    }
    if (total > MAX_FRAMES) {
        sm_error("dropped a message of %zu frames", total);
        rc = 0;
        goto out;
    }
    sm_frame frames[MAX_FRAMES];
    for (size_t i = 0; i < n; i++)
        frames[i] = (sm_frame){zmq_msg_data(&parts[i]), zmq_msg_size(&parts[i])};
    sm_error err = {0};
    if (sm_wire_decode(self->auth, frames, n, msg, &err) != 0) {
        sm_error("dropped an invalid message: %s", err.message);
        rc = 0;
    }
out:
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    return rc;
}

static int send_to(sm_server *self, void *s, const sm_frame *idents,
                   size_t n_idents, const json_t *parent, const char *msg_type,
                   json_t *content, json_t *metadata)
{
    json_t *header = sm_wire_header_new(self->session, msg_type);
    sm_wire_out out;
    int rc = -1;
    if (header && content &&
        sm_wire_encode(self->auth, idents, n_idents, header, parent, metadata,
                       content, &out) == 0) {
        rc = send_frames(s, &out);
        sm_wire_out_clear(&out);
    }
    if (rc)
        sm_error("cannot send %s", msg_type);
    json_decref(header);
    json_decref(content);
    json_decref(metadata);
    return rc;
}

int sm_server_reply(sm_server *self, sm_channel channel,
                    const sm_wire_msg *request, const char *msg_type,
                    json_t *content)
{
    void *s = channel == SM_CHANNEL_CONTROL ? self->control : self->shell;
    return send_to(self, s, request->idents, request->n_idents,
                   request->header, msg_type, content, NULL);
}

int sm_server_publish(sm_server *self, const json_t *parent,
                      const char *msg_type, json_t *content, json_t *metadata)
{
    char topic[128];
    snprintf(topic, sizeof topic, "kernel.%.40s.%.60s", self->session, msg_type);
    sm_frame ident = {topic, strlen(topic)};
    pthread_mutex_lock(&self->publish_lock);
    int rc = send_to(self, self->bridge_in, &ident, 1, parent, msg_type,
                     content, metadata);
    pthread_mutex_unlock(&self->publish_lock);
    return rc;
}

/* Answer a new iopub subscription with iopub_welcome (JEP 65). */
static void send_welcome(sm_server *self, const char *topic, size_t len)
{
    json_t *content = json_pack("{s:s%}", "subscription", topic, len);
    sm_frame ident = {topic, len};
    send_to(self, self->iopub, &ident, len ? 1 : 0, NULL, "iopub_welcome",
            content, NULL);
}

/* Move one message from the bridge to the XPUB socket. Returns 1 when it
 * was the stop message (an empty single frame). */
static int forward_one(sm_server *self)
{
    int more = 1, first = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, self->bridge_out, 0) < 0) {
            zmq_msg_close(&part);
            return zmq_errno() == EINTR ? 0 : 1;
        }
        more = zmq_msg_more(&part);
        if (first && !more && zmq_msg_size(&part) == 0) {
            zmq_msg_close(&part);
            return 1;
        }
        first = 0;
        zmq_msg_send(&part, self->iopub, more ? ZMQ_SNDMORE : 0);
        zmq_msg_close(&part);
    }
    return 0;
}

static void on_subscription(sm_server *self)
{
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    if (zmq_msg_recv(&ev, self->iopub, ZMQ_DONTWAIT) >= 0) {
        const char *data = zmq_msg_data(&ev);
        size_t size = zmq_msg_size(&ev);
        if (size >= 1 && data[0] == 1)
            send_welcome(self, data + 1, size - 1);
    }
    zmq_msg_close(&ev);
}

static void *iopub_main(void *arg)
{
    sm_server *self = arg;
    for (;;) {
        zmq_pollitem_t items[] = {{self->bridge_out, 0, ZMQ_POLLIN, 0},
                                  {self->iopub, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, -1) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            break;
        }
        if (items[1].revents & ZMQ_POLLIN)
            on_subscription(self);
        if ((items[0].revents & ZMQ_POLLIN) && forward_one(self))
            break;
    }
    zmq_close(self->iopub);
    zmq_close(self->bridge_out);
    self->iopub = self->bridge_out = NULL;
    return NULL;
}

/* Heartbeat: echo every message, on a thread of its own so a long cell never
 * makes the kernel look dead. Ends when the context is shut down. */
static void *hb_main(void *arg)
{
    sm_server *self = arg;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, self->hb, 0) < 0) {
            zmq_msg_close(&part);
            if (zmq_errno() == EINTR)
                continue;
            break;
        }
        int more = zmq_msg_more(&part);
        zmq_msg_send(&part, self->hb, more ? ZMQ_SNDMORE : 0);
        zmq_msg_close(&part);
    }
    zmq_close(self->hb);
    self->hb = NULL;
    return NULL;
}

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

static void *control_main(void *arg)
{
    sm_server *self = arg;
    while (!stopping_flag) {
        zmq_pollitem_t item = {self->control, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, 200); /* also the stop and parent checks */
        if (n < 0) {
            if (zmq_errno() == EINTR)
                continue;
            break;
        }
        if (n == 0) {
            if (parent_gone(self)) {
                sm_warn("the process that started the kernel is gone; stopping");
                sm_server_stop(self);
            }
            continue;
        }
        sm_wire_msg msg;
        int rc = recv_message(self, self->control, ZMQ_DONTWAIT, &msg);
        if (rc < 0 && zmq_errno() == ETERM)
            break;
        if (rc == 1) {
            self->handler(self->core, SM_CHANNEL_CONTROL, &msg);
            sm_wire_msg_clear(&msg);
        }
    }
    zmq_close(self->control);
    self->control = NULL;
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
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (start_thread(&self->iopub_thread, iopub_main, self) ||
        start_thread(&self->hb_thread, hb_main, self) ||
        start_thread(&self->control_thread, control_main, self)) {
        sm_error("cannot start the kernel's threads");
        return -1;
    }
    self->threads_started = 1;
    return sm_server_publish(self, NULL, "status",
                             json_pack("{s:s}", "execution_state", "starting"),
                             NULL);
}

int sm_server_run(sm_server *self)
{
    while (!stopping_flag) {
        zmq_pollitem_t items[] = {{self->shell, 0, ZMQ_POLLIN, 0},
                                  {NULL, self->wake[0], ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, -1) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            sm_error("shell poll failed: %s", zmq_strerror(zmq_errno()));
            return -1;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            drain_wake(self);
            interrupted_flag = 0; /* an interrupt while idle interrupts nothing */
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        sm_wire_msg msg;
        if (recv_message(self, self->shell, ZMQ_DONTWAIT, &msg) == 1) {
            self->handler(self->core, SM_CHANNEL_SHELL, &msg);
            sm_wire_msg_clear(&msg);
        }
    }
    return 0;
}

int sm_server_next_queued(sm_server *self, sm_wire_msg *msg)
{
    for (;;) {
        int rc = recv_message(self, self->shell, ZMQ_DONTWAIT, msg);
        if (rc == 1)
            return 1;
        if (rc < 0)
            return 0;
        /* rc == 0: an invalid message or none; look again only if more wait */
        int events = 0;
        size_t len = sizeof events;
        zmq_getsockopt(self->shell, ZMQ_EVENTS, &events, &len);
        if (!(events & ZMQ_POLLIN))
            return 0;
    }
}

int sm_server_wait(sm_server *self, long ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (interrupted_flag || stopping_flag)
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 +
                       (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= ms)
            return 0;
        struct pollfd p = {self->wake[0], POLLIN, 0};
        if (poll(&p, 1, (int)(ms - elapsed)) > 0)
            drain_wake(self);
    }
}

static void drain_stdin(sm_server *self)
{
    sm_wire_msg stale;
    while (recv_message(self, self->stdin_sock, ZMQ_DONTWAIT, &stale) == 1)
        sm_wire_msg_clear(&stale);
}

int sm_server_input(sm_server *self, const sm_wire_msg *request,
                    json_t *content, json_t **reply, sm_error *err)
{
    *reply = NULL;
    drain_stdin(self);
    if (send_to(self, self->stdin_sock, request->idents, request->n_idents,
                request->header, "input_request", content, NULL))
        return sm_error_set(err, "cannot send the input request");
    for (;;) {
        if (interrupted_flag || stopping_flag)
            return sm_error_set(err, "interrupted while waiting for input");
        zmq_pollitem_t items[] = {{self->stdin_sock, 0, ZMQ_POLLIN, 0},
                                  {NULL, self->wake[0], ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, -1) < 0 && zmq_errno() != EINTR)
            return sm_error_set(err, "cannot read input");
        if (items[1].revents & ZMQ_POLLIN)
            drain_wake(self);
        sm_wire_msg msg;
        if (!(items[0].revents & ZMQ_POLLIN) ||
            recv_message(self, self->stdin_sock, ZMQ_DONTWAIT, &msg) != 1)
            continue;
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
    wake_up(self);
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
    wake_up(self);
}

int sm_server_stopping(sm_server *self)
{
    return stopping_flag != 0;
}

static void close_socket(void **s)
{
    if (*s)
        zmq_close(*s);
    *s = NULL;
}

void sm_server_destroy(sm_server **pself)
{
    sm_server *self = *pself;
    if (!self)
        return;
    if (self->threads_started) {
        /* The control thread first: it may still be publishing the idle of
         * the shutdown_request that stopped us. It sees the flag after that
         * request, or at its next poll timeout. */
        stopping_flag = 1;
        pthread_join(self->control_thread, NULL);
        /* The empty message tells the iopub thread everything before it has
         * been forwarded; its socket's linger then delivers it. */
        pthread_mutex_lock(&self->publish_lock);
        zmq_send(self->bridge_in, "", 0, 0);
        pthread_mutex_unlock(&self->publish_lock);
        pthread_join(self->iopub_thread, NULL);
        zmq_ctx_shutdown(self->ctx); /* ends the heartbeat thread */
        pthread_join(self->hb_thread, NULL);
    }
    void **sockets[] = {&self->shell, &self->stdin_sock, &self->bridge_in,
                        &self->control, &self->hb, &self->iopub,
                        &self->bridge_out};
    for (size_t i = 0; i < sizeof sockets / sizeof *sockets; i++)
        close_socket(sockets[i]);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    signal_target = NULL;
    for (int i = 0; i < 2; i++)
        if (self->wake[i] >= 0)
            close(self->wake[i]);
    pthread_mutex_destroy(&self->publish_lock);
    free(self);
    *pself = NULL;
}
