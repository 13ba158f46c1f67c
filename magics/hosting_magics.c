/* hosting_magics: %deploy (model, endpoint config and endpoint, then a
 * live card until InService), %predict / %%predict (InvokeEndpoint),
 * %endpoints (every endpoint with uptime and estimated cost), %delete and
 * %cleanup. Endpoints made here are tracked (endpoint_track.h) so nothing
 * costs money silently. */
#include <ctype.h>
#include <errno.h>
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
#include "endpoint_track.h"
#include "journal.h"
#include "prices.h"
#include "render.h"
#include "runtime.h"
#include "sagemaker.h"
#include "sagemaker_hosting.h"
#include "sagemaker_training.h"

#define DEFAULT_INSTANCE "ml.m5.large"
#define MAX_TTL_SECONDS (30 * 86400.0)
#define MAX_LISTED 100

static double epoch_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static int is_local(sm_call *call)
{
    return strcmp(sm_config_get(sm_magics_config(call->m), "backend"),
                  "local") == 0;
}

/* "$0.115 per hour (...)" for `count` instances, or a sentence saying the
 * table lacks the type, into out[size]. */
static void hourly_text(const char *instance, int count, char *out, size_t size)
{
    double price = sm_price_per_hour(instance);
    if (price < 0)
        snprintf(out, size, "no price for %s in the table", instance);
    else
        snprintf(out, size, "$%.3f per hour (%s on-demand, %s prices of %s)",
                 price * count, instance, SM_PRICES_REGION, SM_PRICES_DATE);
}

/* ---- --ttl --------------------------------------------------------------- */

static const struct {
    char unit;
    double seconds;
} duration_units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};

/* Seconds in one unit letter; a number without a unit is seconds. */
static double unit_seconds(char **end)
{
    if (!**end)
        return 1;
    for (size_t i = 0; i < sizeof duration_units / sizeof *duration_units; i++)
        if (**end == duration_units[i].unit) {
            (*end)++;
            return duration_units[i].seconds;
        }
    return -1;
}

/* "90", "90s", "10m", "2h", "1h30m", "1d" into seconds. 0, or -1 with the
 * call's error set. */
static int parse_duration(sm_call *call, const char *text, double *seconds)
{
    const char *p = text;
    double total = 0;
    int parts = 0;
    while (*p && isdigit((unsigned char)*p)) {
        char *end;
        double n = strtod(p, &end), unit = unit_seconds(&end);
        if (unit < 0 || !isfinite(n))
            break;
        total += n * unit;
        parts++;
        p = end;
    }
    if (*p || parts == 0 || total < 1 || total > MAX_TTL_SECONDS)
        return sm_error_set(&call->err,
                            "--ttl needs a duration from 1s to 30d such as "
                            "90s, 30m, 2h or 1h30m, not '%s'",
                            text);
    *seconds = total;
    return 0;
}

/* ---- what to deploy ------------------------------------------------------ */

typedef struct source {
    const char *job;                 /* the training job, when made from one */
    char *image, *model_data, *role; /* new; for a model to create */
    char *existing_model;            /* new; set when deploying a model */
    char base[64];                   /* the base of default names */
} source;

static void source_clear(source *s)
{
    free(s->image);
    free(s->model_data);
    free(s->role);
    free(s->existing_model);
}

/* From a training job: its artifact, image and role. 1 when there is no
 * such job, 0 when found, -1 on error. */
static int source_from_job(sm_call *call, sm_aws *aws, const char *what,
                           source *src)
{
    sm_sagemaker_training_job job;
    memset(&job, 0, sizeof job);
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_describe_training_job(aws, what, &job, &err)) {
        if (sm_sagemaker_error_is_not_found(&err))
            return 1;
        return sm_call_fail_aws(call, &err);
    }
    int rc = 0;
    if (strcmp(job.state.status, "Completed") != 0) {
        call->ename = "ClientError";
        rc = sm_error_set(&call->err,
                          "training job %s is %s, so it has no "
                          "model to deploy; deploy it once it "
                          "has Completed",
                          what, job.state.status);
    } else if (!job.model_artifacts[0] || !job.image[0]) {
        call->ename = "ClientError";
        rc = sm_error_set(&call->err,
                          "training job %s names no model "
                          "artifact or image to deploy",
                          what);
    } else {
        const char *role =
            json_string_value(json_object_get(job.raw, "RoleArn"));
        src->image = strdup(job.image);
        src->model_data = strdup(job.model_artifacts);
        src->role = strdup(role ? role : "");
        src->job = what;
        sm_call_image_base(job.image, src->base, sizeof src->base);
    }
    sm_sagemaker_training_job_clear(&job);
    return rc;
}

static int source_from_model(sm_call *call, sm_aws *aws, const char *what,
                             source *src)
{
    sm_sagemaker_model model;
    memset(&model, 0, sizeof model);
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_describe_model(aws, what, &model, &err)) {
        if (sm_sagemaker_error_is_not_found(&err)) {
            call->ename = "ClientError";
            return sm_error_set(&call->err,
                                "no training job or model named "
                                "%s (%%jobs lists the jobs)",
                                what);
        }
        return sm_call_fail_aws(call, &err);
    }
    src->existing_model = strdup(what);
    sm_call_image_base(model.image && *model.image ? model.image : what,
                       src->base, sizeof src->base);
    sm_sagemaker_model_clear(&model);
    return 0;
}

static int resolve_source(sm_call *call, sm_aws *aws, const char *what,
                          source *src)
{
    sm_error check = {0};
    if (sm_sagemaker_check_name(SM_SAGEMAKER_MODEL, what, &check))
        return sm_error_set(&call->err,
                            "'%s' is not the name of a training "
                            "job or model",
                            what);
    int rc = source_from_job(call, aws, what, src);
    if (rc == 1)
        rc = source_from_model(call, aws, what, src);
    return rc ? -1 : 0;
}

/* ---- the requests -------------------------------------------------------- */

typedef struct plan {
    char endpoint[128];
    const char *instance;
    long count;
    sm_sagemaker_model_spec model;
    sm_sagemaker_variant variant;
    sm_sagemaker_endpoint_config_spec config;
    sm_sagemaker_endpoint_spec ep;
} plan;

static void plan_make(plan *p, const source *src)
{
    const char *model = src->existing_model ? src->existing_model : p->endpoint;
    p->model = (sm_sagemaker_model_spec){.name = p->endpoint,
                                         .image = src->image,
                                         .model_data_url = src->model_data,
                                         .role_arn = src->role};
    p->variant = (sm_sagemaker_variant){.model_name = model,
                                        .instance_type = p->instance,
                                        .instance_count = (int)p->count};
    p->config = (sm_sagemaker_endpoint_config_spec){
        .name = p->endpoint, .variants = &p->variant, .variant_count = 1};
    p->ep = (sm_sagemaker_endpoint_spec){.name = p->endpoint,
                                         .config_name = p->endpoint};
}

static int dry_run(sm_call *call, const plan *p, const source *src)
{
    json_t *requests = json_object();
    json_t *r = NULL;
    int rc = 0;
    if (!src->existing_model) {
        rc = (r = sm_sagemaker_create_model_request(&p->model, &call->err))
                 ? 0
                 : -1;
        json_object_set_new(requests, "CreateModel", r);
    }
    if (!rc && (r = sm_sagemaker_create_endpoint_config_request(&p->config,
                                                                &call->err)))
        json_object_set_new(requests, "CreateEndpointConfig", r);
    else
        rc = -1;
    if (!rc && (r = sm_sagemaker_create_endpoint_request(&p->ep, &call->err)))
        json_object_set_new(requests, "CreateEndpoint", r);
    else
        rc = -1;
    if (rc) {
        json_decref(requests);
        return -1;
    }
    char hourly[200], line[400];
    hourly_text(p->instance, (int)p->count, hourly, sizeof hourly);
    snprintf(line, sizeof line,
             "dry run: nothing was sent; %s would be sent "
             "with these requests%s%s%s\n",
             src->existing_model ? "CreateEndpointConfig and CreateEndpoint"
                                 : "CreateModel, CreateEndpointConfig and "
                                   "CreateEndpoint",
             is_local(call) ? "" : "\nestimated cost: ",
             is_local(call) ? "" : hourly,
             is_local(call) ? "" : " while it runs");
    sm_out_stream(call->out, "stdout", line);
    char *text = json_dumps(requests, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    call->shown = json_pack("{s:s}", "text/plain", text ? text : "");
    free(text);
    call->result = requests;
    return 0;
}

/* The journal's record of what %deploy created: each part with its
 * request, linked to what it was made from. */
static void journal_model(sm_call *call, sm_aws *aws, const plan *p,
                          const source *src)
{
    json_t *request = sm_sagemaker_create_model_request(&p->model, NULL);
    if (request)
        sm_journal_request_created(
            call, aws, SM_JOURNAL_MODEL, request,
            json_pack("{s:s}", "training_job", src->job));
    json_decref(request);
}

static void journal_config(sm_call *call, sm_aws *aws, const plan *p)
{
    json_t *request =
        sm_sagemaker_create_endpoint_config_request(&p->config, NULL);
    if (request)
        sm_journal_request_created(call, aws, SM_JOURNAL_ENDPOINT_CONFIG,
                                   request, NULL);
    json_decref(request);
}

static void journal_endpoint(sm_call *call, sm_aws *aws, const plan *p,
                             const source *src, double ttl)
{
    json_t *request = sm_sagemaker_create_endpoint_request(&p->ep, NULL);
    json_t *links = json_pack("{s:s, s:s, s:i}", "model", p->variant.model_name,
                              "instance_type", p->instance, "instance_count",
                              (int)p->count);
    if (!src->existing_model)
        json_object_set_new(links, "training_job", json_string(src->job));
    if (ttl > 0)
        json_object_set_new(links, "ttl_seconds", json_real(ttl));
    if (request)
        sm_journal_request_created(call, aws, SM_JOURNAL_ENDPOINT, request,
                                   links);
    else
        json_decref(links);
    json_decref(request);
}

/* Delete again what this call made before a later step failed, and say so
 * in the journal. */
static void roll_back(sm_call *call, sm_aws *aws, const plan *p, int made_model,
                      int made_config)
{
    sm_aws_error ignored = {.http_status = 0};
    json_t *gone = json_array();
    if (made_config && sm_sagemaker_delete(aws, SM_SAGEMAKER_ENDPOINT_CONFIG,
                                           p->endpoint, &ignored) == 0)
        json_array_append_new(gone, json_pack("{s:s, s:s}", "kind",
                                              SM_JOURNAL_ENDPOINT_CONFIG,
                                              "name", p->endpoint));
    if (made_model && sm_sagemaker_delete(aws, SM_SAGEMAKER_MODEL, p->endpoint,
                                          &ignored) == 0)
        json_array_append_new(gone,
                              json_pack("{s:s, s:s}", "kind", SM_JOURNAL_MODEL,
                                        "name", p->endpoint));
    sm_journal_deleted(call, gone, "%deploy, after a later step failed");
    json_decref(gone);
}

/* Create model (unless it exists), config and endpoint, each in the
 * journal as soon as it is; what this call created is deleted again when a
 * later step fails. */
static int create_all(sm_call *call, sm_aws *aws, const plan *p,
                      const source *src, double ttl)
{
    sm_aws_error err = {.http_status = 0};
    int made_model = 0, made_config = 0;
    if (!src->existing_model) {
        if (sm_sagemaker_create_model(aws, &p->model, NULL, &err))
            goto fail;
        made_model = 1;
        journal_model(call, aws, p, src);
    }
    if (sm_sagemaker_create_endpoint_config(aws, &p->config, NULL, &err))
        goto fail;
    made_config = 1;
    journal_config(call, aws, p);
    if (sm_sagemaker_create_endpoint(aws, &p->ep, NULL, &err))
        goto fail;
    journal_endpoint(call, aws, p, src, ttl);
    return 0;
fail:
    roll_back(call, aws, p, made_model, made_config);
    return sm_call_fail_aws(call, &err);
}

/* ---- the live card ------------------------------------------------------- */

typedef struct card_state {
    sm_card card;
    const plan *p;
    double started;
    double expires_at; /* --ttl: when it is deleted; 0 for never */
    json_t *record;    /* the run's journal record, once it has settled */
} card_state;

static void card(card_state *c, const sm_sagemaker_endpoint *ep)
{
    const plan *p = c->p;
    sm_call *call = c->card.call;
    char elapsed[32], instance[160], hourly[200], title[160];
    double start = ep && ep->state.creation_time > 0 ? ep->state.creation_time
                                                     : c->started;
    sm_render_duration(epoch_now() - start, elapsed, sizeof elapsed);
    snprintf(instance, sizeof instance, "%s x %ld", p->instance, p->count);
    const char *status =
        ep && ep->state.status[0] ? ep->state.status : "Creating";
    sm_buf t = {0}, h = {0};
    snprintf(title, sizeof title, "endpoint %s", p->endpoint);
    sm_buf_printf(&t, "%s\n", title);
    sm_card_html_begin(&h, title);
    char *bold = sm_html_escape(status);
    sm_buf b = {0};
    sm_buf_printf(&b, "<b>%s</b>", bold ? bold : "");
    sm_card_row(&t, &h, "status", status, sm_buf_str(&b));
    sm_buf_free(&b);
    free(bold);
    sm_card_row(&t, &h, "elapsed", elapsed, NULL);
    sm_card_row(&t, &h, "instance", instance, NULL);
    if (!is_local(call)) {
        hourly_text(p->instance, (int)p->count, hourly, sizeof hourly);
        sm_card_row(&t, &h, "cost", hourly, NULL);
    }
    sm_card_console_row(call, &t, &h, "endpoint", p->endpoint);
    if (c->expires_at > 0) {
        char when[32], ttl[96];
        sm_render_time(c->expires_at, when, sizeof when);
        snprintf(ttl, sizeof ttl, "deleted at %s UTC", when);
        sm_card_row(&t, &h, "ttl", ttl, NULL);
    }
    if (ep && ep->state.failure_reason[0])
        sm_card_row(&t, &h, "reason", ep->state.failure_reason, NULL);
    if (strcmp(status, "InService") == 0) {
        char use[300];
        snprintf(use, sizeof use, "%%predict %s ROW; %%delete %s when done",
                 p->endpoint, p->endpoint);
        sm_card_row(&t, &h, "use", use, NULL);
    }
    /* the settled endpoint's record rides on the card's last update */
    c->card.extra_type = c->record ? SM_JOURNAL_MIMETYPE : NULL;
    c->card.extra = c->record;
    sm_card_show(&c->card, &t, &h);
    sm_buf_free(&t);
    sm_buf_free(&h);
}

static int interrupted(sm_call *call, const char *name)
{
    call->ename = "KeyboardInterrupt";
    return sm_error_set(&call->err,
                        "interrupted: stopped watching endpoint "
                        "%s, but it keeps being created (delete "
                        "it with %%delete %s -f)",
                        name, name);
}

/* Whether an endpoint has settled: 0 InService, 1 still on its way, or
 * -1 with the call's error when it failed. */
static int endpoint_settled(sm_call *call, const sm_sagemaker_endpoint *ep)
{
    if (strcmp(ep->state.status, "InService") == 0)
        return 0;
    if (!sm_sagemaker_status_is_terminal(SM_SAGEMAKER_ENDPOINT,
                                         ep->state.status) &&
        strcmp(ep->state.status, "Deleting") != 0)
        return 1;
    call->ename = "EndpointFailed";
    return sm_error_set(&call->err, "endpoint %s is %s: %s", ep->state.name,
                        ep->state.status,
                        ep->state.failure_reason[0] ? ep->state.failure_reason
                                                    : "no reason given");
}

static int watch_endpoint(sm_call *call, sm_aws *aws, const plan *p,
                          double expires_at)
{
    card_state c = {.p = p, .started = epoch_now(), .expires_at = expires_at};
    sm_card_init(&c.card, call, "endpoint");
    card(&c, NULL);
    /* the first look comes soon: an endpoint may be InService at once */
    long wait_ms = sm_call_poll_ms(call) < 1000 ? sm_call_poll_ms(call) : 1000;
    for (;;) {
        if (sm_out_wait(call->out, wait_ms) != 0)
            return interrupted(call, p->endpoint);
        wait_ms = sm_call_poll_ms(call);
        sm_aws_error err = {.http_status = 0};
        sm_sagemaker_endpoint ep;
        memset(&ep, 0, sizeof ep);
        if (sm_sagemaker_describe_endpoint(aws, p->endpoint, &ep, &err))
            return sm_out_interrupted(call->out)
                       ? interrupted(call, p->endpoint)
                       : sm_call_fail_aws(call, &err);
        int rc = endpoint_settled(call, &ep);
        if (rc <= 0) /* on disk before the card says it settled */
            c.record = sm_journal_endpoint_finished(call, &ep);
        card(&c, &ep);
        sm_sagemaker_endpoint_clear(&ep);
        if (rc <= 0) {
            json_decref(c.record);
            return rc;
        }
    }
}

/* ---- %deploy ------------------------------------------------------------- */

static void say_ttl(sm_call *call, const char *name, double ttl)
{
    char when[32], in[32], line[700];
    sm_render_time(epoch_now() + ttl, when, sizeof when);
    sm_render_duration(ttl, in, sizeof in);
    snprintf(line, sizeof line,
             "endpoint %s will be deleted at %s UTC (in %s) if this kernel "
             "still runs then; if the kernel exits first it keeps running "
             "(unless %%config cleanup_on_exit=true)\n",
             name, when, in);
    sm_out_stream(call->out, "stdout", line);
}

static int deploy_flags(sm_call *call, plan *p, double *ttl)
{
    const sm_args *a = &call->args;
    p->instance = sm_args_get(a, "instance");
    if (!p->instance || !*p->instance)
        p->instance = DEFAULT_INSTANCE;
    if (strncmp(p->instance, "ml.", 3) != 0)
        return sm_error_set(&call->err,
                            "--instance must be a SageMaker "
                            "instance type like %s, not '%s'",
                            DEFAULT_INSTANCE, p->instance);
    if (sm_call_count_flag(call, "count", 1, 100, &p->count))
        return -1;
    const char *t = sm_args_get(a, "ttl");
    *ttl = 0;
    if (t && parse_duration(call, t, ttl))
        return -1;
    const char *name = sm_args_get(a, "name");
    if (name && *name) {
        if (sm_sagemaker_check_name(SM_SAGEMAKER_ENDPOINT, name, &call->err))
            return -1;
        snprintf(p->endpoint, sizeof p->endpoint, "%s", name);
    }
    return 0;
}

int sm_magic_deploy(sm_call *call)
{
    plan p = {.count = 1};
    double ttl = 0;
    if (deploy_flags(call, &p, &ttl))
        return -1;
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return -1;
    source src = {0};
    int rc = resolve_source(call, aws, call->args.positional[0], &src);
    if (rc)
        goto out;
    if (!p.endpoint[0])
        sm_call_default_name(src.base, p.endpoint, sizeof p.endpoint);
    plan_make(&p, &src);
    if (sm_args_get(&call->args, "dry-run")) {
        rc = dry_run(call, &p, &src);
        goto out;
    }
    if ((rc = create_all(call, aws, &p, &src, ttl)) != 0)
        goto out;
    double expires_at = ttl > 0 ? epoch_now() + ttl : 0;
    if (sm_tracker_add(sm_magics_tracker(call->m), p.endpoint, p.endpoint,
                       src.existing_model ? "" : p.endpoint,
                       sm_magics_config(call->m), expires_at) != 0) {
        expires_at = 0;
        char line[512];
        snprintf(line, sizeof line,
                 "this kernel could not track endpoint %s or start its "
                 "timer (out of memory or threads): delete it with %%delete "
                 "%s when done\n",
                 p.endpoint, p.endpoint);
        sm_out_stream(call->out, "stderr", line);
    } else if (ttl > 0) {
        say_ttl(call, p.endpoint, ttl);
    }
    if (sm_call_waits(call)) {
        rc = watch_endpoint(call, aws, &p, expires_at);
    } else {
        char line[400];
        snprintf(line, sizeof line,
                 "creating endpoint %s (%%endpoints shows "
                 "it; %%delete %s removes it)\n",
                 p.endpoint, p.endpoint);
        sm_out_stream(call->out, "stdout", line);
    }
    if (!rc)
        call->result = json_string(p.endpoint);
out:
    source_clear(&src);
    return rc ? -1 : 0;
}

/* ---- %predict ------------------------------------------------------------ */

static const struct {
    const char *alias, *media;
} media_aliases[] = {{"csv", "text/csv"},
                     {"libsvm", "text/libsvm"},
                     {"json", "application/json"},
                     {"jsonlines", "application/jsonlines"},
                     {"parquet", "application/x-parquet"}};

/* A media type from a flag: an alias, or TYPE/SUBTYPE as given. */
static int media_flag(sm_call *call, const char *flag, const char *fallback,
                      const char **out)
{
    const char *v = sm_args_get(&call->args, flag);
    *out = fallback;
    if (!v)
        return 0;
    for (size_t i = 0; i < sizeof media_aliases / sizeof *media_aliases; i++)
        if (strcasecmp(v, media_aliases[i].alias) == 0) {
            *out = media_aliases[i].media;
            return 0;
        }
    if (!strchr(v, '/') || strpbrk(v, "\r\n"))
        return sm_error_set(&call->err,
                            "--%s needs csv, libsvm, json, "
                            "jsonlines, parquet or a media type "
                            "like text/csv, not '%s'",
                            flag, v);
    *out = v;
    return 0;
}

/* The request body: the words of ROW (CSV cells rejoined without the
 * spaces after commas), the file, or the cell body's non-blank lines. */
/* --rows N keeps the first N lines; --label-first takes each CSV line's
 * first field off (into `labels`), as SageMaker's training files carry
 * the true value there. */
static int rows_and_labels(sm_call *call, int csv, sm_buf *body,
                           json_t *labels)
{
    long keep = 0;
    int label = sm_args_get(&call->args, "label-first") != NULL;
    if (sm_call_count_flag(call, "rows", 0, 1000000, &keep))
        return -1;
    if (label && !csv)
        return sm_error_set(&call->err, "--label-first takes CSV rows");
    if (!keep && !label)
        return 0;
    sm_buf out = {0};
    sm_buf_puts(&out, "");
    long n = 0;
    for (const char *p = sm_buf_str(body); *p && (!keep || n < keep);) {
        size_t len = strcspn(p, "\n");
        const char *row = p;
        p += len + (p[len] ? 1 : 0);
        if (strspn(row, " \t\r") >= len)
            continue;
        n++;
        size_t cut = 0;
        if (label) {
            cut = strcspn(row, ",");
            if (cut >= len) {
                sm_buf_free(&out);
                return sm_error_set(&call->err, "--label-first: row %ld has "
                                                "no field after its label", n);
            }
            json_array_append_new(labels, json_stringn(row, cut));
            cut++;
        }
        sm_buf_append(&out, row + cut, len - cut);
        sm_buf_putc(&out, '\n');
    }
    sm_buf_free(body);
    *body = out;
    return 0;
}

static int predict_body(sm_call *call, const char *content_type, sm_buf *body,
                        json_t *labels)
{
    const sm_args *a = &call->args;
    const char *file = sm_args_get(a, "file");
    int csv = strcmp(content_type, "text/csv") == 0;
    size_t words = a->n_positional - 1;
    if ((file != NULL) + (words > 0) + (call->body != NULL) != 1)
        return sm_error_set(&call->err, "%%predict takes one of: a ROW after "
                                        "the endpoint, --file PATH, or rows in "
                                        "the %%%%predict body");
    if (file) {
        FILE *f = fopen(file, "rb");
        if (!f)
            return sm_error_set(&call->err, "cannot read %s: %s", file,
                                strerror(errno));
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 &&
               body->len <= SM_RUNTIME_MAX_BODY)
            sm_buf_append(body, chunk, n);
        fclose(f);
    } else if (words) {
        for (size_t i = 1; i < a->n_positional; i++) {
            const char *w = a->positional[i];
            int glue = csv && body->len &&
                       (body->data[body->len - 1] == ',' || w[0] == ',');
            if (i > 1 && !glue)
                sm_buf_putc(body, ' ');
            sm_buf_puts(body, w);
        }
        sm_buf_putc(body, '\n');
    } else {
        for (const char *p = call->body; *p;) {
            size_t n = strcspn(p, "\n");
            size_t skip = strspn(p, " \t\r");
            if (skip < n) {
                sm_buf_append(body, p, n);
                sm_buf_putc(body, '\n');
            }
            p += n + (p[n] ? 1 : 0);
        }
    }
    if (rows_and_labels(call, csv, body, labels))
        return -1;
    if (body->len == 0)
        return sm_error_set(&call->err, "no rows to send: %s is empty",
                            file ? file : "the %%predict body");
    if (body->len > SM_RUNTIME_MAX_BODY)
        return sm_error_set(&call->err, "the rows are over InvokeEndpoint's "
                                        "6 MiB limit; use %%transform for "
                                        "large data");
    return 0;
}

/* One CSV cell as a number when it is one, else a string. */
static json_t *csv_cell(const char *s, size_t n)
{
    char text[128];
    if (n < sizeof text) {
        snprintf(text, sizeof text, "%.*s", (int)n, s);
        char *end;
        double v = strtod(text, &end);
        if (end != text && !*end && isfinite(v))
            return json_real(v);
    }
    return json_stringn(s, n);
}

/* One CSV line: a number or string for one cell, a list for several;
 * NULL when a cell is not UTF-8. */
static json_t *csv_row(const char *line, size_t len)
{
    json_t *row = json_array();
    for (const char *c = line; row && c <= line + len;) {
        const char *comma = memchr(c, ',', (size_t)(line + len - c));
        size_t k = comma ? (size_t)(comma - c) : (size_t)(line + len - c);
        if (json_array_append_new(row, csv_cell(c, k))) {
            json_decref(row);
            return NULL;
        }
        c += k + 1;
    }
    if (json_array_size(row) == 1) {
        json_t *one = json_incref(json_array_get(row, 0));
        json_decref(row);
        row = one;
    }
    return row;
}

/* The answer as a value: JSON as it is, JSON lines as a list, CSV as a
 * list with one entry per line (see csv_row). NULL when the answer is not
 * text of its type. */
static json_t *predictions_value(const sm_runtime_result *r)
{
    const char *type = r->content_type;
    if (strncmp(type, "application/json", 16) == 0 && type[16] != 'l')
        return json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL);
    int lines = strncmp(type, "application/jsonlines", 21) == 0;
    json_t *rows = json_array();
    for (const char *p = r->body; rows && p < r->body + r->body_len;) {
        const char *nl = memchr(p, '\n', (size_t)(r->body + r->body_len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(r->body + r->body_len - p);
        size_t len = n && p[n - 1] == '\r' ? n - 1 : n;
        json_t *row = !len    ? NULL
                      : lines ? json_loadb(p, len, JSON_DECODE_ANY, NULL)
                              : csv_row(p, len);
        if (len && json_array_append_new(rows, row)) {
            json_decref(rows);
            return NULL;
        }
        p += n + 1;
    }
    return rows;
}

/* Labels and predictions side by side, as a table. */
static json_t *beside_labels(const json_t *labels, const json_t *predictions)
{
    json_t *headers = json_pack("[s, s]", "label", "prediction");
    json_t *rows = json_array();
    for (size_t i = 0; i < json_array_size(labels); i++) {
        const json_t *p = json_array_get(predictions, i);
        char *text = p ? sm_render_text(p) : NULL;
        json_array_append_new(
            rows, json_pack("[O, s]", json_array_get(labels, i),
                            text ? text : ""));
        free(text);
    }
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    return bundle;
}

/* The answer's text as it came; with labels that do not pair up with its
 * predictions (a JSON object, a line short), a first line saying so. */
static json_t *answer_as_sent(const sm_runtime_result *r, size_t rows,
                              const json_t *predictions)
{
    sm_buf b = {0};
    size_t count = json_array_size(predictions);
    if (rows && json_is_array(predictions))
        sm_buf_printf(&b,
                      "the endpoint answered %zu prediction%s for %zu "
                      "rows, so they are not shown beside the labels:\n",
                      count, count == 1 ? "" : "s", rows);
    else if (rows)
        sm_buf_printf(&b,
                      "the endpoint's answer is not one prediction a "
                      "row, so it is not shown beside the %zu labels:\n",
                      rows);
    size_t n = r->body_len && r->body[r->body_len - 1] == '\n'
                   ? r->body_len - 1
                   : r->body_len;
    sm_buf_append(&b, r->body, n);
    char *text = sm_buf_take(&b);
    json_t *shown = json_pack("{s:s}", "text/plain", text ? text : "");
    free(text);
    return shown;
}

int sm_magic_predict(sm_call *call)
{
    const char *endpoint = call->args.positional[0];
    const char *content_type, *accept;
    if (media_flag(call, "content-type", "text/csv", &content_type) ||
        media_flag(call, "accept", NULL, &accept))
        return -1;
    sm_buf body = {0};
    json_t *labels = json_array();
    int rc = predict_body(call, content_type, &body, labels);
    sm_aws *aws = rc ? NULL : sm_call_aws(call);
    if (!aws) {
        sm_buf_free(&body);
        json_decref(labels);
        return -1;
    }
    sm_runtime_request req = {.endpoint_name = endpoint,
                              .body = body.data,
                              .body_len = body.len,
                              .content_type = content_type,
                              .accept = accept};
    sm_runtime_result res = {0};
    sm_aws_error err = {.http_status = 0};
    if (sm_runtime_invoke_endpoint(aws, &req, &res, &err)) {
        rc = sm_call_fail_aws(call, &err);
    } else if (!(call->result = predictions_value(&res))) {
        call->ename = "ClientError";
        rc = sm_error_set(&call->err,
                          "endpoint %s answered %zu bytes of %s "
                          "that cannot be read as predictions",
                          endpoint, res.body_len,
                          res.content_type[0] ? res.content_type
                                              : "no content type");
    } else if (json_array_size(labels) &&
               json_array_size(call->result) == json_array_size(labels)) {
        call->shown = beside_labels(labels, call->result);
    } else {
        call->shown =
            answer_as_sent(&res, json_array_size(labels), call->result);
    }
    sm_runtime_result_clear(&res);
    sm_buf_free(&body);
    json_decref(labels);
    return rc ? -1 : 0;
}

/* ---- %endpoints ---------------------------------------------------------- */

typedef struct endpoint_row {
    char instance[128];
    int count;
    double price; /* per hour, all instances; < 0 unknown */
} endpoint_row;

/* Instance type and count of an endpoint, from its config. Quiet on
 * failure (a row then says "?"). */
static void endpoint_instances(sm_aws *aws, const char *name, endpoint_row *row)
{
    snprintf(row->instance, sizeof row->instance, "?");
    row->count = 0;
    row->price = -1;
    sm_sagemaker_endpoint ep;
    memset(&ep, 0, sizeof ep);
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_describe_endpoint(aws, name, &ep, &err))
        return;
    sm_sagemaker_endpoint_config c;
    memset(&c, 0, sizeof c);
    if (ep.config_name[0] &&
        sm_sagemaker_describe_endpoint_config(aws, ep.config_name, &c, &err) ==
            0 &&
        c.variant_count) {
        const sm_sagemaker_variant_info *v = &c.variants[0];
        int count = ep.variant_count && ep.variants[0].instance_count
                        ? ep.variants[0].instance_count
                        : v->instance_count;
        if (v->serverless_memory_mb) {
            snprintf(row->instance, sizeof row->instance, "serverless %d MB",
                     v->serverless_memory_mb);
        } else {
            snprintf(row->instance, sizeof row->instance, "%s",
                     v->instance_type);
            row->count = count ? count : 1;
            double p = sm_price_per_hour(v->instance_type);
            row->price = p < 0 ? -1 : p * row->count;
        }
        sm_sagemaker_endpoint_config_clear(&c);
    }
    sm_sagemaker_endpoint_clear(&ep);
}

static void cost_text(double price, double hours, int local, char *out,
                      size_t size)
{
    if (price < 0)
        snprintf(out, size, "unknown");
    else if (local)
        snprintf(out, size, "$0 (AWS: $%.2f)", price * hours);
    else
        snprintf(out, size, "$%.2f", price * hours);
}

/* One endpoint as a table row and as an object of the value. */
static void add_endpoint(sm_call *call, sm_aws *aws,
                         const sm_sagemaker_state *s, json_t *rows,
                         json_t *value)
{
    int local = is_local(call);
    endpoint_row row;
    endpoint_instances(aws, s->name, &row);
    double up =
        s->creation_time > 0 ? fmax(0, epoch_now() - s->creation_time) : 0;
    char created[32], uptime[32], cost[64], instance[160];
    sm_render_time(s->creation_time, created, sizeof created);
    sm_render_duration(up, uptime, sizeof uptime);
    cost_text(row.price, up / 3600, local, cost, sizeof cost);
    snprintf(instance, sizeof instance, row.count ? "%s x %d" : "%s",
             row.instance, row.count);
    int mine = sm_tracker_knows(sm_magics_tracker(call->m), s->name);
    json_array_append_new(rows, json_pack("[s, s, s, s, s, s, s]", s->name,
                                          s->status, instance, created, uptime,
                                          cost, mine ? "yes" : ""));
    json_array_append_new(
        value,
        json_pack("{s:s, s:s, s:s, s:i, s:s, s:f, s:o, s:b}", "name", s->name,
                  "status", s->status, "instance_type", row.instance,
                  "instance_count", row.count, "created", created,
                  "uptime_seconds", up, "estimated_cost_usd",
                  row.price < 0 || local ? json_null()
                                         : json_real(row.price * up / 3600),
                  "this_kernel", mine));
}

int sm_magic_endpoints(sm_call *call)
{
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return -1;
    sm_sagemaker_list_options o = {.sort_by = "CreationTime",
                                   .sort_order = "Descending",
                                   .page_size = 100,
                                   .max_items = MAX_LISTED};
    sm_sagemaker_listing l = {0};
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_list(aws, SM_SAGEMAKER_ENDPOINT, &o, &l, &err)) {
        sm_sagemaker_listing_clear(&l);
        return sm_call_fail_aws(call, &err);
    }
    json_t *headers =
        json_pack("[s, s, s, s, s, s, s]", "endpoint", "status", "instance",
                  "created", "uptime", "est. cost", "this kernel");
    json_t *rows = json_array(), *value = json_array();
    for (size_t i = 0; i < l.count; i++) {
        if (sm_out_interrupted(call->out)) {
            call->ename = "KeyboardInterrupt";
            sm_error_set(&call->err,
                         "interrupted: %%endpoints stopped after "
                         "%zu of %zu endpoints",
                         i, l.count);
            break;
        }
        add_endpoint(call, aws, &l.items[i], rows, value);
    }
    int truncated = l.truncated, local = is_local(call);
    sm_sagemaker_listing_clear(&l);
    if (call->err.message[0]) {
        json_decref(value);
        value = NULL;
    } else if (json_array_size(rows) == 0) {
        call->shown = json_pack("{s:s}", "text/plain", "no endpoints");
    } else {
        char note[400];
        snprintf(note, sizeof note,
                 "%scost estimated from creation time at %s on-demand prices "
                 "of %s%s\n",
                 truncated ? "the newest 100 endpoints; " : "",
                 SM_PRICES_REGION, SM_PRICES_DATE,
                 local ? " (the local service costs nothing)" : "");
        sm_out_stream(call->out, "stdout", note);
        call->shown = sm_render_table(headers, rows);
    }
    json_decref(headers);
    json_decref(rows);
    call->result = value;
    return value ? 0 : -1;
}

/* ---- %delete and %cleanup ------------------------------------------------ */

/* Ask before deleting unless -f: 0 to go on, 1 when the answer was no,
 * -1 with the call's error when no answer can be had. */
static int keep_waiting(void *call)
{
    return !sm_call_interrupted(call);
}

static int confirm(sm_call *call, const char *question, const char *redo)
{
    if (sm_args_get(&call->args, "force"))
        return 0;
    char *answer = NULL;
    sm_error why = {0};
    if (sm_out_input(call->out, question, false, &answer, &why) &&
        sm_out_interrupted(call->out)) {
        call->ename = "KeyboardInterrupt";
        return sm_error_set(&call->err, "interrupted: nothing was deleted");
    }
    if (!answer)
        return sm_error_set(&call->err,
                            "%s asks before deleting and cannot "
                            "ask here (%s); add -f to delete "
                            "without asking: %s -f",
                            redo, why.message, redo);
    const char *a = answer + strspn(answer, " \t");
    int yes = strcasecmp(a, "y") == 0 || strcasecmp(a, "yes") == 0;
    free(answer);
    if (!yes)
        sm_out_stream(call->out, "stdout", "nothing was deleted\n");
    return yes ? 0 : 1;
}

/* Wait (unless %config wait=false) until `endpoint` is gone: DeleteEndpoint
 * answers at once, and the endpoint shows as Deleting until it is. An
 * interrupt stops the waiting, not the deletion. 0, or -1 with the call's
 * error. */
static int wait_gone(sm_call *call, sm_aws *aws, const char *endpoint)
{
    if (!sm_call_waits(call))
        return 0;
    sm_sagemaker_wait_options o = {.poll_seconds =
                                       (double)sm_call_poll_ms(call) / 1000.0,
                                   .max_seconds = 900,
                                   .keep_waiting = keep_waiting,
                                   .ctx = call};
    sm_aws_error err = {.http_status = 0};
    sm_sagemaker_wait_result r = sm_sagemaker_wait(
        aws, SM_SAGEMAKER_WAIT_ENDPOINT_DELETED, endpoint, &o, NULL, &err);
    if (r == SM_SAGEMAKER_WAIT_SUCCESS) {
        char line[200];
        snprintf(line, sizeof line, "endpoint %s is gone\n", endpoint);
        sm_out_stream(call->out, "stdout", line);
        return 0;
    }
    if (r == SM_SAGEMAKER_WAIT_INTERRUPTED) {
        call->ename = "KeyboardInterrupt";
        return sm_error_set(&call->err,
                            "interrupted: stopped waiting, but endpoint %s "
                            "is still being deleted",
                            endpoint);
    }
    return sm_call_fail_aws(call, &err);
}

int sm_magic_delete(sm_call *call)
{
    const char *name = call->args.positional[0];
    sm_error check = {0};
    if (sm_sagemaker_check_name(SM_SAGEMAKER_ENDPOINT, name, &check))
        return sm_error_set(&call->err, "'%s' is not an endpoint name", name);
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return -1;
    sm_endpoint_parts parts;
    sm_aws_error err = {.http_status = 0};
    if (sm_endpoint_parts_find(aws, name, NULL, NULL, &parts, &err))
        return sm_call_fail_aws(call, &err);
    int rc = 0;
    sm_buf question = {0}, done = {0};
    if (!parts.exists) {
        call->ename = "ClientError";
        rc = sm_error_set(&call->err,
                          "no endpoint named %s (%%endpoints "
                          "lists them)",
                          name);
        goto out;
    }
    sm_buf_puts(&question, "Delete ");
    sm_endpoint_parts_describe(&parts, &question);
    sm_buf_puts(&question, "? [y/N] ");
    char redo[200];
    snprintf(redo, sizeof redo, "%%delete %s", name);
    if ((rc = confirm(call, sm_buf_str(&question), redo)) != 0)
        goto out;
    json_t *gone = json_array();
    rc = sm_endpoint_parts_delete(aws, &parts, &done, gone, &err);
    sm_journal_deleted(call, gone, "%delete");
    json_decref(gone);
    if (rc) {
        rc = sm_call_fail_aws(call, &err);
        goto out;
    }
    sm_tracker_forget(sm_magics_tracker(call->m), name);
    sm_buf line = {0};
    sm_buf_printf(&line, "deleting %s\n", sm_buf_str(&done));
    sm_out_stream(call->out, "stdout", sm_buf_str(&line));
    sm_buf_free(&line);
    rc = wait_gone(call, aws, name);
    if (!rc)
        call->result = json_string(name);
out:
    sm_buf_free(&question);
    sm_buf_free(&done);
    sm_endpoint_parts_clear(&parts);
    return rc < 0 ? -1 : 0;
}

int sm_magic_cleanup(sm_call *call)
{
    sm_tracker *tracker = sm_magics_tracker(call->m);
    json_t *list = sm_tracker_list(tracker);
    size_t n = json_array_size(list);
    if (n == 0) {
        json_decref(list);
        sm_out_stream(call->out, "stdout",
                      "this kernel has no endpoints to "
                      "clean up\n");
        call->result = json_array();
        return 0;
    }
    sm_buf names = {0};
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
        sm_buf_printf(&names, "%s%s", i ? ", " : "",
                      json_string_value(json_object_get(t, "endpoint")));
    sm_buf question = {0};
    sm_buf_printf(&question,
                  "Delete %zu endpoint%s created by this kernel "
                  "(%s) with their configs and models? [y/N] ",
                  n, n == 1 ? "" : "s", sm_buf_str(&names));
    sm_aws *aws = sm_call_aws(call);
    int rc = aws ? confirm(call, sm_buf_str(&question), "%cleanup") : -1;
    sm_buf_free(&question);
    sm_buf_free(&names);
    json_t *deleted = json_array(), *gone = json_array();
    json_array_foreach(list, i, t)
    {
        if (rc)
            break;
        const char *ep = json_string_value(json_object_get(t, "endpoint"));
        sm_buf done = {0};
        sm_aws_error err = {.http_status = 0};
        if (sm_endpoint_delete_all(
                aws, ep, json_string_value(json_object_get(t, "config")),
                json_string_value(json_object_get(t, "model")), &done, gone,
                &err) < 0) {
            rc = sm_call_fail_aws(call, &err);
        } else {
            sm_tracker_forget(tracker, ep);
            json_array_append_new(deleted, json_string(ep));
            sm_buf line = {0};
            sm_buf_printf(&line, "deleting %s\n",
                          done.len ? sm_buf_str(&done) : ep);
            sm_out_stream(call->out, "stdout", sm_buf_str(&line));
            sm_buf_free(&line);
        }
        sm_buf_free(&done);
    }
    sm_journal_deleted(call, gone, "%cleanup");
    json_decref(gone);
    json_decref(list);
    json_array_foreach(deleted, i, t)
    {
        if (!rc)
            rc = wait_gone(call, aws, json_string_value(t));
    }
    if (rc) {
        json_decref(deleted);
        return rc < 0 ? -1 : 0;
    }
    call->result = deleted;
    return 0;
}
