/* cli: sagemagic-aws, the client layer on the command line; each
 * subcommand is one row of the table below. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws_cli.h"
#include "error.h"
#include "logs_cli.h"
#include "request_text.h"
#include "s3_cli.h"
#include "sagemaker_cli.h"
#include "sigv4.h"

#define PROG       "sagemagic-aws"
#define EXIT_USAGE 2
#define INPUT_MAX  (64u << 20) /* a request file or batch line, at most */

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
    const char *summary;
} command;

static int cmd_sign(int argc, char **argv);

static const command commands[] = {
    {"sign", cmd_sign,
     "sign a request with SigV4 and show the canonical request, the string "
     "to sign and the signature"},
    {"s3", sm_s3_cli, "S3: cp (multipart uploads), ls, rm, mb"},
    {"whoami", sm_aws_cli_whoami,
     "the account and identity of the credentials in use (STS)"},
    {"call", sm_aws_cli_call,
     "one SageMaker or CloudWatch Logs API call with a JSON request"},
    {"sagemaker", sm_sagemaker_cli,
     "SageMaker: train, tune, deploy, transform, describe, list, wait, "
     "invoke, ..."},
    {"logs", sm_logs_cli,
     "CloudWatch Logs: a group's streams, a stream's events (--follow), "
     "--filter"},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

/* ---- flags -------------------------------------------------------------- */

typedef struct sign_args {
    const char *request, *region, *service, *access_key, *secret_key;
    const char *session_token, *time, *expires, *bench;
    int query, s3, batch, sign_body, unsigned_payload, no_normalize;
    int omit_session_token, help;
} sign_args;

/* A flag sets a string (when it has a metavar, for its value) or an int
 * (a switch) of sign_args. */
typedef struct flag {
    const char *name;
    const char *metavar; /* NULL for a switch */
    size_t offset;
    const char *help;
} flag;

#define FIELD(name) offsetof(sign_args, name)

static const flag sign_flags[] = {
    {"--request", "FILE", FIELD(request),
     "the request as text (like request.txt); - is stdin"},
    {"--region", "R", FIELD(region), "region of the credential scope"},
    {"--service", "S", FIELD(service), "service of the credential scope"},
    {"--access-key", "K", FIELD(access_key), "access key id"},
    {"--secret-key", "S", FIELD(secret_key),
     "secret access key (never printed)"},
    {"--session-token", "T", FIELD(session_token), "session token"},
    {"--time", "T", FIELD(time), "signing time, 20150830T123600Z"},
    {"--expires", "SECONDS", FIELD(expires),
     "lifetime of a presigned query (3600)"},
    {"--query", NULL, FIELD(query), "presign: put the signature in the query"},
    {"--s3", NULL, FIELD(s3), "S3 rules: path as sent, x-amz-content-sha256"},
    {"--sign-body", NULL, FIELD(sign_body),
     "add and sign x-amz-content-sha256"},
    {"--unsigned-payload", NULL, FIELD(unsigned_payload),
     "sign UNSIGNED-PAYLOAD, not the body's hash"},
    {"--no-normalize", NULL, FIELD(no_normalize),
     "keep . .. and // in the path"},
    {"--omit-session-token", NULL, FIELD(omit_session_token),
     "send the token, leave it out of the signature"},
    {"--batch", NULL, FIELD(batch), "sign JSON lines from stdin (see below)"},
    {"--bench", "N", FIELD(bench),
     "with --batch: sign all the lines N times, print only the rate"},
    {"--help", NULL, FIELD(help), "show this help"},
};

#define SIGN_FLAG_COUNT (sizeof sign_flags / sizeof sign_flags[0])

static void sign_usage(FILE *to)
{
    fprintf(to, "usage: " PROG " sign --request FILE --region R --service S\n"
                "         --access-key K --secret-key S [--session-token T]\n"
                "         --time 20150830T123600Z [--query] [--s3]\n"
                "       " PROG " sign --batch < requests.jsonl\n\n"
                "Prints the canonical request, the string to sign and the\n"
                "Authorization header (with --query, the presigned query),\n"
                "separated by blank lines.\n\nflags:\n");
    for (size_t i = 0; i < SIGN_FLAG_COUNT; i++) {
        const flag *f = &sign_flags[i];
        char left[64];
        snprintf(left, sizeof left, "%s %s", f->name,
                 f->metavar ? f->metavar : "");
        fprintf(to, "  %-26s%s\n", left, f->help);
    }
    fprintf(to, "\n--batch reads one JSON object a line:\n"
                "  {\"id\": 1, \"method\": \"GET\", \"path\": \"/\", "
                "\"query\": \"a=1\",\n"
                "   \"headers\": [[\"Host\", \"h\"]], \"body_base64\": \"\",\n"
                "   \"region\": \"us-east-1\", \"service\": \"s3\",\n"
                "   \"credentials\": {\"access_key\": \"K\", "
                "\"secret_key\": \"S\",\n"
                "                   \"session_token\": null},\n"
                "   \"time\": \"20150830T123600Z\", \"presign\": false, "
                "\"s3\": true}\n"
                "  optional: payload, sign_body, unsigned_payload, normalize,\n"
                "  double_encode, omit_session_token, expires.\n"
                "and writes one a line: {\"id\", \"canonical_request\", "
                "\"string_to_sign\",\n"
                "\"signature\", \"authorization\" or \"query\"}, or "
                "{\"id\", \"error\"}.\n"
                "With --bench N it reads every line first, then signs them "
                "all N times over,\ntimed inside the process (signing and "
                "freeing the result, no I/O), and\nwrites one line: "
                "{\"requests\", \"rounds\", \"signatures\", "
                "\"seconds\", \"per_second\"}.\n");
}

static const flag *flag_find(const char *name, size_t len)
{
    for (size_t i = 0; i < SIGN_FLAG_COUNT; i++) {
        if (strlen(sign_flags[i].name) == len &&
            strncmp(sign_flags[i].name, name, len) == 0)
            return &sign_flags[i];
    }
    return NULL;
}

/* Fill `args` from argv; "--flag value" and "--flag=value" both work.
 * Returns 0, or EXIT_USAGE after one line on stderr. */
static int sign_args_parse(int argc, char **argv, sign_args *args)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const flag *f = strncmp(arg, "--", 2) == 0 ? flag_find(arg, len) : 0;
        if (!f && strcmp(arg, "-h") == 0)
            f = flag_find("--help", 6);
        if (!f) {
            fprintf(stderr,
                    PROG " sign: unknown %s '%s' (see " PROG " sign --help)\n",
                    arg[0] == '-' ? "flag" : "argument", arg);
            return EXIT_USAGE;
        }
        char *field = (char *)args + f->offset;
        if (!f->metavar && eq) {
            fprintf(stderr, PROG " sign: %s takes no value\n", f->name);
            return EXIT_USAGE;
        } else if (!f->metavar) {
            *(int *)field = 1;
        } else if (eq || i + 1 < argc) {
            *(const char **)field = eq ? eq + 1 : argv[++i];
        } else {
            fprintf(stderr, PROG " sign: %s needs a value\n", f->name);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* The flags a single request needs; EXIT_USAGE names the first missing. */
static int sign_args_check(const sign_args *args)
{
    const char *need[][2] = {
        {args->request, "--request"},       {args->region, "--region"},
        {args->service, "--service"},       {args->access_key, "--access-key"},
        {args->secret_key, "--secret-key"}, {args->time, "--time"},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (!need[i][0] || !*need[i][0]) {
            fprintf(stderr,
                    PROG " sign: missing %s (see " PROG " sign --help)\n",
                    need[i][1]);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* ---- input -------------------------------------------------------------- */

/* New contents of `path` ("-" is stdin), *len set; NULL with `err` set. */
static char *file_read(const char *path, size_t *len, sm_error *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        sm_error_set(err, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap && cap < INPUT_MAX) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    int failed = !buf || ferror(f) || n + 1 >= INPUT_MAX;
    if (f != stdin)
        fclose(f);
    if (failed) {
        free(buf);
        sm_error_set(err, "cannot read %s (unreadable or over %u MiB)", path,
                     INPUT_MAX >> 20);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- sign one request --------------------------------------------------- */

static int options_apply(const sign_args *args, sm_sigv4_request *req,
                         sm_error *err)
{
    req->options = sm_sigv4_options_for(args->s3 ? "s3" : req->service);
    if (args->sign_body)
        req->options.sign_content_sha256 = 1;
    if (args->no_normalize)
        req->options.normalize_path = 0;
    req->options.omit_session_token = args->omit_session_token;
    if (args->unsigned_payload)
        req->payload_hash = SM_SIGV4_UNSIGNED_PAYLOAD;
    if (args->expires) {
        char *end = NULL;
        req->options.expires = strtol(args->expires, &end, 10);
        if (!*args->expires || *end)
            return sm_error_set(err,
                                "--expires takes a number of seconds, "
                                "not '%s'",
                                args->expires);
    }
    return 0;
}

/* Sign (or presign) and print the three blocks. */
static int sign_and_print(const sign_args *args, sm_sigv4_request *req,
                          sm_error *err)
{
    sm_sigv4_result res;
    int rc = args->query ? sm_sigv4_presign(req, &res, err)
                         : sm_sigv4_sign(req, &res, err);
    if (!rc && args->query)
        printf("%s\n\n%s\n\n%s\n", res.canonical_request, res.string_to_sign,
               res.query);
    else if (!rc)
        printf("%s\n\n%s\n\nAuthorization: %s\n", res.canonical_request,
               res.string_to_sign, res.authorization);
    sm_sigv4_result_clear(&res);
    return rc;
}

static int sign_file(const sign_args *args)
{
    sm_error err = {{0}};
    size_t len = 0;
    char *text = file_read(args->request, &len, &err);
    sm_request_text *r = text ? sm_request_text_parse(text, len, &err) : NULL;
    sm_sigv4_request req = {
        .region = args->region,
        .service = args->service,
        .credentials = {args->access_key, args->secret_key,
                        args->session_token},
    };
    int rc = r ? 0 : -1;
    if (!rc)
        rc = sm_sigv4_parse_time(args->time, &req.time, &err);
    if (!rc) {
        req.method = r->method;
        req.path = r->path;
        req.query = r->query;
        req.headers = r->headers;
        req.header_count = r->header_count;
        req.body = r->body;
        req.body_len = r->body_len;
        rc = options_apply(args, &req, &err);
    }
    if (!rc)
        rc = sign_and_print(args, &req, &err);
    if (rc)
        fprintf(stderr, PROG " sign: %s\n", err.message);
    sm_request_text_destroy(&r);
    free(text);
    return rc ? 1 : 0;
}

/* ---- sign JSON lines ---------------------------------------------------- */

/* One batch request: the JSON it came from owns every string. */
typedef struct batch_item {
    sm_sigv4_request req;
    sm_sigv4_header *headers;
    unsigned char *body;
    sign_args args; /* presign, s3, sign_body ... as the switches */
} batch_item;

static const char *line_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int line_flag(json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}

static int batch_headers(json_t *list, batch_item *item, sm_error *err)
{
    size_t n = json_array_size(list);
    if (list && !json_is_array(list))
        return sm_error_set(err, "\"headers\" is not a list of pairs");
    item->headers = calloc(n ? n : 1, sizeof *item->headers);
    if (!item->headers)
        return sm_error_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *pair = json_array_get(list, i);
        item->headers[i].name = json_string_value(json_array_get(pair, 0));
        item->headers[i].value = json_string_value(json_array_get(pair, 1));
        if (json_array_size(pair) != 2 || !item->headers[i].name ||
            !item->headers[i].value)
            return sm_error_set(err,
                                "header %zu is not a [name, value] "
                                "pair of strings",
                                i + 1);
    }
    item->req.headers = item->headers;
    item->req.header_count = n;
    return 0;
}

static int batch_body(json_t *line, batch_item *item, sm_error *err)
{
    const char *b64 = line_str(line, "body_base64");
    size_t b64_len = b64 ? strlen(b64) : 0, len = 0;
    item->body = malloc(b64_len / 4 * 3 + 3);
    if (!item->body)
        return sm_error_set(err, "out of memory");
    if (b64_len &&
        sodium_base642bin(item->body, b64_len / 4 * 3 + 3, b64, b64_len, NULL,
                          &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return sm_error_set(err, "\"body_base64\" is not base64");
    item->req.body = item->body;
    item->req.body_len = len;
    return 0;
}

/* The switches and the optional overrides of the service defaults. */
static int batch_options(json_t *line, batch_item *item, sm_error *err)
{
    sign_args *a = &item->args;
    a->query = line_flag(line, "presign");
    a->s3 = line_flag(line, "s3");
    a->sign_body = line_flag(line, "sign_body");
    a->unsigned_payload = line_flag(line, "unsigned_payload");
    a->omit_session_token = line_flag(line, "omit_session_token");
    item->req.payload_hash = line_str(line, "payload");
    if (options_apply(a, &item->req, err))
        return -1;
    json_t *v = json_object_get(line, "normalize");
    if (v)
        item->req.options.normalize_path = json_is_true(v);
    v = json_object_get(line, "double_encode");
    if (v)
        item->req.options.double_encode_path = json_is_true(v);
    v = json_object_get(line, "expires");
    if (v)
        item->req.options.expires = (long)json_integer_value(v);
    return 0;
}

static int batch_item_load(json_t *line, batch_item *item, sm_error *err)
{
    json_t *creds = json_object_get(line, "credentials");
    item->req = (sm_sigv4_request){
        .method = line_str(line, "method"),
        .path = line_str(line, "path"),
        .query = line_str(line, "query"),
        .region = line_str(line, "region"),
        .service = line_str(line, "service"),
        .credentials = {line_str(creds, "access_key"),
                        line_str(creds, "secret_key"),
                        line_str(creds, "session_token")},
    };
    const char *t = line_str(line, "time");
    if (!json_is_object(line))
        return sm_error_set(err, "the line is not a JSON object");
    if (sm_sigv4_parse_time(t ? t : "", &item->req.time, err))
        return -1;
    if (batch_headers(json_object_get(line, "headers"), item, err))
        return -1;
    if (batch_body(line, item, err))
        return -1;
    return batch_options(line, item, err);
}

/* Sign one parsed line into `reply`. */
static int batch_sign(json_t *line, json_t *reply, sm_error *err)
{
    batch_item item = {0};
    sm_sigv4_result res = {0};
    int rc = batch_item_load(line, &item, err);
    if (!rc)
        rc = item.args.query ? sm_sigv4_presign(&item.req, &res, err)
                             : sm_sigv4_sign(&item.req, &res, err);
    if (!rc) {
        json_t *cr = json_string(res.canonical_request);
        json_t *sts = json_string(res.string_to_sign);
        json_t *last =
            json_string(item.args.query ? res.query : res.authorization);
        json_object_set_new(reply, "canonical_request", cr);
        json_object_set_new(reply, "string_to_sign", sts);
        json_object_set_new(reply, "signature", json_string(res.signature));
        json_object_set_new(reply, item.args.query ? "query" : "authorization",
                            last);
        if (!cr || !sts || !last)
            rc = sm_error_set(err, "the result is not valid UTF-8");
    }
    sm_sigv4_result_clear(&res);
    free(item.headers);
    free(item.body);
    return rc;
}

/* Read one line of stdin, new and without its "\n"; NULL at the end. */
static char *line_read(FILE *in)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int c = EOF;
    while (buf && n < INPUT_MAX && (c = getc(in)) != EOF && c != '\n') {
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                free(buf);
            buf = bigger;
            cap *= 2;
        }
        if (buf)
            buf[n++] = (char)c;
    }
    if (buf && c == EOF && n == 0) {
        free(buf);
        return NULL;
    }
    if (buf)
        buf[n] = '\0';
    return buf;
}

static int sign_batch(void)
{
    int failures = 0;
    char *text;
    while ((text = line_read(stdin)) != NULL) {
        json_error_t jerr;
        sm_error err = {{0}};
        json_t *line = json_loads(text, 0, &jerr);
        json_t *reply = json_object();
        if (!line)
            sm_error_set(&err, "line is not JSON: %s", jerr.text);
        json_object_set(reply, "id", json_object_get(line, "id"));
        if (!line || batch_sign(line, reply, &err)) {
            json_object_set_new(reply, "error", json_string(err.message));
            failures++;
        }
        char *out = json_dumps(reply, JSON_COMPACT | JSON_ENSURE_ASCII);
        printf("%s\n", out ? out : "{\"error\": \"out of memory\"}");
        free(out);
        json_decref(reply);
        json_decref(line);
        sodium_memzero(text, strlen(text)); /* it held the secret key */
        free(text);
    }
    fflush(stdout);
    return failures ? 1 : 0;
}

/* ---- sign JSON lines, timed --------------------------------------------- */

/* Every line of a benchmark, loaded before the clock starts: the JSON
 * values own the strings the items borrow. */
typedef struct bench_set {
    json_t **lines;
    batch_item *items;
    size_t count, cap;
} bench_set;

static void bench_set_clear(bench_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        free(set->items[i].headers);
        free(set->items[i].body);
        json_decref(set->lines[i]);
    }
    free(set->items);
    free(set->lines);
    memset(set, 0, sizeof *set);
}

/* Load one more line (new, wiped and freed here) into `set`. */
static int bench_set_add(bench_set *set, char *text, sm_error *err)
{
    json_error_t jerr;
    json_t *line = json_loads(text, 0, &jerr);
    sodium_memzero(text, strlen(text)); /* it held the secret key */
    free(text);
    if (!line)
        return sm_error_set(err, "line %zu is not JSON: %s", set->count + 1,
                            jerr.text);
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        json_t **lines = realloc(set->lines, cap * sizeof *lines);
        if (lines)
            set->lines = lines;
        batch_item *items = realloc(set->items, cap * sizeof *items);
        if (items)
            set->items = items;
        if (!lines || !items) {
            json_decref(line);
            return sm_error_set(err, "out of memory");
        }
        set->cap = cap;
    }
    batch_item *item = &set->items[set->count];
    memset(item, 0, sizeof *item);
    set->lines[set->count++] = line;
    sm_error why = {{0}};
    if (batch_item_load(line, item, &why))
        return sm_error_set(err, "line %zu: %s", set->count, why.message);
    return 0;
}

/* Sign every item `rounds` times; the seconds it took, or -1 when a
 * signature failed (`err` says which). */
static double bench_run(const bench_set *set, long rounds, sm_error *err)
{
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long r = 0; r < rounds; r++) {
        for (size_t i = 0; i < set->count; i++) {
            const batch_item *item = &set->items[i];
            sm_sigv4_result res = {0};
            int rc = item->args.query ? sm_sigv4_presign(&item->req, &res, err)
                                      : sm_sigv4_sign(&item->req, &res, err);
            sm_sigv4_result_clear(&res);
            if (rc)
                return -1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (double)(end.tv_sec - start.tv_sec) +
           (double)(end.tv_nsec - start.tv_nsec) / 1e9;
}

/* --batch --bench N: the signing rate of the lines on stdin. */
static int sign_bench(const char *rounds_text)
{
    char *end = NULL;
    long rounds = strtol(rounds_text, &end, 10);
    if (!*rounds_text || *end || rounds < 1 || rounds > 1000000) {
        fprintf(stderr,
                PROG " sign: --bench takes a number of rounds from 1 "
                     "to 1000000, not '%s'\n",
                rounds_text);
        return EXIT_USAGE;
    }
    bench_set set = {0};
    sm_error err = {{0}};
    char *text;
    int rc = 0;
    while (!rc && (text = line_read(stdin)) != NULL)
        rc = bench_set_add(&set, text, &err);
    if (!rc && !set.count)
        rc = sm_error_set(&err, "no request lines on stdin");
    double seconds = rc ? -1 : bench_run(&set, rounds, &err);
    if (seconds >= 0) {
        double n = (double)set.count * (double)rounds;
        printf("{\"requests\": %zu, \"rounds\": %ld, \"signatures\": %.0f, "
               "\"seconds\": %.6f, \"per_second\": %.1f}\n",
               set.count, rounds, n, seconds, seconds > 0 ? n / seconds : 0.0);
    } else {
        fprintf(stderr, PROG " sign: %s\n", err.message);
    }
    bench_set_clear(&set);
    return seconds >= 0 ? 0 : 1;
}

/* ---- sign --------------------------------------------------------------- */

static int cmd_sign(int argc, char **argv)
{
    sign_args args = {0};
    int rc = sign_args_parse(argc, argv, &args);
    if (rc)
        return rc;
    if (args.help) {
        sign_usage(stdout);
        return 0;
    }
    if (args.bench && !args.batch) {
        fprintf(stderr, PROG " sign: --bench goes with --batch\n");
        return EXIT_USAGE;
    }
    if (args.bench)
        return sign_bench(args.bench);
    if (args.batch)
        return sign_batch();
    rc = sign_args_check(&args);
    return rc ? rc : sign_file(&args);
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to, "usage: " PROG " COMMAND [FLAGS]\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(to, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\n" PROG " COMMAND --help shows a command's flags.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, PROG ": unknown command '%s' (see " PROG " --help)\n",
            name);
    return EXIT_USAGE;
}
