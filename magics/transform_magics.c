/* transform_magics: %transform, a batch transform job over S3 data with a
 * model (made from a completed training job when given one, as the SDK's
 * Estimator.transformer does: the model takes the job's name, image,
 * artifacts and role), shown live until it ends, then where the output
 * went and its first lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aws_magics.h"
#include "buf.h"
#include "journal.h"
#include "logs.h"
#include "render.h"
#include "s3.h"
#include "sagemaker_hosting.h"
#include "sagemaker_training.h"
#include "sagemaker_transform.h"

#define PREVIEW_LINES 5
#define PREVIEW_BYTES 65536
#define OUTPUT_OBJECTS_SHOWN 20

/* ---- the model ----------------------------------------------------------- */

/* What %transform will send: requests (for --dry-run) and the model. */
typedef struct transform_plan {
    char model[64];
    json_t *requests; /* [{"operation": ..., "request": ...}, ...] */
    int dry_run;
    char job[64]; /* the training job the model was made from, or "" */
} transform_plan;

static void plan_request(transform_plan *plan, const char *operation,
                         json_t *request)
{
    json_array_append_new(
        plan->requests,
        json_pack("{s:s, s:o}", "operation", operation, "request", request));
}

/* CreateModel from a completed training job, under the job's name. */
static int model_from_job(sm_call *call, sm_aws *aws, transform_plan *plan,
                          const sm_sagemaker_training_job *job)
{
    const char *name = job->state.name[0] ? job->state.name : plan->model;
    if (strcmp(job->state.status, "Completed") != 0 || !job->model_artifacts[0])
        return sm_error_set(&call->err,
                            "the training job %s is %s: only a completed job "
                            "has a model to transform with",
                            name,
                            job->state.status[0] ? job->state.status
                                                 : "without a status");
    const char *role = sm_awsjson_str(job->raw, "RoleArn");
    if (!role || !role[0])
        role = sm_config_get(sm_magics_config(call->m), "role");
    sm_sagemaker_model_spec spec = {.name = plan->model,
                                    .image = job->image,
                                    .model_data_url = job->model_artifacts,
                                    .role_arn = role[0] ? role : NULL};
    if (plan->dry_run) {
        json_t *request = sm_sagemaker_create_model_request(&spec, &call->err);
        if (!request)
            return -1;
        plan_request(plan, "CreateModel", request);
        return 0;
    }
    sm_aws_error err = {.http_status = 0};
    snprintf(plan->job, sizeof plan->job, "%s", name);
    if (sm_sagemaker_create_model(aws, &spec, NULL, &err)) {
        if (!sm_sagemaker_error_is_already_exists(&err))
            return sm_call_fail_aws(call, &err);
    } else {
        json_t *request = sm_sagemaker_create_model_request(&spec, NULL);
        if (request)
            sm_journal_request_created(
                call, aws, SM_JOURNAL_MODEL, request,
                json_pack("{s:s}", "training_job", name));
        json_decref(request);
    }
    char line[200];
    snprintf(line, sizeof line,
             "model %s made from the training job's artifacts\n", plan->model);
    sm_out_stream(call->out, "stdout", line);
    return 0;
}

/* `what` is a model, or a training job whose model is made now. */
static int resolve_model(sm_call *call, sm_aws *aws, const char *what,
                         transform_plan *plan)
{
    snprintf(plan->model, sizeof plan->model, "%.63s", what);
    sm_aws_error err = {.http_status = 0};
    json_t *model = sm_sagemaker_describe(aws, SM_SAGEMAKER_MODEL, what, &err);
    if (model) {
        json_decref(model);
        return 0;
    }
    if (!sm_sagemaker_error_is_not_found(&err))
        return sm_call_fail_aws(call, &err);
    sm_sagemaker_training_job job;
    err = (sm_aws_error){.http_status = 0};
    if (sm_sagemaker_describe_training_job(aws, what, &job, &err)) {
        if (!sm_sagemaker_error_is_not_found(&err))
            return sm_call_fail_aws(call, &err);
        call->ename = "ClientError";
        return sm_error_set(&call->err, "no model or training job named %s",
                            what);
    }
    int rc = model_from_job(call, aws, plan, &job);
    sm_sagemaker_training_job_clear(&job);
    return rc;
}

/* ---- the request --------------------------------------------------------- */

static int split_type(sm_call *call, const char **split, const char **assemble)
{
    const char *v = sm_args_get(&call->args, "split");
    *split = *assemble = NULL;
    if (!v)
        return 0;
    if (strcasecmp(v, "line") == 0)
        *split = *assemble = "Line";
    else if (strcasecmp(v, "none") == 0)
        *split = "None";
    else
        return sm_error_set(&call->err,
                            "--split is line (one record per line) or none "
                            "(each object whole), not '%s'",
                            v);
    return 0;
}

/* --strategy single|multi: one record a request, or as many as fit. */
static int batch_strategy(sm_call *call, const char **strategy)
{
    const char *v = sm_args_get(&call->args, "strategy");
    *strategy = NULL;
    if (!v)
        return 0;
    if (strcasecmp(v, "single") == 0 || strcasecmp(v, "SingleRecord") == 0)
        *strategy = "SingleRecord";
    else if (strcasecmp(v, "multi") == 0 || strcasecmp(v, "MultiRecord") == 0)
        *strategy = "MultiRecord";
    else
        return sm_error_set(&call->err,
                            "--strategy is single (one record a request) or "
                            "multi (as many as fit), not '%s'",
                            v);
    return 0;
}

static const char *flag_or(sm_call *call, const char *flag,
                           const char *fallback)
{
    const char *v = sm_args_get(&call->args, flag);
    return v && *v ? v : fallback;
}

static int transform_spec(sm_call *call, const transform_plan *plan, char *name,
                          size_t size, sm_sagemaker_transform_job_spec *spec)
{
    const char *input = sm_args_get(&call->args, "input");
    const char *output = sm_args_get(&call->args, "output");
    if (!input || !*input || !output || !*output)
        return sm_error_set(&call->err, "%%transform needs --input URI (the "
                                        "S3 data) and --output URI (where "
                                        "the results go)");
    long count = 1, payload = 0;
    const char *split, *assemble, *strategy = NULL;
    if (sm_call_count_flag(call, "count", 1, 100, &count) ||
        sm_call_count_flag(call, "max-payload", 0, 100, &payload) ||
        split_type(call, &split, &assemble) ||
        batch_strategy(call, &strategy))
        return -1;
    const char *given = sm_args_get(&call->args, "name");
    if (given && *given)
        snprintf(name, size, "%.63s", given);
    else
        sm_call_default_name(plan->model, name, size);
    *spec = (sm_sagemaker_transform_job_spec){
        .name = name,
        .model_name = plan->model,
        .input_uri = input,
        .content_type = flag_or(call, "content-type", "text/csv"),
        .split_type = split,
        .output_path = output,
        .assemble_with = assemble,
        .instance_type =
            flag_or(call, "instance",
                    sm_config_get(sm_magics_config(call->m), "instance_type")),
        .instance_count = (int)count,
        .input_filter = flag_or(call, "input-filter", NULL),
        .output_filter = flag_or(call, "output-filter", NULL),
        .join_source = sm_args_get(&call->args, "join") ? "Input" : NULL,
        .batch_strategy = strategy,
        .max_payload_mb = (int)payload};
    return 0;
}

/* ---- watching ------------------------------------------------------------ */

typedef struct watch {
    const char *name;
    sm_card card;
    sm_log_tail tail;
    double started;
    json_t *record; /* the run's journal record, once it has ended */
} watch;

static void card(watch *w, const sm_sagemaker_transform_job *job)
{
    char elapsed[32], instances[160];
    double start =
        job->state.creation_time > 0 ? job->state.creation_time : w->started;
    double end = job->state.end_time > 0 ? job->state.end_time : sm_wall_now();
    sm_render_duration(end - start, elapsed, sizeof elapsed);
    snprintf(instances, sizeof instances, "%s x %d",
             job->instance_type ? job->instance_type : "?",
             job->instance_count ? job->instance_count : 1);
    sm_buf p = {0}, h = {0};
    char title[128];
    snprintf(title, sizeof title, "transform job %s", w->name);
    sm_buf_printf(&p, "%s\n", title);
    sm_card_html_begin(&h, title);
    sm_card_row(&p, &h, "status",
             job->state.status[0] ? job->state.status : "Starting", NULL);
    sm_card_row(&p, &h, "elapsed", elapsed, NULL);
    sm_card_row(&p, &h, "model", job->model_name ? job->model_name : "?", NULL);
    sm_card_row(&p, &h, "instance", instances, NULL);
    sm_card_row(&p, &h, "input", job->input_uri ? job->input_uri : "?", NULL);
    sm_card_row(&p, &h, "output", job->output_path ? job->output_path : "?", NULL);
    if (job->state.failure_reason[0])
        sm_card_row(&p, &h, "reason", job->state.failure_reason, NULL);
    sm_card_console_row(w->card.call, &p, &h, "transform-job", w->name);
    /* the finished run's record rides on the card's last update */
    w->card.extra_type = w->record ? SM_JOURNAL_MIMETYPE : NULL;
    w->card.extra = w->record;
    sm_card_show(&w->card, &p, &h);
    sm_buf_free(&p);
    sm_buf_free(&h);
}

static int job_ended(sm_call *call, const sm_sagemaker_transform_job *job)
{
    return sm_call_job_ended(call, &job->state, "transform job",
                             "TransformJobFailed", "TransformJobStopped");
}

/* Describe, show, wait, until the job ends; the output path into
 * output[size] then. */
static int watch_loop(sm_call *call, sm_aws *aws, watch *w, char *output,
                      size_t size)
{
    const char *name = w->name;
    for (;;) {
        sm_aws_error err = {.http_status = 0};
        sm_sagemaker_transform_job job;
        if (sm_sagemaker_describe_transform_job(aws, name, &job, &err))
            return sm_out_interrupted(call->out)
                       ? sm_call_stop_watching(call, "transform job", name)
                       : sm_call_fail_aws(call, &err);
        sm_log_tail_read(&w->tail, call, NULL, NULL);
        int done = sm_sagemaker_status_is_terminal(SM_SAGEMAKER_TRANSFORM_JOB,
                                                   job.state.status);
        if (done) /* on disk before the card says it ended */
            w->record = sm_journal_transform_finished(call, aws, &job);
        card(w, &job);
        if (done) {
            snprintf(output, size, "%s",
                     job.output_path ? job.output_path : "");
            int rc = job_ended(call, &job);
            sm_sagemaker_transform_job_clear(&job);
            return rc;
        }
        sm_sagemaker_transform_job_clear(&job);
        if (sm_out_wait(call->out, sm_call_poll_ms(call)) != 0)
            return sm_call_stop_watching(call, "transform job", name);
    }
}

static int watch_job(sm_call *call, sm_aws *aws, const char *name, char *output,
                     size_t size)
{
    watch w = {
        .name = name,
        .tail = {.aws = aws, .group = SM_LOGS_TRANSFORM_GROUP, .name = name},
        .started = sm_wall_now()};
    sm_card_init(&w.card, call, "transform");
    int rc = watch_loop(call, aws, &w, output, size);
    sm_log_tail_clear(&w.tail);
    json_decref(w.record);
    return rc;
}

/* ---- the output ---------------------------------------------------------- */

typedef struct listed {
    json_t *rows; /* [key, size] */
    char first[SM_S3_KEY_MAX + 1];
    size_t count;
} listed;

static int add_output(void *ctx, const sm_s3_page *page)
{
    listed *l = ctx;
    for (size_t i = 0; i < page->object_count; i++) {
        const sm_s3_entry *e = &page->objects[i];
        size_t n = strlen(e->key);
        if (n && e->key[n - 1] == '/')
            continue;
        if (!l->first[0])
            snprintf(l->first, sizeof l->first, "%s", e->key);
        char size[32];
        sm_render_bytes(e->size, size, sizeof size);
        if (l->count++ < OUTPUT_OBJECTS_SHOWN)
            json_array_append_new(l->rows, json_pack("[s, s]", e->key, size));
    }
    return 0;
}

/* The first lines of an object, read with one ranged GET into a
 * temporary file. New string, or NULL. */
static char *object_head(sm_aws *aws, const char *bucket, const char *key)
{
    char path[] = "/tmp/sagemagic-preview-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    close(fd);
    char range[64];
    snprintf(range, sizeof range, "bytes=0-%d", PREVIEW_BYTES - 1);
    sm_s3_download_req req = {
        .bucket = bucket, .key = key, .path = path, .range = range};
    sm_s3_head head;
    sm_aws_error err = {.http_status = 0};
    char *text = NULL;
    if (sm_s3_get_object(aws, &req, &head, &err) == 0) {
        FILE *f = fopen(path, "rb");
        sm_buf b = {0};
        char line[1024];
        for (int n = 0; f && n < PREVIEW_LINES && fgets(line, sizeof line, f);
             n++)
            sm_buf_puts(&b, line);
        if (f)
            fclose(f);
        text = sm_buf_take(&b);
    }
    unlink(path);
    return text;
}

static void show_preview(sm_call *call, sm_aws *aws, const char *bucket,
                         const char *key)
{
    char *head = object_head(aws, bucket, key);
    if (head && head[0]) {
        sm_buf b = {0};
        sm_buf_printf(&b, "s3://%s/%s, first lines:\n%s", bucket, key, head);
        sm_out_stream(call->out, "stdout", sm_buf_str(&b));
        sm_buf_free(&b);
    }
    free(head);
}

/* Where the output went: its objects, and the first one's first lines. */
static void show_output(sm_call *call, sm_aws *aws, const char *output)
{
    sm_s3_uri uri;
    sm_error perr = {""};
    sm_aws_error err = {.http_status = 0};
    listed l = {.rows = json_array()};
    sm_buf b = {0};
    sm_buf_printf(&b, "output: %s", output);
    if (sm_s3_uri_parse(output, &uri, &perr))
        sm_buf_printf(&b, " (cannot list it: %s)\n", perr.message);
    else {
        sm_s3_list req = {.bucket = uri.bucket, .prefix = uri.key};
        if (sm_s3_list_objects(aws, &req, add_output, &l, &err)) {
            char text[512];
            sm_aws_error_format(&err, text, sizeof text);
            sm_buf_printf(&b, " (cannot list it: %s)\n", text);
        } else if (!l.count)
            sm_buf_puts(&b, " (no objects there)\n");
        else
            sm_buf_printf(&b, " (%zu object%s)\n", l.count,
                          l.count == 1 ? "" : "s");
    }
    sm_out_stream(call->out, "stdout", sm_buf_str(&b));
    sm_buf_free(&b);
    if (l.count) {
        json_t *headers = json_pack("[s, s]", "key", "size");
        sm_out_display(call->out, sm_render_table(headers, l.rows), NULL, NULL);
        json_decref(headers);
        show_preview(call, aws, uri.bucket, l.first);
    }
    json_decref(l.rows);
}

/* ---- %transform ---------------------------------------------------------- */

static int dry_run(sm_call *call, transform_plan *plan,
                   const sm_sagemaker_transform_job_spec *spec)
{
    json_t *request =
        sm_sagemaker_create_transform_job_request(spec, &call->err);
    if (!request)
        return -1;
    plan_request(plan, "CreateTransformJob", request);
    char *text = json_dumps(plan->requests, JSON_INDENT(2) | JSON_SORT_KEYS);
    sm_out_stream(call->out, "stdout",
                  "dry run: these requests would be "
                  "sent, in this order; nothing was "
                  "created\n");
    call->shown = json_pack("{s:s}", "text/plain", text ? text : "");
    call->result = json_incref(plan->requests);
    free(text);
    return 0;
}

static int start_job(sm_call *call, sm_aws *aws, const transform_plan *plan,
                     const sm_sagemaker_transform_job_spec *spec)
{
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_create_transform_job(aws, spec, NULL, &err))
        return sm_call_fail_aws(call, &err);
    json_t *request = sm_sagemaker_create_transform_job_request(spec, NULL);
    if (request)
        sm_journal_request_created(
            call, aws, SM_JOURNAL_TRANSFORM, request,
            plan->job[0] ? json_pack("{s:s}", "training_job", plan->job)
                         : NULL);
    json_decref(request);
    sm_backend_note_job(sm_magics_backend(call->m), "transform", spec->name);
    if (!sm_call_waits(call)) {
        char line[400];
        snprintf(line, sizeof line,
                 "started transform job %s (see it with "
                 "%%status %s)\n",
                 spec->name, spec->name);
        sm_out_stream(call->out, "stdout", line);
        return 0;
    }
    char output[1200];
    if (watch_job(call, aws, spec->name, output, sizeof output))
        return -1;
    show_output(call, aws, output);
    return 0;
}

int sm_magic_transform(sm_call *call)
{
    transform_plan plan = {.requests = json_array(),
                           .dry_run =
                               sm_args_get(&call->args, "dry-run") != NULL};
    sm_sagemaker_transform_job_spec spec;
    char name[128];
    sm_aws *aws = NULL;
    snprintf(plan.model, sizeof plan.model, "%.63s", call->args.positional[0]);
    /* the flags first: a usage mistake needs no service */
    int rc = transform_spec(call, &plan, name, sizeof name, &spec);
    if (!rc && !(aws = sm_call_aws(call)))
        rc = -1;
    if (!rc)
        rc = resolve_model(call, aws, call->args.positional[0], &plan);
    if (!rc && plan.dry_run)
        rc = dry_run(call, &plan, &spec);
    else if (!rc)
        rc = start_job(call, aws, &plan, &spec);
    if (!rc && !plan.dry_run)
        call->result = json_string(name);
    json_decref(plan.requests);
    return rc ? -1 : 0;
}
