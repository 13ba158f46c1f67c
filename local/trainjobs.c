/* trainjobs: rows in, DescribeTrainingJob and ListTrainingJobs shapes out.
 * Transitions and metrics are JSON arrays in their columns. */
#include "trainjobs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS training_jobs("
    "  name TEXT PRIMARY KEY COLLATE NOCASE,"
    "  arn TEXT NOT NULL,"
    "  request TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  secondary TEXT NOT NULL,"
    "  transitions TEXT NOT NULL DEFAULT '[]',"
    "  failure_reason TEXT,"
    "  metrics TEXT,"
    "  model_artifacts TEXT,"
    "  log_stream TEXT,"
    "  tuning_job_arn TEXT,"
    "  created REAL NOT NULL,"
    "  modified REAL NOT NULL,"
    "  started REAL,"
    "  ended REAL,"
    "  stop_requested INTEGER NOT NULL DEFAULT 0,"
    "  pid INTEGER NOT NULL DEFAULT 0,"
    "  pid_start INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS training_jobs_by_created"
    "  ON training_jobs(created);";

int sm_trainjobs_init(sm_db *db, sm_error *err)
{
    return sm_db_exec_locked(db, schema, err);
}

/* One statement's single step under the lock: DONE (or ROW) is OK. */
static sm_trainjobs_status step_done(sqlite3 *conn, sqlite3_stmt *st,
                                     const char *what, sm_error *err)
{
    int step = sqlite3_step(st);
    if (step != SQLITE_DONE && step != SQLITE_ROW) {
        sm_db_fail(conn, err, what);
        return SM_TRAINJOBS_FAILED;
    }
    return sqlite3_changes(conn) > 0 ? SM_TRAINJOBS_OK : SM_TRAINJOBS_MISSING;
}

/* ---- creating ----------------------------------------------------------- */

static sm_trainjobs_status lookup_arn(sqlite3 *conn, const char *name,
                                      char arn[256], sm_error *err)
{
    sqlite3_stmt *st =
        sm_db_prepare(conn, "SELECT arn FROM training_jobs WHERE name=?", err);
    if (!st)
        return SM_TRAINJOBS_FAILED;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sm_trainjobs_status status = SM_TRAINJOBS_MISSING;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(arn, 256, "%s", (const char *)sqlite3_column_text(st, 0));
        status = SM_TRAINJOBS_EXISTS;
    }
    sqlite3_finalize(st);
    return status;
}

static sm_trainjobs_status count_running(sqlite3 *conn, size_t *running,
                                         sm_error *err)
{
    sqlite3_stmt *st = sm_db_prepare(
        conn,
        "SELECT count(*) FROM training_jobs WHERE status IN "
        "('InProgress', 'Stopping')",
        err);
    if (!st)
        return SM_TRAINJOBS_FAILED;
    *running = sqlite3_step(st) == SQLITE_ROW
                   ? (size_t)sqlite3_column_int64(st, 0)
                   : 0;
    sqlite3_finalize(st);
    return SM_TRAINJOBS_OK;
}

static json_t *transition(const char *status, const char *message, double at)
{
    return json_pack("{s:s, s:f, s:s}", "Status", status, "StartTime", at,
                     "StatusMessage", message);
}

sm_trainjobs_status sm_trainjobs_create(sm_db *db, const sm_trainjobs_new *job,
                                        char existing_arn[256],
                                        size_t *running, sm_error *err)
{
    char *request = json_dumps(job->request, JSON_COMPACT);
    json_t *first = json_pack(
        "[o]", transition("Starting", "Launching requested ML instances",
                          job->created));
    char *transitions = first ? json_dumps(first, JSON_COMPACT) : NULL;
    json_decref(first);
    if (!request || !transitions) {
        free(request);
        free(transitions);
        sm_error_set(err, "out of memory");
        return SM_TRAINJOBS_FAILED;
    }
    sqlite3 *conn = sm_db_lock(db);
    sm_trainjobs_status status = lookup_arn(conn, job->name, existing_arn, err);
    if (status == SM_TRAINJOBS_MISSING)
        status = count_running(conn, running, err);
    if (status == SM_TRAINJOBS_OK && *running >= job->max_running)
        status = SM_TRAINJOBS_LIMIT;
    sqlite3_stmt *st =
        status == SM_TRAINJOBS_OK
            ? sm_db_prepare(conn,
                            "INSERT INTO training_jobs(name, arn, request,"
                            " status, secondary, transitions, tuning_job_arn,"
                            " created, modified) VALUES(?,?,?,'InProgress',"
                            "'Starting',?,?,?,?)",
                            err)
            : NULL;
    if (status == SM_TRAINJOBS_OK && !st)
        status = SM_TRAINJOBS_FAILED;
    if (st) {
        sqlite3_bind_text(st, 1, job->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, job->arn, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, request, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, transitions, -1, SQLITE_STATIC);
        if (job->tuning_job_arn)
            sqlite3_bind_text(st, 5, job->tuning_job_arn, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 6, job->created);
        sqlite3_bind_double(st, 7, job->created);
        status = step_done(conn, st, "insert training job", err);
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    free(request);
    free(transitions);
    return status;
}

/* ---- describing --------------------------------------------------------- */

#define DESCRIBE_COLUMNS                                                      \
    "name, arn, request, status, secondary, transitions, failure_reason,"     \
    " metrics, model_artifacts, tuning_job_arn, created, modified, started,"  \
    " ended"

/* The members of the request DescribeTrainingJob echoes. */
static const char *const echoed[] = {
    "AlgorithmSpecification", "RoleArn", "InputDataConfig",
    "OutputDataConfig", "ResourceConfig", "StoppingCondition",
    "HyperParameters", "VpcConfig", "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
    "CheckpointConfig", "Environment", "RetryStrategy", "ExperimentConfig",
    "DebugHookConfig", "TensorBoardOutputConfig", NULL};

static const char *text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static void set_time(json_t *o, const char *key, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) != SQLITE_NULL)
        json_object_set_new(o, key, json_real(sqlite3_column_double(st, i)));
}

static void set_json(json_t *o, const char *key, const char *value)
{
    json_t *v = value ? json_loads(value, 0, NULL) : NULL;
    if (v)
        json_object_set_new(o, key, v);
}

/* Seconds between two times as SageMaker counts them: at least 1. */
static json_int_t seconds(double from, double to)
{
    double s = ceil(to - from);
    return s < 1 ? 1 : (json_int_t)s;
}

static json_t *describe_row(sqlite3_stmt *st)
{
    json_t *o = json_object(), *request = json_loads(text(st, 2), 0, NULL);
    if (!o)
        return NULL;
    json_object_set_new(o, "TrainingJobName", json_string(text(st, 0)));
    json_object_set_new(o, "TrainingJobArn", json_string(text(st, 1)));
    for (size_t i = 0; request && echoed[i]; i++) {
        json_t *v = json_object_get(request, echoed[i]);
        if (v)
            json_object_set(o, echoed[i], v);
    }
    json_decref(request);
    if (!json_object_get(o, "EnableManagedSpotTraining"))
        json_object_set_new(o, "EnableManagedSpotTraining", json_false());
    json_object_set_new(o, "TrainingJobStatus", json_string(text(st, 3)));
    json_object_set_new(o, "SecondaryStatus", json_string(text(st, 4)));
    set_json(o, "SecondaryStatusTransitions", text(st, 5));
    if (text(st, 6))
        json_object_set_new(o, "FailureReason", json_string(text(st, 6)));
    set_json(o, "FinalMetricDataList", text(st, 7));
    if (text(st, 8))
        json_object_set_new(o, "ModelArtifacts",
                            json_pack("{s:s}", "S3ModelArtifacts",
                                      text(st, 8)));
    if (text(st, 9))
        json_object_set_new(o, "TuningJobArn", json_string(text(st, 9)));
    set_time(o, "CreationTime", st, 10);
    set_time(o, "LastModifiedTime", st, 11);
    set_time(o, "TrainingStartTime", st, 12);
    set_time(o, "TrainingEndTime", st, 13);
    if (sqlite3_column_type(st, 12) != SQLITE_NULL &&
        sqlite3_column_type(st, 13) != SQLITE_NULL) {
        json_int_t s = seconds(sqlite3_column_double(st, 12),
                               sqlite3_column_double(st, 13));
        json_object_set_new(o, "TrainingTimeInSeconds", json_integer(s));
        json_object_set_new(o, "BillableTimeInSeconds", json_integer(s));
    }
    return o;
}

sm_trainjobs_status sm_trainjobs_describe(sm_db *db, const char *name,
                                          json_t **out, sm_error *err)
{
    *out = NULL;
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn, "SELECT " DESCRIBE_COLUMNS " FROM training_jobs WHERE name=?",
        err);
    sm_trainjobs_status status = st ? SM_TRAINJOBS_MISSING : SM_TRAINJOBS_FAILED;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *out = describe_row(st);
            status = *out ? SM_TRAINJOBS_OK : SM_TRAINJOBS_FAILED;
            if (!*out)
                sm_error_set(err, "out of memory");
        }
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    return status;
}

sm_trainjobs_status sm_trainjobs_request(sm_db *db, const char *name,
                                         json_t **request, char out_name[64],
                                         sm_error *err)
{
    *request = NULL;
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn, "SELECT name, request FROM training_jobs WHERE name=?", err);
    sm_trainjobs_status status = st ? SM_TRAINJOBS_MISSING : SM_TRAINJOBS_FAILED;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(out_name, 64, "%s", text(st, 0));
            *request = json_loads(text(st, 1), 0, NULL);
            status = *request ? SM_TRAINJOBS_OK : SM_TRAINJOBS_FAILED;
            if (!*request)
                sm_error_set(err, "the stored request of %s is not JSON",
                             name);
        }
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    return status;
}

/* ---- moving along ------------------------------------------------------- */

static int terminal(const char *secondary)
{
    return !strcmp(secondary, "Completed") || !strcmp(secondary, "Failed") ||
           !strcmp(secondary, "Stopped") ||
           !strcmp(secondary, "MaxRuntimeExceeded");
}

/* The transitions with the open one closed and `secondary` appended. */
static char *transitions_next(const char *old, const char *secondary,
                              const char *message, double now)
{
    json_t *list = old ? json_loads(old, 0, NULL) : NULL;
    if (!json_is_array(list)) {
        json_decref(list);
        list = json_array();
    }
    size_t n = json_array_size(list);
    json_t *last = n ? json_array_get(list, n - 1) : NULL;
    if (last && !json_object_get(last, "EndTime"))
        json_object_set_new(last, "EndTime", json_real(now));
    json_t *next = transition(secondary, message, now);
    if (next && terminal(secondary))
        json_object_set_new(next, "EndTime", json_real(now));
    json_array_append_new(list, next);
    char *text_out = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return text_out;
}

sm_trainjobs_status sm_trainjobs_advance(sm_db *db, const char *name,
                                         const char *primary,
                                         const char *secondary,
                                         const char *message, double now,
                                         sm_error *err)
{
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn, "SELECT transitions FROM training_jobs WHERE name=?", err);
    sm_trainjobs_status status = st ? SM_TRAINJOBS_MISSING : SM_TRAINJOBS_FAILED;
    char *next = NULL;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            next = transitions_next(text(st, 0), secondary, message, now);
            status = next ? SM_TRAINJOBS_OK : SM_TRAINJOBS_FAILED;
        }
        sqlite3_finalize(st);
    }
    st = status == SM_TRAINJOBS_OK
             ? sm_db_prepare(
                   conn,
                   "UPDATE training_jobs SET transitions=?2, secondary=?3,"
                   " status=coalesce(?4, status), modified=?5,"
                   " ended=CASE WHEN ?6 THEN ?5 ELSE ended END,"
                   " pid=CASE WHEN ?6 THEN 0 ELSE pid END WHERE name=?1",
                   err)
             : NULL;
    if (status == SM_TRAINJOBS_OK && !st)
        status = SM_TRAINJOBS_FAILED;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, next, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, secondary, -1, SQLITE_STATIC);
        if (primary)
            sqlite3_bind_text(st, 4, primary, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, now);
        sqlite3_bind_int(st, 6, terminal(secondary));
        status = step_done(conn, st, "update training job", err);
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    free(next);
    return status;
}

static const char *column(sm_trainjobs_field field)
{
    switch (field) {
    case SM_TRAINJOBS_FAILURE_REASON:
        return "failure_reason";
    case SM_TRAINJOBS_MODEL_ARTIFACTS:
        return "model_artifacts";
    case SM_TRAINJOBS_METRICS:
        return "metrics";
    case SM_TRAINJOBS_LOG_STREAM:
        return "log_stream";
    case SM_TRAINJOBS_STARTED:
        return "started";
    }
    return "failure_reason";
}

static sm_trainjobs_status set_column(sm_db *db, const char *name,
                                      sm_trainjobs_field field,
                                      const char *text_value, double value,
                                      sm_error *err)
{
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE training_jobs SET %s=? WHERE name=?",
             column(field));
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(conn, sql, err);
    sm_trainjobs_status status = SM_TRAINJOBS_FAILED;
    if (st) {
        if (field == SM_TRAINJOBS_STARTED)
            sqlite3_bind_double(st, 1, value);
        else
            sqlite3_bind_text(st, 1, text_value, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        status = step_done(conn, st, "update training job", err);
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    return status;
}

sm_trainjobs_status sm_trainjobs_set_text(sm_db *db, const char *name,
                                          sm_trainjobs_field field,
                                          const char *value, sm_error *err)
{
    return set_column(db, name, field, value, 0, err);
}

sm_trainjobs_status sm_trainjobs_set_time(sm_db *db, const char *name,
                                          sm_trainjobs_field field,
                                          double value, sm_error *err)
{
    return set_column(db, name, field, NULL, value, err);
}

sm_trainjobs_status sm_trainjobs_set_process(sm_db *db, const char *name,
                                             pid_t pid,
                                             unsigned long long start_ticks,
                                             sm_error *err)
{
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn, "UPDATE training_jobs SET pid=?, pid_start=? WHERE name=?", err);
    sm_trainjobs_status status = SM_TRAINJOBS_FAILED;
    if (st) {
        sqlite3_bind_int64(st, 1, pid);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)start_ticks);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        status = step_done(conn, st, "update training job", err);
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    return status;
}

/* ---- stopping ----------------------------------------------------------- */

sm_trainjobs_status sm_trainjobs_stop(sm_db *db, const char *name, double now,
                                      char status_out[32], sm_error *err)
{
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn, "SELECT status FROM training_jobs WHERE name=?", err);
    sm_trainjobs_status status = st ? SM_TRAINJOBS_MISSING : SM_TRAINJOBS_FAILED;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(status_out, 32, "%s", text(st, 0));
            status = strcmp(status_out, "InProgress") ? SM_TRAINJOBS_NOT_RUNNING
                                                      : SM_TRAINJOBS_OK;
        }
        sqlite3_finalize(st);
    }
    if (status == SM_TRAINJOBS_OK) {
        st = sm_db_prepare(conn,
                           "UPDATE training_jobs SET stop_requested=1,"
                           " status='Stopping', modified=? WHERE name=?",
                           err);
        status = SM_TRAINJOBS_FAILED;
        if (st) {
            sqlite3_bind_double(st, 1, now);
            sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
            status = step_done(conn, st, "stop training job", err);
        }
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    return status;
}

int sm_trainjobs_stopping(sm_db *db, const char *name)
{
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn, "SELECT stop_requested FROM training_jobs WHERE name=?", NULL);
    int stopping = 0;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            stopping = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    return stopping;
}

/* ---- listing ------------------------------------------------------------ */

static json_t *summary_row(sqlite3_stmt *st)
{
    json_t *o = json_pack("{s:s, s:s, s:f, s:f, s:s, s:s}", "TrainingJobName",
                          text(st, 0), "TrainingJobArn", text(st, 1),
                          "CreationTime", sqlite3_column_double(st, 2),
                          "LastModifiedTime", sqlite3_column_double(st, 3),
                          "TrainingJobStatus", text(st, 4), "SecondaryStatus",
                          text(st, 5));
    if (o)
        set_time(o, "TrainingEndTime", st, 6);
    return o;
}

static void bind_bound(sqlite3_stmt *st, int i, double v)
{
    if (v >= 0)
        sqlite3_bind_double(st, i, v);
}

sm_trainjobs_status sm_trainjobs_list(sm_db *db, const sm_trainjobs_query *q,
                                      json_t **summaries, int *more,
                                      sm_error *err)
{
    const char *order = "created";
    if (q->sort_by && !strcmp(q->sort_by, "Name"))
        order = "name";
    else if (q->sort_by && !strcmp(q->sort_by, "Status"))
        order = "status";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT name, arn, created, modified, status, secondary, ended"
             " FROM training_jobs WHERE"
             " (?1 IS NULL OR instr(lower(name), lower(?1)) > 0)"
             " AND (?2 IS NULL OR status = ?2)"
             " AND (?3 IS NULL OR created > ?3) AND (?4 IS NULL OR created < ?4)"
             " AND (?5 IS NULL OR modified > ?5)"
             " AND (?6 IS NULL OR modified < ?6)"
             " ORDER BY %s %s, created %s LIMIT ?7 OFFSET ?8",
             order, q->descending ? "DESC" : "ASC",
             q->descending ? "DESC" : "ASC");
    *summaries = json_array();
    *more = 0;
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(conn, sql, err);
    sm_trainjobs_status status = st ? SM_TRAINJOBS_OK : SM_TRAINJOBS_FAILED;
    if (st) {
        if (q->name_contains)
            sqlite3_bind_text(st, 1, q->name_contains, -1, SQLITE_STATIC);
        if (q->status_equals)
            sqlite3_bind_text(st, 2, q->status_equals, -1, SQLITE_STATIC);
        bind_bound(st, 3, q->created_after);
        bind_bound(st, 4, q->created_before);
        bind_bound(st, 5, q->modified_after);
        bind_bound(st, 6, q->modified_before);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)q->limit + 1);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)q->offset);
        size_t n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n++ == q->limit) {
                *more = 1;
                break;
            }
            json_array_append_new(*summaries, summary_row(st));
        }
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    return status;
}

sm_trainjobs_status sm_trainjobs_orphans(sm_db *db,
                                         sm_trainjobs_orphan **out,
                                         size_t *count, sm_error *err)
{
    *out = NULL;
    *count = 0;
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn,
        "SELECT name, status, pid, pid_start FROM training_jobs WHERE status"
        " IN ('InProgress', 'Stopping')",
        err);
    sm_trainjobs_status status = st ? SM_TRAINJOBS_OK : SM_TRAINJOBS_FAILED;
    size_t cap = 0;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 8;
            sm_trainjobs_orphan *grown = realloc(*out, cap * sizeof *grown);
            if (!grown) {
                status = SM_TRAINJOBS_FAILED;
                sm_error_set(err, "out of memory");
                break;
            }
            *out = grown;
        }
        sm_trainjobs_orphan *o = &(*out)[(*count)++];
        snprintf(o->name, sizeof o->name, "%s", text(st, 0));
        snprintf(o->status, sizeof o->status, "%s", text(st, 1));
        o->pid = (pid_t)sqlite3_column_int64(st, 2);
        o->start_ticks = (unsigned long long)sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    sm_db_unlock(db);
    return status;
}
