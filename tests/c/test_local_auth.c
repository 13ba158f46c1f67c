/* test_local_auth: reading signatures from requests, the clock and key
 * checks, verification, each failure in each protocol's words, and the
 * aws-chunked chunk signatures (the vectors of AWS's S3 streaming
 * example). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http.h"
#include "test.h"

#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DOC_TIME 1369353600 /* 2013-05-24T00:00:00Z */

static const sm_auth_keys doc_keys = {"AKIAIOSFODNN7EXAMPLE", DOC_SECRET};

/* The seed request of the S3 "multiple chunks" example. */
static void doc_request(sm_http_request *req, const char *signature)
{
    *req = (sm_http_request){0};
    req->method = strdup("PUT");
    sm_http_request_set_target(req, "/examplebucket/chunkObject.txt");
    char auth[512];
    snprintf(auth, sizeof auth,
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
             "us-east-1/s3/aws4_request, SignedHeaders=content-encoding;"
             "content-length;host;x-amz-content-sha256;x-amz-date;"
             "x-amz-decoded-content-length;x-amz-storage-class, "
             "Signature=%s",
             signature);
    sm_http_request_add_header(req, "Host", "s3.amazonaws.com");
    sm_http_request_add_header(req, "x-amz-date", "20130524T000000Z");
    sm_http_request_add_header(req, "x-amz-storage-class",
                               "REDUCED_REDUNDANCY");
    sm_http_request_add_header(req, "Authorization", auth);
    sm_http_request_add_header(req, "x-amz-content-sha256",
                               "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    sm_http_request_add_header(req, "Content-Encoding", "aws-chunked");
    sm_http_request_add_header(req, "x-amz-decoded-content-length", "66560");
    sm_http_request_add_header(req, "Content-Length", "66824");
}

#define DOC_SEED                                                               \
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

TEST(local_auth_parse_header)
{
    sm_http_request req;
    doc_request(&req, DOC_SEED);
    sm_auth_info info;
    sm_http_error err = {0};
    CHECK(sm_auth_parse(&req, SM_AUTH_S3, &info, &err) == 0);
    CHECK_STR(info.access_key, "AKIAIOSFODNN7EXAMPLE");
    CHECK_STR(info.region, "us-east-1");
    CHECK_STR(info.service, "s3");
    CHECK_STR(info.scope, "20130524/us-east-1/s3/aws4_request");
    CHECK_STR(info.signature, DOC_SEED);
    CHECK(info.time == DOC_TIME);
    CHECK(!info.presigned);
    sm_http_request_clear(&req);
}

TEST(local_auth_verify_and_check)
{
    sm_http_request req;
    doc_request(&req, DOC_SEED);
    sm_auth_info info;
    sm_http_error err = {0};
    CHECK(sm_auth_parse(&req, SM_AUTH_S3, &info, &err) == 0);
    CHECK(sm_auth_check(&doc_keys, &info, DOC_TIME + 899, SM_AUTH_S3, &err) ==
          0);
    CHECK(sm_auth_verify(&doc_keys, &req, &info,
                         "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", SM_AUTH_S3,
                         &err) == 0);
    /* Another secret: S3's SignatureDoesNotMatch with the string to sign. */
    sm_auth_keys wrong = {"AKIAIOSFODNN7EXAMPLE", "not the secret"};
    CHECK(sm_auth_verify(&wrong, &req, &info,
                         "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", SM_AUTH_S3,
                         &err) == -1);
    CHECK(err.status == 403);
    CHECK_STR(err.code, "SignatureDoesNotMatch");
    CHECK(err.extra_count == 4);
    CHECK_STR(err.extra[0].name, "AWSAccessKeyId");
    CHECK(strstr(err.extra[1].value, "AWS4-HMAC-SHA256\n20130524T000000Z\n"));
    /* The same request with another payload hash (a tampered body). */
    sm_http_error err2 = {0};
    CHECK(sm_auth_verify(&doc_keys, &req, &info, "UNSIGNED-PAYLOAD",
                         SM_AUTH_JSON, &err2) == -1);
    CHECK_STR(err2.code, "InvalidSignatureException");
    sm_http_request_clear(&req);
}

TEST(local_auth_clock_and_keys)
{
    sm_http_request req;
    doc_request(&req, DOC_SEED);
    sm_auth_info info;
    sm_http_error err = {0};
    CHECK(sm_auth_parse(&req, SM_AUTH_S3, &info, &err) == 0);
    CHECK(sm_auth_check(&doc_keys, &info, DOC_TIME + 901, SM_AUTH_S3, &err) ==
          -1);
    CHECK_STR(err.code, "RequestTimeTooSkewed");
    CHECK(err.status == 403);
    CHECK_STR(err.extra[2].value, "900000");
    sm_http_error e2 = {0};
    CHECK(sm_auth_check(&doc_keys, &info, DOC_TIME - 901, SM_AUTH_JSON, &e2) ==
          -1);
    CHECK_STR(e2.code, "InvalidSignatureException");
    CHECK(strstr(e2.message, "Signature not yet current"));
    sm_http_error e3 = {0};
    sm_auth_keys other = {"SMLOCALOTHER", "x"};
    CHECK(sm_auth_check(&other, &info, DOC_TIME, SM_AUTH_S3, &e3) == -1);
    CHECK_STR(e3.code, "InvalidAccessKeyId");
    sm_http_error e4 = {0};
    CHECK(sm_auth_check(&other, &info, DOC_TIME, SM_AUTH_QUERY, &e4) == -1);
    CHECK_STR(e4.code, "InvalidClientTokenId");
    sm_http_error e5 = {0};
    CHECK(sm_auth_check(&other, &info, DOC_TIME, SM_AUTH_JSON, &e5) == -1);
    CHECK_STR(e5.code, "UnrecognizedClientException");
    sm_http_request_clear(&req);
}

static int parse_fails(const char *authorization, const char *date,
                       sm_auth_protocol protocol, const char *code)
{
    sm_http_request req = {0};
    req.method = strdup("GET");
    sm_http_request_set_target(&req, "/");
    sm_http_request_add_header(&req, "Host", "localhost");
    if (date)
        sm_http_request_add_header(&req, "X-Amz-Date", date);
    if (authorization)
        sm_http_request_add_header(&req, "Authorization", authorization);
    sm_auth_info info;
    sm_http_error err = {0};
    int rc = sm_auth_parse(&req, protocol, &info, &err);
    sm_http_request_clear(&req);
    if (rc != -1 || strcmp(err.code, code) != 0) {
        printf("    %s -> %s\n", authorization ? authorization : "(none)",
               err.code);
        return 0;
    }
    return 1;
}

#define GOOD_SIG                                                               \
    "0000000000000000000000000000000000000000000000000000000000000000"

TEST(local_auth_parse_failures)
{
    const char *date = "20130524T000000Z";
    CHECK(parse_fails(NULL, date, SM_AUTH_S3, "AccessDenied"));
    CHECK(parse_fails(NULL, date, SM_AUTH_QUERY, "MissingAuthenticationToken"));
    CHECK(parse_fails(NULL, date, SM_AUTH_JSON,
                      "MissingAuthenticationTokenException"));
    CHECK(parse_fails("AWS AKID:c2lnbmF0dXJl", date, SM_AUTH_S3,
                      "InvalidRequest"));
    CHECK(parse_fails("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/"
                      "aws4_request, SignedHeaders=host",
                      date, SM_AUTH_S3, "AuthorizationHeaderMalformed"));
    CHECK(parse_fails("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3, "
                      "SignedHeaders=host, Signature=" GOOD_SIG,
                      date, SM_AUTH_S3, "AuthorizationHeaderMalformed"));
    CHECK(parse_fails("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/"
                      "aws4_request, SignedHeaders=host, Signature=xyz",
                      date, SM_AUTH_JSON, "IncompleteSignatureException"));
    CHECK(parse_fails("AWS4-HMAC-SHA256 Credential=AK/20130525/us-east-1/s3/"
                      "aws4_request, SignedHeaders=host, Signature=" GOOD_SIG,
                      date, SM_AUTH_S3, "AuthorizationHeaderMalformed"));
    CHECK(parse_fails("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/"
                      "aws4_request, SignedHeaders=host, Signature=" GOOD_SIG,
                      NULL, SM_AUTH_S3, "AccessDenied"));
    CHECK(parse_fails("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/"
                      "aws4_request, SignedHeaders=host, Signature=" GOOD_SIG,
                      "yesterday", SM_AUTH_QUERY, "IncompleteSignature"));
}

TEST(local_auth_presigned)
{
    sm_http_request req = {0};
    req.method = strdup("GET");
    sm_http_request_set_target(
        &req, "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F"
              "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
              "20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
              "&X-Amz-Signature=" GOOD_SIG);
    sm_auth_info info;
    sm_http_error err = {0};
    CHECK(sm_auth_parse(&req, SM_AUTH_S3, &info, &err) == 0);
    CHECK(info.presigned);
    CHECK(info.expires == 86400);
    sm_auth_keys keys = {"AK", "secret"};
    CHECK(sm_auth_check(&keys, &info, DOC_TIME + 86400, SM_AUTH_S3, &err) == 0);
    CHECK(sm_auth_check(&keys, &info, DOC_TIME + 86401, SM_AUTH_S3, &err) ==
          -1);
    CHECK_STR(err.code, "AccessDenied");
    CHECK_STR(err.message, "Request has expired");
    sm_http_request_clear(&req);
    /* A week at most, and every parameter present. */
    sm_http_request bad = {0};
    bad.method = strdup("GET");
    sm_http_request_set_target(
        &bad, "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F"
              "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
              "20130524T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host"
              "&X-Amz-Signature=" GOOD_SIG);
    sm_http_error e2 = {0};
    CHECK(sm_auth_parse(&bad, SM_AUTH_S3, &info, &e2) == -1);
    CHECK_STR(e2.code, "AuthorizationQueryParametersError");
    sm_http_request_clear(&bad);
}

TEST(local_auth_chunk_signatures)
{
    sm_http_request req;
    doc_request(&req, DOC_SEED);
    sm_auth_info info;
    sm_http_error err = {0};
    CHECK(sm_auth_parse(&req, SM_AUTH_S3, &info, &err) == 0);
    unsigned char key[32];
    CHECK(sm_auth_signing_key(&doc_keys, &info, key) == 0);
    /* SHA-256 of 65,536 'a's, of 1,024 'a's, and of nothing. */
    const char *hashes[] = {
        "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a",
        "2edc986847e209b4016e141a6dc8716d3207350f416969382d431539bf292e4a",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    };
    const char *want[] = {
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    };
    char previous[65] = DOC_SEED, sig[65];
    for (int i = 0; i < 3; i++) {
        CHECK(sm_auth_chunk_signature(key, &info, previous, hashes[i], sig) ==
              0);
        CHECK_STR(sig, want[i]);
        memcpy(previous, sig, sizeof sig);
    }
    sm_http_request_clear(&req);
}

TEST(local_auth_payload_hash_values)
{
    CHECK(sm_auth_payload_hash_valid("UNSIGNED-PAYLOAD"));
    CHECK(sm_auth_payload_hash_valid("STREAMING-UNSIGNED-PAYLOAD-TRAILER"));
    CHECK(sm_auth_payload_hash_valid(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!sm_auth_payload_hash_valid(
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    CHECK(!sm_auth_payload_hash_valid("abc"));
    CHECK(!sm_auth_payload_hash_valid(NULL));
}
