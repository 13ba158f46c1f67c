/* sagemaker_api: X-Amz-Target to a row of some module's table; runtime
 * paths to the runtime handler. */
#include "sagemaker_api.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define TARGET_PREFIX "SageMaker"

/* The modules that offer SageMaker operations: one row each. */
static const sm_jsonapi_ops *module_table(size_t i)
{
    const sm_jsonapi_ops *modules[] = {
        &sm_training_ops,
        &sm_serving_ops,   /* NULL until local/serving*.c defines it */
        &sm_transform_ops, /* NULL until local/transform*.c defines it */
        &sm_tuning_ops,
    };
    return i < sizeof modules / sizeof modules[0] ? modules[i] : NULL;
}
#define MODULE_COUNT 4

static const sm_jsonapi_op *find_op(const char *name)
{
    const sm_jsonapi_ops *tables[MODULE_COUNT];
    for (size_t i = 0; i < MODULE_COUNT; i++)
        tables[i] = module_table(i);
    return sm_jsonapi_find(tables, MODULE_COUNT, name);
}

int sm_sagemaker_api_is_runtime(const sm_http_request *req)
{
    return req->path && strncmp(req->path, "/endpoints/", 11) == 0;
}

static int runtime_missing(sm_http_error *err)
{
    return sm_http_fail(err, 404, "ValidationException",
                        "sagemagic-local serves no endpoints yet: "
                        "SageMaker Runtime is not built into this binary");
}

/* Every operation's name in the tables, for the unknown-target message. */
static void list_ops(char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t t = 0; t < MODULE_COUNT; t++) {
        const sm_jsonapi_ops *ops = module_table(t);
        for (size_t i = 0; ops && i < ops->count; i++) {
            int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "",
                             ops->rows[i].name);
            if (n < 0 || (size_t)n >= size - used)
                return;
            used += (size_t)n;
        }
    }
}

int sm_sagemaker_api_plan(sm_local_env *env, sm_http_request *req,
                          sm_route_body *body, sm_http_error *err)
{
    if (sm_sagemaker_api_is_runtime(req)) {
        if (!sm_runtime_plan)
            return runtime_missing(err);
        return sm_runtime_plan(env, req, body, err);
    }
    if (sm_jsonapi_plan(req, body, err))
        return -1;
    const char *name = sm_jsonapi_target(req, TARGET_PREFIX);
    if (!find_op(name)) {
        char offered[1024];
        list_ops(offered, sizeof offered);
        const char *target = sm_http_header(req, "x-amz-target");
        return sm_jsonapi_fail(err, "UnknownOperationException",
                               "sagemagic-local does not offer %s (it "
                               "offers SageMaker.%s)",
                               target ? target : "a request without "
                                                 "X-Amz-Target",
                               offered);
    }
    return 0;
}

int sm_sagemaker_api_handle(sm_local_env *env, sm_http_request *req,
                            sm_http_response *resp, sm_http_error *err)
{
    if (sm_sagemaker_api_is_runtime(req)) {
        if (!sm_runtime_handle)
            return runtime_missing(err);
        return sm_runtime_handle(env, req, resp, err);
    }
    const sm_jsonapi_op *op = find_op(sm_jsonapi_target(req, TARGET_PREFIX));
    if (!op)
        return sm_jsonapi_fail(err, "UnknownOperationException",
                               "unknown operation");
    return sm_jsonapi_answer(op, env, req, resp, err);
}

const char *sm_sagemaker_api_operation(const sm_http_request *req)
{
    if (sm_sagemaker_api_is_runtime(req))
        return "InvokeEndpoint";
    return sm_jsonapi_target(req, TARGET_PREFIX);
}

/* ---- helpers ------------------------------------------------------------ */

void sm_sm_arn(const sm_local_env *env, const char *region, const char *type,
               const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "arn:aws:sagemaker:%s:%s:%s/",
                     region && *region ? region : env->region, env->account_id,
                     type);
    for (size_t i = n > 0 ? (size_t)n : 0; name && *name && i + 1 < size;
         i++, name++) {
        out[i] = (char)tolower((unsigned char)*name);
        out[i + 1] = '\0';
    }
}

int sm_sm_name(const json_t *in, const char *member, const char *field,
               const char **out, sm_http_error *err)
{
    static const sm_awsjson_rule rule = {1, 63, SM_AWSJSON_RESOURCE_NAME};
    return sm_jsonapi_str(in, member, field, 1, &rule,
                          "Member must satisfy regular expression pattern: "
                          "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
                          SM_SM_VALIDATION, out, err);
}
