/* logs: CloudWatch Logs for jobs and endpoints: a group's log streams,
 * the events of one stream read forward page by page (with the service's
 * end-of-stream rule), and a filtered search over many streams.
 *
 * Times are milliseconds since the epoch (Logs' unit, not SageMaker's).
 * Results own copies of their strings. Request builders are pure; call
 * functions fill an sm_aws_error, with SM_AWSJSON_INVALID for a request
 * refused before sending. */
#ifndef SM_LOGS_H
#define SM_LOGS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "aws.h"
#include "awsjson.h"
#include "error.h"

/* Where SageMaker writes. Training and transform streams are named
 * "<job>/algo-<n>-<epoch>"; list them with the prefix "<job>/". An
 * endpoint's group is "/aws/sagemaker/Endpoints/<endpoint>", its streams
 * "AllTraffic/...". */
#define SM_LOGS_TRAINING_GROUP "/aws/sagemaker/TrainingJobs"
#define SM_LOGS_TRANSFORM_GROUP "/aws/sagemaker/TransformJobs"
#define SM_LOGS_ENDPOINT_GROUP "/aws/sagemaker/Endpoints/"

/* Nonzero when `err` says the log group or stream does not exist (yet):
 * a job's first lines have not arrived. Not an authorization failure. */
int sm_logs_error_is_missing(const sm_aws_error *err);

/* ---- DescribeLogStreams ----------------------------------------------- */

typedef struct sm_logs_stream_query {
    const char *group;    /* required */
    const char *prefix;   /* logStreamNamePrefix; not with LastEventTime */
    const char *order_by; /* LogStreamName (default), LastEventTime */
    int descending;
    int limit; /* per page, 1-50; 0: the service's (50) */
    const char *next_token;
} sm_logs_stream_query;

typedef struct sm_logs_stream {
    char *name;
    int64_t creation_time, first_event_time, last_event_time,
        last_ingestion_time; /* ms; 0 when absent */
} sm_logs_stream;

typedef struct sm_logs_streams {
    sm_logs_stream *items;
    size_t count;
    char *next_token; /* NULL when there are no more */
} sm_logs_streams;

void sm_logs_streams_clear(sm_logs_streams *self);

json_t *sm_logs_describe_streams_request(const sm_logs_stream_query *query,
                                         sm_error *err);

/* Append the streams of one response (borrowed) to `out` and replace its
 * next_token. 0, or -1 when out of memory. */
int sm_logs_streams_read(const json_t *response, sm_logs_streams *out);

/* All the streams matching `query`, over up to `max_pages` pages (0: 100),
 * following nextToken. Fills `out` (clear it after, also on failure);
 * out->next_token is set when pages remained. 0 or -1. */
int sm_logs_describe_streams(sm_aws *aws, const sm_logs_stream_query *query,
                             int max_pages, sm_logs_streams *out,
                             sm_aws_error *err);
int sm_logs_describe_streams_via(const sm_awsjson_caller *caller,
                                 const sm_logs_stream_query *query,
                                 int max_pages, sm_logs_streams *out,
                                 sm_aws_error *err);

/* ---- events ----------------------------------------------------------- */

typedef struct sm_logs_event {
    int64_t timestamp, ingestion_time; /* ms */
    char *message;
    char *stream;   /* FilterLogEvents only, else NULL */
    char *event_id; /* FilterLogEvents only, else NULL */
} sm_logs_event;

typedef struct sm_logs_events {
    sm_logs_event *items;
    size_t count;
    char *next_forward_token;  /* GetLogEvents */
    char *next_backward_token; /* GetLogEvents */
    char *next_token;          /* FilterLogEvents: NULL when done */
    int at_end; /* GetLogEvents: the forward token came back unchanged */
} sm_logs_events;

void sm_logs_events_clear(sm_logs_events *self);

/* ---- GetLogEvents ----------------------------------------------------- */

typedef struct sm_logs_events_query {
    const char *group;      /* required */
    const char *stream;     /* required */
    int64_t start_time;     /* ms, inclusive; 0: none */
    int64_t end_time;       /* ms, exclusive; 0: none */
    const char *next_token; /* a nextForwardToken to go on from, or NULL */
    int start_from_head;    /* forced on with a next_token: reading forward
                             * needs it */
    int limit;              /* 1-10000; 0: the service's */
} sm_logs_events_query;

json_t *sm_logs_get_events_request(const sm_logs_events_query *query,
                                   sm_error *err);

/* Append one page's events (response borrowed) to `out` and replace its
 * tokens; at_end is set when nextForwardToken equals `sent_token` (the
 * token the request carried; NULL for none): the end of the stream for
 * now. 0, or -1 when out of memory. */
int sm_logs_get_events_read(const json_t *response, const char *sent_token,
                            sm_logs_events *out);

/* Read `query`'s stream forward from its next_token (or its start): page
 * after page until the end-of-stream rule says so or `max_pages` pages
 * (0: 100) were read. Pages may be empty before the end; that is not the
 * end. Events append to `out`; out->next_forward_token is where to go on
 * later (pass it as next_token to follow the stream). 0 or -1. */
int sm_logs_read_stream(sm_aws *aws, const sm_logs_events_query *query,
                        int max_pages, sm_logs_events *out, sm_aws_error *err);
int sm_logs_read_stream_via(const sm_awsjson_caller *caller,
                            const sm_logs_events_query *query, int max_pages,
                            sm_logs_events *out, sm_aws_error *err);

/* ---- FilterLogEvents -------------------------------------------------- */

typedef struct sm_logs_filter_query {
    const char *group;          /* required */
    const char *const *streams; /* 1-100 stream names, or none */
    size_t stream_count;
    const char *prefix;           /* logStreamNamePrefix; not with streams */
    int64_t start_time, end_time; /* ms; 0: none */
    const char *pattern;          /* filterPattern, up to 1024 characters */
    int limit;                    /* per page, 1-10000; 0: the service's */
    const char *next_token;
} sm_logs_filter_query;

json_t *sm_logs_filter_events_request(const sm_logs_filter_query *query,
                                      sm_error *err);

/* Append one page's events (response borrowed) and replace next_token. */
int sm_logs_filter_events_read(const json_t *response, sm_logs_events *out);

/* Matching events over up to `max_pages` pages (0: 100), until nextToken
 * is absent (pages may be empty on the way). out->next_token is set when
 * pages remained. 0 or -1. */
int sm_logs_filter_events(sm_aws *aws, const sm_logs_filter_query *query,
                          int max_pages, sm_logs_events *out,
                          sm_aws_error *err);
int sm_logs_filter_events_via(const sm_awsjson_caller *caller,
                              const sm_logs_filter_query *query, int max_pages,
                              sm_logs_events *out, sm_aws_error *err);

#endif
