/* test_local_predict: the XGBoost container's serving in C: numbers as
 * Python writes them, request bodies as the container parses them, its
 * answers and errors, model.tar.gz reading on tarballs built here, and a
 * booster trained here serving from many threads at once. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>
#include <zlib.h>

#include "buf.h"
#include "predict.h"
#include "targz.h"
#include "test.h"

/* ---- numbers ------------------------------------------------------------ */

TEST(predict_formats_numbers_as_python_repr)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.5, "0.5"},
        {1.0, "1.0"},
        {-2.0, "-2.0"},
        {100.0, "100.0"},
        {123.456, "123.456"},
        {1e-05, "1e-05"},
        {0.0001, "0.0001"},
        {1e16, "1e+16"},
        {1234567890123456.0, "1234567890123456.0"},
        {1.5e300, "1.5e+300"},
        {-3.25e-7, "-3.25e-07"},
        {0.0, "0.0"},
        {(double)0.1f, "0.10000000149011612"},
        {(double)0.43254318f, "0.43254318833351135"},
        {(double)-1.4684012f, "-1.4684011936187744"},
    };
    char out[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sm_predict_format_double(cases[i].v, out);
        CHECK_STR(out, cases[i].want);
    }
    sm_predict_format_double(NAN, out);
    CHECK_STR(out, "nan");
    sm_predict_format_double(-INFINITY, out);
    CHECK_STR(out, "-inf");
}

/* ---- parsing ------------------------------------------------------------ */

/* Parse and expect success with rows x cols. */
static int parse_ok(const char *type, const char *body, size_t rows,
                    size_t cols, sm_predict_rows *out)
{
    sm_predict_answer a = {0};
    int rc = sm_predict_parse(type, body, strlen(body), out, &a);
    if (rc)
        printf("    %d: %s\n", rc, sm_buf_str(&a.body));
    sm_predict_answer_clear(&a);
    return rc == 0 && out->rows == rows && out->cols == cols;
}

/* Parse and expect `status` with a message holding `text`. */
static int parse_fails(const char *type, const char *body, int status,
                       const char *text)
{
    sm_predict_rows rows;
    sm_predict_answer a = {0};
    int rc = sm_predict_parse(type, body, strlen(body), &rows, &a);
    int ok = rc == status && a.status == status &&
             strstr(sm_buf_str(&a.body), text) != NULL;
    if (!ok)
        printf("    %d %d: %s\n", rc, a.status, sm_buf_str(&a.body));
    sm_predict_answer_clear(&a);
    sm_predict_rows_clear(&rows);
    return ok;
}

TEST(predict_parses_csv_like_the_container)
{
    sm_predict_rows r;
    CHECK(parse_ok("text/csv", "1.5,2,3", 1, 3, &r));
    CHECK(r.values[0] == 1.5f && r.values[2] == 3.0f);
    sm_predict_rows_clear(&r);
    /* a trailing newline, spaces around values, CRLF */
    CHECK(parse_ok("text/csv", " 1 , 2 ,3\r\n4,5,6\r\n\n", 2, 3, &r));
    CHECK(r.values[1] == 2.0f && r.values[5] == 6.0f);
    sm_predict_rows_clear(&r);
    /* an empty field is missing */
    CHECK(parse_ok("text/csv; charset=utf-8", "1,,3", 1, 3, &r));
    CHECK(isnan(r.values[1]));
    sm_predict_rows_clear(&r);
    /* the delimiter is taken from the first line */
    CHECK(parse_ok("csv", "1;2;3\n4;5;6", 2, 3, &r));
    sm_predict_rows_clear(&r);
    CHECK(parse_ok("TEXT/CSV;label_size=1", "1e-3,NaN,nan", 1, 3, &r));
    CHECK(r.values[0] == 1e-3f && isnan(r.values[1]) && isnan(r.values[2]));
    sm_predict_rows_clear(&r);
    /* the largest float passes; past it the cast to float gives inf */
    CHECK(parse_ok("text/csv", "3.4028235e38,-3.4028235e38", 1, 2, &r));
    CHECK(!isinf(r.values[0]) && !isinf(r.values[1]));
    sm_predict_rows_clear(&r);
    /* a DMatrix refuses infinities: the container's 415 */
    const char *inf = "<class 'xgboost.core.XGBoostError'>\n Check failed: "
                      "valid: Input data contains `inf` or `nan`";
    CHECK(parse_fails("text/csv", "1e-3,-inf,nan", 415, inf));
    CHECK(parse_fails("text/csv", "1,2\n3,Infinity", 415, inf));
    CHECK(parse_fails("text/csv", "1,1e39", 415, inf));
    CHECK(parse_fails("text/csv", "1,1e39", 415, "Loading csv data failed"));
    /* a value that does not parse is found before any infinity */
    CHECK(parse_fails("text/csv", "inf,abc", 415, "float: 'abc'"));
    CHECK(parse_fails("text/csv", "1,abc", 415,
                      "<class 'ValueError'>\n could not convert string to "
                      "float: 'abc'"));
    CHECK(parse_fails("text/csv", "1,0x10", 415, "float: '0x10'"));
    CHECK(parse_fails("text/csv", "1,2\n3", 415,
                      "inhomogeneous shape after 1 dimensions"));
    CHECK(parse_fails("text/csv", " \n ", 415,
                      "Could not determine "
                      "delimiter"));
    CHECK(parse_fails("text/csv;label_size=2", "1", 415,
                      "text/csv;label_size=2 is not an accepted csv "
                      "ContentType"));
}

TEST(predict_parses_libsvm_like_the_container)
{
    sm_predict_rows r;
    /* 1-based indices shift to 0; labels and absent features are missing */
    CHECK(parse_ok("text/libsvm", "0 1:0.5 3:2\n1 2:-1", 2, 3, &r));
    CHECK(sm_predict_rows_at(&r, 0, 0) == 0.5f);
    CHECK(isnan(sm_predict_rows_at(&r, 0, 1)));
    CHECK(sm_predict_rows_at(&r, 0, 2) == 2.0f);
    CHECK(isnan(sm_predict_rows_at(&r, 1, 0)));
    CHECK(sm_predict_rows_at(&r, 1, 1) == -1.0f);
    sm_predict_rows_clear(&r);
    /* 0-based indices stay; no content type means libsvm */
    CHECK(parse_ok(NULL, "0:1 2:3", 1, 3, &r));
    CHECK(sm_predict_rows_at(&r, 0, 0) == 1.0f);
    CHECK(sm_predict_rows_at(&r, 0, 2) == 3.0f);
    sm_predict_rows_clear(&r);
    CHECK(parse_ok("text/x-libsvm", "1:1 1:2", 1, 1, &r)); /* summed */
    CHECK(sm_predict_rows_at(&r, 0, 0) == 3.0f);
    sm_predict_rows_clear(&r);
    /* columns out of order in a row, a blank row between */
    CHECK(parse_ok("text/libsvm", "0 5:1 2:4\n\n1 3:7 3:1", 3, 5, &r));
    CHECK(sm_predict_rows_at(&r, 0, 1) == 4.0f);
    CHECK(sm_predict_rows_at(&r, 0, 4) == 1.0f);
    CHECK(isnan(sm_predict_rows_at(&r, 1, 1)));
    CHECK(sm_predict_rows_at(&r, 2, 2) == 8.0f);
    sm_predict_rows_clear(&r);
    /* a huge index over many rows stays small: one entry */
    char wide[300] = "1:1";
    for (int i = 0; i < 200; i++)
        strcat(wide, "\n");
    strcat(wide, "16000000:2");
    CHECK(parse_ok("text/libsvm", wide, 201, 16000000, &r));
    CHECK(r.sparse && r.indptr[r.rows] == 2);
    CHECK(sm_predict_rows_at(&r, 200, 15999999) == 2.0f);
    sm_predict_rows_clear(&r);
    CHECK(parse_fails("text/libsvm", "x:1", 415,
                      "invalid literal for int() with base 10: 'x'"));
    CHECK(parse_fails("text/libsvm", "1:y", 415,
                      "could not convert string to float: 'y'"));
    CHECK(parse_fails("text/libsvm", "1 2 3", 415,
                      "cannot infer dimensions from zero sized index "
                      "arrays"));
    CHECK(parse_fails("text/libsvm", "0 1:1\n1 2:-inf", 415,
                      "Loading libsvm data failed with Exception, please "
                      "ensure data is in libsvm format:\n <class "
                      "'xgboost.core.XGBoostError'>\n Check failed: valid: "
                      "Input data contains `inf` or `nan`"));
    CHECK(parse_fails("text/libsvm", "1:2e38 1:2e38", 415, "`inf`"));
}

TEST(predict_refuses_other_content_types)
{
    CHECK(parse_fails("application/json", "{}", 415,
                      "application/json is not an accepted ContentType: "
                      "csv, libsvm, parquet, recordio-protobuf, text/csv, "
                      "text/libsvm, text/x-libsvm, application/x-parquet, "
                      "application/x-recordio-protobuf."));
    CHECK(parse_fails("application/x-parquet", "PAR1", 415,
                      "Content-type application/x-parquet is not "
                      "supported by sagemagic-local"));
    CHECK(parse_fails("application/x-parquet", "PAR1", 415,
                      "the local service reads text/csv, text/libsvm and "
                      "application/x-recordio-protobuf"));
}

TEST(predict_reads_accept_like_the_container)
{
    sm_predict_answer a = {0};
    CHECK_STR(sm_predict_accept(NULL, &a), "text/csv");
    CHECK_STR(sm_predict_accept("*/*", &a), "text/csv");
    CHECK_STR(sm_predict_accept("application/json;verbose=True", &a),
              "application/json");
    CHECK_STR(sm_predict_accept("Application/JSONLines", &a),
              "application/jsonlines");
    CHECK(sm_predict_accept("text/libsvm", &a) == NULL);
    CHECK(a.status == 406);
    CHECK_STR(sm_buf_str(&a.body),
              "Accept type text/libsvm is not supported. Please use "
              "supported accept types: ['application/json', "
              "'application/jsonlines', 'application/x-recordio-protobuf', "
              "'text/csv'].");
    sm_predict_answer_clear(&a);
}

/* ---- encoding ----------------------------------------------------------- */

static int encoded(const float *p, size_t rows, size_t width,
                   const char *accept, sm_predict_mode mode, const char *want)
{
    sm_buf out = {0};
    int ok = sm_predict_encode(p, rows, width, accept, mode, &out) == 0 &&
             strcmp(sm_buf_str(&out), want) == 0;
    if (!ok)
        printf("    got  %s\n    want %s\n", sm_buf_str(&out), want);
    sm_buf_free(&out);
    return ok;
}

TEST(predict_writes_answers_like_the_container)
{
    const float one[] = {0.5f, -2.0f};
    const float probs[] = {0.25f, 0.75f, 0.5f, 0.5f};
    CHECK(encoded(one, 2, 1, "text/csv", SM_PREDICT_REALTIME, "0.5\n-2.0\n"));
    CHECK(encoded(one, 2, 1, "application/json", SM_PREDICT_REALTIME,
                  "{\"predictions\": [{\"score\": 0.5}, {\"score\": -2.0}]}"));
    CHECK(encoded(one, 1, 1, "application/jsonlines", SM_PREDICT_REALTIME,
                  "{\"score\": 0.5}\n"));
    CHECK(encoded(probs, 2, 2, "text/csv", SM_PREDICT_REALTIME,
                  "0.25,0.75\n0.5,0.5\n"));
    CHECK(encoded(probs, 1, 2, "application/json", SM_PREDICT_REALTIME,
                  "{\"predictions\": [{\"score\": [0.25, 0.75]}]}"));
    /* batch transform: str() of each prediction per line, any Accept */
    CHECK(encoded(probs, 2, 2, "application/json", SM_PREDICT_BATCH,
                  "[0.25, 0.75]\n[0.5, 0.5]\n"));
    CHECK(encoded(one, 2, 1, "text/csv", SM_PREDICT_BATCH, "0.5\n-2.0\n"));
}

/* ---- model.tar.gz ------------------------------------------------------- */

/* A ustar header for `name` of `size` bytes and `type`. */
static void tar_header(sm_buf *tar, const char *name, size_t size, char type)
{
    char h[512] = {0};
    snprintf(h, 100, "%s", name);
    snprintf(h + 100, 8, "0000644");
    snprintf(h + 108, 8, "0000000");
    snprintf(h + 116, 8, "0000000");
    snprintf(h + 124, 12, "%011zo", size);
    snprintf(h + 136, 12, "%011o", 0);
    h[156] = type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += (unsigned char)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    sm_buf_append(tar, h, 512);
}

static void tar_member(sm_buf *tar, const char *name, const char *data,
                       size_t size, char type)
{
    static const char zeros[512] = {0};
    tar_header(tar, name, size, type);
    sm_buf_append(tar, data, size);
    sm_buf_append(tar, zeros, (512 - size % 512) % 512);
}

static void tar_end(sm_buf *tar)
{
    static const char zeros[1024] = {0};
    sm_buf_append(tar, zeros, sizeof zeros);
}

/* gzip `in` into a new buffer. */
static void gzip(const sm_buf *in, sm_buf *out)
{
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&z, in->len) + 64;
    unsigned char *o = malloc(cap);
    z.next_in = (unsigned char *)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = o;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    sm_buf_append(out, o, cap - z.avail_out);
    deflateEnd(&z);
    free(o);
}

typedef struct mem_source {
    const char *data;
    size_t len, pos;
} mem_source;

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
    mem_source *m = ctx;
    size_t n = m->len - m->pos < len ? m->len - m->pos : len;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static int extract_mem(const char *gz, size_t gz_len, const char *name,
                       uint64_t max, char **data, size_t *len, sm_error *err)
{
    mem_source m = {gz, gz_len, 0};
    return sm_targz_extract(mem_read, &m, name, max, data, len, err);
}

static int extract(const sm_buf *gz, char **data, size_t *len)
{
    sm_error err = {0};
    int rc = extract_mem(gz->data, gz->len, "xgboost-model", 1 << 20, data, len,
                         &err);
    if (rc < 0)
        printf("    %s\n", err.message);
    return rc;
}

TEST(targz_finds_the_model_among_members)
{
    sm_buf tar = {0}, gz = {0};
    tar_member(&tar, "./", "", 0, '5');
    tar_member(&tar, "./notes.txt", "hello", 5, '0');
    char big[1500];
    memset(big, 'm', sizeof big);
    tar_member(&tar, "./xgboost-model", big, sizeof big, '0');
    tar_end(&tar);
    gzip(&tar, &gz);
    char *data = NULL;
    size_t len = 0;
    CHECK(extract(&gz, &data, &len) == 0);
    CHECK(len == sizeof big && memcmp(data, big, len) == 0);
    free(data);
    sm_buf_free(&tar);
    sm_buf_free(&gz);
}

TEST(targz_reads_long_names_and_pax_paths)
{
    sm_buf tar = {0}, gz = {0};
    char longname[160];
    memset(longname, 'd', 120);
    snprintf(longname + 120, 40, "/xgboost-model");
    /* GNU: the name in an 'L' member before the file (a decoy first) */
    tar_member(&tar, "././@LongLink", longname, strlen(longname) + 1, 'L');
    tar_member(&tar, "truncated", "no", 2, '0');
    /* pax: "path=xgboost-model" in an 'x' member */
    const char *pax = "24 path=./xgboost-model\n";
    tar_member(&tar, "PaxHeaders/x", pax, strlen(pax), 'x');
    tar_member(&tar, "ignored-name", "pax!", 4, '0');
    tar_end(&tar);
    gzip(&tar, &gz);
    char *data = NULL;
    size_t len = 0;
    CHECK(extract(&gz, &data, &len) == 0);
    CHECK(len == 4 && memcmp(data, "pax!", 4) == 0);
    free(data);
    sm_buf_free(&tar);
    sm_buf_free(&gz);
}

TEST(targz_says_what_is_wrong)
{
    sm_buf tar = {0}, gz = {0};
    char *data = NULL;
    size_t len = 0;
    tar_member(&tar, "model.bin", "x", 1, '0');
    tar_end(&tar);
    gzip(&tar, &gz);
    CHECK(extract(&gz, &data, &len) == 1); /* absent */
    sm_buf cut = {0};
    sm_buf_append(&cut, gz.data, gz.len / 2);
    CHECK(extract(&cut, &data, &len) == -1); /* cut short */
    sm_buf_free(&cut);
    sm_buf plain = {0};
    for (int i = 0; i < 40; i++)
        sm_buf_puts(&plain, "not a tar header. "); /* a block and more */
    CHECK(extract(&plain, &data, &len) == -1);
    sm_buf_free(&plain);
    sm_buf_free(&gz);
    tar.data[148] = '7'; /* a broken checksum */
    gzip(&tar, &gz);
    CHECK(extract(&gz, &data, &len) == -1);
    sm_buf_free(&gz);
    sm_buf_free(&tar);
    tar_member(&tar, "xgboost-model", "target", 0, '2');
    tar_end(&tar);
    gzip(&tar, &gz);
    CHECK(extract(&gz, &data, &len) == -1); /* a link */
    sm_buf_free(&gz);
    sm_buf_free(&tar);
}

/* ---- a real booster ----------------------------------------------------- */

/* Train y = 2*x0 - x1 on a grid with `kind` ("gbtree", "gblinear",
 * "dart"); the saved model's bytes in *raw. */
static BoosterHandle train_kind(const char *kind, const char *objective,
                                char **raw, size_t *raw_len)
{
    enum { N = 200, F = 3 };
    static float X[N * F], y[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < F; j++)
            X[i * F + j] = (float)((i * (j + 3)) % 17) / 4.0f;
        y[i] = 2 * X[i * F] - X[i * F + 1];
        if (strcmp(objective, "binary:logistic") == 0)
            y[i] = y[i] > 2.0f;
    }
    DMatrixHandle d;
    BoosterHandle b;
    XGDMatrixCreateFromMat(X, N, F, NAN, &d);
    XGDMatrixSetFloatInfo(d, "label", y, N);
    XGBoosterCreate(&d, 1, &b);
    XGBoosterSetParam(b, "booster", kind);
    XGBoosterSetParam(b, "objective", objective);
    XGBoosterSetParam(b, "max_depth", "3");
    if (strcmp(kind, "dart") == 0)
        XGBoosterSetParam(b, "rate_drop", "0.3");
    XGBoosterSetParam(b, "nthread", "1");
    for (int i = 0; i < 10; i++)
        XGBoosterUpdateOneIter(b, i, d);
    bst_ulong n = 0;
    const char *bytes = NULL;
    XGBoosterSaveModelToBuffer(b, "{\"format\":\"json\"}", &n, &bytes);
    *raw = malloc(n);
    memcpy(*raw, bytes, n);
    *raw_len = (size_t)n;
    XGDMatrixFree(d);
    return b;
}

static BoosterHandle train_booster(const char *objective, char **raw,
                                   size_t *raw_len)
{
    return train_kind("gbtree", objective, raw, raw_len);
}

/* XGBoost's own prediction of one row, for comparison. */
static float reference(BoosterHandle b, const float *row, size_t cols)
{
    DMatrixHandle d;
    XGDMatrixCreateFromMat(row, 1, (bst_ulong)cols, NAN, &d);
    bst_ulong len = 0;
    const float *out = NULL;
    XGBoosterPredict(b, d, 0, 0, 0, &len, &out);
    float v = out[0];
    XGDMatrixFree(d);
    return v;
}

static sm_predict_model *model_from(const char *raw, size_t len)
{
    sm_buf tar = {0}, gz = {0};
    tar_member(&tar, "./xgboost-model", raw, len, '0');
    tar_end(&tar);
    gzip(&tar, &gz);
    sm_error err = {0};
    char *bytes = NULL;
    size_t n = 0;
    sm_predict_model *m = NULL;
    if (extract_mem(gz.data, gz.len, SM_PREDICT_MODEL_FILE, 1 << 24, &bytes, &n,
                    &err) == 0)
        m = sm_predict_model_load(bytes, n, 1, &err);
    if (!m)
        printf("    %s\n", err.message);
    free(bytes);
    sm_buf_free(&tar);
    sm_buf_free(&gz);
    return m;
}

static int invoke(const sm_predict_model *m, const char *type,
                  const char *accept, const char *body, sm_predict_answer *a)
{
    sm_predict_request req = {type, accept, body, strlen(body),
                              SM_PREDICT_REALTIME};
    return sm_predict_invoke(m, &req, a);
}

TEST(predict_serves_a_trained_booster)
{
    char *raw = NULL;
    size_t len = 0;
    BoosterHandle b = train_booster("reg:squarederror", &raw, &len);
    sm_predict_model *m = model_from(raw, len);
    CHECK(m != NULL);
    CHECK_STR(sm_predict_model_objective(m), "reg:squarederror");
    CHECK(sm_predict_model_features(m) == 3 &&
          sm_predict_model_outputs(m) == 1);
    const float row[] = {1.25f, 0.5f, 2.0f};
    float want = reference(b, row, 3);
    sm_predict_answer a;
    CHECK(invoke(m, "text/csv", "text/csv", "1.25,0.5,2.0\n", &a) == 0);
    CHECK(a.status == 200);
    CHECK_STR(a.content_type, "text/csv; charset=utf-8");
    CHECK(fabs(strtod(sm_buf_str(&a.body), NULL) - want) < 1e-6);
    sm_predict_answer_clear(&a);
    /* fewer columns than features: the rest are missing, as in a DMatrix */
    CHECK(invoke(m, "text/csv", NULL, "1.25,0.5", &a) == 0 && a.status == 200);
    sm_predict_answer_clear(&a);
    CHECK(invoke(m, "text/csv", NULL, "1,2,3,4", &a) == 0);
    CHECK(a.status == 400);
    CHECK(strncmp(sm_buf_str(&a.body),
                  "Unable to evaluate payload provided: ", 37) == 0);
    sm_predict_answer_clear(&a);
    CHECK(invoke(m, "text/csv", "text/plain", "1,2,3", &a) == 0);
    CHECK(a.status == 406);
    sm_predict_answer_clear(&a);
    CHECK(invoke(m, "text/csv", NULL, "", &a) == 0 && a.status == 204);
    sm_predict_answer_clear(&a);
    sm_predict_model_destroy(&m);
    XGBoosterFree(b);
    free(raw);
}

/* `rows` rows of 3 features, every odd row missing its last one, sent
 * as `type` (text/csv or text/libsvm); the answer must be XGBoost's own
 * DMatrix prediction written as Python writes it, line for line. */
static int batch_as_xgboost(const sm_predict_model *m, BoosterHandle b,
                            const char *type, size_t rows)
{
    float *X = malloc(rows * 3 * sizeof *X);
    sm_buf body = {0}, want = {0};
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < 3; j++) {
            float v = (float)((i * 7 + j * 5) % 23) / 8.0f;
            X[i * 3 + j] = j == 2 && i % 2 ? NAN : v;
            if (isnan(X[i * 3 + j]))
                sm_buf_puts(&body, strcmp(type, "text/csv") ? "" : ",");
            else if (strcmp(type, "text/csv") == 0)
                sm_buf_printf(&body, "%s%g", j ? "," : "", (double)v);
            else
                sm_buf_printf(&body, "%s%zu:%g", j ? " " : "", j, (double)v);
        }
        sm_buf_putc(&body, '\n');
    }
    DMatrixHandle d;
    XGDMatrixCreateFromMat(X, (bst_ulong)rows, 3, NAN, &d);
    bst_ulong len = 0;
    const float *out = NULL;
    XGBoosterPredict(b, d, 0, 0, 0, &len, &out);
    for (bst_ulong i = 0; i < len; i++) {
        char v[32];
        sm_predict_format_double((double)out[i], v);
        sm_buf_printf(&want, "%s\n", v);
    }
    sm_predict_answer a;
    int ok = invoke(m, type, "text/csv", sm_buf_str(&body), &a) == 0 &&
             a.status == 200 && len == rows &&
             strcmp(sm_buf_str(&a.body), sm_buf_str(&want)) == 0;
    if (!ok)
        printf("    %s %zu rows: %d %.200s want %.200s\n", type, rows, a.status,
               sm_buf_str(&a.body), sm_buf_str(&want));
    sm_predict_answer_clear(&a);
    XGDMatrixFree(d);
    free(X);
    sm_buf_free(&body);
    sm_buf_free(&want);
    return ok;
}

/* gblinear has no in-place prediction in XGBoost 1.7, and dart's differs
 * from its DMatrix prediction in the last bits: both must serve exactly
 * what XGBoost predicts from a DMatrix, in small and large batches. */
TEST(predict_serves_linear_and_dart_boosters)
{
    const char *kinds[] = {"gblinear", "dart"};
    for (size_t k = 0; k < 2; k++) {
        char *raw = NULL;
        size_t len = 0;
        BoosterHandle b = train_kind(kinds[k], "reg:squarederror", &raw, &len);
        sm_predict_model *m = model_from(raw, len);
        CHECK(m != NULL);
        if (m) {
            CHECK(sm_predict_model_features(m) == 3 &&
                  sm_predict_model_outputs(m) == 1);
            CHECK(!sm_predict_model_walks(m));
            CHECK(batch_as_xgboost(m, b, "text/csv", 1));
            CHECK(batch_as_xgboost(m, b, "text/csv", 300));
            CHECK(batch_as_xgboost(m, b, "text/libsvm", 5));
            CHECK(batch_as_xgboost(m, b, "text/libsvm", 300));
            sm_predict_answer a;
            CHECK(invoke(m, "text/csv", NULL, "1,2,3,4", &a) == 0);
            CHECK(a.status == 400);
            sm_predict_answer_clear(&a);
            /* a DMatrix refuses infinities: the container's 415 */
            CHECK(invoke(m, "text/csv", NULL, "1,inf,3", &a) == 0);
            CHECK(a.status == 415 && strstr(sm_buf_str(&a.body), "`inf`"));
            sm_predict_answer_clear(&a);
        }
        sm_predict_model_destroy(&m);
        XGBoosterFree(b);
        free(raw);
    }
}

typedef struct hammer {
    const sm_predict_model *model;
    char body[64];
    char want[64];
    int bad;
} hammer;

static void *hammer_main(void *arg)
{
    hammer *h = arg;
    for (int i = 0; i < 3000 && !h->bad; i++) {
        sm_predict_answer a;
        if (invoke(h->model, "text/csv", "text/csv", h->body, &a) ||
            a.status != 200 || strcmp(sm_buf_str(&a.body), h->want) != 0)
            h->bad = 1;
        sm_predict_answer_clear(&a);
    }
    return NULL;
}

/* Six threads asking one `kind` of booster at once; 0 when every
 * answer was XGBoost's. */
static int hammered(const char *kind)
{
    char *raw = NULL;
    size_t len = 0;
    BoosterHandle b = train_kind(kind, "binary:logistic", &raw, &len);
    sm_predict_model *m = model_from(raw, len);
    int bad = !m;
    enum { THREADS = 6 };
    hammer h[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; m && i < THREADS; i++) {
        h[i] = (hammer){.model = m};
        float row[3] = {(float)i, (float)(i % 3), 0.5f};
        snprintf(h[i].body, sizeof h[i].body, "%d,%d,0.5", i, i % 3);
        char v[32];
        sm_predict_format_double((double)reference(b, row, 3), v);
        snprintf(h[i].want, sizeof h[i].want, "%s\n", v);
    }
    for (int i = 0; m && i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer_main, &h[i]);
    for (int i = 0; m && i < THREADS; i++) {
        pthread_join(t[i], NULL);
        bad |= h[i].bad;
    }
    sm_predict_model_destroy(&m);
    XGBoosterFree(b);
    free(raw);
    return bad;
}

TEST(predict_one_booster_serves_many_threads)
{
    CHECK(!hammered("gbtree"));
    CHECK(!hammered("gblinear"));
    CHECK(!hammered("dart"));
}
