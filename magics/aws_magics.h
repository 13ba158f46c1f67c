/* aws_magics: the magics that call AWS or sagemagic-local (%whoami,
 * %image, %upload, %ls, %download, %%api, %jobs, %status, %logs, %train,
 * %stop), what they share, and their completion. Internal to the magics
 * layer. */
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
/* After `name` was created: note it as the latest job, make it the call's
 * result, and show it live until it ends (unless --no-wait or %config
 * wait=false). 0, or -1 with the call's error set. */
int sm_train_follow(sm_call *call, sm_aws *aws, const char *name);
/* The SDK's default job name: `base` (cut to fit 63 characters) and
 * -yyyy-mm-dd-HH-MM-SS-mmm, into out[size]. */
void sm_train_default_name(const char *base, char *out, size_t size);

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

/* ---- completion (complete_aws.c) --------------------------------------- */

/* Completions of `word` (borrowed; it ends at the cursor) in `line` of
 * `magic`: S3 keys after s3://, local paths for %upload and %download,
 * job names for %status, %logs and %stop, services for %%api. Appends to
 * `matches`; returns nonzero when it handled the word. Never starts the
 * local service; listings are cached for a few seconds. */
int sm_complete_aws(sm_magics *m, const sm_magic *magic, const char *line,
                    const char *word, json_t *matches);

#endif
