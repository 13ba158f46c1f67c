/* metadata: credentials from the machine the process runs on: the
 * container credentials endpoint (ECS, SageMaker, CodeBuild) and the EC2
 * instance metadata service (IMDSv2, IMDSv1 as a fallback). */
#ifndef SM_METADATA_H
#define SM_METADATA_H

#include "credentials.h"
#include "error.h"
#include "transport.h"

#define SM_CONTAINER_HOST "http://169.254.170.2"
#define SM_CONTAINER_TIMEOUT_MS 2000
#define SM_CONTAINER_ATTEMPTS 3
#define SM_IMDS_ENDPOINT "http://169.254.169.254"
#define SM_IMDS_ENDPOINT_IPV6 "http://[fd00:ec2::254]"
#define SM_IMDS_TIMEOUT_MS 1000
#define SM_IMDS_TOKEN_TTL "21600"

/* Nonzero when AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI is set. */
int sm_metadata_container_configured(void);

/* Fetch container credentials: RELATIVE_URI on 169.254.170.2, else
 * FULL_URI, which must be https or name a loopback address,
 * 169.254.170.2 or 169.254.170.23 (or [fd00:ec2::23]). The Authorization
 * header comes from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else
 * AWS_CONTAINER_AUTHORIZATION_TOKEN. 0, or -1 with `err` set. */
int sm_metadata_container(sm_transport *http, sm_credentials *out,
                          sm_error *err);

/* Nonzero unless AWS_EC2_METADATA_DISABLED is true. */
int sm_metadata_imds_enabled(void);

/* Fetch the instance role's credentials from
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (else the default, or the IPv6 one
 * when AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is IPv6): a token by PUT,
 * the role name, the role's credentials. Without a token (403, 404, 405)
 * it asks without one unless AWS_EC2_METADATA_V1_DISABLED is true.
 * 0, or -1 with `err` set. */
int sm_metadata_imds(sm_transport *http, sm_credentials *out, sm_error *err);

#endif
