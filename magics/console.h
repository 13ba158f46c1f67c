/* console: links into the AWS Management Console for what the magics
 * create on the aws backend (jobs, endpoints, models, log streams), so a
 * card can send its reader to the console page of the same thing. */
#ifndef SM_CONSOLE_H
#define SM_CONSOLE_H

#include <stddef.h>

/* The console page of a SageMaker resource of `kind` (training-job,
 * transform-job, tuning-job, endpoint, endpoint-config, model) named
 * `name` in `region`, written into out[size]. 0, or -1 for an unknown
 * kind or a link that does not fit. */
int sm_console_sagemaker_url(const char *kind, const char *region,
                             const char *name, char *out, size_t size);

/* The console page of CloudWatch Logs stream `stream` of group `group`.
 * 0, or -1 when the link does not fit. */
int sm_console_log_stream_url(const char *region, const char *group,
                              const char *stream, char *out, size_t size);

#endif
