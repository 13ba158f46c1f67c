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
#include "console.h"
#include "images.h"
#include "journal.h"
#include "logs.h"
#include "render.h"
#include "sagemaker.h"
#include "sagemaker_training.h"

#define MAX_HYPERPARAMETERS 100

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
    sm_card card;
    double started;
    sm_log_tail tail;
    json_t *metrics;
    json_t *record; /* the run's journal record, once it has ended */
} watch;

/* On aws: the job's console page, and its log stream's once it has one. */
static void console_rows(watch *w, sm_buf *p, sm_buf *h)
{
    sm_call *call = w->card.call;
    const sm_config *config = sm_magics_config(call->m);
    if (strcmp(sm_config_get(config, "backend"), "aws") != 0)
        return;
    sm_card_console_row(call, p, h, "training-job", w->name);
    char url[1024];
    if (w->tail.stream &&
        sm_console_log_stream_url(
            sm_backend_region(sm_magics_backend(call->m), config),
            "/aws/sagemaker/TrainingJobs", w->tail.stream, url, sizeof url) == 0)
        sm_card_link_row(p, h, "logs", url);
}

static void card(watch *w, const sm_sagemaker_training_job *job, int final)
{
    char elapsed[32], t[32];
    double start = job->state.creation_time > 0 ? job->state.creation_time
                                                : w->started;
    double end = job->state.end_time > 0 ? job->state.end_time : sm_wall_now();
    sm_render_duration(end - start, elapsed, sizeof elapsed);
    sm_buf p = {0}, h = {0};
    char title[128];
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
    snprintf(title, sizeof title, "training job %s", w->name);
    sm_card_html_begin(&h, title);
    sm_buf_printf(&h, "<tr>" SM_CARD_TD "status</td>" SM_CARD_TD "<b>%s</b>%s%s%s</td></tr>",
                  status, secondary[0] ? " (" : "", secondary,
                  secondary[0] ? ")" : "");
    sm_buf_printf(&h, "<tr>" SM_CARD_TD "elapsed</td>" SM_CARD_TD "%s</td></tr><tr>" SM_CARD_TD "instance"
                      "</td>" SM_CARD_TD "%s x %d</td></tr>", elapsed,
                  job->instance_type[0] ? job->instance_type : "?",
                  job->instance_count ? job->instance_count : 1);
    if (job->transition_count) {
        sm_buf_puts(&p, "  timeline\n");
        sm_buf_puts(&h, "<tr>" SM_CARD_TD "timeline</td>" SM_CARD_TD "");
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
        sm_buf_printf(&h, "<tr>" SM_CARD_TD "metrics</td>" SM_CARD_TD "%s</td></tr>",
                      sm_buf_str(&latest));
    }
    sm_buf_free(&latest);
    if (final) {
        for (size_t i = 0; i < job->metric_count; i++) {
            sm_buf_printf(&p, "  %-10s %s = %.6g\n", i ? "" : "final",
                          job->metrics[i].name, job->metrics[i].value);
            sm_buf_printf(&h, "<tr>" SM_CARD_TD "%s</td>" SM_CARD_TD "%s = %.6g</td></tr>",
                          i ? "" : "final metrics", job->metrics[i].name,
                          job->metrics[i].value);
        }
        if (job->training_seconds > 0 || job->billable_seconds > 0) {
            sm_buf_printf(&p, "  seconds    %.0f training, %.0f billable\n",
                          job->training_seconds, job->billable_seconds);
            sm_buf_printf(&h, "<tr>" SM_CARD_TD "seconds</td>" SM_CARD_TD "%.0f training, %.0f "
                              "billable</td></tr>", job->training_seconds,
                          job->billable_seconds);
        }
        if (job->model_artifacts[0]) {
            char *m = sm_html_escape(job->model_artifacts);
            sm_buf_printf(&p, "  model      %s\n", job->model_artifacts);
            sm_buf_printf(&h, "<tr>" SM_CARD_TD "model</td>" SM_CARD_TD "<code>%s</code></td></tr>",
                          m ? m : "");
            free(m);
        }
        if (job->state.failure_reason[0]) {
            char *f = sm_html_escape(job->state.failure_reason);
            sm_buf_printf(&p, "  reason     %s\n", job->state.failure_reason);
            sm_buf_printf(&h, "<tr>" SM_CARD_TD "reason</td><td style=\"text-align:left;vertical-align:top;color:"
                              "var(--jp-error-color1)\">%s</td></tr>", f ? f : "");
            free(f);
        }
    }
    console_rows(w, &p, &h);
    /* the finished run's record rides on the card's last update */
    w->card.extra_type = final && w->record ? SM_JOURNAL_MIMETYPE : NULL;
    w->card.extra = final ? w->record : NULL;
    sm_card_show(&w->card, &p, &h);
    sm_buf_free(&p);
    sm_buf_free(&h);
}

/* A log line's metrics kept (a sm_log_tail callback). */
static void metric_seen(void *metrics, const char *line)
{
    parse_metric_line(line, metrics);
}

static int watch_job(sm_call *call, sm_aws *aws, const char *name)
{
    watch w = {.call = call, .aws = aws, .name = name, .started = sm_wall_now(),
               .tail = {.aws = aws, .group = SM_LOGS_TRAINING_GROUP,
                        .name = name},
               .metrics = json_object()};
    sm_card_init(&w.card, call, "train");
    int rc = 0;
    for (;;) {
        sm_aws_error err = {.http_status = 0};
        sm_sagemaker_training_job job;
        memset(&job, 0, sizeof job);
        if (sm_sagemaker_describe_training_job(aws, name, &job, &err)) {
            rc = sm_out_interrupted(call->out)
                     ? sm_call_stop_watching(call, "training job", name)
                     : sm_call_fail_aws(call, &err);
            break;
        }
        int done = sm_sagemaker_status_is_terminal(SM_SAGEMAKER_TRAINING_JOB,
                                                   job.state.status);
        sm_log_tail_read(&w.tail, call, metric_seen, w.metrics);
        if (done) /* on disk before the card says it ended */
            w.record = sm_journal_training_finished(call, &job, w.metrics);
        card(&w, &job, done);
        if (done) {
            show_charts(call, name, w.metrics);
            rc = sm_call_job_ended(call, &job.state, "training job",
                                   "TrainingJobFailed", "TrainingJobStopped");
            sm_sagemaker_training_job_clear(&job);
            break;
        }
        sm_sagemaker_training_job_clear(&job);
        if (sm_out_wait(call->out, sm_call_poll_ms(call)) != 0) {
            rc = sm_call_stop_watching(call, "training job", name);
            break;
        }
    }
    sm_log_tail_clear(&w.tail);
    json_decref(w.metrics);
    json_decref(w.record);
    return rc;
}

/* ---- %train -------------------------------------------------------------- */

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
    char *image = NULL, base[64], role[256], output[1100], name[128];
    sm_aws_error aerr = {.http_status = 0};
    image = sm_call_image(call, what, base, sizeof base);
    if (!image || sm_call_role(call, role, sizeof role) ||
        sm_call_output(call, sm_args_get(a, "dry-run") != NULL, output,
                       sizeof output)) {
        rc = -1;
        goto done;
    }
    const char *name_flag = sm_args_get(a, "name");
    if (name_flag && *name_flag)
        snprintf(name, sizeof name, "%.63s", name_flag);
    else
        sm_call_default_name(base, name, sizeof name);
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
        sm_journal_request_created(call, aws, SM_JOURNAL_TRAINING, request,
                                   NULL);
    json_decref(request);
    rc = sm_train_follow(call, aws, name);
done:
    free(image);
    free(hp.body_copy);
    return rc ? -1 : 0;
}

int sm_train_follow(sm_call *call, sm_aws *aws, const char *name)
{
    sm_backend_note_job(sm_magics_backend(call->m), "training", name);
    call->result = json_string(name);
    int rc = 0;
    if (!sm_call_waits(call)) {
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
