/* store: the database says what exists; files only hold bytes. Every
 * change renames a finished file into place first and commits the rows
 * that name it second; files no longer named are unlinked after the
 * commit. A crash between the steps leaves only unnamed files, which
 * sm_store_open removes. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diskring.h"
#include "files.h"
#include "md5queue.h"
#include "s3rules.h"

#define FILE_ID_LEN 32
#define BLOB_BUFFER (512u << 10) /* a multiple of BLOB_ALIGN (md5queue's) */
#define BLOB_ALIGN 4096
/* A body's buffers: one filling, the others written out and waiting for
 * their MD5 to be taken with other bodies' (md5queue.h). */
#define BLOB_BUFFERS 4

struct sm_store {
    char *objects_dir; /* DATA_DIR/objects: <2 hex>/<32 hex> */
    char *tmp_dir;     /* DATA_DIR/tmp: bodies on their way in */
    sm_db *db;
    sm_md5_queue *md5s; /* the bodies' MD5s, in lanes */
    size_t recovered;
};

struct sm_store_blob {
    sm_store *store;
    int fd;
    char *tmp_path;
    sm_md5_stream *md5;
    unsigned char digest[16];
    uint64_t size;
    char *buf;           /* the md5 stream's, filling; NULL until bytes come */
    uint64_t offset;     /* where the next buffer goes in the file */
    sm_disk_write write; /* the last full buffer's, maybe under way */
    const char *writing; /* its buffer, kept until the write is done */
    uint64_t writing_offset;
    size_t buf_len;
    int finished;
    int taken;  /* renamed into objects/: not ours to unlink */
    int direct; /* fd is O_DIRECT: whole aligned buffers go to disk */
};

typedef struct segment {
    int fd;
    uint64_t start, size;
} segment;

struct sm_store_reader {
    segment *segments;
    size_t count;
    uint64_t size;
};

/* File ids to unlink once a transaction has committed. */
typedef struct id_list {
    char (*ids)[FILE_ID_LEN + 1];
    size_t count;
} id_list;

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS s3_buckets ("
    "  name TEXT PRIMARY KEY, region TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS s3_objects ("
    "  id INTEGER PRIMARY KEY,"
    "  bucket TEXT NOT NULL REFERENCES s3_buckets(name),"
    "  key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,"
    "  content_type TEXT NOT NULL, headers TEXT NOT NULL,"
    "  checksum_algorithm TEXT NOT NULL DEFAULT '',"
    "  checksum TEXT NOT NULL DEFAULT '',"
    "  modified_ms INTEGER NOT NULL, parts INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (bucket, key));"
    "CREATE TABLE IF NOT EXISTS s3_segments ("
    "  object_id INTEGER NOT NULL REFERENCES s3_objects(id)"
    "    ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL, file TEXT NOT NULL, size INTEGER NOT NULL,"
    "  PRIMARY KEY (object_id, seq));"
    "CREATE INDEX IF NOT EXISTS s3_segments_file ON s3_segments(file);"
    "CREATE TABLE IF NOT EXISTS s3_uploads ("
    "  id TEXT PRIMARY KEY,"
    "  bucket TEXT NOT NULL REFERENCES s3_buckets(name),"
    "  key TEXT NOT NULL, content_type TEXT NOT NULL,"
    "  headers TEXT NOT NULL, checksum_algorithm TEXT NOT NULL DEFAULT '',"
    "  initiated_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS s3_uploads_key ON s3_uploads(bucket, key);"
    "CREATE TABLE IF NOT EXISTS s3_parts ("
    "  upload_id TEXT NOT NULL REFERENCES s3_uploads(id) ON DELETE CASCADE,"
    "  number INTEGER NOT NULL, file TEXT NOT NULL, size INTEGER NOT NULL,"
    "  md5 TEXT NOT NULL, checksum TEXT NOT NULL DEFAULT '',"
    "  modified_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (upload_id, number));"
    "CREATE INDEX IF NOT EXISTS s3_parts_file ON s3_parts(file);";

/* ---- small helpers ------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void random_hex(char *out, size_t digits)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[32];
    randombytes_buf(raw, (digits + 1) / 2);
    for (size_t i = 0; i < digits; i++)
        out[i] = hex[i % 2 ? raw[i / 2] & 15 : raw[i / 2] >> 4];
    out[digits] = '\0';
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void file_path(const sm_store *self, const char *id, char *out,
                      size_t size)
{
    snprintf(out, size, "%s/%.2s/%s", self->objects_dir, id, id);
}

static int mkdir_p(const char *path, sm_error *err)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return sm_error_set(err, "cannot create %s: %s", path, strerror(errno));
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int id_list_add(id_list *self, const char *id)
{
    void *grown = realloc(self->ids, (self->count + 1) * sizeof *self->ids);
    if (!grown)
        return -1;
    self->ids = grown;
    snprintf(self->ids[self->count++], FILE_ID_LEN + 1, "%s", id);
    return 0;
}

/* Unlink every listed file (after the commit that stopped naming them). */
static void id_list_unlink(sm_store *self, id_list *list)
{
    char path[4096];
    for (size_t i = 0; i < list->count; i++) {
        file_path(self, list->ids[i], path, sizeof path);
        unlink(path);
    }
    free(list->ids);
    *list = (id_list){0};
}

static char *column_dup(sqlite3_stmt *stmt, int col)
{
    const char *s = (const char *)sqlite3_column_text(stmt, col);
    return strdup(s ? s : "");
}

static void column_copy(sqlite3_stmt *stmt, int col, char *out, size_t size)
{
    const char *s = (const char *)sqlite3_column_text(stmt, col);
    snprintf(out, size, "%s", s ? s : "");
}

static void bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
    sqlite3_bind_text(stmt, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

static int begin(sqlite3 *db, sm_error *err)
{
    return sm_db_exec(db, "BEGIN IMMEDIATE", err);
}

static int commit(sqlite3 *db, sm_error *err)
{
    if (sm_db_exec(db, "COMMIT", err)) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static void rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Run a prepared statement to its end; 0, or -1 with `err`. */
static int step_done(sqlite3 *db, sqlite3_stmt *stmt, sm_error *err)
{
    int rc = sqlite3_step(stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0
                                                 : sm_db_fail(db, err, "write");
}

/* ---- opening and recovery ----------------------------------------------- */

static int is_file_id(const char *name)
{
    if (strlen(name) != FILE_ID_LEN)
        return 0;
    return strspn(name, "0123456789abcdef") == FILE_ID_LEN;
}

/* Remove every regular file in `dir` (a crash's temporaries). */
static size_t clear_dir(const char *dir)
{
    size_t removed = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    if (d)
        closedir(d);
    return removed;
}

/* Remove the files of one objects/<xx> directory that no row names. */
static size_t sweep_shard(sm_store *self, const char *shard,
                          sqlite3_stmt *named)
{
    size_t removed = 0;
    char *dir = path_join(self->objects_dir, shard);
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int keep = 0;
        if (is_file_id(e->d_name) && strncmp(e->d_name, shard, 2) == 0) {
            sqlite3_reset(named);
            bind_text(named, 1, e->d_name);
            keep = sqlite3_step(named) == SQLITE_ROW;
        }
        if (!keep && unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    if (d)
        closedir(d);
    free(dir);
    return removed;
}

/* Delete temporaries and unnamed object files; the database is the
 * truth about what exists. */
static int recover(sm_store *self, sqlite3 *db, sm_error *err)
{
    self->recovered = clear_dir(self->tmp_dir);
    sqlite3_stmt *named = sm_db_prepare(
        db,
        "SELECT 1 FROM s3_segments WHERE file = ?1 "
        "UNION ALL SELECT 1 FROM s3_parts WHERE file = ?1 LIMIT 1",
        err);
    if (!named)
        return -1;
    DIR *d = opendir(self->objects_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strlen(e->d_name) == 2 &&
            strspn(e->d_name, "0123456789abcdef") == 2)
            self->recovered += sweep_shard(self, e->d_name, named);
    }
    if (d)
        closedir(d);
    sqlite3_finalize(named);
    return 0;
}

sm_store *sm_store_open(const char *data_dir, sm_db *db, sm_error *err)
{
    sm_store *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    self->db = db;
    self->objects_dir = path_join(data_dir, "objects");
    self->tmp_dir = path_join(data_dir, "tmp");
    self->md5s = sm_md5_queue_new(BLOB_BUFFER, BLOB_BUFFERS);
    int rc = self->objects_dir && self->tmp_dir && self->md5s
                 ? 0
                 : sm_error_set(err, "out of memory");
    if (!rc)
        rc = mkdir_p(self->objects_dir, err);
    if (!rc)
        rc = mkdir_p(self->tmp_dir, err);
    if (!rc) {
        sqlite3 *conn = sm_db_lock(db);
        rc = sm_db_exec(conn, schema, err);
        if (!rc)
            rc = recover(self, conn, err);
        sm_db_unlock(db);
    }
    if (rc)
        sm_store_close(&self);
    return self;
}

void sm_store_close(sm_store **self)
{
    if (!*self)
        return;
    free((*self)->objects_dir);
    free((*self)->tmp_dir);
    sm_md5_queue_free(&(*self)->md5s);
    free(*self);
    *self = NULL;
}

size_t sm_store_recovered(const sm_store *self)
{
    return self->recovered;
}

/* ---- blobs -------------------------------------------------------------- */

/* Bodies go to disk with O_DIRECT where the file system allows: no page
 * cache to fill and write back, so the fsync that makes them durable is
 * short (on this project's machines buffered writes plus fsync ran at a
 * sixth of the speed). The tail that is not a whole block is written
 * through the page cache. */
static int blob_open(sm_store_blob *blob, sm_error *err)
{
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
    blob->fd = open(blob->tmp_path, flags | O_DIRECT, 0600);
    blob->direct = blob->fd >= 0;
    if (blob->fd < 0 && errno == EINVAL) /* tmpfs and the like */
        blob->fd = open(blob->tmp_path, flags, 0600);
    if (blob->fd < 0)
        return sm_error_set(err, "cannot create %s: %s", blob->tmp_path,
                            strerror(errno));
    return 0;
}

sm_store_blob *sm_store_blob_new(sm_store *self, sm_error *err)
{
    sm_store_blob *blob = calloc(1, sizeof *blob);
    char name[FILE_ID_LEN + 8];
    random_hex(name, FILE_ID_LEN);
    strcat(name, ".tmp");
    if (blob) {
        blob->store = self;
        blob->fd = -1;
        blob->tmp_path = path_join(self->tmp_dir, name);
        blob->md5 = sm_md5_stream_new(self->md5s);
    }
    if (!blob || !blob->tmp_path || !blob->md5) {
        sm_error_set(err, "out of memory");
        sm_store_blob_destroy(&blob);
        return NULL;
    }
    if (blob_open(blob, err))
        sm_store_blob_destroy(&blob);
    return blob;
}

/* Leave O_DIRECT: for the tail, or when the file system refuses it. */
static int blob_buffered(sm_store_blob *blob)
{
    int flags = fcntl(blob->fd, F_GETFL);
    if (flags < 0 || fcntl(blob->fd, F_SETFL, flags & ~O_DIRECT) < 0)
        return -1;
    blob->direct = 0;
    return 0;
}

/* `len` bytes at `off`, now; O_DIRECT given up if the file system
 * refuses it for these bytes. */
static int blob_write_now(sm_store_blob *blob, const char *data, size_t len,
                          uint64_t off, sm_error *err)
{
    if (blob->direct && len % BLOB_ALIGN != 0 && blob_buffered(blob))
        return sm_error_set(err, "cannot write a body to disk: %s",
                            strerror(errno));
    int rc = sm_files_write_all(blob->fd, data, len, (off_t)off);
    if (rc && errno == EINVAL && blob->direct && !blob_buffered(blob))
        rc = sm_files_write_all(blob->fd, data, len, (off_t)off);
    if (rc)
        return sm_error_set(err, "cannot write a body to disk: %s",
                            strerror(errno));
    return 0;
}

/* The write under way, finished: what it left undone (a short write, a
 * refused O_DIRECT) done now. */
static int blob_await(sm_store_blob *blob, sm_error *err)
{
    if (!blob->writing)
        return 0;
    long n = sm_disk_write_wait(&blob->write);
    const char *data = blob->writing;
    blob->writing = NULL;
    if (n == BLOB_BUFFER)
        return 0;
    size_t done = n > 0 ? (size_t)n : 0;
    if (n < 0 && n != -EINVAL) {
        errno = (int)-n;
        return sm_error_set(err, "cannot write a body to disk: %s",
                            strerror(errno));
    }
    return blob_write_now(blob, data + done, BLOB_BUFFER - done,
                          blob->writing_offset + done, err);
}

static int blob_flush(sm_store_blob *blob, sm_error *err)
{
    if (!blob->buf || !blob->buf_len)
        return 0;
    if (blob_write_now(blob, blob->buf, blob->buf_len, blob->offset, err))
        return -1;
    blob->offset += blob->buf_len;
    blob->buf_len = 0;
    return 0;
}

/* A full buffer: the next one is taken first (so it cannot be this
 * one), then this one's MD5 is queued and its write submitted, to go on
 * while the thread serves its connections; the previous write is
 * collected before, a buffer's time after it began. */
static int blob_pass_on(sm_store_blob *blob, sm_error *err)
{
    if (blob_await(blob, err))
        return -1;
    char *next = sm_md5_stream_buffer(blob->md5);
    if (!next)
        return sm_error_set(err, "out of memory");
    char *full = blob->buf;
    sm_md5_stream_queue(blob->md5, full);
    int rc = 0;
    if (blob->direct && sm_disk_write_start(&blob->write, blob->fd, full,
                                            BLOB_BUFFER, blob->offset) == 0) {
        blob->writing = full;
        blob->writing_offset = blob->offset;
    } else {
        rc = blob_write_now(blob, full, BLOB_BUFFER, blob->offset, err);
    }
    blob->offset += BLOB_BUFFER;
    blob->buf = next;
    blob->buf_len = 0;
    return rc;
}

int sm_store_blob_write(sm_store_blob *blob, const void *data, size_t len,
                        sm_error *err)
{
    if (blob->finished)
        return sm_error_set(err, "the body was already finished");
    blob->size += len;
    const char *p = data;
    while (len > 0) {
        if (!blob->buf && !(blob->buf = sm_md5_stream_buffer(blob->md5)))
            return sm_error_set(err, "out of memory");
        size_t n = BLOB_BUFFER - blob->buf_len;
        n = n < len ? n : len;
        memcpy(blob->buf + blob->buf_len, p, n);
        blob->buf_len += n;
        p += n;
        len -= n;
        if (blob->buf_len == BLOB_BUFFER && blob_pass_on(blob, err))
            return -1;
    }
    return 0;
}

int sm_store_blob_copy(sm_store_blob *blob, sm_store_reader *reader,
                       uint64_t offset, uint64_t len, sm_checksum *sum,
                       sm_error *err)
{
    if (blob->finished)
        return sm_error_set(err, "the body was already finished");
    while (len > 0) {
        if (!blob->buf && !(blob->buf = sm_md5_stream_buffer(blob->md5)))
            return sm_error_set(err, "out of memory");
        size_t room = BLOB_BUFFER - blob->buf_len;
        size_t want = len < room ? (size_t)len : room;
        errno = 0;
        ssize_t got = sm_store_reader_read(reader, offset,
                                           blob->buf + blob->buf_len, want);
        if (got < 0)
            return sm_error_set(err, "cannot read the copy's source: %s",
                                errno ? strerror(errno) : "it is too short");
        if (got == 0)
            return sm_error_set(err, "the copy's source ended early");
        if (sum)
            sm_checksum_update(sum, blob->buf + blob->buf_len, (size_t)got);
        blob->buf_len += (size_t)got;
        blob->size += (uint64_t)got;
        offset += (uint64_t)got;
        len -= (uint64_t)got;
        if (blob->buf_len == BLOB_BUFFER && blob_pass_on(blob, err))
            return -1;
    }
    return 0;
}

int sm_store_blob_settle(sm_store_blob *blob, sm_error *err)
{
    return blob_await(blob, err);
}

int sm_store_blob_finish(sm_store_blob *blob, unsigned char md5[16],
                         sm_error *err)
{
    if (!blob->finished) {
        size_t tail = blob->buf_len;
        if (blob_await(blob, err) || blob_flush(blob, err))
            return -1;
        if (fsync(blob->fd) != 0)
            return sm_error_set(err, "cannot sync a body to disk: %s",
                                strerror(errno));
        sm_md5_stream_finish(blob->md5, blob->buf, tail, blob->digest);
        close(blob->fd);
        blob->fd = -1;
        blob->finished = 1;
    }
    if (md5)
        memcpy(md5, blob->digest, 16);
    return 0;
}

uint64_t sm_store_blob_size(const sm_store_blob *blob)
{
    return blob->size;
}

void sm_store_blob_destroy(sm_store_blob **blob)
{
    sm_store_blob *b = *blob;
    if (!b)
        return;
    if (b->writing) /* the kernel must be done with its buffer */
        sm_disk_write_wait(&b->write);
    if (b->fd >= 0)
        close(b->fd);
    if (b->tmp_path && !b->taken)
        unlink(b->tmp_path);
    free(b->tmp_path);
    sm_md5_stream_free(&b->md5); /* and the buffers, b->buf among them */
    free(b);
    *blob = NULL;
}

/* Move the finished blob into objects/ under a new id (written to `id`);
 * the rename is made durable before any row names it. */
static int blob_place(sm_store_blob *blob, char id[FILE_ID_LEN + 1],
                      sm_error *err)
{
    sm_store *self = blob->store;
    if (!blob->finished)
        return sm_error_set(err, "a body was stored before it was finished");
    random_hex(id, FILE_ID_LEN);
    char shard[4096], path[4096];
    snprintf(shard, sizeof shard, "%s/%.2s", self->objects_dir, id);
    file_path(self, id, path, sizeof path);
    if (mkdir(shard, 0700) == 0)
        fsync_dir(self->objects_dir); /* the new shard's own entry */
    else if (errno != EEXIST)
        return sm_error_set(err, "cannot create %s: %s", shard,
                            strerror(errno));
    if (rename(blob->tmp_path, path) != 0)
        return sm_error_set(err, "cannot move a body into place: %s",
                            strerror(errno));
    blob->taken = 1;
    if (fsync_dir(shard) != 0) {
        unlink(path);
        return sm_error_set(err, "cannot sync %s: %s", shard, strerror(errno));
    }
    return 0;
}

static void unplace(sm_store *self, const char *id)
{
    char path[4096];
    file_path(self, id, path, sizeof path);
    unlink(path);
}

/* ---- buckets ------------------------------------------------------------ */

static int bucket_exists(sqlite3 *db, const char *name, sm_error *err)
{
    sqlite3_stmt *stmt =
        sm_db_prepare(db, "SELECT 1 FROM s3_buckets WHERE name = ?", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : sm_db_fail(db, err, "read");
}

sm_store_status sm_store_bucket_create(sm_store *self, const char *name,
                                       const char *region, sm_error *err)
{
    sqlite3 *db = sm_db_lock(self->db);
    sqlite3_stmt *stmt = sm_db_prepare(
        db,
        "INSERT INTO s3_buckets (name, region, created_ms) VALUES (?, ?, ?)",
        err);
    sm_store_status st = SM_STORE_FAILED;
    if (stmt) {
        bind_text(stmt, 1, name);
        bind_text(stmt, 2, region);
        sqlite3_bind_int64(stmt, 3, now_ms());
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE)
            st = SM_STORE_OK;
        else if (rc == SQLITE_CONSTRAINT)
            st = SM_STORE_BUCKET_EXISTS;
        else
            sm_db_fail(db, err, "create a bucket");
    }
    sqlite3_finalize(stmt);
    sm_db_unlock(self->db);
    return st;
}

static void bucket_row(sqlite3_stmt *stmt, sm_store_bucket *out)
{
    column_copy(stmt, 0, out->name, sizeof out->name);
    column_copy(stmt, 1, out->region, sizeof out->region);
    out->created_ms = sqlite3_column_int64(stmt, 2);
}

sm_store_status sm_store_bucket_get(sm_store *self, const char *name,
                                    sm_store_bucket *out, sm_error *err)
{
    sqlite3 *db = sm_db_lock(self->db);
    sqlite3_stmt *stmt = sm_db_prepare(
        db, "SELECT name, region, created_ms FROM s3_buckets WHERE name = ?",
        err);
    sm_store_status st = SM_STORE_FAILED;
    if (stmt) {
        bind_text(stmt, 1, name);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            if (out)
                bucket_row(stmt, out);
            st = SM_STORE_OK;
        } else if (rc == SQLITE_DONE) {
            st = SM_STORE_NO_BUCKET;
        } else {
            sm_db_fail(db, err, "read a bucket");
        }
    }
    sqlite3_finalize(stmt);
    sm_db_unlock(self->db);
    return st;
}

/* Add the files of every row `sql` (one text parameter) selects. */
static int collect_files(sqlite3 *db, const char *sql, const char *param,
                         id_list *files, sm_error *err)
{
    sqlite3_stmt *stmt = sm_db_prepare(db, sql, err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, param);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (id_list_add(files, (const char *)sqlite3_column_text(stmt, 0))) {
            sqlite3_finalize(stmt);
            return sm_error_set(err, "out of memory");
        }
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : sm_db_fail(db, err, "read files");
}

static int exec_text(sqlite3 *db, const char *sql, const char *param,
                     sm_error *err)
{
    sqlite3_stmt *stmt = sm_db_prepare(db, sql, err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, param);
    int rc = step_done(db, stmt, err);
    sqlite3_finalize(stmt);
    return rc;
}

static int bucket_has_objects(sqlite3 *db, const char *name, sm_error *err)
{
    sqlite3_stmt *stmt = sm_db_prepare(
        db, "SELECT 1 FROM s3_objects WHERE bucket = ? LIMIT 1", err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : sm_db_fail(db, err, "read");
}

sm_store_status sm_store_bucket_delete(sm_store *self, const char *name,
                                       sm_error *err)
{
    id_list files = {0};
    sqlite3 *db = sm_db_lock(self->db);
    int rc = begin(db, err);
    sm_store_status st = SM_STORE_FAILED;
    int found = rc ? -1 : bucket_exists(db, name, err);
    int full = found == 1 ? bucket_has_objects(db, name, err) : 0;
    if (found == 0)
        st = SM_STORE_NO_BUCKET;
    else if (full == 1)
        st = SM_STORE_BUCKET_NOT_EMPTY;
    else if (found == 1 && full == 0 &&
             !collect_files(db,
                            "SELECT p.file FROM s3_parts p JOIN s3_uploads u"
                            " ON p.upload_id = u.id WHERE u.bucket = ?",
                            name, &files, err) &&
             !exec_text(db, "DELETE FROM s3_uploads WHERE bucket = ?", name,
                        err) &&
             !exec_text(db, "DELETE FROM s3_buckets WHERE name = ?", name,
                        err) &&
             !commit(db, err))
        st = SM_STORE_OK;
    rollback(db);
    sm_db_unlock(self->db);
    if (st == SM_STORE_OK)
        id_list_unlink(self, &files);
    free(files.ids);
    return st;
}

sm_store_status sm_store_bucket_list(sm_store *self, sm_store_bucket **out,
                                     size_t *count, sm_error *err)
{
    *out = NULL;
    *count = 0;
    sqlite3 *db = sm_db_lock(self->db);
    sqlite3_stmt *stmt = sm_db_prepare(
        db, "SELECT name, region, created_ms FROM s3_buckets ORDER BY name",
        err);
    sm_store_status st = stmt ? SM_STORE_OK : SM_STORE_FAILED;
    int rc = SQLITE_DONE;
    while (stmt && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        sm_store_bucket *grown = realloc(*out, (*count + 1) * sizeof **out);
        if (!grown) {
            st = SM_STORE_FAILED;
            sm_error_set(err, "out of memory");
            break;
        }
        *out = grown;
        bucket_row(stmt, &grown[(*count)++]);
    }
    if (stmt && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        st = SM_STORE_FAILED;
        sm_db_fail(db, err, "list buckets");
    }
    sqlite3_finalize(stmt);
    sm_db_unlock(self->db);
    if (st != SM_STORE_OK) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return st;
}

/* ---- objects ------------------------------------------------------------ */

void sm_store_object_clear(sm_store_object *obj)
{
    free(obj->key);
    free(obj->content_type);
    free(obj->headers);
    *obj = (sm_store_object){0};
}

static const char object_columns[] =
    "SELECT id, key, size, etag, content_type, headers, checksum_algorithm,"
    " checksum, modified_ms, parts FROM s3_objects";

static void object_row(sqlite3_stmt *stmt, sm_store_object *out)
{
    sm_store_object_clear(out);
    out->key = column_dup(stmt, 1);
    out->size = (uint64_t)sqlite3_column_int64(stmt, 2);
    column_copy(stmt, 3, out->etag, sizeof out->etag);
    out->content_type = column_dup(stmt, 4);
    out->headers = column_dup(stmt, 5);
    out->checksum_algorithm =
        sm_checksum_from_name((const char *)sqlite3_column_text(stmt, 6));
    column_copy(stmt, 7, out->checksum, sizeof out->checksum);
    out->modified_ms = sqlite3_column_int64(stmt, 8);
    out->parts = sqlite3_column_int(stmt, 9);
}

/* The id of bucket/key into *id: 1 found, 0 not, -1 failed. When `out`
 * is not NULL it gets the description too. */
static int object_find(sqlite3 *db, const char *bucket, const char *key,
                       sqlite3_int64 *id, sm_store_object *out, sm_error *err)
{
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE bucket = ? AND key = ?",
             object_columns);
    sqlite3_stmt *stmt = sm_db_prepare(db, sql, err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, bucket);
    bind_text(stmt, 2, key);
    int rc = sqlite3_step(stmt), found = 0;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(stmt, 0);
        if (out)
            object_row(stmt, out);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = sm_db_fail(db, err, "read an object");
    }
    sqlite3_finalize(stmt);
    return found;
}

/* Delete bucket/key's row (segments go with it), adding its files to
 * `files`; 1 when there was one, 0 when not, -1 failed. */
static int object_remove(sqlite3 *db, const char *bucket, const char *key,
                         id_list *files, sm_error *err)
{
    sqlite3_int64 id = 0;
    int found = object_find(db, bucket, key, &id, NULL, err);
    if (found != 1)
        return found;
    char param[32];
    snprintf(param, sizeof param, "%lld", (long long)id);
    if (collect_files(db, "SELECT file FROM s3_segments WHERE object_id = ?",
                      param, files, err) ||
        exec_text(db, "DELETE FROM s3_objects WHERE id = ?", param, err))
        return -1;
    return 1;
}

typedef struct new_object {
    const char *bucket, *key;
    uint64_t size;
    const char *etag;
    const sm_store_object *attrs;
    int parts;
    int64_t modified_ms;
} new_object;

static sqlite3_int64 object_insert(sqlite3 *db, const new_object *o,
                                   sm_error *err)
{
    sqlite3_stmt *stmt = sm_db_prepare(
        db,
        "INSERT INTO s3_objects (bucket, key, size, etag, content_type,"
        " headers, checksum_algorithm, checksum, modified_ms, parts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        err);
    if (!stmt)
        return -1;
    const sm_store_object *a = o->attrs;
    const char *alg = sm_checksum_name(a->checksum_algorithm);
    bind_text(stmt, 1, o->bucket);
    bind_text(stmt, 2, o->key);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)o->size);
    bind_text(stmt, 4, o->etag);
    bind_text(stmt, 5,
              a->content_type ? a->content_type : "binary/octet-stream");
    bind_text(stmt, 6, a->headers ? a->headers : "{}");
    bind_text(stmt, 7, alg && a->checksum[0] ? alg : "");
    bind_text(stmt, 8, alg ? a->checksum : "");
    sqlite3_bind_int64(stmt, 9, o->modified_ms);
    sqlite3_bind_int(stmt, 10, o->parts);
    int rc = step_done(db, stmt, err);
    sqlite3_finalize(stmt);
    return rc ? -1 : sqlite3_last_insert_rowid(db);
}

static int segment_insert(sqlite3 *db, sqlite3_int64 object_id, int seq,
                          const char *file, uint64_t size, sm_error *err)
{
    sqlite3_stmt *stmt =
        sm_db_prepare(db,
                      "INSERT INTO s3_segments (object_id, seq, file, size)"
                      " VALUES (?, ?, ?, ?)",
                      err);
    if (!stmt)
        return -1;
    sqlite3_bind_int64(stmt, 1, object_id);
    sqlite3_bind_int(stmt, 2, seq);
    bind_text(stmt, 3, file);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)size);
    int rc = step_done(db, stmt, err);
    sqlite3_finalize(stmt);
    return rc;
}

/* Describe the object just written, for the caller. */
static int object_describe(const new_object *o, sm_store_object *out)
{
    if (!out)
        return 0;
    sm_store_object_clear(out);
    out->key = strdup(o->key);
    out->size = o->size;
    snprintf(out->etag, sizeof out->etag, "%s", o->etag);
    out->content_type = strdup(o->attrs->content_type ? o->attrs->content_type
                                                      : "binary/octet-stream");
    out->headers = strdup(o->attrs->headers ? o->attrs->headers : "{}");
    out->checksum_algorithm = o->attrs->checksum_algorithm;
    snprintf(out->checksum, sizeof out->checksum, "%s", o->attrs->checksum);
    out->modified_ms = o->modified_ms;
    out->parts = o->parts;
    return out->key && out->content_type && out->headers ? 0 : -1;
}

sm_store_status sm_store_object_put(sm_store *self, const char *bucket,
                                    const char *key, sm_store_blob *blob,
                                    const sm_store_object *attrs,
                                    sm_store_object *out, sm_error *err)
{
    char etag[48], id[FILE_ID_LEN + 1] = "";
    sm_s3rules_etag(blob->digest, etag);
    new_object o = {bucket, key, blob->size, etag, attrs, 0, now_ms()};
    id_list old = {0};
    sqlite3 *db = sm_db_lock(self->db);
    sm_store_status st = SM_STORE_FAILED;
    int found = bucket_exists(db, bucket, err);
    if (found == 0)
        st = SM_STORE_NO_BUCKET;
    if (found == 1 && !blob_place(blob, id, err) && !begin(db, err)) {
        sqlite3_int64 oid = -1;
        if (object_remove(db, bucket, key, &old, err) >= 0)
            oid = object_insert(db, &o, err);
        if (oid >= 0 && !segment_insert(db, oid, 0, id, blob->size, err) &&
            !commit(db, err))
            st = SM_STORE_OK;
    }
    rollback(db);
    sm_db_unlock(self->db);
    if (st == SM_STORE_OK) {
        id_list_unlink(self, &old);
        if (object_describe(&o, out))
            sm_error_set(err, "out of memory");
    } else if (id[0]) {
        unplace(self, id);
    }
    free(old.ids);
    return st;
}

/* ---- reading ------------------------------------------------------------ */

static int reader_open(sm_store *self, sqlite3 *db, sqlite3_int64 object_id,
                       sm_store_reader **out, sm_error *err)
{
    sm_store_reader *r = calloc(1, sizeof *r);
    sqlite3_stmt *stmt = sm_db_prepare(
        db,
        "SELECT file, size FROM s3_segments WHERE object_id = ? ORDER BY seq",
        err);
    int rc = r && stmt ? 0 : -1, step;
    if (stmt)
        sqlite3_bind_int64(stmt, 1, object_id);
    while (!rc && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        segment *grown = realloc(r->segments, (r->count + 1) * sizeof *grown);
        if (!grown) {
            rc = sm_error_set(err, "out of memory");
            break;
        }
        r->segments = grown;
        char path[4096];
        file_path(self, (const char *)sqlite3_column_text(stmt, 0), path,
                  sizeof path);
        segment *seg = &grown[r->count];
        seg->start = r->size;
        seg->size = (uint64_t)sqlite3_column_int64(stmt, 1);
        seg->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (seg->fd < 0) {
            rc = sm_error_set(err, "cannot open %s: %s", path, strerror(errno));
            break;
        }
        r->count++;
        r->size += seg->size;
    }
    if (!rc && step != SQLITE_DONE)
        rc = sm_db_fail(db, err, "read an object's files");
    sqlite3_finalize(stmt);
    if (rc)
        sm_store_reader_close(&r);
    *out = r;
    return rc;
}

sm_store_status sm_store_object_open(sm_store *self, const char *bucket,
                                     const char *key, sm_store_object *out,
                                     sm_store_reader **reader, sm_error *err)
{
    if (reader)
        *reader = NULL;
    sqlite3 *db = sm_db_lock(self->db);
    sqlite3_int64 id = 0;
    sm_store_status st = SM_STORE_FAILED;
    int found = object_find(db, bucket, key, &id, out, err);
    if (found == 1) {
        st = !reader || !reader_open(self, db, id, reader, err)
                 ? SM_STORE_OK
                 : SM_STORE_FAILED;
    } else if (found == 0) {
        int bucket_found = bucket_exists(db, bucket, err);
        st = bucket_found == 1   ? SM_STORE_NO_KEY
             : bucket_found == 0 ? SM_STORE_NO_BUCKET
                                 : SM_STORE_FAILED;
    }
    sm_db_unlock(self->db);
    return st;
}

ssize_t sm_store_reader_read(sm_store_reader *self, uint64_t offset, void *buf,
                             size_t len)
{
    size_t i = 0;
    while (i < self->count &&
           offset >= self->segments[i].start + self->segments[i].size)
        i++;
    if (i == self->count || len == 0)
        return 0;
    const segment *seg = &self->segments[i];
    uint64_t left = seg->start + seg->size - offset;
    size_t n = len < left ? len : (size_t)left;
    ssize_t got;
    do {
        got = pread(seg->fd, buf, n, (off_t)(offset - seg->start));
    } while (got < 0 && errno == EINTR);
    if (got == 0)
        return -1; /* the file is shorter than its row says */
    return got;
}

int sm_store_reader_fd(const sm_store_reader *self, int *fd)
{
    if (self->count != 1)
        return -1;
    *fd = self->segments[0].fd;
    return 0;
}

uint64_t sm_store_reader_size(const sm_store_reader *self)
{
    return self->size;
}

void sm_store_reader_close(sm_store_reader **self)
{
    if (!*self)
        return;
    for (size_t i = 0; i < (*self)->count; i++)
        close((*self)->segments[i].fd);
    free((*self)->segments);
    free(*self);
    *self = NULL;
}

sm_store_status sm_store_object_delete(sm_store *self, const char *bucket,
                                       const char *key, int *existed,
                                       sm_error *err)
{
    id_list files = {0};
    sqlite3 *db = sm_db_lock(self->db);
    sm_store_status st = SM_STORE_FAILED;
    int found = bucket_exists(db, bucket, err), removed = 0;
    if (found == 0)
        st = SM_STORE_NO_BUCKET;
    if (found == 1 && !begin(db, err)) {
        removed = object_remove(db, bucket, key, &files, err);
        if (removed >= 0 && !commit(db, err))
            st = SM_STORE_OK;
    }
    rollback(db);
    sm_db_unlock(self->db);
    if (st == SM_STORE_OK)
        id_list_unlink(self, &files);
    free(files.ids);
    if (existed)
        *existed = st == SM_STORE_OK && removed == 1;
    return st;
}

/* ---- listing ------------------------------------------------------------ */

void sm_store_list_clear(sm_store_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->entries[i].key);
    for (size_t i = 0; i < list->prefix_count; i++)
        free(list->prefixes[i]);
    free(list->entries);
    free(list->prefixes);
    free(list->last);
    *list = (sm_store_list){0};
}

/* The listing's walk: a cursor that only moves forward, and the page. */
typedef struct list_walk {
    const sm_store_list_query *q;
    size_t prefix_len;
    char *cursor; /* keys strictly after this */
    sm_store_list *out;
    int done;
} list_walk;

static int walk_set_cursor(list_walk *w, const char *s, size_t n, int skip)
{
    /* After every key under a common prefix: the prefix, then a byte no
     * UTF-8 key holds, so the next key compares above all of them. */
    char *c = malloc(n + 2);
    if (!c)
        return -1;
    memcpy(c, s, n);
    c[n] = skip ? '\xff' : '\0';
    c[n + 1] = '\0';
    free(w->cursor);
    w->cursor = c;
    return 0;
}

static int walk_last(list_walk *w, const char *s, size_t n, int is_prefix)
{
    free(w->out->last);
    w->out->last = strndup(s, n);
    w->out->last_is_prefix = is_prefix;
    return w->out->last ? 0 : -1;
}

/* One key from the database: add it, or its common prefix, to the page.
 * Returns 1 when the cursor jumped (the batch must be read again). */
static int walk_key(list_walk *w, sqlite3_stmt *stmt, sm_error *err)
{
    const char *key = (const char *)sqlite3_column_text(stmt, 0);
    const sm_store_list_query *q = w->q;
    sm_store_list *out = w->out;
    if (strncmp(key, q->prefix ? q->prefix : "", w->prefix_len) != 0) {
        w->done = 1;
        return 0;
    }
    const char *delim = q->delimiter && *q->delimiter
                            ? strstr(key + w->prefix_len, q->delimiter)
                            : NULL;
    if (out->count + out->prefix_count >= q->max) {
        out->truncated = 1;
        w->done = 1;
        return 0;
    }
    if (delim) {
        size_t n = (size_t)(delim - key) + strlen(q->delimiter);
        char **grown =
            realloc(out->prefixes, (out->prefix_count + 1) * sizeof *grown);
        if (!grown || !(grown[out->prefix_count] = strndup(key, n)) ||
            walk_last(w, key, n, 1) || walk_set_cursor(w, key, n, 1)) {
            if (grown)
                out->prefixes = grown;
            return sm_error_set(err, "out of memory");
        }
        out->prefixes = grown;
        out->prefix_count++;
        return 1;
    }
    sm_store_list_entry *grown =
        realloc(out->entries, (out->count + 1) * sizeof *grown);
    if (!grown)
        return sm_error_set(err, "out of memory");
    out->entries = grown;
    sm_store_list_entry *e = &grown[out->count];
    *e = (sm_store_list_entry){0};
    e->key = strdup(key);
    e->size = (uint64_t)sqlite3_column_int64(stmt, 1);
    column_copy(stmt, 2, e->etag, sizeof e->etag);
    e->modified_ms = sqlite3_column_int64(stmt, 3);
    if (!e->key)
        return sm_error_set(err, "out of memory");
    out->count++;
    if (walk_last(w, key, strlen(key), 0) ||
        walk_set_cursor(w, key, strlen(key), 0))
        return sm_error_set(err, "out of memory");
    return 0;
}

#define LIST_BATCH 256

/* One batch of keys after the cursor; 0 at the end or when done. */
static int walk_batch(list_walk *w, sqlite3 *db, sm_error *err)
{
    sqlite3_stmt *stmt = sm_db_prepare(
        db,
        "SELECT key, size, etag, modified_ms FROM s3_objects"
        " WHERE bucket = ?1 AND key >= ?2 AND key > ?3 ORDER BY key LIMIT ?4",
        err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, w->q->bucket);
    bind_text(stmt, 2, w->q->prefix);
    bind_text(stmt, 3, w->cursor);
    sqlite3_bind_int(stmt, 4, LIST_BATCH);
    int rows = 0, rc = 0, step = SQLITE_DONE;
    while (!w->done && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        rows++;
        rc = walk_key(w, stmt, err);
        if (rc)
            break;
    }
    if (!rc && !w->done && step != SQLITE_DONE)
        rc = sm_db_fail(db, err, "list objects");
    sqlite3_finalize(stmt);
    if (rc < 0)
        return -1;
    if (rc == 0 && rows < LIST_BATCH)
        w->done = 1;
    return 0;
}

sm_store_status sm_store_object_list(sm_store *self,
                                     const sm_store_list_query *query,
                                     sm_store_list *out, sm_error *err)
{
    *out = (sm_store_list){0};
    list_walk w = {query, query->prefix ? strlen(query->prefix) : 0, NULL, out,
                   query->max == 0};
    const char *after = query->after ? query->after : "";
    if (walk_set_cursor(&w, after, strlen(after), query->after_is_prefix)) {
        sm_error_set(err, "out of memory");
        return SM_STORE_FAILED;
    }
    sqlite3 *db = sm_db_lock(self->db);
    int found = bucket_exists(db, query->bucket, err);
    sm_store_status st = found == 1   ? SM_STORE_OK
                         : found == 0 ? SM_STORE_NO_BUCKET
                                      : SM_STORE_FAILED;
    while (st == SM_STORE_OK && !w.done) {
        if (walk_batch(&w, db, err))
            st = SM_STORE_FAILED;
    }
    sm_db_unlock(self->db);
    free(w.cursor);
    if (st != SM_STORE_OK)
        sm_store_list_clear(out);
    return st;
}

/* ---- multipart uploads -------------------------------------------------- */

void sm_store_upload_clear(sm_store_upload *upload)
{
    free(upload->key);
    free(upload->content_type);
    free(upload->headers);
    *upload = (sm_store_upload){0};
}

static const char upload_columns[] =
    "SELECT id, key, content_type, headers, checksum_algorithm, initiated_ms"
    " FROM s3_uploads";

static void upload_row(sqlite3_stmt *stmt, sm_store_upload *out)
{
    sm_store_upload_clear(out);
    column_copy(stmt, 0, out->id, sizeof out->id);
    out->key = column_dup(stmt, 1);
    out->content_type = column_dup(stmt, 2);
    out->headers = column_dup(stmt, 3);
    out->checksum_algorithm =
        sm_checksum_from_name((const char *)sqlite3_column_text(stmt, 4));
    out->initiated_ms = sqlite3_column_int64(stmt, 5);
}

sm_store_status sm_store_upload_create(sm_store *self, const char *bucket,
                                       const char *key,
                                       const sm_store_upload *attrs,
                                       char id_out[40], sm_error *err)
{
    random_hex(id_out, 32);
    sqlite3 *db = sm_db_lock(self->db);
    sm_store_status st = SM_STORE_FAILED;
    int found = bucket_exists(db, bucket, err);
    sqlite3_stmt *stmt =
        found != 1
            ? NULL
            : sm_db_prepare(db,
                            "INSERT INTO s3_uploads (id, bucket, key,"
                            " content_type, headers, checksum_algorithm,"
                            " initiated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            err);
    if (found == 0)
        st = SM_STORE_NO_BUCKET;
    if (stmt) {
        const char *alg = sm_checksum_name(attrs->checksum_algorithm);
        bind_text(stmt, 1, id_out);
        bind_text(stmt, 2, bucket);
        bind_text(stmt, 3, key);
        bind_text(stmt, 4,
                  attrs->content_type ? attrs->content_type
                                      : "binary/octet-stream");
        bind_text(stmt, 5, attrs->headers ? attrs->headers : "{}");
        bind_text(stmt, 6, alg ? alg : "");
        sqlite3_bind_int64(stmt, 7, now_ms());
        if (!step_done(db, stmt, err))
            st = SM_STORE_OK;
    }
    sqlite3_finalize(stmt);
    sm_db_unlock(self->db);
    return st;
}

/* Upload `id` of bucket/key (the lock held): OK, NO_BUCKET, NO_UPLOAD. */
static sm_store_status upload_find(sqlite3 *db, const char *bucket,
                                   const char *key, const char *id,
                                   sm_store_upload *out, sm_error *err)
{
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE id = ? AND bucket = ? AND key = ?",
             upload_columns);
    sqlite3_stmt *stmt = sm_db_prepare(db, sql, err);
    if (!stmt)
        return SM_STORE_FAILED;
    bind_text(stmt, 1, id);
    bind_text(stmt, 2, bucket);
    bind_text(stmt, 3, key);
    int rc = sqlite3_step(stmt);
    sm_store_status st = SM_STORE_FAILED;
    if (rc == SQLITE_ROW) {
        if (out)
            upload_row(stmt, out);
        st = SM_STORE_OK;
    } else if (rc == SQLITE_DONE) {
        int found = bucket_exists(db, bucket, err);
        st = found == 1   ? SM_STORE_NO_UPLOAD
             : found == 0 ? SM_STORE_NO_BUCKET
                          : SM_STORE_FAILED;
    } else {
        sm_db_fail(db, err, "read an upload");
    }
    sqlite3_finalize(stmt);
    return st;
}

sm_store_status sm_store_upload_get(sm_store *self, const char *bucket,
                                    const char *key, const char *id,
                                    sm_store_upload *out, sm_error *err)
{
    sqlite3 *db = sm_db_lock(self->db);
    sm_store_status st = upload_find(db, bucket, key, id, out, err);
    sm_db_unlock(self->db);
    return st;
}

static void md5_hex(const unsigned char md5[16], char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[md5[i] >> 4];
        out[2 * i + 1] = hex[md5[i] & 15];
    }
    out[32] = '\0';
}

static int part_insert(sqlite3 *db, const char *id, int number,
                       const char *file, const sm_store_blob *blob,
                       const char *checksum, int64_t modified_ms, sm_error *err)
{
    char md5[33];
    md5_hex(blob->digest, md5);
    sqlite3_stmt *stmt = sm_db_prepare(
        db,
        "INSERT OR REPLACE INTO s3_parts (upload_id, number, file, size, md5,"
        " checksum, modified_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    sqlite3_bind_int(stmt, 2, number);
    bind_text(stmt, 3, file);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)blob->size);
    bind_text(stmt, 5, md5);
    bind_text(stmt, 6, checksum);
    sqlite3_bind_int64(stmt, 7, modified_ms);
    int rc = step_done(db, stmt, err);
    sqlite3_finalize(stmt);
    return rc;
}

/* The file of part `number` of upload `id`, if any, into `files`. */
static int part_file(sqlite3 *db, const char *id, int number, id_list *files,
                     sm_error *err)
{
    char sql[128];
    snprintf(sql, sizeof sql,
             "SELECT file FROM s3_parts WHERE upload_id = ? AND number = %d",
             number);
    return collect_files(db, sql, id, files, err);
}

sm_store_status sm_store_upload_part(sm_store *self, const char *bucket,
                                     const char *key, const char *id,
                                     int number, sm_store_blob *blob,
                                     const char *checksum, sm_store_part *out,
                                     sm_error *err)
{
    char file[FILE_ID_LEN + 1] = "";
    int64_t modified = now_ms();
    id_list old = {0};
    sqlite3 *db = sm_db_lock(self->db);
    sm_store_status st = upload_find(db, bucket, key, id, NULL, err);
    if (st == SM_STORE_OK) {
        st = SM_STORE_FAILED;
        if (!blob_place(blob, file, err) && !begin(db, err) &&
            !part_file(db, id, number, &old, err) &&
            !part_insert(db, id, number, file, blob, checksum, modified, err) &&
            !commit(db, err))
            st = SM_STORE_OK;
        rollback(db);
    }
    sm_db_unlock(self->db);
    if (st == SM_STORE_OK) {
        id_list_unlink(self, &old);
    } else if (file[0]) {
        unplace(self, file);
    }
    free(old.ids);
    if (st == SM_STORE_OK && out) {
        out->number = number;
        out->size = blob->size;
        sm_s3rules_etag(blob->digest, out->etag);
        snprintf(out->checksum, sizeof out->checksum, "%s",
                 checksum ? checksum : "");
        out->modified_ms = modified;
    }
    return st;
}

static void part_row(sqlite3_stmt *stmt, sm_store_part *p)
{
    *p = (sm_store_part){0};
    p->number = sqlite3_column_int(stmt, 0);
    p->size = (uint64_t)sqlite3_column_int64(stmt, 1);
    snprintf(p->etag, sizeof p->etag, "\"%s\"",
             (const char *)sqlite3_column_text(stmt, 2));
    column_copy(stmt, 3, p->checksum, sizeof p->checksum);
    p->modified_ms = sqlite3_column_int64(stmt, 4);
}

/* Parts of upload `id` after `after`, at most `max` (the lock held). */
static int parts_read(sqlite3 *db, const char *id, int after, size_t max,
                      sm_store_part **parts, size_t *count, int *truncated,
                      sm_error *err)
{
    sqlite3_stmt *stmt = sm_db_prepare(
        db,
        "SELECT number, size, md5, checksum, modified_ms FROM s3_parts"
        " WHERE upload_id = ? AND number > ? ORDER BY number LIMIT ?",
        err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    sqlite3_bind_int(stmt, 2, after);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)max + 1);
    int rc = 0, step;
    *truncated = 0;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (*count == max) {
            *truncated = 1;
            break;
        }
        sm_store_part *grown = realloc(*parts, (*count + 1) * sizeof *grown);
        if (!grown) {
            rc = sm_error_set(err, "out of memory");
            break;
        }
        *parts = grown;
        part_row(stmt, &grown[(*count)++]);
    }
    if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = sm_db_fail(db, err, "list parts");
    sqlite3_finalize(stmt);
    return rc;
}

sm_store_status sm_store_upload_parts(sm_store *self, const char *bucket,
                                      const char *key, const char *id,
                                      int after, size_t max,
                                      sm_store_part **parts, size_t *count,
                                      int *truncated, sm_error *err)
{
    *parts = NULL;
    *count = 0;
    *truncated = 0;
    sqlite3 *db = sm_db_lock(self->db);
    sm_store_status st = upload_find(db, bucket, key, id, NULL, err);
    if (st == SM_STORE_OK &&
        parts_read(db, id, after, max, parts, count, truncated, err))
        st = SM_STORE_FAILED;
    sm_db_unlock(self->db);
    if (st != SM_STORE_OK) {
        free(*parts);
        *parts = NULL;
        *count = 0;
    }
    return st;
}

/* Every part of an upload as stored, for completing it. */
typedef struct stored_part {
    int number;
    uint64_t size;
    char md5[33];
    char file[FILE_ID_LEN + 1];
    int used;
} stored_part;

static int stored_parts_read(sqlite3 *db, const char *id, stored_part **out,
                             size_t *count, sm_error *err)
{
    sqlite3_stmt *stmt = sm_db_prepare(
        db,
        "SELECT number, size, md5, file FROM s3_parts WHERE upload_id = ?"
        " ORDER BY number",
        err);
    if (!stmt)
        return -1;
    bind_text(stmt, 1, id);
    int rc = 0, step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        stored_part *grown = realloc(*out, (*count + 1) * sizeof *grown);
        if (!grown) {
            rc = sm_error_set(err, "out of memory");
            break;
        }
        *out = grown;
        stored_part *p = &grown[(*count)++];
        p->number = sqlite3_column_int(stmt, 0);
        p->size = (uint64_t)sqlite3_column_int64(stmt, 1);
        column_copy(stmt, 2, p->md5, sizeof p->md5);
        column_copy(stmt, 3, p->file, sizeof p->file);
        p->used = 0;
    }
    if (!rc && step != SQLITE_DONE)
        rc = sm_db_fail(db, err, "read parts");
    sqlite3_finalize(stmt);
    return rc;
}

static stored_part *stored_part_find(stored_part *parts, size_t count,
                                     int number)
{
    for (size_t i = 0; i < count; i++) {
        if (parts[i].number == number)
            return &parts[i];
    }
    return NULL;
}

static int hex_byte(const char *s)
{
    int v = 0;
    for (int i = 0; i < 2; i++) {
        char c = s[i];
        v = v * 16 + (c >= 'a' ? c - 'a' + 10 : c - '0');
    }
    return v;
}

/* Check the named parts against the stored ones, mark them used and
 * compute the object's ETag and size. */
static sm_store_status parts_check(stored_part *parts, size_t count,
                                   const sm_store_part_ref *refs, size_t n,
                                   char etag[48], uint64_t *size, int *bad_part,
                                   sm_error *err)
{
    unsigned char(*md5s)[16] = malloc((n ? n : 1) * sizeof *md5s);
    if (!md5s) {
        sm_error_set(err, "out of memory");
        return SM_STORE_FAILED;
    }
    sm_store_status st = SM_STORE_OK;
    *size = 0;
    for (size_t i = 1; i < n && st == SM_STORE_OK; i++) {
        if (refs[i].number <= refs[i - 1].number) {
            *bad_part = refs[i].number;
            st = SM_STORE_INVALID_PART_ORDER;
        }
    }
    for (size_t i = 0; i < n && st == SM_STORE_OK; i++) {
        stored_part *p = stored_part_find(parts, count, refs[i].number);
        char bare[64];
        *bad_part = refs[i].number;
        if (!p || !refs[i].etag ||
            sm_s3rules_etag_bare(refs[i].etag, bare, sizeof bare) ||
            strcasecmp(bare, p->md5) != 0)
            st = SM_STORE_INVALID_PART;
        else if (i + 1 < n && p->size < SM_S3_MIN_PART)
            st = SM_STORE_PART_TOO_SMALL;
        if (st != SM_STORE_OK)
            break;
        p->used = 1;
        *size += p->size;
        for (int b = 0; b < 16; b++)
            md5s[i][b] = (unsigned char)hex_byte(p->md5 + 2 * b);
    }
    if (st == SM_STORE_OK &&
        sm_s3rules_multipart_etag((const unsigned char(*)[16])md5s, n, etag)) {
        sm_error_set(err, "MD5 is not available");
        st = SM_STORE_FAILED;
    }
    free(md5s);
    return st;
}

/* The rows of the completed object, in the open transaction. */
static int complete_write(sqlite3 *db, const new_object *o,
                          const stored_part *parts, size_t count,
                          const sm_store_part_ref *refs, size_t n,
                          const char *id, id_list *drop, sm_error *err)
{
    sqlite3_int64 oid = -1;
    if (object_remove(db, o->bucket, o->key, drop, err) >= 0)
        oid = object_insert(db, o, err);
    for (size_t i = 0; oid >= 0 && i < n; i++) {
        const stored_part *p =
            stored_part_find((stored_part *)parts, count, refs[i].number);
        if (segment_insert(db, oid, (int)i, p->file, p->size, err))
            return -1;
    }
    for (size_t i = 0; oid >= 0 && i < count; i++) {
        if (!parts[i].used && id_list_add(drop, parts[i].file))
            return sm_error_set(err, "out of memory");
    }
    if (oid < 0 ||
        exec_text(db, "DELETE FROM s3_uploads WHERE id = ?", id, err))
        return -1;
    return 0;
}

sm_store_status sm_store_upload_complete(sm_store *self, const char *bucket,
                                         const char *key, const char *id,
                                         const sm_store_part_ref *refs,
                                         size_t count, sm_store_object *out,
                                         int *bad_part, sm_error *err)
{
    sm_store_upload upload = {0};
    stored_part *parts = NULL;
    size_t part_count = 0;
    id_list drop = {0};
    char etag[48];
    int bad = 0;
    sm_store_object attrs = {0};
    new_object o = {bucket, key, 0, etag, &attrs, (int)count, now_ms()};
    sqlite3 *db = sm_db_lock(self->db);
    sm_store_status st = upload_find(db, bucket, key, id, &upload, err);
    if (st == SM_STORE_OK &&
        stored_parts_read(db, id, &parts, &part_count, err))
        st = SM_STORE_FAILED;
    if (st == SM_STORE_OK)
        st = parts_check(parts, part_count, refs, count, etag, &o.size, &bad,
                         err);
    if (st == SM_STORE_OK) {
        attrs.content_type = upload.content_type;
        attrs.headers = upload.headers;
        st = !begin(db, err) &&
                     !complete_write(db, &o, parts, part_count, refs, count, id,
                                     &drop, err) &&
                     !commit(db, err)
                 ? SM_STORE_OK
                 : SM_STORE_FAILED;
        rollback(db);
    }
    sm_db_unlock(self->db);
    if (st == SM_STORE_OK) {
        id_list_unlink(self, &drop);
        if (object_describe(&o, out))
            sm_error_set(err, "out of memory");
    }
    if (bad_part)
        *bad_part = bad;
    free(drop.ids);
    free(parts);
    sm_store_upload_clear(&upload);
    return st;
}

sm_store_status sm_store_upload_abort(sm_store *self, const char *bucket,
                                      const char *key, const char *id,
                                      sm_error *err)
{
    id_list files = {0};
    sqlite3 *db = sm_db_lock(self->db);
    sm_store_status st = upload_find(db, bucket, key, id, NULL, err);
    if (st == SM_STORE_OK) {
        st = !begin(db, err) &&
                     !collect_files(db,
                                    "SELECT file FROM s3_parts WHERE"
                                    " upload_id = ?",
                                    id, &files, err) &&
                     !exec_text(db, "DELETE FROM s3_uploads WHERE id = ?", id,
                                err) &&
                     !commit(db, err)
                 ? SM_STORE_OK
                 : SM_STORE_FAILED;
        rollback(db);
    }
    sm_db_unlock(self->db);
    if (st == SM_STORE_OK)
        id_list_unlink(self, &files);
    free(files.ids);
    return st;
}

sm_store_status sm_store_upload_list(sm_store *self, const char *bucket,
                                     const char *prefix, const char *key_marker,
                                     size_t max, sm_store_upload **out,
                                     size_t *count, int *truncated,
                                     sm_error *err)
{
    *out = NULL;
    *count = 0;
    *truncated = 0;
    char sql[512];
    snprintf(sql, sizeof sql,
             "%s WHERE bucket = ? AND key >= ? AND key > ?"
             " ORDER BY key, initiated_ms, id",
             upload_columns);
    size_t prefix_len = prefix ? strlen(prefix) : 0;
    sqlite3 *db = sm_db_lock(self->db);
    int found = bucket_exists(db, bucket, err);
    sm_store_status st = found == 1   ? SM_STORE_OK
                         : found == 0 ? SM_STORE_NO_BUCKET
                                      : SM_STORE_FAILED;
    sqlite3_stmt *stmt = st == SM_STORE_OK ? sm_db_prepare(db, sql, err) : NULL;
    if (st == SM_STORE_OK && !stmt)
        st = SM_STORE_FAILED;
    if (stmt) {
        bind_text(stmt, 1, bucket);
        bind_text(stmt, 2, prefix);
        bind_text(stmt, 3, key_marker);
    }
    while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(stmt, 1);
        if (prefix_len && strncmp(key, prefix, prefix_len) != 0)
            break;
        if (*count == max) {
            *truncated = 1;
            break;
        }
        sm_store_upload *grown = realloc(*out, (*count + 1) * sizeof *grown);
        if (!grown) {
            st = SM_STORE_FAILED;
            sm_error_set(err, "out of memory");
            break;
        }
        *out = grown;
        grown[*count] = (sm_store_upload){0};
        upload_row(stmt, &grown[(*count)++]);
    }
    sqlite3_finalize(stmt);
    sm_db_unlock(self->db);
    return st;
}
