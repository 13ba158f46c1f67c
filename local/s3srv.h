/* s3srv: the S3 REST API of the local service over the store: buckets,
 * objects with ranges and conditions, listings, multipart uploads, copies
 * of objects and of parts, with XML bodies and errors as S3 writes them.
 * Path-style addressing (/bucket/key), and virtual-hosted style for hosts
 * <bucket>.localhost. */
#ifndef SM_S3SRV_H
#define SM_S3SRV_H

#include "router.h"

/* The route's plan and handle (router.h). */
int sm_s3srv_plan(sm_local_env *env, sm_http_request *req, sm_route_body *body,
                  sm_http_error *err);
int sm_s3srv_handle(sm_local_env *env, sm_http_request *req,
                    sm_http_response *resp, sm_http_error *err);

/* The operation `req` asks for ("PutObject", ...), or NULL; for logs. */
const char *sm_s3srv_operation(const sm_http_request *req);

#endif
