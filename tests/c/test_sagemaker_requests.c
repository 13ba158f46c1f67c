/* test_sagemaker_requests: a representative set of request bodies, every
 * SageMaker, Logs and Runtime operation the client sends, with minimal and
 * with full arguments and tricky values. Each must build; and when
 * SAGEMAGIC_DUMP_REQUESTS names a file, each is written there as one JSON
 * line {"service", "operation", "case", "body"}, which
 * tests/python/test_request_shapes.py validates against botocore's
 * service models. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs.h"
#include "runtime.h"
#include "sagemaker.h"
#include "sagemaker_hosting.h"
#include "sagemaker_training.h"
#include "sagemaker_transform.h"
#include "test.h"

#define ROLE "arn:aws:iam::123456789012:role/SageMakerRole"
#define ROLE_PATH                                                              \
    "arn:aws-cn:iam::123456789012:role/service-role/"                          \
    "AmazonSageMaker-ExecutionRole-20261126T000000"
#define IMAGE                                                                  \
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

/* 63 characters, with runs of hyphens the pattern allows. */
#define NAME63 "a--b-c12345678901234567890123456789012345678901234567890123456z"
/* 32 characters: the longest tuning job name. */
#define NAME32                                                                 \
    "t-"                                                                       \
    "123456789012345678901234567890"
_Static_assert(sizeof NAME63 == 64, "NAME63 holds 63 characters");
_Static_assert(sizeof NAME32 == 33, "NAME32 holds 32 characters");

typedef struct dump {
    FILE *file;
    int built, failed;
} dump;

/* Record one body (stolen; NULL when building failed, with `err`). */
static void emit(dump *d, const char *service, const char *operation,
                 const char *label, json_t *body, const sm_error *err)
{
    if (!body) {
        printf("    %s %s (%s) did not build: %s\n", service, operation, label,
               err ? err->message : "");
        d->failed++;
        return;
    }
    d->built++;
    if (d->file) {
        json_t *line =
            json_pack("{s:s, s:s, s:s, s:o}", "service", service, "operation",
                      operation, "case", label, "body", body);
        char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
        if (text)
            fprintf(d->file, "%s\n", text);
        free(text);
        json_decref(line);
    } else {
        json_decref(body);
    }
}

static void emit_sagemaker(dump *d, const char *operation, const char *label,
                           json_t *body, const sm_error *err)
{
    emit(d, "sagemaker", operation, label, body, err);
}

/* ---- training and tuning ------------------------------------------------ */

static char *long_text(size_t n, char c)
{
    char *s = malloc(n + 1);
    if (s) {
        memset(s, c, n);
        s[n] = '\0';
    }
    return s;
}

static void training(dump *d, const char *long_key, const char *long_value)
{
    static const sm_sagemaker_channel channels[] = {
        {.name = "train",
         .s3_uri = "s3://bucket/data/train.csv",
         .content_type = "text/csv",
         .distribution = "ShardedByS3Key",
         .compression = "None",
         .input_mode = "File",
         .record_wrapper = "None"},
        {.name = "validation.v2_x-1",
         .s3_uri = "s3://bucket/my data/ü/validation.csv",
         .content_type = "text/csv;label_size=1",
         .compression = "Gzip"},
        {.name = "manifest",
         .s3_uri = "https://bucket.s3.amazonaws.com/m",
         .s3_data_type = "ManifestFile",
         .input_mode = "FastFile"},
    };
    static const sm_sagemaker_metric_definition metrics[] = {
        {"validation:rmse", ".*\\[[0-9]+\\].*#011validation-rmse:(\\S+)"}};
    static const char *const groups[] = {"sg-0123456789abcdef0"};
    static const char *const subnets[] = {"subnet-1", "subnet-2"};
    static const sm_sagemaker_kv tags[] = {
        {"project", "demo"}, {"数据 set", ""}, {"a:b/c=d+e-f@g", "é"}};
    sm_sagemaker_kv hyperparameters[] = {
        {"num_round", "50"},
        {"eta", "0.2"},
        {"objective", "binary:logistic"},
        {"empty", ""},
        {"unicode", "é数据"},
        {"json", "{\"a\": [1, 2]}"},
        {"tab", "a\tb"},
        {long_key, "k"},
        {"long", long_value},
    };
    static const sm_sagemaker_kv env[] = {{"MULTI_LINE", "a\nb"}, {"_X1", ""}};
    sm_error err = {""};
    sm_sagemaker_training_job_spec s = {0};
    s.name = "j";
    s.training.image = IMAGE;
    s.training.role_arn = ROLE;
    s.training.output_path = "s3://bucket/output";
    s.training.resources.instance_type = "ml.m5.large";
    emit_sagemaker(d, "CreateTrainingJob", "minimal",
                   sm_sagemaker_create_training_job_request(&s, &err), &err);

    s.name = NAME63;
    s.training.role_arn = ROLE_PATH;
    s.training.input_mode = "pipe";
    s.training.metrics = metrics;
    s.training.metric_count = 1;
    s.training.channels = channels;
    s.training.channel_count = 3;
    s.training.output_kms_key_id = "arn:aws:kms:us-east-1:123456789012:key/k-1";
    s.training.resources.instance_count = 4;
    s.training.resources.volume_size_gb = 100;
    s.training.resources.volume_kms_key_id = "alias/my_key";
    s.training.resources.keep_alive_seconds = 21600;
    s.training.max_runtime_seconds = 1;
    s.training.max_wait_seconds = 172800;
    s.training.hyperparameters = hyperparameters;
    s.training.hyperparameter_count =
        sizeof hyperparameters / sizeof hyperparameters[0];
    s.training.environment = env;
    s.training.environment_count = 2;
    s.training.spot = 1;
    s.training.checkpoint_s3_uri = "s3://bucket/checkpoints/";
    s.training.checkpoint_local_path = "/opt/ml/checkpoints";
    s.training.max_retry_attempts = 30;
    s.training.security_group_ids = groups;
    s.training.security_group_count = 1;
    s.training.subnets = subnets;
    s.training.subnet_count = 2;
    s.training.network_isolation = 1;
    s.training.inter_container_encryption = 1;
    s.tags = tags;
    s.tag_count = 3;
    emit_sagemaker(d, "CreateTrainingJob", "full",
                   sm_sagemaker_create_training_job_request(&s, &err), &err);

    static const char *const boosters[] = {"gbtree", "dart", "gblinear"};
    static const sm_sagemaker_range ranges[] = {
        {.type = SM_SAGEMAKER_RANGE_CONTINUOUS,
         .name = "eta",
         .min = "0.01",
         .max = "0.3",
         .scaling = "Logarithmic"},
        {.type = SM_SAGEMAKER_RANGE_CONTINUOUS,
         .name = "subsample",
         .min = "0.5",
         .max = "0.99",
         .scaling = "ReverseLogarithmic"},
        {.type = SM_SAGEMAKER_RANGE_INTEGER,
         .name = "max_depth",
         .min = "3",
         .max = "10",
         .scaling = "Linear"},
        {.type = SM_SAGEMAKER_RANGE_INTEGER,
         .name = "num_round",
         .min = "1",
         .max = "4000",
         .scaling = "Auto"},
        {.type = SM_SAGEMAKER_RANGE_CATEGORICAL,
         .name = "booster",
         .values = boosters,
         .value_count = 3},
    };
    static const sm_sagemaker_kv fixed[] = {{"objective", "reg:squarederror"},
                                            {"verbosity", "0"}};
    static const char *const parents[] = {NAME32, "parent-2"};
    sm_sagemaker_tuning_job_spec t = {0};
    t.name = "t";
    t.objective_metric = "validation:rmse";
    t.objective_type = "Minimize";
    t.max_jobs = 1;
    t.max_parallel = 1;
    t.ranges = ranges;
    t.range_count = 1;
    t.training.image = IMAGE;
    t.training.role_arn = ROLE;
    t.training.output_path = "s3://bucket/tuning";
    t.training.resources.instance_type = "ml.m5.xlarge";
    emit_sagemaker(d, "CreateHyperParameterTuningJob", "minimal",
                   sm_sagemaker_create_tuning_job_request(&t, &err), &err);

    t.name = NAME32;
    t.strategy = "hyperband";
    t.objective_type = "minimize";
    t.max_jobs = 500;
    t.max_parallel = 10;
    t.max_runtime_seconds = 15768000;
    t.range_count = 5;
    t.early_stopping = "Off";
    t.max_jobs_not_improving = 3;
    t.complete_on_convergence = "enabled";
    t.training = s.training;
    t.training.environment_count = 1;
    t.training.hyperparameters = fixed;
    t.training.hyperparameter_count = 2;
    t.warm_start_parents = parents;
    t.warm_start_count = 2;
    t.warm_start_type = "TransferLearning";
    t.tags = tags;
    t.tag_count = 3;
    emit_sagemaker(d, "CreateHyperParameterTuningJob", "full",
                   sm_sagemaker_create_tuning_job_request(&t, &err), &err);

    t = (sm_sagemaker_tuning_job_spec){0};
    t.name = "grid";
    t.strategy = "Grid";
    t.max_parallel = 2;
    t.ranges = &ranges[4];
    t.range_count = 1;
    t.training.image = IMAGE;
    t.training.role_arn = ROLE;
    t.training.output_path = "s3://bucket/tuning";
    t.training.resources.instance_type = "ml.c5.xlarge";
    emit_sagemaker(d, "CreateHyperParameterTuningJob", "grid",
                   sm_sagemaker_create_tuning_job_request(&t, &err), &err);
}

/* ---- hosting and transform ---------------------------------------------- */

static void hosting(dump *d)
{
    static const sm_sagemaker_kv env[] = {
        {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "text/csv"}};
    static const sm_sagemaker_kv tags[] = {{"sagemagic:ttl", "3600"}};
    static const char *const groups[] = {"sg-1"};
    static const char *const subnets[] = {"subnet-1"};
    sm_error err = {""};
    sm_sagemaker_model_spec m = {.name = "m", .image = IMAGE};
    emit_sagemaker(d, "CreateModel", "minimal",
                   sm_sagemaker_create_model_request(&m, &err), &err);
    m = (sm_sagemaker_model_spec){.name = NAME63,
                                  .image = IMAGE,
                                  .model_data_url =
                                      "s3://bucket/out/j/output/model.tar.gz",
                                  .role_arn = ROLE_PATH,
                                  .environment = env,
                                  .environment_count = 1,
                                  .mode = "multimodel",
                                  .security_group_ids = groups,
                                  .security_group_count = 1,
                                  .subnets = subnets,
                                  .subnet_count = 1,
                                  .network_isolation = 1,
                                  .tags = tags,
                                  .tag_count = 1};
    emit_sagemaker(d, "CreateModel", "full",
                   sm_sagemaker_create_model_request(&m, &err), &err);

    sm_sagemaker_variant v[3] = {
        {.model_name = "m", .instance_type = "ml.t2.medium"},
    };
    sm_sagemaker_endpoint_config_spec c = {
        .name = "c", .variants = v, .variant_count = 1};
    emit_sagemaker(d, "CreateEndpointConfig", "minimal",
                   sm_sagemaker_create_endpoint_config_request(&c, &err), &err);
    v[0] = (sm_sagemaker_variant){.name = "blue",
                                  .model_name = NAME63,
                                  .instance_type = "ml.m5.large",
                                  .instance_count = 3,
                                  .weight = 0.25,
                                  .volume_size_gb = 512,
                                  .model_download_timeout_seconds = 3600,
                                  .startup_health_check_timeout_seconds = 60};
    v[1] = (sm_sagemaker_variant){.name = "serverless",
                                  .model_name = "m",
                                  .serverless_memory_mb = 6144,
                                  .serverless_max_concurrency = 200,
                                  .serverless_provisioned_concurrency = 1};
    v[2] = (sm_sagemaker_variant){
        .name = "green", .model_name = "m", .serverless_memory_mb = 1024};
    c = (sm_sagemaker_endpoint_config_spec){.name = NAME63,
                                            .variants = v,
                                            .variant_count = 3,
                                            .kms_key_id = "k-1",
                                            .tags = tags,
                                            .tag_count = 1};
    emit_sagemaker(d, "CreateEndpointConfig", "full",
                   sm_sagemaker_create_endpoint_config_request(&c, &err), &err);

    sm_sagemaker_endpoint_spec e = {.name = "e", .config_name = "c"};
    emit_sagemaker(d, "CreateEndpoint", "minimal",
                   sm_sagemaker_create_endpoint_request(&e, &err), &err);
    e = (sm_sagemaker_endpoint_spec){
        .name = NAME63, .config_name = NAME63, .tags = tags, .tag_count = 1};
    emit_sagemaker(d, "CreateEndpoint", "full",
                   sm_sagemaker_create_endpoint_request(&e, &err), &err);

    sm_sagemaker_endpoint_update u = {.name = "e", .config_name = "c2"};
    emit_sagemaker(d, "UpdateEndpoint", "minimal",
                   sm_sagemaker_update_endpoint_request(&u, &err), &err);
    u.retain_all_variant_properties = 1;
    u.retain_deployment_config = 1;
    emit_sagemaker(d, "UpdateEndpoint", "full",
                   sm_sagemaker_update_endpoint_request(&u, &err), &err);
}

static void transform(dump *d)
{
    static const sm_sagemaker_kv env[] = {
        {"SAGEMAKER_MODEL_SERVER_TIMEOUT", "3600"}};
    static const sm_sagemaker_kv tags[] = {{"k", "v"}};
    sm_error err = {""};
    sm_sagemaker_transform_job_spec s = {.name = "b",
                                         .model_name = "m",
                                         .input_uri = "s3://bucket/in",
                                         .output_path = "s3://bucket/out",
                                         .instance_type = "ml.m5.large"};
    emit_sagemaker(d, "CreateTransformJob", "minimal",
                   sm_sagemaker_create_transform_job_request(&s, &err), &err);
    s = (sm_sagemaker_transform_job_spec){
        .name = NAME63,
        .model_name = NAME63,
        .input_uri = "s3://bucket/test data/ü.csv",
        .input_data_type = "ManifestFile",
        .content_type = "text/csv",
        .compression = "gzip",
        .split_type = "Line",
        .output_path = "s3://bucket/predictions/",
        .accept = "text/csv",
        .assemble_with = "line",
        .output_kms_key_id = "alias/out",
        .instance_type = "ml.c5.2xlarge",
        .instance_count = 2,
        .volume_kms_key_id = "alias/vol",
        .batch_strategy = "MultiRecord",
        .max_concurrent = 4,
        .max_payload_mb = 6,
        .invocation_timeout_seconds = 3600,
        .invocation_max_retries = 3,
        .environment = env,
        .environment_count = 1,
        .input_filter = "$[1:]",
        .output_filter = "$['id','SageMakerOutput']",
        .join_source = "Input",
        .tags = tags,
        .tag_count = 1};
    emit_sagemaker(d, "CreateTransformJob", "full",
                   sm_sagemaker_create_transform_job_request(&s, &err), &err);
    s.invocation_max_retries = -1;
    s.split_type = "None";
    s.batch_strategy = "SingleRecord";
    emit_sagemaker(d, "CreateTransformJob", "no-retries",
                   sm_sagemaker_create_transform_job_request(&s, &err), &err);
}

/* ---- by name and lists -------------------------------------------------- */

static const char *const kind_names[SM_SAGEMAKER_KIND_COUNT][2] = {
    [SM_SAGEMAKER_TRAINING_JOB] = {"j", NAME63},
    [SM_SAGEMAKER_MODEL] = {"m", NAME63},
    [SM_SAGEMAKER_ENDPOINT_CONFIG] = {"c", NAME63},
    [SM_SAGEMAKER_ENDPOINT] = {"e", NAME63},
    [SM_SAGEMAKER_TRANSFORM_JOB] = {"b", NAME63},
    [SM_SAGEMAKER_TUNING_JOB] = {"t", NAME32},
};

/* A status and sort key each kind's List accepts. */
static const char *const kind_filters[SM_SAGEMAKER_KIND_COUNT][2] = {
    [SM_SAGEMAKER_TRAINING_JOB] = {"inprogress", "Status"},
    [SM_SAGEMAKER_MODEL] = {NULL, "CreationTime"},
    [SM_SAGEMAKER_ENDPOINT_CONFIG] = {NULL, "name"},
    [SM_SAGEMAKER_ENDPOINT] = {"OutOfService", "Status"},
    [SM_SAGEMAKER_TRANSFORM_JOB] = {"Stopped", "CreationTime"},
    [SM_SAGEMAKER_TUNING_JOB] = {"DeleteFailed", "Status"},
};

static void by_name(dump *d)
{
    static const sm_sagemaker_op ops[] = {
        SM_SAGEMAKER_OP_DESCRIBE, SM_SAGEMAKER_OP_STOP, SM_SAGEMAKER_OP_DELETE};
    static const char *const labels[] = {"short name", "longest name"};
    for (int k = 0; k < SM_SAGEMAKER_KIND_COUNT; k++) {
        for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
            const char *operation = sm_sagemaker_operation(k, ops[o]);
            for (int n = 0; operation && n < 2; n++) {
                sm_error err = {""};
                emit_sagemaker(
                    d, operation, labels[n],
                    sm_sagemaker_name_request(k, kind_names[k][n], &err), &err);
            }
        }
    }
}

static void lists(dump *d, const char *long_token)
{
    for (int k = 0; k < SM_SAGEMAKER_KIND_COUNT; k++) {
        const char *operation = sm_sagemaker_operation(k, SM_SAGEMAKER_OP_LIST);
        sm_error err = {""};
        emit_sagemaker(d, operation, "minimal",
                       sm_sagemaker_list_request(k, NULL, NULL, &err), &err);
        sm_sagemaker_list_options o = {.name_contains = "xgb-2026",
                                       .status_equals = kind_filters[k][0],
                                       .sort_by = kind_filters[k][1],
                                       .sort_order = "ascending",
                                       .creation_time_after = 1700000000.25,
                                       .creation_time_before = 1800000000,
                                       .page_size = 100};
        emit_sagemaker(d, operation, "full",
                       sm_sagemaker_list_request(k, &o, long_token, &err),
                       &err);
        o = (sm_sagemaker_list_options){.page_size = 1};
        emit_sagemaker(d, operation, "page",
                       sm_sagemaker_list_request(k, &o, "t", &err), &err);
    }
    sm_error err = {""};
    const char *op = "ListTrainingJobsForHyperParameterTuningJob";
    emit_sagemaker(d, op, "minimal",
                   sm_sagemaker_list_trials_request("t", NULL, NULL, &err),
                   &err);
    sm_sagemaker_list_options o = {.status_equals = "Completed",
                                   .sort_by = "FinalObjectiveMetricValue",
                                   .sort_order = "Descending",
                                   .page_size = 100};
    emit_sagemaker(
        d, op, "full",
        sm_sagemaker_list_trials_request(NAME32, &o, long_token, &err), &err);
}

/* ---- logs and runtime --------------------------------------------------- */

static void logs(dump *d)
{
    sm_error err = {""};
    sm_logs_stream_query s = {.group = "g"};
    emit(d, "logs", "DescribeLogStreams", "minimal",
         sm_logs_describe_streams_request(&s, &err), &err);
    s = (sm_logs_stream_query){.group = SM_LOGS_TRAINING_GROUP,
                               .prefix = NAME63 "/",
                               .order_by = "LogStreamName",
                               .descending = 1,
                               .limit = 50,
                               .next_token = "n"};
    emit(d, "logs", "DescribeLogStreams", "full",
         sm_logs_describe_streams_request(&s, &err), &err);
    s = (sm_logs_stream_query){.group = "/aws/sagemaker/Endpoints/e#1",
                               .order_by = "LastEventTime",
                               .limit = 1};
    emit(d, "logs", "DescribeLogStreams", "by last event",
         sm_logs_describe_streams_request(&s, &err), &err);

    sm_logs_events_query e = {.group = "g", .stream = "s"};
    emit(d, "logs", "GetLogEvents", "minimal",
         sm_logs_get_events_request(&e, &err), &err);
    e = (sm_logs_events_query){.group = SM_LOGS_TRANSFORM_GROUP,
                               .stream = "b/i-0abc 数据/data-log",
                               .start_time = 1700000000000LL,
                               .end_time = 1700000999999LL,
                               .next_token = "f/3774/s",
                               .limit = 10000};
    emit(d, "logs", "GetLogEvents", "full",
         sm_logs_get_events_request(&e, &err), &err);

    static const char *const streams[] = {"j/algo-1-1700000000",
                                          "j/algo-2-1700000000"};
    sm_logs_filter_query f = {.group = "g"};
    emit(d, "logs", "FilterLogEvents", "minimal",
         sm_logs_filter_events_request(&f, &err), &err);
    f = (sm_logs_filter_query){.group = SM_LOGS_TRAINING_GROUP,
                               .streams = streams,
                               .stream_count = 2,
                               .start_time = 1,
                               .end_time = 2,
                               .pattern = "\"#011validation-rmse\"",
                               .limit = 10000,
                               .next_token = "n"};
    emit(d, "logs", "FilterLogEvents", "full",
         sm_logs_filter_events_request(&f, &err), &err);
    f = (sm_logs_filter_query){.group = "g", .prefix = "j/", .limit = 1};
    emit(d, "logs", "FilterLogEvents", "prefix",
         sm_logs_filter_events_request(&f, &err), &err);
}

/* Runtime's members as the REST request carries them, back as params. */
static json_t *runtime_params(const sm_runtime_prepared *p, const char *body)
{
    static const struct {
        const char *header, *member;
    } map[] = {
        {"Content-Type", "ContentType"},
        {"Accept", "Accept"},
        {"X-Amzn-SageMaker-Custom-Attributes", "CustomAttributes"},
        {"X-Amzn-SageMaker-Target-Model", "TargetModel"},
        {"X-Amzn-SageMaker-Target-Variant", "TargetVariant"},
        {"X-Amzn-SageMaker-Target-Container-Hostname",
         "TargetContainerHostname"},
        {"X-Amzn-SageMaker-Inference-Id", "InferenceId"},
        {"X-Amzn-SageMaker-Inference-Component", "InferenceComponentName"},
        {"X-Amzn-SageMaker-Session-Id", "SessionId"},
        {"X-Amzn-SageMaker-Enable-Explanations", "EnableExplanations"},
    };
    const char *name = p->rest.path + strlen("/endpoints/");
    const char *end = strchr(name, '/');
    json_t *params = json_pack("{s:s%, s:s}", "EndpointName", name,
                               (size_t)(end - name), "Body", body);
    for (size_t i = 0; i < p->rest.header_count; i++)
        for (size_t m = 0; m < sizeof map / sizeof map[0]; m++)
            if (strcmp(p->rest.headers[i].name, map[m].header) == 0)
                json_object_set_new(params, map[m].member,
                                    json_string(p->rest.headers[i].value));
    return params;
}

static void runtime(dump *d)
{
    sm_runtime_request r = {
        .endpoint_name = "e", .body = "1,2,3", .body_len = 5};
    sm_runtime_prepared p;
    sm_error err = {""};
    emit(d, "sagemaker-runtime", "InvokeEndpoint", "minimal",
         sm_runtime_prepare(&r, &p, &err) ? NULL : runtime_params(&p, "1,2,3"),
         &err);
    r = (sm_runtime_request){.endpoint_name = NAME63,
                             .body = "1,2,3\n4,5,6",
                             .body_len = 11,
                             .content_type = "text/csv; charset=utf-8",
                             .accept = "application/jsonlines",
                             .custom_attributes =
                                 "c000b4f9-df62-4c85-a0bf-7c525f9104a4",
                             .target_model = "model-a.tar.gz",
                             .target_variant = "AllTraffic",
                             .target_container_hostname = "xgb",
                             .inference_id = "req 1",
                             .inference_component = "ic-1",
                             .session_id = "NEW_SESSION",
                             .enable_explanations = "`true`"};
    emit(d, "sagemaker-runtime", "InvokeEndpoint", "full",
         sm_runtime_prepare(&r, &p, &err) ? NULL
                                          : runtime_params(&p, "1,2,3\n4,5,6"),
         &err);
}

TEST(sagemaker_request_dump)
{
    dump d = {0};
    const char *path = getenv("SAGEMAGIC_DUMP_REQUESTS");
    if (path && *path) {
        d.file = fopen(path, "w");
        CHECK(d.file != NULL);
    }
    char *long_key = long_text(256, 'k');
    char *long_value = long_text(2500, 'v');
    char *long_token = long_text(8192, 'T');
    CHECK(long_key && long_value && long_token);
    training(&d, long_key, long_value);
    hosting(&d);
    transform(&d);
    by_name(&d);
    lists(&d, long_token);
    logs(&d);
    runtime(&d);
    free(long_key);
    free(long_value);
    free(long_token);
    if (d.file)
        CHECK(fclose(d.file) == 0);
    CHECK(d.failed == 0);
    CHECK(d.built >= 70);
}
