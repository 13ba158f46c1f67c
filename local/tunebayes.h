/* tunebayes: the Bayesian strategy of a tuning job. A Gaussian process
 * with a Matern-5/2 kernel over the [0,1]-scaled space (tunespace.h)
 * models the objective from the trials so far; the next trial is the
 * candidate with the largest expected improvement among random points of
 * the space and points near the best one. Trials still running count as
 * if they had scored what the model predicts for them (the "kriging
 * believer"), so trials proposed side by side spread out. */
#ifndef SM_TUNEBAYES_H
#define SM_TUNEBAYES_H

#include <stddef.h>

#include "tunespace.h"

/* What is known. Points are rows of `dims` coordinates; all borrowed. */
typedef struct sm_tunebayes_input {
    const sm_tunespace *space;
    const double *x; /* observed points, count * dims */
    const double *y; /* their objective, to be minimized */
    size_t count;
    const double *pending; /* points being evaluated, pending_count * dims */
    size_t pending_count;
    size_t candidates; /* random candidates to score; 0: 2000 */
} sm_tunebayes_input;

/* Propose the next point into out[dims]. With no observation it is a
 * random point. 0, or -1 when out of memory (out is then random). */
int sm_tunebayes_propose(const sm_tunebayes_input *in, sm_tunerng *rng,
                         double *out);

/* ---- the pieces, for tests ---------------------------------------------- */

/* The Matern-5/2 correlation of two points `r` apart, length scale `l`. */
double sm_tunebayes_matern(double r, double l);

/* Expected improvement below `best` of a normal(mean, sd) outcome. */
double sm_tunebayes_ei(double mean, double sd, double best);

#endif
