/* tuner: one thread, a tick every few hundred milliseconds (or when
 * woken), and for each active tuning job one pass: read its trials (their
 * state is their training jobs'), stop or launch, end the job when its
 * trials are done. All state is in the database, so a restart of the
 * service picks up where the last run left. */
#include "tuner.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "tunebayes.h"
#include "tuningjobs.h"

#define DEFAULT_TICK_MS 100
#define RETRYABLE "InternalServerError"

struct sm_tuner {
    sm_tuner_config config;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int closing, woken;
};

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)(tv.tv_usec / 1000) / 1000.0;
}

/* ---- the plan ----------------------------------------------------------- */

static size_t limit_of(const json_t *limits, const char *member)
{
    json_int_t n = json_integer_value(json_object_get(limits, member));
    return n > 0 ? (size_t)n : 0;
}

int sm_tuner_plan_read(const json_t *request, sm_tuner_plan *out, sm_error *err)
{
    memset(out, 0, sizeof *out);
    const json_t *config =
        json_object_get(request, "HyperParameterTuningJobConfig");
    const json_t *objective =
        json_object_get(config, "HyperParameterTuningJobObjective");
    const json_t *limits = json_object_get(config, "ResourceLimits");
    out->strategy = json_string_value(json_object_get(config, "Strategy"));
    out->metric = json_string_value(json_object_get(objective, "MetricName"));
    const char *type = json_string_value(json_object_get(objective, "Type"));
    out->maximize = type && !strcmp(type, "Maximize");
    out->max_jobs = limit_of(limits, "MaxNumberOfTrainingJobs");
    out->max_parallel = limit_of(limits, "MaxParallelTrainingJobs");
    out->definition = json_object_get(request, "TrainingJobDefinition");
    if (!out->strategy || !out->max_parallel ||
        !json_is_object(out->definition))
        return sm_error_set(err, "the tuning job's request lacks its "
                                 "Strategy, MaxParallelTrainingJobs or "
                                 "TrainingJobDefinition");
    if (sm_tunespace_parse(json_object_get(config, "ParameterRanges"),
                           &out->space, err))
        return -1;
    if (!strcmp(out->strategy, "Grid")) {
        size_t count = 0;
        if (sm_tunespace_grid_size(&out->space, SM_TUNER_GRID_LIMIT, &count,
                                   err))
            return -1;
        out->max_jobs =
            out->max_jobs && out->max_jobs < count ? out->max_jobs : count;
    }
    if (!out->max_jobs)
        return sm_error_set(err,
                            "The %s strategy needs "
                            "ResourceLimits.MaxNumberOfTrainingJobs.",
                            out->strategy);
    return 0;
}

json_t *sm_tuner_tuned(const sm_tuner_plan *plan, const double *u)
{
    json_t *tuned = json_object();
    for (size_t i = 0; tuned && i < plan->space.dims; i++) {
        char value[64];
        sm_tunespace_value(&plan->space, i, u[i], value);
        json_object_set_new(tuned, plan->space.params[i].name,
                            json_string(value));
    }
    return tuned;
}

/* A definition may give its instances as HyperParameterTuningResourceConfig
 * (what the SageMaker Python SDK sends) instead of ResourceConfig: its
 * type, count and volume, or those of its first InstanceConfigs entry,
 * become the trial's ResourceConfig. A ResourceConfig given stays. */
static int resources_from_tuning(json_t *req, const json_t *tuning)
{
    static const char *const fields[] = {"InstanceType", "InstanceCount",
                                         "VolumeSizeInGB", "VolumeKmsKeyId",
                                         NULL};
    if (json_object_get(req, "ResourceConfig") || !json_is_object(tuning))
        return 0;
    const json_t *from = tuning;
    const json_t *configs = json_object_get(tuning, "InstanceConfigs");
    if (!json_object_get(tuning, "InstanceType") &&
        json_is_object(json_array_get(configs, 0)))
        from = json_array_get(configs, 0);
    json_t *rc = json_object();
    for (size_t i = 0; rc && fields[i]; i++) {
        json_t *v = json_object_get(from, fields[i]);
        if (!v)
            v = json_object_get(tuning, fields[i]);
        if (v && json_object_set(rc, fields[i], v)) {
            json_decref(rc);
            rc = NULL;
        }
    }
    return rc ? json_object_set_new(req, "ResourceConfig", rc) : -1;
}

json_t *sm_tuner_trial_request(const sm_tuner_plan *plan, const char *name,
                               const json_t *tuned)
{
    static const char *const not_for_training[] = {
        "StaticHyperParameters",
        "DefinitionName",
        "TuningObjective",
        "HyperParameterRanges",
        "HyperParameterTuningResourceConfig",
        NULL};
    json_t *req = json_deep_copy(plan->definition);
    json_t *statics =
        json_object_get(plan->definition, "StaticHyperParameters");
    json_t *hp =
        json_is_object(statics) ? json_deep_copy(statics) : json_object();
    if (!req || !hp) {
        json_decref(req);
        json_decref(hp);
        return NULL;
    }
    if (resources_from_tuning(
            req, json_object_get(plan->definition,
                                 "HyperParameterTuningResourceConfig"))) {
        json_decref(req);
        json_decref(hp);
        return NULL;
    }
    for (size_t i = 0; not_for_training[i]; i++)
        json_object_del(req, not_for_training[i]);
    json_object_update(hp, (json_t *)tuned);
    if (plan->metric)
        json_object_set_new(hp, "_tuning_objective_metric",
                            json_string(plan->metric));
    json_object_set_new(req, "HyperParameters", hp);
    json_object_set_new(req, "TrainingJobName", json_string(name));
    return req;
}

/* ---- one pass over a tuning job ----------------------------------------- */

/* What a pass knows about a tuning job. */
typedef struct pass {
    sm_tuner *tuner;
    sm_tuningjobs_job job;
    sm_tuner_plan plan;
    sm_tuningjobs_trial *trials;
    size_t count;
    size_t running, originals, retries, completed;
    double pending[64 * SM_TUNESPACE_MAX]; /* launched in this pass */
    size_t pending_count;
} pass;

static int running(const sm_tuningjobs_trial *t)
{
    return !strcmp(t->status, "InProgress") || !strcmp(t->status, "Stopping");
}

static int retryable(const sm_tuningjobs_trial *t)
{
    return !strcmp(t->status, "Failed") &&
           !strncmp(t->failure, RETRYABLE, strlen(RETRYABLE));
}

/* A retryable trial nobody ran again yet, or NULL. */
static const sm_tuningjobs_trial *retry_due(const pass *p)
{
    if (p->retries >= p->plan.max_jobs)
        return NULL;
    for (size_t i = 0; i < p->count; i++) {
        if (!retryable(&p->trials[i]))
            continue;
        size_t k = 0;
        while (k < p->count &&
               strcasecmp(p->trials[k].retry_of, p->trials[i].name) != 0)
            k++;
        if (k == p->count)
            return &p->trials[i];
    }
    return NULL;
}

/* The trial's objective, to be minimized; 0 when it has one. */
static int objective(const pass *p, const sm_tuningjobs_trial *t, double *y)
{
    if (!p->plan.metric || sm_tuningjobs_trial_metric(t, p->plan.metric, y))
        return -1;
    if (p->plan.maximize)
        *y = -*y;
    return 0;
}

static void propose_bayesian(pass *p, sm_tunerng *rng, double *u)
{
    size_t d = p->plan.space.dims, n = 0, m = 0;
    double *x = malloc((p->count + 1) * d * sizeof *x);
    double *y = malloc((p->count + 1) * sizeof *y);
    double *pend = malloc((p->count + p->pending_count + 1) * d * sizeof *pend);
    for (size_t i = 0; x && y && pend && i < p->count; i++) {
        if (!objective(p, &p->trials[i], &y[n]))
            memcpy(x + d * n++, p->trials[i].point, d * sizeof *x);
        else if (running(&p->trials[i]))
            memcpy(pend + d * m++, p->trials[i].point, d * sizeof *x);
    }
    if (pend && p->pending_count)
        memcpy(pend + d * m, p->pending, p->pending_count * d * sizeof *pend);
    m += p->pending_count;
    sm_tunebayes_input in = {&p->plan.space, x, y, n, pend, m, 0};
    /* The trials launched before any result are random; a model of one
     * result already steers away from it, which did better on a 2-d test
     * function than more random trials first when trials run side by
     * side. */
    if (!x || !y || !pend || n == 0)
        sm_tunespace_random_point(&p->plan.space, rng, u);
    else
        sm_tunebayes_propose(&in, rng, u);
    free(x);
    free(y);
    free(pend);
}

/* The point of the next new trial (the `ordinal`-th, from 0). */
static void propose(pass *p, size_t ordinal, double *u)
{
    sm_tunerng rng;
    sm_tunerng_seed(&rng, p->job.seed * 0x100000001b3ULL + ordinal);
    if (!strcmp(p->plan.strategy, "Grid"))
        sm_tunespace_grid_point(&p->plan.space, ordinal, u);
    else if (!strcmp(p->plan.strategy, "Bayesian"))
        propose_bayesian(p, &rng, u);
    else
        sm_tunespace_random_point(&p->plan.space, &rng, u);
}

/* The training job's arn: the tuning job's with the trial's name. */
static void trial_arn(const char *tuning_arn, const char *trial, char *out,
                      size_t size)
{
    const char *slash = strrchr(tuning_arn, '/');
    const char *type = strstr(tuning_arn, "hyper-parameter-tuning-job/");
    int head = type    ? (int)(type - tuning_arn)
               : slash ? (int)(slash - tuning_arn)
                       : 0;
    size_t n =
        (size_t)snprintf(out, size, "%.*straining-job/", head, tuning_arn);
    for (; *trial && n + 1 < size; trial++, n++) {
        out[n] = (char)(*trial >= 'A' && *trial <= 'Z' ? *trial + 32 : *trial);
        out[n + 1] = '\0';
    }
}

/* Launch one trial. SM_TRAINJOBS_OK, or what kept it from starting. */
static sm_trainjobs_status launch(pass *p, const double *u, const json_t *tuned,
                                  const char *retry_of)
{
    long index = (long)(p->count + p->pending_count) + 1;
    sm_tunerng rng;
    sm_tunerng_seed(&rng,
                    p->job.seed ^ (uint64_t)(now_s() * 1e6) ^ (uint64_t)index);
    char name[64], arn[256], existing[256];
    snprintf(name, sizeof name, "%s-%03ld-%08x", p->job.name, index,
             (unsigned)(sm_tunerng_next(&rng) >> 32));
    trial_arn(p->job.arn, name, arn, sizeof arn);
    json_t *request = sm_tuner_trial_request(&p->plan, name, tuned);
    sm_trainjobs_new job = {.name = name,
                            .arn = arn,
                            .request = request,
                            .tuning_job_arn = p->job.arn,
                            .created = now_s()};
    size_t busy = 0;
    sm_error err = {0};
    sm_trainjobs_status st =
        request ? sm_trainer_submit(p->tuner->config.trainer, &job, existing,
                                    &busy, &err)
                : SM_TRAINJOBS_FAILED;
    json_decref(request);
    if (st == SM_TRAINJOBS_OK) {
        sm_tuningjobs_new_trial t = {
            p->job.name, name, retry_of, index, tuned, u, p->plan.space.dims};
        if (sm_tuningjobs_add_trial(p->tuner->config.db, &t, &err))
            sm_error("tuning job %s: %s", p->job.name, err.message);
    } else if (st != SM_TRAINJOBS_LIMIT) {
        sm_error("tuning job %s: cannot launch trial %s: %s", p->job.name, name,
                 err.message[0] ? err.message : "name taken");
    }
    return st;
}

/* Launch trials until MaxParallelTrainingJobs run or none is due. */
static void launch_due(pass *p)
{
    size_t d = p->plan.space.dims;
    while (p->running < p->plan.max_parallel &&
           p->pending_count < sizeof p->pending / sizeof p->pending[0] / d) {
        const sm_tuningjobs_trial *again = retry_due(p);
        double u[SM_TUNESPACE_MAX];
        if (!again && p->originals >= p->plan.max_jobs)
            return;
        if (again)
            memcpy(u, again->point, d * sizeof *u);
        else
            propose(p, p->originals, u);
        json_t *tuned =
            again ? json_incref(again->tuned) : sm_tuner_tuned(&p->plan, u);
        sm_trainjobs_status st =
            launch(p, u, tuned, again ? again->name : NULL);
        json_decref(tuned);
        if (st != SM_TRAINJOBS_OK)
            return;
        memcpy(p->pending + d * p->pending_count++, u, d * sizeof *u);
        p->running++;
        if (again) {
            p->retries++;
            return; /* the trials list must see it before the next retry */
        }
        p->originals++;
    }
}

static void count_trials(pass *p)
{
    for (size_t i = 0; i < p->count; i++) {
        const sm_tuningjobs_trial *t = &p->trials[i];
        p->running += running(t);
        p->completed += !strcmp(t->status, "Completed");
        if (t->retry_of[0])
            p->retries++;
        else
            p->originals++;
    }
}

static void set_status(pass *p, const char *status, const char *failure)
{
    sm_error err = {0};
    if (sm_tuningjobs_set_status(p->tuner->config.db, p->job.name, status,
                                 failure, 1, now_s(), &err) < 0)
        sm_error("tuning job %s: %s", p->job.name, err.message);
}

static void stop_trials(pass *p)
{
    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->trials[i].status, "InProgress"))
            continue;
        char status[32];
        sm_error err = {0};
        sm_trainer_request_stop(p->tuner->config.trainer, p->trials[i].name,
                                status, &err);
    }
}

static void finish(pass *p)
{
    char reason[160];
    if (p->completed || !p->count) {
        set_status(p, "Completed", NULL);
        return;
    }
    snprintf(reason, sizeof reason,
             "No training job succeeded after %zu attempts. Please take a "
             "look at the training job failures to get more details.",
             p->count);
    set_status(p, "Failed", reason);
}

/* Past ResourceLimits.MaxRuntimeInSeconds the job stops as
 * StopHyperParameterTuningJob stops it. */
static int out_of_time(pass *p)
{
    const json_t *limits = json_object_get(
        json_object_get(p->job.request, "HyperParameterTuningJobConfig"),
        "ResourceLimits");
    json_int_t most =
        json_integer_value(json_object_get(limits, "MaxRuntimeInSeconds"));
    if (most <= 0 || now_s() - p->job.created <= (double)most)
        return 0;
    char status[32];
    sm_error err = {0};
    if (sm_tuningjobs_stop(p->tuner->config.db, p->job.name, now_s(), status,
                           &err) < 0)
        sm_error("tuning job %s: %s", p->job.name, err.message);
    stop_trials(p);
    return 1;
}

static void look_after(sm_tuner *self, const char *name)
{
    pass *p = calloc(1, sizeof *p);
    sm_error err = {0};
    if (!p)
        return;
    p->tuner = self;
    if (sm_tuningjobs_get(self->config.db, name, &p->job, &err) != 0)
        goto out;
    if (sm_tuner_plan_read(p->job.request, &p->plan, &err)) {
        set_status(p, "Failed", err.message);
        goto out;
    }
    if (sm_tuningjobs_trials(self->config.db, p->job.name, &p->trials,
                             &p->count, &err) != 0)
        goto out;
    count_trials(p);
    if (!strcmp(p->job.status, "Stopping")) {
        stop_trials(p);
        if (!p->running)
            set_status(p, "Stopped", NULL);
        goto out;
    }
    if (out_of_time(p))
        goto out;
    launch_due(p);
    if (!p->running && p->originals >= p->plan.max_jobs && !retry_due(p))
        finish(p);
out:
    if (err.message[0])
        sm_error("tuning job %s: %s", name, err.message);
    sm_tuningjobs_trials_free(&p->trials, p->count);
    sm_tuningjobs_job_clear(&p->job);
    free(p);
}

/* ---- the thread --------------------------------------------------------- */

static int closing(sm_tuner *self)
{
    pthread_mutex_lock(&self->lock);
    int c = self->closing;
    pthread_mutex_unlock(&self->lock);
    return c;
}

static void tick(sm_tuner *self)
{
    char(*names)[64] = NULL;
    size_t count = 0;
    sm_error err = {0};
    if (sm_tuningjobs_active(self->config.db, &names, &count, &err) != 0)
        sm_error("tuning jobs: %s", err.message);
    for (size_t i = 0; i < count && !closing(self); i++)
        look_after(self, names[i]);
    free(names);
}

static void *tuner_main(void *arg)
{
    sm_tuner *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->closing) {
        pthread_mutex_unlock(&self->lock);
        tick(self);
        pthread_mutex_lock(&self->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long ns = until.tv_nsec + (long)self->config.tick_ms * 1000000L;
        until.tv_sec += ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        while (!self->closing && !self->woken &&
               pthread_cond_timedwait(&self->cond, &self->lock, &until) == 0)
            ;
        self->woken = 0;
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

sm_tuner *sm_tuner_open(const sm_tuner_config *config, sm_error *err)
{
    if (sm_tuningjobs_init(config->db, err))
        return NULL;
    sm_tuner *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    self->config = *config;
    if (self->config.tick_ms <= 0)
        self->config.tick_ms = DEFAULT_TICK_MS;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
    if (pthread_create(&self->thread, NULL, tuner_main, self)) {
        pthread_cond_destroy(&self->cond);
        pthread_mutex_destroy(&self->lock);
        free(self);
        sm_error_set(err, "cannot start the tuner's thread");
        return NULL;
    }
    return self;
}

void sm_tuner_wake(sm_tuner *self)
{
    pthread_mutex_lock(&self->lock);
    self->woken = 1;
    pthread_cond_signal(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

void sm_tuner_close(sm_tuner **self)
{
    sm_tuner *t = *self;
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->closing = 1;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
    *self = NULL;
}
