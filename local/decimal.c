/* decimal: Clinger's fast path into a double, then to float when that
 * second rounding cannot differ from rounding the exact value. */
#include "decimal.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

#define MAX_DIGITS 19 /* below 10^19 fits in 64 bits */

static const double pow10_exact[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int digit_at(const char *p, const char *end)
{
    return p < end && (unsigned)(*p - '0') < 10;
}

/* The digits of [p, end), with or without a point, into *m and a power of
 * ten; NULL past MAX_DIGITS significant digits or when there is none. */
static const char *mantissa(const char *p, const char *end, uint64_t *m,
                            int *exp10)
{
    int digits = 0, any = 0, after_point = 0;
    for (;; p++) {
        if (p < end && *p == '.' && !after_point) {
            after_point = 1;
            continue;
        }
        if (!digit_at(p, end))
            break;
        any = 1;
        *exp10 -= after_point;
        if (*m == 0 && *p == '0') /* leading zeros are not significant */
            continue;
        if (++digits > MAX_DIGITS)
            return NULL;
        *m = *m * 10 + (uint64_t)(*p - '0');
    }
    return any ? p : NULL;
}

static const char *exponent(const char *p, const char *end, int *exp10)
{
    if (p == end || (*p != 'e' && *p != 'E'))
        return p;
    p++;
    int neg = p < end && *p == '-';
    if (p < end && (*p == '-' || *p == '+'))
        p++;
    if (!digit_at(p, end))
        return NULL;
    int e = 0;
    for (; digit_at(p, end); p++)
        if (e < 100000)
            e = e * 10 + (*p - '0');
    *exp10 += neg ? -e : e;
    return p;
}

/* Sign, digits and exponent of the number at s; NULL when there is none
 * of the plain form. */
static const char *decimal_parts(const char *s, const char *end, int *neg,
                                 uint64_t *m, int *exp10)
{
    *neg = s < end && *s == '-';
    if (s < end && (*s == '-' || *s == '+'))
        s++;
    *m = 0;
    *exp10 = 0;
    const char *p = mantissa(s, end, m, exp10);
    return p ? exponent(p, end, exp10) : NULL;
}

/* Clinger's fast path: exact operands, so one correctly rounded double
 * operation gives the double nearest the decimal. -1 out of its reach. */
static int fast_double(uint64_t m, int exp10, double *out)
{
    if (m > (1ULL << 53) || exp10 < -22 || exp10 > 22)
        return -1;
    double d = (double)m;
    *out = exp10 < 0 ? d / pow10_exact[-exp10] : d * pow10_exact[exp10];
    return 0;
}

const char *sm_decimal_double(const char *s, const char *end, double *out)
{
    int neg;
    uint64_t m;
    int exp10;
    const char *p = decimal_parts(s, end, &neg, &m, &exp10);
    double d = 0;
    if (!p || (m != 0 && fast_double(m, exp10, &d)))
        return NULL;
    *out = neg ? -d : d;
    return p;
}

const char *sm_decimal_float(const char *s, const char *end, float *out)
{
    int neg;
    uint64_t m;
    int exp10;
    const char *p = decimal_parts(s, end, &neg, &m, &exp10);
    if (!p)
        return NULL;
    if (m == 0) {
        *out = neg ? -0.0f : 0.0f;
        return p;
    }
    double d;
    if (fast_double(m, exp10, &d) || !(d >= FLT_MIN && d <= FLT_MAX))
        return NULL;
    /* A double that is not itself halfway between two floats lies on the
     * same side of every halfway point as the exact value, so rounding it
     * to float rounds the exact value. */
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    if ((bits & ((1ULL << 29) - 1)) == 1ULL << 28)
        return NULL;
    float f = (float)d;
    *out = neg ? -f : f;
    return p;
}
