/* journal: the experiment journal, an append-only file of JSON lines beside
 * the notebook.
 *
 * Why JSON lines and not SQLite: a record is written once and never
 * changed (a run's final status is a later line, folded over its creation
 * when read), so an append-only file is all the journal needs, and it
 * stays readable with any tool and diffable beside the notebook. Crash
 * safety comes from how a line is written: the whole line in one write()
 * to a file opened O_APPEND, under an exclusive flock (two kernels in one
 * folder cannot interleave), then fsync() before the magic shows anything
 * about it. A killed kernel (kill -9) loses nothing already written, since
 * the bytes are in the file; fsync makes the same true of a machine that
 * loses power (a folder's upload syncs once, after its files' lines and
 * before its summary). A line torn by such a crash is the last one: readers
 * skip it, and the next append starts on a fresh line. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "files.h"
#include "hex.h"
#include "s3.h"
#include "sha256.h"

#define MAX_LISTED 1000 /* objects of one channel kept in the record */

static double now_epoch(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* ---- the file ------------------------------------------------------------ */

int sm_journal_path(const sm_config *config, char *out, size_t size)
{
    const char *path = sm_config_get(config, "journal");
    if (!path || !*path || strcasecmp(path, "off") == 0 ||
        strcasecmp(path, "false") == 0 || strcasecmp(path, "none") == 0)
        return -1;
    snprintf(out, size, "%s", path);
    return 0;
}

/* A line torn by a crash ends the file without its newline: end it, so the
 * next record starts a line of its own. */
static int end_torn_line(int fd)
{
    struct stat st;
    char last = '\n';
    if (fstat(fd, &st) != 0)
        return -1;
    if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
        return -1;
    return last == '\n' ? 0 : sm_files_write_all(fd, "\n", 1, -1);
}

/* A new file's name is on disk only once its folder is synced. */
static void sync_folder(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int dir = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        fsync(dir);
        close(dir);
    }
}

int sm_journal_append(const char *path, const json_t *record, int sync,
                      sm_error *err)
{
    char *line = json_dumps(record, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!line)
        return sm_error_set(err, "cannot write the journal: a record is not "
                                 "JSON");
    size_t len = strlen(line);
    line[len] = '\n'; /* json_dumps left room: its NUL */
    int created = access(path, F_OK) != 0;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    int rc = fd < 0 || flock(fd, LOCK_EX) != 0 || end_torn_line(fd) ||
                     sm_files_write_all(fd, line, len + 1, -1) ||
                     (sync && fsync(fd) != 0)
                 ? -1
                 : 0;
    if (rc)
        sm_error_set(err, "cannot write the journal %s: %s", path,
                     strerror(errno));
    if (fd >= 0)
        close(fd);
    if (!rc && created)
        sync_folder(path);
    free(line);
    return rc;
}

int sm_journal_sync(const char *path, sm_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    int rc = fd < 0 || fsync(fd) != 0 ? -1 : 0;
    if (rc)
        sm_error_set(err, "cannot write the journal %s: %s", path,
                     strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

json_t *sm_journal_load(const char *path, size_t *skipped, sm_error *err)
{
    if (skipped)
        *skipped = 0;
    json_t *records = json_array();
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return records;
        json_decref(records);
        sm_error_set(err, "cannot read the journal %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (n == 1 && line[0] == '\n')
            continue;
        json_t *rec = json_loadb(line, (size_t)n, 0, NULL);
        if (json_is_object(rec))
            json_array_append_new(records, rec);
        else {
            json_decref(rec);
            if (skipped)
                (*skipped)++;
        }
    }
    free(line);
    fclose(f);
    return records;
}

/* ---- runs ---------------------------------------------------------------- */

static void fold(json_t *run, const json_t *rec, const char *event)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)rec, key, value)
    {
        if (strcmp(key, "v") && strcmp(key, "event") && strcmp(key, "time"))
            json_object_set(run, key, value);
    }
    json_t *t = json_object_get(rec, "time");
    if (t && (strcmp(event, "created") == 0 || strcmp(event, "finished") == 0 ||
              strcmp(event, "deleted") == 0))
        json_object_set(run, event, t);
}

json_t *sm_journal_runs(const json_t *records)
{
    json_t *runs = json_array(), *index = json_object();
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        const char *event = json_string_value(json_object_get(rec, "event"));
        const char *kind = json_string_value(json_object_get(rec, "kind"));
        const char *name = json_string_value(json_object_get(rec, "name"));
        if (!event || !kind || !name || strcmp(event, "upload") == 0)
            continue;
        sm_buf key = {0};
        sm_buf_printf(&key, "%s/%s", kind, name);
        json_t *at = json_object_get(index, sm_buf_str(&key));
        json_t *run;
        if (at)
            run = json_array_get(runs, (size_t)json_integer_value(at));
        else {
            run = json_object();
            json_object_set_new(
                index, sm_buf_str(&key),
                json_integer((json_int_t)json_array_size(runs)));
            json_array_append_new(runs, run);
        }
        sm_buf_free(&key);
        fold(run, rec, event);
    }
    json_decref(index);
    return runs;
}

/* A model or endpoint config is part of an endpoint or transform run,
 * and often shares its name (or its training job's). */
static int is_part(const json_t *run)
{
    const char *kind = json_string_value(json_object_get(run, "kind"));
    return kind && (strcmp(kind, SM_JOURNAL_MODEL) == 0 ||
                    strcmp(kind, SM_JOURNAL_ENDPOINT_CONFIG) == 0);
}

const json_t *sm_journal_find(const json_t *runs, const char *name)
{
    /* SageMaker names have no '/': KIND/NAME is never a name */
    const char *slash = strchr(name, '/');
    size_t kind_len = slash ? (size_t)(slash - name) : 0;
    const char *bare = slash ? slash + 1 : name;
    const json_t *found = NULL, *part = NULL;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        const char *n = json_string_value(json_object_get(run, "name"));
        const char *k = json_string_value(json_object_get(run, "kind"));
        if (!n || !k || strcmp(n, bare) != 0 ||
            (slash && (strlen(k) != kind_len || strncmp(k, name, kind_len))))
            continue;
        if (!slash && is_part(run))
            part = run;
        else
            found = run; /* the latest of a reused name */
    }
    return found ? found : part;
}

/* ---- secrets ------------------------------------------------------------- */

static int secret_name(const char *name)
{
    static const char *const words[] = {"secret",  "password",   "passwd",
                                        "token",   "credential", "apikey",
                                        "api_key", "private"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasestr(name, words[i]))
            return 1;
    return 0;
}

json_t *sm_journal_redact(const json_t *request)
{
    if (json_is_array(request)) {
        json_t *copy = json_array();
        size_t i;
        json_t *item;
        json_array_foreach((json_t *)request, i, item)
            json_array_append_new(copy, sm_journal_redact(item));
        return copy;
    }
    if (!json_is_object(request))
        return json_deep_copy(request);
    json_t *copy = json_object();
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)request, key, value)
    {
        if (secret_name(key) && !json_is_object(value) && !json_is_array(value))
            json_object_set_new(copy, key, json_string("(removed)"));
        else
            json_object_set_new(copy, key, sm_journal_redact(value));
    }
    return copy;
}

/* ---- records of the magics ----------------------------------------------- */

/* A journal that cannot be written says so once, not once per file of a
 * folder's upload: the same message within a minute is not repeated. */
static void journal_warn(sm_call *call, const char *message)
{
    static char last[sizeof(sm_error)];
    static double last_time;
    if (strcmp(message, last) == 0 && now_epoch() - last_time < 60)
        return;
    snprintf(last, sizeof last, "%s", message);
    last_time = now_epoch();
    sm_buf b = {0};
    sm_buf_printf(&b,
                  "warning: %s; this is not in the experiment journal "
                  "(%%config journal= says where it goes)\n",
                  message);
    sm_out_stream(call->out, "stderr", sm_buf_str(&b));
    sm_buf_free(&b);
}

/* Add the version, time, backend and region to `record` (stolen) and
 * append it to the journal `config` names, on disk before this returns
 * when `sync` is set. 0 (also when the journal is off), or -1 with `err`. */
static int journal_write(const sm_config *config, const char *region,
                         json_t *record, int sync, sm_error *err)
{
    char path[PATH_MAX];
    if (sm_journal_path(config, path, sizeof path)) {
        json_decref(record);
        return 0;
    }
    json_object_set_new(record, "v", json_integer(SM_JOURNAL_VERSION));
    json_object_set_new(record, "time", json_real(now_epoch()));
    if (!json_object_get(record, "backend"))
        json_object_set_new(record, "backend",
                            json_string(sm_config_get(config, "backend")));
    if (!json_object_get(record, "region"))
        json_object_set_new(record, "region", json_string(region));
    int rc = sm_journal_append(path, record, sync, err);
    json_decref(record);
    return rc;
}

/* journal_write for a cell: a failure is the cell's warning. */
static int journal_put(sm_call *call, json_t *record, int sync)
{
    sm_config *config = sm_magics_config(call->m);
    sm_error err = {0};
    int rc = journal_write(
        config, sm_backend_region(sm_magics_backend(call->m), config), record,
        sync, &err);
    if (rc)
        journal_warn(call, err.message);
    return rc;
}

void sm_journal_flush(sm_call *call)
{
    char path[PATH_MAX];
    sm_error err = {0};
    if (sm_journal_path(sm_magics_config(call->m), path, sizeof path) == 0 &&
        sm_journal_sync(path, &err))
        journal_warn(call, err.message);
}

static json_t *event_record(const char *event, const char *kind,
                            const char *name, json_t *fields)
{
    json_t *record = json_pack("{s:s, s:s, s:s}", "event", event, "kind", kind,
                               "name", name);
    if (fields)
        json_object_update(record, fields);
    json_decref(fields);
    return record;
}

void sm_journal_created(sm_call *call, const char *kind, const char *name,
                        json_t *fields)
{
    json_t *record = event_record("created", kind, name, fields);
    json_t *request = json_object_get(record, "request");
    if (request)
        json_object_set_new(record, "request", sm_journal_redact(request));
    if (!json_object_get(record, "status"))
        json_object_set_new(record, "status", json_string("InProgress"));
    journal_put(call, record, 1);
}

json_t *sm_journal_finished(sm_call *call, const char *kind, const char *name,
                            const char *status, const char *reason,
                            json_t *fields)
{
    json_t *record = event_record("finished", kind, name, fields);
    json_object_set_new(record, "status", json_string(status));
    json_object_set_new(record, "failure_reason",
                        json_string(reason ? reason : ""));
    if (journal_put(call, record, 1))
        return NULL;
    char path[PATH_MAX];
    if (sm_journal_path(sm_magics_config(call->m), path, sizeof path))
        return NULL;
    json_t *records = sm_journal_load(path, NULL, NULL);
    json_t *runs = records ? sm_journal_runs(records) : NULL;
    sm_buf key = {0};
    sm_buf_printf(&key, "%s/%s", kind, name);
    const json_t *run = runs ? sm_journal_find(runs, sm_buf_str(&key)) : NULL;
    json_t *copy = run ? json_deep_copy(run) : NULL;
    sm_buf_free(&key);
    json_decref(runs);
    json_decref(records);
    return copy;
}

/* The records of deleting each of `gone` (borrowed: [{"kind", "name"}]),
 * as `how` did. New array. */
static json_t *deletion_records(const json_t *gone, const char *how)
{
    json_t *records = json_array();
    size_t i;
    json_t *part;
    json_array_foreach(gone, i, part)
    {
        json_array_append_new(
            records, json_pack("{s:s, s:O, s:O, s:s, s:s}", "event", "deleted",
                               "kind", json_object_get(part, "kind"), "name",
                               json_object_get(part, "name"), "status",
                               "Deleted", "deleted_by", how));
    }
    return records;
}

void sm_journal_deleted(sm_call *call, const json_t *gone, const char *how)
{
    json_t *records = deletion_records(gone, how);
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        if (journal_put(call, json_incref(rec), 1))
            break; /* one warning is enough */
    }
    json_decref(records);
}

int sm_journal_deleted_by_timer(const sm_config *config, const char *region,
                                const json_t *gone, const char *how,
                                sm_error *err)
{
    json_t *records = deletion_records(gone, how);
    int rc = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        if (!rc)
            rc = journal_write(config, region, json_incref(rec), 1, err);
    }
    json_decref(records);
    return rc;
}

/* SHA-256 of the file at `path` as hex into out[65]; -1 when unreadable. */
static int file_sha256(const char *path, char *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    sm_sha256 h;
    sm_sha256_init(&h);
    unsigned char block[1 << 16];
    size_t n;
    while ((n = fread(block, 1, sizeof block, f)) > 0)
        sm_sha256_update(&h, block, n);
    int bad = ferror(f);
    fclose(f);
    unsigned char digest[SM_SHA256_SIZE];
    sm_sha256_final(&h, digest);
    if (bad)
        return -1;
    sm_hex(digest, sizeof digest, out);
    return 0;
}

void sm_journal_uploaded(sm_call *call, const char *uri, const char *path,
                         uint64_t size, const char *etag, const char *md5)
{
    char sha[2 * SM_SHA256_SIZE + 1] = "", full[PATH_MAX];
    file_sha256(path, sha);
    if (!realpath(path, full))
        snprintf(full, sizeof full, "%s", path);
    json_t *record = json_pack("{s:s, s:s, s:s, s:I, s:s}", "event", "upload",
                               "uri", uri, "path", full, "size",
                               (json_int_t)size, "etag", etag ? etag : "");
    if (md5 && *md5)
        json_object_set_new(record, "md5", json_string(md5));
    if (sha[0])
        json_object_set_new(record, "sha256", json_string(sha));
    journal_put(call, record, 0); /* the upload's sm_journal_flush syncs */
}

/* ---- inputs -------------------------------------------------------------- */

typedef struct listing {
    json_t *objects;
    uint64_t size;
    size_t count;
    sm_sha256 digest; /* of "key\tsize\tetag\n" of every object */
} listing;

static int on_page(void *ctx, const sm_s3_page *page)
{
    listing *l = ctx;
    for (size_t i = 0; i < page->object_count; i++) {
        const sm_s3_entry *e = &page->objects[i];
        const char *etag = e->etag ? e->etag : "";
        sm_buf line = {0};
        sm_buf_printf(&line, "%s\t%llu\t%s\n", e->key,
                      (unsigned long long)e->size, etag);
        sm_sha256_update(&l->digest, sm_buf_str(&line), line.len);
        sm_buf_free(&line);
        l->size += e->size;
        if (l->count++ < MAX_LISTED)
            json_array_append_new(
                l->objects, json_pack("{s:s, s:I, s:s}", "key", e->key, "size",
                                      (json_int_t)e->size, "etag", etag));
    }
    return 0;
}

/* The latest upload record of `uri` with `etag` in `records`, or NULL. */
static const json_t *upload_of(const json_t *records, const char *uri,
                               const char *etag)
{
    const json_t *found = NULL;
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        const char *e = json_string_value(json_object_get(rec, "event"));
        const char *u = json_string_value(json_object_get(rec, "uri"));
        const char *t = json_string_value(json_object_get(rec, "etag"));
        if (e && u && t && !strcmp(e, "upload") && !strcmp(u, uri) &&
            !strcmp(t, etag))
            found = rec;
    }
    return found;
}

/* The SHA-256 and local path of each object that this journal saw
 * uploaded with the same ETag. */
static void join_uploads(json_t *objects, const char *bucket,
                         const json_t *records)
{
    size_t i;
    json_t *obj;
    json_array_foreach(objects, i, obj)
    {
        sm_buf uri = {0};
        sm_buf_printf(&uri, "s3://%s/%s", bucket,
                      json_string_value(json_object_get(obj, "key")));
        const json_t *up =
            upload_of(records, sm_buf_str(&uri),
                      json_string_value(json_object_get(obj, "etag")));
        sm_buf_free(&uri);
        const char *keys[] = {"sha256", "md5", "path"};
        for (size_t k = 0; up && k < 3; k++)
            if (json_object_get(up, keys[k]))
                json_object_set(obj, keys[k], json_object_get(up, keys[k]));
    }
}

static json_t *channel_input(sm_aws *aws, const char *channel, const char *uri,
                             const json_t *records)
{
    json_t *in = json_pack("{s:s, s:s}", "channel", channel, "uri", uri);
    sm_s3_uri parsed;
    sm_error perr = {0};
    if (sm_s3_uri_parse(uri, &parsed, &perr)) {
        json_object_set_new(in, "error", json_string(perr.message));
        return in;
    }
    listing l = {.objects = json_array()};
    sm_sha256_init(&l.digest);
    sm_s3_list req = {.bucket = parsed.bucket, .prefix = parsed.key};
    sm_aws_error err = {.http_status = 0};
    if (sm_s3_list_objects(aws, &req, on_page, &l, &err)) {
        char sentence[1024];
        sm_aws_error_format(&err, sentence, sizeof sentence);
        json_object_set_new(in, "error", json_string(sentence));
        json_decref(l.objects);
        return in;
    }
    unsigned char digest[SM_SHA256_SIZE];
    char digest_hex[2 * SM_SHA256_SIZE + 1];
    sm_sha256_final(&l.digest, digest);
    sm_hex(digest, sizeof digest, digest_hex);
    join_uploads(l.objects, parsed.bucket, records);
    json_object_set_new(in, "count", json_integer((json_int_t)l.count));
    json_object_set_new(in, "size", json_integer((json_int_t)l.size));
    json_object_set_new(in, "digest", json_string(digest_hex));
    json_object_set_new(in, "objects", l.objects);
    return in;
}

json_t *sm_journal_inputs(sm_call *call, sm_aws *aws, const json_t *channels)
{
    char path[PATH_MAX];
    json_t *records = NULL;
    if (sm_journal_path(sm_magics_config(call->m), path, sizeof path) == 0)
        records = sm_journal_load(path, NULL, NULL);
    json_t *inputs = json_array();
    const char *channel;
    json_t *uri;
    json_object_foreach((json_t *)channels, channel, uri)
    {
        if (json_string_value(uri))
            json_array_append_new(
                inputs,
                channel_input(aws, channel, json_string_value(uri), records));
    }
    json_decref(records);
    return inputs;
}

/* ---- comparing inputs ---------------------------------------------------- */

/* The member of `items` whose `member` is the string `value`, or NULL. */
static const json_t *item_where(const json_t *items, const char *member,
                                const char *value)
{
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *v = json_string_value(json_object_get(item, member));
        if (v && strcmp(v, value) == 0)
            return item;
    }
    return NULL;
}

static const char *str_of(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

#define MAX_SAID 5 /* differences spelt out; the rest are counted */

/* One more difference: spelt out for the first MAX_SAID, counted after. */
static void say(sm_buf *why, int *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(sm_buf *why, int *n, const char *fmt, ...)
{
    if (*n >= MAX_SAID) {
        (*n)++;
        return;
    }
    char text[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    sm_buf_printf(why, "%s%s", (*n)++ ? "; " : "", text);
}

/* Object by object: changed, gone, or new under the channel's URI. */
static void objects_differ(const json_t *was, const json_t *now, sm_buf *why,
                           int *n)
{
    const char *bucket_uri = str_of(was, "uri");
    const json_t *wo = json_object_get(was, "objects");
    const json_t *no = json_object_get(now, "objects");
    size_t i;
    json_t *obj;
    json_array_foreach(wo, i, obj)
    {
        const char *key = str_of(obj, "key");
        const json_t *cur = item_where(no, "key", key);
        if (!cur)
            say(why, n, "%s is gone (key %s)", bucket_uri, key);
        else if (json_integer_value(json_object_get(obj, "size")) !=
                     json_integer_value(json_object_get(cur, "size")) ||
                 strcmp(str_of(obj, "etag"), str_of(cur, "etag")))
            say(why, n,
                "%s changed: %lld bytes with ETag %s then, %lld bytes "
                "with ETag %s now",
                key,
                (long long)json_integer_value(json_object_get(obj, "size")),
                str_of(obj, "etag"),
                (long long)json_integer_value(json_object_get(cur, "size")),
                str_of(cur, "etag"));
    }
    json_array_foreach(no, i, obj)
    {
        if (!item_where(wo, "key", str_of(obj, "key")))
            say(why, n, "%s is new under %s", str_of(obj, "key"), bucket_uri);
    }
}

int sm_journal_inputs_differ(const json_t *was, const json_t *now, sm_buf *why)
{
    int n = 0;
    size_t i;
    json_t *in;
    json_array_foreach(was, i, in)
    {
        const char *channel = str_of(in, "channel");
        const json_t *cur = item_where(now, "channel", channel);
        if (json_object_get(in, "error"))
            say(why, &n,
                "the %s channel's data was not readable when the job "
                "ran, so it cannot be checked",
                channel);
        else if (!cur || json_object_get(cur, "error"))
            say(why, &n, "the %s channel's data cannot be read now: %s",
                channel, cur ? str_of(cur, "error") : "no such channel");
        else if (strcmp(str_of(in, "digest"), str_of(cur, "digest")) == 0)
            continue;
        else {
            int before = n;
            objects_differ(in, cur, why, &n);
            if (n == before) /* beyond the objects a record lists */
                say(why, &n,
                    "the %s channel's %lld objects under %s are not "
                    "the ones the job read",
                    channel,
                    (long long)json_integer_value(
                        json_object_get(cur, "count")),
                    str_of(in, "uri"));
        }
    }
    if (n > MAX_SAID)
        sm_buf_printf(why, "; and %d more differences", n - MAX_SAID);
    return n ? -1 : 0;
}

/* ---- what a request creates --------------------------------------------- */

/* {channel: uri} of a training job definition's InputDataConfig (a
 * CreateTrainingJob request, or a tuning job's TrainingJobDefinition). */
static json_t *request_channels(const json_t *definition)
{
    json_t *channels = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(definition, "InputDataConfig"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "ChannelName"));
        json_t *uri = json_object_get(
            json_object_get(json_object_get(c, "DataSource"), "S3DataSource"),
            "S3Uri");
        if (name && json_is_string(uri))
            json_object_set(channels, name, uri);
    }
    return channels;
}

/* `obj`'s member at the path of keys ending with NULL (borrowed), or NULL. */
static json_t *member(const json_t *obj, ...)
{
    va_list ap;
    va_start(ap, obj);
    json_t *at = (json_t *)obj;
    for (const char *key; at && (key = va_arg(ap, const char *));)
        at = json_object_get(at, key);
    va_end(ap);
    return at;
}

/* `value` (borrowed) into `fields` as `key` when it is there. */
static void keep(json_t *fields, const char *key, json_t *value)
{
    if (value)
        json_object_set(fields, key, value);
}

/* What a training job definition runs on: image, hyperparameters and the
 * inputs as they are now. */
static void definition_fields(sm_call *call, sm_aws *aws, json_t *fields,
                              const json_t *definition, const char *hp_member)
{
    json_t *channels = request_channels(definition);
    json_t *hp = json_object_get(definition, hp_member);
    keep(fields, "image",
         member(definition, "AlgorithmSpecification", "TrainingImage", NULL));
    json_object_set_new(fields, "hyperparameters",
                        hp ? json_deep_copy(hp) : json_object());
    json_object_set_new(fields, "inputs",
                        sm_journal_inputs(call, aws, channels));
    json_decref(channels);
}

static void tuning_fields(sm_call *call, sm_aws *aws, json_t *fields,
                          const json_t *request)
{
    const json_t *config =
        json_object_get(request, "HyperParameterTuningJobConfig");
    definition_fields(call, aws, fields,
                      json_object_get(request, "TrainingJobDefinition"),
                      "StaticHyperParameters");
    keep(fields, "ranges", json_object_get(config, "ParameterRanges"));
    keep(fields, "objective",
         json_object_get(config, "HyperParameterTuningJobObjective"));
    keep(fields, "strategy", json_object_get(config, "Strategy"));
}

static void transform_fields(sm_call *call, sm_aws *aws, json_t *fields,
                             const json_t *request)
{
    keep(fields, "model", json_object_get(request, "ModelName"));
    json_t *uri = member(request, "TransformInput", "DataSource",
                         "S3DataSource", "S3Uri", NULL);
    if (json_is_string(uri)) {
        json_t *channels = json_pack("{s:O}", "input", uri);
        json_object_set_new(fields, "inputs",
                            sm_journal_inputs(call, aws, channels));
        json_decref(channels);
    }
    keep(fields, "output",
         member(request, "TransformOutput", "S3OutputPath", NULL));
}

static void model_fields(json_t *fields, const json_t *request)
{
    const json_t *container = json_object_get(request, "PrimaryContainer");
    keep(fields, "image", json_object_get(container, "Image"));
    json_t *data = json_object_get(container, "ModelDataUrl");
    if (data)
        json_object_set_new(fields, "artifacts",
                            json_pack("{s:O}", "model_data", data));
}

/* The models of an endpoint config's variants. */
static void endpoint_config_fields(json_t *fields, const json_t *request)
{
    json_t *models = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(request, "ProductionVariants"), i, v)
    {
        json_t *model = json_object_get(v, "ModelName");
        if (model)
            json_array_append(models, model);
    }
    json_object_set_new(fields, "models", models);
}

static const struct creation {
    const char *operation, *kind, *name_member;
} creations[] = {
    {"CreateTrainingJob", SM_JOURNAL_TRAINING, "TrainingJobName"},
    {"CreateHyperParameterTuningJob", SM_JOURNAL_TUNING,
     "HyperParameterTuningJobName"},
    {"CreateTransformJob", SM_JOURNAL_TRANSFORM, "TransformJobName"},
    {"CreateModel", SM_JOURNAL_MODEL, "ModelName"},
    {"CreateEndpointConfig", SM_JOURNAL_ENDPOINT_CONFIG, "EndpointConfigName"},
    {"CreateEndpoint", SM_JOURNAL_ENDPOINT, "EndpointName"},
};

/* The creation whose kind (by_kind) or operation is `key`, or NULL. */
static const struct creation *creation_of(const char *key, int by_kind)
{
    for (size_t i = 0; i < sizeof creations / sizeof *creations; i++)
        if (strcmp(key, by_kind ? creations[i].kind : creations[i].operation) ==
            0)
            return &creations[i];
    return NULL;
}

void sm_journal_request_created(sm_call *call, sm_aws *aws, const char *kind,
                                const json_t *request, json_t *links)
{
    const struct creation *c = creation_of(kind, 1);
    const char *name =
        c ? json_string_value(json_object_get(request, c->name_member)) : NULL;
    if (!name) {
        json_decref(links);
        return;
    }
    json_t *fields = json_pack("{s:O}", "request", request);
    if (strcmp(kind, SM_JOURNAL_TRAINING) == 0)
        definition_fields(call, aws, fields, request, "HyperParameters");
    else if (strcmp(kind, SM_JOURNAL_TUNING) == 0)
        tuning_fields(call, aws, fields, request);
    else if (strcmp(kind, SM_JOURNAL_TRANSFORM) == 0)
        transform_fields(call, aws, fields, request);
    else if (strcmp(kind, SM_JOURNAL_MODEL) == 0)
        model_fields(fields, request);
    else if (strcmp(kind, SM_JOURNAL_ENDPOINT_CONFIG) == 0)
        endpoint_config_fields(fields, request);
    else
        keep(fields, "endpoint_config",
             json_object_get(request, "EndpointConfigName"));
    /* a model and an endpoint config have no status of their own */
    if (strcmp(kind, SM_JOURNAL_MODEL) == 0 ||
        strcmp(kind, SM_JOURNAL_ENDPOINT_CONFIG) == 0)
        json_object_set_new(fields, "status", json_string("Created"));
    if (links)
        json_object_update(fields, links);
    json_decref(links);
    sm_journal_created(call, kind, name, fields);
}

/* The operations of %%api that delete what the journal has runs of. */
static const struct creation deletions[] = {
    {"DeleteModel", SM_JOURNAL_MODEL, "ModelName"},
    {"DeleteEndpointConfig", SM_JOURNAL_ENDPOINT_CONFIG, "EndpointConfigName"},
    {"DeleteEndpoint", SM_JOURNAL_ENDPOINT, "EndpointName"},
};

void sm_journal_api_sent(sm_call *call, sm_aws *aws, const char *operation,
                         const json_t *request)
{
    const struct creation *c = creation_of(operation, 0);
    if (c) {
        sm_journal_request_created(call, aws, c->kind, request, NULL);
        return;
    }
    for (size_t i = 0; i < sizeof deletions / sizeof *deletions; i++) {
        const struct creation *d = &deletions[i];
        json_t *name = json_object_get(request, d->name_member);
        if (strcmp(operation, d->operation) != 0 || !json_is_string(name))
            continue;
        json_t *gone = json_pack("[{s:s, s:O}]", "kind", d->kind, "name", name);
        sm_journal_deleted(call, gone, "%%api");
        json_decref(gone);
    }
}

/* ---- how runs end -------------------------------------------------------- */

/* The service's times of a run: those it has (0 is unknown). */
static json_t *state_timings(const sm_sagemaker_state *s)
{
    json_t *t = json_object();
    const struct {
        const char *key;
        double value;
    } times[] = {{"created", s->creation_time},
                 {"started", s->start_time},
                 {"ended", s->end_time}};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++)
        if (times[i].value > 0)
            json_object_set_new(t, times[i].key, json_real(times[i].value));
    return t;
}

/* The log's curves as the run keeps them, with the final metrics. */
static json_t *training_results(const sm_sagemaker_training_job *job,
                                const json_t *curves)
{
    json_t *metrics = json_object();
    for (size_t i = 0; i < job->metric_count; i++)
        json_object_set_new(metrics, job->metrics[i].name,
                            json_real(job->metrics[i].value));
    json_t *artifacts = json_object();
    if (job->model_artifacts && job->model_artifacts[0])
        json_object_set_new(artifacts, "model",
                            json_string(job->model_artifacts));
    json_t *timings = json_pack(
        "{s:f, s:f, s:f, s:f, s:f}", "created", job->state.creation_time,
        "started", job->state.start_time, "ended", job->state.end_time,
        "training_seconds", job->training_seconds, "billable_seconds",
        job->billable_seconds);
    return json_pack("{s:o, s:O, s:o, s:o}", "metrics", metrics, "curves",
                     curves, "artifacts", artifacts, "timings", timings);
}

json_t *sm_journal_training_finished(sm_call *call,
                                     const sm_sagemaker_training_job *job,
                                     const json_t *curves)
{
    return sm_journal_finished(call, SM_JOURNAL_TRAINING, job->state.name,
                               job->state.status, job->state.failure_reason,
                               training_results(job, curves));
}

json_t *sm_journal_transform_finished(sm_call *call, sm_aws *aws,
                                      const sm_sagemaker_transform_job *job)
{
    json_t *fields = json_pack("{s:o}", "timings", state_timings(&job->state));
    if (job->output_path && job->output_path[0]) {
        json_t *channels = json_pack("{s:s}", "output", job->output_path);
        json_object_set_new(fields, "artifacts",
                            json_pack("{s:s}", "output", job->output_path));
        json_object_set_new(fields, "outputs",
                            sm_journal_inputs(call, aws, channels));
        json_decref(channels);
    }
    return sm_journal_finished(call, SM_JOURNAL_TRANSFORM, job->state.name,
                               job->state.status, job->state.failure_reason,
                               fields);
}

json_t *sm_journal_endpoint_finished(sm_call *call,
                                     const sm_sagemaker_endpoint *ep)
{
    json_t *timings = state_timings(&ep->state);
    /* an endpoint's last change before it is in service is its start */
    if (ep->state.last_modified_time > 0)
        json_object_set_new(timings, "ended",
                            json_real(ep->state.last_modified_time));
    json_t *fields = json_pack("{s:o}", "timings", timings);
    if (ep->config_name && ep->config_name[0])
        json_object_set_new(fields, "endpoint_config",
                            json_string(ep->config_name));
    return sm_journal_finished(call, SM_JOURNAL_ENDPOINT, ep->state.name,
                               ep->state.status, ep->state.failure_reason,
                               fields);
}

/* A trial (a training job the tuning job ran) as the tuning run lists it. */
static json_t *trial_record(const sm_sagemaker_trial *t)
{
    json_t *rec = json_pack("{s:s, s:s}", "name", t->state.name, "status",
                            t->state.status ? t->state.status : "");
    if (t->has_objective)
        json_object_set_new(rec, "objective", json_real(t->objective_value));
    if (t->hyperparameters)
        json_object_set_new(rec, "hyperparameters",
                            json_deep_copy(t->hyperparameters));
    return rec;
}

json_t *sm_journal_tuning_finished(sm_call *call,
                                   const sm_sagemaker_tuning_job *job,
                                   const sm_sagemaker_trials *trials)
{
    json_t *fields = json_pack(
        "{s:o, s:{s:i, s:i, s:i, s:i}}", "timings", state_timings(&job->state),
        "counts", "completed", job->jobs.completed, "failed",
        job->jobs.retryable_error + job->jobs.non_retryable_error, "stopped",
        job->jobs.stopped, "in_progress", job->jobs.in_progress);
    if (job->has_best) {
        json_object_set_new(fields, "best", trial_record(&job->best));
        if (job->best.has_objective && job->objective_metric)
            json_object_set_new(fields, "metrics",
                                json_pack("{s:f}", job->objective_metric,
                                          job->best.objective_value));
    }
    if (trials) {
        json_t *list = json_array();
        for (size_t i = 0; i < trials->count; i++)
            json_array_append_new(list, trial_record(&trials->items[i]));
        json_object_set_new(fields, "trials", list);
    }
    return sm_journal_finished(call, SM_JOURNAL_TUNING, job->state.name,
                               job->state.status, job->state.failure_reason,
                               fields);
}
