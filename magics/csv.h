/* csv: a CSV text (RFC 4180: quoted fields with "" inside them, LF, CRLF
 * or CR line ends, blank lines skipped) read into rows of fields, as
 * Python's csv module reads it. Internal to the magics layer. */
#ifndef SM_CSV_H
#define SM_CSV_H

#include <stddef.h>

#include "error.h"

/* The fields point into `text`, which the table owns. */
typedef struct sm_csv {
    char *text;
    char **fields;  /* row after row, `columns` each */
    size_t *lines;  /* the file's line number (1-based) where each row starts */
    size_t rows;    /* the header included */
    size_t columns; /* of the first row; every row has this many */
    size_t count, cap, row_cap; /* fields held and room for them */
} sm_csv;

/* Read `text` (stolen: freed on failure too) of `name` (borrowed, for
 * messages) into `out`. Every row must have as many fields as the first.
 * 0, or -1 with `err` naming the line. */
int sm_csv_parse(char *text, const char *name, sm_csv *out, sm_error *err);

/* Field `column` of row `row` (borrowed). */
const char *sm_csv_field(const sm_csv *self, size_t row, size_t column);

void sm_csv_clear(sm_csv *self);

#endif
