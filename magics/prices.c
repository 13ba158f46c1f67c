/* prices: the table of hosting prices per instance-hour. One row per
 * instance type; update the rows and the date together. These are
 * estimates for the cost guard (on-demand real-time inference in
 * us-east-1 around the date), not a quote: AWS's price list at
 * aws.amazon.com/sagemaker/pricing is the authority, and prices differ by
 * region and change over time. */
#include "prices.h"

#include <string.h>

const char SM_PRICES_DATE[] = "2024-06-01";
const char SM_PRICES_REGION[] = "us-east-1";

static const struct price {
    const char *instance_type;
    double usd_per_hour;
} prices[] = {
    {"ml.t2.medium", 0.056},    {"ml.t2.large", 0.111},
    {"ml.t2.xlarge", 0.223},    {"ml.t2.2xlarge", 0.445},
    {"ml.m5.large", 0.115},     {"ml.m5.xlarge", 0.23},
    {"ml.m5.2xlarge", 0.461},   {"ml.m5.4xlarge", 0.922},
    {"ml.m5.12xlarge", 2.765},  {"ml.m5.24xlarge", 5.53},
    {"ml.c5.large", 0.102},     {"ml.c5.xlarge", 0.204},
    {"ml.c5.2xlarge", 0.408},   {"ml.c5.4xlarge", 0.816},
    {"ml.c5.9xlarge", 1.836},   {"ml.c5.18xlarge", 3.672},
    {"ml.r5.large", 0.151},     {"ml.r5.xlarge", 0.302},
    {"ml.r5.2xlarge", 0.605},   {"ml.r5.4xlarge", 1.21},
    {"ml.g4dn.xlarge", 0.736},  {"ml.g4dn.2xlarge", 1.052},
    {"ml.g4dn.4xlarge", 1.686}, {"ml.g5.xlarge", 1.408},
    {"ml.g5.2xlarge", 1.515},   {"ml.p3.2xlarge", 3.825},
};

double sm_price_per_hour(const char *instance_type)
{
    for (size_t i = 0; instance_type && i < sizeof prices / sizeof *prices; i++)
        if (strcmp(prices[i].instance_type, instance_type) == 0)
            return prices[i].usd_per_hour;
    return -1;
}
