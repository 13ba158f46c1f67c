/* args: flags, switches, key=value pairs and positional words of a magic. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "magic.h"

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *sm_closest(const char *word, const char *const *names,
                       size_t count)
{
    const char *best = NULL;
    size_t best_d = 99, wl = strlen(word);
    for (size_t i = 0; i < count; i++) {
        size_t d = edit_distance(word, names[i]);
        if (d > 1 && wl >= 2 && strncmp(names[i], word, wl) == 0)
            d = 1; /* a prefix is a good guess, an exact match a better one */
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    size_t limit = wl <= 3 ? 1 : wl <= 6 ? 2 : 3;
    return best_d <= limit ? best : NULL;
}

static const sm_flag help_flag = {"help", 'h', NULL, "show this help"};

static const sm_flag *find_flag(const sm_magic *magic, const char *name,
                                char short_name)
{
    for (const sm_flag *f = magic->flags; f && f->name; f++)
        if (short_name ? f->short_name == short_name : strcmp(f->name, name) == 0)
            return f;
    if (short_name ? short_name == 'h' : strcmp(name, "help") == 0)
        return &help_flag;
    return NULL;
}

static int unknown_flag(const sm_magic *magic, const char *word, sm_error *err)
{
    const char *names[64];
    size_t n = 0;
    for (const sm_flag *f = magic->flags; f && f->name && n < 63; f++)
        names[n++] = f->name;
    names[n++] = "help";
    const char *bare = word + strspn(word, "-");
    const char *guess = sm_closest(bare, names, n);
    if (guess)
        return sm_error_set(err, "%%%s has no flag %s; did you mean --%s?",
                            magic->name, word, guess);
    return sm_error_set(err, "%%%s has no flag %s; see %%%s --help",
                        magic->name, word, magic->name);
}

static int add_flag(sm_args *args, const sm_flag *flag, const char *value)
{
    sm_arg_flag *grown = realloc(args->flags, (args->n_flags + 1) * sizeof *grown);
    if (!grown)
        return -1;
    args->flags = grown;
    char *copy = strdup(value);
    if (!copy)
        return -1;
    args->flags[args->n_flags++] = (sm_arg_flag){flag, copy};
    return 0;
}

static int add_pair(sm_args *args, const char *word, const char *eq)
{
    sm_arg_pair *grown = realloc(args->pairs, (args->n_pairs + 1) * sizeof *grown);
    if (!grown)
        return -1;
    args->pairs = grown;
    char *key = strndup(word, (size_t)(eq - word)), *value = strdup(eq + 1);
    if (!key || !value) {
        free(key);
        free(value);
        return -1;
    }
    args->pairs[args->n_pairs++] = (sm_arg_pair){key, value};
    return 0;
}

static int add_positional(sm_args *args, const char *word)
{
    char **grown = realloc(args->positional,
                           (args->n_positional + 1) * sizeof *grown);
    if (!grown)
        return -1;
    args->positional = grown;
    if (!(args->positional[args->n_positional] = strdup(word)))
        return -1;
    args->n_positional++;
    return 0;
}

static bool looks_like_flag(const char *w)
{
    return w[0] == '-' && w[1] && !isdigit((unsigned char)w[1]) && w[1] != '.';
}

/* One flag word at words[*i]; may take the next word as its value. */
static int parse_flag(const sm_magic *magic, char *const *words, size_t n,
                      size_t *i, sm_args *args, sm_error *err)
{
    const char *w = words[*i];
    char name[128];
    const char *eq = strchr(w, '=');
    bool is_long = w[1] == '-';
    snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - w : (long)strlen(w)), w);
    if (!is_long && strlen(name) != 2)
        return unknown_flag(magic, w, err);
    const sm_flag *f = is_long ? find_flag(magic, name + 2, 0)
                               : find_flag(magic, NULL, name[1]);
    if (!f)
        return unknown_flag(magic, name, err);
    if (!f->value) {
        if (eq)
            return sm_error_set(err, "--%s takes no value", f->name);
        return add_flag(args, f, "") ? sm_error_set(err, "out of memory") : 0;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!value && *i + 1 < n && !looks_like_flag(words[*i + 1]))
        value = words[++*i]; /* not the next flag: --x=-y says that */
    if (!value)
        return sm_error_set(err, "--%s needs a value (%s)", f->name, f->value);
    return add_flag(args, f, value) ? sm_error_set(err, "out of memory") : 0;
}

static int check_count(const sm_magic *magic, const sm_args *args,
                       sm_error *err)
{
    if (sm_args_get(args, "help"))
        return 0;
    size_t have = args->n_positional;
    if ((int)have < magic->min_args)
        return sm_error_set(err, "%%%s needs more arguments; usage: %s",
                            magic->name, magic->usage);
    if (magic->max_args >= 0 && (int)have > magic->max_args)
        return sm_error_set(err, "%%%s takes %s; got an extra '%s'; usage: %s",
                            magic->name,
                            magic->max_args == 0 ? "no arguments"
                                                 : "fewer arguments",
                            args->positional[magic->max_args], magic->usage);
    return 0;
}

int sm_args_parse(const sm_magic *magic, char *const *words, size_t n,
                  sm_args *args, sm_error *err)
{
    *args = (sm_args){0};
    bool flags_done = false;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *w = words[i];
        const char *eq = strchr(w, '=');
        if (!flags_done && strcmp(w, "--") == 0)
            flags_done = true;
        else if (!flags_done && looks_like_flag(w))
            rc = parse_flag(magic, words, n, &i, args, err);
        else if (magic->pairs && eq && eq > w)
            rc = add_pair(args, w, eq) ? sm_error_set(err, "out of memory") : 0;
        else
            rc = add_positional(args, w) ? sm_error_set(err, "out of memory") : 0;
    }
    if (!rc)
        rc = check_count(magic, args, err);
    if (rc)
        sm_args_clear(args);
    return rc;
}

void sm_args_clear(sm_args *args)
{
    for (size_t i = 0; i < args->n_positional; i++)
        free(args->positional[i]);
    for (size_t i = 0; i < args->n_flags; i++)
        free(args->flags[i].value);
    for (size_t i = 0; i < args->n_pairs; i++) {
        free(args->pairs[i].key);
        free(args->pairs[i].value);
    }
    free(args->positional);
    free(args->flags);
    free(args->pairs);
    *args = (sm_args){0};
}

const char *sm_args_get(const sm_args *args, const char *name)
{
    const char *found = NULL; /* the last one given wins */
    for (size_t i = 0; i < args->n_flags; i++)
        if (strcmp(args->flags[i].flag->name, name) == 0)
            found = args->flags[i].value;
    return found;
}
