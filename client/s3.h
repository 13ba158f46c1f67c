/* s3: Amazon S3 over the aws client: s3:// names, objects, buckets,
 * listings, and file transfers with parallel multipart uploads and ranged
 * downloads. Every request is path-style ("/bucket/key"), which suits
 * endpoint overrides, dotted bucket names and the local service alike. */
#ifndef SM_S3_H
#define SM_S3_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws.h"
#include "error.h"

/* S3's limits. A part is 5 MiB at least, the last part aside. */
#define SM_S3_MIN_PART_SIZE ((uint64_t)5 << 20)
#define SM_S3_MAX_PART_SIZE ((uint64_t)5 << 30)
#define SM_S3_MAX_PARTS 10000u
#define SM_S3_MAX_PUT_SIZE ((uint64_t)5 << 30) /* one PutObject */
#define SM_S3_DEFAULT_THRESHOLD ((uint64_t)8 << 20)
#define SM_S3_DEFAULT_PART_SIZE ((uint64_t)8 << 20)
/* Parts in flight: more than the AWS CLI's 10, since sagemagic-local
 * hashes the parts that arrive together one per SIMD lane (up to 16). */
#define SM_S3_DEFAULT_CONNECTIONS 16
#define SM_S3_MAX_CONNECTIONS 64
#define SM_S3_KEY_MAX 1024 /* bytes of UTF-8 */
#define SM_S3_BUCKET_MAX 63
#define SM_S3_DELETE_BATCH 1000 /* keys in one DeleteObjects */
#define SM_S3_ETAG_MAX 128

/* Error codes this module sets itself (in sm_aws_error.code, with
 * http_status 0), besides those S3 and the transport report. */
#define SM_S3_ERR_CHECKSUM "ChecksumMismatch" /* bytes arrived changed */
#define SM_S3_ERR_ARGUMENT "InvalidArgument"  /* a bad name, size, path */
#define SM_S3_ERR_LOCAL_FILE "LocalFileError" /* reading or writing a file */
/* The caller asked to stop: the client's own code for it. */
#define SM_S3_ERR_INTERRUPTED SM_AWS_ERR_INTERRUPTED

/* ---- names -------------------------------------------------------------- */

typedef struct sm_s3_uri {
    char bucket[SM_S3_BUCKET_MAX + 1];
    char key[SM_S3_KEY_MAX + 1]; /* "" for "s3://bucket" and "s3://bucket/" */
} sm_s3_uri;

/* Split "s3://bucket/key" (borrowed) into `out`. The bucket must follow
 * S3's naming rules (sm_s3_bucket_name_check); the key may be empty, must
 * be valid UTF-8 and at most 1,024 bytes. Returns 0, or -1 with `err` set
 * to one sentence saying what is wrong. */
int sm_s3_uri_parse(const char *uri, sm_s3_uri *out, sm_error *err);

/* 0 when `name` is a valid bucket name for new buckets: 3 to 63 of a-z
 * 0-9 . -, a letter or digit at each end, no "..", not an IPv4 address,
 * none of the reserved prefixes (xn--, sthree-, amzn-s3-demo-) or
 * suffixes (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3). Else -1 with
 * `err` saying which rule it breaks. */
int sm_s3_bucket_name_check(const char *name, sm_error *err);

/* The request path for a bucket and key (borrowed): "/bucket" when `key`
 * is NULL or "", else "/bucket/" followed by the key percent-encoded with
 * '/' kept. New string, or NULL when out of memory. */
char *sm_s3_path(const char *bucket, const char *key);

/* Write the SageMaker SDK's default bucket name, "sagemaker-REGION-ACCOUNT",
 * into `out`. Returns 0, or -1 when it does not fit or is not a valid
 * bucket name. */
int sm_s3_default_bucket_name(const char *region, const char *account,
                              char *out, size_t size);

/* ---- transfer planning -------------------------------------------------- */

typedef struct sm_s3_plan {
    int multipart;       /* 0: one PutObject */
    uint64_t part_size;  /* every part but the last; the size when single */
    uint32_t part_count; /* 1 when single (also for an empty object) */
} sm_s3_plan;

/* Plan how to upload `size` bytes: multipart when size >= threshold (or
 * above 5 GiB), with parts of `part_size` raised to 5 MiB at least and
 * then, in whole MiB, until there are at most 10,000 of them. Zero
 * threshold or part_size mean the defaults. Returns 0, or -1 with `err`
 * set when the size is beyond what S3 can store. */
int sm_s3_plan_parts(uint64_t size, uint64_t threshold, uint64_t part_size,
                     sm_s3_plan *out, sm_error *err);

/* ---- request bodies (pure) ---------------------------------------------- */

typedef struct sm_s3_part {
    uint32_t number;           /* 1 ... 10,000 */
    char etag[SM_S3_ETAG_MAX]; /* as returned, quotes included */
    char crc32c[12];           /* base64, or "" when the part had none */
} sm_s3_part;

/* The CompleteMultipartUpload body for `count` parts (borrowed), which
 * must be in ascending part order. New string, or NULL when out of memory
 * or when the parts are not in order. */
char *sm_s3_complete_body(const sm_s3_part *parts, size_t count);

/* The DeleteObjects body for `count` keys (borrowed), at most 1,000, in
 * quiet mode (only failures are reported back). New string, or NULL when
 * out of memory, count is 0 or above 1,000, or a key cannot be written in
 * XML 1.0 (a control byte other than tab, LF and CR). */
char *sm_s3_delete_body(const char *const *keys, size_t count);

/* ---- listings ----------------------------------------------------------- */

typedef struct sm_s3_entry {
    char *key; /* decoded */
    uint64_t size;
    char *etag;          /* quotes included */
    char *last_modified; /* as S3 writes it: 2009-10-12T17:50:30.000Z */
    char *storage_class;
} sm_s3_entry;

/* One page of ListObjectsV2 or ListBuckets. Owns every string. */
typedef struct sm_s3_page {
    sm_s3_entry *objects; /* for ListBuckets: key is the bucket name and
                           * last_modified its creation date */
    size_t object_count;
    char **prefixes; /* common prefixes (with a delimiter), decoded */
    size_t prefix_count;
    int truncated;
    char *next_token; /* NULL on the last page */
} sm_s3_page;

/* Parse a ListObjectsV2 response (`len` bytes of `xml`, borrowed) into
 * `out` (zero it first). With `url_encoded` (the request said
 * encoding-type=url) keys and prefixes are decoded: "+" is a space, %XX a
 * byte. Returns 0, or -1 with `err` set; clear `out` in both cases. */
int sm_s3_list_parse(const char *xml, size_t len, int url_encoded,
                     sm_s3_page *out, sm_error *err);

/* Parse a ListBuckets (ListAllMyBucketsResult) response into `out`. */
int sm_s3_buckets_parse(const char *xml, size_t len, sm_s3_page *out,
                        sm_error *err);

/* Free what `page` holds and zero it; safe on a zeroed page. */
void sm_s3_page_clear(sm_s3_page *page);

typedef struct sm_s3_list {
    const char *bucket;
    const char *prefix;    /* NULL or "" for all */
    const char *delimiter; /* "/" for folder-like listings; NULL for none */
    int max_keys;          /* per page; 0: 1,000 */
} sm_s3_list;

/* Called once per page (borrowed; valid during the call). Return nonzero
 * to stop listing, which is not an error. */
typedef int (*sm_s3_page_fn)(void *ctx, const sm_s3_page *page);

/* ListObjectsV2 through every page (continuation tokens followed until
 * the listing ends or `fn` says stop). 0, or -1 with `err` set. */
int sm_s3_list_objects(sm_aws *aws, const sm_s3_list *req, sm_s3_page_fn fn,
                       void *ctx, sm_aws_error *err);

/* ListBuckets, all of them in one page (new, into `out`; clear it). */
int sm_s3_list_buckets(sm_aws *aws, sm_s3_page *out, sm_aws_error *err);

/* ---- objects ------------------------------------------------------------ */

/* What HeadObject (and GetObject) say about an object. */
typedef struct sm_s3_head {
    uint64_t size;             /* of the object, not of a range */
    char etag[SM_S3_ETAG_MAX]; /* quotes included */
    char content_type[256];
    char last_modified[64]; /* the HTTP date as sent */
    time_t mtime;           /* the same, parsed; 0 if unparsable */
    /* The ETag is the MD5 of the bytes: a single-part object, encrypted
     * neither with KMS nor with a customer's key. */
    int etag_is_md5;
} sm_s3_head;

/* HeadObject. 0 with `out` filled, or -1 with `err` set (http_status 404
 * when there is no such key: see sm_s3_error_not_found). */
int sm_s3_head_object(sm_aws *aws, const char *bucket, const char *key,
                      sm_s3_head *out, sm_aws_error *err);

/* Nonzero when `err` says the bucket or key does not exist. */
int sm_s3_error_not_found(const sm_aws_error *err);

/* Progress, interruption and parallelism of one transfer. Zeroes mean the
 * defaults. The callbacks are called on the calling thread only, a few
 * times a second at most, between requests and while they are in flight:
 * progress counts the bytes as they move (never backwards), and an
 * interruption stops the requests in flight at once. */
typedef struct sm_s3_transfer {
    uint64_t threshold;  /* multipart from this size on; 0: 8 MiB */
    uint64_t part_size;  /* 0: 8 MiB */
    int max_connections; /* parts in flight at once; 0: 8 */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    int (*interrupted)(void *ctx); /* nonzero: stop, abort, clean up */
    void *ctx;
} sm_s3_transfer;

/* An upload from a file or from memory. Every pointer borrowed. */
typedef struct sm_s3_upload {
    const char *bucket, *key;
    const char *path; /* the file to send; or NULL and: */
    const void *data; /* `len` bytes in memory */
    size_t len;
    const char *content_type; /* NULL: S3's default */
    sm_s3_transfer transfer;
} sm_s3_upload_req;

typedef struct sm_s3_put_result {
    uint64_t size;
    uint32_t parts; /* 0 for a single PutObject */
    char etag[SM_S3_ETAG_MAX];
    char md5_hex[33]; /* of the whole body (single PutObject) */
} sm_s3_put_result;

/* One PutObject (at most 5 GiB) with Content-MD5 and the SHA-256 payload
 * hash, and the returned ETag compared with the MD5 when it is one (it is
 * not under SSE-KMS). Ignores req->transfer. 0, or -1 with `err` set. */
int sm_s3_put_object(sm_aws *aws, const sm_s3_upload_req *req,
                     sm_s3_put_result *out, sm_aws_error *err);

/* Upload with PutObject below the threshold, else multipart: parts sent
 * over up to max_connections threads, each with Content-MD5 and its ETag
 * checked, a failed part tried once more, CompleteMultipartUpload with
 * the ETags in order and its ETag checked against the parts' MD5s. On
 * failure or interruption the upload is aborted, so no parts are left
 * (and billed). 0, or -1 with `err` set (code "Interrupted" when the
 * caller stopped it). */
int sm_s3_upload(sm_aws *aws, const sm_s3_upload_req *req,
                 sm_s3_put_result *out, sm_aws_error *err);

/* Abort a multipart upload; NoSuchUpload counts as done. */
int sm_s3_abort_upload(sm_aws *aws, const char *bucket, const char *key,
                       const char *upload_id, sm_aws_error *err);

/* A download to a file. Every pointer borrowed. */
typedef struct sm_s3_download {
    const char *bucket, *key;
    const char *path;  /* written atomically: whole or not at all */
    const char *range; /* "bytes=0-99" for part of the object; or NULL */
    sm_s3_transfer transfer;
} sm_s3_download_req;

/* One GetObject streamed to req->path (with req->range, if given). Fills
 * `out` from the response headers. The size, and the MD5 when the ETag is
 * one and no range was asked, are checked. req->transfer.interrupted is
 * honoured (progress is not: the size is unknown until the response).
 * 0, or -1 with `err` set. */
int sm_s3_get_object(sm_aws *aws, const sm_s3_download_req *req,
                     sm_s3_head *out, sm_aws_error *err);

/* Download a whole object: HeadObject, then one GetObject below the
 * threshold, else ranged GetObjects of part_size in parallel (each pinned
 * to the object's ETag with If-Match, each tried once more on failure)
 * written straight into a temporary file at their offsets, which is
 * renamed over req->path at the end. The progress and interruption
 * callbacks are honoured. */
int sm_s3_download(sm_aws *aws, const sm_s3_download_req *req, sm_s3_head *out,
                   sm_aws_error *err);

/* GetObject into memory: *data new (NUL-terminated too), *len its size. */
int sm_s3_get_bytes(sm_aws *aws, const char *bucket, const char *key,
                    char **data, size_t *len, sm_aws_error *err);

/* DeleteObject (S3 answers 204 also when the key did not exist). */
int sm_s3_delete_object(sm_aws *aws, const char *bucket, const char *key,
                        sm_aws_error *err);

/* DeleteObjects in batches of 1,000 with Content-MD5. *deleted (may be
 * NULL) counts the keys deleted. -1 with `err` set when a request fails
 * (no batch is sent after it) or, once every batch was sent, naming the
 * first key S3 would not delete. */
int sm_s3_delete_objects(sm_aws *aws, const char *bucket,
                         const char *const *keys, size_t count, size_t *deleted,
                         sm_aws_error *err);

/* Delete every object whose key starts with `prefix` ("" for all). */
int sm_s3_delete_prefix(sm_aws *aws, const char *bucket, const char *prefix,
                        size_t *deleted, sm_aws_error *err);

/* ---- buckets ------------------------------------------------------------ */

/* HeadBucket: 0 when it exists and is ours to use; -1 with `err` set
 * otherwise (404: none; 403: someone else's). */
int sm_s3_head_bucket(sm_aws *aws, const char *bucket, sm_aws_error *err);

/* CreateBucket in the client's region (a LocationConstraint body except
 * in us-east-1). */
int sm_s3_create_bucket(sm_aws *aws, const char *bucket, sm_aws_error *err);

/* HeadBucket, and CreateBucket when there is none; BucketAlreadyOwnedByYou
 * counts as success. */
int sm_s3_ensure_bucket(sm_aws *aws, const char *bucket, sm_aws_error *err);

/* The default bucket sagemaker-REGION-ACCOUNT (the account from STS
 * GetCallerIdentity), created when missing; its name into `out`. */
int sm_s3_default_bucket(sm_aws *aws, char *out, size_t size,
                         sm_aws_error *err);

#endif
