/* uri: percent-encoding as AWS wants it: RFC 3986 unreserved bytes kept,
 * everything else %XX with upper-case hex. */
#ifndef SM_URI_H
#define SM_URI_H

#include <stddef.h>

/* Nonzero when `c` is RFC 3986 unreserved: A-Z a-z 0-9 - . _ ~ */
int sm_uri_unreserved(unsigned char c);

/* Percent-encode the `len` bytes of `s` (borrowed; may hold any byte but
 * NUL), keeping unreserved bytes and, when `keep_slash` is nonzero, '/'.
 * Query names and values take keep_slash 0 (a space is %20, never '+');
 * S3 object keys and SigV4 paths take 1. Returns a new NUL-terminated
 * string, or NULL when out of memory. */
char *sm_uri_encode(const char *s, size_t len, int keep_slash);

/* Undo %XX escapes in the `len` bytes of `s` (borrowed). '+' stays '+'
 * (this is RFC 3986, not HTML forms) and a '%' without two hex digits after
 * it is kept as it is. Returns a new buffer of *out_len bytes plus a
 * terminating NUL (the bytes themselves may include NUL), or NULL when out
 * of memory. */
char *sm_uri_decode(const char *s, size_t len, size_t *out_len);

#endif
