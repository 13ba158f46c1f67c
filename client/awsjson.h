/* awsjson: the awsJson 1.1 layer the SageMaker and Logs calls share: the
 * seam a request goes through (the real client, or a fake in tests),
 * request members set with the service model's constraints checked, and
 * response members read leniently. */
#ifndef SM_AWSJSON_H
#define SM_AWSJSON_H

#include <jansson.h>
#include <stddef.h>

#include "aws.h"
#include "error.h"

/* The code a call's error carries when a request was refused before it was
 * sent, because an argument broke the service model's rules. */
#define SM_AWSJSON_INVALID "InvalidParameterValue"

/* ---- the seam --------------------------------------------------------- */

/* Send `request` (borrowed) as `operation` of `service`; return the new
 * response object, or NULL with `err` filled. sm_aws_json_call has this
 * shape; tests pass a fake. */
typedef json_t *(*sm_awsjson_call_fn)(void *ctx, sm_aws_service service,
                                      const char *operation,
                                      const json_t *request, sm_aws_error *err);

typedef struct sm_awsjson_caller {
    sm_awsjson_call_fn call;
    void *ctx;
} sm_awsjson_caller;

/* A caller that sends through `aws` (borrowed; it must outlive the
 * caller). */
sm_awsjson_caller sm_awsjson_caller_aws(sm_aws *aws);

/* Call through `self`. `err` is cleared first; on failure its service and
 * operation are filled in when the callee left them empty. A response that
 * is not a JSON object is an error. Returns the new response or NULL. */
json_t *sm_awsjson_call(const sm_awsjson_caller *self, sm_aws_service service,
                        const char *operation, const json_t *request,
                        sm_aws_error *err);

/* Fill `err` for a request refused before sending: code
 * SM_AWSJSON_INVALID, HTTP status 0, `message` (borrowed) copied. */
void sm_awsjson_refuse(sm_aws_error *err, sm_aws_service service,
                       const char *operation, const char *message);

/* The signing name of `service` as errors show it: "sagemaker", "logs". */
const char *sm_awsjson_service_name(sm_aws_service service);

/* Nonzero when `err` carries the service error code `code`. */
int sm_awsjson_error_is(const sm_aws_error *err, const char *code);

/* ---- setting members, with the model's rules checked ------------------ */

/* What a string member must look like: one row per pattern the SageMaker
 * and Logs models use (their regexes, written out as C). */
typedef enum sm_awsjson_pattern {
    SM_AWSJSON_LINE,          /* .*: anything but line breaks */
    SM_AWSJSON_TEXT,          /* [\S\s]*: anything */
    SM_AWSJSON_NO_SPACE,      /* [\S]+ (container images) */
    SM_AWSJSON_RESOURCE_NAME, /* [a-zA-Z0-9](-*[a-zA-Z0-9])* */
    SM_AWSJSON_NAME_FILTER,   /* [a-zA-Z0-9-]+ (NameContains) */
    SM_AWSJSON_CHANNEL_NAME,  /* [A-Za-z0-9.\-_]+ */
    SM_AWSJSON_S3_URI,        /* (https|s3)://([^/]+)/?(.*) */
    SM_AWSJSON_ROLE_ARN,      /* arn:aws[a-z-]*:iam::\d{12}:role/?[...]+ */
    SM_AWSJSON_KMS_KEY,       /* [a-zA-Z0-9:/_-]* */
    SM_AWSJSON_ENV_KEY,       /* [a-zA-Z_][a-zA-Z0-9_]* */
    SM_AWSJSON_TAG,           /* [\p{L}\p{Z}\p{N}_.:/=+\-@]* */
    SM_AWSJSON_VPC_ID,        /* [-0-9a-zA-Z]+ */
    SM_AWSJSON_LOG_GROUP,     /* [\.\-_/#A-Za-z0-9]+ */
    SM_AWSJSON_LOG_STREAM,    /* [^:*]* */
    SM_AWSJSON_PATTERN_COUNT,
} sm_awsjson_pattern;

/* A string member's rule: lengths in characters (UTF-8 code points), and
 * its pattern. `max` 0 means no maximum. */
typedef struct sm_awsjson_rule {
    size_t min, max;
    sm_awsjson_pattern pattern;
} sm_awsjson_rule;

/* Check `value` against `rule`; 0, or -1 with `err` set to one sentence
 * naming `member`. */
int sm_awsjson_check(const char *member, const char *value,
                     const sm_awsjson_rule *rule, sm_error *err);

/* Each put sets `member` of `obj` and returns 0, or -1 with `err` set (the
 * first error wins) and `obj` unchanged. A NULL string is left out (0);
 * an empty one is checked like any other value. */
int sm_awsjson_put_str(json_t *obj, const char *member, const char *value,
                       const sm_awsjson_rule *rule, sm_error *err);

/* A string member that must be set: NULL or "" is an error saying so. */
int sm_awsjson_put_required(json_t *obj, const char *member, const char *value,
                            const sm_awsjson_rule *rule, sm_error *err);

/* An enum member: `value` matches one of `allowed` (NULL-terminated)
 * without regard to case, and the model's spelling is sent ("line" sends
 * "Line"). NULL is left out. */
int sm_awsjson_put_enum(json_t *obj, const char *member, const char *value,
                        const char *const *allowed, sm_error *err);

/* An integer member within [min, max] (max < min: no maximum). */
int sm_awsjson_put_int(json_t *obj, const char *member, long long value,
                       long long min, long long max, sm_error *err);

int sm_awsjson_put_bool(json_t *obj, const char *member, int value,
                        sm_error *err);

/* A timestamp (awsJson: epoch seconds as a number). */
int sm_awsjson_put_time(json_t *obj, const char *member, double epoch,
                        sm_error *err);

/* A key/value pair (both borrowed). */
typedef struct sm_awsjson_kv {
    const char *key;
    const char *value;
} sm_awsjson_kv;

/* A map member from `count` pairs: at most `max_entries`, each key and
 * value checked, no key twice. count 0 leaves the member out. */
typedef struct sm_awsjson_map_rule {
    size_t max_entries;
    sm_awsjson_rule key, value;
} sm_awsjson_map_rule;

int sm_awsjson_put_map(json_t *obj, const char *member,
                       const sm_awsjson_kv *pairs, size_t count,
                       const sm_awsjson_map_rule *rule, sm_error *err);

/* A list of strings; count 0 leaves it out; count outside [min, max] is
 * an error. */
int sm_awsjson_put_str_list(json_t *obj, const char *member,
                            const char *const *items, size_t count, size_t min,
                            size_t max, const sm_awsjson_rule *rule,
                            sm_error *err);

/* Set `member` to `value`, which it steals; NULL (out of memory) is an
 * error. For structures built by the caller. */
int sm_awsjson_put_new(json_t *obj, const char *member, json_t *value,
                       sm_error *err);

/* ---- reading responses ------------------------------------------------ */

/* The string at `path` ("ModelArtifacts.S3ModelArtifacts": members joined
 * with dots) under `obj`, borrowed; "" when absent or not a string. */
const char *sm_awsjson_str(const json_t *obj, const char *path);

/* The number at `path`; 0 when absent or not a number. */
double sm_awsjson_num(const json_t *obj, const char *path);

/* The value at `path` (borrowed), or NULL. */
json_t *sm_awsjson_get(const json_t *obj, const char *path);

/* Nonzero when the member at `path` is a number. */
int sm_awsjson_has_num(const json_t *obj, const char *path);

/* The array at `path` (borrowed), or NULL. */
json_t *sm_awsjson_array(const json_t *obj, const char *path);

#endif
