/* tuner: runs hyperparameter tuning jobs. One thread in the service
 * looks after every tuning job InProgress or Stopping: it proposes the
 * hyperparameters of the next trials (Random, Grid, or Bayesian, see
 * tunebayes.h), launches each trial as a training job through the trainer
 * (named <tuning job>-<3-digit index>-<8 hex>, carrying its TuningJobArn),
 * keeps MaxParallelTrainingJobs of them running until
 * MaxNumberOfTrainingJobs have run, stops them on
 * StopHyperParameterTuningJob, and ends the tuning job.
 *
 * After a restart of the service, a tuning job that was InProgress goes
 * on: its trials that the restart interrupted are Failed with the
 * trainer's InternalServerError reason (counted as RetryableError), and,
 * as SageMaker retries such trials, each is run again once under a new
 * name with the same hyperparameters; the trials not launched yet are
 * launched. A tuning job that was Stopping becomes Stopped. */
#ifndef SM_TUNER_H
#define SM_TUNER_H

#include <jansson.h>
#include <stddef.h>

#include "db.h"
#include "error.h"
#include "trainer.h"
#include "tunespace.h"

typedef struct sm_tuner sm_tuner;

typedef struct sm_tuner_config {
    sm_db *db;           /* borrowed; outlives the tuner */
    sm_trainer *trainer; /* borrowed; outlives the tuner */
    int tick_ms;         /* how often trials are looked at; 0: 100 */
} sm_tuner_config;

/* Create the tables and start the thread, which picks up the tuning jobs
 * a previous run left InProgress. New tuner, or NULL with `err`. */
sm_tuner *sm_tuner_open(const sm_tuner_config *config, sm_error *err);

/* Look at the tuning jobs now (one was created or asked to stop). */
void sm_tuner_wake(sm_tuner *self);

/* Stop the thread (running trials are left to the trainer, which ends
 * them when it closes: close the tuner first); free; *self = NULL. */
void sm_tuner_close(sm_tuner **self);

/* ---- a tuning job's plan, shared with the API --------------------------- */

#define SM_TUNER_GRID_LIMIT 500 /* training jobs a Grid search may need */

/* What a CreateHyperParameterTuningJob request asks for. Borrows from
 * the request, which must outlive it. */
typedef struct sm_tuner_plan {
    const char *strategy;     /* Random, Grid, Bayesian */
    const char *metric;       /* the objective's MetricName, or NULL */
    int maximize;             /* the objective's Type */
    size_t max_jobs;          /* trials in all (Grid: the grid's size) */
    size_t max_parallel;      /* trials at once */
    const json_t *definition; /* TrainingJobDefinition */
    sm_tunespace space;
} sm_tuner_plan;

/* Read a request already checked member by member: the ranges (as
 * tunespace checks them) and the budget. 0, or -1 with `err`. */
int sm_tuner_plan_read(const json_t *request, sm_tuner_plan *out,
                       sm_error *err);

/* The hyperparameters the point `u` stands for (new object of strings). */
json_t *sm_tuner_tuned(const sm_tuner_plan *plan, const double *u);

/* The CreateTrainingJob request of the trial `name` with the tuned
 * hyperparameters `tuned` over the static ones, and
 * _tuning_objective_metric as SageMaker adds it (new). */
json_t *sm_tuner_trial_request(const sm_tuner_plan *plan, const char *name,
                               const json_t *tuned);

#endif
