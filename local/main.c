/* main: sagemagic-local, the offline service on 127.0.0.1 that speaks the
 * AWS wire APIs; each subcommand is one row of the table below. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "datadir.h"
#include "db.h"
#include "httpd.h"
#include "log.h"
#include "router.h"
#include "serving.h"
#include "train_job.h"
#include "trainer.h"
#include "transform.h"
#include "tuner.h"
#include "store.h"

#define PROG "sagemagic-local"
#define EXIT_USAGE 2
#define EXIT_NOT_RUNNING 3 /* as LSB init scripts say for `status` */
#define GRACE_MS 10000     /* requests in flight get this long at SIGTERM */

typedef struct options {
    const char *host;
    int port;
    const char *data_dir;
    int timeout_s;
    const char *work_dir; /* train-job */
    char *default_dir; /* owned */
} options;

typedef struct command {
    const char *name;
    int (*run)(options *opt);
    const char *usage;
} command;

static int cmd_serve(options *opt);
static int cmd_status(options *opt);
static int cmd_stop(options *opt);
static int cmd_train_job(options *opt);

static const command commands[] = {
    {"serve", cmd_serve,
     "serve [--host 127.0.0.1] [--port N|0] [--data-dir DIR]\n"
     "      run the service in the foreground until SIGTERM"},
    {"status", cmd_status,
     "status [--data-dir DIR]\n"
     "      say whether it runs, where (exit 0), or not (exit 3)"},
    {"stop", cmd_stop,
     "stop [--data-dir DIR] [--timeout SECONDS]\n"
     "      send SIGTERM and wait for it to exit"},
    /* Hidden: the process of one training job, started by the service. */
    {"train-job", cmd_train_job, NULL},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void usage(FILE *to)
{
    fprintf(to, "usage: " PROG " COMMAND [FLAGS]\n\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (commands[i].usage)
            fprintf(to, "  " PROG " %s\n", commands[i].usage);
    fprintf(to, "\nThe data dir defaults to $XDG_DATA_HOME/sagemagic/local "
                "(~/.local/share/sagemagic/local).\n");
}

/* ---- flags -------------------------------------------------------------- */

static int int_value(const char *flag, const char *s, int lo, int hi, int *out)
{
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || v < lo || v > hi) {
        fprintf(stderr, PROG ": %s takes a number from %d to %d\n", flag, lo,
                hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* --name VALUE or --name=VALUE into `opt`. 0, or -1 after saying why. */
static int options_parse(int argc, char **argv, options *opt)
{
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i], *value = NULL;
        char *eq = strchr(arg, '=');
        if (eq) {
            *eq = '\0';
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[i + 1];
            i++;
        }
        int rc = 0;
        if (strcmp(arg, "--host") == 0 && value)
            opt->host = value;
        else if (strcmp(arg, "--data-dir") == 0 && value)
            opt->data_dir = value;
        else if (strcmp(arg, "--work-dir") == 0 && value)
            opt->work_dir = value;
        else if (strcmp(arg, "--port") == 0)
            rc = int_value("--port", value, 0, 65535, &opt->port);
        else if (strcmp(arg, "--timeout") == 0)
            rc = int_value("--timeout", value, 1, 3600, &opt->timeout_s);
        else {
            fprintf(stderr, PROG ": unknown flag '%s' (see " PROG " --help)\n",
                    arg);
            return -1;
        }
        if (rc)
            return -1;
    }
    if (!opt->data_dir) {
        opt->default_dir = sm_datadir_default();
        opt->data_dir = opt->default_dir;
    }
    if (!opt->data_dir) {
        fprintf(stderr, PROG ": set --data-dir (no HOME or XDG_DATA_HOME)\n");
        return -1;
    }
    return 0;
}

/* ---- serve -------------------------------------------------------------- */

/* What `serve` holds while it runs. */
typedef struct service {
    const options *opt;
    int lock_fd;
    sm_datadir_credentials creds;
    sm_db *db;
    sm_store *store;
    sm_local_env env;
    sm_serving *serving;
    sm_transform *transform;
    sm_trainer *trainer;
    sm_tuner *tuner;
    char executable[4096]; /* this program, for training jobs */
    sm_httpd *server;
} service;

static int service_open(service *s, sm_error *err)
{
    const char *dir = s->opt->data_dir;
    char db_path[4096];
    snprintf(db_path, sizeof db_path, "%s/state.db", dir);
    if (sm_datadir_create(dir, err))
        return -1;
    s->lock_fd = sm_datadir_lock(dir, err);
    if (s->lock_fd < 0 || sm_datadir_credentials_load(dir, 1, &s->creds, err))
        return -1;
    s->db = sm_db_open(db_path, err);
    s->store = s->db ? sm_store_open(dir, s->db, err) : NULL;
    if (!s->store)
        return -1;
    if (sm_store_recovered(s->store))
        sm_warn("removed %zu files an interrupted write left behind",
                sm_store_recovered(s->store));
    s->env = (sm_local_env){.store = s->store,
                            .account_id = s->creds.account_id,
                            .access_key = s->creds.access_key,
                            .region = s->creds.region,
                            .db = s->db,
                            .data_dir = dir};
    sm_serving_config serving = {s->db, s->store, s->creds.account_id,
                                 s->creds.region};
    s->serving = sm_serving_open(&serving, err);
    if (!s->serving)
        return -1;
    s->env.serving = s->serving;
    sm_transform_config transform = {s->db, s->store, s->serving,
                                     s->creds.account_id, s->creds.region};
    s->transform = sm_transform_open(&transform, err);
    if (!s->transform)
        return -1;
    s->env.transform = s->transform;
    ssize_t n = readlink("/proc/self/exe", s->executable,
                         sizeof s->executable - 1);
    if (n <= 0)
        return sm_error_set(err, "cannot find this program's path");
    s->executable[n] = '\0';
    sm_trainer_config trainer = {.db = s->db,
                                 .store = s->store,
                                 .data_dir = dir,
                                 .executable = s->executable};
    s->trainer = sm_trainer_open(&trainer, err);
    if (!s->trainer)
        return -1;
    s->env.trainer = s->trainer;
    sm_tuner_config tuner = {.db = s->db, .trainer = s->trainer};
    s->tuner = sm_tuner_open(&tuner, err);
    if (!s->tuner)
        return -1;
    s->env.tuner = s->tuner;
    return 0;
}

static int service_listen(service *s, sm_error *err)
{
    sm_httpd_config config = {s->opt->host,        s->opt->port, &s->env,
                              s->creds.secret_key, NULL,         NULL};
    s->server = sm_httpd_start(&config, err);
    if (!s->server)
        return -1;
    sm_datadir_service svc = {.pid = (long)getpid(),
                              .port = sm_httpd_port(s->server)};
    snprintf(svc.host, sizeof svc.host, "%s", s->opt->host);
    if (strchr(s->opt->host, ':')) /* IPv6 */
        snprintf(svc.endpoint_url, sizeof svc.endpoint_url, "http://[%s]:%d",
                 s->opt->host, svc.port);
    else
        snprintf(svc.endpoint_url, sizeof svc.endpoint_url, "http://%s:%d",
                 s->opt->host, svc.port);
    if (sm_datadir_service_write(s->opt->data_dir, &svc, err))
        return -1;
    printf(PROG " listening on %s (data dir %s)\n", svc.endpoint_url,
           s->opt->data_dir);
    fflush(stdout);
    return 0;
}

static void service_close(service *s)
{
    if (s->server) {
        sm_httpd_stop(&s->server, GRACE_MS);
        sm_datadir_service_remove(s->opt->data_dir);
    }
    sm_tuner_close(&s->tuner);
    sm_trainer_close(&s->trainer);
    sm_transform_close(&s->transform);
    sm_serving_close(&s->serving);
    sm_store_close(&s->store);
    sm_db_close(&s->db);
    sm_datadir_credentials_wipe(&s->creds);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
}

static int is_loopback(const char *host)
{
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return strcmp(host, "::1") == 0;
}

/* Block the stop signals in every thread; the main thread waits for them.
 * (Processes started from here later must unblock them after fork.) */
static void signals_block(sigset_t *set)
{
    /* A launcher may have left them ignored; then sigwait never sees them. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int cmd_serve(options *opt)
{
    sigset_t stop_signals;
    signals_block(&stop_signals);
    if (!is_loopback(opt->host))
        sm_warn("listening on %s: other machines can reach this service",
                opt->host);
    service s = {.opt = opt, .lock_fd = -1};
    sm_error err = {0};
    int rc = service_open(&s, &err);
    if (!rc)
        rc = service_listen(&s, &err);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err.message);
        service_close(&s);
        return 1;
    }
    int sig = 0;
    while (sig != SIGTERM && sig != SIGINT) {
        if (sigwait(&stop_signals, &sig) != 0)
            break;
    }
    sm_info("signal %d: stopping", sig);
    service_close(&s);
    return 0;
}

/* ---- train-job ---------------------------------------------------------- */

static int cmd_train_job(options *opt)
{
    if (!opt->work_dir) {
        fprintf(stderr, PROG ": train-job needs --work-dir DIR\n");
        return EXIT_USAGE;
    }
    return sm_train_job_run(opt->work_dir);
}

/* ---- status and stop ---------------------------------------------------- */

/* Whether `pid` is a live sagemagic-local (not a zombie, not a process
 * that inherited the number). */
static int process_is_ours(long pid)
{
    char path[64], comm[64] = "", stat[256] = "";
    if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1; /* no /proc: trust kill() */
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *close_paren = strrchr(stat, ')');
    if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z')
        return 0;
    const char *open_paren = strchr(stat, '(');
    if (open_paren && close_paren && close_paren > open_paren)
        snprintf(comm, sizeof comm, "%.*s", (int)(close_paren - open_paren - 1),
                 open_paren + 1);
    return strncmp(comm, PROG, 15) == 0; /* comm holds 15 characters */
}

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
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, len) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* service.json into `svc`; 0 when a live server wrote it. */
static int service_find(const options *opt, sm_datadir_service *svc)
{
    sm_error err = {0};
    int rc = sm_datadir_service_read(opt->data_dir, svc, &err);
    if (rc < 0)
        fprintf(stderr, PROG ": %s\n", err.message);
    if (rc)
        return -1;
    return process_is_ours(svc->pid) ? 0 : -1;
}

static int cmd_status(options *opt)
{
    sm_datadir_service svc;
    if (service_find(opt, &svc)) {
        printf(PROG " is not running (data dir %s)\n", opt->data_dir);
        return EXIT_NOT_RUNNING;
    }
    if (!port_answers(svc.host, svc.port)) {
        printf(PROG " pid %ld runs but does not answer on %s\n", svc.pid,
               svc.endpoint_url);
        return 1;
    }
    printf(PROG " is running: pid %ld, %s, data dir %s\n", svc.pid,
           svc.endpoint_url, opt->data_dir);
    return 0;
}

static int cmd_stop(options *opt)
{
    sm_datadir_service svc;
    if (service_find(opt, &svc)) {
        printf(PROG " is not running (data dir %s)\n", opt->data_dir);
        return 0;
    }
    if (kill((pid_t)svc.pid, SIGTERM) != 0) {
        fprintf(stderr, PROG ": cannot signal pid %ld: %s\n", svc.pid,
                strerror(errno));
        return 1;
    }
    struct timespec tick = {0, 50 * 1000 * 1000};
    for (int waited = 0; waited < opt->timeout_s * 20; waited++) {
        if (!process_is_ours(svc.pid)) {
            printf(PROG " stopped (pid %ld)\n", svc.pid);
            return 0;
        }
        nanosleep(&tick, NULL);
    }
    fprintf(stderr, PROG ": pid %ld is still running after %d s\n", svc.pid,
            opt->timeout_s);
    return 1;
}

int main(int argc, char **argv)
{
    sm_log_init();
    if (sodium_init() < 0) {
        fprintf(stderr, PROG ": libsodium cannot start\n");
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(commands[i].name, argv[1]) != 0)
            continue;
        options opt = {.host = "127.0.0.1", .timeout_s = 20};
        int rc = options_parse(argc - 1, argv + 1, &opt)
                     ? EXIT_USAGE
                     : commands[i].run(&opt);
        free(opt.default_dir);
        return rc;
    }
    fprintf(stderr, PROG ": unknown command '%s' (see " PROG " --help)\n",
            argv[1]);
    return EXIT_USAGE;
}
