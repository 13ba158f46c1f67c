/* credentials: AWS credentials and the chain that finds them, as the SDKs
 * do: explicit keys, the environment, the profile (role, static keys,
 * credential_process), container credentials, EC2 instance metadata;
 * cached, and refreshed before temporary ones expire. */
#ifndef SM_CREDENTIALS_H
#define SM_CREDENTIALS_H

#include <jansson.h>
#include <time.h>

#include "error.h"
#include "profile.h"
#include "transport.h"

#define SM_CREDENTIALS_ADVISORY_REFRESH (15 * 60) /* seconds before expiry */
#define SM_CREDENTIALS_MANDATORY_REFRESH (10 * 60)
#define SM_CREDENTIALS_MAX_ROLE_CHAIN 8

/* One set of credentials. The strings are owned; the secret key and the
 * token are wiped when cleared. */
typedef struct sm_credentials {
    char *access_key;
    char *secret_key;
    char *session_token; /* NULL for long-term keys */
    time_t expiration;   /* 0: does not expire */
    const char *source;  /* a literal: "environment", "profile x", ... */
} sm_credentials;

/* Fill `self` (cleared first) with copies; `token` may be NULL or "".
 * 0, or -1 with `err` set when a key is missing or out of memory. */
int sm_credentials_set(sm_credentials *self, const char *access_key,
                       const char *secret_key, const char *token,
                       time_t expiration, const char *source, sm_error *err);

int sm_credentials_copy(sm_credentials *dst, const sm_credentials *src,
                        sm_error *err);

/* Wipe and free what `self` holds and zero it. Safe on a zeroed value. */
void sm_credentials_clear(sm_credentials *self);

/* Read the JSON the container endpoint, IMDS and credential_process
 * answer with: AccessKeyId, SecretAccessKey, the token under `token_key`
 * ("Token" or "SessionToken"), optional Expiration (ISO 8601). Errors
 * never quote the document (it holds the secret). */
int sm_credentials_from_json(const json_t *doc, const char *token_key,
                             const char *source, sm_credentials *out,
                             sm_error *err);

/* Overwrite the secret strings of such a document (SecretAccessKey, Token,
 * SessionToken) with zeros, before it is freed. */
void sm_credentials_json_wipe(json_t *doc);

/* What AssumeRole needs beyond the source credentials. Borrowed. */
typedef struct sm_assume_role {
    const char *role_arn;
    const char *session_name;
    const char *external_id; /* or NULL */
    long duration_seconds;   /* 0: the service's default (3600) */
} sm_assume_role;

/* Calls STS AssumeRole with `source`; fills `out`. 0 or -1 with `err`. */
typedef int (*sm_assume_role_fn)(void *ctx, const sm_credentials *source,
                                 const sm_assume_role *role,
                                 sm_credentials *out, sm_error *err);

/* Where a chain looks. Every pointer is borrowed and must outlive the
 * provider made from it (strings are copied by the provider). */
typedef struct sm_credentials_config {
    const char *access_key, *secret_key, *session_token; /* explicit */
    const char *profile; /* set in code: skips the environment keys */
    const sm_profiles *profiles;
    sm_transport *http; /* container and instance metadata */
    sm_assume_role_fn assume_role;
    void *assume_role_ctx;
    time_t (*now)(void *ctx); /* NULL: time() */
    void *now_ctx;
    long process_timeout_ms; /* credential_process; 0: 60 s */
} sm_credentials_config;

/* Walk the chain once, without caching. 0 with `out` filled, or -1 with
 * `err` saying why (a broken source, or that none had credentials). */
int sm_credentials_resolve(const sm_credentials_config *cfg,
                           sm_credentials *out, sm_error *err);

typedef struct sm_credentials_provider sm_credentials_provider;

/* New caching provider over `cfg` (strings copied, explicit secret wiped
 * on destroy). NULL only when out of memory. */
sm_credentials_provider *
sm_credentials_provider_new(const sm_credentials_config *cfg, sm_error *err);
void sm_credentials_provider_destroy(sm_credentials_provider **self);

/* The current credentials, copied into `out` (clear it after use).
 * Resolved on first use; when they expire within the advisory window the
 * chain runs again, and a failure then is tolerated until the mandatory
 * window. Thread-safe: one thread refreshes while the others wait. */
int sm_credentials_provider_get(sm_credentials_provider *self,
                                sm_credentials *out, sm_error *err);

/* Forget the cached credentials (the service said they expired). */
void sm_credentials_provider_invalidate(sm_credentials_provider *self);

#endif
