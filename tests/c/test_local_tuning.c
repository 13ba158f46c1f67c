/* test_local_tuning: the strategies of local hyperparameter tuning
 * without a service: ranges checked as SageMaker checks them, the
 * scaling types, the enumeration of a grid, the Gaussian process's
 * pieces, and the Bayesian strategy beating random search on an analytic
 * function on average over seeds. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tunebayes.h"
#include "tunespace.h"

static int parse_text(const char *text, sm_tunespace *space, json_t **keep,
                      sm_error *err)
{
    *keep = json_loads(text, 0, NULL);
    return sm_tunespace_parse(*keep, space, err);
}

TEST(local_tuning_scaling_maps_the_cube)
{
    sm_tunespace s;
    sm_error err = {0};
    json_t *r;
    CHECK(parse_text("{\"ContinuousParameterRanges\": ["
                     "{\"Name\": \"eta\", \"MinValue\": \"0.001\", "
                     "\"MaxValue\": \"1\", \"ScalingType\": \"Logarithmic\"},"
                     "{\"Name\": \"subsample\", \"MinValue\": \"0.5\", "
                     "\"MaxValue\": \"0.999\", \"ScalingType\": "
                     "\"ReverseLogarithmic\"},"
                     "{\"Name\": \"gamma\", \"MinValue\": \"0\", "
                     "\"MaxValue\": \"5\"}]}",
                     &s, &r, &err) == 0);
    CHECK(s.dims == 3);
    char v[64];
    sm_tunespace_value(&s, 0, 0.5, v);
    CHECK(fabs(atof(v) - sqrt(0.001)) < 1e-9); /* geometric middle */
    sm_tunespace_value(&s, 0, 0, v);
    CHECK(atof(v) == 0.001);
    sm_tunespace_value(&s, 0, 1, v);
    CHECK(atof(v) == 1);
    /* reverse log: 1 - v is log-scaled, so half the cube is near 1 */
    sm_tunespace_value(&s, 1, 0.5, v);
    CHECK(fabs(atof(v) - (1 - sqrt(0.5 * 0.001))) < 1e-9);
    sm_tunespace_value(&s, 2, 0.25, v);
    CHECK(atof(v) == 1.25);
    CHECK(sm_tunespace_snap(&s, 2, 0.3) == 0.3);
    json_decref(r);
}

TEST(local_tuning_integers_and_categories_own_equal_cells)
{
    sm_tunespace s;
    sm_error err = {0};
    json_t *r;
    CHECK(parse_text("{\"IntegerParameterRanges\": [{\"Name\": "
                     "\"max_depth\", \"MinValue\": \"1\", \"MaxValue\": "
                     "\"4\"}], \"CategoricalParameterRanges\": [{\"Name\": "
                     "\"booster\", \"Values\": [\"gbtree\", \"dart\"]}]}",
                     &s, &r, &err) == 0);
    int seen[5] = {0};
    char v[64];
    for (int k = 0; k < 400; k++) {
        sm_tunespace_value(&s, 0, (k + 0.5) / 400.0, v);
        seen[atoi(v)]++;
    }
    CHECK(seen[0] == 0 && seen[1] == 100 && seen[4] == 100);
    CHECK(sm_tunespace_snap(&s, 0, 0.3) == 0.375); /* the cell of 2 */
    sm_tunespace_value(&s, 0, 0.375, v);
    CHECK_STR(v, "2");
    sm_tunespace_value(&s, 1, 0.99, v);
    CHECK_STR(v, "dart");
    CHECK(sm_tunespace_snap(&s, 1, 0.1) == 0.25);
    json_decref(r);
}

TEST(local_tuning_grid_enumerates_every_combination)
{
    sm_tunespace s;
    sm_error err = {0};
    json_t *r;
    CHECK(parse_text("{\"IntegerParameterRanges\": [{\"Name\": "
                     "\"max_depth\", \"MinValue\": \"2\", \"MaxValue\": "
                     "\"4\"}], \"CategoricalParameterRanges\": [{\"Name\": "
                     "\"booster\", \"Values\": [\"gbtree\", \"dart\"]}]}",
                     &s, &r, &err) == 0);
    size_t n = 0;
    CHECK(sm_tunespace_grid_size(&s, 500, &n, &err) == 0);
    CHECK(n == 6);
    char seen[6][130];
    for (size_t i = 0; i < n; i++) {
        double u[2];
        char a[64], b[64];
        sm_tunespace_grid_point(&s, i, u);
        sm_tunespace_value(&s, 0, u[0], a);
        sm_tunespace_value(&s, 1, u[1], b);
        snprintf(seen[i], sizeof seen[i], "%s/%s", a, b);
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(seen[k], seen[i]) != 0);
    }
    CHECK_STR(seen[0], "2/gbtree");
    CHECK_STR(seen[1], "2/dart");
    CHECK_STR(seen[5], "4/dart");
    CHECK(sm_tunespace_grid_size(&s, 5, &n, &err) == -1);
    json_decref(r);
    sm_error e2 = {0};
    CHECK(parse_text("{\"ContinuousParameterRanges\": [{\"Name\": \"eta\", "
                     "\"MinValue\": \"0.1\", \"MaxValue\": \"0.5\"}]}",
                     &s, &r, &e2) == 0);
    CHECK(sm_tunespace_grid_size(&s, 500, &n, &e2) == -1);
    CHECK(strstr(e2.message, "[eta] is a continuous range") != NULL);
    json_decref(r);
}

/* The message parsing `text` gives. */
static void refused(const char *text, const char *expect)
{
    sm_tunespace s;
    sm_error err = {0};
    json_t *r;
    int rc = parse_text(text, &s, &r, &err);
    json_decref(r);
    if (rc != -1 || !strstr(err.message, expect))
        test_fail_str(__FILE__, __LINE__, text, err.message, expect);
}

TEST(local_tuning_ranges_are_checked)
{
    refused("{\"ContinuousParameterRanges\": [{\"Name\": \"eta\", "
            "\"MinValue\": \"0\", \"MaxValue\": \"1\", \"ScalingType\": "
            "\"Logarithmic\"}]}",
            "only values greater than 0");
    refused("{\"ContinuousParameterRanges\": [{\"Name\": \"eta\", "
            "\"MinValue\": \"0.1\", \"MaxValue\": \"1\", \"ScalingType\": "
            "\"ReverseLogarithmic\"}]}",
            "entirely within the range 0<=x<1.0");
    refused("{\"IntegerParameterRanges\": [{\"Name\": \"d\", "
            "\"MinValue\": \"0\", \"MaxValue\": \"0\", \"ScalingType\": "
            "\"ReverseLogarithmic\"}]}",
            "only for continuous ranges");
    refused("{\"IntegerParameterRanges\": [{\"Name\": \"d\", "
            "\"MinValue\": \"1.5\", \"MaxValue\": \"3\"}]}",
            "MinValue [1.5] of the hyperparameter [d] is not an integer");
    refused("{\"ContinuousParameterRanges\": [{\"Name\": \"eta\", "
            "\"MinValue\": \"0.5\", \"MaxValue\": \"0.1\"}]}",
            "less than or equal to its MaxValue");
    refused("{\"ContinuousParameterRanges\": [{\"Name\": \"eta\", "
            "\"MinValue\": \"0.1\", \"MaxValue\": \"0.5\", \"ScalingType\": "
            "\"Cubic\"}]}",
            "Member must satisfy enum value set");
    refused("{\"ContinuousParameterRanges\": [{\"Name\": \"eta\", "
            "\"MinValue\": \"0.1\", \"MaxValue\": \"0.5\"}], "
            "\"CategoricalParameterRanges\": [{\"Name\": \"eta\", "
            "\"Values\": [\"1\"]}]}",
            "[eta] has more than one range");
    refused("{\"CategoricalParameterRanges\": [{\"Name\": \"b\", "
            "\"Values\": []}]}",
            "between 1 and 30 Values");
    refused("{}", "needs at least one range");
}

TEST(local_tuning_gp_pieces)
{
    CHECK(sm_tunebayes_matern(0, 0.3) == 1);
    CHECK(sm_tunebayes_matern(0.1, 0.3) > sm_tunebayes_matern(0.2, 0.3));
    CHECK(fabs(sm_tunebayes_matern(1, 1) -
               (1 + sqrt(5) + 5.0 / 3) * exp(-sqrt(5))) < 1e-12);
    /* EI at the best with sd 1 is phi(0) */
    CHECK(fabs(sm_tunebayes_ei(0, 1, 0) - 1 / sqrt(2 * M_PI)) < 1e-12);
    CHECK(sm_tunebayes_ei(1, 1e-15, 0) == 0);
    CHECK(sm_tunebayes_ei(-1, 0.5, 0) > 1);
}

/* A bumpy 2-d test function with its minimum 0 at (0.7, 0.3). */
static double bowl(const double *u)
{
    double a = u[0] - 0.7, b = u[1] - 0.3;
    return 4 * a * a + 4 * b * b + 0.3 * (1 - cos(9 * a)) * (1 - cos(9 * b));
}

/* The best value `budget` evaluations reach, Bayesian or random, with
 * `parallel` of them running at once and finishing in a random order. */
static double search(const sm_tunespace *s, int bayes, uint64_t seed,
                     size_t budget, size_t parallel)
{
    sm_tunerng rng, order;
    sm_tunerng_seed(&rng, seed);
    sm_tunerng_seed(&order, seed * 7 + 1);
    double x[64], y[32], running[16], best = INFINITY;
    size_t n = 0, r = 0, launched = 0;
    while (n < budget) {
        for (; r < parallel && launched < budget; r++, launched++) {
            sm_tunebayes_input in = {s, x, y, n, running, r, 0};
            if (bayes && n > 0)
                sm_tunebayes_propose(&in, &rng, running + 2 * r);
            else
                sm_tunespace_random_point(s, &rng, running + 2 * r);
        }
        size_t k = (size_t)(sm_tunerng_uniform(&order) * (double)r);
        memcpy(x + 2 * n, running + 2 * k, 2 * sizeof *x);
        y[n] = bowl(x + 2 * n);
        best = y[n] < best ? y[n] : best;
        n++;
        memmove(running + 2 * k, running + 2 * (k + 1),
                (r - k - 1) * 2 * sizeof *running);
        r--;
    }
    return best;
}

/* Mean best of Bayesian and random search over 20 seeds; how often the
 * Bayesian one was better. */
static int compare(size_t budget, size_t parallel, double *bayes,
                   double *random)
{
    sm_tunespace s;
    sm_error err = {0};
    json_t *r;
    int wins = 0;
    *bayes = *random = 0;
    if (parse_text("{\"ContinuousParameterRanges\": ["
                   "{\"Name\": \"a\", \"MinValue\": \"0\", \"MaxValue\": "
                   "\"1\"}, {\"Name\": \"b\", \"MinValue\": \"0\", "
                   "\"MaxValue\": \"1\"}]}",
                   &s, &r, &err))
        return -1;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        double b = search(&s, 1, seed, budget, parallel);
        double q = search(&s, 0, seed, budget, parallel);
        *bayes += b / 20;
        *random += q / 20;
        wins += b < q;
    }
    json_decref(r);
    printf("    %zu trials, %zu at once: bayesian mean best %.5f, random "
           "%.5f, bayesian better in %d of 20\n",
           budget, parallel, *bayes, *random, wins);
    return wins;
}

TEST(local_tuning_bayesian_beats_random_on_average)
{
    double bayes, random;
    int wins = compare(15, 1, &bayes, &random);
    CHECK(bayes < random / 3);
    CHECK(wins >= 15);
    wins = compare(15, 4, &bayes, &random);
    CHECK(bayes < random / 2);
    CHECK(wins >= 13);
}

TEST(local_tuning_pending_points_spread_proposals)
{
    sm_tunespace s;
    sm_error err = {0};
    json_t *r;
    CHECK(parse_text("{\"ContinuousParameterRanges\": ["
                     "{\"Name\": \"a\", \"MinValue\": \"0\", \"MaxValue\": "
                     "\"1\"}]}",
                     &s, &r, &err) == 0);
    double x[] = {0.1, 0.5, 0.9}, y[] = {1, 0.2, 1.1}, first, second;
    sm_tunerng rng;
    sm_tunerng_seed(&rng, 4);
    sm_tunebayes_input in = {.space = &s, .x = x, .y = y, .count = 3};
    CHECK(sm_tunebayes_propose(&in, &rng, &first) == 0);
    CHECK(fabs(first - 0.5) < 0.25); /* near the best */
    in.pending = &first;
    in.pending_count = 1;
    CHECK(sm_tunebayes_propose(&in, &rng, &second) == 0);
    CHECK(fabs(second - first) > 0.01);
    json_decref(r);
}
