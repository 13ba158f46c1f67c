/* test_local_forest: the trees walked in C against XGBoost's own
 * predictions, compared as the exact text an endpoint answers with. Many
 * boosters are trained here with fixed seeds (objectives, depths, missing
 * values in training and in the rows, forests of parallel trees, several
 * classes); each predicts thousands of rows once as one large batch
 * (XGBoost's in-place prediction) and again in small batches (the walk),
 * as CSV and as sparse LIBSVM rows. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "buf.h"
#include "forest.h"
#include "predict.h"
#include "test.h"

enum { TRAIN_ROWS = 800, FEATURES = 7, TEST_ROWS = 1500 };

typedef struct model_case {
    const char *objective;
    const char *params[6][2];
    int rounds;
    const char *format; /* how the model reaches the service */
    int walks;          /* expected: the walk serves small batches */
} model_case;

static const model_case CASES[] = {
    {"reg:squarederror", {{"max_depth", "6"}}, 30, "deprecated", 1},
    {"reg:squarederror", {{"max_depth", "1"}}, 12, "json", 1},
    {"reg:squarederror",
     {{"max_depth", "10"}, {"tree_method", "exact"}, {"eta", "0.5"}},
     15,
     "ubj",
     1},
    {"reg:squarederror",
     {{"max_depth", "3"},
      {"num_parallel_tree", "3"},
      {"subsample", "0.7"},
      {"colsample_bynode", "0.6"}},
     8,
     "json",
     1},
    {"reg:squarederror",
     {{"tree_method", "hist"},
      {"grow_policy", "lossguide"},
      {"max_leaves", "20"},
      {"max_depth", "0"}},
     10,
     "json",
     1},
    {"binary:logistic",
     {{"max_depth", "4"}, {"base_score", "0.3"}},
     25,
     "deprecated",
     1},
    {"reg:logistic", {{"max_depth", "3"}}, 10, "json", 1},
    {"binary:logitraw", {{"max_depth", "5"}}, 10, "json", 1},
    {"binary:hinge", {{"max_depth", "4"}}, 10, "json", 1},
    {"count:poisson", {{"max_depth", "4"}}, 20, "json", 1},
    {"reg:gamma", {{"max_depth", "4"}}, 20, "ubj", 1},
    {"reg:tweedie",
     {{"max_depth", "4"}, {"tweedie_variance_power", "1.3"}},
     20,
     "json",
     1},
    {"reg:pseudohubererror", {{"max_depth", "5"}}, 10, "json", 1},
    {"reg:absoluteerror", {{"max_depth", "5"}}, 10, "json", 1},
    {"reg:squaredlogerror", {{"max_depth", "4"}}, 10, "json", 1},
    {"survival:cox", {{"max_depth", "3"}}, 10, "json", 1},
    {"rank:pairwise", {{"max_depth", "4"}}, 10, "json", 1},
    {"multi:softprob",
     {{"max_depth", "4"}, {"num_class", "4"}},
     12,
     "deprecated",
     1},
    {"multi:softmax", {{"max_depth", "5"}, {"num_class", "3"}}, 12, "json", 1},
    /* dart and gblinear are not walked: they predict through a DMatrix,
     * which refuses these rows' infinities (test_local_predict.c) */
};

/* ---- data --------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static double rng_normal(uint64_t *s)
{
    double sum = 0;
    for (int i = 0; i < 6; i++)
        sum += rng_unit(s);
    return (sum - 3.0) * 1.4;
}

/* Features with a tenth missing; values on a grid of 0.01, so repeats. */
static void make_features(uint64_t *s, float *x, size_t rows)
{
    for (size_t i = 0; i < rows * FEATURES; i++)
        x[i] =
            rng_unit(s) < 0.1 ? NAN : (float)(round(rng_normal(s) * 100) / 100);
}

/* A label the objective takes, from a smooth function of the row. */
static float make_label(const char *objective, const float *row, uint64_t *s)
{
    float a = isnan(row[0]) ? 0.5f : row[0], b = isnan(row[1]) ? 0 : row[1];
    float c = isnan(row[2]) ? -1 : row[2], d = isnan(row[3]) ? 0 : row[3];
    double y = 2 * a - b + 0.5 * c * d + rng_normal(s) * 0.2;
    if (strstr(objective, "binary") || !strcmp(objective, "reg:logistic"))
        return y > 0.3;
    if (!strcmp(objective, "count:poisson"))
        return (float)floor(exp(y / 3) * 2);
    if (!strcmp(objective, "survival:cox"))
        return (float)(exp(y / 3) * (rng_unit(s) < 0.2 ? -1 : 1));
    if (!strcmp(objective, "reg:gamma") || !strcmp(objective, "reg:tweedie") ||
        !strcmp(objective, "reg:squaredlogerror"))
        return (float)(exp(y / 3) + 0.01);
    if (!strncmp(objective, "multi:", 6) || !strncmp(objective, "rank:", 5))
        return (float)(y < -1    ? 0
                       : y < 0.5 ? 1
                       : y < 2   ? 2
                                 : 3) -
               (strstr(objective, "softmax") && y >= 2 ? 1 : 0);
    return (float)y;
}

static BoosterHandle train(const model_case *c, uint64_t seed)
{
    static float X[TRAIN_ROWS * FEATURES], y[TRAIN_ROWS];
    uint64_t s = seed;
    make_features(&s, X, TRAIN_ROWS);
    for (size_t i = 0; i < TRAIN_ROWS; i++)
        y[i] = make_label(c->objective, X + i * FEATURES, &s);
    DMatrixHandle d;
    BoosterHandle b;
    XGDMatrixCreateFromMat(X, TRAIN_ROWS, FEATURES, NAN, &d);
    XGDMatrixSetFloatInfo(d, "label", y, TRAIN_ROWS);
    if (!strncmp(c->objective, "rank:", 5)) {
        unsigned groups[TRAIN_ROWS / 40];
        for (size_t g = 0; g < TRAIN_ROWS / 40; g++)
            groups[g] = 40;
        XGDMatrixSetUIntInfo(d, "group", groups, TRAIN_ROWS / 40);
    }
    XGBoosterCreate(&d, 1, &b);
    XGBoosterSetParam(b, "objective", c->objective);
    XGBoosterSetParam(b, "nthread", "1");
    XGBoosterSetParam(b, "seed", "3");
    for (int i = 0; i < 6 && c->params[i][0]; i++)
        XGBoosterSetParam(b, c->params[i][0], c->params[i][1]);
    int failed = 0;
    for (int i = 0; i < c->rounds && !failed; i++)
        failed = XGBoosterUpdateOneIter(b, i, d);
    if (failed) {
        printf("    %s: %s\n", c->objective, XGBGetLastError());
        XGBoosterFree(b);
        b = NULL;
    }
    XGDMatrixFree(d);
    return b;
}

/* The model as the service loads it, from the bytes of `format`. */
static sm_predict_model *serve(BoosterHandle b, const char *format)
{
    char config[64];
    snprintf(config, sizeof config, "{\"format\":\"%s\"}", format);
    bst_ulong n = 0;
    const char *bytes = NULL;
    if (XGBoosterSaveModelToBuffer(b, config, &n, &bytes))
        return NULL;
    sm_error err = {0};
    sm_predict_model *m = sm_predict_model_load(bytes, (size_t)n, 1, &err);
    if (!m)
        printf("    %s\n", err.message);
    return m;
}

/* Test rows: a tenth missing, a third on or beside the model's own
 * thresholds (from the walk's probe rows), the rest anywhere, a few
 * infinities and rows of nothing but missing values. */
static void make_rows(const char *json, size_t len, uint64_t seed, float *x)
{
    uint64_t s = seed;
    make_features(&s, x, TEST_ROWS);
    sm_error err = {0};
    sm_forest *f = sm_forest_new(json, len, 0, &err);
    float *probe = malloc(TEST_ROWS * FEATURES * sizeof *probe);
    if (f && probe && sm_forest_features(f) == FEATURES) {
        sm_forest_probe_rows(f, seed, TEST_ROWS, probe);
        for (size_t i = 0; i < TEST_ROWS * FEATURES; i++) {
            if (rng_unit(&s) < 0.33)
                x[i] = probe[i];
        }
    }
    /* the largest values a request may hold (infinities are refused) */
    for (size_t i = 0; i < 40; i++)
        x[(rng_next(&s) % TEST_ROWS) * FEATURES + i % FEATURES] =
            i % 2 ? FLT_MAX : -FLT_MAX;
    for (size_t i = 0; i < 5; i++) {
        size_t r = rng_next(&s) % TEST_ROWS;
        for (size_t j = 0; j < FEATURES; j++)
            x[r * FEATURES + j] = NAN;
    }
    free(probe);
    sm_forest_destroy(&f);
}

/* ---- bodies ------------------------------------------------------------- */

static void put_number(sm_buf *b, float v)
{
    if (isinf(v))
        sm_buf_puts(b, v < 0 ? "-inf" : "inf");
    else
        sm_buf_printf(b, "%.9g", (double)v);
}

/* Rows [from, to) of `cols` columns as CSV; missing values empty. */
static void csv_body(const float *x, size_t from, size_t to, size_t cols,
                     sm_buf *b)
{
    for (size_t i = from; i < to; i++) {
        for (size_t j = 0; j < cols; j++) {
            if (j)
                sm_buf_putc(b, ',');
            if (!isnan(x[i * FEATURES + j]))
                put_number(b, x[i * FEATURES + j]);
        }
        sm_buf_putc(b, '\n');
    }
}

/* The same as LIBSVM: a label, then 1-based index:value of the values
 * present (and now and then an explicit nan, which is missing too). */
static void libsvm_body(const float *x, size_t from, size_t to, sm_buf *b)
{
    for (size_t i = from; i < to; i++) {
        sm_buf_puts(b, "0");
        for (size_t j = 0; j < FEATURES; j++) {
            float v = x[i * FEATURES + j];
            if (isnan(v) && (i + j) % 5)
                continue;
            sm_buf_printf(b, " %zu:", j + 1);
            if (isnan(v))
                sm_buf_puts(b, "nan");
            else
                put_number(b, v);
        }
        sm_buf_putc(b, '\n');
    }
}

/* The answer's text for `body`, appended to `out`; -1 unless a 200. */
static int answer(const sm_predict_model *m, const char *type, const sm_buf *b,
                  sm_buf *out)
{
    sm_predict_request req = {type, "text/csv", b->data, b->len,
                              SM_PREDICT_REALTIME};
    sm_predict_answer a;
    if (sm_predict_invoke(m, &req, &a))
        return -1;
    int rc = a.status == 200 ? sm_buf_append(out, a.body.data, a.body.len) : -1;
    if (a.status != 200)
        printf("    %d %s\n", a.status, sm_buf_str(&a.body));
    sm_predict_answer_clear(&a);
    return rc;
}

typedef void (*body_fn)(const float *x, size_t from, size_t to, size_t cols,
                        sm_buf *b);

static void libsvm_rows(const float *x, size_t from, size_t to, size_t cols,
                        sm_buf *b)
{
    libsvm_body(x, from, to, b);
}

/* All rows in one batch (more than the walk takes: XGBoost) against the
 * same rows in batches of 1 to SM_PREDICT_WALK_ROWS (the walk). */
static int same_either_way(const sm_predict_model *m, const float *x,
                           size_t cols, const char *type, body_fn make)
{
    sm_buf body = {0}, whole = {0}, parts = {0};
    make(x, 0, TEST_ROWS, cols, &body);
    int rc = answer(m, type, &body, &whole);
    size_t step = 1;
    for (size_t at = 0; !rc && at < TEST_ROWS; at += step) {
        step = at % SM_PREDICT_WALK_ROWS + 1;
        size_t to = at + step < TEST_ROWS ? at + step : TEST_ROWS;
        body.len = 0;
        make(x, at, to, cols, &body);
        rc = answer(m, type, &body, &parts);
    }
    if (!rc && strcmp(sm_buf_str(&whole), sm_buf_str(&parts)) != 0) {
        size_t i = 0;
        while (whole.data[i] == parts.data[i])
            i++;
        printf("    %s differs at byte %zu: %.40s | %.40s\n", type, i,
               whole.data + i, parts.data + i);
        rc = -1;
    }
    sm_buf_free(&body);
    sm_buf_free(&whole);
    sm_buf_free(&parts);
    return rc;
}

TEST(forest_walk_matches_xgboost_bit_for_bit)
{
    static float x[TEST_ROWS * FEATURES];
    for (size_t k = 0; k < sizeof CASES / sizeof *CASES; k++) {
        const model_case *c = &CASES[k];
        BoosterHandle b = train(c, 0x1234567ull + k);
        CHECK(b != NULL);
        bst_ulong n = 0;
        const char *json = NULL;
        XGBoosterSaveModelToBuffer(b, "{\"format\":\"json\"}", &n, &json);
        make_rows(json, (size_t)n, 0xabcdefull + k, x);
        sm_predict_model *m = serve(b, c->format);
        CHECK(m != NULL);
        if (sm_predict_model_walks(m) != c->walks)
            printf("    case %zu (%s): walks %d\n", k, c->objective,
                   (int)sm_predict_model_walks(m));
        CHECK(sm_predict_model_walks(m) == c->walks);
        int rc = same_either_way(m, x, FEATURES, "text/csv", csv_body);
        if (!rc) /* fewer columns than features: the rest are missing */
            rc = same_either_way(m, x, FEATURES - 2, "text/csv", csv_body);
        if (!rc)
            rc = same_either_way(m, x, FEATURES, "text/libsvm", libsvm_rows);
        if (rc)
            printf("    case %zu (%s) differs\n", k, c->objective);
        sm_predict_model_destroy(&m);
        XGBoosterFree(b);
        CHECK(rc == 0);
    }
}

/* Against XGBoost's DMatrix prediction too (the container's own call):
 * the walk's text equals Python's repr of each of XGBoost's floats. */
TEST(forest_walk_matches_dmatrix_predictions)
{
    static float x[TEST_ROWS * FEATURES];
    const model_case *c = &CASES[17]; /* multi:softprob */
    BoosterHandle b = train(c, 77);
    CHECK(b != NULL);
    bst_ulong n = 0;
    const char *json = NULL;
    XGBoosterSaveModelToBuffer(b, "{\"format\":\"json\"}", &n, &json);
    make_rows(json, (size_t)n, 99, x);
    sm_predict_model *m = serve(b, "json");
    CHECK(m != NULL && sm_predict_model_walks(m));
    DMatrixHandle d;
    XGDMatrixCreateFromMat(x, TEST_ROWS, FEATURES, NAN, &d);
    bst_ulong len = 0;
    const float *p = NULL;
    XGBoosterPredict(b, d, 0, 0, 0, &len, &p);
    CHECK(len == TEST_ROWS * 4);
    sm_buf want = {0}, got = {0}, body = {0};
    char v[32];
    for (size_t i = 0; i < len; i++) {
        sm_predict_format_double((double)p[i], v);
        sm_buf_printf(&want, "%s%c", v, i % 4 == 3 ? '\n' : ',');
    }
    int rc = 0;
    for (size_t at = 0; !rc && at < TEST_ROWS; at += SM_PREDICT_WALK_ROWS) {
        size_t to = at + SM_PREDICT_WALK_ROWS;
        body.len = 0;
        csv_body(x, at, to < TEST_ROWS ? to : TEST_ROWS, FEATURES, &body);
        rc = answer(m, "text/csv", &body, &got);
    }
    CHECK(rc == 0);
    CHECK_STR(sm_buf_str(&got), sm_buf_str(&want));
    sm_buf_free(&want);
    sm_buf_free(&got);
    sm_buf_free(&body);
    XGDMatrixFree(d);
    sm_predict_model_destroy(&m);
    XGBoosterFree(b);
}

/* What the walk refuses, it says; the model still serves through XGBoost. */
TEST(forest_refuses_what_it_would_not_reproduce)
{
    sm_error err = {0};
    CHECK(sm_forest_new("{", 1, 0, &err) == NULL);
    CHECK(strstr(err.message, "cannot be read") != NULL);
    const char *aft =
        "{\"learner\":{\"objective\":{\"name\":\"survival:aft\"},"
        "\"learner_model_param\":{\"num_feature\":\"2\",\"num_class\":\"0\"},"
        "\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{\"trees\":[],"
        "\"tree_info\":[]}}}}";
    err = (sm_error){0};
    CHECK(sm_forest_new(aft, strlen(aft), 0, &err) == NULL);
    CHECK_STR(err.message, "objective survival:aft is predicted by XGBoost");
    /* a node pointing back at the root is not a tree */
    const char *loop =
        "{\"learner\":{\"objective\":{\"name\":\"reg:squarederror\"},"
        "\"learner_model_param\":{\"num_feature\":\"2\",\"num_class\":\"0\"},"
        "\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{\"trees\":[{"
        "\"tree_param\":{\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"},"
        "\"left_children\":[1,0,-1],\"right_children\":[2,2,-1],"
        "\"split_indices\":[0,1,0],\"split_conditions\":[0.5,1.5,2.0],"
        "\"default_left\":[1,0,0],\"split_type\":[0,0,0]}],"
        "\"tree_info\":[0]}}}}";
    err = (sm_error){0};
    CHECK(sm_forest_new(loop, strlen(loop), 0, &err) == NULL);
    CHECK_STR(err.message, "a tree's nodes do not form a tree");
    /* a threshold exactly between two floats cannot be read back */
    char tie[1024];
    snprintf(tie, sizeof tie,
             "{\"learner\":{\"objective\":{\"name\":\"reg:squarederror\"},"
             "\"learner_model_param\":{\"num_feature\":\"2\",\"num_class\":"
             "\"0\"},\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{"
             "\"trees\":[{\"tree_param\":{\"num_nodes\":\"3\"},"
             "\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"
             "\"split_indices\":[0,0,0],\"split_conditions\":[%.17g,1,2],"
             "\"default_left\":[1,0,0]}],\"tree_info\":[0]}}}}",
             1.0 + 0x1.0p-24);
    err = (sm_error){0};
    CHECK(sm_forest_new(tie, strlen(tie), 0, &err) == NULL);
    CHECK_STR(err.message, "a threshold or leaf is not a plain float");
}

/* A stump by hand: the branch rules and the sum, with known numbers. */
TEST(forest_walks_a_tree_by_the_rules)
{
    const char *json =
        "{\"learner\":{\"objective\":{\"name\":\"reg:squarederror\"},"
        "\"learner_model_param\":{\"num_feature\":\"2\",\"num_class\":\"0\"},"
        "\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{\"trees\":[{"
        "\"tree_param\":{\"num_nodes\":\"3\"},"
        "\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"
        "\"split_indices\":[1,0,0],\"split_conditions\":[5E-1,1E0,2E0],"
        "\"default_left\":[0,0,0]},{"
        "\"tree_param\":{\"num_nodes\":\"1\"},\"left_children\":[-1],"
        "\"right_children\":[-1],\"split_indices\":[0],"
        "\"split_conditions\":[2.5E-1],\"default_left\":[0]}],"
        "\"tree_info\":[0,0]}}}}";
    sm_error err = {0};
    sm_forest *f = sm_forest_new(json, strlen(json), 0.5f, &err);
    CHECK(f != NULL);
    const float rows[] = {9, 0.25f, 9, 0.5f, 9, NAN, 9, INFINITY};
    float out[4];
    CHECK(sm_forest_predict_dense(f, rows, 4, 2, out) == 0);
    CHECK(out[0] == 1.75f); /* 0.25 < 0.5: left, 0.5 + 1 + 0.25 */
    CHECK(out[1] == 2.75f); /* equal to the threshold: right */
    CHECK(out[2] == 2.75f); /* missing, default right */
    CHECK(out[3] == 2.75f);
    CHECK(sm_forest_predict_dense(f, rows, 1, 1, out) == 0);
    CHECK(out[0] == 2.75f); /* the second column absent: missing */
    const uint64_t indptr[] = {0, 1, 1};
    const uint32_t indices[] = {1};
    const float data[] = {-3};
    CHECK(sm_forest_predict_csr(f, indptr, indices, data, 2, out) == 0);
    CHECK(out[0] == 1.75f && out[1] == 2.75f);
    sm_forest_destroy(&f);
}
