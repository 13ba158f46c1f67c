/* dataproc: DataProcessing filters and joins over CSV records. Fields are
 * split at commas; a record's fields are views into the caller's text. */
#include "dataproc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ------------------------------------------------------------ */

static int bad(char *why, size_t size, const char *filter)
{
    snprintf(why, size,
             "'%.100s' is not a filter sagemagic-local applies to CSV: use "
             "$ or $[...] with indices and slices such as $[1:] or $[0,-1]",
             filter);
    return -1;
}

/* A signed integer at *p (spaces around it allowed); 1 when one was read. */
static int read_long(const char **p, long *out)
{
    while (**p == ' ')
        (*p)++;
    if (!isdigit((unsigned char)**p) &&
        !(**p == '-' && isdigit((unsigned char)(*p)[1])))
        return 0;
    errno = 0;
    char *end;
    *out = strtol(*p, &end, 10);
    if (errno)
        return 0;
    *p = end;
    while (**p == ' ')
        (*p)++;
    return 1;
}

int sm_dataproc_parse(const char *filter, sm_dataproc_pick *out, char *why,
                      size_t size)
{
    *out = (sm_dataproc_pick){0};
    if (!filter || !*filter || strcmp(filter, "$") == 0) {
        out->all = true;
        return 0;
    }
    if (strncmp(filter, "$[", 2) != 0)
        return bad(why, size, filter);
    const char *p = filter + 2;
    for (;;) {
        if (out->count == SM_DATAPROC_PICKS)
            return bad(why, size, filter);
        sm_dataproc_item *it = &out->items[out->count++];
        it->has_from = read_long(&p, &it->from);
        if (*p == ':') {
            p++;
            it->slice = true;
            it->has_to = read_long(&p, &it->to);
        } else if (!it->has_from) {
            return bad(why, size, filter);
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ']' && p[1] == '\0')
            return 0;
        return bad(why, size, filter);
    }
}

/* ---- fields ------------------------------------------------------------- */

typedef struct field {
    const char *text;
    size_t len;
} field;

typedef struct fields {
    field *items;
    size_t count, cap;
} fields;

static int fields_add(fields *f, const char *text, size_t len)
{
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        field *grown = realloc(f->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        f->items = grown;
        f->cap = cap;
    }
    f->items[f->count++] = (field){text, len};
    return 0;
}

/* Append the comma-separated fields of line[len] (a trailing '\r' off). */
static int fields_split(fields *f, const char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        len--;
    for (size_t start = 0, i = 0;; i++) {
        if (i == len || line[i] == ',') {
            if (fields_add(f, line + start, i - start))
                return -1;
            start = i + 1;
        }
        if (i == len)
            return 0;
    }
}

/* Python's slice bound: negatives from the end, clamped to [0, n]. */
static size_t bound(long v, size_t n)
{
    if (v < 0)
        v += (long)n;
    if (v < 0)
        return 0;
    return (size_t)v > n ? n : (size_t)v;
}

/* The fields `pick` selects from `f`, joined by commas, onto `out`. */
static int pick_write(const sm_dataproc_pick *pick, const fields *f,
                      sm_buf *out, const char *which, char *why, size_t size)
{
    size_t n = f->count, written = 0;
    int rc = 0;
    for (size_t k = 0; k < (pick->all ? 1 : pick->count) && !rc; k++) {
        size_t from = 0, to = n;
        if (!pick->all) {
            const sm_dataproc_item *it = &pick->items[k];
            if (it->slice) {
                from = it->has_from ? bound(it->from, n) : 0;
                to = it->has_to ? bound(it->to, n) : n;
            } else {
                long i = it->from < 0 ? it->from + (long)n : it->from;
                if (i < 0 || (size_t)i >= n) {
                    snprintf(why, size,
                             "the %s picks field %ld of a record with %zu "
                             "fields",
                             which, it->from, n);
                    return -1;
                }
                from = (size_t)i;
                to = from + 1;
            }
        }
        for (size_t i = from; i < to && !rc; i++) {
            if (written++)
                rc = sm_buf_putc(out, ',');
            if (!rc)
                rc = sm_buf_append(out, f->items[i].text, f->items[i].len);
        }
    }
    if (!rc)
        rc = sm_buf_putc(out, '\n');
    if (rc)
        snprintf(why, size, "out of memory");
    return rc;
}

/* The next line of text[len] from *at: its start and length; 0 at the end. */
static int next_line(const char *text, size_t len, size_t *at,
                     const char **line, size_t *line_len)
{
    while (*at < len && (text[*at] == '\n' || text[*at] == '\r'))
        (*at)++;
    if (*at >= len)
        return 0;
    const char *nl = memchr(text + *at, '\n', len - *at);
    size_t end = nl ? (size_t)(nl - text) : len;
    *line = text + *at;
    *line_len = end - *at;
    *at = end;
    return 1;
}

/* ---- the steps ---------------------------------------------------------- */

bool sm_dataproc_active(const sm_dataproc *dp)
{
    return dp->join || !dp->input.all || !dp->output.all;
}

int sm_dataproc_input(const sm_dataproc *dp, const char *records, size_t len,
                      sm_buf *out, char *why, size_t size)
{
    fields f = {0};
    const char *line;
    size_t line_len, at = 0;
    int rc = 0;
    while (!rc && next_line(records, len, &at, &line, &line_len)) {
        f.count = 0;
        rc = fields_split(&f, line, line_len);
        if (rc)
            snprintf(why, size, "out of memory");
        else
            rc = pick_write(&dp->input, &f, out, "InputFilter", why, size);
    }
    free(f.items);
    /* the model's payload has no newline after its last record */
    if (!rc && out->len && out->data[out->len - 1] == '\n')
        out->data[--out->len] = '\0';
    return rc;
}

int sm_dataproc_output(const sm_dataproc *dp, const char *records,
                       size_t records_len, const char *predictions,
                       size_t predictions_len, sm_buf *out, char *why,
                       size_t size)
{
    fields f = {0};
    const char *rec, *pred;
    size_t rec_len, pred_len, rec_at = 0, pred_at = 0, n = 0;
    int rc = 0;
    for (;;) {
        int more_rec = next_line(records, records_len, &rec_at, &rec, &rec_len);
        int more_pred =
            next_line(predictions, predictions_len, &pred_at, &pred, &pred_len);
        if (!more_rec && !more_pred)
            break;
        if (more_rec != more_pred) {
            size_t sent = n + (size_t)more_rec, got = n + (size_t)more_pred;
            while (more_rec &&
                   next_line(records, records_len, &rec_at, &rec, &rec_len))
                sent++;
            while (more_pred && next_line(predictions, predictions_len,
                                          &pred_at, &pred, &pred_len))
                got++;
            snprintf(why, size,
                     "the model answered %zu line%s for the %zu record%s it "
                     "was sent, so they cannot be joined",
                     got, got == 1 ? "" : "s", sent, sent == 1 ? "" : "s");
            rc = -1;
            break;
        }
        n++;
        f.count = 0;
        rc = dp->join ? fields_split(&f, rec, rec_len) : 0;
        if (!rc)
            rc = fields_split(&f, pred, pred_len);
        if (rc) {
            snprintf(why, size, "out of memory");
            break;
        }
        rc = pick_write(&dp->output, &f, out, "OutputFilter", why, size);
        if (rc)
            break;
    }
    free(f.items);
    return rc;
}
