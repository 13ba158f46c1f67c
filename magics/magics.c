/* magics: cells, lines, assignments, variables, and the calls into the
 * magic table; completion, inspection and is_complete for editors. */
#include "magics.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_magics.h"
#include "backend.h"
#include "buf.h"
#include "endpoint_track.h"
#include "magic.h"
#include "render.h"
#include "words.h"

#define VERSION "0.1.0"

struct sm_magics {
    sm_config *config;
    json_t *vars; /* name -> value; "_" is the last result */
    sm_backend *backend;
    sm_tracker *tracker; /* the endpoints this kernel created */
};

sm_config *sm_magics_config(sm_magics *m)
{
    return m->config;
}

json_t *sm_magics_vars(sm_magics *m)
{
    return m->vars;
}

sm_backend *sm_magics_backend(sm_magics *m)
{
    return m->backend;
}

sm_tracker *sm_magics_tracker(sm_magics *m)
{
    return m->tracker;
}

/* ---- variables ----------------------------------------------------------- */

static const json_t *lookup_path(const json_t *value, const char *path,
                                 sm_error *err, const char *name)
{
    char part[256];
    while (path && *path) {
        size_t n = strcspn(path, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, path);
        const json_t *next = NULL;
        if (json_is_object(value))
            next = json_object_get(value, part);
        else if (json_is_array(value) && isdigit((unsigned char)part[0]))
            next = json_array_get(value, strtoul(part, NULL, 10));
        if (!next) {
            sm_error_set(err, "$%s has no field '%s'", name, part);
            return NULL;
        }
        value = next;
        path = path[n] ? path + n + 1 : NULL;
    }
    return value;
}

static char *lookup_var(void *ctx, const char *name, const char *path,
                        sm_error *err)
{
    sm_magics *m = ctx;
    const json_t *value = json_object_get(m->vars, name);
    if (!value) {
        sm_error_set(err, "undefined variable $%s%s", name,
                     json_object_size(m->vars) ? "; %vars lists them" : "");
        return NULL;
    }
    value = lookup_path(value, path, err, name);
    if (!value)
        return NULL;
    if (json_is_string(value))
        return strdup(json_string_value(value));
    return json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
}

char *sm_magics_expand(sm_magics *m, const char *text, sm_error *err)
{
    return sm_words_expand(text, true, lookup_var, m, err);
}

/* ---- running one line or cell ------------------------------------------ */

static void send_error(sm_out *out, const char *ename, const char *message)
{
    char line[1400];
    snprintf(line, sizeof line, "\x1b[0;31m%s\x1b[0m: %s", ename, message);
    sm_out_error(out, ename, message, json_pack("[s]", line));
}

static int show_help(sm_out *out, const sm_magic *magic)
{
    char *help = sm_magic_help(magic);
    int rc = sm_out_display(out, json_pack("{s:s}", "text/plain", help), NULL,
                            NULL);
    free(help);
    return rc;
}

static const sm_magic *find_magic(const char *name, sm_error *err)
{
    const sm_magic *magic = sm_magic_find(name);
    if (magic)
        return magic;
    size_t count;
    const sm_magic *table = sm_magic_table(&count);
    const char *names[128];
    for (size_t i = 0; i < count && i < 128; i++)
        names[i] = table[i].name;
    const char *guess = sm_closest(name, names, count < 128 ? count : 128);
    if (guess)
        sm_error_set(err, "unknown magic %%%s; did you mean %%%s?", name, guess);
    else
        sm_error_set(err, "unknown magic %%%s; %%help lists the magics", name);
    return NULL;
}

/* Run `%name args` (or the %% form with `body`). On success *result is the
 * new value (or NULL) and *shown how to show it. */
static int run_magic(sm_magics *m, sm_out *out, const char *text,
                     const char *body, json_t **result, json_t **shown,
                     const char **ename, sm_error *err)
{
    size_t n = strspn(text, "abcdefghijklmnopqrstuvwxyz_0123456789");
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), text);
    if (n == 0 || (text[n] && !isspace((unsigned char)text[n])))
        return sm_error_set(err, "'%%%.40s' is not a magic name; %%help lists them",
                            text);
    const sm_magic *magic = find_magic(name, err);
    if (!magic)
        return -1;
    if (body && !(magic->kinds & SM_CELL))
        return sm_error_set(err, "%%%%%s is not a cell magic; use %%%s on a line",
                            name, name);
    if (!body && !(magic->kinds & SM_LINE))
        return sm_error_set(err, "%%%s is a cell magic; start the cell with %%%%%s",
                            name, name);
    sm_words words;
    if (sm_words_split(text + n, lookup_var, m, &words, err))
        return -1;
    sm_call call = {.m = m, .out = out, .magic = magic, .body = body};
    int rc = sm_args_parse(magic, words.items, words.count, &call.args, err);
    sm_words_clear(&words);
    if (rc)
        return -1;
    if (sm_args_get(&call.args, "help"))
        rc = show_help(out, magic);
    else if ((rc = magic->fn(&call)) != 0) {
        sm_error_set(err, "%s", call.err.message[0] ? call.err.message
                                                    : "the magic failed");
        *ename = call.ename ? call.ename : "UsageError";
    }
    sm_args_clear(&call.args);
    if (rc) {
        json_decref(call.result);
        json_decref(call.shown);
        return -1;
    }
    *result = call.result;
    *shown = call.shown;
    return 0;
}

static int page_help(sm_out *out, const char *name, sm_error *err)
{
    const sm_magic *magic = find_magic(name, err);
    if (!magic)
        return -1;
    char *help = sm_magic_help(magic);
    int rc = sm_out_page(out, json_pack("{s:s}", "text/plain", help));
    free(help);
    return rc;
}

/* Evaluate a bare variable reference: NAME, $NAME or ${NAME.path}. */
static json_t *eval_reference(sm_magics *m, const char *text, sm_error *err)
{
    char name[256], path[512] = "";
    size_t len = strlen(text);
    if (sm_words_is_name(text, len) && len < sizeof name) {
        snprintf(name, sizeof name, "%s", text);
    } else if (text[0] == '$' && sm_words_is_name(text + 1, len - 1) &&
               len < sizeof name) {
        snprintf(name, sizeof name, "%s", text + 1);
    } else if (strncmp(text, "${", 2) == 0 && text[len - 1] == '}' && len < 500) {
        size_t n = strcspn(text + 2, ".}");
        snprintf(name, sizeof name, "%.*s", (int)n, text + 2);
        if (text[2 + n] == '.')
            snprintf(path, sizeof path, "%.*s", (int)(len - 4 - n), text + 3 + n);
        if (!sm_words_is_name(name, strlen(name)))
            return NULL;
    } else {
        return NULL;
    }
    const json_t *value = json_object_get(m->vars, name);
    if (!value) {
        sm_error_set(err, "undefined variable %s", name);
        return NULL;
    }
    value = lookup_path(value, path, err, name);
    return value ? json_deep_copy(value) : NULL;
}

/* Length of `NAME =` at the start of `line` (not `==`), or 0. */
static size_t assignment_prefix(const char *line, char *name, size_t size)
{
    size_t n = 0;
    while (isalnum((unsigned char)line[n]) || line[n] == '_')
        n++;
    if (!sm_words_is_name(line, n) || n >= size)
        return 0;
    size_t i = n;
    while (line[i] == ' ' || line[i] == '\t')
        i++;
    if (line[i] != '=' || line[i + 1] == '=')
        return 0;
    snprintf(name, size, "%.*s", (int)n, line);
    i++;
    while (line[i] == ' ' || line[i] == '\t')
        i++;
    return i;
}

/* A literal assignment's value: the words of `text`, expanded, joined. */
static json_t *literal_value(sm_magics *m, const char *text, sm_error *err)
{
    sm_words words;
    if (sm_words_split(text, lookup_var, m, &words, err))
        return NULL;
    sm_buf b = {0};
    sm_buf_puts(&b, "");
    for (size_t i = 0; i < words.count; i++) {
        if (i)
            sm_buf_putc(&b, ' ');
        sm_buf_puts(&b, words.items[i]);
    }
    sm_words_clear(&words);
    json_t *value = json_string(sm_buf_str(&b));
    sm_buf_free(&b);
    if (!value)
        sm_error_set(err, "the value is not valid UTF-8");
    return value;
}

typedef struct line_outcome {
    json_t *value; /* new; what the line evaluates to (NULL: nothing) */
    json_t *shown; /* new; how to show it, NULL for the default */
    bool bound;    /* the value went into a variable */
} line_outcome;

static int run_line(sm_magics *m, sm_out *out, const char *line,
                    line_outcome *res, const char **ename, sm_error *err)
{
    char name[128];
    size_t len = strlen(line);
    *res = (line_outcome){0};
    if (line[0] == '%' && len > 2 && line[len - 1] == '?') {
        char magic[64];
        size_t n = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_0123456789");
        snprintf(magic, sizeof magic, "%.*s", (int)(n < 63 ? n : 63), line + 1);
        if (strspn(line + 1 + n, "?") == len - 1 - n)
            return page_help(out, magic, err);
    }
    size_t rhs = assignment_prefix(line, name, sizeof name);
    const char *expr = rhs ? line + rhs : line;
    if (rhs && strcmp(name, "_") == 0)
        return sm_error_set(err, "_ holds the last result and cannot be assigned");
    int rc = 0;
    if (expr[0] == '%')
        rc = run_magic(m, out, expr + 1, NULL, &res->value, &res->shown, ename,
                       err);
    else if (rhs && expr[0] == '$' &&
             (res->value = eval_reference(m, expr, err)))
        rc = 0; /* `r = $_`, `x = ${job.Metrics}`: the value, as it is */
    else if (rhs && err->message[0])
        rc = -1;
    else if (rhs)
        rc = (res->value = literal_value(m, expr, err)) ? 0 : -1;
    else if (!(res->value = eval_reference(m, expr, err)))
        rc = err->message[0] ? -1
                             : sm_error_set(err, "not a command: '%.60s'; "
                                                 "magics start with %% (try %%help)",
                                            line);
    if (!rc && rhs) {
        if (!res->value)
            return sm_error_set(err, "%.60s returns no value to assign to %s",
                                expr, name);
        json_object_set(m->vars, name, res->value);
        res->bound = true;
    }
    if (!rc && res->value)
        json_object_set(m->vars, "_", res->value);
    return rc;
}

/* ---- cells -------------------------------------------------------------- */

/* Split a cell into logical lines: a line ending in a backslash continues on
 * the next. New array of new strings, each trimmed. */
static json_t *logical_lines(const char *code)
{
    json_t *lines = json_array();
    sm_buf b = {0};
    const char *p = code;
    while (*p) {
        size_t n = strcspn(p, "\n");
        size_t end = n;
        while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t' ||
                           p[end - 1] == '\r'))
            end--;
        bool more = end > 0 && p[end - 1] == '\\' && p[n];
        sm_buf_append(&b, p, more ? end - 1 : end);
        if (more) {
            sm_buf_putc(&b, ' ');
        } else {
            const char *s = sm_buf_str(&b);
            s += strspn(s, " \t");
            json_array_append_new(lines, json_string(s));
            b.len = 0;
            if (b.data)
                b.data[0] = '\0';
        }
        p += n + (p[n] ? 1 : 0);
    }
    if (b.len)
        json_array_append_new(lines, json_string(sm_buf_str(&b) + strspn(sm_buf_str(&b), " \t")));
    sm_buf_free(&b);
    return lines;
}

static bool is_blank_or_comment(const char *line)
{
    return line[0] == '\0' || line[0] == '#';
}

/* Show `value` as the cell's execute_result (with `shown` when given). */
static void show_result(sm_out *out, json_t *value, json_t *shown)
{
    json_t *bundle = shown ? json_incref(shown) : sm_render_value(value);
    sm_out_result(out, bundle, NULL);
}

static int run_cell_magic(sm_magics *m, sm_out *out, const char *code)
{
    const char *first = code + strspn(code, " \t\r\n");
    size_t n = strcspn(first, "\n");
    char *head = strndup(first + 2, n - 2); /* n counts the %% too */
    const char *body = first[n] ? first + n + 1 : "";
    json_t *value = NULL, *shown = NULL;
    const char *ename = "UsageError";
    sm_error err = {0};
    int rc = run_magic(m, out, head, body, &value, &shown, &ename, &err);
    free(head);
    if (rc)
        send_error(out, ename, err.message);
    else if (value) {
        json_object_set(m->vars, "_", value);
        show_result(out, value, shown);
    }
    json_decref(value);
    json_decref(shown);
    return rc;
}

static int execute(void *self, sm_out *out, const sm_exec_request *req)
{
    sm_magics *m = self;
    const char *start = req->code + strspn(req->code, " \t\r\n");
    if (strncmp(start, "%%", 2) == 0)
        return run_cell_magic(m, out, req->code);
    json_t *lines = logical_lines(req->code);
    size_t last = 0, count = json_array_size(lines);
    for (size_t i = 0; i < count; i++)
        if (!is_blank_or_comment(json_string_value(json_array_get(lines, i))))
            last = i;
    int rc = 0;
    for (size_t i = 0; !rc && i < count; i++) {
        const char *line = json_string_value(json_array_get(lines, i));
        if (is_blank_or_comment(line))
            continue;
        line_outcome res;
        const char *ename = "UsageError";
        sm_error err = {0};
        rc = run_line(m, out, line, &res, &ename, &err);
        if (rc)
            send_error(out, ename, err.message);
        else if (i == last && res.value && !res.bound)
            show_result(out, res.value, res.shown);
        json_decref(res.value);
        json_decref(res.shown);
    }
    json_decref(lines);
    return rc;
}

/* ---- editing help --------------------------------------------------------- */

static void add_match(json_t *matches, const char *prefix, const char *name,
                      const char *typed)
{
    char candidate[256];
    snprintf(candidate, sizeof candidate, "%s%s", prefix, name);
    if (strncmp(candidate, typed, strlen(typed)) == 0)
        json_array_append_new(matches, json_string(candidate));
}

/* The magic named at the start of `line` (after % or %%), or NULL. */
static const sm_magic *line_magic(const char *line)
{
    line += strspn(line, " \t");
    if (line[0] != '%')
        return NULL;
    line += line[1] == '%' ? 2 : 1;
    char name[64];
    size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz_0123456789");
    snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), line);
    return sm_magic_find(name);
}

static void complete_word(sm_magics *m, const char *line, const char *word,
                          json_t *matches)
{
    size_t count;
    const sm_magic *table = sm_magic_table(&count);
    const sm_magic *magic = line_magic(line);
    bool first_word = word == line + strspn(line, " \t");
    const char *rhs = strchr(line, '=');
    if (!first_word && rhs && word > rhs && *(rhs + 1 + strspn(rhs + 1, " \t")) == '%' &&
        word == rhs + 1 + strspn(rhs + 1, " \t"))
        first_word = true; /* NAME = %ma| */
    if (word[0] == '%' && first_word) {
        const char *prefix = word[1] == '%' ? "%%" : "%";
        for (size_t i = 0; i < count; i++)
            if (table[i].kinds & (prefix[1] ? SM_CELL : SM_LINE))
                add_match(matches, prefix, table[i].name, word);
    } else if (word[0] == '$') {
        const char *key;
        json_t *value;
        const char *prefix = word[1] == '{' ? "${" : "$";
        json_object_foreach(m->vars, key, value) add_match(matches, prefix, key,
                                                           word);
    } else if (magic && !first_word && word[0] != '-' &&
               sm_complete_aws(m, magic, line, word, matches)) {
        /* S3 keys, local paths, job names */
    } else if (magic && word[0] == '-') {
        for (const sm_flag *f = magic->flags; f && f->name; f++)
            add_match(matches, "--", f->name, word);
        add_match(matches, "--", "help", word);
    } else if (magic && strcmp(magic->name, "config") == 0 && !strchr(word, '=')) {
        for (size_t i = 0; i < sm_config_count(); i++)
            add_match(matches, "", sm_config_key(i), word);
    }
}

static int complete(void *self, const char *code, size_t cursor,
                    json_t **matches, size_t *start, size_t *end)
{
    size_t line_start = cursor;
    while (line_start > 0 && code[line_start - 1] != '\n')
        line_start--;
    size_t word_start = cursor;
    while (word_start > line_start &&
           !isspace((unsigned char)code[word_start - 1]) &&
           code[word_start - 1] != '=')
        word_start--;
    /* a $ reference may follow other text in the word: a=$x| */
    const char *dollar = memchr(code + word_start, '$', cursor - word_start);
    if (dollar)
        word_start = (size_t)(dollar - code);
    char *line = strndup(code + line_start, cursor - line_start);
    char *word = strndup(code + word_start, cursor - word_start);
    *matches = json_array();
    complete_word(self, line, line + (word_start - line_start), *matches);
    free(line);
    free(word);
    *start = word_start;
    *end = cursor;
    return 0;
}

static json_t *inspect(void *self, const char *code, size_t cursor,
                       int detail_level)
{
    sm_magics *m = self;
    size_t line_start = cursor;
    while (line_start > 0 && code[line_start - 1] != '\n')
        line_start--;
    size_t line_len = strcspn(code + line_start, "\n");
    char *line = strndup(code + line_start, line_len);
    const sm_magic *magic = line_magic(line);
    json_t *bundle = NULL;
    if (magic) {
        char *help = sm_magic_help(magic);
        bundle = json_pack("{s:s}", "text/plain", help);
        free(help);
    } else {
        /* the variable under the cursor */
        size_t a = cursor - line_start, b = a;
        while (a > 0 && (isalnum((unsigned char)line[a - 1]) || line[a - 1] == '_'))
            a--;
        while (b < line_len && (isalnum((unsigned char)line[b]) || line[b] == '_'))
            b++;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(b - a < 127 ? b - a : 127),
                 line + a);
        const json_t *value = json_object_get(m->vars, name);
        if (value)
            bundle = sm_render_value(value);
    }
    free(line);
    return bundle;
}

static sm_completeness is_complete(void *self, const char *code, char **indent)
{
    size_t len = strlen(code);
    while (len > 0 && (code[len - 1] == ' ' || code[len - 1] == '\t'))
        len--;
    if (len > 0 && code[len - 1] == '\\')
        return SM_CODE_INCOMPLETE;
    const char *start = code + strspn(code, " \t\r\n");
    if (strncmp(start, "%%", 2) == 0) {
        /* a cell magic ends with an empty line, as in IPython's console */
        return len > 0 && code[len - 1] == '\n' ? SM_CODE_COMPLETE
                                                : SM_CODE_INCOMPLETE;
    }
    json_t *lines = logical_lines(code);
    sm_completeness result = SM_CODE_COMPLETE;
    for (size_t i = 0; i < json_array_size(lines); i++) {
        sm_words words;
        const char *line = json_string_value(json_array_get(lines, i));
        if (is_blank_or_comment(line))
            continue;
        if (sm_words_split(line, NULL, NULL, &words, NULL) != 0) {
            result = SM_CODE_INVALID;
            break;
        }
        sm_words_clear(&words);
    }
    json_decref(lines);
    return result;
}

static json_t *evaluate(void *self, const char *expression, sm_error *err)
{
    const char *e = expression + strspn(expression, " \t");
    json_t *value = eval_reference(self, e, err);
    if (!value) {
        if (!err->message[0])
            sm_error_set(err, "'%.60s' is not a variable", e);
        return NULL;
    }
    json_t *bundle = sm_render_value(value);
    json_decref(value);
    return bundle;
}

static json_t *language_info(void *self)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", "sagemagic",
                     "version", VERSION, "mimetype", "text/x-sagemagic",
                     "file_extension", ".sagemagic", "pygments_lexer", "bash",
                     "codemirror_mode", "shell", "nbconvert_exporter", "script");
}

/* The kernel exits (a restart too: what it tracked is lost with it). */
static void shutdown(void *self, bool restart)
{
    sm_magics *m = self;
    sm_tracker_shutdown(m->tracker,
                        sm_config_is_true(m->config, "cleanup_on_exit"));
}

static const sm_interp_ops magics_ops = {
    .execute = execute,
    .complete = complete,
    .inspect = inspect,
    .is_complete = is_complete,
    .evaluate = evaluate,
    .shutdown = shutdown,
    .language_info = language_info,
    .banner = "sagemagic " VERSION ": the SageMaker workflow in notebook cells.\n"
              "Type %help for the magics.",
    .implementation = "sagemagic",
    .implementation_version = VERSION,
};

sm_magics *sm_magics_new(void)
{
    sm_magics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->config = sm_config_new();
    m->vars = json_object();
    m->backend = sm_backend_new();
    m->tracker = sm_tracker_new();
    if (!m->config || !m->vars || !m->backend || !m->tracker)
        sm_magics_destroy(&m);
    return m;
}

void sm_magics_destroy(sm_magics **pm)
{
    sm_magics *m = *pm;
    if (!m)
        return;
    sm_config_destroy(&m->config);
    json_decref(m->vars);
    sm_backend_destroy(&m->backend);
    sm_tracker_destroy(&m->tracker);
    free(m);
    *pm = NULL;
}

sm_interp sm_magics_interp(sm_magics *self)
{
    return (sm_interp){&magics_ops, self};
}
