/* history: the inputs (and text outputs) of this kernel session, for
 * history_request's tail, range and search. Kept in an unlinked temporary
 * file, so the kernel's memory stays the same however many cells run. */
#ifndef SM_HISTORY_H
#define SM_HISTORY_H

#include <jansson.h>
#include <stdbool.h>

typedef struct sm_history sm_history;

/* Session number reported in history rows. */
#define SM_HISTORY_SESSION 1

/* New, empty history; NULL when no temporary file can be made. */
sm_history *sm_history_new(void);
void sm_history_destroy(sm_history **self);

/* Record cell `line` (its execution count) with its input (copied). */
int sm_history_add(sm_history *self, int line, const char *input);

/* Attach the text/plain output of cell `line` (copied), if it is stored. */
void sm_history_set_output(sm_history *self, int line, const char *output);

/* Answer the content of a history_request: a new array of rows
 * [session, line, input] or [session, line, [input, output]]. */
json_t *sm_history_query(const sm_history *self, const json_t *request);

#endif
