/* fuzz_local_predict: libFuzzer target for what sagemagic-local's serving
 * parses from a caller: InvokeEndpoint bodies under each content type
 * (text/csv, text/libsvm, none, RecordIO-protobuf) and as a transform
 * splits them, Accept headers, and model.tar.gz
 * archives (gzip, tar headers, long names, pax paths). The first input
 * byte picks the parser. Build as fuzz_local_parsers is built. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "predict.h"
#include "targz.h"
#include "transform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct source {
    const uint8_t *data;
    size_t len, pos, step;
} source;

/* Hands the bytes out in slices of `step`, as a stored object would. */
static ssize_t source_read(void *ctx, void *buf, size_t len)
{
    source *s = ctx;
    size_t n = s->len - s->pos;
    if (n > len)
        n = len;
    if (s->step && n > s->step)
        n = s->step;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

/* A transform's send: checks the payload lies in the input, counts it. */
static int count_payload(void *ctx, const char *payload, size_t len)
{
    volatile char first = len ? payload[0] : 0,
                  last = len ? payload[len - 1] : 0;
    (void)first;
    (void)last;
    ++*(size_t *)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"text/csv", "text/libsvm", NULL,
                                        "csv;label_size=1",
                                        "application/x-recordio-protobuf"};
    if (size < 2)
        return 0;
    uint8_t pick = data[0], arg = data[1];
    const char *body = (const char *)data + 2;
    size_t n = size - 2;
    if (pick % 3 == 0) {
        sm_predict_rows rows;
        sm_predict_answer a = {0};
        if (sm_predict_parse(types[arg % 5], body, n, &rows, &a) == 0)
            sm_predict_rows_clear(&rows);
        sm_predict_answer_clear(&a);
        /* the same bytes cut as a transform cuts them: RecordIO frames
         * for RecordIO bodies, else lines */
        sm_transform_plan plan = {.split_line = arg % 5 != 4,
                                  .split_recordio = arg % 5 == 4,
                                  .single_record = arg & 0x80,
                                  .max_payload = (size_t)arg * 4 + 8};
        sm_error err = {0};
        size_t sent = 0;
        sm_transform_split(&plan, body, n, count_payload, &sent, &err);
    } else if (pick % 3 == 1) {
        char *accept = strndup(body, n);
        sm_predict_answer a = {0};
        sm_predict_accept(accept, &a);
        sm_predict_answer_clear(&a);
        free(accept);
    } else {
        source src = {data + 2, n, 0, arg};
        char *out = NULL;
        size_t len = 0;
        sm_error err = {0};
        if (sm_targz_extract(source_read, &src, SM_PREDICT_MODEL_FILE, 1 << 20,
                             &out, &len, &err) == 0)
            free(out);
    }
    return 0;
}
