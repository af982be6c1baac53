/*
 * core/commit.c: temp files and the commit step; see commit.h.
 *
 * Why O_TMPFILE: an unnamed inode cannot be seen, opened or left behind. If
 * ferry dies (kill -9, power cut) the inode is on the orphan list and the
 * filesystem frees it; no sweep is needed. The name appears only at linkat.
 *
 * Overwrite: linkat refuses an existing name, so the inode is first linked
 * under a hidden name and then renamed over the old file: readers see the
 * old file or the new one, never a mix. The hidden name lives for the span
 * of one syscall and is covered by the same flock as any named temp.
 */
#define _GNU_SOURCE
#include "core/commit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cancel_gate.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/str.h"

char *ferry__temp_name(void)
{
    unsigned char r[8];
    char hex[17];

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        /* getrandom(2) only fails before the pool is seeded; mix what we have. */
        unsigned long long v = (unsigned long long)getpid() ^ (unsigned long long)(uintptr_t)r;
        memcpy(r, &v, sizeof(r));
    }
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    return ferry__strfmt("%s%s", FERRY_TEMP_PREFIX, hex);
}

/* Creates a hidden, locked, empty file under a fresh random name. */
static int open_named(ferry__temp *t, int dirfd)
{
    for (int tries = 0; tries < 16; tries++) {
        char *name = ferry__temp_name();
        if (!name)
            return -ENOMEM;
        int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            int err = errno;
            free(name);
            if (err == EEXIST)
                continue;
            return -err;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int err = errno;
            unlinkat(dirfd, name, 0);
            close(fd);
            free(name);
            return -err;
        }
        t->fd = fd;
        t->name = name;
        return 0;
    }
    return -EEXIST;
}

int ferry__temp_open(ferry__temp *t, int dirfd, bool named)
{
    t->fd = -1;
    t->name = NULL;
    if (!named) {
        int fd = FERRY_SYS("tmpfile", openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
        if (fd >= 0) {
            t->fd = fd; /* unnamed: nothing can see it, nothing to lock yet */
            return 0;
        }
        /* EOPNOTSUPP: the filesystem has no O_TMPFILE (vfat, older NFS, many
         * FUSE); EISDIR/EINVAL: kernels before 3.11 read the flag as O_DIRECTORY. */
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
            return -errno;
    }
    return open_named(t, dirfd);
}

/*
 * linkat of an unnamed inode: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; without
 * it the kernel answers ENOENT, and the documented way is the /proc link.
 */
static int link_unnamed(int fd, int dirfd, const char *name)
{
    char proc[64];

    if (FERRY_SYS("link", linkat(fd, "", dirfd, name, AT_EMPTY_PATH)) == 0)
        return 0;
    if (errno != ENOENT && errno != EPERM)
        return -errno;
    /* (the injected "link" fault fails with an errno of its choice, handled above) */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    return -errno;
}

/* Gives an unnamed temp a hidden name (outside the gate: it is invisible),
 * locked first, so that a sweep sees it as live from the moment it has a name. */
static int name_unnamed(ferry__temp *t, int dirfd)
{
    if (flock(t->fd, LOCK_EX | LOCK_NB) < 0)
        return -errno;
    for (int tries = 0; tries < 16; tries++) {
        char *name = ferry__temp_name();
        if (!name)
            return -ENOMEM;
        int rc = link_unnamed(t->fd, dirfd, name);
        if (rc == 0) {
            t->name = name;
            return 0;
        }
        free(name);
        if (rc != -EEXIST)
            return rc;
    }
    return -EEXIST;
}

/* rename without replacing: renameat2(RENAME_NOREPLACE) where the filesystem
 * has it (ext4, xfs, btrfs, tmpfs), else link + unlink, which also refuses an
 * existing name (NFS, older FUSE). */
static int rename_noreplace(int dirfd, const char *from, const char *to)
{
    if (FERRY_SYS("rename", renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE)) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return -errno;
    if (linkat(dirfd, from, dirfd, to, 0) < 0)
        return -errno;
    unlinkat(dirfd, from, 0);
    return 0;
}

int ferry__temp_commit(ferry__temp *t, int dirfd, const char *name, bool replace,
                       ferry_cancel *gate)
{
    int rc;

    if (!t->name && replace) {
        rc = name_unnamed(t, dirfd);
        if (rc)
            return rc;
    }
    if (!ferry__gate_enter(gate))
        return -ECANCELED;
    if (!t->name)
        rc = link_unnamed(t->fd, dirfd, name);
    else if (replace)
        rc = FERRY_SYS("rename", renameat(dirfd, t->name, dirfd, name)) == 0 ? 0 : -errno;
    else
        rc = rename_noreplace(dirfd, t->name, name);
    ferry__gate_leave(gate);
    if (rc == 0 && t->name) {
        free(t->name);
        t->name = NULL;
    }
    return rc;
}

int ferry__symlink_commit(const char *target, int dirfd, const char *name, ferry_cancel *gate)
{
    int rc;

    if (!ferry__gate_enter(gate))
        return -ECANCELED;
    rc = FERRY_SYS("link", symlinkat(target, dirfd, name)) == 0 ? 0 : -errno;
    ferry__gate_leave(gate);
    return rc;
}

int ferry__temp_discard(ferry__temp *t, int dirfd)
{
    int fd = t->fd;

    if (t->name) {
        FERRY_SYS("unlink", unlinkat(dirfd, t->name, 0));
        free(t->name);
        t->name = NULL;
    }
    t->fd = -1;
    return fd;
}

/* A leftover is removed only when we can take its lock: its writer is gone. */
static int sweep_one(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    int removed = 0;

    if (fd < 0) {
        if (errno == ELOOP && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode) && time(NULL) - st.st_ctim.tv_sec > FERRY_SYMLINK_TEMP_AGE)
            return unlinkat(dirfd, name, 0) == 0;
        return 0;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0)
        removed = unlinkat(dirfd, name, 0) == 0;
    ferry__close(fd);
    return removed;
}

int ferry__sweep_dir(int dirfd, unsigned *removed)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;
    struct dirent *de;

    if (fd < 0)
        return -errno;
    if (!(d = fdopendir(fd))) {
        int err = errno;
        close(fd);
        return -err;
    }
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, FERRY_TEMP_PREFIX, sizeof(FERRY_TEMP_PREFIX) - 1) != 0)
            continue;
        if (de->d_type != DT_REG && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
            continue;
        *removed += (unsigned)sweep_one(dirfd, de->d_name);
    }
    closedir(d);
    return 0;
}

void ferry__sweep_tree(const char *path, unsigned *removed)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d;
    struct dirent *de;

    if (fd < 0)
        return;
    ferry__sweep_dir(fd, removed);
    if (!(d = fdopendir(fd))) {
        close(fd);
        return;
    }
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *sub = ferry__path_join(path, de->d_name);
        if (sub)
            ferry__sweep_tree(sub, removed);
        free(sub);
    }
    closedir(d);
}
