/* utf8: code-point offsets, validation and repair for text that goes into JSON. */
#ifndef SM_UTF8_H
#define SM_UTF8_H

#include <stddef.h>

/* Byte offset of code point `cp` in the NUL-terminated `s`, clamped to its
 * length. Invalid bytes count as one code point each. */
size_t sm_utf8_byte_offset(const char *s, size_t cp);

/* Number of code points in the first `bytes` bytes of `s`. */
size_t sm_utf8_cp_count(const char *s, size_t bytes);

/* Nonzero when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int sm_utf8_valid(const char *s, size_t len);

/* New NUL-terminated copy of s[0..len) with each invalid byte replaced by
 * U+FFFD and NUL bytes dropped; caller frees. NULL only when out of memory. */
char *sm_utf8_repair(const char *s, size_t len);

#endif
