/* test: the C unit-test harness; one runner, tests registered by TEST(). */
#ifndef SM_TEST_H
#define SM_TEST_H

#include <string.h>

typedef void (*test_fn)(void);

/* Called by TEST() before main; `name` is borrowed (a string literal). */
void test_register(const char *name, const char *file, test_fn fn);

/* Record a failed check in the running test. */
void test_fail(const char *file, int line, const char *what);

/* Directory of ../shared (SAGEMAGIC_SHARED or "../shared"). Borrowed. */
const char *test_shared_dir(void);

#define TEST(name)                                                            \
    static void name(void);                                                   \
    __attribute__((constructor)) static void name##_register(void)            \
    {                                                                         \
        test_register(#name, __FILE__, name);                                 \
    }                                                                         \
    static void name(void)

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            test_fail(__FILE__, __LINE__, #cond);                             \
            return;                                                           \
        }                                                                     \
    } while (0)

#define CHECK_STR(a, b)                                                       \
    do {                                                                      \
        const char *check_a_ = (a), *check_b_ = (b);                          \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {      \
            test_fail_str(__FILE__, __LINE__, #a, check_a_, check_b_);        \
            return;                                                           \
        }                                                                     \
    } while (0)

void test_fail_str(const char *file, int line, const char *expr,
                   const char *got, const char *want);

#endif
