/* s3: names, planning, request bodies, listings, and the one-request
 * operations on objects and buckets; transfers are in s3_transfer.c. */
#include "s3.h"

#include <ctype.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "hex.h"
#include "md5.h"
#include "s3_private.h"
#include "sha256.h"
#include "uri.h"
#include "utf8.h"
#include "xml.h"

#define MIB ((uint64_t)1 << 20)

/* ---- errors ------------------------------------------------------------- */

static int error_is_set(const sm_aws_error *err)
{
    return err->code[0] || err->message[0] || err->http_status;
}

static void error_names(sm_aws_error *err, const char *operation)
{
    snprintf(err->service, sizeof err->service, "s3");
    snprintf(err->operation, sizeof err->operation, "%s", operation);
}

int sm_s3_fail(sm_aws_error *err, const char *operation, const char *code,
               const char *fmt, ...)
{
    if (!err || error_is_set(err))
        return -1;
    error_names(err, operation);
    snprintf(err->code, sizeof err->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

void sm_s3_error_keep(sm_aws_error *to, const sm_aws_error *from)
{
    if (to && !error_is_set(to))
        *to = *from;
}

int sm_s3_xml_error(const sm_xml_node *root, const char *operation, long status,
                    sm_aws_error *err)
{
    if (!root || strcmp(sm_xml_name(root), "Error") != 0)
        return 0;
    const char *code = sm_xml_child_text(root, "Code");
    const char *message = sm_xml_child_text(root, "Message");
    const char *request_id = sm_xml_child_text(root, "RequestId");
    if (error_is_set(err))
        return -1;
    error_names(err, operation);
    err->http_status = status;
    snprintf(err->code, sizeof err->code, "%s", code ? code : "InternalError");
    snprintf(err->message, sizeof err->message, "%s",
             message ? message : "S3 answered with an error document");
    snprintf(err->request_id, sizeof err->request_id, "%s",
             request_id ? request_id : "");
    return -1;
}

sm_xml_node *sm_s3_parse_body(const sm_aws_response *resp,
                              const char *operation, sm_aws_error *err)
{
    sm_error xerr = {{0}};
    sm_xml_node *root =
        sm_xml_parse(resp->body ? resp->body : "", resp->body_len, &xerr);
    if (!root)
        sm_s3_fail(err, operation, "MalformedResponse",
                   "the response is not XML S3 would send: %s", xerr.message);
    else if (sm_s3_xml_error(root, operation, resp->status, err))
        sm_xml_free(&root);
    return root;
}

int sm_s3_error_not_found(const sm_aws_error *err)
{
    static const char *const codes[] = {"NoSuchKey", "NoSuchBucket", "NotFound",
                                        "404"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(err->code, codes[i]) == 0)
            return 1;
    return err->http_status == 404;
}

/* ---- digests ------------------------------------------------------------ */

/* MD5 and SHA-256 of the same bytes in one pass. */
typedef struct digest_ctx {
    sm_md5 md5;
    sm_sha256 sha256;
} digest_ctx;

static void digest_begin(digest_ctx *d)
{
    sm_md5_init(&d->md5);
    sm_sha256_init(&d->sha256);
}

static void digest_update(digest_ctx *d, const void *data, size_t len)
{
    sm_md5_update(&d->md5, data, len);
    sm_sha256_update(&d->sha256, data, len);
}

static void digest_end(digest_ctx *d, sm_s3_digest *out)
{
    unsigned char sha[SM_SHA256_SIZE];
    sm_md5_final(&d->md5, out->md5);
    sm_sha256_final(&d->sha256, sha);
    sodium_bin2base64(out->md5_base64, sizeof out->md5_base64, out->md5, 16,
                      sodium_base64_VARIANT_ORIGINAL);
    sm_hex(out->md5, 16, out->md5_hex);
    sm_hex(sha, sizeof sha, out->sha256_hex);
}

int sm_s3_digest_bytes(const void *data, size_t len, sm_s3_digest *out)
{
    digest_ctx d;
    digest_begin(&d);
    digest_update(&d, data, len);
    digest_end(&d, out);
    return 0;
}

int sm_s3_digest_file(int fd, uint64_t offset, uint64_t len, sm_s3_digest *out)
{
    enum { CHUNK = 1 << 20 };
    digest_ctx d;
    char *buf = malloc(CHUNK);
    int rc = buf ? 0 : -1;
    digest_begin(&d);
    while (!rc && len > 0) {
        size_t want = len < CHUNK ? (size_t)len : CHUNK;
        ssize_t got = pread(fd, buf, want, (off_t)offset);
        if (got <= 0) {
            rc = -1; /* an error, or the file shrank under us */
            break;
        }
        digest_update(&d, buf, (size_t)got);
        offset += (uint64_t)got;
        len -= (uint64_t)got;
    }
    free(buf);
    digest_end(&d, out);
    return rc;
}

int sm_s3_etag_md5(const char *etag, char hex[33])
{
    size_t len = etag ? strlen(etag) : 0;
    if (len == 34 && etag[0] == '"' && etag[33] == '"') {
        etag++;
        len = 32;
    }
    if (len != 32)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        if (!isxdigit((unsigned char)etag[i]))
            return 0;
        hex[i] = (char)tolower((unsigned char)etag[i]);
    }
    hex[32] = '\0';
    return 1;
}

int sm_s3_etag_checkable(const sm_aws_response *resp)
{
    const char *sse =
        sm_aws_response_header(resp, "x-amz-server-side-encryption");
    if (sse && strncmp(sse, "aws:kms", 7) == 0)
        return 0;
    return !sm_aws_response_header(
        resp, "x-amz-server-side-encryption-customer-algorithm");
}

void sm_s3_head_from_response(const sm_aws_response *resp, sm_s3_head *out)
{
    const char *v;
    char hex[33];
    memset(out, 0, sizeof *out);
    /* A ranged response's Content-Range ("bytes 0-99/1234") holds the size
     * of the whole object; Content-Length only that of the range. */
    if ((v = sm_aws_response_header(resp, "content-range")) &&
        (v = strchr(v, '/')) && v[1] != '*')
        out->size = strtoull(v + 1, NULL, 10);
    else if ((v = sm_aws_response_header(resp, "content-length")))
        out->size = strtoull(v, NULL, 10);
    if ((v = sm_aws_response_header(resp, "etag")))
        snprintf(out->etag, sizeof out->etag, "%s", v);
    if ((v = sm_aws_response_header(resp, "content-type")))
        snprintf(out->content_type, sizeof out->content_type, "%s", v);
    if ((v = sm_aws_response_header(resp, "last-modified"))) {
        struct tm tm = {0};
        snprintf(out->last_modified, sizeof out->last_modified, "%s", v);
        const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        out->mtime = end && !*end ? timegm(&tm) : 0;
    }
    out->etag_is_md5 =
        sm_s3_etag_md5(out->etag, hex) && sm_s3_etag_checkable(resp);
}

/* ---- names -------------------------------------------------------------- */

static int is_ipv4(const char *s)
{
    int groups = 0, digits = 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (!digits)
                return 0;
            groups++;
            digits = 0;
        } else if (isdigit((unsigned char)*s)) {
            digits++;
        } else {
            return 0;
        }
    }
    return groups == 3 && digits > 0;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int sm_s3_bucket_name_check(const char *name, sm_error *err)
{
    static const char *const prefixes[] = {"xn--", "sthree-", "amzn-s3-demo-"};
    static const char *const suffixes[] = {"-s3alias", "--ol-s3", ".mrap",
                                           "--x-s3", "--table-s3"};
    size_t len = name ? strlen(name) : 0;
    if (len < 3 || len > SM_S3_BUCKET_MAX)
        return sm_error_set(err,
                            "bucket name '%s' must be 3 to 63 characters long",
                            name ? name : "");
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) ||
              c == '.' || c == '-'))
            return sm_error_set(err,
                                "bucket name '%s' may hold only lower-case "
                                "letters, digits, '.' and '-'",
                                name);
    }
    if (!isalnum((unsigned char)name[0]) ||
        !isalnum((unsigned char)name[len - 1]))
        return sm_error_set(err,
                            "bucket name '%s' must begin and end with a "
                            "letter or digit",
                            name);
    if (strstr(name, ".."))
        return sm_error_set(err, "bucket name '%s' must not hold '..'", name);
    if (is_ipv4(name))
        return sm_error_set(err, "bucket name '%s' must not be an IP address",
                            name);
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return sm_error_set(err, "bucket name '%s' must not begin with %s",
                                name, prefixes[i]);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (has_suffix(name, suffixes[i]))
            return sm_error_set(err, "bucket name '%s' must not end with %s",
                                name, suffixes[i]);
    return 0;
}

int sm_s3_uri_parse(const char *uri, sm_s3_uri *out, sm_error *err)
{
    memset(out, 0, sizeof *out);
    if (!uri || strncmp(uri, "s3://", 5) != 0)
        return sm_error_set(err, "'%s' is not an S3 URI (s3://bucket/key)",
                            uri ? uri : "");
    const char *bucket = uri + 5, *slash = strchr(bucket, '/');
    size_t blen = slash ? (size_t)(slash - bucket) : strlen(bucket);
    const char *key = slash ? slash + 1 : "";
    if (blen == 0)
        return sm_error_set(err, "'%s' names no bucket (s3://bucket/key)", uri);
    if (blen > SM_S3_BUCKET_MAX)
        return sm_error_set(err,
                            "the bucket name in '%s' is over 63 "
                            "characters",
                            uri);
    memcpy(out->bucket, bucket, blen);
    out->bucket[blen] = '\0';
    if (sm_s3_bucket_name_check(out->bucket, err))
        return -1;
    size_t klen = strlen(key);
    if (klen > SM_S3_KEY_MAX)
        return sm_error_set(err,
                            "the key of s3://%s/... is %zu bytes long; "
                            "S3 takes 1,024 at most",
                            out->bucket, klen);
    if (!sm_utf8_valid(key, klen))
        return sm_error_set(err, "the key of s3://%s/... is not valid UTF-8",
                            out->bucket);
    memcpy(out->key, key, klen + 1);
    return 0;
}

char *sm_s3_path(const char *bucket, const char *key)
{
    sm_buf b = {0};
    char *enc = key && *key ? sm_uri_encode(key, strlen(key), 1) : NULL;
    int rc = sm_buf_printf(&b, "/%s", bucket);
    if (!rc && key && *key)
        rc = enc ? sm_buf_printf(&b, "/%s", enc) : -1;
    free(enc);
    if (rc) {
        sm_buf_free(&b);
        return NULL;
    }
    return sm_buf_take(&b);
}

int sm_s3_default_bucket_name(const char *region, const char *account,
                              char *out, size_t size)
{
    if (!region || !*region || !account || !*account)
        return -1;
    int n = snprintf(out, size, "sagemaker-%s-%s", region, account);
    if (n < 0 || (size_t)n >= size)
        return -1;
    return sm_s3_bucket_name_check(out, NULL);
}

/* ---- planning ----------------------------------------------------------- */

int sm_s3_plan_parts(uint64_t size, uint64_t threshold, uint64_t part_size,
                     sm_s3_plan *out, sm_error *err)
{
    const uint64_t max_object = SM_S3_MAX_PART_SIZE * SM_S3_MAX_PARTS;
    if (!threshold)
        threshold = SM_S3_DEFAULT_THRESHOLD;
    if (!part_size)
        part_size = SM_S3_DEFAULT_PART_SIZE;
    if (part_size < SM_S3_MIN_PART_SIZE)
        part_size = SM_S3_MIN_PART_SIZE;
    if (part_size > SM_S3_MAX_PART_SIZE)
        part_size = SM_S3_MAX_PART_SIZE;
    memset(out, 0, sizeof *out);
    if (size > max_object)
        return sm_error_set(err,
                            "%llu bytes is more than S3 can store in one "
                            "object (10,000 parts of 5 GiB)",
                            (unsigned long long)size);
    if (size < threshold && size <= SM_S3_MAX_PUT_SIZE) {
        out->part_size = size;
        out->part_count = 1;
        return 0;
    }
    /* The smallest whole number of MiB that keeps to 10,000 parts. */
    uint64_t least = (size + SM_S3_MAX_PARTS - 1) / SM_S3_MAX_PARTS;
    least = (least + MIB - 1) / MIB * MIB;
    if (part_size < least)
        part_size = least < SM_S3_MAX_PART_SIZE ? least : SM_S3_MAX_PART_SIZE;
    out->multipart = 1;
    out->part_size = part_size;
    out->part_count = (uint32_t)((size + part_size - 1) / part_size);
    if (out->part_count == 0)
        out->part_count = 1;
    return 0;
}

/* ---- request bodies ----------------------------------------------------- */

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

char *sm_s3_complete_body(const sm_s3_part *parts, size_t count)
{
    sm_buf b = {0};
    int rc = count ? 0 : -1;
    if (!rc)
        rc =
            sm_buf_puts(&b, "<CompleteMultipartUpload xmlns=\"" S3_XMLNS "\">");
    for (size_t i = 0; !rc && i < count; i++) {
        if (parts[i].number < 1 || parts[i].number > SM_S3_MAX_PARTS ||
            (i && parts[i].number <= parts[i - 1].number)) {
            rc = -1;
            break;
        }
        char *etag = sm_xml_escape(parts[i].etag);
        rc = etag ? sm_buf_printf(&b, "<Part><ETag>%s</ETag>", etag) : -1;
        if (!rc && parts[i].crc32c[0])
            rc = sm_buf_printf(&b, "<ChecksumCRC32C>%s</ChecksumCRC32C>",
                               parts[i].crc32c);
        if (!rc)
            rc = sm_buf_printf(&b, "<PartNumber>%u</PartNumber></Part>",
                               (unsigned)parts[i].number);
        free(etag);
    }
    if (!rc)
        rc = sm_buf_puts(&b, "</CompleteMultipartUpload>");
    if (rc) {
        sm_buf_free(&b);
        return NULL;
    }
    return sm_buf_take(&b);
}

static int xml_writable(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return 0;
    }
    return 1;
}

char *sm_s3_delete_body(const char *const *keys, size_t count)
{
    sm_buf b = {0};
    int rc = count && count <= SM_S3_DELETE_BATCH ? 0 : -1;
    if (!rc)
        rc = sm_buf_puts(&b, "<Delete xmlns=\"" S3_XMLNS "\"><Quiet>true"
                             "</Quiet>");
    for (size_t i = 0; !rc && i < count; i++) {
        char *key = xml_writable(keys[i]) ? sm_xml_escape(keys[i]) : NULL;
        rc =
            key ? sm_buf_printf(&b, "<Object><Key>%s</Key></Object>", key) : -1;
        free(key);
    }
    if (!rc)
        rc = sm_buf_puts(&b, "</Delete>");
    if (rc) {
        sm_buf_free(&b);
        return NULL;
    }
    return sm_buf_take(&b);
}

/* ---- listings ----------------------------------------------------------- */

/* S3's encoding-type=url: form encoding, '+' for a space. */
static char *url_decode(const char *s)
{
    size_t len = strlen(s), out_len = 0;
    char *plus = strdup(s);
    if (!plus)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (plus[i] == '+')
            plus[i] = ' ';
    char *out = sm_uri_decode(plus, len, &out_len);
    free(plus);
    if (out && strlen(out) != out_len) { /* %00: no key holds a NUL */
        free(out);
        return NULL;
    }
    return out;
}

static char *text_copy(const char *s, int decode)
{
    if (!s)
        return NULL;
    return decode ? url_decode(s) : strdup(s);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    *out = strtoull(s, &end, 10);
    return *end ? -1 : 0;
}

static size_t child_count(const sm_xml_node *root, const char *name)
{
    size_t n = 0;
    for (const sm_xml_node *c = sm_xml_child(root, name); c; c = sm_xml_next(c))
        n++;
    return n;
}

static int entry_parse(const sm_xml_node *node, int decode, sm_s3_entry *e,
                       sm_error *err)
{
    const char *key = sm_xml_child_text(node, "Key");
    e->key = text_copy(key, decode);
    e->etag = text_copy(sm_xml_child_text(node, "ETag"), 0);
    e->last_modified = text_copy(sm_xml_child_text(node, "LastModified"), 0);
    e->storage_class = text_copy(sm_xml_child_text(node, "StorageClass"), 0);
    if (!key || !e->key)
        return sm_error_set(err, "ListObjectsV2: an entry has no valid Key");
    if (parse_u64(sm_xml_child_text(node, "Size"), &e->size))
        return sm_error_set(err, "ListObjectsV2: '%s' has no valid Size",
                            e->key);
    return 0;
}

static int page_alloc(sm_s3_page *out, size_t objects, size_t prefixes,
                      sm_error *err)
{
    out->objects = calloc(objects ? objects : 1, sizeof *out->objects);
    out->prefixes = calloc(prefixes ? prefixes : 1, sizeof *out->prefixes);
    if (!out->objects || !out->prefixes)
        return sm_error_set(err, "out of memory");
    return 0;
}

static int list_fill(const sm_xml_node *root, int decode, sm_s3_page *out,
                     sm_error *err)
{
    const char *truncated = sm_xml_child_text(root, "IsTruncated");
    const char *token = sm_xml_child_text(root, "NextContinuationToken");
    if (page_alloc(out, child_count(root, "Contents"),
                   child_count(root, "CommonPrefixes"), err))
        return -1;
    for (const sm_xml_node *c = sm_xml_child(root, "Contents"); c;
         c = sm_xml_next(c))
        if (entry_parse(c, decode, &out->objects[out->object_count++], err))
            return -1;
    for (const sm_xml_node *c = sm_xml_child(root, "CommonPrefixes"); c;
         c = sm_xml_next(c)) {
        char *p = text_copy(sm_xml_child_text(c, "Prefix"), decode);
        if (!p)
            return sm_error_set(err, "ListObjectsV2: a common prefix has no "
                                     "valid Prefix");
        out->prefixes[out->prefix_count++] = p;
    }
    out->truncated = truncated && strcmp(truncated, "true") == 0;
    if (out->truncated && (!token || !*token))
        return sm_error_set(err, "ListObjectsV2: a truncated page without "
                                 "NextContinuationToken");
    if (out->truncated && !(out->next_token = strdup(token)))
        return sm_error_set(err, "out of memory");
    return 0;
}

int sm_s3_list_parse(const char *xml, size_t len, int url_encoded,
                     sm_s3_page *out, sm_error *err)
{
    sm_xml_node *root = sm_xml_parse(xml, len, err);
    int rc = root ? 0 : -1;
    if (!rc && strcmp(sm_xml_name(root), "ListBucketResult") != 0)
        rc = sm_error_set(err,
                          "ListObjectsV2: the response is <%s>, not "
                          "<ListBucketResult>",
                          sm_xml_name(root));
    if (!rc) {
        const char *enc = sm_xml_child_text(root, "EncodingType");
        int decode = url_encoded && enc && strcmp(enc, "url") == 0;
        rc = list_fill(root, decode, out, err);
    }
    sm_xml_free(&root);
    return rc;
}

int sm_s3_buckets_parse(const char *xml, size_t len, sm_s3_page *out,
                        sm_error *err)
{
    sm_xml_node *root = sm_xml_parse(xml, len, err);
    const sm_xml_node *buckets = sm_xml_child(root, "Buckets");
    int rc = root ? 0 : -1;
    if (!rc && strcmp(sm_xml_name(root), "ListAllMyBucketsResult") != 0)
        rc = sm_error_set(err,
                          "ListBuckets: the response is <%s>, not "
                          "<ListAllMyBucketsResult>",
                          sm_xml_name(root));
    if (!rc)
        rc = page_alloc(out, child_count(buckets, "Bucket"), 0, err);
    for (const sm_xml_node *b = sm_xml_child(buckets, "Bucket"); !rc && b;
         b = sm_xml_next(b)) {
        sm_s3_entry *e = &out->objects[out->object_count++];
        e->key = text_copy(sm_xml_child_text(b, "Name"), 0);
        e->last_modified = text_copy(sm_xml_child_text(b, "CreationDate"), 0);
        if (!e->key)
            rc = sm_error_set(err, "ListBuckets: a bucket has no Name");
    }
    sm_xml_free(&root);
    return rc;
}

void sm_s3_page_clear(sm_s3_page *page)
{
    for (size_t i = 0; i < page->object_count; i++) {
        free(page->objects[i].key);
        free(page->objects[i].etag);
        free(page->objects[i].last_modified);
        free(page->objects[i].storage_class);
    }
    for (size_t i = 0; i < page->prefix_count; i++)
        free(page->prefixes[i]);
    free(page->objects);
    free(page->prefixes);
    free(page->next_token);
    memset(page, 0, sizeof *page);
}

/* "list-type=2&..." with every value encoded; names in sorted order. */
static char *list_query(const sm_s3_list *req, const char *token)
{
    sm_buf b = {0};
    const char *pairs[][2] = {
        {"continuation-token", token},
        {"delimiter", req->delimiter},
        {"encoding-type", "url"},
        {"list-type", "2"},
        {"max-keys", NULL},
        {"prefix", req->prefix},
    };
    char max_keys[16];
    int rc = 0;
    snprintf(max_keys, sizeof max_keys, "%d",
             req->max_keys > 0 ? req->max_keys : 1000);
    pairs[4][1] = max_keys;
    for (size_t i = 0; !rc && i < sizeof pairs / sizeof pairs[0]; i++) {
        if (!pairs[i][1] || !*pairs[i][1])
            continue;
        char *v = sm_uri_encode(pairs[i][1], strlen(pairs[i][1]), 0);
        rc = v ? sm_buf_printf(&b, "%s%s=%s", b.len ? "&" : "", pairs[i][0], v)
               : -1;
        free(v);
    }
    if (rc) {
        sm_buf_free(&b);
        return NULL;
    }
    return sm_buf_take(&b);
}

static int list_page(sm_aws *aws, const sm_s3_list *req, const char *token,
                     sm_s3_page *page, sm_aws_error *err)
{
    static const char op[] = "ListObjectsV2";
    char *path = sm_s3_path(req->bucket, NULL);
    char *query = list_query(req, token);
    sm_aws_response resp = {0};
    sm_error perr = {{0}};
    int rc = path && query ? 0 : sm_s3_fail(err, op, "", "out of memory");
    if (!rc) {
        sm_aws_rest r = {.service = SM_AWS_S3,
                         .operation = op,
                         .method = "GET",
                         .path = path,
                         .query = query};
        rc = sm_aws_rest_call(aws, &r, &resp, err);
    }
    if (!rc && sm_s3_list_parse(resp.body ? resp.body : "", resp.body_len, 1,
                                page, &perr))
        rc = sm_s3_fail(err, op, "MalformedResponse", "%s", perr.message);
    sm_aws_response_clear(&resp);
    free(path);
    free(query);
    return rc;
}

int sm_s3_list_objects(sm_aws *aws, const sm_s3_list *req, sm_s3_page_fn fn,
                       void *ctx, sm_aws_error *err)
{
    char *token = NULL;
    int rc = 0, stop = 0;
    do {
        sm_s3_page page = {0};
        rc = list_page(aws, req, token, &page, err);
        free(token);
        token = NULL;
        if (!rc)
            stop = fn(ctx, &page);
        if (!rc && !stop && page.truncated) {
            token = page.next_token; /* steal it for the next request */
            page.next_token = NULL;
        }
        sm_s3_page_clear(&page);
    } while (!rc && token);
    return rc;
}

int sm_s3_list_buckets(sm_aws *aws, sm_s3_page *out, sm_aws_error *err)
{
    static const char op[] = "ListBuckets";
    sm_aws_rest r = {
        .service = SM_AWS_S3, .operation = op, .method = "GET", .path = "/"};
    sm_aws_response resp = {0};
    sm_error perr = {{0}};
    int rc = sm_aws_rest_call(aws, &r, &resp, err);
    if (!rc && sm_s3_buckets_parse(resp.body ? resp.body : "", resp.body_len,
                                   out, &perr))
        rc = sm_s3_fail(err, op, "MalformedResponse", "%s", perr.message);
    sm_aws_response_clear(&resp);
    return rc;
}

/* ---- objects ------------------------------------------------------------ */

/* One request with no body to /bucket[/key]?query; the response is
 * handed back (clear it) when `resp` is not NULL. */
static int simple_call(sm_aws *aws, const char *op, const char *method,
                       const char *bucket, const char *key, const char *query,
                       sm_aws_response *resp, sm_aws_error *err)
{
    sm_aws_response local = {0};
    char *path = sm_s3_path(bucket, key);
    int rc = path ? 0 : sm_s3_fail(err, op, "", "out of memory");
    if (!rc) {
        sm_aws_rest r = {.service = SM_AWS_S3,
                         .operation = op,
                         .method = method,
                         .path = path,
                         .query = query};
        rc = sm_aws_rest_call(aws, &r, resp ? resp : &local, err);
    }
    sm_aws_response_clear(&local);
    free(path);
    return rc;
}

/* A HEAD's error has no body, so the client can only name the status:
 * say in words what a 404 or a 403 means here. */
static void head_error_words(sm_aws_error *err, const char *bucket,
                             const char *key)
{
    int generic = !err->message[0] || strcmp(err->message, "Not Found") == 0 ||
                  strcmp(err->message, "Forbidden") == 0;
    if (!generic)
        return;
    if (sm_s3_error_not_found(err)) {
        if (!err->code[0] || strcmp(err->code, "404") == 0)
            snprintf(err->code, sizeof err->code, "NotFound");
        if (key)
            snprintf(err->message, sizeof err->message,
                     "there is no object s3://%s/%s", bucket, key);
        else
            snprintf(err->message, sizeof err->message, "there is no bucket %s",
                     bucket);
    } else if (err->http_status == 403) {
        snprintf(err->message, sizeof err->message,
                 "access to s3://%s%s%s is denied (no permission, or the "
                 "bucket belongs to another account)",
                 bucket, key ? "/" : "", key ? key : "");
    }
}

int sm_s3_head_object(sm_aws *aws, const char *bucket, const char *key,
                      sm_s3_head *out, sm_aws_error *err)
{
    sm_aws_response resp = {0};
    sm_aws_error mine = {0};
    int rc =
        simple_call(aws, "HeadObject", "HEAD", bucket, key, NULL, &resp, &mine);
    if (!rc)
        sm_s3_head_from_response(&resp, out);
    head_error_words(&mine, bucket, key);
    if (rc)
        sm_s3_error_keep(err, &mine);
    sm_aws_response_clear(&resp);
    return rc;
}

int sm_s3_get_bytes(sm_aws *aws, const char *bucket, const char *key,
                    char **data, size_t *len, sm_aws_error *err)
{
    sm_aws_response resp = {0};
    *data = NULL;
    *len = 0;
    int rc =
        simple_call(aws, "GetObject", "GET", bucket, key, NULL, &resp, err);
    if (!rc) {
        *data = malloc(resp.body_len + 1);
        if (!*data)
            rc = sm_s3_fail(err, "GetObject", "", "out of memory");
    }
    if (!rc) {
        if (resp.body_len)
            memcpy(*data, resp.body, resp.body_len);
        (*data)[resp.body_len] = '\0';
        *len = resp.body_len;
    }
    sm_aws_response_clear(&resp);
    return rc;
}

int sm_s3_delete_object(sm_aws *aws, const char *bucket, const char *key,
                        sm_aws_error *err)
{
    return simple_call(aws, "DeleteObject", "DELETE", bucket, key, NULL, NULL,
                       err);
}

/* The first <Error> of a DeleteObjects result into `err`; how many there
 * were is the return value. */
static size_t delete_errors(const sm_xml_node *root, long status,
                            sm_aws_error *err)
{
    size_t failed = child_count(root, "Error");
    const sm_xml_node *e = sm_xml_child(root, "Error");
    if (e && !error_is_set(err)) {
        const char *key = sm_xml_child_text(e, "Key");
        const char *code = sm_xml_child_text(e, "Code");
        const char *msg = sm_xml_child_text(e, "Message");
        error_names(err, "DeleteObjects");
        err->http_status = status;
        snprintf(err->code, sizeof err->code, "%s", code ? code : "");
        snprintf(err->message, sizeof err->message, "%s (key '%s')",
                 msg ? msg : "not deleted", key ? key : "");
    }
    return failed;
}

static int delete_batch(sm_aws *aws, const char *bucket,
                        const char *const *keys, size_t count, size_t *failed,
                        sm_aws_error *err)
{
    static const char op[] = "DeleteObjects";
    char *body = sm_s3_delete_body(keys, count);
    char *path = sm_s3_path(bucket, NULL);
    sm_aws_response resp = {0};
    sm_xml_node *root = NULL;
    sm_s3_digest dg;
    int rc = body && path ? 0
                          : sm_s3_fail(err, op, SM_S3_ERR_ARGUMENT,
                                       "a key holds a control character, "
                                       "or out of memory");
    if (!rc && sm_s3_digest_bytes(body, strlen(body), &dg))
        rc = sm_s3_fail(err, op, "", "cannot compute MD5");
    if (!rc) {
        sm_aws_header h[] = {{"Content-MD5", dg.md5_base64},
                             {"Content-Type", "application/xml"}};
        sm_aws_rest r = {.service = SM_AWS_S3,
                         .operation = op,
                         .method = "POST",
                         .path = path,
                         .query = "delete",
                         .headers = h,
                         .header_count = 2,
                         .body = body,
                         .body_len = strlen(body),
                         .payload_hash = dg.sha256_hex};
        rc = sm_aws_rest_call(aws, &r, &resp, err);
    }
    if (!rc && !(root = sm_s3_parse_body(&resp, op, err)))
        rc = -1;
    if (!rc)
        *failed = delete_errors(root, resp.status, err);
    sm_xml_free(&root);
    sm_aws_response_clear(&resp);
    free(body);
    free(path);
    return rc;
}

int sm_s3_delete_objects(sm_aws *aws, const char *bucket,
                         const char *const *keys, size_t count, size_t *deleted,
                         sm_aws_error *err)
{
    size_t done = 0, failed_total = 0;
    int rc = 0;
    for (size_t at = 0; at < count; at += SM_S3_DELETE_BATCH) {
        size_t n =
            count - at < SM_S3_DELETE_BATCH ? count - at : SM_S3_DELETE_BATCH;
        size_t failed = 0;
        if (delete_batch(aws, bucket, keys + at, n, &failed, err)) {
            rc = -1; /* the request failed: the next would fail alike */
            break;
        }
        failed_total += failed;
        done += n - failed;
    }
    if (deleted)
        *deleted = done;
    return rc || failed_total ? -1 : 0;
}

typedef struct prefix_delete {
    sm_aws *aws;
    const char *bucket;
    size_t deleted;
    int failed;
    sm_aws_error *err;
} prefix_delete;

static int delete_page(void *ctx, const sm_s3_page *page)
{
    prefix_delete *pd = ctx;
    const char **keys = calloc(page->object_count + 1, sizeof *keys);
    size_t n = 0;
    if (!keys) {
        pd->failed = sm_s3_fail(pd->err, "DeleteObjects", "", "out of memory");
        return 1;
    }
    for (size_t i = 0; i < page->object_count; i++)
        keys[i] = page->objects[i].key;
    if (page->object_count &&
        sm_s3_delete_objects(pd->aws, pd->bucket, keys, page->object_count, &n,
                             pd->err))
        pd->failed = -1;
    pd->deleted += n;
    free(keys);
    return pd->failed ? 1 : 0;
}

int sm_s3_delete_prefix(sm_aws *aws, const char *bucket, const char *prefix,
                        size_t *deleted, sm_aws_error *err)
{
    /* Deleting the page just listed is safe: the next page starts after
     * the last key of this one, whether that key still exists or not. */
    prefix_delete pd = {aws, bucket, 0, 0, err};
    sm_s3_list req = {.bucket = bucket, .prefix = prefix};
    int rc = sm_s3_list_objects(aws, &req, delete_page, &pd, err);
    if (deleted)
        *deleted = pd.deleted;
    return rc || pd.failed ? -1 : 0;
}

/* ---- buckets ------------------------------------------------------------ */

int sm_s3_head_bucket(sm_aws *aws, const char *bucket, sm_aws_error *err)
{
    sm_aws_error mine = {0};
    int rc =
        simple_call(aws, "HeadBucket", "HEAD", bucket, NULL, NULL, NULL, &mine);
    head_error_words(&mine, bucket, NULL);
    if (rc)
        sm_s3_error_keep(err, &mine);
    return rc;
}

int sm_s3_create_bucket(sm_aws *aws, const char *bucket, sm_aws_error *err)
{
    static const char op[] = "CreateBucket";
    const char *region = sm_aws_region(aws);
    char *path = sm_s3_path(bucket, NULL);
    sm_buf body = {0};
    sm_aws_response resp = {0};
    sm_error nerr = {{0}};
    int rc = path ? 0 : sm_s3_fail(err, op, "", "out of memory");
    if (!rc && sm_s3_bucket_name_check(bucket, &nerr))
        rc = sm_s3_fail(err, op, SM_S3_ERR_ARGUMENT, "%s", nerr.message);
    if (!rc && region && *region && strcmp(region, "us-east-1") != 0 &&
        sm_buf_printf(&body,
                      "<CreateBucketConfiguration xmlns=\"" S3_XMLNS "\">"
                      "<LocationConstraint>%s</LocationConstraint>"
                      "</CreateBucketConfiguration>",
                      region))
        rc = sm_s3_fail(err, op, "", "out of memory");
    if (!rc) {
        sm_aws_rest r = {.service = SM_AWS_S3,
                         .operation = op,
                         .method = "PUT",
                         .path = path,
                         .body = body.data,
                         .body_len = body.len};
        rc = sm_aws_rest_call(aws, &r, &resp, err);
    }
    sm_aws_response_clear(&resp);
    sm_buf_free(&body);
    free(path);
    return rc;
}

int sm_s3_ensure_bucket(sm_aws *aws, const char *bucket, sm_aws_error *err)
{
    sm_aws_error head = {0}, create = {0};
    if (sm_s3_head_bucket(aws, bucket, &head) == 0)
        return 0;
    if (!sm_s3_error_not_found(&head)) {
        sm_s3_error_keep(err, &head);
        return -1;
    }
    if (sm_s3_create_bucket(aws, bucket, &create) == 0 ||
        strcmp(create.code, "BucketAlreadyOwnedByYou") == 0)
        return 0;
    sm_s3_error_keep(err, &create);
    return -1;
}

int sm_s3_default_bucket(sm_aws *aws, char *out, size_t size, sm_aws_error *err)
{
    sm_aws_identity id = {0};
    if (sm_aws_whoami(aws, &id, err))
        return -1;
    if (sm_s3_default_bucket_name(sm_aws_region(aws), id.account, out, size))
        return sm_s3_fail(err, "CreateBucket", SM_S3_ERR_ARGUMENT,
                          "cannot make a default bucket name from region "
                          "'%s' and account '%s'",
                          sm_aws_region(aws), id.account);
    return sm_s3_ensure_bucket(aws, out, err);
}
