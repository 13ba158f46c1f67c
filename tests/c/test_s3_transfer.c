/* test_s3_transfer: uploads and downloads against a fake S3 behind the
 * client's transport seam: parts, order, retries, aborts, interruption
 * (between requests and in flight), progress, ranges written into the
 * file, integrity checks. No sockets. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws.h"
#include "buf.h"
#include "crc.h"
#include "s3.h"
#include "s3_private.h"
#include "test.h"
#include "transport.h"
#include "xml.h"

#define MIB ((uint64_t)1 << 20)
#define PARTS_MAX 64
#define PUT_SLOT PARTS_MAX /* where a PutObject is counted */

/* ---- the fake S3 -------------------------------------------------------- */

typedef struct fake_s3 {
    pthread_mutex_t lock;
    /* behaviour */
    int fail_part, fail_times; /* ECONNECT this often (-1: always) */
    int bad_etag_part;         /* answer one wrong ETag for this part
                                * (PUT_SLOT: for the PutObject) */
    int complete_error_once;   /* 200 with an <Error> body, once */
    int corrupt_range;         /* flip a byte in this range's reply */
    int slow_ms; /* a body takes this long to move, in SLOW_STEPS steps,
                  * each asking req->progress as a transport does */
    /* what it saw */
    int tries[PARTS_MAX + 1]; /* [1..63]: parts; [PUT_SLOT]: PutObject */
    char md5[PARTS_MAX + 1][33];
    int creates, completes, aborts, puts, gets, heads;
    int in_flight, most_in_flight;
    int stopped;                     /* requests req->progress stopped */
    int ranges_to_fd, ranges_in_ram; /* how ranged GETs wanted their body */
    char *complete_body;
    char content_md5_seen[64];
    char create_checksum[16]; /* CreateMultipartUpload's algorithm */
    int unsigned_crc_parts;   /* parts sent unsigned with a good CRC32C */
    /* the object to download */
    const unsigned char *object;
    size_t object_len;
    char object_etag[48];
} fake_s3;

static void md5_hex(const void *data, size_t len, char out[33])
{
    sm_s3_digest d;
    sm_s3_digest_bytes(data, len, &d);
    memcpy(out, d.md5_hex, 33);
}

static void add_header(sm_transport_response *resp, const char *name,
                       const char *value)
{
    sm_transport_field *h =
        realloc(resp->headers, (resp->header_count + 1) * sizeof *h);
    if (!h)
        return;
    resp->headers = h;
    h[resp->header_count].name = strdup(name);
    h[resp->header_count].value = strdup(value);
    resp->header_count++;
}

static int reply(sm_transport_response *resp, long status, const char *etag,
                 const void *body, size_t len)
{
    resp->status = status;
    if (etag)
        add_header(resp, "etag", etag);
    if (len)
        sm_buf_append(&resp->body, body, len);
    return SM_TRANSPORT_OK;
}

static const char *req_header(const sm_transport_request *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

/* The request body, new; from memory or from a file range. */
static unsigned char *req_body(const sm_transport_request *req)
{
    unsigned char *b = malloc(req->body_len + 1);
    if (!b || !req->body_file) {
        if (b && req->body_len)
            memcpy(b, req->body, req->body_len);
        return b;
    }
    int fd = open(req->body_file, O_RDONLY);
    ssize_t n =
        fd >= 0 ? pread(fd, b, req->body_len, (off_t)req->body_offset) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)req->body_len) {
        free(b);
        return NULL;
    }
    return b;
}

#define SLOW_STEPS 20

/* Move a body of `sent` (upload) or `received` bytes slowly, telling
 * req->progress as it goes. SM_TRANSPORT_OK, or EINTERRUPTED when the
 * callback said stop. */
static int slow_body(fake_s3 *f, const sm_transport_request *req, uint64_t sent,
                     uint64_t received, sm_error *err)
{
    long step_ns = (long)f->slow_ms * 1000000L / SLOW_STEPS;
    for (int i = 1; f->slow_ms && i <= SLOW_STEPS; i++) {
        nanosleep(
            &(struct timespec){step_ns / 1000000000L, step_ns % 1000000000L},
            NULL);
        if (req->progress &&
            req->progress(req->progress_ctx, sent * (uint64_t)i / SLOW_STEPS,
                          received * (uint64_t)i / SLOW_STEPS)) {
            pthread_mutex_lock(&f->lock);
            f->stopped++;
            pthread_mutex_unlock(&f->lock);
            sm_error_set(err, "stopped by the caller (fake)");
            return SM_TRANSPORT_EINTERRUPTED;
        }
    }
    return SM_TRANSPORT_OK;
}

static void crc32c_base64(const void *data, size_t len, char out[12])
{
    uint32_t c = sm_crc32c(0, data, len);
    unsigned char be[4] = {c >> 24, c >> 16, c >> 8, c};
    sodium_bin2base64(out, 12, be, 4, sodium_base64_VARIANT_ORIGINAL);
}

/* A part sent with x-amz-checksum-crc32c: it must match the bytes and go
 * unsigned; the answer echoes it (a wrong one when `bad`). */
static int on_crc_part(fake_s3 *f, const sm_transport_request *req,
                       const char *crc, const char *etag, int bad,
                       sm_transport_response *resp)
{
    const char *sent = req_header(req, "x-amz-checksum-crc32c");
    const char *hash = req_header(req, "x-amz-content-sha256");
    if (strcmp(sent, crc) != 0 || !hash || strcmp(hash, "UNSIGNED-PAYLOAD"))
        return reply(resp, 400, NULL, "<Error><Code>BadDigest</Code></Error>",
                     37);
    pthread_mutex_lock(&f->lock);
    f->unsigned_crc_parts++;
    pthread_mutex_unlock(&f->lock);
    reply(resp, 200, etag, NULL, 0);
    add_header(resp, "x-amz-checksum-crc32c", bad ? "AAAAAA==" : crc);
    return SM_TRANSPORT_OK;
}

static int on_part(fake_s3 *f, const sm_transport_request *req, int n,
                   sm_transport_response *resp, sm_error *err)
{
    unsigned char *body = req_body(req);
    char hex[33], etag[40], crc[12];
    const char *sent_md5 = req_header(req, "Content-MD5");
    sm_s3_digest d;
    sm_s3_digest_bytes(body, req->body_len, &d);
    memcpy(hex, d.md5_hex, 33);
    crc32c_base64(body, req->body_len, crc);
    free(body);
    pthread_mutex_lock(&f->lock);
    int tries = ++f->tries[n];
    int fail =
        n == f->fail_part && (f->fail_times < 0 || tries <= f->fail_times);
    int bad = n == f->bad_etag_part && tries == 1;
    if (!fail)
        memcpy(f->md5[n], hex, 33);
    pthread_mutex_unlock(&f->lock);
    if (fail) {
        sm_error_set(err, "Connection reset by peer (fake)");
        return SM_TRANSPORT_ECONNECT;
    }
    int moved = slow_body(f, req, req->body_len, 0, err);
    if (moved != SM_TRANSPORT_OK)
        return moved;
    if (req_header(req, "x-amz-checksum-crc32c")) {
        snprintf(etag, sizeof etag, "\"%s\"", hex);
        return on_crc_part(f, req, crc, etag, bad, resp);
    }
    if (!sent_md5 || strcmp(sent_md5, d.md5_base64) != 0)
        return reply(resp, 400, NULL, "<Error><Code>BadDigest</Code></Error>",
                     37);
    snprintf(etag, sizeof etag, "\"%s\"",
             bad ? "00000000000000000000000000000000" : hex);
    return reply(resp, 200, etag, NULL, 0);
}

static int on_complete(fake_s3 *f, const sm_transport_request *req,
                       sm_transport_response *resp)
{
    static const char error[] = "<Error><Code>InternalError</Code><Message>"
                                "try again</Message></Error>";
    unsigned char md5s[PARTS_MAX * 16];
    int count = 0;
    char body[256], hex[33];
    pthread_mutex_lock(&f->lock);
    int first = f->completes++ == 0;
    free(f->complete_body);
    f->complete_body = strndup(req->body, req->body_len);
    for (int n = 1; n < PUT_SLOT && f->md5[n][0]; n++, count++)
        for (int i = 0; i < 16; i++)
            sscanf(f->md5[n] + 2 * i, "%2hhx", &md5s[count * 16 + i]);
    pthread_mutex_unlock(&f->lock);
    if (f->complete_error_once && first)
        return reply(resp, 200, NULL, error, sizeof error - 1);
    md5_hex(md5s, (size_t)count * 16, hex);
    int len = snprintf(body, sizeof body,
                       "<CompleteMultipartUploadResult><ETag>&quot;%s-%d"
                       "&quot;</ETag></CompleteMultipartUploadResult>",
                       hex, count);
    return reply(resp, 200, NULL, body, (size_t)len);
}

/* A 2xx body where the request wants it, as the transport puts it:
 * response_file, else response_fd at response_offset, else memory. */
static int deliver(const sm_transport_request *req, sm_transport_response *resp,
                   const unsigned char *body, size_t len, sm_error *err)
{
    if (req->response_file) {
        FILE *out = fopen(req->response_file, "wb");
        fwrite(body, 1, len, out);
        fclose(out);
        resp->body_written = len;
    } else if (req->response_fd > 0) {
        if (req->response_max && len > req->response_max) {
            sm_error_set(err, "the response is longer than asked for");
            return SM_TRANSPORT_EFATAL;
        }
        if (pwrite(req->response_fd, body, len, (off_t)req->response_offset) !=
            (ssize_t)len)
            return SM_TRANSPORT_EFATAL;
        resp->body_written = len;
    } else {
        sm_buf_append(&resp->body, body, len);
    }
    return SM_TRANSPORT_OK;
}

/* A GET of the object, whole (maybe into response_file) or a range. */
static int on_get(fake_s3 *f, const sm_transport_request *req,
                  sm_transport_response *resp, sm_error *err)
{
    const char *range = req_header(req, "Range");
    const char *if_match = req_header(req, "If-Match");
    unsigned long long a = 0, b = f->object_len ? f->object_len - 1 : 0;
    pthread_mutex_lock(&f->lock);
    f->gets++;
    if (range)
        *(req->response_fd > 0 ? &f->ranges_to_fd : &f->ranges_in_ram) += 1;
    pthread_mutex_unlock(&f->lock);
    if (if_match && strcmp(if_match, f->object_etag) != 0)
        return reply(resp, 412, NULL,
                     "<Error><Code>PreconditionFailed"
                     "</Code></Error>",
                     42);
    if (range && sscanf(range, "bytes=%llu-%llu", &a, &b) != 2)
        return reply(resp, 416, NULL, NULL, 0);
    size_t len = f->object_len ? (size_t)(b - a + 1) : 0;
    int rc = slow_body(f, req, 0, len, err);
    if (rc != SM_TRANSPORT_OK)
        return rc;
    unsigned char *copy = malloc(len + 1);
    memcpy(copy, f->object + a, len);
    if (range && f->corrupt_range == (int)(a / (5 * MIB)) + 1)
        copy[len / 2] ^= 1;
    reply(resp, range ? 206 : 200, f->object_etag, NULL, 0);
    rc = deliver(req, resp, copy, len, err);
    char size[32];
    snprintf(size, sizeof size, "%zu", len);
    add_header(resp, "content-length", size);
    free(copy);
    return rc;
}

static int on_head(fake_s3 *f, sm_transport_response *resp)
{
    char size[32];
    f->heads++;
    snprintf(size, sizeof size, "%zu", f->object_len);
    reply(resp, 200, f->object_etag, NULL, 0);
    add_header(resp, "content-length", size);
    return SM_TRANSPORT_OK;
}

static int fake_send(void *ctx, const sm_transport_request *req,
                     sm_transport_response *resp, sm_error *err)
{
    static const char created[] = "<InitiateMultipartUploadResult><UploadId>"
                                  "up/1+x</UploadId>"
                                  "</InitiateMultipartUploadResult>";
    fake_s3 *f = ctx;
    const char *q = strchr(req->url, '?');
    const char *part = q ? strstr(q, "partNumber=") : NULL;
    int rc;
    pthread_mutex_lock(&f->lock);
    if (++f->in_flight > f->most_in_flight)
        f->most_in_flight = f->in_flight;
    pthread_mutex_unlock(&f->lock);
    if (strcmp(req->method, "POST") == 0 && q && strcmp(q, "?uploads") == 0) {
        const char *alg = req_header(req, "x-amz-checksum-algorithm");
        f->creates++;
        snprintf(f->create_checksum, sizeof f->create_checksum, "%s",
                 alg ? alg : "");
        rc = reply(resp, 200, NULL, created, sizeof created - 1);
    } else if (strcmp(req->method, "PUT") == 0 && part) {
        /* The upload id came back encoded. */
        rc = strstr(q, "uploadId=up%2F1%2Bx")
                 ? on_part(f, req, atoi(part + 11), resp, err)
                 : reply(resp, 404, NULL,
                         "<Error><Code>NoSuchUpload</Code>"
                         "</Error>",
                         39);
    } else if (strcmp(req->method, "POST") == 0 && q) {
        rc = on_complete(f, req, resp);
    } else if (strcmp(req->method, "DELETE") == 0 && q) {
        f->aborts++;
        rc = reply(resp, 204, NULL, NULL, 0);
    } else if (strcmp(req->method, "PUT") == 0) {
        f->puts++;
        rc = on_part(f, req, PUT_SLOT, resp, err);
    } else if (strcmp(req->method, "HEAD") == 0) {
        rc = on_head(f, resp);
    } else {
        rc = on_get(f, req, resp, err);
    }
    pthread_mutex_lock(&f->lock);
    f->in_flight--;
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static void no_sleep(void *ctx, long ms)
{
    (void)ctx;
    (void)ms;
}

static sm_aws *fake_client_at(fake_s3 *f, const char *endpoint)
{
    pthread_mutex_init(&f->lock, NULL);
    sm_aws_config cfg = {
        .region = "us-east-1",
        .endpoint_url = endpoint,
        .access_key = "AKIDEXAMPLE",
        .secret_key = "secret",
        .max_attempts = 2,
        .seams = {.sleep_ms = no_sleep, .send = fake_send, .ctx = f}};
    sm_aws_error err = {0};
    sm_aws *aws = sm_aws_new(&cfg, &err);
    if (!aws)
        printf("    sm_aws_new: %s\n", err.message);
    return aws;
}

static sm_aws *fake_client(fake_s3 *f)
{
    return fake_client_at(f, "http://s3.test");
}

static void fake_done(fake_s3 *f, sm_aws **aws)
{
    sm_aws_destroy(aws);
    free(f->complete_body);
    pthread_mutex_destroy(&f->lock);
}

/* Bytes that differ from part to part. */
static unsigned char *pattern(size_t len, unsigned seed)
{
    unsigned char *b = malloc(len ? len : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; b && i < len; i++) {
        x = x * 1664525u + 1013904223u;
        b[i] = (unsigned char)(x >> 24);
    }
    return b;
}

typedef struct progress_log {
    uint64_t last, total;
    uint64_t first_moved; /* the first report above 0 */
    int calls, backwards;
    int stop_after; /* interrupt once this many calls were made */
} progress_log;

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_log *p = ctx;
    if (done < p->last)
        p->backwards = 1;
    if (done > 0 && !p->first_moved)
        p->first_moved = done;
    p->last = done;
    p->total = total;
    p->calls++;
}

static int on_interrupted(void *ctx)
{
    progress_log *p = ctx;
    return p->stop_after && p->calls >= p->stop_after && p->last > 0;
}

static sm_s3_upload_req upload_of(const void *data, size_t len,
                                  progress_log *log)
{
    sm_s3_upload_req req = {.bucket = "bucket",
                            .key = "data/big file.bin",
                            .data = data,
                            .len = len};
    req.transfer = (sm_s3_transfer){.threshold = 5 * MIB,
                                    .part_size = 5 * MIB,
                                    .max_connections = 3,
                                    .progress = on_progress,
                                    .interrupted = on_interrupted,
                                    .ctx = log};
    return req;
}

/* ---- uploads ------------------------------------------------------------ */

TEST(s3_multipart_sends_every_part_and_completes_in_order)
{
    fake_s3 f = {0};
    sm_aws *aws = fake_client(&f);
    CHECK(aws);
    size_t len = 23 * MIB + 17;
    unsigned char *data = pattern(len, 1);
    progress_log log = {0};
    sm_s3_upload_req req = upload_of(data, len, &log);
    sm_s3_put_result out;
    sm_aws_error err = {0};
    int rc = sm_s3_upload(aws, &req, &out, &err);
    char want_md5[33];
    md5_hex(data + 10 * MIB, 5 * MIB, want_md5);
    free(data);
    CHECK_STR(err.message, "");
    CHECK(rc == 0);
    CHECK(out.parts == 5 && out.size == len);
    CHECK(f.creates == 1 && f.completes == 1 && f.aborts == 0);
    CHECK(f.most_in_flight <= 3);
    CHECK_STR(f.md5[3], want_md5);
    /* The Complete body names the five parts in order with their ETags. */
    sm_xml_node *root =
        sm_xml_parse(f.complete_body, strlen(f.complete_body), NULL);
    const sm_xml_node *p = sm_xml_child(root, "Part");
    int n = 0, in_order = 1;
    for (; p; p = sm_xml_next(p)) {
        char want[40];
        n++;
        snprintf(want, sizeof want, "\"%s\"", f.md5[n]);
        in_order &= atoi(sm_xml_child_text(p, "PartNumber")) == n &&
                    strcmp(sm_xml_child_text(p, "ETag"), want) == 0;
    }
    sm_xml_free(&root);
    CHECK(n == 5 && in_order);
    CHECK(log.total == len && log.last == len && !log.backwards);
    CHECK(strstr(out.etag, "-5") != NULL);
    fake_done(&f, &aws);
}

/* Upload `len` bytes of `data` from a temporary file in 5 MiB parts:
 * sm_s3_upload's result, or -2 when the file could not be written. */
static int upload_from_file(sm_aws *aws, const unsigned char *data, size_t len,
                            sm_s3_put_result *out)
{
    char path[] = "/tmp/test-s3-up-XXXXXX";
    int fd = mkstemp(path);
    int wrote = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0)
        close(fd);
    progress_log log = {0};
    sm_s3_upload_req req = upload_of(NULL, 0, &log);
    req.path = path;
    sm_aws_error err = {0};
    int rc = wrote ? sm_s3_upload(aws, &req, out, &err) : -2;
    unlink(path);
    return rc;
}

TEST(s3_multipart_from_a_file)
{
    fake_s3 f = {0};
    sm_aws *aws = fake_client(&f);
    size_t len = 11 * MIB;
    unsigned char *data = pattern(len, 2);
    sm_s3_put_result out;
    int rc = upload_from_file(aws, data, len, &out);
    char last[33];
    md5_hex(data + 10 * MIB, 1 * MIB, last);
    free(data);
    CHECK(rc == 0);
    CHECK(out.parts == 3 && f.completes == 1);
    CHECK_STR(f.md5[3], last);
    fake_done(&f, &aws);
}

/* Over HTTPS (or to this machine) parts go unsigned with a CRC32C, and
 * the Complete body names each part's CRC32C. */
TEST(s3_multipart_over_https_sends_crc32c_unsigned)
{
    static const char *const endpoints[] = {"https://s3.test",
                                            "http://127.0.0.1:9000"};
    for (int e = 0; e < 2; e++) {
        fake_s3 f = {.bad_etag_part = 2};
        sm_aws *aws = fake_client_at(&f, endpoints[e]);
        size_t len = 12 * MIB + 3;
        unsigned char *data = pattern(len, 9);
        sm_s3_put_result out;
        int rc = upload_from_file(aws, data, len, &out);
        char crc[12];
        crc32c_base64(data + 10 * MIB, 2 * MIB + 3, crc);
        free(data);
        CHECK(rc == 0);
        CHECK_STR(f.create_checksum, "CRC32C");
        /* part 2's wrong echo was caught and the part sent again */
        CHECK(f.tries[2] == 2 && f.unsigned_crc_parts == 4);
        char want[96];
        snprintf(want, sizeof want,
                 "<ChecksumCRC32C>%s</ChecksumCRC32C>"
                 "<PartNumber>3</PartNumber>",
                 crc);
        CHECK(f.complete_body && strstr(f.complete_body, want));
        CHECK(out.parts == 3 && strstr(out.etag, "-3") != NULL);
        fake_done(&f, &aws);
    }
}

TEST(s3_part_failing_past_the_client_retries_gets_one_more_try)
{
    fake_s3 f = {.fail_part = 2, .fail_times = 2}; /* max_attempts is 2 */
    sm_aws *aws = fake_client(&f);
    size_t len = 12 * MIB;
    unsigned char *data = pattern(len, 3);
    progress_log log = {0};
    sm_s3_upload_req req = upload_of(data, len, &log);
    sm_s3_put_result out;
    sm_aws_error err = {0};
    int rc = sm_s3_upload(aws, &req, &out, &err);
    free(data);
    CHECK(rc == 0);
    CHECK(f.tries[2] == 3 && f.tries[1] == 1 && f.tries[3] == 1);
    CHECK(f.aborts == 0 && f.completes == 1);
    fake_done(&f, &aws);
}

TEST(s3_part_that_always_fails_aborts_the_upload)
{
    fake_s3 f = {.fail_part = 2, .fail_times = -1};
    sm_aws *aws = fake_client(&f);
    size_t len = 12 * MIB;
    unsigned char *data = pattern(len, 4);
    progress_log log = {0};
    sm_s3_upload_req req = upload_of(data, len, &log);
    sm_s3_put_result out;
    sm_aws_error err = {0};
    int rc = sm_s3_upload(aws, &req, &out, &err);
    free(data);
    CHECK(rc == -1);
    CHECK_STR(err.operation, "UploadPart");
    CHECK(err.http_status == 0 && strstr(err.message, "reset") != NULL);
    CHECK(f.tries[2] == 4); /* two attempts, twice: bounded */
    CHECK(f.aborts == 1 && f.completes == 0);
    fake_done(&f, &aws);
}

TEST(s3_wrong_part_etag_is_caught_and_sent_again)
{
    fake_s3 f = {.bad_etag_part = 1};
    sm_aws *aws = fake_client(&f);
    size_t len = 6 * MIB;
    unsigned char *data = pattern(len, 5);
    progress_log log = {0};
    sm_s3_upload_req req = upload_of(data, len, &log);
    sm_s3_put_result out;
    sm_aws_error err = {0};
    int rc = sm_s3_upload(aws, &req, &out, &err);
    free(data);
    CHECK(rc == 0);
    CHECK(f.tries[1] == 2 && f.tries[2] == 1);
    fake_done(&f, &aws);
}

TEST(s3_complete_answering_200_with_an_error_is_tried_again)
{
    fake_s3 f = {.complete_error_once = 1};
    sm_aws *aws = fake_client(&f);
    size_t len = 6 * MIB;
    unsigned char *data = pattern(len, 6);
    progress_log log = {0};
    sm_s3_upload_req req = upload_of(data, len, &log);
    sm_s3_put_result out;
    sm_aws_error err = {0};
    int rc = sm_s3_upload(aws, &req, &out, &err);
    free(data);
    CHECK_STR(err.message, "");
    CHECK(rc == 0 && f.completes == 2 && f.aborts == 0);
    fake_done(&f, &aws);
}

TEST(s3_interruption_stops_and_aborts)
{
    fake_s3 f = {0};
    sm_aws *aws = fake_client(&f);
    size_t len = 60 * MIB; /* 12 parts */
    unsigned char *data = pattern(len, 7);
    progress_log log = {.stop_after = 2};
    sm_s3_upload_req req = upload_of(data, len, &log);
    req.transfer.max_connections = 1;
    sm_s3_put_result out;
    sm_aws_error err = {0};
    int rc = sm_s3_upload(aws, &req, &out, &err);
    free(data);
    CHECK(rc == -1);
    CHECK_STR(err.code, SM_S3_ERR_INTERRUPTED);
    CHECK(f.aborts == 1 && f.completes == 0);
    int sent = 0;
    for (int n = 1; n <= 12; n++)
        sent += f.tries[n];
    CHECK(sent < 12);
    fake_done(&f, &aws);
}

TEST(s3_single_put_checks_md5_and_etag)
{
    fake_s3 f = {0};
    sm_aws *aws = fake_client(&f);
    progress_log log = {0};
    sm_s3_upload_req req = upload_of("hello", 5, &log);
    sm_s3_put_result out;
    sm_aws_error err = {0};
    CHECK(sm_s3_upload(aws, &req, &out, &err) == 0);
    CHECK(f.puts == 1 && f.creates == 0);
    CHECK_STR(out.md5_hex, "5d41402abc4b2a76b9719d911017c592");
    CHECK_STR(out.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    CHECK(log.last == 5 && log.total == 5);
    f.bad_etag_part = PUT_SLOT; /* now a wrong ETag for the PutObject */
    f.tries[PUT_SLOT] = 0;
    sm_aws_error bad = {0};
    CHECK(sm_s3_put_object(aws, &req, &out, &bad) == -1);
    CHECK_STR(bad.code, SM_S3_ERR_CHECKSUM);
    fake_done(&f, &aws);
}

/* ---- downloads ---------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        return NULL;
    }
    char *b = malloc((size_t)st.st_size + 1);
    *len = fread(b, 1, (size_t)st.st_size, f);
    fclose(f);
    return b;
}

/* No ".test-s3-dl-*.sagemagic-XXXXXX" left behind in /tmp. */
static int no_temp_files_in_tmp(void)
{
    DIR *d = opendir("/tmp");
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)))
        found |= strncmp(e->d_name, ".test-s3-dl-", 12) == 0;
    if (d)
        closedir(d);
    return d && !found;
}

TEST(s3_download_in_ranges_and_whole)
{
    size_t len = 17 * MIB + 5;
    unsigned char *data = pattern(len, 8);
    fake_s3 f = {.object = data, .object_len = len};
    char hex[33];
    md5_hex(data, len, hex);
    snprintf(f.object_etag, sizeof f.object_etag, "\"%s\"", hex);
    sm_aws *aws = fake_client(&f);
    progress_log log = {0};
    sm_s3_download_req req = {
        .bucket = "bucket", .key = "k", .path = "/tmp/test-s3-dl-ranges"};
    req.transfer = (sm_s3_transfer){.threshold = 5 * MIB,
                                    .part_size = 5 * MIB,
                                    .max_connections = 4,
                                    .progress = on_progress,
                                    .ctx = &log};
    sm_s3_head head;
    sm_aws_error err = {0};
    int rc = sm_s3_download(aws, &req, &head, &err);
    size_t got_len = 0;
    char *got = read_all(req.path, &got_len);
    int same = got && got_len == len && memcmp(got, data, len) == 0;
    free(got);
    unlink(req.path);
    CHECK_STR(err.message, "");
    CHECK(rc == 0 && same);
    CHECK(f.heads == 1 && f.gets == 4);
    /* Every range went straight into the file, none through memory. */
    CHECK(f.ranges_to_fd == 4 && f.ranges_in_ram == 0);
    CHECK(head.size == len && log.last == len);
    /* Below the threshold: one GET into the file. */
    req.transfer.threshold = 64 * MIB;
    f.gets = 0;
    rc = sm_s3_download(aws, &req, &head, &err);
    got = read_all(req.path, &got_len);
    same = got && got_len == len && memcmp(got, data, len) == 0;
    free(got);
    unlink(req.path);
    free(data);
    CHECK(rc == 0 && same && f.gets == 1);
    CHECK(no_temp_files_in_tmp());
    fake_done(&f, &aws);
}

TEST(s3_download_with_a_changed_byte_fails_and_leaves_nothing)
{
    size_t len = 12 * MIB;
    unsigned char *data = pattern(len, 9);
    fake_s3 f = {.object = data, .object_len = len, .corrupt_range = 2};
    char hex[33];
    md5_hex(data, len, hex);
    snprintf(f.object_etag, sizeof f.object_etag, "\"%s\"", hex);
    sm_aws *aws = fake_client(&f);
    sm_s3_download_req req = {
        .bucket = "bucket", .key = "k", .path = "/tmp/test-s3-dl-corrupt"};
    req.transfer = (sm_s3_transfer){.threshold = 5 * MIB, .part_size = 5 * MIB};
    sm_s3_head head;
    sm_aws_error err = {0};
    unlink(req.path);
    int rc = sm_s3_download(aws, &req, &head, &err);
    free(data);
    CHECK(rc == -1);
    CHECK_STR(err.code, SM_S3_ERR_CHECKSUM);
    CHECK(access(req.path, F_OK) != 0);
    CHECK(no_temp_files_in_tmp());
    fake_done(&f, &aws);
}

/* ---- in flight ---------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(s3_multipart_progress_counts_bytes_in_flight)
{
    /* Three parts of 5 MiB at once, each taking 600 ms: progress shows
     * bytes long before the first part is done. */
    fake_s3 f = {.slow_ms = 600};
    sm_aws *aws = fake_client(&f);
    size_t len = 15 * MIB;
    unsigned char *data = pattern(len, 10);
    progress_log log = {0};
    sm_s3_upload_req req = upload_of(data, len, &log);
    sm_s3_put_result out;
    sm_aws_error err = {0};
    int rc = sm_s3_upload(aws, &req, &out, &err);
    free(data);
    CHECK_STR(err.message, "");
    CHECK(rc == 0 && f.stopped == 0);
    CHECK(log.first_moved > 0 && log.first_moved < 5 * MIB);
    CHECK(log.calls > 3 && !log.backwards);
    CHECK(log.last == len && log.total == len);
    fake_done(&f, &aws);
}

TEST(s3_single_put_interrupted_in_flight)
{
    fake_s3 f = {.slow_ms = 3000};
    sm_aws *aws = fake_client(&f);
    size_t len = 1 * MIB; /* below the threshold: one PutObject */
    unsigned char *data = pattern(len, 11);
    progress_log log = {.stop_after = 2};
    sm_s3_upload_req req = upload_of(data, len, &log);
    sm_s3_put_result out;
    sm_aws_error err = {0};
    long long t0 = now_ms();
    int rc = sm_s3_upload(aws, &req, &out, &err);
    long long ms = now_ms() - t0;
    free(data);
    CHECK(rc == -1);
    CHECK_STR(err.code, SM_S3_ERR_INTERRUPTED);
    CHECK(f.puts == 1 && f.stopped == 1);
    CHECK(ms < 1500);                      /* not the 3 s the body would take */
    CHECK(log.last > 0 && log.last < len); /* bytes counted as they went */
    fake_done(&f, &aws);
}

TEST(s3_multipart_interrupted_in_flight_stops_every_part)
{
    fake_s3 f = {.slow_ms = 3000};
    sm_aws *aws = fake_client(&f);
    size_t len = 15 * MIB; /* three parts, all in flight at once */
    unsigned char *data = pattern(len, 12);
    progress_log log = {.stop_after = 2};
    sm_s3_upload_req req = upload_of(data, len, &log);
    sm_s3_put_result out;
    sm_aws_error err = {0};
    long long t0 = now_ms();
    int rc = sm_s3_upload(aws, &req, &out, &err);
    long long ms = now_ms() - t0;
    free(data);
    CHECK(rc == -1);
    CHECK_STR(err.code, SM_S3_ERR_INTERRUPTED);
    CHECK_STR(err.operation, "UploadPart");
    CHECK(f.stopped == 3);
    CHECK(f.tries[1] == 1 && f.tries[2] == 1 && f.tries[3] == 1);
    CHECK(f.aborts == 1 && f.completes == 0);
    CHECK(ms < 1500);
    fake_done(&f, &aws);
}

static sm_aws *object_client(fake_s3 *f, unsigned char *data, size_t len)
{
    char hex[33];
    f->object = data;
    f->object_len = len;
    md5_hex(data, len, hex);
    snprintf(f->object_etag, sizeof f->object_etag, "\"%s\"", hex);
    return fake_client(f);
}

TEST(s3_downloads_interrupted_in_flight_leave_nothing)
{
    size_t len = 15 * MIB;
    unsigned char *data = pattern(len, 13);
    fake_s3 f = {.slow_ms = 3000};
    sm_aws *aws = object_client(&f, data, len);
    progress_log log = {.stop_after = 2};
    sm_s3_download_req req = {
        .bucket = "bucket", .key = "k", .path = "/tmp/test-s3-dl-stopped"};
    req.transfer = (sm_s3_transfer){.threshold = 5 * MIB,
                                    .part_size = 5 * MIB,
                                    .max_connections = 3,
                                    .progress = on_progress,
                                    .interrupted = on_interrupted,
                                    .ctx = &log};
    sm_s3_head head;
    sm_aws_error err = {0};
    unlink(req.path);
    /* In ranges: the three in flight stop. */
    long long t0 = now_ms();
    int rc = sm_s3_download(aws, &req, &head, &err);
    long long ms = now_ms() - t0;
    CHECK(rc == -1);
    CHECK_STR(err.code, SM_S3_ERR_INTERRUPTED);
    CHECK(f.stopped == 3 && ms < 1500);
    CHECK(access(req.path, F_OK) != 0);
    CHECK(no_temp_files_in_tmp());
    /* One GetObject below the threshold stops too. */
    req.transfer.threshold = 64 * MIB;
    log = (progress_log){.stop_after = 2};
    f.stopped = 0;
    memset(&err, 0, sizeof err);
    t0 = now_ms();
    rc = sm_s3_download(aws, &req, &head, &err);
    ms = now_ms() - t0;
    free(data);
    CHECK(rc == -1);
    CHECK_STR(err.code, SM_S3_ERR_INTERRUPTED);
    CHECK(f.stopped == 1 && ms < 1500);
    CHECK(log.last > 0 && log.last < len);
    CHECK(access(req.path, F_OK) != 0);
    CHECK(no_temp_files_in_tmp());
    fake_done(&f, &aws);
}
