/* fuzz_cli_parsers: libFuzzer target for what sagemagic-aws reads from a
 * command line: the flag table parser (the input split at NULs into argv)
 * and tuning ranges in the command language's notation, fed on to the
 * request builder.
 * Build: clang -fsanitize=fuzzer,address,undefined with the .c files of
 * common/ and of client/ but client/cli.c; run with -close_fd_mask=2 to
 * keep the usage lines the parser prints off the terminal. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_flags.h"
#include "sagemaker_training.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_args {
    const char *name;
    sm_cli_list hp;
    int wait, help;
} fuzz_args;

static const sm_cli_flag fuzz_flags[] = {
    {"--name", "N", SM_CLI_VALUE, offsetof(fuzz_args, name), 1, "name"},
    {"--hp", "K=V", SM_CLI_LIST, offsetof(fuzz_args, hp), 0, "hp"},
    {"--wait", NULL, SM_CLI_SWITCH, offsetof(fuzz_args, wait), 2, "wait"},
    {"--help", NULL, SM_CLI_SWITCH, offsetof(fuzz_args, help), 0, "help"},
};

static void fuzz_flags_parse(char *text, size_t size, unsigned command)
{
    char *argv[64];
    int argc = 0;
    for (size_t at = 0; at < size && argc < 64;) {
        argv[argc++] = text + at;
        at += strlen(text + at) + 1;
    }
    fuzz_args *a = calloc(1, sizeof *a);
    sm_cli_words w;
    sm_cli_spec spec = {"fuzz", fuzz_flags, 4, command, 3};
    if (a && sm_cli_parse(&spec, argc, argv, a, &w) == 0) {
        sm_cli_pairs pairs;
        sm_cli_pairs_read("fuzz", "--hp", &a->hp, &pairs);
        sm_cli_pairs_clear(&pairs);
    }
    free(a);
}

static void fuzz_range(const char *text)
{
    sm_sagemaker_range_text t;
    sm_error err = {""};
    if (sm_sagemaker_range_parse(text, &t, &err) == 0) {
        sm_sagemaker_channel ch = {.name = "train", .s3_uri = "s3://b/t/"};
        sm_sagemaker_tuning_job_spec spec = {
            .name = "t",
            .objective_metric = "m",
            .objective_type = "Maximize",
            .max_parallel = 1,
            .ranges = &t.range,
            .range_count = 1,
            .training = {.image = "i",
                         .role_arn = "arn:aws:iam::123456789012:role/R",
                         .channels = &ch,
                         .channel_count = 1,
                         .output_path = "s3://b/o/",
                         .resources = {.instance_type = "ml.m5.large"}},
        };
        json_decref(sm_sagemaker_create_tuning_job_request(&spec, &err));
    }
    sm_sagemaker_range_text_clear(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_range(text);
    fuzz_flags_parse(text, size + 1, size ? (unsigned)(data[0] & 3) : 1);
    free(text);
    return 0;
}
