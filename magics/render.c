/* render: plain-text and HTML renderings shared by the magics. */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "magic.h"
#include "utf8.h"

char *sm_html_escape(const char *s)
{
    sm_buf b = {0};
    for (; *s; s++) {
        switch (*s) {
        case '<': sm_buf_puts(&b, "&lt;"); break;
        case '>': sm_buf_puts(&b, "&gt;"); break;
        case '&': sm_buf_puts(&b, "&amp;"); break;
        case '"': sm_buf_puts(&b, "&quot;"); break;
        case '\'': sm_buf_puts(&b, "&#39;"); break;
        default: sm_buf_putc(&b, *s);
        }
    }
    return sm_buf_take(&b);
}

char *sm_render_text(const json_t *value)
{
    if (json_is_string(value))
        return strdup(json_string_value(value));
    if (!value || json_is_null(value))
        return strdup("");
    return json_dumps(value, JSON_INDENT(2) | JSON_ENCODE_ANY);
}

json_t *sm_render_value(const json_t *value)
{
    char *text = sm_render_text(value);
    json_t *bundle = json_pack("{s:s}", "text/plain", text ? text : "");
    free(text);
    return bundle;
}

/* Item i of `array` when it is a string, else "" (a cell, a header). */
static const char *text_at(const json_t *array, size_t i)
{
    const char *s = json_string_value(json_array_get(array, i));
    return s ? s : "";
}

static const char *cell(const json_t *rows, size_t r, size_t c)
{
    return text_at(json_array_get(rows, r), c);
}

static size_t width(const char *s)
{
    return sm_utf8_cp_count(s, strlen(s));
}

static void pad_row(sm_buf *b, const char *const *cells, const size_t *widths,
                    size_t ncols)
{
    for (size_t c = 0; c < ncols; c++) {
        sm_buf_puts(b, cells[c]);
        if (c + 1 < ncols)
            for (size_t w = width(cells[c]); w < widths[c] + 2; w++)
                sm_buf_putc(b, ' ');
    }
    while (b->len && b->data[b->len - 1] == ' ')
        b->data[--b->len] = '\0';
    sm_buf_putc(b, '\n');
}

static char *plain_table(const json_t *headers, const json_t *rows)
{
    size_t ncols = json_array_size(headers), nrows = json_array_size(rows);
    size_t widths[32] = {0};
    const char *cells[32];
    if (ncols > 32)
        ncols = 32;
    for (size_t c = 0; c < ncols; c++) {
        widths[c] = width(text_at(headers, c));
        for (size_t r = 0; r < nrows; r++)
            if (width(cell(rows, r, c)) > widths[c])
                widths[c] = width(cell(rows, r, c));
    }
    sm_buf b = {0};
    for (size_t c = 0; c < ncols; c++)
        cells[c] = text_at(headers, c);
    pad_row(&b, cells, widths, ncols);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++)
            cells[c] = cell(rows, r, c);
        pad_row(&b, cells, widths, ncols);
    }
    return sm_buf_take(&b);
}

static void html_cell(sm_buf *b, const char *tag, const char *text)
{
    char *esc = sm_html_escape(text);
    sm_buf_printf(b,
                  "<%s style=\"text-align:left;padding:2px 10px;border-bottom:"
                  "1px solid var(--jp-border-color2,#ddd)\">%s</%s>",
                  tag, esc, tag);
    free(esc);
}

static char *html_table(const json_t *headers, const json_t *rows)
{
    sm_buf b = {0};
    sm_buf_puts(&b, "<table style=\"border-collapse:collapse;color:var(--jp-"
                    "content-font-color1,inherit);font-size:var(--jp-code-"
                    "font-size,13px)\"><thead><tr>");
    size_t ncols = json_array_size(headers);
    for (size_t c = 0; c < ncols; c++)
        html_cell(&b, "th", text_at(headers, c));
    sm_buf_puts(&b, "</tr></thead><tbody>");
    for (size_t r = 0; r < json_array_size(rows); r++) {
        sm_buf_puts(&b, "<tr>");
        for (size_t c = 0; c < ncols; c++)
            html_cell(&b, "td", cell(rows, r, c));
        sm_buf_puts(&b, "</tr>");
    }
    sm_buf_puts(&b, "</tbody></table>");
    return sm_buf_take(&b);
}

json_t *sm_render_table(const json_t *headers, const json_t *rows)
{
    char *plain = plain_table(headers, rows), *html = html_table(headers, rows);
    json_t *bundle = json_pack("{s:s, s:s}", "text/plain", plain, "text/html",
                               html);
    free(plain);
    free(html);
    return bundle;
}

void sm_render_bytes(uint64_t bytes, char *out, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(out, size, "%llu B", (unsigned long long)bytes);
        return;
    }
    double v = (double)bytes / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
        v /= 1024;
        u++;
    }
    snprintf(out, size, "%.1f %s", v, units[u]);
}

void sm_render_time(double epoch_seconds, char *out, size_t size)
{
    struct tm tm;
    time_t t = (time_t)epoch_seconds;
    if (epoch_seconds <= 0 || !gmtime_r(&t, &tm) ||
        strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, size, "%s", "");
}

void sm_render_duration(double seconds, char *out, size_t size)
{
    if (seconds < 0)
        seconds = 0;
    long s = (long)(seconds + 0.5);
    if (seconds < 60)
        snprintf(out, size, "%.1f s", seconds);
    else if (s < 3600)
        snprintf(out, size, "%ld min %02ld s", s / 60, s % 60);
    else
        snprintf(out, size, "%ld h %02ld min", s / 3600, (s % 3600) / 60);
}
