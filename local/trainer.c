/* trainer: one runner thread per job: download, spawn, watch, reap,
 * upload, record. The runner is the only one that waits for its child,
 * so nothing else in the service can reap it by mistake. */
#include "trainer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "images.h"
#include "log.h"
#include "logsrv.h"
#include "logstore.h"
#include "store.h"
#include "train_job.h"
#include "trainjobs.h"

#define DEFAULT_MAX_JOBS 4
#define DEFAULT_GRACE_MS 10000
#define SHUTDOWN_GRACE_MS 2000
#define COPY_CHUNK (256 * 1024)
#define LOG_LINE_MAX 16384

typedef struct runner {
    struct runner *next;
    sm_trainer *trainer;
    char name[64];
    pthread_t thread;
    int wake[2]; /* a byte here: stop (or shut down) now */
    int finished;
    json_t *request;
    char work[4096];
    /* the child's output, as log events and metrics */
    char stream[160];
    char partial[LOG_LINE_MAX];
    size_t partial_len;
    json_t *metrics;
} runner;

struct sm_trainer {
    sm_trainer_config config;
    pthread_mutex_t lock;
    runner *runners;
    int closing;
    char **child_env; /* the service's environment for training processes */
};

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)(tv.tv_usec / 1000) / 1000.0;
}

static int64_t now_ms(void)
{
    return (int64_t)llround(now_s() * 1000.0);
}

static void advance(runner *r, const char *primary, const char *secondary,
                    const char *message)
{
    sm_error err = {0};
    if (sm_trainjobs_advance(r->trainer->config.db, r->name, primary, secondary,
                             message, now_s(), &err) < 0)
        sm_error("training job %s: %s", r->name, err.message);
}

/* ---- the work dir ------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int mkdirs(const char *path)
{
    char buf[4200];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static void work_path(const runner *r, const char *rel, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", r->work, rel);
}

static int write_json(const runner *r, const char *rel, json_t *value)
{
    char path[4300];
    work_path(r, rel, path, sizeof path);
    int rc = json_dump_file(value, path, JSON_COMPACT);
    return rc;
}

/* ---- downloading the channels ------------------------------------------- */

/* s3://bucket/key into its parts; -1 when it is not one. */
static int s3_split(const char *uri, char bucket[64], const char **key)
{
    if (strncmp(uri, "s3://", 5) != 0)
        return -1;
    const char *b = uri + 5, *slash = strchr(b, '/');
    size_t n = slash ? (size_t)(slash - b) : strlen(b);
    if (n == 0 || n >= 64)
        return -1;
    memcpy(bucket, b, n);
    bucket[n] = '\0';
    *key = slash ? slash + 1 : "";
    return 0;
}

static int copy_object(runner *r, const char *bucket, const char *key,
                       const char *dest, char *reason, size_t size)
{
    sm_store_reader *reader = NULL;
    sm_store_object obj = {0};
    sm_error err = {0};
    sm_store_status st = sm_store_object_open(r->trainer->config.store, bucket,
                                              key, &obj, &reader, &err);
    sm_store_object_clear(&obj);
    if (st != SM_STORE_OK) {
        snprintf(reason, size,
                 "ClientError: Data download failed: s3://%s/%.400s: %.300s",
                 bucket, key,
                 st == SM_STORE_NO_BUCKET ? "no such bucket"
                 : st == SM_STORE_NO_KEY  ? "no such object"
                                          : err.message);
        return -1;
    }
    FILE *out = fopen(dest, "wb");
    char *buf = malloc(COPY_CHUNK);
    uint64_t off = 0;
    ssize_t n = 0;
    int rc = out && buf ? 0 : -1;
    while (!rc &&
           (n = sm_store_reader_read(reader, off, buf, COPY_CHUNK)) > 0) {
        rc = fwrite(buf, 1, (size_t)n, out) == (size_t)n ? 0 : -1;
        off += (uint64_t)n;
    }
    if (n < 0)
        rc = -1;
    if (out && fclose(out))
        rc = -1;
    free(buf);
    sm_store_reader_close(&reader);
    if (rc)
        snprintf(reason, size,
                 "InternalServerError: Data download failed: cannot copy "
                 "s3://%s/%s to %s: %s",
                 bucket, key, dest, strerror(errno));
    return rc;
}

/* Whether a key names a file the algorithm reads: not a "folder", not a
 * hidden or _-file (the container skips those). */
static int readable_key(const char *key)
{
    size_t n = strlen(key);
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    return n && key[n - 1] != '/' && base[0] != '.' && base[0] != '_';
}

static int add_file(runner *r, json_t *list, const char *channel,
                    const char *bucket, const char *key, char *reason,
                    size_t size)
{
    char rel[128], dest[4300], uri[2200];
    snprintf(rel, sizeof rel, "input/data/%s/%05zu", channel,
             json_array_size(list));
    work_path(r, rel, dest, sizeof dest);
    if (copy_object(r, bucket, key, dest, reason, size))
        return -1;
    snprintf(uri, sizeof uri, "s3://%s/%s", bucket, key);
    json_array_append_new(list,
                          json_pack("{s:s, s:s}", "path", rel, "uri", uri));
    return 0;
}

static int download_prefix(runner *r, json_t *list, const char *channel,
                           const char *bucket, const char *prefix, char *reason,
                           size_t size)
{
    char *after = NULL;
    int after_is_prefix = 0, truncated = 1, rc = 0;
    while (!rc && truncated) {
        sm_store_list_query q = {bucket, prefix,          NULL,
                                 after,  after_is_prefix, 1000};
        sm_store_list page = {0};
        sm_error err = {0};
        sm_store_status st =
            sm_store_object_list(r->trainer->config.store, &q, &page, &err);
        if (st != SM_STORE_OK) {
            snprintf(
                reason, size,
                "ClientError: Data download failed: s3://%s/%.400s: %.300s",
                bucket, prefix,
                st == SM_STORE_NO_BUCKET ? "no such bucket" : err.message);
            free(after);
            return -1;
        }
        for (size_t i = 0; !rc && i < page.count; i++)
            if (readable_key(page.entries[i].key))
                rc = add_file(r, list, channel, bucket, page.entries[i].key,
                              reason, size);
        truncated = page.truncated;
        free(after);
        after = page.last ? strdup(page.last) : NULL;
        after_is_prefix = page.last_is_prefix;
        truncated = truncated && after;
        sm_store_list_clear(&page);
    }
    free(after);
    return rc;
}

/* A manifest: [{"prefix": "s3://b/p/"}, "rel1", "rel2", ...]. */
static int download_manifest(runner *r, json_t *list, const char *channel,
                             const char *bucket, const char *key, char *reason,
                             size_t size)
{
    char path[4300];
    work_path(r, "input/manifest.json", path, sizeof path);
    if (copy_object(r, bucket, key, path, reason, size))
        return -1;
    json_t *m = json_load_file(path, 0, NULL);
    const char *prefix =
        json_string_value(json_object_get(json_array_get(m, 0), "prefix"));
    char pb[64];
    const char *pkey;
    if (!json_is_array(m) || !prefix || s3_split(prefix, pb, &pkey)) {
        json_decref(m);
        snprintf(reason, size,
                 "ClientError: the manifest s3://%s/%s is not a JSON list "
                 "starting with {\"prefix\": \"s3://...\"}",
                 bucket, key);
        return -1;
    }
    int rc = 0;
    for (size_t i = 1; !rc && i < json_array_size(m); i++) {
        const char *rel = json_string_value(json_array_get(m, i));
        char full[2200];
        snprintf(full, sizeof full, "%s%s", pkey, rel ? rel : "");
        rc = add_file(r, list, channel, pb, full, reason, size);
    }
    json_decref(m);
    return rc;
}

/* One channel into input/data/<name>; its files into `files`. */
static int download_channel(runner *r, const json_t *ch, json_t *files,
                            json_t *config, char *reason, size_t size)
{
    const char *name = json_string_value(json_object_get(ch, "ChannelName"));
    const json_t *src =
        json_object_get(json_object_get(ch, "DataSource"), "S3DataSource");
    const char *uri = json_string_value(json_object_get(src, "S3Uri"));
    const char *type = json_string_value(json_object_get(src, "S3DataType"));
    const char *comp =
        json_string_value(json_object_get(ch, "CompressionType"));
    char bucket[64], dir[160];
    const char *key;
    if (!uri || s3_split(uri, bucket, &key)) {
        snprintf(reason, size,
                 "ClientError: channel %s: sagemagic-local reads channels "
                 "from S3 (DataSource.S3DataSource.S3Uri)",
                 name ? name : "?");
        return -1;
    }
    if (comp && strcmp(comp, "None")) {
        snprintf(reason, size,
                 "ClientError: channel %s: CompressionType %s is not "
                 "offered by sagemagic-local; upload the data uncompressed",
                 name, comp);
        return -1;
    }
    snprintf(dir, sizeof dir, "input/data/%s", name);
    char path[4300];
    work_path(r, dir, path, sizeof path);
    json_t *list = json_array();
    json_object_set_new(files, name, list);
    json_t *cfg = json_pack("{s:s, s:s, s:s}", "TrainingInputMode", "File",
                            "S3DistributionType", "FullyReplicated",
                            "RecordWrapperType", "None");
    const char *ctype = json_string_value(json_object_get(ch, "ContentType"));
    if (ctype)
        json_object_set_new(cfg, "ContentType", json_string(ctype));
    json_object_set_new(config, name, cfg);
    if (mkdirs(path)) {
        snprintf(reason, size, "InternalServerError: cannot create %.600s",
                 path);
        return -1;
    }
    int rc = type && !strcmp(type, "ManifestFile")
                 ? download_manifest(r, list, name, bucket, key, reason, size)
                 : download_prefix(r, list, name, bucket, key, reason, size);
    if (!rc && json_array_size(list) == 0) {
        snprintf(reason, size,
                 "ClientError: No S3 objects found under S3 URL \"%s\" given "
                 "in input data source. Please ensure that the bucket "
                 "exists in the selected region (%s) and that objects "
                 "exist under that S3 prefix.",
                 uri, "us-east-1");
        return -1;
    }
    return rc;
}

static int download(runner *r, char *reason, size_t size)
{
    json_t *files = json_object(), *config = json_object();
    json_t *channels = json_object_get(r->request, "InputDataConfig");
    json_t *hp = json_object_get(r->request, "HyperParameters");
    int rc = 0;
    size_t i;
    json_t *ch;
    json_array_foreach(channels, i, ch)
    {
        if (!rc && !r->trainer->closing &&
            !sm_trainjobs_stopping(r->trainer->config.db, r->name))
            rc = download_channel(r, ch, files, config, reason, size);
    }
    json_t *empty = json_object();
    if (!rc &&
        (write_json(r, "input/config/inputdataconfig.json", config) ||
         write_json(r, "input/config/files.json", files) ||
         write_json(r, "input/config/hyperparameters.json", hp ? hp : empty))) {
        snprintf(reason, size,
                 "InternalServerError: cannot write the job's configuration "
                 "in %.600s",
                 r->work);
        rc = -1;
    }
    json_decref(empty);
    json_decref(files);
    json_decref(config);
    return rc;
}

/* ---- the log ------------------------------------------------------------ */

/* A line as CloudWatch shows it: control characters as #ooo, the tab as
 * #011, the way the container's logs arrive. */
static void escape_line(const char *line, size_t len, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 5 < size; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            n += (size_t)snprintf(out + n, size - n, "#%03o", c);
        else
            out[n++] = (char)c;
    }
    out[n] = '\0';
}

/* "[12]\ttrain-rmse:0.1\tvalidation-rmse:0.2": the round's metrics as
 * FinalMetricDataList entries ("train:rmse"). */
static void metrics_from(runner *r, const char *line, size_t len, double at)
{
    if (len < 3 || line[0] != '[')
        return;
    size_t i = 1;
    while (i < len && line[i] >= '0' && line[i] <= '9')
        i++;
    if (i == 1 || i >= len || line[i] != ']')
        return;
    json_t *list = json_array();
    char copy[LOG_LINE_MAX];
    snprintf(copy, sizeof copy, "%.*s", (int)(len - i - 1), line + i + 1);
    char *save = NULL;
    for (char *tok = strtok_r(copy, "\t", &save); tok;
         tok = strtok_r(NULL, "\t", &save)) {
        char *colon = strrchr(tok, ':'), *dash = strchr(tok, '-');
        if (!colon || !dash || dash > colon)
            continue;
        *colon = '\0';
        *dash = ':';
        char *end;
        double v = strtod(colon + 1, &end);
        if (end == colon + 1 || !isfinite(v))
            continue;
        json_array_append_new(list,
                              json_pack("{s:s, s:f, s:f}", "MetricName", tok,
                                        "Value", v, "Timestamp", at));
    }
    if (json_array_size(list)) {
        json_decref(r->metrics);
        r->metrics = list;
    } else {
        json_decref(list);
    }
}

/* Log events waiting to go into the store together. */
typedef struct log_batch {
    sm_logstore_input events[256];
    char *texts[256];
    size_t count;
    int64_t ts;
} log_batch;

static void batch_flush(runner *r, log_batch *b)
{
    sm_error err = {0};
    if (b->count &&
        sm_logstore_put(r->trainer->config.db, SM_LOGSRV_TRAINING_GROUP,
                        r->stream, b->events, b->count, b->ts, &err))
        sm_error("training job %s: cannot log: %s", r->name, err.message);
    for (size_t i = 0; i < b->count; i++)
        free(b->texts[i]);
    b->count = 0;
}

/* One whole line: the partial one so far and `n` bytes more. */
static void batch_line(runner *r, log_batch *b, const char *more, size_t n)
{
    static const size_t cap = LOG_LINE_MAX - 1;
    char line[LOG_LINE_MAX], text[LOG_LINE_MAX * 4 + 8];
    size_t keep = r->partial_len;
    memcpy(line, r->partial, keep);
    n = n < cap - keep ? n : cap - keep;
    memcpy(line + keep, more, n);
    line[keep + n] = '\0';
    r->partial_len = 0;
    metrics_from(r, line, keep + n, (double)b->ts / 1000.0);
    escape_line(line, keep + n, text, sizeof text);
    if (b->count == 256)
        batch_flush(r, b);
    b->texts[b->count] = strdup(text);
    if (b->texts[b->count]) {
        b->events[b->count] = (sm_logstore_input){b->ts, b->texts[b->count]};
        b->count++;
    }
}

/* The child's output into the log, line by line; `ended`: no more will
 * come, so a last unfinished line is a line too. */
static void log_feed(runner *r, const char *data, size_t len, int ended)
{
    log_batch b = {.ts = now_ms()};
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            size_t n = (size_t)(end - p);
            size_t room = sizeof r->partial - 1 - r->partial_len;
            n = n < room ? n : room;
            memcpy(r->partial + r->partial_len, p, n);
            r->partial_len += n;
            break;
        }
        batch_line(r, &b, p, (size_t)(nl - p));
        p = nl + 1;
    }
    if (ended && r->partial_len)
        batch_line(r, &b, "", 0);
    batch_flush(r, &b);
}

static void log_text(runner *r, const char *text)
{
    log_feed(r, text, strlen(text), 0);
}

/* ---- the process -------------------------------------------------------- */

/* Field 22 of /proc/PID/stat: when it started, in clock ticks. */
static unsigned long long start_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ticks = 0;
    for (int field = 2; p && *p && field < 22; p++)
        if (*p == ' ' && ++field == 22)
            ticks = strtoull(p + 1, NULL, 10);
    return ticks;
}

/* Start the child with stdout and stderr on `out_fd`; its pid or -1. */
static pid_t spawn(runner *r, int out_fd, int null_fd)
{
    char *argv[] = {(char *)r->trainer->config.executable, "train-job",
                    "--work-dir", r->work, NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* The child: only async-signal-safe calls until exec. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    close_range(3, ~0U, 0);
    execve(argv[0], argv, r->trainer->child_env);
    _exit(127);
}

typedef struct watch {
    pid_t pid;
    int out_fd;
    int pid_fd;      /* readable once the child exits; -1: poll for it */
    double deadline; /* MaxRuntimeInSeconds; 0: none */
    double kill_at;  /* SIGKILL then; 0: not stopping */
    int stopped;     /* StopTrainingJob */
    int timed_out;   /* past MaxRuntimeInSeconds */
    int shutdown;    /* the service is stopping */
    int status;
} watch;

static void terminate(runner *r, watch *w, int grace_ms)
{
    if (w->kill_at)
        return;
    kill(-w->pid, SIGTERM);
    w->kill_at = now_s() + grace_ms / 1000.0;
}

/* Read the child's output until it closes; handle stop and time-outs. */
static void supervise(runner *r, watch *w)
{
    char buf[65536];
    int open_out = 1;
    for (;;) {
        double now = now_s(), next = now + 1;
        if (w->deadline && now >= w->deadline && !w->kill_at) {
            w->timed_out = 1;
            terminate(r, w, r->trainer->config.stop_grace_ms);
        }
        if (w->kill_at && now >= w->kill_at)
            kill(-w->pid, SIGKILL);
        if (!open_out) {
            pid_t done = waitpid(w->pid, &w->status, WNOHANG);
            if (done == w->pid || (done < 0 && errno == ECHILD))
                return;
        }
        if (w->deadline && !w->kill_at && w->deadline < next)
            next = w->deadline;
        if (w->kill_at && w->kill_at > now && w->kill_at < next)
            next = w->kill_at;
        int ms = next > now ? (int)((next - now) * 1000) + 1 : 50;
        struct pollfd fds[2] = {{r->wake[0], POLLIN, 0},
                                {open_out ? w->out_fd : w->pid_fd, POLLIN, 0}};
        if (poll(fds, 2,
                 open_out || w->pid_fd >= 0 ? ms : (ms < 50 ? ms : 50)) < 0 &&
            errno != EINTR)
            continue;
        if (fds[0].revents & POLLIN) {
            char c;
            if (read(r->wake[0], &c, 1) == 1) {
                w->shutdown |= c == 'x';
                w->stopped |= c == 's';
                terminate(r, w,
                          c == 'x' ? SHUTDOWN_GRACE_MS
                                   : r->trainer->config.stop_grace_ms);
            }
        }
        if (open_out && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(w->out_fd, buf, sizeof buf);
            if (n > 0)
                log_feed(r, buf, (size_t)n, 0);
            else if (n == 0 || errno != EINTR) {
                log_feed(r, "", 0, 1);
                open_out = 0;
            }
        }
    }
}

static int run_child(runner *r, watch *w, char *reason, size_t size)
{
    int fds[2];
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || pipe2(fds, O_CLOEXEC) != 0) {
        if (null_fd >= 0)
            close(null_fd);
        snprintf(reason, size,
                 "InternalServerError: cannot start the "
                 "training process: %s",
                 strerror(errno));
        return -1;
    }
    w->pid = spawn(r, fds[1], null_fd);
    close(fds[1]);
    close(null_fd);
    /* The exit is seen at once, not at the next look. */
    w->pid_fd = w->pid > 0 ? (int)syscall(SYS_pidfd_open, w->pid, 0) : -1;
    if (w->pid < 0) {
        close(fds[0]);
        snprintf(reason, size,
                 "InternalServerError: cannot start the "
                 "training process: %s",
                 strerror(errno));
        return -1;
    }
    sm_error err = {0};
    sm_trainjobs_set_process(r->trainer->config.db, r->name, w->pid,
                             start_ticks(w->pid), &err);
    w->out_fd = fds[0];
    supervise(r, w);
    close(fds[0]);
    if (w->pid_fd >= 0)
        close(w->pid_fd);
    sm_trainjobs_set_process(r->trainer->config.db, r->name, 0, 0, &err);
    return 0;
}

/* ---- uploading the model ------------------------------------------------ */

static int upload(runner *r, char *artifacts, size_t artifacts_size,
                  char *reason, size_t size)
{
    const char *out_path = json_string_value(json_object_get(
        json_object_get(r->request, "OutputDataConfig"), "S3OutputPath"));
    char bucket[64], key[2400], path[4300];
    const char *prefix;
    if (!out_path || s3_split(out_path, bucket, &prefix)) {
        snprintf(reason, size,
                 "ClientError: S3OutputPath is not an s3:// "
                 "URI");
        return -1;
    }
    size_t plen = strlen(prefix);
    while (plen && prefix[plen - 1] == '/')
        plen--;
    snprintf(key, sizeof key, "%.*s%s%s/output/model.tar.gz", (int)plen, prefix,
             plen ? "/" : "", r->name);
    work_path(r, "output/model.tar.gz", path, sizeof path);
    sm_store *store = r->trainer->config.store;
    sm_error err = {0};
    sm_store_blob *blob = sm_store_blob_new(store, &err);
    FILE *in = fopen(path, "rb");
    int rc = blob && in ? 0 : -1;
    char buf[65536];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        rc = sm_store_blob_write(blob, buf, n, &err);
    unsigned char md5[16];
    if (!rc)
        rc = sm_store_blob_finish(blob, md5, &err);
    sm_store_status st = SM_STORE_FAILED;
    if (!rc) {
        sm_store_object attrs = {.content_type = "application/x-tar"};
        st = sm_store_object_put(store, bucket, key, blob, &attrs, NULL, &err);
    }
    if (in)
        fclose(in);
    sm_store_blob_destroy(&blob);
    if (st == SM_STORE_OK) {
        snprintf(artifacts, artifacts_size, "s3://%s/%s", bucket, key);
        return 0;
    }
    if (st == SM_STORE_NO_BUCKET)
        snprintf(reason, size,
                 "ClientError: Unable to upload the model to %s: the bucket "
                 "%s does not exist",
                 out_path, bucket);
    else
        snprintf(reason, size,
                 "InternalServerError: Unable to upload the model to s3://%s/"
                 "%.400s: %.300s",
                 bucket, key, err.message[0] ? err.message : strerror(errno));
    return -1;
}

/* ---- the run ------------------------------------------------------------ */

static void fail_job(runner *r, const char *reason)
{
    sm_error err = {0};
    char text[1024];
    snprintf(text, sizeof text, "%s", reason);
    sm_trainjobs_set_text(r->trainer->config.db, r->name,
                          SM_TRAINJOBS_FAILURE_REASON, text, &err);
    advance(r, "Failed", "Failed", "Training job failed");
}

static void read_failure(runner *r, const watch *w, char *reason, size_t size)
{
    char path[4300];
    work_path(r, "output/failure", path, sizeof path);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(reason, 1, size - 1, f) : 0;
    if (f)
        fclose(f);
    reason[n] = '\0';
    if (n)
        return;
    if (WIFSIGNALED(w->status))
        snprintf(reason, size,
                 "AlgorithmError: the training process was killed by signal "
                 "%d (%s)",
                 WTERMSIG(w->status), strsignal(WTERMSIG(w->status)));
    else
        snprintf(reason, size,
                 "AlgorithmError: the training process exited with status %d",
                 WEXITSTATUS(w->status));
}

static int is_builtin_xgboost(runner *r, char *reason, size_t size)
{
    const json_t *spec = json_object_get(r->request, "AlgorithmSpecification");
    const char *image =
        json_string_value(json_object_get(spec, "TrainingImage"));
    const char *algorithm =
        json_string_value(json_object_get(spec, "AlgorithmName"));
    if (image && sm_image_is_xgboost(image, NULL))
        return 1;
    snprintf(reason, size,
             "ClientError: sagemagic-local runs only the built-in XGBoost "
             "algorithm; %s%s%s is not one of its images (use an image URI "
             "such as 683313688378.dkr.ecr.us-east-1.amazonaws.com/"
             "sagemaker-xgboost:1.7-1, from `%%image xgboost` or "
             "sagemaker.image_uris.retrieve(\"xgboost\", region, "
             "\"1.7-1\"))",
             image ? "the training image '" : "the algorithm '",
             image       ? image
             : algorithm ? algorithm
                         : "(none)",
             "'");
    return 0;
}

/* After the process: the model, the metrics, the final status. */
static void conclude(runner *r, const watch *w)
{
    char reason[1024] = "", artifacts[2600] = "", path[4300];
    sm_db *db = r->trainer->config.db;
    sm_error err = {0};
    if (r->metrics) {
        char *text = json_dumps(r->metrics, JSON_COMPACT);
        sm_trainjobs_set_text(db, r->name, SM_TRAINJOBS_METRICS, text, &err);
        free(text);
    }
    work_path(r, "output/model.tar.gz", path, sizeof path);
    int have_model = access(path, R_OK) == 0;
    int exited_ok = WIFEXITED(w->status) && WEXITSTATUS(w->status) == 0;
    int stopped = w->stopped || w->timed_out ||
                  (WIFEXITED(w->status) &&
                   WEXITSTATUS(w->status) == SM_TRAIN_JOB_STOPPED);
    if (w->shutdown) {
        fail_job(r, SM_TRAINER_INTERRUPTED);
        return;
    }
    if (!stopped && !exited_ok) {
        read_failure(r, w, reason, sizeof reason);
        fail_job(r, reason);
        return;
    }
    if (have_model) {
        advance(r, NULL, "Uploading", "Uploading generated training model");
        if (upload(r, artifacts, sizeof artifacts, reason, sizeof reason)) {
            fail_job(r, reason);
            return;
        }
        sm_trainjobs_set_text(db, r->name, SM_TRAINJOBS_MODEL_ARTIFACTS,
                              artifacts, &err);
    }
    if (w->timed_out)
        advance(r, "Stopped", "MaxRuntimeExceeded",
                "Training job stopped because it ran past "
                "MaxRuntimeInSeconds");
    else if (stopped)
        advance(r, "Stopped", "Stopped", "Training job stopped");
    else
        advance(r, "Completed", "Completed", "Training job completed");
}

static double max_runtime(const runner *r)
{
    json_t *v =
        json_object_get(json_object_get(r->request, "StoppingCondition"),
                        "MaxRuntimeInSeconds");
    return json_is_integer(v) ? (double)json_integer_value(v) : 0;
}

static void run(runner *r)
{
    sm_db *db = r->trainer->config.db;
    char reason[1024] = "";
    sm_error err = {0};
    if (!is_builtin_xgboost(r, reason, sizeof reason)) {
        fail_job(r, reason);
        return;
    }
    double started = now_s();
    sm_trainjobs_set_time(db, r->name, SM_TRAINJOBS_STARTED, started, &err);
    snprintf(r->stream, sizeof r->stream, "%s/algo-1-%lld", r->name,
             (long long)started);
    sm_trainjobs_set_text(db, r->name, SM_TRAINJOBS_LOG_STREAM, r->stream,
                          &err);
    advance(r, NULL, "Downloading", "Downloading input data");
    char dirs[4][32] = {"input/config", "model", "output", "input/data"};
    for (int i = 0; i < 4; i++) {
        char path[4300];
        work_path(r, dirs[i], path, sizeof path);
        if (mkdirs(path)) {
            snprintf(reason, sizeof reason,
                     "InternalServerError: cannot create %.600s: %s", path,
                     strerror(errno));
            fail_job(r, reason);
            return;
        }
    }
    if (download(r, reason, sizeof reason)) {
        fail_job(r, reason);
        return;
    }
    watch w = {.deadline = max_runtime(r) ? started + max_runtime(r) : 0};
    if (r->trainer->closing || sm_trainjobs_stopping(db, r->name)) {
        w.stopped = 1;
        w.shutdown = r->trainer->closing;
        conclude(r, &w);
        return;
    }
    advance(r, NULL, "Training",
            "Training image download completed. Training in progress.");
    log_text(r, "Arguments: train\n");
    if (run_child(r, &w, reason, sizeof reason)) {
        fail_job(r, reason);
        return;
    }
    conclude(r, &w);
}

static void *runner_main(void *arg)
{
    runner *r = arg;
    run(r);
    rm_tree(r->work);
    pthread_mutex_lock(&r->trainer->lock);
    r->finished = 1;
    pthread_mutex_unlock(&r->trainer->lock);
    return NULL;
}

/* ---- the trainer -------------------------------------------------------- */

static void runner_free(runner *r)
{
    close(r->wake[0]);
    close(r->wake[1]);
    json_decref(r->request);
    json_decref(r->metrics);
    free(r);
}

/* Join and free the runners that are done (lock held). */
static void reap_finished(sm_trainer *self)
{
    runner **link = &self->runners;
    while (*link) {
        runner *r = *link;
        if (!r->finished) {
            link = &r->next;
            continue;
        }
        *link = r->next;
        pthread_join(r->thread, NULL);
        runner_free(r);
    }
}

size_t sm_trainer_max_jobs(const sm_trainer *self)
{
    return self->config.max_jobs;
}

int sm_trainer_start(sm_trainer *self, const char *name, sm_error *err)
{
    runner *r = calloc(1, sizeof *r);
    char exact[64];
    if (!r)
        return sm_error_set(err, "out of memory");
    r->trainer = self;
    r->wake[0] = r->wake[1] = -1;
    if (sm_trainjobs_request(self->config.db, name, &r->request, exact, err) ||
        pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        sm_error_set(err, "cannot start training job %s", name);
        runner_free(r);
        return -1;
    }
    snprintf(r->name, sizeof r->name, "%s", exact);
    snprintf(r->work, sizeof r->work, "%s/training/%s", self->config.data_dir,
             exact);
    rm_tree(r->work);
    pthread_mutex_lock(&self->lock);
    reap_finished(self);
    int rc =
        self->closing ? -1 : pthread_create(&r->thread, NULL, runner_main, r);
    if (rc == 0) {
        r->next = self->runners;
        self->runners = r;
    }
    pthread_mutex_unlock(&self->lock);
    if (rc) {
        runner_free(r);
        return sm_error_set(err, "cannot start a thread for training job %s",
                            name);
    }
    return 0;
}

static void wake_runner(runner *r, char c)
{
    ssize_t n = write(r->wake[1], &c, 1);
    (void)n;
}

void sm_trainer_stop(sm_trainer *self, const char *name)
{
    pthread_mutex_lock(&self->lock);
    for (runner *r = self->runners; r; r = r->next)
        if (!r->finished && strcasecmp(r->name, name) == 0)
            wake_runner(r, 's');
    pthread_mutex_unlock(&self->lock);
}

sm_trainjobs_status sm_trainer_submit(sm_trainer *self, sm_trainjobs_new *job,
                                      char existing_arn[256], size_t *running,
                                      sm_error *err)
{
    job->max_running = self->config.max_jobs;
    sm_trainjobs_status st =
        sm_trainjobs_create(self->config.db, job, existing_arn, running, err);
    if (st != SM_TRAINJOBS_OK)
        return st;
    sm_error why = {0};
    if (sm_trainer_start(self, job->name, &why)) {
        runner r = {.trainer = self};
        snprintf(r.name, sizeof r.name, "%s", job->name);
        fail_job(&r, why.message);
    }
    return SM_TRAINJOBS_OK;
}

sm_trainjobs_status sm_trainer_request_stop(sm_trainer *self, const char *name,
                                            char status[32], sm_error *err)
{
    double now = now_s();
    sm_trainjobs_status st =
        sm_trainjobs_stop(self->config.db, name, now, status, err);
    if (st != SM_TRAINJOBS_OK)
        return st;
    sm_trainjobs_advance(self->config.db, name, NULL, "Stopping",
                         "Stopping the training job", now, NULL);
    sm_trainer_stop(self, name);
    return SM_TRAINJOBS_OK;
}

/* A process a previous run left: kill it if it is still that process. */
static void kill_leftover(const sm_trainjobs_orphan *o)
{
    if (o->pid <= 0 || o->start_ticks == 0 ||
        start_ticks(o->pid) != o->start_ticks)
        return;
    sm_warn("training job %s: killing its process %d, left by a previous "
            "run",
            o->name, (int)o->pid);
    kill(-o->pid, SIGKILL);
    kill(o->pid, SIGKILL);
}

static int recover(sm_trainer *self, sm_error *err)
{
    sm_trainjobs_orphan *orphans;
    size_t count;
    if (sm_trainjobs_orphans(self->config.db, &orphans, &count, err) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        runner r = {.trainer = self};
        snprintf(r.name, sizeof r.name, "%s", orphans[i].name);
        kill_leftover(&orphans[i]);
        sm_trainjobs_set_process(self->config.db, r.name, 0, 0, err);
        if (!strcmp(orphans[i].status, "Stopping"))
            advance(&r, "Stopped", "Stopped", "Training job stopped");
        else
            fail_job(&r, SM_TRAINER_INTERRUPTED);
        char work[4300];
        snprintf(work, sizeof work, "%s/training/%s", self->config.data_dir,
                 r.name);
        rm_tree(work);
    }
    if (count)
        sm_warn("ended %zu training job%s that a previous run left behind",
                count, count == 1 ? "" : "s");
    free(orphans);
    return 0;
}

extern char **environ;

/* The service's environment, with OpenMP's idle threads spinning for 1,000
 * turns before they sleep (libgomp's default is 300,000) unless
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT says otherwise: jobs share this machine's
 * cores, and two jobs spinning for each other's cores ran 3 to 10 times
 * slower; a job alone loses nothing measurable. */
static char **child_environment(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (; k < n; k++)
        if (!(env[k] = strdup(environ[k])))
            goto fail;
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT") &&
        !(env[k++] = strdup("GOMP_SPINCOUNT=1000")))
        goto fail;
    return env;
fail:
    for (size_t i = 0; i < k; i++)
        free(env[i]);
    free(env);
    return NULL;
}

static void free_environment(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

sm_trainer *sm_trainer_open(const sm_trainer_config *config, sm_error *err)
{
    if (sm_trainjobs_init(config->db, err) || sm_logstore_init(config->db, err))
        return NULL;
    sm_trainer *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    self->config = *config;
    if (!(self->child_env = child_environment())) {
        free(self);
        sm_error_set(err, "out of memory");
        return NULL;
    }
    if (!self->config.max_jobs) {
        const char *env = getenv("SAGEMAGIC_LOCAL_MAX_TRAINING_JOBS");
        long n = env ? strtol(env, NULL, 10) : 0;
        self->config.max_jobs = n > 0 ? (size_t)n : DEFAULT_MAX_JOBS;
    }
    if (self->config.stop_grace_ms <= 0)
        self->config.stop_grace_ms = DEFAULT_GRACE_MS;
    pthread_mutex_init(&self->lock, NULL);
    if (recover(self, err)) {
        sm_trainer_close(&self);
        return NULL;
    }
    return self;
}

void sm_trainer_close(sm_trainer **self)
{
    sm_trainer *t = *self;
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->closing = 1;
    for (runner *r = t->runners; r; r = r->next)
        if (!r->finished)
            wake_runner(r, 'x');
    runner *list = t->runners;
    t->runners = NULL;
    pthread_mutex_unlock(&t->lock);
    while (list) {
        runner *next = list->next;
        pthread_join(list->thread, NULL);
        runner_free(list);
        list = next;
    }
    pthread_mutex_destroy(&t->lock);
    free_environment(t->child_env);
    free(t);
    *self = NULL;
}
