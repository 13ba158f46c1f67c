/* history: an in-memory list of cells, queried as IPython's history is. */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "files.h"

/* The history lives in an unlinked temporary file, as IPython keeps its
 * history in SQLite: the kernel's memory does not grow with the number of
 * cells. The file is a log of records (a header, the text, a NUL); an
 * output record belongs to the newest input of its line before it. A query
 * reads the log back into a snapshot and frees it when answered. */
#define NO_TEXT SIZE_MAX

enum { REC_INPUT = 1, REC_OUTPUT = 2 };

struct record {
    uint32_t kind;
    int32_t line;
    uint32_t len; /* bytes of text, without the NUL that follows it */
};

struct entry {
    int line;
    size_t input, output; /* offsets into the snapshot's text */
};

struct sm_history {
    int fd;
    size_t count; /* inputs recorded */
    off_t end;
};

/* What a query reads: every entry, with text offsets into `text`. */
typedef struct snapshot {
    struct entry *entries;
    size_t count;
    char *text;
} snapshot;

/* An unlinked file in $TMPDIR (or /tmp); else an anonymous memory file. */
static int open_log(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        fd = memfd_create("sagemagic-history", MFD_CLOEXEC);
    return fd;
}

sm_history *sm_history_new(void)
{
    sm_history *self = calloc(1, sizeof(sm_history));
    if (self && (self->fd = open_log()) < 0) {
        free(self);
        return NULL;
    }
    return self;
}

void sm_history_destroy(sm_history **pself)
{
    sm_history *self = *pself;
    if (!self)
        return;
    close(self->fd);
    free(self);
    *pself = NULL;
}

/* Append one record, in one system call when the file takes it whole; a
 * failed write leaves the log as it was. */
static int append(sm_history *self, uint32_t kind, int line, const char *s)
{
    size_t len = strlen(s);
    if (len > UINT32_MAX - 1)
        return -1;
    struct record r = {kind, line, (uint32_t)len};
    struct iovec iov[2] = {{&r, sizeof r}, {(void *)s, len + 1}};
    off_t at = self->end;
    size_t total = sizeof r + len + 1;
    ssize_t n = pwritev(self->fd, iov, 2, at);
    size_t done = n > 0 ? (size_t)n : 0;
    if (done < sizeof r &&
        sm_files_write_all(self->fd, (char *)&r + done, sizeof r - done,
                           at + (off_t)done))
        return -1;
    if (done < total) {
        size_t from = done > sizeof r ? done - sizeof r : 0;
        if (sm_files_write_all(self->fd, s + from, len + 1 - from,
                               at + (off_t)(sizeof r + from)))
            return -1;
    }
    self->end = at + (off_t)total;
    return 0;
}

int sm_history_add(sm_history *self, int line, const char *input)
{
    if (append(self, REC_INPUT, line, input))
        return -1;
    self->count++;
    return 0;
}

void sm_history_set_output(sm_history *self, int line, const char *output)
{
    append(self, REC_OUTPUT, line, output);
}

static void snapshot_free(snapshot *snap)
{
    free(snap->entries);
    free(snap->text);
}

static int read_all(int fd, char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Read the log into `snap`. 0, or -1 (then `snap` is empty). */
static int snapshot_load(const sm_history *self, snapshot *snap)
{
    *snap = (snapshot){0};
    size_t size = (size_t)self->end;
    snap->text = malloc(size ? size : 1);
    snap->entries =
        malloc((self->count ? self->count : 1) * sizeof *snap->entries);
    if (!snap->text || !snap->entries || read_all(self->fd, snap->text, size)) {
        snapshot_free(snap);
        *snap = (snapshot){0};
        return -1;
    }
    for (size_t at = 0; at + sizeof(struct record) <= size;) {
        struct record r;
        memcpy(&r, snap->text + at, sizeof r);
        size_t text = at + sizeof r;
        at = text + r.len + 1;
        if (r.kind == REC_INPUT && snap->count < self->count) {
            snap->entries[snap->count++] =
                (struct entry){r.line, text, NO_TEXT};
            continue;
        }
        for (size_t i = snap->count; r.kind == REC_OUTPUT && i-- > 0;) {
            if (snap->entries[i].line == r.line) {
                snap->entries[i].output = text;
                break;
            }
        }
    }
    return 0;
}

static const char *text_at(const snapshot *self, size_t at)
{
    return at == NO_TEXT ? NULL : self->text + at;
}

static json_t *row(const snapshot *self, const struct entry *e,
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
static json_t *search(const snapshot *self, const char *pattern, bool unique,
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

static json_t *query(const snapshot *self, const json_t *request)
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
        size_t first =
            n >= 0 && (size_t)n < self->count ? self->count - (size_t)n : 0;
        for (size_t i = first; i < self->count; i++)
            json_array_append_new(rows,
                                  row(self, &self->entries[i], with_output));
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

json_t *sm_history_query(const sm_history *self, const json_t *request)
{
    snapshot snap;
    if (snapshot_load(self, &snap))
        return json_array(); /* an unreadable log answers with no rows */
    json_t *rows = query(&snap, request);
    snapshot_free(&snap);
    return rows;
}
