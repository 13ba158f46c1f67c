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
#include "sagemaker_training.h"

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
 * fields over the earlier ones, with "created" and "finished" times.
 * Uploads are not runs. */
json_t *sm_journal_runs(const json_t *records);

/* The run named `name` in `runs` (borrowed), or NULL. */
const json_t *sm_journal_find(const json_t *runs, const char *name);

/* ---- what the magics record ---------------------------------------------- */

/* A magic that creates something calls sm_journal_created once per
 * resource, as soon as the service accepted it and before it shows it, and
 * sm_journal_finished once when it sees the final status. %deploy, say:
 *
 *     sm_journal_created(call, "endpoint", ep,
 *                        json_pack("{s:O, s:s}", "request", request,
 *                                  "model", model));
 *     ...
 *     json_t *run = sm_journal_finished(call, "endpoint", ep, "InService",
 *                                       NULL, NULL);
 *     // add `run` to the card under SM_JOURNAL_MIMETYPE
 */

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

/* ---- training jobs ------------------------------------------------------- */

/* Record a training job created with `request` (borrowed: the
 * CreateTrainingJob body): the request, image, hyperparameters and inputs
 * as they are now (listed through `aws`). `reproduces` names the job it
 * runs again, or is NULL. */
void sm_journal_training_created(sm_call *call, sm_aws *aws,
                                 const json_t *request, const char *reproduces);

/* Record the end of `job` (a Describe of it): status, reason, final
 * metrics, `curves` (borrowed: metric -> channel -> [[round, value]...]),
 * the model and the times. Returns the run (new) or NULL. */
json_t *sm_journal_training_finished(sm_call *call,
                                     const sm_sagemaker_training_job *job,
                                     const json_t *curves);

/* ---- the low level ------------------------------------------------------- */

/* Record what a SageMaker `operation` that %%api sent with `request`
 * (borrowed) created, when it is one of the Create operations of a kind
 * above; a training job as sm_journal_training_created records it. */
void sm_journal_api_created(sm_call *call, sm_aws *aws, const char *operation,
                            const json_t *request);

/* ---- the magics (experiment_magics.c) ------------------------------------ */

int sm_magic_experiments(sm_call *call);
int sm_magic_compare(sm_call *call);
int sm_magic_reproduce(sm_call *call);
int sm_magic_export(sm_call *call);

#endif
