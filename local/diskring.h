/* diskring: writes to disk submitted without waiting (io_uring), one
 * small ring per thread. A write must be waited for on the thread that
 * started it, before its buffer is reused or freed. */
#ifndef SM_DISKRING_H
#define SM_DISKRING_H

#include <stddef.h>
#include <stdint.h>

typedef struct sm_disk_write {
    int pending;
    long result; /* bytes written, or -errno */
    void *ring;
} sm_disk_write;

/* Submit `len` bytes of `buf` at `offset`: 0, or -1 when this thread has
 * no ring (write synchronously instead). */
int sm_disk_write_start(sm_disk_write *w, int fd, const void *buf, size_t len,
                        uint64_t offset);

/* The submitted write's result (bytes or -errno); at once if done or
 * none was submitted (then 0). */
long sm_disk_write_wait(sm_disk_write *w);

#endif
