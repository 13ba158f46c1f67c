/* sigv4: AWS Signature Version 4, built as a pipeline of small steps. */
#include "sigv4.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uri.h"

#define SCOPE_TERMINATOR "aws4_request"

/* Never signed: hop-by-hop headers a proxy may change, headers libcurl
 * adds or rewrites (Expect, User-Agent), and tracing headers that
 * middleboxes inject. The same list as botocore's, so a server verifying
 * its requests and our client agree. */
static const char *const unsigned_headers[] = {
    "baggage",    "connection",         "expect",
    "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te",         "traceparent",        "tracestate",
    "trailer",    "transfer-encoding",  "upgrade",
    "user-agent", "x-amzn-trace-id",
};

enum form {
    FORM_HEADER, /* sign for an Authorization header */
    FORM_QUERY,  /* presign: the signature goes into the query */
    FORM_VERIFY, /* recompute a received request's signature */
};

/* ---- a growing string --------------------------------------------------- */

/* After a failed allocation it stays failed and appends do nothing, so a
 * step checks once at its end. Storage is wiped when it moves or is freed:
 * canonical requests and queries can hold the session token. */
typedef struct strbuf {
    char *data;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_reserve(strbuf *self, size_t extra)
{
    if (self->failed || self->len + extra < self->cap)
        return;
    if (extra > ((size_t)-1) / 4 - self->len) {
        self->failed = 1;
        return;
    }
    size_t cap = self->cap ? self->cap : 128;
    while (cap <= self->len + extra)
        cap *= 2;
    char *data = malloc(cap);
    if (!data) {
        self->failed = 1;
        return;
    }
    if (self->data) {
        memcpy(data, self->data, self->len);
        sodium_memzero(self->data, self->cap);
        free(self->data);
    }
    self->data = data;
    self->cap = cap;
}

static void sb_add_n(strbuf *self, const char *s, size_t n)
{
    sb_reserve(self, n);
    if (self->failed)
        return;
    memcpy(self->data + self->len, s, n);
    self->len += n;
    self->data[self->len] = '\0';
}

static void sb_add(strbuf *self, const char *s)
{
    sb_add_n(self, s, strlen(s));
}

/* Append s[0..n) percent-encoded (see sm_uri_encode). */
static void sb_add_encoded(strbuf *self, const char *s, size_t n,
                           int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n && !self->failed; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sm_uri_unreserved(c) || (keep_slash && c == '/')) {
            sb_add_n(self, (const char *)&c, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_add_n(self, esc, 3);
        }
    }
}

static void sb_wipe(strbuf *self)
{
    if (self->data) {
        sodium_memzero(self->data, self->cap);
        free(self->data);
    }
    *self = (strbuf){0};
}

/* The string (new; "" when nothing was added), or NULL after a failed
 * allocation, in which case the buffer is wiped. */
static char *sb_take(strbuf *self)
{
    if (!self->failed && !self->data)
        sb_add_n(self, "", 0);
    if (self->failed) {
        sb_wipe(self);
        return NULL;
    }
    char *data = self->data;
    *self = (strbuf){0};
    return data;
}

static char *dup_n(const char *s, size_t n)
{
    char *copy = malloc(n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

static void free_wiped(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

/* ---- time --------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (the
 * well-known era arithmetic; no libc time zone machinery involved). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

/* Write `v` as `n` decimal digits at `out`, zero-padded. */
static void put_digits(char *out, long long v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

int sm_sigv4_format_time(time_t t, char out[17])
{
    /* 253402300800 is 10000-01-01T00:00:00Z. */
    if (t < 0 || (long long)t >= 253402300800LL)
        return -1;
    long long secs = (long long)t, y;
    unsigned m, d;
    civil_from_days(secs / 86400, &y, &m, &d);
    long long tod = secs % 86400;
    put_digits(out, y, 4);
    put_digits(out + 4, m, 2);
    put_digits(out + 6, d, 2);
    out[8] = 'T';
    put_digits(out + 9, tod / 3600, 2);
    put_digits(out + 11, tod / 60 % 60, 2);
    put_digits(out + 13, tod % 60, 2);
    out[15] = 'Z';
    out[16] = '\0';
    return 0;
}

/* Read `n` decimal digits at `s` into *out; -1 if any is not a digit. */
static int read_digits(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int sm_sigv4_parse_time(const char *s, time_t *out, sm_error *err)
{
    /* Offsets of year, month, day, hour, minute, second in each form. */
    static const int basic[] = {0, 4, 6, 9, 11, 13};
    static const int iso[] = {0, 5, 8, 11, 14, 17};
    size_t len = s ? strlen(s) : 0;
    const int *at = len == 16 ? basic : len == 20 ? iso : NULL;
    int ok = at && s[at[3] - 1] == 'T' && s[len - 1] == 'Z';
    if (ok && at == iso)
        ok = s[4] == '-' && s[7] == '-' && s[13] == ':' && s[16] == ':';
    unsigned v[6] = {0};
    for (int i = 0; ok && i < 6; i++)
        ok = read_digits(s + at[i], i ? 2 : 4, &v[i]) == 0;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
    ok = ok && v[0] >= 1970 && v[1] >= 1 && v[1] <= 12 && v[2] >= 1 &&
         v[2] <= mdays[v[1] - 1] && v[3] < 24 && v[4] < 60 && v[5] < 60;
    if (ok && v[1] == 2 && v[2] == 29)
        ok = v[0] % 4 == 0 && (v[0] % 100 != 0 || v[0] % 400 == 0);
    if (!ok)
        return sm_error_set(err, "'%s' is not a UTC time like 20150830T123600Z",
                            s ? s : "");
    long long days = days_from_civil(v[0], v[1], v[2]);
    *out = (time_t)(days * 86400 + v[3] * 3600LL + v[4] * 60LL + v[5]);
    return 0;
}

/* ---- hashing ------------------------------------------------------------ */

static void hex_encode(const unsigned char *bytes, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[crypto_hash_sha256_BYTES];
    if (crypto_hash_sha256(md, data ? data : (const void *)"", len) != 0)
        return -1;
    hex_encode(md, sizeof md, out);
    return 0;
}

/* libsodium's HMAC-SHA256 takes a key of any length (a long one is hashed
 * first, as RFC 2104 says); the state holds the key and is wiped. */
static int hmac_sha256(const void *key, size_t key_len, const char *msg,
                       unsigned char out[32])
{
    crypto_auth_hmacsha256_state st;
    int rc = crypto_auth_hmacsha256_init(&st, key, key_len) ||
                     crypto_auth_hmacsha256_update(
                         &st, (const unsigned char *)msg, strlen(msg)) ||
                     crypto_auth_hmacsha256_final(&st, out)
                 ? -1
                 : 0;
    sodium_memzero(&st, sizeof st);
    return rc;
}

/* ---- one signing in progress -------------------------------------------- */

/* What the steps share. Strings are new and freed by signing_free. */
typedef struct signing {
    const sm_sigv4_request *req;
    enum form form;
    const char *verify_headers; /* FORM_VERIFY: SignedHeaders received */
    const char *token;          /* session token, NULL when none */
    int sign_token;             /* the token is part of the signature */
    char date[9];               /* 20150830 */
    char *scope;                /* date/region/service/aws4_request */
    char *signed_headers;       /* host;x-amz-date */
    char *canonical_headers;    /* "name:value\n" lines */
    char *canonical_query;
    sm_sigv4_result *out;
    sm_error *err;
} signing;

static void signing_free(signing *s)
{
    free(s->scope);
    free(s->signed_headers);
    free_wiped(s->canonical_headers);
    free_wiped(s->canonical_query);
}

static int out_of_memory(signing *s)
{
    return sm_error_set(s->err, "out of memory while signing a request");
}

static int nonempty(const char *s)
{
    return s && *s;
}

/* Nonzero when `s` holds any of the bytes in `set`. */
static int has_any(const char *s, const char *set)
{
    return s && strpbrk(s, set) != NULL;
}

/* The caller's mistakes, each one sentence. Nothing may break the lines of
 * the canonical request or the fields of the credential scope. */
static int check_request(const sm_sigv4_request *req, sm_error *err)
{
    const sm_sigv4_credentials *c = &req->credentials;
    if (!nonempty(req->method) || has_any(req->method, " \t\r\n"))
        return sm_error_set(err, "the request has no method, or a bad one");
    if (!req->path || has_any(req->path, "\r\n"))
        return sm_error_set(err, "the request has no path, or a bad one");
    if (!nonempty(req->region) || !nonempty(req->service) ||
        has_any(req->region, "/ \t\r\n") || has_any(req->service, "/ \t\r\n"))
        return sm_error_set(err, "signing needs a region and a service "
                                 "without '/' or whitespace");
    if (!nonempty(c->access_key) || !nonempty(c->secret_key) ||
        has_any(c->access_key, "/, \t\r\n"))
        return sm_error_set(err, "signing needs an access key (without '/', "
                                 "',' or whitespace) and a secret key");
    if (req->body_len && !req->body)
        return sm_error_set(err, "the request has a length but no body");
    if (req->payload_hash &&
        (!*req->payload_hash || has_any(req->payload_hash, "\r\n")))
        return sm_error_set(err, "the payload hash is empty or has a "
                                 "line break");
    for (size_t i = 0; i < req->header_count; i++) {
        const sm_sigv4_header *h = &req->headers[i];
        if (!nonempty(h->name) || !h->value || has_any(h->name, " \t\r\n:"))
            return sm_error_set(err, "header %zu has a bad name or no value",
                                i + 1);
    }
    return 0;
}

/* Date, scope and payload hash: what every form needs first. */
static int signing_begin(signing *s)
{
    const sm_sigv4_request *req = s->req;
    sm_sigv4_result *out = s->out;
    if (check_request(req, s->err))
        return -1;
    if (sm_sigv4_format_time(req->time, out->amz_date))
        return sm_error_set(s->err, "the signing time is not between the "
                                    "years 1970 and 9999");
    memcpy(s->date, out->amz_date, 8);
    s->date[8] = '\0';
    const char *token = req->credentials.session_token;
    s->token = nonempty(token) ? token : NULL;
    s->sign_token = s->token && !req->options.omit_session_token;
    strbuf scope = {0};
    sb_add(&scope, s->date);
    sb_add(&scope, "/");
    sb_add(&scope, req->region);
    sb_add(&scope, "/");
    sb_add(&scope, req->service);
    sb_add(&scope, "/" SCOPE_TERMINATOR);
    s->scope = sb_take(&scope);
    char hash[65];
    if (req->payload_hash)
        out->payload_hash = dup_n(req->payload_hash, strlen(req->payload_hash));
    else if (sha256_hex(req->body, req->body_len, hash) == 0)
        out->payload_hash = dup_n(hash, 64);
    else
        return sm_error_set(s->err, "SHA-256 is not available");
    return s->scope && out->payload_hash ? 0 : out_of_memory(s);
}

/* ---- canonical headers -------------------------------------------------- */

typedef struct canon_header {
    char *name;   /* lower case */
    char *value;  /* trimmed, inner whitespace collapsed */
    size_t order; /* keeps repeated headers' values in request order */
} canon_header;

typedef struct header_list {
    canon_header *items;
    size_t count;
} header_list;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

/* New copy of `value` trimmed, with each run of whitespace (folded line
 * breaks included) made one space: SigV4's Trimall. */
static char *header_value_trim(const char *value)
{
    char *out = malloc(strlen(value) + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    int pending_space = 0;
    for (const char *p = value; *p; p++) {
        if (is_space(*p)) {
            pending_space = n > 0;
            continue;
        }
        if (pending_space)
            out[n++] = ' ';
        pending_space = 0;
        out[n++] = *p;
    }
    out[n] = '\0';
    return out;
}

static char *lower_dup(const char *s)
{
    char *out = dup_n(s, strlen(s));
    for (char *p = out; p && *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return out;
}

/* Append one header; `name` must already be lower case. -1 on no memory. */
static int header_list_add(header_list *self, const char *name,
                           const char *value)
{
    canon_header *items =
        realloc(self->items, (self->count + 1) * sizeof *items);
    if (!items)
        return -1;
    self->items = items;
    canon_header *h = &items[self->count];
    h->name = dup_n(name, strlen(name));
    h->value = header_value_trim(value);
    h->order = self->count;
    self->count++;
    return h->name && h->value ? 0 : -1;
}

static void header_list_free(header_list *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free(self->items[i].name);
        free_wiped(self->items[i].value);
    }
    free(self->items);
    *self = (header_list){0};
}

static int name_in_list(const char *name, const char *list, char sep)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p = end ? end + 1 : p + len;
    }
    return 0;
}

static int is_unsigned_header(const char *name)
{
    size_t n = sizeof unsigned_headers / sizeof unsigned_headers[0];
    for (size_t i = 0; i < n; i++) {
        if (strcmp(name, unsigned_headers[i]) == 0)
            return 1;
    }
    return 0;
}

/* Whether the caller's header `name` (lower case) is signed as given. */
static int header_taken(const signing *s, const char *name)
{
    if (s->form == FORM_VERIFY)
        return name_in_list(name, s->verify_headers, ';');
    if (is_unsigned_header(name) || strcmp(name, "authorization") == 0)
        return 0;
    if (s->form == FORM_QUERY)
        return 1;
    /* The header form sets these itself. */
    if (strcmp(name, "x-amz-date") == 0)
        return 0;
    if (s->token && strcmp(name, "x-amz-security-token") == 0)
        return 0;
    return !(s->req->options.sign_content_sha256 &&
             strcmp(name, "x-amz-content-sha256") == 0);
}

/* The headers the header form adds and signs. */
static int headers_add_own(signing *s, header_list *list)
{
    int rc = header_list_add(list, "x-amz-date", s->out->amz_date);
    if (!rc && s->sign_token)
        rc = header_list_add(list, "x-amz-security-token", s->token);
    if (!rc && s->req->options.sign_content_sha256)
        rc =
            header_list_add(list, "x-amz-content-sha256", s->out->payload_hash);
    return rc;
}

/* Every header to sign, in request order, into `list`. */
static int headers_collect(signing *s, header_list *list)
{
    const sm_sigv4_request *req = s->req;
    for (size_t i = 0; i < req->header_count; i++) {
        char *name = lower_dup(req->headers[i].name);
        int rc = name ? 0 : -1;
        if (!rc && header_taken(s, name))
            rc = header_list_add(list, name, req->headers[i].value);
        free(name);
        if (rc)
            return out_of_memory(s);
    }
    if (s->form == FORM_HEADER && headers_add_own(s, list))
        return out_of_memory(s);
    return 0;
}

/* Every name the request must carry: Host for signing, each signed name
 * for verifying. */
static int headers_check_present(signing *s, const header_list *list)
{
    const char *need = s->form == FORM_VERIFY ? s->verify_headers : "host";
    for (const char *p = need; *p;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int found = 0;
        for (size_t i = 0; i < list->count && !found; i++)
            found = strlen(list->items[i].name) == len &&
                    strncmp(list->items[i].name, p, len) == 0;
        if (!found)
            return sm_error_set(s->err,
                                "the signed header '%.*s' is not "
                                "in the request",
                                (int)len, p);
        p = end ? end + 1 : p + len;
    }
    return 0;
}

static int canon_header_cmp(const void *a, const void *b)
{
    const canon_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorted "name:v1,v2\n" lines and the "a;b;c" list of their names. */
static int headers_write(signing *s, header_list *list)
{
    strbuf lines = {0}, names = {0};
    if (list->count)
        qsort(list->items, list->count, sizeof *list->items, canon_header_cmp);
    for (size_t i = 0; i < list->count; i++) {
        const canon_header *h = &list->items[i];
        if (i > 0 && strcmp(h->name, list->items[i - 1].name) == 0) {
            sb_add(&lines, ",");
            sb_add(&lines, h->value);
            continue;
        }
        if (i > 0) {
            sb_add(&lines, "\n");
            sb_add(&names, ";");
        }
        sb_add(&lines, h->name);
        sb_add(&lines, ":");
        sb_add(&lines, h->value);
        sb_add(&names, h->name);
    }
    if (list->count)
        sb_add(&lines, "\n");
    s->canonical_headers = sb_take(&lines);
    s->signed_headers = sb_take(&names);
    return s->canonical_headers && s->signed_headers ? 0 : out_of_memory(s);
}

static int canonical_headers_make(signing *s)
{
    header_list list = {0};
    int rc = headers_collect(s, &list);
    if (!rc)
        rc = headers_check_present(s, &list);
    if (!rc)
        rc = headers_write(s, &list);
    header_list_free(&list);
    return rc;
}

/* ---- canonical query ---------------------------------------------------- */

typedef struct query_param {
    char *key;   /* percent-encoded, strict */
    char *value; /* percent-encoded, strict */
} query_param;

typedef struct query_list {
    query_param *items;
    size_t count;
} query_list;

/* Append a parameter from raw (decoded) bytes. -1 on no memory. */
static int query_list_add(query_list *self, const char *key, size_t key_len,
                          const char *value, size_t value_len)
{
    query_param *items =
        realloc(self->items, (self->count + 1) * sizeof *items);
    if (!items)
        return -1;
    self->items = items;
    query_param *p = &items[self->count++];
    p->key = sm_uri_encode(key, key_len, 0);
    p->value = sm_uri_encode(value, value_len, 0);
    return p->key && p->value ? 0 : -1;
}

static void query_list_free(query_list *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free_wiped(self->items[i].key);
        free_wiped(self->items[i].value);
    }
    free(self->items);
    *self = (query_list){0};
}

/* Whether a received parameter stays out of the canonical query. */
static int query_param_dropped(const signing *s, const char *key, size_t n)
{
    if (s->form != FORM_VERIFY)
        return 0;
    if (n == 15 && memcmp(key, "X-Amz-Signature", 15) == 0)
        return 1;
    return s->req->options.omit_session_token && n == 20 &&
           memcmp(key, "X-Amz-Security-Token", 20) == 0;
}

/* One "key=value" (or "key") piece of the wire query: decoded, then
 * encoded strictly, so raw UTF-8 and %-escapes sign the same. */
static int query_add_piece(signing *s, query_list *list, const char *piece,
                           size_t n)
{
    const char *eq = memchr(piece, '=', n);
    size_t key_n = eq ? (size_t)(eq - piece) : n;
    const char *val = eq ? eq + 1 : piece + n;
    size_t key_len = 0, val_len = 0;
    char *key = sm_uri_decode(piece, key_n, &key_len);
    char *value = sm_uri_decode(val, n - (size_t)(val - piece), &val_len);
    int rc = key && value ? 0 : -1;
    if (!rc && !query_param_dropped(s, key, key_len))
        rc = query_list_add(list, key, key_len, value, val_len);
    free_wiped(key);
    free_wiped(value);
    return rc;
}

/* Split the wire query on '&'; empty pieces ("a=1&&b=2") carry nothing. */
static int query_parse(signing *s, query_list *list)
{
    const char *q = s->req->query ? s->req->query : "";
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n && query_add_piece(s, list, q, n))
            return out_of_memory(s);
        q += n + (amp ? 1 : 0);
    }
    return 0;
}

static int query_add_str(query_list *list, const char *key, const char *v)
{
    return query_list_add(list, key, strlen(key), v, strlen(v));
}

/* The presigned form's own parameters (X-Amz-Signature comes later). */
static int query_add_auth(signing *s, query_list *list)
{
    char credential[1024], expires[32];
    int n = snprintf(credential, sizeof credential, "%s/%s",
                     s->req->credentials.access_key, s->scope);
    if (n < 0 || (size_t)n >= sizeof credential)
        return sm_error_set(s->err, "the access key is too long");
    snprintf(expires, sizeof expires, "%ld", s->req->options.expires);
    int rc = query_add_str(list, "X-Amz-Algorithm", SM_SIGV4_ALGORITHM);
    rc = rc ? rc : query_add_str(list, "X-Amz-Credential", credential);
    rc = rc ? rc : query_add_str(list, "X-Amz-Date", s->out->amz_date);
    rc = rc ? rc : query_add_str(list, "X-Amz-Expires", expires);
    rc =
        rc ? rc : query_add_str(list, "X-Amz-SignedHeaders", s->signed_headers);
    if (!rc && s->sign_token)
        rc = query_add_str(list, "X-Amz-Security-Token", s->token);
    return rc ? out_of_memory(s) : 0;
}

static int query_param_cmp(const void *a, const void *b)
{
    const query_param *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

static int canonical_query_make(signing *s)
{
    query_list list = {0};
    int rc = query_parse(s, &list);
    if (!rc && s->form == FORM_QUERY)
        rc = query_add_auth(s, &list);
    if (!rc) {
        strbuf q = {0};
        if (list.count)
            qsort(list.items, list.count, sizeof *list.items, query_param_cmp);
        for (size_t i = 0; i < list.count; i++) {
            sb_add(&q, i ? "&" : "");
            sb_add(&q, list.items[i].key);
            sb_add(&q, "=");
            sb_add(&q, list.items[i].value);
        }
        s->canonical_query = sb_take(&q);
        rc = s->canonical_query ? 0 : out_of_memory(s);
    }
    query_list_free(&list);
    return rc;
}

/* ---- canonical path ----------------------------------------------------- */

/* botocore's remove_dot_segments, which AWS services expect: empty and "."
 * segments go, ".." drops the one before; a leading '/' stays, and a
 * trailing '/' stays when any segment is left. */
static void path_normalize(const char *path, strbuf *out)
{
    size_t count = 0, max = 1;
    for (const char *p = path; *p; p++)
        max += *p == '/';
    const char **seg = malloc(max * sizeof *seg);
    size_t *seg_len = malloc(max * sizeof *seg_len);
    if (!seg || !seg_len) {
        out->failed = 1;
        goto out;
    }
    for (const char *p = path;;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            count -= count > 0;
        else if (n > 0 && !(n == 1 && p[0] == '.')) {
            seg[count] = p;
            seg_len[count++] = n;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (path[0] == '/')
        sb_add(out, "/");
    for (size_t i = 0; i < count; i++) {
        sb_add(out, i ? "/" : "");
        sb_add_n(out, seg[i], seg_len[i]);
    }
    if (count && path[strlen(path) - 1] == '/')
        sb_add(out, "/");
out:
    free(seg);
    free(seg_len);
}

/* The canonical URI into `out`: normalised and encoded again for most
 * services, the wire path itself for S3; "/" when that leaves nothing. */
static void canonical_path_write(const signing *s, strbuf *out)
{
    const sm_sigv4_options *o = &s->req->options;
    strbuf path = {0};
    if (o->normalize_path)
        path_normalize(s->req->path, &path);
    else
        sb_add(&path, s->req->path);
    if (path.failed) {
        out->failed = 1;
    } else if (path.len == 0) {
        sb_add(out, "/");
    } else if (o->double_encode_path) {
        sb_add_encoded(out, path.data, path.len, 1);
    } else {
        sb_add_n(out, path.data, path.len);
    }
    sb_wipe(&path);
}

/* ---- request, string to sign, signature --------------------------------- */

static void method_write(const char *method, strbuf *out)
{
    for (const char *p = method; *p; p++) {
        char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        sb_add_n(out, &c, 1);
    }
}

static int canonical_request_make(signing *s)
{
    strbuf cr = {0};
    method_write(s->req->method, &cr);
    sb_add(&cr, "\n");
    canonical_path_write(s, &cr);
    sb_add(&cr, "\n");
    sb_add(&cr, s->canonical_query);
    sb_add(&cr, "\n");
    sb_add(&cr, s->canonical_headers);
    sb_add(&cr, "\n");
    sb_add(&cr, s->signed_headers);
    sb_add(&cr, "\n");
    sb_add(&cr, s->out->payload_hash);
    s->out->canonical_request = sb_take(&cr);
    return s->out->canonical_request ? 0 : out_of_memory(s);
}

static int string_to_sign_make(signing *s)
{
    const char *cr = s->out->canonical_request;
    char hash[65];
    if (sha256_hex(cr, strlen(cr), hash))
        return sm_error_set(s->err, "SHA-256 is not available");
    strbuf sts = {0};
    sb_add(&sts, SM_SIGV4_ALGORITHM "\n");
    sb_add(&sts, s->out->amz_date);
    sb_add(&sts, "\n");
    sb_add(&sts, s->scope);
    sb_add(&sts, "\n");
    sb_add(&sts, hash);
    s->out->string_to_sign = sb_take(&sts);
    return s->out->string_to_sign ? 0 : out_of_memory(s);
}

/* kSigning = HMAC chain over date, region, service, "aws4_request", keyed
 * first by "AWS4" + secret; the signature is the hex HMAC of the string
 * to sign under kSigning. Every derived key is wiped before returning. */
static int signature_make(signing *s)
{
    const char *secret = s->req->credentials.secret_key;
    const char *steps[] = {s->date, s->req->region, s->req->service,
                           SCOPE_TERMINATOR, s->out->string_to_sign};
    size_t secret_len = strlen(secret);
    unsigned char *first = malloc(secret_len + 4);
    unsigned char key[32], next[32];
    int rc = first ? 0 : out_of_memory(s);
    if (!rc) {
        memcpy(first, "AWS4", 4);
        memcpy(first + 4, secret, secret_len);
        rc = hmac_sha256(first, secret_len + 4, steps[0], key);
        sodium_memzero(first, secret_len + 4);
    }
    for (size_t i = 1; !rc && i < sizeof steps / sizeof steps[0]; i++) {
        rc = hmac_sha256(key, sizeof key, steps[i], next);
        memcpy(key, next, sizeof key);
    }
    if (!rc)
        hex_encode(key, sizeof key, s->out->signature);
    else
        sm_error_set(s->err, "HMAC-SHA256 is not available");
    sodium_memzero(key, sizeof key);
    sodium_memzero(next, sizeof next);
    free(first);
    return rc;
}

/* The steps every form shares, from the request to its signature. */
static int signing_run(signing *s)
{
    int rc = signing_begin(s);
    if (!rc)
        rc = canonical_headers_make(s);
    if (!rc)
        rc = canonical_query_make(s);
    if (!rc)
        rc = canonical_request_make(s);
    if (!rc)
        rc = string_to_sign_make(s);
    if (!rc)
        rc = signature_make(s);
    return rc;
}

/* ---- the forms ---------------------------------------------------------- */

sm_sigv4_options sm_sigv4_options_for(const char *service)
{
    int s3 = service && strcmp(service, "s3") == 0;
    return (sm_sigv4_options){
        .normalize_path = !s3,
        .double_encode_path = !s3,
        .sign_content_sha256 = s3,
        .omit_session_token = 0,
        .expires = 3600,
    };
}

static int authorization_make(signing *s)
{
    sm_sigv4_result *out = s->out;
    strbuf auth = {0};
    sb_add(&auth, SM_SIGV4_ALGORITHM " Credential=");
    sb_add(&auth, s->req->credentials.access_key);
    sb_add(&auth, "/");
    sb_add(&auth, s->scope);
    sb_add(&auth, ", SignedHeaders=");
    sb_add(&auth, s->signed_headers);
    sb_add(&auth, ", Signature=");
    sb_add(&auth, out->signature);
    out->authorization = sb_take(&auth);
    out->content_sha256 = s->req->options.sign_content_sha256;
    if (s->token)
        out->session_token = dup_n(s->token, strlen(s->token));
    if (!out->authorization || (s->token && !out->session_token))
        return out_of_memory(s);
    return 0;
}

int sm_sigv4_sign(const sm_sigv4_request *req, sm_sigv4_result *out,
                  sm_error *err)
{
    *out = (sm_sigv4_result){0};
    signing s = {.req = req, .form = FORM_HEADER, .out = out, .err = err};
    int rc = signing_run(&s);
    if (!rc)
        rc = authorization_make(&s);
    signing_free(&s);
    return rc;
}

/* The query to send: the caller's own, then ours in the order the public
 * suite writes them, the signature last. */
static int presigned_query_make(signing *s)
{
    const sm_sigv4_request *req = s->req;
    char expires[32];
    snprintf(expires, sizeof expires, "%ld", req->options.expires);
    strbuf q = {0};
    if (nonempty(req->query)) {
        sb_add(&q, req->query);
        sb_add(&q, "&");
    }
    sb_add(&q, "X-Amz-Algorithm=" SM_SIGV4_ALGORITHM "&X-Amz-Credential=");
    sb_add_encoded(&q, req->credentials.access_key,
                   strlen(req->credentials.access_key), 0);
    sb_add(&q, "%2F");
    sb_add_encoded(&q, s->scope, strlen(s->scope), 0);
    sb_add(&q, "&X-Amz-Date=");
    sb_add(&q, s->out->amz_date);
    sb_add(&q, "&X-Amz-SignedHeaders=");
    sb_add_encoded(&q, s->signed_headers, strlen(s->signed_headers), 0);
    sb_add(&q, "&X-Amz-Expires=");
    sb_add(&q, expires);
    if (s->token) {
        sb_add(&q, "&X-Amz-Security-Token=");
        sb_add_encoded(&q, s->token, strlen(s->token), 0);
    }
    sb_add(&q, "&X-Amz-Signature=");
    sb_add(&q, s->out->signature);
    s->out->query = sb_take(&q);
    return s->out->query ? 0 : out_of_memory(s);
}

int sm_sigv4_presign(const sm_sigv4_request *req, sm_sigv4_result *out,
                     sm_error *err)
{
    *out = (sm_sigv4_result){0};
    long expires = req->options.expires;
    if (expires < 1 || expires > SM_SIGV4_MAX_EXPIRES)
        return sm_error_set(err,
                            "a presigned request expires after 1 to "
                            "%d seconds, not %ld",
                            SM_SIGV4_MAX_EXPIRES, expires);
    signing s = {.req = req, .form = FORM_QUERY, .out = out, .err = err};
    int rc = signing_run(&s);
    if (!rc)
        rc = presigned_query_make(&s);
    signing_free(&s);
    return rc;
}

int sm_sigv4_verify(const sm_sigv4_request *req, const char *signed_headers,
                    const char *signature, sm_sigv4_result *out, sm_error *err)
{
    *out = (sm_sigv4_result){0};
    if (!nonempty(signed_headers) || !signature)
        return sm_error_set(err, "the request names no signed headers or "
                                 "no signature");
    signing s = {.req = req,
                 .form = FORM_VERIFY,
                 .verify_headers = signed_headers,
                 .out = out,
                 .err = err};
    int rc = signing_run(&s);
    signing_free(&s);
    if (rc)
        return rc;
    if (strlen(signature) != 64 ||
        sodium_memcmp(signature, out->signature, 64) != 0)
        return sm_error_set(err, "the request signature we calculated does "
                                 "not match the signature provided");
    return 0;
}

size_t sm_sigv4_result_headers(const sm_sigv4_result *self,
                               sm_sigv4_header out[4])
{
    size_t n = 0;
    if (!self->authorization)
        return 0;
    if (self->session_token)
        out[n++] =
            (sm_sigv4_header){"X-Amz-Security-Token", self->session_token};
    out[n++] = (sm_sigv4_header){"X-Amz-Date", self->amz_date};
    if (self->content_sha256)
        out[n++] =
            (sm_sigv4_header){"x-amz-content-sha256", self->payload_hash};
    out[n++] = (sm_sigv4_header){"Authorization", self->authorization};
    return n;
}

void sm_sigv4_result_clear(sm_sigv4_result *self)
{
    free_wiped(self->canonical_request);
    free_wiped(self->string_to_sign);
    free(self->payload_hash);
    free(self->authorization);
    free_wiped(self->query);
    free_wiped(self->session_token);
    *self = (sm_sigv4_result){0};
}
