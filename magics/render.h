/* render: values and tables as mimebundles (text/plain always, text/html
 * where a table reads better). */
#ifndef SM_RENDER_H
#define SM_RENDER_H

#include <jansson.h>

/* A new bundle for a table: `headers` is an array of strings, `rows` an
 * array of arrays of strings (both borrowed). Plain text is aligned
 * columns; HTML uses JupyterLab's CSS variables for light and dark themes. */
json_t *sm_render_table(const json_t *headers, const json_t *rows);

/* The text a value shows as: strings as they are, numbers and booleans as
 * JSON, objects and arrays as indented JSON. New string. */
char *sm_render_text(const json_t *value);

#endif
