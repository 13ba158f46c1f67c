/* dataset: line by line, field by field, every failure named by file,
 * line and column. Plain CSV rows take a fast way (no copies, our own
 * number reading) and a large CSV file is read in chunks on several
 * threads; a line the fast way does not take goes the careful way, which
 * also writes the messages. */
#include "dataset.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decimal.h"
#include "recordio.h"

#define FIELD_MAX 128        /* characters of one number */
#define CHUNK_MIN (4u << 20) /* bytes a reading thread is worth */
#define THREADS_MAX 8

void sm_dataset_init(sm_dataset *self, sm_dataset_format format,
                     int csv_weights)
{
    *self = (sm_dataset){0};
    self->format = format;
    self->csv_weights = csv_weights;
}

void sm_dataset_clear(sm_dataset *self)
{
    free(self->labels);
    free(self->weights);
    free(self->values);
    free(self->indptr);
    free(self->indices);
    free(self->data);
    *self = (sm_dataset){0};
}

/* ---- growing ------------------------------------------------------------ */

static int grow(void **array, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    void *p = realloc(*array, n * size);
    if (!p)
        return -1;
    *array = p;
    *cap = n;
    return 0;
}

/* Room for one more row (labels, weights, indptr). */
static int row_room(sm_dataset *self)
{
    size_t cap = self->row_cap, need = self->rows + 2;
    if (need <= cap)
        return 0;
    size_t c1 = cap, c2 = cap, c3 = cap;
    if (grow((void **)&self->labels, &c1, need, sizeof(float)))
        return -1;
    if (self->csv_weights &&
        grow((void **)&self->weights, &c2, need, sizeof(float)))
        return -1;
    if (self->format != SM_DATASET_CSV &&
        grow((void **)&self->indptr, &c3, need, sizeof(size_t)))
        return -1;
    self->row_cap = c1;
    return 0;
}

/* ---- fields ------------------------------------------------------------- */

/* `len` bytes of `s` without surrounding blanks or double quotes, copied
 * into `out` (FIELD_MAX); -1 when too long. */
static int field_copy(const char *s, size_t len, char out[FIELD_MAX])
{
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
        s++, len -= 2;
    if (len >= FIELD_MAX)
        return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

/* A number: the whole field, nothing else. */
static int number(const char *field, float *out)
{
    if (!*field)
        return -1;
    char *end;
    errno = 0;
    float v = strtof(field, &end);
    if (*end || end == field)
        return -1;
    *out = v;
    return 0;
}

/* A field for a message: printable, and cut short. */
static void shown(const char *s, size_t len, char out[48])
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < 40; i++)
        out[n++] = isprint((unsigned char)s[i]) ? s[i] : '?';
    out[n] = '\0';
    if (len > 40)
        snprintf(out + n, 48 - n, "...");
}

/* ---- CSV ---------------------------------------------------------------- */

static char sniff(const char *line, size_t len)
{
    static const char candidates[] = {',', '\t', ';', '|'};
    for (size_t c = 0; c < sizeof candidates; c++)
        if (memchr(line, candidates[c], len))
            return candidates[c];
    return ',';
}

typedef struct line_ref {
    const char *name;
    size_t number; /* 1-based */
    int first;     /* the file's first line */
} line_ref;

static int csv_bad_field(const line_ref *at, size_t column, const char *s,
                         size_t len, sm_error *err)
{
    char what[48];
    shown(s, len, what);
    const char *role = column == 1 ? "the label" : "a feature";
    if (len == 0 && column == 1)
        return sm_error_set(err, "%s line %zu: the label (column 1) is empty",
                            at->name, at->number);
    return sm_error_set(err,
                        "%s line %zu, column %zu: '%s' is not a number (%s)%s",
                        at->name, at->number, column, what, role,
                        at->first ? "; CSV training data has no header row: "
                                    "the label first, then the features"
                                  : "");
}

/* The fields of one line into `row` (label, [weight,] features); how
 * many fields in *count. */
static int csv_fields(sm_dataset *self, const line_ref *at, const char *line,
                      size_t len, float **row, size_t *cap, size_t *count,
                      sm_error *err)
{
    size_t n = 0;
    const char *p = line, *end = line + len;
    for (;;) {
        const char *stop = memchr(p, self->delimiter, (size_t)(end - p));
        const char *field_end = stop ? stop : end;
        char field[FIELD_MAX];
        float v = NAN;
        size_t flen = (size_t)(field_end - p);
        if (field_copy(p, flen, field))
            return csv_bad_field(at, n + 1, p, flen, err);
        int is_label = n == 0, is_weight = self->csv_weights && n == 1;
        if ((*field || is_label || is_weight) && number(field, &v))
            return csv_bad_field(at, n + 1, field, strlen(field), err);
        if (grow((void **)row, cap, n + 1, sizeof(float)))
            return sm_error_set(err, "out of memory reading %s", at->name);
        (*row)[n++] = v;
        if (!stop)
            break;
        p = stop + 1;
    }
    *count = n;
    return 0;
}

static int csv_row(sm_dataset *self, const line_ref *at, const float *fields,
                   size_t count, sm_error *err)
{
    size_t lead = self->csv_weights ? 2 : 1;
    if (count <= lead)
        return sm_error_set(err,
                            "%s line %zu: %zu column%s, but a row needs the "
                            "label%s and at least one feature",
                            at->name, at->number, count, count == 1 ? "" : "s",
                            self->csv_weights ? ", the weight (csv_weights=1)"
                                              : "");
    if (self->rows == 0 && self->cols == 0)
        self->cols = count - lead;
    if (count - lead != self->cols)
        return sm_error_set(err,
                            "%s line %zu: %zu columns where the rows before "
                            "have %zu; every row needs the label%s and the "
                            "same %zu features",
                            at->name, at->number, count, self->cols + lead,
                            self->csv_weights ? ", the weight" : "",
                            self->cols);
    if (row_room(self) || grow((void **)&self->values, &self->value_cap,
                               (self->rows + 1) * self->cols, sizeof(float)))
        return sm_error_set(err, "out of memory reading %s", at->name);
    self->labels[self->rows] = fields[0];
    if (self->csv_weights)
        self->weights[self->rows] = fields[1];
    memcpy(self->values + self->rows * self->cols, fields + lead,
           self->cols * sizeof(float));
    self->rows++;
    return 0;
}

/* A line of plain numbers, as many as the rows before, straight into the
 * next row: 0, or -1 to leave the line to csv_fields and csv_row (blanks,
 * quotes, other number forms, a wrong count, an error to report). */
static int csv_fast_row(sm_dataset *self, const char *line, size_t len)
{
    size_t lead = self->csv_weights ? 2 : 1, want = self->cols + lead;
    if (!self->cols || row_room(self) ||
        grow((void **)&self->values, &self->value_cap,
             (self->rows + 1) * self->cols, sizeof(float)))
        return -1;
    float *row = self->values + self->rows * self->cols - lead;
    float head[2] = {0, 0};
    const char *p = line, *end = line + len;
    for (size_t n = 0; n < want; n++, p++) {
        float v = NAN;
        if (p < end && *p != self->delimiter) {
            p = sm_decimal_float(p, end, &v);
            if (!p)
                return -1;
        } else if (n < lead) {
            return -1;
        }
        if (p < end ? *p != self->delimiter || n + 1 == want : n + 1 < want)
            return -1;
        if (n < lead)
            head[n] = v;
        else
            row[n] = v;
    }
    self->labels[self->rows] = head[0];
    if (self->csv_weights)
        self->weights[self->rows] = head[1];
    self->rows++;
    return 0;
}

/* ---- LIBSVM ------------------------------------------------------------- */

static int libsvm_bad(const line_ref *at, const char *what, const char *s,
                      size_t len, int looks_csv, sm_error *err)
{
    char text[48];
    shown(s, len, text);
    return sm_error_set(err, "%s line %zu: %s '%s'%s", at->name, at->number,
                        what, text,
                        looks_csv ? "; this looks like CSV: set the channel's "
                                    "ContentType to text/csv (without one the "
                                    "algorithm reads LIBSVM)"
                                  : " (LIBSVM rows are: label index:value "
                                    "index:value ...)");
}

/* One more entry of the CSR rows: 0, or -1 when out of memory. */
static int entry_add(sm_dataset *self, unsigned col, float v)
{
    size_t before = self->value_cap;
    if (grow((void **)&self->indices, &self->value_cap, self->nnz + 1,
             sizeof(unsigned)))
        return -1;
    if (self->value_cap != before) { /* data grows alongside */
        float *data = realloc(self->data, self->value_cap * sizeof(float));
        if (!data) {
            self->value_cap = before;
            return -1;
        }
        self->data = data;
    }
    self->indices[self->nnz] = col;
    self->data[self->nnz] = v;
    self->nnz++;
    return 0;
}

static int libsvm_entry(sm_dataset *self, const line_ref *at, const char *tok,
                        size_t len, sm_error *err)
{
    char field[FIELD_MAX];
    const char *colon = memchr(tok, ':', len);
    if (!colon || field_copy(tok, (size_t)(colon - tok), field))
        return libsvm_bad(at, "expected index:value, found", tok, len, 0, err);
    char *end;
    errno = 0;
    unsigned long idx = strtoul(field, &end, 10);
    if (!*field || *end || errno || field[0] == '-' || idx > 0x7fffffffUL)
        return libsvm_bad(at,
                          "the feature index is not a whole number >= 0:", tok,
                          len, 0, err);
    float v;
    size_t vlen = len - (size_t)(colon + 1 - tok);
    if (field_copy(colon + 1, vlen, field) || number(field, &v))
        return libsvm_bad(at, "the feature value is not a number:", tok, len, 0,
                          err);
    if (entry_add(self, (unsigned)idx, v))
        return sm_error_set(err, "out of memory reading %s", at->name);
    if (idx + 1 > self->cols)
        self->cols = idx + 1;
    return 0;
}

static int libsvm_line(sm_dataset *self, const line_ref *at, const char *line,
                       size_t len, sm_error *err)
{
    const char *p = line, *end = line + len;
    int looks_csv = memchr(line, ',', len) != NULL;
    while (p < end && isspace((unsigned char)*p))
        p++;
    const char *tok = p;
    while (p < end && !isspace((unsigned char)*p))
        p++;
    char field[FIELD_MAX];
    float label, weight = 1;
    const char *colon = memchr(tok, ':', (size_t)(p - tok));
    size_t label_len = colon ? (size_t)(colon - tok) : (size_t)(p - tok);
    if (field_copy(tok, label_len, field) || number(field, &label) ||
        (colon && (field_copy(colon + 1, (size_t)(p - colon - 1), field) ||
                   number(field, &weight))))
        return libsvm_bad(at, "the label is not a number:", tok,
                          (size_t)(p - tok), looks_csv, err);
    if (row_room(self))
        return sm_error_set(err, "out of memory reading %s", at->name);
    if (self->rows == 0)
        self->indptr[0] = 0;
    while (p < end) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        tok = p;
        while (p < end && !isspace((unsigned char)*p))
            p++;
        if (p == tok)
            break;
        if (p - tok >= 4 && !memcmp(tok, "qid:", 4))
            continue;
        if (libsvm_entry(self, at, tok, (size_t)(p - tok), err))
            return -1;
    }
    self->labels[self->rows] = label;
    (void)weight;
    self->rows++;
    self->indptr[self->rows] = self->nnz;
    return 0;
}

/* ---- lines -------------------------------------------------------------- */

static int blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

/* The lines of [text, text + len) into `self`; `at` counts them. */
static int add_lines(sm_dataset *self, line_ref *at, const char *text,
                     size_t len, sm_error *err)
{
    float *fields = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t pos = 0; !rc && pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + 1;
        at->number++;
        if (n && line[n - 1] == '\r')
            n--;
        if (self->format == SM_DATASET_CSV && !at->first &&
            csv_fast_row(self, line, n) == 0)
            continue;
        if (blank(line, n))
            continue;
        if (memchr(line, '\0', n)) {
            rc = sm_error_set(err,
                              "%s line %zu holds a NUL byte: it is not "
                              "a text file",
                              at->name, at->number);
            break;
        }
        if (self->format == SM_DATASET_LIBSVM) {
            rc = libsvm_line(self, at, line, n, err);
        } else {
            size_t count = 0;
            if (!self->delimiter)
                self->delimiter = sniff(line, n);
            rc = csv_fields(self, at, line, n, &fields, &cap, &count, err);
            if (!rc)
                rc = csv_row(self, at, fields, count, err);
        }
        at->first = 0;
    }
    free(fields);
    return rc;
}

/* ---- CSV in chunks ------------------------------------------------------ */

typedef struct chunk {
    sm_dataset ds;
    line_ref at;
    const char *text;
    size_t len;
    int rc;
    sm_error err;
} chunk;

static void *chunk_main(void *arg)
{
    chunk *c = arg;
    c->rc = add_lines(&c->ds, &c->at, c->text, c->len, &c->err);
    return NULL;
}

/* Where the line holding text[at] ends (past its newline), or len. */
static size_t line_after(const char *text, size_t len, size_t at)
{
    const char *nl = at < len ? memchr(text + at, '\n', len - at) : NULL;
    return nl ? (size_t)(nl - text) + 1 : len;
}

/* Append a chunk's rows to self's. */
static int append(sm_dataset *self, const sm_dataset *part)
{
    size_t rows = self->rows + part->rows;
    size_t c1 = self->row_cap, c2 = self->row_cap;
    if (grow((void **)&self->labels, &c1, rows + 1, sizeof(float)) ||
        (self->csv_weights &&
         grow((void **)&self->weights, &c2, rows + 1, sizeof(float))) ||
        grow((void **)&self->values, &self->value_cap, rows * self->cols,
             sizeof(float)))
        return -1;
    self->row_cap = c1;
    memcpy(self->labels + self->rows, part->labels, part->rows * sizeof(float));
    if (self->csv_weights)
        memcpy(self->weights + self->rows, part->weights,
               part->rows * sizeof(float));
    memcpy(self->values + self->rows * self->cols, part->values,
           part->rows * self->cols * sizeof(float));
    self->rows = rows;
    return 0;
}

static int reading_threads(size_t len)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = len / CHUNK_MIN;
    if (cpus < 1)
        cpus = 1;
    if (n > (size_t)cpus)
        n = (size_t)cpus;
    return n > THREADS_MAX ? THREADS_MAX : n < 1 ? 1 : (int)n;
}

/* The rest of a CSV file after its first rows, in `threads` chunks at
 * once. 1 when a chunk failed (nothing added: read it again in order for
 * the message), 0 when all is in, -1 with `err` set when out of memory. */
static int csv_chunks(sm_dataset *self, const line_ref *at, const char *text,
                      size_t len, int threads, sm_error *err)
{
    chunk parts[THREADS_MAX] = {0};
    pthread_t tids[THREADS_MAX];
    int started[THREADS_MAX] = {0};
    size_t from = 0;
    for (int i = 0; i < threads; i++) {
        size_t to = i + 1 == threads
                        ? len
                        : line_after(text, len,
                                     len / (size_t)threads * (size_t)(i + 1));
        to = to < from ? from : to;
        parts[i] = (chunk){
            .at = {at->name, 0, 0}, .text = text + from, .len = to - from};
        sm_dataset_init(&parts[i].ds, self->format, self->csv_weights);
        parts[i].ds.cols = self->cols;
        parts[i].ds.delimiter = self->delimiter;
        from = to;
        if (i > 0)
            started[i] = !pthread_create(&tids[i], NULL, chunk_main, &parts[i]);
    }
    chunk_main(&parts[0]);
    int failed = parts[0].rc, rc = 0;
    for (int i = 1; i < threads; i++) {
        if (started[i])
            pthread_join(tids[i], NULL);
        else
            chunk_main(&parts[i]);
        failed |= parts[i].rc;
    }
    for (int i = 0; i < threads; i++) {
        if (!failed && !rc && append(self, &parts[i].ds))
            rc = sm_error_set(err, "out of memory reading %s", at->name);
        sm_dataset_clear(&parts[i].ds);
        sm_error_clear(&parts[i].err);
    }
    return rc ? -1 : failed ? 1 : 0;
}

/* ---- RecordIO-protobuf ------------------------------------------------- */

/* Rows and labels read as the container reads them, appended as CSR:
 * a dense row's values all (NaN is missing), a sparse row's entries. */
static int recordio_rows(sm_dataset *self, const sm_predict_rows *rows,
                         const float *labels)
{
    for (size_t i = 0; i < rows->rows; i++) {
        if (row_room(self))
            return -1;
        if (self->rows == 0)
            self->indptr[0] = 0;
        size_t from = rows->sparse ? (size_t)rows->indptr[i] : i * rows->cols;
        size_t to =
            rows->sparse ? (size_t)rows->indptr[i + 1] : from + rows->cols;
        const float *v = rows->sparse ? rows->data : rows->values;
        for (size_t k = from; k < to; k++) {
            unsigned col =
                rows->sparse ? rows->indices[k] : (unsigned)(k - from);
            if (!isnan(v[k]) && entry_add(self, col, v[k]))
                return -1;
        }
        self->labels[self->rows++] = labels[i];
        self->indptr[self->rows] = self->nnz;
    }
    return 0;
}

static int recordio_file(sm_dataset *self, const char *name, const char *text,
                         size_t len, sm_error *err)
{
    sm_predict_rows rows;
    float *labels = NULL;
    size_t nlabels = 0;
    sm_recordio_error why = {0};
    int rc = sm_recordio_read((const unsigned char *)text, len, &rows, &labels,
                              &nlabels, &why);
    if (rc == 1)
        return sm_error_set(err,
                            "%s is not RecordIO-protobuf the algorithm "
                            "reads: %s: %s",
                            name, why.type, why.message);
    if (rc < 0)
        rc = sm_error_set(err, "out of memory reading %s", name);
    else if (nlabels != rows.rows)
        rc = sm_error_set(err,
                          "%s: %zu records have features but %zu label "
                          "values were found; each record needs "
                          "label[\"values\"] with one value",
                          name, rows.rows, nlabels);
    else if (self->rows && rows.cols != self->cols)
        rc = sm_error_set(err,
                          "%s: its records have %zu features where the files "
                          "before have %zu; all need the same",
                          name, rows.cols, self->cols);
    else if (recordio_rows(self, &rows, labels))
        rc = sm_error_set(err, "out of memory reading %s", name);
    else
        self->cols = rows.cols;
    sm_predict_rows_clear(&rows);
    free(labels);
    return rc;
}

/* ---- files -------------------------------------------------------------- */

int sm_dataset_add(sm_dataset *self, const char *name, const char *text,
                   size_t len, sm_error *err)
{
    size_t rows_before = self->rows;
    if (self->format == SM_DATASET_RECORDIO)
        return recordio_file(self, name, text, len, err);
    line_ref at = {name, 0, 1};
    size_t head = len;
    int threads = self->format == SM_DATASET_CSV ? reading_threads(len) : 1;
    if (threads > 1) /* the first lines alone: they fix the columns */
        head = line_after(text, len, CHUNK_MIN / 64);
    int rc = add_lines(self, &at, text, head, err);
    if (!rc && head < len) {
        rc = self->cols
                 ? csv_chunks(self, &at, text + head, len - head, threads, err)
                 : 1;
        if (rc == 1) /* in order, for the message of the first bad line */
            rc = add_lines(self, &at, text + head, len - head, err);
    }
    if (!rc && self->rows == rows_before)
        rc = sm_error_set(err,
                          "%s is empty: a training file needs at least one "
                          "row%s",
                          name,
                          self->format == SM_DATASET_CSV
                              ? " (CSV: the label first, then the features, "
                                "no header)"
                              : " (LIBSVM: label index:value ...)");
    return rc;
}
