/* sagemaker_training: training job requests (shared with tuning job
 * definitions) and DescribeTrainingJob read into a typed summary. */
#include "sagemaker_training.h"

#include <stdlib.h>
#include <string.h>

#include "sagemaker_internal.h"

static const char *const input_modes[] = {"File", "Pipe", "FastFile", NULL};
static const char *const s3_data_types[] = {
    "S3Prefix", "ManifestFile", "AugmentedManifestFile", "Converse", NULL};
static const char *const distributions[] = {"FullyReplicated", "ShardedByS3Key",
                                            NULL};
static const char *const compressions[] = {"None", "Gzip", NULL};
static const char *const record_wrappers[] = {"None", "RecordIO", NULL};

static const sm_awsjson_rule image_rule = {1, 255, SM_AWSJSON_NO_SPACE};
static const sm_awsjson_rule channel_rule = {1, 64, SM_AWSJSON_CHANNEL_NAME};
static const sm_awsjson_rule metric_name_rule = {1, 255, SM_AWSJSON_LINE};
static const sm_awsjson_rule metric_regex_rule = {1, 500, SM_AWSJSON_LINE};
static const sm_awsjson_rule local_path_rule = {0, 4096, SM_AWSJSON_LINE};
static const sm_awsjson_map_rule hyperparameter_rule = {
    100, {0, 256, SM_AWSJSON_LINE}, {0, 2500, SM_AWSJSON_LINE}};
static const sm_awsjson_map_rule environment_rule = {
    100, {0, 512, SM_AWSJSON_ENV_KEY}, {0, 512, SM_AWSJSON_TEXT}};
static const sm_awsjson_map_rule tuning_environment_rule = {
    48, {0, 512, SM_AWSJSON_ENV_KEY}, {0, 512, SM_AWSJSON_TEXT}};

static int put_metric_definitions(json_t *spec,
                                  const sm_sagemaker_training_def *d,
                                  sm_error *err)
{
    if (!d->metric_count)
        return 0;
    if (d->metric_count > 40)
        return sm_error_set(err,
                            "MetricDefinitions has %zu entries; at "
                            "most 40 are allowed.",
                            d->metric_count);
    json_t *list = json_array();
    int rc = list ? 0 : sm_error_set(err, "out of memory");
    for (size_t i = 0; !rc && i < d->metric_count; i++) {
        json_t *m = sm_sagemaker_object(err);
        rc = m ? 0 : -1;
        if (!rc)
            rc = sm_awsjson_put_required(m, "Name", d->metrics[i].name,
                                         &metric_name_rule, err);
        if (!rc)
            rc = sm_awsjson_put_required(m, "Regex", d->metrics[i].regex,
                                         &metric_regex_rule, err);
        if (!rc && json_array_append(list, m))
            rc = sm_error_set(err, "out of memory");
        json_decref(m);
    }
    return sm_sagemaker_put_built(spec, "MetricDefinitions", list, rc, err);
}

static int put_algorithm(json_t *obj, const sm_sagemaker_training_def *d,
                         sm_error *err)
{
    json_t *spec = sm_sagemaker_object(err);
    int rc = spec ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_required(spec, "TrainingImage", d->image,
                                     &image_rule, err);
    if (!rc)
        rc = sm_awsjson_put_enum(spec, "TrainingInputMode",
                                 d->input_mode ? d->input_mode : "File",
                                 input_modes, err);
    if (!rc)
        rc = put_metric_definitions(spec, d, err);
    return sm_sagemaker_put_built(obj, "AlgorithmSpecification", spec, rc, err);
}

static json_t *channel(const sm_sagemaker_channel *c, sm_error *err)
{
    json_t *ch = sm_sagemaker_object(err);
    json_t *s3 = sm_sagemaker_object(err);
    int rc = ch && s3 ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_required(ch, "ChannelName", c->name, &channel_rule,
                                     err);
    if (!rc)
        rc = sm_awsjson_put_enum(s3, "S3DataType",
                                 c->s3_data_type ? c->s3_data_type : "S3Prefix",
                                 s3_data_types, err);
    if (!rc)
        rc = sm_awsjson_put_required(s3, "S3Uri", c->s3_uri,
                                     &sm_sagemaker_rule_s3_uri, err);
    if (!rc)
        rc = sm_awsjson_put_enum(s3, "S3DataDistributionType", c->distribution,
                                 distributions, err);
    if (!rc) {
        json_t *source = json_pack("{s:O}", "S3DataSource", s3);
        rc = sm_awsjson_put_new(ch, "DataSource", source, err);
    }
    if (!rc)
        rc = sm_awsjson_put_str(ch, "ContentType", c->content_type,
                                &sm_sagemaker_rule_content_type, err);
    if (!rc)
        rc = sm_awsjson_put_enum(ch, "CompressionType", c->compression,
                                 compressions, err);
    if (!rc)
        rc = sm_awsjson_put_enum(ch, "RecordWrapperType", c->record_wrapper,
                                 record_wrappers, err);
    if (!rc)
        rc = sm_awsjson_put_enum(ch, "InputMode", c->input_mode, input_modes,
                                 err);
    json_decref(s3);
    if (rc) {
        json_decref(ch);
        return NULL;
    }
    return ch;
}

/* No channel name twice. */
static int check_channel_names(const sm_sagemaker_training_def *d,
                               sm_error *err)
{
    for (size_t i = 0; i < d->channel_count; i++)
        for (size_t j = 0; j < i; j++)
            if (d->channels[i].name && d->channels[j].name &&
                strcmp(d->channels[i].name, d->channels[j].name) == 0)
                return sm_error_set(err, "The channel '%s' is given twice.",
                                    d->channels[i].name);
    return 0;
}

static int put_channels(json_t *obj, const sm_sagemaker_training_def *d,
                        sm_error *err)
{
    if (!d->channel_count)
        return 0;
    if (d->channel_count > 20)
        return sm_error_set(err,
                            "A training job takes at most 20 input "
                            "channels, not %zu.",
                            d->channel_count);
    if (check_channel_names(d, err))
        return -1;
    json_t *list = json_array();
    int rc = list ? 0 : sm_error_set(err, "out of memory");
    for (size_t i = 0; !rc && i < d->channel_count; i++) {
        json_t *ch = channel(&d->channels[i], err);
        if (!ch || json_array_append_new(list, ch))
            rc = sm_error_set(err, "out of memory");
    }
    return sm_sagemaker_put_built(obj, "InputDataConfig", list, rc, err);
}

static int put_output(json_t *obj, const sm_sagemaker_training_def *d,
                      sm_error *err)
{
    json_t *out = sm_sagemaker_object(err);
    int rc = out ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_required(out, "S3OutputPath", d->output_path,
                                     &sm_sagemaker_rule_s3_uri, err);
    if (!rc)
        rc = sm_awsjson_put_str(out, "KmsKeyId", d->output_kms_key_id,
                                &sm_sagemaker_rule_kms_key, err);
    return sm_sagemaker_put_built(obj, "OutputDataConfig", out, rc, err);
}

static int put_resources(json_t *obj, const sm_sagemaker_resources *r,
                         sm_error *err)
{
    json_t *res = sm_sagemaker_object(err);
    int rc = res ? sm_sagemaker_put_instances(res, r->instance_type,
                                              r->instance_count,
                                              r->volume_kms_key_id, err)
                 : -1;
    if (!rc)
        rc = sm_awsjson_put_int(res, "VolumeSizeInGB",
                                r->volume_size_gb
                                    ? r->volume_size_gb
                                    : SM_SAGEMAKER_DEFAULT_VOLUME_GB,
                                1, 0, err);
    if (!rc && r->keep_alive_seconds)
        rc = sm_awsjson_put_int(res, "KeepAlivePeriodInSeconds",
                                r->keep_alive_seconds, 1, 21600, err);
    return sm_sagemaker_put_built(obj, "ResourceConfig", res, rc, err);
}

static int put_stopping(json_t *obj, const sm_sagemaker_training_def *d,
                        sm_error *err)
{
    long runtime = d->max_runtime_seconds ? d->max_runtime_seconds
                                          : SM_SAGEMAKER_DEFAULT_MAX_RUNTIME;
    long wait = d->max_wait_seconds ? d->max_wait_seconds : runtime;
    if (d->max_wait_seconds && !d->spot)
        return sm_error_set(err, "MaxWaitTimeInSeconds applies only to "
                                 "managed spot training.");
    if (d->spot && wait < runtime)
        return sm_error_set(err,
                            "MaxWaitTimeInSeconds (%ld) must be at least "
                            "MaxRuntimeInSeconds (%ld).",
                            wait, runtime);
    json_t *stop = sm_sagemaker_object(err);
    int rc = stop ? 0 : -1;
    if (!rc)
        rc =
            sm_awsjson_put_int(stop, "MaxRuntimeInSeconds", runtime, 1, 0, err);
    if (!rc && d->spot)
        rc = sm_awsjson_put_int(stop, "MaxWaitTimeInSeconds", wait, 1, 0, err);
    return sm_sagemaker_put_built(obj, "StoppingCondition", stop, rc, err);
}

static int put_checkpoint(json_t *obj, const sm_sagemaker_training_def *d,
                          sm_error *err)
{
    if (!d->checkpoint_s3_uri && !d->checkpoint_local_path)
        return 0;
    json_t *cp = sm_sagemaker_object(err);
    int rc = cp ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_required(cp, "S3Uri", d->checkpoint_s3_uri,
                                     &sm_sagemaker_rule_s3_uri, err);
    if (!rc)
        rc = sm_awsjson_put_str(cp, "LocalPath", d->checkpoint_local_path,
                                &local_path_rule, err);
    return sm_sagemaker_put_built(obj, "CheckpointConfig", cp, rc, err);
}

static int put_options(json_t *obj, const sm_sagemaker_training_def *d,
                       sm_error *err)
{
    int rc = 0;
    if (d->spot)
        rc = sm_awsjson_put_bool(obj, "EnableManagedSpotTraining", 1, err);
    if (!rc)
        rc = put_checkpoint(obj, d, err);
    if (!rc && d->max_retry_attempts) {
        json_t *retry = sm_sagemaker_object(err);
        rc = retry ? sm_awsjson_put_int(retry, "MaximumRetryAttempts",
                                        d->max_retry_attempts, 1, 30, err)
                   : -1;
        rc = sm_sagemaker_put_built(obj, "RetryStrategy", retry, rc, err);
    }
    if (!rc)
        rc = sm_sagemaker_put_vpc(obj, d->security_group_ids,
                                  d->security_group_count, d->subnets,
                                  d->subnet_count, err);
    if (!rc && d->network_isolation)
        rc = sm_awsjson_put_bool(obj, "EnableNetworkIsolation", 1, err);
    if (!rc && d->inter_container_encryption)
        rc = sm_awsjson_put_bool(obj, "EnableInterContainerTrafficEncryption",
                                 1, err);
    return rc;
}

int sm_sagemaker_put_training_def(json_t *obj,
                                  const sm_sagemaker_training_def *d,
                                  int tuning, sm_error *err)
{
    int rc = put_algorithm(obj, d, err);
    if (!rc)
        rc = sm_awsjson_put_required(obj, "RoleArn", d->role_arn,
                                     &sm_sagemaker_rule_role_arn, err);
    if (!rc)
        rc = put_channels(obj, d, err);
    if (!rc)
        rc = put_output(obj, d, err);
    if (!rc)
        rc = put_resources(obj, &d->resources, err);
    if (!rc)
        rc = put_stopping(obj, d, err);
    if (!rc)
        rc = sm_awsjson_put_map(
            obj, tuning ? "StaticHyperParameters" : "HyperParameters",
            d->hyperparameters, d->hyperparameter_count, &hyperparameter_rule,
            err);
    if (!rc)
        rc = sm_awsjson_put_map(
            obj, "Environment", d->environment, d->environment_count,
            tuning ? &tuning_environment_rule : &environment_rule, err);
    if (!rc)
        rc = put_options(obj, d, err);
    return rc;
}

json_t *sm_sagemaker_create_training_job_request(
    const sm_sagemaker_training_job_spec *spec, sm_error *err)
{
    json_t *body = sm_sagemaker_object(err);
    int rc = body ? 0 : -1;
    if (!rc &&
        sm_sagemaker_check_name(SM_SAGEMAKER_TRAINING_JOB, spec->name, err))
        rc = -1;
    if (!rc)
        rc = sm_awsjson_put_new(body, "TrainingJobName",
                                json_string(spec->name), err);
    if (!rc)
        rc = sm_sagemaker_put_training_def(body, &spec->training, 0, err);
    if (!rc)
        rc = sm_sagemaker_put_tags(body, spec->tags, spec->tag_count, err);
    if (rc) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int sm_sagemaker_create_training_job(sm_aws *aws,
                                     const sm_sagemaker_training_job_spec *spec,
                                     char **arn_out, sm_aws_error *err)
{
    sm_error e = {""};
    json_t *request = sm_sagemaker_create_training_job_request(spec, &e);
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_create_via(&caller, "CreateTrainingJob", request, &e,
                                   "TrainingJobArn", arn_out, err);
}

/* ---- DescribeTrainingJob ------------------------------------------------ */

void sm_sagemaker_training_job_clear(sm_sagemaker_training_job *self)
{
    if (!self)
        return;
    json_decref(self->raw);
    free(self->metrics);
    free(self->transitions);
    memset(self, 0, sizeof *self);
}

static int read_metrics(sm_sagemaker_training_job *out)
{
    json_t *list = sm_awsjson_array(out->raw, "FinalMetricDataList");
    size_t n = json_array_size(list);
    if (!n)
        return 0;
    out->metrics = calloc(n, sizeof *out->metrics);
    if (!out->metrics)
        return -1;
    out->metric_count = n;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(list, i);
        out->metrics[i].name = sm_awsjson_str(m, "MetricName");
        out->metrics[i].value = sm_awsjson_num(m, "Value");
        out->metrics[i].timestamp = sm_awsjson_num(m, "Timestamp");
    }
    return 0;
}

static int read_transitions(sm_sagemaker_training_job *out)
{
    json_t *list = sm_awsjson_array(out->raw, "SecondaryStatusTransitions");
    size_t n = json_array_size(list);
    if (!n)
        return 0;
    out->transitions = calloc(n, sizeof *out->transitions);
    if (!out->transitions)
        return -1;
    out->transition_count = n;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(list, i);
        out->transitions[i].status = sm_awsjson_str(t, "Status");
        out->transitions[i].message = sm_awsjson_str(t, "StatusMessage");
        out->transitions[i].start_time = sm_awsjson_num(t, "StartTime");
        out->transitions[i].end_time = sm_awsjson_num(t, "EndTime");
    }
    return 0;
}

int sm_sagemaker_training_job_read(json_t *response,
                                   sm_sagemaker_training_job *out)
{
    memset(out, 0, sizeof *out);
    out->raw = response;
    sm_sagemaker_state_read(SM_SAGEMAKER_TRAINING_JOB, response, &out->state);
    out->model_artifacts =
        sm_awsjson_str(response, "ModelArtifacts.S3ModelArtifacts");
    out->image =
        sm_awsjson_str(response, "AlgorithmSpecification.TrainingImage");
    out->instance_type =
        sm_awsjson_str(response, "ResourceConfig.InstanceType");
    out->instance_count =
        (int)sm_awsjson_num(response, "ResourceConfig.InstanceCount");
    out->output_path =
        sm_awsjson_str(response, "OutputDataConfig.S3OutputPath");
    out->tuning_job_arn = sm_awsjson_str(response, "TuningJobArn");
    out->training_seconds = sm_awsjson_num(response, "TrainingTimeInSeconds");
    out->billable_seconds = sm_awsjson_num(response, "BillableTimeInSeconds");
    if (read_metrics(out) || read_transitions(out)) {
        sm_sagemaker_training_job_clear(out);
        return -1;
    }
    return 0;
}

static int read_training_job(json_t *response, void *out)
{
    return sm_sagemaker_training_job_read(response, out);
}

int sm_sagemaker_describe_training_job(sm_aws *aws, const char *name,
                                       sm_sagemaker_training_job *out,
                                       sm_aws_error *err)
{
    memset(out, 0, sizeof *out);
    return sm_sagemaker_describe_into(aws, SM_SAGEMAKER_TRAINING_JOB, name,
                                      read_training_job, out, err);
}
