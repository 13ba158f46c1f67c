/* retry: the AWS SDKs' "standard" retry mode as pure decisions: which
 * failures are worth another attempt, how long to wait first, and the
 * retry quota that stops a client from retrying into an outage. No clock,
 * no randomness, no locks: the caller brings them. */
#ifndef SM_RETRY_H
#define SM_RETRY_H

#define SM_RETRY_DEFAULT_ATTEMPTS 3
#define SM_RETRY_MAX_BACKOFF_MS 20000
#define SM_RETRY_QUOTA_MAX 500
#define SM_RETRY_COST 5
#define SM_RETRY_TIMEOUT_COST 10
#define SM_RETRY_NO_RETRY_REFUND 1
#define SM_RETRY_SKEW_LIMIT 300 /* seconds of clock skew tolerated */

/* How an attempt ended before any response was read. */
typedef enum sm_retry_transport {
    SM_RETRY_GOT_RESPONSE = 0,
    SM_RETRY_CONNECT_ERROR, /* refused, reset, DNS, closed mid-response */
    SM_RETRY_TIMED_OUT,     /* connect or read timeout */
    SM_RETRY_FATAL_ERROR,   /* TLS verification, a local file: no retry */
} sm_retry_transport;

/* What an attempt's outcome calls for. */
typedef enum sm_retry_kind {
    SM_RETRY_NONE = 0,   /* success, or a failure another try won't fix */
    SM_RETRY_THROTTLE,   /* a throttling code, or HTTP 429 */
    SM_RETRY_TRANSIENT,  /* HTTP 500/502/503/504, a transient code, or a
                          * connection error */
    SM_RETRY_TIMEOUT,    /* transient too, but costs the quota double */
    SM_RETRY_CLOCK_SKEW, /* a signing-time error: correct the clock from
                          * the Date header and retry once */
} sm_retry_kind;

/* Classify an attempt: `transport` says whether a response came; then
 * `status` and the error `code` (borrowed; NULL or "" when none) decide.
 * A 2xx is always SM_RETRY_NONE. */
sm_retry_kind sm_retry_classify(sm_retry_transport transport, long status,
                                const char *code);

/* Nonzero when `code` is one of the throttling codes. */
int sm_retry_is_throttle(const char *code);

/* Nonzero when `code` says the request's signing time was off. */
int sm_retry_is_clock_skew(const char *code);

/* Milliseconds to wait after attempt number `attempt` (1 for the first)
 * failed: random * min(2^(attempt-1), 20) s, with `random` in [0, 1)
 * (full jitter). */
long sm_retry_delay_ms(int attempt, double random);

/* The retry quota: a bucket of tokens shared by every call of a client.
 * Not locked: the caller serialises access. */
typedef struct sm_retry_quota {
    int tokens;
} sm_retry_quota;

void sm_retry_quota_init(sm_retry_quota *self);

/* Take the cost of retrying after `kind` (SM_RETRY_TIMEOUT_COST after a
 * timeout, else SM_RETRY_COST). Returns what was taken, or 0 when the
 * bucket cannot pay: then do not retry. */
int sm_retry_quota_acquire(sm_retry_quota *self, sm_retry_kind kind);

/* After a success: give back `taken`, what the call's last retry took, or
 * SM_RETRY_NO_RETRY_REFUND when it needed no retry (taken 0). Never fills
 * the bucket past SM_RETRY_QUOTA_MAX. */
void sm_retry_quota_release(sm_retry_quota *self, int taken);

#endif
