/* md5queue: streams with full buffers waiting are listed in their queue.
 * A thread that needs a stream's buffers hashed takes that stream and as
 * many other listed streams as one pass has lanes, marks them as being
 * hashed, and hashes them outside the lock, one buffer per stream per
 * round; a thread that needs a stream another thread is hashing waits
 * for it. A stream's buffers go back to it (spare) once hashed. */
#include "md5queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "md5.h"
#include "md5lanes.h"

#define BUFFER_ALIGN 4096
#define MAX_BATCH 16 /* the widest pass (md5lanes.c) */
/* Buffers of finished streams kept for the next ones: fresh pages cost a
 * fault each and their unmapping, about a tenth of the service's CPU
 * when bodies come one after another. */
#define POOL_MAX 32

struct sm_md5_queue {
    pthread_mutex_t lock;
    pthread_cond_t hashed; /* a batch has finished */
    size_t buf_size, max_buffers;
    sm_md5_stream *listed; /* streams with buffers waiting */
    size_t listed_count;
    char *pool[POOL_MAX];
    size_t pool_count;
};

struct sm_md5_stream {
    sm_md5_queue *q;
    sm_md5 md5; /* touched by whoever has `hashing` set, or at finish */
    /* the rest under q->lock */
    char **owned; /* every buffer of the stream, max_buffers slots */
    size_t owned_count;
    char **waiting; /* full, in stream order, not yet hashed */
    size_t waiting_count;
    char **spare;
    size_t spare_count;
    int hashing; /* a thread is hashing the first `taken` waiting buffers */
    size_t taken;
    int is_listed;
    sm_md5_stream *next;
};

sm_md5_queue *sm_md5_queue_new(size_t buf_size, size_t max_buffers)
{
    sm_md5_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->hashed, NULL);
    q->buf_size = buf_size;
    q->max_buffers = max_buffers < 2 ? 2 : max_buffers;
    return q;
}

void sm_md5_queue_free(sm_md5_queue **q)
{
    if (!*q)
        return;
    for (size_t i = 0; i < (*q)->pool_count; i++)
        free((*q)->pool[i]);
    pthread_cond_destroy(&(*q)->hashed);
    pthread_mutex_destroy(&(*q)->lock);
    free(*q);
    *q = NULL;
}

sm_md5_stream *sm_md5_stream_new(sm_md5_queue *q)
{
    sm_md5_stream *s = calloc(1, sizeof *s);
    if (s) {
        s->q = q;
        s->owned = calloc(q->max_buffers, sizeof *s->owned);
        s->waiting = calloc(q->max_buffers, sizeof *s->waiting);
        s->spare = calloc(q->max_buffers, sizeof *s->spare);
        sm_md5_init(&s->md5);
    }
    if (s && (!s->owned || !s->waiting || !s->spare))
        sm_md5_stream_free(&s);
    return s;
}

/* ---- the list (q->lock held) -------------------------------------------- */

static void list_add(sm_md5_queue *q, sm_md5_stream *s)
{
    if (s->is_listed)
        return;
    s->is_listed = 1;
    s->next = q->listed;
    q->listed = s;
    q->listed_count++;
}

static void list_remove(sm_md5_queue *q, sm_md5_stream *s)
{
    if (!s->is_listed)
        return;
    for (sm_md5_stream **at = &q->listed; *at; at = &(*at)->next)
        if (*at == s) {
            *at = s->next;
            break;
        }
    s->is_listed = 0;
    s->next = NULL;
    q->listed_count--;
}

/* ---- hashing ------------------------------------------------------------ */

/* Hash the first `rounds` waiting buffers of `first` (when not NULL) and
 * of other listed streams, at most one pass's lanes of streams: one round
 * hashes one buffer of each. Called and returns with q->lock held; drops
 * it while hashing. */
static void batch_run(sm_md5_queue *q, sm_md5_stream *first, size_t rounds)
{
    sm_md5_stream *batch[MAX_BATCH];
    size_t n = 0, width = sm_md5_lanes_width();
    if (width > MAX_BATCH)
        width = MAX_BATCH;
    if (first)
        batch[n++] = first;
    for (sm_md5_stream *s = q->listed; s && n < width; s = s->next)
        if (s != first && !s->hashing && s->waiting_count)
            batch[n++] = s;
    for (size_t i = 0; i < n; i++) {
        sm_md5_stream *s = batch[i];
        list_remove(q, s);
        s->hashing = 1;
        s->taken = s->waiting_count < rounds ? s->waiting_count : rounds;
    }
    pthread_mutex_unlock(&q->lock);
    for (size_t r = 0; r < rounds; r++) {
        sm_md5 *md[MAX_BATCH];
        const void *data[MAX_BATCH];
        size_t lanes = 0;
        for (size_t i = 0; i < n; i++)
            if (batch[i]->taken > r) {
                md[lanes] = &batch[i]->md5;
                data[lanes++] = batch[i]->waiting[r];
            }
        sm_md5_lanes(md, data, lanes, q->buf_size / 64);
    }
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < n; i++) {
        sm_md5_stream *s = batch[i];
        for (size_t k = 0; k < s->taken; k++)
            s->spare[s->spare_count++] = s->waiting[k];
        for (size_t k = s->taken; k < s->waiting_count; k++)
            s->waiting[k - s->taken] = s->waiting[k];
        s->waiting_count -= s->taken;
        s->taken = 0;
        s->hashing = 0;
        if (s->waiting_count)
            list_add(q, s);
    }
    pthread_cond_broadcast(&q->hashed);
}

/* Hash or wait until `s` has no buffer waiting (q->lock held). When
 * `for_spare`, stop as soon as it has a buffer to give: one round of
 * buffers is hashed at a time then, so that the other streams, whose
 * buffers wait too, fill every lane of it. */
static void settle(sm_md5_stream *s, int for_spare)
{
    sm_md5_queue *q = s->q;
    while (s->hashing || s->waiting_count) {
        if (for_spare && (s->spare_count || s->owned_count < q->max_buffers))
            return;
        if (s->hashing)
            pthread_cond_wait(&q->hashed, &q->lock);
        else
            batch_run(q, s, for_spare ? 1 : s->waiting_count);
    }
}

char *sm_md5_stream_buffer(sm_md5_stream *s)
{
    sm_md5_queue *q = s->q;
    char *buf = NULL;
    pthread_mutex_lock(&q->lock);
    settle(s, 1);
    if (s->spare_count)
        buf = s->spare[--s->spare_count];
    int grow = !buf && s->owned_count < q->max_buffers;
    void *fresh = grow && q->pool_count ? q->pool[--q->pool_count] : NULL;
    pthread_mutex_unlock(&q->lock);
    if (!grow)
        return buf;
    if (!fresh && posix_memalign(&fresh, BUFFER_ALIGN, q->buf_size) != 0)
        return NULL;
    /* only this thread adds to `owned`: the slot counted above is free */
    pthread_mutex_lock(&q->lock);
    s->owned[s->owned_count++] = fresh;
    pthread_mutex_unlock(&q->lock);
    return fresh;
}

void sm_md5_stream_queue(sm_md5_stream *s, char *buf)
{
    sm_md5_queue *q = s->q;
    pthread_mutex_lock(&q->lock);
    s->waiting[s->waiting_count++] = buf;
    if (!s->hashing)
        list_add(q, s);
    /* A full pass is there to be had: take it now rather than let the
     * buffers pile up. */
    size_t width = sm_md5_lanes_width();
    if (width > 1 && q->listed_count >= width)
        batch_run(q, s->hashing ? NULL : s, 1);
    pthread_mutex_unlock(&q->lock);
}

void sm_md5_stream_finish(sm_md5_stream *s, const char *tail, size_t len,
                          unsigned char out[16])
{
    pthread_mutex_lock(&s->q->lock);
    settle(s, 0);
    pthread_mutex_unlock(&s->q->lock);
    if (len) {
        sm_md5 *md[1] = {&s->md5};
        const void *data[1] = {tail};
        sm_md5_lanes(md, data, 1, len / 64);
        sm_md5_update(&s->md5, tail + len / 64 * 64, len % 64);
    }
    sm_md5_final(&s->md5, out);
}

void sm_md5_stream_free(sm_md5_stream **sp)
{
    sm_md5_stream *s = *sp;
    if (!s)
        return;
    pthread_mutex_lock(&s->q->lock);
    while (s->hashing)
        pthread_cond_wait(&s->q->hashed, &s->q->lock);
    list_remove(s->q, s);
    size_t kept = 0;
    for (; s->owned && kept < s->owned_count && s->q->pool_count < POOL_MAX;
         kept++)
        s->q->pool[s->q->pool_count++] = s->owned[kept];
    pthread_mutex_unlock(&s->q->lock);
    for (size_t i = kept; s->owned && i < s->owned_count; i++)
        free(s->owned[i]);
    free(s->owned);
    free(s->waiting);
    free(s->spare);
    free(s);
    *sp = NULL;
}
