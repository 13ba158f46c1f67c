/* test_local_recordio: RecordIO-protobuf payloads built here byte by byte
 * (RecordIO frames around aialgs.data.Record messages) read as the
 * XGBoost container's reader reads them, and the errors it gives. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "predict.h"
#include "recordio.h"
#include "test.h"

/* ---- a protobuf writer for the tests ------------------------------------ */

static void varint(sm_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        sm_buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    sm_buf_putc(b, (char)v);
}

static void field_len(sm_buf *b, unsigned number, const sm_buf *sub)
{
    varint(b, (uint64_t)number << 3 | 2);
    varint(b, sub->len);
    sm_buf_append(b, sub->data, sub->len);
}

/* A Float32Tensor (packed values), or Float64 / Int32 by `kind` (2, 3,
 * 7: the Value field), with keys and a shape when given. */
static void tensor(sm_buf *value, unsigned kind, const double *v, size_t n,
                   const uint64_t *keys, size_t nkeys, uint64_t shape)
{
    sm_buf t = {0}, packed = {0};
    for (size_t i = 0; i < n; i++) {
        if (kind == 2) {
            float f = (float)v[i];
            sm_buf_append(&packed, &f, 4);
        } else if (kind == 3) {
            sm_buf_append(&packed, &v[i], 8);
        } else {
            varint(&packed, (uint64_t)(int64_t)v[i]);
        }
    }
    field_len(&t, 1, &packed);
    packed.len = 0;
    for (size_t i = 0; i < nkeys; i++)
        varint(&packed, keys[i]);
    if (nkeys)
        field_len(&t, 2, &packed);
    if (shape) {
        packed.len = 0;
        varint(&packed, shape);
        field_len(&t, 3, &packed);
    }
    field_len(value, kind, &t);
    sm_buf_free(&t);
    sm_buf_free(&packed);
}

/* One Record with features[name] = value, framed. */
static void record(sm_buf *out, const char *name, const sm_buf *value)
{
    sm_buf entry = {0}, rec = {0}, key = {0};
    sm_buf_append(&key, name, strlen(name));
    field_len(&entry, 1, &key);
    field_len(&entry, 2, value);
    field_len(&rec, 1, &entry);
    uint32_t head[2] = {0xCED7230Au, (uint32_t)rec.len};
    sm_buf_append(out, head, sizeof head);
    sm_buf_append(out, rec.data, rec.len);
    while (out->len % 4)
        sm_buf_putc(out, 0);
    sm_buf_free(&entry);
    sm_buf_free(&rec);
    sm_buf_free(&key);
}

static void dense_row(sm_buf *out, unsigned kind, const double *v, size_t n)
{
    sm_buf value = {0};
    tensor(&value, kind, v, n, NULL, 0, 0);
    record(out, "values", &value);
    sm_buf_free(&value);
}

static void sparse_row(sm_buf *out, const double *v, const uint64_t *keys,
                       size_t n, uint64_t shape)
{
    sm_buf value = {0};
    tensor(&value, 3, v, n, keys, n, shape);
    record(out, "values", &value);
    sm_buf_free(&value);
}

static int read_ok(const sm_buf *b, sm_predict_rows *rows)
{
    sm_recordio_error err = {0};
    int rc = sm_recordio_read((const unsigned char *)b->data, b->len, rows,
                              NULL, NULL, &err);
    if (rc)
        printf("    %d %s: %s\n", rc, err.type, err.message);
    return rc == 0;
}

static int read_fails(const sm_buf *b, const char *type, const char *text)
{
    sm_predict_rows rows;
    sm_recordio_error err = {0};
    int rc = sm_recordio_read((const unsigned char *)b->data, b->len, &rows,
                              NULL, NULL, &err);
    int ok = rc == 1 && strcmp(err.type, type) == 0 &&
             strstr(err.message, text) != NULL;
    if (!ok)
        printf("    %d %s: %s\n", rc, rc == 1 ? err.type : "-",
               rc == 1 ? err.message : "");
    sm_predict_rows_clear(&rows);
    return ok;
}

/* ---- the tests ---------------------------------------------------------- */

TEST(recordio_dense_rows_of_each_tensor_type)
{
    sm_buf b = {0};
    const double a[] = {1.5, -2, 0}, c[] = {4, 5.25, NAN}, d[] = {7, -8, 9};
    dense_row(&b, 2, a, 3);
    dense_row(&b, 3, c, 3);
    dense_row(&b, 7, d, 3);
    sm_predict_rows r;
    CHECK(read_ok(&b, &r));
    CHECK(!r.sparse && r.rows == 3 && r.cols == 3);
    CHECK(r.values[0] == 1.5f && r.values[1] == -2.0f && r.values[2] == 0.0f);
    CHECK(r.values[4] == 5.25f && isnan(r.values[5]));
    CHECK(r.values[6] == 7.0f && r.values[7] == -8.0f);
    sm_predict_rows_clear(&r);
    /* fewer than 8 bytes after the last frame are left alone */
    sm_buf_append(&b, "\0\0\0", 3);
    CHECK(read_ok(&b, &r) && r.rows == 3);
    sm_predict_rows_clear(&r);
    sm_buf_free(&b);
}

TEST(recordio_sparse_rows_sort_and_keep_the_last_of_a_column)
{
    sm_buf b = {0};
    const double v0[] = {2.5, 0, 1}, v1[] = {3, 4};
    const uint64_t k0[] = {4, 0, 2}, k1[] = {1, 1};
    sparse_row(&b, v0, k0, 3, 5);
    sparse_row(&b, v1, k1, 2, 5);
    sm_predict_rows r;
    CHECK(read_ok(&b, &r));
    CHECK(r.sparse && r.rows == 2 && r.cols == 5);
    CHECK(r.indptr[1] == 3 && r.indptr[2] == 4);
    CHECK(r.indices[0] == 0 && r.data[0] == 0.0f); /* an explicit zero */
    CHECK(r.indices[1] == 2 && r.indices[2] == 4 && r.data[2] == 2.5f);
    CHECK(r.indices[3] == 1 && r.data[3] == 4.0f); /* the later of two */
    sm_predict_rows_clear(&r);
    /* a row of zeros: a shape and nothing else, an empty row */
    size_t two_rows = b.len;
    sparse_row(&b, NULL, NULL, 0, 5);
    CHECK(read_ok(&b, &r) && r.sparse && r.rows == 3 && r.cols == 5);
    CHECK(r.indptr[3] == r.indptr[2]);
    sm_predict_rows_clear(&r);
    b.len = two_rows;
    /* a dense row among sparse ones keeps its nonzero values */
    const double d[] = {0, 6, 0, 0, 7};
    dense_row(&b, 2, d, 5);
    CHECK(read_ok(&b, &r) && r.rows == 3 && r.indptr[3] - r.indptr[2] == 2);
    CHECK(sm_predict_rows_at(&r, 2, 1) == 6.0f);
    CHECK(isnan(sm_predict_rows_at(&r, 2, 0)));
    sm_predict_rows_clear(&r);
    sm_buf_free(&b);
}

TEST(recordio_records_without_values_are_skipped)
{
    sm_buf b = {0}, value = {0};
    const double a[] = {1, 2};
    tensor(&value, 2, a, 2, NULL, 0, 0);
    record(&b, "other", &value); /* not features["values"] */
    dense_row(&b, 2, a, 2);
    sm_predict_rows r;
    CHECK(read_ok(&b, &r) && r.rows == 1 && r.cols == 2);
    sm_predict_rows_clear(&r);
    b.len = 0;
    record(&b, "other", &value);
    CHECK(read_fails(&b, "ValueError",
                     "No records found in RecordIO-Protobuf data"));
    CHECK(read_fails(&(sm_buf){0}, "ValueError", "No records found"));
    sm_buf_free(&b);
    sm_buf_free(&value);
}

TEST(recordio_refuses_what_the_container_refuses)
{
    sm_buf b = {0};
    const double a[] = {1, 2, 3}, c[] = {1, 2};
    const uint64_t k[] = {0, 7};
    dense_row(&b, 2, a, 3);
    sm_buf good = {0};
    sm_buf_append(&good, b.data, b.len);
    /* framing */
    b.data[0] = 'x';
    CHECK(read_fails(&b, "ValueError", "Invalid RecordIO magic at offset 0"));
    b.len = 0;
    sm_buf_append(&b, good.data, good.len - 4);
    CHECK(read_fails(&b, "ValueError", "Truncated record at offset 8"));
    /* the message itself: a varint that never ends */
    b.len = 0;
    uint32_t head[2] = {0xCED7230Au, 4};
    sm_buf_append(&b, head, sizeof head);
    sm_buf_append(&b, "\x0a\xff\xff\xff", 4);
    CHECK(read_fails(&b, "google.protobuf.message.DecodeError",
                     "Error parsing message with type 'aialgs.data.Record'"));
    /* rows that do not stack */
    b.len = 0;
    dense_row(&b, 2, a, 3);
    dense_row(&b, 2, c, 2);
    CHECK(read_fails(&b, "ValueError",
                     "the array at index 0 has size 3 and the array at "
                     "index 1 has size 2"));
    b.len = 0;
    sparse_row(&b, c, k, 2, 5);
    CHECK(
        read_fails(&b, "ValueError", "column index exceeds matrix dimensions"));
    b.len = 0;
    sparse_row(&b, c, k, 2, 0); /* no shape: as wide as its last key */
    dense_row(&b, 2, a, 3);
    CHECK(read_fails(&b, "ValueError",
                     "blocks[:,0] has incompatible column dimensions. Got "
                     "blocks[1,0].shape[1] == 3, expected 8."));
    sm_buf_free(&b);
    sm_buf_free(&good);
}

TEST(recordio_parses_through_predict_without_strip)
{
    sm_buf b = {0};
    /* the frame starts with '\n' (0x0a, the magic's first byte) and this
     * record ends with ' ' (the varint 32, no padding): strip() would
     * take both */
    const double a[] = {9, 9, 9, 32};
    dense_row(&b, 7, a, 4);
    CHECK(b.data[0] == '\n' && b.data[b.len - 1] == ' ');
    sm_predict_rows r;
    sm_predict_answer ans = {0};
    CHECK(sm_predict_parse("application/x-recordio-protobuf", b.data, b.len, &r,
                           &ans) == 0);
    CHECK(r.rows == 1 && r.cols == 4 && r.values[3] == 32.0f);
    sm_predict_rows_clear(&r);
    const double inf[] = {INFINITY};
    b.len = 0;
    dense_row(&b, 2, inf, 1);
    CHECK(sm_predict_parse("recordio-protobuf", b.data, b.len, &r, &ans) ==
          415);
    CHECK(strstr(sm_buf_str(&ans.body),
                 "Loading recordio-protobuf data failed with Exception, "
                 "please ensure data is in recordio-protobuf format: <class "
                 "'xgboost.core.XGBoostError'> Check failed: valid: Input "
                 "data contains `inf` or `nan`") != NULL);
    sm_predict_answer_clear(&ans);
    sm_buf_free(&b);
}
