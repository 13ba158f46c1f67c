/* stssrv: the one STS operation clients need from the local service,
 * GetCallerIdentity (Query protocol: form POST or GET, XML answer). */
#ifndef SM_STSSRV_H
#define SM_STSSRV_H

#include "router.h"

int sm_stssrv_plan(sm_local_env *env, sm_http_request *req, sm_route_body *body,
                   sm_http_error *err);
int sm_stssrv_handle(sm_local_env *env, sm_http_request *req,
                     sm_http_response *resp, sm_http_error *err);

#endif
