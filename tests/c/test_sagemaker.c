/* test_sagemaker: request builders (what they send, what they refuse),
 * Describe and List parsers, pagination, and the waiters' acceptors and
 * bounds, against a scripted caller and a fake clock. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_caller.h"
#include "sagemaker.h"
#include "sagemaker_hosting.h"
#include "sagemaker_internal.h"
#include "sagemaker_training.h"
#include "sagemaker_transform.h"
#include "test.h"

#define ROLE "arn:aws:iam::123456789012:role/service-role/SageMakerRole"
#define IMAGE                                                                  \
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

/* Nonzero when `got` (borrowed) equals the JSON `want_text`; prints both
 * when not. */
static int json_is(const json_t *got, const char *want_text)
{
    json_error_t jerr;
    json_t *want = json_loads(want_text, 0, &jerr);
    int same = want && got && json_equal(got, want);
    if (!same) {
        char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        char *w = want ? json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        printf("      got:  %s\n      want: %s%s\n", g ? g : "(null)",
               w ? w : "(bad JSON) ", w ? "" : jerr.text);
        free(g);
        free(w);
    }
    json_decref(want);
    return same;
}

static const sm_sagemaker_channel csv_channels[] = {
    {.name = "train",
     .s3_uri = "s3://bucket/data/train.csv",
     .content_type = "text/csv"},
    {.name = "validation",
     .s3_uri = "s3://bucket/data/validation.csv",
     .content_type = "text/csv"},
};

static const sm_sagemaker_kv xgb_hyperparameters[] = {
    {"objective", "reg:squarederror"},
    {"num_round", "50"},
    {"eta", "0.2"},
};

static sm_sagemaker_training_job_spec minimal_training(void)
{
    sm_sagemaker_training_job_spec s = {0};
    s.name = "xgb-2026-11-26-05-00-00-000";
    s.training.image = IMAGE;
    s.training.role_arn = ROLE;
    s.training.output_path = "s3://bucket/output";
    s.training.resources.instance_type = "ml.m5.large";
    return s;
}

/* ---- training ----------------------------------------------------------- */

TEST(sagemaker_training_request_minimal)
{
    sm_sagemaker_training_job_spec s = minimal_training();
    sm_error err = {""};
    json_t *body = sm_sagemaker_create_training_job_request(&s, &err);
    CHECK_STR(err.message, "");
    CHECK(json_is(body,
                  "{\"TrainingJobName\": \"xgb-2026-11-26-05-00-00-000\","
                  " \"AlgorithmSpecification\": {\"TrainingImage\": \"" IMAGE
                  "\", \"TrainingInputMode\": \"File\"},"
                  " \"RoleArn\": \"" ROLE "\","
                  " \"OutputDataConfig\": {\"S3OutputPath\": "
                  "\"s3://bucket/output\"},"
                  " \"ResourceConfig\": {\"InstanceType\": \"ml.m5.large\","
                  " \"InstanceCount\": 1, \"VolumeSizeInGB\": 30},"
                  " \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 86400}}"));
    json_decref(body);
}

TEST(sagemaker_training_request_full)
{
    static const sm_sagemaker_kv env[] = {{"OMP_NUM_THREADS", "2"}};
    static const sm_sagemaker_kv tags[] = {{"project", "demo"},
                                           {"owner", "é@x"}};
    static const char *const groups[] = {"sg-0123"};
    static const char *const subnets[] = {"subnet-1", "subnet-2"};
    static const sm_sagemaker_metric_definition metrics[] = {
        {"train:loss", "loss=(\\S+)"}};
    sm_sagemaker_channel channels[2] = {csv_channels[0], csv_channels[1]};
    channels[0].distribution = "shardedbys3key"; /* any case */
    channels[0].compression = "gzip";
    channels[1].input_mode = "pipe";
    sm_sagemaker_training_job_spec s = minimal_training();
    s.training.channels = channels;
    s.training.channel_count = 2;
    s.training.hyperparameters = xgb_hyperparameters;
    s.training.hyperparameter_count = 3;
    s.training.environment = env;
    s.training.environment_count = 1;
    s.training.metrics = metrics;
    s.training.metric_count = 1;
    s.training.resources.instance_count = 2;
    s.training.resources.volume_size_gb = 50;
    s.training.resources.keep_alive_seconds = 600;
    s.training.max_runtime_seconds = 3600;
    s.training.spot = 1;
    s.training.checkpoint_s3_uri = "s3://bucket/checkpoints";
    s.training.max_retry_attempts = 2;
    s.training.security_group_ids = groups;
    s.training.security_group_count = 1;
    s.training.subnets = subnets;
    s.training.subnet_count = 2;
    s.tags = tags;
    s.tag_count = 2;
    sm_error err = {""};
    json_t *body = sm_sagemaker_create_training_job_request(&s, &err);
    CHECK_STR(err.message, "");
    CHECK(body);
    CHECK(json_is(json_object_get(body, "InputDataConfig"),
                  "[{\"ChannelName\": \"train\", \"DataSource\": "
                  "{\"S3DataSource\": {\"S3DataType\": \"S3Prefix\", "
                  "\"S3Uri\": \"s3://bucket/data/train.csv\", "
                  "\"S3DataDistributionType\": \"ShardedByS3Key\"}}, "
                  "\"ContentType\": \"text/csv\", \"CompressionType\": "
                  "\"Gzip\"},"
                  " {\"ChannelName\": \"validation\", \"DataSource\": "
                  "{\"S3DataSource\": {\"S3DataType\": \"S3Prefix\", "
                  "\"S3Uri\": \"s3://bucket/data/validation.csv\"}}, "
                  "\"ContentType\": \"text/csv\", \"InputMode\": \"Pipe\"}]"));
    CHECK(json_is(json_object_get(body, "HyperParameters"),
                  "{\"objective\": \"reg:squarederror\", \"num_round\": "
                  "\"50\", \"eta\": \"0.2\"}"));
    CHECK(json_is(json_object_get(body, "StoppingCondition"),
                  "{\"MaxRuntimeInSeconds\": 3600, "
                  "\"MaxWaitTimeInSeconds\": 3600}"));
    CHECK(json_is(json_object_get(body, "Tags"),
                  "[{\"Key\": \"project\", \"Value\": \"demo\"}, "
                  "{\"Key\": \"owner\", \"Value\": \"é@x\"}]"));
    CHECK(json_is(json_object_get(body, "VpcConfig"),
                  "{\"SecurityGroupIds\": [\"sg-0123\"], "
                  "\"Subnets\": [\"subnet-1\", \"subnet-2\"]}"));
    CHECK(json_is(json_object_get(body, "RetryStrategy"),
                  "{\"MaximumRetryAttempts\": 2}"));
    CHECK(json_is_true(json_object_get(body, "EnableManagedSpotTraining")));
    CHECK(json_is(sm_awsjson_get(body, "ResourceConfig"),
                  "{\"InstanceType\": \"ml.m5.large\", \"InstanceCount\": 2, "
                  "\"VolumeSizeInGB\": 50, \"KeepAlivePeriodInSeconds\": "
                  "600}"));
    CHECK(json_is(sm_awsjson_get(body, "AlgorithmSpecification"),
                  "{\"TrainingImage\": \"" IMAGE "\", \"TrainingInputMode\": "
                  "\"File\", \"MetricDefinitions\": [{\"Name\": "
                  "\"train:loss\", \"Regex\": \"loss=(\\\\S+)\"}]}"));
    json_decref(body);
}

/* Build `s` and expect a refusal whose message holds `want`. */
static int refused(const sm_sagemaker_training_job_spec *s, const char *want)
{
    sm_error err = {""};
    json_t *body = sm_sagemaker_create_training_job_request(s, &err);
    if (body || !strstr(err.message, want)) {
        printf("      want a refusal with \"%s\", got \"%s\"\n", want,
               err.message);
        json_decref(body);
        return 0;
    }
    return 1;
}

TEST(sagemaker_training_request_refusals)
{
    static const sm_sagemaker_kv twice[] = {{"eta", "0.1"}, {"eta", "0.2"}};
    static const sm_sagemaker_kv newline[] = {{"eta", "0.1\n"}};
    static const sm_sagemaker_kv bad_env[] = {{"1ABC", "x"}};
    static const sm_sagemaker_kv bad_tag[] = {{"", "x"}};
    static const char *const groups[] = {"sg-1"};
    sm_sagemaker_training_job_spec s;
    sm_sagemaker_channel ch[21];
    for (size_t i = 0; i < 21; i++)
        ch[i] = csv_channels[0];

    s = minimal_training(), s.name = NULL;
    CHECK(refused(&s, "TrainingJobName is required"));
    s = minimal_training(), s.name = "my_job";
    CHECK(refused(&s, "TrainingJobName 'my_job' is not valid"));
    s = minimal_training(), s.name = "-job";
    CHECK(refused(&s, "start and end with a letter or digit"));
    s = minimal_training(),
    s.name = "a234567890123456789012345678901234567890123456789012345678901234";
    CHECK(refused(&s, "too long: 64 characters, at most 63"));
    s = minimal_training(), s.training.role_arn = "SageMakerRole";
    CHECK(refused(&s, "too short"));
    s = minimal_training(),
    s.training.role_arn = "arn:aws:iam::12345:role/SageMakerRole-Long";
    CHECK(refused(&s, "IAM role ARN"));
    s = minimal_training(), s.training.role_arn = NULL;
    CHECK(refused(&s, "RoleArn is required"));
    s = minimal_training(), s.training.image = "my image";
    CHECK(refused(&s, "TrainingImage"));
    s = minimal_training(), s.training.output_path = "bucket/output";
    CHECK(refused(&s, "s3://bucket/key"));
    s = minimal_training(), s.training.output_path = "s3:///key";
    CHECK(refused(&s, "S3OutputPath"));
    s = minimal_training(), s.training.resources.instance_type = "local";
    CHECK(refused(&s, "'local' is not a SageMaker instance type"));
    s = minimal_training(), s.training.resources.instance_type = NULL;
    CHECK(refused(&s, "InstanceType is required"));
    s = minimal_training(), s.training.resources.instance_count = -1;
    CHECK(refused(&s, "InstanceCount is -1; it must be at least 1"));
    s = minimal_training(), s.training.input_mode = "stream";
    CHECK(refused(&s, "one of File, Pipe, FastFile"));
    s = minimal_training(), s.training.channels = ch,
    s.training.channel_count = 2;
    CHECK(refused(&s, "The channel 'train' is given twice"));
    s = minimal_training(), s.training.channels = ch,
    s.training.channel_count = 21;
    CHECK(refused(&s, "at most 20 input channels"));
    s = minimal_training(), s.training.hyperparameters = twice,
    s.training.hyperparameter_count = 2;
    CHECK(refused(&s, "HyperParameters 'eta' is given twice"));
    s = minimal_training(), s.training.hyperparameters = newline,
    s.training.hyperparameter_count = 1;
    CHECK(refused(&s, "line breaks"));
    s = minimal_training(), s.training.environment = bad_env,
    s.training.environment_count = 1;
    CHECK(refused(&s, "variable name"));
    s = minimal_training(), s.tags = bad_tag, s.tag_count = 1;
    CHECK(refused(&s, "Tags key must not be empty"));
    s = minimal_training(), s.training.max_wait_seconds = 100;
    CHECK(refused(&s, "only to managed spot"));
    s = minimal_training(), s.training.spot = 1,
    s.training.max_wait_seconds = 100;
    CHECK(refused(&s, "must be at least MaxRuntimeInSeconds"));
    s = minimal_training(), s.training.security_group_ids = groups,
    s.training.security_group_count = 1;
    CHECK(refused(&s, "both security group ids and subnets"));
    s = minimal_training(), s.training.max_retry_attempts = 31;
    CHECK(refused(&s, "at most 30"));
}

TEST(sagemaker_training_job_read)
{
    const char *text =
        "{\"TrainingJobName\": \"j1\", \"TrainingJobArn\": "
        "\"arn:aws:sagemaker:us-east-1:123456789012:training-job/j1\","
        " \"TrainingJobStatus\": \"Completed\", \"SecondaryStatus\": "
        "\"Completed\", \"CreationTime\": 1700000000.5, "
        "\"TrainingStartTime\": 1700000060, \"TrainingEndTime\": 1700000360,"
        " \"LastModifiedTime\": 1700000361.25,"
        " \"ModelArtifacts\": {\"S3ModelArtifacts\": "
        "\"s3://b/out/j1/output/model.tar.gz\"},"
        " \"AlgorithmSpecification\": {\"TrainingImage\": \"" IMAGE "\", "
        "\"TrainingInputMode\": \"File\"},"
        " \"ResourceConfig\": {\"InstanceType\": \"ml.m5.large\", "
        "\"InstanceCount\": 2, \"VolumeSizeInGB\": 30},"
        " \"OutputDataConfig\": {\"S3OutputPath\": \"s3://b/out\"},"
        " \"TrainingTimeInSeconds\": 300, \"BillableTimeInSeconds\": 280,"
        " \"FinalMetricDataList\": [{\"MetricName\": \"validation:rmse\", "
        "\"Value\": 2.5, \"Timestamp\": 1700000350}, {\"MetricName\": "
        "\"train:rmse\", \"Value\": 1.25}],"
        " \"SecondaryStatusTransitions\": [{\"Status\": \"Starting\", "
        "\"StartTime\": 1700000000, \"EndTime\": 1700000060, "
        "\"StatusMessage\": \"Preparing the instances for training\"}, "
        "{\"Status\": \"Completed\", \"StartTime\": 1700000360}]}";
    sm_sagemaker_training_job job;
    CHECK(sm_sagemaker_training_job_read(json_loads(text, 0, NULL), &job) == 0);
    CHECK_STR(job.state.name, "j1");
    CHECK_STR(job.state.status, "Completed");
    CHECK_STR(job.state.secondary_status, "Completed");
    CHECK_STR(job.state.failure_reason, "");
    CHECK(job.state.creation_time == 1700000000.5);
    CHECK(job.state.start_time == 1700000060);
    CHECK(job.state.end_time == 1700000360);
    CHECK(job.state.last_modified_time == 1700000361.25);
    CHECK_STR(job.model_artifacts, "s3://b/out/j1/output/model.tar.gz");
    CHECK_STR(job.instance_type, "ml.m5.large");
    CHECK(job.instance_count == 2);
    CHECK(job.training_seconds == 300 && job.billable_seconds == 280);
    CHECK(job.metric_count == 2);
    CHECK_STR(job.metrics[0].name, "validation:rmse");
    CHECK(job.metrics[0].value == 2.5);
    CHECK(job.metrics[1].timestamp == 0);
    CHECK(job.transition_count == 2);
    CHECK_STR(job.transitions[0].message,
              "Preparing the instances for training");
    CHECK(job.transitions[1].end_time == 0);
    CHECK(sm_sagemaker_status_is_terminal(SM_SAGEMAKER_TRAINING_JOB,
                                          job.state.status));
    sm_sagemaker_training_job_clear(&job);
    CHECK(job.raw == NULL && job.metrics == NULL);

    /* A sparse (or odd) response reads as empty values, not a crash. */
    CHECK(sm_sagemaker_training_job_read(
              json_loads("{\"TrainingJobStatus\": 3, \"FinalMetricDataList\":"
                         " {}, \"ModelArtifacts\": \"x\"}",
                         0, NULL),
              &job) == 0);
    CHECK_STR(job.state.status, "");
    CHECK_STR(job.model_artifacts, "");
    CHECK(job.metric_count == 0);
    CHECK(!sm_sagemaker_status_is_terminal(SM_SAGEMAKER_TRAINING_JOB,
                                           job.state.status));
    sm_sagemaker_training_job_clear(&job);
}

/* ---- tuning ------------------------------------------------------------- */

static sm_sagemaker_tuning_job_spec minimal_tuning(void)
{
    static const sm_sagemaker_range ranges[] = {
        {.type = SM_SAGEMAKER_RANGE_CONTINUOUS,
         .name = "eta",
         .min = "0.01",
         .max = "0.3"},
    };
    sm_sagemaker_tuning_job_spec s = {0};
    s.name = "xgb-tune-261126-0500";
    s.objective_metric = "validation:rmse";
    s.objective_type = "minimize";
    s.max_jobs = 10;
    s.max_parallel = 2;
    s.ranges = ranges;
    s.range_count = 1;
    s.training = minimal_training().training;
    return s;
}

TEST(sagemaker_tuning_request)
{
    static const char *const boosters[] = {"gbtree", "dart"};
    static const sm_sagemaker_range ranges[] = {
        {.type = SM_SAGEMAKER_RANGE_CONTINUOUS,
         .name = "eta",
         .min = "0.01",
         .max = "0.3",
         .scaling = "logarithmic"},
        {.type = SM_SAGEMAKER_RANGE_INTEGER,
         .name = "max_depth",
         .min = "3",
         .max = "10"},
        {.type = SM_SAGEMAKER_RANGE_CATEGORICAL,
         .name = "booster",
         .values = boosters,
         .value_count = 2},
    };
    static const sm_sagemaker_kv fixed[] = {{"num_round", "100"}};
    sm_sagemaker_tuning_job_spec s = minimal_tuning();
    s.ranges = ranges;
    s.range_count = 3;
    s.training.hyperparameters = fixed;
    s.training.hyperparameter_count = 1;
    s.early_stopping = "auto";
    s.max_jobs_not_improving = 5;
    s.max_runtime_seconds = 7200;
    sm_error err = {""};
    json_t *body = sm_sagemaker_create_tuning_job_request(&s, &err);
    CHECK_STR(err.message, "");
    CHECK(json_is(
        json_object_get(body, "HyperParameterTuningJobConfig"),
        "{\"Strategy\": \"Bayesian\", \"HyperParameterTuningJobObjective\": "
        "{\"Type\": \"Minimize\", \"MetricName\": \"validation:rmse\"},"
        " \"ResourceLimits\": {\"MaxNumberOfTrainingJobs\": 10, "
        "\"MaxParallelTrainingJobs\": 2, \"MaxRuntimeInSeconds\": 7200},"
        " \"ParameterRanges\": {\"ContinuousParameterRanges\": [{\"Name\": "
        "\"eta\", \"MinValue\": \"0.01\", \"MaxValue\": \"0.3\", "
        "\"ScalingType\": \"Logarithmic\"}], \"IntegerParameterRanges\": "
        "[{\"Name\": \"max_depth\", \"MinValue\": \"3\", \"MaxValue\": "
        "\"10\"}], \"CategoricalParameterRanges\": [{\"Name\": \"booster\", "
        "\"Values\": [\"gbtree\", \"dart\"]}]},"
        " \"TrainingJobEarlyStoppingType\": \"Auto\","
        " \"TuningJobCompletionCriteria\": {\"BestObjectiveNotImproving\": "
        "{\"MaxNumberOfTrainingJobsNotImproving\": 5}}}"));
    json_t *def = json_object_get(body, "TrainingJobDefinition");
    CHECK(json_is(json_object_get(def, "StaticHyperParameters"),
                  "{\"num_round\": \"100\"}"));
    CHECK(json_object_get(def, "HyperParameters") == NULL);
    CHECK(json_object_get(def, "RoleArn") != NULL);
    CHECK(json_object_get(def, "StoppingCondition") != NULL);
    CHECK(json_object_get(body, "TrainingJobName") == NULL);
    json_decref(body);
}

static int tuning_refused(const sm_sagemaker_tuning_job_spec *s,
                          const char *want)
{
    sm_error err = {""};
    json_t *body = sm_sagemaker_create_tuning_job_request(s, &err);
    if (body || !strstr(err.message, want)) {
        printf("      want a refusal with \"%s\", got \"%s\"\n", want,
               err.message);
        json_decref(body);
        return 0;
    }
    return 1;
}

TEST(sagemaker_tuning_request_refusals)
{
    static const sm_sagemaker_kv fixed_eta[] = {{"eta", "0.1"}};
    sm_sagemaker_range r[2] = {{.type = SM_SAGEMAKER_RANGE_CONTINUOUS,
                                .name = "eta",
                                .min = "0.3",
                                .max = "0.01"}};
    sm_sagemaker_tuning_job_spec s;

    s = minimal_tuning(), s.name = "a-tuning-job-name-longer-than-32-chars";
    CHECK(tuning_refused(&s, "at most 32"));
    s = minimal_tuning(), s.objective_metric = NULL;
    CHECK(tuning_refused(&s, "Bayesian strategy needs an objective"));
    s = minimal_tuning(), s.objective_type = NULL;
    CHECK(tuning_refused(&s, "maximize or minimize"));
    s = minimal_tuning(), s.objective_type = "best";
    CHECK(tuning_refused(&s, "one of Maximize, Minimize"));
    s = minimal_tuning(), s.strategy = "annealing";
    CHECK(tuning_refused(&s, "Bayesian, Random, Hyperband, Grid"));
    s = minimal_tuning(), s.max_parallel = 0;
    CHECK(tuning_refused(&s, "MaxParallelTrainingJobs is 0"));
    s = minimal_tuning(), s.max_parallel = 20;
    CHECK(tuning_refused(&s, "more than the 10 jobs"));
    s = minimal_tuning(), s.max_runtime_seconds = 60;
    CHECK(tuning_refused(&s, "at least 120"));
    s = minimal_tuning(), s.range_count = 0;
    CHECK(tuning_refused(&s, "at least one hyperparameter range"));
    s = minimal_tuning(), s.ranges = r;
    CHECK(tuning_refused(&s, "the minimum must come first"));
    r[0].min = "zero";
    CHECK(tuning_refused(&s, "'zero' that is not a number"));
    r[0] = (sm_sagemaker_range){.type = SM_SAGEMAKER_RANGE_INTEGER,
                                .name = "max_depth",
                                .min = "1.5",
                                .max = "4"};
    CHECK(tuning_refused(&s, "not an integer"));
    r[0] = (sm_sagemaker_range){.type = SM_SAGEMAKER_RANGE_CONTINUOUS,
                                .name = "alpha",
                                .min = "0",
                                .max = "10",
                                .scaling = "Logarithmic"};
    CHECK(tuning_refused(&s, "logarithmic range needs a minimum above 0"));
    r[0] = (sm_sagemaker_range){.type = SM_SAGEMAKER_RANGE_CATEGORICAL,
                                .name = "booster"};
    CHECK(tuning_refused(&s, "needs 1 to 30 values"));
    r[0] = r[1] = (sm_sagemaker_range){.type = SM_SAGEMAKER_RANGE_CONTINUOUS,
                                       .name = "eta",
                                       .min = "0",
                                       .max = "1"};
    s.range_count = 2;
    CHECK(tuning_refused(&s, "'eta' has two ranges"));
    s = minimal_tuning(), s.training.hyperparameters = fixed_eta,
    s.training.hyperparameter_count = 1;
    CHECK(tuning_refused(&s, "'eta' is both tuned and fixed"));
    s = minimal_tuning(), s.max_jobs_not_improving = 2;
    CHECK(tuning_refused(&s, "at least 3"));
    /* Random needs no objective. */
    s = minimal_tuning(), s.strategy = "random", s.objective_metric = NULL;
    sm_error err = {""};
    json_t *body = sm_sagemaker_create_tuning_job_request(&s, &err);
    CHECK(body != NULL);
    CHECK(sm_awsjson_get(body, "HyperParameterTuningJobConfig."
                               "HyperParameterTuningJobObjective") == NULL);
    CHECK_STR(sm_awsjson_str(body, "HyperParameterTuningJobConfig.Strategy"),
              "Random");
    json_decref(body);
}

TEST(sagemaker_tuning_job_read)
{
    const char *text =
        "{\"HyperParameterTuningJobName\": \"t1\", "
        "\"HyperParameterTuningJobArn\": \"arn:x\", "
        "\"HyperParameterTuningJobStatus\": \"InProgress\", "
        "\"CreationTime\": 1700000000, "
        "\"HyperParameterTuningJobConfig\": {\"Strategy\": \"Bayesian\", "
        "\"HyperParameterTuningJobObjective\": {\"Type\": \"Maximize\", "
        "\"MetricName\": \"validation:auc\"}, \"ResourceLimits\": "
        "{\"MaxNumberOfTrainingJobs\": 20, \"MaxParallelTrainingJobs\": 3}},"
        " \"TrainingJobStatusCounters\": {\"Completed\": 4, \"InProgress\": "
        "3, \"RetryableError\": 0, \"NonRetryableError\": 1, \"Stopped\": 0},"
        " \"ObjectiveStatusCounters\": {\"Succeeded\": 4, \"Pending\": 3, "
        "\"Failed\": 1},"
        " \"BestTrainingJob\": {\"TrainingJobName\": \"t1-003-abc\", "
        "\"TrainingJobStatus\": \"Completed\", \"CreationTime\": 1700000100,"
        " \"TunedHyperParameters\": {\"eta\": \"0.12\"}, "
        "\"FinalHyperParameterTuningJobObjectiveMetric\": {\"MetricName\": "
        "\"validation:auc\", \"Value\": 0.91}, \"ObjectiveStatus\": "
        "\"Succeeded\"}}";
    sm_sagemaker_tuning_job t;
    CHECK(sm_sagemaker_tuning_job_read(json_loads(text, 0, NULL), &t) == 0);
    CHECK_STR(t.state.name, "t1");
    CHECK_STR(t.state.status, "InProgress");
    CHECK_STR(t.strategy, "Bayesian");
    CHECK_STR(t.objective_type, "Maximize");
    CHECK_STR(t.objective_metric, "validation:auc");
    CHECK(t.max_jobs == 20 && t.max_parallel == 3);
    CHECK(t.jobs.completed == 4 && t.jobs.in_progress == 3 &&
          t.jobs.non_retryable_error == 1);
    CHECK(t.objectives.succeeded == 4 && t.objectives.failed == 1);
    CHECK(t.has_best);
    CHECK_STR(t.best.state.name, "t1-003-abc");
    CHECK(t.best.has_objective && t.best.objective_value == 0.91);
    CHECK_STR(sm_awsjson_str(t.best.hyperparameters, "eta"), "0.12");
    sm_sagemaker_tuning_job_clear(&t);

    CHECK(sm_sagemaker_tuning_job_read(json_loads("{}", 0, NULL), &t) == 0);
    CHECK(!t.has_best && t.jobs.completed == 0);
    sm_sagemaker_tuning_job_clear(&t);
}

TEST(sagemaker_list_trials)
{
    static const fake_step steps[] = {
        {"ListTrainingJobsForHyperParameterTuningJob",
         "{\"TrainingJobSummaries\": [{\"TrainingJobName\": \"t-1\", "
         "\"TrainingJobStatus\": \"Completed\", "
         "\"FinalHyperParameterTuningJobObjectiveMetric\": {\"MetricName\": "
         "\"validation:auc\", \"Value\": 0.8}, \"TunedHyperParameters\": "
         "{\"eta\": \"0.2\"}}], \"NextToken\": \"p2\"}",
         NULL, NULL},
        {"ListTrainingJobsForHyperParameterTuningJob",
         "{\"TrainingJobSummaries\": [{\"TrainingJobName\": \"t-2\", "
         "\"TrainingJobStatus\": \"Failed\", \"FailureReason\": \"oom\"}]}",
         NULL, NULL},
    };
    fake_caller fake;
    sm_awsjson_caller caller = fake_caller_start(&fake, steps, 2);
    sm_sagemaker_list_options o = {.sort_by = "finalobjectivemetricvalue",
                                   .sort_order = "descending",
                                   .page_size = 100};
    sm_sagemaker_trials trials;
    sm_aws_error err;
    CHECK(sm_sagemaker_list_trials_via(&caller, "t", &o, &trials, &err) == 0);
    CHECK(trials.count == 2 && !trials.truncated);
    CHECK(trials.items[0].has_objective);
    CHECK(trials.items[0].objective_value == 0.8);
    CHECK_STR(trials.items[1].state.failure_reason, "oom");
    CHECK(!trials.items[1].has_objective);
    CHECK_STR(fake_caller_member(&fake, 0, "SortBy"),
              "FinalObjectiveMetricValue");
    CHECK_STR(fake_caller_member(&fake, 0, "HyperParameterTuningJobName"), "t");
    CHECK_STR(fake_caller_member(&fake, 1, "NextToken"), "p2");
    CHECK(fake.surprises == 0);
    sm_sagemaker_trials_clear(&trials);
    fake_caller_finish(&fake);

    /* Filters the operation lacks are refused before sending. */
    caller = fake_caller_start(&fake, steps, 2);
    o.name_contains = "x";
    CHECK(sm_sagemaker_list_trials_via(&caller, "t", &o, &trials, &err) == -1);
    CHECK_STR(err.code, SM_AWSJSON_INVALID);
    CHECK(json_array_size(fake.requests) == 0);
    sm_sagemaker_trials_clear(&trials);
    fake_caller_finish(&fake);
}

/* ---- hosting ------------------------------------------------------------ */

TEST(sagemaker_hosting_requests)
{
    sm_error err = {""};
    sm_sagemaker_model_spec m = {.name = "xgb-model",
                                 .image = IMAGE,
                                 .model_data_url =
                                     "s3://b/out/j1/output/model.tar.gz",
                                 .role_arn = ROLE};
    json_t *body = sm_sagemaker_create_model_request(&m, &err);
    CHECK(json_is(body, "{\"ModelName\": \"xgb-model\", \"PrimaryContainer\":"
                        " {\"Image\": \"" IMAGE "\", \"ModelDataUrl\": "
                        "\"s3://b/out/j1/output/model.tar.gz\"}, "
                        "\"ExecutionRoleArn\": \"" ROLE "\"}"));
    json_decref(body);

    sm_sagemaker_variant v[2] = {
        {.model_name = "xgb-model", .instance_type = "ml.m5.large"},
        {.name = "Serverless",
         .model_name = "xgb-model",
         .serverless_memory_mb = 2048,
         .serverless_max_concurrency = 5,
         .weight = 0.5},
    };
    sm_sagemaker_endpoint_config_spec c = {
        .name = "xgb-config", .variants = v, .variant_count = 2};
    body = sm_sagemaker_create_endpoint_config_request(&c, &err);
    CHECK_STR(err.message, "");
    CHECK(json_is(body,
                  "{\"EndpointConfigName\": \"xgb-config\", "
                  "\"ProductionVariants\": [{\"VariantName\": "
                  "\"AllTraffic\", \"ModelName\": \"xgb-model\", "
                  "\"InstanceType\": \"ml.m5.large\", "
                  "\"InitialInstanceCount\": 1, \"InitialVariantWeight\": "
                  "1.0}, {\"VariantName\": \"Serverless\", \"ModelName\": "
                  "\"xgb-model\", \"ServerlessConfig\": {\"MemorySizeInMB\": "
                  "2048, \"MaxConcurrency\": 5}, \"InitialVariantWeight\": "
                  "0.5}]}"));
    json_decref(body);

    v[1].name = NULL; /* two AllTraffic */
    CHECK(!sm_sagemaker_create_endpoint_config_request(&c, &err));
    CHECK(strstr(err.message, "Two variants are named 'AllTraffic'"));
    sm_error_clear(&err);
    v[1].name = "Serverless";
    v[1].serverless_memory_mb = 1500;
    CHECK(!sm_sagemaker_create_endpoint_config_request(&c, &err));
    CHECK(strstr(err.message, "steps of 1024"));
    sm_error_clear(&err);
    v[1].serverless_memory_mb = 8192;
    CHECK(!sm_sagemaker_create_endpoint_config_request(&c, &err));
    CHECK(strstr(err.message, "at most 6144"));
    sm_error_clear(&err);
    v[1].instance_type = "ml.m5.large";
    v[1].serverless_memory_mb = 2048;
    CHECK(!sm_sagemaker_create_endpoint_config_request(&c, &err));
    CHECK(strstr(err.message, "not both"));
    sm_error_clear(&err);
    c.variant_count = 0;
    CHECK(!sm_sagemaker_create_endpoint_config_request(&c, &err));
    CHECK(strstr(err.message, "1 to 10 production variants"));
    sm_error_clear(&err);

    sm_sagemaker_endpoint_spec e = {.name = "xgb-ep",
                                    .config_name = "xgb-config"};
    body = sm_sagemaker_create_endpoint_request(&e, &err);
    CHECK(json_is(body, "{\"EndpointName\": \"xgb-ep\", "
                        "\"EndpointConfigName\": \"xgb-config\"}"));
    json_decref(body);
    e.config_name = NULL;
    CHECK(!sm_sagemaker_create_endpoint_request(&e, &err));
    CHECK(strstr(err.message, "EndpointConfigName is required"));
    sm_error_clear(&err);

    sm_sagemaker_endpoint_update u = {.name = "xgb-ep",
                                      .config_name = "xgb-config-2",
                                      .retain_all_variant_properties = 1};
    body = sm_sagemaker_update_endpoint_request(&u, &err);
    CHECK(json_is(body, "{\"EndpointName\": \"xgb-ep\", "
                        "\"EndpointConfigName\": \"xgb-config-2\", "
                        "\"RetainAllVariantProperties\": true}"));
    json_decref(body);
}

TEST(sagemaker_hosting_read)
{
    sm_sagemaker_endpoint ep;
    CHECK(sm_sagemaker_endpoint_read(
              json_loads("{\"EndpointName\": \"ep\", \"EndpointArn\": \"a\","
                         " \"EndpointConfigName\": \"cfg\", "
                         "\"EndpointStatus\": \"Failed\", \"FailureReason\":"
                         " \"The primary container did not pass the ping "
                         "health check.\", \"CreationTime\": 1, "
                         "\"LastModifiedTime\": 2, \"ProductionVariants\": "
                         "[{\"VariantName\": \"AllTraffic\", "
                         "\"CurrentWeight\": 1.0, \"CurrentInstanceCount\": "
                         "1, \"DesiredInstanceCount\": 2}]}",
                         0, NULL),
              &ep) == 0);
    CHECK_STR(ep.state.status, "Failed");
    CHECK(strstr(ep.state.failure_reason, "ping health check"));
    CHECK_STR(ep.config_name, "cfg");
    CHECK(ep.variant_count == 1);
    CHECK(ep.variants[0].instance_count == 1);
    CHECK(ep.variants[0].desired_instance_count == 2);
    CHECK(ep.state.last_modified_time == 2);
    sm_sagemaker_endpoint_clear(&ep);

    sm_sagemaker_endpoint_config cfg;
    CHECK(sm_sagemaker_endpoint_config_read(
              json_loads("{\"EndpointConfigName\": \"cfg\", "
                         "\"ProductionVariants\": [{\"VariantName\": \"a\", "
                         "\"ModelName\": \"m1\", \"InstanceType\": "
                         "\"ml.m5.large\", \"InitialInstanceCount\": 2, "
                         "\"InitialVariantWeight\": 1.0}, {\"VariantName\": "
                         "\"b\", \"ModelName\": \"m2\", \"ServerlessConfig\":"
                         " {\"MemorySizeInMB\": 2048, \"MaxConcurrency\": "
                         "5}}]}",
                         0, NULL),
              &cfg) == 0);
    CHECK(cfg.variant_count == 2);
    CHECK_STR(cfg.variants[0].model_name, "m1");
    CHECK(cfg.variants[0].instance_count == 2);
    CHECK_STR(cfg.variants[1].instance_type, "");
    CHECK(cfg.variants[1].serverless_memory_mb == 2048);
    sm_sagemaker_endpoint_config_clear(&cfg);

    sm_sagemaker_model model;
    CHECK(sm_sagemaker_model_read(
              json_loads("{\"ModelName\": \"m\", \"Containers\": [{\"Image\":"
                         " \"img\", \"ModelDataUrl\": \"s3://b/m.tar.gz\"}]}",
                         0, NULL),
              &model) == 0);
    CHECK_STR(model.image, "img");
    CHECK_STR(model.model_data_url, "s3://b/m.tar.gz");
    sm_sagemaker_model_clear(&model);
}

/* ---- transform ---------------------------------------------------------- */

TEST(sagemaker_transform_request)
{
    sm_sagemaker_transform_job_spec s = {.name = "xgb-batch",
                                         .model_name = "xgb-model",
                                         .input_uri = "s3://b/test/",
                                         .content_type = "text/csv",
                                         .split_type = "line",
                                         .output_path = "s3://b/predictions",
                                         .accept = "text/csv",
                                         .assemble_with = "LINE",
                                         .instance_type = "ml.m5.xlarge",
                                         .batch_strategy = "multirecord",
                                         .invocation_max_retries = -1,
                                         .input_filter = "$[1:]",
                                         .join_source = "input"};
    sm_error err = {""};
    json_t *body = sm_sagemaker_create_transform_job_request(&s, &err);
    CHECK_STR(err.message, "");
    CHECK(json_is(
        body,
        "{\"TransformJobName\": \"xgb-batch\", \"ModelName\": \"xgb-model\","
        " \"TransformInput\": {\"DataSource\": {\"S3DataSource\": "
        "{\"S3DataType\": \"S3Prefix\", \"S3Uri\": \"s3://b/test/\"}}, "
        "\"ContentType\": \"text/csv\", \"SplitType\": \"Line\"},"
        " \"TransformOutput\": {\"S3OutputPath\": \"s3://b/predictions\", "
        "\"Accept\": \"text/csv\", \"AssembleWith\": \"Line\"},"
        " \"TransformResources\": {\"InstanceType\": \"ml.m5.xlarge\", "
        "\"InstanceCount\": 1},"
        " \"BatchStrategy\": \"MultiRecord\", \"ModelClientConfig\": "
        "{\"InvocationsMaxRetries\": 0}, \"DataProcessing\": "
        "{\"InputFilter\": \"$[1:]\", \"JoinSource\": \"Input\"}}"));
    json_decref(body);
    s.split_type = "lines";
    CHECK(!sm_sagemaker_create_transform_job_request(&s, &err));
    CHECK(strstr(err.message, "SplitType 'lines' is not valid: it must be "
                              "one of None, Line, RecordIO, TFRecord."));
    sm_error_clear(&err);
    s.split_type = NULL;
    s.model_name = "model_1";
    CHECK(!sm_sagemaker_create_transform_job_request(&s, &err));
    CHECK(strstr(err.message, "ModelName 'model_1'"));
    sm_error_clear(&err);
    s.model_name = "m";
    s.input_uri = NULL;
    CHECK(!sm_sagemaker_create_transform_job_request(&s, &err));
    CHECK(strstr(err.message, "S3Uri is required"));
    sm_error_clear(&err);
    s.input_uri = "s3://b/x";
    s.max_payload_mb = 101;
    CHECK(!sm_sagemaker_create_transform_job_request(&s, &err));
    CHECK(strstr(err.message, "MaxPayloadInMB is 101"));
}

TEST(sagemaker_transform_job_read)
{
    sm_sagemaker_transform_job t;
    CHECK(sm_sagemaker_transform_job_read(
              json_loads("{\"TransformJobName\": \"b\", "
                         "\"TransformJobStatus\": \"Completed\", "
                         "\"ModelName\": \"m\", \"TransformStartTime\": 5, "
                         "\"TransformEndTime\": 9, \"TransformInput\": "
                         "{\"DataSource\": {\"S3DataSource\": {\"S3Uri\": "
                         "\"s3://b/in\"}}}, \"TransformOutput\": "
                         "{\"S3OutputPath\": \"s3://b/out\"}, "
                         "\"TransformResources\": {\"InstanceType\": "
                         "\"ml.m5.large\", \"InstanceCount\": 1}}",
                         0, NULL),
              &t) == 0);
    CHECK_STR(t.state.status, "Completed");
    CHECK(t.state.start_time == 5 && t.state.end_time == 9);
    CHECK_STR(t.input_uri, "s3://b/in");
    CHECK_STR(t.output_path, "s3://b/out");
    CHECK(t.instance_count == 1);
    sm_sagemaker_transform_job_clear(&t);
}

/* ---- by name, create ---------------------------------------------------- */

TEST(sagemaker_by_name)
{
    static const fake_step steps[] = {
        {"DescribeEndpoint", "{\"EndpointName\": \"ep\"}", NULL, NULL},
        {"CreateModel", "{\"ModelArn\": \"arn:aws:sagemaker:m\"}", NULL, NULL},
        {"CreateModel", "{}", NULL, NULL},
        {"CreateModel", NULL, "ValidationException",
         "Cannot create already existing model \"arn:m\"."},
    };
    fake_caller fake;
    sm_awsjson_caller caller = fake_caller_start(&fake, steps, 4);
    sm_aws_error err;
    json_t *r =
        sm_sagemaker_describe_via(&caller, SM_SAGEMAKER_ENDPOINT, "ep", &err);
    CHECK(r != NULL);
    json_decref(r);
    CHECK(json_is(fake_caller_request(&fake, 0), "{\"EndpointName\": \"ep\"}"));
    /* Bad names never leave the client. */
    CHECK(!sm_sagemaker_describe_via(&caller, SM_SAGEMAKER_TUNING_JOB,
                                     "a-name-that-is-too-long-for-tuning",
                                     &err));
    CHECK_STR(err.code, SM_AWSJSON_INVALID);
    CHECK_STR(err.operation, "DescribeHyperParameterTuningJob");
    CHECK_STR(err.service, "sagemaker");
    CHECK(json_array_size(fake.requests) == 1);

    sm_error e = {""};
    char *arn = NULL;
    CHECK(sm_sagemaker_create_via(&caller, "CreateModel",
                                  json_pack("{s:s}", "ModelName", "m"), &e,
                                  "ModelArn", &arn, &err) == 0);
    CHECK_STR(arn, "arn:aws:sagemaker:m");
    free(arn);
    CHECK(sm_sagemaker_create_via(&caller, "CreateModel",
                                  json_pack("{s:s}", "ModelName", "m"), &e,
                                  "ModelArn", &arn, &err) == -1);
    CHECK(arn == NULL);
    CHECK(strstr(err.message, "no ModelArn"));
    CHECK(sm_sagemaker_create_via(&caller, "CreateModel",
                                  json_pack("{s:s}", "ModelName", "m"), &e,
                                  "ModelArn", NULL, &err) == -1);
    CHECK(sm_sagemaker_error_is_already_exists(&err));
    CHECK(!sm_sagemaker_error_is_not_found(&err));
    sm_error_set(&e, "ModelName is required.");
    CHECK(sm_sagemaker_create_via(&caller, "CreateModel", NULL, &e, "ModelArn",
                                  NULL, &err) == -1);
    CHECK_STR(err.message, "ModelName is required.");
    CHECK(fake.surprises == 0);
    fake_caller_finish(&fake);

    CHECK_STR(sm_sagemaker_operation(SM_SAGEMAKER_ENDPOINT_CONFIG,
                                     SM_SAGEMAKER_OP_DELETE),
              "DeleteEndpointConfig");
    CHECK(sm_sagemaker_operation(SM_SAGEMAKER_MODEL, SM_SAGEMAKER_OP_STOP) ==
          NULL);
    CHECK_STR(sm_sagemaker_kind_name_member(SM_SAGEMAKER_TUNING_JOB),
              "HyperParameterTuningJobName");

    sm_aws_error nf = {.code = "ValidationException",
                       .message = "Could not find endpoint \"x\"."};
    CHECK(sm_sagemaker_error_is_not_found(&nf));
    snprintf(nf.code, sizeof nf.code, "ResourceNotFound");
    snprintf(nf.message, sizeof nf.message, "Amazon SageMaker can't find...");
    CHECK(sm_sagemaker_error_is_not_found(&nf));
    snprintf(nf.code, sizeof nf.code, "ValidationException");
    snprintf(nf.message, sizeof nf.message, "1 validation error detected");
    CHECK(!sm_sagemaker_error_is_not_found(&nf));
}

/* ---- listing ------------------------------------------------------------ */

TEST(sagemaker_list_request)
{
    sm_sagemaker_list_options o = {.name_contains = "xgb",
                                   .status_equals = "inservice",
                                   .sort_by = "creationtime",
                                   .sort_order = "Descending",
                                   .creation_time_after = 1700000000,
                                   .creation_time_before = 1700000000.5,
                                   .page_size = 50};
    sm_error err = {""};
    json_t *body =
        sm_sagemaker_list_request(SM_SAGEMAKER_ENDPOINT, &o, "tok", &err);
    CHECK(json_is(body, "{\"NameContains\": \"xgb\", \"StatusEquals\": "
                        "\"InService\", \"SortBy\": \"CreationTime\", "
                        "\"SortOrder\": \"Descending\", "
                        "\"CreationTimeAfter\": 1700000000, "
                        "\"CreationTimeBefore\": 1700000000.5, "
                        "\"MaxResults\": 50, \"NextToken\": \"tok\"}"));
    json_decref(body);
    body = sm_sagemaker_list_request(SM_SAGEMAKER_MODEL, NULL, NULL, &err);
    CHECK(json_is(body, "{}"));
    json_decref(body);
    CHECK(!sm_sagemaker_list_request(SM_SAGEMAKER_MODEL, &o, NULL, &err));
    CHECK(strstr(err.message, "A model has no status to filter on"));
    sm_error_clear(&err);
    o.status_equals = NULL;
    o.sort_by = "Status";
    CHECK(!sm_sagemaker_list_request(SM_SAGEMAKER_ENDPOINT_CONFIG, &o, NULL,
                                     &err));
    CHECK(strstr(err.message, "one of Name, CreationTime."));
    sm_error_clear(&err);
    o.sort_by = NULL;
    o.status_equals = "Running";
    CHECK(
        !sm_sagemaker_list_request(SM_SAGEMAKER_TRAINING_JOB, &o, NULL, &err));
    CHECK(strstr(err.message, "InProgress, Completed"));
    sm_error_clear(&err);
    o.status_equals = NULL;
    o.name_contains = "xgb_*";
    CHECK(
        !sm_sagemaker_list_request(SM_SAGEMAKER_TRAINING_JOB, &o, NULL, &err));
    CHECK(strstr(err.message, "NameContains"));
    sm_error_clear(&err);
    o.name_contains = NULL;
    o.page_size = 101;
    CHECK(
        !sm_sagemaker_list_request(SM_SAGEMAKER_TRAINING_JOB, &o, NULL, &err));
    CHECK(strstr(err.message, "MaxResults is 101"));
}

#define PAGE(items, token) "{\"Endpoints\": [" items "]" token "}"
#define EP(n) "{\"EndpointName\": \"" n "\", \"EndpointStatus\": \"InService\"}"

TEST(sagemaker_list_pages)
{
    static const fake_step steps[] = {
        {"ListEndpoints", PAGE(EP("a") "," EP("b"), ", \"NextToken\": \"t1\""),
         NULL, NULL},
        {"ListEndpoints", PAGE(EP("c"), ", \"NextToken\": \"t2\""), NULL, NULL},
        {"ListEndpoints", PAGE(EP("d"), ""), NULL, NULL},
    };
    fake_caller fake;
    sm_awsjson_caller caller = fake_caller_start(&fake, steps, 3);
    sm_sagemaker_listing list;
    sm_aws_error err;
    CHECK(sm_sagemaker_list_via(&caller, SM_SAGEMAKER_ENDPOINT, NULL, &list,
                                &err) == 0);
    CHECK(list.count == 4 && !list.truncated);
    CHECK_STR(list.items[0].name, "a");
    CHECK_STR(list.items[3].name, "d");
    CHECK_STR(list.items[2].status, "InService");
    CHECK_STR(fake_caller_member(&fake, 0, "NextToken"), "");
    CHECK_STR(fake_caller_member(&fake, 1, "NextToken"), "t1");
    CHECK_STR(fake_caller_member(&fake, 2, "NextToken"), "t2");
    CHECK(fake.surprises == 0);
    sm_sagemaker_listing_clear(&list);
    fake_caller_finish(&fake);

    /* max_items cuts inside a page and says more remained. */
    caller = fake_caller_start(&fake, steps, 3);
    sm_sagemaker_list_options o = {.max_items = 3};
    CHECK(sm_sagemaker_list_via(&caller, SM_SAGEMAKER_ENDPOINT, &o, &list,
                                &err) == 0);
    CHECK(list.count == 3 && list.truncated);
    CHECK(json_array_size(fake.requests) == 2);
    sm_sagemaker_listing_clear(&list);
    fake_caller_finish(&fake);

    /* Exactly max_items on the last page: not truncated. */
    caller = fake_caller_start(&fake, steps, 3);
    o.max_items = 4;
    CHECK(sm_sagemaker_list_via(&caller, SM_SAGEMAKER_ENDPOINT, &o, &list,
                                &err) == 0);
    CHECK(list.count == 4 && !list.truncated);
    sm_sagemaker_listing_clear(&list);
    fake_caller_finish(&fake);

    /* max_pages. */
    caller = fake_caller_start(&fake, steps, 3);
    o = (sm_sagemaker_list_options){.max_pages = 2};
    CHECK(sm_sagemaker_list_via(&caller, SM_SAGEMAKER_ENDPOINT, &o, &list,
                                &err) == 0);
    CHECK(list.count == 3 && list.truncated);
    sm_sagemaker_listing_clear(&list);
    fake_caller_finish(&fake);
}

TEST(sagemaker_list_pages_past_empty_pages_and_stops_on_quirks)
{
    /* An empty page that still carries a token goes on to the next. */
    static const fake_step empty[] = {
        {"ListEndpoints", PAGE(EP("a"), ", \"NextToken\": \"t1\""), NULL, NULL},
        {"ListEndpoints", PAGE("", ", \"NextToken\": \"t2\""), NULL, NULL},
        {"ListEndpoints", PAGE(EP("c"), ""), NULL, NULL},
    };
    /* A token that comes back unchanged ends the listing. */
    static const fake_step same[] = {
        {"ListEndpoints", PAGE(EP("a"), ", \"NextToken\": \"t1\""), NULL, NULL},
        {"ListEndpoints", PAGE(EP("b"), ", \"NextToken\": \"t1\""), NULL, NULL},
        {"ListEndpoints", PAGE(EP("never"), ""), NULL, NULL},
    };
    /* An error on a later page fails the listing with it. */
    static const fake_step failing[] = {
        {"ListEndpoints", PAGE(EP("a"), ", \"NextToken\": \"t1\""), NULL, NULL},
        {"ListEndpoints", NULL, "ThrottlingException", "Rate exceeded"},
    };
    fake_caller fake;
    sm_sagemaker_listing list;
    sm_aws_error err;
    sm_awsjson_caller caller = fake_caller_start(&fake, empty, 3);
    CHECK(sm_sagemaker_list_via(&caller, SM_SAGEMAKER_ENDPOINT, NULL, &list,
                                &err) == 0);
    CHECK(list.count == 2 && !list.truncated);
    CHECK(json_array_size(fake.requests) == 3);
    sm_sagemaker_listing_clear(&list);
    fake_caller_finish(&fake);

    caller = fake_caller_start(&fake, same, 3);
    CHECK(sm_sagemaker_list_via(&caller, SM_SAGEMAKER_ENDPOINT, NULL, &list,
                                &err) == 0);
    CHECK(list.count == 2 && list.truncated);
    CHECK(json_array_size(fake.requests) == 2);
    sm_sagemaker_listing_clear(&list);
    fake_caller_finish(&fake);

    caller = fake_caller_start(&fake, failing, 2);
    CHECK(sm_sagemaker_list_via(&caller, SM_SAGEMAKER_ENDPOINT, NULL, &list,
                                &err) == -1);
    CHECK_STR(err.code, "ThrottlingException");
    CHECK_STR(err.operation, "ListEndpoints");
    sm_sagemaker_listing_clear(&list);
    fake_caller_finish(&fake);

    /* A page without the result key reads as empty. */
    static const fake_step odd[] = {{"ListModels", "{}", NULL, NULL}};
    caller = fake_caller_start(&fake, odd, 1);
    CHECK(sm_sagemaker_list_via(&caller, SM_SAGEMAKER_MODEL, NULL, &list,
                                &err) == 0);
    CHECK(list.count == 0 && !list.truncated);
    sm_sagemaker_listing_clear(&list);
    fake_caller_finish(&fake);
}

/* ---- waiting ------------------------------------------------------------ */

TEST(sagemaker_waiter_acceptors)
{
    static const struct {
        sm_sagemaker_waiter waiter;
        const char *status; /* or NULL: the error `code` */
        const char *code;
        int want;
    } cases[] = {
        {SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE, "Completed", NULL, 0},
        {SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE, "Stopped", NULL, 0},
        {SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE, "Failed", NULL, 1},
        {SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE, "InProgress", NULL, -1},
        {SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE, "Stopping", NULL, -1},
        {SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE, NULL, "ValidationException", 1},
        {SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE, NULL, "ThrottlingException", -2},
        {SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE, "InService", NULL, 0},
        {SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE, "Creating", NULL, -1},
        {SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE, "OutOfService", NULL, -1},
        {SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE, "Failed", NULL, 1},
        {SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE, NULL, "ValidationException", 1},
        {SM_SAGEMAKER_WAIT_ENDPOINT_DELETED, NULL, "ValidationException", 0},
        {SM_SAGEMAKER_WAIT_ENDPOINT_DELETED, "Deleting", NULL, -1},
        {SM_SAGEMAKER_WAIT_ENDPOINT_DELETED, "InService", NULL, -1},
        {SM_SAGEMAKER_WAIT_ENDPOINT_DELETED, "Failed", NULL, 1},
        {SM_SAGEMAKER_WAIT_ENDPOINT_DELETED, NULL, "AccessDeniedException", -2},
        {SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE, "Completed", NULL, 0},
        {SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE, "Stopped", NULL, 0},
        {SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE, "Failed", NULL, 1},
        {SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE, "InProgress", NULL, -1},
        {SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE, NULL, "ValidationException", 1},
        {SM_SAGEMAKER_WAIT_TUNING_JOB_DONE, "Completed", NULL, 0},
        {SM_SAGEMAKER_WAIT_TUNING_JOB_DONE, "DeleteFailed", NULL, 1},
        {SM_SAGEMAKER_WAIT_TUNING_JOB_DONE, "Stopping", NULL, -1},
        {SM_SAGEMAKER_WAIT_TUNING_JOB_DONE, NULL, "ResourceNotFound", 1},
    };
    static const char *const status_member[] = {
        [SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE] = "TrainingJobStatus",
        [SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE] = "EndpointStatus",
        [SM_SAGEMAKER_WAIT_ENDPOINT_DELETED] = "EndpointStatus",
        [SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE] = "TransformJobStatus",
        [SM_SAGEMAKER_WAIT_TUNING_JOB_DONE] = "HyperParameterTuningJobStatus",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *r = cases[i].status
                        ? json_pack("{s:s}", status_member[cases[i].waiter],
                                    cases[i].status)
                        : NULL;
        sm_aws_error e = {0};
        if (cases[i].code)
            snprintf(e.code, sizeof e.code, "%s", cases[i].code);
        int got = sm_sagemaker_waiter_accept(cases[i].waiter, r, &e);
        if (got != cases[i].want)
            printf("      case %zu: %s %s -> %d, want %d\n", i,
                   sm_sagemaker_waiter_name(cases[i].waiter),
                   cases[i].status ? cases[i].status : cases[i].code, got,
                   cases[i].want);
        CHECK(got == cases[i].want);
        json_decref(r);
    }
    CHECK(sm_sagemaker_waiter_delay(SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE) ==
          120);
    CHECK(sm_sagemaker_waiter_max_attempts(
              SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE) == 180);
    CHECK(sm_sagemaker_waiter_delay(SM_SAGEMAKER_WAIT_ENDPOINT_DELETED) == 30);
    CHECK(sm_sagemaker_waiter_max_attempts(
              SM_SAGEMAKER_WAIT_ENDPOINT_DELETED) == 60);
    CHECK_STR(sm_sagemaker_waiter_name(SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE),
              "TransformJobCompletedOrStopped");
}

/* What a wait's callbacks saw. */
typedef struct watch {
    fake_clock clock;
    int polls, changes, asked;
    int stop_after; /* keep_waiting answers 0 from this call on; 0: never */
    char statuses[256];
} watch;

static int watch_keep(void *ctx)
{
    watch *w = ctx;
    w->asked++;
    return !w->stop_after || w->asked < w->stop_after;
}

static void watch_progress(void *ctx, const sm_sagemaker_wait_progress *p)
{
    watch *w = ctx;
    w->polls++;
    w->changes += p->changed;
    size_t n = strlen(w->statuses);
    snprintf(w->statuses + n, sizeof w->statuses - n, "%s%s@%.0f", n ? " " : "",
             p->state->secondary_status[0] ? p->state->secondary_status
                                           : p->state->status,
             p->elapsed);
}

static sm_sagemaker_wait_options watch_options(watch *w, double poll,
                                               double max)
{
    memset(w, 0, sizeof *w);
    w->clock.now = 1000;
    sm_sagemaker_wait_options o = {
        poll,           max, watch_keep,
        watch_progress, w,   {fake_clock_now, fake_clock_sleep, &w->clock}};
    return o;
}

#define TJ(status, secondary)                                                  \
    "{\"TrainingJobName\": \"j\", \"TrainingJobStatus\": \"" status            \
    "\", \"SecondaryStatus\": \"" secondary "\"}"

TEST(sagemaker_wait_training_success)
{
    static const fake_step steps[] = {
        {"DescribeTrainingJob", TJ("InProgress", "Starting"), NULL, NULL},
        {"DescribeTrainingJob", TJ("InProgress", "Starting"), NULL, NULL},
        {"DescribeTrainingJob", TJ("InProgress", "Training"), NULL, NULL},
        {"DescribeTrainingJob", TJ("Completed", "Completed"), NULL, NULL},
    };
    fake_caller fake;
    sm_awsjson_caller caller = fake_caller_start(&fake, steps, 4);
    watch w;
    sm_sagemaker_wait_options o = watch_options(&w, 10, 0);
    json_t *last = NULL;
    sm_aws_error err;
    CHECK(sm_sagemaker_wait_via(&caller, SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE,
                                "j", &o, &last,
                                &err) == SM_SAGEMAKER_WAIT_SUCCESS);
    CHECK_STR(err.message, "");
    CHECK_STR(sm_awsjson_str(last, "TrainingJobStatus"), "Completed");
    CHECK(w.polls == 4 && w.changes == 3);
    CHECK_STR(w.statuses, "Starting@0 Starting@10 Training@20 Completed@30");
    CHECK(w.clock.slept == 30);
    /* Sleeps come in slices, with keep_waiting asked between them. */
    CHECK(w.clock.sleeps == 120);
    CHECK(w.asked >= 120);
    CHECK(fake.surprises == 0);
    json_decref(last);
    fake_caller_finish(&fake);
}

TEST(sagemaker_wait_training_failure)
{
    static const fake_step failed[] = {
        {"DescribeTrainingJob", TJ("InProgress", "Training"), NULL, NULL},
        {"DescribeTrainingJob",
         "{\"TrainingJobName\": \"j\", \"TrainingJobStatus\": \"Failed\", "
         "\"FailureReason\": \"AlgorithmError: num_round is required\"}",
         NULL, NULL},
    };
    static const fake_step missing[] = {
        {"DescribeTrainingJob", NULL, "ValidationException",
         "Requested resource not found."},
    };
    fake_caller fake;
    sm_awsjson_caller caller = fake_caller_start(&fake, failed, 2);
    watch w;
    sm_sagemaker_wait_options o = watch_options(&w, 5, 0);
    sm_aws_error err;
    json_t *last = NULL;
    CHECK(sm_sagemaker_wait_via(&caller, SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE,
                                "j", &o, &last,
                                &err) == SM_SAGEMAKER_WAIT_FAILURE);
    CHECK_STR(err.message,
              "The training job j failed: AlgorithmError: num_round is "
              "required");
    CHECK_STR(err.code, SM_SAGEMAKER_WAIT_FAILED_CODE);
    CHECK_STR(err.operation, "DescribeTrainingJob");
    CHECK_STR(sm_awsjson_str(last, "TrainingJobStatus"), "Failed");
    json_decref(last);
    fake_caller_finish(&fake);

    caller = fake_caller_start(&fake, missing, 1);
    o = watch_options(&w, 5, 0);
    CHECK(sm_sagemaker_wait_via(&caller, SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE,
                                "j", &o, &last,
                                &err) == SM_SAGEMAKER_WAIT_FAILURE);
    CHECK_STR(err.code, "ValidationException");
    CHECK_STR(err.message, "Requested resource not found.");
    CHECK(last == NULL);
    CHECK(w.polls == 0);
    fake_caller_finish(&fake);
}

#define EPS(status)                                                            \
    "{\"EndpointName\": \"ep\", \"EndpointStatus\": \"" status "\"}"

TEST(sagemaker_wait_endpoint)
{
    static const fake_step deleted[] = {
        {"DescribeEndpoint", EPS("Deleting"), NULL, NULL},
        {"DescribeEndpoint", NULL, "ValidationException",
         "Could not find endpoint \"ep\"."},
    };
    static const fake_step throttled[] = {
        {"DescribeEndpoint", EPS("Creating"), NULL, NULL},
        {"DescribeEndpoint", NULL, "ThrottlingException", "Rate exceeded"},
    };
    static const fake_step denied_at_first[] = {
        {"DescribeEndpoint", NULL, "AccessDeniedException", "not yet"},
        {"DescribeEndpoint", EPS("Creating"), NULL, NULL},
        {"DescribeEndpoint", EPS("InService"), NULL, NULL},
    };
    fake_caller fake;
    watch w;
    sm_aws_error err;
    sm_awsjson_caller caller = fake_caller_start(&fake, deleted, 2);
    sm_sagemaker_wait_options o = watch_options(&w, 0, 0);
    CHECK(sm_sagemaker_wait_via(&caller, SM_SAGEMAKER_WAIT_ENDPOINT_DELETED,
                                "ep", &o, NULL,
                                &err) == SM_SAGEMAKER_WAIT_SUCCESS);
    CHECK(w.clock.slept == 30); /* the waiter's own delay */
    CHECK_STR(err.code, "");
    fake_caller_finish(&fake);

    caller = fake_caller_start(&fake, throttled, 2);
    o = watch_options(&w, 15, 0);
    CHECK(sm_sagemaker_wait_via(&caller, SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE,
                                "ep", &o, NULL,
                                &err) == SM_SAGEMAKER_WAIT_ERROR);
    CHECK_STR(err.code, "ThrottlingException");
    CHECK_STR(err.operation, "DescribeEndpoint");
    fake_caller_finish(&fake);

    caller = fake_caller_start(&fake, denied_at_first, 3);
    o = watch_options(&w, 15, 0);
    CHECK(sm_sagemaker_wait_via(&caller, SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE,
                                "ep", &o, NULL,
                                &err) == SM_SAGEMAKER_WAIT_SUCCESS);
    CHECK_STR(w.statuses, "Creating@15 InService@30");
    fake_caller_finish(&fake);
}

TEST(sagemaker_wait_bounds)
{
    static const fake_step forever[] = {
        {"DescribeTransformJob", "{\"TransformJobStatus\": \"InProgress\"}",
         NULL, NULL},
        {"DescribeTransformJob", "{\"TransformJobStatus\": \"InProgress\"}",
         NULL, NULL},
        {"DescribeTransformJob", "{\"TransformJobStatus\": \"InProgress\"}",
         NULL, NULL},
        {"DescribeTransformJob", "{\"TransformJobStatus\": \"InProgress\"}",
         NULL, NULL},
        {"DescribeTransformJob", "{\"TransformJobStatus\": \"InProgress\"}",
         NULL, NULL},
        {"DescribeTransformJob", "{\"TransformJobStatus\": \"InProgress\"}",
         NULL, NULL},
    };
    fake_caller fake;
    watch w;
    sm_aws_error err;
    json_t *last = NULL;
    /* Polls at 0, 30, 60, 90 and, last, at the deadline 100. */
    sm_awsjson_caller caller = fake_caller_start(&fake, forever, 6);
    sm_sagemaker_wait_options o = watch_options(&w, 30, 100);
    CHECK(sm_sagemaker_wait_via(&caller, SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE,
                                "batch", &o, &last,
                                &err) == SM_SAGEMAKER_WAIT_TIMEOUT);
    CHECK(json_array_size(fake.requests) == 5);
    CHECK(w.clock.slept == 100);
    CHECK_STR(err.code, SM_SAGEMAKER_WAIT_TIMEOUT_CODE);
    CHECK_STR(err.message, "Gave up waiting for the transform job batch after "
                           "100 s; its status is InProgress.");
    CHECK(last != NULL);
    json_decref(last);
    fake_caller_finish(&fake);

    /* Interrupted in the middle of a sleep: at once, with no more polls. */
    caller = fake_caller_start(&fake, forever, 6);
    o = watch_options(&w, 30, 0);
    w.stop_after = 10;
    CHECK(sm_sagemaker_wait_via(&caller, SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE,
                                "batch", &o, NULL,
                                &err) == SM_SAGEMAKER_WAIT_INTERRUPTED);
    CHECK(json_array_size(fake.requests) == 1);
    CHECK(w.clock.slept < 3);
    CHECK_STR(err.code, SM_SAGEMAKER_WAIT_INTERRUPTED_CODE);
    CHECK(strstr(err.message, "Stopped waiting for the transform job batch"));
    CHECK(strstr(err.message, "its status is InProgress"));
    fake_caller_finish(&fake);

    /* Interrupted before the first poll: nothing is sent. */
    caller = fake_caller_start(&fake, forever, 6);
    o = watch_options(&w, 30, 0);
    w.stop_after = 1;
    CHECK(sm_sagemaker_wait_via(&caller, SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE,
                                "batch", &o, NULL,
                                &err) == SM_SAGEMAKER_WAIT_INTERRUPTED);
    CHECK(json_array_size(fake.requests) == 0);
    CHECK(strstr(err.message, "its status is unknown"));
    fake_caller_finish(&fake);
}

static int stop_after_first(void *ctx, json_t *items, sm_aws_error *err)
{
    (void)err;
    *(size_t *)ctx += json_array_size(items);
    return 1;
}

TEST(sagemaker_paginate_callback_stops)
{
    static const fake_step steps[] = {
        {"ListModels",
         "{\"Models\": [{\"ModelName\": \"a\"}], \"NextToken\": \"t\"}", NULL,
         NULL},
        {"ListModels", "{\"Models\": [{\"ModelName\": \"b\"}]}", NULL, NULL},
    };
    fake_caller fake;
    sm_awsjson_caller caller = fake_caller_start(&fake, steps, 2);
    size_t count = 0;
    sm_sagemaker_pager pager = {"ListModels",     "Models", 0, 0,
                                stop_after_first, &count};
    json_t *request = json_object();
    int truncated = 0;
    sm_aws_error err;
    CHECK(sm_sagemaker_paginate(&caller, &pager, request, &truncated, &err) ==
          0);
    CHECK(count == 1 && truncated);
    CHECK(json_array_size(fake.requests) == 1);
    /* The caller's request is left as it was. */
    CHECK(json_object_size(request) == 0);
    json_decref(request);
    fake_caller_finish(&fake);
}
