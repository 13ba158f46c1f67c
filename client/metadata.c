/* metadata: a few small GETs with short timeouts; every secret that passes
 * through (tokens, the answers) is wiped before it is freed. */
#include "metadata.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint.h"
#include "log.h"
#include "profile.h"
#include "uri.h"

#define TOKEN_MAX 16384

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void body_wipe(sm_transport_response *resp)
{
    if (resp->body.data)
        sodium_memzero(resp->body.data, resp->body.len);
    sm_transport_response_clear(resp);
}

/* GET or PUT `url` with up to one header; a 2xx or other answer in resp. */
static sm_transport_result fetch(sm_transport *http, const char *method,
                                 const char *url,
                                 const sm_transport_header *header,
                                 long timeout_ms, sm_transport_response *resp,
                                 sm_error *err)
{
    sm_transport_request req = {
        .method = method,
        .url = url,
        .headers = header,
        .header_count = header ? 1 : 0,
        .connect_timeout_ms = timeout_ms,
        .read_timeout_ms = timeout_ms,
    };
    return sm_transport_send(http, &req, resp, err);
}

/* Parse a credentials document out of `resp` (wiped after). */
static int creds_from_body(sm_transport_response *resp, const char *source,
                           sm_credentials *out, sm_error *err)
{
    json_t *doc = json_loadb(sm_buf_str(&resp->body), resp->body.len, 0, NULL);
    const char *code = json_string_value(json_object_get(doc, "Code"));
    int rc;
    if (!json_is_object(doc))
        rc = sm_error_set(err, "%s credentials are not a JSON object", source);
    else if (code && strcmp(code, "Success") != 0)
        rc = sm_error_set(err, "%s credentials: Code %.64s", source, code);
    else
        rc = sm_credentials_from_json(doc, "Token", source, out, err);
    if (doc)
        sm_credentials_json_wipe(doc);
    json_decref(doc);
    body_wipe(resp);
    return rc;
}

/* ---- container ---------------------------------------------------------- */

int sm_metadata_container_configured(void)
{
    return env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
           env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
}

static int loopback_v4(const char *host)
{
    int a, b, c, d, n = 0;
    return sscanf(host, "%d.%d.%d.%d%n", &a, &b, &c, &d, &n) == 4 &&
           host[n] == '\0' && a == 127 && b >= 0 && b < 256 && c >= 0 &&
           c < 256 && d >= 0 && d < 256;
}

static int full_uri_allowed(const char *url, sm_error *err)
{
    static const char *const hosts[] = {"localhost", "[::1]", "169.254.170.2",
                                        "169.254.170.23", "[fd00:ec2::23]"};
    sm_endpoint_parts parts;
    if (sm_endpoint_split(url, &parts, err))
        return -1;
    if (parts.https || loopback_v4(parts.host))
        return 0;
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        if (strcmp(parts.host, hosts[i]) == 0)
            return 0;
    }
    return sm_error_set(err,
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or "
                        "name a loopback or container metadata address, "
                        "not %.100s",
                        parts.host);
}

/* The Authorization token (new, wipe it), or NULL; -1 on error. */
static int container_token(char **out, sm_error *err)
{
    const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *value = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char buf[TOKEN_MAX];
    size_t n = 0;
    *out = NULL;
    if (file) {
        FILE *f = fopen(file, "rb");
        if (!f)
            return sm_error_set(err,
                                "cannot read "
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
                                "%.200s",
                                file);
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        while (n && strchr(" \t\r\n", buf[n - 1]))
            buf[--n] = '\0';
        value = buf;
    }
    if (value && strpbrk(value, "\r\n"))
        sm_error_set(err, "the container authorization token holds a line "
                          "break");
    else if (value && !(*out = strdup(value)))
        sm_error_set(err, "out of memory");
    sodium_memzero(buf, sizeof buf);
    return err && err->message[0] ? -1 : 0;
}

static int container_url(char *url, size_t size, sm_error *err)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    int n = rel ? snprintf(url, size, "%s%s%s", SM_CONTAINER_HOST,
                           rel[0] == '/' ? "" : "/", rel)
                : snprintf(url, size, "%s", full ? full : "");
    if (n < 0 || (size_t)n >= size || !*url)
        return sm_error_set(err, "the container credentials URI is too long");
    return rel ? 0 : full_uri_allowed(url, err);
}

int sm_metadata_container(sm_transport *http, sm_credentials *out,
                          sm_error *err)
{
    char url[2048], *token = NULL;
    sm_transport_response resp = {0};
    int rc = container_url(url, sizeof url, err);
    if (!rc)
        rc = container_token(&token, err);
    sm_transport_header auth = {"Authorization", token};
    sm_transport_result r = SM_TRANSPORT_EFATAL;
    for (int i = 0; !rc && i < SM_CONTAINER_ATTEMPTS; i++) {
        sm_error attempt = {{0}};
        body_wipe(&resp);
        r = fetch(http, "GET", url, token ? &auth : NULL,
                  SM_CONTAINER_TIMEOUT_MS, &resp, &attempt);
        if (r == SM_TRANSPORT_OK && resp.status < 500)
            break;
        if (i + 1 == SM_CONTAINER_ATTEMPTS || r == SM_TRANSPORT_EFATAL)
            rc = r == SM_TRANSPORT_OK
                     ? sm_error_set(err,
                                    "container credentials: HTTP %ld "
                                    "from %s",
                                    resp.status, url)
                     : sm_error_set(err, "container credentials: %s",
                                    attempt.message);
    }
    if (!rc && resp.status != 200)
        rc = sm_error_set(err, "container credentials: HTTP %ld from %s",
                          resp.status, url);
    if (!rc)
        rc = creds_from_body(&resp, "container", out, err);
    body_wipe(&resp);
    if (token) {
        sodium_memzero(token, strlen(token));
        free(token);
    }
    return rc;
}

/* ---- instance metadata -------------------------------------------------- */

int sm_metadata_imds_enabled(void)
{
    return !sm_profile_true(env("AWS_EC2_METADATA_DISABLED"));
}

static void imds_base(char *out, size_t size)
{
    const char *e = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (!e)
        e = mode && strcasecmp(mode, "IPv6") == 0 ? SM_IMDS_ENDPOINT_IPV6
                                                  : SM_IMDS_ENDPOINT;
    snprintf(out, size, "%s", e);
    size_t n = strlen(out);
    while (n && out[n - 1] == '/')
        out[--n] = '\0';
}

/* The session token (new; wipe it), or NULL for IMDSv1. */
static int imds_token(sm_transport *http, const char *base, char **token,
                      sm_error *err)
{
    char url[1200];
    sm_transport_response resp = {0};
    sm_transport_header ttl = {"x-aws-ec2-metadata-token-ttl-seconds",
                               SM_IMDS_TOKEN_TTL};
    sm_error why = {{0}};
    *token = NULL;
    snprintf(url, sizeof url, "%s/latest/api/token", base);
    sm_transport_result r =
        fetch(http, "PUT", url, &ttl, SM_IMDS_TIMEOUT_MS, &resp, &why);
    int rc = 0;
    if (r != SM_TRANSPORT_OK)
        rc = sm_error_set(err, "instance metadata: %s", why.message);
    else if (resp.status == 200 && resp.body.len && resp.body.len < TOKEN_MAX)
        rc = (*token = strdup(sm_buf_str(&resp.body)))
                 ? 0
                 : sm_error_set(err, "out of memory");
    else if ((resp.status == 403 || resp.status == 404 || resp.status == 405) &&
             !sm_profile_true(env("AWS_EC2_METADATA_V1_DISABLED")))
        sm_debug("instance metadata: no token (HTTP %ld), trying IMDSv1",
                 resp.status);
    else
        rc = sm_error_set(err, "instance metadata: HTTP %ld for a token",
                          resp.status);
    body_wipe(&resp);
    return rc;
}

static int imds_get(sm_transport *http, const char *url, const char *token,
                    sm_transport_response *resp, sm_error *err)
{
    sm_transport_header h = {"x-aws-ec2-metadata-token", token};
    sm_error why = {{0}};
    if (fetch(http, "GET", url, token ? &h : NULL, SM_IMDS_TIMEOUT_MS, resp,
              &why) != SM_TRANSPORT_OK)
        return sm_error_set(err, "instance metadata: %s", why.message);
    if (resp->status != 200)
        return sm_error_set(err, "instance metadata: HTTP %ld for %s",
                            resp->status, url);
    return 0;
}

/* The instance's role name (first line) into role. */
static int imds_role(sm_transport *http, const char *base, const char *token,
                     char *role, size_t size, sm_error *err)
{
    char url[1200];
    sm_transport_response resp = {0};
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/",
             base);
    int rc = imds_get(http, url, token, &resp, err);
    const char *body = sm_buf_str(&resp.body);
    size_t n = strcspn(body, "\r\n");
    if (!rc && (n == 0 || n >= size))
        rc = sm_error_set(err, "instance metadata: no IAM role is attached "
                               "to this instance");
    if (!rc)
        snprintf(role, size, "%.*s", (int)n, body);
    sm_transport_response_clear(&resp);
    return rc;
}

int sm_metadata_imds(sm_transport *http, sm_credentials *out, sm_error *err)
{
    char base[1024], role[256], url[1600], *token = NULL;
    sm_transport_response resp = {0};
    imds_base(base, sizeof base);
    int rc = imds_token(http, base, &token, err);
    if (!rc)
        rc = imds_role(http, base, token, role, sizeof role, err);
    char *encoded = rc ? NULL : sm_uri_encode(role, strlen(role), 0);
    if (!rc && !encoded)
        rc = sm_error_set(err, "out of memory");
    if (!rc) {
        snprintf(url, sizeof url,
                 "%s/latest/meta-data/iam/security-credentials/%s", base,
                 encoded);
        rc = imds_get(http, url, token, &resp, err);
    }
    if (!rc)
        rc = creds_from_body(&resp, "instance metadata", out, err);
    body_wipe(&resp);
    free(encoded);
    if (token) {
        sodium_memzero(token, strlen(token));
        free(token);
    }
    return rc;
}
