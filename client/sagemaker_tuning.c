/* sagemaker_tuning: hyperparameter tuning job requests, their Describe and
 * the listing of their training jobs, typed. */
#include "sagemaker_training.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sagemaker_internal.h"

static const char *const strategies[] = {"Bayesian", "Random", "Hyperband",
                                         "Grid", NULL};
static const char *const objective_types[] = {"Maximize", "Minimize", NULL};
static const char *const scaling_types[] = {"Auto", "Linear", "Logarithmic",
                                            "ReverseLogarithmic", NULL};
static const char *const early_stopping_types[] = {"Off", "Auto", NULL};
static const char *const convergence[] = {"Disabled", "Enabled", NULL};
static const char *const warm_start_types[] = {"IdenticalDataAndAlgorithm",
                                               "TransferLearning", NULL};
static const char *const training_statuses[] = {
    "InProgress", "Completed", "Failed", "Stopping",
    "Stopped",    "Deleting",  NULL};
static const char *const trial_sort_by[] = {"Name", "CreationTime", "Status",
                                            "FinalObjectiveMetricValue", NULL};
static const char *const sort_orders[] = {"Ascending", "Descending", NULL};

static const sm_awsjson_rule parameter_rule = {0, 256, SM_AWSJSON_LINE};
static const sm_awsjson_rule metric_rule = {1, 255, SM_AWSJSON_LINE};

/* The ParameterRanges member each range type goes to. */
static const char *const range_members[] = {
    [SM_SAGEMAKER_RANGE_CONTINUOUS] = "ContinuousParameterRanges",
    [SM_SAGEMAKER_RANGE_INTEGER] = "IntegerParameterRanges",
    [SM_SAGEMAKER_RANGE_CATEGORICAL] = "CategoricalParameterRanges",
};

/* ---- ranges ------------------------------------------------------------- */

/* Parse a bound as a number (an integer for integer ranges). */
static int bound(const sm_sagemaker_range *r, const char *text, double *out,
                 sm_error *err)
{
    char *end = NULL;
    if (!text || !*text)
        return sm_error_set(err,
                            "The range of '%s' needs a minimum and a "
                            "maximum.",
                            r->name);
    errno = 0;
    if (r->type == SM_SAGEMAKER_RANGE_INTEGER)
        *out = (double)strtoll(text, &end, 10);
    else
        *out = strtod(text, &end);
    if (*end || errno || !isfinite(*out))
        return sm_error_set(err,
                            "The range of '%s' has a bound '%.64s' that "
                            "is not %s.",
                            r->name, text,
                            r->type == SM_SAGEMAKER_RANGE_INTEGER ? "an integer"
                                                                  : "a number");
    return 0;
}

/* Bounds in order, and a scale their values can take. */
static int check_numeric_range(const sm_sagemaker_range *r, sm_error *err)
{
    double lo, hi;
    if (bound(r, r->min, &lo, err) || bound(r, r->max, &hi, err))
        return -1;
    if (lo > hi)
        return sm_error_set(err,
                            "The range of '%s' runs from %s down to %s; "
                            "the minimum must come first.",
                            r->name, r->min, r->max);
    if (r->scaling && strcasecmp(r->scaling, "Logarithmic") == 0 && lo <= 0)
        return sm_error_set(err,
                            "A logarithmic range needs a minimum above "
                            "0; '%s' starts at %s.",
                            r->name, r->min);
    if (r->scaling && strcasecmp(r->scaling, "ReverseLogarithmic") == 0 &&
        (r->type != SM_SAGEMAKER_RANGE_CONTINUOUS || lo < 0 || hi >= 1))
        return sm_error_set(err,
                            "A reverse logarithmic range must be "
                            "continuous and within [0, 1); '%s' is not.",
                            r->name);
    return 0;
}

static json_t *range(const sm_sagemaker_range *r, sm_error *err)
{
    json_t *obj = sm_sagemaker_object(err);
    int rc = obj ? 0 : -1;
    if (!rc)
        rc =
            sm_awsjson_put_required(obj, "Name", r->name, &parameter_rule, err);
    if (!rc && r->type == SM_SAGEMAKER_RANGE_CATEGORICAL && !r->value_count)
        rc = sm_error_set(err, "The range of '%s' needs 1 to 30 values.",
                          r->name);
    if (!rc && r->type == SM_SAGEMAKER_RANGE_CATEGORICAL) {
        rc = sm_awsjson_put_str_list(obj, "Values", r->values, r->value_count,
                                     1, 30, &parameter_rule, err);
    } else if (!rc) {
        rc = check_numeric_range(r, err);
        if (!rc)
            rc = sm_awsjson_put_str(obj, "MinValue", r->min, &parameter_rule,
                                    err);
        if (!rc)
            rc = sm_awsjson_put_str(obj, "MaxValue", r->max, &parameter_rule,
                                    err);
        if (!rc)
            rc = sm_awsjson_put_enum(obj, "ScalingType", r->scaling,
                                     scaling_types, err);
    }
    if (rc) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* A name tuned must be tuned once, and not also be fixed. */
static int check_range_name(const sm_sagemaker_tuning_job_spec *s, size_t i,
                            sm_error *err)
{
    const char *name = s->ranges[i].name ? s->ranges[i].name : "";
    for (size_t j = 0; j < i; j++)
        if (s->ranges[j].name && strcmp(s->ranges[j].name, name) == 0)
            return sm_error_set(err, "'%s' has two ranges.", name);
    for (size_t j = 0; j < s->training.hyperparameter_count; j++)
        if (s->training.hyperparameters[j].key &&
            strcmp(s->training.hyperparameters[j].key, name) == 0)
            return sm_error_set(err,
                                "'%s' is both tuned and fixed; give it "
                                "a range or a value, not both.",
                                name);
    return 0;
}

static int put_ranges(json_t *config, const sm_sagemaker_tuning_job_spec *s,
                      sm_error *err)
{
    json_t *ranges = sm_sagemaker_object(err);
    int rc = ranges ? 0 : -1;
    for (size_t i = 0; !rc && i < s->range_count; i++) {
        const sm_sagemaker_range *r = &s->ranges[i];
        if ((int)r->type < 0 || r->type > SM_SAGEMAKER_RANGE_CATEGORICAL) {
            rc = sm_error_set(err, "The range of '%s' has no type.",
                              r->name ? r->name : "");
            break;
        }
        rc = check_range_name(s, i, err);
        const char *member = range_members[r->type];
        json_t *list = json_object_get(ranges, member);
        if (!rc && !list) {
            list = json_array();
            rc = sm_awsjson_put_new(ranges, member, list, err);
        }
        if (!rc && json_array_size(list) == 30)
            rc = sm_error_set(err,
                              "At most 30 ranges of one type can be "
                              "tuned (%s).",
                              member);
        json_t *one = rc ? NULL : range(r, err);
        if (!rc && (!one || json_array_append_new(list, one)))
            rc = sm_error_set(err, "out of memory");
    }
    if (!rc && !s->range_count)
        rc = sm_error_set(err, "A tuning job needs at least one "
                               "hyperparameter range.");
    if (rc) {
        json_decref(ranges);
        return -1;
    }
    return sm_awsjson_put_new(config, "ParameterRanges", ranges, err);
}

/* ---- the config --------------------------------------------------------- */

static int put_objective(json_t *config, const sm_sagemaker_tuning_job_spec *s,
                         const char *strategy, sm_error *err)
{
    int needed = strcasecmp(strategy, "Random") != 0 &&
                 strcasecmp(strategy, "Grid") != 0;
    if (!s->objective_metric || !*s->objective_metric)
        return needed ? sm_error_set(err,
                                     "The %s strategy needs an "
                                     "objective metric to tune for.",
                                     strategy)
                      : 0;
    if (!s->objective_type)
        return sm_error_set(err,
                            "Say whether to maximize or minimize "
                            "%s.",
                            s->objective_metric);
    json_t *objective = sm_sagemaker_object(err);
    int rc = objective ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_enum(objective, "Type", s->objective_type,
                                 objective_types, err);
    if (!rc)
        rc = sm_awsjson_put_str(objective, "MetricName", s->objective_metric,
                                &metric_rule, err);
    if (rc) {
        json_decref(objective);
        return -1;
    }
    return sm_awsjson_put_new(config, "HyperParameterTuningJobObjective",
                              objective, err);
}

static int put_limits(json_t *config, const sm_sagemaker_tuning_job_spec *s,
                      sm_error *err)
{
    json_t *limits = sm_sagemaker_object(err);
    int rc = limits ? 0 : -1;
    if (!rc && s->max_jobs)
        rc = sm_awsjson_put_int(limits, "MaxNumberOfTrainingJobs", s->max_jobs,
                                1, 0, err);
    if (!rc)
        rc = sm_awsjson_put_int(limits, "MaxParallelTrainingJobs",
                                s->max_parallel, 1, 0, err);
    if (!rc && s->max_jobs && s->max_parallel > s->max_jobs)
        rc = sm_error_set(err,
                          "%d parallel jobs is more than the %d jobs "
                          "in all.",
                          s->max_parallel, s->max_jobs);
    if (!rc && s->max_runtime_seconds)
        rc = sm_awsjson_put_int(limits, "MaxRuntimeInSeconds",
                                s->max_runtime_seconds, 120, 15768000, err);
    if (rc) {
        json_decref(limits);
        return -1;
    }
    return sm_awsjson_put_new(config, "ResourceLimits", limits, err);
}

static int put_completion(json_t *config, const sm_sagemaker_tuning_job_spec *s,
                          sm_error *err)
{
    if (!s->max_jobs_not_improving && !s->complete_on_convergence)
        return 0;
    json_t *criteria = sm_sagemaker_object(err);
    int rc = criteria ? 0 : -1;
    if (!rc && s->max_jobs_not_improving) {
        json_t *best = sm_sagemaker_object(err);
        rc = best ? sm_awsjson_put_int(best,
                                       "MaxNumberOfTrainingJobsNotImproving",
                                       s->max_jobs_not_improving, 3, 0, err)
                  : -1;
        if (!rc)
            rc = sm_awsjson_put_new(criteria, "BestObjectiveNotImproving",
                                    json_incref(best), err);
        json_decref(best);
    }
    if (!rc && s->complete_on_convergence) {
        json_t *conv = sm_sagemaker_object(err);
        rc = conv ? sm_awsjson_put_enum(conv, "CompleteOnConvergence",
                                        s->complete_on_convergence, convergence,
                                        err)
                  : -1;
        if (!rc)
            rc = sm_awsjson_put_new(criteria, "ConvergenceDetected",
                                    json_incref(conv), err);
        json_decref(conv);
    }
    if (rc) {
        json_decref(criteria);
        return -1;
    }
    return sm_awsjson_put_new(config, "TuningJobCompletionCriteria", criteria,
                              err);
}

static int put_config(json_t *body, const sm_sagemaker_tuning_job_spec *s,
                      sm_error *err)
{
    const char *strategy = s->strategy ? s->strategy : "Bayesian";
    json_t *config = sm_sagemaker_object(err);
    int rc = config ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_enum(config, "Strategy", strategy, strategies, err);
    if (!rc)
        rc = put_objective(config, s, strategy, err);
    if (!rc)
        rc = put_limits(config, s, err);
    if (!rc)
        rc = put_ranges(config, s, err);
    if (!rc)
        rc = sm_awsjson_put_enum(config, "TrainingJobEarlyStoppingType",
                                 s->early_stopping, early_stopping_types, err);
    if (!rc)
        rc = put_completion(config, s, err);
    if (rc) {
        json_decref(config);
        return -1;
    }
    return sm_awsjson_put_new(body, "HyperParameterTuningJobConfig", config,
                              err);
}

static int put_warm_start(json_t *body, const sm_sagemaker_tuning_job_spec *s,
                          sm_error *err)
{
    if (!s->warm_start_count)
        return 0;
    if (s->warm_start_count > 5)
        return sm_error_set(err,
                            "A warm start takes at most 5 parent tuning "
                            "jobs, not %zu.",
                            s->warm_start_count);
    json_t *warm = sm_sagemaker_object(err);
    json_t *parents = json_array();
    int rc = warm && parents ? 0 : sm_error_set(err, "out of memory");
    for (size_t i = 0; !rc && i < s->warm_start_count; i++) {
        json_t *parent = sm_sagemaker_name_request(
            SM_SAGEMAKER_TUNING_JOB, s->warm_start_parents[i], err);
        if (!parent || json_array_append_new(parents, parent))
            rc = sm_error_set(err, "out of memory");
    }
    if (!rc)
        rc = sm_awsjson_put_new(warm, "ParentHyperParameterTuningJobs",
                                json_incref(parents), err);
    if (!rc)
        rc = sm_awsjson_put_enum(warm, "WarmStartType",
                                 s->warm_start_type
                                     ? s->warm_start_type
                                     : "IdenticalDataAndAlgorithm",
                                 warm_start_types, err);
    json_decref(parents);
    if (rc) {
        json_decref(warm);
        return -1;
    }
    return sm_awsjson_put_new(body, "WarmStartConfig", warm, err);
}

json_t *
sm_sagemaker_create_tuning_job_request(const sm_sagemaker_tuning_job_spec *spec,
                                       sm_error *err)
{
    json_t *body = sm_sagemaker_object(err);
    json_t *def = sm_sagemaker_object(err);
    int rc = body && def ? 0 : -1;
    if (!rc)
        rc = sm_sagemaker_check_name(SM_SAGEMAKER_TUNING_JOB, spec->name, err);
    if (!rc)
        rc = sm_awsjson_put_new(body, "HyperParameterTuningJobName",
                                json_string(spec->name), err);
    if (!rc)
        rc = put_config(body, spec, err);
    if (!rc)
        rc = sm_sagemaker_put_training_def(def, &spec->training, 1, err);
    if (!rc)
        rc = sm_awsjson_put_new(body, "TrainingJobDefinition", json_incref(def),
                                err);
    if (!rc)
        rc = put_warm_start(body, spec, err);
    if (!rc)
        rc = sm_sagemaker_put_tags(body, spec->tags, spec->tag_count, err);
    json_decref(def);
    if (rc) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int sm_sagemaker_create_tuning_job(sm_aws *aws,
                                   const sm_sagemaker_tuning_job_spec *spec,
                                   char **arn_out, sm_aws_error *err)
{
    sm_error e = {""};
    json_t *request = sm_sagemaker_create_tuning_job_request(spec, &e);
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_create_via(&caller, "CreateHyperParameterTuningJob",
                                   request, &e, "HyperParameterTuningJobArn",
                                   arn_out, err);
}

/* ---- reading ------------------------------------------------------------ */

void sm_sagemaker_trial_read(const json_t *obj, sm_sagemaker_trial *out)
{
    static const char *const objective =
        "FinalHyperParameterTuningJobObjectiveMetric";
    memset(out, 0, sizeof *out);
    sm_sagemaker_state_read(SM_SAGEMAKER_TRAINING_JOB, obj, &out->state);
    out->objective_status = sm_awsjson_str(obj, "ObjectiveStatus");
    json_t *metric = sm_awsjson_get(obj, objective);
    out->has_objective = sm_awsjson_has_num(metric, "Value");
    out->objective_value = sm_awsjson_num(metric, "Value");
    out->objective_metric = sm_awsjson_str(metric, "MetricName");
    json_t *tuned = sm_awsjson_get(obj, "TunedHyperParameters");
    out->hyperparameters = json_is_object(tuned) ? tuned : NULL;
}

void sm_sagemaker_tuning_job_clear(sm_sagemaker_tuning_job *self)
{
    if (!self)
        return;
    json_decref(self->raw);
    memset(self, 0, sizeof *self);
}

int sm_sagemaker_tuning_job_read(json_t *response, sm_sagemaker_tuning_job *out)
{
    const json_t *r = response;
    memset(out, 0, sizeof *out);
    out->raw = response;
    sm_sagemaker_state_read(SM_SAGEMAKER_TUNING_JOB, r, &out->state);
    json_t *config = sm_awsjson_get(r, "HyperParameterTuningJobConfig");
    out->strategy = sm_awsjson_str(config, "Strategy");
    out->objective_type =
        sm_awsjson_str(config, "HyperParameterTuningJobObjective.Type");
    out->objective_metric =
        sm_awsjson_str(config, "HyperParameterTuningJobObjective.MetricName");
    out->max_jobs =
        (int)sm_awsjson_num(config, "ResourceLimits.MaxNumberOfTrainingJobs");
    out->max_parallel =
        (int)sm_awsjson_num(config, "ResourceLimits.MaxParallelTrainingJobs");
    json_t *jobs = sm_awsjson_get(r, "TrainingJobStatusCounters");
    out->jobs.completed = (int)sm_awsjson_num(jobs, "Completed");
    out->jobs.in_progress = (int)sm_awsjson_num(jobs, "InProgress");
    out->jobs.retryable_error = (int)sm_awsjson_num(jobs, "RetryableError");
    out->jobs.non_retryable_error =
        (int)sm_awsjson_num(jobs, "NonRetryableError");
    out->jobs.stopped = (int)sm_awsjson_num(jobs, "Stopped");
    json_t *objectives = sm_awsjson_get(r, "ObjectiveStatusCounters");
    out->objectives.succeeded = (int)sm_awsjson_num(objectives, "Succeeded");
    out->objectives.pending = (int)sm_awsjson_num(objectives, "Pending");
    out->objectives.failed = (int)sm_awsjson_num(objectives, "Failed");
    json_t *best = sm_awsjson_get(r, "BestTrainingJob");
    out->has_best = json_is_object(best);
    if (out->has_best)
        sm_sagemaker_trial_read(best, &out->best);
    return 0;
}

static int read_tuning_job(json_t *response, void *out)
{
    return sm_sagemaker_tuning_job_read(response, out);
}

int sm_sagemaker_describe_tuning_job(sm_aws *aws, const char *name,
                                     sm_sagemaker_tuning_job *out,
                                     sm_aws_error *err)
{
    memset(out, 0, sizeof *out);
    return sm_sagemaker_describe_into(aws, SM_SAGEMAKER_TUNING_JOB, name,
                                      read_tuning_job, out, err);
}

/* ---- the training jobs of a tuning job ---------------------------------- */

#define TRIALS_OPERATION "ListTrainingJobsForHyperParameterTuningJob"

void sm_sagemaker_trials_clear(sm_sagemaker_trials *self)
{
    if (!self)
        return;
    json_decref(self->raw);
    free(self->items);
    memset(self, 0, sizeof *self);
}

json_t *
sm_sagemaker_list_trials_request(const char *tuning_job_name,
                                 const sm_sagemaker_list_options *options,
                                 const char *next_token, sm_error *err)
{
    static const sm_awsjson_rule token = {0, 8192, SM_AWSJSON_LINE};
    sm_sagemaker_list_options none = {0};
    const sm_sagemaker_list_options *o = options ? options : &none;
    if (o->name_contains || o->creation_time_after || o->creation_time_before) {
        sm_error_set(err, "The training jobs of a tuning job can be "
                          "filtered by status only.");
        return NULL;
    }
    json_t *body = sm_sagemaker_name_request(SM_SAGEMAKER_TUNING_JOB,
                                             tuning_job_name, err);
    int rc = body ? 0 : -1;
    if (!rc)
        rc = sm_awsjson_put_enum(body, "StatusEquals", o->status_equals,
                                 training_statuses, err);
    if (!rc)
        rc =
            sm_awsjson_put_enum(body, "SortBy", o->sort_by, trial_sort_by, err);
    if (!rc)
        rc = sm_awsjson_put_enum(body, "SortOrder", o->sort_order, sort_orders,
                                 err);
    if (!rc && o->page_size)
        rc = sm_awsjson_put_int(body, "MaxResults", o->page_size, 1, 100, err);
    if (!rc && next_token && *next_token)
        rc = sm_awsjson_put_str(body, "NextToken", next_token, &token, err);
    if (rc) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int sm_sagemaker_list_trials_via(const sm_awsjson_caller *caller,
                                 const char *tuning_job_name,
                                 const sm_sagemaker_list_options *options,
                                 sm_sagemaker_trials *out, sm_aws_error *err)
{
    memset(out, 0, sizeof *out);
    sm_error e = {""};
    json_t *request =
        sm_sagemaker_list_trials_request(tuning_job_name, options, NULL, &e);
    if (!request) {
        sm_awsjson_refuse(err, SM_AWS_SAGEMAKER, TRIALS_OPERATION, e.message);
        return -1;
    }
    int rc =
        sm_sagemaker_gather(caller, TRIALS_OPERATION, "TrainingJobSummaries",
                            request, options, &out->raw, &out->truncated, err);
    json_decref(request);
    out->count = rc ? 0 : json_array_size(out->raw);
    if (out->count) {
        out->items = calloc(out->count, sizeof *out->items);
        if (!out->items) {
            snprintf(err->message, sizeof err->message, "out of memory");
            out->count = 0;
            return -1;
        }
    }
    for (size_t i = 0; i < out->count; i++)
        sm_sagemaker_trial_read(json_array_get(out->raw, i), &out->items[i]);
    return rc;
}

int sm_sagemaker_list_trials(sm_aws *aws, const char *tuning_job_name,
                             const sm_sagemaker_list_options *options,
                             sm_sagemaker_trials *out, sm_aws_error *err)
{
    sm_awsjson_caller caller = sm_awsjson_caller_aws(aws);
    return sm_sagemaker_list_trials_via(&caller, tuning_job_name, options, out,
                                        err);
}

/* ---- ranges as text ----------------------------------------------------- */

/* The suffixes of a numeric range: ":int" and a scale. */
static const struct {
    const char *word;
    const char *scaling; /* NULL: the word makes it an integer range */
} range_suffixes[] = {
    {"int", NULL},
    {"log", "Logarithmic"},
    {"linear", "Linear"},
    {"auto", "Auto"},
    {"reverse-log", "ReverseLogarithmic"},
};

static int range_suffix(sm_sagemaker_range *r, char *word, sm_error *err)
{
    for (size_t i = 0; i < sizeof range_suffixes / sizeof range_suffixes[0];
         i++) {
        if (strcasecmp(word, range_suffixes[i].word) != 0)
            continue;
        if (range_suffixes[i].scaling)
            r->scaling = range_suffixes[i].scaling;
        else
            r->type = SM_SAGEMAKER_RANGE_INTEGER;
        return 0;
    }
    return sm_error_set(err,
                        "The range of '%s' ends in ':%s'; it may end in "
                        ":int, :log, :linear, :auto or :reverse-log.",
                        r->name, word);
}

/* "MIN..MAX[:SUFFIX...]" (cut in place) into `r`. */
static int range_numeric(sm_sagemaker_range *r, char *spec, sm_error *err)
{
    char *dots = strstr(spec, "..");
    r->type = SM_SAGEMAKER_RANGE_CONTINUOUS;
    *dots = '\0';
    r->min = spec;
    r->max = dots + 2;
    char *suffix = strchr(dots + 2, ':');
    if (suffix)
        *suffix++ = '\0';
    for (char *word = suffix, *next; word; word = next) {
        next = strchr(word, ':');
        if (next)
            *next++ = '\0';
        if (range_suffix(r, word, err))
            return -1;
    }
    if (!*r->min || !*r->max)
        return sm_error_set(err,
                            "The range of '%s' needs a minimum and a "
                            "maximum: MIN..MAX.",
                            r->name);
    return 0;
}

/* "A|B|C" (cut in place) into `r` and a new list in out->values. */
static int range_categorical(sm_sagemaker_range_text *out, char *spec,
                             sm_error *err)
{
    size_t n = 1;
    for (const char *p = spec; *p; p++)
        n += *p == '|';
    out->values = calloc(n, sizeof *out->values);
    if (!out->values)
        return sm_error_set(err, "out of memory");
    sm_sagemaker_range *r = &out->range;
    r->type = SM_SAGEMAKER_RANGE_CATEGORICAL;
    for (char *p = spec, *bar; p; p = bar ? bar + 1 : NULL) {
        bar = strchr(p, '|');
        if (bar)
            *bar = '\0';
        if (!*p)
            return sm_error_set(err, "The range of '%s' has an empty value.",
                                r->name);
        out->values[r->value_count++] = p;
    }
    r->values = out->values;
    return 0;
}

int sm_sagemaker_range_parse(const char *text, sm_sagemaker_range_text *out,
                             sm_error *err)
{
    memset(out, 0, sizeof *out);
    out->copy = strdup(text ? text : "");
    if (!out->copy)
        return sm_error_set(err, "out of memory");
    char *eq = strchr(out->copy, '=');
    if (!eq || eq == out->copy)
        return sm_error_set(err,
                            "'%.64s' is not a range; write NAME=MIN..MAX "
                            "or NAME=A|B.",
                            out->copy);
    *eq = '\0';
    out->range.name = out->copy;
    char *spec = eq + 1;
    if (strstr(spec, ".."))
        return range_numeric(&out->range, spec, err);
    if (strchr(spec, '|'))
        return range_categorical(out, spec, err);
    return sm_error_set(err,
                        "The range of '%s' is neither MIN..MAX nor a list "
                        "A|B.",
                        out->range.name);
}

void sm_sagemaker_range_text_clear(sm_sagemaker_range_text *self)
{
    if (!self)
        return;
    free(self->copy);
    free(self->values);
    memset(self, 0, sizeof *self);
}
