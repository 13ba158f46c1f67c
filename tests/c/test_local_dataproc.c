/* Batch transform's DataProcessing over CSV: filters and the join. */
#include <stdio.h>
#include <string.h>

#include "dataproc.h"
#include "test.h"

static int parses(const char *filter)
{
    sm_dataproc_pick p;
    char why[256];
    return sm_dataproc_parse(filter, &p, why, sizeof why) == 0;
}

TEST(dataproc_parses_the_csv_filters)
{
    CHECK(parses(NULL) && parses("") && parses("$"));
    CHECK(parses("$[1:]") && parses("$[0,-1]") && parses("$[0,5:]"));
    CHECK(parses("$[:-1]") && parses("$[ 2 , 4:6 ]") && parses("$[:]"));
    CHECK(!parses("$.features") && !parses("$[") && !parses("$[a]"));
    CHECK(!parses("$[1") && !parses("$[1]]") && !parses("$[,]"));
    CHECK(!parses("[1]") && !parses("$[99999999999999999999]"));
    sm_dataproc_pick p;
    char why[256];
    CHECK(sm_dataproc_parse("$[x]", &p, why, sizeof why) == -1);
    CHECK(strstr(why, "'$[x]' is not a filter") != NULL);
}

/* `in` through a dataproc made of the three settings. */
static int run(const char *input, const char *join, const char *output,
               const char *records, const char *predictions, char *got,
               size_t size)
{
    sm_dataproc dp = {.join = join != NULL};
    char why[256];
    sm_buf b = {0};
    int rc = sm_dataproc_parse(input, &dp.input, why, sizeof why) ||
             sm_dataproc_parse(output, &dp.output, why, sizeof why);
    if (!rc && !predictions)
        rc = sm_dataproc_input(&dp, records, strlen(records), &b, why,
                               sizeof why);
    else if (!rc)
        rc = sm_dataproc_output(&dp, records, strlen(records), predictions,
                                strlen(predictions), &b, why, sizeof why);
    snprintf(got, size, "%s", rc ? why : sm_buf_str(&b));
    sm_buf_free(&b);
    return rc;
}

TEST(dataproc_filters_and_joins_records)
{
    char got[512];
    /* the label dropped before the model */
    CHECK(run("$[1:]", NULL, NULL, "1,2,3\n0,5,6\r\n", NULL, got, sizeof got) ==
          0);
    CHECK_STR(got, "2,3\n5,6");
    CHECK(run("$[0,-1]", NULL, NULL, "1,2,3", NULL, got, sizeof got) == 0);
    CHECK_STR(got, "1,3");
    /* input and prediction side by side, then the label and prediction */
    CHECK(run("$[1:]", "Input", NULL, "1,2,3\n0,5,6", "0.9\n0.1\n", got,
              sizeof got) == 0);
    CHECK_STR(got, "1,2,3,0.9\n0,5,6,0.1\n");
    CHECK(run("$[1:]", "Input", "$[0,-1]", "1,2,3\n0,5,6", "0.9\n0.1", got,
              sizeof got) == 0);
    CHECK_STR(got, "1,0.9\n0,0.1\n");
    /* several values a prediction (class probabilities) stay together */
    CHECK(run(NULL, "Input", "$[0,-3:]", "7,8", "0.2,0.3,0.5\n", got,
              sizeof got) == 0);
    CHECK_STR(got, "7,0.2,0.3,0.5\n");
    /* an output filter without a join picks from the prediction */
    CHECK(run(NULL, NULL, "$[-1]", "7,8", "0.2,0.3,0.5\n", got, sizeof got) ==
          0);
    CHECK_STR(got, "0.5\n");
}

TEST(dataproc_says_what_does_not_fit)
{
    char got[512];
    CHECK(run("$[5]", NULL, NULL, "1,2,3", NULL, got, sizeof got) == -1);
    CHECK_STR(got, "the InputFilter picks field 5 of a record with 3 fields");
    CHECK(run(NULL, "Input", NULL, "1,2\n3,4", "0.5\n", got, sizeof got) == -1);
    CHECK_STR(got, "the model answered 1 line for the 2 records it was sent, so they cannot be joined");
    CHECK(run(NULL, "Input", NULL, "1,2", "0.5\n0.6\n", got, sizeof got) == -1);
}
