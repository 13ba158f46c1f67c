/* magics: the command language interpreter behind the kernel (COMMANDS.md):
 * cells of magics, assignments and variables. Knows nothing of ZeroMQ. */
#ifndef SM_MAGICS_H
#define SM_MAGICS_H

#include "interp.h"

typedef struct sm_magics sm_magics;

/* New interpreter with default settings and no variables. */
sm_magics *sm_magics_new(void);
void sm_magics_destroy(sm_magics **self);

/* The handle the kernel calls; self stays owned by the caller. */
sm_interp sm_magics_interp(sm_magics *self);

/* The magics reference as a Markdown table, from the same table %help
 * prints. New string. */
char *sm_magics_reference_markdown(void);

#endif
