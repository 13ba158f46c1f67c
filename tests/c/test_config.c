/* test_config: defaults, each setting's check, and unknown keys. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "test.h"

/* The region variables as they were, so a test can change and restore them. */
struct saved_env {
    char *region, *default_region;
};

static char *dup_env(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static struct saved_env env_clear(void)
{
    struct saved_env saved = {dup_env("AWS_REGION"),
                              dup_env("AWS_DEFAULT_REGION")};
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    return saved;
}

static void env_restore(struct saved_env *saved)
{
    if (saved->region)
        setenv("AWS_REGION", saved->region, 1);
    else
        unsetenv("AWS_REGION");
    if (saved->default_region)
        setenv("AWS_DEFAULT_REGION", saved->default_region, 1);
    else
        unsetenv("AWS_DEFAULT_REGION");
    free(saved->region);
    free(saved->default_region);
}

static sm_config *fresh(void)
{
    struct saved_env saved = env_clear();
    sm_config *c = sm_config_new();
    env_restore(&saved);
    return c;
}

/* Set key=value; the error message, or "" on success. */
static const char *set(sm_config *c, const char *key, const char *value)
{
    static sm_error err;
    sm_error_clear(&err);
    int rc = sm_config_set(c, key, value, &err);
    if (rc == 0)
        return err.message[0] ? "success with an error message" : "";
    return err.message[0] ? err.message : "failure without a message";
}

/* Each of `bad` refused for `key` with the message `before` VALUE `after`;
 * void, so a CHECK in it returns from here alone. */
static void refuses_each(sm_config *c, const char *key, const char *const *bad,
                         size_t n, const char *before, const char *after)
{
    char want[512];
    for (size_t i = 0; i < n; i++) {
        snprintf(want, sizeof want, "%s%s%s", before, bad[i], after);
        CHECK_STR(set(c, key, bad[i]), want);
    }
}

TEST(config_defaults)
{
    sm_config *c = fresh();
    CHECK(c);
    CHECK_STR(sm_config_get(c, "backend"), "local");
    CHECK_STR(sm_config_get(c, "region"), "us-east-1");
    CHECK_STR(sm_config_get(c, "profile"), "");
    CHECK_STR(sm_config_get(c, "role"), "");
    CHECK_STR(sm_config_get(c, "bucket"), "");
    CHECK_STR(sm_config_get(c, "prefix"), "sagemagic");
    CHECK_STR(sm_config_get(c, "endpoint_url"), "");
    CHECK_STR(sm_config_get(c, "instance_type"), "ml.m5.xlarge");
    CHECK_STR(sm_config_get(c, "poll"), "auto");
    CHECK_STR(sm_config_get(c, "wait"), "true");
    CHECK_STR(sm_config_get(c, "cleanup_on_exit"), "false");
    CHECK(sm_config_get(c, "nonsense") == NULL);
    sm_config_destroy(&c);
    CHECK(c == NULL);
}

TEST(config_region_from_environment)
{
    struct saved_env saved = env_clear();
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    sm_config *a = sm_config_new();
    setenv("AWS_REGION", "ap-south-1", 1); /* AWS_REGION wins */
    sm_config *b = sm_config_new();
    setenv("AWS_REGION", "", 1); /* empty is unset */
    sm_config *c = sm_config_new();
    setenv("AWS_REGION", "Not A Region", 1); /* invalid: the default stays */
    unsetenv("AWS_DEFAULT_REGION");
    sm_config *d = sm_config_new();
    env_restore(&saved);
    CHECK(a && b && c && d);
    CHECK_STR(sm_config_get(a, "region"), "eu-west-1");
    CHECK_STR(sm_config_get(b, "region"), "ap-south-1");
    CHECK_STR(sm_config_get(c, "region"), "eu-west-1");
    CHECK_STR(sm_config_get(d, "region"), "us-east-1");
    sm_config_destroy(&a);
    sm_config_destroy(&b);
    sm_config_destroy(&c);
    sm_config_destroy(&d);
}

TEST(config_backend)
{
    sm_config *c = fresh();
    CHECK_STR(set(c, "backend", "aws"), "");
    CHECK_STR(sm_config_get(c, "backend"), "aws");
    CHECK_STR(set(c, "backend", "local"), "");
    CHECK_STR(set(c, "backend", "gcp"),
              "backend must be local or aws, not 'gcp'");
    CHECK_STR(set(c, "backend", "AWS"),
              "backend must be local or aws, not 'AWS'");
    CHECK_STR(set(c, "backend", ""), "backend must be local or aws, not ''");
    CHECK_STR(sm_config_get(c, "backend"), "local"); /* unchanged */
    sm_config_destroy(&c);
}

TEST(config_region)
{
    sm_config *c = fresh();
    CHECK_STR(set(c, "region", "eu-central-1"), "");
    CHECK_STR(set(c, "region", "us-gov-west-1"), "");
    CHECK_STR(sm_config_get(c, "region"), "us-gov-west-1");
    CHECK_STR(set(c, "region", "EU-WEST-1"),
              "'EU-WEST-1' is not a region name like us-east-1");
    CHECK_STR(set(c, "region", "us"),
              "'us' is not a region name like us-east-1");
    CHECK_STR(set(c, "region", "us east 1"),
              "'us east 1' is not a region name like us-east-1");
    CHECK_STR(set(c, "region", "a-very-long-region-name-that-goes-on"),
              "'a-very-long-region-name-that-goes-on' is not a region name "
              "like us-east-1");
    CHECK_STR(sm_config_get(c, "region"), "us-gov-west-1");
    sm_config_destroy(&c);
}

/* 64 characters, one too many. */
#define TOO_LONG_BUCKET                                                        \
    "a234567890123456789012345678901234567890123456789012345678901234"

TEST(config_bucket)
{
    sm_config *c = fresh();
    CHECK_STR(set(c, "bucket", "my-bucket.data1"), "");
    CHECK_STR(set(c, "bucket", "abc"), "");
    CHECK_STR(set(c, "bucket", ""), ""); /* back to the default */
    CHECK_STR(sm_config_get(c, "bucket"), "");
    const char *bad[] = {"ab",   "-abc",      "abc-",        ".abc",
                         "abc.", "My-Bucket", "under_score", TOO_LONG_BUCKET};
    refuses_each(c, "bucket", bad, sizeof bad / sizeof *bad, "'",
                 "' is not a valid S3 bucket name (3 to 63 lowercase "
                 "letters, digits, dots and hyphens)");
    /* 63 characters is the most. */
    CHECK_STR(set(c, "bucket",
                  "a2345678901234567890123456789012345678901234567"
                  "8901234567890123"),
              "");
    sm_config_destroy(&c);
}

TEST(config_endpoint_url)
{
    sm_config *c = fresh();
    CHECK_STR(set(c, "endpoint_url", "http://localhost:4566"), "");
    CHECK_STR(set(c, "endpoint_url", "https://sagemaker.example"), "");
    CHECK_STR(set(c, "endpoint_url", ""), "");
    CHECK_STR(set(c, "endpoint_url", "ftp://x"),
              "endpoint_url must start with http:// or https://, not "
              "'ftp://x'");
    CHECK_STR(set(c, "endpoint_url", "localhost:4566"),
              "endpoint_url must start with http:// or https://, not "
              "'localhost:4566'");
    sm_config_destroy(&c);
}

TEST(config_instance_type)
{
    sm_config *c = fresh();
    CHECK_STR(set(c, "instance_type", "ml.p3.2xlarge"), "");
    CHECK_STR(sm_config_get(c, "instance_type"), "ml.p3.2xlarge");
    CHECK_STR(set(c, "instance_type", "m5.large"),
              "instance_type must be a SageMaker instance type like "
              "ml.m5.xlarge, not 'm5.large'");
    CHECK_STR(set(c, "instance_type", ""),
              "instance_type must be a SageMaker instance type like "
              "ml.m5.xlarge, not ''");
    sm_config_destroy(&c);
}

TEST(config_poll)
{
    sm_config *c = fresh();
    const char *good[] = {"auto", "5", "0.5", "3600", "1e3"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK_STR(set(c, "poll", good[i]), "");
    const char *bad[] = {"0", "-1",  "3601", "abc", "5s",
                         "",  "nan", "inf",  "Auto"};
    char want[256];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(want, sizeof want,
                 "poll must be auto or a number of seconds between 0 and "
                 "3600, not '%s'",
                 bad[i]);
        CHECK_STR(set(c, "poll", bad[i]), want);
    }
    sm_config_destroy(&c);
}

TEST(config_booleans)
{
    sm_config *c = fresh();
    const char *good[] = {"true", "false", "yes", "no",   "on",
                          "off",  "1",     "0",   "TRUE", "No"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        CHECK_STR(set(c, "wait", good[i]), "");
        CHECK_STR(set(c, "cleanup_on_exit", good[i]), "");
    }
    CHECK_STR(set(c, "wait", "maybe"),
              "wait must be true or false, not 'maybe'");
    CHECK_STR(set(c, "cleanup_on_exit", ""),
              "cleanup_on_exit must be true or false, not ''");
    CHECK_STR(set(c, "wait", "2"), "wait must be true or false, not '2'");
    sm_config_destroy(&c);
}

TEST(config_free_text_keys)
{
    sm_config *c = fresh();
    CHECK_STR(set(c, "profile", "dev"), "");
    CHECK_STR(set(c, "role", "arn:aws:iam::123456789012:role/SageMaker"), "");
    CHECK_STR(set(c, "prefix", ""), "");
    CHECK_STR(sm_config_get(c, "profile"), "dev");
    CHECK_STR(sm_config_get(c, "role"),
              "arn:aws:iam::123456789012:role/SageMaker");
    CHECK_STR(sm_config_get(c, "prefix"), "");
    sm_config_destroy(&c);
}

TEST(config_role)
{
    sm_config *c = fresh();
    const char *good[] = {
        "arn:aws:iam::123456789012:role/SageMakerRole",
        "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-Role-1",
        "arn:aws-cn:iam::123456789012:role/a+b=c,d.e@f_g-h",
        "arn:aws-us-gov:iam::123456789012:role/R", ""};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK_STR(set(c, "role", good[i]), "");
    const char *bad[] = {"SageMakerRole",
                         "arn:aws:iam::12345678901:role/R",
                         "arn:aws:iam::1234567890123:role/R",
                         "arn:aws:iam::123456789012:user/R",
                         "arn:aws:iam::123456789012:role/",
                         "arn:aws:iam::123456789012:role/with space",
                         "arn:aws:sts::123456789012:assumed-role/R/s",
                         "arn:azure:iam::123456789012:role/R"};
    refuses_each(c, "role", bad, sizeof bad / sizeof *bad,
                 "role must be an IAM role ARN like "
                 "arn:aws:iam::123456789012:role/SageMakerRole, not '",
                 "'");
    CHECK_STR(sm_config_get(c, "role"), ""); /* the last good one stays */
    sm_config_destroy(&c);
}

TEST(config_unknown_key)
{
    sm_config *c = fresh();
    CHECK_STR(set(c, "regoin", "us-east-1"),
              "no setting 'regoin'; did you mean region?");
    CHECK_STR(set(c, "instance", "ml.m5.large"),
              "no setting 'instance'; did you mean instance_type?");
    CHECK_STR(set(c, "endpoint", "http://x"),
              "no setting 'endpoint'; did you mean endpoint_url?");
    CHECK_STR(set(c, "colour", "blue"),
              "no setting 'colour'; %config lists them");
    CHECK_STR(set(c, "Region", "us-east-1"),
              "no setting 'Region'; did you mean region?");
    sm_config_destroy(&c);
}

TEST(config_keys_and_json)
{
    sm_config *c = fresh();
    CHECK(sm_config_count() == 12);
    for (size_t i = 0; i < sm_config_count(); i++) {
        CHECK(sm_config_key(i) && sm_config_describe(i));
        CHECK(sm_config_get(c, sm_config_key(i)) != NULL);
    }
    CHECK(sm_config_key(sm_config_count()) == NULL);
    CHECK(sm_config_describe(sm_config_count()) == NULL);
    CHECK_STR(sm_config_key(0), "backend");
    CHECK_STR(set(c, "backend", "aws"), "");
    json_t *j = sm_config_to_json(c);
    CHECK(json_object_size(j) == 12);
    CHECK_STR(json_string_value(json_object_get(j, "backend")), "aws");
    CHECK_STR(json_string_value(json_object_get(j, "bucket")), "");
    CHECK_STR(json_string_value(json_object_get(j, "journal")),
              "sagemagic-journal.jsonl");
    CHECK_STR(set(c, "journal", ""), "journal must be a file name (relative "
                                     "to the notebook's folder) or off");
    CHECK_STR(set(c, "journal", "off"), "");
    json_decref(j);
    sm_config_destroy(&c);
}
