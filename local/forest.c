/* forest: XGBoost's JSON model read into flat node arrays, and the tree
 * walk, summation and transforms of XGBoost 1.7's CPU predictor
 * (predict_fn.h, cpu_predictor.cc, common/math.h and the objectives'
 * PredTransform), written again in C so that a one-row request costs the
 * walk alone. Anything the walk would not reproduce exactly is refused at
 * load, and the caller keeps XGBoost for it. */
#include "forest.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FEATURES_MAX 0x7fffffffu
#define GROUPS_MAX 65536

/* A node as XGBoost's JSON has it, while a tree is read. */
typedef struct json_node {
    float value; /* the threshold, or the leaf's value */
    uint32_t feature;
    int32_t left, right; /* -1 for a leaf */
    int default_left;
} json_node;

/* A node as walked: a split goes to `left` when `x < value` and to
 * left + 1 otherwise, to `missing` when x is missing. A leaf has NAN for
 * its threshold (no x is below it), left + 1 and `missing` pointing at
 * itself, so a walk of a fixed number of steps stays on it; its value is
 * in the forest's `leaf` array. Indices are within the tree. */
typedef struct forest_node {
    float value;
    uint32_t feature;
    int32_t left;
    int32_t missing;
} forest_node;

typedef void (*forest_transform)(const float *margins, size_t groups,
                                 float *out);

struct sm_forest {
    forest_node *nodes; /* every tree's nodes, tree after tree */
    float *leaf;        /* each node's value when it is a leaf */
    size_t *roots;      /* each tree's first node */
    uint32_t *group;    /* each tree's output group (tree_info) */
    uint32_t *depth; /* each tree's steps from the root to its deepest leaf */
    size_t trees, node_count;
    size_t features, groups, outputs;
    float base_margin;
    forest_transform transform;
};

/* ---- transforms (XGBoost 1.7's PredTransform, float for float) ---------- */

static void transform_identity(const float *m, size_t groups, float *out)
{
    memcpy(out, m, groups * sizeof *m);
}

/* common::Sigmoid: the exponent clamped, and a tiny epsilon in the
 * denominator, all in float. */
static float xgb_sigmoid(float x)
{
    const float eps = 1e-16f;
    float neg = -x;
    float e = 88.7f < neg ? 88.7f : neg; /* std::min(-x, 88.7f) */
    float denom = expf(e) + 1.0f + eps;
    return 1.0f / denom;
}

static void transform_sigmoid(const float *m, size_t groups, float *out)
{
    for (size_t g = 0; g < groups; g++)
        out[g] = xgb_sigmoid(m[g]);
}

static void transform_exp(const float *m, size_t groups, float *out)
{
    for (size_t g = 0; g < groups; g++)
        out[g] = expf(m[g]);
}

static void transform_hinge(const float *m, size_t groups, float *out)
{
    for (size_t g = 0; g < groups; g++)
        out[g] = (double)m[g] > 0.0 ? 1.0f : 0.0f;
}

/* common::Softmax: float exponents of the gaps to the largest, summed in
 * double, each divided by the sum as a float. */
static void transform_softmax(const float *m, size_t groups, float *out)
{
    float wmax = m[0];
    for (size_t g = 1; g < groups; g++)
        wmax = fmaxf(m[g], wmax);
    double wsum = 0.0;
    for (size_t g = 0; g < groups; g++) {
        out[g] = expf(m[g] - wmax);
        wsum += out[g];
    }
    for (size_t g = 0; g < groups; g++)
        out[g] /= (float)wsum;
}

/* common::FindMaxIndex: the first largest class, as a float. */
static void transform_argmax(const float *m, size_t groups, float *out)
{
    size_t best = 0;
    for (size_t g = 0; g < groups; g++) {
        if (m[g] > m[best])
            best = g;
    }
    out[0] = (float)best;
}

typedef struct objective_row {
    const char *name;
    forest_transform transform;
    int one_output; /* multi:softmax: one class index per row */
} objective_row;

/* The objectives of XGBoost 1.7 whose transform is here; survival:aft
 * (double exp) and any other stay with XGBoost. */
static const objective_row OBJECTIVES[] = {
    {"reg:squarederror", transform_identity, 0},
    {"reg:linear", transform_identity, 0},
    {"reg:squaredlogerror", transform_identity, 0},
    {"reg:pseudohubererror", transform_identity, 0},
    {"reg:absoluteerror", transform_identity, 0},
    {"binary:logitraw", transform_identity, 0},
    {"rank:pairwise", transform_identity, 0},
    {"rank:ndcg", transform_identity, 0},
    {"rank:map", transform_identity, 0},
    {"reg:logistic", transform_sigmoid, 0},
    {"binary:logistic", transform_sigmoid, 0},
    {"binary:hinge", transform_hinge, 0},
    {"count:poisson", transform_exp, 0},
    {"reg:gamma", transform_exp, 0},
    {"reg:tweedie", transform_exp, 0},
    {"survival:cox", transform_exp, 0},
    {"multi:softprob", transform_softmax, 0},
    {"multi:softmax", transform_argmax, 1},
};

static const objective_row *objective_find(const char *name)
{
    for (size_t i = 0; i < sizeof OBJECTIVES / sizeof *OBJECTIVES; i++) {
        if (name && strcmp(OBJECTIVES[i].name, name) == 0)
            return &OBJECTIVES[i];
    }
    return NULL;
}

/* ---- reading the JSON --------------------------------------------------- */

/* An unsigned count written as a string ("100"), as XGBoost's parameters
 * are; -1 when absent or not a number. */
static long long param_count(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    return errno || *end || v < 0 ? -1 : v;
}

/* A JSON number as the float XGBoost wrote with to_chars (the shortest
 * digits that read back as that float). Read as a double, the float is
 * the double's nearest unless the double sits exactly on a tie between
 * two floats; that case is refused rather than guessed. */
static int json_float(json_t *v, float *out)
{
    double d;
    if (json_is_real(v))
        d = json_real_value(v);
    else if (json_is_integer(v))
        d = (double)json_integer_value(v);
    else
        return -1;
    float f = (float)d;
    if (isinf(f) && !isinf(d))
        return -1;
    if ((double)f != d) {
        float other = nextafterf(f, d > (double)f ? INFINITY : -INFINITY);
        if (((double)f + (double)other) / 2 == d)
            return -1;
    }
    *out = f;
    return 0;
}

/* Array `key` of `tree` when it has `n` items, else NULL. */
static json_t *tree_array(json_t *tree, const char *key, size_t n)
{
    json_t *a = json_object_get(tree, key);
    return json_is_array(a) && json_array_size(a) == n ? a : NULL;
}

static long long int_at(json_t *a, size_t i)
{
    json_t *v = json_array_get(a, i);
    return json_is_integer(v) ? json_integer_value(v) : LLONG_MIN;
}

/* The steps from the root to the deepest leaf, or -1 unless each node is
 * reached once from the root (so every walk ends at a leaf). */
static long tree_depth(const json_node *t, size_t n)
{
    unsigned char *seen = calloc(n, 1);
    int32_t(*stack)[2] = malloc(n * sizeof *stack); /* node, its depth */
    size_t top = 0;
    long depth = seen && stack ? 0 : -1;
    if (depth == 0)
        stack[top++][0] = 0, stack[0][1] = 0;
    while (depth >= 0 && top) {
        top--;
        int32_t i = stack[top][0], d = stack[top][1];
        depth = depth > d ? depth : d;
        if (seen[i] || (t[i].left >= 0 && top + 2 > n)) {
            depth = -1;
            break;
        }
        seen[i] = 1;
        if (t[i].left >= 0) {
            stack[top][0] = t[i].right;
            stack[top++][1] = d + 1;
            stack[top][0] = t[i].left;
            stack[top++][1] = d + 1;
        }
    }
    free(seen);
    free(stack);
    return depth;
}

/* The tree `t` (checked by tree_depth) laid out for walking into `out`
 * and `leaf`, breadth first so that each split's children sit side by
 * side. Returns the nodes written (the unreachable ones are dropped). */
static size_t tree_layout(const json_node *t, size_t n, forest_node *out,
                          float *leaf)
{
    int32_t *order = malloc(n * sizeof *order); /* position -> json index */
    if (!order)
        return 0;
    size_t used = 1;
    order[0] = 0;
    for (size_t at = 0; at < used; at++) {
        const json_node *j = &t[order[at]];
        forest_node *w = &out[at];
        if (j->left < 0) {
            *w = (forest_node){NAN, 0, (int32_t)at - 1, (int32_t)at};
            leaf[at] = j->value;
            continue;
        }
        order[used] = j->left;
        order[used + 1] = j->right;
        int32_t left = (int32_t)used;
        *w = (forest_node){j->value, j->feature, left,
                           j->default_left ? left : left + 1};
        leaf[at] = 0;
        used += 2;
    }
    free(order);
    return used;
}

/* One node's fields from the tree's arrays; -1 when out of range. */
static int node_read(json_t *const arrays[6], size_t i, size_t n,
                     size_t features, json_node *node, sm_error *err)
{
    long long left = int_at(arrays[0], i), right = int_at(arrays[1], i);
    long long feature = int_at(arrays[2], i), dflt = int_at(arrays[4], i);
    long long type = arrays[5] ? int_at(arrays[5], i) : 0;
    if (json_float(json_array_get(arrays[3], i), &node->value))
        return sm_error_set(err, "a threshold or leaf is not a plain float");
    if (type != 0)
        return sm_error_set(err, "the trees have categorical splits");
    *node = (json_node){node->value, 0, -1, -1, 0};
    if (left == -1)
        return 0; /* a leaf (XGBoost looks at the left child alone) */
    if (left < 0 || right < 0 || left >= (long long)n ||
        right >= (long long)n || feature < 0 ||
        feature >= (long long)features || (dflt != 0 && dflt != 1))
        return sm_error_set(err, "a tree's node %zu is malformed", i);
    *node = (json_node){node->value, (uint32_t)feature, (int32_t)left,
                        (int32_t)right, (int)dflt};
    return 0;
}

/* A tree of `n` nodes into the forest at f->nodes + *at; its depth. */
static int tree_read(sm_forest *f, json_t *tree, size_t n, size_t *at,
                     uint32_t *depth, sm_error *err)
{
    json_t *param = json_object_get(tree, "tree_param");
    if (param_count(param, "size_leaf_vector") > 0)
        return sm_error_set(err, "the trees have vector leaves");
    json_t *arrays[6] = {
        tree_array(tree, "left_children", n),
        tree_array(tree, "right_children", n),
        tree_array(tree, "split_indices", n),
        tree_array(tree, "split_conditions", n),
        tree_array(tree, "default_left", n),
        json_object_get(tree, "split_type"),
    };
    for (int a = 0; a < 5; a++) {
        if (!arrays[a])
            return sm_error_set(err, "a tree lacks its node arrays");
    }
    if (arrays[5] && !tree_array(tree, "split_type", n))
        return sm_error_set(err, "a tree's split types are malformed");
    json_node *nodes = malloc(n * sizeof *nodes);
    if (!nodes)
        return sm_error_set(err, "out of memory");
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = node_read(arrays, i, n, f->features, &nodes[i], err);
    long d = rc ? 0 : tree_depth(nodes, n);
    if (!rc && d < 0)
        rc = sm_error_set(err, "a tree's nodes do not form a tree");
    size_t used = rc ? 0 : tree_layout(nodes, n, f->nodes + *at, f->leaf + *at);
    if (!rc && !used)
        rc = sm_error_set(err, "out of memory");
    free(nodes);
    *depth = (uint32_t)d;
    *at += used;
    return rc;
}

/* Node count of each tree, checked, and their total. */
static int trees_count(json_t *trees, size_t *total, sm_error *err)
{
    *total = 0;
    for (size_t k = 0; k < json_array_size(trees); k++) {
        json_t *param = json_object_get(json_array_get(trees, k), "tree_param");
        long long n = param_count(param, "num_nodes");
        if (n < 1 || n > INT32_MAX)
            return sm_error_set(err, "tree %zu has no node count", k);
        *total += (size_t)n;
    }
    return 0;
}

static int trees_read(sm_forest *f, json_t *trees, json_t *info, sm_error *err)
{
    f->trees = json_array_size(trees);
    if (!json_is_array(info) || json_array_size(info) != f->trees)
        return sm_error_set(err, "the model's tree_info does not fit");
    if (trees_count(trees, &f->node_count, err))
        return -1;
    f->nodes = malloc((f->node_count ? f->node_count : 1) * sizeof *f->nodes);
    f->leaf = malloc((f->node_count ? f->node_count : 1) * sizeof *f->leaf);
    f->roots = malloc((f->trees ? f->trees : 1) * sizeof *f->roots);
    f->group = malloc((f->trees ? f->trees : 1) * sizeof *f->group);
    f->depth = malloc((f->trees ? f->trees : 1) * sizeof *f->depth);
    if (!f->nodes || !f->leaf || !f->roots || !f->group || !f->depth)
        return sm_error_set(err, "out of memory");
    size_t at = 0;
    for (size_t k = 0; k < f->trees; k++) {
        json_t *tree = json_array_get(trees, k);
        size_t n = (size_t)param_count(json_object_get(tree, "tree_param"),
                                       "num_nodes");
        long long g = int_at(info, k);
        if (g < 0 || g >= (long long)f->groups)
            return sm_error_set(err, "tree %zu belongs to no output", k);
        f->roots[k] = at;
        f->group[k] = (uint32_t)g;
        if (tree_read(f, tree, n, &at, &f->depth[k], err))
            return -1;
    }
    f->node_count = at;
    return 0;
}

/* Features, outputs and the transform from learner_model_param and the
 * objective. */
static int learner_read(sm_forest *f, json_t *learner, sm_error *err)
{
    json_t *param = json_object_get(learner, "learner_model_param");
    long long features = param_count(param, "num_feature");
    long long classes = param_count(param, "num_class");
    long long targets = param_count(param, "num_target");
    const char *objective = json_string_value(
        json_object_get(json_object_get(learner, "objective"), "name"));
    const objective_row *row = objective_find(objective);
    if (!row)
        return sm_error_set(err, "objective %s is predicted by XGBoost",
                            objective ? objective : "(none)");
    if (features < 1 || features > FEATURES_MAX || classes < 0)
        return sm_error_set(err, "the model's parameters are malformed");
    f->features = (size_t)features;
    /* num_output_group: the larger of the classes and targets */
    f->groups = classes > targets ? (size_t)classes : (size_t)targets;
    if (f->groups < 1)
        f->groups = 1;
    if (f->groups > GROUPS_MAX)
        return sm_error_set(err, "the model has too many outputs");
    f->outputs = row->one_output ? 1 : f->groups;
    f->transform = row->transform;
    return 0;
}

sm_forest *sm_forest_new(const char *json, size_t len, float base_margin,
                         sm_error *err)
{
    sm_forest *f = calloc(1, sizeof *f);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    int rc = f ? 0 : sm_error_set(err, "out of memory");
    if (!rc && !root)
        rc =
            sm_error_set(err, "the model's JSON cannot be read: %s", jerr.text);
    json_t *learner = json_object_get(root, "learner");
    json_t *booster = json_object_get(learner, "gradient_booster");
    const char *kind = json_string_value(json_object_get(booster, "name"));
    if (!rc && (!kind || strcmp(kind, "gbtree") != 0))
        rc = sm_error_set(err, "booster %s is predicted by XGBoost",
                          kind ? kind : "(none)");
    if (!rc)
        rc = learner_read(f, learner, err);
    json_t *model = json_object_get(booster, "model");
    if (!rc)
        rc = trees_read(f, json_object_get(model, "trees"),
                        json_object_get(model, "tree_info"), err);
    json_decref(root);
    if (rc) {
        sm_forest_destroy(&f);
        return NULL;
    }
    f->base_margin = base_margin;
    return f;
}

void sm_forest_destroy(sm_forest **self)
{
    if (!*self)
        return;
    free((*self)->nodes);
    free((*self)->leaf);
    free((*self)->roots);
    free((*self)->group);
    free((*self)->depth);
    free(*self);
    *self = NULL;
}

size_t sm_forest_features(const sm_forest *self)
{
    return self->features;
}

size_t sm_forest_outputs(const sm_forest *self)
{
    return self->outputs;
}

/* ---- predicting --------------------------------------------------------- */

/* One step down the tree at `t` from node `i` for `row` (all the
 * features), as GetNextNode: `x < t` goes left, else right; a missing
 * value takes the node's default branch. A leaf steps to itself. */
static inline int32_t step_missing(const forest_node *t, int32_t i,
                                   const float *row)
{
    const forest_node *n = t + i;
    float v = row[n->feature];
    return v != v ? n->missing : n->left + !(v < n->value);
}

/* The same for a row with no missing value (XGBoost also walks those
 * without looking for missing values). */
static inline int32_t step_present(const forest_node *t, int32_t i,
                                   const float *row)
{
    const forest_node *n = t + i;
    return n->left + !(row[n->feature] < n->value);
}

/* The leaves `row` reaches in trees [k, k + 4), into at[]: four walks side
 * by side, each step of one independent of the others', so the processor
 * overlaps their loads. */
#define WALK4(step)                                                            \
    for (uint32_t s = 0; s < steps; s++) {                                     \
        at[0] = step(t[0], at[0], row);                                        \
        at[1] = step(t[1], at[1], row);                                        \
        at[2] = step(t[2], at[2], row);                                        \
        at[3] = step(t[3], at[3], row);                                        \
    }

static int any_nan(const float *v, size_t n)
{
    int nan = 0;
    for (size_t j = 0; j < n; j++)
        nan |= v[j] != v[j];
    return nan;
}

/* One row of all the features (`missing`: whether any is): each group
 * starts at the base margin and takes its trees' leaves in tree order, in
 * float (PredictByAllTrees). */
static void row_predict(const sm_forest *f, const float *row, int missing,
                        float *margins, float *out)
{
    for (size_t g = 0; g < f->groups; g++)
        margins[g] = f->base_margin;
    for (size_t k = 0; k < f->trees; k += 4) {
        size_t w = f->trees - k < 4 ? f->trees - k : 4;
        const forest_node *t[4];
        int32_t at[4];
        uint32_t steps = 0;
        for (size_t j = 0; j < 4; j++) {
            size_t tree = k + (j < w ? j : 0);
            t[j] = f->nodes + f->roots[tree];
            at[j] = 0;
            steps = f->depth[tree] > steps ? f->depth[tree] : steps;
        }
        if (missing)
            WALK4(step_missing)
        else
            WALK4(step_present)
        for (size_t j = 0; j < w; j++)
            margins[f->group[k + j]] += f->leaf[f->roots[k + j] + at[j]];
    }
    f->transform(margins, f->groups, out);
}

int sm_forest_predict_dense(const sm_forest *self, const float *values,
                            size_t rows, size_t cols, float *out)
{
    /* the margins, then (rows narrower than the features) one whole row */
    size_t wide = cols < self->features ? self->features : 0;
    float few[64];
    float *scratch = self->groups + wide <= 64 ? few : NULL;
    if (!scratch &&
        !(scratch = malloc((self->groups + wide) * sizeof *scratch)))
        return -1;
    float *row = scratch + self->groups;
    for (size_t j = cols; j < wide; j++)
        row[j] = NAN;
    for (size_t i = 0; i < rows; i++) {
        const float *r = values + i * cols;
        int missing = wide || any_nan(r, cols);
        if (wide)
            r = memcpy(row, r, cols * sizeof *r);
        row_predict(self, r, missing, scratch, out + i * self->outputs);
    }
    if (scratch != few)
        free(scratch);
    return 0;
}

int sm_forest_predict_csr(const sm_forest *self, const uint64_t *indptr,
                          const uint32_t *indices, const float *data,
                          size_t rows, float *out)
{
    float *row = malloc((self->features + self->groups) * sizeof *row);
    if (!row)
        return -1;
    float *margins = row + self->features;
    for (size_t j = 0; j < self->features; j++)
        row[j] = NAN;
    for (size_t i = 0; i < rows; i++) {
        size_t present = 0;
        for (uint64_t k = indptr[i]; k < indptr[i + 1]; k++) {
            if (indices[k] < self->features) {
                row[indices[k]] = data[k];
                present += data[k] == data[k];
            }
        }
        /* columns come merged, one entry each: all there when counted */
        row_predict(self, row, present < self->features, margins,
                    out + i * self->outputs);
        for (uint64_t k = indptr[i]; k < indptr[i + 1]; k++) {
            if (indices[k] < self->features)
                row[indices[k]] = NAN;
        }
    }
    free(row);
    return 0;
}

/* ---- probes ------------------------------------------------------------- */

static uint64_t probe_next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* A threshold of some split on `feature`, nudged or not; NAN at times. */
static float probe_value(const sm_forest *f, size_t feature, uint64_t *state)
{
    uint64_t r = probe_next(state);
    if (r % 8 == 0 || f->node_count == 0)
        return NAN;
    const forest_node *pick = NULL;
    for (int tries = 0; tries < 16 && !pick; tries++) {
        const forest_node *n = &f->nodes[probe_next(state) % f->node_count];
        if (!isnan(n->value) && n->feature == feature)
            pick = n;
    }
    float v = pick ? pick->value : (float)((int64_t)(r % 2001) - 1000) / 100;
    switch ((r >> 8) % 3) {
    case 0:
        return nextafterf(v, -INFINITY);
    case 1:
        return nextafterf(v, INFINITY);
    default:
        return v;
    }
}

void sm_forest_probe_rows(const sm_forest *self, uint64_t seed, size_t rows,
                          float *out)
{
    uint64_t state = seed ? seed : 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < self->features; j++)
            out[i * self->features + j] = probe_value(self, j, &state);
    }
}
