/* test_csv: the CSV reader of %prepare against what Python's csv module
 * reads from the same text. */
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "test.h"

static int parse(const char *text, sm_csv *csv, sm_error *err)
{
    return sm_csv_parse(strdup(text), "t.csv", csv, err);
}

TEST(csv_quotes_crlf_and_blank_lines)
{
    sm_csv csv;
    sm_error err = {""};
    CHECK(parse("\xEF\xBB\xBF"
                "a,\"b,\"\"x\"\"\",c\r\n\r\n1,\"2\r\n3\",4\r"
                "\n5,,6\n",
                &csv, &err) == 0);
    CHECK(csv.rows == 3 && csv.columns == 3);
    CHECK_STR(sm_csv_field(&csv, 0, 0), "a");
    CHECK_STR(sm_csv_field(&csv, 0, 1), "b,\"x\"");
    CHECK_STR(sm_csv_field(&csv, 1, 1), "2\r\n3");
    CHECK_STR(sm_csv_field(&csv, 2, 1), "");
    CHECK_STR(sm_csv_field(&csv, 2, 2), "6");
    CHECK(csv.lines[0] == 1 && csv.lines[1] == 3 && csv.lines[2] == 5);
    sm_csv_clear(&csv);
}

TEST(csv_cr_line_ends_and_no_final_newline)
{
    sm_csv csv;
    sm_error err = {""};
    CHECK(parse("x,y\r1,2\r3,4", &csv, &err) == 0);
    CHECK(csv.rows == 3);
    CHECK_STR(sm_csv_field(&csv, 2, 1), "4");
    sm_csv_clear(&csv);
}

TEST(csv_errors_name_the_line)
{
    sm_csv csv;
    sm_error err = {""};
    CHECK(parse("a,b\n1,2\n3\n", &csv, &err) == -1);
    CHECK_STR(err.message, "t.csv line 3 has 1 field, but the header has 2");
    err = (sm_error){""};
    CHECK(parse("a,b\n1,\"2\n", &csv, &err) == -1);
    CHECK_STR(err.message, "t.csv line 2: a quoted field is never closed");
    CHECK(parse("", &csv, &err) == 0 && csv.rows == 0);
    sm_csv_clear(&csv);
}
