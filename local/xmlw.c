/* xmlw: a document is a flat sequence of appends to one buffer. */
#include "xmlw.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sm_xmlw_escape(sm_buf *out, const char *s, size_t len)
{
    int rc = 0;
    size_t run = 0; /* bytes copied as they are, written in one append */
    for (size_t i = 0; i < len && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *entity = NULL;
        char ref[16];
        switch (c) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&apos;";
            break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
                snprintf(ref, sizeof ref, "&#x%X;", c);
                entity = ref;
            }
        }
        if (!entity) {
            run++;
            continue;
        }
        if (run)
            rc = sm_buf_append(out, s + i - run, run);
        run = 0;
        if (!rc)
            rc = sm_buf_puts(out, entity);
    }
    if (!rc && run)
        rc = sm_buf_append(out, s + len - run, run);
    return rc;
}

static void put(sm_xmlw *self, const char *s)
{
    if (!self->failed && sm_buf_puts(self->out, s))
        self->failed = 1;
}

void sm_xmlw_begin(sm_xmlw *self, sm_buf *out, const char *root,
                   const char *xmlns)
{
    self->out = out;
    self->failed = 0;
    put(self, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
    put(self, root);
    if (xmlns) {
        put(self, " xmlns=\"");
        put(self, xmlns);
        put(self, "\"");
    }
    put(self, ">");
}

void sm_xmlw_open(sm_xmlw *self, const char *name)
{
    put(self, "<");
    put(self, name);
    put(self, ">");
}

void sm_xmlw_close(sm_xmlw *self, const char *name)
{
    put(self, "</");
    put(self, name);
    put(self, ">");
}

void sm_xmlw_text_n(sm_xmlw *self, const char *name, const char *text,
                    size_t len)
{
    if (!text)
        return;
    sm_xmlw_open(self, name);
    if (!self->failed && sm_xmlw_escape(self->out, text, len))
        self->failed = 1;
    sm_xmlw_close(self, name);
}

void sm_xmlw_text(sm_xmlw *self, const char *name, const char *text)
{
    if (text)
        sm_xmlw_text_n(self, name, text, strlen(text));
}

void sm_xmlw_textf(sm_xmlw *self, const char *name, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof text) {
        self->failed = 1;
        return;
    }
    sm_xmlw_text_n(self, name, text, (size_t)n);
}

int sm_xmlw_finish(sm_xmlw *self, const char *root)
{
    sm_xmlw_close(self, root);
    return self->failed ? -1 : 0;
}
