/* testenv: setenv/unsetenv around each client test. */
#include "testenv.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static char **saved; /* "NAME=value" copies of the variables we touch */
static size_t saved_count;
static char home[256];

static int ours(const char *entry)
{
    return strncmp(entry, "AWS_", 4) == 0 ||
           strncmp(entry, "SAGEMAGIC_READ_TIMEOUT_MS=", 26) == 0 ||
           strncmp(entry, "SAGEMAGIC_CONNECT_TIMEOUT_MS=", 29) == 0 ||
           strncmp(entry, "HOME=", 5) == 0;
}

/* Unset every variable we own. */
static void clear(void)
{
    for (;;) {
        char name[256] = "";
        for (char **e = environ; *e; e++) {
            if (ours(*e)) {
                size_t n = strcspn(*e, "=");
                snprintf(name, sizeof name, "%.*s", (int)n, *e);
                break;
            }
        }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

const char *testenv_begin(void)
{
    if (!saved) {
        size_t n = 0;
        for (char **e = environ; *e; e++)
            n++;
        saved = calloc(n + 1, sizeof *saved);
        for (char **e = environ; saved && *e; e++) {
            if (ours(*e))
                saved[saved_count++] = strdup(*e);
        }
    }
    clear();
    snprintf(home, sizeof home, "/tmp/sagemagic-test-XXXXXX");
    if (!mkdtemp(home))
        return NULL;
    setenv("HOME", home, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    return home;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    return remove(path);
}

void testenv_end(void)
{
    if (home[0] && strncmp(home, "/tmp/sagemagic-test-", 20) == 0)
        nftw(home, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    home[0] = '\0';
    clear();
    for (size_t i = 0; i < saved_count; i++) {
        char *eq = strchr(saved[i], '=');
        *eq = '\0';
        setenv(saved[i], eq + 1, 1);
        *eq = '=';
    }
}

const char *testenv_write(const char *dir, const char *name, const char *text,
                          int executable)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    chmod(path, executable ? 0700 : 0600);
    return path;
}
