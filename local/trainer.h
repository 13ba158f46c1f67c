/* trainer: runs training jobs. Each job gets a thread in the service that
 * downloads its channels from the store, starts the job's own process
 * (`sagemagic-local train-job WORK_DIR`, see train_job.h) in its own
 * process group, turns its output into CloudWatch Logs events
 * (/aws/sagemaker/TrainingJobs, stream NAME/algo-1-EPOCH) and its round
 * lines into FinalMetricDataList, stops it on StopTrainingJob or past
 * MaxRuntimeInSeconds (SIGTERM, then SIGKILL), reaps it, and uploads
 * model.tar.gz. A crash of the process fails the job, never the service.
 * When the service starts, jobs a previous run left InProgress are
 * Failed and their processes, if still alive, killed. */
#ifndef SM_TRAINER_H
#define SM_TRAINER_H

#include <stddef.h>

#include "db.h"
#include "error.h"
#include "trainjobs.h"

struct sm_store;

typedef struct sm_trainer sm_trainer;

typedef struct sm_trainer_config {
    sm_db *db;               /* borrowed; outlives the trainer */
    struct sm_store *store;  /* borrowed */
    const char *data_dir;    /* borrowed: jobs work in DATA_DIR/training */
    const char *executable;  /* borrowed: this program, for train-job */
    size_t max_jobs;         /* at once; 0: SAGEMAGIC_LOCAL_MAX_TRAINING_JOBS
                              * or 4 */
    int stop_grace_ms;       /* SIGTERM to SIGKILL; 0: 10000 */
} sm_trainer_config;

/* The reason a job gets when the service stopped while it ran. */
#define SM_TRAINER_INTERRUPTED                                                \
    "InternalServerError: sagemagic-local stopped while the training job "    \
    "ran, so the job was ended; create it again under a new name"

/* Create the tables (training jobs, logs), end the jobs a previous run
 * left behind, and get ready. New trainer, or NULL with `err`. */
sm_trainer *sm_trainer_open(const sm_trainer_config *config, sm_error *err);

/* How many jobs may run at once. */
size_t sm_trainer_max_jobs(const sm_trainer *self);

/* Start running the job `name`, already created in the table. 0, or -1
 * with `err` (the job is then Failed). */
int sm_trainer_start(sm_trainer *self, const char *name, sm_error *err);

/* StopTrainingJob was recorded for `name`: stop its process. */
void sm_trainer_stop(sm_trainer *self, const char *name);

/* What CreateTrainingJob does once the request is checked (and what a
 * tuning job does for each of its trials): insert `job` (max_running is
 * filled in here) and start it. EXISTS and LIMIT as sm_trainjobs_create;
 * when the job cannot start it is Failed, and OK is returned all the
 * same, as the job exists. */
sm_trainjobs_status sm_trainer_submit(sm_trainer *self, sm_trainjobs_new *job,
                                      char existing_arn[256], size_t *running,
                                      sm_error *err);

/* What StopTrainingJob does: an InProgress job becomes Stopping and its
 * process is told. MISSING, NOT_RUNNING (with its `status`) as
 * sm_trainjobs_stop. */
sm_trainjobs_status sm_trainer_request_stop(sm_trainer *self, const char *name,
                                            char status[32], sm_error *err);

/* Stop every job (they fail with SM_TRAINER_INTERRUPTED), wait for the
 * threads, free; *self = NULL. */
void sm_trainer_close(sm_trainer **self);

#endif
