/* api_magic: %%api SERVICE OPERATION with a JSON body: any awsJson call of
 * sagemaker and logs, STS's Query calls, a few S3 REST calls, and
 * InvokeEndpoint; the response comes back as JSON. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_magics.h"
#include "buf.h"
#include "journal.h"
#include "runtime.h"
#include "s3.h"
#include "uri.h"
#include "utf8.h"
#include "xml.h"

#define GET_OBJECT_MAX (1u << 20) /* bytes GetObject shows as text */

/* One %%api call in progress. */
typedef struct api_ctx {
    sm_call *call;
    sm_aws *aws;
    const char *service; /* as typed */
    const char *op;
    json_t *body; /* borrowed */
    sm_aws_error err;
    int refused; /* the call's error is set: a usage mistake */
} api_ctx;

typedef json_t *(*api_fn)(api_ctx *c);

typedef struct api_service {
    const char *name;
    sm_aws_service service;
    api_fn call;
} api_service;

/* A usage mistake in the body: the one sentence, and no response. */
static json_t *refuse(api_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static json_t *refuse(api_ctx *c, const char *fmt, ...)
{
    char text[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    sm_error_set(&c->call->err, "%s", text);
    c->refused = 1;
    return NULL;
}

/* Body member `name` as a string: required ones refuse when missing. */
static const char *member(api_ctx *c, const char *name, int required)
{
    json_t *v = json_object_get(c->body, name);
    if (json_is_string(v))
        return json_string_value(v);
    if (v || required)
        refuse(c, "%%%%api %s %s needs \"%s\" as a string in the body",
               c->service, c->op, name);
    return NULL;
}

/* ---- sagemaker, logs ----------------------------------------------------- */

static json_t *api_json(api_ctx *c);

/* ---- sts: Query protocol, XML back --------------------------------------- */

/* An XML element as JSON: text when it has no children, an array when its
 * children are all <member>, else an object (repeated names: arrays). */
static json_t *xml_to_json(const sm_xml_node *node)
{
    const sm_xml_node *first = sm_xml_first_child(node);
    if (!first)
        return json_string(sm_xml_text(node));
    int all_members = 1;
    for (const sm_xml_node *c = first; c; c = sm_xml_next_sibling(c))
        all_members = all_members && strcmp(sm_xml_name(c), "member") == 0;
    json_t *out = all_members ? json_array() : json_object();
    for (const sm_xml_node *c = first; c; c = sm_xml_next_sibling(c)) {
        json_t *v = xml_to_json(c);
        json_t *had = all_members ? NULL : json_object_get(out, sm_xml_name(c));
        if (all_members)
            json_array_append_new(out, v);
        else if (!had)
            json_object_set_new(out, sm_xml_name(c), v);
        else if (json_is_array(had))
            json_array_append_new(had, v);
        else
            json_object_set_new(out, sm_xml_name(c), json_pack("[O, o]", had, v));
    }
    return out;
}

/* The body's members as an encoded form: "Name=value&..." (new). */
static char *form_params(api_ctx *c)
{
    sm_buf b = {0};
    const char *key;
    json_t *v;
    sm_buf_puts(&b, "");
    json_object_foreach(c->body, key, v) {
        char *text = json_is_string(v) ? strdup(json_string_value(v))
                                       : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
            free(text);
            sm_buf_free(&b);
            refuse(c, "%%%%api sts takes flat parameters (\"Name\": value); "
                      "\"%s\" is nested", key);
            return NULL;
        }
        char *k = sm_uri_encode(key, strlen(key), 0);
        char *e = sm_uri_encode(text, strlen(text), 0);
        sm_buf_printf(&b, "%s%s=%s", b.len ? "&" : "", k, e);
        free(k);
        free(e);
        free(text);
    }
    return sm_buf_take(&b);
}

static json_t *api_query(api_ctx *c)
{
    char *params = form_params(c);
    if (!params)
        return NULL;
    sm_xml_node *root = sm_aws_query_call(c->aws, SM_AWS_STS, c->op,
                                          *params ? params : NULL, &c->err);
    free(params);
    if (!root)
        return NULL;
    char result_name[128];
    snprintf(result_name, sizeof result_name, "%sResult", c->op);
    const sm_xml_node *result = sm_xml_child(root, result_name);
    json_t *out = result ? xml_to_json(result) : xml_to_json(root);
    if (!json_is_object(out)) {
        json_decref(out);
        out = json_object();
    }
    json_object_del(out, "ResponseMetadata");
    sm_xml_free(&root);
    return out;
}

/* ---- s3: a few REST operations ------------------------------------------- */

static json_t *s3_list_buckets(api_ctx *c)
{
    sm_s3_page page = {0};
    json_t *out = NULL;
    if (sm_s3_list_buckets(c->aws, &page, &c->err) == 0) {
        json_t *buckets = json_array();
        for (size_t i = 0; i < page.object_count; i++)
            json_array_append_new(buckets,
                                  json_pack("{s:s, s:s}", "Name", page.objects[i].key,
                                            "CreationDate",
                                            page.objects[i].last_modified
                                                ? page.objects[i].last_modified
                                                : ""));
        out = json_pack("{s:o}", "Buckets", buckets);
    }
    sm_s3_page_clear(&page);
    return out;
}

/* ListObjectsV2's query, names in sorted order (SigV4 wants them so). */
static char *list_query(api_ctx *c)
{
    char max_keys[24] = "";
    json_t *mk = json_object_get(c->body, "MaxKeys");
    if (json_is_integer(mk))
        snprintf(max_keys, sizeof max_keys, "%lld", (long long)json_integer_value(mk));
    const char *pairs[][2] = {
        {"continuation-token", member(c, "ContinuationToken", 0)},
        {"delimiter", member(c, "Delimiter", 0)},
        {"encoding-type", "url"},
        {"list-type", "2"},
        {"max-keys", max_keys},
        {"prefix", member(c, "Prefix", 0)},
        {"start-after", member(c, "StartAfter", 0)},
    };
    if (c->refused)
        return NULL;
    sm_buf b = {0};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        if (!pairs[i][1] || !*pairs[i][1])
            continue;
        char *v = sm_uri_encode(pairs[i][1], strlen(pairs[i][1]), 0);
        sm_buf_printf(&b, "%s%s=%s", b.len ? "&" : "", pairs[i][0], v ? v : "");
        free(v);
    }
    return sm_buf_take(&b);
}

static json_t *list_json(const sm_s3_page *page, const char *bucket, api_ctx *c)
{
    json_t *contents = json_array(), *prefixes = json_array();
    for (size_t i = 0; i < page->object_count; i++) {
        const sm_s3_entry *e = &page->objects[i];
        json_array_append_new(contents,
                              json_pack("{s:s, s:I, s:s, s:s, s:s}", "Key", e->key,
                                        "Size", (json_int_t)e->size, "ETag",
                                        e->etag ? e->etag : "", "LastModified",
                                        e->last_modified ? e->last_modified : "",
                                        "StorageClass",
                                        e->storage_class ? e->storage_class : ""));
    }
    for (size_t i = 0; i < page->prefix_count; i++)
        json_array_append_new(prefixes, json_pack("{s:s}", "Prefix", page->prefixes[i]));
    const char *prefix = member(c, "Prefix", 0);
    json_t *out = json_pack("{s:s, s:s, s:b, s:I, s:o, s:o}", "Name", bucket,
                            "Prefix", prefix ? prefix : "", "IsTruncated",
                            page->truncated, "KeyCount",
                            (json_int_t)(page->object_count + page->prefix_count),
                            "Contents", contents, "CommonPrefixes", prefixes);
    if (page->next_token)
        json_object_set_new(out, "NextContinuationToken",
                            json_string(page->next_token));
    return out;
}

static json_t *s3_list_objects(api_ctx *c)
{
    const char *bucket = member(c, "Bucket", 1);
    char *query = bucket ? list_query(c) : NULL;
    if (!query)
        return NULL;
    char *path = sm_s3_path(bucket, NULL);
    sm_aws_rest r = {.service = SM_AWS_S3, .operation = "ListObjectsV2",
                     .method = "GET", .path = path, .query = query};
    sm_aws_response resp = {0};
    sm_s3_page page = {0};
    sm_error perr = {0};
    json_t *out = NULL;
    if (sm_aws_rest_call(c->aws, &r, &resp, &c->err) == 0) {
        if (sm_s3_list_parse(resp.body ? resp.body : "", resp.body_len, 1, &page,
                             &perr) == 0)
            out = list_json(&page, bucket, c);
        else
            refuse(c, "ListObjectsV2 failed: the response was not a listing: %s",
                   perr.message);
    }
    sm_s3_page_clear(&page);
    sm_aws_response_clear(&resp);
    free(path);
    free(query);
    return out;
}

static json_t *head_json(const sm_s3_head *h)
{
    return json_pack("{s:I, s:s, s:s, s:s}", "ContentLength", (json_int_t)h->size,
                     "ETag", h->etag, "ContentType", h->content_type,
                     "LastModified", h->last_modified);
}

static json_t *s3_head_object(api_ctx *c)
{
    const char *bucket = member(c, "Bucket", 1);
    const char *key = bucket ? member(c, "Key", 1) : NULL;
    sm_s3_head head;
    if (!key || sm_s3_head_object(c->aws, bucket, key, &head, &c->err))
        return NULL;
    return head_json(&head);
}

static json_t *s3_get_object(api_ctx *c)
{
    json_t *out = s3_head_object(c);
    if (!out)
        return NULL;
    const char *bucket = member(c, "Bucket", 1), *key = member(c, "Key", 1);
    json_int_t size = json_integer_value(json_object_get(out, "ContentLength"));
    char *data = NULL;
    size_t len = 0;
    if (size > (json_int_t)GET_OBJECT_MAX) {
        json_decref(out);
        return refuse(c, "s3://%s/%s is %lld bytes: %%%%api s3 GetObject shows "
                         "up to 1 MiB as text; use %%download", bucket, key,
                      (long long)size);
    }
    if (sm_s3_get_bytes(c->aws, bucket, key, &data, &len, &c->err)) {
        json_decref(out);
        return NULL;
    }
    if (!sm_utf8_valid(data, len) || memchr(data, 0, len)) {
        free(data);
        json_decref(out);
        return refuse(c, "s3://%s/%s is not text; use %%download to fetch it",
                      bucket, key);
    }
    json_object_set_new(out, "Body", json_stringn(data, len));
    free(data);
    return out;
}

static json_t *s3_put_object(api_ctx *c)
{
    const char *bucket = member(c, "Bucket", 1);
    const char *key = bucket ? member(c, "Key", 1) : NULL;
    const char *body = key ? member(c, "Body", 1) : NULL;
    const char *type = body ? member(c, "ContentType", 0) : NULL;
    if (!body || c->refused)
        return NULL;
    sm_s3_upload_req req = {.bucket = bucket, .key = key, .data = body,
                            .len = strlen(body), .content_type = type};
    sm_s3_put_result put;
    if (sm_s3_put_object(c->aws, &req, &put, &c->err))
        return NULL;
    return json_pack("{s:s}", "ETag", put.etag);
}

static json_t *s3_delete_object(api_ctx *c)
{
    const char *bucket = member(c, "Bucket", 1);
    const char *key = bucket ? member(c, "Key", 1) : NULL;
    if (!key || sm_s3_delete_object(c->aws, bucket, key, &c->err))
        return NULL;
    return json_object();
}

static json_t *s3_head_bucket(api_ctx *c)
{
    const char *bucket = member(c, "Bucket", 1);
    if (!bucket || sm_s3_head_bucket(c->aws, bucket, &c->err))
        return NULL;
    return json_object();
}

static json_t *s3_create_bucket(api_ctx *c)
{
    const char *bucket = member(c, "Bucket", 1);
    if (!bucket || sm_s3_create_bucket(c->aws, bucket, &c->err))
        return NULL;
    char location[SM_S3_BUCKET_MAX + 2];
    snprintf(location, sizeof location, "/%s", bucket);
    return json_pack("{s:s}", "Location", location);
}

typedef struct s3_op {
    const char *name;
    api_fn fn;
} s3_op;

static const s3_op s3_ops[] = {
    {"ListBuckets", s3_list_buckets},   {"ListObjectsV2", s3_list_objects},
    {"HeadBucket", s3_head_bucket},     {"CreateBucket", s3_create_bucket},
    {"HeadObject", s3_head_object},     {"GetObject", s3_get_object},
    {"PutObject", s3_put_object},       {"DeleteObject", s3_delete_object},
};

static json_t *api_s3(api_ctx *c)
{
    const char *names[sizeof s3_ops / sizeof *s3_ops];
    sm_buf list = {0};
    for (size_t i = 0; i < sizeof s3_ops / sizeof *s3_ops; i++)
        if (strcmp(s3_ops[i].name, c->op) == 0)
            return s3_ops[i].fn(c);
    for (size_t i = 0; i < sizeof s3_ops / sizeof *s3_ops; i++) {
        names[i] = s3_ops[i].name;
        sm_buf_printf(&list, "%s%s", i ? ", " : "", s3_ops[i].name);
    }
    const char *guess = sm_closest(c->op, names, sizeof names / sizeof *names);
    char hint[96] = "";
    if (guess)
        snprintf(hint, sizeof hint, " (did you mean %s?)", guess);
    refuse(c, "%%%%api s3 offers %s; not %s%s", sm_buf_str(&list), c->op, hint);
    sm_buf_free(&list);
    return NULL;
}

/* ---- runtime: InvokeEndpoint --------------------------------------------- */

static json_t *api_runtime(api_ctx *c)
{
    if (strcmp(c->op, "InvokeEndpoint") != 0)
        return refuse(c, "%%%%api runtime offers InvokeEndpoint; not %s", c->op);
    const char *name = member(c, "EndpointName", 1);
    json_t *body = json_object_get(c->body, "Body");
    if (!name)
        return NULL;
    if (!body)
        return refuse(c, "%%%%api runtime InvokeEndpoint needs \"Body\": the "
                         "rows to send (a string, or JSON)");
    char *text = json_is_string(body) ? strdup(json_string_value(body))
                                      : json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *type = member(c, "ContentType", 0);
    sm_runtime_request req = {
        .endpoint_name = name,
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .content_type = type ? type
                             : json_is_string(body) ? "text/csv" : "application/json",
        .accept = member(c, "Accept", 0),
        .custom_attributes = member(c, "CustomAttributes", 0),
        .target_variant = member(c, "TargetVariant", 0),
    };
    sm_runtime_result res = {0};
    json_t *out = NULL;
    if (!c->refused && text &&
        sm_runtime_invoke_endpoint(c->aws, &req, &res, &c->err) == 0) {
        char *fixed = sm_utf8_repair(res.body ? res.body : "", res.body_len);
        out = json_pack("{s:s, s:s, s:s}", "ContentType", res.content_type,
                        "InvokedProductionVariant", res.invoked_variant, "Body",
                        fixed ? fixed : "");
        free(fixed);
    }
    sm_runtime_result_clear(&res);
    free(text);
    return out;
}

/* ---- the magic ----------------------------------------------------------- */

static const api_service services[] = {
    {"sagemaker", SM_AWS_SAGEMAKER, api_json},
    {"logs", SM_AWS_LOGS, api_json},
    {"sts", SM_AWS_STS, api_query},
    {"s3", SM_AWS_S3, api_s3},
    {"runtime", SM_AWS_RUNTIME, api_runtime},
    {"sagemaker-runtime", SM_AWS_RUNTIME, api_runtime},
};
#define SERVICE_COUNT (sizeof services / sizeof *services)

static json_t *api_json(api_ctx *c)
{
    for (size_t i = 0; i < SERVICE_COUNT; i++)
        if (strcmp(services[i].name, c->service) == 0)
            return sm_aws_json_call(c->aws, services[i].service, c->op, c->body,
                                    &c->err);
    return NULL;
}

const char *const *sm_api_services(void)
{
    static const char *names[SERVICE_COUNT + 1];
    for (size_t i = 0; i < SERVICE_COUNT; i++)
        names[i] = services[i].name;
    return names;
}

static const api_service *find_service(sm_call *call, const char *name)
{
    const char *names[SERVICE_COUNT];
    for (size_t i = 0; i < SERVICE_COUNT; i++) {
        if (strcmp(services[i].name, name) == 0)
            return &services[i];
        names[i] = services[i].name;
    }
    const char *guess = sm_closest(name, names, SERVICE_COUNT);
    char hint[64] = "";
    if (guess)
        snprintf(hint, sizeof hint, "; did you mean %s?", guess);
    sm_error_set(&call->err, "unknown service '%s': %%%%api knows sagemaker, "
                             "logs, sts, s3 and runtime%s", name, hint);
    return NULL;
}

/* The body, ${...} expanded, as a JSON object (new; {} when blank). */
static json_t *api_body(sm_call *call)
{
    sm_error err = {0};
    char *text = sm_magics_expand(call->m, call->body ? call->body : "", &err);
    if (!text) {
        sm_error_set(&call->err, "%s", err.message);
        return NULL;
    }
    json_t *body = NULL;
    if (text[strspn(text, " \t\r\n")] == '\0') {
        body = json_object();
    } else {
        json_error_t jerr;
        body = json_loads(text, 0, &jerr);
        if (!body)
            sm_error_set(&call->err, "the %%%%api body is not JSON: %s (line %d, "
                                     "column %d)", jerr.text, jerr.line,
                         jerr.column);
        else if (!json_is_object(body)) {
            sm_error_set(&call->err, "the %%%%api body must be a JSON object "
                                     "{...}");
            json_decref(body);
            body = NULL;
        }
    }
    free(text);
    return body;
}

static int valid_operation(const char *op)
{
    size_t n = strlen(op);
    if (n == 0 || n > 64 || !isupper((unsigned char)op[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)op[i]))
            return 0;
    return 1;
}

int sm_magic_api(sm_call *call)
{
    const char *service = call->args.positional[0];
    const char *op = call->args.positional[1];
    const api_service *svc = find_service(call, service);
    if (!svc)
        return -1;
    if (!valid_operation(op))
        return sm_error_set(&call->err, "'%s' is not an operation name like "
                                        "ListTrainingJobs", op);
    json_t *body = api_body(call);
    if (!body)
        return -1;
    api_ctx c = {.call = call, .service = service, .op = op, .body = body};
    json_t *response = NULL;
    if ((c.aws = sm_call_aws(call)) != NULL) {
        response = svc->call(&c);
        if (!response && !c.refused)
            sm_call_fail_aws(call, &c.err);
    }
    if (response && svc->service == SM_AWS_SAGEMAKER)
        sm_journal_api_sent(call, c.aws, op, body);
    json_decref(body);
    if (!response)
        return -1;
    call->result = response;
    return 0;
}
