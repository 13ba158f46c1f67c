/* endpoint_track: a list of this kernel's endpoints under a mutex, and a
 * timer thread that deletes those whose time to live has passed. The
 * thread builds its own client from the settings an endpoint was created
 * with, so it never shares the cell's client. */
#include "endpoint_track.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "backend.h"
#include "journal.h"
#include "log.h"
#include "sagemaker.h"
#include "sagemaker_hosting.h"

/* After a failed delete (an endpoint still Creating cannot be deleted on
 * AWS), the timer tries again this much later. */
#define RETRY_SECONDS 15.0

typedef struct tracked {
    char *endpoint, *config, *model;
    json_t *settings; /* the sm_config values it was created with */
    double created, expires_at;
    struct tracked *next;
} tracked;

struct sm_tracker {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    tracked *head;
    bool thread_running, stopping;
    pthread_t thread;
    sm_backend *backend; /* the timer's, or shutdown's once it stopped */
};

static double epoch_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void tracked_free(tracked *t)
{
    if (!t)
        return;
    free(t->endpoint);
    free(t->config);
    free(t->model);
    json_decref(t->settings);
    free(t);
}

/* ---- deleting ------------------------------------------------------------ */

/* The journal's name of a kind of endpoint part. */
static const char *journal_kind(sm_sagemaker_kind kind)
{
    return kind == SM_SAGEMAKER_ENDPOINT          ? SM_JOURNAL_ENDPOINT
           : kind == SM_SAGEMAKER_ENDPOINT_CONFIG ? SM_JOURNAL_ENDPOINT_CONFIG
                                                  : SM_JOURNAL_MODEL;
}

/* Delete one resource; a missing one is fine. 1 deleted, 0 absent, -1. */
static int delete_one(sm_aws *aws, sm_sagemaker_kind kind, const char *name,
                      sm_buf *done, json_t *gone, sm_aws_error *err)
{
    if (!name || !*name)
        return 0;
    sm_aws_error e = {.http_status = 0};
    if (sm_sagemaker_delete(aws, kind, name, &e) == 0) {
        sm_buf_printf(done, "%s%s %s", done->len ? ", " : "",
                      sm_sagemaker_kind_label(kind), name);
        if (gone)
            json_array_append_new(gone,
                                  json_pack("{s:s, s:s}", "kind",
                                            journal_kind(kind), "name", name));
        return 1;
    }
    if (sm_sagemaker_error_is_not_found(&e))
        return 0;
    *err = e;
    return -1;
}

/* The model names of endpoint config `config` into `models` (new
 * strings), or `fallback` when the config is gone. */
static int config_models(sm_aws *aws, const char *config, const char *fallback,
                         json_t *models, sm_aws_error *err)
{
    sm_sagemaker_endpoint_config c;
    memset(&c, 0, sizeof c);
    sm_aws_error e = {.http_status = 0};
    if (!config || !*config ||
        sm_sagemaker_describe_endpoint_config(aws, config, &c, &e) != 0) {
        if (config && *config && !sm_sagemaker_error_is_not_found(&e)) {
            *err = e;
            return -1;
        }
        if (fallback && *fallback)
            json_array_append_new(models, json_string(fallback));
        return 0;
    }
    for (size_t i = 0; i < c.variant_count; i++)
        if (c.variants[i].model_name && *c.variants[i].model_name)
            json_array_append_new(models,
                                  json_string(c.variants[i].model_name));
    sm_sagemaker_endpoint_config_clear(&c);
    return 0;
}

int sm_endpoint_parts_find(sm_aws *aws, const char *name, const char *config,
                           const char *model, sm_endpoint_parts *out,
                           sm_aws_error *err)
{
    memset(out, 0, sizeof *out);
    sm_sagemaker_endpoint ep;
    memset(&ep, 0, sizeof ep);
    sm_aws_error e = {.http_status = 0};
    out->exists = sm_sagemaker_describe_endpoint(aws, name, &ep, &e) == 0;
    if (!out->exists && !sm_sagemaker_error_is_not_found(&e)) {
        *err = e;
        return -1;
    }
    out->name = strdup(name);
    out->config =
        strdup(out->exists && *ep.config_name ? ep.config_name
                                              : (config ? config : ""));
    sm_sagemaker_endpoint_clear(&ep);
    out->models = json_array();
    int rc = out->name && out->config && out->models ? 0 : -1;
    if (!rc)
        rc = config_models(aws, out->config, model, out->models, err);
    if (rc)
        sm_endpoint_parts_clear(out);
    return rc;
}

void sm_endpoint_parts_clear(sm_endpoint_parts *self)
{
    free(self->name);
    free(self->config);
    json_decref(self->models);
    memset(self, 0, sizeof *self);
}

void sm_endpoint_parts_describe(const sm_endpoint_parts *self, sm_buf *out)
{
    size_t n = json_array_size(self->models);
    sm_buf_printf(out, "endpoint %s", self->name);
    if (self->config[0])
        sm_buf_printf(out, "%s endpoint config %s", n ? "," : " and",
                      self->config);
    for (size_t i = 0; i < n; i++)
        sm_buf_printf(out, "%s model %s", i + 1 < n ? "," : " and",
                      json_string_value(json_array_get(self->models, i)));
}

int sm_endpoint_parts_delete(sm_aws *aws, const sm_endpoint_parts *parts,
                             sm_buf *done, json_t *gone, sm_aws_error *err)
{
    int rc = 0;
    if (parts->exists)
        rc = delete_one(aws, SM_SAGEMAKER_ENDPOINT, parts->name, done, gone,
                        err);
    if (rc >= 0)
        rc = delete_one(aws, SM_SAGEMAKER_ENDPOINT_CONFIG, parts->config, done,
                        gone, err);
    for (size_t i = 0; rc >= 0 && i < json_array_size(parts->models); i++)
        rc = delete_one(aws, SM_SAGEMAKER_MODEL,
                        json_string_value(json_array_get(parts->models, i)),
                        done, gone, err);
    return rc < 0 ? -1 : 0;
}

int sm_endpoint_delete_all(sm_aws *aws, const char *name, const char *config,
                           const char *model, sm_buf *done, json_t *gone,
                           sm_aws_error *err)
{
    sm_endpoint_parts parts;
    if (sm_endpoint_parts_find(aws, name, config, model, &parts, err))
        return -1;
    int rc = sm_endpoint_parts_delete(aws, &parts, done, gone, err);
    if (!rc && !parts.exists)
        rc = 1;
    sm_endpoint_parts_clear(&parts);
    return rc;
}

/* The settings an endpoint was created with as a config (new), or NULL. */
static sm_config *config_of(const json_t *settings)
{
    sm_config *config = sm_config_new();
    if (!config)
        return NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)settings, key, value)
        sm_config_set(config, key, json_string_value(value), NULL);
    return config;
}

/* A client for the settings an endpoint was created with (borrowed from
 * `backend`), or NULL with `err` filled. Never starts a local service. */
static sm_aws *client_for(sm_backend *backend, const json_t *settings,
                          sm_aws_error *err)
{
    sm_config *config = config_of(settings);
    sm_aws *aws = config ? sm_backend_client(backend, config, NULL, err) : NULL;
    sm_config_destroy(&config);
    return aws;
}

/* What the timer or shutdown deleted, in the journal of the settings the
 * endpoint was created with (a failure is the log's warning). */
static void journal_deleted(sm_tracker *self, const tracked *t,
                            const json_t *gone, const char *how)
{
    sm_config *config = config_of(t->settings);
    sm_error err = {0};
    if (config &&
        sm_journal_deleted_by_timer(
            config, sm_backend_region(self->backend, config), gone, how, &err))
        sm_warn("%s of endpoint %s is not in the experiment journal: %s", how,
                t->endpoint, err.message);
    sm_config_destroy(&config);
}

/* Delete a tracked endpoint with the tracker's own backend, as `how` says
 * in the journal. 0 when it is gone (deleted now or before), -1 with
 * `err` filled. */
static int delete_tracked(sm_tracker *self, const tracked *t, const char *how,
                          sm_aws_error *err)
{
    if (!self->backend && !(self->backend = sm_backend_new()))
        return -1;
    sm_aws *aws = client_for(self->backend, t->settings, err);
    if (!aws)
        return -1;
    sm_buf done = {0};
    json_t *gone = json_array();
    int rc = sm_endpoint_delete_all(aws, t->endpoint, t->config, t->model,
                                    &done, gone, err);
    if (json_array_size(gone))
        journal_deleted(self, t, gone, how);
    if (rc >= 0)
        sm_info("deleted %s", done.len ? sm_buf_str(&done) : t->endpoint);
    json_decref(gone);
    sm_buf_free(&done);
    return rc < 0 ? -1 : 0;
}

/* Nonzero unless the service says the endpoint is gone (when it cannot
 * be asked, it may well still run). */
static int still_there(sm_tracker *self, const tracked *t)
{
    sm_aws_error err = {.http_status = 0};
    if (!self->backend && !(self->backend = sm_backend_new()))
        return 1;
    sm_aws *aws = client_for(self->backend, t->settings, &err);
    json_t *found = aws ? sm_sagemaker_describe(aws, SM_SAGEMAKER_ENDPOINT,
                                                t->endpoint, &err)
                        : NULL;
    int there = found || !sm_sagemaker_error_is_not_found(&err);
    json_decref(found);
    return there;
}

/* ---- the list ------------------------------------------------------------ */

static tracked **find(sm_tracker *self, const char *endpoint)
{
    tracked **p = &self->head;
    while (*p && strcmp((*p)->endpoint, endpoint) != 0)
        p = &(*p)->next;
    return p;
}

/* The entry with the earliest time to live, or NULL. */
static tracked *next_expiring(sm_tracker *self)
{
    tracked *best = NULL;
    for (tracked *t = self->head; t; t = t->next)
        if (t->expires_at > 0 && (!best || t->expires_at < best->expires_at))
            best = t;
    return best;
}

static tracked *copy_of(const tracked *t)
{
    tracked *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->endpoint = strdup(t->endpoint);
    c->config = strdup(t->config);
    c->model = strdup(t->model);
    c->settings = json_deep_copy(t->settings);
    if (!c->endpoint || !c->config || !c->model || !c->settings) {
        tracked_free(c);
        return NULL;
    }
    return c;
}

/* ---- the timer ----------------------------------------------------------- */

/* Expire one entry: delete it without holding the lock, then forget it or
 * try again later. Called and returns with the lock held. */
static void expire(sm_tracker *self, tracked *due)
{
    tracked *job = copy_of(due);
    due->expires_at = epoch_now() + RETRY_SECONDS; /* until it is done */
    if (!job)
        return;
    pthread_mutex_unlock(&self->lock);
    sm_aws_error err = {.http_status = 0};
    int rc = delete_tracked(self, job, "ttl", &err);
    if (rc) {
        char text[1200];
        sm_aws_error_format(&err, text, sizeof text);
        sm_warn("time to live of endpoint %s: delete failed (trying again "
                "in %.0f s): %s",
                job->endpoint, RETRY_SECONDS, text);
    }
    pthread_mutex_lock(&self->lock);
    tracked **p = find(self, job->endpoint);
    if (!rc && *p) {
        tracked *gone = *p;
        *p = gone->next;
        tracked_free(gone);
    }
    tracked_free(job);
}

static void *timer_main(void *arg)
{
    sm_tracker *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        tracked *due = next_expiring(self);
        if (!due) {
            pthread_cond_wait(&self->changed, &self->lock);
            continue;
        }
        double now = epoch_now();
        if (now < due->expires_at) {
            double at = due->expires_at;
            struct timespec ts = {(time_t)at,
                                  (long)((at - (double)(time_t)at) * 1e9)};
            pthread_cond_timedwait(&self->changed, &self->lock, &ts);
            continue;
        }
        expire(self, due);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

static void timer_stop(sm_tracker *self)
{
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    bool running = self->thread_running;
    self->thread_running = false;
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->lock);
    if (running)
        pthread_join(self->thread, NULL);
}

/* ---- the interface ------------------------------------------------------- */

sm_tracker *sm_tracker_new(void)
{
    sm_tracker *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->changed, NULL);
    return self;
}

void sm_tracker_destroy(sm_tracker **pself)
{
    sm_tracker *self = *pself;
    if (!self)
        return;
    timer_stop(self);
    while (self->head) {
        tracked *t = self->head;
        self->head = t->next;
        tracked_free(t);
    }
    sm_backend_destroy(&self->backend);
    pthread_cond_destroy(&self->changed);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *pself = NULL;
}

int sm_tracker_add(sm_tracker *self, const char *endpoint, const char *config,
                   const char *model, const sm_config *settings,
                   double expires_at)
{
    tracked *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->endpoint = strdup(endpoint);
    t->config = strdup(config ? config : "");
    t->model = strdup(model ? model : "");
    t->settings = sm_config_to_json(settings);
    t->created = epoch_now();
    t->expires_at = expires_at;
    if (!t->endpoint || !t->config || !t->model || !t->settings) {
        tracked_free(t);
        return -1;
    }
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    tracked **p = find(self, endpoint);
    if (*p) { /* the same name again: the newer one counts */
        tracked *old = *p;
        *p = old->next;
        tracked_free(old);
    }
    for (p = &self->head; *p; p = &(*p)->next)
        ;
    *p = t;
    if (expires_at > 0 && !self->thread_running && !self->stopping) {
        rc =
            pthread_create(&self->thread, NULL, timer_main, self) == 0 ? 0 : -1;
        self->thread_running = rc == 0;
    }
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void sm_tracker_forget(sm_tracker *self, const char *endpoint)
{
    pthread_mutex_lock(&self->lock);
    tracked **p = find(self, endpoint);
    if (*p) {
        tracked *t = *p;
        *p = t->next;
        tracked_free(t);
    }
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->lock);
}

int sm_tracker_knows(sm_tracker *self, const char *endpoint)
{
    pthread_mutex_lock(&self->lock);
    int known = *find(self, endpoint) != NULL;
    pthread_mutex_unlock(&self->lock);
    return known;
}

json_t *sm_tracker_list(sm_tracker *self)
{
    json_t *list = json_array();
    pthread_mutex_lock(&self->lock);
    for (tracked *t = self->head; list && t; t = t->next)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:f, s:f}",
                                              "endpoint", t->endpoint, "config",
                                              t->config, "model", t->model,
                                              "created", t->created,
                                              "expires_at", t->expires_at));
    pthread_mutex_unlock(&self->lock);
    return list;
}

void sm_tracker_shutdown(sm_tracker *self, bool cleanup)
{
    timer_stop(self);
    while (self->head) {
        tracked *t = self->head;
        self->head = t->next;
        sm_aws_error err = {.http_status = 0};
        if (cleanup && delete_tracked(self, t, "cleanup_on_exit", &err) != 0) {
            char text[1200];
            sm_aws_error_format(&err, text, sizeof text);
            sm_warn("cleanup_on_exit: could not delete endpoint %s: %s",
                    t->endpoint, text);
        } else if (!cleanup && still_there(self, t)) {
            sm_warn("endpoint %s, created by this kernel, is left running "
                    "(delete it with %%delete %s, or set %%config "
                    "cleanup_on_exit=true)",
                    t->endpoint, t->endpoint);
        }
        tracked_free(t);
    }
}
