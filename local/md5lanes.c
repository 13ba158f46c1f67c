/* md5lanes: RFC 1321's 64 steps written once as macros over a few
 * operations (add, rotate, the four round functions), then instantiated
 * for plain 32-bit words, for AVX2 (8 lanes) and for AVX-512 (16 lanes,
 * where a rotation and each round function are one instruction). Lanes
 * without a stream hash a zero block into a scratch state. */
#include "md5lanes.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LANES_X86 1
#include <immintrin.h>
#endif

#define MAX_LANES 16
/* A pass with this many streams or fewer runs them one after the other:
 * a vector pass takes as long for one stream as for all its lanes, about
 * twice the time of the plain code. */
#define SCALAR_MAX 2

/* RFC 1321's sine table (common/md5.c). */
#define T sm_md5_sines

/* One operation: a = b + ((a + FN(b, c, d) + W[k] + T[i]) <<< s). The
 * instantiation defines ADD, ROTL, SET1, the round functions and W. Only
 * FN waits for the step before; a + W[k] + T[i] is summed meanwhile. */
#define STEP(FN, a, b, c, d, k, s, i)                                          \
    a = ADD(b, ROTL(ADD(FN(b, c, d), ADD(a, ADD(W[k], SET1(T[i])))), s))

/* Four operations with the registers turning as the RFC lists them. */
#define FOUR(FN, k0, k1, k2, k3, s0, s1, s2, s3, i)                            \
    STEP(FN, a, b, c, d, k0, s0, i);                                           \
    STEP(FN, d, a, b, c, k1, s1, i + 1);                                       \
    STEP(FN, c, d, a, b, k2, s2, i + 2);                                       \
    STEP(FN, b, c, d, a, k3, s3, i + 3)

/* Section 3.4's four rounds of sixteen; word orders: j, 1 + 5j, 5 + 3j
 * and 7j, modulo 16. */
#define MD5_STEPS()                                                            \
    do {                                                                       \
        FOUR(FF, 0, 1, 2, 3, 7, 12, 17, 22, 0);                                \
        FOUR(FF, 4, 5, 6, 7, 7, 12, 17, 22, 4);                                \
        FOUR(FF, 8, 9, 10, 11, 7, 12, 17, 22, 8);                              \
        FOUR(FF, 12, 13, 14, 15, 7, 12, 17, 22, 12);                           \
        FOUR(GG, 1, 6, 11, 0, 5, 9, 14, 20, 16);                               \
        FOUR(GG, 5, 10, 15, 4, 5, 9, 14, 20, 20);                              \
        FOUR(GG, 9, 14, 3, 8, 5, 9, 14, 20, 24);                               \
        FOUR(GG, 13, 2, 7, 12, 5, 9, 14, 20, 28);                              \
        FOUR(HH, 5, 8, 11, 14, 4, 11, 16, 23, 32);                             \
        FOUR(HH, 1, 4, 7, 10, 4, 11, 16, 23, 36);                              \
        FOUR(HH, 13, 0, 3, 6, 4, 11, 16, 23, 40);                              \
        FOUR(HH, 9, 12, 15, 2, 4, 11, 16, 23, 44);                             \
        FOUR(II, 0, 7, 14, 5, 6, 10, 15, 21, 48);                              \
        FOUR(II, 12, 3, 10, 1, 6, 10, 15, 21, 52);                             \
        FOUR(II, 8, 15, 6, 13, 6, 10, 15, 21, 56);                             \
        FOUR(II, 4, 11, 2, 9, 6, 10, 15, 21, 60);                              \
    } while (0)

/* ---- plain words -------------------------------------------------------- */

#define ADD(x, y) ((x) + (y))
#define ROTL(x, s) (((x) << (s)) | ((x) >> (32 - (s))))
#define SET1(t) (t)
#define FF(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define GG(b, c, d) ((c) ^ ((d) & ((b) ^ (c))))
#define HH(b, c, d) ((b) ^ (c) ^ (d))
#define II(b, c, d) ((c) ^ ((b) | ~(d)))

static void scalar_blocks(uint32_t state[4], const unsigned char *p,
                          size_t blocks)
{
    for (; blocks; blocks--, p += 64) {
        uint32_t W[16], a = state[0], b = state[1], c = state[2], d = state[3];
        for (int i = 0; i < 16; i++) /* little endian whatever the CPU */
            W[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                   (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
        MD5_STEPS();
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
    }
}

#undef ADD
#undef ROTL
#undef SET1
#undef FF
#undef GG
#undef HH
#undef II

/* The lanes of one pass: where each stream's state and bytes are, and
 * how far its pointer moves per block (0 for an unused lane). */
typedef struct lane_set {
    uint32_t *state[MAX_LANES];
    const unsigned char *data[MAX_LANES];
    size_t step[MAX_LANES];
} lane_set;

static void scalar_pass(lane_set *ls, size_t blocks)
{
    scalar_blocks(ls->state[0], ls->data[0], blocks);
}

/* The lanes' states as the vector passes hold them, s[word][lane], and
 * their data pointers into p. */
static void states_gather(const lane_set *ls, size_t lanes,
                          uint32_t s[4][MAX_LANES],
                          const unsigned char *p[MAX_LANES])
{
    for (size_t i = 0; i < lanes; i++) {
        p[i] = ls->data[i];
        for (int w = 0; w < 4; w++)
            s[w][i] = ls->state[i][w];
    }
}

static void states_scatter(lane_set *ls, size_t lanes, uint32_t s[4][MAX_LANES])
{
    for (size_t i = 0; i < lanes; i++)
        for (int w = 0; w < 4; w++)
            ls->state[i][w] = s[w][i];
}

#ifdef LANES_X86

/* ---- AVX2: 8 lanes ------------------------------------------------------ */

#define ADD(x, y) _mm256_add_epi32(x, y)
#define ROTL(x, s)                                                             \
    _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))
#define SET1(t) _mm256_set1_epi32((int)(t))
#define FF(b, c, d)                                                            \
    _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define GG(b, c, d)                                                            \
    _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c)))
#define HH(b, c, d) _mm256_xor_si256(_mm256_xor_si256(b, c), d)
#define II(b, c, d)                                                            \
    _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)))

/* Rows r[0..7] (8 words of one lane each) into columns: out[j] holds word
 * j of every lane. */
__attribute__((target("avx2"))) static void transpose8(const __m256i r[8],
                                                       __m256i out[8])
{
    __m256i a[8], c[8];
    for (int p = 0; p < 4; p++) {
        a[2 * p] = _mm256_unpacklo_epi32(r[2 * p], r[2 * p + 1]);
        a[2 * p + 1] = _mm256_unpackhi_epi32(r[2 * p], r[2 * p + 1]);
    }
    /* c[4q + m]: word 4k + m of rows 4q..4q+3 in 128-bit half k */
    for (int q = 0; q < 2; q++) {
        const __m256i *x = a + 4 * q;
        c[4 * q] = _mm256_unpacklo_epi64(x[0], x[2]);
        c[4 * q + 1] = _mm256_unpackhi_epi64(x[0], x[2]);
        c[4 * q + 2] = _mm256_unpacklo_epi64(x[1], x[3]);
        c[4 * q + 3] = _mm256_unpackhi_epi64(x[1], x[3]);
    }
    for (int m = 0; m < 4; m++) {
        out[m] = _mm256_permute2x128_si256(c[m], c[4 + m], 0x20);
        out[4 + m] = _mm256_permute2x128_si256(c[m], c[4 + m], 0x31);
    }
}

__attribute__((target("avx2"))) static void avx2_pass(lane_set *ls,
                                                      size_t blocks)
{
    const __m256i ones = _mm256_set1_epi32(-1);
    uint32_t s[4][MAX_LANES];
    const unsigned char *p[MAX_LANES];
    states_gather(ls, 8, s, p);
    __m256i a = _mm256_loadu_si256((const __m256i *)s[0]);
    __m256i b = _mm256_loadu_si256((const __m256i *)s[1]);
    __m256i c = _mm256_loadu_si256((const __m256i *)s[2]);
    __m256i d = _mm256_loadu_si256((const __m256i *)s[3]);
    for (; blocks; blocks--) {
        __m256i lo[8], hi[8], W[16];
        for (int i = 0; i < 8; i++) {
            lo[i] = _mm256_loadu_si256((const __m256i *)p[i]);
            hi[i] = _mm256_loadu_si256((const __m256i *)(p[i] + 32));
            p[i] += ls->step[i];
        }
        transpose8(lo, W);
        transpose8(hi, W + 8);
        __m256i a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_STEPS();
        a = _mm256_add_epi32(a, a0);
        b = _mm256_add_epi32(b, b0);
        c = _mm256_add_epi32(c, c0);
        d = _mm256_add_epi32(d, d0);
    }
    _mm256_storeu_si256((__m256i *)s[0], a);
    _mm256_storeu_si256((__m256i *)s[1], b);
    _mm256_storeu_si256((__m256i *)s[2], c);
    _mm256_storeu_si256((__m256i *)s[3], d);
    states_scatter(ls, 8, s);
}

#undef ADD
#undef ROTL
#undef SET1
#undef FF
#undef GG
#undef HH
#undef II

/* ---- AVX-512: 16 lanes -------------------------------------------------- */

#define ADD(x, y) _mm512_add_epi32(x, y)
#define ROTL(x, s) _mm512_rol_epi32(x, s)
#define SET1(t) _mm512_set1_epi32((int)(t))
/* ternary-logic immediates: the truth tables of F, G, H and I */
#define FF(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0xca)
#define GG(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0xe4)
#define HH(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0x96)
#define II(b, c, d) _mm512_ternarylogic_epi32(b, c, d, 0x39)

/* Rows r[0..15] (one lane's block each) into columns: out[j] holds word j
 * of every lane. */
__attribute__((target("avx512f"))) static void transpose16(const __m512i r[16],
                                                           __m512i out[16])
{
    __m512i a[16], c[16];
    for (int p = 0; p < 8; p++) {
        a[2 * p] = _mm512_unpacklo_epi32(r[2 * p], r[2 * p + 1]);
        a[2 * p + 1] = _mm512_unpackhi_epi32(r[2 * p], r[2 * p + 1]);
    }
    /* c[4q + m]: word 4k + m of rows 4q..4q+3 in 128-bit lane k */
    for (int q = 0; q < 4; q++) {
        const __m512i *x = a + 4 * q;
        c[4 * q] = _mm512_unpacklo_epi64(x[0], x[2]);
        c[4 * q + 1] = _mm512_unpackhi_epi64(x[0], x[2]);
        c[4 * q + 2] = _mm512_unpacklo_epi64(x[1], x[3]);
        c[4 * q + 3] = _mm512_unpackhi_epi64(x[1], x[3]);
    }
    for (int m = 0; m < 4; m++) {
        __m512i e0 = _mm512_shuffle_i32x4(c[m], c[4 + m], 0x44);
        __m512i e1 = _mm512_shuffle_i32x4(c[m], c[4 + m], 0xee);
        __m512i e2 = _mm512_shuffle_i32x4(c[8 + m], c[12 + m], 0x44);
        __m512i e3 = _mm512_shuffle_i32x4(c[8 + m], c[12 + m], 0xee);
        out[m] = _mm512_shuffle_i32x4(e0, e2, 0x88);
        out[4 + m] = _mm512_shuffle_i32x4(e0, e2, 0xdd);
        out[8 + m] = _mm512_shuffle_i32x4(e1, e3, 0x88);
        out[12 + m] = _mm512_shuffle_i32x4(e1, e3, 0xdd);
    }
}

__attribute__((target("avx512f"))) static void avx512_pass(lane_set *ls,
                                                           size_t blocks)
{
    uint32_t s[4][MAX_LANES];
    const unsigned char *p[MAX_LANES];
    states_gather(ls, 16, s, p);
    __m512i a = _mm512_loadu_si512(s[0]), b = _mm512_loadu_si512(s[1]);
    __m512i c = _mm512_loadu_si512(s[2]), d = _mm512_loadu_si512(s[3]);
    for (; blocks; blocks--) {
        __m512i r[16], W[16];
        for (int i = 0; i < 16; i++) {
            r[i] = _mm512_loadu_si512(p[i]);
            p[i] += ls->step[i];
        }
        transpose16(r, W);
        __m512i a0 = a, b0 = b, c0 = c, d0 = d;
        MD5_STEPS();
        a = _mm512_add_epi32(a, a0);
        b = _mm512_add_epi32(b, b0);
        c = _mm512_add_epi32(c, c0);
        d = _mm512_add_epi32(d, d0);
    }
    _mm512_storeu_si512(s[0], a);
    _mm512_storeu_si512(s[1], b);
    _mm512_storeu_si512(s[2], c);
    _mm512_storeu_si512(s[3], d);
    states_scatter(ls, 16, s);
}

#undef ADD
#undef ROTL
#undef SET1
#undef FF
#undef GG
#undef HH
#undef II

#endif /* LANES_X86 */

/* ---- choosing and running an implementation ----------------------------- */

typedef struct impl {
    const char *kind;
    size_t width;
    void (*pass)(lane_set *ls, size_t blocks);
} impl;

static const impl impls[] = {
#ifdef LANES_X86
    {"avx512", 16, avx512_pass},
    {"avx2", 8, avx2_pass},
#endif
    {"scalar", 1, scalar_pass},
};

static const impl *current;
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

static int cpu_runs(const impl *im)
{
#ifdef LANES_X86
    if (strcmp(im->kind, "avx512") == 0)
        return __builtin_cpu_supports("avx512f");
    if (strcmp(im->kind, "avx2") == 0)
        return __builtin_cpu_supports("avx2");
#endif
    return strcmp(im->kind, "scalar") == 0;
}

static void choose(void)
{
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
        if (cpu_runs(&impls[i])) {
            current = &impls[i];
            return;
        }
}

static const impl *impl_now(void)
{
    pthread_once(&chosen, choose);
    return current;
}

size_t sm_md5_lanes_width(void)
{
    return impl_now()->width;
}

const char *sm_md5_lanes_kind(void)
{
    return impl_now()->kind;
}

int sm_md5_lanes_use(const char *kind)
{
    impl_now();
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
        if (strcmp(impls[i].kind, kind) == 0 && cpu_runs(&impls[i])) {
            current = &impls[i];
            return 0;
        }
    return -1;
}

/* One pass over the `used` streams in `ls`. */
static void pass_run(const impl *im, lane_set *ls, size_t used, size_t blocks)
{
    static const unsigned char zero_block[64];
    uint32_t spare[MAX_LANES][4];
    if (used <= SCALAR_MAX) { /* faster one after the other */
        for (size_t j = 0; j < used; j++)
            scalar_blocks(ls->state[j], ls->data[j], blocks);
        return;
    }
    for (size_t j = used; j < im->width; j++) {
        ls->state[j] = spare[j];
        ls->data[j] = zero_block;
        ls->step[j] = 0;
    }
    im->pass(ls, blocks);
}

void sm_md5_lanes(sm_md5 *const md[], const void *const data[], size_t n,
                  size_t blocks)
{
    const impl *im = impl_now();
    lane_set ls;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (md[i]->block_len) { /* not on a block boundary */
            sm_md5_update(md[i], data[i], blocks * 64);
            continue;
        }
        md[i]->length += (uint64_t)blocks * 64;
        ls.state[used] = md[i]->state;
        ls.data[used] = data[i];
        ls.step[used++] = 64;
        if (used == im->width) {
            pass_run(im, &ls, used, blocks);
            used = 0;
        }
    }
    if (used)
        pass_run(im, &ls, used, blocks);
}
