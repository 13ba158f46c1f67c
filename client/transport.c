/* transport: an easy handle per exchange on a shared connection cache (CURLSH,
 * locked with one mutex per kind of shared data); a progress callback
 * makes the read timeout "no byte moved for this long". */
#include "transport.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_READ_MS 70000
#define DEFAULT_CONNECTIONS 8
#define MAX_HEADERS 256

struct sm_transport {
    CURLSH *share;
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
    int local_error; /* reading the body or writing the file failed */
    long read_timeout_ms;
    curl_off_t last_dl, last_ul;
    long long last_activity_ms;
    int idle_timed_out;
} transfer;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

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
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        sm_error_set(err, "libcurl did not start: %s",
                     curl_easy_strerror(global_rc));
        return NULL;
    }
    sm_transport *self = calloc(1, sizeof *self);
    if (!self || !(self->share = curl_share_init())) {
        free(self);
        sm_error_set(err, "out of memory");
        return NULL;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&self->locks[i], NULL);
    self->max_connections =
        max_connections > 0 ? max_connections : DEFAULT_CONNECTIONS;
    curl_share_setopt(self->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(self->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(self->share, CURLSHOPT_USERDATA, self);
    curl_share_setopt(self->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(self->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(self->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return self;
}

void sm_transport_destroy(sm_transport **self)
{
    if (!self || !*self)
        return;
    curl_share_cleanup((*self)->share);
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
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
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

static size_t on_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    transfer *t = ctx;
    size_t n = size * nmemb;
    if (t->req->response_file && status_2xx(t->curl)) {
        if (!t->out && out_open(t)) {
            t->local_error = 1;
            return 0;
        }
        if (fwrite(data, 1, n, t->out) != n) {
            t->local_error = 1;
            return 0;
        }
        return n;
    }
    return sm_buf_append(&t->resp->body, data, n) ? 0 : n;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    transfer *t = ctx;
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
    curl_slist_free_all(list);
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
        next = rc ? NULL : curl_slist_append(list, sm_buf_str(&line));
        if (!next)
            rc = sm_error_set(err, "out of memory");
        list = next ? next : list;
    }
    /* No "Expect: 100-continue" round trip before a body. */
    next = rc ? NULL : curl_slist_append(list, "Expect:");
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
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") == 0 && !has_body) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "DELETE") == 0 && !has_body) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)req->body_len);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, t);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
        if (strcmp(req->method, "PUT") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

static void set_options(sm_transport *self, transfer *t,
                        struct curl_slist *hdrs, char *errbuf)
{
    const sm_transport_request *req = t->req;
    CURL *c = t->curl;
    const char *ca = getenv("AWS_CA_BUNDLE");
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_SHARE, self->share);
    curl_easy_setopt(c, CURLOPT_MAXCONNECTS, (long)self->max_connections);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca && *ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                                 : DEFAULT_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
    set_method(t);
}

/* Which sm_transport_result a curl failure is. */
static sm_transport_result classify(const transfer *t, CURLcode rc)
{
    if (t->idle_timed_out || rc == CURLE_OPERATION_TIMEDOUT)
        return SM_TRANSPORT_ETIMEOUT;
    if (t->local_error)
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
    sm_transport_result kind = classify(t, rc);
    const char *why = *errbuf ? errbuf : curl_easy_strerror(rc);
    if (t->idle_timed_out)
        sm_error_set(err, "%s %s: no data for %ld ms (read timeout)",
                     t->req->method, t->req->url, t->read_timeout_ms);
    else if (t->local_error && t->req->response_file && !t->in)
        sm_error_set(err, "cannot write %s: %s", t->req->response_file,
                     strerror(errno));
    else if (t->local_error)
        sm_error_set(err, "cannot read %s", t->req->body_file);
    else
        sm_error_set(err, "%s %s: %s", t->req->method, t->req->url, why);
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
    t.read_timeout_ms =
        req->read_timeout_ms > 0 ? req->read_timeout_ms : DEFAULT_READ_MS;
    t.last_activity_ms = monotonic_ms();
    if (req->body_file && open_body_file(&t, err))
        goto out;
    if (!(hdrs = header_list(req, err)))
        goto out;
    if (!(t.curl = curl_easy_init())) {
        sm_error_set(err, "out of memory");
        goto out;
    }
    set_options(self, &t, hdrs, errbuf);
    CURLcode rc = curl_easy_perform(t.curl);
    if (rc != CURLE_OK) {
        result = failure(&t, rc, errbuf, err);
        goto out;
    }
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &resp->status);
    int keep = req->response_file && resp->status >= 200 && resp->status < 300;
    if (req->response_file && out_finish(&t, keep, err))
        goto out;
    result = SM_TRANSPORT_OK;
out:
    if (t.tmp_path || t.out)
        out_finish(&t, 0, NULL);
    if (t.in)
        fclose(t.in);
    headers_free(hdrs);
    if (t.curl)
        curl_easy_cleanup(t.curl);
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
}
