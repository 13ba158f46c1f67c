/* test_credentials: the chain's order with temporary files and variables,
 * role profiles through a fake AssumeRole, credential_process (good,
 * failing, garbage, hanging), and the refreshing cache on a fake clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "credential_process.h"
#include "credentials.h"
#include "profile.h"
#include "test.h"
#include "testenv.h"

#define EXP_2030 1893456000 /* 2030-01-01T00:00:00Z */

/* ---- helpers ------------------------------------------------------------- */

typedef struct fake_sts {
    int calls;
    char source_key[64], source_token[64];
    char role_arn[128], session[64], external_id[64];
    long duration;
} fake_sts;

static int fake_assume(void *ctx, const sm_credentials *src,
                       const sm_assume_role *role, sm_credentials *out,
                       sm_error *err)
{
    fake_sts *f = ctx;
    char key[64];
    f->calls++;
    snprintf(f->source_key, sizeof f->source_key, "%s", src->access_key);
    snprintf(f->source_token, sizeof f->source_token, "%s",
             src->session_token ? src->session_token : "");
    snprintf(f->role_arn, sizeof f->role_arn, "%s", role->role_arn);
    snprintf(f->session, sizeof f->session, "%s", role->session_name);
    snprintf(f->external_id, sizeof f->external_id, "%s",
             role->external_id ? role->external_id : "");
    f->duration = role->duration_seconds;
    snprintf(key, sizeof key, "ROLE%d", f->calls);
    return sm_credentials_set(out, key, "rolesecret", "roletoken", EXP_2030,
                              "an assumed role", err);
}

typedef struct world {
    sm_profiles *profiles;
    fake_sts sts;
    sm_credentials_config cfg;
    time_t now;
} world;

static time_t fake_now(void *ctx)
{
    return ((world *)ctx)->now;
}

/* Write ~/.aws/config and ~/.aws/credentials and load them into w. */
static int world_load(world *w, const char *home, const char *config,
                      const char *credentials)
{
    char dir[512];
    sm_error err = {{0}};
    snprintf(dir, sizeof dir, "%s/.aws", home);
    mkdir(dir, 0700);
    if ((config && !testenv_write(dir, "config", config, 0)) ||
        (credentials && !testenv_write(dir, "credentials", credentials, 0)))
        return -1;
    memset(w, 0, sizeof *w);
    w->profiles = sm_profiles_load(&err);
    w->now = EXP_2030 - 3600;
    w->cfg = (sm_credentials_config){
        .profiles = w->profiles,
        .assume_role = fake_assume,
        .assume_role_ctx = &w->sts,
        .now = fake_now,
        .now_ctx = w,
        .process_timeout_ms = 5000,
    };
    return w->profiles ? 0 : -1;
}

static void world_free(world *w)
{
    sm_profiles_destroy(&w->profiles);
}

/* Resolve once; the access key, or "error: <message>". */
static const char *resolve(world *w, sm_credentials *out)
{
    static char result[1100];
    sm_error err = {{0}};
    sm_credentials_clear(out);
    if (sm_credentials_resolve(&w->cfg, out, &err))
        snprintf(result, sizeof result, "error: %s", err.message);
    else
        snprintf(result, sizeof result, "%s", out->access_key);
    return result;
}

static const char *script(const char *home, const char *name, const char *body)
{
    static char path[512];
    char text[4096];
    snprintf(text, sizeof text, "#!/bin/sh\n%s\n", body);
    const char *p = testenv_write(home, name, text, 1);
    snprintf(path, sizeof path, "%s", p ? p : "");
    return path;
}

/* ---- the chain's order -----------------------------------------------------
 */

ENV_TEST(credentials_explicit_then_environment)
{
    world w;
    sm_credentials c = {0};
    CHECK(world_load(&w, home, "[default]\n",
                     "[default]\naws_access_key_id = FILEKEY\n"
                     "aws_secret_access_key = filesecret\n") == 0);
    CHECK_STR(resolve(&w, &c), "FILEKEY");
    CHECK_STR(c.source, "the shared credentials file");
    CHECK(c.session_token == NULL);

    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_SECURITY_TOKEN", "legacytoken", 1);
    CHECK_STR(resolve(&w, &c), "ENVKEY");
    CHECK_STR(c.secret_key, "envsecret");
    CHECK_STR(c.session_token, "legacytoken");
    setenv("AWS_SESSION_TOKEN", "newtoken", 1);
    setenv("AWS_CREDENTIAL_EXPIRATION", "2030-01-01T00:00:00Z", 1);
    CHECK_STR(resolve(&w, &c), "ENVKEY");
    CHECK_STR(c.session_token, "newtoken");
    CHECK(c.expiration == EXP_2030);
    setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow", 1);
    CHECK(strstr(resolve(&w, &c), "AWS_CREDENTIAL_EXPIRATION"));
    unsetenv("AWS_CREDENTIAL_EXPIRATION");

    w.cfg.access_key = "EXPLICIT";
    w.cfg.secret_key = "explicitsecret";
    CHECK_STR(resolve(&w, &c), "EXPLICIT");
    CHECK(c.session_token == NULL);
    w.cfg.secret_key = NULL;
    CHECK(strstr(resolve(&w, &c), "error: set both"));
    w.cfg.access_key = NULL;

    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(strstr(resolve(&w, &c), "must be set together"));
    sm_credentials_clear(&c);
    world_free(&w);
}

ENV_TEST(credentials_profile_in_code_skips_environment)
{
    world w;
    sm_credentials c = {0};
    CHECK(world_load(&w, home, "[profile dev]\nregion = x\n",
                     "[dev]\naws_access_key_id = DEVKEY\n"
                     "aws_secret_access_key = devsecret\n"
                     "aws_session_token = devtoken\n") == 0);
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    w.cfg.profile = "dev";
    CHECK_STR(resolve(&w, &c), "DEVKEY");
    CHECK_STR(c.session_token, "devtoken");
    /* AWS_PROFILE does not skip the environment. */
    w.cfg.profile = NULL;
    setenv("AWS_PROFILE", "dev", 1);
    CHECK_STR(resolve(&w, &c), "ENVKEY");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK_STR(resolve(&w, &c), "DEVKEY");
    setenv("AWS_PROFILE", "missing", 1);
    CHECK(strstr(resolve(&w, &c), "profile 'missing' is not in"));
    unsetenv("AWS_PROFILE");
    setenv("AWS_DEFAULT_PROFILE", "dev", 1);
    CHECK_STR(resolve(&w, &c), "DEVKEY");
    sm_credentials_clear(&c);
    world_free(&w);
}

ENV_TEST(credentials_file_order_and_process)
{
    world w;
    sm_credentials c = {0};
    const char *proc = script(home, "proc.sh",
                              "echo '{\"Version\": 1, \"AccessKeyId\": "
                              "\"PROCKEY\", \"SecretAccessKey\": \"ps\", "
                              "\"SessionToken\": \"pt\", \"Expiration\": "
                              "\"2030-01-01T00:00:00Z\"}'");
    char config[2048];
    snprintf(config, sizeof config,
             "[profile both]\ncredential_process = %s\n"
             "aws_access_key_id = CONFIGKEY\naws_secret_access_key = cs\n"
             "[profile cfgonly]\naws_access_key_id = CONFIGKEY\n"
             "aws_secret_access_key = cs\n"
             "[profile half]\naws_access_key_id = HALF\n",
             proc);
    CHECK(world_load(&w, home, config,
                     "[both]\naws_access_key_id = CREDKEY\n"
                     "aws_secret_access_key = credsecret\n") == 0);
    w.cfg.profile = "both"; /* credentials file beats credential_process */
    CHECK_STR(resolve(&w, &c), "CREDKEY");
    world_free(&w);
    CHECK(world_load(&w, home, config, "") == 0);
    w.cfg.profile = "both"; /* credential_process beats the config keys */
    CHECK_STR(resolve(&w, &c), "PROCKEY");
    CHECK_STR(c.session_token, "pt");
    CHECK(c.expiration == EXP_2030);
    CHECK_STR(c.source, "credential_process");
    w.cfg.profile = "cfgonly";
    CHECK_STR(resolve(&w, &c), "CONFIGKEY");
    CHECK_STR(c.source, "the shared config file");
    w.cfg.profile = "half";
    CHECK(strstr(resolve(&w, &c), "sets only one of"));
    sm_credentials_clear(&c);
    world_free(&w);
}

ENV_TEST(credentials_none_anywhere)
{
    world w;
    sm_credentials c = {0};
    CHECK(world_load(&w, home, NULL, NULL) == 0);
    const char *got = resolve(&w, &c);
    CHECK(strstr(got, "error: no AWS credentials"));
    /* A named profile that has no keys falls through as the SDKs do. */
    world_free(&w);
    CHECK(world_load(&w, home, "[profile empty]\nregion = x\n", NULL) == 0);
    w.cfg.profile = "empty";
    CHECK(strstr(resolve(&w, &c), "error: no AWS credentials"));
    world_free(&w);
}

ENV_TEST(credentials_sso_profile_says_what_to_do)
{
    world w;
    sm_credentials c = {0};
    const char *proc = script(home, "sso.sh",
                              "echo '{\"Version\": 1, \"AccessKeyId\": "
                              "\"SSOPROCKEY\", \"SecretAccessKey\": \"s\"}'");
    char config[2048];
    snprintf(config, sizeof config,
             "[profile dev]\nsso_session = corp\nsso_account_id = 1\n"
             "sso_role_name = Admin\n"
             "[sso-session corp]\nsso_start_url = https://x.example/start\n"
             "[profile legacy]\nsso_start_url = https://x.example/start\n"
             "[profile wrapped]\nsso_session = corp\ncredential_process = %s\n",
             proc);
    CHECK(world_load(&w, home, config, "") == 0);
    w.cfg.profile = "dev";
    const char *got = resolve(&w, &c);
    CHECK(strstr(got, "profile 'dev' signs in through IAM Identity Center"));
    CHECK(strstr(got, "export-credentials --profile dev"));
    CHECK(!strchr(got, '\n'));
    w.cfg.profile = "legacy";
    CHECK(strstr(resolve(&w, &c), "profile 'legacy' signs in through"));
    /* a credential_process beside the SSO settings is what gets used */
    w.cfg.profile = "wrapped";
    CHECK_STR(resolve(&w, &c), "SSOPROCKEY");
    sm_credentials_clear(&c);
    world_free(&w);
}

/* ---- roles -----------------------------------------------------------------
 */

ENV_TEST(credentials_role_from_source_profile)
{
    world w;
    sm_credentials c = {0};
    CHECK(world_load(&w, home,
                     "[profile role]\n"
                     "role_arn = arn:aws:iam::123456789012:role/R\n"
                     "source_profile = base\n"
                     "external_id = ext-1\n"
                     "duration_seconds = 1800\n"
                     "role_session_name = mysession\n"
                     "[profile chained]\n"
                     "role_arn = arn:aws:iam::123456789012:role/C\n"
                     "source_profile = role\n"
                     "[profile self]\n"
                     "role_arn = arn:aws:iam::123456789012:role/S\n"
                     "source_profile = self\n"
                     "aws_access_key_id = SELFKEY\n"
                     "aws_secret_access_key = selfsecret\n",
                     "[base]\naws_access_key_id = BASEKEY\n"
                     "aws_secret_access_key = basesecret\n") == 0);
    w.cfg.profile = "role";
    CHECK_STR(resolve(&w, &c), "ROLE1");
    CHECK_STR(c.session_token, "roletoken");
    CHECK(c.expiration == EXP_2030);
    CHECK_STR(w.sts.source_key, "BASEKEY");
    CHECK_STR(w.sts.role_arn, "arn:aws:iam::123456789012:role/R");
    CHECK_STR(w.sts.session, "mysession");
    CHECK_STR(w.sts.external_id, "ext-1");
    CHECK(w.sts.duration == 1800);

    w.cfg.profile = "chained"; /* base -> R -> C */
    w.sts.calls = 0;
    CHECK_STR(resolve(&w, &c), "ROLE2");
    CHECK(w.sts.calls == 2);
    CHECK_STR(w.sts.source_key, "ROLE1");
    CHECK_STR(w.sts.source_token, "roletoken");
    CHECK_STR(w.sts.role_arn, "arn:aws:iam::123456789012:role/C");
    CHECK(strncmp(w.sts.session, "sagemagic-", 10) == 0);

    w.cfg.profile = "self";
    w.sts.calls = 0;
    CHECK_STR(resolve(&w, &c), "ROLE1");
    CHECK_STR(w.sts.source_key, "SELFKEY");
    sm_credentials_clear(&c);
    world_free(&w);
}

ENV_TEST(credentials_role_errors_and_credential_source)
{
    world w;
    sm_credentials c = {0};
    CHECK(world_load(&w, home,
                     "[profile loop-a]\nrole_arn = arn:a\n"
                     "source_profile = loop-b\n"
                     "[profile loop-b]\nrole_arn = arn:b\n"
                     "source_profile = loop-a\n"
                     "[profile nosource]\nrole_arn = arn:n\n"
                     "[profile both]\nrole_arn = arn:x\n"
                     "source_profile = loop-a\n"
                     "credential_source = Environment\n"
                     "[profile missing]\nrole_arn = arn:m\n"
                     "source_profile = ghost\n"
                     "[profile mfa]\nrole_arn = arn:f\n"
                     "source_profile = env\nmfa_serial = arn:mfa\n"
                     "[profile env]\nrole_arn = arn:e\n"
                     "credential_source = Environment\n"
                     "[profile weird]\nrole_arn = arn:w\n"
                     "credential_source = Somewhere\n"
                     "[profile short]\nrole_arn = arn:s\n"
                     "credential_source = Environment\n"
                     "duration_seconds = 60\n",
                     NULL) == 0);
    w.cfg.profile = "loop-a";
    CHECK(strstr(resolve(&w, &c), "a loop?"));
    w.cfg.profile = "nosource";
    CHECK(strstr(resolve(&w, &c), "exactly one of"));
    w.cfg.profile = "both";
    CHECK(strstr(resolve(&w, &c), "exactly one of"));
    w.cfg.profile = "missing";
    CHECK(strstr(resolve(&w, &c), "'ghost' of profile 'missing' does not"));
    w.cfg.profile = "mfa";
    CHECK(strstr(resolve(&w, &c), "MFA"));
    w.cfg.profile = "weird";
    CHECK(strstr(resolve(&w, &c), "not Environment"));
    w.cfg.profile = "short";
    CHECK(strstr(resolve(&w, &c), "900 to 43200"));
    w.cfg.profile = "env";
    CHECK(strstr(resolve(&w, &c), "AWS_ACCESS_KEY_ID is not set"));
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    CHECK_STR(resolve(&w, &c), "ROLE1");
    CHECK_STR(w.sts.source_key, "ENVKEY");
    CHECK(w.sts.calls == 1);
    w.cfg.assume_role = NULL;
    CHECK(strstr(resolve(&w, &c), "needs STS"));
    sm_credentials_clear(&c);
    world_free(&w);
}

/* ---- credential_process
 * ------------------------------------------------------ */

TEST(process_split_like_shlex)
{
    static const struct {
        const char *in;
        const char *want; /* words joined with '|' */
    } cases[] = {
        {"aws configure export-credentials --profile x --format process",
         "aws|configure|export-credentials|--profile|x|--format|process"},
        {"  a\t b  ", "a|b"},
        {"'/path with/spaces' \"double \\\"q\\\" \\\\ \\n\" x\\ y",
         "/path with/spaces|double \"q\" \\ \\n|x y"},
        {"a'b c'd \"\" ''", "ab cd||"},
        {"#notacomment $HOME ;", "#notacomment|$HOME|;"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sm_error err = {{0}};
        char **argv = sm_process_split(cases[i].in, &err);
        char joined[256] = "";
        CHECK(argv);
        for (char **a = argv; *a; a++) {
            if (a != argv)
                strcat(joined, "|");
            strcat(joined, *a);
        }
        CHECK_STR(joined, cases[i].want);
        sm_process_argv_free(&argv);
        CHECK(argv == NULL);
    }
    static const char *bad[] = {"", "   ", "'open", "\"open", "trailing\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sm_error err = {{0}};
        CHECK(sm_process_split(bad[i], &err) == NULL);
        CHECK(err.message[0]);
    }
}

ENV_TEST(process_good_with_quoted_arguments)
{
    char dir[512], cmd[1024];
    snprintf(dir, sizeof dir, "%s/my dir", home);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(testenv_write(dir, "p.sh",
                        "#!/bin/sh\n"
                        "[ \"$1\" = \"arg one\" ] || exit 9\n"
                        "echo '{\"Version\": 1, \"AccessKeyId\": \"AK\",'\n"
                        "echo ' \"SecretAccessKey\": \"SK\"}'\n",
                        1));
    snprintf(cmd, sizeof cmd, "'%s/p.sh' \"arg one\"", dir);
    sm_credentials c = {0};
    sm_error err = {{0}};
    CHECK(sm_credential_process(cmd, 5000, &c, &err) == 0);
    CHECK_STR(c.access_key, "AK");
    CHECK_STR(c.secret_key, "SK");
    CHECK(c.session_token == NULL);
    CHECK(c.expiration == 0);
    sm_credentials_clear(&c);
    CHECK(c.access_key == NULL && c.secret_key == NULL);
}

ENV_TEST(process_failures_are_one_clear_sentence)
{
    sm_credentials c = {0};
    sm_error err = {{0}};
    const char *p = script(home, "fail.sh",
                           "echo 'token expired: run aws sso login' >&2\n"
                           "echo '{\"Version\":1,\"AccessKeyId\":\"A\","
                           "\"SecretAccessKey\":\"LEAKED\"}'\nexit 3");
    CHECK(sm_credential_process(p, 5000, &c, &err) == -1);
    CHECK_STR(err.message, "credential_process exited with status 3: token "
                           "expired: run aws sso login");

    sm_error_clear(&err);
    p = script(home, "garbage.sh", "echo 'not json SECRETGARBAGE'");
    CHECK(sm_credential_process(p, 5000, &c, &err) == -1);
    CHECK(strstr(err.message, "did not print a JSON object"));
    CHECK(!strstr(err.message, "SECRETGARBAGE"));

    sm_error_clear(&err);
    p = script(home, "v2.sh",
               "echo '{\"Version\": 2, \"AccessKeyId\": \"A\", "
               "\"SecretAccessKey\": \"S\"}'");
    CHECK(sm_credential_process(p, 5000, &c, &err) == -1);
    CHECK(strstr(err.message, "\"Version\": 1"));

    sm_error_clear(&err);
    p = script(home, "nosecret.sh",
               "echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'");
    CHECK(sm_credential_process(p, 5000, &c, &err) == -1);
    CHECK(strstr(err.message, "lack AccessKeyId or SecretAccessKey"));

    sm_error_clear(&err);
    p = script(home, "badexp.sh",
               "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", "
               "\"SecretAccessKey\": \"S\", \"Expiration\": \"soon\"}'");
    CHECK(sm_credential_process(p, 5000, &c, &err) == -1);
    CHECK(strstr(err.message, "ISO 8601"));

    sm_error_clear(&err);
    CHECK(sm_credential_process("/nonexistent/credential-helper", 5000, &c,
                                &err) == -1);
    CHECK(strstr(err.message, "cannot run '/nonexistent/credential-helper'"));
    CHECK(c.access_key == NULL);
}

static long long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000LL +
           (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

ENV_TEST(process_that_hangs_is_killed_in_time)
{
    sm_credentials c = {0};
    sm_error err = {{0}};
    struct timespec t0;
    /* The grandchild (sleep) keeps the pipe open: the whole group dies. */
    const char *p = script(home, "hang.sh", "sleep 30\necho '{}'");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(sm_credential_process(p, 300, &c, &err) == -1);
    long long ms = elapsed_ms(&t0);
    CHECK(ms >= 250 && ms < 3000);
    CHECK_STR(err.message, "credential_process timed out after 300 ms");
    /* Closing stdout and lingering is the same as hanging. */
    sm_error_clear(&err);
    p = script(home, "linger.sh",
               "echo '{\"Version\":1,\"AccessKeyId\":\"A\","
               "\"SecretAccessKey\":\"S\"}'\nexec >&- 2>&-\nsleep 30");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(sm_credential_process(p, 300, &c, &err) == -1);
    CHECK(elapsed_ms(&t0) < 3000);
    CHECK(strstr(err.message, "timed out"));
}

/* ---- the cache -------------------------------------------------------------
 */

ENV_TEST(provider_refreshes_before_expiry)
{
    world w;
    char config[1024], body[1024];
    /* Each run prints a new key; "fail" in HOME makes it fail. */
    snprintf(body, sizeof body,
             "n=$(cat %s/count 2>/dev/null || echo 0); n=$((n+1))\n"
             "echo $n > %s/count\n"
             "[ -e %s/fail ] && exit 1\n"
             "echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"K$n\\\", "
             "\\\"SecretAccessKey\\\": \\\"S\\\", \\\"SessionToken\\\": "
             "\\\"T\\\", \\\"Expiration\\\": \\\"2030-01-01T00:00:00Z\\\"}\"",
             home, home, home);
    const char *p = script(home, "counter.sh", body);
    snprintf(config, sizeof config, "[default]\ncredential_process = %s\n", p);
    CHECK(world_load(&w, home, config, NULL) == 0);
    sm_error err = {{0}};
    sm_credentials c = {0};
    sm_credentials_provider *prov = sm_credentials_provider_new(&w.cfg, &err);
    CHECK(prov);

    w.now = EXP_2030 - 20 * 60;
    CHECK(sm_credentials_provider_get(prov, &c, &err) == 0);
    CHECK_STR(c.access_key, "K1");
    CHECK(sm_credentials_provider_get(prov, &c, &err) == 0);
    CHECK_STR(c.access_key, "K1"); /* cached: no second run */

    w.now = EXP_2030 - 14 * 60; /* inside the advisory window */
    CHECK(sm_credentials_provider_get(prov, &c, &err) == 0);
    CHECK_STR(c.access_key, "K2");

    CHECK(testenv_write(home, "fail", "", 0));
    w.now = EXP_2030 - 12 * 60; /* refresh fails, still usable */
    CHECK(sm_credentials_provider_get(prov, &c, &err) == 0);
    CHECK_STR(c.access_key, "K2");

    w.now = EXP_2030 - 9 * 60; /* mandatory: the failure is an error */
    CHECK(sm_credentials_provider_get(prov, &c, &err) == -1);
    CHECK(strstr(err.message, "exited with status 1"));

    remove(testenv_write(home, "fail", "", 0));
    sm_error_clear(&err);
    w.now = EXP_2030 + 60; /* what comes back has already expired */
    CHECK(sm_credentials_provider_get(prov, &c, &err) == -1);
    CHECK(strstr(err.message, "have expired"));

    w.now = EXP_2030 - 3600; /* the cached ones are good again */
    sm_error_clear(&err);
    CHECK(sm_credentials_provider_get(prov, &c, &err) == 0);
    CHECK_STR(c.access_key, "K2");
    sm_credentials_provider_invalidate(prov);
    CHECK(sm_credentials_provider_get(prov, &c, &err) == 0);
    CHECK_STR(c.access_key, "K6");

    sm_credentials_clear(&c);
    sm_credentials_provider_destroy(&prov);
    CHECK(prov == NULL);
    world_free(&w);
}

ENV_TEST(provider_static_keys_never_refresh)
{
    world w;
    sm_error err = {{0}};
    sm_credentials c = {0};
    CHECK(world_load(&w, home, NULL, NULL) == 0);
    w.cfg.access_key = "AK";
    w.cfg.secret_key = "SK";
    w.cfg.session_token = "TOK";
    sm_credentials_provider *prov = sm_credentials_provider_new(&w.cfg, &err);
    w.cfg.secret_key = "changed after new: the provider copied it";
    CHECK(prov);
    for (int i = 0; i < 3; i++) {
        w.now += 86400 * 365;
        CHECK(sm_credentials_provider_get(prov, &c, &err) == 0);
        CHECK_STR(c.secret_key, "SK");
        CHECK_STR(c.session_token, "TOK");
    }
    sm_credentials_clear(&c);
    sm_credentials_provider_destroy(&prov);
    world_free(&w);
}

TEST(credentials_from_json_documents)
{
    sm_credentials c = {0};
    sm_error err = {{0}};
    json_t *doc = json_loads("{\"AccessKeyId\": \"A\", \"SecretAccessKey\": "
                             "\"S\", \"Token\": \"T\", \"Expiration\": "
                             "\"2030-01-01T00:00:00Z\", \"Code\": "
                             "\"Success\"}",
                             0, NULL);
    CHECK(doc);
    CHECK(sm_credentials_from_json(doc, "Token", "container", &c, &err) == 0);
    CHECK_STR(c.session_token, "T");
    CHECK(c.expiration == EXP_2030);
    sm_credentials_json_wipe(doc);
    const char *s = json_string_value(json_object_get(doc, "SecretAccessKey"));
    CHECK(s[0] == '\0');
    json_decref(doc);
    sm_credentials_clear(&c);
}
