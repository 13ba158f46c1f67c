/* db: the local service's SQLite database: one connection in WAL mode,
 * one lock around it, and the few helpers every table's module shares. */
#ifndef SM_DB_H
#define SM_DB_H

#include <sqlite3.h>

#include "error.h"

typedef struct sm_db sm_db;

/* Open (or create) the database at `path` (borrowed): WAL journal, full
 * synchronous commits, foreign keys on. New handle, or NULL with `err`. */
sm_db *sm_db_open(const char *path, sm_error *err);

/* Close the connection (checkpointing the WAL) and set *self to NULL. */
void sm_db_close(sm_db **self);

/* Take the connection for the calling thread: everything until
 * sm_db_unlock runs alone. The handle is borrowed. */
sqlite3 *sm_db_lock(sm_db *self);
void sm_db_unlock(sm_db *self);

/* Run `sql` (statements without results) on a locked connection.
 * Returns 0, or -1 with `err` set to SQLite's message. */
int sm_db_exec(sqlite3 *db, const char *sql, sm_error *err);

/* The same under the connection's lock: a module's schema at start. */
int sm_db_exec_locked(sm_db *db, const char *sql, sm_error *err);

/* Prepare `sql` on a locked connection; NULL with `err` set. */
sqlite3_stmt *sm_db_prepare(sqlite3 *db, const char *sql, sm_error *err);

/* Set `err` from the connection's last error; returns -1. */
int sm_db_fail(sqlite3 *db, sm_error *err, const char *what);

/* Reads the current row of a SELECT into `row`: 0, or -1 with `err` set. */
typedef int (*sm_db_row_fn)(sqlite3_stmt *st, void *row, sm_error *err);

/* Lock, run `sql` with the text parameter `key` as ?1, read the first row
 * with `read` into `row`, unlock. Returns 0 when a row was read, 1 when
 * there is none, -1 with `err` set. */
int sm_db_get(sm_db *self, const char *sql, const char *key, sm_db_row_fn read,
              void *row, sm_error *err);

/* Lock, run one statement without results that takes the text parameters
 * `params` (borrowed; NULL binds NULL) as ?1.. and `now` as ?9, unlock.
 * *changed (may be NULL) gets the rows it changed. Returns 0, or -1 with
 * `err` set. */
int sm_db_run(sm_db *self, const char *sql, const char *const *params,
              size_t count, double now, int *changed, sm_error *err);

#endif
