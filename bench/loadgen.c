/* loadgen: sends one pre-built HTTP/1.1 request over and over on N
 * keep-alive connections for a fixed time and prints requests per second,
 * latency percentiles and its own CPU use as one JSON line (for
 * bench/local_bench.py).
 *
 *     loadgen [-t THREADS] HOST PORT CONNECTIONS SECONDS REQUEST-FILE
 *
 * Event-driven, in the manner of wrk: a few threads (default 1), each owning
 * a share of the connections and driving them with epoll. Every connection
 * keeps exactly one request in flight (no pipelining): a non-blocking write
 * of the request, the reply read and parsed by its Content-Length, then at
 * once the next request. Latency is from the write to the end of the reply.
 * A "Connection: close" reply (or EOF) makes the connection reconnect; any
 * status but 200 counts as an error, as does a failed connect.
 *
 * The generator shares the machine's cores with the server it measures, so
 * its cost matters: one thread per connection with blocking calls paid a
 * wake-up and a context switch per request on top of the server's own. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 65536
#define RETRY_S 0.001 /* wait before redialling after a failed connect */

enum state { IDLE, CONNECTING, WRITING, READING };

typedef struct conn {
    int fd;
    enum state state;
    size_t sent;     /* bytes of the request written */
    size_t have;     /* header bytes in head */
    size_t head_len; /* 0 until the blank line after the headers is seen */
    long status;     /* of the reply being read */
    long body_left;  /* body bytes still to come */
    int keep;        /* the server keeps the connection open */
    double t0, retry_at;
    char head[HEAD_MAX + 1];
} conn;

typedef struct worker {
    pthread_t thread;
    conn *conns;
    int nconns;
    int ep;
    double *lat_us;
    size_t n, cap;
    long errors, reconnects;
    int idle;   /* connections waiting to be dialled */
    int failed; /* out of memory or epoll: the run is void */
} worker;

static struct sockaddr_in target;
static char *request;
static size_t request_len;
static double deadline;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int watch(worker *w, conn *c, int op, unsigned events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    return epoll_ctl(w->ep, op, c->fd, &ev);
}

static void drop(worker *w, conn *c)
{
    close(c->fd); /* also takes it out of the epoll set */
    c->fd = -1;
    c->state = IDLE;
    c->retry_at = 0;
    w->idle++;
}

/* Starts a non-blocking connect; a refused one is retried a little later. */
static void dial(worker *w, conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        w->failed = 1;
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&target, sizeof target) != 0 &&
        errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        w->errors++;
        c->retry_at = now() + RETRY_S;
        return;
    }
    c->state = CONNECTING;
    w->idle--;
    if (watch(w, c, EPOLL_CTL_ADD, EPOLLOUT) != 0)
        w->failed = 1;
}

static void begin_request(conn *c, double t)
{
    c->state = WRITING;
    c->sent = 0;
    c->have = 0;
    c->head_len = 0;
    c->t0 = t;
}

/* Writes what is left of the request; returns -1 on a broken connection. */
static int send_some(worker *w, conn *c)
{
    while (c->sent < request_len) {
        ssize_t n = write(c->fd, request + c->sent, request_len - c->sent);
        if (n < 0 && errno == EAGAIN)
            return watch(w, c, EPOLL_CTL_MOD, EPOLLOUT);
        if (n <= 0)
            return -1;
        c->sent += (size_t)n;
    }
    c->state = READING;
    return 0;
}

static int header_is(const char *line, const char *name)
{
    return strncasecmp(line, name, strlen(name)) == 0;
}

/* Reads the status line and the headers that matter once the blank line
 * is in; body bytes already read are subtracted from Content-Length. */
static void parse_head(conn *c, const char *end)
{
    c->head_len = (size_t)(end + 4 - c->head);
    c->status = c->have > 12 ? strtol(c->head + 9, NULL, 10) : -1;
    c->keep = 1;
    long length = 0;
    for (const char *line = strstr(c->head, "\r\n") + 2; line < end;
         line = strstr(line, "\r\n") + 2) {
        if (header_is(line, "content-length:"))
            length = strtol(line + 15, NULL, 10);
        else if (header_is(line, "connection:"))
            c->keep = !header_is(line + 11 + strspn(line + 11, " "), "close");
    }
    c->body_left = length - (long)(c->have - c->head_len);
}

/* Reads what has arrived; returns 1 when the reply is complete, 0 when
 * more is to come, -1 on a broken connection or an oversized header. */
static int receive_some(conn *c)
{
    if (!c->head_len) {
        if (c->have == HEAD_MAX)
            return -1;
        ssize_t n = read(c->fd, c->head + c->have, HEAD_MAX - c->have);
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            return -1;
        size_t from = c->have > 3 ? c->have - 3 : 0;
        c->have += (size_t)n;
        c->head[c->have] = '\0';
        const char *end = strstr(c->head + from, "\r\n\r\n");
        if (!end)
            return 0;
        parse_head(c, end);
        return c->body_left <= 0;
    }
    char sink[65536];
    ssize_t n = read(c->fd, sink, sizeof sink);
    if (n < 0 && errno == EAGAIN)
        return 0;
    if (n <= 0)
        return -1;
    c->body_left -= n;
    return c->body_left <= 0;
}

static int record(worker *w, double us)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 65536;
        double *grown = realloc(w->lat_us, cap * sizeof *grown);
        if (!grown)
            return -1;
        w->lat_us = grown;
        w->cap = cap;
    }
    w->lat_us[w->n++] = us;
    return 0;
}

/* A whole reply is in: count it, then send the next request at once on a
 * kept connection or close it to be redialled. */
static void reply_done(worker *w, conn *c)
{
    double t = now();
    if (c->status != 200)
        w->errors++;
    if (record(w, (t - c->t0) * 1e6) != 0) {
        w->failed = 1;
        return;
    }
    if (!c->keep) {
        drop(w, c);
        w->reconnects++;
        return;
    }
    begin_request(c, t);
    if (send_some(w, c) != 0) {
        drop(w, c);
        w->reconnects++;
    }
}

static void connected(worker *w, conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        drop(w, c);
        w->errors++;
        c->retry_at = now() + RETRY_S;
        return;
    }
    /* Readable from now on; writable only while a write is held up. */
    if (watch(w, c, EPOLL_CTL_MOD, EPOLLIN) != 0) {
        w->failed = 1;
        return;
    }
    begin_request(c, now());
    if (send_some(w, c) != 0) {
        drop(w, c);
        w->reconnects++;
    }
}

static void on_event(worker *w, conn *c, unsigned events)
{
    if (c->state == CONNECTING) {
        connected(w, c);
        return;
    }
    if (c->state == WRITING) {
        if (send_some(w, c) != 0 ||
            (c->state == READING && watch(w, c, EPOLL_CTL_MOD, EPOLLIN) != 0)) {
            drop(w, c);
            w->reconnects++;
        }
        return;
    }
    int got = (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? receive_some(c) : 0;
    if (got > 0)
        reply_done(w, c);
    else if (got < 0) {
        drop(w, c);
        w->reconnects++;
    }
}

/* Dials the idle connections whose retry time has come; returns how long
 * epoll may sleep (ms) before the next one is due or the run ends. */
static int dial_due(worker *w, double t)
{
    double next = deadline;
    for (int i = 0; i < w->nconns; i++) {
        conn *c = &w->conns[i];
        if (c->state != IDLE)
            continue;
        if (c->retry_at <= t)
            dial(w, c);
        if (c->state == IDLE && c->retry_at < next)
            next = c->retry_at;
    }
    double ms = (next - t) * 1e3;
    return ms <= 0 ? 0 : ms >= INT_MAX ? INT_MAX : (int)ms + 1;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    struct epoll_event evs[256];
    w->idle = w->nconns;
    for (double t = now(); t < deadline && !w->failed; t = now()) {
        int wait_ms =
            w->idle ? dial_due(w, t) : (int)((deadline - t) * 1e3) + 1;
        int n = epoll_wait(w->ep, evs, 256, wait_ms);
        if (n < 0 && errno != EINTR) {
            w->failed = 1;
            break;
        }
        for (int i = 0; i < n; i++)
            on_event(w, evs[i].data.ptr, evs[i].events);
    }
    for (int i = 0; i < w->nconns; i++)
        if (w->conns[i].fd >= 0)
            close(w->conns[i].fd);
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int read_request(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    rewind(f);
    request = size > 0 ? malloc((size_t)size) : NULL;
    request_len = request ? fread(request, 1, (size_t)size, f) : 0;
    fclose(f);
    return request && request_len == (size_t)size ? 0 : -1;
}

/* A whole positive number no larger than max, else -1. */
static long positive(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v < 1 || v > max ? -1 : v;
}

static int usage(const char *why)
{
    fprintf(stderr,
            "loadgen: %s\n"
            "usage: loadgen [-t THREADS] HOST PORT CONNECTIONS SECONDS FILE\n",
            why);
    return 2;
}

/* Gives each of the threads its share of the connections and an epoll. */
static worker *make_workers(int threads, int conns)
{
    worker *ws = calloc((size_t)threads, sizeof *ws);
    if (!ws)
        return NULL;
    for (int i = 0; i < threads; i++) {
        worker *w = &ws[i];
        w->nconns = conns / threads + (i < conns % threads);
        w->conns = calloc((size_t)w->nconns, sizeof *w->conns);
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (!w->conns || w->ep < 0)
            return NULL; /* the process exits at once */
        for (int j = 0; j < w->nconns; j++)
            w->conns[j].fd = -1;
    }
    return ws;
}

static void report(worker *ws, int threads, double elapsed)
{
    size_t total = 0;
    long errors = 0, reconnects = 0;
    for (int i = 0; i < threads; i++) {
        total += ws[i].n;
        errors += ws[i].errors;
        reconnects += ws[i].reconnects;
    }
    double *all = malloc((total ? total : 1) * sizeof *all);
    if (!all) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(1);
    }
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        if (ws[i].n)
            memcpy(all + k, ws[i].lat_us, ws[i].n * sizeof *all);
        k += ws[i].n;
    }
    qsort(all, total, sizeof *all, by_value);
    double p50 = total ? all[total / 2] : 0;
    double p99 = total ? all[(size_t)((double)total * 0.99)] : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    /* per request: 0 when there were none */
    double per = total ? (double)total : INFINITY;
    printf("{\"requests\": %zu, \"seconds\": %.3f, \"rps\": %.1f, "
           "\"p50_us\": %.1f, \"p99_us\": %.1f, \"errors\": %ld, "
           "\"reconnects\": %ld, \"threads\": %d, "
           "\"gen_cpu_us_per_request\": %.2f, "
           "\"gen_switches_per_request\": %.3f}\n",
           total, elapsed, (double)total / elapsed, p50, p99, errors,
           reconnects, threads, cpu * 1e6 / per,
           (double)(ru.ru_nvcsw + ru.ru_nivcsw) / per);
    free(all);
}

int main(int argc, char **argv)
{
    long threads = 1;
    int opt;
    while ((opt = getopt(argc, argv, "t:")) != -1) {
        if (opt != 't' || (threads = positive(optarg, 1024)) < 0)
            return usage("-t needs a number of threads from 1 to 1024");
    }
    if (argc - optind != 5)
        return usage("expected HOST PORT CONNECTIONS SECONDS FILE");
    char **arg = argv + optind;
    long port = positive(arg[1], 65535), conns = positive(arg[2], 10000);
    char *end;
    double seconds = strtod(arg[3], &end);
    target.sin_family = AF_INET;
    if (inet_pton(AF_INET, arg[0], &target.sin_addr) != 1)
        return usage("HOST must be an IPv4 address");
    if (port < 0 || conns < 0)
        return usage("PORT (to 65535) and CONNECTIONS (to 10000) must be "
                     "positive whole numbers");
    if (end == arg[3] || *end || !(seconds > 0 && seconds < 1e6))
        return usage("SECONDS must be a positive number");
    if (read_request(arg[4]) != 0)
        return usage("cannot read a non-empty request from FILE");
    target.sin_port = htons((unsigned short)port);
    if (threads > conns)
        threads = conns;
    worker *ws = make_workers((int)threads, (int)conns);
    if (!ws) {
        fprintf(stderr, "loadgen: out of memory or epoll\n");
        return 1;
    }
    double start = now();
    deadline = start + seconds;
    for (int i = 0; i < threads; i++)
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "loadgen: cannot start a thread\n");
            return 1;
        }
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(ws[i].thread, NULL);
        failed |= ws[i].failed;
    }
    if (failed) {
        fprintf(stderr, "loadgen: out of memory or a socket/epoll failure\n");
        return 1;
    }
    report(ws, (int)threads, now() - start);
    return 0;
}
