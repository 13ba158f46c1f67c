/* history: an in-memory list of cells, queried as IPython's history is. */
#include "history.h"

#include "buf.h"

#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* All text lives in one buffer (inputs and outputs, NUL-terminated), and
 * entries hold offsets into it: two allocations however long the session. */
#define NO_TEXT SIZE_MAX

struct entry {
    int line;
    size_t input, output;
};

struct sm_history {
    struct entry *entries;
    size_t count, capacity;
    sm_buf text;
};

sm_history *sm_history_new(void)
{
    return calloc(1, sizeof(sm_history));
}

void sm_history_destroy(sm_history **pself)
{
    sm_history *self = *pself;
    if (!self)
        return;
    free(self->entries);
    sm_buf_free(&self->text);
    free(self);
    *pself = NULL;
}

/* Append `s` with its NUL; its offset, or NO_TEXT when out of memory. */
static size_t store_text(sm_history *self, const char *s)
{
    size_t at = self->text.len;
    return sm_buf_append(&self->text, s, strlen(s) + 1) ? NO_TEXT : at;
}

int sm_history_add(sm_history *self, int line, const char *input)
{
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 64;
        struct entry *grown = realloc(self->entries, capacity * sizeof *grown);
        if (!grown)
            return -1;
        self->entries = grown;
        self->capacity = capacity;
    }
    size_t at = store_text(self, input);
    if (at == NO_TEXT)
        return -1;
    self->entries[self->count++] = (struct entry){line, at, NO_TEXT};
    return 0;
}

void sm_history_set_output(sm_history *self, int line, const char *output)
{
    for (size_t i = self->count; i-- > 0;) {
        if (self->entries[i].line == line) {
            self->entries[i].output = store_text(self, output);
            return;
        }
    }
}

static const char *text_at(const sm_history *self, size_t at)
{
    return at == NO_TEXT ? NULL : self->text.data + at;
}

static json_t *row(const sm_history *self, const struct entry *e,
                   bool with_output)
{
    const char *input = text_at(self, e->input);
    if (with_output)
        return json_pack("[i, i, [s, s?]]", SM_HISTORY_SESSION, e->line, input,
                         text_at(self, e->output));
    return json_pack("[i, i, s]", SM_HISTORY_SESSION, e->line, input);
}

static int int_field(const json_t *request, const char *name, int fallback)
{
    json_t *v = json_object_get(request, name);
    return json_is_integer(v) ? (int)json_integer_value(v) : fallback;
}

/* Rows matching `pattern`; with `unique` only the newest of equal inputs. */
static json_t *search(const sm_history *self, const char *pattern, bool unique,
                      int n, bool with_output)
{
    json_t *rows = json_array();
    for (size_t i = self->count; i-- > 0;) {
        const struct entry *e = &self->entries[i];
        if (n > 0 && (int)json_array_size(rows) >= n)
            break;
        const char *input = text_at(self, e->input);
        if (fnmatch(pattern, input, 0) != 0)
            continue;
        bool seen = false;
        for (size_t j = i + 1; unique && !seen && j < self->count; j++)
            seen = strcmp(text_at(self, self->entries[j].input), input) == 0;
        if (!seen)
            json_array_insert_new(rows, 0, row(self, e, with_output));
    }
    return rows;
}

json_t *sm_history_query(const sm_history *self, const json_t *request)
{
    const char *type =
        json_string_value(json_object_get(request, "hist_access_type"));
    bool with_output = json_is_true(json_object_get(request, "output"));
    if (type && strcmp(type, "search") == 0) {
        const char *pattern =
            json_string_value(json_object_get(request, "pattern"));
        return search(self, pattern ? pattern : "*",
                      json_is_true(json_object_get(request, "unique")),
                      int_field(request, "n", 0), with_output);
    }
    json_t *rows = json_array();
    if (type && strcmp(type, "tail") == 0) {
        int n = int_field(request, "n", 10);
        size_t first = n >= 0 && (size_t)n < self->count ? self->count - (size_t)n : 0;
        for (size_t i = first; i < self->count; i++)
            json_array_append_new(rows, row(self, &self->entries[i], with_output));
    } else if (type && strcmp(type, "range") == 0) {
        /* Session 0 means this one, as in IPython; others are not kept. */
        int session = int_field(request, "session", 0);
        int start = int_field(request, "start", 1);
        int stop = int_field(request, "stop", 0);
        for (size_t i = 0; i < self->count; i++) {
            const struct entry *e = &self->entries[i];
            if ((session == 0 || session == SM_HISTORY_SESSION) &&
                e->line >= start && (stop <= 0 || e->line < stop))
                json_array_append_new(rows, row(self, e, with_output));
        }
    }
    return rows;
}
