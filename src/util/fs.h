/*
 * util/fs.h: system call wrappers that retry EINTR and finish short
 * transfers. Each returns 0 (or a count) on success and -errno on failure, so
 * the caller can name the operation and file in its own message.
 */
#ifndef FERRY_UTIL_FS_H
#define FERRY_UTIL_FS_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all of buf at offset off (pwrite), retrying EINTR and short writes. */
int ferry__pwrite_all(int fd, const void *buf, size_t len, off_t off);

/* Writes all of buf (write), retrying EINTR and short writes. */
int ferry__write_all(int fd, const void *buf, size_t len);

/* read() retrying EINTR: bytes read, 0 at end of file, or -errno. */
ssize_t ferry__read(int fd, void *buf, size_t len);

/*
 * close() with its result checked. On Linux the descriptor is gone even when
 * close fails with EINTR, so it is never retried.
 */
int ferry__close(int fd);

/* Creates every missing directory of path with the given mode (mkdir -p). */
int ferry__mkdir_p(const char *path, mode_t mode);

#endif
