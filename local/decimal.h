/* decimal: the plain decimal numbers CSV data is made of ("-1.234567",
 * "3", "2.5e-3") read without strtof or strtod, giving the float strtof
 * or the double strtod gives; anything else is left to them. */
#ifndef SM_DECIMAL_H
#define SM_DECIMAL_H

/* Read the number at the start of [s, end): an optional sign, digits with
 * an optional point, an optional exponent. Returns where it stops, with
 * the correctly rounded value in *out; NULL when there is no number of
 * that form there, or when its rounding needs strtof (more than 19
 * significant digits, a large exponent, a subnormal or a tie). */
const char *sm_decimal_float(const char *s, const char *end, float *out);

/* The same into the double strtod gives, by Clinger's fast path alone:
 * NULL also when the digits exceed 2^53 or the power of ten 10^22. */
const char *sm_decimal_double(const char *s, const char *end, double *out);

#endif
