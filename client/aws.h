/* aws: one client for every AWS service sagemagic calls: configuration and
 * credentials, endpoints, SigV4 signing, HTTP with the "standard" retry
 * mode, clock-skew correction, and one error value for every failure. */
#ifndef SM_AWS_H
#define SM_AWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "xml.h"

typedef struct sm_aws sm_aws;

/* The services, by the name SigV4 signs them with and the endpoint they
 * resolve to (reference section 1.1). */
typedef enum sm_aws_service {
    SM_AWS_S3,
    SM_AWS_SAGEMAKER,
    SM_AWS_RUNTIME, /* sagemaker-runtime: host runtime.sagemaker, signs as
                       sagemaker */
    SM_AWS_LOGS,
    SM_AWS_STS,
    SM_AWS_SERVICE_COUNT,
} sm_aws_service;

/* Every failure of a call: what was called, and what the service or the
 * transport said. An empty `code` with status 0 is a transport failure
 * (connection refused, timeout); `message` then says which. */
typedef struct sm_aws_error {
    char service[32];   /* "sagemaker", "s3", ... */
    char operation[64]; /* "CreateTrainingJob", "PutObject", ... */
    long http_status;   /* 0 when no response arrived */
    char code[128];     /* "ValidationException", "NoSuchKey", ... */
    char message[1024]; /* the service's message, or the transport's */
    char request_id[128];
} sm_aws_error;

/* The code of a call its progress callback stopped (http_status 0). */
#define SM_AWS_ERR_INTERRUPTED "Interrupted"

/* One sentence for a user: "CreateTrainingJob failed: ValidationException:
 * <message>" (the AWS CLI's wording). Writes into buf (NUL-terminated). */
void sm_aws_error_format(const sm_aws_error *err, char *buf, size_t size);

struct sm_transport_request; /* transport.h */
struct sm_transport_response;

/* Seams for tests: the clock (wall time, for signing and skew) and the
 * sleeper (backoff), and randomness for jitter. NULL members mean the
 * real ones. */
typedef struct sm_aws_seams {
    time_t (*now)(void *ctx);
    void (*sleep_ms)(void *ctx, long ms);
    double (*random)(void *ctx); /* uniform in [0, 1) */
    void *ctx;
    /* The transport for service calls: fill `resp` (zeroed) and return an
     * sm_transport_result (transport.h); NULL: libcurl. Credentials from
     * container or instance metadata are always fetched with libcurl. */
    int (*send)(void *ctx, const struct sm_transport_request *req,
                struct sm_transport_response *resp, sm_error *err);
} sm_aws_seams;

/* What a client is made from. Every string is borrowed and copied; NULL or
 * "" means "resolve it as the AWS SDKs do" (environment, shared config and
 * credentials files, container credentials, IMDS). Profiles may assume a
 * role (role_arn with source_profile or credential_source) or run a
 * credential_process; SSO and web identity are reached through
 * credential_process ("aws configure export-credentials --format
 * process"). A profile set here skips AWS_ACCESS_KEY_ID and friends, as
 * in the SDKs. */
typedef struct sm_aws_config {
    const char *region;
    const char *profile;
    const char *endpoint_url; /* for every service; else AWS_ENDPOINT_URL_* */
    const char *access_key;   /* explicit credentials (the local backend) */
    const char *secret_key;
    const char *session_token;
    int max_attempts;        /* 0: AWS_MAX_ATTEMPTS, else the profile's
                              * max_attempts, else 3 */
    long connect_timeout_ms; /* 0: 10,000 */
    long read_timeout_ms;    /* 0: 70,000 (SageMaker's recommendation);
                              * SAGEMAGIC_CONNECT_TIMEOUT_MS and
                              * SAGEMAGIC_READ_TIMEOUT_MS override the
                              * defaults. The read timeout is the longest
                              * time without a byte either way. */
    int max_connections;     /* parallel transfers (multipart); 0: 8 */
    sm_aws_seams seams;
} sm_aws_config;

/* New client. Resolves the region and the endpoints now; credentials are
 * resolved on first use and refreshed before they expire. NULL with `err`
 * set (operation "configure") when the configuration is unusable. */
sm_aws *sm_aws_new(const sm_aws_config *config, sm_aws_error *err);
void sm_aws_destroy(sm_aws **self);

/* The region in use (borrowed). */
const char *sm_aws_region(const sm_aws *self);

/* The base URL requests to `service` go to, e.g.
 * https://api.sagemaker.us-east-1.amazonaws.com or an override (borrowed). */
const char *sm_aws_endpoint(const sm_aws *self, sm_aws_service service);

/* Nonzero when requests to `service` may leave the body out of the
 * signature (x-amz-content-sha256: UNSIGNED-PAYLOAD) and carry a checksum
 * instead: over HTTPS, as botocore does for S3, or to this machine
 * (localhost, 127.0.0.0/8, [::1]), where no one sits between the ends. */
int sm_aws_payload_may_be_unsigned(const sm_aws *self, sm_aws_service service);

/* awsJson 1.1 (SageMaker, Logs): POST `request` (borrowed) as operation
 * `operation`. Returns the new parsed response object, or NULL with `err`
 * filled. Retries as the standard mode says. */
json_t *sm_aws_json_call(sm_aws *self, sm_aws_service service,
                         const char *operation, const json_t *request,
                         sm_aws_error *err);

/* A REST request (S3, Runtime). Every pointer borrowed. */
typedef struct sm_aws_header {
    const char *name, *value;
} sm_aws_header;

typedef struct sm_aws_rest {
    sm_aws_service service;
    const char *operation; /* for errors and logs: "PutObject" */
    const char *method;
    const char *path;  /* already percent-encoded, starting with "/";
                        * S3 is path-style everywhere: "/bucket/key" */
    const char *query; /* encoded, without "?", or NULL */
    const sm_aws_header *headers;
    size_t header_count;
    const void *body; /* or body_file */
    size_t body_len;
    const char *body_file; /* send bytes [body_offset, +body_len) of a file */
    uint64_t body_offset;
    const char *payload_hash;  /* NULL: hash the body; or UNSIGNED-PAYLOAD */
    const char *response_file; /* write a 2xx body here (atomically) */
    int response_fd;           /* or, when > 0, into this open file from
                                * response_offset on (pwrite: several
                                * requests may share one descriptor) */
    uint64_t response_offset;
    uint64_t response_max; /* with response_fd: a longer body is an error
                            * before a byte past it is written; 0: none */
    /* Called on the calling thread as bytes move (and about once a second
     * while none do) with the body bytes sent and received by the attempt
     * in flight, and between attempts with 0, 0. Nonzero stops the call
     * at once: -1 with code SM_AWS_ERR_INTERRUPTED, no retry. NULL: none. */
    int (*progress)(void *ctx, uint64_t sent, uint64_t received);
    void *progress_ctx;
} sm_aws_rest;

/* A response: status, headers (lower-case names), body unless it went to
 * response_file or response_fd. All owned; free with
 * sm_aws_response_clear. */
typedef struct sm_aws_response {
    long status;
    sm_aws_header *headers; /* strings owned */
    size_t header_count;
    char *body;
    size_t body_len;
    uint64_t body_written; /* bytes that went to response_file or _fd */
} sm_aws_response;

/* Send `req` with signing and retries. 0 with `resp` filled for a 2xx;
 * -1 with `err` filled otherwise (S3 XML and Runtime errors parsed).
 * Every call on one client (this, json, query) may run from several
 * threads at once; they share connections and the retry quota. */
int sm_aws_rest_call(sm_aws *self, const sm_aws_rest *req,
                     sm_aws_response *resp, sm_aws_error *err);

/* Value of header `name` (case-insensitive) in `resp`, or NULL. Borrowed. */
const char *sm_aws_response_header(const sm_aws_response *resp,
                                   const char *name);
void sm_aws_response_clear(sm_aws_response *resp);

/* A Query-protocol call (STS): POST "Action=<operation>&Version=<the
 * service's API version>&<params>" as a form; `params` (borrowed) is
 * already encoded ("RoleArn=arn%3A...&RoleSessionName=x") or NULL.
 * Returns the new parsed XML response (free with sm_xml_free), or NULL
 * with `err` filled. */
sm_xml_node *sm_aws_query_call(sm_aws *self, sm_aws_service service,
                               const char *operation, const char *params,
                               sm_aws_error *err);

/* STS GetCallerIdentity (Query protocol, XML). Fills the strings. */
typedef struct sm_aws_identity {
    char account[32];
    char arn[512];
    char user_id[256];
} sm_aws_identity;
int sm_aws_whoami(sm_aws *self, sm_aws_identity *out, sm_aws_error *err);

#endif
