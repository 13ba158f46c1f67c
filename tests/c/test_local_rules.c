/* test_local_rules: S3's naming, ETag, range and token rules (local/
 * s3rules), the XML writer's escaping, and the CRC vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "checksum.h"
#include "crc.h"
#include "s3rules.h"
#include "test.h"
#include "xmlw.h"

TEST(local_bucket_names_valid)
{
    const char *ok[] = {"abc",
                        "my-bucket",
                        "my.bucket.name",
                        "a1b2c3",
                        "sagemaker-us-east-1-000000000000",
                        "123",
                        "a-----b",
                        "xn-ok"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        CHECK(sm_s3rules_bucket_invalid(ok[i]) == NULL);
    char longest[64];
    memset(longest, 'a', 63);
    longest[63] = '\0';
    CHECK(sm_s3rules_bucket_invalid(longest) == NULL);
}

TEST(local_bucket_names_invalid)
{
    const char *bad[] = {"",
                         "ab",
                         "MyBucket",
                         "my_bucket",
                         "-abc",
                         "abc-",
                         ".abc",
                         "abc.",
                         "a..b",
                         "192.168.5.4",
                         "xn--abc",
                         "sthree-abc",
                         "amzn-s3-demo-x",
                         "abc-s3alias",
                         "abc--ol-s3",
                         "abc.mrap",
                         "abc--x-s3",
                         "abc--table-s3",
                         "a b c",
                         "abc/def"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (!sm_s3rules_bucket_invalid(bad[i]))
            printf("    accepted: '%s'\n", bad[i]);
        CHECK(sm_s3rules_bucket_invalid(bad[i]) != NULL);
    }
    char too_long[65];
    memset(too_long, 'a', 64);
    too_long[64] = '\0';
    CHECK(sm_s3rules_bucket_invalid(too_long) != NULL);
    /* Looks like an address only with four groups of 1-3 digits. */
    CHECK(sm_s3rules_bucket_invalid("1.2.3") == NULL);
    CHECK(sm_s3rules_bucket_invalid("1.2.3.4.5") == NULL);
}

TEST(local_key_rules)
{
    char key[1026];
    memset(key, 'k', sizeof key);
    CHECK(sm_s3rules_key_invalid(key, 1024) == NULL);
    CHECK(sm_s3rules_key_invalid(key, 1025) != NULL);
    CHECK(sm_s3rules_key_invalid("", 0) != NULL);
    CHECK(sm_s3rules_key_invalid("a\0b", 3) != NULL);
    CHECK(sm_s3rules_key_invalid("\xff", 1) != NULL);
    CHECK(sm_s3rules_key_invalid("../../etc/passwd", 16) == NULL);
    CHECK(sm_s3rules_key_invalid("d\xc3\xa9j\xc3\xa0 vu", 9) == NULL);
}

TEST(local_etag_single_and_multipart)
{
    /* MD5("") and MD5("abc") */
    const unsigned char empty[16] = {0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00,
                                     0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98,
                                     0xec, 0xf8, 0x42, 0x7e};
    char etag[48];
    sm_s3rules_etag(empty, etag);
    CHECK_STR(etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
    /* Two parts with the digests of "" and "": MD5 of the 32 bytes
     * (python: md5(md5(b"").digest() * 2)). */
    unsigned char parts[2][16];
    memcpy(parts[0], empty, 16);
    memcpy(parts[1], empty, 16);
    CHECK(sm_s3rules_multipart_etag((const unsigned char(*)[16])parts, 2,
                                    etag) == 0);
    CHECK_STR(etag, "\"5873dd45edd01f09c1ef2e7819369e8e-2\"");
}

TEST(local_etag_bare)
{
    char out[64];
    CHECK(sm_s3rules_etag_bare("\"abc\"", out, sizeof out) == 0);
    CHECK_STR(out, "abc");
    CHECK(sm_s3rules_etag_bare("abc", out, sizeof out) == 0);
    CHECK_STR(out, "abc");
    CHECK(sm_s3rules_etag_bare("W/\"abc\"", out, sizeof out) == 0);
    CHECK_STR(out, "abc");
    CHECK(sm_s3rules_etag_bare("\"abcdef\"", out, 4) == -1);
}

static int range_is(const char *h, uint64_t size, sm_s3_range_kind kind,
                    uint64_t first, uint64_t last)
{
    sm_s3_range r = sm_s3rules_range(h, size);
    if (r.kind != kind)
        return 0;
    return kind != SM_S3_RANGE_OK || (r.first == first && r.last == last);
}

TEST(local_ranges)
{
    CHECK(range_is(NULL, 10, SM_S3_RANGE_NONE, 0, 0));
    CHECK(range_is("bytes=0-4", 10, SM_S3_RANGE_OK, 0, 4));
    CHECK(range_is("bytes=5-", 10, SM_S3_RANGE_OK, 5, 9));
    CHECK(range_is("bytes=-3", 10, SM_S3_RANGE_OK, 7, 9));
    CHECK(range_is("bytes=-30", 10, SM_S3_RANGE_OK, 0, 9));
    CHECK(range_is("bytes=8-100", 10, SM_S3_RANGE_OK, 8, 9));
    CHECK(range_is("bytes=9-9", 10, SM_S3_RANGE_OK, 9, 9));
    CHECK(range_is("bytes=10-", 10, SM_S3_RANGE_UNSATISFIABLE, 0, 0));
    CHECK(range_is("bytes=10-20", 10, SM_S3_RANGE_UNSATISFIABLE, 0, 0));
    CHECK(range_is("bytes=-0", 10, SM_S3_RANGE_UNSATISFIABLE, 0, 0));
    CHECK(range_is("bytes=0-", 0, SM_S3_RANGE_UNSATISFIABLE, 0, 0));
    /* Malformed or several ranges: the whole object, as S3 answers. */
    CHECK(range_is("bytes=5-2", 10, SM_S3_RANGE_NONE, 0, 0));
    CHECK(range_is("bytes=0-1,4-5", 10, SM_S3_RANGE_NONE, 0, 0));
    CHECK(range_is("items=0-1", 10, SM_S3_RANGE_NONE, 0, 0));
    CHECK(range_is("bytes=a-b", 10, SM_S3_RANGE_NONE, 0, 0));
    CHECK(range_is("bytes=99999999999999999999-", 10, SM_S3_RANGE_NONE, 0, 0));
}

/* x-amz-copy-source read as bucket, key (length too) and version. */
static int source_is(const char *header, const char *bucket, const char *key,
                     size_t key_len, const char *version)
{
    sm_s3_copy_source src;
    const char *why = "unset";
    int ok = sm_s3rules_copy_source(header, &src, &why) == 0 &&
             strcmp(src.bucket, bucket) == 0 && src.key_len == key_len &&
             memcmp(src.key, key, key_len) == 0 && src.key[key_len] == '\0' &&
             (version ? src.version_id && strcmp(src.version_id, version) == 0
                      : src.version_id == NULL);
    if (!ok)
        printf("    %s: %s\n", header, why ? why : "(parsed otherwise)");
    sm_s3rules_copy_source_clear(&src);
    return ok;
}

static int source_refused(const char *header, const char *sentence)
{
    sm_s3_copy_source src;
    const char *why = NULL;
    int rc = sm_s3rules_copy_source(header, &src, &why);
    int ok = rc == -1 && why && strcmp(why, sentence) == 0 && !src.bucket &&
             !src.key && !src.version_id;
    if (!ok)
        printf("    %s: rc %d, %s\n", header ? header : "(null)", rc,
               why ? why : "(no sentence)");
    sm_s3rules_copy_source_clear(&src);
    return ok;
}

TEST(local_copy_source)
{
    CHECK(source_is("src/key.txt", "src", "key.txt", 7, NULL));
    CHECK(source_is("/src/key.txt", "src", "key.txt", 7, NULL));
    CHECK(source_is("src/dir/sub/", "src", "dir/sub/", 8, NULL));
    /* %-escapes are undone; '+' stays '+'; a %2F is a slash of the key. */
    CHECK(source_is("my.bucket/a%20b+c%2Fd", "my.bucket", "a b+c/d", 7, NULL));
    CHECK(source_is("src/d%C3%A9j%C3%A0/..%3F/x", "src",
                    "d\xc3\xa9j\xc3\xa0/..?/x", 12, NULL));
    CHECK(source_is("src/..", "src", "..", 2, NULL));
    CHECK(source_is("src//lead", "src", "/lead", 5, NULL));
    CHECK(source_is("src/k?versionId=null", "src", "k", 1, "null"));
    CHECK(source_is("/src/k?versionId=a%2Bb", "src", "k", 1, "a+b"));
}

TEST(local_copy_source_refused)
{
    const char *bucket = "Invalid copy source bucket name";
    const char *key = "Invalid copy source object key";
    const char *encoding = "Invalid copy source encoding";
    CHECK(source_refused(NULL, bucket));
    CHECK(source_refused("", bucket));
    CHECK(source_refused("/", bucket));
    CHECK(source_refused("/key-only", key));
    CHECK(source_refused("Bad_Bucket/k", bucket));
    CHECK(source_refused("ab/k", bucket));
    CHECK(source_refused("src%00x/k", bucket));
    CHECK(source_refused("src", key));
    CHECK(source_refused("src/", key));
    CHECK(source_refused("src/?versionId=1", key));
    CHECK(source_refused("src/a%00b", key));
    CHECK(source_refused("src/%FF%FE", key));
    CHECK(source_refused("src/a%2", encoding));
    CHECK(source_refused("src/a%zzb", encoding));
    CHECK(source_refused("src/k?versionId=%x", encoding));
    CHECK(source_refused("src/k?partNumber=1",
                         "The copy source may carry no parameter but "
                         "versionId"));
    char longest[1100];
    snprintf(longest, sizeof longest, "src/%01025d", 0);
    CHECK(source_refused(longest, key));
    longest[4 + 1024] = '\0';
    CHECK(source_is(longest, "src", longest + 4, 1024, NULL));
}

static int copy_range_is(const char *h, uint64_t size,
                         sm_s3_copy_range_kind kind, uint64_t first,
                         uint64_t length)
{
    sm_s3_copy_range r = sm_s3rules_copy_range(h, size);
    if (r.kind != kind)
        return 0;
    return kind != SM_S3_COPY_RANGE_OK ||
           (r.first == first && r.length == length);
}

TEST(local_copy_ranges)
{
    const uint64_t max = 5ull << 30;
    CHECK(copy_range_is(NULL, 10, SM_S3_COPY_RANGE_OK, 0, 10));
    CHECK(copy_range_is(NULL, 0, SM_S3_COPY_RANGE_OK, 0, 0));
    CHECK(copy_range_is(NULL, max, SM_S3_COPY_RANGE_OK, 0, max));
    CHECK(copy_range_is(NULL, max + 1, SM_S3_COPY_RANGE_TOO_LARGE, 0, 0));
    CHECK(copy_range_is("bytes=0-9", 10, SM_S3_COPY_RANGE_OK, 0, 10));
    CHECK(copy_range_is("bytes=3-3", 10, SM_S3_COPY_RANGE_OK, 3, 1));
    CHECK(copy_range_is("bytes=0-5368709119", 6ull << 30, SM_S3_COPY_RANGE_OK,
                        0, max));
    CHECK(copy_range_is("bytes=0-5368709120", 6ull << 30,
                        SM_S3_COPY_RANGE_TOO_LARGE, 0, 0));
    /* Past the end, or backwards: the range is not in the source. */
    CHECK(copy_range_is("bytes=0-10", 10, SM_S3_COPY_RANGE_OUTSIDE, 0, 0));
    CHECK(copy_range_is("bytes=10-10", 10, SM_S3_COPY_RANGE_OUTSIDE, 0, 0));
    CHECK(copy_range_is("bytes=5-4", 10, SM_S3_COPY_RANGE_OUTSIDE, 0, 0));
    CHECK(copy_range_is("bytes=0-0", 0, SM_S3_COPY_RANGE_OUTSIDE, 0, 0));
    /* Only bytes=first-last: what Range forgives is refused here. */
    const char *malformed[] = {"",
                               "bytes=",
                               "bytes=5-",
                               "bytes=-5",
                               "bytes=0-1,3-4",
                               "bytes = 0-1",
                               "bytes=0 -1",
                               "bytes=0-1 ",
                               "Bytes=0-1",
                               "items=0-1",
                               "bytes=a-b",
                               "bytes=+1-2",
                               "bytes=99999999999999999999-1",
                               "0-1"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++)
        CHECK(
            copy_range_is(malformed[i], 10, SM_S3_COPY_RANGE_MALFORMED, 0, 0));
}

TEST(local_tokens_round_trip)
{
    const char *markers[] = {"a", "dir/", "d\xc3\xa9j\xc3\xa0/../x y+z"};
    for (size_t i = 0; i < 3; i++) {
        for (int prefix = 0; prefix < 2; prefix++) {
            char *token =
                sm_s3rules_token_encode(markers[i], strlen(markers[i]), prefix);
            char *back = NULL;
            int is_prefix = -1;
            CHECK(token != NULL);
            CHECK(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                "qrstuvwxyz0123456789-_") == strlen(token));
            CHECK(sm_s3rules_token_decode(token, &back, &is_prefix) == 0);
            CHECK_STR(back, markers[i]);
            CHECK(is_prefix == prefix);
            free(token);
            free(back);
        }
    }
    char *back = NULL;
    int is_prefix;
    CHECK(sm_s3rules_token_decode("not a token!", &back, &is_prefix) == -1);
    CHECK(sm_s3rules_token_decode("", &back, &is_prefix) == -1);
    CHECK(sm_s3rules_token_decode("eGFiYw", &back, &is_prefix) == -1);
}

TEST(local_times)
{
    char iso[32], http[40];
    sm_s3rules_time_iso(1255369830123LL, iso);
    CHECK_STR(iso, "2009-10-12T17:50:30.123Z");
    sm_s3rules_time_http(1255369830123LL, http);
    CHECK_STR(http, "Mon, 12 Oct 2009 17:50:30 GMT");
    CHECK(sm_s3rules_time_parse_http(http) == 1255369830);
    CHECK(sm_s3rules_time_parse_http("yesterday") == -1);
}

TEST(local_xml_escape)
{
    sm_buf b = {0};
    CHECK(sm_xmlw_escape(&b, "a<b>&\"c'\r\x01\x7f\tz\n", 14) == 0);
    CHECK_STR(sm_buf_str(&b), "a&lt;b&gt;&amp;&quot;c&apos;&#xD;&#x1;&#x7F;"
                              "\tz\n");
    sm_buf_free(&b);
    CHECK(sm_xmlw_escape(&b, "d\xc3\xa9j\xc3\xa0", 6) == 0);
    CHECK_STR(sm_buf_str(&b), "d\xc3\xa9j\xc3\xa0");
    sm_buf_free(&b);
}

TEST(local_xml_document)
{
    sm_buf b = {0};
    sm_xmlw w;
    sm_xmlw_begin(&w, &b, "Root", "urn:x");
    sm_xmlw_open(&w, "A");
    sm_xmlw_text(&w, "Key", "x&y");
    sm_xmlw_text(&w, "Skipped", NULL);
    sm_xmlw_textf(&w, "N", "%d", 42);
    sm_xmlw_close(&w, "A");
    CHECK(sm_xmlw_finish(&w, "Root") == 0);
    CHECK_STR(sm_buf_str(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<Root xmlns=\"urn:x\"><A><Key>x&amp;y</Key>"
                              "<N>42</N></A></Root>");
    sm_buf_free(&b);
}

TEST(local_checksum_vectors)
{
    CHECK(sm_crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK(sm_crc32c(0, "123456789", 9) == 0xE3069283u);
    /* RFC 3720's iSCSI vectors: 32 zeros, 32 0xFF, 0..31. */
    unsigned char block[32];
    memset(block, 0, 32);
    CHECK(sm_crc32c(0, block, 32) == 0x8A9136AAu);
    memset(block, 0xff, 32);
    CHECK(sm_crc32c(0, block, 32) == 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        block[i] = (unsigned char)i;
    CHECK(sm_crc32c(0, block, 32) == 0x46DD794Eu);
    CHECK(sm_crc32c(sm_crc32c(0, block, 13), block + 13, 19) == 0x46DD794Eu);
    /* Chaining equals one pass, across the 8-byte stride. */
    const char *text = "The quick brown fox jumps over the lazy dog";
    uint32_t c = sm_crc32(0, text, 5);
    c = sm_crc32(c, text + 5, strlen(text) - 5);
    CHECK(c == sm_crc32(0, text, strlen(text)));
    char out[SM_CHECKSUM_B64_MAX];
    sm_checksum *sum = sm_checksum_new(SM_CHECKSUM_CRC32);
    sm_checksum_update(sum, "hello world", 11);
    CHECK(sm_checksum_final(sum, out) == 0);
    CHECK_STR(out, "DUoRhQ=="); /* what botocore sent for "hello world" */
    sm_checksum_destroy(&sum);
    sum = sm_checksum_new(SM_CHECKSUM_SHA256);
    CHECK(sm_checksum_final(sum, out) == 0);
    CHECK_STR(out, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    sm_checksum_destroy(&sum);
    CHECK(sm_checksum_from_header("X-Amz-Checksum-CRC32C") ==
          SM_CHECKSUM_CRC32C);
    CHECK(sm_checksum_from_name("sha1") == SM_CHECKSUM_SHA1);
    CHECK(sm_checksum_from_header("x-amz-checksum-md5") == SM_CHECKSUM_NONE);
    CHECK(sm_checksum_new(SM_CHECKSUM_NONE) == NULL);
}
