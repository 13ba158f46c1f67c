/* tuning_api: the hyperparameter tuning operations of the SageMaker API,
 * checked as SageMaker checks them, over tuningjobs (the tables) and tuner
 * (the runs). The rows are sm_tuning_ops (sagemaker_api.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "images.h"
#include "sagemaker_api.h"
#include "trainer.h"
#include "tuner.h"
#include "tuningjobs.h"
#include "xgbparams.h"

#define V SM_SM_VALIDATION
#define CONFIG "HyperParameterTuningJobConfig"

static int db_failed(const sm_error *why, sm_http_error *err)
{
    return sm_http_fail(err, 500, "InternalFailure", "%s", why->message);
}

static int tuning_name(const json_t *in, const char **name, sm_http_error *err)
{
    static const sm_awsjson_rule rule = {1, 32, SM_AWSJSON_RESOURCE_NAME};
    return sm_jsonapi_str(in, "HyperParameterTuningJobName",
                          "HyperParameterTuningJobName", 1, &rule,
                          "Member must satisfy regular expression pattern: "
                          "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}",
                          V, name, err);
}

static int not_found(const char *name, sm_http_error *err)
{
    return sm_jsonapi_fail(err, SM_SM_NOT_FOUND,
                           "Amazon SageMaker can't find a tuning job called "
                           "%s. Type another name.",
                           name);
}

/* ---- CreateHyperParameterTuningJob: the members ------------------------- */

/* MetricName: one the built-in XGBoost algorithm emits. */
static int check_metric(const char *metric, sm_http_error *err)
{
    const char *colon = strchr(metric, ':');
    if (colon &&
        (!strncmp(metric, "train:", 6) ||
         !strncmp(metric, "validation:", 11)) &&
        sm_xgbparams_metric_known(colon + 1))
        return 0;
    char names[800];
    sm_xgbparams_metric_names(names, sizeof names);
    return sm_jsonapi_fail(err, V,
                           "A metric is required for this hyperparameter "
                           "tuning job objective. Provide a metric in the "
                           "metric definitions. '%.64s' is not an XGBoost "
                           "metric (train: or validation: and one of %s).",
                           metric, names);
}

static int check_objective(const json_t *config, const char *strategy,
                           sm_http_error *err)
{
    static const char *const types[] = {"Maximize", "Minimize", NULL};
    static const sm_awsjson_rule metric_rule = {1, 255, SM_AWSJSON_LINE};
    const json_t *objective = NULL;
    const char *type = NULL, *metric = NULL;
    if (sm_jsonapi_obj(config, "HyperParameterTuningJobObjective",
                       CONFIG ".HyperParameterTuningJobObjective", 0, V,
                       &objective, err))
        return -1;
    if (!objective)
        return strcmp(strategy, "Bayesian")
                   ? 0
                   : sm_jsonapi_fail(err, V,
                                     "The Bayesian strategy needs "
                                     "HyperParameterTuningJobObjective: "
                                     "the metric to tune for and its "
                                     "Type.");
    return sm_jsonapi_enum(objective, "Type",
                           CONFIG ".HyperParameterTuningJobObjective.Type", 1,
                           types, V, &type, err) ||
           sm_jsonapi_str(objective, "MetricName",
                          CONFIG ".HyperParameterTuningJobObjective."
                                 "MetricName",
                          1, &metric_rule,
                          "Member must satisfy regular "
                          "expression pattern: .+",
                          V, &metric, err) ||
           check_metric(metric, err);
}

static int check_limits(const sm_local_env *env, const json_t *config,
                        sm_http_error *err)
{
    const json_t *limits = NULL;
    long long jobs = 0, parallel = 0, runtime = 0;
    if (sm_jsonapi_obj(config, "ResourceLimits", CONFIG ".ResourceLimits", 1, V,
                       &limits, err) ||
        sm_jsonapi_int(limits, "MaxNumberOfTrainingJobs",
                       CONFIG ".ResourceLimits.MaxNumberOfTrainingJobs", 0, 1,
                       -1, V, &jobs, err) ||
        sm_jsonapi_int(limits, "MaxParallelTrainingJobs",
                       CONFIG ".ResourceLimits.MaxParallelTrainingJobs", 1, 1,
                       -1, V, &parallel, err) ||
        sm_jsonapi_int(limits, "MaxRuntimeInSeconds",
                       CONFIG ".ResourceLimits.MaxRuntimeInSeconds", 0, 120,
                       15768000, V, &runtime, err))
        return -1;
    size_t most = sm_trainer_max_jobs(env->trainer);
    if ((size_t)parallel > most)
        return sm_jsonapi_fail(
            err, SM_SM_LIMIT,
            "The account-level service limit 'Number of concurrent training "
            "jobs' is %zu, and MaxParallelTrainingJobs asks for %lld. "
            "sagemagic-local runs at most %zu training jobs at once "
            "(SAGEMAGIC_LOCAL_MAX_TRAINING_JOBS).",
            most, parallel, most);
    return 0;
}

/* The members sagemagic-local does not run, refused in one sentence. */
static int check_offered(const json_t *in, const json_t *config,
                         sm_http_error *err)
{
    static const struct {
        int in_config;
        const char *member, *why;
    } refused[] = {
        {0, "TrainingJobDefinitions", "takes one TrainingJobDefinition"},
        {0, "WarmStartConfig", "does not warm-start tuning jobs"},
        {0, "Autotune", "does not autotune"},
        {1, "TuningJobCompletionCriteria",
         "runs MaxNumberOfTrainingJobs trials and has no other completion "
         "criteria"},
        {1, "StrategyConfig", "has no strategy settings"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const json_t *v = json_object_get(refused[i].in_config ? config : in,
                                          refused[i].member);
        if (v && !json_is_null(v))
            return sm_jsonapi_fail(err, V, "sagemagic-local %s: leave %s out.",
                                   refused[i].why, refused[i].member);
    }
    const char *early = json_string_value(
        json_object_get(config, "TrainingJobEarlyStoppingType"));
    if (early && !strcmp(early, "Auto"))
        return sm_jsonapi_fail(err, V,
                               "sagemagic-local runs every training job of a "
                               "tuning job to its end: "
                               "TrainingJobEarlyStoppingType Auto is not "
                               "offered; use Off.");
    return 0;
}

static int check_config(const sm_local_env *env, const json_t *in,
                        sm_http_error *err)
{
    static const char *const strategies[] = {"Bayesian", "Random", "Hyperband",
                                             "Grid", NULL};
    static const char *const early[] = {"Off", "Auto", NULL};
    const json_t *config = NULL;
    const char *strategy = NULL, *stopping = NULL;
    long long seed = 0;
    if (sm_jsonapi_obj(in, CONFIG, CONFIG, 1, V, &config, err) ||
        sm_jsonapi_enum(config, "Strategy", CONFIG ".Strategy", 1, strategies,
                        V, &strategy, err) ||
        sm_jsonapi_enum(config, "TrainingJobEarlyStoppingType",
                        CONFIG ".TrainingJobEarlyStoppingType", 0, early, V,
                        &stopping, err) ||
        sm_jsonapi_int(config, "RandomSeed", CONFIG ".RandomSeed", 0, 0, -1, V,
                       &seed, err))
        return -1;
    if (!strcmp(strategy, "Hyperband"))
        return sm_jsonapi_fail(err, V,
                               "sagemagic-local does not run the Hyperband "
                               "strategy; use Bayesian, Random or Grid.");
    return check_objective(config, strategy, err) ||
           check_limits(env, config, err) || check_offered(in, config, err);
}

/* A tuned hyperparameter must not also be static. */
static int check_statics(const sm_tuner_plan *plan, sm_http_error *err)
{
    const json_t *statics =
        json_object_get(plan->definition, "StaticHyperParameters");
    for (size_t i = 0; i < plan->space.dims; i++)
        if (json_object_get(statics, plan->space.params[i].name))
            return sm_jsonapi_fail(err, V,
                                   "The hyperparameter [%s] is both static "
                                   "and tunable; a hyperparameter can be "
                                   "one or the other, not both.",
                                   plan->space.params[i].name);
    return 0;
}

/* The trial at one corner of the space, checked as CreateTrainingJob
 * checks it and, for the XGBoost image, as the algorithm checks its
 * hyperparameters. */
static int check_corner(const sm_tuner_plan *plan, const char *name,
                        double corner, sm_http_error *err)
{
    double u[SM_TUNESPACE_MAX];
    for (size_t i = 0; i < plan->space.dims; i++)
        u[i] = corner;
    char trial[64];
    snprintf(trial, sizeof trial, "%s-001-00000000", name);
    json_t *tuned = sm_tuner_tuned(plan, u);
    json_t *request = sm_tuner_trial_request(plan, trial, tuned);
    json_decref(tuned);
    const char *ignored = NULL;
    int rc = request ? sm_training_check_request(request, &ignored, err)
                     : sm_jsonapi_fail(err, V, "out of memory");
    const char *image = json_string_value(json_object_get(
        json_object_get(request, "AlgorithmSpecification"), "TrainingImage"));
    sm_xgbparams params;
    sm_error why = {0};
    if (!rc && image && sm_image_is_xgboost(image, NULL)) {
        if (sm_xgbparams_parse(json_object_get(request, "HyperParameters"),
                               &params, &why))
            rc = sm_jsonapi_fail(err, V,
                                 "The training jobs of this tuning job would "
                                 "fail: the XGBoost algorithm refuses their "
                                 "hyperparameters: %s",
                                 why.message);
        else
            sm_xgbparams_clear(&params);
    }
    json_decref(request);
    return rc;
}

static int check_plan(const json_t *in, const char *name, sm_tuner_plan *plan,
                      sm_http_error *err)
{
    const json_t *def = NULL;
    sm_error why = {0};
    if (sm_jsonapi_obj(in, "TrainingJobDefinition", "TrainingJobDefinition", 1,
                       V, &def, err))
        return -1;
    if (sm_tuner_plan_read(in, plan, &why))
        return sm_jsonapi_fail(err, V, "%s", why.message);
    return check_statics(plan, err) || check_corner(plan, name, 0, err) ||
           check_corner(plan, name, 1, err);
}

/* ---- the operations ----------------------------------------------------- */

static uint64_t seed_of(const json_t *in)
{
    json_t *seed = json_object_get(json_object_get(in, CONFIG), "RandomSeed");
    if (json_is_integer(seed))
        return (uint64_t)json_integer_value(seed);
    return (uint64_t)(sm_jsonapi_now() * 1000) ^ ((uint64_t)getpid() << 32);
}

static int create_tuning_job(sm_local_env *env, const sm_http_request *req,
                             const json_t *in, json_t **out, sm_http_error *err)
{
    const char *name = NULL;
    sm_tuner_plan plan;
    if (tuning_name(in, &name, err) || check_config(env, in, err) ||
        check_plan(in, name, &plan, err))
        return -1;
    sm_tuningjobs_job job = {.request = (json_t *)in,
                             .seed = seed_of(in),
                             .created = sm_jsonapi_now()};
    snprintf(job.name, sizeof job.name, "%s", name);
    sm_sm_arn(env, req->region, "hyper-parameter-tuning-job", name, job.arn,
              sizeof job.arn);
    char existing[256] = "";
    sm_error why = {0};
    sm_tuningjobs_status st =
        sm_tuningjobs_create(env->db, &job, existing, &why);
    if (st == SM_TUNINGJOBS_EXISTS)
        return sm_jsonapi_fail(err, SM_SM_IN_USE,
                               "A hyperparameter tuning job with the name, "
                               "%s, already exists. Choose a different name.",
                               name);
    if (st != SM_TUNINGJOBS_OK)
        return db_failed(&why, err);
    sm_tuner_wake(env->tuner);
    *out = json_pack("{s:s}", "HyperParameterTuningJobArn", job.arn);
    return 0;
}

/* ---- what Describe and the lists show ----------------------------------- */

/* A trial's objective value; 0 when it has one. */
static int trial_objective(const sm_tuner_plan *plan,
                           const sm_tuningjobs_trial *t, double *value)
{
    return plan->metric ? sm_tuningjobs_trial_metric(t, plan->metric, value)
                        : -1;
}

static int trial_running(const sm_tuningjobs_trial *t)
{
    return !strcmp(t->status, "InProgress") || !strcmp(t->status, "Stopping");
}

static const char *objective_status(const sm_tuner_plan *plan,
                                    const sm_tuningjobs_trial *t)
{
    double v;
    if (!trial_objective(plan, t, &v) ||
        (!plan->metric && !strcmp(t->status, "Completed")))
        return "Succeeded";
    return trial_running(t) ? "Pending" : "Failed";
}

static void set_time(json_t *o, const char *key, double t)
{
    if (t >= 0)
        json_object_set_new(o, key, sm_jsonapi_time(t));
}

static json_t *trial_summary(const sm_tuner_plan *plan, const char *tuning,
                             const sm_tuningjobs_trial *t)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:o, s:s, s:O, s:s}", "TrainingJobName",
                  t->name, "TrainingJobArn", t->arn, "TuningJobName", tuning,
                  "CreationTime", sm_jsonapi_time(t->created),
                  "TrainingJobStatus", t->status, "TunedHyperParameters",
                  t->tuned, "ObjectiveStatus", objective_status(plan, t));
    if (!o)
        return NULL;
    set_time(o, "TrainingStartTime", t->started);
    set_time(o, "TrainingEndTime", t->ended);
    if (t->failure[0])
        json_object_set_new(o, "FailureReason", json_string(t->failure));
    double v;
    if (!trial_objective(plan, t, &v))
        json_object_set_new(o, "FinalHyperParameterTuningJobObjectiveMetric",
                            json_pack("{s:s, s:s, s:f}", "Type",
                                      plan->maximize ? "Maximize" : "Minimize",
                                      "MetricName", plan->metric, "Value", v));
    return o;
}

/* The counters of Describe and ListHyperParameterTuningJobs. */
static void put_counters(json_t *o, const sm_tuner_plan *plan,
                         const sm_tuningjobs_trial *trials, size_t count)
{
    json_int_t done = 0, running = 0, retryable = 0, fatal = 0, stopped = 0;
    json_int_t ok = 0, pending = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        const sm_tuningjobs_trial *t = &trials[i];
        done += !strcmp(t->status, "Completed");
        running += trial_running(t);
        stopped += !strcmp(t->status, "Stopped");
        if (!strcmp(t->status, "Failed")) {
            int again = !strncmp(t->failure, "InternalServerError", 19);
            retryable += again;
            fatal += !again;
        }
        const char *objective = objective_status(plan, t);
        ok += !strcmp(objective, "Succeeded");
        pending += !strcmp(objective, "Pending");
        failed += !strcmp(objective, "Failed");
    }
    json_object_set_new(o, "TrainingJobStatusCounters",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "Completed",
                                  done, "InProgress", running, "RetryableError",
                                  retryable, "NonRetryableError", fatal,
                                  "Stopped", stopped));
    json_object_set_new(o, "ObjectiveStatusCounters",
                        json_pack("{s:I, s:I, s:I}", "Succeeded", ok, "Pending",
                                  pending, "Failed", failed));
}

/* The trial with the best objective, or NULL. */
static const sm_tuningjobs_trial *best_trial(const sm_tuner_plan *plan,
                                             const sm_tuningjobs_trial *trials,
                                             size_t count)
{
    const sm_tuningjobs_trial *best = NULL;
    double best_v = 0, v;
    for (size_t i = 0; i < count; i++) {
        if (trial_objective(plan, &trials[i], &v))
            continue;
        if (!best || (plan->maximize ? v > best_v : v < best_v)) {
            best = &trials[i];
            best_v = v;
        }
    }
    return best;
}

/* The latest change among the job and its trials. */
static double last_modified(const sm_tuningjobs_job *job,
                            const sm_tuningjobs_trial *trials, size_t count)
{
    double m = job->modified;
    for (size_t i = 0; i < count; i++) {
        m = trials[i].created > m ? trials[i].created : m;
        m = trials[i].ended > m ? trials[i].ended : m;
    }
    return m;
}

/* What both Describe and the list's summaries carry. */
static json_t *job_common(const sm_tuningjobs_job *job,
                          const sm_tuner_plan *plan,
                          const sm_tuningjobs_trial *trials, size_t count)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:o, s:o}", "HyperParameterTuningJobName", job->name,
        "HyperParameterTuningJobArn", job->arn, "HyperParameterTuningJobStatus",
        job->status, "CreationTime", sm_jsonapi_time(job->created),
        "LastModifiedTime", sm_jsonapi_time(last_modified(job, trials, count)));
    if (!o)
        return NULL;
    set_time(o, "HyperParameterTuningEndTime", job->ended);
    put_counters(o, plan, trials, count);
    return o;
}

/* A job and its trials, loaded. */
typedef struct loaded {
    sm_tuningjobs_job job;
    sm_tuner_plan plan;
    sm_tuningjobs_trial *trials;
    size_t count;
} loaded;

static void loaded_clear(loaded *l)
{
    sm_tuningjobs_trials_free(&l->trials, l->count);
    sm_tuningjobs_job_clear(&l->job);
}

static int load(sm_local_env *env, const char *name, loaded *l,
                sm_http_error *err)
{
    sm_error why = {0};
    memset(l, 0, sizeof *l);
    sm_tuningjobs_status st = sm_tuningjobs_get(env->db, name, &l->job, &why);
    if (st == SM_TUNINGJOBS_MISSING)
        return not_found(name, err);
    if (st != SM_TUNINGJOBS_OK ||
        sm_tuningjobs_trials(env->db, l->job.name, &l->trials, &l->count,
                             &why) != SM_TUNINGJOBS_OK) {
        loaded_clear(l);
        return db_failed(&why, err);
    }
    /* A stored request was checked when it came; a failure to read it
     * again leaves the plan empty, and Describe still answers. */
    sm_tuner_plan_read(l->job.request, &l->plan, &why);
    return 0;
}

static int describe_tuning_job(sm_local_env *env, const sm_http_request *req,
                               const json_t *in, json_t **out,
                               sm_http_error *err)
{
    const char *name = NULL;
    loaded l;
    if (tuning_name(in, &name, err) || load(env, name, &l, err))
        return -1;
    json_t *o = job_common(&l.job, &l.plan, l.trials, l.count);
    json_t *config = json_object_get(l.job.request, CONFIG);
    json_t *def = json_object_get(l.job.request, "TrainingJobDefinition");
    if (o && config)
        json_object_set(o, CONFIG, config);
    if (o && def)
        json_object_set(o, "TrainingJobDefinition", def);
    const sm_tuningjobs_trial *best = best_trial(&l.plan, l.trials, l.count);
    if (o && best)
        json_object_set_new(o, "BestTrainingJob",
                            trial_summary(&l.plan, l.job.name, best));
    if (o && l.job.failure[0])
        json_object_set_new(o, "FailureReason", json_string(l.job.failure));
    double end = l.job.ended >= 0 ? l.job.ended : sm_jsonapi_now();
    if (o)
        json_object_set_new(o, "ConsumedResources",
                            json_pack("{s:I}", "RuntimeInSeconds",
                                      (json_int_t)ceil(end - l.job.created)));
    loaded_clear(&l);
    if (!o)
        return sm_http_fail(err, 500, "InternalFailure", "out of memory");
    *out = o;
    return 0;
}

static int stop_tuning_job(sm_local_env *env, const sm_http_request *req,
                           const json_t *in, json_t **out, sm_http_error *err)
{
    const char *name = NULL;
    if (tuning_name(in, &name, err))
        return -1;
    char status[32] = "";
    sm_error why = {0};
    sm_tuningjobs_status st =
        sm_tuningjobs_stop(env->db, name, sm_jsonapi_now(), status, &why);
    if (st == SM_TUNINGJOBS_MISSING)
        return not_found(name, err);
    if (st == SM_TUNINGJOBS_NOT_RUNNING)
        return sm_jsonapi_fail(err, V,
                               "The request was rejected because the tuning "
                               "job is in status %s.",
                               status);
    if (st != SM_TUNINGJOBS_OK)
        return db_failed(&why, err);
    sm_tuner_wake(env->tuner);
    *out = json_object();
    return 0;
}

static void put_token(json_t *out, int more, size_t next)
{
    if (!more)
        return;
    char token[32];
    sm_jsonapi_token_make(next, token);
    json_object_set_new(out, "NextToken", json_string(token));
}

static json_t *list_summary(sm_local_env *env, const char *name)
{
    sm_http_error ignored = {0};
    loaded l;
    if (load(env, name, &l, &ignored))
        return NULL;
    json_t *o = job_common(&l.job, &l.plan, l.trials, l.count);
    json_t *config = json_object_get(l.job.request, CONFIG);
    if (o) {
        json_object_set_new(
            o, "Strategy",
            json_string(l.plan.strategy ? l.plan.strategy : "Bayesian"));
        json_t *limits = json_object_get(config, "ResourceLimits");
        if (limits)
            json_object_set(o, "ResourceLimits", limits);
    }
    loaded_clear(&l);
    return o;
}

static int list_tuning_jobs(sm_local_env *env, const sm_http_request *req,
                            const json_t *in, json_t **out, sm_http_error *err)
{
    static const char *const statuses[] = {
        "Completed", "InProgress", "Failed",       "Stopped",
        "Stopping",  "Deleting",   "DeleteFailed", NULL};
    static const char *const sorts[] = {"Name", "Status", "CreationTime", NULL};
    sm_trainjobs_query q;
    if (sm_training_list_query_read(in, statuses, sorts, &q, err))
        return -1;
    if (!q.sort_by)
        q.sort_by = "Name";
    char(*names)[64] = NULL;
    size_t count = 0;
    int more = 0;
    sm_error why = {0};
    if (sm_tuningjobs_list(env->db, &q, &names, &count, &more, &why))
        return db_failed(&why, err);
    json_t *summaries = json_array();
    for (size_t i = 0; i < count; i++) {
        json_t *s = list_summary(env, names[i]);
        if (s)
            json_array_append_new(summaries, s);
    }
    free(names);
    *out = json_pack("{s:o}", "HyperParameterTuningJobSummaries", summaries);
    put_token(*out, more, q.offset + q.limit);
    return 0;
}

/* ---- ListTrainingJobsForHyperParameterTuningJob ------------------------- */

typedef struct trial_order {
    const sm_tuner_plan *plan;
    const char *by;
    int descending;
} trial_order;

static int compare_trials(const sm_tuningjobs_trial *a,
                          const sm_tuningjobs_trial *b, const trial_order *o)
{
    int c = 0;
    if (!strcmp(o->by, "Name")) {
        c = strcasecmp(a->name, b->name);
    } else if (!strcmp(o->by, "Status")) {
        c = strcmp(a->status, b->status);
    } else if (!strcmp(o->by, "FinalObjectiveMetricValue")) {
        double x = 0, y = 0;
        trial_objective(o->plan, a, &x);
        trial_objective(o->plan, b, &y);
        c = (x > y) - (x < y);
    }
    if (!c)
        c = (a->created > b->created) - (a->created < b->created);
    if (!c)
        c = (a->index > b->index) - (a->index < b->index);
    return o->descending ? -c : c;
}

/* Insertion sort: a tuning job has hundreds of trials at most. */
static void sort_trials(const sm_tuningjobs_trial **v, size_t n,
                        const trial_order *o)
{
    for (size_t i = 1; i < n; i++) {
        const sm_tuningjobs_trial *t = v[i];
        size_t k = i;
        while (k > 0 && compare_trials(v[k - 1], t, o) > 0) {
            v[k] = v[k - 1];
            k--;
        }
        v[k] = t;
    }
}

/* The trials the query keeps: by status; with FinalObjectiveMetricValue,
 * only those with an objective value (as SageMaker lists them). */
static size_t keep_trials(const loaded *l, const char *status, const char *by,
                          const sm_tuningjobs_trial **v)
{
    size_t n = 0;
    double ignored;
    for (size_t i = 0; i < l->count; i++) {
        const sm_tuningjobs_trial *t = &l->trials[i];
        if (status && strcmp(t->status, status))
            continue;
        if (!strcmp(by, "FinalObjectiveMetricValue") &&
            trial_objective(&l->plan, t, &ignored))
            continue;
        v[n++] = t;
    }
    return n;
}

static int list_trials(sm_local_env *env, const sm_http_request *req,
                       const json_t *in, json_t **out, sm_http_error *err)
{
    static const char *const statuses[] = {
        "InProgress", "Completed", "Failed", "Stopping",
        "Stopped",    "Deleting",  NULL};
    static const char *const sorts[] = {"Name", "CreationTime", "Status",
                                        "FinalObjectiveMetricValue", NULL};
    const char *name = NULL;
    sm_trainjobs_query q;
    loaded l;
    if (tuning_name(in, &name, err))
        return -1;
    json_t *rest = json_deep_copy(in);
    json_object_del(rest, "HyperParameterTuningJobName");
    int rc = sm_training_list_query_read(rest, statuses, sorts, &q, err);
    if (!rc && q.name_contains)
        rc = sm_jsonapi_fail(err, V,
                             "NameContains is not a member of "
                             "ListTrainingJobsForHyperParameter"
                             "TuningJob.");
    if (rc || load(env, name, &l, err)) {
        json_decref(rest);
        return -1;
    }
    const sm_tuningjobs_trial **v = calloc(l.count + 1, sizeof *v);
    trial_order order = {&l.plan, q.sort_by ? q.sort_by : "Name", q.descending};
    size_t n = v ? keep_trials(&l, q.status_equals, order.by, v) : 0;
    sort_trials(v, n, &order);
    json_t *summaries = json_array();
    for (size_t i = q.offset; i < n && i < q.offset + q.limit; i++)
        json_array_append_new(summaries,
                              trial_summary(&l.plan, l.job.name, v[i]));
    *out = json_pack("{s:o}", "TrainingJobSummaries", summaries);
    put_token(*out, q.offset + q.limit < n, q.offset + q.limit);
    free(v);
    loaded_clear(&l);
    json_decref(rest);
    return 0;
}

static const sm_jsonapi_op tuning_rows[] = {
    {"CreateHyperParameterTuningJob", create_tuning_job},
    {"DescribeHyperParameterTuningJob", describe_tuning_job},
    {"ListHyperParameterTuningJobs", list_tuning_jobs},
    {"StopHyperParameterTuningJob", stop_tuning_job},
    {"ListTrainingJobsForHyperParameterTuningJob", list_trials},
};

const sm_jsonapi_ops sm_tuning_ops = SM_JSONAPI_OPS(tuning_rows);
