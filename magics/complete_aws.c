/* complete_aws: Tab completion for the magics that name things elsewhere:
 * S3 buckets and keys after s3://, local files for %upload, %download and
 * %prepare, job names for %status, %logs, %stop and %deploy, endpoint names for
 * %predict and %delete, services for %%api. Listings
 * come from the client in use (never a service started for it) and are
 * cached. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aws_magics.h"
#include "s3.h"
#include "sagemaker.h"

#define MAX_MATCHES 500

static int compare_strings(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a),
                  json_string_value(*(json_t *const *)b));
}

/* Append the candidates that start with `word`, sorted, to `matches`. */
static void add_sorted(json_t *matches, json_t *candidates, const char *word)
{
    size_t n = json_array_size(candidates), kept = 0;
    json_t **items = calloc(n ? n : 1, sizeof *items);
    size_t len = strlen(word);
    for (size_t i = 0; items && i < n; i++) {
        json_t *c = json_array_get(candidates, i);
        if (strncmp(json_string_value(c), word, len) == 0)
            items[kept++] = c;
    }
    if (items)
        qsort(items, kept, sizeof *items, compare_strings);
    for (size_t i = 0; i < kept && i < MAX_MATCHES; i++)
        json_array_append(matches, items[i]);
    free(items);
}

static sm_aws *existing_client(sm_magics *m)
{
    sm_aws_error err = {.http_status = 0};
    return sm_backend_client(sm_magics_backend(m), sm_magics_config(m), NULL,
                             &err);
}

/* ---- s3:// --------------------------------------------------------------- */

typedef struct first_page {
    const char *bucket;
    json_t *names; /* s3:// URIs of keys and folders */
} first_page;

static int take_first_page(void *ctx, const sm_s3_page *page)
{
    first_page *f = ctx;
    char uri[SM_S3_KEY_MAX + 80];
    for (size_t i = 0; i < page->prefix_count; i++) {
        snprintf(uri, sizeof uri, "s3://%s/%s", f->bucket, page->prefixes[i]);
        json_array_append_new(f->names, json_string(uri));
    }
    for (size_t i = 0; i < page->object_count; i++) {
        snprintf(uri, sizeof uri, "s3://%s/%s", f->bucket,
                 page->objects[i].key);
        json_array_append_new(f->names, json_string(uri));
    }
    return 1;
}

static json_t *bucket_uris(sm_aws *aws)
{
    sm_s3_page page = {0};
    sm_aws_error err = {.http_status = 0};
    json_t *names = json_array();
    if (sm_s3_list_buckets(aws, &page, &err) == 0)
        for (size_t i = 0; i < page.object_count; i++) {
            char uri[SM_S3_BUCKET_MAX + 8];
            snprintf(uri, sizeof uri, "s3://%s/", page.objects[i].key);
            json_array_append_new(names, json_string(uri));
        }
    sm_s3_page_clear(&page);
    return names;
}

static void complete_s3(sm_magics *m, const char *word, json_t *matches)
{
    sm_aws *aws = existing_client(m);
    sm_backend *backend = sm_magics_backend(m);
    if (!aws)
        return;
    const char *rest = word + 5, *slash = strchr(rest, '/');
    char key[SM_S3_KEY_MAX + 128];
    if (!slash) {
        json_t *names = sm_backend_cache_get(backend, "s3:buckets");
        if (!names) {
            names = bucket_uris(aws);
            sm_backend_cache_put(backend, "s3:buckets", names);
        }
        add_sorted(matches, names, word);
        return;
    }
    char bucket[SM_S3_BUCKET_MAX + 1];
    size_t bn = (size_t)(slash - rest);
    if (bn == 0 || bn > SM_S3_BUCKET_MAX)
        return;
    snprintf(bucket, sizeof bucket, "%.*s", (int)bn, rest);
    const char *last = strrchr(slash + 1, '/');
    size_t dir_len = last ? (size_t)(last - slash) : 0;
    snprintf(key, sizeof key, "s3:%s/%.*s", bucket, (int)dir_len, slash + 1);
    json_t *names = sm_backend_cache_get(backend, key);
    if (!names) {
        char prefix[SM_S3_KEY_MAX + 1];
        snprintf(prefix, sizeof prefix, "%.*s", (int)dir_len, slash + 1);
        first_page f = {bucket, json_array()};
        sm_s3_list req = {.bucket = bucket, .prefix = prefix, .delimiter = "/"};
        sm_aws_error err = {.http_status = 0};
        sm_s3_list_objects(aws, &req, take_first_page, &f, &err);
        names = f.names;
        sm_backend_cache_put(backend, key, names);
    }
    add_sorted(matches, names, word);
}

/* ---- local paths --------------------------------------------------------- */

static void complete_path(const char *word, json_t *matches)
{
    const char *home = getenv("HOME");
    const char *slash = strrchr(word, '/');
    size_t dir_len = slash ? (size_t)(slash - word) + 1 : 0;
    char dir[4096];
    if (dir_len && strncmp(word, "~/", 2) == 0 && home)
        snprintf(dir, sizeof dir, "%s%.*s", home, (int)dir_len - 1, word + 1);
    else if (dir_len)
        snprintf(dir, sizeof dir, "%.*s", (int)dir_len, word);
    else
        snprintf(dir, sizeof dir, ".");
    const char *base = word + dir_len;
    DIR *d = opendir(dir);
    if (!d)
        return;
    json_t *names = json_array();
    for (struct dirent *e;
         (e = readdir(d)) != NULL && json_array_size(names) < MAX_MATCHES;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            (e->d_name[0] == '.' && base[0] != '.') ||
            strncmp(e->d_name, base, strlen(base)) != 0)
            continue;
        char path[8192], candidate[8192];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        snprintf(candidate, sizeof candidate, "%.*s%s%s", (int)dir_len, word,
                 e->d_name, is_dir ? "/" : "");
        json_array_append_new(names, json_string(candidate));
    }
    closedir(d);
    add_sorted(matches, names, word);
    json_decref(names);
}

/* ---- job and endpoint names ---------------------------------------------- */

static const sm_sagemaker_kind job_kinds[] = {SM_SAGEMAKER_TRAINING_JOB,
                                              SM_SAGEMAKER_TRANSFORM_JOB,
                                              SM_SAGEMAKER_TUNING_JOB};
static const sm_sagemaker_kind endpoint_kinds[] = {SM_SAGEMAKER_ENDPOINT};

/* The newest 100 names of each kind. */
static json_t *names_of(sm_aws *aws, const sm_sagemaker_kind *kinds,
                        size_t count)
{
    json_t *names = json_array();
    for (size_t k = 0; k < count; k++) {
        sm_sagemaker_list_options o = {.sort_by = "CreationTime",
                                       .sort_order = "Descending",
                                       .page_size = 100,
                                       .max_items = 100,
                                       .max_pages = 1};
        sm_sagemaker_listing l = {0};
        sm_aws_error err = {.http_status = 0};
        if (sm_sagemaker_list(aws, kinds[k], &o, &l, &err) == 0)
            for (size_t i = 0; i < l.count; i++)
                json_array_append_new(names, json_string(l.items[i].name));
        sm_sagemaker_listing_clear(&l);
    }
    return names;
}

/* Names of `kinds` starting with `word`, listed once per cache period
 * under `key`. */
static void complete_names(sm_magics *m, const char *key,
                           const sm_sagemaker_kind *kinds, size_t count,
                           const char *word, json_t *matches)
{
    sm_aws *aws = existing_client(m);
    if (!aws)
        return;
    sm_backend *backend = sm_magics_backend(m);
    json_t *names = sm_backend_cache_get(backend, key);
    if (!names) {
        names = names_of(aws, kinds, count);
        sm_backend_cache_put(backend, key, names);
    }
    add_sorted(matches, names, word);
}

/* Nonzero when `word` is the first argument after the magic's name. */
static int first_argument(const char *line, const char *word)
{
    const char *p = line + strspn(line, " \t");
    p += strcspn(p, " \t");
    p += strspn(p, " \t");
    return p == word;
}

/* ---- which completion ---------------------------------------------------- */

/* The word before `word` in `line`, into out[size] ("" at the start). */
static void previous_word(const char *line, const char *word, char *out,
                          size_t size)
{
    const char *end = word;
    while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *start = end;
    while (start > line && start[-1] != ' ' && start[-1] != '\t')
        start--;
    snprintf(out, size, "%.*s", (int)(end - start), start);
}

/* Nonzero when `prev` is a flag of `magic` that takes a value: the word
 * after it is that value, not an argument. */
static int after_value_flag(const sm_magic *magic, const char *prev)
{
    if (strncmp(prev, "--", 2) != 0 || strchr(prev, '='))
        return 0;
    for (const sm_flag *f = magic->flags; f && f->name; f++)
        if (strcmp(f->name, prev + 2) == 0)
            return f->value != NULL;
    return 0;
}

int sm_complete_aws(sm_magics *m, const sm_magic *magic, const char *line,
                    const char *word, json_t *matches)
{
    const char *name = magic->name;
    char prev[256];
    previous_word(line, word, prev, sizeof prev);
    if (after_value_flag(magic, prev))
        return 0;
    if (strncmp(word, "s3://", 5) == 0 &&
        (!strcmp(name, "ls") || !strcmp(name, "download") ||
         !strcmp(name, "upload"))) {
        complete_s3(m, word, matches);
        return 1;
    }
    if (!strcmp(name, "upload") || !strcmp(name, "download") ||
        !strcmp(name, "prepare")) {
        complete_path(word, matches);
        if (!strcmp(name, "download") &&
            strncmp("s3://", word, strlen(word)) == 0)
            json_array_append_new(matches, json_string("s3://"));
        return 1;
    }
    if (!strcmp(name, "ls")) {
        if (strncmp("s3://", word, strlen(word)) == 0)
            json_array_append_new(matches, json_string("s3://"));
        return 1;
    }
    if ((!strcmp(name, "predict") || !strcmp(name, "delete")) &&
        first_argument(line, word)) {
        complete_names(m, "endpoints", endpoint_kinds, 1, word, matches);
        return 1;
    }
    if (!strcmp(name, "status") || !strcmp(name, "logs") ||
        !strcmp(name, "stop") ||
        (!strcmp(name, "deploy") && first_argument(line, word))) {
        complete_names(m, "jobs", job_kinds, 3, word, matches);
        return 1;
    }
    if (!strcmp(name, "api") &&
        (strstr(prev, "%%api") || !strcmp(prev, "%api"))) {
        json_t *names = json_array();
        for (const char *const *s = sm_api_services(); *s; s++)
            json_array_append_new(names, json_string(*s));
        add_sorted(matches, names, word);
        json_decref(names);
        return 1;
    }
    return 0;
}
