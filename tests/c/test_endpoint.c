/* test_endpoint: region and endpoint resolution with each override in
 * botocore's order, URL splitting, and the AWS time formats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "awstime.h"
#include "endpoint.h"
#include "profile.h"
#include "test.h"
#include "testenv.h"

static sm_profiles *profiles_with(const char *home, const char *config)
{
    sm_error err = {{0}};
    const char *path = testenv_write(home, "config", config, 0);
    if (!path)
        return NULL;
    setenv("AWS_CONFIG_FILE", path, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    return sm_profiles_load(&err);
}

static const char *url_of(sm_aws_service s, const char *region,
                          const char *explicit_url, const sm_profiles *p,
                          const char *profile, int *over)
{
    static char out[SM_ENDPOINT_URL_MAX + sizeof(sm_error) + 8];
    char url[SM_ENDPOINT_URL_MAX];
    sm_error err = {{0}};
    if (sm_endpoint_url(s, region, explicit_url, p, profile, url, over, &err))
        snprintf(out, sizeof out, "error: %s", err.message);
    else
        snprintf(out, sizeof out, "%s", url);
    return out;
}

ENV_TEST(endpoint_defaults_per_partition)
{
    sm_profiles *p = profiles_with(home, "");
    int over = 1;
    CHECK(p);
    CHECK_STR(url_of(SM_AWS_SAGEMAKER, "us-east-1", NULL, p, "default", &over),
              "https://api.sagemaker.us-east-1.amazonaws.com");
    CHECK(!over);
    CHECK_STR(url_of(SM_AWS_RUNTIME, "eu-west-1", NULL, p, "default", &over),
              "https://runtime.sagemaker.eu-west-1.amazonaws.com");
    CHECK_STR(url_of(SM_AWS_LOGS, "us-west-2", NULL, p, "default", &over),
              "https://logs.us-west-2.amazonaws.com");
    CHECK_STR(url_of(SM_AWS_S3, "us-east-1", NULL, p, "default", &over),
              "https://s3.us-east-1.amazonaws.com");
    CHECK_STR(url_of(SM_AWS_STS, "ap-south-1", NULL, p, "default", &over),
              "https://sts.ap-south-1.amazonaws.com");
    CHECK_STR(url_of(SM_AWS_SAGEMAKER, "cn-north-1", NULL, p, "default", &over),
              "https://api.sagemaker.cn-north-1.amazonaws.com.cn");
    CHECK_STR(url_of(SM_AWS_S3, "us-gov-west-1", NULL, p, "default", &over),
              "https://s3.us-gov-west-1.amazonaws.com");
    CHECK_STR(sm_endpoint_dns_suffix("eusc-de-east-1"), "amazonaws.eu");
    CHECK_STR(sm_aws_service_info_get(SM_AWS_RUNTIME)->signing_name,
              "sagemaker");
    CHECK_STR(sm_aws_service_info_get(SM_AWS_LOGS)->target_prefix,
              "Logs_20140328");
    CHECK(sm_aws_service_info_get(SM_AWS_SERVICE_COUNT) == NULL);
    sm_profiles_destroy(&p);
}

ENV_TEST(endpoint_overrides_in_botocore_order)
{
    sm_profiles *p = profiles_with(home, "[profile dev]\n"
                                         "services = svc\n"
                                         "endpoint_url = http://profile:1\n"
                                         "[services svc]\n"
                                         "sagemaker =\n"
                                         "  endpoint_url = http://services:2/\n"
                                         "sagemaker_runtime =\n"
                                         "  endpoint_url = http://runtime:3\n");
    int over = 0;
    CHECK(p);
    const char *r = "us-east-1";
    /* 5: the profile's endpoint_url (services section has no logs key). */
    CHECK_STR(url_of(SM_AWS_LOGS, r, NULL, p, "dev", &over),
              "http://profile:1");
    CHECK(over);
    /* 4: the services section, trailing '/' dropped. */
    CHECK_STR(url_of(SM_AWS_SAGEMAKER, r, NULL, p, "dev", &over),
              "http://services:2");
    CHECK_STR(url_of(SM_AWS_RUNTIME, r, NULL, p, "dev", &over),
              "http://runtime:3");
    /* 3: AWS_ENDPOINT_URL beats the profile. */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4", 1);
    CHECK_STR(url_of(SM_AWS_SAGEMAKER, r, NULL, p, "dev", &over),
              "http://127.0.0.1:4");
    /* 2: the per-service variable beats AWS_ENDPOINT_URL. */
    setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:5", 1);
    setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:6", 1);
    setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:7", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:8", 1);
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
    CHECK_STR(url_of(SM_AWS_SAGEMAKER, r, NULL, p, "dev", &over),
              "http://127.0.0.1:5");
    CHECK_STR(url_of(SM_AWS_RUNTIME, r, NULL, p, "dev", &over),
              "http://127.0.0.1:6");
    CHECK_STR(url_of(SM_AWS_LOGS, r, NULL, p, "dev", &over),
              "http://127.0.0.1:7");
    CHECK_STR(url_of(SM_AWS_S3, r, NULL, p, "dev", &over),
              "http://127.0.0.1:8");
    CHECK_STR(url_of(SM_AWS_STS, r, NULL, p, "dev", &over),
              "http://127.0.0.1:9");
    /* 1: the explicit one beats everything. */
    CHECK_STR(url_of(SM_AWS_S3, r, "https://explicit:10", p, "dev", &over),
              "https://explicit:10");
    /* Ignoring configured endpoints leaves only the explicit one. */
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    CHECK_STR(url_of(SM_AWS_S3, r, NULL, p, "dev", &over),
              "https://s3.us-east-1.amazonaws.com");
    CHECK(!over);
    CHECK_STR(url_of(SM_AWS_S3, r, "http://explicit:11", p, "dev", &over),
              "http://explicit:11");
    CHECK(over);
    sm_profiles_destroy(&p);
}

ENV_TEST(endpoint_ignore_from_profile_and_bad_urls)
{
    sm_profiles *p = profiles_with(home, "[default]\n"
                                         "ignore_configured_endpoint_urls = "
                                         "TRUE\n"
                                         "endpoint_url = http://nope:1\n"
                                         "[profile bad]\n"
                                         "endpoint_url = ftp://x\n");
    int over = 0;
    CHECK(p);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4", 1);
    CHECK_STR(url_of(SM_AWS_STS, "us-east-1", NULL, p, "default", &over),
              "https://sts.us-east-1.amazonaws.com");
    unsetenv("AWS_ENDPOINT_URL");
    const char *got = url_of(SM_AWS_STS, "us-east-1", NULL, p, "bad", &over);
    CHECK(strstr(got, "error: ") == got);
    CHECK(strstr(got, "profile's endpoint_url"));
    setenv("AWS_ENDPOINT_URL_STS", "http://host:99999", 1);
    got = url_of(SM_AWS_STS, "us-east-1", NULL, p, "bad", &over);
    CHECK(strstr(got, "AWS_ENDPOINT_URL_STS"));
    sm_profiles_destroy(&p);
}

TEST(endpoint_split_urls)
{
    sm_endpoint_parts parts;
    sm_error err = {{0}};
    CHECK(sm_endpoint_split("http://127.0.0.1:5000", &parts, &err) == 0);
    CHECK(!parts.https);
    CHECK_STR(parts.host, "127.0.0.1");
    CHECK_STR(parts.authority, "127.0.0.1:5000");
    CHECK_STR(parts.base_path, "");
    CHECK(sm_endpoint_split("https://s3.us-east-1.amazonaws.com:443/", &parts,
                            &err) == 0);
    CHECK_STR(parts.authority, "s3.us-east-1.amazonaws.com");
    CHECK(sm_endpoint_split("http://[::1]:8080/prefix/x//", &parts, &err) == 0);
    CHECK_STR(parts.host, "[::1]");
    CHECK_STR(parts.authority, "[::1]:8080");
    CHECK_STR(parts.base_path, "/prefix/x");
    CHECK(sm_endpoint_split("http://h:80", &parts, &err) == 0);
    CHECK_STR(parts.authority, "h");
    static const char *bad[] = {
        "",
        "127.0.0.1:5000",
        "ftp://h",
        "http://",
        "http://:80",
        "http://h:0",
        "http://h:65536",
        "http://h:x",
        "http://h/a b",
        "http://h/a?b=1",
        "http://user@h",
        "http://[::1",
        "http://h:",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sm_error_clear(&err);
        if (sm_endpoint_split(bad[i], &parts, &err) == 0)
            printf("    accepted: %s\n", bad[i]);
        CHECK(err.message[0]);
    }
}

ENV_TEST(region_resolution_order)
{
    sm_profiles *p =
        profiles_with(home, "[default]\nregion = eu-north-1\n"
                            "[profile bad]\nregion = Bad Region\n");
    char out[SM_REGION_MAX];
    sm_error err = {{0}};
    CHECK(p);
    CHECK(sm_endpoint_region(NULL, p, "default", out, &err) == 0);
    CHECK_STR(out, "eu-north-1");
    setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
    CHECK(sm_endpoint_region(NULL, p, "default", out, &err) == 0);
    CHECK_STR(out, "us-west-1");
    setenv("AWS_REGION", "us-west-2", 1);
    CHECK(sm_endpoint_region("", p, "default", out, &err) == 0);
    CHECK_STR(out, "us-west-2");
    CHECK(sm_endpoint_region("ap-east-1", p, "default", out, &err) == 0);
    CHECK_STR(out, "ap-east-1");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    CHECK(sm_endpoint_region(NULL, p, "other", out, &err) == -1);
    CHECK_STR(err.message, "no region: set %config region=... or AWS_REGION");
    sm_error_clear(&err);
    CHECK(sm_endpoint_region(NULL, p, "bad", out, &err) == -1);
    CHECK(strstr(err.message, "not a region name"));
    sm_error_clear(&err);
    CHECK(sm_endpoint_region("us-east-1.evil.com/", p, "x", out, &err) == -1);
    sm_profiles_destroy(&p);
}

TEST(awstime_formats)
{
    time_t t = 0;
    char buf[21];
    CHECK(sm_awstime_parse_iso8601("2015-08-30T12:36:00Z", &t) == 0);
    CHECK(t == 1440938160);
    CHECK(sm_awstime_parse_iso8601("2015-08-30T12:36:00.123Z", &t) == 0);
    CHECK(t == 1440938160);
    CHECK(sm_awstime_parse_iso8601("2015-08-30T14:36:00+02:00", &t) == 0);
    CHECK(t == 1440938160);
    CHECK(sm_awstime_parse_iso8601("2015-08-30T07:36:00-0500", &t) == 0);
    CHECK(t == 1440938160);
    CHECK(sm_awstime_parse_iso8601("2015-08-30T12:36:00", &t) == 0);
    CHECK(t == 1440938160);
    CHECK(sm_awstime_parse_iso8601("2015-08-30 12:36:00Z", &t) == -1);
    CHECK(sm_awstime_parse_iso8601("2015-13-30T12:36:00Z", &t) == -1);
    CHECK(sm_awstime_parse_iso8601("2015-08-30T12:36:00Zjunk", &t) == -1);
    CHECK(sm_awstime_parse_iso8601("2015-08-30T12:36:00.Z", &t) == -1);
    CHECK(sm_awstime_parse_iso8601("", &t) == -1);
    CHECK(sm_awstime_parse_iso8601(NULL, &t) == -1);
    CHECK(sm_awstime_parse_http("Sun, 30 Aug 2015 12:36:00 GMT", &t) == 0);
    CHECK(t == 1440938160);
    CHECK(sm_awstime_parse_http("Sun, 30 Aug 2015 12:36:00 UTC", &t) == -1);
    CHECK(sm_awstime_parse_http("Sun, 30 Foo 2015 12:36:00 GMT", &t) == -1);
    CHECK(sm_awstime_parse_http("Sun, 30 ugS 2015 12:36:00 GMT", &t) == -1);
    CHECK(sm_awstime_parse_http("garbage", &t) == -1);
    sm_awstime_format_iso8601(1440938160, buf);
    CHECK_STR(buf, "2015-08-30T12:36:00Z");
}
