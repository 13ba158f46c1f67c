/* test_runtime: InvokeEndpoint as a REST request (path, headers, body) and
 * what is refused, and the answer taken from a response. */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "test.h"

static const char *header(const sm_runtime_prepared *p, const char *name)
{
    for (size_t i = 0; i < p->rest.header_count; i++)
        if (strcmp(p->rest.headers[i].name, name) == 0)
            return p->rest.headers[i].value;
    return NULL;
}

TEST(runtime_prepare)
{
    sm_runtime_request req = {.endpoint_name = "xgb-ep",
                              .body = "1,2,3\n4,5,6",
                              .body_len = 11,
                              .content_type = "text/csv",
                              .accept = "application/json",
                              .target_variant = "AllTraffic",
                              .inference_id = "id 42"};
    sm_runtime_prepared p;
    sm_error err = {""};
    CHECK(sm_runtime_prepare(&req, &p, &err) == 0);
    CHECK_STR(p.rest.path, "/endpoints/xgb-ep/invocations");
    CHECK_STR(p.rest.method, "POST");
    CHECK(p.rest.service == SM_AWS_RUNTIME);
    CHECK_STR(p.rest.operation, "InvokeEndpoint");
    CHECK(p.rest.query == NULL);
    CHECK(p.rest.body == req.body && p.rest.body_len == 11);
    CHECK(p.rest.header_count == 4);
    CHECK_STR(header(&p, "Content-Type"), "text/csv");
    CHECK_STR(header(&p, "Accept"), "application/json");
    CHECK_STR(header(&p, "X-Amzn-SageMaker-Target-Variant"), "AllTraffic");
    CHECK_STR(header(&p, "X-Amzn-SageMaker-Inference-Id"), "id 42");
    CHECK(header(&p, "X-Amzn-SageMaker-Custom-Attributes") == NULL);
}

TEST(runtime_refusals)
{
    static const char big_marker = 'x';
    sm_runtime_prepared p;
    sm_error err = {""};
    sm_runtime_request req = {
        .endpoint_name = "ep", .body = "1", .body_len = 1};

    req.endpoint_name = NULL;
    CHECK(sm_runtime_prepare(&req, &p, &err) == -1);
    CHECK(strstr(err.message, "EndpointName is required"));
    sm_error_clear(&err);
    req.endpoint_name = "../admin";
    CHECK(sm_runtime_prepare(&req, &p, &err) == -1);
    CHECK(strstr(err.message, "EndpointName '../admin' is not valid"));
    sm_error_clear(&err);
    req.endpoint_name = "ep";
    req.body_len = 0;
    CHECK(sm_runtime_prepare(&req, &p, &err) == -1);
    CHECK(strstr(err.message, "nothing to send"));
    sm_error_clear(&err);
    req.body = &big_marker; /* never read: refused by length */
    req.body_len = SM_RUNTIME_MAX_BODY + 1;
    CHECK(sm_runtime_prepare(&req, &p, &err) == -1);
    CHECK(strstr(err.message, "at most 6291456"));
    sm_error_clear(&err);
    req.body = "1";
    req.body_len = 1;
    req.content_type = "text/csv\r\nX-Evil: 1";
    CHECK(sm_runtime_prepare(&req, &p, &err) == -1);
    CHECK(strstr(err.message, "Content-Type header may hold only printable"));
    sm_error_clear(&err);
    req.content_type = "text/csv";
    req.target_variant = "All_Traffic";
    CHECK(sm_runtime_prepare(&req, &p, &err) == -1);
    CHECK(strstr(err.message, "Target-Variant"));
    sm_error_clear(&err);
    req.target_variant = NULL;
    req.inference_id = "";
    CHECK(sm_runtime_prepare(&req, &p, &err) == -1);
    CHECK(strstr(err.message, "1 to 64 characters"));
}

TEST(runtime_result_take)
{
    sm_aws_header headers[] = {
        {"content-type", "text/csv; charset=utf-8"},
        {"x-amzn-invoked-production-variant", "AllTraffic"},
    };
    sm_aws_response resp = {.status = 200,
                            .headers = headers,
                            .header_count = 2,
                            .body = strdup("0.43\n0.71\n"),
                            .body_len = 10};
    sm_runtime_result r;
    CHECK(sm_runtime_result_take(&resp, &r) == 0);
    CHECK(resp.body == NULL);
    CHECK_STR(r.body, "0.43\n0.71\n");
    CHECK(r.body_len == 10);
    CHECK_STR(r.content_type, "text/csv; charset=utf-8");
    CHECK_STR(r.invoked_variant, "AllTraffic");
    CHECK_STR(r.custom_attributes, "");
    sm_runtime_result_clear(&r);
    CHECK(r.body == NULL);

    sm_aws_response empty = {.status = 204};
    CHECK(sm_runtime_result_take(&empty, &r) == 0);
    CHECK_STR(r.body, "");
    CHECK(r.body_len == 0);
    sm_runtime_result_clear(&r);
}
