/* dataset: a training channel's files read into memory for XGBoost: CSV
 * (the label first, no header; with csv_weights the weight second) into
 * a dense matrix, LIBSVM ("label idx:value ...") and RecordIO-protobuf
 * (recordio.h: features and label of each record) into CSR. Parsing is
 * ours, not XGBoost's, so bad data fails with a sentence a user can act
 * on: which file, which line, what was wrong. */
#ifndef SM_DATASET_H
#define SM_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum sm_dataset_format {
    SM_DATASET_CSV,
    SM_DATASET_LIBSVM,
    SM_DATASET_RECORDIO, /* RecordIO-protobuf, into CSR as LIBSVM */
} sm_dataset_format;

/* The rows read so far from one channel's files. Owned arrays. */
typedef struct sm_dataset {
    sm_dataset_format format;
    int csv_weights; /* CSV: column 2 is the instance weight */
    size_t rows;
    size_t cols;    /* features: CSV's columns less label (and weight);
                     * LIBSVM's largest index + 1 */
    float *labels;  /* rows */
    float *weights; /* rows, or NULL */
    /* CSV: rows * cols values, NAN where a field is empty. */
    float *values;
    /* LIBSVM, RecordIO: row i's entries are [indptr[i], indptr[i+1]). */
    size_t *indptr; /* rows + 1 */
    unsigned *indices;
    float *data;
    size_t nnz;
    /* internal: capacities */
    size_t row_cap, value_cap;
    char delimiter; /* CSV: found in the first line */
} sm_dataset;

/* Start an empty dataset. */
void sm_dataset_init(sm_dataset *self, sm_dataset_format format,
                     int csv_weights);

/* Append the rows of one file: `len` bytes of `text` (borrowed), named
 * `name` in messages (its S3 URI). 0, or -1 with `err` set, e.g.
 * "s3://b/train.csv line 7: 5 columns where the lines before have 6". */
int sm_dataset_add(sm_dataset *self, const char *name, const char *text,
                   size_t len, sm_error *err);

/* Free the arrays and zero `self`. */
void sm_dataset_clear(sm_dataset *self);

#endif
