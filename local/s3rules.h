/* s3rules: the rules S3 applies that need no storage: bucket and key
 * names, ETags, byte ranges, listing tokens, and its two time formats. */
#ifndef SM_S3RULES_H
#define SM_S3RULES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SM_S3_MAX_KEY 1024          /* bytes of UTF-8 in one object key */
#define SM_S3_MIN_PART (5ull << 20) /* every part but the last */
#define SM_S3_MAX_PART (5ull << 30) /* one part, and one PutObject */
#define SM_S3_MAX_PARTS 10000
#define SM_S3_MAX_LIST 1000 /* keys, parts or uploads per page */

/* NULL when `name` is a valid general purpose bucket name (3 to 63
 * characters of a-z 0-9 . -, starting and ending with a letter or digit,
 * no "..", not an IPv4 address, none of the reserved prefixes and
 * suffixes); else a sentence saying which rule it breaks (static). */
const char *sm_s3rules_bucket_invalid(const char *name);

/* NULL when the `len` bytes of `key` are a key the local service stores:
 * 1 to 1,024 bytes of valid UTF-8 without NUL. Else a sentence (static). */
const char *sm_s3rules_key_invalid(const char *key, size_t len);

/* `out` = the quoted ETag S3 gives one body: "\"<md5 hex>\"". */
void sm_s3rules_etag(const unsigned char md5[16], char out[35]);

/* The ETag of a multipart object from its parts' MD5s (`count` of them,
 * in order): MD5 of the concatenated binary digests, hex, "-count",
 * quoted. Returns 0, or -1 when MD5 is not available. */
int sm_s3rules_multipart_etag(const unsigned char (*md5s)[16], size_t count,
                              char out[48]);

/* Read a quoted or bare ETag (`"abc"`, `abc`, `W/"abc"`) into its bare
 * form in `out` (at most `size`-1 bytes). Returns 0, or -1 when it does
 * not fit. */
int sm_s3rules_etag_bare(const char *etag, char *out, size_t size);

/* The outcome of a Range header against an object of `size` bytes. */
typedef enum sm_s3_range_kind {
    SM_S3_RANGE_NONE = 0,      /* no header, or one S3 ignores: whole body */
    SM_S3_RANGE_OK,            /* serve [first, last] with 206 */
    SM_S3_RANGE_UNSATISFIABLE, /* 416 InvalidRange */
} sm_s3_range_kind;

typedef struct sm_s3_range {
    sm_s3_range_kind kind;
    uint64_t first, last; /* inclusive; for SM_S3_RANGE_OK */
} sm_s3_range;

/* Parse `header` (NULL when absent): "bytes=a-b", "bytes=a-" and
 * "bytes=-n" as RFC 9110 says; a malformed header or a list of ranges
 * is ignored (the whole object), as S3 does. */
sm_s3_range sm_s3rules_range(const char *header, uint64_t size);

/* The object x-amz-copy-source names (CopyObject, UploadPartCopy):
 * "bucket/key" or "/bucket/key", %-encoded, optionally followed by
 * "?versionId=ID". Strings new; sm_s3rules_copy_source_clear frees. */
typedef struct sm_s3_copy_source {
    char *bucket;
    char *key;
    size_t key_len;
    char *version_id; /* decoded; NULL when the header names none */
} sm_s3_copy_source;

/* Read `header` into `out`. 0; or -1 with *why the sentence S3 answers
 * (static: the encoding, the bucket name or the key is invalid), or with
 * *why NULL when memory ran out. `out` is cleared on failure. */
int sm_s3rules_copy_source(const char *header, sm_s3_copy_source *out,
                           const char **why);
void sm_s3rules_copy_source_clear(sm_s3_copy_source *src);

/* The bytes a copy takes from a source of `size` bytes. */
typedef enum sm_s3_copy_range_kind {
    SM_S3_COPY_RANGE_OK = 0,    /* [first, first + length) */
    SM_S3_COPY_RANGE_MALFORMED, /* not bytes=first-last */
    SM_S3_COPY_RANGE_OUTSIDE,   /* first > last, or last past the end */
    SM_S3_COPY_RANGE_TOO_LARGE, /* more than SM_S3_MAX_PART bytes */
} sm_s3_copy_range_kind;

typedef struct sm_s3_copy_range {
    sm_s3_copy_range_kind kind;
    uint64_t first, length;
} sm_s3_copy_range;

/* x-amz-copy-source-range `header` (NULL: the whole source) against a
 * source of `size` bytes. Unlike Range, S3 takes only "bytes=first-last"
 * here and refuses anything else rather than ignoring it. */
sm_s3_copy_range sm_s3rules_copy_range(const char *header, uint64_t size);

/* A listing continuation token for resuming after `marker` (`len` bytes)
 * that was a key (is_prefix 0) or a common prefix (1). New string
 * (URL-safe base64), NULL when out of memory. */
char *sm_s3rules_token_encode(const char *marker, size_t len, int is_prefix);

/* Undo sm_s3rules_token_encode: new NUL-terminated marker in *marker and
 * its kind in *is_prefix. Returns 0, or -1 when `token` was not made by
 * it (or memory ran out). */
int sm_s3rules_token_decode(const char *token, char **marker, int *is_prefix);

/* 2009-10-12T17:50:30.000Z (listings) and Mon, 12 Oct 2009 17:50:30 GMT
 * (headers) from milliseconds since the epoch. */
void sm_s3rules_time_iso(int64_t ms, char out[32]);
void sm_s3rules_time_http(int64_t ms, char out[40]);

/* Read an HTTP date (the IMF-fixdate form) into seconds; -1 when it is
 * not one. */
time_t sm_s3rules_time_parse_http(const char *s);

#endif
