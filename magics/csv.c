/* csv: CSV text to rows of fields, unquoted in place (a field never grows
 * when its quotes go, so the text itself can hold the result). */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **items, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 256;
    while (n < want)
        n *= 2;
    void *p = realloc(*items, n * size);
    if (!p)
        return -1;
    *items = p;
    *cap = n;
    return 0;
}

static int add_field(sm_csv *self, char *field)
{
    if (grow((void **)&self->fields, &self->cap, self->count + 1,
             sizeof *self->fields))
        return -1;
    self->fields[self->count++] = field;
    return 0;
}

/* The position of the reader: `in` reads, `out` writes (out <= in). */
typedef struct cursor {
    char *in, *out;
    size_t line;
} cursor;

/* A quoted field's inside, from after its opening quote to after its
 * closing one. */
static int read_quoted(cursor *c, const char *name, sm_error *err)
{
    size_t opened = c->line;
    for (;;) {
        char ch = *c->in;
        if (!ch)
            return sm_error_set(err,
                                "%s line %zu: a quoted field is never "
                                "closed",
                                name, opened);
        if (ch == '"') {
            c->in++;
            if (*c->in != '"')
                return 0;
        }
        if (ch == '\n' || (ch == '\r' && c->in[1] != '\n'))
            c->line++;
        *c->out++ = *c->in++;
    }
}

/* One field; *end is the character that ended it (',', '\n', '\r' or
 * '\0'), which the cursor has passed. */
static int read_field(cursor *c, const char *name, char **field, char *end,
                      int *quoted, sm_error *err)
{
    *field = c->out;
    *quoted = *c->in == '"';
    if (*quoted) {
        c->in++;
        if (read_quoted(c, name, err))
            return -1;
    }
    /* text after a closing quote is kept, as Python's csv keeps it */
    while (*c->in && *c->in != ',' && *c->in != '\n' && *c->in != '\r')
        *c->out++ = *c->in++;
    *end = *c->in;
    *c->out++ = '\0'; /* may overwrite *in, read above */
    if (*end)
        c->in++;
    if (*end == '\r' && *c->in == '\n')
        c->in++;
    if (*end == '\n' || *end == '\r')
        c->line++;
    return 0;
}

static int blank(const char *s)
{
    return s[strspn(s, " \t")] == '\0';
}

/* One row; a blank line adds nothing. */
static int read_row(sm_csv *self, cursor *c, const char *name, sm_error *err)
{
    size_t first = self->count, line = c->line;
    char end = ',';
    int any_quoted = 0;
    while (end == ',') {
        char *field;
        int quoted;
        if (read_field(c, name, &field, &end, &quoted, err))
            return -1;
        any_quoted |= quoted;
        if (add_field(self, field))
            return sm_error_set(err, "out of memory reading %s", name);
    }
    size_t n = self->count - first;
    if (n == 1 && !any_quoted && blank(self->fields[first])) {
        self->count = first;
        return 0;
    }
    if (self->rows == 0)
        self->columns = n;
    else if (n != self->columns)
        return sm_error_set(err,
                            "%s line %zu has %zu field%s, but the header "
                            "has %zu",
                            name, line, n, n == 1 ? "" : "s", self->columns);
    if (grow((void **)&self->lines, &self->row_cap, self->rows + 1,
             sizeof *self->lines))
        return sm_error_set(err, "out of memory reading %s", name);
    self->lines[self->rows++] = line;
    return 0;
}

int sm_csv_parse(char *text, const char *name, sm_csv *out, sm_error *err)
{
    memset(out, 0, sizeof *out);
    out->text = text;
    cursor c = {text, text, 1};
    if (strncmp(c.in, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte order mark */
        c.in += 3;
    while (*c.in)
        if (read_row(out, &c, name, err)) {
            sm_csv_clear(out);
            return -1;
        }
    return 0;
}

const char *sm_csv_field(const sm_csv *self, size_t row, size_t column)
{
    return self->fields[row * self->columns + column];
}

void sm_csv_clear(sm_csv *self)
{
    free(self->text);
    free(self->fields);
    free(self->lines);
    memset(self, 0, sizeof *self);
}
