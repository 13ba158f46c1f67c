/* log: one logging function for every sagemagic process, to stderr. */
#ifndef SM_LOG_H
#define SM_LOG_H

enum sm_log_level {
    SM_LOG_ERROR = 0,
    SM_LOG_WARN = 1,
    SM_LOG_INFO = 2,
    SM_LOG_DEBUG = 3,
};

/* Read the level from the environment variable SAGEMAGIC_LOG
 * (error, warn, info, debug; default warn). Safe to call more than once. */
void sm_log_init(void);

/* Nonzero when messages at `level` are printed. */
int sm_log_enabled(enum sm_log_level level);

/* Print one line "sagemagic[pid] LEVEL: message" to stderr. Thread-safe.
 * Never pass secrets: keys and tokens are not logged at any level. */
void sm_log(enum sm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sm_error(...) sm_log(SM_LOG_ERROR, __VA_ARGS__)
#define sm_warn(...) sm_log(SM_LOG_WARN, __VA_ARGS__)
#define sm_info(...) sm_log(SM_LOG_INFO, __VA_ARGS__)
#define sm_debug(...) sm_log(SM_LOG_DEBUG, __VA_ARGS__)

#endif
