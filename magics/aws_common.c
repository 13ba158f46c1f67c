/* aws_common: what the magics that call AWS share: the client for the
 * current settings, an AWS failure as the cell's one sentence, and the
 * pieces of watching a job (poll interval, interrupt message, live card). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "aws_magics.h"
#include "console.h"
#include "images.h"
#include "logs.h"

sm_aws *sm_call_aws(sm_call *call)
{
    sm_aws_error err = {.http_status = 0};
    sm_aws *aws = sm_backend_client(sm_magics_backend(call->m),
                                    sm_magics_config(call->m), call->out, &err);
    if (!aws)
        sm_call_fail_aws(call, &err);
    return aws;
}

int sm_call_fail_aws(sm_call *call, const sm_aws_error *err)
{
    char text[sizeof call->err.message];
    sm_aws_error_format(err, text, sizeof text);
    /* a container's message may span lines; the cell shows one sentence */
    size_t n = 0;
    for (const char *p = text; *p; p++)
        if (!isspace((unsigned char)*p))
            text[n++] = *p;
        else if (n && text[n - 1] != ' ')
            text[n++] = ' ';
    text[n] = '\0';
    if (strcmp(err->code, SM_AWS_ERR_INTERRUPTED) == 0)
        call->ename = "KeyboardInterrupt";
    else if (err->http_status == 0 && !err->code[0] && err->operation[0])
        call->ename = "ConnectionError";
    else if (err->http_status || err->code[0])
        call->ename = "ClientError";
    else
        call->ename = "BackendError"; /* settings, credentials, service */
    return sm_error_set(&call->err, "%s", text);
}

int sm_call_interrupted(void *call)
{
    return sm_out_interrupted(((sm_call *)call)->out);
}

int sm_call_count_flag(sm_call *call, const char *name, long fallback, long max,
                       long *out)
{
    const char *v = sm_args_get(&call->args, name);
    *out = fallback;
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < 1 || n > max)
        return sm_error_set(&call->err,
                            "--%s needs a whole number from 1 to "
                            "%ld, not '%s'",
                            name, max, v);
    *out = n;
    return 0;
}

long sm_call_poll_ms(sm_call *call)
{
    sm_config *config = sm_magics_config(call->m);
    const char *poll = sm_config_get(config, "poll");
    if (strcmp(poll, "auto") != 0)
        return (long)(atof(poll) * 1000);
    return strcmp(sm_config_get(config, "backend"), "local") == 0 ? 250 : 5000;
}

int sm_call_waits(sm_call *call)
{
    return !sm_args_get(&call->args, "no-wait") &&
           sm_config_is_true(sm_magics_config(call->m), "wait");
}

int sm_call_stop_watching(sm_call *call, const char *label, const char *name)
{
    call->ename = "KeyboardInterrupt";
    return sm_error_set(&call->err,
                        "interrupted: stopped watching %s, but the %s keeps "
                        "running (stop it with %%stop %s)",
                        name, label, name);
}

void sm_call_one_sentence(const char *text, char *out, size_t size)
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

void sm_call_default_name(const char *base, char *out, size_t size)
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

double sm_wall_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

void sm_card_init(sm_card *self, sm_call *call, const char *kind)
{
    static unsigned serial;
    self->call = call;
    self->displayed = 0;
    self->extra_type = NULL;
    self->extra = NULL;
    snprintf(self->display_id, sizeof self->display_id,
             "sagemagic-%.32s-%ld-%u", kind, (long)getpid(), ++serial);
}

void sm_card_html_begin(sm_buf *html, const char *title)
{
    char *t = sm_html_escape(title);
    sm_buf_printf(html,
                  "<div style=\"border:1px solid var(--jp-border-color2);"
                  "padding:6px 10px;color:var(--jp-ui-font-color1);"
                  "background:var(--jp-layout-color1);font-family:"
                  "var(--jp-ui-font-family)\"><b>%s</b>"
                  "<table style=\"margin-top:4px\">",
                  t ? t : "");
    free(t);
}

void sm_card_show(sm_card *self, const sm_buf *plain, sm_buf *html)
{
    sm_buf_puts(html, "</table></div>");
    json_t *bundle = json_pack("{s:s, s:s}", "text/plain", sm_buf_str(plain),
                               "text/html", sm_buf_str(html));
    if (bundle && self->extra_type && self->extra)
        json_object_set(bundle, self->extra_type, self->extra);
    if (self->displayed)
        sm_out_update_display(self->call->out, bundle, NULL, self->display_id);
    else
        sm_out_display(self->call->out, bundle, NULL, self->display_id);
    self->displayed = 1;
}

void sm_card_row(sm_buf *plain, sm_buf *html, const char *key,
                 const char *value, const char *html_value)
{
    char *v = html_value ? NULL : sm_html_escape(value);
    sm_buf_printf(plain, "  %-10s %s\n", key, value);
    sm_buf_printf(html, "<tr>" SM_CARD_TD "%s</td>" SM_CARD_TD "%s</td></tr>",
                  key, html_value ? html_value : (v ? v : ""));
    free(v);
}

void sm_card_link_row(sm_buf *plain, sm_buf *html, const char *key,
                      const char *url)
{
    char *u = sm_html_escape(url);
    sm_buf link = {0};
    sm_buf_printf(&link, "<a href=\"%s\" target=\"_blank\">%s</a>", u ? u : "",
                  u ? u : "");
    sm_card_row(plain, html, key, url, sm_buf_str(&link));
    sm_buf_free(&link);
    free(u);
}

void sm_card_console_row(sm_call *call, sm_buf *plain, sm_buf *html,
                         const char *kind, const char *name)
{
    const sm_config *config = sm_magics_config(call->m);
    char url[1024];
    if (strcmp(sm_config_get(config, "backend"), "aws") == 0 &&
        sm_console_sagemaker_url(
            kind, sm_backend_region(sm_magics_backend(call->m), config), name,
            url, sizeof url) == 0)
        sm_card_link_row(plain, html, "console", url);
}

void sm_call_image_base(const char *image, char *out, size_t size)
{
    const char *slash = strrchr(image, '/');
    const char *s = slash ? slash + 1 : image;
    size_t n = strcspn(s, ":@");
    snprintf(out, size, "%.*s", (int)n, s);
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p))
            *p = '-';
}

char *sm_call_image(sm_call *call, const char *what, char *base, size_t size)
{
    sm_config *config = sm_magics_config(call->m);
    char *image;
    if (strchr(what, '/') || strchr(what, '.')) {
        image = strdup(what);
        sm_image_info info;
        if (sm_image_is_xgboost(what, &info))
            snprintf(base, size, "%s", info.algorithm);
        else
            sm_call_image_base(what, base, size);
        if (!image)
            sm_error_set(&call->err, "out of memory");
        return image;
    }
    image = sm_image_uri(what,
                         sm_backend_region(sm_magics_backend(call->m), config),
                         sm_args_get(&call->args, "version"), &call->err);
    snprintf(base, size, "%s", what);
    for (char *p = base; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return image;
}

int sm_call_role(sm_call *call, char *role, size_t size)
{
    sm_config *config = sm_magics_config(call->m);
    const char *set = sm_config_get(config, "role");
    if (set[0]) {
        snprintf(role, size, "%s", set);
        return 0;
    }
    if (strcmp(sm_config_get(config, "backend"), "local") != 0)
        return sm_error_set(&call->err,
                            "no IAM role for SageMaker to run the job as; set "
                            "one with %%config role=arn:aws:iam::"
                            "123456789012:role/SageMakerRole");
    sm_aws_identity id;
    sm_aws_error err = {.http_status = 0};
    if (sm_backend_identity(sm_magics_backend(call->m), config, call->out, &id,
                            &err))
        return sm_call_fail_aws(call, &err);
    snprintf(role, size, "arn:aws:iam::%s:role/sagemagic-local", id.account);
    return 0;
}

int sm_call_output(sm_call *call, int dry_run, char *out, size_t size)
{
    const char *flag = sm_args_get(&call->args, "output");
    if (flag && *flag) {
        snprintf(out, size, "%s", flag);
        return 0;
    }
    sm_config *config = sm_magics_config(call->m);
    char bucket[256];
    sm_aws_error err = {.http_status = 0};
    if (sm_backend_bucket(sm_magics_backend(call->m), config, call->out,
                          !dry_run, bucket, sizeof bucket, &err))
        return sm_call_fail_aws(call, &err);
    const char *prefix = sm_config_get(config, "prefix");
    snprintf(out, size, "s3://%s/%s%s", bucket, prefix, prefix[0] ? "/" : "");
    return 0;
}

/* The job's stream, once it exists. 0 when known. */
static int log_tail_find(sm_log_tail *self)
{
    if (self->stream)
        return 0;
    char prefix[320];
    snprintf(prefix, sizeof prefix, "%s/", self->name);
    sm_logs_stream_query q = {.group = self->group, .prefix = prefix};
    sm_logs_streams streams = {0};
    sm_aws_error err = {.http_status = 0};
    if (sm_logs_describe_streams(self->aws, &q, 1, &streams, &err) == 0 &&
        streams.count)
        self->stream = strdup(streams.items[0].name);
    sm_logs_streams_clear(&streams);
    return self->stream ? 0 : -1;
}

void sm_log_tail_read(sm_log_tail *self, sm_call *call,
                      void (*seen)(void *ctx, const char *line), void *ctx)
{
    if (log_tail_find(self))
        return;
    sm_logs_events_query q = {.group = self->group,
                              .stream = self->stream,
                              .next_token = self->token,
                              .start_from_head = 1};
    sm_logs_events events = {0};
    sm_aws_error err = {.http_status = 0};
    if (sm_logs_read_stream(self->aws, &q, 0, &events, &err) == 0) {
        sm_buf b = {0};
        for (size_t i = 0; i < events.count; i++) {
            const char *msg =
                events.items[i].message ? events.items[i].message : "";
            if (seen)
                seen(ctx, msg);
            sm_buf_puts(&b, msg);
            if (!*msg || msg[strlen(msg) - 1] != '\n')
                sm_buf_putc(&b, '\n');
        }
        if (sm_buf_str(&b)[0])
            sm_out_stream(call->out, "stdout", sm_buf_str(&b));
        sm_buf_free(&b);
        if (events.next_forward_token) {
            free(self->token);
            self->token = strdup(events.next_forward_token);
        }
    }
    sm_logs_events_clear(&events);
}

void sm_log_tail_clear(sm_log_tail *self)
{
    free(self->stream);
    free(self->token);
    self->stream = self->token = NULL;
}

int sm_call_job_ended(sm_call *call, const sm_sagemaker_state *state,
                      const char *label, const char *failed,
                      const char *stopped)
{
    if (strcmp(state->status, "Completed") == 0)
        return 0;
    char reason[512];
    int is_failed = strcmp(state->status, "Failed") == 0;
    sm_call_one_sentence(state->failure_reason[0] ? state->failure_reason
                                                  : "no reason given",
                         reason, sizeof reason);
    call->ename = is_failed ? failed : stopped;
    return sm_error_set(&call->err, "%s %s %s: %s", label, state->name,
                        is_failed ? "failed" : "was stopped", reason);
}
