/* test_local_md5lanes: the lane MD5 against OpenSSL's MD5 on random data
 * of random lengths, for every implementation this CPU runs, with any
 * number of streams (fewer than, as many as, more than the lanes), and
 * streams that are not on a block boundary. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "md5lanes.h"
#include "test.h"

#define STREAMS 37

static uint64_t rng = 0x9e3779b97f4a7c15u; /* fixed seed */

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void openssl_md5(const unsigned char *p, size_t len,
                        unsigned char out[16])
{
    unsigned int n = 0;
    EVP_Digest(p, len, out, &n, EVP_md5(), NULL);
}

/* `count` streams of random lengths, each hashed in random slices: whole
 * blocks through the lanes, the rest through sm_md5_update. 0 when every
 * digest equals OpenSSL's. */
static int streams_agree(size_t count, size_t max_len)
{
    unsigned char *data[STREAMS];
    size_t len[STREAMS], done[STREAMS];
    sm_md5 md[STREAMS];
    int bad = 0;
    for (size_t i = 0; i < count; i++) {
        len[i] = next_random() % (max_len + 1);
        data[i] = malloc(len[i] + 1);
        for (size_t j = 0; j < len[i]; j++)
            data[i][j] = (unsigned char)next_random();
        sm_md5_init(&md[i]);
        done[i] = 0;
    }
    for (int left = 1; left;) {
        sm_md5 *lane_md[STREAMS];
        const void *lane_data[STREAMS];
        size_t n = 0, blocks = 1 + next_random() % 9;
        left = 0;
        for (size_t i = 0; i < count; i++) {
            size_t rest = len[i] - done[i];
            if (rest >= blocks * 64 && next_random() % 4) {
                lane_md[n] = &md[i];
                lane_data[n++] = data[i] + done[i];
                done[i] += blocks * 64;
            } else if (rest) { /* an odd slice: off the block boundary */
                size_t take = 1 + next_random() % rest;
                take = take > 100 ? 100 : take;
                sm_md5_update(&md[i], data[i] + done[i], take);
                done[i] += take;
            }
            left |= done[i] < len[i];
        }
        sm_md5_lanes(lane_md, lane_data, n, blocks);
    }
    for (size_t i = 0; i < count; i++) {
        unsigned char want[16], got[16];
        openssl_md5(data[i], len[i], want);
        sm_md5_final(&md[i], got);
        bad |= memcmp(want, got, 16) != 0;
        free(data[i]);
    }
    return bad;
}

TEST(local_md5lanes_equals_openssl_for_every_implementation)
{
    static const char *const kinds[] = {"scalar", "avx2", "avx512"};
    const char *was = sm_md5_lanes_kind();
    int ran = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (sm_md5_lanes_use(kinds[k]) != 0)
            continue;
        ran++;
        CHECK(strcmp(sm_md5_lanes_kind(), kinds[k]) == 0);
        for (size_t count = 1; count <= STREAMS; count += 3) {
            int bad = streams_agree(count, 3000);
            if (bad)
                sm_md5_lanes_use(was);
            CHECK(!bad);
        }
        CHECK(!streams_agree(STREAMS, 70000));
    }
    sm_md5_lanes_use(was);
    CHECK(ran >= 1);
    CHECK(sm_md5_lanes_use("sse9") == -1);
}

TEST(local_md5lanes_with_no_blocks_changes_nothing)
{
    sm_md5 a, b;
    const void *data[1] = {""};
    sm_md5 *md[1] = {&a};
    sm_md5_init(&a);
    sm_md5_init(&b);
    sm_md5_lanes(md, data, 1, 0);
    sm_md5_lanes(md, data, 0, 5);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
}
