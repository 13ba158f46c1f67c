/* sagemaker: what the SageMaker calls share: the kinds of resource, the
 * state every Describe reports, describe/stop/delete by name, listing with
 * pagination, and waiting with bounded, interruptible polls. The
 * operations of each kind are in sagemaker_training.h (training and
 * tuning), sagemaker_hosting.h (models, endpoint configs, endpoints) and
 * sagemaker_transform.h (batch transform).
 *
 * Every call function takes the client first and fills an sm_aws_error on
 * failure; a request refused before sending (a bad argument) carries the
 * code SM_AWSJSON_INVALID and one sentence saying what was wrong. Request
 * builders (`..._request`) are pure: typed arguments in, a new JSON body
 * out, or NULL with `err` set. Parsers read responses leniently: a missing
 * string is "", a missing number 0. */
#ifndef SM_SAGEMAKER_H
#define SM_SAGEMAKER_H

#include <jansson.h>
#include <stddef.h>

#include "aws.h"
#include "awsjson.h"
#include "error.h"

/* A key and value, both borrowed: hyperparameters, environment, tags. */
typedef sm_awsjson_kv sm_sagemaker_kv;

/* The kinds of resource, each a row in the table of operation and member
 * names. */
typedef enum sm_sagemaker_kind {
    SM_SAGEMAKER_TRAINING_JOB,
    SM_SAGEMAKER_MODEL,
    SM_SAGEMAKER_ENDPOINT_CONFIG,
    SM_SAGEMAKER_ENDPOINT,
    SM_SAGEMAKER_TRANSFORM_JOB,
    SM_SAGEMAKER_TUNING_JOB,
    SM_SAGEMAKER_KIND_COUNT,
} sm_sagemaker_kind;

/* "training job", "endpoint", ... for messages. */
const char *sm_sagemaker_kind_label(sm_sagemaker_kind kind);

/* The request member naming a resource: "TrainingJobName", ... */
const char *sm_sagemaker_kind_name_member(sm_sagemaker_kind kind);

/* Check `name` as a name of `kind` (lengths and characters); 0, or -1
 * with `err` set. */
int sm_sagemaker_check_name(sm_sagemaker_kind kind, const char *name,
                            sm_error *err);

/* ---- state ------------------------------------------------------------ */

/* What any Describe or List summary says of one resource. Strings are
 * borrowed from the JSON it was read from ("" when absent); times are
 * epoch seconds (0 when absent). */
typedef struct sm_sagemaker_state {
    sm_sagemaker_kind kind;
    const char *name;
    const char *arn;
    const char *status;           /* TrainingJobStatus, EndpointStatus... */
    const char *secondary_status; /* training jobs */
    const char *failure_reason;
    double creation_time;
    double start_time; /* training, transform */
    double end_time;   /* training, transform, tuning */
    double last_modified_time;
} sm_sagemaker_state;

/* Read the state of a `kind` from `obj` (borrowed; the state borrows from
 * it), a Describe response or a List summary. */
void sm_sagemaker_state_read(sm_sagemaker_kind kind, const json_t *obj,
                             sm_sagemaker_state *out);

/* Nonzero when `status` of a `kind` will not change by itself any more:
 * Completed, Failed, Stopped, InService, OutOfService, ... A model and an
 * endpoint config have no status: always terminal. */
int sm_sagemaker_status_is_terminal(sm_sagemaker_kind kind, const char *status);

/* ---- by name ---------------------------------------------------------- */

/* {"<Kind>Name": name}: the body of Describe, Stop and Delete. */
json_t *sm_sagemaker_name_request(sm_sagemaker_kind kind, const char *name,
                                  sm_error *err);

/* Describe a resource: the new response, or NULL with `err` filled. A
 * name that does not exist comes back as the service says it
 * (ValidationException or ResourceNotFound; see
 * sm_sagemaker_error_is_not_found). */
json_t *sm_sagemaker_describe(sm_aws *aws, sm_sagemaker_kind kind,
                              const char *name, sm_aws_error *err);
json_t *sm_sagemaker_describe_via(const sm_awsjson_caller *caller,
                                  sm_sagemaker_kind kind, const char *name,
                                  sm_aws_error *err);

/* Stop a training, transform or tuning job (asynchronous: the status goes
 * to Stopping, then Stopped). Other kinds are refused. 0 or -1. */
int sm_sagemaker_stop(sm_aws *aws, sm_sagemaker_kind kind, const char *name,
                      sm_aws_error *err);

/* Delete a model, endpoint config or endpoint (deleting an endpoint is
 * asynchronous; see SM_SAGEMAKER_WAIT_ENDPOINT_DELETED). Other kinds are
 * refused. 0 or -1. */
int sm_sagemaker_delete(sm_aws *aws, sm_sagemaker_kind kind, const char *name,
                        sm_aws_error *err);

/* The operation names of a kind, or NULL where it has none:
 * sm_sagemaker_operation(SM_SAGEMAKER_ENDPOINT, SM_SAGEMAKER_OP_DELETE)
 * is "DeleteEndpoint". */
typedef enum sm_sagemaker_op {
    SM_SAGEMAKER_OP_CREATE,
    SM_SAGEMAKER_OP_DESCRIBE,
    SM_SAGEMAKER_OP_LIST,
    SM_SAGEMAKER_OP_STOP,
    SM_SAGEMAKER_OP_DELETE,
} sm_sagemaker_op;
const char *sm_sagemaker_operation(sm_sagemaker_kind kind, sm_sagemaker_op op);

/* Nonzero when a Describe error means "there is no such resource":
 * ResourceNotFound, or ValidationException saying it could not find it
 * (what SageMaker answers in practice). */
int sm_sagemaker_error_is_not_found(const sm_aws_error *err);

/* Nonzero when a Create error means "that name is taken": ResourceInUse,
 * or a ValidationException saying it already exists. */
int sm_sagemaker_error_is_already_exists(const sm_aws_error *err);

/* Read the `member` ARN of a Create response (borrowed) into a new string;
 * NULL with `err` set when it is missing. */
char *sm_sagemaker_arn_read(const json_t *response, const char *member,
                            sm_error *err);

/* ---- listing ---------------------------------------------------------- */

/* Filters and bounds of a List; every member may be left zero. */
typedef struct sm_sagemaker_list_options {
    const char *name_contains; /* letters, digits, hyphens */
    const char *status_equals; /* the kind's status (not models or
                                * endpoint configs) */
    const char *sort_by;       /* Name, CreationTime, Status (not models or
                                * endpoint configs); tuning trials also
                                * FinalObjectiveMetricValue */
    const char *sort_order;    /* Ascending, Descending */
    double creation_time_after, creation_time_before; /* epoch s; 0: none */
    int page_size;    /* MaxResults 1-100; 0: the service's default */
    size_t max_items; /* stop after this many; 0: no limit */
    int max_pages;    /* stop after this many pages; 0: 100 */
} sm_sagemaker_list_options;

/* Summaries gathered over pages. */
typedef struct sm_sagemaker_listing {
    json_t *raw;               /* array of the summaries as received */
    sm_sagemaker_state *items; /* one per summary, borrowing from raw */
    size_t count;
    int truncated; /* more remained: max_items or max_pages reached, or the
                    * service kept sending empty pages with a token */
} sm_sagemaker_listing;

void sm_sagemaker_listing_clear(sm_sagemaker_listing *self);

/* The body of one List request; `next_token` (borrowed) NULL for the first
 * page. */
json_t *sm_sagemaker_list_request(sm_sagemaker_kind kind,
                                  const sm_sagemaker_list_options *options,
                                  const char *next_token, sm_error *err);

/* List resources of `kind` (options may be NULL), following NextToken.
 * Stops at the bounds, on an empty page that still carries a token (a
 * service quirk seen with time filters), or when a token repeats. Fills
 * `out` (clear it after, also on failure) and returns 0, or -1 with `err`
 * filled. */
int sm_sagemaker_list(sm_aws *aws, sm_sagemaker_kind kind,
                      const sm_sagemaker_list_options *options,
                      sm_sagemaker_listing *out, sm_aws_error *err);
int sm_sagemaker_list_via(const sm_awsjson_caller *caller,
                          sm_sagemaker_kind kind,
                          const sm_sagemaker_list_options *options,
                          sm_sagemaker_listing *out, sm_aws_error *err);

/* The pager itself, for any List operation: sends `request` (borrowed; a
 * copy gets each page's NextToken) and hands each page's `result_key`
 * array (borrowed) to `on_page`, which returns 0 to go on, 1 to stop, or
 * -1 to fail (with `err` filled by it). `max_items` counts items over
 * pages (0: no limit). `*truncated` tells whether more remained. */
typedef int (*sm_sagemaker_page_fn)(void *ctx, json_t *items,
                                    sm_aws_error *err);
typedef struct sm_sagemaker_pager {
    const char *operation;
    const char *result_key;
    size_t max_items;
    int max_pages;
    sm_sagemaker_page_fn on_page;
    void *ctx;
} sm_sagemaker_pager;

int sm_sagemaker_paginate(const sm_awsjson_caller *caller,
                          const sm_sagemaker_pager *pager,
                          const json_t *request, int *truncated,
                          sm_aws_error *err);

/* ---- waiting ---------------------------------------------------------- */

/* The waiters: botocore's (waiters-2.json, same delays, attempts and
 * acceptors) and one for tuning jobs, which botocore lacks. */
typedef enum sm_sagemaker_waiter {
    SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE,   /* TrainingJobCompletedOrStopped */
    SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE, /* EndpointInService */
    SM_SAGEMAKER_WAIT_ENDPOINT_DELETED,    /* EndpointDeleted */
    SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE,  /* TransformJobCompletedOrStopped */
    SM_SAGEMAKER_WAIT_TUNING_JOB_DONE,     /* sagemagic's own */
    SM_SAGEMAKER_WAITER_COUNT,
} sm_sagemaker_waiter;

/* How a wait ended. */
typedef enum sm_sagemaker_wait_result {
    SM_SAGEMAKER_WAIT_SUCCESS = 0, /* a success state was reached */
    SM_SAGEMAKER_WAIT_FAILURE,     /* a failure state (Failed), or the
                                    * failure error (no such resource) */
    SM_SAGEMAKER_WAIT_TIMEOUT,     /* max_seconds passed */
    SM_SAGEMAKER_WAIT_INTERRUPTED, /* keep_waiting said stop */
    SM_SAGEMAKER_WAIT_ERROR,       /* a Describe failed otherwise */
} sm_sagemaker_wait_result;

/* Time for the waiter: seconds on a monotonic clock, and a sleep. NULL
 * members mean the real ones. Tests pass a fake clock that sleeps by
 * moving its own time. */
typedef struct sm_sagemaker_clock {
    double (*now)(void *ctx);
    void (*sleep)(void *ctx, double seconds);
    void *ctx;
} sm_sagemaker_clock;

/* What the progress callback sees after each Describe. Borrowed, valid
 * during the call. */
typedef struct sm_sagemaker_wait_progress {
    sm_sagemaker_waiter waiter;
    int attempt;    /* 1 for the first Describe */
    double elapsed; /* seconds since the wait began */
    int changed;    /* status or secondary status differ from the last
                     * poll (always 1 on the first) */
    const sm_sagemaker_state *state;
    const json_t *response; /* the Describe response */
} sm_sagemaker_wait_progress;

typedef struct sm_sagemaker_wait_options {
    double poll_seconds; /* 0: the waiter's delay */
    double max_seconds;  /* 0: the waiter's delay x max attempts */
    /* Called between short sleeps (at most every 0.25 s) and before each
     * poll; returning 0 ends the wait at once (an interrupt). NULL: wait. */
    int (*keep_waiting)(void *ctx);
    /* Called after each Describe that answered. NULL: nothing. */
    void (*progress)(void *ctx, const sm_sagemaker_wait_progress *p);
    void *ctx;
    sm_sagemaker_clock clock;
} sm_sagemaker_wait_options;

/* The waiter's botocore name, operation, kind, delay and attempts. */
const char *sm_sagemaker_waiter_name(sm_sagemaker_waiter waiter);
sm_sagemaker_kind sm_sagemaker_waiter_kind(sm_sagemaker_waiter waiter);
double sm_sagemaker_waiter_delay(sm_sagemaker_waiter waiter);
int sm_sagemaker_waiter_max_attempts(sm_sagemaker_waiter waiter);

/* What one Describe outcome means to `waiter`: the acceptors, in order,
 * matched against the response's status (response non-NULL) or the error's
 * code (response NULL). Returns SUCCESS, FAILURE, or -1: keep polling
 * (no acceptor matched a response), or -2: an error no acceptor matched. */
int sm_sagemaker_waiter_accept(sm_sagemaker_waiter waiter,
                               const json_t *response,
                               const sm_aws_error *error);

/* Poll Describe of `name` until `waiter` reaches a success or failure
 * state, `max_seconds` pass, or `keep_waiting` says stop. Sleeps
 * poll_seconds between polls, in short slices. AccessDeniedException in
 * the first 300 s is waited through (IAM changes take time to spread, as
 * the SDK allows). `last` (may be NULL) receives the last Describe
 * response (new; NULL when there was none). `err` is filled for every
 * result but SUCCESS with one sentence: the service's error, or "training
 * job x failed: <reason>", or how long was waited and the last status.
 * (options may be NULL.) */
sm_sagemaker_wait_result
sm_sagemaker_wait(sm_aws *aws, sm_sagemaker_waiter waiter, const char *name,
                  const sm_sagemaker_wait_options *options, json_t **last,
                  sm_aws_error *err);
sm_sagemaker_wait_result
sm_sagemaker_wait_via(const sm_awsjson_caller *caller,
                      sm_sagemaker_waiter waiter, const char *name,
                      const sm_sagemaker_wait_options *options, json_t **last,
                      sm_aws_error *err);

/* The codes a wait's `err` carries when the service did not fail. */
#define SM_SAGEMAKER_WAIT_FAILED_CODE "WaiterFailure"
#define SM_SAGEMAKER_WAIT_TIMEOUT_CODE "WaiterTimeout"
#define SM_SAGEMAKER_WAIT_INTERRUPTED_CODE "WaiterInterrupted"

#endif
