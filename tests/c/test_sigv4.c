/* test_sigv4: the SigV4 signer against every case of the public suite, plus
 * the encoding, S3 and verification rules one by one. */
#define _POSIX_C_SOURCE 200809L /* strdup, strcasecmp, opendir */

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request_text.h"
#include "sha256.h"
#include "sigv4.h"
#include "test.h"
#include "uri.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T20150830 1440938160 /* 2015-08-30T12:36:00Z */

/* ---- helpers ------------------------------------------------------------ */

/* `a`/`b` into out; -1 when it does not fit. */
static int path_join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* New contents of `dir`/`name` (NUL-terminated), or NULL. */
static char *read_text(const char *dir, const char *name, size_t *len_out)
{
    char path[4096];
    if (path_join(path, sizeof path, dir, name))
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

static const char *suite_dir(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/testdata/sigv4-suite/v4", test_shared_dir());
    return dir;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* New sorted list of the case folders; *count set. */
static char **suite_cases(size_t *count)
{
    DIR *d = opendir(suite_dir());
    char **names = NULL;
    *count = 0;
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (*count + 1) * sizeof *names);
        names[(*count)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, *count, sizeof *names, name_cmp);
    return names;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* A suite case: its context.json and request.txt, loaded. */
typedef struct suite_case {
    char dir[4096];
    const char *name;
    json_t *context;
    sm_request_text *request;
    sm_sigv4_request req;
} suite_case;

static const char *ctx_str(json_t *ctx, const char *key)
{
    return json_string_value(json_object_get(ctx, key));
}

/* The suite's options: its services are not S3, so paths are encoded
 * again; normalize, sign_body and omit_session_token come from context. */
static sm_sigv4_options case_options(json_t *ctx)
{
    sm_sigv4_options o = sm_sigv4_options_for(ctx_str(ctx, "service"));
    o.normalize_path = json_is_true(json_object_get(ctx, "normalize"));
    o.sign_content_sha256 = json_is_true(json_object_get(ctx, "sign_body"));
    o.omit_session_token =
        json_is_true(json_object_get(ctx, "omit_session_token"));
    o.expires =
        (long)json_integer_value(json_object_get(ctx, "expiration_in_seconds"));
    return o;
}

static int case_load(suite_case *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    char path[4096];
    if (path_join(c->dir, sizeof c->dir, suite_dir(), name) ||
        path_join(path, sizeof path, c->dir, "context.json"))
        return -1;
    c->context = json_load_file(path, 0, NULL);
    size_t len = 0;
    char *text = read_text(c->dir, "request.txt", &len);
    sm_error err = {{0}};
    if (text)
        c->request = sm_request_text_parse(text, len, &err);
    free(text);
    time_t t = 0;
    if (!c->context || !c->request ||
        sm_sigv4_parse_time(ctx_str(c->context, "timestamp"), &t, &err))
        return -1;
    json_t *creds = json_object_get(c->context, "credentials");
    c->req = (sm_sigv4_request){
        .method = c->request->method,
        .path = c->request->path,
        .query = c->request->query,
        .headers = c->request->headers,
        .header_count = c->request->header_count,
        .body = c->request->body,
        .body_len = c->request->body_len,
        .region = ctx_str(c->context, "region"),
        .service = ctx_str(c->context, "service"),
        .credentials = {ctx_str(creds, "access_key_id"),
                        ctx_str(creds, "secret_access_key"),
                        ctx_str(creds, "token")},
        .time = t,
        .options = case_options(c->context),
    };
    return 0;
}

static void case_free(suite_case *c)
{
    json_decref(c->context);
    sm_request_text_destroy(&c->request);
}

/* Compare `got` with the file `file` of the case; report under `what`. */
static int case_expect(const suite_case *c, const char *file, const char *got)
{
    char *want = read_text(c->dir, file, NULL);
    int same = want && got && strcmp(got, want) == 0;
    if (!same) {
        char label[512];
        snprintf(label, sizeof label, "case %s, %s", c->name, file);
        test_fail_str(__FILE__, __LINE__, label, got, want);
    }
    free(want);
    return same;
}

/* The request line with `query` (may be "") after the path. */
static void request_line(const sm_request_text *r, const char *query, char *out,
                         size_t size)
{
    snprintf(out, size, "%s %s%s%s %s\n", r->method, r->path, *query ? "?" : "",
             query, r->version);
}

/* The request as the header form sends it, as the suite writes it. */
static char *signed_request_header(const sm_request_text *r,
                                   const sm_sigv4_result *res)
{
    size_t size = strlen(r->head) + r->body_len + 8192 + strlen(r->path) +
                  strlen(r->query) * 2;
    char *out = malloc(size);
    request_line(r, r->query, out, size);
    strcat(out, r->head);
    sm_sigv4_header add[4];
    size_t n = sm_sigv4_result_headers(res, add);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s:%s\n", add[i].name, add[i].value);
    }
    strcat(out, "\n");
    strcat(out, r->body);
    return out;
}

/* The request as the query form sends it. */
static char *signed_request_query(const sm_request_text *r,
                                  const sm_sigv4_result *res)
{
    size_t size = strlen(r->head) + r->body_len + strlen(res->query) +
                  strlen(r->path) + 64;
    char *out = malloc(size);
    request_line(r, res->query, out, size);
    strcat(out, r->head);
    strcat(out, "\n");
    strcat(out, r->body);
    return out;
}

static int case_check_header(const suite_case *c)
{
    sm_sigv4_result res = {0};
    sm_error err = {{0}};
    int ok = sm_sigv4_sign(&c->req, &res, &err) == 0;
    if (!ok)
        test_fail_str(__FILE__, __LINE__, c->name, err.message, "signed");
    ok = ok &&
         case_expect(c, "header-canonical-request.txt", res.canonical_request);
    ok = ok && case_expect(c, "header-string-to-sign.txt", res.string_to_sign);
    ok = ok && case_expect(c, "header-signature.txt", res.signature);
    if (ok) {
        char *sent = signed_request_header(c->request, &res);
        ok = case_expect(c, "header-signed-request.txt", sent);
        free(sent);
    }
    sm_sigv4_result_clear(&res);
    return ok;
}

static int case_check_query(const suite_case *c)
{
    sm_sigv4_result res = {0};
    sm_error err = {{0}};
    int ok = sm_sigv4_presign(&c->req, &res, &err) == 0;
    if (!ok)
        test_fail_str(__FILE__, __LINE__, c->name, err.message, "presigned");
    ok = ok &&
         case_expect(c, "query-canonical-request.txt", res.canonical_request);
    ok = ok && case_expect(c, "query-string-to-sign.txt", res.string_to_sign);
    ok = ok && case_expect(c, "query-signature.txt", res.signature);
    if (ok) {
        char *sent = signed_request_query(c->request, &res);
        ok = case_expect(c, "query-signed-request.txt", sent);
        free(sent);
    }
    sm_sigv4_result_clear(&res);
    return ok;
}

/* ---- verification of the suite's signed requests ------------------------ */

static const char *header_get(const sm_request_text *r, const char *name)
{
    for (size_t i = 0; i < r->header_count; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    }
    return NULL;
}

/* Copy the text after `key` in `s` up to one of `stops` into out. */
static void copy_field(const char *s, const char *key, const char *stops,
                       char *out, size_t size)
{
    const char *p = s ? strstr(s, key) : NULL;
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(key);
    size_t n = strcspn(p, stops);
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

/* The decoded value of query parameter `key`, into out. */
static void query_get(const char *query, const char *key, char *out,
                      size_t size)
{
    char pattern[128], raw[4096];
    snprintf(pattern, sizeof pattern, "%s=", key);
    copy_field(query, pattern, "&", raw, sizeof raw);
    size_t n = 0;
    char *decoded = sm_uri_decode(raw, strlen(raw), &n);
    snprintf(out, size, "%s", decoded ? decoded : "");
    free(decoded);
}

/* The X-Amz-Date, SignedHeaders and Signature a signed request carries,
 * in its query (query form) or its headers. */
static void signed_fields(const sm_request_text *r, int query, char date[64],
                          char names[1024], char sig[128])
{
    if (query) {
        query_get(r->query, "X-Amz-Date", date, 64);
        query_get(r->query, "X-Amz-SignedHeaders", names, 1024);
        query_get(r->query, "X-Amz-Signature", sig, 128);
        return;
    }
    const char *auth = header_get(r, "Authorization");
    const char *d = header_get(r, "X-Amz-Date");
    snprintf(date, 64, "%s", d ? d : "");
    copy_field(auth, "SignedHeaders=", ",", names, 1024);
    copy_field(auth, "Signature=", ", ", sig, 128);
}

/* Verify the suite's signed request `file` (query form when `query`),
 * then check a changed copy is refused. */
static int case_check_verify(const suite_case *c, const char *file, int query)
{
    size_t len = 0;
    char *text = read_text(c->dir, file, &len);
    sm_error err = {{0}}, err2 = {{0}};
    sm_request_text *r = text ? sm_request_text_parse(text, len, &err) : 0;
    free(text);
    if (!r)
        return 0;
    char date[64], names[1024], sig[128];
    signed_fields(r, query, date, names, sig);
    sm_sigv4_request req = c->req;
    req.headers = r->headers;
    req.header_count = r->header_count;
    req.query = r->query;
    req.payload_hash = header_get(r, "x-amz-content-sha256");
    sm_sigv4_result res = {0};
    int ok = sm_sigv4_parse_time(date, &req.time, &err) == 0 &&
             sm_sigv4_verify(&req, names, sig, &res, &err) == 0;
    sm_sigv4_result_clear(&res);
    /* The same request with another method must not verify. */
    req.method = strcmp(req.method, "GET") ? "GET" : "PUT";
    ok = ok && sm_sigv4_verify(&req, names, sig, &res, &err2) != 0;
    sm_sigv4_result_clear(&res);
    if (!ok) {
        char label[512];
        snprintf(label, sizeof label, "case %s, verify %s", c->name, file);
        test_fail_str(__FILE__, __LINE__, label, err.message, "verified");
    }
    sm_request_text_destroy(&r);
    return ok;
}

/* ---- the suite ---------------------------------------------------------- */

TEST(sigv4_suite_every_case)
{
    size_t count = 0;
    char **names = suite_cases(&count);
    int header_ok = 0, query_ok = 0, verify_ok = 0, loaded = 0;
    for (size_t i = 0; i < count; i++) {
        suite_case c;
        if (case_load(&c, names[i]) == 0) {
            loaded++;
            header_ok += case_check_header(&c);
            query_ok += case_check_query(&c);
            verify_ok +=
                case_check_verify(&c, "header-signed-request.txt", 0) &&
                case_check_verify(&c, "query-signed-request.txt", 1);
        } else {
            test_fail_str(__FILE__, __LINE__, "loading case", names[i],
                          "context.json and request.txt");
        }
        case_free(&c);
    }
    printf("    suite %s: %zu cases, header %d, query %d, verify %d pass\n",
           suite_dir(), count, header_ok, query_ok, verify_ok);
    free_names(names, count);
    if (count == 0)
        test_fail_str(__FILE__, __LINE__, "SigV4 suite folder", suite_dir(),
                      "a folder of case folders");
    CHECK(count > 0);
    CHECK(loaded == (int)count);
    CHECK(header_ok == (int)count);
    CHECK(query_ok == (int)count);
    CHECK(verify_ok == (int)count);
}

/* ---- encoding ----------------------------------------------------------- */

TEST(sigv4_uri_encode_unreserved_only)
{
    char *s = sm_uri_encode("a b+c/~d-_.e=&%", 15, 0);
    CHECK_STR(s, "a%20b%2Bc%2F~d-_.e%3D%26%25");
    free(s);
    s = sm_uri_encode("data/a b+c.csv", 14, 1);
    CHECK_STR(s, "data/a%20b%2Bc.csv");
    free(s);
    s = sm_uri_encode("\xe1\x88\xb4", 3, 1);
    CHECK_STR(s, "%E1%88%B4");
    free(s);
    /* Every byte: kept exactly when unreserved, else upper-case %XX. */
    for (int c = 1; c < 256; c++) {
        char in = (char)c, want[4];
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                   (c >= '0' && c <= '9') || strchr("-._~", c);
        snprintf(want, sizeof want, keep ? "%c" : "%%%02X", c);
        s = sm_uri_encode(&in, 1, 0);
        CHECK_STR(s, want);
        free(s);
    }
}

TEST(sigv4_uri_decode)
{
    size_t n = 0;
    char *s = sm_uri_decode("%E1%88%b4+a%20b", 15, &n);
    CHECK(n == 7 && memcmp(s, "\xe1\x88\xb4+a b", 7) == 0);
    free(s);
    s = sm_uri_decode("100%%zz%4", 9, &n);
    CHECK_STR(s, "100%%zz%4");
    free(s);
    s = sm_uri_decode("a%00b", 5, &n);
    CHECK(n == 3 && s[1] == '\0' && s[2] == 'b');
    free(s);
}

/* Sign a GET with `path` and `query` for `service`; new result. */
static int sign_simple(const char *service, const char *path, const char *query,
                       sm_sigv4_result *res)
{
    static const sm_sigv4_header host[] = {{"Host", "example.amazonaws.com"}};
    sm_sigv4_request req = {
        .method = "GET",
        .path = path,
        .query = query,
        .headers = host,
        .header_count = 1,
        .region = "us-east-1",
        .service = service,
        .credentials = {AKID, SECRET, NULL},
        .time = T20150830,
        .options = sm_sigv4_options_for(service),
    };
    sm_error err = {{0}};
    return sm_sigv4_sign(&req, res, &err);
}

/* Line `n` (0-based) of the canonical request, into a static buffer. */
static const char *cr_line(const sm_sigv4_result *res, int n)
{
    static char line[4096];
    const char *p = res->canonical_request;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    snprintf(line, sizeof line, "%.*s", p ? (int)strcspn(p, "\n") : 0,
             p ? p : "");
    return line;
}

static void check_query(const char *query, const char *want)
{
    sm_sigv4_result res = {0};
    if (sign_simple("service", "/", query, &res)) {
        test_fail_str(__FILE__, __LINE__, query, "error", want);
        return;
    }
    const char *got = cr_line(&res, 2);
    if (strcmp(got, want) != 0)
        test_fail_str(__FILE__, __LINE__, query, got, want);
    sm_sigv4_result_clear(&res);
}

TEST(sigv4_canonical_query_rules)
{
    /* Sorted by encoded name, then value; "Param" before "Param-3". */
    check_query("Param-3=Value3&Param=Value2", "Param=Value2&Param-3=Value3");
    check_query("a=2&a=1&a=10&b", "a=1&a=10&a=2&b=");
    /* Raw bytes and %-escapes sign the same; strict encoding throughout. */
    check_query("k=a b", "k=a%20b");
    check_query("k=a%20b", "k=a%20b");
    check_query("k=a+b", "k=a%2Bb");
    check_query("k=%2f%7E", "k=%2F~");
    check_query("prefix=a/b:c", "prefix=a%2Fb%3Ac");
    check_query("\xe1\x88\xb4=bar", "%E1%88%B4=bar");
    check_query("uploads", "uploads=");
    check_query("a=1&&b=2&", "a=1&b=2");
    check_query("a=b=c", "a=b%3Dc");
    check_query("", "");
}

/* Trimall the slow way: drop leading and trailing whitespace, make each
 * inner run one space. */
static void trim_reference(const char *v, char *out)
{
    size_t n = 0;
    for (; *v; v++) {
        if (strchr(" \t\r\n\v\f", *v)) {
            if (n && out[n - 1] != ' ')
                out[n++] = ' ';
        } else {
            out[n++] = *v;
        }
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

TEST(sigv4_header_values_trimmed_at_every_offset)
{
    /* Whitespace runs of each kind at every place around the eight-byte
     * steps the trimming copies in, and control bytes that are not
     * whitespace and stay. */
    static const char *const runs[] = {" ", "\t", "  \r\n  ", "\n\t", "\x01"};
    char value[64], want[64], line[128];
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        for (size_t at = 0; at < 24; at++) {
            size_t len = strlen(runs[r]);
            memset(value, 'v', 24);
            memcpy(value + at, runs[r], len);
            memcpy(value + 24 + len, runs[r], len); /* and at the end */
            value[24 + 2 * len] = '\0';
            sm_sigv4_header h[] = {{"Host", "example.amazonaws.com"},
                                   {"X-Test", value}};
            sm_sigv4_request req = {
                .method = "GET",
                .path = "/",
                .headers = h,
                .header_count = 2,
                .region = "us-east-1",
                .service = "service",
                .credentials = {AKID, SECRET, NULL},
                .time = T20150830,
                .options = sm_sigv4_options_for("service"),
            };
            sm_sigv4_result res = {0};
            sm_error err = {{0}};
            CHECK(sm_sigv4_sign(&req, &res, &err) == 0);
            trim_reference(value, want);
            snprintf(line, sizeof line, "x-test:%s", want);
            CHECK_STR(cr_line(&res, 5), line);
            sm_sigv4_result_clear(&res);
        }
    }
}

static void check_path(const char *service, const char *path, const char *want)
{
    sm_sigv4_result res = {0};
    if (sign_simple(service, path, NULL, &res)) {
        test_fail_str(__FILE__, __LINE__, path, "error", want);
        return;
    }
    const char *got = cr_line(&res, 1);
    if (strcmp(got, want) != 0)
        test_fail_str(__FILE__, __LINE__, path, got, want);
    sm_sigv4_result_clear(&res);
}

TEST(sigv4_canonical_path_services)
{
    /* Other services: normalised, then the wire path encoded again. */
    check_path("sagemaker", "/a%20b/./c", "/a%2520b/c");
    check_path("sagemaker", "/endpoints/my-ep/invocations",
               "/endpoints/my-ep/invocations");
    check_path("service", "/example space/", "/example%20space/");
    check_path("service", "//a/../../b//./c/", "/b/c/");
    check_path("service", "/a/b/..", "/a");
    check_path("service", "/..", "/");
    check_path("service", "", "/");
    check_path("service", "/~user/x+y", "/~user/x%2By");
}

TEST(sigv4_s3_path_not_normalized_encoded_once)
{
    check_path("s3", "/data/a%20b%2Bc.csv", "/data/a%20b%2Bc.csv");
    check_path("s3", "/bucket/a/./b/../c//d/", "/bucket/a/./b/../c//d/");
    check_path("s3", "//example//", "//example//");
    check_path("s3", "/", "/");
    /* Keys become wire paths with everything but unreserved and '/'
     * encoded; the canonical path is that wire path. */
    const char *key = "data/a b+c (1)/\xc3\xa9t\xc3\xa9=?.csv";
    char *wire = sm_uri_encode(key, strlen(key), 1);
    CHECK_STR(wire, "data/a%20b%2Bc%20%281%29/%C3%A9t%C3%A9%3D%3F.csv");
    char path[256];
    snprintf(path, sizeof path, "/%s", wire);
    check_path("s3", path, path);
    free(wire);
}

TEST(sigv4_s3_options_and_content_sha256)
{
    sm_sigv4_options o = sm_sigv4_options_for("s3");
    CHECK(!o.normalize_path && !o.double_encode_path && o.sign_content_sha256);
    o = sm_sigv4_options_for("sagemaker");
    CHECK(o.normalize_path && o.double_encode_path && !o.sign_content_sha256);
    CHECK(o.expires == 3600 && !o.omit_session_token);

    sm_sigv4_result res = {0};
    CHECK(sign_simple("s3", "/k", NULL, &res) == 0);
    CHECK_STR(cr_line(&res, 4), "x-amz-content-sha256:" SM_SIGV4_EMPTY_SHA256);
    CHECK_STR(cr_line(&res, 7), "host;x-amz-content-sha256;x-amz-date");
    CHECK_STR(cr_line(&res, 8), SM_SIGV4_EMPTY_SHA256);
    sm_sigv4_header h[4];
    CHECK(sm_sigv4_result_headers(&res, h) == 3);
    CHECK_STR(h[1].name, "x-amz-content-sha256");
    CHECK_STR(h[1].value, SM_SIGV4_EMPTY_SHA256);
    sm_sigv4_result_clear(&res);
}

/* Sign `req` and check its canonical-request hash and signature. */
static void check_vector(const sm_sigv4_request *req, const char *cr_hash,
                         const char *signature)
{
    sm_sigv4_result res = {0};
    sm_error err = {{0}};
    if (sm_sigv4_sign(req, &res, &err)) {
        test_fail_str(__FILE__, __LINE__, req->path, err.message, signature);
        return;
    }
    const char *sts_hash = strrchr(res.string_to_sign, '\n') + 1;
    if (strcmp(sts_hash, cr_hash) != 0)
        test_fail_str(__FILE__, __LINE__, res.canonical_request, sts_hash,
                      cr_hash);
    else if (strcmp(res.signature, signature) != 0)
        test_fail_str(__FILE__, __LINE__, req->path, res.signature, signature);
    sm_sigv4_result_clear(&res);
}

/* The vectors of the reference (section 6.2), which botocore produced. */
TEST(sigv4_service_vectors)
{
    sm_sigv4_request req = {
        .method = "POST",
        .path = "/",
        .region = "us-east-1",
        .credentials = {AKID, SECRET, NULL},
        .time = T20150830,
    };
    const char *body = "{\"TrainingJobName\": \"my-job\"}";
    sm_sigv4_header api[] = {
        {"Host", "api.sagemaker.us-east-1.amazonaws.com"},
        {"X-Amz-Target", "SageMaker.DescribeTrainingJob"},
        {"Content-Type", "application/x-amz-json-1.1"},
    };
    req.service = "sagemaker";
    req.options = sm_sigv4_options_for("sagemaker");
    req.headers = api;
    req.header_count = 3;
    req.body = body;
    req.body_len = strlen(body);
    check_vector(
        &req,
        "3ebb29f7c155a64850e090fa0a2fdf26d3fa305ff577822f135c7b0c48812acd",
        "6f13b9ae3d92cbc0e1f1899f360e248fba90b22d5a3ee1c7d0ea31e6930116db");

    sm_sigv4_header rt[] = {
        {"Host", "runtime.sagemaker.us-east-1.amazonaws.com"},
        {"Content-Type", "text/csv"},
        {"Accept", "text/csv"},
    };
    req.path = "/endpoints/my-ep/invocations";
    req.headers = rt;
    req.body = "1,2,3";
    req.body_len = 5;
    check_vector(
        &req,
        "d0f6a04e1d75f4553b1385bea114f6ae72bd2f43b82aee4aa2638ad77474ae35",
        "72edeafbe315f9cfa9ff9858cb1ac5ba1f869571d5d9dc6eea94bdbd560a675b");

    sm_sigv4_header s3[] = {{"Host", "my-bucket.s3.us-east-1.amazonaws.com"}};
    req.method = "PUT";
    req.path = "/data/a%20b%2Bc.csv";
    req.service = "s3";
    req.options = sm_sigv4_options_for("s3");
    req.headers = s3;
    req.header_count = 1;
    req.payload_hash = SM_SIGV4_UNSIGNED_PAYLOAD;
    check_vector(
        &req,
        "5665cf1e518567cccf8fd0e7e051271df146d6b7b23129d6a960b90816a28dd4",
        "b8418fe8b9ba7778421d87bd8d9e000fde722572d737c73924341348f42e136a");
    req.payload_hash = NULL;
    req.body = "1,2,3\n";
    req.body_len = 6;
    check_vector(
        &req,
        "717d79a901fd3488836a586e62c9051179132351c2b49f3a90bdc7937e586462",
        "e6078150449ba8e5bab29a9666c82f4b2f5522ffee143eb90db0366b3f0af659");
}

/* ---- headers ------------------------------------------------------------ */

TEST(sigv4_header_rules)
{
    sm_sigv4_header h[] = {
        {"Host", "example.amazonaws.com"},
        {"My-Header", "  a \t b\r\n   c  "},
        {"my-header", "second"},
        {"MY-HEADER", ""},
        {"User-Agent", "curl/8"},
        {"Expect", "100-continue"},
        {"X-Amz-Date", "19990101T000000Z"},
        {"Authorization", "old"},
        {"Transfer-Encoding", "chunked"},
    };
    sm_sigv4_request req = {
        .method = "get",
        .path = "/",
        .headers = h,
        .header_count = sizeof h / sizeof h[0],
        .region = "us-east-1",
        .service = "service",
        .credentials = {AKID, SECRET, "tok en"},
        .time = T20150830,
        .options = sm_sigv4_options_for("service"),
    };
    sm_sigv4_result res = {0};
    sm_error err = {{0}};
    CHECK(sm_sigv4_sign(&req, &res, &err) == 0);
    CHECK_STR(cr_line(&res, 0), "GET");
    CHECK_STR(cr_line(&res, 4), "my-header:a b c,second,");
    CHECK_STR(cr_line(&res, 5), "x-amz-date:20150830T123600Z");
    CHECK_STR(cr_line(&res, 6), "x-amz-security-token:tok en");
    CHECK_STR(cr_line(&res, 8),
              "host;my-header;x-amz-date;x-amz-security-token");
    sm_sigv4_header add[4];
    CHECK(sm_sigv4_result_headers(&res, add) == 3);
    CHECK_STR(add[0].name, "X-Amz-Security-Token");
    CHECK_STR(add[0].value, "tok en");
    CHECK_STR(add[1].value, "20150830T123600Z");
    CHECK_STR(add[2].name, "Authorization");
    sm_sigv4_result_clear(&res);

    /* Omitted from the signature, but still sent. */
    req.options.omit_session_token = 1;
    CHECK(sm_sigv4_sign(&req, &res, &err) == 0);
    CHECK_STR(cr_line(&res, 7), "host;my-header;x-amz-date");
    CHECK(sm_sigv4_result_headers(&res, add) == 3);
    CHECK_STR(add[0].value, "tok en");
    sm_sigv4_result_clear(&res);
}

TEST(sigv4_presign_s3_unsigned)
{
    sm_sigv4_header h[] = {{"host", "b.s3.amazonaws.com"}};
    sm_sigv4_request req = {
        .method = "GET",
        .path = "/k%20y",
        .query = "versionId=1",
        .headers = h,
        .header_count = 1,
        .region = "us-east-1",
        .service = "s3",
        .credentials = {AKID, SECRET, "t/+="},
        .payload_hash = SM_SIGV4_UNSIGNED_PAYLOAD,
        .time = T20150830,
        .options = sm_sigv4_options_for("s3"),
    };
    req.options.expires = 60;
    sm_sigv4_result res = {0};
    sm_error err = {{0}};
    CHECK(sm_sigv4_presign(&req, &res, &err) == 0);
    CHECK_STR(cr_line(&res, 1), "/k%20y");
    CHECK_STR(cr_line(&res, 2),
              "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE"
              "%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
              "20150830T123600Z&X-Amz-Expires=60&X-Amz-Security-Token="
              "t%2F%2B%3D&X-Amz-SignedHeaders=host&versionId=1");
    CHECK_STR(cr_line(&res, 6), SM_SIGV4_UNSIGNED_PAYLOAD);
    CHECK(strncmp(res.query, "versionId=1&X-Amz-Algorithm=", 28) == 0);
    CHECK(strstr(res.query, "&X-Amz-Signature=") != NULL);
    CHECK(res.authorization == NULL);
    sm_sigv4_header add[4];
    CHECK(sm_sigv4_result_headers(&res, add) == 0);
    sm_sigv4_result_clear(&res);
}

/* ---- errors, time, verification ----------------------------------------- */

TEST(sigv4_errors_are_sentences)
{
    sm_sigv4_header h[] = {{"X-Other", "1"}};
    sm_sigv4_request req = {
        .method = "GET",
        .path = "/",
        .headers = h,
        .header_count = 1,
        .region = "us-east-1",
        .service = "service",
        .credentials = {AKID, SECRET, NULL},
        .time = T20150830,
        .options = sm_sigv4_options_for("service"),
    };
    sm_sigv4_result res = {0};
    sm_error err = {{0}};
    CHECK(sm_sigv4_sign(&req, &res, &err) == -1);
    CHECK_STR(err.message, "the signed header 'host' is not in the request");
    sm_sigv4_result_clear(&res);

    sm_error err2 = {{0}};
    req.credentials.secret_key = "";
    CHECK(sm_sigv4_sign(&req, &res, &err2) == -1);
    CHECK_STR(err2.message, "signing needs an access key (without '/', ',' "
                            "or whitespace) and a secret key");
    sm_sigv4_result_clear(&res);

    sm_error err3 = {{0}};
    req.credentials.secret_key = SECRET;
    req.options.expires = 0;
    CHECK(sm_sigv4_presign(&req, &res, &err3) == -1);
    CHECK(strstr(err3.message, "1 to 604800 seconds") != NULL);
    sm_sigv4_result_clear(&res);

    sm_error err5 = {{0}};
    req.options.expires = 3600;
    req.region = "us-east-1/x";
    CHECK(sm_sigv4_sign(&req, &res, &err5) == -1);
    CHECK(strstr(err5.message, "region and a service without") != NULL);
    sm_sigv4_result_clear(&res);

    sm_error err6 = {{0}};
    req.region = "us-east-1";
    req.path = "/a\nb";
    CHECK(sm_sigv4_presign(&req, &res, &err6) == -1);
    CHECK_STR(err6.message, "the request has no path, or a bad one");
    sm_sigv4_result_clear(&res);

    sm_error err4 = {{0}};
    req.path = "/";
    req.time = -1;
    CHECK(sm_sigv4_sign(&req, &res, &err4) == -1);
    CHECK(strstr(err4.message, "1970") != NULL);
    sm_sigv4_result_clear(&res);
}

TEST(sigv4_time_parse_and_format)
{
    time_t t = 0;
    sm_error err = {{0}};
    char out[17];
    CHECK(sm_sigv4_parse_time("20150830T123600Z", &t, &err) == 0);
    CHECK(t == T20150830);
    CHECK(sm_sigv4_parse_time("2015-08-30T12:36:00Z", &t, &err) == 0);
    CHECK(t == T20150830);
    CHECK(sm_sigv4_format_time(t, out) == 0);
    CHECK_STR(out, "20150830T123600Z");
    CHECK(sm_sigv4_parse_time("20240229T235959Z", &t, &err) == 0);
    CHECK(sm_sigv4_format_time(t, out) == 0);
    CHECK_STR(out, "20240229T235959Z");
    CHECK(sm_sigv4_format_time(0, out) == 0);
    CHECK_STR(out, "19700101T000000Z");
    CHECK(sm_sigv4_format_time((time_t)253402300799LL, out) == 0);
    CHECK_STR(out, "99991231T235959Z");
    CHECK(sm_sigv4_format_time((time_t)253402300800LL, out) == -1);
    const char *bad[] = {"20230229T000000Z",
                         "20151330T000000Z",
                         "20150830T240000Z",
                         "20150830 123600Z",
                         "2015-08-30 12:36:00Z",
                         "20150830T123600",
                         "",
                         "19691231T235959Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sm_error e = {{0}};
        CHECK(sm_sigv4_parse_time(bad[i], &t, &e) == -1);
        CHECK(strstr(e.message, "is not a UTC time") != NULL);
    }
}

TEST(sigv4_verify_checks_signed_headers)
{
    sm_sigv4_header h[] = {{"Host", "example.amazonaws.com"},
                           {"X-Amz-Date", "20150830T123600Z"}};
    sm_sigv4_request req = {
        .method = "GET",
        .path = "/",
        .headers = h,
        .header_count = 2,
        .region = "us-east-1",
        .service = "service",
        .credentials = {AKID, SECRET, NULL},
        .time = T20150830,
        .options = sm_sigv4_options_for("service"),
    };
    const char *sig =
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    sm_sigv4_result res = {0};
    sm_error err = {{0}};
    CHECK(sm_sigv4_verify(&req, "host;x-amz-date", sig, &res, &err) == 0);
    sm_sigv4_result_clear(&res);
    CHECK(sm_sigv4_verify(&req, "host;x-amz-date;x-amz-target", sig, &res,
                          &err) == -1);
    CHECK_STR(err.message,
              "the signed header 'x-amz-target' is not in the request");
    sm_sigv4_result_clear(&res);
    sm_error err2 = {{0}};
    CHECK(sm_sigv4_verify(&req, "host;x-amz-date", "5fa0", &res, &err2) == -1);
    CHECK(strstr(err2.message, "does not match") != NULL);
    /* The computation is there to show the client what we signed. */
    CHECK(res.canonical_request && res.string_to_sign);
    sm_sigv4_result_clear(&res);
}

/* Sign GET / for `access_key` and `secret` on 2015-08-30 in `region`; the
 * signature into `sig`. */
static int sign_with(const char *access_key, const char *secret,
                     const char *region, char sig[65], char sts[512])
{
    static const sm_sigv4_header host[] = {{"Host", "example.amazonaws.com"}};
    sm_sigv4_request req = {
        .method = "GET",
        .path = "/",
        .headers = host,
        .header_count = 1,
        .region = region,
        .service = "sagemaker",
        .credentials = {access_key, secret, NULL},
        .time = T20150830,
        .options = sm_sigv4_options_for("sagemaker"),
    };
    sm_error err = {{0}};
    sm_sigv4_result res = {0};
    int rc = sm_sigv4_sign(&req, &res, &err);
    if (!rc) {
        memcpy(sig, res.signature, 65);
        snprintf(sts, 512, "%s", res.string_to_sign);
    }
    sm_sigv4_result_clear(&res);
    return rc;
}

/* The signature of `sts` derived by hand: HMAC chain from "AWS4" + secret. */
static void signature_by_hand(const char *secret, const char *region,
                              const char *sts, char out[65])
{
    char first[256];
    unsigned char k[SM_SHA256_SIZE];
    snprintf(first, sizeof first, "AWS4%s", secret);
    const char *steps[] = {"20150830", region, "sagemaker", "aws4_request"};
    sm_hmac_sha256_mac(first, strlen(first), steps[0], 8, k);
    for (int i = 1; i < 4; i++)
        sm_hmac_sha256_mac(k, sizeof k, steps[i], strlen(steps[i]), k);
    sm_hmac_sha256_mac(k, sizeof k, sts, strlen(sts), k);
    for (int i = 0; i < SM_SHA256_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", k[i]);
}

TEST(sigv4_signing_key_cache_tells_secrets_apart)
{
    /* The same access key and scope with another secret must not reuse
     * the cached key; more scopes than the cache holds still sign right;
     * a secret longer than an HMAC block is hashed first. */
    static const char *secrets[] = {
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "other-secret",
        "a-secret-longer-than-one-sha256-block-of-sixty-four-bytes-0123456789",
    };
    char region[32], sig[65], again[65], want[65], sts[512];
    sm_sigv4_key_cache_clear();
    for (int round = 0; round < 2; round++) {
        for (int r = 0; r < 20; r++) {
            snprintf(region, sizeof region, "region-%d", r);
            for (size_t i = 0; i < 3; i++) {
                CHECK(sign_with("AKIDEXAMPLE", secrets[i], region, sig, sts) ==
                      0);
                signature_by_hand(secrets[i], region, sts, want);
                CHECK_STR(sig, want);
                CHECK(sign_with("AKIDEXAMPLE", secrets[i], region, again,
                                sts) == 0);
                CHECK_STR(again, want);
            }
        }
    }
    sm_sigv4_key_cache_clear();
    CHECK(sign_with("AKIDEXAMPLE", secrets[0], "us-east-1", sig, sts) == 0);
    signature_by_hand(secrets[0], "us-east-1", sts, want);
    CHECK_STR(sig, want);
}
