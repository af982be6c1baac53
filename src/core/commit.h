/*
 * core/commit.h: temp files in the destination directory and the step that
 * gives them their final name.
 *
 * A temp is an unnamed O_TMPFILE inode, or (where the filesystem lacks
 * O_TMPFILE, or spec.temp_names asks) a hidden ".ferry-tmp-XXXXXXXXXXXXXXXX"
 * name. Either way the writer holds flock(LOCK_EX) on it for its whole life,
 * so a sweep can tell a crashed writer's leftover (lock free) from a live
 * one's (lock held). A final name appears only in ferry__temp_commit(), one
 * linkat or rename, inside the cancel gate.
 */
#ifndef FERRY_CORE_COMMIT_H
#define FERRY_CORE_COMMIT_H

#include <stdbool.h>

#include "ferry/cancel.h"

#define FERRY_TEMP_PREFIX ".ferry-tmp-"
#define FERRY_SYMLINK_TEMP_AGE 60

typedef struct {
    int fd;     /* open for writing; -1 when none */
    char *name; /* hidden name in the directory, or NULL while unnamed */
} ferry__temp;

/* A fresh random hidden name, FERRY_TEMP_PREFIX + 16 hex digits; NULL when out of memory. */
char *ferry__temp_name(void);

/*
 * Creates a temp in dirfd (mode 0600). named forces the hidden-name path;
 * otherwise O_TMPFILE is tried first and the hidden name used where the
 * filesystem refuses it (EOPNOTSUPP, EISDIR on kernels before 3.11, EINVAL).
 * Returns 0 or -errno.
 */
int ferry__temp_open(ferry__temp *t, int dirfd, bool named);

/*
 * Gives the temp the final name `name` in dirfd. replace: atomically replace
 * an existing file (rename over it); else EEXIST when the name is taken.
 * Returns 0, -ECANCELED when the gate was closed (nothing named), or -errno.
 * The temp's descriptor stays open and owned by the caller.
 */
int ferry__temp_commit(ferry__temp *t, int dirfd, const char *name, bool replace,
                       ferry_cancel *gate);

/*
 * Creates the symlink `name` -> target in dirfd inside the gate. A symlink
 * is whole the moment it exists, so it needs no temp (and leaves none after a
 * crash). Returns 0, -ECANCELED when the gate was closed, or -errno.
 */
int ferry__symlink_commit(const char *target, int dirfd, const char *name, ferry_cancel *gate);

/*
 * Drops the temp's hidden name, if any, and returns its descriptor for the
 * caller to close (closing frees the blocks, which can take milliseconds).
 */
int ferry__temp_discard(ferry__temp *t, int dirfd);

/*
 * Removes temps left in dirfd by writers that died (their lock is free), and
 * hidden symlink temps (which cannot be locked; they live for one rename)
 * older than FERRY_SYMLINK_TEMP_AGE seconds.
 * Adds the count removed to *removed. Returns 0 or -errno.
 */
int ferry__sweep_dir(int dirfd, unsigned *removed);

/* ferry__sweep_dir on path and every directory beneath it (symlinks not followed). */
void ferry__sweep_tree(const char *path, unsigned *removed);

#endif
