/* test_local_serving: models, endpoint configs and endpoints through their
 * operation rows on a temporary data dir (create, load in the background,
 * serve, update, delete, reopen), and batch transform's record splitting
 * and a job run end to end. */
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xgboost/c_api.h>
#include <zlib.h>

#include "buf.h"
#include "db.h"
#include "recordio.h"
#include "serving.h"
#include "store.h"
#include "test.h"
#include "transform.h"

/* ---- splitting ---------------------------------------------------------- */

typedef struct sent {
    sm_buf all; /* each payload, then '|' */
    int count;
} sent;

static int record(void *ctx, const char *payload, size_t len)
{
    sent *s = ctx;
    s->count++;
    sm_buf_append(&s->all, payload, len);
    return sm_buf_putc(&s->all, '|');
}

static int split(int line, int single, size_t max, const char *data,
                 const char *want, int want_count)
{
    sm_transform_plan plan = {
        .split_line = line, .single_record = single, .max_payload = max};
    sent s = {0};
    sm_error err = {0};
    int rc = sm_transform_split(&plan, data, strlen(data), record, &s, &err);
    int ok = rc == 0 && s.count == want_count &&
             strcmp(sm_buf_str(&s.all), want) == 0;
    if (!ok)
        printf("    rc %d, %d sent: %s (%s)\n", rc, s.count, sm_buf_str(&s.all),
               err.message);
    sm_buf_free(&s.all);
    return ok;
}

TEST(transform_splits_records_as_asked)
{
    const char *data = "1,2\n3,4\n\n5,6\n7,8\n";
    /* MultiRecord: as many lines as fit, a blank line skipped */
    CHECK(split(1, 0, 1 << 20, data, "1,2\n3,4|5,6\n7,8|", 2));
    /* a payload limit of 8 bytes: "1,2\n3,4" is 7 */
    CHECK(split(1, 0, 8, "1,2\n3,4\n5,6\n", "1,2\n3,4|5,6|", 2));
    CHECK(split(1, 1, 1 << 20, data, "1,2|3,4|5,6|7,8|", 4));
    CHECK(split(0, 0, 1 << 20, data, "1,2\n3,4\n\n5,6\n7,8\n|", 1));
    CHECK(split(1, 0, 1 << 20, "9,9", "9,9|", 1)); /* no final newline */
    sm_transform_plan plan = {.split_line = 1, .max_payload = 4};
    sent s = {0};
    sm_error err = {0};
    CHECK(sm_transform_split(&plan, "1,2,3,4\n", 8, record, &s, &err) == 1);
    CHECK(strstr(err.message, "Record is larger than") != NULL);
    sm_buf_free(&s.all);
}

/* A RecordIO frame of `record` into `b`: head, bytes, padding. */
static void frame(sm_buf *b, const char *record)
{
    uint32_t head[2] = {SM_RECORDIO_MAGIC, (uint32_t)strlen(record)};
    sm_buf_append(b, head, sizeof head);
    sm_buf_append(b, record, strlen(record));
    while (b->len % 4)
        sm_buf_putc(b, 0);
}

static int split_frames(int single, size_t max, const sm_buf *data,
                        int want_count, size_t want_first, sm_error *err)
{
    sm_transform_plan plan = {
        .split_recordio = 1, .single_record = single, .max_payload = max};
    sent s = {0};
    int rc = sm_transform_split(&plan, data->data, data->len, record, &s, err);
    /* the first payload's length, then '|' */
    int ok = rc == 0 && s.count == want_count && s.all.len > want_first &&
             s.all.data[want_first] == '|';
    if (!ok && rc == 0)
        printf("    %d sent, %zu bytes in all\n", s.count, s.all.len);
    sm_buf_free(&s.all);
    return rc ? -rc : ok;
}

TEST(transform_splits_recordio_frames)
{
    sm_buf b = {0};
    frame(&b, "ab");    /* 12 bytes */
    frame(&b, "cdefg"); /* 16 */
    frame(&b, "hijk");  /* 12 */
    sm_error err = {0};
    CHECK(split_frames(0, 1 << 20, &b, 1, 40, &err) == 1);
    CHECK(split_frames(1, 1 << 20, &b, 3, 12, &err) == 1);
    CHECK(split_frames(0, 28, &b, 2, 28, &err) == 1); /* 12 + 16 fit */
    CHECK(split_frames(0, 15, &b, 0, 0, &err) == -1);
    CHECK(strstr(err.message, "Record is larger than") != NULL);
    b.len -= 2;
    err = (sm_error){0};
    CHECK(split_frames(0, 1 << 20, &b, 0, 0, &err) == -1);
    CHECK(strstr(err.message, "the record at byte 28 runs past the end"));
    b.data[12] = 'x';
    err = (sm_error){0};
    CHECK(split_frames(0, 1 << 20, &b, 0, 0, &err) == -1);
    CHECK(strstr(err.message, "no RecordIO record starts at byte 12"));
    sm_buf_free(&b);
}

/* ---- a data dir with a model in it -------------------------------------- */

typedef struct fixture {
    char dir[64];
    sm_db *db;
    sm_store *store;
    sm_serving *serving;
    sm_transform *transform;
    sm_local_env env;
} fixture;

static int fixture_open(fixture *f)
{
    char path[128];
    snprintf(path, sizeof path, "%s/state.db", f->dir);
    sm_error err = {0};
    f->db = sm_db_open(path, &err);
    f->store = f->db ? sm_store_open(f->dir, f->db, &err) : NULL;
    sm_serving_config sc = {f->db, f->store, "000000000000", "us-east-1"};
    f->serving = f->store ? sm_serving_open(&sc, &err) : NULL;
    sm_transform_config tc = {f->db, f->store, f->serving, "000000000000",
                              "us-east-1"};
    f->transform = f->serving ? sm_transform_open(&tc, &err) : NULL;
    f->env = (sm_local_env){.store = f->store,
                            .account_id = "000000000000",
                            .access_key = "AKID",
                            .region = "us-east-1",
                            .db = f->db,
                            .serving = f->serving,
                            .transform = f->transform};
    if (!f->transform)
        printf("    %s\n", err.message);
    return f->transform ? 0 : -1;
}

static void fixture_close(fixture *f)
{
    sm_transform_close(&f->transform);
    sm_serving_close(&f->serving);
    sm_store_close(&f->store);
    sm_db_close(&f->db);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    return remove(path);
}

static void fixture_free(fixture *f)
{
    fixture_close(f);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int put_object(fixture *f, const char *bucket, const char *key,
                      const void *data, size_t len)
{
    sm_error err = {0};
    unsigned char md5[16];
    sm_store_bucket_create(f->store, bucket, "us-east-1", &err);
    sm_store_blob *blob = sm_store_blob_new(f->store, &err);
    int rc = blob ? 0 : -1;
    if (!rc && len)
        rc = sm_store_blob_write(blob, data, len, &err);
    if (!rc)
        rc = sm_store_blob_finish(blob, md5, &err);
    sm_store_object attrs = {0};
    if (!rc && sm_store_object_put(f->store, bucket, key, blob, &attrs, NULL,
                                   &err) != SM_STORE_OK)
        rc = -1;
    sm_store_blob_destroy(&blob);
    return rc;
}

static char *get_object(fixture *f, const char *bucket, const char *key)
{
    sm_store_object obj = {0};
    sm_store_reader *reader = NULL;
    sm_error err = {0};
    if (sm_store_object_open(f->store, bucket, key, &obj, &reader, &err) !=
        SM_STORE_OK)
        return NULL;
    size_t n = (size_t)obj.size;
    char *text = calloc(1, n + 1);
    sm_store_reader_read(reader, 0, text, n);
    sm_store_reader_close(&reader);
    sm_store_object_clear(&obj);
    return text;
}

/* A model.tar.gz of a small regression booster (y = x0 + 2 x1). */
static int put_model(fixture *f, const char *key, float scale)
{
    enum { N = 100, F = 2 };
    float X[N * F], y[N];
    for (int i = 0; i < N; i++) {
        X[2 * i] = (float)(i % 10);
        X[2 * i + 1] = (float)(i / 10);
        y[i] = scale * (X[2 * i] + 2 * X[2 * i + 1]);
    }
    DMatrixHandle d;
    BoosterHandle b;
    XGDMatrixCreateFromMat(X, N, F, NAN, &d);
    XGDMatrixSetFloatInfo(d, "label", y, N);
    XGBoosterCreate(&d, 1, &b);
    XGBoosterSetParam(b, "nthread", "1");
    for (int i = 0; i < 5; i++)
        XGBoosterUpdateOneIter(b, i, d);
    bst_ulong n = 0;
    const char *raw = NULL;
    XGBoosterSaveModelToBuffer(b, "{\"format\":\"ubj\"}", &n, &raw);
    /* tar: one ustar header, the data, padding, two zero blocks */
    size_t tar_len = 512 + ((size_t)n + 511) / 512 * 512 + 1024;
    unsigned char *tar = calloc(1, tar_len);
    snprintf((char *)tar, 100, "./xgboost-model");
    snprintf((char *)tar + 100, 8, "0000644");
    snprintf((char *)tar + 124, 12, "%011llo", (unsigned long long)n);
    tar[156] = '0';
    memcpy(tar + 257, "ustar", 6);
    memset(tar + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += tar[i];
    snprintf((char *)tar + 148, 8, "%06o", sum);
    memcpy(tar + 512, raw, n);
    XGBoosterFree(b);
    XGDMatrixFree(d);
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&z, tar_len) + 64;
    unsigned char *gz = malloc(cap);
    z.next_in = tar;
    z.avail_in = (uInt)tar_len;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    int rc = put_object(f, "models", key, gz, cap - z.avail_out);
    deflateEnd(&z);
    free(gz);
    free(tar);
    return rc;
}

/* Run operation `name` of `ops` with the JSON `in`: the answer (new) or
 * NULL with `err`. */
static json_t *call(fixture *f, const sm_jsonapi_ops *ops, const char *name,
                    const char *in, sm_http_error *err)
{
    const sm_jsonapi_ops *tables[] = {ops};
    const sm_jsonapi_op *op = sm_jsonapi_find(tables, 1, name);
    json_t *req = json_loads(in, 0, NULL), *out = NULL;
    sm_http_request http = {0};
    *err = (sm_http_error){0};
    if (!op || !req || op->run(&f->env, &http, req, &out, err)) {
        json_decref(out);
        out = NULL;
    }
    json_decref(req);
    return out;
}

/* The endpoint's status once it stops changing (at most 10 s). */
static const char *settled(fixture *f, const char *endpoint, char out[32])
{
    char in[128];
    snprintf(in, sizeof in, "{\"EndpointName\":\"%s\"}", endpoint);
    for (int i = 0; i < 1000; i++) {
        sm_http_error err;
        json_t *d = call(f, &sm_serving_ops, "DescribeEndpoint", in, &err);
        const char *status =
            json_string_value(json_object_get(d, "EndpointStatus"));
        snprintf(out, 32, "%.31s", d ? status : err.code);
        json_decref(d);
        if (strcmp(out, "Creating") && strcmp(out, "Updating") &&
            strcmp(out, "Deleting"))
            return out;
        usleep(10 * 1000);
    }
    return "timeout";
}

/* Invoke `endpoint` with one CSV row: the answer's text into `out`. */
static int predict(fixture *f, const char *endpoint, const char *row, char *out,
                   size_t cap)
{
    sm_serving_lease lease;
    if (sm_serving_acquire(f->serving, endpoint, NULL, &lease) !=
        SM_SERVING_SERVING)
        return -1;
    sm_predict_request req = {"text/csv", "text/csv", row, strlen(row),
                              SM_PREDICT_REALTIME};
    sm_predict_answer a;
    int rc = sm_predict_invoke(lease.model, &req, &a) || a.status != 200;
    snprintf(out, cap, "%s", sm_buf_str(&a.body));
    sm_predict_answer_clear(&a);
    sm_serving_release(&lease);
    return rc ? -1 : 0;
}

#define IMAGE                                                                  \
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

static int make_model(fixture *f, const char *name, const char *key)
{
    char in[512];
    snprintf(in, sizeof in,
             "{\"ModelName\":\"%s\",\"PrimaryContainer\":{\"Image\":\"" IMAGE
             "\",\"ModelDataUrl\":\"s3://models/%s\"}}",
             name, key);
    sm_http_error err;
    json_t *out = call(f, &sm_serving_ops, "CreateModel", in, &err);
    json_decref(out);
    if (!out)
        printf("    %s: %s\n", err.code, err.message);
    return out ? 0 : -1;
}

static int make_config(fixture *f, const char *name, const char *model)
{
    char in[512];
    snprintf(in, sizeof in,
             "{\"EndpointConfigName\":\"%s\",\"ProductionVariants\":[{"
             "\"VariantName\":\"AllTraffic\",\"ModelName\":\"%s\","
             "\"InitialInstanceCount\":1,\"InstanceType\":\"ml.m5.large\"}]}",
             name, model);
    sm_http_error err;
    json_t *out = call(f, &sm_serving_ops, "CreateEndpointConfig", in, &err);
    json_decref(out);
    return out ? 0 : -1;
}

TEST(serving_endpoint_lifecycle_and_restart)
{
    fixture f = {.dir = "/tmp/sm-serving-XXXXXX"};
    CHECK(mkdtemp(f.dir) != NULL);
    CHECK(fixture_open(&f) == 0);
    CHECK(put_model(&f, "a/model.tar.gz", 1.0f) == 0);
    CHECK(put_model(&f, "b/model.tar.gz", 10.0f) == 0);
    CHECK(make_model(&f, "model-a", "a/model.tar.gz") == 0);
    CHECK(make_model(&f, "model-b", "b/model.tar.gz") == 0);
    CHECK(make_config(&f, "config-a", "model-a") == 0);
    CHECK(make_config(&f, "config-b", "model-b") == 0);
    sm_http_error err;
    json_t *out = call(&f, &sm_serving_ops, "CreateEndpoint",
                       "{\"EndpointName\":\"ep\",\"EndpointConfigName\":"
                       "\"config-a\"}",
                       &err);
    CHECK(out != NULL);
    json_decref(out);
    char status[32], a[64], b[64];
    CHECK_STR(settled(&f, "ep", status), "InService");
    CHECK(predict(&f, "ep", "3,4", a, sizeof a) == 0);
    /* update: the other model answers */
    out = call(&f, &sm_serving_ops, "UpdateEndpoint",
               "{\"EndpointName\":\"ep\",\"EndpointConfigName\":\"config-b\"}",
               &err);
    json_decref(out);
    CHECK(out != NULL);
    CHECK_STR(settled(&f, "ep", status), "InService");
    CHECK(predict(&f, "ep", "3,4", b, sizeof b) == 0);
    CHECK(strcmp(a, b) != 0);
    /* reopen: the endpoint serves again at once */
    fixture_close(&f);
    CHECK(fixture_open(&f) == 0);
    char again[64];
    CHECK(predict(&f, "ep", "3,4", again, sizeof again) == 0);
    CHECK_STR(again, b);
    /* a batch transform over two objects gives what the endpoint gives */
    CHECK(put_object(&f, "data", "in/x.csv", "3,4\n1,1\n", 8) == 0);
    CHECK(put_object(&f, "data", "in/y.csv", "3,4\n", 4) == 0);
    out = call(&f, &sm_transform_ops, "CreateTransformJob",
               "{\"TransformJobName\":\"tj\",\"ModelName\":\"model-b\","
               "\"TransformInput\":{\"DataSource\":{\"S3DataSource\":{"
               "\"S3DataType\":\"S3Prefix\",\"S3Uri\":\"s3://data/in/\"}},"
               "\"ContentType\":\"text/csv\",\"SplitType\":\"Line\"},"
               "\"TransformOutput\":{\"S3OutputPath\":\"s3://data/out\","
               "\"AssembleWith\":\"Line\"},\"TransformResources\":{"
               "\"InstanceType\":\"ml.m5.large\",\"InstanceCount\":1}}",
               &err);
    if (!out)
        printf("    %s\n", err.message);
    CHECK(out != NULL);
    json_decref(out);
    CHECK(sm_transform_wait_idle(f.transform, 10000) == 0);
    out = call(&f, &sm_transform_ops, "DescribeTransformJob",
               "{\"TransformJobName\":\"tj\"}", &err);
    CHECK_STR(json_string_value(json_object_get(out, "TransformJobStatus")),
              "Completed");
    json_decref(out);
    char *y = get_object(&f, "data", "out/y.csv.out");
    CHECK(y != NULL);
    CHECK_STR(y, b);
    free(y);
    /* delete: gone from serving at once, then from the table */
    out = call(&f, &sm_serving_ops, "DeleteEndpoint",
               "{\"EndpointName\":\"ep\"}", &err);
    json_decref(out);
    CHECK(predict(&f, "ep", "3,4", again, sizeof again) == -1);
    CHECK_STR(settled(&f, "ep", status), "ValidationException");
    out = call(&f, &sm_serving_ops, "DescribeEndpoint",
               "{\"EndpointName\":\"ep\"}", &err);
    CHECK(out == NULL);
    CHECK_STR(err.message, "Could not find endpoint "
                           "\"arn:aws:sagemaker:us-east-1:000000000000:"
                           "endpoint/ep\".");
    fixture_free(&f);
}
