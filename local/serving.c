/* serving: three tables (models, endpoint configs, endpoints), a list of
 * live deployments that request threads read under a read lock, and one
 * loader thread that turns Creating and Updating endpoints into loaded
 * models and Deleting ones into nothing. A deployment is reference
 * counted, so an update swaps it while requests finish on the old one. */
#include "serving.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "images.h"
#include "log.h"
#include "logstore.h"
#include "sagemaker_api.h"
#include "store.h"

#define NAME_MAX_LEN 64
#define VARIANTS_MAX 10
#define CODE "ValidationException"

static const sm_awsjson_rule name_rule = {1, 63, SM_AWSJSON_RESOURCE_NAME};
static const sm_awsjson_rule filter_rule = {0, 63, SM_AWSJSON_NAME_FILTER};
static const sm_awsjson_rule image_rule = {1, 255, SM_AWSJSON_NO_SPACE};
static const sm_awsjson_rule url_rule = {1, 1024, SM_AWSJSON_S3_URI};
static const sm_awsjson_rule role_rule = {20, 2048, SM_AWSJSON_ROLE_ARN};
static const sm_awsjson_rule token_rule = {0, 8192, SM_AWSJSON_LINE};
static const char PATTERN[] = "Member must satisfy regular expression pattern: "
                              "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}";

/* One production variant as deployed. */
typedef struct variant {
    char name[NAME_MAX_LEN];
    char default_accept[64];
    double weight;
    sm_predict_model *model;
} variant;

/* The models one endpoint serves; freed by the last release. */
typedef struct deployment {
    atomic_int refs;
    size_t count;
    double total_weight;
    variant v[VARIANTS_MAX];
} deployment;

typedef struct live {
    char name[NAME_MAX_LEN];
    deployment *d;
} live;

typedef struct job {
    char name[NAME_MAX_LEN];
    struct job *next;
} job;

struct sm_serving {
    sm_serving_config config;
    pthread_rwlock_t lock; /* live */
    live *live;
    size_t live_count, live_cap;
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_cond;
    job *head, *tail;
    int stopping;
    int loader_started;
    pthread_t loader;
};

/* ---- deployments -------------------------------------------------------- */

static void deployment_release(deployment *d)
{
    if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
        return;
    for (size_t i = 0; i < d->count; i++)
        sm_predict_model_destroy(&d->v[i].model);
    free(d);
}

/* Make `d` (steals; NULL removes) the live deployment of `name`. */
static int live_set(sm_serving *self, const char *name, deployment *d)
{
    deployment *old = NULL;
    int rc = 0;
    pthread_rwlock_wrlock(&self->lock);
    size_t i = 0;
    while (i < self->live_count && strcasecmp(self->live[i].name, name) != 0)
        i++;
    if (i < self->live_count) {
        old = self->live[i].d;
        if (d)
            self->live[i].d = d;
        else
            self->live[i] = self->live[--self->live_count];
    } else if (d) {
        if (self->live_count == self->live_cap) {
            size_t cap = self->live_cap ? self->live_cap * 2 : 8;
            live *grown = realloc(self->live, cap * sizeof *grown);
            if (grown) {
                self->live = grown;
                self->live_cap = cap;
            }
        }
        if (self->live_count < self->live_cap) {
            live *l = &self->live[self->live_count++];
            snprintf(l->name, sizeof l->name, "%s", name);
            l->d = d;
        } else {
            old = d; /* out of memory: drop it */
            rc = -1;
        }
    }
    pthread_rwlock_unlock(&self->lock);
    deployment_release(old);
    return rc;
}

/* A cheap per-thread random number for weighted variant choice. */
static double thread_random(void)
{
    static _Thread_local uint64_t state;
    if (!state)
        state = (uint64_t)(uintptr_t)&state ^ 0x9e3779b97f4a7c15ull;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) / (double)(1ull << 53);
}

static const variant *deployment_pick(const deployment *d, const char *target)
{
    if (target) {
        for (size_t i = 0; i < d->count; i++)
            if (strcmp(d->v[i].name, target) == 0)
                return &d->v[i];
        return NULL;
    }
    if (d->count == 1 || d->total_weight <= 0)
        return &d->v[0];
    double r = thread_random() * d->total_weight;
    for (size_t i = 0; i < d->count; i++) {
        if (r < d->v[i].weight)
            return &d->v[i];
        r -= d->v[i].weight;
    }
    return &d->v[d->count - 1];
}

sm_serving_found sm_serving_acquire(sm_serving *self, const char *endpoint,
                                    const char *target_variant,
                                    sm_serving_lease *lease)
{
    *lease = (sm_serving_lease){0};
    deployment *d = NULL;
    pthread_rwlock_rdlock(&self->lock);
    for (size_t i = 0; i < self->live_count; i++) {
        if (strcasecmp(self->live[i].name, endpoint) == 0) {
            d = self->live[i].d;
            atomic_fetch_add(&d->refs, 1);
            break;
        }
    }
    pthread_rwlock_unlock(&self->lock);
    if (!d)
        return SM_SERVING_NO_ENDPOINT;
    const variant *v = deployment_pick(d, target_variant);
    if (!v) {
        deployment_release(d);
        return SM_SERVING_NO_VARIANT;
    }
    *lease = (sm_serving_lease){
        d, v->model, v->name, v->default_accept[0] ? v->default_accept : NULL};
    return SM_SERVING_SERVING;
}

void sm_serving_release(sm_serving_lease *lease)
{
    deployment_release(lease->deployment);
    *lease = (sm_serving_lease){0};
}

/* ---- names and URIs ----------------------------------------------------- */

/* The ARN of `kind`/`name` as SageMaker writes it (sm_sm_arn's twin for
 * code that has the serving but no env). */
static void arn_of(const sm_serving *self, const char *kind, const char *name,
                   char out[256])
{
    int n = snprintf(out, 256, "arn:aws:sagemaker:%s:%s:%s/",
                     self->config.region, self->config.account_id, kind);
    for (const char *p = name; *p && n < 255; p++)
        out[n++] = (char)tolower((unsigned char)*p);
    out[n < 255 ? n : 255] = '\0';
}

int sm_serving_s3_uri(const char *uri, char bucket_out[64], const char **key)
{
    if (!uri || strncmp(uri, "s3://", 5) != 0)
        return -1;
    const char *b = uri + 5, *slash = strchr(b, '/');
    size_t n = slash ? (size_t)(slash - b) : strlen(b);
    if (n == 0 || n >= 64)
        return -1;
    memcpy(bucket_out, b, n);
    bucket_out[n] = '\0';
    *key = slash ? slash + 1 : "";
    return 0;
}

/* ---- the database ------------------------------------------------------- */

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS serving_models ("
    " name TEXT PRIMARY KEY COLLATE NOCASE, created REAL NOT NULL,"
    " spec TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS serving_endpoint_configs ("
    " name TEXT PRIMARY KEY COLLATE NOCASE, created REAL NOT NULL,"
    " spec TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS serving_endpoints ("
    " name TEXT PRIMARY KEY COLLATE NOCASE, config TEXT NOT NULL,"
    " status TEXT NOT NULL, failure TEXT, created REAL NOT NULL,"
    " modified REAL NOT NULL, deployed TEXT, pending TEXT);";

/* The spec (new) and creation time of `name` in `table`: 0, 1 when there
 * is none, -1 with `err`. */
struct spec_out {
    json_t **spec;
    double *created;
    const char *table;
};

static int spec_read(sqlite3_stmt *st, void *row, sm_error *err)
{
    struct spec_out *o = row;
    *o->spec = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    if (o->created)
        *o->created = sqlite3_column_double(st, 1);
    return *o->spec ? 0 : sm_error_set(err, "a stored %s is broken", o->table);
}

static int spec_get(sm_serving *self, const char *table, const char *name,
                    json_t **spec, double *created, sm_error *err)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT spec, created FROM %s WHERE name = ?",
             table);
    struct spec_out o = {spec, created, table};
    return sm_db_get(self->config.db, sql, name, spec_read, &o, err);
}

/* Insert `name` with `spec`; 1 when the name is taken. */
static int spec_insert(sm_serving *self, const char *table, const char *name,
                       const json_t *spec, double created, sm_error *err)
{
    char sql[128];
    snprintf(sql, sizeof sql,
             "INSERT OR IGNORE INTO %s (name, created, spec) VALUES (?,?,?)",
             table);
    char *text = json_dumps(spec, JSON_COMPACT);
    if (!text)
        return sm_error_set(err, "out of memory");
    sqlite3 *db = sm_db_lock(self->config.db);
    sqlite3_stmt *st = sm_db_prepare(db, sql, err);
    int rc = -1;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 2, created);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = sqlite3_changes(db) ? 0 : 1;
        else
            rc = sm_db_fail(db, err, "insert");
    }
    sqlite3_finalize(st);
    sm_db_unlock(self->config.db);
    free(text);
    return rc;
}

/* Delete `name` from `table`; 1 when there was none. */
static int row_delete(sm_serving *self, const char *table, const char *name,
                      sm_error *err)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE name = ?", table);
    sqlite3 *db = sm_db_lock(self->config.db);
    sqlite3_stmt *st = sm_db_prepare(db, sql, err);
    int rc = -1;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = sqlite3_changes(db) ? 0 : 1;
        else
            rc = sm_db_fail(db, err, "delete");
    }
    sqlite3_finalize(st);
    sm_db_unlock(self->config.db);
    return rc;
}

/* An endpoint's row. Strings owned by the struct; endpoint_clear. */
typedef struct endpoint_row {
    char name[NAME_MAX_LEN];
    char config[NAME_MAX_LEN];
    char status[32];
    char *failure;
    double created, modified;
    json_t *deployed; /* [{VariantName, ModelName, Image, ...}] or NULL */
    char pending[NAME_MAX_LEN];
} endpoint_row;

static void endpoint_clear(endpoint_row *e)
{
    free(e->failure);
    json_decref(e->deployed);
    *e = (endpoint_row){0};
}

static void column_copy(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", s ? s : "");
}

static void endpoint_read(sqlite3_stmt *st, endpoint_row *e)
{
    column_copy(st, 0, e->name, sizeof e->name);
    column_copy(st, 1, e->config, sizeof e->config);
    column_copy(st, 2, e->status, sizeof e->status);
    const char *failure = (const char *)sqlite3_column_text(st, 3);
    e->failure = failure ? strdup(failure) : NULL;
    e->created = sqlite3_column_double(st, 4);
    e->modified = sqlite3_column_double(st, 5);
    const char *deployed = (const char *)sqlite3_column_text(st, 6);
    e->deployed = deployed ? json_loads(deployed, 0, NULL) : NULL;
    column_copy(st, 7, e->pending, sizeof e->pending);
}

#define ENDPOINT_COLUMNS                                                       \
    "name, config, status, failure, created, modified, deployed, pending"

static int endpoint_read_row(sqlite3_stmt *st, void *row, sm_error *err)
{
    endpoint_read(st, row);
    return 0;
}

static int endpoint_get(sm_serving *self, const char *name, endpoint_row *e,
                        sm_error *err)
{
    *e = (endpoint_row){0};
    return sm_db_get(self->config.db,
                     "SELECT " ENDPOINT_COLUMNS
                     " FROM serving_endpoints WHERE name = ?",
                     name, endpoint_read_row, e, err);
}

/* Run `sql` with text parameters (NULL binds NULL) and `now` as ?9;
 * sets *changed to the rows it changed. */
static int endpoint_exec(sm_serving *self, const char *sql,
                         const char *const *params, size_t count, int *changed,
                         sm_error *err)
{
    return sm_db_run(self->config.db, sql, params, count, sm_jsonapi_now(),
                     changed, err);
}

int sm_serving_endpoint_status(sm_serving *self, const char *name, char out[32])
{
    endpoint_row e;
    sm_error err = {0};
    if (endpoint_get(self, name, &e, &err) != 0)
        return 1;
    snprintf(out, 32, "%s", e.status);
    endpoint_clear(&e);
    return 0;
}

/* ---- loading models ----------------------------------------------------- */

typedef struct object_source {
    sm_store_reader *reader;
    uint64_t offset;
} object_source;

static ssize_t object_read(void *ctx, void *buf, size_t len)
{
    object_source *src = ctx;
    ssize_t n = sm_store_reader_read(src->reader, src->offset, buf, len);
    if (n > 0)
        src->offset += (uint64_t)n;
    return n;
}

sm_predict_model *sm_serving_model_load(sm_serving *self,
                                        const char *model_data_url, int nthread,
                                        sm_error *err)
{
    char bucket[64];
    const char *key = NULL;
    if (sm_serving_s3_uri(model_data_url, bucket, &key)) {
        sm_error_set(err, "ModelDataUrl %s is not an s3:// URI",
                     model_data_url);
        return NULL;
    }
    sm_store_object obj = {0};
    sm_store_reader *reader = NULL;
    sm_error store_err = {0};
    sm_store_status st = sm_store_object_open(self->config.store, bucket, key,
                                              &obj, &reader, &store_err);
    sm_store_object_clear(&obj);
    if (st != SM_STORE_OK) {
        sm_error_set(err, "Could not find model data at %s.", model_data_url);
        return NULL;
    }
    object_source src = {reader, 0};
    sm_error why = {0};
    sm_predict_model *m =
        sm_predict_model_load_targz(object_read, &src, nthread, &why);
    sm_store_reader_close(&reader);
    if (!m)
        sm_error_set(err, "Failed to load the model at %s: %s", model_data_url,
                     why.message);
    return m;
}

int sm_serving_model_info_get(sm_serving *self, const char *model_name,
                              sm_serving_model_info *info, sm_error *err)
{
    *info = (sm_serving_model_info){0};
    json_t *spec = NULL;
    int rc = spec_get(self, "serving_models", model_name, &spec, NULL, err);
    if (rc)
        return rc;
    const char *image = NULL, *url = NULL, *accept = NULL;
    json_unpack(spec, "{s:{s?s, s?s, s?{s?s}}}", "PrimaryContainer", "Image",
                &image, "ModelDataUrl", &url, "Environment",
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", &accept);
    info->image = strdup(image ? image : "");
    info->model_data_url = strdup(url ? url : "");
    info->default_accept = accept ? strdup(accept) : NULL;
    json_decref(spec);
    if (!info->image || !info->model_data_url) {
        sm_serving_model_info_clear(info);
        return sm_error_set(err, "out of memory");
    }
    return 0;
}

void sm_serving_model_info_clear(sm_serving_model_info *info)
{
    free(info->image);
    free(info->model_data_url);
    free(info->default_accept);
    *info = (sm_serving_model_info){0};
}

/* One line to the endpoint's log group, as the container's log would
 * have it, in the variant's stream. */
static void endpoint_log(sm_serving *self, const char *endpoint,
                         const char *variant_name, const char *line)
{
    char group[128], stream[128];
    snprintf(group, sizeof group, "/aws/sagemaker/Endpoints/%s", endpoint);
    snprintf(stream, sizeof stream, "%s/local-0", variant_name);
    int64_t now = (int64_t)(sm_jsonapi_now() * 1000);
    sm_logstore_input ev = {now, line};
    sm_error err = {0};
    sm_logstore_put(self->config.db, group, stream, &ev, 1, now, &err);
}

/* The variants of endpoint config `config_name` loaded into a new
 * deployment for `endpoint`, and their description (new) into
 * *deployed. */
static deployment *deploy(sm_serving *self, const char *endpoint,
                          const char *config_name, json_t **deployed,
                          sm_error *err)
{
    json_t *spec = NULL;
    int rc = spec_get(self, "serving_endpoint_configs", config_name, &spec,
                      NULL, err);
    if (rc == 1)
        sm_error_set(err, "The endpoint configuration %s no longer exists.",
                     config_name);
    if (rc)
        return NULL;
    json_t *variants = json_object_get(spec, "ProductionVariants");
    deployment *d = calloc(1, sizeof *d);
    *deployed = json_array();
    if (!d || !*deployed) {
        free(d);
        json_decref(*deployed);
        *deployed = NULL;
        json_decref(spec);
        sm_error_set(err, "out of memory");
        return NULL;
    }
    atomic_init(&d->refs, 1);
    size_t i;
    json_t *pv;
    json_array_foreach(variants, i, pv)
    {
        if (i >= VARIANTS_MAX)
            break;
        const char *vname = "", *model = "";
        double weight = 1.0;
        json_int_t count = 1;
        json_unpack(pv, "{s?s, s?s, s?F, s?I}", "VariantName", &vname,
                    "ModelName", &model, "InitialVariantWeight", &weight,
                    "InitialInstanceCount", &count);
        sm_serving_model_info info;
        int found = sm_serving_model_info_get(self, model, &info, err);
        if (found == 1)
            sm_error_set(err, "Could not find model \"%s\".", model);
        if (found)
            break;
        variant *v = &d->v[d->count];
        v->model = sm_serving_model_load(self, info.model_data_url, 1, err);
        snprintf(v->name, sizeof v->name, "%s", vname);
        snprintf(v->default_accept, sizeof v->default_accept, "%s",
                 info.default_accept ? info.default_accept : "");
        v->weight = weight;
        json_t *snapshot =
            json_pack("{s:s, s:s, s:s, s:f, s:I}", "VariantName", vname,
                      "ModelName", model, "Image", info.image, "Weight", weight,
                      "InstanceCount", count);
        json_t *serverless = json_object_get(pv, "ServerlessConfig");
        if (serverless)
            json_object_set(snapshot, "Serverless", serverless);
        json_array_append_new(*deployed, snapshot);
        char line[1024];
        if (v->model)
            snprintf(line, sizeof line,
                     "Model %s loaded from %s: objective %s, %zu features",
                     model, info.model_data_url,
                     sm_predict_model_objective(v->model),
                     sm_predict_model_features(v->model));
        else
            snprintf(line, sizeof line, "Model %s failed to load: %.900s",
                     model, err->message);
        endpoint_log(self, endpoint, vname, line);
        sm_serving_model_info_clear(&info);
        if (!v->model)
            break;
        d->total_weight += weight;
        d->count++;
    }
    json_decref(spec);
    if (d->count == 0 || d->count < json_array_size(variants)) {
        sm_error_set(err, "The endpoint configuration has no variant.");
        deployment_release(d);
        json_decref(*deployed);
        *deployed = NULL;
        return NULL;
    }
    return d;
}

/* ---- the loader --------------------------------------------------------- */

static void enqueue(sm_serving *self, const char *name)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    snprintf(j->name, sizeof j->name, "%s", name);
    pthread_mutex_lock(&self->queue_lock);
    if (self->tail)
        self->tail->next = j;
    else
        self->head = j;
    self->tail = j;
    pthread_cond_signal(&self->queue_cond);
    pthread_mutex_unlock(&self->queue_lock);
}

/* Deploy `config` for endpoint `e` that is in `from` status; on success
 * InService with it, on failure Failed (creating) or back in service
 * with the old config (updating). */
static void endpoint_deploy(sm_serving *self, const endpoint_row *e,
                            const char *config, const char *from)
{
    sm_error err = {0};
    json_t *deployed = NULL;
    deployment *d = deploy(self, e->name, config, &deployed, &err);
    char *text = deployed ? json_dumps(deployed, JSON_COMPACT) : NULL;
    json_decref(deployed);
    int changed = 0;
    if (d) {
        /* serve first, then say InService: a caller that sees the status
         * gets the new models */
        live_set(self, e->name, d);
        const char *p[] = {e->name, from, config, text};
        endpoint_exec(self,
                      "UPDATE serving_endpoints SET status = 'InService', "
                      "config = ?3, deployed = ?4, pending = NULL, "
                      "failure = NULL, modified = ?9 "
                      "WHERE name = ?1 AND status = ?2",
                      p, 4, &changed, &err);
        if (!changed) /* deleted meanwhile */
            live_set(self, e->name, NULL);
        sm_info("endpoint %s: %s with %s", e->name,
                changed ? "in service" : "gone meanwhile", config);
    } else {
        int updating = strcmp(from, "Updating") == 0;
        const char *p[] = {e->name, from, updating ? "InService" : "Failed",
                           err.message};
        endpoint_exec(self,
                      "UPDATE serving_endpoints SET status = ?3, "
                      "failure = ?4, pending = NULL, modified = ?9 "
                      "WHERE name = ?1 AND status = ?2",
                      p, 4, &changed, &err);
        sm_warn("endpoint %s: %s", e->name, err.message);
    }
    free(text);
}

static void endpoint_work(sm_serving *self, const char *name)
{
    endpoint_row e;
    sm_error err = {0};
    if (endpoint_get(self, name, &e, &err) != 0)
        return;
    if (strcmp(e.status, "Creating") == 0)
        endpoint_deploy(self, &e, e.config, "Creating");
    else if (strcmp(e.status, "Updating") == 0)
        endpoint_deploy(self, &e, e.pending, "Updating");
    else if (strcmp(e.status, "Deleting") == 0) {
        live_set(self, e.name, NULL);
        const char *p[] = {e.name};
        endpoint_exec(self,
                      "DELETE FROM serving_endpoints WHERE name = ?1 "
                      "AND status = 'Deleting' AND ?9 IS NOT NULL",
                      p, 1, NULL, &err);
        sm_info("endpoint %s: deleted", e.name);
    }
    endpoint_clear(&e);
}

static void *loader_main(void *arg)
{
    sm_serving *self = arg;
    pthread_mutex_lock(&self->queue_lock);
    for (;;) {
        while (!self->head && !self->stopping)
            pthread_cond_wait(&self->queue_cond, &self->queue_lock);
        if (self->stopping)
            break;
        job *j = self->head;
        self->head = j->next;
        if (!self->head)
            self->tail = NULL;
        pthread_mutex_unlock(&self->queue_lock);
        endpoint_work(self, j->name);
        free(j);
        pthread_mutex_lock(&self->queue_lock);
    }
    pthread_mutex_unlock(&self->queue_lock);
    return NULL;
}

/* At start: reload what was in service, queue what was in progress. */
static int serving_resume(sm_serving *self, sm_error *err)
{
    sqlite3 *db = sm_db_lock(self->config.db);
    sqlite3_stmt *st = sm_db_prepare(
        db, "SELECT " ENDPOINT_COLUMNS " FROM serving_endpoints", err);
    size_t count = 0, cap = 0;
    endpoint_row *rows = NULL;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            endpoint_row *grown = realloc(rows, cap * sizeof *rows);
            if (!grown)
                break;
            rows = grown;
        }
        rows[count] = (endpoint_row){0};
        endpoint_read(st, &rows[count++]);
    }
    sqlite3_finalize(st);
    sm_db_unlock(self->config.db);
    for (size_t i = 0; i < count; i++) {
        endpoint_row *e = &rows[i];
        if (strcmp(e->status, "InService") == 0) {
            /* load now, before the first request can come */
            const char *p[] = {e->name};
            endpoint_exec(self,
                          "UPDATE serving_endpoints SET status = 'Creating' "
                          "WHERE name = ?1 AND ?9 IS NOT NULL",
                          p, 1, NULL, err);
            endpoint_deploy(self, e, e->config, "Creating");
        } else if (strcmp(e->status, "Failed") != 0) {
            enqueue(self, e->name);
        }
        endpoint_clear(e);
    }
    free(rows);
    return st ? 0 : -1;
}

sm_serving *sm_serving_open(const sm_serving_config *config, sm_error *err)
{
    sm_serving *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    self->config = *config;
    pthread_rwlock_init(&self->lock, NULL);
    pthread_mutex_init(&self->queue_lock, NULL);
    pthread_cond_init(&self->queue_cond, NULL);
    sqlite3 *db = sm_db_lock(config->db);
    int rc = sm_db_exec(db, SCHEMA, err);
    sm_db_unlock(config->db);
    if (!rc)
        rc = sm_logstore_init(config->db, err);
    if (!rc)
        rc = serving_resume(self, err);
    if (!rc && pthread_create(&self->loader, NULL, loader_main, self) != 0)
        rc = sm_error_set(err, "cannot start the endpoint loader");
    self->loader_started = rc == 0;
    if (rc)
        sm_serving_close(&self);
    return self;
}

void sm_serving_close(sm_serving **self)
{
    sm_serving *s = *self;
    if (!s)
        return;
    pthread_mutex_lock(&s->queue_lock);
    s->stopping = 1;
    pthread_cond_signal(&s->queue_cond);
    pthread_mutex_unlock(&s->queue_lock);
    if (s->loader_started)
        pthread_join(s->loader, NULL);
    while (s->head) {
        job *j = s->head;
        s->head = j->next;
        free(j);
    }
    for (size_t i = 0; i < s->live_count; i++)
        deployment_release(s->live[i].d);
    free(s->live);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->queue_lock);
    pthread_cond_destroy(&s->queue_cond);
    free(s);
    *self = NULL;
}

/* ---- operations: shared pieces ------------------------------------------ */

static sm_serving *serving_of(sm_local_env *env)
{
    return env->serving;
}

static int internal(sm_http_error *err, const sm_error *why)
{
    return sm_http_fail(err, 500, "InternalFailure", "%s", why->message);
}

static int not_found(sm_serving *self, sm_http_error *err, const char *what,
                     const char *kind, const char *name)
{
    char arn[256];
    arn_of(self, kind, name, arn);
    return sm_jsonapi_fail(err, CODE, "Could not find %s \"%s\".", what, arn);
}

/* The filters and paging every List operation reads. */
typedef struct list_query {
    const char *name_contains, *status, *token;
    const char *sort_by, *sort_order;
    long long max;
    double created_before, created_after, modified_before, modified_after;
    int has_cb, has_ca, has_mb, has_ma;
    size_t offset;
} list_query;

static int list_query_read(const json_t *in, const char *const *sorts,
                           const char *const *statuses, list_query *q,
                           sm_http_error *err)
{
    static const char *const orders[] = {"Ascending", "Descending", NULL};
    *q = (list_query){
        .max = 10, .sort_by = "CreationTime", .sort_order = "Descending"};
    int rc = sm_jsonapi_str(in, "NameContains", "NameContains", 0, &filter_rule,
                            "Member must satisfy regular expression pattern: "
                            "[a-zA-Z0-9-]+",
                            CODE, &q->name_contains, err);
    if (!rc)
        rc = sm_jsonapi_enum(in, "SortBy", "SortBy", 0, sorts, CODE,
                             &q->sort_by, err);
    if (!rc)
        rc = sm_jsonapi_enum(in, "SortOrder", "SortOrder", 0, orders, CODE,
                             &q->sort_order, err);
    if (!rc && statuses)
        rc = sm_jsonapi_enum(in, "StatusEquals", "StatusEquals", 0, statuses,
                             CODE, &q->status, err);
    if (!rc)
        rc = sm_jsonapi_int(in, "MaxResults", "MaxResults", 0, 1, 100, CODE,
                            &q->max, err);
    if (!rc)
        rc = sm_jsonapi_str(in, "NextToken", "NextToken", 0, &token_rule, NULL,
                            CODE, &q->token, err);
    if (!rc)
        rc = sm_jsonapi_token_read(q->token, CODE, &q->offset, err);
    if (!rc)
        rc = sm_jsonapi_num(in, "CreationTimeBefore", "CreationTimeBefore",
                            CODE, &q->created_before, &q->has_cb, err);
    if (!rc)
        rc = sm_jsonapi_num(in, "CreationTimeAfter", "CreationTimeAfter", CODE,
                            &q->created_after, &q->has_ca, err);
    if (!rc)
        rc = sm_jsonapi_num(in, "LastModifiedTimeBefore",
                            "LastModifiedTimeBefore", CODE, &q->modified_before,
                            &q->has_mb, err);
    if (!rc)
        rc =
            sm_jsonapi_num(in, "LastModifiedTimeAfter", "LastModifiedTimeAfter",
                           CODE, &q->modified_after, &q->has_ma, err);
    return rc;
}

/* A page of `table` rows as filtered and sorted by `q`; `row` turns each
 * into a JSON object of the answer's list. */
typedef json_t *(*list_row_fn)(sm_serving *self, sqlite3_stmt *st);

static int list_page(sm_serving *self, const char *table, const char *columns,
                     const list_query *q, list_row_fn row, json_t *items,
                     int *more, sm_http_error *err)
{
    int has_modified = strcmp(table, "serving_endpoints") == 0;
    const char *order = strcmp(q->sort_by, "Name") == 0     ? "name"
                        : strcmp(q->sort_by, "Status") == 0 ? "status"
                                                            : "created";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM %s WHERE (?1 IS NULL OR "
             "instr(lower(name), lower(?1)) > 0) AND (?2 IS NULL OR created "
             "< ?2) AND (?3 IS NULL OR created > ?3) %s "
             "ORDER BY %s %s, name %s LIMIT ?8 OFFSET ?9",
             columns, table,
             has_modified ? "AND (?4 IS NULL OR modified < ?4) AND (?5 IS "
                            "NULL OR modified > ?5) AND (?6 IS NULL OR "
                            "status = ?6)"
                          : "",
             order, q->sort_order[0] == 'A' ? "ASC" : "DESC",
             q->sort_order[0] == 'A' ? "ASC" : "DESC");
    sm_error why = {0};
    sqlite3 *db = sm_db_lock(self->config.db);
    sqlite3_stmt *st = sm_db_prepare(db, sql, &why);
    if (st) {
        if (q->name_contains)
            sqlite3_bind_text(st, 1, q->name_contains, -1, SQLITE_STATIC);
        if (q->has_cb)
            sqlite3_bind_double(st, 2, q->created_before);
        if (q->has_ca)
            sqlite3_bind_double(st, 3, q->created_after);
        if (has_modified && q->has_mb)
            sqlite3_bind_double(st, 4, q->modified_before);
        if (has_modified && q->has_ma)
            sqlite3_bind_double(st, 5, q->modified_after);
        if (has_modified && q->status)
            sqlite3_bind_text(st, 6, q->status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, q->max + 1);
        sqlite3_bind_int64(st, 9, (sqlite3_int64)q->offset);
        long long n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n++ == q->max) {
                *more = 1;
                break;
            }
            json_array_append_new(items, row(self, st));
        }
    }
    sqlite3_finalize(st);
    sm_db_unlock(self->config.db);
    return st ? 0 : internal(err, &why);
}

static json_t *list_answer(const char *member, json_t *items, int more,
                           const list_query *q)
{
    json_t *out = json_pack("{s:o}", member, items);
    if (more) {
        char token[32];
        sm_jsonapi_token_make(q->offset + (size_t)q->max, token);
        json_object_set_new(out, "NextToken", json_string(token));
    }
    return out;
}

/* ---- models ------------------------------------------------------------- */

/* The container of a CreateModel request: PrimaryContainer, or the only
 * one of Containers. */
static int model_container(const json_t *in, const json_t **out,
                           sm_http_error *err)
{
    const json_t *primary = NULL;
    if (sm_jsonapi_obj(in, "PrimaryContainer", "PrimaryContainer", 0, CODE,
                       &primary, err))
        return -1;
    json_t *containers = json_object_get(in, "Containers");
    if (!primary && json_array_size(containers) == 1)
        primary = json_array_get(containers, 0);
    if (!primary)
        return sm_jsonapi_fail(err, CODE,
                               "sagemagic-local needs one container in "
                               "PrimaryContainer (an inference pipeline of "
                               "several containers is not offered).");
    *out = primary;
    return 0;
}

static int model_check(sm_serving *self, const json_t *container,
                       sm_http_error *err)
{
    const char *image = NULL, *url = NULL;
    int rc = sm_jsonapi_str(container, "Image", "PrimaryContainer.Image", 1,
                            &image_rule,
                            "Member must satisfy regular "
                            "expression pattern: [\\S]+",
                            CODE, &image, err);
    if (!rc)
        rc = sm_jsonapi_str(container, "ModelDataUrl",
                            "PrimaryContainer.ModelDataUrl", 1, &url_rule,
                            "Member must satisfy regular expression pattern: "
                            "^(https|s3)://([^/]+)/?(.*)$",
                            CODE, &url, err);
    if (rc)
        return rc;
    if (!sm_image_is_xgboost(image, NULL))
        return sm_jsonapi_fail(err, CODE,
                               "sagemagic-local serves the built-in XGBoost "
                               "algorithm only, and %.300s is not one of its "
                               "images (try %%image xgboost).",
                               image);
    char bucket[64];
    const char *key = NULL;
    sm_store_object obj = {0};
    sm_error why = {0};
    if (sm_serving_s3_uri(url, bucket, &key) ||
        sm_store_object_open(self->config.store, bucket, key, &obj, NULL,
                             &why) != SM_STORE_OK) {
        sm_store_object_clear(&obj);
        return sm_jsonapi_fail(err, CODE, "Could not find model data at %s.",
                               url);
    }
    sm_store_object_clear(&obj);
    return 0;
}

static int op_create_model(sm_local_env *env, const sm_http_request *req,
                           const json_t *in, json_t **out, sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL, *role = NULL;
    const json_t *container = NULL;
    int rc = sm_sm_name(in, "ModelName", "ModelName", &name, err);
    if (!rc)
        rc = sm_jsonapi_str(in, "ExecutionRoleArn", "ExecutionRoleArn", 0,
                            &role_rule,
                            "Member must satisfy regular "
                            "expression pattern: "
                            "^arn:aws[a-z\\-]*:iam::\\d{12}:role/"
                            "?[a-zA-Z_0-9+=,.@\\-_/]+$",
                            CODE, &role, err);
    if (!rc)
        rc = model_container(in, &container, err);
    if (!rc)
        rc = model_check(self, container, err);
    if (rc)
        return rc;
    json_t *spec = json_pack("{s:s, s:O}", "ModelName", name,
                             "PrimaryContainer", container);
    if (role)
        json_object_set_new(spec, "ExecutionRoleArn", json_string(role));
    sm_error why = {0};
    char arn[256];
    arn_of(self, "model", name, arn);
    rc =
        spec_insert(self, "serving_models", name, spec, sm_jsonapi_now(), &why);
    json_decref(spec);
    if (rc == 1)
        return sm_jsonapi_fail(
            err, CODE, "Cannot create already existing model \"%s\".", arn);
    if (rc)
        return internal(err, &why);
    *out = json_pack("{s:s}", "ModelArn", arn);
    return 0;
}

static int op_describe_model(sm_local_env *env, const sm_http_request *req,
                             const json_t *in, json_t **out, sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL;
    if (sm_sm_name(in, "ModelName", "ModelName", &name, err))
        return -1;
    json_t *spec = NULL;
    double created = 0;
    sm_error why = {0};
    int rc = spec_get(self, "serving_models", name, &spec, &created, &why);
    if (rc == 1)
        return not_found(self, err, "model", "model", name);
    if (rc)
        return internal(err, &why);
    char arn[256];
    arn_of(self, "model", name, arn);
    json_object_set_new(spec, "CreationTime", sm_jsonapi_time(created));
    json_object_set_new(spec, "ModelArn", json_string(arn));
    json_object_set_new(spec, "EnableNetworkIsolation", json_false());
    *out = spec;
    return 0;
}

static json_t *model_item(sm_serving *self, sqlite3_stmt *st)
{
    const char *name = (const char *)sqlite3_column_text(st, 0);
    char arn[256];
    arn_of(self, "model", name, arn);
    return json_pack("{s:s, s:s, s:o}", "ModelName", name, "ModelArn", arn,
                     "CreationTime",
                     sm_jsonapi_time(sqlite3_column_double(st, 1)));
}

static const char *const name_or_time[] = {"Name", "CreationTime", NULL};

static int op_list_models(sm_local_env *env, const sm_http_request *req,
                          const json_t *in, json_t **out, sm_http_error *err)
{
    list_query q;
    if (list_query_read(in, name_or_time, NULL, &q, err))
        return -1;
    json_t *items = json_array();
    int more = 0;
    if (list_page(serving_of(env), "serving_models", "name, created", &q,
                  model_item, items, &more, err)) {
        json_decref(items);
        return -1;
    }
    *out = list_answer("Models", items, more, &q);
    return 0;
}

static int op_delete_model(sm_local_env *env, const sm_http_request *req,
                           const json_t *in, json_t **out, sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL;
    if (sm_sm_name(in, "ModelName", "ModelName", &name, err))
        return -1;
    sm_error why = {0};
    int rc = row_delete(self, "serving_models", name, &why);
    if (rc == 1)
        return not_found(self, err, "model", "model", name);
    if (rc)
        return internal(err, &why);
    *out = json_object();
    return 0;
}

/* ---- endpoint configs --------------------------------------------------- */

/* One ProductionVariants item: checked, its model known, defaults set. */
static int variant_check(sm_serving *self, json_t *pv, size_t i,
                         sm_http_error *err)
{
    char field[64];
    const char *vname = NULL, *model = NULL;
    long long count = 1;
    snprintf(field, sizeof field, "ProductionVariants.%zu.VariantName", i + 1);
    int rc = sm_jsonapi_str(pv, "VariantName", field, 1, &name_rule, PATTERN,
                            CODE, &vname, err);
    snprintf(field, sizeof field, "ProductionVariants.%zu.ModelName", i + 1);
    if (!rc)
        rc = sm_jsonapi_str(pv, "ModelName", field, 1, &name_rule, PATTERN,
                            CODE, &model, err);
    snprintf(field, sizeof field, "ProductionVariants.%zu.InitialInstanceCount",
             i + 1);
    if (!rc)
        rc = sm_jsonapi_int(pv, "InitialInstanceCount", field, 0, 1, 1000000,
                            CODE, &count, err);
    if (rc)
        return rc;
    json_t *spec = NULL;
    sm_error why = {0};
    rc = spec_get(self, "serving_models", model, &spec, NULL, &why);
    json_decref(spec);
    if (rc == 1)
        return not_found(self, err, "model", "model", model);
    if (rc)
        return internal(err, &why);
    if (!json_object_get(pv, "InitialVariantWeight"))
        json_object_set_new(pv, "InitialVariantWeight", json_real(1.0));
    return 0;
}

static int op_create_endpoint_config(sm_local_env *env,
                                     const sm_http_request *req,
                                     const json_t *in, json_t **out,
                                     sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL;
    if (sm_sm_name(in, "EndpointConfigName", "EndpointConfigName", &name, err))
        return -1;
    json_t *variants = json_object_get(in, "ProductionVariants");
    if (!json_is_array(variants) || json_array_size(variants) < 1 ||
        json_array_size(variants) > VARIANTS_MAX)
        return sm_jsonapi_invalid(err, CODE, "ProductionVariants", NULL,
                                  "Member must have length between 1 and 10");
    json_t *spec = json_deep_copy(in);
    json_object_del(spec, "Tags");
    json_t *copies = json_object_get(spec, "ProductionVariants"), *pv;
    size_t i;
    int rc = 0;
    json_array_foreach(copies, i, pv)
    {
        if (!rc && !json_is_object(pv))
            rc = sm_jsonapi_fail(err, "SerializationException",
                                 "A production variant must be an object.");
        if (!rc)
            rc = variant_check(self, pv, i, err);
    }
    char arn[256];
    arn_of(self, "endpoint-config", name, arn);
    sm_error why = {0};
    if (!rc) {
        rc = spec_insert(self, "serving_endpoint_configs", name, spec,
                         sm_jsonapi_now(), &why);
        if (rc == 1)
            sm_jsonapi_fail(err, CODE,
                            "Cannot create already existing endpoint "
                            "configuration \"%s\".",
                            arn);
        else if (rc)
            internal(err, &why);
    }
    json_decref(spec);
    if (rc)
        return -1;
    *out = json_pack("{s:s}", "EndpointConfigArn", arn);
    return 0;
}

static int op_describe_endpoint_config(sm_local_env *env,
                                       const sm_http_request *req,
                                       const json_t *in, json_t **out,
                                       sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL;
    if (sm_sm_name(in, "EndpointConfigName", "EndpointConfigName", &name, err))
        return -1;
    json_t *spec = NULL;
    double created = 0;
    sm_error why = {0};
    int rc =
        spec_get(self, "serving_endpoint_configs", name, &spec, &created, &why);
    if (rc == 1)
        return not_found(self, err, "endpoint configuration", "endpoint-config",
                         name);
    if (rc)
        return internal(err, &why);
    char arn[256];
    arn_of(self, "endpoint-config", name, arn);
    json_object_set_new(spec, "EndpointConfigArn", json_string(arn));
    json_object_set_new(spec, "CreationTime", sm_jsonapi_time(created));
    *out = spec;
    return 0;
}

static json_t *config_item(sm_serving *self, sqlite3_stmt *st)
{
    const char *name = (const char *)sqlite3_column_text(st, 0);
    char arn[256];
    arn_of(self, "endpoint-config", name, arn);
    return json_pack("{s:s, s:s, s:o}", "EndpointConfigName", name,
                     "EndpointConfigArn", arn, "CreationTime",
                     sm_jsonapi_time(sqlite3_column_double(st, 1)));
}

static int op_list_endpoint_configs(sm_local_env *env,
                                    const sm_http_request *req,
                                    const json_t *in, json_t **out,
                                    sm_http_error *err)
{
    list_query q;
    if (list_query_read(in, name_or_time, NULL, &q, err))
        return -1;
    json_t *items = json_array();
    int more = 0;
    if (list_page(serving_of(env), "serving_endpoint_configs", "name, created",
                  &q, config_item, items, &more, err)) {
        json_decref(items);
        return -1;
    }
    *out = list_answer("EndpointConfigs", items, more, &q);
    return 0;
}

static int op_delete_endpoint_config(sm_local_env *env,
                                     const sm_http_request *req,
                                     const json_t *in, json_t **out,
                                     sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL;
    if (sm_sm_name(in, "EndpointConfigName", "EndpointConfigName", &name, err))
        return -1;
    sm_error why = {0};
    int rc = row_delete(self, "serving_endpoint_configs", name, &why);
    if (rc == 1)
        return not_found(self, err, "endpoint configuration", "endpoint-config",
                         name);
    if (rc)
        return internal(err, &why);
    *out = json_object();
    return 0;
}

/* ---- endpoints ---------------------------------------------------------- */

static const char *const endpoint_statuses[] = {
    "OutOfService",         "Creating",  "Updating", "SystemUpdating",
    "RollingBack",          "InService", "Deleting", "Failed",
    "UpdateRollbackFailed", NULL};

/* The endpoint config `name` exists: 0, or -1 with the error. */
static int config_must_exist(sm_serving *self, const char *name,
                             sm_http_error *err)
{
    json_t *spec = NULL;
    sm_error why = {0};
    int rc =
        spec_get(self, "serving_endpoint_configs", name, &spec, NULL, &why);
    json_decref(spec);
    if (rc == 1)
        return not_found(self, err, "endpoint configuration", "endpoint-config",
                         name);
    return rc ? internal(err, &why) : 0;
}

/* CreateEndpoint's and UpdateEndpoint's members: the endpoint's name and
 * ARN, and an endpoint config that exists. 0, or -1 with the error. */
static int endpoint_args(sm_serving *self, const json_t *in, const char **name,
                         const char **config, char arn[256], sm_http_error *err)
{
    int rc = sm_sm_name(in, "EndpointName", "EndpointName", name, err);
    if (!rc)
        rc = sm_sm_name(in, "EndpointConfigName", "EndpointConfigName", config,
                        err);
    if (!rc)
        rc = config_must_exist(self, *config, err);
    if (!rc)
        arn_of(self, "endpoint", *name, arn);
    return rc ? -1 : 0;
}

static int op_create_endpoint(sm_local_env *env, const sm_http_request *req,
                              const json_t *in, json_t **out,
                              sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL, *config = NULL;
    char arn[256];
    if (endpoint_args(self, in, &name, &config, arn, err))
        return -1;
    sm_error why = {0};
    int changed = 0;
    const char *p[] = {name, config};
    if (endpoint_exec(self,
                      "INSERT OR IGNORE INTO serving_endpoints (name, config, "
                      "status, created, modified) VALUES (?1, ?2, 'Creating', "
                      "?9, ?9)",
                      p, 2, &changed, &why))
        return internal(err, &why);
    if (!changed)
        return sm_jsonapi_fail(
            err, CODE, "Cannot create already existing endpoint \"%s\".", arn);
    enqueue(self, name);
    *out = json_pack("{s:s}", "EndpointArn", arn);
    return 0;
}

/* DescribeEndpoint's ProductionVariants from what was deployed. */
static json_t *deployed_variants(const json_t *deployed, double when)
{
    json_t *out = json_array(), *v;
    size_t i;
    json_array_foreach(deployed, i, v)
    {
        const char *name = "", *image = "";
        double weight = 1;
        json_int_t count = 1;
        json_unpack(v, "{s?s, s?s, s?F, s?I}", "VariantName", &name, "Image",
                    &image, "Weight", &weight, "InstanceCount", &count);
        json_t *summary = json_pack(
            "{s:s, s:[{s:s, s:s, s:o}], s:f, s:f}", "VariantName", name,
            "DeployedImages", "SpecifiedImage", image, "ResolvedImage", image,
            "ResolutionTime", sm_jsonapi_time(when), "CurrentWeight", weight,
            "DesiredWeight", weight);
        json_t *serverless = json_object_get(v, "Serverless");
        if (serverless) { /* serverless variants have no instances */
            json_object_set(summary, "CurrentServerlessConfig", serverless);
            json_object_set(summary, "DesiredServerlessConfig", serverless);
        } else {
            json_object_set_new(summary, "CurrentInstanceCount",
                                json_integer(count));
            json_object_set_new(summary, "DesiredInstanceCount",
                                json_integer(count));
        }
        json_array_append_new(out, summary);
    }
    return out;
}

static int op_describe_endpoint(sm_local_env *env, const sm_http_request *req,
                                const json_t *in, json_t **out,
                                sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL;
    if (sm_sm_name(in, "EndpointName", "EndpointName", &name, err))
        return -1;
    endpoint_row e;
    sm_error why = {0};
    int rc = endpoint_get(self, name, &e, &why);
    if (rc == 1)
        return not_found(self, err, "endpoint", "endpoint", name);
    if (rc)
        return internal(err, &why);
    char arn[256];
    arn_of(self, "endpoint", e.name, arn);
    *out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "EndpointName", e.name,
                     "EndpointArn", arn, "EndpointConfigName", e.config,
                     "EndpointStatus", e.status, "CreationTime",
                     sm_jsonapi_time(e.created), "LastModifiedTime",
                     sm_jsonapi_time(e.modified));
    if (e.deployed)
        json_object_set_new(*out, "ProductionVariants",
                            deployed_variants(e.deployed, e.modified));
    if (e.failure)
        json_object_set_new(*out, "FailureReason", json_string(e.failure));
    endpoint_clear(&e);
    return 0;
}

static json_t *endpoint_item(sm_serving *self, sqlite3_stmt *st)
{
    const char *name = (const char *)sqlite3_column_text(st, 0);
    char arn[256];
    arn_of(self, "endpoint", name, arn);
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:s}", "EndpointName", name, "EndpointArn", arn,
        "CreationTime", sm_jsonapi_time(sqlite3_column_double(st, 1)),
        "LastModifiedTime", sm_jsonapi_time(sqlite3_column_double(st, 2)),
        "EndpointStatus", sqlite3_column_text(st, 3));
}

static int op_list_endpoints(sm_local_env *env, const sm_http_request *req,
                             const json_t *in, json_t **out, sm_http_error *err)
{
    static const char *const sorts[] = {"Name", "CreationTime", "Status", NULL};
    list_query q;
    if (list_query_read(in, sorts, endpoint_statuses, &q, err))
        return -1;
    json_t *items = json_array();
    int more = 0;
    if (list_page(serving_of(env), "serving_endpoints",
                  "name, created, modified, status", &q, endpoint_item, items,
                  &more, err)) {
        json_decref(items);
        return -1;
    }
    *out = list_answer("Endpoints", items, more, &q);
    return 0;
}

static int op_update_endpoint(sm_local_env *env, const sm_http_request *req,
                              const json_t *in, json_t **out,
                              sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL, *config = NULL;
    char arn[256];
    if (endpoint_args(self, in, &name, &config, arn, err))
        return -1;
    endpoint_row e;
    sm_error why = {0};
    int rc = endpoint_get(self, name, &e, &why);
    if (rc == 1)
        return not_found(self, err, "endpoint", "endpoint", name);
    if (rc)
        return internal(err, &why);
    int in_service = strcmp(e.status, "InService") == 0;
    endpoint_clear(&e);
    int changed = 0;
    const char *p[] = {name, config};
    if (in_service &&
        endpoint_exec(self,
                      "UPDATE serving_endpoints SET status = 'Updating', "
                      "pending = ?2, modified = ?9 WHERE name = ?1 AND "
                      "status = 'InService'",
                      p, 2, &changed, &why))
        return internal(err, &why);
    if (!changed)
        return sm_jsonapi_fail(
            err, CODE, "Cannot update in-progress endpoint \"%s\".", arn);
    enqueue(self, name);
    *out = json_pack("{s:s}", "EndpointArn", arn);
    return 0;
}

static int op_delete_endpoint(sm_local_env *env, const sm_http_request *req,
                              const json_t *in, json_t **out,
                              sm_http_error *err)
{
    sm_serving *self = serving_of(env);
    const char *name = NULL;
    if (sm_sm_name(in, "EndpointName", "EndpointName", &name, err))
        return -1;
    sm_error why = {0};
    int changed = 0;
    const char *p[] = {name};
    if (endpoint_exec(self,
                      "UPDATE serving_endpoints SET status = 'Deleting', "
                      "modified = ?9 WHERE name = ?1",
                      p, 1, &changed, &why))
        return internal(err, &why);
    if (!changed)
        return not_found(self, err, "endpoint", "endpoint", name);
    live_set(self, name, NULL); /* no request is served from now on */
    enqueue(self, name);
    *out = json_object();
    return 0;
}

static const sm_jsonapi_op rows[] = {
    {"CreateModel", op_create_model},
    {"DescribeModel", op_describe_model},
    {"ListModels", op_list_models},
    {"DeleteModel", op_delete_model},
    {"CreateEndpointConfig", op_create_endpoint_config},
    {"DescribeEndpointConfig", op_describe_endpoint_config},
    {"ListEndpointConfigs", op_list_endpoint_configs},
    {"DeleteEndpointConfig", op_delete_endpoint_config},
    {"CreateEndpoint", op_create_endpoint},
    {"DescribeEndpoint", op_describe_endpoint},
    {"ListEndpoints", op_list_endpoints},
    {"UpdateEndpoint", op_update_endpoint},
    {"DeleteEndpoint", op_delete_endpoint},
};

const sm_jsonapi_ops sm_serving_ops = SM_JSONAPI_OPS(rows);
