/* transform: SageMaker batch transform for the local service. A job runs
 * in its own thread: the model loaded from its model.tar.gz, every object
 * under the input prefix split into records (Line or None), sent in
 * mini-batches (MultiRecord) or one by one (SingleRecord) through the
 * XGBoost container's batch serving, the answers assembled into
 * <input>.out objects under the output path, its progress written to the
 * log group /aws/sagemaker/TransformJobs. The operations are rows of
 * sm_transform_ops. */
#ifndef SM_TRANSFORM_H
#define SM_TRANSFORM_H

#include "db.h"
#include "error.h"
#include "jsonapi.h"
#include "serving.h"

struct sm_store;

typedef struct sm_transform sm_transform;

/* All borrowed; they outlive the transform. */
typedef struct sm_transform_config {
    sm_db *db;
    struct sm_store *store;
    sm_serving *serving; /* models */
    const char *account_id;
    const char *region;
} sm_transform_config;

/* Create the table; jobs a stop of the service left InProgress start
 * again from the beginning, Stopping ones become Stopped. New transform,
 * or NULL with `err`. */
sm_transform *sm_transform_open(const sm_transform_config *config,
                                sm_error *err);

/* Ask every running job to stop between two mini-batches and wait for
 * them (they stay InProgress, to run again at the next start); free;
 * *self = NULL. */
void sm_transform_close(sm_transform **self);

/* Wait up to `ms` milliseconds for no job to be running; 0 when none
 * is, -1 at the timeout (for tests). */
int sm_transform_wait_idle(sm_transform *self, int ms);

/* CreateTransformJob, DescribeTransformJob, ListTransformJobs,
 * StopTransformJob. They find the transform at env->transform. */
extern const sm_jsonapi_ops sm_transform_ops;

/* ---- the pieces, for tests ---------------------------------------------- */

/* How records are cut and sent. */
typedef struct sm_transform_plan {
    int split_line;     /* SplitType Line */
    int split_recordio; /* SplitType RecordIO (neither: the whole object) */
    int single_record;  /* BatchStrategy SingleRecord */
    size_t max_payload; /* bytes per request */
} sm_transform_plan;

/* Cut `data` into the request payloads `plan` asks for, calling `send`
 * with each (borrowed for the call): lines without their newline, blank
 * lines skipped, joined by '\n' in a mini-batch; or whole RecordIO
 * frames, a mini-batch a run of them. `send` returns 0 to go
 * on. Returns 0; 1 when a record alone is larger than max_payload or the
 * data is not RecordIO where it should be (with `err`); or what `send`
 * returned. */
typedef int (*sm_transform_send_fn)(void *ctx, const char *payload, size_t len);
int sm_transform_split(const sm_transform_plan *plan, const char *data,
                       size_t len, sm_transform_send_fn send, void *ctx,
                       sm_error *err);

#endif
