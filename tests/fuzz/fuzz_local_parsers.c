/* fuzz_local_parsers: libFuzzer target for what sagemagic-local parses from
 * the network before any signature is checked: the aws-chunked decoder
 * (fed in slices), Range headers, listing tokens, request targets with an
 * Authorization header or a presigned query, bucket and key names. The
 * first input byte picks the parser.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t pick = data[0], arg = data[1];
    char *s = malloc(size - 1);
    memcpy(s, data + 2, size - 2);
    s[size - 2] = '\0';
    size_t n = size - 2;
    switch (pick % 6) {
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
    default:
        sm_s3rules_bucket_invalid(s);
        sm_s3rules_key_invalid(s, n);
    }
    free(s);
    return 0;
}
