/* tunebayes: y standardised, a length scale per axis picked from a few
 * by the marginal likelihood (coordinate by coordinate), Cholesky for the
 * solves. Tens to a few hundred trials make this cheap: O(n^3) with n the
 * trials so far. */
#include "tunebayes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NOISE 1e-3 /* of the standardised objective: trials are noisy */
#define XI 0.01    /* EI's margin, in standard deviations of y */
#define LOCAL_SD 0.08
/* Objective values closer than this fraction of their size are taken as
 * the same: on a plateau of bad trials the model must not chase the
 * noise between them, but look elsewhere. */
#define RELATIVE_NOISE 0.01

double sm_tunebayes_matern(double r, double l)
{
    double s = sqrt(5.0) * r / l;
    return (1 + s + s * s / 3) * exp(-s);
}

double sm_tunebayes_ei(double mean, double sd, double best)
{
    if (sd <= 1e-12)
        return best > mean ? best - mean : 0;
    double z = (best - mean) / sd;
    double cdf = 0.5 * erfc(-z / sqrt(2.0));
    double pdf = exp(-0.5 * z * z) / sqrt(2 * M_PI);
    return (best - mean) * cdf + sd * pdf;
}

/* The model: points, standardised values, Cholesky factor L of K and
 * alpha = K^-1 y. */
typedef struct gp {
    size_t n, dims;
    double *x, *y, *L, *alpha, *work;
    double *lengths; /* one per dimension (ARD) */
    double mean, scale, noise;
} gp;

/* The distance of two points with each axis in units of its length. */
static double distance(const gp *g, const double *a, const double *b)
{
    double s = 0;
    for (size_t i = 0; i < g->dims; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]) / (g->lengths[i] * g->lengths[i]);
    return sqrt(s);
}

/* L of K(length) in place; -1 when K is not positive definite. */
static int cholesky(gp *g)
{
    size_t n = g->n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            double k = sm_tunebayes_matern(
                distance(g, g->x + i * g->dims, g->x + j * g->dims), 1);
            if (i == j)
                k += g->noise;
            for (size_t m = 0; m < j; m++)
                k -= g->L[i * n + m] * g->L[j * n + m];
            if (i == j) {
                if (k <= 0)
                    return -1;
                g->L[i * n + i] = sqrt(k);
            } else {
                g->L[i * n + j] = k / g->L[j * n + j];
            }
        }
    return 0;
}

/* Solve L z = b (forward) into z. */
static void forward(const gp *g, const double *b, double *z)
{
    for (size_t i = 0; i < g->n; i++) {
        double s = b[i];
        for (size_t m = 0; m < i; m++)
            s -= g->L[i * g->n + m] * z[m];
        z[i] = s / g->L[i * g->n + i];
    }
}

/* Solve L^T z = b (backward) into z. */
static void backward(const gp *g, const double *b, double *z)
{
    for (size_t i = g->n; i-- > 0;) {
        double s = b[i];
        for (size_t m = i + 1; m < g->n; m++)
            s -= g->L[m * g->n + i] * z[m];
        z[i] = s / g->L[i * g->n + i];
    }
}

/* Fit at the current lengths: the log marginal likelihood, or
 * -INFINITY. */
static double fit(gp *g)
{
    if (cholesky(g))
        return -INFINITY;
    forward(g, g->y, g->work);
    backward(g, g->work, g->alpha);
    double ll = 0;
    for (size_t i = 0; i < g->n; i++)
        ll -= 0.5 * g->y[i] * g->alpha[i] + log(g->L[i * g->n + i]);
    return ll;
}

static const double grid[] = {0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 2.0, 5.0};
#define GRID (sizeof grid / sizeof grid[0])
#define ARD_DIMS 8 /* past this many, one length for all */

/* The length of dimension `k` (all of them when k == dims) that
 * maximizes the marginal likelihood, from the grid. */
static void fit_axis(gp *g, size_t k, double root)
{
    double best = -INFINITY, chosen = g->lengths[k < g->dims ? k : 0];
    for (size_t i = 0; i < GRID; i++) {
        for (size_t d = 0; d < g->dims; d++)
            if (d == k || k == g->dims)
                g->lengths[d] = grid[i] * root;
        double ll = fit(g);
        if (ll > best) {
            best = ll;
            chosen = grid[i] * root;
        }
    }
    for (size_t d = 0; d < g->dims; d++)
        if (d == k || k == g->dims)
            g->lengths[d] = chosen;
}

/* One length for all, then each axis its own (two passes). */
static int fit_best(gp *g)
{
    double root = sqrt((double)g->dims);
    fit_axis(g, g->dims, root);
    for (int pass = 0; g->dims > 1 && g->dims <= ARD_DIMS && pass < 2; pass++)
        for (size_t k = 0; k < g->dims; k++)
            fit_axis(g, k, root);
    return fit(g) > -INFINITY ? 0 : -1;
}

/* Mean and standard deviation (standardised units) at `p`. */
static void predict(const gp *g, const double *p, double *kstar, double *mean,
                    double *sd)
{
    double m = 0;
    for (size_t i = 0; i < g->n; i++) {
        kstar[i] = sm_tunebayes_matern(distance(g, p, g->x + i * g->dims), 1);
        m += kstar[i] * g->alpha[i];
    }
    forward(g, kstar, g->work);
    double v = 1;
    for (size_t i = 0; i < g->n; i++)
        v -= g->work[i] * g->work[i];
    *mean = m;
    *sd = sqrt(v > 1e-12 ? v : 1e-12);
}

static void gp_free(gp *g)
{
    free(g->x);
    free(g->y);
    free(g->L);
    free(g->alpha);
    free(g->work);
    free(g->lengths);
}

/* The "kriging believer": each pending point is taken to score what the
 * model of the observations predicts there, and the model is fitted
 * again with them, so that its uncertainty shrinks where trials run. */
static int believe(gp *g, size_t pending)
{
    if (!pending)
        return 0;
    size_t observed = g->n;
    double *kstar = malloc(observed * sizeof *kstar), sd;
    if (!kstar)
        return -1;
    for (size_t i = 0; i < pending; i++)
        predict(g, g->x + (observed + i) * g->dims, kstar, &g->y[observed + i],
                &sd);
    free(kstar);
    g->n = observed + pending;
    return fit(g) > -INFINITY ? 0 : -1;
}

/* Observations and believed pending points, standardised. */
static int gp_build(gp *g, const sm_tunebayes_input *in)
{
    size_t n = in->count + in->pending_count, d = in->space->dims;
    *g = (gp){.n = n, .dims = d};
    g->x = malloc(n * d * sizeof *g->x);
    g->y = malloc(n * sizeof *g->y);
    g->L = calloc(n * n, sizeof *g->L);
    g->alpha = malloc(n * sizeof *g->alpha);
    g->work = malloc(n * sizeof *g->work);
    g->lengths = malloc(d * sizeof *g->lengths);
    if (!g->x || !g->y || !g->L || !g->alpha || !g->work || !g->lengths)
        return -1;
    memcpy(g->x, in->x, in->count * d * sizeof *g->x);
    if (in->pending_count)
        memcpy(g->x + in->count * d, in->pending,
               in->pending_count * d * sizeof *g->x);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < in->count; i++)
        sum += in->y[i];
    g->mean = sum / (double)in->count;
    for (size_t i = 0; i < in->count; i++)
        sq += (in->y[i] - g->mean) * (in->y[i] - g->mean);
    g->scale = sqrt(sq / (double)in->count);
    if (!(g->scale > 1e-12))
        g->scale = 1;
    double least = RELATIVE_NOISE * fabs(g->mean) / g->scale;
    g->noise = least * least > NOISE ? least * least : NOISE;
    for (size_t i = 0; i < in->count; i++)
        g->y[i] = (in->y[i] - g->mean) / g->scale;
    g->n = in->count;
    return fit_best(g) || believe(g, in->pending_count);
}

/* A candidate: random, or near the best observation. */
static void candidate(const sm_tunebayes_input *in, const double *best_x,
                      int local, sm_tunerng *rng, double *c)
{
    const sm_tunespace *s = in->space;
    if (!local) {
        sm_tunespace_random_point(s, rng, c);
        return;
    }
    for (size_t i = 0; i < s->dims; i++)
        c[i] = sm_tunespace_snap(s, i,
                                 best_x[i] + LOCAL_SD * sm_tunerng_normal(rng));
}

int sm_tunebayes_propose(const sm_tunebayes_input *in, sm_tunerng *rng,
                         double *out)
{
    const size_t d = in->space->dims;
    sm_tunespace_random_point(in->space, rng, out);
    if (in->count == 0)
        return 0;
    gp g = {0};
    double *c = malloc(d * sizeof *c);
    double *kstar = malloc((in->count + in->pending_count) * sizeof *kstar);
    int rc = c && kstar && gp_build(&g, in) == 0 ? 0 : -1;
    size_t best_i = 0;
    for (size_t i = 1; i < in->count; i++)
        best_i = in->y[i] < in->y[best_i] ? i : best_i;
    double best = rc ? 0 : (in->y[best_i] - g.mean) / g.scale - XI;
    double top = -1;
    size_t total = in->candidates ? in->candidates : 2000;
    for (size_t k = 0; rc == 0 && k < total; k++) {
        candidate(in, in->x + best_i * d, k % 4 == 3, rng, c);
        double mean, sd;
        predict(&g, c, kstar, &mean, &sd);
        double ei = sm_tunebayes_ei(mean, sd, best);
        if (ei > top) {
            top = ei;
            memcpy(out, c, d * sizeof *c);
        }
    }
    gp_free(&g);
    free(c);
    free(kstar);
    return rc;
}
