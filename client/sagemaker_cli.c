/* sagemaker_cli: "sagemagic-aws sagemaker SUBCOMMAND", the typed SageMaker
 * and Runtime operations on the command line. Subcommands and flags are
 * rows of two tables; a flag row names the subcommands that take it.
 * Creating prints the new ARN; describe and list print text (or the
 * service's JSON with --json); waiting reports each change of status on
 * stderr. */
#include "sagemaker_cli.h"

#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws.h"
#include "awstime.h"
#include "cli_flags.h"
#include "log.h"
#include "runtime.h"
#include "sagemaker.h"
#include "sagemaker_hosting.h"
#include "sagemaker_training.h"
#include "sagemaker_transform.h"

#define PROG "sagemagic-aws sagemaker"

/* The subcommands, in the order of the table; each is a bit for the flag
 * rows. */
enum {
    TRAIN,
    TUNE,
    MODEL,
    DEPLOY,
    UPDATE,
    TRANSFORM,
    DESCRIBE,
    LIST,
    STOP,
    DELETE,
    WAIT,
    INVOKE,
    SUBCOMMAND_COUNT
};

#define ON(sub) (1u << (sub))
#define CREATES (ON(TRAIN) | ON(TUNE) | ON(MODEL) | ON(DEPLOY) | ON(TRANSFORM))
#define JOBS (ON(TRAIN) | ON(TUNE))
#define WAITS                                                                  \
    (ON(TRAIN) | ON(TUNE) | ON(DEPLOY) | ON(UPDATE) | ON(TRANSFORM) |          \
     ON(DELETE) | ON(WAIT))

typedef struct sm_args {
    const char *region, *profile, *endpoint_url;
    const char *name, *image, *role, *train, *validation, *output;
    const char *content_type, *instance_type, *instance_count, *volume_gb;
    const char *max_runtime, *objective, *objective_type, *strategy;
    const char *max_jobs, *max_parallel, *model_data, *model, *config;
    const char *input, *accept, *split_type, *assemble_with;
    const char *poll, *timeout, *name_contains, *status, *sort_by;
    const char *sort_order, *max_items, *page_size, *tuning_job;
    const char *body, *body_file;
    const char *custom_attributes, *target_variant, *out;
    sm_cli_list hp, env, tag, range;
    int wait, json, help;
} sm_args;

#define V(member) SM_CLI_VALUE, offsetof(sm_args, member)
#define S(member) SM_CLI_SWITCH, offsetof(sm_args, member)
#define L(member) SM_CLI_LIST, offsetof(sm_args, member)

static const sm_cli_flag flags[] = {
    {"--name", "NAME", V(name), CREATES, "name of the new resource"},
    {"--image", "URI", V(image), JOBS | ON(MODEL),
     "the training or inference image"},
    {"--role", "ARN", V(role), JOBS | ON(MODEL),
     "the IAM role SageMaker acts as"},
    {"--train", "S3URI", V(train), JOBS, "the train channel (s3:// prefix)"},
    {"--validation", "S3URI", V(validation), JOBS, "the validation channel"},
    {"--content-type", "TYPE", V(content_type),
     JOBS | ON(TRANSFORM) | ON(INVOKE), "the data's type, e.g. text/csv"},
    {"--output", "S3URI", V(output), JOBS | ON(TRANSFORM),
     "where the model artifacts or the results go"},
    {"--instance-type", "TYPE", V(instance_type),
     JOBS | ON(DEPLOY) | ON(TRANSFORM), "e.g. ml.m5.xlarge"},
    {"--instance-count", "N", V(instance_count),
     JOBS | ON(DEPLOY) | ON(TRANSFORM), "instances (1)"},
    {"--volume-gb", "N", V(volume_gb), JOBS, "storage per instance (30)"},
    {"--max-runtime", "SECONDS", V(max_runtime), JOBS,
     "stop a training job after this long (86400)"},
    {"--hp", "KEY=VALUE", L(hp), JOBS, "a hyperparameter (tune: a fixed one)"},
    {"--objective", "METRIC", V(objective), ON(TUNE),
     "the metric to tune for, e.g. validation:auc"},
    {"--objective-type", "TYPE", V(objective_type), ON(TUNE),
     "Maximize or Minimize"},
    {"--strategy", "S", V(strategy), ON(TUNE) | ON(TRANSFORM),
     "tune: Bayesian, Random, Hyperband, Grid; transform: MultiRecord, "
     "SingleRecord"},
    {"--max-jobs", "N", V(max_jobs), ON(TUNE), "training jobs in all"},
    {"--max-parallel", "N", V(max_parallel), ON(TUNE), "training jobs at once"},
    {"--range", "SPEC", L(range), ON(TUNE),
     "a range to tune, as %tune writes it: NAME=MIN..MAX[:int][:log] or "
     "NAME=A|B"},
    {"--model-data", "S3URI", V(model_data), ON(MODEL), "the model.tar.gz"},
    {"--env", "KEY=VALUE", L(env), ON(MODEL), "the container's environment"},
    {"--model", "NAME", V(model), ON(DEPLOY) | ON(TRANSFORM),
     "the model to serve or run"},
    {"--config", "NAME", V(config), ON(DEPLOY) | ON(UPDATE),
     "the endpoint config (deploy: its name; the endpoint's by default)"},
    {"--input", "S3URI", V(input), ON(TRANSFORM), "the data to transform"},
    {"--accept", "TYPE", V(accept), ON(TRANSFORM) | ON(INVOKE),
     "the type of the answer"},
    {"--split-type", "T", V(split_type), ON(TRANSFORM),
     "None, Line, RecordIO, TFRecord"},
    {"--assemble-with", "T", V(assemble_with), ON(TRANSFORM), "None, Line"},
    {"--tag", "KEY=VALUE", L(tag), CREATES, "a tag"},
    {"--wait", NULL, S(wait), WAITS & ~ON(WAIT),
     "wait until it is done (delete: an endpoint is gone)"},
    {"--poll", "SECONDS", V(poll), WAITS,
     "between two Describe calls (the waiter's delay)"},
    {"--timeout", "SECONDS", V(timeout), WAITS,
     "give up waiting after this long (the waiter's limit)"},
    {"--json", NULL, S(json), ON(DESCRIBE) | ON(LIST),
     "print the service's JSON"},
    {"--name-contains", "TEXT", V(name_contains), ON(LIST),
     "only names containing TEXT"},
    {"--status", "STATUS", V(status), ON(LIST), "only this status"},
    {"--sort-by", "KEY", V(sort_by), ON(LIST),
     "Name, CreationTime, Status (trials: FinalObjectiveMetricValue)"},
    {"--sort-order", "ORDER", V(sort_order), ON(LIST), "Ascending, Descending"},
    {"--max-items", "N", V(max_items), ON(LIST), "at most N"},
    {"--tuning-job", "NAME", V(tuning_job), ON(LIST),
     "list training-job: the training jobs of this tuning job"},
    {"--page-size", "N", V(page_size), ON(LIST),
     "ask for N a request (1-100; the service's default)"},
    {"--body", "TEXT", V(body), ON(INVOKE), "the request body"},
    {"--body-file", "FILE", V(body_file), ON(INVOKE),
     "the request body from a file (- is stdin)"},
    {"--custom-attributes", "TEXT", V(custom_attributes), ON(INVOKE),
     "passed to the container"},
    {"--target-variant", "NAME", V(target_variant), ON(INVOKE),
     "the production variant to invoke"},
    {"--out", "FILE", V(out), ON(INVOKE),
     "write the answer here and print its headers"},
    {"--region", "R", V(region), 0, "the region (else AWS_REGION, profile)"},
    {"--profile", "P", V(profile), 0, "the shared config profile"},
    {"--endpoint-url", "URL", V(endpoint_url), 0,
     "send requests here (else AWS_ENDPOINT_URL_*, AWS_ENDPOINT_URL)"},
    {"--help", NULL, S(help), 0, "show this help"},
};

#define FLAG_COUNT (sizeof flags / sizeof flags[0])

/* What a subcommand runs with. */
typedef struct run_ctx {
    sm_aws *aws;
    const sm_args *a;
    const sm_cli_words *w;
    char prog[64];      /* "sagemagic-aws sagemaker train" */
    double poll, limit; /* --poll, --timeout; 0: the waiter's */
} run_ctx;

static int sub_train(run_ctx *c);
static int sub_tune(run_ctx *c);
static int sub_model(run_ctx *c);
static int sub_deploy(run_ctx *c);
static int sub_update(run_ctx *c);
static int sub_transform(run_ctx *c);
static int sub_describe(run_ctx *c);
static int sub_list(run_ctx *c);
static int sub_stop(run_ctx *c);
static int sub_delete(run_ctx *c);
static int sub_wait(run_ctx *c);
static int sub_invoke(run_ctx *c);

typedef struct subcommand {
    const char *name;
    int (*run)(run_ctx *c);
    int min_words, max_words;
    const char *words;    /* the positional arguments, for the usage */
    const char *required; /* flags that must be given, space-separated */
    const char *summary;
} subcommand;

static const subcommand subcommands[SUBCOMMAND_COUNT] = {
    [TRAIN] = {"train", sub_train, 0, 0, "",
               "--name --image --role --train --output --instance-type",
               "create a training job"},
    [TUNE] = {"tune", sub_tune, 0, 0, "",
              "--name --image --role --train --output --instance-type "
              "--max-parallel",
              "create a hyperparameter tuning job"},
    [MODEL] = {"model", sub_model, 0, 0, "", "--name --image --role",
               "create a model from an image (and a model.tar.gz)"},
    [DEPLOY] = {"deploy", sub_deploy, 0, 0, "",
                "--name --model --instance-type",
                "create an endpoint config and an endpoint serving a model"},
    [UPDATE] = {"update", sub_update, 1, 1, "ENDPOINT", "--config",
                "move an endpoint to another endpoint config"},
    [TRANSFORM] = {"transform", sub_transform, 0, 0, "",
                   "--name --model --input --output --instance-type",
                   "create a batch transform job"},
    [DESCRIBE] = {"describe", sub_describe, 2, 2, "KIND NAME", "",
                  "what the service says of one resource"},
    [LIST] = {"list", sub_list, 1, 1, "KIND", "",
              "resources of a kind, newest first"},
    [STOP] = {"stop", sub_stop, 2, 2, "KIND NAME", "",
              "stop a training, transform or tuning job"},
    [DELETE] = {"delete", sub_delete, 2, 2, "KIND NAME", "",
                "delete a model, endpoint config or endpoint"},
    [WAIT] = {"wait", sub_wait, 2, 2, "KIND NAME", "",
              "wait until a job ends or an endpoint is in service"},
    [INVOKE] = {"invoke", sub_invoke, 1, 1, "ENDPOINT", "",
                "send one request to an endpoint (SageMaker Runtime)"},
};

/* ---- kinds -------------------------------------------------------------- */

typedef int (*show_fn)(run_ctx *c, const char *name, sm_aws_error *err);

static int show_training_job(run_ctx *c, const char *name, sm_aws_error *err);
static int show_model(run_ctx *c, const char *name, sm_aws_error *err);
static int show_endpoint_config(run_ctx *c, const char *name,
                                sm_aws_error *err);
static int show_endpoint(run_ctx *c, const char *name, sm_aws_error *err);
static int show_transform_job(run_ctx *c, const char *name, sm_aws_error *err);
static int show_tuning_job(run_ctx *c, const char *name, sm_aws_error *err);

typedef struct kind_row {
    const char *word;
    sm_sagemaker_kind kind;
    int waiter; /* an sm_sagemaker_waiter, or -1: nothing to wait for */
    show_fn show;
} kind_row;

static const kind_row kinds[] = {
    {"training-job", SM_SAGEMAKER_TRAINING_JOB,
     SM_SAGEMAKER_WAIT_TRAINING_JOB_DONE, show_training_job},
    {"model", SM_SAGEMAKER_MODEL, -1, show_model},
    {"endpoint-config", SM_SAGEMAKER_ENDPOINT_CONFIG, -1, show_endpoint_config},
    {"endpoint", SM_SAGEMAKER_ENDPOINT, SM_SAGEMAKER_WAIT_ENDPOINT_IN_SERVICE,
     show_endpoint},
    {"transform-job", SM_SAGEMAKER_TRANSFORM_JOB,
     SM_SAGEMAKER_WAIT_TRANSFORM_JOB_DONE, show_transform_job},
    {"tuning-job", SM_SAGEMAKER_TUNING_JOB, SM_SAGEMAKER_WAIT_TUNING_JOB_DONE,
     show_tuning_job},
};

#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

static const kind_row *kind_find(const char *word)
{
    for (size_t i = 0; i < KIND_COUNT; i++)
        if (strcmp(kinds[i].word, word) == 0)
            return &kinds[i];
    return NULL;
}

static const kind_row *kind_row_of(sm_sagemaker_kind kind)
{
    for (size_t i = 0; i < KIND_COUNT; i++)
        if (kinds[i].kind == kind)
            return &kinds[i];
    return &kinds[0];
}

/* The KIND word of `c`, or NULL after a usage line. */
static const kind_row *kind_arg(const run_ctx *c)
{
    const kind_row *row = kind_find(c->w->items[0]);
    if (!row) {
        fprintf(stderr, "%s: unknown KIND '%s'; one of:", c->prog,
                c->w->items[0]);
        for (size_t i = 0; i < KIND_COUNT; i++)
            fprintf(stderr, " %s", kinds[i].word);
        fprintf(stderr, "\n");
    }
    return row;
}

/* ---- output ------------------------------------------------------------- */

/* Print the failure as one line; a request refused before sending is a
 * usage mistake. */
static int fail(const run_ctx *c, const sm_aws_error *err)
{
    char msg[1400];
    sm_aws_error_format(err, msg, sizeof msg);
    fprintf(stderr, "%s: %s\n", c->prog, msg);
    if (err->http_status == 0 && strcmp(err->code, SM_AWSJSON_INVALID) == 0)
        return SM_CLI_EXIT_USAGE;
    return SM_CLI_EXIT_FAIL;
}

static void show_str(const char *key, const char *value)
{
    if (value && *value)
        printf("%-20s %s\n", key, value);
}

static void show_time(const char *key, double epoch)
{
    char iso[21];
    if (epoch <= 0)
        return;
    sm_awstime_format_iso8601((time_t)epoch, iso);
    show_str(key, iso);
}

static void show_instances(const char *type, int count)
{
    if (type && *type)
        printf("%-20s %s x %d\n", "Instances:", type, count);
}

static void show_state(const sm_sagemaker_state *s)
{
    show_str("Name:", s->name);
    show_str("Arn:", s->arn);
    show_str("Status:", s->status);
    show_str("SecondaryStatus:", s->secondary_status);
    show_str("FailureReason:", s->failure_reason);
    show_time("CreationTime:", s->creation_time);
    show_time("StartTime:", s->start_time);
    show_time("EndTime:", s->end_time);
    show_time("LastModifiedTime:", s->last_modified_time);
}

static int print_json(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(4) | JSON_ENCODE_ANY);
    if (!text)
        return SM_CLI_EXIT_FAIL;
    printf("%s\n", text);
    free(text);
    return 0;
}

/* ---- describe, as text -------------------------------------------------- */

static int show_training_job(run_ctx *c, const char *name, sm_aws_error *err)
{
    sm_sagemaker_training_job job;
    if (sm_sagemaker_describe_training_job(c->aws, name, &job, err))
        return -1;
    show_state(&job.state);
    show_str("Image:", job.image);
    show_instances(job.instance_type, job.instance_count);
    show_str("OutputPath:", job.output_path);
    show_str("ModelArtifacts:", job.model_artifacts);
    show_str("TuningJobArn:", job.tuning_job_arn);
    if (job.training_seconds > 0)
        printf("%-20s %.0f\n", "TrainingSeconds:", job.training_seconds);
    if (job.billable_seconds > 0)
        printf("%-20s %.0f\n", "BillableSeconds:", job.billable_seconds);
    for (size_t i = 0; i < job.metric_count; i++)
        printf("%-20s %s = %g\n", "Metric:", job.metrics[i].name,
               job.metrics[i].value);
    for (size_t i = 0; i < job.transition_count; i++)
        printf("%-20s %s: %s\n", "Transition:", job.transitions[i].status,
               job.transitions[i].message);
    sm_sagemaker_training_job_clear(&job);
    return 0;
}

static int show_model(run_ctx *c, const char *name, sm_aws_error *err)
{
    sm_sagemaker_model model;
    if (sm_sagemaker_describe_model(c->aws, name, &model, err))
        return -1;
    show_str("Name:", model.name);
    show_str("Arn:", model.arn);
    show_time("CreationTime:", model.creation_time);
    show_str("Image:", model.image);
    show_str("ModelDataUrl:", model.model_data_url);
    show_str("ExecutionRoleArn:", model.role_arn);
    sm_sagemaker_model_clear(&model);
    return 0;
}

static void show_variant(const sm_sagemaker_variant_info *v, int endpoint)
{
    printf("%-20s %s", "Variant:", v->name);
    if (!endpoint)
        printf(" model %s", v->model_name);
    if (v->serverless_memory_mb)
        printf(" serverless %d MB, concurrency %d", v->serverless_memory_mb,
               v->serverless_max_concurrency);
    else if (endpoint)
        printf(" instances %d of %d", v->instance_count,
               v->desired_instance_count);
    else
        printf(" %s x %d", v->instance_type, v->instance_count);
    printf(" weight %g\n", v->weight);
}

static int show_endpoint_config(run_ctx *c, const char *name, sm_aws_error *err)
{
    sm_sagemaker_endpoint_config config;
    if (sm_sagemaker_describe_endpoint_config(c->aws, name, &config, err))
        return -1;
    show_str("Name:", config.name);
    show_str("Arn:", config.arn);
    show_time("CreationTime:", config.creation_time);
    for (size_t i = 0; i < config.variant_count; i++)
        show_variant(&config.variants[i], 0);
    sm_sagemaker_endpoint_config_clear(&config);
    return 0;
}

static int show_endpoint(run_ctx *c, const char *name, sm_aws_error *err)
{
    sm_sagemaker_endpoint endpoint;
    if (sm_sagemaker_describe_endpoint(c->aws, name, &endpoint, err))
        return -1;
    show_state(&endpoint.state);
    show_str("EndpointConfig:", endpoint.config_name);
    for (size_t i = 0; i < endpoint.variant_count; i++)
        show_variant(&endpoint.variants[i], 1);
    sm_sagemaker_endpoint_clear(&endpoint);
    return 0;
}

static int show_transform_job(run_ctx *c, const char *name, sm_aws_error *err)
{
    sm_sagemaker_transform_job job;
    if (sm_sagemaker_describe_transform_job(c->aws, name, &job, err))
        return -1;
    show_state(&job.state);
    show_str("Model:", job.model_name);
    show_str("Input:", job.input_uri);
    show_str("OutputPath:", job.output_path);
    show_instances(job.instance_type, job.instance_count);
    sm_sagemaker_transform_job_clear(&job);
    return 0;
}

static void show_trial(const sm_sagemaker_trial *best)
{
    show_str("BestTrainingJob:", best->state.name);
    if (best->has_objective)
        printf("%-20s %s = %g\n", "BestObjective:", best->objective_metric,
               best->objective_value);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)best->hyperparameters, key, value)
        printf("%-20s %s=%s\n", "BestHyperParameter:", key,
               json_is_string(value) ? json_string_value(value) : "?");
}

static int show_tuning_job(run_ctx *c, const char *name, sm_aws_error *err)
{
    sm_sagemaker_tuning_job job;
    if (sm_sagemaker_describe_tuning_job(c->aws, name, &job, err))
        return -1;
    show_state(&job.state);
    show_str("Strategy:", job.strategy);
    if (*job.objective_metric)
        printf("%-20s %s %s\n", "Objective:", job.objective_type,
               job.objective_metric);
    printf("%-20s %d in all, %d at once\n", "TrainingJobs:", job.max_jobs,
           job.max_parallel);
    printf("%-20s completed %d, in progress %d, stopped %d, failed %d\n",
           "JobCounts:", job.jobs.completed, job.jobs.in_progress,
           job.jobs.stopped,
           job.jobs.retryable_error + job.jobs.non_retryable_error);
    if (job.has_best)
        show_trial(&job.best);
    sm_sagemaker_tuning_job_clear(&job);
    return 0;
}

/* ---- waiting ------------------------------------------------------------ */

static volatile sig_atomic_t interrupted_flag;

static void on_signal(int sig)
{
    (void)sig;
    interrupted_flag = 1;
}

/* From here on Ctrl-C (or SIGTERM) ends the wait, not the process: the
 * resource keeps going and the command says where things stood. */
static void catch_interrupts(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int keep_waiting(void *ctx)
{
    (void)ctx;
    return !interrupted_flag;
}

static void wait_progress(void *ctx, const sm_sagemaker_wait_progress *p)
{
    (void)ctx;
    const sm_sagemaker_state *s = p->state;
    if (!p->changed)
        return;
    fprintf(stderr, "%s %s: %s%s%s (%.0f s)\n",
            sm_sagemaker_kind_label(s->kind), s->name, s->status,
            *s->secondary_status ? " - " : "", s->secondary_status, p->elapsed);
}

/* Wait with `waiter` for `name`; 0, 1 (failed, timed out) or 130. */
static int wait_for(run_ctx *c, sm_sagemaker_waiter waiter, const char *name)
{
    sm_sagemaker_wait_options o = {
        .poll_seconds = c->poll,
        .max_seconds = c->limit,
        .keep_waiting = keep_waiting,
        .progress = wait_progress,
    };
    sm_aws_error err;
    catch_interrupts();
    sm_sagemaker_wait_result r =
        sm_sagemaker_wait(c->aws, waiter, name, &o, NULL, &err);
    if (r == SM_SAGEMAKER_WAIT_SUCCESS)
        return 0;
    fail(c, &err);
    return r == SM_SAGEMAKER_WAIT_INTERRUPTED ? SM_CLI_EXIT_INTR
                                              : SM_CLI_EXIT_FAIL;
}

/* After creating `name`: with --wait, wait for it and describe it. */
static int maybe_wait(run_ctx *c, sm_sagemaker_kind kind, const char *name)
{
    const kind_row *row = kind_row_of(kind);
    sm_aws_error err;
    if (!c->a->wait)
        return 0;
    int rc = wait_for(c, (sm_sagemaker_waiter)row->waiter, name);
    if (rc != SM_CLI_EXIT_INTR && row->show(c, name, &err))
        return fail(c, &err);
    return rc;
}

/* ---- creating ----------------------------------------------------------- */

/* After a create call that returned `rc`: print the ARN it left in *arn
 * (freed here, and set to NULL); 0, or the failure. */
static int created(run_ctx *c, int rc, char **arn, const sm_aws_error *err)
{
    if (!rc && *arn) {
        printf("%s\n", *arn);
        fflush(stdout);
    }
    free(*arn);
    *arn = NULL;
    return rc ? fail(c, err) : 0;
}

/* What train and tune share: channels, resources, hyperparameters. */
typedef struct training_inputs {
    sm_sagemaker_channel channels[2];
    sm_cli_pairs hp, tags;
} training_inputs;

static int training_def_read(const run_ctx *c, sm_sagemaker_training_def *def,
                             training_inputs *in)
{
    const sm_args *a = c->a;
    long count = 0, volume = 0, runtime = 0;
    int rc = sm_cli_long(c->prog, "--instance-count", a->instance_count, 1, 100,
                         &count);
    if (!rc)
        rc = sm_cli_long(c->prog, "--volume-gb", a->volume_gb, 1, 16384,
                         &volume);
    if (!rc)
        rc = sm_cli_long(c->prog, "--max-runtime", a->max_runtime, 1,
                         28 * 86400, &runtime);
    if (!rc)
        rc = sm_cli_pairs_read(c->prog, "--hp", &a->hp, &in->hp);
    if (!rc)
        rc = sm_cli_pairs_read(c->prog, "--tag", &a->tag, &in->tags);
    size_t n = 0;
    in->channels[n++] = (sm_sagemaker_channel){
        .name = "train", .s3_uri = a->train, .content_type = a->content_type};
    if (a->validation)
        in->channels[n++] =
            (sm_sagemaker_channel){.name = "validation",
                                   .s3_uri = a->validation,
                                   .content_type = a->content_type};
    *def = (sm_sagemaker_training_def){
        .image = a->image,
        .role_arn = a->role,
        .channels = in->channels,
        .channel_count = n,
        .output_path = a->output,
        .resources = {.instance_type = a->instance_type,
                      .instance_count = (int)count,
                      .volume_size_gb = (int)volume},
        .max_runtime_seconds = runtime,
        .hyperparameters = in->hp.items,
        .hyperparameter_count = in->hp.count,
    };
    return rc;
}

static int sub_train(run_ctx *c)
{
    training_inputs in = {0};
    sm_sagemaker_training_job_spec spec = {.name = c->a->name};
    sm_aws_error err;
    char *arn = NULL;
    int rc = training_def_read(c, &spec.training, &in);
    spec.tags = in.tags.items;
    spec.tag_count = in.tags.count;
    if (!rc)
        rc = created(
            c, sm_sagemaker_create_training_job(c->aws, &spec, &arn, &err),
            &arn, &err);
    if (!rc)
        rc = maybe_wait(c, SM_SAGEMAKER_TRAINING_JOB, spec.name);
    sm_cli_pairs_clear(&in.hp);
    sm_cli_pairs_clear(&in.tags);
    return rc;
}

/* The --range flags, parsed: the ranges borrow from the texts. */
typedef struct range_set {
    sm_sagemaker_range_text texts[SM_CLI_LIST_MAX];
    sm_sagemaker_range items[SM_CLI_LIST_MAX];
    size_t count;
} range_set;

static void range_set_free(range_set *set)
{
    for (size_t i = 0; set && i < set->count; i++)
        sm_sagemaker_range_text_clear(&set->texts[i]);
    free(set);
}

/* A new set of the --range flags' ranges; NULL with *rc set after a line. */
static range_set *ranges_read(const run_ctx *c, int *rc)
{
    range_set *set = calloc(1, sizeof *set);
    *rc = set ? 0 : SM_CLI_EXIT_FAIL;
    for (size_t i = 0; !*rc && i < c->a->range.count; i++) {
        sm_error err = {""};
        sm_sagemaker_range_text *t = &set->texts[set->count++];
        if (sm_sagemaker_range_parse(c->a->range.items[i], t, &err)) {
            fprintf(stderr, "%s: --range: %s\n", c->prog, err.message);
            *rc = SM_CLI_EXIT_USAGE;
        }
        set->items[i] = t->range;
    }
    if (!set)
        fprintf(stderr, "%s: out of memory\n", c->prog);
    if (*rc) {
        range_set_free(set);
        set = NULL;
    }
    return set;
}

static int sub_tune(run_ctx *c)
{
    const sm_args *a = c->a;
    training_inputs in = {0};
    long max_jobs = 0, parallel = 0;
    sm_aws_error err;
    char *arn = NULL;
    int rc = 0;
    range_set *ranges = ranges_read(c, &rc);
    sm_sagemaker_tuning_job_spec spec = {
        .name = a->name,
        .strategy = a->strategy,
        .objective_metric = a->objective,
        .objective_type = a->objective_type,
        .ranges = ranges ? ranges->items : NULL,
        .range_count = ranges ? ranges->count : 0,
    };
    if (!rc)
        rc = sm_cli_long(c->prog, "--max-jobs", a->max_jobs, 1, 10000,
                         &max_jobs);
    if (!rc)
        rc = sm_cli_long(c->prog, "--max-parallel", a->max_parallel, 1, 100,
                         &parallel);
    if (!rc)
        rc = training_def_read(c, &spec.training, &in);
    spec.max_jobs = (int)max_jobs;
    spec.max_parallel = (int)parallel;
    spec.tags = in.tags.items;
    spec.tag_count = in.tags.count;
    if (!rc)
        rc = created(c,
                     sm_sagemaker_create_tuning_job(c->aws, &spec, &arn, &err),
                     &arn, &err);
    if (!rc)
        rc = maybe_wait(c, SM_SAGEMAKER_TUNING_JOB, spec.name);
    range_set_free(ranges);
    sm_cli_pairs_clear(&in.hp);
    sm_cli_pairs_clear(&in.tags);
    return rc;
}

static int sub_model(run_ctx *c)
{
    const sm_args *a = c->a;
    sm_cli_pairs env = {0}, tags = {0};
    sm_aws_error err;
    char *arn = NULL;
    int rc = sm_cli_pairs_read(c->prog, "--env", &a->env, &env);
    if (!rc)
        rc = sm_cli_pairs_read(c->prog, "--tag", &a->tag, &tags);
    sm_sagemaker_model_spec spec = {
        .name = a->name,
        .image = a->image,
        .model_data_url = a->model_data,
        .role_arn = a->role,
        .environment = env.items,
        .environment_count = env.count,
        .tags = tags.items,
        .tag_count = tags.count,
    };
    if (!rc)
        rc = created(c, sm_sagemaker_create_model(c->aws, &spec, &arn, &err),
                     &arn, &err);
    sm_cli_pairs_clear(&env);
    sm_cli_pairs_clear(&tags);
    return rc;
}

static int sub_deploy(run_ctx *c)
{
    const sm_args *a = c->a;
    sm_cli_pairs tags = {0};
    sm_aws_error err;
    char *arn = NULL;
    long count = 0;
    int rc = sm_cli_long(c->prog, "--instance-count", a->instance_count, 1,
                         1000, &count);
    if (!rc)
        rc = sm_cli_pairs_read(c->prog, "--tag", &a->tag, &tags);
    sm_sagemaker_variant variant = {.model_name = a->model,
                                    .instance_type = a->instance_type,
                                    .instance_count = (int)count};
    sm_sagemaker_endpoint_config_spec config = {
        .name = a->config ? a->config : a->name,
        .variants = &variant,
        .variant_count = 1,
        .tags = tags.items,
        .tag_count = tags.count,
    };
    sm_sagemaker_endpoint_spec endpoint = {.name = a->name,
                                           .config_name = config.name,
                                           .tags = tags.items,
                                           .tag_count = tags.count};
    if (!rc)
        rc = created(
            c, sm_sagemaker_create_endpoint_config(c->aws, &config, &arn, &err),
            &arn, &err);
    if (!rc)
        rc = created(
            c, sm_sagemaker_create_endpoint(c->aws, &endpoint, &arn, &err),
            &arn, &err);
    if (!rc)
        rc = maybe_wait(c, SM_SAGEMAKER_ENDPOINT, a->name);
    sm_cli_pairs_clear(&tags);
    return rc;
}

static int sub_update(run_ctx *c)
{
    sm_sagemaker_endpoint_update update = {.name = c->w->items[0],
                                           .config_name = c->a->config};
    sm_aws_error err;
    char *arn = NULL;
    int rc =
        created(c, sm_sagemaker_update_endpoint(c->aws, &update, &arn, &err),
                &arn, &err);
    if (!rc)
        rc = maybe_wait(c, SM_SAGEMAKER_ENDPOINT, update.name);
    return rc;
}

static int sub_transform(run_ctx *c)
{
    const sm_args *a = c->a;
    sm_cli_pairs tags = {0};
    sm_aws_error err;
    char *arn = NULL;
    long count = 0;
    int rc = sm_cli_long(c->prog, "--instance-count", a->instance_count, 1, 100,
                         &count);
    if (!rc)
        rc = sm_cli_pairs_read(c->prog, "--tag", &a->tag, &tags);
    sm_sagemaker_transform_job_spec spec = {
        .name = a->name,
        .model_name = a->model,
        .input_uri = a->input,
        .content_type = a->content_type,
        .split_type = a->split_type,
        .output_path = a->output,
        .accept = a->accept,
        .assemble_with = a->assemble_with,
        .instance_type = a->instance_type,
        .instance_count = (int)count,
        .batch_strategy = a->strategy,
        .tags = tags.items,
        .tag_count = tags.count,
    };
    if (!rc)
        rc = created(
            c, sm_sagemaker_create_transform_job(c->aws, &spec, &arn, &err),
            &arn, &err);
    if (!rc)
        rc = maybe_wait(c, SM_SAGEMAKER_TRANSFORM_JOB, spec.name);
    sm_cli_pairs_clear(&tags);
    return rc;
}

/* ---- by kind and name --------------------------------------------------- */

static int sub_describe(run_ctx *c)
{
    const kind_row *row = kind_arg(c);
    const char *name = c->w->items[1];
    sm_aws_error err;
    if (!row)
        return SM_CLI_EXIT_USAGE;
    if (!c->a->json)
        return row->show(c, name, &err) ? fail(c, &err) : 0;
    json_t *response = sm_sagemaker_describe(c->aws, row->kind, name, &err);
    int rc = response ? print_json(response) : fail(c, &err);
    json_decref(response);
    return rc;
}

static int list_options_read(const run_ctx *c, sm_sagemaker_list_options *o)
{
    long max_items = 0, page_size = 0;
    int rc = sm_cli_long(c->prog, "--max-items", c->a->max_items, 1, 100000,
                         &max_items);
    if (!rc)
        rc = sm_cli_long(c->prog, "--page-size", c->a->page_size, 1, 100,
                         &page_size);
    *o = (sm_sagemaker_list_options){
        .name_contains = c->a->name_contains,
        .status_equals = c->a->status,
        .sort_by = c->a->sort_by ? c->a->sort_by : "CreationTime",
        .sort_order = c->a->sort_order ? c->a->sort_order : "Descending",
        .max_items = (size_t)max_items,
        .page_size = (int)page_size,
    };
    return rc;
}

/* One line of a listing: name, status, creation time. */
static void list_row(const sm_sagemaker_state *s)
{
    char iso[21] = "-";
    if (s->creation_time > 0)
        sm_awstime_format_iso8601((time_t)s->creation_time, iso);
    printf("%-40s %-14s %s", s->name, *s->status ? s->status : "-", iso);
}

static void list_truncated(const run_ctx *c)
{
    fprintf(stderr,
            "%s: more may remain (the listing stopped at --max-items, at 100 "
            "pages, or at an empty page that had a next token)\n",
            c->prog);
}

/* list training-job --tuning-job NAME: the trials of a tuning job, with
 * their objective values. */
static int list_trials(run_ctx *c, const sm_sagemaker_list_options *o)
{
    sm_sagemaker_trials trials = {0};
    sm_aws_error err;
    int rc = 0;
    if (sm_sagemaker_list_trials(c->aws, c->a->tuning_job, o, &trials, &err))
        rc = fail(c, &err);
    else if (c->a->json)
        rc = print_json(trials.raw);
    for (size_t i = 0; !rc && !c->a->json && i < trials.count; i++) {
        list_row(&trials.items[i].state);
        if (trials.items[i].has_objective)
            printf(" %s = %g", trials.items[i].objective_metric,
                   trials.items[i].objective_value);
        printf("\n");
    }
    if (!rc && trials.truncated)
        list_truncated(c);
    sm_sagemaker_trials_clear(&trials);
    return rc;
}

static int sub_list(run_ctx *c)
{
    const kind_row *row = kind_arg(c);
    sm_sagemaker_list_options o;
    sm_sagemaker_listing listing = {0};
    sm_aws_error err;
    int rc = row ? list_options_read(c, &o) : SM_CLI_EXIT_USAGE;
    if (!rc && c->a->tuning_job && row->kind != SM_SAGEMAKER_TRAINING_JOB) {
        fprintf(stderr, "%s: --tuning-job lists training jobs only\n", c->prog);
        rc = SM_CLI_EXIT_USAGE;
    }
    if (!rc && c->a->tuning_job)
        return list_trials(c, &o);
    if (!rc && sm_sagemaker_list(c->aws, row->kind, &o, &listing, &err))
        rc = fail(c, &err);
    else if (!rc && c->a->json)
        rc = print_json(listing.raw);
    for (size_t i = 0; !rc && !c->a->json && i < listing.count; i++) {
        list_row(&listing.items[i]);
        printf("\n");
    }
    if (!rc && listing.truncated)
        list_truncated(c);
    sm_sagemaker_listing_clear(&listing);
    return rc;
}

/* The kind of `c`'s KIND word if it can be `op`-ed; NULL after a line. */
static const kind_row *kind_for(const run_ctx *c, sm_sagemaker_op op,
                                const char *verb, const char *which)
{
    const kind_row *row = kind_arg(c);
    if (row && !sm_sagemaker_operation(row->kind, op)) {
        fprintf(stderr, "%s: %ss cannot be %s; only %s can\n", c->prog,
                sm_sagemaker_kind_label(row->kind), verb, which);
        return NULL;
    }
    return row;
}

static int sub_stop(run_ctx *c)
{
    const kind_row *row = kind_for(c, SM_SAGEMAKER_OP_STOP, "stopped",
                                   "training, transform and tuning jobs");
    sm_aws_error err;
    if (!row)
        return SM_CLI_EXIT_USAGE;
    if (sm_sagemaker_stop(c->aws, row->kind, c->w->items[1], &err))
        return fail(c, &err);
    printf("stop: %s %s\n", sm_sagemaker_kind_label(row->kind), c->w->items[1]);
    return 0;
}

static int sub_delete(run_ctx *c)
{
    const kind_row *row = kind_for(c, SM_SAGEMAKER_OP_DELETE, "deleted",
                                   "models, endpoint configs and endpoints");
    const char *name = c->w->items[1];
    sm_aws_error err;
    if (!row)
        return SM_CLI_EXIT_USAGE;
    if (sm_sagemaker_delete(c->aws, row->kind, name, &err))
        return fail(c, &err);
    printf("delete: %s %s\n", sm_sagemaker_kind_label(row->kind), name);
    fflush(stdout);
    if (c->a->wait && row->kind == SM_SAGEMAKER_ENDPOINT)
        return wait_for(c, SM_SAGEMAKER_WAIT_ENDPOINT_DELETED, name);
    return 0;
}

static int sub_wait(run_ctx *c)
{
    const kind_row *row = kind_arg(c);
    const char *name = c->w->items[1];
    sm_aws_error err;
    if (row && row->waiter < 0) {
        fprintf(stderr, "%s: %ss have no status to wait for\n", c->prog,
                sm_sagemaker_kind_label(row->kind));
        row = NULL;
    }
    if (!row)
        return SM_CLI_EXIT_USAGE;
    int rc = wait_for(c, (sm_sagemaker_waiter)row->waiter, name);
    if (rc != SM_CLI_EXIT_INTR && row->show(c, name, &err))
        return fail(c, &err);
    return rc;
}

/* ---- invoke ------------------------------------------------------------- */

/* New contents of `path` ("-": stdin), at most one byte more than an
 * endpoint takes (so that the check can say it is too big). */
static char *body_read(const run_ctx *c, const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = f ? malloc(SM_RUNTIME_MAX_BODY + 2) : NULL;
    *len = buf ? fread(buf, 1, SM_RUNTIME_MAX_BODY + 1, f) : 0;
    if (!f || !buf || ferror(f)) {
        fprintf(stderr, "%s: cannot read %s\n", c->prog, path);
        free(buf);
        buf = NULL;
    }
    if (f && f != stdin)
        fclose(f);
    return buf;
}

/* The answer into --out, and its headers on stdout; or the answer on
 * stdout. */
static int answer_write(const run_ctx *c, const sm_runtime_result *res)
{
    if (!c->a->out) {
        fwrite(res->body, 1, res->body_len, stdout);
        return fflush(stdout) ? SM_CLI_EXIT_FAIL : 0;
    }
    FILE *f = fopen(c->a->out, "wb");
    int bad = !f || fwrite(res->body, 1, res->body_len, f) != res->body_len;
    if (f && fclose(f))
        bad = 1;
    if (bad) {
        fprintf(stderr, "%s: cannot write %s\n", c->prog, c->a->out);
        return SM_CLI_EXIT_FAIL;
    }
    show_str("ContentType:", res->content_type);
    show_str("InvokedProductionVariant:", res->invoked_variant);
    show_str("CustomAttributes:", res->custom_attributes);
    return 0;
}

static int sub_invoke(run_ctx *c)
{
    const sm_args *a = c->a;
    sm_runtime_request req = {
        .endpoint_name = c->w->items[0],
        .content_type = a->content_type,
        .accept = a->accept,
        .custom_attributes = a->custom_attributes,
        .target_variant = a->target_variant,
    };
    char *file_body = NULL;
    if (!a->body == !a->body_file) {
        fprintf(stderr, "%s: give the body with --body or --body-file\n",
                c->prog);
        return SM_CLI_EXIT_USAGE;
    }
    if (a->body_file &&
        !(file_body = body_read(c, a->body_file, &req.body_len)))
        return SM_CLI_EXIT_FAIL;
    req.body = a->body ? a->body : file_body;
    if (a->body)
        req.body_len = strlen(a->body);
    sm_runtime_result res;
    sm_aws_error err;
    int rc = sm_runtime_invoke_endpoint(c->aws, &req, &res, &err)
                 ? fail(c, &err)
                 : answer_write(c, &res);
    sm_runtime_result_clear(&res);
    free(file_body);
    return rc;
}

/* ---- sagemaker ---------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to, "usage: " PROG " SUBCOMMAND [ARGS] [FLAGS]\n\n");
    for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
        fprintf(to, "  %-10s %s\n", subcommands[i].name,
                subcommands[i].summary);
    fprintf(to, "\nKIND is one of:");
    for (size_t i = 0; i < KIND_COUNT; i++)
        fprintf(to, " %s", kinds[i].word);
    fprintf(to, "\n" PROG " SUBCOMMAND --help shows its flags.\n");
}

static void sub_usage(FILE *to, int sub)
{
    const subcommand *s = &subcommands[sub];
    fprintf(to, "usage: " PROG " %s%s%s [FLAGS]\n\n%s.\n", s->name,
            *s->words ? " " : "", s->words, s->summary);
    if (*s->required)
        fprintf(to, "Required: %s\n", s->required);
    fprintf(to, "\nflags:\n");
    sm_cli_usage_flags(to, flags, FLAG_COUNT, ON(sub));
    fprintf(to, "\nExit status: 0 done, 1 failed, 2 usage, 130 "
                "interrupted.\n");
}

/* Every flag of the subcommand's `required` list was given; else
 * SM_CLI_EXIT_USAGE after naming the first missing one. */
static int required_check(const run_ctx *c, const subcommand *s)
{
    const char *p = s->required;
    while (*p) {
        size_t len = strcspn(p, " ");
        const sm_cli_flag *row = sm_cli_flag_find(flags, FLAG_COUNT, p, len);
        assert(row); /* the table names only flags it has */
        if (row && !sm_cli_flag_given(row, c->a)) {
            fprintf(stderr, "%s: missing %s (see %s --help)\n", c->prog,
                    row->name, c->prog);
            return SM_CLI_EXIT_USAGE;
        }
        p += len + (p[len] == ' ');
    }
    return 0;
}

static int sub_find(const char *name)
{
    for (int i = 0; i < SUBCOMMAND_COUNT; i++)
        if (strcmp(subcommands[i].name, name) == 0)
            return i;
    return -1;
}

/* Parse and check the command line of subcommand `sub` into `c`. Returns
 * 0 to go on, -1 when help was shown, or an exit status. */
static int ctx_read(int sub, int argc, char **argv, sm_args *a, sm_cli_words *w,
                    run_ctx *c)
{
    const subcommand *s = &subcommands[sub];
    *c = (run_ctx){.a = a, .w = w};
    snprintf(c->prog, sizeof c->prog, PROG " %s", s->name);
    sm_cli_spec spec = {c->prog, flags, FLAG_COUNT, ON(sub), s->max_words};
    int rc = sm_cli_parse(&spec, argc, argv, a, w);
    if (!rc && a->help) {
        sub_usage(stdout, sub);
        return -1;
    }
    if (!rc && w->count < s->min_words) {
        fprintf(stderr, "usage: " PROG " %s %s [FLAGS] (see --help)\n", s->name,
                s->words);
        rc = SM_CLI_EXIT_USAGE;
    }
    if (!rc)
        rc = required_check(c, s);
    if (!rc)
        rc = sm_cli_seconds(c->prog, "--poll", a->poll, &c->poll);
    if (!rc)
        rc = sm_cli_seconds(c->prog, "--timeout", a->timeout, &c->limit);
    return rc;
}

static sm_aws *client_new(const run_ctx *c)
{
    sm_aws_config cfg = {.region = c->a->region,
                         .profile = c->a->profile,
                         .endpoint_url = c->a->endpoint_url};
    sm_aws_error err = {0};
    sm_log_init();
    sm_aws *aws = sm_aws_new(&cfg, &err);
    if (!aws)
        fail(c, &err);
    return aws;
}

int sm_sagemaker_cli(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SM_CLI_EXIT_USAGE : 0;
    }
    int sub = sub_find(argv[1]);
    if (sub < 0) {
        fprintf(stderr,
                PROG ": unknown subcommand '%s' (see " PROG " --help)\n",
                argv[1]);
        return SM_CLI_EXIT_USAGE;
    }
    sm_args *a = calloc(1, sizeof *a);
    sm_cli_words w;
    run_ctx c = {0};
    int rc =
        a ? ctx_read(sub, argc - 1, argv + 1, a, &w, &c) : SM_CLI_EXIT_FAIL;
    if (!rc && !(c.aws = client_new(&c)))
        rc = SM_CLI_EXIT_FAIL;
    if (!rc)
        rc = subcommands[sub].run(&c);
    sm_aws_destroy(&c.aws);
    free(a);
    return rc < 0 ? 0 : rc;
}
