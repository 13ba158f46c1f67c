/* s3_transfer: PutObject, parallel multipart uploads and ranged downloads,
 * each part checked against its MD5 (or, where the payload may go
 * unsigned, its CRC32C: one pass over the bytes instead of MD5 and
 * SHA-256), with progress, interruption and an abort that leaves no parts
 * behind. Requests in flight count their bytes
 * as they move and stop at once when the transfer does: a worker's
 * request asks the pool, the pool's watcher (the calling thread) asks the
 * caller. Ranges are written straight into the file, not held. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "crc.h"
#include "log.h"
#include "s3.h"
#include "s3_private.h"
#include "uri.h"
#include "xml.h"

#define TICK_MS 100 /* how often the calling thread looks at progress */

/* ---- a pool of threads working through numbered tasks ------------------ */

typedef struct pool pool;

/* Run task `index`; 0, or -1 with `err` set. Called on a worker thread. */
typedef int (*pool_task)(pool *p, uint32_t index, sm_aws_error *err);

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    uint32_t next, count;
    int active, stop, interrupted;
    uint64_t bytes_done;   /* of finished tasks */
    uint64_t bytes_moving; /* of the requests in flight */
    uint64_t total, shown; /* shown: last progress reported */
    sm_aws_error err;      /* the first task failure */
    int failed;
    pool_task run;
    void *ctx;
    const sm_s3_transfer *cfg;
};

static void pool_add_bytes(pool *p, uint64_t n)
{
    pthread_mutex_lock(&p->lock);
    p->bytes_done += n;
    pthread_mutex_unlock(&p->lock);
}

/* The request of one task: its bytes count toward the progress while they
 * move, and it stops as soon as the pool does. */
typedef struct task_flow {
    pool *p;
    int upload;       /* count the bytes sent, else those received */
    uint64_t counted; /* this request's share of p->bytes_moving */
} task_flow;

/* sm_aws_rest's progress callback, on a worker thread. A new attempt
 * starts again from 0, and the unsigned difference takes that off. */
static int task_progress(void *ctx, uint64_t sent, uint64_t received)
{
    task_flow *f = ctx;
    uint64_t now = f->upload ? sent : received;
    pthread_mutex_lock(&f->p->lock);
    f->p->bytes_moving += now - f->counted;
    f->counted = now;
    int stop = f->p->stop;
    pthread_mutex_unlock(&f->p->lock);
    return stop;
}

/* The request is over: its bytes are no longer in flight; a task that
 * succeeded counts them with pool_add_bytes. */
static void task_flow_end(task_flow *f)
{
    pthread_mutex_lock(&f->p->lock);
    f->p->bytes_moving -= f->counted;
    f->counted = 0;
    pthread_mutex_unlock(&f->p->lock);
}

static void *pool_worker(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop && p->next < p->count) {
        uint32_t index = p->next++;
        sm_aws_error err = {0};
        pthread_mutex_unlock(&p->lock);
        int rc = p->run(p, index, &err);
        pthread_mutex_lock(&p->lock);
        if (rc && !p->failed) {
            p->failed = 1;
            p->err = err;
        }
        if (rc)
            p->stop = 1;
    }
    p->active--;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void report(const sm_s3_transfer *cfg, uint64_t done, uint64_t total)
{
    if (cfg->progress)
        cfg->progress(cfg->ctx, done, total);
}

/* The calling thread: report progress (never backwards: a part sent again
 * counts from 0 again), watch for an interruption, and wait until every
 * worker has finished its task in flight. */
static void pool_watch(pool *p)
{
    p->shown = 0; /* the caller reported 0 already */
    pthread_mutex_lock(&p->lock);
    while (p->active > 0) {
        struct timespec ts;
        deadline_in(&ts, TICK_MS);
        pthread_cond_timedwait(&p->wake, &p->lock, &ts);
        uint64_t done = p->bytes_done + p->bytes_moving;
        int stopping = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (done > p->total)
            done = p->total;
        if (done > p->shown) {
            report(p->cfg, done, p->total);
            p->shown = done;
        }
        int stop_now = !stopping && p->cfg->interrupted &&
                       p->cfg->interrupted(p->cfg->ctx);
        pthread_mutex_lock(&p->lock);
        if (stop_now) {
            p->stop = 1;
            p->interrupted = 1;
        }
    }
    pthread_mutex_unlock(&p->lock);
}

/* Run p->count tasks over at most `threads` threads. 0 when every task
 * succeeded; -1 with `err` set otherwise. */
static int pool_run(pool *p, int threads, const char *op, sm_aws_error *err)
{
    pthread_t tids[SM_S3_MAX_CONNECTIONS];
    pthread_condattr_t attr;
    int started = 0;
    if (threads < 1)
        threads = SM_S3_DEFAULT_CONNECTIONS;
    if (threads > SM_S3_MAX_CONNECTIONS)
        threads = SM_S3_MAX_CONNECTIONS;
    if ((uint32_t)threads > p->count)
        threads = (int)p->count;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &attr);
    pthread_condattr_destroy(&attr);
    p->active = threads;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&tids[started], NULL, pool_worker, p) == 0) {
            started++;
        } else {
            pthread_mutex_lock(&p->lock);
            p->active--;
            pthread_mutex_unlock(&p->lock);
        }
    }
    if (started == 0 && p->count > 0) {
        p->active = 1;
        pool_worker(p); /* no thread to be had: do the work here */
    }
    pool_watch(p);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    /* Requests the interruption stopped fail too: say Interrupted. */
    if (p->interrupted)
        return sm_s3_fail(err, op, SM_S3_ERR_INTERRUPTED,
                          "interrupted; nothing was kept");
    if (p->failed) {
        sm_s3_error_keep(err, &p->err);
        return -1;
    }
    if (p->shown != p->bytes_done)
        report(p->cfg, p->bytes_done, p->total);
    return 0;
}

/* ---- one request on the calling thread --------------------------------- */

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A single PutObject or GetObject: the caller's callbacks run on this
 * thread while the bytes move, every TICK_MS at most. */
typedef struct call_watch {
    const sm_s3_transfer *cfg;
    int upload;         /* count the bytes sent, else those received */
    uint64_t total;     /* what progress is reported against; 0: none */
    uint64_t shown;     /* last progress reported */
    long long asked_ms; /* when the callbacks last ran; 0: not yet */
} call_watch;

static int call_progress(void *ctx, uint64_t sent, uint64_t received)
{
    call_watch *w = ctx;
    long long now = monotonic_ms();
    uint64_t moved = w->upload ? sent : received;
    if (w->asked_ms && now - w->asked_ms < TICK_MS)
        return 0;
    w->asked_ms = now;
    if (moved > w->total)
        moved = w->total;
    if (w->total && moved > w->shown && w->cfg->progress) {
        w->cfg->progress(w->cfg->ctx, moved, w->total);
        w->shown = moved;
    }
    return w->cfg->interrupted && w->cfg->interrupted(w->cfg->ctx);
}

/* Hook `w` into the request when the caller has callbacks to run. */
static void call_watch_attach(call_watch *w, sm_aws_rest *r)
{
    if (w && (w->cfg->progress || w->cfg->interrupted)) {
        r->progress = call_progress;
        r->progress_ctx = w;
    }
}

/* ---- what a part may be tried again for -------------------------------- */

/* At most one more try of a part: the client has already retried
 * transient failures, so this covers a connection that broke mid-body or
 * bytes that arrived changed, not a service that keeps saying no. */
static int worth_another_try(const sm_aws_error *e)
{
    static const char *const codes[] = {
        "RequestTimeout",     "BadDigest",        "XAmzContentSHA256Mismatch",
        "IncompleteBody",     "SlowDown",         "InternalError",
        "ServiceUnavailable", SM_S3_ERR_CHECKSUM,
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(e->code, codes[i]) == 0)
            return 1;
    if (e->http_status >= 500)
        return 1;
    return e->http_status == 0 && e->code[0] == '\0'; /* transport */
}

/* ---- the bytes to send -------------------------------------------------- */

typedef struct source {
    const char *path; /* a file, or NULL and data */
    const char *data;
    int fd;
    uint64_t size;
} source;

static int source_open(const sm_s3_upload_req *req, source *src, const char *op,
                       sm_aws_error *err)
{
    struct stat st;
    src->path = req->path;
    src->data = req->data;
    src->fd = -1;
    src->size = req->len;
    if (!req->path)
        return req->data || !req->len
                   ? 0
                   : sm_s3_fail(err, op, SM_S3_ERR_ARGUMENT, "no data to send");
    src->fd = open(req->path, O_RDONLY | O_CLOEXEC);
    if (src->fd < 0 || fstat(src->fd, &st) != 0)
        return sm_s3_fail(err, op, SM_S3_ERR_LOCAL_FILE, "cannot read %s: %s",
                          req->path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sm_s3_fail(err, op, SM_S3_ERR_LOCAL_FILE,
                          "%s is not a regular file", req->path);
    src->size = (uint64_t)st.st_size;
    return 0;
}

static void source_close(source *src)
{
    if (src->fd >= 0)
        close(src->fd);
    src->fd = -1;
}

static int source_digest(const source *src, uint64_t offset, uint64_t len,
                         sm_s3_digest *out, const char *op, sm_aws_error *err)
{
    int rc = src->path ? sm_s3_digest_file(src->fd, offset, len, out)
                       : sm_s3_digest_bytes(src->data ? src->data + offset : "",
                                            (size_t)len, out);
    if (rc)
        return sm_s3_fail(err, op, SM_S3_ERR_LOCAL_FILE,
                          "cannot read %s (did it change while uploading?)",
                          src->path ? src->path : "the data");
    return 0;
}

/* Point the request at bytes [offset, offset + len) of the source. */
static void source_body(const source *src, uint64_t offset, uint64_t len,
                        sm_aws_rest *r)
{
    if (src->path) {
        r->body_file = src->path;
        r->body_offset = offset;
    } else {
        r->body = src->data ? src->data + offset : "";
    }
    r->body_len = (size_t)len;
}

/* Compare the ETag S3 returned with the MD5 we sent. */
static int etag_check(const sm_aws_response *resp, const sm_s3_digest *dg,
                      const char *op, sm_aws_error *err)
{
    const char *etag = sm_aws_response_header(resp, "etag");
    char hex[33];
    if (!etag || !*etag)
        return sm_s3_fail(err, op, "MalformedResponse", "S3 sent no ETag");
    if (sm_s3_etag_checkable(resp) && sm_s3_etag_md5(etag, hex) &&
        strcmp(hex, dg->md5_hex) != 0)
        return sm_s3_fail(err, op, SM_S3_ERR_CHECKSUM,
                          "S3 stored MD5 %s, but %s was sent", hex,
                          dg->md5_hex);
    return 0;
}

/* ---- PutObject ---------------------------------------------------------- */

/* One PutObject of the whole source; `watch` (may be NULL) runs the
 * caller's callbacks while it is sent. */
static int put_source(sm_aws *aws, const sm_s3_upload_req *req,
                      const source *src, call_watch *watch,
                      sm_s3_put_result *out, sm_aws_error *err)
{
    static const char op[] = "PutObject";
    sm_s3_digest dg;
    sm_aws_response resp = {0};
    char *path = sm_s3_path(req->bucket, req->key);
    int rc = path ? 0 : sm_s3_fail(err, op, "", "out of memory");
    if (!rc && src->size > SM_S3_MAX_PUT_SIZE)
        rc = sm_s3_fail(err, op, SM_S3_ERR_ARGUMENT,
                        "one PutObject takes at most 5 GiB; upload in parts");
    if (!rc)
        rc = source_digest(src, 0, src->size, &dg, op, err);
    if (!rc) {
        sm_aws_header h[] = {{"Content-MD5", dg.md5_base64},
                             {"Content-Type", req->content_type}};
        sm_aws_rest r = {.service = SM_AWS_S3,
                         .operation = op,
                         .method = "PUT",
                         .path = path,
                         .headers = h,
                         .header_count = req->content_type ? 2 : 1,
                         .payload_hash = dg.sha256_hex};
        source_body(src, 0, src->size, &r);
        call_watch_attach(watch, &r);
        rc = sm_aws_rest_call(aws, &r, &resp, err);
    }
    if (!rc)
        rc = etag_check(&resp, &dg, op, err);
    if (!rc) {
        memset(out, 0, sizeof *out);
        out->size = src->size;
        snprintf(out->etag, sizeof out->etag, "%s",
                 sm_aws_response_header(&resp, "etag"));
        memcpy(out->md5_hex, dg.md5_hex, sizeof out->md5_hex);
    }
    sm_aws_response_clear(&resp);
    free(path);
    return rc;
}

int sm_s3_put_object(sm_aws *aws, const sm_s3_upload_req *req,
                     sm_s3_put_result *out, sm_aws_error *err)
{
    source src;
    int rc = source_open(req, &src, "PutObject", err);
    if (!rc)
        rc = put_source(aws, req, &src, NULL, out, err);
    source_close(&src);
    return rc;
}

/* ---- multipart upload --------------------------------------------------- */

typedef struct upload_job {
    sm_aws *aws;
    const sm_s3_upload_req *req;
    source src;
    sm_s3_plan plan;
    char *path; /* /bucket/key, encoded */
    char *upload_id;
    char *upload_id_enc; /* for the query */
    sm_s3_part *parts;
    unsigned char (*md5s)[16];
    /* Parts carry x-amz-checksum-crc32c and go unsigned, not Content-MD5
     * and a SHA-256 in the signature. */
    int crc;
} upload_job;

/* What vouches for one part's bytes. */
typedef struct part_body {
    sm_s3_digest dg;
    char crc32c[12]; /* base64 */
} part_body;

/* The CRC32C of bytes [offset, offset + len) of the file, read in slices
 * small enough to stay in the cache for the CRC. Its bytes are read again
 * as the part is sent: no part-sized buffer, and a file changed in
 * between shows as a part S3 refuses (BadDigest). */
static int file_crc32c(int fd, uint64_t offset, size_t len, uint32_t *out)
{
    enum { SLICE = 256 << 10 };
    char *buf = malloc(len < SLICE ? (len ? len : 1) : SLICE);
    uint32_t crc = 0;
    int rc = buf ? 0 : -1;
    for (size_t done = 0; !rc && done < len;) {
        size_t want = len - done < SLICE ? len - done : SLICE;
        ssize_t got = pread(fd, buf, want, (off_t)(offset + done));
        if (got <= 0)
            rc = -1; /* an error, or the file shrank under us */
        else
            crc = sm_crc32c(crc, buf, (size_t)got);
        done += got > 0 ? (size_t)got : 0;
    }
    free(buf);
    *out = crc;
    return rc;
}

/* What vouches for bytes [offset, offset + len) of the source: their
 * CRC32C, or their MD5 and SHA-256. */
static int part_load(upload_job *job, uint64_t offset, size_t len,
                     part_body *out, const char *op, sm_aws_error *err)
{
    const source *src = &job->src;
    uint32_t crc = 0;
    memset(out, 0, sizeof *out);
    if (!job->crc)
        return source_digest(src, offset, len, &out->dg, op, err);
    if (!src->path)
        crc = sm_crc32c(0, src->data ? src->data + offset : "", len);
    else if (file_crc32c(src->fd, offset, len, &crc))
        return sm_s3_fail(err, op, SM_S3_ERR_LOCAL_FILE,
                          "cannot read %s (did it change while uploading?)",
                          src->path);
    unsigned char be[4] = {(unsigned char)(crc >> 24),
                           (unsigned char)(crc >> 16),
                           (unsigned char)(crc >> 8), (unsigned char)crc};
    sodium_bin2base64(out->crc32c, sizeof out->crc32c, be, sizeof be,
                      sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

/* The CRC32C S3 echoes, when it does, against the one sent. */
static int crc_check(const sm_aws_response *resp, const char *sent,
                     const char *op, sm_aws_error *err)
{
    const char *etag = sm_aws_response_header(resp, "etag");
    const char *echo = sm_aws_response_header(resp, "x-amz-checksum-crc32c");
    if (!etag || !*etag)
        return sm_s3_fail(err, op, "MalformedResponse", "S3 sent no ETag");
    if (echo && strcmp(echo, sent) != 0)
        return sm_s3_fail(err, op, SM_S3_ERR_CHECKSUM,
                          "S3 stored CRC32C %s, but %s was sent", echo, sent);
    return 0;
}

static int upload_create(upload_job *job, sm_aws_error *err)
{
    static const char op[] = "CreateMultipartUpload";
    const sm_s3_upload_req *req = job->req;
    sm_aws_header h[2];
    size_t n = 0;
    if (req->content_type)
        h[n++] = (sm_aws_header){"Content-Type", req->content_type};
    if (job->crc)
        h[n++] = (sm_aws_header){"x-amz-checksum-algorithm", "CRC32C"};
    sm_aws_rest r = {.service = SM_AWS_S3,
                     .operation = op,
                     .method = "POST",
                     .path = job->path,
                     .query = "uploads",
                     .headers = h,
                     .header_count = n};
    sm_aws_response resp = {0};
    sm_xml_node *root = NULL;
    int rc = sm_aws_rest_call(job->aws, &r, &resp, err);
    if (!rc && !(root = sm_s3_parse_body(&resp, op, err)))
        rc = -1;
    const char *id = sm_xml_child_text(root, "UploadId");
    if (!rc && (!id || !*id))
        rc = sm_s3_fail(err, op, "MalformedResponse", "S3 sent no UploadId");
    if (!rc) {
        job->upload_id = strdup(id);
        job->upload_id_enc =
            job->upload_id ? sm_uri_encode(id, strlen(id), 0) : NULL;
        if (!job->upload_id_enc)
            rc = sm_s3_fail(err, op, "", "out of memory");
    }
    sm_xml_free(&root);
    sm_aws_response_clear(&resp);
    return rc;
}

static int part_send(upload_job *job, uint32_t index, task_flow *flow,
                     sm_aws_error *err)
{
    static const char op[] = "UploadPart";
    uint64_t offset = (uint64_t)index * job->plan.part_size;
    uint64_t len = job->src.size - offset < job->plan.part_size
                       ? job->src.size - offset
                       : job->plan.part_size;
    part_body body;
    sm_aws_response resp = {0};
    char query[1024 + 64];
    int rc = part_load(job, offset, (size_t)len, &body, op, err);
    snprintf(query, sizeof query, "partNumber=%u&uploadId=%s", index + 1,
             job->upload_id_enc);
    if (!rc) {
        sm_aws_header h[] = {
            job->crc ? (sm_aws_header){"x-amz-checksum-crc32c", body.crc32c}
                     : (sm_aws_header){"Content-MD5", body.dg.md5_base64}};
        sm_aws_rest r = {.service = SM_AWS_S3,
                         .operation = op,
                         .method = "PUT",
                         .path = job->path,
                         .query = query,
                         .headers = h,
                         .header_count = 1,
                         .payload_hash =
                             job->crc ? "UNSIGNED-PAYLOAD" : body.dg.sha256_hex,
                         .progress = task_progress,
                         .progress_ctx = flow};
        source_body(&job->src, offset, len, &r);
        rc = sm_aws_rest_call(job->aws, &r, &resp, err);
        task_flow_end(flow);
    }
    if (!rc)
        rc = job->crc ? crc_check(&resp, body.crc32c, op, err)
                      : etag_check(&resp, &body.dg, op, err);
    if (!rc) {
        sm_s3_part *part = &job->parts[index];
        part->number = index + 1;
        snprintf(part->etag, sizeof part->etag, "%s",
                 sm_aws_response_header(&resp, "etag"));
        snprintf(part->crc32c, sizeof part->crc32c, "%s", body.crc32c);
        memcpy(job->md5s[index], body.dg.md5, 16);
    }
    sm_aws_response_clear(&resp);
    return rc;
}

static int part_task(pool *p, uint32_t index, sm_aws_error *err)
{
    upload_job *job = p->ctx;
    sm_aws_error first = {0}, second = {0};
    task_flow flow = {.p = p, .upload = 1};
    int rc = part_send(job, index, &flow, &first);
    if (rc && worth_another_try(&first)) {
        char why[1400];
        sm_aws_error_format(&first, why, sizeof why);
        sm_warn("s3: part %u of %s: %s; trying it once more", index + 1,
                job->req->key, why);
        rc = part_send(job, index, &flow, &second);
        if (rc)
            sm_s3_error_keep(err, &second);
    } else if (rc) {
        sm_s3_error_keep(err, &first);
    }
    if (!rc) {
        uint64_t offset = (uint64_t)index * job->plan.part_size;
        uint64_t left = job->src.size - offset;
        pool_add_bytes(p,
                       left < job->plan.part_size ? left : job->plan.part_size);
    }
    return rc;
}

/* The ETag S3 gives a multipart object: MD5 of the parts' MD5s, "-N". */
static void multipart_etag(const upload_job *job, char out[48])
{
    sm_s3_digest dg;
    out[0] = '\0';
    if (sm_s3_digest_bytes(job->md5s, (size_t)job->plan.part_count * 16, &dg) ==
        0)
        snprintf(out, 48, "%s-%u", dg.md5_hex, (unsigned)job->plan.part_count);
}

/* `etag` without its double quotes into `out` (SM_S3_ETAG_MAX bytes). */
static void unquote(const char *etag, char *out)
{
    size_t len = strlen(etag);
    if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"') {
        etag++;
        len -= 2;
    }
    snprintf(out, SM_S3_ETAG_MAX, "%.*s", (int)len, etag);
}

static int complete_once(upload_job *job, const char *body,
                         sm_s3_put_result *out, sm_aws_error *err)
{
    static const char op[] = "CompleteMultipartUpload";
    char query[1024 + 16];
    sm_aws_response resp = {0};
    sm_xml_node *root = NULL;
    snprintf(query, sizeof query, "uploadId=%s", job->upload_id_enc);
    sm_aws_header h[] = {{"Content-Type", "application/xml"}};
    sm_aws_rest r = {.service = SM_AWS_S3,
                     .operation = op,
                     .method = "POST",
                     .path = job->path,
                     .query = query,
                     .headers = h,
                     .header_count = 1,
                     .body = body,
                     .body_len = strlen(body)};
    /* S3 may answer 200 and then an <Error> body: parse_body catches it. */
    int rc = sm_aws_rest_call(job->aws, &r, &resp, err);
    if (!rc && !(root = sm_s3_parse_body(&resp, op, err)))
        rc = -1;
    const char *etag = sm_xml_child_text(root, "ETag");
    if (!rc)
        snprintf(out->etag, sizeof out->etag, "%s", etag ? etag : "");
    sm_xml_free(&root);
    sm_aws_response_clear(&resp);
    return rc;
}

static int upload_complete(upload_job *job, sm_s3_put_result *out,
                           sm_aws_error *err)
{
    static const char op[] = "CompleteMultipartUpload";
    char *body = sm_s3_complete_body(job->parts, job->plan.part_count);
    char want[48], got[SM_S3_ETAG_MAX];
    sm_aws_error first = {0};
    if (!body)
        return sm_s3_fail(err, op, "", "out of memory");
    int rc = complete_once(job, body, out, &first);
    if (rc && worth_another_try(&first))
        rc = complete_once(job, body, out, err);
    else if (rc)
        sm_s3_error_keep(err, &first);
    free(body);
    multipart_etag(job, want);
    unquote(out->etag, got);
    /* Only an ETag of the MD5-of-MD5s form can be checked (not SSE-KMS),
     * and only when the parts' MD5s were computed here: with CRC32Cs S3
     * checked each part as it came. */
    if (!rc && !job->crc && strchr(got, '-') && strlen(got) == strlen(want) &&
        strcmp(got, want) != 0)
        rc = sm_s3_fail(err, op, SM_S3_ERR_CHECKSUM,
                        "S3 assembled %s, but the parts sent make %s", got,
                        want);
    return rc;
}

int sm_s3_abort_upload(sm_aws *aws, const char *bucket, const char *key,
                       const char *upload_id, sm_aws_error *err)
{
    static const char op[] = "AbortMultipartUpload";
    char *path = sm_s3_path(bucket, key);
    char *id = sm_uri_encode(upload_id, strlen(upload_id), 0);
    sm_buf query = {0};
    sm_aws_response resp = {0};
    sm_aws_error mine = {0};
    int rc = path && id && !sm_buf_printf(&query, "uploadId=%s", id)
                 ? 0
                 : sm_s3_fail(&mine, op, "", "out of memory");
    if (!rc) {
        sm_aws_rest r = {.service = SM_AWS_S3,
                         .operation = op,
                         .method = "DELETE",
                         .path = path,
                         .query = sm_buf_str(&query)};
        rc = sm_aws_rest_call(aws, &r, &resp, &mine);
    }
    if (rc && strcmp(mine.code, "NoSuchUpload") == 0)
        rc = 0;
    if (rc)
        sm_s3_error_keep(err, &mine);
    sm_aws_response_clear(&resp);
    sm_buf_free(&query);
    free(path);
    free(id);
    return rc;
}

static int upload_parts(upload_job *job, sm_aws_error *err)
{
    const sm_s3_transfer *cfg = &job->req->transfer;
    pool p = {.count = job->plan.part_count,
              .total = job->src.size,
              .run = part_task,
              .ctx = job,
              .cfg = cfg};
    report(cfg, 0, job->src.size);
    return pool_run(&p, cfg->max_connections, "UploadPart", err);
}

static int upload_multipart(upload_job *job, sm_s3_put_result *out,
                            sm_aws_error *err)
{
    uint32_t n = job->plan.part_count;
    int rc = 0;
    job->parts = calloc(n, sizeof *job->parts);
    job->md5s = calloc(n, sizeof *job->md5s);
    job->path = sm_s3_path(job->req->bucket, job->req->key);
    if (!job->parts || !job->md5s || !job->path)
        return sm_s3_fail(err, "CreateMultipartUpload", "", "out of memory");
    rc = upload_create(job, err);
    if (!rc)
        rc = upload_parts(job, err);
    if (!rc)
        rc = upload_complete(job, out, err);
    if (rc && job->upload_id) {
        sm_aws_error abort_err = {0};
        /* Every worker has returned, so no part is in flight: one abort
         * leaves nothing behind. Its own failure is logged, not shown,
         * since the first error is the one that matters. */
        if (sm_s3_abort_upload(job->aws, job->req->bucket, job->req->key,
                               job->upload_id, &abort_err))
            sm_warn("s3: could not abort upload %s of %s: %s: %s",
                    job->upload_id, job->req->key, abort_err.code,
                    abort_err.message);
    }
    if (!rc) {
        out->size = job->src.size;
        out->parts = n;
    }
    return rc;
}

static int interrupted_now(const sm_s3_transfer *cfg, const char *op,
                           sm_aws_error *err)
{
    if (cfg->interrupted && cfg->interrupted(cfg->ctx))
        return sm_s3_fail(err, op, SM_S3_ERR_INTERRUPTED,
                          "interrupted; nothing was sent");
    return 0;
}

int sm_s3_upload(sm_aws *aws, const sm_s3_upload_req *req,
                 sm_s3_put_result *out, sm_aws_error *err)
{
    upload_job job = {.aws = aws,
                      .req = req,
                      .crc = sm_aws_payload_may_be_unsigned(aws, SM_AWS_S3)};
    sm_error perr = {{0}};
    memset(out, 0, sizeof *out);
    int rc = source_open(req, &job.src, "PutObject", err);
    if (!rc && sm_s3_plan_parts(job.src.size, req->transfer.threshold,
                                req->transfer.part_size, &job.plan, &perr))
        rc = sm_s3_fail(err, "PutObject", SM_S3_ERR_ARGUMENT, "%s",
                        perr.message);
    if (!rc)
        rc = interrupted_now(&req->transfer, "PutObject", err);
    if (!rc && !job.plan.multipart) {
        call_watch watch = {
            .cfg = &req->transfer, .upload = 1, .total = job.src.size};
        report(&req->transfer, 0, job.src.size);
        rc = put_source(aws, req, &job.src, &watch, out, err);
        if (!rc)
            report(&req->transfer, job.src.size, job.src.size);
    } else if (!rc) {
        rc = upload_multipart(&job, out, err);
    }
    source_close(&job.src);
    free(job.parts);
    free(job.md5s);
    free(job.path);
    free(job.upload_id);
    free(job.upload_id_enc);
    return rc;
}

/* ---- downloads ---------------------------------------------------------- */

/* A new temporary file beside `path`: its name in *tmp (new), its open
 * descriptor returned (never 0 to 2, which a stray write could reach, and
 * which the client reads as "no descriptor"); -1 with `err` set. */
static int temp_beside(const char *path, char **tmp, const char *op,
                       sm_aws_error *err)
{
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path + 1) : 0;
    sm_buf b = {0};
    if (sm_buf_printf(&b, "%.*s.%s.sagemagic-XXXXXX", dir_len, path,
                      slash ? slash + 1 : path)) {
        sm_buf_free(&b);
        return sm_s3_fail(err, op, "", "out of memory");
    }
    *tmp = sm_buf_take(&b);
    int fd = mkostemp(*tmp, O_CLOEXEC);
    if (fd >= 0 && fd <= STDERR_FILENO) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        close(fd);
        fd = high;
        if (fd < 0)
            unlink(*tmp);
    }
    if (fd < 0) {
        sm_s3_fail(err, op, SM_S3_ERR_LOCAL_FILE, "cannot write beside %s: %s",
                   path, strerror(errno));
        free(*tmp);
        *tmp = NULL;
    }
    return fd;
}

/* The finished download: checked against the ETag's MD5 when it is one
 * and the whole object was asked for, then renamed into place. */
static int download_finish(const char *tmp, const sm_s3_download_req *req,
                           const sm_s3_head *head, sm_aws_error *err)
{
    static const char op[] = "GetObject";
    struct stat st;
    char hex[33];
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    int rc =
        fd >= 0 && fstat(fd, &st) == 0
            ? 0
            : sm_s3_fail(err, op, SM_S3_ERR_LOCAL_FILE, "cannot read %s", tmp);
    if (!rc && !req->range && (uint64_t)st.st_size != head->size)
        rc = sm_s3_fail(err, op, SM_S3_ERR_CHECKSUM, "got %lld bytes of %llu",
                        (long long)st.st_size, (unsigned long long)head->size);
    if (!rc && !req->range && head->etag_is_md5 &&
        sm_s3_etag_md5(head->etag, hex)) {
        sm_s3_digest dg;
        if (sm_s3_digest_file(fd, 0, (uint64_t)st.st_size, &dg))
            rc = sm_s3_fail(err, op, SM_S3_ERR_LOCAL_FILE, "cannot read %s",
                            tmp);
        else if (strcmp(dg.md5_hex, hex) != 0)
            rc = sm_s3_fail(err, op, SM_S3_ERR_CHECKSUM,
                            "the bytes received have MD5 %s, not %s",
                            dg.md5_hex, hex);
    }
    if (fd >= 0)
        close(fd);
    if (!rc && rename(tmp, req->path) != 0)
        rc = sm_s3_fail(err, op, SM_S3_ERR_LOCAL_FILE, "cannot write %s: %s",
                        req->path, strerror(errno));
    return rc;
}

/* One GetObject into req->path; progress is reported against `total`
 * when it is known (from HeadObject), else only interruption is asked. */
static int object_get(sm_aws *aws, const sm_s3_download_req *req,
                      uint64_t total, sm_s3_head *out, sm_aws_error *err)
{
    static const char op[] = "GetObject";
    char *tmp = NULL, *path = sm_s3_path(req->bucket, req->key);
    sm_aws_response resp = {0};
    call_watch watch = {.cfg = &req->transfer, .total = total};
    int fd = path ? temp_beside(req->path, &tmp, op, err)
                  : sm_s3_fail(err, op, "", "out of memory");
    int rc = fd >= 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    if (!rc) {
        sm_aws_header h[] = {{"Range", req->range}};
        sm_aws_rest r = {.service = SM_AWS_S3,
                         .operation = op,
                         .method = "GET",
                         .path = path,
                         .headers = h,
                         .header_count = req->range ? 1 : 0,
                         .response_file = tmp};
        call_watch_attach(&watch, &r);
        rc = sm_aws_rest_call(aws, &r, &resp, err);
    }
    if (!rc) {
        sm_s3_head_from_response(&resp, out);
        rc = download_finish(tmp, req, out, err);
    }
    if (tmp && rc)
        unlink(tmp);
    sm_aws_response_clear(&resp);
    free(tmp);
    free(path);
    return rc;
}

int sm_s3_get_object(sm_aws *aws, const sm_s3_download_req *req,
                     sm_s3_head *out, sm_aws_error *err)
{
    return object_get(aws, req, 0, out, err);
}

typedef struct download_job {
    sm_aws *aws;
    const sm_s3_download_req *req;
    const sm_s3_head *head;
    char *path; /* /bucket/key */
    int fd;     /* the temporary file */
    uint64_t part_size;
} download_job;

/* One range written straight into the temporary file at its offset. */
static int range_fetch(download_job *job, uint64_t offset, uint64_t len,
                       task_flow *flow, sm_aws_error *err)
{
    static const char op[] = "GetObject";
    char range[64];
    sm_aws_response resp = {0};
    snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)offset,
             (unsigned long long)(offset + len - 1));
    /* If-Match: every range from the same version of the object. */
    sm_aws_header h[] = {{"Range", range}, {"If-Match", job->head->etag}};
    sm_aws_rest r = {.service = SM_AWS_S3,
                     .operation = op,
                     .method = "GET",
                     .path = job->path,
                     .headers = h,
                     .header_count = 2,
                     .response_fd = job->fd,
                     .response_offset = offset,
                     .response_max = len,
                     .progress = task_progress,
                     .progress_ctx = flow};
    int rc = sm_aws_rest_call(job->aws, &r, &resp, err);
    task_flow_end(flow);
    if (!rc && resp.body_written != len)
        rc = sm_s3_fail(err, op, SM_S3_ERR_CHECKSUM,
                        "asked for %s, got %llu bytes", range,
                        (unsigned long long)resp.body_written);
    sm_aws_response_clear(&resp);
    return rc;
}

static int range_task(pool *p, uint32_t index, sm_aws_error *err)
{
    download_job *job = p->ctx;
    uint64_t offset = (uint64_t)index * job->part_size;
    uint64_t len = job->head->size - offset < job->part_size
                       ? job->head->size - offset
                       : job->part_size;
    sm_aws_error first = {0};
    task_flow flow = {.p = p};
    int rc = range_fetch(job, offset, len, &flow, &first);
    if (rc && worth_another_try(&first))
        rc = range_fetch(job, offset, len, &flow, err);
    else if (rc)
        sm_s3_error_keep(err, &first);
    if (!rc)
        pool_add_bytes(p, len);
    return rc;
}

static int download_ranges(sm_aws *aws, const sm_s3_download_req *req,
                           const sm_s3_head *head, sm_aws_error *err)
{
    const sm_s3_transfer *cfg = &req->transfer;
    char *tmp = NULL;
    download_job job = {.aws = aws,
                        .req = req,
                        .head = head,
                        .path = sm_s3_path(req->bucket, req->key)};
    uint64_t ps = cfg->part_size ? cfg->part_size : SM_S3_DEFAULT_PART_SIZE;
    job.part_size = ps < SM_S3_MIN_PART_SIZE ? SM_S3_MIN_PART_SIZE : ps;
    job.fd = job.path ? temp_beside(req->path, &tmp, "GetObject", err)
                      : sm_s3_fail(err, "GetObject", "", "out of memory");
    int rc = job.fd >= 0 ? 0 : -1;
    if (!rc) {
        pool p = {.count = (uint32_t)((head->size + job.part_size - 1) /
                                      job.part_size),
                  .total = head->size,
                  .run = range_task,
                  .ctx = &job,
                  .cfg = cfg};
        report(cfg, 0, head->size);
        rc = pool_run(&p, cfg->max_connections, "GetObject", err);
    }
    if (job.fd >= 0 && close(job.fd) != 0 && !rc)
        rc = sm_s3_fail(err, "GetObject", SM_S3_ERR_LOCAL_FILE,
                        "cannot write %s: %s", req->path, strerror(errno));
    if (!rc)
        rc = download_finish(tmp, req, head, err);
    if (tmp && rc)
        unlink(tmp);
    free(tmp);
    free(job.path);
    return rc;
}

int sm_s3_download(sm_aws *aws, const sm_s3_download_req *req, sm_s3_head *out,
                   sm_aws_error *err)
{
    const sm_s3_transfer *cfg = &req->transfer;
    uint64_t threshold =
        cfg->threshold ? cfg->threshold : SM_S3_DEFAULT_THRESHOLD;
    if (req->range)
        return sm_s3_get_object(aws, req, out, err);
    int rc = interrupted_now(cfg, "GetObject", err);
    if (!rc)
        rc = sm_s3_head_object(aws, req->bucket, req->key, out, err);
    if (!rc && out->size < threshold) {
        report(cfg, 0, out->size);
        rc = object_get(aws, req, out->size, out, err);
        if (!rc)
            report(cfg, out->size, out->size);
    } else if (!rc) {
        rc = download_ranges(aws, req, out, err);
    }
    return rc;
}
