/* serving_runtime: SageMaker Runtime's InvokeEndpoint on the local
 * service: POST /endpoints/<name>/invocations, signed as "sagemaker", the
 * raw body handed to the endpoint's model in memory and the container's
 * answer handed back, its errors wrapped as Runtime wraps them
 * (ModelError 424 with the container's status and message). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logstore.h"
#include "predict.h"
#include "sagemaker_api.h"
#include "serving.h"

#define RUNTIME_MAX_BODY 6291456u /* InvokeEndpoint's Body: 6 MiB */
#define NAME_CAP 64

/* The endpoint name of "/endpoints/<name>/invocations", or -1. */
static int endpoint_name(const char *path, char out[NAME_CAP])
{
    const char *p = path + strlen("/endpoints/");
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : 0;
    if (!slash || strcmp(slash, "/invocations") != 0 || n == 0 || n >= NAME_CAP)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-'))
            return -1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int sm_runtime_plan(sm_local_env *env, sm_http_request *req,
                    sm_route_body *body, sm_http_error *err)
{
    *body = (sm_route_body){
        .limit = RUNTIME_MAX_BODY,
        .too_large_status = 413,
        .too_large_code = "ValidationError",
        .too_large_message = "Request body is larger than 6291456 bytes, "
                             "the most InvokeEndpoint takes.",
    };
    char name[NAME_CAP];
    if (endpoint_name(req->path, name))
        return sm_http_fail(err, 404, "UnknownOperationException",
                            "SageMaker Runtime has no operation at %.200s "
                            "(InvokeEndpoint is POST "
                            "/endpoints/<name>/invocations)",
                            req->path);
    if (strcmp(req->method, "POST") != 0)
        return sm_http_fail(err, 405, "UnknownOperationException",
                            "InvokeEndpoint is a POST request");
    if (!env->serving)
        return sm_http_fail(err, 500, "InternalFailure",
                            "the local service has no endpoints running");
    return 0;
}

/* ValidationError for an endpoint that can't answer. */
static int not_serving(sm_local_env *env, const char *name,
                       sm_serving_found found, const char *variant,
                       sm_http_error *err)
{
    char status[32];
    if (found == SM_SERVING_NO_VARIANT)
        return sm_http_fail(err, 400, "ValidationError",
                            "Endpoint %s has no production variant named %s.",
                            name, variant);
    if (sm_serving_endpoint_status(env->serving, name, status) == 0 &&
        strcmp(status, "InService") != 0)
        return sm_http_fail(err, 400, "ValidationError",
                            "Endpoint %s of account %s is not in service "
                            "(its status is %s).",
                            name, env->account_id, status);
    return sm_http_fail(err, 400, "ValidationError",
                        "Endpoint %s of account %s not found.", name,
                        env->account_id);
}

/* The container's message, one line to the endpoint's log stream. */
static void log_error(sm_local_env *env, const char *name, const char *variant,
                      const sm_predict_answer *a)
{
    char group[128], stream[128], line[1024];
    snprintf(group, sizeof group, "/aws/sagemaker/Endpoints/%s", name);
    snprintf(stream, sizeof stream, "%s/local-0", variant);
    snprintf(line, sizeof line, "invocations: %d %s", a->status,
             sm_buf_str(&a->body));
    int64_t now = (int64_t)(sm_jsonapi_now() * 1000);
    sm_logstore_input ev = {now, line};
    sm_error e = {0};
    if (env->db)
        sm_logstore_put(env->db, group, stream, &ev, 1, now, &e);
}

/* Runtime's ModelError: the container answered 4xx or 5xx. */
static int model_error(sm_local_env *env, const char *name,
                       const sm_predict_answer *a, sm_http_response *resp)
{
    int client = a->status < 500;
    const char *original = sm_buf_str(&a->body);
    char message[4096], log_arn[256];
    snprintf(message, sizeof message,
             "Received %s error (%d) from primary with message \"%.3000s\". "
             "See the log group /aws/sagemaker/Endpoints/%s in account %s "
             "for more information.",
             client ? "client" : "server", a->status, original, name,
             env->account_id);
    snprintf(log_arn, sizeof log_arn,
             "arn:aws:logs:%s:%s:log-group:/aws/sagemaker/Endpoints/%s",
             env->region, env->account_id, name);
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:s, s:i}", "ErrorCode",
        client ? "CLIENT_ERROR_FROM_MODEL" : "SERVER_ERROR_FROM_MODEL",
        "LogStreamArn", log_arn, "Message", message, "OriginalMessage",
        original, "OriginalStatusCode", a->status);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int rc = !text || sm_buf_puts(&resp->body, text) ? -1 : 0;
    free(text);
    resp->status = 424;
    sm_http_response_header(resp, "Content-Type", "application/json");
    sm_http_response_header(resp, "x-amzn-ErrorType", "ModelError");
    return rc;
}

int sm_runtime_handle(sm_local_env *env, sm_http_request *req,
                      sm_http_response *resp, sm_http_error *err)
{
    char name[NAME_CAP];
    if (endpoint_name(req->path, name))
        return sm_http_fail(err, 404, "UnknownOperationException",
                            "no such operation");
    const char *target = sm_http_header(req, "x-amzn-sagemaker-target-variant");
    sm_serving_lease lease;
    sm_serving_found found =
        sm_serving_acquire(env->serving, name, target, &lease);
    if (found != SM_SERVING_SERVING)
        return not_serving(env, name, found, target, err);
    const char *accept = sm_http_header(req, "accept");
    if ((!accept || !*accept || !strcmp(accept, "*/*")) && lease.default_accept)
        accept = lease.default_accept;
    sm_predict_request preq = {sm_http_header(req, "content-type"), accept,
                               req->body, req->body_len, SM_PREDICT_REALTIME};
    sm_predict_answer a;
    int rc = sm_predict_invoke(lease.model, &preq, &a);
    if (rc) {
        rc = sm_http_fail(err, 500, "InternalFailure", "out of memory");
    } else if (a.status >= 400) {
        log_error(env, name, lease.variant, &a);
        rc = model_error(env, name, &a, resp);
    } else {
        resp->status = 200;
        resp->body = a.body;
        a.body = (sm_buf){0};
        if (a.content_type[0])
            sm_http_response_header(resp, "Content-Type", a.content_type);
        sm_http_response_header(resp, "x-Amzn-Invoked-Production-Variant",
                                lease.variant);
    }
    sm_serving_release(&lease);
    sm_predict_answer_clear(&a);
    return rc;
}
