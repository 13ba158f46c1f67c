/* recordio: SageMaker's RecordIO-protobuf payloads (aialgs.data.Record
 * messages in RecordIO framing, as sagemaker.amazon.common writes them)
 * read into a feature matrix the way the XGBoost container's reader
 * (recordio_protobuf.py) does: each record's features["values"] tensor
 * is one row, sparse when it has keys, dense otherwise. */
#ifndef SM_LOCAL_RECORDIO_H
#define SM_LOCAL_RECORDIO_H

#include <stddef.h>

#include "predict.h"

#define SM_RECORDIO_MAGIC 0xCED7230Au

/* The RecordIO frame at the start of `p`: its length in all (the 8-byte
 * head, the record, padding to 4 bytes) with the record's own length in
 * *record; 0 when fewer than 8 bytes are left; SM_RECORDIO_NOT_A_FRAME
 * when the magic is not there; SM_RECORDIO_CUT_SHORT when the record
 * runs past the end. */
enum { SM_RECORDIO_NOT_A_FRAME = -1, SM_RECORDIO_CUT_SHORT = -2 };
long long sm_recordio_frame(const unsigned char *p, size_t n, size_t *record);

/* What reading failed on, as the container's Python reports it: the
 * exception's class and its message. */
typedef struct sm_recordio_error {
    const char *type; /* e.g. "ValueError" */
    char message[256];
} sm_recordio_error;

/* Read `n` bytes into `out` (dense when no record is sparse, else
 * compressed sparse rows, columns ascending) and, when `labels` is not
 * NULL, the label["values"] of the records that made rows, all their
 * values in order, into a new array *labels of *nlabels (the container's
 * training reads them so). 0; 1 with `err` filled when the payload is not
 * one the container reads; -1 when memory ran out. */
int sm_recordio_read(const unsigned char *p, size_t n, sm_predict_rows *out,
                     float **labels, size_t *nlabels, sm_recordio_error *err);

#endif
