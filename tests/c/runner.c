/* runner: runs every registered C unit test; ends with "N passed, N failed". */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_MAX 4096

struct test_case {
    const char *name;
    const char *file;
    test_fn fn;
};

static struct test_case cases[TEST_MAX];
static int case_count;
static int current_failed;

void test_register(const char *name, const char *file, test_fn fn)
{
    if (case_count == TEST_MAX) {
        fprintf(stderr, "too many tests; raise TEST_MAX\n");
        exit(2);
    }
    cases[case_count++] = (struct test_case){name, file, fn};
}

void test_fail(const char *file, int line, const char *what)
{
    printf("    %s:%d: check failed: %s\n", file, line, what);
    current_failed = 1;
}

void test_fail_str(const char *file, int line, const char *expr,
                   const char *got, const char *want)
{
    printf("    %s:%d: %s\n      got:  %s\n      want: %s\n", file, line, expr,
           got ? got : "(null)", want ? want : "(null)");
    current_failed = 1;
}

const char *test_shared_dir(void)
{
    const char *dir = getenv("SAGEMAGIC_SHARED");
    return dir && *dir ? dir : "../shared";
}

/* Usage: runner [substring]: runs the tests whose name or file holds it. */
int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < case_count; i++) {
        if (filter && !strstr(cases[i].name, filter) &&
            !strstr(cases[i].file, filter))
            continue;
        current_failed = 0;
        cases[i].fn();
        printf("%s %s\n", current_failed ? "FAIL" : "ok  ", cases[i].name);
        if (current_failed)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
