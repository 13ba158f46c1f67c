/* sts: two Query-protocol calls and the XML they answer with. */
#include "sts.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_error.h"
#include "awstime.h"
#include "buf.h"
#include "uri.h"

int sm_aws_whoami(sm_aws *self, sm_aws_identity *out, sm_aws_error *err)
{
    sm_aws_error scratch;
    if (!err)
        err = &scratch;
    memset(out, 0, sizeof *out);
    sm_xml_node *root =
        sm_aws_query_call(self, SM_AWS_STS, "GetCallerIdentity", NULL, err);
    if (!root)
        return -1;
    const sm_xml_node *r = sm_xml_child(root, "GetCallerIdentityResult");
    const char *account = sm_xml_child_text(r, "Account");
    const char *arn = sm_xml_child_text(r, "Arn");
    const char *user = sm_xml_child_text(r, "UserId");
    int rc = 0;
    if (!account || !arn) {
        snprintf(err->message, sizeof err->message,
                 "the GetCallerIdentity response has no Account or Arn");
        rc = -1;
    } else {
        sm_aws_error_copy(out->account, sizeof out->account, account);
        sm_aws_error_copy(out->arn, sizeof out->arn, arn);
        sm_aws_error_copy(out->user_id, sizeof out->user_id, user);
    }
    sm_xml_free(&root);
    return rc;
}

/* "&Name=<value encoded>" onto b. */
static int param(sm_buf *b, const char *name, const char *value)
{
    char *enc = sm_uri_encode(value, strlen(value), 0);
    int rc = !enc || sm_buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, enc);
    free(enc);
    return rc ? -1 : 0;
}

static void wipe_text(const sm_xml_node *node)
{
    const char *text = sm_xml_text(node);
    if (text)
        sodium_memzero((char *)text, strlen(text));
}

/* The credentials in an AssumeRole response. */
static int role_credentials(const sm_xml_node *root, sm_credentials *out,
                            sm_error *err)
{
    const sm_xml_node *c = sm_xml_path(root, "AssumeRoleResult/Credentials");
    const char *exp_s = sm_xml_child_text(c, "Expiration");
    time_t exp = 0;
    if (!c || !exp_s || sm_awstime_parse_iso8601(exp_s, &exp))
        return sm_error_set(err, "the AssumeRole response has no "
                                 "credentials with an Expiration");
    int rc = sm_credentials_set(out, sm_xml_child_text(c, "AccessKeyId"),
                                sm_xml_child_text(c, "SecretAccessKey"),
                                sm_xml_child_text(c, "SessionToken"), exp,
                                "an assumed role", err);
    wipe_text(sm_xml_child(c, "SecretAccessKey"));
    wipe_text(sm_xml_child(c, "SessionToken"));
    return rc;
}

int sm_sts_assume_role(sm_aws *sts, const sm_assume_role *role,
                       sm_credentials *out, sm_error *err)
{
    sm_buf params = {0};
    sm_aws_error aerr;
    char duration[32];
    int rc = !role->role_arn || !*role->role_arn
                 ? sm_error_set(err, "role_arn is empty")
                 : 0;
    snprintf(duration, sizeof duration, "%ld", role->duration_seconds);
    if (!rc && (param(&params, "RoleArn", role->role_arn) ||
                param(&params, "RoleSessionName", role->session_name) ||
                (role->duration_seconds > 0 &&
                 param(&params, "DurationSeconds", duration)) ||
                (role->external_id &&
                 param(&params, "ExternalId", role->external_id))))
        rc = sm_error_set(err, "out of memory");
    sm_xml_node *root = rc ? NULL
                           : sm_aws_query_call(sts, SM_AWS_STS, "AssumeRole",
                                               params.data, &aerr);
    if (!rc && !root) {
        char msg[1200];
        sm_aws_error_format(&aerr, msg, sizeof msg);
        rc = sm_error_set(err, "assuming role %.300s: %s", role->role_arn, msg);
    }
    if (!rc)
        rc = role_credentials(root, out, err);
    sm_xml_free(&root);
    sm_buf_free(&params);
    return rc;
}
