/* chunked: a streaming decoder for the aws-chunked content encoding that
 * S3 clients use with x-amz-content-sha256 STREAMING-* values: chunks of
 * "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n", a zero-size chunk,
 * then trailer lines ("x-amz-checksum-crc32:<b64>") and an empty line. */
#ifndef SM_CHUNKED_H
#define SM_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SM_CHUNKED_MAX_LINE 4096 /* one size or trailer line */

/* Where the decoded stream goes. Each callback returns 0 to go on, or -1
 * with `err` set to stop the decoder with that error. */
typedef struct sm_chunked_sink {
    /* Bytes of the current chunk's data, in order. */
    int (*data)(void *ctx, const char *data, size_t len, sm_error *err);
    /* The chunk of `size` bytes has ended (the final zero-size chunk
     * included, before any trailer); `signature` (borrowed) is its
     * chunk-signature, or NULL. */
    int (*chunk_end)(void *ctx, uint64_t size, const char *signature,
                     sm_error *err);
    /* One trailer line, split at its ':', name and value trimmed
     * (borrowed). `line` is the line as sent, without CRLF. */
    int (*trailer)(void *ctx, const char *name, const char *value,
                   const char *line, sm_error *err);
    void *ctx;
} sm_chunked_sink;

typedef struct sm_chunked sm_chunked;

/* New decoder writing to `sink` (copied; its ctx borrowed), or NULL when
 * out of memory. */
sm_chunked *sm_chunked_new(const sm_chunked_sink *sink);
void sm_chunked_destroy(sm_chunked **self);

/* Decode the next `len` bytes of the encoded body. Returns 0, or -1 with
 * `err` set when the encoding is broken or a callback stopped it; after
 * that the decoder refuses more input. */
int sm_chunked_feed(sm_chunked *self, const char *data, size_t len,
                    sm_error *err);

/* The body has ended: 0 when it ended where an encoded body may end, -1
 * with `err` set when it was cut short. */
int sm_chunked_finish(sm_chunked *self, sm_error *err);

/* Bytes of chunk data decoded so far. */
uint64_t sm_chunked_decoded(const sm_chunked *self);

#endif
