/* aws: every call is one pipeline: headers and URL, credentials, SigV4,
 * transport; then a 2xx, or an error that the standard retry policy (and
 * the clock-skew rule) may send round again. */
#include "aws.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws_error.h"
#include "awstime.h"
#include "buf.h"
#include "credentials.h"
#include "endpoint.h"
#include "log.h"
#include "profile.h"
#include "retry.h"
#include "sha256.h"
#include "sigv4.h"
#include "sts.h"
#include "transport.h"

#define USER_AGENT "sagemagic/0.1"
#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_READ_MS 70000
/* kept open: as many as an S3 transfer's parts in flight */
#define DEFAULT_CONNECTIONS 16
#define MAX_ATTEMPTS_LIMIT 50
#define BACKOFF_SLICE_MS 100 /* a stoppable call looks this often */

struct sm_aws {
    char region[SM_REGION_MAX];
    char endpoints[SM_AWS_SERVICE_COUNT][SM_ENDPOINT_URL_MAX];
    sm_endpoint_parts parts[SM_AWS_SERVICE_COUNT];
    char *endpoint_url; /* as configured: a role's STS client reuses it */
    char *profile;      /* the profile in use */
    sm_profiles *profiles;
    sm_transport *http;
    sm_credentials_provider *creds;
    sm_aws_seams seams;  /* as given: passed on to a role's STS client */
    sm_aws_seams active; /* with the real ones filled in */
    int max_attempts, max_connections;
    long connect_timeout_ms, read_timeout_ms;
    pthread_mutex_t lock; /* quota and skew */
    sm_retry_quota quota;
    long skew_s; /* add to the local clock to get the services' */
};

/* ---- the real seams --------------------------------------------------------
 */

static time_t real_now(void *ctx)
{
    return time(NULL);
}

static void real_sleep(void *ctx, long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static double real_random(void *ctx)
{
    return randombytes_uniform(1u << 30) / (double)(1u << 30);
}

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- configuration ----------------------------------------------------------
 */

/* A whole number from `text` (NULL: unset, 1) into *out within [min, max];
 * -1 with `err` naming `what` when it is not one. */
static int number_from(const char *text, const char *what, long min, long max,
                       long *out, sm_error *err)
{
    char *end = NULL;
    if (!text || !*text)
        return 1;
    long v = strtol(text, &end, 10);
    if (*end || v < min || v > max)
        return sm_error_set(err, "%s must be a whole number from %ld to %ld",
                            what, min, max);
    *out = v;
    return 0;
}

static int settings(sm_aws *self, const sm_aws_config *config, sm_error *err)
{
    long attempts = SM_RETRY_DEFAULT_ATTEMPTS, connect = DEFAULT_CONNECT_MS,
         read = DEFAULT_READ_MS;
    int rc = number_from(getenv("AWS_MAX_ATTEMPTS"), "AWS_MAX_ATTEMPTS", 1,
                         MAX_ATTEMPTS_LIMIT, &attempts, err);
    if (rc == 1)
        rc = number_from(
            sm_profiles_get(self->profiles, self->profile, "max_attempts"),
            "the profile's max_attempts", 1, MAX_ATTEMPTS_LIMIT, &attempts,
            err);
    if (rc >= 0)
        rc = number_from(getenv("SAGEMAGIC_CONNECT_TIMEOUT_MS"),
                         "SAGEMAGIC_CONNECT_TIMEOUT_MS", 1, 3600000, &connect,
                         err);
    if (rc >= 0)
        rc = number_from(getenv("SAGEMAGIC_READ_TIMEOUT_MS"),
                         "SAGEMAGIC_READ_TIMEOUT_MS", 1, 86400000, &read, err);
    if (rc < 0)
        return -1;
    self->max_attempts =
        config->max_attempts > 0 ? config->max_attempts : (int)attempts;
    self->connect_timeout_ms =
        config->connect_timeout_ms > 0 ? config->connect_timeout_ms : connect;
    self->read_timeout_ms =
        config->read_timeout_ms > 0 ? config->read_timeout_ms : read;
    self->max_connections = config->max_connections > 0
                                ? config->max_connections
                                : DEFAULT_CONNECTIONS;
    return 0;
}

static int endpoints_resolve(sm_aws *self, const sm_aws_config *config,
                             sm_error *err)
{
    for (int s = 0; s < SM_AWS_SERVICE_COUNT; s++) {
        int overridden = 0;
        if (sm_endpoint_url((sm_aws_service)s, self->region,
                            config->endpoint_url, self->profiles, self->profile,
                            self->endpoints[s], &overridden, err) ||
            sm_endpoint_split(self->endpoints[s], &self->parts[s], err))
            return -1;
        sm_debug("%s endpoint %s%s",
                 sm_aws_service_info_get((sm_aws_service)s)->name,
                 self->endpoints[s], overridden ? " (configured)" : "");
    }
    return 0;
}

static int assume_role(void *ctx, const sm_credentials *source,
                       const sm_assume_role *role, sm_credentials *out,
                       sm_error *err);

static int credentials_setup(sm_aws *self, const sm_aws_config *config,
                             sm_error *err)
{
    sm_credentials_config cc = {
        .access_key = config->access_key,
        .secret_key = config->secret_key,
        .session_token = config->session_token,
        .profile = config->profile,
        .profiles = self->profiles,
        .http = self->http,
        .assume_role = assume_role,
        .assume_role_ctx = self,
        .now = self->active.now,
        .now_ctx = self->active.ctx,
    };
    self->creds = sm_credentials_provider_new(&cc, err);
    return self->creds ? 0 : -1;
}

static int client_setup(sm_aws *self, const sm_aws_config *config,
                        sm_error *err)
{
    const char *profile = sm_profile_name(config->profile);
    int rc =
        sodium_init() < 0 ? sm_error_set(err, "libsodium did not start") : 0;
    if (!rc && (!(self->profile = strdup(profile)) ||
                (config->endpoint_url &&
                 !(self->endpoint_url = strdup(config->endpoint_url)))))
        rc = sm_error_set(err, "out of memory");
    if (!rc && !(self->profiles = sm_profiles_load(err)))
        rc = -1;
    if (!rc)
        rc = sm_endpoint_region(config->region, self->profiles, self->profile,
                                self->region, err);
    if (!rc)
        rc = endpoints_resolve(self, config, err);
    if (!rc)
        rc = settings(self, config, err);
    if (!rc && !(self->http = sm_transport_new(self->max_connections, err)))
        rc = -1;
    if (!rc)
        rc = credentials_setup(self, config, err);
    return rc;
}

sm_aws *sm_aws_new(const sm_aws_config *config, sm_aws_error *err)
{
    sm_aws_error scratch;
    sm_error e = {{0}};
    sm_aws_config none = {0};
    if (!err)
        err = &scratch;
    if (!config)
        config = &none;
    memset(err, 0, sizeof *err);
    snprintf(err->operation, sizeof err->operation, "configure");
    sm_aws *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    sm_retry_quota_init(&self->quota);
    self->seams = config->seams;
    self->active = config->seams;
    if (!self->active.now)
        self->active.now = real_now;
    if (!self->active.sleep_ms)
        self->active.sleep_ms = real_sleep;
    if (!self->active.random)
        self->active.random = real_random;
    if (client_setup(self, config, &e)) {
        sm_aws_error_copy(err->message, sizeof err->message, e.message);
        sm_aws_destroy(&self);
        return NULL;
    }
    err->operation[0] = '\0';
    return self;
}

void sm_aws_destroy(sm_aws **self)
{
    if (!self || !*self)
        return;
    sm_aws *a = *self;
    sm_credentials_provider_destroy(&a->creds);
    sm_transport_destroy(&a->http);
    sm_profiles_destroy(&a->profiles);
    free(a->endpoint_url);
    free(a->profile);
    pthread_mutex_destroy(&a->lock);
    free(a);
    *self = NULL;
}

const char *sm_aws_region(const sm_aws *self)
{
    return self->region;
}

const char *sm_aws_endpoint(const sm_aws *self, sm_aws_service service)
{
    if ((int)service < 0 || service >= SM_AWS_SERVICE_COUNT)
        return NULL;
    return self->endpoints[service];
}

int sm_aws_payload_may_be_unsigned(const sm_aws *self, sm_aws_service service)
{
    if ((int)service < 0 || service >= SM_AWS_SERVICE_COUNT)
        return 0;
    const sm_endpoint_parts *p = &self->parts[service];
    return p->https || strcmp(p->host, "localhost") == 0 ||
           strncmp(p->host, "127.", 4) == 0 || strcmp(p->host, "[::1]") == 0;
}

/* A role's credentials through a client of its own that holds the source
 * credentials, with the same region, endpoints and seams. */
static int assume_role(void *ctx, const sm_credentials *source,
                       const sm_assume_role *role, sm_credentials *out,
                       sm_error *err)
{
    sm_aws *self = ctx;
    sm_aws_config cfg = {
        .region = self->region,
        .profile = self->profile,
        .endpoint_url = self->endpoint_url,
        .access_key = source->access_key,
        .secret_key = source->secret_key,
        .session_token = source->session_token,
        .max_attempts = self->max_attempts,
        .connect_timeout_ms = self->connect_timeout_ms,
        .read_timeout_ms = self->read_timeout_ms,
        .max_connections = 1,
        .seams = self->seams,
    };
    sm_aws_error aerr;
    sm_aws *sts = sm_aws_new(&cfg, &aerr);
    if (!sts)
        return sm_error_set(err, "%s", aerr.message);
    int rc = sm_sts_assume_role(sts, role, out, err);
    sm_aws_destroy(&sts);
    return rc;
}

/* ---- one call ---------------------------------------------------------------
 */

/* Everything about a call that stays the same from attempt to attempt. */
typedef struct call {
    const sm_aws_service_info *info;
    const char *operation;
    const char *method, *path, *query;
    const sm_aws_header *headers;
    size_t header_count;
    const void *body;
    size_t body_len;
    const char *body_file;
    uint64_t body_offset;
    const char *payload_hash;
    const char *response_file;
    int response_fd;
    uint64_t response_offset, response_max;
    int (*progress)(void *ctx, uint64_t sent, uint64_t received);
    void *progress_ctx;
    char *url;       /* new: the endpoint, path and query */
    char *full_path; /* new: the endpoint's base path and the path */
    char file_hash[65];
} call;

static int hash_file_range(call *c, sm_error *err)
{
    unsigned char md[SM_SHA256_SIZE], chunk[65536];
    sm_sha256 st;
    FILE *f = fopen(c->body_file, "rb");
    uint64_t left = c->body_len;
    int ok = f && fseeko(f, (off_t)c->body_offset, SEEK_SET) == 0;
    sm_sha256_init(&st);
    while (ok && left) {
        size_t want = left < sizeof chunk ? (size_t)left : sizeof chunk;
        ok = fread(chunk, 1, want, f) == want;
        if (ok)
            sm_sha256_update(&st, chunk, want);
        left -= want;
    }
    sm_sha256_final(&st, md);
    for (size_t i = 0; ok && i < sizeof md; i++)
        snprintf(c->file_hash + 2 * i, 3, "%02x", md[i]);
    if (f)
        fclose(f);
    return ok ? 0 : sm_error_set(err, "cannot read %s", c->body_file);
}

static int call_prepare(sm_aws *self, call *c, sm_error *err)
{
    const sm_endpoint_parts *p = &self->parts[c->info->service];
    sm_buf url = {0}, path = {0};
    int rc = sm_buf_printf(&path, "%s%s", p->base_path, c->path);
    rc = rc ? rc
            : sm_buf_printf(&url, "%s://%s%s%s%s", p->https ? "https" : "http",
                            p->authority, sm_buf_str(&path),
                            c->query && *c->query ? "?" : "",
                            c->query ? c->query : "");
    if (rc) {
        sm_buf_free(&url);
        sm_buf_free(&path);
        return sm_error_set(err, "out of memory");
    }
    c->url = sm_buf_take(&url);
    c->full_path = sm_buf_take(&path);
    if (c->body_file && !c->payload_hash) {
        if (hash_file_range(c, err))
            return -1;
        c->payload_hash = c->file_hash;
    }
    return 0;
}

/* Signed headers for one attempt: the call's, Host, then what signing
 * adds, then User-Agent. All borrowed from `c`, `self` and `sig`. */
static sm_transport_header *attempt_headers(const sm_aws *self, const call *c,
                                            const sm_sigv4_result *sig,
                                            size_t *n)
{
    sm_transport_header *h = calloc(c->header_count + 6, sizeof *h);
    sm_sigv4_header added[4];
    size_t count = 0, extra = sm_sigv4_result_headers(sig, added);
    if (!h)
        return NULL;
    for (size_t i = 0; i < c->header_count; i++)
        h[count++] =
            (sm_transport_header){c->headers[i].name, c->headers[i].value};
    h[count++] =
        (sm_transport_header){"Host", self->parts[c->info->service].authority};
    for (size_t i = 0; i < extra; i++)
        h[count++] = (sm_transport_header){added[i].name, added[i].value};
    h[count++] = (sm_transport_header){"User-Agent", USER_AGENT};
    *n = count;
    return h;
}

static int attempt_sign(sm_aws *self, const call *c,
                        const sm_credentials *creds, time_t when,
                        sm_sigv4_result *sig, sm_error *err)
{
    sm_sigv4_header *h = calloc(c->header_count + 1, sizeof *h);
    if (!h)
        return sm_error_set(err, "out of memory");
    for (size_t i = 0; i < c->header_count; i++)
        h[i] = (sm_sigv4_header){c->headers[i].name, c->headers[i].value};
    h[c->header_count] =
        (sm_sigv4_header){"Host", self->parts[c->info->service].authority};
    sm_sigv4_request req = {
        .method = c->method,
        .path = c->full_path,
        .query = c->query,
        .headers = h,
        .header_count = c->header_count + 1,
        .body = c->body_file ? NULL : c->body,
        .body_len = c->body_file ? 0 : c->body_len,
        .payload_hash = c->payload_hash,
        .region = self->region,
        .service = c->info->signing_name,
        .credentials = {creds->access_key, creds->secret_key,
                        creds->session_token},
        .time = when,
        .options = sm_sigv4_options_for(c->info->signing_name),
    };
    int rc = sm_sigv4_sign(&req, sig, err);
    free(h);
    return rc;
}

/* One signed exchange; an sm_transport_result. */
static int attempt_send(sm_aws *self, const call *c,
                        const sm_credentials *creds,
                        sm_transport_response *resp, sm_error *err)
{
    sm_sigv4_result sig = {0};
    size_t n = 0;
    sm_transport_header *headers = NULL;
    pthread_mutex_lock(&self->lock);
    time_t when = self->active.now(self->active.ctx) + self->skew_s;
    pthread_mutex_unlock(&self->lock);
    int rc = attempt_sign(self, c, creds, when, &sig, err) ? SM_TRANSPORT_EFATAL
                                                           : SM_TRANSPORT_OK;
    if (rc == SM_TRANSPORT_OK &&
        !(headers = attempt_headers(self, c, &sig, &n))) {
        sm_error_set(err, "out of memory");
        rc = SM_TRANSPORT_EFATAL;
    }
    if (rc == SM_TRANSPORT_OK) {
        sm_transport_request req = {
            .method = c->method,
            .url = c->url,
            .headers = headers,
            .header_count = n,
            .body = c->body,
            .body_len = c->body_len,
            .body_file = c->body_file,
            .body_offset = c->body_offset,
            .response_file = c->response_file,
            .response_fd = c->response_fd,
            .response_offset = c->response_offset,
            .response_max = c->response_max,
            .progress = c->progress,
            .progress_ctx = c->progress_ctx,
            .connect_timeout_ms = self->connect_timeout_ms,
            .read_timeout_ms = self->read_timeout_ms,
        };
        memset(resp, 0, sizeof *resp);
        rc = self->active.send
                 ? self->active.send(self->active.ctx, &req, resp, err)
                 : (int)sm_transport_send(self->http, &req, resp, err);
    }
    free(headers);
    sm_sigv4_result_clear(&sig);
    return rc;
}

/* ---- what an attempt's outcome means ------------------------------------- */

/* A view of an http response as an sm_aws_response (nothing copied). */
static sm_aws_header *response_view(const sm_transport_response *r,
                                    sm_aws_response *view)
{
    sm_aws_header *h = calloc(r->header_count + 1, sizeof *h);
    for (size_t i = 0; h && i < r->header_count; i++)
        h[i] = (sm_aws_header){r->headers[i].name, r->headers[i].value};
    *view = (sm_aws_response){.status = r->status,
                              .headers = h,
                              .header_count = h ? r->header_count : 0,
                              .body = r->body.data,
                              .body_len = r->body.len,
                              .body_written = r->body_written};
    return h;
}

/* Replace every copy of `secret` in `s` with asterisks. */
static void scrub(char *s, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    char *at;
    while (n >= 8 && (at = strstr(s, secret)) != NULL)
        memset(at, '*', n);
}

static sm_retry_transport transport_kind(int result)
{
    switch (result) {
    case SM_TRANSPORT_OK:
        return SM_RETRY_GOT_RESPONSE;
    case SM_TRANSPORT_ECONNECT:
        return SM_RETRY_CONNECT_ERROR;
    case SM_TRANSPORT_ETIMEOUT:
        return SM_RETRY_TIMED_OUT;
    default:
        return SM_RETRY_FATAL_ERROR;
    }
}

/* After a clock-skew error: take the offset from the Date header. Nonzero
 * when it changed, so that signing again can help. */
static int skew_correct(sm_aws *self, const sm_transport_response *resp)
{
    time_t server;
    const char *date = sm_transport_response_header(resp, "date");
    if (!date || sm_awstime_parse_http(date, &server))
        return 0;
    pthread_mutex_lock(&self->lock);
    long diff = (long)(server - self->active.now(self->active.ctx));
    long skew = labs(diff) > SM_RETRY_SKEW_LIMIT ? diff : 0;
    int changed = skew != self->skew_s;
    self->skew_s = skew;
    pthread_mutex_unlock(&self->lock);
    if (changed)
        sm_warn("the local clock is %ld s off the service's; signing with "
                "the service's time",
                diff);
    return changed;
}

/* Fill `err` from an error response and classify it. */
static sm_retry_kind response_failed(sm_aws *self, const call *c,
                                     const sm_transport_response *resp,
                                     const sm_credentials *creds,
                                     sm_aws_error *err)
{
    sm_aws_response view;
    sm_aws_header *h = response_view(resp, &view);
    sm_aws_error_from_response(c->info->protocol, &view, err);
    free(h);
    scrub(err->message, creds->secret_key);
    scrub(err->message, creds->session_token);
    if (strncmp(err->code, "ExpiredToken", 12) == 0)
        sm_credentials_provider_invalidate(self->creds);
    return sm_retry_classify(SM_RETRY_GOT_RESPONSE, resp->status, err->code);
}

/* The error of a call its progress callback stopped. */
static void interrupted(sm_aws_error *err)
{
    err->http_status = 0;
    err->request_id[0] = '\0';
    sm_aws_error_copy(err->code, sizeof err->code, SM_AWS_ERR_INTERRUPTED);
    sm_aws_error_copy(err->message, sizeof err->message,
                      "stopped by the caller");
}

/* Sleep `ms` before the next attempt; a call that can be stopped sleeps in
 * slices and asks its progress callback before each and after the last.
 * Nonzero when it said stop. */
static int backoff_sleep(sm_aws *self, const call *c, long ms)
{
    if (!c->progress) {
        self->active.sleep_ms(self->active.ctx, ms);
        return 0;
    }
    for (;;) {
        if (c->progress(c->progress_ctx, 0, 0))
            return 1;
        if (ms <= 0)
            return 0;
        long slice = ms < BACKOFF_SLICE_MS ? ms : BACKOFF_SLICE_MS;
        self->active.sleep_ms(self->active.ctx, slice);
        ms -= slice;
    }
}

/* Wait before the next attempt, when the policy and the quota allow one.
 * Returns the tokens taken, or 0 for "give up" (`err` says Interrupted
 * when the progress callback stopped the call during the wait). */
static int retry_wait(sm_aws *self, const call *c, int attempt,
                      sm_retry_kind kind, sm_aws_error *err)
{
    if (kind == SM_RETRY_NONE || attempt >= self->max_attempts) {
        if (kind != SM_RETRY_NONE)
            sm_info("%s: giving up after %d attempts", c->operation, attempt);
        return 0;
    }
    pthread_mutex_lock(&self->lock);
    int taken = sm_retry_quota_acquire(&self->quota, kind);
    pthread_mutex_unlock(&self->lock);
    if (!taken) {
        sm_info("%s: the retry quota is spent; not retrying", c->operation);
        return 0;
    }
    long ms = sm_retry_delay_ms(attempt, self->active.random(self->active.ctx));
    sm_info("%s: %s; attempt %d of %d in %ld ms", c->operation,
            err->code[0] ? err->code : err->message, attempt + 1,
            self->max_attempts, ms);
    if (backoff_sleep(self, c, ms)) {
        interrupted(err);
        return 0;
    }
    return taken;
}

/* Move an http response into an sm_aws_response. */
static int response_take(sm_transport_response *from, sm_aws_response *to)
{
    memset(to, 0, sizeof *to);
    to->headers = calloc(from->header_count + 1, sizeof *to->headers);
    if (!to->headers)
        return -1;
    for (size_t i = 0; i < from->header_count; i++)
        to->headers[i] =
            (sm_aws_header){from->headers[i].name, from->headers[i].value};
    to->header_count = from->header_count;
    free(from->headers);
    from->headers = NULL;
    from->header_count = 0;
    to->status = from->status;
    to->body_written = from->body_written;
    to->body_len = from->body.len;
    to->body = sm_buf_take(&from->body);
    return to->body ? 0 : -1;
}

static void error_start(sm_aws_error *err, const call *c)
{
    memset(err, 0, sizeof *err);
    sm_aws_error_copy(err->service, sizeof err->service, c->info->name);
    sm_aws_error_copy(err->operation, sizeof err->operation, c->operation);
}

static void transport_failed(sm_aws_error *err, const sm_error *why)
{
    err->http_status = 0;
    err->code[0] = err->request_id[0] = '\0';
    sm_aws_error_copy(err->message, sizeof err->message, why->message);
}

/* One attempt and what it means: 0 done (a 2xx, in `out`), 1 try again,
 * -1 failed with `err` filled. */
static int attempt_run(sm_aws *self, const call *c, int *attempt, int *taken,
                       int *skew_retried, sm_aws_response *out,
                       sm_aws_error *err)
{
    sm_credentials creds = {0};
    sm_transport_response resp = {0};
    sm_error why = {{0}};
    sm_retry_kind kind;
    long long t0 = monotonic_ms();
    int rc = -1;
    if (sm_credentials_provider_get(self->creds, &creds, &why)) {
        transport_failed(err, &why);
        return -1;
    }
    int r = attempt_send(self, c, &creds, &resp, &why);
    sm_debug("%s %s: %s %s (attempt %d): %ld in %lld ms", c->info->name,
             c->operation, c->method, c->url, *attempt, resp.status,
             monotonic_ms() - t0);
    if (r == SM_TRANSPORT_OK && resp.status >= 200 && resp.status < 300) {
        rc = response_take(&resp, out);
        if (rc)
            transport_failed(err, &(sm_error){"out of memory"});
        goto out;
    }
    if (r == SM_TRANSPORT_EINTERRUPTED) {
        interrupted(err);
        goto out;
    }
    if (r != SM_TRANSPORT_OK) {
        transport_failed(err, &why);
        kind = sm_retry_classify(transport_kind(r), 0, NULL);
    } else {
        kind = response_failed(self, c, &resp, &creds, err);
    }
    if (kind == SM_RETRY_CLOCK_SKEW) {
        if (!*skew_retried && skew_correct(self, &resp)) {
            *skew_retried = 1;
            rc = 1;
            goto out;
        }
        kind = SM_RETRY_NONE;
    }
    int t = retry_wait(self, c, *attempt, kind, err);
    if (t) {
        *taken = t;
        (*attempt)++;
        rc = 1;
    }
out:
    sm_transport_response_clear(&resp);
    sm_credentials_clear(&creds);
    return rc;
}

/* Run `c` to a 2xx in `out` (0) or a failure in `err` (-1). */
static int call_run(sm_aws *self, call *c, sm_aws_response *out,
                    sm_aws_error *err)
{
    sm_error why = {{0}};
    int attempt = 1, taken = 0, skew_retried = 0, rc;
    error_start(err, c);
    memset(out, 0, sizeof *out);
    if (call_prepare(self, c, &why)) {
        transport_failed(err, &why);
        rc = -1;
    } else {
        while ((rc = attempt_run(self, c, &attempt, &taken, &skew_retried, out,
                                 err)) == 1)
            error_start(err, c);
    }
    if (rc == 0) {
        pthread_mutex_lock(&self->lock);
        sm_retry_quota_release(&self->quota, taken);
        pthread_mutex_unlock(&self->lock);
    }
    free(c->url);
    free(c->full_path);
    return rc;
}

/* ---- the protocols
 * ------------------------------------------------------------ */

json_t *sm_aws_json_call(sm_aws *self, sm_aws_service service,
                         const char *operation, const json_t *request,
                         sm_aws_error *err)
{
    sm_aws_error scratch;
    sm_aws_response resp = {0};
    char target[192];
    const sm_aws_service_info *info = sm_aws_service_info_get(service);
    if (!err)
        err = &scratch;
    if (!info || !info->target_prefix) {
        memset(err, 0, sizeof *err);
        snprintf(err->message, sizeof err->message,
                 "%s is not an awsJson service", info ? info->name : "?");
        return NULL;
    }
    snprintf(target, sizeof target, "%s.%s", info->target_prefix, operation);
    char *body = request ? json_dumps(request, JSON_COMPACT) : strdup("{}");
    sm_aws_header headers[] = {
        {"X-Amz-Target", target},
        {"Content-Type", "application/x-amz-json-1.1"},
    };
    call c = {.info = info,
              .operation = operation,
              .method = "POST",
              .path = "/",
              .headers = headers,
              .header_count = 2,
              .body = body,
              .body_len = body ? strlen(body) : 0};
    json_t *out = NULL;
    if (!body) {
        error_start(err, &c);
        snprintf(err->message, sizeof err->message,
                 "the request is not valid JSON text");
    } else if (call_run(self, &c, &resp, err) == 0) {
        json_error_t jerr;
        out = resp.body_len ? json_loadb(resp.body, resp.body_len, 0, &jerr)
                            : json_object();
        if (!out)
            snprintf(err->message, sizeof err->message,
                     "the response is not JSON: %s", jerr.text);
    }
    free(body);
    sm_aws_response_clear(&resp);
    return out;
}

sm_xml_node *sm_aws_query_call(sm_aws *self, sm_aws_service service,
                               const char *operation, const char *params,
                               sm_aws_error *err)
{
    sm_aws_error scratch;
    sm_aws_response resp = {0};
    sm_buf body = {0};
    const sm_aws_service_info *info = sm_aws_service_info_get(service);
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof *err);
    if (!info || sm_buf_printf(&body, "Action=%s&Version=%s%s%s", operation,
                               info->api_version, params && *params ? "&" : "",
                               params ? params : "")) {
        snprintf(err->message, sizeof err->message, "out of memory");
        sm_buf_free(&body);
        return NULL;
    }
    sm_aws_header headers[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
    };
    call c = {.info = info,
              .operation = operation,
              .method = "POST",
              .path = "/",
              .headers = headers,
              .header_count = 1,
              .body = body.data,
              .body_len = body.len};
    sm_xml_node *root = NULL;
    if (call_run(self, &c, &resp, err) == 0) {
        sm_error xerr = {{0}};
        root = sm_xml_parse(resp.body, resp.body_len, &xerr);
        if (!root)
            sm_aws_error_copy(err->message, sizeof err->message, xerr.message);
        sodium_memzero(resp.body, resp.body_len); /* may hold credentials */
    }
    sm_buf_free(&body);
    sm_aws_response_clear(&resp);
    return root;
}

int sm_aws_rest_call(sm_aws *self, const sm_aws_rest *req,
                     sm_aws_response *resp, sm_aws_error *err)
{
    sm_aws_error scratch;
    sm_aws_response ignored;
    const sm_aws_service_info *info = sm_aws_service_info_get(req->service);
    if (!err)
        err = &scratch;
    if (!resp)
        resp = &ignored;
    memset(resp, 0, sizeof *resp);
    if (!info || !req->method || !req->path || req->path[0] != '/') {
        memset(err, 0, sizeof *err);
        snprintf(err->message, sizeof err->message,
                 "a REST request needs a service, a method and a path "
                 "starting with '/'");
        return -1;
    }
    call c = {
        .info = info,
        .operation = req->operation ? req->operation : req->method,
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = req->headers,
        .header_count = req->header_count,
        .body = req->body,
        .body_len = req->body_len,
        .body_file = req->body_file,
        .body_offset = req->body_offset,
        .payload_hash = req->payload_hash,
        .response_file = req->response_file,
        .response_fd = req->response_fd,
        .response_offset = req->response_offset,
        .response_max = req->response_max,
        .progress = req->progress,
        .progress_ctx = req->progress_ctx,
    };
    int rc = call_run(self, &c, resp, err);
    if (resp == &ignored)
        sm_aws_response_clear(resp);
    return rc;
}

const char *sm_aws_response_header(const sm_aws_response *resp,
                                   const char *name)
{
    for (size_t i = 0; resp && name && i < resp->header_count; i++) {
        if (resp->headers[i].name &&
            strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    }
    return NULL;
}

void sm_aws_response_clear(sm_aws_response *resp)
{
    if (!resp)
        return;
    for (size_t i = 0; i < resp->header_count; i++) {
        free((char *)resp->headers[i].name);
        free((char *)resp->headers[i].value);
    }
    free(resp->headers);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}
