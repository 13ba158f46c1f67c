/* endpoint_track: the endpoints this kernel created (%deploy), so that
 * %endpoints can mark them, %cleanup can remove them, a time to live can
 * delete one while the kernel runs (a timer thread with a client of its
 * own), and shutdown can delete them (cleanup_on_exit) or warn that they
 * are left running. Internal to the magics layer. */
#ifndef SM_ENDPOINT_TRACK_H
#define SM_ENDPOINT_TRACK_H

#include <jansson.h>
#include <stdbool.h>

#include "aws.h"
#include "buf.h"
#include "config.h"

typedef struct sm_tracker sm_tracker;

/* New and empty; no thread runs until an endpoint with a time to live is
 * added. */
sm_tracker *sm_tracker_new(void);

/* Stop the timer (deleting nothing) and free. */
void sm_tracker_destroy(sm_tracker **self);

/* Track an endpoint (names borrowed, copied) created with `settings`
 * (borrowed; its values are copied so the timer reaches the same backend
 * later). `expires_at`: epoch seconds when the timer deletes it, 0 for
 * never. 0, or -1 when out of memory or the timer cannot start. */
int sm_tracker_add(sm_tracker *self, const char *endpoint, const char *config,
                   const char *model, const sm_config *settings,
                   double expires_at);

/* Stop tracking `endpoint` (no-op when unknown). */
void sm_tracker_forget(sm_tracker *self, const char *endpoint);

/* Nonzero when this kernel created `endpoint` and it was not deleted. */
int sm_tracker_knows(sm_tracker *self, const char *endpoint);

/* The tracked endpoints, oldest first: a new array of objects
 * {"endpoint", "config", "model", "created", "expires_at"}. */
json_t *sm_tracker_list(sm_tracker *self);

/* At kernel exit: stop the timer; then with `cleanup` delete every tracked
 * endpoint (with its config and model), else log a warning naming each
 * one that is still there. */
void sm_tracker_shutdown(sm_tracker *self, bool cleanup);

/* An endpoint and what belongs to it: its endpoint config and the models
 * of that config. */
typedef struct sm_endpoint_parts {
    int exists;     /* the endpoint itself is there */
    char *name;     /* new */
    char *config;   /* new; "" when none is known */
    json_t *models; /* new array of names */
} sm_endpoint_parts;

/* Find the parts of endpoint `name` through DescribeEndpoint and
 * DescribeEndpointConfig; `config` and `model` (may be NULL) name them
 * when the endpoint or its config is gone already. 0 with `out` filled
 * (clear it after), or -1 with `err` filled. */
int sm_endpoint_parts_find(sm_aws *aws, const char *name, const char *config,
                           const char *model, sm_endpoint_parts *out,
                           sm_aws_error *err);
void sm_endpoint_parts_clear(sm_endpoint_parts *self);

/* "endpoint x, endpoint config x and model x" appended to `out`. */
void sm_endpoint_parts_describe(const sm_endpoint_parts *self, sm_buf *out);

/* Delete the parts; those already gone are skipped. What was deleted is
 * appended to `done` ("endpoint x, endpoint config x, model x") and, when
 * `gone` is not NULL, to `gone` as {"kind", "name"} with the journal's
 * kinds (for sm_journal_deleted). 0, or -1 with `err` filled. */
int sm_endpoint_parts_delete(sm_aws *aws, const sm_endpoint_parts *parts,
                             sm_buf *done, json_t *gone, sm_aws_error *err);

/* Find and delete: 0 when the endpoint was there and is being deleted, 1
 * when there was no such endpoint (its config and model are still deleted
 * when named), or -1 with `err` filled; `gone` as for
 * sm_endpoint_parts_delete. */
int sm_endpoint_delete_all(sm_aws *aws, const char *name, const char *config,
                           const char *model, sm_buf *done, json_t *gone,
                           sm_aws_error *err);

#endif
