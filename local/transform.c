/* transform: one table of jobs, one thread per running job. A job is a
 * pipeline: model -> input keys -> for each key: read, split, predict,
 * assemble, write <key>.out; a stop request is seen between batches. */
#include "transform.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dataproc.h"
#include "log.h"
#include "logstore.h"
#include "recordio.h"
#include "sagemaker_api.h"
#include "store.h"

#define CODE "ValidationException"
#define LOG_GROUP "/aws/sagemaker/TransformJobs"
#define MB (1024u * 1024u)
#define OBJECT_MAX (1ull << 30) /* bytes of one input object */

typedef struct runner {
    char name[64];
    pthread_t thread;
    atomic_int stop;
    atomic_int done;
    struct runner *next;
    struct sm_transform *owner;
} runner;

struct sm_transform {
    sm_transform_config config;
    pthread_mutex_t lock; /* runners */
    runner *runners;
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS transform_jobs ("
    " name TEXT PRIMARY KEY COLLATE NOCASE, status TEXT NOT NULL,"
    " failure TEXT, created REAL NOT NULL, started REAL, ended REAL,"
    " modified REAL NOT NULL, spec TEXT NOT NULL);";

/* ---- rows --------------------------------------------------------------- */

typedef struct job_row {
    char name[64];
    char status[16];
    char *failure;
    double created, started, ended, modified;
    json_t *spec;
} job_row;

static void job_clear(job_row *j)
{
    free(j->failure);
    json_decref(j->spec);
    *j = (job_row){0};
}

#define JOB_COLUMNS                                                            \
    "name, status, failure, created, started, ended, modified, spec"

static void job_read(sqlite3_stmt *st, job_row *j)
{
    const char *s = (const char *)sqlite3_column_text(st, 0);
    snprintf(j->name, sizeof j->name, "%s", s ? s : "");
    s = (const char *)sqlite3_column_text(st, 1);
    snprintf(j->status, sizeof j->status, "%s", s ? s : "");
    s = (const char *)sqlite3_column_text(st, 2);
    j->failure = s ? strdup(s) : NULL;
    j->created = sqlite3_column_double(st, 3);
    j->started = sqlite3_column_double(st, 4);
    j->ended = sqlite3_column_double(st, 5);
    j->modified = sqlite3_column_double(st, 6);
    s = (const char *)sqlite3_column_text(st, 7);
    j->spec = s ? json_loads(s, 0, NULL) : NULL;
}

static int job_read_row(sqlite3_stmt *st, void *row, sm_error *err)
{
    job_read(st, row);
    return 0;
}

static int job_get(sm_transform *self, const char *name, job_row *j,
                   sm_error *err)
{
    *j = (job_row){0};
    return sm_db_get(self->config.db,
                     "SELECT " JOB_COLUMNS
                     " FROM transform_jobs WHERE name = ?",
                     name, job_read_row, j, err);
}

/* `sql` with text parameters ?1.. and now as ?9; *changed as changed. */
static int job_exec(sm_transform *self, const char *sql,
                    const char *const *params, size_t count, int *changed,
                    sm_error *err)
{
    return sm_db_run(self->config.db, sql, params, count, sm_jsonapi_now(),
                     changed, err);
}

/* ---- splitting ---------------------------------------------------------- */

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

static int too_large(const sm_transform_plan *plan, sm_error *err)
{
    sm_error_set(err,
                 "Record is larger than %zuMB. Please increase your "
                 "max_payload.",
                 plan->max_payload / MB);
    return 1;
}

/* SplitType RecordIO: whole frames, a mini-batch a run of them up to
 * max_payload, one each for SingleRecord. */
static int split_recordio(const sm_transform_plan *plan, const char *data,
                          size_t len, sm_transform_send_fn send, void *ctx,
                          sm_error *err)
{
    size_t start = 0, at = 0, record;
    int have = 0;
    while (at < len) {
        long long frame = sm_recordio_frame((const unsigned char *)data + at,
                                            len - at, &record);
        if (frame <= 0) {
            sm_error_set(err,
                         frame == SM_RECORDIO_CUT_SHORT
                             ? "SplitType RecordIO: the record at byte %zu "
                               "runs past the end of the object"
                             : "SplitType RecordIO: no RecordIO record "
                               "starts at byte %zu of the object",
                         at);
            return 1;
        }
        if ((size_t)frame > plan->max_payload)
            return too_large(plan, err);
        if (have && (plan->single_record ||
                     at + (size_t)frame - start > plan->max_payload)) {
            int rc = send(ctx, data + start, at - start);
            if (rc)
                return rc;
            have = 0;
        }
        if (!have)
            start = at;
        have = 1;
        at += (size_t)frame;
    }
    return have ? send(ctx, data + start, at - start) : 0;
}

int sm_transform_split(const sm_transform_plan *plan, const char *data,
                       size_t len, sm_transform_send_fn send, void *ctx,
                       sm_error *err)
{
    if (plan->split_recordio)
        return split_recordio(plan, data, len, send, ctx, err);
    if (!plan->split_line) {
        if (len > plan->max_payload)
            return too_large(plan, err);
        return len ? send(ctx, data, len) : 0;
    }
    size_t batch_start = 0, batch_end = 0; /* [start, end) of the batch */
    int have = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t next = nl ? end + 1 : len;
        if (blank(data + i, end - i)) {
            /* a blank line ends a batch (the batch must stay contiguous) */
            if (have) {
                int rc = send(ctx, data + batch_start, batch_end - batch_start);
                if (rc)
                    return rc;
                have = 0;
            }
            i = next;
            continue;
        }
        if (end - i > plan->max_payload)
            return too_large(plan, err);
        if (have &&
            (plan->single_record || end - batch_start > plan->max_payload)) {
            int rc = send(ctx, data + batch_start, batch_end - batch_start);
            if (rc)
                return rc;
            have = 0;
        }
        if (!have)
            batch_start = i;
        batch_end = end;
        have = 1;
        i = next;
    }
    return have ? send(ctx, data + batch_start, batch_end - batch_start) : 0;
}

/* ---- running a job ------------------------------------------------------ */

/* What a running job works with. */
typedef struct run {
    sm_transform *self;
    runner *me;
    const char *name;
    char stream[160];
    const char *content_type, *accept;
    int assemble_line;
    sm_transform_plan plan;
    sm_predict_model *model;
    sm_dataproc dp;      /* DataProcessing, checked at create */
    sm_buf out;          /* the .out being assembled */
    char failure[1024];  /* the first failure, for FailureReason */
    const char *current; /* the input being read: s3://... */
} run;

static void job_log(run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void job_log(run *r, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    int64_t now = (int64_t)(sm_jsonapi_now() * 1000);
    sm_logstore_input ev = {now, line};
    sm_error err = {0};
    if (sm_logstore_put(r->self->config.db, LOG_GROUP, r->stream, &ev, 1, now,
                        &err))
        sm_debug("transform %s: %s", r->name, line);
}

static void fail(run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(run *r, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    job_log(r, "%s", text);
    if (!r->failure[0])
        snprintf(r->failure, sizeof r->failure, "%s", text);
}

/* One request with DataProcessing: the records through the input filter
 * to the model, its answer joined to them and through the output filter. */
static int send_processed(run *r, const char *payload, size_t len)
{
    sm_buf filtered = {0};
    char why[512];
    if (sm_dataproc_input(&r->dp, payload, len, &filtered, why, sizeof why)) {
        sm_buf_free(&filtered);
        fail(r, "ClientError: %s: %s", r->current, why);
        return -1;
    }
    sm_predict_request req = {r->content_type, r->accept, sm_buf_str(&filtered),
                              filtered.len, SM_PREDICT_BATCH};
    sm_predict_answer a;
    int rc = -1;
    if (sm_predict_invoke(r->model, &req, &a))
        fail(r, "AlgorithmError: out of memory");
    else if (a.status >= 400)
        fail(r, "ClientError: the model answered %d for %s: %.700s", a.status,
             r->current, sm_buf_str(&a.body));
    else if (sm_dataproc_output(&r->dp, payload, len, a.body.data, a.body.len,
                                &r->out, why, sizeof why))
        fail(r, "ClientError: %s: %s", r->current, why);
    else
        rc = 0;
    sm_buf_free(&filtered);
    sm_predict_answer_clear(&a);
    return rc;
}

/* One request through the container's batch serving. */
static int send_batch(void *ctx, const char *payload, size_t len)
{
    run *r = ctx;
    if (atomic_load(&r->me->stop))
        return 2;
    if (sm_dataproc_active(&r->dp))
        return send_processed(r, payload, len);
    sm_predict_request req = {r->content_type, r->accept, payload, len,
                              SM_PREDICT_BATCH};
    sm_predict_answer a;
    if (sm_predict_invoke(r->model, &req, &a)) {
        sm_predict_answer_clear(&a);
        fail(r, "AlgorithmError: out of memory");
        return -1;
    }
    int rc = 0;
    if (a.status >= 400) {
        const char *msg = sm_buf_str(&a.body);
        fail(r, "ClientError: the model answered %d for %s: %.700s", a.status,
             r->current, msg);
        rc = -1;
    } else if (a.body.len) {
        rc = sm_buf_append(&r->out, a.body.data, a.body.len);
        if (!rc && r->assemble_line && a.body.data[a.body.len - 1] != '\n')
            rc = sm_buf_putc(&r->out, '\n');
    }
    sm_predict_answer_clear(&a);
    return rc;
}

/* The whole object into a new buffer. */
static char *object_slurp(sm_transform *self, const char *bucket,
                          const char *key, size_t *len, sm_error *err)
{
    sm_store_object obj = {0};
    sm_store_reader *reader = NULL;
    sm_store_status st = sm_store_object_open(self->config.store, bucket, key,
                                              &obj, &reader, err);
    sm_store_object_clear(&obj);
    if (st != SM_STORE_OK) {
        sm_error_set(err, "cannot read s3://%s/%s", bucket, key);
        return NULL;
    }
    uint64_t size = sm_store_reader_size(reader);
    char *data = size <= OBJECT_MAX ? malloc((size_t)size + 1) : NULL;
    uint64_t got = 0;
    while (data && got < size) {
        ssize_t n =
            sm_store_reader_read(reader, got, data + got, (size_t)(size - got));
        if (n <= 0)
            break;
        got += (uint64_t)n;
    }
    sm_store_reader_close(&reader);
    if (!data || got != size) {
        free(data);
        sm_error_set(err, "cannot read s3://%s/%s (%llu bytes)", bucket, key,
                     (unsigned long long)size);
        return NULL;
    }
    *len = (size_t)size;
    return data;
}

static int object_write(sm_transform *self, const char *bucket, const char *key,
                        const sm_buf *body, const char *content_type,
                        sm_error *err)
{
    sm_store_blob *blob = sm_store_blob_new(self->config.store, err);
    unsigned char md5[16];
    int rc = blob ? 0 : -1;
    if (!rc && body->len)
        rc = sm_store_blob_write(blob, body->data, body->len, err);
    if (!rc)
        rc = sm_store_blob_finish(blob, md5, err);
    sm_store_object attrs = {.content_type = (char *)content_type};
    if (!rc) {
        sm_store_status st = sm_store_object_put(self->config.store, bucket,
                                                 key, blob, &attrs, NULL, err);
        if (st == SM_STORE_NO_BUCKET)
            rc = sm_error_set(err, "the output bucket %s does not exist",
                              bucket);
        else if (st != SM_STORE_OK)
            rc = -1;
    }
    sm_store_blob_destroy(&blob);
    return rc;
}

/* One input object to its .out. 0, 1 when it failed (the job goes on
 * with the next), 2 when stopped. */
static int run_object(run *r, const char *in_bucket, const char *key,
                      const char *relative, const char *out_bucket,
                      const char *out_prefix)
{
    char uri[1200];
    snprintf(uri, sizeof uri, "s3://%s/%s", in_bucket, key);
    r->current = uri;
    sm_error err = {0};
    size_t len = 0;
    char *data = object_slurp(r->self, in_bucket, key, &len, &err);
    if (!data) {
        fail(r, "ClientError: %s", err.message);
        return 1;
    }
    r->out.len = 0;
    int rc = sm_transform_split(&r->plan, data, len, send_batch, r, &err);
    free(data);
    if (rc == 2)
        return 2;
    if (rc == 1)
        fail(r, "ClientError: %s: %s", uri, err.message);
    if (rc)
        return 1;
    char out_key[2048];
    snprintf(out_key, sizeof out_key, "%s%s%s.out", out_prefix,
             out_prefix[0] && out_prefix[strlen(out_prefix) - 1] != '/' ? "/"
                                                                        : "",
             relative);
    if (object_write(r->self, out_bucket, out_key, &r->out,
                     r->accept ? r->accept : "text/csv", &err)) {
        fail(r, "ClientError: cannot write s3://%s/%s: %s", out_bucket, out_key,
             err.message);
        return 1;
    }
    job_log(r, "%s -> s3://%s/%s (%zu bytes)", uri, out_bucket, out_key,
            r->out.len);
    return 0;
}

/* Every object under the input prefix, in key order. */
static int run_inputs(run *r, const char *uri, const char *out_uri)
{
    char in_bucket[64], out_bucket[64];
    const char *prefix = NULL, *out_prefix = NULL;
    if (sm_serving_s3_uri(uri, in_bucket, &prefix) ||
        sm_serving_s3_uri(out_uri, out_bucket, &out_prefix)) {
        fail(r, "ClientError: the input and output must be s3:// URIs");
        return 1;
    }
    /* keys keep their path below the prefix's last '/' */
    const char *slash = strrchr(prefix, '/');
    size_t base = slash ? (size_t)(slash - prefix) + 1 : 0;
    char *after = NULL;
    int failed = 0, seen = 0, rc = 0;
    for (;;) {
        sm_store_list_query q = {in_bucket, prefix, NULL, after, 0, 1000};
        sm_store_list page = {0};
        sm_error err = {0};
        sm_store_status st =
            sm_store_object_list(r->self->config.store, &q, &page, &err);
        if (st != SM_STORE_OK) {
            fail(r, "ClientError: cannot list %s: %s", uri,
                 st == SM_STORE_NO_BUCKET ? "no such bucket" : err.message);
            sm_store_list_clear(&page);
            failed = 1;
            break;
        }
        for (size_t i = 0; i < page.count && rc != 2; i++) {
            const char *key = page.entries[i].key;
            if (key[strlen(key) - 1] == '/')
                continue;
            seen++;
            rc = run_object(r, in_bucket, key, key + base, out_bucket,
                            out_prefix);
            failed |= rc == 1;
        }
        free(after);
        after = page.truncated && page.last ? strdup(page.last) : NULL;
        sm_store_list_clear(&page);
        if (!after || rc == 2)
            break;
    }
    free(after);
    if (rc == 2)
        return 2;
    if (!seen && !failed) {
        fail(r, "ClientError: No objects found under S3 URL %s", uri);
        failed = 1;
    }
    return failed;
}

/* Read the job's settings from its spec into `r`. */
static void run_settings(run *r, const json_t *spec, const char **uri,
                         const char **out_uri, const char **model)
{
    const char *split = "None", *strategy = "MultiRecord", *assemble = "None";
    json_int_t payload = 6;
    json_unpack((json_t *)spec,
                "{s:s, s:{s:{s:{s:s}}, s?s, s?s}, s:{s:s, s?s, s?s}, s?s, "
                "s?I}",
                "ModelName", model, "TransformInput", "DataSource",
                "S3DataSource", "S3Uri", uri, "ContentType", &r->content_type,
                "SplitType", &split, "TransformOutput", "S3OutputPath", out_uri,
                "Accept", &r->accept, "AssembleWith", &assemble,
                "BatchStrategy", &strategy, "MaxPayloadInMB", &payload);
    r->plan.split_line = strcmp(split, "Line") == 0;
    r->plan.split_recordio = strcmp(split, "RecordIO") == 0;
    r->plan.single_record = strcmp(strategy, "SingleRecord") == 0;
    r->plan.max_payload = (size_t)(payload > 0 ? payload : 6) * MB;
    r->assemble_line = strcmp(assemble, "Line") == 0;
    const char *in_filter = NULL, *out_filter = NULL, *join = NULL;
    json_unpack((json_t *)spec, "{s?{s?s, s?s, s?s}}", "DataProcessing",
                "InputFilter", &in_filter, "OutputFilter", &out_filter,
                "JoinSource", &join);
    char why[256]; /* checked when the job was created */
    sm_dataproc_parse(in_filter, &r->dp.input, why, sizeof why);
    sm_dataproc_parse(out_filter, &r->dp.output, why, sizeof why);
    r->dp.join = join && strcmp(join, "Input") == 0;
}

static void run_finish(run *r, int rc)
{
    const char *status = rc == 2 ? "Stopped" : rc ? "Failed" : "Completed";
    const char *p[] = {r->name, status, r->failure[0] ? r->failure : NULL};
    sm_error err = {0};
    job_exec(r->self,
             "UPDATE transform_jobs SET status = ?2, failure = ?3, "
             "ended = ?9, modified = ?9 WHERE name = ?1",
             p, 3, NULL, &err);
    job_log(r, "transform job %s %s", r->name, status);
}

static void run_job(run *r, const json_t *spec)
{
    const char *uri = NULL, *out_uri = NULL, *model_name = NULL;
    run_settings(r, spec, &uri, &out_uri, &model_name);
    sm_serving_model_info info;
    sm_error err = {0};
    int found = sm_serving_model_info_get(r->self->config.serving, model_name,
                                          &info, &err);
    if (found) {
        fail(r, "ClientError: Could not find model %s.", model_name);
        run_finish(r, 1);
        return;
    }
    if (!r->accept && info.default_accept)
        r->accept = info.default_accept;
    /* batches use every core; single records one each */
    r->model =
        sm_serving_model_load(r->self->config.serving, info.model_data_url,
                              r->plan.single_record ? 1 : 0, &err);
    int rc = 1;
    if (!r->model)
        fail(r, "ClientError: %s", err.message);
    else {
        job_log(r, "model %s loaded (%s)", model_name,
                sm_predict_model_objective(r->model));
        rc = run_inputs(r, uri, out_uri);
    }
    if (rc == 2) {
        job_row j;
        int stopping = job_get(r->self, r->name, &j, &err) == 0 &&
                       strcmp(j.status, "Stopping") == 0;
        if (j.name[0])
            job_clear(&j);
        if (stopping)
            run_finish(r, 2); /* else the service is stopping: resume later */
    } else {
        run_finish(r, rc);
    }
    sm_predict_model_destroy(&r->model);
    sm_serving_model_info_clear(&info);
}

static void *runner_main(void *arg)
{
    runner *me = arg;
    sm_transform *self = me->owner;
    job_row j;
    sm_error err = {0};
    if (job_get(self, me->name, &j, &err) == 0 && j.spec) {
        run r = {.self = self, .me = me, .name = j.name};
        snprintf(r.stream, sizeof r.stream, "%s/local-%lld", j.name,
                 (long long)time(NULL));
        const char *p[] = {j.name};
        job_exec(self,
                 "UPDATE transform_jobs SET started = ?9, modified = ?9 "
                 "WHERE name = ?1",
                 p, 1, NULL, &err);
        job_log(&r, "transform job %s started", j.name);
        run_job(&r, j.spec);
        sm_buf_free(&r.out);
    }
    job_clear(&j);
    atomic_store(&me->done, 1);
    return NULL;
}

/* Reap finished runners; with `all`, stop and reap every one. */
static void runners_reap(sm_transform *self, int all)
{
    pthread_mutex_lock(&self->lock);
    runner **link = &self->runners;
    while (*link) {
        runner *r = *link;
        if (all)
            atomic_store(&r->stop, 1);
        if (all || atomic_load(&r->done)) {
            pthread_join(r->thread, NULL);
            *link = r->next;
            free(r);
        } else {
            link = &r->next;
        }
    }
    pthread_mutex_unlock(&self->lock);
}

static int job_start(sm_transform *self, const char *name, sm_error *err)
{
    runners_reap(self, 0);
    runner *r = calloc(1, sizeof *r);
    if (!r)
        return sm_error_set(err, "out of memory");
    snprintf(r->name, sizeof r->name, "%s", name);
    r->owner = self;
    atomic_init(&r->stop, 0);
    atomic_init(&r->done, 0);
    pthread_mutex_lock(&self->lock);
    int rc = pthread_create(&r->thread, NULL, runner_main, r);
    if (rc == 0) {
        r->next = self->runners;
        self->runners = r;
    }
    pthread_mutex_unlock(&self->lock);
    if (rc) {
        free(r);
        return sm_error_set(err, "cannot start the transform job's thread");
    }
    return 0;
}

static void job_signal_stop(sm_transform *self, const char *name)
{
    pthread_mutex_lock(&self->lock);
    for (runner *r = self->runners; r; r = r->next)
        if (strcasecmp(r->name, name) == 0)
            atomic_store(&r->stop, 1);
    pthread_mutex_unlock(&self->lock);
}

int sm_transform_wait_idle(sm_transform *self, int ms)
{
    for (int waited = 0;; waited += 10) {
        runners_reap(self, 0);
        pthread_mutex_lock(&self->lock);
        int busy = self->runners != NULL;
        pthread_mutex_unlock(&self->lock);
        if (!busy)
            return 0;
        if (waited >= ms)
            return -1;
        usleep(10 * 1000);
    }
}

/* ---- open and close ----------------------------------------------------- */

static int transform_resume(sm_transform *self, sm_error *err)
{
    if (job_exec(self,
                 "UPDATE transform_jobs SET status = 'Stopped', ended = ?9, "
                 "modified = ?9 WHERE status = 'Stopping'",
                 NULL, 0, NULL, err))
        return -1;
    char names[64][64];
    size_t count = 0;
    sqlite3 *db = sm_db_lock(self->config.db);
    sqlite3_stmt *st = sm_db_prepare(
        db, "SELECT name FROM transform_jobs WHERE status = 'InProgress'", err);
    while (st && count < 64 && sqlite3_step(st) == SQLITE_ROW)
        snprintf(names[count++], 64, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sm_db_unlock(self->config.db);
    for (size_t i = 0; st && i < count; i++)
        job_start(self, names[i], err);
    return st ? 0 : -1;
}

sm_transform *sm_transform_open(const sm_transform_config *config,
                                sm_error *err)
{
    sm_transform *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    self->config = *config;
    pthread_mutex_init(&self->lock, NULL);
    sqlite3 *db = sm_db_lock(config->db);
    int rc = sm_db_exec(db, SCHEMA, err);
    sm_db_unlock(config->db);
    if (!rc)
        rc = sm_logstore_init(config->db, err);
    if (!rc)
        rc = transform_resume(self, err);
    if (rc)
        sm_transform_close(&self);
    return self;
}

void sm_transform_close(sm_transform **self)
{
    sm_transform *s = *self;
    if (!s)
        return;
    runners_reap(s, 1);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *self = NULL;
}

/* ---- operations --------------------------------------------------------- */

static int internal(sm_http_error *err, const sm_error *why)
{
    return sm_http_fail(err, 500, "InternalFailure", "%s", why->message);
}

static int not_found(sm_local_env *env, sm_http_error *err, const char *name)
{
    char arn[256];
    sm_sm_arn(env, NULL, "transform-job", name, arn, sizeof arn);
    return sm_jsonapi_fail(err, CODE, "Could not find transform job \"%s\".",
                           arn);
}

static int not_offered(sm_http_error *err, const char *what)
{
    return sm_jsonapi_fail(err, CODE, "sagemagic-local does not offer %s.",
                           what);
}

/* TransformInput: an S3 prefix or object; Line, RecordIO or None. */
static int check_input(const json_t *in, sm_http_error *err)
{
    static const char *const data_types[] = {"ManifestFile", "S3Prefix",
                                             "AugmentedManifestFile", NULL};
    static const char *const compressions[] = {"None", "Gzip", NULL};
    static const char *const splits[] = {"None", "Line", "RecordIO", "TFRecord",
                                         NULL};
    static const sm_awsjson_rule uri_rule = {1, 1024, SM_AWSJSON_S3_URI};
    const json_t *input = NULL, *source = NULL, *s3 = NULL;
    const char *type = NULL, *uri = NULL, *compression = NULL, *split = NULL,
               *content = NULL;
    int rc = sm_jsonapi_obj(in, "TransformInput", "TransformInput", 1, CODE,
                            &input, err);
    if (!rc)
        rc = sm_jsonapi_obj(input, "DataSource", "TransformInput.DataSource", 1,
                            CODE, &source, err);
    if (!rc)
        rc = sm_jsonapi_obj(source, "S3DataSource",
                            "TransformInput.DataSource.S3DataSource", 1, CODE,
                            &s3, err);
    if (!rc)
        rc = sm_jsonapi_enum(s3, "S3DataType",
                             "TransformInput.DataSource.S3DataSource."
                             "S3DataType",
                             1, data_types, CODE, &type, err);
    if (!rc)
        rc = sm_jsonapi_str(s3, "S3Uri",
                            "TransformInput.DataSource.S3DataSource.S3Uri", 1,
                            &uri_rule,
                            "Member must satisfy regular expression pattern: "
                            "^(https|s3)://([^/]+)/?(.*)$",
                            CODE, &uri, err);
    if (!rc)
        rc = sm_jsonapi_enum(input, "CompressionType",
                             "TransformInput.CompressionType", 0, compressions,
                             CODE, &compression, err);
    if (!rc)
        rc = sm_jsonapi_enum(input, "SplitType", "TransformInput.SplitType", 0,
                             splits, CODE, &split, err);
    if (!rc)
        rc = sm_jsonapi_str(input, "ContentType", "TransformInput.ContentType",
                            0, NULL, NULL, CODE, &content, err);
    if (rc)
        return rc;
    char bucket[64];
    const char *key;
    if (strcmp(type, "S3Prefix") != 0)
        return not_offered(err, "manifest files as transform input (use "
                                "S3DataType S3Prefix)");
    if (sm_serving_s3_uri(uri, bucket, &key))
        return not_offered(err, "https:// input URIs (use s3://)");
    if (compression && strcmp(compression, "None") != 0)
        return not_offered(err, "compressed transform input");
    if (split && strcmp(split, "TFRecord") == 0)
        return not_offered(err, "TFRecord splitting (use Line or RecordIO)");
    return 0;
}

static int check_output(const json_t *in, sm_http_error *err)
{
    static const char *const assembles[] = {"None", "Line", NULL};
    static const sm_awsjson_rule uri_rule = {0, 1024, SM_AWSJSON_S3_URI};
    const json_t *output = NULL, *resources = NULL;
    const char *path = NULL, *assemble = NULL, *accept = NULL, *type = NULL;
    long long count = 1;
    int rc = sm_jsonapi_obj(in, "TransformOutput", "TransformOutput", 1, CODE,
                            &output, err);
    if (!rc)
        rc = sm_jsonapi_str(output, "S3OutputPath",
                            "TransformOutput.S3OutputPath", 1, &uri_rule,
                            "Member must satisfy regular expression pattern: "
                            "^(https|s3)://([^/]+)/?(.*)$",
                            CODE, &path, err);
    if (!rc)
        rc = sm_jsonapi_enum(output, "AssembleWith",
                             "TransformOutput.AssembleWith", 0, assembles, CODE,
                             &assemble, err);
    if (!rc)
        rc = sm_jsonapi_str(output, "Accept", "TransformOutput.Accept", 0, NULL,
                            NULL, CODE, &accept, err);
    if (!rc)
        rc = sm_jsonapi_obj(in, "TransformResources", "TransformResources", 1,
                            CODE, &resources, err);
    if (!rc)
        rc = sm_jsonapi_str(resources, "InstanceType",
                            "TransformResources.InstanceType", 1, NULL, NULL,
                            CODE, &type, err);
    if (!rc)
        rc = sm_jsonapi_int(resources, "InstanceCount",
                            "TransformResources.InstanceCount", 1, 1, 100, CODE,
                            &count, err);
    char bucket[64];
    const char *key;
    if (!rc && sm_serving_s3_uri(path, bucket, &key))
        return not_offered(err, "https:// output URIs (use s3://)");
    return rc;
}

/* DataProcessing: CSV filters and a join, on CSV in and out. */
static int check_processing(const json_t *in, sm_http_error *err)
{
    static const char *const joins[] = {"None", "Input", NULL};
    static const sm_awsjson_rule filter_rule = {0, 63, SM_AWSJSON_LINE};
    const json_t *dp = NULL;
    const char *in_filter = NULL, *out_filter = NULL, *join = NULL,
               *content = NULL, *accept = NULL;
    int rc = sm_jsonapi_obj(in, "DataProcessing", "DataProcessing", 0, CODE,
                            &dp, err);
    if (rc || !dp)
        return rc;
    rc = sm_jsonapi_str(dp, "InputFilter", "DataProcessing.InputFilter", 0,
                        &filter_rule, NULL, CODE, &in_filter, err);
    if (!rc)
        rc = sm_jsonapi_str(dp, "OutputFilter", "DataProcessing.OutputFilter",
                            0, &filter_rule, NULL, CODE, &out_filter, err);
    if (!rc)
        rc = sm_jsonapi_enum(dp, "JoinSource", "DataProcessing.JoinSource", 0,
                             joins, CODE, &join, err);
    if (rc)
        return rc;
    sm_dataproc parsed;
    char why[256];
    if (sm_dataproc_parse(in_filter, &parsed.input, why, sizeof why) ||
        sm_dataproc_parse(out_filter, &parsed.output, why, sizeof why))
        return sm_jsonapi_fail(err, CODE, "%s", why);
    parsed.join = join && strcmp(join, "Input") == 0;
    if (!sm_dataproc_active(&parsed))
        return 0;
    json_unpack((json_t *)in, "{s?{s?s}, s?{s?s}}", "TransformInput",
                "ContentType", &content, "TransformOutput", "Accept", &accept);
    if (!content || strncasecmp(content, "text/csv", 8) != 0 ||
        (accept && strncasecmp(accept, "text/csv", 8) != 0))
        return not_offered(err, "DataProcessing on data other than text/csv "
                                "(set TransformInput.ContentType and "
                                "TransformOutput.Accept to text/csv)");
    return 0;
}

static int check_job(sm_local_env *env, const json_t *in, const char **name,
                     sm_http_error *err)
{
    static const char *const strategies[] = {"MultiRecord", "SingleRecord",
                                             NULL};
    const char *model = NULL, *strategy = NULL;
    long long payload = 6, concurrent = 1;
    int rc = sm_sm_name(in, "TransformJobName", "TransformJobName", name, err);
    if (!rc)
        rc = sm_sm_name(in, "ModelName", "ModelName", &model, err);
    if (!rc)
        rc = sm_jsonapi_enum(in, "BatchStrategy", "BatchStrategy", 0,
                             strategies, CODE, &strategy, err);
    if (!rc)
        rc = sm_jsonapi_int(in, "MaxPayloadInMB", "MaxPayloadInMB", 0, 0, 100,
                            CODE, &payload, err);
    if (!rc)
        rc = sm_jsonapi_int(in, "MaxConcurrentTransforms",
                            "MaxConcurrentTransforms", 0, 0, 1000, CODE,
                            &concurrent, err);
    if (!rc)
        rc = check_input(in, err);
    if (!rc)
        rc = check_output(in, err);
    if (rc)
        return rc;
    if (check_processing(in, err))
        return -1;
    if (payload == 0)
        return sm_jsonapi_fail(err, CODE,
                               "MaxPayloadInMB 0 (streaming) is not "
                               "supported by the built-in XGBoost algorithm.");
    sm_serving_model_info info;
    sm_error why = {0};
    int found = sm_serving_model_info_get(env->serving, model, &info, &why);
    sm_serving_model_info_clear(&info);
    if (found == 1) {
        char arn[256];
        sm_sm_arn(env, NULL, "model", model, arn, sizeof arn);
        return sm_jsonapi_fail(err, CODE, "Could not find model \"%s\".", arn);
    }
    return found ? internal(err, &why) : 0;
}

static int op_create(sm_local_env *env, const sm_http_request *req,
                     const json_t *in, json_t **out, sm_http_error *err)
{
    sm_transform *self = env->transform;
    const char *name = NULL;
    if (check_job(env, in, &name, err))
        return -1;
    json_t *spec = json_deep_copy(in);
    json_object_del(spec, "Tags");
    if (!json_object_get(spec, "BatchStrategy"))
        json_object_set_new(spec, "BatchStrategy", json_string("MultiRecord"));
    if (!json_object_get(spec, "MaxPayloadInMB"))
        json_object_set_new(spec, "MaxPayloadInMB", json_integer(6));
    char *text = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    char arn[256];
    sm_sm_arn(env, NULL, "transform-job", name, arn, sizeof arn);
    sm_error why = {0};
    int changed = 0;
    const char *p[] = {name, text};
    int rc = text ? job_exec(self,
                             "INSERT OR IGNORE INTO transform_jobs (name, "
                             "status, created, modified, spec) VALUES (?1, "
                             "'InProgress', ?9, ?9, ?2)",
                             p, 2, &changed, &why)
                  : sm_error_set(&why, "out of memory");
    free(text);
    if (rc)
        return internal(err, &why);
    if (!changed)
        return sm_jsonapi_fail(err, SM_SM_IN_USE,
                               "Job name must be unique within an AWS account "
                               "and region, and a job with this name already "
                               "exists (%s)",
                               arn);
    if (job_start(self, name, &why)) {
        const char *q[] = {name, why.message};
        job_exec(self,
                 "UPDATE transform_jobs SET status = 'Failed', failure = ?2 "
                 "WHERE name = ?1",
                 q, 2, NULL, &why);
    }
    *out = json_pack("{s:s}", "TransformJobArn", arn);
    return 0;
}

static void put_time(json_t *obj, const char *member, double when)
{
    if (when > 0)
        json_object_set_new(obj, member, sm_jsonapi_time(when));
}

static int op_describe(sm_local_env *env, const sm_http_request *req,
                       const json_t *in, json_t **out, sm_http_error *err)
{
    const char *name = NULL;
    if (sm_sm_name(in, "TransformJobName", "TransformJobName", &name, err))
        return -1;
    job_row j;
    sm_error why = {0};
    int rc = job_get(env->transform, name, &j, &why);
    if (rc == 1)
        return not_found(env, err, name);
    if (rc)
        return internal(err, &why);
    char arn[256];
    sm_sm_arn(env, NULL, "transform-job", j.name, arn, sizeof arn);
    json_t *o = j.spec ? json_incref(j.spec) : json_object();
    json_object_set_new(o, "TransformJobName", json_string(j.name));
    json_object_set_new(o, "TransformJobArn", json_string(arn));
    json_object_set_new(o, "TransformJobStatus", json_string(j.status));
    if (j.failure)
        json_object_set_new(o, "FailureReason", json_string(j.failure));
    put_time(o, "CreationTime", j.created);
    put_time(o, "TransformStartTime", j.started);
    put_time(o, "TransformEndTime", j.ended);
    job_clear(&j);
    *out = o;
    return 0;
}

static json_t *summary(sm_local_env *env, sqlite3_stmt *st)
{
    job_row j = {0};
    job_read(st, &j);
    char arn[256];
    sm_sm_arn(env, NULL, "transform-job", j.name, arn, sizeof arn);
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "TransformJobName", j.name,
                  "TransformJobArn", arn, "TransformJobStatus", j.status);
    put_time(o, "CreationTime", j.created);
    put_time(o, "TransformEndTime", j.ended);
    put_time(o, "LastModifiedTime", j.modified);
    if (j.failure)
        json_object_set_new(o, "FailureReason", json_string(j.failure));
    job_clear(&j);
    return o;
}

static int op_list(sm_local_env *env, const sm_http_request *req,
                   const json_t *in, json_t **out, sm_http_error *err)
{
    static const char *const sorts[] = {"Name", "CreationTime", "Status", NULL};
    static const char *const orders[] = {"Ascending", "Descending", NULL};
    static const char *const statuses[] = {"InProgress", "Completed", "Failed",
                                           "Stopping",   "Stopped",   NULL};
    static const sm_awsjson_rule filter = {0, 63, SM_AWSJSON_NAME_FILTER};
    const char *contains = NULL, *status = NULL, *sort = "CreationTime",
               *order = "Descending", *token = NULL;
    long long max = 10;
    double times[4] = {0};
    int has[4] = {0};
    static const char *const time_members[] = {
        "CreationTimeBefore", "CreationTimeAfter", "LastModifiedTimeBefore",
        "LastModifiedTimeAfter"};
    size_t offset = 0;
    int rc = sm_jsonapi_str(in, "NameContains", "NameContains", 0, &filter,
                            "Member must satisfy regular expression pattern: "
                            "[a-zA-Z0-9-]+",
                            CODE, &contains, err);
    if (!rc)
        rc = sm_jsonapi_enum(in, "StatusEquals", "StatusEquals", 0, statuses,
                             CODE, &status, err);
    if (!rc)
        rc =
            sm_jsonapi_enum(in, "SortBy", "SortBy", 0, sorts, CODE, &sort, err);
    if (!rc)
        rc = sm_jsonapi_enum(in, "SortOrder", "SortOrder", 0, orders, CODE,
                             &order, err);
    if (!rc)
        rc = sm_jsonapi_int(in, "MaxResults", "MaxResults", 0, 1, 100, CODE,
                            &max, err);
    if (!rc)
        rc = sm_jsonapi_str(in, "NextToken", "NextToken", 0, NULL, NULL, CODE,
                            &token, err);
    if (!rc)
        rc = sm_jsonapi_token_read(token, CODE, &offset, err);
    for (int i = 0; !rc && i < 4; i++)
        rc = sm_jsonapi_num(in, time_members[i], time_members[i], CODE,
                            &times[i], &has[i], err);
    if (rc)
        return -1;
    const char *column = strcmp(sort, "Name") == 0     ? "name"
                         : strcmp(sort, "Status") == 0 ? "status"
                                                       : "created";
    const char *dir = order[0] == 'A' ? "ASC" : "DESC";
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT " JOB_COLUMNS " FROM transform_jobs WHERE (?1 IS NULL OR "
             "instr(lower(name), lower(?1)) > 0) AND (?2 IS NULL OR status = "
             "?2) AND (?3 IS NULL OR created < ?3) AND (?4 IS NULL OR "
             "created > ?4) AND (?5 IS NULL OR modified < ?5) AND (?6 IS NULL "
             "OR modified > ?6) ORDER BY %s %s, name %s LIMIT ?7 OFFSET ?8",
             column, dir, dir);
    sm_error why = {0};
    json_t *items = json_array();
    int more = 0;
    sqlite3 *db = sm_db_lock(env->db);
    sqlite3_stmt *st = sm_db_prepare(db, sql, &why);
    if (st) {
        if (contains)
            sqlite3_bind_text(st, 1, contains, -1, SQLITE_STATIC);
        if (status)
            sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
        for (int i = 0; i < 4; i++)
            if (has[i])
                sqlite3_bind_double(st, 3 + i, times[i]);
        sqlite3_bind_int64(st, 7, max + 1);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)offset);
        for (long long n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
            if (n == max) {
                more = 1;
                break;
            }
            json_array_append_new(items, summary(env, st));
        }
    }
    sqlite3_finalize(st);
    sm_db_unlock(env->db);
    if (!st) {
        json_decref(items);
        return internal(err, &why);
    }
    *out = json_pack("{s:o}", "TransformJobSummaries", items);
    if (more) {
        char next[32];
        sm_jsonapi_token_make(offset + (size_t)max, next);
        json_object_set_new(*out, "NextToken", json_string(next));
    }
    return 0;
}

static int op_stop(sm_local_env *env, const sm_http_request *req,
                   const json_t *in, json_t **out, sm_http_error *err)
{
    sm_transform *self = env->transform;
    const char *name = NULL;
    if (sm_sm_name(in, "TransformJobName", "TransformJobName", &name, err))
        return -1;
    job_row j;
    sm_error why = {0};
    int rc = job_get(self, name, &j, &why);
    if (rc == 1)
        return not_found(env, err, name);
    if (rc)
        return internal(err, &why);
    int running = strcmp(j.status, "InProgress") == 0;
    int stopping = strcmp(j.status, "Stopping") == 0;
    job_clear(&j);
    if (!running && !stopping)
        return sm_jsonapi_fail(
            err, CODE, "The transform job %s is not in progress.", name);
    const char *p[] = {name};
    if (running && job_exec(self,
                            "UPDATE transform_jobs SET status = 'Stopping', "
                            "modified = ?9 WHERE name = ?1 AND status = "
                            "'InProgress'",
                            p, 1, NULL, &why))
        return internal(err, &why);
    job_signal_stop(self, name);
    *out = json_object();
    return 0;
}

static const sm_jsonapi_op rows[] = {
    {"CreateTransformJob", op_create},
    {"DescribeTransformJob", op_describe},
    {"ListTransformJobs", op_list},
    {"StopTransformJob", op_stop},
};

const sm_jsonapi_ops sm_transform_ops = SM_JSONAPI_OPS(rows);
