/* test_utf8: code-point offsets, validation by RFC 3629's table, repair. */
#include <stdlib.h>

#include "test.h"
#include "utf8.h"

/* a, e-acute (2 bytes), euro (3), grinning face (4), b. */
#define MIXED                                                                  \
    "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"                                    \
    "b"

TEST(utf8_byte_offset)
{
    CHECK(sm_utf8_byte_offset(MIXED, 0) == 0);
    CHECK(sm_utf8_byte_offset(MIXED, 1) == 1);
    CHECK(sm_utf8_byte_offset(MIXED, 2) == 3);
    CHECK(sm_utf8_byte_offset(MIXED, 3) == 6);
    CHECK(sm_utf8_byte_offset(MIXED, 4) == 10);
    CHECK(sm_utf8_byte_offset(MIXED, 5) == 11);
    CHECK(sm_utf8_byte_offset(MIXED, 6) == 11); /* clamped */
    CHECK(sm_utf8_byte_offset(MIXED, 1000) == 11);
    CHECK(sm_utf8_byte_offset("", 3) == 0);
    /* An invalid byte is one code point; a truncated sequence is one per
     * byte. */
    CHECK(sm_utf8_byte_offset("\xFFz", 1) == 1);
    CHECK(sm_utf8_byte_offset("\xE2\x82z", 1) == 1);
    CHECK(sm_utf8_byte_offset("\xE2\x82z", 2) == 2);
}

TEST(utf8_cp_count)
{
    CHECK(sm_utf8_cp_count(MIXED, 11) == 5);
    CHECK(sm_utf8_cp_count(MIXED, 0) == 0);
    CHECK(sm_utf8_cp_count(MIXED, 3) == 2);
    CHECK(sm_utf8_cp_count(MIXED, 10) == 4);
    /* A count that ends inside a sequence counts its bytes one by one. */
    CHECK(sm_utf8_cp_count(MIXED, 5) == 4);
    CHECK(sm_utf8_cp_count("\xFF\xFE", 2) == 2);
    /* Offsets and counts agree. */
    for (size_t cp = 0; cp <= 5; cp++)
        CHECK(sm_utf8_cp_count(MIXED, sm_utf8_byte_offset(MIXED, cp)) == cp);
}

TEST(utf8_valid_accepts)
{
    CHECK(sm_utf8_valid("", 0));
    CHECK(sm_utf8_valid(MIXED, 11));
    CHECK(sm_utf8_valid("\x7F", 1));
    CHECK(sm_utf8_valid("\xC2\x80", 2));         /* U+0080 */
    CHECK(sm_utf8_valid("\xDF\xBF", 2));         /* U+07FF */
    CHECK(sm_utf8_valid("\xE0\xA0\x80", 3));     /* U+0800 */
    CHECK(sm_utf8_valid("\xED\x9F\xBF", 3));     /* U+D7FF */
    CHECK(sm_utf8_valid("\xEE\x80\x80", 3));     /* U+E000 */
    CHECK(sm_utf8_valid("\xEF\xBF\xBF", 3));     /* U+FFFF */
    CHECK(sm_utf8_valid("\xF0\x90\x80\x80", 4)); /* U+10000 */
    CHECK(sm_utf8_valid("\xF4\x8F\xBF\xBF", 4)); /* U+10FFFF */
    CHECK(sm_utf8_valid("a\0b", 3));             /* NUL is a code point */
}

TEST(utf8_valid_rejects)
{
    CHECK(!sm_utf8_valid("\x80", 1));             /* lone continuation */
    CHECK(!sm_utf8_valid("\xC0\x80", 2));         /* overlong NUL */
    CHECK(!sm_utf8_valid("\xC1\xBF", 2));         /* overlong */
    CHECK(!sm_utf8_valid("\xE0\x9F\xBF", 3));     /* overlong U+07FF */
    CHECK(!sm_utf8_valid("\xF0\x8F\xBF\xBF", 4)); /* overlong U+FFFF */
    CHECK(!sm_utf8_valid("\xED\xA0\x80", 3));     /* surrogate U+D800 */
    CHECK(!sm_utf8_valid("\xED\xBF\xBF", 3));     /* surrogate U+DFFF */
    CHECK(!sm_utf8_valid("\xF4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK(!sm_utf8_valid("\xF5\x80\x80\x80", 4));
    CHECK(!sm_utf8_valid("\xFF", 1));
    CHECK(!sm_utf8_valid("\xE2\x82", 2));     /* truncated */
    CHECK(!sm_utf8_valid("\xE2\x82\x41", 3)); /* bad continuation */
    CHECK(!sm_utf8_valid("\xF0\x9F\x98", 3));
    /* The length bounds the check: a sequence cut by `len` is invalid. */
    CHECK(!sm_utf8_valid(MIXED, 5));
    CHECK(sm_utf8_valid(MIXED, 6));
}

TEST(utf8_repair)
{
    char *s = sm_utf8_repair(MIXED, 11);
    CHECK_STR(s, MIXED);
    free(s);
    s = sm_utf8_repair("a\xFF"
                       "b",
                       3);
    CHECK_STR(s, "a\xEF\xBF\xBD"
                 "b");
    free(s);
    /* Each byte of a broken sequence becomes one U+FFFD. */
    s = sm_utf8_repair("\xE2\x82z", 3);
    CHECK_STR(s, "\xEF\xBF\xBD\xEF\xBF\xBDz");
    free(s);
    s = sm_utf8_repair("\xED\xA0\x80", 3);
    CHECK_STR(s, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    free(s);
    /* NUL bytes are dropped, so the result is a whole C string. */
    s = sm_utf8_repair("a\0b\0", 4);
    CHECK_STR(s, "ab");
    free(s);
    s = sm_utf8_repair("", 0);
    CHECK_STR(s, "");
    free(s);
    /* Only `len` bytes are read. */
    s = sm_utf8_repair("abc", 2);
    CHECK_STR(s, "ab");
    CHECK(sm_utf8_valid(s, 2));
    free(s);
}
