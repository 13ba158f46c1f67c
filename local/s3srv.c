/* s3srv: each operation is a row (method, level, subresource) and a
 * function; planning picks the row and refuses what it can before a body
 * is read, handling runs the function over the store. */
#include "s3srv.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "s3rules.h"
#include "store.h"
#include "uri.h"
#include "utf8.h"
#include "xml.h"
#include "xmlw.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define S3_MAX_XML (2u << 20) /* DeleteObjects: 1,000 keys of 1,024 bytes */
#define S3_MAX_NO_BODY (64u << 10)
#define S3_MAX_METADATA 2048 /* bytes of x-amz-meta-* names and values */
#define S3_MAX_DELETE 1000

/* Where a request points: the service, a bucket, or an object. */
typedef enum s3_level { LEVEL_SERVICE, LEVEL_BUCKET, LEVEL_OBJECT } s3_level;

typedef struct s3_address {
    s3_level level;
    char *bucket; /* NULL at the service level */
    char *key;    /* NULL unless an object */
} s3_address;

/* One operation in progress. */
typedef struct s3_call {
    sm_local_env *env;
    sm_http_request *req;
    sm_http_response *resp;
    sm_http_error *err;
    s3_address at;
} s3_call;

/* How the body is taken: none to speak of, XML in memory, streamed to
 * disk; a copy has none but is handled off the connections' threads. */
typedef enum s3_body { BODY_NONE, BODY_XML, BODY_STREAM, BODY_COPY } s3_body;

typedef struct s3_op {
    const char *method;
    s3_level level;
    const char *param;  /* a query parameter the request must carry */
    const char *header; /* a header the request must carry */
    const char *name;
    s3_body body;
    int (*handle)(s3_call *call);
    int (*precheck)(s3_call *call); /* before the body, or NULL */
} s3_op;

/* ---- errors ------------------------------------------------------------- */

/* A store's answer as S3 words it, and the extra field it carries. */
typedef enum s3_extra {
    EXTRA_NONE,
    EXTRA_BUCKET,
    EXTRA_KEY,
    EXTRA_UPLOAD
} s3_extra;

typedef struct store_error {
    sm_store_status status;
    int http;
    const char *code;
    const char *message;
    s3_extra extra;
} store_error;

static const store_error store_errors[] = {
    {SM_STORE_NO_BUCKET, 404, "NoSuchBucket",
     "The specified bucket does not exist", EXTRA_BUCKET},
    {SM_STORE_NO_KEY, 404, "NoSuchKey", "The specified key does not exist.",
     EXTRA_KEY},
    {SM_STORE_NO_UPLOAD, 404, "NoSuchUpload",
     "The specified upload does not exist. The upload ID may be invalid, or "
     "the upload may have been aborted or completed.",
     EXTRA_UPLOAD},
    {SM_STORE_BUCKET_EXISTS, 409, "BucketAlreadyOwnedByYou",
     "Your previous request to create the named bucket succeeded and you "
     "already own it.",
     EXTRA_BUCKET},
    {SM_STORE_BUCKET_NOT_EMPTY, 409, "BucketNotEmpty",
     "The bucket you tried to delete is not empty", EXTRA_BUCKET},
    {SM_STORE_INVALID_PART, 400, "InvalidPart",
     "One or more of the specified parts could not be found. The part may "
     "not have been uploaded, or the specified entity tag may not match the "
     "part's entity tag.",
     EXTRA_UPLOAD},
    {SM_STORE_INVALID_PART_ORDER, 400, "InvalidPartOrder",
     "The list of parts was not in ascending order. Parts must be ordered by "
     "part number.",
     EXTRA_UPLOAD},
    {SM_STORE_PART_TOO_SMALL, 400, "EntityTooSmall",
     "Your proposed upload is smaller than the minimum allowed object size. "
     "Each part but the last must be at least 5 MiB.",
     EXTRA_UPLOAD},
};

static int fail_store(s3_call *c, sm_store_status st, const sm_error *e)
{
    for (size_t i = 0; i < sizeof store_errors / sizeof store_errors[0]; i++) {
        const store_error *row = &store_errors[i];
        if (row->status != st)
            continue;
        sm_http_fail(c->err, row->http, row->code, "%s", row->message);
        if (row->extra == EXTRA_BUCKET)
            sm_http_error_extra(c->err, "BucketName", "%s", c->at.bucket);
        else if (row->extra == EXTRA_KEY)
            sm_http_error_extra(c->err, "Key", "%s", c->at.key);
        else if (row->extra == EXTRA_UPLOAD)
            sm_http_error_extra(c->err, "UploadId", "%s",
                                sm_http_param(c->req, "uploadId"));
        return -1;
    }
    sm_error("s3: %s", e && e->message[0] ? e->message : "the store failed");
    return sm_http_fail(c->err, 500, "InternalError",
                        "We encountered an internal error. Please try again.");
}

static int fail_internal(s3_call *c, const char *what)
{
    sm_error("s3: %s", what);
    return sm_http_fail(c->err, 500, "InternalError",
                        "We encountered an internal error: %s.", what);
}

static int fail_xml(s3_call *c)
{
    return sm_http_fail(c->err, 400, "MalformedXML",
                        "The XML you provided was not well-formed or did not "
                        "validate against our published schema");
}

/* ---- addressing --------------------------------------------------------- */

static void address_clear(s3_address *a)
{
    free(a->bucket);
    free(a->key);
    *a = (s3_address){0};
}

/* The bucket a virtual-hosted request names in its Host header:
 * "<bucket>.localhost[:port]" or "<bucket>.s3.<...>"; NULL for none. */
static char *host_bucket(const sm_http_request *req)
{
    const char *host = sm_http_header(req, "host");
    if (!host)
        return NULL;
    size_t n = strcspn(host, ":");
    const char *suffixes[] = {".localhost"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t m = strlen(suffixes[i]);
        if (n > m && strncasecmp(host + n - m, suffixes[i], m) == 0)
            return strndup(host, n - m);
    }
    const char *s3 = strstr(host, ".s3.");
    if (s3 && (size_t)(s3 - host) < n)
        return strndup(host, (size_t)(s3 - host));
    return NULL;
}

static int key_check(s3_call *c, const char *key, size_t len)
{
    if (len > SM_S3_MAX_KEY) {
        sm_http_fail(c->err, 400, "KeyTooLongError", "Your key is too long");
        sm_http_error_extra(c->err, "MaxSizeAllowed", "1024");
        sm_http_error_extra(c->err, "Size", "%zu", len);
        return -1;
    }
    const char *why = sm_s3rules_key_invalid(key, len);
    if (why)
        return sm_http_fail(c->err, 400, "InvalidArgument",
                            "The object key is not valid: %s", why);
    return 0;
}

/* Read bucket and key from the path (and Host); refuse bad names. */
static int address_parse(s3_call *c)
{
    s3_address *a = &c->at;
    const char *path = c->req->path;
    if (path[0] != '/')
        return sm_http_fail(c->err, 400, "InvalidURI",
                            "Couldn't parse the specified URI.");
    path++;
    a->bucket = host_bucket(c->req);
    if (!a->bucket) {
        size_t n = strcspn(path, "/"), len;
        if (n == 0) {
            a->level = LEVEL_SERVICE;
            return 0;
        }
        a->bucket = sm_uri_decode(path, n, &len);
        if (a->bucket && strlen(a->bucket) != len)
            a->bucket[0] = '\0'; /* a NUL inside: refused as invalid below */
        path += n + (path[n] == '/');
    }
    if (!a->bucket)
        return fail_internal(c, "out of memory");
    a->level = *path ? LEVEL_OBJECT : LEVEL_BUCKET;
    if (a->level == LEVEL_OBJECT) {
        size_t len = 0;
        a->key = sm_uri_decode(path, strlen(path), &len);
        if (!a->key)
            return fail_internal(c, "out of memory");
        if (key_check(c, a->key, len))
            return -1;
    }
    const char *why = sm_s3rules_bucket_invalid(a->bucket);
    if (why) {
        sm_http_fail(c->err, 400, "InvalidBucketName",
                     "The specified bucket is not valid: %s.", why);
        sm_http_error_extra(c->err, "BucketName", "%s", a->bucket);
        return -1;
    }
    return 0;
}

/* ---- responses ---------------------------------------------------------- */

static int xml_done(s3_call *c, sm_xmlw *w, const char *root)
{
    if (sm_xmlw_finish(w, root))
        return fail_internal(c, "out of memory");
    c->resp->status = 200;
    sm_http_response_header(c->resp, "Content-Type", "application/xml");
    return 0;
}

static void owner_id(const sm_local_env *env, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;
    char seed[64];
    snprintf(seed, sizeof seed, "sagemagic-local:%s", env->account_id);
    EVP_Digest(seed, strlen(seed), md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static void xml_owner(sm_xmlw *w, const sm_local_env *env, const char *name)
{
    char id[65];
    owner_id(env, id);
    sm_xmlw_open(w, name);
    sm_xmlw_text(w, "ID", id);
    sm_xmlw_text(w, "DisplayName", "sagemagic-local");
    sm_xmlw_close(w, name);
}

/* A key (or prefix) in a listing: as it is, or %-encoded with '/' kept
 * when the client asked for encoding-type=url. */
static void xml_key(sm_xmlw *w, const char *name, const char *key, int url)
{
    if (!key)
        return;
    if (!url) {
        sm_xmlw_text(w, name, key);
        return;
    }
    char *encoded = sm_uri_encode(key, strlen(key), 1);
    if (!encoded)
        w->failed = 1;
    else
        sm_xmlw_text(w, name, encoded);
    free(encoded);
}

/* ---- object headers ----------------------------------------------------- */

/* Headers stored with an object and sent back with it, besides
 * Content-Type and the x-amz-meta-* ones. */
static const char *const stored_headers[] = {
    "cache-control",    "content-disposition",
    "content-encoding", "content-language",
    "expires",          "x-amz-website-redirect-location",
};

static int is_stored_header(const char *lname)
{
    if (strncmp(lname, "x-amz-meta-", 11) == 0)
        return 1;
    for (size_t i = 0; i < sizeof stored_headers / sizeof(char *); i++) {
        if (strcmp(lname, stored_headers[i]) == 0)
            return 1;
    }
    return 0;
}

/* Content-Encoding without the transfer's own "aws-chunked". */
static char *content_encoding(const char *value)
{
    sm_buf out = {0};
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len && p[len - 1] == ' ')
            len--;
        if (len && !(len == 11 && strncasecmp(p, "aws-chunked", 11) == 0)) {
            if (out.len)
                sm_buf_putc(&out, ',');
            sm_buf_append(&out, p, len);
        }
        p += n;
    }
    return sm_buf_take(&out);
}

/* The headers of `req` to store with an object, as a new JSON text;
 * NULL with `err` set (MetadataTooLarge, or memory). */
static char *headers_json(s3_call *c)
{
    json_t *obj = json_object();
    size_t meta = 0;
    for (size_t i = 0; obj && i < c->req->header_count; i++) {
        char lname[256];
        const sm_http_pair *h = &c->req->headers[i];
        size_t n = strlen(h->name);
        if (n >= sizeof lname)
            continue;
        for (size_t k = 0; k <= n; k++)
            lname[k] = (char)(h->name[k] >= 'A' && h->name[k] <= 'Z'
                                  ? h->name[k] - 'A' + 'a'
                                  : h->name[k]);
        if (!is_stored_header(lname))
            continue;
        char *value = strcmp(lname, "content-encoding") == 0
                          ? content_encoding(h->value)
                          : sm_utf8_repair(h->value, strlen(h->value));
        if (strncmp(lname, "x-amz-meta-", 11) == 0)
            meta += n - 11 + strlen(value ? value : "");
        if (value && *value)
            json_object_set_new(obj, lname, json_string(value));
        free(value);
    }
    if (meta > S3_MAX_METADATA) {
        json_decref(obj);
        sm_http_fail(c->err, 400, "MetadataTooLarge",
                     "Your metadata headers exceed the maximum allowed "
                     "metadata size.");
        sm_http_error_extra(c->err, "MaxSizeAllowed", "2048");
        return NULL;
    }
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(obj);
    if (!text)
        fail_internal(c, "out of memory");
    return text;
}

/* The object's stored headers onto the response. */
static void headers_emit(s3_call *c, const char *json)
{
    json_t *obj = json_loads(json ? json : "{}", 0, NULL);
    const char *name;
    json_t *value;
    json_object_foreach(obj, name, value)
    {
        if (json_is_string(value))
            sm_http_response_header(c->resp, name, json_string_value(value));
    }
    json_decref(obj);
}

static const char *content_type_of(const sm_http_request *req)
{
    const char *type = sm_http_header(req, "content-type");
    return type && *type ? type : "binary/octet-stream";
}

/* ---- service and bucket operations -------------------------------------- */

static int list_buckets(s3_call *c)
{
    sm_store_bucket *buckets = NULL;
    size_t count = 0;
    sm_error e = {0};
    sm_store_status st =
        sm_store_bucket_list(c->env->store, &buckets, &count, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    const char *prefix = sm_http_param(c->req, "prefix");
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, "ListAllMyBucketsResult", S3_XMLNS);
    xml_owner(&w, c->env, "Owner");
    sm_xmlw_open(&w, "Buckets");
    for (size_t i = 0; i < count; i++) {
        char created[32];
        if (prefix && strncmp(buckets[i].name, prefix, strlen(prefix)) != 0)
            continue;
        sm_s3rules_time_iso(buckets[i].created_ms, created);
        sm_xmlw_open(&w, "Bucket");
        sm_xmlw_text(&w, "Name", buckets[i].name);
        sm_xmlw_text(&w, "CreationDate", created);
        sm_xmlw_text(&w, "BucketRegion", buckets[i].region);
        sm_xmlw_close(&w, "Bucket");
    }
    sm_xmlw_close(&w, "Buckets");
    sm_xmlw_text(&w, "Prefix", prefix);
    free(buckets);
    return xml_done(c, &w, "ListAllMyBucketsResult");
}

/* The region a CreateBucket asks for: its LocationConstraint, else the
 * region it was signed for. New string in *region. */
static int create_bucket_region(s3_call *c, char *region, size_t size)
{
    snprintf(region, size, "%s",
             c->req->region[0] ? c->req->region : c->env->region);
    if (!c->req->body_len)
        return 0;
    sm_error e = {0};
    sm_xml_node *root = sm_xml_parse(c->req->body, c->req->body_len, &e);
    if (!root || strcmp(sm_xml_name(root), "CreateBucketConfiguration") != 0) {
        sm_xml_free(&root);
        return fail_xml(c);
    }
    const char *location = sm_xml_child_text(root, "LocationConstraint");
    if (location && *location)
        snprintf(region, size, "%s",
                 strcmp(location, "EU") == 0 ? "eu-west-1" : location);
    else if (location)
        snprintf(region, size, "us-east-1");
    sm_xml_free(&root);
    return 0;
}

static int create_bucket(s3_call *c)
{
    char region[32];
    if (create_bucket_region(c, region, sizeof region))
        return -1;
    sm_error e = {0};
    sm_store_status st =
        sm_store_bucket_create(c->env->store, c->at.bucket, region, &e);
    /* S3 keeps answering 200 in us-east-1 to an owner creating again. */
    if (st == SM_STORE_BUCKET_EXISTS && strcmp(region, "us-east-1") == 0)
        st = SM_STORE_OK;
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    c->resp->status = 200;
    sm_http_response_headerf(c->resp, "Location", "/%s", c->at.bucket);
    return 0;
}

static int head_bucket(s3_call *c)
{
    sm_store_bucket bucket;
    sm_error e = {0};
    sm_store_status st =
        sm_store_bucket_get(c->env->store, c->at.bucket, &bucket, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    c->resp->status = 200;
    sm_http_response_header(c->resp, "x-amz-bucket-region", bucket.region);
    sm_http_response_header(c->resp, "x-amz-access-point-alias", "false");
    return 0;
}

static int delete_bucket(s3_call *c)
{
    sm_error e = {0};
    sm_store_status st =
        sm_store_bucket_delete(c->env->store, c->at.bucket, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    c->resp->status = 204;
    return 0;
}

static int bucket_location(s3_call *c)
{
    sm_store_bucket bucket;
    sm_error e = {0};
    sm_store_status st =
        sm_store_bucket_get(c->env->store, c->at.bucket, &bucket, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, "LocationConstraint", S3_XMLNS);
    if (strcmp(bucket.region, "us-east-1") != 0)
        sm_xmlw_escape(&c->resp->body, bucket.region, strlen(bucket.region));
    return xml_done(c, &w, "LocationConstraint");
}

/* ---- listing ------------------------------------------------------------ */

/* max-keys and the like: default and cap 1,000. */
static int page_size(s3_call *c, const char *name, size_t *out)
{
    const char *v = sm_http_param(c->req, name);
    *out = SM_S3_MAX_LIST;
    if (!v)
        return 0;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < 0 || n > 2147483647LL)
        return sm_http_fail(c->err, 400, "InvalidArgument",
                            "Provided %s not an integer or within integer "
                            "range",
                            name);
    *out = n < SM_S3_MAX_LIST ? (size_t)n : SM_S3_MAX_LIST;
    return 0;
}

static int encoding_type(s3_call *c, int *url)
{
    const char *v = sm_http_param(c->req, "encoding-type");
    *url = v && strcmp(v, "url") == 0;
    if (v && !*url)
        return sm_http_fail(c->err, 400, "InvalidArgument",
                            "Invalid Encoding Method specified in Request");
    return 0;
}

static void xml_contents(sm_xmlw *w, const s3_call *c,
                         const sm_store_list_entry *e, int url, int owner)
{
    char modified[32];
    sm_s3rules_time_iso(e->modified_ms, modified);
    sm_xmlw_open(w, "Contents");
    xml_key(w, "Key", e->key, url);
    sm_xmlw_text(w, "LastModified", modified);
    sm_xmlw_text(w, "ETag", e->etag);
    sm_xmlw_textf(w, "Size", "%llu", (unsigned long long)e->size);
    if (owner)
        xml_owner(w, c->env, "Owner");
    sm_xmlw_text(w, "StorageClass", "STANDARD");
    sm_xmlw_close(w, "Contents");
}

static void xml_page(sm_xmlw *w, const s3_call *c, const sm_store_list *page,
                     int url, int owner)
{
    for (size_t i = 0; i < page->count; i++)
        xml_contents(w, c, &page->entries[i], url, owner);
    for (size_t i = 0; i < page->prefix_count; i++) {
        sm_xmlw_open(w, "CommonPrefixes");
        xml_key(w, "Prefix", page->prefixes[i], url);
        sm_xmlw_close(w, "CommonPrefixes");
    }
    if (url)
        sm_xmlw_text(w, "EncodingType", "url");
}

/* Where ListObjectsV2 resumes: the token, else start-after. */
static int v2_start(s3_call *c, sm_store_list_query *q, char **owned)
{
    const char *token = sm_http_param(c->req, "continuation-token");
    if (token) {
        if (sm_s3rules_token_decode(token, owned, &q->after_is_prefix))
            return sm_http_fail(c->err, 400, "InvalidArgument",
                                "The continuation token provided is "
                                "incorrect");
        q->after = *owned;
        return 0;
    }
    q->after = sm_http_param(c->req, "start-after");
    return 0;
}

static int list_objects_v2(s3_call *c)
{
    const sm_http_request *req = c->req;
    sm_store_list_query q = {.bucket = c->at.bucket,
                             .prefix = sm_http_param(req, "prefix"),
                             .delimiter = sm_http_param(req, "delimiter")};
    int url = 0;
    char *after = NULL;
    if (page_size(c, "max-keys", &q.max) || encoding_type(c, &url) ||
        v2_start(c, &q, &after))
        return -1;
    sm_store_list page;
    sm_error e = {0};
    sm_store_status st = sm_store_object_list(c->env->store, &q, &page, &e);
    free(after);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    const char *fetch_owner = sm_http_param(req, "fetch-owner");
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, "ListBucketResult", S3_XMLNS);
    sm_xmlw_text(&w, "Name", c->at.bucket);
    xml_key(&w, "Prefix", q.prefix ? q.prefix : "", url);
    sm_xmlw_text(&w, "ContinuationToken",
                 sm_http_param(req, "continuation-token"));
    if (page.truncated) {
        char *next = sm_s3rules_token_encode(page.last, strlen(page.last),
                                             page.last_is_prefix);
        sm_xmlw_text(&w, "NextContinuationToken", next);
        w.failed |= !next;
        free(next);
    }
    sm_xmlw_textf(&w, "KeyCount", "%zu", page.count + page.prefix_count);
    sm_xmlw_textf(&w, "MaxKeys", "%zu", q.max);
    xml_key(&w, "Delimiter", q.delimiter, url);
    sm_xmlw_text(&w, "IsTruncated", page.truncated ? "true" : "false");
    xml_key(&w, "StartAfter", sm_http_param(req, "start-after"), url);
    xml_page(&w, c, &page, url, fetch_owner && !strcmp(fetch_owner, "true"));
    sm_store_list_clear(&page);
    return xml_done(c, &w, "ListBucketResult");
}

static int list_objects_v1(s3_call *c)
{
    const sm_http_request *req = c->req;
    const char *marker = sm_http_param(req, "marker");
    const char *delimiter = sm_http_param(req, "delimiter");
    sm_store_list_query q = {.bucket = c->at.bucket,
                             .prefix = sm_http_param(req, "prefix"),
                             .delimiter = delimiter,
                             .after = marker};
    /* A marker that was a common prefix resumes after all it holds. */
    q.after_is_prefix =
        marker && delimiter && *delimiter &&
        strlen(marker) >= strlen(delimiter) &&
        strcmp(marker + strlen(marker) - strlen(delimiter), delimiter) == 0;
    int url = 0;
    if (page_size(c, "max-keys", &q.max) || encoding_type(c, &url))
        return -1;
    sm_store_list page;
    sm_error e = {0};
    sm_store_status st = sm_store_object_list(c->env->store, &q, &page, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, "ListBucketResult", S3_XMLNS);
    sm_xmlw_text(&w, "Name", c->at.bucket);
    xml_key(&w, "Prefix", q.prefix ? q.prefix : "", url);
    xml_key(&w, "Marker", marker ? marker : "", url);
    if (page.truncated)
        xml_key(&w, "NextMarker", page.last, url);
    sm_xmlw_textf(&w, "MaxKeys", "%zu", q.max);
    xml_key(&w, "Delimiter", delimiter, url);
    sm_xmlw_text(&w, "IsTruncated", page.truncated ? "true" : "false");
    xml_page(&w, c, &page, url, 1);
    sm_store_list_clear(&page);
    return xml_done(c, &w, "ListBucketResult");
}

/* ---- DeleteObjects ------------------------------------------------------ */

static void delete_one(s3_call *c, sm_xmlw *w, const char *key, int quiet)
{
    sm_error e = {0};
    sm_http_error bad = {0};
    s3_call one = *c;
    one.err = &bad;
    one.at.key = (char *)key;
    sm_store_status st = SM_STORE_OK;
    if (key_check(&one, key, strlen(key)) == 0)
        st = sm_store_object_delete(c->env->store, c->at.bucket, key, NULL, &e);
    if (st != SM_STORE_OK && !bad.status)
        fail_store(&one, st, &e);
    if (bad.status) {
        sm_xmlw_open(w, "Error");
        sm_xmlw_text(w, "Key", key);
        sm_xmlw_text(w, "Code", bad.code);
        sm_xmlw_text(w, "Message", bad.message);
        sm_xmlw_close(w, "Error");
    } else if (!quiet) {
        sm_xmlw_open(w, "Deleted");
        sm_xmlw_text(w, "Key", key);
        sm_xmlw_close(w, "Deleted");
    }
}

static int delete_objects(s3_call *c)
{
    sm_error e = {0};
    sm_xml_node *root = sm_xml_parse(c->req->body, c->req->body_len, &e);
    size_t count = 0;
    const sm_xml_node *o;
    for (o = sm_xml_child(root, "Object"); o; o = sm_xml_next(o)) {
        if (!sm_xml_child(o, "Key"))
            break;
        count++;
    }
    if (!root || strcmp(sm_xml_name(root), "Delete") != 0 || o || count == 0 ||
        count > S3_MAX_DELETE) {
        sm_xml_free(&root);
        return fail_xml(c);
    }
    sm_store_status st =
        sm_store_bucket_get(c->env->store, c->at.bucket, NULL, &e);
    if (st != SM_STORE_OK) {
        sm_xml_free(&root);
        return fail_store(c, st, &e);
    }
    const char *quiet = sm_xml_child_text(root, "Quiet");
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, "DeleteResult", S3_XMLNS);
    for (o = sm_xml_child(root, "Object"); o; o = sm_xml_next(o))
        delete_one(c, &w, sm_xml_child_text(o, "Key"),
                   quiet && strcasecmp(quiet, "true") == 0);
    sm_xml_free(&root);
    return xml_done(c, &w, "DeleteResult");
}

/* ---- objects ------------------------------------------------------------ */

static void checksum_echo(s3_call *c, sm_checksum_algorithm alg,
                          const char *value)
{
    const char *header = sm_checksum_header(alg);
    if (header && value && *value)
        sm_http_response_header(c->resp, header, value);
}

static int precheck_bucket(s3_call *c)
{
    sm_error e = {0};
    sm_store_status st =
        sm_store_bucket_get(c->env->store, c->at.bucket, NULL, &e);
    return st == SM_STORE_OK ? 0 : fail_store(c, st, &e);
}

static int put_object(s3_call *c)
{
    char *headers = headers_json(c);
    if (!headers)
        return -1;
    sm_store_object attrs = {0}, obj = {0};
    attrs.content_type = (char *)content_type_of(c->req);
    attrs.headers = headers;
    attrs.checksum_algorithm = c->req->checksum_algorithm;
    snprintf(attrs.checksum, sizeof attrs.checksum, "%s", c->req->checksum);
    sm_error e = {0};
    sm_store_status st = sm_store_object_put(
        c->env->store, c->at.bucket, c->at.key, c->req->blob, &attrs, &obj, &e);
    free(headers);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    c->resp->status = 200;
    sm_http_response_header(c->resp, "ETag", obj.etag);
    checksum_echo(c, obj.checksum_algorithm, obj.checksum);
    sm_store_object_clear(&obj);
    return 0;
}

/* The headers of the four conditions: If-Match, If-None-Match,
 * If-Unmodified-Since, If-Modified-Since; a copy's test its source. */
typedef struct condition_headers {
    const char *match, *none_match, *unmodified, *modified;
} condition_headers;

static const condition_headers get_conditions = {
    "if-match", "if-none-match", "if-unmodified-since", "if-modified-since"};
static const condition_headers copy_conditions = {
    "x-amz-copy-source-if-match", "x-amz-copy-source-if-none-match",
    "x-amz-copy-source-if-unmodified-since",
    "x-amz-copy-source-if-modified-since"};

/* If-Match and friends: 0 to go on, 304 or 412 when a condition says so. */
static int conditions(s3_call *c, const sm_store_object *obj,
                      const condition_headers *names)
{
    const sm_http_request *req = c->req;
    const char *if_match = sm_http_header(req, names->match);
    const char *if_none = sm_http_header(req, names->none_match);
    const char *if_unmod = sm_http_header(req, names->unmodified);
    const char *if_mod = sm_http_header(req, names->modified);
    char bare[64], want[64];
    sm_s3rules_etag_bare(obj->etag, bare, sizeof bare);
    time_t modified = (time_t)(obj->modified_ms / 1000);
    if (if_match && strcmp(if_match, "*") != 0 &&
        (sm_s3rules_etag_bare(if_match, want, sizeof want) ||
         strcmp(want, bare) != 0))
        return 412;
    if (!if_match && if_unmod) {
        time_t t = sm_s3rules_time_parse_http(if_unmod);
        if (t >= 0 && modified > t)
            return 412;
    }
    if (if_none && (strcmp(if_none, "*") == 0 ||
                    (!sm_s3rules_etag_bare(if_none, want, sizeof want) &&
                     strcmp(want, bare) == 0)))
        return 304;
    if (!if_none && if_mod) {
        time_t t = sm_s3rules_time_parse_http(if_mod);
        if (t >= 0 && modified <= t)
            return 304;
    }
    return 0;
}

/* response-content-type=... and the rest: the header to override. */
static const char *const response_overrides[][2] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"},
};

static void object_headers(s3_call *c, const sm_store_object *obj, int whole)
{
    sm_http_response *resp = c->resp;
    char modified[40];
    sm_s3rules_time_http(obj->modified_ms, modified);
    sm_http_response_header(resp, "ETag", obj->etag);
    sm_http_response_header(resp, "Last-Modified", modified);
    sm_http_response_header(resp, "Accept-Ranges", "bytes");
    for (size_t i = 0;
         i < sizeof response_overrides / sizeof *response_overrides; i++) {
        const char *v = sm_http_param(c->req, response_overrides[i][0]);
        if (v)
            sm_http_response_header(resp, response_overrides[i][1], v);
        else if (i == 0)
            sm_http_response_header(resp, "Content-Type", obj->content_type);
    }
    headers_emit(c, obj->headers);
    const char *mode = sm_http_header(c->req, "x-amz-checksum-mode");
    if (whole && mode && strcasecmp(mode, "ENABLED") == 0 && !obj->parts)
        checksum_echo(c, obj->checksum_algorithm, obj->checksum);
}

static int range_fail(s3_call *c, const char *header, uint64_t size)
{
    sm_http_fail(c->err, 416, "InvalidRange",
                 "The requested range is not satisfiable");
    sm_http_error_extra(c->err, "RangeRequested", "%s", header);
    sm_http_error_extra(c->err, "ActualObjectSize", "%llu",
                        (unsigned long long)size);
    return -1;
}

/* GetObject and HeadObject: the same headers; HEAD sends no bytes. */
static int get_object(s3_call *c)
{
    if (sm_http_param(c->req, "partNumber"))
        return sm_http_fail(c->err, 501, "NotImplemented",
                            "GetObject by partNumber is not offered by "
                            "sagemagic-local");
    sm_store_object obj = {0};
    sm_store_reader *reader = NULL;
    sm_error e = {0};
    sm_store_status st = sm_store_object_open(c->env->store, c->at.bucket,
                                              c->at.key, &obj, &reader, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    int rc = 0, cond = conditions(c, &obj, &get_conditions);
    const char *header = sm_http_header(c->req, "range");
    sm_s3_range range = sm_s3rules_range(header, obj.size);
    if (cond == 412) {
        rc = sm_http_fail(c->err, 412, "PreconditionFailed",
                          "At least one of the pre-conditions you specified "
                          "did not hold");
    } else if (cond == 304) {
        c->resp->status = 304;
        object_headers(c, &obj, 0);
    } else if (range.kind == SM_S3_RANGE_UNSATISFIABLE) {
        rc = range_fail(c, header, obj.size);
    } else {
        int partial = range.kind == SM_S3_RANGE_OK;
        c->resp->status = partial ? 206 : 200;
        object_headers(c, &obj, !partial);
        c->resp->offset = partial ? range.first : 0;
        c->resp->length = partial ? range.last - range.first + 1 : obj.size;
        if (partial)
            sm_http_response_headerf(
                c->resp, "Content-Range", "bytes %llu-%llu/%llu",
                (unsigned long long)range.first, (unsigned long long)range.last,
                (unsigned long long)obj.size);
        c->resp->reader = reader;
        reader = NULL;
    }
    sm_store_reader_close(&reader);
    sm_store_object_clear(&obj);
    return rc;
}

static int delete_object(s3_call *c)
{
    sm_error e = {0};
    sm_store_status st = sm_store_object_delete(c->env->store, c->at.bucket,
                                                c->at.key, NULL, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    c->resp->status = 204;
    return 0;
}

/* ---- multipart uploads -------------------------------------------------- */

/* The x-amz-checksum-algorithm a request names (NONE when it names
 * none), or InvalidRequest for one S3 has not. */
static int checksum_requested(s3_call *c, sm_checksum_algorithm *alg)
{
    const char *name = sm_http_header(c->req, "x-amz-checksum-algorithm");
    *alg = sm_checksum_from_name(name);
    if (name && *alg == SM_CHECKSUM_NONE)
        return sm_http_fail(c->err, 400, "InvalidRequest",
                            "Checksum algorithm %s is not supported", name);
    return 0;
}

static int create_upload(s3_call *c)
{
    sm_store_upload attrs = {0};
    if (checksum_requested(c, &attrs.checksum_algorithm))
        return -1;
    char *headers = headers_json(c);
    if (!headers)
        return -1;
    const char *alg_name = sm_http_header(c->req, "x-amz-checksum-algorithm");
    attrs.content_type = (char *)content_type_of(c->req);
    attrs.headers = headers;
    char id[40];
    sm_error e = {0};
    sm_store_status st = sm_store_upload_create(c->env->store, c->at.bucket,
                                                c->at.key, &attrs, id, &e);
    free(headers);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    if (alg_name)
        sm_http_response_header(c->resp, "x-amz-checksum-algorithm",
                                sm_checksum_name(attrs.checksum_algorithm));
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, "InitiateMultipartUploadResult",
                  S3_XMLNS);
    sm_xmlw_text(&w, "Bucket", c->at.bucket);
    sm_xmlw_text(&w, "Key", c->at.key);
    sm_xmlw_text(&w, "UploadId", id);
    return xml_done(c, &w, "InitiateMultipartUploadResult");
}

/* partNumber as S3 takes it: an integer from 1 to 10,000. */
static int part_number(s3_call *c, const char *text, int *out)
{
    char *end = NULL;
    long n = text ? strtol(text, &end, 10) : 0;
    if (!text || !*text || *end || n < 1 || n > SM_S3_MAX_PARTS)
        return sm_http_fail(c->err, 400, "InvalidArgument",
                            "Part number must be an integer between 1 and "
                            "10000, inclusive");
    *out = (int)n;
    return 0;
}

static int precheck_part(s3_call *c)
{
    int n;
    if (part_number(c, sm_http_param(c->req, "partNumber"), &n))
        return -1;
    sm_error e = {0};
    sm_store_status st =
        sm_store_upload_get(c->env->store, c->at.bucket, c->at.key,
                            sm_http_param(c->req, "uploadId"), NULL, &e);
    return st == SM_STORE_OK ? 0 : fail_store(c, st, &e);
}

static int upload_part(s3_call *c)
{
    int number;
    if (part_number(c, sm_http_param(c->req, "partNumber"), &number))
        return -1;
    sm_store_part part;
    sm_error e = {0};
    sm_store_status st =
        sm_store_upload_part(c->env->store, c->at.bucket, c->at.key,
                             sm_http_param(c->req, "uploadId"), number,
                             c->req->blob, c->req->checksum, &part, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    c->resp->status = 200;
    sm_http_response_header(c->resp, "ETag", part.etag);
    checksum_echo(c, c->req->checksum_algorithm, part.checksum);
    return 0;
}

/* The <Part>s of a CompleteMultipartUpload body into a new array. */
static int complete_parts(s3_call *c, const sm_xml_node *root,
                          sm_store_part_ref **refs, size_t *count)
{
    *refs = NULL;
    *count = 0;
    if (!root || strcmp(sm_xml_name(root), "CompleteMultipartUpload") != 0)
        return fail_xml(c);
    for (const sm_xml_node *p = sm_xml_child(root, "Part"); p;
         p = sm_xml_next(p)) {
        const char *number = sm_xml_child_text(p, "PartNumber");
        const char *etag = sm_xml_child_text(p, "ETag");
        sm_store_part_ref *grown = realloc(*refs, (*count + 1) * sizeof *grown);
        if (!grown)
            return fail_internal(c, "out of memory");
        *refs = grown;
        if (!number || !etag || *count == SM_S3_MAX_PARTS)
            return fail_xml(c);
        if (part_number(c, number, &grown[*count].number))
            return -1;
        grown[(*count)++].etag = etag;
    }
    return *count ? 0 : fail_xml(c);
}

static int complete_upload(s3_call *c)
{
    sm_error e = {0};
    sm_xml_node *root = sm_xml_parse(c->req->body, c->req->body_len, &e);
    sm_store_part_ref *refs = NULL;
    size_t count = 0;
    int rc = complete_parts(c, root, &refs, &count), bad = 0;
    sm_store_object obj = {0};
    sm_store_status st = SM_STORE_OK;
    if (!rc)
        st = sm_store_upload_complete(c->env->store, c->at.bucket, c->at.key,
                                      sm_http_param(c->req, "uploadId"), refs,
                                      count, &obj, &bad, &e);
    if (!rc && st != SM_STORE_OK) {
        rc = fail_store(c, st, &e);
        if (bad && st != SM_STORE_NO_UPLOAD && st != SM_STORE_NO_BUCKET)
            sm_http_error_extra(c->err, "PartNumber", "%d", bad);
    }
    free(refs);
    sm_xml_free(&root);
    if (rc)
        return rc;
    const char *host = sm_http_header(c->req, "host");
    char *key = sm_uri_encode(obj.key, strlen(obj.key), 1);
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, "CompleteMultipartUploadResult",
                  S3_XMLNS);
    sm_buf location = {0};
    sm_buf_printf(&location, "http://%s/%s/%s", host ? host : "localhost",
                  c->at.bucket, key ? key : "");
    sm_xmlw_text(&w, "Location", sm_buf_str(&location));
    sm_xmlw_text(&w, "Bucket", c->at.bucket);
    sm_xmlw_text(&w, "Key", c->at.key);
    sm_xmlw_text(&w, "ETag", obj.etag);
    sm_buf_free(&location);
    free(key);
    sm_store_object_clear(&obj);
    return xml_done(c, &w, "CompleteMultipartUploadResult");
}

static int abort_upload(s3_call *c)
{
    sm_error e = {0};
    sm_store_status st =
        sm_store_upload_abort(c->env->store, c->at.bucket, c->at.key,
                              sm_http_param(c->req, "uploadId"), &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    c->resp->status = 204;
    return 0;
}

static int list_parts(s3_call *c)
{
    size_t max;
    const char *marker_text = sm_http_param(c->req, "part-number-marker");
    int marker = marker_text ? atoi(marker_text) : 0;
    if (page_size(c, "max-parts", &max))
        return -1;
    const char *id = sm_http_param(c->req, "uploadId");
    sm_store_part *parts = NULL;
    size_t count = 0;
    int truncated = 0;
    sm_error e = {0};
    sm_store_status st =
        sm_store_upload_parts(c->env->store, c->at.bucket, c->at.key, id,
                              marker, max, &parts, &count, &truncated, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, "ListPartsResult", S3_XMLNS);
    sm_xmlw_text(&w, "Bucket", c->at.bucket);
    sm_xmlw_text(&w, "Key", c->at.key);
    sm_xmlw_text(&w, "UploadId", id);
    sm_xmlw_textf(&w, "PartNumberMarker", "%d", marker);
    sm_xmlw_textf(&w, "NextPartNumberMarker", "%d",
                  count ? parts[count - 1].number : marker);
    sm_xmlw_textf(&w, "MaxParts", "%zu", max);
    sm_xmlw_text(&w, "IsTruncated", truncated ? "true" : "false");
    for (size_t i = 0; i < count; i++) {
        char modified[32];
        sm_s3rules_time_iso(parts[i].modified_ms, modified);
        sm_xmlw_open(&w, "Part");
        sm_xmlw_textf(&w, "PartNumber", "%d", parts[i].number);
        sm_xmlw_text(&w, "LastModified", modified);
        sm_xmlw_text(&w, "ETag", parts[i].etag);
        sm_xmlw_textf(&w, "Size", "%llu", (unsigned long long)parts[i].size);
        sm_xmlw_close(&w, "Part");
    }
    xml_owner(&w, c->env, "Initiator");
    xml_owner(&w, c->env, "Owner");
    sm_xmlw_text(&w, "StorageClass", "STANDARD");
    free(parts);
    return xml_done(c, &w, "ListPartsResult");
}

static int list_uploads(s3_call *c)
{
    size_t max;
    if (page_size(c, "max-uploads", &max))
        return -1;
    const char *prefix = sm_http_param(c->req, "prefix");
    const char *marker = sm_http_param(c->req, "key-marker");
    sm_store_upload *ups = NULL;
    size_t count = 0;
    int truncated = 0;
    sm_error e = {0};
    sm_store_status st =
        sm_store_upload_list(c->env->store, c->at.bucket, prefix, marker, max,
                             &ups, &count, &truncated, &e);
    if (st != SM_STORE_OK)
        return fail_store(c, st, &e);
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, "ListMultipartUploadsResult", S3_XMLNS);
    sm_xmlw_text(&w, "Bucket", c->at.bucket);
    sm_xmlw_text(&w, "KeyMarker", marker ? marker : "");
    sm_xmlw_text(&w, "UploadIdMarker", "");
    if (truncated && count) {
        sm_xmlw_text(&w, "NextKeyMarker", ups[count - 1].key);
        sm_xmlw_text(&w, "NextUploadIdMarker", ups[count - 1].id);
    }
    sm_xmlw_text(&w, "Prefix", prefix);
    sm_xmlw_textf(&w, "MaxUploads", "%zu", max);
    sm_xmlw_text(&w, "IsTruncated", truncated ? "true" : "false");
    for (size_t i = 0; i < count; i++) {
        char initiated[32];
        sm_s3rules_time_iso(ups[i].initiated_ms, initiated);
        sm_xmlw_open(&w, "Upload");
        sm_xmlw_text(&w, "Key", ups[i].key);
        sm_xmlw_text(&w, "UploadId", ups[i].id);
        xml_owner(&w, c->env, "Initiator");
        xml_owner(&w, c->env, "Owner");
        sm_xmlw_text(&w, "StorageClass", "STANDARD");
        sm_xmlw_text(&w, "Initiated", initiated);
        sm_xmlw_close(&w, "Upload");
        sm_store_upload_clear(&ups[i]);
    }
    free(ups);
    return xml_done(c, &w, "ListMultipartUploadsResult");
}

/* ---- copies ------------------------------------------------------------- */

/* A copy's source: where x-amz-copy-source points, the object there,
 * its open bytes, and the range of them to copy. */
typedef struct copy_source {
    sm_s3_copy_source at;
    sm_store_object obj;
    sm_store_reader *reader;
    sm_s3_copy_range range;
    sm_checksum *sum; /* of the copied bytes, when the target keeps one */
    char checksum[SM_CHECKSUM_B64_MAX];
} copy_source;

static void copy_source_clear(copy_source *src)
{
    sm_s3rules_copy_source_clear(&src->at);
    sm_store_object_clear(&src->obj);
    sm_store_reader_close(&src->reader);
    sm_checksum_destroy(&src->sum);
}

static int fail_argument(s3_call *c, const char *name, const char *value,
                         const char *message)
{
    char *shown =
        sm_utf8_repair(value ? value : "", strlen(value ? value : ""));
    sm_http_fail(c->err, 400, "InvalidArgument", "%s", message);
    sm_http_error_extra(c->err, "ArgumentName", "%s", name);
    sm_http_error_extra(c->err, "ArgumentValue", "%s", shown ? shown : "");
    free(shown);
    return -1;
}

/* x-amz-copy-source into src->at; a version other than "null" (the one
 * version an object has where none are kept) is refused. */
static int copy_source_parse(s3_call *c, copy_source *src)
{
    const char *header = sm_http_header(c->req, "x-amz-copy-source");
    const char *why = NULL;
    if (sm_s3rules_copy_source(header, &src->at, &why))
        return why ? fail_argument(c, "x-amz-copy-source", header, why)
                   : fail_internal(c, "out of memory");
    if (src->at.version_id && strcmp(src->at.version_id, "null") != 0)
        return sm_http_fail(c->err, 501, "NotImplemented",
                            "Copying a version is not offered by "
                            "sagemagic-local, which keeps no object versions: "
                            "name the source without versionId (or with "
                            "versionId=null)");
    return 0;
}

/* The range to copy, or the error S3 answers for it. */
static int copy_source_range(s3_call *c, copy_source *src, const char *header)
{
    src->range = sm_s3rules_copy_range(header, src->obj.size);
    switch (src->range.kind) {
    case SM_S3_COPY_RANGE_MALFORMED:
        return fail_argument(c, "x-amz-copy-source-range", header,
                             "The x-amz-copy-source-range value must be of "
                             "the form bytes=first-last where first and last "
                             "are the zero-based offsets of the first and "
                             "last bytes to copy");
    case SM_S3_COPY_RANGE_OUTSIDE:
        return sm_http_fail(c->err, 400, "InvalidArgument",
                            "Range specified is not valid for source object "
                            "of size: %llu",
                            (unsigned long long)src->obj.size);
    case SM_S3_COPY_RANGE_TOO_LARGE:
        return sm_http_fail(c->err, 400, "InvalidRequest",
                            "The specified copy source is larger than the "
                            "maximum allowable size for a copy source: %llu",
                            (unsigned long long)SM_S3_MAX_PART);
    default:
        return 0;
    }
}

/* The source opened, its conditions and the range (`range_header`, NULL
 * for all of it) checked: S3's order. */
static int copy_source_open(s3_call *c, copy_source *src,
                            const char *range_header)
{
    if (copy_source_parse(c, src))
        return -1;
    sm_error e = {0};
    sm_store_status st =
        sm_store_object_open(c->env->store, src->at.bucket, src->at.key,
                             &src->obj, &src->reader, &e);
    if (st != SM_STORE_OK) {
        s3_call on_source = *c; /* the error names the source */
        on_source.at.bucket = src->at.bucket;
        on_source.at.key = src->at.key;
        return fail_store(&on_source, st, &e);
    }
    if (conditions(c, &src->obj, &copy_conditions))
        return sm_http_fail(c->err, 412, "PreconditionFailed",
                            "At least one of the pre-conditions you specified "
                            "did not hold");
    return copy_source_range(c, src, range_header);
}

/* The source's range copied into a new finished blob (*blob), and
 * through a checksum of algorithm `alg` (NONE: none) into
 * src->checksum. A failure leaves no file behind. */
static int copy_bytes(s3_call *c, copy_source *src, sm_checksum_algorithm alg,
                      sm_store_blob **blob)
{
    sm_error e = {0};
    if (alg != SM_CHECKSUM_NONE && !(src->sum = sm_checksum_new(alg)))
        return fail_internal(c, "out of memory");
    *blob = sm_store_blob_new(c->env->store, &e);
    if (*blob &&
        !sm_store_blob_copy(*blob, src->reader, src->range.first,
                            src->range.length, src->sum, &e) &&
        !sm_store_blob_finish(*blob, NULL, &e)) {
        if (!src->sum || !sm_checksum_final(src->sum, src->checksum))
            return 0;
        sm_error_set(&e, "the copy's checksum failed");
    }
    sm_store_blob_destroy(blob);
    return fail_store(c, SM_STORE_FAILED, &e);
}

/* COPY (the default) or REPLACE: whose content type and metadata the
 * new object takes. */
static int metadata_directive(s3_call *c, int *replace)
{
    const char *v = sm_http_header(c->req, "x-amz-metadata-directive");
    *replace = v && strcmp(v, "REPLACE") == 0;
    if (v && !*replace && strcmp(v, "COPY") != 0)
        return fail_argument(c, "x-amz-metadata-directive", v,
                             "Unknown metadata directive.");
    return 0;
}

/* Headers S3 takes as changing an object copied onto itself besides its
 * metadata, which makes such a copy legal (the local service keeps one
 * storage class and no encryption: the copy rewrites the same bytes). */
static const char *const self_copy_changes[] = {
    "x-amz-storage-class",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
};

static int self_copy_check(s3_call *c, const copy_source *src, int replace)
{
    if (replace || strcmp(src->at.bucket, c->at.bucket) != 0 ||
        strcmp(src->at.key, c->at.key) != 0)
        return 0;
    for (size_t i = 0; i < sizeof self_copy_changes / sizeof(char *); i++) {
        if (sm_http_header(c->req, self_copy_changes[i]))
            return 0;
    }
    return sm_http_fail(c->err, 400, "InvalidRequest",
                        "This copy request is illegal because it is trying "
                        "to copy an object to itself without changing the "
                        "object's metadata, storage class, website redirect "
                        "location or encryption attributes.");
}

/* Store the copied blob at the request's key with the source's content
 * type and metadata, or the request's; its checksum is the one computed
 * on the way, else a whole single-part source's, which holds for the
 * copy too. */
static int copy_put(s3_call *c, const copy_source *src, sm_store_blob *blob,
                    int replace, sm_store_object *out)
{
    char *headers = replace ? headers_json(c) : NULL;
    if (replace && !headers)
        return -1;
    sm_store_object attrs = {0};
    attrs.content_type =
        replace ? (char *)content_type_of(c->req) : src->obj.content_type;
    attrs.headers = replace ? headers : src->obj.headers;
    if (src->sum) {
        attrs.checksum_algorithm = sm_checksum_algorithm_of(src->sum);
        memcpy(attrs.checksum, src->checksum, sizeof attrs.checksum);
    } else if (!src->obj.parts && src->range.length == src->obj.size) {
        attrs.checksum_algorithm = src->obj.checksum_algorithm;
        memcpy(attrs.checksum, src->obj.checksum, sizeof attrs.checksum);
    }
    sm_error e = {0};
    sm_store_status st = sm_store_object_put(c->env->store, c->at.bucket,
                                             c->at.key, blob, &attrs, out, &e);
    free(headers);
    return st == SM_STORE_OK ? 0 : fail_store(c, st, &e);
}

/* What a copy's answer says of the new object or part. */
typedef struct copy_made {
    int64_t modified_ms;
    const char *etag;
    sm_checksum_algorithm algorithm;
    const char *checksum; /* "" or NULL: none */
} copy_made;

/* <CopyObjectResult> or <CopyPartResult>, with <ChecksumCRC32> (and
 * the like) when the copy has a checksum. */
static int copy_result(s3_call *c, const char *root, const copy_made *made)
{
    char modified[32], element[32];
    sm_s3rules_time_iso(made->modified_ms, modified);
    sm_xmlw w;
    sm_xmlw_begin(&w, &c->resp->body, root, S3_XMLNS);
    sm_xmlw_text(&w, "LastModified", modified);
    sm_xmlw_text(&w, "ETag", made->etag);
    const char *name = sm_checksum_name(made->algorithm);
    if (name && made->checksum && made->checksum[0]) {
        snprintf(element, sizeof element, "Checksum%s", name);
        sm_xmlw_text(&w, element, made->checksum);
    }
    return xml_done(c, &w, root);
}

static int precheck_copy(s3_call *c)
{
    copy_source src = {0};
    sm_checksum_algorithm alg;
    int replace = 0;
    int rc = copy_source_parse(c, &src);
    if (!rc)
        rc = metadata_directive(c, &replace);
    if (!rc)
        rc = checksum_requested(c, &alg);
    if (!rc)
        rc = precheck_bucket(c);
    copy_source_clear(&src);
    return rc;
}

/* CopyObject: a new single-part object from the source's bytes. */
static int copy_object(s3_call *c)
{
    copy_source src = {0};
    sm_store_blob *blob = NULL;
    sm_store_object obj = {0};
    sm_checksum_algorithm alg;
    int replace = 0;
    int rc = metadata_directive(c, &replace);
    if (!rc)
        rc = checksum_requested(c, &alg);
    if (!rc)
        rc = copy_source_open(c, &src, NULL);
    if (!rc)
        rc = self_copy_check(c, &src, replace);
    if (!rc)
        rc = copy_bytes(c, &src, alg, &blob);
    if (!rc)
        rc = copy_put(c, &src, blob, replace, &obj);
    copy_made made = {obj.modified_ms, obj.etag, obj.checksum_algorithm,
                      obj.checksum};
    if (!rc)
        rc = copy_result(c, "CopyObjectResult", &made);
    sm_store_blob_destroy(&blob);
    sm_store_object_clear(&obj);
    copy_source_clear(&src);
    return rc;
}

static int precheck_part_copy(s3_call *c)
{
    copy_source src = {0};
    int rc = copy_source_parse(c, &src);
    copy_source_clear(&src);
    return rc ? rc : precheck_part(c);
}

/* The checksum algorithm the upload `c` names was started with. */
static int upload_algorithm(s3_call *c, sm_checksum_algorithm *alg)
{
    sm_store_upload upload = {0};
    sm_error e = {0};
    sm_store_status st =
        sm_store_upload_get(c->env->store, c->at.bucket, c->at.key,
                            sm_http_param(c->req, "uploadId"), &upload, &e);
    *alg = upload.checksum_algorithm;
    sm_store_upload_clear(&upload);
    return st == SM_STORE_OK ? 0 : fail_store(c, st, &e);
}

/* UploadPartCopy: a part from the source's bytes, or a range of them,
 * with the checksum its upload keeps. */
static int upload_part_copy(s3_call *c)
{
    copy_source src = {0};
    sm_store_blob *blob = NULL;
    sm_store_part part = {0};
    sm_checksum_algorithm alg = SM_CHECKSUM_NONE;
    int number;
    int rc = part_number(c, sm_http_param(c->req, "partNumber"), &number);
    if (!rc)
        rc = upload_algorithm(c, &alg);
    if (!rc)
        rc = copy_source_open(
            c, &src, sm_http_header(c->req, "x-amz-copy-source-range"));
    if (!rc)
        rc = copy_bytes(c, &src, alg, &blob);
    if (!rc) {
        sm_error e = {0};
        sm_store_status st =
            sm_store_upload_part(c->env->store, c->at.bucket, c->at.key,
                                 sm_http_param(c->req, "uploadId"), number,
                                 blob, src.checksum, &part, &e);
        rc = st == SM_STORE_OK ? 0 : fail_store(c, st, &e);
    }
    copy_made made = {part.modified_ms, part.etag, alg, src.checksum};
    if (!rc)
        rc = copy_result(c, "CopyPartResult", &made);
    sm_store_blob_destroy(&blob);
    copy_source_clear(&src);
    return rc;
}

/* ---- the operations ----------------------------------------------------- */

/* First match wins: rows that need a subresource or a header come before
 * the plain row of the same method and level. */
static const s3_op ops[] = {
    {"GET", LEVEL_SERVICE, NULL, NULL, "ListBuckets", BODY_NONE, list_buckets,
     NULL},
    {"PUT", LEVEL_BUCKET, NULL, NULL, "CreateBucket", BODY_XML, create_bucket,
     NULL},
    {"HEAD", LEVEL_BUCKET, NULL, NULL, "HeadBucket", BODY_NONE, head_bucket,
     NULL},
    {"DELETE", LEVEL_BUCKET, NULL, NULL, "DeleteBucket", BODY_NONE,
     delete_bucket, NULL},
    {"GET", LEVEL_BUCKET, "location", NULL, "GetBucketLocation", BODY_NONE,
     bucket_location, NULL},
    {"GET", LEVEL_BUCKET, "uploads", NULL, "ListMultipartUploads", BODY_NONE,
     list_uploads, NULL},
    {"GET", LEVEL_BUCKET, "list-type", NULL, "ListObjectsV2", BODY_NONE,
     list_objects_v2, NULL},
    {"GET", LEVEL_BUCKET, NULL, NULL, "ListObjects", BODY_NONE, list_objects_v1,
     NULL},
    {"POST", LEVEL_BUCKET, "delete", NULL, "DeleteObjects", BODY_XML,
     delete_objects, precheck_bucket},
    {"PUT", LEVEL_OBJECT, "uploadId", "x-amz-copy-source", "UploadPartCopy",
     BODY_COPY, upload_part_copy, precheck_part_copy},
    {"PUT", LEVEL_OBJECT, "uploadId", NULL, "UploadPart", BODY_STREAM,
     upload_part, precheck_part},
    {"PUT", LEVEL_OBJECT, NULL, "x-amz-copy-source", "CopyObject", BODY_COPY,
     copy_object, precheck_copy},
    {"PUT", LEVEL_OBJECT, NULL, NULL, "PutObject", BODY_STREAM, put_object,
     precheck_bucket},
    {"GET", LEVEL_OBJECT, "uploadId", NULL, "ListParts", BODY_NONE, list_parts,
     NULL},
    {"GET", LEVEL_OBJECT, NULL, NULL, "GetObject", BODY_NONE, get_object, NULL},
    {"HEAD", LEVEL_OBJECT, NULL, NULL, "HeadObject", BODY_NONE, get_object,
     NULL},
    {"DELETE", LEVEL_OBJECT, "uploadId", NULL, "AbortMultipartUpload",
     BODY_NONE, abort_upload, NULL},
    {"DELETE", LEVEL_OBJECT, NULL, NULL, "DeleteObject", BODY_NONE,
     delete_object, NULL},
    {"POST", LEVEL_OBJECT, "uploads", NULL, "CreateMultipartUpload", BODY_NONE,
     create_upload, NULL},
    {"POST", LEVEL_OBJECT, "uploadId", NULL, "CompleteMultipartUpload",
     BODY_XML, complete_upload, NULL},
};
#define OP_COUNT ((int)(sizeof ops / sizeof ops[0]))

/* Subresources S3 has and the local service does not: refused, never
 * mistaken for the plain operation. */
static const char *const unsupported[] = {
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "versioning",
    "versions",
    "website",
};

static int op_find(s3_call *c)
{
    const sm_http_request *req = c->req;
    for (size_t i = 0; i < sizeof unsupported / sizeof(char *); i++) {
        if (sm_http_param(req, unsupported[i]))
            return sm_http_fail(c->err, 501, "NotImplemented",
                                "The ?%s subresource is not offered by "
                                "sagemagic-local",
                                unsupported[i]);
    }
    for (int i = 0; i < OP_COUNT; i++) {
        if (ops[i].level == c->at.level &&
            strcmp(ops[i].method, req->method) == 0 &&
            (!ops[i].param || sm_http_param(req, ops[i].param)) &&
            (!ops[i].header || sm_http_header(req, ops[i].header)))
            return i;
    }
    return sm_http_fail(c->err, 405, "MethodNotAllowed",
                        "The specified method is not allowed against this "
                        "resource.");
}

static void body_plan(const s3_op *op, sm_route_body *body)
{
    if (op->body == BODY_STREAM) {
        *body = (sm_route_body){
            .stream = 1,
            .limit = SM_S3_MAX_PART,
            .too_large_status = 400,
            .too_large_code = "EntityTooLarge",
            .too_large_message = "Your proposed upload exceeds the maximum "
                                 "allowed size (5 GiB).",
        };
    } else {
        *body = (sm_route_body){
            .limit = op->body == BODY_XML ? S3_MAX_XML : S3_MAX_NO_BODY,
            .too_large_status = 400,
            .too_large_code = "MaxMessageLengthExceeded",
            .too_large_message = "Your request was too big.",
            .slow = op->body == BODY_COPY,
        };
    }
}

int sm_s3srv_plan(sm_local_env *env, sm_http_request *req, sm_route_body *body,
                  sm_http_error *err)
{
    s3_call c = {env, req, NULL, err, {0}};
    int rc = address_parse(&c);
    int op = rc ? -1 : op_find(&c);
    if (op >= 0) {
        req->op = op;
        body_plan(&ops[op], body);
        rc = ops[op].precheck ? ops[op].precheck(&c) : 0;
    }
    address_clear(&c.at);
    return op >= 0 ? rc : -1;
}

int sm_s3srv_handle(sm_local_env *env, sm_http_request *req,
                    sm_http_response *resp, sm_http_error *err)
{
    s3_call c = {env, req, resp, err, {0}};
    int rc = address_parse(&c);
    if (!rc && (req->op < 0 || req->op >= OP_COUNT))
        rc = fail_internal(&c, "a request was handled without a plan");
    if (!rc)
        rc = ops[req->op].handle(&c);
    address_clear(&c.at);
    return rc;
}

const char *sm_s3srv_operation(const sm_http_request *req)
{
    return req->op >= 0 && req->op < OP_COUNT ? ops[req->op].name : NULL;
}
