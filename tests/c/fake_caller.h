/* fake_caller: a scripted stand-in for the AWS client in unit tests: each
 * call takes the next step (a JSON response or an error) and records the
 * request; and a fake clock whose sleeps move its own time. */
#ifndef SM_FAKE_CALLER_H
#define SM_FAKE_CALLER_H

#include <jansson.h>
#include <stddef.h>

#include "awsjson.h"

/* One scripted answer: `response` (JSON text) or, when it is NULL, an
 * error with `code` and `message`. `operation` is what the call must be
 * (NULL: any). Every string borrowed. */
typedef struct fake_step {
    const char *operation;
    const char *response;
    const char *code;
    const char *message;
} fake_step;

typedef struct fake_caller {
    const fake_step *steps;
    size_t count, next;
    json_t *requests; /* [{"operation": .., "body": ..}] in call order */
    int surprises;    /* calls past the script or of the wrong operation */
} fake_caller;

/* Start `self` on `steps` (borrowed) and return a caller that uses it. */
sm_awsjson_caller fake_caller_start(fake_caller *self, const fake_step *steps,
                                    size_t count);
void fake_caller_finish(fake_caller *self);

/* The body of the i-th request (borrowed), or NULL. */
json_t *fake_caller_request(const fake_caller *self, size_t i);

/* A member of the i-th request's body as text ("" when absent; numbers
 * and booleans rendered as JSON). Valid until the next call. */
const char *fake_caller_member(const fake_caller *self, size_t i,
                               const char *member);

typedef struct fake_clock {
    double now;
    double slept;
    int sleeps;
} fake_clock;

double fake_clock_now(void *ctx);
void fake_clock_sleep(void *ctx, double seconds);

#endif
