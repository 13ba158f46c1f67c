/* httpd: each request walks begin -> body -> finish -> reply; a failure at
 * any step becomes the route's protocol's error. State lives in one
 * struct per request, made by the URI callback and freed on completion. */
#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "checksum.h"
#include "chunked.h"
#include "hex.h"
#include "log.h"
#include "store.h"

/* The pool holds one request's line and headers (S3 caps them at 8 KiB,
 * user metadata at 2 KiB) plus the read buffer; bodies are streamed out of
 * it. libmicrohttpd clears the pool on every request, so 1 MiB cost 15-18 %
 * of the server's time on small requests. */
#define MEMORY_PER_CONNECTION (64u << 10)
#define CONNECTION_TIMEOUT_S 300
#define CONNECTION_LIMIT 256
#define READ_BLOCK (256u << 10)
#define DISCARD_MAX (64ull << 20) /* body bytes dropped to send an error */
#define FINISHERS 2

struct request_state;

/* Threads that finish streamed bodies (fsync, rename, commit) while
 * their connections are suspended, and the queue they take them from. */
typedef struct finishers {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct request_state *head, *tail;
    int stopping;
    size_t count;
    pthread_t threads[FINISHERS];
} finishers;

struct sm_httpd {
    struct MHD_Daemon *daemon;
    sm_httpd_config config;
    sm_auth_keys keys;
    int port;
    atomic_size_t in_flight;
    finishers fin;
};

/* PHASE_DISCARD: the request failed while its body was coming; the rest
 * of the body is read and dropped, then the error is sent (libmicrohttpd
 * 0.9.75 can't answer in the middle of a body). */
typedef enum phase {
    PHASE_NEW,
    PHASE_BODY,
    PHASE_DISCARD,
    PHASE_FINISHING, /* suspended; a finisher resumes it when done */
    PHASE_REPLIED
} phase;

/* One request from its first line to its completion. */
typedef struct request_state {
    sm_httpd *server;
    char *target; /* the request target as received */
    phase phase;
    sm_http_request req;
    const sm_route *route;
    sm_auth_protocol protocol;
    sm_auth_info auth;
    sm_http_error err;
    sm_http_response resp;
    /* the body */
    sm_route_body plan;
    const char *claimed_hash; /* x-amz-content-sha256, or NULL: verify after */
    sm_buf body;
    sm_store_blob *blob;
    uint64_t received, decoded, discarded;
    EVP_MD_CTX *sha256; /* the raw body, to check a claimed or unsigned hash */
    EVP_MD_CTX *md5;    /* a buffered body, for Content-MD5 */
    sm_checksum *checksum;
    char checksum_claimed[SM_CHECKSUM_B64_MAX];
    int checksum_from_trailer;
    /* aws-chunked */
    sm_chunked *chunked;
    int chunks_signed, trailer_signed, trailer_verified;
    unsigned char signing_key[32];
    char previous[65];
    EVP_MD_CTX *chunk_sha;
    sm_buf trailer;
    /* while a finisher has it */
    struct MHD_Connection *conn;
    struct request_state *next;
    atomic_int finished;
} request_state;

/* ---- small helpers ------------------------------------------------------ */

static time_t server_now(const sm_httpd *self)
{
    return self->config.now ? self->config.now(self->config.now_ctx)
                            : time(NULL);
}

/* OpenSSL 3 looks a digest up in its provider tables (under a lock) at
 * every EVP_DigestInit_ex given EVP_sha256(); digests fetched once skip
 * that (about 0.25 us of each small request on the benchmark machine). */
static EVP_MD *fetched_sha256, *fetched_md5;
static pthread_once_t fetched_once = PTHREAD_ONCE_INIT;

static void digests_fetch(void)
{
    fetched_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    fetched_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
}

static const EVP_MD *md_sha256(void)
{
    pthread_once(&fetched_once, digests_fetch);
    return fetched_sha256 ? fetched_sha256 : EVP_sha256();
}

static const EVP_MD *md_md5(void)
{
    pthread_once(&fetched_once, digests_fetch);
    return fetched_md5 ? fetched_md5 : EVP_md5();
}

static EVP_MD_CTX *digest_new(const EVP_MD *md)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && !EVP_DigestInit_ex(ctx, md, NULL))
        EVP_MD_CTX_free(ctx), ctx = NULL;
    return ctx;
}

static void digest_hex(EVP_MD_CTX *ctx, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, md, &n);
    sm_hex(md, n, out);
}

static int fail_auth(request_state *rs, sm_auth_failure failure,
                     const char *detail)
{
    return sm_auth_fail(rs->protocol, failure, detail, &rs->err);
}

static int fail_memory(request_state *rs)
{
    return sm_http_fail(&rs->err, 500, "InternalError", "out of memory");
}

/* A request's state is some 10 KiB (the error's fields): each worker
 * thread keeps the last one it finished for its next request, sparing the
 * allocator a large block (and the consolidation that comes with it)
 * per request. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static int spare_usable;

static void spare_key_make(void)
{
    spare_usable = pthread_key_create(&spare_key, free) == 0;
}

/* A zeroed state: the thread's spare, or a new one. */
static request_state *state_take(void)
{
    pthread_once(&spare_once, spare_key_make);
    request_state *rs = spare_usable ? pthread_getspecific(spare_key) : NULL;
    if (!rs)
        return calloc(1, sizeof *rs);
    pthread_setspecific(spare_key, NULL);
    memset(rs, 0, sizeof *rs);
    return rs;
}

/* Keep `rs` (its contents released) as the thread's spare, or free it. */
static void state_put(request_state *rs)
{
    if (spare_usable && !pthread_getspecific(spare_key) &&
        pthread_setspecific(spare_key, rs) == 0)
        return;
    free(rs);
}

static void state_free(request_state *rs)
{
    if (!rs)
        return;
    free(rs->target);
    sm_http_request_clear(&rs->req);
    sm_http_response_clear(&rs->resp);
    sm_buf_free(&rs->body);
    sm_buf_free(&rs->trailer);
    sm_store_blob_destroy(&rs->blob);
    EVP_MD_CTX_free(rs->sha256);
    EVP_MD_CTX_free(rs->md5);
    EVP_MD_CTX_free(rs->chunk_sha);
    sm_checksum_destroy(&rs->checksum);
    sm_chunked_destroy(&rs->chunked);
    OPENSSL_cleanse(rs->signing_key, sizeof rs->signing_key);
    state_put(rs);
}

/* ---- begin: line, headers, signature, plan ------------------------------ */

static enum MHD_Result header_add(void *cls, enum MHD_ValueKind kind,
                                  const char *name, const char *value)
{
    request_state *rs = cls;
    return sm_http_request_add_header(&rs->req, name, value ? value : "")
               ? MHD_NO
               : MHD_YES;
}

/* Who signed it, for which service; the route follows from the service. */
static int begin_auth(request_state *rs)
{
    sm_http_request *req = &rs->req;
    rs->protocol = sm_router_guess(req);
    if (sm_auth_parse(req, rs->protocol, &rs->auth, &rs->err))
        return -1;
    rs->route = sm_router_find(rs->auth.service);
    if (!rs->route)
        return sm_http_fail(&rs->err, 400, "InvalidAction",
                            "sagemagic-local does not offer the '%s' service "
                            "(yet)",
                            rs->auth.service);
    rs->protocol = rs->route->protocol;
    /* fields of the same sizes, NUL-terminated by sm_auth_parse */
    _Static_assert(sizeof req->service == sizeof rs->auth.service &&
                       sizeof req->region == sizeof rs->auth.region &&
                       sizeof req->access_key == sizeof rs->auth.access_key,
                   "the signer's fields fit the request's");
    memcpy(req->service, rs->auth.service, sizeof req->service);
    memcpy(req->region, rs->auth.region, sizeof req->region);
    memcpy(req->access_key, rs->auth.access_key, sizeof req->access_key);
    return sm_auth_check(&rs->server->keys, &rs->auth, req->now, rs->protocol,
                         &rs->err);
}

/* The payload hash the signature covers: checked now when the request
 * states it, else (services that hash the body) after the body. */
static int begin_signature(request_state *rs)
{
    const char *claimed = sm_http_header(&rs->req, "x-amz-content-sha256");
    int s3 = rs->protocol == SM_AUTH_S3;
    if (!claimed && s3 && rs->auth.presigned)
        claimed = "UNSIGNED-PAYLOAD";
    if (!claimed && s3)
        return fail_auth(rs, SM_AUTH_HASH_MISSING, NULL);
    if (claimed && !sm_auth_payload_hash_valid(claimed))
        return fail_auth(rs, SM_AUTH_HASH_INVALID, NULL);
    rs->claimed_hash = claimed;
    if (!claimed || strlen(claimed) == 64) {
        rs->sha256 = digest_new(md_sha256());
        if (!rs->sha256)
            return fail_memory(rs);
    }
    if (!claimed)
        return 0;
    return sm_auth_verify(&rs->server->keys, &rs->req, &rs->auth, claimed,
                          rs->protocol, &rs->err);
}

/* The declared size against the route's limit, before any byte. */
static int begin_size(request_state *rs)
{
    const char *declared =
        sm_http_header(&rs->req, "x-amz-decoded-content-length");
    if (!declared)
        declared = sm_http_header(&rs->req, "content-length");
    if (!declared)
        return 0;
    char *end = NULL;
    unsigned long long n = strtoull(declared, &end, 10);
    if (!*declared || *end)
        return sm_http_fail(&rs->err, 400, "InvalidArgument",
                            "The content length is not a number");
    if (n > rs->plan.limit) {
        sm_http_fail(&rs->err, rs->plan.too_large_status,
                     rs->plan.too_large_code, "%s", rs->plan.too_large_message);
        sm_http_error_extra(&rs->err, "ProposedSize", "%llu", n);
        sm_http_error_extra(&rs->err, "MaxSizeAllowed", "%llu",
                            (unsigned long long)rs->plan.limit);
        return -1;
    }
    return 0;
}

/* A flexible checksum to verify: stated in a header, or promised in the
 * aws-chunked trailer (X-Amz-Trailer). */
static int begin_checksum(request_state *rs)
{
    sm_checksum_algorithm alg = SM_CHECKSUM_NONE;
    for (size_t i = 0; i < rs->req.header_count && !alg; i++) {
        alg = sm_checksum_from_header(rs->req.headers[i].name);
        if (alg)
            snprintf(rs->checksum_claimed, sizeof rs->checksum_claimed, "%s",
                     rs->req.headers[i].value);
    }
    const char *trailer = sm_http_header(&rs->req, "x-amz-trailer");
    if (!alg && trailer) {
        alg = sm_checksum_from_header(trailer);
        rs->checksum_from_trailer = alg != SM_CHECKSUM_NONE;
    }
    if (alg && !(rs->checksum = sm_checksum_new(alg)))
        return fail_memory(rs);
    return 0;
}

static int chunk_data(void *ctx, const char *data, size_t len, sm_error *e);
static int chunk_end(void *ctx, uint64_t size, const char *signature,
                     sm_error *e);
static int chunk_trailer(void *ctx, const char *name, const char *value,
                         const char *line, sm_error *e);

/* aws-chunked bodies (x-amz-content-sha256 STREAMING-*): a decoder, and
 * the signing key when the chunks are signed. */
static int begin_chunked(request_state *rs)
{
    const char *claimed = rs->claimed_hash;
    if (!claimed || strncmp(claimed, "STREAMING-", 10) != 0)
        return 0;
    int unsigned_trailer =
        strcmp(claimed, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0;
    rs->chunks_signed =
        strcmp(claimed, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 0 ||
        strcmp(claimed, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == 0;
    rs->trailer_signed = rs->chunks_signed && strstr(claimed, "-TRAILER");
    if (!unsigned_trailer && !rs->chunks_signed)
        return sm_http_fail(&rs->err, 501, "NotImplemented",
                            "x-amz-content-sha256 %s is not offered by "
                            "sagemagic-local",
                            claimed);
    sm_chunked_sink sink = {chunk_data, chunk_end, chunk_trailer, rs};
    rs->chunked = sm_chunked_new(&sink);
    if (!rs->chunked)
        return fail_memory(rs);
    if (!rs->chunks_signed)
        return 0;
    rs->chunk_sha = digest_new(md_sha256());
    snprintf(rs->previous, sizeof rs->previous, "%s", rs->auth.signature);
    if (!rs->chunk_sha ||
        sm_auth_signing_key(&rs->server->keys, &rs->auth, rs->signing_key))
        return fail_memory(rs);
    return 0;
}

static int begin_sink(request_state *rs)
{
    if (sm_http_header(&rs->req, "content-md5") && !rs->plan.stream &&
        !(rs->md5 = digest_new(md_md5())))
        return fail_memory(rs);
    if (!rs->plan.stream)
        return 0;
    sm_error e = {0};
    rs->blob = sm_store_blob_new(rs->server->config.env->store, &e);
    if (!rs->blob) {
        sm_error("httpd: %s", e.message);
        return sm_http_fail(&rs->err, 500, "InternalError",
                            "We encountered an internal error: cannot store "
                            "the body.");
    }
    return 0;
}

static int request_begin(request_state *rs, struct MHD_Connection *conn,
                         const char *method)
{
    sm_http_request *req = &rs->req;
    req->op = -1;
    req->now = server_now(rs->server);
    sm_http_request_id(req->request_id);
    req->method = strdup(method);
    if (!req->method || sm_http_request_set_target(req, rs->target) ||
        MHD_get_connection_values(conn, MHD_HEADER_KIND, header_add, rs) < 0)
        return fail_memory(rs);
    int rc = begin_auth(rs);
    if (!rc)
        rc = begin_signature(rs);
    if (!rc)
        rc = rs->route->plan(rs->server->config.env, req, &rs->plan, &rs->err);
    if (!rc)
        rc = begin_size(rs);
    if (!rc)
        rc = begin_checksum(rs);
    if (!rc)
        rc = begin_chunked(rs);
    if (!rc)
        rc = begin_sink(rs);
    return rc;
}

/* ---- the body ----------------------------------------------------------- */

/* Decoded body bytes: counted, checksummed, kept. */
static int body_keep(request_state *rs, const char *data, size_t len)
{
    rs->decoded += len;
    if (rs->decoded > rs->plan.limit) {
        sm_http_fail(&rs->err, rs->plan.too_large_status,
                     rs->plan.too_large_code, "%s", rs->plan.too_large_message);
        sm_http_error_extra(&rs->err, "MaxSizeAllowed", "%llu",
                            (unsigned long long)rs->plan.limit);
        return -1;
    }
    if (rs->checksum)
        sm_checksum_update(rs->checksum, data, len);
    if (rs->md5)
        EVP_DigestUpdate(rs->md5, data, len);
    if (rs->blob) {
        sm_error e = {0};
        if (sm_store_blob_write(rs->blob, data, len, &e)) {
            sm_error("httpd: %s", e.message);
            return sm_http_fail(&rs->err, 500, "InternalError",
                                "We encountered an internal error: cannot "
                                "write the body.");
        }
        return 0;
    }
    return sm_buf_append(&rs->body, data, len) ? fail_memory(rs) : 0;
}

static int chunk_data(void *ctx, const char *data, size_t len, sm_error *e)
{
    request_state *rs = ctx;
    if (rs->chunk_sha)
        EVP_DigestUpdate(rs->chunk_sha, data, len);
    if (body_keep(rs, data, len))
        return sm_error_set(e, "%s", rs->err.message);
    return 0;
}

static int signature_matches(const char *expected, const char *given)
{
    return given && strlen(given) == 64 &&
           CRYPTO_memcmp(expected, given, 64) == 0;
}

static int chunk_end(void *ctx, uint64_t size, const char *signature,
                     sm_error *e)
{
    request_state *rs = ctx;
    if (!rs->chunks_signed)
        return 0;
    char chunk_hash[65], expected[65];
    digest_hex(rs->chunk_sha, chunk_hash);
    EVP_DigestInit_ex(rs->chunk_sha, md_sha256(), NULL);
    if (sm_auth_chunk_signature(rs->signing_key, &rs->auth, rs->previous,
                                chunk_hash, expected) ||
        !signature_matches(expected, signature)) {
        fail_auth(rs, SM_AUTH_BAD_SIGNATURE, "(a chunk's signature)");
        return sm_error_set(e, "a chunk signature does not match");
    }
    memcpy(rs->previous, expected, sizeof expected);
    return 0;
}

static int chunk_trailer(void *ctx, const char *name, const char *value,
                         const char *line, sm_error *e)
{
    request_state *rs = ctx;
    if (strcasecmp(name, "x-amz-trailer-signature") == 0) {
        char hash[65], expected[65];
        unsigned char md[32];
        unsigned int n = 0;
        EVP_Digest(rs->trailer.data ? rs->trailer.data : "", rs->trailer.len,
                   md, &n, md_sha256(), NULL);
        sm_hex(md, 32, hash);
        if (!rs->trailer_signed ||
            sm_auth_trailer_signature(rs->signing_key, &rs->auth, rs->previous,
                                      hash, expected) ||
            !signature_matches(expected, value)) {
            fail_auth(rs, SM_AUTH_BAD_SIGNATURE, "(the trailer's signature)");
            return sm_error_set(e, "the trailer signature does not match");
        }
        rs->trailer_verified = 1;
        return 0;
    }
    if (rs->checksum_from_trailer &&
        sm_checksum_from_header(name) == sm_checksum_algorithm_of(rs->checksum))
        snprintf(rs->checksum_claimed, sizeof rs->checksum_claimed, "%s",
                 value);
    /* The trailer signature covers each line as sent, ended by "\n". */
    if (sm_buf_printf(&rs->trailer, "%s\n", line))
        return sm_error_set(e, "out of memory");
    return 0;
}

static int body_feed(request_state *rs, const char *data, size_t len)
{
    rs->received += len;
    if (rs->sha256)
        EVP_DigestUpdate(rs->sha256, data, len);
    if (!rs->chunked)
        return body_keep(rs, data, len);
    sm_error e = {0};
    if (sm_chunked_feed(rs->chunked, data, len, &e))
        return sm_http_fail(&rs->err, 400, "IncompleteBody",
                            "The aws-chunked body cannot be decoded: %s",
                            e.message);
    return 0;
}

/* ---- finish: everything the body must agree with ------------------------ */

static int finish_chunked(request_state *rs)
{
    if (!rs->chunked)
        return 0;
    sm_error e = {0};
    if (sm_chunked_finish(rs->chunked, &e))
        return sm_http_fail(&rs->err, 400, "IncompleteBody",
                            "The aws-chunked body cannot be decoded: %s",
                            e.message);
    const char *declared =
        sm_http_header(&rs->req, "x-amz-decoded-content-length");
    if (declared && strtoull(declared, NULL, 10) != rs->decoded)
        return sm_http_fail(&rs->err, 400, "IncompleteBody",
                            "You did not provide the number of bytes "
                            "specified by the X-Amz-Decoded-Content-Length "
                            "HTTP header");
    if (rs->trailer_signed && !rs->trailer_verified)
        return fail_auth(rs, SM_AUTH_BAD_SIGNATURE,
                         "(the trailer carries no signature)");
    return 0;
}

/* The raw body's SHA-256 against the claim, or (services that sign the
 * body's hash) the signature over it. */
static int finish_hash(request_state *rs)
{
    if (!rs->sha256)
        return 0;
    char hash[65];
    digest_hex(rs->sha256, hash);
    if (!rs->claimed_hash)
        return sm_auth_verify(&rs->server->keys, &rs->req, &rs->auth, hash,
                              rs->protocol, &rs->err);
    if (strcmp(hash, rs->claimed_hash) != 0) {
        fail_auth(rs, SM_AUTH_HASH_MISMATCH, NULL);
        sm_http_error_extra(&rs->err, "ClientComputedContentSHA256", "%s",
                            rs->claimed_hash);
        sm_http_error_extra(&rs->err, "S3ComputedContentSHA256", "%s", hash);
        return -1;
    }
    return 0;
}

static int finish_checksum(request_state *rs)
{
    if (!rs->checksum)
        return 0;
    sm_checksum_algorithm alg = sm_checksum_algorithm_of(rs->checksum);
    char computed[SM_CHECKSUM_B64_MAX];
    if (sm_checksum_final(rs->checksum, computed))
        return fail_memory(rs);
    if (!rs->checksum_claimed[0])
        return sm_http_fail(&rs->err, 400, "InvalidRequest",
                            "The trailer promised %s but did not carry it",
                            sm_checksum_header(alg));
    if (strcmp(computed, rs->checksum_claimed) != 0)
        return sm_http_fail(&rs->err, 400, "BadDigest",
                            "The %s you specified did not match the "
                            "calculated checksum.",
                            sm_checksum_name(alg));
    rs->req.checksum_algorithm = alg;
    memcpy(rs->req.checksum, computed, sizeof computed);
    return 0;
}

static int finish_md5(request_state *rs, const unsigned char md5[16])
{
    const char *given = sm_http_header(&rs->req, "content-md5");
    if (!given)
        return 0;
    unsigned char want[32];
    size_t n = 0;
    if (sodium_base642bin(want, sizeof want, given, strlen(given), NULL, &n,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != 16)
        return sm_http_fail(&rs->err, 400, "InvalidDigest",
                            "The Content-MD5 you specified was invalid.");
    if (memcmp(want, md5, 16) != 0)
        return sm_http_fail(&rs->err, 400, "BadDigest",
                            "The Content-MD5 you specified did not match "
                            "what we received.");
    return 0;
}

/* The body in place for the handler: a finished blob, or the buffer. */
static int finish_body(request_state *rs)
{
    unsigned char md5[16];
    if (rs->blob) {
        sm_error e = {0};
        if (sm_store_blob_finish(rs->blob, md5, &e)) {
            sm_error("httpd: %s", e.message);
            return sm_http_fail(&rs->err, 500, "InternalError",
                                "We encountered an internal error: cannot "
                                "store the body.");
        }
        rs->req.blob = rs->blob;
        memcpy(rs->req.body_md5, md5, 16);
        rs->req.body_md5_known = 1;
    } else if (rs->md5) {
        unsigned int n = 0;
        EVP_DigestFinal_ex(rs->md5, md5, &n);
    }
    rs->req.body = rs->body.data ? rs->body.data : "";
    rs->req.body_len = rs->body.len;
    return rs->blob || rs->md5 ? finish_md5(rs, md5) : 0;
}

/* What the body must agree with, known without the disk. */
static int request_check(request_state *rs)
{
    int rc = finish_chunked(rs);
    if (!rc)
        rc = finish_hash(rs);
    if (!rc)
        rc = finish_checksum(rs);
    return rc;
}

/* The body made durable and handed to the route (for a streamed body:
 * the fsync, then the handler's rename and commit). */
static int request_complete(request_state *rs)
{
    int rc = finish_body(rs);
    if (!rc)
        rc = rs->route->handle(rs->server->config.env, &rs->req, &rs->resp,
                               &rs->err);
    return rc;
}

/* ---- finishers ---------------------------------------------------------- */

/* A streamed body's finish waits on the disk (about 3 ms for an 8 MiB
 * part), and a copy reads and writes a whole object: done on a request
 * thread, either held up every connection that thread serves. The
 * connection is suspended instead and a finisher resumes it with the
 * result, which is then replied as before. */
static void *finisher_main(void *arg)
{
    finishers *fin = arg;
    for (;;) {
        pthread_mutex_lock(&fin->lock);
        while (!fin->head && !fin->stopping)
            pthread_cond_wait(&fin->wake, &fin->lock);
        request_state *rs = fin->head;
        if (rs && !(fin->head = rs->next))
            fin->tail = NULL;
        pthread_mutex_unlock(&fin->lock);
        if (!rs)
            return NULL; /* stopping, and nothing left */
        request_complete(rs);
        struct MHD_Connection *conn = rs->conn;
        atomic_store(&rs->finished, 1);
        MHD_resume_connection(conn); /* rs may be freed from here on */
    }
}

static void finishers_start(finishers *fin)
{
    pthread_mutex_init(&fin->lock, NULL);
    pthread_cond_init(&fin->wake, NULL);
    while (fin->count < FINISHERS &&
           pthread_create(&fin->threads[fin->count], NULL, finisher_main,
                          fin) == 0)
        fin->count++;
}

/* Finish what is queued, then end the threads: no connection stays
 * suspended, and every body acknowledged was committed. */
static void finishers_stop(finishers *fin)
{
    pthread_mutex_lock(&fin->lock);
    fin->stopping = 1;
    pthread_cond_broadcast(&fin->wake);
    pthread_mutex_unlock(&fin->lock);
    for (size_t i = 0; i < fin->count; i++)
        pthread_join(fin->threads[i], NULL);
    pthread_cond_destroy(&fin->wake);
    pthread_mutex_destroy(&fin->lock);
}

/* Hand `rs` to a finisher and suspend its connection: 1; or 0 when the
 * finish is to be done here (nothing slow to do, no finisher, or they
 * are stopping). */
static int finish_later(request_state *rs, struct MHD_Connection *conn)
{
    finishers *fin = &rs->server->fin;
    if ((!rs->blob && !rs->plan.slow) || !fin->count)
        return 0;
    pthread_mutex_lock(&fin->lock);
    int taken = !fin->stopping;
    if (taken) {
        rs->conn = conn;
        rs->next = NULL;
        rs->phase = PHASE_FINISHING;
        MHD_suspend_connection(conn); /* before a finisher can resume it */
        if (fin->tail)
            fin->tail->next = rs;
        else
            fin->head = rs;
        fin->tail = rs;
        pthread_cond_signal(&fin->wake);
    }
    pthread_mutex_unlock(&fin->lock);
    return taken;
}

/* The end of the body: checked here; finished here or by a finisher.
 * The write under way is collected first, on the thread whose ring
 * made it. */
static int body_end(request_state *rs, struct MHD_Connection *conn)
{
    if (request_check(rs))
        return 0;
    if (rs->blob) {
        sm_error e = {0};
        if (sm_store_blob_settle(rs->blob, &e)) {
            sm_error("httpd: %s", e.message);
            sm_http_fail(&rs->err, 500, "InternalError",
                         "We encountered an internal error: cannot store "
                         "the body.");
            return 0;
        }
    }
    if (finish_later(rs, conn))
        return 1;
    request_complete(rs);
    return 0;
}

/* ---- reply -------------------------------------------------------------- */

static ssize_t reader_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    sm_http_response *resp = cls;
    if (pos >= resp->length)
        return MHD_CONTENT_READER_END_OF_STREAM;
    uint64_t left = resp->length - pos;
    ssize_t n = sm_store_reader_read(resp->reader, resp->offset + pos, buf,
                                     max < left ? max : (size_t)left);
    return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void reader_free(void *cls)
{
    sm_http_response *resp = cls;
    sm_http_response_clear(resp);
    free(resp);
}

/* The MHD response for the body of `resp`: a stored object's bytes
 * (sendfile for a one-file object), or the buffer. */
static struct MHD_Response *body_response(sm_http_response *resp)
{
    int fd;
    if (resp->reader && sm_store_reader_fd(resp->reader, &fd) == 0) {
        int copy = dup(fd);
        struct MHD_Response *r = copy < 0
                                     ? NULL
                                     : MHD_create_response_from_fd_at_offset64(
                                           resp->length, copy, resp->offset);
        if (!r && copy >= 0)
            close(copy);
        return r;
    }
    if (resp->reader) {
        sm_http_response *owned = malloc(sizeof *owned);
        if (!owned)
            return NULL;
        *owned = (sm_http_response){0};
        owned->reader = resp->reader;
        owned->offset = resp->offset;
        owned->length = resp->length;
        resp->reader = NULL;
        struct MHD_Response *r = MHD_create_response_from_callback(
            owned->length, READ_BLOCK, reader_read, owned, reader_free);
        if (!r)
            reader_free(owned);
        return r;
    }
    size_t len = resp->body.len;
    char *data = sm_buf_take(&resp->body);
    struct MHD_Response *r =
        data ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE)
             : NULL;
    if (!r)
        free(data);
    return r;
}

static enum MHD_Result reply(request_state *rs, struct MHD_Connection *conn)
{
    sm_http_response *resp = &rs->resp;
    if (rs->err.status) {
        sm_router_render_error(rs->protocol, &rs->req, &rs->err, resp);
    } else {
        sm_router_stamp(rs->protocol, &rs->req, resp);
        if (!resp->status)
            resp->status = 200;
    }
    rs->phase = PHASE_REPLIED;
    struct MHD_Response *r = body_response(resp);
    if (!r)
        return MHD_NO;
    for (size_t i = 0; i < resp->header_count; i++)
        MHD_add_response_header(r, resp->headers[i].name,
                                resp->headers[i].value);
    MHD_add_response_header(r, "Server", "sagemagic-local");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    const char *op = rs->route && rs->route->operation
                         ? rs->route->operation(&rs->req)
                         : NULL;
    if (!op)
        op = rs->req.service[0] ? rs->req.service : "unsigned";
    if (resp->status >= 500)
        sm_error("%s %s (%s) -> %d %s: %s", rs->req.method, rs->req.path, op,
                 resp->status, rs->err.code, rs->err.message);
    else
        sm_debug("%s %s (%s) -> %d %s", rs->req.method, rs->req.path, op,
                 resp->status, rs->err.code);
    return ok;
}

/* ---- libmicrohttpd callbacks -------------------------------------------- */

/* Called with the request target as received, before MHD parses it: the
 * one place the raw path and query (which the signature covers) exist. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    sm_httpd *self = cls;
    request_state *rs = state_take();
    if (rs) {
        rs->server = self;
        rs->target = strdup(uri ? uri : "/");
        atomic_fetch_add(&self->in_flight, 1);
    }
    return rs;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    sm_httpd *self = cls;
    request_state *rs = *con_cls;
    if (!rs)
        return;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        sm_debug("httpd: %s %s ended early (%d)",
                 rs->req.method ? rs->req.method : "?", rs->target, (int)toe);
    state_free(rs);
    *con_cls = NULL;
    atomic_fetch_sub(&self->in_flight, 1);
}

/* Keep %-escapes as they came: the signature covers the wire form. */
static size_t unescape_none(void *cls, struct MHD_Connection *conn, char *s)
{
    return strlen(s);
}

/* A request refused before its body: answer now when no body follows
 * (none was sent, or the client waits for 100-continue); else read a
 * small body first, so the client gets the answer and not a reset. */
static enum MHD_Result refuse_early(request_state *rs,
                                    struct MHD_Connection *conn)
{
    const char *length = sm_http_header(&rs->req, "content-length");
    const char *expect = sm_http_header(&rs->req, "expect");
    int chunked = sm_http_header(&rs->req, "transfer-encoding") != NULL;
    unsigned long long n = length ? strtoull(length, NULL, 10) : 0;
    if ((expect && strcasecmp(expect, "100-continue") == 0) ||
        (!chunked && n == 0) || n > DISCARD_MAX)
        return reply(rs, conn);
    rs->phase = PHASE_DISCARD;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    request_state *rs = *con_cls;
    if (!rs || !rs->target)
        return MHD_NO;
    size_t n = *upload_size;
    *upload_size = 0;
    switch (rs->phase) {
    case PHASE_NEW:
        rs->phase = PHASE_BODY;
        return request_begin(rs, conn, method) ? refuse_early(rs, conn)
                                               : MHD_YES;
    case PHASE_BODY:
        if (n) {
            if (body_feed(rs, upload, n))
                rs->phase = PHASE_DISCARD;
            return MHD_YES;
        }
        return body_end(rs, conn) ? MHD_YES : reply(rs, conn);
    case PHASE_FINISHING:
        return atomic_load(&rs->finished) ? reply(rs, conn) : MHD_YES;
    case PHASE_DISCARD:
        rs->discarded += n;
        if (rs->discarded > DISCARD_MAX)
            return MHD_NO; /* enough: close the connection */
        return n ? MHD_YES : reply(rs, conn);
    default:
        return MHD_YES; /* replied already: the rest is dropped */
    }
}

static void on_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    sm_debug("libmicrohttpd: %s", line);
}

/* ---- the server --------------------------------------------------------- */

static int address_make(const char *host, int port,
                        struct sockaddr_storage *out, unsigned *flags)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *flags |= MHD_USE_IPv6;
        return 0;
    }
    return -1;
}

/* Two epoll threads per core. Training and model loading run elsewhere,
 * but a request body waits on the disk (its O_DIRECT writes, before they
 * went through io_uring and its finish went to the finishers): with one
 * thread per core, the connections of a thread that waits wait with it
 * while its core idles. Two per core kept both
 * cores busy through a 1 GiB upload (20 % less wall time on a shared
 * machine) and left InvokeEndpoint as fast (bench/RESULTS.md). */
static unsigned thread_pool_size(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 1 ? 2u * (unsigned)cores : 2u;
}

sm_httpd *sm_httpd_start(const sm_httpd_config *config, sm_error *err)
{
    struct sockaddr_storage addr;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (config->port < 0 || config->port > 65535 ||
        address_make(config->host, config->port, &addr, &flags)) {
        sm_error_set(err,
                     "cannot listen on %s port %d: not an IP address "
                     "and port",
                     config->host, config->port);
        return NULL;
    }
    sm_httpd *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->keys = (sm_auth_keys){config->env->access_key, config->secret_key};
    atomic_init(&self->in_flight, 0);
    finishers_start(&self->fin);
    self->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, self, MHD_OPTION_EXTERNAL_LOGGER,
        on_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, self, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, self, MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_PER_CONNECTION,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size(), MHD_OPTION_END);
    if (!self->daemon) {
        sm_error_set(err, "cannot listen on %s port %d (is it in use?)",
                     config->host, config->port);
        finishers_stop(&self->fin);
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : config->port;
    return self;
}

int sm_httpd_port(const sm_httpd *self)
{
    return self->port;
}

size_t sm_httpd_in_flight(const sm_httpd *self)
{
    return atomic_load(&self->in_flight);
}

void sm_httpd_stop(sm_httpd **self, int grace_ms)
{
    sm_httpd *s = *self;
    if (!s)
        return;
    MHD_socket listener = MHD_quiesce_daemon(s->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    for (int waited = 0; waited < grace_ms && sm_httpd_in_flight(s) > 0;
         waited += 20)
        usleep(20 * 1000);
    if (sm_httpd_in_flight(s) > 0)
        sm_warn("httpd: stopping with %zu requests still in flight",
                sm_httpd_in_flight(s));
    finishers_stop(&s->fin);
    MHD_stop_daemon(s->daemon);
    free(s);
    *self = NULL;
}
