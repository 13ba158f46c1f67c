/* test_local_decimal: the CSV number reader gives strtof's float (and
 * strtod's double), bit for bit, on random numbers of every form it
 * accepts, and hands the rest (ties, long mantissas, subnormals, hex,
 * inf) back to strtof. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "test.h"

static uint64_t rng_state = 20261126;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A random string in the forms CSV files hold, and some they should not. */
static int random_number(char *out, size_t size)
{
    static const char extra[] = "0123456789.eE+-x ";
    uint64_t r = next_random();
    float f;
    double d;
    memcpy(&f, &r, sizeof f);
    memcpy(&d, &r, sizeof d);
    switch (r % 8) {
    case 0:
        snprintf(out, size, "%.6f", (double)(int32_t)(r >> 32) / 1e5);
        break;
    case 1:
        snprintf(out, size, "%.*g", (int)(r >> 60) + 1, isfinite(f) ? f : 1.f);
        break;
    case 2:
        snprintf(out, size, "%.17g", isfinite(d) ? d : 2.0);
        break;
    case 3: /* integers around 2^24..2^27, where floats have ties */
        snprintf(out, size, "%llu",
                 (unsigned long long)((r >> 40) % (1 << 27)));
        break;
    case 4:
        snprintf(out, size, "%.*e", (int)(r >> 59) % 20,
                 (double)(r >> 11) * 1e-12);
        break;
    default: { /* digits, points, signs and exponents at random */
        size_t n = (size_t)(r >> 8) % 24 + 1;
        for (size_t i = 0; i < n && i + 1 < size; i++)
            out[i] =
                extra[next_random() % (sizeof extra - 1 - (r % 3 ? 4 : 0))];
        out[n < size ? n : size - 1] = '\0';
    }
    }
    return (int)(r % 8);
}

static int agrees(const char *s)
{
    size_t len = strlen(s);
    float ours = 0;
    const char *stop = sm_decimal_float(s, s + len, &ours);
    if (stop != s + len)
        return -1; /* not taken, or not the whole string: strtof decides */
    char *end;
    float theirs = strtof(s, &end);
    if (end != s + len || memcmp(&ours, &theirs, sizeof ours) != 0) {
        fprintf(stderr, "decimal: '%s' gives %a, strtof %a\n", s, ours, theirs);
        return 0;
    }
    return 1;
}

TEST(local_decimal_matches_strtof)
{
    char s[64];
    long taken = 0, n = 400000;
    for (long i = 0; i < n; i++) {
        int form = random_number(s, sizeof s);
        int r = agrees(s);
        CHECK(r != 0);
        CHECK(r == 1 || form != 0); /* "%.6f" always goes the fast way */
        taken += r == 1;
    }
    CHECK(taken > n / 3);
    /* Decimals whose nearest double is a float tie while they are not. */
    static const char *const near_ties[] = {
        "0.2074914053082466", "0.7779470384120941", "0.7110197246074676",
        "0.7110197246074677"};
    for (size_t i = 0; i < sizeof near_ties / sizeof *near_ties; i++)
        CHECK(agrees(near_ties[i]) != 0);
}

/* The double reader (the service's CSV requests) against strtod. */
static int agrees_double(const char *s)
{
    size_t len = strlen(s);
    double ours = 0;
    const char *stop = sm_decimal_double(s, s + len, &ours);
    if (stop != s + len)
        return -1;
    char *end;
    double theirs = strtod(s, &end);
    if (end != s + len || memcmp(&ours, &theirs, sizeof ours) != 0) {
        fprintf(stderr, "decimal: '%s' gives %a, strtod %a\n", s, ours, theirs);
        return 0;
    }
    return 1;
}

TEST(local_decimal_double_matches_strtod)
{
    char s[64];
    long taken = 0, n = 400000;
    for (long i = 0; i < n; i++) {
        int form = random_number(s, sizeof s);
        int r = agrees_double(s);
        CHECK(r != 0);
        CHECK(r == 1 || form != 0);
        taken += r == 1;
    }
    CHECK(taken > n / 3);
    double v = 1;
    const char *big = "12345678901234567890"; /* past 2^53: strtod's */
    CHECK(sm_decimal_double(big, big + 20, &v) == NULL);
    const char *z = "-0.000";
    CHECK(sm_decimal_double(z, z + 6, &v) == z + 6 && v == 0 && signbit(v));
}

TEST(local_decimal_hands_back_what_it_cannot_round)
{
    static const char *const back[] = {
        "16777217",               /* a tie between two floats */
        "1.00000000000000000001", /* more than 19 digits */
        "1e-40",                  /* subnormal */
        "1e39",                   /* overflow */
        "-",
        ".",
        "e5",
        "1e",
        "inf",
        "nan",
        "",
    };
    for (size_t i = 0; i < sizeof back / sizeof *back; i++) {
        float v;
        const char *s = back[i];
        const char *stop = sm_decimal_float(s, s + strlen(s), &v);
        CHECK(stop != s + strlen(s) || !*s);
        CHECK(*s || stop == NULL);
    }
    float v = 1;
    const char *h = "0x10";
    CHECK(sm_decimal_float(h, h + 4, &v) == h + 1 && v == 0); /* stops at x */
    const char *z = "-0.000";
    CHECK(sm_decimal_float(z, z + 6, &v) == z + 6 && v == 0 && signbit(v));
    const char *f = "12.5,3";
    CHECK(sm_decimal_float(f, f + 6, &v) == f + 4 && v == 12.5f);
}
