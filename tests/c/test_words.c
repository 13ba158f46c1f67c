/* test_words: quoting, escapes and $ expansion of magic arguments, with a
 * fake variable table standing in for the interpreter's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "words.h"

/* name, dotted path ("" for none), value. */
static const char *const fake_vars[][3] = {
    {"job", "", "xgb-1"},  {"spaced", "", "two words"},
    {"empty", "", ""},     {"cfg", "", "{\"a\":{\"b\":{\"c\":7}}}"},
    {"cfg", "a.b.c", "7"}, {"cfg", "a", "{\"b\":{\"c\":7}}"},
    {"_x1", "", "under"},
};

/* The last name and path the lookup was asked for. */
struct fake_ctx {
    char name[64], path[64];
    int calls;
};

static char *fake_lookup(void *ctx, const char *name, const char *path,
                         sm_error *err)
{
    struct fake_ctx *c = ctx;
    c->calls++;
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->path, sizeof c->path, "%s", path ? path : "(none)");
    for (size_t i = 0; i < sizeof fake_vars / sizeof *fake_vars; i++)
        if (strcmp(fake_vars[i][0], name) == 0 &&
            strcmp(fake_vars[i][1], path ? path : "") == 0)
            return strdup(fake_vars[i][2]);
    sm_error_set(err, "undefined variable $%s%s%s", name, path ? "." : "",
                 path ? path : "");
    return NULL;
}

/* Split `text` and join the words as [w1][w2]..., "ERR: message" on error. */
static const char *split(const char *text, int expand)
{
    static char out[sizeof(sm_error) + 64];
    struct fake_ctx ctx = {{0}, {0}, 0};
    sm_words w;
    sm_error err = {{0}};
    if (sm_words_split(text, expand ? fake_lookup : NULL, &ctx, &w, &err)) {
        snprintf(out, sizeof out, "ERR: %s", err.message);
        if (w.count || w.items)
            snprintf(out, sizeof out, "failure left words behind");
        return out;
    }
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < w.count && at < sizeof out; i++)
        at += (size_t)snprintf(out + at, sizeof out - at, "[%s]", w.items[i]);
    sm_words_clear(&w);
    return out;
}

TEST(words_plain_and_whitespace)
{
    CHECK_STR(split("", 1), "");
    CHECK_STR(split("   \t\n ", 1), "");
    CHECK_STR(split("train  xgb\t--wait\n", 1), "[train][xgb][--wait]");
    CHECK_STR(split("  a", 1), "[a]");
    CHECK_STR(split("\xC3\xA9t\xC3\xA9 caf\xC3\xA9", 1),
              "[\xC3\xA9t\xC3\xA9][caf\xC3\xA9]");
}

TEST(words_quotes)
{
    CHECK_STR(split("a 'b c' \"d e\"", 1), "[a][b c][d e]");
    CHECK_STR(split("pre'fix'\"ed\" x", 1), "[prefixed][x]");
    CHECK_STR(split("'' \"\"", 1), "[][]");
    CHECK_STR(split("'a\"b' \"a'b\"", 1), "[a\"b][a'b]");
    /* Single quotes are literal, even for backslashes and $. */
    CHECK_STR(split("'a\\' '$job'", 1), "[a\\][$job]");
}

TEST(words_escapes)
{
    CHECK_STR(split("a\\ b", 1), "[a b]");
    CHECK_STR(split("\\'x\\\" \\\\", 1), "['x\"][\\]");
    CHECK_STR(split("\\$job", 1), "[$job]");
    /* In double quotes only \" \\ \$ are escapes; others keep the slash. */
    CHECK_STR(split("\"q\\\"q \\\\ \\$job \\n\"", 1), "[q\"q \\ $job \\n]");
    /* A backslash at the very end stays. */
    CHECK_STR(split("end\\", 1), "[end\\]");
}

TEST(words_expansion)
{
    CHECK_STR(split("$job", 1), "[xgb-1]");
    CHECK_STR(split("--name=$job-final", 1), "[--name=xgb-1-final]");
    CHECK_STR(split("${job}x \"${job}y\"", 1), "[xgb-1x][xgb-1y]");
    CHECK_STR(split("$_x1", 1), "[under]");
    /* No field splitting: a value with spaces stays one word. */
    CHECK_STR(split("$spaced \"$spaced\"", 1), "[two words][two words]");
    /* An empty value still makes a word. */
    CHECK_STR(split("a $empty b", 1), "[a][][b]");
    /* Without braces a dot ends the name. */
    CHECK_STR(split("$job.name", 1), "[xgb-1.name]");
    /* $ not followed by a name is a plain dollar. */
    CHECK_STR(split("$ 5$ $1 $-", 1), "[$][5$][$1][$-]");
}

TEST(words_double_dollar)
{
    CHECK_STR(split("$$", 1), "[$]");
    CHECK_STR(split("\"$$job\"", 1), "[$job]");
    CHECK_STR(split("a$$$job", 1), "[a$xgb-1]");
}

TEST(words_dotted_paths)
{
    struct fake_ctx ctx = {{0}, {0}, 0};
    sm_words w;
    sm_error err = {{0}};
    CHECK(sm_words_split("${cfg.a.b.c}", fake_lookup, &ctx, &w, &err) == 0);
    CHECK(w.count == 1);
    CHECK_STR(w.items[0], "7");
    CHECK_STR(ctx.name, "cfg");
    CHECK_STR(ctx.path, "a.b.c");
    sm_words_clear(&w);
    CHECK(sm_words_split("${cfg}", fake_lookup, &ctx, &w, &err) == 0);
    CHECK_STR(ctx.path, "(none)");
    sm_words_clear(&w);
    CHECK_STR(split("x${cfg.a}y", 1), "[x{\"b\":{\"c\":7}}y]");
    CHECK_STR(split("${cfg.zz}", 1), "ERR: undefined variable $cfg.zz");
}

TEST(words_bad_references)
{
    CHECK_STR(split("${job", 1), "ERR: bad variable reference: ${job");
    CHECK_STR(split("${}", 1), "ERR: bad variable reference: ${}");
    CHECK_STR(split("${1x}", 1), "ERR: bad variable reference: ${1x}");
    CHECK_STR(split("${job.}", 1), "ERR: bad variable reference: ${job.}");
    CHECK_STR(split("${job x}", 1), "ERR: bad variable reference: ${job x}");
    CHECK_STR(split("${", 1), "ERR: bad variable reference: ${");
}

TEST(words_undefined_variable)
{
    struct fake_ctx ctx = {{0}, {0}, 0};
    sm_words w;
    sm_error err = {{0}};
    CHECK(sm_words_split("ok $nope later", fake_lookup, &ctx, &w, &err) == -1);
    CHECK_STR(err.message, "undefined variable $nope");
    CHECK(w.count == 0 && w.items == NULL);
    CHECK_STR(split("\"in $nope quotes\"", 1), "ERR: undefined variable $nope");
}

TEST(words_without_lookup_keeps_dollars)
{
    CHECK_STR(split("$job ${job} \"$job\" $$", 0), "[$job][${job}][$job][$$]");
}

TEST(words_unterminated_quotes)
{
    CHECK_STR(split("a \"b c", 1), "ERR: unterminated double quote");
    CHECK_STR(split("'b c", 1), "ERR: unterminated single quote");
    CHECK_STR(split("\"a\\\"", 1), "ERR: unterminated double quote");
    CHECK_STR(split("'\"'\"", 1), "ERR: unterminated double quote");
}

TEST(words_starts_and_quoted)
{
    sm_words w;
    sm_error err = {{0}};
    CHECK(sm_words_split("  ab 'c d'  e\"f\" $job", NULL, NULL, &w, &err) == 0);
    CHECK(w.count == 4);
    CHECK(w.starts[0] == 2 && w.starts[1] == 5 && w.starts[2] == 12 &&
          w.starts[3] == 17);
    CHECK(!w.quoted[0] && w.quoted[1] && w.quoted[2] && !w.quoted[3]);
    CHECK_STR(w.items[1], "c d");
    CHECK_STR(w.items[2], "ef");
    sm_words_clear(&w);
    CHECK(w.count == 0 && w.items == NULL && w.starts == NULL);
    /* Offsets are in bytes, after expansion changed nothing before them. */
    struct fake_ctx ctx = {{0}, {0}, 0};
    CHECK(sm_words_split("$job \xC3\xA9 x", fake_lookup, &ctx, &w, &err) == 0);
    CHECK(w.count == 3);
    CHECK(w.starts[0] == 0 && w.starts[1] == 5 && w.starts[2] == 8);
    sm_words_clear(&w);
}

TEST(words_many_words)
{
    char text[4000] = "";
    for (int i = 0; i < 500; i++)
        strcat(text, "w ");
    sm_words w;
    sm_error err = {{0}};
    CHECK(sm_words_split(text, NULL, NULL, &w, &err) == 0);
    CHECK(w.count == 500);
    CHECK(w.starts[499] == 998);
    sm_words_clear(&w);
}

TEST(words_expand)
{
    struct fake_ctx ctx = {{0}, {0}, 0};
    sm_error err = {{0}};
    char *s = sm_words_expand("name: $job, cfg ${cfg.a.b.c}, cost $$5 'q'",
                              false, fake_lookup, &ctx, &err);
    CHECK_STR(s, "name: xgb-1, cfg 7, cost $5 'q'");
    free(s);
    /* braced_only leaves $NAME alone (shell code in a cell body). */
    s = sm_words_expand("echo $HOME ${job} $$", true, fake_lookup, &ctx, &err);
    CHECK_STR(s, "echo $HOME xgb-1 $");
    free(s);
    s = sm_words_expand("", false, fake_lookup, &ctx, &err);
    CHECK_STR(s, "");
    free(s);
    CHECK(sm_words_expand("a ${nope} b", true, fake_lookup, &ctx, &err) ==
          NULL);
    CHECK_STR(err.message, "undefined variable $nope");
    sm_error_clear(&err);
    CHECK(sm_words_expand("a ${x", true, fake_lookup, &ctx, &err) == NULL);
    CHECK_STR(err.message, "bad variable reference: ${x");
}

TEST(words_is_name)
{
    CHECK(sm_words_is_name("job", 3));
    CHECK(sm_words_is_name("_a9", 3));
    CHECK(sm_words_is_name("jobx", 3)); /* only len bytes count */
    CHECK(!sm_words_is_name("", 0));
    CHECK(!sm_words_is_name("9a", 2));
    CHECK(!sm_words_is_name("a-b", 3));
    CHECK(!sm_words_is_name("a.b", 3));
    CHECK(!sm_words_is_name("\xC3\xA9", 2));
}
