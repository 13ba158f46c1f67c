/* files: the few file system chores several layers share. */
#ifndef SM_FILES_H
#define SM_FILES_H

#include <stddef.h>
#include <sys/types.h>

/* Make `dir` and every missing folder above it with `mode`; folders that
 * exist are fine. 0, or -1 with errno set. */
int sm_files_mkdirs(const char *dir, mode_t mode);

/* The whole of the regular file `path` (at most `max` bytes) as a new
 * NUL-terminated string, its length in *len. NULL with errno set (EFBIG
 * when larger than `max`, EISDIR for a folder). */
char *sm_files_read(const char *path, size_t max, size_t *len);

/* All `len` bytes of `data` to `fd`, at offset `at` (pwrite), or at the
 * file's position when `at` is -1 (write; the end on an O_APPEND file),
 * going on after short writes and EINTR. 0, or -1 with errno set. */
int sm_files_write_all(int fd, const void *data, size_t len, off_t at);

#endif
