/* server: the transport. The five ZMTP sockets (zsock.h) served by one I/O
 * thread, which also answers heartbeats and runs control requests; shell
 * requests and stdin replies are queued for the caller's thread; any thread
 * may reply or publish. Signals and interrupt requests wake the shell
 * thread. */
#ifndef SM_SERVER_H
#define SM_SERVER_H

#include <jansson.h>

#include "connection.h"
#include "error.h"
#include "wire.h"

typedef struct sm_server sm_server;

typedef enum sm_channel { SM_CHANNEL_SHELL, SM_CHANNEL_CONTROL } sm_channel;

/* Called for each verified request, on the shell thread for shell messages
 * and on the I/O thread for control messages. `msg` is borrowed. */
typedef void (*sm_server_handler)(void *core, sm_channel channel,
                                  const sm_wire_msg *msg);

/* New server bound to the connection's endpoints. `auth` is borrowed and
 * must outlive the server. Blocks SIGINT and SIGTERM in the threads it
 * starts. NULL with `err` set when a socket cannot be bound. */
sm_server *sm_server_new(const sm_connection *conn, sm_wire_auth *auth,
                         const char *session, sm_error *err);

/* Start the I/O thread, install the SIGINT and SIGTERM handlers, publish
 * status "starting". */
int sm_server_start(sm_server *self, sm_server_handler handler, void *core);

/* Serve shell requests on the calling thread until sm_server_stop or
 * SIGTERM. Returns 0 on an orderly stop. */
int sm_server_run(sm_server *self);

/* Take one already queued shell request without waiting: 1 with `msg`
 * filled (clear it with sm_wire_msg_clear), 0 when none is queued. */
int sm_server_next_queued(sm_server *self, sm_wire_msg *msg);

/* Reply on `channel` to `request` (borrowed). `content` is stolen. */
int sm_server_reply(sm_server *self, sm_channel channel,
                    const sm_wire_msg *request, const char *msg_type,
                    json_t *content);

/* Publish on iopub with `parent` (borrowed header, NULL for none) and
 * `content` and `metadata` (stolen; metadata may be NULL). Any thread. */
int sm_server_publish(sm_server *self, const json_t *parent,
                      const char *msg_type, json_t *content,
                      json_t *metadata);

/* Send `input_request` content (stolen) on stdin to the client that sent
 * `request` and wait for its input_reply. On success *reply is the new
 * reply content. Fails at once on interrupt or stop. Shell thread only. */
int sm_server_input(sm_server *self, const sm_wire_msg *request,
                    json_t *content, json_t **reply, sm_error *err);

/* Wait up to `ms`; 1 as soon as an interrupt or stop arrives, else 0. */
int sm_server_wait(sm_server *self, long ms);

/* Interrupt state: set by SIGINT or sm_server_interrupt (any thread),
 * cleared by sm_server_clear_interrupt before each request runs. */
void sm_server_interrupt(sm_server *self);
int sm_server_interrupted(sm_server *self);
void sm_server_clear_interrupt(sm_server *self);

/* Ask the shell loop to return. Any thread, and async-signal-safe. */
void sm_server_stop(sm_server *self);
int sm_server_stopping(sm_server *self);

/* Join the I/O thread, give queued output up to a second to leave, close
 * every socket, release the ports, put back the signal handlers that were
 * there before sm_server_start. */
void sm_server_destroy(sm_server **self);

#endif
