/* tarwriter: writing a model.tar.gz as SageMaker packs /opt/ml/model: a
 * POSIX ustar archive in a gzip member. The deflate stream is made of
 * stored blocks (no compression), so nothing beyond the CRC-32 is needed;
 * every gzip reader takes it. */
#ifndef SM_TARWRITER_H
#define SM_TARWRITER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

/* One regular file to pack: its name in the archive and where it is. */
typedef struct sm_tarwriter_entry {
    const char *name; /* "xgboost-model"; at most 100 bytes */
    const char *path; /* borrowed */
} sm_tarwriter_entry;

/* Write the archive of `count` files to `out_path` (made or replaced;
 * written to a temporary name, then renamed). `mtime` stamps the
 * entries. 0, or -1 with `err` set. */
int sm_tarwriter_write(const char *out_path, const sm_tarwriter_entry *entries,
                   size_t count, time_t mtime, sm_error *err);

#endif
