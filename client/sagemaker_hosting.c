/* sagemaker_hosting: model, endpoint config and endpoint requests, and
 * their Describe responses read into typed summaries. */
#include "sagemaker_hosting.h"

#include <stdlib.h>
#include <string.h>

#include "sagemaker_internal.h"

static const char *const container_modes[] = {"SingleModel", "MultiModel",
                                              NULL};

static const sm_awsjson_rule container_image_rule = {1, 255,
                                                     SM_AWSJSON_NO_SPACE};
static const sm_awsjson_map_rule model_environment_rule = {
    100, {0, 1024, SM_AWSJSON_ENV_KEY}, {0, 1024, SM_AWSJSON_TEXT}};

/* Build `member` of `body` from `name` as a name of `kind`. */
static int put_name(json_t *body, sm_sagemaker_kind kind, const char *member,
                    const char *name, sm_error *err)
{
    if (sm_sagemaker_check_name(kind, name, err))
        return -1;
    return sm_awsjson_put_new(body, member, json_string(name), err);
}

/* Return `body`, or NULL after freeing it when rc says building failed. */
static json_t *finish(json_t *body, int rc)
{
    if (rc) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* ---- models ------------------------------------------------------------- */

static int put_container(json_t *body, const sm_sagemaker_model_spec *s,
                         sm_error *err)
{
    json_t *c = sm_sagemaker_object(err);
    int rc = c ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_required(c, "Image", s->image,
                                     &container_image_rule, err);
    if (!rc)
        rc = sm_awsjson_put_str(c, "ModelDataUrl", s->model_data_url,
                                &sm_sagemaker_rule_s3_uri, err);
    if (!rc)
        rc = sm_awsjson_put_map(c, "Environment", s->environment,
                                s->environment_count, &model_environment_rule,
                                err);
    if (!rc)
        rc = sm_awsjson_put_enum(c, "Mode", s->mode, container_modes, err);
    if (rc) {
        json_decref(c);
        return -1;
    }
    return sm_awsjson_put_new(body, "PrimaryContainer", c, err);
}

json_t *sm_sagemaker_create_model_request(const sm_sagemaker_model_spec *spec,
                                          sm_error *err)
{
    json_t *body = sm_sagemaker_object(err);
    int rc = body ? 0 : -1;
    if (!rc)
        rc = put_name(body, SM_SAGEMAKER_MODEL, "ModelName", spec->name, err);
    if (!rc)
        rc = put_container(body, spec, err);
    if (!rc)
        rc = sm_awsjson_put_str(body, "ExecutionRoleArn", spec->role_arn,
                                &sm_sagemaker_rule_role_arn, err);
    if (!rc)
        rc = sm_sagemaker_put_vpc(body, spec->security_group_ids,
                                  spec->security_group_count, spec->subnets,
                                  spec->subnet_count, err);
    if (!rc && spec->network_isolation)
        rc = sm_awsjson_put_bool(body, "EnableNetworkIsolation", 1, err);
    if (!rc)
        rc = sm_sagemaker_put_tags(body, spec->tags, spec->tag_count, err);
    return finish(body, rc);
}

int sm_sagemaker_create_model(sm_aws *aws, const sm_sagemaker_model_spec *spec,
                              char **arn_out, sm_aws_error *err)
{
    sm_error e = {""};
    json_t *request = sm_sagemaker_create_model_request(spec, &e);
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_create_via(&caller, "CreateModel", request, &e,
                                   "ModelArn", arn_out, err);
}

int sm_sagemaker_model_read(json_t *response, sm_sagemaker_model *out)
{
    memset(out, 0, sizeof *out);
    out->raw = response;
    out->name = sm_awsjson_str(response, "ModelName");
    out->arn = sm_awsjson_str(response, "ModelArn");
    out->creation_time = sm_awsjson_num(response, "CreationTime");
    out->role_arn = sm_awsjson_str(response, "ExecutionRoleArn");
    json_t *c = sm_awsjson_get(response, "PrimaryContainer");
    if (!json_is_object(c))
        c = json_array_get(sm_awsjson_array(response, "Containers"), 0);
    out->image = sm_awsjson_str(c, "Image");
    out->model_data_url = sm_awsjson_str(c, "ModelDataUrl");
    return 0;
}

void sm_sagemaker_model_clear(sm_sagemaker_model *self)
{
    if (!self)
        return;
    json_decref(self->raw);
    memset(self, 0, sizeof *self);
}

static int read_model(json_t *response, void *out)
{
    return sm_sagemaker_model_read(response, out);
}

int sm_sagemaker_describe_model(sm_aws *aws, const char *name,
                                sm_sagemaker_model *out, sm_aws_error *err)
{
    memset(out, 0, sizeof *out);
    return sm_sagemaker_describe_into(aws, SM_SAGEMAKER_MODEL, name, read_model,
                                      out, err);
}

/* ---- endpoint configs --------------------------------------------------- */

/* ServerlessConfig; memory in steps of 1 GiB, as the service asks. */
static int put_serverless(json_t *pv, const sm_sagemaker_variant *v,
                          sm_error *err)
{
    if (v->serverless_memory_mb % 1024)
        return sm_error_set(err,
                            "Serverless memory comes in steps of 1024 "
                            "MB, not %d.",
                            v->serverless_memory_mb);
    json_t *sc = sm_sagemaker_object(err);
    int rc = sc ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_int(sc, "MemorySizeInMB", v->serverless_memory_mb,
                                1024, 6144, err);
    if (!rc)
        rc = sm_awsjson_put_int(
            sc, "MaxConcurrency",
            v->serverless_max_concurrency ? v->serverless_max_concurrency : 1,
            1, 200, err);
    if (!rc && v->serverless_provisioned_concurrency)
        rc = sm_awsjson_put_int(sc, "ProvisionedConcurrency",
                                v->serverless_provisioned_concurrency, 1, 200,
                                err);
    if (rc) {
        json_decref(sc);
        return -1;
    }
    return sm_awsjson_put_new(pv, "ServerlessConfig", sc, err);
}

/* Instances or serverless, and the variant's tuning knobs. */
static int put_capacity(json_t *pv, const sm_sagemaker_variant *v,
                        sm_error *err)
{
    int serverless = v->serverless_memory_mb != 0;
    int rc = 0;
    if (serverless && v->instance_type)
        return sm_error_set(err, "A variant is either serverless or runs "
                                 "on instances, not both.");
    if (serverless)
        rc = put_serverless(pv, v, err);
    if (!serverless)
        rc = sm_sagemaker_put_instance_type(pv, "InstanceType",
                                            v->instance_type, err);
    if (!rc && !serverless)
        rc = sm_awsjson_put_int(pv, "InitialInstanceCount",
                                v->instance_count ? v->instance_count : 1, 1, 0,
                                err);
    if (!rc && v->volume_size_gb)
        rc = sm_awsjson_put_int(pv, "VolumeSizeInGB", v->volume_size_gb, 1, 512,
                                err);
    if (!rc && v->model_download_timeout_seconds)
        rc = sm_awsjson_put_int(pv, "ModelDataDownloadTimeoutInSeconds",
                                v->model_download_timeout_seconds, 60, 3600,
                                err);
    if (!rc && v->startup_health_check_timeout_seconds)
        rc = sm_awsjson_put_int(
            pv, "ContainerStartupHealthCheckTimeoutInSeconds",
            v->startup_health_check_timeout_seconds, 60, 3600, err);
    return rc;
}

static json_t *variant(const sm_sagemaker_variant *v, sm_error *err)
{
    static const sm_awsjson_rule variant_rule = {1, 63,
                                                 SM_AWSJSON_RESOURCE_NAME};
    json_t *pv = sm_sagemaker_object(err);
    int rc = pv ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_str(
            pv, "VariantName", v->name ? v->name : SM_SAGEMAKER_DEFAULT_VARIANT,
            &variant_rule, err);
    if (!rc)
        rc = put_name(pv, SM_SAGEMAKER_MODEL, "ModelName", v->model_name, err);
    if (!rc)
        rc = put_capacity(pv, v, err);
    if (!rc && v->weight < 0)
        rc = sm_error_set(err, "A variant's weight cannot be negative.");
    if (!rc)
        rc =
            sm_awsjson_put_new(pv, "InitialVariantWeight",
                               json_real(v->weight > 0 ? v->weight : 1.0), err);
    return finish(pv, rc);
}

static int put_variants(json_t *body,
                        const sm_sagemaker_endpoint_config_spec *s,
                        sm_error *err)
{
    if (!s->variant_count || s->variant_count > 10)
        return sm_error_set(err,
                            "An endpoint config takes 1 to 10 "
                            "production variants, not %zu.",
                            s->variant_count);
    json_t *list = json_array();
    int rc = list ? 0 : sm_error_set(err, "out of memory");
    for (size_t i = 0; !rc && i < s->variant_count; i++) {
        json_t *pv = variant(&s->variants[i], err);
        if (!pv || json_array_append_new(list, pv))
            rc = sm_error_set(err, "out of memory");
        for (size_t j = 0; !rc && j < i; j++)
            if (json_equal(
                    json_object_get(pv, "VariantName"),
                    json_object_get(json_array_get(list, j), "VariantName")))
                rc = sm_error_set(err, "Two variants are named '%s'.",
                                  sm_awsjson_str(pv, "VariantName"));
    }
    if (rc) {
        json_decref(list);
        return -1;
    }
    return sm_awsjson_put_new(body, "ProductionVariants", list, err);
}

json_t *sm_sagemaker_create_endpoint_config_request(
    const sm_sagemaker_endpoint_config_spec *spec, sm_error *err)
{
    json_t *body = sm_sagemaker_object(err);
    int rc = body ? 0 : -1;
    if (!rc)
        rc = put_name(body, SM_SAGEMAKER_ENDPOINT_CONFIG, "EndpointConfigName",
                      spec->name, err);
    if (!rc)
        rc = put_variants(body, spec, err);
    if (!rc)
        rc = sm_awsjson_put_str(body, "KmsKeyId", spec->kms_key_id,
                                &sm_sagemaker_rule_kms_key, err);
    if (!rc)
        rc = sm_sagemaker_put_tags(body, spec->tags, spec->tag_count, err);
    return finish(body, rc);
}

int sm_sagemaker_create_endpoint_config(
    sm_aws *aws, const sm_sagemaker_endpoint_config_spec *spec, char **arn_out,
    sm_aws_error *err)
{
    sm_error e = {""};
    json_t *request = sm_sagemaker_create_endpoint_config_request(spec, &e);
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_create_via(&caller, "CreateEndpointConfig", request, &e,
                                   "EndpointConfigArn", arn_out, err);
}

/* The ProductionVariants of `obj` into a new array; -1 when out of
 * memory. `current` reads an endpoint's (Current*) rather than a config's
 * (Initial*) members. */
static int read_variants(const json_t *obj, int current,
                         sm_sagemaker_variant_info **out, size_t *count)
{
    json_t *list = sm_awsjson_array(obj, "ProductionVariants");
    size_t n = json_array_size(list);
    *out = NULL;
    *count = 0;
    if (!n)
        return 0;
    *out = calloc(n, sizeof **out);
    if (!*out)
        return -1;
    *count = n;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(list, i);
        sm_sagemaker_variant_info *info = &(*out)[i];
        json_t *serverless = sm_awsjson_get(
            v, current ? "CurrentServerlessConfig" : "ServerlessConfig");
        info->name = sm_awsjson_str(v, "VariantName");
        info->model_name = sm_awsjson_str(v, "ModelName");
        info->instance_type = sm_awsjson_str(v, "InstanceType");
        info->instance_count = (int)sm_awsjson_num(
            v, current ? "CurrentInstanceCount" : "InitialInstanceCount");
        info->desired_instance_count =
            (int)sm_awsjson_num(v, "DesiredInstanceCount");
        info->weight = sm_awsjson_num(v, current ? "CurrentWeight"
                                                 : "InitialVariantWeight");
        info->serverless_memory_mb =
            (int)sm_awsjson_num(serverless, "MemorySizeInMB");
        info->serverless_max_concurrency =
            (int)sm_awsjson_num(serverless, "MaxConcurrency");
    }
    return 0;
}

int sm_sagemaker_endpoint_config_read(json_t *response,
                                      sm_sagemaker_endpoint_config *out)
{
    memset(out, 0, sizeof *out);
    out->raw = response;
    out->name = sm_awsjson_str(response, "EndpointConfigName");
    out->arn = sm_awsjson_str(response, "EndpointConfigArn");
    out->creation_time = sm_awsjson_num(response, "CreationTime");
    if (read_variants(response, 0, &out->variants, &out->variant_count)) {
        sm_sagemaker_endpoint_config_clear(out);
        return -1;
    }
    return 0;
}

void sm_sagemaker_endpoint_config_clear(sm_sagemaker_endpoint_config *self)
{
    if (!self)
        return;
    json_decref(self->raw);
    free(self->variants);
    memset(self, 0, sizeof *self);
}

static int read_endpoint_config(json_t *response, void *out)
{
    return sm_sagemaker_endpoint_config_read(response, out);
}

int sm_sagemaker_describe_endpoint_config(sm_aws *aws, const char *name,
                                          sm_sagemaker_endpoint_config *out,
                                          sm_aws_error *err)
{
    memset(out, 0, sizeof *out);
    return sm_sagemaker_describe_into(aws, SM_SAGEMAKER_ENDPOINT_CONFIG, name,
                                      read_endpoint_config, out, err);
}

/* ---- endpoints ---------------------------------------------------------- */

json_t *
sm_sagemaker_create_endpoint_request(const sm_sagemaker_endpoint_spec *spec,
                                     sm_error *err)
{
    json_t *body = sm_sagemaker_object(err);
    int rc = body ? 0 : -1;
    if (!rc)
        rc = put_name(body, SM_SAGEMAKER_ENDPOINT, "EndpointName", spec->name,
                      err);
    if (!rc)
        rc = put_name(body, SM_SAGEMAKER_ENDPOINT_CONFIG, "EndpointConfigName",
                      spec->config_name, err);
    if (!rc)
        rc = sm_sagemaker_put_tags(body, spec->tags, spec->tag_count, err);
    return finish(body, rc);
}

int sm_sagemaker_create_endpoint(sm_aws *aws,
                                 const sm_sagemaker_endpoint_spec *spec,
                                 char **arn_out, sm_aws_error *err)
{
    sm_error e = {""};
    json_t *request = sm_sagemaker_create_endpoint_request(spec, &e);
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_create_via(&caller, "CreateEndpoint", request, &e,
                                   "EndpointArn", arn_out, err);
}

json_t *
sm_sagemaker_update_endpoint_request(const sm_sagemaker_endpoint_update *update,
                                     sm_error *err)
{
    json_t *body = sm_sagemaker_object(err);
    int rc = body ? 0 : -1;
    if (!rc)
        rc = put_name(body, SM_SAGEMAKER_ENDPOINT, "EndpointName", update->name,
                      err);
    if (!rc)
        rc = put_name(body, SM_SAGEMAKER_ENDPOINT_CONFIG, "EndpointConfigName",
                      update->config_name, err);
    if (!rc && update->retain_all_variant_properties)
        rc = sm_awsjson_put_bool(body, "RetainAllVariantProperties", 1, err);
    if (!rc && update->retain_deployment_config)
        rc = sm_awsjson_put_bool(body, "RetainDeploymentConfig", 1, err);
    return finish(body, rc);
}

int sm_sagemaker_update_endpoint(sm_aws *aws,
                                 const sm_sagemaker_endpoint_update *update,
                                 char **arn_out, sm_aws_error *err)
{
    sm_error e = {""};
    json_t *request = sm_sagemaker_update_endpoint_request(update, &e);
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_create_via(&caller, "UpdateEndpoint", request, &e,
                                   "EndpointArn", arn_out, err);
}

int sm_sagemaker_endpoint_read(json_t *response, sm_sagemaker_endpoint *out)
{
    memset(out, 0, sizeof *out);
    out->raw = response;
    sm_sagemaker_state_read(SM_SAGEMAKER_ENDPOINT, response, &out->state);
    out->config_name = sm_awsjson_str(response, "EndpointConfigName");
    if (read_variants(response, 1, &out->variants, &out->variant_count)) {
        sm_sagemaker_endpoint_clear(out);
        return -1;
    }
    return 0;
}

void sm_sagemaker_endpoint_clear(sm_sagemaker_endpoint *self)
{
    if (!self)
        return;
    json_decref(self->raw);
    free(self->variants);
    memset(self, 0, sizeof *self);
}

static int read_endpoint(json_t *response, void *out)
{
    return sm_sagemaker_endpoint_read(response, out);
}

int sm_sagemaker_describe_endpoint(sm_aws *aws, const char *name,
                                   sm_sagemaker_endpoint *out,
                                   sm_aws_error *err)
{
    memset(out, 0, sizeof *out);
    return sm_sagemaker_describe_into(aws, SM_SAGEMAKER_ENDPOINT, name,
                                      read_endpoint, out, err);
}
