/* util/fs.c: EINTR-safe, short-transfer-safe system call wrappers. */
#include "util/fs.h"

#include "util/fault.h"

/*
 * EINTR is retried, but not forever: a call interrupted this many times in a
 * row is reported (only a broken signal storm, or an injected fault, gets here).
 */
#define EINTR_MAX 100

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ferry__pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    int intr = 0;

    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR && ++intr < EINTR_MAX)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO; /* a regular file never takes zero bytes */
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

int ferry__write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    int intr = 0;

    while (len > 0) {
        /* "write_short": the kernel may take fewer bytes than asked; we go on. */
        size_t ask = ferry__fault("ferry/write_short") && len > 1 ? len / 2 : len;
        ssize_t n = FERRY_SYS("write", write(fd, p, ask));
        if (n < 0) {
            if (errno == EINTR && ++intr < EINTR_MAX)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t ferry__read(int fd, void *buf, size_t len)
{
    for (int intr = 0;; intr++) {
        ssize_t n = FERRY_SYS("read", read(fd, buf, len));
        if (n >= 0)
            return n;
        if (errno != EINTR || intr + 1 >= EINTR_MAX)
            return -errno;
    }
}

int ferry__close(int fd)
{
    if (FERRY_SYS("close", close(fd)) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

int ferry__mkdir_p(const char *path, mode_t mode)
{
    char *copy = strdup(path);
    int err = 0;

    if (!copy)
        return -ENOMEM;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST) {
            err = -errno;
            break;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    if (!err) {
        struct stat st;
        if (stat(path, &st) < 0)
            err = -errno;
        else if (!S_ISDIR(st.st_mode))
            err = -ENOTDIR;
    }
    free(copy);
    return err;
}
