/* testenv: a clean AWS environment for client tests: no AWS_* variables
 * from the outside, HOME in a temporary directory, instance metadata off;
 * and files written there. */
#ifndef SM_TESTENV_H
#define SM_TESTENV_H

#include "test.h"

/* Save the real environment (once), then clear every AWS_* variable and
 * the SAGEMAGIC_*_TIMEOUT_MS ones, set HOME to a fresh temporary directory and
 * AWS_EC2_METADATA_DISABLED=true. Returns that directory (borrowed). */
const char *testenv_begin(void);

/* Put the saved environment back. */
void testenv_end(void);

/* Write `text` to dir/name (made 0700 when `executable`); returns the
 * path (borrowed, until the next call), or NULL. */
const char *testenv_write(const char *dir, const char *name, const char *text,
                          int executable);

/* A test that runs in a clean environment, restored however it ends:
 *   ENV_TEST(name) { ... `home` is the temporary HOME ... } */
#define ENV_TEST(name)                                                         \
    static void name##_body(const char *home);                                 \
    TEST(name)                                                                 \
    {                                                                          \
        const char *home_ = testenv_begin();                                   \
        if (home_)                                                             \
            name##_body(home_);                                                \
        testenv_end();                                                         \
        if (!home_)                                                            \
            test_fail(__FILE__, __LINE__, "no temporary directory");           \
    }                                                                          \
    static void name##_body(const char *home)

#endif
