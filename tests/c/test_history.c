/* test_history: history_request's tail, range and search against a small
 * session, compared as compact JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "history.h"
#include "test.h"

/* Cells 1..5 of a session; cell 3 repeats cell 1's input. */
static sm_history *sample(void)
{
    sm_history *h = sm_history_new();
    if (!h)
        return NULL;
    const char *inputs[] = {"a = 1", "print(a)", "a = 1", "%config region",
                            "b = 2"};
    for (int i = 0; i < 5; i++)
        if (sm_history_add(h, i + 1, inputs[i])) {
            sm_history_destroy(&h);
            return NULL;
        }
    sm_history_set_output(h, 1, "1");
    sm_history_set_output(h, 4, "us-east-1");
    return h;
}

/* The reply rows to `request` (JSON text) as compact JSON; caller frees. */
static char *query(const sm_history *h, const char *request)
{
    json_t *req = json_loads(request, 0, NULL);
    json_t *rows = sm_history_query(h, req);
    char *text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;
    json_decref(rows);
    json_decref(req);
    return text;
}

/* CHECK_STR of a query, freeing the text either way. */
#define CHECK_QUERY(h, request, want)                                          \
    do {                                                                       \
        char *got_ = query(h, request);                                        \
        int same_ = got_ && strcmp(got_, want) == 0;                           \
        if (!same_)                                                            \
            test_fail_str(__FILE__, __LINE__, request, got_, want);            \
        free(got_);                                                            \
        if (!same_)                                                            \
            return;                                                            \
    } while (0)

TEST(history_tail)
{
    sm_history *h = sample();
    CHECK(h);
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"n\":2}",
                "[[1,4,\"%config region\"],[1,5,\"b = 2\"]]");
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"n\":1}",
                "[[1,5,\"b = 2\"]]");
    /* More than there is, and the default of 10: everything, oldest first. */
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"n\":100}",
                "[[1,1,\"a = 1\"],[1,2,\"print(a)\"],[1,3,\"a = 1\"],"
                "[1,4,\"%config region\"],[1,5,\"b = 2\"]]");
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\"}",
                "[[1,1,\"a = 1\"],[1,2,\"print(a)\"],[1,3,\"a = 1\"],"
                "[1,4,\"%config region\"],[1,5,\"b = 2\"]]");
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"n\":0}", "[]");
    sm_history_destroy(&h);
    CHECK(h == NULL);
}

TEST(history_tail_with_output)
{
    sm_history *h = sample();
    CHECK(h);
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"n\":2,\"output\":true}",
                "[[1,4,[\"%config region\",\"us-east-1\"]],"
                "[1,5,[\"b = 2\",null]]]");
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"n\":1,\"output\":false}",
                "[[1,5,\"b = 2\"]]");
    sm_history_destroy(&h);
}

TEST(history_range)
{
    sm_history *h = sample();
    CHECK(h);
    /* Session 0 is this session, as is its own number (1). */
    CHECK_QUERY(h,
                "{\"hist_access_type\":\"range\",\"session\":0,\"start\":2,"
                "\"stop\":4}",
                "[[1,2,\"print(a)\"],[1,3,\"a = 1\"]]");
    CHECK_QUERY(h,
                "{\"hist_access_type\":\"range\",\"session\":1,\"start\":2,"
                "\"stop\":4}",
                "[[1,2,\"print(a)\"],[1,3,\"a = 1\"]]");
    /* No stop: to the end. No start: from 1. */
    CHECK_QUERY(h, "{\"hist_access_type\":\"range\",\"session\":1,\"start\":4}",
                "[[1,4,\"%config region\"],[1,5,\"b = 2\"]]");
    CHECK_QUERY(h, "{\"hist_access_type\":\"range\",\"stop\":2}",
                "[[1,1,\"a = 1\"]]");
    /* Other sessions are not kept. */
    CHECK_QUERY(h, "{\"hist_access_type\":\"range\",\"session\":2,\"start\":1}",
                "[]");
    CHECK_QUERY(h,
                "{\"hist_access_type\":\"range\",\"session\":0,\"start\":1,"
                "\"stop\":3,\"output\":true}",
                "[[1,1,[\"a = 1\",\"1\"]],[1,2,[\"print(a)\",null]]]");
    sm_history_destroy(&h);
}

TEST(history_search)
{
    sm_history *h = sample();
    CHECK(h);
    CHECK_QUERY(h, "{\"hist_access_type\":\"search\",\"pattern\":\"a*\"}",
                "[[1,1,\"a = 1\"],[1,3,\"a = 1\"]]");
    CHECK_QUERY(h, "{\"hist_access_type\":\"search\",\"pattern\":\"*a*\"}",
                "[[1,1,\"a = 1\"],[1,2,\"print(a)\"],[1,3,\"a = 1\"]]");
    CHECK_QUERY(h,
                "{\"hist_access_type\":\"search\",\"pattern\":\"?config *\"}",
                "[[1,4,\"%config region\"]]");
    CHECK_QUERY(h, "{\"hist_access_type\":\"search\",\"pattern\":\"[bc]*\"}",
                "[[1,5,\"b = 2\"]]");
    /* The glob matches the whole input, not a part of it. */
    CHECK_QUERY(h, "{\"hist_access_type\":\"search\",\"pattern\":\"a\"}", "[]");
    /* No pattern: everything. */
    CHECK_QUERY(h, "{\"hist_access_type\":\"search\",\"n\":2}",
                "[[1,4,\"%config region\"],[1,5,\"b = 2\"]]");
    sm_history_destroy(&h);
}

TEST(history_search_unique_and_n)
{
    sm_history *h = sample();
    CHECK(h);
    /* unique keeps the newest of equal inputs. */
    CHECK_QUERY(h,
                "{\"hist_access_type\":\"search\",\"pattern\":\"*\","
                "\"unique\":true}",
                "[[1,2,\"print(a)\"],[1,3,\"a = 1\"],"
                "[1,4,\"%config region\"],[1,5,\"b = 2\"]]");
    /* n counts from the newest match, the rows stay oldest first. */
    CHECK_QUERY(h,
                "{\"hist_access_type\":\"search\",\"pattern\":\"*a*\","
                "\"n\":2}",
                "[[1,2,\"print(a)\"],[1,3,\"a = 1\"]]");
    CHECK_QUERY(h,
                "{\"hist_access_type\":\"search\",\"pattern\":\"a*\","
                "\"unique\":true,\"n\":5}",
                "[[1,3,\"a = 1\"]]");
    CHECK_QUERY(h,
                "{\"hist_access_type\":\"search\",\"pattern\":\"a*\","
                "\"output\":true}",
                "[[1,1,[\"a = 1\",\"1\"]],[1,3,[\"a = 1\",null]]]");
    sm_history_destroy(&h);
}

TEST(history_output_is_replaced_and_copied)
{
    sm_history *h = sm_history_new();
    CHECK(h);
    CHECK(sm_history_add(h, 7, "x") == 0);
    char output[] = "first";
    sm_history_set_output(h, 7, output);
    output[0] = 'F'; /* the history holds its own copy */
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"output\":true}",
                "[[1,7,[\"x\",\"first\"]]]");
    sm_history_set_output(h, 7, "second");
    sm_history_set_output(h, 99, "no such cell");
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"output\":true}",
                "[[1,7,[\"x\",\"second\"]]]");
    sm_history_destroy(&h);
}

TEST(history_unknown_type_and_empty)
{
    sm_history *h = sm_history_new();
    CHECK(h);
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"n\":3}", "[]");
    CHECK(sm_history_add(h, 1, "x") == 0);
    CHECK_QUERY(h, "{\"hist_access_type\":\"sideways\"}", "[]");
    CHECK_QUERY(h, "{}", "[]");
    sm_history_destroy(&h);
}

TEST(history_grows_past_first_block)
{
    sm_history *h = sm_history_new();
    CHECK(h);
    char input[32];
    for (int i = 1; i <= 200; i++) {
        snprintf(input, sizeof input, "cell %d", i);
        CHECK(sm_history_add(h, i, input) == 0);
    }
    CHECK_QUERY(h, "{\"hist_access_type\":\"tail\",\"n\":2}",
                "[[1,199,\"cell 199\"],[1,200,\"cell 200\"]]");
    CHECK_QUERY(h, "{\"hist_access_type\":\"range\",\"start\":64,\"stop\":66}",
                "[[1,64,\"cell 64\"],[1,65,\"cell 65\"]]");
    sm_history_destroy(&h);
}
