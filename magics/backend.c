/* backend: one AWS client for the current settings; for the local backend
 * the sagemagic-local service is found through service.json in its data
 * dir, or started detached in its own session (so a notebook's interrupt,
 * sent to the kernel's process group, never reaches it). */
#include "backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "files.h"
#include "log.h"
#include "s3.h"

#define LOCAL_NAME "sagemagic-local"
#define CACHE_SECONDS 10.0

/* What service.json says, checked. */
typedef struct local_service {
    long pid;
    int port;
    char host[64];
    char url[160];
} local_service;

struct sm_backend {
    sm_aws *aws;
    char *key; /* the settings `aws` was made for */
    char *local_dir, *local_url;
    long local_pid;
    char region[64]; /* sm_backend_region's answer */
    int have_identity;
    sm_aws_identity identity;
    char ensured[SM_S3_BUCKET_MAX + 1]; /* the default bucket, once made */
    char *last_kind, *last_job;
    json_t *cache; /* key -> [seconds, value] */
};

static void fail(sm_aws_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(sm_aws_error *err, const char *fmt, ...)
{
    memset(err, 0, sizeof *err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- finding the local service ------------------------------------------ */

/* The data dir: SAGEMAGIC_LOCAL_DATA_DIR, else the service's default. New
 * absolute path, or NULL when there is no HOME to put it under. */
static char *local_data_dir(void)
{
    const char *env = getenv("SAGEMAGIC_LOCAL_DATA_DIR");
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    char path[PATH_MAX], cwd[PATH_MAX];
    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else if (xdg && *xdg)
        snprintf(path, sizeof path, "%s/sagemagic/local", xdg);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.local/share/sagemagic/local", home);
    else
        return NULL;
    if (path[0] != '/' && getcwd(cwd, sizeof cwd)) {
        char abs[PATH_MAX * 2];
        snprintf(abs, sizeof abs, "%s/%s", cwd, path);
        return strdup(abs);
    }
    return strdup(path);
}

/* Whether `pid` is a live sagemagic-local: not gone, not a zombie, not a
 * process that inherited the number. */
static int process_is_local(long pid)
{
    char path[64], stat[512] = "";
    if (pid <= 1 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 1; /* no /proc: trust kill() */
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *open = strchr(stat, '('), *close = strrchr(stat, ')');
    if (!open || !close || close < open || (close[1] == ' ' && close[2] == 'Z'))
        return 0;
    return strncmp(open + 1, LOCAL_NAME, 15) == 0; /* comm holds 15 */
}

/* Whether `pid` runs at all (a zombie does not). */
static int process_alive(long pid)
{
    char path[64], stat[512] = "";
    if (pid <= 1 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 1;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *close = strrchr(stat, ')');
    return !(close && close[1] == ' ' && close[2] == 'Z');
}

/* Whether something accepts connections on host:port within a second. */
static int port_answers(const char *host, int port)
{
    struct sockaddr_storage addr = {0};
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
    socklen_t len;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        len = sizeof *v6;
    } else {
        return 0;
    }
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return 0;
    int ok = connect(fd, (struct sockaddr *)&addr, len) == 0;
    if (!ok && errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int soerr = 1;
        socklen_t sl = sizeof soerr;
        ok = poll(&p, 1, 1000) == 1 &&
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0;
    }
    close(fd);
    return ok;
}

/* DIR/service.json into `svc`: 0 when a live service wrote it and its
 * port answers, else -1. */
static int service_find(const char *dir, local_service *svc)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/service.json", dir);
    *svc = (local_service){0};
    json_t *obj = json_load_file(path, 0, NULL);
    if (!obj)
        return -1;
    const char *host = json_string_value(json_object_get(obj, "host"));
    const char *url = json_string_value(json_object_get(obj, "endpoint_url"));
    svc->pid = (long)json_integer_value(json_object_get(obj, "pid"));
    svc->port = (int)json_integer_value(json_object_get(obj, "port"));
    int rc = host && url && strlen(host) < sizeof svc->host &&
                     strlen(url) < sizeof svc->url && svc->port > 0
                 ? 0
                 : -1;
    if (!rc) {
        snprintf(svc->host, sizeof svc->host, "%s", host);
        snprintf(svc->url, sizeof svc->url, "%s", url);
    }
    json_decref(obj);
    if (!rc && (!process_is_local(svc->pid) || !port_answers(svc->host, svc->port)))
        rc = -1;
    return rc;
}

/* The service binary: SAGEMAGIC_LOCAL_BIN, else the one next to this
 * kernel, else whatever PATH finds. New string. */
static char *local_binary(void)
{
    const char *env = getenv("SAGEMAGIC_LOCAL_BIN");
    char self[PATH_MAX], path[PATH_MAX + 32];
    if (env && *env)
        return strdup(env);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        snprintf(path, sizeof path, "%s/" LOCAL_NAME, dirname(self));
        if (access(path, X_OK) == 0)
            return strdup(path);
    }
    return strdup(LOCAL_NAME);
}

/* In the grandchild, between fork and exec: only async-signal-safe calls. */
static void exec_service(char *const argv[], int log_fd, int max_fd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGPIPE, &dfl, NULL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 ||
        dup2(log_fd, 2) < 0)
        _exit(127);
    /* the kernel's sockets and files are none of the service's business;
     * held open they would keep a restarted kernel from its ports */
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
        for (int fd = 3; fd < max_fd; fd++)
            close(fd);
    if (chdir("/") != 0)
        _exit(127);
    if (strchr(argv[0], '/'))
        execv(argv[0], argv);
    else
        execvp(argv[0], argv);
    static const char msg[] = "sagemagic-local: cannot run ";
    if (write(2, msg, sizeof msg - 1) > 0 && write(2, argv[0], strlen(argv[0])) > 0)
        (void)!write(2, "\n", 1);
    _exit(127);
}

/* Fork twice, the middle child starting a new session: the service ends up
 * a child of init in a session of its own. Its pid, or -1. */
static long spawn_detached(char *const argv[], const char *log_path)
{
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int pipe_fd[2];
    if (log_fd < 0)
        return -1;
    if (pipe2(pipe_fd, O_CLOEXEC) != 0) {
        close(log_fd);
        return -1;
    }
    long open_max = sysconf(_SC_OPEN_MAX);
    int max_fd = open_max > 0 && open_max < 65536 ? (int)open_max : 65536;
    pid_t child = fork();
    if (child == 0) {
        setsid();
        pid_t grandchild = fork();
        if (grandchild == 0)
            exec_service(argv, log_fd, max_fd);
        long pid = grandchild;
        ssize_t w = write(pipe_fd[1], &pid, sizeof pid);
        _exit(w == (ssize_t)sizeof pid ? 0 : 1);
    }
    close(pipe_fd[1]);
    close(log_fd);
    long pid = -1;
    if (child > 0) {
        if (read(pipe_fd[0], &pid, sizeof pid) != (ssize_t)sizeof pid)
            pid = -1;
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    close(pipe_fd[0]);
    return pid;
}

/* The last line of the service's log, for an error message. */
static void log_tail(const char *log_path, char *out, size_t size)
{
    char buf[4096];
    out[0] = '\0';
    FILE *f = fopen(log_path, "re");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, len > (long)sizeof buf - 1 ? len - (long)sizeof buf + 1 : 0, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    const char *line = strrchr(buf, '\n');
    snprintf(out, size, "%.*s", (int)(size - 1), line ? line + 1 : buf);
}

/* Start sagemagic-local on DIR and wait (bounded, interruptible) until it
 * answers. 0 with `svc` filled, or -1 with `err` set. */
static int local_start(const char *dir, sm_out *out, local_service *svc,
                       sm_aws_error *err)
{
    char log_path[PATH_MAX + 32], tail[512];
    snprintf(log_path, sizeof log_path, "%s/service.log", dir);
    if (sm_files_mkdirs(dir, 0700) != 0) {
        fail(err, "cannot create the sagemagic-local data dir %s: %s", dir,
             strerror(errno));
        return -1;
    }
    char *bin = local_binary();
    char *argv[] = {bin, "serve", "--port", "0", "--data-dir", (char *)dir, NULL};
    long pid = bin ? spawn_detached(argv, log_path) : -1;
    sm_info("started %s (pid %ld) on data dir %s", bin ? bin : LOCAL_NAME, pid,
            dir);
    free(bin);
    if (pid < 0) {
        fail(err, "cannot start sagemagic-local: %s", strerror(errno));
        return -1;
    }
    double deadline = now_seconds() + SM_BACKEND_START_SECONDS;
    while (now_seconds() < deadline) {
        /* another kernel may have won the race for the data dir: any live
         * service there will do */
        if (service_find(dir, svc) == 0)
            return 0;
        if (!process_alive(pid)) {
            log_tail(log_path, tail, sizeof tail);
            if (service_find(dir, svc) == 0)
                return 0;
            fail(err, "sagemagic-local stopped at start: %s (log: %s)",
                 tail[0] ? tail : "no message", log_path);
            return -1;
        }
        if (out ? sm_out_wait(out, 50) : usleep(50 * 1000)) {
            fail(err, "sagemagic-local was still starting; it goes on in "
                      "the background (log: %s)", log_path);
            snprintf(err->code, sizeof err->code, "%s", SM_AWS_ERR_INTERRUPTED);
            return -1;
        }
    }
    fail(err, "sagemagic-local did not answer within %d s; see %s",
         SM_BACKEND_START_SECONDS, log_path);
    return -1;
}

/* ---- clients ------------------------------------------------------------ */

static void drop_client(sm_backend *self)
{
    sm_aws_destroy(&self->aws);
    free(self->key);
    free(self->local_dir);
    free(self->local_url);
    self->key = self->local_dir = self->local_url = NULL;
    self->local_pid = 0;
    self->have_identity = 0;
    self->ensured[0] = '\0';
    json_object_clear(self->cache);
}

/* DIR/credentials.json's key pair and region into a client for `url`. The
 * file's bytes and the parsed secret are wiped after use. */
static sm_aws *local_client(const char *dir, const char *url, sm_aws_error *err)
{
    char path[PATH_MAX + 32], text[2048];
    snprintf(path, sizeof path, "%s/credentials.json", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0) {
        fail(err, "cannot read the sagemagic-local credentials in %s", path);
        return NULL;
    }
    json_t *obj = json_loadb(text, (size_t)n, 0, NULL);
    sodium_memzero(text, sizeof text);
    const char *key = json_string_value(json_object_get(obj, "AccessKeyId"));
    const char *secret = json_string_value(json_object_get(obj, "SecretAccessKey"));
    const char *region = json_string_value(json_object_get(obj, "Region"));
    sm_aws *aws = NULL;
    if (!key || !secret) {
        fail(err, "%s lacks AccessKeyId or SecretAccessKey", path);
    } else {
        sm_aws_config cfg = {.region = region && *region ? region : "us-east-1",
                             .endpoint_url = url,
                             .access_key = key,
                             .secret_key = secret};
        aws = sm_aws_new(&cfg, err);
        sodium_memzero((char *)secret, strlen(secret));
    }
    json_decref(obj);
    return aws;
}

static sm_aws *local_backend(sm_backend *self, sm_out *out, sm_aws_error *err)
{
    char *dir = local_data_dir();
    if (!dir) {
        fail(err, "set SAGEMAGIC_LOCAL_DATA_DIR or HOME: sagemagic-local "
                  "needs a data dir");
        return NULL;
    }
    if (self->aws && self->key && strcmp(self->key, "local") == 0 &&
        strcmp(self->local_dir, dir) == 0 && process_is_local(self->local_pid)) {
        free(dir);
        return self->aws;
    }
    drop_client(self);
    local_service svc;
    int rc = service_find(dir, &svc);
    if (rc && !out)
        fail(err, "sagemagic-local is not running (data dir %s)", dir);
    else if (rc)
        rc = local_start(dir, out, &svc, err);
    if (!rc && (self->aws = local_client(dir, svc.url, err)) != NULL) {
        self->key = strdup("local");
        self->local_dir = dir;
        self->local_url = strdup(svc.url);
        self->local_pid = svc.pid;
        sm_info("local backend: %s (pid %ld)", svc.url, svc.pid);
        return self->aws;
    }
    free(dir);
    return NULL;
}

static char *aws_key(const sm_config *config)
{
    sm_buf b = {0};
    sm_buf_printf(&b, "aws\n%s\n%s\n%s", sm_config_get(config, "region"),
                  sm_config_get(config, "profile"),
                  sm_config_get(config, "endpoint_url"));
    return sm_buf_take(&b);
}

static const char *or_null(const char *s)
{
    return s && *s ? s : NULL;
}

sm_aws *sm_backend_client(sm_backend *self, const sm_config *config,
                          sm_out *out, sm_aws_error *err)
{
    memset(err, 0, sizeof *err);
    if (strcmp(sm_config_get(config, "backend"), "local") == 0)
        return local_backend(self, out, err);
    char *key = aws_key(config);
    if (self->aws && self->key && strcmp(self->key, key) == 0) {
        free(key);
        return self->aws;
    }
    drop_client(self);
    sm_aws_config cfg = {
        .region = or_null(sm_config_get(config, "region")),
        .profile = or_null(sm_config_get(config, "profile")),
        .endpoint_url = or_null(sm_config_get(config, "endpoint_url")),
    };
    self->aws = sm_aws_new(&cfg, err);
    if (!self->aws) {
        err->operation[0] = '\0'; /* "configure failed: " says nothing */
        free(key);
        return NULL;
    }
    self->key = key;
    return self->aws;
}

int sm_backend_identity(sm_backend *self, const sm_config *config,
                        sm_out *out, sm_aws_identity *id, sm_aws_error *err)
{
    sm_aws *aws = sm_backend_client(self, config, out, err);
    if (!aws)
        return -1;
    if (!self->have_identity) {
        if (sm_aws_whoami(aws, &self->identity, err))
            return -1;
        self->have_identity = 1;
    }
    *id = self->identity;
    return 0;
}

int sm_backend_bucket(sm_backend *self, const sm_config *config, sm_out *out,
                      int ensure, char *bucket, size_t size, sm_aws_error *err)
{
    const char *configured = sm_config_get(config, "bucket");
    if (configured && *configured) {
        snprintf(bucket, size, "%s", configured);
        return 0;
    }
    sm_aws_identity id;
    if (sm_backend_identity(self, config, out, &id, err))
        return -1;
    const char *region = sm_aws_region(self->aws);
    if (sm_s3_default_bucket_name(region, id.account, bucket, size)) {
        fail(err, "no default bucket name for region %s and account %s; "
                  "set one with %%config bucket=NAME", region, id.account);
        return -1;
    }
    if (!ensure || strcmp(self->ensured, bucket) == 0)
        return 0;
    if (sm_s3_ensure_bucket(self->aws, bucket, err))
        return -1;
    snprintf(self->ensured, sizeof self->ensured, "%s", bucket);
    return 0;
}

const char *sm_backend_region(sm_backend *self, const sm_config *config)
{
    const char *region = sm_config_get(config, "region");
    bool local = strcmp(sm_config_get(config, "backend"), "local") == 0;
    if (self->aws && self->key && (strcmp(self->key, "local") == 0) == local)
        region = sm_aws_region(self->aws);
    else if (local) {
        char *dir = local_data_dir();
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/credentials.json", dir ? dir : "");
        json_t *obj = dir ? json_load_file(path, 0, NULL) : NULL;
        const char *r = json_string_value(json_object_get(obj, "Region"));
        if (r && *r && strlen(r) < sizeof self->region) {
            snprintf(self->region, sizeof self->region, "%s", r);
            region = self->region;
        }
        json_t *secret = json_object_get(obj, "SecretAccessKey");
        if (json_is_string(secret))
            sodium_memzero((char *)json_string_value(secret),
                           json_string_length(secret));
        json_decref(obj);
        free(dir);
    }
    if (region != self->region)
        snprintf(self->region, sizeof self->region, "%s", region);
    return self->region;
}

const char *sm_backend_local_url(const sm_backend *self)
{
    return self->local_url;
}

const char *sm_backend_local_dir(const sm_backend *self)
{
    return self->local_dir;
}

long sm_backend_local_pid(const sm_backend *self)
{
    return self->local_pid;
}

void sm_backend_note_job(sm_backend *self, const char *kind, const char *name)
{
    free(self->last_kind);
    free(self->last_job);
    self->last_kind = strdup(kind);
    self->last_job = strdup(name);
}

const char *sm_backend_last_job(const sm_backend *self, const char **kind)
{
    if (kind)
        *kind = self->last_kind;
    return self->last_job;
}

json_t *sm_backend_cache_get(sm_backend *self, const char *key)
{
    json_t *entry = json_object_get(self->cache, key);
    if (!entry)
        return NULL;
    double at = json_real_value(json_array_get(entry, 0));
    if (now_seconds() - at > CACHE_SECONDS) {
        json_object_del(self->cache, key);
        return NULL;
    }
    return json_array_get(entry, 1);
}

void sm_backend_cache_put(sm_backend *self, const char *key, json_t *value)
{
    if (json_object_size(self->cache) > 256)
        json_object_clear(self->cache);
    json_object_set_new(self->cache, key,
                        json_pack("[f, o]", now_seconds(), value));
}

sm_backend *sm_backend_new(void)
{
    sm_backend *self = calloc(1, sizeof *self);
    if (self && !(self->cache = json_object())) {
        free(self);
        return NULL;
    }
    return self;
}

void sm_backend_destroy(sm_backend **pself)
{
    sm_backend *self = *pself;
    if (!self)
        return;
    drop_client(self);
    json_decref(self->cache);
    free(self->last_kind);
    free(self->last_job);
    free(self);
    *pself = NULL;
}
