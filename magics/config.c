/* config: a table of settings, each with its default and its check. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "magic.h"

typedef int (*check_fn)(const char *key, const char *value, sm_error *err);

struct setting {
    const char *key;
    const char *fallback;
    check_fn check;
    const char *describe;
};

static int check_backend(const char *key, const char *v, sm_error *err)
{
    if (strcmp(v, "local") && strcmp(v, "aws"))
        return sm_error_set(err, "backend must be local or aws, not '%s'", v);
    return 0;
}

static int check_bool(const char *key, const char *v, sm_error *err)
{
    static const char *const ok[] = {"true", "false", "yes", "no", "on",
                                     "off", "1", "0"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (strcasecmp(v, ok[i]) == 0)
            return 0;
    return sm_error_set(err, "%s must be true or false, not '%s'", key, v);
}

static int check_seconds(const char *key, const char *v, sm_error *err)
{
    char *end;
    double s = strtod(v, &end);
    if (strcmp(v, "auto") == 0)
        return 0;
    if (end == v || *end || !(s > 0) || s > 3600)
        return sm_error_set(err, "%s must be auto or a number of seconds "
                                 "between 0 and 3600, not '%s'", key, v);
    return 0;
}

static int check_region(const char *key, const char *v, sm_error *err)
{
    size_t n = strlen(v);
    if (n < 4 || n > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
        return sm_error_set(err, "'%s' is not a region name like us-east-1", v);
    return 0;
}

static int check_bucket(const char *key, const char *v, sm_error *err)
{
    size_t n = strlen(v);
    if (n == 0)
        return 0;
    if (n < 3 || n > 63 ||
        strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n ||
        v[0] == '-' || v[0] == '.' || v[n - 1] == '-' || v[n - 1] == '.')
        return sm_error_set(err, "'%s' is not a valid S3 bucket name (3 to 63 "
                                 "lowercase letters, digits, dots and hyphens)",
                            v);
    return 0;
}

static int check_url(const char *key, const char *v, sm_error *err)
{
    if (*v && strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
        return sm_error_set(err, "endpoint_url must start with http:// or "
                                 "https://, not '%s'", v);
    return 0;
}

static int check_instance(const char *key, const char *v, sm_error *err)
{
    if (strncmp(v, "ml.", 3) != 0)
        return sm_error_set(err, "instance_type must be a SageMaker instance "
                                 "type like ml.m5.xlarge, not '%s'", v);
    return 0;
}

/* SageMaker's RoleArn: arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME. A typo
 * is caught here rather than by the first job that sends it. */
static int role_arn_valid(const char *v)
{
    static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789+=,.@_/-";
    if (strlen(v) > 2048 || strncmp(v, "arn:aws", 7) != 0)
        return 0;
    const char *p = v + 7 + strspn(v + 7, "abcdefghijklmnopqrstuvwxyz-");
    if (strncmp(p, ":iam::", 6) != 0 || strspn(p + 6, "0123456789") != 12)
        return 0;
    p += 18;
    return strncmp(p, ":role/", 6) == 0 && p[6] &&
           strspn(p + 6, name_chars) == strlen(p + 6);
}

static int check_role(const char *key, const char *v, sm_error *err)
{
    if (*v && !role_arn_valid(v))
        return sm_error_set(err,
                            "role must be an IAM role ARN like "
                            "arn:aws:iam::123456789012:role/SageMakerRole, "
                            "not '%s'",
                            v);
    return 0;
}

static int check_any(const char *key, const char *v, sm_error *err)
{
    return 0;
}

static int check_journal(const char *key, const char *v, sm_error *err)
{
    if (!*v)
        return sm_error_set(err, "journal must be a file name (relative to "
                                 "the notebook's folder) or off");
    return 0;
}

static const struct setting settings[] = {
    {"backend", "local", check_backend, "where commands go: local or aws"},
    {"region", "us-east-1", check_region, "AWS region"},
    {"profile", "", check_any, "AWS profile for credentials (aws backend)"},
    {"role", "", check_role, "IAM role ARN SageMaker runs jobs as"},
    {"bucket", "", check_bucket,
     "S3 bucket for data and models (default sagemaker-REGION-ACCOUNT)"},
    {"prefix", "sagemagic", check_any, "key prefix for uploads and outputs"},
    {"endpoint_url", "", check_url, "send requests to this URL instead of AWS"},
    {"instance_type", "ml.m5.xlarge", check_instance,
     "training instance type when --instance is not given"},
    {"poll", "auto", check_seconds,
     "seconds between status checks while waiting (auto: by backend)"},
    {"wait", "true", check_bool, "waiting magics wait for the end by default"},
    {"cleanup_on_exit", "false", check_bool,
     "delete this kernel's endpoints when it shuts down"},
    {"journal", "sagemagic-journal.jsonl", check_journal,
     "the experiment journal, relative to the notebook's folder (off: none)"},
};

#define SETTING_COUNT (sizeof settings / sizeof *settings)

struct sm_config {
    char *values[SETTING_COUNT];
};

static long find(const char *key)
{
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (strcmp(settings[i].key, key) == 0)
            return (long)i;
    return -1;
}

sm_config *sm_config_new(void)
{
    sm_config *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    for (size_t i = 0; i < SETTING_COUNT; i++)
        self->values[i] = strdup(settings[i].fallback);
    const char *region = getenv("AWS_REGION");
    if (!region || !*region)
        region = getenv("AWS_DEFAULT_REGION");
    if (region && *region)
        sm_config_set(self, "region", region, NULL);
    return self;
}

void sm_config_destroy(sm_config **pself)
{
    sm_config *self = *pself;
    if (!self)
        return;
    for (size_t i = 0; i < SETTING_COUNT; i++)
        free(self->values[i]);
    free(self);
    *pself = NULL;
}

const char *sm_config_get(const sm_config *self, const char *key)
{
    long i = find(key);
    if (i < 0)
        return NULL;
    return self->values[i] ? self->values[i] : "";
}

int sm_config_set(sm_config *self, const char *key, const char *value,
                  sm_error *err)
{
    long i = find(key);
    if (i < 0) {
        const char *names[SETTING_COUNT];
        for (size_t j = 0; j < SETTING_COUNT; j++)
            names[j] = settings[j].key;
        const char *guess = sm_closest(key, names, SETTING_COUNT);
        if (guess)
            return sm_error_set(err, "no setting '%s'; did you mean %s?", key,
                                guess);
        return sm_error_set(err, "no setting '%s'; %%config lists them", key);
    }
    if (settings[i].check(key, value, err))
        return -1;
    char *copy = strdup(value);
    if (!copy)
        return sm_error_set(err, "out of memory");
    free(self->values[i]);
    self->values[i] = copy;
    return 0;
}

int sm_config_is_true(const sm_config *self, const char *key)
{
    const char *v = sm_config_get(self, key);
    return v && (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
                 strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0);
}

size_t sm_config_count(void)
{
    return SETTING_COUNT;
}

const char *sm_config_key(size_t i)
{
    return i < SETTING_COUNT ? settings[i].key : NULL;
}

const char *sm_config_describe(size_t i)
{
    return i < SETTING_COUNT ? settings[i].describe : NULL;
}

json_t *sm_config_to_json(const sm_config *self)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < SETTING_COUNT; i++)
        json_object_set_new(obj, settings[i].key,
                            json_string(self->values[i] ? self->values[i] : ""));
    return obj;
}
