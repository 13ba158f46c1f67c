/* interp: what the kernel asks of a language (execute, complete, inspect,
 * is_complete) and the outputs it offers one while a request runs. */
#ifndef SM_INTERP_H
#define SM_INTERP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The output channel of one request. Borrowed by the interpreter for the
 * length of a call; its functions may be called from any thread meanwhile. */
typedef struct sm_out sm_out;

typedef struct sm_exec_request {
    const char *code;
    int execution_count; /* this cell's number */
    bool silent;
    bool store_history;
    bool allow_stdin;
} sm_exec_request;

typedef enum sm_completeness {
    SM_CODE_COMPLETE,
    SM_CODE_INCOMPLETE,
    SM_CODE_INVALID,
    SM_CODE_UNKNOWN,
} sm_completeness;

/* Offsets are byte offsets into the code; the kernel converts to and from
 * the protocol's code points. */
typedef struct sm_interp_ops {
    /* Run a cell. Outputs go through `out`. Returns 0 when the cell ran
     * without error; otherwise nonzero after sending exactly one error with
     * sm_out_error. */
    int (*execute)(void *self, sm_out *out, const sm_exec_request *req);
    /* Completions at `cursor`: a new array of strings in *matches and the
     * byte range [*start, *end) they replace. Returns 0. */
    int (*complete)(void *self, const char *code, size_t cursor,
                    json_t **matches, size_t *start, size_t *end);
    /* Help for what is at `cursor`: a new mimebundle, or NULL if none. */
    json_t *(*inspect)(void *self, const char *code, size_t cursor,
                       int detail_level);
    /* Whether `code` is ready to run; *indent (new, may stay NULL) for
     * incomplete code. */
    sm_completeness (*is_complete)(void *self, const char *code,
                                   char **indent);
    /* Value of a user expression: a new mimebundle, or NULL with `err`. */
    json_t *(*evaluate)(void *self, const char *expression, sm_error *err);
    /* The kernel is about to exit (restart or not). */
    void (*shutdown)(void *self, bool restart);
    /* A new language_info object for kernel_info_reply. */
    json_t *(*language_info)(void *self);
    const char *banner;
    const char *implementation;
    const char *implementation_version;
} sm_interp_ops;

typedef struct sm_interp {
    const sm_interp_ops *ops;
    void *self;
} sm_interp;

/* Outputs. Each returns 0, or -1 when the message could not be sent. While
 * the request is silent they send nothing and return 0. Bundles and
 * metadata are stolen; metadata may be NULL. */
int sm_out_stream(sm_out *out, const char *name, const char *text);
int sm_out_display(sm_out *out, json_t *data, json_t *metadata,
                   const char *display_id);
int sm_out_update_display(sm_out *out, json_t *data, json_t *metadata,
                          const char *display_id);
/* The cell's execute_result; `data` must hold text/plain. */
int sm_out_result(sm_out *out, json_t *data, json_t *metadata);
/* The cell's error; `traceback` (stolen, may be NULL) is a list of lines. */
int sm_out_error(sm_out *out, const char *ename, const char *evalue,
                 json_t *traceback);
int sm_out_clear(sm_out *out, bool wait);
/* Add a "page" payload to the reply (what `?` shows in a pager). */
int sm_out_page(sm_out *out, json_t *data);

/* Ask the frontend for a line of input. On success *value is new and 0 is
 * returned; -1 with `err` when the frontend allows no input, the user
 * interrupted or the kernel is shutting down. */
int sm_out_input(sm_out *out, const char *prompt, bool password, char **value,
                 sm_error *err);

/* Wait up to `ms` milliseconds. Returns 0 after the full wait, 1 as soon as
 * the request is interrupted (or the kernel is told to stop). */
int sm_out_wait(sm_out *out, long ms);

/* Nonzero once the running request has been interrupted. */
int sm_out_interrupted(sm_out *out);

#endif
