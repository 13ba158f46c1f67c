/* utf8: small UTF-8 helpers; the decoder follows RFC 3629's table. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid sequence at s (at most `len` bytes), or 0 if invalid. */
static size_t seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

size_t sm_utf8_byte_offset(const char *s, size_t cp)
{
    size_t len = strlen(s), i = 0;
    while (cp > 0 && i < len) {
        size_t n = seq_len((const unsigned char *)s + i, len - i);
        i += n ? n : 1;
        cp--;
    }
    return i;
}

size_t sm_utf8_cp_count(const char *s, size_t bytes)
{
    size_t i = 0, count = 0;
    while (i < bytes) {
        size_t n = seq_len((const unsigned char *)s + i, bytes - i);
        i += n ? n : 1;
        count++;
    }
    return count;
}

int sm_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = seq_len((const unsigned char *)s + i, len - i);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

char *sm_utf8_repair(const char *s, size_t len)
{
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = seq_len((const unsigned char *)s + i, len - i);
        if (n == 1 && s[i] == '\0') {
            i++;
        } else if (n) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}
