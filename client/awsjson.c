/* awsjson: the call seam, checked request members, lenient response reads. */
#include "awsjson.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

/* ---- the seam ----------------------------------------------------------- */

static json_t *aws_call(void *ctx, sm_aws_service service,
                        const char *operation, const json_t *request,
                        sm_aws_error *err)
{
    return sm_aws_json_call(ctx, service, operation, request, err);
}

sm_awsjson_caller sm_awsjson_caller_aws(sm_aws *aws)
{
    return (sm_awsjson_caller){aws_call, aws};
}

static const char *const service_names[SM_AWS_SERVICE_COUNT] = {
    [SM_AWS_S3] = "s3",
    [SM_AWS_SAGEMAKER] = "sagemaker",
    [SM_AWS_RUNTIME] = "sagemaker-runtime",
    [SM_AWS_LOGS] = "logs",
    [SM_AWS_STS] = "sts",
};

const char *sm_awsjson_service_name(sm_aws_service service)
{
    if ((int)service < 0 || service >= SM_AWS_SERVICE_COUNT)
        return "unknown";
    return service_names[service];
}

static void fill_origin(sm_aws_error *err, sm_aws_service service,
                        const char *operation)
{
    if (!err->service[0])
        snprintf(err->service, sizeof err->service, "%s",
                 sm_awsjson_service_name(service));
    if (!err->operation[0])
        snprintf(err->operation, sizeof err->operation, "%s", operation);
}

json_t *sm_awsjson_call(const sm_awsjson_caller *self, sm_aws_service service,
                        const char *operation, const json_t *request,
                        sm_aws_error *err)
{
    memset(err, 0, sizeof *err);
    json_t *response = self->call(self->ctx, service, operation, request, err);
    if (response && !json_is_object(response)) {
        json_decref(response);
        response = NULL;
        snprintf(err->code, sizeof err->code, "InvalidResponse");
        snprintf(err->message, sizeof err->message,
                 "the response to %s is not a JSON object", operation);
    }
    if (!response) {
        if (!err->message[0])
            snprintf(err->message, sizeof err->message,
                     "%s failed without saying why", operation);
        fill_origin(err, service, operation);
    }
    return response;
}

void sm_awsjson_refuse(sm_aws_error *err, sm_aws_service service,
                       const char *operation, const char *message)
{
    memset(err, 0, sizeof *err);
    fill_origin(err, service, operation);
    snprintf(err->code, sizeof err->code, "%s", SM_AWSJSON_INVALID);
    snprintf(err->message, sizeof err->message, "%s", message);
}

int sm_awsjson_error_is(const sm_aws_error *err, const char *code)
{
    return err && code && strcmp(err->code, code) == 0;
}

/* ---- patterns ----------------------------------------------------------- */

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Nonzero when every byte of s is alnum or one of `extra`. */
static int all_of(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!is_alnum((unsigned char)*s) && !strchr(extra, *s))
            return 0;
    return 1;
}

/* A Java regex '.' matches neither \n, \r, U+0085, U+2028 nor U+2029. */
static int match_line(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' || *p == '\r')
            return 0;
        if (p[0] == 0xC2 && p[1] == 0x85)
            return 0;
        if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
            return 0;
    }
    return 1;
}

static int match_text(const char *s)
{
    (void)s;
    return 1;
}

static int match_no_space(const char *s)
{
    return *s && !strpbrk(s, " \t\n\v\f\r");
}

static int match_resource_name(const char *s)
{
    size_t n = strlen(s);
    return n && is_alnum((unsigned char)s[0]) &&
           is_alnum((unsigned char)s[n - 1]) && all_of(s, "-");
}

static int match_name_filter(const char *s)
{
    return *s && all_of(s, "-");
}

static int match_channel_name(const char *s)
{
    return *s && all_of(s, ".-_");
}

static int match_s3_uri(const char *s)
{
    const char *rest = NULL;
    if (strncmp(s, "s3://", 5) == 0)
        rest = s + 5;
    else if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    return rest && *rest && *rest != '/' && match_line(s);
}

static int match_role_arn(const char *s)
{
    if (strncmp(s, "arn:aws", 7) != 0)
        return 0;
    s += 7;
    while ((*s >= 'a' && *s <= 'z') || *s == '-')
        s++;
    if (strncmp(s, ":iam::", 6) != 0)
        return 0;
    s += 6;
    for (int i = 0; i < 12; i++, s++)
        if (!is_digit((unsigned char)*s))
            return 0;
    if (strncmp(s, ":role", 5) != 0)
        return 0;
    s += 5;
    return *s && all_of(s, "_+=,.@-/");
}

static int match_kms_key(const char *s)
{
    return all_of(s, ":/_-");
}

static int match_env_key(const char *s)
{
    return *s && !is_digit((unsigned char)*s) && all_of(s, "_");
}

/* Letters and numbers of any script are allowed; non-ASCII characters are
 * taken on trust (classifying them needs Unicode tables), ASCII ones are
 * checked. */
static int match_tag(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x80 && !is_alnum(*p) && !strchr(" _.:/=+-@", *p))
            return 0;
    return 1;
}

static int match_vpc_id(const char *s)
{
    return *s && all_of(s, "-");
}

static int match_log_group(const char *s)
{
    return *s && all_of(s, ".-_/#");
}

static int match_log_stream(const char *s)
{
    return !strpbrk(s, ":*");
}

typedef struct pattern_row {
    int (*match)(const char *s);
    const char *rule; /* completes "it must ..." */
} pattern_row;

static const pattern_row patterns[SM_AWSJSON_PATTERN_COUNT] = {
    [SM_AWSJSON_LINE] = {match_line, "not contain line breaks"},
    [SM_AWSJSON_TEXT] = {match_text, "be text"},
    [SM_AWSJSON_NO_SPACE] = {match_no_space, "not be empty or hold spaces"},
    [SM_AWSJSON_RESOURCE_NAME] = {match_resource_name,
                                  "hold only letters, digits and hyphens, "
                                  "and start and end with a letter or digit"},
    [SM_AWSJSON_NAME_FILTER] = {match_name_filter,
                                "hold only letters, digits and hyphens"},
    [SM_AWSJSON_CHANNEL_NAME] = {match_channel_name,
                                 "hold only letters, digits, '.', '-' and "
                                 "'_'"},
    [SM_AWSJSON_S3_URI] = {match_s3_uri,
                           "be an s3://bucket/key (or https://) URI"},
    [SM_AWSJSON_ROLE_ARN] = {match_role_arn,
                             "be an IAM role ARN like "
                             "arn:aws:iam::123456789012:role/Name"},
    [SM_AWSJSON_KMS_KEY] = {match_kms_key,
                            "be a KMS key id or ARN (letters, digits, "
                            "':', '/', '_', '-')"},
    [SM_AWSJSON_ENV_KEY] = {match_env_key,
                            "be a variable name: letters, digits and '_', "
                            "not starting with a digit"},
    [SM_AWSJSON_TAG] = {match_tag, "hold only letters, digits, spaces and "
                                   "_ . : / = + - @"},
    [SM_AWSJSON_VPC_ID] = {match_vpc_id,
                           "hold only letters, digits and hyphens"},
    [SM_AWSJSON_LOG_GROUP] = {match_log_group,
                              "hold only letters, digits and . - _ / #"},
    [SM_AWSJSON_LOG_STREAM] = {match_log_stream, "not contain ':' or '*'"},
};

/* `value` for a message: quoted, cut at 60 bytes on a character edge. */
static void quote(char *out, size_t size, const char *value)
{
    size_t len = strlen(value), keep = len;
    for (size_t cp = 57; keep > 60; cp--)
        keep = sm_utf8_byte_offset(value, cp);
    snprintf(out, size, "'%.*s%s'", (int)keep, value, keep < len ? "..." : "");
}

int sm_awsjson_check(const char *member, const char *value,
                     const sm_awsjson_rule *rule, sm_error *err)
{
    size_t len = strlen(value);
    if (!sm_utf8_valid(value, len))
        return sm_error_set(err, "%s is not valid UTF-8.", member);
    size_t chars = sm_utf8_cp_count(value, len);
    if (chars < rule->min)
        return sm_error_set(err,
                            chars ? "%s is too short: at least %zu "
                                    "characters are needed."
                                  : "%s must not be empty (at least %zu "
                                    "characters).",
                            member, rule->min);
    if (rule->max && chars > rule->max)
        return sm_error_set(err, "%s is too long: %zu characters, at most %zu.",
                            member, chars, rule->max);
    const pattern_row *row = &patterns[rule->pattern];
    if (!row->match(value)) {
        char q[80];
        quote(q, sizeof q, value);
        return sm_error_set(err, "%s %s is not valid: it must %s.", member, q,
                            row->rule);
    }
    return 0;
}

/* ---- setting members ---------------------------------------------------- */

int sm_awsjson_put_new(json_t *obj, const char *member, json_t *value,
                       sm_error *err)
{
    if (!value || json_object_set_new(obj, member, value))
        return sm_error_set(err, "out of memory building %s", member);
    return 0;
}

int sm_awsjson_put_str(json_t *obj, const char *member, const char *value,
                       const sm_awsjson_rule *rule, sm_error *err)
{
    if (!value)
        return 0;
    if (sm_awsjson_check(member, value, rule, err))
        return -1;
    return sm_awsjson_put_new(obj, member, json_string(value), err);
}

int sm_awsjson_put_required(json_t *obj, const char *member, const char *value,
                            const sm_awsjson_rule *rule, sm_error *err)
{
    if (!value || !*value)
        return sm_error_set(err, "%s is required.", member);
    return sm_awsjson_put_str(obj, member, value, rule, err);
}

int sm_awsjson_put_enum(json_t *obj, const char *member, const char *value,
                        const char *const *allowed, sm_error *err)
{
    if (!value)
        return 0;
    for (size_t i = 0; allowed[i]; i++)
        if (strcasecmp(value, allowed[i]) == 0)
            return sm_awsjson_put_new(obj, member, json_string(allowed[i]),
                                      err);
    char list[512] = "", q[80];
    size_t used = 0;
    for (size_t i = 0; allowed[i] && used < sizeof list; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                         allowed[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    quote(q, sizeof q, value);
    return sm_error_set(err, "%s %s is not valid: it must be one of %s.",
                        member, q, list);
}

int sm_awsjson_put_int(json_t *obj, const char *member, long long value,
                       long long min, long long max, sm_error *err)
{
    if (value < min)
        return sm_error_set(err, "%s is %lld; it must be at least %lld.",
                            member, value, min);
    if (max >= min && value > max)
        return sm_error_set(err, "%s is %lld; it must be at most %lld.", member,
                            value, max);
    return sm_awsjson_put_new(obj, member, json_integer(value), err);
}

int sm_awsjson_put_bool(json_t *obj, const char *member, int value,
                        sm_error *err)
{
    return sm_awsjson_put_new(obj, member, json_boolean(value), err);
}

int sm_awsjson_put_time(json_t *obj, const char *member, double epoch,
                        sm_error *err)
{
    if (!isfinite(epoch) || epoch < 0)
        return sm_error_set(err, "%s is not a time.", member);
    double whole = floor(epoch);
    json_t *v = whole == epoch && whole < 9.0e15
                    ? json_integer((json_int_t)whole)
                    : json_real(epoch);
    return sm_awsjson_put_new(obj, member, v, err);
}

int sm_awsjson_put_map(json_t *obj, const char *member,
                       const sm_awsjson_kv *pairs, size_t count,
                       const sm_awsjson_map_rule *rule, sm_error *err)
{
    if (!count)
        return 0;
    if (rule->max_entries && count > rule->max_entries)
        return sm_error_set(err, "%s has %zu entries; at most %zu are allowed.",
                            member, count, rule->max_entries);
    json_t *map = json_object();
    if (!map)
        return sm_error_set(err, "out of memory building %s", member);
    char what[128];
    for (size_t i = 0; i < count; i++) {
        const char *key = pairs[i].key ? pairs[i].key : "";
        const char *value = pairs[i].value ? pairs[i].value : "";
        char q[80];
        quote(q, sizeof q, key);
        snprintf(what, sizeof what, "%s key", member);
        if (sm_awsjson_check(what, key, &rule->key, err))
            goto fail;
        snprintf(what, sizeof what, "%s value of %s", member, q);
        if (sm_awsjson_check(what, value, &rule->value, err))
            goto fail;
        if (json_object_get(map, key)) {
            sm_error_set(err, "%s %s is given twice.", member, q);
            goto fail;
        }
        if (json_object_set_new(map, key, json_string(value))) {
            sm_error_set(err, "out of memory building %s", member);
            goto fail;
        }
    }
    return sm_awsjson_put_new(obj, member, map, err);
fail:
    json_decref(map);
    return -1;
}

int sm_awsjson_put_str_list(json_t *obj, const char *member,
                            const char *const *items, size_t count, size_t min,
                            size_t max, const sm_awsjson_rule *rule,
                            sm_error *err)
{
    if (!count)
        return 0;
    if (count < min || (max && count > max))
        return sm_error_set(err, "%s has %zu items; %zu to %zu are allowed.",
                            member, count, min, max);
    json_t *list = json_array();
    if (!list)
        return sm_error_set(err, "out of memory building %s", member);
    for (size_t i = 0; i < count; i++) {
        const char *item = items[i] ? items[i] : "";
        if (sm_awsjson_check(member, item, rule, err)) {
            json_decref(list);
            return -1;
        }
        if (json_array_append_new(list, json_string(item))) {
            json_decref(list);
            return sm_error_set(err, "out of memory building %s", member);
        }
    }
    return sm_awsjson_put_new(obj, member, list, err);
}

/* ---- reading ------------------------------------------------------------ */

json_t *sm_awsjson_get(const json_t *obj, const char *path)
{
    const json_t *at = obj;
    while (at && json_is_object(at)) {
        const char *dot = strchr(path, '.');
        if (!dot)
            return json_object_get(at, path);
        char key[128];
        size_t n = (size_t)(dot - path);
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        at = json_object_get(at, key);
        path = dot + 1;
    }
    return NULL;
}

const char *sm_awsjson_str(const json_t *obj, const char *path)
{
    const char *s = json_string_value(sm_awsjson_get(obj, path));
    return s ? s : "";
}

double sm_awsjson_num(const json_t *obj, const char *path)
{
    return json_number_value(sm_awsjson_get(obj, path));
}

int sm_awsjson_has_num(const json_t *obj, const char *path)
{
    return json_is_number(sm_awsjson_get(obj, path));
}

json_t *sm_awsjson_array(const json_t *obj, const char *path)
{
    json_t *a = sm_awsjson_get(obj, path);
    return json_is_array(a) ? a : NULL;
}
