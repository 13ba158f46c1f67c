/* logs_cli: "sagemagic-aws logs GROUP [STREAM]": with a stream, its events
 * read forward (and followed with --follow); with --filter, the events of
 * the group that match; else the group's streams. Events print one a line,
 * tab-separated: [time] [stream] message. */
#include "logs_cli.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws.h"
#include "awstime.h"
#include "cli_flags.h"
#include "log.h"
#include "logs.h"

#define PROG "sagemagic-aws logs"
#define SLICE 0.1 /* the longest sleep between two looks at a signal */

typedef struct logs_args {
    const char *region, *profile, *endpoint_url;
    const char *prefix, *filter, *start, *end, *poll, *limit;
    int follow, timestamps, help;
} logs_args;

#define V(member) SM_CLI_VALUE, offsetof(logs_args, member)
#define S(member) SM_CLI_SWITCH, offsetof(logs_args, member)

static const sm_cli_flag flags[] = {
    {"--prefix", "P", V(prefix), 0,
     "only streams whose names start with P (a job's: JOB/)"},
    {"--filter", "PATTERN", V(filter), 0,
     "search the group (or STREAM) with a filter pattern; '' matches all"},
    {"--start", "TIME", V(start), 0,
     "events from this time on (ms since the epoch, or ISO 8601)"},
    {"--end", "TIME", V(end), 0, "events before this time"},
    {"--follow", NULL, S(follow), 0,
     "with STREAM: keep printing new events until Ctrl-C"},
    {"--poll", "SECONDS", V(poll), 0, "--follow: between two reads (2)"},
    {"--limit", "N", V(limit), 0, "events (or streams) per request"},
    {"--timestamps", NULL, S(timestamps), 0, "print each event's time first"},
    {"--region", "R", V(region), 0, "the region (else AWS_REGION, profile)"},
    {"--profile", "P", V(profile), 0, "the shared config profile"},
    {"--endpoint-url", "URL", V(endpoint_url), 0,
     "send requests here (else AWS_ENDPOINT_URL_*, AWS_ENDPOINT_URL)"},
    {"--help", NULL, S(help), 0, "show this help"},
};

#define FLAG_COUNT (sizeof flags / sizeof flags[0])

typedef struct logs_run {
    sm_aws *aws;
    const logs_args *a;
    const char *group, *stream;
    int64_t start, end; /* ms; 0: none */
    long limit;
    double poll;
} logs_run;

static void usage(FILE *to)
{
    fprintf(to, "usage: " PROG " GROUP [STREAM] [FLAGS]\n\n"
                "CloudWatch Logs. With STREAM, its events from the start "
                "(--follow: and new\nones as they come); with --filter, the "
                "matching events of GROUP (or STREAM);\nelse the streams of "
                "GROUP. A training job's group is " SM_LOGS_TRAINING_GROUP
                ",\nits streams JOB/algo-1-...\n\nflags:\n");
    sm_cli_usage_flags(to, flags, FLAG_COUNT, 0);
    fprintf(to, "\nEvents print one a line: [TIME<tab>][STREAM<tab>]MESSAGE "
                "(STREAM with --filter).\nStreams print as "
                "NAME<tab>LAST-EVENT-TIME.\n");
}

static int fail(const sm_aws_error *err)
{
    char msg[1400];
    sm_aws_error_format(err, msg, sizeof msg);
    fprintf(stderr, PROG ": %s\n", msg);
    return SM_CLI_EXIT_FAIL;
}

/* "1700000000000" (ms) or "2024-05-01T10:00:00Z" into ms; 0 for NULL. */
static int time_arg(const char *flag, const char *text, int64_t *out)
{
    time_t t;
    const char *p = text;
    *out = 0;
    if (!text)
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*text && !*p && p - text <= 15) {
        *out = strtoll(text, NULL, 10);
        return 0;
    }
    if (sm_awstime_parse_iso8601(text, &t) == 0) {
        *out = (int64_t)t * 1000;
        return 0;
    }
    fprintf(stderr,
            PROG ": %s takes milliseconds since the epoch or an ISO 8601 "
                 "time, not '%s'\n",
            flag, text);
    return SM_CLI_EXIT_USAGE;
}

static void time_show(int64_t ms, char out[32])
{
    char iso[21];
    sm_awstime_format_iso8601((time_t)(ms / 1000), iso);
    snprintf(out, 32, "%.19s.%03dZ", iso, (int)(ms % 1000));
}

static void events_print(const logs_run *r, const sm_logs_events *events)
{
    char when[32];
    for (size_t i = 0; i < events->count; i++) {
        const sm_logs_event *e = &events->items[i];
        if (r->a->timestamps) {
            time_show(e->timestamp, when);
            printf("%s\t", when);
        }
        if (e->stream)
            printf("%s\t", e->stream);
        printf("%s\n", e->message);
    }
    fflush(stdout);
}

/* ---- the three readings ------------------------------------------------- */

static int streams_list(const logs_run *r)
{
    sm_logs_stream_query q = {
        .group = r->group, .prefix = r->a->prefix, .limit = (int)r->limit};
    sm_logs_streams streams = {0};
    sm_aws_error err;
    int rc = sm_logs_describe_streams(r->aws, &q, 0, &streams, &err)
                 ? fail(&err)
                 : 0;
    char when[32];
    for (size_t i = 0; !rc && i < streams.count; i++) {
        const sm_logs_stream *s = &streams.items[i];
        if (s->last_event_time)
            time_show(s->last_event_time, when);
        printf("%s\t%s\n", s->name, s->last_event_time ? when : "-");
    }
    sm_logs_streams_clear(&streams);
    return rc;
}

static int events_filter(const logs_run *r)
{
    const char *streams[1] = {r->stream};
    sm_logs_filter_query q = {.group = r->group,
                              .streams = streams,
                              .stream_count = r->stream ? 1 : 0,
                              .prefix = r->a->prefix,
                              .start_time = r->start,
                              .end_time = r->end,
                              .pattern = r->a->filter,
                              .limit = (int)r->limit};
    sm_logs_events events = {0};
    sm_aws_error err;
    int rc =
        sm_logs_filter_events(r->aws, &q, 0, &events, &err) ? fail(&err) : 0;
    if (!rc)
        events_print(r, &events);
    sm_logs_events_clear(&events);
    return rc;
}

static volatile sig_atomic_t interrupted_flag;

static void on_signal(int sig)
{
    (void)sig;
    interrupted_flag = 1;
}

/* Sleep `seconds` in slices; 1 when a signal came. */
static int nap(double seconds)
{
    for (double left = seconds; left > 0 && !interrupted_flag; left -= SLICE) {
        double s = left < SLICE ? left : SLICE;
        struct timespec ts = {0, (long)(s * 1e9)};
        nanosleep(&ts, NULL);
    }
    return interrupted_flag;
}

/* Read the stream from `*token` on, print what came and move `*token`
 * (owned) on. A stream that does not exist yet is not an error when
 * following: a job's first lines may still be on their way. */
static int stream_step(const logs_run *r, char **token)
{
    sm_logs_events_query q = {.group = r->group,
                              .stream = r->stream,
                              .start_time = r->start,
                              .end_time = r->end,
                              .next_token = *token,
                              .start_from_head = 1,
                              .limit = (int)r->limit};
    sm_logs_events events = {0};
    sm_aws_error err;
    int rc = 0;
    if (sm_logs_read_stream(r->aws, &q, 0, &events, &err))
        rc =
            r->a->follow && (sm_logs_error_is_missing(&err) || interrupted_flag)
                ? 0
                : fail(&err);
    if (!rc)
        events_print(r, &events);
    if (!rc && events.next_forward_token) {
        free(*token);
        *token = events.next_forward_token;
        events.next_forward_token = NULL;
    }
    sm_logs_events_clear(&events);
    return rc;
}

static int stream_read(const logs_run *r)
{
    char *token = NULL;
    if (r->a->follow) { /* Ctrl-C ends following, with status 0 */
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    int rc = stream_step(r, &token);
    while (!rc && r->a->follow && !nap(r->poll))
        rc = stream_step(r, &token);
    free(token);
    return rc;
}

/* ---- logs --------------------------------------------------------------- */

static int run_read(int argc, char **argv, logs_args *a, logs_run *r)
{
    sm_cli_words w;
    sm_cli_spec spec = {PROG, flags, FLAG_COUNT, 1, 2};
    int rc = sm_cli_parse(&spec, argc, argv, a, &w);
    if (rc || a->help)
        return rc ? rc : -1;
    if (w.count < 1 || (a->follow && (w.count < 2 || a->filter))) {
        fprintf(stderr, "usage: " PROG " GROUP [STREAM] [FLAGS]%s\n",
                w.count ? " (--follow needs STREAM and no --filter)" : "");
        return SM_CLI_EXIT_USAGE;
    }
    *r = (logs_run){.a = a, .group = w.items[0], .poll = 2.0};
    r->stream = w.count > 1 ? w.items[1] : NULL;
    rc = time_arg("--start", a->start, &r->start);
    if (!rc)
        rc = time_arg("--end", a->end, &r->end);
    if (!rc)
        rc = sm_cli_long(PROG, "--limit", a->limit, 1, 10000, &r->limit);
    if (!rc)
        rc = sm_cli_seconds(PROG, "--poll", a->poll, &r->poll);
    return rc;
}

static sm_aws *client_new(const logs_args *a)
{
    sm_aws_config cfg = {.region = a->region,
                         .profile = a->profile,
                         .endpoint_url = a->endpoint_url};
    sm_aws_error err = {0};
    sm_log_init();
    sm_aws *aws = sm_aws_new(&cfg, &err);
    if (!aws)
        fail(&err);
    return aws;
}

int sm_logs_cli(int argc, char **argv)
{
    logs_args a = {0};
    logs_run r = {0};
    int rc = run_read(argc, argv, &a, &r);
    if (rc < 0) {
        usage(stdout);
        return 0;
    }
    if (!rc && !(r.aws = client_new(&a)))
        rc = SM_CLI_EXIT_FAIL;
    if (!rc)
        rc = a.filter   ? events_filter(&r)
             : r.stream ? stream_read(&r)
                        : streams_list(&r);
    sm_aws_destroy(&r.aws);
    return rc;
}
