/* error: the one error value fallible functions fill in; the first error wins. */
#ifndef SM_ERROR_H
#define SM_ERROR_H

#include <stddef.h>

typedef struct sm_error {
    char message[1024]; /* one sentence meant for the user; "" when none */
} sm_error;

/* Set the message unless one is already set (the first error wins).
 * `self` may be NULL, then nothing happens. Always returns -1, so a caller
 * can write `return sm_error_set(err, "...")`. */
int sm_error_set(sm_error *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget the message. */
void sm_error_clear(sm_error *self);

#endif
