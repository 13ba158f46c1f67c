/* aws_magics: the magics that call AWS or sagemagic-local (%whoami,
 * %image, %upload, %ls, %download, %%api, %jobs, %status, %logs, %train,
 * %stop, %deploy, %predict, %endpoints, %delete, %cleanup), what they
 * share, and their completion. Internal to the magics layer. */
#ifndef SM_AWS_MAGICS_H
#define SM_AWS_MAGICS_H

#include <jansson.h>

#include "aws.h"
#include "backend.h"
#include "buf.h"
#include "magic.h"
#include "sagemaker.h"

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
int sm_call_count_flag(sm_call *call, const char *name, long fallback, long max,
                       long *out);

/* The wait between two looks at a job: %config poll, whose "auto" is
 * 250 ms on the local backend and 5 s on AWS. */
long sm_call_poll_ms(sm_call *call);

/* Nonzero when the magic should watch what it started: no --no-wait and
 * %config wait not off. */
int sm_call_waits(sm_call *call);

/* An interrupt while watching the `label` ("training job") `name`: the
 * error saying it keeps running and how to stop it. Returns -1. */
int sm_call_stop_watching(sm_call *call, const char *label, const char *name);

/* A job that reached `state`'s final status: 0 when Completed, else -1
 * with the call's error naming the job (`label`, "training job"), how it
 * ended and why, named `failed` or `stopped` ("TrainingJobFailed"). */
int sm_call_job_ended(sm_call *call, const sm_sagemaker_state *state,
                      const char *label, const char *failed,
                      const char *stopped);

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
    const char *extra_type; /* one more member of the bundle, when set */
    json_t *extra;          /* borrowed */
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

/* A card's table cell, left and top aligned: JupyterLab's stylesheet
 * right-aligns the cells of HTML output, which pushes a card's labels away
 * from their values. Every card cell opens with it. */
#define SM_CARD_TD                                                             \
    "<td style=\"text-align:left;vertical-align:top;padding:1px 12px 1px 0\">"

/* A row of a card: `value` in the text, and in the HTML `html_value` as it
 * is, or `value` escaped when that is NULL. */
void sm_card_row(sm_buf *plain, sm_buf *html, const char *key,
                 const char *value, const char *html_value);

/* A row whose value is a link to `url`. */
void sm_card_link_row(sm_buf *plain, sm_buf *html, const char *key,
                      const char *url);

/* On the aws backend, a row linking to the AWS console's page of `name`,
 * a SageMaker resource of `kind` (see console.h); nothing on local. */
void sm_card_console_row(sm_call *call, sm_buf *plain, sm_buf *html,
                         const char *kind, const char *name);

/* What a job runs, as %train and %tune build it from their words. */

/* The image for `what`, an algorithm ("xgboost", with --version) or an
 * image URI: new string, and the base for default names in base[size]
 * ("xgboost"). NULL with the call's error set. */
char *sm_call_image(sm_call *call, const char *what, char *base, size_t size);

/* The role jobs run as: %config role; on the local backend the service's
 * own role when none is set; on aws an error saying how to set one. */
int sm_call_role(sm_call *call, char *role, size_t size);

/* Where artifacts go: --output, else s3://BUCKET/PREFIX/ with the default
 * bucket (made when missing unless `dry_run`). */
int sm_call_output(sm_call *call, int dry_run, char *out, size_t size);

/* The SDK's base name of an image: its repository, without registry or
 * tag ("sagemaker-xgboost"), into out[size]. */
void sm_call_image_base(const char *image, char *out, size_t size);

/* hosting_magics.c */
int sm_magic_deploy(sm_call *call);
int sm_magic_predict(sm_call *call);
int sm_magic_endpoints(sm_call *call);
int sm_magic_delete(sm_call *call);
int sm_magic_cleanup(sm_call *call);

/* tune_magic.c */
int sm_magic_tune(sm_call *call);
/* A job's log lines as they come: the first stream of `group` whose name
 * starts with "NAME/", read forward from its head. Set the borrowed
 * members; the rest starts zeroed. */
typedef struct sm_log_tail {
    sm_aws *aws;
    const char *group;    /* SM_LOGS_TRAINING_GROUP, ... */
    const char *name;     /* the job's */
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
 * %prepare, job names for %status, %logs, %stop and %deploy, endpoint
 * names for %predict and %delete, services for %%api. Appends to `matches`;
 * returns nonzero when it handled the word. Never starts the local service;
 * listings are cached for a few seconds. */
int sm_complete_aws(sm_magics *m, const sm_magic *magic, const char *line,
                    const char *word, json_t *matches);

#endif
