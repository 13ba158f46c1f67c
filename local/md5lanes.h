/* md5lanes: MD5 of several independent streams at once, one stream per
 * SIMD lane (16 with AVX-512, 8 with AVX2), for the S3 ETags of bodies
 * that arrive side by side. One MD5 stream is a chain of dependent steps,
 * so a core hashing one stream waits on each step; lanes fill that wait
 * with other streams. Exactly MD5: the digests are those of sm_md5. */
#ifndef SM_MD5LANES_H
#define SM_MD5LANES_H

#include <stddef.h>

#include "md5.h"

/* Hash `blocks` 64-byte blocks starting at data[i] into md[i], for each
 * i < n. The streams must be distinct. A stream with bytes waiting in its
 * block buffer is hashed on its own, as sm_md5_update would. */
void sm_md5_lanes(sm_md5 *const md[], const void *const data[], size_t n,
                  size_t blocks);

/* How many lanes one pass hashes on this CPU (1 without SIMD). */
size_t sm_md5_lanes_width(void);

/* The implementation in use: "avx512", "avx2" or "scalar". */
const char *sm_md5_lanes_kind(void);

/* Use implementation `kind` (one of the names above) from now on; -1 when
 * this CPU or build cannot run it. For tests and benchmarks. */
int sm_md5_lanes_use(const char *kind);

#endif
