/* hex: bytes as lower-case hexadecimal, the form digests take in S3 ETags,
 * SigV4 payload hashes and the experiment journal. */
#ifndef SM_HEX_H
#define SM_HEX_H

#include <stddef.h>

/* `n` bytes into `out`, which holds 2 * n + 1 characters (NUL-terminated). */
void sm_hex(const unsigned char *bytes, size_t n, char *out);

#endif
