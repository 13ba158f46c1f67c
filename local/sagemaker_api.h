/* sagemaker_api: the route for everything signed as "sagemaker". The
 * SageMaker API (awsJson 1.1, POST / with X-Amz-Target "SageMaker.<Op>")
 * is answered by tables of operations that modules contribute; SageMaker
 * Runtime (POST /endpoints/<name>/invocations, REST-JSON, signed as
 * "sagemaker" as well) goes to the runtime handler.
 *
 * Adding operations: a module defines one sm_jsonapi_ops table of rows
 * {"CreateModel", serving_create_model} and names it in `modules[]` in
 * sagemaker_api.c (one row). The tables of modules built by others are
 * declared below as weak symbols, so the route links before they exist
 * and picks them up when they do. */
#ifndef SM_SAGEMAKER_API_H
#define SM_SAGEMAKER_API_H

#include "jsonapi.h"
#include "router.h"

/* The error codes SageMaker answers with (HTTP 400 each). "Not found" for
 * Describe* is ValidationException with "Could not find ..." in the
 * message: the SDK and the waiters key on that. */
#define SM_SM_VALIDATION "ValidationException"
#define SM_SM_IN_USE "ResourceInUse"
#define SM_SM_NOT_FOUND "ResourceNotFound"
#define SM_SM_LIMIT "ResourceLimitExceeded"
#define SM_SM_CONFLICT "ConflictException"

/* ---- the operation tables (rows contributed by modules) ----------------- */

/* training_api.c: CreateTrainingJob, DescribeTrainingJob,
 * ListTrainingJobs, StopTrainingJob. */
extern const sm_jsonapi_ops sm_training_ops;

/* training_api.c: the checks of a CreateTrainingJob request (which a
 * tuning job's trials pass too); *name gets its TrainingJobName
 * (borrowed). 0, or -1 with a ValidationException in `err`. */
int sm_training_check_request(const json_t *in, const char **name,
                              sm_http_error *err);

/* training_api.c: the members of a List* request (NameContains,
 * StatusEquals among `statuses`, SortBy among `sorts`, SortOrder,
 * MaxResults, NextToken, the time bounds) into `q`, strings borrowed
 * from `in`. 0, or -1 with a ValidationException in `err`. */
struct sm_trainjobs_query;
int sm_training_list_query_read(const json_t *in, const char *const *statuses,
                                const char *const *sorts,
                                struct sm_trainjobs_query *q,
                                sm_http_error *err);

/* tuning_api.c: CreateHyperParameterTuningJob,
 * DescribeHyperParameterTuningJob, ListHyperParameterTuningJobs,
 * StopHyperParameterTuningJob, ListTrainingJobsForHyperParameterTuningJob. */
extern const sm_jsonapi_ops sm_tuning_ops;

/* Serving (models, endpoint configs, endpoints) and batch transform:
 * defined by local/serving*.c and local/transform*.c. Weak until then. */
extern const sm_jsonapi_ops sm_serving_ops __attribute__((weak));
extern const sm_jsonapi_ops sm_transform_ops __attribute__((weak));

/* SageMaker Runtime: the plan and handler for /endpoints/... requests,
 * defined by the serving module (local/predict*.c). Weak until then;
 * without them such requests get a JSON 404. */
int sm_runtime_plan(sm_local_env *env, sm_http_request *req,
                    sm_route_body *body, sm_http_error *err)
    __attribute__((weak));
int sm_runtime_handle(sm_local_env *env, sm_http_request *req,
                      sm_http_response *resp, sm_http_error *err)
    __attribute__((weak));

/* ---- the route (router.h) ----------------------------------------------- */

int sm_sagemaker_api_plan(sm_local_env *env, sm_http_request *req,
                          sm_route_body *body, sm_http_error *err);
int sm_sagemaker_api_handle(sm_local_env *env, sm_http_request *req,
                            sm_http_response *resp, sm_http_error *err);
/* "CreateTrainingJob", "InvokeEndpoint", or NULL; for logs. */
const char *sm_sagemaker_api_operation(const sm_http_request *req);

/* Nonzero when `req` is a SageMaker Runtime request (/endpoints/...). */
int sm_sagemaker_api_is_runtime(const sm_http_request *req);

/* ---- helpers for operations --------------------------------------------- */

/* arn:aws:sagemaker:REGION:ACCOUNT:TYPE/name, the name in lower case as
 * SageMaker writes it; `type` is "training-job", "model", "endpoint"...
 * `region` NULL means the service's region. */
void sm_sm_arn(const sm_local_env *env, const char *region, const char *type,
               const char *name, char *out, size_t size);

/* Check a resource name against the model's rule for TrainingJobName,
 * EndpointName, ...: 1-63 characters, [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.
 * `field` names the member ("TrainingJobName"). 0, or -1 with a
 * ValidationException in `err`. */
int sm_sm_name(const json_t *in, const char *member, const char *field,
               const char **out, sm_http_error *err);

#endif
