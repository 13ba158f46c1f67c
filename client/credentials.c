/* credentials: the chain is a row of steps, each answering "found" (0),
 * "not here" (1) or "broken" (-1); the cache is one mutex and one copy. */
#include "credentials.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awstime.h"
#include "credential_process.h"
#include "log.h"
#include "metadata.h"

#define NOT_HERE 1

/* ---- one set --------------------------------------------------------------
 */

static void wipe_free(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

void sm_credentials_clear(sm_credentials *self)
{
    if (!self)
        return;
    free(self->access_key);
    wipe_free(self->secret_key);
    wipe_free(self->session_token);
    memset(self, 0, sizeof *self);
}

int sm_credentials_set(sm_credentials *self, const char *access_key,
                       const char *secret_key, const char *token,
                       time_t expiration, const char *source, sm_error *err)
{
    sm_credentials_clear(self);
    if (!access_key || !*access_key || !secret_key || !*secret_key)
        return sm_error_set(err,
                            "credentials from %s lack the access key "
                            "or the secret key",
                            source);
    self->access_key = strdup(access_key);
    self->secret_key = strdup(secret_key);
    self->session_token = token && *token ? strdup(token) : NULL;
    self->expiration = expiration;
    self->source = source;
    if (!self->access_key || !self->secret_key ||
        (token && *token && !self->session_token)) {
        sm_credentials_clear(self);
        return sm_error_set(err, "out of memory");
    }
    return 0;
}

int sm_credentials_copy(sm_credentials *dst, const sm_credentials *src,
                        sm_error *err)
{
    return sm_credentials_set(dst, src->access_key, src->secret_key,
                              src->session_token, src->expiration, src->source,
                              err);
}

int sm_credentials_from_json(const json_t *doc, const char *token_key,
                             const char *source, sm_credentials *out,
                             sm_error *err)
{
    const char *ak = json_string_value(json_object_get(doc, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(doc, "SecretAccessKey"));
    const char *token = json_string_value(json_object_get(doc, token_key));
    const json_t *exp_v = json_object_get(doc, "Expiration");
    time_t exp = 0;
    if (!ak || !sk || !*ak || !*sk)
        return sm_error_set(err,
                            "%s credentials lack AccessKeyId or "
                            "SecretAccessKey",
                            source);
    if (exp_v && !json_is_null(exp_v) &&
        sm_awstime_parse_iso8601(json_string_value(exp_v), &exp))
        return sm_error_set(err,
                            "%s credentials have an Expiration that is "
                            "not an ISO 8601 time",
                            source);
    return sm_credentials_set(out, ak, sk, token, exp, source, err);
}

void sm_credentials_json_wipe(json_t *doc)
{
    static const char *const keys[] = {"SecretAccessKey", "Token",
                                       "SessionToken"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(doc, keys[i]);
        if (json_is_string(v))
            sodium_memzero((char *)json_string_value(v), json_string_length(v));
    }
}

/* ---- the chain ------------------------------------------------------------
 */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static time_t chain_now(const sm_credentials_config *cfg)
{
    return cfg->now ? cfg->now(cfg->now_ctx) : time(NULL);
}

static int from_explicit(const sm_credentials_config *cfg, sm_credentials *out,
                         sm_error *err)
{
    int has_ak = cfg->access_key && *cfg->access_key;
    int has_sk = cfg->secret_key && *cfg->secret_key;
    if (!has_ak && !has_sk)
        return NOT_HERE;
    if (!has_ak || !has_sk)
        return sm_error_set(err, "set both the access key and the secret "
                                 "key, or neither");
    return sm_credentials_set(out, cfg->access_key, cfg->secret_key,
                              cfg->session_token, 0, "the configuration", err);
}

static int from_env(sm_credentials *out, sm_error *err)
{
    const char *ak = env("AWS_ACCESS_KEY_ID");
    const char *sk = env("AWS_SECRET_ACCESS_KEY");
    const char *token = env("AWS_SESSION_TOKEN");
    const char *exp_s = env("AWS_CREDENTIAL_EXPIRATION");
    time_t exp = 0;
    if (!ak && !sk)
        return NOT_HERE;
    if (!ak || !sk)
        return sm_error_set(err, "AWS_ACCESS_KEY_ID and "
                                 "AWS_SECRET_ACCESS_KEY must be set "
                                 "together");
    if (exp_s && sm_awstime_parse_iso8601(exp_s, &exp))
        return sm_error_set(err, "AWS_CREDENTIAL_EXPIRATION is not an ISO "
                                 "8601 time");
    return sm_credentials_set(out, ak, sk,
                              token ? token : env("AWS_SECURITY_TOKEN"), exp,
                              "environment", err);
}

/* aws_access_key_id and friends in one file's section for `name`. */
static int profile_static(const sm_credentials_config *cfg,
                          sm_profile_file file, const char *name,
                          sm_credentials *out, sm_error *err)
{
    const sm_profiles *p = cfg->profiles;
    const char *ak = sm_profiles_get_in(p, file, name, "aws_access_key_id");
    const char *sk = sm_profiles_get_in(p, file, name, "aws_secret_access_key");
    const char *token = sm_profiles_get_in(p, file, name, "aws_session_token");
    if (!token)
        token = sm_profiles_get_in(p, file, name, "aws_security_token");
    if (!ak && !sk)
        return NOT_HERE;
    if (!ak || !*ak || !sk || !*sk)
        return sm_error_set(err,
                            "profile '%.100s' sets only one of "
                            "aws_access_key_id and "
                            "aws_secret_access_key",
                            name);
    return sm_credentials_set(out, ak, sk, token, 0,
                              file == SM_PROFILE_CREDENTIALS_FILE
                                  ? "the shared credentials file"
                                  : "the shared config file",
                              err);
}

/* Whether the profile gets its credentials from IAM Identity Center, which
 * only the AWS CLI and SDKs' SSO token flow can sign in to. */
static int uses_sso(const sm_profiles *p, const char *name)
{
    return sm_profiles_get(p, name, "sso_session") ||
           sm_profiles_get(p, name, "sso_start_url");
}

/* A profile's own credentials, without a role: the credentials file's
 * keys, credential_process, the config file's keys (botocore's order). */
static int profile_plain(const sm_credentials_config *cfg, const char *name,
                         sm_credentials *out, sm_error *err)
{
    int rc = profile_static(cfg, SM_PROFILE_CREDENTIALS_FILE, name, out, err);
    const char *process =
        sm_profiles_get(cfg->profiles, name, "credential_process");
    if (rc == NOT_HERE && process)
        return sm_credential_process(process, cfg->process_timeout_ms, out,
                                     err);
    if (rc == NOT_HERE)
        rc = profile_static(cfg, SM_PROFILE_CONFIG_FILE, name, out, err);
    if (rc == NOT_HERE && uses_sso(cfg->profiles, name))
        rc = sm_error_set(err,
                          "profile '%.100s' signs in through IAM Identity "
                          "Center (SSO), which sagemagic does not do: after "
                          "aws sso login, use a profile with "
                          "credential_process = aws configure "
                          "export-credentials --profile %.100s",
                          name, name);
    return rc;
}

static int profile_creds(const sm_credentials_config *cfg, const char *name,
                         int depth, sm_credentials *out, sm_error *err);

/* credential_source: where a role's source credentials come from. */
static int named_source(const sm_credentials_config *cfg, const char *what,
                        sm_credentials *out, sm_error *err)
{
    int rc;
    if (strcmp(what, "Environment") == 0)
        rc = from_env(out, err);
    else if (strcmp(what, "EcsContainer") == 0)
        rc = sm_metadata_container(cfg->http, out, err);
    else if (strcmp(what, "Ec2InstanceMetadata") == 0)
        rc = sm_metadata_imds(cfg->http, out, err);
    else
        return sm_error_set(err,
                            "credential_source '%.64s' is not "
                            "Environment, EcsContainer or "
                            "Ec2InstanceMetadata",
                            what);
    if (rc == NOT_HERE)
        rc = sm_error_set(err,
                          "credential_source %s: AWS_ACCESS_KEY_ID is "
                          "not set",
                          what);
    return rc;
}

static int role_source(const sm_credentials_config *cfg, const char *name,
                       int depth, sm_credentials *src, sm_error *err)
{
    const sm_profiles *p = cfg->profiles;
    const char *source = sm_profiles_get(p, name, "source_profile");
    const char *named = sm_profiles_get(p, name, "credential_source");
    if ((source && named) || (!source && !named))
        return sm_error_set(err,
                            "profile '%.100s' has role_arn and needs "
                            "exactly one of source_profile and "
                            "credential_source",
                            name);
    if (named)
        return named_source(cfg, named, src, err);
    if (!sm_profiles_exists(p, source))
        return sm_error_set(err,
                            "source_profile '%.100s' of profile "
                            "'%.100s' does not exist",
                            source, name);
    int rc = strcmp(source, name) == 0
                 ? profile_plain(cfg, name, src, err)
                 : profile_creds(cfg, source, depth + 1, src, err);
    if (rc == NOT_HERE)
        rc = sm_error_set(err, "source_profile '%.100s' has no credentials",
                          source);
    return rc;
}

static int role_creds(const sm_credentials_config *cfg, const char *name,
                      int depth, sm_credentials *out, sm_error *err)
{
    const sm_profiles *p = cfg->profiles;
    const char *duration = sm_profiles_get(p, name, "duration_seconds");
    const char *session = sm_profiles_get(p, name, "role_session_name");
    char session_buf[64], *end = NULL;
    sm_assume_role role = {
        .role_arn = sm_profiles_get(p, name, "role_arn"),
        .external_id = sm_profiles_get(p, name, "external_id"),
        .duration_seconds = duration ? strtol(duration, &end, 10) : 0,
    };
    if (duration &&
        (*end || role.duration_seconds < 900 || role.duration_seconds > 43200))
        return sm_error_set(err,
                            "duration_seconds of profile '%.100s' must "
                            "be 900 to 43200",
                            name);
    if (sm_profiles_get(p, name, "mfa_serial"))
        return sm_error_set(err,
                            "profile '%.100s' needs MFA (mfa_serial), "
                            "which sagemagic cannot prompt for: use "
                            "credential_process",
                            name);
    if (!cfg->assume_role)
        return sm_error_set(err,
                            "profile '%.100s' assumes a role, which "
                            "needs STS",
                            name);
    snprintf(session_buf, sizeof session_buf, "sagemagic-%lld",
             (long long)chain_now(cfg));
    role.session_name = session && *session ? session : session_buf;
    sm_credentials src = {0};
    int rc = role_source(cfg, name, depth, &src, err);
    if (!rc) {
        sm_debug("assuming role %s (profile %s) with credentials from %s",
                 role.role_arn, name, src.source);
        rc = cfg->assume_role(cfg->assume_role_ctx, &src, &role, out, err);
    }
    sm_credentials_clear(&src);
    return rc;
}

static int profile_creds(const sm_credentials_config *cfg, const char *name,
                         int depth, sm_credentials *out, sm_error *err)
{
    if (depth > SM_CREDENTIALS_MAX_ROLE_CHAIN)
        return sm_error_set(err,
                            "source_profile chain from '%.100s' is "
                            "longer than %d (a loop?)",
                            name, SM_CREDENTIALS_MAX_ROLE_CHAIN);
    if (sm_profiles_get(cfg->profiles, name, "role_arn"))
        return role_creds(cfg, name, depth, out, err);
    return profile_plain(cfg, name, out, err);
}

static int from_profile(const sm_credentials_config *cfg, sm_credentials *out,
                        sm_error *err)
{
    const char *name = sm_profile_name(cfg->profile);
    int named = (cfg->profile && *cfg->profile) || env("AWS_PROFILE") ||
                env("AWS_DEFAULT_PROFILE");
    if (!sm_profiles_exists(cfg->profiles, name))
        return named ? sm_error_set(err,
                                    "profile '%.100s' is not in the "
                                    "AWS config or credentials file",
                                    name)
                     : NOT_HERE;
    return profile_creds(cfg, name, 0, out, err);
}

static int from_imds(const sm_credentials_config *cfg, sm_credentials *out)
{
    sm_error why = {{0}};
    if (!sm_metadata_imds_enabled())
        return NOT_HERE;
    if (sm_metadata_imds(cfg->http, out, &why) == 0)
        return 0;
    sm_debug("no instance credentials: %s", why.message);
    return NOT_HERE;
}

int sm_credentials_resolve(const sm_credentials_config *cfg,
                           sm_credentials *out, sm_error *err)
{
    int rc = from_explicit(cfg, out, err);
    if (rc == NOT_HERE && !(cfg->profile && *cfg->profile))
        rc = from_env(out, err);
    if (rc == NOT_HERE)
        rc = from_profile(cfg, out, err);
    if (rc == NOT_HERE && sm_metadata_container_configured())
        rc = sm_metadata_container(cfg->http, out, err);
    if (rc == NOT_HERE)
        rc = from_imds(cfg, out);
    if (rc == NOT_HERE)
        rc = sm_error_set(err, "no AWS credentials: set AWS_ACCESS_KEY_ID "
                               "and AWS_SECRET_ACCESS_KEY, or a profile in "
                               "~/.aws (AWS_PROFILE), or run where "
                               "container or instance credentials exist");
    return rc ? -1 : 0;
}

/* ---- the cache ------------------------------------------------------------
 */

struct sm_credentials_provider {
    sm_credentials_config cfg; /* its strings point at the copies below */
    char *access_key, *secret_key, *session_token, *profile;
    pthread_mutex_t lock;
    sm_credentials cached;
    int have;
};

static char *dup_or_null(const char *s, int *failed)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *failed = 1;
    return d;
}

sm_credentials_provider *
sm_credentials_provider_new(const sm_credentials_config *cfg, sm_error *err)
{
    sm_credentials_provider *self = calloc(1, sizeof *self);
    int failed = !self;
    if (self) {
        self->cfg = *cfg;
        self->cfg.access_key = self->access_key =
            dup_or_null(cfg->access_key, &failed);
        self->cfg.secret_key = self->secret_key =
            dup_or_null(cfg->secret_key, &failed);
        self->cfg.session_token = self->session_token =
            dup_or_null(cfg->session_token, &failed);
        self->cfg.profile = self->profile = dup_or_null(cfg->profile, &failed);
        pthread_mutex_init(&self->lock, NULL);
    }
    if (failed) {
        sm_credentials_provider_destroy(&self);
        sm_error_set(err, "out of memory");
    }
    return self;
}

void sm_credentials_provider_destroy(sm_credentials_provider **self)
{
    if (!self || !*self)
        return;
    sm_credentials_provider *p = *self;
    sm_credentials_clear(&p->cached);
    free(p->access_key);
    wipe_free(p->secret_key);
    wipe_free(p->session_token);
    free(p->profile);
    pthread_mutex_destroy(&p->lock);
    free(p);
    *self = NULL;
}

/* Run the chain again; keep the old credentials when that fails and they
 * are still outside the mandatory window. Called with the lock held. */
static int refresh(sm_credentials_provider *self, time_t now, sm_error *err)
{
    sm_credentials fresh = {0};
    sm_error why = {{0}};
    int rc = sm_credentials_resolve(&self->cfg, &fresh, &why);
    if (!rc && fresh.expiration && fresh.expiration <= now)
        rc = sm_error_set(&why, "the credentials from %s have expired",
                          fresh.source);
    if (!rc) {
        sm_credentials_clear(&self->cached);
        self->cached = fresh;
        self->have = 1;
        if (fresh.expiration)
            sm_info("credentials from %s, valid for %lld min", fresh.source,
                    (long long)(fresh.expiration - now) / 60);
        else
            sm_info("credentials from %s", fresh.source);
        return 0;
    }
    sm_credentials_clear(&fresh);
    if (self->have &&
        self->cached.expiration - now > SM_CREDENTIALS_MANDATORY_REFRESH) {
        sm_warn("refreshing credentials failed (%s); using the current "
                "ones for now",
                why.message);
        return 0;
    }
    return sm_error_set(err, "%s", why.message);
}

int sm_credentials_provider_get(sm_credentials_provider *self,
                                sm_credentials *out, sm_error *err)
{
    pthread_mutex_lock(&self->lock);
    time_t now = chain_now(&self->cfg);
    int fresh_enough = self->have && (self->cached.expiration == 0 ||
                                      self->cached.expiration - now >
                                          SM_CREDENTIALS_ADVISORY_REFRESH);
    int rc = fresh_enough ? 0 : refresh(self, now, err);
    if (!rc)
        rc = sm_credentials_copy(out, &self->cached, err);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void sm_credentials_provider_invalidate(sm_credentials_provider *self)
{
    pthread_mutex_lock(&self->lock);
    sm_credentials_clear(&self->cached);
    self->have = 0;
    pthread_mutex_unlock(&self->lock);
}
