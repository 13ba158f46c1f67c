/* test_transport: libcurl exchanges against a one-shot HTTP server on
 * 127.0.0.1 run by the test: bodies from memory and from a file range,
 * responses to memory, atomically to a file or into a descriptor at an
 * offset, lower-case headers, connection reuse, the path sent as it is,
 * progress and stopping, the read timeout, connection failures. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "testenv.h"
#include "transport.h"

/* A server that answers `count` requests on keep-alive connections with
 * `reply` (a whole HTTP response), after `delay_ms`; it records the last
 * request's head and body, and how many connections it accepted. */
typedef struct server {
    int fd, port, count, delay_ms, connections;
    const char *reply;
    char head[4096];
    char body[65536];
    size_t body_len;
    pthread_t thread;
} server;

static int read_request(server *s, int c)
{
    size_t n = 0;
    char *end = NULL;
    while (!end && n < sizeof s->head - 1) {
        ssize_t got = recv(c, s->head + n, 1, 0);
        if (got <= 0)
            return -1;
        n += (size_t)got;
        s->head[n] = '\0';
        end = strstr(s->head, "\r\n\r\n");
    }
    const char *cl = strcasestr(s->head, "\r\nContent-Length:");
    size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
    s->body_len = 0;
    while (s->body_len < want && s->body_len < sizeof s->body) {
        ssize_t got = recv(c, s->body + s->body_len, want - s->body_len, 0);
        if (got <= 0)
            return -1;
        s->body_len += (size_t)got;
    }
    return 0;
}

static void *serve(void *arg)
{
    server *s = arg;
    int answered = 0;
    while (answered < s->count) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            break;
        s->connections++;
        while (answered < s->count && read_request(s, c) == 0) {
            if (s->delay_ms)
                nanosleep(&(struct timespec){s->delay_ms / 1000,
                                             (s->delay_ms % 1000) * 1000000L},
                          NULL);
            send(c, s->reply, strlen(s->reply), MSG_NOSIGNAL);
            answered++;
        }
        close(c);
    }
    return NULL;
}

static int server_start(server *s, const char *reply, int count)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    memset(s, 0, sizeof *s);
    s->reply = reply;
    s->count = count;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) ||
        listen(s->fd, 8) || getsockname(s->fd, (struct sockaddr *)&a, &len))
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, serve, s);
}

static void server_stop(server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
}

static char *url(const server *s, const char *path)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", s->port, path);
    return buf;
}

#define REPLY_OK                                                               \
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Amzn-RequestId: R-1\r\n"        \
    "ETag: \"e\"\r\n\r\nhello"

TEST(transport_memory_body_and_headers)
{
    server s;
    sm_error err = {{0}};
    CHECK(server_start(&s, REPLY_OK, 2) == 0);
    sm_transport *t = sm_transport_new(0, &err);
    CHECK(t);
    sm_transport_header h[] = {{"Content-Type", "text/csv"}, {"X-Empty", ""}};
    sm_transport_request req = {.method = "POST",
                                .url = url(&s, "/p?q=1"),
                                .headers = h,
                                .header_count = 2,
                                .body = "1,2,3",
                                .body_len = 5};
    sm_transport_response resp;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    CHECK(resp.status == 200);
    CHECK_STR(sm_buf_str(&resp.body), "hello");
    CHECK_STR(sm_transport_response_header(&resp, "x-amzn-requestid"), "R-1");
    CHECK_STR(resp.headers[0].name, "content-length");
    CHECK(strstr(s.head, "POST /p?q=1 HTTP/1.1\r\n") == s.head);
    CHECK(strstr(s.head, "\r\nContent-Type: text/csv\r\n"));
    CHECK(strstr(s.head, "\r\nX-Empty:"));
    CHECK(!strstr(s.head, "Expect:"));
    CHECK(s.body_len == 5 && memcmp(s.body, "1,2,3", 5) == 0);
    sm_transport_response_clear(&resp);
    /* The second request reuses the connection. */
    req.method = "GET";
    req.body = NULL;
    req.body_len = 0;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    CHECK(strstr(s.head, "GET /p?q=1") == s.head);
    sm_transport_response_clear(&resp);
    server_stop(&s);
    CHECK(s.connections == 1);
    /* A header value with a line break is refused before sending. */
    h[0].value = "a\r\nInjected: yes";
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_EFATAL);
    CHECK(strstr(err.message, "line break"));
    sm_transport_destroy(&t);
    CHECK(t == NULL);
}

TEST(transport_head_and_delete)
{
    server s;
    sm_error err = {{0}};
    /* HEAD: a length but no body follows. */
    CHECK(server_start(&s,
                       "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n"
                       "Last-Modified: Sun, 30 Aug 2015 12:36:00 GMT\r\n\r\n",
                       1) == 0);
    sm_transport *t = sm_transport_new(1, &err);
    sm_transport_request req = {.method = "HEAD", .url = url(&s, "/b/k")};
    sm_transport_response resp;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    CHECK(resp.status == 200 && resp.body.len == 0);
    CHECK_STR(sm_transport_response_header(&resp, "Content-Length"), "1234");
    CHECK(strstr(s.head, "HEAD /b/k HTTP/1.1") == s.head);
    sm_transport_response_clear(&resp);
    server_stop(&s);
    CHECK(server_start(&s, "HTTP/1.1 204 No Content\r\n\r\n", 1) == 0);
    req = (sm_transport_request){.method = "DELETE", .url = url(&s, "/b/k")};
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    CHECK(resp.status == 204);
    CHECK(strstr(s.head, "DELETE /b/k HTTP/1.1") == s.head);
    sm_transport_response_clear(&resp);
    server_stop(&s);
    sm_transport_destroy(&t);
}

ENV_TEST(transport_file_range_body)
{
    server s;
    sm_error err = {{0}};
    char path[512];
    snprintf(path, sizeof path, "%s/data.bin", home);
    FILE *f = fopen(path, "wb");
    CHECK(f);
    for (int i = 0; i < 100000; i++)
        fputc('a' + i % 26, f);
    fclose(f);
    CHECK(server_start(&s, REPLY_OK, 1) == 0);
    sm_transport *t = sm_transport_new(0, &err);
    sm_transport_request req = {.method = "PUT",
                                .url = url(&s, "/b/k"),
                                .body_file = path,
                                .body_offset = 30,
                                .body_len = 40000};
    sm_transport_response resp;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    server_stop(&s);
    CHECK(strstr(s.head, "PUT /b/k HTTP/1.1"));
    CHECK(strstr(s.head, "Content-Length: 40000"));
    CHECK(s.body_len == 40000);
    CHECK(s.body[0] == 'a' + 30 % 26 && s.body[39999] == 'a' + 40029 % 26);
    sm_transport_response_clear(&resp);
    /* A range past the end is refused before anything is sent. */
    req.body_offset = 99999;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_EFATAL);
    CHECK(strstr(err.message, "shorter"));
    sm_transport_destroy(&t);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Nothing but `keep` in `dir`: no temporary file left behind. */
static int only_file(const char *dir, const char *keep)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "test \"$(ls -A '%s' | grep -v '^%s$' | wc -l)\" = 0", dir, keep);
    return system(cmd) == 0;
}

ENV_TEST(transport_response_to_file_atomically)
{
    server s;
    sm_error err = {{0}};
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/out", home);
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof path, "%s/file.csv", dir);
    CHECK(server_start(&s, REPLY_OK, 1) == 0);
    sm_transport *t = sm_transport_new(0, &err);
    sm_transport_request req = {
        .method = "GET", .url = url(&s, "/b/k"), .response_file = path};
    sm_transport_response resp;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    server_stop(&s);
    CHECK(resp.status == 200 && resp.body.len == 0);
    FILE *f = fopen(path, "rb");
    char got[16] = "";
    CHECK(f);
    CHECK(fread(got, 1, sizeof got, f) == 5);
    fclose(f);
    CHECK(memcmp(got, "hello", 5) == 0);
    CHECK(only_file(dir, "file.csv"));
    sm_transport_response_clear(&resp);

    /* An error body goes to memory and the file is not touched. */
    remove(path);
    CHECK(server_start(&s,
                       "HTTP/1.1 404 Not Found\r\nContent-Length: 17\r\n"
                       "\r\n<Error>x</Error>\n",
                       1) == 0);
    req.url = url(&s, "/b/missing");
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    server_stop(&s);
    CHECK(resp.status == 404);
    CHECK_STR(sm_buf_str(&resp.body), "<Error>x</Error>\n");
    CHECK(!exists(path));
    CHECK(only_file(dir, "nothing"));
    sm_transport_response_clear(&resp);

    /* An empty 2xx body still makes an (empty) file. */
    CHECK(server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1) ==
          0);
    req.url = url(&s, "/b/empty");
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    server_stop(&s);
    CHECK(exists(path));
    sm_transport_response_clear(&resp);

    /* A connection that breaks mid-body leaves the old file alone. */
    CHECK(server_start(&s,
                       "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                       "partial",
                       1) == 0);
    req.url = url(&s, "/b/broken");
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_ECONNECT);
    server_stop(&s);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 0);
    CHECK(only_file(dir, "file.csv"));
    sm_transport_destroy(&t);
}

TEST(transport_read_timeout_and_refused)
{
    server s;
    sm_error err = {{0}};
    struct timespec t0, t1;
    CHECK(server_start(&s, REPLY_OK, 1) == 0);
    s.delay_ms = 2000;
    sm_transport *t = sm_transport_new(0, &err);
    sm_transport_request req = {
        .method = "GET", .url = url(&s, "/slow"), .read_timeout_ms = 500};
    sm_transport_response resp;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_ETIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms =
        (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms >= 450 && ms < 3000);
    CHECK(strstr(err.message, "no data for 500 ms (read timeout)"));
    CHECK(resp.status == 0 && resp.header_count == 0);
    server_stop(&s);

    /* Nobody listens on the port any more. */
    sm_error_clear(&err);
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_ECONNECT);
    CHECK(strstr(err.message, "GET http://127.0.0.1:"));
    req.url = "gopher://127.0.0.1/";
    sm_error_clear(&err);
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_EFATAL);
    sm_transport_destroy(&t);
}

TEST(transport_sends_the_path_as_is)
{
    /* S3 keys may hold "/./", "/../" and "//": the signed path is the one
     * that must arrive, not one curl tidied up. */
    server s;
    sm_error err = {{0}};
    CHECK(server_start(&s, REPLY_OK, 1) == 0);
    sm_transport *t = sm_transport_new(0, &err);
    sm_transport_request req = {.method = "GET",
                                .url = url(&s, "/b/a/./c/../d//e?x=1")};
    sm_transport_response resp;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    server_stop(&s);
    CHECK(strstr(s.head, "GET /b/a/./c/../d//e?x=1 HTTP/1.1\r\n") == s.head);
    sm_transport_response_clear(&resp);
    sm_transport_destroy(&t);
}

typedef struct progress_seen {
    uint64_t max_sent, max_received;
    int calls;
    long long stop_at_ms; /* say stop from this monotonic time on; 0: never */
} progress_seen;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int record_progress(void *ctx, uint64_t sent, uint64_t received)
{
    progress_seen *p = ctx;
    p->calls++;
    if (sent > p->max_sent)
        p->max_sent = sent;
    if (received > p->max_received)
        p->max_received = received;
    return p->stop_at_ms && now_ms() >= p->stop_at_ms;
}

TEST(transport_progress_counts_the_body_bytes)
{
    server s;
    sm_error err = {{0}};
    static char body[60000];
    memset(body, 'b', sizeof body);
    CHECK(server_start(&s, REPLY_OK, 1) == 0);
    sm_transport *t = sm_transport_new(0, &err);
    progress_seen seen = {0};
    sm_transport_request req = {.method = "PUT",
                                .url = url(&s, "/b/k"),
                                .body = body,
                                .body_len = sizeof body,
                                .progress = record_progress,
                                .progress_ctx = &seen};
    sm_transport_response resp;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    server_stop(&s);
    CHECK(s.body_len == sizeof body);
    CHECK(seen.calls > 0);
    CHECK(seen.max_sent == sizeof body);
    CHECK(seen.max_received == 5); /* "hello" */
    sm_transport_response_clear(&resp);
    sm_transport_destroy(&t);
}

TEST(transport_progress_callback_stops_the_exchange)
{
    /* The server takes 2.5 s to answer; the callback says stop after
     * 200 ms, and the exchange ends long before the answer would come. */
    server s;
    sm_error err = {{0}};
    CHECK(server_start(&s, REPLY_OK, 1) == 0);
    s.delay_ms = 2500;
    sm_transport *t = sm_transport_new(0, &err);
    long long t0 = now_ms();
    progress_seen seen = {.stop_at_ms = t0 + 200};
    sm_transport_request req = {.method = "GET",
                                .url = url(&s, "/slow"),
                                .progress = record_progress,
                                .progress_ctx = &seen};
    sm_transport_response resp;
    sm_transport_result r = sm_transport_send(t, &req, &resp, &err);
    long long ms = now_ms() - t0;
    server_stop(&s);
    CHECK(r == SM_TRANSPORT_EINTERRUPTED);
    CHECK(ms >= 190 && ms < 1800);
    CHECK(strstr(err.message, "stopped by the caller"));
    CHECK(resp.status == 0 && resp.header_count == 0);
    sm_transport_destroy(&t);
}

/* The whole of a small file as a string (static; valid until the next). */
static const char *file_text(const char *path)
{
    static char text[256];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    return text;
}

ENV_TEST(transport_response_into_a_descriptor_at_an_offset)
{
    server s;
    sm_error err = {{0}};
    char path[512];
    snprintf(path, sizeof path, "%s/ranges.bin", home);
    FILE *f = fopen(path, "wb");
    CHECK(f);
    fputs("XXXXXXXXXXXXXXX", f);
    fclose(f);
    int fd = open(path, O_WRONLY);
    CHECK(fd > 0);
    sm_transport *t = sm_transport_new(0, &err);
    CHECK(server_start(&s, REPLY_OK, 1) == 0);
    sm_transport_request req = {.method = "GET",
                                .url = url(&s, "/b/k"),
                                .response_fd = fd,
                                .response_offset = 5,
                                .response_max = 5};
    sm_transport_response resp;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    server_stop(&s);
    CHECK(resp.status == 200 && resp.body.len == 0);
    CHECK(resp.body_written == 5);
    CHECK_STR(file_text(path), "XXXXXhelloXXXXX");
    sm_transport_response_clear(&resp);

    /* An error body goes to memory; the file is not touched. */
    CHECK(server_start(&s,
                       "HTTP/1.1 404 Not Found\r\nContent-Length: 17\r\n"
                       "\r\n<Error>x</Error>\n",
                       1) == 0);
    req.url = url(&s, "/b/missing");
    req.response_offset = 0;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_OK);
    server_stop(&s);
    CHECK(resp.status == 404 && resp.body_written == 0);
    CHECK_STR(sm_buf_str(&resp.body), "<Error>x</Error>\n");
    CHECK_STR(file_text(path), "XXXXXhelloXXXXX");
    sm_transport_response_clear(&resp);

    /* A body longer than asked for fails before it spills past its range. */
    CHECK(server_start(&s, REPLY_OK, 1) == 0);
    req.url = url(&s, "/b/k");
    req.response_offset = 10;
    req.response_max = 4;
    CHECK(sm_transport_send(t, &req, &resp, &err) == SM_TRANSPORT_EFATAL);
    server_stop(&s);
    CHECK(strstr(err.message, "longer than the 4 bytes asked for"));
    CHECK(file_text(path)[14] == 'X');
    close(fd);
    sm_transport_destroy(&t);
}
