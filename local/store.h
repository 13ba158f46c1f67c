/* store: S3's buckets, objects and multipart uploads for the local
 * service. Rows live in the database; bytes live in files under
 * DATA_DIR/objects named by a random id, never by a key, so no key can
 * reach outside the data dir. A file is written whole (temporary file in
 * DATA_DIR/tmp, fsync, rename) before the row naming it is committed, so a
 * crash never shows a partial object; opening the store deletes what a
 * crash left behind. Thread-safe: every call takes the database lock. */
#ifndef SM_STORE_H
#define SM_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "checksum.h"
#include "db.h"
#include "error.h"

typedef struct sm_store sm_store;

/* An open object's bytes: they stay readable even if the object is
 * replaced or deleted meanwhile. */
typedef struct sm_store_reader sm_store_reader;

/* What a call found. Negative is a failure of the machine (disk,
 * database; `err` says which); positive values are answers the caller
 * turns into the protocol's errors. */
typedef enum sm_store_status {
    SM_STORE_FAILED = -1,
    SM_STORE_OK = 0,
    SM_STORE_NO_BUCKET,
    SM_STORE_BUCKET_EXISTS,
    SM_STORE_BUCKET_NOT_EMPTY,
    SM_STORE_NO_KEY,
    SM_STORE_NO_UPLOAD,
    SM_STORE_INVALID_PART,       /* missing, or its ETag differs */
    SM_STORE_INVALID_PART_ORDER, /* part numbers not ascending */
    SM_STORE_PART_TOO_SMALL,     /* a part but the last under 5 MiB */
} sm_store_status;

/* Open the store of `data_dir` (borrowed) on `db` (borrowed; outlives the
 * store): create its directories and tables, then remove temporary files
 * and object files no row names. New store, or NULL with `err` set. */
sm_store *sm_store_open(const char *data_dir, sm_db *db, sm_error *err);
void sm_store_close(sm_store **self);

/* Files deleted by the last sm_store_open as a crash's leftovers. */
size_t sm_store_recovered(const sm_store *self);

/* ---- blobs: bodies on their way in ------------------------------------ */

typedef struct sm_store_blob sm_store_blob;

/* A new temporary file to stream a body into; NULL with `err` set. A
 * blob is written on one thread: its writes go through that thread's
 * io_uring (diskring.h). Once settled there, it may be finished, stored
 * and destroyed on any one thread at a time. */
sm_store_blob *sm_store_blob_new(sm_store *self, sm_error *err);

/* Append `len` bytes (buffered; the MD5 follows along). 0, or -1. */
int sm_store_blob_write(sm_store_blob *blob, const void *data, size_t len,
                        sm_error *err);

/* Append `len` bytes of `reader` from `offset` (a copy within the
 * store: read straight into the blob's buffers, one buffer at a time,
 * never the whole object in memory); they also go through `sum`
 * (borrowed) unless it is NULL. Same thread rules as
 * sm_store_blob_write. 0, or -1 with `err` set (a read or write failed,
 * or the reader ended first). */
int sm_store_blob_copy(sm_store_blob *blob, sm_store_reader *reader,
                       uint64_t offset, uint64_t len, sm_checksum *sum,
                       sm_error *err);

/* Wait for the write under way (on the thread that wrote): afterwards
 * no write of the blob uses this thread's ring. 0, or -1. */
int sm_store_blob_settle(sm_store_blob *blob, sm_error *err);

/* Flush and fsync; the blob may then be put or uploaded as a part. Fills
 * the body's MD5. 0, or -1 with `err` set. */
int sm_store_blob_finish(sm_store_blob *blob, unsigned char md5[16],
                         sm_error *err);

uint64_t sm_store_blob_size(const sm_store_blob *blob);

/* Delete the temporary file (unless a put took it) and free the blob;
 * sets *blob to NULL; safe on NULL. */
void sm_store_blob_destroy(sm_store_blob **blob);

/* ---- buckets ------------------------------------------------------------ */

typedef struct sm_store_bucket {
    char name[64];
    char region[32];
    int64_t created_ms;
} sm_store_bucket;

sm_store_status sm_store_bucket_create(sm_store *self, const char *name,
                                       const char *region, sm_error *err);
sm_store_status sm_store_bucket_get(sm_store *self, const char *name,
                                    sm_store_bucket *out, sm_error *err);
/* NOT_EMPTY while it holds objects; its unfinished uploads go with it. */
sm_store_status sm_store_bucket_delete(sm_store *self, const char *name,
                                       sm_error *err);
/* Every bucket by name into a new array *out (free it). */
sm_store_status sm_store_bucket_list(sm_store *self, sm_store_bucket **out,
                                     size_t *count, sm_error *err);

/* ---- objects ------------------------------------------------------------ */

/* An object's description. Strings owned; sm_store_object_clear frees. */
typedef struct sm_store_object {
    char *key;
    uint64_t size;
    char etag[48]; /* quoted, as S3 sends it */
    char *content_type;
    char *headers; /* JSON object: the stored headers, lower-case names
                    * (x-amz-meta-*, content-encoding, ...) */
    sm_checksum_algorithm checksum_algorithm;
    char checksum[SM_CHECKSUM_B64_MAX]; /* "" when none */
    int64_t modified_ms;
    int parts; /* 0 for a single PutObject, else how many parts */
} sm_store_object;

void sm_store_object_clear(sm_store_object *obj);

/* Put the finished `blob` at bucket/key, replacing any object there.
 * From `attrs` (borrowed) only content_type, headers and the checksum
 * are read; the rest comes from the blob. On OK the blob's file belongs
 * to the object (destroy the blob all the same) and `out`, when not NULL,
 * describes the new object. */
sm_store_status sm_store_object_put(sm_store *self, const char *bucket,
                                    const char *key, sm_store_blob *blob,
                                    const sm_store_object *attrs,
                                    sm_store_object *out, sm_error *err);

/* Describe bucket/key into `out` and, when `reader` is not NULL, open its
 * bytes into *reader (new). NO_BUCKET, NO_KEY or OK. */
sm_store_status sm_store_object_open(sm_store *self, const char *bucket,
                                     const char *key, sm_store_object *out,
                                     sm_store_reader **reader, sm_error *err);

/* Up to `len` bytes at `offset` into `buf`: how many were read, 0 at the
 * end, -1 on an I/O error. */
ssize_t sm_store_reader_read(sm_store_reader *self, uint64_t offset, void *buf,
                             size_t len);

/* When the object is one file, its descriptor (borrowed) and 0; else -1. */
int sm_store_reader_fd(const sm_store_reader *self, int *fd);

uint64_t sm_store_reader_size(const sm_store_reader *self);
void sm_store_reader_close(sm_store_reader **self);

/* Delete bucket/key: OK (also when there was none, as S3 answers) or
 * NO_BUCKET. *existed says whether an object went. */
sm_store_status sm_store_object_delete(sm_store *self, const char *bucket,
                                       const char *key, int *existed,
                                       sm_error *err);

/* A listing request, as ListObjects(V2) asks it. Strings borrowed. */
typedef struct sm_store_list_query {
    const char *bucket;
    const char *prefix;    /* NULL or "" for every key */
    const char *delimiter; /* NULL or "" for no grouping */
    const char *after;     /* resume after this key (exclusive) ... */
    int after_is_prefix;   /* ... or after every key under this prefix */
    size_t max;            /* keys plus common prefixes on the page */
} sm_store_list_query;

typedef struct sm_store_list_entry {
    char *key;
    uint64_t size;
    char etag[48];
    int64_t modified_ms;
} sm_store_list_entry;

/* A page of a listing, in key order. Owned; sm_store_list_clear frees. */
typedef struct sm_store_list {
    sm_store_list_entry *entries;
    size_t count;
    char **prefixes; /* common prefixes */
    size_t prefix_count;
    int truncated; /* more follow */
    char *last;    /* what to resume after (key or common prefix) */
    int last_is_prefix;
} sm_store_list;

sm_store_status sm_store_object_list(sm_store *self,
                                     const sm_store_list_query *query,
                                     sm_store_list *out, sm_error *err);
void sm_store_list_clear(sm_store_list *list);

/* ---- multipart uploads -------------------------------------------------- */

typedef struct sm_store_upload {
    char id[40];
    char *key;
    char *content_type;
    char *headers; /* JSON, as for objects */
    sm_checksum_algorithm checksum_algorithm;
    int64_t initiated_ms;
} sm_store_upload;

void sm_store_upload_clear(sm_store_upload *upload);

/* Start an upload to bucket/key; content_type, headers and the checksum
 * algorithm come from `attrs` (borrowed). Fills id_out. */
sm_store_status sm_store_upload_create(sm_store *self, const char *bucket,
                                       const char *key,
                                       const sm_store_upload *attrs,
                                       char id_out[40], sm_error *err);

/* The upload `id` to bucket/key into `out` (may be NULL): NO_BUCKET,
 * NO_UPLOAD (unknown id, or one for another key) or OK. */
sm_store_status sm_store_upload_get(sm_store *self, const char *bucket,
                                    const char *key, const char *id,
                                    sm_store_upload *out, sm_error *err);

typedef struct sm_store_part {
    int number;
    uint64_t size;
    char etag[48];
    char checksum[SM_CHECKSUM_B64_MAX];
    int64_t modified_ms;
} sm_store_part;

/* Store the finished `blob` as part `number` of upload `id`, replacing a
 * part of that number. `checksum` (borrowed, may be NULL) is recorded.
 * Fills `out` when not NULL. The blob's file belongs to the part on OK. */
sm_store_status sm_store_upload_part(sm_store *self, const char *bucket,
                                     const char *key, const char *id,
                                     int number, sm_store_blob *blob,
                                     const char *checksum, sm_store_part *out,
                                     sm_error *err);

/* The parts after number `after`, at most `max`, into a new array. */
sm_store_status sm_store_upload_parts(sm_store *self, const char *bucket,
                                      const char *key, const char *id,
                                      int after, size_t max,
                                      sm_store_part **parts, size_t *count,
                                      int *truncated, sm_error *err);

/* One part as CompleteMultipartUpload names it (etag quoted or not). */
typedef struct sm_store_part_ref {
    int number;
    const char *etag;
} sm_store_part_ref;

/* Make the object from the named parts in one transaction: it appears
 * whole or not at all. Parts not named are discarded; the upload ends.
 * Fills `out` when not NULL. `bad_part` (may be NULL) gets the number of
 * the part an INVALID_PART* or PART_TOO_SMALL answer is about. */
sm_store_status sm_store_upload_complete(sm_store *self, const char *bucket,
                                         const char *key, const char *id,
                                         const sm_store_part_ref *refs,
                                         size_t count, sm_store_object *out,
                                         int *bad_part, sm_error *err);

/* End the upload and delete its parts. */
sm_store_status sm_store_upload_abort(sm_store *self, const char *bucket,
                                      const char *key, const char *id,
                                      sm_error *err);

/* Unfinished uploads of `bucket` under `prefix` (NULL: all), ordered by
 * key then start time, after key `key_marker` (NULL: from the start), at
 * most `max`, into a new array (clear each, free the array). */
sm_store_status sm_store_upload_list(sm_store *self, const char *bucket,
                                     const char *prefix, const char *key_marker,
                                     size_t max, sm_store_upload **out,
                                     size_t *count, int *truncated,
                                     sm_error *err);

#endif
