/* awstime: fixed formats read field by field; timegm does the calendar. */
#include "awstime.h"

#include <stdio.h>
#include <string.h>

static int tm_valid(const struct tm *tm)
{
    return tm->tm_year >= 70 && tm->tm_year <= 8099 && tm->tm_mon >= 0 &&
           tm->tm_mon <= 11 && tm->tm_mday >= 1 && tm->tm_mday <= 31 &&
           tm->tm_hour >= 0 && tm->tm_hour <= 23 && tm->tm_min >= 0 &&
           tm->tm_min <= 59 && tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

/* The zone after the seconds: seconds east of UTC in *offset. */
static int zone(const char *s, long *offset)
{
    int hh, mm, n = 0;
    if (*s == '\0' || strcmp(s, "Z") == 0 || strcmp(s, "z") == 0) {
        *offset = 0;
        return 0;
    }
    if ((*s != '+' && *s != '-') ||
        (sscanf(s + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 &&
         sscanf(s + 1, "%2d%2d%n", &hh, &mm, &n) != 2) ||
        s[1 + n] != '\0' || hh > 23 || mm > 59 || hh < 0 || mm < 0)
        return -1;
    *offset = (*s == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    return 0;
}

int sm_awstime_parse_iso8601(const char *s, time_t *out)
{
    struct tm tm = {0};
    int n = 0;
    long offset;
    if (!s ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    s += n;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (!tm_valid(&tm) || zone(s, &offset))
        return -1;
    *out = timegm(&tm) - offset;
    return 0;
}

int sm_awstime_parse_http(const char *s, time_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char wday[4], mon[4], gmt[4];
    struct tm tm = {0};
    int n = 0;
    if (!s ||
        sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wday, &tm.tm_mday, mon,
               &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, gmt,
               &n) != 8 ||
        s[n] != '\0' || strcmp(gmt, "GMT") != 0)
        return -1;
    const char *m = strlen(mon) == 3 ? strstr(months, mon) : NULL;
    if (!m || (m - months) % 3)
        return -1;
    tm.tm_mon = (int)(m - months) / 3;
    tm.tm_year -= 1900;
    if (!tm_valid(&tm))
        return -1;
    *out = timegm(&tm);
    return 0;
}

void sm_awstime_format_iso8601(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
