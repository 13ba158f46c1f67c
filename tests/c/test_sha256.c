/* test_sha256: the NIST example vectors (FIPS 180-4 / CSRC) and RFC 4231's
 * HMAC-SHA256 cases, on the SHA-NI path (when the CPU has it) and on the
 * portable one, and the same digests however the bytes are split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "test.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const char *sha_hex(const void *data, size_t len)
{
    static char out[65];
    unsigned char d[SM_SHA256_SIZE];
    sm_sha256_digest(data, len, d);
    hex(d, sizeof d, out);
    return out;
}

static const struct {
    const char *text, *digest;
} nist[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
     "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

static int check_nist(void)
{
    for (size_t i = 0; i < sizeof nist / sizeof nist[0]; i++) {
        if (strcmp(sha_hex(nist[i].text, strlen(nist[i].text)),
                   nist[i].digest) != 0)
            return -1;
    }
    if (strcmp(sha_hex(NULL, 0), nist[0].digest) != 0)
        return -1;
    size_t len = 1000000;
    char *a = malloc(len);
    if (!a)
        return -1;
    memset(a, 'a', len);
    int bad = strcmp(sha_hex(a, len), "cdc76e5c9914fb9281a1c7e284d73e67f1809a"
                                      "48a497200e046d39ccc7112cd0") != 0;
    /* The same million in uneven pieces through the incremental API. */
    sm_sha256 ctx;
    unsigned char d[SM_SHA256_SIZE];
    char got[65];
    sm_sha256_init(&ctx);
    for (size_t off = 0, step = 1; off < len;
         off += step, step = step % 199 + 7)
        sm_sha256_update(&ctx, a + off, off + step > len ? len - off : step);
    sm_sha256_final(&ctx, d);
    hex(d, sizeof d, got);
    bad |= strcmp(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d"
                       "39ccc7112cd0") != 0;
    free(a);
    return bad ? -1 : 0;
}

/* RFC 4231 section 4: test cases 1 to 7 (case 5's output is truncated to
 * 128 bits, so only its prefix is compared). */
static int check_rfc4231(void)
{
    unsigned char k20[20], k25[25], k131[131], dd[50], cd[50];
    memset(k20, 0x0b, sizeof k20);
    for (int i = 0; i < 25; i++)
        k25[i] = (unsigned char)(i + 1);
    memset(k131, 0xaa, sizeof k131);
    memset(dd, 0xdd, sizeof dd);
    memset(cd, 0xcd, sizeof cd);
    unsigned char kaa20[20], k0c[20];
    memset(kaa20, 0xaa, sizeof kaa20);
    memset(k0c, 0x0c, sizeof k0c);
    static const char big_key_msg[] =
        "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char big_data_msg[] =
        "This is a test using a larger than block-size key and a larger "
        "than block-size data. The key needs to be hashed before being "
        "used by the HMAC algorithm.";
    const struct {
        const void *key;
        size_t key_len;
        const void *data;
        size_t len;
        const char *mac;
    } cases[] = {
        {k20, 20, "Hi There", 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?", 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {kaa20, 20, dd, 50,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {k25, 25, cd, 50,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {k0c, 20, "Test With Truncation", 20,
         "a3b6167473100ee06e0c796c2955552b"},
        {k131, 131, big_key_msg, sizeof big_key_msg - 1,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {k131, 131, big_data_msg, sizeof big_data_msg - 1,
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char mac[SM_SHA256_SIZE];
        char got[65];
        sm_hmac_sha256_mac(cases[i].key, cases[i].key_len, cases[i].data,
                           cases[i].len, mac);
        hex(mac, sizeof mac, got);
        if (strncmp(got, cases[i].mac, strlen(cases[i].mac)) != 0)
            return -1;
        /* A keyed state copied and reused gives the same MAC twice. */
        sm_hmac_sha256 keyed, run;
        sm_hmac_sha256_init(&keyed, cases[i].key, cases[i].key_len);
        for (int round = 0; round < 2; round++) {
            run = keyed;
            const unsigned char *p = cases[i].data;
            sm_hmac_sha256_update(&run, p, 3 < cases[i].len ? 3 : 0);
            sm_hmac_sha256_update(&run, p + (3 < cases[i].len ? 3 : 0),
                                  cases[i].len - (3 < cases[i].len ? 3 : 0));
            sm_hmac_sha256_final(&run, mac);
            hex(mac, sizeof mac, got);
            if (strncmp(got, cases[i].mac, strlen(cases[i].mac)) != 0)
                return -1;
        }
        sm_hmac_sha256_wipe(&keyed);
    }
    return 0;
}

TEST(sha256_nist_vectors_fast_path)
{
    printf("    sha256: %s\n", sm_sha256_force_portable(0)
                                   ? "SHA-NI in use"
                                   : "no SHA-NI on this CPU, portable code");
    CHECK(check_nist() == 0);
}

TEST(sha256_nist_vectors_portable_path)
{
    CHECK(sm_sha256_force_portable(1) == 0);
    int rc = check_nist();
    sm_sha256_force_portable(0);
    CHECK(rc == 0);
}

TEST(sha256_hmac_rfc4231_both_paths)
{
    sm_sha256_force_portable(0);
    CHECK(check_rfc4231() == 0);
    sm_sha256_force_portable(1);
    int rc = check_rfc4231();
    sm_sha256_force_portable(0);
    CHECK(rc == 0);
}

TEST(sha256_split_anywhere_and_paths_agree)
{
    /* Every split of 200 bytes, crossing the 55/56/64-byte boundaries the
     * padding turns on, on both paths; they must agree byte for byte. */
    unsigned char data[200], want[SM_SHA256_SIZE];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof data; len++) {
        sm_sha256_force_portable(1);
        sm_sha256_digest(data, len, want);
        sm_sha256_force_portable(0);
        for (size_t cut = 0; cut <= len; cut += 1 + len / 16) {
            sm_sha256 ctx;
            unsigned char d[SM_SHA256_SIZE];
            sm_sha256_init(&ctx);
            sm_sha256_update(&ctx, data, cut);
            sm_sha256_update(&ctx, NULL, 0);
            sm_sha256_update(&ctx, data + cut, len - cut);
            sm_sha256_final(&ctx, d);
            CHECK(memcmp(d, want, sizeof d) == 0);
        }
    }
}

TEST(sha256_hmac_one_call_matches_incremental)
{
    /* The one-call MAC pads by itself: every message length up to three
     * blocks, under keys shorter than, equal to and longer than a block. */
    unsigned char key[100], data[200];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(i * 13 + 5);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    const size_t key_lens[] = {0, 32, 64, 100};
    for (size_t k = 0; k < sizeof key_lens / sizeof key_lens[0]; k++) {
        for (size_t len = 0; len <= sizeof data; len++) {
            unsigned char one[SM_SHA256_SIZE], inc[SM_SHA256_SIZE];
            sm_hmac_sha256 ctx;
            sm_hmac_sha256_init(&ctx, key, key_lens[k]);
            sm_hmac_sha256_update(&ctx, data, len);
            sm_hmac_sha256_final(&ctx, inc);
            sm_hmac_sha256_mac(key, key_lens[k], data, len, one);
            CHECK(memcmp(one, inc, sizeof one) == 0);
        }
    }
}
