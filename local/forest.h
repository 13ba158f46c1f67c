/* forest: a gbtree booster's trees in flat arrays, walked in C, giving
 * XGBoost 1.7's own predictions bit for bit: float32 thresholds, `x < t`
 * goes left, a missing value (NAN) takes the node's default branch, leaf
 * values added in float in tree order to the base margin, then the
 * objective's transform. A small batch costs the walk alone, where the
 * C API parses a JSON configuration and starts an OpenMP region per call.
 * Read-only once made: one forest serves many threads at once. */
#ifndef SM_FOREST_H
#define SM_FOREST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct sm_forest sm_forest;

/* The trees of `json` (`len` bytes of XGBoost's JSON model, as
 * XGBoosterSaveModelToBuffer writes it), predicting from `base_margin`
 * (the booster's base score as a margin). New forest, or NULL with the
 * reason in `err` when the model is one the walk would not reproduce
 * exactly: another booster (dart, gblinear), categorical splits, vector
 * leaves, an objective whose transform is not here, or a threshold the
 * JSON text leaves ambiguous. */
sm_forest *sm_forest_new(const char *json, size_t len, float base_margin,
                         sm_error *err);

void sm_forest_destroy(sm_forest **self);

/* Features the trees were trained on; values per predicted row (1, or
 * the classes of multi:softprob, or the targets of a multi-target model). */
size_t sm_forest_features(const sm_forest *self);
size_t sm_forest_outputs(const sm_forest *self);

/* Predict `rows` dense rows of `cols` values each (NAN is missing, as are
 * the features past `cols`) into `out`, rows x outputs values. 0, or -1
 * when memory for the margins ran out. */
int sm_forest_predict_dense(const sm_forest *self, const float *values,
                            size_t rows, size_t cols, float *out);

/* The same for compressed sparse rows (`indptr` has rows + 1 offsets into
 * `indices` and `data`; each column at most once a row; absent entries
 * and NAN are missing; columns at or past the features are not looked
 * at, the caller refuses them). 0, or -1 when memory for one row ran
 * out. */
int sm_forest_predict_csr(const sm_forest *self, const uint64_t *indptr,
                          const uint32_t *indices, const float *data,
                          size_t rows, float *out);

/* `rows` x features probe values into `out`, from `seed`: each value a
 * threshold of a split on its feature, one float either side of it, or
 * NAN, so the rows take every kind of branch. For checking the walk
 * against XGBoost's own predictions. */
void sm_forest_probe_rows(const sm_forest *self, uint64_t seed, size_t rows,
                          float *out);

#endif
