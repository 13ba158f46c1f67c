/* test_server: the server end to end over loopback TCP with a C ZMTP client
 * (zmtp_peer.c): a shell request whose handler asks for input on stdin,
 * the input_reply routed back to it by the client's identity, the reply on
 * shell, and the heartbeat's REP echo. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "test.h"
#include "zmtp_peer.h"

#define IDENTITY "client-1"

typedef struct fixture {
    sm_server *server;
    sm_wire_auth *client_auth;
    int shell_port, stdin_port, hb_port;
    char prompt[64], value[64], hb_echo[64];
    int failed_at;
} fixture;

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The kernel's side: an execute_request asks for a line on stdin and
 * answers with what came back. */
static void handle(void *core, sm_channel channel, const sm_wire_msg *msg)
{
    fixture *f = core;
    if (strcmp(msg->msg_type, "execute_request") != 0)
        return;
    json_t *reply = NULL;
    sm_error err = {0};
    json_t *request =
        json_pack("{s:s, s:b}", "prompt", "name? ", "password", 0);
    const char *value = "";
    if (sm_server_input(f->server, msg, request, &reply, &err) == 0)
        value = json_string_value(json_object_get(reply, "value"));
    sm_server_reply(
        f->server, channel, msg, "execute_reply",
        json_pack("{s:s, s:s}", "status", "ok", "value", value ? value : ""));
    json_decref(reply);
}

static int send_json(fixture *f, zpeer *p, const char *type,
                     const json_t *parent, json_t *content)
{
    json_t *header = sm_wire_header_new("client-session", type);
    sm_wire_out out;
    int rc = sm_wire_encode(f->client_auth, NULL, 0, header, parent, NULL,
                            content, &out);
    if (!rc) {
        rc = zpeer_send(p, out.frames, out.count);
        sm_wire_out_clear(&out);
    }
    json_decref(header);
    json_decref(content);
    return rc;
}

static int recv_json(fixture *f, zpeer *p, sm_wire_msg *msg)
{
    const sm_frame *frames;
    size_t n;
    sm_error err = {0};
    if (zpeer_recv(p, &frames, &n))
        return -1;
    return sm_wire_decode(f->client_auth, frames, n, msg, &err);
}

static void copy_string(char *dst, size_t size, const json_t *v)
{
    snprintf(dst, size, "%s", json_string_value(v) ? json_string_value(v) : "");
}

/* The client's side of one execute with input; fills the fixture. */
static int client_exchange(fixture *f, zpeer *shell, zpeer *in)
{
    sm_wire_msg msg;
    if (send_json(f, shell, "execute_request", NULL,
                  json_pack("{s:s}", "code", "ask")))
        return 1;
    if (recv_json(f, in, &msg))
        return 2;
    copy_string(f->prompt, sizeof f->prompt,
                json_object_get(msg.content, "prompt"));
    int rc = send_json(f, in, "input_reply", msg.header,
                       json_pack("{s:s}", "value", "Ada"));
    sm_wire_msg_clear(&msg);
    if (rc || recv_json(f, shell, &msg))
        return 3;
    copy_string(f->value, sizeof f->value,
                json_object_get(msg.content, "value"));
    sm_wire_msg_clear(&msg);
    return 0;
}

static int client_heartbeat(fixture *f, zpeer *hb)
{
    sm_frame ping[2] = {{"", 0}, {"ping-1", 6}};
    const sm_frame *frames;
    size_t n;
    if (zpeer_send(hb, ping, 2) || zpeer_recv(hb, &frames, &n) || n != 2 ||
        frames[0].size != 0)
        return 4;
    snprintf(f->hb_echo, sizeof f->hb_echo, "%.*s", (int)frames[1].size,
             (const char *)frames[1].data);
    return 0;
}

static void *client_main(void *arg)
{
    fixture *f = arg;
    zpeer shell, in, hb;
    int s = zpeer_connect(&shell, f->shell_port, "DEALER", IDENTITY);
    int i = zpeer_connect(&in, f->stdin_port, "DEALER", IDENTITY);
    int h = zpeer_connect(&hb, f->hb_port, "REQ", NULL);
    /* Our READYs reach the kernel's I/O thread at once, but give it a
     * moment to register the stdin identity before it is needed. */
    usleep(200 * 1000);
    f->failed_at = s || i || h ? 5 : client_exchange(f, &shell, &in);
    if (!f->failed_at)
        f->failed_at = client_heartbeat(f, &hb);
    if (!s)
        zpeer_close(&shell);
    if (!i)
        zpeer_close(&in);
    if (!h)
        zpeer_close(&hb);
    sm_server_stop(f->server);
    return NULL;
}

TEST(server_input_request_round_trip)
{
    fixture f = {0};
    sm_connection conn = {.transport = "tcp",
                          .ip = "127.0.0.1",
                          .signature_scheme = "hmac-sha256"};
    conn.shell_port = f.shell_port = free_port();
    conn.stdin_port = f.stdin_port = free_port();
    conn.hb_port = f.hb_port = free_port();
    conn.iopub_port = free_port();
    conn.control_port = free_port();
    sm_error err = {0};
    sm_wire_auth *auth = sm_wire_auth_new("hmac-sha256", "key", 3, &err);
    f.client_auth = sm_wire_auth_new("hmac-sha256", "key", 3, &err);
    CHECK(auth && f.client_auth);
    f.server = sm_server_new(&conn, auth, "kernel-session", &err);
    CHECK_STR(err.message, "");
    CHECK(f.server != NULL);
    if (!f.server)
        goto out;
    pthread_t client;
    CHECK(sm_server_start(f.server, handle, &f) == 0);
    CHECK(pthread_create(&client, NULL, client_main, &f) == 0);
    CHECK(sm_server_run(f.server) == 0); /* until the client stops it */
    pthread_join(client, NULL);
    CHECK(f.failed_at == 0);
    CHECK_STR(f.prompt, "name? ");
    CHECK_STR(f.value, "Ada");
    CHECK_STR(f.hb_echo, "ping-1");
out:
    sm_server_destroy(&f.server);
    sm_wire_auth_destroy(&auth);
    sm_wire_auth_destroy(&f.client_auth);
}
