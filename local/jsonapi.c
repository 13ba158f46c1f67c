/* jsonapi: awsJson 1.1 requests in, JSON objects out, and the services'
 * way of saying what was wrong with a member. */
#include "jsonapi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "utf8.h"

#define JSON_CONTENT_TYPE "application/x-amz-json-1.1"

int sm_jsonapi_plan(sm_http_request *req, sm_route_body *body,
                    sm_http_error *err)
{
    *body = (sm_route_body){
        .limit = SM_JSONAPI_MAX_BODY,
        .too_large_status = 413,
        .too_large_code = "SerializationException",
        .too_large_message = "The request body is too large.",
    };
    if (strcmp(req->method, "POST") != 0)
        return sm_http_fail(err, 404, "UnknownOperationException",
                            "awsJson operations are POST / requests "
                            "named by X-Amz-Target");
    return 0;
}

const char *sm_jsonapi_target(const sm_http_request *req, const char *prefix)
{
    const char *target = sm_http_header(req, "x-amz-target");
    size_t n = strlen(prefix);
    if (!target || strncmp(target, prefix, n) != 0 || target[n] != '.' ||
        !target[n + 1])
        return NULL;
    return target + n + 1;
}

const sm_jsonapi_op *sm_jsonapi_find(const sm_jsonapi_ops *const *tables,
                                     size_t count, const char *name)
{
    for (size_t t = 0; name && t < count; t++) {
        if (!tables[t])
            continue;
        for (size_t i = 0; i < tables[t]->count; i++)
            if (strcmp(tables[t]->rows[i].name, name) == 0)
                return &tables[t]->rows[i];
    }
    return NULL;
}

int sm_jsonapi_answer(const sm_jsonapi_op *op, sm_local_env *env,
                      sm_http_request *req, sm_http_response *resp,
                      sm_http_error *err)
{
    json_t *in = NULL, *out = NULL;
    if (req->body_len == 0) {
        in = json_object();
    } else {
        json_error_t jerr;
        in = json_loadb(req->body, req->body_len, 0, &jerr);
        if (!in || !json_is_object(in)) {
            json_decref(in);
            return sm_jsonapi_fail(err, "SerializationException",
                                   "The request body is not a JSON object%s%s",
                                   in ? "" : ": ", in ? "" : jerr.text);
        }
    }
    if (!in)
        return sm_http_fail(err, 500, "InternalFailure", "out of memory");
    int rc = op->run(env, req, in, &out, err);
    json_decref(in);
    if (rc) {
        json_decref(out);
        if (!err->status)
            sm_http_fail(err, 500, "InternalFailure",
                         "%s failed without saying why", op->name);
        return -1;
    }
    char *text = out ? json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15))
                     : strdup("{}");
    json_decref(out);
    if (!text || sm_buf_puts(&resp->body, text)) {
        free(text);
        return sm_http_fail(err, 500, "InternalFailure", "out of memory");
    }
    free(text);
    resp->status = 200;
    return sm_http_response_header(resp, "Content-Type", JSON_CONTENT_TYPE);
}

/* ---- errors ------------------------------------------------------------- */

int sm_jsonapi_fail(sm_http_error *err, const char *code, const char *fmt, ...)
{
    if (err->status)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    char message[sizeof err->message];
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return sm_http_fail(err, 400, code, "%s", message);
}

/* "OutputDataConfig.S3OutputPath" as AWS names it in messages:
 * "outputDataConfig.s3OutputPath". */
static void camel_path(const char *field, char *out, size_t size)
{
    size_t n = 0;
    int segment_start = 1;
    for (const char *p = field; *p && n + 1 < size; p++) {
        char c = *p;
        if (segment_start && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        segment_start = c == '.';
        out[n++] = c;
    }
    out[n] = '\0';
}

int sm_jsonapi_invalid(sm_http_error *err, const char *code,
                       const char *field, const char *value,
                       const char *constraint)
{
    char path[256];
    camel_path(field, path, sizeof path);
    if (!value)
        return sm_jsonapi_fail(err, code,
                               "1 validation error detected: Value null at "
                               "'%s' failed to satisfy constraint: %s",
                               path, constraint);
    return sm_jsonapi_fail(err, code,
                           "1 validation error detected: Value '%.200s' at "
                           "'%s' failed to satisfy constraint: %s",
                           value, path, constraint);
}

static int wrong_type(sm_http_error *err, const char *field, const char *want)
{
    char path[256];
    camel_path(field, path, sizeof path);
    return sm_jsonapi_fail(err, "SerializationException",
                           "The value at '%s' must be %s.", path, want);
}

/* ---- reading members ---------------------------------------------------- */

static int missing(sm_http_error *err, const char *code, const char *field)
{
    return sm_jsonapi_invalid(err, code, field, NULL,
                              "Member must not be null");
}

int sm_jsonapi_str(const json_t *obj, const char *member, const char *field,
                   int required, const sm_awsjson_rule *rule,
                   const char *constraint, const char *code, const char **out,
                   sm_http_error *err)
{
    json_t *v = json_object_get(obj, member);
    if (!v || json_is_null(v))
        return required ? missing(err, code, field) : 0;
    if (!json_is_string(v))
        return wrong_type(err, field, "a string");
    const char *s = json_string_value(v);
    if (rule) {
        sm_error why = {0};
        if (sm_awsjson_check(field, s, rule, &why)) {
            char text[96];
            size_t chars = sm_utf8_cp_count(s, strlen(s));
            if (chars < rule->min)
                snprintf(text, sizeof text,
                         "Member must have length greater than or equal "
                         "to %zu",
                         rule->min);
            else if (rule->max && chars > rule->max)
                snprintf(text, sizeof text,
                         "Member must have length less than or equal to %zu",
                         rule->max);
            else
                text[0] = '\0';
            return sm_jsonapi_invalid(err, code, field, s,
                                      text[0] ? text : constraint);
        }
    }
    *out = s;
    return 0;
}

int sm_jsonapi_enum(const json_t *obj, const char *member, const char *field,
                    int required, const char *const *allowed, const char *code,
                    const char **out, sm_http_error *err)
{
    const char *s = NULL;
    if (sm_jsonapi_str(obj, member, field, required, NULL, NULL, code, &s,
                       err))
        return -1;
    if (!s)
        return 0;
    char set[512] = "";
    size_t used = 0;
    for (size_t i = 0; allowed[i]; i++) {
        if (strcmp(s, allowed[i]) == 0) {
            *out = allowed[i];
            return 0;
        }
        int n = snprintf(set + used, sizeof set - used, "%s%s",
                         i ? ", " : "", allowed[i]);
        if (n > 0 && (size_t)n < sizeof set - used)
            used += (size_t)n;
    }
    char constraint[600];
    snprintf(constraint, sizeof constraint,
             "Member must satisfy enum value set: [%s]", set);
    return sm_jsonapi_invalid(err, code, field, s, constraint);
}

int sm_jsonapi_int(const json_t *obj, const char *member, const char *field,
                   int required, long long min, long long max,
                   const char *code, long long *out, sm_http_error *err)
{
    json_t *v = json_object_get(obj, member);
    if (!v || json_is_null(v))
        return required ? missing(err, code, field) : 0;
    if (!json_is_integer(v))
        return wrong_type(err, field, "an integer");
    long long n = json_integer_value(v);
    char value[32], constraint[96];
    snprintf(value, sizeof value, "%lld", n);
    if (n < min) {
        snprintf(constraint, sizeof constraint,
                 "Member must have value greater than or equal to %lld", min);
        return sm_jsonapi_invalid(err, code, field, value, constraint);
    }
    if (max >= min && n > max) {
        snprintf(constraint, sizeof constraint,
                 "Member must have value less than or equal to %lld", max);
        return sm_jsonapi_invalid(err, code, field, value, constraint);
    }
    *out = n;
    return 0;
}

int sm_jsonapi_num(const json_t *obj, const char *member, const char *field,
                   const char *code, double *out, int *present,
                   sm_http_error *err)
{
    json_t *v = json_object_get(obj, member);
    if (present)
        *present = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return wrong_type(err, field, "a number");
    *out = json_number_value(v);
    if (present)
        *present = 1;
    return 0;
}

int sm_jsonapi_bool(const json_t *obj, const char *member, const char *field,
                    const char *code, int *out, sm_http_error *err)
{
    json_t *v = json_object_get(obj, member);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return wrong_type(err, field, "true or false");
    *out = json_is_true(v);
    return 0;
}

int sm_jsonapi_obj(const json_t *obj, const char *member, const char *field,
                   int required, const char *code, const json_t **out,
                   sm_http_error *err)
{
    json_t *v = json_object_get(obj, member);
    if (!v || json_is_null(v))
        return required ? missing(err, code, field) : 0;
    if (!json_is_object(v))
        return wrong_type(err, field, "an object");
    *out = v;
    return 0;
}

/* ---- answering ---------------------------------------------------------- */

json_t *sm_jsonapi_time(double epoch)
{
    return json_real(epoch);
}

double sm_jsonapi_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)(tv.tv_usec / 1000) / 1000.0;
}

#define TOKEN_MAGIC 0x5a17c0deu

void sm_jsonapi_token_make(size_t offset, char out[32])
{
    unsigned long long v = (unsigned long long)offset;
    snprintf(out, 32, "%08x%016llx", TOKEN_MAGIC ^ (unsigned)(v & 0xffffffff),
             v);
}

int sm_jsonapi_token_read(const char *token, const char *code, size_t *offset,
                          sm_http_error *err)
{
    *offset = 0;
    if (!token)
        return 0;
    unsigned check = 0;
    unsigned long long v = 0;
    char tail;
    if (strlen(token) != 24 ||
        sscanf(token, "%8x%16llx%c", &check, &v, &tail) != 2 ||
        check != (TOKEN_MAGIC ^ (unsigned)(v & 0xffffffff)))
        return sm_jsonapi_fail(err, code, "Invalid pagination token: '%.64s'.",
                               token);
    *offset = (size_t)v;
    return 0;
}
