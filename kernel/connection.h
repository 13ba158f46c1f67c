/* connection: the connection file Jupyter hands a kernel (kernels.rst). */
#ifndef SM_CONNECTION_H
#define SM_CONNECTION_H

#include "error.h"

typedef struct sm_connection {
    char transport[8];  /* "tcp" or "ipc" */
    char ip[256];
    int shell_port, iopub_port, stdin_port, control_port, hb_port;
    char signature_scheme[32];
    char *key;          /* owned; wiped when cleared */
    size_t key_len;
} sm_connection;

/* Read and check the connection file at `path` into `self`. Returns 0, or -1
 * with `err` naming the file and what is wrong with it. */
int sm_connection_load(sm_connection *self, const char *path, sm_error *err);

/* Endpoint for one of the ports: tcp://ip:port or ipc://ip-port. */
void sm_connection_endpoint(const sm_connection *self, int port, char *buf,
                            size_t size);

/* Wipe and free the key. */
void sm_connection_clear(sm_connection *self);

#endif
