/* words: a small tokenizer in the spirit of POSIX shell quoting. */
#include "words.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int sm_words_is_name(const char *s, size_t len)
{
    if (len == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return 1;
}

static size_t name_len(const char *s)
{
    size_t n = 0;
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '_')
        n++;
    return n;
}

/* Expand the reference at text[*i] (which is '$') into `b`. */
static int expand_ref(const char *text, size_t *i, bool braced_only,
                      sm_words_lookup lookup, void *ctx, sm_buf *b,
                      sm_error *err)
{
    const char *p = text + *i + 1;
    if (*p == '$') {
        *i += 2;
        return sm_buf_putc(b, '$');
    }
    char name[256], path[512];
    size_t used;
    path[0] = '\0';
    if (*p == '{') {
        const char *close = strchr(p, '}');
        size_t n = close ? name_len(p + 1) : 0;
        if (!close || n == 0 || n >= sizeof name ||
            (p[1 + n] != '}' && p[1 + n] != '.'))
            return sm_error_set(err, "bad variable reference: %.40s", p - 1);
        memcpy(name, p + 1, n);
        name[n] = '\0';
        size_t plen = (size_t)(close - (p + 1 + n));
        if (plen > 1 && plen < sizeof path)
            snprintf(path, sizeof path, "%.*s", (int)(plen - 1), p + 2 + n);
        else if (plen == 1 || plen >= sizeof path)
            return sm_error_set(err, "bad variable reference: %.40s", p - 1);
        used = (size_t)(close - p) + 2;
    } else {
        size_t n = braced_only ? 0 : name_len(p);
        if (n == 0 || n >= sizeof name) {
            *i += 1;
            return sm_buf_putc(b, '$');
        }
        memcpy(name, p, n);
        name[n] = '\0';
        used = n + 1;
    }
    char *value = lookup(ctx, name, path[0] ? path : NULL, err);
    if (!value)
        return -1;
    int rc = sm_buf_puts(b, value);
    free(value);
    *i += used;
    return rc;
}

static int push_word(sm_words *out, sm_buf *b, bool quoted, size_t start)
{
    size_t n = out->count + 1;
    char **items = realloc(out->items, n * sizeof *items);
    if (items)
        out->items = items;
    bool *q = realloc(out->quoted, n * sizeof *q);
    if (q)
        out->quoted = q;
    size_t *s = realloc(out->starts, n * sizeof *s);
    if (s)
        out->starts = s;
    char *word = sm_buf_take(b);
    if (!items || !q || !s || !word) {
        free(word);
        return -1;
    }
    out->items[out->count] = word;
    out->quoted[out->count] = quoted;
    out->starts[out->count] = start;
    out->count = n;
    return 0;
}

/* One character of a double-quoted string at text[*i]. */
static int double_quoted(const char *text, size_t *i, sm_words_lookup lookup,
                         void *ctx, sm_buf *b, sm_error *err)
{
    char c = text[*i];
    if (c == '\\' && text[*i + 1] && strchr("\"\\$", text[*i + 1])) {
        *i += 2;
        return sm_buf_putc(b, text[*i - 1]);
    }
    if (c == '$' && lookup)
        return expand_ref(text, i, false, lookup, ctx, b, err);
    *i += 1;
    return sm_buf_putc(b, c);
}

int sm_words_split(const char *text, sm_words_lookup lookup, void *ctx,
                   sm_words *out, sm_error *err)
{
    *out = (sm_words){0};
    sm_buf b = {0};
    size_t i = 0, start = 0;
    int rc = 0;
    bool in_word = false, quoted = false;
    char quote = 0;
    while (!rc && text[i]) {
        char c = text[i];
        if (quote == '\'') {
            if (c == '\'')
                quote = 0;
            else
                rc = sm_buf_putc(&b, c);
            i++;
        } else if (quote == '"') {
            if (c == '"') {
                quote = 0;
                i++;
            } else
                rc = double_quoted(text, &i, lookup, ctx, &b, err);
        } else if (isspace((unsigned char)c)) {
            if (in_word)
                rc = push_word(out, &b, quoted, start);
            in_word = quoted = false;
            i++;
        } else {
            if (!in_word)
                start = i;
            in_word = true;
            if (c == '\'' || c == '"') {
                quote = c;
                quoted = true;
                i++;
            } else if (c == '\\' && text[i + 1]) {
                rc = sm_buf_putc(&b, text[i + 1]);
                i += 2;
            } else if (c == '$' && lookup) {
                rc = expand_ref(text, &i, false, lookup, ctx, &b, err);
            } else {
                rc = sm_buf_putc(&b, c);
                i++;
            }
        }
    }
    if (!rc && quote)
        rc = sm_error_set(err, "unterminated %s quote",
                          quote == '"' ? "double" : "single");
    if (!rc && in_word)
        rc = push_word(out, &b, quoted, start);
    sm_buf_free(&b);
    if (rc) {
        sm_error_set(err, "out of memory");
        sm_words_clear(out);
    }
    return rc;
}

void sm_words_clear(sm_words *words)
{
    for (size_t i = 0; i < words->count; i++)
        free(words->items[i]);
    free(words->items);
    free(words->quoted);
    free(words->starts);
    *words = (sm_words){0};
}

char *sm_words_expand(const char *text, bool braced_only,
                      sm_words_lookup lookup, void *ctx, sm_error *err)
{
    sm_buf b = {0};
    size_t i = 0;
    int rc = sm_buf_puts(&b, "");
    while (!rc && text[i]) {
        if (text[i] == '$')
            rc = expand_ref(text, &i, braced_only, lookup, ctx, &b, err);
        else
            rc = sm_buf_putc(&b, text[i++]);
    }
    if (rc) {
        sm_buf_free(&b);
        return NULL;
    }
    return sm_buf_take(&b);
}
