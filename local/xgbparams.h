/* xgbparams: the hyperparameters of the built-in XGBoost algorithm,
 * checked as its container checks them (the same names, ranges and
 * messages: "Missing required hyperparameter: num_round", "Extraneous
 * hyperparameter found: foo", "Hyperparameter eta: 2.0 is not in
 * [0, 1]") and turned into what the XGBoost C API takes: the learner's
 * parameters, and the SageMaker-only settings (num_round,
 * early_stopping_rounds, csv_weights, ...) kept apart. */
#ifndef SM_XGBPARAMS_H
#define SM_XGBPARAMS_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

#define SM_XGBPARAMS_MAX 128

/* One XGBoosterSetParam call. Strings owned. */
typedef struct sm_xgbparams_param {
    char *name;
    char *value;
} sm_xgbparams_param;

typedef struct sm_xgbparams {
    long num_round;
    long early_stopping_rounds; /* 0: no early stopping */
    int csv_weights;            /* CSV column 1 holds instance weights */
    int save_model_on_termination;
    char objective[48];        /* as given, or "" (XGBoost's default) */
    char tuning_metric[64];    /* _tuning_objective_metric, or "" */
    sm_xgbparams_param params[SM_XGBPARAMS_MAX]; /* for XGBoost, in order */
    size_t count;
    /* eval_metric entries XGBoost has no function for, which the
     * container computes from predictions ("accuracy", "f1", "r2", ...). */
    char custom_metrics[16][32];
    size_t custom_count;
    char notes[512]; /* what was changed to run here ("gpu_hist runs as
                      * hist"), for the job's log; "" when nothing */
} sm_xgbparams;

/* Check the HyperParameters map `hyperparameters` (an object of strings;
 * NULL is an empty map) and fill `out`. 0, or -1 with the container's
 * message in `err` (without the "ClientError: " the job's FailureReason
 * adds). */
int sm_xgbparams_parse(const json_t *hyperparameters, sm_xgbparams *out,
                       sm_error *err);

/* Free what `self` owns and zero it. */
void sm_xgbparams_clear(sm_xgbparams *self);

/* Nonzero when the metric named `metric` ("auc", "rmse", "ndcg@3") is
 * one the service maximizes (tuning, early stopping). */
int sm_xgbparams_metric_maximized(const char *metric);

/* Nonzero when `metric` is one of the container's metric names, those a
 * tuning objective may name after "train:" or "validation:". */
int sm_xgbparams_metric_known(const char *metric);

/* The container's metric names, comma-separated, for messages. */
void sm_xgbparams_metric_names(char *out, size_t size);

/* Nonzero when `name` is an eval_metric the container computes itself
 * rather than XGBoost ("accuracy", "f1", "mse", "r2", ...). */
int sm_xgbparams_metric_custom(const char *name);

#endif
