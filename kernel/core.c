/* core: request handlers (messaging.rst) as rows of one table. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "log.h"
#include "utf8.h"

struct sm_kernel {
    sm_server *server;
    sm_interp interp;
    sm_history *history;
    json_t *kernel_info; /* built once, copied per reply */
    int execution_count;
    int aborting;
    int restart;
};

struct sm_out {
    sm_kernel *k;
    const sm_wire_msg *request;
    int execution_count;
    bool silent;
    bool allow_stdin;
    bool store_history;
    json_t *payload; /* array of payload dicts */
    json_t *error;   /* {ename, evalue, traceback} of the cell's error */
};

typedef void (*route_fn)(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg);

#define ON_SHELL 1u
#define ON_CONTROL 2u

struct route {
    const char *msg_type;
    route_fn fn;
    unsigned channels;
};

/* ---- outputs ---------------------------------------------------------- */

static int publish(sm_out *out, const char *msg_type, json_t *content)
{
    return sm_server_publish(out->k->server, out->request->header, msg_type,
                             content, NULL);
}

/* A JSON string of `text`, repaired into valid UTF-8 when it is not. */
static json_t *text_value(const char *text)
{
    size_t len = strlen(text);
    if (sm_utf8_valid(text, len))
        return json_stringn(text, len);
    char *fixed = sm_utf8_repair(text, len);
    json_t *value = fixed ? json_string(fixed) : NULL;
    free(fixed);
    return value;
}

int sm_out_stream(sm_out *out, const char *name, const char *text)
{
    if (out->silent || !*text)
        return 0;
    return publish(out, "stream",
                   json_pack("{s:s, s:o}", "name", name, "text", text_value(text)));
}

static int display_message(sm_out *out, const char *msg_type, json_t *data,
                           json_t *metadata, const char *display_id)
{
    if (out->silent) {
        json_decref(data);
        json_decref(metadata);
        return 0;
    }
    json_t *content = json_pack("{s:o, s:o}", "data", data, "metadata",
                                metadata ? metadata : json_object());
    if (display_id)
        json_object_set_new(content, "transient",
                            json_pack("{s:s}", "display_id", display_id));
    return publish(out, msg_type, content);
}

int sm_out_display(sm_out *out, json_t *data, json_t *metadata,
                   const char *display_id)
{
    return display_message(out, "display_data", data, metadata, display_id);
}

int sm_out_update_display(sm_out *out, json_t *data, json_t *metadata,
                          const char *display_id)
{
    if (!display_id) {
        json_decref(data);
        json_decref(metadata);
        return -1;
    }
    return display_message(out, "update_display_data", data, metadata,
                           display_id);
}

int sm_out_result(sm_out *out, json_t *data, json_t *metadata)
{
    const char *plain = json_string_value(json_object_get(data, "text/plain"));
    if (out->store_history && plain)
        sm_history_set_output(out->k->history, out->execution_count, plain);
    if (out->silent) {
        json_decref(data);
        json_decref(metadata);
        return 0;
    }
    return publish(out, "execute_result",
                   json_pack("{s:i, s:o, s:o}", "execution_count",
                             out->execution_count, "data", data, "metadata",
                             metadata ? metadata : json_object()));
}

int sm_out_error(sm_out *out, const char *ename, const char *evalue,
                 json_t *traceback)
{
    if (!traceback)
        traceback = json_pack("[o]", text_value(evalue));
    json_t *error = json_pack("{s:s, s:o, s:o}", "ename", ename, "evalue",
                              text_value(evalue), "traceback", traceback);
    if (!error)
        return -1;
    if (!out->error)
        out->error = json_incref(error);
    if (out->silent) {
        json_decref(error);
        return 0;
    }
    return publish(out, "error", error);
}

int sm_out_clear(sm_out *out, bool wait)
{
    if (out->silent)
        return 0;
    return publish(out, "clear_output", json_pack("{s:b}", "wait", wait));
}

int sm_out_page(sm_out *out, json_t *data)
{
    return json_array_append_new(out->payload,
                                 json_pack("{s:s, s:o, s:i}", "source", "page",
                                           "data", data, "start", 0));
}

int sm_out_input(sm_out *out, const char *prompt, bool password, char **value,
                 sm_error *err)
{
    *value = NULL;
    if (!out->allow_stdin)
        return sm_error_set(err, "this frontend does not accept input");
    json_t *reply = NULL;
    json_t *request = json_pack("{s:s, s:b}", "prompt", prompt, "password",
                                password);
    if (sm_server_input(out->k->server, out->request, request, &reply, err))
        return -1;
    const char *text = json_string_value(json_object_get(reply, "value"));
    int rc = 0;
    if (!text || strcmp(text, "\x04") == 0)
        rc = sm_error_set(err, "no input (end of file)");
    else if (!(*value = strdup(text)))
        rc = sm_error_set(err, "out of memory");
    json_decref(reply);
    return rc;
}

int sm_out_wait(sm_out *out, long ms)
{
    return sm_server_wait(out->k->server, ms);
}

int sm_out_interrupted(sm_out *out)
{
    return sm_server_interrupted(out->k->server) ||
           sm_server_stopping(out->k->server);
}

/* ---- handlers --------------------------------------------------------- */

static void reply(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg,
                  json_t *content)
{
    char type[128];
    size_t len = strlen(msg->msg_type);
    /* foo_request -> foo_reply */
    if (len > 8 && strcmp(msg->msg_type + len - 8, "_request") == 0)
        snprintf(type, sizeof type, "%.*s_reply", (int)(len - 8), msg->msg_type);
    else
        snprintf(type, sizeof type, "%.100s_reply", msg->msg_type);
    sm_server_reply(k->server, ch, msg, type, content);
}

static void on_kernel_info(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    reply(k, ch, msg, json_deep_copy(k->kernel_info));
}

static json_t *evaluate_expressions(sm_kernel *k, const json_t *expressions)
{
    json_t *results = json_object();
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)expressions, key, value) {
        sm_error err = {0};
        const char *expr = json_string_value(value);
        json_t *data = expr && k->interp.ops->evaluate
                           ? k->interp.ops->evaluate(k->interp.self, expr, &err)
                           : NULL;
        if (!data && !err.message[0])
            sm_error_set(&err, "not an expression");
        json_object_set_new(
            results, key,
            data ? json_pack("{s:s, s:o, s:{}}", "status", "ok", "data", data,
                             "metadata")
                 : json_pack("{s:s, s:s, s:s, s:[]}", "status", "error",
                             "ename", "UsageError", "evalue", err.message,
                             "traceback"));
    }
    return results;
}

static json_t *execute_reply(sm_kernel *k, sm_out *out, int failed,
                             const json_t *content)
{
    json_t *r;
    if (failed && out->error) {
        r = json_deep_copy(out->error);
        json_object_set_new(r, "status", json_string("error"));
    } else if (failed) {
        r = json_pack("{s:s, s:s, s:s, s:[]}", "status", "error", "ename",
                      "Error", "evalue", "the cell failed", "traceback");
    } else {
        r = json_pack("{s:s}", "status", "ok");
    }
    json_t *exprs = json_object_get(content, "user_expressions");
    json_object_set_new(r, "execution_count", json_integer(out->execution_count));
    json_object_set_new(r, "user_expressions",
                        json_is_object(exprs) ? evaluate_expressions(k, exprs)
                                              : json_object());
    json_object_set(r, "payload", out->payload);
    return r;
}

static bool flag(const json_t *content, const char *name, bool fallback)
{
    json_t *v = json_object_get(content, name);
    return json_is_boolean(v) ? json_is_true(v) : fallback;
}

static void on_execute(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    const char *code = json_string_value(json_object_get(msg->content, "code"));
    bool silent = flag(msg->content, "silent", false);
    sm_out out = {
        .k = k,
        .request = msg,
        .silent = silent,
        .allow_stdin = flag(msg->content, "allow_stdin", true),
        .store_history = !silent && flag(msg->content, "store_history", true),
        .payload = json_array(),
    };
    if (out.store_history)
        k->execution_count++;
    out.execution_count = k->execution_count;
    int failed;
    sm_server_clear_interrupt(k->server);
    if (!code) {
        sm_out_error(&out, "ProtocolError", "execute_request has no code string",
                     NULL);
        failed = 1;
    } else {
        if (out.store_history)
            sm_history_add(k->history, out.execution_count, code);
        if (!silent)
            publish(&out, "execute_input",
                    json_pack("{s:s, s:i}", "code", code, "execution_count",
                              out.execution_count));
        sm_exec_request req = {code, out.execution_count, silent,
                               out.store_history, out.allow_stdin};
        failed = k->interp.ops->execute(k->interp.self, &out, &req) != 0;
    }
    reply(k, ch, msg, execute_reply(k, &out, failed, msg->content));
    if (failed && !silent && flag(msg->content, "stop_on_error", true))
        k->aborting = 1;
    json_decref(out.payload);
    json_decref(out.error);
}

static void on_complete(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    const char *code = json_string_value(json_object_get(msg->content, "code"));
    json_t *pos = json_object_get(msg->content, "cursor_pos");
    if (!code)
        code = "";
    size_t cursor = json_is_integer(pos) && json_integer_value(pos) >= 0
                        ? sm_utf8_byte_offset(code, (size_t)json_integer_value(pos))
                        : strlen(code);
    json_t *matches = NULL;
    size_t start = cursor, end = cursor;
    k->interp.ops->complete(k->interp.self, code, cursor, &matches, &start, &end);
    reply(k, ch, msg,
          json_pack("{s:s, s:o, s:I, s:I, s:{}}", "status", "ok", "matches",
                    matches ? matches : json_array(), "cursor_start",
                    (json_int_t)sm_utf8_cp_count(code, start), "cursor_end",
                    (json_int_t)sm_utf8_cp_count(code, end), "metadata"));
}

static void on_inspect(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    const char *code = json_string_value(json_object_get(msg->content, "code"));
    json_t *pos = json_object_get(msg->content, "cursor_pos");
    json_t *level = json_object_get(msg->content, "detail_level");
    if (!code)
        code = "";
    size_t cursor = json_is_integer(pos) && json_integer_value(pos) >= 0
                        ? sm_utf8_byte_offset(code, (size_t)json_integer_value(pos))
                        : strlen(code);
    json_t *data = k->interp.ops->inspect(k->interp.self, code, cursor,
                                          (int)json_integer_value(level));
    reply(k, ch, msg,
          json_pack("{s:s, s:b, s:o, s:{}}", "status", "ok", "found",
                    data != NULL, "data", data ? data : json_object(),
                    "metadata"));
}

static void on_is_complete(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    static const char *const names[] = {"complete", "incomplete", "invalid",
                                        "unknown"};
    const char *code = json_string_value(json_object_get(msg->content, "code"));
    char *indent = NULL;
    sm_completeness c = code ? k->interp.ops->is_complete(k->interp.self, code,
                                                          &indent)
                             : SM_CODE_INVALID;
    json_t *r = json_pack("{s:s}", "status", names[c]);
    if (c == SM_CODE_INCOMPLETE)
        json_object_set_new(r, "indent", json_string(indent ? indent : ""));
    free(indent);
    reply(k, ch, msg, r);
}

static void on_history(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    reply(k, ch, msg,
          json_pack("{s:s, s:o}", "status", "ok", "history",
                    sm_history_query(k->history, msg->content)));
}

static void on_comm_info(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    reply(k, ch, msg, json_pack("{s:s, s:{}}", "status", "ok", "comms"));
}

/* No comm targets exist, so every comm_open is closed at once. */
static void on_comm_open(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    json_t *id = json_object_get(msg->content, "comm_id");
    if (json_is_string(id))
        sm_server_publish(k->server, msg->header, "comm_close",
                          json_pack("{s:O, s:{}}", "comm_id", id, "data"),
                          NULL);
}

static void on_comm_ignored(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    sm_debug("%s for an unknown comm ignored", msg->msg_type);
}

static void on_shutdown(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    bool restart = flag(msg->content, "restart", false);
    json_t *content = json_pack("{s:s, s:b}", "status", "ok", "restart", restart);
    reply(k, ch, msg, json_incref(content));
    sm_server_publish(k->server, msg->header, "shutdown_reply", content, NULL);
    k->restart = restart;
    sm_server_stop(k->server);
}

static void on_interrupt(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    sm_server_interrupt(k->server);
    reply(k, ch, msg, json_pack("{s:s}", "status", "ok"));
}

static const struct route routes[] = {
    {"kernel_info_request", on_kernel_info, ON_SHELL | ON_CONTROL},
    {"execute_request", on_execute, ON_SHELL},
    {"complete_request", on_complete, ON_SHELL},
    {"inspect_request", on_inspect, ON_SHELL},
    {"is_complete_request", on_is_complete, ON_SHELL},
    {"history_request", on_history, ON_SHELL},
    {"comm_info_request", on_comm_info, ON_SHELL},
    {"comm_open", on_comm_open, ON_SHELL},
    {"comm_msg", on_comm_ignored, ON_SHELL},
    {"comm_close", on_comm_ignored, ON_SHELL},
    {"shutdown_request", on_shutdown, ON_SHELL | ON_CONTROL},
    {"interrupt_request", on_interrupt, ON_CONTROL},
};

static void set_status(sm_kernel *k, const sm_wire_msg *msg, const char *state)
{
    sm_server_publish(k->server, msg->header, "status",
                      json_pack("{s:s}", "execution_state", state), NULL);
}

static void route_request(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    unsigned mask = ch == SM_CHANNEL_CONTROL ? ON_CONTROL : ON_SHELL;
    size_t i = 0;
    while (i < sizeof routes / sizeof *routes &&
           strcmp(routes[i].msg_type, msg->msg_type) != 0)
        i++;
    if (i < sizeof routes / sizeof *routes && (routes[i].channels & mask))
        routes[i].fn(k, ch, msg);
    else
        sm_info("no handler for %s on %s", msg->msg_type,
                ch == SM_CHANNEL_CONTROL ? "control" : "shell");
}

static void dispatch(sm_kernel *k, sm_channel ch, const sm_wire_msg *msg)
{
    set_status(k, msg, "busy");
    route_request(k, ch, msg);
    set_status(k, msg, "idle");
}

/* stop_on_error: every execute_request already queued behind a failed cell
 * gets an error reply without running; other requests are served. The reply
 * has no execution count (null): front ends number a cell with the count of
 * its reply, and JupyterLab would show a cell that never ran as "[n]". */
static void abort_queued(sm_kernel *k)
{
    sm_wire_msg queued;
    while (sm_server_next_queued(k->server, &queued)) {
        if (strcmp(queued.msg_type, "execute_request") == 0) {
            set_status(k, &queued, "busy");
            reply(k, SM_CHANNEL_SHELL, &queued,
                  json_pack("{s:s, s:s, s:s, s:[], s:n, s:{}, s:[]}", "status",
                            "error", "ename", "ExecutionAborted", "evalue",
                            "not run: an earlier cell failed", "traceback",
                            "execution_count", "user_expressions", "payload"));
            set_status(k, &queued, "idle");
        } else {
            dispatch(k, SM_CHANNEL_SHELL, &queued);
        }
        sm_wire_msg_clear(&queued);
    }
    k->aborting = 0;
}

void sm_kernel_handle(void *kernel, sm_channel channel, const sm_wire_msg *msg)
{
    sm_kernel *k = kernel;
    set_status(k, msg, "busy");
    route_request(k, channel, msg);
    /* Abort the queue before the failed cell's idle goes out: a request sent
     * after the client saw that idle must run, not be aborted. */
    if (channel == SM_CHANNEL_SHELL && k->aborting)
        abort_queued(k);
    set_status(k, msg, "idle");
}

static json_t *kernel_info_new(const sm_interp *interp)
{
    const sm_interp_ops *ops = interp->ops;
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:[], s:[]}", "status",
                     "ok", "protocol_version", SM_WIRE_PROTOCOL_VERSION,
                     "implementation", ops->implementation,
                     "implementation_version", ops->implementation_version,
                     "language_info", ops->language_info(interp->self),
                     "banner", ops->banner, "help_links", "supported_features");
}

sm_kernel *sm_kernel_new(sm_server *server, sm_interp interp)
{
    sm_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->server = server;
    k->interp = interp;
    k->history = sm_history_new();
    k->kernel_info = kernel_info_new(&interp);
    if (!k->history || !k->kernel_info)
        sm_kernel_destroy(&k);
    return k;
}

void sm_kernel_destroy(sm_kernel **pk)
{
    sm_kernel *k = *pk;
    if (!k)
        return;
    if (k->interp.ops && k->interp.ops->shutdown)
        k->interp.ops->shutdown(k->interp.self, k->restart);
    sm_history_destroy(&k->history);
    json_decref(k->kernel_info);
    free(k);
    *pk = NULL;
}
