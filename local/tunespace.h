/* tunespace: the search space of a hyperparameter tuning job. The
 * ParameterRanges of CreateHyperParameterTuningJob checked as SageMaker
 * checks them, each range one dimension of the unit cube [0,1]^d, and
 * the maps between a point of the cube and the hyperparameter values a
 * training job gets (the ScalingType at work), the enumeration of a Grid
 * search, and the small random generator the strategies draw from. */
#ifndef SM_TUNESPACE_H
#define SM_TUNESPACE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SM_TUNESPACE_MAX 90 /* 30 ranges of each of the three types */

typedef enum sm_tunespace_kind {
    SM_TUNESPACE_CONTINUOUS,
    SM_TUNESPACE_INTEGER,
    SM_TUNESPACE_CATEGORICAL,
} sm_tunespace_kind;

typedef enum sm_tunespace_scale {
    SM_TUNESPACE_LINEAR, /* also what Auto means here */
    SM_TUNESPACE_LOG,
    SM_TUNESPACE_REVERSE_LOG,
} sm_tunespace_scale;

/* One range. `values` (categorical) is borrowed from the request. */
typedef struct sm_tunespace_param {
    const char *name; /* borrowed from the request */
    sm_tunespace_kind kind;
    sm_tunespace_scale scale;
    double lo, hi; /* continuous and integer */
    const json_t *values;
    size_t count; /* categorical: how many values */
} sm_tunespace_param;

typedef struct sm_tunespace {
    sm_tunespace_param params[SM_TUNESPACE_MAX];
    size_t dims;
} sm_tunespace;

/* Read and check `ranges` (the ParameterRanges object, borrowed: the
 * space points into it, so it must outlive `out`). 0, or -1 with
 * SageMaker's ValidationException message in `err`. */
int sm_tunespace_parse(const json_t *ranges, sm_tunespace *out, sm_error *err);

/* The value of dimension `i` at coordinate `u` (in [0,1]) as the string
 * a training job gets ("0.1234", "7", "gbtree"). */
void sm_tunespace_value(const sm_tunespace *self, size_t i, double u,
                        char out[64]);

/* The coordinate of the value that `u` stands for: an integer or a
 * category is the middle of its cell, so that two points giving the same
 * hyperparameters are the same point. */
double sm_tunespace_snap(const sm_tunespace *self, size_t i, double u);

/* Grid search: how many points the grid has. -1 with SageMaker's message
 * when a range is continuous or the grid has more than `limit` points. */
int sm_tunespace_grid_size(const sm_tunespace *self, size_t limit,
                           size_t *count, sm_error *err);

/* The coordinates of grid point `index` (< grid size), into u[dims]. The
 * last range varies fastest. */
void sm_tunespace_grid_point(const sm_tunespace *self, size_t index, double *u);

/* ---- randomness --------------------------------------------------------- */

/* splitmix64: small, seedable, good enough for search (not for secrets). */
typedef struct sm_tunerng {
    uint64_t state;
} sm_tunerng;

void sm_tunerng_seed(sm_tunerng *self, uint64_t seed);
uint64_t sm_tunerng_next(sm_tunerng *self);
/* Uniform in [0, 1). */
double sm_tunerng_uniform(sm_tunerng *self);
/* Standard normal. */
double sm_tunerng_normal(sm_tunerng *self);

/* A uniform random point of the space, snapped, into u[dims]. */
void sm_tunespace_random_point(const sm_tunespace *self, sm_tunerng *rng,
                               double *u);

#endif
