/* log: leveled logging to stderr, level from SAGEMAGIC_LOG. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static enum sm_log_level log_level = SM_LOG_WARN;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void sm_log_init(void)
{
    const char *env = getenv("SAGEMAGIC_LOG");
    if (!env)
        return;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(env, level_names[i]) == 0)
            log_level = (enum sm_log_level)i;
    }
}

int sm_log_enabled(enum sm_log_level level)
{
    return level <= log_level;
}

void sm_log(enum sm_log_level level, const char *fmt, ...)
{
    if (!sm_log_enabled(level))
        return;
    char line[2048];
    int n = snprintf(line, sizeof line, "sagemagic[%d] %s: ", (int)getpid(),
                     level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    /* One fputs of one line keeps lines from different threads whole. */
    size_t len = strlen(line);
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}
