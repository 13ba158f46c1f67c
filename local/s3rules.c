/* s3rules: each rule as S3's documentation states it, kept free of I/O so
 * the unit tests can pin every edge. */
#include "s3rules.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hex.h"
#include "uri.h"
#include "utf8.h"

/* ---- names -------------------------------------------------------------- */

static const char *const reserved_prefixes[] = {"xn--", "sthree-",
                                                "amzn-s3-demo-"};
static const char *const reserved_suffixes[] = {"-s3alias", "--ol-s3", ".mrap",
                                                "--x-s3", "--table-s3"};

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Four dot-separated runs of 1 to 3 digits: 192.168.5.4 */
static int looks_like_ipv4(const char *s)
{
    int groups = 0, digits = 0;
    for (const char *p = s;; p++) {
        if (*p >= '0' && *p <= '9') {
            if (++digits > 3)
                return 0;
        } else if (*p == '.' || *p == '\0') {
            if (!digits)
                return 0;
            groups++;
            digits = 0;
            if (!*p)
                break;
        } else {
            return 0;
        }
    }
    return groups == 4;
}

static int lower_or_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

const char *sm_s3rules_bucket_invalid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 3 || n > 63)
        return "a bucket name is 3 to 63 characters long";
    for (const char *p = name; *p; p++) {
        if (!lower_or_digit(*p) && *p != '.' && *p != '-')
            return "a bucket name holds only lower-case letters, digits, "
                   "dots and hyphens";
    }
    if (!lower_or_digit(name[0]) || !lower_or_digit(name[n - 1]))
        return "a bucket name starts and ends with a letter or a digit";
    if (strstr(name, ".."))
        return "a bucket name has no two adjacent dots";
    if (looks_like_ipv4(name))
        return "a bucket name is not formatted as an IP address";
    for (size_t i = 0; i < sizeof reserved_prefixes / sizeof(char *); i++) {
        if (starts_with(name, reserved_prefixes[i]))
            return "a bucket name does not start with a reserved prefix";
    }
    for (size_t i = 0; i < sizeof reserved_suffixes / sizeof(char *); i++) {
        if (ends_with(name, reserved_suffixes[i]))
            return "a bucket name does not end with a reserved suffix";
    }
    return NULL;
}

const char *sm_s3rules_key_invalid(const char *key, size_t len)
{
    if (len == 0)
        return "an object key is at least one byte long";
    if (len > SM_S3_MAX_KEY)
        return "an object key is at most 1,024 bytes long";
    if (memchr(key, '\0', len))
        return "an object key holds no NUL character";
    if (!sm_utf8_valid(key, len))
        return "an object key is valid UTF-8";
    return NULL;
}

/* ---- ETags -------------------------------------------------------------- */

void sm_s3rules_etag(const unsigned char md5[16], char out[35])
{
    out[0] = '"';
    sm_hex(md5, 16, out + 1);
    out[33] = '"';
    out[34] = '\0';
}

int sm_s3rules_multipart_etag(const unsigned char (*md5s)[16], size_t count,
                              char out[48])
{
    unsigned char digest[16];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    for (size_t i = 0; ok && i < count; i++)
        ok = EVP_DigestUpdate(ctx, md5s[i], 16);
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &len) && len == 16;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    char digest_hex[33];
    sm_hex(digest, 16, digest_hex);
    snprintf(out, 48, "\"%s-%zu\"", digest_hex, count);
    return 0;
}

int sm_s3rules_etag_bare(const char *etag, char *out, size_t size)
{
    const char *s = etag;
    if (strncmp(s, "W/", 2) == 0)
        s += 2;
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    if (n >= size)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* ---- ranges ------------------------------------------------------------- */

/* Digits at *p into *out; 0, or -1 when there are none or they overflow. */
static int read_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return 0;
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

sm_s3_range sm_s3rules_range(const char *header, uint64_t size)
{
    sm_s3_range none = {SM_S3_RANGE_NONE, 0, 0};
    sm_s3_range unsat = {SM_S3_RANGE_UNSATISFIABLE, 0, 0};
    if (!header)
        return none;
    const char *p = header;
    skip_ws(&p);
    if (strncasecmp(p, "bytes", 5) != 0)
        return none;
    p += 5;
    skip_ws(&p);
    if (*p++ != '=')
        return none;
    skip_ws(&p);
    uint64_t first = 0, last = UINT64_MAX;
    int suffix = *p == '-';
    if (suffix) {
        p++;
        if (read_u64(&p, &last))
            return none;
    } else {
        if (read_u64(&p, &first) || *p++ != '-')
            return none;
        if (*p >= '0' && *p <= '9' && read_u64(&p, &last))
            return none;
    }
    skip_ws(&p);
    if (*p != '\0' || (!suffix && first > last))
        return none; /* a list of ranges, or nonsense: S3 sends it all */
    if (suffix) {
        if (last == 0 || size == 0)
            return unsat;
        first = last >= size ? 0 : size - last;
        return (sm_s3_range){SM_S3_RANGE_OK, first, size - 1};
    }
    if (first >= size)
        return unsat;
    return (sm_s3_range){SM_S3_RANGE_OK, first, last < size ? last : size - 1};
}

/* ---- copies ------------------------------------------------------------- */

#define COPY_BAD_BUCKET "Invalid copy source bucket name"
#define COPY_BAD_KEY "Invalid copy source object key"
#define COPY_BAD_ENCODING "Invalid copy source encoding"

/* Every '%' in the `len` bytes of `s` starts an escape of two hex digits. */
static int escapes_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%')
            continue;
        if (len - i < 3 || !isxdigit((unsigned char)s[i + 1]) ||
            !isxdigit((unsigned char)s[i + 2]))
            return 0;
        i += 2;
    }
    return 1;
}

/* The %-decoded `len` bytes of `s` into *out (new): NULL, or the
 * sentence for a broken escape; *oom when memory ran out. */
static const char *copy_decode(const char *s, size_t len, char **out,
                               size_t *out_len, int *oom)
{
    if (!escapes_valid(s, len))
        return COPY_BAD_ENCODING;
    *out = sm_uri_decode(s, len, out_len);
    *oom = !*out;
    return NULL;
}

/* The "?versionId=ID" that may follow the object: NULL or a sentence. */
static const char *copy_version(const char *query, sm_s3_copy_source *out,
                                int *oom)
{
    static const char param[] = "versionId=";
    size_t n = 0;
    if (strncmp(query, param, sizeof param - 1) != 0)
        return "The copy source may carry no parameter but versionId";
    query += sizeof param - 1;
    return copy_decode(query, strlen(query), &out->version_id, &n, oom);
}

static const char *copy_parse(const char *header, sm_s3_copy_source *out,
                              int *oom)
{
    const char *p = header ? header : "";
    p += *p == '/';
    size_t path_len = strcspn(p, "?");
    size_t bucket_len = strcspn(p, "/?");
    const char *why = NULL;
    size_t n = 0;
    if (p[path_len] == '?')
        why = copy_version(p + path_len + 1, out, oom);
    if (!why && !*oom)
        why = copy_decode(p, bucket_len, &out->bucket, &n, oom);
    if (!why && !*oom &&
        (strlen(out->bucket) != n || sm_s3rules_bucket_invalid(out->bucket)))
        why = COPY_BAD_BUCKET;
    if (!why && !*oom && bucket_len + 1 >= path_len)
        why = COPY_BAD_KEY; /* no '/', or nothing after it */
    if (!why && !*oom)
        why = copy_decode(p + bucket_len + 1, path_len - bucket_len - 1,
                          &out->key, &out->key_len, oom);
    if (!why && !*oom && sm_s3rules_key_invalid(out->key, out->key_len))
        why = COPY_BAD_KEY;
    return why;
}

int sm_s3rules_copy_source(const char *header, sm_s3_copy_source *out,
                           const char **why)
{
    *out = (sm_s3_copy_source){0};
    int oom = 0;
    *why = copy_parse(header, out, &oom);
    if (!*why && !oom)
        return 0;
    if (oom)
        *why = NULL;
    sm_s3rules_copy_source_clear(out);
    return -1;
}

void sm_s3rules_copy_source_clear(sm_s3_copy_source *src)
{
    free(src->bucket);
    free(src->key);
    free(src->version_id);
    *src = (sm_s3_copy_source){0};
}

sm_s3_copy_range sm_s3rules_copy_range(const char *header, uint64_t size)
{
    sm_s3_copy_range r = {SM_S3_COPY_RANGE_OK, 0, size};
    if (header) {
        const char *p = header;
        uint64_t last = 0;
        if (strncmp(p, "bytes=", 6) != 0)
            return (sm_s3_copy_range){SM_S3_COPY_RANGE_MALFORMED, 0, 0};
        p += 6;
        if (read_u64(&p, &r.first) || *p++ != '-' || read_u64(&p, &last) || *p)
            return (sm_s3_copy_range){SM_S3_COPY_RANGE_MALFORMED, 0, 0};
        if (r.first > last || last >= size)
            return (sm_s3_copy_range){SM_S3_COPY_RANGE_OUTSIDE, 0, 0};
        r.length = last - r.first + 1;
    }
    if (r.length > SM_S3_MAX_PART)
        r.kind = SM_S3_COPY_RANGE_TOO_LARGE;
    return r;
}

/* ---- listing tokens ----------------------------------------------------- */

#define TOKEN_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

char *sm_s3rules_token_encode(const char *marker, size_t len, int is_prefix)
{
    unsigned char *raw = malloc(len + 1);
    size_t out_len = sodium_base64_ENCODED_LEN(len + 1, TOKEN_VARIANT);
    char *out = malloc(out_len);
    if (raw && out) {
        raw[0] = is_prefix ? 'p' : 'k';
        memcpy(raw + 1, marker, len);
        sodium_bin2base64(out, out_len, raw, len + 1, TOKEN_VARIANT);
    } else {
        free(out);
        out = NULL;
    }
    free(raw);
    return out;
}

int sm_s3rules_token_decode(const char *token, char **marker, int *is_prefix)
{
    size_t n = strlen(token), len = 0;
    unsigned char *raw = malloc(n + 1);
    if (!raw)
        return -1;
    if (sodium_base642bin(raw, n + 1, token, n, NULL, &len, NULL,
                          TOKEN_VARIANT) != 0 ||
        len < 2 || (raw[0] != 'k' && raw[0] != 'p') ||
        sm_s3rules_key_invalid((char *)raw + 1, len - 1)) {
        free(raw);
        return -1;
    }
    *is_prefix = raw[0] == 'p';
    memmove(raw, raw + 1, len - 1);
    raw[len - 1] = '\0';
    *marker = (char *)raw;
    return 0;
}

/* ---- time --------------------------------------------------------------- */

static const char *const day_names[] = {"Sun", "Mon", "Tue", "Wed",
                                        "Thu", "Fri", "Sat"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr",
                                          "May", "Jun", "Jul", "Aug",
                                          "Sep", "Oct", "Nov", "Dec"};

void sm_s3rules_time_iso(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char text[96];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    size_t n = strnlen(text, 31);
    memcpy(out, text, n);
    out[n] = '\0';
}

void sm_s3rules_time_http(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char text[96];
    snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
             day_names[tm.tm_wday], tm.tm_mday, month_names[tm.tm_mon],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    size_t n = strnlen(text, 39);
    memcpy(out, text, n);
    out[n] = '\0';
}

time_t sm_s3rules_time_parse_http(const char *s)
{
    char day[4], month[4], zone[4];
    struct tm tm = {0};
    if (sscanf(s, "%3s, %d %3s %d %d:%d:%d %3s", day, &tm.tm_mday, month,
               &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, zone) != 8 ||
        strcmp(zone, "GMT") != 0)
        return -1;
    tm.tm_mon = -1;
    for (int i = 0; i < 12; i++) {
        if (strcmp(month, month_names[i]) == 0)
            tm.tm_mon = i;
    }
    if (tm.tm_mon < 0)
        return -1;
    tm.tm_year -= 1900;
    return timegm(&tm);
}
