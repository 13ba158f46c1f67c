/* test_local_store: buckets, objects, listings and multipart uploads in a
 * temporary data dir, and the recovery a crash's leftovers get. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "md5.h"
#include "store.h"
#include "test.h"

typedef struct fixture {
    char dir[64];
    sm_db *db;
    sm_store *store;
} fixture;

static int fixture_open(fixture *f)
{
    char db_path[128];
    snprintf(db_path, sizeof db_path, "%s/state.db", f->dir);
    sm_error err = {0};
    f->db = sm_db_open(db_path, &err);
    f->store = f->db ? sm_store_open(f->dir, f->db, &err) : NULL;
    if (!f->store)
        printf("    %s\n", err.message);
    return f->store ? 0 : -1;
}

static void fixture_close(fixture *f)
{
    sm_store_close(&f->store);
    sm_db_close(&f->db);
}

static int fixture_new(fixture *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    return fixture_open(f);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    return remove(path);
}

static void fixture_free(fixture *f)
{
    fixture_close(f);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Put `len` bytes of `data` at bucket/key. */
static sm_store_status put(fixture *f, const char *bucket, const char *key,
                           const char *data, size_t len, sm_store_object *out)
{
    sm_error err = {0};
    sm_store_blob *blob = sm_store_blob_new(f->store, &err);
    if (!blob || sm_store_blob_write(blob, data, len, &err) ||
        sm_store_blob_finish(blob, NULL, &err)) {
        sm_store_blob_destroy(&blob);
        return SM_STORE_FAILED;
    }
    sm_store_object attrs = {0};
    attrs.content_type = "text/plain";
    sm_store_status st =
        sm_store_object_put(f->store, bucket, key, blob, &attrs, out, &err);
    sm_store_blob_destroy(&blob);
    return st;
}

/* The whole object as a new string, or NULL. */
static char *get(fixture *f, const char *bucket, const char *key)
{
    sm_store_object obj = {0};
    sm_store_reader *r = NULL;
    sm_error err = {0};
    if (sm_store_object_open(f->store, bucket, key, &obj, &r, &err) !=
        SM_STORE_OK)
        return NULL;
    char *out = calloc(1, obj.size + 1);
    uint64_t at = 0;
    while (out && at < obj.size) {
        ssize_t n = sm_store_reader_read(r, at, out + at, obj.size - at);
        if (n <= 0)
            break;
        at += (uint64_t)n;
    }
    sm_store_reader_close(&r);
    sm_store_object_clear(&obj);
    return out;
}

/* Regular files under DIR/sub. */
static size_t count_files(const char *dir, const char *sub)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    size_t n = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char child[512];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            char rel[512];
            snprintf(rel, sizeof rel, "%s/%s", sub, e->d_name);
            n += count_files(dir, rel);
        } else {
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

TEST(local_store_buckets)
{
    fixture f;
    CHECK(fixture_new(&f) == 0);
    sm_error err = {0};
    CHECK(sm_store_bucket_create(f.store, "one", "us-east-1", &err) ==
          SM_STORE_OK);
    CHECK(sm_store_bucket_create(f.store, "two", "eu-west-1", &err) ==
          SM_STORE_OK);
    CHECK(sm_store_bucket_create(f.store, "one", "us-east-1", &err) ==
          SM_STORE_BUCKET_EXISTS);
    sm_store_bucket b;
    CHECK(sm_store_bucket_get(f.store, "two", &b, &err) == SM_STORE_OK);
    CHECK_STR(b.region, "eu-west-1");
    CHECK(sm_store_bucket_get(f.store, "three", &b, &err) ==
          SM_STORE_NO_BUCKET);
    sm_store_bucket *all = NULL;
    size_t count = 0;
    CHECK(sm_store_bucket_list(f.store, &all, &count, &err) == SM_STORE_OK);
    CHECK(count == 2);
    CHECK_STR(all[0].name, "one");
    free(all);
    CHECK(put(&f, "one", "k", "v", 1, NULL) == SM_STORE_OK);
    CHECK(sm_store_bucket_delete(f.store, "one", &err) ==
          SM_STORE_BUCKET_NOT_EMPTY);
    CHECK(sm_store_bucket_delete(f.store, "two", &err) == SM_STORE_OK);
    CHECK(sm_store_bucket_delete(f.store, "two", &err) == SM_STORE_NO_BUCKET);
    fixture_free(&f);
}

TEST(local_store_objects)
{
    fixture f;
    CHECK(fixture_new(&f) == 0);
    sm_error err = {0};
    sm_store_bucket_create(f.store, "b", "us-east-1", &err);
    sm_store_object obj = {0};
    const char *key = "../../etc/passwd";
    CHECK(put(&f, "b", key, "hello", 5, &obj) == SM_STORE_OK);
    CHECK_STR(obj.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    CHECK(obj.size == 5);
    sm_store_object_clear(&obj);
    char *back = get(&f, "b", key);
    CHECK_STR(back, "hello");
    free(back);
    CHECK(count_files(f.dir, "objects") == 1);
    CHECK(put(&f, "b", key, "bye", 3, NULL) == SM_STORE_OK);
    back = get(&f, "b", key);
    CHECK_STR(back, "bye");
    free(back);
    CHECK(count_files(f.dir, "objects") == 1); /* the old file went */
    CHECK(put(&f, "nope", key, "x", 1, NULL) == SM_STORE_NO_BUCKET);
    CHECK(count_files(f.dir, "objects") == 1);
    CHECK(count_files(f.dir, "tmp") == 0);
    int existed = 0;
    CHECK(sm_store_object_delete(f.store, "b", key, &existed, &err) ==
          SM_STORE_OK);
    CHECK(existed);
    CHECK(sm_store_object_delete(f.store, "b", key, &existed, &err) ==
          SM_STORE_OK);
    CHECK(!existed);
    CHECK(sm_store_object_open(f.store, "b", key, &obj, NULL, &err) ==
          SM_STORE_NO_KEY);
    CHECK(count_files(f.dir, "objects") == 0);
    fixture_free(&f);
}

TEST(local_store_reader_outlives_delete)
{
    fixture f;
    CHECK(fixture_new(&f) == 0);
    sm_error err = {0};
    sm_store_bucket_create(f.store, "b", "us-east-1", &err);
    CHECK(put(&f, "b", "k", "first", 5, NULL) == SM_STORE_OK);
    sm_store_object obj = {0};
    sm_store_reader *r = NULL;
    CHECK(sm_store_object_open(f.store, "b", "k", &obj, &r, &err) ==
          SM_STORE_OK);
    CHECK(put(&f, "b", "k", "second", 6, NULL) == SM_STORE_OK);
    char buf[8] = {0};
    CHECK(sm_store_reader_read(r, 0, buf, sizeof buf) == 5);
    CHECK_STR(buf, "first");
    sm_store_reader_close(&r);
    sm_store_object_clear(&obj);
    fixture_free(&f);
}

/* A listing's keys and prefixes as "k:a,p:b/," for comparing. */
static char *page_text(fixture *f, const char *prefix, const char *delim,
                       const char *after, int after_prefix, size_t max,
                       int *truncated)
{
    sm_store_list_query q = {"b", prefix, delim, after, after_prefix, max};
    sm_store_list page;
    sm_error err = {0};
    if (sm_store_object_list(f->store, &q, &page, &err) != SM_STORE_OK)
        return NULL;
    sm_buf out = {0};
    for (size_t i = 0; i < page.count; i++)
        sm_buf_printf(&out, "k:%s,", page.entries[i].key);
    for (size_t i = 0; i < page.prefix_count; i++)
        sm_buf_printf(&out, "p:%s,", page.prefixes[i]);
    if (page.truncated)
        sm_buf_printf(&out, "last:%s%s", page.last,
                      page.last_is_prefix ? "(p)" : "");
    *truncated = page.truncated;
    sm_store_list_clear(&page);
    return sm_buf_take(&out);
}

TEST(local_store_listing)
{
    fixture f;
    CHECK(fixture_new(&f) == 0);
    sm_error err = {0};
    sm_store_bucket_create(f.store, "b", "us-east-1", &err);
    const char *keys[] = {"a", "d/1", "d/2", "d/sub/3", "e", "z/9"};
    for (size_t i = 0; i < 6; i++)
        CHECK(put(&f, "b", keys[i], "x", 1, NULL) == SM_STORE_OK);
    int t;
    char *p = page_text(&f, NULL, NULL, NULL, 0, 1000, &t);
    CHECK_STR(p, "k:a,k:d/1,k:d/2,k:d/sub/3,k:e,k:z/9,");
    free(p);
    p = page_text(&f, NULL, "/", NULL, 0, 1000, &t);
    CHECK_STR(p, "k:a,k:e,p:d/,p:z/,");
    free(p);
    p = page_text(&f, "d/", "/", NULL, 0, 1000, &t);
    CHECK_STR(p, "k:d/1,k:d/2,p:d/sub/,");
    free(p);
    p = page_text(&f, NULL, "/", NULL, 0, 2, &t);
    CHECK_STR(p, "k:a,p:d/,last:d/(p)");
    CHECK(t);
    free(p);
    p = page_text(&f, NULL, "/", "d/", 1, 2, &t);
    CHECK_STR(p, "k:e,p:z/,");
    CHECK(!t);
    free(p);
    p = page_text(&f, "d", NULL, "d/1", 0, 1000, &t);
    CHECK_STR(p, "k:d/2,k:d/sub/3,");
    free(p);
    p = page_text(&f, NULL, NULL, NULL, 0, 0, &t);
    CHECK_STR(p, "");
    CHECK(!t);
    free(p);
    fixture_free(&f);
}

#define PART (5u << 20)

static sm_store_status put_part(fixture *f, const char *id, int number,
                                char fill, size_t len, sm_store_part *out)
{
    sm_error err = {0};
    char *data = malloc(len);
    memset(data, fill, len);
    sm_store_blob *blob = sm_store_blob_new(f->store, &err);
    sm_store_blob_write(blob, data, len, &err);
    sm_store_blob_finish(blob, NULL, &err);
    sm_store_status st = sm_store_upload_part(f->store, "b", "big", id, number,
                                              blob, NULL, out, &err);
    sm_store_blob_destroy(&blob);
    free(data);
    return st;
}

/* Bucket "b" and an upload to "big" in it, its id in `id`: 0 or -1. */
static int upload_started(fixture *f, char id[40])
{
    sm_error err = {0};
    sm_store_upload attrs = {0};
    sm_store_bucket_create(f->store, "b", "us-east-1", &err);
    return sm_store_upload_create(f->store, "b", "big", &attrs, id, &err) ==
                   SM_STORE_OK
               ? 0
               : -1;
}

TEST(local_store_multipart)
{
    fixture f;
    CHECK(fixture_new(&f) == 0);
    sm_error err = {0};
    char id[40];
    CHECK(upload_started(&f, id) == 0);
    sm_store_part p1, p2, p3;
    CHECK(put_part(&f, id, 1, 'a', PART, &p1) == SM_STORE_OK);
    CHECK(put_part(&f, id, 2, 'x', 10, &p2) == SM_STORE_OK);
    CHECK(put_part(&f, id, 2, 'b', 3, &p2) == SM_STORE_OK); /* replaces */
    CHECK(put_part(&f, id, 3, 'c', 1, &p3) == SM_STORE_OK);
    CHECK(put_part(&f, "nope", 1, 'a', 1, NULL) == SM_STORE_NO_UPLOAD);
    CHECK(count_files(f.dir, "objects") == 3);
    sm_store_part *parts = NULL;
    size_t n = 0;
    int truncated = 0;
    CHECK(sm_store_upload_parts(f.store, "b", "big", id, 0, 2, &parts, &n,
                                &truncated, &err) == SM_STORE_OK);
    CHECK(n == 2 && truncated && parts[1].size == 3);
    free(parts);
    /* Out of order, a wrong ETag, a small part in the middle: refused. */
    sm_store_part_ref bad_order[] = {{2, p2.etag}, {1, p1.etag}};
    int bad = 0;
    CHECK(sm_store_upload_complete(f.store, "b", "big", id, bad_order, 2, NULL,
                                   &bad, &err) == SM_STORE_INVALID_PART_ORDER);
    sm_store_part_ref bad_etag[] = {{1, "\"00\""}};
    CHECK(sm_store_upload_complete(f.store, "b", "big", id, bad_etag, 1, NULL,
                                   &bad, &err) == SM_STORE_INVALID_PART);
    sm_store_part_ref small[] = {{2, p2.etag}, {3, p3.etag}};
    CHECK(sm_store_upload_complete(f.store, "b", "big", id, small, 2, NULL,
                                   &bad, &err) == SM_STORE_PART_TOO_SMALL);
    CHECK(bad == 2);
    /* Parts 1 and 2 make the object; part 3 is dropped. */
    sm_store_part_ref refs[] = {{1, p1.etag}, {2, p2.etag}};
    sm_store_object obj = {0};
    CHECK(sm_store_upload_complete(f.store, "b", "big", id, refs, 2, &obj, &bad,
                                   &err) == SM_STORE_OK);
    CHECK(obj.size == PART + 3);
    CHECK(obj.parts == 2);
    CHECK(strstr(obj.etag, "-2\"") != NULL);
    sm_store_object_clear(&obj);
    CHECK(count_files(f.dir, "objects") == 2);
    char *back = get(&f, "b", "big");
    CHECK(back && back[0] == 'a' && back[PART - 1] == 'a' &&
          strcmp(back + PART, "bbb") == 0);
    free(back);
    CHECK(sm_store_upload_get(f.store, "b", "big", id, NULL, &err) ==
          SM_STORE_NO_UPLOAD);
    fixture_free(&f);
}

TEST(local_store_abort_and_list_uploads)
{
    fixture f;
    CHECK(fixture_new(&f) == 0);
    sm_error err = {0};
    sm_store_bucket_create(f.store, "b", "us-east-1", &err);
    sm_store_upload attrs = {0};
    char id[40], id2[40];
    CHECK(sm_store_upload_create(f.store, "b", "big", &attrs, id, &err) ==
          SM_STORE_OK);
    CHECK(sm_store_upload_create(f.store, "b", "other", &attrs, id2, &err) ==
          SM_STORE_OK);
    CHECK(put_part(&f, id, 1, 'a', 100, NULL) == SM_STORE_OK);
    sm_store_upload *ups = NULL;
    size_t n = 0;
    int truncated = 0;
    CHECK(sm_store_upload_list(f.store, "b", "bi", NULL, 10, &ups, &n,
                               &truncated, &err) == SM_STORE_OK);
    CHECK(n == 1);
    CHECK_STR(ups[0].key, "big");
    sm_store_upload_clear(&ups[0]);
    free(ups);
    CHECK(sm_store_upload_get(f.store, "b", "other", id, NULL, &err) ==
          SM_STORE_NO_UPLOAD); /* an id is bound to its key */
    CHECK(sm_store_upload_abort(f.store, "b", "big", id, &err) == SM_STORE_OK);
    CHECK(count_files(f.dir, "objects") == 0);
    CHECK(sm_store_upload_abort(f.store, "b", "big", id, &err) ==
          SM_STORE_NO_UPLOAD);
    fixture_free(&f);
}

static void touch(const char *dir, const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd >= 0) {
        if (write(fd, "partial", 7) != 7)
            perror("write");
        close(fd);
    }
}

TEST(local_store_recovery)
{
    fixture f;
    CHECK(fixture_new(&f) == 0);
    sm_error err = {0};
    sm_store_bucket_create(f.store, "b", "us-east-1", &err);
    CHECK(put(&f, "b", "kept", "data", 4, NULL) == SM_STORE_OK);
    fixture_close(&f);
    /* What a crash leaves: a temporary, a renamed file with no row yet,
     * and a stray file in a shard directory. */
    touch(f.dir, "tmp/0123456789abcdef0123456789abcdef.tmp");
    char shard[128];
    snprintf(shard, sizeof shard, "%s/objects/ab", f.dir);
    mkdir(shard, 0700);
    touch(f.dir, "objects/ab/ab23456789abcdef0123456789abcdef");
    touch(f.dir, "objects/ab/stray");
    CHECK(fixture_open(&f) == 0);
    CHECK(sm_store_recovered(f.store) == 3);
    CHECK(count_files(f.dir, "tmp") == 0);
    CHECK(count_files(f.dir, "objects") == 1);
    char *back = get(&f, "b", "kept");
    CHECK_STR(back, "data");
    free(back);
    fixture_free(&f);
}

/* Bytes from a fixed seed, the same on every run. */
static void fill_seeded(unsigned char *p, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

/* A body of `len` bytes written in pieces of `piece`: its ETag is its
 * MD5 and it reads back whole (the full buffers go to disk while the
 * next ones fill, the tail after them). */
static void check_large_body(fixture *f, size_t len, size_t piece)
{
    unsigned char *data = malloc(len + 1);
    CHECK(data != NULL);
    if (!data)
        return;
    fill_seeded(data, len, (uint32_t)len);
    sm_error err = {0};
    sm_store_blob *blob = sm_store_blob_new(f->store, &err);
    CHECK(blob != NULL);
    for (size_t at = 0; blob && at < len; at += piece) {
        size_t n = len - at < piece ? len - at : piece;
        CHECK(sm_store_blob_write(blob, data + at, n, &err) == 0);
    }
    unsigned char md5[16], expected[16];
    CHECK(blob && sm_store_blob_finish(blob, md5, &err) == 0);
    sm_md5_digest(data, len, expected);
    CHECK(memcmp(md5, expected, 16) == 0);
    sm_store_object attrs = {0};
    CHECK(sm_store_object_put(f->store, "b", "big", blob, &attrs, NULL, &err) ==
          SM_STORE_OK);
    sm_store_blob_destroy(&blob);
    char *back = get(f, "b", "big");
    CHECK(back && memcmp(back, data, len) == 0);
    free(back);
    free(data);
}

TEST(local_store_large_bodies_round_trip)
{
    fixture f;
    CHECK(fixture_new(&f) == 0);
    sm_error err = {0};
    sm_store_bucket_create(f.store, "b", "us-east-1", &err);
    check_large_body(&f, (5u << 20) + 777, 100003);
    check_large_body(&f, 2u << 20, 65536); /* ends at a buffer's end */
    check_large_body(&f, (3u << 20) + 4096, 3u << 20);
    /* a body given up with a write under way leaves nothing behind */
    unsigned char *data = calloc(1, 3u << 19);
    sm_store_blob *blob = sm_store_blob_new(f.store, &err);
    CHECK(data && blob && sm_store_blob_write(blob, data, 3u << 19, &err) == 0);
    sm_store_blob_destroy(&blob);
    free(data);
    CHECK(count_files(f.dir, "tmp") == 0);
    fixture_free(&f);
}

/* Copy [offset, offset + len) of bucket/key into a new blob after
 * `prefix` and put it at b/copy; 0 on success. */
static int copy_into(fixture *f, const char *key, const char *prefix,
                     uint64_t offset, uint64_t len, unsigned char md5[16],
                     sm_checksum *sum)
{
    sm_error err = {0};
    sm_store_object src = {0};
    sm_store_reader *r = NULL;
    sm_store_blob *blob = sm_store_blob_new(f->store, &err);
    int rc = blob && sm_store_object_open(f->store, "b", key, &src, &r, &err) ==
                         SM_STORE_OK
                 ? 0
                 : -1;
    if (!rc)
        rc = sm_store_blob_write(blob, prefix, strlen(prefix), &err);
    if (!rc)
        rc = sm_store_blob_copy(blob, r, offset, len, sum, &err);
    if (!rc)
        rc = sm_store_blob_finish(blob, md5, &err);
    sm_store_object attrs = {0};
    if (!rc && sm_store_object_put(f->store, "b", "copy", blob, &attrs, NULL,
                                   &err) != SM_STORE_OK)
        rc = -1;
    sm_store_blob_destroy(&blob);
    sm_store_reader_close(&r);
    sm_store_object_clear(&src);
    return rc;
}

/* b/copy holds `prefix` then those bytes of `whole`, and its MD5 is theirs. */
static int copy_matches(fixture *f, const char *whole, const char *prefix,
                        uint64_t offset, uint64_t len,
                        const unsigned char md5[16])
{
    size_t n = strlen(prefix);
    char *want = malloc(n + len + 1);
    char *back = get(f, "b", "copy");
    unsigned char expected[16];
    int ok = want && back;
    if (ok) {
        memcpy(want, prefix, n);
        memcpy(want + n, whole + offset, len);
        sm_md5_digest(want, n + len, expected);
        ok = memcmp(back, want, n + len) == 0 && back[n + len] == '\0' &&
             memcmp(md5, expected, 16) == 0;
    }
    free(want);
    free(back);
    return ok;
}

/* Bytes copied from an object of two files: whole, across the boundary
 * between its files, after bytes written; a copy given up or reading
 * past the end leaves nothing behind. */
TEST(local_store_blob_copy)
{
    fixture f;
    CHECK(fixture_new(&f) == 0);
    sm_error err = {0};
    char id[40];
    sm_store_part p1, p2;
    CHECK(upload_started(&f, id) == 0);
    CHECK(put_part(&f, id, 1, 'a', PART, &p1) == SM_STORE_OK);
    CHECK(put_part(&f, id, 2, 'b', 700001, &p2) == SM_STORE_OK);
    sm_store_part_ref refs[] = {{1, p1.etag}, {2, p2.etag}};
    CHECK(sm_store_upload_complete(f.store, "b", "big", id, refs, 2, NULL, NULL,
                                   &err) == SM_STORE_OK);
    const uint64_t size = PART + 700001;
    char *whole = get(&f, "b", "big");
    CHECK(whole != NULL);
    unsigned char md5[16];
    CHECK(copy_into(&f, "big", "", 0, size, md5, NULL) == 0);
    CHECK(copy_matches(&f, whole, "", 0, size, md5));
    CHECK(copy_into(&f, "big", "", PART - 1000, 3000, md5, NULL) == 0);
    CHECK(copy_matches(&f, whole, "", PART - 1000, 3000, md5));
    CHECK(copy_into(&f, "big", "head:", 7, PART, md5, NULL) == 0);
    CHECK(copy_matches(&f, whole, "head:", 7, PART, md5));
    CHECK(copy_into(&f, "big", "", 5, 0, md5, NULL) == 0);
    CHECK(copy_matches(&f, whole, "", 5, 0, md5));
    /* the copied bytes (not the ones written) go through a checksum */
    sm_checksum *sum = sm_checksum_new(SM_CHECKSUM_SHA256);
    sm_checksum *want = sm_checksum_new(SM_CHECKSUM_SHA256);
    char got_b64[SM_CHECKSUM_B64_MAX], want_b64[SM_CHECKSUM_B64_MAX];
    CHECK(sum && want);
    CHECK(copy_into(&f, "big", "x", PART - 5, 700000, md5, sum) == 0);
    sm_checksum_update(want, whole + PART - 5, 700000);
    CHECK(sm_checksum_final(sum, got_b64) == 0 &&
          sm_checksum_final(want, want_b64) == 0);
    CHECK_STR(got_b64, want_b64);
    sm_checksum_destroy(&sum);
    sm_checksum_destroy(&want);
    free(whole);
    size_t files = count_files(f.dir, "objects");
    CHECK(copy_into(&f, "big", "", size - 10, 11, md5, NULL) == -1);
    CHECK(count_files(f.dir, "tmp") == 0);
    CHECK(count_files(f.dir, "objects") == files);
    fixture_free(&f);
}
