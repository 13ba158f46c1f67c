/* test_retry: the standard retry mode's decisions: the classification
 * table, full-jitter backoff bounds with a fake random, quota accounting. */
#include <stdio.h>

#include "retry.h"
#include "test.h"

static const struct {
    sm_retry_transport transport;
    long status;
    const char *code;
    sm_retry_kind want;
} cases[] = {
    {SM_RETRY_GOT_RESPONSE, 200, NULL, SM_RETRY_NONE},
    {SM_RETRY_GOT_RESPONSE, 204, "ThrottlingException", SM_RETRY_NONE},
    {SM_RETRY_GOT_RESPONSE, 400, "ThrottlingException", SM_RETRY_THROTTLE},
    {SM_RETRY_GOT_RESPONSE, 400, "Throttling", SM_RETRY_THROTTLE},
    {SM_RETRY_GOT_RESPONSE, 503, "SlowDown", SM_RETRY_THROTTLE},
    {SM_RETRY_GOT_RESPONSE, 400, "RequestLimitExceeded", SM_RETRY_THROTTLE},
    {SM_RETRY_GOT_RESPONSE, 400, "TooManyRequestsException", SM_RETRY_THROTTLE},
    {SM_RETRY_GOT_RESPONSE, 400, "ProvisionedThroughputExceededException",
     SM_RETRY_THROTTLE},
    {SM_RETRY_GOT_RESPONSE, 400, "LimitExceededException", SM_RETRY_THROTTLE},
    {SM_RETRY_GOT_RESPONSE, 429, "", SM_RETRY_THROTTLE},
    {SM_RETRY_GOT_RESPONSE, 400, "PriorRequestNotComplete", SM_RETRY_THROTTLE},
    {SM_RETRY_GOT_RESPONSE, 400, "RequestTimeout", SM_RETRY_TRANSIENT},
    {SM_RETRY_GOT_RESPONSE, 408, "RequestTimeoutException", SM_RETRY_TRANSIENT},
    {SM_RETRY_GOT_RESPONSE, 500, "InternalFailure", SM_RETRY_TRANSIENT},
    {SM_RETRY_GOT_RESPONSE, 500, "InternalError", SM_RETRY_TRANSIENT},
    {SM_RETRY_GOT_RESPONSE, 502, "502", SM_RETRY_TRANSIENT},
    {SM_RETRY_GOT_RESPONSE, 503, "ServiceUnavailable", SM_RETRY_TRANSIENT},
    {SM_RETRY_GOT_RESPONSE, 504, NULL, SM_RETRY_TRANSIENT},
    {SM_RETRY_GOT_RESPONSE, 501, "NotImplemented", SM_RETRY_NONE},
    {SM_RETRY_GOT_RESPONSE, 400, "ValidationException", SM_RETRY_NONE},
    {SM_RETRY_GOT_RESPONSE, 404, "NoSuchKey", SM_RETRY_NONE},
    {SM_RETRY_GOT_RESPONSE, 403, "AccessDeniedException", SM_RETRY_NONE},
    {SM_RETRY_GOT_RESPONSE, 400, "ExpiredTokenException", SM_RETRY_NONE},
    {SM_RETRY_GOT_RESPONSE, 403, "RequestTimeTooSkewed", SM_RETRY_CLOCK_SKEW},
    {SM_RETRY_GOT_RESPONSE, 400, "RequestExpired", SM_RETRY_CLOCK_SKEW},
    {SM_RETRY_GOT_RESPONSE, 403, "InvalidSignatureException",
     SM_RETRY_CLOCK_SKEW},
    {SM_RETRY_GOT_RESPONSE, 403, "SignatureDoesNotMatch", SM_RETRY_CLOCK_SKEW},
    {SM_RETRY_GOT_RESPONSE, 401, "AuthFailure", SM_RETRY_CLOCK_SKEW},
    {SM_RETRY_GOT_RESPONSE, 403, "RequestInTheFuture", SM_RETRY_CLOCK_SKEW},
    {SM_RETRY_CONNECT_ERROR, 0, NULL, SM_RETRY_TRANSIENT},
    {SM_RETRY_TIMED_OUT, 0, NULL, SM_RETRY_TIMEOUT},
    {SM_RETRY_FATAL_ERROR, 0, NULL, SM_RETRY_NONE},
};

TEST(retry_classification_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sm_retry_kind got = sm_retry_classify(cases[i].transport,
                                              cases[i].status, cases[i].code);
        if (got != cases[i].want)
            printf("    case %zu: %ld %s -> %d, want %d\n", i, cases[i].status,
                   cases[i].code ? cases[i].code : "(null)", got,
                   cases[i].want);
        CHECK(got == cases[i].want);
    }
    CHECK(sm_retry_is_throttle("SlowDown"));
    CHECK(!sm_retry_is_throttle("slowdown"));
    CHECK(!sm_retry_is_throttle(NULL));
    CHECK(sm_retry_is_clock_skew("RequestTimeTooSkewed"));
    CHECK(!sm_retry_is_clock_skew(""));
}

TEST(retry_backoff_full_jitter_bounds)
{
    /* random 0 waits nothing; just under 1 waits just under the cap. */
    CHECK(sm_retry_delay_ms(1, 0.0) == 0);
    CHECK(sm_retry_delay_ms(1, 0.5) == 500);
    CHECK(sm_retry_delay_ms(2, 0.5) == 1000);
    CHECK(sm_retry_delay_ms(3, 0.5) == 2000);
    CHECK(sm_retry_delay_ms(5, 0.5) == 8000);
    CHECK(sm_retry_delay_ms(6, 0.5) == 10000); /* 2^5 = 32 s, capped at 20 */
    CHECK(sm_retry_delay_ms(60, 0.5) == 10000);
    CHECK(sm_retry_delay_ms(1000, 0.999) <= SM_RETRY_MAX_BACKOFF_MS);
    for (int attempt = 1; attempt <= 10; attempt++) {
        long cap = 1000L << (attempt - 1);
        if (cap > SM_RETRY_MAX_BACKOFF_MS)
            cap = SM_RETRY_MAX_BACKOFF_MS;
        for (double r = 0.0; r < 1.0; r += 0.0625) {
            long d = sm_retry_delay_ms(attempt, r);
            CHECK(d >= 0 && d < cap);
        }
        CHECK(sm_retry_delay_ms(attempt, 0.99999) < cap);
    }
    /* Out-of-range randomness is clamped, never a negative or huge wait. */
    CHECK(sm_retry_delay_ms(2, -1.0) == 0);
    CHECK(sm_retry_delay_ms(2, 7.0) < 2000);
    CHECK(sm_retry_delay_ms(0, 0.5) == 500);
}

TEST(retry_quota_accounting)
{
    sm_retry_quota q;
    sm_retry_quota_init(&q);
    CHECK(q.tokens == 500);
    CHECK(sm_retry_quota_acquire(&q, SM_RETRY_THROTTLE) == 5);
    CHECK(q.tokens == 495);
    CHECK(sm_retry_quota_acquire(&q, SM_RETRY_TIMEOUT) == 10);
    CHECK(q.tokens == 485);
    sm_retry_quota_release(&q, 10); /* success after a retry: refund it */
    CHECK(q.tokens == 495);
    sm_retry_quota_release(&q, 0); /* success without retry: refund 1 */
    CHECK(q.tokens == 496);
    sm_retry_quota_release(&q, 0);
    sm_retry_quota_release(&q, 5);
    CHECK(q.tokens == 500); /* never past the maximum */
    /* Drain it: 100 retries of 5 empty the bucket, the 101st is refused. */
    int n = 0;
    while (sm_retry_quota_acquire(&q, SM_RETRY_TRANSIENT))
        n++;
    CHECK(n == 100);
    CHECK(q.tokens == 0);
    CHECK(sm_retry_quota_acquire(&q, SM_RETRY_TRANSIENT) == 0);
    sm_retry_quota_release(&q, 0);
    sm_retry_quota_release(&q, 0);
    sm_retry_quota_release(&q, 0);
    sm_retry_quota_release(&q, 0);
    CHECK(sm_retry_quota_acquire(&q, SM_RETRY_TIMEOUT) == 0); /* 4 < 10 */
    sm_retry_quota_release(&q, 0);
    CHECK(sm_retry_quota_acquire(&q, SM_RETRY_THROTTLE) == 5);
    CHECK(q.tokens == 0);
}
