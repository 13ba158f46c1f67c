/* test_aws: the client's call pipeline over a fake transport, clock, sleep
 * and random: request shapes, the standard retry loop, the retry quota,
 * clock-skew correction, error parsing, roles, secrets kept out of errors,
 * the progress callback that stops a call, responses into a descriptor. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "aws.h"
#include "sigv4.h"
#include "test.h"
#include "testenv.h"
#include "transport.h"

#define NOW 1440938160 /* 2015-08-30T12:36:00Z */
#define MAX_Q 64

/* One scripted answer. */
typedef struct answer {
    int result; /* sm_transport_result */
    long status;
    const char *header_name, *header_value;
    const char *body;
} answer;

/* What the fake saw of one request. */
typedef struct seen {
    char method[8], url[256], target[96], date[20], auth[512], token[128];
    char sha256[80], host[64];
    char body[512];
    int response_fd, has_progress;
    uint64_t response_offset, response_max;
} seen;

typedef struct fake {
    answer answers[MAX_Q];
    int answer_count, sent;
    seen seen[MAX_Q];
    long sleeps[MAX_Q];
    int sleep_count;
    time_t now;
    double random;
} fake;

static const char *header_of(const sm_transport_request *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    }
    return "";
}

static int fake_send(void *ctx, const sm_transport_request *req,
                     sm_transport_response *resp, sm_error *err)
{
    fake *f = ctx;
    seen *s = &f->seen[f->sent < MAX_Q ? f->sent : MAX_Q - 1];
    const answer *a =
        &f->answers[f->sent < f->answer_count ? f->sent : f->answer_count - 1];
    f->sent++;
    snprintf(s->method, sizeof s->method, "%s", req->method);
    snprintf(s->url, sizeof s->url, "%s", req->url);
    snprintf(s->target, sizeof s->target, "%s", header_of(req, "X-Amz-Target"));
    snprintf(s->date, sizeof s->date, "%s", header_of(req, "X-Amz-Date"));
    snprintf(s->auth, sizeof s->auth, "%s", header_of(req, "Authorization"));
    snprintf(s->token, sizeof s->token, "%s",
             header_of(req, "X-Amz-Security-Token"));
    snprintf(s->sha256, sizeof s->sha256, "%s",
             header_of(req, "x-amz-content-sha256"));
    snprintf(s->host, sizeof s->host, "%s", header_of(req, "Host"));
    snprintf(s->body, sizeof s->body, "%.*s", (int)req->body_len,
             req->body ? (const char *)req->body : "");
    s->response_fd = req->response_fd;
    s->response_offset = req->response_offset;
    s->response_max = req->response_max;
    s->has_progress = req->progress != NULL;
    /* As a transport does: the callback hears of the body and may stop. */
    if (req->progress && req->progress(req->progress_ctx, req->body_len, 0)) {
        sm_error_set(err, "stopped by the caller (fake)");
        return SM_TRANSPORT_EINTERRUPTED;
    }
    if (a->result != SM_TRANSPORT_OK) {
        sm_error_set(err, "fake transport failure %d", a->result);
        return a->result;
    }
    resp->status = a->status;
    if (a->header_name) {
        resp->headers = calloc(1, sizeof *resp->headers);
        resp->headers[0].name = strdup(a->header_name);
        resp->headers[0].value = strdup(a->header_value);
        resp->header_count = 1;
    }
    if (a->body && req->response_fd > 0 && a->status / 100 == 2)
        resp->body_written = strlen(a->body); /* as if written there */
    else if (a->body)
        sm_buf_puts(&resp->body, a->body);
    return SM_TRANSPORT_OK;
}

static time_t fake_now(void *ctx)
{
    return ((fake *)ctx)->now;
}

static void fake_sleep(void *ctx, long ms)
{
    fake *f = ctx;
    if (f->sleep_count < MAX_Q)
        f->sleeps[f->sleep_count++] = ms;
}

static double fake_random(void *ctx)
{
    return ((fake *)ctx)->random;
}

static void fake_init(fake *f)
{
    memset(f, 0, sizeof *f);
    f->now = NOW;
    f->random = 0.5;
}

static void script(fake *f, answer a)
{
    if (f->answer_count < MAX_Q)
        f->answers[f->answer_count++] = a;
}

static sm_aws *client(fake *f, int max_attempts)
{
    sm_aws_config cfg = {
        .region = "us-east-1",
        .endpoint_url = "http://127.0.0.1:1",
        .access_key = "AKIDEXAMPLE",
        .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        .session_token = "THE-SESSION-TOKEN-0123456789",
        .max_attempts = max_attempts,
        .seams = {fake_now, fake_sleep, fake_random, f, fake_send},
    };
    sm_aws_error err;
    return sm_aws_new(&cfg, &err);
}

#define OK_JSON(body) ((answer){SM_TRANSPORT_OK, 200, NULL, NULL, body})
#define ERR_JSON(status, type, msg)                                            \
    ((answer){SM_TRANSPORT_OK, status, "x-amzn-RequestId", "rid",              \
              "{\"__type\":\"" type "\",\"message\":\"" msg "\"}"})

/* ---- request shapes
 * ---------------------------------------------------------- */

ENV_TEST(aws_json_call_shape)
{
    fake f;
    fake_init(&f);
    script(&f, OK_JSON("{\"TrainingJobSummaries\": []}"));
    sm_aws *aws = client(&f, 0);
    CHECK(aws);
    CHECK_STR(sm_aws_region(aws), "us-east-1");
    CHECK_STR(sm_aws_endpoint(aws, SM_AWS_LOGS), "http://127.0.0.1:1");
    sm_aws_error err;
    json_t *resp =
        sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListTrainingJobs", NULL, &err);
    CHECK(resp);
    CHECK(json_is_array(json_object_get(resp, "TrainingJobSummaries")));
    json_decref(resp);
    CHECK(f.sent == 1);
    CHECK_STR(f.seen[0].method, "POST");
    CHECK_STR(f.seen[0].url, "http://127.0.0.1:1/");
    CHECK_STR(f.seen[0].host, "127.0.0.1:1");
    CHECK_STR(f.seen[0].target, "SageMaker.ListTrainingJobs");
    CHECK_STR(f.seen[0].body, "{}");
    CHECK_STR(f.seen[0].date, "20150830T123600Z");
    CHECK_STR(f.seen[0].token, "THE-SESSION-TOKEN-0123456789");
    CHECK(strstr(f.seen[0].auth, "Credential=AKIDEXAMPLE/20150830/us-east-1/"
                                 "sagemaker/aws4_request"));
    CHECK(strstr(f.seen[0].auth, "x-amz-target"));

    json_t *req = json_pack("{s:s}", "logGroupNamePrefix", "/aws/sagemaker");
    resp = sm_aws_json_call(aws, SM_AWS_LOGS, "DescribeLogGroups", req, &err);
    CHECK(resp);
    CHECK_STR(f.seen[1].target, "Logs_20140328.DescribeLogGroups");
    CHECK_STR(f.seen[1].body, "{\"logGroupNamePrefix\":\"/aws/sagemaker\"}");
    CHECK(strstr(f.seen[1].auth, "/us-east-1/logs/aws4_request"));
    json_decref(req);
    json_decref(resp);

    CHECK(sm_aws_json_call(aws, SM_AWS_S3, "Nope", NULL, &err) == NULL);
    CHECK(strstr(err.message, "not an awsJson service"));
    sm_aws_destroy(&aws);
    CHECK(aws == NULL);
}

ENV_TEST(aws_rest_call_s3_and_runtime)
{
    fake f;
    fake_init(&f);
    script(&f, (answer){SM_TRANSPORT_OK, 200, "ETag", "\"abc\"", "hello"});
    script(&f, (answer){SM_TRANSPORT_OK, 404, NULL, NULL, NULL});
    script(&f, (answer){SM_TRANSPORT_OK, 424, "x-amzn-ErrorType",
                        "ModelError:http://x/", "{\"message\":\"boom\"}"});
    sm_aws *aws = client(&f, 1);
    CHECK(aws);
    sm_aws_header h[] = {{"Content-Type", "text/plain"}};
    sm_aws_rest req = {.service = SM_AWS_S3,
                       .operation = "PutObject",
                       .method = "PUT",
                       .path = "/bucket/a%20b.txt",
                       .query = "x-id=PutObject",
                       .headers = h,
                       .header_count = 1,
                       .body = "data",
                       .body_len = 4};
    sm_aws_response resp;
    sm_aws_error err;
    CHECK(sm_aws_rest_call(aws, &req, &resp, &err) == 0);
    CHECK(resp.status == 200);
    CHECK_STR(sm_aws_response_header(&resp, "etag"), "\"abc\"");
    CHECK_STR(sm_aws_response_header(&resp, "ETAG"), "\"abc\"");
    CHECK(sm_aws_response_header(&resp, "nope") == NULL);
    CHECK(resp.body_len == 5 && memcmp(resp.body, "hello", 5) == 0);
    sm_aws_response_clear(&resp);
    CHECK(resp.body == NULL && resp.header_count == 0);
    CHECK_STR(f.seen[0].url, "http://127.0.0.1:1/bucket/a%20b.txt?x-id="
                             "PutObject");
    CHECK_STR(f.seen[0].sha256, "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602"
                                "261a9a923d3bb23adc8b7");
    CHECK(strstr(f.seen[0].auth, "/us-east-1/s3/aws4_request"));

    sm_aws_rest head = {.service = SM_AWS_S3,
                        .operation = "HeadObject",
                        .method = "HEAD",
                        .path = "/bucket/missing"};
    CHECK(sm_aws_rest_call(aws, &head, &resp, &err) == -1);
    CHECK(err.http_status == 404);
    CHECK_STR(err.code, "NotFound");
    CHECK_STR(err.service, "s3");
    CHECK_STR(err.operation, "HeadObject");

    sm_aws_rest inv = {.service = SM_AWS_RUNTIME,
                       .operation = "InvokeEndpoint",
                       .method = "POST",
                       .path = "/endpoints/ep/invocations",
                       .body = "1,2",
                       .body_len = 3};
    CHECK(sm_aws_rest_call(aws, &inv, &resp, &err) == -1);
    CHECK_STR(err.code, "ModelError");
    CHECK_STR(err.message, "boom");
    CHECK_STR(err.service, "sagemaker-runtime");
    CHECK(strstr(f.seen[2].auth, "/us-east-1/sagemaker/aws4_request"));

    sm_aws_rest bad = {.service = SM_AWS_S3, .method = "GET", .path = "x"};
    CHECK(sm_aws_rest_call(aws, &bad, &resp, &err) == -1);
    CHECK(f.sent == 3);
    sm_aws_destroy(&aws);
}

ENV_TEST(aws_query_call_and_whoami)
{
    fake f;
    fake_init(&f);
    script(&f,
           (answer){SM_TRANSPORT_OK, 200, NULL, NULL,
                    "<GetCallerIdentityResponse><GetCallerIdentityResult>"
                    "<Arn>arn:aws:iam::123456789012:user/me</Arn>"
                    "<UserId>AIDAEXAMPLE</UserId>"
                    "<Account>123456789012</Account>"
                    "</GetCallerIdentityResult></GetCallerIdentityResponse>"});
    script(&f, (answer){SM_TRANSPORT_OK, 403, NULL, NULL,
                        "<ErrorResponse><Error><Type>Sender</Type><Code>"
                        "InvalidClientTokenId</Code><Message>The security "
                        "token included in the request is invalid.</Message>"
                        "</Error><RequestId>r-1</RequestId></ErrorResponse>"});
    sm_aws *aws = client(&f, 0);
    sm_aws_identity id;
    sm_aws_error err;
    CHECK(aws);
    CHECK(sm_aws_whoami(aws, &id, &err) == 0);
    CHECK_STR(id.account, "123456789012");
    CHECK_STR(id.arn, "arn:aws:iam::123456789012:user/me");
    CHECK_STR(id.user_id, "AIDAEXAMPLE");
    CHECK_STR(f.seen[0].body, "Action=GetCallerIdentity&Version=2011-06-15");
    CHECK(strstr(f.seen[0].auth, "/us-east-1/sts/aws4_request"));
    CHECK(sm_aws_whoami(aws, &id, &err) == -1);
    CHECK_STR(err.code, "InvalidClientTokenId");
    CHECK_STR(err.request_id, "r-1");
    char msg[2048];
    sm_aws_error_format(&err, msg, sizeof msg);
    CHECK_STR(msg, "GetCallerIdentity failed: InvalidClientTokenId: The "
                   "security token included in the request is invalid.");
    sm_aws_destroy(&aws);
}

/* ---- retries
 * ----------------------------------------------------------------- */

ENV_TEST(aws_retries_throttling_then_succeeds)
{
    fake f;
    fake_init(&f);
    script(&f, ERR_JSON(400, "ThrottlingException", "Rate exceeded"));
    script(&f, ERR_JSON(400, "ThrottlingException", "Rate exceeded"));
    script(&f, OK_JSON("{}"));
    sm_aws *aws = client(&f, 0);
    sm_aws_error err;
    json_t *r =
        sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err);
    CHECK(r);
    json_decref(r);
    CHECK(f.sent == 3);
    CHECK(f.sleep_count == 2);
    CHECK(f.sleeps[0] == 500);  /* 0.5 * 1 s */
    CHECK(f.sleeps[1] == 1000); /* 0.5 * 2 s */
    sm_aws_destroy(&aws);
}

ENV_TEST(aws_gives_up_after_max_attempts)
{
    fake f;
    fake_init(&f);
    script(&f, ERR_JSON(500, "InternalFailure",
                        "We encountered an internal "
                        "error. Please try again."));
    sm_aws *aws = client(&f, 0);
    sm_aws_error err;
    CHECK(sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err) ==
          NULL);
    CHECK(f.sent == 3);
    CHECK(f.sleep_count == 2);
    CHECK(err.http_status == 500);
    CHECK_STR(err.code, "InternalFailure");
    CHECK_STR(err.request_id, "rid");
    CHECK_STR(err.message, "We encountered an internal error. Please try "
                           "again.");
    sm_aws_destroy(&aws);

    /* AWS_MAX_ATTEMPTS when the configuration leaves it at 0. */
    fake_init(&f);
    script(&f, (answer){SM_TRANSPORT_ECONNECT, 0, NULL, NULL, NULL});
    setenv("AWS_MAX_ATTEMPTS", "5", 1);
    aws = client(&f, 0);
    CHECK(sm_aws_json_call(aws, SM_AWS_LOGS, "GetLogEvents", NULL, &err) ==
          NULL);
    CHECK(f.sent == 5);
    CHECK(err.http_status == 0 && err.code[0] == '\0');
    CHECK(strstr(err.message, "fake transport failure"));
    sm_aws_destroy(&aws);
    /* The configuration wins over the variable. */
    fake_init(&f);
    script(&f, (answer){SM_TRANSPORT_ETIMEOUT, 0, NULL, NULL, NULL});
    aws = client(&f, 2);
    CHECK(sm_aws_json_call(aws, SM_AWS_LOGS, "GetLogEvents", NULL, &err) ==
          NULL);
    CHECK(f.sent == 2);
    sm_aws_destroy(&aws);
    setenv("AWS_MAX_ATTEMPTS", "zero", 1);
    CHECK(client(&f, 0) == NULL);
}

ENV_TEST(aws_does_not_retry_what_cannot_succeed)
{
    fake f;
    fake_init(&f);
    script(&f, ERR_JSON(400, "ValidationException",
                        "1 validation error detected: Value 'bad name' at "
                        "'trainingJobName' failed to satisfy constraint"));
    script(&f, (answer){SM_TRANSPORT_EFATAL, 0, NULL, NULL, NULL});
    sm_aws *aws = client(&f, 0);
    sm_aws_error err;
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "CreateTrainingJob", NULL,
                            &err));
    CHECK(f.sent == 1 && f.sleep_count == 0);
    char msg[2048];
    sm_aws_error_format(&err, msg, sizeof msg);
    CHECK_STR(msg, "CreateTrainingJob failed: ValidationException: 1 "
                   "validation error detected: Value 'bad name' at "
                   "'trainingJobName' failed to satisfy constraint");
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "CreateTrainingJob", NULL,
                            &err));
    CHECK(f.sent == 2 && f.sleep_count == 0);
    sm_aws_destroy(&aws);
}

ENV_TEST(aws_retry_quota_runs_dry)
{
    fake f;
    fake_init(&f);
    script(&f, ERR_JSON(503, "ServiceUnavailable", "down"));
    sm_aws *aws = client(&f, 50);
    sm_aws_error err;
    /* 49 retries cost 245 tokens; twice leaves 10: two more retries. */
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err));
    CHECK(f.sent == 50);
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err));
    CHECK(f.sent == 100);
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err));
    CHECK(f.sent == 103);
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err));
    CHECK(f.sent == 104); /* empty: no retry at all */
    CHECK_STR(err.code, "ServiceUnavailable");
    /* Successes refill it one token at a time. */
    f.answer_count = 0;
    f.sent = 0;
    script(&f, OK_JSON("{}"));
    for (int i = 0; i < 5; i++) {
        json_t *r =
            sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err);
        CHECK(r);
        json_decref(r);
    }
    f.answer_count = 0;
    script(&f, ERR_JSON(503, "ServiceUnavailable", "down"));
    f.sent = 0;
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err));
    CHECK(f.sent == 2);
    sm_aws_destroy(&aws);
}

/* ---- clock skew
 * -------------------------------------------------------------- */

ENV_TEST(aws_clock_skew_is_corrected_once)
{
    fake f;
    fake_init(&f);
    /* The server's clock is one hour ahead. */
    script(&f, (answer){SM_TRANSPORT_OK, 403, "Date",
                        "Sun, 30 Aug 2015 13:36:00 GMT",
                        "{\"__type\":\"RequestTimeTooSkewed\",\"message\":"
                        "\"The difference between the request time and the "
                        "server's time is too large.\"}"});
    script(&f, OK_JSON("{}"));
    sm_aws *aws = client(&f, 1); /* the skew retry is not one of them */
    sm_aws_error err;
    json_t *r =
        sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err);
    CHECK(r);
    json_decref(r);
    CHECK(f.sent == 2);
    CHECK_STR(f.seen[0].date, "20150830T123600Z");
    CHECK_STR(f.seen[1].date, "20150830T133600Z");
    CHECK(f.sleep_count == 0);
    /* Later calls keep the offset. */
    script(&f, OK_JSON("{}"));
    r = sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err);
    json_decref(r);
    CHECK_STR(f.seen[2].date, "20150830T133600Z");
    sm_aws_destroy(&aws);

    /* A skew error whose Date agrees with us is a plain failure. */
    fake_init(&f);
    script(&f, (answer){SM_TRANSPORT_OK, 403, "Date",
                        "Sun, 30 Aug 2015 12:37:00 GMT",
                        "{\"__type\":\"InvalidSignatureException\","
                        "\"message\":\"Signature expired\"}"});
    aws = client(&f, 3);
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err));
    CHECK(f.sent == 1);
    CHECK_STR(err.code, "InvalidSignatureException");
    sm_aws_destroy(&aws);

    /* Skewed twice in one call: corrected once, then reported. */
    fake_init(&f);
    script(&f, (answer){SM_TRANSPORT_OK, 403, "Date",
                        "Sun, 30 Aug 2015 13:36:00 GMT",
                        "<Error><Code>RequestTimeTooSkewed</Code><Message>"
                        "skewed</Message></Error>"});
    script(&f, (answer){SM_TRANSPORT_OK, 403, "Date",
                        "Sun, 30 Aug 2015 11:00:00 GMT",
                        "<Error><Code>RequestTimeTooSkewed</Code><Message>"
                        "skewed</Message></Error>"});
    aws = client(&f, 3);
    sm_aws_rest req = {.service = SM_AWS_S3,
                       .operation = "ListBuckets",
                       .method = "GET",
                       .path = "/"};
    sm_aws_response resp;
    CHECK(sm_aws_rest_call(aws, &req, &resp, &err) == -1);
    CHECK(f.sent == 2);
    CHECK_STR(err.code, "RequestTimeTooSkewed");
    sm_aws_destroy(&aws);
}

/* ---- secrets
 * ------------------------------------------------------------------ */

ENV_TEST(aws_errors_never_carry_secrets)
{
    fake f;
    fake_init(&f);
    script(&f, ERR_JSON(403, "InvalidSignatureException",
                        "The Canonical String for this request should have "
                        "been x-amz-security-token:THE-SESSION-TOKEN-"
                        "0123456789 and key "
                        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
    sm_aws *aws = client(&f, 1);
    sm_aws_error err;
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err));
    CHECK(!strstr(err.message, "THE-SESSION-TOKEN"));
    CHECK(!strstr(err.message, "EXAMPLEKEY"));
    CHECK(strstr(err.message, "x-amz-security-token:****"));
    sm_aws_destroy(&aws);
}

/* ---- configuration and credentials --------------------------------------- */

ENV_TEST(aws_configure_errors)
{
    sm_aws_config cfg = {.access_key = "A", .secret_key = "S"};
    sm_aws_error err;
    char msg[2048];
    CHECK(sm_aws_new(&cfg, &err) == NULL);
    sm_aws_error_format(&err, msg, sizeof msg);
    CHECK_STR(msg, "configure failed: no region: set %config region=... or "
                   "AWS_REGION");
    cfg.region = "us-east-1";
    cfg.endpoint_url = "localhost:5000";
    CHECK(sm_aws_new(&cfg, &err) == NULL);
    CHECK(strstr(err.message, "not an endpoint URL"));
    cfg.endpoint_url = NULL;
    setenv("SAGEMAGIC_READ_TIMEOUT_MS", "-5", 1);
    CHECK(sm_aws_new(&cfg, &err) == NULL);
    CHECK(strstr(err.message, "SAGEMAGIC_READ_TIMEOUT_MS"));
    unsetenv("SAGEMAGIC_READ_TIMEOUT_MS");
    setenv("AWS_REGION", "eu-west-1", 1);
    cfg.region = NULL;
    sm_aws *aws = sm_aws_new(&cfg, &err);
    CHECK(aws);
    CHECK_STR(sm_aws_endpoint(aws, SM_AWS_SAGEMAKER),
              "https://api.sagemaker.eu-west-1.amazonaws.com");
    CHECK_STR(sm_aws_endpoint(aws, SM_AWS_RUNTIME),
              "https://runtime.sagemaker.eu-west-1.amazonaws.com");
    sm_aws_destroy(&aws);
    sm_aws_destroy(&aws); /* twice is harmless */
}

ENV_TEST(aws_missing_credentials_fail_the_call)
{
    fake f;
    fake_init(&f);
    sm_aws_config cfg = {
        .region = "us-east-1",
        .seams = {fake_now, fake_sleep, fake_random, &f, fake_send}};
    sm_aws_error err;
    sm_aws *aws = sm_aws_new(&cfg, &err);
    CHECK(aws);
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err));
    CHECK(f.sent == 0);
    CHECK(strstr(err.message, "no AWS credentials"));
    CHECK_STR(err.operation, "ListModels");
    sm_aws_destroy(&aws);
}

ENV_TEST(aws_expired_token_forgets_credentials)
{
    fake f;
    fake_init(&f);
    setenv("AWS_ACCESS_KEY_ID", "FIRSTKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s1", 1);
    sm_aws_config cfg = {
        .region = "us-east-1",
        .endpoint_url = "http://127.0.0.1:1",
        .seams = {fake_now, fake_sleep, fake_random, &f, fake_send}};
    sm_aws_error err;
    sm_aws *aws = sm_aws_new(&cfg, &err);
    script(&f, ERR_JSON(400, "ExpiredTokenException", "expired"));
    script(&f, OK_JSON("{}"));
    CHECK(!sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err));
    setenv("AWS_ACCESS_KEY_ID", "SECONDKEY", 1);
    json_t *r =
        sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err);
    CHECK(r);
    json_decref(r);
    CHECK(strstr(f.seen[0].auth, "Credential=FIRSTKEY/"));
    CHECK(strstr(f.seen[1].auth, "Credential=SECONDKEY/"));
    sm_aws_destroy(&aws);
}

ENV_TEST(aws_role_profile_goes_through_sts)
{
    fake f;
    char dir[512];
    fake_init(&f);
    snprintf(dir, sizeof dir, "%s/.aws", home);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(testenv_write(dir, "config",
                        "[profile ml]\nregion = eu-central-1\n"
                        "role_arn = arn:aws:iam::123456789012:role/ML\n"
                        "source_profile = base\n"
                        "role_session_name = nb\n",
                        0));
    CHECK(testenv_write(dir, "credentials",
                        "[base]\naws_access_key_id = BASEKEY\n"
                        "aws_secret_access_key = basesecret\n",
                        0));
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
    script(&f, (answer){SM_TRANSPORT_OK, 200, NULL, NULL,
                        "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                        "<AccessKeyId>ASIAROLE</AccessKeyId>"
                        "<SecretAccessKey>rolesecret</SecretAccessKey>"
                        "<SessionToken>roletoken</SessionToken>"
                        "<Expiration>2015-08-30T13:36:00Z</Expiration>"
                        "</Credentials></AssumeRoleResult>"
                        "</AssumeRoleResponse>"});
    script(&f, OK_JSON("{}"));
    sm_aws_config cfg = {
        .profile = "ml",
        .seams = {fake_now, fake_sleep, fake_random, &f, fake_send}};
    sm_aws_error err;
    sm_aws *aws = sm_aws_new(&cfg, &err);
    CHECK(aws);
    CHECK_STR(sm_aws_region(aws), "eu-central-1");
    json_t *r =
        sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err);
    CHECK(r);
    json_decref(r);
    CHECK(f.sent == 2);
    CHECK(strstr(f.seen[0].auth, "Credential=BASEKEY/20150830/eu-central-1/"
                                 "sts/aws4_request"));
    CHECK_STR(f.seen[0].body,
              "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam"
              "%3A%3A123456789012%3Arole%2FML&RoleSessionName=nb");
    CHECK(strstr(f.seen[1].auth, "Credential=ASIAROLE/"));
    CHECK_STR(f.seen[1].token, "roletoken");
    /* 50 minutes later the role's credentials are inside the advisory
     * window: the next call assumes the role again first. */
    f.now += 50 * 60;
    script(&f, f.answers[0]);
    f.answers[2].body = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                        "<AccessKeyId>ASIAROLE2</AccessKeyId>"
                        "<SecretAccessKey>s</SecretAccessKey>"
                        "<SessionToken>t</SessionToken>"
                        "<Expiration>2015-08-30T14:36:00Z</Expiration>"
                        "</Credentials></AssumeRoleResult>"
                        "</AssumeRoleResponse>";
    script(&f, OK_JSON("{}"));
    r = sm_aws_json_call(aws, SM_AWS_SAGEMAKER, "ListModels", NULL, &err);
    CHECK(r);
    json_decref(r);
    CHECK(f.sent == 4);
    CHECK(strstr(f.seen[3].auth, "Credential=ASIAROLE2/"));
    sm_aws_destroy(&aws);
}

/* ---- threads ----------------------------------------------------------------
 */

typedef struct shared_fake {
    pthread_mutex_t lock;
    int sent;
} shared_fake;

/* Every third request of each thread is throttled; the rest succeed.
 * Counted per thread, so that no interleaving of the threads can hand one
 * of them every throttle (a count shared by all could, when three threads
 * take turns). Thread-safe. */
static int shared_send(void *ctx, const sm_transport_request *req,
                       sm_transport_response *resp, sm_error *err)
{
    static _Thread_local int mine;
    shared_fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    f->sent++;
    pthread_mutex_unlock(&f->lock);
    int throttled = ++mine % 3 == 0;
    resp->status = throttled ? 400 : 200;
    sm_buf_puts(&resp->body, throttled ? "{\"__type\":\"Throttling\"}" : "{}");
    return SM_TRANSPORT_OK;
}

static void no_sleep(void *ctx, long ms)
{
}

typedef struct worker {
    sm_aws *aws;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 50; i++) {
        sm_aws_error err;
        json_t *r = sm_aws_json_call(w->aws, SM_AWS_SAGEMAKER, "ListModels",
                                     NULL, &err);
        if (!r)
            w->failures++;
        json_decref(r);
    }
    return NULL;
}

ENV_TEST(aws_calls_from_many_threads)
{
    shared_fake f = {.sent = 0};
    pthread_mutex_init(&f.lock, NULL);
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    sm_aws_config cfg = {
        .region = "us-east-1",
        .endpoint_url = "http://127.0.0.1:1",
        .max_attempts = 10,
        .seams = {.sleep_ms = no_sleep, .ctx = &f, .send = shared_send}};
    sm_aws_error err;
    sm_aws *aws = sm_aws_new(&cfg, &err);
    CHECK(aws);
    pthread_t threads[8];
    worker workers[8];
    for (int i = 0; i < 8; i++) {
        workers[i] = (worker){aws, 0};
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    int failures = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        failures += workers[i].failures;
    }
    CHECK(failures == 0);
    CHECK(f.sent == 8 * 74); /* 50 successes each: one retry per throttle */
    sm_aws_destroy(&aws);
    pthread_mutex_destroy(&f.lock);
}

/* ---- progress and stopping ---------------------------------------------- */

typedef struct stopper {
    int calls, stop_at_call; /* say stop on this call (1-based); 0: never */
    uint64_t last_sent;
    int zero_calls; /* calls with 0, 0: between attempts */
} stopper;

static int stopper_progress(void *ctx, uint64_t sent, uint64_t received)
{
    stopper *st = ctx;
    st->calls++;
    st->last_sent = sent;
    st->zero_calls += sent == 0 && received == 0;
    return st->stop_at_call && st->calls >= st->stop_at_call;
}

ENV_TEST(aws_rest_progress_and_response_fd_reach_the_transport)
{
    fake f;
    fake_init(&f);
    script(&f, (answer){SM_TRANSPORT_OK, 206, NULL, NULL, "0123456"});
    sm_aws *aws = client(&f, 1);
    stopper st = {0};
    sm_aws_rest req = {.service = SM_AWS_S3,
                       .operation = "GetObject",
                       .method = "GET",
                       .path = "/bucket/key",
                       .response_fd = 42,
                       .response_offset = 1000,
                       .response_max = 7,
                       .progress = stopper_progress,
                       .progress_ctx = &st};
    sm_aws_response resp;
    sm_aws_error err;
    CHECK(sm_aws_rest_call(aws, &req, &resp, &err) == 0);
    CHECK(f.seen[0].response_fd == 42 && f.seen[0].response_offset == 1000);
    CHECK(f.seen[0].response_max == 7 && f.seen[0].has_progress);
    CHECK(resp.body_written == 7 && resp.body_len == 0);
    CHECK(st.calls == 1);
    sm_aws_response_clear(&resp);
    sm_aws_destroy(&aws);
}

ENV_TEST(aws_progress_stop_is_interrupted_and_not_retried)
{
    fake f;
    fake_init(&f);
    script(&f, (answer){SM_TRANSPORT_OK, 200, NULL, NULL, ""});
    sm_aws *aws = client(&f, 3);
    stopper st = {.stop_at_call = 1};
    sm_aws_rest req = {.service = SM_AWS_S3,
                       .operation = "PutObject",
                       .method = "PUT",
                       .path = "/bucket/key",
                       .body = "data",
                       .body_len = 4,
                       .progress = stopper_progress,
                       .progress_ctx = &st};
    sm_aws_response resp;
    sm_aws_error err;
    CHECK(sm_aws_rest_call(aws, &req, &resp, &err) == -1);
    CHECK_STR(err.code, SM_AWS_ERR_INTERRUPTED);
    CHECK_STR(err.operation, "PutObject");
    CHECK(err.http_status == 0);
    CHECK(st.last_sent == 4);
    CHECK(f.sent == 1 && f.sleep_count == 0);
    sm_aws_destroy(&aws);
}

ENV_TEST(aws_progress_is_asked_while_waiting_to_retry)
{
    /* A 503, then the wait of 500 ms goes in 100 ms slices, the callback
     * asked with 0, 0 before each and after the last. */
    fake f;
    fake_init(&f);
    script(&f, (answer){SM_TRANSPORT_OK, 503, NULL, NULL,
                        "<Error><Code>SlowDown</Code></Error>"});
    script(&f, (answer){SM_TRANSPORT_OK, 200, NULL, NULL, ""});
    sm_aws *aws = client(&f, 3);
    stopper st = {0};
    sm_aws_rest req = {.service = SM_AWS_S3,
                       .operation = "PutObject",
                       .method = "PUT",
                       .path = "/bucket/key",
                       .progress = stopper_progress,
                       .progress_ctx = &st};
    sm_aws_response resp;
    sm_aws_error err;
    CHECK(sm_aws_rest_call(aws, &req, &resp, &err) == 0);
    sm_aws_response_clear(&resp);
    CHECK(f.sent == 2);
    CHECK(f.sleep_count == 5);
    long slept = 0;
    for (int i = 0; i < f.sleep_count; i++)
        slept += f.sleeps[i];
    CHECK(slept == 500);
    CHECK(st.zero_calls == 6 + 2); /* six in the wait, one per attempt */

    /* Stopped during the wait: no second attempt. */
    fake_init(&f);
    script(&f, (answer){SM_TRANSPORT_OK, 503, NULL, NULL,
                        "<Error><Code>SlowDown</Code></Error>"});
    script(&f, (answer){SM_TRANSPORT_OK, 200, NULL, NULL, ""});
    st = (stopper){.stop_at_call = 3};
    CHECK(sm_aws_rest_call(aws, &req, &resp, &err) == -1);
    CHECK_STR(err.code, SM_AWS_ERR_INTERRUPTED);
    CHECK(err.http_status == 0);
    CHECK(f.sent == 1 && f.sleep_count == 1);
    sm_aws_destroy(&aws);
}
