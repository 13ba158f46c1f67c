/* journal: the record of experiments kept beside the notebook, one JSON
 * line per upload, per resource the kernel creates and per final status,
 * folded into runs for %experiments, %compare, %reproduce and %export.
 * Internal to the magics layer. */
#ifndef SM_JOURNAL_H
#define SM_JOURNAL_H

#include <jansson.h>
#include <stdint.h>

#include "aws.h"
#include "buf.h"
#include "config.h"
#include "error.h"
#include "magic.h"
#include "sagemaker_hosting.h"
#include "sagemaker_training.h"
#include "sagemaker_transform.h"

/* The mimetype a run's card carries its record under, so a saved notebook
 * holds the record even without the journal. */
#define SM_JOURNAL_MIMETYPE "application/vnd.sagemagic.run+json"
#define SM_JOURNAL_VERSION 1

/* The kinds of run, as records name them. */
#define SM_JOURNAL_TRAINING "training"
#define SM_JOURNAL_TUNING "tuning"
#define SM_JOURNAL_TRANSFORM "transform"
#define SM_JOURNAL_MODEL "model"
#define SM_JOURNAL_ENDPOINT_CONFIG "endpoint-config"
#define SM_JOURNAL_ENDPOINT "endpoint"

/* ---- the file ------------------------------------------------------------ */

/* The journal's path for `config` (its `journal` key; a relative path is
 * relative to the kernel's working directory, which Jupyter sets to the
 * notebook's folder) into out[size]. 0, or -1 when the journal is off. */
int sm_journal_path(const sm_config *config, char *out, size_t size);

/* Append `record` (borrowed object) to the journal at `path` as one line,
 * and with `sync` on disk (fsync) before this returns. 0, or -1 with `err`
 * set. */
int sm_journal_append(const char *path, const json_t *record, int sync,
                      sm_error *err);

/* Put what was appended without `sync` on disk. 0, or -1 with `err`. */
int sm_journal_sync(const char *path, sm_error *err);

/* Every record of the journal at `path`, oldest first (new array; empty
 * when there is no file yet). Lines that are not JSON objects (a line torn
 * by a crash of the machine mid-write) are skipped and counted in
 * *skipped (may be NULL). NULL with `err` set when it cannot be read. */
json_t *sm_journal_load(const char *path, size_t *skipped, sm_error *err);

/* The runs `records` (borrowed) describe, oldest first (new array): the
 * records of one kind and name folded into one object, each later record's
 * fields over the earlier ones, with "created", "finished" and "deleted"
 * times.
 * Uploads are not runs. */
json_t *sm_journal_runs(const json_t *records);

/* The run named `name` in `runs` (borrowed), or NULL: the latest of that
 * name, one of a model or endpoint config only when no other kind has the
 * name (they often share it with their endpoint or training job).
 * KIND/NAME ("model/my-job") names the kind too. */
const json_t *sm_journal_find(const json_t *runs, const char *name);

/* ---- what the magics record ---------------------------------------------- */

/* A magic that creates something records it once per resource, as soon
 * as the service accepted it and before it shows it, and its final status
 * once it sees it; the run it gets back rides on its card's last update
 * under SM_JOURNAL_MIMETYPE. %deploy, say:
 *
 *     sm_journal_request_created(call, aws, SM_JOURNAL_ENDPOINT, request,
 *                                json_pack("{s:s}", "model", model));
 *     ...
 *     json_t *run = sm_journal_endpoint_finished(call, &described);
 *
 * sm_journal_request_created and the *_finished functions below are built
 * on sm_journal_created and sm_journal_finished. */

/* A copy of `request` (borrowed) with the values of members that may hold
 * secrets (names holding secret, password, token, credential, or an
 * Environment map's values that do) replaced by "(removed)". New. */
json_t *sm_journal_redact(const json_t *request);

/* Record that `call` created the `kind` resource (SM_JOURNAL_TRAINING...)
 * named `name`. `fields` (stolen) holds
 * what to keep: "request" (redacted here), "image", "hyperparameters",
 * "inputs" (sm_journal_inputs), and anything else; the backend, region,
 * time and a "status" of InProgress (unless given) are added. A journal
 * that cannot be written is a warning in the cell, never the magic's
 * failure. */
void sm_journal_created(sm_call *call, const char *kind, const char *name,
                        json_t *fields);

/* Record the final `status` of `kind` `name` with `reason` (NULL or "" on
 * success) and `fields` (stolen: "metrics" {name: value}, "curves",
 * "artifacts", "timings", ...). Returns the run as the journal now holds
 * it (new), for the card's SM_JOURNAL_MIMETYPE, or NULL. */
json_t *sm_journal_finished(sm_call *call, const char *kind, const char *name,
                            const char *status, const char *reason,
                            json_t *fields);

/* Record an upload of the local file `path` to `uri`: its size, the S3
 * ETag (and MD5 when the upload computed one) and the file's SHA-256.
 * Not yet synced: a folder of many files costs one fsync, in
 * sm_journal_flush, which the upload calls before it shows what it did. */
void sm_journal_uploaded(sm_call *call, const char *uri, const char *path,
                         uint64_t size, const char *etag, const char *md5);

/* Put the call's unsynced records on disk (a warning when it cannot). */
void sm_journal_flush(sm_call *call);

/* What the inputs of a job are now: for each member of `channels`
 * (borrowed: channel name -> s3:// URI) every object under the URI (S3
 * prefix semantics, as SageMaker reads it) with its size, ETag, and the
 * SHA-256 of its upload when the journal has one, plus the total size and
 * one digest of them all. New array; a channel that cannot be listed
 * carries an "error". */
json_t *sm_journal_inputs(sm_call *call, sm_aws *aws, const json_t *channels);

/* The differences between inputs recorded (`was`) and as they are now
 * (`now`), both from sm_journal_inputs, as sentences appended to `why`.
 * 0 when they are the same. */
int sm_journal_inputs_differ(const json_t *was, const json_t *now, sm_buf *why);

/* ---- what the magics create --------------------------------------------- */

/* Record that `call` created a `kind` resource with `request` (borrowed:
 * its Create request) and what the request says of it: a training or
 * tuning job's image, hyperparameters and inputs as they are now (listed
 * through `aws`; a tuning job's ranges, objective and strategy too), a
 * transform job's model, input (listed) and output, a model's image and
 * artifact, an endpoint config's models, an endpoint's config. `links`
 * (stolen, may be NULL) adds fields naming related runs: "reproduces",
 * "training_job", "model", "ttl"... A model and an endpoint config are
 * recorded "Created": they have no status of their own. */
void sm_journal_request_created(sm_call *call, sm_aws *aws, const char *kind,
                                const json_t *request, json_t *links);

/* Record what a SageMaker `operation` that %%api sent with `request`
 * (borrowed) and the service accepted changed: what one of the Create
 * operations of a kind above created (as sm_journal_request_created
 * does), or what DeleteModel, DeleteEndpointConfig or DeleteEndpoint
 * deleted (as sm_journal_deleted does). */
void sm_journal_api_sent(sm_call *call, sm_aws *aws, const char *operation,
                         const json_t *request);

/* The ends of runs, each from a Describe of it; each returns the run
 * (new) or NULL, as sm_journal_finished. */

/* A training job: status, reason, final metrics, `curves` (borrowed:
 * metric -> channel -> [[round, value]...]), the model and the times. */
json_t *sm_journal_training_finished(sm_call *call,
                                     const sm_sagemaker_training_job *job,
                                     const json_t *curves);

/* A transform job: status, reason, times, and its output objects as they
 * are now (listed through `aws`, as inputs are). */
json_t *sm_journal_transform_finished(sm_call *call, sm_aws *aws,
                                      const sm_sagemaker_transform_job *job);

/* A tuning job: status, reason, times, job counts, the best training job
 * with its objective (also the run's metric, under the objective's name)
 * and tuned hyperparameters, and `trials` (may be NULL), every training
 * job it ran, which are linked by name, not recorded as runs of their own
 * (their requests are the tuning job's). */
json_t *sm_journal_tuning_finished(sm_call *call,
                                   const sm_sagemaker_tuning_job *job,
                                   const sm_sagemaker_trials *trials);

/* An endpoint that is InService (or failed): status, reason, times. */
json_t *sm_journal_endpoint_finished(sm_call *call,
                                     const sm_sagemaker_endpoint *ep);

/* Record that each of `gone` (borrowed: [{"kind", "name"}...]) was
 * deleted, by `how` ("%delete", "%cleanup", "ttl", "cleanup_on_exit"):
 * its run's status becomes Deleted, with the time. */
void sm_journal_deleted(sm_call *call, const json_t *gone, const char *how);

/* The same outside a cell (the time-to-live timer, kernel exit), to the
 * journal of `config` with `region`: 0, or -1 with `err`. */
int sm_journal_deleted_by_timer(const sm_config *config, const char *region,
                                const json_t *gone, const char *how,
                                sm_error *err);

/* ---- the magics (experiment_magics.c) ------------------------------------ */

int sm_magic_experiments(sm_call *call);
int sm_magic_compare(sm_call *call);
int sm_magic_reproduce(sm_call *call);
int sm_magic_export(sm_call *call);

#endif
