/* aws_cli: flags into an sm_aws_config, one call, the answer on stdout and
 * any failure as one line on stderr. */
#include "aws_cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"
#include "log.h"

#define PROG "sagemagic-aws"
#define EXIT_USAGE 2

typedef struct cli_args {
    const char *region, *profile, *endpoint_url;
    const char *positional[3];
    int positional_count, help;
} cli_args;

typedef struct cli_flag {
    const char *name;
    size_t offset; /* of a const char * in cli_args */
    const char *help;
} cli_flag;

static const cli_flag flags[] = {
    {"--region", offsetof(cli_args, region),
     "the region (else AWS_REGION, AWS_DEFAULT_REGION, the profile)"},
    {"--profile", offsetof(cli_args, profile), "the shared config profile"},
    {"--endpoint-url", offsetof(cli_args, endpoint_url),
     "send every request here (else AWS_ENDPOINT_URL_*, AWS_ENDPOINT_URL)"},
};

#define FLAG_COUNT (sizeof flags / sizeof flags[0])

static void flags_usage(FILE *to)
{
    for (size_t i = 0; i < FLAG_COUNT; i++)
        fprintf(to, "  %-16s %s\n", flags[i].name, flags[i].help);
    fprintf(to, "\nCredentials come from the environment, ~/.aws, container "
                "or instance metadata.\nAWS_MAX_ATTEMPTS, "
                "SAGEMAGIC_CONNECT_TIMEOUT_MS and SAGEMAGIC_READ_TIMEOUT_MS\n"
                "tune retries and timeouts; SAGEMAGIC_LOG=debug shows each "
                "request.\n");
}

/* argv[1..] into `a`: "--flag V", "--flag=V", and up to `max` words. */
static int args_parse(const char *cmd, int argc, char **argv, int max,
                      cli_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const cli_flag *f = NULL;
        for (size_t k = 0; k < FLAG_COUNT && !f; k++) {
            if (strlen(flags[k].name) == len &&
                strncmp(flags[k].name, arg, len) == 0)
                f = &flags[k];
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = 1;
        } else if (f && (eq || i + 1 < argc)) {
            *(const char **)((char *)a + f->offset) = eq ? eq + 1 : argv[++i];
        } else if (f) {
            fprintf(stderr, PROG " %s: %s needs a value\n", cmd, f->name);
            return EXIT_USAGE;
        } else if (arg[0] == '-' && arg[1] == '-') {
            fprintf(stderr,
                    PROG " %s: unknown flag '%s' (see " PROG " %s --help)\n",
                    cmd, arg, cmd);
            return EXIT_USAGE;
        } else if (a->positional_count < max) {
            a->positional[a->positional_count++] = arg;
        } else {
            fprintf(stderr, PROG " %s: unexpected argument '%s'\n", cmd, arg);
            return EXIT_USAGE;
        }
    }
    return 0;
}

static sm_aws *client_new(const char *cmd, const cli_args *a)
{
    sm_aws_config cfg = {.region = a->region,
                         .profile = a->profile,
                         .endpoint_url = a->endpoint_url};
    sm_aws_error err;
    char msg[1400];
    sm_log_init();
    sm_aws *aws = sm_aws_new(&cfg, &err);
    if (!aws) {
        sm_aws_error_format(&err, msg, sizeof msg);
        fprintf(stderr, PROG " %s: %s\n", cmd, msg);
    }
    return aws;
}

static int fail(const char *cmd, const sm_aws_error *err)
{
    char msg[1400];
    sm_aws_error_format(err, msg, sizeof msg);
    fprintf(stderr, PROG " %s: %s\n", cmd, msg);
    return 1;
}

/* Print `doc` indented, as the AWS CLI does; 1 when it cannot. */
static int print_json(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(4) | JSON_ENCODE_ANY);
    if (!text)
        return 1;
    printf("%s\n", text);
    free(text);
    return fflush(stdout) ? 1 : 0;
}

int sm_aws_cli_whoami(int argc, char **argv)
{
    cli_args a = {0};
    int rc = args_parse("whoami", argc, argv, 0, &a);
    if (rc || a.help) {
        FILE *to = rc ? stderr : stdout;
        fprintf(to, "usage: " PROG " whoami [flags]\n\nThe account, ARN and "
                    "user id of the credentials in use (STS "
                    "GetCallerIdentity).\n\nflags:\n");
        flags_usage(to);
        return rc;
    }
    sm_aws *aws = client_new("whoami", &a);
    if (!aws)
        return 1;
    sm_aws_identity id;
    sm_aws_error err;
    rc = sm_aws_whoami(aws, &id, &err) ? fail("whoami", &err) : 0;
    if (!rc) {
        json_t *doc = json_pack("{s:s, s:s, s:s}", "UserId", id.user_id,
                                "Account", id.account, "Arn", id.arn);
        rc = doc ? print_json(doc) : 1;
        json_decref(doc);
    }
    sm_aws_destroy(&aws);
    return rc;
}

static const struct {
    const char *name;
    sm_aws_service service;
} json_services[] = {
    {"sagemaker", SM_AWS_SAGEMAKER},
    {"logs", SM_AWS_LOGS},
};

static void call_usage(FILE *to)
{
    fprintf(to, "usage: " PROG " call SERVICE OPERATION [JSON|-] [flags]\n\n"
                "One API call; SERVICE is sagemaker or logs, JSON the "
                "request ({} when left out,\n- to read it from stdin). "
                "Prints the response as JSON.\n  e.g. " PROG
                " call sagemaker ListTrainingJobs '{\"MaxResults\": 5}'\n\n"
                "flags:\n");
    flags_usage(to);
}

static json_t *request_load(const char *text, sm_aws_error *err)
{
    json_error_t jerr;
    json_t *doc = !text                    ? json_object()
                  : strcmp(text, "-") == 0 ? json_loadf(stdin, 0, &jerr)
                                           : json_loads(text, 0, &jerr);
    if (!json_is_object(doc)) {
        memset(err, 0, sizeof *err);
        snprintf(err->message, sizeof err->message,
                 "the request is not a JSON object%s%s", doc ? "" : ": ",
                 doc ? "" : jerr.text);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int sm_aws_cli_call(int argc, char **argv)
{
    cli_args a = {0};
    int rc = args_parse("call", argc, argv, 3, &a);
    if (rc || a.help || a.positional_count < 2) {
        call_usage(rc || !a.help ? stderr : stdout);
        return rc || !a.help ? EXIT_USAGE : 0;
    }
    const sm_aws_service *service = NULL;
    for (size_t i = 0; i < sizeof json_services / sizeof json_services[0];
         i++) {
        if (strcmp(json_services[i].name, a.positional[0]) == 0)
            service = &json_services[i].service;
    }
    if (!service) {
        fprintf(stderr,
                PROG " call: unknown service '%s' (sagemaker or "
                     "logs)\n",
                a.positional[0]);
        return EXIT_USAGE;
    }
    sm_aws_error err;
    json_t *request = request_load(a.positional[2], &err);
    if (!request)
        return fail("call", &err);
    sm_aws *aws = client_new("call", &a);
    json_t *resp =
        aws ? sm_aws_json_call(aws, *service, a.positional[1], request, &err)
            : NULL;
    rc = !aws ? 1 : !resp ? fail("call", &err) : print_json(resp);
    json_decref(resp);
    json_decref(request);
    sm_aws_destroy(&aws);
    return rc;
}
