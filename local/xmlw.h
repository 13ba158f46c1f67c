/* xmlw: writing the XML documents the local services answer with, every
 * piece of text escaped on the way in. */
#ifndef SM_XMLW_H
#define SM_XMLW_H

#include <stddef.h>

#include "buf.h"

/* A document being written into a borrowed sm_buf. Elements open and
 * close in order; a failed allocation sticks (`failed`), so callers check
 * once at the end with sm_xmlw_finish. */
typedef struct sm_xmlw {
    sm_buf *out;
    int failed;
} sm_xmlw;

/* Start a document: the XML declaration, then `root` with the namespace
 * `xmlns` (NULL for none). */
void sm_xmlw_begin(sm_xmlw *self, sm_buf *out, const char *root,
                   const char *xmlns);

/* <name> and </name>. */
void sm_xmlw_open(sm_xmlw *self, const char *name);
void sm_xmlw_close(sm_xmlw *self, const char *name);

/* <name>text</name>, the text escaped; NULL text writes nothing at all. */
void sm_xmlw_text(sm_xmlw *self, const char *name, const char *text);

/* Same, for `len` bytes that may hold any byte but NUL. */
void sm_xmlw_text_n(sm_xmlw *self, const char *name, const char *text,
                    size_t len);

/* <name>printf text</name>, escaped. */
void sm_xmlw_textf(sm_xmlw *self, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Close `root`; 0, or -1 when an allocation failed on the way. */
int sm_xmlw_finish(sm_xmlw *self, const char *root);

/* Append `len` bytes of `s` to `out` escaped for XML text or a quoted
 * attribute: & < > " ' as entities, CR, other control characters and
 * DEL as numeric references (a document must round-trip every S3 key).
 * Returns 0, or -1 when out of memory. */
int sm_xmlw_escape(sm_buf *out, const char *s, size_t len);

#endif
