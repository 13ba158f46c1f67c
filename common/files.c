/* files: making folders and reading small files whole. */
#include "files.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int sm_files_mkdirs(const char *dir, mode_t mode)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, mode) != 0 && errno != EEXIST ? -1 : 0;
}

char *sm_files_read(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    char *text = NULL;
    int saved = 0;
    if (fstat(fileno(f), &st) != 0)
        saved = errno;
    else if (S_ISDIR(st.st_mode))
        saved = EISDIR;
    else if ((unsigned long long)st.st_size > max)
        saved = EFBIG;
    else if (!(text = malloc((size_t)st.st_size + 1)))
        saved = ENOMEM;
    else {
        *len = fread(text, 1, (size_t)st.st_size, f);
        if (ferror(f))
            saved = EIO;
        text[*len] = '\0';
    }
    fclose(f);
    if (saved) {
        free(text);
        errno = saved;
        return NULL;
    }
    return text;
}

int sm_files_write_all(int fd, const void *data, size_t len, off_t at)
{
    const char *p = data;
    while (len) {
        ssize_t n = at < 0 ? write(fd, p, len) : pwrite(fd, p, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        if (at >= 0)
            at += n;
    }
    return 0;
}
