/* sigv4: AWS Signature Version 4, built as a pipeline of small steps. Each
 * signing keeps its working data in one scratch region (on the stack while
 * it fits) and writes every string of its result into one buffer, so a
 * signature costs one allocation besides the hashing. */
#include "sigv4.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "uri.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define SCOPE_TERMINATOR "aws4_request"

/* Never signed: hop-by-hop headers a proxy may change, headers libcurl
 * adds or rewrites (Expect, User-Agent), and tracing headers that
 * middleboxes inject. The same list as botocore's, so a server verifying
 * its requests and our client agree. */
/* clang-format off */
#define NAME(lit) {lit, sizeof lit - 1}
/* clang-format on */
static const struct {
    const char *name;
    size_t len; /* compared first: most names differ in it */
} unsigned_headers[] = {
    NAME("baggage"),    NAME("connection"),         NAME("expect"),
    NAME("keep-alive"), NAME("proxy-authenticate"), NAME("proxy-authorization"),
    NAME("te"),         NAME("traceparent"),        NAME("tracestate"),
    NAME("trailer"),    NAME("transfer-encoding"),  NAME("upgrade"),
    NAME("user-agent"), NAME("x-amzn-trace-id"),
};
#undef NAME

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
    self->data = data;
    self->cap = cap;
}

/* Room for `extra` more bytes and the NUL; the common case inline. */
static inline void sb_reserve(strbuf *self, size_t extra)
{
    if (!self->failed && self->len + extra >= self->cap)
        sb_grow(self, extra);
}

/* Appends do not terminate: the writer adds each string's NUL itself. */
static inline void sb_add_n(strbuf *self, const char *s, size_t n)
{
    sb_reserve(self, n);
    if (self->failed)
        return;
    memcpy(self->data + self->len, s, n);
    self->len += n;
}

/* Append a string literal without measuring it at run time. */
#define SB_ADD_LIT(self, lit) sb_add_n(self, lit, sizeof lit - 1)

static inline void sb_add_char(strbuf *self, char c)
{
    sb_reserve(self, 1);
    if (!self->failed)
        self->data[self->len++] = c;
}

/* Byte classes, for the loops that run per byte: RFC 3986 unreserved
 * (A-Z a-z 0-9 - . _ ~, what sm_uri_unreserved says); whitespace as header
 * values count it (space \t \r \n \v \f); and the bytes that may not
 * appear in the request's fields: line breaks, blanks, '/', ',' and ':'. */
#define CLASS_UNRESERVED 1
#define CLASS_SPACE 2
#define CLASS_BREAK 4  /* \r \n */
#define CLASS_BLANK 8  /* space \t */
#define CLASS_SLASH 16 /* / */
#define CLASS_COMMA 32 /* , */
#define CLASS_COLON 64 /* : */
static const unsigned char byte_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0,  10, 6,  2, 2, 6, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 10, 0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 1, 1, 16,
    1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  64, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1,  1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1, 1, 1, 1, 1, 1, 1, 1, 0, 0,  0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1,
    1, 1, 1, 0, 0, 0, 1, 0, 0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0, 0, 0, 0, 0,
};

static int unreserved(unsigned char c)
{
    return byte_class[c] & CLASS_UNRESERVED;
}

/* Write s[0..n) percent-encoded (see sm_uri_encode) at `out`, which has
 * room for 3 * n bytes; returns the end. */
static char *encode_to(char *out, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        /* Escaped or not without a branch: which bytes of a path need it
         * is as good as random, and a mispredicted branch costs more than
         * the three stores (the escape's room is there anyway). */
        unsigned char c = (unsigned char)s[i];
        int keep = unreserved(c) | (keep_slash & (c == '/'));
        out[0] = keep ? (char)c : '%';
        out[1] = hex[c >> 4];
        out[2] = hex[c & 15];
        out += keep ? 1 : 3;
    }
    return out;
}

/* Append s[0..n) percent-encoded. */
static void sb_add_encoded(strbuf *self, const char *s, size_t n,
                           int keep_slash)
{
    if (n > ((size_t)-1) / 8) {
        self->failed = 1;
        return;
    }
    sb_reserve(self, 3 * n);
    if (self->failed)
        return;
    char *end = encode_to(self->data + self->len, s, n, keep_slash);
    self->len = (size_t)(end - self->data);
}

static void sb_wipe(strbuf *self)
{
    if (self->data) {
        sodium_memzero(self->data, self->cap);
        free(self->data);
    }
    *self = (strbuf){0};
}

/* ---- scratch memory ----------------------------------------------------- */

/* A signing's working data (header and query lists, their strings, the
 * scope) is bump-allocated: first from a buffer the caller keeps on its
 * stack, then from heap chunks, so pointers into it stay good. All of it
 * is wiped at the end, since the lists can hold the session token. */
#define SCRATCH_STACK 4096
#define SCRATCH_ALIGN alignof(max_align_t)

typedef struct scratch_chunk {
    struct scratch_chunk *prev;
    size_t size; /* bytes after this header */
    alignas(max_align_t) unsigned char data[];
} scratch_chunk;

typedef struct scratch {
    unsigned char *base; /* the current block */
    size_t used, cap;
    unsigned char *stack; /* the caller's buffer, the first block */
    size_t stack_used;    /* its bytes handed out, once left behind */
    scratch_chunk *heap;  /* the newest chunk, NULL while on the stack */
} scratch;

static void scratch_init(scratch *self, unsigned char *stack, size_t size)
{
    *self = (scratch){.base = stack, .cap = size, .stack = stack};
}

/* `n` bytes, aligned for any type; NULL when memory runs out. */
static void *scratch_alloc(scratch *self, size_t n)
{
    if (n > ((size_t)-1) / 4)
        return NULL;
    n = (n + SCRATCH_ALIGN - 1) & ~(size_t)(SCRATCH_ALIGN - 1);
    if (n > self->cap - self->used) {
        size_t size = n > 2 * SCRATCH_STACK ? n : 2 * SCRATCH_STACK;
        scratch_chunk *c = malloc(sizeof *c + size);
        if (!c)
            return NULL;
        if (!self->heap)
            self->stack_used = self->used;
        c->prev = self->heap;
        c->size = size;
        self->heap = c;
        self->base = c->data;
        self->used = 0;
        self->cap = size;
    }
    void *p = self->base + self->used;
    self->used += n;
    return p;
}

static void scratch_wipe(scratch *self)
{
    sodium_memzero(self->stack, self->heap ? self->stack_used : self->used);
    for (scratch_chunk *c = self->heap, *prev; c; c = prev) {
        prev = c->prev;
        sodium_memzero(c->data, c->size);
        free(c);
    }
    *self = (scratch){0};
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

#ifdef __SSE2__
/* Sixteen bytes' hex at once (SSE2, which every x86-64 has): the bytes
 * are split into nibbles, interleaved high first, and each nibble becomes
 * '0' + nibble, plus 'a' - '0' - 10 where it is above 9. */
static void hex_encode16(const unsigned char *bytes, char *out)
{
    const __m128i low = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
    const __m128i zero = _mm_set1_epi8('0');
    const __m128i gap = _mm_set1_epi8('a' - '0' - 10);
    __m128i v = _mm_loadu_si128((const __m128i *)bytes);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low);
    __m128i lo = _mm_and_si128(v, low);
    __m128i nibbles[2] = {_mm_unpacklo_epi8(hi, lo), _mm_unpackhi_epi8(hi, lo)};
    for (int i = 0; i < 2; i++) {
        __m128i above = _mm_and_si128(_mm_cmpgt_epi8(nibbles[i], nine), gap);
        __m128i digits = _mm_add_epi8(_mm_add_epi8(nibbles[i], zero), above);
        _mm_storeu_si128((__m128i *)(out + 16 * i), digits);
    }
}
#else
/* Each byte's two lower-case hex digits, so a byte costs one lookup. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
#endif

/* A digest in lower-case hex and a NUL: a signature writes three, so
 * sixteen bytes at a time where the CPU allows, else a lookup a byte. */
static void hex_digest(const unsigned char md[SM_SHA256_SIZE], char out[65])
{
#ifdef __SSE2__
    hex_encode16(md, out);
    hex_encode16(md + 16, out + 32);
#else
    for (size_t i = 0; i < SM_SHA256_SIZE; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * md[i], 2);
#endif
    out[64] = '\0';
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SM_SHA256_SIZE];
    sm_sha256_digest(data, len, md);
    hex_digest(md, out);
}

/* ---- derived signing keys ----------------------------------------------- */

/* What a signing key is derived from and cached under, each field
 * measured once. Borrowed strings but the date. */
typedef struct key_scope {
    const char *access_key, *secret, *region, *service;
    size_t access_key_len, secret_len, region_len, service_len;
    char date[9]; /* 20150830 */
} key_scope;

/* kSigning depends only on the secret, the date, the region and the
 * service, and deriving it is four of the five HMACs of a signature, so a
 * few recent ones are kept. An entry holds the derived key and a
 * fingerprint of the secret (a domain-separated SHA-256, never the secret
 * nor an HMAC key), which tells a reused access key with another secret
 * apart; an evicted or cleared key is wiped. A key is only kept when its
 * identity (access key, date, region, service) comes a second time, as a
 * small table of recent identities' hashes says: one-off credentials then
 * neither pay for the fingerprint and the insert nor push out keys in use,
 * and a client with one set of credentials misses twice, not once. */
#define KEY_CACHE_SIZE 16
#define KEY_SEEN_SIZE 64
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
    uint32_t tags[KEY_CACHE_SIZE]; /* each entry's identity hash, 0: empty;
                                    * a lookup reads these, one cache line */
    cached_key items[KEY_CACHE_SIZE];
    uint32_t seen[KEY_SEEN_SIZE]; /* identity hashes, 0: empty; no secret */
} key_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void secret_fingerprint(const key_scope *k, unsigned char out[32])
{
    sm_sha256 ctx;
    sm_sha256_init(&ctx);
    sm_sha256_update(&ctx, KEY_FINGERPRINT_PREFIX,
                     sizeof KEY_FINGERPRINT_PREFIX - 1);
    sm_sha256_update(&ctx, k->secret, k->secret_len);
    sm_sha256_final(&ctx, out);
    sodium_memzero(&ctx, sizeof ctx);
}

static int entry_matches(const cached_key *e, const key_scope *k)
{
    return e->used && memcmp(e->date, k->date, sizeof e->date) == 0 &&
           strcmp(e->access_key, k->access_key) == 0 &&
           strcmp(e->region, k->region) == 0 &&
           strcmp(e->service, k->service) == 0;
}

/* Fold s[0..n) and n into `h`, eight bytes a multiplication: the lengths
 * are known, so this costs a few steps a field where a byte at a time
 * cost one a byte and a mispredicted exit. Not a secure hash: a match is
 * confirmed field by field. */
static uint64_t identity_mix(uint64_t h, const char *s, size_t n)
{
    const uint64_t odd = 0x9e3779b97f4a7c15ULL;
    uint64_t w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * odd;
        h ^= h >> 32;
    }
    w = (uint64_t)n << 56;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)(unsigned char)s[i] << (8 * i);
    h = (h ^ w) * odd;
    return h ^ h >> 32;
}

/* A hash of a key's identity (access key, date, region, service); never
 * 0. */
static uint32_t identity_hash(const key_scope *k)
{
    uint64_t h = identity_mix(0, k->access_key, k->access_key_len);
    h = identity_mix(h, k->date, 8);
    h = identity_mix(h, k->region, k->region_len);
    h = identity_mix(h, k->service, k->service_len);
    return (uint32_t)h | 1;
}

/* Note identity `h`, under the lock; whether it came lately. */
static int identity_seen_again(uint32_t h)
{
    uint32_t *slot = &key_cache.seen[h % KEY_SEEN_SIZE];
    int again = *slot == h;
    *slot = h;
    return again;
}

/* The cached kSigning for this request (identity hash `id`) into `key`:
 * 0, or -1 when there is none (or the access key's secret is another
 * one), with *keep saying whether the key, once derived, is worth
 * caching. */
static int key_cache_get(const key_scope *k, uint32_t id, unsigned char key[32],
                         int *keep)
{
    unsigned char fp[SM_SHA256_SIZE];
    int fp_made = 0, rc = -1;
    pthread_mutex_lock(&key_cache.lock);
    for (size_t i = 0; i < KEY_CACHE_SIZE && rc; i++) {
        cached_key *e = &key_cache.items[i];
        if (key_cache.tags[i] != id || !entry_matches(e, k))
            continue;
        if (!fp_made)
            secret_fingerprint(k, fp);
        fp_made = 1;
        if (sodium_memcmp(fp, e->fingerprint, sizeof fp) == 0) {
            memcpy(key, e->key, SM_SHA256_SIZE);
            e->used = ++key_cache.clock;
            rc = 0;
        }
    }
    *keep = rc && identity_seen_again(id);
    pthread_mutex_unlock(&key_cache.lock);
    return rc;
}

/* Keep `key` for this request, in place of the least recently used. */
static void key_cache_put(const key_scope *k, uint32_t id,
                          const unsigned char key[32])
{
    if (k->access_key_len >= 129 || k->region_len >= 64 || k->service_len >= 64)
        return;
    unsigned char fp[SM_SHA256_SIZE];
    secret_fingerprint(k, fp);
    pthread_mutex_lock(&key_cache.lock);
    size_t v = 0;
    for (size_t i = 1; i < KEY_CACHE_SIZE; i++) {
        if (key_cache.items[i].used < key_cache.items[v].used)
            v = i;
    }
    cached_key *victim = &key_cache.items[v];
    sodium_memzero(victim, sizeof *victim);
    key_cache.tags[v] = id;
    memcpy(victim->access_key, k->access_key, k->access_key_len + 1);
    memcpy(victim->date, k->date, 9);
    memcpy(victim->region, k->region, k->region_len + 1);
    memcpy(victim->service, k->service, k->service_len + 1);
    memcpy(victim->fingerprint, fp, sizeof fp);
    memcpy(victim->key, key, SM_SHA256_SIZE);
    victim->used = ++key_cache.clock;
    pthread_mutex_unlock(&key_cache.lock);
}

void sm_sigv4_key_cache_clear(void)
{
    pthread_mutex_lock(&key_cache.lock);
    sodium_memzero(key_cache.items, sizeof key_cache.items);
    memset(key_cache.seen, 0, sizeof key_cache.seen);
    memset(key_cache.tags, 0, sizeof key_cache.tags);
    key_cache.clock = 0;
    pthread_mutex_unlock(&key_cache.lock);
}

/* kSigning = HMAC chain over date, region, service, "aws4_request", keyed
 * first by "AWS4" + secret. The key buffers are wiped. */
static void signing_key_derive(const key_scope *k, unsigned char key[32])
{
    const char *secret = k->secret;
    size_t secret_len = k->secret_len;
    if (secret_len + 4 <= SM_SHA256_BLOCK) {
        unsigned char first[SM_SHA256_BLOCK];
        memcpy(first, "AWS4", 4);
        memcpy(first + 4, secret, secret_len);
        sm_hmac_sha256_mac(first, secret_len + 4, k->date, 8, key);
        sodium_memzero(first, sizeof first);
    } else {
        /* RFC 2104: a key longer than a block is its hash. */
        sm_sha256 ctx;
        unsigned char hashed[SM_SHA256_SIZE];
        sm_sha256_init(&ctx);
        sm_sha256_update(&ctx, "AWS4", 4);
        sm_sha256_update(&ctx, secret, secret_len);
        sm_sha256_final(&ctx, hashed);
        sm_hmac_sha256_mac(hashed, sizeof hashed, k->date, 8, key);
        sodium_memzero(hashed, sizeof hashed);
        sodium_memzero(&ctx, sizeof ctx);
    }
    sm_hmac_sha256_mac(key, SM_SHA256_SIZE, k->region, k->region_len, key);
    sm_hmac_sha256_mac(key, SM_SHA256_SIZE, k->service, k->service_len, key);
    sm_hmac_sha256_mac(key, SM_SHA256_SIZE, SCOPE_TERMINATOR,
                       sizeof SCOPE_TERMINATOR - 1, key);
}

static void signing_key_get(const key_scope *k, unsigned char key[32])
{
    uint32_t id = identity_hash(k);
    int keep = 0;
    if (key_cache_get(k, id, key, &keep) == 0)
        return;
    signing_key_derive(k, key);
    if (keep)
        key_cache_put(k, id, key);
}

/* ---- one signing in progress -------------------------------------------- */

typedef struct canon_header {
    uint64_t prefix;   /* sort_prefix(name) */
    const char *name;  /* lower case, in scratch */
    const char *value; /* as given (borrowed): trimmed when written */
    size_t name_len, value_len;
    size_t order; /* keeps repeated headers' values in request order */
} canon_header;

typedef struct query_param {
    uint64_t prefix;   /* sort_prefix(key) */
    const char *key;   /* percent-encoded, strict; in scratch */
    const char *value; /* percent-encoded, strict; in scratch */
    size_t key_len, value_len;
} query_param;

/* The first eight bytes of `padded` (a string followed by at least seven
 * zero bytes) as a big-endian number: two of these compare as strcmp
 * compares the strings' first eight bytes, so sorting the headers and
 * the query calls strcmp only for names that share them. */
static uint64_t sort_prefix(const char *padded)
{
    uint64_t w;
    memcpy(&w, padded, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* What the steps share. Strings not said otherwise are in `mem`; the
 * result's strings are written one after another into `text`, and their
 * places are handed to the result at the end (signing_publish). */
typedef struct signing {
    const sm_sigv4_request *req;
    enum form form;
    const char *verify_headers; /* FORM_VERIFY: SignedHeaders received */
    const char *token;          /* session token, NULL when none */
    size_t token_len;
    int sign_token; /* the token is part of the signature */
    size_t method_len, path_len, query_len;
    const char *payload_hash; /* the caller's, or body_hash */
    size_t payload_hash_len;
    char body_hash[65];
    key_scope id; /* access key, date, region, service, secret */
    unsigned char key[SM_SHA256_SIZE]; /* kSigning; wiped by signing_free */
    char *scope;                       /* date/region/service/aws4_request */
    size_t scope_len;
    canon_header *headers; /* to sign, sorted by canonical_headers_make */
    size_t header_count, header_bytes;
    char *signed_headers; /* host;x-amz-date */
    size_t signed_headers_len;
    query_param *params; /* the canonical query, sorted */
    size_t param_count;
    /* FORM_QUERY: X-Amz-Credential, -SignedHeaders and -Security-Token as
     * encoded for the canonical query, which the query sent repeats (the
     * token's value is NULL when it is not signed) */
    query_param sent_credential, sent_headers, sent_token;
    strbuf text;
    size_t hash_at, request_at, request_len, sts_at, sts_len, last_at, token_at;
    scratch mem;
    sm_sigv4_result *out;
    sm_error *err;
} signing;

static void signing_init(signing *s, const sm_sigv4_request *req,
                         enum form form, sm_sigv4_result *out, sm_error *err,
                         unsigned char *stack)
{
    *out = (sm_sigv4_result){0};
    *s = (signing){.req = req, .form = form, .out = out, .err = err};
    scratch_init(&s->mem, stack, SCRATCH_STACK);
}

static void signing_free(signing *s)
{
    sodium_memzero(s->key, sizeof s->key);
    sb_wipe(&s->text);
    scratch_wipe(&s->mem);
}

static int out_of_memory(signing *s)
{
    return sm_error_set(s->err, "out of memory while signing a request");
}

/* The length of `s`, and in *bad whether it holds a byte of a class in
 * `forbidden` (the checks and the measuring in one pass). */
static size_t span_check(const char *s, unsigned forbidden, int *bad)
{
    const char *p = s;
    unsigned seen = 0;
    for (; *p; p++)
        seen |= byte_class[(unsigned char)*p];
    *bad = (seen & forbidden) != 0;
    return (size_t)(p - s);
}

/* Whether `s` is given and not empty, measured into *len, and free of the
 * byte classes in `forbidden`. */
static int field_ok(const char *s, unsigned forbidden, size_t *len)
{
    int bad = 0;
    *len = s ? span_check(s, forbidden, &bad) : 0;
    return *len && !bad;
}

/* The fields the signing key depends on (the credential scope's and the
 * secret key), checked first so that the key can be derived while the rest
 * of the request is still on its way from memory. */
static int check_scope(signing *s)
{
    const sm_sigv4_request *req = s->req;
    const sm_sigv4_credentials *c = &req->credentials;
    key_scope *k = &s->id;
    unsigned scope_bad = CLASS_SLASH | CLASS_BREAK | CLASS_BLANK;
    if (!field_ok(req->region, scope_bad, &k->region_len) ||
        !field_ok(req->service, scope_bad, &k->service_len))
        return sm_error_set(s->err, "signing needs a region and a service "
                                    "without '/' or whitespace");
    if (!field_ok(c->access_key, scope_bad | CLASS_COMMA, &k->access_key_len) ||
        !c->secret_key || !*c->secret_key)
        return sm_error_set(s->err, "signing needs an access key (without "
                                    "'/', ',' or whitespace) and a secret "
                                    "key");
    k->access_key = c->access_key;
    k->secret = c->secret_key;
    k->secret_len = strlen(c->secret_key);
    k->region = req->region;
    k->service = req->service;
    return 0;
}

/* The caller's other mistakes, each one sentence. Nothing may break the
 * lines of the canonical request. Measures the fields it reads into `s`.
 * Header names are checked as they are copied (headers_collect). */
static int check_request(signing *s)
{
    const sm_sigv4_request *req = s->req;
    sm_error *err = s->err;
    int bad = 0;
    if (!field_ok(req->method, CLASS_BREAK | CLASS_BLANK, &s->method_len))
        return sm_error_set(err, "the request has no method, or a bad one");
    if (req->path)
        s->path_len = span_check(req->path, CLASS_BREAK, &bad);
    if (!req->path || bad)
        return sm_error_set(err, "the request has no path, or a bad one");
    if (req->body_len && !req->body)
        return sm_error_set(err, "the request has a length but no body");
    if (req->payload_hash &&
        !field_ok(req->payload_hash, CLASS_BREAK, &s->payload_hash_len))
        return sm_error_set(err, "the payload hash is empty or has a "
                                 "line break");
    return 0;
}

/* Prefetching helpers are inlined by force: GCC judges a function that
 * only prefetches to have no effect and drops the calls to it (it did so
 * to this signer's prefetching until it was inlined); in the caller's body
 * the prefetches stay. */
#define PREFETCH_INLINE static inline __attribute__((always_inline))

/* Ask for the cache lines of s[0..64): the one the string starts in and,
 * when it crosses one, the next. Most of the request's strings are short,
 * but each sits wherever its allocator put it, so many cross a line and
 * reading them would miss twice, one miss after the other. A prefetch
 * past the end of a string is harmless (it never faults), so the address
 * is computed as an integer. */
PREFETCH_INLINE void prefetch_string(const char *s)
{
    if (s) {
        __builtin_prefetch(s);
        __builtin_prefetch((const void *)((uintptr_t)s + 63));
    }
}

/* Ask for the request's strings all at once. A batch of requests, or a
 * server's received one, is often out of the cache by the time it is
 * signed, and the checks below read field after field: prefetched, the
 * misses overlap instead of coming one after another. The headers' strings
 * are asked for later (headers_prefetch): their addresses are in the
 * header array, which is itself on its way. */
PREFETCH_INLINE void request_prefetch(const sm_sigv4_request *req)
{
    const char *fields[] = {
        /* In the order they are read: the key's, then the header array,
         * whose strings are asked for next, then the rest. */
        req->region,
        req->service,
        req->credentials.access_key,
        req->credentials.secret_key,
        (const char *)req->headers,
        req->method,
        req->path,
        req->payload_hash,
        req->query,
        req->credentials.session_token,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        prefetch_string(fields[i]);
}

PREFETCH_INLINE void headers_prefetch(const sm_sigv4_request *req)
{
    size_t n = req->headers && req->header_count < 16 ? req->header_count : 0;
    for (size_t i = 0; i < n; i++) {
        prefetch_string(req->headers[i].name);
        prefetch_string(req->headers[i].value);
    }
}

/* Date, scope and payload hash: what every form needs first. */
static int signing_begin(signing *s)
{
    const sm_sigv4_request *req = s->req;
    request_prefetch(req);
    /* The time first: it needs nothing from memory, so it is computed
     * while the strings are on their way. */
    if (sm_sigv4_format_time(req->time, s->out->amz_date))
        return sm_error_set(s->err, "the signing time is not between the "
                                    "years 1970 and 9999");
    memcpy(s->id.date, s->out->amz_date, 8);
    s->id.date[8] = '\0';
    if (check_scope(s))
        return -1;
    headers_prefetch(req);
    /* Four HMACs in a chain: the prefetched strings arrive meanwhile. */
    signing_key_get(&s->id, s->key);
    if (check_request(s))
        return -1;
    s->query_len = req->query ? strlen(req->query) : 0;
    const char *token = req->credentials.session_token;
    s->token = token && *token ? token : NULL;
    s->token_len = s->token ? strlen(s->token) : 0;
    s->sign_token = s->token && !req->options.omit_session_token;
    if (req->payload_hash) {
        s->payload_hash = req->payload_hash;
    } else if (!req->body_len) { /* the hash of nothing is well known */
        s->payload_hash = SM_SIGV4_EMPTY_SHA256;
        s->payload_hash_len = 64;
    } else {
        sha256_hex(req->body, req->body_len, s->body_hash);
        s->payload_hash = s->body_hash;
        s->payload_hash_len = 64;
    }
    size_t region_len = s->id.region_len, service_len = s->id.service_len;
    s->scope = scratch_alloc(&s->mem, 8 + region_len + service_len +
                                          sizeof SCOPE_TERMINATOR + 3);
    if (!s->scope)
        return out_of_memory(s);
    char *p = s->scope;
    memcpy(p, s->id.date, 8);
    p[8] = '/';
    p = (char *)memcpy(p + 9, req->region, region_len) + region_len;
    *p++ = '/';
    p = (char *)memcpy(p, req->service, service_len) + service_len;
    memcpy(p, "/" SCOPE_TERMINATOR, sizeof SCOPE_TERMINATOR + 1);
    s->scope_len = (size_t)(p - s->scope) + sizeof SCOPE_TERMINATOR;
    return 0;
}

/* ---- canonical headers -------------------------------------------------- */

static int is_space(char c)
{
    return byte_class[(unsigned char)c] & CLASS_SPACE;
}

/* Whether any of the eight bytes of `w` is below 0x21, as every byte that
 * header values count as whitespace is: exact as a yes or no. */
static int word_has_blank(uint64_t w)
{
    return ((w - 0x2121212121212121ULL) & ~w & 0x8080808080808080ULL) != 0;
}

/* Copy value[0..len) to `out` trimmed, with each run of whitespace (folded
 * line breaks included) made one space: SigV4's Trimall. Runs of eight
 * bytes without a blank are copied whole. Returns the length; `out` must
 * hold len bytes. */
static size_t header_value_trim(const char *value, size_t len, char *out)
{
    size_t n = 0, i = 0;
    int pending_space = 0;
    while (i < len) {
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, value + i, 8), !word_has_blank(w))) {
            if (pending_space)
                out[n++] = ' ';
            pending_space = 0;
            memcpy(out + n, value + i, 8);
            n += 8;
            i += 8;
            continue;
        }
        /* A byte at a time, without branching on it: where the blanks
         * fall in a value is as good as random, and a mispredicted branch
         * costs more than the two stores, whose places are at most the
         * one this byte came from (n never passes i). */
        char c = value[i++];
        int space = is_space(c) != 0;
        out[n] = ' ';
        n += (size_t)(pending_space & !space);
        out[n] = c;
        n += (size_t)!space;
        pending_space = space & (n > 0);
    }
    return n;
}

/* Copy name[0..n) lower-cased to `out` (not terminated). Returns the
 * byte classes the name holds, so that the copy is the check too. */
static unsigned lower_copy(char *out, const char *name, size_t n)
{
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        seen |= byte_class[c];
        out[i] = (char)(c - (unsigned)'A' < 26u ? c + ('a' - 'A') : c);
    }
    return seen;
}

static int name_in_list(const char *name, size_t n, const char *list, char sep)
{
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0)
            return 1;
        p = end ? end + 1 : p + len;
    }
    return 0;
}

static int is_unsigned_header(const char *name, size_t len)
{
    size_t n = sizeof unsigned_headers / sizeof unsigned_headers[0];
    for (size_t i = 0; i < n; i++) {
        if (len == unsigned_headers[i].len &&
            memcmp(name, unsigned_headers[i].name, len) == 0)
            return 1;
    }
    return 0;
}

/* Whether `name` (lower case, `len` bytes) is the literal `lit`. */
#define NAME_IS(name, len, lit)                                                \
    ((len) == sizeof lit - 1 && memcmp(name, lit, sizeof lit - 1) == 0)

/* Whether the caller's header `name` (lower case) is signed as given. */
static int header_taken(const signing *s, const char *name, size_t len)
{
    if (s->form == FORM_VERIFY)
        return name_in_list(name, len, s->verify_headers, ';');
    if (is_unsigned_header(name, len) || NAME_IS(name, len, "authorization"))
        return 0;
    if (s->form == FORM_QUERY)
        return 1;
    /* The header form sets these itself. */
    if (NAME_IS(name, len, "x-amz-date"))
        return 0;
    if (s->token && NAME_IS(name, len, "x-amz-security-token"))
        return 0;
    return !(s->req->options.sign_content_sha256 &&
             NAME_IS(name, len, "x-amz-content-sha256"));
}

#define HEADER_BAD_NAME 1 /* header_add: a line break, blank or ':' */

/* Add one header to sign: `name` lower-cased into scratch, `value` as
 * given (headers_write trims it into place). A caller's header (`check`) is
 * only added when it is signed as given, and its name must not break the
 * canonical request (else HEADER_BAD_NAME). -1 on no memory. */
static int header_add(signing *s, const char *name, size_t name_len,
                      const char *value, size_t value_len, int check)
{
    canon_header *h = &s->headers[s->header_count];
    if (name_len > ((size_t)-1) / 4 || value_len > ((size_t)-1) / 4)
        return -1;
    char *copy = scratch_alloc(&s->mem, name_len + 8);
    if (!copy)
        return -1;
    unsigned classes = lower_copy(copy, name, name_len);
    memset(copy + name_len, 0, 8); /* the NUL and sort_prefix's padding */
    if (check && (classes & (CLASS_BREAK | CLASS_BLANK | CLASS_COLON)))
        return HEADER_BAD_NAME;
    if (check && !header_taken(s, copy, name_len))
        return 0;
    h->prefix = sort_prefix(copy);
    h->name = copy;
    h->name_len = name_len;
    h->value = value;
    h->value_len = value_len;
    h->order = s->header_count++;
    s->header_bytes += name_len + value_len + 2;
    return 0;
}

/* The headers the header form adds and signs. */
static int headers_add_own(signing *s)
{
    int rc = header_add(s, "x-amz-date", 10, s->out->amz_date, 16, 0);
    if (!rc && s->sign_token)
        rc = header_add(s, "x-amz-security-token", 20, s->token, s->token_len,
                        0);
    if (!rc && s->req->options.sign_content_sha256)
        rc = header_add(s, "x-amz-content-sha256", 20, s->payload_hash,
                        s->payload_hash_len, 0);
    return rc;
}

/* Every header to sign, in request order, into s->headers. */
static int headers_collect(signing *s)
{
    const sm_sigv4_request *req = s->req;
    s->headers =
        scratch_alloc(&s->mem, (req->header_count + 3) * sizeof *s->headers);
    if (!s->headers)
        return out_of_memory(s);
    for (size_t i = 0; i < req->header_count; i++) {
        const sm_sigv4_header *h = &req->headers[i];
        size_t name_len = h->name ? strlen(h->name) : 0;
        int rc = name_len && h->value
                     ? header_add(s, h->name, name_len, h->value,
                                  strlen(h->value), 1)
                     : HEADER_BAD_NAME;
        if (rc == HEADER_BAD_NAME)
            return sm_error_set(s->err, "header %zu has a bad name or no value",
                                i + 1);
        if (rc)
            return out_of_memory(s);
    }
    if (s->form == FORM_HEADER && headers_add_own(s))
        return out_of_memory(s);
    return 0;
}

/* Every name the request must carry: Host for signing, each signed name
 * for verifying. */
static int headers_check_present(signing *s)
{
    const char *need = s->form == FORM_VERIFY ? s->verify_headers : "host";
    for (const char *p = need; *p;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int found = 0;
        for (size_t i = 0; i < s->header_count && !found; i++)
            found = s->headers[i].name_len == len &&
                    memcmp(s->headers[i].name, p, len) == 0;
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
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* In place: insertion sort for the usual handful, qsort past that. */
static void headers_sort(canon_header *items, size_t count)
{
    if (count > 48) {
        qsort(items, count, sizeof *items, canon_header_cmp);
        return;
    }
    for (size_t i = 1; i < count; i++) {
        canon_header h = items[i];
        size_t j = i;
        for (; j > 0 && canon_header_cmp(&items[j - 1], &h) > 0; j--)
            items[j] = items[j - 1];
        items[j] = h;
    }
}

static int same_name(const canon_header *a, const canon_header *b)
{
    return a->name_len == b->name_len &&
           memcmp(a->name, b->name, a->name_len) == 0;
}

/* The "a;b;c" list of the sorted headers' names, each once. */
static int signed_headers_make(signing *s)
{
    char *out = scratch_alloc(&s->mem, s->header_bytes + 1);
    if (!out)
        return out_of_memory(s);
    char *p = out;
    for (size_t i = 0; i < s->header_count; i++) {
        const canon_header *h = &s->headers[i];
        if (i > 0 && same_name(h, h - 1))
            continue;
        if (i > 0)
            *p++ = ';';
        p = (char *)memcpy(p, h->name, h->name_len) + h->name_len;
    }
    *p = '\0';
    s->signed_headers = out;
    s->signed_headers_len = (size_t)(p - out);
    return 0;
}

static int canonical_headers_make(signing *s)
{
    int rc = headers_collect(s);
    if (!rc)
        rc = headers_check_present(s);
    if (!rc) {
        headers_sort(s->headers, s->header_count);
        rc = signed_headers_make(s);
    }
    return rc;
}

/* Sorted "name:v1,v2\n" lines into the canonical request, each value
 * trimmed as it is written (header_bytes counts them untrimmed, one
 * newline or comma each, so the room reserved is enough). */
static void headers_write(const signing *s, strbuf *out)
{
    sb_reserve(out, s->header_bytes + 1);
    if (out->failed)
        return;
    char *p = out->data + out->len;
    for (size_t i = 0; i < s->header_count; i++) {
        const canon_header *h = &s->headers[i];
        if (i > 0 && same_name(h, h - 1)) {
            *p++ = ',';
        } else {
            if (i > 0)
                *p++ = '\n';
            p = (char *)memcpy(p, h->name, h->name_len) + h->name_len;
            *p++ = ':';
        }
        p += header_value_trim(h->value, h->value_len, p);
    }
    if (s->header_count)
        *p++ = '\n';
    out->len = (size_t)(p - out->data);
}

/* ---- canonical query ---------------------------------------------------- */

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

/* Write s[0..n) at `out` encoded strictly (see sm_uri_encode), after
 * undoing its %XX escapes when `decode` is set (see sm_uri_decode); `out`
 * has room for 3 * n + 1 bytes. Returns the length written. */
static size_t query_text_put(char *out, const char *s, size_t n, int decode)
{
    static const char hex[] = "0123456789ABCDEF";
    char *start = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) { /* most bytes: no escape either way */
            *out++ = (char)c;
            continue;
        }
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
    return (size_t)(out - start);
}

/* Add one parameter, both halves encoded into scratch. -1 on no memory. */
static int query_add(signing *s, const char *key, size_t key_len,
                     const char *value, size_t value_len, int decode)
{
    if (key_len > ((size_t)-1) / 8 || value_len > ((size_t)-1) / 8)
        return -1;
    char *text = scratch_alloc(&s->mem, 3 * (key_len + value_len) + 9);
    if (!text)
        return -1;
    query_param *p = &s->params[s->param_count++];
    p->key = text;
    p->key_len = query_text_put(text, key, key_len, decode);
    memset(text + p->key_len, 0, 8); /* the NUL and sort_prefix's padding */
    p->prefix = sort_prefix(text);
    p->value = text + p->key_len + 8;
    p->value_len =
        query_text_put(text + p->key_len + 8, value, value_len, decode);
    return 0;
}

/* Whether a received parameter (its key encoded strictly, which matches a
 * name of unreserved bytes only when the decoded key does) stays out of
 * the canonical query. */
static int query_param_dropped(const signing *s, const query_param *p)
{
    if (s->form != FORM_VERIFY)
        return 0;
    if (NAME_IS(p->key, p->key_len, "X-Amz-Signature"))
        return 1;
    return s->req->options.omit_session_token &&
           NAME_IS(p->key, p->key_len, "X-Amz-Security-Token");
}

/* One "key=value" (or "key") piece of the wire query: decoded, then
 * encoded strictly, so raw UTF-8 and %-escapes sign the same. */
static int query_add_piece(signing *s, const char *piece, size_t n)
{
    const char *eq = memchr(piece, '=', n);
    size_t key_n = eq ? (size_t)(eq - piece) : n;
    const char *val = eq ? eq + 1 : piece + n;
    if (query_add(s, piece, key_n, val, n - (size_t)(val - piece), 1))
        return -1;
    if (query_param_dropped(s, &s->params[s->param_count - 1]))
        s->param_count--;
    return 0;
}

/* Split the wire query on '&'; empty pieces ("a=1&&b=2") carry nothing. */
static int query_parse(signing *s)
{
    if (!s->query_len) /* the query may be NULL */
        return 0;
    const char *q = s->req->query, *end = q + s->query_len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        size_t n = amp ? (size_t)(amp - q) : (size_t)(end - q);
        if (n && query_add_piece(s, q, n))
            return -1;
        q += n + (amp ? 1 : 0);
    }
    return 0;
}

/* `v` in decimal at `out` (room for 21 bytes); returns the length. */
static size_t decimal_put(char *out, long v)
{
    char digits[24];
    size_t n = 0;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        digits[n++] = '-';
    for (size_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* The presigned form's own parameters (X-Amz-Signature comes later). */
static int query_add_auth(signing *s)
{
    const sm_sigv4_request *req = s->req;
    size_t cred_len = s->id.access_key_len + 1 + s->scope_len;
    char *cred = scratch_alloc(&s->mem, cred_len + 1), expires[24];
    if (!cred)
        return -1;
    memcpy(cred, req->credentials.access_key, s->id.access_key_len);
    cred[s->id.access_key_len] = '/';
    memcpy(cred + s->id.access_key_len + 1, s->scope, s->scope_len + 1);
    size_t expires_len = decimal_put(expires, req->options.expires);
    int rc = query_add(s, "X-Amz-Algorithm", 15, SM_SIGV4_ALGORITHM,
                       sizeof SM_SIGV4_ALGORITHM - 1, 0);
    if (!rc)
        rc = query_add(s, "X-Amz-Credential", 16, cred, cred_len, 0);
    if (!rc)
        s->sent_credential = s->params[s->param_count - 1];
    if (!rc)
        rc = query_add(s, "X-Amz-Date", 10, s->out->amz_date, 16, 0);
    if (!rc)
        rc = query_add(s, "X-Amz-Expires", 13, expires, expires_len, 0);
    if (!rc)
        rc = query_add(s, "X-Amz-SignedHeaders", 19, s->signed_headers,
                       s->signed_headers_len, 0);
    if (!rc)
        s->sent_headers = s->params[s->param_count - 1];
    if (!rc && s->sign_token)
        rc =
            query_add(s, "X-Amz-Security-Token", 20, s->token, s->token_len, 0);
    if (!rc && s->sign_token)
        s->sent_token = s->params[s->param_count - 1];
    return rc;
}

static int query_param_cmp(const void *a, const void *b)
{
    const query_param *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* In place: insertion sort for the usual handful, qsort past that. */
static void query_sort(query_param *items, size_t count)
{
    if (count > 48) {
        qsort(items, count, sizeof *items, query_param_cmp);
        return;
    }
    for (size_t i = 1; i < count; i++) {
        query_param p = items[i];
        size_t j = i;
        for (; j > 0 && query_param_cmp(&items[j - 1], &p) > 0; j--)
            items[j] = items[j - 1];
        items[j] = p;
    }
}

/* The parameters to sign, sorted, in s->params: the wire query's pieces
 * and, presigning, the form's own. */
static int canonical_query_make(signing *s)
{
    size_t pieces = 1; /* the query's, counted by its '&'s */
    if (s->query_len) {
        const char *amp = s->req->query, *end = amp + s->query_len;
        for (; (amp = memchr(amp, '&', (size_t)(end - amp))) != NULL; amp++)
            pieces++;
    }
    if (s->form == FORM_QUERY)
        pieces += 6;
    s->params = scratch_alloc(&s->mem, pieces * sizeof *s->params);
    int rc = s->params ? query_parse(s) : -1;
    if (!rc && s->form == FORM_QUERY)
        rc = query_add_auth(s);
    if (rc)
        return out_of_memory(s);
    query_sort(s->params, s->param_count);
    return 0;
}

/* "k1=v1&k2=v2" into the canonical request. */
static void query_write(const signing *s, strbuf *out)
{
    for (size_t i = 0; i < s->param_count; i++) {
        const query_param *p = &s->params[i];
        sb_reserve(out, p->key_len + p->value_len + 2);
        if (i)
            sb_add_char(out, '&');
        sb_add_n(out, p->key, p->key_len);
        sb_add_char(out, '=');
        sb_add_n(out, p->value, p->value_len);
    }
}

/* ---- canonical path ----------------------------------------------------- */

/* botocore's remove_dot_segments, which AWS services expect: empty and "."
 * segments go, ".." drops the one before; a leading '/' stays, and a
 * trailing '/' stays when any segment is left. The kept segments are
 * written at `out` (room for len + 2 bytes) as they come and a ".." cuts
 * back to the last '/'. Returns the length written. */
static size_t path_normalize(const char *path, size_t path_len, char *out)
{
    size_t count = 0, len = 0;
    if (path[0] == '/')
        out[len++] = '/';
    size_t start = len; /* where the first segment goes */
    for (const char *p = path;;) {
        size_t left = path_len - (size_t)(p - path);
        const char *end = memchr(p, '/', left);
        size_t n = end ? (size_t)(end - p) : left;
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (count) {
                char *cut = memrchr(out + start, '/', len - start);
                len = cut ? (size_t)(cut - out) : start;
            }
            count -= count > 0;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (count)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
            count++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (count && path[path_len - 1] == '/')
        out[len++] = '/';
    return len;
}

/* The canonical URI into the canonical request: normalised and encoded
 * again for most services, the wire path itself for S3; "/" when that
 * leaves nothing. */
static int canonical_path_write(signing *s, strbuf *out)
{
    const sm_sigv4_options *o = &s->req->options;
    const char *path = s->req->path;
    size_t len = s->path_len;
    if (o->normalize_path && len) {
        char *normal = scratch_alloc(&s->mem, len + 2);
        if (!normal)
            return -1;
        len = path_normalize(path, len, normal);
        path = normal;
    }
    if (len == 0)
        sb_add_char(out, '/');
    else if (o->double_encode_path)
        sb_add_encoded(out, path, len, 1);
    else
        sb_add_n(out, path, len);
    return 0;
}

/* ---- request, string to sign, signature --------------------------------- */

static void method_write(const signing *s, strbuf *out)
{
    size_t start = out->len;
    sb_add_n(out, s->req->method, s->method_len);
    for (size_t i = start; !out->failed && i < out->len; i++) {
        char c = out->data[i];
        out->data[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
}

/* Room for every string of the result, so `text` is allocated once: the
 * payload hash, the canonical request (the path three bytes out for each
 * in), the string to sign, and the Authorization value or the presigned
 * query (its values three out for each in) with the session token. */
static void text_reserve(signing *s)
{
    size_t params = 0;
    for (size_t i = 0; i < s->param_count; i++)
        params += s->params[i].key_len + s->params[i].value_len + 2;
    size_t request = s->method_len + 3 * s->path_len + params +
                     s->header_bytes + s->signed_headers_len +
                     s->payload_hash_len + 8;
    size_t sts = sizeof SM_SIGV4_ALGORITHM + 16 + s->scope_len + 68;
    size_t ids = s->id.access_key_len + s->scope_len + s->signed_headers_len;
    size_t last = s->form == FORM_QUERY
                      ? s->query_len + 3 * (ids + s->token_len) + 256
                      : ids + 128;
    sb_reserve(&s->text, s->payload_hash_len + 1 + request + sts + last +
                             s->token_len + 1);
}

static int canonical_request_make(signing *s)
{
    strbuf *t = &s->text;
    text_reserve(s);
    s->hash_at = t->len;
    sb_add_n(t, s->payload_hash, s->payload_hash_len);
    sb_add_char(t, '\0');
    s->request_at = t->len;
    method_write(s, t);
    sb_add_char(t, '\n');
    if (canonical_path_write(s, t))
        return out_of_memory(s);
    sb_add_char(t, '\n');
    query_write(s, t);
    sb_add_char(t, '\n');
    headers_write(s, t);
    sb_add_char(t, '\n');
    sb_add_n(t, s->signed_headers, s->signed_headers_len);
    sb_add_char(t, '\n');
    sb_add_n(t, s->payload_hash, s->payload_hash_len);
    s->request_len = t->len - s->request_at;
    sb_add_char(t, '\0');
    return t->failed ? out_of_memory(s) : 0;
}

static int string_to_sign_make(signing *s)
{
    strbuf *t = &s->text;
    char hash[65];
    sha256_hex(t->data + s->request_at, s->request_len, hash);
    s->sts_at = t->len;
    SB_ADD_LIT(t, SM_SIGV4_ALGORITHM "\n");
    sb_add_n(t, s->out->amz_date, 16);
    sb_add_char(t, '\n');
    sb_add_n(t, s->scope, s->scope_len);
    sb_add_char(t, '\n');
    sb_add_n(t, hash, 64);
    s->sts_len = t->len - s->sts_at;
    sb_add_char(t, '\0');
    return t->failed ? out_of_memory(s) : 0;
}

/* The hex HMAC of the string to sign under kSigning, which is wiped. */
static int signature_make(signing *s)
{
    unsigned char mac[SM_SHA256_SIZE];
    sm_hmac_sha256_mac(s->key, sizeof s->key, s->text.data + s->sts_at,
                       s->sts_len, mac);
    hex_digest(mac, s->out->signature);
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

/* Hand `text` to the result and point its strings into it; `last` is the
 * Authorization value or the presigned query, when there is one. */
static void signing_publish(signing *s, char **last)
{
    sm_sigv4_result *out = s->out;
    char *text = s->text.data;
    out->text = text;
    out->text_size = s->text.len + 1; /* what was written */
    out->payload_hash = text + s->hash_at;
    out->canonical_request = text + s->request_at;
    out->string_to_sign = text + s->sts_at;
    if (last)
        *last = text + s->last_at;
    if (s->token_at)
        out->session_token = text + s->token_at;
    s->text = (strbuf){0};
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
    strbuf *t = &s->text;
    s->last_at = t->len;
    SB_ADD_LIT(t, SM_SIGV4_ALGORITHM " Credential=");
    sb_add_n(t, s->req->credentials.access_key, s->id.access_key_len);
    sb_add_char(t, '/');
    sb_add_n(t, s->scope, s->scope_len);
    SB_ADD_LIT(t, ", SignedHeaders=");
    sb_add_n(t, s->signed_headers, s->signed_headers_len);
    SB_ADD_LIT(t, ", Signature=");
    sb_add_n(t, s->out->signature, 64);
    sb_add_char(t, '\0');
    if (s->token) {
        s->token_at = t->len;
        sb_add_n(t, s->token, s->token_len);
        sb_add_char(t, '\0');
    }
    if (t->failed)
        return out_of_memory(s);
    s->out->content_sha256 = s->req->options.sign_content_sha256;
    signing_publish(s, &s->out->authorization);
    return 0;
}

int sm_sigv4_sign(const sm_sigv4_request *req, sm_sigv4_result *out,
                  sm_error *err)
{
    alignas(max_align_t) unsigned char stack[SCRATCH_STACK];
    signing s;
    signing_init(&s, req, FORM_HEADER, out, err, stack);
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
    strbuf *t = &s->text;
    char expires[24];
    size_t expires_len = decimal_put(expires, req->options.expires);
    s->last_at = t->len;
    if (s->query_len) {
        sb_add_n(t, req->query, s->query_len);
        sb_add_char(t, '&');
    }
    SB_ADD_LIT(t, "X-Amz-Algorithm=" SM_SIGV4_ALGORITHM "&X-Amz-Credential=");
    sb_add_n(t, s->sent_credential.value, s->sent_credential.value_len);
    SB_ADD_LIT(t, "&X-Amz-Date=");
    sb_add_n(t, s->out->amz_date, 16);
    SB_ADD_LIT(t, "&X-Amz-SignedHeaders=");
    sb_add_n(t, s->sent_headers.value, s->sent_headers.value_len);
    SB_ADD_LIT(t, "&X-Amz-Expires=");
    sb_add_n(t, expires, expires_len);
    if (s->token) {
        SB_ADD_LIT(t, "&X-Amz-Security-Token=");
        if (s->sent_token.value)
            sb_add_n(t, s->sent_token.value, s->sent_token.value_len);
        else
            sb_add_encoded(t, s->token, s->token_len, 0);
    }
    SB_ADD_LIT(t, "&X-Amz-Signature=");
    sb_add_n(t, s->out->signature, 64);
    sb_add_char(t, '\0');
    if (t->failed)
        return out_of_memory(s);
    signing_publish(s, &s->out->query);
    return 0;
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
    alignas(max_align_t) unsigned char stack[SCRATCH_STACK];
    signing s;
    signing_init(&s, req, FORM_QUERY, out, err, stack);
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
    if (!signed_headers || !*signed_headers || !signature)
        return sm_error_set(err, "the request names no signed headers or "
                                 "no signature");
    alignas(max_align_t) unsigned char stack[SCRATCH_STACK];
    signing s;
    signing_init(&s, req, FORM_VERIFY, out, err, stack);
    s.verify_headers = signed_headers;
    int rc = signing_run(&s);
    if (!rc)
        signing_publish(&s, NULL);
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
    if (self->text) {
        sodium_memzero(self->text, self->text_size);
        free(self->text);
    }
    *self = (sm_sigv4_result){0};
}
