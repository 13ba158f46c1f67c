/* test_local_chunked: the aws-chunked decoder, fed whole and one byte at
 * a time, with signatures and trailers, and every way a body breaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chunked.h"
#include "test.h"

typedef struct seen {
    sm_buf data;
    sm_buf events; /* "end:SIZE:SIG;" and "trailer:NAME=VALUE;" */
} seen;

static int on_data(void *ctx, const char *data, size_t len, sm_error *err)
{
    return sm_buf_append(&((seen *)ctx)->data, data, len);
}

static int on_end(void *ctx, uint64_t size, const char *sig, sm_error *err)
{
    return sm_buf_printf(&((seen *)ctx)->events, "end:%llu:%s;",
                         (unsigned long long)size, sig ? sig : "-");
}

static int on_trailer(void *ctx, const char *name, const char *value,
                      const char *line, sm_error *err)
{
    return sm_buf_printf(&((seen *)ctx)->events, "trailer:%s=%s;", name, value);
}

/* Decode `body` in slices of `step` bytes (0: all at once). */
static int decode(const char *body, size_t len, size_t step, seen *out,
                  sm_error *err)
{
    *out = (seen){{0}, {0}};
    sm_chunked_sink sink = {on_data, on_end, on_trailer, out};
    sm_chunked *d = sm_chunked_new(&sink);
    int rc = 0;
    for (size_t i = 0; !rc && i < len; i += step ? step : len) {
        size_t n = step && step < len - i ? step : len - i;
        rc = sm_chunked_feed(d, body + i, n, err);
    }
    if (!rc)
        rc = sm_chunked_finish(d, err);
    sm_chunked_destroy(&d);
    return rc;
}

static void seen_free(seen *s)
{
    sm_buf_free(&s->data);
    sm_buf_free(&s->events);
}

static const char unsigned_body[] = "5\r\nhello\r\n"
                                    "6\r\n world\r\n"
                                    "0\r\n"
                                    "x-amz-checksum-crc32:DUoRhQ==\r\n"
                                    "\r\n";

TEST(local_chunked_unsigned_trailer)
{
    size_t steps[] = {0, 1, 2, 7};
    for (size_t i = 0; i < 4; i++) {
        seen s;
        sm_error err = {0};
        CHECK(decode(unsigned_body, sizeof unsigned_body - 1, steps[i], &s,
                     &err) == 0);
        CHECK_STR(sm_buf_str(&s.data), "hello world");
        CHECK_STR(sm_buf_str(&s.events),
                  "end:5:-;end:6:-;end:0:-;"
                  "trailer:x-amz-checksum-crc32=DUoRhQ==;");
        seen_free(&s);
    }
}

TEST(local_chunked_signed)
{
    static const char body[] = "3;chunk-signature=aaaa\r\nabc\r\n"
                               "0;chunk-signature=bbbb\r\n\r\n";
    seen s;
    sm_error err = {0};
    CHECK(decode(body, sizeof body - 1, 1, &s, &err) == 0);
    CHECK_STR(sm_buf_str(&s.data), "abc");
    CHECK_STR(sm_buf_str(&s.events), "end:3:aaaa;end:0:bbbb;");
    seen_free(&s);
}

TEST(local_chunked_big_chunk_hex)
{
    size_t n = 70000;
    char *body = malloc(n + 64);
    int head = snprintf(body, 64, "%zX\r\n", n);
    memset(body + head, 'z', n);
    memcpy(body + head + n, "\r\n0\r\n\r\n", 7);
    seen s;
    sm_error err = {0};
    CHECK(decode(body, (size_t)head + n + 7, 4096, &s, &err) == 0);
    CHECK(s.data.len == n);
    seen_free(&s);
    free(body);
}

static int fails(const char *body, size_t step)
{
    seen s;
    sm_error err = {0};
    int rc = decode(body, strlen(body), step, &s, &err);
    seen_free(&s);
    return rc == -1 && err.message[0];
}

TEST(local_chunked_broken_bodies)
{
    CHECK(fails("zz\r\nhello\r\n0\r\n\r\n", 0));   /* size not hex */
    CHECK(fails("5\r\nhelloX\r\n0\r\n\r\n", 0));   /* data longer than size */
    CHECK(fails("5\nhello\r\n0\r\n\r\n", 0));      /* LF without CR */
    CHECK(fails("5\r\nhel", 0));                   /* cut inside a chunk */
    CHECK(fails("5\r\nhello\r\n", 0));             /* no final chunk */
    CHECK(fails("0\r\n\r\nmore", 0));              /* bytes after the end */
    CHECK(fails("0\r\nno colon here\r\n\r\n", 0)); /* bad trailer */
    CHECK(fails("1000000000000000\r\n", 0));       /* size too large */
    CHECK(fails("5 x\r\nhello\r\n0\r\n\r\n", 3));
    char *line = malloc(5000);
    memset(line, '1', 4999);
    line[4999] = '\0';
    CHECK(fails(line, 100)); /* a size line past 4096 bytes */
    free(line);
}

TEST(local_chunked_ends_after_last_chunk)
{
    /* A body cut right after the zero chunk's line is complete enough. */
    seen s;
    sm_error err = {0};
    const char *body = "3\r\nabc\r\n0\r\n";
    CHECK(decode(body, strlen(body), 0, &s, &err) == 0);
    CHECK_STR(sm_buf_str(&s.data), "abc");
    seen_free(&s);
}
