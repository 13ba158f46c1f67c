/* sts: the STS operations the client itself needs: GetCallerIdentity
 * (sm_aws_whoami, in aws.h) and AssumeRole for role profiles. */
#ifndef SM_STS_H
#define SM_STS_H

#include "aws.h"
#include "credentials.h"

/* Call AssumeRole on `sts` (a client holding the source credentials) and
 * fill `out` with the role's temporary credentials. 0, or -1 with `err`
 * set to one sentence naming the role. */
int sm_sts_assume_role(sm_aws *sts, const sm_assume_role *role,
                       sm_credentials *out, sm_error *err);

#endif
