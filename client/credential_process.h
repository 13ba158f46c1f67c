/* credential_process: credentials from the command a profile names, run
 * the way the AWS CLI runs it: split like a POSIX shell but with no shell,
 * standard output captured under a time limit, its JSON "Version": 1
 * document read. */
#ifndef SM_CREDENTIAL_PROCESS_H
#define SM_CREDENTIAL_PROCESS_H

#include "credentials.h"
#include "error.h"

#define SM_PROCESS_DEFAULT_TIMEOUT_MS 60000
#define SM_PROCESS_MAX_OUTPUT (1u << 20)

/* Split `command` (borrowed) into words as Python's shlex.split does:
 * blanks separate words; '...' is literal; "..." is literal but for \" and
 * \\; a backslash outside quotes takes the next character literally.
 * Returns a new NULL-terminated argv (free with sm_process_argv_free), or
 * NULL with `err` set for an empty command or an unclosed quote. */
char **sm_process_split(const char *command, sm_error *err);
void sm_process_argv_free(char ***argv);

/* Run `command` with stdin from /dev/null, in its own process group (the
 * whole group is killed at the time limit), and read its output as the
 * credentials. `timeout_ms` 0 means SM_PROCESS_DEFAULT_TIMEOUT_MS. 0 with
 * `out` filled, or -1 with `err` set: it could not start, exited nonzero
 * (the first line of its stderr is quoted), timed out, or printed no
 * valid document. Its standard output is never quoted (it holds secrets). */
int sm_credential_process(const char *command, long timeout_ms,
                          sm_credentials *out, sm_error *err);

#endif
