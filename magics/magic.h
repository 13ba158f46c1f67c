/* magic: the table of magics, their flags, and what a magic's function gets.
 * Internal to the magics layer. */
#ifndef SM_MAGIC_H
#define SM_MAGIC_H

#include <jansson.h>
#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "interp.h"

typedef struct sm_magics sm_magics;

typedef struct sm_flag {
    const char *name;  /* long name, without the dashes */
    char short_name;   /* -x form, or 0 */
    const char *value; /* what the value is ("SECONDS"); NULL for a switch */
    const char *help;
} sm_flag;

typedef struct sm_arg_flag {
    const sm_flag *flag; /* borrowed from the table */
    char *value;         /* owned; "" for a switch */
} sm_arg_flag;

typedef struct sm_arg_pair {
    char *key, *value; /* owned */
} sm_arg_pair;

typedef struct sm_args {
    char **positional;
    size_t n_positional;
    sm_arg_flag *flags;
    size_t n_flags;
    sm_arg_pair *pairs;
    size_t n_pairs;
} sm_args;

struct sm_magic;

typedef struct sm_call {
    sm_magics *m;
    sm_out *out;
    const struct sm_magic *magic;
    sm_args args;
    const char *body; /* the cell body for the %% form, else NULL */
    json_t *result;   /* new: the magic's value, NULL for none */
    json_t *shown;    /* new: how to show the value as the cell's result */
    sm_error err;     /* the one sentence for the user when fn fails */
    const char *ename; /* the error's name when fn fails; default UsageError */
} sm_call;

/* A magic's function: 0 on success, -1 with call->err set. */
typedef int (*sm_magic_fn)(sm_call *call);

#define SM_LINE 1u
#define SM_CELL 2u

typedef struct sm_magic {
    const char *name;
    sm_magic_fn fn;
    const char *usage;   /* "%sleep SECONDS" */
    const char *summary; /* one line: what it does */
    const char *returns; /* what it returns, or NULL */
    const char *example;
    const sm_flag *flags; /* ends with a row whose name is NULL */
    int min_args, max_args; /* positional arguments; max -1: any number */
    unsigned kinds;         /* SM_LINE, SM_CELL */
    bool pairs;             /* takes key=value words */
} sm_magic;

/* The table, in the order %help lists it. */
const sm_magic *sm_magic_table(size_t *count);
const sm_magic *sm_magic_find(const char *name);

/* The name in `names` (count, stride-free array) closest to `word`, or NULL
 * when none is close enough to suggest. */
const char *sm_closest(const char *word, const char *const *names,
                       size_t count);

/* Parse `words` (borrowed) against `magic`'s flags into `args`. Returns 0,
 * or -1 with `err` naming the unknown flag or missing value, with a
 * suggestion. */
int sm_args_parse(const sm_magic *magic, char *const *words, size_t n,
                  sm_args *args, sm_error *err);
void sm_args_clear(sm_args *args);
/* Value of flag `name` (borrowed), "" for a switch, NULL when absent. */
const char *sm_args_get(const sm_args *args, const char *name);

/* Help text of a magic: usage, summary, flags and example. New string. */
char *sm_magic_help(const sm_magic *magic);

/* Access to interpreter state for magic functions. */
sm_config *sm_magics_config(sm_magics *m);
json_t *sm_magics_vars(sm_magics *m); /* borrowed object name -> value */
struct sm_backend;
struct sm_backend *sm_magics_backend(sm_magics *m); /* borrowed */
struct sm_tracker;
struct sm_tracker *sm_magics_tracker(sm_magics *m); /* borrowed */

/* `text` with ${NAME} and ${NAME.field} expanded and $$ made $ (how cell
 * bodies that allow it expand): new string, or NULL with `err` set. */
char *sm_magics_expand(sm_magics *m, const char *text, sm_error *err);

/* Renderings of values and tables (render.c). */
json_t *sm_render_value(const json_t *value); /* new bundle, text/plain */
char *sm_html_escape(const char *s);          /* new string */

#endif
