/* test_crc: CRC-32C of long input (where the SSE4.2 code runs three
 * streams and joins them) against a bit-by-bit reference, whole and in
 * pieces split at random. */
#include <stdint.h>
#include <stdlib.h>

#include "crc.h"
#include "test.h"

/* RFC 3720's CRC-32C one bit at a time: slow, plainly right. */
static uint32_t crc32c_bits(uint32_t crc, const unsigned char *p, size_t len)
{
    uint32_t c = ~crc;
    while (len--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

TEST(crc32c_of_long_input_in_pieces_equals_the_bitwise_crc)
{
    uint64_t s = 0x2545F4914F6CDD1Du; /* fixed seed */
    size_t len = 200000;
    unsigned char *data = malloc(len);
    CHECK(data);
    for (size_t i = 0; i < len; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        data[i] = (unsigned char)(s >> 24);
    }
    int bad = 0;
    for (size_t n = 0; n <= len; n = n * 3 + 4097) {
        uint32_t want = crc32c_bits(0, data, n);
        bad |= sm_crc32c(0, data, n) != want;
        size_t cut = n ? (size_t)(s % n) : 0;
        s = s * 6364136223846793005u + 1442695040888963407u;
        bad |= sm_crc32c(sm_crc32c(0, data, cut), data + cut, n - cut) != want;
    }
    bad |= sm_crc32c(0, data, len) != crc32c_bits(0, data, len);
    free(data);
    CHECK(!bad);
}
