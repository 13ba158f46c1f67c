/* fuzz_local_training: libFuzzer target for what local training and
 * serving parse from users' files: CSV, LIBSVM and RecordIO-protobuf
 * training data, the
 * model.tar.gz reader (gzip, inflate, tar) and the hyperparameter map.
 * The first input byte picks the parser.
 * Build: clang -fsanitize=fuzzer,address,undefined -Icommon -Iclient
 * -Ilocal $(pkg-config --cflags jansson) tests/fuzz/fuzz_local_training.c
 * local/{dataset,targz,xgbparams,checksum}.c common/error.c -ljansson
 * -lcrypto -lsodium. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "targz.h"
#include "xgbparams.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    const uint8_t *data;
    size_t len, pos, step;
} input;

static ssize_t input_read(void *ctx, void *buf, size_t len)
{
    input *in = ctx;
    size_t n = in->len - in->pos;
    n = n < len ? n : len;
    n = n < in->step ? n : in->step;
    memcpy(buf, in->data + in->pos, n);
    in->pos += n;
    return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t which = data[0], step = data[1];
    const char *text = (const char *)data + 2;
    size_t n = size - 2;
    sm_error err = {0};
    if (which % 4 < 2) {
        sm_dataset ds;
        sm_dataset_format format = which % 4  ? SM_DATASET_LIBSVM
                                   : step & 2 ? SM_DATASET_RECORDIO
                                              : SM_DATASET_CSV;
        sm_dataset_init(&ds, format, step & 1);
        sm_dataset_add(&ds, "fuzz", text, n, &err);
        sm_dataset_clear(&ds);
    } else if (which % 4 == 2) {
        input in = {data + 2, n, 0, step ? step : 1};
        char *bytes = NULL;
        size_t len = 0;
        if (sm_targz_extract(input_read, &in, "xgboost-model", 1 << 20, &bytes,
                             &len, &err) == 0)
            free(bytes);
    } else {
        json_t *map = json_loadb(text, n, 0, NULL);
        sm_xgbparams p;
        if (json_is_object(map) && sm_xgbparams_parse(map, &p, &err) == 0)
            sm_xgbparams_clear(&p);
        json_decref(map);
    }
    return 0;
}
