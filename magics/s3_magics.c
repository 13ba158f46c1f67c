/* s3_magics: %upload, %download and %ls: files and folders to and from S3
 * with a progress display updated in place (interruptible), and listings
 * as tables. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws_magics.h"
#include "buf.h"
#include "files.h"
#include "journal.h"
#include "render.h"
#include "s3.h"

#define MAX_FILES 10000 /* in one %upload or %download */
#define WALK_DEPTH 32   /* folders inside folders */
#define LS_LIMIT 1000

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- files --------------------------------------------------------------- */

/* One file of a transfer and, once moved, how it went. */
typedef struct file_item {
    char *path; /* local */
    char *key;  /* in S3 */
    uint64_t size;
    char checksum[SM_S3_ETAG_MAX + 8]; /* "MD5 ..." or "ETag ..." */
    double seconds;
    uint32_t parts;
} file_item;

typedef struct file_list {
    file_item *items;
    size_t count;
    uint64_t total;
} file_list;

static void file_list_clear(file_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].path);
        free(list->items[i].key);
    }
    free(list->items);
    *list = (file_list){0};
}

static int file_list_add(sm_call *call, file_list *list, const char *path,
                         const char *key, uint64_t size)
{
    if (list->count >= MAX_FILES)
        return sm_error_set(&call->err, "more than %d files; move them in "
                                        "smaller batches", MAX_FILES);
    file_item *grown = realloc(list->items, (list->count + 1) * sizeof *grown);
    if (!grown)
        return sm_error_set(&call->err, "out of memory");
    list->items = grown;
    file_item *f = &list->items[list->count];
    *f = (file_item){.path = strdup(path), .key = strdup(key), .size = size};
    if (!f->path || !f->key) {
        free(f->path);
        free(f->key);
        return sm_error_set(&call->err, "out of memory");
    }
    list->count++;
    list->total += size;
    return 0;
}

/* "a" + "b" -> "a/b", without doubled or leading slashes. New string. */
static char *key_join(const char *prefix, const char *name)
{
    sm_buf b = {0};
    prefix += strspn(prefix, "/");
    size_t n = strlen(prefix);
    while (n && prefix[n - 1] == '/')
        n--;
    sm_buf_append(&b, prefix, n);
    if (n && *name)
        sm_buf_putc(&b, '/');
    sm_buf_puts(&b, name);
    return sm_buf_take(&b);
}

/* `prefix` as a folder: "a/b" -> "a/b/", "" stays "". New string. */
static char *folder_of(const char *prefix)
{
    char *dir = key_join(prefix, "");
    size_t n = strlen(dir);
    if (n) {
        char *grown = realloc(dir, n + 2);
        if (!grown) {
            free(dir);
            return NULL;
        }
        dir = grown;
        memcpy(dir + n, "/", 2);
    }
    return dir;
}

/* `path` with a leading ~/ made $HOME/, into out[size]. */
static void expand_home(const char *path, char *out, size_t size)
{
    const char *home = getenv("HOME");
    if ((strcmp(path, "~") == 0 || strncmp(path, "~/", 2) == 0) && home)
        snprintf(out, size, "%s%s", home, path + 1);
    else
        snprintf(out, size, "%s", path);
}

/* The last component of `path`, trailing slashes ignored ("." and ".."
 * resolved against the working directory). New string. */
static char *base_name(const char *path)
{
    char buf[PATH_MAX], real[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    const char *slash = strrchr(buf, '/');
    const char *last = slash ? slash + 1 : buf;
    if ((strcmp(last, ".") == 0 || strcmp(last, "..") == 0 || !*last) &&
        realpath(buf, real)) {
        slash = strrchr(real, '/');
        return strdup(slash && slash[1] ? slash + 1 : "root");
    }
    return strdup(last);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files under `dir`, in name order, with keys prefix/rel. */
static int walk(sm_call *call, file_list *list, const char *dir,
                const char *prefix, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return sm_error_set(&call->err, "cannot read folder %s: %s", dir,
                            strerror(errno));
    char **names = NULL;
    size_t count = 0;
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char **grown = realloc(names, (count + 1) * sizeof *names);
        if (!grown || !(grown[count] = strdup(e->d_name)))
            rc = sm_error_set(&call->err, "out of memory");
        if (grown)
            names = grown;
        if (!rc)
            count++;
    }
    closedir(d);
    if (names)
        qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; !rc && i < count; i++) {
        char path[PATH_MAX];
        struct stat st, lst;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *key = key_join(prefix, names[i]);
        if (stat(path, &st) != 0)
            ; /* a dangling link: nothing to send */
        else if (S_ISDIR(st.st_mode) && lstat(path, &lst) == 0 &&
                 !S_ISLNK(lst.st_mode) && depth < WALK_DEPTH)
            rc = walk(call, list, path, key, depth + 1);
        else if (S_ISREG(st.st_mode))
            rc = file_list_add(call, list, path, key, (uint64_t)st.st_size);
        free(key);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ---- progress ------------------------------------------------------------ */

/* A display that shows a transfer's progress and, in the end, its summary. */
typedef struct transfer_view {
    sm_call *call;
    const char *verb; /* "uploading", "downloading" */
    char display_id[64];
    int displayed;
    const file_item *current;
    size_t index, count;
    uint64_t total, base, moved; /* bytes: all, of files done, so far */
    double started, last_update;
} transfer_view;

static void view_init(transfer_view *v, sm_call *call, const char *verb,
                      const file_list *list)
{
    static unsigned serial;
    *v = (transfer_view){.call = call, .verb = verb, .count = list->count,
                         .total = list->total, .started = mono_now()};
    snprintf(v->display_id, sizeof v->display_id, "sagemagic-transfer-%ld-%u",
             (long)getpid(), ++serial);
}

static void rate_text(uint64_t bytes, double seconds, char *out, size_t size)
{
    char amount[32];
    sm_render_bytes((uint64_t)(bytes / (seconds > 0.001 ? seconds : 0.001)),
                    amount, sizeof amount);
    snprintf(out, size, "%s/s", amount);
}

/* A bundle of `text` and, as HTML, the text and a bar at `percent` (or no
 * bar when percent < 0). */
static json_t *line_bundle(const char *text, int percent)
{
    char *esc = sm_html_escape(text);
    sm_buf html = {0};
    sm_buf_printf(&html, "<div style=\"font-family:var(--jp-code-font-family,"
                         "monospace)\">%s", esc);
    if (percent >= 0)
        sm_buf_printf(&html, "<br><progress max=\"100\" value=\"%d\" "
                             "style=\"width:40ch\"></progress>", percent);
    sm_buf_puts(&html, "</div>");
    json_t *bundle = json_pack("{s:s, s:s}", "text/plain", text, "text/html",
                               sm_buf_str(&html));
    sm_buf_free(&html);
    free(esc);
    return bundle;
}

static json_t *progress_bundle(const transfer_view *v, const char *note)
{
    char done[32], total[32], rate[48], text[PATH_MAX + 256], which[48] = "";
    sm_render_bytes(v->moved, done, sizeof done);
    sm_render_bytes(v->total, total, sizeof total);
    rate_text(v->moved, mono_now() - v->started, rate, sizeof rate);
    int percent = v->total ? (int)(v->moved * 100 / v->total) : 100;
    if (v->count > 1)
        snprintf(which, sizeof which, " (file %zu of %zu)", v->index + 1,
                 v->count);
    snprintf(text, sizeof text, "%s %s%s: %s of %s (%d%%), %s%s", v->verb,
             v->current ? v->current->path : "", which, done, total, percent,
             rate, note ? note : "");
    return line_bundle(text, percent);
}

static void view_put(transfer_view *v, json_t *bundle)
{
    if (v->displayed)
        sm_out_update_display(v->call->out, bundle, NULL, v->display_id);
    else
        sm_out_display(v->call->out, bundle, NULL, v->display_id);
    v->displayed = 1;
}

/* sm_s3_transfer's progress: shown after a quarter second, then at most
 * five times a second. */
static void view_progress(void *ctx, uint64_t done, uint64_t total)
{
    transfer_view *v = ctx;
    double now = mono_now();
    v->moved = v->base + done;
    if (now - v->started < 0.25 || now - v->last_update < 0.2)
        return;
    v->last_update = now;
    view_put(v, progress_bundle(v, NULL));
}

static int view_interrupted(void *ctx)
{
    transfer_view *v = ctx;
    return sm_out_interrupted(v->call->out);
}

static sm_s3_transfer view_transfer(transfer_view *v)
{
    return (sm_s3_transfer){.progress = view_progress,
                            .interrupted = view_interrupted,
                            .ctx = v};
}

/* The bytes from which uploads go multipart: SAGEMAGIC_MULTIPART_THRESHOLD
 * (a number with an optional K, M or G), else the client's default. */
static uint64_t multipart_threshold(void)
{
    const char *env = getenv("SAGEMAGIC_MULTIPART_THRESHOLD");
    if (!env || !*env)
        return 0;
    char *end;
    unsigned long long n = strtoull(env, &end, 10);
    switch (*end) {
    case 'k': case 'K': n <<= 10; break;
    case 'm': case 'M': n <<= 20; break;
    case 'g': case 'G': n <<= 30; break;
    default: break;
    }
    return n;
}

/* What a summary says of one file: "40.0 MiB, MD5 ..., 0.4 s (100 MiB/s)". */
static void file_summary(const file_item *f, char *out, size_t size)
{
    char amount[32], time[32], rate[48], parts[32] = "";
    sm_render_bytes(f->size, amount, sizeof amount);
    sm_render_duration(f->seconds, time, sizeof time);
    rate_text(f->size, f->seconds, rate, sizeof rate);
    if (f->parts)
        snprintf(parts, sizeof parts, ", %u parts", f->parts);
    snprintf(out, size, "%s%s, %s, %s (%s)", amount, parts, f->checksum, time,
             rate);
}

/* Add `line` under what `bundle` shows: a line of text, a <div> of HTML. */
static void bundle_append_line(json_t *bundle, const char *line)
{
    sm_buf b = {0};
    const char *plain = json_string_value(json_object_get(bundle, "text/plain"));
    const char *html = json_string_value(json_object_get(bundle, "text/html"));
    sm_buf_printf(&b, "%s%s\n", plain ? plain : "", line);
    json_object_set_new(bundle, "text/plain", json_string(sm_buf_str(&b)));
    if (html) {
        char *esc = sm_html_escape(line);
        b.len = 0;
        sm_buf_printf(&b, "%s<div>%s</div>", html, esc);
        json_object_set_new(bundle, "text/html", json_string(sm_buf_str(&b)));
        free(esc);
    }
    sm_buf_free(&b);
}

/* The summary of a finished transfer: one sentence for one file, else a
 * table and a line of totals. `uri_of` gives each file's far side. */
static json_t *summary_bundle(const transfer_view *v, const file_list *list,
                              const char *verb, const char *bucket,
                              int upload)
{
    char text[PATH_MAX * 2 + 512], line[256];
    double seconds = mono_now() - v->started;
    if (list->count == 1) {
        const file_item *f = &list->items[0];
        file_summary(f, line, sizeof line);
        if (upload)
            snprintf(text, sizeof text, "%s %s to s3://%s/%s: %s", verb,
                     f->path, bucket, f->key, line);
        else
            snprintf(text, sizeof text, "%s s3://%s/%s to %s: %s", verb, bucket,
                     f->key, f->path, line);
        return line_bundle(text, -1);
    }
    json_t *headers = json_pack("[s, s, s, s, s]", "file", "s3 uri", "size",
                                "checksum", "time");
    json_t *rows = json_array();
    for (size_t i = 0; i < list->count; i++) {
        const file_item *f = &list->items[i];
        char uri[SM_S3_KEY_MAX + 80], amount[32], time[32];
        snprintf(uri, sizeof uri, "s3://%s/%s", bucket, f->key);
        sm_render_bytes(f->size, amount, sizeof amount);
        sm_render_duration(f->seconds, time, sizeof time);
        json_array_append_new(rows, json_pack("[s, s, s, s, s]", f->path, uri,
                                              amount, f->checksum, time));
    }
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    char amount[32], time[32], rate[48];
    sm_render_bytes(list->total, amount, sizeof amount);
    sm_render_duration(seconds, time, sizeof time);
    rate_text(list->total, seconds, rate, sizeof rate);
    snprintf(line, sizeof line, "%s %zu files, %s in %s (%s)", verb,
             list->count, amount, time, rate);
    bundle_append_line(bundle, line);
    return bundle;
}

/* A transfer stopped: the display says where, the cell says what. */
static int transfer_failed(sm_call *call, transfer_view *v,
                           const sm_aws_error *err, const char *what)
{
    int interrupted = strcmp(err->code, SM_AWS_ERR_INTERRUPTED) == 0;
    if (v->displayed)
        view_put(v, progress_bundle(v, interrupted ? "; interrupted"
                                                   : "; failed"));
    if (!interrupted)
        return sm_call_fail_aws(call, err);
    call->ename = "KeyboardInterrupt";
    return sm_error_set(&call->err, "interrupted: %s stopped at %s (%zu of "
                                    "%zu files done); what was in flight was "
                                    "abandoned", what,
                        v->current ? v->current->path : "the start", v->index,
                        v->count);
}

static void checksum_of_etag(char *out, size_t size, const char *etag, int md5)
{
    size_t n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
        snprintf(out, size, "%s %.*s", md5 ? "MD5" : "ETag", (int)(n - 2),
                 etag + 1);
    else
        snprintf(out, size, "%s %s", md5 ? "MD5" : "ETag", etag);
}

/* ---- %upload ------------------------------------------------------------- */

static const char *content_type_of(const char *path)
{
    static const char *const types[][2] = {
        {".csv", "text/csv"},          {".json", "application/json"},
        {".jsonl", "application/jsonlines"}, {".txt", "text/plain"},
        {".libsvm", "text/libsvm"},    {".parquet", "application/x-parquet"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return NULL;
}

/* The files of every PATH argument, keyed under `prefix`. *dirs counts the
 * folders among them. */
static int upload_collect(sm_call *call, const char *prefix, file_list *list,
                          int *dirs)
{
    *dirs = 0;
    for (size_t i = 0; i < call->args.n_positional; i++) {
        char path[PATH_MAX];
        struct stat st;
        expand_home(call->args.positional[i], path, sizeof path);
        if (stat(path, &st) != 0) {
            call->ename = "FileNotFoundError";
            return sm_error_set(&call->err, "cannot upload %s: %s", path,
                                strerror(errno));
        }
        int rc;
        if (S_ISDIR(st.st_mode)) {
            size_t before = list->count;
            (*dirs)++;
            rc = walk(call, list, path, prefix, 0);
            if (!rc && list->count == before)
                rc = sm_error_set(&call->err, "folder %s holds no files", path);
        } else if (S_ISREG(st.st_mode)) {
            char *name = base_name(path), *key = key_join(prefix, name);
            rc = file_list_add(call, list, path, key, (uint64_t)st.st_size);
            free(name);
            free(key);
        } else {
            rc = sm_error_set(&call->err, "%s is neither a file nor a folder",
                              path);
        }
        if (rc)
            return -1;
    }
    return 0;
}

/* The prefix keys go under: --prefix, else %config prefix, and for a single
 * folder its name below that. New string. */
static char *upload_prefix(sm_call *call)
{
    const char *flag = sm_args_get(&call->args, "prefix");
    if (flag)
        return key_join(flag, "");
    const char *configured = sm_config_get(sm_magics_config(call->m), "prefix");
    struct stat st;
    char path[PATH_MAX];
    if (call->args.n_positional == 1) {
        expand_home(call->args.positional[0], path, sizeof path);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            char *name = base_name(path), *prefix = key_join(configured, name);
            free(name);
            return prefix;
        }
    }
    return key_join(configured, "");
}

static int upload_one(sm_call *call, sm_aws *aws, transfer_view *v,
                      const char *bucket, file_item *f)
{
    sm_s3_upload_req req = {.bucket = bucket,
                            .key = f->key,
                            .path = f->path,
                            .content_type = content_type_of(f->path),
                            .transfer = view_transfer(v)};
    req.transfer.threshold = multipart_threshold();
    sm_s3_put_result put;
    sm_aws_error err = {.http_status = 0};
    double start = mono_now();
    v->current = f;
    if (sm_s3_upload(aws, &req, &put, &err))
        return transfer_failed(call, v, &err, "the upload");
    f->seconds = mono_now() - start;
    f->parts = put.parts;
    if (!put.parts && put.md5_hex[0])
        snprintf(f->checksum, sizeof f->checksum, "MD5 %s", put.md5_hex);
    else
        checksum_of_etag(f->checksum, sizeof f->checksum, put.etag, 0);
    char uri[SM_S3_KEY_MAX + 80];
    snprintf(uri, sizeof uri, "s3://%s/%s", bucket, f->key);
    sm_journal_uploaded(call, uri, f->path, f->size, put.etag, put.md5_hex);
    v->base += f->size;
    v->moved = v->base;
    v->index++;
    return 0;
}

/* --bucket, else the default bucket (made when missing). */
static int upload_bucket(sm_call *call, const char *flag, int create,
                         char *bucket, size_t size)
{
    sm_aws_error err = {.http_status = 0};
    if (flag) {
        snprintf(bucket, size, "%s", flag);
        return 0;
    }
    if (sm_backend_bucket(sm_magics_backend(call->m), sm_magics_config(call->m),
                          call->out, create, bucket, size, &err))
        return sm_call_fail_aws(call, &err);
    return 0;
}

/* --dry-run: the requests each file would take (one PutObject, or a
 * multipart upload of N parts), as a table; nothing is sent. */
static int upload_dry_run(sm_call *call, const char *bucket,
                          const file_list *list)
{
    json_t *headers = json_pack("[s, s, s, s]", "file", "s3 uri", "size",
                                "requests");
    json_t *rows = json_array();
    json_t *value = json_array();
    for (size_t i = 0; i < list->count; i++) {
        const file_item *f = &list->items[i];
        sm_s3_plan plan;
        sm_error err = {0};
        if (sm_s3_plan_parts(f->size, multipart_threshold(), 0, &plan, &err)) {
            json_decref(headers);
            json_decref(rows);
            json_decref(value);
            return sm_error_set(&call->err, "%s: %s", f->path, err.message);
        }
        char uri[SM_S3_KEY_MAX + 80], size[32], requests[160];
        snprintf(uri, sizeof uri, "s3://%s/%s", bucket, f->key);
        sm_render_bytes(f->size, size, sizeof size);
        if (plan.multipart)
            snprintf(requests, sizeof requests,
                     "CreateMultipartUpload, %u UploadPart, "
                     "CompleteMultipartUpload",
                     plan.part_count);
        else
            snprintf(requests, sizeof requests, "PutObject");
        json_array_append_new(rows,
                              json_pack("[s, s, s, s]", f->path, uri, size,
                                        requests));
        json_array_append_new(
            value, json_pack("{s:s, s:s, s:I, s:s}", "file", f->path, "uri",
                             uri, "size", (json_int_t)f->size, "requests",
                             requests));
    }
    sm_out_stream(call->out, "stdout",
                  "dry run: nothing was sent; these uploads would be made\n");
    call->shown = sm_render_table(headers, rows);
    call->result = value;
    json_decref(headers);
    json_decref(rows);
    return 0;
}

int sm_magic_upload(sm_call *call)
{
    const char *key = sm_args_get(&call->args, "key");
    const char *bucket_flag = sm_args_get(&call->args, "bucket");
    char bucket[SM_S3_BUCKET_MAX + 1];
    sm_error check = {0};
    file_list list = {0};
    int dirs = 0, rc = 0;
    char *prefix = upload_prefix(call);
    if (upload_collect(call, prefix, &list, &dirs))
        rc = -1;
    else if (key && (list.count != 1 || dirs))
        rc = sm_error_set(&call->err, "--key names one object; give one file "
                                      "(or use --prefix for several)");
    else if (bucket_flag && sm_s3_bucket_name_check(bucket_flag, &check))
        rc = sm_error_set(&call->err, "%s", check.message);
    sm_aws *aws = rc ? NULL : sm_call_aws(call);
    if (!rc && (!aws || upload_bucket(call, bucket_flag,
                                      !sm_args_get(&call->args, "dry-run"),
                                      bucket, sizeof bucket)))
        rc = -1;
    if (!rc && key) {
        free(list.items[0].key);
        list.items[0].key = strdup(key);
    }
    if (!rc && sm_args_get(&call->args, "dry-run")) {
        rc = upload_dry_run(call, bucket, &list);
        free(prefix);
        file_list_clear(&list);
        return rc;
    }
    transfer_view v;
    view_init(&v, call, "uploading", &list);
    for (size_t i = 0; !rc && i < list.count; i++)
        rc = upload_one(call, aws, &v, bucket, &list.items[i]);
    sm_journal_flush(call);
    if (!rc) {
        view_put(&v, summary_bundle(&v, &list, "uploaded", bucket, 1));
        char uri[SM_S3_KEY_MAX + 80];
        if (list.count == 1 && !dirs)
            snprintf(uri, sizeof uri, "s3://%s/%s", bucket, list.items[0].key);
        else
            snprintf(uri, sizeof uri, "s3://%s/%s%s", bucket, prefix,
                     *prefix ? "/" : "");
        call->result = json_string(uri);
    }
    free(prefix);
    file_list_clear(&list);
    return rc;
}

/* ---- %download ----------------------------------------------------------- */

static int make_parent(sm_call *call, const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    if (sm_files_mkdirs(dir, 0777) != 0) {
        call->ename = "OSError";
        return sm_error_set(&call->err, "cannot create folder %s: %s", dir,
                            strerror(errno));
    }
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Nonzero when `rel`, a key below the prefix, is a safe relative path: no
 * empty, "." or ".." parts, so it cannot land outside the folder. */
static int safe_relative(const char *rel)
{
    if (!*rel || rel[0] == '/')
        return 0;
    for (const char *p = rel; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n + (p[n] ? 1 : 0);
        if (p[-1] == '/' && !*p)
            return 0;
    }
    return 1;
}

typedef struct prefix_listing {
    sm_call *call;
    const char *prefix;
    const char *dest;
    file_list *list;
    int failed;
} prefix_listing;

static int add_listed(void *ctx, const sm_s3_page *page)
{
    prefix_listing *l = ctx;
    for (size_t i = 0; i < page->object_count; i++) {
        const sm_s3_entry *e = &page->objects[i];
        const char *rel = e->key + strlen(l->prefix);
        size_t n = strlen(e->key);
        if (n && e->key[n - 1] == '/' && e->size == 0)
            continue; /* a "folder" marker */
        if (!safe_relative(rel)) {
            l->failed = sm_error_set(&l->call->err, "refusing s3 key '%s': "
                                     "it would land outside %s", e->key,
                                     l->dest);
            return 1;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", l->dest, rel);
        if (file_list_add(l->call, l->list, path, e->key, e->size)) {
            l->failed = -1;
            return 1;
        }
    }
    return 0;
}

static int download_one(sm_call *call, sm_aws *aws, transfer_view *v,
                        const char *bucket, file_item *f)
{
    if (make_parent(call, f->path))
        return -1;
    sm_s3_download_req req = {.bucket = bucket, .key = f->key, .path = f->path,
                              .transfer = view_transfer(v)};
    sm_s3_head head;
    sm_aws_error err = {.http_status = 0};
    double start = mono_now();
    v->current = f;
    if (sm_s3_download(aws, &req, &head, &err))
        return transfer_failed(call, v, &err, "the download");
    f->seconds = mono_now() - start;
    f->size = head.size;
    checksum_of_etag(f->checksum, sizeof f->checksum, head.etag,
                     head.etag_is_md5);
    v->base += f->size;
    v->moved = v->base;
    v->index++;
    return 0;
}

/* Where one object lands: `given` (a folder takes the key's last part), or
 * the key's last part here. New string. */
static char *file_destination(const char *given, const char *key)
{
    char *name = base_name(key), path[PATH_MAX];
    size_t n = given ? strlen(given) : 0;
    if (!given)
        snprintf(path, sizeof path, "%s", name);
    else if (is_dir(given) || given[n - 1] == '/')
        snprintf(path, sizeof path, "%s%s%s", given,
                 given[n - 1] == '/' ? "" : "/", name);
    else
        snprintf(path, sizeof path, "%s", given);
    free(name);
    return strdup(path);
}

/* Every object under `uri` as a folder, into `dest` (new: `given`, or the
 * prefix's last part, or the bucket's name). */
static int plan_prefix(sm_call *call, sm_aws *aws, const sm_s3_uri *uri,
                       const char *given, file_list *list, char **dest)
{
    size_t n = strlen(uri->key);
    char *prefix = n && uri->key[n - 1] != '/' ? folder_of(uri->key)
                                              : strdup(uri->key);
    *dest = given ? strdup(given) : n ? base_name(uri->key) : strdup(uri->bucket);
    size_t dn = strlen(*dest);
    while (dn > 1 && (*dest)[dn - 1] == '/')
        (*dest)[--dn] = '\0';
    prefix_listing l = {call, prefix, *dest, list, 0};
    sm_s3_list req = {.bucket = uri->bucket, .prefix = prefix};
    sm_aws_error err = {.http_status = 0};
    int rc = 0;
    if (sm_s3_list_objects(aws, &req, add_listed, &l, &err))
        rc = sm_call_fail_aws(call, &err);
    else if (l.failed)
        rc = -1;
    else if (list->count == 0) {
        call->ename = "FileNotFoundError";
        rc = sm_error_set(&call->err, "nothing at s3://%s/%s: no such object, "
                                      "and no objects under it",
                          uri->bucket, uri->key);
    }
    free(prefix);
    return rc;
}

/* The files to fetch for `uri`: the object itself, or everything under it
 * as a prefix. `*dest` (new) is the local file or folder. */
static int download_plan(sm_call *call, sm_aws *aws, const sm_s3_uri *uri,
                         const char *given, file_list *list, char **dest)
{
    size_t n = strlen(uri->key);
    sm_aws_error err = {.http_status = 0};
    sm_s3_head head;
    if (n && uri->key[n - 1] != '/') {
        if (sm_s3_head_object(aws, uri->bucket, uri->key, &head, &err) == 0) {
            *dest = file_destination(given, uri->key);
            return file_list_add(call, list, *dest, uri->key, head.size);
        }
        if (!sm_s3_error_not_found(&err))
            return sm_call_fail_aws(call, &err);
    }
    return plan_prefix(call, aws, uri, given, list, dest);
}

int sm_magic_download(sm_call *call)
{
    sm_s3_uri uri;
    sm_error perr = {0};
    if (sm_s3_uri_parse(call->args.positional[0], &uri, &perr))
        return sm_error_set(&call->err, "%s", perr.message);
    char given[PATH_MAX];
    if (call->args.n_positional > 1)
        expand_home(call->args.positional[1], given, sizeof given);
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return -1;
    file_list list = {0};
    char *dest = NULL;
    int rc = download_plan(call, aws, &uri,
                           call->args.n_positional > 1 && given[0] ? given : NULL, &list,
                           &dest);
    transfer_view v;
    view_init(&v, call, "downloading", &list);
    for (size_t i = 0; !rc && i < list.count; i++)
        rc = download_one(call, aws, &v, uri.bucket, &list.items[i]);
    if (!rc) {
        view_put(&v, summary_bundle(&v, &list, "downloaded", uri.bucket, 0));
        call->result = json_string(dest);
    }
    free(dest);
    file_list_clear(&list);
    return rc;
}

/* ---- %ls ----------------------------------------------------------------- */

typedef struct ls_state {
    const char *bucket;
    json_t *entries; /* array of {key, size, last_modified, uri[, folder]} */
    long limit;
    int truncated;
} ls_state;

/* "2009-10-12T17:50:30.000Z" -> "2009-10-12 17:50:30". */
static void s3_time(const char *iso, char *out, size_t size)
{
    snprintf(out, size, "%.19s", iso ? iso : "");
    if (strlen(out) > 10 && out[10] == 'T')
        out[10] = ' ';
}

static int ls_page(void *ctx, const sm_s3_page *page)
{
    ls_state *s = ctx;
    char uri[SM_S3_KEY_MAX + 80], when[32];
    for (size_t i = 0; i < page->prefix_count; i++) {
        snprintf(uri, sizeof uri, "s3://%s/%s", s->bucket, page->prefixes[i]);
        json_array_append_new(s->entries,
                              json_pack("{s:s, s:i, s:s, s:s, s:b}", "key",
                                        page->prefixes[i], "size", 0,
                                        "last_modified", "", "uri", uri,
                                        "folder", 1));
    }
    for (size_t i = 0; i < page->object_count; i++) {
        const sm_s3_entry *e = &page->objects[i];
        snprintf(uri, sizeof uri, "s3://%s/%s", s->bucket, e->key);
        s3_time(e->last_modified, when, sizeof when);
        json_array_append_new(s->entries,
                              json_pack("{s:s, s:I, s:s, s:s}", "key", e->key,
                                        "size", (json_int_t)e->size,
                                        "last_modified", when, "uri", uri));
    }
    long have = (long)json_array_size(s->entries);
    if (have > s->limit || (have == s->limit && page->truncated)) {
        s->truncated = 1;
        return 1;
    }
    return 0;
}

static int compare_keys(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "key")),
                  json_string_value(json_object_get(y, "key")));
}

/* Sort the entries by key, keep `limit`, and make the table. */
static json_t *ls_table(ls_state *s, const char *where)
{
    size_t n = json_array_size(s->entries);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(s->entries, i));
    qsort(items, n, sizeof *items, compare_keys);
    json_array_clear(s->entries);
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        if ((long)i < s->limit) {
            char size[32] = "";
            if (!json_is_true(json_object_get(items[i], "folder")))
                sm_render_bytes((uint64_t)json_integer_value(json_object_get(items[i], "size")),
                                size, sizeof size);
            json_array_append_new(rows, json_pack("[s, s, s]",
                json_string_value(json_object_get(items[i], "key")), size,
                json_string_value(json_object_get(items[i], "last_modified"))));
            json_array_append(s->entries, items[i]);
        } else {
            s->truncated = 1;
        }
        json_decref(items[i]);
    }
    free(items);
    json_t *bundle;
    if (json_array_size(rows) == 0) {
        char text[SM_S3_KEY_MAX + 100];
        snprintf(text, sizeof text, "no objects under %s", where);
        bundle = json_pack("{s:s}", "text/plain", "");
        bundle_append_line(bundle, text);
    } else {
        json_t *headers = json_pack("[s, s, s]", "key", "size",
                                    "last modified (UTC)");
        bundle = sm_render_table(headers, rows);
        json_decref(headers);
    }
    json_decref(rows);
    if (s->truncated) {
        char note[160];
        snprintf(note, sizeof note, "(the first %ld; --limit N shows more)",
                 s->limit);
        bundle_append_line(bundle, note);
    }
    return bundle;
}

static int ls_buckets(sm_call *call, sm_aws *aws, long limit)
{
    sm_s3_page page = {0};
    sm_aws_error err = {.http_status = 0};
    if (sm_s3_list_buckets(aws, &page, &err)) {
        sm_s3_page_clear(&page);
        return sm_call_fail_aws(call, &err);
    }
    json_t *headers = json_pack("[s, s]", "bucket", "created (UTC)");
    json_t *rows = json_array(), *result = json_array();
    for (size_t i = 0; i < page.object_count && (long)i < limit; i++) {
        char when[32], uri[SM_S3_BUCKET_MAX + 8];
        s3_time(page.objects[i].last_modified, when, sizeof when);
        snprintf(uri, sizeof uri, "s3://%s/", page.objects[i].key);
        json_array_append_new(rows, json_pack("[s, s]", page.objects[i].key, when));
        json_array_append_new(result, json_pack("{s:s, s:s, s:s}", "bucket",
                                                page.objects[i].key, "created",
                                                when, "uri", uri));
    }
    sm_s3_page_clear(&page);
    call->shown = json_array_size(rows)
                      ? sm_render_table(headers, rows)
                      : json_pack("{s:s}", "text/plain", "no buckets\n");
    call->result = result;
    json_decref(headers);
    json_decref(rows);
    return 0;
}

/* List bucket/prefix into `s`. Without -r, "s3://b/data" that holds only
 * the folder data/ lists data/ itself, as a user means. */
static int ls_list(sm_call *call, sm_aws *aws, ls_state *s, char **prefix,
                   int recursive)
{
    sm_aws_error err = {.http_status = 0};
    sm_s3_list req = {.bucket = s->bucket, .prefix = *prefix,
                      .delimiter = recursive ? NULL : "/"};
    if (sm_s3_list_objects(aws, &req, ls_page, s, &err))
        return sm_call_fail_aws(call, &err);
    size_t n = strlen(*prefix);
    json_t *only = json_array_get(s->entries, 0);
    if (!recursive && n && (*prefix)[n - 1] != '/' &&
        json_array_size(s->entries) == 1 &&
        json_is_true(json_object_get(only, "folder")) &&
        strncmp(json_string_value(json_object_get(only, "key")), *prefix, n) == 0 &&
        strcmp(json_string_value(json_object_get(only, "key")) + n, "/") == 0) {
        char *inside = folder_of(*prefix);
        free(*prefix);
        *prefix = inside;
        json_array_clear(s->entries);
        return ls_list(call, aws, s, prefix, recursive);
    }
    return 0;
}

int sm_magic_ls(sm_call *call)
{
    long limit;
    if (sm_call_count_flag(call, "limit", LS_LIMIT, 1000000, &limit))
        return -1;
    const char *arg = call->args.n_positional ? call->args.positional[0] : NULL;
    sm_s3_uri uri;
    sm_error perr = {0};
    int to_buckets = arg && (strcmp(arg, "s3://") == 0 || strcmp(arg, "s3:") == 0);
    if (arg && !to_buckets && sm_s3_uri_parse(arg, &uri, &perr))
        return sm_error_set(&call->err, "%s", perr.message);
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return -1;
    if (to_buckets)
        return ls_buckets(call, aws, limit);
    char *prefix;
    if (!arg) {
        sm_aws_error err = {.http_status = 0};
        if (sm_backend_bucket(sm_magics_backend(call->m), sm_magics_config(call->m),
                              call->out, 1, uri.bucket, sizeof uri.bucket, &err))
            return sm_call_fail_aws(call, &err);
        const char *configured = sm_config_get(sm_magics_config(call->m), "prefix");
        prefix = folder_of(configured);
    } else {
        prefix = strdup(uri.key);
    }
    ls_state s = {uri.bucket, json_array(), limit, 0};
    int rc = ls_list(call, aws, &s, &prefix, sm_args_get(&call->args, "recursive") != NULL);
    if (!rc) {
        char where[SM_S3_KEY_MAX + 80];
        snprintf(where, sizeof where, "s3://%s/%s", uri.bucket, prefix);
        call->shown = ls_table(&s, where);
        call->result = json_incref(s.entries);
    }
    json_decref(s.entries);
    free(prefix);
    return rc;
}
