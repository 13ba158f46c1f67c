/* test_md5: RFC 1321's test suite (appendix A.5), and the same digests
 * whichever way the bytes are split across updates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md5.h"
#include "test.h"

static void hex(const unsigned char d[SM_MD5_SIZE], char out[33])
{
    for (int i = 0; i < SM_MD5_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const char *md5_hex(const void *data, size_t len)
{
    static char out[33];
    unsigned char d[SM_MD5_SIZE];
    sm_md5_digest(data, len, d);
    hex(d, out);
    return out;
}

/* RFC 1321, A.5 "Test suite". */
static const struct {
    const char *text, *digest;
} rfc_suite[] = {
    {"", "d41d8cd98f00b204e9800998ecf8427e"},
    {"a", "0cc175b9c0f1b6a831c399e269772661"},
    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
     "d174ab98d277d9f5a5611c2c9f419d9f"},
    {"1234567890123456789012345678901234567890"
     "1234567890123456789012345678901234567890",
     "57edf4a22be3c955ac49da2e2107b67a"},
};

#define SUITE_COUNT (sizeof rfc_suite / sizeof rfc_suite[0])

TEST(md5_rfc1321_test_suite)
{
    for (size_t i = 0; i < SUITE_COUNT; i++)
        CHECK_STR(md5_hex(rfc_suite[i].text, strlen(rfc_suite[i].text)),
                  rfc_suite[i].digest);
    CHECK_STR(md5_hex(NULL, 0), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(md5_split_anywhere_gives_the_same_digest)
{
    /* Every split point of the 80-byte vector, which crosses the 56- and
     * 64-byte boundaries the padding turns on. */
    const char *text = rfc_suite[SUITE_COUNT - 1].text;
    size_t len = strlen(text);
    for (size_t cut = 0; cut <= len; cut++) {
        sm_md5 ctx;
        unsigned char d[SM_MD5_SIZE];
        char got[33];
        sm_md5_init(&ctx);
        sm_md5_update(&ctx, text, cut);
        sm_md5_update(&ctx, NULL, 0);
        sm_md5_update(&ctx, text + cut, len - cut);
        sm_md5_final(&ctx, d);
        hex(d, got);
        CHECK_STR(got, rfc_suite[SUITE_COUNT - 1].digest);
    }
    /* One byte at a time. */
    sm_md5 ctx;
    unsigned char d[SM_MD5_SIZE];
    char got[33];
    sm_md5_init(&ctx);
    for (size_t i = 0; i < len; i++)
        sm_md5_update(&ctx, text + i, 1);
    sm_md5_final(&ctx, d);
    hex(d, got);
    CHECK_STR(got, rfc_suite[SUITE_COUNT - 1].digest);
}

TEST(md5_lengths_around_the_padding_boundaries)
{
    /* Digests of 55, 56, 63, 64 and 65 'a's (python3 hashlib), where the
     * length goes into the last block or forces one more. */
    static const struct {
        size_t len;
        const char *digest;
    } cases[] = {
        {55, "ef1772b6dff9a122358552954ad0df65"},
        {56, "3b0c8ac703f828b04c6c197006d17218"},
        {63, "b06521f39153d618550606be297466d5"},
        {64, "014842d480b571495a4a0363793f7367"},
        {65, "c743a45e0d2e6a95cb859adae0248435"},
    };
    char a[65];
    memset(a, 'a', sizeof a);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR(md5_hex(a, cases[i].len), cases[i].digest);
}

TEST(md5_a_million_a)
{
    size_t len = 1000000;
    char *a = malloc(len);
    CHECK(a);
    memset(a, 'a', len);
    const char *got = md5_hex(a, len);
    free(a);
    CHECK_STR(got, "7707d6ae4e027c70eea2a935c2296f21");
}
