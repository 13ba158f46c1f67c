/* sha256: FIPS 180-4 section 6.2 for the portable path; on x86 the same
 * compression through the SHA-NI instructions (sha256rnds2, sha256msg1,
 * sha256msg2), chosen at run time, in a function compiled for them alone
 * so the rest of the build needs no extra flags. */
#include "sha256.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHANI_CODE 1
#endif

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of
 * the cube roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Section 5.3.3: the initial hash value. */
static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static atomic_int force_portable;

/* ---- portable ----------------------------------------------------------- */

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static void store_be32(unsigned char *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v); /* one store, not four */
    memcpy(p, &v, 4);
#else
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
#endif
}

/* Section 6.2.2, steps 1 to 4, for each of `n` blocks. */
static void blocks_portable(uint32_t state[8], const unsigned char *data,
                            size_t n)
{
    for (; n; n--, data += SM_SHA256_BLOCK) {
        uint32_t w[64], v[8];
        for (int t = 0; t < 16; t++)
            w[t] = load_be32(data + 4 * t);
        for (int t = 16; t < 64; t++) {
            uint32_t s0 =
                rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 =
                rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        memcpy(v, state, sizeof v);
        for (int t = 0; t < 64; t++) {
            uint32_t a = v[0], e = v[4];
            uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            uint32_t ch = (e & v[5]) ^ (~e & v[6]);
            uint32_t t1 = v[7] + S1 + ch + K[t] + w[t];
            uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            uint32_t maj = (a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]);
            v[7] = v[6];
            v[6] = v[5];
            v[5] = e;
            v[4] = v[3] + t1;
            v[3] = v[2];
            v[2] = v[1];
            v[1] = a;
            v[0] = t1 + S0 + maj;
        }
        for (int i = 0; i < 8; i++)
            state[i] += v[i];
    }
}

/* ---- SHA-NI ------------------------------------------------------------- */

#ifdef HAVE_SHANI_CODE

/* Four rounds with message words `w`; the SHA-NI state is ABEF/CDGH. */
#define ROUNDS4(k, w)                                                          \
    do {                                                                       \
        msg = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&K[k]));       \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);                         \
        msg = _mm_shuffle_epi32(msg, 0x0E);                                    \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, msg);                         \
    } while (0)

/* The schedule: `next` gets its last term from `cur` and `prev` ... */
#define SCHED2(next, cur, prev)                                                \
    do {                                                                       \
        next = _mm_add_epi32(next, _mm_alignr_epi8(cur, prev, 4));             \
        next = _mm_sha256msg2_epu32(next, cur);                                \
    } while (0)

/* ... and `prev` its first from `cur`, four groups ahead. */
#define SCHED1(prev, cur) prev = _mm_sha256msg1_epu32(prev, cur)

__attribute__((target("sha,sse4.1"))) static void
blocks_shani(uint32_t state[8], const unsigned char *data, size_t n)
{
    const __m128i bswap =
        _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i cdgh = _mm_loadu_si128((const __m128i *)&state[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);           /* CDAB */
    cdgh = _mm_shuffle_epi32(cdgh, 0x1B);         /* EFGH */
    __m128i abef = _mm_alignr_epi8(tmp, cdgh, 8); /* ABEF */
    cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);      /* CDGH */
    for (; n; n--, data += SM_SHA256_BLOCK) {
        __m128i abef_save = abef, cdgh_save = cdgh, msg;
        const __m128i *p = (const __m128i *)data;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128(p), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128(p + 1), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128(p + 2), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128(p + 3), bswap);
        ROUNDS4(0, m0);
        ROUNDS4(4, m1);
        SCHED1(m0, m1);
        ROUNDS4(8, m2);
        SCHED1(m1, m2);
        for (int k = 12; k < 44; k += 16) {
            ROUNDS4(k, m3);
            SCHED2(m0, m3, m2);
            SCHED1(m2, m3);
            ROUNDS4(k + 4, m0);
            SCHED2(m1, m0, m3);
            SCHED1(m3, m0);
            ROUNDS4(k + 8, m1);
            SCHED2(m2, m1, m0);
            SCHED1(m0, m1);
            ROUNDS4(k + 12, m2);
            SCHED2(m3, m2, m1);
            SCHED1(m1, m2);
        }
        ROUNDS4(44, m3);
        SCHED2(m0, m3, m2);
        SCHED1(m2, m3);
        ROUNDS4(48, m0);
        SCHED2(m1, m0, m3);
        SCHED1(m3, m0);
        ROUNDS4(52, m1);
        SCHED2(m2, m1, m0);
        ROUNDS4(56, m2);
        SCHED2(m3, m2, m1);
        ROUNDS4(60, m3);
        abef = _mm_add_epi32(abef, abef_save);
        cdgh = _mm_add_epi32(cdgh, cdgh_save);
    }
    tmp = _mm_shuffle_epi32(abef, 0x1B);     /* FEBA */
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1);    /* DCHG */
    abef = _mm_blend_epi16(tmp, cdgh, 0xF0); /* DCBA */
    cdgh = _mm_alignr_epi8(cdgh, tmp, 8);    /* HGFE */
    _mm_storeu_si128((__m128i *)&state[0], abef);
    _mm_storeu_si128((__m128i *)&state[4], cdgh);
}

/* CPUID leaf 7 EBX bit 29 (SHA) and leaf 1 ECX bit 19 (SSE4.1), asked
 * once: __builtin_cpu_supports("sha") would say the same, but clang 14
 * does not know that name. A race only computes the same answer twice. */
static int cpu_has_shani(void)
{
    static atomic_int known = -1;
    int has = atomic_load_explicit(&known, memory_order_relaxed);
    if (has < 0) {
        unsigned a, b, c, d;
        has = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_1) &&
              __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
        atomic_store_explicit(&known, has, memory_order_relaxed);
    }
    return has;
}

static int shani_usable(void)
{
    return !atomic_load_explicit(&force_portable, memory_order_relaxed) &&
           cpu_has_shani();
}

#else

static int shani_usable(void)
{
    return 0;
}

#endif

static void blocks(uint32_t state[8], const unsigned char *data, size_t n)
{
#ifdef HAVE_SHANI_CODE
    if (shani_usable()) {
        blocks_shani(state, data, n);
        return;
    }
#endif
    blocks_portable(state, data, n);
}

int sm_sha256_force_portable(int on)
{
    atomic_store(&force_portable, on != 0);
    return shani_usable();
}

/* ---- the incremental API ------------------------------------------------ */

void sm_sha256_init(sm_sha256 *self)
{
    memcpy(self->state, H0, sizeof H0);
    self->length = 0;
    self->block_len = 0;
}

void sm_sha256_update(sm_sha256 *self, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (!len)
        return; /* data may be NULL, which memcpy must not see */
    self->length += len;
    if (self->block_len) {
        size_t take = SM_SHA256_BLOCK - self->block_len;
        if (take > len)
            take = len;
        memcpy(self->block + self->block_len, p, take);
        self->block_len += take;
        p += take;
        len -= take;
        if (self->block_len < SM_SHA256_BLOCK)
            return;
        blocks(self->state, self->block, 1);
        self->block_len = 0;
    }
    if (len >= SM_SHA256_BLOCK) {
        size_t n = len / SM_SHA256_BLOCK;
        blocks(self->state, p, n);
        p += n * SM_SHA256_BLOCK;
        len -= n * SM_SHA256_BLOCK;
    }
    if (len) {
        memcpy(self->block, p, len);
        self->block_len = len;
    }
}

/* Section 5.1.1: a 1 bit, zeros, and the length in bits, big endian. */
void sm_sha256_final(sm_sha256 *self, unsigned char out[SM_SHA256_SIZE])
{
    uint64_t bits = self->length * 8;
    size_t n = self->block_len;
    self->block[n++] = 0x80;
    if (n > SM_SHA256_BLOCK - 8) {
        memset(self->block + n, 0, SM_SHA256_BLOCK - n);
        blocks(self->state, self->block, 1);
        n = 0;
    }
    memset(self->block + n, 0, SM_SHA256_BLOCK - 8 - n);
    store_be32(self->block + 56, (uint32_t)(bits >> 32));
    store_be32(self->block + 60, (uint32_t)bits);
    blocks(self->state, self->block, 1);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, self->state[i]);
    explicit_bzero(self->block, sizeof self->block);
    self->block_len = 0;
}

/* Finish a digest whose `state` has taken `prefix` bytes (whole blocks)
 * with `len` bytes of `data` and the padding: the whole blocks straight
 * from `data`, the rest from `tail`, which the caller wipes. The one-shot
 * functions use it to skip the incremental context's copying. */
static void digest_finish(uint32_t state[8], uint64_t prefix,
                          const unsigned char *data, size_t len,
                          unsigned char tail[2 * SM_SHA256_BLOCK],
                          unsigned char out[SM_SHA256_SIZE])
{
    size_t whole = len / SM_SHA256_BLOCK, rest = len % SM_SHA256_BLOCK;
    if (whole)
        blocks(state, data, whole);
    size_t n =
        rest + 9 <= SM_SHA256_BLOCK ? SM_SHA256_BLOCK : 2 * SM_SHA256_BLOCK;
    /* Zeroed a block at a time: a block is four vector stores, where the
     * padding's own length made GCC start a `rep stos`, which costs more
     * than the bytes it clears. */
    memset(tail, 0, SM_SHA256_BLOCK);
    if (n > SM_SHA256_BLOCK)
        memset(tail + SM_SHA256_BLOCK, 0, SM_SHA256_BLOCK);
    if (rest)
        memcpy(tail, data + whole * SM_SHA256_BLOCK, rest);
    tail[rest] = 0x80;
    uint64_t bits = (prefix + len) * 8;
    store_be32(tail + n - 8, (uint32_t)(bits >> 32));
    store_be32(tail + n - 4, (uint32_t)bits);
    blocks(state, tail, n / SM_SHA256_BLOCK);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, state[i]);
}

void sm_sha256_digest(const void *data, size_t len,
                      unsigned char out[SM_SHA256_SIZE])
{
    uint32_t state[8];
    unsigned char tail[2 * SM_SHA256_BLOCK];
    memcpy(state, H0, sizeof H0);
    digest_finish(state, 0, data, len, tail, out);
    explicit_bzero(tail, sizeof tail);
}

/* ---- HMAC --------------------------------------------------------------- */

void sm_hmac_sha256_init(sm_hmac_sha256 *self, const void *key, size_t len)
{
    unsigned char pad[SM_SHA256_BLOCK] = {0};
    if (len > SM_SHA256_BLOCK)
        sm_sha256_digest(key, len, pad);
    else if (len)
        memcpy(pad, key, len);
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] ^= 0x36;
    sm_sha256_init(&self->inner);
    blocks(self->inner.state, pad, 1);
    self->inner.length = SM_SHA256_BLOCK;
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    sm_sha256_init(&self->outer);
    blocks(self->outer.state, pad, 1);
    self->outer.length = SM_SHA256_BLOCK;
    explicit_bzero(pad, sizeof pad);
}

void sm_hmac_sha256_update(sm_hmac_sha256 *self, const void *data, size_t len)
{
    sm_sha256_update(&self->inner, data, len);
}

void sm_hmac_sha256_final(sm_hmac_sha256 *self,
                          unsigned char out[SM_SHA256_SIZE])
{
    unsigned char inner[SM_SHA256_SIZE];
    sm_sha256_final(&self->inner, inner);
    sm_sha256_update(&self->outer, inner, sizeof inner);
    sm_sha256_final(&self->outer, out);
    explicit_bzero(inner, sizeof inner);
    sm_hmac_sha256_wipe(self);
}

/* The same as init, update and final, in four compressions for a short
 * message and no context: SigV4 runs five of these per signature. */
void sm_hmac_sha256_mac(const void *key, size_t key_len, const void *data,
                        size_t len, unsigned char out[SM_SHA256_SIZE])
{
    struct {
        unsigned char pad[SM_SHA256_BLOCK];
        uint32_t inner[8], outer[8];
        unsigned char digest[SM_SHA256_SIZE];
        unsigned char tail[2 * SM_SHA256_BLOCK];
    } w;
    memset(w.pad, 0, sizeof w.pad);
    if (key_len > SM_SHA256_BLOCK)
        sm_sha256_digest(key, key_len, w.pad);
    else if (key_len)
        memcpy(w.pad, key, key_len);
    for (size_t i = 0; i < sizeof w.pad; i++)
        w.pad[i] ^= 0x36;
    memcpy(w.inner, H0, sizeof H0);
    blocks(w.inner, w.pad, 1);
    for (size_t i = 0; i < sizeof w.pad; i++)
        w.pad[i] ^= 0x36 ^ 0x5c;
    memcpy(w.outer, H0, sizeof H0);
    blocks(w.outer, w.pad, 1);
    digest_finish(w.inner, SM_SHA256_BLOCK, data, len, w.tail, w.digest);
    digest_finish(w.outer, SM_SHA256_BLOCK, w.digest, sizeof w.digest, w.tail,
                  out);
    explicit_bzero(&w, sizeof w);
}

void sm_hmac_sha256_wipe(sm_hmac_sha256 *self)
{
    explicit_bzero(self, sizeof *self);
}
