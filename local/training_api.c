/* training_api: the training job operations of the SageMaker API, checked
 * as SageMaker checks them, over trainjobs (the table) and trainer (the
 * runs). The rows are sm_training_ops (sagemaker_api.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagemaker_api.h"
#include "trainer.h"
#include "trainjobs.h"

#define V SM_SM_VALIDATION

static const sm_awsjson_rule role_rule = {20, 2048, SM_AWSJSON_ROLE_ARN};
static const sm_awsjson_rule s3_rule = {0, 1024, SM_AWSJSON_S3_URI};
static const sm_awsjson_rule image_rule = {0, 255, SM_AWSJSON_NO_SPACE};
static const sm_awsjson_rule channel_rule = {1, 64, SM_AWSJSON_CHANNEL_NAME};
static const sm_awsjson_rule filter_rule = {0, 63, SM_AWSJSON_NAME_FILTER};

#define S3_PATTERN                                                            \
    "Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?" \
    "(.*)$"

static int db_failed(const sm_error *why, sm_http_error *err)
{
    return sm_http_fail(err, 500, "InternalFailure", "%s", why->message);
}

/* ---- CreateTrainingJob: the members ------------------------------------- */

static int check_algorithm(const json_t *in, sm_http_error *err)
{
    static const char *const modes[] = {"Pipe", "File", "FastFile", NULL};
    const json_t *spec = NULL;
    const char *mode = NULL, *image = NULL, *name = NULL;
    if (sm_jsonapi_obj(in, "AlgorithmSpecification", "AlgorithmSpecification",
                       1, V, &spec, err) ||
        sm_jsonapi_enum(spec, "TrainingInputMode",
                        "AlgorithmSpecification.TrainingInputMode", 1, modes,
                        V, &mode, err) ||
        sm_jsonapi_str(spec, "TrainingImage",
                       "AlgorithmSpecification.TrainingImage", 0, &image_rule,
                       "Member must satisfy regular expression pattern: "
                       "[\\S]+",
                       V, &image, err) ||
        sm_jsonapi_str(spec, "AlgorithmName",
                       "AlgorithmSpecification.AlgorithmName", 0, NULL, NULL,
                       V, &name, err))
        return -1;
    if (!image && !name)
        return sm_jsonapi_fail(err, V,
                               "Either AlgorithmName or TrainingImage must be "
                               "specified in AlgorithmSpecification.");
    if (image && name)
        return sm_jsonapi_fail(err, V,
                               "Specify either AlgorithmName or TrainingImage "
                               "in AlgorithmSpecification, not both.");
    return 0;
}

static int check_resources(const json_t *in, sm_http_error *err)
{
    const json_t *rc = NULL, *stop = NULL;
    const char *type = NULL;
    long long count = 1, volume = 30, runtime = 86400;
    if (sm_jsonapi_obj(in, "ResourceConfig", "ResourceConfig", 1, V, &rc,
                       err) ||
        sm_jsonapi_str(rc, "InstanceType", "ResourceConfig.InstanceType", 1,
                       NULL, NULL, V, &type, err) ||
        sm_jsonapi_int(rc, "InstanceCount", "ResourceConfig.InstanceCount", 0,
                       1, -1, V, &count, err) ||
        sm_jsonapi_int(rc, "VolumeSizeInGB", "ResourceConfig.VolumeSizeInGB",
                       1, 1, -1, V, &volume, err) ||
        sm_jsonapi_obj(in, "StoppingCondition", "StoppingCondition", 1, V,
                       &stop, err) ||
        sm_jsonapi_int(stop, "MaxRuntimeInSeconds",
                       "StoppingCondition.MaxRuntimeInSeconds", 0, 1, -1, V,
                       &runtime, err))
        return -1;
    if (strncmp(type, "ml.", 3) != 0 || strchr(type + 3, '.') == NULL)
        return sm_jsonapi_invalid(err, V, "ResourceConfig.InstanceType", type,
                                  "Member must satisfy enum value set: "
                                  "[ml.m5.large, ml.m5.xlarge, ml.m4.xlarge, "
                                  "ml.c5.xlarge, ml.c5.2xlarge, ... and the "
                                  "other ml.* training instance types]");
    return 0;
}

static int check_channel(const json_t *ch, size_t i, sm_http_error *err)
{
    static const char *const types[] = {"ManifestFile", "S3Prefix",
                                        "AugmentedManifestFile", "Converse",
                                        NULL};
    static const char *const distributions[] = {"FullyReplicated",
                                                "ShardedByS3Key", NULL};
    char f[6][96];
    const char *fields[] = {"ChannelName", "DataSource",
                            "DataSource.S3DataSource", "S3DataType", "S3Uri",
                            "S3DataDistributionType"};
    for (int k = 0; k < 6; k++)
        snprintf(f[k], sizeof f[k], "InputDataConfig.%zu.%s%s", i + 1,
                 k >= 3 ? "DataSource.S3DataSource." : "", fields[k]);
    const json_t *source = NULL, *s3 = NULL;
    const char *name = NULL, *type = NULL, *uri = NULL, *dist = NULL;
    if (!json_is_object(ch))
        return sm_jsonapi_fail(err, "SerializationException",
                               "Each InputDataConfig entry must be an object.");
    if (sm_jsonapi_str(ch, "ChannelName", f[0], 1, &channel_rule,
                       "Member must satisfy regular expression pattern: "
                       "[A-Za-z0-9\\.\\-_]+",
                       V, &name, err) ||
        sm_jsonapi_obj(ch, "DataSource", f[1], 1, V, &source, err) ||
        sm_jsonapi_obj(source, "S3DataSource", f[2], 0, V, &s3, err))
        return -1;
    if (!s3)
        return sm_jsonapi_fail(err, V,
                               "Channel %s: sagemagic-local reads training "
                               "data from S3 only (DataSource.S3DataSource).",
                               name);
    return sm_jsonapi_enum(s3, "S3DataType", f[3], 1, types, V, &type, err) ||
           sm_jsonapi_str(s3, "S3Uri", f[4], 1, &s3_rule, S3_PATTERN, V, &uri,
                          err) ||
           sm_jsonapi_enum(s3, "S3DataDistributionType", f[5], 0,
                           distributions, V, &dist, err);
}

static int check_channels(const json_t *in, sm_http_error *err)
{
    json_t *list = json_object_get(in, "InputDataConfig");
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return sm_jsonapi_fail(err, "SerializationException",
                               "InputDataConfig must be a list of channels.");
    size_t n = json_array_size(list);
    if (n < 1 || n > 20)
        return sm_jsonapi_invalid(err, V, "InputDataConfig", NULL,
                                  "Member must have length between 1 and 20");
    for (size_t i = 0; i < n; i++) {
        if (check_channel(json_array_get(list, i), i, err))
            return -1;
        const char *a = json_string_value(
            json_object_get(json_array_get(list, i), "ChannelName"));
        for (size_t k = 0; k < i; k++)
            if (!strcmp(a, json_string_value(json_object_get(
                               json_array_get(list, k), "ChannelName"))))
                return sm_jsonapi_fail(err, V,
                                       "Channel names must be unique: %s "
                                       "appears twice in InputDataConfig.",
                                       a);
    }
    return 0;
}

static int check_hyperparameters(const json_t *in, sm_http_error *err)
{
    json_t *hp = json_object_get(in, "HyperParameters");
    if (!hp || json_is_null(hp))
        return 0;
    if (!json_is_object(hp))
        return sm_jsonapi_fail(err, "SerializationException",
                               "HyperParameters must be a map of strings.");
    if (json_object_size(hp) > 100)
        return sm_jsonapi_invalid(err, V, "HyperParameters", NULL,
                                  "Member must have length less than or "
                                  "equal to 100");
    const char *key;
    json_t *value;
    json_object_foreach(hp, key, value)
    {
        if (!json_is_string(value))
            return sm_jsonapi_fail(err, "SerializationException",
                                   "The value of hyperparameter '%s' must be "
                                   "a string (send \"10\", not 10).",
                                   key);
        if (strlen(key) > 256 || strlen(json_string_value(value)) > 2500)
            return sm_jsonapi_invalid(err, V, "HyperParameters", key,
                                      "Map keys must have length less than "
                                      "or equal to 256 and values less than "
                                      "or equal to 2500");
    }
    return 0;
}

int sm_training_check_request(const json_t *in, const char **name,
                              sm_http_error *err)
{
    const char *role = NULL, *out_path = NULL, *tuning = NULL;
    const json_t *output = NULL;
    return sm_sm_name(in, "TrainingJobName", "TrainingJobName", name, err) ||
           sm_jsonapi_str(in, "RoleArn", "RoleArn", 1, &role_rule,
                          "Member must satisfy regular expression pattern: "
                          "^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+="
                          ",.@\\-_/]+$",
                          V, &role, err) ||
           sm_jsonapi_obj(in, "OutputDataConfig", "OutputDataConfig", 1, V,
                          &output, err) ||
           sm_jsonapi_str(output, "S3OutputPath",
                          "OutputDataConfig.S3OutputPath", 1, &s3_rule,
                          S3_PATTERN, V, &out_path, err) ||
           check_algorithm(in, err) || check_resources(in, err) ||
           check_channels(in, err) || check_hyperparameters(in, err) ||
           sm_jsonapi_str(in, "TuningJobArn", "TuningJobArn", 0, NULL, NULL,
                          V, &tuning, err);
}

/* ---- the operations ----------------------------------------------------- */

static int create_training_job(sm_local_env *env, const sm_http_request *req,
                               const json_t *in, json_t **out,
                               sm_http_error *err)
{
    const char *name = NULL;
    if (sm_training_check_request(in, &name, err))
        return -1;
    char arn[256], existing[256] = "";
    sm_sm_arn(env, req->region, "training-job", name, arn, sizeof arn);
    json_t *request = json_deep_copy(in);
    json_object_del(request, "TuningJobArn");
    sm_trainjobs_new job = {
        .name = name,
        .arn = arn,
        .request = request,
        .tuning_job_arn =
            json_string_value(json_object_get(in, "TuningJobArn")),
        .created = sm_jsonapi_now(),
    };
    size_t running = 0;
    sm_error why = {0};
    sm_trainjobs_status st =
        sm_trainer_submit(env->trainer, &job, existing, &running, &why);
    json_decref(request);
    if (st == SM_TRAINJOBS_EXISTS)
        return sm_jsonapi_fail(err, SM_SM_IN_USE,
                               "Training job names must be unique within an "
                               "AWS account and region, and a training job "
                               "with this name already exists (%s)",
                               existing);
    if (st == SM_TRAINJOBS_LIMIT)
        return sm_jsonapi_fail(
            err, SM_SM_LIMIT,
            "The account-level service limit 'training job usage' is %zu "
            "Instances, with current utilization of %zu Instances and a "
            "request delta of 1 Instances. sagemagic-local runs at most %zu "
            "training jobs at once (SAGEMAGIC_LOCAL_MAX_TRAINING_JOBS); wait "
            "for one to end or stop one.",
            job.max_running, running, job.max_running);
    if (st != SM_TRAINJOBS_OK)
        return db_failed(&why, err);
    *out = json_pack("{s:s}", "TrainingJobArn", arn);
    return 0;
}

static int not_found(const char *name, sm_http_error *err)
{
    return sm_jsonapi_fail(err, V, "Requested resource not found: Could not "
                                   "find training job '%s'.",
                           name);
}

static int job_name(const json_t *in, const char **name, sm_http_error *err)
{
    return sm_sm_name(in, "TrainingJobName", "TrainingJobName", name, err);
}

static int describe_training_job(sm_local_env *env, const sm_http_request *req,
                                 const json_t *in, json_t **out,
                                 sm_http_error *err)
{
    const char *name = NULL;
    if (job_name(in, &name, err))
        return -1;
    sm_error why = {0};
    sm_trainjobs_status st = sm_trainjobs_describe(env->db, name, out, &why);
    if (st == SM_TRAINJOBS_MISSING)
        return not_found(name, err);
    return st == SM_TRAINJOBS_OK ? 0 : db_failed(&why, err);
}

static int stop_training_job(sm_local_env *env, const sm_http_request *req,
                             const json_t *in, json_t **out,
                             sm_http_error *err)
{
    const char *name = NULL;
    if (job_name(in, &name, err))
        return -1;
    char status[32] = "";
    sm_error why = {0};
    sm_trainjobs_status st =
        sm_trainer_request_stop(env->trainer, name, status, &why);
    if (st == SM_TRAINJOBS_MISSING)
        return not_found(name, err);
    if (st == SM_TRAINJOBS_NOT_RUNNING)
        return sm_jsonapi_fail(err, V,
                               "The request was rejected because the "
                               "training job is in status %s.",
                               status);
    if (st != SM_TRAINJOBS_OK)
        return db_failed(&why, err);
    *out = json_object();
    return 0;
}

static int time_bound(const json_t *in, const char *member, double *out,
                      sm_http_error *err)
{
    int present = 0;
    *out = -1;
    return sm_jsonapi_num(in, member, member, V, out, &present, err);
}

int sm_training_list_query_read(const json_t *in, const char *const *statuses,
                                const char *const *sorts, sm_trainjobs_query *q,
                                sm_http_error *err)
{
    static const char *const orders[] = {"Ascending", "Descending", NULL};
    const char *order = NULL, *token = NULL;
    long long max = 10;
    *q = (sm_trainjobs_query){0};
    if (sm_jsonapi_str(in, "NameContains", "NameContains", 0, &filter_rule,
                       "Member must satisfy regular expression pattern: "
                       "[a-zA-Z0-9\\-]+",
                       V, &q->name_contains, err) ||
        sm_jsonapi_enum(in, "StatusEquals", "StatusEquals", 0, statuses, V,
                        &q->status_equals, err) ||
        sm_jsonapi_enum(in, "SortBy", "SortBy", 0, sorts, V, &q->sort_by,
                        err) ||
        sm_jsonapi_enum(in, "SortOrder", "SortOrder", 0, orders, V, &order,
                        err) ||
        sm_jsonapi_int(in, "MaxResults", "MaxResults", 0, 1, 100, V, &max,
                       err) ||
        sm_jsonapi_str(in, "NextToken", "NextToken", 0, NULL, NULL, V, &token,
                       err) ||
        sm_jsonapi_token_read(token, V, &q->offset, err) ||
        time_bound(in, "CreationTimeAfter", &q->created_after, err) ||
        time_bound(in, "CreationTimeBefore", &q->created_before, err) ||
        time_bound(in, "LastModifiedTimeAfter", &q->modified_after, err) ||
        time_bound(in, "LastModifiedTimeBefore", &q->modified_before, err))
        return -1;
    q->descending = order && !strcmp(order, "Descending");
    q->limit = (size_t)max;
    return 0;
}

static int list_training_jobs(sm_local_env *env, const sm_http_request *req,
                              const json_t *in, json_t **out,
                              sm_http_error *err)
{
    static const char *const statuses[] = {
        "InProgress", "Completed", "Failed", "Stopping",
        "Stopped",    "Deleting",  NULL};
    static const char *const sorts[] = {"Name", "CreationTime", "Status", NULL};
    sm_trainjobs_query q;
    if (sm_training_list_query_read(in, statuses, sorts, &q, err))
        return -1;
    json_t *summaries = NULL;
    int more = 0;
    sm_error why = {0};
    if (sm_trainjobs_list(env->db, &q, &summaries, &more, &why) !=
        SM_TRAINJOBS_OK) {
        json_decref(summaries);
        return db_failed(&why, err);
    }
    *out = json_pack("{s:o}", "TrainingJobSummaries", summaries);
    if (more) {
        char next[32];
        sm_jsonapi_token_make(q.offset + q.limit, next);
        json_object_set_new(*out, "NextToken", json_string(next));
    }
    return 0;
}

static const sm_jsonapi_op training_rows[] = {
    {"CreateTrainingJob", create_training_job},
    {"DescribeTrainingJob", describe_training_job},
    {"ListTrainingJobs", list_training_jobs},
    {"StopTrainingJob", stop_training_job},
};

const sm_jsonapi_ops sm_training_ops = SM_JSONAPI_OPS(training_rows);
