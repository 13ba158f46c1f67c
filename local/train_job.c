/* train_job: config files in, a booster trained round by round with the
 * per-round lines printed as they come, the model packed out. */
#include "train_job.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#include "dataset.h"
#include "error.h"
#include "tarwriter.h"
#include "xgbparams.h"

#define MODEL_NAME "xgboost-model"
#define MODEL_MTIME 0 /* gzip: "no time stamp"; tar: the epoch */
#define MAX_SETS 2

static volatile sig_atomic_t stop_asked;

static void on_term(int sig)
{
    (void)sig;
    stop_asked = 1;
}

/* ---- the job's state ---------------------------------------------------- */

typedef struct job {
    const char *dir;
    sm_xgbparams params;
    json_t *channels; /* inputdataconfig.json */
    json_t *files;    /* files.json */
    sm_dataset data[MAX_SETS];
    const char *names[MAX_SETS]; /* "train", "validation" */
    DMatrixHandle dmats[MAX_SETS];
    size_t sets;
    BoosterHandle booster;
    /* early stopping */
    double best_score;
    long best_round, rounds_done;
    char watched[80]; /* "validation-rmse" */
    int maximize;
} job;

/* "[2026-11-26:07:01:02:INFO] message", as the container logs. */
static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d:%H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    printf("[%s:INFO] ", stamp);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

/* Write the reason to output/failure and the log; return `status`. */
static int fail(const job *j, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const job *j, int status, const char *fmt, ...)
{
    char reason[1024], path[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    printf("%s\n", reason);
    fflush(stdout);
    snprintf(path, sizeof path, "%s/output/failure", j->dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(reason, f);
        fclose(f);
    }
    return status;
}

static json_t *load_json(const job *j, const char *rel)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", j->dir, rel);
    return json_load_file(path, 0, NULL);
}

/* ---- hyperparameters and channels --------------------------------------- */

static const char *content_format(const char *type, sm_dataset_format *out)
{
    static const char *const csv[] = {"csv", "text/csv",
                                      "text/csv;label_size=1",
                                      "text/csv; label_size=1", NULL};
    static const char *const libsvm[] = {"libsvm", "text/libsvm",
                                         "text/x-libsvm", NULL};
    for (size_t i = 0; csv[i]; i++)
        if (!strcmp(type, csv[i]))
            return *out = SM_DATASET_CSV, type;
    for (size_t i = 0; libsvm[i]; i++)
        if (!strcmp(type, libsvm[i]))
            return *out = SM_DATASET_LIBSVM, type;
    if (!strcmp(type, "recordio-protobuf") ||
        !strcmp(type, "application/x-recordio-protobuf"))
        return *out = SM_DATASET_RECORDIO, type;
    return NULL;
}

static int check_channels(job *j)
{
    const char *name;
    json_t *cfg;
    if (!json_object_get(j->channels, "train"))
        return fail(j, SM_TRAIN_JOB_CLIENT_ERROR,
                    "ClientError: Missing required channel: train");
    json_object_foreach(j->channels, name, cfg)
    {
        if (strcmp(name, "train") && strcmp(name, "validation"))
            return fail(j, SM_TRAIN_JOB_CLIENT_ERROR,
                        "ClientError: Extraneous channel found: %s", name);
        const char *type =
            json_string_value(json_object_get(cfg, "ContentType"));
        sm_dataset_format format;
        if (type && !content_format(type, &format))
            return fail(j, SM_TRAIN_JOB_CLIENT_ERROR,
                        "ClientError: Channel configuration for '%s' channel "
                        "is not supported: {'ContentType': '%s', "
                        "'TrainingInputMode': 'File', 'S3DistributionType': "
                        "'FullyReplicated'} (sagemagic-local reads text/csv, "
                        "text/libsvm and application/x-recordio-protobuf)",
                        name, type);
    }
    return 0;
}

/* ---- data --------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)st.st_size) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int load_channel(job *j, const char *channel, sm_dataset *ds)
{
    json_t *cfg = json_object_get(j->channels, channel);
    const char *type = json_string_value(json_object_get(cfg, "ContentType"));
    sm_dataset_format format = SM_DATASET_LIBSVM; /* the default */
    if (type)
        content_format(type, &format);
    sm_dataset_init(ds, format, j->params.csv_weights);
    json_t *list = json_object_get(j->files, channel);
    info("Reading the %s channel: %zu file%s as %s", channel,
         json_array_size(list), json_array_size(list) == 1 ? "" : "s",
         format == SM_DATASET_CSV      ? "CSV"
         : format == SM_DATASET_LIBSVM ? "LIBSVM"
                                       : "RecordIO-protobuf");
    size_t i;
    json_t *file;
    json_array_foreach(list, i, file)
    {
        char path[4200];
        const char *rel = json_string_value(json_object_get(file, "path"));
        const char *uri = json_string_value(json_object_get(file, "uri"));
        snprintf(path, sizeof path, "%s/%s", j->dir, rel ? rel : "");
        size_t len = 0;
        char *text = read_file(path, &len);
        if (!text)
            return fail(j, SM_TRAIN_JOB_ALGORITHM_ERROR,
                        "AlgorithmError: cannot read the downloaded %s: %s",
                        uri ? uri : path, strerror(errno));
        sm_error err = {0};
        int rc = sm_dataset_add(ds, uri ? uri : path, text, len, &err);
        free(text);
        if (rc)
            return fail(j, SM_TRAIN_JOB_CLIENT_ERROR, "ClientError: %s",
                        err.message);
    }
    return 0;
}

static int xgb_fail(const job *j, const char *what)
{
    return fail(j, SM_TRAIN_JOB_ALGORITHM_ERROR, "AlgorithmError: %s: %s", what,
                XGBGetLastError());
}

/* The job's nthread, or 0 for XGBoost's default (every CPU), as the
 * Python package would use. */
static int job_threads(const job *j)
{
    for (size_t i = 0; i < j->params.count; i++)
        if (!strcmp(j->params.params[i].name, "nthread"))
            return atoi(j->params.params[i].value);
    return 0;
}

static int make_dmatrix(job *j, size_t k, size_t cols)
{
    sm_dataset *ds = &j->data[k];
    DMatrixHandle *d = &j->dmats[k];
    int rc = ds->format == SM_DATASET_CSV
                 ? XGDMatrixCreateFromMat_omp(ds->values, ds->rows, ds->cols,
                                              NAN, d, job_threads(j))
                 : XGDMatrixCreateFromCSREx(ds->indptr, ds->indices, ds->data,
                                            ds->rows + 1, ds->nnz, cols, d);
    if (rc)
        return xgb_fail(j, "cannot build the data matrix");
    if (XGDMatrixSetFloatInfo(*d, "label", ds->labels, ds->rows) ||
        (ds->weights &&
         XGDMatrixSetFloatInfo(*d, "weight", ds->weights, ds->rows)))
        return xgb_fail(j, "cannot set the labels");
    return 0;
}

static int load_data(job *j)
{
    const char *channels[MAX_SETS] = {"train", "validation"};
    for (size_t k = 0; k < MAX_SETS; k++) {
        if (!json_object_get(j->channels, channels[k]))
            continue;
        int rc = load_channel(j, channels[k], &j->data[j->sets]);
        j->names[j->sets++] = channels[k];
        if (rc)
            return rc;
    }
    sm_dataset *train = &j->data[0];
    size_t cols = train->cols;
    if (j->sets == 2 && train->format == SM_DATASET_CSV &&
        j->data[1].format == SM_DATASET_CSV && j->data[1].cols != cols)
        return fail(j, SM_TRAIN_JOB_CLIENT_ERROR,
                    "ClientError: the validation channel's rows have %zu "
                    "features but the train channel's have %zu; both need "
                    "the same columns",
                    j->data[1].cols, cols);
    for (size_t k = 1; k < j->sets; k++)
        cols = j->data[k].cols > cols ? j->data[k].cols : cols;
    for (size_t k = 0; k < j->sets; k++) {
        info("%s matrix has %zu rows and %zu columns", j->names[k],
             j->data[k].rows,
             j->data[k].format == SM_DATASET_CSV ? j->data[k].cols : cols);
        if (make_dmatrix(j, k, cols))
            return SM_TRAIN_JOB_ALGORITHM_ERROR;
    }
    return 0;
}

/* ---- training ----------------------------------------------------------- */

static int booster_setup(job *j)
{
    if (XGBoosterCreate(j->dmats, j->sets, &j->booster))
        return xgb_fail(j, "cannot create the booster");
    for (size_t i = 0; i < j->params.count; i++)
        if (XGBoosterSetParam(j->booster, j->params.params[i].name,
                              j->params.params[i].value))
            return xgb_fail(j, "cannot set a hyperparameter");
    return 0;
}

/* Predictions of the current model on set k as class labels or values. */
static int predictions(job *j, size_t k, const float **out, size_t *n,
                       size_t *width)
{
    const bst_ulong *shape;
    bst_ulong dim;
    const float *result;
    if (XGBoosterPredictFromDMatrix(
            j->booster, j->dmats[k],
            "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
            "\"iteration_end\":0,\"strict_shape\":false}",
            &shape, &dim, &result))
        return -1;
    *out = result;
    *n = (size_t)shape[0];
    *width = dim > 1 ? (size_t)shape[1] : 1;
    return 0;
}

/* The class a prediction stands for. */
static int predicted_class(const job *j, const float *row, size_t width)
{
    if (width > 1) {
        size_t best = 0;
        for (size_t c = 1; c < width; c++)
            best = row[c] > row[best] ? c : best;
        return (int)best;
    }
    if (!strcmp(j->params.objective, "binary:logitraw"))
        return row[0] > 0;
    if (!strncmp(j->params.objective, "multi:", 6))
        return (int)row[0];
    return row[0] > 0.5f;
}

/* One metric the container computes (accuracy, f1, r2, ...). */
static double custom_metric(const job *j, const char *m, const float *pred,
                            size_t n, size_t width, const float *y)
{
    if (!strcmp(m, "mse") || !strcmp(m, "r2")) {
        double mean = 0, res = 0, tot = 0;
        for (size_t i = 0; i < n; i++)
            mean += y[i] / (double)n;
        for (size_t i = 0; i < n; i++) {
            res += (pred[i * width] - y[i]) * (double)(pred[i * width] - y[i]);
            tot += (y[i] - mean) * (y[i] - mean);
        }
        return !strcmp(m, "mse") ? res / (double)n
                                 : (tot > 0 ? 1 - res / tot : 0);
    }
    int classes = width > 1 ? (int)width : 2;
    for (size_t i = 0; i < n; i++)
        if ((int)y[i] + 1 > classes)
            classes = (int)y[i] + 1;
    double *tp = calloc((size_t)classes * 3, sizeof *tp);
    if (!tp)
        return NAN;
    double *fp = tp + classes, *fn = fp + classes, correct = 0;
    for (size_t i = 0; i < n; i++) {
        int p = predicted_class(j, pred + i * width, width), t = (int)y[i];
        if (p == t) {
            correct++;
            tp[t]++;
        } else {
            if (p >= 0 && p < classes)
                fp[p]++;
            if (t >= 0 && t < classes)
                fn[t]++;
        }
    }
    double v = correct / (double)(n ? n : 1);
    int macro = strstr(m, "_macro") != NULL || !strcmp(m, "balanced_accuracy");
    int binary =
        !macro && classes == 2 && strcmp(m, "accuracy") && !strstr(m, "_micro");
    if (strcmp(m, "accuracy") && !strstr(m, "_micro")) {
        double sum = 0;
        int from = binary ? 1 : 0;
        for (int c = from; c < classes; c++) {
            double p = tp[c] + fp[c] ? tp[c] / (tp[c] + fp[c]) : 0;
            double r = tp[c] + fn[c] ? tp[c] / (tp[c] + fn[c]) : 0;
            double f = p + r ? 2 * p * r / (p + r) : 0;
            sum += !strncmp(m, "precision", 9)               ? p
                   : !strncmp(m, "recall", 6) || m[0] == 'b' ? r
                                                             : f;
        }
        v = sum / (binary ? 1 : classes);
    }
    free(tp);
    return v;
}

/* Append the container-computed metrics of every set to the line. */
static int add_custom(job *j, char *line, size_t size)
{
    for (size_t k = 0; k < j->sets; k++) {
        const float *pred;
        size_t n, width;
        if (j->params.custom_count && predictions(j, k, &pred, &n, &width))
            return xgb_fail(j, "cannot predict for a metric");
        for (size_t m = 0; m < j->params.custom_count; m++) {
            double v = custom_metric(j, j->params.custom_metrics[m], pred, n,
                                     width, j->data[k].labels);
            size_t used = strlen(line);
            snprintf(line + used, size - used, "\t%s-%s:%.5f", j->names[k],
                     j->params.custom_metrics[m], v);
        }
    }
    return 0;
}

/* XGBoost's "[0]\ttrain-rmse:0.8967937161\t..." with each score as
 * "%.5f", as the container's EvaluationMonitor prints it. */
static void format_round(const char *eval, char *out, size_t size)
{
    char copy[8192];
    snprintf(copy, sizeof copy, "%s", eval);
    char *save = NULL, *piece = strtok_r(copy, "\t", &save);
    size_t used = (size_t)snprintf(out, size, "%s", piece ? piece : "");
    while ((piece = strtok_r(NULL, "\t", &save)) != NULL && used < size) {
        char *colon = strrchr(piece, ':');
        if (colon) {
            *colon = '\0';
            used += (size_t)snprintf(out + used, size - used, "\t%s:%.5f",
                                     piece, strtod(colon + 1, NULL));
        } else {
            used += (size_t)snprintf(out + used, size - used, "\t%s", piece);
        }
    }
}

/* The score early stopping watches in the round's line, or NAN. */
static double watched_score(const job *j, const char *line)
{
    const char *p = strstr(line, j->watched);
    size_t n = strlen(j->watched);
    while (p && p[n] != ':')
        p = strstr(p + 1, j->watched);
    return p ? strtod(p + n + 1, NULL) : NAN;
}

/* Pick the metric early stopping watches: the last data set's last
 * metric, or the tuning objective's. */
static void watch_setup(job *j, const char *first_line)
{
    const char *metric = NULL;
    if (j->params.tuning_metric[0]) {
        const char *colon = strchr(j->params.tuning_metric, ':');
        metric = colon ? colon + 1 : j->params.tuning_metric;
    }
    const char *set = j->names[j->sets - 1];
    if (!metric) { /* the last "<set>-<metric>:" on the line */
        char pat[64];
        snprintf(pat, sizeof pat, "\t%s-", set);
        const char *p = first_line, *last = NULL;
        while ((p = strstr(p, pat)) != NULL)
            last = p++;
        if (last) {
            const char *start = last + strlen(pat);
            const char *colon = strrchr(start, ':');
            const char *tab = strchr(start, '\t');
            size_t len = (size_t)((tab && tab < colon ? tab : colon) - start);
            snprintf(j->watched, sizeof j->watched, "%s-%.*s", set, (int)len,
                     start);
        }
    } else {
        snprintf(j->watched, sizeof j->watched, "%s-%s", set, metric);
    }
    const char *dash = strchr(j->watched, '-');
    j->maximize = dash && sm_xgbparams_metric_maximized(dash + 1);
    j->best_score = NAN;
}

/* Whether training should stop early after `round`. */
static int early_stop(job *j, long round, const char *line)
{
    if (j->params.early_stopping_rounds <= 0)
        return 0;
    if (round == 0)
        watch_setup(j, line);
    double score = watched_score(j, line);
    if (isnan(score))
        return 0;
    if (isnan(j->best_score) ||
        (j->maximize ? score > j->best_score : score < j->best_score)) {
        j->best_score = score;
        j->best_round = round;
        return 0;
    }
    return round - j->best_round >= j->params.early_stopping_rounds;
}

static int train_rounds(job *j)
{
    for (long round = 0; round < j->params.num_round; round++) {
        if (stop_asked)
            return SM_TRAIN_JOB_STOPPED;
        const char *eval;
        if (XGBoosterUpdateOneIter(j->booster, (int)round, j->dmats[0]))
            return fail(j, SM_TRAIN_JOB_CLIENT_ERROR,
                        "ClientError: XGBoost could not train: %s",
                        XGBGetLastError());
        if (XGBoosterEvalOneIter(j->booster, (int)round, j->dmats, j->names,
                                 j->sets, &eval))
            return xgb_fail(j, "cannot evaluate the round");
        char line[8192];
        format_round(eval, line, sizeof line);
        if (add_custom(j, line, sizeof line))
            return SM_TRAIN_JOB_ALGORITHM_ERROR;
        printf("%s\n", line);
        fflush(stdout);
        j->rounds_done = round + 1;
        if (early_stop(j, round, line)) {
            info("Stopping. Best iteration: [%ld] %s:%.5f", j->best_round,
                 j->watched, j->best_score);
            break;
        }
    }
    return 0;
}

/* ---- the model ---------------------------------------------------------- */

static int save_model(job *j)
{
    char path[4200], tar[4200], score[40], best[24];
    if (j->params.early_stopping_rounds > 0 && !isnan(j->best_score)) {
        snprintf(best, sizeof best, "%ld", j->best_round);
        snprintf(score, sizeof score, "%.17g", j->best_score);
        XGBoosterSetAttr(j->booster, "best_iteration", best);
        XGBoosterSetAttr(j->booster, "best_score", score);
    }
    bst_ulong len;
    const char *bytes;
    if (XGBoosterSaveModelToBuffer(j->booster, "{\"format\":\"json\"}", &len,
                                   &bytes))
        return xgb_fail(j, "cannot save the model");
    snprintf(path, sizeof path, "%s/model/" MODEL_NAME, j->dir);
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(bytes, 1, len, f) != len;
    if (f && fclose(f))
        bad = 1;
    if (bad)
        return fail(j, SM_TRAIN_JOB_ALGORITHM_ERROR,
                    "AlgorithmError: cannot write %s: %s", path,
                    strerror(errno));
    snprintf(tar, sizeof tar, "%s/output/model.tar.gz", j->dir);
    sm_tarwriter_entry entry = {MODEL_NAME, path};
    sm_error err = {0};
    /* a fixed time stamp in the tar and gzip headers, so that the same
     * data, hyperparameters and seed give the same model.tar.gz bytes */
    if (sm_tarwriter_write(tar, &entry, 1, MODEL_MTIME, &err))
        return fail(j, SM_TRAIN_JOB_ALGORITHM_ERROR, "AlgorithmError: %s",
                    err.message);
    info("Saved the model (%llu rounds) as " MODEL_NAME " in model.tar.gz",
         (unsigned long long)j->rounds_done);
    return 0;
}

/* ---- the whole run ------------------------------------------------------ */

static int prepare(job *j)
{
    json_t *hp = load_json(j, "input/config/hyperparameters.json");
    j->channels = load_json(j, "input/config/inputdataconfig.json");
    j->files = load_json(j, "input/config/files.json");
    if (!hp || !j->channels || !j->files) {
        json_decref(hp);
        return fail(j, SM_TRAIN_JOB_ALGORITHM_ERROR,
                    "AlgorithmError: the job's configuration files under %s "
                    "are missing",
                    j->dir);
    }
    sm_error err = {0};
    int rc = sm_xgbparams_parse(hp, &j->params, &err);
    json_decref(hp);
    if (rc)
        return fail(j, SM_TRAIN_JOB_CLIENT_ERROR, "ClientError: %s",
                    err.message);
    if (j->params.notes[0])
        info("%s", j->params.notes);
    return check_channels(j);
}

static void job_clear(job *j)
{
    if (j->booster)
        XGBoosterFree(j->booster);
    for (size_t k = 0; k < j->sets; k++) {
        if (j->dmats[k])
            XGDMatrixFree(j->dmats[k]);
        sm_dataset_clear(&j->data[k]);
    }
    sm_xgbparams_clear(&j->params);
    json_decref(j->channels);
    json_decref(j->files);
}

int sm_train_job_run(const char *work_dir)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int major, minor, patch;
    XGBoostVersion(&major, &minor, &patch);
    job j = {.dir = work_dir};
    info("sagemagic-local: the built-in XGBoost algorithm (XGBoost %d.%d.%d, "
         "one instance, algo-1)",
         major, minor, patch);
    int rc = prepare(&j);
    if (!rc)
        rc = load_data(&j);
    if (!rc)
        rc = booster_setup(&j);
    if (!rc) {
        info("Training for %ld rounds%s", j.params.num_round,
             j.params.early_stopping_rounds > 0 ? " with early stopping" : "");
        rc = train_rounds(&j);
    }
    if (rc == SM_TRAIN_JOB_STOPPED && j.params.save_model_on_termination &&
        j.booster) {
        info("SIGTERM: saving the model before stopping "
             "(save_model_on_termination)");
        rc = save_model(&j) ? SM_TRAIN_JOB_ALGORITHM_ERROR
                            : SM_TRAIN_JOB_STOPPED;
    } else if (rc == SM_TRAIN_JOB_STOPPED) {
        info("SIGTERM: stopping the training");
    } else if (!rc) {
        rc = save_model(&j);
    }
    job_clear(&j);
    return rc;
}
