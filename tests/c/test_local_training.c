/* test_local_training: the pieces of local training that need no process:
 * CSV and LIBSVM parsing and its messages, the XGBoost hyperparameters as
 * the container checks them, model.tar.gz written and read back (and a
 * zlib-compressed one read), and CloudWatch Logs' paging rule. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "db.h"
#include "logstore.h"
#include "targz.h"
#include "tarwriter.h"
#include "test.h"
#include "xgbparams.h"

/* ---- dataset ------------------------------------------------------------ */

static int parse(sm_dataset *ds, sm_dataset_format format, int weights,
                 const char *text, sm_error *err)
{
    sm_dataset_init(ds, format, weights);
    return sm_dataset_add(ds, "s3://b/train.csv", text, strlen(text), err);
}

TEST(local_dataset_reads_csv)
{
    sm_dataset ds;
    sm_error err = {0};
    CHECK(parse(&ds, SM_DATASET_CSV, 0, "1,2,3\r\n\n0,,5\n", &err) == 0);
    CHECK(ds.rows == 2 && ds.cols == 2);
    CHECK(ds.labels[0] == 1 && ds.labels[1] == 0);
    CHECK(ds.values[0] == 2 && ds.values[1] == 3);
    CHECK(ds.values[2] != ds.values[2]); /* an empty field is missing */
    CHECK(ds.values[3] == 5);
    sm_dataset_clear(&ds);
    CHECK(parse(&ds, SM_DATASET_CSV, 1, "1;0.5;7\n0;2;8\n", &err) == 0);
    CHECK(ds.cols == 1 && ds.weights[0] == 0.5f && ds.values[1] == 8);
    sm_dataset_clear(&ds);
}

TEST(local_dataset_names_the_bad_row)
{
    sm_dataset ds;
    sm_error err = {0};
    CHECK(parse(&ds, SM_DATASET_CSV, 0, "1,2,3\n0,1,2\n1,oops,3\n", &err));
    CHECK_STR(err.message, "s3://b/train.csv line 3, column 2: 'oops' is not "
                           "a number (a feature)");
    sm_dataset_clear(&ds);
    sm_error_clear(&err);
    CHECK(parse(&ds, SM_DATASET_CSV, 0, "1,2,3,4\n\n1,2,3\n", &err));
    CHECK_STR(err.message, "s3://b/train.csv line 3: 3 columns where the rows "
                           "before have 4; every row needs the label and the "
                           "same 3 features");
    sm_dataset_clear(&ds);
    sm_error_clear(&err);
    CHECK(parse(&ds, SM_DATASET_CSV, 0, "y,a\n1,2\n", &err));
    CHECK(strstr(err.message, "line 1, column 1: 'y' is not a number (the "
                              "label); CSV training data has no header row"));
    sm_dataset_clear(&ds);
    sm_error_clear(&err);
    CHECK(parse(&ds, SM_DATASET_CSV, 0, "1,2\n,3\n", &err));
    CHECK_STR(err.message, "s3://b/train.csv line 2: the label (column 1) is "
                           "empty");
    sm_dataset_clear(&ds);
    sm_error_clear(&err);
    CHECK(parse(&ds, SM_DATASET_CSV, 0, " \n\n", &err));
    CHECK(strstr(err.message, "s3://b/train.csv is empty") == err.message);
    sm_dataset_clear(&ds);
    sm_error_clear(&err);
    CHECK(parse(&ds, SM_DATASET_CSV, 0, "1\n", &err));
    CHECK(strstr(err.message, "line 1: 1 column, but a row needs the label"));
    sm_dataset_clear(&ds);
}

TEST(local_dataset_reads_libsvm)
{
    sm_dataset ds;
    sm_error err = {0};
    CHECK(parse(&ds, SM_DATASET_LIBSVM, 0, "1 1:0.5 4:2\n0 qid:3 2:1\n0\n",
                &err) == 0);
    CHECK(ds.rows == 3 && ds.cols == 5 && ds.nnz == 3);
    CHECK(ds.indptr[0] == 0 && ds.indptr[1] == 2 && ds.indptr[2] == 3 &&
          ds.indptr[3] == 3);
    CHECK(ds.indices[1] == 4 && ds.data[1] == 2 && ds.labels[2] == 0);
    sm_dataset_clear(&ds);
    CHECK(parse(&ds, SM_DATASET_LIBSVM, 0, "1 1:0.5\n1 x:2\n", &err));
    CHECK(strstr(err.message, "line 2: the feature index is not a whole "
                              "number >= 0: 'x:2'"));
    sm_dataset_clear(&ds);
    sm_error_clear(&err);
    CHECK(parse(&ds, SM_DATASET_LIBSVM, 0, "1,2,3\n", &err));
    CHECK(strstr(err.message, "this looks like CSV: set the channel's "
                              "ContentType to text/csv"));
    sm_dataset_clear(&ds);
}

/* A CSV file of `rows` rows of 1 + 11 fields, large enough to be read in
 * chunks, with some fields in forms only the careful way reads. */
static char *big_csv(size_t rows, size_t *len)
{
    size_t cap = rows * 160 + 1, n = 0;
    char *text = malloc(cap);
    unsigned seed = 7;
    for (size_t r = 0; text && r < rows; r++) {
        for (int c = 0; c < 12; c++) {
            seed = seed * 1103515245u + 12345u;
            long v = (long)(seed >> 8) - (1L << 23);
            const char *sep = c == 11 ? "\n" : ",";
            if (c && seed % 97 == 0)
                n += (size_t)snprintf(text + n, cap - n, "%s", sep);
            else if (seed % 89 == 0)
                n += (size_t)snprintf(text + n, cap - n, " \"%ld.5\" %s", v,
                                      sep);
            else if (seed % 83 == 0)
                n += (size_t)snprintf(text + n, cap - n, "%.9e%s", v * 1e-3,
                                      sep);
            else
                n +=
                    (size_t)snprintf(text + n, cap - n, "%.6f%s", v / 1e5, sep);
        }
    }
    *len = n;
    return text;
}

/* Every value as strtof reads its field. */
static int same_as_strtof(const sm_dataset *ds, const char *text)
{
    const char *p = text;
    for (size_t r = 0; r < ds->rows; r++) {
        for (size_t c = 0; c < 12; c++) {
            size_t n = strcspn(p, ",\n");
            char field[64];
            snprintf(field, sizeof field, "%.*s", (int)n, p);
            char *q = field + strspn(field, " \"");
            float want = *q ? strtof(q, NULL) : NAN;
            float got = c ? ds->values[r * 11 + c - 1] : ds->labels[r];
            if (memcmp(&want, &got, sizeof got) &&
                !(want != want && got != got))
                return 0;
            p += n + 1;
        }
    }
    return 1;
}

TEST(local_dataset_reads_a_large_csv_in_chunks)
{
    size_t len, rows = 90000; /* about 10 MB: two chunks or more */
    char *text = big_csv(rows, &len);
    CHECK(text && len > (9u << 20));
    sm_dataset ds;
    sm_error err = {0};
    sm_dataset_init(&ds, SM_DATASET_CSV, 0);
    CHECK(sm_dataset_add(&ds, "s3://b/big.csv", text, len, &err) == 0);
    CHECK(ds.rows == rows && ds.cols == 11);
    CHECK(same_as_strtof(&ds, text));
    sm_dataset_clear(&ds);
    /* a bad field far in: the message names its line, as read in order */
    char *bad = strstr(text + len - 2000, "\n") + 1;
    size_t line = 1;
    for (const char *p = text; p < bad; p++)
        line += *p == '\n';
    bad[0] = 'x';
    sm_dataset_init(&ds, SM_DATASET_CSV, 0);
    CHECK(sm_dataset_add(&ds, "s3://b/big.csv", text, len, &err) != 0);
    char want[96];
    snprintf(want, sizeof want, "s3://b/big.csv line %zu, column 1: ", line);
    CHECK(strncmp(err.message, want, strlen(want)) == 0);
    sm_dataset_clear(&ds);
    sm_error_clear(&err);
    free(text);
}

/* ---- hyperparameters ---------------------------------------------------- */

static int hp(const char *json, sm_xgbparams *out, sm_error *err)
{
    json_t *map = json_loads(json, 0, NULL);
    int rc = sm_xgbparams_parse(map, out, err);
    json_decref(map);
    return rc;
}

static const char *param(const sm_xgbparams *p, const char *name, int nth)
{
    for (size_t i = 0; i < p->count; i++)
        if (!strcmp(p->params[i].name, name) && nth-- == 0)
            return p->params[i].value;
    return NULL;
}

TEST(local_xgbparams_checks_as_the_container)
{
    static const struct {
        const char *json, *message;
    } cases[] = {
        {"{\"max_depth\": \"3\"}",
         "Missing required hyperparameter: num_round"},
        {"{\"num_round\": \"3\", \"depth\": \"4\"}",
         "Extraneous hyperparameter found: depth"},
        {"{\"num_round\": \"3\", \"eta\": \"2\"}",
         "Hyperparameter eta: 2.0 is not in [0, 1]"},
        {"{\"num_round\": \"0\"}",
         "Hyperparameter num_round: 0 is not in [1, +inf)"},
        {"{\"num_round\": \"3.5\"}",
         "Hyperparameter num_round: could not parse value (caused by "
         "ValueError)"},
        {"{\"num_round\": \"3\", \"subsample\": \"0\"}",
         "Hyperparameter subsample: 0.0 is not in (0, 1]"},
        {"{\"num_round\": \"3\", \"booster\": \"forest\"}",
         "Hyperparameter booster: forest is not in ['gbtree', 'gblinear', "
         "'dart']"},
        {"{\"num_round\": \"3\", \"objective\": \"multi:softmax\"}",
         "Require input for parameter 'num_class' for multi-classification"},
        {"{\"num_round\": \"3\", \"eval_metric\": \"auc\"}",
         "Metric 'auc' can only be applied for classification and ranking "
         "problems."},
        {"{\"num_round\": \"3\", \"eval_metric\": \"err@x\"}",
         "Metric 'err@x' is not supported. Parameter 'eval_metric' with "
         "customized threshold should be one of these options: 'error', "
         "'ndcg', 'map'."},
        /* gblinear's own: one linear updater; no feature_selector or top_k
         * (the container has neither) */
        {"{\"num_round\": \"3\", \"booster\": \"gblinear\", "
         "\"updater\": \"grow_colmaker\"}",
         "Linear updater should be one of these options: 'shotgun', "
         "'coord_descent'."},
        {"{\"num_round\": \"3\", \"booster\": \"gblinear\", "
         "\"updater\": \"shotgun,coord_descent\"}",
         "Linear updater should be one of these options: 'shotgun', "
         "'coord_descent'."},
        {"{\"num_round\": \"3\", \"booster\": \"gblinear\", "
         "\"feature_selector\": \"greedy\"}",
         "Extraneous hyperparameter found: feature_selector"},
        {"{\"num_round\": \"3\", \"booster\": \"gblinear\", "
         "\"top_k\": \"2\"}",
         "Extraneous hyperparameter found: top_k"},
        {"{\"num_round\": \"3\", \"updater\": \"shotgun\"}",
         "Tree updater should be selected from these options: "
         "'grow_colmaker', 'distcol', 'grow_histmaker', 'grow_skmaker', "
         "'grow_quantile_histmaker', 'sync', 'refresh', 'prune', 'shortgun', "
         "'coord_descent'."},
        {"{\"num_round\": \"3\", \"updater\": "
         "\"grow_colmaker,grow_histmaker\"}",
         "Only one tree grow plugin can be selected. Choose one from "
         "thefollowing: 'grow_colmaker', 'distcol', 'grow_histmaker', "
         "'grow_skmaker'"},
        {"{\"num_round\": \"3\", \"process_type\": \"update\", "
         "\"updater\": \"grow_colmaker\"}",
         "process_type 'update' can only be used with updater 'refresh' and "
         "'prune'"},
        {"{\"num_round\": \"3\", \"updater\": \"grow_quantile_histmaker\"}",
         "Hyperparameter updater: value ['grow_quantile_histmaker'] not in "
         "range ['grow_colmaker', 'distcol', 'grow_histmaker', "
         "'grow_skmaker', 'sync', 'refresh', 'prune', 'grow_colmaker', "
         "'distcol', 'grow_histmaker', 'grow_colmaker', 'shotgun', "
         "'coord_descent', 'refresh', 'prune']"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sm_xgbparams p;
        sm_error err = {0};
        CHECK(hp(cases[i].json, &p, &err) == -1);
        CHECK_STR(err.message, cases[i].message);
        sm_xgbparams_clear(&p);
    }
}

TEST(local_xgbparams_maps_to_xgboost)
{
    sm_xgbparams p;
    sm_error err = {0};
    CHECK(hp("{\"num_round\": \"50\", \"learning_rate\": \"0.2\","
             " \"early_stopping_rounds\": \"5\", \"csv_weights\": \"1\","
             " \"tree_method\": \"gpu_hist\", \"objective\":"
             " \"binary:logistic\", \"eval_metric\": \"auc,error@0.6,f1\","
             " \"_tuning_objective_metric\": \"validation:auc\"}",
             &p, &err) == 0);
    CHECK(p.num_round == 50 && p.early_stopping_rounds == 5 &&
          p.csv_weights == 1);
    CHECK_STR(param(&p, "eta", 0), "0.2");
    CHECK_STR(param(&p, "tree_method", 0), "hist");
    CHECK(strstr(p.notes, "gpu_hist runs as hist"));
    CHECK_STR(param(&p, "eval_metric", 0), "auc");
    CHECK_STR(param(&p, "eval_metric", 1), "error@0.6");
    CHECK(param(&p, "eval_metric", 2) == NULL);
    CHECK(p.custom_count == 1);
    CHECK_STR(p.custom_metrics[0], "f1");
    CHECK(param(&p, "num_round", 0) == NULL);
    CHECK(param(&p, "early_stopping_rounds", 0) == NULL);
    CHECK(param(&p, "_tuning_objective_metric", 0) == NULL);
    CHECK_STR(p.tuning_metric, "validation:auc");
    CHECK_STR(p.objective, "binary:logistic");
    sm_xgbparams_clear(&p);
    /* gblinear with its regularisation and one linear updater */
    CHECK(hp("{\"num_round\": \"5\", \"booster\": \"gblinear\","
             " \"lambda\": \"0.5\", \"reg_alpha\": \"0.1\","
             " \"updater\": \"coord_descent\"}",
             &p, &err) == 0);
    CHECK_STR(param(&p, "booster", 0), "gblinear");
    CHECK_STR(param(&p, "lambda", 0), "0.5");
    CHECK_STR(param(&p, "alpha", 0), "0.1");
    CHECK_STR(param(&p, "updater", 0), "coord_descent");
    sm_xgbparams_clear(&p);
    CHECK(sm_xgbparams_metric_maximized("auc"));
    CHECK(sm_xgbparams_metric_maximized("ndcg@3"));
    CHECK(!sm_xgbparams_metric_maximized("rmse"));
}

/* ---- model.tar.gz ------------------------------------------------------- */

typedef struct memory {
    const unsigned char *data;
    size_t len, pos, step;
} memory;

static ssize_t memory_read(void *ctx, void *buf, size_t len)
{
    memory *m = ctx;
    size_t n = m->len - m->pos;
    n = n < len ? n : len;
    n = n < m->step ? n : m->step;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 22);
    *len = buf ? fread(buf, 1, 1 << 22, f) : 0;
    fclose(f);
    return buf;
}

TEST(local_tarwriter_round_trip)
{
    char dir[] = "/tmp/sm-targz-XXXXXX", src[64], out[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(src, sizeof src, "%s/model", dir);
    snprintf(out, sizeof out, "%s/model.tar.gz", dir);
    FILE *f = fopen(src, "wb");
    CHECK(f != NULL);
    for (int i = 0; i < 70000; i++) /* past one stored block */
        fputc('a' + i % 26, f);
    fclose(f);
    sm_tarwriter_entry entry = {"xgboost-model", src};
    sm_error err = {0};
    CHECK(sm_tarwriter_write(out, &entry, 1, 1700000000, &err) == 0);
    size_t len = 0;
    unsigned char *gz = slurp(out, &len);
    CHECK(gz && len > 70000 && gz[0] == 0x1f && gz[1] == 0x8b);
    CHECK(memcmp(gz + 10 + 5 + 257, "ustar", 5) == 0); /* one stored block */
    memory m = {gz, len, 0, 777};
    char *bytes = NULL;
    size_t n = 0;
    CHECK(sm_targz_extract(memory_read, &m, "xgboost-model", 1 << 20, &bytes,
                           &n, &err) == 0);
    CHECK(n == 70000 && bytes[0] == 'a' && bytes[69999] == 'a' + 69999 % 26);
    free(bytes);
    m.pos = 0;
    CHECK(sm_targz_extract(memory_read, &m, "other", 1 << 20, &bytes, &n,
                           &err) == 1);
    m.pos = 0;
    CHECK(sm_targz_extract(memory_read, &m, "xgboost-model", 100, &bytes, &n,
                           &err) == -1);
    CHECK(strstr(err.message, "larger than 100 bytes"));
    gz[len - 6] ^= 1; /* the CRC no longer matches */
    m.pos = 0;
    sm_error_clear(&err);
    CHECK(sm_targz_extract(memory_read, &m, "nothing", 1 << 20, &bytes, &n,
                           &err) == -1);
    CHECK(strstr(err.message, "CRC"));
    free(gz);
    unlink(src);
    unlink(out);
    rmdir(dir);
}

/* A tar.gz made by Python's tarfile (zlib, dynamic Huffman blocks) with
 * ./xgboost-model ("xgboost model " x 200, then bytes 0-255 x 4) and
 * "other" ("abc"). */
static const unsigned char zlib_fixture[] = {
    0x1f, 0x8b, 0x08, 0x00, 0xf2, 0xda, 0x07, 0x6b, 0x02, 0xff, 0xd3, 0xd3,
    0xaf, 0x48, 0x4f, 0xca, 0xcf, 0x2f, 0x2e, 0xd1, 0xcd, 0xcd, 0x4f, 0x49,
    0xcd, 0x61, 0xa0, 0x05, 0x30, 0x00, 0x02, 0x33, 0x13, 0x13, 0x30, 0x0d,
    0x04, 0xe8, 0xb4, 0xb9, 0xb1, 0x19, 0x9c, 0x0d, 0x11, 0x37, 0x34, 0x30,
    0x35, 0x35, 0x63, 0x50, 0x30, 0x60, 0xa0, 0x03, 0x28, 0x2d, 0x2e, 0x49,
    0x2c, 0x52, 0x50, 0x60, 0x18, 0xa1, 0x00, 0x1a, 0xfb, 0x0a, 0xe0, 0xd8,
    0x57, 0x18, 0xe5, 0x8d, 0xf2, 0x46, 0x79, 0xa3, 0xbc, 0x51, 0xde, 0x28,
    0x6f, 0x94, 0x37, 0xca, 0x1b, 0xe5, 0x8d, 0xf2, 0x86, 0x17, 0x8f, 0x81,
    0x91, 0x89, 0x99, 0x85, 0x95, 0x8d, 0x9d, 0x83, 0x93, 0x8b, 0x9b, 0x87,
    0x97, 0x8f, 0x5f, 0x40, 0x50, 0x48, 0x58, 0x44, 0x54, 0x4c, 0x5c, 0x42,
    0x52, 0x4a, 0x5a, 0x46, 0x56, 0x4e, 0x5e, 0x41, 0x51, 0x49, 0x59, 0x45,
    0x55, 0x4d, 0x5d, 0x43, 0x53, 0x4b, 0x5b, 0x47, 0x57, 0x4f, 0xdf, 0xc0,
    0xd0, 0xc8, 0xd8, 0xc4, 0xd4, 0xcc, 0xdc, 0xc2, 0xd2, 0xca, 0xda, 0xc6,
    0xd6, 0xce, 0xde, 0xc1, 0xd1, 0xc9, 0xd9, 0xc5, 0xd5, 0xcd, 0xdd, 0xc3,
    0xd3, 0xcb, 0xdb, 0xc7, 0xd7, 0xcf, 0x3f, 0x20, 0x30, 0x28, 0x38, 0x24,
    0x34, 0x2c, 0x3c, 0x22, 0x32, 0x2a, 0x3a, 0x26, 0x36, 0x2e, 0x3e, 0x21,
    0x31, 0x29, 0x39, 0x25, 0x35, 0x2d, 0x3d, 0x23, 0x33, 0x2b, 0x3b, 0x27,
    0x37, 0x2f, 0xbf, 0xa0, 0xb0, 0xa8, 0xb8, 0xa4, 0xb4, 0xac, 0xbc, 0xa2,
    0xb2, 0xaa, 0xba, 0xa6, 0xb6, 0xae, 0xbe, 0xa1, 0xb1, 0xa9, 0xb9, 0xa5,
    0xb5, 0xad, 0xbd, 0xa3, 0xb3, 0xab, 0xbb, 0xa7, 0xb7, 0xaf, 0x7f, 0xc2,
    0xc4, 0x49, 0x93, 0xa7, 0x4c, 0x9d, 0x36, 0x7d, 0xc6, 0xcc, 0x59, 0xb3,
    0xe7, 0xcc, 0x9d, 0x37, 0x7f, 0xc1, 0xc2, 0x45, 0x8b, 0x97, 0x2c, 0x5d,
    0xb6, 0x7c, 0xc5, 0xca, 0x55, 0xab, 0xd7, 0xac, 0x5d, 0xb7, 0x7e, 0xc3,
    0xc6, 0x4d, 0x9b, 0xb7, 0x6c, 0xdd, 0xb6, 0x7d, 0xc7, 0xce, 0x5d, 0xbb,
    0xf7, 0xec, 0xdd, 0xb7, 0xff, 0xc0, 0xc1, 0x43, 0x87, 0x8f, 0x1c, 0x3d,
    0x76, 0xfc, 0xc4, 0xc9, 0x53, 0xa7, 0xcf, 0x9c, 0x3d, 0x77, 0xfe, 0xc2,
    0xc5, 0x4b, 0x97, 0xaf, 0x5c, 0xbd, 0x76, 0xfd, 0xc6, 0xcd, 0x5b, 0xb7,
    0xef, 0xdc, 0xbd, 0x77, 0xff, 0xc1, 0xc3, 0x47, 0x8f, 0x9f, 0x3c, 0x7d,
    0xf6, 0xfc, 0xc5, 0xcb, 0x57, 0xaf, 0xdf, 0xbc, 0x7d, 0xf7, 0xfe, 0xc3,
    0xc7, 0x4f, 0x9f, 0xbf, 0x7c, 0xfd, 0xf6, 0xfd, 0xc7, 0xcf, 0x5f, 0xbf,
    0xff, 0xfc, 0xfd, 0xf7, 0x7f, 0xd4, 0xff, 0xa3, 0xfe, 0x1f, 0xd1, 0xfe,
    0x1f, 0x05, 0x28, 0x20, 0xbf, 0x24, 0x23, 0xb5, 0x88, 0xc6, 0x76, 0x10,
    0x18, 0xff, 0x01, 0x02, 0x63, 0xd4, 0xf1, 0x1f, 0x03, 0x33, 0x73, 0x13,
    0xa3, 0xd1, 0xf1, 0x1f, 0x7a, 0x00, 0x60, 0x76, 0x1d, 0xcd, 0x04, 0xa3,
    0x60, 0x14, 0x8c, 0x82, 0x51, 0x30, 0x0a, 0x46, 0xc1, 0x28, 0x18, 0x05,
    0xa3, 0x60, 0x14, 0x8c, 0x82, 0x51, 0x30, 0x0a, 0x46, 0xc1, 0x28, 0x18,
    0x05, 0xa3, 0x60, 0x14, 0x0c, 0x53, 0x00, 0x00, 0xe6, 0xe4, 0x15, 0x05,
    0x00, 0x28, 0x00, 0x00,
};

TEST(local_targz_reads_compressed)
{
    memory m = {zlib_fixture, sizeof zlib_fixture, 0, 5};
    char *bytes = NULL;
    size_t n = 0;
    sm_error err = {0};
    CHECK(sm_targz_extract(memory_read, &m, "xgboost-model", 1 << 20, &bytes,
                           &n, &err) == 0);
    CHECK(n == 14 * 200 + 1024);
    CHECK(memcmp(bytes, "xgboost model xgboost model ", 28) == 0);
    CHECK((unsigned char)bytes[n - 1] == 255 && bytes[14 * 200] == 0);
    free(bytes);
    m.pos = 0;
    CHECK(sm_targz_extract(memory_read, &m, "other", 16, &bytes, &n, &err) ==
          0);
    CHECK_STR(bytes, "abc");
    free(bytes);
}

/* ---- CloudWatch Logs ---------------------------------------------------- */

typedef struct logs_fixture {
    char dir[32];
    sm_db *db;
} logs_fixture;

static int logs_open(logs_fixture *f)
{
    char path[64];
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-logs-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/state.db", f->dir);
    sm_error err = {0};
    f->db = sm_db_open(path, &err);
    if (!f->db || sm_logstore_init(f->db, &err))
        return -1;
    char text[10][16];
    sm_logstore_input events[10];
    for (int i = 0; i < 10; i++) {
        snprintf(text[i], sizeof text[i], "line %d%s", i, i % 3 ? "" : " x");
        events[i] = (sm_logstore_input){1000 + i / 2, text[i]};
    }
    return sm_logstore_put(f->db, "g", "s", events, 10, 5000, &err);
}

static void logs_close(logs_fixture *f)
{
    char path[64];
    sm_db_close(&f->db);
    snprintf(path, sizeof path, "%s/state.db", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/state.db-wal", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/state.db-shm", f->dir);
    unlink(path);
    rmdir(f->dir);
}

TEST(local_logstore_paging_rule)
{
    logs_fixture f;
    CHECK(logs_open(&f) == 0);
    char token[64] = "";
    int seen = 0, pages = 0;
    sm_error err = {0};
    for (; pages < 20; pages++) {
        sm_logstore_get q = {"g", "s", -1, -1, token[0] ? token : NULL, 1, 3};
        sm_logstore_events page;
        CHECK(sm_logstore_get_events(f.db, &q, &page, &err) == SM_LOGSTORE_OK);
        for (size_t i = 0; i < page.count; i++) {
            char want[16];
            snprintf(want, sizeof want, "line %d", seen++);
            CHECK(strncmp(page.items[i].message, want, strlen(want)) == 0);
        }
        int end = token[0] && !strcmp(page.next_forward, token);
        snprintf(token, sizeof token, "%s", page.next_forward);
        sm_logstore_events_clear(&page);
        if (end)
            break;
    }
    CHECK(seen == 10 && pages == 4); /* 3, 3, 3, 1, then the same token */
    /* From the tail: the newest, oldest first; then backward. */
    sm_logstore_get q = {"g", "s", -1, -1, NULL, 0, 4};
    sm_logstore_events page;
    CHECK(sm_logstore_get_events(f.db, &q, &page, &err) == SM_LOGSTORE_OK);
    CHECK(page.count == 4);
    CHECK(strncmp(page.items[0].message, "line 6", 6) == 0);
    char back[64];
    snprintf(back, sizeof back, "%s", page.next_backward);
    sm_logstore_events_clear(&page);
    q.token = back;
    CHECK(sm_logstore_get_events(f.db, &q, &page, &err) == SM_LOGSTORE_OK);
    CHECK(page.count == 4 && strncmp(page.items[3].message, "line 5", 6) == 0);
    sm_logstore_events_clear(&page);
    /* Time window: [1001, 1003) holds events 2 to 5. */
    sm_logstore_get w = {"g", "s", 1001, 1003, NULL, 1, 100};
    CHECK(sm_logstore_get_events(f.db, &w, &page, &err) == SM_LOGSTORE_OK);
    CHECK(page.count == 4);
    sm_logstore_events_clear(&page);
    sm_logstore_get missing = {"g", "nope", -1, -1, NULL, 1, 10};
    CHECK(sm_logstore_get_events(f.db, &missing, &page, &err) ==
          SM_LOGSTORE_NO_STREAM);
    missing.token = "f/garbage";
    missing.stream = "s";
    CHECK(sm_logstore_get_events(f.db, &missing, &page, &err) ==
          SM_LOGSTORE_BAD_TOKEN);
    logs_close(&f);
}

TEST(local_logstore_filter)
{
    logs_fixture f;
    CHECK(logs_open(&f) == 0);
    sm_error err = {0};
    sm_logstore_filter q = {.group = "g",
                            .start_time = -1,
                            .end_time = -1,
                            .pattern = "x",
                            .limit = 2};
    sm_logstore_events page;
    int found = 0;
    char token[64] = "";
    for (int i = 0; i < 10; i++) {
        q.token = token[0] ? token : NULL;
        CHECK(sm_logstore_filter_events(f.db, &q, &page, &err) ==
              SM_LOGSTORE_OK);
        found += (int)page.count;
        snprintf(token, sizeof token, "%s", page.next_forward);
        CHECK(page.searched_count == 1);
        sm_logstore_events_clear(&page);
        if (!token[0])
            break;
    }
    CHECK(found == 4); /* lines 0, 3, 6, 9 */
    CHECK(sm_logstore_pattern_match("\"line 3\" x", "line 3 x"));
    CHECK(!sm_logstore_pattern_match("\"line 3 y\"", "line 3 x"));
    CHECK(sm_logstore_pattern_match("line x", "line 9 x"));
    CHECK(sm_logstore_pattern_match(NULL, "anything"));
    logs_close(&f);
}
