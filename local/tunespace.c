/* tunespace: ranges in, the unit cube out and back. Integers and
 * categories own equal cells of [0,1] (on their scale), so a uniform
 * coordinate gives every value its fair share. */
#include "tunespace.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading the ranges ------------------------------------------------- */

static const char *const members[] = {"ContinuousParameterRanges",
                                      "IntegerParameterRanges",
                                      "CategoricalParameterRanges"};

static int bound(const sm_tunespace_param *p, const char *what,
                 const char *text, double *out, sm_error *err)
{
    char *end = NULL;
    errno = 0;
    if (text && p->kind == SM_TUNESPACE_INTEGER)
        *out = (double)strtoll(text, &end, 10);
    else if (text)
        *out = strtod(text, &end);
    if (!text || !*text || *end || errno || !isfinite(*out))
        return sm_error_set(err,
                            "The %s [%s] of the hyperparameter [%s] is not "
                            "%s.",
                            what, text ? text : "null", p->name,
                            p->kind == SM_TUNESPACE_INTEGER ? "an integer"
                                                            : "a number");
    return 0;
}

static int scaling(const json_t *range, sm_tunespace_param *p, sm_error *err)
{
    const json_t *v = json_object_get(range, "ScalingType");
    const char *s = json_string_value(v);
    p->scale = SM_TUNESPACE_LINEAR;
    if (!v || json_is_null(v) ||
        (s && (!strcmp(s, "Auto") || !strcmp(s, "Linear"))))
        return 0;
    if (s && !strcmp(s, "Logarithmic")) {
        p->scale = SM_TUNESPACE_LOG;
        if (p->lo <= 0)
            return sm_error_set(err,
                                "The hyperparameter [%s] uses Logarithmic "
                                "scaling, which works only for ranges that "
                                "have only values greater than 0.",
                                p->name);
        return 0;
    }
    if (s && !strcmp(s, "ReverseLogarithmic")) {
        p->scale = SM_TUNESPACE_REVERSE_LOG;
        if (p->kind != SM_TUNESPACE_CONTINUOUS)
            return sm_error_set(err,
                                "The hyperparameter [%s] uses "
                                "ReverseLogarithmic scaling, which is "
                                "supported only for continuous ranges.",
                                p->name);
        if (p->lo < 0 || p->hi >= 1)
            return sm_error_set(err,
                                "The hyperparameter [%s] uses "
                                "ReverseLogarithmic scaling, which works "
                                "only for ranges that are entirely within "
                                "the range 0<=x<1.0.",
                                p->name);
        return 0;
    }
    return sm_error_set(err,
                        "1 validation error detected: Value '%s' at "
                        "'scalingType' failed to satisfy constraint: Member "
                        "must satisfy enum value set: [Auto, Linear, "
                        "Logarithmic, ReverseLogarithmic]",
                        s ? s : "(not a string)");
}

static int numeric(const json_t *range, sm_tunespace_param *p, sm_error *err)
{
    if (bound(p, "MinValue",
              json_string_value(json_object_get(range, "MinValue")), &p->lo,
              err) ||
        bound(p, "MaxValue",
              json_string_value(json_object_get(range, "MaxValue")), &p->hi,
              err))
        return -1;
    if (p->lo > p->hi)
        return sm_error_set(err,
                            "The MinValue of the hyperparameter [%s] must "
                            "be less than or equal to its MaxValue.",
                            p->name);
    return scaling(range, p, err);
}

static int categorical(const json_t *range, sm_tunespace_param *p,
                       sm_error *err)
{
    const json_t *values = json_object_get(range, "Values");
    size_t n = json_array_size(values);
    if (!json_is_array(values) || n < 1 || n > 30)
        return sm_error_set(err,
                            "The categorical hyperparameter [%s] needs "
                            "between 1 and 30 Values.",
                            p->name);
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_array_get(values, i));
        if (!v || strlen(v) > 256)
            return sm_error_set(err,
                                "The Values of the categorical "
                                "hyperparameter [%s] must be strings of at "
                                "most 256 characters.",
                                p->name);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(v, json_string_value(json_array_get(values, k))))
                return sm_error_set(err,
                                    "The categorical hyperparameter [%s] "
                                    "lists the value [%s] twice.",
                                    p->name, v);
    }
    p->values = values;
    p->count = n;
    return 0;
}

static int one_range(sm_tunespace *out, const json_t *range,
                     sm_tunespace_kind kind, sm_error *err)
{
    sm_tunespace_param *p = &out->params[out->dims];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->name = json_string_value(json_object_get(range, "Name"));
    if (!json_is_object(range) || !p->name || !*p->name ||
        strlen(p->name) > 256)
        return sm_error_set(err, "Each parameter range needs a Name of 1 to "
                                 "256 characters.");
    for (size_t i = 0; i < out->dims; i++)
        if (!strcmp(out->params[i].name, p->name))
            return sm_error_set(err,
                                "The hyperparameter [%s] has more than one "
                                "range; give each hyperparameter one range.",
                                p->name);
    if (kind == SM_TUNESPACE_CATEGORICAL ? categorical(range, p, err)
                                         : numeric(range, p, err))
        return -1;
    out->dims++;
    return 0;
}

int sm_tunespace_parse(const json_t *ranges, sm_tunespace *out, sm_error *err)
{
    memset(out, 0, sizeof *out);
    if (ranges && !json_is_object(ranges))
        return sm_error_set(err, "ParameterRanges must be an object.");
    for (int k = 0; k < 3; k++) {
        const json_t *list = json_object_get(ranges, members[k]);
        if (!list || json_is_null(list))
            continue;
        if (!json_is_array(list) || json_array_size(list) > 30)
            return sm_error_set(err,
                                "1 validation error detected: Value at "
                                "'hyperParameterTuningJobConfig.parameter"
                                "Ranges.%c%s' failed to satisfy constraint: "
                                "Member must have length less than or equal "
                                "to 30",
                                members[k][0] + 32, members[k] + 1);
        for (size_t i = 0; i < json_array_size(list); i++)
            if (one_range(out, json_array_get(list, i), (sm_tunespace_kind)k,
                          err))
                return -1;
    }
    if (!out->dims)
        return sm_error_set(err, "The tuning job has no hyperparameter to "
                                 "tune: ParameterRanges needs at least one "
                                 "range.");
    return 0;
}

/* ---- the cube ----------------------------------------------------------- */

static double clamp01(double u)
{
    return u < 0 ? 0 : u > 1 ? 1 : u;
}

/* Cells of an integer range or a category list. */
static double cells(const sm_tunespace_param *p)
{
    return p->kind == SM_TUNESPACE_CATEGORICAL ? (double)p->count
                                               : p->hi - p->lo + 1;
}

/* An integer range on the log scale spans [lo, hi + 1): each integer
 * owns [v, v + 1). */
static long long integer_at(const sm_tunespace_param *p, double u)
{
    double v;
    if (p->scale == SM_TUNESPACE_LOG)
        v = floor(exp(log(p->lo) + u * (log(p->hi + 1) - log(p->lo))));
    else
        v = p->lo + floor(u * cells(p));
    return (long long)(v < p->lo ? p->lo : v > p->hi ? p->hi : v);
}

static double continuous_at(const sm_tunespace_param *p, double u)
{
    double v;
    if (p->scale == SM_TUNESPACE_LOG)
        v = exp(log(p->lo) + u * (log(p->hi) - log(p->lo)));
    else if (p->scale == SM_TUNESPACE_REVERSE_LOG)
        v = 1 - exp(log(1 - p->lo) + u * (log(1 - p->hi) - log(1 - p->lo)));
    else
        v = p->lo + u * (p->hi - p->lo);
    return v < p->lo ? p->lo : v > p->hi ? p->hi : v;
}

void sm_tunespace_value(const sm_tunespace *self, size_t i, double u,
                        char out[64])
{
    const sm_tunespace_param *p = &self->params[i];
    u = clamp01(u);
    if (p->kind == SM_TUNESPACE_CATEGORICAL) {
        size_t k = (size_t)floor(u * (double)p->count);
        k = k >= p->count ? p->count - 1 : k;
        snprintf(out, 64, "%s",
                 json_string_value(json_array_get(p->values, k)));
    } else if (p->kind == SM_TUNESPACE_INTEGER) {
        snprintf(out, 64, "%lld", integer_at(p, u));
    } else {
        snprintf(out, 64, "%.10g", continuous_at(p, u));
    }
}

double sm_tunespace_snap(const sm_tunespace *self, size_t i, double u)
{
    const sm_tunespace_param *p = &self->params[i];
    u = clamp01(u);
    if (p->kind == SM_TUNESPACE_CONTINUOUS)
        return u;
    if (p->kind == SM_TUNESPACE_CATEGORICAL) {
        double k = floor(u * (double)p->count);
        k = k >= (double)p->count ? (double)p->count - 1 : k;
        return (k + 0.5) / (double)p->count;
    }
    double v = (double)integer_at(p, u);
    if (p->scale == SM_TUNESPACE_LOG)
        return (log(v + 0.5) - log(p->lo)) / (log(p->hi + 1) - log(p->lo));
    return (v - p->lo + 0.5) / cells(p);
}

int sm_tunespace_grid_size(const sm_tunespace *self, size_t limit,
                           size_t *count, sm_error *err)
{
    double n = 1;
    for (size_t i = 0; i < self->dims; i++) {
        if (self->params[i].kind == SM_TUNESPACE_CONTINUOUS)
            return sm_error_set(err,
                                "The Grid strategy supports only "
                                "categorical and integer parameter ranges; "
                                "[%s] is a continuous range.",
                                self->params[i].name);
        n *= cells(&self->params[i]);
    }
    if (n > (double)limit)
        return sm_error_set(err,
                            "The grid of the tuning job has %.0f "
                            "combinations of hyperparameter values, more "
                            "than the %zu training jobs a tuning job may "
                            "run.",
                            n, limit);
    *count = (size_t)n;
    return 0;
}

void sm_tunespace_grid_point(const sm_tunespace *self, size_t index, double *u)
{
    for (size_t d = self->dims; d-- > 0;) {
        const sm_tunespace_param *p = &self->params[d];
        size_t n = (size_t)cells(p);
        size_t k = index % n;
        index /= n;
        if (p->kind == SM_TUNESPACE_INTEGER && p->scale == SM_TUNESPACE_LOG) {
            double v = p->lo + (double)k;
            u[d] = (log(v + 0.5) - log(p->lo)) / (log(p->hi + 1) - log(p->lo));
        } else {
            u[d] = ((double)k + 0.5) / (double)n;
        }
    }
}

/* ---- randomness --------------------------------------------------------- */

void sm_tunerng_seed(sm_tunerng *self, uint64_t seed)
{
    self->state = seed;
}

uint64_t sm_tunerng_next(sm_tunerng *self)
{
    uint64_t z = (self->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double sm_tunerng_uniform(sm_tunerng *self)
{
    return (double)(sm_tunerng_next(self) >> 11) * 0x1.0p-53;
}

double sm_tunerng_normal(sm_tunerng *self)
{
    double a = sm_tunerng_uniform(self), b = sm_tunerng_uniform(self);
    return sqrt(-2 * log(1 - a)) * cos(2 * M_PI * b);
}

void sm_tunespace_random_point(const sm_tunespace *self, sm_tunerng *rng,
                               double *u)
{
    for (size_t i = 0; i < self->dims; i++)
        u[i] = sm_tunespace_snap(self, i, sm_tunerng_uniform(rng));
}
