/* zmq_echo: the floors the kernel benchmark compares an execute round trip
 * with. `zmq_echo ROUTER_ENDPOINT` sends every message straight back; with a
 * PUB_ENDPOINT too, it also publishes each message three times around the
 * reply (two before, one after), the message pattern of an execute (busy,
 * execute_input, execute_reply, idle) with no kernel work at all. */
#include <stdio.h>
#include <zmq.h>

#define MAX_FRAMES 32

/* Send frames [from, n) of `parts` on `s`, each as a copy. */
static void send_parts(void *s, zmq_msg_t *parts, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        zmq_msg_t copy;
        zmq_msg_init(&copy);
        zmq_msg_copy(&copy, &parts[i]);
        zmq_msg_send(&copy, s, i + 1 < n ? ZMQ_SNDMORE : 0);
        zmq_msg_close(&copy);
    }
}

/* The message without its routing identity, under a topic frame. */
static void publish(void *pub, zmq_msg_t *parts, size_t n)
{
    if (!pub)
        return;
    zmq_send(pub, "kernel.echo", 11, ZMQ_SNDMORE);
    send_parts(pub, parts, 1, n);
}

/* Receive one multipart message; returns its frame count, 0 on error. */
static size_t recv_parts(void *s, zmq_msg_t *parts)
{
    size_t n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, s, 0) < 0) {
            zmq_msg_close(&part);
            return 0;
        }
        more = zmq_msg_more(&part);
        if (n < MAX_FRAMES)
            parts[n++] = part;
        else
            zmq_msg_close(&part);
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fputs("usage: zmq_echo ROUTER_ENDPOINT [PUB_ENDPOINT]\n", stderr);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *pub = argc == 3 ? zmq_socket(ctx, ZMQ_PUB) : NULL;
    if (!router || zmq_bind(router, argv[1]) != 0 ||
        (argc == 3 && (!pub || zmq_bind(pub, argv[2]) != 0))) {
        fprintf(stderr, "zmq_echo: cannot bind: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    /* The first frame is the peer's identity, so sending the frames back in
     * order routes the message to where it came from. */
    zmq_msg_t parts[MAX_FRAMES];
    size_t n;
    while ((n = recv_parts(router, parts)) > 0) {
        publish(pub, parts, n);
        publish(pub, parts, n);
        send_parts(router, parts, 0, n);
        publish(pub, parts, n);
        for (size_t i = 0; i < n; i++)
            zmq_msg_close(&parts[i]);
    }
    if (pub)
        zmq_close(pub);
    zmq_close(router);
    zmq_ctx_term(ctx);
    return 0;
}
