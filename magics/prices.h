/* prices: what an endpoint instance costs per hour, from one dated table
 * of SageMaker's on-demand real-time inference prices (us-east-1), for
 * %endpoints and %deploy --dry-run. Estimates only: other regions, savings
 * plans and taxes differ. */
#ifndef SM_PRICES_H
#define SM_PRICES_H

/* The date the table's prices were read from the price list, and their
 * region. */
extern const char SM_PRICES_DATE[];
extern const char SM_PRICES_REGION[];

/* The on-demand price in USD per instance-hour of `instance_type`
 * ("ml.m5.large"), or a negative number when the table lacks it. */
double sm_price_per_hour(const char *instance_type);

#endif
