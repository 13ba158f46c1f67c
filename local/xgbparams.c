/* xgbparams: one row per hyperparameter the container knows, in the
 * container's order; checking is parse, then range, then dependencies,
 * as its toolkit does. */
#include "xgbparams.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum hp_kind {
    HP_INT,
    HP_FLOAT,
    HP_CHOICE,  /* one of `choices` */
    HP_LIST,    /* comma-separated, each one of `choices` */
    HP_METRICS, /* eval_metric */
    HP_TEXT,    /* passed as written (constraints) */
} hp_kind;

/* Where XGBoost gets it. */
typedef enum hp_use {
    USE_XGB,       /* a learner parameter */
    USE_SAGEMAKER, /* read by the algorithm itself */
    USE_NONE,      /* accepted, and without effect here */
} hp_use;

typedef struct hp_row {
    const char *name;
    hp_kind kind;
    hp_use use;
    const char *interval; /* as the container prints it: "[0, 1]" */
    double lo, hi;
    int lo_open, hi_open, has_lo, has_hi;
    const char *const *choices;
} hp_row;

static const char *const boosters[] = {"gbtree", "gblinear", "dart", NULL};
static const char *const tree_methods[] = {"auto", "exact", "approx", "hist",
                                           "gpu_hist", NULL};
/* The 1.7 container's range, repeats and all (its message prints them). */
static const char *const updaters[] = {
    "grow_colmaker", "distcol",        "grow_histmaker", "grow_skmaker",
    "sync",          "refresh",        "prune",          "grow_colmaker",
    "distcol",       "grow_histmaker", "grow_colmaker",  "shotgun",
    "coord_descent", "refresh",        "prune",          NULL};
/* What its dependency check then allows with each booster. */
static const char *const linear_updaters[] = {"shotgun", "coord_descent", NULL};
static const char *const update_updaters[] = {"refresh", "prune", NULL};
static const char *const tree_updaters[] = {
    "grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync",
    "refresh",       "prune",   "grow_quantile_histmaker", NULL};
static const char *const tree_growers[] = {
    "grow_colmaker", "distcol", "grow_histmaker", "grow_quantile_histmaker",
    NULL};
static const char *const dsplits[] = {"row", "col", NULL};
static const char *const process_types[] = {"default", "update", NULL};
static const char *const grow_policies[] = {"depthwise", "lossguide", NULL};
static const char *const predictors[] = {"auto", "cpu_predictor",
                                         "gpu_predictor", NULL};
static const char *const sample_types[] = {"uniform", "weighted", NULL};
static const char *const normalize_types[] = {"tree", "forest", NULL};
static const char *const objectives[] = {
    "aft_loss_distribution", "binary:logistic", "binary:logitraw",
    "binary:hinge",          "count:poisson",   "multi:softmax",
    "multi:softprob",        "rank:pairwise",   "rank:ndcg",
    "rank:map",              "reg:linear",      "reg:squarederror",
    "reg:logistic",          "reg:gamma",       "reg:pseudohubererror",
    "reg:squaredlogerror",   "reg:absoluteerror", "reg:tweedie",
    "survival:aft",          "survival:cox",    NULL};
static const char *const booleans[] = {"true", "false", NULL};
static const char *const aft_distributions[] = {"normal", "logistic",
                                                "extreme", NULL};
static const char *const sampling_methods[] = {"uniform", "gradient_based",
                                               NULL};

/* The container's metrics (metrics.py): maximized, then minimized. */
static const char *const maximized[] = {
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary",
    "f1_macro", "map", "ndcg", "precision", "precision_macro",
    "precision_micro", "r2", "recall", "recall_macro", "recall_micro", NULL};
static const char *const minimized[] = {
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik",
    "interval-regression-accuracy", "logloss", "mae", "mape", "merror",
    "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
    "tweedie-nloglik", NULL};
/* Those XGBoost has no function for; the container computes them. */
static const char *const custom[] = {
    "accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "mse",
    "precision", "precision_macro", "precision_micro", "r2", "recall",
    "recall_macro", "recall_micro", NULL};

#define ANY 0, 0, 0, 0, 0, 0
#define AT_LEAST(n, txt) txt, n, 0, 0, 0, 1, 0
#define ABOVE(n, txt) txt, n, 0, 1, 0, 1, 0
#define CLOSED(a, b, txt) txt, a, b, 0, 0, 1, 1
#define LEFT_OPEN(a, b, txt) txt, a, b, 1, 0, 1, 1
#define OPEN(a, b, txt) txt, a, b, 1, 1, 1, 1

static const hp_row rows[] = {
    {"num_round", HP_INT, USE_SAGEMAKER, AT_LEAST(1, "[1, +inf)"), NULL},
    {"csv_weights", HP_INT, USE_SAGEMAKER, CLOSED(0, 1, "[0, 1]"), NULL},
    {"early_stopping_rounds", HP_INT, USE_SAGEMAKER, AT_LEAST(1, "[1, +inf)"),
     NULL},
    {"booster", HP_CHOICE, USE_XGB, NULL, ANY, boosters},
    {"verbosity", HP_INT, USE_XGB, CLOSED(0, 3, "[0, 3]"), NULL},
    {"nthread", HP_INT, USE_XGB, AT_LEAST(1, "[1, +inf)"), NULL},
    {"eta", HP_FLOAT, USE_XGB, CLOSED(0, 1, "[0, 1]"), NULL},
    {"gamma", HP_FLOAT, USE_XGB, AT_LEAST(0, "[0, +inf)"), NULL},
    {"max_depth", HP_INT, USE_XGB, AT_LEAST(0, "[0, +inf)"), NULL},
    {"min_child_weight", HP_FLOAT, USE_XGB, AT_LEAST(0, "[0, +inf)"), NULL},
    {"max_delta_step", HP_FLOAT, USE_XGB, AT_LEAST(0, "[0, +inf)"), NULL},
    {"subsample", HP_FLOAT, USE_XGB, LEFT_OPEN(0, 1, "(0, 1]"), NULL},
    {"colsample_bytree", HP_FLOAT, USE_XGB, LEFT_OPEN(0, 1, "(0, 1]"), NULL},
    {"colsample_bylevel", HP_FLOAT, USE_XGB, LEFT_OPEN(0, 1, "(0, 1]"), NULL},
    {"colsample_bynode", HP_FLOAT, USE_XGB, LEFT_OPEN(0, 1, "(0, 1]"), NULL},
    {"lambda", HP_FLOAT, USE_XGB, AT_LEAST(0, "[0, +inf)"), NULL},
    {"alpha", HP_FLOAT, USE_XGB, AT_LEAST(0, "[0, +inf)"), NULL},
    {"tree_method", HP_CHOICE, USE_XGB, NULL, ANY, tree_methods},
    {"sketch_eps", HP_FLOAT, USE_XGB, OPEN(0, 1, "(0, 1)"), NULL},
    {"scale_pos_weight", HP_FLOAT, USE_XGB, ABOVE(0, "(0, +inf)"), NULL},
    {"updater", HP_LIST, USE_XGB, NULL, ANY, updaters},
    {"dsplit", HP_CHOICE, USE_NONE, NULL, ANY, dsplits},
    {"refresh_leaf", HP_INT, USE_XGB, CLOSED(0, 1, "[0, 1]"), NULL},
    {"process_type", HP_CHOICE, USE_XGB, NULL, ANY, process_types},
    {"grow_policy", HP_CHOICE, USE_XGB, NULL, ANY, grow_policies},
    {"max_leaves", HP_INT, USE_XGB, AT_LEAST(0, "[0, +inf)"), NULL},
    {"max_bin", HP_INT, USE_XGB, AT_LEAST(0, "[0, +inf)"), NULL},
    {"predictor", HP_CHOICE, USE_XGB, NULL, ANY, predictors},
    {"monotone_constraints", HP_TEXT, USE_XGB, NULL, ANY, NULL},
    {"interaction_constraints", HP_TEXT, USE_XGB, NULL, ANY, NULL},
    {"sample_type", HP_CHOICE, USE_XGB, NULL, ANY, sample_types},
    {"normalize_type", HP_CHOICE, USE_XGB, NULL, ANY, normalize_types},
    {"rate_drop", HP_FLOAT, USE_XGB, CLOSED(0, 1, "[0, 1]"), NULL},
    {"one_drop", HP_INT, USE_XGB, CLOSED(0, 1, "[0, 1]"), NULL},
    {"skip_drop", HP_FLOAT, USE_XGB, CLOSED(0, 1, "[0, 1]"), NULL},
    {"lambda_bias", HP_FLOAT, USE_NONE, CLOSED(0, 1, "[0, 1]"), NULL},
    {"tweedie_variance_power", HP_FLOAT, USE_XGB, OPEN(1, 2, "(1, 2)"), NULL},
    {"objective", HP_CHOICE, USE_XGB, NULL, ANY, objectives},
    {"num_class", HP_INT, USE_XGB, AT_LEAST(2, "[2, +inf)"), NULL},
    {"base_score", HP_FLOAT, USE_XGB, AT_LEAST(0, "[0, +inf)"), NULL},
    {"_kfold", HP_INT, USE_SAGEMAKER, AT_LEAST(2, "[2, +inf)"), NULL},
    {"_num_cv_round", HP_INT, USE_SAGEMAKER, AT_LEAST(1, "[1, +inf)"), NULL},
    {"_tuning_objective_metric", HP_TEXT, USE_SAGEMAKER, NULL, ANY, NULL},
    {"eval_metric", HP_METRICS, USE_XGB, NULL, ANY, NULL},
    {"seed", HP_INT, USE_XGB,
     OPEN(-2147483648.0, 2147483647.0, "(-2147483648, 2147483647)"), NULL},
    {"num_parallel_tree", HP_INT, USE_XGB, AT_LEAST(1, "[1, +inf)"), NULL},
    {"save_model_on_termination", HP_CHOICE, USE_SAGEMAKER, NULL, ANY,
     booleans},
    {"aft_loss_distribution", HP_CHOICE, USE_XGB, NULL, ANY,
     aft_distributions},
    {"aft_loss_distribution_scale", HP_FLOAT, USE_XGB,
     AT_LEAST(0, "[0, +inf)"), NULL},
    {"single_precision_histogram", HP_CHOICE, USE_NONE, NULL, ANY, booleans},
    {"deterministic_histogram", HP_CHOICE, USE_NONE, NULL, ANY, booleans},
    {"sampling_method", HP_CHOICE, USE_XGB, NULL, ANY, sampling_methods},
    {"prob_buffer_row", HP_INT, USE_NONE, ABOVE(1, "(1.0, +inf)"), NULL},
    {"use_dask_gpu_training", HP_CHOICE, USE_NONE, NULL, ANY, booleans},
};
#define ROW_COUNT (sizeof rows / sizeof rows[0])

/* The container's declare_alias: either name is accepted. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"learning_rate", "eta"},
    {"min_split_loss", "gamma"},
    {"reg_lambda", "lambda"},
    {"reg_alpha", "alpha"},
};

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

int sm_xgbparams_metric_custom(const char *name)
{
    return in_list(custom, name);
}

int sm_xgbparams_metric_maximized(const char *metric)
{
    char base[64];
    snprintf(base, sizeof base, "%s", metric);
    char *at = strchr(base, '@');
    if (at)
        *at = '\0';
    return in_list(maximized, base);
}

int sm_xgbparams_metric_known(const char *metric)
{
    return in_list(maximized, metric) || in_list(minimized, metric);
}

void sm_xgbparams_metric_names(char *out, size_t size)
{
    size_t used = 0;
    const char *const *lists[] = {maximized, minimized};
    out[0] = '\0';
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; lists[k][i] && used < size; i++)
            used += (size_t)snprintf(out + used, size - used, "%s%s",
                                     used ? "," : "", lists[k][i]);
}

static const hp_row *row_find(const char *name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(aliases[i].alias, name) == 0)
            name = aliases[i].name;
    for (size_t i = 0; i < ROW_COUNT; i++)
        if (strcmp(rows[i].name, name) == 0)
            return &rows[i];
    return NULL;
}

/* ---- parsing values, as Python's int() and float() --------------------- */

static const char *trim(const char *s, size_t *len)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

static int parse_int(const char *text, long long *out)
{
    size_t n;
    const char *s = trim(text, &n);
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end || errno || !isdigit((unsigned char)buf[n - 1]))
        return -1;
    *out = v;
    return 0;
}

static int parse_float(const char *text, double *out)
{
    size_t n;
    const char *s = trim(text, &n);
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
        return -1; /* Python's float() takes no hex */
    char *end;
    double v = strtod(buf, &end);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

/* A float as Python's repr writes it: "2.0", "0.5", "1e-07". */
static void python_float(double v, char out[40])
{
    if (isnan(v)) {
        snprintf(out, 40, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, 40, v > 0 ? "inf" : "-inf");
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, 40, "%.*g", precision, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (!strpbrk(out, ".eEn"))
        strncat(out, ".0", 39 - strlen(out));
}

static int interval_holds(const hp_row *row, double v)
{
    if (row->has_lo && (row->lo_open ? v <= row->lo : v < row->lo))
        return 0;
    if (row->has_hi && (row->hi_open ? v >= row->hi : v > row->hi))
        return 0;
    return 1;
}

/* "['gbtree', 'gblinear', 'dart']" */
static void python_list(const char *const *items, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; items[i] && used + 1 < size; i++) {
        int n = snprintf(out + used, size - used, "%s'%s'", i ? ", " : "[",
                         items[i]);
        if (n < 0)
            return;
        used += (size_t)n < size - used ? (size_t)n : size - used - 1;
    }
    if (used + 1 < size)
        snprintf(out + used, size - used, "]");
}

/* ---- one hyperparameter ------------------------------------------------- */

static int not_parsed(const char *name, sm_error *err)
{
    return sm_error_set(err,
                        "Hyperparameter %s: could not parse value (caused by "
                        "ValueError)",
                        name);
}

static int check_number(const hp_row *row, const char *value, sm_error *err)
{
    char shown[40];
    double v;
    if (row->kind == HP_INT) {
        long long i;
        if (parse_int(value, &i))
            return not_parsed(row->name, err);
        v = (double)i;
        snprintf(shown, sizeof shown, "%lld", i);
    } else {
        if (parse_float(value, &v))
            return not_parsed(row->name, err);
        python_float(v, shown);
    }
    if (!interval_holds(row, v))
        return sm_error_set(err, "Hyperparameter %s: %s is not in %s",
                            row->name, shown, row->interval);
    return 0;
}

/* Each comma-separated piece of `value` in the list or, for eval_metric,
 * a metric the container knows ("error@0.5" with a threshold). */
static int check_list(const hp_row *row, const char *value, sm_error *err)
{
    char copy[2600], shown[2700] = "[";
    snprintf(copy, sizeof copy, "%s", value);
    int bad = 0;
    size_t used = 1;
    for (char *save = NULL, *piece = strtok_r(copy, ",", &save); piece;
         piece = strtok_r(NULL, ",", &save)) {
        int n = snprintf(shown + used, sizeof shown - used, "%s'%s'",
                         used > 1 ? ", " : "", piece);
        if (n > 0 && (size_t)n < sizeof shown - used)
            used += (size_t)n;
        if (row->kind == HP_LIST) {
            bad |= !in_list(row->choices, piece);
            continue;
        }
        char *at = strchr(piece, '@');
        if (at) {
            *at = '\0';
            if (strcmp(piece, "error") && strcmp(piece, "ndcg") &&
                strcmp(piece, "map"))
                return sm_error_set(err,
                                    "Metric '%s@%s' is not supported. "
                                    "Parameter 'eval_metric' with customized "
                                    "threshold should be one of these "
                                    "options: 'error', 'ndcg', 'map'.",
                                    piece, at + 1);
            double t;
            if (parse_float(at + 1, &t))
                return sm_error_set(err,
                                    "Threshold value 't' in '%s@t' expects "
                                    "float input.",
                                    piece);
            continue;
        }
        bad |= !in_list(maximized, piece) && !in_list(minimized, piece);
    }
    snprintf(shown + used, sizeof shown - used, "]");
    if (!bad)
        return 0;
    char range[1024];
    if (row->kind == HP_LIST) {
        python_list(row->choices, range, sizeof range);
    } else {
        char a[512], b[512];
        python_list(maximized, a, sizeof a);
        python_list(minimized, b, sizeof b);
        a[strlen(a) - 1] = '\0';
        snprintf(range, sizeof range, "%s, %s", a, b + 1);
    }
    return sm_error_set(err, "Hyperparameter %s: value %s not in range %s",
                        row->name, shown, range);
}

static int check_value(const hp_row *row, const char *value, sm_error *err)
{
    char range[1024];
    switch (row->kind) {
    case HP_INT:
    case HP_FLOAT:
        return check_number(row, value, err);
    case HP_CHOICE:
        if (in_list(row->choices, value))
            return 0;
        python_list(row->choices, range, sizeof range);
        return sm_error_set(err, "Hyperparameter %s: %s is not in %s",
                            row->name, value, range);
    case HP_LIST:
    case HP_METRICS:
        return check_list(row, value, err);
    case HP_TEXT:
        break;
    }
    return 0;
}

/* ---- the whole map ------------------------------------------------------ */

static const char *get(const json_t *hp, const char *name)
{
    const char *v = json_string_value(json_object_get(hp, name));
    for (size_t i = 0; !v && i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(aliases[i].name, name) == 0)
            v = json_string_value(json_object_get(hp, aliases[i].alias));
    return v;
}

/* updater against booster and process_type: one linear updater for
 * gblinear, refresh and prune for updates, else tree updaters with at
 * most one that grows trees. The messages are the container's, typos
 * and all, but for gblinear's, which it garbles (it formats a generator
 * object). */
static int check_updater(const char *updater, const char *booster,
                         const char *process_type, sm_error *err)
{
    char copy[2600];
    snprintf(copy, sizeof copy, "%s", updater);
    int linear = booster && !strcmp(booster, "gblinear");
    int update = process_type && !strcmp(process_type, "update");
    size_t count = 0, growers = 0, linears = 0;
    for (char *save = NULL, *u = strtok_r(copy, ",", &save); u;
         u = strtok_r(NULL, ",", &save)) {
        count++;
        linears += (size_t)in_list(linear_updaters, u);
        if (!linear && update && !in_list(update_updaters, u))
            return sm_error_set(err, "process_type 'update' can only be used "
                                     "with updater 'refresh' and 'prune'");
        if (!linear && !update && !in_list(tree_updaters, u))
            return sm_error_set(
                err, "Tree updater should be selected from these options: "
                     "'grow_colmaker', 'distcol', 'grow_histmaker', "
                     "'grow_skmaker', 'grow_quantile_histmaker', 'sync', "
                     "'refresh', 'prune', 'shortgun', 'coord_descent'.");
        growers += (size_t)in_list(tree_growers, u);
    }
    if (linear && (count != 1 || linears != 1))
        return sm_error_set(err, "Linear updater should be one of these "
                                 "options: 'shotgun', 'coord_descent'.");
    if (!linear && !update && growers > 1)
        return sm_error_set(err, "Only one tree grow plugin can be selected. "
                                 "Choose one from thefollowing: "
                                 "'grow_colmaker', 'distcol', "
                                 "'grow_histmaker', 'grow_skmaker'");
    return 0;
}

/* The checks between hyperparameters (the container's dependencies). */
static int check_dependencies(const json_t *hp, sm_error *err)
{
    const char *objective = get(hp, "objective");
    const char *num_class = get(hp, "num_class");
    const char *metrics = get(hp, "eval_metric");
    const char *tree_method = get(hp, "tree_method");
    const char *updater = get(hp, "updater");
    if (updater && check_updater(updater, get(hp, "booster"),
                                 get(hp, "process_type"), err))
        return -1;
    if (objective && !strncmp(objective, "multi:", 6) && !num_class)
        return sm_error_set(err, "Require input for parameter 'num_class' for "
                                 "multi-classification");
    if (metrics) {
        char copy[2600];
        snprintf(copy, sizeof copy, "%s", metrics);
        const char *obj = objective ? objective : "reg:squarederror";
        for (char *save = NULL, *m = strtok_r(copy, ",", &save); m;
             m = strtok_r(NULL, ",", &save)) {
            if (!strcmp(m, "auc") && strncmp(obj, "binary:", 7) &&
                strncmp(obj, "rank:", 5))
                return sm_error_set(err,
                                    "Metric 'auc' can only be applied for "
                                    "classification and ranking problems.");
            if (!strcmp(m, "aft-nloglik") && strcmp(obj, "survival:aft"))
                return sm_error_set(err,
                                    "Metric 'aft-nloglik' can only be "
                                    "applied for 'survival:aft' objective.");
        }
    }
    if (get(hp, "monotone_constraints") &&
        (!tree_method || (strcmp(tree_method, "exact") &&
                          strcmp(tree_method, "hist"))))
        return sm_error_set(err, "monotone_constraints can be used only when "
                                 "the tree_method parameter is set to either "
                                 "'exact' or 'hist'.");
    if (get(hp, "interaction_constraints") &&
        (!tree_method ||
         (strcmp(tree_method, "exact") && strcmp(tree_method, "hist") &&
          strcmp(tree_method, "approx"))))
        return sm_error_set(err, "interaction_constraints can be used only "
                                 "when the tree_method parameter is set to "
                                 "either 'exact', 'hist' or 'approx'.");
    return 0;
}

static int add_param(sm_xgbparams *out, const char *name, const char *value,
                     sm_error *err)
{
    if (out->count == SM_XGBPARAMS_MAX)
        return sm_error_set(err, "too many hyperparameters");
    sm_xgbparams_param *p = &out->params[out->count];
    p->name = strdup(name);
    p->value = strdup(value);
    if (!p->name || !p->value) {
        free(p->name);
        free(p->value);
        return sm_error_set(err, "out of memory");
    }
    out->count++;
    return 0;
}

static void note(sm_xgbparams *out, const char *text)
{
    size_t n = strlen(out->notes);
    snprintf(out->notes + n, sizeof out->notes - n, "%s%s", n ? " " : "",
             text);
}

/* eval_metric: one SetParam per metric XGBoost knows; the others are
 * computed by the trainer. */
static int add_metrics(sm_xgbparams *out, const char *value, sm_error *err)
{
    char copy[2600];
    snprintf(copy, sizeof copy, "%s", value);
    for (char *save = NULL, *m = strtok_r(copy, ",", &save); m;
         m = strtok_r(NULL, ",", &save)) {
        if (!sm_xgbparams_metric_custom(m)) {
            if (add_param(out, "eval_metric", m, err))
                return -1;
        } else if (out->custom_count <
                   sizeof out->custom_metrics / sizeof out->custom_metrics[0]) {
            snprintf(out->custom_metrics[out->custom_count++],
                     sizeof out->custom_metrics[0], "%s", m);
        }
    }
    return 0;
}

/* The container evaluates the tuning objective's metric whether or not
 * eval_metric names it ("validation:auc" adds auc). */
static int add_tuning_metric(sm_xgbparams *out, sm_error *err)
{
    const char *colon = strchr(out->tuning_metric, ':');
    const char *metric = colon ? colon + 1 : out->tuning_metric;
    if (!*metric || !sm_xgbparams_metric_known(metric))
        return 0;
    for (size_t i = 0; i < out->count; i++)
        if (!strcmp(out->params[i].name, "eval_metric") &&
            !strcmp(out->params[i].value, metric))
            return 0;
    for (size_t i = 0; i < out->custom_count; i++)
        if (!strcmp(out->custom_metrics[i], metric))
            return 0;
    return add_metrics(out, metric, err);
}

/* What the row's value becomes for XGBoost or for the trainer. */
static int take(sm_xgbparams *out, const hp_row *row, const char *value,
                sm_error *err)
{
    const char *name = row->name;
    if (row->use == USE_NONE)
        return 0;
    if (row->use == USE_SAGEMAKER) {
        if (!strcmp(name, "num_round"))
            out->num_round = strtol(value, NULL, 10);
        else if (!strcmp(name, "early_stopping_rounds"))
            out->early_stopping_rounds = strtol(value, NULL, 10);
        else if (!strcmp(name, "csv_weights"))
            out->csv_weights = (int)strtol(value, NULL, 10);
        else if (!strcmp(name, "save_model_on_termination"))
            out->save_model_on_termination = !strcmp(value, "true");
        else if (!strcmp(name, "_tuning_objective_metric"))
            snprintf(out->tuning_metric, sizeof out->tuning_metric, "%s",
                     value);
        else if (!strcmp(name, "_kfold") || !strcmp(name, "_num_cv_round"))
            return sm_error_set(err, "Hyperparameter %s: k-fold cross "
                                     "validation is not offered by "
                                     "sagemagic-local; leave it out",
                                name);
        return 0;
    }
    if (row->kind == HP_METRICS)
        return add_metrics(out, value, err);
    if (!strcmp(name, "tree_method") && !strcmp(value, "gpu_hist")) {
        note(out, "This machine has no GPU: tree_method gpu_hist runs as "
                  "hist.");
        return add_param(out, name, "hist", err);
    }
    if (!strcmp(name, "predictor") && !strcmp(value, "gpu_predictor")) {
        note(out, "This machine has no GPU: predictor gpu_predictor runs as "
                  "cpu_predictor.");
        return add_param(out, name, "cpu_predictor", err);
    }
    if (!strcmp(name, "objective"))
        snprintf(out->objective, sizeof out->objective, "%s", value);
    return add_param(out, name, value, err);
}

int sm_xgbparams_parse(const json_t *hp, sm_xgbparams *out, sm_error *err)
{
    *out = (sm_xgbparams){0};
    const char *key;
    json_t *value;
    /* The SageMaker SDK's XGBoost estimator with an entry_point runs the
     * user's script in the same image, marked by sagemaker_program: the
     * container's script mode, which runs code this service does not. */
    const char *program = get(hp, "sagemaker_program");
    if (program)
        return sm_error_set(
            err,
            "This job asks for script mode (sagemaker_program %s, as the "
            "SageMaker SDK's XGBoost estimator with an entry_point sends): "
            "sagemagic-local runs only the built-in XGBoost algorithm, not "
            "training scripts. Use the built-in algorithm (an Estimator "
            "with the xgboost image and its hyperparameters, or %%train), "
            "or run the script on AWS.",
            program);
    if (!get(hp, "num_round"))
        return sm_error_set(err, "Missing required hyperparameter: num_round");
    json_object_foreach((json_t *)hp, key, value)
    {
        if (!row_find(key))
            return sm_error_set(err, "Extraneous hyperparameter found: %s",
                                key);
        if (!json_is_string(value))
            return not_parsed(key, err);
    }
    json_object_foreach((json_t *)hp, key, value)
    {
        if (check_value(row_find(key), json_string_value(value), err))
            return -1;
    }
    if (check_dependencies(hp, err))
        return -1;
    json_object_foreach((json_t *)hp, key, value)
    {
        if (take(out, row_find(key), json_string_value(value), err)) {
            sm_xgbparams_clear(out);
            return -1;
        }
    }
    if (add_tuning_metric(out, err)) {
        sm_xgbparams_clear(out);
        return -1;
    }
    return 0;
}

void sm_xgbparams_clear(sm_xgbparams *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free(self->params[i].name);
        free(self->params[i].value);
    }
    *self = (sm_xgbparams){0};
}
