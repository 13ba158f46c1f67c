/* tune_magic: %tune, a hyperparameter tuning job of a built-in algorithm:
 * ranges and fixed hyperparameters from the command's words, then one card
 * updated in place while it runs (counts, the best job so far and a
 * leaderboard that fills in as trials finish), and at the end a chart of
 * the objective by job. Its value is the tuning job's name. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws_magics.h"
#include "buf.h"
#include "journal.h"
#include "render.h"
#include "sagemaker.h"
#include "sagemaker_training.h"

#define MAX_TUNE_WORDS 100
#define TUNING_NAME_MAX 32
#define LEADERBOARD_ROWS 20

/* ---- the request --------------------------------------------------------- */

/* XGBoost's metrics that grow better: everything else is a loss. */
static int metric_maximized(const char *metric)
{
    static const char *const up[] = {
        "auc", "aucpr", "map",       "ndcg",  "accuracy", "balanced_accuracy",
        "f1",  "r2",    "precision", "recall"};
    const char *colon = strchr(metric, ':');
    const char *name = colon ? colon + 1 : metric;
    size_t n = strcspn(name, "@");
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++)
        if (strlen(up[i]) == n && strncasecmp(name, up[i], n) == 0)
            return 1;
    return 0;
}

typedef struct tune_words {
    sm_sagemaker_range_text ranges[MAX_TUNE_WORDS];
    sm_sagemaker_range range_items[MAX_TUNE_WORDS];
    size_t range_count;
    sm_sagemaker_kv fixed[MAX_TUNE_WORDS];
    size_t fixed_count;
    char metric[128];
    const char *objective_type; /* Maximize, Minimize */
    const char *strategy;
} tune_words;

static void tune_words_clear(tune_words *w)
{
    for (size_t i = 0; i < w->range_count; i++)
        sm_sagemaker_range_text_clear(&w->ranges[i]);
    w->range_count = 0;
}

/* --objective METRIC[:minimize|:maximize]; the direction by default from
 * the metric's name. */
static int objective_flag(sm_call *call, tune_words *w)
{
    const char *v = sm_args_get(&call->args, "objective");
    if (!v || !*v)
        return sm_error_set(&call->err, "%%tune needs --objective METRIC, such "
                                        "as validation:auc or validation:rmse");
    snprintf(w->metric, sizeof w->metric, "%s", v);
    char *last = strrchr(w->metric, ':');
    if (last && (strcasecmp(last + 1, "minimize") == 0 ||
                 strcasecmp(last + 1, "maximize") == 0)) {
        w->objective_type =
            tolower((unsigned char)last[2]) == 'a' ? "Maximize" : "Minimize";
        *last = '\0';
    } else {
        w->objective_type =
            metric_maximized(w->metric) ? "Maximize" : "Minimize";
    }
    if (!strchr(w->metric, ':'))
        return sm_error_set(&call->err,
                            "--objective names a channel and a "
                            "metric, like validation:auc, not "
                            "'%s'",
                            v);
    return 0;
}

static int strategy_flag(sm_call *call, tune_words *w)
{
    static const char *const names[] = {"Bayesian", "Random", "Grid",
                                        "Hyperband"};
    const char *v = sm_args_get(&call->args, "strategy");
    w->strategy = "Bayesian";
    if (!v)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(v, names[i]) == 0) {
            w->strategy = names[i];
            return 0;
        }
    return sm_error_set(&call->err,
                        "--strategy is bayesian, random, grid or "
                        "hyperband, not '%s'",
                        v);
}

/* KEY=A..B[:int][:log] and KEY=A|B are ranges; other KEY=VALUE fixed. */
static int range_words(sm_call *call, tune_words *w)
{
    const sm_args *a = &call->args;
    for (size_t i = 0; i < a->n_pairs; i++) {
        const char *key = a->pairs[i].key, *value = a->pairs[i].value;
        if (w->range_count + w->fixed_count == MAX_TUNE_WORDS)
            return sm_error_set(&call->err,
                                "at most %d ranges and "
                                "hyperparameters",
                                MAX_TUNE_WORDS);
        if (!strstr(value, "..") && !strchr(value, '|')) {
            w->fixed[w->fixed_count++] = (sm_sagemaker_kv){key, value};
            continue;
        }
        char text[512];
        snprintf(text, sizeof text, "%s=%s", key, value);
        sm_sagemaker_range_text *r = &w->ranges[w->range_count];
        if (sm_sagemaker_range_parse(text, r, &call->err)) {
            sm_sagemaker_range_text_clear(r);
            return -1;
        }
        w->range_items[w->range_count++] = r->range;
    }
    if (!w->range_count)
        return sm_error_set(&call->err, "%%tune needs at least one range to "
                                        "search, like eta=0.01..0.3, "
                                        "max_depth=3..10:int or "
                                        "booster=gbtree|dart");
    return 0;
}

/* The SDK's tuning job names: BASE-yymmdd-HHMMSS within 32 characters. */
static void tuning_name(sm_call *call, const char *base, char *out, size_t size)
{
    const char *given = sm_args_get(&call->args, "name");
    if (given && *given) {
        snprintf(out, size, "%s", given);
        return;
    }
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(stamp, sizeof stamp, "%02d%02d%02d-%02d%02d%02d", tm.tm_year % 100,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    int room = TUNING_NAME_MAX - 1 - (int)strlen(stamp);
    snprintf(out, size, "%.*s-%s", room, base, stamp);
}

/* ---- the leaderboard ----------------------------------------------------- */

typedef struct board {
    int maximize;
} board;

/* Finished trials with an objective first, best first; then the others
 * in the order they were made. */
static int trial_order(const void *x, const void *y, void *ctx)
{
    const sm_sagemaker_trial *a = x, *b = y;
    const board *bd = ctx;
    if (a->has_objective != b->has_objective)
        return a->has_objective ? -1 : 1;
    if (a->has_objective && a->objective_value != b->objective_value) {
        int better = bd->maximize ? a->objective_value > b->objective_value
                                  : a->objective_value < b->objective_value;
        return better ? -1 : 1;
    }
    return a->state.creation_time < b->state.creation_time   ? -1
           : a->state.creation_time > b->state.creation_time ? 1
                                                             : 0;
}

/* "eta=0.12, max_depth=5" of a trial's tuned hyperparameters. */
static void tuned_text(const sm_sagemaker_trial *t, sm_buf *b)
{
    const char *key;
    const json_t *value;
    int first = 1;
    sm_buf_puts(b, "");
    json_object_foreach((json_t *)t->hyperparameters, key, value)
    {
        const char *v = json_string_value(value);
        sm_buf_printf(b, "%s%s=%s", first ? "" : ", ", key, v ? v : "?");
        first = 0;
    }
}

/* The trials as table rows, best first, at most LEADERBOARD_ROWS. */
static json_t *leaderboard(const sm_sagemaker_trials *trials, int maximize,
                           const char *best)
{
    size_t n = trials->count;
    sm_sagemaker_trial *sorted = malloc((n ? n : 1) * sizeof *sorted);
    json_t *rows = json_array();
    if (!sorted || !rows) {
        free(sorted);
        return rows;
    }
    memcpy(sorted, trials->items, n * sizeof *sorted);
    board bd = {.maximize = maximize};
    qsort_r(sorted, n, sizeof *sorted, trial_order, &bd);
    for (size_t i = 0; i < n && i < LEADERBOARD_ROWS; i++) {
        const sm_sagemaker_trial *t = &sorted[i];
        char objective[64] = "";
        if (t->has_objective)
            snprintf(objective, sizeof objective, "%.6g", t->objective_value);
        sm_buf hp = {0};
        tuned_text(t, &hp);
        int is_best = best && strcmp(best, t->state.name) == 0;
        json_array_append_new(rows, json_pack("[s, s, s, s, s]",
                                              is_best ? "best" : "",
                                              t->state.name, t->state.status,
                                              objective, sm_buf_str(&hp)));
        sm_buf_free(&hp);
    }
    free(sorted);
    return rows;
}

/* ---- the chart ------------------------------------------------------------
 */

/* The objective of each finished trial, in the order they were made: one
 * bar each, the best one drawn in the accent colour. */
static char *objective_svg(const sm_sagemaker_trials *trials,
                           const char *metric, const char *best)
{
    const double W = 560, H = 240, L = 64, R = 16, T = 28, B = 40;
    double lo = INFINITY, hi = -INFINITY;
    size_t bars = 0;
    for (size_t i = 0; i < trials->count; i++)
        if (trials->items[i].has_objective) {
            lo = fmin(lo, trials->items[i].objective_value);
            hi = fmax(hi, trials->items[i].objective_value);
            bars++;
        }
    if (!bars)
        return NULL;
    /* bars grow from a floor below the lowest value, so all show */
    double span = hi > lo ? hi - lo : fabs(hi) > 0 ? fabs(hi) : 1;
    double floor_v = lo - span * 0.1, top = hi + span * 0.05;
    double pw = W - L - R, ph = H - T - B, slot = pw / (double)bars;
    sm_buf b = {0};
    char *title = sm_html_escape(metric);
    sm_buf_printf(&b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
                  "height=\"%g\" viewBox=\"0 0 %g %g\" "
                  "font-family=\"sans-serif\" font-size=\"11\">\n"
                  "<text x=\"%g\" y=\"16\" fill=\"#888\" font-size=\"13\">"
                  "%s by training job</text>\n",
                  W, H, W, H, L, title ? title : "");
    free(title);
    for (int t = 0; t <= 4; t++) {
        double v = floor_v + (top - floor_v) * t / 4;
        sm_buf_printf(&b,
                      "<text x=\"%g\" y=\"%.1f\" fill=\"#888\" "
                      "text-anchor=\"end\">%.4g</text>\n",
                      L - 4, T + ph - ph * t / 4 + 4, v);
    }
    size_t k = 0;
    for (size_t i = 0; i < trials->count; i++) {
        const sm_sagemaker_trial *t = &trials->items[i];
        if (!t->has_objective)
            continue;
        double h = ph * (t->objective_value - floor_v) / (top - floor_v);
        int is_best = best && strcmp(best, t->state.name) == 0;
        sm_buf_printf(&b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\" fill=\"%s\"><title>%s: %.6g</title>"
                      "</rect>\n",
                      L + slot * (double)k + slot * 0.15, T + ph - h,
                      slot * 0.7, h, is_best ? "#ff7f0e" : "#1f77b4",
                      t->state.name, t->objective_value);
        k++;
    }
    sm_buf_printf(&b,
                  "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" "
                  "stroke=\"#888\"/>\n<text x=\"%g\" y=\"%g\" fill=\"#888\" "
                  "text-anchor=\"middle\">training jobs in the order they "
                  "started (orange: the best)</text>\n</svg>\n",
                  L, T + ph, W - R, T + ph, L + pw / 2, H - 10);
    return sm_buf_take(&b);
}

/* ---- watching ------------------------------------------------------------ */

typedef struct watch {
    const char *name;
    const tune_words *words;
    sm_card card;
    double started;
    json_t *record; /* the run's journal record, once it has ended */
} watch;

static void card(watch *w, const sm_sagemaker_tuning_job *job,
                 const sm_sagemaker_trials *trials)
{
    sm_call *call = w->card.call;
    char title[96], elapsed[32], counts[256], best[256] = "";
    double start =
        job->state.creation_time > 0 ? job->state.creation_time : w->started;
    double end = job->state.end_time > 0 ? job->state.end_time : sm_wall_now();
    sm_render_duration(end - start, elapsed, sizeof elapsed);
    snprintf(title, sizeof title, "tuning job %s", w->name);
    snprintf(counts, sizeof counts,
             "%d completed, %d in progress, %d failed, %d stopped of %d "
             "(%d at once)",
             job->jobs.completed, job->jobs.in_progress,
             job->jobs.retryable_error + job->jobs.non_retryable_error,
             job->jobs.stopped, job->max_jobs, job->max_parallel);
    if (job->has_best && job->best.has_objective)
        snprintf(best, sizeof best, "%s = %.6g (%s)", w->words->metric,
                 job->best.objective_value, job->best.state.name);
    sm_buf p = {0}, h = {0};
    sm_buf_printf(&p, "%s\n", title);
    sm_card_html_begin(&h, title);
    sm_card_row(&p, &h, "status",
                job->state.status[0] ? job->state.status : "InProgress", NULL);
    sm_card_row(&p, &h, "elapsed", elapsed, NULL);
    sm_card_row(&p, &h, "strategy", w->words->strategy, NULL);
    char objective[200];
    snprintf(objective, sizeof objective, "%s (%s)", w->words->metric,
             strcmp(w->words->objective_type, "Maximize") == 0 ? "maximize"
                                                               : "minimize");
    sm_card_row(&p, &h, "objective", objective, NULL);
    sm_card_row(&p, &h, "jobs", counts, NULL);
    if (best[0])
        sm_card_row(&p, &h, "best", best, NULL);
    if (job->state.failure_reason[0])
        sm_card_row(&p, &h, "reason", job->state.failure_reason, NULL);
    sm_card_console_row(call, &p, &h, "tuning-job", w->name);
    if (trials && trials->count) {
        json_t *headers =
            json_pack("[s, s, s, s, s]", "", "training job", "status",
                      w->words->metric, "hyperparameters");
        json_t *rows = leaderboard(
            trials, strcmp(w->words->objective_type, "Maximize") == 0,
            job->has_best ? job->best.state.name : NULL);
        json_t *table = sm_render_table(headers, rows);
        const char *text =
            json_string_value(json_object_get(table, "text/plain"));
        const char *html =
            json_string_value(json_object_get(table, "text/html"));
        sm_buf_printf(&p, "\n%s", text ? text : "");
        sm_buf_printf(
            &h, "<tr><td colspan=\"2\" style=\"text-align:left\">%s</td></tr>",
            html ? html : "");
        json_decref(table);
        json_decref(headers);
        json_decref(rows);
    }
    /* the finished run's record rides on the card's last update */
    w->card.extra_type = w->record ? SM_JOURNAL_MIMETYPE : NULL;
    w->card.extra = w->record;
    sm_card_show(&w->card, &p, &h);
    sm_buf_free(&p);
    sm_buf_free(&h);
}

static int tuning_ended(sm_call *call, const sm_sagemaker_tuning_job *job)
{
    return sm_call_job_ended(call, &job->state, "tuning job", "TuningJobFailed",
                             "TuningJobStopped");
}

static void show_chart(watch *w, const sm_sagemaker_tuning_job *job,
                       const sm_sagemaker_trials *trials)
{
    char *svg = objective_svg(trials, w->words->metric,
                              job->has_best ? job->best.state.name : NULL);
    if (!svg)
        return;
    char text[300];
    snprintf(text, sizeof text, "%s by training job: %zu jobs",
             w->words->metric, trials->count);
    sm_out_display(
        w->card.call->out,
        json_pack("{s:s, s:s}", "image/svg+xml", svg, "text/plain", text), NULL,
        NULL);
    free(svg);
}

static int watch_tuning(sm_call *call, sm_aws *aws, const char *name,
                        const tune_words *words)
{
    watch w = {.name = name, .words = words, .started = sm_wall_now()};
    sm_card_init(&w.card, call, "tune");
    sm_sagemaker_list_options order = {.sort_by = "CreationTime",
                                       .sort_order = "Ascending"};
    for (;;) {
        sm_aws_error err = {.http_status = 0};
        sm_sagemaker_tuning_job job;
        memset(&job, 0, sizeof job);
        if (sm_sagemaker_describe_tuning_job(aws, name, &job, &err))
            return sm_out_interrupted(call->out)
                       ? sm_call_stop_watching(call, "tuning job", name)
                       : sm_call_fail_aws(call, &err);
        sm_sagemaker_trials trials = {0};
        int listed =
            sm_sagemaker_list_trials(aws, name, &order, &trials, &err) == 0;
        int done = sm_sagemaker_status_is_terminal(SM_SAGEMAKER_TUNING_JOB,
                                                   job.state.status);
        if (done) /* on disk before the card says it ended */
            w.record =
                sm_journal_tuning_finished(call, &job, listed ? &trials : NULL);
        card(&w, &job, listed ? &trials : NULL);
        json_decref(w.record);
        w.record = NULL;
        int rc = 0;
        if (done) {
            if (listed)
                show_chart(&w, &job, &trials);
            rc = tuning_ended(call, &job);
        }
        sm_sagemaker_trials_clear(&trials);
        sm_sagemaker_tuning_job_clear(&job);
        if (done)
            return rc;
        if (sm_out_wait(call->out, sm_call_poll_ms(call)) != 0)
            return sm_call_stop_watching(call, "tuning job", name);
    }
}

/* ---- %tune ----------------------------------------------------------------
 */

static int dry_run(sm_call *call, const sm_sagemaker_tuning_job_spec *spec)
{
    json_t *request = sm_sagemaker_create_tuning_job_request(spec, &call->err);
    if (!request)
        return -1;
    char *text = json_dumps(request, JSON_INDENT(2) | JSON_SORT_KEYS);
    sm_out_stream(call->out, "stdout",
                  "dry run: CreateHyperParameterTuningJob "
                  "would be sent with this request\n");
    call->shown = json_pack("{s:s}", "text/plain", text ? text : "");
    call->result = request;
    free(text);
    return 0;
}

int sm_magic_tune(sm_call *call)
{
    const sm_args *a = &call->args;
    const char *train = sm_args_get(a, "train");
    const char *validation = sm_args_get(a, "validation");
    if (!train || !*train || !validation || !*validation)
        return sm_error_set(&call->err, "%%tune needs --train URI and "
                                        "--validation URI (the objective is "
                                        "measured on the validation data)");
    tune_words *w = calloc(1, sizeof *w);
    if (!w)
        return sm_error_set(&call->err, "out of memory");
    long max_jobs = 0, parallel = 0;
    int rc = objective_flag(call, w) || strategy_flag(call, w) ||
             sm_call_count_flag(call, "max-jobs", 0, 500, &max_jobs) ||
             sm_call_count_flag(call, "parallel", 0, 100, &parallel) ||
             range_words(call, w);
    if (!rc && (!max_jobs || !parallel))
        rc = sm_error_set(&call->err, "%%tune needs --max-jobs N (training "
                                      "jobs in all) and --parallel P (at "
                                      "once)");
    if (!rc && parallel > max_jobs)
        rc = sm_error_set(&call->err,
                          "--parallel %ld is more than --max-jobs "
                          "%ld",
                          parallel, max_jobs);
    char *image = NULL, base[64], role[256], output[1100], name[64];
    int dry = sm_args_get(a, "dry-run") != NULL;
    sm_aws *aws = rc ? NULL : sm_call_aws(call);
    if (!rc && !aws)
        rc = -1;
    if (!rc &&
        !(image = sm_call_image(call, a->positional[0], base, sizeof base)))
        rc = -1;
    if (!rc)
        rc = sm_call_role(call, role, sizeof role) ||
             sm_call_output(call, dry, output, sizeof output);
    if (rc) {
        free(image);
        tune_words_clear(w);
        free(w);
        return -1;
    }
    tuning_name(call, base, name, sizeof name);
    const char *content_type = sm_args_get(a, "content-type");
    const char *instance = sm_args_get(a, "instance");
    sm_sagemaker_channel channels[2] = {
        {.name = "train",
         .s3_uri = train,
         .content_type = content_type ? content_type : "text/csv"},
        {.name = "validation",
         .s3_uri = validation,
         .content_type = content_type ? content_type : "text/csv"}};
    sm_sagemaker_tuning_job_spec spec = {
        .name = name,
        .strategy = w->strategy,
        .objective_metric = w->metric,
        .objective_type = w->objective_type,
        .max_jobs = (int)max_jobs,
        .max_parallel = (int)parallel,
        .ranges = w->range_items,
        .range_count = w->range_count,
        .training = {
            .image = image,
            .role_arn = role,
            .channels = channels,
            .channel_count = 2,
            .output_path = output,
            .resources = {.instance_type =
                              instance && *instance
                                  ? instance
                                  : sm_config_get(sm_magics_config(call->m),
                                                  "instance_type"),
                          .instance_count = 1},
            .hyperparameters = w->fixed,
            .hyperparameter_count = w->fixed_count}};
    sm_aws_error err = {.http_status = 0};
    if (dry)
        rc = dry_run(call, &spec);
    else if (sm_sagemaker_create_tuning_job(aws, &spec, NULL, &err))
        rc = sm_call_fail_aws(call, &err);
    else {
        json_t *request = sm_sagemaker_create_tuning_job_request(&spec, NULL);
        if (request)
            sm_journal_request_created(call, aws, SM_JOURNAL_TUNING, request,
                                       NULL);
        json_decref(request);
        sm_backend_note_job(sm_magics_backend(call->m), "tuning", name);
        if (sm_call_waits(call))
            rc = watch_tuning(call, aws, name, w);
        else {
            char line[256];
            snprintf(line, sizeof line,
                     "started tuning job %s (see it with %%status %s)\n", name,
                     name);
            sm_out_stream(call->out, "stdout", line);
        }
        if (!rc)
            call->result = json_string(name);
    }
    free(image);
    tune_words_clear(w);
    free(w);
    return rc ? -1 : 0;
}
