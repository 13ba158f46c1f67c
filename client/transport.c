/* transport: an easy handle per exchange on a shared connection cache (CURLSH,
 * locked with one mutex per kind of shared data); a progress callback
 * makes the read timeout "no byte moved for this long" and lets the
 * caller stop an exchange. libcurl itself is opened with dlopen on first
 * use, so a process that never sends a request never maps it (nor the
 * twenty libraries it pulls in); <curl/curl.h> gives only types and
 * constants here, every call goes through the table `libcurl`. */
#include "transport.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_READ_MS 70000
/* kept open: as many as an S3 transfer's parts in flight */
#define DEFAULT_CONNECTIONS 16
#define MAX_HEADERS 256
#define LIBCURL_SONAME "libcurl.so.4"
#define LIBCURL_OLDEST 0x075500 /* 7.85.0: CURLOPT_PROTOCOLS_STR */

/* ---- libcurl, loaded on first use ---------------------------------------- */

/* The libcurl functions the transport calls. The variadic ones keep their
 * variadic type, so each argument is passed as libcurl reads it. */
typedef struct curl_api {
    curl_version_info_data *(*version_info)(CURLversion stamp);
    CURLcode (*global_init)(long flags);
    const char *(*easy_strerror)(CURLcode code);
    CURLSH *(*share_init)(void);
    CURLSHcode (*share_setopt)(CURLSH *share, CURLSHoption option, ...);
    CURLSHcode (*share_cleanup)(CURLSH *share);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *curl);
    struct curl_slist *(*slist_append)(struct curl_slist *list,
                                       const char *line);
    void (*slist_free_all)(struct curl_slist *list);
} curl_api;

/* Which symbol fills which member of curl_api. */
static const struct curl_symbol {
    const char *name;
    size_t offset;
} curl_symbols[] = {
    {"curl_version_info", offsetof(curl_api, version_info)},
    {"curl_global_init", offsetof(curl_api, global_init)},
    {"curl_easy_strerror", offsetof(curl_api, easy_strerror)},
    {"curl_share_init", offsetof(curl_api, share_init)},
    {"curl_share_setopt", offsetof(curl_api, share_setopt)},
    {"curl_share_cleanup", offsetof(curl_api, share_cleanup)},
    {"curl_easy_init", offsetof(curl_api, easy_init)},
    {"curl_easy_setopt", offsetof(curl_api, easy_setopt)},
    {"curl_easy_perform", offsetof(curl_api, easy_perform)},
    {"curl_easy_getinfo", offsetof(curl_api, easy_getinfo)},
    {"curl_easy_cleanup", offsetof(curl_api, easy_cleanup)},
    {"curl_slist_append", offsetof(curl_api, slist_append)},
    {"curl_slist_free_all", offsetof(curl_api, slist_free_all)},
};

/* POSIX makes a function pointer fit in a void * (dlsym depends on it). */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "dlsym needs function pointers the size of void *");

/* Written once under libcurl_once, read-only afterwards. */
static curl_api libcurl;
static pthread_once_t libcurl_once = PTHREAD_ONCE_INIT;
static char libcurl_error[512]; /* "" when libcurl is loaded and started */

static void libcurl_load(void)
{
    const char *soname = getenv("SAGEMAGIC_LIBCURL");
    if (!soname || !*soname)
        soname = LIBCURL_SONAME;
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(libcurl_error, sizeof libcurl_error,
                 "cannot load libcurl (libcurl4): %s", dlerror());
        return;
    }
    for (size_t i = 0; i < sizeof curl_symbols / sizeof curl_symbols[0]; i++) {
        void *fn = dlsym(lib, curl_symbols[i].name);
        if (!fn) {
            snprintf(libcurl_error, sizeof libcurl_error,
                     "cannot load libcurl (libcurl4): %s has no %s", soname,
                     curl_symbols[i].name);
            return; /* the library stays open: it is only this much */
        }
        memcpy((char *)&libcurl + curl_symbols[i].offset, &fn, sizeof fn);
    }
    /* An older one would ignore options we rely on, such as the limit to
     * http and https, without a word. */
    const curl_version_info_data *v = libcurl.version_info(CURLVERSION_NOW);
    if (!v || v->version_num < LIBCURL_OLDEST) {
        snprintf(libcurl_error, sizeof libcurl_error,
                 "cannot load libcurl (libcurl4): %s is version %s; 7.85.0 "
                 "or later is needed",
                 soname, v && v->version ? v->version : "unknown");
        return;
    }
    CURLcode rc = libcurl.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        snprintf(libcurl_error, sizeof libcurl_error,
                 "libcurl did not start: %s", libcurl.easy_strerror(rc));
}

/* Load libcurl once per process; 0, or -1 with `err` saying why not. */
static int libcurl_ready(sm_error *err)
{
    pthread_once(&libcurl_once, libcurl_load);
    return libcurl_error[0] ? sm_error_set(err, "%s", libcurl_error) : 0;
}

struct sm_transport {
    pthread_mutex_t start_lock; /* guards creating `share` */
    CURLSH *share;              /* NULL until the first exchange */
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    int max_connections;
};

/* One exchange in flight. */
typedef struct transfer {
    const sm_transport_request *req;
    sm_transport_response *resp;
    CURL *curl;
    size_t sent; /* memory body: bytes handed to curl */
    FILE *in;    /* file body */
    uint64_t in_left;
    FILE *out; /* response_file: the temporary file */
    char *tmp_path;
    uint64_t written; /* 2xx body bytes written to the file or fd */
    int local_error;  /* reading the body or writing the file failed */
    int local_errno;  /* and why */
    int too_long;     /* the body went past response_max */
    int interrupted;  /* the progress callback said stop */
    long read_timeout_ms;
    curl_off_t last_dl, last_ul;
    long long last_activity_ms;
    int idle_timed_out;
} transfer;

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the shared cache ---------------------------------------------------- */

static void share_lock(CURL *handle, curl_lock_data data,
                       curl_lock_access access, void *ctx)
{
    sm_transport *self = ctx;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&self->locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *ctx)
{
    sm_transport *self = ctx;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&self->locks[data]);
}

sm_transport *sm_transport_new(int max_connections, sm_error *err)
{
    sm_transport *self = calloc(1, sizeof *self);
    if (!self) {
        sm_error_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->start_lock, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&self->locks[i], NULL);
    self->max_connections =
        max_connections > 0 ? max_connections : DEFAULT_CONNECTIONS;
    return self;
}

/* The shared cache, made on the first exchange (after libcurl is loaded). */
static int transport_start(sm_transport *self, sm_error *err)
{
    if (libcurl_ready(err))
        return -1;
    pthread_mutex_lock(&self->start_lock);
    if (!self->share && (self->share = libcurl.share_init()) != NULL) {
        libcurl.share_setopt(self->share, CURLSHOPT_LOCKFUNC, share_lock);
        libcurl.share_setopt(self->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        libcurl.share_setopt(self->share, CURLSHOPT_USERDATA, self);
        libcurl.share_setopt(self->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        libcurl.share_setopt(self->share, CURLSHOPT_SHARE,
                             CURL_LOCK_DATA_CONNECT);
        libcurl.share_setopt(self->share, CURLSHOPT_SHARE,
                             CURL_LOCK_DATA_SSL_SESSION);
    }
    int rc = self->share ? 0 : sm_error_set(err, "out of memory");
    pthread_mutex_unlock(&self->start_lock);
    return rc;
}

void sm_transport_destroy(sm_transport **self)
{
    if (!self || !*self)
        return;
    if ((*self)->share)
        libcurl.share_cleanup((*self)->share);
    pthread_mutex_destroy(&(*self)->start_lock);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&(*self)->locks[i]);
    free(*self);
    *self = NULL;
}

/* ---- callbacks ------------------------------------------------------------
 */

static size_t on_read(char *dst, size_t size, size_t nmemb, void *ctx)
{
    transfer *t = ctx;
    size_t room = size * nmemb;
    if (t->in) {
        size_t want = t->in_left < room ? (size_t)t->in_left : room;
        size_t got = want ? fread(dst, 1, want, t->in) : 0;
        if (got < want) {
            t->local_error = 1;
            return CURL_READFUNC_ABORT;
        }
        t->in_left -= got;
        return got;
    }
    size_t left = t->req->body_len - t->sent;
    size_t n = left < room ? left : room;
    if (n)
        memcpy(dst, (const char *)t->req->body + t->sent, n);
    t->sent += n;
    return n;
}

static int on_seek(void *ctx, curl_off_t offset, int origin)
{
    transfer *t = ctx;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > t->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    if (t->in) {
        if (fseeko(t->in, (off_t)(t->req->body_offset + (uint64_t)offset),
                   SEEK_SET))
            return CURL_SEEKFUNC_FAIL;
        t->in_left = t->req->body_len - (uint64_t)offset;
    } else {
        t->sent = (size_t)offset;
    }
    return CURL_SEEKFUNC_OK;
}

static void fields_clear(sm_transport_response *resp)
{
    for (size_t i = 0; i < resp->header_count; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
    resp->headers = NULL;
    resp->header_count = 0;
}

/* Trim blanks and the line end off s[0, *n). */
static const char *trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t'))
        s++, (*n)--;
    while (*n && strchr(" \t\r\n", s[*n - 1]))
        (*n)--;
    return s;
}

static int field_add(sm_transport_response *resp, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line || resp->header_count == MAX_HEADERS)
        return 0;
    size_t name_len = (size_t)(colon - line), value_len = n - name_len - 1;
    const char *value = trim(colon + 1, &value_len);
    sm_transport_field *more =
        realloc(resp->headers, (resp->header_count + 1) * sizeof *more);
    if (!more)
        return -1;
    resp->headers = more;
    sm_transport_field *f = &resp->headers[resp->header_count];
    f->name = strndup(line, name_len);
    f->value = strndup(value, value_len);
    if (!f->name || !f->value) {
        free(f->name);
        free(f->value);
        return -1;
    }
    for (char *c = f->name; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    resp->header_count++;
    return 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ctx)
{
    transfer *t = ctx;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        fields_clear(t->resp); /* a new response: 100 Continue came first */
        return n;
    }
    if (n && (line[0] == ' ' || line[0] == '\t') && t->resp->header_count) {
        /* An obsolete folded line: more of the value above. */
        sm_transport_field *f = &t->resp->headers[t->resp->header_count - 1];
        size_t len = n, old = strlen(f->value);
        const char *more = trim(line, &len);
        char *joined = realloc(f->value, old + len + 2);
        if (!joined)
            return 0;
        joined[old] = ' ';
        memcpy(joined + old + 1, more, len);
        joined[old + 1 + len] = '\0';
        f->value = joined;
        return n;
    }
    return field_add(t->resp, line, n) ? 0 : n;
}

static int status_2xx(CURL *curl)
{
    long status = 0;
    libcurl.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status >= 200 && status < 300;
}

/* The temporary file next to response_file. */
static int out_open(transfer *t)
{
    const char *path = t->req->response_file;
    size_t n = strlen(path) + sizeof ".sagemagic-XXXXXX";
    t->tmp_path = malloc(n);
    if (!t->tmp_path)
        return -1;
    snprintf(t->tmp_path, n, "%s.sagemagic-XXXXXX", path);
    int fd = mkstemp(t->tmp_path);
    if (fd >= 0 && !(t->out = fdopen(fd, "wb")))
        close(fd);
    if (!t->out) {
        if (fd >= 0)
            unlink(t->tmp_path);
        free(t->tmp_path);
        t->tmp_path = NULL;
        return -1;
    }
    return 0;
}

/* Write a 2xx body chunk at its place in response_fd. */
static int fd_write(transfer *t, const char *data, size_t n)
{
    const sm_transport_request *req = t->req;
    if (req->response_max && n > req->response_max - t->written) {
        t->too_long = 1;
        return -1;
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(req->response_fd, data + done, n - done,
                           (off_t)(req->response_offset + t->written));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            t->local_error = 1;
            t->local_errno = w < 0 ? errno : EIO;
            return -1;
        }
        done += (size_t)w;
        t->written += (uint64_t)w;
    }
    return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    transfer *t = ctx;
    size_t n = size * nmemb;
    const sm_transport_request *req = t->req;
    int to_file = req->response_file || req->response_fd > 0;
    if (!to_file || !status_2xx(t->curl))
        return sm_buf_append(&t->resp->body, data, n) ? 0 : n;
    if (!req->response_file)
        return fd_write(t, data, n) ? 0 : n;
    if (!t->out && out_open(t)) {
        t->local_error = 1;
        t->local_errno = errno;
        return 0;
    }
    if (fwrite(data, 1, n, t->out) != n) {
        t->local_error = 1;
        t->local_errno = errno;
        return 0;
    }
    t->written += n;
    return n;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    transfer *t = ctx;
    const sm_transport_request *req = t->req;
    if (req->progress &&
        req->progress(req->progress_ctx, ulnow > 0 ? (uint64_t)ulnow : 0,
                      dlnow > 0 ? (uint64_t)dlnow : 0)) {
        t->interrupted = 1;
        return 1;
    }
    long long now = monotonic_ms();
    if (dlnow != t->last_dl || ulnow != t->last_ul) {
        t->last_dl = dlnow;
        t->last_ul = ulnow;
        t->last_activity_ms = now;
        return 0;
    }
    if (now - t->last_activity_ms > t->read_timeout_ms) {
        t->idle_timed_out = 1;
        return 1;
    }
    return 0;
}

/* ---- one exchange -----------------------------------------------------------
 */

static int open_body_file(transfer *t, sm_error *err)
{
    const sm_transport_request *req = t->req;
    struct stat st;
    t->in = fopen(req->body_file, "rb");
    if (!t->in || fstat(fileno(t->in), &st) != 0)
        return sm_error_set(err, "cannot read %s: %s", req->body_file,
                            strerror(errno));
    if ((uint64_t)st.st_size < req->body_offset ||
        (uint64_t)st.st_size - req->body_offset < req->body_len)
        return sm_error_set(err, "%s is shorter than the part to send",
                            req->body_file);
    if (fseeko(t->in, (off_t)req->body_offset, SEEK_SET))
        return sm_error_set(err, "cannot seek in %s: %s", req->body_file,
                            strerror(errno));
    t->in_left = req->body_len;
    return 0;
}

/* The header lines carry the session token: wipe them as they go. */
static void headers_free(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l; l = l->next)
        sodium_memzero(l->data, strlen(l->data));
    libcurl.slist_free_all(list);
}

static struct curl_slist *header_list(const sm_transport_request *req,
                                      sm_error *err)
{
    struct curl_slist *list = NULL, *next;
    sm_buf line = {0};
    int rc = 0;
    for (size_t i = 0; !rc && i < req->header_count; i++) {
        const sm_transport_header *h = &req->headers[i];
        if (strpbrk(h->name, "\r\n:") || strpbrk(h->value, "\r\n")) {
            rc = sm_error_set(err, "header %.64s holds a line break", h->name);
            break;
        }
        line.len = 0;
        rc = *h->value ? sm_buf_printf(&line, "%s: %s", h->name, h->value)
                       : sm_buf_printf(&line, "%s;", h->name);
        next = rc ? NULL : libcurl.slist_append(list, sm_buf_str(&line));
        if (!next)
            rc = sm_error_set(err, "out of memory");
        list = next ? next : list;
    }
    /* No "Expect: 100-continue" round trip before a body. */
    next = rc ? NULL : libcurl.slist_append(list, "Expect:");
    if (!rc && !next)
        rc = sm_error_set(err, "out of memory");
    list = next ? next : list;
    if (line.data)
        sodium_memzero(line.data, line.len);
    sm_buf_free(&line);
    if (rc) {
        headers_free(list);
        return NULL;
    }
    return list;
}

static void set_method(transfer *t)
{
    const sm_transport_request *req = t->req;
    CURL *c = t->curl;
    int has_body = req->body_len > 0 || req->body_file;
    if (strcmp(req->method, "HEAD") == 0) {
        libcurl.easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") == 0 && !has_body) {
        libcurl.easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "DELETE") == 0 && !has_body) {
        libcurl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        libcurl.easy_setopt(c, CURLOPT_UPLOAD, 1L);
        libcurl.easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                            (curl_off_t)req->body_len);
        libcurl.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        libcurl.easy_setopt(c, CURLOPT_READDATA, t);
        libcurl.easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        libcurl.easy_setopt(c, CURLOPT_SEEKDATA, t);
        if (strcmp(req->method, "PUT") != 0)
            libcurl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

static void set_options(sm_transport *self, transfer *t,
                        struct curl_slist *hdrs, char *errbuf)
{
    const sm_transport_request *req = t->req;
    CURL *c = t->curl;
    const char *ca = getenv("AWS_CA_BUNDLE");
    libcurl.easy_setopt(c, CURLOPT_URL, req->url);
    /* The path as signed: "/./", "/../" and "//" in S3 keys stay. */
    libcurl.easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    libcurl.easy_setopt(c, CURLOPT_SHARE, self->share);
    libcurl.easy_setopt(c, CURLOPT_MAXCONNECTS, (long)self->max_connections);
    libcurl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    libcurl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    libcurl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    libcurl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca && *ca)
        libcurl.easy_setopt(c, CURLOPT_CAINFO, ca);
    libcurl.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    libcurl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                        req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                                    : DEFAULT_CONNECT_MS);
    libcurl.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    libcurl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    libcurl.easy_setopt(c, CURLOPT_HEADERDATA, t);
    libcurl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    libcurl.easy_setopt(c, CURLOPT_WRITEDATA, t);
    libcurl.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    libcurl.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    libcurl.easy_setopt(c, CURLOPT_XFERINFODATA, t);
    libcurl.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    libcurl.easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    libcurl.easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
    set_method(t);
}

/* Which sm_transport_result a curl failure is. */
static sm_transport_result classify(const transfer *t, CURLcode rc)
{
    if (t->interrupted)
        return SM_TRANSPORT_EINTERRUPTED;
    if (t->idle_timed_out || rc == CURLE_OPERATION_TIMEDOUT)
        return SM_TRANSPORT_ETIMEOUT;
    if (t->local_error || t->too_long)
        return SM_TRANSPORT_EFATAL;
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_READ_ERROR:
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
        return SM_TRANSPORT_EFATAL;
    default:
        return SM_TRANSPORT_ECONNECT;
    }
}

static sm_transport_result failure(const transfer *t, CURLcode rc,
                                   const char *errbuf, sm_error *err)
{
    const sm_transport_request *req = t->req;
    sm_transport_result kind = classify(t, rc);
    const char *why = *errbuf ? errbuf : libcurl.easy_strerror(rc);
    if (t->interrupted)
        sm_error_set(err, "%s %s: stopped by the caller", req->method,
                     req->url);
    else if (t->idle_timed_out)
        sm_error_set(err, "%s %s: no data for %ld ms (read timeout)",
                     req->method, req->url, t->read_timeout_ms);
    else if (t->too_long)
        sm_error_set(err,
                     "%s %s: the response is longer than the %llu bytes "
                     "asked for",
                     req->method, req->url,
                     (unsigned long long)req->response_max);
    else if (t->local_error && req->response_file && !t->in)
        sm_error_set(err, "cannot write %s: %s", req->response_file,
                     strerror(t->local_errno));
    else if (t->local_error && req->response_fd > 0 && !t->in)
        sm_error_set(err, "cannot write the response into its file: %s",
                     strerror(t->local_errno));
    else if (t->local_error)
        sm_error_set(err, "cannot read %s", req->body_file);
    else
        sm_error_set(err, "%s %s: %s", req->method, req->url, why);
    return kind;
}

/* Put the finished response file in place, or remove what was written. */
static int out_finish(transfer *t, int keep, sm_error *err)
{
    int rc = 0;
    if (keep && !t->out && out_open(t))
        rc = sm_error_set(err, "cannot create a file next to %s: %s",
                          t->req->response_file, strerror(errno));
    if (t->out && fclose(t->out) != 0 && keep)
        rc = sm_error_set(err, "cannot write %s: %s", t->req->response_file,
                          strerror(errno));
    t->out = NULL;
    if (!rc && keep && t->tmp_path &&
        rename(t->tmp_path, t->req->response_file) != 0)
        rc = sm_error_set(err, "cannot rename onto %s: %s",
                          t->req->response_file, strerror(errno));
    if (t->tmp_path && (rc || !keep))
        unlink(t->tmp_path);
    free(t->tmp_path);
    t->tmp_path = NULL;
    return rc;
}

sm_transport_result sm_transport_send(sm_transport *self,
                                      const sm_transport_request *req,
                                      sm_transport_response *resp,
                                      sm_error *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    transfer t = {.req = req, .resp = resp};
    sm_transport_result result = SM_TRANSPORT_EFATAL;
    struct curl_slist *hdrs = NULL;
    memset(resp, 0, sizeof *resp);
    if (transport_start(self, err))
        goto out;
    t.read_timeout_ms =
        req->read_timeout_ms > 0 ? req->read_timeout_ms : DEFAULT_READ_MS;
    t.last_activity_ms = monotonic_ms();
    if (req->body_file && open_body_file(&t, err))
        goto out;
    if (!(hdrs = header_list(req, err)))
        goto out;
    if (!(t.curl = libcurl.easy_init())) {
        sm_error_set(err, "out of memory");
        goto out;
    }
    set_options(self, &t, hdrs, errbuf);
    CURLcode rc = libcurl.easy_perform(t.curl);
    if (rc != CURLE_OK) {
        result = failure(&t, rc, errbuf, err);
        goto out;
    }
    libcurl.easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &resp->status);
    int keep = req->response_file && resp->status >= 200 && resp->status < 300;
    if (req->response_file && out_finish(&t, keep, err))
        goto out;
    resp->body_written = t.written;
    result = SM_TRANSPORT_OK;
out:
    if (t.tmp_path || t.out)
        out_finish(&t, 0, NULL);
    if (t.in)
        fclose(t.in);
    if (hdrs)
        headers_free(hdrs);
    if (t.curl)
        libcurl.easy_cleanup(t.curl);
    if (result != SM_TRANSPORT_OK)
        sm_transport_response_clear(resp);
    return result;
}

const char *sm_transport_response_header(const sm_transport_response *resp,
                                         const char *name)
{
    for (size_t i = 0; resp && i < resp->header_count; i++) {
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    }
    return NULL;
}

void sm_transport_response_clear(sm_transport_response *resp)
{
    if (!resp)
        return;
    fields_clear(resp);
    sm_buf_free(&resp->body);
    resp->status = 0;
    resp->body_written = 0;
}
