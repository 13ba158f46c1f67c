/* s3_cli: "sagemagic-aws s3 cp|ls|rm|mb", each subcommand a row of a table;
 * output follows the AWS CLI's "aws s3" where it has an equivalent. */
#include "s3_cli.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws.h"
#include "buf.h"
#include "s3.h"

#define PROG "sagemagic-aws s3"
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_INTR 130

/* ---- flags -------------------------------------------------------------- */

typedef struct s3_args {
    const char *region, *profile, *endpoint_url, *content_type;
    const char *threshold, *part_size, *max_connections;
    int recursive, quiet, help;
    const char *pos[2];
    int pos_count;
} s3_args;

typedef struct s3_flag {
    const char *name;
    const char *metavar; /* NULL for a switch */
    size_t offset;
    const char *help;
} s3_flag;

#define FIELD(name) offsetof(s3_args, name)

static const s3_flag s3_flags[] = {
    {"--region", "R", FIELD(region), "the region (else AWS_REGION, profile)"},
    {"--profile", "P", FIELD(profile), "the shared config profile"},
    {"--endpoint-url", "URL", FIELD(endpoint_url),
     "send requests here (e.g. http://127.0.0.1:PORT)"},
    {"--recursive", NULL, FIELD(recursive),
     "ls: every key under the prefix; rm: delete them all"},
    {"--content-type", "T", FIELD(content_type), "cp upload: Content-Type"},
    {"--multipart-threshold", "SIZE", FIELD(threshold),
     "cp: parts from this size on (8MiB)"},
    {"--part-size", "SIZE", FIELD(part_size), "cp: part size (8MiB)"},
    {"--max-connections", "N", FIELD(max_connections),
     "cp: parts in flight at once (16)"},
    {"--quiet", NULL, FIELD(quiet), "no progress, no summary line"},
    {"--help", NULL, FIELD(help), "show this help"},
};

#define S3_FLAG_COUNT (sizeof s3_flags / sizeof s3_flags[0])

typedef struct s3_command {
    const char *name;
    int (*run)(const s3_args *args);
    int min_pos, max_pos;
    const char *usage;
} s3_command;

static int s3_cp(const s3_args *args);
static int s3_ls(const s3_args *args);
static int s3_rm(const s3_args *args);
static int s3_mb(const s3_args *args);

static const s3_command s3_commands[] = {
    {"cp", s3_cp, 2, 2,
     "cp SRC DST      copy a file to S3 (multipart when large) or an "
     "object to a file (- is stdout)"},
    {"ls", s3_ls, 0, 1,
     "ls [s3://B[/P]] list buckets, or the objects and prefixes under P"},
    {"rm", s3_rm, 1, 1,
     "rm s3://B/K     delete an object (--recursive: every key under K)"},
    {"mb", s3_mb, 0, 1,
     "mb [s3://B]     make bucket B unless it exists; without B, the "
     "default bucket sagemaker-REGION-ACCOUNT"},
};

#define S3_COMMAND_COUNT (sizeof s3_commands / sizeof s3_commands[0])

static void s3_usage(FILE *to)
{
    fprintf(to, "usage: " PROG " SUBCOMMAND [ARGS] [FLAGS]\n\n");
    for (size_t i = 0; i < S3_COMMAND_COUNT; i++)
        fprintf(to, "  %s\n", s3_commands[i].usage);
    fprintf(to, "\nflags:\n");
    for (size_t i = 0; i < S3_FLAG_COUNT; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s %s", s3_flags[i].name,
                 s3_flags[i].metavar ? s3_flags[i].metavar : "");
        fprintf(to, "  %-28s%s\n", left, s3_flags[i].help);
    }
    fprintf(to, "\nSIZE is a number of bytes, or with KiB, MiB or GiB.\n");
}

static const s3_flag *s3_flag_find(const char *name, size_t len)
{
    for (size_t i = 0; i < S3_FLAG_COUNT; i++)
        if (strlen(s3_flags[i].name) == len &&
            strncmp(s3_flags[i].name, name, len) == 0)
            return &s3_flags[i];
    return NULL;
}

/* argv[0] is the subcommand. Returns 0, or EXIT_USAGE after a line. */
static int s3_args_parse(const char *sub, int argc, char **argv, s3_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
            if (a->pos_count == 2) {
                fprintf(stderr, PROG " %s: unexpected argument '%s'\n", sub,
                        arg);
                return EXIT_USAGE;
            }
            a->pos[a->pos_count++] = arg;
            continue;
        }
        const s3_flag *f =
            s3_flag_find(arg, eq ? (size_t)(eq - arg) : strlen(arg));
        if (!f) {
            fprintf(stderr,
                    PROG " %s: unknown flag '%s' (see " PROG " --help)\n", sub,
                    arg);
            return EXIT_USAGE;
        }
        char *field = (char *)a + f->offset;
        if (!f->metavar && eq) {
            fprintf(stderr, PROG " %s: %s takes no value\n", sub, f->name);
            return EXIT_USAGE;
        } else if (!f->metavar) {
            *(int *)field = 1;
        } else if (eq || i + 1 < argc) {
            *(const char **)field = eq ? eq + 1 : argv[++i];
        } else {
            fprintf(stderr, PROG " %s: %s needs a value\n", sub, f->name);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* "123", "5MiB", "8M", "1GiB" into *out; -1 when it is none of them. */
static int size_parse(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        int shift;
    } units[] = {
        {"", 0},     {"k", 10}, {"kib", 10}, {"m", 20},
        {"mib", 20}, {"g", 30}, {"gib", 30},
    };
    char *end = NULL;
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    unsigned long long n = strtoull(s, &end, 10);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].suffix) == 0 &&
            n <= (UINT64_MAX >> units[i].shift)) {
            *out = (uint64_t)n << units[i].shift;
            return 0;
        }
    }
    return -1;
}

/* ---- the client, progress and interruption ------------------------------ */

static volatile sig_atomic_t interrupted_flag;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted_flag = 1;
}

static int interrupted(void *ctx)
{
    (void)ctx;
    return interrupted_flag;
}

typedef struct progress_view {
    struct timespec start, last;
    int shown;
} progress_view;

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) +
           (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void progress_show(void *ctx, uint64_t done, uint64_t total)
{
    progress_view *v = ctx;
    double elapsed = seconds_since(&v->start);
    const double mib = 1024.0 * 1024.0;
    if (done < total && v->shown && seconds_since(&v->last) < 0.2)
        return;
    clock_gettime(CLOCK_MONOTONIC, &v->last);
    v->shown = 1;
    fprintf(stderr, "\rCompleted %.1f MiB/%.1f MiB (%.1f MiB/s)   ",
            (double)done / mib, (double)total / mib,
            elapsed > 0 ? (double)done / mib / elapsed : 0.0);
}

/* One line on stderr about a flag's value; returns EXIT_USAGE. */
static int bad_value(const char *flag, const char *value, const char *want)
{
    fprintf(stderr, PROG ": %s takes %s, not '%s'\n", flag, want, value);
    return EXIT_USAGE;
}

/* The transfer settings from the flags; EXIT_USAGE on a bad value. */
static int transfer_from_args(const s3_args *a, sm_s3_transfer *t,
                              progress_view *view)
{
    uint64_t n = 0;
    memset(t, 0, sizeof *t);
    if (a->threshold && size_parse(a->threshold, &t->threshold))
        return bad_value("--multipart-threshold", a->threshold, "a size");
    if (a->part_size && size_parse(a->part_size, &t->part_size))
        return bad_value("--part-size", a->part_size, "a size");
    if (a->max_connections && (size_parse(a->max_connections, &n) || n < 1 ||
                               n > SM_S3_MAX_CONNECTIONS))
        return bad_value("--max-connections", a->max_connections,
                         "a number from 1 to 64");
    t->max_connections = (int)n;
    t->interrupted = interrupted;
    clock_gettime(CLOCK_MONOTONIC, &view->start);
    if (!a->quiet && isatty(STDERR_FILENO)) {
        t->progress = progress_show;
        t->ctx = view;
    }
    return 0;
}

static sm_aws *client_new(const s3_args *a, int connections)
{
    sm_aws_config cfg = {.region = a->region,
                         .profile = a->profile,
                         .endpoint_url = a->endpoint_url,
                         .max_connections = connections};
    sm_aws_error err = {0};
    sm_aws *aws = sm_aws_new(&cfg, &err);
    if (!aws) {
        char msg[1400];
        sm_aws_error_format(&err, msg, sizeof msg);
        fprintf(stderr, PROG ": %s\n", msg);
    }
    return aws;
}

static int fail(const char *sub, const sm_aws_error *err,
                const progress_view *v)
{
    char msg[1400];
    sm_aws_error_format(err, msg, sizeof msg);
    fprintf(stderr, "%s" PROG " %s: %s\n", v && v->shown ? "\n" : "", sub, msg);
    return strcmp(err->code, SM_S3_ERR_INTERRUPTED) == 0 ? EXIT_INTR
                                                         : EXIT_FAIL;
}

static int uri_arg(const char *sub, const char *text, sm_s3_uri *out)
{
    sm_error err = {{0}};
    if (sm_s3_uri_parse(text, out, &err) == 0)
        return 0;
    fprintf(stderr, PROG " %s: %s\n", sub, err.message);
    return EXIT_USAGE;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- cp ----------------------------------------------------------------- */

static void summary(const s3_args *a, const char *verb, const char *from,
                    const char *to, uint64_t size, const progress_view *v)
{
    double s = seconds_since(&v->start);
    if (a->quiet)
        return;
    if (v->shown)
        fprintf(stderr, "\n");
    printf("%s: %s to %s (%.1f MiB in %.2f s, %.1f MiB/s)\n", verb, from, to,
           (double)size / 1048576.0, s,
           s > 0 ? (double)size / 1048576.0 / s : 0.0);
}

static int cp_upload(const s3_args *a, sm_aws *aws, const sm_s3_transfer *t,
                     const progress_view *v)
{
    sm_s3_uri dst;
    int rc = uri_arg("cp", a->pos[1], &dst);
    if (rc)
        return rc;
    size_t klen = strlen(dst.key);
    if (klen == 0 || dst.key[klen - 1] == '/') /* into a "folder" */
        snprintf(dst.key + klen, sizeof dst.key - klen, "%s",
                 base_name(a->pos[0]));
    sm_s3_upload_req req = {.bucket = dst.bucket,
                            .key = dst.key,
                            .path = a->pos[0],
                            .content_type = a->content_type,
                            .transfer = *t};
    sm_s3_put_result out;
    sm_aws_error err = {0};
    if (sm_s3_upload(aws, &req, &out, &err))
        return fail("cp", &err, v);
    char to[2048];
    snprintf(to, sizeof to, "s3://%s/%s", dst.bucket, dst.key);
    summary(a, "upload", a->pos[0], to, out.size, v);
    return 0;
}

/* `cp s3://B/K -`, as the AWS CLI has it: the object's bytes on stdout and
 * nothing else there. */
static int cp_to_stdout(sm_aws *aws, const sm_s3_uri *src,
                        const progress_view *v)
{
    char *data = NULL;
    size_t len = 0;
    sm_aws_error err = {0};
    if (sm_s3_get_bytes(aws, src->bucket, src->key, &data, &len, &err))
        return fail("cp", &err, v);
    int rc = fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0
                 ? 0
                 : EXIT_FAIL;
    if (rc)
        fprintf(stderr, PROG " cp: writing to stdout: %s\n", strerror(errno));
    free(data);
    return rc;
}

static int cp_download(const s3_args *a, sm_aws *aws, const sm_s3_transfer *t,
                       const progress_view *v)
{
    sm_s3_uri src;
    struct stat st;
    int rc = uri_arg("cp", a->pos[0], &src);
    if (rc)
        return rc;
    size_t klen = strlen(src.key);
    if (klen == 0 || src.key[klen - 1] == '/') {
        fprintf(stderr,
                PROG " cp: %s names no object (to copy a prefix, "
                     "list it first)\n",
                a->pos[0]);
        return EXIT_USAGE;
    }
    const char *dst = a->pos[1];
    if (strcmp(dst, "-") == 0)
        return cp_to_stdout(aws, &src, v);
    sm_buf path = {0};
    size_t dlen = strlen(dst);
    if ((dlen && dst[dlen - 1] == '/') ||
        (stat(dst, &st) == 0 && S_ISDIR(st.st_mode)))
        rc = sm_buf_printf(&path, "%s%s%s", dst,
                           dst[dlen - 1] == '/' ? "" : "/", base_name(src.key));
    else
        rc = sm_buf_puts(&path, dst);
    sm_s3_download_req req = {.bucket = src.bucket,
                              .key = src.key,
                              .path = sm_buf_str(&path),
                              .transfer = *t};
    sm_s3_head head;
    sm_aws_error err = {0};
    if (rc) {
        fprintf(stderr, PROG " cp: out of memory\n");
        rc = EXIT_FAIL;
    } else if (sm_s3_download(aws, &req, &head, &err)) {
        rc = fail("cp", &err, v);
    } else {
        summary(a, "download", a->pos[0], req.path, head.size, v);
    }
    sm_buf_free(&path);
    return rc;
}

static int s3_cp(const s3_args *a)
{
    int src_s3 = strncmp(a->pos[0], "s3://", 5) == 0;
    int dst_s3 = strncmp(a->pos[1], "s3://", 5) == 0;
    sm_s3_transfer t;
    progress_view view = {0};
    if (src_s3 == dst_s3) {
        fprintf(stderr, PROG " cp: one of SRC and DST must be an s3:// URI "
                             "and the other a local path\n");
        return EXIT_USAGE;
    }
    int rc = transfer_from_args(a, &t, &view);
    sm_aws *aws = rc ? NULL : client_new(a, t.max_connections);
    if (!rc && !aws)
        rc = EXIT_FAIL;
    if (!rc)
        rc = src_s3 ? cp_download(a, aws, &t, &view)
                    : cp_upload(a, aws, &t, &view);
    sm_aws_destroy(&aws);
    return rc;
}

/* ---- ls ----------------------------------------------------------------- */

/* "2024-05-01T10:20:30.000Z" as "2024-05-01 10:20:30". */
static void date_show(const char *iso, char out[20])
{
    snprintf(out, 20, "%-19.19s", iso ? iso : "");
    if (out[10] == 'T')
        out[10] = ' ';
}

typedef struct ls_view {
    const char *folder; /* the prefix up to its last '/', not shown */
    size_t strip;
    size_t count;
} ls_view;

/* A key as the AWS CLI shows it: relative to the prefix's folder. */
static const char *shown_name(const ls_view *v, const char *key)
{
    return strncmp(key, v->folder, v->strip) == 0 ? key + v->strip : key;
}

static int ls_page(void *ctx, const sm_s3_page *page)
{
    ls_view *v = ctx;
    char date[20];
    for (size_t i = 0; i < page->prefix_count; i++)
        printf("%30s %s\n", "PRE", shown_name(v, page->prefixes[i]));
    for (size_t i = 0; i < page->object_count; i++) {
        const sm_s3_entry *e = &page->objects[i];
        date_show(e->last_modified, date);
        printf("%s %10llu %s\n", date, (unsigned long long)e->size,
               shown_name(v, e->key));
    }
    v->count += page->object_count + page->prefix_count;
    fflush(stdout);
    return 0;
}

static int ls_buckets(sm_aws *aws)
{
    sm_s3_page page = {0};
    sm_aws_error err = {0};
    char date[20];
    if (sm_s3_list_buckets(aws, &page, &err))
        return fail("ls", &err, NULL);
    for (size_t i = 0; i < page.object_count; i++) {
        date_show(page.objects[i].last_modified, date);
        printf("%s %s\n", date, page.objects[i].key);
    }
    sm_s3_page_clear(&page);
    return 0;
}

static int s3_ls(const s3_args *a)
{
    sm_s3_uri uri;
    sm_aws_error err = {0};
    int rc = a->pos_count ? uri_arg("ls", a->pos[0], &uri) : 0;
    sm_aws *aws = rc ? NULL : client_new(a, 0);
    if (!rc && !aws)
        return EXIT_FAIL;
    if (!rc && !a->pos_count) {
        rc = ls_buckets(aws);
    } else if (!rc) {
        const char *slash = strrchr(uri.key, '/');
        ls_view view = {.folder = uri.key};
        if (!a->recursive && slash)
            view.strip = (size_t)(slash - uri.key + 1);
        sm_s3_list req = {.bucket = uri.bucket,
                          .prefix = uri.key,
                          .delimiter = a->recursive ? NULL : "/"};
        if (sm_s3_list_objects(aws, &req, ls_page, &view, &err))
            rc = fail("ls", &err, NULL);
    }
    sm_aws_destroy(&aws);
    return rc;
}

/* ---- rm ----------------------------------------------------------------- */

static int s3_rm(const s3_args *a)
{
    sm_s3_uri uri;
    sm_aws_error err = {0};
    size_t deleted = 0;
    int rc = uri_arg("rm", a->pos[0], &uri);
    if (!rc && !a->recursive && !uri.key[0]) {
        fprintf(stderr,
                PROG " rm: %s names no object (add --recursive to "
                     "delete every key under it)\n",
                a->pos[0]);
        rc = EXIT_USAGE;
    }
    sm_aws *aws = rc ? NULL : client_new(a, 0);
    if (!rc && !aws)
        return EXIT_FAIL;
    if (!rc && a->recursive) {
        int failed =
            sm_s3_delete_prefix(aws, uri.bucket, uri.key, &deleted, &err);
        if (!a->quiet)
            printf("delete: %zu object%s under %s\n", deleted,
                   deleted == 1 ? "" : "s", a->pos[0]);
        rc = failed ? fail("rm", &err, NULL) : 0;
    } else if (!rc) {
        rc = sm_s3_delete_object(aws, uri.bucket, uri.key, &err)
                 ? fail("rm", &err, NULL)
                 : 0;
        if (!rc && !a->quiet)
            printf("delete: %s\n", a->pos[0]);
    }
    sm_aws_destroy(&aws);
    return rc;
}

/* ---- mb ----------------------------------------------------------------- */

static int s3_mb(const s3_args *a)
{
    sm_s3_uri uri = {0};
    sm_aws_error err = {0};
    int rc = a->pos_count ? uri_arg("mb", a->pos[0], &uri) : 0;
    if (!rc && uri.key[0]) {
        fprintf(stderr, PROG " mb: %s is a key, not a bucket\n", a->pos[0]);
        rc = EXIT_USAGE;
    }
    sm_aws *aws = rc ? NULL : client_new(a, 0);
    if (!rc && !aws)
        return EXIT_FAIL;
    if (!rc && (a->pos_count ? sm_s3_ensure_bucket(aws, uri.bucket, &err)
                             : sm_s3_default_bucket(aws, uri.bucket,
                                                    sizeof uri.bucket, &err)))
        rc = fail("mb", &err, NULL);
    if (!rc && !a->quiet)
        printf("make_bucket: %s\n", uri.bucket);
    sm_aws_destroy(&aws);
    return rc;
}

/* ---- s3 ----------------------------------------------------------------- */

int sm_s3_cli(int argc, char **argv)
{
    s3_args args = {0};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        s3_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const s3_command *cmd = NULL;
    for (size_t i = 0; i < S3_COMMAND_COUNT; i++)
        if (strcmp(s3_commands[i].name, argv[1]) == 0)
            cmd = &s3_commands[i];
    if (!cmd) {
        fprintf(stderr,
                PROG ": unknown subcommand '%s' (see " PROG " --help)\n",
                argv[1]);
        return EXIT_USAGE;
    }
    int rc = s3_args_parse(cmd->name, argc - 1, argv + 1, &args);
    if (rc)
        return rc;
    if (args.help) {
        s3_usage(stdout);
        return 0;
    }
    if (args.pos_count < cmd->min_pos || args.pos_count > cmd->max_pos) {
        fprintf(stderr, "usage: " PROG " %s\n", cmd->usage);
        return EXIT_USAGE;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    return cmd->run(&args);
}
