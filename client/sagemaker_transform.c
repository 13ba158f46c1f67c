/* sagemaker_transform: CreateTransformJob from a typed spec, and
 * DescribeTransformJob read into a typed summary. */
#include "sagemaker_transform.h"

#include <string.h>

#include "sagemaker_internal.h"

static const char *const s3_data_types[] = {
    "S3Prefix", "ManifestFile", "AugmentedManifestFile", "Converse", NULL};
static const char *const compressions[] = {"None", "Gzip", NULL};
static const char *const split_types[] = {"None", "Line", "RecordIO",
                                          "TFRecord", NULL};
static const char *const assembly_types[] = {"None", "Line", NULL};
static const char *const batch_strategies[] = {"MultiRecord", "SingleRecord",
                                               NULL};
static const char *const join_sources[] = {"Input", "None", NULL};

static const sm_awsjson_rule json_path_rule = {0, 63, SM_AWSJSON_TEXT};
static const sm_awsjson_map_rule environment_rule = {
    16, {0, 1024, SM_AWSJSON_ENV_KEY}, {0, 10240, SM_AWSJSON_TEXT}};

static int put_input(json_t *body, const sm_sagemaker_transform_job_spec *s,
                     sm_error *err)
{
    json_t *in = sm_sagemaker_object(err);
    json_t *s3 = sm_sagemaker_object(err);
    int rc = in && s3 ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_enum(s3, "S3DataType",
                                 s->input_data_type ? s->input_data_type
                                                    : "S3Prefix",
                                 s3_data_types, err);
    if (!rc)
        rc = sm_awsjson_put_required(s3, "S3Uri", s->input_uri,
                                     &sm_sagemaker_rule_s3_uri, err);
    if (!rc)
        rc = sm_awsjson_put_new(in, "DataSource",
                                json_pack("{s:O}", "S3DataSource", s3), err);
    if (!rc)
        rc = sm_awsjson_put_str(in, "ContentType", s->content_type,
                                &sm_sagemaker_rule_content_type, err);
    if (!rc)
        rc = sm_awsjson_put_enum(in, "CompressionType", s->compression,
                                 compressions, err);
    if (!rc)
        rc = sm_awsjson_put_enum(in, "SplitType", s->split_type, split_types,
                                 err);
    json_decref(s3);
    return sm_sagemaker_put_built(body, "TransformInput", in, rc, err);
}

static int put_output(json_t *body, const sm_sagemaker_transform_job_spec *s,
                      sm_error *err)
{
    json_t *out = sm_sagemaker_object(err);
    int rc = out ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_required(out, "S3OutputPath", s->output_path,
                                     &sm_sagemaker_rule_s3_uri, err);
    if (!rc)
        rc = sm_awsjson_put_str(out, "Accept", s->accept,
                                &sm_sagemaker_rule_content_type, err);
    if (!rc)
        rc = sm_awsjson_put_enum(out, "AssembleWith", s->assemble_with,
                                 assembly_types, err);
    if (!rc)
        rc = sm_awsjson_put_str(out, "KmsKeyId", s->output_kms_key_id,
                                &sm_sagemaker_rule_kms_key, err);
    return sm_sagemaker_put_built(body, "TransformOutput", out, rc, err);
}

static int put_resources(json_t *body, const sm_sagemaker_transform_job_spec *s,
                         sm_error *err)
{
    json_t *res = sm_sagemaker_object(err);
    int rc = res ? sm_sagemaker_put_instances(res, s->instance_type,
                                              s->instance_count,
                                              s->volume_kms_key_id, err)
                 : -1;
    return sm_sagemaker_put_built(body, "TransformResources", res, rc, err);
}

static int put_client_config(json_t *body,
                             const sm_sagemaker_transform_job_spec *s,
                             sm_error *err)
{
    if (!s->invocation_timeout_seconds && !s->invocation_max_retries)
        return 0;
    json_t *cc = sm_sagemaker_object(err);
    int rc = cc ? 0 : -1;
    if (!rc && s->invocation_timeout_seconds)
        rc = sm_awsjson_put_int(cc, "InvocationsTimeoutInSeconds",
                                s->invocation_timeout_seconds, 1, 3600, err);
    if (!rc && s->invocation_max_retries)
        rc = sm_awsjson_put_int(
            cc, "InvocationsMaxRetries",
            s->invocation_max_retries < 0 ? 0 : s->invocation_max_retries, 0, 3,
            err);
    return sm_sagemaker_put_built(body, "ModelClientConfig", cc, rc, err);
}

static int put_data_processing(json_t *body,
                               const sm_sagemaker_transform_job_spec *s,
                               sm_error *err)
{
    if (!s->input_filter && !s->output_filter && !s->join_source)
        return 0;
    json_t *dp = sm_sagemaker_object(err);
    int rc = dp ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_str(dp, "InputFilter", s->input_filter,
                                &json_path_rule, err);
    if (!rc)
        rc = sm_awsjson_put_str(dp, "OutputFilter", s->output_filter,
                                &json_path_rule, err);
    if (!rc)
        rc = sm_awsjson_put_enum(dp, "JoinSource", s->join_source, join_sources,
                                 err);
    return sm_sagemaker_put_built(body, "DataProcessing", dp, rc, err);
}

static int put_options(json_t *body, const sm_sagemaker_transform_job_spec *s,
                       sm_error *err)
{
    int rc = sm_awsjson_put_enum(body, "BatchStrategy", s->batch_strategy,
                                 batch_strategies, err);
    if (!rc && s->max_concurrent)
        rc = sm_awsjson_put_int(body, "MaxConcurrentTransforms",
                                s->max_concurrent, 1, 0, err);
    if (!rc && s->max_payload_mb)
        rc = sm_awsjson_put_int(body, "MaxPayloadInMB", s->max_payload_mb, 1,
                                100, err);
    if (!rc)
        rc = put_client_config(body, s, err);
    if (!rc)
        rc = sm_awsjson_put_map(body, "Environment", s->environment,
                                s->environment_count, &environment_rule, err);
    if (!rc)
        rc = put_data_processing(body, s, err);
    return rc;
}

json_t *sm_sagemaker_create_transform_job_request(
    const sm_sagemaker_transform_job_spec *spec, sm_error *err)
{
    json_t *body = sm_sagemaker_object(err);
    int rc = body ? 0 : -1;
    if (!rc)
        rc = sm_sagemaker_check_name(SM_SAGEMAKER_TRANSFORM_JOB, spec->name,
                                     err);
    if (!rc)
        rc = sm_awsjson_put_new(body, "TransformJobName",
                                json_string(spec->name), err);
    if (!rc)
        rc = sm_sagemaker_check_name(SM_SAGEMAKER_MODEL, spec->model_name, err);
    if (!rc)
        rc = sm_awsjson_put_new(body, "ModelName",
                                json_string(spec->model_name), err);
    if (!rc)
        rc = put_input(body, spec, err);
    if (!rc)
        rc = put_output(body, spec, err);
    if (!rc)
        rc = put_resources(body, spec, err);
    if (!rc)
        rc = put_options(body, spec, err);
    if (!rc)
        rc = sm_sagemaker_put_tags(body, spec->tags, spec->tag_count, err);
    if (rc) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int sm_sagemaker_create_transform_job(
    sm_aws *aws, const sm_sagemaker_transform_job_spec *spec, char **arn_out,
    sm_aws_error *err)
{
    sm_error e = {""};
    json_t *request = sm_sagemaker_create_transform_job_request(spec, &e);
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_create_via(&caller, "CreateTransformJob", request, &e,
                                   "TransformJobArn", arn_out, err);
}

int sm_sagemaker_transform_job_read(json_t *response,
                                    sm_sagemaker_transform_job *out)
{
    memset(out, 0, sizeof *out);
    out->raw = response;
    sm_sagemaker_state_read(SM_SAGEMAKER_TRANSFORM_JOB, response, &out->state);
    out->model_name = sm_awsjson_str(response, "ModelName");
    out->input_uri = sm_awsjson_str(
        response, "TransformInput.DataSource.S3DataSource.S3Uri");
    out->output_path = sm_awsjson_str(response, "TransformOutput.S3OutputPath");
    out->instance_type =
        sm_awsjson_str(response, "TransformResources.InstanceType");
    out->instance_count =
        (int)sm_awsjson_num(response, "TransformResources.InstanceCount");
    return 0;
}

void sm_sagemaker_transform_job_clear(sm_sagemaker_transform_job *self)
{
    if (!self)
        return;
    json_decref(self->raw);
    memset(self, 0, sizeof *self);
}

static int read_transform_job(json_t *response, void *out)
{
    return sm_sagemaker_transform_job_read(response, out);
}

int sm_sagemaker_describe_transform_job(sm_aws *aws, const char *name,
                                        sm_sagemaker_transform_job *out,
                                        sm_aws_error *err)
{
    memset(out, 0, sizeof *out);
    return sm_sagemaker_describe_into(aws, SM_SAGEMAKER_TRANSFORM_JOB, name,
                                      read_transform_job, out, err);
}
