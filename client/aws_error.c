/* aws_error: one reader per body format, then the status as a fallback. */
#include "aws_error.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "xml.h"

void sm_aws_error_copy(char *dst, size_t size, const char *src)
{
    if (!size)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= size) {
        n = size - 1;
        /* Back off continuation bytes, then the lead byte they follow. */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* "aws.protocols#ValidationException:http://..." -> "ValidationException" */
static void code_clean(const char *raw, char *out, size_t size)
{
    char buf[256];
    sm_aws_error_copy(buf, sizeof buf, raw);
    buf[strcspn(buf, ":")] = '\0';
    const char *hash = strrchr(buf, '#');
    sm_aws_error_copy(out, size, hash ? hash + 1 : buf);
}

static const char *first_string(const json_t *doc, const char *const *keys,
                                size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_object_get(doc, keys[i]));
        if (v && *v)
            return v;
    }
    return NULL;
}

static void from_json(sm_aws_protocol protocol, const sm_aws_response *resp,
                      sm_aws_error *err)
{
    static const char *const code_keys[] = {"__type", "code", "Code"};
    static const char *const msg_keys[] = {"message", "Message",
                                           "errorMessage"};
    const char *header = sm_aws_response_header(resp, "x-amzn-errortype");
    json_t *doc =
        resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    const char *code = first_string(doc, code_keys, 3);
    if (header && *header && (protocol == SM_AWS_PROTOCOL_REST_JSON || !code))
        code = header;
    if (code)
        code_clean(code, err->code, sizeof err->code);
    const char *msg = first_string(doc, msg_keys, 3);
    if (msg)
        sm_aws_error_copy(err->message, sizeof err->message, msg);
    json_decref(doc);
}

static void from_xml(const sm_aws_response *resp, sm_aws_error *err)
{
    sm_error ignored = {{0}};
    sm_xml_node *root = resp->body_len
                            ? sm_xml_parse(resp->body, resp->body_len, &ignored)
                            : NULL;
    const sm_xml_node *e = root && strcmp(sm_xml_name(root), "Error") == 0
                               ? root
                               : sm_xml_child(root, "Error");
    const char *code = sm_xml_child_text(e, "Code");
    const char *msg = sm_xml_child_text(e, "Message");
    const char *rid = sm_xml_child_text(e, "RequestId");
    if (!rid)
        rid = sm_xml_child_text(root, "RequestId");
    if (!rid)
        rid = sm_xml_text(sm_xml_path(root, "ResponseMetadata/RequestId"));
    if (code && *code)
        sm_aws_error_copy(err->code, sizeof err->code, code);
    if (msg)
        sm_aws_error_copy(err->message, sizeof err->message, msg);
    if (rid && !err->request_id[0])
        sm_aws_error_copy(err->request_id, sizeof err->request_id, rid);
    sm_xml_free(&root);
}

static const struct status_name {
    long status;
    const char *code; /* for a response without a body */
    const char *reason;
} statuses[] = {
    {301, "PermanentRedirect", "Moved Permanently"},
    {304, "NotModified", "Not Modified"},
    {307, "TemporaryRedirect", "Temporary Redirect"},
    {400, "BadRequest", "Bad Request"},
    {401, "Unauthorized", "Unauthorized"},
    {403, "Forbidden", "Forbidden"},
    {404, "NotFound", "Not Found"},
    {405, "MethodNotAllowed", "Method Not Allowed"},
    {409, "Conflict", "Conflict"},
    {412, "PreconditionFailed", "Precondition Failed"},
    {413, "RequestEntityTooLarge", "Request Entity Too Large"},
    {416, "InvalidRange", "Range Not Satisfiable"},
    {429, "TooManyRequests", "Too Many Requests"},
    {500, "InternalError", "Internal Server Error"},
    {502, "BadGateway", "Bad Gateway"},
    {503, "ServiceUnavailable", "Service Unavailable"},
    {504, "GatewayTimeout", "Gateway Timeout"},
};

static const struct status_name *status_find(long status)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        if (statuses[i].status == status)
            return &statuses[i];
    }
    return NULL;
}

static void from_status(const sm_aws_response *resp, sm_aws_error *err)
{
    const struct status_name *s = status_find(resp->status);
    if (!err->code[0] && s && resp->body_len == 0)
        sm_aws_error_copy(err->code, sizeof err->code, s->code);
    else if (!err->code[0])
        snprintf(err->code, sizeof err->code, "%ld", resp->status);
    if (!err->message[0])
        snprintf(err->message, sizeof err->message, "%s",
                 s ? s->reason : "HTTP error");
}

void sm_aws_error_from_response(sm_aws_protocol protocol,
                                const sm_aws_response *resp, sm_aws_error *err)
{
    const char *rid = sm_aws_response_header(resp, "x-amzn-requestid");
    if (!rid)
        rid = sm_aws_response_header(resp, "x-amz-request-id");
    err->http_status = resp->status;
    err->code[0] = err->message[0] = err->request_id[0] = '\0';
    if (rid)
        sm_aws_error_copy(err->request_id, sizeof err->request_id, rid);
    if (protocol == SM_AWS_PROTOCOL_JSON ||
        protocol == SM_AWS_PROTOCOL_REST_JSON)
        from_json(protocol, resp, err);
    else
        from_xml(resp, err);
    if (!err->code[0] || !err->message[0])
        from_status(resp, err);
}

void sm_aws_error_format(const sm_aws_error *err, char *buf, size_t size)
{
    const char *op = err->operation[0] ? err->operation : NULL;
    char head[96] = "";
    if (!size)
        return;
    if (op)
        snprintf(head, sizeof head, "%s failed: ", op);
    if (err->code[0] && err->message[0])
        snprintf(buf, size, "%s%s: %s", head, err->code, err->message);
    else if (err->code[0])
        snprintf(buf, size, "%s%s (HTTP %ld)", head, err->code,
                 err->http_status);
    else
        snprintf(buf, size, "%s%s", head,
                 err->message[0] ? err->message : "unknown error");
}
