/* dataproc: batch transform's DataProcessing for CSV records, as SageMaker
 * applies it: InputFilter picks the fields sent to the model, JoinSource
 * Input puts each input record before its prediction, OutputFilter picks
 * the fields written. The filters are the JSONPath subset SageMaker
 * documents for CSV: "$" (every field) or "$[...]" with indices and
 * Python-style slices separated by commas, negatives counted from the
 * end ("$[1:]", "$[0,-1]", "$[0,5:]"). */
#ifndef SM_DATAPROC_H
#define SM_DATAPROC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SM_DATAPROC_PICKS 32

/* One item of a filter: a slice [from, to), or an index in `from`. */
typedef struct sm_dataproc_item {
    long from, to;
    bool slice, has_from, has_to;
} sm_dataproc_item;

typedef struct sm_dataproc_pick {
    bool all; /* "$" or no filter */
    size_t count;
    sm_dataproc_item items[SM_DATAPROC_PICKS];
} sm_dataproc_pick;

/* Parse a filter (NULL or "" is "$"). 0, or -1 with why[size] saying what
 * is wrong, in SageMaker's words where it has them. */
int sm_dataproc_parse(const char *filter, sm_dataproc_pick *out, char *why,
                      size_t size);

typedef struct sm_dataproc {
    sm_dataproc_pick input, output;
    bool join; /* JoinSource Input */
} sm_dataproc;

/* True when `dp` changes anything (else records go to the model as they
 * are and predictions come back as they are). */
bool sm_dataproc_active(const sm_dataproc *dp);

/* The payload for the model: each line of `records` (records[len], lines
 * without blank ones) through the input filter, one a line, into `out`.
 * 0, or -1 with why[size]. */
int sm_dataproc_input(const sm_dataproc *dp, const char *records, size_t len,
                      sm_buf *out, char *why, size_t size);

/* The lines written for `records` and the model's answer `predictions`
 * (one line a record): joined and filtered, each ending in '\n', appended
 * to `out`. 0, or -1 with why[size] (e.g. a line count that differs). */
int sm_dataproc_output(const sm_dataproc *dp, const char *records,
                       size_t records_len, const char *predictions,
                       size_t predictions_len, sm_buf *out, char *why,
                       size_t size);

#endif
