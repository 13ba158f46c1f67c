/* auth: parsing and policy here; the signature itself is sigv4's. */
#include "auth.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "sigv4.h"

/* ---- how each protocol words each failure ------------------------------- */

typedef struct words {
    int status;
    const char *code;
    const char *message;
} words;

typedef struct failure_row {
    sm_auth_failure failure;
    words s3, query, json;
} failure_row;

#define SIG_MISMATCH                                                           \
    "The request signature we calculated does not match the signature you "    \
    "provided. Check your AWS Secret Access Key and signing method. Consult "  \
    "the service documentation for details."
#define BAD_TOKEN "The security token included in the request is invalid."
#define INCOMPLETE "The request signature does not conform to AWS standards."
#define NOT_V4                                                                 \
    "The authorization mechanism you have provided is not supported. "         \
    "Please use AWS4-HMAC-SHA256."
#define NO_DATE                                                                \
    "Authorization header requires existence of either a "                     \
    "'X-Amz-Date' or a 'Date' header."

static const failure_row failures[] = {
    {SM_AUTH_MISSING,
     {403, "AccessDenied", "Access Denied. The request is not signed."},
     {403, "MissingAuthenticationToken",
      "Request is missing Authentication Token"},
     {400, "MissingAuthenticationTokenException",
      "Missing Authentication Token"}},
    {SM_AUTH_MALFORMED,
     {400, "AuthorizationHeaderMalformed",
      "The authorization header is malformed;"},
     {400, "IncompleteSignature", INCOMPLETE},
     {400, "IncompleteSignatureException", INCOMPLETE}},
    {SM_AUTH_UNSUPPORTED,
     {400, "InvalidRequest", NOT_V4},
     {400, "IncompleteSignature", NOT_V4},
     {400, "IncompleteSignatureException", NOT_V4}},
    {SM_AUTH_NO_DATE,
     {403, "AccessDenied",
      "AWS authentication requires a valid Date or x-amz-date header"},
     {400, "IncompleteSignature", NO_DATE},
     {400, "IncompleteSignatureException", NO_DATE}},
    {SM_AUTH_UNKNOWN_KEY,
     {403, "InvalidAccessKeyId",
      "The AWS Access Key Id you provided does not exist in our records."},
     {403, "InvalidClientTokenId", BAD_TOKEN},
     {400, "UnrecognizedClientException", BAD_TOKEN}},
    {SM_AUTH_BAD_SIGNATURE,
     {403, "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature "
      "you provided. Check your key and signing method."},
     {403, "SignatureDoesNotMatch", SIG_MISMATCH},
     {400, "InvalidSignatureException", SIG_MISMATCH}},
    {SM_AUTH_SKEWED,
     {403, "RequestTimeTooSkewed",
      "The difference between the request time and the current time is "
      "too large."},
     {403, "SignatureDoesNotMatch", "Signature expired:"},
     {400, "InvalidSignatureException", "Signature expired:"}},
    {SM_AUTH_EXPIRED,
     {403, "AccessDenied", "Request has expired"},
     {403, "SignatureDoesNotMatch", "Signature expired:"},
     {400, "InvalidSignatureException", "Signature expired:"}},
    {SM_AUTH_HASH_MISSING,
     {400, "InvalidRequest",
      "Missing required header for this request: x-amz-content-sha256"},
     {400, "IncompleteSignature", INCOMPLETE},
     {400, "IncompleteSignatureException", INCOMPLETE}},
    {SM_AUTH_HASH_INVALID,
     {400, "InvalidArgument",
      "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
      "STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value."},
     {400, "IncompleteSignature", INCOMPLETE},
     {400, "IncompleteSignatureException", INCOMPLETE}},
    {SM_AUTH_HASH_MISMATCH,
     {400, "XAmzContentSHA256Mismatch",
      "The provided 'x-amz-content-sha256' header does not match what was "
      "computed."},
     {403, "SignatureDoesNotMatch", SIG_MISMATCH},
     {400, "InvalidSignatureException", SIG_MISMATCH}},
};

static const failure_row *row_for(sm_auth_failure failure)
{
    for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++) {
        if (failures[i].failure == failure)
            return &failures[i];
    }
    return NULL;
}

int sm_auth_fail(sm_auth_protocol protocol, sm_auth_failure failure,
                 const char *detail, sm_http_error *err)
{
    const failure_row *row = row_for(failure);
    if (!row)
        return sm_http_fail(err, 500, "InternalError",
                            "authentication failed in an unexpected way");
    const words *w = protocol == SM_AUTH_S3      ? &row->s3
                     : protocol == SM_AUTH_QUERY ? &row->query
                                                 : &row->json;
    if (detail && *detail)
        return sm_http_fail(err, w->status, w->code, "%s %s", w->message,
                            detail);
    return sm_http_fail(err, w->status, w->code, "%s", w->message);
}

/* ---- reading the signature ---------------------------------------------- */

/* Copy `n` bytes into a fixed field; -1 when they do not fit. */
static int field_copy(char *out, size_t size, const char *s, size_t n)
{
    if (n >= size)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* "AK/20150830/us-east-1/s3/aws4_request" into `out`. */
static int credential_parse(const char *s, size_t n, sm_auth_info *out)
{
    char copy[512];
    if (n >= sizeof copy)
        return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    char *fields[5], *save = NULL, *p = copy;
    int count = 0;
    for (char *f; count < 5 && (f = strtok_r(p, "/", &save)); p = NULL)
        fields[count++] = f;
    if (count != 5 || strtok_r(NULL, "/", &save) ||
        strcmp(fields[4], "aws4_request") != 0 || strlen(fields[1]) != 8 ||
        strspn(fields[1], "0123456789") != 8)
        return -1;
    /* the scope is the credential after the key: date/region/service/
     * aws4_request, the fields now separated by one '/' each */
    size_t key_n = strlen(fields[0]), region_n = strlen(fields[2]);
    size_t service_n = strlen(fields[3]);
    if (field_copy(out->access_key, sizeof out->access_key, fields[0], key_n) ||
        field_copy(out->region, sizeof out->region, fields[2], region_n) ||
        field_copy(out->service, sizeof out->service, fields[3], service_n) ||
        8 + region_n + service_n + 16 >= sizeof out->scope)
        return -1;
    memcpy(out->date, fields[1], 9);
    char *w = out->scope;
    memcpy(w, out->date, 8);
    w[8] = '/';
    memcpy(w += 9, out->region, region_n);
    w[region_n] = '/';
    memcpy(w += region_n + 1, out->service, service_n);
    memcpy(w + service_n, "/aws4_request", sizeof "/aws4_request");
    return 0;
}

static int signature_valid(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The ", "-separated name=value list after the algorithm. */
static int header_fields_parse(const char *p, sm_auth_info *out,
                               const char **why)
{
    int have = 0;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len && p[len - 1] == ' ')
            len--;
        const char *eq = memchr(p, '=', len);
        if (!eq)
            break;
        size_t name_n = (size_t)(eq - p), value_n = len - name_n - 1;
        const char *value = eq + 1;
        int rc = 0;
        if (name_n == 10 && !strncmp(p, "Credential", 10)) {
            rc = credential_parse(value, value_n, out);
            have |= rc ? 0 : 1;
            *why = rc ? "the Credential is not AK/date/region/service/"
                        "aws4_request"
                      : *why;
        } else if (name_n == 13 && !strncmp(p, "SignedHeaders", 13)) {
            rc = field_copy(out->signed_headers, sizeof out->signed_headers,
                            value, value_n);
            have |= rc ? 0 : 2;
        } else if (name_n == 9 && !strncmp(p, "Signature", 9)) {
            rc = field_copy(out->signature, sizeof out->signature, value,
                            value_n);
            have |= rc ? 0 : 4;
        }
        if (rc)
            return -1;
        p += n;
    }
    if (have != 7)
        *why = "it needs Credential, SignedHeaders and Signature";
    return have == 7 && signature_valid(out->signature) ? 0 : -1;
}

static int header_parse(const char *value, const sm_http_request *req,
                        sm_auth_protocol protocol, sm_auth_info *out,
                        sm_http_error *err)
{
    const char *why = "it is not AWS4-HMAC-SHA256 Credential=..., "
                      "SignedHeaders=..., Signature=...";
    while (*value == ' ')
        value++;
    size_t alg = strcspn(value, " ");
    if (alg != strlen(SM_SIGV4_ALGORITHM) ||
        strncmp(value, SM_SIGV4_ALGORITHM, alg) != 0)
        return sm_auth_fail(protocol,
                            strncmp(value, "AWS4-", 5) == 0
                                ? SM_AUTH_MALFORMED
                                : SM_AUTH_UNSUPPORTED,
                            NULL, err);
    if (header_fields_parse(value + alg, out, &why))
        return sm_auth_fail(protocol, SM_AUTH_MALFORMED, why, err);
    const char *date = sm_http_header(req, "x-amz-date");
    if (!date)
        return sm_auth_fail(protocol, SM_AUTH_NO_DATE, NULL, err);
    return field_copy(out->amz_date, sizeof out->amz_date, date, strlen(date))
               ? sm_auth_fail(protocol, SM_AUTH_MALFORMED,
                              "X-Amz-Date is not a date", err)
               : 0;
}

/* S3 names a malformed presigned query differently from a header. */
static int query_fail(sm_auth_protocol protocol, const char *why,
                      sm_http_error *err)
{
    if (protocol == SM_AUTH_S3)
        return sm_http_fail(err, 400, "AuthorizationQueryParametersError", "%s",
                            why);
    return sm_auth_fail(protocol, SM_AUTH_MALFORMED, why, err);
}

static int query_parse(const sm_http_request *req, sm_auth_protocol protocol,
                       sm_auth_info *out, sm_http_error *err)
{
    const char *alg = sm_http_param(req, "X-Amz-Algorithm");
    const char *cred = sm_http_param(req, "X-Amz-Credential");
    const char *date = sm_http_param(req, "X-Amz-Date");
    const char *expires = sm_http_param(req, "X-Amz-Expires");
    const char *headers = sm_http_param(req, "X-Amz-SignedHeaders");
    const char *sig = sm_http_param(req, "X-Amz-Signature");
    out->presigned = 1;
    if (!alg || !cred || !date || !expires || !headers || !sig)
        return query_fail(protocol,
                          "Query-string authentication version 4 requires "
                          "the X-Amz-Algorithm, X-Amz-Credential, "
                          "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                          "and X-Amz-Expires parameters.",
                          err);
    if (strcmp(alg, SM_SIGV4_ALGORITHM) != 0)
        return query_fail(protocol,
                          "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
                          err);
    char *end = NULL;
    out->expires = strtol(expires, &end, 10);
    if (!*expires || *end || out->expires < 1 ||
        out->expires > SM_SIGV4_MAX_EXPIRES)
        return query_fail(protocol,
                          "X-Amz-Expires must be a number of seconds from 1 "
                          "to 604800 (a week)",
                          err);
    if (credential_parse(cred, strlen(cred), out) ||
        field_copy(out->signed_headers, sizeof out->signed_headers, headers,
                   strlen(headers)) ||
        field_copy(out->signature, sizeof out->signature, sig, strlen(sig)) ||
        !signature_valid(out->signature) ||
        field_copy(out->amz_date, sizeof out->amz_date, date, strlen(date)))
        return query_fail(protocol,
                          "X-Amz-Credential, X-Amz-SignedHeaders, "
                          "X-Amz-Signature or X-Amz-Date cannot be read",
                          err);
    return 0;
}

/* AWSAccessKeyId=..&Expires=..&Signature=..: S3's Signature Version 2
 * query, which needs no date in a scope. */
static int v2_query_parse(const sm_http_request *req, sm_auth_info *out,
                          sm_http_error *err)
{
    const char *key = sm_http_param(req, "AWSAccessKeyId");
    const char *expires = sm_http_param(req, "Expires");
    const char *sig = sm_http_param(req, "Signature");
    char *end = NULL;
    out->presigned = out->v2 = 1;
    out->expires = expires ? strtol(expires, &end, 10) : 0;
    if (!key || !sig || !expires || !*expires || *end ||
        field_copy(out->access_key, sizeof out->access_key, key, strlen(key)) ||
        field_copy(out->signature, sizeof out->signature, sig, strlen(sig)))
        return sm_http_fail(err, 400, "InvalidArgument",
                            "Query-string authentication requires the "
                            "Signature, Expires and AWSAccessKeyId "
                            "parameters");
    snprintf(out->service, sizeof out->service, "s3");
    snprintf(out->region, sizeof out->region, "us-east-1");
    out->time = (time_t)out->expires;
    return 0;
}

int sm_auth_parse(const sm_http_request *req, sm_auth_protocol protocol,
                  sm_auth_info *out, sm_http_error *err)
{
    *out = (sm_auth_info){0};
    if (!sm_http_header(req, "authorization") &&
        sm_http_param(req, "AWSAccessKeyId") &&
        !sm_http_param(req, "X-Amz-Credential"))
        return v2_query_parse(req, out, err);
    const char *header = sm_http_header(req, "authorization");
    int presigned = sm_http_param(req, "X-Amz-Signature") ||
                    sm_http_param(req, "X-Amz-Credential");
    int rc;
    if (header && presigned)
        return sm_auth_fail(protocol, SM_AUTH_MALFORMED,
                            "only one auth mechanism is allowed: the "
                            "Authorization header or the X-Amz-* query",
                            err);
    if (header)
        rc = header_parse(header, req, protocol, out, err);
    else if (presigned)
        rc = query_parse(req, protocol, out, err);
    else
        return sm_auth_fail(protocol, SM_AUTH_MISSING, NULL, err);
    if (rc)
        return rc;
    sm_error e = {0};
    if (sm_sigv4_parse_time(out->amz_date, &out->time, &e) ||
        strlen(out->amz_date) != 16)
        return sm_auth_fail(protocol, SM_AUTH_MALFORMED,
                            "X-Amz-Date must be in the ISO8601 basic format "
                            "(20150830T123600Z)",
                            err);
    if (strncmp(out->amz_date, out->date, 8) != 0)
        return sm_auth_fail(protocol, SM_AUTH_MALFORMED,
                            "the date in the credential scope is not the "
                            "date of X-Amz-Date",
                            err);
    return 0;
}

/* ---- checking it -------------------------------------------------------- */

static int skew_fail(const sm_auth_info *info, time_t now,
                     sm_auth_protocol protocol, sm_auth_failure failure,
                     sm_http_error *err)
{
    char server[17] = "", limit[17] = "";
    sm_sigv4_format_time(now, server);
    sm_auth_fail(protocol, failure, NULL, err);
    if (protocol == SM_AUTH_S3) { /* S3's words, and the times as fields */
        sm_http_error_extra(err, "RequestTime", "%s", info->amz_date);
        sm_http_error_extra(err, "ServerTime", "%s", server);
        if (failure == SM_AUTH_SKEWED)
            sm_http_error_extra(err, "MaxAllowedSkewMilliseconds", "900000");
        return -1;
    }
    if (failure == SM_AUTH_EXPIRED) {
        sm_sigv4_format_time(info->time + info->expires, limit);
        snprintf(err->message, sizeof err->message,
                 "Signature expired: the request expired at %s; it is now %s",
                 limit, server);
    } else if (info->time > now) {
        sm_sigv4_format_time(now + SM_AUTH_MAX_SKEW, limit);
        snprintf(err->message, sizeof err->message,
                 "Signature not yet current: %s is still later than %s "
                 "(%s + 15 min.)",
                 info->amz_date, limit, server);
    } else {
        sm_sigv4_format_time(now - SM_AUTH_MAX_SKEW, limit);
        snprintf(err->message, sizeof err->message,
                 "Signature expired: %s is now earlier than %s (%s - 15 min.)",
                 info->amz_date, limit, server);
    }
    return -1;
}

int sm_auth_check(const sm_auth_keys *keys, const sm_auth_info *info,
                  time_t now, sm_auth_protocol protocol, sm_http_error *err)
{
    if (!keys->access_key || strcmp(info->access_key, keys->access_key) != 0) {
        sm_auth_fail(protocol, SM_AUTH_UNKNOWN_KEY, NULL, err);
        if (protocol == SM_AUTH_S3)
            sm_http_error_extra(err, "AWSAccessKeyId", "%s", info->access_key);
        return -1;
    }
    if (info->v2) {
        if (now <= info->expires)
            return 0;
        sm_auth_fail(protocol, SM_AUTH_EXPIRED, NULL, err);
        sm_http_error_extra(err, "Expires", "%ld", info->expires);
        return -1;
    }
    if (info->presigned && now > info->time + info->expires)
        return skew_fail(info, now, protocol, SM_AUTH_EXPIRED, err);
    long skew = (long)(info->time - now);
    if ((!info->presigned &&
         (skew > SM_AUTH_MAX_SKEW || skew < -SM_AUTH_MAX_SKEW)) ||
        (info->presigned && skew > SM_AUTH_MAX_SKEW))
        return skew_fail(info, now, protocol, SM_AUTH_SKEWED, err);
    return 0;
}

int sm_auth_payload_hash_valid(const char *value)
{
    if (!value)
        return 0;
    if (strcmp(value, SM_SIGV4_UNSIGNED_PAYLOAD) == 0 ||
        strncmp(value, "STREAMING-", 10) == 0)
        return 1;
    return strlen(value) == 64 && strspn(value, "0123456789abcdef") == 64;
}

/* ---- Signature Version 2 (S3 presigned URLs) ---------------------------- */

/* The sub-resources a v2 signature covers along with the path. */
static const char *const v2_subresources[] = {
    "acl",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
};

static int v2_is_subresource(const char *name)
{
    for (size_t i = 0; i < sizeof v2_subresources / sizeof(char *); i++) {
        if (strcmp(name, v2_subresources[i]) == 0)
            return 1;
    }
    return 0;
}

static int pair_cmp(const void *a, const void *b)
{
    const sm_http_pair *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* "name:value\n" for every x-amz-* header, by lower-case name. */
static void v2_amz_headers(const sm_http_request *req, sm_buf *out)
{
    sm_http_pair *amz = calloc(req->header_count + 1, sizeof *amz);
    size_t n = 0;
    for (size_t i = 0; amz && i < req->header_count; i++) {
        if (strncasecmp(req->headers[i].name, "x-amz-", 6) != 0)
            continue;
        amz[n].name = strdup(req->headers[i].name);
        for (char *p = amz[n].name; p && *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        amz[n++].value = req->headers[i].value;
    }
    if (n)
        qsort(amz, n, sizeof *amz, pair_cmp);
    for (size_t i = 0; i < n; i++) {
        const char *v = amz[i].value;
        while (*v == ' ')
            v++;
        sm_buf_printf(out, "%s:%s\n", amz[i].name ? amz[i].name : "", v);
        free(amz[i].name);
    }
    free(amz);
}

/* The path, then "?name[=value]&..." for the signed sub-resources. */
static void v2_resource(const sm_http_request *req, sm_buf *out)
{
    sm_buf_puts(out, req->path);
    sm_http_pair *sub = calloc(req->param_count + 1, sizeof *sub);
    size_t n = 0;
    for (size_t i = 0; sub && i < req->param_count; i++) {
        if (v2_is_subresource(req->params[i].name))
            sub[n++] = req->params[i];
    }
    if (n)
        qsort(sub, n, sizeof *sub, pair_cmp);
    for (size_t i = 0; i < n; i++) {
        sm_buf_printf(out, "%c%s", i ? '&' : '?', sub[i].name);
        if (*sub[i].value)
            sm_buf_printf(out, "=%s", sub[i].value);
    }
    free(sub);
}

static int v2_verify(const sm_auth_keys *keys, const sm_http_request *req,
                     const sm_auth_info *info, sm_auth_protocol protocol,
                     sm_http_error *err)
{
    const char *md5 = sm_http_header(req, "content-md5");
    const char *type = sm_http_header(req, "content-type");
    sm_buf sts = {0};
    sm_buf_printf(&sts, "%s\n%s\n%s\n%ld\n", req->method, md5 ? md5 : "",
                  type ? type : "", info->expires);
    v2_amz_headers(req, &sts);
    v2_resource(req, &sts);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char expected[64] = "";
    if (sts.data &&
        HMAC(EVP_sha1(), keys->secret_key, (int)strlen(keys->secret_key),
             (const unsigned char *)sts.data, sts.len, mac, &n))
        EVP_EncodeBlock((unsigned char *)expected, mac, (int)n);
    size_t len = strlen(expected);
    int ok = len && strlen(info->signature) == len &&
             CRYPTO_memcmp(expected, info->signature, len) == 0;
    if (!ok) {
        sm_auth_fail(protocol, SM_AUTH_BAD_SIGNATURE, NULL, err);
        sm_http_error_extra(err, "AWSAccessKeyId", "%s", info->access_key);
        sm_http_error_extra(err, "StringToSign", "%s", sm_buf_str(&sts));
        sm_http_error_extra(err, "SignatureProvided", "%s", info->signature);
    }
    sm_buf_free(&sts);
    return ok ? 0 : -1;
}

int sm_auth_verify(const sm_auth_keys *keys, const sm_http_request *req,
                   const sm_auth_info *info, const char *payload_hash,
                   sm_auth_protocol protocol, sm_http_error *err)
{
    if (info->v2)
        return v2_verify(keys, req, info, protocol, err);
    sm_sigv4_header *headers =
        calloc(req->header_count ? req->header_count : 1, sizeof *headers);
    if (!headers)
        return sm_http_fail(err, 500, "InternalError", "out of memory");
    for (size_t i = 0; i < req->header_count; i++)
        headers[i] =
            (sm_sigv4_header){req->headers[i].name, req->headers[i].value};
    sm_sigv4_request v = {
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .headers = headers,
        .header_count = req->header_count,
        .payload_hash = payload_hash,
        .region = info->region,
        .service = info->service,
        .credentials = {info->access_key, keys->secret_key, NULL},
        .time = info->time,
        .options = sm_sigv4_options_for(info->service),
    };
    sm_sigv4_result result = {0};
    sm_error e = {0};
    int rc =
        sm_sigv4_verify(&v, info->signed_headers, info->signature, &result, &e);
    if (rc) {
        sm_auth_fail(protocol, SM_AUTH_BAD_SIGNATURE, NULL, err);
        if (protocol == SM_AUTH_S3) {
            sm_http_error_extra(err, "AWSAccessKeyId", "%s", info->access_key);
            sm_http_error_extra(err, "StringToSign", "%s",
                                result.string_to_sign ? result.string_to_sign
                                                      : "");
            sm_http_error_extra(err, "SignatureProvided", "%s",
                                info->signature);
            sm_http_error_extra(err, "CanonicalRequest", "%s",
                                result.canonical_request
                                    ? result.canonical_request
                                    : e.message);
        }
    }
    sm_sigv4_result_clear(&result);
    free(headers);
    return rc;
}

/* ---- chunk signatures --------------------------------------------------- */

static int hmac(const void *key, size_t key_len, const char *msg,
                unsigned char out[32])
{
    unsigned int n = 0;
    if (key_len > INT_MAX)
        return -1;
    return HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg,
                strlen(msg), out, &n) &&
                   n == 32
               ? 0
               : -1;
}

int sm_auth_signing_key(const sm_auth_keys *keys, const sm_auth_info *info,
                        unsigned char key[32])
{
    size_t n = strlen(keys->secret_key);
    char *first = malloc(n + 5);
    if (!first)
        return -1;
    memcpy(first, "AWS4", 4);
    memcpy(first + 4, keys->secret_key, n + 1);
    const char *steps[] = {info->region, info->service, "aws4_request"};
    int rc = hmac(first, n + 4, info->date, key);
    for (size_t i = 0; !rc && i < 3; i++) {
        unsigned char next[32];
        rc = hmac(key, 32, steps[i], next);
        memcpy(key, next, 32);
        OPENSSL_cleanse(next, sizeof next);
    }
    OPENSSL_cleanse(first, n + 4);
    free(first);
    return rc;
}

static int sign_lines(const unsigned char key[32], const char *text,
                      char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[32];
    if (hmac(key, 32, text, mac))
        return -1;
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

int sm_auth_chunk_signature(const unsigned char key[32],
                            const sm_auth_info *info, const char *previous,
                            const char *chunk_sha256, char out[65])
{
    char text[512];
    snprintf(text, sizeof text, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s",
             info->amz_date, info->scope, previous, SM_SIGV4_EMPTY_SHA256,
             chunk_sha256);
    return sign_lines(key, text, out);
}

int sm_auth_trailer_signature(const unsigned char key[32],
                              const sm_auth_info *info, const char *previous,
                              const char *trailer_sha256, char out[65])
{
    char text[512];
    snprintf(text, sizeof text, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s",
             info->amz_date, info->scope, previous, trailer_sha256);
    return sign_lines(key, text, out);
}
