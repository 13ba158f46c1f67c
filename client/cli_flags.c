/* cli_flags: table-driven flag parsing for the sagemagic-aws commands. */
#include "cli_flags.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const sm_cli_flag *sm_cli_flag_find(const sm_cli_flag *flags, size_t count,
                                    const char *name, size_t len)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(flags[i].name) == len &&
            strncmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}

static int takes(const sm_cli_flag *row, unsigned command)
{
    return !row->commands || (row->commands & command);
}

/* Store one flag's value (NULL for a switch) into its member. */
static int flag_store(const sm_cli_spec *spec, const sm_cli_flag *row,
                      const char *value, void *out)
{
    char *member = (char *)out + row->offset;
    if (row->kind == SM_CLI_SWITCH) {
        *(int *)member = 1;
    } else if (row->kind == SM_CLI_VALUE) {
        *(const char **)member = value;
    } else {
        sm_cli_list *list = (sm_cli_list *)member;
        if (list->count == SM_CLI_LIST_MAX) {
            fprintf(stderr, "%s: %s is given more than %d times\n", spec->prog,
                    row->name, SM_CLI_LIST_MAX);
            return SM_CLI_EXIT_USAGE;
        }
        list->items[list->count++] = value;
    }
    return 0;
}

int sm_cli_parse(const sm_cli_spec *spec, int argc, char **argv, void *out,
                 sm_cli_words *words)
{
    int flags_done = 0;
    memset(words, 0, sizeof *words);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (flags_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (words->count >= spec->max_words || words->count == 8) {
                fprintf(stderr, "%s: unexpected argument '%s'\n", spec->prog,
                        arg);
                return SM_CLI_EXIT_USAGE;
            }
            words->items[words->count++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = 1;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (strcmp(arg, "-h") == 0) {
            arg = "--help";
            len = 6;
        }
        const sm_cli_flag *row =
            sm_cli_flag_find(spec->flags, spec->flag_count, arg, len);
        if (!row || !takes(row, spec->command)) {
            fprintf(stderr, "%s: unknown flag '%.*s' (see %s --help)\n",
                    spec->prog, (int)len, arg, spec->prog);
            return SM_CLI_EXIT_USAGE;
        }
        const char *value = NULL;
        if (row->kind == SM_CLI_SWITCH && eq) {
            fprintf(stderr, "%s: %s takes no value\n", spec->prog, row->name);
            return SM_CLI_EXIT_USAGE;
        } else if (row->kind != SM_CLI_SWITCH && !eq && i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", spec->prog, row->name);
            return SM_CLI_EXIT_USAGE;
        } else if (row->kind != SM_CLI_SWITCH) {
            value = eq ? eq + 1 : argv[++i];
        }
        int rc = flag_store(spec, row, value, out);
        if (rc)
            return rc;
    }
    return 0;
}

void sm_cli_usage_flags(FILE *to, const sm_cli_flag *flags, size_t count,
                        unsigned command)
{
    for (size_t i = 0; i < count; i++) {
        if (!takes(&flags[i], command))
            continue;
        char left[64];
        snprintf(left, sizeof left, "%s %s%s", flags[i].name,
                 flags[i].metavar ? flags[i].metavar : "",
                 flags[i].kind == SM_CLI_LIST ? " ..." : "");
        fprintf(to, "  %-26s %s\n", left, flags[i].help);
    }
}

int sm_cli_flag_given(const sm_cli_flag *row, const void *args)
{
    const char *member = (const char *)args + row->offset;
    if (row->kind == SM_CLI_SWITCH)
        return *(const int *)member;
    if (row->kind == SM_CLI_VALUE)
        return *(const char *const *)member != NULL;
    return ((const sm_cli_list *)member)->count > 0;
}

int sm_cli_long(const char *prog, const char *flag, const char *text, long min,
                long max, long *out)
{
    char *end = NULL;
    if (!text)
        return 0;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (!*text || *end || errno || n < min || n > max) {
        fprintf(stderr,
                "%s: %s takes a whole number from %ld to %ld, not "
                "'%s'\n",
                prog, flag, min, max, text);
        return SM_CLI_EXIT_USAGE;
    }
    *out = n;
    return 0;
}

int sm_cli_seconds(const char *prog, const char *flag, const char *text,
                   double *out)
{
    char *end = NULL;
    if (!text)
        return 0;
    errno = 0;
    double s = strtod(text, &end);
    if (!*text || *end || errno || !isfinite(s) || s < 0 || s > 31 * 86400.0) {
        fprintf(stderr, "%s: %s takes a number of seconds, not '%s'\n", prog,
                flag, text);
        return SM_CLI_EXIT_USAGE;
    }
    *out = s;
    return 0;
}

void sm_cli_pairs_clear(sm_cli_pairs *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->keys[i]);
    memset(self, 0, sizeof *self);
}

int sm_cli_pairs_read(const char *prog, const char *flag,
                      const sm_cli_list *list, sm_cli_pairs *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < list->count; i++) {
        const char *item = list->items[i], *eq = strchr(item, '=');
        if (!eq || eq == item) {
            fprintf(stderr, "%s: %s takes KEY=VALUE, not '%s'\n", prog, flag,
                    item);
            return SM_CLI_EXIT_USAGE;
        }
        char *key = strndup(item, (size_t)(eq - item));
        if (!key) {
            fprintf(stderr, "%s: out of memory\n", prog);
            return SM_CLI_EXIT_FAIL;
        }
        out->keys[out->count] = key;
        out->items[out->count] = (sm_awsjson_kv){key, eq + 1};
        out->count++;
    }
    return 0;
}
