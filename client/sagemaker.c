/* sagemaker: the table of resource kinds, and describe, stop, delete and
 * list over it. */
#include "sagemaker.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sagemaker_internal.h"

static const char *const training_statuses[] = {
    "InProgress", "Completed", "Failed", "Stopping",
    "Stopped",    "Deleting",  NULL};
static const char *const endpoint_statuses[] = {
    "OutOfService",         "Creating",  "Updating", "SystemUpdating",
    "RollingBack",          "InService", "Deleting", "Failed",
    "UpdateRollbackFailed", NULL};
static const char *const transform_statuses[] = {
    "InProgress", "Completed", "Failed", "Stopping", "Stopped", NULL};
static const char *const tuning_statuses[] = {
    "Completed", "InProgress", "Failed",       "Stopped",
    "Stopping",  "Deleting",   "DeleteFailed", NULL};

static const char *const job_terminal[] = {"Completed", "Failed", "Stopped",
                                           "DeleteFailed", NULL};
static const char *const endpoint_terminal[] = {
    "InService", "Failed", "OutOfService", "UpdateRollbackFailed", NULL};

static const char *const sort_name_time[] = {"Name", "CreationTime", NULL};
static const char *const sort_name_time_status[] = {"Name", "CreationTime",
                                                    "Status", NULL};

static const char *const sort_orders[] = {"Ascending", "Descending", NULL};

/* One row per kind: the names its operations and members go by. */
typedef struct kind_row {
    const char *label;
    const char *name_member, *arn_member;
    size_t name_max;
    const char *ops[5]; /* indexed by sm_sagemaker_op */
    const char *list_key;
    const char *status_member; /* NULL: the kind has no status */
    const char *start_member, *end_member;
    const char *const *statuses; /* for StatusEquals; NULL: no filter */
    const char *const *sort_by;
    const char *const *terminal;
} kind_row;

static const kind_row kinds[SM_SAGEMAKER_KIND_COUNT] = {
    [SM_SAGEMAKER_TRAINING_JOB] =
        {
            .label = "training job",
            .name_member = "TrainingJobName",
            .arn_member = "TrainingJobArn",
            .name_max = 63,
            .ops = {"CreateTrainingJob", "DescribeTrainingJob",
                    "ListTrainingJobs", "StopTrainingJob", NULL},
            .list_key = "TrainingJobSummaries",
            .status_member = "TrainingJobStatus",
            .start_member = "TrainingStartTime",
            .end_member = "TrainingEndTime",
            .statuses = training_statuses,
            .sort_by = sort_name_time_status,
            .terminal = job_terminal,
        },
    [SM_SAGEMAKER_MODEL] =
        {
            .label = "model",
            .name_member = "ModelName",
            .arn_member = "ModelArn",
            .name_max = 63,
            .ops = {"CreateModel", "DescribeModel", "ListModels", NULL,
                    "DeleteModel"},
            .list_key = "Models",
            .sort_by = sort_name_time,
        },
    [SM_SAGEMAKER_ENDPOINT_CONFIG] =
        {
            .label = "endpoint config",
            .name_member = "EndpointConfigName",
            .arn_member = "EndpointConfigArn",
            .name_max = 63,
            .ops = {"CreateEndpointConfig", "DescribeEndpointConfig",
                    "ListEndpointConfigs", NULL, "DeleteEndpointConfig"},
            .list_key = "EndpointConfigs",
            .sort_by = sort_name_time,
        },
    [SM_SAGEMAKER_ENDPOINT] =
        {
            .label = "endpoint",
            .name_member = "EndpointName",
            .arn_member = "EndpointArn",
            .name_max = 63,
            .ops = {"CreateEndpoint", "DescribeEndpoint", "ListEndpoints", NULL,
                    "DeleteEndpoint"},
            .list_key = "Endpoints",
            .status_member = "EndpointStatus",
            .statuses = endpoint_statuses,
            .sort_by = sort_name_time_status,
            .terminal = endpoint_terminal,
        },
    [SM_SAGEMAKER_TRANSFORM_JOB] =
        {
            .label = "transform job",
            .name_member = "TransformJobName",
            .arn_member = "TransformJobArn",
            .name_max = 63,
            .ops = {"CreateTransformJob", "DescribeTransformJob",
                    "ListTransformJobs", "StopTransformJob", NULL},
            .list_key = "TransformJobSummaries",
            .status_member = "TransformJobStatus",
            .start_member = "TransformStartTime",
            .end_member = "TransformEndTime",
            .statuses = transform_statuses,
            .sort_by = sort_name_time_status,
            .terminal = job_terminal,
        },
    [SM_SAGEMAKER_TUNING_JOB] =
        {
            .label = "tuning job",
            .name_member = "HyperParameterTuningJobName",
            .arn_member = "HyperParameterTuningJobArn",
            .name_max = 32,
            .ops = {"CreateHyperParameterTuningJob",
                    "DescribeHyperParameterTuningJob",
                    "ListHyperParameterTuningJobs",
                    "StopHyperParameterTuningJob", NULL},
            .list_key = "HyperParameterTuningJobSummaries",
            .status_member = "HyperParameterTuningJobStatus",
            .end_member = "HyperParameterTuningEndTime",
            .statuses = tuning_statuses,
            .sort_by = sort_name_time_status,
            .terminal = job_terminal,
        },
};

static const kind_row *row_of(sm_sagemaker_kind kind)
{
    if ((int)kind < 0 || kind >= SM_SAGEMAKER_KIND_COUNT)
        kind = SM_SAGEMAKER_TRAINING_JOB;
    return &kinds[kind];
}

const char *sm_sagemaker_kind_label(sm_sagemaker_kind kind)
{
    return row_of(kind)->label;
}

const char *sm_sagemaker_kind_name_member(sm_sagemaker_kind kind)
{
    return row_of(kind)->name_member;
}

const char *sm_sagemaker_operation(sm_sagemaker_kind kind, sm_sagemaker_op op)
{
    if ((int)op < 0 || op > SM_SAGEMAKER_OP_DELETE)
        return NULL;
    return row_of(kind)->ops[op];
}

int sm_sagemaker_check_name(sm_sagemaker_kind kind, const char *name,
                            sm_error *err)
{
    const sm_awsjson_rule rule = {1, row_of(kind)->name_max,
                                  SM_AWSJSON_RESOURCE_NAME};
    if (!name || !*name)
        return sm_error_set(err, "%s is required.", row_of(kind)->name_member);
    return sm_awsjson_check(row_of(kind)->name_member, name, &rule, err);
}

/* ---- state -------------------------------------------------------------- */

void sm_sagemaker_state_read(sm_sagemaker_kind kind, const json_t *obj,
                             sm_sagemaker_state *out)
{
    const kind_row *row = row_of(kind);
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->name = sm_awsjson_str(obj, row_of(kind)->name_member);
    out->arn = sm_awsjson_str(obj, row_of(kind)->arn_member);
    out->status =
        row->status_member ? sm_awsjson_str(obj, row->status_member) : "";
    out->secondary_status = sm_awsjson_str(obj, "SecondaryStatus");
    out->failure_reason = sm_awsjson_str(obj, "FailureReason");
    out->creation_time = sm_awsjson_num(obj, "CreationTime");
    if (row->start_member)
        out->start_time = sm_awsjson_num(obj, row->start_member);
    if (row->end_member)
        out->end_time = sm_awsjson_num(obj, row->end_member);
    out->last_modified_time = sm_awsjson_num(obj, "LastModifiedTime");
}

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

int sm_sagemaker_status_is_terminal(sm_sagemaker_kind kind, const char *status)
{
    const kind_row *row = row_of(kind);
    if (!row->status_member)
        return 1;
    return status && in_list(row->terminal, status);
}

/* ---- by name ------------------------------------------------------------ */

json_t *sm_sagemaker_name_request(sm_sagemaker_kind kind, const char *name,
                                  sm_error *err)
{
    if (sm_sagemaker_check_name(kind, name, err))
        return NULL;
    json_t *body = json_object();
    if (!body || sm_awsjson_put_new(body, row_of(kind)->name_member,
                                    json_string(name), err)) {
        json_decref(body);
        sm_error_set(err, "out of memory");
        return NULL;
    }
    return body;
}

/* Send {"<Kind>Name": name} as `op`: the new response or NULL. */
static json_t *call_by_name(const sm_awsjson_caller *caller,
                            sm_sagemaker_kind kind, sm_sagemaker_op op,
                            const char *name, sm_aws_error *err)
{
    const char *operation = sm_sagemaker_operation(kind, op);
    static const char *const verbs[] = {"created", "described", "listed",
                                        "stopped", "deleted"};
    if (!operation) {
        char msg[128];
        snprintf(msg, sizeof msg, "A %s cannot be %s.",
                 sm_sagemaker_kind_label(kind), verbs[op]);
        sm_awsjson_refuse(err, SM_AWS_SAGEMAKER, "", msg);
        return NULL;
    }
    sm_error e = {""};
    json_t *body = sm_sagemaker_name_request(kind, name, &e);
    if (!body) {
        sm_awsjson_refuse(err, SM_AWS_SAGEMAKER, operation, e.message);
        return NULL;
    }
    json_t *response =
        sm_awsjson_call(caller, SM_AWS_SAGEMAKER, operation, body, err);
    json_decref(body);
    return response;
}

json_t *sm_sagemaker_describe_via(const sm_awsjson_caller *caller,
                                  sm_sagemaker_kind kind, const char *name,
                                  sm_aws_error *err)
{
    return call_by_name(caller, kind, SM_SAGEMAKER_OP_DESCRIBE, name, err);
}

json_t *sm_sagemaker_describe(sm_aws *aws, sm_sagemaker_kind kind,
                              const char *name, sm_aws_error *err)
{
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_describe_via(&caller, kind, name, err);
}

int sm_sagemaker_stop(sm_aws *aws, sm_sagemaker_kind kind, const char *name,
                      sm_aws_error *err)
{
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    json_t *r = call_by_name(&caller, kind, SM_SAGEMAKER_OP_STOP, name, err);
    json_decref(r);
    return r ? 0 : -1;
}

int sm_sagemaker_delete(sm_aws *aws, sm_sagemaker_kind kind, const char *name,
                        sm_aws_error *err)
{
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    json_t *r = call_by_name(&caller, kind, SM_SAGEMAKER_OP_DELETE, name, err);
    json_decref(r);
    return r ? 0 : -1;
}

/* ---- errors and responses ----------------------------------------------- */

static int message_says(const sm_aws_error *err, const char *const *phrases)
{
    for (size_t i = 0; phrases[i]; i++)
        if (strcasestr(err->message, phrases[i]))
            return 1;
    return 0;
}

int sm_sagemaker_error_is_not_found(const sm_aws_error *err)
{
    static const char *const phrases[] = {"could not find", "not found",
                                          "does not exist", NULL};
    if (!err)
        return 0;
    if (sm_awsjson_error_is(err, "ResourceNotFound") ||
        sm_awsjson_error_is(err, "ResourceNotFoundException"))
        return 1;
    return sm_awsjson_error_is(err, "ValidationException") &&
           message_says(err, phrases);
}

int sm_sagemaker_error_is_already_exists(const sm_aws_error *err)
{
    static const char *const phrases[] = {
        "already exist", "cannot create already existing", NULL};
    if (!err)
        return 0;
    if (sm_awsjson_error_is(err, "ResourceInUse"))
        return 1;
    return sm_awsjson_error_is(err, "ValidationException") &&
           message_says(err, phrases);
}

char *sm_sagemaker_arn_read(const json_t *response, const char *arn_member,
                            sm_error *err)
{
    const char *arn = sm_awsjson_str(response, arn_member);
    if (!*arn) {
        sm_error_set(err, "The response has no %s.", arn_member);
        return NULL;
    }
    char *copy = strdup(arn);
    if (!copy)
        sm_error_set(err, "out of memory");
    return copy;
}

/* ---- listing ------------------------------------------------------------ */

void sm_sagemaker_listing_clear(sm_sagemaker_listing *self)
{
    if (!self)
        return;
    json_decref(self->raw);
    free(self->items);
    memset(self, 0, sizeof *self);
}

json_t *sm_sagemaker_list_request(sm_sagemaker_kind kind,
                                  const sm_sagemaker_list_options *options,
                                  const char *next_token, sm_error *err)
{
    static const sm_awsjson_rule name_filter = {0, 63, SM_AWSJSON_NAME_FILTER};
    static const sm_awsjson_rule token = {0, 8192, SM_AWSJSON_LINE};
    const kind_row *row = row_of(kind);
    sm_sagemaker_list_options none = {0};
    const sm_sagemaker_list_options *o = options ? options : &none;
    json_t *body = json_object();
    int rc = body ? 0 : sm_error_set(err, "out of memory");
    if (!rc && o->status_equals && !row->statuses)
        rc = sm_error_set(err, "A %s has no status to filter on.", row->label);
    if (!rc)
        rc = sm_awsjson_put_str(body, "NameContains", o->name_contains,
                                &name_filter, err);
    if (!rc)
        rc = sm_awsjson_put_enum(body, "StatusEquals", o->status_equals,
                                 row->statuses, err);
    if (!rc)
        rc = sm_awsjson_put_enum(body, "SortBy", o->sort_by, row->sort_by, err);
    if (!rc)
        rc = sm_awsjson_put_enum(body, "SortOrder", o->sort_order, sort_orders,
                                 err);
    if (!rc && o->creation_time_after > 0)
        rc = sm_awsjson_put_time(body, "CreationTimeAfter",
                                 o->creation_time_after, err);
    if (!rc && o->creation_time_before > 0)
        rc = sm_awsjson_put_time(body, "CreationTimeBefore",
                                 o->creation_time_before, err);
    if (!rc && o->page_size)
        rc = sm_awsjson_put_int(body, "MaxResults", o->page_size, 1, 100, err);
    if (!rc && next_token && *next_token)
        rc = sm_awsjson_put_str(body, "NextToken", next_token, &token, err);
    if (rc) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* The first `n` items of `items` as a new array. */
static json_t *first_items(json_t *items, size_t n)
{
    json_t *out = json_array();
    for (size_t i = 0; out && i < n && i < json_array_size(items); i++)
        if (json_array_append(out, json_array_get(items, i))) {
            json_decref(out);
            return NULL;
        }
    return out;
}

/* Hand one page to the callback, cut to what max_items leaves. Returns the
 * callback's answer; *full is set when the cap was reached. */
static int deliver(const sm_sagemaker_pager *pager, json_t *items, size_t *seen,
                   int *full, sm_aws_error *err)
{
    size_t n = json_array_size(items);
    json_t *page = json_incref(items);
    if (pager->max_items && *seen + n >= pager->max_items) {
        *full = 1;
        if (*seen + n > pager->max_items) {
            json_decref(page);
            page = first_items(items, pager->max_items - *seen);
            n = pager->max_items - *seen;
            if (!page) {
                snprintf(err->message, sizeof err->message, "out of memory");
                return -1;
            }
        }
    }
    *seen += n;
    int answer = pager->on_page(pager->ctx, page, err);
    json_decref(page);
    return answer;
}

/* After a page: 0 when everything was read, 1 to ask for the next page,
 * 2 when more remain but listing stops here: the callback or a bound said
 * so, or the token came back unchanged. An empty page that carries a token
 * goes on, as botocore's paginators do: SageMaker answers so when a filter
 * matched nothing in the part of the list it looked at. */
static int after_page(int answer, int full, int pages, int max_pages,
                      const char *sent, const char *next)
{
    if (!*next)
        return 0;
    if (answer || full || pages >= max_pages ||
        (sent && strcmp(sent, next) == 0))
        return 2;
    return 1;
}

int sm_sagemaker_paginate(const sm_awsjson_caller *caller,
                          const sm_sagemaker_pager *pager,
                          const json_t *request, int *truncated,
                          sm_aws_error *err)
{
    int max_pages = pager->max_pages > 0 ? pager->max_pages : 100;
    json_t *req = json_deep_copy(request);
    json_t *response = NULL, *empty = json_array();
    char *sent = NULL; /* the token of the page just asked for */
    size_t seen = 0;
    int rc = req && empty ? 0 : -1, full = 0, more = 1;
    *truncated = 0;
    for (int pages = 1; !rc && more == 1; pages++) {
        json_decref(response);
        response = sm_awsjson_call(caller, SM_AWS_SAGEMAKER, pager->operation,
                                   req, err);
        if (!response) {
            rc = -1;
            break;
        }
        json_t *items = sm_awsjson_array(response, pager->result_key);
        int answer = deliver(pager, items ? items : empty, &seen, &full, err);
        const char *next = sm_awsjson_str(response, "NextToken");
        more = after_page(answer, full, pages, max_pages, sent, next);
        if (answer < 0)
            rc = -1;
        if (!rc && more == 1) {
            free(sent);
            sent = strdup(next);
            if (!sent ||
                json_object_set_new(req, "NextToken", json_string(next)))
                rc = -1;
        }
    }
    *truncated = more == 2;
    if (rc && !err->message[0])
        snprintf(err->message, sizeof err->message, "out of memory");
    json_decref(response);
    json_decref(req);
    json_decref(empty);
    free(sent);
    return rc;
}

/* Fill out->items from out->raw. */
static int index_states(sm_sagemaker_kind kind, sm_sagemaker_listing *out)
{
    out->count = json_array_size(out->raw);
    if (!out->count)
        return 0;
    out->items = calloc(out->count, sizeof *out->items);
    if (!out->items)
        return -1;
    for (size_t i = 0; i < out->count; i++)
        sm_sagemaker_state_read(kind, json_array_get(out->raw, i),
                                &out->items[i]);
    return 0;
}

int sm_sagemaker_list_via(const sm_awsjson_caller *caller,
                          sm_sagemaker_kind kind,
                          const sm_sagemaker_list_options *options,
                          sm_sagemaker_listing *out, sm_aws_error *err)
{
    const kind_row *row = row_of(kind);
    const char *operation = row->ops[SM_SAGEMAKER_OP_LIST];
    memset(out, 0, sizeof *out);
    sm_error e = {""};
    json_t *request = sm_sagemaker_list_request(kind, options, NULL, &e);
    if (!request) {
        sm_awsjson_refuse(err, SM_AWS_SAGEMAKER, operation, e.message);
        return -1;
    }
    int rc = sm_sagemaker_gather(caller, operation, row->list_key, request,
                                 options, &out->raw, &out->truncated, err);
    json_decref(request);
    if (!rc && index_states(kind, out)) {
        snprintf(err->message, sizeof err->message, "out of memory");
        rc = -1;
    }
    return rc;
}

int sm_sagemaker_list(sm_aws *aws, sm_sagemaker_kind kind,
                      const sm_sagemaker_list_options *options,
                      sm_sagemaker_listing *out, sm_aws_error *err)
{
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_list_via(&caller, kind, options, out, err);
}

/* ---- shared with the other sagemaker*.c files --------------------------- */

const sm_awsjson_rule sm_sagemaker_rule_role_arn = {20, 2048,
                                                    SM_AWSJSON_ROLE_ARN};
const sm_awsjson_rule sm_sagemaker_rule_s3_uri = {0, 1024, SM_AWSJSON_S3_URI};
const sm_awsjson_rule sm_sagemaker_rule_kms_key = {0, 2048, SM_AWSJSON_KMS_KEY};
const sm_awsjson_rule sm_sagemaker_rule_content_type = {0, 256,
                                                        SM_AWSJSON_LINE};
const sm_awsjson_map_rule sm_sagemaker_rule_tags = {
    50, {1, 128, SM_AWSJSON_TAG}, {0, 256, SM_AWSJSON_TAG}};

json_t *sm_sagemaker_object(sm_error *err)
{
    json_t *obj = json_object();
    if (!obj)
        sm_error_set(err, "out of memory");
    return obj;
}

int sm_sagemaker_put_tags(json_t *obj, const sm_sagemaker_kv *tags,
                          size_t count, sm_error *err)
{
    if (!count)
        return 0;
    /* Checked as a map first: lengths, characters, no key twice. */
    json_t *scratch = sm_sagemaker_object(err);
    int rc = scratch ? sm_awsjson_put_map(scratch, "Tags", tags, count,
                                          &sm_sagemaker_rule_tags, err)
                     : -1;
    json_decref(scratch);
    if (rc)
        return -1;
    json_t *list = json_array();
    for (size_t i = 0; list && i < count; i++) {
        json_t *tag = json_pack("{s:s, s:s}", "Key", tags[i].key, "Value",
                                tags[i].value ? tags[i].value : "");
        if (json_array_append_new(list, tag)) {
            json_decref(list);
            list = NULL;
        }
    }
    return sm_awsjson_put_new(obj, "Tags", list, err);
}

int sm_sagemaker_put_instances(json_t *obj, const char *type, int count,
                               const char *volume_kms_key_id, sm_error *err)
{
    int rc = sm_sagemaker_put_instance_type(obj, "InstanceType", type, err);
    if (!rc)
        rc = sm_awsjson_put_int(obj, "InstanceCount", count ? count : 1, 1, 0,
                                err);
    if (!rc)
        rc = sm_awsjson_put_str(obj, "VolumeKmsKeyId", volume_kms_key_id,
                                &sm_sagemaker_rule_kms_key, err);
    return rc;
}

int sm_sagemaker_put_built(json_t *obj, const char *member, json_t *sub, int rc,
                           sm_error *err)
{
    if (rc) {
        json_decref(sub);
        return -1;
    }
    return sm_awsjson_put_new(obj, member, sub, err);
}

int sm_sagemaker_put_instance_type(json_t *obj, const char *member,
                                   const char *value, sm_error *err)
{
    static const sm_awsjson_rule rule = {4, 64, SM_AWSJSON_NO_SPACE};
    if (!value || !*value)
        return sm_error_set(err, "%s is required (e.g. ml.m5.large).", member);
    if (strncmp(value, "ml.", 3) != 0 || !value[3])
        return sm_error_set(err,
                            "%s '%.64s' is not a SageMaker instance type; "
                            "they look like ml.m5.large.",
                            member, value);
    return sm_awsjson_put_str(obj, member, value, &rule, err);
}

int sm_sagemaker_put_vpc(json_t *obj, const char *const *security_groups,
                         size_t security_group_count,
                         const char *const *subnets, size_t subnet_count,
                         sm_error *err)
{
    static const sm_awsjson_rule id = {0, 32, SM_AWSJSON_VPC_ID};
    if (!security_group_count && !subnet_count)
        return 0;
    if (!security_group_count || !subnet_count)
        return sm_error_set(err, "VpcConfig needs both security group ids "
                                 "and subnets.");
    json_t *vpc = sm_sagemaker_object(err);
    int rc = vpc ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_str_list(vpc, "SecurityGroupIds", security_groups,
                                     security_group_count, 1, 5, &id, err);
    if (!rc)
        rc = sm_awsjson_put_str_list(vpc, "Subnets", subnets, subnet_count, 1,
                                     16, &id, err);
    if (rc) {
        json_decref(vpc);
        return -1;
    }
    return sm_awsjson_put_new(obj, "VpcConfig", vpc, err);
}

int sm_sagemaker_create_via(const sm_awsjson_caller *caller,
                            const char *operation, json_t *request,
                            const sm_error *build_err, const char *arn_member,
                            char **arn_out, sm_aws_error *err)
{
    if (arn_out)
        *arn_out = NULL;
    if (!request) {
        sm_awsjson_refuse(err, SM_AWS_SAGEMAKER, operation, build_err->message);
        return -1;
    }
    json_t *response =
        sm_awsjson_call(caller, SM_AWS_SAGEMAKER, operation, request, err);
    json_decref(request);
    if (!response)
        return -1;
    sm_error e = {""};
    char *arn = sm_sagemaker_arn_read(response, arn_member, &e);
    json_decref(response);
    if (!arn) {
        snprintf(err->code, sizeof err->code, "InvalidResponse");
        snprintf(err->message, sizeof err->message, "%s", e.message);
        return -1;
    }
    if (arn_out)
        *arn_out = arn;
    else
        free(arn);
    return 0;
}

int sm_sagemaker_describe_into(sm_aws *aws, sm_sagemaker_kind kind,
                               const char *name, sm_sagemaker_read_fn read,
                               void *out, sm_aws_error *err)
{
    json_t *response = sm_sagemaker_describe(aws, kind, name, err);
    if (!response)
        return -1;
    if (read(response, out)) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    return 0;
}

static int gather_page(void *ctx, json_t *items, sm_aws_error *err)
{
    if (json_array_extend(ctx, items)) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    return 0;
}

int sm_sagemaker_gather(const sm_awsjson_caller *caller, const char *operation,
                        const char *result_key, const json_t *request,
                        const sm_sagemaker_list_options *options, json_t **raw,
                        int *truncated, sm_aws_error *err)
{
    *raw = json_array();
    if (!*raw) {
        sm_awsjson_refuse(err, SM_AWS_SAGEMAKER, operation, "out of memory");
        return -1;
    }
    sm_sagemaker_pager pager = {
        operation,
        result_key,
        options ? options->max_items : 0,
        options ? options->max_pages : 0,
        gather_page,
        *raw,
    };
    return sm_sagemaker_paginate(caller, &pager, request, truncated, err);
}
