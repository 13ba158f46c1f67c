/* fuzz_local_parsers: libFuzzer target for what sagemagic-local parses from
 * the network before any signature is checked: the aws-chunked decoder
 * (fed in slices), Range headers, copy sources and copy ranges, listing
 * tokens, request targets with an Authorization header or a presigned
 * query, bucket and key names, batch transform's DataProcessing filters
 * over records. The first input byte picks the parser.
 * Build: clang -fsanitize=fuzzer,address,undefined -Icommon -Iclient
 * -Ilocal with local/{auth,chunked,checksum,http,s3rules,store,db,xmlw}.c,
 * client/{sigv4,uri}.c, common/{buf,error,log,utf8}.c and -lsqlite3
 * -lcrypto -lsodium -lpthread. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "chunked.h"
#include "dataproc.h"
#include "http.h"
#include "s3rules.h"
#include "xmlw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink_data(void *ctx, const char *d, size_t n, sm_error *e)
{
    *(size_t *)ctx += n;
    return 0;
}

static void fuzz_chunked(const char *s, size_t n, uint8_t step)
{
    size_t decoded = 0;
    sm_chunked_sink sink = {sink_data, NULL, NULL, &decoded};
    sm_chunked *d = sm_chunked_new(&sink);
    sm_error err = {0};
    size_t slice = step ? step : n;
    for (size_t i = 0; i < n; i += slice) {
        size_t len = slice < n - i ? slice : n - i;
        if (sm_chunked_feed(d, s + i, len, &err))
            break;
    }
    sm_chunked_finish(d, &err);
    sm_chunked_destroy(&d);
}

/* Line 1 is the target; the others are "Name: value" headers. */
static void fuzz_request(char *text)
{
    sm_http_request req = {0};
    req.method = strdup("GET");
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line || sm_http_request_set_target(&req, line))
        goto out;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            sm_http_request_add_header(&req, line, colon + 1);
        }
    }
    sm_auth_info info;
    sm_http_error err = {0};
    if (sm_auth_parse(&req, SM_AUTH_S3, &info, &err) == 0) {
        sm_auth_keys keys = {info.access_key, "secret"};
        sm_http_error e2 = {0};
        if (sm_auth_check(&keys, &info, info.time, SM_AUTH_JSON, &e2) == 0)
            sm_auth_verify(&keys, &req, &info, "UNSIGNED-PAYLOAD",
                           SM_AUTH_QUERY, &e2);
    }
out:
    sm_http_request_clear(&req);
}

/* Line 1 is a filter for both sides; the rest is records, then after a
 * '|' the model's answer. */
static void fuzz_dataproc(char *text, size_t n, uint8_t join)
{
    char *nl = memchr(text, '\n', n);
    if (!nl)
        return;
    *nl = '\0';
    char *records = nl + 1;
    size_t rest = n - (size_t)(records - text);
    char *bar = memchr(records, '|', rest);
    size_t records_len = bar ? (size_t)(bar - records) : rest;
    const char *answer = bar ? bar + 1 : "";
    size_t answer_len = bar ? rest - records_len - 1 : 0;
    sm_dataproc dp = {.join = join & 1};
    char why[256];
    if (sm_dataproc_parse(text, &dp.input, why, sizeof why) ||
        sm_dataproc_parse(text, &dp.output, why, sizeof why))
        return;
    sm_buf b = {0};
    sm_dataproc_input(&dp, records, records_len, &b, why, sizeof why);
    b.len = 0;
    sm_dataproc_output(&dp, records, records_len, answer, answer_len, &b, why,
                       sizeof why);
    sm_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t pick = data[0], arg = data[1];
    char *s = malloc(size - 1);
    memcpy(s, data + 2, size - 2);
    s[size - 2] = '\0';
    size_t n = size - 2;
    switch (pick % 8) {
    case 0:
        fuzz_chunked(s, n, arg);
        break;
    case 1:
        sm_s3rules_range(s, (uint64_t)arg * 1000);
        break;
    case 2: {
        char *marker = NULL;
        int is_prefix;
        if (sm_s3rules_token_decode(s, &marker, &is_prefix) == 0)
            free(marker);
        break;
    }
    case 3:
        fuzz_request(s);
        break;
    case 4: {
        sm_buf b = {0};
        sm_xmlw_escape(&b, s, n);
        sm_buf_free(&b);
        break;
    }
    case 5:
        fuzz_dataproc(s, n, arg);
        break;
    case 6: {
        sm_s3_copy_source src;
        const char *why = NULL;
        if (sm_s3rules_copy_source(s, &src, &why) == 0)
            sm_s3rules_copy_source_clear(&src);
        sm_s3rules_copy_range(s, (uint64_t)arg << 30);
        break;
    }
    default:
        sm_s3rules_bucket_invalid(s);
        sm_s3rules_key_invalid(s, n);
    }
    free(s);
    return 0;
}
