/* test_images: every region and version of the built-in XGBoost image,
 * driven by the table in the project reference (sagemaker-wire-apis.md,
 * section 5.1), read at run time; then the errors and the recogniser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images.h"
#include "test.h"

#define MAX_ROWS 64
#define MAX_VERSIONS 32

typedef struct ref_row {
    char region[32], account[16], legacy[16]; /* legacy "" for "–" */
} ref_row;

typedef struct reference {
    ref_row rows[MAX_ROWS];
    size_t row_count;
    char versions[MAX_VERSIONS][16];
    size_t version_count;
    char aliases[4][16];
    size_t alias_count;
} reference;

/* New contents of the reference file, or NULL. */
static char *load_reference(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/reference/sagemaker-wire-apis.md",
             test_shared_dir());
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = size > 0 ? malloc((size_t)size + 1) : NULL;
    if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    if (text)
        text[size] = '\0';
    fclose(f);
    return text;
}

/* Copy a table cell without spaces and "**" into out. */
static void cell(const char *from, const char *to, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = from; p < to && n + 1 < size; p++)
        if (*p != ' ' && *p != '*')
            out[n++] = *p;
    out[n] = '\0';
}

/* The region table: the rows after its header and separator lines. */
static void parse_table(const char *text, reference *ref)
{
    const char *at = strstr(text, "| Region | `sagemaker-xgboost`");
    if (!at)
        return;
    at = strchr(at, '\n'); /* header */
    if (at)
        at = strchr(at + 1, '\n'); /* separator */
    while (at && at[1] == '|' && ref->row_count < MAX_ROWS) {
        const char *line = at + 1, *end = strchr(line, '\n');
        const char *bar1 = strchr(line + 1, '|');
        const char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
        const char *bar3 = bar2 ? strchr(bar2 + 1, '|') : NULL;
        if (!end || !bar3 || bar3 > end)
            break;
        ref_row *r = &ref->rows[ref->row_count++];
        cell(line + 1, bar1, r->region, sizeof r->region);
        cell(bar1 + 1, bar2, r->account, sizeof r->account);
        cell(bar2 + 1, bar3, r->legacy, sizeof r->legacy);
        if (strcmp(r->legacy, "–") == 0) /* an en dash: none */
            r->legacy[0] = '\0';
        at = end;
    }
}

/* "Versions offered: `1` (alias `latest`), `0.90-1`, ..., `3.0-5`." */
static void parse_versions(const char *text, reference *ref)
{
    const char *at = strstr(text, "Versions offered:");
    while (at && (at = strchr(at, '`'))) {
        const char *end = strchr(at + 1, '`');
        if (!end || end - at - 1 >= 16)
            break;
        int alias = at >= text + 6 && strncmp(at - 6, "alias ", 6) == 0;
        char *slot = alias ? ref->aliases[ref->alias_count++]
                           : ref->versions[ref->version_count++];
        memcpy(slot, at + 1, (size_t)(end - at - 1));
        slot[end - at - 1] = '\0';
        if (end[1] == '.' || ref->version_count == MAX_VERSIONS ||
            ref->alias_count == 4)
            break;
        at = end + 1;
    }
}

static int load(reference *ref)
{
    memset(ref, 0, sizeof *ref);
    char *text = load_reference();
    if (!text)
        return -1;
    parse_table(text, ref);
    parse_versions(text, ref);
    free(text);
    return 0;
}

/* ECR domains per partition, from botocore's endpoints.json. */
static const char *domain(const char *region)
{
    if (strncmp(region, "cn-", 3) == 0)
        return "amazonaws.com.cn";
    if (strncmp(region, "us-isob-", 8) == 0)
        return "sc2s.sgov.gov";
    if (strncmp(region, "us-isof-", 8) == 0)
        return "csp.hci.ic.gov";
    if (strncmp(region, "us-iso-", 7) == 0)
        return "c2s.ic.gov";
    return "amazonaws.com";
}

/* Versions up to 1.0-1 declare processor cpu and py3 (section 5.1). */
static int has_cpu_py3_tag(const char *version)
{
    return strcmp(version, "0.90-1") == 0 || strcmp(version, "0.90-2") == 0 ||
           strcmp(version, "1.0-1") == 0;
}

TEST(images_reference_parsed)
{
    reference ref;
    CHECK(load(&ref) == 0);
    CHECK(ref.row_count == 37);
    CHECK(ref.version_count == 10);
    CHECK(ref.alias_count == 1);
    CHECK_STR(ref.aliases[0], "latest");
    CHECK_STR(ref.rows[0].region, "us-east-1");
    CHECK_STR(ref.rows[0].account, "683313688378");
    /* The client's tables hold exactly the reference's regions. */
    CHECK(sm_image_region_count() == ref.row_count);
    for (size_t i = 0; i < ref.row_count; i++)
        CHECK(sm_image_dns_suffix(ref.rows[i].region) != NULL);
    CHECK(sm_image_xgboost_version_count() ==
          ref.version_count + ref.alias_count);
}

/* Every region x version pair of the reference. */
TEST(images_every_region_and_version)
{
    reference ref;
    CHECK(load(&ref) == 0 && ref.row_count && ref.version_count);
    size_t pairs = 0;
    for (size_t i = 0; i < ref.row_count; i++) {
        const ref_row *r = &ref.rows[i];
        for (size_t v = 0; v < ref.version_count; v++) {
            const char *version = ref.versions[v];
            int legacy = strcmp(version, "1") == 0;
            char want[256];
            snprintf(want, sizeof want, "%s.dkr.ecr.%s.%s/%s:%s%s",
                     legacy ? r->legacy : r->account, r->region,
                     domain(r->region),
                     legacy ? "xgboost" : "sagemaker-xgboost", version,
                     has_cpu_py3_tag(version) ? "-cpu-py3" : "");
            sm_error err = {""};
            char *uri = sm_image_xgboost_uri(r->region, version, &err);
            if (legacy && !r->legacy[0]) {
                CHECK(uri == NULL);
                CHECK(strstr(err.message, r->region) != NULL);
                continue;
            }
            CHECK_STR(uri, want);
            sm_image_info info;
            CHECK(sm_image_is_xgboost(uri, &info));
            CHECK_STR(info.region, r->region);
            CHECK_STR(info.version, version);
            CHECK_STR(info.account, legacy ? r->legacy : r->account);
            CHECK_STR(info.algorithm, "xgboost");
            free(uri);
            pairs++;
        }
    }
    CHECK(pairs == 37 * 10 - 4); /* four regions have no legacy image */
}

TEST(images_reference_examples)
{
    static const struct {
        const char *region, *version, *uri;
    } examples[] = {
        {"us-east-1", "1.7-1",
         "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
         "sagemaker-xgboost:1.7-1"},
        {"us-west-2", "1.7-1",
         "246618743249.dkr.ecr.us-west-2.amazonaws.com/"
         "sagemaker-xgboost:1.7-1"},
        {"cn-north-1", "1.7-1",
         "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/"
         "sagemaker-xgboost:1.7-1"},
        {"eu-west-1", "0.90-1",
         "141502667606.dkr.ecr.eu-west-1.amazonaws.com/"
         "sagemaker-xgboost:0.90-1-cpu-py3"},
    };
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        sm_error err = {""};
        char *uri =
            sm_image_xgboost_uri(examples[i].region, examples[i].version, &err);
        CHECK_STR(uri, examples[i].uri);
        free(uri);
    }
}

TEST(images_defaults_and_aliases)
{
    sm_error err = {""};
    char *uri = sm_image_xgboost_uri("us-east-1", NULL, &err);
    CHECK_STR(uri, "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                   "sagemaker-xgboost:" SM_IMAGE_XGBOOST_DEFAULT_VERSION);
    free(uri);
    uri = sm_image_xgboost_uri("us-east-1", "", &err);
    CHECK(uri && strstr(uri, ":1.7-1"));
    free(uri);
    /* "latest" is the SDK's alias of the legacy "1". */
    uri = sm_image_xgboost_uri("us-east-1", "latest", &err);
    CHECK_STR(uri, "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1");
    free(uri);
    uri = sm_image_uri("XGBoost", "eu-central-1", "1.5-1", &err);
    CHECK_STR(uri, "492215442770.dkr.ecr.eu-central-1.amazonaws.com/"
                   "sagemaker-xgboost:1.5-1");
    free(uri);
    CHECK_STR(err.message, "");
}

TEST(images_unknown_version_suggests)
{
    sm_error err = {""};
    CHECK(sm_image_xgboost_uri("us-east-1", "1.7", &err) == NULL);
    CHECK(strstr(err.message, "did you mean '1.7-1'") != NULL);
    CHECK(strstr(err.message, "0.90-1, 0.90-2") != NULL);
    sm_error_clear(&err);
    CHECK(sm_image_xgboost_uri("us-east-1", "1.7-2", &err) == NULL);
    CHECK(strstr(err.message, "did you mean '1.7-1'") != NULL);
    sm_error_clear(&err);
    CHECK(sm_image_xgboost_uri("us-east-1", "banana", &err) == NULL);
    CHECK(strstr(err.message, "did you mean") == NULL);
    CHECK(strstr(err.message, "3.0-5") != NULL);
    CHECK(strstr(err.message, "latest") != NULL);
}

TEST(images_unknown_region_and_algorithm)
{
    sm_error err = {""};
    CHECK(sm_image_xgboost_uri("us-east-7", "1.7-1", &err) == NULL);
    CHECK(strstr(err.message, "'us-east-7'") != NULL);
    CHECK(strstr(err.message, "did you mean 'us-east-1'") != NULL);
    CHECK(strstr(err.message, "ap-southeast-4") != NULL);
    sm_error_clear(&err);
    CHECK(sm_image_xgboost_uri("mars-north-1", "1.7-1", &err) == NULL);
    CHECK(strstr(err.message, "us-west-2") != NULL);
    sm_error_clear(&err);
    CHECK(sm_image_xgboost_uri(NULL, "1.7-1", &err) == NULL);
    CHECK(strstr(err.message, "region") != NULL);
    sm_error_clear(&err);
    CHECK(sm_image_uri("linear-learner", "us-east-1", NULL, &err) == NULL);
    CHECK(strstr(err.message, "xgboost") != NULL);
    sm_error_clear(&err);
    /* The legacy version has no image in the newest regions. */
    CHECK(sm_image_xgboost_uri("il-central-1", "1", &err) == NULL);
    CHECK(strstr(err.message, "1.7-1") != NULL);
}

TEST(images_recognise)
{
    sm_image_info info;
    CHECK(sm_image_is_xgboost("811284229777.dkr.ecr.us-east-1.amazonaws.com/"
                              "xgboost:latest",
                              &info));
    CHECK_STR(info.version, "1");
    CHECK_STR(info.repository, "xgboost");
    CHECK(sm_image_is_xgboost("720646828776.dkr.ecr.ap-south-1.amazonaws.com/"
                              "sagemaker-xgboost:1.0-1-cpu-py3",
                              NULL));
    static const char *const not_xgboost[] = {
        "",
        "xgboost",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost",
        /* the account of another region */
        "246618743249.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        /* the legacy account for a new version */
        "811284229777.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        /* the wrong partition's domain */
        "683313688378.dkr.ecr.us-east-1.amazonaws.com.cn/"
        "sagemaker-xgboost:1.7-1",
        /* tags that do not exist */
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-2",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:latest",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/my/"
        "sagemaker-xgboost:1.7-1",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
        "sagemaker-xgboost:1.7-1:x",
        "683313688378.dkr.ecr.mars-east-1.amazonaws.com/"
        "sagemaker-xgboost:1.7-1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-image:latest",
        "docker.io/library/xgboost:1.7-1",
    };
    for (size_t i = 0; i < sizeof not_xgboost / sizeof not_xgboost[0]; i++)
        CHECK(!sm_image_is_xgboost(not_xgboost[i], &info));
    CHECK(!sm_image_is_xgboost(NULL, NULL));
}
