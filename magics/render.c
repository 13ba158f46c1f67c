/* render: plain-text and HTML renderings shared by the magics. */
#include "render.h"

#include <math.h>
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

/* The fewest significant digits (1 to 17) that give `v` back when read. */
static int real_digits(double v)
{
    char text[40];
    for (int digits = 1; digits < 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            return digits;
    }
    return 17;
}

/* The digits the value's longest real needs, so that 0.21 shows as 0.21
 * rather than as jansson's default 0.20999999999999999. */
static int value_digits(const json_t *value)
{
    if (json_is_real(value))
        return real_digits(json_real_value(value));
    int most = 1;
    size_t n = json_is_array(value) ? json_array_size(value) : 0;
    for (size_t i = 0; i < n; i++) {
        int d = value_digits(json_array_get(value, i));
        most = d > most ? d : most;
    }
    for (void *it = json_object_iter((json_t *)value); it;
         it = json_object_iter_next((json_t *)value, it)) {
        int d = value_digits(json_object_iter_value(it));
        most = d > most ? d : most;
    }
    return most;
}

char *sm_render_text(const json_t *value)
{
    if (json_is_string(value))
        return strdup(json_string_value(value));
    if (!value || json_is_null(value))
        return strdup("");
    return json_dumps(value, JSON_INDENT(2) | JSON_ENCODE_ANY |
                                 JSON_REAL_PRECISION(value_digits(value)));
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

/* Extent of every point of every line: 0, or -1 when there is none. */
static int curves_extent(const json_t *lines, double box[4])
{
    box[0] = box[2] = INFINITY, box[1] = box[3] = -INFINITY;
    const char *label;
    json_t *series;
    json_object_foreach((json_t *)lines, label, series)
    {
        size_t i;
        json_t *pt;
        json_array_foreach(series, i, pt)
        {
            double x = json_number_value(json_array_get(pt, 0));
            double y = json_number_value(json_array_get(pt, 1));
            box[0] = fmin(box[0], x), box[1] = fmax(box[1], x);
            box[2] = fmin(box[2], y), box[3] = fmax(box[3], y);
        }
    }
    if (!isfinite(box[0]))
        return -1;
    if (box[1] == box[0])
        box[1] = box[0] + 1;
    if (box[3] == box[2])
        box[3] = box[2] + 1;
    return 0;
}

typedef struct chart {
    double W, H, L, R, T, B;
    double box[4]; /* xmin, xmax, ymin, ymax */
} chart;

static double chart_x(const chart *c, double x)
{
    return c->L +
           (c->W - c->L - c->R) * (x - c->box[0]) / (c->box[1] - c->box[0]);
}

static double chart_y(const chart *c, double y)
{
    double ph = c->H - c->T - c->B;
    return c->T + ph - ph * (y - c->box[2]) / (c->box[3] - c->box[2]);
}

static void chart_axes(sm_buf *b, const chart *c, const char *metric)
{
    char *title = sm_html_escape(metric);
    sm_buf_printf(b,
                  "<text x=\"%g\" y=\"16\" fill=\"#888\" font-size=\"13\">"
                  "%s per round</text>\n",
                  c->L, title ? title : "");
    free(title);
    double pw = c->W - c->L - c->R, ph = c->H - c->T - c->B;
    sm_buf_printf(b,
                  "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" "
                  "fill=\"none\" stroke=\"#888\" stroke-width=\"1\"/>\n",
                  c->L, c->T, pw, ph);
    for (int t = 0; t <= 4; t++) {
        double y = c->box[2] + (c->box[3] - c->box[2]) * t / 4;
        sm_buf_printf(b,
                      "<text x=\"%g\" y=\"%g\" fill=\"#888\" "
                      "text-anchor=\"end\">%.4g</text>\n",
                      c->L - 4, chart_y(c, y) + 4, y);
        /* whole rounds */
        double x = round(c->box[0] + (c->box[1] - c->box[0]) * t / 4);
        sm_buf_printf(b,
                      "<text x=\"%.1f\" y=\"%g\" fill=\"#888\" "
                      "text-anchor=\"middle\">%.0f</text>\n",
                      chart_x(c, x), c->T + ph + 14, x);
    }
    sm_buf_printf(b,
                  "<text x=\"%g\" y=\"%g\" fill=\"#888\" "
                  "text-anchor=\"middle\">round</text>\n",
                  c->L + pw / 2, c->H - 6);
}

static void chart_line(sm_buf *b, const chart *c, size_t k, const char *label,
                       const json_t *series)
{
    static const char *const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                         "#d62728", "#9467bd", "#8c564b",
                                         "#e377c2", "#17becf"};
    const char *color = colors[k % (sizeof colors / sizeof *colors)];
    sm_buf_printf(b,
                  "<polyline fill=\"none\" stroke=\"%s\" "
                  "stroke-width=\"2\" points=\"",
                  color);
    size_t i;
    json_t *pt;
    json_array_foreach(series, i, pt)
        sm_buf_printf(b, "%s%.1f,%.1f", i ? " " : "",
                      chart_x(c, json_number_value(json_array_get(pt, 0))),
                      chart_y(c, json_number_value(json_array_get(pt, 1))));
    sm_buf_puts(b, "\"/>\n");
    char *name = sm_html_escape(label);
    double lx = c->W - c->R + 10, ly = c->T + 10 + 18.0 * (double)k;
    sm_buf_printf(b,
                  "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" "
                  "stroke=\"%s\" stroke-width=\"2\"/><text x=\"%g\" "
                  "y=\"%g\" fill=\"#888\">%s</text>\n",
                  lx, ly, lx + 20, ly, color, lx + 24, ly + 4,
                  name ? name : "");
    free(name);
}

static char *curves_svg(const char *metric, const json_t *lines)
{
    chart c = {.W = 520, .H = 260, .L = 60, .R = 130, .T = 28, .B = 36};
    if (curves_extent(lines, c.box))
        return NULL;
    /* the legend is as wide as its longest label (about 6.5 px a letter) */
    const char *label;
    json_t *series;
    size_t longest = 0, n = json_object_size(lines);
    json_object_foreach((json_t *)lines, label, series)
    {
        size_t len = sm_utf8_cp_count(label, strlen(label));
        longest = len > longest ? len : longest;
    }
    c.R = fmax(c.R, 40 + 6.5 * (double)longest);
    c.W += c.R - 130;
    c.H = fmax(c.H, c.T + c.B + 20 + 18.0 * (double)n);
    sm_buf b = {0};
    sm_buf_printf(&b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
                  "height=\"%g\" viewBox=\"0 0 %g %g\" "
                  "font-family=\"sans-serif\" font-size=\"11\">\n",
                  c.W, c.H, c.W, c.H);
    chart_axes(&b, &c, metric);
    size_t k = 0;
    json_object_foreach((json_t *)lines, label, series)
        chart_line(&b, &c, k++, label, series);
    sm_buf_puts(&b, "</svg>\n");
    return sm_buf_take(&b);
}

/* "rmse per round (train: 20 rounds, last 0.51; ...)", after `subject: `. */
static char *curves_caption(const char *subject, const char *metric,
                            const json_t *lines)
{
    sm_buf text = {0};
    sm_buf_printf(&text, "%s%s%s per round (", subject ? subject : "",
                  subject ? ": " : "", metric);
    const char *label;
    json_t *series;
    int first = 1;
    json_object_foreach((json_t *)lines, label, series)
    {
        json_t *last = json_array_get(series, json_array_size(series) - 1);
        sm_buf_printf(&text, "%s%s: %zu rounds, last %.6g", first ? "" : "; ",
                      label, json_array_size(series),
                      json_number_value(json_array_get(last, 1)));
        first = 0;
    }
    sm_buf_puts(&text, ")");
    return sm_buf_take(&text);
}

json_t *sm_render_curves(const char *subject, const char *metric,
                         const json_t *lines)
{
    char *svg = curves_svg(metric, lines);
    if (!svg)
        return NULL;
    char *caption = curves_caption(subject, metric, lines);
    json_t *bundle = json_pack("{s:s, s:s}", "image/svg+xml", svg, "text/plain",
                               caption ? caption : "");
    free(caption);
    free(svg);
    return bundle;
}
