/* stssrv: GetCallerIdentity answers with the local account and one user. */
#include "stssrv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uri.h"
#include "xmlw.h"

#define STS_XMLNS "https://sts.amazonaws.com/doc/2011-06-15/"
#define STS_MAX_BODY (64u << 10)

int sm_stssrv_plan(sm_local_env *env, sm_http_request *req, sm_route_body *body,
                   sm_http_error *err)
{
    *body = (sm_route_body){
        .limit = STS_MAX_BODY,
        .too_large_status = 400,
        .too_large_code = "MaxMessageLengthExceeded",
        .too_large_message = "Your request was too big.",
    };
    if (strcmp(req->method, "POST") != 0 && strcmp(req->method, "GET") != 0)
        return sm_http_fail(err, 405, "MethodNotAllowed",
                            "STS takes POST (or GET) requests");
    return 0;
}

/* The value of `name` in a form body (name=value&...; '+' is a space),
 * as a new string, or NULL. */
static char *form_value(const char *body, size_t len, const char *name)
{
    size_t name_len = strlen(name);
    for (size_t i = 0; i < len;) {
        const char *piece = body + i;
        const char *amp = memchr(piece, '&', len - i);
        size_t n = amp ? (size_t)(amp - piece) : len - i;
        if (n > name_len && memcmp(piece, name, name_len) == 0 &&
            piece[name_len] == '=') {
            char *copy = strndup(piece + name_len + 1, n - name_len - 1);
            for (char *p = copy; p && *p; p++)
                *p = *p == '+' ? ' ' : *p;
            size_t out_len;
            char *value =
                copy ? sm_uri_decode(copy, strlen(copy), &out_len) : NULL;
            free(copy);
            return value;
        }
        i += n + 1;
    }
    return NULL;
}

static char *parameter(const sm_http_request *req, const char *name)
{
    const char *q = sm_http_param(req, name);
    if (q)
        return strdup(q);
    return req->body ? form_value(req->body, req->body_len, name) : NULL;
}

static int caller_identity(sm_local_env *env, const sm_http_request *req,
                           sm_http_response *resp)
{
    char arn[128], user_id[64];
    snprintf(arn, sizeof arn, "arn:aws:iam::%s:user/sagemagic-local",
             env->account_id);
    const char *key = env->access_key ? env->access_key : "";
    snprintf(user_id, sizeof user_id, "AIDA%s",
             strlen(key) > 4 ? key + 4 : key);
    sm_xmlw w;
    sm_xmlw_begin(&w, &resp->body, "GetCallerIdentityResponse", STS_XMLNS);
    sm_xmlw_open(&w, "GetCallerIdentityResult");
    sm_xmlw_text(&w, "Arn", arn);
    sm_xmlw_text(&w, "UserId", user_id);
    sm_xmlw_text(&w, "Account", env->account_id);
    sm_xmlw_close(&w, "GetCallerIdentityResult");
    sm_xmlw_open(&w, "ResponseMetadata");
    sm_xmlw_text(&w, "RequestId", req->request_id);
    sm_xmlw_close(&w, "ResponseMetadata");
    if (sm_xmlw_finish(&w, "GetCallerIdentityResponse"))
        return -1;
    resp->status = 200;
    return sm_http_response_header(resp, "Content-Type", "text/xml");
}

int sm_stssrv_handle(sm_local_env *env, sm_http_request *req,
                     sm_http_response *resp, sm_http_error *err)
{
    char *action = parameter(req, "Action");
    int rc;
    if (!action)
        rc = sm_http_fail(err, 400, "MissingAction", "Missing Action");
    else if (strcmp(action, "GetCallerIdentity") == 0)
        rc = caller_identity(env, req, resp)
                 ? sm_http_fail(err, 500, "InternalFailure", "out of memory")
                 : 0;
    else
        rc = sm_http_fail(err, 400, "InvalidAction",
                          "Could not find operation %s for version "
                          "2011-06-15 (sagemagic-local offers "
                          "GetCallerIdentity)",
                          action);
    free(action);
    return rc;
}
