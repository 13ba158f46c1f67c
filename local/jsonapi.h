/* jsonapi: the awsJson 1.1 plumbing the local SageMaker and Logs routes
 * share: POST / with the operation named by X-Amz-Target
 * ("SageMaker.CreateTrainingJob"), a JSON object in and out, tables of
 * operations, errors as {"__type", "message"}, and the checks on request
 * members worded as the services word them ("1 validation error
 * detected: Value 'x' at 'trainingJobName' failed to satisfy
 * constraint: ..."). */
#ifndef SM_JSONAPI_H
#define SM_JSONAPI_H

#include <jansson.h>
#include <stddef.h>

#include "awsjson.h"
#include "router.h"

/* One operation. `in` is the request object (borrowed); on success set
 * *out to the new response object ({} when the operation answers
 * nothing) and return 0; else return -1 with `err` filled (see
 * sm_jsonapi_fail). */
typedef int (*sm_jsonapi_fn)(sm_local_env *env, const sm_http_request *req,
                             const json_t *in, json_t **out,
                             sm_http_error *err);

typedef struct sm_jsonapi_op {
    const char *name; /* "CreateTrainingJob" */
    sm_jsonapi_fn run;
} sm_jsonapi_op;

/* A module's rows. */
typedef struct sm_jsonapi_ops {
    const sm_jsonapi_op *rows;
    size_t count;
} sm_jsonapi_ops;

#define SM_JSONAPI_OPS(rows) {(rows), sizeof(rows) / sizeof((rows)[0])}

#define SM_JSONAPI_MAX_BODY (8u << 20) /* bytes of request JSON */

/* The route's plan for an awsJson request: POST, a body in memory up to
 * SM_JSONAPI_MAX_BODY. 0, or -1 with `err`. */
int sm_jsonapi_plan(sm_http_request *req, sm_route_body *body,
                    sm_http_error *err);

/* The operation X-Amz-Target names after `prefix` ("SageMaker"), as a
 * pointer into the header (borrowed), or NULL when it names none. */
const char *sm_jsonapi_target(const sm_http_request *req, const char *prefix);

/* The row named `name` among `count` tables (NULL tables are skipped),
 * or NULL. */
const sm_jsonapi_op *sm_jsonapi_find(const sm_jsonapi_ops *const *tables,
                                     size_t count, const char *name);

/* Read the request body as a JSON object (an empty body is {}), run `op`
 * and write its answer into `resp`. 0, or -1 with `err`. */
int sm_jsonapi_answer(const sm_jsonapi_op *op, sm_local_env *env,
                      sm_http_request *req, sm_http_response *resp,
                      sm_http_error *err);

/* ---- errors ------------------------------------------------------------- */

/* Fill `err` with HTTP 400 and `code` unless it holds an error already.
 * Returns -1. */
int sm_jsonapi_fail(sm_http_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A ValidationException in the services' words: "1 validation error
 * detected: Value 'v' at 'field' failed to satisfy constraint: Member
 * must ...". `value` NULL writes "Value null". `field` is the member's
 * path as the request names it ("OutputDataConfig.S3OutputPath"); the
 * message names it in camel case as AWS does. `code` is the error code:
 * "ValidationException" for SageMaker, "InvalidParameterException" for
 * Logs. Returns -1. */
int sm_jsonapi_invalid(sm_http_error *err, const char *code,
                       const char *field, const char *value,
                       const char *constraint);

/* ---- reading members ---------------------------------------------------- */

/* Member readers for request objects. Each returns 0 (with *out set, or
 * left alone when the member is absent and not required) or -1 with `err`
 * set (`code` as for sm_jsonapi_invalid): a required member missing, a
 * member of the wrong JSON type, or (for strings with a rule) one that
 * breaks the model's length or pattern. `field` is the path for
 * messages; `member` the key in `obj`. */
int sm_jsonapi_str(const json_t *obj, const char *member, const char *field,
                   int required, const sm_awsjson_rule *rule,
                   const char *constraint, const char *code, const char **out,
                   sm_http_error *err);

/* A string one of `allowed` (NULL-terminated; exact case as AWS wants). */
int sm_jsonapi_enum(const json_t *obj, const char *member, const char *field,
                    int required, const char *const *allowed, const char *code,
                    const char **out, sm_http_error *err);

/* An integer within [min, max]. */
int sm_jsonapi_int(const json_t *obj, const char *member, const char *field,
                   int required, long long min, long long max,
                   const char *code, long long *out, sm_http_error *err);

/* A number (awsJson timestamps are epoch seconds, maybe fractional). */
int sm_jsonapi_num(const json_t *obj, const char *member, const char *field,
                   const char *code, double *out, int *present,
                   sm_http_error *err);

/* A boolean. */
int sm_jsonapi_bool(const json_t *obj, const char *member, const char *field,
                    const char *code, int *out, sm_http_error *err);

/* An object (required or not); *out borrowed, NULL when absent. */
int sm_jsonapi_obj(const json_t *obj, const char *member, const char *field,
                   int required, const char *code, const json_t **out,
                   sm_http_error *err);

/* ---- answering ---------------------------------------------------------- */

/* A timestamp as awsJson sends it (epoch seconds, a JSON number). New. */
json_t *sm_jsonapi_time(double epoch);

/* Seconds since the epoch, with milliseconds. */
double sm_jsonapi_now(void);

/* Page tokens for List operations: the offset of the next item, made
 * opaque. sm_jsonapi_token_read gives 0 for NULL, and -1 (with `err`) for
 * a token it did not make. */
void sm_jsonapi_token_make(size_t offset, char out[32]);
int sm_jsonapi_token_read(const char *token, const char *code, size_t *offset,
                          sm_http_error *err);

#endif
