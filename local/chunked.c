/* chunked: a four-state machine fed arbitrary slices of the body; lines
 * are gathered in a bounded buffer, data passes through without a copy. */
#include "chunked.h"

#include <stdlib.h>
#include <string.h>

typedef enum state {
    STATE_SIZE_LINE,
    STATE_DATA,
    STATE_DATA_END, /* the CRLF after a chunk's data */
    STATE_TRAILER,
    STATE_DONE,
    STATE_FAILED,
} state;

struct sm_chunked {
    sm_chunked_sink sink;
    state st;
    char line[SM_CHUNKED_MAX_LINE + 1];
    size_t line_len;
    uint64_t chunk_size, remaining, decoded;
    size_t crlf_seen;
};

sm_chunked *sm_chunked_new(const sm_chunked_sink *sink)
{
    sm_chunked *self = calloc(1, sizeof *self);
    if (self)
        self->sink = *sink;
    return self;
}

void sm_chunked_destroy(sm_chunked **self)
{
    free(*self);
    *self = NULL;
}

uint64_t sm_chunked_decoded(const sm_chunked *self)
{
    return self->decoded;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "<hex>[;name=value]*": the size, and the chunk-signature if any (a
 * pointer into the line, NUL-terminated in place). */
static int size_line_parse(sm_chunked *self, const char **signature,
                           sm_error *err)
{
    char *p = self->line;
    uint64_t size = 0;
    int digits = 0;
    for (int v; (v = hex_value(*p)) >= 0; p++) {
        if (++digits > 15)
            return sm_error_set(err, "aws-chunked: a chunk size is too large");
        size = size * 16 + (uint64_t)v;
    }
    if (!digits)
        return sm_error_set(err, "aws-chunked: a chunk does not start with "
                                 "its size in hex");
    *signature = NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0' && *p != ';')
        return sm_error_set(err, "aws-chunked: a chunk size line has "
                                 "something after the size");
    /* Extensions: ";name=value" each, split in place. */
    for (char *ext = *p ? p + 1 : NULL; ext;) {
        char *end = strchr(ext, ';');
        if (end)
            *end = '\0';
        if (strncmp(ext, "chunk-signature=", 16) == 0)
            *signature = ext + 16;
        ext = end ? end + 1 : NULL;
    }
    self->chunk_size = self->remaining = size;
    return 0;
}

static void trim(char **s)
{
    while (**s == ' ' || **s == '\t')
        (*s)++;
    size_t n = strlen(*s);
    while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t'))
        (*s)[--n] = '\0';
}

static int trailer_line(sm_chunked *self, sm_error *err)
{
    if (self->line_len == 0) {
        self->st = STATE_DONE;
        return 0;
    }
    char copy[SM_CHUNKED_MAX_LINE + 1];
    memcpy(copy, self->line, self->line_len + 1);
    char *colon = strchr(self->line, ':');
    if (!colon)
        return sm_error_set(err, "aws-chunked: a trailer line has no ':'");
    *colon = '\0';
    char *name = self->line, *value = colon + 1;
    trim(&name);
    trim(&value);
    if (!*name)
        return sm_error_set(err, "aws-chunked: a trailer has no name");
    return self->sink.trailer
               ? self->sink.trailer(self->sink.ctx, name, value, copy, err)
               : 0;
}

/* A whole line has been gathered (CRLF removed). */
static int line_done(sm_chunked *self, sm_error *err)
{
    self->line[self->line_len] = '\0';
    if (memchr(self->line, '\0', self->line_len))
        return sm_error_set(err, "aws-chunked: a line holds a NUL byte");
    int rc;
    if (self->st == STATE_TRAILER) {
        rc = trailer_line(self, err);
    } else {
        const char *signature = NULL;
        rc = size_line_parse(self, &signature, err);
        if (!rc && self->chunk_size == 0) {
            self->st = STATE_TRAILER;
            if (self->sink.chunk_end)
                rc = self->sink.chunk_end(self->sink.ctx, 0, signature, err);
        } else if (!rc) {
            self->st = STATE_DATA;
            /* keep the signature until the chunk ends */
            memmove(self->line, signature ? signature : "",
                    signature ? strlen(signature) + 1 : 1);
        }
    }
    self->line_len = 0;
    return rc;
}

/* Gather line bytes from data; returns bytes used, or -1 on error. */
static long line_feed(sm_chunked *self, const char *data, size_t len,
                      sm_error *err)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n') {
            if (self->line_len && self->line[self->line_len - 1] == '\r')
                self->line_len--;
            else
                return sm_error_set(err, "aws-chunked: a line ends in LF "
                                         "without CR");
            return line_done(self, err) ? -1 : (long)(i + 1);
        }
        if (self->line_len == SM_CHUNKED_MAX_LINE)
            return sm_error_set(err, "aws-chunked: a line is longer than "
                                     "4096 bytes");
        self->line[self->line_len++] = c;
    }
    return (long)len;
}

static long data_feed(sm_chunked *self, const char *data, size_t len,
                      sm_error *err)
{
    size_t n = len < self->remaining ? len : (size_t)self->remaining;
    if (n && self->sink.data && self->sink.data(self->sink.ctx, data, n, err))
        return -1;
    self->remaining -= n;
    self->decoded += n;
    if (self->remaining == 0) {
        self->st = STATE_DATA_END;
        self->crlf_seen = 0;
    }
    return (long)n;
}

static long data_end_feed(sm_chunked *self, const char *data, size_t len,
                          sm_error *err)
{
    size_t i = 0;
    for (; i < len && self->crlf_seen < 2; i++, self->crlf_seen++) {
        if (data[i] != "\r\n"[self->crlf_seen])
            return sm_error_set(err, "aws-chunked: a chunk's data is not "
                                     "followed by CRLF (wrong size?)");
    }
    if (self->crlf_seen == 2) {
        self->st = STATE_SIZE_LINE;
        const char *sig = self->line[0] ? self->line : NULL;
        if (self->sink.chunk_end &&
            self->sink.chunk_end(self->sink.ctx, self->chunk_size, sig, err))
            return -1;
        self->line[0] = '\0';
    }
    return (long)i;
}

int sm_chunked_feed(sm_chunked *self, const char *data, size_t len,
                    sm_error *err)
{
    while (len > 0) {
        long used;
        switch (self->st) {
        case STATE_SIZE_LINE:
        case STATE_TRAILER:
            used = line_feed(self, data, len, err);
            break;
        case STATE_DATA:
            used = data_feed(self, data, len, err);
            break;
        case STATE_DATA_END:
            used = data_end_feed(self, data, len, err);
            break;
        case STATE_DONE:
            used = sm_error_set(err, "aws-chunked: bytes after the end of "
                                     "the encoded body");
            break;
        default:
            used = sm_error_set(err, "aws-chunked: the body was already "
                                     "refused");
        }
        if (used < 0) {
            self->st = STATE_FAILED;
            return -1;
        }
        data += used;
        len -= (size_t)used;
    }
    return 0;
}

int sm_chunked_finish(sm_chunked *self, sm_error *err)
{
    if (self->st == STATE_DONE ||
        (self->st == STATE_TRAILER && self->line_len == 0))
        return 0;
    if (self->st == STATE_FAILED)
        return sm_error_set(err, "aws-chunked: the body was refused");
    return sm_error_set(err, "aws-chunked: the body ended inside a chunk");
}
