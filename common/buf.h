/* buf: a growable byte buffer that always holds a NUL-terminated string. */
#ifndef SM_BUF_H
#define SM_BUF_H

#include <stddef.h>

typedef struct sm_buf {
    char *data; /* owned; NULL until the first append */
    size_t len, cap;
} sm_buf;

/* Append; each returns 0, or -1 when out of memory (the buffer unchanged). */
int sm_buf_append(sm_buf *b, const void *data, size_t len);
int sm_buf_puts(sm_buf *b, const char *s);
int sm_buf_putc(sm_buf *b, char c);
int sm_buf_printf(sm_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The string so far; "" for an empty buffer. Borrowed. */
const char *sm_buf_str(const sm_buf *b);

/* Hand the string to the caller (new; "" when empty) and empty the buffer. */
char *sm_buf_take(sm_buf *b);

void sm_buf_free(sm_buf *b);

#endif
