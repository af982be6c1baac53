/*
 * core/worker.c: a worker copies plan entries, one at a time, into temps.
 *
 * For each file: settle a conflict with what is already at the destination,
 * open the source and confirm what it is, copy into a temp in the destination
 * directory, check that the source did not change meanwhile, apply mode,
 * owner and times, then commit (no durability asked) or queue the temp for
 * the committer. A failure of one file is reported and the worker moves on;
 * a full disk stops the job.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/job_priv.h"
#include "core/roots_priv.h"
#include "ferry/exr.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/str.h"

int ferry__dir_fd(ferry__worker *w, uint32_t idx, int *fd)
{
    if (w->dir_fd >= 0 && w->dir_idx == idx) {
        *fd = w->dir_fd;
        return 0;
    }
    if (w->dir_fd >= 0)
        ferry__close(w->dir_fd);
    w->dir_fd = ferry__dir_open(w->job, &w->job->plan.dirs[idx], O_RDONLY | O_DIRECTORY);
    if (w->dir_fd < 0)
        return -errno;
    w->dir_idx = idx;
    *fd = w->dir_fd;
    return 0;
}

/*
 * Reports a failure as "<op> '<path>': <errno text>". A full destination
 * stops the job: the first file to meet it fails with the cause; the others
 * in flight that meet it too are dropped unreported, as the files not
 * started: not attempted, the cause said once.
 */
static void fail_os(ferry_job *job, const ferry__entry *e, const char *op, const char *path,
                    int err)
{
    char *msg = ferry__strfmt("%s '%s': %s", op, path, ferry__strerror_in(job->spec.roots, err));

    if ((err != ENOSPC && err != EDQUOT) || ferry__job_stop(job, msg ? msg : "destination full"))
        ferry__file_failed(job, e, msg ? msg : op);
    free(msg);
}

static char *dest_path(ferry_job *job, const ferry__entry *e, const char *name)
{
    return ferry__path_join(job->plan.dirs[e->dir].path, name);
}

/* "shot.1001.exr" -> "shot.1001 (2).exr"; hidden files keep their leading dot. */
static char *numbered_name(const char *name, unsigned n)
{
    const char *dot = strrchr(name, '.');

    if (!dot || dot == name)
        return ferry__strfmt("%s (%u)", name, n);
    return ferry__strfmt("%.*s (%u)%s", (int)(dot - name), name, n, dot);
}

static bool same_symlink(ferry_job *job, int dirfd, const char *name, const ferry__entry *e)
{
    char a[PATH_MAX], b[PATH_MAX];
    ssize_t na = readlinkat(dirfd, name, a, sizeof(a));
    ssize_t nb = ferry__readlink_in(job->spec.roots, e->src, b, sizeof(b));

    return na >= 0 && na == nb && memcmp(a, b, (size_t)na) == 0;
}

enum { GO = 0, HANDLED = 1 };

/*
 * Decides what to do about what already sits at the destination name:
 * GO with *name (owned) and *replace set, or HANDLED (skipped or failed).
 */
static int settle_conflict(ferry_job *job, const ferry__entry *e, int dirfd, char **name,
                           bool *replace)
{
    struct stat st;
    char *path;

    *replace = false;
    if (!(*name = strdup(e->name))) {
        ferry__job_fail(job, "out of memory");
        return HANDLED;
    }
    /* A directory this job just made held nothing: no stat per file there. A
     * name that appears meanwhile still makes the commit fail with EEXIST. */
    if (job->plan.dirs[e->dir].created)
        return GO;
    if (fstatat(dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return GO;
        int err = errno;
        path = dest_path(job, e, e->name);
        fail_os(job, e, "stat", path ? path : e->name, err);
        free(path);
        free(*name);
        *name = NULL;
        return HANDLED;
    }
    /* Identical means same size and same mtime to the second, as rsync's
     * quick check: filesystems that keep coarser times still compare equal. */
    if ((e->kind == FERRY__FILE && S_ISREG(st.st_mode) && (uint64_t)st.st_size == e->meta.size &&
         st.st_mtim.tv_sec == e->meta.mtime.tv_sec) ||
        (e->kind == FERRY__SYMLINK && S_ISLNK(st.st_mode) && same_symlink(job, dirfd, e->name, e))) {
        ferry__file_skipped(job, e, "identical file exists at the destination");
        free(*name);
        *name = NULL;
        return HANDLED;
    }
    path = dest_path(job, e, e->name);
    switch (job->spec.on_conflict) {
    case FERRY_CONFLICT_SKIP:
        ferry__file_skipped(job, e, "destination exists");
        break;
    case FERRY_CONFLICT_OVERWRITE:
        if (!S_ISDIR(st.st_mode)) {
            *replace = true;
            free(path);
            return GO;
        }
        fail_os(job, e, "overwrite", path ? path : e->name, EISDIR);
        break;
    case FERRY_CONFLICT_RENAME:
        for (unsigned n = 1; n < 10000; n++) {
            char *alt = numbered_name(e->name, n);
            if (!alt)
                break;
            if (fstatat(dirfd, alt, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                free(*name);
                *name = alt;
                free(path);
                return GO;
            }
            free(alt);
        }
        fail_os(job, e, "find a free name beside", path ? path : e->name, EEXIST);
        break;
    default: {
        char *msg = ferry__strfmt("destination '%s' exists (see --on-conflict)",
                                  path ? path : e->name);
        ferry__file_failed(job, e, msg ? msg : "destination exists");
        free(msg);
    }
    }
    free(path);
    free(*name);
    *name = NULL;
    return HANDLED;
}

/* The source changed if its identity, size or times moved while we read it. */
static bool changed(const struct stat *a, const struct stat *b)
{
    return a->st_ino != b->st_ino || a->st_dev != b->st_dev || a->st_size != b->st_size ||
           a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
           a->st_ctim.tv_sec != b->st_ctim.tv_sec || a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

/*
 * Owner first: chown clears set-id bits, so the mode goes after it. The owner
 * is set only as root (as cp -p does) and only when it differs from ours,
 * which the new temp already has.
 */
static int apply_meta(ferry_job *job, int fd, const ferry__meta *m, const char **op)
{
    struct timespec times[2] = {m->atime, m->mtime};

    if (job->euid == 0 && (m->uid != job->euid || m->gid != job->egid) &&
        fchown(fd, m->uid, m->gid) < 0 && errno != EPERM && errno != EINVAL) {
        *op = "set owner of";
        return errno;
    }
    if (FERRY_SYS("meta", fchmod(fd, m->mode & 07777)) < 0) {
        *op = "set mode of";
        return errno;
    }
    if (futimens(fd, times) < 0) {
        *op = "set times of";
        return errno;
    }
    return 0;
}

/* Commits now; used without durability, and by the committer after its sync. */
void ferry__commit_one(ferry__worker *w, ferry__pending *p)
{
    ferry_job *job = w->job;
    const ferry__entry *e = &job->plan.entries[p->entry];
    int dirfd = -1, rc; /* set by ferry__dir_fd; -O3 cannot tell */

    if ((rc = ferry__dir_fd(w, e->dir, &dirfd)) < 0) {
        fail_os(job, e, "open directory", job->plan.dirs[e->dir].path, -rc);
        ferry__discard(job, &p->temp, -1, p->bytes);
        return;
    }
    rc = ferry__temp_commit(&p->temp, dirfd, p->name, p->replace, job->cancel);
    if (rc == -EEXIST && job->spec.on_conflict == FERRY_CONFLICT_RENAME) {
        /* Someone took the name meanwhile: the next free number. */
        for (unsigned n = 1; rc == -EEXIST && n < 10000; n++) {
            char *alt = numbered_name(e->name, n);
            if (!alt)
                break;
            free(p->name);
            p->name = alt;
            rc = ferry__temp_commit(&p->temp, dirfd, p->name, false, job->cancel);
        }
    }
    if (rc == -ECANCELED) {
        ferry__discard(job, &p->temp, dirfd, p->bytes);
        return;
    }
    if (rc < 0) {
        char *path = dest_path(job, e, p->name);
        fail_os(job, e, rc == -EEXIST ? "destination appeared during the copy:" : "link",
                path ? path : p->name, -rc);
        free(path);
        ferry__discard(job, &p->temp, dirfd, p->bytes);
        return;
    }
    ferry__close(ferry__temp_discard(&p->temp, dirfd));
    ferry__file_done(job, e, p->name);
}

static bool is_exr_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcasecmp(name + n - 4, ".exr");
}

/* --check-exr: the copy of an .exr is checked (ferry/exr.h) before it gets
 * its name; a broken one fails, with the cause. */
static bool check_exr(ferry_job *job, const ferry__entry *e, int fd)
{
    char *why = NULL, *msg;
    int rc;

    if (!is_exr_name(e->name))
        return true;
    if ((rc = ferry_exr_check_fd(fd, e->src, &why)) == FERRY_OK)
        return true;
    if (rc == FERRY_ENOMEM) {
        ferry__job_fail(job, "out of memory");
        return false;
    }
    msg = ferry__strfmt("EXR check of '%s': %s", e->src, why ? why : ferry_error_last());
    ferry__file_failed(job, e, msg ? msg : "EXR check failed");
    free(msg);
    free(why);
    return false;
}

static void copy_file(ferry__worker *w, size_t idx, int dirfd)
{
    ferry_job *job = w->job;
    const ferry__entry *e = &job->plan.entries[idx];
    ferry__pending *p = NULL;
    ferry__copy_result res;
    struct stat st0, st1;
    const char *op = NULL;
    char *name = NULL;
    bool replace;
    int src = -1, rc, err;

    if (settle_conflict(job, e, dirfd, &name, &replace) == HANDLED)
        return;
    if ((src = FERRY_SYS("open", ferry__open_in(job->spec.roots, e->src, O_RDONLY | O_NOFOLLOW, 0))) <
        0) {
        fail_os(job, e, "open", e->src, errno);
        goto out;
    }
    if (fstat(src, &st0) < 0) {
        fail_os(job, e, "stat", e->src, errno);
        goto out;
    }
    if (!S_ISREG(st0.st_mode)) {
        fail_os(job, e, "copy", e->src, EINVAL);
        goto out;
    }
    /* A file replaced since the walk is copied as it is now; totals follow. */
    if ((uint64_t)st0.st_size != e->meta.size)
        atomic_fetch_add(&job->bytes_total_adj, (int64_t)st0.st_size - (int64_t)e->meta.size);
    /* Larger read-ahead for big files; small ones are read in one call anyway. */
    if (st0.st_size > (off_t)FERRY_CHUNK)
        posix_fadvise(src, 0, 0, POSIX_FADV_SEQUENTIAL);

    if (!(p = calloc(1, sizeof(*p)))) {
        ferry__job_fail(job, "out of memory");
        goto out;
    }
    p->entry = idx;
    p->name = name;
    p->replace = replace;
    name = NULL;
    if ((err = -ferry__temp_open(&p->temp, dirfd, job->spec.temp_names)) != 0) {
        fail_os(job, e, "create a temp file in", job->plan.dirs[e->dir].path, err);
        goto out;
    }
    ferry__set_current(job, e->src);
    rc = ferry__copy_data(&w->copier, src, p->temp.fd, (uint64_t)st0.st_size, &res);
    p->bytes = res.copied;
    if (rc == FERRY_ECANCELLED) {
        ferry__note_stop(job);
        goto discard;
    }
    if (rc == FERRY_ENOMEM) {
        ferry__job_fail(job, "out of memory");
        goto discard;
    }
    if (rc) {
        char *path = res.err_on_dst ? dest_path(job, e, p->name) : NULL;
        char *what = ferry__strfmt("%s (copying '%s')", res.op, e->src);
        fail_os(job, e, what ? what : res.op, path ? path : e->src, res.err);
        free(what);
        free(path);
        goto discard;
    }
    if (FERRY_SYS("stat", fstat(src, &st1)) < 0) {
        fail_os(job, e, "stat", e->src, errno);
        goto discard;
    }
    if (!changed(&st0, &st1) && st1.st_size == 0 && res.copied > 0) {
        /* procfs, sysfs, some FUSE files: content made up on read. */
        char *msg = ferry__strfmt("size changed while reading '%s': the file reports size 0, "
                                  "like those in /proc, yet %llu bytes were read; not copied",
                                  e->src, (unsigned long long)res.copied);
        ferry__file_failed(job, e, msg ? msg : "size changed while reading");
        free(msg);
        goto discard;
    }
    if (changed(&st0, &st1) || res.copied != (uint64_t)st1.st_size) {
        char *msg = ferry__strfmt("source changed during copy: '%s'", e->src);
        ferry__file_failed(job, e, msg ? msg : "source changed during copy");
        free(msg);
        goto discard;
    }
    if (job->spec.check_exr && !check_exr(job, e, p->temp.fd))
        goto discard;
    if ((err = apply_meta(job, p->temp.fd, &e->meta, &op)) != 0) {
        fail_os(job, e, op, e->src, err);
        goto discard;
    }
    p->dev = st1.st_dev;
    if (job->spec.no_fsync) {
        ferry__commit_one(w, p);
        ferry__pending_free(p);
    } else {
        ferry__enqueue(job, p, dirfd);
    }
    p = NULL;
    goto out;
discard:
    ferry__discard(job, &p->temp, dirfd, p->bytes);
out:
    if (p)
        ferry__pending_free(p);
    if (src >= 0)
        ferry__close(src);
    free(name);
}

/* Owner and times of a symlink at name (it cannot be opened: by name, not followed). */
static void symlink_meta(ferry_job *job, int dirfd, const char *name, const ferry__entry *e)
{
    struct timespec times[2] = {e->meta.atime, e->meta.mtime};

    if (job->euid == 0)
        fchownat(dirfd, name, e->meta.uid, e->meta.gid, AT_SYMLINK_NOFOLLOW);
    utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW);
}

/*
 * A new symlink is created under its final name inside the gate: it is whole
 * the moment it exists, so it needs no temp and leaves none behind a crash.
 * Replacing an existing file goes through a hidden name and a rename, so that
 * readers see the old entry or the new one.
 */
static void copy_symlink(ferry__worker *w, size_t idx, int dirfd)
{
    ferry_job *job = w->job;
    const ferry__entry *e = &job->plan.entries[idx];
    ferry__pending p = {.entry = idx, .temp = {.fd = -1}};
    char target[PATH_MAX];
    ssize_t n;

    if (settle_conflict(job, e, dirfd, &p.name, &p.replace) == HANDLED)
        return;
    if ((n = ferry__readlink_in(job->spec.roots, e->src, target, sizeof(target) - 1)) < 0) {
        fail_os(job, e, "read link", e->src, errno);
        goto out;
    }
    target[n] = '\0';
    if (!p.replace) {
        int rc = ferry__symlink_commit(target, dirfd, p.name, job->cancel);
        for (unsigned k = 1; rc == -EEXIST && job->spec.on_conflict == FERRY_CONFLICT_RENAME &&
                             k < 10000;
             k++) {
            char *alt = numbered_name(e->name, k);
            if (!alt)
                break;
            free(p.name);
            p.name = alt;
            rc = ferry__symlink_commit(target, dirfd, p.name, job->cancel);
        }
        if (rc == 0) {
            symlink_meta(job, dirfd, p.name, e);
            ferry__file_done(job, e, p.name);
        } else if (rc != -ECANCELED) {
            char *path = dest_path(job, e, p.name);
            fail_os(job, e, rc == -EEXIST ? "destination appeared during the copy:" : "symlink",
                    path ? path : p.name, -rc);
            free(path);
        }
        goto out;
    }
    errno = ENOMEM;
    for (int tries = 0; !p.temp.name && tries < 16; tries++) {
        char *rnd = ferry__temp_name();
        if (rnd && symlinkat(target, dirfd, rnd) == 0) {
            p.temp.name = rnd;
            break;
        }
        free(rnd);
        if (errno != EEXIST)
            break;
    }
    if (!p.temp.name) {
        fail_os(job, e, "create a symlink in", job->plan.dirs[e->dir].path, errno);
        goto out;
    }
    symlink_meta(job, dirfd, p.temp.name, e);
    ferry__commit_one(w, &p);
out:
    ferry__temp_discard(&p.temp, dirfd);
    free(p.name);
}

void ferry__do_entry(ferry__worker *w, size_t idx)
{
    ferry_job *job = w->job;
    const ferry__entry *e = &job->plan.entries[idx];
    const ferry__dir *d = &job->plan.dirs[e->dir];
    int dirfd = -1, rc;

    if (d->error) {
        ferry__file_failed(job, e, d->error);
        return;
    }
    if (d->skipped) {
        ferry__file_skipped(job, e, d->skipped);
        return;
    }
    if (e->kind == FERRY__SPECIAL) {
        ferry__file_skipped(job, e, "special file (device, fifo or socket) not copied");
        return;
    }
    if ((rc = ferry__dir_fd(w, e->dir, &dirfd)) < 0) {
        fail_os(job, e, "open directory", d->path, -rc);
        return;
    }
    if (e->kind == FERRY__SYMLINK)
        copy_symlink(w, idx, dirfd);
    else
        copy_file(w, idx, dirfd);
}
