/* fuzz_aws_parsers: libFuzzer target for the parsers that read what comes
 * from outside the process: XML responses, INI files, error responses of
 * every protocol, credential_process command lines and AWS timestamps. The
 * first byte picks one. Build: clang -fsanitize=fuzzer,address,undefined
 * with client/ (all but cli.c) and common/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws_error.h"
#include "awstime.h"
#include "credential_process.h"
#include "ini.h"
#include "xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk the whole tree so every node is touched. */
static size_t walk(const sm_xml_node *n, int depth)
{
    size_t count = 0;
    for (; n; n = sm_xml_next_sibling(n)) {
        count += strlen(sm_xml_text(n)) + strlen(sm_xml_name(n));
        count += walk(sm_xml_first_child(n), depth + 1);
        (void)sm_xml_next(n);
    }
    return count;
}

static void fuzz_xml(const char *s, size_t n)
{
    sm_error err = {{0}};
    sm_xml_node *root = sm_xml_parse(s, n, &err);
    if (root) {
        walk(root, 0);
        (void)sm_xml_path(root, "Error/Code");
    }
    sm_xml_free(&root);
}

static void fuzz_ini(const char *s, size_t n)
{
    sm_ini *ini = sm_ini_parse(s, n);
    (void)sm_ini_get(ini, "default", "region");
    (void)sm_ini_get(ini, "profile x", "s3.max_concurrent_requests");
    sm_ini_destroy(&ini);
}

static void fuzz_errors(const char *s, size_t n, uint8_t pick)
{
    static const sm_aws_protocol protos[] = {
        SM_AWS_PROTOCOL_JSON, SM_AWS_PROTOCOL_REST_JSON,
        SM_AWS_PROTOCOL_REST_XML, SM_AWS_PROTOCOL_QUERY};
    sm_aws_header h[] = {{"x-amzn-ErrorType", s}};
    sm_aws_response resp = {.status = 400 + pick % 200,
                            .headers = h,
                            .header_count = pick & 4 ? 1 : 0,
                            .body = (char *)s,
                            .body_len = n};
    sm_aws_error err;
    char out[2048];
    memset(&err, 0, sizeof err);
    sm_aws_error_from_response(protos[pick % 4], &resp, &err);
    sm_aws_error_format(&err, out, sizeof out);
}

static void fuzz_strings(const char *s)
{
    sm_error err = {{0}};
    time_t t;
    char **argv = sm_process_split(s, &err);
    sm_process_argv_free(&argv);
    (void)sm_awstime_parse_iso8601(s, &t);
    (void)sm_awstime_parse_http(s, &t);
    char *esc = sm_xml_escape(s);
    free(esc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t pick = data[0];
    size_t n = size - 1;
    char *s = malloc(n + 1); /* exact size plus a NUL for the C strings */
    if (!s)
        return 0;
    memcpy(s, data + 1, n);
    s[n] = '\0';
    switch (pick % 4) {
    case 0:
        fuzz_xml(s, n);
        break;
    case 1:
        fuzz_ini(s, n);
        break;
    case 2:
        fuzz_errors(s, n, pick >> 2);
        break;
    default:
        fuzz_strings(s);
        break;
    }
    free(s);
    return 0;
}
