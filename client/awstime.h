/* awstime: the timestamp formats AWS sends: ISO 8601 in credentials and
 * the HTTP Date header. */
#ifndef SM_AWSTIME_H
#define SM_AWSTIME_H

#include <time.h>

/* Read "2024-03-08T19:59:09Z", with optional fractional seconds and a
 * "Z", "+HH:MM", "+HHMM" or "-HH:MM" zone (no zone means UTC), into *out.
 * Returns 0, or -1 when `s` (borrowed) is not such a time. */
int sm_awstime_parse_iso8601(const char *s, time_t *out);

/* Read an HTTP date, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 7231's
 * IMF-fixdate), into *out. Returns 0, or -1. */
int sm_awstime_parse_http(const char *s, time_t *out);

/* Write `t` as "2024-03-08T19:59:09Z" into out. */
void sm_awstime_format_iso8601(time_t t, char out[21]);

#endif
