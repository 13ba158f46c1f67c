/* fuzz_sigv4: libFuzzer target for the request-text parser and the SigV4
 * signer fed with what it parsed (header form, query form, verification).
 * Build: clang -fsanitize=fuzzer,address,undefined with client/sigv4.c,
 * client/uri.c, client/request_text.c and common/error.c. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "request_text.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sign `r` three ways; the first input byte picks the options. */
static void sign_all(const sm_request_text *r, uint8_t pick)
{
    sm_sigv4_request req = {
        .method = r->method,
        .path = r->path,
        .query = r->query,
        .headers = r->headers,
        .header_count = r->header_count,
        .body = r->body,
        .body_len = r->body_len,
        .region = "us-east-1",
        .service = pick & 1 ? "s3" : "service",
        .credentials = {"AKIDEXAMPLE", "secret", pick & 2 ? "token" : NULL},
        .time = 1440938160,
    };
    req.options = sm_sigv4_options_for(req.service);
    req.options.omit_session_token = (pick & 4) != 0;
    req.payload_hash = pick & 8 ? SM_SIGV4_UNSIGNED_PAYLOAD : NULL;
    sm_sigv4_result res;
    sm_error err = {{0}};
    sm_sigv4_sign(&req, &res, &err);
    sm_sigv4_result_clear(&res);
    sm_error_clear(&err);
    sm_sigv4_presign(&req, &res, &err);
    sm_sigv4_result_clear(&res);
    sm_error_clear(&err);
    sm_sigv4_verify(&req, "host;x-amz-date", "00", &res, &err);
    sm_sigv4_result_clear(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    sm_error err = {{0}};
    sm_request_text *r =
        sm_request_text_parse((const char *)data + 1, size - 1, &err);
    if (r)
        sign_all(r, data[0]);
    sm_request_text_destroy(&r);
    return 0;
}
