/* sagemaker_hosting: models, endpoint configs and endpoints, from typed
 * arguments to requests and from Describe responses to typed summaries.
 * Describe, delete, list and wait are the generic ones of sagemaker.h.
 * Conventions as in sagemaker.h. */
#ifndef SM_SAGEMAKER_HOSTING_H
#define SM_SAGEMAKER_HOSTING_H

#include "sagemaker.h"

/* The variant name the SDK gives a single-model endpoint. */
#define SM_SAGEMAKER_DEFAULT_VARIANT "AllTraffic"

/* ---- models ----------------------------------------------------------- */

typedef struct sm_sagemaker_model_spec {
    const char *name;           /* letters, digits, hyphens; up to 63 */
    const char *image;          /* required: the inference image URI */
    const char *model_data_url; /* s3://.../model.tar.gz; NULL: none */
    const char *role_arn;       /* ExecutionRoleArn */
    const sm_sagemaker_kv *environment;
    size_t environment_count;
    const char *mode; /* SingleModel, MultiModel; NULL: left out */
    const char *const *security_group_ids;
    size_t security_group_count;
    const char *const *subnets;
    size_t subnet_count;
    int network_isolation;
    const sm_sagemaker_kv *tags;
    size_t tag_count;
} sm_sagemaker_model_spec;

json_t *sm_sagemaker_create_model_request(const sm_sagemaker_model_spec *spec,
                                          sm_error *err);
int sm_sagemaker_create_model(sm_aws *aws, const sm_sagemaker_model_spec *spec,
                              char **arn_out, sm_aws_error *err);

/* DescribeModel, typed; strings borrow from `raw`. */
typedef struct sm_sagemaker_model {
    json_t *raw;
    const char *name, *arn;
    double creation_time;
    const char *image; /* the primary (or first) container's */
    const char *model_data_url;
    const char *role_arn;
} sm_sagemaker_model;

/* Read a DescribeModel response (stolen). 0. */
int sm_sagemaker_model_read(json_t *response, sm_sagemaker_model *out);
void sm_sagemaker_model_clear(sm_sagemaker_model *self);
int sm_sagemaker_describe_model(sm_aws *aws, const char *name,
                                sm_sagemaker_model *out, sm_aws_error *err);

/* ---- endpoint configs ------------------------------------------------- */

/* One production variant: instances (instance_type) or serverless
 * (serverless_memory_mb), not both. */
typedef struct sm_sagemaker_variant {
    const char *name;       /* NULL: SM_SAGEMAKER_DEFAULT_VARIANT */
    const char *model_name; /* required */
    const char *instance_type;
    int instance_count;                       /* 0: 1 (instances only) */
    double weight;                            /* 0: 1.0 */
    int serverless_memory_mb;                 /* 1024-6144 in steps of 1024 */
    int serverless_max_concurrency;           /* 1-200; 0: 1 */
    int serverless_provisioned_concurrency;   /* 1-200; 0: none */
    int volume_size_gb;                       /* 1-512; 0: none */
    int model_download_timeout_seconds;       /* 60-3600; 0: none */
    int startup_health_check_timeout_seconds; /* 60-3600; 0: none */
} sm_sagemaker_variant;

typedef struct sm_sagemaker_endpoint_config_spec {
    const char *name;
    const sm_sagemaker_variant *variants; /* 1-10 */
    size_t variant_count;
    const char *kms_key_id;
    const sm_sagemaker_kv *tags;
    size_t tag_count;
} sm_sagemaker_endpoint_config_spec;

json_t *sm_sagemaker_create_endpoint_config_request(
    const sm_sagemaker_endpoint_config_spec *spec, sm_error *err);
int sm_sagemaker_create_endpoint_config(
    sm_aws *aws, const sm_sagemaker_endpoint_config_spec *spec, char **arn_out,
    sm_aws_error *err);

/* A variant as DescribeEndpointConfig and DescribeEndpoint tell it. */
typedef struct sm_sagemaker_variant_info {
    const char *name;
    const char *model_name;     /* endpoint configs */
    const char *instance_type;  /* endpoint configs; "" when serverless */
    int instance_count;         /* configs: initial; endpoints: current */
    int desired_instance_count; /* endpoints */
    double weight;              /* configs: initial; endpoints: current */
    int serverless_memory_mb;   /* 0 unless serverless */
    int serverless_max_concurrency;
} sm_sagemaker_variant_info;

/* DescribeEndpointConfig, typed; strings borrow from `raw`, the array is
 * owned. */
typedef struct sm_sagemaker_endpoint_config {
    json_t *raw;
    const char *name, *arn;
    double creation_time;
    sm_sagemaker_variant_info *variants;
    size_t variant_count;
} sm_sagemaker_endpoint_config;

/* Read a DescribeEndpointConfig response (stolen). 0, or -1 when out of
 * memory. */
int sm_sagemaker_endpoint_config_read(json_t *response,
                                      sm_sagemaker_endpoint_config *out);
void sm_sagemaker_endpoint_config_clear(sm_sagemaker_endpoint_config *self);
int sm_sagemaker_describe_endpoint_config(sm_aws *aws, const char *name,
                                          sm_sagemaker_endpoint_config *out,
                                          sm_aws_error *err);

/* ---- endpoints -------------------------------------------------------- */

typedef struct sm_sagemaker_endpoint_spec {
    const char *name;
    const char *config_name;
    const sm_sagemaker_kv *tags;
    size_t tag_count;
} sm_sagemaker_endpoint_spec;

json_t *
sm_sagemaker_create_endpoint_request(const sm_sagemaker_endpoint_spec *spec,
                                     sm_error *err);
int sm_sagemaker_create_endpoint(sm_aws *aws,
                                 const sm_sagemaker_endpoint_spec *spec,
                                 char **arn_out, sm_aws_error *err);

/* UpdateEndpoint: move an endpoint to another config, without downtime
 * (Updating, then InService). */
typedef struct sm_sagemaker_endpoint_update {
    const char *name;
    const char *config_name;
    int retain_all_variant_properties;
    int retain_deployment_config;
} sm_sagemaker_endpoint_update;

json_t *
sm_sagemaker_update_endpoint_request(const sm_sagemaker_endpoint_update *update,
                                     sm_error *err);
int sm_sagemaker_update_endpoint(sm_aws *aws,
                                 const sm_sagemaker_endpoint_update *update,
                                 char **arn_out, sm_aws_error *err);

/* DescribeEndpoint, typed; strings borrow from `raw`, the array is
 * owned. */
typedef struct sm_sagemaker_endpoint {
    json_t *raw;
    sm_sagemaker_state state;
    const char *config_name;
    sm_sagemaker_variant_info *variants;
    size_t variant_count;
} sm_sagemaker_endpoint;

/* Read a DescribeEndpoint response (stolen). 0, or -1 when out of memory. */
int sm_sagemaker_endpoint_read(json_t *response, sm_sagemaker_endpoint *out);
void sm_sagemaker_endpoint_clear(sm_sagemaker_endpoint *self);
int sm_sagemaker_describe_endpoint(sm_aws *aws, const char *name,
                                   sm_sagemaker_endpoint *out,
                                   sm_aws_error *err);

#endif
