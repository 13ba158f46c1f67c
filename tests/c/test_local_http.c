/* test_local_http: requests as the handlers see them (targets split and
 * decoded), the protocol guess for unsigned requests, and each protocol's
 * error shape. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "router.h"
#include "test.h"

TEST(local_http_target)
{
    sm_http_request req = {0};
    CHECK(sm_http_request_set_target(
              &req, "/b/a%20b%2Bc/../d?uploads&list-type=2&&prefix=x%2Fy+z&"
                    "e=") == 0);
    CHECK_STR(req.path, "/b/a%20b%2Bc/../d");
    CHECK_STR(req.query, "uploads&list-type=2&&prefix=x%2Fy+z&e=");
    CHECK(req.param_count == 4);
    CHECK_STR(sm_http_param(&req, "uploads"), "");
    CHECK_STR(sm_http_param(&req, "list-type"), "2");
    CHECK_STR(sm_http_param(&req, "prefix"), "x/y+z"); /* '+' stays '+' */
    CHECK_STR(sm_http_param(&req, "e"), "");
    CHECK(sm_http_param(&req, "missing") == NULL);
    CHECK(sm_http_request_set_target(&req, "/") == 0);
    CHECK_STR(req.query, "");
    CHECK(req.param_count == 0);
    sm_http_request_clear(&req);
}

TEST(local_http_headers_any_case)
{
    sm_http_request req = {0};
    sm_http_request_add_header(&req, "X-Amz-Date", "20130524T000000Z");
    CHECK_STR(sm_http_header(&req, "x-amz-date"), "20130524T000000Z");
    CHECK(sm_http_header(&req, "x-amz-dates") == NULL);
    sm_http_request_clear(&req);
}

TEST(local_http_first_error_wins)
{
    sm_http_error err = {0};
    CHECK(sm_http_fail(&err, 404, "NoSuchKey", "first %d", 1) == -1);
    sm_http_fail(&err, 500, "InternalError", "second");
    CHECK(err.status == 404);
    CHECK_STR(err.code, "NoSuchKey");
    CHECK_STR(err.message, "first 1");
}

static sm_auth_protocol guess(const char *target, const char *name,
                              const char *value)
{
    sm_http_request req = {0};
    sm_http_request_set_target(&req, target);
    if (name)
        sm_http_request_add_header(&req, name, value);
    sm_auth_protocol p = sm_router_guess(&req);
    sm_http_request_clear(&req);
    return p;
}

TEST(local_router_guess_and_find)
{
    CHECK(guess("/b/k", NULL, NULL) == SM_AUTH_S3);
    CHECK(guess("/", "X-Amz-Target", "SageMaker.ListModels") == SM_AUTH_JSON);
    CHECK(guess("/endpoints/e/invocations", NULL, NULL) == SM_AUTH_JSON);
    CHECK(guess("/", "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8") ==
          SM_AUTH_QUERY);
    CHECK(guess("/?Action=GetCallerIdentity", NULL, NULL) == SM_AUTH_QUERY);
    CHECK(sm_router_find("s3") && sm_router_find("s3")->protocol == SM_AUTH_S3);
    CHECK(sm_router_find("sts") != NULL);
    CHECK(sm_router_find("iam") == NULL);
    CHECK(sm_router_find(NULL) == NULL);
}

static char *render(sm_auth_protocol protocol, sm_http_response *resp)
{
    sm_http_request req = {0};
    strcpy(req.request_id, "REQ1");
    sm_http_error err = {0};
    sm_http_fail(&err, 404, "NoSuchKey", "The <key> & more");
    sm_http_error_extra(&err, "Key", "a&b");
    sm_router_render_error(protocol, &req, &err, resp);
    return resp->body.data;
}

TEST(local_router_error_shapes)
{
    sm_http_response resp = {0};
    const char *body = render(SM_AUTH_S3, &resp);
    CHECK(resp.status == 404);
    CHECK_STR(body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
                    "<Code>NoSuchKey</Code><Message>The &lt;key&gt; &amp; "
                    "more</Message><Key>a&amp;b</Key><RequestId>REQ1"
                    "</RequestId><HostId>REQ1</HostId></Error>");
    CHECK_STR(sm_http_response_get(&resp, "x-amz-request-id"), "REQ1");
    sm_http_response_clear(&resp);
    body = render(SM_AUTH_QUERY, &resp);
    CHECK(strstr(body, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
                       "2011-06-15/\"><Error><Type>Sender</Type><Code>"
                       "NoSuchKey</Code>") != NULL);
    CHECK(strstr(body, "<RequestId>REQ1</RequestId></ErrorResponse>"));
    sm_http_response_clear(&resp);
    body = render(SM_AUTH_JSON, &resp);
    CHECK_STR(body, "{\"__type\":\"NoSuchKey\",\"message\":\"The <key> & "
                    "more\"}");
    CHECK_STR(sm_http_response_get(&resp, "x-amzn-RequestId"), "REQ1");
    sm_http_response_clear(&resp);
}

static int id_order(const void *a, const void *b)
{
    return strcmp(a, b);
}

TEST(local_http_request_ids_are_unique_hex)
{
    enum { N = 20000 };
    char(*ids)[40] = calloc(N, sizeof *ids);
    CHECK(ids != NULL);
    if (!ids)
        return;
    for (int i = 0; i < N; i++)
        sm_http_request_id(ids[i]);
    CHECK(strlen(ids[0]) == 16 &&
          strspn(ids[0], "0123456789ABCDEF") == 16);
    qsort(ids, N, sizeof *ids, id_order);
    int repeats = 0;
    for (int i = 1; i < N; i++)
        repeats += strcmp(ids[i - 1], ids[i]) == 0;
    CHECK(repeats == 0);
    free(ids);
}
