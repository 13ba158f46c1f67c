/* fake_caller: scripted responses for the awsJson seam, and a fake clock. */
#include "fake_caller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *fake_call(void *ctx, sm_aws_service service,
                         const char *operation, const json_t *request,
                         sm_aws_error *err)
{
    fake_caller *self = ctx;
    (void)service;
    /* A copy: callers may change and resend the same request object. */
    json_array_append_new(self->requests,
                          json_pack("{s:s, s:o}", "operation", operation,
                                    "body", json_deep_copy(request)));
    if (self->next == self->count) {
        self->surprises++;
        snprintf(err->message, sizeof err->message, "fake: no step left");
        return NULL;
    }
    const fake_step *step = &self->steps[self->next++];
    if (step->operation && strcmp(step->operation, operation) != 0)
        self->surprises++;
    if (!step->response) {
        err->http_status = 400;
        snprintf(err->code, sizeof err->code, "%s", step->code);
        snprintf(err->message, sizeof err->message, "%s",
                 step->message ? step->message : "");
        return NULL;
    }
    json_error_t jerr;
    json_t *response = json_loads(step->response, 0, &jerr);
    if (!response) {
        self->surprises++;
        snprintf(err->message, sizeof err->message, "fake: bad JSON: %s",
                 jerr.text);
    }
    return response;
}

sm_awsjson_caller fake_caller_start(fake_caller *self, const fake_step *steps,
                                    size_t count)
{
    memset(self, 0, sizeof *self);
    self->steps = steps;
    self->count = count;
    self->requests = json_array();
    return (sm_awsjson_caller){fake_call, self};
}

void fake_caller_finish(fake_caller *self)
{
    json_decref(self->requests);
    self->requests = NULL;
}

json_t *fake_caller_request(const fake_caller *self, size_t i)
{
    return json_object_get(json_array_get(self->requests, i), "body");
}

const char *fake_caller_member(const fake_caller *self, size_t i,
                               const char *member)
{
    static char text[512];
    json_t *v = json_object_get(fake_caller_request(self, i), member);
    if (!v)
        return "";
    if (json_is_string(v))
        return json_string_value(v);
    char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(text, sizeof text, "%s", dump ? dump : "");
    free(dump);
    return text;
}

double fake_clock_now(void *ctx)
{
    return ((fake_clock *)ctx)->now;
}

void fake_clock_sleep(void *ctx, double seconds)
{
    fake_clock *c = ctx;
    c->now += seconds;
    c->slept += seconds;
    c->sleeps++;
}
