/* datadir: small JSON files written whole or not at all. */
#include "datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *sm_datadir_default(void)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    char path[4096];
    if (xdg && *xdg)
        snprintf(path, sizeof path, "%s/sagemagic/local", xdg);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.local/share/sagemagic/local", home);
    else
        return NULL;
    return strdup(path);
}

int sm_datadir_create(const char *dir, sm_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return sm_error_set(err, "the data dir path is too long");
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return sm_error_set(err, "cannot create %s: %s", path,
                                strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return sm_error_set(err, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

static void path_of(const char *dir, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", dir, name);
}

int sm_datadir_lock(const char *dir, sm_error *err)
{
    char path[4096];
    path_of(dir, "service.lock", path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return sm_error_set(err, "cannot open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return sm_error_set(err,
                            "another sagemagic-local is serving %s "
                            "(sagemagic-local status --data-dir %s)",
                            dir, dir);
    }
    return fd;
}

/* Write `text` to DIR/name through a temporary file: all or nothing. */
static int write_atomic(const char *dir, const char *name, const char *text,
                        mode_t mode, sm_error *err)
{
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    path_of(dir, name, path, sizeof path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return sm_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    size_t n = strlen(text);
    int ok = fchmod(fd, mode) == 0 && write(fd, text, n) == (ssize_t)n &&
             fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        sm_error_set(err, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* `n` characters drawn uniformly from `alphabet`. */
static void random_text(char *out, size_t n, const char *alphabet)
{
    uint32_t size = (uint32_t)strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[randombytes_uniform(size)];
    out[n] = '\0';
}

static int credentials_create(const char *dir, sm_error *err)
{
    sm_datadir_credentials c = {0};
    memcpy(c.access_key, "SMLOCAL", 7);
    random_text(c.access_key + 7, 13, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    random_text(c.secret_key, 40,
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789+/");
    /* Written by hand, not through jansson, so the buffer can be wiped;
     * every value is plain ASCII that needs no escaping. The Version and
     * key names are credential_process's, so the file can serve as one. */
    char text[512];
    snprintf(text, sizeof text,
             "{\n  \"Version\": 1,\n  \"AccessKeyId\": \"%s\",\n"
             "  \"SecretAccessKey\": \"%s\",\n  \"AccountId\": \"%s\",\n"
             "  \"Region\": \"%s\"\n}\n",
             c.access_key, c.secret_key, SM_DATADIR_ACCOUNT, SM_DATADIR_REGION);
    int rc = write_atomic(dir, "credentials.json", text, 0600, err);
    sodium_memzero(text, sizeof text);
    sm_datadir_credentials_wipe(&c);
    return rc;
}

static int copy_field(json_t *obj, const char *name, char *out, size_t size,
                      const char *fallback)
{
    const char *v = json_string_value(json_object_get(obj, name));
    if (!v)
        v = fallback;
    if (!v || !*v || strlen(v) >= size)
        return -1;
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

int sm_datadir_credentials_load(const char *dir, int create,
                                sm_datadir_credentials *out, sm_error *err)
{
    char path[4096];
    path_of(dir, "credentials.json", path, sizeof path);
    *out = (sm_datadir_credentials){0};
    if (access(path, F_OK) != 0 && create && credentials_create(dir, err))
        return -1;
    json_error_t jerr;
    json_t *obj = json_load_file(path, 0, &jerr);
    if (!obj)
        return sm_error_set(err, "cannot read %s: %s", path, jerr.text);
    int rc = copy_field(obj, "AccessKeyId", out->access_key,
                        sizeof out->access_key, NULL) ||
             copy_field(obj, "SecretAccessKey", out->secret_key,
                        sizeof out->secret_key, NULL) ||
             copy_field(obj, "AccountId", out->account_id,
                        sizeof out->account_id, SM_DATADIR_ACCOUNT) ||
             copy_field(obj, "Region", out->region, sizeof out->region,
                        SM_DATADIR_REGION);
    json_decref(obj);
    if (rc) {
        sm_datadir_credentials_wipe(out);
        return sm_error_set(err, "%s lacks AccessKeyId or SecretAccessKey",
                            path);
    }
    return 0;
}

void sm_datadir_credentials_wipe(sm_datadir_credentials *self)
{
    sodium_memzero(self, sizeof *self);
}

int sm_datadir_service_write(const char *dir, const sm_datadir_service *svc,
                             sm_error *err)
{
    json_t *obj =
        json_pack("{s:I, s:s, s:i, s:s, s:s}", "pid", (json_int_t)svc->pid,
                  "host", svc->host, "port", svc->port, "endpoint_url",
                  svc->endpoint_url, "data_dir", dir);
    char *text = obj ? json_dumps(obj, JSON_INDENT(2)) : NULL;
    json_decref(obj);
    int rc = text ? write_atomic(dir, "service.json", text, 0600, err)
                  : sm_error_set(err, "out of memory");
    free(text);
    return rc;
}

int sm_datadir_service_read(const char *dir, sm_datadir_service *out,
                            sm_error *err)
{
    char path[4096];
    path_of(dir, "service.json", path, sizeof path);
    *out = (sm_datadir_service){0};
    if (access(path, F_OK) != 0)
        return 1;
    json_error_t jerr;
    json_t *obj = json_load_file(path, 0, &jerr);
    if (!obj)
        return sm_error_set(err, "cannot read %s: %s", path, jerr.text);
    out->pid = (long)json_integer_value(json_object_get(obj, "pid"));
    out->port = (int)json_integer_value(json_object_get(obj, "port"));
    int rc = copy_field(obj, "host", out->host, sizeof out->host, NULL) ||
             copy_field(obj, "endpoint_url", out->endpoint_url,
                        sizeof out->endpoint_url, NULL);
    json_decref(obj);
    if (rc || out->pid <= 1 || out->port <= 0)
        return sm_error_set(err, "%s is not a service file", path);
    return 0;
}

void sm_datadir_service_remove(const char *dir)
{
    char path[4096];
    path_of(dir, "service.json", path, sizeof path);
    unlink(path);
}
