/* logstore: CloudWatch Logs' groups, streams and events for the local
 * service, in SQLite: what training jobs (and endpoints, transforms)
 * write, and the queries the Logs API pages through, with AWS's paging
 * rules (GetLogEvents: the forward token comes back unchanged at the end
 * of the stream). Thread-safe: every call takes the database lock. */
#ifndef SM_LOGSTORE_H
#define SM_LOGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"

/* Create the tables. 0, or -1 with `err`. */
int sm_logstore_init(sm_db *db, sm_error *err);

/* One event going in: its time (ms since the epoch) and text (borrowed). */
typedef struct sm_logstore_input {
    int64_t timestamp;
    const char *message;
} sm_logstore_input;

/* Append `count` events to group/stream, creating both as needed, in one
 * transaction; `now_ms` is the ingestion time. 0, or -1 with `err`. */
int sm_logstore_put(sm_db *db, const char *group, const char *stream,
                    const sm_logstore_input *events, size_t count,
                    int64_t now_ms, sm_error *err);

/* What a call found. Negative: the database failed (`err`). */
typedef enum sm_logstore_status {
    SM_LOGSTORE_FAILED = -1,
    SM_LOGSTORE_OK = 0,
    SM_LOGSTORE_NO_GROUP,
    SM_LOGSTORE_NO_STREAM,
    SM_LOGSTORE_BAD_TOKEN,
    SM_LOGSTORE_EXISTS,
} sm_logstore_status;

/* Create the group: OK, or EXISTS when it was there already. */
sm_logstore_status sm_logstore_group_create(sm_db *db, const char *group,
                                            int64_t now_ms, sm_error *err);

/* Create an empty stream in an existing group: OK, NO_GROUP or EXISTS. */
sm_logstore_status sm_logstore_stream_create(sm_db *db, const char *group,
                                             const char *stream,
                                             int64_t now_ms, sm_error *err);

/* ---- reading ------------------------------------------------------------ */

/* An event coming out. Owned; sm_logstore_events_clear frees. */
typedef struct sm_logstore_event {
    int64_t id; /* its place in the store: ascending in insertion order */
    char *stream;
    int64_t timestamp, ingestion;
    char *message;
} sm_logstore_event;

typedef struct sm_logstore_events {
    sm_logstore_event *items;
    size_t count;
    /* GetLogEvents: the tokens to send next ("f/...", "b/...").
     * FilterLogEvents: next_forward is the nextToken, "" when done. */
    char next_forward[64];
    char next_backward[64];
    char **searched; /* FilterLogEvents: the streams looked at */
    size_t searched_count;
} sm_logstore_events;

void sm_logstore_events_clear(sm_logstore_events *self);

/* A GetLogEvents query. Strings borrowed. */
typedef struct sm_logstore_get {
    const char *group, *stream;
    int64_t start_time, end_time; /* ms; end exclusive; -1: none */
    const char *token;            /* "f/..." or "b/..." or NULL */
    int start_from_head;          /* without a token: oldest first */
    size_t limit;                 /* 1-10000 */
} sm_logstore_get;

/* A page of the stream's events, oldest first, with AWS's tokens: the
 * forward token names the last event returned (or, with nothing
 * returned, equals the token sent: the end of the stream). */
sm_logstore_status sm_logstore_get_events(sm_db *db,
                                          const sm_logstore_get *query,
                                          sm_logstore_events *out,
                                          sm_error *err);

/* A FilterLogEvents query. */
typedef struct sm_logstore_filter {
    const char *group;
    const char *const *streams; /* NULL: every stream ... */
    size_t stream_count;
    const char *stream_prefix; /* ... or those under this prefix */
    int64_t start_time, end_time;
    const char *pattern; /* terms that must all appear; "..." a phrase */
    const char *token;   /* a nextToken from before, or NULL */
    size_t limit;        /* 1-10000 */
} sm_logstore_filter;

sm_logstore_status sm_logstore_filter_events(sm_db *db,
                                             const sm_logstore_filter *query,
                                             sm_logstore_events *out,
                                             sm_error *err);

/* Nonzero when `message` matches the filter pattern (NULL or "" matches
 * everything): every space-separated term appears; a term in double
 * quotes must appear as written, spaces included. */
int sm_logstore_pattern_match(const char *pattern, const char *message);

/* A stream as DescribeLogStreams shows it. Owned name. */
typedef struct sm_logstore_stream {
    char *name;
    int64_t created, first_event, last_event, last_ingestion; /* -1: none */
} sm_logstore_stream;

typedef struct sm_logstore_streams {
    sm_logstore_stream *items;
    size_t count;
    int truncated; /* more follow: ask again from offset + count */
} sm_logstore_streams;

void sm_logstore_streams_clear(sm_logstore_streams *self);

/* The streams of `group` under `prefix` (NULL: all), ordered by name or
 * (by_last_event) by their last event, ascending or descending, `limit`
 * of them from `offset`. */
sm_logstore_status sm_logstore_streams_list(sm_db *db, const char *group,
                                            const char *prefix,
                                            int by_last_event, int descending,
                                            size_t offset, size_t limit,
                                            sm_logstore_streams *out,
                                            sm_error *err);

/* Groups under `prefix`, by name. Streams' `name` holds the group name,
 * `created` its creation time. */
sm_logstore_status sm_logstore_groups_list(sm_db *db, const char *prefix,
                                           size_t offset, size_t limit,
                                           sm_logstore_streams *out,
                                           sm_error *err);

#endif
