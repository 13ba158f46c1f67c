/* buf: growth by doubling, like curl's dynbuf. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(sm_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data)
        return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

int sm_buf_append(sm_buf *b, const void *data, size_t len)
{
    if (reserve(b, len))
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int sm_buf_puts(sm_buf *b, const char *s)
{
    return sm_buf_append(b, s, strlen(s));
}

int sm_buf_putc(sm_buf *b, char c)
{
    return sm_buf_append(b, &c, 1);
}

int sm_buf_printf(sm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n))
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

const char *sm_buf_str(const sm_buf *b)
{
    return b->data ? b->data : "";
}

char *sm_buf_take(sm_buf *b)
{
    char *s = b->data ? b->data : strdup("");
    *b = (sm_buf){0};
    return s;
}

void sm_buf_free(sm_buf *b)
{
    free(b->data);
    *b = (sm_buf){0};
}
