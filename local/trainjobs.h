/* trainjobs: the training_jobs table: one row per training job, holding
 * the request as it came (the configuration DescribeTrainingJob echoes),
 * the statuses and their transitions, times, metrics, the artifact, and
 * the process that runs it. Thread-safe: every call takes the database
 * lock. */
#ifndef SM_TRAINJOBS_H
#define SM_TRAINJOBS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "db.h"
#include "error.h"

typedef enum sm_trainjobs_status {
    SM_TRAINJOBS_FAILED = -1, /* the database failed; `err` says how */
    SM_TRAINJOBS_OK = 0,
    SM_TRAINJOBS_EXISTS,      /* the name is taken */
    SM_TRAINJOBS_MISSING,     /* no such job */
    SM_TRAINJOBS_LIMIT,       /* too many jobs run already */
    SM_TRAINJOBS_NOT_RUNNING, /* it ended (or is stopping) already */
} sm_trainjobs_status;

/* Create the table. 0, or -1 with `err`. */
int sm_trainjobs_init(sm_db *db, sm_error *err);

/* A new job: InProgress, Starting ("Launching requested ML instances"). */
typedef struct sm_trainjobs_new {
    const char *name;
    const char *arn;
    const json_t *request;      /* the CreateTrainingJob request */
    const char *tuning_job_arn; /* or NULL */
    double created;
    size_t max_running; /* LIMIT when this many are InProgress */
} sm_trainjobs_new;

/* Insert the job. EXISTS fills `existing_arn` (the arn of the job with
 * that name, any case); LIMIT fills *running. */
sm_trainjobs_status sm_trainjobs_create(sm_db *db, const sm_trainjobs_new *job,
                                        char existing_arn[256],
                                        size_t *running, sm_error *err);

/* The job as DescribeTrainingJob answers it, new in *out. */
sm_trainjobs_status sm_trainjobs_describe(sm_db *db, const char *name,
                                          json_t **out, sm_error *err);

/* The CreateTrainingJob request of the job (new) and its exact name. */
sm_trainjobs_status sm_trainjobs_request(sm_db *db, const char *name,
                                         json_t **request, char out_name[64],
                                         sm_error *err);

/* Close the open secondary status at `now` and open `secondary` with
 * `message`; `primary` (NULL keeps it) becomes TrainingJobStatus. A
 * terminal secondary status (Completed, Failed, Stopped,
 * MaxRuntimeExceeded) also ends the job: TrainingEndTime, and the
 * process is forgotten. */
sm_trainjobs_status sm_trainjobs_advance(sm_db *db, const char *name,
                                         const char *primary,
                                         const char *secondary,
                                         const char *message, double now,
                                         sm_error *err);

/* What a job's run records along the way. */
typedef enum sm_trainjobs_field {
    SM_TRAINJOBS_FAILURE_REASON, /* text */
    SM_TRAINJOBS_MODEL_ARTIFACTS, /* text: s3://.../model.tar.gz */
    SM_TRAINJOBS_METRICS,         /* text: FinalMetricDataList's JSON */
    SM_TRAINJOBS_LOG_STREAM,      /* text */
    SM_TRAINJOBS_STARTED,         /* time: TrainingStartTime */
} sm_trainjobs_field;

sm_trainjobs_status sm_trainjobs_set_text(sm_db *db, const char *name,
                                          sm_trainjobs_field field,
                                          const char *value, sm_error *err);
sm_trainjobs_status sm_trainjobs_set_time(sm_db *db, const char *name,
                                          sm_trainjobs_field field,
                                          double value, sm_error *err);

/* The process running the job (pid 0: none) and its start time as
 * /proc/PID/stat counts it, to know it again after a restart. */
sm_trainjobs_status sm_trainjobs_set_process(sm_db *db, const char *name,
                                             pid_t pid,
                                             unsigned long long start_ticks,
                                             sm_error *err);

/* StopTrainingJob: an InProgress job becomes Stopping. NOT_RUNNING fills
 * `status` with the status it has. */
sm_trainjobs_status sm_trainjobs_stop(sm_db *db, const char *name, double now,
                                      char status[32], sm_error *err);

/* Whether StopTrainingJob was asked for the job. */
int sm_trainjobs_stopping(sm_db *db, const char *name);

/* A ListTrainingJobs query. Strings borrowed; times < 0: no bound. */
typedef struct sm_trainjobs_query {
    const char *name_contains;
    const char *status_equals;
    double created_after, created_before;
    double modified_after, modified_before;
    const char *sort_by;    /* "Name", "CreationTime" (default), "Status" */
    int descending;
    size_t offset, limit;
} sm_trainjobs_query;

/* TrainingJobSummaries (new array) and whether more follow. */
sm_trainjobs_status sm_trainjobs_list(sm_db *db, const sm_trainjobs_query *q,
                                      json_t **summaries, int *more,
                                      sm_error *err);

/* A job the service was running when it stopped. */
typedef struct sm_trainjobs_orphan {
    char name[64];
    char status[32];
    pid_t pid;
    unsigned long long start_ticks;
} sm_trainjobs_orphan;

/* The jobs left InProgress or Stopping (new array, free it). */
sm_trainjobs_status sm_trainjobs_orphans(sm_db *db,
                                         sm_trainjobs_orphan **out,
                                         size_t *count, sm_error *err);

#endif
