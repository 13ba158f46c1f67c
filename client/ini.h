/* ini: a forgiving reader of the INI dialect ~/.aws/config and
 * ~/.aws/credentials are written in. */
#ifndef SM_INI_H
#define SM_INI_H

#include <stddef.h>

#include "error.h"

typedef struct sm_ini sm_ini;

#define SM_INI_MAX_FILE (4u << 20) /* larger files are refused */

/* Parse the `len` bytes of `text` (borrowed). The dialect is Python's
 * configparser as botocore uses it, made forgiving:
 *   - "[section]" headers (the text between '[' and the last ']', trimmed,
 *     each run of blanks inside made one space);
 *   - "key = value" or "key: value"; keys are trimmed and lower-cased,
 *     values trimmed; a later duplicate key or section adds to or
 *     replaces the earlier one;
 *   - whole-line comments starting with '#' or ';' (no inline comments);
 *   - an indented line continues the key above it: when that key's own
 *     value is empty, each continuation "sub = v" becomes the key
 *     "key.sub" (botocore's nested "s3 =\n  max_concurrent_requests = 10");
 *     otherwise the lines are joined to the value with "\n";
 *   - CRLF or LF line ends, a UTF-8 byte-order mark, no final newline.
 * A line it cannot read (no '=', a NUL byte, a key before any section) is
 * skipped, never an error. NULL only when out of memory. Free with
 * sm_ini_destroy, which wipes every value (they may be secret keys). */
sm_ini *sm_ini_parse(const char *text, size_t len);

/* Read and parse the file at `path`. A missing file is an empty ini, not
 * an error; NULL with `err` set when it exists but cannot be read or is
 * over SM_INI_MAX_FILE. */
sm_ini *sm_ini_load(const char *path, sm_error *err);

void sm_ini_destroy(sm_ini **self);

/* Value of `key` (lower case) in `section`, or NULL. Borrowed. */
const char *sm_ini_get(const sm_ini *self, const char *section,
                       const char *key);

/* Nonzero when `section` appeared in the file (even empty). */
int sm_ini_has_section(const sm_ini *self, const char *section);

#endif
