/* main: the sagemagic kernel process Jupyter starts with a connection file. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "connection.h"
#include "core.h"
#include "log.h"
#include "magics.h"
#include "server.h"

static const char usage[] =
    "usage: sagemagic CONNECTION_FILE\n"
    "       sagemagic --magics-markdown   (the magics reference as Markdown)\n"
    "       sagemagic --version\n";

static int serve(const char *path)
{
    sm_error err = {0};
    sm_connection conn;
    char session[37];
    if (sm_connection_load(&conn, path, &err)) {
        sm_error("%s", err.message);
        return 1;
    }
    sm_wire_auth *auth = sm_wire_auth_new(conn.signature_scheme, conn.key,
                                          conn.key_len, &err);
    sm_wire_uuid(session);
    sm_server *server = auth ? sm_server_new(&conn, auth, session, &err) : NULL;
    sm_connection_clear(&conn);
    sm_magics *magics = sm_magics_new();
    sm_kernel *kernel = server && magics
                            ? sm_kernel_new(server, sm_magics_interp(magics))
                            : NULL;
    int rc = 1;
    if (kernel && sm_server_start(server, sm_kernel_handle, kernel) == 0) {
        sm_info("kernel ready, session %s", session);
        rc = sm_server_run(server) ? 1 : 0;
    } else {
        sm_error("cannot start: %s", err.message[0] ? err.message : "out of memory");
    }
    /* The server first: it joins the control thread, which may still be in
     * a handler using the kernel (the idle after a shutdown_request). */
    sm_server_destroy(&server);
    sm_kernel_destroy(&kernel);
    sm_magics_destroy(&magics);
    sm_wire_auth_destroy(&auth);
    sm_info("kernel stopped");
    return rc;
}

int main(int argc, char **argv)
{
    sm_log_init();
#ifdef __GLIBC__
    /* Messages can be megabytes. glibc raises its mmap threshold each time
     * such a block is freed, so later big blocks come from heaps it seldom
     * gives back; a fixed threshold returns them to the system. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
    if (argc == 2 && strcmp(argv[1], "--magics-markdown") == 0) {
        char *md = sm_magics_reference_markdown();
        fputs(md, stdout);
        free(md);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        puts("sagemagic 0.1.0");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    /* Jupyter keeps a kernel's stdout in the server log; nothing of ours
     * belongs there, so C libraries' stray prints go to stderr too. */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    if (sodium_init() < 0) {
        sm_error("libsodium cannot start");
        return 1;
    }
    return serve(argv[1]);
}
