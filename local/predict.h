/* predict: the serving half of SageMaker's XGBoost container, in process:
 * a booster loaded from a model.tar.gz, request bodies parsed as the
 * container parses them (text/csv, text/libsvm), predictions written as it
 * writes them (text/csv, application/json, application/jsonlines, and the
 * batch transform's lines), and its status codes and messages for
 * everything else. One model serves many threads at once. */
#ifndef SM_PREDICT_H
#define SM_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "targz.h"

/* The file the container saves its booster as inside model.tar.gz. */
#define SM_PREDICT_MODEL_FILE "xgboost-model"
#define SM_PREDICT_MODEL_MAX (2ull << 30) /* bytes of xgboost-model */

/* Batches of up to this many rows walk the trees in C (forest.h) when the
 * model allows it; larger ones go to XGBoost, which spreads them over
 * threads. Both give the same predictions bit for bit. */
#define SM_PREDICT_WALK_ROWS 64

typedef struct sm_predict_model sm_predict_model;

/* A booster from the bytes of a saved model (JSON, UBJSON or the legacy
 * binary), predicting with `nthread` threads per call (1 for serving one
 * request per thread; 0 for all cores). New model, or NULL with `err`. */
sm_predict_model *sm_predict_model_load(const void *data, size_t len,
                                        int nthread, sm_error *err);

/* The same from a model.tar.gz that `read` yields (its xgboost-model). */
sm_predict_model *sm_predict_model_load_targz(sm_targz_read_fn read, void *ctx,
                                              int nthread, sm_error *err);

void sm_predict_model_destroy(sm_predict_model **self);

/* "reg:squarederror", "binary:logistic", ... (borrowed). */
const char *sm_predict_model_objective(const sm_predict_model *self);

/* Features the booster was trained on; values per prediction (1, or the
 * classes of multi:softprob). */
size_t sm_predict_model_features(const sm_predict_model *self);
size_t sm_predict_model_outputs(const sm_predict_model *self);

/* Whether small batches walk the trees in C (SM_PREDICT_WALK_ROWS). */
bool sm_predict_model_walks(const sm_predict_model *self);

/* ---- one invocation ----------------------------------------------------- */

/* How predictions are written: as a real-time endpoint (by Accept), or as
 * the container does under batch transform (SAGEMAKER_BATCH: one line per
 * record whatever the Accept). */
typedef enum sm_predict_mode {
    SM_PREDICT_REALTIME = 0,
    SM_PREDICT_BATCH,
} sm_predict_mode;

/* A request as /invocations sees it. All borrowed. */
typedef struct sm_predict_request {
    const char *content_type; /* NULL: the container takes libsvm */
    const char *accept;       /* NULL, "" or "* / *": text/csv */
    const char *body;
    size_t body_len;
    sm_predict_mode mode;
} sm_predict_request;

/* What the container answers: 200 with predictions, 204 for an empty
 * body, else 400, 406, 415 or 500 with its message as text/plain.
 * Owned; sm_predict_answer_clear frees. */
typedef struct sm_predict_answer {
    int status;
    char content_type[64];
    sm_buf body;
    size_t records; /* predictions made */
} sm_predict_answer;

void sm_predict_answer_clear(sm_predict_answer *answer);

/* Answer `req` with `model`. Thread-safe. Returns 0 with `answer` filled
 * (whatever its status), or -1 when memory ran out. */
int sm_predict_invoke(const sm_predict_model *model,
                      const sm_predict_request *req, sm_predict_answer *answer);

/* ---- the pieces, for tests ---------------------------------------------- */

/* A matrix of features, owned: dense (`values`, NAN is missing) from CSV,
 * or compressed sparse rows (`indptr`, `indices`, `data`; absent entries
 * missing) from LIBSVM, so a wide sparse payload costs what it holds. */
typedef struct sm_predict_rows {
    float *values;
    size_t rows, cols;
    bool sparse;
    uint64_t *indptr;  /* rows + 1 offsets into indices and data */
    uint32_t *indices; /* columns, ascending within a row */
    float *data;
} sm_predict_rows;

void sm_predict_rows_clear(sm_predict_rows *rows);

/* The value at row `i`, column `j`; NAN when missing. */
float sm_predict_rows_at(const sm_predict_rows *rows, size_t i, size_t j);

/* Parse `len` bytes of `content_type` as the container does. 0 with
 * `out` filled; otherwise the status (415) with its message in `answer`
 * (-1 when out of memory). */
int sm_predict_parse(const char *content_type, const char *body, size_t len,
                     sm_predict_rows *out, sm_predict_answer *answer);

/* The media type the container answers with for `accept`, or NULL with
 * 406 and its message in `answer`. */
const char *sm_predict_accept(const char *accept, sm_predict_answer *answer);

/* Write `rows` x `width` predictions in `accept`'s form (or batch's) into
 * `out`. 0, or -1 when out of memory. */
int sm_predict_encode(const float *preds, size_t rows, size_t width,
                      const char *accept, sm_predict_mode mode, sm_buf *out);

/* `v` as Python's repr(float(v)) writes it: the shortest digits that
 * read back the same double ("0.5", "1.0", "1e-05", "nan"). */
void sm_predict_format_double(double v, char out[32]);

#endif
