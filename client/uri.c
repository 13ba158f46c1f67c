/* uri: RFC 3986 percent-encoding and decoding. */
#include "uri.h"

#include <stdlib.h>

static const char hex_upper[] = "0123456789ABCDEF";

int sm_uri_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

char *sm_uri_encode(const char *s, size_t len, int keep_slash)
{
    /* Worst case every byte becomes three; one pass, no reallocation. */
    if (len > ((size_t)-1 - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sm_uri_unreserved(c) || (keep_slash && c == '/')) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex_upper[c >> 4];
            out[n++] = hex_upper[c & 15];
        }
    }
    out[n] = '\0';
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *sm_uri_decode(const char *s, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi = -1, lo = -1;
        if (s[i] == '%' && len - i > 2) {
            hi = hex_value(s[i + 1]);
            lo = hex_value(s[i + 2]);
        }
        if (hi >= 0 && lo >= 0) {
            out[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}
