/* targz: reading one file out of a model.tar.gz (a tar archive in one or
 * more gzip members, or a plain tar), streamed through a small inflater
 * of our own, so serving needs no zlib. (Writing one: tarwriter.h.) */
#ifndef SM_TARGZ_H
#define SM_TARGZ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Where the archive's bytes come from: up to `len` bytes into `buf`; how
 * many were read, 0 at the end, -1 on an error. */
typedef ssize_t (*sm_targz_read_fn)(void *ctx, void *buf, size_t len);

/* Find the regular file `name` (also as "./name") in the archive `read`
 * yields and copy its bytes into a new buffer: *bytes (free it) of *len
 * bytes, NUL-terminated. A file larger than `max` bytes is an error.
 * Returns 0 when found, 1 when the archive holds no such file, or -1 with
 * `err` set (not gzip or tar, damaged, too large, read failed). */
int sm_targz_extract(sm_targz_read_fn read, void *ctx, const char *name,
                     uint64_t max, char **bytes, size_t *len, sm_error *err);

#endif
