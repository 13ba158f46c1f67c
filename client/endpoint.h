/* endpoint: the wire facts of each service (signing name, protocol, JSON
 * target) and where its requests go: the region, the default URL of the
 * region's partition, and the configured overrides in botocore's order. */
#ifndef SM_ENDPOINT_H
#define SM_ENDPOINT_H

#include <stddef.h>

#include "aws.h"
#include "error.h"
#include "profile.h"

#define SM_ENDPOINT_URL_MAX 1024
#define SM_REGION_MAX 64

typedef enum sm_aws_protocol {
    SM_AWS_PROTOCOL_JSON,      /* awsJson 1.1: SageMaker, Logs */
    SM_AWS_PROTOCOL_REST_JSON, /* Runtime */
    SM_AWS_PROTOCOL_REST_XML,  /* S3 */
    SM_AWS_PROTOCOL_QUERY,     /* STS: form request, XML response */
} sm_aws_protocol;

/* One row of the service table. Every string is a literal. */
typedef struct sm_aws_service_info {
    sm_aws_service service;
    const char *name;          /* "sagemaker-runtime": errors and logs */
    const char *signing_name;  /* the SigV4 scope's service: "sagemaker" */
    const char *host_prefix;   /* "runtime.sagemaker" */
    const char *env_id;        /* AWS_ENDPOINT_URL_<env_id> */
    const char *config_key;    /* key in a "[services x]" section */
    const char *target_prefix; /* awsJson X-Amz-Target prefix, or NULL */
    const char *api_version;   /* the Query protocol's Version */
    sm_aws_protocol protocol;
} sm_aws_service_info;

/* The row for `service`, or NULL when it is out of range. */
const sm_aws_service_info *sm_aws_service_info_get(sm_aws_service service);

/* The region: `configured` (borrowed) when not NULL or "", else
 * AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region`.
 * Written into out; 0, or -1 with `err` set when there is none or it is
 * not a region name (lower-case letters, digits, '-'). */
int sm_endpoint_region(const char *configured, const sm_profiles *profiles,
                       const char *profile, char out[SM_REGION_MAX],
                       sm_error *err);

/* The base URL (no trailing '/') for `service` in `region`, written into
 * out. The first of: `explicit_url`; AWS_ENDPOINT_URL_<SERVICE>;
 * AWS_ENDPOINT_URL; the profile's services section "<key> =\n
 * endpoint_url = U"; the profile's endpoint_url; and, when none is set
 * (or AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / the profile's
 * ignore_configured_endpoint_urls is true, which leaves only the explicit
 * one), https://<host_prefix>.<region>.<partition suffix>. *is_override
 * says whether an override won. 0, or -1 with `err` set when the chosen
 * URL is not http(s)://host[:port][/path]. */
int sm_endpoint_url(sm_aws_service service, const char *region,
                    const char *explicit_url, const sm_profiles *profiles,
                    const char *profile, char out[SM_ENDPOINT_URL_MAX],
                    int *is_override, sm_error *err);

/* The DNS suffix of the region's partition: "amazonaws.com",
 * "amazonaws.com.cn" (cn-*) or "amazonaws.eu" (eusc-*). */
const char *sm_endpoint_dns_suffix(const char *region);

/* A base URL in pieces. */
typedef struct sm_endpoint_parts {
    int https;
    char host[256];      /* as in the URL, "[::1]" for IPv6 */
    char authority[264]; /* the Host header: host, ":port" when not the
                          * scheme's default */
    char base_path[512]; /* "" or "/prefix" (no trailing '/') */
} sm_endpoint_parts;

/* Split a base URL (borrowed). 0, or -1 with `err` set. */
int sm_endpoint_split(const char *url, sm_endpoint_parts *out, sm_error *err);

#endif
