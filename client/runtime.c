/* runtime: InvokeEndpoint as a REST call through the client core. */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsjson.h"

/* Header values go on the wire as they are: printable ASCII only, so no
 * line break can end a header early. */
static int printable_ascii(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return 0;
    return 1;
}

typedef struct header_row {
    const char *name;
    size_t offset; /* of the value in sm_runtime_request */
    size_t min, max;
    int resource_name; /* [a-zA-Z0-9](-*[a-zA-Z0-9])* */
} header_row;

#define FIELD(f) offsetof(sm_runtime_request, f)

static const header_row header_rows[] = {
    {"Content-Type", FIELD(content_type), 0, 1024, 0},
    {"Accept", FIELD(accept), 0, 1024, 0},
    {"X-Amzn-SageMaker-Custom-Attributes", FIELD(custom_attributes), 0, 1024,
     0},
    {"X-Amzn-SageMaker-Target-Model", FIELD(target_model), 1, 1024, 0},
    {"X-Amzn-SageMaker-Target-Variant", FIELD(target_variant), 1, 63, 1},
    {"X-Amzn-SageMaker-Target-Container-Hostname",
     FIELD(target_container_hostname), 1, 63, 1},
    {"X-Amzn-SageMaker-Inference-Id", FIELD(inference_id), 1, 64, 0},
    {"X-Amzn-SageMaker-Inference-Component", FIELD(inference_component), 1, 63,
     1},
    {"X-Amzn-SageMaker-Session-Id", FIELD(session_id), 1, 256, 0},
    {"X-Amzn-SageMaker-Enable-Explanations", FIELD(enable_explanations), 1, 64,
     0},
};

#define HEADER_COUNT (sizeof header_rows / sizeof header_rows[0])

static const char *field(const sm_runtime_request *req, size_t offset)
{
    return *(const char *const *)((const char *)req + offset);
}

static int check_header(const header_row *row, const char *value, sm_error *err)
{
    static const sm_awsjson_rule name_rule = {1, 63, SM_AWSJSON_RESOURCE_NAME};
    size_t len = strlen(value);
    if (!printable_ascii(value))
        return sm_error_set(err,
                            "The %s header may hold only printable "
                            "ASCII characters.",
                            row->name);
    if (len < row->min || len > row->max)
        return sm_error_set(err,
                            "The %s header must be %zu to %zu "
                            "characters long.",
                            row->name, row->min, row->max);
    if (row->resource_name)
        return sm_awsjson_check(row->name, value, &name_rule, err);
    return 0;
}

int sm_runtime_prepare(const sm_runtime_request *req, sm_runtime_prepared *out,
                       sm_error *err)
{
    static const sm_awsjson_rule endpoint_rule = {1, 63,
                                                  SM_AWSJSON_RESOURCE_NAME};
    memset(out, 0, sizeof *out);
    if (!req->endpoint_name || !*req->endpoint_name)
        return sm_error_set(err, "Which endpoint? EndpointName is required.");
    if (sm_awsjson_check("EndpointName", req->endpoint_name, &endpoint_rule,
                         err))
        return -1;
    if (!req->body || !req->body_len)
        return sm_error_set(err, "There is nothing to send: the body is "
                                 "empty.");
    if (req->body_len > SM_RUNTIME_MAX_BODY)
        return sm_error_set(err,
                            "The body is %zu bytes; an endpoint takes "
                            "at most %d in one request (use a batch "
                            "transform for more).",
                            req->body_len, SM_RUNTIME_MAX_BODY);
    /* The name is letters, digits and hyphens: it needs no encoding. */
    snprintf(out->path, sizeof out->path, "/endpoints/%s/invocations",
             req->endpoint_name);
    size_t n = 0;
    for (size_t i = 0; i < HEADER_COUNT; i++) {
        const char *value = field(req, header_rows[i].offset);
        if (!value)
            continue;
        if (check_header(&header_rows[i], value, err))
            return -1;
        out->headers[n++] = (sm_aws_header){header_rows[i].name, value};
    }
    out->rest.service = SM_AWS_RUNTIME;
    out->rest.operation = "InvokeEndpoint";
    out->rest.method = "POST";
    out->rest.path = out->path;
    out->rest.headers = out->headers;
    out->rest.header_count = n;
    out->rest.body = req->body;
    out->rest.body_len = req->body_len;
    return 0;
}

void sm_runtime_result_clear(sm_runtime_result *self)
{
    if (!self)
        return;
    free(self->body);
    free(self->content_type);
    free(self->invoked_variant);
    free(self->custom_attributes);
    memset(self, 0, sizeof *self);
}

static char *header_copy(const sm_aws_response *resp, const char *name)
{
    const char *value = sm_aws_response_header(resp, name);
    return strdup(value ? value : "");
}

int sm_runtime_result_take(sm_aws_response *resp, sm_runtime_result *out)
{
    memset(out, 0, sizeof *out);
    out->body = resp->body ? resp->body : calloc(1, 1);
    out->body_len = resp->body ? resp->body_len : 0;
    resp->body = NULL;
    resp->body_len = 0;
    out->content_type = header_copy(resp, "content-type");
    out->invoked_variant =
        header_copy(resp, "x-amzn-invoked-production-variant");
    out->custom_attributes =
        header_copy(resp, "x-amzn-sagemaker-custom-attributes");
    if (!out->body || !out->content_type || !out->invoked_variant ||
        !out->custom_attributes) {
        sm_runtime_result_clear(out);
        return -1;
    }
    return 0;
}

int sm_runtime_invoke_endpoint(sm_aws *aws, const sm_runtime_request *req,
                               sm_runtime_result *out, sm_aws_error *err)
{
    sm_runtime_prepared prepared;
    sm_error e = {""};
    memset(out, 0, sizeof *out);
    if (sm_runtime_prepare(req, &prepared, &e)) {
        sm_awsjson_refuse(err, SM_AWS_RUNTIME, "InvokeEndpoint", e.message);
        return -1;
    }
    sm_aws_response resp;
    memset(&resp, 0, sizeof resp);
    memset(err, 0, sizeof *err);
    int rc = sm_aws_rest_call(aws, &prepared.rest, &resp, err);
    if (!rc && sm_runtime_result_take(&resp, out)) {
        snprintf(err->message, sizeof err->message, "out of memory");
        rc = -1;
    }
    sm_aws_response_clear(&resp);
    return rc;
}
