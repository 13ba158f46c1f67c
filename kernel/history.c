/* history: an in-memory list of cells, queried as IPython's history is. */
#include "history.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    int line;
    char *input, *output;
};

struct sm_history {
    struct entry *entries;
    size_t count, capacity;
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
    for (size_t i = 0; i < self->count; i++) {
        free(self->entries[i].input);
        free(self->entries[i].output);
    }
    free(self->entries);
    free(self);
    *pself = NULL;
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
    char *copy = strdup(input);
    if (!copy)
        return -1;
    self->entries[self->count++] = (struct entry){line, copy, NULL};
    return 0;
}

void sm_history_set_output(sm_history *self, int line, const char *output)
{
    for (size_t i = self->count; i-- > 0;) {
        if (self->entries[i].line == line) {
            free(self->entries[i].output);
            self->entries[i].output = strdup(output);
            return;
        }
    }
}

static json_t *row(const struct entry *e, bool with_output)
{
    if (with_output)
        return json_pack("[i, i, [s, s?]]", SM_HISTORY_SESSION, e->line,
                         e->input, e->output);
    return json_pack("[i, i, s]", SM_HISTORY_SESSION, e->line, e->input);
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
        if (fnmatch(pattern, e->input, 0) != 0)
            continue;
        bool seen = false;
        for (size_t j = i + 1; unique && !seen && j < self->count; j++)
            seen = strcmp(self->entries[j].input, e->input) == 0 &&
                   fnmatch(pattern, self->entries[j].input, 0) == 0;
        if (!seen)
            json_array_insert_new(rows, 0, row(e, with_output));
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
            json_array_append_new(rows, row(&self->entries[i], with_output));
    } else if (type && strcmp(type, "range") == 0) {
        /* Session 0 means this one, as in IPython; others are not kept. */
        int session = int_field(request, "session", 0);
        int start = int_field(request, "start", 1);
        int stop = int_field(request, "stop", 0);
        for (size_t i = 0; i < self->count; i++) {
            const struct entry *e = &self->entries[i];
            if ((session == 0 || session == SM_HISTORY_SESSION) &&
                e->line >= start && (stop <= 0 || e->line < stop))
                json_array_append_new(rows, row(e, with_output));
        }
    }
    return rows;
}
