/* cli_flags: the flags of a sagemagic-aws command as rows of a table, each
 * setting one member of the command's argument struct, with the help text
 * made from the same rows; and the small readers of flag values (numbers,
 * key=value pairs) the commands share. */
#ifndef SM_CLI_FLAGS_H
#define SM_CLI_FLAGS_H

#include <stddef.h>
#include <stdio.h>

#include "awsjson.h"

#define SM_CLI_EXIT_FAIL 1
#define SM_CLI_EXIT_USAGE 2
#define SM_CLI_EXIT_INTR 130

typedef enum sm_cli_flag_kind {
    SM_CLI_VALUE,  /* "--name N" or "--name=N": a const char * member */
    SM_CLI_SWITCH, /* "--wait": an int member set to 1 */
    SM_CLI_LIST,   /* "--hp k=v", repeatable: an sm_cli_list member */
} sm_cli_flag_kind;

/* The values a repeatable flag was given, in order, borrowed from argv. */
#define SM_CLI_LIST_MAX 100
typedef struct sm_cli_list {
    const char *items[SM_CLI_LIST_MAX];
    size_t count;
} sm_cli_list;

typedef struct sm_cli_flag {
    const char *name;    /* "--name" */
    const char *metavar; /* "N"; NULL for a switch */
    sm_cli_flag_kind kind;
    size_t offset;     /* of the member in the argument struct */
    unsigned commands; /* bit mask of the subcommands taking it; 0: all */
    const char *help;
} sm_cli_flag;

/* How to parse one command line. Every pointer borrowed. */
typedef struct sm_cli_spec {
    const char *prog; /* "sagemagic-aws sagemaker train", for messages */
    const sm_cli_flag *flags;
    size_t flag_count;
    unsigned command; /* this subcommand's bit; rows without it are
                       * unknown flags here */
    int max_words;    /* positional arguments allowed, at most 8 */
} sm_cli_spec;

/* The positional arguments, borrowed from argv. */
typedef struct sm_cli_words {
    const char *items[8];
    int count;
} sm_cli_words;

/* Parse argv[1..] into `out` (the argument struct the rows' offsets point
 * into) and `words`. "-h" means "--help" when the table has it; "--" ends
 * the flags. Returns 0, or SM_CLI_EXIT_USAGE after one line on stderr. */
int sm_cli_parse(const sm_cli_spec *spec, int argc, char **argv, void *out,
                 sm_cli_words *words);

/* Print the rows `command` takes, one a line: "  --name N   help". */
void sm_cli_usage_flags(FILE *to, const sm_cli_flag *flags, size_t count,
                        unsigned command);

/* The row named `name` ("--image"), or NULL. */
const sm_cli_flag *sm_cli_flag_find(const sm_cli_flag *flags, size_t count,
                                    const char *name, size_t len);

/* Nonzero when the member of `row` in `args` was given on the command
 * line (a value, a switch set, a list with items). */
int sm_cli_flag_given(const sm_cli_flag *row, const void *args);

/* Read `text` (borrowed; NULL keeps *out) as a whole number within
 * [min, max]. Returns 0, or SM_CLI_EXIT_USAGE after one line naming
 * `flag`. */
int sm_cli_long(const char *prog, const char *flag, const char *text, long min,
                long max, long *out);

/* Read `text` (NULL keeps *out) as a number of seconds, 0 to 31 days. */
int sm_cli_seconds(const char *prog, const char *flag, const char *text,
                   double *out);

/* "key=value" items of a list flag as pairs. The keys are new copies,
 * the values point into the items. */
typedef struct sm_cli_pairs {
    sm_awsjson_kv items[SM_CLI_LIST_MAX];
    char *keys[SM_CLI_LIST_MAX];
    size_t count;
} sm_cli_pairs;

/* Fill `out` from `list` (borrowed). Returns 0, SM_CLI_EXIT_USAGE after a
 * line naming `flag` when an item has no '=' or an empty key, or
 * SM_CLI_EXIT_FAIL when out of memory. Clear `out` in every case. */
int sm_cli_pairs_read(const char *prog, const char *flag,
                      const sm_cli_list *list, sm_cli_pairs *out);
void sm_cli_pairs_clear(sm_cli_pairs *self);

#endif
