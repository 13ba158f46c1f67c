/* floor_server: an HTTP/1.1 server that does no work, for bench/local_bench.py.
 * It reads each request to the end of its Content-Length body and answers
 * one fixed 200 reply with a one-number CSV body, as an endpoint's answer
 * looks. No signature, no parsing beyond the framing, no prediction: what
 * the load generator measures against it is the floor this machine puts
 * under any server that sleeps between requests (the sockets, the system
 * calls and the wake-ups), the same for the service and for the peer.
 *
 *     floor_server        prints its port (on 127.0.0.1) on one line, then
 *                         serves until SIGTERM or SIGINT
 *
 * One thread per connection with blocking reads: with one connection that
 * is a single wake-up per request, the least any sleeping server pays. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_MAX 65536

static const char reply[] = "HTTP/1.1 200 OK\r\n"
                            "Content-Type: text/csv\r\n"
                            "Content-Length: 10\r\n"
                            "\r\n"
                            "0.48211592";

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The length of the whole request at the front of buf (head and body), 0
 * while it is incomplete, -1 when it cannot be one (no framing in 64 KiB). */
static long request_length(const char *buf, size_t have)
{
    const char *end = memmem(buf, have, "\r\n\r\n", 4);
    if (!end)
        return have >= BUF_MAX ? -1 : 0;
    size_t head = (size_t)(end + 4 - buf);
    long body = 0;
    for (const char *line = memchr(buf, '\n', head); line && line + 1 < end;
         line = memchr(line + 1, '\n', (size_t)(end - line - 1))) {
        if (strncasecmp(line + 1, "content-length:", 15) == 0)
            body = strtol(line + 16, NULL, 10);
    }
    if (body < 0 || head + (size_t)body > BUF_MAX)
        return -1;
    return head + (size_t)body <= have ? (long)(head + (size_t)body) : 0;
}

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char *buf = malloc(BUF_MAX);
    size_t have = 0;
    while (buf) {
        long len = request_length(buf, have);
        if (len < 0)
            break;
        if (len == 0) {
            ssize_t n = read(fd, buf + have, BUF_MAX - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            have += (size_t)n;
            continue;
        }
        if (write_all(fd, reply, sizeof reply - 1) != 0)
            break;
        memmove(buf, buf + len, have - (size_t)len);
        have -= (size_t)len;
    }
    free(buf);
    close(fd);
    return NULL;
}

int main(void)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(ls, 128) != 0 ||
        getsockname(ls, (struct sockaddr *)&addr, &len) != 0) {
        perror("floor_server: listen");
        return 1;
    }
    printf("%u\n", ntohs(addr.sin_port));
    fflush(stdout);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                usleep(1000);
                continue;
            }
            perror("floor_server: accept");
            return 1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        if (pthread_create(&t, &attr, serve, (void *)(long)fd) != 0)
            close(fd);
    }
}
