/* serving: SageMaker's models, endpoint configs and endpoints for the
 * local service. Rows live in the database; an endpoint's models live in
 * memory, loaded by a background thread (Creating, Updating -> InService)
 * and again when the service starts, and are served to many request
 * threads at once. The SageMaker operations are rows of sm_serving_ops. */
#ifndef SM_SERVING_H
#define SM_SERVING_H

#include "db.h"
#include "error.h"
#include "jsonapi.h"
#include "predict.h"

struct sm_store;

typedef struct sm_serving sm_serving;

/* All borrowed; they outlive the serving. */
typedef struct sm_serving_config {
    sm_db *db;
    struct sm_store *store;
    const char *account_id;
    const char *region;
} sm_serving_config;

/* Create the tables, load the models of every endpoint in service (an
 * endpoint whose model no longer loads becomes Failed), resume the
 * endpoints that were being created or updated, and start the loader.
 * New serving, or NULL with `err`. */
sm_serving *sm_serving_open(const sm_serving_config *config, sm_error *err);

/* Stop the loader (a load in progress finishes first), free every model
 * once no request holds it; *self = NULL. */
void sm_serving_close(sm_serving **self);

/* CreateModel, DescribeModel, ListModels, DeleteModel, the same for
 * endpoint configs, CreateEndpoint, DescribeEndpoint, ListEndpoints,
 * UpdateEndpoint, DeleteEndpoint. They find the serving at env->serving. */
extern const sm_jsonapi_ops sm_serving_ops;

/* ---- serving ------------------------------------------------------------ */

/* One request's hold on an endpoint's variant: the model stays loaded
 * until sm_serving_release, even if the endpoint is updated or deleted
 * meanwhile. The strings are borrowed from the hold. */
typedef struct sm_serving_lease {
    void *deployment; /* private */
    const sm_predict_model *model;
    const char *variant;
    const char *default_accept; /* SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT */
} sm_serving_lease;

typedef enum sm_serving_found {
    SM_SERVING_SERVING = 0,
    SM_SERVING_NO_ENDPOINT,
    SM_SERVING_NOT_IN_SERVICE, /* exists, nothing loaded (Creating, Failed) */
    SM_SERVING_NO_VARIANT,     /* the target variant is not deployed */
} sm_serving_found;

/* Take a variant of `endpoint` for one request: `target_variant` when not
 * NULL, else one picked by the variants' weights. SERVING with `lease`
 * filled, or why not. Thread-safe and fast (no database). */
sm_serving_found sm_serving_acquire(sm_serving *self, const char *endpoint,
                                    const char *target_variant,
                                    sm_serving_lease *lease);
void sm_serving_release(sm_serving_lease *lease);

/* The status of endpoint `name` in the database ("Creating", ...) into
 * `out`: 0, or 1 when there is no such endpoint (or it can't be read). */
int sm_serving_endpoint_status(sm_serving *self, const char *name,
                               char out[32]);

/* ---- models for batch transform ----------------------------------------- */

/* What CreateModel recorded for `model_name`. Owned strings; clear with
 * sm_serving_model_info_clear. */
typedef struct sm_serving_model_info {
    char *image;
    char *model_data_url;
    char *default_accept; /* NULL when the model sets none */
} sm_serving_model_info;

/* 0 with `info` filled, 1 when there is no such model, -1 with `err`. */
int sm_serving_model_info_get(sm_serving *self, const char *model_name,
                              sm_serving_model_info *info, sm_error *err);
void sm_serving_model_info_clear(sm_serving_model_info *info);

/* Load the model `model_data_url` (s3://bucket/key of a model.tar.gz in
 * the local store) predicting with `nthread` threads. New model, or NULL
 * with `err` saying why in the user's words. */
sm_predict_model *sm_serving_model_load(sm_serving *self,
                                        const char *model_data_url, int nthread,
                                        sm_error *err);

/* Split "s3://bucket/key" into its parts (out, borrowed into
 * `bucket_out`/`key`); 0, or -1 when it is not such a URI. */
int sm_serving_s3_uri(const char *uri, char bucket_out[64], const char **key);

#endif
