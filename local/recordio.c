/* recordio: RecordIO-protobuf payloads into a feature matrix, step for
 * step as the XGBoost container's recordio_protobuf.py and the DMatrix it
 * builds: RecordIO framing, the protobuf wire format of aialgs.data.Record
 * (record.proto in the SageMaker Python SDK), one row per record. */
#include "recordio.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECODE_ERROR "google.protobuf.message.DecodeError"

/* ---- the protobuf wire format ------------------------------------------ */

typedef struct pb {
    const unsigned char *p, *end;
} pb;

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

static int pb_varint(pb *b, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (b->p == b->end)
            return -1;
        unsigned char c = *b->p++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return 0;
    }
    return -1; /* more than ten bytes */
}

/* One field: its number, wire type and payload (a varint or fixed value
 * in `v`, a length-delimited one in `sub`). -1 when malformed. */
typedef struct pb_field {
    uint64_t number;
    int wire;
    uint64_t v;
    pb sub;
} pb_field;

static int pb_next(pb *b, pb_field *f)
{
    uint64_t key;
    if (pb_varint(b, &key))
        return -1;
    f->number = key >> 3;
    f->wire = (int)(key & 7);
    if (f->number == 0)
        return -1;
    size_t left = (size_t)(b->end - b->p);
    switch (f->wire) {
    case WIRE_VARINT:
        return pb_varint(b, &f->v);
    case WIRE_I64:
        if (left < 8)
            return -1;
        memcpy(&f->v, b->p, 8); /* little-endian, as x86 and ARM hosts */
        b->p += 8;
        return 0;
    case WIRE_I32: {
        if (left < 4)
            return -1;
        uint32_t u;
        memcpy(&u, b->p, 4);
        f->v = u;
        b->p += 4;
        return 0;
    }
    case WIRE_LEN:
        if (pb_varint(b, &f->v) || f->v > (uint64_t)(b->end - b->p))
            return -1;
        f->sub = (pb){b->p, b->p + f->v};
        b->p += f->v;
        return 0;
    default: /* groups (3, 4) and the undefined 6, 7 */
        return -1;
    }
}

/* ---- tensors ------------------------------------------------------------ */

enum { TENSOR_NONE, TENSOR_F32, TENSOR_F64, TENSOR_I32, TENSOR_BYTES };

typedef struct grow {
    void *data;
    size_t count, cap, size;
} grow;

static void *grow_add(grow *g)
{
    if (g->count == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        void *bigger = realloc(g->data, cap * g->size);
        if (!bigger)
            return NULL;
        g->data = bigger;
        g->cap = cap;
    }
    return (char *)g->data + g->size * g->count++;
}

typedef struct tensor {
    int kind;
    grow values; /* double */
    grow keys;   /* uint64_t */
    grow shape;  /* uint64_t */
} tensor;

static void tensor_init(tensor *t)
{
    *t = (tensor){TENSOR_NONE,
                  {NULL, 0, 0, sizeof(double)},
                  {NULL, 0, 0, sizeof(uint64_t)},
                  {NULL, 0, 0, sizeof(uint64_t)}};
}

static void tensor_reset(tensor *t, int kind)
{
    t->kind = kind;
    t->values.count = t->keys.count = t->shape.count = 0;
}

static void tensor_free(tensor *t)
{
    free(t->values.data);
    free(t->keys.data);
    free(t->shape.data);
    tensor_init(t);
}

/* One element of a tensor's values from its wire form. */
static double element(int kind, uint64_t raw)
{
    if (kind == TENSOR_F32) {
        uint32_t u = (uint32_t)raw;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    if (kind == TENSOR_F64) {
        double d;
        memcpy(&d, &raw, sizeof d);
        return d;
    }
    return (double)(int32_t)(uint32_t)raw; /* int32: the low 32 bits */
}

static int add_double(grow *g, double v)
{
    double *slot = grow_add(g);
    return slot ? (*slot = v, 0) : -2;
}

static int add_u64(grow *g, uint64_t v)
{
    uint64_t *slot = grow_add(g);
    return slot ? (*slot = v, 0) : -2;
}

/* Repeated values, packed or one per field: -1 malformed, -2 memory. */
static int tensor_values(tensor *t, const pb_field *f)
{
    int fixed = t->kind == TENSOR_F32   ? WIRE_I32
                : t->kind == TENSOR_F64 ? WIRE_I64
                                        : WIRE_VARINT;
    if (f->wire == fixed)
        return add_double(&t->values, element(t->kind, f->v));
    if (f->wire != WIRE_LEN)
        return 0; /* another wire type: an unknown field, skipped */
    pb b = f->sub;
    size_t width = fixed == WIRE_I32 ? 4 : fixed == WIRE_I64 ? 8 : 0;
    while (b.p < b.end) {
        uint64_t raw = 0;
        if (width) {
            if ((size_t)(b.end - b.p) < width)
                return -1;
            memcpy(&raw, b.p, width);
            b.p += width;
        } else if (pb_varint(&b, &raw))
            return -1;
        if (add_double(&t->values, element(t->kind, raw)))
            return -2;
    }
    return 0;
}

static int tensor_u64s(grow *g, const pb_field *f)
{
    if (f->wire == WIRE_VARINT)
        return add_u64(g, f->v);
    if (f->wire != WIRE_LEN)
        return 0;
    pb b = f->sub;
    while (b.p < b.end) {
        uint64_t v;
        if (pb_varint(&b, &v))
            return -1;
        if (add_u64(g, v))
            return -2;
    }
    return 0;
}

/* A oneof member parsed into `t`: a new member replaces the one before,
 * the same member again merges into it (repeated fields append), as
 * protobuf parsers do. */
static int tensor_parse(tensor *t, pb b, int kind)
{
    if (t->kind != kind)
        tensor_reset(t, kind);
    pb_field f;
    while (b.p < b.end) {
        if (pb_next(&b, &f))
            return -1;
        int rc = 0;
        if (kind == TENSOR_BYTES)
            continue; /* its fields only need to be well-formed */
        if (f.number == 1)
            rc = tensor_values(t, &f);
        else if (f.number == 2)
            rc = tensor_u64s(&t->keys, &f);
        else if (f.number == 3)
            rc = tensor_u64s(&t->shape, &f);
        if (rc)
            return rc;
    }
    return 0;
}

/* A Value (merged into `t`): its oneof's last member wins. */
static int value_parse(tensor *t, pb b)
{
    pb_field f;
    while (b.p < b.end) {
        if (pb_next(&b, &f))
            return -1;
        int kind = f.wire != WIRE_LEN ? TENSOR_NONE
                   : f.number == 2    ? TENSOR_F32
                   : f.number == 3    ? TENSOR_F64
                   : f.number == 7    ? TENSOR_I32
                   : f.number == 9    ? TENSOR_BYTES
                                      : TENSOR_NONE;
        if (kind == TENSOR_NONE)
            continue;
        int rc = tensor_parse(t, f.sub, kind);
        if (rc)
            return rc;
    }
    return 0;
}

/* A map<string, Value> entry: whether its key is "values", and its
 * value parsed into `t` either way (a malformed one fails the record). */
static int entry_parse(pb b, tensor *t, int *is_values)
{
    *is_values = 0; /* an absent key is "" */
    tensor_reset(t, TENSOR_NONE);
    pb_field f;
    while (b.p < b.end) {
        if (pb_next(&b, &f))
            return -1;
        if (f.number == 1 && f.wire == WIRE_LEN) {
            *is_values = f.v == 6 && memcmp(f.sub.p, "values", 6) == 0;
        } else if (f.number == 2 && f.wire == WIRE_LEN) {
            int rc = value_parse(t, f.sub);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- records into rows -------------------------------------------------- */

typedef struct row {
    int sparse;
    uint64_t cols;
    size_t first, count; /* its entries */
} row;

typedef struct entry {
    uint64_t col;
    double value;
    size_t seq; /* its place in the record, for a stable sort */
} entry;

typedef struct reader {
    grow rows;    /* row */
    grow entries; /* entry */
    grow labels;  /* float, when wanted */
    int want_labels;
    tensor features, label, scratch;
    sm_recordio_error *err;
} reader;

static int fail(reader *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(reader *r, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err->message, sizeof r->err->message, fmt, ap);
    va_end(ap);
    r->err->type = type;
    return 1;
}

static int decode_failed(reader *r)
{
    return fail(r, DECODE_ERROR,
                "Error parsing message with type 'aialgs.data.Record'");
}

static int add_entry(reader *r, uint64_t col, double value, size_t seq)
{
    entry *e = grow_add(&r->entries);
    return e ? (*e = (entry){col, value, seq}, 0) : -1;
}

/* The record's row from its features["values"], as _extract_tensor and
 * the reader's branches make it; *added says whether it made one. */
static int add_row(reader *r, const tensor *t, int *added)
{
    *added = 0;
    if (t->kind == TENSOR_NONE || t->kind == TENSOR_BYTES)
        return 0; /* no numbers: the record is skipped */
    const double *v = t->values.data;
    const uint64_t *keys = t->keys.data;
    row one = {t->keys.count > 0, t->values.count, r->entries.count, 0};
    /* An all-zero sparse row, as the SDK writes it: a shape and nothing
     * else. The reader means it as an empty row of that width (its
     * "Empty record" branch) but reaches it only for a Value without a
     * tensor; read literally, as a dense row of no columns, it fails every
     * sparse payload holding one. The row it means is the one taken. */
    if (!t->keys.count && !t->values.count && t->shape.count) {
        one.sparse = 1;
        one.cols = ((const uint64_t *)t->shape.data)[0];
    }
    if (t->keys.count) {
        const uint64_t *shape = t->shape.data;
        uint64_t most = 0;
        for (size_t i = 0; i < t->keys.count; i++)
            most = keys[i] > most ? keys[i] : most;
        one.cols = t->shape.count ? shape[0] : most + 1;
        if (t->values.count != t->keys.count)
            return fail(r, "ValueError",
                        "indices and data should have the same size");
        if (most >= one.cols || (int64_t)most < 0)
            return fail(r, "ValueError",
                        most >= one.cols
                            ? "column index exceeds matrix dimensions"
                            : "negative column index found");
    }
    for (size_t i = 0; i < t->values.count; i++) {
        if (add_entry(r, one.sparse ? keys[i] : i, v[i], i))
            return -1;
    }
    one.count = r->entries.count - one.first;
    row *slot = grow_add(&r->rows);
    if (!slot)
        return -1;
    *slot = one;
    *added = 1;
    return 0;
}

/* A row's label["values"]: every value of a numeric tensor, none else. */
static int add_labels(reader *r, const tensor *t)
{
    if (t->kind == TENSOR_NONE || t->kind == TENSOR_BYTES)
        return 0;
    const double *v = t->values.data;
    for (size_t i = 0; i < t->values.count; i++) {
        float *slot = grow_add(&r->labels);
        if (!slot)
            return -1;
        *slot = (float)v[i];
    }
    return 0;
}

/* Keep the entry just parsed into scratch as `*into` (the last wins). */
static void keep(reader *r, tensor *into)
{
    tensor swap = *into;
    *into = r->scratch;
    r->scratch = swap;
}

static int record_parse(reader *r, pb b)
{
    int found = 0, labelled = 0, added = 0;
    pb_field f;
    while (b.p < b.end) {
        if (pb_next(&b, &f))
            return decode_failed(r);
        if ((f.number != 1 && f.number != 2) || f.wire != WIRE_LEN)
            continue;
        int is_values = 0;
        int rc = entry_parse(f.sub, &r->scratch, &is_values);
        if (rc)
            return rc == -2 ? -1 : decode_failed(r);
        if (is_values && f.number == 1)
            keep(r, &r->features), found = 1;
        else if (is_values)
            keep(r, &r->label), labelled = 1;
    }
    int rc = found ? add_row(r, &r->features, &added) : 0;
    if (!rc && added && labelled && r->want_labels)
        rc = add_labels(r, &r->label);
    return rc;
}

long long sm_recordio_frame(const unsigned char *p, size_t n, size_t *record)
{
    uint32_t magic, length;
    if (n < 8)
        return 0;
    memcpy(&magic, p, 4);
    memcpy(&length, p + 4, 4);
    if (magic != SM_RECORDIO_MAGIC)
        return SM_RECORDIO_NOT_A_FRAME;
    uint64_t padded = ((uint64_t)length + 3) / 4 * 4;
    if (padded > n - 8)
        return SM_RECORDIO_CUT_SHORT;
    *record = length;
    return (long long)(8 + padded);
}

static int frames(reader *r, const unsigned char *p, size_t n)
{
    size_t at = 0, length = 0;
    long long frame;
    while ((frame = sm_recordio_frame(p + at, n - at, &length)) > 0) {
        int rc = record_parse(r, (pb){p + at + 8, p + at + 8 + length});
        if (rc)
            return rc;
        at += (size_t)frame;
    }
    if (frame == SM_RECORDIO_NOT_A_FRAME)
        return fail(r, "ValueError", "Invalid RecordIO magic at offset %zu",
                    at);
    if (frame == SM_RECORDIO_CUT_SHORT)
        return fail(r, "ValueError", "Truncated record at offset %zu", at + 8);
    return 0;
}

/* ---- the matrix --------------------------------------------------------- */

static int by_column(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq; /* the later one last */
}

/* np.vstack of the rows: all of one width. */
static int dense(reader *r, sm_predict_rows *out)
{
    const row *rows = r->rows.data;
    const entry *e = r->entries.data;
    size_t n = r->rows.count, cols = (size_t)rows[0].cols;
    for (size_t i = 1; i < n; i++) {
        if (rows[i].cols != rows[0].cols)
            return fail(r, "ValueError",
                        "all the input array dimensions except for the "
                        "concatenation axis must match exactly, but along "
                        "dimension 1, the array at index 0 has size %zu and "
                        "the array at index %zu has size %zu",
                        cols, i, (size_t)rows[i].cols);
    }
    out->rows = n;
    out->cols = cols;
    out->values = malloc((n && cols ? n * cols : 1) * sizeof(float));
    if (!out->values)
        return -1;
    for (size_t k = 0; k < n * cols; k++)
        out->values[k] = (float)e[k].value;
    return 0;
}

/* scipy's vstack into CSR: dense rows keep their nonzero values, sparse
 * ones their entries; NaN is missing either way, and of one column given
 * twice in a row the later value is the one XGBoost reads. */
static int sparse(reader *r, sm_predict_rows *out)
{
    row *rows = r->rows.data;
    entry *e = r->entries.data;
    size_t n = r->rows.count;
    for (size_t i = 1; i < n; i++) {
        if (rows[i].cols != rows[0].cols)
            return fail(r, "ValueError",
                        "blocks[:,0] has incompatible column dimensions. "
                        "Got blocks[%zu,0].shape[1] == %llu, expected %llu.",
                        i, (unsigned long long)rows[i].cols,
                        (unsigned long long)rows[0].cols);
    }
    if (rows[0].cols > (uint64_t)UINT32_MAX + 1)
        return fail(r, "ValueError",
                    "%llu columns are more than XGBoost takes (4294967296)",
                    (unsigned long long)rows[0].cols);
    size_t total = r->entries.count;
    out->rows = n;
    out->cols = (size_t)rows[0].cols;
    out->sparse = true;
    out->indptr = calloc(n + 1, sizeof *out->indptr);
    out->indices = malloc((total ? total : 1) * sizeof *out->indices);
    out->data = malloc((total ? total : 1) * sizeof *out->data);
    if (!out->indptr || !out->indices || !out->data)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        entry *mine = e + rows[i].first;
        qsort(mine, rows[i].count, sizeof *mine, by_column);
        for (size_t j = 0; j < rows[i].count; j++) {
            double v = mine[j].value;
            if (isnan(v) || (!rows[i].sparse && v == 0) ||
                (j + 1 < rows[i].count && mine[j + 1].col == mine[j].col))
                continue;
            out->indices[k] = (uint32_t)mine[j].col;
            out->data[k++] = (float)v;
        }
        out->indptr[i + 1] = k;
    }
    return 0;
}

int sm_recordio_read(const unsigned char *p, size_t n, sm_predict_rows *out,
                     float **labels, size_t *nlabels, sm_recordio_error *err)
{
    *out = (sm_predict_rows){0};
    reader r = {.rows = {.size = sizeof(row)},
                .entries = {.size = sizeof(entry)},
                .labels = {.size = sizeof(float)},
                .want_labels = labels != NULL,
                .err = err};
    tensor_init(&r.features);
    tensor_init(&r.label);
    tensor_init(&r.scratch);
    int rc = frames(&r, p, n);
    if (!rc && r.rows.count == 0)
        rc = fail(&r, "ValueError",
                  "No records found in RecordIO-Protobuf data");
    if (!rc) {
        int any_sparse = 0;
        for (size_t i = 0; i < r.rows.count; i++)
            any_sparse |= ((row *)r.rows.data)[i].sparse;
        rc = any_sparse ? sparse(&r, out) : dense(&r, out);
    }
    if (rc)
        sm_predict_rows_clear(out);
    if (labels && !rc) {
        *labels = r.labels.data;
        *nlabels = r.labels.count;
    } else {
        free(r.labels.data);
    }
    free(r.rows.data);
    free(r.entries.data);
    tensor_free(&r.features);
    tensor_free(&r.label);
    tensor_free(&r.scratch);
    return rc;
}
