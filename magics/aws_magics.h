/* aws_magics: the magics that call AWS or sagemagic-local (%whoami,
 * %image, %upload, %ls, %download, %%api, %jobs, %status, %logs, %train,
 * %stop), what they share, and their completion. Internal to the magics
 * layer. */
#ifndef SM_AWS_MAGICS_H
#define SM_AWS_MAGICS_H

#include <jansson.h>

#include "aws.h"
#include "buf.h"
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

/* prepare_magic.c (no AWS: a local CSV made into training files) */
int sm_magic_prepare(sm_call *call);

/* transform_magics.c */
int sm_magic_transform(sm_call *call);

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

/* The wait between two looks at a job: %config poll, whose "auto" is
 * 250 ms on the local backend and 5 s on AWS. */
long sm_call_poll_ms(sm_call *call);

/* Nonzero when the magic should watch what it started: no --no-wait and
 * %config wait not off. */
int sm_call_waits(sm_call *call);

/* An interrupt while watching the `label` ("training job") `name`: the
 * error saying it keeps running and how to stop it. Returns -1. */
int sm_call_stop_watching(sm_call *call, const char *label, const char *name);

/* `text` (a failure reason) as one sentence into out[size]: whitespace
 * runs made one space, no final full stop. */
void sm_call_one_sentence(const char *text, char *out, size_t size);

/* The SDK's default job name: `base` cut to fit, then
 * -yyyy-mm-dd-HH-MM-SS-mmm in UTC, at most 63 characters. */
void sm_call_default_name(const char *base, char *out, size_t size);

/* The time of day in seconds since the epoch, for elapsed times. */
double sm_wall_now(void);

/* A live card: shown once with display_data, then updated in place
 * (update_display_data) under the same display id. */
typedef struct sm_card {
    sm_call *call;
    char display_id[96];
    int displayed;
} sm_card;

/* A card of `call` with a display id of its own; `kind` (borrowed) is a
 * word for the id ("train"). */
void sm_card_init(sm_card *self, sm_call *call, const char *kind);

/* Open a card's HTML in `html`: a box in JupyterLab's theme colours with
 * `title` (escaped here) in bold, and a table for the rows after it. */
void sm_card_html_begin(sm_buf *html, const char *title);

/* Show the card's text and HTML (both borrowed; the HTML's table and box
 * are closed here). */
void sm_card_show(sm_card *self, const sm_buf *plain, sm_buf *html);

/* A job's log lines as they come: the first stream of `group` whose name
 * starts with "NAME/", read forward from its head. Set the borrowed
 * members; the rest starts zeroed. */
typedef struct sm_log_tail {
    sm_aws *aws;
    const char *group; /* SM_LOGS_TRAINING_GROUP, ... */
    const char *name;  /* the job's */
    char *stream, *token; /* owned */
} sm_log_tail;

/* Write the lines that came since the last call to the cell's stdout,
 * passing each to `seen(ctx, line)` first (`seen` may be NULL). Errors
 * are quiet: the group or stream may not exist yet. */
void sm_log_tail_read(sm_log_tail *self, sm_call *call,
                      void (*seen)(void *ctx, const char *line), void *ctx);
void sm_log_tail_clear(sm_log_tail *self);

/* ---- completion (complete_aws.c) --------------------------------------- */

/* Completions of `word` (borrowed; it ends at the cursor) in `line` of
 * `magic`: S3 keys after s3://, local paths for %upload, %download and
 * %prepare, job names for %status, %logs and %stop, services for %%api.
 * Appends to `matches`; returns nonzero when it handled the word. Never
 * starts the local service; listings are cached for a few seconds. */
int sm_complete_aws(sm_magics *m, const sm_magic *magic, const char *line,
                    const char *word, json_t *matches);

#endif
