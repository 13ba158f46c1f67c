/* images: built-in algorithm image URIs, from tables.
 *
 * The tables are the SageMaker Python SDK's image_uri_config/xgboost.json
 * (branch master-v2 at fc582aaa, v2.257.6), as the project reference
 * (sagemaker-wire-apis.md, section 5.1) records them: one registry account
 * per region for every sagemaker-xgboost version, another for the legacy
 * "xgboost:1" repository. The training and inference scopes use the same
 * registries. Domains are botocore's ECR hostnames per partition
 * (endpoints.json: ecr.<region>.<dnsSuffix>). */
#include "images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct region_row {
    const char *region;
    const char *account;        /* sagemaker-xgboost, every version */
    const char *legacy_account; /* xgboost:1; "" where there is none */
} region_row;

static const region_row regions[] = {
    {"us-east-1", "683313688378", "811284229777"},
    {"us-east-2", "257758044811", "825641698319"},
    {"us-west-1", "746614075791", "632365934929"},
    {"us-west-2", "246618743249", "433757028032"},
    {"eu-west-1", "141502667606", "685385470294"},
    {"eu-west-2", "764974769150", "644912444149"},
    {"eu-west-3", "659782779980", "749696950732"},
    {"eu-central-1", "492215442770", "813361260812"},
    {"eu-central-2", "680994064768", "680994064768"},
    {"eu-north-1", "662702820516", "669576153137"},
    {"eu-south-1", "978288397137", "257386234256"},
    {"eu-south-2", "104374241257", "104374241257"},
    {"ap-northeast-1", "354813040037", "501404015308"},
    {"ap-northeast-2", "366743142698", "306986355934"},
    {"ap-northeast-3", "867004704886", "867004704886"},
    {"ap-south-1", "720646828776", "991648021394"},
    {"ap-south-2", "628508329040", "628508329040"},
    {"ap-southeast-1", "121021644041", "475088953585"},
    {"ap-southeast-2", "783357654285", "544295431143"},
    {"ap-southeast-3", "951798379941", "951798379941"},
    {"ap-southeast-4", "106583098589", "106583098589"},
    {"ap-east-1", "651117190479", "286214385809"},
    {"af-south-1", "510948584623", "455444449433"},
    {"ca-central-1", "341280168497", "469771592824"},
    {"ca-west-1", "190319476487", ""},
    {"sa-east-1", "737474898029", "855470959533"},
    {"me-south-1", "801668240914", "249704162688"},
    {"me-central-1", "272398656194", "272398656194"},
    {"il-central-1", "898809789911", ""},
    {"cn-north-1", "450853457545", "390948362332"},
    {"cn-northwest-1", "451049120500", "387376663083"},
    {"us-gov-west-1", "414596584902", "226302683700"},
    {"us-gov-east-1", "237065988967", "237065988967"},
    {"us-iso-east-1", "833128469047", "490574956308"},
    {"us-isob-east-1", "281123927165", "765400339828"},
    {"us-isof-east-1", "108575199400", ""},
    {"us-isof-south-1", "124985052026", ""},
};

#define REGION_COUNT (sizeof regions / sizeof regions[0])

typedef struct version_row {
    const char *version;
    const char *tag; /* versions up to 1.0-1 declare cpu and py3 */
    int legacy;      /* repository "xgboost", the legacy account */
} version_row;

static const version_row versions[] = {
    {"1", "1", 1},
    {"0.90-1", "0.90-1-cpu-py3", 0},
    {"0.90-2", "0.90-2-cpu-py3", 0},
    {"1.0-1", "1.0-1-cpu-py3", 0},
    {"1.2-1", "1.2-1", 0},
    {"1.2-2", "1.2-2", 0},
    {"1.3-1", "1.3-1", 0},
    {"1.5-1", "1.5-1", 0},
    {"1.7-1", "1.7-1", 0},
    {"3.0-5", "3.0-5", 0},
};

#define VERSION_COUNT (sizeof versions / sizeof versions[0])

/* The SDK's version_aliases. */
static const struct {
    const char *alias, *version;
} aliases[] = {
    {"latest", "1"},
};

#define ALIAS_COUNT (sizeof aliases / sizeof aliases[0])

#define REPOSITORY "sagemaker-xgboost"
#define LEGACY_REPOSITORY "xgboost"

/* Partitions by region prefix; the first match wins, the last row is the
 * commercial partition (and GovCloud, which shares its suffix). */
static const struct {
    const char *prefix, *suffix;
} partitions[] = {
    {"cn-", "amazonaws.com.cn"},   {"us-iso-", "c2s.ic.gov"},
    {"us-isob-", "sc2s.sgov.gov"}, {"us-isof-", "csp.hci.ic.gov"},
    {"", "amazonaws.com"},
};

#define PARTITION_COUNT (sizeof partitions / sizeof partitions[0])

static const region_row *find_region(const char *region)
{
    for (size_t i = 0; region && i < REGION_COUNT; i++)
        if (strcmp(regions[i].region, region) == 0)
            return &regions[i];
    return NULL;
}

static const version_row *find_version(const char *version)
{
    for (size_t i = 0; i < ALIAS_COUNT; i++)
        if (strcasecmp(aliases[i].alias, version) == 0)
            version = aliases[i].version;
    for (size_t i = 0; i < VERSION_COUNT; i++)
        if (strcmp(versions[i].version, version) == 0)
            return &versions[i];
    return NULL;
}

const char *sm_image_dns_suffix(const char *region)
{
    if (!find_region(region))
        return NULL;
    for (size_t i = 0; i < PARTITION_COUNT; i++)
        if (strncmp(region, partitions[i].prefix,
                    strlen(partitions[i].prefix)) == 0)
            return partitions[i].suffix;
    return NULL;
}

size_t sm_image_xgboost_version_count(void)
{
    return VERSION_COUNT + ALIAS_COUNT;
}

const char *sm_image_xgboost_version(size_t i)
{
    if (i < VERSION_COUNT)
        return versions[i].version;
    if (i < VERSION_COUNT + ALIAS_COUNT)
        return aliases[i - VERSION_COUNT].alias;
    return NULL;
}

size_t sm_image_region_count(void)
{
    return REGION_COUNT;
}

const char *sm_image_region(size_t i)
{
    return i < REGION_COUNT ? regions[i].region : NULL;
}

/* Levenshtein distance of two short strings (capped at 31 characters). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31)
        la = 31;
    if (lb > 31)
        lb = 31;
    size_t row[32];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static size_t common_prefix(const char *a, const char *b)
{
    size_t n = 0;
    while (a[n] && a[n] == b[n])
        n++;
    return n;
}

/* The name in `names` (count of them) closest to `word`: one that `word`
 * begins is best ("1.7" -> "1.7-1"), else the smallest edit distance,
 * then the longest common prefix ("1.7-2" -> "1.7-1", not "1.2-2"). */
static const char *closest(const char *word, const char *const *names,
                           size_t count)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, best_prefix = 0;
    for (size_t i = 0; i < count; i++) {
        size_t d = strncmp(names[i], word, strlen(word)) == 0
                       ? 0
                       : distance(word, names[i]) + 1;
        size_t prefix = common_prefix(word, names[i]);
        if (d < best_d || (d == best_d && prefix > best_prefix)) {
            best = names[i];
            best_d = d;
            best_prefix = prefix;
        }
    }
    return best_d <= 3 ? best : NULL;
}

/* "a, b, c" of count names into out. */
static void join(char *out, size_t size, const char *const *names, size_t count)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && used < size; i++) {
        int n =
            snprintf(out + used, size - used, "%s%s", i ? ", " : "", names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static int unknown_version(const char *version, sm_error *err)
{
    const char *names[VERSION_COUNT + ALIAS_COUNT];
    size_t count = sm_image_xgboost_version_count();
    for (size_t i = 0; i < count; i++)
        names[i] = sm_image_xgboost_version(i);
    char list[256];
    join(list, sizeof list, names, count);
    const char *near = closest(version, names, count);
    if (near)
        return sm_error_set(err,
                            "XGBoost version '%s' is not known; did you mean "
                            "'%s'? The versions are: %s.",
                            version, near, list);
    return sm_error_set(err,
                        "XGBoost version '%s' is not known. The "
                        "versions are: %s.",
                        version, list);
}

static int unknown_region(const char *region, sm_error *err)
{
    const char *names[REGION_COUNT];
    for (size_t i = 0; i < REGION_COUNT; i++)
        names[i] = regions[i].region;
    char list[1024];
    join(list, sizeof list, names, REGION_COUNT);
    const char *near = closest(region, names, REGION_COUNT);
    return sm_error_set(err,
                        "XGBoost has no image in region '%s'%s%s%s. The "
                        "regions with one are: %s.",
                        region, near ? "; did you mean '" : "",
                        near ? near : "", near ? "'?" : "", list);
}

char *sm_image_xgboost_uri(const char *region, const char *version,
                           sm_error *err)
{
    if (!region || !*region) {
        sm_error_set(err, "No region is set, so there is no image URI; set "
                          "one with %%config region=...");
        return NULL;
    }
    if (!version || !*version)
        version = SM_IMAGE_XGBOOST_DEFAULT_VERSION;
    const version_row *v = find_version(version);
    if (!v) {
        unknown_version(version, err);
        return NULL;
    }
    const region_row *r = find_region(region);
    if (!r) {
        unknown_region(region, err);
        return NULL;
    }
    const char *account = v->legacy ? r->legacy_account : r->account;
    if (!*account) {
        sm_error_set(err,
                     "XGBoost version %s has no image in region %s; use a "
                     "newer version such as %s.",
                     v->version, region, SM_IMAGE_XGBOOST_DEFAULT_VERSION);
        return NULL;
    }
    char uri[256];
    snprintf(uri, sizeof uri, "%s.dkr.ecr.%s.%s/%s:%s", account, region,
             sm_image_dns_suffix(region),
             v->legacy ? LEGACY_REPOSITORY : REPOSITORY, v->tag);
    char *out = strdup(uri);
    if (!out)
        sm_error_set(err, "out of memory");
    return out;
}

char *sm_image_uri(const char *algorithm, const char *region,
                   const char *version, sm_error *err)
{
    if (algorithm && strcasecmp(algorithm, "xgboost") == 0)
        return sm_image_xgboost_uri(region, version, err);
    sm_error_set(err,
                 "There is no built-in algorithm '%s'; the one sagemagic "
                 "knows is xgboost.",
                 algorithm ? algorithm : "");
    return NULL;
}

/* Copy s[0..n) into out (size bytes); -1 when it does not fit. */
static int copy_part(char *out, size_t size, const char *s, size_t n)
{
    if (n >= size)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* Split "<account>.dkr.ecr.<region>.<suffix>/<repo>:<tag>" into `info`;
 * the parts are checked against the tables by the caller. */
static int split_uri(const char *uri, sm_image_info *info, char *suffix,
                     size_t suffix_size)
{
    const char *ecr = strstr(uri, ".dkr.ecr.");
    if (!ecr || copy_part(info->account, sizeof info->account, uri,
                          (size_t)(ecr - uri)))
        return -1;
    const char *region = ecr + strlen(".dkr.ecr.");
    const char *dot = strchr(region, '.');
    const char *slash = strchr(region, '/');
    if (!dot || !slash || dot > slash)
        return -1;
    const char *colon = strchr(slash, ':');
    if (!colon || strchr(colon + 1, ':') || strchr(colon + 1, '/'))
        return -1;
    if (copy_part(info->region, sizeof info->region, region,
                  (size_t)(dot - region)) ||
        copy_part(suffix, suffix_size, dot + 1, (size_t)(slash - dot - 1)) ||
        copy_part(info->repository, sizeof info->repository, slash + 1,
                  (size_t)(colon - slash - 1)) ||
        copy_part(info->tag, sizeof info->tag, colon + 1, strlen(colon + 1)))
        return -1;
    return 0;
}

/* The version whose tag `tag` is, in the repository named. */
static const version_row *version_for_tag(const char *repository,
                                          const char *tag)
{
    int legacy = strcmp(repository, LEGACY_REPOSITORY) == 0;
    if (!legacy && strcmp(repository, REPOSITORY) != 0)
        return NULL;
    if (legacy && strcmp(tag, "latest") == 0)
        tag = "1";
    for (size_t i = 0; i < VERSION_COUNT; i++)
        if (versions[i].legacy == legacy && strcmp(versions[i].tag, tag) == 0)
            return &versions[i];
    return NULL;
}

int sm_image_is_xgboost(const char *uri, sm_image_info *info)
{
    sm_image_info parsed;
    memset(&parsed, 0, sizeof parsed);
    char suffix[64];
    if (!uri || split_uri(uri, &parsed, suffix, sizeof suffix))
        return 0;
    const region_row *r = find_region(parsed.region);
    const char *want_suffix = sm_image_dns_suffix(parsed.region);
    if (!r || !want_suffix || strcmp(suffix, want_suffix) != 0)
        return 0;
    const version_row *v = version_for_tag(parsed.repository, parsed.tag);
    if (!v)
        return 0;
    const char *account = v->legacy ? r->legacy_account : r->account;
    if (!*account || strcmp(account, parsed.account) != 0)
        return 0;
    snprintf(parsed.algorithm, sizeof parsed.algorithm, "xgboost");
    snprintf(parsed.version, sizeof parsed.version, "%s", v->version);
    if (info)
        *info = parsed;
    return 1;
}
