/* request_text: parse an HTTP/1.1 request written out as text. */
#include "request_text.h"

#include <stdlib.h>
#include <string.h>

static char *dup_n(const char *s, size_t n)
{
    char *copy = malloc(n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

/* A line of the text: its bytes without the "\n" or "\r\n" ending. */
typedef struct line {
    const char *p;
    size_t n;
} line;

/* The line at text[*pos..len), moving *pos past it; 0 at the end. */
static int next_line(const char *text, size_t len, size_t *pos, line *out)
{
    if (*pos >= len)
        return 0;
    const char *start = text + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n && start[n - 1] == '\r')
        n--;
    *out = (line){start, n};
    return 1;
}

/* "METHOD TARGET VERSION": the target may hold spaces, so the method ends
 * at the first space and the version starts after the last. */
static int parse_request_line(sm_request_text *self, line l, sm_error *err)
{
    const char *first = memchr(l.p, ' ', l.n), *last = NULL;
    for (size_t i = l.n; i-- > 0 && !last;)
        last = l.p[i] == ' ' ? l.p + i : NULL;
    if (!first || last == first || (size_t)(l.p + l.n - last) < 6 ||
        strncmp(last + 1, "HTTP/", 5) != 0 || first == l.p)
        return sm_error_set(err, "the first line is not a request line "
                                 "like \"GET /path HTTP/1.1\"");
    const char *target = first + 1;
    size_t target_n = (size_t)(last - target);
    const char *q = memchr(target, '?', target_n);
    size_t path_n = q ? (size_t)(q - target) : target_n;
    self->method = dup_n(l.p, (size_t)(first - l.p));
    self->path = dup_n(target, path_n);
    self->query = q ? dup_n(q + 1, target_n - path_n - 1) : dup_n("", 0);
    self->version = dup_n(last + 1, (size_t)(l.p + l.n - last - 1));
    if (!self->method || !self->path || !self->query || !self->version)
        return sm_error_set(err, "out of memory reading a request");
    return 0;
}

static int add_header(sm_request_text *self, line l, sm_error *err)
{
    const char *colon = memchr(l.p, ':', l.n);
    if (!colon || colon == l.p || memchr(l.p, ' ', (size_t)(colon - l.p)))
        return sm_error_set(err,
                            "the header line \"%.*s\" has no "
                            "\"Name:\" at its start",
                            (int)l.n, l.p);
    sm_sigv4_header *headers =
        realloc(self->headers, (self->header_count + 1) * sizeof *headers);
    if (!headers)
        return sm_error_set(err, "out of memory reading a request");
    self->headers = headers;
    sm_sigv4_header *h = &headers[self->header_count++];
    h->name = dup_n(l.p, (size_t)(colon - l.p));
    h->value = dup_n(colon + 1, (size_t)(l.p + l.n - colon - 1));
    if (!h->name || !h->value)
        return sm_error_set(err, "out of memory reading a request");
    return 0;
}

/* A line starting with a space or tab continues the header before it. */
static int continue_header(sm_request_text *self, line l, sm_error *err)
{
    if (!self->header_count)
        return sm_error_set(err, "a continuation line comes before any "
                                 "header");
    sm_sigv4_header *h = &self->headers[self->header_count - 1];
    size_t old = strlen(h->value);
    char *value = malloc(old + 1 + l.n + 1);
    if (!value)
        return sm_error_set(err, "out of memory reading a request");
    memcpy(value, h->value, old);
    value[old] = '\n';
    memcpy(value + old + 1, l.p, l.n);
    value[old + 1 + l.n] = '\0';
    free((char *)h->value);
    h->value = value;
    return 0;
}

/* Append the line and "\n" to self->head. */
static int head_append(sm_request_text *self, line l)
{
    size_t old = self->head ? strlen(self->head) : 0;
    char *head = realloc(self->head, old + l.n + 2);
    if (!head)
        return -1;
    memcpy(head + old, l.p, l.n);
    head[old + l.n] = '\n';
    head[old + l.n + 1] = '\0';
    self->head = head;
    return 0;
}

/* Header lines up to the blank line (or the end); *pos ends at the body. */
static int parse_headers(sm_request_text *self, const char *text, size_t len,
                         size_t *pos, sm_error *err)
{
    line l;
    while (next_line(text, len, pos, &l) && l.n > 0) {
        int folded = l.p[0] == ' ' || l.p[0] == '\t';
        int rc =
            folded ? continue_header(self, l, err) : add_header(self, l, err);
        if (!rc && head_append(self, l))
            rc = sm_error_set(err, "out of memory reading a request");
        if (rc)
            return rc;
    }
    if (!self->head && !(self->head = dup_n("", 0)))
        return sm_error_set(err, "out of memory reading a request");
    return 0;
}

sm_request_text *sm_request_text_parse(const char *text, size_t len,
                                       sm_error *err)
{
    sm_request_text *self = calloc(1, sizeof *self);
    size_t pos = 0;
    line first;
    int rc = self ? 0 : sm_error_set(err, "out of memory reading a request");
    if (!rc && !next_line(text, len, &pos, &first))
        rc = sm_error_set(err, "the request is empty");
    if (!rc)
        rc = parse_request_line(self, first, err);
    if (!rc)
        rc = parse_headers(self, text, len, &pos, err);
    if (!rc) {
        self->body_len = len - pos;
        self->body = dup_n(text + pos, self->body_len);
        if (!self->body)
            rc = sm_error_set(err, "out of memory reading a request");
    }
    if (rc)
        sm_request_text_destroy(&self);
    return self;
}

void sm_request_text_destroy(sm_request_text **self_p)
{
    sm_request_text *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->header_count; i++) {
        free((char *)self->headers[i].name);
        free((char *)self->headers[i].value);
    }
    free(self->headers);
    free(self->method);
    free(self->path);
    free(self->query);
    free(self->version);
    free(self->head);
    free(self->body);
    free(self);
    *self_p = NULL;
}
