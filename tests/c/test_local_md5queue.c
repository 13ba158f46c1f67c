/* test_local_md5queue: bodies hashed through one queue from several
 * threads at once get OpenSSL's MD5, whatever their lengths; a stream
 * freed with buffers still waiting leaves the others right. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "md5queue.h"
#include "test.h"

#define BUF_SIZE 4096
#define THREADS 4
#define BODIES 6 /* per thread */

typedef struct worker {
    sm_md5_queue *q;
    uint64_t seed;
    int bad;
} worker;

static uint32_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 16);
}

/* One body: filled buffer by buffer as a blob fills them, some bodies
 * dropped halfway; 0 when the digest is OpenSSL's. */
static int one_body(worker *w, size_t len, int drop)
{
    unsigned char *data = malloc(len + 1), want[16], got[16];
    unsigned int n = 0;
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)next_random(&w->seed);
    sm_md5_stream *s = sm_md5_stream_new(w->q);
    if (!s) {
        free(data);
        return 1;
    }
    char *buf = NULL;
    size_t fill = 0;
    for (size_t done = 0; done < len;) {
        if (!buf && !(buf = sm_md5_stream_buffer(s)))
            break;
        size_t take =
            BUF_SIZE - fill < len - done ? BUF_SIZE - fill : len - done;
        take = take > 1000 ? 1000 : take; /* bytes come in pieces */
        memcpy(buf + fill, data + done, take);
        fill += take;
        done += take;
        if (fill == BUF_SIZE) {
            sm_md5_stream_queue(s, buf);
            buf = NULL;
            fill = 0;
        }
        if (drop && done > len / 2)
            break;
    }
    int bad = 0;
    if (!drop) {
        sm_md5_stream_finish(s, buf, fill, got);
        EVP_Digest(data, len, want, &n, EVP_md5(), NULL);
        bad = memcmp(want, got, 16) != 0;
    }
    sm_md5_stream_free(&s);
    free(data);
    return bad;
}

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < BODIES; i++) {
        size_t len = next_random(&w->seed) % (20 * BUF_SIZE);
        w->bad |= one_body(w, len, i % 3 == 2);
    }
    return NULL;
}

TEST(local_md5queue_streams_from_several_threads_equal_openssl)
{
    sm_md5_queue *q = sm_md5_queue_new(BUF_SIZE, 3);
    worker w[THREADS];
    pthread_t t[THREADS];
    CHECK(q);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){q, 0x1234567u + (uint64_t)i * 7919u, 0};
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    }
    int bad = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        bad |= w[i].bad;
    }
    sm_md5_queue_free(&q);
    CHECK(!bad);
    CHECK(q == NULL);
}

TEST(local_md5queue_empty_body_is_the_md5_of_nothing)
{
    sm_md5_queue *q = sm_md5_queue_new(BUF_SIZE, 2);
    sm_md5_stream *s = q ? sm_md5_stream_new(q) : NULL;
    unsigned char got[16], want[16];
    unsigned int n = 0;
    CHECK(s);
    sm_md5_stream_finish(s, NULL, 0, got);
    sm_md5_stream_free(&s);
    sm_md5_queue_free(&q);
    EVP_Digest("", 0, want, &n, EVP_md5(), NULL);
    CHECK(memcmp(got, want, 16) == 0);
}
