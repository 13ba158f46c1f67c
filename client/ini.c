/* ini: line by line into a flat list of (section, key, value); lookups scan
 * from the end, so the last definition wins. */
#include "ini.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct ini_entry {
    const char *section; /* borrowed from sm_ini.sections */
    char *key, *value;
} ini_entry;

struct sm_ini {
    ini_entry *entries;
    size_t count, cap;
    char **sections;
    size_t section_count, section_cap;
};

/* What the line before said about the lines after it. */
typedef struct ini_state {
    const char *section; /* borrowed from sections[]; NULL before any */
    long key;            /* entry a continuation belongs to; -1: none */
    int nested;          /* that key's value was empty: sub-keys follow */
} ini_state;

static char *dup_range(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

static void wipe_free(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

/* Trim spaces and tabs off both ends of s[0, *n); returns the new start. */
static const char *trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

/* The section called name[0, n) (borrowed), added when new. */
static const char *section_find(sm_ini *self, const char *name, size_t n)
{
    for (size_t i = 0; i < self->section_count; i++) {
        if (strlen(self->sections[i]) == n &&
            memcmp(self->sections[i], name, n) == 0)
            return self->sections[i];
    }
    if (self->section_count == self->section_cap) {
        size_t cap = self->section_cap ? self->section_cap * 2 : 8;
        char **more = realloc(self->sections, cap * sizeof *more);
        if (!more)
            return NULL;
        self->sections = more;
        self->section_cap = cap;
    }
    char *copy = dup_range(name, n);
    if (copy)
        self->sections[self->section_count++] = copy;
    return copy;
}

/* The section called s[0, n) with each run of blanks made one space
 * ("[profile   x]" is "[profile x]"); borrowed from self->sections. */
static const char *section_intern(sm_ini *self, const char *s, size_t len)
{
    char *name = malloc(len + 1);
    size_t n = 0;
    if (!name)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int blank = s[i] == ' ' || s[i] == '\t';
        if (!blank || (n && name[n - 1] != ' '))
            name[n++] = blank ? ' ' : s[i];
    }
    name[n] = '\0';
    const char *found = section_find(self, name, n);
    free(name);
    return found;
}

/* Add (section, key, value); key is lower-cased. The index, or -1. */
static long entry_add(sm_ini *self, const char *section, const char *key,
                      size_t key_len, const char *value, size_t value_len)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        ini_entry *more = realloc(self->entries, cap * sizeof *more);
        if (!more)
            return -1;
        self->entries = more;
        self->cap = cap;
    }
    ini_entry e = {section, dup_range(key, key_len),
                   dup_range(value, value_len)};
    if (!e.key || !e.value) {
        free(e.key);
        wipe_free(e.value);
        return -1;
    }
    for (char *c = e.key; *c; c++) {
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    }
    self->entries[self->count] = e;
    return (long)self->count++;
}

/* Split "key = value" (or "key: value") at the first delimiter. */
static int split_pair(const char *s, size_t n, const char **key,
                      size_t *key_len, const char **value, size_t *value_len)
{
    size_t i = 0;
    while (i < n && s[i] != '=' && s[i] != ':')
        i++;
    if (i == n)
        return -1;
    *key_len = i;
    *key = trim(s, key_len);
    *value_len = n - i - 1;
    *value = trim(s + i + 1, value_len);
    return *key_len ? 0 : -1;
}

/* An indented line under a key: a sub-key or more of the value. */
static int continuation(sm_ini *self, ini_state *st, const char *s, size_t n)
{
    ini_entry *parent = &self->entries[st->key];
    if (!st->nested) {
        size_t old = strlen(parent->value);
        char *joined = malloc(old + 1 + n + 1);
        if (!joined)
            return -1;
        memcpy(joined, parent->value, old);
        joined[old] = '\n';
        memcpy(joined + old + 1, s, n);
        joined[old + 1 + n] = '\0';
        wipe_free(parent->value);
        parent->value = joined;
        return 0;
    }
    const char *key, *value;
    size_t key_len, value_len;
    if (split_pair(s, n, &key, &key_len, &value, &value_len))
        return 0; /* unreadable: skipped */
    size_t plen = strlen(parent->key);
    char *full = malloc(plen + 1 + key_len + 1);
    if (!full)
        return -1;
    snprintf(full, plen + 1 + key_len + 1, "%s.%.*s", parent->key, (int)key_len,
             key);
    long rc =
        entry_add(self, st->section, full, strlen(full), value, value_len);
    free(full);
    return rc < 0 ? -1 : 0;
}

/* One line without its line end. -1 only when out of memory. */
static int line(sm_ini *self, ini_state *st, const char *s, size_t n)
{
    int indented = n && (s[0] == ' ' || s[0] == '\t');
    if (memchr(s, '\0', n))
        return 0;
    s = trim(s, &n);
    if (n == 0 || s[0] == '#' || s[0] == ';')
        return 0;
    if (indented && st->key >= 0)
        return continuation(self, st, s, n);
    st->key = -1;
    if (s[0] == '[') {
        size_t close = n - 1, len;
        while (close > 0 && s[close] != ']')
            close--;
        len = close ? close - 1 : 0;
        const char *name = trim(s + 1, &len);
        /* A header it cannot read drops the keys under it: they must not
         * land in the section before. */
        st->section = NULL;
        if (len == 0)
            return 0;
        st->section = section_intern(self, name, len);
        return st->section ? 0 : -1;
    }
    const char *key, *value;
    size_t key_len, value_len;
    if (!st->section || split_pair(s, n, &key, &key_len, &value, &value_len))
        return 0;
    st->key = entry_add(self, st->section, key, key_len, value, value_len);
    st->nested = value_len == 0;
    return st->key < 0 ? -1 : 0;
}

sm_ini *sm_ini_parse(const char *text, size_t len)
{
    sm_ini *self = calloc(1, sizeof *self);
    ini_state st = {NULL, -1, 0};
    if (!self)
        return NULL;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    size_t start = 0;
    while (start < len) {
        size_t end = start;
        while (end < len && text[end] != '\n' && text[end] != '\r')
            end++;
        if (line(self, &st, text + start, end - start)) {
            sm_ini_destroy(&self);
            return NULL;
        }
        if (end + 1 < len && text[end] == '\r' && text[end + 1] == '\n')
            end++;
        start = end + 1;
    }
    return self;
}

sm_ini *sm_ini_load(const char *path, sm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f && (errno == ENOENT || errno == ENOTDIR))
        return sm_ini_parse("", 0);
    if (!f) {
        sm_error_set(err, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    int ok = fstat(fileno(f), &st) == 0 && !S_ISDIR(st.st_mode) &&
             st.st_size <= (off_t)SM_INI_MAX_FILE;
    if (ok && (buf = malloc((size_t)st.st_size + 1)) != NULL)
        n = fread(buf, 1, (size_t)st.st_size, f);
    ok = ok && buf && !ferror(f);
    fclose(f);
    sm_ini *self = ok ? sm_ini_parse(buf, n) : NULL;
    if (buf) {
        sodium_memzero(buf, n);
        free(buf);
    }
    if (!self)
        sm_error_set(err,
                     "cannot read %s (a directory, unreadable or over "
                     "%u MiB)",
                     path, SM_INI_MAX_FILE >> 20);
    return self;
}

void sm_ini_destroy(sm_ini **self)
{
    if (!self || !*self)
        return;
    sm_ini *ini = *self;
    for (size_t i = 0; i < ini->count; i++) {
        free(ini->entries[i].key);
        wipe_free(ini->entries[i].value);
    }
    for (size_t i = 0; i < ini->section_count; i++)
        free(ini->sections[i]);
    free(ini->entries);
    free(ini->sections);
    free(ini);
    *self = NULL;
}

const char *sm_ini_get(const sm_ini *self, const char *section, const char *key)
{
    if (!self || !section || !key)
        return NULL;
    for (size_t i = self->count; i-- > 0;) {
        const ini_entry *e = &self->entries[i];
        if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0)
            return e->value;
    }
    return NULL;
}

int sm_ini_has_section(const sm_ini *self, const char *section)
{
    for (size_t i = 0; self && section && i < self->section_count; i++) {
        if (strcmp(self->sections[i], section) == 0)
            return 1;
    }
    return 0;
}
