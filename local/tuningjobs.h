/* tuningjobs: the tables of hyperparameter tuning jobs. tuning_jobs holds
 * each job's request as it came (what DescribeHyperParameterTuningJob
 * echoes), its status, times and random seed; tuning_trials ties each
 * trial to its training job (a row of training_jobs, trainjobs.h, which
 * holds its status and metrics) with the hyperparameters chosen and the
 * point of the search space they came from. Thread-safe: every call takes
 * the database lock. */
#ifndef SM_TUNINGJOBS_H
#define SM_TUNINGJOBS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "trainjobs.h"
#include "tunespace.h"

typedef enum sm_tuningjobs_status {
    SM_TUNINGJOBS_FAILED = -1, /* the database failed; `err` says how */
    SM_TUNINGJOBS_OK = 0,
    SM_TUNINGJOBS_EXISTS,      /* the name is taken */
    SM_TUNINGJOBS_MISSING,     /* no such job */
    SM_TUNINGJOBS_NOT_RUNNING, /* it is not InProgress */
} sm_tuningjobs_status;

/* Create the tables. 0, or -1 with `err`. */
int sm_tuningjobs_init(sm_db *db, sm_error *err);

/* A tuning job as stored. */
typedef struct sm_tuningjobs_job {
    char name[64];
    char arn[256];
    char status[32];
    json_t *request;    /* new: the CreateHyperParameterTuningJob body */
    char failure[1024]; /* "" when none */
    uint64_t seed;      /* the strategies' randomness */
    double created, modified, ended; /* ended < 0: not yet */
} sm_tuningjobs_job;

void sm_tuningjobs_job_clear(sm_tuningjobs_job *self);

/* Insert a new InProgress job. EXISTS fills `existing_arn`. */
sm_tuningjobs_status sm_tuningjobs_create(sm_db *db,
                                          const sm_tuningjobs_job *job,
                                          char existing_arn[256],
                                          sm_error *err);

/* The job named `name` (any case) into *out (clear it after). */
sm_tuningjobs_status sm_tuningjobs_get(sm_db *db, const char *name,
                                       sm_tuningjobs_job *out, sm_error *err);

/* Set the status; `failure` NULL keeps it; `ends` stamps the end time. */
sm_tuningjobs_status sm_tuningjobs_set_status(sm_db *db, const char *name,
                                              const char *status,
                                              const char *failure, int ends,
                                              double now, sm_error *err);

/* StopHyperParameterTuningJob: InProgress becomes Stopping.
 * NOT_RUNNING fills `status` with the status it has. */
sm_tuningjobs_status sm_tuningjobs_stop(sm_db *db, const char *name, double now,
                                        char status[32], sm_error *err);

/* The names of the jobs InProgress or Stopping (new array). */
sm_tuningjobs_status sm_tuningjobs_active(sm_db *db, char (**names)[64],
                                          size_t *count, sm_error *err);

/* The names of a page of jobs (new array) and whether more follow. A
 * ListHyperParameterTuningJobs query has the members of ListTrainingJobs'
 * (trainjobs.h). */
sm_tuningjobs_status sm_tuningjobs_list(sm_db *db, const sm_trainjobs_query *q,
                                        char (**names)[64], size_t *count,
                                        int *more, sm_error *err);

/* ---- trials ------------------------------------------------------------- */

/* A trial: the tuning_trials row and its training job's state. */
typedef struct sm_tuningjobs_trial {
    char name[64];
    char arn[256];
    char status[32];   /* TrainingJobStatus */
    long index;        /* 1, 2, ... in the order launched */
    char retry_of[64]; /* the trial it runs again, or "" */
    json_t *tuned;     /* new: TunedHyperParameters */
    double point[SM_TUNESPACE_MAX];
    json_t *metrics;                /* new: FinalMetricDataList, or NULL */
    char failure[1024];             /* FailureReason, or "" */
    double created, started, ended; /* < 0: not yet */
} sm_tuningjobs_trial;

/* Record a trial of `tuning` launched as the training job `trial`. */
typedef struct sm_tuningjobs_new_trial {
    const char *tuning, *trial, *retry_of; /* retry_of may be NULL */
    long index;
    const json_t *tuned;
    const double *point;
    size_t dims;
} sm_tuningjobs_new_trial;

sm_tuningjobs_status sm_tuningjobs_add_trial(sm_db *db,
                                             const sm_tuningjobs_new_trial *t,
                                             sm_error *err);

/* Every trial of `tuning`, by index (new array; free with
 * sm_tuningjobs_trials_free). */
sm_tuningjobs_status sm_tuningjobs_trials(sm_db *db, const char *tuning,
                                          sm_tuningjobs_trial **out,
                                          size_t *count, sm_error *err);

void sm_tuningjobs_trials_free(sm_tuningjobs_trial **trials, size_t count);

/* The trial's value of `metric` among its final metrics; 0 when found. */
int sm_tuningjobs_trial_metric(const sm_tuningjobs_trial *t, const char *metric,
                               double *value);

#endif
