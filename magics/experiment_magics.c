/* experiment_magics: %experiments (the journal's runs as a table, filtered
 * and sorted), %compare (runs side by side, their curves overlaid),
 * %reproduce (a training run again, once its inputs are checked unchanged)
 * and %export (chosen runs as JSON and Markdown). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aws_magics.h"
#include "buf.h"
#include "journal.h"
#include "render.h"
#include "s3.h"
#include "sagemaker_hosting.h"
#include "sagemaker_training.h"
#include "sagemaker_transform.h"

#define MAX_CONDITIONS 16
#define MAX_HP_COLUMNS 6

/* ---- the runs ------------------------------------------------------------ */

static const char *field(const json_t *run, const char *key)
{
    const char *s = json_string_value(json_object_get(run, key));
    return s ? s : "";
}

/* A run this kernel stopped watching before it ended (--no-wait, an
 * interrupt, a killed kernel): its end recorded now if it has ended. Each
 * returns 1 when it recorded one; quiet when the service cannot say. */
static int refresh_training(sm_call *call, sm_aws *aws, const char *name)
{
    sm_sagemaker_training_job job;
    memset(&job, 0, sizeof job);
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_describe_training_job(aws, name, &job, &err))
        return 0;
    int ended = sm_sagemaker_status_is_terminal(SM_SAGEMAKER_TRAINING_JOB,
                                                job.state.status);
    if (ended) {
        json_t *curves = json_object();
        json_decref(sm_journal_training_finished(call, &job, curves));
        json_decref(curves);
    }
    sm_sagemaker_training_job_clear(&job);
    return ended;
}

static int refresh_transform(sm_call *call, sm_aws *aws, const char *name)
{
    sm_sagemaker_transform_job job;
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_describe_transform_job(aws, name, &job, &err))
        return 0;
    int ended = sm_sagemaker_status_is_terminal(SM_SAGEMAKER_TRANSFORM_JOB,
                                                job.state.status);
    if (ended)
        json_decref(sm_journal_transform_finished(call, aws, &job));
    sm_sagemaker_transform_job_clear(&job);
    return ended;
}

static int refresh_tuning(sm_call *call, sm_aws *aws, const char *name)
{
    sm_sagemaker_tuning_job job;
    memset(&job, 0, sizeof job);
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_describe_tuning_job(aws, name, &job, &err))
        return 0;
    int ended = sm_sagemaker_status_is_terminal(SM_SAGEMAKER_TUNING_JOB,
                                                job.state.status);
    if (ended) {
        sm_sagemaker_list_options order = {.sort_by = "CreationTime",
                                           .sort_order = "Ascending"};
        sm_sagemaker_trials trials = {0};
        int listed =
            sm_sagemaker_list_trials(aws, name, &order, &trials, &err) == 0;
        json_decref(
            sm_journal_tuning_finished(call, &job, listed ? &trials : NULL));
        sm_sagemaker_trials_clear(&trials);
    }
    sm_sagemaker_tuning_job_clear(&job);
    return ended;
}

/* An endpoint's end of creation: in service, or failed. */
static int refresh_endpoint(sm_call *call, sm_aws *aws, const char *name)
{
    sm_sagemaker_endpoint ep;
    memset(&ep, 0, sizeof ep);
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_describe_endpoint(aws, name, &ep, &err))
        return 0;
    int settled =
        strcmp(ep.state.status, "InService") == 0 ||
        sm_sagemaker_status_is_terminal(SM_SAGEMAKER_ENDPOINT, ep.state.status);
    if (settled)
        json_decref(sm_journal_endpoint_finished(call, &ep));
    sm_sagemaker_endpoint_clear(&ep);
    return settled;
}

static const struct refresher {
    const char *kind;
    int (*refresh)(sm_call *call, sm_aws *aws, const char *name);
} refreshers[] = {{SM_JOURNAL_TRAINING, refresh_training},
                  {SM_JOURNAL_TRANSFORM, refresh_transform},
                  {SM_JOURNAL_TUNING, refresh_tuning},
                  {SM_JOURNAL_ENDPOINT, refresh_endpoint}};

static const struct refresher *refresher_of(const char *kind)
{
    for (size_t i = 0; i < sizeof refreshers / sizeof *refreshers; i++)
        if (strcmp(kind, refreshers[i].kind) == 0)
            return &refreshers[i];
    return NULL;
}

/* Record the ends of the runs on the current backend that were still in
 * progress when last recorded. Returns how many it recorded. */
static int refresh_runs(sm_call *call, const json_t *runs)
{
    const char *backend = sm_config_get(sm_magics_config(call->m), "backend");
    sm_aws *aws = NULL;
    int recorded = 0;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        const struct refresher *r = refresher_of(field(run, "kind"));
        if (!r || strcmp(field(run, "status"), "InProgress") ||
            strcmp(field(run, "backend"), backend))
            continue;
        if (!aws && !(aws = sm_call_aws(call))) {
            sm_error_clear(&call->err); /* no service: nothing to learn */
            return recorded;
        }
        recorded += r->refresh(call, aws, field(run, "name"));
    }
    return recorded;
}

static json_t *read_runs(sm_call *call, const char *path)
{
    json_t *records = sm_journal_load(path, NULL, &call->err);
    if (!records)
        return NULL;
    json_t *runs = sm_journal_runs(records);
    json_decref(records);
    return runs;
}

/* The runs of the journal (new array), those that ended unwatched brought
 * up to date; or NULL with the call's error. */
static json_t *load_runs(sm_call *call)
{
    char path[PATH_MAX];
    if (sm_journal_path(sm_magics_config(call->m), path, sizeof path)) {
        sm_error_set(&call->err, "the experiment journal is off; turn it on "
                                 "with %%config journal="
                                 "sagemagic-journal.jsonl");
        return NULL;
    }
    json_t *runs = read_runs(call, path);
    if (runs && refresh_runs(call, runs)) {
        json_decref(runs);
        runs = read_runs(call, path);
    }
    return runs;
}

static const json_t *find_run(sm_call *call, const json_t *runs,
                              const char *name)
{
    const json_t *run = sm_journal_find(runs, name);
    if (!run) {
        call->ename = "LookupError";
        sm_error_set(&call->err,
                     "no run named %s in the experiment journal "
                     "(%%experiments lists them)",
                     name);
    }
    return run;
}

/* The value `key` names in a run: one of its own fields, a final metric,
 * or a hyperparameter (borrowed), or NULL. */
static const json_t *run_value(const json_t *run, const char *key)
{
    const json_t *v = json_object_get(run, key);
    if (json_is_string(v) || json_is_number(v))
        return v;
    v = json_object_get(json_object_get(run, "metrics"), key);
    if (v)
        return v;
    return json_object_get(json_object_get(run, "hyperparameters"), key);
}

/* A value as text into out[size]: numbers as %.6g. */
static void value_text(const json_t *v, char *out, size_t size)
{
    if (json_is_string(v))
        snprintf(out, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v))
        snprintf(out, size, "%.6g", json_number_value(v));
    else
        snprintf(out, size, "%s", "");
}

/* Text as a number: 0 with *out, or -1 when it is not one. */
static int text_number(const char *s, double *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    *out = strtod(s, &end);
    return *end || !isfinite(*out) ? -1 : 0;
}

/* A value as a number: 0 with *out, or -1 when it is not one. */
static int value_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    return text_number(json_string_value(v), out);
}

/* ---- --where ------------------------------------------------------------- */

typedef struct condition {
    char key[128], op[3], value[256];
} condition;

static int parse_condition(sm_call *call, const char *text, condition *c)
{
    static const char *const ops[] = {
        "<=", ">=", "!=", "==", "=", "<", ">", "~"};
    const char *at = NULL, *op = NULL;
    for (const char *p = text; *p && !at; p++)
        for (size_t i = 0; i < sizeof ops / sizeof *ops && !at; i++)
            if (strncmp(p, ops[i], strlen(ops[i])) == 0)
                at = p, op = ops[i];
    if (!at)
        return sm_error_set(&call->err,
                            "--where needs KEY OP VALUE with OP "
                            "one of = != < <= > >= ~, not '%s'",
                            text);
    const char *v = at + strlen(op);
    size_t klen = (size_t)(at - text);
    while (klen && text[klen - 1] == ' ')
        klen--;
    v += strspn(v, " ");
    size_t vlen = strlen(v);
    while (vlen && v[vlen - 1] == ' ')
        vlen--;
    if (!klen || klen >= sizeof c->key || vlen >= sizeof c->value)
        return sm_error_set(&call->err, "--where needs KEY OP VALUE, not '%s'",
                            text);
    snprintf(c->key, sizeof c->key, "%.*s", (int)klen, text);
    snprintf(c->op, sizeof c->op, "%s", strcmp(op, "==") ? op : "=");
    snprintf(c->value, sizeof c->value, "%.*s", (int)vlen, v);
    return 0;
}

/* The conditions of --where, separated by commas or " and ". */
static int parse_where(sm_call *call, condition *out, size_t *n)
{
    *n = 0;
    const char *where = sm_args_get(&call->args, "where");
    if (!where)
        return 0;
    char *copy = strdup(where);
    for (char *p; (p = strstr(copy, " and "));)
        memcpy(p, "  , ", 4), p[4] = ' ';
    int rc = 0;
    char *save = NULL;
    for (char *part = strtok_r(copy, ",", &save); !rc && part;
         part = strtok_r(NULL, ",", &save)) {
        part += strspn(part, " ");
        if (!*part)
            continue;
        if (*n == MAX_CONDITIONS)
            rc = sm_error_set(&call->err,
                              "--where takes at most %d "
                              "conditions",
                              MAX_CONDITIONS);
        else
            rc = parse_condition(call, part, &out[(*n)++]);
    }
    free(copy);
    return rc;
}

static int holds(const json_t *run, const condition *c)
{
    const json_t *v = run_value(run, c->key);
    if (!v)
        return strcmp(c->op, "!=") == 0;
    char text[512];
    value_text(v, text, sizeof text);
    if (strcmp(c->op, "~") == 0)
        return strstr(text, c->value) != NULL;
    double a, b;
    int cmp;
    if (value_number(v, &a) == 0 && text_number(c->value, &b) == 0)
        cmp = (a > b) - (a < b);
    else
        cmp = strcmp(text, c->value);
    if (!strcmp(c->op, "="))
        return cmp == 0;
    if (!strcmp(c->op, "!="))
        return cmp != 0;
    if (!strcmp(c->op, "<"))
        return cmp < 0;
    if (!strcmp(c->op, "<="))
        return cmp <= 0;
    if (!strcmp(c->op, ">"))
        return cmp > 0;
    return cmp >= 0;
}

/* The runs `--where` keeps (new array), or NULL with the call's error. */
static json_t *select_runs(sm_call *call, const json_t *runs)
{
    condition conds[MAX_CONDITIONS];
    size_t n;
    if (parse_where(call, conds, &n))
        return NULL;
    json_t *kept = json_array();
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        int ok = 1;
        for (size_t c = 0; ok && c < n; c++)
            ok = holds(run, &conds[c]);
        if (ok)
            json_array_append(kept, run);
    }
    return kept;
}

/* ---- --sort -------------------------------------------------------------- */

typedef struct sort_spec {
    char key[256];
    int descending;
} sort_spec;

typedef struct sort_item {
    json_t *run;  /* borrowed */
    size_t order; /* in the journal: qsort is not stable */
} sort_item;

/* Numbers as numbers, else as text; 0 when equal. */
static int compare_values(const json_t *va, const json_t *vb)
{
    double x, y;
    if (value_number(va, &x) == 0 && value_number(vb, &y) == 0)
        return (x > y) - (x < y);
    char tx[512], ty[512];
    value_text(va, tx, sizeof tx);
    value_text(vb, ty, sizeof ty);
    return strcmp(tx, ty);
}

/* Runs without the key go last, whichever the direction; ties keep the
 * journal's order. */
static int by_key(const void *pa, const void *pb, void *ctx)
{
    const sort_item *a = pa, *b = pb;
    const sort_spec *spec = ctx;
    const json_t *va = run_value(a->run, spec->key);
    const json_t *vb = run_value(b->run, spec->key);
    int cmp = (va == NULL) - (vb == NULL);
    if (!cmp && va)
        cmp =
            spec->descending ? -compare_values(va, vb) : compare_values(va, vb);
    return cmp ? cmp : (a->order > b->order) - (a->order < b->order);
}

/* --sort KEY, KEY:asc, KEY:desc (or -KEY): largest first with desc. */
static void sort_runs(json_t *runs, const char *text)
{
    sort_spec spec = {.descending = text[0] == '-'};
    text += text[0] == '-' || text[0] == '+';
    size_t len = strlen(text);
    if (len > 5 && strcmp(text + len - 5, ":desc") == 0)
        spec.descending = 1, len -= 5;
    else if (len > 4 && strcmp(text + len - 4, ":asc") == 0)
        len -= 4;
    snprintf(spec.key, sizeof spec.key, "%.*s", (int)len, text);
    size_t n = json_array_size(runs);
    sort_item *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        items[i] = (sort_item){json_incref(json_array_get(runs, i)), i};
    qsort_r(items, n, sizeof *items, by_key, &spec);
    json_array_clear(runs);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(runs, items[i].run);
    free(items);
}

/* ---- %experiments -------------------------------------------------------- */

/* Keys of member `member` of every run, in first-seen order (new). */
static json_t *union_keys(const json_t *runs, const char *member)
{
    json_t *keys = json_array(), *seen = json_object();
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(run, member), key, v)
        {
            if (!json_object_get(seen, key)) {
                json_object_set_new(seen, key, json_true());
                json_array_append_new(keys, json_string(key));
            }
        }
    }
    json_decref(seen);
    return keys;
}

/* The hyperparameters whose values are not the same in every run. */
static json_t *varying_hyperparameters(const json_t *runs)
{
    json_t *all = union_keys(runs, "hyperparameters"), *varying = json_array();
    size_t i;
    json_t *key;
    json_array_foreach(all, i, key)
    {
        const json_t *first = NULL;
        int differs = 0;
        size_t r;
        json_t *run;
        json_array_foreach(runs, r, run)
        {
            const json_t *v =
                json_object_get(json_object_get(run, "hyperparameters"),
                                json_string_value(key));
            if (r == 0)
                first = v;
            else if (!(v && first && json_equal(v, first)) && (v || first))
                differs = 1;
        }
        if (differs && json_array_size(varying) < MAX_HP_COLUMNS)
            json_array_append(varying, key);
    }
    json_decref(all);
    return varying;
}

static double run_seconds(const json_t *run)
{
    const json_t *t = json_object_get(run, "timings");
    double a = json_number_value(json_object_get(t, "created"));
    double b = json_number_value(json_object_get(t, "ended"));
    if (!(a > 0 && b > 0)) {
        a = json_number_value(json_object_get(run, "created"));
        b = json_number_value(json_object_get(run, "finished"));
    }
    return a > 0 && b >= a ? b - a : -1;
}

static json_t *experiment_row(const json_t *run, const json_t *metrics,
                              const json_t *hps)
{
    char created[32], took[32] = "", text[512];
    sm_render_time(json_number_value(json_object_get(run, "created")), created,
                   sizeof created);
    if (run_seconds(run) >= 0)
        sm_render_duration(run_seconds(run), took, sizeof took);
    json_t *row =
        json_pack("[s, s, s, s, s]", field(run, "name"), field(run, "kind"),
                  field(run, "status"), created, took);
    const json_t *cols[] = {metrics, hps};
    const char *members[] = {"metrics", "hyperparameters"};
    for (size_t c = 0; c < 2; c++) {
        size_t i;
        json_t *key;
        json_array_foreach(cols[c], i, key)
        {
            value_text(json_object_get(json_object_get(run, members[c]),
                                       json_string_value(key)),
                       text, sizeof text);
            json_array_append_new(row, json_string(text));
        }
    }
    return row;
}

static json_t *experiments_table(const json_t *runs)
{
    json_t *metrics = union_keys(runs, "metrics");
    json_t *hps = varying_hyperparameters(runs);
    json_t *headers = json_pack("[s, s, s, s, s]", "name", "kind", "status",
                                "created", "took");
    json_array_extend(headers, metrics);
    json_array_extend(headers, hps);
    json_t *rows = json_array();
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
        json_array_append_new(rows, experiment_row(run, metrics, hps));
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    json_decref(metrics);
    json_decref(hps);
    return bundle;
}

/* What a run's value is for the cell's result: name, kind, status, the
 * final metrics and the hyperparameters. */
static json_t *run_summary(const json_t *run)
{
    json_t *s = json_pack("{s:s, s:s, s:s}", "name", field(run, "name"), "kind",
                          field(run, "kind"), "status", field(run, "status"));
    const char *members[] = {"metrics", "hyperparameters", "artifacts", "best"};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++)
        if (json_object_get(run, members[i]))
            json_object_set(s, members[i], json_object_get(run, members[i]));
    return s;
}

/* The summary of each run (new array). */
static json_t *run_summaries(const json_t *runs)
{
    json_t *out = json_array();
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
        json_array_append_new(out, run_summary(run));
    return out;
}

/* Nonzero when --where says which kinds it wants. */
static int where_names_kind(sm_call *call)
{
    condition conds[MAX_CONDITIONS];
    size_t n;
    sm_error saved = call->err;
    int named = 0;
    if (parse_where(call, conds, &n) == 0)
        for (size_t i = 0; i < n; i++)
            named |= strcmp(conds[i].key, "kind") == 0;
    call->err = saved;
    return named;
}

/* --kind KIND keeps the runs of that kind ("all": every run); without it
 * (or a --where on the kind) the models and endpoint configs, which their
 * endpoint and transform runs name, are left out. */
static void keep_kind(sm_call *call, json_t *runs)
{
    const char *kind = sm_args_get(&call->args, "kind");
    if (kind && strcmp(kind, "all") == 0)
        return;
    int parts_too = !kind && where_names_kind(call);
    for (size_t i = json_array_size(runs); i-- > 0;) {
        const char *k = field(json_array_get(runs, i), "kind");
        int part = strcmp(k, SM_JOURNAL_MODEL) == 0 ||
                   strcmp(k, SM_JOURNAL_ENDPOINT_CONFIG) == 0;
        if (kind ? strcmp(k, kind) != 0 : part && !parts_too)
            json_array_remove(runs, i);
    }
}

int sm_magic_experiments(sm_call *call)
{
    json_t *runs = load_runs(call);
    if (!runs)
        return -1;
    json_t *kept = select_runs(call, runs);
    json_decref(runs);
    if (!kept)
        return -1;
    keep_kind(call, kept);
    const char *sort = sm_args_get(&call->args, "sort");
    if (sort && *sort)
        sort_runs(kept, sort);
    if (json_array_size(kept) == 0) {
        json_decref(kept);
        return sm_out_stream(call->out, "stdout",
                             "no runs in the experiment journal match\n");
    }
    call->shown = experiments_table(kept);
    call->result = run_summaries(kept);
    json_decref(kept);
    return 0;
}

/* ---- %compare ------------------------------------------------------------ */

/* A training job the journal does not hold (a tuning job's trial, a job
 * made elsewhere), as a run from what the service says of it: status,
 * times, hyperparameters and final metrics (its curves are in its log).
 * New object, or NULL. */
static json_t *service_run(sm_call *call, const char *name)
{
    sm_aws *aws = sm_call_aws(call);
    if (!aws)
        return NULL;
    sm_sagemaker_training_job job;
    memset(&job, 0, sizeof job);
    sm_aws_error err = {.http_status = 0};
    if (sm_sagemaker_describe_training_job(aws, name, &job, &err))
        return NULL;
    json_t *metrics = json_object();
    for (size_t i = 0; i < job.metric_count; i++)
        json_object_set_new(metrics, job.metrics[i].name,
                            json_real(job.metrics[i].value));
    json_t *hp = json_object_get(job.raw, "HyperParameters");
    json_t *run = json_pack(
        "{s:s, s:s, s:s, s:O, s:o, s:f, s:f, s:s}", "name", name, "kind",
        SM_JOURNAL_TRAINING, "status", job.state.status, "hyperparameters",
        hp ? hp : json_object(), "metrics", metrics, "created",
        job.state.creation_time, "finished", job.state.end_time, "source",
        "the service (not in the journal)");
    sm_sagemaker_training_job_clear(&job);
    return run;
}

/* The runs named by the positional arguments from `first` on (new array),
 * or NULL with the call's error naming one the journal does not have.
 * With `service_too`, a training job the journal lacks is read from the
 * service. */
static json_t *named_runs(sm_call *call, const json_t *runs, size_t first,
                          int service_too)
{
    json_t *chosen = json_array();
    for (size_t i = first; i < call->args.n_positional; i++) {
        const char *name = call->args.positional[i];
        const json_t *run = sm_journal_find(runs, name);
        json_t *read = run || !service_too ? NULL : service_run(call, name);
        if (!run && !read) {
            find_run(call, runs, name); /* the error names the journal */
            json_decref(chosen);
            return NULL;
        }
        if (read)
            json_array_append_new(chosen, read);
        else
            json_array_append(chosen, (json_t *)run);
    }
    return chosen;
}

/* One row per key of `member` (a label, then each run's value). */
static void compare_rows(json_t *rows, const json_t *runs, const char *member,
                         const char *prefix)
{
    json_t *keys = union_keys(runs, member);
    size_t i;
    json_t *key;
    json_array_foreach(keys, i, key)
    {
        char label[256], text[512];
        snprintf(label, sizeof label, "%s%s", prefix, json_string_value(key));
        json_t *row = json_pack("[s]", label);
        size_t r;
        json_t *run;
        json_array_foreach(runs, r, run)
        {
            value_text(json_object_get(json_object_get(run, member),
                                       json_string_value(key)),
                       text, sizeof text);
            json_array_append_new(row, json_string(text));
        }
        json_array_append_new(rows, row);
    }
    json_decref(keys);
}

static json_t *compare_table(const json_t *runs)
{
    json_t *headers = json_pack("[s]", ""), *rows = json_array();
    json_t *status = json_pack("[s]", "status"),
           *took = json_pack("[s]", "took");
    size_t r;
    json_t *run;
    json_array_foreach(runs, r, run)
    {
        char t[32] = "";
        if (run_seconds(run) >= 0)
            sm_render_duration(run_seconds(run), t, sizeof t);
        json_array_append_new(headers, json_string(field(run, "name")));
        json_array_append_new(status, json_string(field(run, "status")));
        json_array_append_new(took, json_string(t));
    }
    json_array_append_new(rows, status);
    json_array_append_new(rows, took);
    compare_rows(rows, runs, "metrics", "final ");
    compare_rows(rows, runs, "hyperparameters", "");
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    return bundle;
}

/* One chart per metric: a line for each run and channel. */
static void compare_charts(sm_call *call, const json_t *runs)
{
    json_t *by_metric = json_object();
    size_t r;
    json_t *run;
    json_array_foreach(runs, r, run)
    {
        const char *metric, *channel;
        json_t *channels, *series;
        json_object_foreach(json_object_get(run, "curves"), metric, channels)
        {
            json_t *lines = json_object_get(by_metric, metric);
            if (!lines) {
                lines = json_object();
                json_object_set_new(by_metric, metric, lines);
            }
            json_object_foreach(channels, channel, series)
            {
                sm_buf label = {0};
                sm_buf_printf(&label, "%s %s", field(run, "name"), channel);
                json_object_set(lines, sm_buf_str(&label), series);
                sm_buf_free(&label);
            }
        }
    }
    const char *metric;
    json_t *lines;
    json_object_foreach(by_metric, metric, lines)
    {
        json_t *chart = sm_render_curves(NULL, metric, lines);
        if (chart)
            sm_out_display(call->out, chart, NULL, NULL);
    }
    json_decref(by_metric);
}

int sm_magic_compare(sm_call *call)
{
    json_t *runs = load_runs(call);
    if (!runs)
        return -1;
    json_t *chosen = named_runs(call, runs, 0, 1);
    json_decref(runs);
    if (!chosen)
        return -1;
    int rc = sm_out_display(call->out, compare_table(chosen), NULL, NULL);
    compare_charts(call, chosen);
    call->result = run_summaries(chosen);
    /* the table and charts say it all: the value shows as one line */
    sm_buf line = {0};
    sm_buf_printf(&line, "compared %zu runs", json_array_size(chosen));
    call->shown = json_pack("{s:s}", "text/plain", sm_buf_str(&line));
    sm_buf_free(&line);
    json_decref(chosen);
    return rc;
}

/* ---- %reproduce ---------------------------------------------------------- */

static int holds_removed(const json_t *v)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), "(removed)") == 0;
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, item)
        {
            if (holds_removed(item))
                return 1;
        }
    }
    json_array_foreach(v, i, item)
    {
        if (holds_removed(item))
            return 1;
    }
    return 0;
}

/* 0 when `run` is a training run that can be sent again as it was, else
 * -1 with the call's error saying why not. */
static int reproducible(sm_call *call, const json_t *run, const char *name)
{
    const char *kind = field(run, "kind"), *was = field(run, "backend");
    const char *now = sm_config_get(sm_magics_config(call->m), "backend");
    const json_t *request = json_object_get(run, "request");
    if (strcmp(kind, "training") != 0)
        return sm_error_set(&call->err,
                            "%s is a %s run; %%reproduce runs "
                            "training jobs again",
                            name, kind);
    if (!json_is_object(request) ||
        !json_is_array(json_object_get(run, "inputs")))
        return sm_error_set(&call->err,
                            "the journal holds no request and "
                            "inputs for %s",
                            name);
    if (strcmp(was, now) != 0)
        return sm_error_set(&call->err,
                            "%s ran on the %s backend and this "
                            "kernel uses %s; %%config backend=%s "
                            "to run it there again",
                            name, was, now, was);
    if (holds_removed(request))
        return sm_error_set(&call->err,
                            "%s's request held secrets, which the "
                            "journal does not keep; run it again "
                            "with %%train",
                            name);
    return 0;
}

/* --name, else JOB-yyyy-mm-dd-HH-MM-SS-mmm (at most 63 characters). */
static void reproduction_name(sm_call *call, const char *job, char *out,
                              size_t size)
{
    const char *flag = sm_args_get(&call->args, "name");
    if (flag && *flag)
        snprintf(out, size, "%.63s", flag);
    else
        sm_call_default_name(job, out, size);
}

/* The check: 0 when the inputs are as they were, else -1 with the error
 * saying what differs. */
static int check_inputs(sm_call *call, sm_aws *aws, const json_t *run,
                        const char *name)
{
    json_t *channels = json_object();
    size_t i;
    json_t *in;
    const json_t *was = json_object_get(run, "inputs");
    json_array_foreach(was, i, in) json_object_set(
        channels, field(in, "channel"), json_object_get(in, "uri"));
    json_t *now = sm_journal_inputs(call, aws, channels);
    json_decref(channels);
    sm_buf why = {0};
    int rc = 0;
    if (sm_journal_inputs_differ(was, now, &why)) {
        call->ename = "InputsChanged";
        rc = sm_error_set(&call->err,
                          "cannot reproduce %s: its inputs are "
                          "not the ones it was trained on: %s",
                          name, sm_buf_str(&why));
    }
    sm_buf_free(&why);
    json_decref(now);
    return rc;
}

/* The ETag of the object at `uri` when it is the MD5 of its bytes. */
static int model_md5(sm_aws *aws, const char *uri, char *out, size_t size)
{
    sm_s3_uri u;
    sm_s3_head head;
    sm_aws_error err = {.http_status = 0};
    if (!uri || sm_s3_uri_parse(uri, &u, NULL) ||
        sm_s3_head_object(aws, u.bucket, u.key, &head, &err) ||
        !head.etag_is_md5)
        return -1;
    snprintf(out, size, "%s", head.etag);
    return 0;
}

/* After the run again: its final metrics and model against the first's. */
static void report_reproduction(sm_call *call, sm_aws *aws, const char *first,
                                const char *again)
{
    json_t *runs = load_runs(call);
    const json_t *a = runs ? sm_journal_find(runs, first) : NULL;
    const json_t *b = runs ? sm_journal_find(runs, again) : NULL;
    if (!a || !b || !json_object_get(b, "finished")) { /* --no-wait */
        json_decref(runs);
        return;
    }
    sm_buf text = {0};
    const json_t *ma = json_object_get(a, "metrics");
    const json_t *mb = json_object_get(b, "metrics");
    sm_buf_printf(&text, "final metrics of %s %s those of %s\n", again,
                  json_equal(ma, mb) ? "are identical to" : "differ from",
                  first);
    char ea[SM_S3_ETAG_MAX], eb[SM_S3_ETAG_MAX];
    const char *ua = json_string_value(
        json_object_get(json_object_get(a, "artifacts"), "model"));
    const char *ub = json_string_value(
        json_object_get(json_object_get(b, "artifacts"), "model"));
    if (model_md5(aws, ua, ea, sizeof ea) == 0 &&
        model_md5(aws, ub, eb, sizeof eb) == 0)
        sm_buf_printf(&text, "model bytes %s (MD5 %s%s%s)\n",
                      strcmp(ea, eb) ? "differ" : "are identical", ea,
                      strcmp(ea, eb) ? " and " : "", strcmp(ea, eb) ? eb : "");
    sm_out_stream(call->out, "stdout", sm_buf_str(&text));
    sm_buf_free(&text);
    json_decref(runs);
}

int sm_magic_reproduce(sm_call *call)
{
    const char *name = call->args.positional[0];
    json_t *runs = load_runs(call);
    if (!runs)
        return -1;
    const json_t *run = find_run(call, runs, name);
    const json_t *request = run && reproducible(call, run, name) == 0
                                ? json_object_get(run, "request")
                                : NULL;
    sm_aws *aws = request ? sm_call_aws(call) : NULL;
    int rc = !aws || check_inputs(call, aws, run, name) ? -1 : 0;
    char again[80];
    json_t *copy = rc ? NULL : json_deep_copy(request);
    if (!rc) {
        reproduction_name(call, name, again, sizeof again);
        json_object_set_new(copy, "TrainingJobName", json_string(again));
        sm_aws_error err = {.http_status = 0};
        json_t *resp = sm_aws_json_call(aws, SM_AWS_SAGEMAKER,
                                        "CreateTrainingJob", copy, &err);
        rc = resp ? 0 : sm_call_fail_aws(call, &err);
        json_decref(resp);
    }
    if (!rc) {
        sm_journal_request_created(call, aws, SM_JOURNAL_TRAINING, copy,
                                   json_pack("{s:s}", "reproduces", name));
        char line[400];
        snprintf(line, sizeof line,
                 "inputs unchanged; training %s again as "
                 "%s with the same request\n",
                 name, again);
        sm_out_stream(call->out, "stdout", line);
        rc = sm_train_follow(call, aws, again);
        if (!rc)
            report_reproduction(call, aws, name, again);
    }
    json_decref(copy);
    json_decref(runs);
    return rc ? -1 : 0;
}

/* ---- %export ------------------------------------------------------------- */

/* FILE without a .json or .md ending: the two files' common stem. */
static void export_stem(const char *file, char *out, size_t size)
{
    size_t n = strlen(file);
    if (n > 5 && strcmp(file + n - 5, ".json") == 0)
        n -= 5;
    else if (n > 3 && strcmp(file + n - 3, ".md") == 0)
        n -= 3;
    snprintf(out, size, "%.*s", (int)n, file);
}

/* Write `text` to `path` whole or not at all. */
static int write_file(sm_call *call, const char *path, const char *text)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int bad = !f || fputs(text, f) < 0;
    if (f && fclose(f))
        bad = 1;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        call->ename = "OSError";
        return sm_error_set(&call->err, "cannot write %s: %s", path,
                            strerror(e));
    }
    return 0;
}

static void md_escape(sm_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            sm_buf_putc(b, '\\');
        sm_buf_putc(b, *s == '\n' ? ' ' : *s);
    }
}

/* A two-column Markdown table of `obj`'s members. */
static void md_members(sm_buf *b, const char *title, const json_t *obj,
                       const char *left, const char *right)
{
    if (json_object_size(obj) == 0)
        return;
    sm_buf_printf(b, "\n%s\n\n| %s | %s |\n|---|---|\n", title, left, right);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        char text[1024];
        value_text(v, text, sizeof text);
        sm_buf_puts(b, "| ");
        md_escape(b, key);
        sm_buf_puts(b, " | ");
        md_escape(b, text);
        sm_buf_puts(b, " |\n");
    }
}

/* Objects under S3 URIs, as sm_journal_inputs lists them. */
static void md_objects(sm_buf *b, const char *title, const json_t *inputs)
{
    if (json_array_size(inputs) == 0)
        return;
    sm_buf_printf(b,
                  "\n%s\n\n| channel | object | bytes | ETag | SHA-256 "
                  "|\n|---|---|---|---|---|\n",
                  title);
    size_t i, j;
    json_t *in, *obj;
    json_array_foreach(inputs, i, in)
    {
        json_array_foreach(json_object_get(in, "objects"), j, obj)
        {
            sm_buf_printf(b, "| %s | ", field(in, "channel"));
            md_escape(b, field(obj, "key"));
            sm_buf_printf(
                b, " | %lld | `%s` | %s |\n",
                (long long)json_integer_value(json_object_get(obj, "size")),
                field(obj, "etag"), field(obj, "sha256"));
        }
    }
}

/* The service's times as UTC, its seconds as they are. */
static void md_timings(sm_buf *b, const json_t *timings)
{
    json_t *shown = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)timings, key, v)
    {
        char text[64];
        if (strstr(key, "seconds"))
            value_text(v, text, sizeof text);
        else
            sm_render_time(json_number_value(v), text, sizeof text);
        if (text[0])
            json_object_set_new(shown, key, json_string(text));
    }
    md_members(b, "Timings (UTC; seconds):", shown, "what", "when or how long");
    json_decref(shown);
}

/* What a run is made of or made from, and what became of it. */
static void md_links(sm_buf *b, const json_t *run)
{
    static const char *const links[][2] = {
        {"reproduces", "reproduces"},
        {"training_job", "training job"},
        {"model", "model"},
        {"endpoint_config", "endpoint config"},
        {"instance_type", "instance"},
        {"output", "output"},
        {"deleted_by", "deleted by"}};
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        if (field(run, links[i][0])[0])
            sm_buf_printf(b, "- %s: %s\n", links[i][1],
                          field(run, links[i][0]));
    size_t n = json_array_size(json_object_get(run, "models"));
    for (size_t i = 0; i < n; i++)
        sm_buf_printf(b, "%s%s%s", i ? ", " : "- models: ",
                      json_string_value(
                          json_array_get(json_object_get(run, "models"), i)),
                      i + 1 == n ? "\n" : "");
    char when[32];
    sm_render_time(json_number_value(json_object_get(run, "deleted")), when,
                   sizeof when);
    if (when[0])
        sm_buf_printf(b, "- deleted: %s UTC\n", when);
}

/* A tuning run: its search, its best training job and every trial. */
static void md_tuning(sm_buf *b, const json_t *run)
{
    const json_t *objective = json_object_get(run, "objective");
    if (objective)
        sm_buf_printf(b, "\nObjective: %s (%s), %s search\n",
                      field(objective, "MetricName"), field(objective, "Type"),
                      field(run, "strategy"));
    const json_t *ranges = json_object_get(run, "ranges");
    if (ranges) {
        char *text = json_dumps(ranges, JSON_INDENT(2) | JSON_SORT_KEYS);
        sm_buf_printf(b, "\nRanges:\n\n```json\n%s\n```\n", text ? text : "");
        free(text);
    }
    const json_t *best = json_object_get(run, "best");
    if (best) {
        char value[64];
        value_text(json_object_get(best, "objective"), value, sizeof value);
        sm_buf_printf(b, "\nBest training job: %s (objective %s)\n",
                      field(best, "name"), value);
    }
    const json_t *trials = json_object_get(run, "trials");
    if (json_array_size(trials) == 0)
        return;
    sm_buf_puts(b, "\nTraining jobs:\n\n| training job | status | objective "
                   "| hyperparameters |\n|---|---|---|---|\n");
    size_t i;
    json_t *t;
    json_array_foreach(trials, i, t)
    {
        char value[64];
        value_text(json_object_get(t, "objective"), value, sizeof value);
        sm_buf_printf(b, "| %s | %s | %s | ", field(t, "name"),
                      field(t, "status"), value);
        const char *key;
        json_t *v;
        int first = 1;
        json_object_foreach(json_object_get(t, "hyperparameters"), key, v)
        {
            sm_buf_printf(b, "%s", first ? "" : ", ");
            md_escape(b, key);
            sm_buf_putc(b, '=');
            md_escape(b, json_string_value(v) ? json_string_value(v) : "");
            first = 0;
        }
        sm_buf_puts(b, " |\n");
    }
}

static void md_run(sm_buf *b, const json_t *run)
{
    char created[32], ended[32];
    sm_render_time(json_number_value(json_object_get(run, "created")), created,
                   sizeof created);
    sm_render_time(json_number_value(json_object_get(run, "finished")), ended,
                   sizeof ended);
    sm_buf_printf(b,
                  "\n## %s\n\n- kind: %s\n- status: %s\n- backend: %s, "
                  "region %s\n- created: %s UTC\n",
                  field(run, "name"), field(run, "kind"), field(run, "status"),
                  field(run, "backend"), field(run, "region"), created);
    if (ended[0])
        sm_buf_printf(b, "- finished: %s UTC\n", ended);
    if (field(run, "image")[0])
        sm_buf_printf(b, "- image: `%s`\n", field(run, "image"));
    md_links(b, run);
    if (field(run, "failure_reason")[0])
        sm_buf_printf(b, "- failure reason: %s\n",
                      field(run, "failure_reason"));
    md_members(b, "Hyperparameters:", json_object_get(run, "hyperparameters"),
               "name", "value");
    md_objects(b, "Inputs:", json_object_get(run, "inputs"));
    md_objects(b, "Outputs:", json_object_get(run, "outputs"));
    md_tuning(b, run);
    md_members(b, "Final metrics:", json_object_get(run, "metrics"), "metric",
               "value");
    md_members(b, "Artifacts:", json_object_get(run, "artifacts"), "artifact",
               "where");
    md_timings(b, json_object_get(run, "timings"));
    json_t *request = json_object_get(run, "request");
    if (request) {
        char *text = json_dumps(request, JSON_INDENT(2) | JSON_SORT_KEYS);
        sm_buf_printf(b, "\nRequest:\n\n```json\n%s\n```\n", text ? text : "");
        free(text);
    }
}

static char *export_markdown(const json_t *runs)
{
    sm_buf b = {0};
    sm_buf_printf(&b,
                  "# Experiments\n\n%zu runs from the sagemagic "
                  "experiment journal.\n",
                  json_array_size(runs));
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run) md_run(&b, run);
    return sm_buf_take(&b);
}

/* The runs to export: those named, else those --where keeps. */
static json_t *export_choice(sm_call *call, const json_t *runs)
{
    if (call->args.n_positional < 2)
        return select_runs(call, runs);
    return named_runs(call, runs, 1, 0);
}

int sm_magic_export(sm_call *call)
{
    json_t *runs = load_runs(call);
    json_t *chosen = runs ? export_choice(call, runs) : NULL;
    json_decref(runs);
    if (!chosen)
        return -1;
    if (json_array_size(chosen) == 0) {
        json_decref(chosen);
        return sm_error_set(&call->err, "no runs to export: the journal has "
                                        "none that match");
    }
    char stem[PATH_MAX - 8], json_path[PATH_MAX], md_path[PATH_MAX];
    export_stem(call->args.positional[0], stem, sizeof stem);
    snprintf(json_path, sizeof json_path, "%s.json", stem);
    snprintf(md_path, sizeof md_path, "%s.md", stem);
    json_t *doc = json_pack("{s:i, s:O}", "sagemagic_journal",
                            SM_JOURNAL_VERSION, "runs", chosen);
    char *json_text = json_dumps(doc, JSON_INDENT(2));
    char *md = export_markdown(chosen);
    int rc = write_file(call, json_path, json_text ? json_text : "{}");
    if (!rc)
        rc = write_file(call, md_path, md);
    if (!rc) {
        char line[2 * PATH_MAX + 80];
        snprintf(line, sizeof line, "exported %zu runs to %s and %s\n",
                 json_array_size(chosen), json_path, md_path);
        sm_out_stream(call->out, "stdout", line);
        call->result =
            json_pack("{s:s, s:s}", "json", json_path, "markdown", md_path);
    }
    free(json_text);
    free(md);
    json_decref(doc);
    json_decref(chosen);
    return rc;
}
