/* credential_process: posix_spawnp (no shell, safe in a threaded process),
 * poll on the child's stdout and stderr until a deadline, then its JSON. */
#include "credential_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

#define STDERR_KEEP 4096

extern char **environ;

/* ---- splitting --------------------------------------------------------------
 */

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One word starting at *p (not a blank) into w; *p moves past it. */
static int split_word(const char **pp, sm_buf *w, sm_error *err)
{
    const char *p = *pp;
    int rc = sm_buf_puts(w, ""); /* an empty quoted word is still a word */
    while (!rc && *p && !blank(*p)) {
        char quote = *p == '\'' || *p == '"' ? *p : 0;
        if (quote) {
            p++;
            while (!rc && *p && *p != quote) {
                if (quote == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                rc = sm_buf_putc(w, *p++);
            }
            if (!*p)
                return sm_error_set(err, "credential_process: no closing "
                                         "quotation");
            p++;
        } else if (*p == '\\') {
            if (!*++p)
                return sm_error_set(err, "credential_process: nothing after "
                                         "the last backslash");
            rc = sm_buf_putc(w, *p++);
        } else {
            rc = sm_buf_putc(w, *p++);
        }
    }
    *pp = p;
    return rc ? sm_error_set(err, "out of memory") : 0;
}

char **sm_process_split(const char *command, sm_error *err)
{
    char **argv = calloc(1, sizeof *argv);
    size_t argc = 0;
    const char *p = command ? command : "";
    while (argv) {
        while (blank(*p))
            p++;
        if (!*p)
            break;
        sm_buf w = {0};
        char **more = realloc(argv, (argc + 2) * sizeof *argv);
        if (!more || split_word(&p, &w, err)) {
            sm_buf_free(&w);
            argv = more ? more : argv;
            argv[argc] = NULL;
            sm_process_argv_free(&argv);
            return NULL;
        }
        argv = more;
        argv[argc++] = sm_buf_take(&w);
        argv[argc] = NULL;
    }
    if (!argv)
        sm_error_set(err, "out of memory");
    else if (argc == 0) {
        sm_error_set(err, "credential_process is empty");
        sm_process_argv_free(&argv);
    }
    return argv;
}

void sm_process_argv_free(char ***argv)
{
    if (!argv || !*argv)
        return;
    for (char **a = *argv; *a; a++)
        free(*a);
    free(*argv);
    *argv = NULL;
}

/* ---- running ----------------------------------------------------------------
 */

typedef struct child {
    pid_t pid;
    int out, err; /* read ends; -1 once closed */
    sm_buf stdout_buf, stderr_buf;
} child;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int spawn(char **argv, child *c, sm_error *err)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, rc = -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
        sm_error_set(err, "credential_process: pipe: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                        POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    int e = posix_spawnp(&c->pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (e) {
        sm_error_set(err, "credential_process: cannot run '%.200s': %s",
                     argv[0], strerror(e));
        goto out;
    }
    c->out = out[0];
    c->err = errp[0];
    out[0] = errp[0] = -1;
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    return rc;
}

/* Read what is ready on *fd into b (up to `cap` kept); -1 at EOF closes. */
static int drain(int *fd, sm_buf *b, size_t cap, int *too_much)
{
    char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return 0;
    }
    size_t keep = b->len < cap ? cap - b->len : 0;
    if ((size_t)n > keep && too_much)
        *too_much = 1;
    if (keep && sm_buf_append(b, chunk, (size_t)n < keep ? (size_t)n : keep))
        return -1;
    return 0;
}

/* Collect output until both pipes close or the deadline; 1 on timeout. */
static int collect(child *c, long long deadline, int *too_much)
{
    while (c->out >= 0 || c->err >= 0) {
        struct pollfd fds[2] = {{c->out, POLLIN, 0}, {c->err, POLLIN, 0}};
        long long left = deadline - now_ms();
        if (left <= 0)
            return 1;
        int n = poll(fds, 2, (int)(left > 1000 ? 1000 : left));
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0 && fds[0].revents &&
            drain(&c->out, &c->stdout_buf, SM_PROCESS_MAX_OUTPUT, too_much))
            return -1;
        if (n > 0 && fds[1].revents &&
            drain(&c->err, &c->stderr_buf, STDERR_KEEP, NULL))
            return -1;
    }
    return 0;
}

/* Wait for the child until the deadline; then kill its group. The exit
 * status, or -1 when it had to be killed. */
static int reap(child *c, long long deadline)
{
    int status = 0;
    while (now_ms() < deadline) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        if (r < 0 && errno != EINTR)
            return 128;
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
    }
    kill(-c->pid, SIGKILL);
    kill(c->pid, SIGKILL);
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
    return -1;
}

/* First line of the child's stderr, for an error message. */
static void first_line(const sm_buf *b, char *out, size_t size)
{
    const char *s = sm_buf_str(b);
    size_t n = strcspn(s, "\r\n");
    snprintf(out, size, "%.*s", (int)(n < 300 ? n : 300), s);
}

static int parse_output(const sm_buf *text, sm_credentials *out, sm_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(sm_buf_str(text), text->len, 0, &jerr);
    int rc = 0;
    if (!json_is_object(doc))
        rc = sm_error_set(err, "credential_process did not print a JSON "
                               "object");
    else if (json_integer_value(json_object_get(doc, "Version")) != 1 ||
             !json_is_integer(json_object_get(doc, "Version")))
        rc = sm_error_set(err, "credential_process printed a document "
                               "without \"Version\": 1");
    else
        rc = sm_credentials_from_json(doc, "SessionToken", "credential_process",
                                      out, err);
    if (doc)
        sm_credentials_json_wipe(doc);
    json_decref(doc);
    return rc;
}

int sm_credential_process(const char *command, long timeout_ms,
                          sm_credentials *out, sm_error *err)
{
    child c = {.pid = -1, .out = -1, .err = -1};
    char **argv = sm_process_split(command, err);
    int rc = -1, too_much = 0;
    if (timeout_ms <= 0)
        timeout_ms = SM_PROCESS_DEFAULT_TIMEOUT_MS;
    long long deadline = now_ms() + timeout_ms;
    if (!argv || spawn(argv, &c, err))
        goto out;
    sm_debug("credential_process: running %s", argv[0]);
    int timed_out = collect(&c, deadline, &too_much);
    int status = reap(&c, timed_out ? 0 : deadline);
    char line[320];
    first_line(&c.stderr_buf, line, sizeof line);
    if (timed_out == 1 || status < 0)
        sm_error_set(err, "credential_process timed out after %ld ms",
                     timeout_ms);
    else if (timed_out < 0)
        sm_error_set(err, "credential_process: reading its output failed");
    else if (status != 0)
        sm_error_set(err, "credential_process exited with status %d%s%s",
                     status, *line ? ": " : "", line);
    else if (too_much)
        sm_error_set(err, "credential_process printed over %u bytes",
                     SM_PROCESS_MAX_OUTPUT);
    else
        rc = parse_output(&c.stdout_buf, out, err);
out:
    if (c.out >= 0)
        close(c.out);
    if (c.err >= 0)
        close(c.err);
    if (c.stdout_buf.data)
        sodium_memzero(c.stdout_buf.data, c.stdout_buf.len);
    sm_buf_free(&c.stdout_buf);
    sm_buf_free(&c.stderr_buf);
    sm_process_argv_free(&argv);
    return rc;
}
