/* sagemaker_wait: waiters as tables of acceptors, polled with bounded,
 * interruptible sleeps. The rows are botocore's waiters-2.json for
 * SageMaker (delay, attempts, acceptors in order); the tuning job row is
 * our own, since botocore has none. */
#include "sagemaker.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
    ACCEPT_SUCCESS = SM_SAGEMAKER_WAIT_SUCCESS,
    ACCEPT_FAILURE = SM_SAGEMAKER_WAIT_FAILURE,
    ACCEPT_RETRY = -1,
    ACCEPT_UNHANDLED_ERROR = -2
};

/* One acceptor: when the status (or, for on_error, the error code) is
 * `expected`, the wait ends in `state`. */
typedef struct acceptor {
    int state;
    int on_error;
    const char *expected;
} acceptor;

typedef struct waiter_row {
    const char *name;
    sm_sagemaker_kind kind;
    double delay;
    int max_attempts;
    acceptor acceptors[8]; /* ends at expected == NULL */
} waiter_row;

/* An acceptor on the Describe response's status, or on the error code. */
/* clang-format off */
#define ON_STATUS(state, status) {(state), 0, (status)}
#define ON_ERROR(state, code)    {(state), 1, (code)}
/* clang-format on */

static const waiter_row waiters[SM_SAGEMAKER_WAITER_COUNT] = {
    [SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE] =
        {
            .name = "TrainingJobCompletedOrStopped",
            .kind = SM_SAGEMAKER_TRAINING_JOB,
            .delay = 120,
            .max_attempts = 180,
            .acceptors = {ON_STATUS(ACCEPT_SUCCESS, "Completed"),
                          ON_STATUS(ACCEPT_SUCCESS, "Stopped"),
                          ON_STATUS(ACCEPT_FAILURE, "Failed"),
                          ON_ERROR(ACCEPT_FAILURE, "ValidationException")},
        },
    [SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE] =
        {
            .name = "EndpointInService",
            .kind = SM_SAGEMAKER_ENDPOINT,
            .delay = 30,
            .max_attempts = 120,
            .acceptors = {ON_STATUS(ACCEPT_SUCCESS, "InService"),
                          ON_STATUS(ACCEPT_FAILURE, "Failed"),
                          ON_ERROR(ACCEPT_FAILURE, "ValidationException")},
        },
    [SM_SAGEMAKER_WAIT_ENDPOINT_DELETED] =
        {
            .name = "EndpointDeleted",
            .kind = SM_SAGEMAKER_ENDPOINT,
            .delay = 30,
            .max_attempts = 60,
            .acceptors = {ON_ERROR(ACCEPT_SUCCESS, "ValidationException"),
                          ON_STATUS(ACCEPT_FAILURE, "Failed")},
        },
    [SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE] =
        {
            .name = "TransformJobCompletedOrStopped",
            .kind = SM_SAGEMAKER_TRANSFORM_JOB,
            .delay = 60,
            .max_attempts = 60,
            .acceptors = {ON_STATUS(ACCEPT_SUCCESS, "Completed"),
                          ON_STATUS(ACCEPT_SUCCESS, "Stopped"),
                          ON_STATUS(ACCEPT_FAILURE, "Failed"),
                          ON_ERROR(ACCEPT_FAILURE, "ValidationException")},
        },
    /* The SDK polls tuning jobs every 5 s with no limit; 30 s for a day
     * keeps to the request rate of the endpoint waiter. */
    [SM_SAGEMAKER_WAIT_TUNING_JOB_DONE] =
        {
            .name = "HyperParameterTuningJobCompletedOrStopped",
            .kind = SM_SAGEMAKER_TUNING_JOB,
            .delay = 30,
            .max_attempts = 2880,
            .acceptors = {ON_STATUS(ACCEPT_SUCCESS, "Completed"),
                          ON_STATUS(ACCEPT_SUCCESS, "Stopped"),
                          ON_STATUS(ACCEPT_FAILURE, "Failed"),
                          ON_STATUS(ACCEPT_FAILURE, "DeleteFailed"),
                          ON_ERROR(ACCEPT_FAILURE, "ValidationException"),
                          ON_ERROR(ACCEPT_FAILURE, "ResourceNotFound")},
        },
};

/* The SDK's _wait_until lets AccessDeniedException pass this long. */
#define ACCESS_DENIED_GRACE 300.0
/* The longest sleep between two keep_waiting calls. */
#define SLICE 0.25

static const waiter_row *row_of(sm_sagemaker_waiter waiter)
{
    if ((int)waiter < 0 || waiter >= SM_SAGEMAKER_WAITER_COUNT)
        waiter = SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE;
    return &waiters[waiter];
}

const char *sm_sagemaker_waiter_name(sm_sagemaker_waiter waiter)
{
    return row_of(waiter)->name;
}

sm_sagemaker_kind sm_sagemaker_waiter_kind(sm_sagemaker_waiter waiter)
{
    return row_of(waiter)->kind;
}

double sm_sagemaker_waiter_delay(sm_sagemaker_waiter waiter)
{
    return row_of(waiter)->delay;
}

int sm_sagemaker_waiter_max_attempts(sm_sagemaker_waiter waiter)
{
    return row_of(waiter)->max_attempts;
}

int sm_sagemaker_waiter_accept(sm_sagemaker_waiter waiter,
                               const json_t *response,
                               const sm_aws_error *error)
{
    const waiter_row *row = row_of(waiter);
    sm_sagemaker_state state;
    if (response)
        sm_sagemaker_state_read(row->kind, response, &state);
    for (const acceptor *a = row->acceptors; a->expected; a++) {
        if (a->on_error && !response && error &&
            strcmp(error->code, a->expected) == 0)
            return a->state;
        if (!a->on_error && response && strcmp(state.status, a->expected) == 0)
            return a->state;
    }
    return response ? ACCEPT_RETRY : ACCEPT_UNHANDLED_ERROR;
}

/* ---- the clock ---------------------------------------------------------- */

static double real_now(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void real_sleep(void *ctx, double seconds)
{
    (void)ctx;
    if (seconds <= 0)
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* What a wait works with: the options with the defaults filled in. */
typedef struct waiting {
    const waiter_row *row;
    sm_sagemaker_waiter waiter;
    const char *name;
    sm_sagemaker_wait_options o;
    double start, poll, max;
} waiting;

static double now(const waiting *w)
{
    return w->o.clock.now(w->o.clock.ctx);
}

static int keep_waiting(const waiting *w)
{
    return !w->o.keep_waiting || w->o.keep_waiting(w->o.ctx);
}

/* Sleep `seconds` in slices, asking keep_waiting between them. Returns 0,
 * or 1 when told to stop. */
static int nap(const waiting *w, double seconds)
{
    double end = now(w) + seconds;
    for (;;) {
        if (!keep_waiting(w))
            return 1;
        double left = end - now(w);
        if (left <= 0)
            return 0;
        w->o.clock.sleep(w->o.clock.ctx, left < SLICE ? left : SLICE);
    }
}

/* ---- outcomes ----------------------------------------------------------- */

/* Fill `err` for an ending that was not the service's error: `code` is
 * one of the SM_SAGEMAKER_WAIT_*_CODE. */
static void say(const waiting *w, sm_aws_error *err, const char *code,
                const sm_sagemaker_state *state)
{
    const char *label = sm_sagemaker_kind_label(w->row->kind);
    const char *status = *state->status ? state->status : "unknown";
    double waited = now(w) - w->start;
    memset(err, 0, sizeof *err);
    snprintf(err->service, sizeof err->service, "sagemaker");
    snprintf(err->operation, sizeof err->operation, "%s",
             sm_sagemaker_operation(w->row->kind, SM_SAGEMAKER_OP_DESCRIBE));
    snprintf(err->code, sizeof err->code, "%s", code);
    if (strcmp(code, SM_SAGEMAKER_WAIT_FAILED_CODE) == 0 &&
        *state->failure_reason)
        snprintf(err->message, sizeof err->message, "The %s %s failed: %s",
                 label, w->name, state->failure_reason);
    else if (strcmp(code, SM_SAGEMAKER_WAIT_FAILED_CODE) == 0)
        snprintf(err->message, sizeof err->message,
                 "The %s %s ended in status %s.", label, w->name, status);
    else if (strcmp(code, SM_SAGEMAKER_WAIT_TIMEOUT_CODE) == 0)
        snprintf(err->message, sizeof err->message,
                 "Gave up waiting for the %s %s after %.0f s; its status is "
                 "%s.",
                 label, w->name, waited, status);
    else
        snprintf(err->message, sizeof err->message,
                 "Stopped waiting for the %s %s after %.0f s; its status is "
                 "%s.",
                 label, w->name, waited, status);
}

/* Keep `response` (stolen) as the latest one, dropping the one before. */
static void keep_latest(json_t **latest, json_t *response)
{
    json_decref(*latest);
    *latest = response;
}

static void report(const waiting *w, int attempt, const json_t *response,
                   const sm_sagemaker_state *state, char *last_seen,
                   size_t size)
{
    char seen[256];
    snprintf(seen, sizeof seen, "%s/%s", state->status,
             state->secondary_status);
    sm_sagemaker_wait_progress p = {
        w->waiter, attempt,  now(w) - w->start, strcmp(seen, last_seen) != 0,
        state,     response,
    };
    snprintf(last_seen, size, "%s", seen);
    if (w->o.progress)
        w->o.progress(w->o.ctx, &p);
}

/* One poll: Describe, report, judge. Returns an ACCEPT_* value and sets
 * *answered when Describe answered; when it did not, `e` holds its error. */
static int poll_once(const sm_awsjson_caller *caller, const waiting *w,
                     int attempt, json_t **latest, char *last_seen, size_t size,
                     int *answered, sm_aws_error *e)
{
    json_t *response =
        sm_sagemaker_describe_via(caller, w->row->kind, w->name, e);
    *answered = response != NULL;
    if (response) {
        sm_sagemaker_state state;
        keep_latest(latest, response);
        sm_sagemaker_state_read(w->row->kind, response, &state);
        report(w, attempt, response, &state, last_seen, size);
    }
    int verdict = sm_sagemaker_waiter_accept(w->waiter, response, e);
    if (verdict == ACCEPT_UNHANDLED_ERROR &&
        sm_awsjson_error_is(e, "AccessDeniedException") &&
        now(w) - w->start < ACCESS_DENIED_GRACE)
        verdict = ACCEPT_RETRY;
    return verdict;
}

/* Fill `w` from the options, with the waiter's defaults and the real
 * clock where they are left zero, and start its clock. */
static void waiting_start(waiting *w, sm_sagemaker_waiter waiter,
                          const char *name,
                          const sm_sagemaker_wait_options *options)
{
    memset(w, 0, sizeof *w);
    w->row = row_of(waiter);
    w->waiter = waiter;
    w->name = name;
    if (options)
        w->o = *options;
    if (!w->o.clock.now)
        w->o.clock.now = real_now;
    if (!w->o.clock.sleep)
        w->o.clock.sleep = real_sleep;
    w->poll = w->o.poll_seconds > 0 ? w->o.poll_seconds : w->row->delay;
    w->max = w->o.max_seconds > 0 ? w->o.max_seconds
                                  : w->row->delay * w->row->max_attempts;
    w->start = now(w);
}

sm_sagemaker_wait_result
sm_sagemaker_wait_via(const sm_awsjson_caller *caller,
                      sm_sagemaker_waiter waiter, const char *name,
                      const sm_sagemaker_wait_options *options, json_t **last,
                      sm_aws_error *err)
{
    waiting w;
    waiting_start(&w, waiter, name, options);
    json_t *latest = NULL;
    char last_seen[256] = "\n"; /* matches no status: the first reports */
    sm_sagemaker_state state;
    sm_sagemaker_wait_result result = SM_SAGEMAKER_WAIT_INTERRUPTED;
    sm_sagemaker_state_read(w.row->kind, NULL, &state); /* all "" */
    memset(err, 0, sizeof *err);
    for (int attempt = 1; keep_waiting(&w); attempt++) {
        int answered = 0;
        int verdict = poll_once(caller, &w, attempt, &latest, last_seen,
                                sizeof last_seen, &answered, err);
        if (latest)
            sm_sagemaker_state_read(w.row->kind, latest, &state);
        if (verdict == ACCEPT_SUCCESS) {
            memset(err, 0, sizeof *err);
            result = SM_SAGEMAKER_WAIT_SUCCESS;
            goto out;
        }
        if (verdict == ACCEPT_FAILURE) {
            if (answered) /* else the service's error says it */
                say(&w, err, SM_SAGEMAKER_WAIT_FAILED_CODE, &state);
            result = SM_SAGEMAKER_WAIT_FAILURE;
            goto out;
        }
        if (verdict == ACCEPT_UNHANDLED_ERROR) {
            result = SM_SAGEMAKER_WAIT_ERROR;
            goto out;
        }
        double elapsed = now(&w) - w.start;
        if (elapsed >= w.max) {
            say(&w, err, SM_SAGEMAKER_WAIT_TIMEOUT_CODE, &state);
            result = SM_SAGEMAKER_WAIT_TIMEOUT;
            goto out;
        }
        double left = w.max - elapsed;
        if (nap(&w, w.poll < left ? w.poll : left))
            break;
    }
    say(&w, err, SM_SAGEMAKER_WAIT_INTERRUPTED_CODE, &state);
out:
    if (last)
        *last = latest;
    else
        json_decref(latest);
    return result;
}

sm_sagemaker_wait_result
sm_sagemaker_wait(sm_aws *aws, sm_sagemaker_waiter waiter, const char *name,
                  const sm_sagemaker_wait_options *options, json_t **last,
                  sm_aws_error *err)
{
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_wait_via(&caller, waiter, name, options, last, err);
}
