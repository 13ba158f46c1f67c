/* test_args: flag, switch, pair and positional parsing against fake magics,
 * and the suggestions sm_closest makes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "magic.h"
#include "test.h"

static const sm_flag train_flags[] = {
    {"instance-type", 'i', "TYPE", "instance to train on"},
    {"timeout", 't', "SECONDS", "give up after this long"},
    {"wait", 'w', NULL, "wait for the job to end"},
    {"dry-run", 0, NULL, "print, do not send"},
    {NULL, 0, NULL, NULL},
};

/* %train NAME [MORE]: 1 or 2 positionals and key=value hyperparameters. */
static const sm_magic fake_train = {
    .name = "train",
    .usage = "%train NAME [key=value ...]",
    .flags = train_flags,
    .min_args = 1,
    .max_args = 2,
    .kinds = SM_LINE,
    .pairs = true,
};

/* %calc [NUMBER ...]: any number of positionals, no pairs, no flags. */
static const sm_magic fake_calc = {
    .name = "calc",
    .usage = "%calc NUMBER...",
    .min_args = 0,
    .max_args = -1,
    .kinds = SM_LINE,
};

/* %status: takes nothing. */
static const sm_magic fake_status = {
    .name = "status",
    .usage = "%status",
    .flags = train_flags,
    .min_args = 0,
    .max_args = 0,
    .kinds = SM_LINE,
};

/* Parse the space-separated `line` (no quoting) and describe the result as
 * "pos=[a][b] flags=[name:value] pairs=[k:v]" or "ERR: message". */
static const char *parse(const sm_magic *magic, const char *line)
{
    static char out[sizeof(sm_error) + 64];
    char copy[512], *words[32];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", line);
    for (char *w = strtok(copy, " "); w && n < 32; w = strtok(NULL, " "))
        words[n++] = w;
    sm_args args;
    sm_error err = {{0}};
    if (sm_args_parse(magic, words, n, &args, &err)) {
        snprintf(out, sizeof out, "ERR: %s", err.message);
        if (args.n_positional || args.n_flags || args.n_pairs)
            snprintf(out, sizeof out, "failure left arguments behind");
        return out;
    }
    size_t at = (size_t)snprintf(out, sizeof out, "pos=");
    for (size_t i = 0; i < args.n_positional && at < sizeof out; i++)
        at += (size_t)snprintf(out + at, sizeof out - at, "[%s]",
                               args.positional[i]);
    if (at < sizeof out)
        at += (size_t)snprintf(out + at, sizeof out - at, " flags=");
    for (size_t i = 0; i < args.n_flags && at < sizeof out; i++)
        at += (size_t)snprintf(out + at, sizeof out - at, "[%s:%s]",
                               args.flags[i].flag->name, args.flags[i].value);
    if (at < sizeof out)
        at += (size_t)snprintf(out + at, sizeof out - at, " pairs=");
    for (size_t i = 0; i < args.n_pairs && at < sizeof out; i++)
        at += (size_t)snprintf(out + at, sizeof out - at, "[%s:%s]",
                               args.pairs[i].key, args.pairs[i].value);
    sm_args_clear(&args);
    return out;
}

TEST(args_flag_forms)
{
    CHECK_STR(parse(&fake_train, "job --timeout 30"),
              "pos=[job] flags=[timeout:30] pairs=");
    CHECK_STR(parse(&fake_train, "--timeout=30 job"),
              "pos=[job] flags=[timeout:30] pairs=");
    CHECK_STR(parse(&fake_train, "-t 30 job"),
              "pos=[job] flags=[timeout:30] pairs=");
    CHECK_STR(parse(&fake_train, "job -t=30"),
              "pos=[job] flags=[timeout:30] pairs=");
    CHECK_STR(parse(&fake_train, "job --instance-type ml.m5.large"),
              "pos=[job] flags=[instance-type:ml.m5.large] pairs=");
    /* A value may contain '='. */
    CHECK_STR(parse(&fake_train, "job --instance-type=a=b"),
              "pos=[job] flags=[instance-type:a=b] pairs=");
    /* A value may be a negative number. */
    CHECK_STR(parse(&fake_train, "job --timeout -5"),
              "pos=[job] flags=[timeout:-5] pairs=");
}

TEST(args_switches)
{
    CHECK_STR(parse(&fake_train, "job --wait"),
              "pos=[job] flags=[wait:] pairs=");
    CHECK_STR(parse(&fake_train, "-w job --dry-run"),
              "pos=[job] flags=[wait:][dry-run:] pairs=");
    CHECK_STR(parse(&fake_train, "job --wait=yes"),
              "ERR: --wait takes no value");
    CHECK_STR(parse(&fake_train, "job -w=1"), "ERR: --wait takes no value");
    /* A switch does not swallow the next word. */
    CHECK_STR(parse(&fake_train, "--wait job"),
              "pos=[job] flags=[wait:] pairs=");
}

TEST(args_missing_value)
{
    CHECK_STR(parse(&fake_train, "job --timeout"),
              "ERR: --timeout needs a value (SECONDS)");
    CHECK_STR(parse(&fake_train, "job -i"),
              "ERR: --instance-type needs a value (TYPE)");
    /* The next flag is not taken as the value; --x=-y gives such a value. */
    CHECK_STR(parse(&fake_train, "job --instance-type --wait"),
              "ERR: --instance-type needs a value (TYPE)");
    CHECK_STR(parse(&fake_train, "job -t -- 5"),
              "ERR: --timeout needs a value (SECONDS)");
    CHECK_STR(parse(&fake_train, "job --instance-type=--wait"),
              "pos=[job] flags=[instance-type:--wait] pairs=");
}

TEST(args_unknown_flags_suggest)
{
    CHECK_STR(parse(&fake_train, "job --timout 5"),
              "ERR: %train has no flag --timout; did you mean --timeout?");
    CHECK_STR(parse(&fake_train, "job --timout=5"),
              "ERR: %train has no flag --timout; did you mean --timeout?");
    CHECK_STR(parse(&fake_train, "job --instance"),
              "ERR: %train has no flag --instance; did you mean "
              "--instance-type?");
    CHECK_STR(parse(&fake_train, "job --hlep"),
              "ERR: %train has no flag --hlep; did you mean --help?");
    CHECK_STR(parse(&fake_train, "job --frobnicate"),
              "ERR: %train has no flag --frobnicate; see %train --help");
    CHECK_STR(parse(&fake_train, "job -x"),
              "ERR: %train has no flag -x; see %train --help");
    /* Short flags do not combine. */
    CHECK_STR(parse(&fake_train, "job -wt"),
              "ERR: %train has no flag -wt; see %train --help");
    /* A magic without flags still knows --help. */
    CHECK_STR(parse(&fake_calc, "--hel"),
              "ERR: %calc has no flag --hel; did you mean --help?");
}

TEST(args_help_skips_counts)
{
    CHECK_STR(parse(&fake_train, "--help"), "pos= flags=[help:] pairs=");
    CHECK_STR(parse(&fake_train, "-h"), "pos= flags=[help:] pairs=");
    CHECK_STR(parse(&fake_status, "a b c --help"),
              "pos=[a][b][c] flags=[help:] pairs=");
    CHECK_STR(parse(&fake_calc, "-h"), "pos= flags=[help:] pairs=");
}

TEST(args_double_dash_ends_flags)
{
    CHECK_STR(parse(&fake_train, "-- --wait"), "pos=[--wait] flags= pairs=");
    CHECK_STR(parse(&fake_calc, "--wait --"),
              "ERR: %calc has no flag --wait; see %calc --help");
    CHECK_STR(parse(&fake_calc, "1 -- -x -- --y"),
              "pos=[1][-x][--][--y] flags= pairs=");
    /* After --, a=b is still a pair for a magic that takes pairs. */
    CHECK_STR(parse(&fake_train, "job -- a=b"), "pos=[job] flags= pairs=[a:b]");
}

TEST(args_negative_numbers_are_positional)
{
    CHECK_STR(parse(&fake_calc, "-5 -0.5 -.5 - 3"),
              "pos=[-5][-0.5][-.5][-][3] flags= pairs=");
}

TEST(args_pairs)
{
    CHECK_STR(parse(&fake_train, "job max_depth=5 eta=0.2 objective="),
              "pos=[job] flags= pairs=[max_depth:5][eta:0.2][objective:]");
    CHECK_STR(parse(&fake_train, "job a=b=c"),
              "pos=[job] flags= pairs=[a:b=c]");
    /* A word starting with '=' is not a pair. */
    CHECK_STR(parse(&fake_train, "job =x"), "pos=[job][=x] flags= pairs=");
    /* A magic without pairs takes them as positionals. */
    CHECK_STR(parse(&fake_calc, "a=1 2"), "pos=[a=1][2] flags= pairs=");
}

TEST(args_positional_counts)
{
    CHECK_STR(parse(&fake_train, ""),
              "ERR: %train needs more arguments; usage: %train NAME "
              "[key=value ...]");
    CHECK_STR(parse(&fake_train, "--wait a=1"),
              "ERR: %train needs more arguments; usage: %train NAME "
              "[key=value ...]");
    CHECK_STR(parse(&fake_train, "a b"), "pos=[a][b] flags= pairs=");
    CHECK_STR(parse(&fake_train, "a b c"),
              "ERR: %train takes fewer arguments; got an extra 'c'; usage: "
              "%train NAME [key=value ...]");
    CHECK_STR(parse(&fake_status, "now"),
              "ERR: %status takes no arguments; got an extra 'now'; usage: "
              "%status");
    CHECK_STR(parse(&fake_status, ""), "pos= flags= pairs=");
}

TEST(args_get_last_wins)
{
    char *words[] = {"-t", "1", "job", "--timeout", "2", "--wait"};
    sm_args args;
    sm_error err = {{0}};
    CHECK(sm_args_parse(&fake_train, words, 6, &args, &err) == 0);
    CHECK_STR(sm_args_get(&args, "timeout"), "2");
    CHECK_STR(sm_args_get(&args, "wait"), "");
    CHECK(sm_args_get(&args, "dry-run") == NULL);
    CHECK(sm_args_get(&args, "nonsense") == NULL);
    /* Values are copies. */
    CHECK(sm_args_get(&args, "timeout") != words[4]);
    sm_args_clear(&args);
    CHECK(args.flags == NULL && args.n_flags == 0);
}

TEST(args_closest)
{
    const char *const keys[] = {"backend", "region", "profile", "role",
                                "bucket",  "wait",   "poll"};
    CHECK_STR(sm_closest("regoin", keys, 7), "region");
    CHECK_STR(sm_closest("regin", keys, 7), "region");
    CHECK_STR(sm_closest("bucke", keys, 7), "bucket");
    CHECK_STR(sm_closest("back", keys, 7), "backend"); /* a prefix */
    CHECK_STR(sm_closest("rol", keys, 7), "role");
    CHECK_STR(sm_closest("wiat", keys, 7), "wait"); /* a swap is two edits */
    CHECK(sm_closest("zzzzzz", keys, 7) == NULL);
    CHECK(sm_closest("xy", keys, 7) == NULL);
    CHECK(sm_closest("b", keys, 7) == NULL); /* one letter is no prefix */
    CHECK(sm_closest("anything", keys, 0) == NULL);
    /* Words longer than 64 characters are never close, but may be a
     * prefix. */
    char long_word[80];
    memset(long_word, 'a', 70);
    long_word[70] = '\0';
    CHECK(sm_closest(long_word, keys, 7) == NULL);
}

TEST(args_closest_prefers_exact_match)
{
    /* An exact match beats a name one edit away listed first. */
    const char *const names[] = {"wai", "wait"};
    CHECK_STR(sm_closest("wait", names, 2), "wait");
    const char *const more[] = {"poll", "pol"};
    CHECK_STR(sm_closest("pol", more, 2), "pol");
}
