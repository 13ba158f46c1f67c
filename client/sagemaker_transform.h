/* sagemaker_transform: batch transform jobs, from typed arguments to the
 * CreateTransformJob request and from DescribeTransformJob to a typed
 * summary. Stop, list and wait are the generic ones of sagemaker.h.
 * Conventions as in sagemaker.h. */
#ifndef SM_SAGEMAKER_TRANSFORM_H
#define SM_SAGEMAKER_TRANSFORM_H

#include "sagemaker.h"

/* For CSV with XGBoost: split_type "Line", batch_strategy "MultiRecord",
 * assemble_with "Line". Every string borrowed; NULL leaves it out. */
typedef struct sm_sagemaker_transform_job_spec {
    const char *name;
    const char *model_name;
    /* TransformInput */
    const char *input_uri;       /* s3:// prefix or object */
    const char *input_data_type; /* NULL: S3Prefix; ManifestFile, ... */
    const char *content_type;    /* "text/csv" */
    const char *compression;     /* None, Gzip */
    const char *split_type;      /* None, Line, RecordIO, TFRecord */
    /* TransformOutput */
    const char *output_path;   /* results are <output_path>/<input>.out */
    const char *accept;        /* "text/csv" */
    const char *assemble_with; /* None, Line */
    const char *output_kms_key_id;
    /* TransformResources */
    const char *instance_type; /* required: ml.m5.large, ... */
    int instance_count;        /* 0: 1 */
    const char *volume_kms_key_id;
    /* Options */
    const char *batch_strategy;     /* MultiRecord, SingleRecord */
    int max_concurrent;             /* per instance; 0: the service's choice */
    int max_payload_mb;             /* 0: the service's default (6) */
    int invocation_timeout_seconds; /* 1-3600; 0: default */
    int invocation_max_retries;     /* 1-3; 0: default (3); -1: no retries */
    const sm_sagemaker_kv *environment; /* at most 16 */
    size_t environment_count;
    const char *input_filter;  /* JSONPath, e.g. "$[1:]" */
    const char *output_filter; /* JSONPath */
    const char *join_source;   /* None, Input */
    const sm_sagemaker_kv *tags;
    size_t tag_count;
} sm_sagemaker_transform_job_spec;

json_t *sm_sagemaker_create_transform_job_request(
    const sm_sagemaker_transform_job_spec *spec, sm_error *err);
int sm_sagemaker_create_transform_job(
    sm_aws *aws, const sm_sagemaker_transform_job_spec *spec, char **arn_out,
    sm_aws_error *err);

/* DescribeTransformJob, typed; strings borrow from `raw`. */
typedef struct sm_sagemaker_transform_job {
    json_t *raw;
    sm_sagemaker_state state;
    const char *model_name;
    const char *input_uri;
    const char *output_path;
    const char *instance_type;
    int instance_count;
} sm_sagemaker_transform_job;

/* Read a DescribeTransformJob response (stolen). 0. */
int sm_sagemaker_transform_job_read(json_t *response,
                                    sm_sagemaker_transform_job *out);
void sm_sagemaker_transform_job_clear(sm_sagemaker_transform_job *self);
int sm_sagemaker_describe_transform_job(sm_aws *aws, const char *name,
                                        sm_sagemaker_transform_job *out,
                                        sm_aws_error *err);

#endif
