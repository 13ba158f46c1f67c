/* router: the table of services the local service offers, keyed by the
 * name SigV4 signs them with (s3, sts, sagemaker, logs), how
 * each takes its request body, and the error shapes of each protocol. */
#ifndef SM_ROUTER_H
#define SM_ROUTER_H

#include <stdint.h>

#include "auth.h"
#include "http.h"

struct sm_store;
struct sm_db;
struct sm_trainer;
struct sm_serving;
struct sm_transform;
struct sm_tuner;

/* What every service handler may use. Borrowed; lives as long as the
 * server. Later services add their members here. */
typedef struct sm_local_env {
    struct sm_store *store;
    const char *account_id; /* 12 digits */
    const char *access_key;
    const char *region; /* the region buckets default to */
    struct sm_db *db;   /* the service's database (db.h): tables of jobs,
                         * logs (logstore.h), ... */
    const char *data_dir;
    struct sm_trainer *trainer;     /* training jobs' processes (trainer.h) */
    struct sm_serving *serving;     /* models, endpoints and their loaded
                                     * boosters (serving.h) */
    struct sm_transform *transform; /* batch transform jobs (transform.h) */
    struct sm_tuner *tuner;         /* hyperparameter tuning jobs (tuner.h) */
} sm_local_env;

/* How a request's body is taken, and where it is handled, decided from
 * its line and headers. */
typedef struct sm_route_body {
    int stream;     /* into a blob on disk, not memory */
    uint64_t limit; /* bytes of decoded body allowed */
    int too_large_status;
    const char *too_large_code; /* the error past the limit */
    const char *too_large_message;
    int slow; /* the handler works long on the disk (a copy): it runs on
               * a finisher thread, never on one serving connections */
} sm_route_body;

typedef struct sm_route {
    const char *service; /* the credential scope's service */
    sm_auth_protocol protocol;
    /* Before the body: find the operation (note it in req->op), refuse
     * what can be refused now, and say how to take the body. 0, or -1
     * with `err`. */
    int (*plan)(sm_local_env *env, sm_http_request *req, sm_route_body *body,
                sm_http_error *err);
    /* With the body: answer. 0 with `resp` filled, or -1 with `err`. */
    int (*handle)(sm_local_env *env, sm_http_request *req,
                  sm_http_response *resp, sm_http_error *err);
    /* The operation a planned request asks for ("PutObject"), for logs;
     * NULL when the service has one name for all. */
    const char *(*operation)(const sm_http_request *req);
} sm_route;

/* The route for `service`, or NULL when the local service has none. */
const sm_route *sm_router_find(const char *service);

/* The protocol a request that names no service most likely speaks:
 * JSON with X-Amz-Target or under /endpoints/, Query for a form POST or
 * an Action parameter, else S3. */
sm_auth_protocol sm_router_guess(const sm_http_request *req);

/* Turn `err` into `resp` (status, headers, body) in `protocol`'s shape,
 * with the request id of `req`. */
void sm_router_render_error(sm_auth_protocol protocol,
                            const sm_http_request *req,
                            const sm_http_error *err, sm_http_response *resp);

/* Add the request-id headers `protocol` answers with to `resp`. */
void sm_router_stamp(sm_auth_protocol protocol, const sm_http_request *req,
                     sm_http_response *resp);

#endif
