/* runtime: SageMaker Runtime InvokeEndpoint: a raw body POSTed to
 * /endpoints/<name>/invocations on the runtime host, with its content type
 * and accept headers; the raw answer and its content type back. */
#ifndef SM_RUNTIME_H
#define SM_RUNTIME_H

#include <stddef.h>

#include "aws.h"
#include "error.h"

/* The largest body InvokeEndpoint takes (6 MiB). */
#define SM_RUNTIME_MAX_BODY 6291456

/* Every pointer borrowed; NULL leaves a header out. */
typedef struct sm_runtime_request {
    const char *endpoint_name; /* required */
    const void *body;          /* required, up to SM_RUNTIME_MAX_BODY */
    size_t body_len;
    const char *content_type; /* "text/csv", "text/libsvm", ... */
    const char *accept;       /* "text/csv", "application/json", ... */
    const char *custom_attributes;
    const char *target_model;   /* multi-model endpoints */
    const char *target_variant; /* a production variant */
    const char *target_container_hostname;
    const char *inference_id;
    const char *inference_component;
    const char *session_id;
    const char *enable_explanations;
} sm_runtime_request;

/* The REST request made from an sm_runtime_request: `rest` points into
 * this struct (path, headers) and into the request (body), so use it in
 * place, while the request lives. */
typedef struct sm_runtime_prepared {
    char path[128];
    sm_aws_header headers[12];
    sm_aws_rest rest;
} sm_runtime_prepared;

/* Check `req` and fill `out`. 0, or -1 with `err` set to one sentence. */
int sm_runtime_prepare(const sm_runtime_request *req, sm_runtime_prepared *out,
                       sm_error *err);

/* What the endpoint answered. Owned; free with sm_runtime_result_clear. */
typedef struct sm_runtime_result {
    char *body; /* NUL-terminated after body_len bytes; may hold NULs */
    size_t body_len;
    char *content_type;    /* "" when the answer had none */
    char *invoked_variant; /* "" when not said */
    char *custom_attributes;
} sm_runtime_result;

void sm_runtime_result_clear(sm_runtime_result *self);

/* Fill `out` from a 2xx response, taking its body (resp->body is NULL
 * after). 0, or -1 when out of memory. */
int sm_runtime_result_take(sm_aws_response *resp, sm_runtime_result *out);

/* Invoke the endpoint. 0 with `out` filled (clear it after), or -1 with
 * `err` filled: the service's error (ModelError with the container's
 * message, ValidationError for an unknown endpoint, ...), or
 * SM_AWSJSON_INVALID for a request refused before sending. */
int sm_runtime_invoke_endpoint(sm_aws *aws, const sm_runtime_request *req,
                               sm_runtime_result *out, sm_aws_error *err);

#endif
