/* render: values and tables as mimebundles (text/plain always, text/html
 * where a table reads better). */
#ifndef SM_RENDER_H
#define SM_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A new bundle for a table: `headers` is an array of strings, `rows` an
 * array of arrays of strings (both borrowed). Plain text is aligned
 * columns; HTML uses JupyterLab's CSS variables for light and dark themes. */
json_t *sm_render_table(const json_t *headers, const json_t *rows);

/* The text a value shows as: strings as they are, numbers and booleans as
 * JSON, objects and arrays as indented JSON. New string. */
char *sm_render_text(const json_t *value);

/* Sizes, times and durations for tables and progress lines, written into
 * out[size]: "12.4 MiB" (bytes below 1 KiB as "512 B"); epoch seconds as
 * "2024-05-01 12:00:03" in UTC ("" for 0); "1 h 02 min", "3 min 05 s",
 * "4.2 s". */
void sm_render_bytes(uint64_t bytes, char *out, size_t size);
void sm_render_time(double epoch_seconds, char *out, size_t size);
void sm_render_duration(double seconds, char *out, size_t size);

/* A chart of `metric` per round as a new bundle: image/svg+xml with one
 * line per member of `lines` (borrowed: label -> [[round, value], ...])
 * and the labels in a legend, and text/plain saying how many rounds each
 * line has and its last value, after "subject: " (subject may be NULL).
 * NULL when there are no points. The training card draws one per metric
 * with a line per channel; %compare one per metric with a line per run and
 * channel. */
json_t *sm_render_curves(const char *subject, const char *metric,
                         const json_t *lines);

#endif
