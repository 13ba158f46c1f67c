/* aws_common: what the magics that call AWS share: the client for the
 * current settings, and an AWS failure as the cell's one sentence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_magics.h"

sm_aws *sm_call_aws(sm_call *call)
{
    sm_aws_error err = {.http_status = 0};
    sm_aws *aws = sm_backend_client(sm_magics_backend(call->m),
                                    sm_magics_config(call->m), call->out, &err);
    if (!aws)
        sm_call_fail_aws(call, &err);
    return aws;
}

int sm_call_fail_aws(sm_call *call, const sm_aws_error *err)
{
    char text[sizeof call->err.message];
    sm_aws_error_format(err, text, sizeof text);
    if (strcmp(err->code, SM_AWS_ERR_INTERRUPTED) == 0)
        call->ename = "KeyboardInterrupt";
    else if (err->http_status == 0 && !err->code[0] && err->operation[0])
        call->ename = "ConnectionError";
    else if (err->http_status || err->code[0])
        call->ename = "ClientError";
    else
        call->ename = "BackendError"; /* settings, credentials, service */
    return sm_error_set(&call->err, "%s", text);
}

int sm_call_interrupted(void *call)
{
    return sm_out_interrupted(((sm_call *)call)->out);
}

int sm_call_count_flag(sm_call *call, const char *name, long fallback,
                       long max, long *out)
{
    const char *v = sm_args_get(&call->args, name);
    *out = fallback;
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < 1 || n > max)
        return sm_error_set(&call->err, "--%s needs a whole number from 1 to "
                                        "%ld, not '%s'", name, max, v);
    *out = n;
    return 0;
}
