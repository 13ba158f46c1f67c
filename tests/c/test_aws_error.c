/* test_aws_error: error responses of every protocol into sm_aws_error,
 * and the one-sentence form. */
#include <stdio.h>
#include <string.h>

#include "aws.h"
#include "aws_error.h"
#include "test.h"

static void parse(sm_aws_protocol proto, long status, const char *body,
                  const sm_aws_header *headers, size_t n, sm_aws_error *err)
{
    sm_aws_response resp = {.status = status,
                            .headers = (sm_aws_header *)headers,
                            .header_count = n,
                            .body = (char *)body,
                            .body_len = body ? strlen(body) : 0};
    memset(err, 0, sizeof *err);
    sm_aws_error_from_response(proto, &resp, err);
}

TEST(aws_error_json_type_and_message)
{
    sm_aws_error e;
    sm_aws_header h[] = {{"x-amzn-requestid", "rid-1"}};
    parse(SM_AWS_PROTOCOL_JSON, 400,
          "{\"__type\": \"com.amazon.coral.validate#ValidationException\","
          " \"message\": \"1 validation error detected: Value 'x' at "
          "'trainingJobName' failed\"}",
          h, 1, &e);
    CHECK(e.http_status == 400);
    CHECK_STR(e.code, "ValidationException");
    CHECK_STR(e.message, "1 validation error detected: Value 'x' at "
                         "'trainingJobName' failed");
    CHECK_STR(e.request_id, "rid-1");

    parse(SM_AWS_PROTOCOL_JSON, 400,
          "{\"__type\":\"ThrottlingException:http://internal.amazon.com/"
          "coral/com.amazon.coral.availability/\",\"Message\":\"Rate "
          "exceeded\"}",
          NULL, 0, &e);
    CHECK_STR(e.code, "ThrottlingException");
    CHECK_STR(e.message, "Rate exceeded");

    parse(SM_AWS_PROTOCOL_JSON, 400, "{\"__type\":\"ResourceNotFound\"}", NULL,
          0, &e);
    CHECK_STR(e.code, "ResourceNotFound");
    CHECK_STR(e.message, "Bad Request");
}

TEST(aws_error_rest_json_header_first)
{
    sm_aws_error e;
    sm_aws_header h[] = {
        {"x-amzn-ErrorType", "ModelError:http://internal.amazon.com/"},
        {"x-amzn-RequestId", "rid-2"},
    };
    parse(SM_AWS_PROTOCOL_REST_JSON, 424,
          "{\"OriginalStatusCode\":500,\"message\":\"Received server error "
          "(500) from primary\",\"code\":\"Ignored\"}",
          h, 2, &e);
    CHECK_STR(e.code, "ModelError");
    CHECK_STR(e.message, "Received server error (500) from primary");
    CHECK_STR(e.request_id, "rid-2");
    /* No header: the body's code. */
    parse(SM_AWS_PROTOCOL_REST_JSON, 400,
          "{\"code\":\"ValidationError\",\"Message\":\"bad\"}", NULL, 0, &e);
    CHECK_STR(e.code, "ValidationError");
    CHECK_STR(e.message, "bad");
}

TEST(aws_error_s3_xml)
{
    sm_aws_error e;
    sm_aws_header h[] = {{"x-amz-request-id", "S3RID"}};
    parse(SM_AWS_PROTOCOL_REST_XML, 404,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey"
          "</Code><Message>The specified key does not exist.</Message>"
          "<Key>a&amp;b</Key><RequestId>BODYRID</RequestId><HostId>h</HostId>"
          "</Error>",
          h, 1, &e);
    CHECK_STR(e.code, "NoSuchKey");
    CHECK_STR(e.message, "The specified key does not exist.");
    CHECK_STR(e.request_id, "S3RID");
    parse(SM_AWS_PROTOCOL_REST_XML, 503,
          "<Error><Code>SlowDown</Code><Message>Please reduce your request "
          "rate.</Message><RequestId>R</RequestId></Error>",
          NULL, 0, &e);
    CHECK_STR(e.code, "SlowDown");
    CHECK_STR(e.request_id, "R");
}

TEST(aws_error_s3_head_without_body)
{
    sm_aws_error e;
    parse(SM_AWS_PROTOCOL_REST_XML, 404, "", NULL, 0, &e);
    CHECK_STR(e.code, "NotFound");
    CHECK_STR(e.message, "Not Found");
    parse(SM_AWS_PROTOCOL_REST_XML, 403, NULL, NULL, 0, &e);
    CHECK_STR(e.code, "Forbidden");
    parse(SM_AWS_PROTOCOL_REST_XML, 412, NULL, NULL, 0, &e);
    CHECK_STR(e.code, "PreconditionFailed");
    parse(SM_AWS_PROTOCOL_REST_XML, 418, NULL, NULL, 0, &e);
    CHECK_STR(e.code, "418");
}

TEST(aws_error_sts_xml)
{
    sm_aws_error e;
    parse(SM_AWS_PROTOCOL_QUERY, 403,
          "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
          "<Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
          "<Message>The security token included in the request is invalid."
          "</Message></Error><RequestId>sts-rid</RequestId></ErrorResponse>",
          NULL, 0, &e);
    CHECK_STR(e.code, "InvalidClientTokenId");
    CHECK_STR(e.message,
              "The security token included in the request is invalid.");
    CHECK_STR(e.request_id, "sts-rid");
}

TEST(aws_error_generic_html_5xx)
{
    sm_aws_error e;
    parse(SM_AWS_PROTOCOL_JSON, 502,
          "<html><head><title>502 Bad Gateway</title></head><body>nginx"
          "</body></html>",
          NULL, 0, &e);
    CHECK_STR(e.code, "502");
    CHECK_STR(e.message, "Bad Gateway");
    parse(SM_AWS_PROTOCOL_REST_XML, 500, "<html>oops", NULL, 0, &e);
    CHECK_STR(e.code, "500");
    CHECK_STR(e.message, "Internal Server Error");
    parse(SM_AWS_PROTOCOL_QUERY, 599, "not xml", NULL, 0, &e);
    CHECK_STR(e.code, "599");
    CHECK_STR(e.message, "HTTP error");
}

TEST(aws_error_format_sentence)
{
    sm_aws_error e = {.http_status = 400};
    char buf[2048];
    strcpy(e.operation, "CreateTrainingJob");
    strcpy(e.code, "ValidationException");
    strcpy(e.message, "bad name");
    sm_aws_error_format(&e, buf, sizeof buf);
    CHECK_STR(buf, "CreateTrainingJob failed: ValidationException: bad name");
    e.message[0] = '\0';
    sm_aws_error_format(&e, buf, sizeof buf);
    CHECK_STR(buf, "CreateTrainingJob failed: ValidationException (HTTP 400)");
    e.code[0] = '\0';
    strcpy(e.message, "connection refused");
    sm_aws_error_format(&e, buf, sizeof buf);
    CHECK_STR(buf, "CreateTrainingJob failed: connection refused");
    e.operation[0] = '\0';
    sm_aws_error_format(&e, buf, sizeof buf);
    CHECK_STR(buf, "connection refused");
    sm_aws_error_format(&e, buf, 5);
    CHECK_STR(buf, "conn");
}

TEST(aws_error_copy_cuts_at_utf8_boundary)
{
    char out[6];
    sm_aws_error_copy(out, sizeof out, "abc\xC3\xA9\xC3\xA9"); /* abcéé */
    CHECK_STR(out, "abc\xC3\xA9");
    sm_aws_error_copy(out, sizeof out, "abcd\xE2\x82\xAC"); /* abcd€ */
    CHECK_STR(out, "abcd");
    sm_aws_error_copy(out, sizeof out, NULL);
    CHECK_STR(out, "");
}
