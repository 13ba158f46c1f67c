/* core: the message core. Routes each request to its handler through a
 * table, keeps busy/idle, the execution count, history, stop_on_error and
 * shutdown, and gives the interpreter its output channel. */
#ifndef SM_CORE_H
#define SM_CORE_H

#include "interp.h"
#include "server.h"

typedef struct sm_kernel sm_kernel;

/* New core serving `server` (borrowed) with `interp` (copied handle; its
 * self stays the caller's). */
sm_kernel *sm_kernel_new(sm_server *server, sm_interp interp);

/* Entry point the server calls for each request (an sm_server_handler). */
void sm_kernel_handle(void *kernel, sm_channel channel, const sm_wire_msg *msg);

/* After the server is destroyed (so no thread is left in a handler): tell
 * the interpreter and free the core. */
void sm_kernel_destroy(sm_kernel **self);

#endif
