/* endpoint: one table of services; region and URL resolution as chains of
 * "first one set wins". */
#include "endpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sm_aws_service_info services[SM_AWS_SERVICE_COUNT] = {
    {SM_AWS_S3, "s3", "s3", "s3", "S3", "s3", NULL, "2006-03-01",
     SM_AWS_PROTOCOL_REST_XML},
    {SM_AWS_SAGEMAKER, "sagemaker", "sagemaker", "api.sagemaker", "SAGEMAKER",
     "sagemaker", "SageMaker", "2017-07-24", SM_AWS_PROTOCOL_JSON},
    {SM_AWS_RUNTIME, "sagemaker-runtime", "sagemaker", "runtime.sagemaker",
     "SAGEMAKER_RUNTIME", "sagemaker_runtime", NULL, "2017-05-13",
     SM_AWS_PROTOCOL_REST_JSON},
    {SM_AWS_LOGS, "logs", "logs", "logs", "CLOUDWATCH_LOGS", "cloudwatch_logs",
     "Logs_20140328", "2014-03-28", SM_AWS_PROTOCOL_JSON},
    {SM_AWS_STS, "sts", "sts", "sts", "STS", "sts", NULL, "2011-06-15",
     SM_AWS_PROTOCOL_QUERY},
};

const sm_aws_service_info *sm_aws_service_info_get(sm_aws_service service)
{
    if ((int)service < 0 || service >= SM_AWS_SERVICE_COUNT)
        return NULL;
    return &services[service];
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* ---- region ------------------------------------------------------------- */

static int region_valid(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= SM_REGION_MAX || r[0] == '-' || r[n - 1] == '-')
        return 0;
    for (; *r; r++) {
        if (!islower((unsigned char)*r) && !isdigit((unsigned char)*r) &&
            *r != '-')
            return 0;
    }
    return 1;
}

int sm_endpoint_region(const char *configured, const sm_profiles *profiles,
                       const char *profile, char out[SM_REGION_MAX],
                       sm_error *err)
{
    const char *r = configured && *configured ? configured : NULL;
    const char *from = "the configuration";
    if (!r && (r = env("AWS_REGION")) != NULL)
        from = "AWS_REGION";
    if (!r && (r = env("AWS_DEFAULT_REGION")) != NULL)
        from = "AWS_DEFAULT_REGION";
    if (!r && (r = sm_profiles_get(profiles, profile, "region")) != NULL)
        from = "the profile";
    if (!r || !*r)
        return sm_error_set(err, "no region: set %%config region=... or "
                                 "AWS_REGION");
    if (!region_valid(r))
        return sm_error_set(err,
                            "'%.64s' from %s is not a region name "
                            "(like us-east-1)",
                            r, from);
    snprintf(out, SM_REGION_MAX, "%s", r);
    return 0;
}

/* ---- URLs --------------------------------------------------------------- */

const char *sm_endpoint_dns_suffix(const char *region)
{
    if (strncmp(region, "cn-", 3) == 0)
        return "amazonaws.com.cn";
    if (strncmp(region, "eusc-", 5) == 0)
        return "amazonaws.eu";
    return "amazonaws.com";
}

static int host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* "host[:port]" of length n into out. */
static int split_authority(const char *a, size_t n, sm_endpoint_parts *out)
{
    size_t host_len = 0;
    if (n && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close)
            return -1;
        host_len = (size_t)(close - a) + 1;
        for (size_t i = 1; i + 1 < host_len; i++) {
            if (!isxdigit((unsigned char)a[i]) && a[i] != ':' && a[i] != '.')
                return -1;
        }
    } else {
        while (host_len < n && host_char(a[host_len]))
            host_len++;
    }
    if (host_len == 0 || host_len >= sizeof out->host)
        return -1;
    long port = out->https ? 443 : 80;
    if (host_len < n) {
        if (a[host_len] != ':' || host_len + 1 == n || n - host_len > 6)
            return -1;
        port = 0;
        for (size_t i = host_len + 1; i < n; i++) {
            if (!isdigit((unsigned char)a[i]))
                return -1;
            port = port * 10 + (a[i] - '0');
        }
        if (port < 1 || port > 65535)
            return -1;
    }
    memcpy(out->host, a, host_len);
    out->host[host_len] = '\0';
    if (port == (out->https ? 443 : 80))
        snprintf(out->authority, sizeof out->authority, "%s", out->host);
    else
        snprintf(out->authority, sizeof out->authority, "%s:%ld", out->host,
                 port);
    return 0;
}

int sm_endpoint_split(const char *url, sm_endpoint_parts *out, sm_error *err)
{
    memset(out, 0, sizeof *out);
    const char *rest = NULL;
    if (strncmp(url, "https://", 8) == 0) {
        out->https = 1;
        rest = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        rest = url + 7;
    }
    size_t auth_len = rest ? strcspn(rest, "/") : 0;
    const char *path = rest ? rest + auth_len : NULL;
    size_t path_len = path ? strlen(path) : 0;
    while (path_len && path[path_len - 1] == '/')
        path_len--;
    int bad = !rest || split_authority(rest, auth_len, out) ||
              path_len >= sizeof out->base_path;
    for (size_t i = 0; !bad && i < path_len; i++) {
        unsigned char c = (unsigned char)path[i];
        bad = c <= ' ' || c >= 0x7F || c == '?' || c == '#';
    }
    if (bad)
        return sm_error_set(err,
                            "'%.200s' is not an endpoint URL "
                            "(http(s)://host[:port][/path])",
                            url);
    memcpy(out->base_path, path, path_len);
    out->base_path[path_len] = '\0';
    return 0;
}

/* The override that applies, if any, and where it came from. */
static const char *override_url(const sm_aws_service_info *info,
                                const char *explicit_url,
                                const sm_profiles *profiles,
                                const char *profile, char from[64])
{
    char name[64];
    if (explicit_url && *explicit_url) {
        snprintf(from, 64, "the configured endpoint_url");
        return explicit_url;
    }
    if (sm_profile_true(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
        sm_profile_true(sm_profiles_get(profiles, profile,
                                        "ignore_configured_endpoint_urls")))
        return NULL;
    snprintf(name, sizeof name, "AWS_ENDPOINT_URL_%s", info->env_id);
    const char *url = NULL;
    if ((url = env(name)) != NULL)
        snprintf(from, 64, "%s", name);
    else if ((url = env("AWS_ENDPOINT_URL")) != NULL)
        snprintf(from, 64, "AWS_ENDPOINT_URL");
    else if ((url = sm_profiles_service_get(profiles, profile, info->config_key,
                                            "endpoint_url")) != NULL)
        snprintf(from, 64, "the profile's services section");
    else if ((url = sm_profiles_get(profiles, profile, "endpoint_url")) != NULL)
        snprintf(from, 64, "the profile's endpoint_url");
    return url && *url ? url : NULL;
}

int sm_endpoint_url(sm_aws_service service, const char *region,
                    const char *explicit_url, const sm_profiles *profiles,
                    const char *profile, char out[SM_ENDPOINT_URL_MAX],
                    int *is_override, sm_error *err)
{
    const sm_aws_service_info *info = sm_aws_service_info_get(service);
    char from[64] = "the default";
    if (!info)
        return sm_error_set(err, "unknown service %d", (int)service);
    const char *url = override_url(info, explicit_url, profiles, profile, from);
    *is_override = url != NULL;
    int n = url ? snprintf(out, SM_ENDPOINT_URL_MAX, "%s", url)
                : snprintf(out, SM_ENDPOINT_URL_MAX, "https://%s.%s.%s",
                           info->host_prefix, region,
                           sm_endpoint_dns_suffix(region));
    if (n < 0 || n >= SM_ENDPOINT_URL_MAX)
        return sm_error_set(err, "the endpoint URL from %s is too long", from);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    sm_endpoint_parts parts;
    sm_error bad = {{0}};
    if (sm_endpoint_split(out, &parts, &bad))
        return sm_error_set(err, "%s (from %s)", bad.message, from);
    return 0;
}
