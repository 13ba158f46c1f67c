/* backend: where the magics send their AWS calls: sagemagic-local (found
 * through its data dir, or started in a session of its own) or AWS; one
 * client for the current settings, the account and the default bucket. */
#ifndef SM_BACKEND_H
#define SM_BACKEND_H

#include <jansson.h>
#include <stddef.h>

#include "aws.h"
#include "config.h"
#include "interp.h"

typedef struct sm_backend sm_backend;

/* How long the kernel waits for a sagemagic-local it started. */
#define SM_BACKEND_START_SECONDS 15

/* New, with no client yet: nothing is located or started until asked. */
sm_backend *sm_backend_new(void);

/* Destroy the client and caches. A local service it started keeps running
 * (a restarted kernel finds it again). */
void sm_backend_destroy(sm_backend **self);

/* The client for `config`'s settings (borrowed: valid until the next
 * call, which rebuilds it when backend, region, profile or endpoint_url
 * changed, or when the local service went away). For the local backend
 * the service is located through SAGEMAGIC_LOCAL_DATA_DIR or the default
 * data dir, or started there when none answers; `out` (may be NULL) lets
 * an interrupt stop that wait, and with `out` NULL nothing is started.
 * NULL with `err` set (one sentence, no operation) on failure. */
sm_aws *sm_backend_client(sm_backend *self, const sm_config *config,
                          sm_out *out, sm_aws_error *err);

/* The caller's identity (STS GetCallerIdentity), asked once per client.
 * 0 with `id` filled, or -1 with `err` set. */
int sm_backend_identity(sm_backend *self, const sm_config *config,
                        sm_out *out, sm_aws_identity *id, sm_aws_error *err);

/* The bucket data goes to when none is named: %config bucket, else the
 * SDK's sagemaker-REGION-ACCOUNT, created (once per client) when `ensure`
 * is set and it is missing. 0 with the name in `bucket`, or -1. */
int sm_backend_bucket(sm_backend *self, const sm_config *config, sm_out *out,
                      int ensure, char *bucket, size_t size,
                      sm_aws_error *err);

/* The region calls go to: the client's once there is one; before that the
 * local service's (from its credentials file) or %config region. Borrowed
 * until the next call. */
const char *sm_backend_region(sm_backend *self, const sm_config *config);

/* The local service in use, once the client is built for it: its URL,
 * data dir (borrowed) and pid; NULL and 0 otherwise. */
const char *sm_backend_local_url(const sm_backend *self);
const char *sm_backend_local_dir(const sm_backend *self);
long sm_backend_local_pid(const sm_backend *self);

/* The job a later %status or %logs means when given no name: the kind
 * ("training", "transform", "tuning") and name (both borrowed, copied),
 * or NULL when this kernel made none. */
void sm_backend_note_job(sm_backend *self, const char *kind, const char *name);
const char *sm_backend_last_job(const sm_backend *self, const char **kind);

/* A small cache for completion (a few seconds; emptied with the client).
 * get: borrowed, or NULL when absent or stale. put: steals `value`. */
json_t *sm_backend_cache_get(sm_backend *self, const char *key);
void sm_backend_cache_put(sm_backend *self, const char *key, json_t *value);

#endif
