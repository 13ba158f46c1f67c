/* md5: RFC 1321 section 3, step by step: the four rounds of sixteen
 * operations run from tables of the sine constants, shifts and word
 * orders the RFC gives. */
#include "md5.h"

#include <string.h>

/* T[i] = floor(2^32 * abs(sin(i + 1))), RFC 1321 section 3.4. */
const uint32_t sm_md5_sines[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
    0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
    0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
    0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
    0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* The left rotations of each round, four per round (S11..S44). */
static const unsigned S[4][4] = {
    {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

/* Which word of the block each operation takes: round 1 in order, then
 * (1 + 5i), (5 + 3i) and 7i, modulo 16. */
static const unsigned char K[64] = {
    0, 1, 2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    1, 6, 11, 0,  5,  10, 15, 4,  9,  14, 3,  8,  13, 2,  7,  12,
    5, 8, 11, 14, 1,  4,  7,  10, 13, 0,  3,  6,  9,  12, 15, 2,
    0, 7, 14, 5,  12, 3,  10, 1,  8,  15, 6,  13, 4,  11, 2,  9,
};

static uint32_t rotl(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

/* The round functions F, G, H and I of section 3.4. */
static uint32_t round_f(int round, uint32_t x, uint32_t y, uint32_t z)
{
    switch (round) {
    case 0:
        return (x & y) | (~x & z);
    case 1:
        return (x & z) | (y & ~z);
    case 2:
        return x ^ y ^ z;
    default:
        return y ^ (x | ~z);
    }
}

/* Section 3.4: one 64-byte block into the state. The words are little
 * endian whatever the machine is. */
static void md5_block(uint32_t state[4], const unsigned char block[64])
{
    uint32_t X[16], a = state[0], b = state[1], c = state[2], d = state[3];
    for (int i = 0; i < 16; i++)
        X[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
               (uint32_t)block[4 * i + 2] << 16 |
               (uint32_t)block[4 * i + 3] << 24;
    for (int round = 0; round < 4; round++) {
        for (int j = 0; j < 16; j++) {
            int i = round * 16 + j;
            uint32_t sum =
                a + round_f(round, b, c, d) + X[K[i]] + sm_md5_sines[i];
            uint32_t next = b + rotl(sum, S[round][j & 3]);
            a = d;
            d = c;
            c = b;
            b = next;
        }
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

void sm_md5_init(sm_md5 *self)
{
    /* Section 3.3: the words A, B, C, D, low-order bytes first. */
    static const uint32_t start[4] = {0x67452301, 0xefcdab89, 0x98badcfe,
                                      0x10325476};
    memset(self, 0, sizeof *self);
    memcpy(self->state, start, sizeof start);
}

void sm_md5_update(sm_md5 *self, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len == 0)
        return;
    self->length += len;
    if (self->block_len) {
        size_t take = 64 - self->block_len < len ? 64 - self->block_len : len;
        memcpy(self->block + self->block_len, p, take);
        self->block_len += take;
        p += take;
        len -= take;
        if (self->block_len < 64)
            return;
        md5_block(self->state, self->block);
        self->block_len = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        md5_block(self->state, p);
    if (len)
        memcpy(self->block, p, len);
    self->block_len = len;
}

void sm_md5_final(sm_md5 *self, unsigned char out[SM_MD5_SIZE])
{
    /* Sections 3.1 and 3.2: a 1 bit, zeros to 56 bytes modulo 64, then
     * the length in bits as 64 bits, low-order byte first. */
    unsigned char pad[72] = {0x80};
    uint64_t bits = self->length * 8;
    size_t n =
        self->block_len < 56 ? 56 - self->block_len : 120 - self->block_len;
    for (int i = 0; i < 8; i++)
        pad[n + (size_t)i] = (unsigned char)(bits >> (8 * i));
    sm_md5_update(self, pad, n + 8);
    /* Section 3.5: A, B, C, D, each low-order byte first. */
    for (int i = 0; i < 16; i++)
        out[i] = (unsigned char)(self->state[i / 4] >> (8 * (i % 4)));
    memset(self, 0, sizeof *self);
}

void sm_md5_digest(const void *data, size_t len, unsigned char out[SM_MD5_SIZE])
{
    sm_md5 ctx;
    sm_md5_init(&ctx);
    sm_md5_update(&ctx, data, len);
    sm_md5_final(&ctx, out);
}
