/* logs: CloudWatch Logs requests, pages read into owned results, and the
 * paging loops with their stopping rules. */
#include "logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const orders[] = {"LogStreamName", "LastEventTime", NULL};

static const sm_awsjson_rule group_rule = {1, 512, SM_AWSJSON_LOG_GROUP};
static const sm_awsjson_rule stream_rule = {1, 512, SM_AWSJSON_LOG_STREAM};
static const sm_awsjson_rule token_rule = {1, 0, SM_AWSJSON_TEXT};
static const sm_awsjson_rule pattern_rule = {0, 1024, SM_AWSJSON_TEXT};

#define DEFAULT_MAX_PAGES 100

int sm_logs_error_is_missing(const sm_aws_error *err)
{
    return sm_awsjson_error_is(err, "ResourceNotFoundException");
}

/* ---- shared pieces ------------------------------------------------------ */

static json_t *new_body(sm_error *err)
{
    json_t *body = json_object();
    if (!body)
        sm_error_set(err, "out of memory");
    return body;
}

static json_t *finish(json_t *body, int rc)
{
    if (rc) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* startTime and endTime, each left out when 0. */
static int put_times(json_t *body, int64_t start, int64_t end, sm_error *err)
{
    int rc = 0;
    if (start)
        rc = sm_awsjson_put_int(body, "startTime", start, 0, -1, err);
    if (!rc && end)
        rc = sm_awsjson_put_int(body, "endTime", end, 0, -1, err);
    if (!rc && start && end && end < start)
        rc = sm_error_set(err, "The end time comes before the start time.");
    return rc;
}

static int64_t ms(const json_t *obj, const char *member)
{
    json_t *v = json_object_get(obj, member);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    return (int64_t)json_number_value(v);
}

/* A new copy of obj.member, or NULL when it is absent or empty. Sets *oom
 * when a copy failed. */
static char *copy_member(const json_t *obj, const char *member, int *oom)
{
    const char *s = json_string_value(json_object_get(obj, member));
    if (!s || !*s)
        return NULL;
    char *copy = strdup(s);
    if (!copy)
        *oom = 1;
    return copy;
}

/* Replace *slot with a copy of obj.member (or NULL). */
static void replace(char **slot, const json_t *obj, const char *member,
                    int *oom)
{
    free(*slot);
    *slot = copy_member(obj, member, oom);
}

static void refuse(sm_aws_error *err, const char *operation, const sm_error *e)
{
    sm_awsjson_refuse(err, SM_AWS_LOGS, operation, e->message);
}

/* ---- DescribeLogStreams ------------------------------------------------- */

void sm_logs_streams_clear(sm_logs_streams *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        free(self->items[i].name);
    free(self->items);
    free(self->next_token);
    memset(self, 0, sizeof *self);
}

json_t *sm_logs_describe_streams_request(const sm_logs_stream_query *q,
                                         sm_error *err)
{
    json_t *body = new_body(err);
    int rc = body ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_required(body, "logGroupName", q->group,
                                     &group_rule, err);
    if (!rc)
        rc = sm_awsjson_put_str(body, "logStreamNamePrefix", q->prefix,
                                &stream_rule, err);
    if (!rc)
        rc = sm_awsjson_put_enum(body, "orderBy", q->order_by, orders, err);
    if (!rc && q->prefix && q->order_by &&
        strcasecmp(q->order_by, "LastEventTime") == 0)
        rc = sm_error_set(err, "Log streams ordered by LastEventTime cannot "
                               "be filtered by a prefix.");
    if (!rc && q->descending)
        rc = sm_awsjson_put_bool(body, "descending", 1, err);
    if (!rc && q->limit)
        rc = sm_awsjson_put_int(body, "limit", q->limit, 1, 50, err);
    if (!rc)
        rc = sm_awsjson_put_str(body, "nextToken", q->next_token, &token_rule,
                                err);
    return finish(body, rc);
}

int sm_logs_streams_read(const json_t *response, sm_logs_streams *out)
{
    json_t *list = sm_awsjson_array(response, "logStreams");
    size_t n = json_array_size(list);
    int oom = 0;
    if (n) {
        sm_logs_stream *grown =
            realloc(out->items, (out->count + n) * sizeof *grown);
        if (!grown)
            return -1;
        out->items = grown;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(list, i);
        sm_logs_stream *to = &out->items[out->count];
        to->name = copy_member(s, "logStreamName", &oom);
        if (!to->name)
            continue; /* a stream without a name is of no use */
        to->creation_time = ms(s, "creationTime");
        to->first_event_time = ms(s, "firstEventTimestamp");
        to->last_event_time = ms(s, "lastEventTimestamp");
        to->last_ingestion_time = ms(s, "lastIngestionTime");
        out->count++;
    }
    replace(&out->next_token, response, "nextToken", &oom);
    return oom ? -1 : 0;
}

int sm_logs_describe_streams_via(const sm_awsjson_caller *caller,
                                 const sm_logs_stream_query *query,
                                 int max_pages, sm_logs_streams *out,
                                 sm_aws_error *err)
{
    static const char op[] = "DescribeLogStreams";
    sm_logs_stream_query q = *query;
    int limit = max_pages > 0 ? max_pages : DEFAULT_MAX_PAGES;
    memset(out, 0, sizeof *out);
    for (int page = 0; page < limit; page++) {
        sm_error e = {""};
        json_t *request = sm_logs_describe_streams_request(&q, &e);
        if (!request) {
            refuse(err, op, &e);
            return -1;
        }
        json_t *response =
            sm_awsjson_call(caller, SM_AWS_LOGS, op, request, err);
        json_decref(request);
        if (!response)
            return -1;
        char *sent = q.next_token ? strdup(q.next_token) : NULL;
        int rc = sm_logs_streams_read(response, out);
        json_decref(response);
        int repeated =
            sent && out->next_token && strcmp(sent, out->next_token) == 0;
        free(sent);
        if (rc) {
            snprintf(err->message, sizeof err->message, "out of memory");
            return -1;
        }
        if (!out->next_token || repeated)
            break;
        q.next_token = out->next_token;
    }
    return 0;
}

int sm_logs_describe_streams(sm_aws *aws, const sm_logs_stream_query *query,
                             int max_pages, sm_logs_streams *out,
                             sm_aws_error *err)
{
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_logs_describe_streams_via(&caller, query, max_pages, out, err);
}

/* ---- events ------------------------------------------------------------- */

void sm_logs_events_clear(sm_logs_events *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        free(self->items[i].message);
        free(self->items[i].stream);
        free(self->items[i].event_id);
    }
    free(self->items);
    free(self->next_forward_token);
    free(self->next_backward_token);
    free(self->next_token);
    memset(self, 0, sizeof *self);
}

/* Append the events of `response`; `filtered` reads the stream and event
 * id FilterLogEvents adds. */
static int read_events(const json_t *response, int filtered,
                       sm_logs_events *out)
{
    json_t *list = sm_awsjson_array(response, "events");
    size_t n = json_array_size(list);
    int oom = 0;
    if (!n)
        return 0;
    sm_logs_event *grown =
        realloc(out->items, (out->count + n) * sizeof *grown);
    if (!grown)
        return -1;
    out->items = grown;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        sm_logs_event *to = &out->items[out->count++];
        memset(to, 0, sizeof *to);
        to->timestamp = ms(e, "timestamp");
        to->ingestion_time = ms(e, "ingestionTime");
        const char *message = json_string_value(json_object_get(e, "message"));
        to->message = strdup(message ? message : "");
        if (!to->message)
            oom = 1;
        if (filtered) {
            to->stream = copy_member(e, "logStreamName", &oom);
            to->event_id = copy_member(e, "eventId", &oom);
        }
    }
    return oom ? -1 : 0;
}

/* ---- GetLogEvents ------------------------------------------------------- */

json_t *sm_logs_get_events_request(const sm_logs_events_query *q, sm_error *err)
{
    json_t *body = new_body(err);
    int rc = body ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_required(body, "logGroupName", q->group,
                                     &group_rule, err);
    if (!rc)
        rc = sm_awsjson_put_required(body, "logStreamName", q->stream,
                                     &stream_rule, err);
    if (!rc)
        rc = put_times(body, q->start_time, q->end_time, err);
    if (!rc)
        rc = sm_awsjson_put_str(body, "nextToken", q->next_token, &token_rule,
                                err);
    if (!rc && q->limit)
        rc = sm_awsjson_put_int(body, "limit", q->limit, 1, 10000, err);
    if (!rc && (q->start_from_head || q->next_token))
        rc = sm_awsjson_put_bool(body, "startFromHead", 1, err);
    return finish(body, rc);
}

int sm_logs_get_events_read(const json_t *response, const char *sent_token,
                            sm_logs_events *out)
{
    int oom = 0;
    if (read_events(response, 0, out))
        return -1;
    replace(&out->next_forward_token, response, "nextForwardToken", &oom);
    replace(&out->next_backward_token, response, "nextBackwardToken", &oom);
    out->at_end = sent_token && out->next_forward_token &&
                  strcmp(sent_token, out->next_forward_token) == 0;
    return oom ? -1 : 0;
}

int sm_logs_read_stream_via(const sm_awsjson_caller *caller,
                            const sm_logs_events_query *query, int max_pages,
                            sm_logs_events *out, sm_aws_error *err)
{
    static const char op[] = "GetLogEvents";
    sm_logs_events_query q = *query;
    char *token = q.next_token ? strdup(q.next_token) : NULL;
    int limit = max_pages > 0 ? max_pages : DEFAULT_MAX_PAGES, rc = 0;
    memset(out, 0, sizeof *out);
    for (int page = 0; !rc && page < limit; page++) {
        sm_error e = {""};
        q.next_token = token;
        json_t *request = sm_logs_get_events_request(&q, &e);
        if (!request) {
            refuse(err, op, &e);
            rc = -1;
            break;
        }
        json_t *response =
            sm_awsjson_call(caller, SM_AWS_LOGS, op, request, err);
        json_decref(request);
        if (!response) {
            rc = -1;
            break;
        }
        rc = sm_logs_get_events_read(response, token, out);
        json_decref(response);
        if (rc)
            snprintf(err->message, sizeof err->message, "out of memory");
        if (rc || out->at_end || !out->next_forward_token)
            break;
        free(token);
        token = strdup(out->next_forward_token);
        if (!token) {
            snprintf(err->message, sizeof err->message, "out of memory");
            rc = -1;
        }
    }
    free(token);
    return rc;
}

int sm_logs_read_stream(sm_aws *aws, const sm_logs_events_query *query,
                        int max_pages, sm_logs_events *out, sm_aws_error *err)
{
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_logs_read_stream_via(&caller, query, max_pages, out, err);
}

/* ---- FilterLogEvents ---------------------------------------------------- */

json_t *sm_logs_filter_events_request(const sm_logs_filter_query *q,
                                      sm_error *err)
{
    json_t *body = new_body(err);
    int rc = body ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_required(body, "logGroupName", q->group,
                                     &group_rule, err);
    if (!rc && q->stream_count && q->prefix)
        rc = sm_error_set(err, "Filter by stream names or by a prefix, not "
                               "both.");
    if (!rc)
        rc =
            sm_awsjson_put_str_list(body, "logStreamNames", q->streams,
                                    q->stream_count, 1, 100, &stream_rule, err);
    if (!rc)
        rc = sm_awsjson_put_str(body, "logStreamNamePrefix", q->prefix,
                                &stream_rule, err);
    if (!rc)
        rc = put_times(body, q->start_time, q->end_time, err);
    if (!rc)
        rc = sm_awsjson_put_str(body, "filterPattern", q->pattern,
                                &pattern_rule, err);
    if (!rc && q->limit)
        rc = sm_awsjson_put_int(body, "limit", q->limit, 1, 10000, err);
    if (!rc)
        rc = sm_awsjson_put_str(body, "nextToken", q->next_token, &token_rule,
                                err);
    return finish(body, rc);
}

int sm_logs_filter_events_read(const json_t *response, sm_logs_events *out)
{
    int oom = 0;
    if (read_events(response, 1, out))
        return -1;
    replace(&out->next_token, response, "nextToken", &oom);
    return oom ? -1 : 0;
}

int sm_logs_filter_events_via(const sm_awsjson_caller *caller,
                              const sm_logs_filter_query *query, int max_pages,
                              sm_logs_events *out, sm_aws_error *err)
{
    static const char op[] = "FilterLogEvents";
    sm_logs_filter_query q = *query;
    int limit = max_pages > 0 ? max_pages : DEFAULT_MAX_PAGES;
    memset(out, 0, sizeof *out);
    for (int page = 0; page < limit; page++) {
        sm_error e = {""};
        json_t *request = sm_logs_filter_events_request(&q, &e);
        if (!request) {
            refuse(err, op, &e);
            return -1;
        }
        json_t *response =
            sm_awsjson_call(caller, SM_AWS_LOGS, op, request, err);
        json_decref(request);
        if (!response)
            return -1;
        int rc = sm_logs_filter_events_read(response, out);
        json_decref(response);
        if (rc) {
            snprintf(err->message, sizeof err->message, "out of memory");
            return -1;
        }
        if (!out->next_token)
            break;
        q.next_token = out->next_token;
    }
    return 0;
}

int sm_logs_filter_events(sm_aws *aws, const sm_logs_filter_query *query,
                          int max_pages, sm_logs_events *out, sm_aws_error *err)
{
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_logs_filter_events_via(&caller, query, max_pages, out, err);
}
