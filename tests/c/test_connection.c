/* test_connection: reading connection files, with each kind of mistake, and
 * the authenticator made from what they hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connection.h"
#include "test.h"
#include "wire.h"

#define PORTS                                                                  \
    "\"shell_port\":5001,\"iopub_port\":5002,\"stdin_port\":5003,"             \
    "\"control_port\":5004,\"hb_port\":5005"

/* A temporary file holding `text`; its path goes into `path`. 0 on success. */
static int write_temp(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/sm-test-conn-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    return ok ? 0 : -1;
}

/* Load `text` as a connection file; the error message, "" on success. The
 * file's path in the message is replaced by FILE so tests can compare. */
static const char *load_text(sm_connection *conn, const char *text,
                             sm_error *err)
{
    static char message[sizeof err->message];
    char path[64];
    sm_error_clear(err);
    *conn = (sm_connection){0};
    if (write_temp(path, text))
        return "cannot write the temporary file";
    int rc = sm_connection_load(conn, path, err);
    unlink(path);
    if (rc == 0)
        return err->message[0] ? "success with an error message" : "";
    if (conn->key)
        return "failure kept the key";
    const char *at = strstr(err->message, path);
    if (!at)
        return err->message;
    snprintf(message, sizeof message, "%.*sFILE%s", (int)(at - err->message),
             err->message, at + strlen(path));
    return message;
}

TEST(connection_valid_tcp)
{
    sm_connection conn;
    sm_error err = {{0}};
    CHECK_STR(load_text(&conn,
                        "{\"transport\":\"tcp\",\"ip\":\"127.0.0.1\"," PORTS
                        ",\"signature_scheme\":\"hmac-sha256\","
                        "\"key\":\"a0436f6c-1916-498b-8eb9-e81ab9368e84\","
                        "\"kernel_name\":\"sagemagic\"}",
                        &err),
              "");
    CHECK_STR(conn.transport, "tcp");
    CHECK_STR(conn.ip, "127.0.0.1");
    CHECK(conn.shell_port == 5001 && conn.iopub_port == 5002 &&
          conn.stdin_port == 5003 && conn.control_port == 5004 &&
          conn.hb_port == 5005);
    CHECK_STR(conn.signature_scheme, "hmac-sha256");
    CHECK_STR(conn.key, "a0436f6c-1916-498b-8eb9-e81ab9368e84");
    CHECK(conn.key_len == 36);
    char endpoint[300];
    sm_connection_endpoint(&conn, conn.shell_port, endpoint, sizeof endpoint);
    CHECK_STR(endpoint, "tcp://127.0.0.1:5001");
    sm_connection_endpoint(&conn, conn.hb_port, endpoint, sizeof endpoint);
    CHECK_STR(endpoint, "tcp://127.0.0.1:5005");

    sm_wire_auth *auth =
        sm_wire_auth_new(conn.signature_scheme, conn.key, conn.key_len, &err);
    CHECK(auth);
    sm_wire_auth_destroy(&auth);
    sm_connection_clear(&conn);
    CHECK(conn.key == NULL && conn.key_len == 0);
    sm_connection_clear(&conn); /* twice is harmless */
}

TEST(connection_valid_ipc)
{
    sm_connection conn;
    sm_error err = {{0}};
    CHECK_STR(load_text(&conn,
                        "{\"transport\":\"ipc\",\"ip\":\"/tmp/kernel-1\"," PORTS
                        ",\"signature_scheme\":\"hmac-sha256\",\"key\":\"k\"}",
                        &err),
              "");
    CHECK_STR(conn.transport, "ipc");
    char endpoint[300];
    sm_connection_endpoint(&conn, conn.iopub_port, endpoint, sizeof endpoint);
    CHECK_STR(endpoint, "ipc:///tmp/kernel-1-5002");
    sm_connection_clear(&conn);
}

TEST(connection_defaults)
{
    sm_connection conn;
    sm_error err = {{0}};
    /* Only ports: tcp on localhost, hmac-sha256, no key. */
    CHECK_STR(load_text(&conn, "{" PORTS "}", &err), "");
    CHECK_STR(conn.transport, "tcp");
    CHECK_STR(conn.ip, "127.0.0.1");
    CHECK_STR(conn.signature_scheme, "hmac-sha256");
    CHECK(conn.key && conn.key_len == 0);
    sm_connection_clear(&conn);
}

TEST(connection_missing_or_wrong_ports)
{
    sm_connection conn;
    sm_error err = {{0}};
    CHECK_STR(load_text(&conn,
                        "{\"shell_port\":5001,\"iopub_port\":5002,"
                        "\"stdin_port\":5003,\"control_port\":5004,"
                        "\"key\":\"k\"}",
                        &err),
              "bad connection file FILE: 'hb_port' must be a port number");
    CHECK_STR(load_text(&conn,
                        "{\"shell_port\":\"5001\",\"iopub_port\":5002,"
                        "\"stdin_port\":5003,\"control_port\":5004,"
                        "\"hb_port\":5005}",
                        &err),
              "bad connection file FILE: 'shell_port' must be a port number");
    CHECK_STR(load_text(&conn,
                        "{\"shell_port\":5001,\"iopub_port\":5002.5,"
                        "\"stdin_port\":5003,\"control_port\":5004,"
                        "\"hb_port\":5005}",
                        &err),
              "bad connection file FILE: 'iopub_port' must be a port number");
    CHECK_STR(load_text(&conn,
                        "{\"shell_port\":5001,\"iopub_port\":5002,"
                        "\"stdin_port\":65536,\"control_port\":5004,"
                        "\"hb_port\":5005}",
                        &err),
              "bad connection file FILE: 'stdin_port' must be a port number");
    CHECK_STR(load_text(&conn,
                        "{\"shell_port\":5001,\"iopub_port\":5002,"
                        "\"stdin_port\":5003,\"control_port\":-1,"
                        "\"hb_port\":5005}",
                        &err),
              "bad connection file FILE: 'control_port' must be a port "
              "number");
}

TEST(connection_bad_transport_and_strings)
{
    sm_connection conn;
    sm_error err = {{0}};
    CHECK_STR(load_text(&conn, "{\"transport\":\"udp\"," PORTS "}", &err),
              "bad connection file FILE: transport must be tcp or ipc, not "
              "'udp'");
    CHECK_STR(load_text(&conn, "{\"transport\":5," PORTS "}", &err),
              "bad connection file FILE: 'transport' must be a string");
    CHECK_STR(load_text(&conn, "{\"ip\":null," PORTS "}", &err),
              "bad connection file FILE: 'ip' must be a string");
    CHECK_STR(load_text(&conn, "{\"key\":42," PORTS "}", &err),
              "bad connection file FILE: 'key' must be a string");
    CHECK_STR(load_text(&conn,
                        "{\"signature_scheme\":\"hmac-sha256-but-much-too-"
                        "long-to-fit\"," PORTS "}",
                        &err),
              "bad connection file FILE: 'signature_scheme' is too long");
}

TEST(connection_not_json_or_missing)
{
    sm_connection conn;
    sm_error err = {{0}};
    CHECK_STR(load_text(&conn, "[1, 2]", &err),
              "bad connection file FILE: not a JSON object");
    const char *got = load_text(&conn, "{\"shell_port\": ", &err);
    CHECK(strncmp(got, "cannot read connection file FILE: ", 34) == 0);
    sm_error_clear(&err);
    CHECK(sm_connection_load(&conn, "/nonexistent/sm-kernel.json", &err) == -1);
    CHECK(strncmp(err.message,
                  "cannot read connection file /nonexistent/sm-kernel.json: ",
                  57) == 0);
}

TEST(connection_unknown_signature_scheme)
{
    sm_connection conn;
    sm_error err = {{0}};
    /* The file is read as it is; the scheme is checked by the wire layer. */
    CHECK_STR(
        load_text(&conn,
                  "{\"signature_scheme\":\"hmac-md99\",\"key\":\"k\"," PORTS
                  "}",
                  &err),
        "");
    CHECK(sm_wire_auth_new(conn.signature_scheme, conn.key, conn.key_len,
                           &err) == NULL);
    CHECK_STR(err.message, "unsupported signature_scheme 'hmac-md99' "
                           "(hmac-sha256 and hmac-sha512 are supported)");
    sm_connection_clear(&conn);
}

TEST(connection_empty_key_turns_auth_off)
{
    sm_connection conn;
    sm_error err = {{0}};
    CHECK_STR(load_text(&conn, "{\"key\":\"\"," PORTS "}", &err), "");
    CHECK(conn.key_len == 0);
    CHECK_STR(conn.key, "");
    sm_wire_auth *auth =
        sm_wire_auth_new(conn.signature_scheme, conn.key, conn.key_len, &err);
    CHECK(auth);
    sm_frame frames[6] = {{SM_WIRE_DELIMITER, 9},
                          {"", 0},
                          {"{\"msg_id\":\"1\",\"msg_type\":\"t\"}", 29},
                          {"{}", 2},
                          {"{}", 2},
                          {"{}", 2}};
    sm_wire_msg msg;
    CHECK(sm_wire_decode(auth, frames, 6, &msg, &err) == 0);
    CHECK_STR(msg.msg_type, "t");
    sm_wire_msg_clear(&msg);
    sm_wire_auth_destroy(&auth);
    sm_connection_clear(&conn);
}
