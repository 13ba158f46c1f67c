/* loadgen: sends one pre-built HTTP/1.1 request over and over on N
 * keep-alive connections for a fixed time and prints requests per second
 * and latency percentiles as one JSON line (for bench/local_bench.py).
 *
 *     loadgen HOST PORT CONNECTIONS SECONDS REQUEST-FILE
 *
 * Each connection is a thread doing blocking write-then-read, so latency is
 * one request's round trip. A "Connection: close" reply (or EOF) makes the
 * thread reconnect; any status but 200 counts as an error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct worker {
    pthread_t thread;
    double *lat_us;
    size_t n, cap;
    long errors, reconnects;
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

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&target, sizeof target) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends the request and reads one reply; returns the status, or -1 on a
 * broken connection. *keep is cleared when the server will close. */
static int exchange(int fd, int *keep)
{
    size_t off = 0;
    while (off < request_len) {
        ssize_t w = write(fd, request + off, request_len - off);
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    char buf[65536];
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == sizeof buf - 1)
            return -1;
        ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    long length = 0;
    *keep = 1;
    for (char *line = strstr(buf, "\r\n") + 2; line < end;
         line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "content-length:", 15) == 0)
            length = atol(line + 15);
        else if (strncasecmp(line, "connection:", 11) == 0)
            *keep = strncasecmp(line + 11 + strspn(line + 11, " "), "close",
                                5) != 0;
    }
    size_t body = have - (size_t)(end + 4 - buf);
    while ((long)body < length) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            return -1;
        body += (size_t)r;
    }
    return status;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    int fd = -1;
    while (now() < deadline) {
        if (fd < 0 && (fd = dial()) < 0) {
            w->errors++;
            usleep(1000);
            continue;
        }
        int keep = 0;
        double t0 = now();
        int status = exchange(fd, &keep);
        double t1 = now();
        if (status < 0) {
            close(fd);
            fd = -1;
            w->reconnects++;
            continue;
        }
        if (status != 200)
            w->errors++;
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 65536;
            w->lat_us = realloc(w->lat_us, w->cap * sizeof *w->lat_us);
        }
        w->lat_us[w->n++] = (t1 - t0) * 1e6;
        if (!keep) {
            close(fd);
            fd = -1;
            w->reconnects++;
        }
    }
    if (fd >= 0)
        close(fd);
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
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    request = malloc((size_t)size);
    request_len = fread(request, 1, (size_t)size, f);
    fclose(f);
    return request_len == (size_t)size ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: loadgen HOST PORT CONNECTIONS SECONDS FILE\n");
        return 2;
    }
    target.sin_family = AF_INET;
    target.sin_port = htons((unsigned short)atoi(argv[2]));
    int conns = atoi(argv[3]);
    double seconds = atof(argv[4]);
    if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1 || conns < 1 ||
        read_request(argv[5])) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 2;
    }
    worker *ws = calloc((size_t)conns, sizeof *ws);
    double start = now();
    deadline = start + seconds;
    for (int i = 0; i < conns; i++)
        pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
    size_t total = 0;
    long errors = 0, reconnects = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(ws[i].thread, NULL);
        total += ws[i].n;
        errors += ws[i].errors;
        reconnects += ws[i].reconnects;
    }
    double elapsed = now() - start;
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(all + k, ws[i].lat_us, ws[i].n * sizeof *all);
        k += ws[i].n;
        free(ws[i].lat_us);
    }
    qsort(all, total, sizeof *all, by_value);
    double p50 = total ? all[total / 2] : 0;
    double p99 = total ? all[(size_t)((double)total * 0.99)] : 0;
    printf("{\"requests\": %zu, \"seconds\": %.3f, \"rps\": %.1f, "
           "\"p50_us\": %.1f, \"p99_us\": %.1f, \"errors\": %ld, "
           "\"reconnects\": %ld}\n",
           total, elapsed, (double)total / elapsed, p50, p99, errors,
           reconnects);
    free(all);
    free(ws);
    free(request);
    return 0;
}
