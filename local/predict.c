/* predict: what sagemaker_xgboost_container's serve.py and serve_utils.py
 * do per request, step for step: parse by Content-Type (415), predict
 * (400), check Accept (406), encode. Prediction is XGBoost's in-place
 * predict on one booster, which is thread-safe for gbtree and dart since
 * 1.4 (its output buffer is per thread). Other boosters predict through a
 * DMatrix per request, as the container does: 1.7 refuses gblinear in
 * place, and sums dart's trees in place in another order, a few ulps away
 * from the container's predictions. */
#include "predict.h"

#include <ctype.h>
#include <dlfcn.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#include "decimal.h"
#include "forest.h"
#include "log.h"
#include "recordio.h"

#define MEDIA_MAX 64
#define PROBE_ROWS 256
#define PROBE_VALUES (4u << 20) /* fewer rows for very wide models */
#define PROBE_SEED 0x5eed0f7e57ull

struct sm_predict_model {
    BoosterHandle booster;
    sm_forest *forest; /* NULL: XGBoost predicts every batch */
    int nthread;       /* as loaded: 1 serves one request per thread */
    bool inplace;      /* gbtree; others go through a DMatrix */
    char objective[64];
    size_t features;
    size_t outputs;
};

/* ---- per thread --------------------------------------------------------- */

/* Without a proxy DMatrix of the caller's, every in-place prediction makes
 * one, and with it a context that reads the cgroup CPU quota files; and
 * the OpenMP regions that name no thread count wake a team of the default
 * size. A proxy per thread, and a default team of the model's thread
 * count, take a one-row prediction of a 100-tree model from about 48 us
 * to 6 us on the benchmark machine. */
static pthread_key_t proxy_key;
static pthread_once_t proxy_once = PTHREAD_ONCE_INIT;
static void (*omp_threads_set)(int);

static void proxy_free(void *proxy)
{
    XGDMatrixFree(proxy);
}

static void proxy_key_make(void)
{
    if (pthread_key_create(&proxy_key, proxy_free))
        proxy_key = (pthread_key_t)-1;
    /* libgomp comes with libxgboost; found, not linked */
    *(void **)&omp_threads_set = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
}

/* The default OpenMP team of this thread: `nthread`. */
static void thread_team(int nthread)
{
    pthread_once(&proxy_once, proxy_key_make);
    if (omp_threads_set) /* 0: every core, as OpenMP's own default */
        omp_threads_set(nthread > 0 ? nthread
                                    : (int)sysconf(_SC_NPROCESSORS_ONLN));
}

/* This thread's proxy, or NULL (XGBoost then makes its own). */
static DMatrixHandle thread_proxy(int nthread)
{
    thread_team(nthread);
    if (proxy_key == (pthread_key_t)-1)
        return NULL;
    DMatrixHandle proxy = pthread_getspecific(proxy_key);
    if (!proxy && XGProxyDMatrixCreate(&proxy) == 0 &&
        pthread_setspecific(proxy_key, proxy)) {
        XGDMatrixFree(proxy);
        proxy = NULL;
    }
    return proxy;
}

/* ---- loading ------------------------------------------------------------ */

static int xgb_fail(sm_error *err, const char *what)
{
    return sm_error_set(err, "%s: %s", what, XGBGetLastError());
}

/* Objective, feature count and kind of booster from the booster's own
 * configuration. */
static int model_read_config(sm_predict_model *m, sm_error *err)
{
    bst_ulong len = 0;
    const char *text = NULL;
    bst_ulong features = 0;
    if (XGBoosterSaveJsonConfig(m->booster, &len, &text) ||
        XGBoosterGetNumFeature(m->booster, &features))
        return xgb_fail(err, "cannot read the model's configuration");
    m->features = (size_t)features;
    json_t *config = json_loadb(text, (size_t)len, 0, NULL);
    const char *objective = NULL, *booster = NULL;
    json_unpack(config, "{s:{s:{s:s}}}", "learner", "objective", "name",
                &objective);
    json_unpack(config, "{s:{s:{s:s}}}", "learner", "gradient_booster", "name",
                &booster);
    snprintf(m->objective, sizeof m->objective, "%s",
             objective ? objective : "unknown");
    m->inplace = booster && !strcmp(booster, "gbtree");
    if (!m->inplace)
        sm_info("predict: a %s booster predicts through a DMatrix",
                booster ? booster : "unnamed");
    json_decref(config);
    return 0;
}

/* numpy's __array_interface__ for `n` (x `cols`, when not 0) values of
 * `type` at `p`, as XGBoost's in-place prediction reads it. */
static void array_interface(char *out, size_t cap, const void *p, size_t n,
                            size_t cols, const char *type)
{
    char shape[64];
    if (cols)
        snprintf(shape, sizeof shape, "%zu,%zu", n, cols);
    else
        snprintf(shape, sizeof shape, "%zu", n);
    snprintf(out, cap,
             "{\"data\":[%llu,true],\"shape\":[%s],\"typestr\":\"%s\","
             "\"version\":3}",
             (unsigned long long)(uintptr_t)p, shape, type);
}

/* Values per row of an output of `dim` dimensions. */
static size_t shape_width(const bst_ulong *shape, bst_ulong dim)
{
    size_t w = 1;
    for (bst_ulong i = 1; i < dim; i++)
        w *= (size_t)shape[i];
    return w;
}

/* What in-place prediction is asked for: the values of every tree, or
 * the margin over no trees at all (iterations [1, 1)), which is the
 * booster's base score as a margin. */
static const char PREDICT_VALUES[] =
    "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
    "\"iteration_end\":0,\"strict_shape\":true,\"missing\":NaN,"
    "\"cache_id\":0}";
static const char PREDICT_BASE_MARGIN[] =
    "{\"type\":1,\"training\":false,\"iteration_begin\":1,"
    "\"iteration_end\":1,\"strict_shape\":true,\"missing\":NaN,"
    "\"cache_id\":0}";

/* Prediction of the DMatrix `d` that `made` says was made (0), which it
 * frees: as xgb_predict_dense. The output is the booster's, per thread,
 * not the DMatrix's. */
static const float *xgb_predict_dmatrix(const sm_predict_model *m, int made,
                                        DMatrixHandle d, const char *config,
                                        size_t *width)
{
    if (made)
        return NULL;
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *result = NULL;
    int rc = XGBoosterPredictFromDMatrix(m->booster, d, config, &shape, &dim,
                                         &result);
    XGDMatrixFree(d);
    if (rc)
        return NULL;
    *width = shape_width(shape, dim);
    return result;
}

/* How a DMatrix is made from array interfaces: NAN is missing. */
static void dmatrix_config(const sm_predict_model *m, char out[64])
{
    thread_team(m->nthread);
    snprintf(out, 64, "{\"missing\":NaN,\"nthread\":%d}", m->nthread);
}

/* XGBoost's prediction of `rows` x `cols` dense values, in place or
 * through a DMatrix: its per-thread output (borrowed until this thread's
 * next prediction) and the values per row, or NULL. */
static const float *xgb_predict_dense(const sm_predict_model *m,
                                      const float *values, size_t rows,
                                      size_t cols, const char *config,
                                      size_t *width)
{
    char array[192];
    array_interface(array, sizeof array, values, rows, cols, "<f4");
    if (!m->inplace) {
        char how[64];
        DMatrixHandle d = NULL;
        dmatrix_config(m, how);
        int made = XGDMatrixCreateFromDense(array, how, &d);
        return xgb_predict_dmatrix(m, made, d, config, width);
    }
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *result = NULL;
    if (XGBoosterPredictFromDense(m->booster, array, config,
                                  thread_proxy(m->nthread), &shape, &dim,
                                  &result))
        return NULL;
    *width = shape_width(shape, dim);
    return result;
}

/* A row of `cols` missing values, new. */
static float *row_of_nan(size_t cols)
{
    float *row = malloc((cols ? cols : 1) * sizeof *row);
    for (size_t i = 0; row && i < cols; i++)
        row[i] = NAN;
    return row;
}

/* One prediction of a row of missing values: sets up the booster before
 * the first request (configuration happens once, under XGBoost's lock)
 * and says how many values each prediction has. */
static int model_warm_up(sm_predict_model *m, sm_error *err)
{
    size_t cols = m->features ? m->features : 1;
    float *row = row_of_nan(cols);
    if (!row)
        return sm_error_set(err, "out of memory");
    const float *result =
        xgb_predict_dense(m, row, 1, cols, PREDICT_VALUES, &m->outputs);
    free(row);
    return result ? 0 : xgb_fail(err, "the model cannot predict");
}

/* The walk against XGBoost on probe rows that take every kind of branch
 * (thresholds, a float either side, missing values): equal bit for bit,
 * or the forest is not used. 0 when equal. */
static int forest_check(const sm_predict_model *m, const sm_forest *f,
                        sm_error *err)
{
    size_t probes = PROBE_VALUES / m->features;
    probes = probes < 1 ? 1 : probes > PROBE_ROWS ? PROBE_ROWS : probes;
    size_t n = probes * m->features, outs = probes * m->outputs;
    float *rows = malloc(n * sizeof *rows);
    float *mine = malloc(outs * sizeof *mine);
    int rc = rows && mine ? 0 : sm_error_set(err, "out of memory");
    if (!rc) {
        sm_forest_probe_rows(f, PROBE_SEED, probes, rows);
        rc = sm_forest_predict_dense(f, rows, probes, m->features, mine);
    }
    size_t width = 0;
    const float *theirs = rc ? NULL
                             : xgb_predict_dense(m, rows, probes, m->features,
                                                 PREDICT_VALUES, &width);
    if (!rc && !theirs)
        rc = sm_error_set(err, "XGBoost cannot predict the probe rows");
    if (!rc && memcmp(mine, theirs, outs * sizeof *mine) != 0)
        rc = sm_error_set(err, "the walk differs from XGBoost on probe rows");
    free(rows);
    free(mine);
    return rc;
}

/* The booster's trees for walking in C, checked against XGBoost; NULL
 * (XGBoost predicts) when they are not ones the walk reproduces. The base
 * margin is XGBoost's own margin over no trees (iterations [1, 1)), so no
 * objective's ProbToMargin is guessed at. */
static sm_forest *model_forest(const sm_predict_model *m)
{
    sm_error err = {0};
    bst_ulong len = 0;
    const char *json = NULL;
    float *nans = row_of_nan(m->features);
    size_t width = 0;
    const float *base = nans ? xgb_predict_dense(m, nans, 1, m->features,
                                                 PREDICT_BASE_MARGIN, &width)
                             : NULL;
    float margin = base ? base[0] : 0;
    free(nans);
    sm_forest *f = NULL;
    if (!base)
        sm_error_set(&err, "XGBoost gives no base margin");
    else if (XGBoosterSaveModelToBuffer(m->booster, "{\"format\":\"json\"}",
                                        &len, &json))
        sm_error_set(&err, "the model cannot be saved as JSON");
    else
        f = sm_forest_new(json, (size_t)len, margin, &err);
    if (f && (sm_forest_features(f) != m->features ||
              sm_forest_outputs(f) != m->outputs))
        sm_error_set(&err, "the trees' shape is not the booster's");
    if (f && (err.message[0] || forest_check(m, f, &err)))
        sm_forest_destroy(&f);
    if (!f)
        sm_info("predict: XGBoost predicts every batch (%s)", err.message);
    return f;
}

sm_predict_model *sm_predict_model_load(const void *data, size_t len,
                                        int nthread, sm_error *err)
{
    sm_predict_model *m = calloc(1, sizeof *m);
    if (!m) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    char threads[16];
    snprintf(threads, sizeof threads, "%d", nthread);
    m->nthread = nthread;
    int rc = 0;
    if (XGBoosterCreate(NULL, 0, &m->booster))
        rc = xgb_fail(err, "cannot create a booster");
    if (!rc && XGBoosterLoadModelFromBuffer(m->booster, data, (bst_ulong)len))
        rc = xgb_fail(err, "xgboost-model is not an XGBoost model");
    if (!rc && XGBoosterSetParam(m->booster, "nthread", threads))
        rc = xgb_fail(err, "cannot set nthread");
    if (!rc)
        rc = model_read_config(m, err);
    if (!rc)
        rc = model_warm_up(m, err);
    if (!rc && m->features && m->inplace)
        m->forest = model_forest(m);
    if (rc)
        sm_predict_model_destroy(&m);
    return m;
}

sm_predict_model *sm_predict_model_load_targz(sm_targz_read_fn read, void *ctx,
                                              int nthread, sm_error *err)
{
    char *bytes = NULL;
    size_t len = 0;
    int rc = sm_targz_extract(read, ctx, SM_PREDICT_MODEL_FILE,
                              SM_PREDICT_MODEL_MAX, &bytes, &len, err);
    if (rc == 1)
        sm_error_set(err, "the model archive holds no " SM_PREDICT_MODEL_FILE);
    sm_predict_model *m =
        rc == 0 ? sm_predict_model_load(bytes, len, nthread, err) : NULL;
    free(bytes);
    return m;
}

void sm_predict_model_destroy(sm_predict_model **self)
{
    if (!*self)
        return;
    sm_forest_destroy(&(*self)->forest);
    if ((*self)->booster)
        XGBoosterFree((*self)->booster);
    free(*self);
    *self = NULL;
}

const char *sm_predict_model_objective(const sm_predict_model *self)
{
    return self->objective;
}

size_t sm_predict_model_features(const sm_predict_model *self)
{
    return self->features;
}

size_t sm_predict_model_outputs(const sm_predict_model *self)
{
    return self->outputs;
}

bool sm_predict_model_walks(const sm_predict_model *self)
{
    return self->forest != NULL;
}

/* ---- answers ------------------------------------------------------------ */

void sm_predict_answer_clear(sm_predict_answer *answer)
{
    sm_buf_free(&answer->body);
    *answer = (sm_predict_answer){0};
}

void sm_predict_rows_clear(sm_predict_rows *rows)
{
    free(rows->values);
    free(rows->indptr);
    free(rows->indices);
    free(rows->data);
    *rows = (sm_predict_rows){0};
}

float sm_predict_rows_at(const sm_predict_rows *rows, size_t i, size_t j)
{
    if (i >= rows->rows || j >= rows->cols)
        return NAN;
    if (!rows->sparse)
        return rows->values[i * rows->cols + j];
    for (uint64_t k = rows->indptr[i]; k < rows->indptr[i + 1]; k++) {
        if (rows->indices[k] == j)
            return rows->data[k];
    }
    return NAN;
}

/* The container's error: a status and Flask's default HTML type. Returns
 * the status, or -1 when out of memory. */
static int answer_fail(sm_predict_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int answer_fail(sm_predict_answer *a, int status, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    a->status = status;
    snprintf(a->content_type, sizeof a->content_type, "%s",
             "text/html; charset=utf-8");
    a->body.len = 0;
    return sm_buf_puts(&a->body, text) ? -1 : status;
}

/* ---- media types -------------------------------------------------------- */

/* What Python's cgi.parse_header keeps of a header: the part before ';',
 * trimmed, lower-cased when asked. */
static void media_type(const char *header, int lower, char out[MEDIA_MAX])
{
    const char *p = header ? header : "";
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, ";");
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n >= MEDIA_MAX)
        n = MEDIA_MAX - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = lower ? (char)tolower((unsigned char)p[i]) : p[i];
    out[n] = '\0';
}

/* label_size=N among the parameters of a csv content type, or NULL. */
static const char *csv_label_size(const char *header, char out[16])
{
    const char *p = header;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ')
            p++;
        if (strncasecmp(p, "label_size", 10) != 0)
            continue;
        const char *v = p + 10;
        while (*v == ' ')
            v++;
        if (*v != '=')
            continue;
        v++;
        while (*v == ' ')
            v++;
        size_t n = strcspn(v, "; ");
        snprintf(out, 16, "%.*s", (int)(n < 15 ? n : 15), v);
        return out;
    }
    return NULL;
}

typedef enum payload_kind {
    PAYLOAD_CSV,
    PAYLOAD_LIBSVM,
    PAYLOAD_PARQUET,
    PAYLOAD_RECORDIO,
} payload_kind;

/* data_utils.get_content_type: the kind, or -1 with the 415 answer. */
static int payload_kind_of(const char *content_type, sm_predict_answer *a)
{
    if (!content_type)
        return PAYLOAD_LIBSVM;
    char media[MEDIA_MAX], size[16];
    media_type(content_type, 1, media);
    if (!strcmp(media, "csv") || !strcmp(media, "text/csv")) {
        if (csv_label_size(content_type, size) && strcmp(size, "1") != 0) {
            answer_fail(a, 415,
                        "%s is not an accepted csv ContentType. Optional "
                        "parameter label_size must be equal to 1",
                        content_type);
            return -1;
        }
        return PAYLOAD_CSV;
    }
    if (!strcmp(media, "libsvm") || !strcmp(media, "text/libsvm") ||
        !strcmp(media, "text/x-libsvm"))
        return PAYLOAD_LIBSVM;
    if (!strcmp(media, "parquet") || !strcmp(media, "application/x-parquet"))
        return PAYLOAD_PARQUET;
    if (!strcmp(media, "recordio-protobuf") ||
        !strcmp(media, "application/x-recordio-protobuf"))
        return PAYLOAD_RECORDIO;
    answer_fail(a, 415,
                "%s is not an accepted ContentType: csv, libsvm, parquet, "
                "recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, "
                "application/x-parquet, application/x-recordio-protobuf.",
                content_type);
    return -1;
}

static const char *const accepts[] = {
    "application/json", "application/jsonlines",
    "application/x-recordio-protobuf", "text/csv"};

const char *sm_predict_accept(const char *accept, sm_predict_answer *answer)
{
    char media[MEDIA_MAX], lower[MEDIA_MAX];
    media_type(accept, 0, media);
    media_type(accept, 1, lower);
    if (!media[0] || !strcmp(media, "*/*"))
        return "text/csv";
    for (size_t i = 0; i < sizeof accepts / sizeof accepts[0]; i++) {
        if (!strcmp(lower, accepts[i]))
            return accepts[i];
    }
    answer_fail(answer, 406,
                "Accept type %s is not supported. Please use supported "
                "accept types: ['application/json', 'application/jsonlines', "
                "'application/x-recordio-protobuf', 'text/csv'].",
                media);
    return NULL;
}

/* ---- numbers as Python reads and writes them ---------------------------- */

static int py_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* float(text[0..n)): Python's syntax (spaces around, inf, nan), no hex. */
static int py_float(const char *text, size_t n, double *out)
{
    char tmp[128];
    while (n && py_space(*text))
        text++, n--;
    while (n && py_space(text[n - 1]))
        n--;
    if (!n || n >= sizeof tmp)
        return -1;
    if (sm_decimal_double(text, text + n, out) == text + n)
        return 0; /* the plain decimals of nearly every request */
    memcpy(tmp, text, n);
    tmp[n] = '\0';
    const char *digits = tmp + (tmp[0] == '+' || tmp[0] == '-');
    if (strpbrk(tmp, "xX(_") ||
        !(isdigit((unsigned char)digits[0]) || digits[0] == '.' ||
          digits[0] == 'i' || digits[0] == 'I' || digits[0] == 'n' ||
          digits[0] == 'N'))
        return -1;
    char *end = NULL;
    *out = strtod(tmp, &end);
    return end && *end == '\0' ? 0 : -1;
}

/* int(text): an optional sign and decimal digits, spaces around. */
static int py_int(const char *text, size_t n, long *out)
{
    char tmp[32];
    while (n && py_space(*text))
        text++, n--;
    while (n && py_space(text[n - 1]))
        n--;
    if (!n || n >= sizeof tmp)
        return -1;
    memcpy(tmp, text, n);
    tmp[n] = '\0';
    const char *d = tmp + (tmp[0] == '+' || tmp[0] == '-');
    for (const char *p = d; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
    }
    if (!*d)
        return -1;
    *out = strtol(tmp, NULL, 10);
    return 0;
}

/* Python's repr of a str, shortened: '...' with escapes for quotes and
 * control characters. */
static void py_repr(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (n > 200)
        n = 200;
    out[o++] = '\'';
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
        else if (c == '\n')
            o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (c == '\r')
            o += (size_t)snprintf(out + o, cap - o, "\\r");
        else if (c == '\t')
            o += (size_t)snprintf(out + o, cap - o, "\\t");
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o++] = '\'';
    out[o] = '\0';
}

/* `v` with `n` significant digits ("%.*e") into e; whether it reads back
 * as `v`. */
static int digits_round_trip(double v, int n, char e[40])
{
    snprintf(e, 40, "%.*e", n - 1, v);
    return strtod(e, NULL) == v;
}

/* Shortest "%.*e" that reads back as `v`: digits and decimal exponent.
 * A float's value as a double mostly needs 16 or 17 digits, so those are
 * tried first, then the rest by halves (the digits that read back only
 * grow with the count). */
static void shortest_digits(double v, char *digits, int *exp10)
{
    char e[40], best[40];
    int lo = 1, hi;
    if (!digits_round_trip(v, 16, best)) {
        digits_round_trip(v, 17, best);
        lo = hi = 17;
    } else if (!digits_round_trip(v, 15, e)) {
        lo = hi = 16;
    } else {
        memcpy(best, e, sizeof e);
        hi = 15;
    }
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (digits_round_trip(v, mid, e)) {
            hi = mid;
            memcpy(best, e, sizeof e);
        } else {
            lo = mid + 1;
        }
    }
    size_t n = 0;
    const char *p = best + (best[0] == '-');
    for (; *p && *p != 'e'; p++) {
        if (isdigit((unsigned char)*p))
            digits[n++] = *p;
    }
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *exp10 = atoi(p + 1);
}

void sm_predict_format_double(double v, char out[32])
{
    if (isnan(v)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0) {
        strcpy(out, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char digits[24];
    int e = 0;
    shortest_digits(v, digits, &e);
    int nd = (int)strlen(digits);
    char *o = out;
    if (v < 0)
        *o++ = '-';
    if (e < -4 || e >= 16) { /* d[.ddd]e+XX */
        *o++ = digits[0];
        if (nd > 1)
            o += sprintf(o, ".%s", digits + 1);
        sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e < 0) { /* 0.000ddd */
        o += sprintf(o, "0.");
        for (int i = 0; i < -e - 1; i++)
            *o++ = '0';
        sprintf(o, "%s", digits);
    } else { /* ddd.ddd, with .0 when whole */
        for (int i = 0; i <= e; i++)
            *o++ = i < nd ? digits[i] : '0';
        *o++ = '.';
        if (nd > e + 1)
            sprintf(o, "%s", digits + e + 1);
        else
            sprintf(o, "0");
    }
}

/* ---- text/csv ----------------------------------------------------------- */

/* csv.Sniffer's pick on the first line, as the container uses it: an
 * alphanumeric guess becomes ','. */
static char csv_delimiter(const char *line, size_t n)
{
    static const char candidates[] = ",\t;| :";
    if (n > 512)
        n = 512;
    for (const char *c = candidates; *c; c++) {
        if (memchr(line, *c, n))
            return *c;
    }
    return ',';
}

static int rows_alloc(sm_predict_rows *out, size_t rows, size_t cols)
{
    if (cols && rows > SIZE_MAX / sizeof(float) / cols)
        return -1;
    out->values = malloc((rows && cols ? rows * cols : 1) * sizeof(float));
    out->rows = rows;
    out->cols = cols;
    return out->values ? 0 : -1;
}

static const char CSV_FAILED[] =
    "Loading csv data failed with Exception, please ensure data is in csv "
    "format:\n <class '%s'>\n %s";

/* Count rows and the first row's fields, then check every row against
 * it (numpy refuses ragged rows). */
static int csv_shape(const char *p, size_t n, char delim, size_t *rows,
                     size_t *cols, sm_predict_answer *a)
{
    size_t r = 0, c = 1, first = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] == delim) {
            c++;
            continue;
        }
        if (i < n && p[i] != '\n')
            continue;
        if (r == 0)
            first = c;
        else if (c != first) {
            char why[256];
            snprintf(why, sizeof why,
                     "setting an array element with a sequence. The "
                     "requested array has an inhomogeneous shape after 1 "
                     "dimensions. The detected shape was (%zu,) + "
                     "inhomogeneous part.",
                     r + 1);
            return answer_fail(a, 415, CSV_FAILED, "ValueError", why);
        }
        r++;
        c = 1;
    }
    *rows = r;
    *cols = first;
    return 0;
}

static int csv_fill(const char *p, size_t n, char delim, sm_predict_rows *out,
                    sm_predict_answer *a)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != delim && p[i] != '\n')
            continue;
        double v = NAN;
        if (i > start && py_float(p + start, i - start, &v)) {
            char text[256], why[300];
            py_repr(p + start, i - start, text, sizeof text);
            snprintf(why, sizeof why, "could not convert string to float: %s",
                     text);
            return answer_fail(a, 415, CSV_FAILED, "ValueError", why);
        }
        out->values[k++] = (float)v;
        start = i + 1;
    }
    return 0;
}

static int parse_csv(const char *p, size_t n, sm_predict_rows *out,
                     sm_predict_answer *a)
{
    if (n == 0)
        return answer_fail(a, 415, CSV_FAILED, "_csv.Error",
                           "Could not determine delimiter");
    const char *nl = memchr(p, '\n', n);
    char delim = csv_delimiter(p, nl ? (size_t)(nl - p) : n);
    size_t rows = 0, cols = 0;
    int rc = csv_shape(p, n, delim, &rows, &cols, a);
    if (rc)
        return rc;
    if (rows_alloc(out, rows, cols))
        return -1;
    return csv_fill(p, n, delim, out, a);
}

/* ---- text/libsvm -------------------------------------------------------- */

static const char LIBSVM_FAILED[] =
    "Loading libsvm data failed with Exception, please ensure data is in "
    "libsvm format:\n <class '%s'>\n %s";

typedef struct libsvm_entry {
    size_t row;
    long col;
    double value;
} libsvm_entry;

/* One "index:value" item; ill-formed ones are the container's errors. */
static int libsvm_item(const char *item, size_t n, size_t row, libsvm_entry *e,
                       sm_predict_answer *a)
{
    const char *colon = memchr(item, ':', n);
    size_t key_n = (size_t)(colon - item);
    const char *val = colon + 1;
    size_t rest = n - key_n - 1; /* the item is not NUL-terminated */
    const char *next = memchr(val, ':', rest);
    size_t val_n = next ? (size_t)(next - val) : rest;
    char text[256], why[300];
    if (py_int(item, key_n, &e->col)) {
        py_repr(item, key_n, text, sizeof text);
        snprintf(why, sizeof why, "invalid literal for int() with base 10: %s",
                 text);
        return answer_fail(a, 415, LIBSVM_FAILED, "ValueError", why);
    }
    if (py_float(val, val_n, &e->value)) {
        py_repr(val, val_n, text, sizeof text);
        snprintf(why, sizeof why, "could not convert string to float: %s",
                 text);
        return answer_fail(a, 415, LIBSVM_FAILED, "ValueError", why);
    }
    e->row = row;
    return 0;
}

/* Every item with a ':' of lines split at '\n' and items at ' '. */
static int libsvm_entries(const char *p, size_t n, libsvm_entry **out,
                          size_t *count, sm_predict_answer *a)
{
    size_t cap = 0, row = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != ' ' && p[i] != '\n')
            continue;
        if (memchr(p + start, ':', i - start)) {
            if (*count == cap) {
                cap = cap ? cap * 2 : 64;
                libsvm_entry *grown = realloc(*out, cap * sizeof **out);
                if (!grown)
                    return -1;
                *out = grown;
            }
            int rc = libsvm_item(p + start, i - start, row, &(*out)[*count], a);
            if (rc)
                return rc;
            (*count)++;
        }
        if (i < n && p[i] == '\n')
            row++;
        start = i + 1;
    }
    return 0;
}

static int entry_order(const void *x, const void *y)
{
    const libsvm_entry *a = x, *b = y;
    if (a->row != b->row)
        return a->row < b->row ? -1 : 1;
    return a->col < b->col ? -1 : a->col > b->col;
}

/* scipy's csr_matrix((data, (row, col))): shape from the largest indices,
 * absent entries missing, duplicates summed; 1-based columns shifted.
 * Kept sparse, so a large index costs nothing but its one entry. */
static int parse_libsvm(const char *p, size_t n, sm_predict_rows *out,
                        sm_predict_answer *a)
{
    libsvm_entry *e = NULL;
    size_t count = 0;
    int rc = libsvm_entries(p, n, &e, &count, a);
    if (!rc && count == 0)
        rc = answer_fail(a, 415, LIBSVM_FAILED, "ValueError",
                         "cannot infer dimensions from zero sized index "
                         "arrays");
    long min_col = count ? e[0].col : 0, max_col = 0;
    size_t max_row = 0;
    for (size_t i = 0; !rc && i < count; i++) {
        min_col = e[i].col < min_col ? e[i].col : min_col;
        max_col = e[i].col > max_col ? e[i].col : max_col;
        max_row = e[i].row > max_row ? e[i].row : max_row;
    }
    long shift = min_col >= 1 ? 1 : 0;
    if (!rc && min_col < 0)
        rc = answer_fail(a, 415, LIBSVM_FAILED, "ValueError",
                         "negative column index found");
    if (!rc && max_col - shift + 1 > (1L << 24))
        rc = answer_fail(a, 415, LIBSVM_FAILED, "ValueError",
                         "column index exceeds matrix dimensions");
    if (rc) {
        free(e);
        return rc;
    }
    /* rows come in order; sort each row's columns and merge repeats */
    qsort(e, count, sizeof *e, entry_order);
    out->sparse = true;
    out->rows = max_row + 1;
    out->cols = (size_t)(max_col - shift + 1);
    out->indptr = calloc(out->rows + 1, sizeof *out->indptr);
    out->indices = malloc(count * sizeof *out->indices);
    out->data = malloc(count * sizeof *out->data);
    if (!out->indptr || !out->indices || !out->data) {
        free(e);
        return -1;
    }
    size_t nnz = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t col = (uint32_t)(e[i].col - shift);
        if (nnz && i && e[i].row == e[i - 1].row && e[i].col == e[i - 1].col) {
            out->data[nnz - 1] =
                (float)((double)out->data[nnz - 1] + e[i].value);
            continue;
        }
        out->indices[nnz] = col;
        out->data[nnz] = (float)e[i].value;
        out->indptr[e[i].row + 1]++;
        nnz++;
    }
    for (size_t r = 0; r < out->rows; r++)
        out->indptr[r + 1] += out->indptr[r];
    free(e);
    return 0;
}

/* ---- parsing ------------------------------------------------------------ */

/* The container's DMatrix refuses infinities, counted after the cast to
 * float (so 1e39 is one): a 415 with the parse's own message. */
static bool has_infinity(const sm_predict_rows *rows)
{
    const float *v = rows->sparse ? rows->data : rows->values;
    size_t n = rows->sparse ? (size_t)rows->indptr[rows->rows]
                            : rows->rows * rows->cols;
    for (size_t i = 0; i < n; i++) {
        if (isinf(v[i]))
            return true;
    }
    return false;
}

static const char XGB_ERROR[] = "xgboost.core.XGBoostError";
static const char INFINITY_REFUSED[] =
    "Check failed: valid: Input data contains `inf` or `nan`";

/* ---- application/x-recordio-protobuf ----------------------------------- */

static const char RECORDIO_FAILED[] =
    "Loading recordio-protobuf data failed with Exception, please ensure "
    "data is in recordio-protobuf format: <class '%s'> %s";

static int parse_recordio(const char *body, size_t len, sm_predict_rows *out,
                          sm_predict_answer *a)
{
    sm_recordio_error err = {0};
    int rc = sm_recordio_read((const unsigned char *)body, len, out, NULL, NULL,
                              &err);
    if (rc == 1)
        rc = answer_fail(a, 415, RECORDIO_FAILED, err.type, err.message);
    else if (!rc && has_infinity(out))
        rc = answer_fail(a, 415, RECORDIO_FAILED, XGB_ERROR, INFINITY_REFUSED);
    if (rc)
        sm_predict_rows_clear(out);
    return rc;
}

int sm_predict_parse(const char *content_type, const char *body, size_t len,
                     sm_predict_rows *out, sm_predict_answer *answer)
{
    *out = (sm_predict_rows){0};
    int kind = payload_kind_of(content_type, answer);
    if (kind < 0)
        return answer->status ? answer->status : -1;
    if (kind == PAYLOAD_RECORDIO) /* bytes as they came: no strip() */
        return parse_recordio(body, len, out, answer);
    /* payload.strip() */
    while (len && py_space(*body))
        body++, len--;
    while (len && py_space(body[len - 1]))
        len--;
    int rc;
    if (kind == PAYLOAD_CSV) {
        rc = parse_csv(body, len, out, answer);
        if (!rc && has_infinity(out))
            rc = answer_fail(answer, 415, CSV_FAILED, XGB_ERROR,
                             INFINITY_REFUSED);
    } else if (kind == PAYLOAD_LIBSVM) {
        rc = parse_libsvm(body, len, out, answer);
        if (!rc && has_infinity(out))
            rc = answer_fail(answer, 415, LIBSVM_FAILED, XGB_ERROR,
                             INFINITY_REFUSED);
    } else
        rc = answer_fail(answer, 415,
                         "Content-type %s is not supported by "
                         "sagemagic-local: the XGBoost container reads "
                         "parquet, the local service reads text/csv, "
                         "text/libsvm and application/x-recordio-protobuf; "
                         "send one of those.",
                         content_type);
    if (rc)
        sm_predict_rows_clear(out);
    return rc;
}

/* ---- predicting --------------------------------------------------------- */

/* XGBoost's message without its stack trace: the first line. */
static void xgb_message(char *out, size_t cap)
{
    const char *text = XGBGetLastError();
    size_t n = strcspn(text, "\n");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), text);
}

/* A DMatrix takes fewer columns than the booster has features (the rest
 * are missing); in-place prediction wants them all: pad with NAN. */
static int rows_pad(sm_predict_rows *rows, size_t cols)
{
    float *wide = malloc((rows->rows ? rows->rows : 1) * cols * sizeof *wide);
    if (!wide)
        return -1;
    for (size_t i = 0; i < rows->rows; i++) {
        for (size_t j = 0; j < cols; j++)
            wide[i * cols + j] =
                j < rows->cols ? rows->values[i * rows->cols + j] : NAN;
    }
    free(rows->values);
    rows->values = wide;
    rows->cols = cols;
    return 0;
}

/* A small batch through the trees walked in C: into a new array `*preds`
 * of rows x width values; 0, or -1 when out of memory. */
static int forest_rows(const sm_predict_model *m, const sm_predict_rows *rows,
                       float **preds, size_t *width)
{
    size_t total = rows->rows * m->outputs;
    *preds = malloc((total ? total : 1) * sizeof **preds);
    if (!*preds)
        return -1;
    *width = m->outputs;
    if (rows->sparse)
        return sm_forest_predict_csr(m->forest, rows->indptr, rows->indices,
                                     rows->data, rows->rows, *preds);
    return sm_forest_predict_dense(m->forest, rows->values, rows->rows,
                                   rows->cols, *preds);
}

/* XGBoost's prediction of sparse `rows` (in place with
 * XGBoosterPredictFromCSR, or through a DMatrix), as xgb_predict_dense.
 * A narrower matrix is padded by naming the booster's width. */
static const float *xgb_predict_csr(const sm_predict_model *m,
                                    const sm_predict_rows *rows, size_t *width)
{
    size_t nnz = (size_t)rows->indptr[rows->rows];
    size_t ncol = rows->cols < m->features ? m->features : rows->cols;
    char indptr[128], indices[128], data[128];
    array_interface(indptr, sizeof indptr, rows->indptr, rows->rows + 1, 0,
                    "<u8");
    array_interface(indices, sizeof indices, rows->indices, nnz, 0, "<u4");
    array_interface(data, sizeof data, rows->data, nnz, 0, "<f4");
    if (!m->inplace) {
        char how[64];
        DMatrixHandle d = NULL;
        dmatrix_config(m, how);
        int made = XGDMatrixCreateFromCSR(indptr, indices, data,
                                          (bst_ulong)ncol, how, &d);
        return xgb_predict_dmatrix(m, made, d, PREDICT_VALUES, width);
    }
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *result = NULL;
    if (XGBoosterPredictFromCSR(
            m->booster, indptr, indices, data, (bst_ulong)ncol, PREDICT_VALUES,
            thread_proxy(m->nthread), &shape, &dim, &result))
        return NULL;
    *width = shape_width(shape, dim);
    return result;
}

/* XGBoost's prediction of `rows` into a new array `*preds` of rows x width
 * values; 0, or the 400 answer (-1: out of memory). */
static int predict_rows(const sm_predict_model *m, sm_predict_rows *rows,
                        float **preds, size_t *width, sm_predict_answer *a)
{
    if (rows->cols > m->features && m->features)
        return answer_fail(a, 400,
                           "Unable to evaluate payload provided: Check "
                           "failed: learner_model_param_.num_feature >= "
                           "p_fmat->Info().num_col_ (%zu vs. %zu) : Number "
                           "of columns does not match number of features in "
                           "booster.",
                           m->features, rows->cols);
    if (m->forest && rows->rows <= SM_PREDICT_WALK_ROWS)
        return forest_rows(m, rows, preds, width);
    const float *result = NULL;
    size_t w = 0;
    if (rows->sparse) {
        result = xgb_predict_csr(m, rows, &w);
    } else {
        if (rows->cols < m->features && rows_pad(rows, m->features))
            return -1;
        result = xgb_predict_dense(m, rows->values, rows->rows, rows->cols,
                                   PREDICT_VALUES, &w);
    }
    if (!result) {
        char why[1024];
        xgb_message(why, sizeof why);
        return answer_fail(a, 400, "Unable to evaluate payload provided: %s",
                           why);
    }
    size_t total = rows->rows * w;
    *preds = malloc((total ? total : 1) * sizeof **preds);
    if (!*preds)
        return -1;
    memcpy(*preds, result, total * sizeof **preds);
    *width = w;
    return 0;
}

/* ---- encoding ----------------------------------------------------------- */

static int put_value(sm_buf *out, float v, const char *nan_word)
{
    char text[32];
    sm_predict_format_double((double)v, text);
    return sm_buf_puts(out, isnan(v) && nan_word ? nan_word : text);
}

/* [a, b, c] as Python's str(list) writes it, or a lone value. */
static int put_list(sm_buf *out, const float *v, size_t width,
                    const char *nan_word)
{
    int rc = 0;
    if (width == 1)
        return put_value(out, v[0], nan_word);
    rc |= sm_buf_putc(out, '[');
    for (size_t j = 0; j < width; j++) {
        if (j)
            rc |= sm_buf_puts(out, ", ");
        rc |= put_value(out, v[j], nan_word);
    }
    return rc | sm_buf_putc(out, ']');
}

int sm_predict_encode(const float *preds, size_t rows, size_t width,
                      const char *accept, sm_predict_mode mode, sm_buf *out)
{
    int rc = 0;
    int json =
        mode == SM_PREDICT_REALTIME && !strcmp(accept, "application/json");
    int lines =
        mode == SM_PREDICT_REALTIME && !strcmp(accept, "application/jsonlines");
    if (json)
        rc |= sm_buf_puts(out, "{\"predictions\": [");
    for (size_t i = 0; i < rows; i++) {
        const float *v = preds + i * width;
        if (json || lines) {
            rc |=
                sm_buf_puts(out, json && i ? ", {\"score\": " : "{\"score\": ");
            rc |= put_list(out, v, width, "NaN");
            rc |= sm_buf_puts(out, lines ? "}\n" : "}");
        } else if (mode == SM_PREDICT_BATCH) { /* str(list) per line */
            rc |= put_list(out, v, width, NULL);
            rc |= sm_buf_putc(out, '\n');
        } else { /* np.savetxt(delimiter=",", fmt="%s") */
            for (size_t j = 0; j < width; j++) {
                rc |= j ? sm_buf_putc(out, ',') : 0;
                rc |= put_value(out, v[j], NULL);
            }
            rc |= sm_buf_putc(out, '\n');
        }
    }
    if (json)
        rc |= sm_buf_puts(out, "]}");
    return rc ? -1 : 0;
}

/* ---- one invocation ----------------------------------------------------- */

static int answer_ok(sm_predict_answer *a, const char *accept,
                     const float *preds, size_t rows, size_t width,
                     sm_predict_mode mode)
{
    if (!strcmp(accept, "application/x-recordio-protobuf"))
        return answer_fail(a, 500,
                           "Content type %s is not supported by this "
                           "framework.",
                           accept) < 0
                   ? -1
                   : 0;
    a->status = 200;
    a->records = rows;
    /* Flask adds a charset to text types */
    snprintf(a->content_type, sizeof a->content_type, "%s%s", accept,
             strncmp(accept, "text/", 5) == 0 ? "; charset=utf-8" : "");
    a->body.len = 0;
    return sm_predict_encode(preds, rows, width, accept, mode, &a->body);
}

int sm_predict_invoke(const sm_predict_model *model,
                      const sm_predict_request *req, sm_predict_answer *answer)
{
    *answer = (sm_predict_answer){0};
    if (req->body_len == 0) {
        answer->status = 204;
        return 0;
    }
    sm_predict_rows rows = {0};
    float *preds = NULL;
    size_t width = 0;
    int rc = sm_predict_parse(req->content_type, req->body, req->body_len,
                              &rows, answer);
    if (!rc)
        rc = predict_rows(model, &rows, &preds, &width, answer);
    const char *accept = rc ? NULL : sm_predict_accept(req->accept, answer);
    if (accept)
        rc = answer_ok(answer, accept, preds, rows.rows, width, req->mode);
    sm_predict_rows_clear(&rows);
    free(preds);
    return rc < 0 ? -1 : 0;
}
