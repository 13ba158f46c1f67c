/* test_s3: S3 names, part planning, request bodies and response parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3.h"
#include "s3_private.h"
#include "test.h"
#include "xml.h"

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define TIB ((uint64_t)1 << 40)

/* ---- URIs and names ----------------------------------------------------- */

TEST(s3_uri_parse_splits_bucket_and_key)
{
    sm_s3_uri u;
    sm_error err = {{0}};
    CHECK(sm_s3_uri_parse("s3://my-bucket/data/train.csv", &u, &err) == 0);
    CHECK_STR(u.bucket, "my-bucket");
    CHECK_STR(u.key, "data/train.csv");
    CHECK(sm_s3_uri_parse("s3://my.bucket.1", &u, &err) == 0);
    CHECK_STR(u.bucket, "my.bucket.1");
    CHECK_STR(u.key, "");
    CHECK(sm_s3_uri_parse("s3://abc/", &u, &err) == 0);
    CHECK_STR(u.key, "");
    CHECK(sm_s3_uri_parse("s3://abc/a//b/ c+d/\xc3\xa9", &u, &err) == 0);
    CHECK_STR(u.key, "a//b/ c+d/\xc3\xa9");
    CHECK_STR(err.message, "");
}

/* Each bad URI fails with a message holding `why`. */
static int uri_fails(const char *uri, const char *why)
{
    sm_s3_uri u;
    sm_error err = {{0}};
    if (sm_s3_uri_parse(uri, &u, &err) != -1)
        return 0;
    if (!strstr(err.message, why)) {
        printf("    %s: %s\n", uri, err.message);
        return 0;
    }
    return 1;
}

TEST(s3_uri_parse_rejects_bad_uris)
{
    CHECK(uri_fails("http://bucket/key", "not an S3 URI"));
    CHECK(uri_fails("bucket/key", "not an S3 URI"));
    CHECK(uri_fails("s3:/bucket/key", "not an S3 URI"));
    CHECK(uri_fails("s3://", "names no bucket"));
    CHECK(uri_fails("s3:///key", "names no bucket"));
    CHECK(uri_fails("s3://ab/key", "3 to 63"));
    CHECK(uri_fails("s3://My-Bucket/key", "lower-case"));
    CHECK(uri_fails("s3://my_bucket/key", "lower-case"));
    CHECK(uri_fails("s3://-bucket/key", "begin and end"));
    CHECK(uri_fails("s3://bucket-/key", "begin and end"));
    CHECK(uri_fails("s3://my..bucket/key", "'..'"));
    CHECK(uri_fails("s3://192.168.5.4/key", "IP address"));
    CHECK(uri_fails("s3://xn--bucket/key", "xn--"));
    CHECK(uri_fails("s3://sthree-bucket/key", "sthree-"));
    CHECK(uri_fails("s3://bucket-s3alias/key", "-s3alias"));
    CHECK(uri_fails("s3://bucket--ol-s3/key", "--ol-s3"));
    CHECK(uri_fails("s3://bucket/\xff\xfe", "UTF-8"));
    char long_bucket[80] = "s3://";
    memset(long_bucket + 5, 'a', 64);
    CHECK(uri_fails(long_bucket, "over 63"));
    char *long_key = malloc(2000);
    CHECK(long_key);
    strcpy(long_key, "s3://bucket/");
    memset(long_key + 12, 'k', 1025);
    long_key[12 + 1025] = '\0';
    int ok = uri_fails(long_key, "1,024");
    long_key[12 + 1024] = '\0'; /* exactly 1,024 bytes is fine */
    sm_s3_uri u;
    int fits = sm_s3_uri_parse(long_key, &u, NULL) == 0;
    free(long_key);
    CHECK(ok);
    CHECK(fits);
}

TEST(s3_bucket_names_that_pass)
{
    const char *good[] = {"abc",
                          "my-bucket",
                          "my.bucket",
                          "1bucket",
                          "sagemaker-us-east-1-123456789012",
                          "a1.b2-c3",
                          "192.168.5",
                          "xn-bucket"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(sm_s3_bucket_name_check(good[i], NULL) == 0);
    char b63[64];
    memset(b63, 'b', 63);
    b63[63] = '\0';
    CHECK(sm_s3_bucket_name_check(b63, NULL) == 0);
    CHECK(sm_s3_bucket_name_check("", NULL) == -1);
    CHECK(sm_s3_bucket_name_check(NULL, NULL) == -1);
}

TEST(s3_path_encodes_the_key_and_keeps_slashes)
{
    char *p = sm_s3_path("my-bucket", "data/a b+c.csv");
    CHECK_STR(p, "/my-bucket/data/a%20b%2Bc.csv");
    free(p);
    p = sm_s3_path("my-bucket", "\xc3\xa9t\xc3\xa9/~x_y-z.1");
    CHECK_STR(p, "/my-bucket/%C3%A9t%C3%A9/~x_y-z.1");
    free(p);
    p = sm_s3_path("my-bucket", NULL);
    CHECK_STR(p, "/my-bucket");
    free(p);
    p = sm_s3_path("my-bucket", "");
    CHECK_STR(p, "/my-bucket");
    free(p);
}

TEST(s3_default_bucket_name)
{
    char name[64];
    CHECK(sm_s3_default_bucket_name("us-east-1", "123456789012", name,
                                    sizeof name) == 0);
    CHECK_STR(name, "sagemaker-us-east-1-123456789012");
    CHECK(sm_s3_default_bucket_name("eu-west-1", "123456789012", name, 20) ==
          -1);
    CHECK(sm_s3_default_bucket_name("", "123456789012", name, sizeof name) ==
          -1);
    CHECK(sm_s3_default_bucket_name("us-east-1", NULL, name, sizeof name) ==
          -1);
}

/* ---- planning ----------------------------------------------------------- */

/* The plan covers `size` exactly and keeps to S3's limits. */
static int plan_is_sound(uint64_t size, const sm_s3_plan *p)
{
    if (p->part_count < 1 || p->part_count > SM_S3_MAX_PARTS)
        return 0;
    if (!p->multipart)
        return p->part_count == 1 && p->part_size == size &&
               size <= SM_S3_MAX_PUT_SIZE;
    if (p->part_size < SM_S3_MIN_PART_SIZE ||
        p->part_size > SM_S3_MAX_PART_SIZE)
        return 0;
    uint64_t before_last = (uint64_t)(p->part_count - 1) * p->part_size;
    return before_last < size && size - before_last <= p->part_size;
}

TEST(s3_plan_small_sizes_are_one_put)
{
    sm_s3_plan p;
    const uint64_t t = SM_S3_DEFAULT_THRESHOLD;
    const uint64_t sizes[] = {0, 1, t - 1};
    for (size_t i = 0; i < 3; i++) {
        CHECK(sm_s3_plan_parts(sizes[i], 0, 0, &p, NULL) == 0);
        CHECK(!p.multipart);
        CHECK(p.part_count == 1);
        CHECK(plan_is_sound(sizes[i], &p));
    }
}

TEST(s3_plan_threshold_and_above_is_multipart)
{
    sm_s3_plan p;
    const uint64_t t = SM_S3_DEFAULT_THRESHOLD;
    CHECK(sm_s3_plan_parts(t, 0, 0, &p, NULL) == 0);
    CHECK(p.multipart);
    CHECK(p.part_count == 1);
    CHECK(p.part_size == 8 * MIB);
    CHECK(plan_is_sound(t, &p));
    CHECK(sm_s3_plan_parts(t + 1, 0, 0, &p, NULL) == 0);
    CHECK(p.part_count == 2);
    CHECK(plan_is_sound(t + 1, &p));
    CHECK(sm_s3_plan_parts(100 * MIB, 0, 0, &p, NULL) == 0);
    CHECK(p.multipart);
    CHECK(p.part_size == 8 * MIB);
    CHECK(p.part_count == 13);
    CHECK(plan_is_sound(100 * MIB, &p));
}

TEST(s3_plan_grows_parts_to_stay_within_ten_thousand)
{
    sm_s3_plan p;
    CHECK(sm_s3_plan_parts(5 * TIB, 0, 0, &p, NULL) == 0);
    CHECK(p.multipart);
    CHECK(p.part_count <= SM_S3_MAX_PARTS);
    CHECK(p.part_size % MIB == 0);
    CHECK(p.part_size == 525 * MIB); /* ceil(5 TiB / 10,000) in whole MiB */
    CHECK(plan_is_sound(5 * TIB, &p));
    /* 10,000 parts of 8 MiB exactly, then one byte more. */
    CHECK(sm_s3_plan_parts(10000 * 8 * MIB, 0, 0, &p, NULL) == 0);
    CHECK(p.part_count == 10000 && p.part_size == 8 * MIB);
    CHECK(sm_s3_plan_parts(10000 * 8 * MIB + 1, 0, 0, &p, NULL) == 0);
    CHECK(p.part_count <= 10000 && p.part_size == 9 * MIB);
    CHECK(plan_is_sound(10000 * 8 * MIB + 1, &p));
    /* The largest object S3 takes, and one byte more. */
    const uint64_t max = SM_S3_MAX_PART_SIZE * SM_S3_MAX_PARTS;
    CHECK(sm_s3_plan_parts(max, 0, 0, &p, NULL) == 0);
    CHECK(p.part_count == 10000 && p.part_size == SM_S3_MAX_PART_SIZE);
    sm_error err = {{0}};
    CHECK(sm_s3_plan_parts(max + 1, 0, 0, &p, &err) == -1);
    CHECK(strstr(err.message, "more than S3 can store") != NULL);
}

TEST(s3_plan_respects_and_clamps_the_config)
{
    sm_s3_plan p;
    /* A part size under 5 MiB is raised to it. */
    CHECK(sm_s3_plan_parts(100 * MIB, 16 * MIB, 1 * MIB, &p, NULL) == 0);
    CHECK(p.multipart && p.part_size == 5 * MIB && p.part_count == 20);
    /* Under a custom threshold: one PutObject. */
    CHECK(sm_s3_plan_parts(100 * MIB, 200 * MIB, 0, &p, NULL) == 0);
    CHECK(!p.multipart);
    /* Above 5 GiB there is no choice, whatever the threshold. */
    CHECK(sm_s3_plan_parts(6 * GIB, 100 * GIB, 64 * MIB, &p, NULL) == 0);
    CHECK(p.multipart && p.part_size == 64 * MIB && p.part_count == 96);
    for (uint64_t s = 1; s < 64 * MIB; s = s * 3 + 7) {
        CHECK(sm_s3_plan_parts(s, 5 * MIB, 5 * MIB, &p, NULL) == 0);
        CHECK(plan_is_sound(s, &p));
    }
}

/* ---- request bodies ----------------------------------------------------- */

TEST(s3_complete_body_lists_parts_in_order)
{
    sm_s3_part parts[] = {{1, "\"a54357aff0632cce46d942af68356b38\"", ""},
                          {2, "\"0c78aef83f66abc1fa1e8477f296d394\"", ""}};
    char *body = sm_s3_complete_body(parts, 2);
    CHECK_STR(body, "<CompleteMultipartUpload "
                    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    "<Part><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;"
                    "</ETag><PartNumber>1</PartNumber></Part>"
                    "<Part><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;"
                    "</ETag><PartNumber>2</PartNumber></Part>"
                    "</CompleteMultipartUpload>");
    /* It reads back as the same parts. */
    sm_xml_node *root = sm_xml_parse(body, strlen(body), NULL);
    const sm_xml_node *part = sm_xml_child(root, "Part");
    CHECK(part);
    CHECK_STR(sm_xml_child_text(part, "ETag"), parts[0].etag);
    CHECK_STR(sm_xml_child_text(sm_xml_next(part), "PartNumber"), "2");
    sm_xml_free(&root);
    free(body);
    /* Parts sent with a CRC32C name it, as S3 then requires. */
    sm_s3_part crc[] = {{1, "\"a\"", "yZRlqg=="}};
    body = sm_s3_complete_body(crc, 1);
    CHECK(body && strstr(body, "<Part><ETag>&quot;a&quot;</ETag>"
                               "<ChecksumCRC32C>yZRlqg==</ChecksumCRC32C>"
                               "<PartNumber>1</PartNumber></Part>"));
    free(body);
}

TEST(s3_complete_body_refuses_bad_parts)
{
    sm_s3_part parts[] = {{2, "\"x\"", ""}, {1, "\"y\"", ""}};
    CHECK(sm_s3_complete_body(parts, 2) == NULL);
    CHECK(sm_s3_complete_body(parts, 0) == NULL);
    sm_s3_part zero[] = {{0, "\"x\"", ""}};
    CHECK(sm_s3_complete_body(zero, 1) == NULL);
    sm_s3_part same[] = {{3, "\"x\"", ""}, {3, "\"x\"", ""}};
    CHECK(sm_s3_complete_body(same, 2) == NULL);
}

TEST(s3_delete_body_escapes_keys)
{
    const char *keys[] = {"data/a.csv", "a&b<c>\"d'.txt", "sp ace/\xc3\xa9"};
    char *body = sm_s3_delete_body(keys, 3);
    CHECK_STR(body,
              "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
              "<Quiet>true</Quiet>"
              "<Object><Key>data/a.csv</Key></Object>"
              "<Object><Key>a&amp;b&lt;c&gt;&quot;d&apos;.txt</Key></Object>"
              "<Object><Key>sp ace/\xc3\xa9</Key></Object></Delete>");
    sm_xml_node *root = sm_xml_parse(body, strlen(body), NULL);
    const sm_xml_node *o = sm_xml_child(root, "Object");
    for (size_t i = 0; i < 3; i++, o = sm_xml_next(o))
        CHECK_STR(sm_xml_child_text(o, "Key"), keys[i]);
    sm_xml_free(&root);
    free(body);
}

TEST(s3_delete_body_limits)
{
    const char **keys = calloc(1001, sizeof *keys);
    CHECK(keys);
    for (size_t i = 0; i < 1001; i++)
        keys[i] = "k";
    char *full = sm_s3_delete_body(keys, 1000);
    char *over = sm_s3_delete_body(keys, 1001);
    char *none = sm_s3_delete_body(keys, 0);
    const char *ctrl[] = {"bad\001key"};
    char *bad = sm_s3_delete_body(ctrl, 1);
    const char *tab[] = {"tab\tkey\r"};
    char *ok = sm_s3_delete_body(tab, 1);
    int full_ok = full != NULL;
    free(full);
    free(keys);
    CHECK(full_ok);
    CHECK(over == NULL && none == NULL && bad == NULL);
    CHECK(ok && strstr(ok, "<Key>tab\tkey&#13;</Key>"));
    free(ok);
}

/* ---- listings ----------------------------------------------------------- */

static const char list_page_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bucket</Name><Prefix>data%2F</Prefix><KeyCount>3</KeyCount>"
    "<MaxKeys>2</MaxKeys><Delimiter>%2F</Delimiter>"
    "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
    "<Contents><Key>data/a+b%2Bc.csv</Key>"
    "<LastModified>2024-05-01T10:20:30.000Z</LastModified>"
    "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"
    "<Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>data/%C3%A9t%C3%A9.txt</Key>"
    "<LastModified>2024-05-02T00:00:00.000Z</LastModified>"
    "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e-3&quot;</ETag>"
    "<Size>26843545600</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<CommonPrefixes><Prefix>data/sub+dir/</Prefix></CommonPrefixes>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
    "</NextContinuationToken></ListBucketResult>";

TEST(s3_list_parse_decodes_a_page)
{
    sm_s3_page page = {0};
    sm_error err = {{0}};
    CHECK(sm_s3_list_parse(list_page_xml, strlen(list_page_xml), 1, &page,
                           &err) == 0);
    CHECK(page.object_count == 2);
    CHECK_STR(page.objects[0].key, "data/a b+c.csv");
    CHECK(page.objects[0].size == 1234);
    CHECK_STR(page.objects[0].etag, "\"9b2cf535f27731c974343645a3985328\"");
    CHECK_STR(page.objects[0].last_modified, "2024-05-01T10:20:30.000Z");
    CHECK_STR(page.objects[0].storage_class, "STANDARD");
    CHECK_STR(page.objects[1].key, "data/\xc3\xa9t\xc3\xa9.txt");
    CHECK(page.objects[1].size == 26843545600ull);
    CHECK(page.prefix_count == 1);
    CHECK_STR(page.prefixes[0], "data/sub dir/");
    CHECK(page.truncated);
    CHECK_STR(page.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    sm_s3_page_clear(&page);
    CHECK(page.objects == NULL && page.object_count == 0);
}

TEST(s3_list_parse_last_and_empty_pages)
{
    static const char last[] =
        "<ListBucketResult><Name>b</Name><KeyCount>1</KeyCount>"
        "<IsTruncated>false</IsTruncated>"
        "<Contents><Key>a+b%20c</Key><Size>0</Size><ETag>\"e\"</ETag>"
        "</Contents></ListBucketResult>";
    sm_s3_page page = {0};
    CHECK(sm_s3_list_parse(last, strlen(last), 1, &page, NULL) == 0);
    /* No EncodingType in the answer: the keys are as S3 wrote them. */
    CHECK(page.object_count == 1);
    CHECK_STR(page.objects[0].key, "a+b%20c");
    CHECK(page.objects[0].size == 0);
    CHECK(!page.truncated && page.next_token == NULL);
    sm_s3_page_clear(&page);
    static const char empty[] =
        "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount>"
        "<IsTruncated>false</IsTruncated></ListBucketResult>";
    CHECK(sm_s3_list_parse(empty, strlen(empty), 1, &page, NULL) == 0);
    CHECK(page.object_count == 0 && page.prefix_count == 0);
    sm_s3_page_clear(&page);
}

static int list_fails(const char *xml, const char *why)
{
    sm_s3_page page = {0};
    sm_error err = {{0}};
    int rc = sm_s3_list_parse(xml, strlen(xml), 1, &page, &err);
    sm_s3_page_clear(&page);
    if (rc != -1 || !strstr(err.message, why)) {
        printf("    %s\n      -> %s\n", xml, err.message);
        return 0;
    }
    return 1;
}

TEST(s3_list_parse_errors)
{
    CHECK(list_fails("<ListBucketResult><Contents><Size>1</Size></Contents>"
                     "</ListBucketResult>",
                     "no valid Key"));
    CHECK(list_fails("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size>"
                     "</Contents></ListBucketResult>",
                     "no valid Size"));
    CHECK(list_fails("<ListBucketResult><Contents><Key>k</Key><Size>12x"
                     "</Size></Contents></ListBucketResult>",
                     "no valid Size"));
    CHECK(list_fails("<ListBucketResult><IsTruncated>true</IsTruncated>"
                     "</ListBucketResult>",
                     "NextContinuationToken"));
    CHECK(list_fails("<ListBucketResult><EncodingType>url</EncodingType>"
                     "<Contents><Key>a%00b</Key><Size>1</Size></Contents>"
                     "</ListBucketResult>",
                     "no valid Key"));
    CHECK(list_fails("<Error><Code>NoSuchBucket</Code></Error>",
                     "not <ListBucketResult>"));
    CHECK(list_fails("<ListBucketResult><Contents>", "XML"));
    CHECK(list_fails("", "XML"));
}

TEST(s3_buckets_parse)
{
    static const char xml[] =
        "<ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets>"
        "<Bucket><Name>alpha</Name>"
        "<CreationDate>2024-01-02T03:04:05.000Z</CreationDate></Bucket>"
        "<Bucket><Name>beta.b</Name>"
        "<CreationDate>2024-02-02T03:04:05.000Z</CreationDate></Bucket>"
        "</Buckets></ListAllMyBucketsResult>";
    sm_s3_page page = {0};
    CHECK(sm_s3_buckets_parse(xml, strlen(xml), &page, NULL) == 0);
    CHECK(page.object_count == 2);
    CHECK_STR(page.objects[1].key, "beta.b");
    CHECK_STR(page.objects[0].last_modified, "2024-01-02T03:04:05.000Z");
    sm_s3_page_clear(&page);
    static const char none[] = "<ListAllMyBucketsResult><Buckets/>"
                               "</ListAllMyBucketsResult>";
    CHECK(sm_s3_buckets_parse(none, strlen(none), &page, NULL) == 0);
    CHECK(page.object_count == 0);
    sm_s3_page_clear(&page);
    sm_error err = {{0}};
    CHECK(sm_s3_buckets_parse("<X/>", 4, &page, &err) == -1);
    CHECK(strstr(err.message, "ListAllMyBucketsResult") != NULL);
    sm_s3_page_clear(&page);
}

/* ---- errors, digests, ETags ---------------------------------------------- */

TEST(s3_error_documents_with_200)
{
    static const char xml[] =
        "<?xml version=\"1.0\"?><Error><Code>InternalError</Code>"
        "<Message>We encountered an internal error.</Message>"
        "<RequestId>656c76696e6727732072657175657374</RequestId></Error>";
    sm_aws_response resp = {
        .status = 200, .body = (char *)xml, .body_len = strlen(xml)};
    sm_aws_error err = {0};
    CHECK(sm_s3_parse_body(&resp, "CompleteMultipartUpload", &err) == NULL);
    CHECK_STR(err.code, "InternalError");
    CHECK_STR(err.operation, "CompleteMultipartUpload");
    CHECK_STR(err.request_id, "656c76696e6727732072657175657374");
    CHECK(err.http_status == 200);
    sm_aws_error bad = {0};
    sm_aws_response junk = {
        .status = 200, .body = (char *)"<a>", .body_len = 3};
    CHECK(sm_s3_parse_body(&junk, "ListParts", &bad) == NULL);
    CHECK_STR(bad.code, "MalformedResponse");
}

TEST(s3_first_error_wins)
{
    sm_aws_error err = {0};
    CHECK(sm_s3_fail(&err, "PutObject", "A", "first %d", 1) == -1);
    CHECK(sm_s3_fail(&err, "GetObject", "B", "second") == -1);
    CHECK_STR(err.code, "A");
    CHECK_STR(err.message, "first 1");
    CHECK_STR(err.service, "s3");
    sm_aws_error other = {.http_status = 404};
    sm_s3_error_keep(&err, &other);
    CHECK(err.http_status == 0);
    CHECK(sm_s3_error_not_found(&other));
    sm_aws_error key = {.http_status = 0, .code = "NoSuchKey"};
    CHECK(sm_s3_error_not_found(&key));
    CHECK(!sm_s3_error_not_found(&err));
}

TEST(s3_digests_of_known_strings)
{
    sm_s3_digest d;
    CHECK(sm_s3_digest_bytes("abc", 3, &d) == 0);
    CHECK_STR(d.md5_hex, "900150983cd24fb0d6963f7d28e17f72");
    CHECK_STR(d.md5_base64, "kAFQmDzST7DWlj99KOF/cg==");
    CHECK_STR(d.sha256_hex, "ba7816bf8f01cfea414140de5dae2223"
                            "b00361a396177a9cb410ff61f20015ad");
    CHECK(sm_s3_digest_bytes("", 0, &d) == 0);
    CHECK_STR(d.md5_hex, "d41d8cd98f00b204e9800998ecf8427e");
    CHECK_STR(d.sha256_hex, "e3b0c44298fc1c149afbf4c8996fb924"
                            "27ae41e4649b934ca495991b7852b855");
}

TEST(s3_digest_of_a_file_range)
{
    char path[] = "/tmp/test-s3-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    int wrote = write(fd, "xxabcyy", 7) == 7;
    sm_s3_digest d;
    int rc = sm_s3_digest_file(fd, 2, 3, &d);
    int past_end = sm_s3_digest_file(fd, 5, 10, &d);
    close(fd);
    unlink(path);
    CHECK(wrote && rc == 0);
    CHECK(past_end == -1);
    CHECK(sm_s3_digest_bytes("abc", 3, &d) == 0);
    CHECK_STR(d.md5_hex, "900150983cd24fb0d6963f7d28e17f72");
}

TEST(s3_etag_md5_recognises_plain_md5s)
{
    char hex[33];
    CHECK(sm_s3_etag_md5("\"900150983CD24FB0D6963F7D28E17F72\"", hex));
    CHECK_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
    CHECK(sm_s3_etag_md5("900150983cd24fb0d6963f7d28e17f72", hex));
    CHECK(!sm_s3_etag_md5("\"900150983cd24fb0d6963f7d28e17f72-2\"", hex));
    CHECK(!sm_s3_etag_md5("\"900150983cd24fb0d6963f7d28e17f7g\"", hex));
    CHECK(!sm_s3_etag_md5("", hex));
    CHECK(!sm_s3_etag_md5(NULL, hex));
}

TEST(s3_head_from_response_headers)
{
    sm_aws_header h[] = {
        {"content-length", "100"},
        {"content-range", "bytes 0-99/26843545600"},
        {"etag", "\"900150983cd24fb0d6963f7d28e17f72\""},
        {"content-type", "text/csv"},
        {"last-modified", "Wed, 12 Oct 2009 17:50:00 GMT"},
    };
    sm_aws_response resp = {.status = 206, .headers = h, .header_count = 5};
    sm_s3_head head;
    sm_s3_head_from_response(&resp, &head);
    CHECK(head.size == 26843545600ull); /* the object's, not the range's */
    CHECK_STR(head.content_type, "text/csv");
    CHECK_STR(head.last_modified, "Wed, 12 Oct 2009 17:50:00 GMT");
    CHECK(head.mtime == 1255369800);
    CHECK(head.etag_is_md5);
    resp.header_count = 4; /* no Last-Modified; no Content-Range below */
    h[1] = (sm_aws_header){"x-amz-server-side-encryption", "aws:kms"};
    sm_s3_head_from_response(&resp, &head);
    CHECK(head.size == 100);
    CHECK(head.mtime == 0 && head.last_modified[0] == '\0');
    CHECK(!head.etag_is_md5); /* a KMS ETag is no MD5 */
    h[2] = (sm_aws_header){"etag", "\"900150983cd24fb0d6963f7d28e17f72-3\""};
    h[1] = (sm_aws_header){"x-amz-server-side-encryption", "AES256"};
    sm_s3_head_from_response(&resp, &head);
    CHECK(!head.etag_is_md5);
}
