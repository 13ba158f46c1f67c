/* test_logs: CloudWatch Logs requests, pages read, and the paging rules:
 * nextToken for streams and filters, the token-equality end of a stream. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_caller.h"
#include "logs.h"
#include "test.h"

static int dumps_as(json_t *body, const char *want)
{
    char *got = body ? json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    int same = got && strcmp(got, want) == 0;
    if (!same)
        printf("      got:  %s\n      want: %s\n", got ? got : "(null)", want);
    free(got);
    json_decref(body);
    return same;
}

TEST(logs_requests)
{
    sm_error err = {""};
    sm_logs_stream_query s = {.group = SM_LOGS_TRAINING_GROUP,
                              .prefix = "xgb-job/",
                              .limit = 50,
                              .next_token = "n1"};
    CHECK(dumps_as(sm_logs_describe_streams_request(&s, &err),
                   "{\"limit\":50,\"logGroupName\":\"/aws/sagemaker/"
                   "TrainingJobs\",\"logStreamNamePrefix\":\"xgb-job/\","
                   "\"nextToken\":\"n1\"}"));
    s = (sm_logs_stream_query){.group = "/aws/sagemaker/Endpoints/ep",
                               .order_by = "lasteventtime",
                               .descending = 1};
    CHECK(dumps_as(sm_logs_describe_streams_request(&s, &err),
                   "{\"descending\":true,\"logGroupName\":\"/aws/sagemaker/"
                   "Endpoints/ep\",\"orderBy\":\"LastEventTime\"}"));
    s.prefix = "AllTraffic/";
    CHECK(!sm_logs_describe_streams_request(&s, &err));
    CHECK(strstr(err.message, "cannot be filtered by a prefix"));
    sm_error_clear(&err);
    s = (sm_logs_stream_query){.group = "bad group"};
    CHECK(!sm_logs_describe_streams_request(&s, &err));
    CHECK(strstr(err.message, "logGroupName 'bad group' is not valid"));
    sm_error_clear(&err);
    s = (sm_logs_stream_query){.group = "g", .limit = 51};
    CHECK(!sm_logs_describe_streams_request(&s, &err));
    CHECK(strstr(err.message, "at most 50"));
    sm_error_clear(&err);

    sm_logs_events_query e = {.group = SM_LOGS_TRAINING_GROUP,
                              .stream = "xgb-job/algo-1-1700000000",
                              .start_time = 1700000000123LL,
                              .next_token = "f/1"};
    CHECK(dumps_as(sm_logs_get_events_request(&e, &err),
                   "{\"logGroupName\":\"/aws/sagemaker/TrainingJobs\","
                   "\"logStreamName\":\"xgb-job/algo-1-1700000000\","
                   "\"nextToken\":\"f/1\",\"startFromHead\":true,"
                   "\"startTime\":1700000000123}"));
    e = (sm_logs_events_query){.group = "g", .stream = "s"};
    CHECK(dumps_as(sm_logs_get_events_request(&e, &err),
                   "{\"logGroupName\":\"g\",\"logStreamName\":\"s\"}"));
    e.stream = "a:b";
    CHECK(!sm_logs_get_events_request(&e, &err));
    CHECK(strstr(err.message, "not contain ':' or '*'"));
    sm_error_clear(&err);
    e = (sm_logs_events_query){
        .group = "g", .stream = "s", .start_time = 9, .end_time = 5};
    CHECK(!sm_logs_get_events_request(&e, &err));
    CHECK(strstr(err.message, "end time comes before"));
    sm_error_clear(&err);
    e = (sm_logs_events_query){.group = "g"};
    CHECK(!sm_logs_get_events_request(&e, &err));
    CHECK(strstr(err.message, "logStreamName is required"));
    sm_error_clear(&err);

    static const char *const streams[] = {"j/algo-1-1", "j/algo-2-1"};
    sm_logs_filter_query f = {.group = "g",
                              .streams = streams,
                              .stream_count = 2,
                              .pattern = "\"[10]\"",
                              .limit = 1000};
    CHECK(dumps_as(sm_logs_filter_events_request(&f, &err),
                   "{\"filterPattern\":\"\\\"[10]\\\"\",\"limit\":1000,"
                   "\"logGroupName\":\"g\",\"logStreamNames\":"
                   "[\"j/algo-1-1\",\"j/algo-2-1\"]}"));
    f.prefix = "j/";
    CHECK(!sm_logs_filter_events_request(&f, &err));
    CHECK(strstr(err.message, "not both"));
}

TEST(logs_describe_streams_pages)
{
    static const fake_step steps[] = {
        {"DescribeLogStreams",
         "{\"logStreams\": [{\"logStreamName\": \"j/algo-1-1700000000\", "
         "\"creationTime\": 1700000000000, \"firstEventTimestamp\": "
         "1700000001000, \"lastEventTimestamp\": 1700000099000, "
         "\"lastIngestionTime\": 1700000100000}], \"nextToken\": \"p2\"}",
         NULL, NULL},
        {"DescribeLogStreams",
         "{\"logStreams\": [{\"logStreamName\": \"j/algo-2-1700000000\"}, "
         "{\"creationTime\": 5}]}",
         NULL, NULL},
    };
    fake_caller fake;
    sm_awsjson_caller caller = fake_caller_start(&fake, steps, 2);
    sm_logs_stream_query q = {.group = SM_LOGS_TRAINING_GROUP, .prefix = "j/"};
    sm_logs_streams out;
    sm_aws_error err;
    CHECK(sm_logs_describe_streams_via(&caller, &q, 0, &out, &err) == 0);
    CHECK(out.count == 2); /* the nameless one is dropped */
    CHECK_STR(out.items[0].name, "j/algo-1-1700000000");
    CHECK(out.items[0].last_event_time == 1700000099000LL);
    CHECK_STR(out.items[1].name, "j/algo-2-1700000000");
    CHECK(out.next_token == NULL);
    /* The second request carries the token: the SDK's loop forgot it. */
    CHECK_STR(fake_caller_member(&fake, 1, "nextToken"), "p2");
    CHECK_STR(fake_caller_member(&fake, 1, "logStreamNamePrefix"), "j/");
    sm_logs_streams_clear(&out);
    fake_caller_finish(&fake);

    /* A page cap leaves the token to go on with. */
    caller = fake_caller_start(&fake, steps, 2);
    CHECK(sm_logs_describe_streams_via(&caller, &q, 1, &out, &err) == 0);
    CHECK(out.count == 1);
    CHECK_STR(out.next_token, "p2");
    sm_logs_streams_clear(&out);
    fake_caller_finish(&fake);

    /* No log group yet: the caller can tell it from a real failure. */
    static const fake_step missing[] = {
        {"DescribeLogStreams", NULL, "ResourceNotFoundException",
         "The specified log group does not exist."},
    };
    caller = fake_caller_start(&fake, missing, 1);
    CHECK(sm_logs_describe_streams_via(&caller, &q, 0, &out, &err) == -1);
    CHECK(sm_logs_error_is_missing(&err));
    CHECK_STR(err.service, "logs");
    CHECK_STR(err.operation, "DescribeLogStreams");
    sm_logs_streams_clear(&out);
    fake_caller_finish(&fake);
    sm_aws_error denied = {.code = "AccessDeniedException"};
    CHECK(!sm_logs_error_is_missing(&denied));
}

#define EVENTS(list, fwd)                                                      \
    "{\"events\": [" list "], \"nextForwardToken\": \"" fwd                    \
    "\", \"nextBackwardToken\": \"b/0\"}"
#define EVENT(ts, msg)                                                         \
    "{\"timestamp\": " #ts ", \"message\": \"" msg "\", \"ingestionTime\": 1}"

TEST(logs_read_stream_end_rule)
{
    /* Empty pages before the end are not the end; the end is the token
     * coming back as sent. */
    static const fake_step steps[] = {
        {"GetLogEvents", EVENTS(EVENT(1, "[0]#011train-rmse:3.1"), "f/1"), NULL,
         NULL},
        {"GetLogEvents", EVENTS("", "f/2"), NULL, NULL},
        {"GetLogEvents",
         EVENTS(EVENT(2, "[1]#011train-rmse:2.9") "," EVENT(3, "done"), "f/3"),
         NULL, NULL},
        {"GetLogEvents", EVENTS("", "f/3"), NULL, NULL},
        {"GetLogEvents", EVENTS(EVENT(9, "never read"), "f/4"), NULL, NULL},
    };
    fake_caller fake;
    sm_awsjson_caller caller = fake_caller_start(&fake, steps, 5);
    sm_logs_events_query q = {.group = SM_LOGS_TRAINING_GROUP,
                              .stream = "j/algo-1-1",
                              .start_from_head = 1};
    sm_logs_events out;
    sm_aws_error err;
    CHECK(sm_logs_read_stream_via(&caller, &q, 0, &out, &err) == 0);
    CHECK(out.at_end);
    CHECK(out.count == 3);
    CHECK_STR(out.items[0].message, "[0]#011train-rmse:3.1");
    CHECK(out.items[2].timestamp == 3);
    CHECK(out.items[0].stream == NULL);
    CHECK_STR(out.next_forward_token, "f/3");
    CHECK(json_array_size(fake.requests) == 4);
    CHECK_STR(fake_caller_member(&fake, 0, "nextToken"), "");
    CHECK_STR(fake_caller_member(&fake, 1, "nextToken"), "f/1");
    CHECK_STR(fake_caller_member(&fake, 3, "nextToken"), "f/3");
    CHECK_STR(fake_caller_member(&fake, 3, "startFromHead"), "true");
    sm_logs_events_clear(&out);
    fake_caller_finish(&fake);

    /* Following later from the saved token: one call, nothing new. */
    static const fake_step later[] = {
        {"GetLogEvents", EVENTS("", "f/3"), NULL, NULL},
    };
    caller = fake_caller_start(&fake, later, 1);
    q.next_token = "f/3";
    CHECK(sm_logs_read_stream_via(&caller, &q, 0, &out, &err) == 0);
    CHECK(out.at_end && out.count == 0);
    CHECK(json_array_size(fake.requests) == 1);
    sm_logs_events_clear(&out);
    fake_caller_finish(&fake);

    /* A page cap stops early, not at the end. */
    caller = fake_caller_start(&fake, steps, 5);
    q.next_token = NULL;
    CHECK(sm_logs_read_stream_via(&caller, &q, 2, &out, &err) == 0);
    CHECK(!out.at_end && out.count == 1);
    CHECK_STR(out.next_forward_token, "f/2");
    sm_logs_events_clear(&out);
    fake_caller_finish(&fake);
}

TEST(logs_filter_events_pages)
{
    static const fake_step steps[] = {
        {"FilterLogEvents",
         "{\"events\": [{\"logStreamName\": \"j/algo-1\", \"timestamp\": 5, "
         "\"message\": \"a\", \"eventId\": \"e1\"}], \"nextToken\": \"n1\"}",
         NULL, NULL},
        {"FilterLogEvents", "{\"events\": [], \"nextToken\": \"n2\"}", NULL,
         NULL},
        {"FilterLogEvents",
         "{\"events\": [{\"logStreamName\": \"j/algo-2\", \"timestamp\": 6, "
         "\"message\": \"b\"}], \"searchedLogStreams\": []}",
         NULL, NULL},
    };
    fake_caller fake;
    sm_awsjson_caller caller = fake_caller_start(&fake, steps, 3);
    sm_logs_filter_query q = {.group = "g", .prefix = "j/"};
    sm_logs_events out;
    sm_aws_error err;
    int rc = sm_logs_filter_events_via(&caller, &q, 0, &out, &err);
    if (rc)
        printf("      %s: %s\n", err.code, err.message);
    CHECK(rc == 0);
    CHECK(out.count == 2);
    CHECK_STR(out.items[0].stream, "j/algo-1");
    CHECK_STR(out.items[0].event_id, "e1");
    CHECK(out.items[1].event_id == NULL);
    CHECK(out.next_token == NULL);
    CHECK_STR(fake_caller_member(&fake, 2, "nextToken"), "n2");
    sm_logs_events_clear(&out);
    fake_caller_finish(&fake);
}
