/* aws_common: what the magics that call AWS share: the client for the
 * current settings, and an AWS failure as the cell's one sentence. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

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
    /* a container's message may span lines; the cell shows one sentence */
    size_t n = 0;
    for (const char *p = text; *p; p++)
        if (!isspace((unsigned char)*p))
            text[n++] = *p;
        else if (n && text[n - 1] != ' ')
            text[n++] = ' ';
    text[n] = '\0';
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

int sm_call_count_flag(sm_call *call, const char *name, long fallback, long max,
                       long *out)
{
    const char *v = sm_args_get(&call->args, name);
    *out = fallback;
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < 1 || n > max)
        return sm_error_set(&call->err,
                            "--%s needs a whole number from 1 to "
                            "%ld, not '%s'",
                            name, max, v);
    *out = n;
    return 0;
}

long sm_call_poll_ms(sm_call *call)
{
    sm_config *config = sm_magics_config(call->m);
    const char *poll = sm_config_get(config, "poll");
    if (strcmp(poll, "auto") != 0)
        return (long)(atof(poll) * 1000);
    return strcmp(sm_config_get(config, "backend"), "local") == 0 ? 250 : 5000;
}

int sm_call_waits(sm_call *call)
{
    return !sm_args_get(&call->args, "no-wait") &&
           sm_config_is_true(sm_magics_config(call->m), "wait");
}

void sm_call_default_name(const char *base, char *out, size_t size)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t secs = tv.tv_sec;
    gmtime_r(&secs, &tm);
    char stamp[64];
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02d-%02d-%02d-%02d-%03d",
             (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)(tv.tv_usec / 1000) % 1000);
    size_t room = 63 - strlen(stamp) - 1;
    snprintf(out, size, "%.*s-%s", (int)room, base, stamp);
}

void sm_call_image_base(const char *image, char *out, size_t size)
{
    const char *slash = strrchr(image, '/');
    const char *s = slash ? slash + 1 : image;
    size_t n = strcspn(s, ":@");
    snprintf(out, size, "%.*s", (int)n, s);
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p))
            *p = '-';
}
