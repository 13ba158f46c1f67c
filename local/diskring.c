/* diskring: a body's writes to disk that do not hold up its thread. Each
 * thread has a small io_uring of its own; a write is submitted and its
 * thread goes back to its connections, to collect the result when it
 * needs the buffer again or the body ends. An upload's threads otherwise
 * sat in O_DIRECT writes while the CPUs idled (bench/RESULTS.md). Where
 * the kernel has no io_uring for us, the caller writes as before. */
#include "diskring.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RING_ENTRIES 16

typedef struct ring {
    int fd;
    void *sq_map, *cq_map;
    size_t sq_map_len, cq_map_len;
    struct io_uring_sqe *sqes;
    size_t sqes_len;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_cqe *cqes;
    unsigned in_flight;
} ring;

static pthread_key_t ring_key;
static pthread_once_t ring_once = PTHREAD_ONCE_INIT;
static int ring_key_ok;

static void ring_free(void *p)
{
    ring *r = p;
    if (!r)
        return;
    if (r->sqes)
        munmap(r->sqes, r->sqes_len);
    if (r->cq_map && r->cq_map != r->sq_map)
        munmap(r->cq_map, r->cq_map_len);
    if (r->sq_map)
        munmap(r->sq_map, r->sq_map_len);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

static void ring_key_make(void)
{
    ring_key_ok = pthread_key_create(&ring_key, ring_free) == 0;
}

static void *map(int fd, size_t len, off_t what)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   fd, what);
    return p == MAP_FAILED ? NULL : p;
}

static int ring_map(ring *r, const struct io_uring_params *p)
{
    r->sq_map_len = p->sq_off.array + p->sq_entries * sizeof(unsigned);
    r->cq_map_len =
        p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
    if (p->features & IORING_FEAT_SINGLE_MMAP) {
        if (r->cq_map_len > r->sq_map_len)
            r->sq_map_len = r->cq_map_len;
        r->sq_map = map(r->fd, r->sq_map_len, IORING_OFF_SQ_RING);
        r->cq_map = r->sq_map;
    } else {
        r->sq_map = map(r->fd, r->sq_map_len, IORING_OFF_SQ_RING);
        r->cq_map = map(r->fd, r->cq_map_len, IORING_OFF_CQ_RING);
    }
    r->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = map(r->fd, r->sqes_len, IORING_OFF_SQES);
    if (!r->sq_map || !r->cq_map || !r->sqes)
        return -1;
    char *sq = r->sq_map, *cq = r->cq_map;
    r->sq_head = (unsigned *)(sq + p->sq_off.head);
    r->sq_tail = (unsigned *)(sq + p->sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p->sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p->sq_off.array);
    r->cq_head = (unsigned *)(cq + p->cq_off.head);
    r->cq_tail = (unsigned *)(cq + p->cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p->cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p->cq_off.cqes);
    return 0;
}

/* This thread's ring, made on first use; NULL: none to be had. */
static ring *ring_of_thread(void)
{
    pthread_once(&ring_once, ring_key_make);
    if (!ring_key_ok)
        return NULL;
    ring *r = pthread_getspecific(ring_key);
    if (r)
        return r->fd >= 0 ? r : NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    r->fd = (int)syscall(SYS_io_uring_setup, RING_ENTRIES, &p);
    if (r->fd >= 0 && ring_map(r, &p) != 0) {
        ring_free(r);
        r = calloc(1, sizeof *r);
        if (!r)
            return NULL;
        r->fd = -1;
    }
    if (pthread_setspecific(ring_key, r) != 0) {
        ring_free(r);
        return NULL;
    }
    return r->fd >= 0 ? r : NULL; /* a failed ring is remembered as such */
}

static int enter(ring *r, unsigned submit, unsigned wait)
{
    for (;;) {
        long n = syscall(SYS_io_uring_enter, r->fd, submit, wait,
                         wait ? IORING_ENTER_GETEVENTS : 0u, NULL, 0);
        if (n >= 0 || errno != EINTR)
            return n < 0 ? -1 : 0;
    }
}

int sm_disk_write_start(sm_disk_write *w, int fd, const void *buf, size_t len,
                        uint64_t offset)
{
    ring *r = ring_of_thread();
    if (!r || r->in_flight >= RING_ENTRIES || len > UINT32_MAX)
        return -1;
    unsigned tail = *r->sq_tail;
    unsigned i = tail & *r->sq_mask;
    struct io_uring_sqe *sqe = &r->sqes[i];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_WRITE;
    sqe->fd = fd;
    sqe->addr = (uint64_t)(uintptr_t)buf;
    sqe->len = (uint32_t)len;
    sqe->off = offset;
    sqe->user_data = (uint64_t)(uintptr_t)w;
    r->sq_array[i] = i;
    __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
    w->pending = 1;
    w->result = 0;
    w->ring = r;
    if (enter(r, 1, 0) != 0) {
        /* not taken: undo, the caller writes itself */
        __atomic_store_n(r->sq_tail, tail, __ATOMIC_RELEASE);
        w->pending = 0;
        return -1;
    }
    r->in_flight++;
    return 0;
}

/* Completions of this ring, whosever they are, until `w` has its own. */
static void reap_until(ring *r, sm_disk_write *w)
{
    while (w->pending) {
        unsigned head = *r->cq_head;
        unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
        if (head == tail) {
            if (enter(r, 0, 1) != 0 && errno != EAGAIN && errno != EBUSY) {
                w->pending = 0; /* cannot wait: report it as failed */
                w->result = -errno;
            }
            continue;
        }
        struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
        sm_disk_write *done = (sm_disk_write *)(uintptr_t)cqe->user_data;
        done->result = cqe->res;
        done->pending = 0;
        __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
        r->in_flight--;
    }
}

long sm_disk_write_wait(sm_disk_write *w)
{
    if (w->pending)
        reap_until(w->ring, w);
    return w->result;
}
