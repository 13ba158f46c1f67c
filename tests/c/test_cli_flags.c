/* test_cli_flags: the flag table parser of the sagemagic-aws commands:
 * values, switches, repeated flags, subcommand masks, words, and the
 * readers of numbers and key=value pairs, with the one line each mistake
 * prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_flags.h"
#include "test.h"

typedef struct fake_args {
    const char *name, *count;
    sm_cli_list hp;
    int wait, help;
} fake_args;

enum { CREATE = 1, LIST = 2 };

static const sm_cli_flag fake_flags[] = {
    {"--name", "N", SM_CLI_VALUE, offsetof(fake_args, name), CREATE, "name"},
    {"--count", "N", SM_CLI_VALUE, offsetof(fake_args, count), 0, "count"},
    {"--hp", "K=V", SM_CLI_LIST, offsetof(fake_args, hp), CREATE, "hp"},
    {"--wait", NULL, SM_CLI_SWITCH, offsetof(fake_args, wait), CREATE, "wait"},
    {"--help", NULL, SM_CLI_SWITCH, offsetof(fake_args, help), 0, "help"},
};

#define FAKE_COUNT (sizeof fake_flags / sizeof fake_flags[0])

/* What stderr received while `fn` ran, in a static buffer. */
static char captured[1024];

static int run_captured(int (*fn)(void *), void *ctx)
{
    FILE *tmp = tmpfile();
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    int rc = fn(ctx);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof captured - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    return rc;
}

typedef struct parse_call {
    unsigned command;
    int max_words;
    const char *line; /* space-separated, argv[0] first */
    fake_args args;
    sm_cli_words words;
    char copy[256];
} parse_call;

static int do_parse(void *ctx)
{
    parse_call *p = ctx;
    char *argv[32];
    int argc = 0;
    snprintf(p->copy, sizeof p->copy, "%s", p->line);
    for (char *w = strtok(p->copy, " "); w && argc < 32; w = strtok(NULL, " "))
        argv[argc++] = w;
    sm_cli_spec spec = {"prog sub", fake_flags, FAKE_COUNT, p->command,
                        p->max_words};
    memset(&p->args, 0, sizeof p->args);
    return sm_cli_parse(&spec, argc, argv, &p->args, &p->words);
}

static int parse(parse_call *p, unsigned command, int max_words,
                 const char *line)
{
    p->command = command;
    p->max_words = max_words;
    p->line = line;
    return run_captured(do_parse, p);
}

TEST(cli_flags_values_switches_lists_and_words)
{
    parse_call p;
    CHECK(parse(&p, CREATE, 2,
                "sub --name job --hp a=1 word --hp=b=2 --wait --count=3 w2") ==
          0);
    CHECK_STR(p.args.name, "job");
    CHECK_STR(p.args.count, "3");
    CHECK(p.args.wait == 1 && p.args.help == 0);
    CHECK(p.args.hp.count == 2);
    CHECK_STR(p.args.hp.items[0], "a=1");
    CHECK_STR(p.args.hp.items[1], "b=2");
    CHECK(p.words.count == 2);
    CHECK_STR(p.words.items[0], "word");
    CHECK_STR(p.words.items[1], "w2");
    CHECK_STR(captured, "");
}

TEST(cli_flags_dash_dash_and_dash_h)
{
    parse_call p;
    CHECK(parse(&p, LIST, 2, "sub -h -- --name -") == 0);
    CHECK(p.args.help == 1);
    CHECK(p.words.count == 2);
    CHECK_STR(p.words.items[0], "--name");
    CHECK_STR(p.words.items[1], "-");
}

TEST(cli_flags_mistakes_print_one_line)
{
    static const struct {
        unsigned command;
        const char *line, *message;
    } cases[] = {
        {CREATE, "sub --bogus",
         "prog sub: unknown flag '--bogus' (see prog "
         "sub --help)\n"},
        {LIST, "sub --name x",
         "prog sub: unknown flag '--name' (see prog sub "
         "--help)\n"},
        {LIST, "sub --bogus=1",
         "prog sub: unknown flag '--bogus' (see prog "
         "sub --help)\n"},
        {CREATE, "sub --name", "prog sub: --name needs a value\n"},
        {CREATE, "sub --wait=yes", "prog sub: --wait takes no value\n"},
        {CREATE, "sub a b", "prog sub: unexpected argument 'b'\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parse_call p;
        CHECK(parse(&p, cases[i].command, 1, cases[i].line) ==
              SM_CLI_EXIT_USAGE);
        CHECK_STR(captured, cases[i].message);
    }
}

TEST(cli_flags_given_and_usage_follow_the_mask)
{
    parse_call p;
    CHECK(parse(&p, CREATE, 0, "sub --hp a=1") == 0);
    CHECK(sm_cli_flag_given(&fake_flags[2], &p.args));
    CHECK(!sm_cli_flag_given(&fake_flags[0], &p.args));
    CHECK(!sm_cli_flag_given(&fake_flags[3], &p.args));
    CHECK(sm_cli_flag_find(fake_flags, FAKE_COUNT, "--wait", 6) ==
          &fake_flags[3]);
    CHECK(sm_cli_flag_find(fake_flags, FAKE_COUNT, "--wai", 5) == NULL);

    char text[1024] = "";
    FILE *f = fmemopen(text, sizeof text, "w");
    sm_cli_usage_flags(f, fake_flags, FAKE_COUNT, LIST);
    fclose(f);
    CHECK(strstr(text, "--count N") && strstr(text, "--help"));
    CHECK(!strstr(text, "--name") && !strstr(text, "--hp"));
    f = fmemopen(text, sizeof text, "w");
    sm_cli_usage_flags(f, fake_flags, FAKE_COUNT, CREATE);
    fclose(f);
    CHECK(strstr(text, "  --hp K=V ..."));
}

typedef struct repeat_call {
    char *argv[2 * SM_CLI_LIST_MAX + 4];
    int argc;
    fake_args args;
    sm_cli_words words;
} repeat_call;

static int do_repeat(void *ctx)
{
    repeat_call *r = ctx;
    sm_cli_spec spec = {"prog sub", fake_flags, FAKE_COUNT, CREATE, 0};
    return sm_cli_parse(&spec, r->argc, r->argv, &r->args, &r->words);
}

TEST(cli_flags_too_many_repeats)
{
    static char hp[] = "--hp", value[] = "x", sub[] = "sub";
    repeat_call *r = calloc(1, sizeof *r);
    CHECK(r);
    r->argv[r->argc++] = sub;
    for (int i = 0; i <= SM_CLI_LIST_MAX; i++) {
        r->argv[r->argc++] = hp;
        r->argv[r->argc++] = value;
    }
    int rc = run_captured(do_repeat, r);
    int count = (int)r->args.hp.count;
    free(r);
    CHECK(rc == SM_CLI_EXIT_USAGE);
    CHECK(count == SM_CLI_LIST_MAX);
    CHECK_STR(captured, "prog sub: --hp is given more than 100 times\n");
}

typedef struct number_call {
    const char *text;
    long lo, hi, out;
    double seconds;
} number_call;

static int do_long(void *ctx)
{
    number_call *n = ctx;
    return sm_cli_long("prog", "--n", n->text, n->lo, n->hi, &n->out);
}

static int do_seconds(void *ctx)
{
    number_call *n = ctx;
    return sm_cli_seconds("prog", "--poll", n->text, &n->seconds);
}

TEST(cli_flags_numbers)
{
    number_call n = {"42", 1, 100, 0, 0};
    CHECK(run_captured(do_long, &n) == 0 && n.out == 42);
    n = (number_call){NULL, 1, 100, 7, 0};
    CHECK(run_captured(do_long, &n) == 0 && n.out == 7); /* absent: kept */
    const char *bad[] = {"0", "101", "4x", "", "-1", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = (number_call){bad[i], 1, 100, 7, 0};
        CHECK(run_captured(do_long, &n) == SM_CLI_EXIT_USAGE && n.out == 7);
        CHECK(strstr(captured, "prog: --n takes a whole number from 1 to 100"));
    }
    n = (number_call){"0.25", 0, 0, 0, 0};
    CHECK(run_captured(do_seconds, &n) == 0 && n.seconds == 0.25);
    n = (number_call){"nan", 0, 0, 0, 1};
    CHECK(run_captured(do_seconds, &n) == SM_CLI_EXIT_USAGE && n.seconds == 1);
    n.text = "-3";
    CHECK(run_captured(do_seconds, &n) == SM_CLI_EXIT_USAGE);
    CHECK_STR(captured, "prog: --poll takes a number of seconds, not '-3'\n");
}

typedef struct pairs_call {
    sm_cli_list list;
    sm_cli_pairs pairs;
} pairs_call;

static int do_pairs(void *ctx)
{
    pairs_call *p = ctx;
    return sm_cli_pairs_read("prog", "--hp", &p->list, &p->pairs);
}

TEST(cli_flags_pairs)
{
    pairs_call p = {
        .list = {{"eta=0.2", "objective=reg:squared=x", "empty="}, 3}};
    CHECK(run_captured(do_pairs, &p) == 0);
    CHECK(p.pairs.count == 3);
    CHECK_STR(p.pairs.items[0].key, "eta");
    CHECK_STR(p.pairs.items[0].value, "0.2");
    CHECK_STR(p.pairs.items[1].key, "objective");
    CHECK_STR(p.pairs.items[1].value, "reg:squared=x");
    CHECK_STR(p.pairs.items[2].value, "");
    sm_cli_pairs_clear(&p.pairs);
    CHECK(p.pairs.count == 0);
    p = (pairs_call){.list = {{"a=1", "=1"}, 2}};
    CHECK(run_captured(do_pairs, &p) == SM_CLI_EXIT_USAGE);
    CHECK_STR(captured, "prog: --hp takes KEY=VALUE, not '=1'\n");
    sm_cli_pairs_clear(&p.pairs);
    p = (pairs_call){.list = {{"novalue"}, 1}};
    CHECK(run_captured(do_pairs, &p) == SM_CLI_EXIT_USAGE);
    sm_cli_pairs_clear(&p.pairs);
}
