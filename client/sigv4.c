/* sigv4: AWS Signature Version 4, built as a pipeline of small steps. */
#include "sigv4.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
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

static void sb_grow(strbuf *self, size_t extra)
{
    if (extra > ((size_t)-1) / 4 - self->len) {
        self->failed = 1;
        return;
    }
    size_t cap = self->cap ? self->cap : 256;
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
    data[self->len] = '\0'; /* a string even before the first append */
    self->data = data;
    self->cap = cap;
}

/* Room for `extra` more bytes and the NUL; the common case inline. */
static inline void sb_reserve(strbuf *self, size_t extra)
{
    if (!self->failed && self->len + extra >= self->cap)
        sb_grow(self, extra);
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

/* Byte classes, for the loops that run per byte: 1 for RFC 3986
 * unreserved (A-Z a-z 0-9 - . _ ~, what sm_uri_unreserved says), 2 for
 * whitespace as header values count it (space \t \r \n \v \f). */
#define CLASS_UNRESERVED 1
#define CLASS_SPACE 2
static const unsigned char byte_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static int unreserved(unsigned char c)
{
    return byte_class[c] & CLASS_UNRESERVED;
}

/* Append s[0..n) percent-encoded (see sm_uri_encode). */
static void sb_add_encoded(strbuf *self, const char *s, size_t n,
                           int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    if (n > ((size_t)-1) / 8) {
        self->failed = 1;
        return;
    }
    sb_reserve(self, 3 * n);
    if (self->failed)
        return;
    char *out = self->data + self->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    *out = '\0';
    self->len = (size_t)(out - self->data);
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

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SM_SHA256_SIZE];
    sm_sha256_digest(data, len, md);
    hex_encode(md, sizeof md, out);
}

/* ---- derived signing keys ----------------------------------------------- */

/* kSigning depends only on the secret, the date, the region and the
 * service, and deriving it is four of the five HMACs of a signature, so a
 * few recent ones are kept. An entry holds the derived key and a
 * fingerprint of the secret (a domain-separated SHA-256, never the secret
 * nor an HMAC key), which tells a reused access key with another secret
 * apart; an evicted or cleared key is wiped. */
#define KEY_CACHE_SIZE 16
#define KEY_FINGERPRINT_PREFIX "sigv4 cache\n" /* 40-byte secrets: 1 block */

typedef struct cached_key {
    char access_key[129];
    char date[9];
    char region[64];
    char service[64];
    unsigned char fingerprint[SM_SHA256_SIZE];
    unsigned char key[SM_SHA256_SIZE]; /* kSigning */
    unsigned long long used;           /* 0: empty */
} cached_key;

static struct {
    pthread_mutex_t lock;
    unsigned long long clock;
    cached_key items[KEY_CACHE_SIZE];
} key_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int fits(const char *s, size_t cap)
{
    return strlen(s) < cap;
}

static void secret_fingerprint(const char *secret, unsigned char out[32])
{
    sm_sha256 ctx;
    sm_sha256_init(&ctx);
    sm_sha256_update(&ctx, KEY_FINGERPRINT_PREFIX,
                     sizeof KEY_FINGERPRINT_PREFIX - 1);
    sm_sha256_update(&ctx, secret, strlen(secret));
    sm_sha256_final(&ctx, out);
    sodium_memzero(&ctx, sizeof ctx);
}

static int entry_matches(const cached_key *e, const char *access_key,
                         const char *date, const char *region,
                         const char *service)
{
    return e->used && memcmp(e->date, date, sizeof e->date) == 0 &&
           strcmp(e->access_key, access_key) == 0 &&
           strcmp(e->region, region) == 0 && strcmp(e->service, service) == 0;
}

/* The cached kSigning for this request into `key`: 0, or -1 when there is
 * none (or the access key's secret is another one). */
static int key_cache_get(const sm_sigv4_request *req, const char *date,
                         unsigned char key[32])
{
    const sm_sigv4_credentials *c = &req->credentials;
    unsigned char fp[SM_SHA256_SIZE];
    int fp_made = 0, rc = -1;
    pthread_mutex_lock(&key_cache.lock);
    for (size_t i = 0; i < KEY_CACHE_SIZE && rc; i++) {
        cached_key *e = &key_cache.items[i];
        if (!entry_matches(e, c->access_key, date, req->region, req->service))
            continue;
        if (!fp_made)
            secret_fingerprint(c->secret_key, fp);
        fp_made = 1;
        if (sodium_memcmp(fp, e->fingerprint, sizeof fp) == 0) {
            memcpy(key, e->key, SM_SHA256_SIZE);
            e->used = ++key_cache.clock;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&key_cache.lock);
    return rc;
}

/* Keep `key` for this request, in place of the least recently used. */
static void key_cache_put(const sm_sigv4_request *req, const char *date,
                          const unsigned char key[32])
{
    const sm_sigv4_credentials *c = &req->credentials;
    if (!fits(c->access_key, 129) || !fits(req->region, 64) ||
        !fits(req->service, 64))
        return;
    unsigned char fp[SM_SHA256_SIZE];
    secret_fingerprint(c->secret_key, fp);
    pthread_mutex_lock(&key_cache.lock);
    cached_key *victim = &key_cache.items[0];
    for (size_t i = 1; i < KEY_CACHE_SIZE; i++) {
        if (key_cache.items[i].used < victim->used)
            victim = &key_cache.items[i];
    }
    sodium_memzero(victim, sizeof *victim);
    strcpy(victim->access_key, c->access_key);
    memcpy(victim->date, date, 9);
    strcpy(victim->region, req->region);
    strcpy(victim->service, req->service);
    memcpy(victim->fingerprint, fp, sizeof fp);
    memcpy(victim->key, key, SM_SHA256_SIZE);
    victim->used = ++key_cache.clock;
    pthread_mutex_unlock(&key_cache.lock);
}

void sm_sigv4_key_cache_clear(void)
{
    pthread_mutex_lock(&key_cache.lock);
    sodium_memzero(key_cache.items, sizeof key_cache.items);
    key_cache.clock = 0;
    pthread_mutex_unlock(&key_cache.lock);
}

/* kSigning = HMAC chain over date, region, service, "aws4_request", keyed
 * first by "AWS4" + secret. Only the HMAC states hold the secret's
 * equivalent, and they are wiped. */
static void signing_key_derive(const sm_sigv4_request *req, const char *date,
                               unsigned char key[32])
{
    const char *secret = req->credentials.secret_key;
    const char *steps[] = {date, req->region, req->service, SCOPE_TERMINATOR};
    size_t secret_len = strlen(secret);
    sm_hmac_sha256 h;
    if (secret_len + 4 <= SM_SHA256_BLOCK) {
        unsigned char first[SM_SHA256_BLOCK];
        memcpy(first, "AWS4", 4);
        memcpy(first + 4, secret, secret_len);
        sm_hmac_sha256_init(&h, first, secret_len + 4);
        sodium_memzero(first, sizeof first);
    } else {
        /* RFC 2104: a key longer than a block is its hash. */
        sm_sha256 ctx;
        unsigned char hashed[SM_SHA256_SIZE];
        sm_sha256_init(&ctx);
        sm_sha256_update(&ctx, "AWS4", 4);
        sm_sha256_update(&ctx, secret, secret_len);
        sm_sha256_final(&ctx, hashed);
        sm_hmac_sha256_init(&h, hashed, sizeof hashed);
        sodium_memzero(hashed, sizeof hashed);
        sodium_memzero(&ctx, sizeof ctx);
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (i)
            sm_hmac_sha256_init(&h, key, SM_SHA256_SIZE);
        sm_hmac_sha256_update(&h, steps[i], strlen(steps[i]));
        sm_hmac_sha256_final(&h, key);
    }
}

static void signing_key_get(const sm_sigv4_request *req, const char *date,
                            unsigned char key[32])
{
    if (key_cache_get(req, date, key) == 0)
        return;
    signing_key_derive(req, date, key);
    key_cache_put(req, date, key);
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
    size_t signed_headers_len, canonical_headers_len, canonical_query_len;
    size_t canonical_request_len, string_to_sign_len;
    sm_sigv4_result *out;
    sm_error *err;
} signing;

static void signing_free(signing *s)
{
    free(s->scope);
    free(s->signed_headers);
    if (s->canonical_headers)
        sodium_memzero(s->canonical_headers, s->canonical_headers_len);
    free(s->canonical_headers);
    if (s->canonical_query)
        sodium_memzero(s->canonical_query, s->canonical_query_len);
    free(s->canonical_query);
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
    else {
        sha256_hex(req->body, req->body_len, hash);
        out->payload_hash = dup_n(hash, 64);
    }
    return s->scope && out->payload_hash ? 0 : out_of_memory(s);
}

/* ---- canonical headers -------------------------------------------------- */

typedef struct canon_header {
    const char *name;  /* lower case, in the list's arena */
    const char *value; /* trimmed, inner whitespace collapsed; arena */
    size_t name_len, value_len;
    size_t order; /* keeps repeated headers' values in request order */
} canon_header;

/* The headers to sign. Items and their strings live in two blocks sized
 * up front from the request, so collecting them allocates twice. */
typedef struct header_list {
    canon_header *items;
    size_t count, cap;
    char *arena; /* names and values, NUL-terminated; wiped when freed */
    size_t arena_len, arena_cap;
} header_list;

static int is_space(char c)
{
    return byte_class[(unsigned char)c] & CLASS_SPACE;
}

/* Copy `value` to `out` trimmed, with each run of whitespace (folded line
 * breaks included) made one space: SigV4's Trimall. Returns its length;
 * `out` must hold strlen(value) + 1 bytes. */
static size_t header_value_trim(const char *value, char *out)
{
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
    return n;
}

/* Room for `count` headers whose names and values take `bytes` in all
 * (terminators included). -1 on no memory. */
static int header_list_reserve(header_list *self, size_t count, size_t bytes)
{
    self->items = malloc((count ? count : 1) * sizeof *self->items);
    self->arena = malloc(bytes ? bytes : 1);
    self->cap = count;
    self->arena_cap = bytes;
    return self->items && self->arena ? 0 : -1;
}

/* Copy `name` lower-cased into the arena, as the next item's name; the
 * item is only kept by header_list_push. */
static canon_header *header_list_next(header_list *self, const char *name,
                                      size_t name_len)
{
    assert(self->count < self->cap &&
           self->arena_len + name_len + 1 <= self->arena_cap);
    canon_header *h = &self->items[self->count];
    char *out = self->arena + self->arena_len;
    for (size_t i = 0; i < name_len; i++) {
        char c = name[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[name_len] = '\0';
    h->name = out;
    h->name_len = name_len;
    return h;
}

/* Keep the item header_list_next began, with `value` trimmed. */
static void header_list_push(header_list *self, const char *value,
                             size_t value_len)
{
    canon_header *h = &self->items[self->count];
    char *out = self->arena + self->arena_len + h->name_len + 1;
    assert(self->arena_len + h->name_len + value_len + 2 <= self->arena_cap);
    h->value = out;
    h->value_len = header_value_trim(value, out);
    h->order = self->count++;
    self->arena_len += h->name_len + 1 + h->value_len + 1;
}

static void header_list_add(header_list *self, const char *name,
                            const char *value)
{
    header_list_next(self, name, strlen(name));
    header_list_push(self, value, strlen(value));
}

static void header_list_free(header_list *self)
{
    if (self->arena) {
        sodium_memzero(self->arena, self->arena_cap);
        free(self->arena);
    }
    free(self->items);
    *self = (header_list){0};
}

static int name_in_list(const char *name, size_t n, const char *list, char sep)
{
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
        if (name[0] == unsigned_headers[i][0] &&
            strcmp(name, unsigned_headers[i]) == 0)
            return 1;
    }
    return 0;
}

/* Whether the caller's header `name` (lower case) is signed as given. */
static int header_taken(const signing *s, const char *name, size_t len)
{
    if (s->form == FORM_VERIFY)
        return name_in_list(name, len, s->verify_headers, ';');
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
static void headers_add_own(signing *s, header_list *list)
{
    header_list_add(list, "x-amz-date", s->out->amz_date);
    if (s->sign_token)
        header_list_add(list, "x-amz-security-token", s->token);
    if (s->req->options.sign_content_sha256)
        header_list_add(list, "x-amz-content-sha256", s->out->payload_hash);
}

/* Room for every header the request has and the header form adds. */
static int headers_reserve(signing *s, header_list *list, size_t *name_lens,
                           size_t *value_lens)
{
    const sm_sigv4_request *req = s->req;
    size_t bytes = sizeof "x-amz-date" + 17;
    if (s->token)
        bytes += sizeof "x-amz-security-token" + strlen(s->token) + 1;
    bytes += sizeof "x-amz-content-sha256" + strlen(s->out->payload_hash) + 1;
    for (size_t i = 0; i < req->header_count; i++) {
        name_lens[i] = strlen(req->headers[i].name);
        value_lens[i] = strlen(req->headers[i].value);
        bytes += name_lens[i] + value_lens[i] + 2;
    }
    return header_list_reserve(list, req->header_count + 3, bytes);
}

/* Every header to sign, in request order, into `list`. */
static int headers_collect(signing *s, header_list *list)
{
    const sm_sigv4_request *req = s->req;
    size_t small[2 * 32], *lens = small;
    if (req->header_count > 32 &&
        !(lens = malloc(2 * req->header_count * sizeof *lens)))
        return out_of_memory(s);
    size_t *value_lens = lens + req->header_count;
    int rc = headers_reserve(s, list, lens, value_lens);
    for (size_t i = 0; !rc && i < req->header_count; i++) {
        const canon_header *h =
            header_list_next(list, req->headers[i].name, lens[i]);
        if (header_taken(s, h->name, h->name_len))
            header_list_push(list, req->headers[i].value, value_lens[i]);
    }
    if (!rc && s->form == FORM_HEADER)
        headers_add_own(s, list);
    if (lens != small)
        free(lens);
    return rc ? out_of_memory(s) : 0;
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
            found = list->items[i].name_len == len &&
                    memcmp(list->items[i].name, p, len) == 0;
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

/* In place: insertion sort for the usual handful, qsort past that. */
static void headers_sort(header_list *list)
{
    canon_header *items = list->items;
    if (list->count > 48) {
        qsort(items, list->count, sizeof *items, canon_header_cmp);
        return;
    }
    for (size_t i = 1; i < list->count; i++) {
        canon_header h = items[i];
        size_t j = i;
        for (; j > 0 && canon_header_cmp(&items[j - 1], &h) > 0; j--)
            items[j] = items[j - 1];
        items[j] = h;
    }
}

/* Sorted "name:v1,v2\n" lines and the "a;b;c" list of their names. */
static int headers_write(signing *s, header_list *list)
{
    strbuf lines = {0}, names = {0};
    headers_sort(list);
    sb_reserve(&lines, list->arena_len + 1);
    sb_reserve(&names, list->arena_len + 1);
    for (size_t i = 0; i < list->count; i++) {
        const canon_header *h = &list->items[i];
        if (i > 0 && h->name_len == h[-1].name_len &&
            memcmp(h->name, h[-1].name, h->name_len) == 0) {
            sb_add_n(&lines, ",", 1);
            sb_add_n(&lines, h->value, h->value_len);
            continue;
        }
        if (i > 0) {
            sb_add_n(&lines, "\n", 1);
            sb_add_n(&names, ";", 1);
        }
        sb_add_n(&lines, h->name, h->name_len);
        sb_add_n(&lines, ":", 1);
        sb_add_n(&lines, h->value, h->value_len);
        sb_add_n(&names, h->name, h->name_len);
    }
    if (list->count)
        sb_add_n(&lines, "\n", 1);
    s->canonical_headers_len = lines.len;
    s->signed_headers_len = names.len;
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
    const char *key;   /* percent-encoded, strict; in the list's arena */
    const char *value; /* percent-encoded, strict; in the list's arena */
    size_t key_len, value_len;
} query_param;

/* The parameters to sign. The arena is sized once from the query, at most
 * three bytes out for each byte in, so pointers into it stay good. */
typedef struct query_list {
    query_param *items;
    size_t count, cap;
    char *arena; /* wiped when freed: the query can carry the token */
    size_t len, arena_cap;
} query_list;

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Copy s[0..n) into the arena encoded strictly (see sm_uri_encode), after
 * undoing its %XX escapes when `decode` is set (see sm_uri_decode). */
static const char *query_arena_put(query_list *self, const char *s, size_t n,
                                   int decode, size_t *len)
{
    static const char hex[] = "0123456789ABCDEF";
    assert(self->len + 3 * n + 1 <= self->arena_cap);
    char *start = self->arena + self->len, *out = start;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int hi = -1, lo = -1;
        if (decode && c == '%' && n - i > 2) {
            hi = hex_value(s[i + 1]);
            lo = hex_value(s[i + 2]);
        }
        if (hi >= 0 && lo >= 0) {
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (unreserved(c)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    *out = '\0';
    *len = (size_t)(out - start);
    self->len += *len + 1;
    return start;
}

static void query_list_add(query_list *self, const char *key, size_t key_len,
                           const char *value, size_t value_len, int decode)
{
    assert(self->count < self->cap);
    query_param *p = &self->items[self->count++];
    p->key = query_arena_put(self, key, key_len, decode, &p->key_len);
    p->value = query_arena_put(self, value, value_len, decode, &p->value_len);
}

static void query_list_free(query_list *self)
{
    if (self->arena) {
        sodium_memzero(self->arena, self->arena_cap);
        free(self->arena);
    }
    free(self->items);
    *self = (query_list){0};
}

/* Whether a received parameter (its key encoded strictly, which matches a
 * name of unreserved bytes only when the decoded key does) stays out of
 * the canonical query. */
static int query_param_dropped(const signing *s, const query_param *p)
{
    if (s->form != FORM_VERIFY)
        return 0;
    if (p->key_len == 15 && memcmp(p->key, "X-Amz-Signature", 15) == 0)
        return 1;
    return s->req->options.omit_session_token && p->key_len == 20 &&
           memcmp(p->key, "X-Amz-Security-Token", 20) == 0;
}

/* One "key=value" (or "key") piece of the wire query: decoded, then
 * encoded strictly, so raw UTF-8 and %-escapes sign the same. */
static void query_add_piece(signing *s, query_list *list, const char *piece,
                            size_t n)
{
    const char *eq = memchr(piece, '=', n);
    size_t key_n = eq ? (size_t)(eq - piece) : n;
    const char *val = eq ? eq + 1 : piece + n;
    size_t before = list->len;
    query_list_add(list, piece, key_n, val, n - (size_t)(val - piece), 1);
    if (query_param_dropped(s, &list->items[list->count - 1])) {
        list->count--;
        list->len = before;
    }
}

/* Split the wire query on '&'; empty pieces ("a=1&&b=2") carry nothing. */
static void query_parse(signing *s, query_list *list, const char *q)
{
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n)
            query_add_piece(s, list, q, n);
        q += n + (amp ? 1 : 0);
    }
}

static void query_add_str(query_list *list, const char *key, const char *v)
{
    query_list_add(list, key, strlen(key), v, strlen(v), 0);
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
    query_add_str(list, "X-Amz-Algorithm", SM_SIGV4_ALGORITHM);
    query_add_str(list, "X-Amz-Credential", credential);
    query_add_str(list, "X-Amz-Date", s->out->amz_date);
    query_add_str(list, "X-Amz-Expires", expires);
    query_add_str(list, "X-Amz-SignedHeaders", s->signed_headers);
    if (s->sign_token)
        query_add_str(list, "X-Amz-Security-Token", s->token);
    return 0;
}

/* Room for every piece of the wire query `q` and the presigned form's own
 * parameters: their bytes, three out for each in, and the terminators. */
static int query_list_reserve(signing *s, query_list *list, const char *q,
                              size_t q_len)
{
    size_t pieces = 1, own = 0;
    for (const char *p = q; (p = strchr(p, '&')) != NULL; p++)
        pieces++;
    if (s->form == FORM_QUERY) {
        /* The names, the algorithm, the date and the expiry (at most 20
         * digits) take under 200 bytes; then the variable values. */
        pieces += 6;
        own = 200 + strlen(s->req->credentials.access_key) + 1 +
              strlen(s->scope) + s->signed_headers_len +
              (s->token ? strlen(s->token) : 0);
    }
    if (q_len > ((size_t)-1) / 8 || own > ((size_t)-1) / 8)
        return -1;
    list->cap = pieces;
    list->arena_cap = 3 * (q_len + own) + 2 * pieces;
    list->items = malloc(pieces * sizeof *list->items);
    list->arena = malloc(list->arena_cap);
    return list->items && list->arena ? 0 : -1;
}

static int query_param_cmp(const void *a, const void *b)
{
    const query_param *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* In place: insertion sort for the usual handful, qsort past that. */
static void query_sort(query_list *list)
{
    query_param *items = list->items;
    if (list->count > 48) {
        qsort(items, list->count, sizeof *items, query_param_cmp);
        return;
    }
    for (size_t i = 1; i < list->count; i++) {
        query_param p = items[i];
        size_t j = i;
        for (; j > 0 && query_param_cmp(&items[j - 1], &p) > 0; j--)
            items[j] = items[j - 1];
        items[j] = p;
    }
}

static int canonical_query_make(signing *s)
{
    query_list list = {0};
    const char *q = s->req->query ? s->req->query : "";
    int rc = query_list_reserve(s, &list, q, strlen(q)) ? out_of_memory(s) : 0;
    if (!rc)
        query_parse(s, &list, q);
    if (!rc && s->form == FORM_QUERY)
        rc = query_add_auth(s, &list);
    if (!rc) {
        strbuf out = {0};
        query_sort(&list);
        sb_reserve(&out, list.len + 1);
        for (size_t i = 0; i < list.count; i++) {
            sb_add_n(&out, "&", i ? 1 : 0);
            sb_add_n(&out, list.items[i].key, list.items[i].key_len);
            sb_add_n(&out, "=", 1);
            sb_add_n(&out, list.items[i].value, list.items[i].value_len);
        }
        s->canonical_query_len = out.len;
        s->canonical_query = sb_take(&out);
        rc = s->canonical_query ? 0 : out_of_memory(s);
    }
    query_list_free(&list);
    return rc;
}

/* ---- canonical path ----------------------------------------------------- */

/* botocore's remove_dot_segments, which AWS services expect: empty and "."
 * segments go, ".." drops the one before; a leading '/' stays, and a
 * trailing '/' stays when any segment is left. The kept segments are
 * written as they come and a ".." cuts back to the last '/'. */
static void path_normalize(const char *path, strbuf *out)
{
    size_t count = 0, path_len = strlen(path);
    if (path[0] == '/')
        sb_add_n(out, "/", 1);
    size_t start = out->len; /* where the first segment goes */
    for (const char *p = path;;) {
        const char *end = memchr(p, '/', path_len - (size_t)(p - path));
        size_t n = end ? (size_t)(end - p) : path_len - (size_t)(p - path);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (count && !out->failed) {
                char *cut = memrchr(out->data + start, '/', out->len - start);
                out->len = cut ? (size_t)(cut - out->data) : start;
                out->data[out->len] = '\0';
            }
            count -= count > 0;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            sb_add_n(out, "/", count ? 1 : 0);
            sb_add_n(out, p, n);
            count++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (count && path[path_len - 1] == '/')
        sb_add_n(out, "/", 1);
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
    size_t start = out->len;
    sb_add(out, method);
    for (size_t i = start; !out->failed && i < out->len; i++) {
        char c = out->data[i];
        out->data[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
}

static int canonical_request_make(signing *s)
{
    const char *hash = s->out->payload_hash;
    size_t hash_len = strlen(hash);
    strbuf cr = {0};
    sb_reserve(&cr, strlen(s->req->method) + 3 * strlen(s->req->path) +
                        s->canonical_query_len + s->canonical_headers_len +
                        s->signed_headers_len + hash_len + 8);
    method_write(s->req->method, &cr);
    sb_add_n(&cr, "\n", 1);
    canonical_path_write(s, &cr);
    sb_add_n(&cr, "\n", 1);
    sb_add_n(&cr, s->canonical_query, s->canonical_query_len);
    sb_add_n(&cr, "\n", 1);
    sb_add_n(&cr, s->canonical_headers, s->canonical_headers_len);
    sb_add_n(&cr, "\n", 1);
    sb_add_n(&cr, s->signed_headers, s->signed_headers_len);
    sb_add_n(&cr, "\n", 1);
    sb_add_n(&cr, hash, hash_len);
    s->canonical_request_len = cr.len;
    s->out->canonical_request = sb_take(&cr);
    return s->out->canonical_request ? 0 : out_of_memory(s);
}

static int string_to_sign_make(signing *s)
{
    char hash[65];
    sha256_hex(s->out->canonical_request, s->canonical_request_len, hash);
    strbuf sts = {0};
    sb_reserve(&sts, 128 + strlen(s->scope));
    sb_add(&sts, SM_SIGV4_ALGORITHM "\n");
    sb_add_n(&sts, s->out->amz_date, 16);
    sb_add_n(&sts, "\n", 1);
    sb_add(&sts, s->scope);
    sb_add_n(&sts, "\n", 1);
    sb_add_n(&sts, hash, 64);
    s->string_to_sign_len = sts.len;
    s->out->string_to_sign = sb_take(&sts);
    return s->out->string_to_sign ? 0 : out_of_memory(s);
}

/* The hex HMAC of the string to sign under kSigning, which is wiped. */
static int signature_make(signing *s)
{
    const char *sts = s->out->string_to_sign;
    unsigned char key[SM_SHA256_SIZE], mac[SM_SHA256_SIZE];
    signing_key_get(s->req, s->date, key);
    sm_hmac_sha256_mac(key, sizeof key, sts, s->string_to_sign_len, mac);
    hex_encode(mac, sizeof mac, s->out->signature);
    sodium_memzero(key, sizeof key);
    return 0;
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
