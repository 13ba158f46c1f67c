/* request_text: an HTTP/1.1 request written out as text (the SigV4 test
 * suite's request.txt), split into the pieces the signer takes. */
#ifndef SM_REQUEST_TEXT_H
#define SM_REQUEST_TEXT_H

#include <stddef.h>

#include "error.h"
#include "sigv4.h"

/* A parsed request; every string is owned by it. */
typedef struct sm_request_text {
    char *method;
    char *path;  /* the target up to the first '?', bytes as written */
    char *query; /* after that '?'; "" when there is none */
    char *version;
    sm_sigv4_header *headers; /* strings owned by this request; a folded
                               * value keeps its line breaks ("a\n  b") */
    size_t header_count;
    char *head; /* the header lines exactly as written, each ending in
                 * "\n", for writing the request back out */
    char *body; /* the bytes after the blank line (NUL-terminated too) */
    size_t body_len;
} sm_request_text;

/* Parse the `len` bytes of `text` (borrowed): a request line "METHOD
 * TARGET HTTP/1.1" (the target may hold spaces), header lines "Name:value",
 * continuation lines starting with a space or tab, then optionally a blank
 * line and the body. Lines end in "\n" or "\r\n". Returns a new request,
 * or NULL with `err` saying what is wrong. */
sm_request_text *sm_request_text_parse(const char *text, size_t len,
                                       sm_error *err);

/* Free *self_p and set it to NULL; NULL-safe. */
void sm_request_text_destroy(sm_request_text **self_p);

#endif
