/* http: plain containers; all parsing of the wire is the server's. */
#include "http.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "uri.h"

/* Add a copy of name and value: one allocation holds both (the value
 * after the name's NUL), and the array grows by doubling, its capacity
 * being the next power of two from 8 up, so a request's headers cost a
 * few allocations rather than three each. */
static int pair_add(sm_http_pair **items, size_t *count, const char *name,
                    size_t name_len, const char *value, size_t value_len)
{
    size_t n = *count;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        sm_http_pair *grown = realloc(*items, (n ? 2 * n : 8) * sizeof **items);
        if (!grown)
            return -1;
        *items = grown;
    }
    char *text = malloc(name_len + value_len + 2);
    if (!text)
        return -1;
    memcpy(text, name, name_len);
    text[name_len] = '\0';
    memcpy(text + name_len + 1, value, value_len);
    text[name_len + 1 + value_len] = '\0';
    (*items)[n] = (sm_http_pair){text, text + name_len + 1};
    (*count)++;
    return 0;
}

static void pairs_free(sm_http_pair **items, size_t *count)
{
    for (size_t i = 0; i < *count; i++)
        free((*items)[i].name); /* the value shares its allocation */
    free(*items);
    *items = NULL;
    *count = 0;
}

const char *sm_http_header(const sm_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}

const char *sm_http_param(const sm_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->param_count; i++) {
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    }
    return NULL;
}

/* One "name=value" piece of the query, decoded; a NUL decoded into a
 * name or value ends it there (no S3 parameter holds one). */
static int param_add(sm_http_request *req, const char *piece, size_t n)
{
    const char *eq = memchr(piece, '=', n);
    size_t name_n = eq ? (size_t)(eq - piece) : n;
    size_t name_len, value_len;
    char *name = sm_uri_decode(piece, name_n, &name_len);
    char *value = eq ? sm_uri_decode(eq + 1, n - name_n - 1, &value_len)
                     : sm_uri_decode("", 0, &value_len);
    int rc = name && value ? 0 : -1;
    if (!rc)
        rc = pair_add(&req->params, &req->param_count, name, strlen(name),
                      value, strlen(value));
    free(name);
    free(value);
    return rc;
}

int sm_http_request_set_target(sm_http_request *req, const char *target)
{
    const char *q = strchr(target, '?');
    size_t path_len = q ? (size_t)(q - target) : strlen(target);
    free(req->path);
    free(req->query);
    pairs_free(&req->params, &req->param_count);
    req->path = strndup(target, path_len);
    req->query = strdup(q ? q + 1 : "");
    if (!req->path || !req->query)
        return -1;
    for (const char *p = req->query; *p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n && param_add(req, p, n))
            return -1;
        p += n + (amp ? 1 : 0);
    }
    return 0;
}

int sm_http_request_add_header(sm_http_request *req, const char *name,
                               const char *value)
{
    return pair_add(&req->headers, &req->header_count, name, strlen(name),
                    value, strlen(value));
}

void sm_http_request_clear(sm_http_request *req)
{
    free(req->method);
    free(req->path);
    free(req->query);
    pairs_free(&req->headers, &req->header_count);
    pairs_free(&req->params, &req->param_count);
    *req = (sm_http_request){0};
}

int sm_http_response_header(sm_http_response *resp, const char *name,
                            const char *value)
{
    return pair_add(&resp->headers, &resp->header_count, name, strlen(name),
                    value, strlen(value));
}

int sm_http_response_headerf(sm_http_response *resp, const char *name,
                             const char *fmt, ...)
{
    char value[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof value)
        return -1;
    return sm_http_response_header(resp, name, value);
}

const char *sm_http_response_get(const sm_http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->header_count; i++) {
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    }
    return NULL;
}

void sm_http_response_clear(sm_http_response *resp)
{
    pairs_free(&resp->headers, &resp->header_count);
    sm_buf_free(&resp->body);
    sm_store_reader_close(&resp->reader);
    *resp = (sm_http_response){0};
}

int sm_http_fail(sm_http_error *err, int status, const char *code,
                 const char *fmt, ...)
{
    if (!err || err->status)
        return -1;
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->extra_count = 0;
    return -1;
}

void sm_http_error_extra(sm_http_error *err, const char *name, const char *fmt,
                         ...)
{
    if (!err || err->extra_count == SM_HTTP_ERROR_EXTRAS)
        return;
    size_t i = err->extra_count++;
    snprintf(err->extra[i].name, sizeof err->extra[i].name, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->extra[i].value, sizeof err->extra[i].value, fmt, ap);
    va_end(ap);
}

/* Request ids need to be unique, not secret: a per-thread xorshift64*
 * stream seeded once from the system, rather than a getrandom call on
 * every request. */
void sm_http_request_id(char out[40])
{
    static const char digits[] = "0123456789ABCDEF";
    static _Thread_local uint64_t state;
    while (!state)
        randombytes_buf(&state, sizeof state);
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    uint64_t v = state * 0x2545F4914F6CDD1DULL;
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = digits[v & 15];
    out[16] = '\0';
}
