/* words: shell-like splitting of a magic's arguments, with $NAME, ${NAME}
 * and ${NAME.field} expansion and $$ for a literal dollar. */
#ifndef SM_WORDS_H
#define SM_WORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Looks a variable up for expansion: `name` and an optional dotted `path`
 * (NULL when none). Returns a new string, or NULL with `err` set. */
typedef char *(*sm_words_lookup)(void *ctx, const char *name,
                                 const char *path, sm_error *err);

typedef struct sm_words {
    char **items;   /* owned */
    bool *quoted;   /* quoted[i]: some part of word i was in quotes */
    size_t *starts; /* byte offset in the input where word i begins */
    size_t count;
} sm_words;

/* Split `text` into words. Quotes: '...' is literal, "..." expands $ and
 * takes \" \\ \$ escapes; outside quotes a backslash escapes the next byte.
 * With `lookup` NULL, $ is kept as it is. Returns 0, or -1 with `err` set
 * (an unterminated quote, an undefined variable). */
int sm_words_split(const char *text, sm_words_lookup lookup, void *ctx,
                   sm_words *out, sm_error *err);

void sm_words_clear(sm_words *words);

/* Expand $ references in `text` without splitting it (for cell bodies that
 * allow ${...}): new string, or NULL with `err` set. `braced_only` expands
 * only ${...} forms and $$. */
char *sm_words_expand(const char *text, bool braced_only,
                      sm_words_lookup lookup, void *ctx, sm_error *err);

/* Nonzero when `s` is a valid variable name: [A-Za-z_][A-Za-z0-9_]*. */
int sm_words_is_name(const char *s, size_t len);

#endif
