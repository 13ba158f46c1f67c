/* builtins: the table of magics and the ones that need no SageMaker:
 * %help, %config, %vars, %echo, %sleep, %clear. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "magic.h"
#include "magics.h"
#include "render.h"

static int magic_help(sm_call *call);
static int magic_config(sm_call *call);
static int magic_vars(sm_call *call);
static int magic_echo(sm_call *call);
static int magic_sleep(sm_call *call);
static int magic_clear(sm_call *call);

static const sm_flag no_flags[] = {{0}};
static const sm_flag echo_flags[] = {
    {"stderr", 'e', NULL, "write to standard error instead of standard output"},
    {"no-newline", 'n', NULL, "do not end with a newline"},
    {0}};
static const sm_flag clear_flags[] = {
    {"wait", 'w', NULL, "clear when the next output arrives (no flicker)"},
    {0}};

static const sm_magic table[] = {
    {"help", magic_help, "%help [MAGIC]",
     "lists the magics, or shows one magic's usage, flags and an example", NULL,
     "%help config", no_flags, 0, 1, SM_LINE, false},
    {"config", magic_config, "%config [KEY[=VALUE] ...]",
     "shows or sets settings; %%config takes one KEY = VALUE per line",
     "the settings", "%config backend=local region=us-west-2", no_flags, 0, -1,
     SM_LINE | SM_CELL, true},
    {"vars", magic_vars, "%vars", "lists the variables and their values", NULL,
     "%vars", no_flags, 0, 0, SM_LINE, false},
    {"echo", magic_echo, "%echo [-e] [-n] WORDS...",
     "prints the words (with $NAME expanded)", NULL, "%echo training on $train",
     echo_flags, 0, -1, SM_LINE, false},
    {"sleep", magic_sleep, "%sleep SECONDS",
     "waits; an interrupt stops the wait at once", NULL, "%sleep 1.5", no_flags,
     1, 1, SM_LINE, false},
    {"clear", magic_clear, "%clear [--wait]", "clears this cell's output so far",
     NULL, "%clear --wait", clear_flags, 0, 0, SM_LINE, false},
};

const sm_magic *sm_magic_table(size_t *count)
{
    *count = sizeof table / sizeof *table;
    return table;
}

const sm_magic *sm_magic_find(const char *name)
{
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

char *sm_magic_help(const sm_magic *magic)
{
    sm_buf b = {0};
    sm_buf_printf(&b, "%s\n\n%c%s.\n", magic->usage,
                  magic->summary[0] >= 'a' && magic->summary[0] <= 'z'
                      ? magic->summary[0] - 'a' + 'A'
                      : magic->summary[0],
                  magic->summary + 1);
    if (magic->returns)
        sm_buf_printf(&b, "Returns %s.\n", magic->returns);
    sm_buf_puts(&b, "\nFlags:\n");
    for (const sm_flag *f = magic->flags; f->name; f++) {
        char left[64];
        snprintf(left, sizeof left, "%s%c%s--%s%s%s", f->short_name ? "-" : "",
                 f->short_name ? f->short_name : ' ', f->short_name ? ", " : " ",
                 f->name, f->value ? " " : "", f->value ? f->value : "");
        sm_buf_printf(&b, "  %-28s %s\n", f->short_name ? left : left + 2,
                      f->help);
    }
    sm_buf_printf(&b, "  %-28s %s\n", "-h, --help", "show this help");
    sm_buf_printf(&b, "\nExample:\n  %s\n", magic->example);
    return sm_buf_take(&b);
}

char *sm_magics_reference_markdown(void)
{
    sm_buf b = {0};
    sm_buf_puts(&b, "| magic | does | returns | example |\n|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        const sm_magic *m = &table[i];
        sm_buf_printf(&b, "| `%s` | %s | %s | `%s` |\n", m->usage, m->summary,
                      m->returns ? m->returns : "", m->example);
    }
    return sm_buf_take(&b);
}

/* ---- the magics ---------------------------------------------------------- */

static int magic_help(sm_call *call)
{
    if (call->args.n_positional == 1) {
        const char *name = call->args.positional[0];
        name += name[0] == '%' ? (name[1] == '%' ? 2 : 1) : 0;
        const sm_magic *magic = sm_magic_find(name);
        if (!magic)
            return sm_error_set(&call->err, "no magic %%%s; %%help lists them",
                                name);
        char *help = sm_magic_help(magic);
        int rc = sm_out_display(call->out, json_pack("{s:s}", "text/plain", help),
                                NULL, NULL);
        free(help);
        return rc;
    }
    json_t *headers = json_pack("[s, s]", "magic", "does");
    json_t *rows = json_array();
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        json_array_append_new(rows, json_pack("[s, s]", table[i].usage,
                                              table[i].summary));
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    return sm_out_display(call->out, bundle, NULL, NULL);
}

static json_t *settings_table(sm_config *config, const sm_args *only)
{
    json_t *headers = json_pack("[s, s, s]", "setting", "value", "meaning");
    json_t *rows = json_array();
    for (size_t i = 0; i < sm_config_count(); i++) {
        const char *key = sm_config_key(i);
        bool wanted = only->n_positional == 0;
        for (size_t j = 0; j < only->n_positional; j++)
            wanted = wanted || strcmp(only->positional[j], key) == 0;
        if (wanted)
            json_array_append_new(rows, json_pack("[s, s, s]", key,
                                                  sm_config_get(config, key),
                                                  sm_config_describe(i)));
    }
    json_t *bundle = sm_render_table(headers, rows);
    json_decref(headers);
    json_decref(rows);
    return bundle;
}

/* %%config body: one `key = value` per line; blank lines and # comments. */
static int config_body(sm_call *call, sm_config *config)
{
    char *copy = strdup(call->body);
    int rc = 0;
    for (char *save, *line = strtok_r(copy, "\n", &save); !rc && line;
         line = strtok_r(NULL, "\n", &save)) {
        line += strspn(line, " \t");
        if (!*line || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = sm_error_set(&call->err, "expected KEY = VALUE, got '%.60s'", line);
            break;
        }
        char *key_end = eq;
        while (key_end > line && (key_end[-1] == ' ' || key_end[-1] == '\t'))
            key_end--;
        *key_end = '\0';
        char *value = eq + 1 + strspn(eq + 1, " \t");
        for (size_t n = strlen(value); n && strchr(" \t\r", value[n - 1]); n--)
            value[n - 1] = '\0';
        rc = sm_config_set(config, line, value, &call->err);
    }
    free(copy);
    return rc;
}

static int magic_config(sm_call *call)
{
    sm_config *config = sm_magics_config(call->m);
    const sm_args *a = &call->args;
    for (size_t i = 0; i < a->n_positional; i++)
        if (!sm_config_get(config, a->positional[i]))
            return sm_config_set(config, a->positional[i], "", &call->err);
    /* check every pair before setting any, so a bad one changes nothing */
    sm_config *trial = sm_config_new();
    int rc = 0;
    for (size_t i = 0; !rc && i < a->n_pairs; i++)
        rc = sm_config_set(trial, a->pairs[i].key, a->pairs[i].value, &call->err);
    if (!rc && call->body)
        rc = config_body(call, trial);
    sm_config_destroy(&trial);
    if (rc)
        return -1;
    for (size_t i = 0; i < a->n_pairs; i++)
        sm_config_set(config, a->pairs[i].key, a->pairs[i].value, NULL);
    if (call->body)
        config_body(call, config);
    call->result = sm_config_to_json(config);
    call->shown = settings_table(config, a);
    return 0;
}

static int magic_vars(sm_call *call)
{
    json_t *vars = sm_magics_vars(call->m);
    json_t *headers = json_pack("[s, s]", "name", "value");
    json_t *rows = json_array();
    const char *key;
    json_t *value;
    json_object_foreach(vars, key, value) {
        char *text = sm_render_text(value);
        if (text && strlen(text) > 200)
            strcpy(text + 197, "...");
        json_array_append_new(rows, json_pack("[s, s]", key, text ? text : ""));
        free(text);
    }
    int rc;
    if (json_array_size(rows) == 0)
        rc = sm_out_stream(call->out, "stdout", "no variables yet\n");
    else
        rc = sm_out_display(call->out, sm_render_table(headers, rows), NULL, NULL);
    json_decref(headers);
    json_decref(rows);
    return rc;
}

static int magic_echo(sm_call *call)
{
    sm_buf b = {0};
    sm_buf_puts(&b, "");
    for (size_t i = 0; i < call->args.n_positional; i++) {
        if (i)
            sm_buf_putc(&b, ' ');
        sm_buf_puts(&b, call->args.positional[i]);
    }
    if (!sm_args_get(&call->args, "no-newline"))
        sm_buf_putc(&b, '\n');
    const char *stream = sm_args_get(&call->args, "stderr") ? "stderr" : "stdout";
    int rc = sm_out_stream(call->out, stream, sm_buf_str(&b));
    sm_buf_free(&b);
    return rc;
}

static int magic_sleep(sm_call *call)
{
    const char *arg = call->args.positional[0];
    char *end;
    double seconds = strtod(arg, &end);
    if (end == arg || *end || !isfinite(seconds) || seconds < 0 ||
        seconds > 86400)
        return sm_error_set(&call->err, "%%sleep needs a number of seconds "
                                        "between 0 and 86400, not '%s'", arg);
    if (sm_out_wait(call->out, (long)(seconds * 1000)) != 0) {
        call->ename = "KeyboardInterrupt";
        return sm_error_set(&call->err, "interrupted: %%sleep %s stopped early",
                            arg);
    }
    return 0;
}

static int magic_clear(sm_call *call)
{
    return sm_out_clear(call->out, sm_args_get(&call->args, "wait") != NULL);
}
