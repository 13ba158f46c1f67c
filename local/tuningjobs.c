/* tuningjobs: two tables; a trial's status is its training job's, read
 * through a join, so the tables never disagree. */
#include "tuningjobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS tuning_jobs("
    "  name TEXT PRIMARY KEY COLLATE NOCASE,"
    "  arn TEXT NOT NULL,"
    "  request TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  failure_reason TEXT,"
    "  seed INTEGER NOT NULL,"
    "  created REAL NOT NULL,"
    "  modified REAL NOT NULL,"
    "  ended REAL);"
    "CREATE TABLE IF NOT EXISTS tuning_trials("
    "  trial TEXT PRIMARY KEY COLLATE NOCASE,"
    "  tuning TEXT NOT NULL COLLATE NOCASE,"
    "  idx INTEGER NOT NULL,"
    "  retry_of TEXT,"
    "  tuned TEXT NOT NULL,"
    "  point TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tuning_trials_by_job"
    "  ON tuning_trials(tuning, idx);";

int sm_tuningjobs_init(sm_db *db, sm_error *err)
{
    return sm_db_exec_locked(db, schema, err);
}

static const char *text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

static double time_or_none(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? -1
               : sqlite3_column_double(st, i);
}

void sm_tuningjobs_job_clear(sm_tuningjobs_job *self)
{
    json_decref(self->request);
    memset(self, 0, sizeof *self);
}

/* ---- jobs --------------------------------------------------------------- */

static int read_arn(sqlite3_stmt *st, void *row, sm_error *err)
{
    (void)err;
    snprintf(row, 256, "%s", text(st, 0));
    return 0;
}

sm_tuningjobs_status sm_tuningjobs_create(sm_db *db,
                                          const sm_tuningjobs_job *job,
                                          char existing_arn[256], sm_error *err)
{
    char *request = json_dumps(job->request, JSON_COMPACT);
    if (!request)
        return sm_error_set(err, "out of memory"), SM_TUNINGJOBS_FAILED;
    sqlite3 *conn = sm_db_lock(db);
    sm_tuningjobs_status status = SM_TUNINGJOBS_FAILED;
    sqlite3_stmt *st = sm_db_prepare(
        conn,
        "INSERT INTO tuning_jobs(name, arn, request, status, seed, created,"
        " modified) VALUES(?,?,?,'InProgress',?,?,?)",
        err);
    if (st) {
        sqlite3_bind_text(st, 1, job->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, job->arn, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, request, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)job->seed);
        sqlite3_bind_double(st, 5, job->created);
        sqlite3_bind_double(st, 6, job->created);
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            status = SM_TUNINGJOBS_OK;
        else if (step == SQLITE_CONSTRAINT)
            status = SM_TUNINGJOBS_EXISTS;
        else
            sm_db_fail(conn, err, "insert tuning job");
    }
    sqlite3_finalize(st);
    sm_db_unlock(db);
    free(request);
    if (status == SM_TUNINGJOBS_EXISTS &&
        sm_db_get(db, "SELECT arn FROM tuning_jobs WHERE name=?", job->name,
                  read_arn, existing_arn, err) < 0)
        status = SM_TUNINGJOBS_FAILED;
    return status;
}

static int read_job(sqlite3_stmt *st, void *row, sm_error *err)
{
    sm_tuningjobs_job *j = row;
    snprintf(j->name, sizeof j->name, "%s", text(st, 0));
    snprintf(j->arn, sizeof j->arn, "%s", text(st, 1));
    j->request = json_loads(text(st, 2), 0, NULL);
    snprintf(j->status, sizeof j->status, "%s", text(st, 3));
    snprintf(j->failure, sizeof j->failure, "%s", text(st, 4));
    j->seed = (uint64_t)sqlite3_column_int64(st, 5);
    j->created = sqlite3_column_double(st, 6);
    j->modified = sqlite3_column_double(st, 7);
    j->ended = time_or_none(st, 8);
    return j->request ? 0
                      : sm_error_set(err,
                                     "the stored request of %s is "
                                     "not JSON",
                                     j->name);
}

sm_tuningjobs_status sm_tuningjobs_get(sm_db *db, const char *name,
                                       sm_tuningjobs_job *out, sm_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = sm_db_get(db,
                       "SELECT name, arn, request, status, failure_reason,"
                       " seed, created, modified, ended FROM tuning_jobs"
                       " WHERE name=?",
                       name, read_job, out, err);
    return rc < 0 ? SM_TUNINGJOBS_FAILED
           : rc   ? SM_TUNINGJOBS_MISSING
                  : SM_TUNINGJOBS_OK;
}

sm_tuningjobs_status sm_tuningjobs_set_status(sm_db *db, const char *name,
                                              const char *status,
                                              const char *failure, int ends,
                                              double now, sm_error *err)
{
    const char *params[] = {name, status, failure, ends ? "1" : NULL};
    int changed = 0;
    if (sm_db_run(db,
                  "UPDATE tuning_jobs SET status=?2,"
                  " failure_reason=coalesce(?3, failure_reason), modified=?9,"
                  " ended=CASE WHEN ?4 IS NULL THEN ended ELSE ?9 END"
                  " WHERE name=?1",
                  params, 4, now, &changed, err))
        return SM_TUNINGJOBS_FAILED;
    return changed ? SM_TUNINGJOBS_OK : SM_TUNINGJOBS_MISSING;
}

static int read_status(sqlite3_stmt *st, void *row, sm_error *err)
{
    (void)err;
    snprintf(row, 32, "%s", text(st, 0));
    return 0;
}

sm_tuningjobs_status sm_tuningjobs_stop(sm_db *db, const char *name, double now,
                                        char status[32], sm_error *err)
{
    const char *params[] = {name};
    int changed = 0;
    if (sm_db_run(db,
                  "UPDATE tuning_jobs SET status='Stopping', modified=?9"
                  " WHERE name=?1 AND status='InProgress'",
                  params, 1, now, &changed, err))
        return SM_TUNINGJOBS_FAILED;
    if (changed)
        return SM_TUNINGJOBS_OK;
    int rc = sm_db_get(db, "SELECT status FROM tuning_jobs WHERE name=?", name,
                       read_status, status, err);
    return rc < 0 ? SM_TUNINGJOBS_FAILED
           : rc   ? SM_TUNINGJOBS_MISSING
                  : SM_TUNINGJOBS_NOT_RUNNING;
}

/* The first column of every row of a prepared statement, as names. */
static sm_tuningjobs_status collect_names(sqlite3_stmt *st, size_t limit,
                                          char (**names)[64], size_t *count,
                                          int *more, sm_error *err)
{
    size_t cap = 0;
    *names = NULL;
    *count = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*count == limit) {
            if (more)
                *more = 1;
            break;
        }
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            char(*grown)[64] = realloc(*names, cap * sizeof *grown);
            if (!grown)
                return sm_error_set(err, "out of memory"), SM_TUNINGJOBS_FAILED;
            *names = grown;
        }
        snprintf((*names)[(*count)++], 64, "%s", text(st, 0));
    }
    return SM_TUNINGJOBS_OK;
}

sm_tuningjobs_status sm_tuningjobs_active(sm_db *db, char (**names)[64],
                                          size_t *count, sm_error *err)
{
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn,
        "SELECT name FROM tuning_jobs WHERE status IN ('InProgress',"
        " 'Stopping') ORDER BY created",
        err);
    sm_tuningjobs_status status =
        st ? collect_names(st, (size_t)-1, names, count, NULL, err)
           : SM_TUNINGJOBS_FAILED;
    sqlite3_finalize(st);
    sm_db_unlock(db);
    return status;
}

static void bind_bound(sqlite3_stmt *st, int i, double v)
{
    if (v >= 0)
        sqlite3_bind_double(st, i, v);
}

sm_tuningjobs_status sm_tuningjobs_list(sm_db *db, const sm_trainjobs_query *q,
                                        char (**names)[64], size_t *count,
                                        int *more, sm_error *err)
{
    const char *order = "created";
    if (q->sort_by && !strcmp(q->sort_by, "Name"))
        order = "name";
    else if (q->sort_by && !strcmp(q->sort_by, "Status"))
        order = "status";
    const char *dir = q->descending ? "DESC" : "ASC";
    char sql[1024];
    snprintf(
        sql, sizeof sql,
        "SELECT name FROM tuning_jobs WHERE"
        " (?1 IS NULL OR instr(lower(name), lower(?1)) > 0)"
        " AND (?2 IS NULL OR status = ?2)"
        " AND (?3 IS NULL OR created > ?3) AND (?4 IS NULL OR created < ?4)"
        " AND (?5 IS NULL OR modified > ?5)"
        " AND (?6 IS NULL OR modified < ?6)"
        " ORDER BY %s %s, created %s LIMIT ?7 OFFSET ?8",
        order, dir, dir);
    *more = 0;
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(conn, sql, err);
    sm_tuningjobs_status status = SM_TUNINGJOBS_FAILED;
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
        status = collect_names(st, q->limit, names, count, more, err);
    }
    sqlite3_finalize(st);
    sm_db_unlock(db);
    return status;
}

/* ---- trials ------------------------------------------------------------- */

sm_tuningjobs_status sm_tuningjobs_add_trial(sm_db *db,
                                             const sm_tuningjobs_new_trial *t,
                                             sm_error *err)
{
    json_t *point = json_array();
    for (size_t i = 0; point && i < t->dims; i++)
        json_array_append_new(point, json_real(t->point[i]));
    char *point_text = point ? json_dumps(point, JSON_COMPACT) : NULL;
    char *tuned = json_dumps(t->tuned, JSON_COMPACT);
    char index[32];
    snprintf(index, sizeof index, "%ld", t->index);
    const char *params[] = {t->trial,    t->tuning, index,
                            t->retry_of, tuned,     point_text};
    int rc = point_text && tuned
                 ? sm_db_run(db,
                             "INSERT INTO tuning_trials(trial, tuning, idx,"
                             " retry_of, tuned, point) VALUES(?1, ?2,"
                             " CAST(?3 AS INTEGER), ?4, ?5, ?6)",
                             params, 6, 0, NULL, err)
                 : sm_error_set(err, "out of memory");
    json_decref(point);
    free(point_text);
    free(tuned);
    return rc ? SM_TUNINGJOBS_FAILED : SM_TUNINGJOBS_OK;
}

static void read_trial(sqlite3_stmt *st, sm_tuningjobs_trial *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", text(st, 0));
    t->index = (long)sqlite3_column_int64(st, 1);
    snprintf(t->retry_of, sizeof t->retry_of, "%s", text(st, 2));
    t->tuned = json_loads(text(st, 3), 0, NULL);
    json_t *point = json_loads(text(st, 4), 0, NULL);
    for (size_t i = 0; i < json_array_size(point) && i < SM_TUNESPACE_MAX; i++)
        t->point[i] = json_number_value(json_array_get(point, i));
    json_decref(point);
    snprintf(t->arn, sizeof t->arn, "%s", text(st, 5));
    snprintf(t->status, sizeof t->status, "%s", text(st, 6));
    t->metrics = sqlite3_column_type(st, 7) == SQLITE_NULL
                     ? NULL
                     : json_loads(text(st, 7), 0, NULL);
    snprintf(t->failure, sizeof t->failure, "%s", text(st, 8));
    t->created = sqlite3_column_double(st, 9);
    t->started = time_or_none(st, 10);
    t->ended = time_or_none(st, 11);
    if (!t->tuned)
        t->tuned = json_object();
}

sm_tuningjobs_status sm_tuningjobs_trials(sm_db *db, const char *tuning,
                                          sm_tuningjobs_trial **out,
                                          size_t *count, sm_error *err)
{
    *out = NULL;
    *count = 0;
    size_t cap = 0;
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn,
        "SELECT t.trial, t.idx, t.retry_of, t.tuned, t.point, j.arn,"
        " j.status, j.metrics, j.failure_reason, j.created, j.started,"
        " j.ended FROM tuning_trials t JOIN training_jobs j"
        " ON j.name = t.trial WHERE t.tuning = ? ORDER BY t.idx",
        err);
    sm_tuningjobs_status status = st ? SM_TUNINGJOBS_OK : SM_TUNINGJOBS_FAILED;
    if (st)
        sqlite3_bind_text(st, 1, tuning, -1, SQLITE_STATIC);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            sm_tuningjobs_trial *grown = realloc(*out, cap * sizeof *grown);
            if (!grown) {
                status = SM_TUNINGJOBS_FAILED;
                sm_error_set(err, "out of memory");
                break;
            }
            *out = grown;
        }
        read_trial(st, &(*out)[(*count)++]);
    }
    sqlite3_finalize(st);
    sm_db_unlock(db);
    return status;
}

void sm_tuningjobs_trials_free(sm_tuningjobs_trial **trials, size_t count)
{
    for (size_t i = 0; *trials && i < count; i++) {
        json_decref((*trials)[i].tuned);
        json_decref((*trials)[i].metrics);
    }
    free(*trials);
    *trials = NULL;
}

int sm_tuningjobs_trial_metric(const sm_tuningjobs_trial *t, const char *metric,
                               double *value)
{
    size_t i;
    json_t *m;
    json_array_foreach(t->metrics, i, m)
    {
        const char *name = json_string_value(json_object_get(m, "MetricName"));
        json_t *v = json_object_get(m, "Value");
        if (name && metric && !strcmp(name, metric) && json_is_number(v)) {
            *value = json_number_value(v);
            return 0;
        }
    }
    return -1;
}
