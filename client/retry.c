/* retry: tables of codes and a few lines of arithmetic. */
#include "retry.h"

#include <stddef.h>
#include <string.h>

static const char *const throttle_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
};

static const char *const clock_skew_codes[] = {
    "RequestTimeTooSkewed",  "RequestExpired", "InvalidSignatureException",
    "SignatureDoesNotMatch", "AuthFailure",    "RequestInTheFuture",
};

static const long transient_statuses[] = {500, 502, 503, 504};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int in_list(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; code && i < n; i++) {
        if (strcmp(code, list[i]) == 0)
            return 1;
    }
    return 0;
}

int sm_retry_is_throttle(const char *code)
{
    return in_list(code, throttle_codes, COUNT(throttle_codes));
}

int sm_retry_is_clock_skew(const char *code)
{
    return in_list(code, clock_skew_codes, COUNT(clock_skew_codes));
}

sm_retry_kind sm_retry_classify(sm_retry_transport transport, long status,
                                const char *code)
{
    switch (transport) {
    case SM_RETRY_CONNECT_ERROR:
        return SM_RETRY_TRANSIENT;
    case SM_RETRY_TIMED_OUT:
        return SM_RETRY_TIMEOUT;
    case SM_RETRY_FATAL_ERROR:
        return SM_RETRY_NONE;
    case SM_RETRY_GOT_RESPONSE:
        break;
    }
    if (status >= 200 && status < 300)
        return SM_RETRY_NONE;
    if (sm_retry_is_clock_skew(code))
        return SM_RETRY_CLOCK_SKEW;
    if (sm_retry_is_throttle(code) || status == 429)
        return SM_RETRY_THROTTLE;
    if (in_list(code, transient_codes, COUNT(transient_codes)))
        return SM_RETRY_TRANSIENT;
    for (size_t i = 0; i < COUNT(transient_statuses); i++) {
        if (status == transient_statuses[i])
            return SM_RETRY_TRANSIENT;
    }
    return SM_RETRY_NONE;
}

long sm_retry_delay_ms(int attempt, double random)
{
    long cap = SM_RETRY_MAX_BACKOFF_MS, base = 1000;
    for (int i = 1; i < attempt && base < cap; i++)
        base *= 2;
    if (base > cap)
        base = cap;
    if (!(random >= 0.0)) /* NaN too */
        random = 0.0;
    if (random >= 1.0)
        random = 0.999999;
    return (long)(random * (double)base);
}

void sm_retry_quota_init(sm_retry_quota *self)
{
    self->tokens = SM_RETRY_QUOTA_MAX;
}

int sm_retry_quota_acquire(sm_retry_quota *self, sm_retry_kind kind)
{
    int cost = kind == SM_RETRY_TIMEOUT ? SM_RETRY_TIMEOUT_COST : SM_RETRY_COST;
    if (self->tokens < cost)
        return 0;
    self->tokens -= cost;
    return cost;
}

void sm_retry_quota_release(sm_retry_quota *self, int taken)
{
    self->tokens += taken > 0 ? taken : SM_RETRY_NO_RETRY_REFUND;
    if (self->tokens > SM_RETRY_QUOTA_MAX)
        self->tokens = SM_RETRY_QUOTA_MAX;
}
