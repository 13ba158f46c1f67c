/* job_magics: %jobs (a table of training, transform and tuning jobs),
 * %status (one job in detail) and %logs (a job's CloudWatch log lines,
 * optionally followed until the job ends). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws_magics.h"
#include "buf.h"
#include "logs.h"
#include "render.h"
#include "sagemaker.h"

#define JOBS_LIMIT 20

/* The kinds of job, each a row. */
typedef struct job_kind {
    const char *name; /* as --kind says it */
    sm_sagemaker_kind kind;
    const char *log_group; /* NULL: the kind writes no logs of its own */
} job_kind;

static const job_kind job_kinds[] = {
    {"training", SM_SAGEMAKER_TRAINING_JOB, SM_LOGS_TRAINING_GROUP},
    {"transform", SM_SAGEMAKER_TRANSFORM_JOB, SM_LOGS_TRANSFORM_GROUP},
    {"tuning", SM_SAGEMAKER_TUNING_JOB, NULL},
};
#define KIND_COUNT (sizeof job_kinds / sizeof *job_kinds)

static const char *const job_statuses[] = {"InProgress", "Completed", "Failed",
                                           "Stopping", "Stopped"};

/* --kind into *first and *count (all kinds when absent). */
static int kind_flag(sm_call *call, size_t *first, size_t *count)
{
    const char *v = sm_args_get(&call->args, "kind");
    *first = 0;
    *count = KIND_COUNT;
    if (!v)
        return 0;
    for (size_t i = 0; i < KIND_COUNT; i++)
        if (strcasecmp(job_kinds[i].name, v) == 0) {
            *first = i;
            *count = 1;
            return 0;
        }
    return sm_error_set(&call->err, "--kind must be training, transform or "
                                    "tuning, not '%s'", v);
}

/* Nonzero when the service does not offer the operation at all (a local
 * service without that kind of job yet). */
static int unsupported(const sm_aws_error *err)
{
    return strcmp(err->code, "InvalidAction") == 0 ||
           strcmp(err->code, "UnknownOperationException") == 0 ||
           strcmp(err->code, "UnsupportedOperation") == 0 ||
           err->http_status == 501;
}

static void duration_of(const sm_sagemaker_state *s, char *out, size_t size)
{
    double start = s->start_time > 0 ? s->start_time : s->creation_time;
    double end = s->end_time > 0 ? s->end_time : 0;
    if (start <= 0)
        snprintf(out, size, "%s", "");
    else if (end > 0)
        sm_render_duration(end - start, out, size);
    else if (!sm_sagemaker_status_is_terminal(s->kind, s->status))
        sm_render_duration((double)time(NULL) - start, out, size);
    else
        snprintf(out, size, "%s", "");
}

/* ---- %jobs --------------------------------------------------------------- */

static int compare_created(const void *a, const void *b)
{
    double x = json_real_value(json_object_get(*(json_t *const *)a, "created_at"));
    double y = json_real_value(json_object_get(*(json_t *const *)b, "created_at"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Jobs of one kind, newest first, into `jobs`. */
static int list_kind(sm_aws *aws, const job_kind *k, const char *status,
                     long limit, json_t *jobs, sm_aws_error *err)
{
    sm_sagemaker_list_options o = {.status_equals = status,
                                   .sort_by = "CreationTime",
                                   .sort_order = "Descending",
                                   .page_size = limit < 100 ? (int)limit : 100,
                                   .max_items = (size_t)limit};
    sm_sagemaker_listing l = {0};
    int rc = sm_sagemaker_list(aws, k->kind, &o, &l, err);
    for (size_t i = 0; !rc && i < l.count; i++) {
        const sm_sagemaker_state *s = &l.items[i];
        char created[32], took[32];
        sm_render_time(s->creation_time, created, sizeof created);
        duration_of(s, took, sizeof took);
        json_array_append_new(jobs, json_pack("{s:s, s:s, s:s, s:s, s:f, s:s}",
                                              "name", s->name, "kind", k->name,
                                              "status", s->status, "created",
                                              created, "created_at",
                                              s->creation_time, "duration",
                                              took));
    }
    sm_sagemaker_listing_clear(&l);
    return rc;
}

static json_t *jobs_table(json_t *jobs)
{
    json_t *headers = json_pack("[s, s, s, s, s]", "name", "kind", "status",
                                "created (UTC)", "duration");
    json_t *rows = json_array();
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job) {
        json_array_append_new(rows, json_pack("[O, O, O, O, O]",
                                              json_object_get(job, "name"),
                                              json_object_get(job, "kind"),
                                              json_object_get(job, "status"),
                                              json_object_get(job, "created"),
                                              json_object_get(job, "duration")));
    }
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    return bundle;
}

/* --status, in the service's spelling. */
static int status_flag(sm_call *call, const char **status)
{
    const char *v = sm_args_get(&call->args, "status");
    *status = NULL;
    if (!v)
        return 0;
    for (size_t i = 0; i < sizeof job_statuses / sizeof *job_statuses; i++)
        if (strcasecmp(job_statuses[i], v) == 0) {
            *status = job_statuses[i];
            return 0;
        }
    return sm_error_set(&call->err, "--status must be InProgress, Completed, "
                                    "Failed, Stopping or Stopped, not '%s'", v);
}

/* Every kind asked for; a kind the service lacks is left out when others
 * answer. */
static int list_jobs(sm_call *call, sm_aws *aws, size_t first, size_t count,
                     const char *status, long limit, json_t *jobs)
{
    sm_aws_error err = {.http_status = 0}, first_err;
    memset(&first_err, 0, sizeof first_err);
    size_t answered = 0;
    for (size_t i = first; i < first + count; i++) {
        if (list_kind(aws, &job_kinds[i], status, limit, jobs, &err) == 0) {
            answered++;
        } else if (count == 1 || !unsupported(&err)) {
            return sm_call_fail_aws(call, &err);
        } else if (!first_err.code[0]) {
            first_err = err;
        }
    }
    if (!answered)
        return sm_call_fail_aws(call, &first_err);
    return 0;
}

int sm_magic_jobs(sm_call *call)
{
    size_t first, count;
    long limit;
    const char *status;
    if (kind_flag(call, &first, &count) || status_flag(call, &status) ||
        sm_call_count_flag(call, "limit", JOBS_LIMIT, 10000, &limit))
        return -1;
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return -1;
    json_t *jobs = json_array();
    if (list_jobs(call, aws, first, count, status, limit, jobs)) {
        json_decref(jobs);
        return -1;
    }
    size_t n = json_array_size(jobs);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(jobs, i));
    qsort(items, n, sizeof *items, compare_created);
    json_array_clear(jobs);
    for (size_t i = 0; i < n; i++) {
        if ((long)i < limit)
            json_array_append(jobs, items[i]);
        json_decref(items[i]);
    }
    free(items);
    if (json_array_size(jobs) == 0)
        call->shown = json_pack("{s:s}", "text/plain",
                                status ? "no jobs in that status\n" : "no jobs yet\n");
    else
        call->shown = jobs_table(jobs);
    call->result = jobs;
    return 0;
}

/* ---- %status ------------------------------------------------------------- */

/* A value at a dotted path ("ResourceConfig.InstanceType"), or NULL. */
static const json_t *at(const json_t *obj, const char *path)
{
    char part[128];
    while (obj && path && *path) {
        size_t n = strcspn(path, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, path);
        obj = json_object_get(obj, part);
        path = path[n] ? path + n + 1 : NULL;
    }
    return obj;
}

typedef void (*field_fn)(const json_t *job, const char *path, sm_buf *out);

static void f_text(const json_t *job, const char *path, sm_buf *out)
{
    const json_t *v = at(job, path);
    if (json_is_string(v))
        sm_buf_puts(out, json_string_value(v));
    else if (json_is_integer(v))
        sm_buf_printf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        sm_buf_printf(out, "%g", json_real_value(v));
}

static void f_time(const json_t *job, const char *path, sm_buf *out)
{
    char text[32];
    sm_render_time(json_number_value(at(job, path)), text, sizeof text);
    sm_buf_puts(out, text);
}

static void f_seconds(const json_t *job, const char *path, sm_buf *out)
{
    const json_t *v = at(job, path);
    char text[32];
    if (json_is_number(v)) {
        sm_render_duration(json_number_value(v), text, sizeof text);
        sm_buf_puts(out, text);
    }
}

/* "ml.m5.xlarge x 2" from an object with InstanceType and InstanceCount. */
static void f_instance(const json_t *job, const char *path, sm_buf *out)
{
    const json_t *r = at(job, path);
    const char *type = json_string_value(json_object_get(r, "InstanceType"));
    json_int_t n = json_integer_value(json_object_get(r, "InstanceCount"));
    if (type)
        sm_buf_printf(out, "%s x %lld", type, (long long)(n ? n : 1));
}

static void f_channels(const json_t *job, const char *path, sm_buf *out)
{
    size_t i;
    const json_t *c;
    json_array_foreach(at(job, path), i, c) {
        const char *uri = json_string_value(at(c, "DataSource.S3DataSource.S3Uri"));
        sm_buf_printf(out, "%s%s: %s", i ? "; " : "",
                      json_string_value(json_object_get(c, "ChannelName")),
                      uri ? uri : "");
    }
}

static void f_pairs(const json_t *job, const char *path, sm_buf *out)
{
    const char *key;
    const json_t *v;
    int n = 0;
    json_object_foreach((json_t *)at(job, path), key, v) {
        if (strncmp(key, "_", 1) == 0 || strncmp(key, "sagemaker_", 10) == 0)
            continue; /* the SDK's own */
        sm_buf_printf(out, "%s%s=%s", n++ ? ", " : "", key,
                      json_is_string(v) ? json_string_value(v) : "");
    }
}

static void f_metrics(const json_t *job, const char *path, sm_buf *out)
{
    size_t i;
    const json_t *m;
    json_array_foreach(at(job, path), i, m) {
        sm_buf_printf(out, "%s%s=%g", i ? ", " : "",
                      json_string_value(json_object_get(m, "MetricName")),
                      json_number_value(json_object_get(m, "Value")));
    }
}

static void f_counts(const json_t *job, const char *path, sm_buf *out)
{
    const char *key;
    const json_t *v;
    int n = 0;
    json_object_foreach((json_t *)at(job, path), key, v) {
        if (json_integer_value(v))
            sm_buf_printf(out, "%s%s %lld", n++ ? ", " : "", key,
                          (long long)json_integer_value(v));
    }
}

static void f_objective(const json_t *job, const char *path, sm_buf *out)
{
    const json_t *o = at(job, path);
    const char *type = json_string_value(json_object_get(o, "Type"));
    const char *metric = json_string_value(json_object_get(o, "MetricName"));
    if (metric)
        sm_buf_printf(out, "%s %s", type ? type : "", metric);
}

static void f_best(const json_t *job, const char *path, sm_buf *out)
{
    const json_t *b = at(job, path);
    const char *name = json_string_value(json_object_get(b, "TrainingJobName"));
    const json_t *v = at(b, "FinalHyperParameterTuningJobObjectiveMetric.Value");
    if (name)
        sm_buf_printf(out, "%s", name);
    if (name && json_is_number(v))
        sm_buf_printf(out, " (%g)", json_number_value(v));
}

typedef struct field {
    const char *label;
    const char *path;
    field_fn fn;
} field;

static const field training_fields[] = {
    {"name", "TrainingJobName", f_text},
    {"status", "TrainingJobStatus", f_text},
    {"detail", "SecondaryStatus", f_text},
    {"failure", "FailureReason", f_text},
    {"created", "CreationTime", f_time},
    {"started", "TrainingStartTime", f_time},
    {"ended", "TrainingEndTime", f_time},
    {"training time", "TrainingTimeInSeconds", f_seconds},
    {"billable time", "BillableTimeInSeconds", f_seconds},
    {"instance", "ResourceConfig", f_instance},
    {"image", "AlgorithmSpecification.TrainingImage", f_text},
    {"input", "InputDataConfig", f_channels},
    {"output", "OutputDataConfig.S3OutputPath", f_text},
    {"model", "ModelArtifacts.S3ModelArtifacts", f_text},
    {"hyperparameters", "HyperParameters", f_pairs},
    {"metrics", "FinalMetricDataList", f_metrics},
    {"role", "RoleArn", f_text},
    {NULL, NULL, NULL},
};

static const field transform_fields[] = {
    {"name", "TransformJobName", f_text},
    {"status", "TransformJobStatus", f_text},
    {"failure", "FailureReason", f_text},
    {"created", "CreationTime", f_time},
    {"started", "TransformStartTime", f_time},
    {"ended", "TransformEndTime", f_time},
    {"model", "ModelName", f_text},
    {"instance", "TransformResources", f_instance},
    {"input", "TransformInput.DataSource.S3DataSource.S3Uri", f_text},
    {"content type", "TransformInput.ContentType", f_text},
    {"output", "TransformOutput.S3OutputPath", f_text},
    {NULL, NULL, NULL},
};

static const field tuning_fields[] = {
    {"name", "HyperParameterTuningJobName", f_text},
    {"status", "HyperParameterTuningJobStatus", f_text},
    {"failure", "FailureReason", f_text},
    {"created", "CreationTime", f_time},
    {"ended", "HyperParameterTuningEndTime", f_time},
    {"strategy", "HyperParameterTuningJobConfig.Strategy", f_text},
    {"objective", "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective",
     f_objective},
    {"max jobs", "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs",
     f_text},
    {"parallel", "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs",
     f_text},
    {"jobs", "TrainingJobStatusCounters", f_counts},
    {"best", "BestTrainingJob", f_best},
    {NULL, NULL, NULL},
};

static const field *fields_of(sm_sagemaker_kind kind)
{
    return kind == SM_SAGEMAKER_TRAINING_JOB   ? training_fields
           : kind == SM_SAGEMAKER_TRANSFORM_JOB ? transform_fields
                                                : tuning_fields;
}

static json_t *status_table(const json_t *job, sm_sagemaker_kind kind,
                            const char *kind_name)
{
    json_t *headers = json_pack("[s, s]", "field", "value");
    json_t *rows = json_array();
    json_array_append_new(rows, json_pack("[s, s]", "kind", kind_name));
    for (const field *f = fields_of(kind); f->label; f++) {
        sm_buf b = {0};
        f->fn(job, f->path, &b);
        if (b.len)
            json_array_append_new(rows, json_pack("[s, s]", f->label,
                                                  sm_buf_str(&b)));
        sm_buf_free(&b);
    }
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    return bundle;
}

/* Describe `name` as each kind in turn until one knows it. *found is the
 * row of the kind that did. New response, or NULL with the call's error. */
static json_t *describe_job(sm_call *call, sm_aws *aws, const char *name,
                            size_t first, size_t count, const job_kind **found)
{
    sm_aws_error err = {.http_status = 0}, first_err;
    memset(&first_err, 0, sizeof first_err);
    int missing = 0;
    for (size_t i = first; i < first + count; i++) {
        json_t *job = sm_sagemaker_describe(aws, job_kinds[i].kind, name, &err);
        if (job) {
            *found = &job_kinds[i];
            return job;
        }
        if (sm_sagemaker_error_is_not_found(&err) ||
            (count > 1 && strcmp(err.code, SM_AWSJSON_INVALID) == 0))
            missing++;
        else if (count == 1 || !unsupported(&err))
            return sm_call_fail_aws(call, &err), NULL;
        else if (!first_err.code[0])
            first_err = err;
    }
    if (!missing && first_err.code[0])
        return sm_call_fail_aws(call, &first_err), NULL;
    call->ename = "ClientError";
    sm_error_set(&call->err, "no %s named %s", count == 1
                                                  ? sm_sagemaker_kind_label(job_kinds[first].kind)
                                                  : "training, transform or tuning job",
                 name);
    return NULL;
}

/* The newest job of the kinds asked for, into name[size]. */
static int latest_job(sm_call *call, sm_aws *aws, size_t first, size_t count,
                      char *name, size_t size)
{
    json_t *jobs = json_array();
    int rc = list_jobs(call, aws, first, count, NULL, 1, jobs);
    size_t i;
    json_t *job, *best = NULL;
    json_array_foreach(jobs, i, job) {
        if (!best || compare_created(&job, &best) < 0)
            best = job;
    }
    if (!rc && !best)
        rc = sm_error_set(&call->err, "no jobs yet: %%status NAME shows one "
                                      "when there are");
    if (!rc)
        snprintf(name, size, "%s", json_string_value(json_object_get(best, "name")));
    json_decref(jobs);
    return rc;
}

int sm_magic_status(sm_call *call)
{
    size_t first, count;
    if (kind_flag(call, &first, &count))
        return -1;
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return -1;
    char name[256];
    const char *last_kind = NULL;
    const char *last = sm_backend_last_job(sm_magics_backend(call->m), &last_kind);
    if (call->args.n_positional) {
        snprintf(name, sizeof name, "%s", call->args.positional[0]);
    } else if (last && count > 1) {
        snprintf(name, sizeof name, "%s", last);
        for (size_t i = 0; i < KIND_COUNT; i++)
            if (last_kind && strcmp(job_kinds[i].name, last_kind) == 0)
                first = i, count = 1;
    } else if (latest_job(call, aws, first, count, name, sizeof name)) {
        return -1;
    }
    const job_kind *kind = NULL;
    json_t *job = describe_job(call, aws, name, first, count, &kind);
    if (!job)
        return -1;
    call->shown = status_table(job, kind->kind, kind->name);
    call->result = job;
    return 0;
}

/* ---- %logs --------------------------------------------------------------- */

/* Where a job's or endpoint's lines are, and whether it is still going. */
typedef struct log_source {
    sm_sagemaker_kind kind;
    char group[320];
    char prefix[300]; /* streams: "<job>/", or "" for all */
    char name[256];
} log_source;

/* The job or endpoint `name` is, tried as each in turn. */
static int find_source(sm_call *call, sm_aws *aws, const char *name,
                       log_source *src)
{
    static const sm_sagemaker_kind kinds[] = {SM_SAGEMAKER_TRAINING_JOB,
                                              SM_SAGEMAKER_TRANSFORM_JOB,
                                              SM_SAGEMAKER_ENDPOINT};
    sm_aws_error err = {.http_status = 0}, first_err;
    memset(&first_err, 0, sizeof first_err);
    int missing = 0;
    snprintf(src->name, sizeof src->name, "%s", name);
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        json_t *found = sm_sagemaker_describe(aws, kinds[i], name, &err);
        json_decref(found);
        if (found) {
            src->kind = kinds[i];
            if (kinds[i] == SM_SAGEMAKER_ENDPOINT) {
                snprintf(src->group, sizeof src->group, "%s%s",
                         SM_LOGS_ENDPOINT_GROUP, name);
                src->prefix[0] = '\0';
            } else {
                snprintf(src->group, sizeof src->group, "%s",
                         kinds[i] == SM_SAGEMAKER_TRAINING_JOB
                             ? SM_LOGS_TRAINING_GROUP
                             : SM_LOGS_TRANSFORM_GROUP);
                snprintf(src->prefix, sizeof src->prefix, "%s/", name);
            }
            return 0;
        }
        if (sm_sagemaker_error_is_not_found(&err) ||
            strcmp(err.code, SM_AWSJSON_INVALID) == 0)
            missing++;
        else if (!unsupported(&err))
            return sm_call_fail_aws(call, &err);
        else if (!first_err.code[0])
            first_err = err;
    }
    if (!missing)
        return sm_call_fail_aws(call, &first_err);
    call->ename = "ClientError";
    return sm_error_set(&call->err, "no training job, transform job or "
                                    "endpoint named %s", name);
}

/* One stream being read: its name and where reading goes on. */
typedef struct log_cursor {
    char *stream;
    char *token; /* NULL: from the start */
} log_cursor;

typedef struct log_reader {
    sm_call *call;
    sm_aws *aws;
    log_source src;
    long tail;          /* 0: every line */
    const char *filter; /* NULL: none */
    log_cursor *cursors;
    size_t count;
    int64_t filter_from;  /* ms: where the next filtered read starts */
    json_t *seen_ids;     /* filtered events already shown at filter_from */
    size_t lines;         /* shown so far */
} log_reader;

static void reader_clear(log_reader *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->cursors[i].stream);
        free(r->cursors[i].token);
    }
    free(r->cursors);
    json_decref(r->seen_ids);
}

static int compare_events(const void *a, const void *b)
{
    const sm_logs_event *x = a, *y = b;
    return x->timestamp < y->timestamp ? -1 : x->timestamp > y->timestamp;
}

/* Print `events` in time order (the last `tail` when tail > 0), each line
 * led by its stream's short name when there are several streams. */
static void show_events(log_reader *r, sm_logs_events *events, long tail)
{
    if (events->count == 0)
        return;
    qsort(events->items, events->count, sizeof *events->items, compare_events);
    size_t from = tail > 0 && events->count > (size_t)tail ? events->count - (size_t)tail : 0;
    sm_buf b = {0};
    size_t plen = strlen(r->src.prefix);
    for (size_t i = from; i < events->count; i++) {
        const sm_logs_event *e = &events->items[i];
        const char *msg = e->message ? e->message : "";
        if (r->count > 1 && e->stream) {
            const char *s = strncmp(e->stream, r->src.prefix, plen) == 0
                                ? e->stream + plen : e->stream;
            sm_buf_printf(&b, "[%s] ", s);
        }
        sm_buf_puts(&b, msg);
        if (!*msg || msg[strlen(msg) - 1] != '\n')
            sm_buf_putc(&b, '\n');
        r->lines++;
    }
    sm_out_stream(r->call->out, "stdout", sm_buf_str(&b));
    sm_buf_free(&b);
}

/* Learn of streams that appeared since the last look. */
static int discover_streams(log_reader *r, sm_aws_error *err)
{
    sm_logs_stream_query q = {.group = r->src.group,
                              .prefix = r->src.prefix[0] ? r->src.prefix : NULL};
    sm_logs_streams streams = {0};
    int rc = sm_logs_describe_streams(r->aws, &q, 0, &streams, err);
    if (rc && sm_logs_error_is_missing(err))
        rc = 0; /* no lines yet */
    for (size_t i = 0; !rc && i < streams.count; i++) {
        int known = 0;
        for (size_t j = 0; j < r->count && !known; j++)
            known = strcmp(r->cursors[j].stream, streams.items[i].name) == 0;
        if (known)
            continue;
        log_cursor *grown = realloc(r->cursors, (r->count + 1) * sizeof *grown);
        if (!grown)
            break;
        r->cursors = grown;
        r->cursors[r->count++] = (log_cursor){strdup(streams.items[i].name), NULL};
    }
    sm_logs_streams_clear(&streams);
    return rc;
}

/* Move the events of `from` to the end of `to`, naming their stream. */
static void events_move(sm_logs_events *to, sm_logs_events *from,
                        const char *stream)
{
    for (size_t i = 0; i < from->count; i++) {
        sm_logs_event *grown = realloc(to->items, (to->count + 1) * sizeof *grown);
        if (!grown)
            break;
        to->items = grown;
        to->items[to->count] = from->items[i];
        if (!to->items[to->count].stream && stream)
            to->items[to->count].stream = strdup(stream);
        to->count++;
        from->items[i] = (sm_logs_event){0};
    }
}

/* The last `tail` events of a stream (GetLogEvents backwards), leaving the
 * cursor at its end. */
static int read_tail(log_reader *r, log_cursor *c, sm_logs_events *out,
                     sm_aws_error *err)
{
    sm_logs_events_query q = {.group = r->src.group, .stream = c->stream,
                              .limit = (int)(r->tail < 10000 ? r->tail : 10000)};
    sm_error qerr = {0};
    json_t *request = sm_logs_get_events_request(&q, &qerr);
    if (!request) {
        sm_awsjson_refuse(err, SM_AWS_LOGS, "GetLogEvents", qerr.message);
        return -1;
    }
    json_t *response = sm_aws_json_call(r->aws, SM_AWS_LOGS, "GetLogEvents",
                                        request, err);
    json_decref(request);
    if (!response)
        return -1;
    sm_logs_events page = {0};
    int rc = sm_logs_get_events_read(response, NULL, &page);
    json_decref(response);
    if (!rc)
        events_move(out, &page, c->stream);
    free(c->token);
    c->token = page.next_forward_token ? strdup(page.next_forward_token) : NULL;
    sm_logs_events_clear(&page);
    return rc;
}

/* A stream forward from its cursor; the events go to `out`. (The client's
 * reader starts its result afresh, so each stream reads into its own.) */
static int read_forward(log_reader *r, log_cursor *c, sm_logs_events *out,
                        sm_aws_error *err)
{
    sm_logs_events_query q = {.group = r->src.group, .stream = c->stream,
                              .next_token = c->token, .start_from_head = 1};
    sm_logs_events page = {0};
    int rc = sm_logs_read_stream(r->aws, &q, 0, &page, err);
    if (!rc) {
        events_move(out, &page, c->stream);
        if (page.next_forward_token) {
            free(c->token);
            c->token = strdup(page.next_forward_token);
        }
    }
    sm_logs_events_clear(&page);
    return rc;
}

/* Filtered lines since the last read, none shown twice. */
static int read_filtered(log_reader *r, sm_logs_events *out, sm_aws_error *err)
{
    sm_logs_filter_query q = {.group = r->src.group,
                              .prefix = r->src.prefix[0] ? r->src.prefix : NULL,
                              .pattern = r->filter,
                              .start_time = r->filter_from};
    sm_logs_events found = {0};
    int rc = sm_logs_filter_events(r->aws, &q, 0, &found, err);
    if (rc && sm_logs_error_is_missing(err))
        rc = 0;
    for (size_t i = 0; !rc && i < found.count; i++) {
        sm_logs_event *e = &found.items[i];
        const char *id = e->event_id ? e->event_id : "";
        if (e->timestamp < r->filter_from ||
            (e->timestamp == r->filter_from && json_object_get(r->seen_ids, id)))
            continue;
        if (e->timestamp > r->filter_from) {
            r->filter_from = e->timestamp;
            json_object_clear(r->seen_ids);
        }
        json_object_set_new(r->seen_ids, id, json_true());
        sm_logs_event *grown = realloc(out->items, (out->count + 1) * sizeof *grown);
        if (!grown)
            break;
        out->items = grown;
        out->items[out->count++] = *e;
        *e = (sm_logs_event){0};
    }
    sm_logs_events_clear(&found);
    return rc;
}

/* One round: new streams, then the new lines of each, shown. */
static int read_round(log_reader *r, int first, sm_aws_error *err)
{
    sm_logs_events events = {0};
    int rc = 0;
    if (r->filter) {
        rc = read_filtered(r, &events, err);
        if (!rc)
            discover_streams(r, err); /* only to know there are several */
    } else {
        rc = discover_streams(r, err);
        for (size_t i = 0; !rc && i < r->count; i++) {
            log_cursor *c = &r->cursors[i];
            rc = first && r->tail > 0 && !c->token ? read_tail(r, c, &events, err)
                                                   : read_forward(r, c, &events, err);
        }
    }
    if (!rc)
        show_events(r, &events, first ? r->tail : 0);
    sm_logs_events_clear(&events);
    return rc;
}

/* Whether the job still runs (endpoints: always, until interrupted). */
static int still_running(log_reader *r)
{
    if (r->src.kind == SM_SAGEMAKER_ENDPOINT)
        return 1;
    sm_aws_error err = {.http_status = 0};
    json_t *job = sm_sagemaker_describe(r->aws, r->src.kind, r->src.name, &err);
    if (!job)
        return 0;
    sm_sagemaker_state s;
    sm_sagemaker_state_read(r->src.kind, job, &s);
    int running = !sm_sagemaker_status_is_terminal(r->src.kind, s.status);
    json_decref(job);
    return running;
}

static long poll_ms(sm_call *call)
{
    sm_config *config = sm_magics_config(call->m);
    const char *poll = sm_config_get(config, "poll");
    if (strcmp(poll, "auto") != 0)
        return (long)(atof(poll) * 1000);
    return strcmp(sm_config_get(config, "backend"), "local") == 0 ? 1000 : 5000;
}

static int follow(log_reader *r)
{
    sm_aws_error err = {.http_status = 0};
    for (;;) {
        int running = still_running(r);
        if (running && sm_out_wait(r->call->out, poll_ms(r->call)) != 0) {
            r->call->ename = "KeyboardInterrupt";
            return sm_error_set(&r->call->err, "interrupted: stopped following "
                                "the logs of %s; it keeps running", r->src.name);
        }
        if (read_round(r, 0, &err))
            return sm_call_fail_aws(r->call, &err);
        if (!running)
            return 0;
    }
}

int sm_magic_logs(sm_call *call)
{
    long tail = 0;
    if (sm_args_get(&call->args, "tail") &&
        sm_call_count_flag(call, "tail", 0, 100000, &tail))
        return -1;
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return -1;
    log_reader r = {.call = call, .aws = aws, .tail = tail,
                    .filter = sm_args_get(&call->args, "filter"),
                    .seen_ids = json_object()};
    int rc = find_source(call, aws, call->args.positional[0], &r.src);
    sm_aws_error err = {.http_status = 0};
    if (!rc && read_round(&r, 1, &err))
        rc = sm_call_fail_aws(call, &err);
    if (!rc && sm_args_get(&call->args, "follow"))
        rc = follow(&r);
    if (!rc && r.lines == 0)
        sm_out_stream(call->out, "stdout",
                      r.filter ? "no log lines match\n" : "no log lines yet\n");
    reader_clear(&r);
    return rc;
}
