/* logsrv: the CloudWatch Logs route of the local service (awsJson 1.1,
 * X-Amz-Target "Logs_20140328.<Op>"): DescribeLogGroups,
 * DescribeLogStreams, GetLogEvents and FilterLogEvents over the
 * logstore, plus CreateLogGroup, CreateLogStream and PutLogEvents. */
#ifndef SM_LOGSRV_H
#define SM_LOGSRV_H

#include "router.h"

/* The log group of training jobs, and their streams: NAME/algo-1-EPOCH. */
#define SM_LOGSRV_TRAINING_GROUP "/aws/sagemaker/TrainingJobs"

int sm_logsrv_plan(sm_local_env *env, sm_http_request *req, sm_route_body *body,
                   sm_http_error *err);
int sm_logsrv_handle(sm_local_env *env, sm_http_request *req,
                     sm_http_response *resp, sm_http_error *err);
const char *sm_logsrv_operation(const sm_http_request *req);

#endif
