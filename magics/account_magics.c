/* account_magics: %whoami (who, where, which backend and bucket) and %image
 * (a built-in algorithm's container image for the region). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_magics.h"
#include "images.h"
#include "render.h"
#include "s3.h"

static void add_row(json_t *rows, json_t *result, const char *label,
                    const char *key, const char *value)
{
    json_array_append_new(rows, json_pack("[s, s]", label, value));
    if (key)
        json_object_set_new(result, key, json_string(value));
}

/* Where calls go: the local service (URL, pid, data dir) or the endpoint. */
static void where_rows(sm_backend *backend, sm_aws *aws, json_t *rows,
                       json_t *result)
{
    char text[512];
    if (!sm_backend_local_url(backend)) {
        add_row(rows, result, "endpoint", "endpoint_url",
                sm_aws_endpoint(aws, SM_AWS_SAGEMAKER));
        return;
    }
    snprintf(text, sizeof text, "%s (pid %ld)", sm_backend_local_url(backend),
             sm_backend_local_pid(backend));
    add_row(rows, result, "endpoint", NULL, text);
    json_object_set_new(result, "endpoint_url",
                        json_string(sm_backend_local_url(backend)));
    json_object_set_new(result, "pid", json_integer(sm_backend_local_pid(backend)));
    add_row(rows, result, "data dir", "data_dir", sm_backend_local_dir(backend));
}

/* The role jobs run as, or how to set one. */
static void role_rows(const char *role, const char *account, json_t *rows,
                      json_t *result)
{
    char text[256];
    if (*role) {
        add_row(rows, result, "role", "role", role);
        return;
    }
    snprintf(text, sizeof text, "not set (%%config role=arn:aws:iam::%s:"
                                "role/NAME)", account);
    add_row(rows, result, "role", NULL, text);
    json_object_set_new(result, "role", json_string(""));
}

int sm_magic_whoami(sm_call *call)
{
    sm_config *config = sm_magics_config(call->m);
    sm_backend *backend = sm_magics_backend(call->m);
    sm_aws_identity id;
    sm_aws_error err = {.http_status = 0};
    char bucket[SM_S3_BUCKET_MAX + 1];
    if (sm_backend_identity(backend, config, call->out, &id, &err) ||
        sm_backend_bucket(backend, config, call->out, 0, bucket, sizeof bucket,
                          &err))
        return sm_call_fail_aws(call, &err);
    sm_aws *aws = sm_backend_client(backend, config, call->out, &err);
    if (!aws)
        return sm_call_fail_aws(call, &err);
    const char *name = sm_config_get(config, "backend");
    const char *role = sm_config_get(config, "role");
    json_t *result = json_object(), *rows = json_array();
    add_row(rows, result, "backend", "backend", name);
    add_row(rows, result, "identity", "arn", id.arn);
    add_row(rows, result, "account", "account", id.account);
    add_row(rows, result, "region", "region", sm_aws_region(aws));
    add_row(rows, result, "bucket", "bucket", bucket);
    add_row(rows, result, "prefix", "prefix", sm_config_get(config, "prefix"));
    where_rows(backend, aws, rows, result);
    role_rows(role, id.account, rows, result);
    json_t *headers = json_pack("[s, s]", "field", "value");
    call->shown = sm_render_table(headers, rows);
    call->result = result;
    json_decref(headers);
    json_decref(rows);
    return 0;
}

int sm_magic_image(sm_call *call)
{
    const char *version = sm_args_get(&call->args, "version");
    const char *region =
        sm_backend_region(sm_magics_backend(call->m), sm_magics_config(call->m));
    sm_error err = {0};
    char *uri = sm_image_uri(call->args.positional[0], region, version, &err);
    if (!uri)
        return sm_error_set(&call->err, "%s", err.message);
    call->result = json_string(uri);
    free(uri);
    return 0;
}
