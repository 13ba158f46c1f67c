/* test_ini: the INI reader and the AWS profile view on odd and hostile
 * files: CRLF, BOM, comments, nested keys, duplicates, NULs, long lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ini.h"
#include "profile.h"
#include "test.h"
#include "testenv.h"

static sm_ini *parse(const char *s)
{
    return sm_ini_parse(s, strlen(s));
}

TEST(ini_basic_sections_and_keys)
{
    sm_ini *ini = parse("[default]\n"
                        "aws_access_key_id = AKID\n"
                        "Region=us-west-2\n"
                        "output:  json  \n"
                        "[profile dev]\n"
                        "region = eu-west-1\n");
    CHECK(ini);
    CHECK_STR(sm_ini_get(ini, "default", "aws_access_key_id"), "AKID");
    CHECK_STR(sm_ini_get(ini, "default", "region"), "us-west-2");
    CHECK_STR(sm_ini_get(ini, "default", "output"), "json");
    CHECK_STR(sm_ini_get(ini, "profile dev", "region"), "eu-west-1");
    CHECK(sm_ini_get(ini, "profile dev", "output") == NULL);
    CHECK(sm_ini_get(ini, "nope", "region") == NULL);
    CHECK(sm_ini_has_section(ini, "profile dev"));
    CHECK(!sm_ini_has_section(ini, "dev"));
    sm_ini_destroy(&ini);
    CHECK(ini == NULL);
}

TEST(ini_crlf_bom_no_final_newline)
{
    sm_ini *ini = parse("\xEF\xBB\xBF[a]\r\nk1 = v1\r\nk2 = v2\rk3=v3");
    CHECK(ini);
    CHECK_STR(sm_ini_get(ini, "a", "k1"), "v1");
    CHECK_STR(sm_ini_get(ini, "a", "k2"), "v2");
    CHECK_STR(sm_ini_get(ini, "a", "k3"), "v3");
    sm_ini_destroy(&ini);
}

TEST(ini_comments_are_whole_lines_only)
{
    sm_ini *ini = parse("# top\n; also\n[a]\n  # indented comment\n"
                        "k = v # not a comment\n;k = hidden\n");
    CHECK(ini);
    CHECK_STR(sm_ini_get(ini, "a", "k"), "v # not a comment");
    sm_ini_destroy(&ini);
}

TEST(ini_nested_and_continued_values)
{
    sm_ini *ini = parse("[profile x]\n"
                        "s3 =\n"
                        "  max_concurrent_requests = 10\n"
                        "\tmultipart_threshold = 64MB\n"
                        "region = us-east-1\n"
                        "note = first\n"
                        "  second line\n"
                        "[services local]\n"
                        "sagemaker =\n"
                        "  endpoint_url = http://127.0.0.1:9000\n"
                        "  junk line without equals\n"
                        "s3 =\n"
                        "  endpoint_url = http://127.0.0.1:9001\n");
    CHECK(ini);
    CHECK_STR(sm_ini_get(ini, "profile x", "s3.max_concurrent_requests"), "10");
    CHECK_STR(sm_ini_get(ini, "profile x", "s3.multipart_threshold"), "64MB");
    CHECK_STR(sm_ini_get(ini, "profile x", "s3"), "");
    CHECK_STR(sm_ini_get(ini, "profile x", "region"), "us-east-1");
    CHECK_STR(sm_ini_get(ini, "profile x", "note"), "first\nsecond line");
    CHECK_STR(sm_ini_get(ini, "services local", "sagemaker.endpoint_url"),
              "http://127.0.0.1:9000");
    CHECK_STR(sm_ini_get(ini, "services local", "s3.endpoint_url"),
              "http://127.0.0.1:9001");
    sm_ini_destroy(&ini);
}

TEST(ini_duplicates_last_wins_and_sections_merge)
{
    sm_ini *ini = parse("[a]\nk = 1\nonly_first = yes\n[b]\nk = b\n"
                        "[a]\nk = 2\n[ a ]\nk = 3\n[  profile   x ]\nr = 1\n");
    CHECK(ini);
    CHECK_STR(sm_ini_get(ini, "a", "k"), "3");
    CHECK_STR(sm_ini_get(ini, "a", "only_first"), "yes");
    CHECK_STR(sm_ini_get(ini, "b", "k"), "b");
    CHECK_STR(sm_ini_get(ini, "profile x", "r"), "1");
    sm_ini_destroy(&ini);
}

TEST(ini_hostile_lines_are_skipped)
{
    static const char text[] = "orphan = before any section\n"
                               "[a]\n"
                               "novalue\n"
                               "= no key\n"
                               "good = 1\n"
                               "nul = x\0y\n"
                               "[unclosed\n"
                               "lost = into nothing\n"
                               "[]\n"
                               "lost2 = also\n"
                               "[c]\n"
                               "   indented_without_key = z\n"
                               "after = 2\n";
    sm_ini *ini = sm_ini_parse(text, sizeof text - 1);
    CHECK(ini);
    CHECK_STR(sm_ini_get(ini, "a", "good"), "1");
    CHECK(sm_ini_get(ini, "a", "novalue") == NULL);
    CHECK(sm_ini_get(ini, "a", "nul") == NULL);
    CHECK(sm_ini_get(ini, "a", "lost") == NULL);
    CHECK(sm_ini_get(ini, "a", "lost2") == NULL);
    CHECK(sm_ini_get(ini, "a", "") == NULL);
    CHECK_STR(sm_ini_get(ini, "c", "indented_without_key"), "z");
    CHECK_STR(sm_ini_get(ini, "c", "after"), "2");
    sm_ini_destroy(&ini);
}

TEST(ini_very_long_lines_and_garbage)
{
    size_t n = 1 << 20;
    char *text = malloc(n + 64);
    CHECK(text);
    strcpy(text, "[a]\nlong = ");
    size_t at = strlen(text);
    memset(text + at, 'x', n);
    strcpy(text + at + n, "\nk = v\n");
    sm_ini *ini = parse(text);
    CHECK(ini);
    CHECK(strlen(sm_ini_get(ini, "a", "long")) == n);
    CHECK_STR(sm_ini_get(ini, "a", "k"), "v");
    sm_ini_destroy(&ini);
    /* Every byte value, every prefix: no crash, never NULL. */
    for (int i = 0; i < 256; i++)
        text[i] = (char)(i * 7 + 3);
    for (size_t len = 0; len < 256; len++) {
        ini = sm_ini_parse(text, len);
        CHECK(ini);
        sm_ini_destroy(&ini);
    }
    free(text);
    ini = sm_ini_parse("", 0);
    CHECK(ini && sm_ini_get(ini, "a", "b") == NULL);
    sm_ini_destroy(&ini);
}

ENV_TEST(ini_load_missing_file_is_empty)
{
    char path[512];
    sm_error err = {{0}};
    snprintf(path, sizeof path, "%s/does-not-exist", home);
    sm_ini *ini = sm_ini_load(path, &err);
    CHECK(ini);
    CHECK(!err.message[0]);
    sm_ini_destroy(&ini);
    ini = sm_ini_load(home, &err); /* a directory */
    CHECK(ini == NULL);
    CHECK(err.message[0]);
}

ENV_TEST(profile_files_and_names)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/.aws", home);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(testenv_write(dir, "config",
                        "[default]\nregion = us-east-1\n"
                        "[profile dev]\nregion = eu-west-1\n"
                        "services = local\n"
                        "aws_access_key_id = CONFIGKEY\n"
                        "[services local]\n"
                        "sagemaker =\n  endpoint_url = http://127.0.0.1:1\n"
                        "[dev]\nregion = ignored: no profile prefix\n",
                        0));
    CHECK(testenv_write(dir, "credentials",
                        "[dev]\naws_access_key_id = CREDKEY\n"
                        "[only-creds]\naws_access_key_id = X\n",
                        0));
    sm_error err = {{0}};
    sm_profiles *p = sm_profiles_load(&err);
    CHECK(p);
    CHECK(sm_profiles_exists(p, "default"));
    CHECK(sm_profiles_exists(p, "dev"));
    CHECK(sm_profiles_exists(p, "only-creds"));
    CHECK(!sm_profiles_exists(p, "nope"));
    CHECK_STR(sm_profiles_get(p, "default", "region"), "us-east-1");
    CHECK_STR(sm_profiles_get(p, "dev", "region"), "eu-west-1");
    CHECK_STR(sm_profiles_get(p, "dev", "aws_access_key_id"), "CREDKEY");
    CHECK_STR(sm_profiles_get_in(p, SM_PROFILE_CONFIG_FILE, "dev",
                                 "aws_access_key_id"),
              "CONFIGKEY");
    CHECK_STR(sm_profiles_service_get(p, "dev", "sagemaker", "endpoint_url"),
              "http://127.0.0.1:1");
    CHECK(sm_profiles_service_get(p, "dev", "s3", "endpoint_url") == NULL);
    CHECK(sm_profiles_service_get(p, "default", "sagemaker", "endpoint_url") ==
          NULL);
    sm_profiles_destroy(&p);

    CHECK_STR(sm_profile_name(NULL), "default");
    setenv("AWS_DEFAULT_PROFILE", "b", 1);
    CHECK_STR(sm_profile_name(""), "b");
    setenv("AWS_PROFILE", "a", 1);
    CHECK_STR(sm_profile_name(NULL), "a");
    CHECK_STR(sm_profile_name("explicit"), "explicit");
    CHECK(sm_profile_true("TRUE") && sm_profile_true("true"));
    CHECK(!sm_profile_true("1") && !sm_profile_true(NULL));
}

ENV_TEST(profile_env_paths_and_profile_default_section)
{
    const char *c = testenv_write(home, "cfg",
                                  "[default]\nregion = from-default\n"
                                  "[profile default]\nregion = from-profile\n",
                                  0);
    CHECK(c);
    setenv("AWS_CONFIG_FILE", c, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/missing-creds", 1);
    sm_error err = {{0}};
    sm_profiles *p = sm_profiles_load(&err);
    CHECK(p);
    CHECK_STR(sm_profiles_get(p, "default", "region"), "from-profile");
    sm_profiles_destroy(&p);
}
