/* router: adding a service is adding a row. */
#include "router.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logsrv.h"
#include "s3srv.h"
#include "sagemaker_api.h"
#include "stssrv.h"
#include "xmlw.h"

static const sm_route routes[] = {
    {"s3", SM_AUTH_S3, sm_s3srv_plan, sm_s3srv_handle, sm_s3srv_operation},
    {"sts", SM_AUTH_QUERY, sm_stssrv_plan, sm_stssrv_handle, NULL},
    /* SageMaker and SageMaker Runtime (/endpoints/...) both sign as
     * "sagemaker"; sagemaker_api splits them. */
    {"sagemaker", SM_AUTH_JSON, sm_sagemaker_api_plan, sm_sagemaker_api_handle,
     sm_sagemaker_api_operation},
    {"logs", SM_AUTH_JSON, sm_logsrv_plan, sm_logsrv_handle,
     sm_logsrv_operation},
};

const sm_route *sm_router_find(const char *service)
{
    for (size_t i = 0; service && i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].service, service) == 0)
            return &routes[i];
    }
    return NULL;
}

sm_auth_protocol sm_router_guess(const sm_http_request *req)
{
    const char *type = sm_http_header(req, "content-type");
    if (sm_http_header(req, "x-amz-target") ||
        strncmp(req->path ? req->path : "", "/endpoints/", 11) == 0)
        return SM_AUTH_JSON;
    if (sm_http_param(req, "Action") ||
        (type &&
         strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0))
        return SM_AUTH_QUERY;
    return SM_AUTH_S3;
}

void sm_router_stamp(sm_auth_protocol protocol, const sm_http_request *req,
                     sm_http_response *resp)
{
    if (protocol == SM_AUTH_S3) {
        sm_http_response_header(resp, "x-amz-request-id", req->request_id);
        sm_http_response_header(resp, "x-amz-id-2", req->request_id);
    } else {
        sm_http_response_header(resp, "x-amzn-RequestId", req->request_id);
    }
}

static void render_s3(const sm_http_request *req, const sm_http_error *err,
                      sm_http_response *resp)
{
    sm_xmlw w;
    sm_xmlw_begin(&w, &resp->body, "Error", NULL);
    sm_xmlw_text(&w, "Code", err->code);
    sm_xmlw_text(&w, "Message", err->message);
    for (size_t i = 0; i < err->extra_count; i++)
        sm_xmlw_text(&w, err->extra[i].name, err->extra[i].value);
    sm_xmlw_text(&w, "RequestId", req->request_id);
    sm_xmlw_text(&w, "HostId", req->request_id);
    sm_xmlw_finish(&w, "Error");
    sm_http_response_header(resp, "Content-Type", "application/xml");
}

static void render_query(const sm_http_request *req, const sm_http_error *err,
                         sm_http_response *resp)
{
    sm_xmlw w;
    sm_xmlw_begin(&w, &resp->body, "ErrorResponse",
                  "https://sts.amazonaws.com/doc/2011-06-15/");
    sm_xmlw_open(&w, "Error");
    sm_xmlw_text(&w, "Type", err->status >= 500 ? "Receiver" : "Sender");
    sm_xmlw_text(&w, "Code", err->code);
    sm_xmlw_text(&w, "Message", err->message);
    sm_xmlw_close(&w, "Error");
    sm_xmlw_text(&w, "RequestId", req->request_id);
    sm_xmlw_finish(&w, "ErrorResponse");
    sm_http_response_header(resp, "Content-Type", "text/xml");
}

static void render_json(const sm_http_request *req, const sm_http_error *err,
                        sm_http_response *resp)
{
    json_t *body =
        json_pack("{s:s, s:s}", "__type", err->code, "message", err->message);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    sm_buf_puts(&resp->body, text ? text : "{}");
    free(text);
    json_decref(body);
    sm_http_response_header(resp, "Content-Type", "application/x-amz-json-1.1");
    sm_http_response_header(resp, "x-amzn-ErrorType", err->code);
}

void sm_router_render_error(sm_auth_protocol protocol,
                            const sm_http_request *req,
                            const sm_http_error *err, sm_http_response *resp)
{
    sm_http_response_clear(resp);
    resp->status = err->status ? err->status : 500;
    sm_router_stamp(protocol, req, resp);
    if (protocol == SM_AUTH_S3)
        render_s3(req, err, resp);
    else if (protocol == SM_AUTH_QUERY)
        render_query(req, err, resp);
    else
        render_json(req, err, resp);
}
