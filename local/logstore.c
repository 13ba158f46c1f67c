/* logstore: events ordered by (timestamp, id); a token is a position in
 * that order, so paging never skips or repeats an event. */
#include "logstore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_BYTES (1024 * 1024) /* AWS: a page holds at most 1 MB */
#define EVENT_OVERHEAD 26        /* bytes AWS counts per event */

static const char *const schema =
    "CREATE TABLE IF NOT EXISTS log_groups("
    "  name TEXT PRIMARY KEY,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS log_streams("
    "  grp TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  first_event_ms INTEGER,"
    "  last_event_ms INTEGER,"
    "  last_ingestion_ms INTEGER,"
    "  PRIMARY KEY (grp, name));"
    "CREATE TABLE IF NOT EXISTS log_events("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  grp TEXT NOT NULL,"
    "  stream TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  ingested INTEGER NOT NULL,"
    "  message TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS log_events_by_stream"
    "  ON log_events(grp, stream, ts, id);"
    "CREATE INDEX IF NOT EXISTS log_events_by_group"
    "  ON log_events(grp, ts, id);";

int sm_logstore_init(sm_db *db, sm_error *err)
{
    return sm_db_exec_locked(db, schema, err);
}

/* ---- writing ------------------------------------------------------------ */

/* Insert the group unless it exists; *added says whether it was new. */
static int group_insert(sqlite3 *conn, const char *group, int64_t now_ms,
                        int *added, sm_error *err)
{
    sqlite3_stmt *st = sm_db_prepare(
        conn, "INSERT OR IGNORE INTO log_groups(name, created_ms) VALUES(?,?)",
        err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0
                                             : sm_db_fail(conn, err, "log group");
    sqlite3_finalize(st);
    if (added)
        *added = !rc && sqlite3_changes(conn) > 0;
    return rc;
}

sm_logstore_status sm_logstore_group_create(sm_db *db, const char *group,
                                            int64_t now_ms, sm_error *err)
{
    int added = 0;
    sqlite3 *conn = sm_db_lock(db);
    int rc = group_insert(conn, group, now_ms, &added, err);
    sm_db_unlock(db);
    if (rc)
        return SM_LOGSTORE_FAILED;
    return added ? SM_LOGSTORE_OK : SM_LOGSTORE_EXISTS;
}

static int stream_touch(sqlite3 *conn, const char *group, const char *stream,
                        int64_t first, int64_t last, int64_t now_ms,
                        sm_error *err)
{
    sqlite3_stmt *st = sm_db_prepare(
        conn,
        "INSERT INTO log_streams(grp, name, created_ms, first_event_ms,"
        " last_event_ms, last_ingestion_ms) VALUES(?1,?2,?5,?3,?4,?5)"
        " ON CONFLICT(grp, name) DO UPDATE SET"
        " first_event_ms = min(coalesce(first_event_ms, ?3), ?3),"
        " last_event_ms = max(coalesce(last_event_ms, ?4), ?4),"
        " last_ingestion_ms = ?5",
        err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, first);
    sqlite3_bind_int64(st, 4, last);
    sqlite3_bind_int64(st, 5, now_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE
                 ? 0
                 : sm_db_fail(conn, err, "log stream");
    sqlite3_finalize(st);
    return rc;
}

static int events_insert(sqlite3 *conn, const char *group, const char *stream,
                         const sm_logstore_input *events, size_t count,
                         int64_t now_ms, sm_error *err)
{
    sqlite3_stmt *st = sm_db_prepare(
        conn,
        "INSERT INTO log_events(grp, stream, ts, ingested, message)"
        " VALUES(?,?,?,?,?)",
        err);
    if (!st)
        return -1;
    int rc = 0;
    for (size_t i = 0; !rc && i < count; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, events[i].timestamp);
        sqlite3_bind_int64(st, 4, now_ms);
        sqlite3_bind_text(st, 5, events[i].message, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sm_db_fail(conn, err, "log event");
    }
    sqlite3_finalize(st);
    return rc;
}

int sm_logstore_put(sm_db *db, const char *group, const char *stream,
                    const sm_logstore_input *events, size_t count,
                    int64_t now_ms, sm_error *err)
{
    if (count == 0)
        return 0;
    int64_t first = events[0].timestamp, last = events[0].timestamp;
    for (size_t i = 1; i < count; i++) {
        first = events[i].timestamp < first ? events[i].timestamp : first;
        last = events[i].timestamp > last ? events[i].timestamp : last;
    }
    sqlite3 *conn = sm_db_lock(db);
    int rc = sm_db_exec(conn, "BEGIN IMMEDIATE", err);
    if (!rc)
        rc = group_insert(conn, group, now_ms, NULL, err);
    if (!rc)
        rc = stream_touch(conn, group, stream, first, last, now_ms, err);
    if (!rc)
        rc = events_insert(conn, group, stream, events, count, now_ms, err);
    if (!rc)
        rc = sm_db_exec(conn, "COMMIT", err);
    if (rc)
        sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
    sm_db_unlock(db);
    return rc;
}

/* ---- positions and tokens ----------------------------------------------- */

/* A place between events: every event sorts before or after it. */
typedef struct position {
    int64_t ts, id;
} position;

static void token_write(char kind, position p, char out[64])
{
    snprintf(out, 64, "%c/%019" PRId64 "%019" PRId64, kind,
             p.ts < 0 ? 0 : p.ts, p.id < 0 ? 0 : p.id);
}

static int token_read(const char *token, char *kind, position *p)
{
    if (!token || strlen(token) != 40 || token[1] != '/' ||
        (token[0] != 'f' && token[0] != 'b'))
        return -1;
    for (int i = 2; i < 40; i++)
        if (token[i] < '0' || token[i] > '9')
            return -1;
    char ts[20], id[20];
    memcpy(ts, token + 2, 19);
    ts[19] = '\0';
    memcpy(id, token + 21, 19);
    id[19] = '\0';
    *kind = token[0];
    p->ts = strtoll(ts, NULL, 10);
    p->id = strtoll(id, NULL, 10);
    return 0;
}

void sm_logstore_events_clear(sm_logstore_events *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free(self->items[i].stream);
        free(self->items[i].message);
    }
    free(self->items);
    for (size_t i = 0; i < self->searched_count; i++)
        free(self->searched[i]);
    free(self->searched);
    *self = (sm_logstore_events){0};
}

static int events_push(sm_logstore_events *out, sqlite3_stmt *st, size_t *cap)
{
    if (out->count == *cap) {
        size_t n = *cap ? *cap * 2 : 64;
        sm_logstore_event *items = realloc(out->items, n * sizeof *items);
        if (!items)
            return -1;
        out->items = items;
        *cap = n;
    }
    sm_logstore_event *e = &out->items[out->count];
    e->id = sqlite3_column_int64(st, 0);
    e->timestamp = sqlite3_column_int64(st, 1);
    e->ingestion = sqlite3_column_int64(st, 2);
    const char *msg = (const char *)sqlite3_column_text(st, 3);
    const char *stream = (const char *)sqlite3_column_text(st, 4);
    e->message = strdup(msg ? msg : "");
    e->stream = strdup(stream ? stream : "");
    if (!e->message || !e->stream) {
        free(e->message);
        free(e->stream);
        return -1;
    }
    out->count++;
    return 0;
}

/* ---- GetLogEvents ------------------------------------------------------- */

static sm_logstore_status exists(sqlite3 *conn, const char *group,
                                 const char *stream, sm_error *err)
{
    const char *sql = stream ? "SELECT 1 FROM log_streams WHERE grp=? AND "
                               "name=?"
                             : "SELECT 1 FROM log_groups WHERE name=?";
    sqlite3_stmt *st = sm_db_prepare(conn, sql, err);
    if (!st)
        return SM_LOGSTORE_FAILED;
    sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
    if (stream)
        sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step == SQLITE_ROW)
        return SM_LOGSTORE_OK;
    if (step != SQLITE_DONE)
        return sm_db_fail(conn, err, "log lookup"), SM_LOGSTORE_FAILED;
    return stream ? SM_LOGSTORE_NO_STREAM : SM_LOGSTORE_NO_GROUP;
}

sm_logstore_status sm_logstore_stream_create(sm_db *db, const char *group,
                                             const char *stream,
                                             int64_t now_ms, sm_error *err)
{
    sqlite3 *conn = sm_db_lock(db);
    sm_logstore_status status = exists(conn, group, NULL, err);
    if (status == SM_LOGSTORE_OK) {
        status = exists(conn, group, stream, err);
        if (status == SM_LOGSTORE_OK)
            status = SM_LOGSTORE_EXISTS;
        else if (status == SM_LOGSTORE_NO_STREAM)
            status = SM_LOGSTORE_OK;
    }
    sqlite3_stmt *st =
        status == SM_LOGSTORE_OK
            ? sm_db_prepare(conn,
                            "INSERT INTO log_streams(grp, name, created_ms)"
                            " VALUES(?,?,?)",
                            err)
            : NULL;
    if (status == SM_LOGSTORE_OK && !st)
        status = SM_LOGSTORE_FAILED;
    if (st) {
        sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_ms);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sm_db_fail(conn, err, "log stream");
            status = SM_LOGSTORE_FAILED;
        }
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    return status;
}

/* Events after `from` (forward) or before it (backward, newest first),
 * within the time window, at most `limit` and PAGE_BYTES. */
static int page_select(sqlite3 *conn, const sm_logstore_get *q, int forward,
                       position from, sm_logstore_events *out, sm_error *err)
{
    const char *sql =
        forward ? "SELECT id, ts, ingested, message, stream FROM log_events"
                  " WHERE grp=?1 AND stream=?2 AND (ts > ?3 OR (ts = ?3 AND"
                  " id > ?4)) AND ts >= ?5 AND ts < ?6 ORDER BY ts, id"
                  " LIMIT ?7"
                : "SELECT id, ts, ingested, message, stream FROM log_events"
                  " WHERE grp=?1 AND stream=?2 AND (ts < ?3 OR (ts = ?3 AND"
                  " id < ?4)) AND ts >= ?5 AND ts < ?6 ORDER BY ts DESC,"
                  " id DESC LIMIT ?7";
    sqlite3_stmt *st = sm_db_prepare(conn, sql, err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, q->group, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, q->stream, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from.ts);
    sqlite3_bind_int64(st, 4, from.id);
    sqlite3_bind_int64(st, 5, q->start_time >= 0 ? q->start_time : INT64_MIN);
    sqlite3_bind_int64(st, 6, q->end_time >= 0 ? q->end_time : INT64_MAX);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)q->limit);
    size_t cap = 0, bytes = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        bytes += (size_t)sqlite3_column_bytes(st, 3) + EVENT_OVERHEAD;
        if (bytes > PAGE_BYTES && out->count)
            break;
        if (events_push(out, st, &cap)) {
            rc = sm_error_set(err, "out of memory reading log events");
            break;
        }
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = sm_db_fail(conn, err, "log events");
    sqlite3_finalize(st);
    if (!rc && !forward) /* newest first: put them back in order */
        for (size_t i = 0; i < out->count / 2; i++) {
            sm_logstore_event t = out->items[i];
            out->items[i] = out->items[out->count - 1 - i];
            out->items[out->count - 1 - i] = t;
        }
    return rc;
}

static void page_tokens(sm_logstore_events *out, int have_token, char kind,
                        position from)
{
    if (out->count) {
        sm_logstore_event *first = &out->items[0];
        sm_logstore_event *last = &out->items[out->count - 1];
        token_write('f', (position){last->timestamp, last->id},
                    out->next_forward);
        token_write('b', (position){first->timestamp, first->id},
                    out->next_backward);
    } else if (have_token && kind == 'f') {
        token_write('f', from, out->next_forward); /* the end: unchanged */
        token_write('b', (position){from.ts, from.id + 1}, out->next_backward);
    } else if (have_token) {
        token_write('b', from, out->next_backward); /* the start: unchanged */
        token_write('f', (position){from.ts, from.id - 1}, out->next_forward);
    } else {
        token_write('f', (position){0, 0}, out->next_forward);
        token_write('b', (position){0, 0}, out->next_backward);
    }
}

sm_logstore_status sm_logstore_get_events(sm_db *db,
                                          const sm_logstore_get *q,
                                          sm_logstore_events *out,
                                          sm_error *err)
{
    *out = (sm_logstore_events){0};
    char kind = q->start_from_head ? 'f' : 'b';
    position from = q->start_from_head ? (position){0, 0}
                                       : (position){INT64_MAX, INT64_MAX};
    if (q->token && token_read(q->token, &kind, &from))
        return SM_LOGSTORE_BAD_TOKEN;
    sqlite3 *conn = sm_db_lock(db);
    sm_logstore_status status = exists(conn, q->group, NULL, err);
    if (status == SM_LOGSTORE_OK)
        status = exists(conn, q->group, q->stream, err);
    if (status == SM_LOGSTORE_OK &&
        page_select(conn, q, kind == 'f', from, out, err))
        status = SM_LOGSTORE_FAILED;
    sm_db_unlock(db);
    if (status != SM_LOGSTORE_OK) {
        sm_logstore_events_clear(out);
        return status;
    }
    page_tokens(out, q->token != NULL, kind, from);
    return SM_LOGSTORE_OK;
}

/* ---- FilterLogEvents ---------------------------------------------------- */

/* Does `message` hold the `len` bytes of `term`? */
static int holds(const char *message, const char *term, size_t len)
{
    if (len == 0)
        return 1;
    for (const char *p = message; (p = strchr(p, term[0])) != NULL; p++)
        if (strncmp(p, term, len) == 0)
            return 1;
    return 0;
}

int sm_logstore_pattern_match(const char *pattern, const char *message)
{
    const char *p = pattern ? pattern : "";
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p, *end;
        if (*p == '"') {
            start = ++p;
            end = strchr(p, '"');
            if (!end)
                end = p + strlen(p);
            p = *end ? end + 1 : end;
        } else {
            while (*p && *p != ' ' && *p != '\t')
                p++;
            end = p;
        }
        if (!holds(message, start, (size_t)(end - start)))
            return 0;
    }
    return 1;
}

static int stream_wanted(const sm_logstore_filter *q, const char *stream)
{
    if (q->streams) {
        for (size_t i = 0; i < q->stream_count; i++)
            if (strcmp(q->streams[i], stream) == 0)
                return 1;
        return 0;
    }
    return !q->stream_prefix ||
           strncmp(stream, q->stream_prefix, strlen(q->stream_prefix)) == 0;
}

/* The names of the group's streams the query looks at. */
static int searched_streams(sqlite3 *conn, const sm_logstore_filter *q,
                            sm_logstore_events *out, sm_error *err)
{
    sqlite3_stmt *st = sm_db_prepare(
        conn, "SELECT name FROM log_streams WHERE grp=? ORDER BY name", err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, q->group, -1, SQLITE_STATIC);
    int rc = 0;
    size_t cap = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name || !stream_wanted(q, name))
            continue;
        if (out->searched_count == cap) {
            cap = cap ? cap * 2 : 8;
            char **grown = realloc(out->searched, cap * sizeof *grown);
            if (!grown) {
                rc = sm_error_set(err, "out of memory");
                break;
            }
            out->searched = grown;
        }
        out->searched[out->searched_count] = strdup(name);
        if (!out->searched[out->searched_count])
            rc = sm_error_set(err, "out of memory");
        else
            out->searched_count++;
    }
    sqlite3_finalize(st);
    return rc;
}

static int filter_scan(sqlite3 *conn, const sm_logstore_filter *q,
                       position from, sm_logstore_events *out, int *more,
                       sm_error *err)
{
    sqlite3_stmt *st = sm_db_prepare(
        conn,
        "SELECT id, ts, ingested, message, stream FROM log_events"
        " WHERE grp=?1 AND (ts > ?2 OR (ts = ?2 AND id > ?3))"
        " AND ts >= ?4 AND ts < ?5 ORDER BY ts, id",
        err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, q->group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from.ts);
    sqlite3_bind_int64(st, 3, from.id);
    sqlite3_bind_int64(st, 4, q->start_time >= 0 ? q->start_time : INT64_MIN);
    sqlite3_bind_int64(st, 5, q->end_time >= 0 ? q->end_time : INT64_MAX);
    size_t cap = 0, bytes = 0;
    int rc = 0, step;
    *more = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *stream = (const char *)sqlite3_column_text(st, 4);
        const char *message = (const char *)sqlite3_column_text(st, 3);
        if (!stream || !message || !stream_wanted(q, stream) ||
            !sm_logstore_pattern_match(q->pattern, message))
            continue;
        bytes += strlen(message) + EVENT_OVERHEAD;
        if (out->count >= q->limit || (bytes > PAGE_BYTES && out->count)) {
            *more = 1;
            break;
        }
        if (events_push(out, st, &cap)) {
            rc = sm_error_set(err, "out of memory reading log events");
            break;
        }
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = sm_db_fail(conn, err, "log events");
    sqlite3_finalize(st);
    return rc;
}

sm_logstore_status sm_logstore_filter_events(sm_db *db,
                                             const sm_logstore_filter *q,
                                             sm_logstore_events *out,
                                             sm_error *err)
{
    *out = (sm_logstore_events){0};
    position from = {INT64_MIN, 0};
    char kind = 'f';
    if (q->token && (token_read(q->token, &kind, &from) || kind != 'f'))
        return SM_LOGSTORE_BAD_TOKEN;
    sqlite3 *conn = sm_db_lock(db);
    sm_logstore_status status = exists(conn, q->group, NULL, err);
    int more = 0;
    if (status == SM_LOGSTORE_OK &&
        (searched_streams(conn, q, out, err) ||
         filter_scan(conn, q, from, out, &more, err)))
        status = SM_LOGSTORE_FAILED;
    sm_db_unlock(db);
    if (status != SM_LOGSTORE_OK) {
        sm_logstore_events_clear(out);
        return status;
    }
    if (more && out->count) {
        sm_logstore_event *last = &out->items[out->count - 1];
        token_write('f', (position){last->timestamp, last->id},
                    out->next_forward);
    }
    return SM_LOGSTORE_OK;
}

/* ---- streams and groups ------------------------------------------------- */

void sm_logstore_streams_clear(sm_logstore_streams *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->items[i].name);
    free(self->items);
    *self = (sm_logstore_streams){0};
}

static int64_t column_or_none(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? -1
               : sqlite3_column_int64(st, i);
}

/* Rows of (name, created, first, last, ingestion) into `out`, keeping
 * `limit` and noting whether one more followed. */
static int streams_collect(sqlite3 *conn, sqlite3_stmt *st, size_t limit,
                           sm_logstore_streams *out, sm_error *err)
{
    int rc = 0, step;
    out->items = calloc(limit ? limit : 1, sizeof *out->items);
    if (!out->items)
        return sm_error_set(err, "out of memory");
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->count == limit) {
            out->truncated = 1;
            break;
        }
        sm_logstore_stream *s = &out->items[out->count];
        const char *name = (const char *)sqlite3_column_text(st, 0);
        s->name = strdup(name ? name : "");
        if (!s->name) {
            rc = sm_error_set(err, "out of memory");
            break;
        }
        s->created = sqlite3_column_int64(st, 1);
        s->first_event = column_or_none(st, 2);
        s->last_event = column_or_none(st, 3);
        s->last_ingestion = column_or_none(st, 4);
        out->count++;
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = sm_db_fail(conn, err, "log streams");
    return rc;
}

sm_logstore_status sm_logstore_streams_list(sm_db *db, const char *group,
                                            const char *prefix,
                                            int by_last_event, int descending,
                                            size_t offset, size_t limit,
                                            sm_logstore_streams *out,
                                            sm_error *err)
{
    static const char *const orders[4] = {
        " ORDER BY name LIMIT ?3 OFFSET ?4",
        " ORDER BY name DESC LIMIT ?3 OFFSET ?4",
        " ORDER BY coalesce(last_event_ms, 0), name LIMIT ?3 OFFSET ?4",
        (" ORDER BY coalesce(last_event_ms, 0) DESC, name DESC"
         " LIMIT ?3 OFFSET ?4"),
    };
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT name, created_ms, first_event_ms, last_event_ms,"
             " last_ingestion_ms FROM log_streams WHERE grp=?1 AND"
             " substr(name, 1, length(?2)) = ?2%s",
             orders[(by_last_event ? 2 : 0) + (descending ? 1 : 0)]);
    *out = (sm_logstore_streams){0};
    sqlite3 *conn = sm_db_lock(db);
    sm_logstore_status status = exists(conn, group, NULL, err);
    sqlite3_stmt *st =
        status == SM_LOGSTORE_OK ? sm_db_prepare(conn, sql, err) : NULL;
    if (status == SM_LOGSTORE_OK && !st)
        status = SM_LOGSTORE_FAILED;
    if (st) {
        sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, prefix ? prefix : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)limit + 1);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)offset);
        if (streams_collect(conn, st, limit, out, err))
            status = SM_LOGSTORE_FAILED;
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    if (status != SM_LOGSTORE_OK)
        sm_logstore_streams_clear(out);
    return status;
}

sm_logstore_status sm_logstore_groups_list(sm_db *db, const char *prefix,
                                           size_t offset, size_t limit,
                                           sm_logstore_streams *out,
                                           sm_error *err)
{
    *out = (sm_logstore_streams){0};
    sqlite3 *conn = sm_db_lock(db);
    sqlite3_stmt *st = sm_db_prepare(
        conn,
        "SELECT name, created_ms, NULL, NULL, NULL FROM log_groups"
        " WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name"
        " LIMIT ?2 OFFSET ?3",
        err);
    sm_logstore_status status = st ? SM_LOGSTORE_OK : SM_LOGSTORE_FAILED;
    if (st) {
        sqlite3_bind_text(st, 1, prefix ? prefix : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)limit + 1);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)offset);
        if (streams_collect(conn, st, limit, out, err))
            status = SM_LOGSTORE_FAILED;
        sqlite3_finalize(st);
    }
    sm_db_unlock(db);
    if (status != SM_LOGSTORE_OK)
        sm_logstore_streams_clear(out);
    return status;
}
