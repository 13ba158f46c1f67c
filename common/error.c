/* error: the first-error-wins message buffer. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int sm_error_set(sm_error *self, const char *fmt, ...)
{
    if (!self || self->message[0])
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->message, sizeof self->message, fmt, ap);
    va_end(ap);
    return -1;
}

void sm_error_clear(sm_error *self)
{
    if (self)
        self->message[0] = '\0';
}
