/*
 * core/roots_priv.h: a job's file operations beneath its roots.
 *
 * A job of the daemon names its files by path, and paths are resolved again
 * at every call: a directory renamed away and replaced by a symlink while the
 * job runs would otherwise lead it outside the roots it was checked against.
 * With roots, each path is resolved from the descriptor of the root that
 * holds it with openat2's RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, at the
 * moment of the call: such a swap fails the call with EXDEV. The last
 * component is never followed by lstat, mkdir, rmdir or readlink (they act on
 * the name in its parent, opened beneath the root). With r NULL (the CLI,
 * copying the user's own files) they are the plain system calls.
 *
 * Each returns as its system call does: -1 with errno set on failure (so
 * FERRY_SYS fault points wrap them unchanged), except ferry__mkdir_p_in,
 * which returns 0 or -errno as ferry__mkdir_p does.
 */
#ifndef FERRY_CORE_ROOTS_PRIV_H
#define FERRY_CORE_ROOTS_PRIV_H

#include <sys/stat.h>
#include <sys/types.h>

#include "ferry/roots.h"

int ferry__open_in(const ferry_roots *r, const char *path, int flags, mode_t mode);
int ferry__lstat_in(const ferry_roots *r, const char *path, struct stat *st);
int ferry__mkdir_in(const ferry_roots *r, const char *path, mode_t mode);
int ferry__rmdir_in(const ferry_roots *r, const char *path);
ssize_t ferry__readlink_in(const ferry_roots *r, const char *path, char *buf, size_t len);
int ferry__mkdir_p_in(const ferry_roots *r, const char *path, mode_t mode);

/*
 * Opens path, a destination directory, following symlinks only in its first
 * base_len bytes (the destination as the user named it, which cp follows
 * too). Below that no symlink is followed (openat2 RESOLVE_NO_SYMLINKS |
 * RESOLVE_BENEATH): a link there fails the call with ELOOP, so that a link
 * already in the destination tree never leads a copy out of it.
 */
int ferry__open_below(const ferry_roots *r, const char *path, size_t base_len, int flags);

/* strerror(err), except EXDEV under roots: the path leads outside them. */
const char *ferry__strerror_in(const ferry_roots *r, int err);

#endif
