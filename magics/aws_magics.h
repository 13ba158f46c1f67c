/* aws_magics: the magics that call AWS or sagemagic-local (%whoami,
 * %image, %upload, %ls, %download, %%api, %jobs, %status, %logs, %train,
 * %stop, %deploy, %predict, %endpoints, %delete, %cleanup), what they
 * share, and their completion. Internal to the magics layer. */
#ifndef SM_AWS_MAGICS_H
#define SM_AWS_MAGICS_H

#include <jansson.h>

#include "aws.h"
#include "backend.h"
#include "magic.h"

/* account_magics.c */
int sm_magic_whoami(sm_call *call);
int sm_magic_image(sm_call *call);

/* s3_magics.c */
int sm_magic_upload(sm_call *call);
int sm_magic_ls(sm_call *call);
int sm_magic_download(sm_call *call);

/* api_magic.c */
int sm_magic_api(sm_call *call);
/* The services %%api knows, for completion: a NULL-terminated list. */
const char *const *sm_api_services(void);

/* job_magics.c */
int sm_magic_jobs(sm_call *call);
int sm_magic_status(sm_call *call);
int sm_magic_logs(sm_call *call);

/* train_magics.c */
int sm_magic_train(sm_call *call);
int sm_magic_stop(sm_call *call);

/* ---- shared (aws_common.c) ---------------------------------------------- */

/* The client for the current settings (borrowed), or NULL with the call's
 * error set. */
sm_aws *sm_call_aws(sm_call *call);

/* Make a failed AWS call the magic's error: the one sentence of
 * sm_aws_error_format, with ename ClientError (the service said no),
 * ConnectionError (no answer), or KeyboardInterrupt. Returns -1. */
int sm_call_fail_aws(sm_call *call, const sm_aws_error *err);

/* Nonzero when the cell has been interrupted (a callback's shape). */
int sm_call_interrupted(void *call);

/* A positive whole number flag (`name`, borrowed) into *out, `fallback`
 * when absent. 0, or -1 with the call's error set. */
int sm_call_count_flag(sm_call *call, const char *name, long fallback,
                       long max, long *out);

/* Milliseconds between polls while a magic waits: %config poll, or by
 * backend (auto). */
long sm_call_poll_ms(sm_call *call);

/* Nonzero when the magic should wait for the end: no --no-wait, and
 * %config wait on. */
int sm_call_waits(sm_call *call);

/* The SDK's default name for a job or endpoint: BASE-yyyy-mm-dd-HH-MM-SS-mmm
 * (UTC), BASE cut so the whole fits in 63 characters. */
void sm_call_default_name(const char *base, char *out, size_t size);

/* The SDK's base name of an image: its repository, without registry or
 * tag ("sagemaker-xgboost"), into out[size]. */
void sm_call_image_base(const char *image, char *out, size_t size);

/* hosting_magics.c */
int sm_magic_deploy(sm_call *call);
int sm_magic_predict(sm_call *call);
int sm_magic_endpoints(sm_call *call);
int sm_magic_delete(sm_call *call);
int sm_magic_cleanup(sm_call *call);

/* ---- completion (complete_aws.c) --------------------------------------- */

/* Completions of `word` (borrowed; it ends at the cursor) in `line` of
 * `magic`: S3 keys after s3://, local paths for %upload and %download,
 * job names for %status, %logs, %stop and %deploy, endpoint names for
 * %predict and %delete, services for %%api. Appends to `matches`; returns
 * nonzero when it handled the word. Never starts the
 * local service; listings are cached for a few seconds. */
int sm_complete_aws(sm_magics *m, const sm_magic *magic, const char *line,
                    const char *word, json_t *matches);

#endif
