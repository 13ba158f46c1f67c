/* httpd: the local service's HTTP front. libmicrohttpd on one port with
 * a pool of epoll threads, and finisher threads that make streamed bodies
 * durable (and run the routes' slow handlers) while their connections are
 * suspended. Each request is
 * authenticated (SigV4), routed by the service its credential scope
 * names, its body taken in memory up to the route's limit or streamed to
 * disk (SHA-256, checksums, aws-chunked decoding and chunk signatures
 * checked on the way), then answered. */
#ifndef SM_HTTPD_H
#define SM_HTTPD_H

#include <stddef.h>
#include <time.h>

#include "error.h"
#include "router.h"

typedef struct sm_httpd sm_httpd;

typedef struct sm_httpd_config {
    const char *host;         /* an IP address to listen on: "127.0.0.1" */
    int port;                 /* 0: any free port */
    sm_local_env *env;        /* borrowed; outlives the server */
    const char *secret_key;   /* borrowed: the secret of env->access_key */
    time_t (*now)(void *ctx); /* the clock (a seam); NULL: time() */
    void *now_ctx;
} sm_httpd_config;

/* Listen and serve in background threads. New server, or NULL with `err`
 * set (the address is taken, ...). */
sm_httpd *sm_httpd_start(const sm_httpd_config *config, sm_error *err);

/* The port it listens on (the one chosen when config->port was 0). */
int sm_httpd_port(const sm_httpd *self);

/* Requests being served right now. */
size_t sm_httpd_in_flight(const sm_httpd *self);

/* Stop taking connections, let requests in flight finish for up to
 * `grace_ms`, then close everything and free the server; *self = NULL. */
void sm_httpd_stop(sm_httpd **self, int grace_ms);

#endif
