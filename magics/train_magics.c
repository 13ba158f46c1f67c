/* train_magics: %train / %%train (a training job, then a live card, its
 * log lines and a chart of its metrics until it ends) and %stop. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "aws_magics.h"
#include "buf.h"
#include "images.h"
#include "journal.h"
#include "logs.h"
#include "render.h"
#include "sagemaker.h"
#include "sagemaker_training.h"

#define MAX_HYPERPARAMETERS 100

static double wall_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* ---- hyperparameters ----------------------------------------------------- */

typedef struct hp_list {
    sm_sagemaker_kv items[MAX_HYPERPARAMETERS];
    size_t count;
    char *body_copy; /* owns the body's keys and values */
} hp_list;

static int hp_add(sm_call *call, hp_list *hp, const char *key,
                  const char *value)
{
    for (size_t i = 0; i < hp->count; i++)
        if (strcmp(hp->items[i].key, key) == 0) {
            hp->items[i].value = value;
            return 0;
        }
    if (hp->count == MAX_HYPERPARAMETERS)
        return sm_error_set(&call->err, "at most %d hyperparameters",
                            MAX_HYPERPARAMETERS);
    hp->items[hp->count++] = (sm_sagemaker_kv){key, value};
    return 0;
}

/* %%train body: one `key = value` per line; blank lines and # comments. */
static int hp_body(sm_call *call, hp_list *hp)
{
    hp->body_copy = strdup(call->body);
    if (!hp->body_copy)
        return sm_error_set(&call->err, "out of memory");
    char *save = NULL;
    for (char *line = strtok_r(hp->body_copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line += strspn(line, " \t");
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        for (size_t n = strlen(line); n && strchr(" \t\r", line[n - 1]); n--)
            line[n - 1] = '\0';
        if (!*line)
            continue;
        char *eq = strchr(line, '=');
        if (!eq)
            return sm_error_set(&call->err, "expected KEY = VALUE in the "
                                            "%%%%train body, got '%.60s'", line);
        char *key_end = eq;
        while (key_end > line && strchr(" \t", key_end[-1]))
            key_end--;
        *key_end = '\0';
        char *value = eq + 1 + strspn(eq + 1, " \t");
        if (!*line || !*value)
            return sm_error_set(&call->err, "expected KEY = VALUE in the "
                                            "%%%%train body, got '%.60s'", line);
        if (hp_add(call, hp, line, value))
            return -1;
    }
    return 0;
}

/* ---- metrics from log lines ---------------------------------------------- */

/* metrics: {"rmse": {"train": [[round, value], ...], "validation": ...}} */
static void parse_metric_line(const char *line, json_t *metrics)
{
    const char *p = strchr(line, '[');
    long round = -1;
    while (p) {
        char *end;
        long r = strtol(p + 1, &end, 10);
        if (end != p + 1 && isdigit((unsigned char)p[1]) && *end == ']') {
            round = r;
            p = end + 1;
            break;
        }
        p = strchr(p + 1, '[');
    }
    if (!p || round < 0)
        return;
    /* tokens channel-metric:value separated by #011, tabs or spaces */
    char *copy = strdup(p);
    if (!copy)
        return;
    for (char *s = copy; (s = strstr(s, "#011"));)
        memset(s, ' ', 4);
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t\r\n", &save); tok;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        char *colon = strrchr(tok, ':');
        char *dash = strchr(tok, '-');
        if (!colon || !dash || dash > colon)
            continue;
        char *vend;
        double v = strtod(colon + 1, &vend);
        if (vend == colon + 1 || *vend || !isfinite(v))
            continue;
        *dash = '\0';
        *colon = '\0';
        const char *channel = tok, *metric = dash + 1;
        if (!*channel || !*metric)
            continue;
        json_t *m = json_object_get(metrics, metric);
        if (!m) {
            m = json_object();
            json_object_set_new(metrics, metric, m);
        }
        json_t *series = json_object_get(m, channel);
        if (!series) {
            series = json_array();
            json_object_set_new(m, channel, series);
        }
        json_array_append_new(series, json_pack("[I, f]", (json_int_t)round, v));
    }
    free(copy);
}

/* "train-rmse 0.51, validation-rmse 0.62" of the latest round. */
static void latest_metrics(const json_t *metrics, sm_buf *b)
{
    const char *metric, *channel;
    json_t *m, *series;
    int first = 1;
    json_object_foreach((json_t *)metrics, metric, m) {
        json_object_foreach(m, channel, series) {
            json_t *last = json_array_get(series, json_array_size(series) - 1);
            if (!last)
                continue;
            sm_buf_printf(b, "%s%s-%s %.6g (round %lld)", first ? "" : ", ",
                          channel, metric,
                          json_real_value(json_array_get(last, 1)),
                          (long long)json_integer_value(json_array_get(last, 0)));
            first = 0;
        }
    }
}

static void show_charts(sm_call *call, const char *job, const json_t *metrics)
{
    const char *metric;
    json_t *channels;
    json_object_foreach((json_t *)metrics, metric, channels) {
        json_t *chart = sm_render_curves(job, metric, channels);
        if (chart)
            sm_out_display(call->out, chart, NULL, NULL);
    }
}

/* ---- the live card ------------------------------------------------------- */

typedef struct watch {
    sm_call *call;
    sm_aws *aws;
    const char *name;
    char display_id[96];
    int displayed;
    double started;
    char *token; /* the log stream's forward token */
    char *stream;
    json_t *metrics;
    size_t lines;
    json_t *record; /* the run's journal record, once it has ended */
} watch;

static void card(watch *w, const sm_sagemaker_training_job *job, int final)
{
    char elapsed[32], t[32];
    double start = job->state.creation_time > 0 ? job->state.creation_time
                                                : w->started;
    double end = job->state.end_time > 0 ? job->state.end_time : wall_now();
    sm_render_duration(end - start, elapsed, sizeof elapsed);
    sm_buf p = {0}, h = {0};
    char *ename = sm_html_escape(w->name);
    const char *status = job->state.status[0] ? job->state.status : "Starting";
    const char *secondary = job->state.secondary_status;
    if (strcmp(secondary, status) == 0)
        secondary = "";
    sm_buf_printf(&p, "training job %s\n  status     %s%s%s%s\n", w->name,
                  status, secondary[0] ? " (" : "", secondary,
                  secondary[0] ? ")" : "");
    sm_buf_printf(&p, "  elapsed    %s\n  instance   %s x %d\n", elapsed,
                  job->instance_type[0] ? job->instance_type : "?",
                  job->instance_count ? job->instance_count : 1);
    sm_buf_printf(&h, "<div style=\"border:1px solid var(--jp-border-color2);"
                      "padding:6px 10px;color:var(--jp-ui-font-color1);"
                      "background:var(--jp-layout-color1);font-family:"
                      "var(--jp-ui-font-family)\"><b>training job %s</b>"
                      "<table style=\"margin-top:4px\">", ename ? ename : "");
    sm_buf_printf(&h, "<tr><td>status</td><td><b>%s</b>%s%s%s</td></tr>",
                  status, secondary[0] ? " (" : "", secondary,
                  secondary[0] ? ")" : "");
    sm_buf_printf(&h, "<tr><td>elapsed</td><td>%s</td></tr><tr><td>instance"
                      "</td><td>%s x %d</td></tr>", elapsed,
                  job->instance_type[0] ? job->instance_type : "?",
                  job->instance_count ? job->instance_count : 1);
    if (job->transition_count) {
        sm_buf_puts(&p, "  timeline\n");
        sm_buf_puts(&h, "<tr><td>timeline</td><td>");
        for (size_t i = 0; i < job->transition_count; i++) {
            const sm_sagemaker_transition *tr = &job->transitions[i];
            sm_render_time(tr->start_time, t, sizeof t);
            char *msg = sm_html_escape(tr->message ? tr->message : "");
            sm_buf_printf(&p, "    %s  %-12s %s\n", t, tr->status,
                          tr->message ? tr->message : "");
            sm_buf_printf(&h, "%s<span style=\"color:var(--jp-ui-font-color2)"
                              "\">%s</span> <b>%s</b> %s", i ? "<br>" : "", t,
                          tr->status, msg ? msg : "");
            free(msg);
        }
        sm_buf_puts(&h, "</td></tr>");
    }
    sm_buf latest = {0};
    latest_metrics(w->metrics, &latest);
    if (sm_buf_str(&latest)[0]) {
        sm_buf_printf(&p, "  metrics    %s\n", sm_buf_str(&latest));
        sm_buf_printf(&h, "<tr><td>metrics</td><td>%s</td></tr>",
                      sm_buf_str(&latest));
    }
    sm_buf_free(&latest);
    if (final) {
        for (size_t i = 0; i < job->metric_count; i++) {
            sm_buf_printf(&p, "  %-10s %s = %.6g\n", i ? "" : "final",
                          job->metrics[i].name, job->metrics[i].value);
            sm_buf_printf(&h, "<tr><td>%s</td><td>%s = %.6g</td></tr>",
                          i ? "" : "final metrics", job->metrics[i].name,
                          job->metrics[i].value);
        }
        if (job->training_seconds > 0 || job->billable_seconds > 0) {
            sm_buf_printf(&p, "  seconds    %.0f training, %.0f billable\n",
                          job->training_seconds, job->billable_seconds);
            sm_buf_printf(&h, "<tr><td>seconds</td><td>%.0f training, %.0f "
                              "billable</td></tr>", job->training_seconds,
                          job->billable_seconds);
        }
        if (job->model_artifacts[0]) {
            char *m = sm_html_escape(job->model_artifacts);
            sm_buf_printf(&p, "  model      %s\n", job->model_artifacts);
            sm_buf_printf(&h, "<tr><td>model</td><td><code>%s</code></td></tr>",
                          m ? m : "");
            free(m);
        }
        if (job->state.failure_reason[0]) {
            char *f = sm_html_escape(job->state.failure_reason);
            sm_buf_printf(&p, "  reason     %s\n", job->state.failure_reason);
            sm_buf_printf(&h, "<tr><td>reason</td><td style=\"color:"
                              "var(--jp-error-color1)\">%s</td></tr>", f ? f : "");
            free(f);
        }
    }
    sm_buf_puts(&h, "</table></div>");
    free(ename);
    json_t *bundle = json_pack("{s:s, s:s}", "text/plain", sm_buf_str(&p),
                               "text/html", sm_buf_str(&h));
    if (final && w->record)
        json_object_set(bundle, SM_JOURNAL_MIMETYPE, w->record);
    if (w->displayed)
        sm_out_update_display(w->call->out, bundle, NULL, w->display_id);
    else
        sm_out_display(w->call->out, bundle, NULL, w->display_id);
    w->displayed = 1;
    sm_buf_free(&p);
    sm_buf_free(&h);
}

/* New log lines: streamed, and their metrics kept. Errors are quiet (the
 * group or stream may not exist yet). */
static void read_logs(watch *w)
{
    sm_aws_error err = {.http_status = 0};
    if (!w->stream) {
        char prefix[320];
        snprintf(prefix, sizeof prefix, "%s/", w->name);
        sm_logs_stream_query q = {.group = SM_LOGS_TRAINING_GROUP,
                                  .prefix = prefix};
        sm_logs_streams streams = {0};
        if (sm_logs_describe_streams(w->aws, &q, 1, &streams, &err) == 0 &&
            streams.count)
            w->stream = strdup(streams.items[0].name);
        sm_logs_streams_clear(&streams);
        if (!w->stream)
            return;
    }
    sm_logs_events_query q = {.group = SM_LOGS_TRAINING_GROUP,
                              .stream = w->stream, .next_token = w->token,
                              .start_from_head = 1};
    sm_logs_events events = {0};
    if (sm_logs_read_stream(w->aws, &q, 0, &events, &err) == 0) {
        sm_buf b = {0};
        for (size_t i = 0; i < events.count; i++) {
            const char *msg = events.items[i].message ? events.items[i].message
                                                      : "";
            parse_metric_line(msg, w->metrics);
            sm_buf_puts(&b, msg);
            if (!*msg || msg[strlen(msg) - 1] != '\n')
                sm_buf_putc(&b, '\n');
            w->lines++;
        }
        if (sm_buf_str(&b)[0])
            sm_out_stream(w->call->out, "stdout", sm_buf_str(&b));
        sm_buf_free(&b);
        if (events.next_forward_token) {
            free(w->token);
            w->token = strdup(events.next_forward_token);
        }
    }
    sm_logs_events_clear(&events);
}

static long poll_ms(sm_call *call)
{
    sm_config *config = sm_magics_config(call->m);
    const char *poll = sm_config_get(config, "poll");
    if (strcmp(poll, "auto") != 0)
        return (long)(atof(poll) * 1000);
    return strcmp(sm_config_get(config, "backend"), "local") == 0 ? 250 : 5000;
}

static int interrupted(sm_call *call, const char *name)
{
    call->ename = "KeyboardInterrupt";
    return sm_error_set(&call->err, "interrupted: stopped watching %s, but the "
                                    "training job keeps running (stop it with "
                                    "%%stop %s)", name, name);
}

/* The reason as one sentence: whitespace runs made one space. */
static void one_sentence(const char *text, char *out, size_t size)
{
    size_t n = 0;
    int space = 0;
    for (const char *p = text; *p && n + 1 < size; p++) {
        if (isspace((unsigned char)*p)) {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < size)
            out[n++] = ' ';
        space = 0;
        out[n++] = *p;
    }
    while (n && (out[n - 1] == '.' || out[n - 1] == ' '))
        n--;
    out[n] = '\0';
}

static int watch_job(sm_call *call, sm_aws *aws, const char *name)
{
    static unsigned serial;
    watch w = {.call = call, .aws = aws, .name = name, .started = wall_now(),
               .metrics = json_object()};
    snprintf(w.display_id, sizeof w.display_id, "sagemagic-train-%ld-%u",
             (long)getpid(), ++serial);
    int rc = 0;
    for (;;) {
        sm_aws_error err = {.http_status = 0};
        sm_sagemaker_training_job job;
        memset(&job, 0, sizeof job);
        if (sm_sagemaker_describe_training_job(aws, name, &job, &err)) {
            rc = sm_out_interrupted(call->out) ? interrupted(call, name)
                                               : sm_call_fail_aws(call, &err);
            break;
        }
        int done = sm_sagemaker_status_is_terminal(SM_SAGEMAKER_TRAINING_JOB,
                                                   job.state.status);
        read_logs(&w);
        if (done) /* on disk before the card says it ended */
            w.record = sm_journal_training_finished(call, &job, w.metrics);
        card(&w, &job, done);
        if (done) {
            show_charts(call, name, w.metrics);
            if (strcmp(job.state.status, "Completed") != 0) {
                char reason[512];
                one_sentence(job.state.failure_reason[0]
                                 ? job.state.failure_reason
                                 : "no reason given", reason, sizeof reason);
                call->ename = strcmp(job.state.status, "Failed") == 0
                                  ? "TrainingJobFailed" : "TrainingJobStopped";
                rc = sm_error_set(&call->err, "training job %s %s: %s", name,
                                  strcmp(job.state.status, "Failed") == 0
                                      ? "failed" : "was stopped",
                                  reason);
            }
            sm_sagemaker_training_job_clear(&job);
            break;
        }
        sm_sagemaker_training_job_clear(&job);
        if (sm_out_wait(call->out, poll_ms(call)) != 0) {
            rc = interrupted(call, name);
            break;
        }
    }
    free(w.token);
    free(w.stream);
    json_decref(w.metrics);
    json_decref(w.record);
    return rc;
}

/* ---- %train -------------------------------------------------------------- */

/* The SDK's base name of an image: the repository, without registry or
 * tag ("sagemaker-xgboost"). */
static void base_of_image(const char *image, char *out, size_t size)
{
    const char *slash = strrchr(image, '/');
    const char *s = slash ? slash + 1 : image;
    size_t n = strcspn(s, ":@");
    snprintf(out, size, "%.*s", (int)n, s);
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p))
            *p = '-';
}

void sm_train_default_name(const char *base, char *out, size_t size)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t secs = tv.tv_sec;
    gmtime_r(&secs, &tm);
    char stamp[64];
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02d-%02d-%02d-%02d-%03d",
             (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)(tv.tv_usec / 1000) % 1000);
    size_t room = 63 - strlen(stamp) - 1;
    snprintf(out, size, "%.*s-%s", (int)room, base, stamp);
}

static int positive_flag(sm_call *call, const char *flag, long max, long *out)
{
    return sm_call_count_flag(call, flag, *out, max, out);
}

int sm_magic_train(sm_call *call)
{
    const sm_args *a = &call->args;
    sm_config *config = sm_magics_config(call->m);
    const char *what = a->positional[0];
    const char *train = sm_args_get(a, "train");
    if (!train || !*train)
        return sm_error_set(&call->err, "%%train needs --train URI (the S3 "
                                        "data to train on)");
    const char *validation = sm_args_get(a, "validation");
    long count = 1, max_runtime = SM_SAGEMAKER_DEFAULT_MAX_RUNTIME;
    if (positive_flag(call, "count", 100, &count) ||
        positive_flag(call, "max-runtime", 2419200, &max_runtime))
        return -1;
    hp_list hp = {.count = 0};
    int rc = 0;
    for (size_t i = 0; !rc && i < a->n_pairs; i++)
        rc = hp_add(call, &hp, a->pairs[i].key, a->pairs[i].value);
    if (!rc && call->body)
        rc = hp_body(call, &hp);
    if (rc) {
        free(hp.body_copy);
        return -1;
    }
    sm_aws *aws = sm_call_aws(call);
    if (!aws) {
        free(hp.body_copy);
        return -1;
    }
    sm_backend *backend = sm_magics_backend(call->m);
    int local = strcmp(sm_config_get(config, "backend"), "local") == 0;
    char *image = NULL, base[64], role[256], output[1100], name[128];
    sm_aws_error aerr = {.http_status = 0};
    if (strchr(what, '/') || strchr(what, '.')) {
        image = strdup(what);
        sm_image_info info;
        if (sm_image_is_xgboost(what, &info))
            snprintf(base, sizeof base, "%s", info.algorithm);
        else
            base_of_image(what, base, sizeof base);
    } else {
        image = sm_image_uri(what, sm_backend_region(backend, config),
                             sm_args_get(a, "version"), &call->err);
        if (!image) {
            free(hp.body_copy);
            return -1;
        }
        snprintf(base, sizeof base, "%s", what);
        for (char *p = base; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    const char *role_cfg = sm_config_get(config, "role");
    if (role_cfg[0])
        snprintf(role, sizeof role, "%s", role_cfg);
    else if (local) {
        sm_aws_identity id;
        if (sm_backend_identity(backend, config, call->out, &id, &aerr)) {
            rc = sm_call_fail_aws(call, &aerr);
            goto done;
        }
        snprintf(role, sizeof role, "arn:aws:iam::%s:role/sagemagic-local",
                 id.account);
    } else {
        rc = sm_error_set(&call->err, "no IAM role for SageMaker to run the job "
                                      "as; set one with %%config role=arn:aws:"
                                      "iam::123456789012:role/SageMakerRole");
        goto done;
    }
    const char *out_flag = sm_args_get(a, "output");
    if (out_flag && *out_flag)
        snprintf(output, sizeof output, "%s", out_flag);
    else {
        char bucket[256];
        if (sm_backend_bucket(backend, config, call->out,
                              !sm_args_get(a, "dry-run"), bucket, sizeof bucket,
                              &aerr)) {
            rc = sm_call_fail_aws(call, &aerr);
            goto done;
        }
        const char *prefix = sm_config_get(config, "prefix");
        snprintf(output, sizeof output, "s3://%s/%s%s", bucket, prefix,
                 prefix[0] ? "/" : "");
    }
    const char *name_flag = sm_args_get(a, "name");
    if (name_flag && *name_flag)
        snprintf(name, sizeof name, "%.63s", name_flag);
    else
        sm_train_default_name(base, name, sizeof name);
    const char *content_type = sm_args_get(a, "content-type");
    if (!content_type || !*content_type)
        content_type = "text/csv";
    const char *instance = sm_args_get(a, "instance");
    if (!instance || !*instance)
        instance = sm_config_get(config, "instance_type");
    sm_sagemaker_channel channels[2] = {
        {.name = "train", .s3_uri = train, .content_type = content_type},
        {.name = "validation", .s3_uri = validation,
         .content_type = content_type}};
    sm_sagemaker_training_job_spec spec = {
        .name = name,
        .training = {.image = image, .role_arn = role, .channels = channels,
                     .channel_count = validation && *validation ? 2 : 1,
                     .output_path = output,
                     .resources = {.instance_type = instance,
                                   .instance_count = (int)count},
                     .max_runtime_seconds = max_runtime,
                     .hyperparameters = hp.items,
                     .hyperparameter_count = hp.count}};
    if (sm_args_get(a, "dry-run")) {
        json_t *request = sm_sagemaker_create_training_job_request(&spec,
                                                                   &call->err);
        if (!request) {
            rc = -1;
            goto done;
        }
        char *text = json_dumps(request, JSON_INDENT(2) | JSON_SORT_KEYS);
        sm_out_stream(call->out, "stdout", "dry run: CreateTrainingJob would "
                                           "be sent with this request\n");
        call->shown = json_pack("{s:s}", "text/plain", text ? text : "");
        call->result = request;
        free(text);
        goto done;
    }
    if (sm_sagemaker_create_training_job(aws, &spec, NULL, &aerr)) {
        rc = sm_call_fail_aws(call, &aerr);
        goto done;
    }
    json_t *request = sm_sagemaker_create_training_job_request(&spec, NULL);
    if (request)
        sm_journal_training_created(call, aws, request, NULL);
    json_decref(request);
    rc = sm_train_follow(call, aws, name);
done:
    free(image);
    free(hp.body_copy);
    return rc ? -1 : 0;
}

int sm_train_follow(sm_call *call, sm_aws *aws, const char *name)
{
    sm_config *config = sm_magics_config(call->m);
    sm_backend_note_job(sm_magics_backend(call->m), "training", name);
    call->result = json_string(name);
    const char *wait = sm_config_get(config, "wait");
    int waiting =
        !sm_args_get(&call->args, "no-wait") &&
        !(strcasecmp(wait, "false") == 0 || strcasecmp(wait, "no") == 0 ||
          strcasecmp(wait, "off") == 0 || strcmp(wait, "0") == 0);
    int rc = 0;
    if (!waiting) {
        char line[512];
        snprintf(line, sizeof line, "started training job %s (see it with "
                                    "%%status %s)\n", name, name);
        sm_out_stream(call->out, "stdout", line);
    } else {
        rc = watch_job(call, aws, name);
    }
    if (rc) {
        json_decref(call->result);
        call->result = NULL;
    }
    return rc;
}

/* ---- %stop --------------------------------------------------------------- */

int sm_magic_stop(sm_call *call)
{
    static const sm_sagemaker_kind kinds[] = {SM_SAGEMAKER_TRAINING_JOB,
                                              SM_SAGEMAKER_TRANSFORM_JOB,
                                              SM_SAGEMAKER_TUNING_JOB};
    const char *name = call->args.positional[0];
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return -1;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        sm_aws_error err = {.http_status = 0};
        json_t *found = sm_sagemaker_describe(aws, kinds[i], name, &err);
        if (!found) {
            if (sm_sagemaker_error_is_not_found(&err) ||
                strcmp(err.code, SM_AWSJSON_INVALID) == 0 ||
                strcmp(err.code, "InvalidAction") == 0 ||
                strcmp(err.code, "UnknownOperationException") == 0 ||
                err.http_status == 501)
                continue;
            return sm_call_fail_aws(call, &err);
        }
        sm_sagemaker_state s;
        sm_sagemaker_state_read(kinds[i], found, &s);
        const char *label = sm_sagemaker_kind_label(kinds[i]);
        if (sm_sagemaker_status_is_terminal(kinds[i], s.status) ||
            strcmp(s.status, "Stopping") == 0) {
            call->ename = "ClientError";
            sm_error_set(&call->err, "the %s %s is already %s; there is "
                                     "nothing to stop", label, name, s.status);
            json_decref(found);
            return -1;
        }
        json_decref(found);
        if (sm_sagemaker_stop(aws, kinds[i], name, &err))
            return sm_call_fail_aws(call, &err);
        char line[400];
        snprintf(line, sizeof line, "stopping the %s %s (%%status %s shows when "
                                    "it has stopped)\n", label, name, name);
        sm_out_stream(call->out, "stdout", line);
        call->result = json_string(name);
        return 0;
    }
    call->ename = "ClientError";
    return sm_error_set(&call->err, "no training, transform or tuning job "
                                    "named %s", name);
}
