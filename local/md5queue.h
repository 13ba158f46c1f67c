/* md5queue: the MD5s of bodies that arrive side by side, hashed in SIMD
 * lanes (md5lanes.h). A body's full buffers wait in the queue; they are
 * hashed when the body needs a buffer back or its digest, together with
 * other bodies' waiting buffers, one lane each. Nothing waits for company:
 * the thread that needs a result hashes at once whatever is queued. */
#ifndef SM_MD5QUEUE_H
#define SM_MD5QUEUE_H

#include <stddef.h>

typedef struct sm_md5_queue sm_md5_queue;
typedef struct sm_md5_stream sm_md5_stream;

/* A queue for streams whose buffers hold `buf_size` bytes (a multiple of
 * 64), at most `max_buffers` (at least 2) of them per stream. NULL: out of
 * memory. */
sm_md5_queue *sm_md5_queue_new(size_t buf_size, size_t max_buffers);

/* Every stream must have been freed. Safe on NULL; sets *q to NULL. */
void sm_md5_queue_free(sm_md5_queue **q);

/* A new stream (one body's MD5). NULL: out of memory. Streams may be
 * used from different threads, each stream by one thread at a time. */
sm_md5_stream *sm_md5_stream_new(sm_md5_queue *q);

/* A buffer of buf_size bytes (aligned to 4096) for the stream to fill: a
 * spare one, a new one, or one whose bytes have just been hashed. NULL:
 * out of memory. */
char *sm_md5_stream_buffer(sm_md5_stream *s);

/* `buf` (from sm_md5_stream_buffer, filled to buf_size bytes) comes next
 * in the stream. The queue keeps it until it is hashed; the caller may go
 * on reading it (to write it out) until it asks for another buffer. */
void sm_md5_stream_queue(sm_md5_stream *s, char *buf);

/* The digest of everything queued followed by `len` bytes of `tail`
 * (e.g. a buffer only partly filled, which stays the stream's). */
void sm_md5_stream_finish(sm_md5_stream *s, const char *tail, size_t len,
                          unsigned char out[16]);

/* Free the stream and its buffers, once no other thread is hashing them.
 * Safe on NULL; sets *s to NULL. */
void sm_md5_stream_free(sm_md5_stream **s);

#endif
