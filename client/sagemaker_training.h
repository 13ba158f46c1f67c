/* sagemaker_training: training jobs and hyperparameter tuning jobs, from
 * typed arguments to requests, and from Describe and List responses to
 * typed summaries. Conventions as in sagemaker.h. */
#ifndef SM_SAGEMAKER_TRAINING_H
#define SM_SAGEMAKER_TRAINING_H

#include "sagemaker.h"

/* Defaults the SDK's Estimator uses. */
#define SM_SAGEMAKER_DEFAULT_VOLUME_GB 30
#define SM_SAGEMAKER_DEFAULT_MAX_RUNTIME 86400

/* One input channel (every string borrowed; NULL leaves a member out). */
typedef struct sm_sagemaker_channel {
    const char *name;           /* "train", "validation" */
    const char *s3_uri;         /* s3://bucket/prefix */
    const char *s3_data_type;   /* NULL: S3Prefix; ManifestFile, ... */
    const char *distribution;   /* FullyReplicated, ShardedByS3Key */
    const char *content_type;   /* "text/csv"; left out, XGBoost reads
                                 * libsvm */
    const char *compression;    /* None, Gzip */
    const char *input_mode;     /* File, Pipe, FastFile; NULL: the job's */
    const char *record_wrapper; /* None, RecordIO */
} sm_sagemaker_channel;

/* A metric the service reads from the log with a regex. Built-in
 * algorithms bring their own: leave them out for XGBoost. */
typedef struct sm_sagemaker_metric_definition {
    const char *name;
    const char *regex;
} sm_sagemaker_metric_definition;

typedef struct sm_sagemaker_resources {
    const char *instance_type; /* required: "ml.m5.large" */
    int instance_count;        /* 0: 1 */
    int volume_size_gb;        /* 0: SM_SAGEMAKER_DEFAULT_VOLUME_GB */
    const char *volume_kms_key_id;
    int keep_alive_seconds; /* warm pool, 1-21600; 0: none */
} sm_sagemaker_resources;

/* What a training job runs: shared by a training job and the training
 * job definition of a tuning job. */
typedef struct sm_sagemaker_training_def {
    const char *image;      /* required: the training image URI */
    const char *input_mode; /* NULL: File */
    const sm_sagemaker_metric_definition *metrics;
    size_t metric_count;
    const char *role_arn; /* required */
    const sm_sagemaker_channel *channels;
    size_t channel_count;
    const char *output_path; /* required: s3://bucket/prefix */
    const char *output_kms_key_id;
    sm_sagemaker_resources resources;
    long max_runtime_seconds; /* 0: SM_SAGEMAKER_DEFAULT_MAX_RUNTIME */
    long max_wait_seconds;    /* managed spot: 0 means max runtime */
    /* The hyperparameters, as strings ("10", not 10); for a tuning job
     * the static ones. */
    const sm_sagemaker_kv *hyperparameters;
    size_t hyperparameter_count;
    const sm_sagemaker_kv *environment;
    size_t environment_count;
    int spot; /* EnableManagedSpotTraining */
    const char *checkpoint_s3_uri;
    const char *checkpoint_local_path;
    int max_retry_attempts;                /* 1-30; 0: no RetryStrategy */
    const char *const *security_group_ids; /* VpcConfig, with subnets */
    size_t security_group_count;
    const char *const *subnets;
    size_t subnet_count;
    int network_isolation;
    int inter_container_encryption;
} sm_sagemaker_training_def;

/* ---- training jobs ---------------------------------------------------- */

typedef struct sm_sagemaker_training_job_spec {
    const char *name; /* 1-63 letters, digits, hyphens */
    sm_sagemaker_training_def training;
    const sm_sagemaker_kv *tags;
    size_t tag_count;
} sm_sagemaker_training_job_spec;

json_t *sm_sagemaker_create_training_job_request(
    const sm_sagemaker_training_job_spec *spec, sm_error *err);

/* Create the job; 0 with *arn_out (new; NULL allowed to ignore it), or -1
 * with `err` filled. */
int sm_sagemaker_create_training_job(sm_aws *aws,
                                     const sm_sagemaker_training_job_spec *spec,
                                     char **arn_out, sm_aws_error *err);

/* A final metric (FinalMetricDataList). */
typedef struct sm_sagemaker_metric {
    const char *name;
    double value;
    double timestamp;
} sm_sagemaker_metric;

/* A SecondaryStatusTransitions entry. */
typedef struct sm_sagemaker_transition {
    const char *status;
    const char *message;
    double start_time, end_time; /* end 0 while current */
} sm_sagemaker_transition;

/* DescribeTrainingJob, typed. Strings borrow from `raw`; the arrays are
 * owned. */
typedef struct sm_sagemaker_training_job {
    json_t *raw;
    sm_sagemaker_state state;
    const char *model_artifacts; /* s3://.../output/model.tar.gz */
    const char *image;
    const char *instance_type;
    int instance_count;
    const char *output_path;
    const char *tuning_job_arn;
    double training_seconds, billable_seconds; /* 0 until known */
    sm_sagemaker_metric *metrics;
    size_t metric_count;
    sm_sagemaker_transition *transitions;
    size_t transition_count;
} sm_sagemaker_training_job;

/* Read a DescribeTrainingJob response, which `response` steals. 0, or -1
 * when out of memory (`out` is cleared then). */
int sm_sagemaker_training_job_read(json_t *response,
                                   sm_sagemaker_training_job *out);
void sm_sagemaker_training_job_clear(sm_sagemaker_training_job *self);

int sm_sagemaker_describe_training_job(sm_aws *aws, const char *name,
                                       sm_sagemaker_training_job *out,
                                       sm_aws_error *err);

/* ---- tuning jobs ------------------------------------------------------ */

typedef enum sm_sagemaker_range_type {
    SM_SAGEMAKER_RANGE_CONTINUOUS,
    SM_SAGEMAKER_RANGE_INTEGER,
    SM_SAGEMAKER_RANGE_CATEGORICAL,
} sm_sagemaker_range_type;

/* A hyperparameter range. Bounds are strings as the API wants them. */
typedef struct sm_sagemaker_range {
    sm_sagemaker_range_type type;
    const char *name;
    const char *min, *max;     /* continuous, integer: min <= max */
    const char *scaling;       /* Auto, Linear, Logarithmic (min > 0),
                                * ReverseLogarithmic (continuous, in (0,1)) */
    const char *const *values; /* categorical: 1-30 */
    size_t value_count;
} sm_sagemaker_range;

/* A range written as the command language writes it (COMMANDS.md, %tune):
 * "eta=0.01..0.3" continuous, "max_depth=3..10:int" integer,
 * "alpha=0.001..10:log" with a scale (":log", ":linear", ":auto",
 * ":reverse-log"; ":int:log" both), "booster=gbtree|dart" categorical.
 * `range` borrows from the owned copy and value list. */
typedef struct sm_sagemaker_range_text {
    sm_sagemaker_range range;
    char *copy;
    const char **values;
} sm_sagemaker_range_text;

/* Parse `text` (borrowed) into `out` (clear it after, also on failure).
 * Only the notation is checked here; bounds, scales and counts are
 * checked when the request is built. 0, or -1 with `err` set to one
 * sentence. */
int sm_sagemaker_range_parse(const char *text, sm_sagemaker_range_text *out,
                             sm_error *err);
void sm_sagemaker_range_text_clear(sm_sagemaker_range_text *self);

typedef struct sm_sagemaker_tuning_job_spec {
    const char *name;             /* 1-32 letters, digits, hyphens */
    const char *strategy;         /* NULL: Bayesian; Random, Hyperband, Grid */
    const char *objective_metric; /* "validation:auc"; required but for
                                   * Random and Grid */
    const char *objective_type;   /* Maximize, Minimize */
    int max_jobs;                 /* >= 1; 0: left out (Grid computes it) */
    int max_parallel;             /* >= 1, required */
    long max_runtime_seconds;     /* 120-15768000; 0: none */
    const sm_sagemaker_range *ranges; /* at most 30 of each type */
    size_t range_count;
    const char *early_stopping;            /* Off, Auto */
    int max_jobs_not_improving;            /* >= 3; 0: none */
    const char *complete_on_convergence;   /* Disabled, Enabled */
    sm_sagemaker_training_def training;    /* hyperparameters: the static */
    const char *const *warm_start_parents; /* tuning job names, 1-5 */
    size_t warm_start_count;
    const char *warm_start_type; /* IdenticalDataAndAlgorithm (default),
                                  * TransferLearning */
    const sm_sagemaker_kv *tags;
    size_t tag_count;
} sm_sagemaker_tuning_job_spec;

json_t *
sm_sagemaker_create_tuning_job_request(const sm_sagemaker_tuning_job_spec *spec,
                                       sm_error *err);

int sm_sagemaker_create_tuning_job(sm_aws *aws,
                                   const sm_sagemaker_tuning_job_spec *spec,
                                   char **arn_out, sm_aws_error *err);

/* One training job of a tuning job (HyperParameterTrainingJobSummary):
 * borrowed from the JSON it was read from. */
typedef struct sm_sagemaker_trial {
    sm_sagemaker_state state;     /* kind SM_SAGEMAKER_TRAINING_JOB */
    const char *objective_status; /* Succeeded, Pending, Failed */
    int has_objective;
    double objective_value;
    const char *objective_metric;
    const json_t *hyperparameters; /* TunedHyperParameters object, or NULL */
} sm_sagemaker_trial;

void sm_sagemaker_trial_read(const json_t *obj, sm_sagemaker_trial *out);

/* DescribeHyperParameterTuningJob, typed; borrows from `raw`. */
typedef struct sm_sagemaker_tuning_job {
    json_t *raw;
    sm_sagemaker_state state;
    const char *strategy;
    const char *objective_type, *objective_metric;
    int max_jobs, max_parallel;
    struct {
        int completed, in_progress, retryable_error, non_retryable_error,
            stopped;
    } jobs; /* TrainingJobStatusCounters */
    struct {
        int succeeded, pending, failed;
    } objectives; /* ObjectiveStatusCounters */
    int has_best;
    sm_sagemaker_trial best; /* BestTrainingJob */
} sm_sagemaker_tuning_job;

/* Read a DescribeHyperParameterTuningJob response (stolen). 0. */
int sm_sagemaker_tuning_job_read(json_t *response,
                                 sm_sagemaker_tuning_job *out);
void sm_sagemaker_tuning_job_clear(sm_sagemaker_tuning_job *self);

int sm_sagemaker_describe_tuning_job(sm_aws *aws, const char *name,
                                     sm_sagemaker_tuning_job *out,
                                     sm_aws_error *err);

/* The training jobs of a tuning job (ListTrainingJobsForHyperParameter-
 * TuningJob), over pages. Of the options only status_equals, sort_by
 * (Name, CreationTime, Status, FinalObjectiveMetricValue), sort_order,
 * page_size, max_items and max_pages apply; others are refused. */
typedef struct sm_sagemaker_trials {
    json_t *raw;
    sm_sagemaker_trial *items;
    size_t count;
    int truncated;
} sm_sagemaker_trials;

void sm_sagemaker_trials_clear(sm_sagemaker_trials *self);

json_t *
sm_sagemaker_list_trials_request(const char *tuning_job_name,
                                 const sm_sagemaker_list_options *options,
                                 const char *next_token, sm_error *err);

int sm_sagemaker_list_trials(sm_aws *aws, const char *tuning_job_name,
                             const sm_sagemaker_list_options *options,
                             sm_sagemaker_trials *out, sm_aws_error *err);
int sm_sagemaker_list_trials_via(const sm_awsjson_caller *caller,
                                 const char *tuning_job_name,
                                 const sm_sagemaker_list_options *options,
                                 sm_sagemaker_trials *out, sm_aws_error *err);

#endif
