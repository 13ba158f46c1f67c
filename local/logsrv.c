/* logsrv: the Logs operations read their members, ask the logstore and
 * answer in the model's shapes (times in milliseconds). */
#include "logsrv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonapi.h"
#include "logstore.h"

#define TARGET_PREFIX "Logs_20140328"
#define INVALID "InvalidParameterException"
#define NOT_FOUND "ResourceNotFoundException"

static const sm_awsjson_rule group_rule = {1, 512, SM_AWSJSON_LOG_GROUP};
static const sm_awsjson_rule stream_rule = {1, 512, SM_AWSJSON_LOG_STREAM};
#define GROUP_PATTERN                                                         \
    "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
#define STREAM_PATTERN                                                        \
    "Member must satisfy regular expression pattern: [^:*]*"

static double now_ms(void)
{
    return sm_jsonapi_now() * 1000.0;
}

static int not_found(sm_logstore_status status, sm_http_error *err)
{
    if (status == SM_LOGSTORE_NO_GROUP)
        return sm_jsonapi_fail(err, NOT_FOUND,
                               "The specified log group does not exist.");
    if (status == SM_LOGSTORE_NO_STREAM)
        return sm_jsonapi_fail(err, NOT_FOUND,
                               "The specified log stream does not exist.");
    if (status == SM_LOGSTORE_BAD_TOKEN)
        return sm_jsonapi_fail(err, INVALID,
                               "The specified nextToken is invalid.");
    return -1;
}

static int store_failed(const sm_error *why, sm_http_error *err)
{
    return sm_http_fail(err, 500, "ServiceUnavailableException", "%s",
                        why->message);
}

static int answer_status(sm_logstore_status status, const sm_error *why,
                         sm_http_error *err)
{
    if (status == SM_LOGSTORE_FAILED)
        return store_failed(why, err);
    return not_found(status, err);
}

/* logGroupName, or the name inside a logGroupIdentifier (name or ARN). */
static int group_member(const json_t *in, const char **out, sm_http_error *err)
{
    const char *name = NULL, *ident = NULL;
    if (sm_jsonapi_str(in, "logGroupName", "logGroupName", 0, &group_rule,
                       GROUP_PATTERN, INVALID, &name, err) ||
        sm_jsonapi_str(in, "logGroupIdentifier", "logGroupIdentifier", 0, NULL,
                       NULL, INVALID, &ident, err))
        return -1;
    if (name && ident)
        return sm_jsonapi_fail(err, INVALID,
                               "LogGroup name and LogGroup ARN are mutually "
                               "exclusive parameters.");
    if (ident) {
        const char *at = strstr(ident, ":log-group:");
        name = at ? at + strlen(":log-group:") : ident;
    }
    if (!name)
        return sm_jsonapi_fail(err, INVALID,
                               "Either logGroupName or logGroupIdentifier "
                               "must be given.");
    *out = name;
    return 0;
}

static int limit_member(const json_t *in, long long max, long long dflt,
                        size_t *out, sm_http_error *err)
{
    long long limit = dflt;
    if (sm_jsonapi_int(in, "limit", "limit", 0, 1, max, INVALID, &limit, err))
        return -1;
    *out = (size_t)limit;
    return 0;
}

static int time_member(const json_t *in, const char *member, int64_t *out,
                       sm_http_error *err)
{
    long long v = -1;
    if (sm_jsonapi_int(in, member, member, 0, 0, -1, INVALID, &v, err))
        return -1;
    *out = v;
    return 0;
}

/* ---- DescribeLogGroups and DescribeLogStreams --------------------------- */

static void group_arns(const sm_local_env *env, const sm_http_request *req,
                       const char *group, char *arn, size_t size)
{
    snprintf(arn, size, "arn:aws:logs:%s:%s:log-group:%s",
             req->region[0] ? req->region : env->region, env->account_id,
             group);
}

static int describe_log_groups(sm_local_env *env, const sm_http_request *req,
                               const json_t *in, json_t **out,
                               sm_http_error *err)
{
    const char *prefix = NULL, *token = NULL;
    size_t limit, offset;
    if (sm_jsonapi_str(in, "logGroupNamePrefix", "logGroupNamePrefix", 0,
                       &group_rule, GROUP_PATTERN, INVALID, &prefix, err) ||
        sm_jsonapi_str(in, "nextToken", "nextToken", 0, NULL, NULL, INVALID,
                       &token, err) ||
        limit_member(in, 50, 50, &limit, err) ||
        sm_jsonapi_token_read(token, INVALID, &offset, err))
        return -1;
    sm_logstore_streams groups;
    sm_error why = {0};
    sm_logstore_status status =
        sm_logstore_groups_list(env->db, prefix, offset, limit, &groups, &why);
    if (status != SM_LOGSTORE_OK)
        return answer_status(status, &why, err);
    json_t *list = json_array();
    for (size_t i = 0; i < groups.count; i++) {
        char arn[700], star[710];
        group_arns(env, req, groups.items[i].name, arn, sizeof arn);
        snprintf(star, sizeof star, "%s:*", arn);
        json_array_append_new(
            list, json_pack("{s:s, s:I, s:i, s:s, s:I, s:s}", "logGroupName",
                            groups.items[i].name, "creationTime",
                            (json_int_t)groups.items[i].created,
                            "metricFilterCount", 0, "arn", star, "storedBytes",
                            (json_int_t)0, "logGroupArn", arn));
    }
    *out = json_pack("{s:o}", "logGroups", list);
    if (groups.truncated) {
        char next[32];
        sm_jsonapi_token_make(offset + groups.count, next);
        json_object_set_new(*out, "nextToken", json_string(next));
    }
    sm_logstore_streams_clear(&groups);
    return 0;
}

static json_t *stream_json(const sm_local_env *env, const sm_http_request *req,
                           const char *group, const sm_logstore_stream *s)
{
    char arn[1400];
    group_arns(env, req, group, arn, sizeof arn);
    size_t n = strlen(arn);
    snprintf(arn + n, sizeof arn - n, ":log-stream:%s", s->name);
    json_t *o = json_pack("{s:s, s:I, s:s, s:I}", "logStreamName", s->name,
                          "creationTime", (json_int_t)s->created, "arn", arn,
                          "storedBytes", (json_int_t)0);
    if (o && s->first_event >= 0)
        json_object_set_new(o, "firstEventTimestamp",
                            json_integer(s->first_event));
    if (o && s->last_event >= 0)
        json_object_set_new(o, "lastEventTimestamp",
                            json_integer(s->last_event));
    if (o && s->last_ingestion >= 0)
        json_object_set_new(o, "lastIngestionTime",
                            json_integer(s->last_ingestion));
    return o;
}

static int describe_log_streams(sm_local_env *env, const sm_http_request *req,
                                const json_t *in, json_t **out,
                                sm_http_error *err)
{
    static const char *const orders[] = {"LogStreamName", "LastEventTime",
                                         NULL};
    const char *group = NULL, *prefix = NULL, *order = NULL, *token = NULL;
    int descending = 0;
    size_t limit, offset;
    if (group_member(in, &group, err) ||
        sm_jsonapi_str(in, "logStreamNamePrefix", "logStreamNamePrefix", 0,
                       &stream_rule, STREAM_PATTERN, INVALID, &prefix, err) ||
        sm_jsonapi_enum(in, "orderBy", "orderBy", 0, orders, INVALID, &order,
                        err) ||
        sm_jsonapi_bool(in, "descending", "descending", INVALID, &descending,
                        err) ||
        sm_jsonapi_str(in, "nextToken", "nextToken", 0, NULL, NULL, INVALID,
                       &token, err) ||
        limit_member(in, 50, 50, &limit, err) ||
        sm_jsonapi_token_read(token, INVALID, &offset, err))
        return -1;
    int by_last = order && strcmp(order, "LastEventTime") == 0;
    if (by_last && prefix)
        return sm_jsonapi_fail(err, INVALID,
                               "Cannot order by LastEventTime with a "
                               "logStreamNamePrefix.");
    sm_logstore_streams streams;
    sm_error why = {0};
    sm_logstore_status status = sm_logstore_streams_list(
        env->db, group, prefix, by_last, descending, offset, limit, &streams,
        &why);
    if (status != SM_LOGSTORE_OK)
        return answer_status(status, &why, err);
    json_t *list = json_array();
    for (size_t i = 0; i < streams.count; i++)
        json_array_append_new(list,
                              stream_json(env, req, group, &streams.items[i]));
    *out = json_pack("{s:o}", "logStreams", list);
    if (streams.truncated) {
        char next[32];
        sm_jsonapi_token_make(offset + streams.count, next);
        json_object_set_new(*out, "nextToken", json_string(next));
    }
    sm_logstore_streams_clear(&streams);
    return 0;
}

/* ---- GetLogEvents and FilterLogEvents ----------------------------------- */

static json_t *event_json(const sm_logstore_event *e, int filtered)
{
    json_t *o = json_pack("{s:I, s:s, s:I}", "timestamp",
                          (json_int_t)e->timestamp, "message", e->message,
                          "ingestionTime", (json_int_t)e->ingestion);
    if (o && filtered) {
        char id[64];
        snprintf(id, sizeof id, "%019" PRId64 "%019" PRId64, e->timestamp,
                 e->id);
        json_object_set_new(o, "logStreamName", json_string(e->stream));
        json_object_set_new(o, "eventId", json_string(id));
    }
    return o;
}

static int get_log_events(sm_local_env *env, const sm_http_request *req,
                          const json_t *in, json_t **out, sm_http_error *err)
{
    sm_logstore_get q = {.start_time = -1, .end_time = -1};
    if (group_member(in, &q.group, err) ||
        sm_jsonapi_str(in, "logStreamName", "logStreamName", 1, &stream_rule,
                       STREAM_PATTERN, INVALID, &q.stream, err) ||
        time_member(in, "startTime", &q.start_time, err) ||
        time_member(in, "endTime", &q.end_time, err) ||
        sm_jsonapi_str(in, "nextToken", "nextToken", 0, NULL, NULL, INVALID,
                       &q.token, err) ||
        sm_jsonapi_bool(in, "startFromHead", "startFromHead", INVALID,
                        &q.start_from_head, err) ||
        limit_member(in, 10000, 10000, &q.limit, err))
        return -1;
    sm_logstore_events events;
    sm_error why = {0};
    sm_logstore_status status =
        sm_logstore_get_events(env->db, &q, &events, &why);
    if (status != SM_LOGSTORE_OK)
        return answer_status(status, &why, err);
    json_t *list = json_array();
    for (size_t i = 0; i < events.count; i++)
        json_array_append_new(list, event_json(&events.items[i], 0));
    *out = json_pack("{s:o, s:s, s:s}", "events", list, "nextForwardToken",
                     events.next_forward, "nextBackwardToken",
                     events.next_backward);
    sm_logstore_events_clear(&events);
    return *out ? 0 : sm_http_fail(err, 500, "InternalFailure", "out of memory");
}

/* logStreamNames as a list of borrowed strings (new array). */
static int stream_names(const json_t *in, const char ***names, size_t *count,
                        sm_http_error *err)
{
    json_t *list = json_object_get(in, "logStreamNames");
    *names = NULL;
    *count = 0;
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list) || json_array_size(list) < 1 ||
        json_array_size(list) > 100)
        return sm_jsonapi_fail(err, INVALID,
                               "logStreamNames must be a list of 1 to 100 "
                               "stream names.");
    *names = calloc(json_array_size(list), sizeof **names);
    if (!*names)
        return sm_http_fail(err, 500, "InternalFailure", "out of memory");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *s = json_string_value(json_array_get(list, i));
        if (!s) {
            free(*names);
            *names = NULL;
            return sm_jsonapi_fail(err, INVALID,
                                   "logStreamNames must hold strings.");
        }
        (*names)[(*count)++] = s;
    }
    return 0;
}

static json_t *filtered_json(const sm_logstore_events *events)
{
    json_t *list = json_array(), *searched = json_array();
    for (size_t i = 0; i < events->count; i++)
        json_array_append_new(list, event_json(&events->items[i], 1));
    for (size_t i = 0; i < events->searched_count; i++)
        json_array_append_new(searched,
                              json_pack("{s:s, s:b}", "logStreamName",
                                        events->searched[i],
                                        "searchedCompletely", 1));
    json_t *o = json_pack("{s:o, s:o}", "events", list, "searchedLogStreams",
                          searched);
    if (o && events->next_forward[0])
        json_object_set_new(o, "nextToken", json_string(events->next_forward));
    return o;
}

static int filter_log_events(sm_local_env *env, const sm_http_request *req,
                             const json_t *in, json_t **out,
                             sm_http_error *err)
{
    sm_logstore_filter q = {.start_time = -1, .end_time = -1};
    const char **names = NULL;
    if (group_member(in, &q.group, err) ||
        sm_jsonapi_str(in, "logStreamNamePrefix", "logStreamNamePrefix", 0,
                       &stream_rule, STREAM_PATTERN, INVALID, &q.stream_prefix,
                       err) ||
        time_member(in, "startTime", &q.start_time, err) ||
        time_member(in, "endTime", &q.end_time, err) ||
        sm_jsonapi_str(in, "filterPattern", "filterPattern", 0, NULL, NULL,
                       INVALID, &q.pattern, err) ||
        sm_jsonapi_str(in, "nextToken", "nextToken", 0, NULL, NULL, INVALID,
                       &q.token, err) ||
        limit_member(in, 10000, 10000, &q.limit, err) ||
        stream_names(in, &names, &q.stream_count, err))
        return -1;
    q.streams = names;
    if (names && q.stream_prefix) {
        free(names);
        return sm_jsonapi_fail(err, INVALID,
                               "logStreamNames and logStreamNamePrefix are "
                               "mutually exclusive parameters.");
    }
    sm_logstore_events events;
    sm_error why = {0};
    sm_logstore_status status =
        sm_logstore_filter_events(env->db, &q, &events, &why);
    free(names);
    if (status != SM_LOGSTORE_OK)
        return answer_status(status, &why, err);
    *out = filtered_json(&events);
    sm_logstore_events_clear(&events);
    return *out ? 0 : sm_http_fail(err, 500, "InternalFailure", "out of memory");
}

/* ---- writing: CreateLogGroup, CreateLogStream, PutLogEvents ------------- */

static int create_log_group(sm_local_env *env, const sm_http_request *req,
                            const json_t *in, json_t **out, sm_http_error *err)
{
    const char *group = NULL;
    if (sm_jsonapi_str(in, "logGroupName", "logGroupName", 1, &group_rule,
                       GROUP_PATTERN, INVALID, &group, err))
        return -1;
    sm_error why = {0};
    sm_logstore_status status =
        sm_logstore_group_create(env->db, group, (int64_t)now_ms(), &why);
    if (status == SM_LOGSTORE_EXISTS)
        return sm_jsonapi_fail(err, "ResourceAlreadyExistsException",
                               "The specified log group already exists");
    if (status != SM_LOGSTORE_OK)
        return answer_status(status, &why, err);
    *out = json_object();
    return 0;
}

static int put_log_events(sm_local_env *env, const sm_http_request *req,
                          const json_t *in, json_t **out, sm_http_error *err)
{
    const char *group = NULL, *stream = NULL;
    json_t *list = json_object_get(in, "logEvents");
    if (group_member(in, &group, err) ||
        sm_jsonapi_str(in, "logStreamName", "logStreamName", 1, &stream_rule,
                       STREAM_PATTERN, INVALID, &stream, err))
        return -1;
    if (!json_is_array(list) || json_array_size(list) < 1 ||
        json_array_size(list) > 10000)
        return sm_jsonapi_fail(err, INVALID,
                               "logEvents must hold 1 to 10000 events.");
    size_t n = json_array_size(list);
    sm_logstore_input *events = calloc(n, sizeof *events);
    if (!events)
        return sm_http_fail(err, 500, "InternalFailure", "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        events[i].timestamp = json_integer_value(json_object_get(e, "timestamp"));
        events[i].message = json_string_value(json_object_get(e, "message"));
        if (!events[i].message) {
            free(events);
            return sm_jsonapi_fail(err, INVALID,
                                   "Each log event needs a timestamp and a "
                                   "message.");
        }
    }
    sm_error why = {0};
    int rc = sm_logstore_put(env->db, group, stream, events, n,
                             (int64_t)now_ms(), &why);
    free(events);
    if (rc)
        return store_failed(&why, err);
    *out = json_object();
    return 0;
}

static int create_log_stream(sm_local_env *env, const sm_http_request *req,
                             const json_t *in, json_t **out,
                             sm_http_error *err)
{
    const char *group = NULL, *stream = NULL;
    if (group_member(in, &group, err) ||
        sm_jsonapi_str(in, "logStreamName", "logStreamName", 1, &stream_rule,
                       STREAM_PATTERN, INVALID, &stream, err))
        return -1;
    sm_error why = {0};
    sm_logstore_status status = sm_logstore_stream_create(
        env->db, group, stream, (int64_t)now_ms(), &why);
    if (status == SM_LOGSTORE_EXISTS)
        return sm_jsonapi_fail(err, "ResourceAlreadyExistsException",
                               "The specified log stream already exists");
    if (status != SM_LOGSTORE_OK)
        return answer_status(status, &why, err);
    *out = json_object();
    return 0;
}

/* ---- the route ---------------------------------------------------------- */

static const sm_jsonapi_op logs_rows[] = {
    {"DescribeLogGroups", describe_log_groups},
    {"DescribeLogStreams", describe_log_streams},
    {"GetLogEvents", get_log_events},
    {"FilterLogEvents", filter_log_events},
    {"CreateLogGroup", create_log_group},
    {"CreateLogStream", create_log_stream},
    {"PutLogEvents", put_log_events},
};
static const sm_jsonapi_ops logs_ops = SM_JSONAPI_OPS(logs_rows);

static const sm_jsonapi_op *find_op(const sm_http_request *req)
{
    const sm_jsonapi_ops *tables[] = {&logs_ops};
    return sm_jsonapi_find(tables, 1,
                           sm_jsonapi_target(req, TARGET_PREFIX));
}

int sm_logsrv_plan(sm_local_env *env, sm_http_request *req, sm_route_body *body,
                   sm_http_error *err)
{
    if (sm_jsonapi_plan(req, body, err))
        return -1;
    if (!find_op(req)) {
        const char *target = sm_http_header(req, "x-amz-target");
        return sm_jsonapi_fail(err, "UnknownOperationException",
                               "sagemagic-local does not offer %s (it offers "
                               "DescribeLogGroups, DescribeLogStreams, "
                               "GetLogEvents, FilterLogEvents, "
                               "CreateLogGroup, CreateLogStream, "
                               "PutLogEvents)",
                               target ? target : "a request without "
                                                 "X-Amz-Target");
    }
    return 0;
}

int sm_logsrv_handle(sm_local_env *env, sm_http_request *req,
                     sm_http_response *resp, sm_http_error *err)
{
    const sm_jsonapi_op *op = find_op(req);
    if (!op)
        return sm_jsonapi_fail(err, "UnknownOperationException",
                               "unknown operation");
    return sm_jsonapi_answer(op, env, req, resp, err);
}

const char *sm_logsrv_operation(const sm_http_request *req)
{
    return sm_jsonapi_target(req, TARGET_PREFIX);
}
