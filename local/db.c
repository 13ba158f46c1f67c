/* db: SQLite does the hard parts; this keeps the connection's settings
 * and its lock in one place. */
#include "db.h"

#include <pthread.h>
#include <stdlib.h>

struct sm_db {
    sqlite3 *db;
    pthread_mutex_t lock;
};

int sm_db_fail(sqlite3 *db, sm_error *err, const char *what)
{
    return sm_error_set(err, "database: %s: %s", what, sqlite3_errmsg(db));
}

int sm_db_get(sm_db *self, const char *sql, const char *key, sm_db_row_fn read,
              void *row, sm_error *err)
{
    sqlite3 *db = sm_db_lock(self);
    sqlite3_stmt *st = sm_db_prepare(db, sql, err);
    int rc = st ? 1 : -1;
    if (st) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = read(st, row, err);
        else if (step != SQLITE_DONE)
            rc = sm_db_fail(db, err, "select");
    }
    sqlite3_finalize(st);
    sm_db_unlock(self);
    return rc;
}

int sm_db_run(sm_db *self, const char *sql, const char *const *params,
              size_t count, double now, int *changed, sm_error *err)
{
    sqlite3 *db = sm_db_lock(self);
    sqlite3_stmt *st = sm_db_prepare(db, sql, err);
    int rc = -1;
    if (st) {
        for (size_t i = 0; i < count; i++)
            if (params[i])
                sqlite3_bind_text(st, (int)i + 1, params[i], -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 9, now);
        rc =
            sqlite3_step(st) == SQLITE_DONE ? 0 : sm_db_fail(db, err, "update");
        if (changed)
            *changed = sqlite3_changes(db);
    }
    sqlite3_finalize(st);
    sm_db_unlock(self);
    return rc;
}

int sm_db_exec_locked(sm_db *db, const char *sql, sm_error *err)
{
    sqlite3 *conn = sm_db_lock(db);
    int rc = sm_db_exec(conn, sql, err);
    sm_db_unlock(db);
    return rc;
}

int sm_db_exec(sqlite3 *db, const char *sql, sm_error *err)
{
    char *message = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &message) == SQLITE_OK)
        return 0;
    sm_error_set(err, "database: %s", message ? message : "failed");
    sqlite3_free(message);
    return -1;
}

sqlite3_stmt *sm_db_prepare(sqlite3 *db, const char *sql, sm_error *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        sm_db_fail(db, err, "prepare");
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

sm_db *sm_db_open(const char *path, sm_error *err)
{
    sm_db *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &self->db, flags, NULL) != SQLITE_OK) {
        sm_error_set(err, "cannot open the database %s: %s", path,
                     self->db ? sqlite3_errmsg(self->db) : "out of memory");
        sm_db_close(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, 5000);
    if (sm_db_exec(self->db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "PRAGMA foreign_keys=ON;",
                   err))
        sm_db_close(&self);
    return self;
}

void sm_db_close(sm_db **self)
{
    if (!*self)
        return;
    sqlite3_close((*self)->db);
    pthread_mutex_destroy(&(*self)->lock);
    free(*self);
    *self = NULL;
}

sqlite3 *sm_db_lock(sm_db *self)
{
    pthread_mutex_lock(&self->lock);
    return self->db;
}

void sm_db_unlock(sm_db *self)
{
    pthread_mutex_unlock(&self->lock);
}
