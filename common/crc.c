/* crc: CRC-32 and CRC-32C by slicing-by-8 over tables built once, and
 * CRC-32C with the SSE4.2 instruction where the CPU has it. */
#include "crc.h"

#include <pthread.h>
#include <string.h>

static uint32_t crc32_table[8][256], crc32c_table[8][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void table_fill(uint32_t table[8][256], uint32_t poly)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ poly : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++)
            table[t][i] =
                (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    }
}

static void tables_init(void)
{
    table_fill(crc32_table, 0xEDB88320u);
    table_fill(crc32c_table, 0x82F63B78u);
}

static uint32_t crc_run(uint32_t table[8][256], uint32_t crc, const void *data,
                        size_t len)
{
    const unsigned char *p = data;
    uint32_t c = ~crc;
    while (len >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                           (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
            table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^ table[3][p[4]] ^
            table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len--)
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return ~c;
}

uint32_t sm_crc32(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&tables_once, tables_init);
    return crc_run(crc32_table, crc, data, len);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* CRC32C is the one the SSE4.2 crc32 instruction computes: eight bytes a
 * step. Each step waits three cycles for the one before, so long input
 * runs as three streams side by side, SPAN bytes each, joined by
 * advancing a stream's CRC over the SPAN (or 2 SPAN) bytes that follow
 * it: advancing a CRC register over zeros is linear, four table lookups
 * (Mark Adler's crc32c.c does the same). */
#define SPAN 4096

static uint32_t advance1[4][256], advance2[4][256]; /* over SPAN, 2 SPAN */
static pthread_once_t advance_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2"))) static uint32_t zeros_hw(uint32_t r, size_t n)
{
    unsigned long long c = r;
    for (; n >= 8; n -= 8)
        c = __builtin_ia32_crc32di(c, 0);
    return (uint32_t)c;
}

/* t[b][x]: the register x << 8b advanced; built from the 32 single bits. */
static void advance_table(uint32_t t[4][256], const uint32_t bit[32])
{
    for (int b = 0; b < 4; b++)
        for (uint32_t x = 0; x < 256; x++) {
            uint32_t v = 0;
            for (int k = 0; k < 8; k++)
                if (x >> k & 1)
                    v ^= bit[8 * b + k];
            t[b][x] = v;
        }
}

static void advance_init(void)
{
    uint32_t one[32], two[32];
    for (int k = 0; k < 32; k++) {
        one[k] = zeros_hw(1u << k, SPAN);
        two[k] = zeros_hw(one[k], SPAN);
    }
    advance_table(advance1, one);
    advance_table(advance2, two);
}

static uint32_t advance(uint32_t t[4][256], uint32_t r)
{
    return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^
           t[3][r >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
    unsigned long long c = ~crc & 0xffffffffu;
    if (len >= 3 * SPAN)
        pthread_once(&advance_once, advance_init);
    for (; len >= 3 * SPAN; p += 3 * SPAN, len -= 3 * SPAN) {
        unsigned long long b = 0, d = 0;
        for (size_t i = 0; i < SPAN; i += 8) {
            unsigned long long x, y, z;
            memcpy(&x, p + i, 8);
            memcpy(&y, p + SPAN + i, 8);
            memcpy(&z, p + 2 * SPAN + i, 8);
            c = __builtin_ia32_crc32di(c, x);
            b = __builtin_ia32_crc32di(b, y);
            d = __builtin_ia32_crc32di(d, z);
        }
        c = advance(advance2, (uint32_t)c) ^ advance(advance1, (uint32_t)b) ^
            (uint32_t)d;
    }
    for (; len >= 8; p += 8, len -= 8) {
        unsigned long long v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    unsigned int c32 = (unsigned int)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

uint32_t sm_crc32c(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("sse4.2"))
        return crc32c_sse42(crc, data, len);
#endif
    pthread_once(&tables_once, tables_init);
    return crc_run(crc32c_table, crc, data, len);
}
