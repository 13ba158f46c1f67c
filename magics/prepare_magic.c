/* prepare_magic: %prepare, a CSV with a header made into what SageMaker's
 * built-in algorithms train on (label first, no header, no index),
 * shuffled with a seed and split into train, validation and test files.
 * Every value must be a number: a text column is refused with its name
 * and row rather than guessed at (one-hot encoding is the user's choice of
 * categories, and a model trained on guessed columns could not be fed the
 * same columns at prediction time). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws_magics.h"
#include "buf.h"
#include "csv.h"
#include "files.h"
#include "render.h"

#define PREPARE_MAX_BYTES (1ull << 30)
#define PREPARE_PREVIEW_ROWS 5
#define PREPARE_DEFAULT_SEED 42

static const char *const part_names[] = {"train", "validation", "test"};

/* ---- settings ------------------------------------------------------------ */

typedef struct prepare_plan {
    double fractions[3];
    size_t parts; /* 2 or 3 */
    uint64_t seed;
    char out[4096];
} prepare_plan;

static int parse_split(sm_call *call, const char *text, prepare_plan *plan)
{
    char *copy = strdup(text), *save = NULL;
    double sum = 0;
    size_t n = 0;
    int bad = !copy;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && !bad;
         tok = strtok_r(NULL, ",", &save)) {
        char *end;
        double f = strtod(tok, &end);
        bad = n == 3 || end == tok || *end || !isfinite(f) || f < 0 || f > 1;
        if (!bad)
            plan->fractions[n++] = f, sum += f;
    }
    free(copy);
    if (bad || n < 2 || fabs(sum - 1) > 1e-6 || plan->fractions[0] <= 0)
        return sm_error_set(&call->err,
                            "--split needs two or three fractions "
                            "that add up to 1, train first, like "
                            "0.8,0.1,0.1 or 0.8,0.2; not '%s'",
                            text);
    plan->parts = n;
    return 0;
}

/* DIR, or the file's path without .csv and with -prepared. */
static void default_out(const char *file, char *out, size_t size)
{
    size_t n = strlen(file);
    if (n > 4 && strcasecmp(file + n - 4, ".csv") == 0)
        n -= 4;
    snprintf(out, size, "%.*s-prepared", (int)n, file);
}

static int read_plan(sm_call *call, prepare_plan *plan)
{
    const sm_args *a = &call->args;
    const char *split = sm_args_get(a, "split");
    const char *seed = sm_args_get(a, "seed");
    const char *out = sm_args_get(a, "out");
    plan->seed = PREPARE_DEFAULT_SEED;
    if (parse_split(call, split ? split : "0.8,0.1,0.1", plan))
        return -1;
    if (seed) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(seed, &end, 10);
        if (end == seed || *end || errno || seed[0] == '-')
            return sm_error_set(&call->err,
                                "--seed needs a whole number from "
                                "0 up, not '%s'",
                                seed);
        plan->seed = s;
    }
    if (out && !*out)
        return sm_error_set(&call->err, "--out needs a folder");
    if (out)
        snprintf(plan->out, sizeof plan->out, "%s", out);
    else
        default_out(a->positional[0], plan->out, sizeof plan->out);
    for (size_t n = strlen(plan->out); n > 1 && plan->out[n - 1] == '/'; n--)
        plan->out[n - 1] = '\0';
    return 0;
}

/* ---- the table ----------------------------------------------------------- */

static int read_table(sm_call *call, const char *path, sm_csv *csv)
{
    size_t len = 0;
    char *text = sm_files_read(path, PREPARE_MAX_BYTES, &len);
    if (!text)
        return sm_error_set(&call->err, "cannot read %s: %s", path,
                            errno == EFBIG ? "larger than 1 GiB"
                                           : strerror(errno));
    if (memchr(text, '\0', len)) {
        free(text);
        return sm_error_set(&call->err,
                            "%s is not a CSV text file (it holds "
                            "NUL bytes)",
                            path);
    }
    if (sm_csv_parse(text, path, csv, &call->err))
        return -1;
    if (csv->rows < 2) {
        sm_error_set(&call->err,
                     "%s has %s; %%prepare needs a header row and "
                     "at least one row of data",
                     path,
                     csv->rows ? "a header but no rows" : "no rows at all");
        sm_csv_clear(csv);
        return -1;
    }
    return 0;
}

static char *trimmed(const char *s, char *out, size_t size)
{
    s += strspn(s, " \t");
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    snprintf(out, size, "%.*s", (int)n, s);
    return out;
}

/* The label's column: its exact name, else the one name equal but for
 * case. */
static int find_label(sm_call *call, const sm_csv *csv, const char *label,
                      size_t *column)
{
    char name[256];
    size_t folded = 0, folded_at = 0;
    for (size_t c = 0; c < csv->columns; c++) {
        trimmed(sm_csv_field(csv, 0, c), name, sizeof name);
        if (strcmp(name, label) == 0) {
            *column = c;
            return 0;
        }
        if (strcasecmp(name, label) == 0)
            folded++, folded_at = c;
    }
    if (folded == 1) {
        *column = folded_at;
        return 0;
    }
    const char **names = calloc(csv->columns, sizeof *names);
    sm_buf list = {0};
    for (size_t c = 0; names && c < csv->columns; c++) {
        names[c] = sm_csv_field(csv, 0, c);
        if (c < 12)
            sm_buf_printf(&list, "%s%s", c ? ", " : "", names[c]);
    }
    const char *guess = names ? sm_closest(label, names, csv->columns) : NULL;
    sm_error_set(&call->err,
                 "no column '%s' in the header%s%s%s (columns: "
                 "%s%s)",
                 label, guess ? "; did you mean '" : "", guess ? guess : "",
                 guess ? "'" : "", sm_buf_str(&list),
                 csv->columns > 12 ? ", ..." : "");
    sm_buf_free(&list);
    free(names);
    return -1;
}

/* A field XGBoost reads as a number: empty (missing) for a feature;
 * finite for the label. */
static int numeric(const char *field, int is_label)
{
    char v[128];
    if (strlen(field) >= sizeof v)
        return 0;
    trimmed(field, v, sizeof v);
    if (!*v)
        return !is_label;
    char *end;
    double d = strtod(v, &end);
    return !*end && (!is_label || isfinite(d));
}

static int check_numbers(sm_call *call, const char *path, const sm_csv *csv,
                         size_t label)
{
    for (size_t r = 1; r < csv->rows; r++)
        for (size_t c = 0; c < csv->columns; c++) {
            const char *f = sm_csv_field(csv, r, c);
            if (numeric(f, c == label))
                continue;
            if (c == label)
                return sm_error_set(&call->err,
                                    "the label column '%s' needs a "
                                    "number in every row: row %zu "
                                    "(line %zu of %s) has '%.40s'",
                                    sm_csv_field(csv, 0, c), r, csv->lines[r],
                                    path, f);
            return sm_error_set(&call->err,
                                "column '%s' is not numeric: row "
                                "%zu (line %zu of %s) has '%.40s'; "
                                "encode it as numbers (one-hot "
                                "for categories) or drop it",
                                sm_csv_field(csv, 0, c), r, csv->lines[r], path,
                                f);
        }
    return 0;
}

/* ---- shuffle and split --------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A number in [0, bound) with no modulo bias. */
static uint64_t below(uint64_t *state, uint64_t bound)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do
        r = splitmix64(state);
    while (r >= limit);
    return r % bound;
}

/* The data rows (1..rows-1) in the seed's order: a new array. */
static size_t *shuffled_rows(size_t count, uint64_t seed)
{
    size_t *order = malloc((count ? count : 1) * sizeof *order);
    if (!order)
        return NULL;
    for (size_t i = 0; i < count; i++)
        order[i] = i + 1;
    uint64_t state = seed;
    for (size_t i = count; i > 1; i--) {
        size_t j = (size_t)below(&state, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    return order;
}

static void split_counts(const prepare_plan *plan, size_t n, size_t counts[3])
{
    counts[0] = (size_t)floor(n * plan->fractions[0] + 0.5);
    if (counts[0] > n)
        counts[0] = n;
    if (plan->parts == 2) {
        counts[1] = n - counts[0], counts[2] = 0;
        return;
    }
    counts[1] = (size_t)floor(n * plan->fractions[1] + 0.5);
    if (counts[1] > n - counts[0])
        counts[1] = n - counts[0];
    counts[2] = n - counts[0] - counts[1];
}

/* One row as SageMaker reads it: the label, then the other columns. */
static void write_row(sm_buf *b, const sm_csv *csv, size_t row, size_t label)
{
    char v[128];
    sm_buf_puts(b, trimmed(sm_csv_field(csv, row, label), v, sizeof v));
    for (size_t c = 0; c < csv->columns; c++)
        if (c != label) {
            sm_buf_putc(b, ',');
            sm_buf_puts(b, trimmed(sm_csv_field(csv, row, c), v, sizeof v));
        }
    sm_buf_putc(b, '\n');
}

static int write_part(sm_call *call, const char *path, const sm_csv *csv,
                      const size_t *rows, size_t count, size_t label,
                      sm_buf *preview)
{
    sm_buf b = {0};
    for (size_t i = 0; i < count; i++) {
        size_t at = b.len;
        write_row(&b, csv, rows[i], label);
        if (preview && i < PREPARE_PREVIEW_ROWS)
            sm_buf_append(preview, b.data + at, b.len - at);
    }
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(sm_buf_str(&b), 1, b.len, f) == b.len;
    if (f && fclose(f) != 0)
        ok = 0;
    sm_buf_free(&b);
    if (!ok)
        return sm_error_set(&call->err, "cannot write %s: %s", path,
                            strerror(errno));
    return 0;
}

/* ---- %prepare ------------------------------------------------------------ */

static void show_summary(sm_call *call, const prepare_plan *plan,
                         const size_t counts[3], size_t columns,
                         const sm_buf *preview)
{
    json_t *headers = json_pack("[s, s, s]", "file", "rows", "path");
    json_t *rows = json_array();
    for (size_t i = 0; i < plan->parts; i++) {
        char n[32], path[4200];
        snprintf(n, sizeof n, "%zu", counts[i]);
        snprintf(path, sizeof path, "%s/%s.csv", plan->out, part_names[i]);
        json_array_append_new(
            rows, json_pack("[s+, s, s]", part_names[i], ".csv", n, path));
    }
    sm_out_display(call->out, sm_render_table(headers, rows), NULL, NULL);
    json_decref(headers);
    json_decref(rows);
    char line[160];
    snprintf(line, sizeof line,
             "train.csv, first rows (label, then %zu "
             "feature%s):\n",
             columns - 1, columns == 2 ? "" : "s");
    sm_buf text = {0};
    sm_buf_printf(&text, "%s%s", line, sm_buf_str(preview));
    sm_out_stream(call->out, "stdout", sm_buf_str(&text));
    sm_buf_free(&text);
}

int sm_magic_prepare(sm_call *call)
{
    const char *path = call->args.positional[0];
    const char *label = sm_args_get(&call->args, "label");
    if (!label || !*label)
        return sm_error_set(&call->err, "%%prepare needs --label COLUMN (the "
                                        "column to predict)");
    prepare_plan plan = {.parts = 0};
    sm_csv csv;
    size_t column = 0;
    if (read_plan(call, &plan) || read_table(call, path, &csv))
        return -1;
    size_t n = csv.rows - 1, counts[3], *order = NULL;
    int rc = find_label(call, &csv, label, &column);
    if (!rc && csv.columns < 2)
        rc = sm_error_set(&call->err,
                          "%s has only the label column; a model "
                          "needs at least one feature column",
                          path);
    if (!rc)
        rc = check_numbers(call, path, &csv, column);
    if (!rc && !(order = shuffled_rows(n, plan.seed)))
        rc = sm_error_set(&call->err, "out of memory");
    if (!rc && sm_files_mkdirs(plan.out, 0777) != 0)
        rc = sm_error_set(&call->err, "cannot make the folder %s: %s", plan.out,
                          strerror(errno));
    split_counts(&plan, n, counts);
    sm_buf preview = {0};
    for (size_t i = 0, first = 0; !rc && i < plan.parts; first += counts[i++]) {
        char out[4200];
        snprintf(out, sizeof out, "%s/%s.csv", plan.out, part_names[i]);
        rc = write_part(call, out, &csv, order + first, counts[i], column,
                        i == 0 ? &preview : NULL);
    }
    if (!rc) {
        show_summary(call, &plan, counts, csv.columns, &preview);
        call->result = json_string(plan.out);
    }
    sm_buf_free(&preview);
    free(order);
    sm_csv_clear(&csv);
    return rc ? -1 : 0;
}
