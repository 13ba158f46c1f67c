/* test_sagemaker_calls: the call functions end to end through the real
 * client (signing, awsJson and REST framing, error parsing) over a scripted
 * transport: what goes on the wire, and what comes back typed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws.h"
#include "fake_caller.h"
#include "logs.h"
#include "runtime.h"
#include "sagemaker.h"
#include "sagemaker_hosting.h"
#include "sagemaker_training.h"
#include "test.h"
#include "testenv.h"
#include "transport.h"

#define MAX_WIRE 16

typedef struct wire_answer {
    long status;
    const char *content_type;
    const char *body;
} wire_answer;

typedef struct wire_seen {
    char method[8], url[256], target[96], content_type[64], accept[64];
    char body[8192];
} wire_seen;

typedef struct wire {
    wire_answer answers[MAX_WIRE];
    int answer_count, sent;
    wire_seen seen[MAX_WIRE];
} wire;

static const char *header_of(const sm_transport_request *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return "";
}

static int wire_send(void *ctx, const sm_transport_request *req,
                     sm_transport_response *resp, sm_error *err)
{
    wire *w = ctx;
    if (w->sent >= w->answer_count || w->sent >= MAX_WIRE) {
        sm_error_set(err, "no answer scripted");
        return SM_TRANSPORT_EFATAL;
    }
    wire_seen *s = &w->seen[w->sent];
    const wire_answer *a = &w->answers[w->sent++];
    snprintf(s->method, sizeof s->method, "%s", req->method);
    snprintf(s->url, sizeof s->url, "%s", req->url);
    snprintf(s->target, sizeof s->target, "%s", header_of(req, "X-Amz-Target"));
    snprintf(s->content_type, sizeof s->content_type, "%s",
             header_of(req, "Content-Type"));
    snprintf(s->accept, sizeof s->accept, "%s", header_of(req, "Accept"));
    snprintf(s->body, sizeof s->body, "%.*s", (int)req->body_len,
             req->body ? (const char *)req->body : "");
    resp->status = a->status;
    resp->headers = calloc(2, sizeof *resp->headers);
    resp->headers[0].name = strdup("x-amzn-requestid");
    resp->headers[0].value = strdup("rid-1");
    resp->header_count = 1;
    if (a->content_type) {
        resp->headers[1].name = strdup("content-type");
        resp->headers[1].value = strdup(a->content_type);
        resp->header_count = 2;
    }
    sm_buf_puts(&resp->body, a->body ? a->body : "");
    return SM_TRANSPORT_OK;
}

static time_t wire_now(void *ctx)
{
    (void)ctx;
    return 1700000000;
}

static void wire_sleep(void *ctx, long ms)
{
    (void)ctx;
    (void)ms;
}

static double wire_random(void *ctx)
{
    (void)ctx;
    return 0.5;
}

static void answer(wire *w, long status, const char *body)
{
    w->answers[w->answer_count++] = (wire_answer){status, NULL, body};
}

static sm_aws *wire_client(wire *w)
{
    sm_aws_config cfg = {
        .region = "us-east-1",
        .endpoint_url = "http://127.0.0.1:1",
        .access_key = "AKIDEXAMPLE",
        .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        .max_attempts = 1,
        .seams = {wire_now, wire_sleep, wire_random, w, wire_send},
    };
    sm_aws_error err;
    return sm_aws_new(&cfg, &err);
}

/* Member `name` of the JSON body the i-th request carried, as text. */
static char *sent_member(const wire *w, int i, const char *name)
{
    static char text[256];
    json_t *body = json_loads(w->seen[i].body, 0, NULL);
    const char *s = json_string_value(json_object_get(body, name));
    snprintf(text, sizeof text, "%s", s ? s : "");
    json_decref(body);
    return text;
}

ENV_TEST(sagemaker_calls_training)
{
    (void)home;
    wire w = {0};
    answer(&w, 200,
           "{\"TrainingJobArn\": \"arn:aws:sagemaker:us-east-1:"
           "123456789012:training-job/j\"}");
    answer(&w, 200,
           "{\"TrainingJobName\": \"j\", \"TrainingJobStatus\": "
           "\"InProgress\", \"SecondaryStatus\": \"Starting\"}");
    answer(&w, 400,
           "{\"__type\": \"com.amazon.coral.validate#"
           "ValidationException\", \"message\": \"Requested "
           "resource not found.\"}");
    answer(&w, 200, "{}");
    sm_aws *aws = wire_client(&w);
    CHECK(aws != NULL);
    sm_sagemaker_training_job_spec spec = {
        .name = "j",
        .training = {.image = "img:1",
                     .role_arn = "arn:aws:iam::123456789012:role/R",
                     .output_path = "s3://b/o",
                     .resources = {.instance_type = "ml.m5.large"}}};
    char *arn = NULL;
    sm_aws_error err;
    CHECK(sm_sagemaker_create_training_job(aws, &spec, &arn, &err) == 0);
    CHECK_STR(arn, "arn:aws:sagemaker:us-east-1:123456789012:training-job/j");
    free(arn);
    CHECK_STR(w.seen[0].url, "http://127.0.0.1:1/");
    CHECK_STR(w.seen[0].target, "SageMaker.CreateTrainingJob");
    CHECK_STR(w.seen[0].content_type, "application/x-amz-json-1.1");
    CHECK_STR(sent_member(&w, 0, "RoleArn"),
              "arn:aws:iam::123456789012:role/R");

    /* Refused before sending: the wire sees nothing. */
    spec.name = "j_1";
    CHECK(sm_sagemaker_create_training_job(aws, &spec, &arn, &err) == -1);
    CHECK(arn == NULL);
    CHECK_STR(err.code, SM_AWSJSON_INVALID);
    CHECK_STR(err.operation, "CreateTrainingJob");
    CHECK(w.sent == 1);

    sm_sagemaker_training_job job;
    CHECK(sm_sagemaker_describe_training_job(aws, "j", &job, &err) == 0);
    CHECK_STR(job.state.secondary_status, "Starting");
    CHECK_STR(w.seen[1].body, "{\"TrainingJobName\":\"j\"}");
    sm_sagemaker_training_job_clear(&job);
    CHECK(sm_sagemaker_describe_training_job(aws, "j", &job, &err) == -1);
    CHECK_STR(err.code, "ValidationException");
    CHECK(sm_sagemaker_error_is_not_found(&err));
    CHECK(job.raw == NULL);

    CHECK(sm_sagemaker_stop(aws, SM_SAGEMAKER_TRAINING_JOB, "j", &err) == 0);
    CHECK_STR(w.seen[3].target, "SageMaker.StopTrainingJob");
    CHECK(sm_sagemaker_stop(aws, SM_SAGEMAKER_MODEL, "m", &err) == -1);
    CHECK(strstr(err.message, "A model cannot be stopped"));
    CHECK(w.sent == 4);
    sm_aws_destroy(&aws);
}

ENV_TEST(sagemaker_calls_hosting_and_wait)
{
    (void)home;
    wire w = {0};
    answer(&w, 200, "{\"ModelArn\": \"arn:m\"}");
    answer(&w, 200, "{\"EndpointConfigArn\": \"arn:c\"}");
    answer(&w, 200, "{\"EndpointArn\": \"arn:e\"}");
    answer(&w, 200,
           "{\"EndpointName\": \"e\", \"EndpointStatus\": "
           "\"Creating\"}");
    answer(&w, 200,
           "{\"EndpointName\": \"e\", \"EndpointStatus\": "
           "\"InService\", \"EndpointConfigName\": \"c\"}");
    answer(&w, 200,
           "{\"Endpoints\": [{\"EndpointName\": \"e\"}], "
           "\"NextToken\": \"n\"}");
    answer(&w, 200, "{\"Endpoints\": [{\"EndpointName\": \"f\"}]}");
    answer(&w, 200, "{}");
    sm_aws *aws = wire_client(&w);
    CHECK(aws != NULL);
    sm_aws_error err;
    sm_sagemaker_model_spec m = {.name = "m", .image = "img:1"};
    CHECK(sm_sagemaker_create_model(aws, &m, NULL, &err) == 0);
    sm_sagemaker_variant v = {.model_name = "m", .serverless_memory_mb = 2048};
    sm_sagemaker_endpoint_config_spec c = {
        .name = "c", .variants = &v, .variant_count = 1};
    CHECK(sm_sagemaker_create_endpoint_config(aws, &c, NULL, &err) == 0);
    sm_sagemaker_endpoint_spec e = {.name = "e", .config_name = "c"};
    char *arn = NULL;
    CHECK(sm_sagemaker_create_endpoint(aws, &e, &arn, &err) == 0);
    CHECK_STR(arn, "arn:e");
    free(arn);

    fake_clock clock = {0};
    sm_sagemaker_wait_options o = {
        .poll_seconds = 5, .clock = {fake_clock_now, fake_clock_sleep, &clock}};
    json_t *last = NULL;
    CHECK(sm_sagemaker_wait(aws, SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE, "e", &o,
                            &last, &err) == SM_SAGEMAKER_WAIT_SUCCESS);
    sm_sagemaker_endpoint ep;
    CHECK(sm_sagemaker_endpoint_read(last, &ep) == 0);
    CHECK_STR(ep.config_name, "c");
    sm_sagemaker_endpoint_clear(&ep);
    CHECK(clock.slept == 5);

    sm_sagemaker_listing list;
    CHECK(sm_sagemaker_list(aws, SM_SAGEMAKER_ENDPOINT, NULL, &list, &err) ==
          0);
    CHECK(list.count == 2);
    CHECK_STR(list.items[1].name, "f");
    CHECK_STR(sent_member(&w, 6, "NextToken"), "n");
    sm_sagemaker_listing_clear(&list);

    CHECK(sm_sagemaker_delete(aws, SM_SAGEMAKER_ENDPOINT, "e", &err) == 0);
    CHECK_STR(w.seen[7].target, "SageMaker.DeleteEndpoint");
    CHECK(w.sent == 8);
    sm_aws_destroy(&aws);
}

ENV_TEST(sagemaker_calls_logs_and_runtime)
{
    (void)home;
    wire w = {0};
    answer(&w, 200,
           "{\"events\": [{\"timestamp\": 1, \"message\": \"[0]"
           "#011train-rmse:1\"}], \"nextForwardToken\": \"f/1\"}");
    answer(&w, 200, "{\"events\": [], \"nextForwardToken\": \"f/1\"}");
    w.answers[w.answer_count++] =
        (wire_answer){200, "text/csv; charset=utf-8", "0.25\n0.75\n"};
    answer(&w, 424,
           "{\"ErrorCode\": \"CLIENT_ERROR_FROM_MODEL\", "
           "\"Message\": \"Received client error (415) from "
           "primary\", \"OriginalStatusCode\": 415}");
    sm_aws *aws = wire_client(&w);
    CHECK(aws != NULL);
    sm_aws_error err;
    sm_logs_events_query q = {.group = SM_LOGS_TRAINING_GROUP,
                              .stream = "j/algo-1-1"};
    sm_logs_events events;
    CHECK(sm_logs_read_stream(aws, &q, 0, &events, &err) == 0);
    CHECK(events.at_end && events.count == 1);
    CHECK_STR(w.seen[0].target, "Logs_20140328.GetLogEvents");
    CHECK_STR(sent_member(&w, 1, "nextToken"), "f/1");
    sm_logs_events_clear(&events);

    sm_runtime_request req = {.endpoint_name = "e",
                              .body = "1,2\n3,4",
                              .body_len = 7,
                              .content_type = "text/csv",
                              .accept = "text/csv"};
    sm_runtime_result r;
    CHECK(sm_runtime_invoke_endpoint(aws, &req, &r, &err) == 0);
    CHECK_STR(w.seen[2].url, "http://127.0.0.1:1/endpoints/e/invocations");
    CHECK_STR(w.seen[2].method, "POST");
    CHECK_STR(w.seen[2].content_type, "text/csv");
    CHECK_STR(w.seen[2].accept, "text/csv");
    CHECK_STR(w.seen[2].body, "1,2\n3,4");
    CHECK_STR(r.body, "0.25\n0.75\n");
    CHECK_STR(r.content_type, "text/csv; charset=utf-8");
    sm_runtime_result_clear(&r);

    CHECK(sm_runtime_invoke_endpoint(aws, &req, &r, &err) == -1);
    CHECK(err.http_status == 424);
    CHECK(r.body == NULL);
    req.endpoint_name = "e/../x";
    CHECK(sm_runtime_invoke_endpoint(aws, &req, &r, &err) == -1);
    CHECK_STR(err.code, SM_AWSJSON_INVALID);
    CHECK(w.sent == 4);
    sm_aws_destroy(&aws);
}
